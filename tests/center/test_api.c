/*
 * The HTTP API of anwang-center (center/API.md), against the real daemon on
 * its own loopback address 127.0.10.N (HTTP port 18080 + N, ZeroMQ 17800 +
 * N) with a tokens file of three roles: authentication and roles, every
 * endpoint, bad input answered 4xx with {"error", "detail"} and nothing
 * changed, the audit trail, /metrics as Prometheus text, the dashboard, the
 * tokens file's rules and its SIGHUP reload.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "center_fixture.h"
#include "log.h"
#include "test_center_harness.h"
#include "tokens.h"

#define T_VIEWER   "viewer-token-0123456789abcdef"
#define T_OPERATOR "operator-token-0123456789abcdef"
#define T_ADMIN    "admin-token-0123456789abcdef"
#define T_READY_MS 60000

static void s_setup(void)
{
    aw_log_init("test_api", AW_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

TestSuite(api, .init = s_setup, .fini = tc_reap_all, .timeout = 170);

/* ------------------------------------------------------------ the daemon */

typedef struct t_api {
    tc_center c;
    char base[64];
    char tokens[160];
    char extra[512];
} t_api;

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static char *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* ------------------------------------------------------------ requests */

typedef struct t_resp {
    long status;
    char *body;
    size_t len;
    char headers[4096];
    json_t *json; /* the body parsed, when it is JSON */
} t_resp;

