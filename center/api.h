/**
 * @file api.h
 * @brief The county center's HTTP API (SPEC §8, center/API.md) without the
 * HTTP: routing, bearer-token roles, the JSON handlers, errors, audit.
 *
 * http.c feeds it requests (method, path, query, headers, body) and sends
 * back what it answers; tests and the fuzz target call it directly. The
 * order of the checks is: path (404), method (405 with Allow), token (401
 * with WWW-Authenticate, 403 for a role too low), body size (413), content
 * type (415), then the handler (400 / 404 / 409 / 2xx / 5xx). A refused
 * request changes nothing. Each write by a known token (POST, PUT; refused
 * or not) adds an audit record (audit.h) with its status and the id it
 * made or touched.
 *
 * Reads use one read transaction per request. Writes go through the
 * services (registry_svc.h, hazard_svc.h, alert_svc.h, down.h), each of
 * which commits or changes nothing. Single-threaded: the center's loop.
 */
#ifndef AW_CENTER_API_H
#define AW_CENTER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert_svc.h"
#include "audit.h"
#include "aw_err.h"
#include "db.h"
#include "hazard_svc.h"
#include "metrics.h"
#include "picture.h"
#include "registry_svc.h"
#include "tokens.h"

/** Body limit of every request but the registry import. */
#define AW_API_MAX_BODY (1u << 20)
/** Body limit of PUT /api/v1/registry. */
#define AW_API_MAX_REGISTRY (16u << 20)

/** What the API works on; all borrowed, must outlive the API. */
typedef struct aw_api_opts {
    aw_center_db_t *db;
    aw_picture_t *picture;
    aw_registry_svc_t *registry;
    aw_hazard_svc_t *hazards;
    aw_alert_svc_t *alerts;
    aw_audit_t *audit;
    aw_metrics_t *metrics;
    const char *center_id;   /**< [center] id */
    const char *center_name; /**< [center] name ("" = none) */
    const char *version;     /**< the program's version */
    int64_t started_ms;      /**< wall time the center started */
    size_t max_body;         /**< 0 = AW_API_MAX_BODY (the registry keeps its own limit) */
    int64_t (*now_ms)(void); /**< wall clock (NULL = CLOCK_REALTIME) */
} aw_api_opts;

typedef struct aw_api aw_api_t;

/** Looks up query parameter @p name; NULL when absent. */
typedef const char *(*aw_api_arg_fn)(void *arg, const char *name);

/** One request; everything borrowed for the call. */
typedef struct aw_api_request {
    const char *method;        /**< "GET", "POST", ... */
    const char *path;          /**< URL path, percent-decoded, no query */
    aw_api_arg_fn arg;         /**< query parameters (NULL = none) */
    void *arg_ctx;             /**< passed to @p arg */
    const char *authorization; /**< the Authorization header (NULL = none) */
    const char *content_type;  /**< the Content-Type header (NULL = none) */
    const char *body;          /**< NULL when none */
    size_t body_len;
} aw_api_request;

/** One answer. Free its body with aw_api_response_clear(). */
typedef struct aw_api_response {
    int status;
    const char *content_type; /**< static text */
    const void *body;         /**< the bytes to send (owned or static, see below) */
    size_t len;
    void *owned;    /**< what to free(): body when it was made for this answer */
    char allow[64]; /**< the Allow header of a 405 ("" = none) */
    bool challenge; /**< send WWW-Authenticate: Bearer realm="anwang" */
} aw_api_response;

/**
 * Makes the API over @p opts (copied; what it points to is borrowed) and
 * takes over @p tokens (may be NULL: every token is unknown). Returns
 * AW_OK or AW_ENOMEM (then @p tokens stays the caller's).
 */
int aw_api_new(const aw_api_opts *opts, aw_tokens_t *tokens, aw_api_t **out);

/** Frees the API and its tokens; nulls *self_p. Safe on NULL and twice. */
void aw_api_destroy(aw_api_t **self_p);

/** Replaces the token set (SIGHUP); takes over @p tokens, frees the old set. */
void aw_api_set_tokens(aw_api_t *self, aw_tokens_t *tokens);

/**
 * The early checks, made when the headers are in and before the body is
 * read: path, method, token, Content-Length (@p content_length, -1 when
 * unknown) and content type. Returns true and fills @p resp when the
 * request is refused already (answer it and ignore the body); else false
 * and *limit is the largest body this request may have.
 */
bool aw_api_precheck(aw_api_t *self, const aw_api_request *req, int64_t content_length,
                     size_t *limit, aw_api_response *resp);

/** Answers @p req (all checks again, then the handler) into @p resp. */
void aw_api_handle(aw_api_t *self, const aw_api_request *req, aw_api_response *resp);

/** The 413 answer for a body over @p limit (the HTTP layer stops reading). */
void aw_api_too_big(aw_api_t *self, const aw_api_request *req, size_t limit, aw_api_response *resp);

/** Frees what @p resp owns and zeroes it. Safe twice. */
void aw_api_response_clear(aw_api_response *resp);

/** Counts an answered request in /metrics (the HTTP layer calls it once per answer). */
void aw_api_count(aw_api_t *self, int status);

#endif
