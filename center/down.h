/**
 * @file down.h
 * @brief The down channel (center → edge, SPEC §5): a persisted queue per
 * (edge, epoch), acknowledged with DownAck, and the snapshot a new epoch
 * gets.
 *
 * Each queued message is stored already encoded, as the Envelope{Down{seq,
 * epoch, body}} the transport sends, under (edge, epoch, seq) in table
 * `down`; the epoch's `epochs` row counts the seqs (down_last) and the
 * acknowledged mark (down_acked). A DownAck deletes the entries it covers.
 * Seqs are dense from 1 per (edge, epoch), so the edge can apply each
 * once.
 *
 * Messages go to the edge's current epoch (the one of its last Hello). When
 * an edge changes epoch, the old epoch's queue is deleted: the new epoch
 * gets a snapshot of the state instead.
 */
#ifndef AW_CENTER_DOWN_H
#define AW_CENTER_DOWN_H

#include <stddef.h>
#include <stdint.h>

#include "anwang.pb-c.h"
#include "aw_err.h"
#include "db.h"
#include "registry.h"

/**
 * Queues @p body (borrowed; a Down built with ANWANG__DOWN__INIT whose body
 * is set; its seq and epoch are ignored and filled in here) for @p edge_id's
 * current epoch, in its own transaction. *seq (may be NULL) gets the seq.
 * Returns AW_OK; AW_ENOTFOUND when the edge never said Hello (nothing is
 * queued: its first Hello gets a snapshot of the state instead); AW_EINVAL
 * for a bad edge id or body (the codec's reason is not kept); AW_ENOMEM; a
 * store error. The session sends it when it next pumps
 * (aw_center_session_pump()).
 */
int aw_center_down_enqueue(aw_center_db_t *db, const char *edge_id, const Anwang__Down *body,
                           uint64_t *seq);

/** Same inside @p txn, for an explicit @p epoch (which need not be current). */
int aw_center_down_enqueue_txn(aw_txn_t *txn, aw_center_db_t *db, const char *edge_id,
                               uint64_t epoch, const Anwang__Down *body, uint64_t *seq);

/**
 * Marks the Downs of (@p edge_id, @p epoch) up to @p upto acknowledged and
 * deletes them, inside @p txn. A mark at or below the current one changes
 * nothing; one above down_last is clamped to it and AW_ERANGE returned
 * (after the clamped ack is done: the caller logs the peer's error).
 */
int aw_center_down_ack_txn(aw_txn_t *txn, aw_center_db_t *db, const char *edge_id, uint64_t epoch,
                           uint64_t upto);

/** Deletes every queued Down of (@p edge_id, @p epoch) inside @p txn. */
int aw_center_down_drop_txn(aw_txn_t *txn, aw_center_db_t *db, const char *edge_id, uint64_t epoch);

/** Sizes of what a snapshot queued. */
typedef struct aw_snapshot_report {
    size_t registry;      /**< 1 when the zone's registry was queued */
    size_t hazard_events; /**< events of the zone's open hazards */
    size_t hazards;       /**< open hazards of the zone */
    size_t alerts;        /**< active alerts whose area meets the zone */
} aw_snapshot_report;

/**
 * Queues the snapshot for a new epoch of @p edge_id in zone @p zone, inside
 * @p txn: the zone's extract of the county registry (when one is stored
 * and has that zone), every event of each open hazard (reported, not
 * closed) whose site lies in the zone, and each active alert (not a
 * Cancel, not cancelled (aw_center_alert_cancel_put_txn()), not expired
 * at @p now_ms) whose area meets the zone.
 * @p report (may be NULL) gets the counts. Stored entries that do not
 * decode are left out. Returns AW_OK, AW_ENOMEM or a store error.
 */
int aw_center_down_snapshot_txn(aw_txn_t *txn, aw_center_db_t *db, const char *edge_id,
                                uint64_t epoch, const char *zone, int64_t now_ms,
                                aw_snapshot_report *report);