static size_t s_on_body(char *p, size_t size, size_t n, void *arg)
{
    t_resp *r = arg;
    char *b = realloc(r->body, r->len + size * n + 1);
    cr_assert_not_null(b);
    memcpy(b + r->len, p, size * n);
    r->body = b;
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

static size_t s_on_header(char *p, size_t size, size_t n, void *arg)
{
    t_resp *r = arg;
    size_t used = strlen(r->headers);
    if (used + size * n < sizeof r->headers) {
        memcpy(r->headers + used, p, size * n);
        r->headers[used + size * n] = '\0';
    }
    return size * n;
}

static void s_free(t_resp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* One request; @p type NULL = application/json when there is a body. */
static t_resp s_req_len(const t_api *a, const char *method, const char *path, const char *token,
                        const char *type, const char *body, size_t len)
{
    t_resp r = {0};
    char url[1024], auth[256], ct[128];
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    snprintf(url, sizeof url, "%s%s", a->base, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hdr = curl_slist_append(hdr, auth);
    }
    if (body) {
        snprintf(ct, sizeof ct, "Content-Type: %s", type ? type : "application/json");
        hdr = curl_slist_append(hdr, ct);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    if (r.body)
        r.json = json_loadb(r.body, r.len, 0, NULL);
    return r;
}

static t_resp s_req(const t_api *a, const char *method, const char *path, const char *token,
                    const char *body)
{
    return s_req_len(a, method, path, token, NULL, body, body ? strlen(body) : 0);
}

/* Expects @p status and, for an error, the {"error", "detail"} shape. */
static void s_expect(const t_resp *r, long status, const char *what)
{
    cr_assert_eq(r->status, status, "%s: %ld, expected %ld: %s", what, r->status, status,
                 r->body ? r->body : "(no body)");
    if (status >= 400) {
        cr_assert(json_is_string(json_object_get(r->json, "error")), "%s: %s", what, r->body);
        cr_assert(json_is_string(json_object_get(r->json, "detail")), "%s: %s", what, r->body);
    }
}

static void s_call(const t_api *a, const char *method, const char *path, const char *token,
                   const char *body, long status)
{
    t_resp r = s_req(a, method, path, token, body);
    char what[256];
    snprintf(what, sizeof what, "%s %s", method, path);
    s_expect(&r, status, what);
    s_free(&r);
}

/* The body of a GET that must answer 200, serialised (to compare states). */
static char *s_state(const t_api *a, const char *path)
{
    t_resp r = s_req(a, "GET", path, T_ADMIN, NULL);
    s_expect(&r, 200, path);
    char *text = r.body;
    r.body = NULL;
    s_free(&r);
    return text;
}

/* ------------------------------------------------------------ start-up */

static void s_tokens_file(t_api *a)
{
    s_write(a->tokens, "# tokens of test_api\n" T_VIEWER " viewer wang.viewer\n"
                       "\n" T_OPERATOR " operator li.operator   # the duty officer\n" T_ADMIN
                       " admin zhao.admin\n");
}

/* Waits until this daemon says it listens (so a test never talks to
 * another one on a taken port) and GET /api/v1/status answers 200. */
static void s_wait_ready(t_api *a)
{
    int64_t end = tc_mono() + T_READY_MS;
    while (!tc_log_wait(&a->c, "http: API and dashboard on", 50)) {
        int status;
        cr_assert_eq(waitpid(a->c.pid, &status, WNOHANG), 0,
                     "anwang-center exited before serving HTTP (log %s)", a->c.log);
        cr_assert_lt(tc_mono(), end, "no HTTP within %d ms (log %s)", T_READY_MS, a->c.log);
    }
    for (;;) {
        t_resp r = s_req(a, "GET", "/api/v1/status", T_VIEWER, NULL);
        long st = r.status;
        s_free(&r);
        if (st == 200)
            return;
        int status;
        cr_assert_eq(waitpid(a->c.pid, &status, WNOHANG), 0,
                     "anwang-center exited before serving HTTP (log %s)", a->c.log);
        cr_assert_lt(tc_mono(), end, "the API did not answer within %d ms (log %s)", T_READY_MS,
                     a->c.log);
        poll(NULL, 0, 50);
    }
}

static void s_prepare(t_api *a, int n)
{
    memset(a, 0, sizeof *a);
    tc_init(&a->c, n, 17800 + n);
    snprintf(a->c.endpoint, sizeof a->c.endpoint, "tcp://127.0.10.%d:%d", n, 17800 + n);
    snprintf(a->tokens, sizeof a->tokens, "%s/tokens", a->c.dir);
    snprintf(a->base, sizeof a->base, "http://127.0.10.%d:%d", n, 18080 + n);
    snprintf(a->extra, sizeof a->extra, "[http]\nbind = 127.0.10.%d:%d\ntokens = %s\n", n,
             18080 + n, a->tokens);
    a->c.extra = a->extra;
    s_tokens_file(a);
    tc_write_conf(&a->c);
}

static void s_start(t_api *a, int n)
{
    s_prepare(a, n);
    tc_start(&a->c);
    s_wait_ready(a);
}

static void s_stop(t_api *a)
{
    cr_assert_eq(tc_stop(&a->c, 20000), 0, "clean stop (log %s)", a->c.log);
    tc_cleanup(&a->c);
}

static char *s_registry(size_t *len)
{
    return s_slurp(AW_DEPLOY_DIR "/registry/mini.json", len);
}

static void s_import(t_api *a)
{
    size_t len;
    char *reg = s_registry(&len);
    t_resp r = s_req_len(a, "PUT", "/api/v1/registry", T_ADMIN, NULL, reg, len);
    s_expect(&r, 200, "PUT registry");
    cr_assert_eq(json_integer_value(json_object_get(r.json, "version")), 3);
    cr_assert_geq(json_integer_value(json_object_get(r.json, "zones")), 1);
    s_free(&r);
    free(reg);
}

/* ------------------------------------------------------------ authentication and roles */

Test(api, tokens_and_roles_decide_who_may_do_what)
{
    t_api a;
    s_start(&a, 1);
    t_resp r = s_req(&a, "GET", "/api/v1/status", NULL, NULL);
    s_expect(&r, 401, "no token");
    cr_assert_not_null(strstr(r.headers, "WWW-Authenticate: Bearer realm=\"anwang\""), "%s",
                       r.headers);
    s_free(&r);
    r = s_req(&a, "GET", "/api/v1/status", "not-a-token-of-this-county", NULL);
    s_expect(&r, 401, "unknown token");
    cr_assert_not_null(strstr(r.headers, "WWW-Authenticate: Bearer"));
    s_free(&r);
    s_call(&a, "GET", "/api/v1/status", T_VIEWER "x", NULL, 401); /* a longer guess */
    s_call(&a, "GET", "/api/v1/status", "viewer-token-0123456789abcde", NULL, 401); /* prefix */
    s_call(&a, "GET", "/metrics", NULL, NULL, 401);
    s_call(&a, "GET", "/api/v1/status", T_VIEWER, NULL, 200);
    s_call(&a, "GET", "/api/v1/hazards", T_VIEWER, NULL, 200);
    s_call(&a, "POST", "/api/v1/hazards", T_VIEWER, "{}", 403);
    s_call(&a, "POST", "/api/v1/alerts", T_VIEWER, "{}", 403);
    s_call(&a, "POST", "/api/v1/alarms/a1/ack", T_VIEWER, NULL, 403);
    s_call(&a, "PUT", "/api/v1/registry", T_OPERATOR, "{}", 403);
    s_call(&a, "GET", "/api/v1/audit", T_OPERATOR, NULL, 403);
    s_call(&a, "GET", "/api/v1/audit", T_ADMIN, NULL, 200);
    s_call(&a, "GET", "/api/v1/nothing-here", T_VIEWER, NULL, 404);
    s_call(&a, "GET", "/api/v1/hazards/h1/events/x", T_VIEWER, NULL, 404);
    r = s_req(&a, "DELETE", "/api/v1/hazards", T_ADMIN, NULL);
    s_expect(&r, 405, "DELETE hazards");
    cr_assert_not_null(strstr(r.headers, "Allow: GET, POST"), "%s", r.headers);
    s_free(&r);
    r = s_req(&a, "POST", "/api/v1/registry", T_ADMIN, "{}");
    s_expect(&r, 405, "POST registry");
    cr_assert_not_null(strstr(r.headers, "Allow: GET, PUT"), "%s", r.headers);
    s_free(&r);
    s_stop(&a);
}

Test(api, the_dashboard_needs_no_token)
{
    t_api a;
    s_start(&a, 2);
    t_resp r = s_req(&a, "GET", "/", NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.headers, "Content-Type: text/html"), "%s", r.headers);
    cr_assert(r.body && (strstr(r.body, "<html") || strstr(r.body, "<!DOCTYPE") ||
                         strstr(r.body, "<!doctype")));
    s_free(&r);
    r = s_req(&a, "GET", "/app.js", NULL, NULL);
    cr_assert_eq(r.status, 200);
    s_free(&r);
    s_call(&a, "GET", "/no-such-file.js", NULL, NULL, 404);
    s_stop(&a);
}

/* ------------------------------------------------------------ registry */

Test(api, the_registry_is_imported_whole_or_not_at_all)
{
    t_api a;
    s_start(&a, 3);
    s_call(&a, "GET", "/api/v1/registry", T_VIEWER, NULL, 404);
    t_resp r = s_req(&a, "PUT", "/api/v1/registry", T_ADMIN, "{\"county\": ");
    s_expect(&r, 400, "malformed registry");
    s_free(&r);
    r = s_req(&a, "PUT", "/api/v1/registry", T_ADMIN,
              "{\"county\": \"yueyang\", \"version\": \"seven\", \"zones\": 5}");
    s_expect(&r, 400, "invalid registry");
    cr_assert(json_array_size(json_object_get(r.json, "errors")) >= 1, "%s", r.body);
    s_free(&r);
    size_t len;
    char *reg = s_registry(&len);
    r = s_req_len(&a, "PUT", "/api/v1/registry", T_ADMIN, "text/plain", reg, len);
    s_expect(&r, 415, "registry as text/plain");
    s_free(&r);
    s_call(&a, "GET", "/api/v1/registry", T_VIEWER, NULL, 404); /* nothing stored */
    s_import(&a);
    r = s_req(&a, "GET", "/api/v1/registry", T_VIEWER, NULL);
    s_expect(&r, 200, "GET registry");
    cr_assert_eq(json_integer_value(json_object_get(r.json, "version")), 3);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "county")), "yueyang");
    s_free(&r);
    r = s_req_len(&a, "PUT", "/api/v1/registry", T_ADMIN, NULL, reg, len);
    s_expect(&r, 409, "the same version again");
    s_free(&r);
    size_t big = (16u << 20) + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    r = s_req_len(&a, "PUT", "/api/v1/registry", T_ADMIN, NULL, huge, big);
    s_expect(&r, 413, "a registry over 16 MiB");
    s_free(&r);
    free(huge);
    r = s_req(&a, "GET", "/api/v1/status", T_VIEWER, NULL);
    s_expect(&r, 200, "status");
    cr_assert_eq(json_integer_value(json_object_get(r.json, "registry_version")), 3);
    s_free(&r);
    free(reg);
    s_stop(&a);
}

