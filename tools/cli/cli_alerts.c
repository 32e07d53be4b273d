/* cli_alerts.c: `anwang alerts`, `alert show|issue|cancel` and `drill`: the
 * emergency linkage channel (SPEC §7) over the center's API. A drill is an
 * alert with status Exercise, issued, carried and reported the same way. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "cli_http.h"
#include "cli_out.h"
#include "cli_show.h"
#include "rfc3339.h"

#define S_LIST_MAX 64 /* --area and --references of one alert */

#define S_EXIT_CODES                                                                               \
    "Exit codes: 0 ok, 64 bad arguments, 65 refused (invalid, or already cancelled), 66 no\n"      \
    "such alert, 69 the center cannot be reached, 77 token missing or not allowed, 70 center\n"    \
    "error.\n"

/* ------------------------------------------------------------ reads */

const char aw_cli_alerts_help[] =
    "Usage: anwang alerts [--all] [--json]\n"
    "\n"
    "Lists alerts and drills: status (Actual, Exercise, Test), type, event, severity,\n"
    "area, when sent, and whether cancelled. 'anwang alert show ID' has the delivery\n"
    "report of one.\n"
    "\n"
    "Options\n"
    "  -a, --all              also alerts no longer active (expired or "
    "cancelled)\n" AW_CLI_READ_HELP "  anwang alerts\n"
    "  anwang alerts --all --json | jq -r '.alerts[] | select(.status == \"Exercise\") | .id'\n"
    "\n" S_EXIT_CODES;

