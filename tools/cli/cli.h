/**
 * @file cli.h
 * @brief The `anwang` operator CLI: its command table and what every
 * command handler shares.
 *
 * A command is a row of the table in cli_main.c: a name of one or more
 * words ("keygen", "center status", later "alarm ack", "hazards report"),
 * the group it is listed under in `anwang --help`, a one-line summary, and
 * its handler and help text, which live in the file of its command group
 * (cli_keygen.c, cli_center.c, cli_edge.c, ...). The dispatcher matches the
 * longest name whose words begin argv, then calls the handler with the
 * remaining arguments; argv[0] is the full command name, so getopt_long()
 * works as in any main().
 *
 * Handlers return a sysexits.h code: EX_OK, EX_USAGE (bad arguments),
 * EX_DATAERR (bad data), EX_NOINPUT (a missing input or data dir),
 * EX_UNAVAILABLE (the edge or center cannot be reached), EX_CANTCREAT (a
 * file exists or cannot be written), EX_NOPERM, EX_SOFTWARE.
 */
#ifndef AW_CLI_H
#define AW_CLI_H

#include <stdbool.h>

typedef struct aw_cli_cmd aw_cli_cmd;

/**
 * Runs a command. argv[0] is the command's name, argv[argc] is NULL; both
 * are borrowed for the call. Returns a sysexits.h code.
 */
typedef int (*aw_cli_run_fn)(const aw_cli_cmd *cmd, int argc, char **argv);

/** One row of the command table. All strings are static. */
struct aw_cli_cmd {
    const char *name;    /**< one or more words: "center status" */
    const char *group;   /**< heading in `anwang --help` */
    const char *summary; /**< one line, no final period */
    const char *help;    /**< full help: usage, what it does, options, examples */
    aw_cli_run_fn run;
};

/**
 * Prints @p cmd's help to stdout. Handlers call it for -h/--help and
 * return EX_OK.
 */
void aw_cli_help(const aw_cli_cmd *cmd);

/**
 * Reports a usage error on stderr ("anwang NAME: MESSAGE" and a pointer to
 * `anwang help NAME`) and returns EX_USAGE.
 */
int aw_cli_usage_error(const aw_cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * Reports an unknown option (@p c = '?') or a missing option value (@p c =
 * ':', with an optstring that starts with ':') the way aw_cli_usage_error()
 * does, from getopt_long()'s return with opterr = 0. Returns EX_USAGE.
 */
int aw_cli_bad_option(const aw_cli_cmd *cmd, char **argv, int c);

/* ------------------------------------------------------------ handlers */

extern const char aw_cli_keygen_help[];
int aw_cli_keygen(const aw_cli_cmd *cmd, int argc, char **argv);

extern const char aw_cli_center_status_help[];
int aw_cli_center_status(const aw_cli_cmd *cmd, int argc, char **argv);

extern const char aw_cli_edge_status_help[];
int aw_cli_edge_status(const aw_cli_cmd *cmd, int argc, char **argv);

/* Over the center's HTTP API (cli_api.c, cli_hazards.c, cli_alerts.c; cli_http.h). */
extern const char aw_cli_picture_help[];
int aw_cli_picture(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_edges_help[];
int aw_cli_edges(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_device_help[];
int aw_cli_device(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_alarms_help[];
int aw_cli_alarms(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_alarm_ack_help[];
int aw_cli_alarm_ack(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_hazards_help[];
int aw_cli_hazards(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_hazards_show_help[];
int aw_cli_hazards_show(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_hazards_report_help[];
int aw_cli_hazards_report(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_alerts_help[];
int aw_cli_alerts(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_alert_show_help[];
int aw_cli_alert_show(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_alert_issue_help[];
int aw_cli_alert_issue(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_alert_cancel_help[];
int aw_cli_alert_cancel(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_drill_help[];
int aw_cli_drill(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_registry_import_help[];
int aw_cli_registry_import(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_registry_export_help[];
int aw_cli_registry_export(const aw_cli_cmd *cmd, int argc, char **argv);
extern const char aw_cli_status_help[];
int aw_cli_status(const aw_cli_cmd *cmd, int argc, char **argv);

/* The hazard lifecycle events share one handler, which reads the op from the
 * command's name ("hazards assign" -> assign). */
extern const char aw_cli_hazards_assign_help[];
extern const char aw_cli_hazards_start_help[];
extern const char aw_cli_hazards_rectified_help[];
extern const char aw_cli_hazards_verify_help[];
extern const char aw_cli_hazards_notify_help[];
extern const char aw_cli_hazards_note_help[];
int aw_cli_hazards_event(const aw_cli_cmd *cmd, int argc, char **argv);

#endif