/* ------------------------------------------------------------ hazards */

#define T_SITE "yueyang/rongjiawan/xinqiang/huaxin-chem"
#define T_REPORT                                                                                   \
    "{\"site\": \"" T_SITE "\", \"sector\": \"hazardous-chemicals\", \"level\": \"general\", "     \
    "\"title\": \"tank 3 valve leaks\", \"description\": \"drips at the flange\", "                \
    "\"source\": \"inspection\", \"reporter\": \"li.operator\"}"

static char *s_hazard(t_api *a)
{
    t_resp r = s_req(a, "POST", "/api/v1/hazards", T_OPERATOR, T_REPORT);
    s_expect(&r, 201, "POST hazard");
    const char *id = json_string_value(json_object_get(r.json, "id"));
    cr_assert_not_null(id, "%s", r.body);
    char *copy = strdup(id);
    s_free(&r);
    return copy;
}

/* Bad hazard bodies: 4xx with the error shape, and the list unchanged. */
static void s_bad_hazards(t_api *a)
{
    static const char *const bad[] = {
        "{\"site\": ",
        "[1, 2, 3]",
        "{\"site\": 42, \"sector\": \"hazardous-chemicals\", \"level\": \"general\", "
        "\"title\": \"x\", \"source\": \"inspection\", \"reporter\": \"r\"}",
        "{\"site\": \"" T_SITE "\", \"sector\": \"hazardous-chemicals\", \"level\": \"huge\", "
        "\"title\": \"x\", \"source\": \"inspection\", \"reporter\": \"r\"}",
        "{\"site\": \"yueyang/nowhere/x/y\", \"sector\": \"hazardous-chemicals\", \"level\": "
        "\"general\", \"title\": \"x\", \"source\": \"inspection\", \"reporter\": \"r\"}",
        "\"just a string\"",
    };
    char *before = s_state(a, "/api/v1/hazards?status=open");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        s_call(a, "POST", "/api/v1/hazards", T_OPERATOR, bad[i], 400);
    s_call(a, "POST", "/api/v1/hazards", T_OPERATOR, NULL, 400); /* no body */
    t_resp r = s_req_len(a, "POST", "/api/v1/hazards", T_OPERATOR, "text/plain", T_REPORT,
                         strlen(T_REPORT));
    s_expect(&r, 415, "hazard as text/plain");
    s_free(&r);
    size_t big = (1u << 20) + 10;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    r = s_req_len(a, "POST", "/api/v1/hazards", T_OPERATOR, NULL, huge, big);
    s_expect(&r, 413, "a hazard over 1 MiB");
    s_free(&r);
    free(huge);
    char *after = s_state(a, "/api/v1/hazards?status=open");
    cr_assert_str_eq(before, after, "refused reports changed nothing");
    free(before), free(after);
}

