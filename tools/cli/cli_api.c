/* cli_api.c: the `anwang` commands that read the county from the center's
 * HTTP API (picture, edges, device, alarms, status) and change it (alarm
 * ack, registry import), plus the registry export. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "cli_http.h"
#include "cli_out.h"
#include "cli_show.h"

#define S_REGISTRY_MAX     (16u << 20) /* the API's registry body limit */
#define S_REGISTRY_TIMEOUT 120000L

#define S_EXIT_CODES                                                                               \
    "Exit codes: 0 ok, 64 bad arguments, 65 refused as invalid (400/409), 66 not found,\n"         \
    "69 the center cannot be reached, 77 token missing or not allowed, 70 center error.\n"

/* The whole of a read with only the shared options: GET @p path, print it with @p human. */
static int s_get(const aw_cli_cmd *cmd, int argc, char **argv, const char *path,
                 const char *subject, void (*human)(const json_t *, long long, FILE *))
{
    aw_cli_conn conn;
    int first, rc = aw_cli_api_args(cmd, argc, argv, &conn, 0, NULL, NULL, &first);
    if (rc >= 0)
        return rc;
    aw_cli_request req = {.method = "GET", .path = path, .subject = subject};
    return aw_cli_api_show(&conn, &req, human);
}

/* ------------------------------------------------------------ picture */

const char aw_cli_picture_help[] =
    "Usage: anwang picture [PATH] [--depth N] [--json]\n"
    "\n"
    "Shows the county's situational picture as a tree: each grid node (county, zone,\n"
    "village, site) with its colour (the highest of its active alarms, open hazards and\n"
    "static grade: red, orange, yellow, blue), devices online of total and stale ones,\n"
    "active alarms per level, open and overdue hazards, and for a zone served by an\n"
    "edge the link: connected, epoch, last contact, clock skew, backlog per lane.\n"
    "\n"
    "Arguments\n"
    "  PATH                 the node to start from, a grid path (default: the county)\n"
    "\n"
    "Options\n"
    "  -d, --depth N          levels below PATH to show, 0..4 (default 2)\n" AW_CLI_READ_HELP
    "  anwang picture\n"
    "  anwang picture yueyang/rongjiawan --depth 3\n"
    "  anwang picture --json | jq '.root.children[] | select(.colour == \"red\") | .path'\n"
    "\n" S_EXIT_CODES;

int aw_cli_picture(const aw_cli_cmd *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        AW_CLI_API_OPTIONS, {"depth", required_argument, NULL, 'd'}, {NULL, 0, NULL, 0}};
    aw_cli_conn conn;
    char path[1024] = "/api/v1/picture";
    const char *depth = NULL;
    long d;
    int c, rc = -1;
    aw_cli_conn_init(&conn);
    while ((c = getopt_long(argc, argv, ":d:h", opts, NULL)) != -1) {
        if (aw_cli_api_getopt(cmd, argv, c, &conn, &rc) && rc >= 0)
            return rc;
        if (c == 'd' && !aw_cli_parse_long(optarg, 0, 4, &d))
            return aw_cli_usage_error(cmd, "--depth takes 0..4, not '%s'", optarg);
        depth = c == 'd' ? optarg : depth;
    }
    if (argc - optind > 1)
        return aw_cli_usage_error(cmd, "one PATH only (got '%s' too)", argv[optind + 1]);
    aw_cli_param q[] = {{"root", optind < argc ? argv[optind] : NULL}, {"depth", depth}};
    if (!aw_cli_query_addv(path, sizeof path, q, sizeof q / sizeof *q))
        return aw_cli_usage_error(cmd, "PATH is too long");
    aw_cli_request req = {
        .method = "GET",
        .path = path,
        .subject = "picture",
        .hint404 = "check PATH (a grid path of the registry, e.g. yueyang/rongjiawan); before\n    "
                   "    the first import there is no picture: anwang registry import FILE"};
    return aw_cli_api_show(&conn, &req, aw_cli_show_picture);
}

/* ------------------------------------------------------------ edges, status */

