/**
 * @file uplink.h
 * @brief The edge's side of replication (SPEC §5) as a pure state machine.
 *
 * No sockets and no clock reads of its own: the caller feeds events in
 * (connected, a received message, a timer tick, "records were appended") with
 * the current monotonic time in ms, and the uplink answers through the send
 * callback with encoded envelopes. The transport (uplink/transport.h) or a
 * test script carries those bytes.
 *
 * States: DOWN → (aw_uplink_connected: Hello sent) CONNECTING → (Welcome)
 * UP. From any state a Refuse, a send failure, a silent link (dead_after_ms
 * without a valid message) or aw_uplink_disconnected() goes back to DOWN;
 * the caller then reconnects after aw_uplink_next_retry_ms() (capped
 * exponential backoff with jitter) and calls aw_uplink_connected() again.
 *
 * Delivery: nothing relies on the transport. After every Welcome the uplink
 * sends each lane from the center's applied seq + 1, and while UP it resends
 * from the acked mark when no ack arrived for resend_after_ms; the center
 * skips what it already applied. Urgent records always go before bulk ones
 * and one slot of the window is kept for urgent batches, so a red alarm
 * raised during a long bulk catch-up goes out at the next send opportunity.
 * Only the bulk lane is rate-limited.
 *
 * Store use: each batch is read in one short read transaction and its
 * records are sent as stored (copied out, never re-encoded). Acks raise the
 * store's acked marks at most every ack_flush_ms (one commit each, an fsync
 * under AW_DURABLE_FSYNC); a mark lost in a crash only means more to resend.
 *
 * Bad input (undecodable, or valid but wrong: another epoch, an ack beyond
 * what was stored, a message a center never sends) returns an error and
 * changes nothing; the uplink logs one line for it.
 *
 * Not thread-safe: drive one uplink from one thread (the edge's loop).
 */
#ifndef AW_UPLINK_H
#define AW_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "store.h"

/** Link states. */
typedef enum aw_uplink_state {
    AW_UPLINK_DOWN = 0,   /**< no session; reconnect after aw_uplink_next_retry_ms() */
    AW_UPLINK_CONNECTING, /**< Hello sent, waiting for Welcome */
    AW_UPLINK_UP,         /**< Welcome received; batches flow */
} aw_uplink_state;

/** Returns "down", "connecting" or "up" ("?" otherwise). */
const char *aw_uplink_state_name(aw_uplink_state state);

/**
 * Sends one encoded envelope. @p buf is borrowed for the call. Return AW_OK
 * when the transport took it, AW_EAGAIN when it cannot take it now (the
 * uplink tries again on the next event), any other code when the link is
 * broken (the uplink goes DOWN).
 */
typedef int (*aw_uplink_send_fn)(void *arg, const uint8_t *buf, size_t len);

/**
 * Applies one Down message (SPEC §5, down channel) durably and idempotently,
 * recording @p down->seq as the last applied in the same transaction. Called
 * only for seq == last applied + 1. @p down is borrowed for the call. Return
 * AW_OK once applied (the uplink then sends DownAck), anything else when it
 * was not (no DownAck; the center sends it again).
 */
typedef int (*aw_uplink_down_fn)(void *arg, const Anwang__Down *down);

/** Options. Zero fields take the defaults named here. */
typedef struct aw_uplink_opts {
    const char *edge_id;     /**< required; copied */
    const char *zone;        /**< grid path of the edge's zone, or NULL; copied */
    size_t batch_records;    /**< records per batch (default 5000, at most the codec's) */
    size_t batch_bytes;      /**< record bytes per batch (default 1 MiB, at most 2 MiB) */
    unsigned window;         /**< batches in flight, both lanes (default 4, at least 2) */
    int64_t heartbeat_ms;    /**< heartbeat after this long without sending (default 5000) */
    int64_t dead_after_ms;   /**< link down after this long without receiving (default 15000) */
    int64_t resend_after_ms; /**< resend from the acked mark after this long without an
                                  ack while batches are in flight (default 30000) */
    int64_t ack_flush_ms;    /**< write acked marks to the store at most this often
                                  (default 100): a mark lost in a crash is harmless, the
                                  next Welcome brings the center's applied seq */
    uint64_t rate_limit_bytes_per_s; /**< bulk lane budget; 0 = none; urgent is exempt */
    int64_t backoff_min_ms;          /**< first reconnect delay (default 500) */
    int64_t backoff_max_ms;          /**< cap of the reconnect delay (default 30000) */
    uint64_t down_applied;           /**< last Down seq applied in this epoch (the edge keeps it) */
    uint64_t registry_version;       /**< version of the registry the edge holds (0 = none) */
    uint64_t seed;                   /**< jitter seed (0 = from the epoch) */
    /** Send only records already on disk (aw_lane_info.durable): for a
     * store that commits without flushing (edge `interval:MS`), so a power
     * loss can never take back a record the center has, which would let the
     * edge reuse its seq for another record. */
    bool durable_only;
    aw_uplink_send_fn send;    /**< required, e.g. aw_transport_send */
    void *send_arg;            /**< borrowed; passed to send (e.g. the transport) */
    aw_uplink_down_fn on_down; /**< required */
    void *down_arg;            /**< borrowed; passed to on_down */
    /** Wall clock in ms for Hello, Heartbeat and skew (NULL = CLOCK_REALTIME). */
    int64_t (*wall_ms)(void *wall_arg);
    void *wall_arg; /**< borrowed; passed to wall_ms */
} aw_uplink_opts;