Test(api, hazards_are_reported_assigned_and_refused_transitions_change_nothing)
{
    t_api a;
    char path[256];
    s_start(&a, 4);
    s_import(&a);
    char *id = s_hazard(&a);
    snprintf(path, sizeof path, "/api/v1/hazards/%s", id);
    t_resp r = s_req(&a, "GET", path, T_VIEWER, NULL);
    s_expect(&r, 200, "GET hazard");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")), "reported");
    cr_assert(json_array_size(json_object_get(r.json, "ledger")) >= 1, "%s", r.body);
    s_free(&r);
    r = s_req(&a, "GET", "/api/v1/hazards?status=open&level=general", T_VIEWER, NULL);
    s_expect(&r, 200, "list");
    cr_assert_eq(json_array_size(json_object_get(r.json, "hazards")), 1, "%s", r.body);
    s_free(&r);
    s_call(&a, "GET", "/api/v1/hazards?status=sleeping", T_VIEWER, NULL, 400);
    s_call(&a, "GET", "/api/v1/hazards?limit=0", T_VIEWER, NULL, 400);
    s_bad_hazards(&a);

    snprintf(path, sizeof path, "/api/v1/hazards/%s/events", id);
    char hz[256];
    snprintf(hz, sizeof hz, "/api/v1/hazards/%s", id);
    char *before = s_state(&a, hz);
    s_call(&a, "POST", path, T_OPERATOR, "{\"op\": \"verify\", \"ok\": true}", 409);
    s_call(&a, "POST", path, T_OPERATOR, "{\"op\": \"fly\"}", 400);
    s_call(&a, "POST", path, T_OPERATOR, "{\"op\": ", 400);
    char *after = s_state(&a, hz);
    cr_assert_str_eq(before, after, "refused events changed nothing");
    free(before), free(after);
    r = s_req(&a, "POST", path, T_OPERATOR,
              "{\"op\": \"assign\", \"unit\": \"huaxin safety office\", \"person\": \"chen\", "
              "\"deadline\": \"2099-12-31T00:00:00.000Z\"}");
    s_expect(&r, 201, "assign");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")), "assigned", "%s",
                     r.body);
    s_free(&r);
    s_call(&a, "POST", "/api/v1/hazards/no-such-hazard/events", T_OPERATOR, "{\"op\": \"start\"}",
           404);
    s_call(&a, "GET", "/api/v1/hazards/no-such-hazard", T_VIEWER, NULL, 404);
    free(id);
    s_stop(&a);
}

/* ------------------------------------------------------------ alerts */

Test(api, alerts_are_issued_read_as_cap_and_cancelled_once)
{
    t_api a;
    char path[256];
    s_start(&a, 5);
    s_import(&a);
    char *before = s_state(&a, "/api/v1/alerts?state=all");
    s_call(&a, "POST", "/api/v1/alerts", T_OPERATOR, "{\"event\": \"drill\"}", 400);
    s_call(&a, "POST", "/api/v1/alerts", T_OPERATOR,
           "{\"status\": \"Sometimes\", \"event\": \"drill\", \"area\": [\"yueyang/rongjiawan\"]}",
           400);
    s_call(&a, "POST", "/api/v1/alerts", T_OPERATOR,
           "{\"status\": \"Exercise\", \"event\": \"drill\", \"area\": \"yueyang/rongjiawan\"}",
           400);
    s_call(&a, "POST", "/api/v1/alerts", T_OPERATOR,
           "{\"status\": \"Exercise\", \"event\": \"drill\", \"area\": [\"yueyang/atlantis\"]}",
           400);
    char *after = s_state(&a, "/api/v1/alerts?state=all");
    cr_assert_str_eq(before, after, "refused alerts changed nothing");
    free(before), free(after);

    t_resp r = s_req(&a, "POST", "/api/v1/alerts", T_OPERATOR,
                     "{\"status\": \"Exercise\", \"event\": \"chemical leak drill\", \"area\": "
                     "[\"yueyang/rongjiawan\"], \"severity\": \"Severe\", \"urgency\": "
                     "\"Immediate\", \"certainty\": \"Observed\", \"headline\": \"drill\"}");
    s_expect(&r, 201, "POST alert");
    char *id = strdup(json_string_value(json_object_get(r.json, "id")));
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")), "Exercise");
    s_free(&r);
    snprintf(path, sizeof path, "/api/v1/alerts/%s", id);
    r = s_req(&a, "GET", path, T_VIEWER, NULL);
    s_expect(&r, 200, "GET alert");
    cr_assert(json_is_object(json_object_get(r.json, "report")), "%s", r.body);
    cr_assert(json_is_false(json_object_get(r.json, "cancelled")), "%s", r.body);
    s_free(&r);
    r = s_req(&a, "GET", "/api/v1/alerts", T_VIEWER, NULL);
    s_expect(&r, 200, "GET alerts");
    cr_assert_eq(json_array_size(json_object_get(r.json, "alerts")), 1, "%s", r.body);
    s_free(&r);
    snprintf(path, sizeof path, "/api/v1/alerts/%s/cap", id);
    r = s_req(&a, "GET", path, T_VIEWER, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.headers, "application/cap+xml"), "%s", r.headers);
    cr_assert_not_null(strstr(r.body, "urn:oasis:names:tc:emergency:cap:1.2"), "%s", r.body);
    s_free(&r);
    snprintf(path, sizeof path, "/api/v1/alerts/%s/cancel", id);
    r = s_req(&a, "POST", path, T_OPERATOR, NULL);
    s_expect(&r, 200, "cancel");
    cr_assert(json_is_true(json_object_get(r.json, "cancelled")), "%s", r.body);
    s_free(&r);
    s_call(&a, "POST", path, T_OPERATOR, NULL, 409);
    s_call(&a, "POST", "/api/v1/alerts/no-such-alert/cancel", T_OPERATOR, NULL, 404);
    s_call(&a, "GET", "/api/v1/alerts/no-such-alert", T_VIEWER, NULL, 404);
    s_call(&a, "GET", "/api/v1/alerts?state=sometimes", T_VIEWER, NULL, 400);
    free(id);
    s_stop(&a);
}