int aw_cli_alerts(const aw_cli_cmd *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        AW_CLI_API_OPTIONS, {"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    aw_cli_conn conn;
    bool all = false;
    int c, rc = -1;
    aw_cli_conn_init(&conn);
    while ((c = getopt_long(argc, argv, ":ah", opts, NULL)) != -1) {
        if (aw_cli_api_getopt(cmd, argv, c, &conn, &rc) && rc >= 0)
            return rc;
        all = all || c == 'a';
    }
    if (optind < argc)
        return aw_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    aw_cli_request req = {.method = "GET",
                          .path = all ? "/api/v1/alerts?state=all" : "/api/v1/alerts",
                          .subject = "alerts"};
    return aw_cli_api_show(&conn, &req, aw_cli_show_alerts);
}

const char aw_cli_alert_show_help[] =
    "Usage: anwang alert show ID [--json]\n"
    "\n"
    "Shows one alert or drill: its CAP 1.2 fields and its delivery report (edges and\n"
    "devices targeted, reached, failed; latency from issue to device ack; who was not\n"
    "reached). For a drill this is the drill report.\n"
    "\n"
    "Options\n" AW_CLI_READ_HELP "  anwang alert show center-a-0195520b3f000000\n"
    "  anwang alert show center-a-0195520b3f000000 --json | jq .report.latency_ms\n"
    "\n" S_EXIT_CODES;

/* GET or POST on one alert (@p tail "" or "/cancel"). */
static int s_one(const aw_cli_cmd *cmd, int argc, char **argv, const char *method, const char *tail)
{
    aw_cli_one one = {.noun = "alert",
                      .base = "/api/v1/alerts",
                      .tail = tail,
                      .method = method,
                      .role = *tail ? AW_CLI_OPERATOR : AW_CLI_VIEWER,
                      .hint404 = "check the id; 'anwang alerts --all' lists the alerts",
                      .human = aw_cli_show_alert};
    return aw_cli_api_one(cmd, argc, argv, &one);
}

int aw_cli_alert_show(const aw_cli_cmd *cmd, int argc, char **argv)
{
    return s_one(cmd, argc, argv, "GET", "");
}

const char aw_cli_alert_cancel_help[] =
    "Usage: anwang alert cancel ID [--json]\n"
    "\n"
    "Cancels an alert or drill: the cancellation is fanned out like the alert was.\n"
    "Cancelling one already cancelled is refused (65). Needs an operator token.\n"
    "\n"
    "Options\n" AW_CLI_WRITE_HELP "  anwang alert cancel center-a-0195520b3f000000\n"
    "\n" S_EXIT_CODES;

int aw_cli_alert_cancel(const aw_cli_cmd *cmd, int argc, char **argv)
{
    return s_one(cmd, argc, argv, "POST", "/cancel");
}

/* ------------------------------------------------------------ issue, drill */

#define S_ISSUE_OPTIONS                                                                            \
    "      --event E          what it is about, e.g. \"chemical leak\" (needed)\n"                 \
    "      --area PATH        a grid path it covers; repeat for more (needed)\n"                   \
    "      --headline H       one line for sirens and screens\n"                                   \
    "      --instruction I    what people should do\n"                                             \
    "      --description D    more detail\n"                                                       \
    "      --urgency U        Immediate, Expected, Future, Past, Unknown\n"                        \
    "      --severity S       Extreme, Severe, Moderate, Minor, Unknown\n"                         \
    "      --certainty C      Observed, Likely, Possible, Unlikely, Unknown\n"                     \
    "      --scope S          Public (default), Restricted, Private\n"                             \
    "      --expires TIME     RFC 3339; an offline edge gets it on reconnect until then\n"         \
    "      --msg-type T       Alert (default), Update, Cancel\n"                                   \
    "      --references ID    an alert this one updates or cancels; repeat for more\n"

const char aw_cli_alert_issue_help[] =
    "Usage: anwang alert issue --status Actual|Exercise|Test --event E --area PATH...\n"
    "                          [--headline H] [--instruction I] [...] [--json]\n"
    "\n"
    "Issues a CAP 1.2 alert: the center sends it to every edge whose zone meets the\n"
    "area, and each edge to its sirens and loudspeakers there. For a drill use\n"
    "'anwang drill' (status Exercise): it can never sound as Actual. Needs an operator\n"
    "token. Prints the alert with its id; 'anwang alert show ID' has the delivery report.\n"
    "\n"
    "Options\n"
    "      --status S         Actual, Exercise or Test (needed)\n" S_ISSUE_OPTIONS AW_CLI_HELP_TAIL
    "  anwang alert issue --status Actual --event \"chemical leak\" --area yueyang/rongjiawan \\\n"
    "      --severity Severe --urgency Immediate --headline \"Leak at Huaxin: stay indoors\"\n"
    "  anwang alert issue --status Test --event \"siren test\" --area yueyang/rongjiawan\n"
    "\n" S_EXIT_CODES;

const char aw_cli_drill_help[] =
    "Usage: anwang drill --event E --area PATH... [--headline H] [...] [--json]\n"
    "\n"
    "Starts a drill: an alert with status Exercise, carried, shown and reported exactly\n"
    "like an alert but never sounding as Actual. 'anwang alert show ID' then has the\n"
    "drill report: who was reached and how fast. Needs an operator token.\n"
    "\n"
    "Options\n" S_ISSUE_OPTIONS AW_CLI_HELP_TAIL
    "  anwang drill --event \"evacuation drill\" --area yueyang/rongjiawan \\\n"
    "      --headline \"Drill: evacuate to the school yard\"\n"
    "  anwang drill --event \"flood drill\" --area yueyang/rongjiawan --area yueyang/xinqiang\n"
    "\n" S_EXIT_CODES;

/* The CAP text options, by getopt value - 300. */
static const char *const s_keys[] = {"status",      "event",   "headline", "instruction",
                                     "description", "urgency", "severity", "certainty",
                                     "scope",       "expires", "msgType"};
#define S_NKEYS (sizeof s_keys / sizeof s_keys[0])

/* What `alert issue` and `drill` send: the CAP text fields and two lists. */
typedef struct s_issue_args {
    const char *v[S_NKEYS]; /* by s_keys */
    const char *area[S_LIST_MAX], *refs[S_LIST_MAX];
    size_t narea, nrefs;
} s_issue_args;

/* Checks the values of the options that are enums or times. */
static int s_issue_check(const aw_cli_cmd *cmd, const s_issue_args *a)
{
    static const char *const statuses[] = {"Actual", "Exercise", "Test"};
    int64_t ms;
    bool ok = false;
    for (int i = 0; i < 3 && a->v[0] != NULL; i++)
        ok = ok || strcmp(a->v[0], statuses[i]) == 0;
    if (a->v[0] == NULL)
        return aw_cli_usage_error(cmd, "--status is needed (Actual, Exercise or Test)");
    if (!ok)
        return aw_cli_usage_error(cmd, "--status takes Actual, Exercise or Test, not '%s'",
                                  a->v[0]);
    if (a->v[1] == NULL)
        return aw_cli_usage_error(cmd, "--event is needed");
    if (a->narea == 0)
        return aw_cli_usage_error(cmd, "--area is needed (a grid path; repeat for more)");
    if (a->v[9] != NULL && aw_time_parse_rfc3339(a->v[9], &ms) != 0)
        return aw_cli_usage_error(cmd, "--expires takes an RFC 3339 time, not '%s'", a->v[9]);
    return -1;
}

/* Sets @p key of @p o to an array of the @p n strings; false when one is not UTF-8. */
static bool s_set_list(json_t *o, const char *key, const char *const *list, size_t n)
{
    json_t *arr = json_array();
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = json_array_append_new(arr, json_string(list[i])) == 0;
    ok = ok && json_object_set(o, key, arr) == 0;
    json_decref(arr);
    return ok;
}

/* The request body: the CAP keys given, "area" and "references" (when given).
 * NULL when not UTF-8 or out of memory. */
static json_t *s_issue_body(const s_issue_args *a)
{
    json_t *o = json_object();
    bool ok = o != NULL;
    for (size_t i = 0; ok && i < S_NKEYS; i++)
        ok = a->v[i] == NULL || json_object_set_new(o, s_keys[i], json_string(a->v[i])) == 0;
    ok = ok && s_set_list(o, "area", a->area, a->narea);
    ok = ok && (a->nrefs == 0 || s_set_list(o, "references", a->refs, a->nrefs));
    if (!ok)
        json_decref(o);
    return ok ? o : NULL;
}

/* Stores option @p c of `alert issue` or `drill`; returns -1 to go on, else an exit code. */
static int s_issue_opt(const aw_cli_cmd *cmd, int c, bool drill, s_issue_args *a)
{
    enum { O_AREA = 298, O_REFS = 299 };
    if (c == 300 && drill)
        return aw_cli_usage_error(cmd, "a drill's status is always Exercise; for another "
                                       "status use 'anwang alert issue'");
    if ((c == O_AREA && a->narea == S_LIST_MAX) || (c == O_REFS && a->nrefs == S_LIST_MAX))
        return aw_cli_usage_error(cmd, "at most %d --area and %d --references", S_LIST_MAX,
                                  S_LIST_MAX);
    if (c == O_AREA)
        a->area[a->narea++] = optarg;
    else if (c == O_REFS)
        a->refs[a->nrefs++] = optarg;
    else if (c >= 300 && c < 300 + (int)S_NKEYS)
        a->v[c - 300] = optarg;
    return -1;
}

/* POSTs the alert of @p a; prints the answer. */
static int s_issue_send(const aw_cli_conn *conn, const s_issue_args *a, bool drill)
{
    aw_cli_request req = {.method = "POST",
                          .path = "/api/v1/alerts",
                          .role = AW_CLI_OPERATOR,
                          .subject = drill ? "drill" : "alert"};
    return aw_cli_api_send(conn, &req, s_issue_body(a), "the options", aw_cli_show_alert);
}

/* Shared by `alert issue` and `drill` (@p drill: status Exercise, no --status option). */
static int s_issue(const aw_cli_cmd *cmd, int argc, char **argv, bool drill)
{
    static const struct option opts[] = {AW_CLI_API_OPTIONS,
                                         {"status", required_argument, NULL, 300},
                                         {"event", required_argument, NULL, 301},
                                         {"headline", required_argument, NULL, 302},
                                         {"instruction", required_argument, NULL, 303},
                                         {"description", required_argument, NULL, 304},
                                         {"urgency", required_argument, NULL, 305},
                                         {"severity", required_argument, NULL, 306},
                                         {"certainty", required_argument, NULL, 307},
                                         {"scope", required_argument, NULL, 308},
                                         {"expires", required_argument, NULL, 309},
                                         {"msg-type", required_argument, NULL, 310},
                                         {"area", required_argument, NULL, 298},
                                         {"references", required_argument, NULL, 299},
                                         {NULL, 0, NULL, 0}};
    aw_cli_conn conn;
    s_issue_args a = {.v = {drill ? "Exercise" : NULL}};
    int c, rc = -1;
    aw_cli_conn_init(&conn);
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (aw_cli_api_getopt(cmd, argv, c, &conn, &rc) && rc >= 0)
            return rc;
        if ((rc = s_issue_opt(cmd, c, drill, &a)) >= 0)
            return rc;
    }
    if (optind < argc)
        return aw_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if ((rc = s_issue_check(cmd, &a)) >= 0)
        return rc;
    return s_issue_send(&conn, &a, drill);
}

int aw_cli_alert_issue(const aw_cli_cmd *cmd, int argc, char **argv)
{
    return s_issue(cmd, argc, argv, false);
}

int aw_cli_drill(const aw_cli_cmd *cmd, int argc, char **argv)
{
    return s_issue(cmd, argc, argv, true);
}
