/**
 * @file cli_http.h
 * @brief The `anwang` CLI's client of the center's HTTP API (center/API.md):
 * where to connect, which token to send, one request, and what a failed one
 * means as a message and a sysexits.h code.
 *
 * The only libcurl user of the CLI. A command fills an aw_cli_conn from its
 * options (aw_cli_api_getopt(); aw_cli_api_args() when it has no others of its
 * own), then calls aw_cli_api_call(), which resolves the token for the role
 * the request needs, does the request and, when the answer is not a 2xx JSON
 * document, prints what went wrong and what to do next, and returns the exit
 * code:
 *
 * | outcome                              | exit                |
 * |--------------------------------------|---------------------|
 * | 2xx with a JSON body                 | -1 (go on)          |
 * | 400, 409, 413, 415                   | EX_DATAERR (65)     |
 * | 404                                  | EX_NOINPUT (66)     |
 * | 401, 403, no token at all            | EX_NOPERM (77)      |
 * | connection refused, timeout, DNS     | EX_UNAVAILABLE (69) |
 * | 5xx, any other status, not JSON      | EX_SOFTWARE (70)    |
 *
 * Token, first found: --token, $ANWANG_TOKEN, then the demo county's role
 * variables (SPEC §10 DIR/env): $ANWANG_TOKEN_VIEWER for reads,
 * $ANWANG_TOKEN_OPERATOR for hazard, alarm and alert writes,
 * $ANWANG_TOKEN_ADMIN for the registry import; a higher role's variable
 * serves a lower role's request when the lower one is unset.
 */
#ifndef AW_CLI_HTTP_H
#define AW_CLI_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/** The API's default base URL (the demo county's center). */
#define AW_CLI_API_DEFAULT "http://127.0.0.1:8080"

/** Role a request needs (center/API.md); picks the token variable. */
typedef enum aw_cli_role {
    AW_CLI_VIEWER = 0,
    AW_CLI_OPERATOR,
    AW_CLI_ADMIN,
} aw_cli_role;

/** Connection options of one command. Strings are borrowed (argv, environ). */
typedef struct aw_cli_conn {
    const char *api;   /**< --api, else $ANWANG_API, else AW_CLI_API_DEFAULT */
    const char *token; /**< --token, or NULL: from the environment */
    bool json;         /**< --json: print the answer's JSON */
    long timeout_ms;   /**< total time of one request; 0 = 30 s */
} aw_cli_conn;

/** getopt_long() values of the shared options. */
enum { AW_CLI_O_API = 1000, AW_CLI_O_TOKEN, AW_CLI_O_JSON };

/** The shared long options, for a command's option table. */
#define AW_CLI_CONN_OPTIONS                                                                        \
    {"api", required_argument, NULL, AW_CLI_O_API},                                                \
        {"token", required_argument, NULL, AW_CLI_O_TOKEN},                                        \
    {                                                                                              \
        "json", no_argument, NULL, AW_CLI_O_JSON                                                   \
    }

/** Help lines of the shared options (the `--json` line only for commands that print). */
#define AW_CLI_CONN_HELP                                                                           \
    "      --api URL          the center's API (default $ANWANG_API, else " AW_CLI_API_DEFAULT     \
    ")\n"                                                                                          \
    "      --token T          bearer token (default $ANWANG_TOKEN, else the demo's role\n"         \
    "                         variable, e.g. $ANWANG_TOKEN_VIEWER from DIR/env)\n"

/** The help's end after a command's own options: the shared ones, -h, and the
 * "Examples" heading. */
#define AW_CLI_HELP_TAIL                                                                           \
    AW_CLI_CONN_HELP "  -h, --help             this help\n"                                        \
                     "\n"                                                                          \
                     "Examples\n"

/** AW_CLI_HELP_TAIL with the `--json` line of a read command. */
#define AW_CLI_READ_HELP                                                                           \
    "      --json             print the center's JSON, indented (for scripts)\n" AW_CLI_HELP_TAIL

/** AW_CLI_HELP_TAIL with the `--json` line of a write command. */
#define AW_CLI_WRITE_HELP                                                                          \
    "      --json             print the center's answer as JSON\n" AW_CLI_HELP_TAIL

/** A command's long options: the shared ones and --help, then the command's own
 * (end the table with {NULL, 0, NULL, 0}). */
#define AW_CLI_API_OPTIONS                                                                         \
    AW_CLI_CONN_OPTIONS,                                                                           \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

struct aw_cli_cmd;

/** Sets the defaults: API from $ANWANG_API, no token, no JSON, 30 s. */
void aw_cli_conn_init(aw_cli_conn *conn);

/**
 * Applies the shared option @p c (AW_CLI_O_*) with @p arg. Returns true when
 * @p c was one of them.
 */
bool aw_cli_conn_opt(aw_cli_conn *conn, int c, const char *arg);

/**
 * The options every API command shares, inside its getopt_long() loop (an
 * optstring starting with ':' and containing 'h'): the AW_CLI_O_* ones,
 * -h/--help (prints @p cmd's help) and an unknown option or missing value
 * (a usage error). Returns true when @p c was one of them, setting *rc to
 * the exit code when the command should end now (help, usage error).
 */
bool aw_cli_api_getopt(const struct aw_cli_cmd *cmd, char **argv, int c, aw_cli_conn *conn,
                       int *rc);

