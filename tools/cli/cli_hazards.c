/* cli_hazards.c: `anwang hazards ...`, the hazard ledger (一单四制, SPEC §6)
 * over the center's API: list, show with the ledger, report, and the
 * lifecycle events assign, start, rectified, verify, notify and note. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "cli_http.h"
#include "cli_out.h"
#include "cli_show.h"
#include "registry.h"
#include "rfc3339.h"

#define S_BODY_MAX (1u << 20) /* the API's body limit */

#define S_EXIT_CODES                                                                               \
    "Exit codes: 0 ok, 64 bad arguments, 65 refused (invalid, or not allowed in the hazard's\n"    \
    "state: the ledger's reason is shown), 66 no such hazard or unreadable --file, 69 the\n"       \
    "center cannot be reached, 77 token missing or not an operator's, 70 center error.\n"

/* ------------------------------------------------------------ list, show */

const char aw_cli_hazards_help[] =
    "Usage: anwang hazards [--root PATH] [--status S] [--level L] [--sector S] [--overdue]\n"
    "                      [--limit N] [--json]\n"
    "\n"
    "Lists hazards of the ledger (台账), newest report first: level, status, site,\n"
    "title, deadline (OVERDUE when passed and not closed) and the unit responsible.\n"
    "Subcommands: show, report, assign, start, rectified, verify, notify, note\n"
    "('anwang help hazards report', ...).\n"
    "\n"
    "Options\n"
    "  -r, --root PATH        only under this grid path\n"
    "  -s, --status S         reported, assigned, rectifying, rectified, closed, or open\n"
    "                         (every status but closed)\n"
    "  -l, --level L          general or major\n"
    "      --sector S         only this sector (e.g. hazardous-chemicals, non-coal-mine)\n"
    "      --overdue          only hazards past their deadline\n"
    "  -n, --limit N          at most N hazards (1..10000)\n" AW_CLI_READ_HELP
    "  anwang hazards --status open\n"
    "  anwang hazards --overdue --level major --root yueyang/rongjiawan\n"
    "  anwang hazards --json | jq -r '.hazards[] | select(.overdue) | .id'\n"
    "\n" S_EXIT_CODES;

static bool s_one_of(const char *s, const char *const *names)
{
    for (; *names != NULL; names++)
        if (strcmp(s, *names) == 0)
            return true;
    return false;
}

static const char *const s_statuses[] = {"reported", "assigned", "rectifying", "rectified",
                                         "closed",   "open",     NULL};
static const char *const s_levels[] = {"general", "major", NULL};
static const char *const s_sources[] = {"self-inspection", "public-report", "inspection", NULL};

/* True when @p name is a sector of SPEC §1 (registry.h); else prints the usage
 * error listing them and *rc is its exit code. */
static bool s_sector_ok(const aw_cli_cmd *cmd, const char *name, int *rc)
{
    char list[512] = "";
    size_t used = 0;
    for (int i = 0; i < 64 && strcmp(aw_sector_name((aw_sector)i), "invalid") != 0; i++) {
        const char *n = aw_sector_name((aw_sector)i);
        if (strcmp(n, name) == 0)
            return true;
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", n);
        used += w > 0 && (size_t)w < sizeof list - used ? (size_t)w : 0;
    }
    *rc = aw_cli_usage_error(cmd, "--sector takes one of %s; not '%s'", list, name);
    return false;
}

/* The filters of `anwang hazards`, as query parameters. */
typedef struct s_filter {
    const char *root, *status, *level, *sector, *limit;
    bool overdue;
} s_filter;

static int s_filter_check(const aw_cli_cmd *cmd, const s_filter *q)
{
    long n;
    if (q->status && !s_one_of(q->status, s_statuses))
        return aw_cli_usage_error(cmd,
                                  "--status takes reported, assigned, rectifying, rectified, "
                                  "closed or open, not '%s'",
                                  q->status);
    if (q->level && !s_one_of(q->level, s_levels))
        return aw_cli_usage_error(cmd, "--level takes general or major, not '%s'", q->level);
    int rc = -1;
    if (q->sector && !s_sector_ok(cmd, q->sector, &rc))
        return rc;
    if (q->limit && !aw_cli_parse_long(q->limit, 1, 10000, &n))
        return aw_cli_usage_error(cmd, "--limit takes 1..10000, not '%s'", q->limit);
    return -1;
}

