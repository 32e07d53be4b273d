/**
 * @file alert_svc.h
 * @brief Alerts at the center (SPEC §7): CAP 1.2 alerts issued by
 * operators, fanned out over the down channel to every edge whose zone
 * meets the area, cancelled, and reported on from the receipts the edges
 * send back (edge received, device delivered / failed).
 *
 * Tables: `alerts` (db.h, the alert as queued), `alert_meta` (identifier →
 * issued_by, cancelled, cancelled_at/by, edges targeted) and `receipts`
 * (identifier NUL edge NUL device-or-empty → the receipt's kind, time,
 * attempts). Single-threaded.
 */
#ifndef AW_CENTER_ALERT_SVC_H
#define AW_CENTER_ALERT_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "anwang.pb-c.h"
#include "aw_err.h"
#include "db.h"
#include "registry_svc.h"

typedef struct aw_alert_svc aw_alert_svc_t;

/** @p registry borrowed; @p sender is the CAP sender (the center's id). */
int aw_alert_svc_open(aw_center_db_t *db, aw_registry_svc_t *registry, const char *sender,
                      aw_alert_svc_t **out);
void aw_alert_svc_destroy(aw_alert_svc_t **self_p);

/** Record hook part (db.h aw_center_record_fn): keeps AlertReceipts. */
int aw_alert_svc_on_record(void *arg, aw_txn_t *txn, const aw_center_origin *from,
                           const Anwang__Record *rec);

/**
 * POST /api/v1/alerts (API.md). AW_EINVAL / AW_EDECODE / AW_ERANGE with
 * @p why for bad input (unknown area path, bad enum, expires in the past);
 * AW_ESTATE without a registry. *out: the alert object.
 */
int aw_alert_svc_create(aw_alert_svc_t *self, const char *json, size_t len, const char *who,
                        int64_t now_ms, json_t **out, char *why, size_t why_len);

/** POST /api/v1/alerts/<id>/cancel. AW_ENOTFOUND; AW_ESTATE (already cancelled). */
int aw_alert_svc_cancel(aw_alert_svc_t *self, const char *id, const char *who, int64_t now_ms,
                        json_t **out, char *why, size_t why_len);

/** GET /api/v1/alerts: {"alerts": [...]}, newest first; active = not cancelled, not expired. */
int aw_alert_svc_list_json(aw_alert_svc_t *self, aw_txn_t *txn, bool active_only, int64_t now_ms,
                           json_t **out);

/** GET /api/v1/alerts/<id> with "report". AW_ENOTFOUND. */
int aw_alert_svc_get_json(aw_alert_svc_t *self, aw_txn_t *txn, const char *id, int64_t now_ms,
                          json_t **out);

/** GET /api/v1/alerts/<id>/cap: CAP 1.2 XML, *xml is the caller's (free()). */
int aw_alert_svc_cap_xml(aw_alert_svc_t *self, aw_txn_t *txn, const char *id, char **xml);

#endif