/* ------------------------------------------------------------ reads */

Test(api, the_read_endpoints_answer_their_shapes)
{
    t_api a;
    s_start(&a, 6);
    s_import(&a);
    t_resp r = s_req(&a, "GET", "/api/v1/picture?depth=1", T_VIEWER, NULL);
    s_expect(&r, 200, "picture");
    json_t *root = json_object_get(r.json, "root");
    cr_assert_str_eq(json_string_value(json_object_get(root, "kind")), "county", "%s", r.body);
    cr_assert(json_is_string(json_object_get(r.json, "generated")));
    s_free(&r);
    s_call(&a, "GET", "/api/v1/picture?root=yueyang/rongjiawan&depth=0", T_VIEWER, NULL, 200);
    s_call(&a, "GET", "/api/v1/picture?depth=9", T_VIEWER, NULL, 400);
    s_call(&a, "GET", "/api/v1/picture?depth=x", T_VIEWER, NULL, 400);
    s_call(&a, "GET", "/api/v1/picture?root=Not%20A%20Path", T_VIEWER, NULL, 400);
    s_call(&a, "GET", "/api/v1/picture?root=yueyang/atlantis", T_VIEWER, NULL, 404);
    r = s_req(&a, "GET", "/api/v1/edges", T_VIEWER, NULL);
    s_expect(&r, 200, "edges");
    cr_assert(json_is_array(json_object_get(r.json, "edges")));
    s_free(&r);
    r = s_req(&a, "GET", "/api/v1/alarms?state=all&level=yellow", T_VIEWER, NULL);
    s_expect(&r, 200, "alarms");
    cr_assert(json_is_array(json_object_get(r.json, "alarms")));
    s_free(&r);
    s_call(&a, "GET", "/api/v1/alarms?level=purple", T_VIEWER, NULL, 400);
    s_call(&a, "POST", "/api/v1/alarms/no-such-alarm/ack", T_OPERATOR, NULL, 404);
    s_call(&a, "POST", "/api/v1/alarms/no-such-alarm/ack", T_OPERATOR, "{\"note\": 5}", 400);
    s_call(&a, "POST", "/api/v1/alarms/no-such-alarm/ack", T_OPERATOR, "{\"color\": \"x\"}", 400);
    s_call(&a, "GET", "/api/v1/devices/huaxin-t3?limit=5", T_VIEWER, NULL, 200);
    s_call(&a, "GET", "/api/v1/devices/huaxin-t3?limit=0", T_VIEWER, NULL, 400);
    s_call(&a, "GET", "/api/v1/devices/no-such-device", T_VIEWER, NULL, 404);
    r = s_req(&a, "GET", "/api/v1/status", T_VIEWER, NULL);
    s_expect(&r, 200, "status");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "center")), "test-county");
    cr_assert(json_is_object(json_object_get(r.json, "store")), "%s", r.body);
    cr_assert(json_is_object(json_object_get(r.json, "edges")), "%s", r.body);
    s_free(&r);
    s_stop(&a);
}

/* Every sample line is NAME{LABELS} VALUE, every family has HELP and TYPE. */
static void s_prometheus(const char *text)
{
    regex_t sample, meta;
    cr_assert_eq(
        regcomp(&sample,
                "^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\""
                ",?)*\\})? -?[0-9.eE+]+$",
                REG_EXTENDED | REG_NOSUB),
        0);
    cr_assert_eq(
        regcomp(&meta, "^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$", REG_EXTENDED | REG_NOSUB), 0);
    char *copy = strdup(text), *save = NULL;
    size_t samples = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        regex_t *re = line[0] == '#' ? &meta : &sample;
        cr_assert_eq(regexec(re, line, 0, NULL, 0), 0, "not Prometheus text: \"%s\"", line);
        samples += line[0] != '#';
    }
    cr_assert_gt(samples, 0);
    free(copy);
    regfree(&sample);
    regfree(&meta);
}

