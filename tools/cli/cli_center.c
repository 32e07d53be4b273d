/* cli_center.c: `anwang center ...` commands that read the center's data
 * dir directly (the HTTP API commands of the next issue live elsewhere). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "cli_out.h"
#include "db.h"
#include "status.h"
#include "store.h"

/** Where the center keeps its store unless --data or ANWANG_CENTER_DATA says otherwise. */
#define S_DEFAULT_DATA "/var/lib/anwang/center"
/** A "connected" edge silent for longer than this: the center is probably not running. */
#define S_SILENT_MS (90 * 1000)
/** Clock offsets beyond this are flagged (SPEC §5). */
#define S_MAX_SKEW_MS (5 * 60 * 1000)

const char aw_cli_center_status_help[] =
    "Usage: anwang center status [EDGE...] [--data DIR] [--json]\n"
    "\n"
    "Shows, per edge, what the county center knows of its replication: whether the\n"
    "link is up, the edge's current epoch (one life of its log), the records applied\n"
    "and still to come per lane (urgent / bulk), the edge's clock offset from the\n"
    "center, and when the center last heard from it. Reads the center's data dir\n"
    "directly and read-only, so it works while anwang-center runs (and when it does\n"
    "not) without holding it up; run it on the center host as the user the center\n"
    "runs as (a reader needs write access to the store's lock file, lock.mdb).\n"
    "\n"
    "STATE is up (green), down (red), or stale: recorded as connected but silent for\n"
    "over 90 s, which means the center is not running or is stuck. SKEW is the edge's\n"
    "clock minus the center's; over 5 min it is flagged with '!' (check NTP on the edge).\n"
    "\n"
    "Arguments\n"
    "  EDGE...             only these edge ids (default: every edge the center has seen)\n"
    "\n"
    "Options\n"
    "  -d, --data DIR      the center's data dir (default: $ANWANG_CENTER_DATA, else\n"
    "                      " S_DEFAULT_DATA ")\n"
    "      --json          an array of objects, one per edge, with stable keys:\n"
    "                      edge, zone, state, connected, epoch (16 hex digits), applied,\n"
    "                      head, backlog, records ({urgent, bulk} each), skew_ms, skew_flag,\n"
    "                      last_contact (RFC 3339), last_contact_ms, poison, down_pending\n"
    "  -h, --help          this help\n"
    "\n"
    "Examples\n"
    "  sudo -u anwang anwang center status\n"
    "  anwang center status --data ./demo-county/center rongjiawan-1\n"
    "  anwang center status --json | jq '.[] | select(.backlog.bulk > 0) | .edge'\n"
    "\n"
    "Exit codes: 0 ok, 64 bad arguments, 65 an EDGE the center has not seen, 66 no data\n"
    "dir, 77 no permission, 74 the store cannot be read.\n";

typedef struct s_args {
    const char *data;
    bool json;
    char **edges;
    int n_edges;
} s_args;

static int s_parse(const aw_cli_cmd *cmd, int argc, char **argv, s_args *a)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *env = getenv("ANWANG_CENTER_DATA");
    *a = (s_args){.data = env && *env ? env : S_DEFAULT_DATA};
    int c;
    while ((c = getopt_long(argc, argv, ":d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            a->data = optarg;
            break;
        case 'j':
            a->json = true;
            break;
        case 'h':
            aw_cli_help(cmd);
            return EX_OK;
        default:
            return aw_cli_bad_option(cmd, argv, c);
        }
    }
    a->edges = argv + optind;
    a->n_edges = argc - optind;
    for (int i = 0; i < a->n_edges; i++)
        if (!aw_center_edge_id_ok(a->edges[i]))
            return aw_cli_usage_error(cmd, "'%s' is not an edge id", a->edges[i]);
    return -1;
}

/* ------------------------------------------------------------ opening */

/* Says that @p dir cannot be read by this user; returns EX_NOPERM. */
static int s_no_permission(const char *what)
{
    aw_cli_err("%s: %s", what, strerror(EACCES));
    aw_cli_hint("run as the user anwang-center runs as, e.g. sudo -u anwang anwang ...");
    return EX_NOPERM;
}