const char aw_cli_edges_help[] =
    "Usage: anwang edges [--json]\n"
    "\n"
    "Lists the edges the center knows, as the center sees them: link up or down, epoch,\n"
    "last contact, clock skew, records not yet applied (backlog) and applied per lane\n"
    "(urgent / bulk), poison records set aside, and down-channel messages pending.\n"
    "\n"
    "Options\n" AW_CLI_READ_HELP "  anwang edges\n"
    "  anwang edges --json | jq '.edges[] | select(.connected | not) | .edge'\n"
    "\n" S_EXIT_CODES;

int aw_cli_edges(const aw_cli_cmd *cmd, int argc, char **argv)
{
    return s_get(cmd, argc, argv, "/api/v1/edges", "edges", aw_cli_show_edges);
}

const char aw_cli_status_help[] =
    "Usage: anwang status [--json]\n"
    "\n"
    "Asks the center how it is (GET /api/v1/status): its name and version, when it\n"
    "started, the registry version, edges known and connected, store use, open and\n"
    "overdue hazards, active alarms. 'anwang center status' reads a center's data dir\n"
    "instead, on the center's host, without the API.\n"
    "\n"
    "Options\n" AW_CLI_READ_HELP "  anwang status\n"
    "  . demo-county/env; anwang status --json | jq .edges\n"
    "\n" S_EXIT_CODES;

int aw_cli_status(const aw_cli_cmd *cmd, int argc, char **argv)
{
    return s_get(cmd, argc, argv, "/api/v1/status", "status", aw_cli_show_status);
}

/* ------------------------------------------------------------ device */

const char aw_cli_device_help[] =
    "Usage: anwang device ID [--metric M] [--limit N] [--json]\n"
    "\n"
    "Shows one device: its site and zone, whether it is online, stale or never heard\n"
    "from, its latest reading of each metric, and the recent history (newest first).\n"
    "\n"
    "Arguments\n"
    "  ID                   the device id of the registry, e.g. huaxin-t3\n"
    "\n"
    "Options\n"
    "  -m, --metric M         only this metric's history\n"
    "  -n, --limit N          readings of history per metric, 1..10000 (default "
    "100)\n" AW_CLI_READ_HELP "  anwang device huaxin-t3\n"
    "  anwang device huaxin-t3 --metric tank-level --limit 10\n"
    "  anwang device huaxin-t3 --json | jq '.latest[\"tank-level\"].value'\n"
    "\n" S_EXIT_CODES;