Test(api, metrics_are_prometheus_text)
{
    t_api a;
    s_start(&a, 7);
    s_call(&a, "GET", "/api/v1/status", T_VIEWER, NULL, 200);
    s_call(&a, "GET", "/api/v1/nope", T_VIEWER, NULL, 404);
    t_resp r = s_req(&a, "GET", "/metrics", T_VIEWER, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.headers, "text/plain; version=0.0.4"), "%s", r.headers);
    s_prometheus(r.body);
    cr_assert_not_null(strstr(r.body, "anwang_http_requests_total{code=\"200\"}"), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "anwang_http_requests_total{code=\"404\"}"), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "anwang_lmdb_used_bytes "), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "anwang_lmdb_map_bytes "), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "anwang_alarms_active{level=\"red\"}"), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "anwang_hazards_open{level=\"major\"}"), "%s", r.body);
    s_free(&r);
    s_stop(&a);
}

/* ------------------------------------------------------------ audit */

Test(api, the_audit_trail_has_every_write_newest_first)
{
    t_api a;
    s_start(&a, 8);
    s_import(&a);
    char *id = s_hazard(&a);
    s_call(&a, "POST", "/api/v1/hazards", T_VIEWER, T_REPORT, 403);
    t_resp r = s_req(&a, "GET", "/api/v1/audit?limit=10", T_ADMIN, NULL);
    s_expect(&r, 200, "audit");
    json_t *list = json_object_get(r.json, "audit");
    cr_assert_eq(json_array_size(list), 3, "%s", r.body);
    json_t *e0 = json_array_get(list, 0), *e1 = json_array_get(list, 1),
           *e2 = json_array_get(list, 2);
    cr_assert_str_eq(json_string_value(json_object_get(e0, "who")), "wang.viewer");
    cr_assert_eq(json_integer_value(json_object_get(e0, "status")), 403);
    cr_assert_str_eq(json_string_value(json_object_get(e1, "who")), "li.operator");
    cr_assert_str_eq(json_string_value(json_object_get(e1, "role")), "operator");
    cr_assert_str_eq(json_string_value(json_object_get(e1, "method")), "POST");
    cr_assert_str_eq(json_string_value(json_object_get(e1, "path")), "/api/v1/hazards");
    cr_assert_eq(json_integer_value(json_object_get(e1, "status")), 201);
    cr_assert_str_eq(json_string_value(json_object_get(e1, "object")), id);
    cr_assert_str_eq(json_string_value(json_object_get(e2, "who")), "zhao.admin");
    cr_assert_str_eq(json_string_value(json_object_get(e2, "path")), "/api/v1/registry");
    cr_assert(json_is_string(json_object_get(e2, "time")));
    s_free(&r);
    s_call(&a, "GET", "/api/v1/audit?limit=0", T_ADMIN, NULL, 400);
    free(id);
    s_stop(&a);
}

/* ------------------------------------------------------------ tokens file */

Test(api, sighup_rereads_the_tokens_and_keeps_them_when_the_file_is_bad)
{
    t_api a;
    s_start(&a, 9);
    s_write(a.tokens, "fresh-token-0123456789abcdef viewer new.viewer\n");
    size_t mark = tc_log_size(&a.c);
    kill(a.c.pid, SIGHUP);
    cr_assert(tc_log_wait_from(&a.c, mark, "reload: 1 token(s)", 30000), "log %s", a.c.log);
    s_call(&a, "GET", "/api/v1/status", "fresh-token-0123456789abcdef", NULL, 200);
    s_call(&a, "GET", "/api/v1/status", T_VIEWER, NULL, 401);
    s_write(a.tokens, "short viewer x\n");
    mark = tc_log_size(&a.c);
    kill(a.c.pid, SIGHUP);
    cr_assert(tc_log_wait_from(&a.c, mark, "reload: tokens kept", 30000), "log %s", a.c.log);
    cr_assert(tc_log_wait_from(&a.c, mark, "tokens:1:", 1000), "names file:line (log %s)", a.c.log);
    s_call(&a, "GET", "/api/v1/status", "fresh-token-0123456789abcdef", NULL, 200);
    s_stop(&a);
}

Test(api, a_bad_tokens_file_stops_start_up_naming_the_line)
{
    t_api a;
    memset(&a, 0, sizeof a);
    tc_init(&a.c, 10, 17810);
    snprintf(a.c.endpoint, sizeof a.c.endpoint, "tcp://127.0.10.10:17810");
    snprintf(a.tokens, sizeof a.tokens, "%s/tokens", a.c.dir);
    snprintf(a.extra, sizeof a.extra, "[http]\nbind = 127.0.10.10:18090\ntokens = %s\n", a.tokens);
    a.c.extra = a.extra;
    s_write(a.tokens, T_VIEWER " viewer ok\n" T_ADMIN " superuser root\n");
    tc_write_conf(&a.c);
    tc_start(&a.c);
    int status = 0;
    int64_t end = tc_mono() + 30000;
    while (waitpid(a.c.pid, &status, WNOHANG) == 0) {
        cr_assert_lt(tc_mono(), end, "the center must refuse to start");
        poll(NULL, 0, 20);
    }
    a.c.pid = 0;
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    cr_assert(tc_log_wait(&a.c, "tokens:2: role \"superuser\"", 1000), "log %s", a.c.log);
    tc_cleanup(&a.c);
}

