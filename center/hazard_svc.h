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
 * Each call that adds events runs in ONE write transaction (events, HLC
 * floor via aw_txn_note_hlc(), picture, down queue), so a crash leaves all
 * or nothing of it. A retried HTTP request makes a second event with a new
 * stamp; the ledger shows it as such (a second note, or a transition the
 * fold refuses: AW_ESTATE).
 *
 * Stamps: a report takes aw_hlc_now() (a major one two more, for the
 * notifies of 双报告). A lifecycle event takes a stamp above every stored
 * event of its hazard (aw_hlc_update() with the highest one), so it folds
 * after everything the operator could see, even events of an edge whose
 * clock runs ahead; when that stamp is too far ahead (aw_hlc_update()
 * refuses), aw_hlc_now(), and then an event that would fold before stored
 * ones and make the fold reject one of them is refused too (AW_ESTATE, "it
 * would fold before a later event and overturn it").
 *
 * Down: each new event is queued (aw_center_down_enqueue_txn()) to every
 * edge of the `edges` table that said Hello (epoch ≠ 0) and whose zone
 * holds the hazard's site. An edge that never said Hello gets nothing
 * queued: its first Hello's snapshot carries the open hazards.
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

/** All borrowed and required; must outlive the service. */
typedef struct aw_hazard_svc_opts {
    aw_center_db_t *db;
    aw_picture_t *picture;
    aw_registry_svc_t *registry;
    aw_hlc *hlc;        /**< the center's clock (persisted through the store's floor) */
    const char *origin; /**< the center's id */
} aw_hazard_svc_opts;

/**
 * Makes the service. Returns AW_OK; AW_EINVAL when an option is missing or
 * the origin breaks hazard_json.h's origin rule; AW_ENOMEM.
 */
int aw_hazard_svc_new(const aw_hazard_svc_opts *opts, aw_hazard_svc_t **out);
void aw_hazard_svc_destroy(aw_hazard_svc_t **self_p);

/**
 * POST /api/v1/hazards: a report (SPEC §6 JSON) by @p who (the API token's
 * name; may be NULL). A major report also gets the two notifies of 双报告.
 * On AW_OK *out is the hazard object as aw_hazard_svc_get_json() gives it
 * ("id" top level; caller's, json_decref()). On error *out is NULL, nothing
 * is stored and @p why (may be NULL) holds a one-line reason. Errors: the
 * reader's (hazard_json.h); AW_ENOTFOUND (site not in the registry);
 * AW_ESTATE when no registry was imported; AW_ENOMEM; store errors.
 */
int aw_hazard_svc_report(aw_hazard_svc_t *self, const char *json, size_t len, const char *who,
                         int64_t now_ms, json_t **out, char *why, size_t why_len);

/**
 * POST /api/v1/hazards/<id>/events: a lifecycle event by @p who. *out and
 * @p why as for aw_hazard_svc_report(). Errors: AW_ENOTFOUND (no event of
 * hazard @p id is stored); the reader's (hazard_json.h); AW_ESTATE (the
 * fold would reject it at its place; @p why is the ledger's reason, e.g.
 * "start needs status assigned"); AW_ENOMEM; store errors. On error nothing
 * is stored.
 */
int aw_hazard_svc_event(aw_hazard_svc_t *self, const char *id, const char *json, size_t len,
                        const char *who, int64_t now_ms, json_t **out, char *why, size_t why_len);

/**
 * GET /api/v1/hazards: {"hazards": [summary...]} of the hazards
 * aw_picture_hazards_each() visits for @p f (NULL = all), in its order
 * (newest report first), at most @p limit (0 or above 1000 = 1000). A
 * summary is aw_hazard_state_to_json() without "ledger" (it has
 * "overdue"). Reads in @p txn (the caller's read transaction). *out is the
 * caller's. AW_EINVAL, AW_ENOMEM, store errors.
 */
int aw_hazard_svc_list_json(aw_hazard_svc_t *self, aw_txn_t *txn, const aw_hazard_filter *f,
                            int64_t now_ms, size_t limit, json_t **out);

/**
 * GET /api/v1/hazards/<id>: aw_hazard_state_to_json() of the fold of every
 * stored event at @p now_ms: the summary (with "overdue") and "ledger" (all
 * events in fold order, each with "accepted" and, when rejected, "reason").
 * AW_ENOTFOUND when no event of @p id is stored.
 */
int aw_hazard_svc_get_json(aw_hazard_svc_t *self, aw_txn_t *txn, const char *id, int64_t now_ms,
                           json_t **out);

/**
 * The loop's timer: marks overdue hazards (aw_picture_overdue_scan()) and
 * adds one automatic notify per newly overdue hazard (audience
 * "safety-bureau", by "anwang-center", text naming the deadline), queued
 * down like any center event. *notified (may be NULL) gets the count.
 * One write transaction: the picture's notified mark and the notifies
 * commit together, so each hazard is notified once, across restarts too.
 */
int aw_hazard_svc_tick(aw_hazard_svc_t *self, int64_t now_ms, size_t *notified);

#endif