int aw_cli_device(const aw_cli_cmd *cmd, int argc, char **argv)
{
    static const struct option opts[] = {AW_CLI_API_OPTIONS,
                                         {"metric", required_argument, NULL, 'm'},
                                         {"limit", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    aw_cli_conn conn;
    const char *metric = NULL, *limit = NULL;
    char path[1024], *id;
    long n;
    int c, rc = -1;
    aw_cli_conn_init(&conn);
    while ((c = getopt_long(argc, argv, ":m:n:h", opts, NULL)) != -1) {
        if (aw_cli_api_getopt(cmd, argv, c, &conn, &rc) && rc >= 0)
            return rc;
        if (c == 'n' && !aw_cli_parse_long(optarg, 1, 10000, &n))
            return aw_cli_usage_error(cmd, "--limit takes 1..10000, not '%s'", optarg);
        metric = c == 'm' ? optarg : metric;
        limit = c == 'n' ? optarg : limit;
    }
    if (argc - optind != 1)
        return aw_cli_usage_error(cmd, argc - optind == 0 ? "missing the device ID"
                                                          : "one device ID only");
    if ((id = aw_cli_escape(argv[optind])) == NULL)
        return EX_OSERR;
    snprintf(path, sizeof path, "/api/v1/devices/%.900s", id);
    free(id);
    aw_cli_param q[] = {{"metric", metric}, {"limit", limit}};
    if (!aw_cli_query_addv(path, sizeof path, q, sizeof q / sizeof *q))
        return aw_cli_usage_error(cmd, "arguments too long");
    char subject[300];
    snprintf(subject, sizeof subject, "device %.200s", argv[optind]);
    aw_cli_request req = {.method = "GET",
                          .path = path,
                          .subject = subject,
                          .hint404 = "check the id; 'anwang picture' shows where devices are, the "
                                     "registry\n        lists them (anwang registry export)"};
    return aw_cli_api_show(&conn, &req, aw_cli_show_device);
}

/* ------------------------------------------------------------ alarms */

const char aw_cli_alarms_help[] =
    "Usage: anwang alarms [--active | --all] [--root PATH] [--level L] [--json]\n"
    "\n"
    "Lists alarms: level, site, device and metric, the value against its threshold,\n"
    "since when, and whether it is still active and acknowledged.\n"
    "\n"
    "Options\n"
    "      --active           active alarms only (the default)\n"
    "  -a, --all              also the alarms cleared in the last 7 days\n"
    "  -r, --root PATH        only under this grid path (zone, village or site)\n"
    "  -l, --level L          at least this level: blue, yellow, orange, red\n" AW_CLI_READ_HELP
    "  anwang alarms\n"
    "  anwang alarms --all --root yueyang/rongjiawan --level orange\n"
    "  anwang alarms --json | jq -r '.alarms[] | select(.acknowledged | not) | .id'\n"
    "\n" S_EXIT_CODES;

static bool s_level_ok(const char *l)
{
    return !strcmp(l, "blue") || !strcmp(l, "yellow") || !strcmp(l, "orange") || !strcmp(l, "red");
}

int aw_cli_alarms(const aw_cli_cmd *cmd, int argc, char **argv)
{
    enum { O_ACTIVE = 300 };
    static const struct option opts[] = {AW_CLI_API_OPTIONS,
                                         {"active", no_argument, NULL, O_ACTIVE},
                                         {"all", no_argument, NULL, 'a'},
                                         {"root", required_argument, NULL, 'r'},
                                         {"level", required_argument, NULL, 'l'},
                                         {NULL, 0, NULL, 0}};
    aw_cli_conn conn;
    const char *state = NULL, *root = NULL, *level = NULL;
    char path[1024] = "/api/v1/alarms";
    int c, rc = -1;
    aw_cli_conn_init(&conn);
    while ((c = getopt_long(argc, argv, ":ar:l:h", opts, NULL)) != -1) {
        if (aw_cli_api_getopt(cmd, argv, c, &conn, &rc) && rc >= 0)
            return rc;
        if ((c == 'a' || c == O_ACTIVE) && state != NULL)
            return aw_cli_usage_error(cmd, "give --active or --all, once");
        state = c == 'a' ? "all" : c == O_ACTIVE ? "active" : state;
        root = c == 'r' ? optarg : root;
        level = c == 'l' ? optarg : level;
    }
    if (level != NULL && !s_level_ok(level))
        return aw_cli_usage_error(cmd, "--level takes blue, yellow, orange or red, not '%s'",
                                  level);
    if (optind < argc)
        return aw_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    aw_cli_param q[] = {{"state", state}, {"root", root}, {"level", level}};
    if (!aw_cli_query_addv(path, sizeof path, q, sizeof q / sizeof *q))
        return aw_cli_usage_error(cmd, "arguments too long");
    aw_cli_request req = {.method = "GET", .path = path, .subject = "alarms"};
    return aw_cli_api_show(&conn, &req, aw_cli_show_alarms);
}

const char aw_cli_alarm_ack_help[] =
    "Usage: anwang alarm ack ID [--note TEXT] [--json]\n"
    "\n"
    "Acknowledges an active alarm: the center sends the acknowledgement down to the\n"
    "edge that holds the alarm, and the edge's confirmation comes back up (then\n"
    "'anwang alarms' shows it acked, with your token's name). Needs an operator token.\n"
    "\n"
    "Arguments\n"
    "  ID                   the alarm's id, as 'anwang alarms' lists it\n"
    "\n"
    "Options\n"
    "      --note TEXT        a remark kept with the acknowledgement\n" AW_CLI_WRITE_HELP
    "  anwang alarm ack rongjiawan-1-a17\n"
    "  anwang alarm ack rongjiawan-1-a17 --note \"on site, valve closed\"\n"
    "\n" S_EXIT_CODES "A cleared alarm cannot be acknowledged (65).\n";

/* {"note": NOTE} or no body. */
static int s_ack_body(const char *note, char **body)
{
    json_t *j = json_object();
    *body = NULL;
    if (j != NULL && note != NULL)
        json_object_set_new(j, "note", json_string(note));
    if (j != NULL && note != NULL && json_object_get(j, "note") == NULL) {
        json_decref(j);
        aw_cli_err("--note is not valid UTF-8 text");
        return EX_DATAERR;
    }
    *body = j != NULL && note != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return -1;
}

int aw_cli_alarm_ack(const aw_cli_cmd *cmd, int argc, char **argv)
{
    enum { O_NOTE = 300 };
    static const struct option opts[] = {
        AW_CLI_API_OPTIONS, {"note", required_argument, NULL, O_NOTE}, {NULL, 0, NULL, 0}};
    aw_cli_conn conn;
    const char *note = NULL;
    char path[1024], subject[300], *id, *body = NULL;
    int c, rc = -1;
    aw_cli_conn_init(&conn);
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (aw_cli_api_getopt(cmd, argv, c, &conn, &rc) && rc >= 0)
            return rc;
        note = c == O_NOTE ? optarg : note;
    }
    if (argc - optind != 1)
        return aw_cli_usage_error(cmd, argc == optind ? "missing the alarm ID" : "one ID only");
    if ((rc = s_ack_body(note, &body)) >= 0 || (id = aw_cli_escape(argv[optind])) == NULL)
        return rc >= 0 ? rc : EX_OSERR;
    snprintf(path, sizeof path, "/api/v1/alarms/%.900s/ack", id);
    snprintf(subject, sizeof subject, "alarm %.200s", argv[optind]);
    free(id);
    aw_cli_request req = {.method = "POST",
                          .path = path,
                          .body = body,
                          .body_len = body ? strlen(body) : 0,
                          .role = AW_CLI_OPERATOR,
                          .subject = subject,
                          .hint404 = "check the id; 'anwang alarms --all' lists the alarms"};
    rc = aw_cli_api_show(&conn, &req, aw_cli_show_ack);
    free(body);
    return rc;
}

/* ------------------------------------------------------------ registry */

const char aw_cli_registry_import_help[] =
    "Usage: anwang registry import FILE [--json]\n"
    "\n"
    "Sends a registry file (SPEC §1: zones, villages, sites, devices, rules, plans) to\n"
    "the center (PUT /api/v1/registry). The center checks the whole file and either\n"
    "stores it and queues each edge its zone's part, or refuses it and changes nothing:\n"
    "then every error is printed with its JSON path. Its \"version\" must be above the\n"
    "stored one. Needs an admin token ($ANWANG_TOKEN_ADMIN in the demo).\n"
    "\n"
    "Arguments\n"
    "  FILE                 the registry JSON, or - for stdin (at most 16 MiB)\n"
    "\n"
    "Options\n" AW_CLI_WRITE_HELP "  anwang registry import county.json\n"
    "  anwang registry export | jq '.version += 1' | anwang registry import -\n"
    "\n" S_EXIT_CODES "A file that cannot be read is 66; one that is not JSON, 65.\n";

/* Reads all of @p path ("-" = stdin) into *buf; returns -1 to go on, else an exit code. */
static int s_read_input(const char *path, size_t max, char **buf, size_t *len)
{
    bool in = strcmp(path, "-") == 0;
    const char *name = in ? "stdin" : path;
    FILE *f = in ? stdin : fopen(path, "rb"), *m = NULL;
    char chunk[65536];
    size_t n = 0, total = 0;
    *buf = NULL;
    *len = 0;
    if (f == NULL) {
        aw_cli_err("cannot read %s: %s", name, strerror(errno));
        return EX_NOINPUT;
    }
    if ((m = open_memstream(buf, len)) != NULL)
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && (total += n) <= max)
            fwrite(chunk, 1, n, m);
    bool err = ferror(f), big = n > 0;
    if (!in)
        fclose(f);
    if (m == NULL || fclose(m) != 0 || err || big) {
        if (err)
            aw_cli_err("cannot read %s: %s", name, strerror(errno));
        else
            aw_cli_err(big ? "%s is over the limit of %zu bytes" : "%s: out of memory", name, max);
        free(*buf);
        *buf = NULL;
        return err ? EX_NOINPUT : big ? EX_DATAERR : EX_OSERR;
    }
    return -1;
}