/**
 * Parses a command that has only the shared options and @p npos positional
 * arguments: fewer is the usage error "missing @p missing", more is @p extra
 * (or, when NULL, "unexpected argument 'ARG'"). On success *first is the
 * index of the first positional argument. Returns -1 to go on, else the
 * exit code (help, usage error).
 */
int aw_cli_api_args(const struct aw_cli_cmd *cmd, int argc, char **argv, aw_cli_conn *conn,
                    int npos, const char *missing, const char *extra, int *first);

/**
 * "@p base/<escaped id>@p tail" into @p path of @p len bytes ("/api/v1/hazards",
 * "h1", "/events"); false when it does not fit or out of memory.
 */
bool aw_cli_id_path(const char *base, const char *id, const char *tail, char *path, size_t len);

/** One request: what to send. Strings borrowed for the call. */
typedef struct aw_cli_request {
    const char *method;  /**< "GET", "POST", "PUT" */
    const char *path;    /**< "/api/v1/...", query included, already escaped */
    const char *body;    /**< JSON text, or NULL for none */
    size_t body_len;     /**< bytes of body */
    aw_cli_role role;    /**< which token variable serves it */
    const char *subject; /**< what the path names, for messages: "hazard X" (or NULL) */
    const char *hint404; /**< what to do after a 404 (a hint line), or NULL */
} aw_cli_request;

/**
 * Does @p req against @p conn's API. On a 2xx answer whose body is JSON,
 * sets *out to it (the caller's: json_decref()) and returns -1. Otherwise
 * prints the error (the center's "error", "detail" and, for 400, each line
 * of "errors") with a hint on stderr and returns the exit code of the table
 * in the file comment; *out is NULL.
 */
int aw_cli_api_call(const aw_cli_conn *conn, const aw_cli_request *req, json_t **out);

/**
 * Same as aw_cli_api_call() but hands back the raw 2xx body instead of
 * parsing it: *body is malloc'd and NUL-terminated (the caller frees it),
 * *len its length.
 */
int aw_cli_api_call_raw(const aw_cli_conn *conn, const aw_cli_request *req, char **body,
                        size_t *len);

/**
 * URL-escapes @p s as one path segment or query value into a new string
 * (the caller frees it with free()); NULL when out of memory.
 */
char *aw_cli_escape(const char *s);

/**
 * Appends "&KEY=VALUE" (or "?KEY=VALUE" for the first) to the query in
 * @p buf of @p len bytes, escaping VALUE; nothing when @p value is NULL.
 * Returns false when it does not fit.
 */
bool aw_cli_query_add(char *buf, size_t len, const char *key, const char *value);

/** A query parameter: its key and value (NULL: left out). */
typedef struct aw_cli_param {
    const char *key, *value;
} aw_cli_param;

/**
 * aw_cli_query_add() of each of the @p n parameters in turn. Returns false
 * when one does not fit.
 */
bool aw_cli_query_addv(char *buf, size_t len, const aw_cli_param *params, size_t n);

/**
 * Prints the answer of a command: its JSON pretty when conn->json, else
 * through @p human (a pure formatter, cli_fmt.h) at now. Returns EX_OK, or
 * EX_IOERR when stdout could not be written.
 */
int aw_cli_print_answer(const aw_cli_conn *conn, const json_t *answer,
                        void (*human)(const json_t *, long long now_ms, FILE *f));

/**
 * aw_cli_api_call() then aw_cli_print_answer(): the whole of a read command
 * once its request is made. Returns the exit code.
 */
int aw_cli_api_show(const aw_cli_conn *conn, const aw_cli_request *req,
                    void (*human)(const json_t *, long long now_ms, FILE *f));

/**
 * Sends @p body (a JSON object, stolen; NULL when it could not be made) as
 * @p req's body, then prints the answer like aw_cli_api_show(). When @p body
 * is NULL or cannot be written as JSON text, says "@p what are not valid
 * UTF-8 text" and returns EX_DATAERR. Returns the exit code.
 */
int aw_cli_api_send(const aw_cli_conn *conn, aw_cli_request *req, json_t *body, const char *what,
                    void (*human)(const json_t *, long long now_ms, FILE *f));

/** A command on one object by id: GET it, or POST to one of its paths. */
typedef struct aw_cli_one {
    const char *noun;    /**< "hazard": messages ("missing the hazard ID", "hazard X") */
    const char *base;    /**< "/api/v1/hazards" */
    const char *tail;    /**< after the id: "" or "/cancel" */
    const char *method;  /**< "GET", "POST" */
    aw_cli_role role;    /**< which token variable serves it */
    const char *hint404; /**< what to do after a 404 */
    void (*human)(const json_t *, long long now_ms, FILE *f);
} aw_cli_one;

/**
 * The whole of a command that takes the shared options and one ID, and
 * sends no body: parses, does @p one's request on the ID, prints the
 * answer. Returns the exit code.
 */
int aw_cli_api_one(const struct aw_cli_cmd *cmd, int argc, char **argv, const aw_cli_one *one);

/**
 * Parses @p text as a decimal integer in [@p min, @p max] into *out.
 * Returns true on success, false (having printed nothing) otherwise.
 */
bool aw_cli_parse_long(const char *text, long min, long max, long *out);

#endif
