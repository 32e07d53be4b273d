/**
 * @file session.h
 * @brief The center's side of one edge's replication session (SPEC §5), as
 * a state machine without sockets.
 *
 * The transport authenticates the edge (CURVE + zauth: the certificate
 * names the edge id, and optionally its zone), makes one session per edge
 * id, and feeds it each decoded Envelope with the current time. Replies go
 * out through the send callback as encoded Envelopes. Nothing here reads a
 * clock or touches a socket, so scripted message sequences test it whole.
 *
 * States: DOWN until a valid Hello, then UP until the link is declared down
 * (aw_center_session_tick() after link_timeout_ms without a message, or
 * aw_center_session_close() when the transport loses the peer). A new
 * Hello is accepted in any state and restarts the session.
 *
 * | message   | in state | what happens                                          |
 * |-----------|----------|-------------------------------------------------------|
 * | Hello     | any      | edge id ≠ certificate's, zone ≠ certificate's         |
 * |           |          | (AW_EPERM), epoch 0 or proto_version ≠                |
 * |           |          | AW_PROTO_VERSION (AW_EPROTO): Refuse, state DOWN.     |
 * |           |          | Else one transaction: a new epoch drops the old       |
 * |           |          | epoch's down queue and queues a snapshot (down.h);    |
 * |           |          | heads, skew (edge wall − center now), last contact    |
 * |           |          | and down_applied (as a DownAck) are recorded. Reply   |
 * |           |          | Welcome{epoch, applied per lane, center_ms}; UP; then |
 * |           |          | the unacked Downs are sent (window down_window).      |
 * | Batch     | UP       | epoch ≠ the Hello's: ignored + logged (AW_EPROTO).    |
 * |           |          | Else applied (apply.h); reply Ack{epoch, lane,        |
 * |           |          | applied}, also for a refused hole (where to resume).  |
 * |           |          | A store error sends nothing: the edge resends.        |
 * | Heartbeat | UP       | reply Heartbeat{center now}; skew and last contact.   |
 * | DownAck   | UP       | epoch ≠ the Hello's: ignored + logged. Else the Downs |
 * |           |          | up to applied_seq are deleted (persisted); more sent. |
 * | Batch, Heartbeat, DownAck | DOWN | Refuse("hello first") (AW_ESTATE).         |
 * | Welcome, Ack, Down, Refuse | any | ignored + logged (AW_EPROTO); a Refuse    |
 * |           |          | from the edge also puts the session DOWN.             |
 *
 * Downs in flight that see no DownAck progress for down_resend_ms are sent
 * again from the acked mark (the ROUTER may have dropped them); the edge
 * applies Downs idempotently by seq.
 *
 * Logging: one line per refused or ignored message, poison record, refused
 * hole, new epoch and link state change (log.h).
 */
#ifndef AW_CENTER_SESSION_H
#define AW_CENTER_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anwang.pb-c.h"
#include "aw_err.h"
#include "db.h"

/**
 * Sends one encoded Envelope (@p env borrowed for the call) to the edge.
 * Returns AW_OK or an error; an error stops the current reply or pump (the
 * protocol resends what matters).
 */
typedef int (*aw_center_send_fn)(void *arg, const uint8_t *env, size_t len);

typedef struct aw_center_session_opts {
    aw_center_db_t *db;      /**< borrowed; must outlive the session */
    const char *edge_id;     /**< the authenticated edge id (copied) */
    const char *zone;        /**< zone bound to the certificate (copied); NULL: the Hello's */
    aw_center_send_fn send;  /**< required */
    void *send_arg;          /**< borrowed */
    int64_t link_timeout_ms; /**< silence that declares the link down (0 = 30,000) */
    int64_t down_resend_ms;  /**< resend Downs without DownAck progress (0 = 10,000) */
    unsigned down_window;    /**< Downs in flight (0 = 16) */
} aw_center_session_opts;

typedef enum aw_session_state {
    AW_SESSION_DOWN = 0, /**< no valid Hello yet, or the link was declared down */
    AW_SESSION_UP,       /**< Welcome sent; batches are applied */
} aw_session_state;

typedef struct aw_center_session aw_center_session_t;