/* In process: the file's rules. */
static int s_load(const char *text, char *why, size_t len)
{
    char path[] = "/tmp/aw_tokens.XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    aw_tokens_t *t = NULL;
    int rv = aw_tokens_load(path, &t, why, len);
    aw_tokens_destroy(&t);
    aw_tokens_destroy(&t);
    unlink(path);
    return rv;
}

Test(api, the_tokens_file_is_checked_line_by_line)
{
    char why[512];
    cr_assert_eq(s_load("# none yet\n\n", why, sizeof why), AW_OK);
    cr_assert_eq(s_load("abcdefghijklmnopq viewer a@b.c\n", why, sizeof why), AW_OK);
    cr_assert_eq(s_load("abcdefghijklmno viewer x\n", why, sizeof why), AW_ECONFIG);
    cr_assert_not_null(strstr(why, ":1: the token must be"), "%s", why);
    cr_assert_eq(s_load("abcdefghijklmnopq viewer\n", why, sizeof why), AW_ECONFIG);
    cr_assert_eq(s_load("#\nabcdefghijklmnopq root x\n", why, sizeof why), AW_ECONFIG);
    cr_assert_not_null(strstr(why, ":2: role"), "%s", why);
    cr_assert_eq(s_load("abcdefghijklmnopq admin bad/name\n", why, sizeof why), AW_ECONFIG);
    cr_assert_eq(s_load("abcdefghijklmnopq admin a b\n", why, sizeof why), AW_ECONFIG);
    cr_assert_eq(s_load("abcdefghijklmnopq admin a\nabcdefghijklmnopq viewer b\n", why, sizeof why),
                 AW_ECONFIG);
    cr_assert_not_null(strstr(why, ":2: this token is already given to a"), "%s", why);
    cr_assert_eq(s_load("abcdefghijklmnop\x01q admin a\n", why, sizeof why), AW_ECONFIG);

    aw_tokens_t *t = NULL;
    cr_assert_eq(aw_tokens_load("/nonexistent/tokens", &t, why, sizeof why), AW_ENOTFOUND);
    char path[] = "/tmp/aw_tokens.XXXXXX";
    int fd = mkstemp(path);
    const char *text = "abcdefghijklmnopq operator li\nqrstuvwxyz0123456 admin zhao\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    cr_assert_eq(aw_tokens_load(path, &t, why, sizeof why), AW_OK, "%s", why);
    unlink(path);
    aw_role role;
    const char *name;
    cr_assert_eq(aw_tokens_count(t), 2);
    cr_assert_eq(aw_tokens_lookup(t, "qrstuvwxyz0123456", 17, &role, &name), AW_OK);
    cr_assert_eq(role, AW_ROLE_ADMIN);
    cr_assert_str_eq(name, "zhao");
    cr_assert_eq(aw_tokens_lookup(t, "qrstuvwxyz012345", 16, &role, &name), AW_EPERM);
    cr_assert_eq(aw_tokens_lookup(t, "qrstuvwxyz01234567", 18, &role, &name), AW_EPERM);
    cr_assert_eq(aw_tokens_lookup(t, "", 0, &role, &name), AW_EPERM);
    aw_tokens_destroy(&t);
}

/* ------------------------------------------------------------ slow and odd clients */

typedef struct t_chunks {
    size_t left;
} t_chunks;

static size_t s_read_chunk(char *buf, size_t size, size_t n, void *arg)
{
    t_chunks *c = arg;
    size_t k = size * n < c->left ? size * n : c->left;
    memset(buf, ' ', k);
    c->left -= k;
    return k;
}

/* A chunked body of @p len spaces (no Content-Length): the limit holds too. */
static long s_chunked(const t_api *a, const char *path, size_t len)
{
    char url[256];
    long status = 0;
    t_chunks c = {len};
    t_resp r = {0};
    snprintf(url, sizeof url, "%s%s", a->base, path);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Authorization: Bearer " T_OPERATOR);
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Transfer-Encoding: chunked");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, s_read_chunk);
    curl_easy_setopt(h, CURLOPT_READDATA, &c);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    s_free(&r);
    return status;
}

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int s_idle_socket(int n, const char *partial)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(18080 + n))};
    char host[32];
    snprintf(host, sizeof host, "127.0.10.%d", n);
    cr_assert_eq(inet_pton(AF_INET, host, &sa.sin_addr), 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    if (partial)
        cr_assert_eq(write(fd, partial, strlen(partial)), (ssize_t)strlen(partial));
    return fd;
}

Test(api, slow_and_chunked_clients_do_not_get_around_the_limits)
{
    t_api a;
    int fds[12];
    s_start(&a, 11);
    s_import(&a);
    for (int i = 0; i < 12; i++) /* idle, or stuck in the headers */
        fds[i] = s_idle_socket(11, i % 2 ? "POST /api/v1/hazards HTTP/1.1\r\nHost: x\r\n" : NULL);
    s_call(&a, "GET", "/api/v1/status", T_VIEWER, NULL, 200);
    char *before = s_state(&a, "/api/v1/hazards?status=open");
    cr_assert_eq(s_chunked(&a, "/api/v1/hazards", (1u << 20) + 100), 413);
    s_call(&a, "GET", "/api/v1/status", T_VIEWER, NULL, 200);
    char *after = s_state(&a, "/api/v1/hazards?status=open");
    cr_assert_str_eq(before, after);
    free(before), free(after);
    t_resp r = s_req(&a, "HEAD", "/api/v1/status", T_VIEWER, NULL);
    cr_assert_eq(r.status, 200);
    s_free(&r);
    for (int i = 0; i < 12; i++)
        close(fds[i]);
    s_stop(&a);
}

