/* Tests of the anwang CLI's center API commands: the human formats of
 * cli_show.c against golden files (fixture answers shaped per center/API.md
 * in golden/api_*.json, colours off and on), and the real `anwang` binary
 * against a small libmicrohttpd server with canned answers on
 * 127.0.11.N:18180+N: the bearer token and its role fallback, exit codes per
 * status, request methods, paths, queries and bodies, --json output. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli_out.h"
#include "cli_run.h"
#include "cli_show.h"
#include "rfc3339.h"

#define GOLDEN AW_TOOLS_TEST_DIR "/golden/"

/* ------------------------------------------------------------ files */

/* The fixture golden/@p name as text (malloc'd). */
static char *s_fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, GOLDEN "%s", name);
    return cli_slurp(path);
}

/* ------------------------------------------------------------ golden formats */

typedef void (*show_fn)(const json_t *, long long, FILE *);

/* "now" of the golden files: 2026-11-30T02:30:00Z. */
static long long s_now(void)
{
    int64_t ms;
    cr_assert_eq(aw_time_parse_rfc3339("2026-11-30T02:30:00Z", &ms), 0);
    return ms;
}

/* Formats fixture @p in with @p fn, colours @p color, into a malloc'd string. */
static char *s_show(show_fn fn, const char *in, bool color)
{
    char *text = s_fixture(in), *out = NULL;
    size_t len = 0;
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    cr_assert_not_null(j, "%s: %s", in, e.text);
    aw_cli_out_init(color ? AW_CLI_COLOR_ALWAYS : AW_CLI_COLOR_NEVER);
    FILE *m = open_memstream(&out, &len);
    fn(j, s_now(), m);
    fclose(m);
    json_decref(j);
    free(text);
    return out;
}

static void s_check_golden(show_fn fn, const char *in, const char *golden, bool color)
{
    char *out = s_show(fn, in, color);
    cli_golden(golden, out);
    if (!color)
        cr_assert_null(strchr(out, '\033'), "%s has escapes with colours off", golden);
    free(out);
}

Test(cli_show, picture_tree_matches_golden)
{
    s_check_golden(aw_cli_show_picture, "api_picture.json", "api_picture.txt", false);
    s_check_golden(aw_cli_show_picture, "api_picture_site.json", "api_picture_site.txt", false);
}

Test(cli_show, picture_colours_per_node)
{
    s_check_golden(aw_cli_show_picture, "api_picture.json", "api_picture_color.txt", true);
    char *out = s_show(aw_cli_show_picture, "api_picture.json", true);
    cr_assert(strstr(out, "\033[31mRED\033[0m"), "%s", out);
    cr_assert(strstr(out, "\033[33mYELLOW\033[0m"), "%s", out);
    cr_assert(strstr(out, "\033[34mBLUE\033[0m"), "%s", out);
    free(out);
    out = s_show(aw_cli_show_picture, "api_picture_site.json", true);
    cr_assert(strstr(out, "\033[38;5;208mORANGE\033[0m"), "%s", out);
    free(out);
}

Test(cli_show, tables_match_golden)
{
    s_check_golden(aw_cli_show_edges, "api_edges.json", "api_edges.txt", false);
    s_check_golden(aw_cli_show_device, "api_device.json", "api_device.txt", false);
    s_check_golden(aw_cli_show_alarms, "api_alarms.json", "api_alarms.txt", false);
    s_check_golden(aw_cli_show_hazards, "api_hazards.json", "api_hazards.txt", false);
    s_check_golden(aw_cli_show_status, "api_status.json", "api_status.txt", false);
    s_check_golden(aw_cli_show_alerts, "api_alerts.json", "api_alerts.txt", false);
    s_check_golden(aw_cli_show_alert, "api_alert.json", "api_alert.txt", false);
}

Test(cli_show, hazard_with_ledger_shows_rejected_events)
{
    s_check_golden(aw_cli_show_hazard, "api_hazard.json", "api_hazard.txt", false);
    s_check_golden(aw_cli_show_hazard, "api_hazard.json", "api_hazard_color.txt", true);
    char *out = s_show(aw_cli_show_hazard, "api_hazard.json", false);
    cr_assert(strstr(out, "6 events, 1 rejected"), "%s", out);
    cr_assert(strstr(out, "rejected: verify needs status rectified, the hazard is reported"), "%s",
              out);
    free(out);
}

Test(cli_show, missing_keys_print_dashes_not_crashes)
{
    static const show_fn fns[] = {
        aw_cli_show_picture, aw_cli_show_edges,  aw_cli_show_device,
        aw_cli_show_alarms,  aw_cli_show_ack,    aw_cli_show_hazards,
        aw_cli_show_hazard,  aw_cli_show_status, aw_cli_show_registry_stored,
        aw_cli_show_alerts,  aw_cli_show_alert};
    static const char *const docs[] = {
        "{}", "{\"root\": {}}", "{\"edges\": [{}], \"alarms\": [{}], \"hazards\": [{}]}",
        "{\"ledger\": [{}], \"latest\": {\"x\": {}}, \"history\": {\"x\": [{}]}, \"report\": {}}",
        "{\"root\": {\"kind\": \"zone\", \"children\": [{\"kind\": 3}], \"link\": {}}}"};
    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        json_t *j = json_loads(docs[d], 0, NULL);
        cr_assert_not_null(j);
        for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
            char *out = NULL;
            size_t len = 0;
            FILE *m = open_memstream(&out, &len);
            fns[i](j, s_now(), m);
            fclose(m);
            cr_assert_gt(len, 0);
            free(out);
        }
        json_decref(j);
    }
}

