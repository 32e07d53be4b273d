/* http.c: libmicrohttpd in epoll mode, driven by the center's loop; reads
 * each request's body within its limit and answers through api.h. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

struct aw_http {
    struct MHD_Daemon *d;
    aw_api_t *api;
    int fd;
};

/* One request in progress (MHD's con_cls). */
typedef struct s_req {
    aw_api_response early; /* set when the precheck refused it */
    bool refused;
    size_t limit;
    bool too_big;
    char *body;
    size_t len, cap;
} s_req;

/* ------------------------------------------------------------ bind */

/* "A.B.C.D:PORT" or "[v6]:PORT" into @p ss. */
static int s_parse_bind(const char *bind, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char host[64];
    const char *colon = strrchr(bind, ':');
    if (!colon || colon == bind || (size_t)(colon - bind) >= sizeof host)
        return AW_EINVAL;
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end || port < 1 || port > 65535)
        return AW_EINVAL;
    memcpy(host, bind, (size_t)(colon - bind));
    host[colon - bind] = '\0';
    memset(ss, 0, sizeof *ss);
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        host[hl - 1] = '\0';
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *sslen = sizeof *a;
        return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? AW_OK : AW_EINVAL;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *sslen = sizeof *a;
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? AW_OK : AW_EINVAL;
}

int aw_http_bind_check(const char *bind)
{
    struct sockaddr_storage ss;
    socklen_t len;
    return s_parse_bind(bind, &ss, &len);
}

/* ------------------------------------------------------------ answers */

static const char *s_arg(void *arg, const char *name)
{
    return MHD_lookup_connection_value(arg, MHD_GET_ARGUMENT_KIND, name);
}

static void s_request(struct MHD_Connection *conn, const char *url, const char *method,
                      const s_req *r, aw_api_request *req)
{
    memset(req, 0, sizeof *req);
    req->method = method;
    req->path = url;
    req->arg = s_arg;
    req->arg_ctx = conn;
    req->authorization =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    req->content_type =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    req->body = r ? r->body : NULL;
    req->body_len = r ? r->len : 0;
}

/* Queues @p a (its owned body is taken over) and counts it. */
static enum MHD_Result s_send(aw_http_t *self, struct MHD_Connection *conn, const char *url,
                              aw_api_response *a)
{
    struct MHD_Response *resp;
    if (a->owned && a->owned == a->body) {
        resp = MHD_create_response_from_buffer(a->len, a->owned, MHD_RESPMEM_MUST_FREE);
        if (resp)
            a->owned = NULL;
    } else {
        resp = MHD_create_response_from_buffer(a->len, (void *)a->body, MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            a->content_type ? a->content_type : "application/json");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (!strncmp(url, "/api/", 5) || !strcmp(url, "/metrics"))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (*a->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, a->allow);
    if (a->challenge)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"anwang\"");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)a->status, resp);
    MHD_destroy_response(resp);
    aw_api_count(self->api, a->status);
    if (a->status >= 500)
        aw_warn("http: %u answered to %s", (unsigned)a->status, url);
    aw_api_response_clear(a);
    return ok;
}

/* ------------------------------------------------------------ the access handler */

static int64_t s_content_length(struct MHD_Connection *conn)
{
    const char *v =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end = NULL;
    if (!v) /* no length and not chunked: no body (RFC 9112 §6.3) */
        return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING)
                   ? -1
                   : 0;
    long long n = strtoll(v, &end, 10);
    return end && !*end && n >= 0 ? (int64_t)n : -1;
}

/* First call: headers are in. A request with a body gets the precheck, and
 * a refusal is answered now, before the body is read (MHD then closes the
 * connection); one without a body is answered whole at the last call, so
 * its connection stays open for the next request. */
static enum MHD_Result s_begin(aw_http_t *self, struct MHD_Connection *conn, const char *url,
                               const char *method, void **con_cls)
{
    s_req *r = calloc(1, sizeof *r);
    if (!r)
        return MHD_NO;
    *con_cls = r;
    int64_t length = s_content_length(conn);
    if (length == 0)
        return MHD_YES;
    aw_api_request req;
    s_request(conn, url, method, NULL, &req);
    r->refused = aw_api_precheck(self->api, &req, length, &r->limit, &r->early);
    if (r->refused)
        return s_send(self, conn, url, &r->early);
    return MHD_YES;
}

/* Appends a piece of the body, or notes it went over the limit. */
static enum MHD_Result s_body(s_req *r, const char *data, size_t n)
{
    if (r->too_big || n > r->limit - r->len) {
        r->too_big = true;
        free(r->body);
        r->body = NULL;
        r->len = r->cap = 0;
        return MHD_YES;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b)
            return MHD_NO;
        r->body = b, r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return MHD_YES;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls)
{
    (void)version;
    aw_http_t *self = cls;
    s_req *r = *con_cls;
    if (!r)
        return s_begin(self, conn, url, method, con_cls);
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return r->refused ? MHD_YES : s_body(r, upload_data, n);
    }
    if (r->refused)
        return MHD_YES; /* answered at the first call */
    aw_api_request req;
    aw_api_response a;
    s_request(conn, url, method, r, &req);
    if (r->too_big)
        aw_api_too_big(self->api, &req, r->limit, &a);
    else
        aw_api_handle(self->api, &req, &a);
    r->refused = true; /* answered: further calls do nothing */
    return s_send(self, conn, url, &a);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    s_req *r = *con_cls;
    if (!r)
        return;
    aw_api_response_clear(&r->early);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    aw_warn("http: %s", line);
}

/* ------------------------------------------------------------ life */

int aw_http_new(const aw_http_opts *opts, aw_api_t *api, aw_http_t **out)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    *out = NULL;
    if (s_parse_bind(opts->bind, &ss, &sslen) != AW_OK) {
        aw_error("[http] bind: \"%s\" is not ADDRESS:PORT", opts->bind);
        return AW_EINVAL;
    }
    aw_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return AW_ENOMEM;
    self->api = api;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    self->d = MHD_start_daemon(
        flags, 0, NULL, NULL, s_access, self, MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
        opts->max_conns ? opts->max_conns : 64u, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        opts->per_ip ? opts->per_ip : 32u, MHD_OPTION_CONNECTION_TIMEOUT,
        opts->timeout_s ? opts->timeout_s : 30u, MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_END); /* the logger first, so MHD never prints on its own */
    const union MHD_DaemonInfo *info =
        self->d ? MHD_get_daemon_info(self->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    if (!info) {
        aw_error("[http] bind: cannot listen on %s: %s", opts->bind, strerror(errno));
        aw_http_destroy(&self);
        return AW_EIO;
    }
    self->fd = info->epoll_fd;
    *out = self;
    return AW_OK;
}

void aw_http_destroy(aw_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->d)
        MHD_stop_daemon((*self_p)->d);
    free(*self_p);
    *self_p = NULL;
}

int aw_http_fd(const aw_http_t *self)
{
    return self->fd;
}

long aw_http_timeout_ms(aw_http_t *self, long max)
{
    MHD_UNSIGNED_LONG_LONG t = 0;
    if (MHD_get_timeout(self->d, &t) == MHD_YES && t < (MHD_UNSIGNED_LONG_LONG)max)
        return (long)t;
    return max;
}

void aw_http_run(aw_http_t *self)
{
    MHD_run(self->d);
}
