/*
 * api_int.h: what api.c (routing, checks, errors) shares with its handler
 * files api_views.c (GET) and api_writes.c (POST, PUT). Not a public
 * header: the API's users include api.h.
 */
#ifndef AW_CENTER_API_INT_H
#define AW_CENTER_API_INT_H

#include <jansson.h>

#include "api.h"

struct aw_api {
    aw_api_opts o;
    aw_tokens_t *tokens;
};

/** One request being answered. */
typedef struct aw_api_ctx {
    aw_api_t *api;
    const aw_api_request *req;
    aw_api_response *resp;
    const char *id;  /**< the path's `*` segment (NUL-terminated copy), or NULL */
    const char *who; /**< the token's NAME */
    aw_role role;
    int64_t now_ms;
    aw_txn_t *txn;    /**< the request's read transaction (aw_api_read_txn), or NULL */
    char object[256]; /**< what the audit record names ("" = none) */
} aw_api_ctx;

/** A handler: fills c->resp. */
typedef void (*aw_api_handler)(aw_api_ctx *c);

/* ---- answers (api.c) */

/** An error answer {"error", "detail"} with @p status. */
void aw_api_error(aw_api_ctx *c, int status, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** The answer for a service's error code @p rv with its reason @p why. */
void aw_api_fail(aw_api_ctx *c, int rv, const char *why);

/** Answers @p status with @p body (stolen reference; NULL = out of memory → 500). */
void aw_api_json(aw_api_ctx *c, int status, json_t *body);

/** Answers @p status with @p len bytes of @p type, taking over @p data (malloc'd). */
void aw_api_bytes(aw_api_ctx *c, int status, const char *type, char *data, size_t len);

/* ---- query parameters (api.c); each answers 400 itself and returns false */

/** An integer parameter in [min, max], or @p def when absent. */
bool aw_api_arg_int(aw_api_ctx *c, const char *name, int64_t min, int64_t max, int64_t def,
                    int64_t *out);

/** One of @p choices (NULL-terminated) → its index, or @p def when absent. */
bool aw_api_arg_enum(aw_api_ctx *c, const char *name, const char *const *choices, int def,
                     int *out);

/** A grid path parameter (NULL when absent). */
bool aw_api_arg_path(aw_api_ctx *c, const char *name, const char **out);

/** A read transaction on the center's store; answers 500 and returns NULL on failure. */
aw_txn_t *aw_api_read_txn(aw_api_ctx *c);

/* ---- handlers */

void aw_api_get_picture(aw_api_ctx *c);
void aw_api_get_edges(aw_api_ctx *c);
void aw_api_get_device(aw_api_ctx *c);
void aw_api_get_alarms(aw_api_ctx *c);
void aw_api_get_hazards(aw_api_ctx *c);
void aw_api_get_hazard(aw_api_ctx *c);
void aw_api_get_alerts(aw_api_ctx *c);
void aw_api_get_alert(aw_api_ctx *c);
void aw_api_get_alert_cap(aw_api_ctx *c);
void aw_api_get_registry(aw_api_ctx *c);
void aw_api_get_status(aw_api_ctx *c);
void aw_api_get_audit(aw_api_ctx *c);
void aw_api_get_metrics(aw_api_ctx *c);

void aw_api_post_alarm_ack(aw_api_ctx *c);
void aw_api_post_hazard(aw_api_ctx *c);
void aw_api_post_hazard_event(aw_api_ctx *c);
void aw_api_post_alert(aw_api_ctx *c);
void aw_api_post_alert_cancel(aw_api_ctx *c);
void aw_api_put_registry(aw_api_ctx *c);

#endif