/* ------------------------------------------------------------ canned API server */

#define S_ROUTES 8

typedef struct route {
    const char *method, *path; /* path without query; "*" = any */
    int status;
    const char *body; /* answer, or NULL for the fixture below */
    char *owned;      /* malloc'd body (fixture) */
    const char *ctype;
} route;

/* The server and the last request it saw. */
typedef struct srv {
    struct MHD_Daemon *d;
    char api[64];
    route routes[S_ROUTES];
    size_t nroutes;
    pthread_mutex_t mu;
    int requests;
    char method[16], uri[2048], auth[512], ctype[128];
    char *body;
    size_t body_len;
} srv;

/* Per connection: the raw URI (query included) and the body so far. */
typedef struct conn_state {
    char uri[2048];
    char *body;
    size_t len;
    bool started; /* the first call (headers only) has been seen */
} conn_state;

static void *s_uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    conn_state *st = calloc(1, sizeof *st);
    if (st != NULL)
        snprintf(st->uri, sizeof st->uri, "%s", uri);
    return st;
}

static void s_done(void *cls, struct MHD_Connection *c, void **con_cls,
                   enum MHD_RequestTerminationCode toe)
{
    conn_state *st = *con_cls;
    if (st != NULL) {
        free(st->body);
        free(st);
    }
    *con_cls = NULL;
}

static const route *s_match(srv *s, const char *method, const char *url)
{
    for (size_t i = 0; i < s->nroutes; i++) {
        const route *r = &s->routes[i];
        if ((strcmp(r->method, "*") == 0 || strcmp(r->method, method) == 0) &&
            (strcmp(r->path, "*") == 0 || strcmp(r->path, url) == 0))
            return r;
    }
    return NULL;
}

/* Records the request, under the lock. */
static void s_record(srv *s, struct MHD_Connection *c, const char *method, conn_state *st)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    pthread_mutex_lock(&s->mu);
    s->requests++;
    snprintf(s->method, sizeof s->method, "%s", method);
    snprintf(s->uri, sizeof s->uri, "%s", st->uri);
    snprintf(s->auth, sizeof s->auth, "%s", auth ? auth : "");
    snprintf(s->ctype, sizeof s->ctype, "%s", ct ? ct : "");
    free(s->body);
    s->body = st->body;
    s->body_len = st->len;
    st->body = NULL;
    pthread_mutex_unlock(&s->mu);
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    srv *s = cls;
    conn_state *st = *con_cls;
    if (st == NULL)
        return MHD_NO;
    if (!st->started) {
        st->started = true;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        char *b = realloc(st->body, st->len + *upload_size + 1);
        if (b == NULL)
            return MHD_NO;
        memcpy(b + st->len, upload, *upload_size);
        st->body = b;
        st->len += *upload_size;
        st->body[st->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    s_record(s, c, method, st);
    const route *r = s_match(s, method, url);
    const char *body = r ? (r->body ? r->body : r->owned) : "{\"error\": \"not found\"}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", r && r->ctype ? r->ctype : "application/json");
    if (r && r->status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    enum MHD_Result rc = MHD_queue_response(c, r ? (unsigned)r->status : 404u, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Starts the server on 127.0.11.@p n, port 18180 + @p n. */
static void s_start(srv *s, int n)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(18180 + n))};
    char host[32];
    snprintf(host, sizeof host, "127.0.11.%d", n);
    cr_assert_eq(inet_pton(AF_INET, host, &sa.sin_addr), 1);
    pthread_mutex_init(&s->mu, NULL);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            s_handler, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_URI_LOG_CALLBACK, s_uri_log, NULL,
                            MHD_OPTION_NOTIFY_COMPLETED, s_done, NULL, MHD_OPTION_END);
    cr_assert_not_null(s->d, "cannot start the test server on %s:%d", host, 18180 + n);
    snprintf(s->api, sizeof s->api, "http://%s:%d", host, 18180 + n);
}

static void s_stop(srv *s)
{
    MHD_stop_daemon(s->d);
    for (size_t i = 0; i < s->nroutes; i++)
        free(s->routes[i].owned);
    free(s->body);
    pthread_mutex_destroy(&s->mu);
}

/* Adds a route answering @p status with @p body, or with fixture @p fixture when body is NULL. */
static void s_route(srv *s, const char *method, const char *path, int status, const char *body,
                    const char *fixture)
{
    cr_assert_lt(s->nroutes, S_ROUTES);
    route *r = &s->routes[s->nroutes++];
    *r = (route){.method = method, .path = path, .status = status, .body = body};
    if (body == NULL)
        r->owned = s_fixture(fixture);
}

/* ------------------------------------------------------------ running anwang */