/* Checks that @p dir holds a store, without creating one. Returns -1 to go on. */
static int s_check_dir(const char *dir)
{
    char file[4096];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (errno == EACCES)
            return s_no_permission(dir);
        aw_cli_err("no center data directory at %s", dir);
        aw_cli_hint("pass --data DIR (data_dir in center.conf) or set ANWANG_CENTER_DATA");
        return EX_NOINPUT;
    }
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    if (access(file, F_OK) != 0) {
        if (errno == EACCES)
            return s_no_permission(dir);
        aw_cli_err("%s is not a center data directory (no data.mdb)", dir);
        aw_cli_hint("has the center ever started with this data_dir?");
        return EX_NOINPUT;
    }
    return -1;
}

/* Maps a store error at open to an exit code, with a message. */
static int s_open_error(const char *dir, int rv)
{
    if (rv == AW_ENOTFOUND) {
        aw_cli_err("%s is not a center data directory (no center tables in its store)", dir);
        aw_cli_hint("pass the center's data_dir (center.conf), not an edge's");
        return EX_NOINPUT;
    }
    aw_cli_err("cannot open the center's store in %s: %s", dir, aw_strerror(rv));
    switch (rv) {
    case AW_EPERM:
        aw_cli_hint("run as the user anwang-center runs as, e.g. sudo -u anwang anwang ...");
        return EX_NOPERM;
    case AW_ECORRUPT:
        aw_cli_hint("is this an anwang center data dir of this version?");
        return EX_DATAERR;
    case AW_EIO:
        return EX_IOERR;
    default:
        return EX_SOFTWARE;
    }
}

/* Opens the store read-only and the center's tables in @p dir: nothing is
 * created or written and the running center is not held up (readers take
 * no writer lock). Returns -1 to go on. */
static int s_open(const char *dir, aw_store_t **store, aw_center_db_t **db)
{
    int rc = s_check_dir(dir);
    if (rc >= 0)
        return rc;
    aw_store_opts opts = {.path = dir, .read_only = true, .max_tables = AW_CT_COUNT_};
    int rv = aw_store_open(&opts, store);
    if (rv == AW_OK && (rv = aw_center_db_open(*store, db)) != AW_OK)
        aw_store_destroy(store);
    return rv == AW_OK ? -1 : s_open_error(dir, rv);
}

/* ------------------------------------------------------------ rows */

typedef enum s_state { S_UP, S_STALE, S_DOWN } s_state;

static s_state s_state_of(const aw_edge_status *e, int64_t now)
{
    if (!e->connected)
        return S_DOWN;
    return now - e->last_contact_ms > S_SILENT_MS ? S_STALE : S_UP;
}

static const char *const s_state_names[] = {"up", "stale", "down"};

static bool s_skew_flag(const aw_edge_status *e)
{
    return e->last_contact_ms != 0 && (e->skew_ms > S_MAX_SKEW_MS || e->skew_ms < -S_MAX_SKEW_MS);
}

/* Fills @p v with the named edges; on AW_ENOTFOUND *bad is the unknown one. */
static int s_load_named(aw_center_db_t *db, const s_args *a, aw_edge_status *v, const char **bad)
{
    for (int i = 0; i < a->n_edges; i++) {
        int rv = aw_center_edge_status(db, a->edges[i], &v[i]);
        if (rv != AW_OK) {
            *bad = a->edges[i];
            return rv;
        }
    }
    return AW_OK;
}

/* The edges to show: all, or those named (EX_DATAERR for an unknown one).
 * Returns -1 to go on (*v is the caller's), else an exit code. */
