/* cli_http.c: the CLI's libcurl client of the center's HTTP API, and how a
 * failed request reads on the terminal (messages, hints, exit codes). */
#include "cli_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "cli_out.h"

#define S_CONNECT_MS 5000L
#define S_TOTAL_MS   30000L
#define S_BODY_MAX   (64u << 20) /* largest answer kept: a registry export fits */

#define S_TOKEN_HINT "set ANWANG_TOKEN or pass --token (source demo-county/env for the demo)"

/* The answer's body as it arrives. */
typedef struct s_buf {
    char *data;
    size_t len, cap;
    bool too_big;
} s_buf;

/* One finished exchange: the status, or curl's error when there was none. */
typedef struct s_resp {
    long status;
    CURLcode curl;
    char curl_err[CURL_ERROR_SIZE];
    s_buf body;
} s_resp;

void aw_cli_conn_init(aw_cli_conn *conn)
{
    const char *api = getenv("ANWANG_API");
    *conn = (aw_cli_conn){.api = api != NULL && *api ? api : AW_CLI_API_DEFAULT};
}

bool aw_cli_conn_opt(aw_cli_conn *conn, int c, const char *arg)
{
    if (c == AW_CLI_O_API)
        conn->api = arg;
    else if (c == AW_CLI_O_TOKEN)
        conn->token = arg;
    else if (c == AW_CLI_O_JSON)
        conn->json = true;
    else
        return false;
    return true;
}

bool aw_cli_api_getopt(const aw_cli_cmd *cmd, char **argv, int c, aw_cli_conn *conn, int *rc)
{
    if (aw_cli_conn_opt(conn, c, optarg))
        return true;
    if (c == 'h') {
        aw_cli_help(cmd);
        *rc = EX_OK;
        return true;
    }
    if (c == '?' || c == ':') {
        *rc = aw_cli_bad_option(cmd, argv, c);
        return true;
    }
    return false;
}

int aw_cli_api_args(const aw_cli_cmd *cmd, int argc, char **argv, aw_cli_conn *conn, int npos,
                    const char *missing, const char *extra, int *first)
{
    static const struct option opts[] = {AW_CLI_API_OPTIONS, {NULL, 0, NULL, 0}};
    int c, rc = -1;
    aw_cli_conn_init(conn);
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
        if (aw_cli_api_getopt(cmd, argv, c, conn, &rc) && rc >= 0)
            return rc;
    if (argc - optind < npos)
        return aw_cli_usage_error(cmd, "missing %s", missing);
    if (argc - optind > npos && extra != NULL)
        return aw_cli_usage_error(cmd, "%s", extra);
    if (argc - optind > npos)
        return aw_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + npos]);
    *first = optind;
    return -1;
}

/* The token for @p role and where it came from (for messages); NULL when none is set. */
static const char *s_token(const aw_cli_conn *conn, aw_cli_role role, const char **from)
{
    static const char *const vars[] = {"ANWANG_TOKEN_VIEWER", "ANWANG_TOKEN_OPERATOR",
                                       "ANWANG_TOKEN_ADMIN"};
    const char *t = getenv("ANWANG_TOKEN");
    *from = "--token";
    if (conn->token != NULL)
        return conn->token;
    *from = "ANWANG_TOKEN";
    if (t != NULL && *t)
        return t;
    for (int r = (int)role; r <= AW_CLI_ADMIN; r++) {
        *from = vars[r];
        if ((t = getenv(vars[r])) != NULL && *t)
            return t;
    }
    *from = NULL;
    return NULL;
}

