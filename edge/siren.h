/**
 * @file siren.h
 * @brief The last hop of the emergency linkage channel (SPEC §7): each alert
 * the edge stores is delivered to every siren/loudspeaker of the zone's
 * registry in the alert's area, by CoAP CON POST of its CAP JSON
 * (content-format 50) to the device's `uri`, retried; each delivery ends in
 * exactly one receipt record (RECEIPT_DEVICE_DELIVERED or _FAILED, with
 * time, attempts and the last reason) in the urgent lane.
 *
 * Durable queue: the deliveries of an alert are written to table
 * `siren_queue` (key identifier NUL device NUL kind) by aw_siren_enqueue_alert()
 * inside the transaction that stores the alert, so a kill -9 right after the
 * DownAck still delivers after restart. A delivery leaves the queue in the
 * same transaction that appends its final receipt, so there is one final
 * receipt per (alert, device) whatever crashed where (a POST in flight at a
 * crash is sent again: a siren may hear an alert twice, never lose it).
 * Table `siren_done` (identifier NUL device → state, uri, the payload when
 * the device got it or may have, time) remembers who got what, for cancels;
 * rows older than the store's retention are pruned (aw_siren_prune()).
 *
 * Targets: devices of kind siren or loudspeaker with a `uri`, whose site lies
 * under one of the area's paths (prefix on path segments). The payload is
 * the alert's CAP JSON unchanged: its status (Exercise for a drill) is the
 * alert's.
 *
 * Ends of a delivery: a 2.xx answer (delivered); a 4.xx answer (failed at
 * once: sending it again cannot help); after max_attempts attempts or
 * max_time_ms since queued, or at the alert's expiry (failed, with the last
 * reason: "timeout", "5.03 ...", "expired"). An alert already expired when it
 * arrives is not sent (failed "expired"). A Cancel (msgType Cancel
 * referencing an alert, or an AlertCancel Down) stops the referenced alert's
 * queued deliveries (failed "cancelled") and, for an AlertCancel, sends a CAP
 * Cancel (identifier "<id>.cancel", references the alert, same status) to
 * the devices that got the alert or may have (a POST unanswered or in
 * flight), without receipts. An Update stops the queued deliveries of the
 * alerts it references (failed "superseded") and is delivered itself.
 *
 * At most max_in_flight POSTs are outstanding. Runs in the edge's thread on
 * a libcoap client context of its own: aw_siren_fd() goes into the edge's
 * loop (aw_siren_process()), aw_siren_tick() runs from a loop timer.
 */
#ifndef AW_EDGE_SIREN_H
#define AW_EDGE_SIREN_H

#include <stdbool.h>
#include <stdint.h>

#include "anwang.pb-c.h"
#include "aw_err.h"
#include "hlc.h"
#include "registry.h"
#include "store.h"

typedef struct aw_siren_opts {
    aw_store_t *store;
    aw_hlc *hlc;
    const char *edge_id;
    /** Called after a commit appended receipts (the uplink sends them). */
    void (*committed)(void *arg);
    void *committed_arg;
    unsigned max_in_flight;     /**< 0 = 16 */
    unsigned max_attempts;      /**< 0 = 5 */
    int64_t first_backoff_ms;   /**< 0 = 1000; doubles per attempt */
    int64_t max_backoff_ms;     /**< 0 = 30000 */
    int64_t max_time_ms;        /**< 0 = 10 min since queued */
    int64_t attempt_timeout_ms; /**< 0 = 15000: no answer to one POST */
} aw_siren_opts;

typedef struct aw_siren aw_siren_t;

/** Opens the tables and the client context. AW_OK, AW_EIO, AW_ENOMEM or a store error. */
int aw_siren_new(const aw_siren_opts *opts, aw_siren_t **out);

/** Frees (outstanding POSTs are dropped; they stay queued in the store). Safe twice. */
void aw_siren_destroy(aw_siren_t **self_p);

/** The client context's fd, for the edge's loop. */
int aw_siren_fd(const aw_siren_t *self);

/** The fd was readable: answers and libcoap timers. */
void aw_siren_process(aw_siren_t *self);

/** Timer: reloads the queue when it changed, ends due deliveries, starts new POSTs. */
void aw_siren_tick(aw_siren_t *self);

/** The registry in service (borrowed until the next call; NULL = none). */
void aw_siren_set_registry(aw_siren_t *self, const aw_registry_t *reg);

/**
 * Inside @p txn (the one storing alert @p a): queues its deliveries, or
 * writes failed receipts when it is already expired at @p now_ms; for a
 * Cancel, stops the referenced alerts' deliveries. @p cap_json is the
 * payload. AW_OK, AW_ENOMEM or a store error.
 */
int aw_siren_enqueue_alert(aw_siren_t *self, aw_txn_t *txn, const Anwang__Alert *a,
                           const char *cap_json, int64_t now_ms);

/**
 * Inside @p txn (the one marking alert @p id cancelled): stops its queued
 * deliveries and queues a CAP Cancel to the devices that got it.
 */
int aw_siren_enqueue_cancel(aw_siren_t *self, aw_txn_t *txn, const char *id, const char *by,
                            int64_t now_ms);

/** A commit that called aw_siren_enqueue_*() is done: the queue is reloaded on the next tick. */
void aw_siren_changed(aw_siren_t *self);

/**
 * Forgets who got which alert (`siren_done`) for deliveries ended more than
 * @p keep_ms before @p now_ms, at most 1000 rows a call; *removed says how
 * many. AW_OK or a store error.
 */
int aw_siren_prune(aw_siren_t *self, int64_t now_ms, int64_t keep_ms, size_t *removed);

/** Counters for logs and tests. */
typedef struct aw_siren_stats {
    uint64_t queued, in_flight, delivered, failed, attempts;
} aw_siren_stats;

void aw_siren_get_stats(const aw_siren_t *self, aw_siren_stats *out);

#endif