static int s_load(aw_center_db_t *db, const s_args *a, aw_edge_status **v, size_t *n)
{
    const char *bad = NULL;
    int rv = AW_OK;
    if (a->n_edges == 0)
        rv = aw_center_edge_list(db, v, n);
    else if ((*v = calloc((size_t)a->n_edges, sizeof **v)) == NULL)
        rv = AW_ENOMEM;
    else if ((rv = s_load_named(db, a, *v, &bad)) == AW_OK)
        *n = (size_t)a->n_edges;
    if (rv == AW_OK)
        return -1;
    free(*v);
    *v = NULL;
    if (bad != NULL && rv == AW_ENOTFOUND) {
        aw_cli_err("edge '%s' is not known to the center", bad);
        aw_cli_hint("has it ever connected? 'anwang center status' lists every edge");
        return EX_DATAERR;
    }
    aw_cli_err("cannot read the edges: %s", aw_strerror(rv));
    return rv == AW_ENOMEM ? EX_OSERR : EX_IOERR;
}

/* ------------------------------------------------------------ JSON */

static json_t *s_lanes(const uint64_t v[AW_LANE_COUNT])
{
    return json_pack("{s:I, s:I}", "urgent", (json_int_t)v[AW_LANE_URGENT], "bulk",
                     (json_int_t)v[AW_LANE_BULK]);
}

static json_t *s_edge_json(const aw_edge_status *e, int64_t now)
{
    char epoch[17], when[32];
    snprintf(epoch, sizeof epoch, "%016" PRIx64, e->epoch);
    aw_cli_fmt_time(e->last_contact_ms, when, sizeof when);
    bool seen = e->last_contact_ms != 0;
    return json_pack(
        "{s:s, s:s?, s:s, s:b, s:s?, s:o, s:o, s:o, s:o, s:o, s:b, s:s?, s:o, s:I, s:I}", "edge",
        e->edge_id, "zone", *e->zone ? e->zone : NULL, "state", s_state_names[s_state_of(e, now)],
        "connected", e->connected, "epoch", e->epoch ? epoch : NULL, "applied", s_lanes(e->applied),
        "head", s_lanes(e->head), "backlog", s_lanes(e->backlog), "records", s_lanes(e->records),
        "skew_ms", seen ? json_integer(e->skew_ms) : json_null(), "skew_flag", s_skew_flag(e),
        "last_contact", seen ? when : NULL, "last_contact_ms",
        seen ? json_integer(e->last_contact_ms) : json_null(), "poison", (json_int_t)e->poison,
        "down_pending", (json_int_t)e->down_pending);
}

static int s_print_json(const aw_edge_status *v, size_t n, int64_t now)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, s_edge_json(&v[i], now)) != 0)
            json_decref(arr), arr = NULL;
    int rc = arr && aw_cli_json_print(arr, stdout) == 0 ? EX_OK : EX_IOERR;
    json_decref(arr);
    return rc;
}

/* ------------------------------------------------------------ table */

enum { C_EDGE, C_ZONE, C_STATE, C_EPOCH, C_APPLIED, C_BACKLOG, C_SKEW, C_LAST, C_N };

/* "12 / 4,500": urgent / bulk. */
static void s_pair(const uint64_t v[AW_LANE_COUNT], char *buf, size_t len)
{
    char u[32], b[32];
    aw_cli_fmt_count(v[AW_LANE_URGENT], u, sizeof u);
    aw_cli_fmt_count(v[AW_LANE_BULK], b, sizeof b);
    snprintf(buf, len, "%s / %s", u, b);
}

static int s_row(aw_cli_table_t *t, const aw_edge_status *e, int64_t now)
{
    static const aw_cli_style state_style[] = {AW_CLI_GREEN, AW_CLI_YELLOW, AW_CLI_RED};
    char epoch[24] = "-", applied[72], backlog[72], skew[40] = "-", last[48] = "never";
    s_state st = s_state_of(e, now);
    if (e->epoch)
        snprintf(epoch, sizeof epoch, "%016" PRIx64, e->epoch);
    s_pair(e->applied, applied, sizeof applied);
    s_pair(e->backlog, backlog, sizeof backlog);
    if (e->last_contact_ms != 0) {
        aw_cli_fmt_offset(e->skew_ms, skew, sizeof skew);
        if (s_skew_flag(e))
            strcat(skew, " !");
        aw_cli_fmt_age(now - e->last_contact_ms, last, sizeof last);
    }
    const char *cells[C_N] = {
        e->edge_id, *e->zone ? e->zone : "-", s_state_names[st], epoch, applied, backlog, skew,
        last};
    aw_cli_style styles[C_N] = {0};
    styles[C_STATE] = state_style[st];
    styles[C_BACKLOG] = e->backlog[0] || e->backlog[1] ? AW_CLI_YELLOW : AW_CLI_PLAIN;
    styles[C_SKEW] = s_skew_flag(e) ? AW_CLI_RED : AW_CLI_PLAIN;
    return aw_cli_table_add(t, cells, styles);
}

