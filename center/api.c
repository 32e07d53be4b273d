/* api.c: the API's routing table, its checks (path, method, token, size,
 * content type), error answers, query parameters and the audit of writes.
 * The handlers are in api_views.c (GET) and api_writes.c (POST, PUT). */
#include "api_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dashboard.h"
#include "log.h"

/* Whether a route takes a body. */
enum { S_NOBODY = 0, S_OPTBODY, S_BODY };

typedef struct s_route {
    const char *method;
    const char *pattern; /* '*' = one path segment, the id */
    aw_role role;
    int body;
    aw_api_handler fn;
} s_route;

static const s_route s_routes[] = {
    {"GET", "/api/v1/picture", AW_ROLE_VIEWER, S_NOBODY, aw_api_get_picture},
    {"GET", "/api/v1/edges", AW_ROLE_VIEWER, S_NOBODY, aw_api_get_edges},
    {"GET", "/api/v1/devices/*", AW_ROLE_VIEWER, S_NOBODY, aw_api_get_device},
    {"GET", "/api/v1/alarms", AW_ROLE_VIEWER, S_NOBODY, aw_api_get_alarms},
    {"POST", "/api/v1/alarms/*/ack", AW_ROLE_OPERATOR, S_OPTBODY, aw_api_post_alarm_ack},
    {"GET", "/api/v1/hazards", AW_ROLE_VIEWER, S_NOBODY, aw_api_get_hazards},
    {"POST", "/api/v1/hazards", AW_ROLE_OPERATOR, S_BODY, aw_api_post_hazard},
    {"GET", "/api/v1/hazards/*", AW_ROLE_VIEWER, S_NOBODY, aw_api_get_hazard},
    {"POST", "/api/v1/hazards/*/events", AW_ROLE_OPERATOR, S_BODY, aw_api_post_hazard_event},
    {"GET", "/api/v1/alerts", AW_ROLE_VIEWER, S_NOBODY, aw_api_get_alerts},
    {"POST", "/api/v1/alerts", AW_ROLE_OPERATOR, S_BODY, aw_api_post_alert},
    {"GET", "/api/v1/alerts/*", AW_ROLE_VIEWER, S_NOBODY, aw_api_get_alert},
    {"POST", "/api/v1/alerts/*/cancel", AW_ROLE_OPERATOR, S_OPTBODY, aw_api_post_alert_cancel},
    {"GET", "/api/v1/alerts/*/cap", AW_ROLE_VIEWER, S_NOBODY, aw_api_get_alert_cap},
    {"GET", "/api/v1/registry", AW_ROLE_VIEWER, S_NOBODY, aw_api_get_registry},
    {"PUT", "/api/v1/registry", AW_ROLE_ADMIN, S_BODY, aw_api_put_registry},
    {"GET", "/api/v1/status", AW_ROLE_VIEWER, S_NOBODY, aw_api_get_status},
    {"GET", "/api/v1/audit", AW_ROLE_ADMIN, S_NOBODY, aw_api_get_audit},
    {"GET", "/metrics", AW_ROLE_VIEWER, S_NOBODY, aw_api_get_metrics},
};

#define S_NROUTES (sizeof s_routes / sizeof s_routes[0])
/* Longest id segment accepted in a path. */
#define S_ID_MAX 255

/* ------------------------------------------------------------ life */

int aw_api_new(const aw_api_opts *opts, aw_tokens_t *tokens, aw_api_t **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return AW_ENOMEM;
    (*out)->o = *opts;
    if (!(*out)->o.max_body)
        (*out)->o.max_body = AW_API_MAX_BODY;
    (*out)->tokens = tokens;
    return AW_OK;
}

void aw_api_destroy(aw_api_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aw_tokens_destroy(&(*self_p)->tokens);
    free(*self_p);
    *self_p = NULL;
}

void aw_api_set_tokens(aw_api_t *self, aw_tokens_t *tokens)
{
    aw_tokens_destroy(&self->tokens);
    self->tokens = tokens;
}

void aw_api_count(aw_api_t *self, int status)
{
    aw_metrics_count(self->o.metrics, status);
}

void aw_api_response_clear(aw_api_response *resp)
{
    free(resp->owned);
    memset(resp, 0, sizeof *resp);
}