static size_t s_write(char *ptr, size_t size, size_t n, void *arg)
{
    s_buf *b = arg;
    size_t add = size * n;
    if (b->len + add + 1 > S_BODY_MAX) {
        b->too_big = true;
        return 0;
    }
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + add + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (d == NULL)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* Appends @p line to @p h; on failure frees the list and returns NULL. */
static struct curl_slist *s_append(struct curl_slist *h, const char *line)
{
    struct curl_slist *n = line != NULL ? curl_slist_append(h, line) : NULL;
    if (n == NULL)
        curl_slist_free_all(h);
    return n;
}

/* The request's header list: Accept, no Expect (a registry over 1 MiB goes at
 * once), Content-Type of the body (none without a body, not curl's form
 * default), the bearer token. NULL when out of memory. */
static struct curl_slist *s_headers(const aw_cli_request *req, const char *token)
{
    char *auth = NULL;
    struct curl_slist *h = s_append(NULL, "Accept: application/json");
    h = h ? s_append(h, "Expect:") : NULL;
    h = h ? s_append(h, req->body ? "Content-Type: application/json" : "Content-Type:") : NULL;
    if (h != NULL && token != NULL) {
        if (asprintf(&auth, "Authorization: Bearer %s", token) < 0)
            auth = NULL;
        h = s_append(h, auth);
        free(auth);
    }
    return h;
}

/* Sets the easy handle up for @p req to @p url. */
static void s_setup(CURL *c, const aw_cli_conn *conn, const aw_cli_request *req, const char *url,
                    struct curl_slist *h, s_resp *r)
{
    long total = conn->timeout_ms > 0 ? conn->timeout_ms : S_TOTAL_MS;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, S_CONNECT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->curl_err);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "anwang-cli");
    if (req->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
}