int aw_cli_hazards(const aw_cli_cmd *cmd, int argc, char **argv)
{
    enum { O_SECTOR = 300, O_OVERDUE };
    static const struct option opts[] = {AW_CLI_API_OPTIONS,
                                         {"root", required_argument, NULL, 'r'},
                                         {"status", required_argument, NULL, 's'},
                                         {"level", required_argument, NULL, 'l'},
                                         {"sector", required_argument, NULL, O_SECTOR},
                                         {"overdue", no_argument, NULL, O_OVERDUE},
                                         {"limit", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    aw_cli_conn conn;
    s_filter q = {0};
    char path[2048] = "/api/v1/hazards";
    int c, rc = -1;
    aw_cli_conn_init(&conn);
    while ((c = getopt_long(argc, argv, ":r:s:l:n:h", opts, NULL)) != -1) {
        if (aw_cli_api_getopt(cmd, argv, c, &conn, &rc) && rc >= 0)
            return rc;
        q.root = c == 'r' ? optarg : q.root;
        q.status = c == 's' ? optarg : q.status;
        q.level = c == 'l' ? optarg : q.level;
        q.sector = c == O_SECTOR ? optarg : q.sector;
        q.limit = c == 'n' ? optarg : q.limit;
        q.overdue = q.overdue || c == O_OVERDUE;
    }
    if (optind < argc)
        return aw_cli_usage_error(cmd,
                                  "unknown subcommand or argument '%s' (subcommands: show, "
                                  "report, assign, start, rectified, verify, notify, note)",
                                  argv[optind]);
    if ((rc = s_filter_check(cmd, &q)) >= 0)
        return rc;
    aw_cli_param params[] = {{"root", q.root},
                             {"status", q.status},
                             {"level", q.level},
                             {"sector", q.sector},
                             {"overdue", q.overdue ? "true" : NULL},
                             {"limit", q.limit}};
    if (!aw_cli_query_addv(path, sizeof path, params, sizeof params / sizeof *params))
        return aw_cli_usage_error(cmd, "arguments too long");
    aw_cli_request req = {.method = "GET", .path = path, .subject = "hazards"};
    return aw_cli_api_show(&conn, &req, aw_cli_show_hazards);
}

const char aw_cli_hazards_show_help[] =
    "Usage: anwang hazards show ID [--json]\n"
    "\n"
    "Shows one hazard: its summary (level, status, site, source, assignment and\n"
    "deadline, evidence, 双报告 for a major one) and its ledger, every event in fold\n"
    "order with who made it where; a rejected event stays listed with the reason.\n"
    "\n"
    "Options\n" AW_CLI_READ_HELP "  anwang hazards show rongjiawan-1-0195520b3f000000\n"
    "  anwang hazards show center-0195520b3f000000 --json | jq '.ledger[] | select(.accepted | "
    "not)'\n"
    "\n" S_EXIT_CODES;

int aw_cli_hazards_show(const aw_cli_cmd *cmd, int argc, char **argv)
{
    static const aw_cli_one one = {.noun = "hazard",
                                   .base = "/api/v1/hazards",
                                   .tail = "",
                                   .method = "GET",
                                   .hint404 = "check the id; 'anwang hazards' lists the hazards",
                                   .human = aw_cli_show_hazard};
    return aw_cli_api_one(cmd, argc, argv, &one);
}

/* ------------------------------------------------------------ writes */

/* Sends @p body (a JSON object, stolen) to @p path; prints the hazard it answers. */
static int s_post(const aw_cli_conn *conn, const char *path, const char *subject, json_t *body)
{
    aw_cli_request req = {.method = "POST",
                          .path = path,
                          .role = AW_CLI_OPERATOR,
                          .subject = subject,
                          .hint404 = "check the id; 'anwang hazards' lists the hazards"};
    return aw_cli_api_send(conn, &req, body, "the arguments", aw_cli_show_hazard);
}

/* Sets @p key to the string @p v when given; false when @p v is not UTF-8. */
static bool s_set(json_t *o, const char *key, const char *v)
{
    return v == NULL || json_object_set_new(o, key, json_string(v)) == 0;
}

const char aw_cli_hazards_report_help[] =
    "Usage: anwang hazards report --site PATH --sector S --level general|major --title T\n"
    "                             --source SRC [--reporter R] [--description D] [--json]\n"
    "       anwang hazards report --file FILE|-\n"
    "\n"
    "Reports a new hazard to the ledger (the report of SPEC §6). A major hazard is\n"
    "also reported to the safety bureau and its sector's department (双报告). Prints\n"
    "the hazard with its new id. Needs an operator token.\n"
    "\n"
    "Options\n"
    "      --site PATH        the site, county/zone/village/site\n"
    "      --sector S         its sector: non-coal-mine, hazardous-chemicals, fireworks,\n"
    "                         industry-trade, dust-explosion, confined-space,\n"
    "                         ammonia-refrigeration, tailings-dam\n"
    "      --level L          general (一般) or major (重大)\n"
    "      --title T          one line saying what is wrong\n"
    "      --source SRC       self-inspection (自查), public-report (举报) or inspection (检查)\n"
    "      --reporter R       who reported it (needed unless the source is public-report)\n"
    "      --description D    more detail\n"
    "  -f, --file FILE        the report as JSON instead ({\"site\", \"sector\", ...}); - = "
    "stdin\n" AW_CLI_WRITE_HELP
    "  anwang hazards report --site yueyang/rongjiawan/xinqiang/huaxin-chem \\\n"
    "      --sector hazardous-chemicals --level major --title \"tank T3 level gauge broken\" \\\n"
    "      --source inspection --reporter \"Li Wei\"\n"
    "  anwang hazards report --file report.json\n"
    "\n" S_EXIT_CODES;

enum { O_SITE = 300, O_SECTOR, O_LEVEL, O_TITLE, O_DESC, O_SOURCE, O_REPORTER };

/* The report's JSON from the options (NULL when out of memory or not UTF-8). */
static json_t *s_report_body(const char *const v[7])
{
    static const char *const keys[] = {"site",        "sector", "level",   "title",
                                       "description", "source", "reporter"};
    json_t *o = json_object();
    for (int i = 0; o != NULL && i < 7; i++)
        if (!s_set(o, keys[i], v[i])) {
            json_decref(o);
            return NULL;
        }
    return o;
}

static int s_report_check(const aw_cli_cmd *cmd, const char *const v[7])
{
    static const char *const names[] = {"--site", "--sector", "--level", "--title"};
    for (int i = 0; i < 4; i++)
        if (v[i] == NULL)
            return aw_cli_usage_error(cmd, "%s is needed (or --file)", names[i]);
    if (v[5] == NULL)
        return aw_cli_usage_error(cmd, "--source is needed (or --file)");
    int rc = -1;
    if (!s_sector_ok(cmd, v[1], &rc))
        return rc;
    if (!s_one_of(v[2], s_levels))
        return aw_cli_usage_error(cmd, "--level takes general or major, not '%s'", v[2]);
    if (!s_one_of(v[5], s_sources))
        return aw_cli_usage_error(
            cmd, "--source takes self-inspection, public-report or inspection, not '%s'", v[5]);
    if (v[6] == NULL && strcmp(v[5], "public-report") != 0)
        return aw_cli_usage_error(cmd, "--reporter is needed unless the source is public-report");
    return -1;
}

/* The report read from @p file ("-" = stdin): one JSON object. */
static int s_report_file(const char *file, json_t **out)
{
    json_error_t e;
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    *out = NULL;
    if (f == NULL) {
        aw_cli_err("cannot read %s: %s", file, strerror(errno));
        return EX_NOINPUT;
    }
    *out = json_loadf(f, JSON_REJECT_DUPLICATES, &e);
    if (f != stdin)
        fclose(f);
    if (!json_is_object(*out)) {
        if (*out == NULL)
            aw_cli_err("%s is not valid JSON: line %d, column %d: %s", file, e.line, e.column,
                       e.text);
        else
            aw_cli_err("%s is JSON but not an object ({\"site\": ..., ...})", file);
        json_decref(*out);
        *out = NULL;
        return EX_DATAERR;
    }
    return -1;
}

int aw_cli_hazards_report(const aw_cli_cmd *cmd, int argc, char **argv)
{
    static const struct option opts[] = {AW_CLI_API_OPTIONS,
                                         {"site", required_argument, NULL, O_SITE},
                                         {"sector", required_argument, NULL, O_SECTOR},
                                         {"level", required_argument, NULL, O_LEVEL},
                                         {"title", required_argument, NULL, O_TITLE},
                                         {"description", required_argument, NULL, O_DESC},
                                         {"source", required_argument, NULL, O_SOURCE},
                                         {"reporter", required_argument, NULL, O_REPORTER},
                                         {"file", required_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    aw_cli_conn conn;
    const char *v[7] = {0}, *file = NULL;
    bool fields = false;
    json_t *body = NULL;
    int c, rc = -1;
    aw_cli_conn_init(&conn);
    while ((c = getopt_long(argc, argv, ":f:h", opts, NULL)) != -1) {
        if (aw_cli_api_getopt(cmd, argv, c, &conn, &rc) && rc >= 0)
            return rc;
        if (c >= O_SITE && c <= O_REPORTER) {
            v[c - O_SITE] = optarg;
            fields = true;
        }
        file = c == 'f' ? optarg : file;
    }
    if (optind < argc)
        return aw_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (file != NULL && fields)
        return aw_cli_usage_error(cmd, "give --file or the field options, not both");
    if (file == NULL && (rc = s_report_check(cmd, v)) >= 0)
        return rc;
    if (file != NULL && (rc = s_report_file(file, &body)) >= 0)
        return rc;
    if (file == NULL && (body = s_report_body(v)) == NULL) {
        aw_cli_err("the options are not valid UTF-8 text");
        return EX_DATAERR;
    }
    return s_post(&conn, "/api/v1/hazards", "hazard report", body);
}

/* ------------------------------------------------------------ lifecycle events */

/* The options an event command may take. */
enum {
    E_UNIT = 1 << 0,
    E_PERSON = 1 << 1,
    E_DEADLINE = 1 << 2,
    E_EVIDENCE = 1 << 3,
    E_OKFAIL = 1 << 4,
    E_AUDIENCE = 1 << 5,
    E_TEXT = 1 << 6,
    E_NOTE = 1 << 7,
};

/* Option values of an event. */
typedef struct s_event {
    const char *unit, *person, *deadline, *evidence, *audience, *text, *note;
    int ok; /* -1 unset, 0 --fail, 1 --ok */
    unsigned given;
} s_event;

/* Per op: what it may take and what it needs (SPEC §6; ledger/hazard_json.h). */
typedef struct s_op {
    const char *op;
    unsigned may, needs;
} s_op;

static const s_op s_ops[] = {
    {"assign", E_UNIT | E_PERSON | E_DEADLINE | E_NOTE, E_UNIT | E_PERSON | E_DEADLINE},
    {"start", E_NOTE, 0},
    {"rectified", E_EVIDENCE | E_NOTE, E_EVIDENCE},
    {"verify", E_OKFAIL | E_NOTE, E_OKFAIL},
    {"notify", E_AUDIENCE | E_TEXT | E_NOTE, E_AUDIENCE | E_TEXT},
    {"note", E_NOTE, E_NOTE},
};

static const char *const s_opt_names[] = {"--unit",      "--person",   "--deadline", "--evidence",
                                          "--ok/--fail", "--audience", "--text",     "--note"};

static const s_op *s_op_of(const aw_cli_cmd *cmd)
{
    const char *word = strchr(cmd->name, ' ');
    for (size_t i = 0; word != NULL && i < sizeof s_ops / sizeof s_ops[0]; i++)
        if (strcmp(word + 1, s_ops[i].op) == 0)
            return &s_ops[i];
    return NULL;
}

/* Stores option @p c; returns false when @p c is not an event option. */
static bool s_event_opt(s_event *e, int c, const char *arg)
{
    static const char letters[] = "UPDEOATN";
    const char *p = c > 0 && c < 128 ? strchr(letters, c) : NULL;
    if (p == NULL || *p == '\0')
        return false;
    unsigned bit = 1u << (p - letters);
    e->given |= bit;
    const char **slot[] = {&e->unit, &e->person,   &e->deadline, &e->evidence,
                           NULL,     &e->audience, &e->text,     &e->note};
    if (slot[p - letters] != NULL)
        *slot[p - letters] = arg;
    return true;
}

/* Checks the options against the op's table and the deadline's form. */
static int s_event_check(const aw_cli_cmd *cmd, const s_op *op, const s_event *e)
{
    int64_t ms;
    for (int i = 0; i < 8; i++) {
        unsigned bit = 1u << i;
        if ((e->given & bit) && !(op->may & bit))
            return aw_cli_usage_error(cmd, "%s is not an option of '%s'", s_opt_names[i], op->op);
        if ((op->needs & bit) && !(e->given & bit))
            return aw_cli_usage_error(cmd, "%s is needed", s_opt_names[i]);
    }
    if (e->deadline != NULL && aw_time_parse_rfc3339(e->deadline, &ms) != 0)
        return aw_cli_usage_error(cmd,
                                  "--deadline takes an RFC 3339 time such as "
                                  "2026-12-31T18:00:00+08:00, not '%s'",
                                  e->deadline);
    return -1;
}

/* The event's JSON: {"op", and the fields given}. */
static json_t *s_event_body(const s_op *op, const s_event *e)
{
    json_t *o = json_object();
    if (o == NULL || !s_set(o, "op", op->op) || !s_set(o, "unit", e->unit) ||
        !s_set(o, "person", e->person) || !s_set(o, "deadline", e->deadline) ||
        !s_set(o, "evidence", e->evidence) || !s_set(o, "audience", e->audience) ||
        !s_set(o, "text", e->text) || !s_set(o, "note", e->note) ||
        (e->ok >= 0 && json_object_set_new(o, "ok", json_boolean(e->ok)) != 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Parses an event command's options into @p e; returns -1 to go on. */
static int s_event_parse(const aw_cli_cmd *cmd, int argc, char **argv, aw_cli_conn *conn,
                         s_event *e)
{
    enum { O_OK = 'O', O_FAIL = 'F' };
    static const struct option opts[] = {AW_CLI_API_OPTIONS,
                                         {"unit", required_argument, NULL, 'U'},
                                         {"person", required_argument, NULL, 'P'},
                                         {"deadline", required_argument, NULL, 'D'},
                                         {"evidence", required_argument, NULL, 'E'},
                                         {"ok", no_argument, NULL, O_OK},
                                         {"fail", no_argument, NULL, O_FAIL},
                                         {"audience", required_argument, NULL, 'A'},
                                         {"text", required_argument, NULL, 'T'},
                                         {"note", required_argument, NULL, 'N'},
                                         {NULL, 0, NULL, 0}};
    int c, rc = -1;
    *e = (s_event){.ok = -1};
    aw_cli_conn_init(conn);
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (aw_cli_api_getopt(cmd, argv, c, conn, &rc) && rc >= 0)
            return rc;
        if (c == O_FAIL && e->ok == 1)
            return aw_cli_usage_error(cmd, "give --ok or --fail, not both");
        if (c == O_OK && e->ok == 0)
            return aw_cli_usage_error(cmd, "give --ok or --fail, not both");
        e->ok = c == O_OK ? 1 : c == O_FAIL ? 0 : e->ok;
        s_event_opt(e, c == O_FAIL ? O_OK : c, optarg);
    }
    return -1;
}

int aw_cli_hazards_event(const aw_cli_cmd *cmd, int argc, char **argv)
{
    const s_op *op = s_op_of(cmd);
    aw_cli_conn conn;
    s_event e;
    char path[1024], subject[300];
    int rc = op ? s_event_parse(cmd, argc, argv, &conn, &e) : EX_SOFTWARE;
    if (rc >= 0)
        return rc;
    int want = 1 + (strcmp(op->op, "note") == 0 && e.note == NULL);
    if (argc - optind < 1)
        return aw_cli_usage_error(cmd, "missing the hazard ID");
    if (argc - optind < want)
        return aw_cli_usage_error(cmd, "missing the note's TEXT (or --note TEXT)");
    if (argc - optind > want)
        return aw_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + want]);
    if (want == 2)
        s_event_opt(&e, 'N', argv[optind + 1]);
    if ((rc = s_event_check(cmd, op, &e)) >= 0)
        return rc;
    if (!aw_cli_id_path("/api/v1/hazards", argv[optind], "/events", path, sizeof path))
        return aw_cli_usage_error(cmd, "the ID is too long");
    snprintf(subject, sizeof subject, "hazard %.200s", argv[optind]);
    return s_post(&conn, path, subject, s_event_body(op, &e));
}

const char aw_cli_hazards_assign_help[] =
    "Usage: anwang hazards assign ID --unit U --person P --deadline TIME [--note TEXT]\n"
    "\n"
    "Assigns a reported hazard (交办): the unit and person responsible for rectifying it\n"
    "and the deadline. Past the deadline and not closed, the hazard is overdue and the\n"
    "center notifies. Needs an operator token.\n"
    "\n"
    "Options\n"
    "      --unit U           the unit responsible (enterprise, department)\n"
    "      --person P         the person responsible\n"
    "      --deadline TIME    RFC 3339, e.g. 2026-12-31T18:00:00+08:00\n"
    "      --note TEXT        a remark\n" AW_CLI_WRITE_HELP
    "  anwang hazards assign center-0195520b3f000000 --unit \"Huaxin Chemical\" \\\n"
    "      --person \"Zhang San\" --deadline 2026-12-31T18:00:00+08:00\n"
    "\n" S_EXIT_CODES;

const char aw_cli_hazards_start_help[] =
    "Usage: anwang hazards start ID [--note TEXT]\n"
    "\n"
    "Records that rectification of an assigned hazard has started. Needs an operator\n"
    "token.\n"
    "\n"
    "Options\n"
    "      --note TEXT        a remark\n" AW_CLI_WRITE_HELP
    "  anwang hazards start center-0195520b3f000000\n"
    "  anwang hazards start center-0195520b3f000000 --note \"crew on site\"\n"
    "\n" S_EXIT_CODES;

const char aw_cli_hazards_rectified_help[] =
    "Usage: anwang hazards rectified ID --evidence TEXT [--note TEXT]\n"
    "\n"
    "Records that the hazard is rectified, with the evidence (what was done, photo\n"
    "references); it then waits for verification. Needs an operator token.\n"
    "\n"
    "Options\n"
    "      --evidence TEXT    what shows it is fixed\n"
    "      --note TEXT        a remark\n" AW_CLI_WRITE_HELP
    "  anwang hazards rectified center-0195520b3f000000 --evidence \"gauge replaced, photo 17\"\n"
    "\n" S_EXIT_CODES;

const char aw_cli_hazards_verify_help[] =
    "Usage: anwang hazards verify ID --ok|--fail [--note TEXT]\n"
    "\n"
    "Verifies a rectified hazard: --ok signs it off (销号) and closes it, --fail sends\n"
    "it back to rectifying (say why with --note). Needs an operator token.\n"
    "\n"
    "Options\n"
    "      --ok               rectification accepted: close the hazard\n"
    "      --fail             not accepted: back to rectifying\n"
    "      --note TEXT        a remark, e.g. why it failed\n" AW_CLI_WRITE_HELP
    "  anwang hazards verify center-0195520b3f000000 --ok\n"
    "  anwang hazards verify center-0195520b3f000000 --fail --note \"still leaking\"\n"
    "\n" S_EXIT_CODES;

const char aw_cli_hazards_notify_help[] =
    "Usage: anwang hazards notify ID --audience A --text TEXT\n"
    "\n"
    "Records a notification (通报) about the hazard to an audience, in any state.\n"
    "Needs an operator token.\n"
    "\n"
    "Options\n"
    "      --audience A       who was notified, e.g. \"county safety bureau\"\n"
    "      --text TEXT        what they were told\n"
    "      --note TEXT        a remark\n" AW_CLI_WRITE_HELP
    "  anwang hazards notify center-0195520b3f000000 --audience \"county safety bureau\" \\\n"
    "      --text \"deadline extended by the township\"\n"
    "\n" S_EXIT_CODES;

const char aw_cli_hazards_note_help[] =
    "Usage: anwang hazards note ID TEXT\n"
    "\n"
    "Adds a note to the hazard's ledger, in any state. Needs an operator token.\n"
    "\n"
    "Options\n" AW_CLI_WRITE_HELP
    "  anwang hazards note center-0195520b3f000000 \"owner asked for two more days\"\n"
    "\n" S_EXIT_CODES;
