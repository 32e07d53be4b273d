/* anwang: the operator CLI. Parses the global options, finds the command in
 * the table below and hands it the rest of the command line. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "cli_out.h"

#ifndef AW_VERSION
#define AW_VERSION "0.1.0"
#endif

/* Every command, in the order `anwang --help` lists them; a group is
 * listed where its first command appears. */
static const aw_cli_cmd s_cmds[] = {
    {"picture", "Situational picture",
     "the county as a coloured tree: alarms, hazards, devices, links", aw_cli_picture_help,
     aw_cli_picture},
    {"alarms", "Situational picture", "list active (or recent) alarms", aw_cli_alarms_help,
     aw_cli_alarms},
    {"alarm ack", "Situational picture", "acknowledge an alarm (down to its edge)",
     aw_cli_alarm_ack_help, aw_cli_alarm_ack},
    {"device", "Situational picture", "one device: state, latest readings, history",
     aw_cli_device_help, aw_cli_device},
    {"hazards", "Hazard ledger", "list hazards (filters: status, level, overdue, ...)",
     aw_cli_hazards_help, aw_cli_hazards},
    {"hazards show", "Hazard ledger", "one hazard with its ledger, rejected events and reasons",
     aw_cli_hazards_show_help, aw_cli_hazards_show},
    {"hazards report", "Hazard ledger", "report a new hazard", aw_cli_hazards_report_help,
     aw_cli_hazards_report},
    {"hazards assign", "Hazard ledger", "assign: unit, person, deadline (交办)",
     aw_cli_hazards_assign_help, aw_cli_hazards_event},
    {"hazards start", "Hazard ledger", "rectification started", aw_cli_hazards_start_help,
     aw_cli_hazards_event},
    {"hazards rectified", "Hazard ledger", "rectified, with evidence",
     aw_cli_hazards_rectified_help, aw_cli_hazards_event},
    {"hazards verify", "Hazard ledger", "verify: --ok closes (销号), --fail sends back",
     aw_cli_hazards_verify_help, aw_cli_hazards_event},
    {"hazards notify", "Hazard ledger", "record a notification (通报)", aw_cli_hazards_notify_help,
     aw_cli_hazards_event},
    {"hazards note", "Hazard ledger", "add a note", aw_cli_hazards_note_help, aw_cli_hazards_event},
    {"alerts", "Alerts and drills", "list alerts and drills", aw_cli_alerts_help, aw_cli_alerts},
    {"alert show", "Alerts and drills", "one alert with its delivery report",
     aw_cli_alert_show_help, aw_cli_alert_show},
    {"alert issue", "Alerts and drills", "issue a CAP alert to an area", aw_cli_alert_issue_help,
     aw_cli_alert_issue},
    {"alert cancel", "Alerts and drills", "cancel an alert or drill", aw_cli_alert_cancel_help,
     aw_cli_alert_cancel},
    {"drill", "Alerts and drills", "start a drill (an alert with status Exercise)",
     aw_cli_drill_help, aw_cli_drill},
    {"registry import", "Registry", "send a registry file to the center (admin)",
     aw_cli_registry_import_help, aw_cli_registry_import},
    {"registry export", "Registry", "fetch the center's registry as JSON",
     aw_cli_registry_export_help, aw_cli_registry_export},
    {"status", "Replication and health", "the center's health, over the API", aw_cli_status_help,
     aw_cli_status},
    {"edges", "Replication and health", "every edge as the center sees it: link, backlog, skew",
     aw_cli_edges_help, aw_cli_edges},
    {"center status", "Replication and health",
     "per-edge replication state, read from the center's data dir", aw_cli_center_status_help,
     aw_cli_center_status},
    {"edge status", "Replication and health", "health of one edge, asked over CoAP (GET /status)",
     aw_cli_edge_status_help, aw_cli_edge_status},
    {"keygen", "Keys and certificates", "make a CURVE certificate pair for an edge or the center",
     aw_cli_keygen_help, aw_cli_keygen},
};

#define S_NCMDS (sizeof s_cmds / sizeof s_cmds[0])

static const char s_intro[] =
    "anwang - operator CLI of the anwang work-safety monitoring system\n"
    "\n"
    "Usage: anwang [--color=WHEN] COMMAND [ARGS...]\n"
    "       anwang help COMMAND       how to use one command (or: anwang COMMAND --help)\n";