static int64_t s_now(const aw_api_t *self)
{
    if (self->o.now_ms)
        return self->o.now_ms();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ answers */

void aw_api_bytes(aw_api_ctx *c, int status, const char *type, char *data, size_t len)
{
    aw_api_response_clear(c->resp);
    c->resp->status = status;
    c->resp->content_type = type;
    c->resp->body = c->resp->owned = data;
    c->resp->len = len;
}

/* The last resort when even the error cannot be built. */
static void s_oom(aw_api_ctx *c)
{
    static const char text[] = "{\"error\":\"out-of-memory\",\"detail\":\"the center is out of "
                               "memory; try again\"}";
    aw_api_response_clear(c->resp);
    c->resp->status = 500;
    c->resp->content_type = "application/json";
    c->resp->body = text;
    c->resp->len = sizeof text - 1;
}

void aw_api_json(aw_api_ctx *c, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        s_oom(c);
        return;
    }
    aw_api_bytes(c, status, "application/json", text, strlen(text));
}

void aw_api_error(aw_api_ctx *c, int status, const char *error, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    aw_api_json(c, status, json_pack("{s:s, s:s}", "error", error, "detail", detail));
}

void aw_api_fail(aw_api_ctx *c, int rv, const char *why)
{
    const char *detail = why && *why ? why : aw_strerror(rv);
    switch (rv) {
    case AW_EINVAL:
    case AW_EDECODE:
    case AW_ERANGE:
    case AW_EENUM:
    case AW_EUTF8:
    case AW_ENOTFINITE:
        aw_api_error(c, 400, "bad-request", "%s", detail);
        break;
    case AW_ENOTFOUND:
        aw_api_error(c, 404, "not-found", "%s", detail);
        break;
    case AW_ESTATE:
    case AW_EEXIST:
        aw_api_error(c, 409, "conflict", "%s", detail);
        break;
    case AW_ETOOBIG:
        aw_api_error(c, 413, "too-big", "%s", detail);
        break;
    case AW_EPERM:
        aw_api_error(c, 403, "forbidden", "%s", detail);
        break;
    case AW_EFULL:
    case AW_EURGENTFULL:
    case AW_EAGAIN:
        aw_api_error(c, 503, "unavailable", "the center's store is full or busy: %s", detail);
        break;
    default:
        aw_api_error(c, 500, "internal", "the center failed: %s", detail);
    }
}

/* ------------------------------------------------------------ query parameters */

static const char *s_arg(aw_api_ctx *c, const char *name)
{
    return c->req->arg ? c->req->arg(c->req->arg_ctx, name) : NULL;
}

bool aw_api_arg_int(aw_api_ctx *c, const char *name, int64_t min, int64_t max, int64_t def,
                    int64_t *out)
{
    const char *v = s_arg(c, name);
    *out = def;
    if (!v)
        return true;
    char *end = NULL;
    long long n = (*v >= '0' && *v <= '9') ? strtoll(v, &end, 10) : -1;
    if (!end || *end || n < min || n > max) {
        aw_api_error(c, 400, "bad-parameter", "%s=%.64s: expected an integer %lld..%lld", name, v,
                     (long long)min, (long long)max);
        return false;
    }
    *out = n;
    return true;
}

bool aw_api_arg_enum(aw_api_ctx *c, const char *name, const char *const *choices, int def, int *out)
{
    const char *v = s_arg(c, name);
    *out = def;
    if (!v)
        return true;
    for (int i = 0; choices[i]; i++)
        if (!strcmp(v, choices[i])) {
            *out = i;
            return true;
        }
    char list[256] = "";
    for (int i = 0; choices[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 choices[i]);
    aw_api_error(c, 400, "bad-parameter", "%s=%.64s: expected one of %s", name, v, list);
    return false;
}

/* Lowercase [a-z0-9-] segments joined by '/' (SPEC §1). */
static bool s_grid_path_ok(const char *p)
{
    size_t n = strlen(p), seg = 0;
    if (n == 0 || n > 256)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '/') {
            if (seg == 0)
                return false;
            seg = 0;
        } else if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-') {
            seg++;
        } else {
            return false;
        }
    }
    return seg > 0;
}

bool aw_api_arg_path(aw_api_ctx *c, const char *name, const char **out)
{
    *out = s_arg(c, name);
    if (!*out || s_grid_path_ok(*out))
        return true;
    aw_api_error(c, 400, "bad-parameter", "%s=%.64s: expected a grid path like yueyang/rongjiawan",
                 name, *out);
    return false;
}