/* Does the exchange; r->status is 0 when there was no answer (r->curl says why). */
static void s_exchange(const aw_cli_conn *conn, const aw_cli_request *req, const char *token,
                       s_resp *r)
{
    char *url = NULL;
    size_t blen = strlen(conn->api);
    while (blen > 0 && conn->api[blen - 1] == '/')
        blen--;
    struct curl_slist *h = s_headers(req, token);
    CURL *c = curl_easy_init();
    r->curl = CURLE_OUT_OF_MEMORY;
    if (c != NULL && h != NULL && asprintf(&url, "%.*s%s", (int)blen, conn->api, req->path) >= 0) {
        s_setup(c, conn, req, url, h, r);
        r->curl = curl_easy_perform(c);
        if (r->curl == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        free(url);
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
}

/* ------------------------------------------------------------ failures */

static bool s_unreachable(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
           rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_OPERATION_TIMEDOUT ||
           rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
           rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION;
}

/* Says why there was no answer; returns the exit code. */
static int s_no_answer(const aw_cli_conn *conn, const s_resp *r)
{
    const char *why = r->curl_err[0] ? r->curl_err : curl_easy_strerror(r->curl);
    if (r->body.too_big) {
        aw_cli_err("the answer of %s is over %u MiB; not read", conn->api, S_BODY_MAX >> 20);
        return EX_SOFTWARE;
    }
    if (r->curl == CURLE_URL_MALFORMAT || r->curl == CURLE_UNSUPPORTED_PROTOCOL) {
        aw_cli_err("'%s' is not an API URL (%s)", conn->api, why);
        aw_cli_hint("--api takes http://HOST:PORT, e.g. " AW_CLI_API_DEFAULT);
        return EX_USAGE;
    }
    if (!s_unreachable(r->curl)) {
        aw_cli_err("request to %s failed: %s", conn->api, why);
        return EX_SOFTWARE;
    }
    aw_cli_err("cannot reach the center at %s: %s", conn->api, why);
    aw_cli_hint("is anwang-center running, with [http] bind on that address? Check --api or\n"
                "        $ANWANG_API (the demo county writes it to DIR/env: . demo-county/env)");
    return EX_UNAVAILABLE;
}

/* Prints each entry of the 400 answer's "errors" (strings or {"path", "message"}). */
static void s_errors(const json_t *errors)
{
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *path = json_string_value(json_object_get(e, "path"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        if (json_is_string(e))
            fprintf(stderr, "  %s\n", json_string_value(e));
        else if (path != NULL || msg != NULL)
            fprintf(stderr, "  %s: %s\n", path ? path : "$", msg ? msg : "invalid");
        else {
            char *t = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
            fprintf(stderr, "  %s\n", t ? t : "?");
            free(t);
        }
    }
}

static const char *s_reason(long status)
{
    switch (status) {
    case 400:
        return "bad request";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "not found";
    case 405:
        return "method not allowed";
    case 409:
        return "conflict";
    case 413:
        return "too large";
    case 415:
        return "unsupported media type";
    default:
        return status >= 500 ? "server error" : "unexpected status";
    }
}

/* The hint of a refused request and its exit code. */
static int s_status_hint(const aw_cli_request *req, long status, const char *from)
{
    static const char *const roles[] = {"viewer", "operator", "admin"};
    static const char *const vars[] = {"ANWANG_TOKEN_VIEWER", "ANWANG_TOKEN_OPERATOR",
                                       "ANWANG_TOKEN_ADMIN"};
    if (status == 401) {
        if (from != NULL)
            aw_cli_hint("the token from %s is unknown to the center; %s", from, S_TOKEN_HINT);
        else
            aw_cli_hint("no token was sent: %s;\n        without them this command uses $%s "
                        "(or a higher role's)",
                        S_TOKEN_HINT, vars[req->role]);
        return EX_NOPERM;
    }
    if (status == 403) {
        aw_cli_hint("this needs the %s role (or a higher one): pass such a token with --token,\n"
                    "        or set ANWANG_TOKEN or %s",
                    roles[req->role], vars[req->role]);
        return EX_NOPERM;
    }
    if (status == 404) {
        if (req->hint404 != NULL)
            aw_cli_hint("%s", req->hint404);
        return EX_NOINPUT;
    }
    if (status == 400 || status == 409 || status == 413 || status == 415) {
        if (status == 409)
            aw_cli_hint("nothing was changed; look at the current state and try what it allows");
        else
            aw_cli_hint("nothing was changed; fix the request and send it again");
        return EX_DATAERR;
    }
    aw_cli_hint("the center failed or answered what this CLI does not expect; see its log\n"
                "        (journalctl -u anwang-center) and 'anwang status'");
    return EX_SOFTWARE;
}

/* Prints a non-2xx answer (or a 2xx that is not JSON); returns the exit code. */
static int s_refused(const aw_cli_request *req, const s_resp *r, const char *from)
{
    json_t *j = r->body.data ? json_loads(r->body.data, 0, NULL) : NULL;
    const char *err = json_string_value(json_object_get(j, "error"));
    const char *detail = json_string_value(json_object_get(j, "detail"));
    char what[320];
    snprintf(what, sizeof what, "%s", req->subject ? req->subject : req->path);
    if (r->status / 100 == 2) {
        aw_cli_err("%s: the answer (%ld) is not JSON", what, r->status);
        json_decref(j);
        return EX_SOFTWARE;
    }
    if (detail != NULL && err != NULL)
        aw_cli_err("%s: %ld %s: %s (%s)", what, r->status, s_reason(r->status), detail, err);
    else
        aw_cli_err("%s: %ld %s%s%s", what, r->status, s_reason(r->status),
                   detail || err ? ": " : "",
                   detail ? detail
                   : err  ? err
                          : "");
    if (!json_is_object(j) && r->body.len > 0 && r->body.len < 400)
        fprintf(stderr, "  %s\n", r->body.data);
    if (json_is_array(json_object_get(j, "errors")))
        s_errors(json_object_get(j, "errors"));
    json_decref(j);
    return s_status_hint(req, r->status, from);
}

/* ------------------------------------------------------------ calls */

/* True when @p t can go in an Authorization header: printable ASCII, no spaces. */
static bool s_token_ok(const char *t)
{
    for (; *t; t++)
        if (*t <= ' ' || *t > '~')
            return false;
    return true;
}

static int s_call(const aw_cli_conn *conn, const aw_cli_request *req, s_resp *r)
{
    const char *from = NULL;
    const char *token = s_token(conn, req->role, &from);
    if (token != NULL && !s_token_ok(token)) {
        aw_cli_err("the token from %s has spaces or characters a bearer token cannot have", from);
        aw_cli_hint("tokens are the first word of a line of the center's tokens file");
        return EX_USAGE;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        aw_cli_err("cannot initialise libcurl");
        return EX_SOFTWARE;
    }
    s_exchange(conn, req, token, r);
    if (r->status == 0)
        return s_no_answer(conn, r);
    if (r->status / 100 != 2)
        return s_refused(req, r, from);
    return -1;
}

int aw_cli_api_call_raw(const aw_cli_conn *conn, const aw_cli_request *req, char **body,
                        size_t *len)
{
    s_resp r = {0};
    int rc = s_call(conn, req, &r);
    *body = NULL;
    *len = 0;
    if (rc >= 0) {
        free(r.body.data);
        return rc;
    }
    *body = r.body.data ? r.body.data : strdup("");
    *len = r.body.len;
    return *body != NULL ? -1 : EX_OSERR;
}

int aw_cli_api_call(const aw_cli_conn *conn, const aw_cli_request *req, json_t **out)
{
    s_resp r = {0};
    json_error_t e;
    int rc = s_call(conn, req, &r);
    *out = NULL;
    if (rc < 0) {
        *out = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, &e);
        if (*out == NULL) {
            rc = s_refused(req, &r, NULL);
        }
    }
    free(r.body.data);
    return rc;
}

char *aw_cli_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *copy = e ? strdup(e) : NULL;
    curl_free(e);
    return copy;
}

bool aw_cli_id_path(const char *base, const char *id, const char *tail, char *path, size_t len)
{
    char *e = aw_cli_escape(id);
    int n = e ? snprintf(path, len, "%s/%s%s", base, e, tail) : -1;
    free(e);
    return n > 0 && (size_t)n < len;
}

bool aw_cli_query_add(char *buf, size_t len, const char *key, const char *value)
{
    if (value == NULL)
        return true;
    char *e = aw_cli_escape(value);
    size_t used = strlen(buf);
    int n =
        e ? snprintf(buf + used, len - used, "%c%s=%s", strchr(buf, '?') ? '&' : '?', key, e) : -1;
    free(e);
    if (n < 0 || (size_t)n >= len - used) {
        buf[used] = '\0';
        return false;
    }
    return true;
}

bool aw_cli_query_addv(char *buf, size_t len, const aw_cli_param *params, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!aw_cli_query_add(buf, len, params[i].key, params[i].value))
            return false;
    return true;
}