/* ------------------------------------------------------------ alarm ack, end to end */

#define T_EDGE  "rongjiawan-1"
#define T_EPOCH 0x1234

/* A raw edge: Hello until the Welcome comes (the allow-list may still load). */
static zsock_t *s_edge(const t_api *a, const char *cert_path)
{
    zcert_t *cert = zcert_load(cert_path);
    cr_assert_not_null(cert);
    zsock_t *d = tc_dealer(&a->c, cert, false);
    zcert_destroy(&cert);
    int64_t end = tc_mono() + T_READY_MS;
    for (;;) {
        tc_send_hello(d, T_EDGE, T_EPOCH);
        Anwang__Envelope *env = tc_recv(d, 2000);
        bool welcome = env && env->msg_case == ANWANG__ENVELOPE__MSG_WELCOME;
        if (env)
            aw_codec_envelope_free(&env);
        if (welcome)
            return d;
        cr_assert_lt(tc_mono(), end, "no Welcome (log %s)", a->c.log);
    }
}

static void s_send_alarm(zsock_t *d, uint64_t seq, Anwang__AlarmEventKind kind, int64_t now)
{
    ProtobufCBinaryData rec = fx_alarm("a-1", kind, ANWANG__LEVEL__LEVEL_RED, now);
    Anwang__Batch b;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    fx_batch(&b, T_EPOCH, AW_LANE_URGENT, seq, &rec, 1);
    env.msg_case = ANWANG__ENVELOPE__MSG_BATCH;
    env.batch = &b;
    tc_send_env(d, &env);
    fx_batch_free(&b);
}

/* Waits until GET /api/v1/alarms?state=all shows alarm a-1 with @p active. */
static void s_wait_alarm(const t_api *a, bool active)
{
    int64_t end = tc_mono() + T_READY_MS;
    for (;;) {
        t_resp r = s_req(a, "GET", "/api/v1/alarms?state=all", T_VIEWER, NULL);
        json_t *al;
        size_t i;
        bool seen = false;
        json_array_foreach(json_object_get(r.json, "alarms"), i, al)
        {
            const char *id = json_string_value(json_object_get(al, "id"));
            seen = seen || (id && !strcmp(id, "a-1") &&
                            json_is_true(json_object_get(al, "active")) == active);
        }
        s_free(&r);
        if (seen)
            return;
        cr_assert_lt(tc_mono(), end, "alarm a-1 (active %d) never showed (log %s)", active,
                     a->c.log);
        poll(NULL, 0, 50);
    }
}

/* Receives Downs until the AlarmAck for a-1 by li.operator comes. */
static void s_wait_ack_down(const t_api *a, zsock_t *d)
{
    int64_t end = tc_mono() + T_READY_MS;
    for (;;) {
        cr_assert_lt(tc_mono(), end, "no AlarmAck came down (log %s)", a->c.log);
        Anwang__Envelope *env = tc_recv(d, 1000);
        bool ack = env && env->msg_case == ANWANG__ENVELOPE__MSG_DOWN &&
                   env->down->body_case == ANWANG__DOWN__BODY_ALARM_ACK &&
                   !strcmp(env->down->alarm_ack->alarm_id, "a-1") &&
                   !strcmp(env->down->alarm_ack->by, "li.operator");
        if (env)
            aw_codec_envelope_free(&env);
        if (ack)
            return;
    }
}

Test(api, an_alarm_ack_goes_down_to_the_edge_that_holds_the_alarm)
{
    t_api a;
    s_prepare(&a, 12);
    tc_path cert = tc_edge_cert(&a.c, T_EDGE, T_EDGE, "yueyang/rongjiawan", true);
    tc_start(&a.c);
    s_wait_ready(&a);
    s_import(&a);
    zsock_t *d = s_edge(&a, cert.path);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000;
    s_send_alarm(d, 1, ANWANG__ALARM_EVENT_KIND__ALARM_RAISED, now);
    s_wait_alarm(&a, true);
    t_resp r = s_req(&a, "POST", "/api/v1/alarms/a-1/ack", T_OPERATOR, "{\"note\": \"on it\"}");
    s_expect(&r, 202, "ack");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "edge")), T_EDGE, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "by")), "li.operator");
    cr_assert(json_is_true(json_object_get(r.json, "queued")));
    s_free(&r);
    s_wait_ack_down(&a, d);
    s_send_alarm(d, 2, ANWANG__ALARM_EVENT_KIND__ALARM_CLEARED, now + 1000);
    s_wait_alarm(&a, false);
    s_call(&a, "POST", "/api/v1/alarms/a-1/ack", T_OPERATOR, NULL, 409);
    zsock_destroy(&d);
    s_stop(&a);
}