/**
 * Makes a session for one edge, in state DOWN. On success *out is the
 * caller's (aw_center_session_destroy()). Returns AW_OK, AW_EINVAL (no db
 * or send, an invalid edge id, a zone over AW_CENTER_ZONE_MAX) or AW_ENOMEM.
 */
int aw_center_session_new(const aw_center_session_opts *opts, aw_center_session_t **out);

/** Frees the session and nulls *self_p. Safe on NULL and twice. Persists nothing. */
void aw_center_session_destroy(aw_center_session_t **self_p);

/**
 * Handles one envelope from the edge at center time @p now_ms (see the
 * table above). @p env is borrowed (as decoded by aw_codec_envelope_decode()).
 * Returns AW_OK; AW_EPERM (Hello for another edge or zone); AW_EPROTO
 * (ignored or refused message, Hello with epoch 0 or another protocol version); AW_ESTATE (before
 * Hello); AW_EINVAL (NULL argument); a store error or the send callback's error.
 */
int aw_center_session_handle(aw_center_session_t *self, const Anwang__Envelope *env,
                             int64_t now_ms);

/** Most batches aw_center_session_handle_many() applies in one transaction. */
#define AW_SESSION_GROUP_MAX 64

/**
 * Handles @p n envelopes (borrowed) received together, in order, as
 * aw_center_session_handle() would one by one, except that consecutive
 * Batches of the session's epoch (up to AW_SESSION_GROUP_MAX) are applied
 * in ONE transaction (group commit: one fsync) and acked after it. The
 * transport passes what it could read without waiting. Returns the first
 * error of any envelope (the others are still handled), else AW_OK.
 */
int aw_center_session_handle_many(aw_center_session_t *self, const Anwang__Envelope *const *envs,
                                  size_t n, int64_t now_ms);

/**
 * True when @p env (borrowed) is a Batch that aw_center_session_handle_many()
 * would take into a group now: the session is UP and the batch is of its
 * epoch. The transport uses it to collect, per session, the leading run of
 * such batches for aw_center_sessions_apply().
 */
bool aw_center_session_groupable(const aw_center_session_t *self, const Anwang__Envelope *env);

/** One session's batches for aw_center_sessions_apply(). */
typedef struct aw_session_batches {
    aw_center_session_t *session;        /**< borrowed */
    const Anwang__Envelope *const *envs; /**< borrowed; each groupable, in arrival order */
    size_t n;                            /**< 1..AW_SESSION_GROUP_MAX */
} aw_session_batches;

/**
 * Applies the batches of @p n sessions (all on the same db; the envelopes
 * that the transport received in one loop turn) in ONE transaction (one
 * fsync for every edge: apply.h aw_center_apply_edges()), then acks each
 * batch, as aw_center_session_handle_many() would, after the commit. When
 * that transaction fails, the sessions are applied one by one (each in its
 * own transaction, with its own log line), so one edge's fault holds back
 * no other. Returns the first error of any session, else AW_OK; AW_EINVAL
 * (nothing done) for a NULL argument, a count out of range, a batch that
 * is not groupable, or sessions on different dbs.
 */
int aw_center_sessions_apply(const aw_session_batches *groups, size_t n, int64_t now_ms);

/**
 * Sends queued Downs the edge has not been sent yet, while fewer than
 * down_window are unacknowledged. Call after aw_center_down_enqueue() for
 * this edge. No-op while DOWN. Returns AW_OK or a store or send error.
 */
int aw_center_session_pump(aw_center_session_t *self, int64_t now_ms);

/**
 * Timers: declares the link down after link_timeout_ms of silence
 * (returns AW_ETIMEDOUT once, when it does), resends stalled Downs.
 * Call it every second or so.
 */
int aw_center_session_tick(aw_center_session_t *self, int64_t now_ms);

/** The transport lost the peer: state DOWN, recorded in the edge's row. */
int aw_center_session_close(aw_center_session_t *self, int64_t now_ms);

/** The current state. */
aw_session_state aw_center_session_state(const aw_center_session_t *self);

/** The epoch of the last accepted Hello (0 = none). */
uint64_t aw_center_session_epoch(const aw_center_session_t *self);

/** The edge id (borrowed, valid for the session's life). */
const char *aw_center_session_edge(const aw_center_session_t *self);

#endif