/** Called for each queued Down by aw_center_down_read(); non-zero stops. */
typedef int (*aw_center_down_fn)(void *arg, uint64_t seq, const uint8_t *env, size_t len);

/**
 * Calls @p fn for the queued Downs of (@p edge_id, @p epoch) with seq ≥
 * @p from_seq, in order, at most @p max of them, in one read transaction.
 * @p env is an encoded Envelope, valid only during the call.
 */
int aw_center_down_read(aw_center_db_t *db, const char *edge_id, uint64_t epoch, uint64_t from_seq,
                        size_t max, aw_center_down_fn fn, void *arg);

/**
 * Stores the county registry JSON (validated with aw_registry_parse()) under
 * AW_CENTER_REGISTRY_KEY. Returns AW_OK, AW_EINVAL (invalid registry),
 * AW_ETOOBIG, AW_ENOMEM or a store error.
 */
int aw_center_registry_put(aw_center_db_t *db, const char *json, size_t len);

/**
 * Queues Down{registry = RegistrySnapshot{version, zone, zone extract of
 * @p reg}} for (@p edge_id, @p epoch) inside @p txn (the snapshot uses it
 * too). @p reg is borrowed. *seq (may be NULL) gets the seq. Returns AW_OK,
 * AW_ENOTFOUND (@p zone is not a zone of @p reg: nothing queued),
 * AW_EINVAL, AW_ENOMEM or a store error.
 */
int aw_center_down_registry_txn(aw_txn_t *txn, aw_center_db_t *db, const char *edge_id,
                                uint64_t epoch, const aw_registry_t *reg, const char *zone,
                                uint64_t *seq);

/**
 * Called by aw_center_edges_each_txn() for each known edge with its row
 * (borrowed for the call). It may queue Downs in @p txn. Non-AW_OK stops
 * the walk and is returned.
 */
typedef int (*aw_center_edge_fn)(void *arg, aw_txn_t *txn, const char *edge_id,
                                 const aw_center_edge_row *row);

/**
 * Calls @p fn for every edge of `edges` (those that ever said Hello or
 * were registered), in id order, inside @p txn: the walk of a fan-out.
 * Rows that do not decode are skipped, so one damaged row does not hold
 * back the others. Returns AW_OK, AW_ENOMEM, a store error, or what @p fn
 * returned.
 */
int aw_center_edges_each_txn(aw_txn_t *txn, aw_center_db_t *db, aw_center_edge_fn fn, void *arg);

/**
 * Stores the county registry JSON under AW_CENTER_REGISTRY_KEY inside
 * @p txn, as is: the caller has validated it. Returns AW_OK, AW_EINVAL
 * (empty) or a store error.
 */
int aw_center_registry_put_txn(aw_txn_t *txn, aw_center_db_t *db, const char *json, size_t len);

/**
 * Stores @p alert (borrowed, built with ANWANG__ALERT__INIT) in `alerts`
 * under its identifier, in the format the snapshot reads. Returns AW_OK,
 * AW_EINVAL (the codec refused it), AW_ENOMEM or a store error.
 */
int aw_center_alert_put(aw_center_db_t *db, const Anwang__Alert *alert);

/** Same inside @p txn. */
int aw_center_alert_put_txn(aw_txn_t *txn, aw_center_db_t *db, const Anwang__Alert *alert);

/**
 * Marks alert @p cancel->identifier cancelled in `alerts`: stores the
 * Envelope{Down{alert_cancel}} under the key "identifier NUL", which sorts
 * right after the alert's own key. A snapshot leaves out an alert so
 * marked. Inside @p txn. Returns AW_OK, AW_EINVAL (the codec refused it),
 * AW_ENOMEM or a store error. Readers of `alerts` that want the alerts
 * only skip keys that hold a NUL.
 */
int aw_center_alert_cancel_put_txn(aw_txn_t *txn, aw_center_db_t *db,
                                   const Anwang__AlertCancel *cancel);

#endif