int aw_cli_print_answer(const aw_cli_conn *conn, const json_t *answer,
                        void (*human)(const json_t *, long long now_ms, FILE *f))
{
    if (conn->json)
        return aw_cli_json_print(answer, stdout) == 0 ? EX_OK : EX_IOERR;
    human(answer, (long long)aw_cli_now_ms(), stdout);
    return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}

int aw_cli_api_show(const aw_cli_conn *conn, const aw_cli_request *req,
                    void (*human)(const json_t *, long long now_ms, FILE *f))
{
    json_t *answer = NULL;
    int rc = aw_cli_api_call(conn, req, &answer);
    if (rc < 0)
        rc = aw_cli_print_answer(conn, answer, human);
    json_decref(answer);
    return rc;
}

bool aw_cli_parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int aw_cli_api_send(const aw_cli_conn *conn, aw_cli_request *req, json_t *body, const char *what,
                    void (*human)(const json_t *, long long now_ms, FILE *f))
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) {
        aw_cli_err("%s are not valid UTF-8 text", what);
        return EX_DATAERR;
    }
    req->body = text;
    req->body_len = strlen(text);
    int rc = aw_cli_api_show(conn, req, human);
    free(text);
    req->body = NULL;
    req->body_len = 0;
    return rc;
}

int aw_cli_api_one(const aw_cli_cmd *cmd, int argc, char **argv, const aw_cli_one *one)
{
    aw_cli_conn conn;
    char path[1024], subject[300], missing[64];
    snprintf(missing, sizeof missing, "the %s ID", one->noun);
    int first, rc = aw_cli_api_args(cmd, argc, argv, &conn, 1, missing, "one ID only", &first);
    if (rc >= 0)
        return rc;
    if (!aw_cli_id_path(one->base, argv[first], one->tail, path, sizeof path))
        return aw_cli_usage_error(cmd, "the ID is too long");
    snprintf(subject, sizeof subject, "%s %.200s", one->noun, argv[first]);
    aw_cli_request req = {.method = one->method,
                          .path = path,
                          .role = one->role,
                          .subject = subject,
                          .hint404 = one->hint404};
    return aw_cli_api_show(&conn, &req, one->human);
}
