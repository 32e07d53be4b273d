/**
 * @file router.h
 * @brief The center's ZeroMQ transport (SPEC §5): one ROUTER socket with
 * CURVE, CZMQ's zauth admitting only the allow-list's keys, and one
 * replication session (session.h) per edge id.
 *
 * Socket options, chosen for the protocol rather than left at defaults:
 *  - CURVE server with the center's certificate, ZAP domain "anwang" and a
 *    zauth actor serving the allow-list (allow.h) started BEFORE the bind:
 *    CURVE without a ZAP handler would accept any key. An unknown key fails
 *    the handshake and gets nothing, not even a Refuse.
 *  - ZMQ_ROUTER_MANDATORY = 1: a reply to a peer that is gone (an edge that
 *    just reconnected under a new routing id) or whose queue is full fails
 *    with EHOSTUNREACH / EAGAIN instead of vanishing; the session is closed
 *    or the edge resends (nothing relies on ZeroMQ to deliver).
 *  - ZMQ_MAXMSGSIZE = max_message + 64 KiB: an envelope a little over the
 *    limit still reaches the codec, which refuses it with a log line while
 *    the session goes on; anything larger is cut by ZeroMQ before it is
 *    buffered (CURVE holds about twice a frame while decrypting) and the
 *    connection is dropped (the edge reconnects and says Hello).
 *  - ZMQ_RCVHWM = 32 messages per peer: an edge has at most its window of
 *    batches (default 4) plus heartbeats and DownAcks in flight; 32 leaves
 *    room while bounding what one peer can make the center hold to
 *    32 × MAXMSGSIZE. Beyond it TCP pushes back on that edge alone.
 *  - ZMQ_SNDHWM = 256 messages per peer: the center sends Acks (one per
 *    batch), Heartbeat replies, a Welcome and Downs (window 16), so 256 is
 *    never reached by a reading edge; an edge that stops reading makes
 *    sends fail with EAGAIN (not block, not drop silently) and the
 *    protocol resends.
 *  - ZMQ_HANDSHAKE_IVL = 5 s: a connection that does not finish CURVE in
 *    5 s (scanner, slow-loris) is closed.
 *  - ZMQ_HEARTBEAT_IVL = heartbeat, TIMEOUT and TTL = 3 × heartbeat: ZMTP
 *    PING/PONG drops a half-open TCP connection after a link cut.
 *  - ZMQ_BACKLOG = 512: every edge of a county reconnects at once after a
 *    center restart.
 *  - ZMQ_LINGER = 0: unsent replies are dropped at close; edges resend.
 *
 * Identity: each received frame carries zauth's User-Id (the peer's public
 * key, Z85; a ZAP property, which the peer cannot override). A message
 * counts only when its key is in the CURRENT allow-list, and it speaks for
 * the edge that list binds the key to (zauth also attaches the
 * certificate's "edge-id" and "zone" as metadata, but those are frozen at
 * the handshake). So a certificate removed from the folder closes a
 * connected edge's session at once (one log line; its later messages are
 * dropped and counted in the tick's summary) and refuses it at the next
 * handshake. The
 * session is made with the certificate's edge id (and zone), so a Hello
 * naming another edge is refused by the session (Refuse + log line).
 *
 * Routing: one session per edge id; the edge's current routing id is the
 * one its last message came from (a reconnect replaces it). Each
 * aw_router_process() drains what is readable (at most 2,048 messages or
 * 64 MiB per turn: one turn of the center's loop, so HTTP requests and
 * timers are served between turns however busy the edges are) and applies
 * the leading batches of EVERY edge in that drain in one transaction
 * (aw_center_sessions_apply(): group commit across edges, one fsync per
 * turn, Acks after it); the other envelopes go, per run of one edge, to
 * aw_center_session_handle_many(). The busier the center, the more each
 * turn carries, so the commits per second (and the pages each rewrites)
 * stay bounded while the rate grows.
 *
 * Logging: one line per refused envelope, withdrawn certificate, new
 * connection of an edge, lost peer; refused handshakes are summed up in one
 * line per tick (a scan must not flood the journal).
 */
#ifndef AW_CENTER_ROUTER_H
#define AW_CENTER_ROUTER_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"
#include "db.h"

typedef struct aw_router_opts {
    aw_center_db_t *db;      /**< borrowed; must outlive the router */
    const char *bind;        /**< e.g. "tcp://0.0.0.0:7700" (copied) */
    const char *cert_path;   /**< the center's certificate; secret in `<cert>_secret` */
    const char *allow_dir;   /**< folder of edge public certificates (copied) */
    const char *stage_dir;   /**< the center's own folder for zauth's copy (copied) */
    size_t max_message;      /**< largest envelope (0 = the codec's default) */
    int64_t heartbeat_ms;    /**< ZMTP heartbeat (0 = 5,000) */
    int64_t link_timeout_ms; /**< session link timeout (0 = session default) */
    int64_t down_resend_ms;  /**< session Down resend (0 = session default) */
    int64_t allow_poll_ms;   /**< look at allow_dir this often (0 = 2,000) */
} aw_router_opts;

typedef struct aw_router aw_router_t;

/**
 * Loads the certificate and the allow-list, starts zauth, binds the ROUTER.
 * Logs why on failure. On success *out is the caller's (aw_router_destroy()).
 * Returns AW_ECONFIG (certificate unreadable or without a secret key, no
 * allow_dir), AW_EIO (bind, zauth), AW_EINVAL, AW_ENOMEM.
 */
int aw_router_new(const aw_router_opts *opts, aw_router_t **out);

/** Closes the sessions (recorded as disconnected), the socket and zauth; nulls *self_p. Safe twice.
 */
void aw_router_destroy(aw_router_t **self_p);

/**
 * Fills up to @p cap poll items (zmq_poll, ZMQ_POLLIN) with the router's
 * sockets. Returns how many (at most 2).
 */
size_t aw_router_pollitems(aw_router_t *self, zmq_pollitem_t *items, size_t cap);

/**
 * Does one turn of work at wall time @p now_ms: drains the ROUTER (up to
 * the limits above) and handles the envelopes, reads the socket monitor.
 * Never blocks. What is left stays readable: the caller's zmq_poll()
 * returns at once for it. Returns AW_OK, or AW_EIO when the socket fails.
 */
int aw_router_process(aw_router_t *self, int64_t now_ms);

/**
 * Timers, about once a second: session ticks (link timeouts, Down resends
 * and pumps), the refused-handshake summary, and the allow_dir poll.
 */
void aw_router_tick(aw_router_t *self, int64_t now_ms);

/**
 * Re-reads the allow-list now (SIGHUP), hands it to zauth and closes the
 * sessions whose certificate is gone. Returns AW_OK or the error (the
 * previous list stays in force).
 */
int aw_router_reload(aw_router_t *self, int64_t now_ms);

/** The center's public key, Z85 (borrowed, valid for the router's life). */
const char *aw_router_public_key(const aw_router_t *self);

#endif