/** What /status shows about the uplink. */
typedef struct aw_uplink_status {
    aw_uplink_state state;
    uint64_t epoch;
    uint64_t head[AW_LANE_COUNT];    /**< last stored seq per lane */
    uint64_t acked[AW_LANE_COUNT];   /**< center's applied seq per lane, as acked */
    uint64_t backlog[AW_LANE_COUNT]; /**< stored records not acked yet, per lane */
    int64_t last_ack_wall_ms;        /**< wall time of the last Ack or Welcome (0 = never) */
    bool skew_known;                 /**< a Welcome has been received */
    int64_t skew_ms;       /**< center clock − ours at the last Welcome, RTT-corrected */
    uint64_t bytes_per_s;  /**< bytes sent per second, last full second */
    unsigned in_flight;    /**< batches sent and not acked */
    uint64_t down_applied; /**< last Down seq applied */
    uint64_t batches_sent; /**< since create, resends included */
    uint64_t bytes_sent;   /**< since create */
    uint64_t resends;      /**< times the uplink went back to the acked mark */
    bool diverged;         /**< the center has more of this epoch than we stored */
} aw_uplink_status;

typedef struct aw_uplink aw_uplink_t;

/**
 * Creates an uplink for the log in @p store (borrowed; must outlive it).
 * Starts DOWN with no retry delay. On success *out is the caller's; free
 * with aw_uplink_destroy(). Returns AW_EINVAL for a missing callback or
 * edge id or an option out of range, AW_ENOMEM.
 */
int aw_uplink_new(aw_store_t *store, const aw_uplink_opts *opts, aw_uplink_t **out);

/** Frees the uplink and nulls *self_p. Safe on NULL and twice. */
void aw_uplink_destroy(aw_uplink_t **self_p);

/**
 * The transport is (re)connected: sends Hello {edge id, epoch, head per
 * lane, wall clock, proto version, zone, down applied, registry version}
 * and enters
 * CONNECTING, whatever the state was. Returns AW_OK, or the send error (then
 * the state is DOWN with a new backoff delay).
 */
int aw_uplink_connected(aw_uplink_t *self, int64_t now_ms);

/**
 * The transport knows the connection is gone: enters DOWN with a new
 * backoff delay (nothing when already DOWN).
 */
void aw_uplink_disconnected(aw_uplink_t *self, int64_t now_ms);

/**
 * Handles one message from the center (@p buf borrowed for the call):
 * Welcome → acked marks raised (and written to the store) to the center's
 * applied seqs, sending starts at applied + 1 per lane; Ack → acked mark
 * raised (written to the store within ack_flush_ms), window slot freed, more
 * sent; Down → on_down then DownAck (a Down already applied is acked again
 * without calling on_down; one beyond the next is not applied and the last
 * applied seq is acked so the center resends); Heartbeat → noted; Refuse →
 * DOWN with backoff. Returns AW_OK; a codec error (AW_EDECODE, AW_ETOOBIG,
 * ...) or AW_EPROTO / AW_ESTATE for a message that is wrong here, with
 * nothing changed; the error of on_down; a store error from marking acks.
 */
int aw_uplink_receive(aw_uplink_t *self, const uint8_t *buf, size_t len, int64_t now_ms);

/**
 * Runs the timers: declares the link DOWN after dead_after_ms of silence
 * (or without Welcome that long after Hello), sends a Heartbeat when nothing
 * was sent for heartbeat_ms, resends from the acked mark when batches have
 * been in flight resend_after_ms without an ack, writes acked marks that are
 * due, refills the bulk budget and sends what it allows. Returns AW_OK or the error of a failed
 * send.
 */
int aw_uplink_tick(aw_uplink_t *self, int64_t now_ms);

/**
 * New records were committed to the store: sends what the window and the
 * bulk budget allow (nothing unless UP). Returns AW_OK or a send or store
 * error.
 */
int aw_uplink_notify_appended(aw_uplink_t *self, int64_t now_ms);

/**
 * Milliseconds from @p now_ms until the caller should reconnect: 0 when
 * DOWN and the delay has passed, -1 when not DOWN. The delay is drawn when
 * the link goes down: min(backoff_max, backoff_min · 2^failures), then a
 * uniformly random point in its upper half (jitter), and reset by a Welcome.
 */
int64_t aw_uplink_next_retry_ms(const aw_uplink_t *self, int64_t now_ms);

/**
 * Milliseconds from @p now_ms until aw_uplink_tick() has work (0 = now), for
 * the caller's poll timeout; -1 when nothing is timed (DOWN).
 */
int64_t aw_uplink_next_tick_ms(const aw_uplink_t *self, int64_t now_ms);

/**
 * Records the registry version the edge now holds (after on_down applied a
 * registry snapshot), for the next Hello.
 */
void aw_uplink_set_registry_version(aw_uplink_t *self, uint64_t version);

/** The current state. */
aw_uplink_state aw_uplink_state_get(const aw_uplink_t *self);

/** Fills @p out for /status. Returns AW_OK or a store error. */
int aw_uplink_status_get(aw_uplink_t *self, int64_t now_ms, aw_uplink_status *out);

#endif