/* Clears every ANWANG_* variable, then points ANWANG_API at @p api (NULL: unset). */
static void s_env(const char *api)
{
    static const char *const vars[] = {"ANWANG_API", "ANWANG_TOKEN", "ANWANG_TOKEN_VIEWER",
                                       "ANWANG_TOKEN_OPERATOR", "ANWANG_TOKEN_ADMIN"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    if (api != NULL)
        setenv("ANWANG_API", api, 1);
    setenv("NO_COLOR", "1", 1);
    setenv("no_proxy", "*", 1); /* the test server is on loopback, never behind a proxy */
}

/* Starts the server @p n with one route (s_route()) and points the environment at it (s_env()). */
static void s_serve(srv *s, int n, const char *method, const char *path, int status,
                    const char *body, const char *fixture)
{
    s_start(s, n);
    s_route(s, method, path, status, body, fixture);
    s_env(s->api);
}

/* The last request's body as JSON (a new reference). */
static json_t *s_last_body(srv *s)
{
    json_error_t e;
    pthread_mutex_lock(&s->mu);
    json_t *j = s->body ? json_loadb(s->body, s->body_len, 0, &e) : NULL;
    pthread_mutex_unlock(&s->mu);
    cr_assert_not_null(j, "the request had no JSON body");
    return j;
}

/* Asserts the last request was METHOD URI with a JSON body equal to @p want (JSON text). */
static void s_expect(srv *s, const char *method, const char *uri, const char *want)
{
    cr_assert_str_eq(s->method, method);
    cr_assert_str_eq(s->uri, uri);
    if (want == NULL)
        return;
    cr_assert_str_eq(s->ctype, "application/json");
    json_t *got = s_last_body(s), *exp = json_loads(want, 0, NULL);
    cr_assert_not_null(exp);
    char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
    cr_assert(json_equal(got, exp), "body %s, expected %s", g, want);
    free(g);
    json_decref(got);
    json_decref(exp);
}

/* ------------------------------------------------------------ tokens */

Test(cli_api, bearer_token_from_option_and_env)
{
    srv s = {0};
    s_serve(&s, 1, "GET", "/api/v1/status", 200, NULL, "api_status.json");
    run r = RUN("status", "--token", "tok-from-option-0001");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_str_eq(s.auth, "Bearer tok-from-option-0001");
    cr_assert(strstr(r.out, "Center yueyang-center"), "%s", r.out);
    cli_run_free(&r);
    setenv("ANWANG_TOKEN", "tok-from-env-00000001", 1);
    setenv("ANWANG_TOKEN_VIEWER", "tok-viewer-0000000001", 1);
    r = RUN("status");
    cr_assert_eq(r.rc, 0);
    cr_assert_str_eq(s.auth, "Bearer tok-from-env-00000001", "ANWANG_TOKEN goes first");
    cli_run_free(&r);
    r = RUN("status", "--token", "tok-from-option-0002");
    cr_assert_str_eq(s.auth, "Bearer tok-from-option-0002", "--token goes before the env");
    cli_run_free(&r);
    int before = s.requests;
    r = RUN("status", "--token", "tok\r\nX-Injected: 1");
    cr_assert_eq(r.rc, EX_USAGE);
    cr_assert(strstr(r.err, "the token from --token has spaces"), "%s", r.err);
    cr_assert_eq(s.requests, before);
    cli_run_free(&r);
    s_stop(&s);
}

Test(cli_api, token_by_role_from_the_demo_env)
{
    srv s = {0};
    s_start(&s, 2);
    s_route(&s, "GET", "*", 200, NULL, "api_picture.json");
    s_route(&s, "POST", "/api/v1/hazards/h1/events", 201, NULL, "api_hazard.json");
    s_route(&s, "PUT", "/api/v1/registry", 200,
            "{\"version\": 8, \"zones\": 3, \"edges_pushed\": 3}", NULL);
    s_env(s.api);
    setenv("ANWANG_TOKEN_VIEWER", "viewer-token-000001", 1);
    setenv("ANWANG_TOKEN_OPERATOR", "operator-token-0001", 1);
    setenv("ANWANG_TOKEN_ADMIN", "admin-token-0000001", 1);
    run r = RUN("picture");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_str_eq(s.auth, "Bearer viewer-token-000001");
    cli_run_free(&r);
    r = RUN("hazards", "start", "h1");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_str_eq(s.auth, "Bearer operator-token-0001");
    cli_run_free(&r);
    r = RUN("registry", "import", GOLDEN "api_status.json");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_str_eq(s.auth, "Bearer admin-token-0000001");
    cr_assert(strstr(r.out, "Registry version 8 stored: 3 zones, queued to 3 edges."), "%s", r.out);
    cli_run_free(&r);
    unsetenv("ANWANG_TOKEN_VIEWER"); /* a higher role serves a read */
    r = RUN("picture");
    cr_assert_str_eq(s.auth, "Bearer operator-token-0001");
    cli_run_free(&r);
    unsetenv("ANWANG_TOKEN_OPERATOR");
    r = RUN("hazards", "start", "h1");
    cr_assert_str_eq(s.auth, "Bearer admin-token-0000001");
    cli_run_free(&r);
    s_stop(&s);
}

Test(cli_api, no_token_gets_401_with_what_to_do)
{
    srv s = {0};
    s_serve(&s, 3, "*", "*", 401, "{\"error\": \"unauthorized\", \"detail\": \"no bearer token\"}",
            NULL);
    run r = RUN("picture");
    cr_assert_eq(r.rc, EX_NOPERM);
    cr_assert_str_eq(s.auth, "", "no Authorization header without a token");
    cr_assert(strstr(r.err, "401 unauthorized: no bearer token (unauthorized)"), "%s", r.err);
    cr_assert(strstr(r.err, "set ANWANG_TOKEN or pass --token (source demo-county/env for the "
                            "demo)"),
              "%s", r.err);
    cli_run_free(&r);
    setenv("ANWANG_TOKEN_VIEWER", "stale-token-0000001", 1);
    r = RUN("alarms");
    cr_assert_eq(r.rc, EX_NOPERM);
    cr_assert(strstr(r.err, "the token from ANWANG_TOKEN_VIEWER is unknown"), "%s", r.err);
    cli_run_free(&r);
    s_stop(&s);
}

/* ------------------------------------------------------------ exit codes */

Test(cli_api, exit_codes_follow_the_status)
{
    static const struct {
        int status, rc;
    } cases[] = {{401, EX_NOPERM},   {403, EX_NOPERM},   {404, EX_NOINPUT}, {400, EX_DATAERR},
                 {409, EX_DATAERR},  {413, EX_DATAERR},  {415, EX_DATAERR}, {500, EX_SOFTWARE},
                 {503, EX_SOFTWARE}, {405, EX_SOFTWARE}, {302, EX_SOFTWARE}};
    srv s = {0};
    s_start(&s, 4);
    s_env(s.api);
    setenv("ANWANG_TOKEN", "token-000000000001", 1);
    s_route(&s, "*", "*", 0, "{\"error\": \"e\", \"detail\": \"what and what to do\"}", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s.routes[0].status = cases[i].status;
        run r = RUN("hazards", "show", "h1");
        cr_assert_eq(r.rc, cases[i].rc, "status %d: exit %d, expected %d; %s", cases[i].status,
                     r.rc, cases[i].rc, r.err);
        char want[32];
        snprintf(want, sizeof want, ": %d ", cases[i].status);
        cr_assert(strstr(r.err, want), "status %d: %s", cases[i].status, r.err);
        cr_assert(strstr(r.err, "what and what to do"), "%s", r.err);
        cr_assert(strstr(r.err, "hint:"), "status %d has no hint: %s", cases[i].status, r.err);
        cr_assert_str_eq(r.out, "");
        cli_run_free(&r);
    }
    s.routes[0].status = 404;
    run r = RUN("hazards", "show", "h1");
    cr_assert(strstr(r.err, "check the id; 'anwang hazards' lists the hazards"), "%s", r.err);
    cli_run_free(&r);
    s.routes[0].status = 403;
    r = RUN("hazards", "assign", "h1", "--unit", "u", "--person", "p", "--deadline",
            "2030-01-01T00:00:00Z");
    cr_assert(strstr(r.err, "needs the operator role (or a higher one)"), "%s", r.err);
    cr_assert(strstr(r.err, "ANWANG_TOKEN_OPERATOR"), "%s", r.err);
    cli_run_free(&r);
    s_stop(&s);
}

Test(cli_api, answers_that_are_not_json_are_errors)
{
    srv s = {0};
    s_serve(&s, 5, "GET", "*", 200, "<html>proxy login</html>", NULL);
    s.routes[0].ctype = "text/html";
    run r = RUN("picture");
    cr_assert_eq(r.rc, EX_SOFTWARE);
    cr_assert(strstr(r.err, "not JSON"), "%s", r.err);
    cli_run_free(&r);
    s_stop(&s);
}

Test(cli_api, unreachable_center_is_69)
{
    s_env("http://127.0.11.6:18186"); /* nothing listens there */
    run r = RUN("status");
    cr_assert_eq(r.rc, EX_UNAVAILABLE);
    cr_assert(strstr(r.err, "cannot reach the center at http://127.0.11.6:18186"), "%s", r.err);
    cr_assert(strstr(r.err, "ANWANG_API"), "%s", r.err);
    cli_run_free(&r);
    r = RUN("picture", "--api", "ftp://127.0.11.6:18186");
    cr_assert_eq(r.rc, EX_USAGE, "%s", r.err);
    cli_run_free(&r);
}

/* ------------------------------------------------------------ reads */

Test(cli_api, reads_send_their_queries)
{
    srv s = {0};
    s_serve(&s, 7, "GET", "*", 200, "{\"alarms\": [], \"hazards\": []}", NULL);
    run r = RUN("picture", "yueyang/rongjiawan", "--depth", "3");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    s_expect(&s, "GET", "/api/v1/picture?root=yueyang%2Frongjiawan&depth=3", NULL);
    cli_run_free(&r);
    r = RUN("alarms", "--all", "--root", "yueyang/gongtian", "--level", "orange");
    s_expect(&s, "GET", "/api/v1/alarms?state=all&root=yueyang%2Fgongtian&level=orange", NULL);
    cr_assert_str_eq(r.out, "no alarms\n");
    cli_run_free(&r);
    r = RUN("hazards", "--status", "open", "--level", "major", "--sector", "non-coal-mine",
            "--overdue", "--limit", "5");
    s_expect(&s, "GET",
             "/api/v1/hazards?status=open&level=major&sector=non-coal-mine&overdue=true&limit=5",
             NULL);
    cli_run_free(&r);
    r = RUN("device", "huaxin t3", "--metric", "tank-level", "--limit", "10");
    s_expect(&s, "GET", "/api/v1/devices/huaxin%20t3?metric=tank-level&limit=10", NULL);
    cli_run_free(&r);
    r = RUN("alerts", "--all");
    s_expect(&s, "GET", "/api/v1/alerts?state=all", NULL);
    cli_run_free(&r);
    int before = s.requests;
    r = RUN("picture", "--depth", "9");
    cr_assert_eq(r.rc, EX_USAGE);
    cli_run_free(&r);
    r = RUN("alarms", "--level", "purple");
    cr_assert_eq(r.rc, EX_USAGE);
    cli_run_free(&r);
    r = RUN("hazards", "--status", "done");
    cr_assert_eq(r.rc, EX_USAGE);
    cr_assert_eq(s.requests, before, "a usage error sends nothing");
    cli_run_free(&r);
    s_stop(&s);
}

/* Checks that @p key of @p o has JSON type @p type. */
static void s_key(const json_t *o, const char *key, json_type type)
{
    json_t *v = json_object_get(o, key);
    cr_assert_not_null(v, "no key %s", key);
    cr_assert_eq(json_typeof(v), type, "key %s has type %d, expected %d", key, json_typeof(v),
                 type);
}

/* Runs a read command with --json against fixture @p fixture; returns the parsed output. */
static json_t *s_json_of(srv *s, const char *fixture, const char *const *args)
{
    s->nroutes = 0;
    s_route(s, "GET", "*", 200, NULL, fixture);
    run r = cli_run(NULL, args);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    cr_assert_not_null(j, "--json output is not JSON: %s\n%s", e.text, r.out);
    cr_assert(strstr(r.out, "\n  \""), "--json is indented: %s", r.out);
    cli_run_free(&r);
    free(s->routes[0].owned);
    s->routes[0].owned = NULL;
    return j;
}

Test(cli_api, json_output_is_the_servers_json)
{
    srv s = {0};
    s_start(&s, 8);
    s_env(s.api);
    json_t *j = s_json_of(&s, "api_picture.json", (const char *const[]){"picture", "--json", NULL});
    json_t *root = json_object_get(j, "root");
    s_key(j, "registry_version", JSON_INTEGER);
    s_key(root, "colour", JSON_STRING);
    s_key(root, "devices", JSON_OBJECT);
    s_key(root, "hazards", JSON_OBJECT);
    s_key(root, "children", JSON_ARRAY);
    s_key(json_array_get(json_object_get(root, "children"), 0), "link", JSON_OBJECT);
    json_decref(j);
    j = s_json_of(&s, "api_hazard.json",
                  (const char *const[]){"hazards", "show", "x", "--json", NULL});
    s_key(j, "id", JSON_STRING);
    s_key(j, "ledger", JSON_ARRAY);
    s_key(json_array_get(json_object_get(j, "ledger"), 3), "accepted", JSON_FALSE);
    s_key(json_array_get(json_object_get(j, "ledger"), 3), "reason", JSON_STRING);
    json_decref(j);
    j = s_json_of(&s, "api_alarms.json", (const char *const[]){"alarms", "--json", NULL});
    s_key(json_array_get(json_object_get(j, "alarms"), 0), "level", JSON_STRING);
    s_key(json_array_get(json_object_get(j, "alarms"), 0), "value", JSON_REAL);
    json_decref(j);
    j = s_json_of(&s, "api_edges.json", (const char *const[]){"edges", "--json", NULL});
    s_key(json_array_get(json_object_get(j, "edges"), 0), "connected", JSON_TRUE);
    json_decref(j);
    j = s_json_of(&s, "api_device.json", (const char *const[]){"device", "d", "--json", NULL});
    s_key(j, "latest", JSON_OBJECT);
    s_key(j, "history", JSON_OBJECT);
    json_decref(j);
    j = s_json_of(&s, "api_status.json", (const char *const[]){"status", "--json", NULL});
    s_key(j, "edges", JSON_OBJECT);
    s_key(j, "registry_version", JSON_INTEGER);
    json_decref(j);
    j = s_json_of(&s, "api_alert.json",
                  (const char *const[]){"alert", "show", "a", "--json", NULL});
    s_key(j, "report", JSON_OBJECT);
    s_key(j, "area", JSON_ARRAY);
    json_decref(j);
    j = s_json_of(&s, "api_hazards.json", (const char *const[]){"hazards", "--json", NULL});
    s_key(json_array_get(json_object_get(j, "hazards"), 0), "overdue", JSON_TRUE);
    json_decref(j);
    s_stop(&s);
}

/* ------------------------------------------------------------ writes */

Test(cli_api, hazard_commands_send_the_api_json)
{
    srv s = {0};
    s_serve(&s, 9, "POST", "*", 201, NULL, "api_hazard.json");
    setenv("ANWANG_TOKEN_OPERATOR", "operator-token-0001", 1);
    run r = RUN("hazards", "report", "--site", "yueyang/rongjiawan/xinqiang/huaxin-chem",
                "--sector", "hazardous-chemicals", "--level", "major", "--title", "gauge broken",
                "--source", "inspection", "--reporter", "Li Wei", "--description", "reads 0");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    s_expect(&s, "POST", "/api/v1/hazards",
             "{\"site\": \"yueyang/rongjiawan/xinqiang/huaxin-chem\", \"sector\": "
             "\"hazardous-chemicals\", \"level\": \"major\", \"title\": \"gauge broken\", "
             "\"description\": \"reads 0\", \"source\": \"inspection\", \"reporter\": \"Li Wei\"}");
    cr_assert_str_eq(s.auth, "Bearer operator-token-0001");
    cr_assert(strstr(r.out, "Hazard center-0195520b3f000000"), "%s", r.out);
    cli_run_free(&r);

    r = RUN("hazards", "assign", "center-01", "--unit", "Huaxin", "--person", "Zhang San",
            "--deadline", "2026-12-31T18:00:00+08:00");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    s_expect(&s, "POST", "/api/v1/hazards/center-01/events",
             "{\"op\": \"assign\", \"unit\": \"Huaxin\", \"person\": \"Zhang San\", "
             "\"deadline\": \"2026-12-31T18:00:00+08:00\"}");
    cli_run_free(&r);
    r = RUN("hazards", "start", "center-01", "--note", "crew on site");
    s_expect(&s, "POST", "/api/v1/hazards/center-01/events",
             "{\"op\": \"start\", \"note\": \"crew on site\"}");
    cli_run_free(&r);
    r = RUN("hazards", "rectified", "center-01", "--evidence", "photo 17");
    s_expect(&s, "POST", "/api/v1/hazards/center-01/events",
             "{\"op\": \"rectified\", \"evidence\": \"photo 17\"}");
    cli_run_free(&r);
    r = RUN("hazards", "verify", "center-01", "--ok");
    s_expect(&s, "POST", "/api/v1/hazards/center-01/events", "{\"op\": \"verify\", \"ok\": true}");
    cli_run_free(&r);
    r = RUN("hazards", "verify", "center-01", "--fail", "--note", "still leaking");
    s_expect(&s, "POST", "/api/v1/hazards/center-01/events",
             "{\"op\": \"verify\", \"ok\": false, \"note\": \"still leaking\"}");
    cli_run_free(&r);
    r = RUN("hazards", "notify", "center-01", "--audience", "bureau", "--text", "extended");
    s_expect(&s, "POST", "/api/v1/hazards/center-01/events",
             "{\"op\": \"notify\", \"audience\": \"bureau\", \"text\": \"extended\"}");
    cli_run_free(&r);
    r = RUN("hazards", "note", "center-01", "owner asked for 2 days");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    s_expect(&s, "POST", "/api/v1/hazards/center-01/events",
             "{\"op\": \"note\", \"note\": \"owner asked for 2 days\"}");
    cli_run_free(&r);
    s_stop(&s);
}

Test(cli_api, hazard_report_from_a_file_or_stdin)
{
    srv s = {0};
    s_serve(&s, 10, "POST", "/api/v1/hazards", 201, NULL, "api_hazard.json");
    char path[] = "/tmp/aw_test_cli_api_report.XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char *doc =
        "{\"site\": \"a/b/c/d\", \"sector\": \"non-coal-mine\", \"level\": \"general\", "
        "\"title\": \"t\", \"source\": \"public-report\"}";
    cr_assert_eq(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
    close(fd);
    run r = RUN("hazards", "report", "--file", path, "--json");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    s_expect(&s, "POST", "/api/v1/hazards", doc);
    json_t *answer = json_loads(r.out, 0, NULL);
    cr_assert_not_null(answer, "--json prints the answer: %s", r.out);
    json_decref(answer);
    cli_run_free(&r);
    r = RUN_IN(path, "hazards", "report", "-f", "-");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    s_expect(&s, "POST", "/api/v1/hazards", doc);
    cli_run_free(&r);
    unlink(path);
    int before = s.requests;
    r = RUN("hazards", "report", "--file", "/nonexistent/report.json");
    cr_assert_eq(r.rc, EX_NOINPUT);
    cli_run_free(&r);
    r = RUN_IN("/dev/null", "hazards", "report", "--file", "-");
    cr_assert_eq(r.rc, EX_DATAERR);
    cli_run_free(&r);
    cr_assert_eq(s.requests, before, "unreadable or bad input sends nothing");
    s_stop(&s);
}

Test(cli_api, hazard_usage_errors_send_nothing)
{
    srv s = {0};
    s_serve(&s, 11, "*", "*", 201, NULL, "api_hazard.json");
    const char *const *cases[] = {
        (const char *const[]){"hazards", "report", "--site", "a/b/c/d", NULL},
        (const char *const[]){"hazards", "report", "--site", "a/b/c/d", "--sector", "non-coal-mine",
                              "--level", "huge", "--title", "t", "--source", "inspection",
                              "--reporter", "r", NULL},
        (const char *const[]){"hazards", "report", "--site", "a/b/c/d", "--sector", "non-coal-mine",
                              "--level", "major", "--title", "t", "--source", "inspection", NULL},
        (const char *const[]){"hazards", "report", "--file", "x.json", "--title", "t", NULL},
        (const char *const[]){"hazards", "report", "--site", "a/b/c/d", "--sector", "mining",
                              "--level", "major", "--title", "t", "--source", "inspection",
                              "--reporter", "r", NULL},
        (const char *const[]){"hazards", "--sector", "mining", NULL},
        (const char *const[]){"hazards", "assign", "h1", "--unit", "u", "--person", "p", NULL},
        (const char *const[]){"hazards", "assign", "h1", "--unit", "u", "--person", "p",
                              "--deadline", "next friday", NULL},
        (const char *const[]){"hazards", "start", "h1", "--evidence", "e", NULL},
        (const char *const[]){"hazards", "verify", "h1", NULL},
        (const char *const[]){"hazards", "verify", "h1", "--ok", "--fail", NULL},
        (const char *const[]){"hazards", "rectified", "h1", NULL},
        (const char *const[]){"hazards", "notify", "h1", "--text", "t", NULL},
        (const char *const[]){"hazards", "note", "h1", NULL},
        (const char *const[]){"hazards", "note", NULL},
        (const char *const[]){"hazards", "show", NULL},
        (const char *const[]){"hazards", "shwo", "h1", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run r = cli_run(NULL, cases[i]);
        cr_assert_eq(r.rc, EX_USAGE, "case %zu (%s %s): exit %d; %s", i, cases[i][1],
                     cases[i][2] ? cases[i][2] : "", r.rc, r.err);
        cr_assert(strstr(r.err, "Try 'anwang help"), "case %zu: %s", i, r.err);
        cli_run_free(&r);
    }
    cr_assert_eq(s.requests, 0);
    s_stop(&s);
}

Test(cli_api, conflict_shows_the_ledgers_reason)
{
    srv s = {0};
    s_serve(&s, 12, "POST", "*", 409,
            "{\"error\": \"invalid transition\", \"detail\": \"verify needs status rectified, the "
            "hazard is assigned\"}",
            NULL);
    run r = RUN("hazards", "verify", "h1", "--ok");
    cr_assert_eq(r.rc, EX_DATAERR);
    cr_assert(strstr(r.err, "hazard h1: 409 conflict: verify needs status rectified, the hazard is "
                            "assigned (invalid transition)"),
              "%s", r.err);
    cr_assert(strstr(r.err, "nothing was changed"), "%s", r.err);
    cli_run_free(&r);
    s_stop(&s);
}

Test(cli_api, alarm_ack_posts_the_note)
{
    srv s = {0};
    s_serve(&s, 13, "POST", "*", 202,
            "{\"id\": \"rongjiawan-1-a17\", \"edge\": \"rongjiawan-1\", \"by\": \"duty\", "
            "\"queued\": true}",
            NULL);
    setenv("ANWANG_TOKEN_VIEWER", "viewer-token-000001", 1);
    setenv("ANWANG_TOKEN_OPERATOR", "operator-token-0001", 1);
    run r = RUN("alarm", "ack", "rongjiawan-1-a17", "--note", "valve closed");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    s_expect(&s, "POST", "/api/v1/alarms/rongjiawan-1-a17/ack", "{\"note\": \"valve closed\"}");
    cr_assert_str_eq(s.auth, "Bearer operator-token-0001");
    cr_assert(strstr(r.out, "queued for edge rongjiawan-1"), "%s", r.out);
    cli_run_free(&r);
    r = RUN("alarm", "ack", "rongjiawan-1-a17");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_eq(s.body_len, 0, "no body without --note");
    cr_assert_str_eq(s.ctype, "", "and no Content-Type");
    cli_run_free(&r);
    s_stop(&s);
}

Test(cli_api, alerts_and_drills)
{
    srv s = {0};
    s_serve(&s, 14, "POST", "*", 201, NULL, "api_alert.json");
    run r = RUN("drill", "--event", "evacuation drill", "--area", "yueyang/rongjiawan", "--area",
                "yueyang/gongtian", "--headline", "Drill");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    s_expect(&s, "POST", "/api/v1/alerts",
             "{\"status\": \"Exercise\", \"event\": \"evacuation drill\", \"headline\": \"Drill\", "
             "\"area\": [\"yueyang/rongjiawan\", \"yueyang/gongtian\"]}");
    cr_assert(strstr(r.out, "Delivery report"), "%s", r.out);
    cli_run_free(&r);
    r = RUN("alert", "issue", "--status", "Actual", "--event", "leak", "--area", "a/b",
            "--severity", "Severe", "--msg-type", "Update", "--references", "x", "--references",
            "y");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    s_expect(&s, "POST", "/api/v1/alerts",
             "{\"status\": \"Actual\", \"event\": \"leak\", \"severity\": \"Severe\", "
             "\"msgType\": \"Update\", \"references\": [\"x\", \"y\"], \"area\": [\"a/b\"]}");
    cli_run_free(&r);
    r = RUN("alert", "cancel", "center-a-01");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    s_expect(&s, "POST", "/api/v1/alerts/center-a-01/cancel", NULL);
    cli_run_free(&r);
    int before = s.requests;
    r = RUN("drill", "--status", "Actual", "--event", "e", "--area", "a");
    cr_assert_eq(r.rc, EX_USAGE);
    cli_run_free(&r);
    r = RUN("alert", "issue", "--status", "Actual", "--event", "e");
    cr_assert_eq(r.rc, EX_USAGE);
    cli_run_free(&r);
    r = RUN("alert", "issue", "--status", "Real", "--event", "e", "--area", "a");
    cr_assert_eq(r.rc, EX_USAGE);
    cli_run_free(&r);
    cr_assert_eq(s.requests, before);
    s_stop(&s);
}

/* ------------------------------------------------------------ registry */

Test(cli_api, registry_import_prints_every_error_path)
{
    srv s = {0};
    s_serve(&s, 15, "PUT", "/api/v1/registry", 400,
            "{\"error\": \"invalid registry\", \"detail\": \"3 errors\", \"errors\": ["
            "\"$.zones[0].path: must be a grid path\", "
            "{\"path\": \"$.zones[1].edge\", \"message\": \"unknown edge\"}, "
            "\"$.devices[4].interval_s: must be 1..86400\"]}",
            NULL);
    setenv("ANWANG_TOKEN_ADMIN", "admin-token-0000001", 1);
    char *want = s_fixture("api_picture.json");
    run r = RUN("registry", "import", GOLDEN "api_picture.json");
    cr_assert_eq(r.rc, EX_DATAERR);
    cr_assert_str_eq(s.method, "PUT");
    cr_assert_str_eq(s.ctype, "application/json");
    cr_assert_eq(s.body_len, strlen(want), "the file is sent as it is");
    cr_assert_eq(memcmp(s.body, want, s.body_len), 0);
    cr_assert(strstr(r.err, "  $.zones[0].path: must be a grid path\n"), "%s", r.err);
    cr_assert(strstr(r.err, "  $.zones[1].edge: unknown edge\n"), "%s", r.err);
    cr_assert(strstr(r.err, "  $.devices[4].interval_s: must be 1..86400\n"), "%s", r.err);
    cli_run_free(&r);
    free(want);
    int before = s.requests;
    r = RUN("registry", "import", "/nonexistent/county.json");
    cr_assert_eq(r.rc, EX_NOINPUT);
    cr_assert(strstr(r.err, "cannot read /nonexistent/county.json"), "%s", r.err);
    cli_run_free(&r);
    r = RUN("registry", "import", GOLDEN "api_picture.txt");
    cr_assert_eq(r.rc, EX_DATAERR);
    cr_assert(strstr(r.err, "is not valid JSON: line 1"), "%s", r.err);
    cli_run_free(&r);
    r = RUN("registry", "import");
    cr_assert_eq(r.rc, EX_USAGE);
    cli_run_free(&r);
    cr_assert_eq(s.requests, before, "bad input sends nothing");
    s_stop(&s);
}

Test(cli_api, registry_export_to_a_file)
{
    srv s = {0};
    s_serve(&s, 16, "GET", "/api/v1/registry", 200, "{\"version\": 7, \"zones\": []}", NULL);
    char dir[] = "/tmp/aw_test_cli_api_export.XXXXXX", path[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/county.json", dir);
    run r = RUN("registry", "export", "-o", path);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    char *got = cli_slurp(path);
    cr_assert_str_eq(got, "{\n  \"version\": 7,\n  \"zones\": []\n}\n");
    free(got);
    cli_run_free(&r);
    r = RUN("registry", "export");
    cr_assert_str_eq(r.out, "{\n  \"version\": 7,\n  \"zones\": []\n}\n");
    cli_run_free(&r);
    s.routes[0].status = 404;
    s.routes[0].body = "{\"error\": \"no registry\", \"detail\": \"import one first\"}";
    r = RUN("registry", "export", "-o", path);
    cr_assert_eq(r.rc, EX_NOINPUT);
    cli_run_free(&r);
    unlink(path);
    rmdir(dir);
    s_stop(&s);
}

/* ------------------------------------------------------------ help */

Test(cli_api, every_api_command_has_help)
{
    const char *const *cmds[] = {(const char *const[]){"picture", NULL},
                                 (const char *const[]){"edges", NULL},
                                 (const char *const[]){"device", NULL},
                                 (const char *const[]){"alarms", NULL},
                                 (const char *const[]){"alarm", "ack", NULL},
                                 (const char *const[]){"hazards", NULL},
                                 (const char *const[]){"hazards", "show", NULL},
                                 (const char *const[]){"hazards", "report", NULL},
                                 (const char *const[]){"hazards", "assign", NULL},
                                 (const char *const[]){"hazards", "start", NULL},
                                 (const char *const[]){"hazards", "rectified", NULL},
                                 (const char *const[]){"hazards", "verify", NULL},
                                 (const char *const[]){"hazards", "notify", NULL},
                                 (const char *const[]){"hazards", "note", NULL},
                                 (const char *const[]){"registry", "import", NULL},
                                 (const char *const[]){"registry", "export", NULL},
                                 (const char *const[]){"status", NULL},
                                 (const char *const[]){"alerts", NULL},
                                 (const char *const[]){"alert", "show", NULL},
                                 (const char *const[]){"alert", "issue", NULL},
                                 (const char *const[]){"alert", "cancel", NULL},
                                 (const char *const[]){"drill", NULL}};
    s_env(NULL);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const char *args[6] = {0};
        size_t n = 0;
        for (; cmds[i][n]; n++)
            args[n] = cmds[i][n];
        args[n] = "--help";
        run r = cli_run(NULL, args);
        cr_assert_eq(r.rc, 0, "%s --help: %d", args[0], r.rc);
        cr_assert(strncmp(r.out, "Usage: anwang ", 14) == 0, "%s", r.out);
        cr_assert(strstr(r.out, "\nExamples\n"), "%s %s", args[0], r.out);
        cr_assert(strstr(r.out, "Exit codes"), "%s", r.out);
        cr_assert(strstr(r.out, "--token"), "%s", r.out);
        cli_run_free(&r);
    }
}

Test(cli_api, colours_only_when_asked_or_on_a_terminal)
{
    srv s = {0};
    s_serve(&s, 17, "GET", "*", 200, NULL, "api_picture.json");
    unsetenv("NO_COLOR");
    run r = RUN("picture");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_null(strchr(r.out, '\033'), "no colours into a file: %s", r.out);
    cr_assert(strstr(r.out, "荣家湾镇  yueyang/rongjiawan  township  RED\n"), "%s", r.out);
    cli_run_free(&r);
    r = RUN("--color=always", "picture");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert(strstr(r.out, "\033[31mRED\033[0m"), "%s", r.out);
    cr_assert(strstr(r.out, "\033[34mBLUE\033[0m"), "%s", r.out);
    cli_run_free(&r);
    r = RUN("--color=always", "picture", "--json");
    cr_assert_null(strchr(r.out, '\033'), "--json never has colours: %s", r.out);
    cli_run_free(&r);
    s_stop(&s);
}
