/**
 * @file http.h
 * @brief The HTTP server of the API (libmicrohttpd) inside the center's
 * zmq_poll loop: no threads of its own.
 *
 * MHD runs in epoll mode without an internal thread: the loop adds
 * aw_http_fd() to its poll items, bounds its wait by aw_http_timeout_ms()
 * and calls aw_http_run() every turn. Connections are limited in number
 * and time (a slow client is dropped after the timeout), bodies are read
 * up to the route's limit (aw_api_precheck()) and each complete request is
 * answered by aw_api_handle(). Single-threaded.
 */
#ifndef AW_CENTER_HTTP_H
#define AW_CENTER_HTTP_H

#include "api.h"
#include "aw_err.h"

typedef struct aw_http_opts {
    const char *bind;   /**< "ADDRESS:PORT", IPv6 as "[ADDRESS]:PORT" */
    unsigned max_conns; /**< concurrent connections (0 = 64) */
    unsigned per_ip;    /**< concurrent connections per client address (0 = 32) */
    unsigned timeout_s; /**< idle connection timeout (0 = 30 s) */
} aw_http_opts;

typedef struct aw_http aw_http_t;

/**
 * Parses "ADDRESS:PORT" (numeric IPv4, or [IPv6]) and checks PORT 1..65535.
 * Returns AW_OK or AW_EINVAL. For the config check.
 */
int aw_http_bind_check(const char *bind);

/**
 * Listens on opts->bind and answers through @p api (borrowed, must outlive
 * the server). Logs why on failure. Returns AW_OK, AW_EINVAL (bad bind),
 * AW_EIO (cannot listen, e.g. the port is taken), AW_ENOMEM.
 */
int aw_http_new(const aw_http_opts *opts, aw_api_t *api, aw_http_t **out);

/** Closes every connection and the socket; nulls *self_p. Safe on NULL and twice. */
void aw_http_destroy(aw_http_t **self_p);

/** The fd to poll for input (MHD's epoll fd). */
int aw_http_fd(const aw_http_t *self);

/** How long the loop may wait before aw_http_run() is due: at most @p max ms. */
long aw_http_timeout_ms(aw_http_t *self, long max);

/** Does whatever is pending (accepts, reads, answers, timeouts); cheap when nothing is. */
void aw_http_run(aw_http_t *self);

#endif