aw_txn_t *aw_api_read_txn(aw_api_ctx *c)
{
    if (c->txn)
        return c->txn;
    int rv = aw_store_begin_read(aw_center_db_store(c->api->o.db), &c->txn);
    if (rv != AW_OK) {
        c->txn = NULL;
        aw_api_fail(c, rv, "cannot read the store");
    }
    return c->txn;
}

/* ------------------------------------------------------------ routing */

/* Matches @p path against @p pattern; the '*' segment goes into @p id. */
static bool s_match(const char *pattern, const char *path, char *id, size_t id_cap)
{
    while (*pattern && *path) {
        if (*pattern == '*') {
            size_t n = strcspn(path, "/");
            if (n == 0 || n >= id_cap)
                return false;
            memcpy(id, path, n);
            id[n] = '\0';
            path += n, pattern++;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return !*pattern && !*path;
}

/* HEAD is answered as GET (the HTTP layer sends no body). */
static bool s_same_method(const char *route, const char *method)
{
    return !strcmp(route, method) || (!strcmp(route, "GET") && !strcmp(method, "HEAD"));
}

/* The route for the request, or NULL with a 404 or 405 answer in c->resp. */
static const s_route *s_find(aw_api_ctx *c, char *id, size_t id_cap)
{
    char allow[64] = "";
    for (size_t i = 0; i < S_NROUTES; i++) {
        if (!s_match(s_routes[i].pattern, c->req->path, id, id_cap))
            continue;
        if (s_same_method(s_routes[i].method, c->req->method))
            return &s_routes[i];
        if (!strstr(allow, s_routes[i].method))
            snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                     *allow ? ", " : "", s_routes[i].method);
    }
    if (*allow) {
        aw_api_error(c, 405, "method-not-allowed", "%s %s: this path allows %s", c->req->method,
                     c->req->path, allow);
        snprintf(c->resp->allow, sizeof c->resp->allow, "%s", allow);
    } else {
        aw_api_error(c, 404, "not-found", "no such path: %.200s (see center/API.md)", c->req->path);
    }
    return NULL;
}

/* ------------------------------------------------------------ checks */

/* "Bearer TOKEN" (scheme case-insensitive) → the token's role and name. */
static bool s_auth(aw_api_ctx *c)
{
    const char *h = c->req->authorization;
    if (h && !strncasecmp(h, "Bearer ", 7)) {
        h += 7;
        while (*h == ' ')
            h++;
        size_t n = strcspn(h, " \t");
        if (n > 0 && aw_tokens_lookup(c->api->tokens, h, n, &c->role, &c->who) == AW_OK)
            return true;
    }
    aw_api_error(c, 401, "unauthorized",
                 h ? "unknown token: send Authorization: Bearer TOKEN with a token of the tokens "
                     "file"
                   : "no token: send Authorization: Bearer TOKEN (the tokens file lists them)");
    c->resp->challenge = true;
    return false;
}

static bool s_json_type(const char *t)
{
    if (!t)
        return false;
    while (*t == ' ')
        t++;
    size_t n = strlen("application/json");
    return !strncasecmp(t, "application/json", n) && (t[n] == '\0' || t[n] == ';' || t[n] == ' ');
}

static size_t s_limit(const aw_api_ctx *c, const s_route *r)
{
    if (r->fn == aw_api_put_registry)
        return AW_API_MAX_REGISTRY;
    return r->body == S_NOBODY ? 0 : c->api->o.max_body;
}

/* Path, method, token, size (@p len, -1 unknown), content type. NULL and
 * an answer in c->resp when refused. */
static const s_route *s_check(aw_api_ctx *c, char *id, int64_t len)
{
    const s_route *r = s_find(c, id, S_ID_MAX + 1);
    if (!r || !s_auth(c))
        return NULL;
    if (c->role < r->role) {
        aw_api_error(c, 403, "forbidden", "%s %s needs the %s role; this token is %s",
                     c->req->method, c->req->path, aw_role_name(r->role), aw_role_name(c->role));
        return NULL;
    }
    size_t limit = s_limit(c, r);
    if (r->body != S_NOBODY && len > (int64_t)limit) {
        aw_api_error(c, 413, "too-big", "the body is over the limit of %zu bytes", limit);
        return NULL;
    }
    if (r->body != S_NOBODY && len != 0 && !s_json_type(c->req->content_type)) {
        aw_api_error(c, 415, "unsupported-media-type",
                     "Content-Type is %.64s: send the body as application/json",
                     c->req->content_type ? c->req->content_type : "missing");
        return NULL;
    }
    return r;
}

static void s_ctx(aw_api_ctx *c, aw_api_t *self, const aw_api_request *req, aw_api_response *resp)
{
    memset(c, 0, sizeof *c);
    memset(resp, 0, sizeof *resp);
    c->api = self, c->req = req, c->resp = resp;
    c->who = "";
    c->now_ms = s_now(self);
}

static bool s_is_write(const char *method)
{
    return !strcmp(method, "POST") || !strcmp(method, "PUT");
}

/* One audit record for a write by a known token, whatever its answer. */
static void s_audit(aw_api_ctx *c)
{
    if (c->role == AW_ROLE_NONE || !s_is_write(c->req->method) || !c->api->o.audit)
        return;
    aw_audit_entry e = {
        .time_ms = c->now_ms,
        .who = c->who,
        .role = aw_role_name(c->role),
        .method = c->req->method,
        .path = c->req->path,
        .status = c->resp->status,
        .object = *c->object ? c->object : (c->id ? c->id : NULL),
    };
    aw_info("api: %s (%s) %s %s: %d%s%s", e.who, e.role, e.method, e.path, e.status,
            e.object ? " " : "", e.object ? e.object : "");
    int rv = aw_audit_add(c->api->o.audit, &e);
    if (rv != AW_OK) /* the answer stands: the change (if any) is committed already */
        aw_error("api: audit record not stored: %s", aw_strerror(rv));
}

/* GET of a dashboard file (no token), or NULL when @p path is not one. */
static bool s_dashboard(aw_api_ctx *c)
{
    const char *p = c->req->path;
    if (!strncmp(p, "/api/", 5) || !strcmp(p, "/api") || !strcmp(p, "/metrics"))
        return false;
    const aw_dashboard_asset *a = aw_dashboard_find(p);
    if (!a)
        return false;
    if (!s_same_method("GET", c->req->method)) {
        aw_api_error(c, 405, "method-not-allowed", "%s %s: this path allows GET", c->req->method,
                     p);
        snprintf(c->resp->allow, sizeof c->resp->allow, "GET");
        return true;
    }
    c->resp->status = 200;
    c->resp->content_type = a->content_type;
    c->resp->body = a->data;
    c->resp->len = a->len;
    return true;
}

bool aw_api_precheck(aw_api_t *self, const aw_api_request *req, int64_t content_length,
                     size_t *limit, aw_api_response *resp)
{
    aw_api_ctx c;
    char id[S_ID_MAX + 1];
    s_ctx(&c, self, req, resp);
    *limit = 0;
    if (s_dashboard(&c)) {
        if (resp->status == 200) /* answered after the body (if any) is drained */
            aw_api_response_clear(resp);
        return resp->status != 0;
    }
    const s_route *r = s_check(&c, id, content_length);
    if (!r) {
        s_audit(&c);
        return true;
    }
    *limit = s_limit(&c, r);
    return false;
}

void aw_api_too_big(aw_api_t *self, const aw_api_request *req, size_t limit, aw_api_response *resp)
{
    aw_api_ctx c;
    s_ctx(&c, self, req, resp);
    char id[S_ID_MAX + 1];
    if (!s_find(&c, id, sizeof id) || !s_auth(&c)) /* cannot happen after the precheck */
        return;
    aw_api_error(&c, 413, "too-big", "the body is over the limit of %zu bytes", limit);
    s_audit(&c);
}

void aw_api_handle(aw_api_t *self, const aw_api_request *req, aw_api_response *resp)
{
    aw_api_ctx c;
    char id[S_ID_MAX + 1];
    s_ctx(&c, self, req, resp);
    if (s_dashboard(&c))
        return;
    const s_route *r = s_check(&c, id, (int64_t)(req->body ? req->body_len : 0));
    if (r && r->body == S_BODY && (!req->body || req->body_len == 0)) {
        aw_api_error(&c, 400, "bad-request", "%s %s needs a JSON body", req->method, req->path);
        r = NULL;
    }
    if (r) {
        c.id = strchr(r->pattern, '*') ? id : NULL;
        r->fn(&c);
    }
    aw_txn_abort(&c.txn);
    s_audit(&c);
}