/* The line under the table: counts, backlog, and what to look at. */
static void s_summary(const aw_edge_status *v, size_t n, int64_t now)
{
    size_t count[3] = {0};
    uint64_t backlog[AW_LANE_COUNT] = {0};
    char u[32], b[32];
    for (size_t i = 0; i < n; i++) {
        count[s_state_of(&v[i], now)]++;
        backlog[0] += v[i].backlog[0];
        backlog[1] += v[i].backlog[1];
    }
    aw_cli_fmt_count(backlog[0], u, sizeof u);
    aw_cli_fmt_count(backlog[1], b, sizeof b);
    printf("\n%zu edge%s: %zu up, %zu down, %zu stale; backlog %s urgent, %s bulk.\n", n,
           n == 1 ? "" : "s", count[S_UP], count[S_DOWN], count[S_STALE], u, b);
    for (size_t i = 0; i < n; i++) {
        const aw_edge_status *e = &v[i];
        if (s_skew_flag(e))
            printf("! %s: clock off by more than 5 min; check NTP on the edge "
                   "(timedatectl).\n",
                   e->edge_id);
        if (s_state_of(e, now) == S_STALE)
            printf("? %s: recorded as connected but silent; is anwang-center running?\n",
                   e->edge_id);
        if (e->poison)
            printf("! %s: %" PRIu64 " record%s quarantined as poison; see the center's log.\n",
                   e->edge_id, e->poison, e->poison == 1 ? "" : "s");
    }
}

static int s_print_table(const aw_edge_status *v, size_t n, int64_t now)
{
    static const char *const headers[C_N] = {"EDGE",        "ZONE",        "STATE", "EPOCH",
                                             "APPLIED U/B", "BACKLOG U/B", "SKEW",  "LAST CONTACT"};
    if (n == 0) {
        printf("No edge has connected to this center yet.\n");
        return EX_OK;
    }
    aw_cli_table_t *t = NULL;
    int rc = aw_cli_table_new(headers, C_N, &t);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = s_row(t, &v[i], now);
    if (rc != 0) {
        aw_cli_table_destroy(&t);
        aw_cli_err("out of memory");
        return EX_OSERR;
    }
    aw_cli_table_right(t, C_APPLIED);
    aw_cli_table_right(t, C_BACKLOG);
    aw_cli_table_right(t, C_SKEW);
    aw_cli_table_print(t, stdout);
    aw_cli_table_destroy(&t);
    s_summary(v, n, now);
    return EX_OK;
}

int aw_cli_center_status(const aw_cli_cmd *cmd, int argc, char **argv)
{
    s_args a;
    int rc = s_parse(cmd, argc, argv, &a);
    if (rc >= 0)
        return rc;
    aw_store_t *store = NULL;
    aw_center_db_t *db = NULL;
    if ((rc = s_open(a.data, &store, &db)) >= 0)
        return rc;
    aw_edge_status *v = NULL;
    size_t n = 0;
    rc = s_load(db, &a, &v, &n);
    aw_center_db_destroy(&db);
    aw_store_destroy(&store);
    if (rc >= 0)
        return rc;
    int64_t now = aw_cli_now_ms();
    rc = a.json ? s_print_json(v, n, now) : s_print_table(v, n, now);
    free(v);
    return rc;
}
