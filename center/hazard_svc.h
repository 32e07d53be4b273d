/**
 * @file hazard_svc.h
 * @brief The hazard ledger (一单四制, SPEC §6) at the center: reports and
 * lifecycle events made by operators, the automatic overdue notify, and
 * the ledger queries of the API.
 *
 * A center-made event is stored in `hazards` (set union, db.h), the picture
 * is told (aw_picture_hazard_changed()) and the event is queued down to the
 * edge whose zone holds the hazard's site, all in one transaction. Events
 * made at edges arrive through replication (apply.c) and reach the picture
 * through the record hook. Events are checked against the fold first: one
 * that the ledger would reject at its place is refused (AW_ESTATE, with the
 * ledger's reason) and nothing is stored.
 *
 * Origin of center-made events: the center's id. Single-threaded.
 */
#ifndef AW_CENTER_HAZARD_SVC_H
#define AW_CENTER_HAZARD_SVC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "aw_err.h"
#include "db.h"
#include "hlc.h"
#include "picture.h"
#include "registry_svc.h"

typedef struct aw_hazard_svc aw_hazard_svc_t;

/** All borrowed; must outlive the service. */
typedef struct aw_hazard_svc_opts {
    aw_center_db_t *db;
    aw_picture_t *picture;
    aw_registry_svc_t *registry;
    aw_hlc *hlc;        /**< the center's clock (persisted through the store's floor) */
    const char *origin; /**< the center's id */
} aw_hazard_svc_opts;

int aw_hazard_svc_new(const aw_hazard_svc_opts *opts, aw_hazard_svc_t **out);
void aw_hazard_svc_destroy(aw_hazard_svc_t **self_p);

/**
 * POST /api/v1/hazards: a report (SPEC §6 JSON) by @p who. On AW_OK *out is
 * the hazard object (API.md; caller's). Errors: the reader's (hazard_json.h)
 * with @p why; AW_ENOTFOUND (site not in the registry) with @p why; AW_ESTATE
 * when there is no registry; store errors.
 */
int aw_hazard_svc_report(aw_hazard_svc_t *self, const char *json, size_t len, const char *who,
                         int64_t now_ms, json_t **out, char *why, size_t why_len);

/**
 * POST /api/v1/hazards/<id>/events. AW_ENOTFOUND (no such hazard);
 * AW_ESTATE (the fold would reject it; @p why is the ledger's reason); the
 * reader's errors with @p why.
 */
int aw_hazard_svc_event(aw_hazard_svc_t *self, const char *id, const char *json, size_t len,
                        const char *who, int64_t now_ms, json_t **out, char *why, size_t why_len);

/** GET /api/v1/hazards: {"hazards": [...]} at most @p limit (0 = 1000). */
int aw_hazard_svc_list_json(aw_hazard_svc_t *self, aw_txn_t *txn, const aw_hazard_filter *f,
                            int64_t now_ms, size_t limit, json_t **out);

/** GET /api/v1/hazards/<id>: summary + "ledger". AW_ENOTFOUND. */
int aw_hazard_svc_get_json(aw_hazard_svc_t *self, aw_txn_t *txn, const char *id, int64_t now_ms,
                           json_t **out);

/**
 * The loop's timer: marks overdue hazards (aw_picture_overdue_scan()) and
 * adds one automatic notify per newly overdue hazard (audience
 * "safety-bureau", by "anwang-center", text naming the deadline), queued
 * down like any center event. *notified (may be NULL) gets the count.
 */
int aw_hazard_svc_tick(aw_hazard_svc_t *self, int64_t now_ms, size_t *notified);

#endif