static const char s_outro[] =
    "Options\n"
    "  --color=WHEN      colours: auto (on a terminal, unless NO_COLOR is set), always, never\n"
    "  -h, --help        this help\n"
    "  -V, --version     the version\n"
    "\n"
    "The center's API: --api URL or $ANWANG_API (default http://127.0.0.1:8080); token\n"
    "--token T or $ANWANG_TOKEN, else $ANWANG_TOKEN_VIEWER / _OPERATOR / _ADMIN by what\n"
    "the command needs, so after '. demo-county/env' the commands just work.\n"
    "\n"
    "Examples\n"
    "  . demo-county/env; anwang picture\n"
    "  anwang alarms --root yueyang/rongjiawan --level orange\n"
    "  anwang hazards --status open --overdue\n"
    "  anwang hazards show center-0195520b3f000000\n"
    "  anwang drill --event \"evacuation drill\" --area yueyang/rongjiawan\n"
    "  anwang registry import county.json\n"
    "  anwang edge status coap://127.0.1.1:5683 --json | jq .backlog\n"
    "  anwang keygen rongjiawan-1 --zone yueyang/rongjiawan --out /etc/anwang/keys\n"
    "\n"
    "Read commands take --json: stable keys, for scripts. Exit codes (sysexits.h): 0 ok,\n"
    "64 usage, 65 bad data (the center refused it: 400, 409), 66 missing input or not\n"
    "found (404), 69 unreachable, 73 cannot create, 77 no permission (401, 403), 70\n"
    "internal or center error.\n";

void aw_cli_help(const aw_cli_cmd *cmd)
{
    fputs(cmd->help, stdout);
}

int aw_cli_usage_error(const aw_cli_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "anwang %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'anwang help %s'.\n", cmd->name);
    va_end(ap);
    return EX_USAGE;
}

int aw_cli_bad_option(const aw_cli_cmd *cmd, char **argv, int c)
{
    const char *arg = argv[optind - 1];
    char shortopt[3] = {'-', (char)optopt, '\0'};
    if (optopt != 0 && strncmp(arg, "--", 2) != 0)
        arg = shortopt;
    if (c == ':')
        return aw_cli_usage_error(cmd, "%s needs a value", arg);
    return aw_cli_usage_error(cmd, "unknown option %s", arg);
}

/* Prints the command list, grouped, each group once in table order. */
static void s_list(FILE *f, const char *prefix)
{
    size_t plen = prefix ? strlen(prefix) : 0;
    for (size_t i = 0; i < S_NCMDS; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen = seen || strcmp(s_cmds[j].group, s_cmds[i].group) == 0;
        if (seen)
            continue;
        bool header = false;
        for (size_t j = i; j < S_NCMDS; j++) {
            const aw_cli_cmd *c = &s_cmds[j];
            if (strcmp(c->group, s_cmds[i].group) != 0 ||
                strncmp(c->name, prefix ? prefix : "", plen))
                continue;
            if (!header)
                fprintf(f, "\n%s\n", c->group);
            header = true;
            fprintf(f, "  %-17s  %s\n", c->name, c->summary);
        }
    }
    fputc('\n', f);
}

static void s_usage(FILE *f)
{
    fputs(s_intro, f);
    s_list(f, NULL);
    fputs(s_outro, f);
}

/* How many leading words of argv spell @p name; 0 when they don't. */
static int s_words(const char *name, int argc, char **argv)
{
    int n = 0;
    const char *p = name;
    while (*p) {
        size_t w = strcspn(p, " ");
        if (n >= argc || strlen(argv[n]) != w || strncmp(argv[n], p, w) != 0)
            return 0;
        n++;
        p += w;
        p += *p == ' ';
    }
    return n;
}

/* The command whose name is the longest run of argv's leading words. */
static const aw_cli_cmd *s_find(int argc, char **argv, int *used)
{
    const aw_cli_cmd *best = NULL;
    *used = 0;
    for (size_t i = 0; i < S_NCMDS; i++) {
        int n = s_words(s_cmds[i].name, argc, argv);
        if (n > *used) {
            *used = n;
            best = &s_cmds[i];
        }
    }
    return best;
}

/* Levenshtein distance of two short strings (longer ones compare as far apart). */
static size_t s_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t sub = diag + (a[i - 1] != b[j - 1]);
            size_t del = row[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            diag = up;
        }
    }
    return row[lb];
}

/* Distance of word @p i of @p name (words split by one space) to @p typed. */
static size_t s_word_distance(const char *name, int i, const char *typed)
{
    char w[64];
    const char *p = name;
    for (; i > 0 && p != NULL; i--)
        p = (p = strchr(p, ' ')) != NULL ? p + 1 : NULL;
    if (p == NULL)
        return 0;
    size_t n = strcspn(p, " ");
    snprintf(w, sizeof w, "%.*s", (int)(n < sizeof w ? n : sizeof w - 1), p);
    return s_distance(w, typed);
}

