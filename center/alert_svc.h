/**
 * @file alert_svc.h
 * @brief Alerts at the center (SPEC §7): CAP 1.2 alerts issued by
 * operators, fanned out over the down channel to every edge whose zone
 * meets the area, cancelled, and reported on from the receipts the edges
 * send back (edge received, device delivered / failed).
 *
 * An alert is made here: identifier "<sender>-<YYYYMMDDTHHMMSSZ>-<n>"
 * (the first free n), sender the center's id, sent the center's time;
 * urgency, severity and certainty default to "Unknown", scope to "Public",
 * msgType to "Alert". Its area is a list of grid paths, each the county, a
 * zone, a village or a site of the registry in force. A zone meets the
 * area when an area path is the zone, lies under it or above it (the
 * county). Create stores the alert, its metadata and the Down{alert} of
 * every edge that said Hello and whose zone meets the area in one
 * transaction; an edge that never said Hello gets the active alerts in its
 * first snapshot (down.h). A msgType Cancel message also cancels the alerts
 * it references, as the cancel call does.
 *
 * Tables: `alerts` (db.h, the alert as queued, and the cancel mark the
 * snapshot reads, see aw_center_alert_cancel_put_txn()), `alert_meta`
 * (identifier → JSON {issued_by, cancelled_at (ms), cancelled_by}) and
 * `receipts` (identifier NUL edge NUL device-or-empty → version 1, kind,
 * time (8), attempts (4), detail: the receipt that counts: a delivery
 * beats a failure, the first delivery or edge receipt is kept, a later
 * failure replaces an earlier one). Receipts count only for alerts made
 * here and only from the edge they name (the one that sent them).
 *
 * The delivery report (SPEC §8, in aw_alert_svc_get_json()):
 * - edges: targeted = the known edges whose zone meets the area, plus one
 *   per zone of the registry that meets it and that no known edge holds;
 *   reached = those with any receipt; failed = the zones without an edge;
 *   "unreached": their edge ids (zone paths for zones without an edge);
 * - devices: targeted = the sirens and loudspeakers of the registry whose
 *   site lies in the area; reached = delivered; failed = failed and never
 *   delivered;
 * - latency_ms: p50 / p99 / max (nearest rank) from the alert's sent to
 *   each targeted device's first delivery, the edge's time of it taken to
 *   center time with the edge's last measured clock skew (null without
 *   deliveries);
 * - "unreached": ids of the targeted devices not delivered, then the
 *   unreached edges; "failures": the last failure receipt of each failed
 *   device {device, edge, attempts, detail, time}.
 *
 * Single-threaded (the center's loop).
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

/**
 * Opens the service and its tables (start-up, no transaction open).
 * @p registry is borrowed; @p sender is the CAP sender (the center's id:
 * 1..100 bytes of the CAP identifier rule, else AW_EINVAL).
 */
int aw_alert_svc_open(aw_center_db_t *db, aw_registry_svc_t *registry, const char *sender,
                      aw_alert_svc_t **out);
void aw_alert_svc_destroy(aw_alert_svc_t **self_p);

/** Record hook part (db.h aw_center_record_fn): keeps AlertReceipts. */
int aw_alert_svc_on_record(void *arg, aw_txn_t *txn, const aw_center_origin *from,
                           const Anwang__Record *rec);

/**
 * POST /api/v1/alerts (API.md), issued by @p who (1..256 bytes). Bad input
 * gets @p why naming the field and changes nothing: AW_EDECODE (malformed
 * JSON, duplicate keys), AW_EINVAL (not an object, unknown or missing
 * field, wrong type, bad CAP enum value, unknown area path, unknown
 * reference or plan, control characters), AW_ERANGE (too long, too many,
 * expires not in the future). AW_ESTATE without a registry. On AW_OK *out
 * is the alert object (the caller's).
 */
int aw_alert_svc_create(aw_alert_svc_t *self, const char *json, size_t len, const char *who,
                        int64_t now_ms, json_t **out, char *why, size_t why_len);

/**
 * POST /api/v1/alerts/<id>/cancel by @p who: marks it cancelled and queues
 * Down{alert_cancel} to every edge (said Hello) whose zone meets its area;
 * a new epoch's snapshot leaves it out from then on. *out: the alert
 * object. AW_ENOTFOUND; AW_ESTATE (already cancelled, or itself a Cancel
 * message) with @p why.
 */
int aw_alert_svc_cancel(aw_alert_svc_t *self, const char *id, const char *who, int64_t now_ms,
                        json_t **out, char *why, size_t why_len);

/** GET /api/v1/alerts: {"alerts": [...]}, newest first; active = not cancelled, not expired. */
int aw_alert_svc_list_json(aw_alert_svc_t *self, aw_txn_t *txn, bool active_only, int64_t now_ms,
                           json_t **out);

/** GET /api/v1/alerts/<id> with "report". AW_ENOTFOUND. */
int aw_alert_svc_get_json(aw_alert_svc_t *self, aw_txn_t *txn, const char *id, int64_t now_ms,
                          json_t **out);

/** GET /api/v1/alerts/<id>/cap: CAP 1.2 XML (cap_xml.h), *xml is the caller's (free()).
 * AW_ENOTFOUND. */
int aw_alert_svc_cap_xml(aw_alert_svc_t *self, aw_txn_t *txn, const char *id, char **xml);

#endif