/* Checks that @p buf is one JSON object; prints where it is not. */
static bool s_is_json_object(const char *what, const char *buf, size_t len)
{
    json_error_t e;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e);
    bool ok = json_is_object(j);
    if (j == NULL)
        aw_cli_err("%s is not valid JSON: line %d, column %d: %s", what, e.line, e.column, e.text);
    else if (!ok)
        aw_cli_err("%s is JSON but not an object ({...})", what);
    json_decref(j);
    return ok;
}

int aw_cli_registry_import(const aw_cli_cmd *cmd, int argc, char **argv)
{
    aw_cli_conn conn;
    char *body = NULL;
    size_t len = 0;
    int first, rc = aw_cli_api_args(cmd, argc, argv, &conn, 1,
                                    "FILE (the registry JSON, or - for stdin)", NULL, &first);
    if (rc >= 0)
        return rc;
    if ((rc = s_read_input(argv[first], S_REGISTRY_MAX, &body, &len)) >= 0)
        return rc;
    if (!s_is_json_object(argv[first], body, len)) {
        free(body);
        return EX_DATAERR;
    }
    conn.timeout_ms = S_REGISTRY_TIMEOUT;
    aw_cli_request req = {.method = "PUT",
                          .path = "/api/v1/registry",
                          .body = body,
                          .body_len = len,
                          .role = AW_CLI_ADMIN,
                          .subject = "registry"};
    rc = aw_cli_api_show(&conn, &req, aw_cli_show_registry_stored);
    free(body);
    return rc;
}