/* The command nearest to argv's first one or two words, or NULL when none is near. */
static const aw_cli_cmd *s_nearest(int argc, char **argv)
{
    const aw_cli_cmd *best = NULL;
    size_t bestd = (size_t)-1;
    for (size_t i = 0; i < S_NCMDS; i++) {
        size_t d = s_word_distance(s_cmds[i].name, 0, argv[0]);
        if (strchr(s_cmds[i].name, ' ') != NULL && argc > 1 && argv[1][0] != '-')
            d += s_word_distance(s_cmds[i].name, 1, argv[1]);
        if (d < bestd) {
            bestd = d;
            best = &s_cmds[i];
        }
    }
    return bestd <= strlen(argv[0]) / 3 + 2 ? best : NULL;
}

/* True when some command's name starts with the word @p w ("center"). */
static bool s_is_prefix_word(const char *w)
{
    size_t n = strlen(w);
    for (size_t i = 0; i < S_NCMDS; i++)
        if (strncmp(s_cmds[i].name, w, n) == 0 && s_cmds[i].name[n] == ' ')
            return true;
    return false;
}

/* Reports an unknown command with the nearest one; returns EX_USAGE. */
static int s_unknown(int argc, char **argv)
{
    bool group = s_is_prefix_word(argv[0]);
    if (group && (argc == 1 || argv[1][0] == '-')) {
        fprintf(stderr, "anwang %s: needs a subcommand\n", argv[0]);
    } else if (group) {
        fprintf(stderr, "anwang %s: unknown subcommand '%s'\n", argv[0], argv[1]);
    } else {
        fprintf(stderr, "anwang: unknown command '%s'\n", argv[0]);
    }
    const aw_cli_cmd *near = s_nearest(argc, argv);
    if (near != NULL && !(group && (argc == 1 || argv[1][0] == '-')))
        fprintf(stderr, "Did you mean 'anwang %s'?\n", near->name);
    if (group) {
        char prefix[72];
        snprintf(prefix, sizeof prefix, "%.60s ", argv[0]);
        s_list(stderr, prefix);
    }
    fprintf(stderr, "Run 'anwang --help' for the list of commands.\n");
    return EX_USAGE;
}

/* `anwang help [COMMAND...]`. */
static int s_help(int argc, char **argv)
{
    int used = 0;
    if (argc == 0) {
        s_usage(stdout);
        return EX_OK;
    }
    const aw_cli_cmd *cmd = s_find(argc, argv, &used);
    if (cmd != NULL) {
        aw_cli_help(cmd);
        return EX_OK;
    }
    if (argc == 1 && s_is_prefix_word(argv[0])) {
        char prefix[72];
        snprintf(prefix, sizeof prefix, "%s ", argv[0]);
        printf("Commands of 'anwang %s':\n", argv[0]);
        s_list(stdout, prefix);
        return EX_OK;
    }
    return s_unknown(argc, argv);
}

/* Runs @p cmd with argv[used..]; argv[0] of the handler is the command's name. */
static int s_run(const aw_cli_cmd *cmd, int argc, char **argv, int used)
{
    int n = argc - used + 1;
    char **args = calloc((size_t)n + 1, sizeof *args);
    if (args == NULL) {
        aw_cli_err("out of memory");
        return EX_OSERR;
    }
    args[0] = (char *)cmd->name;
    for (int i = 1; i < n; i++)
        args[i] = argv[used + i - 1];
    optind = 0; /* glibc: a full getopt reset for the handler */
    opterr = 0;
    int rc = cmd->run(cmd, n, args);
    free(args);
    return rc;
}

/* Global options before the command; returns -1 to go on, else an exit code. */
static int s_globals(int argc, char **argv, int *first)
{
    static const struct option opts[] = {{"color", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    aw_cli_color_mode mode = AW_CLI_COLOR_AUTO;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
        if (c == 'h') {
            aw_cli_out_init(mode);
            s_usage(stdout);
            return EX_OK;
        }
        if (c == 'V') {
            printf("anwang %s\n", AW_VERSION);
            return EX_OK;
        }
        if (c == 'c' && !aw_cli_color_parse(optarg, &mode)) {
            fprintf(stderr, "anwang: --color takes auto, always or never, not '%s'\n", optarg);
            return EX_USAGE;
        }
        if (c == '?') {
            fprintf(stderr, "anwang: unknown option or missing value: %s\n", argv[optind - 1]);
            fprintf(stderr, "Run 'anwang --help' for the options and commands.\n");
            return EX_USAGE;
        }
    }
    aw_cli_out_init(mode);
    *first = optind;
    return -1;
}

int main(int argc, char **argv)
{
    int first = 1, used = 0;
    int rc = s_globals(argc, argv, &first);
    if (rc >= 0)
        return rc;
    argc -= first;
    argv += first;
    if (argc == 0) {
        s_usage(stderr);
        return EX_USAGE;
    }
    if (strcmp(argv[0], "help") == 0)
        return s_help(argc - 1, argv + 1);
    const aw_cli_cmd *cmd = s_find(argc, argv, &used);
    if (cmd == NULL)
        return s_unknown(argc, argv);
    return s_run(cmd, argc, argv, used);
}