const char aw_cli_registry_export_help[] =
    "Usage: anwang registry export [-o FILE]\n"
    "\n"
    "Fetches the registry the center holds (GET /api/v1/registry), as the JSON that\n"
    "'anwang registry import' takes, indented. 66 when none was imported yet.\n"
    "\n"
    "Options\n"
    "  -o, --output FILE      write it to FILE (replaced whole) instead of "
    "stdout\n" AW_CLI_HELP_TAIL "  anwang registry export -o county.json\n"
    "  anwang registry export | jq '.zones[].path'\n"
    "\n" S_EXIT_CODES "73 when FILE cannot be written.\n";

/* Writes @p j to @p path via a temporary file renamed over it; returns the exit code. */
static int s_write_file(const json_t *j, const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        aw_cli_err("cannot write %s: %s", tmp, strerror(errno));
        return EX_CANTCREAT;
    }
    bool ok = aw_cli_json_print(j, f) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        aw_cli_err("cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return EX_CANTCREAT;
    }
    return EX_OK;
}

int aw_cli_registry_export(const aw_cli_cmd *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        AW_CLI_API_OPTIONS, {"output", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
    aw_cli_conn conn;
    const char *out = NULL;
    json_t *reg = NULL;
    int c, rc = -1;
    aw_cli_conn_init(&conn);
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        if (aw_cli_api_getopt(cmd, argv, c, &conn, &rc) && rc >= 0)
            return rc;
        out = c == 'o' ? optarg : out;
    }
    if (optind < argc)
        return aw_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    aw_cli_request req = {.method = "GET",
                          .path = "/api/v1/registry",
                          .subject = "registry",
                          .hint404 = "no registry was imported yet: anwang registry import FILE"};
    if ((rc = aw_cli_api_call(&conn, &req, &reg)) >= 0)
        return rc;
    if (out != NULL)
        rc = s_write_file(reg, out);
    else
        rc = aw_cli_json_print(reg, stdout) == 0 ? EX_OK : EX_IOERR;
    json_decref(reg);
    return rc;
}
