/**
 * @file transport.h
 * @brief The uplink's ZeroMQ carrier: one DEALER socket with CURVE to the
 * center's ROUTER (SPEC §5), driven from the edge's own event loop.
 *
 * Socket options, chosen for the protocol rather than left at defaults:
 *  - CURVE always: the edge's certificate (secret key from `<cert>_secret`,
 *    CZMQ's layout) and the center's public key (Z85).
 *  - ZMQ_IMMEDIATE = 1: messages are queued only to a completed connection
 *    (CURVE handshake done), so "writable" means "connected" and nothing
 *    piles up for a center that is not there; the uplink resends anyway.
 *  - ZMQ_SNDHWM = 2 × window + 16 messages: HWMs count messages, not bytes
 *    (notes/replication-ceiling.md); the uplink's window already bounds the
 *    batches queued, so the HWM is a backstop and a send over it is EAGAIN,
 *    never a silent drop.
 *  - ZMQ_RCVHWM = 64 messages: acks, heartbeats and Downs from the center,
 *    which sends Downs in a window of its own.
 *  - ZMQ_MAXMSGSIZE = the codec's max_message (4 MiB): a larger frame is
 *    refused by ZeroMQ before it is buffered (CURVE holds about twice a
 *    frame while decrypting).
 *  - ZMQ_LINGER = 0: a closing edge drops what is unsent; it is resent.
 *  - ZMQ_RECONNECT_IVL 1 s up to ZMQ_RECONNECT_IVL_MAX 30 s: ZeroMQ redials
 *    a lost connection by itself; the uplink's backoff paces Hellos.
 *  - ZMQ_HEARTBEAT_IVL 5 s / ZMQ_HEARTBEAT_TIMEOUT 15 s (ZMTP PING/PONG,
 *    answered by the center's I/O thread): ZeroMQ drops a half-open TCP
 *    connection after a cut and reconnects. The uplink's own heartbeats are
 *    still needed: they find a center whose process hangs while its I/O
 *    thread answers PINGs, and they end a session, which ZMTP cannot.
 *
 * One socket for the life of the transport: a new session is a new Hello on
 * it (a stale Welcome or Ack from an older session is harmless: applied
 * seqs only grow and the center skips what it has).
 *
 * Event loop: register aw_transport_fd() for reading (EPOLLIN; it is ZMQ_FD,
 * which is edge-triggered) and call aw_transport_process() when it is
 * readable, when aw_transport_next_ms() has passed, and after every call of
 * aw_uplink_tick() / aw_uplink_notify_appended(): any send may consume the
 * fd's edge, so ZMQ_EVENTS must be checked after it. The fd stays the same
 * for the life of the transport.
 *
 * In the edge's loop (see tests/uplink/test_transport.c for a running one):
 *
 *     aw_transport_new(&topts, &t);
 *     uopts.send = aw_transport_send;
 *     uopts.send_arg = t;
 *     aw_uplink_new(store, &uopts, &u);
 *     add aw_transport_fd(t) to epoll (EPOLLIN);
 *     loop:
 *         epoll_wait(..., aw_transport_next_ms(t, u, now));
 *         aw_transport_process(t, u, now);   // fd readable or not
 *         aw_uplink_tick(u, now);
 *         after committing records: aw_uplink_notify_appended(u, now);
 *         aw_transport_process(t, u, now);   // after any uplink call that may send
 */
#ifndef AW_TRANSPORT_H
#define AW_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uplink.h"

typedef struct aw_transport_opts {
    const char *endpoint;   /**< center, e.g. "tcp://center:7700"; required; copied */
    const char *cert_path;  /**< the edge's certificate; its secret in `<cert_path>_secret` */
    const char *server_key; /**< the center's CURVE public key, Z85 (40 characters) */
    unsigned window;        /**< the uplink's window (default 4), sizes ZMQ_SNDHWM */
} aw_transport_opts;

typedef struct aw_transport aw_transport_t;

/**
 * Creates the DEALER socket with the options above and starts connecting.
 * On success *out is the caller's; free with aw_transport_destroy().
 * Returns AW_ECONFIG (certificate unreadable or without a secret key,
 * server key not Z85), AW_EINVAL (missing option, bad endpoint), AW_EIO or
 * AW_ENOMEM.
 */
int aw_transport_new(const aw_transport_opts *opts, aw_transport_t **out);

/** Closes the socket (unsent messages dropped) and nulls *self_p. Safe on NULL and twice. */
void aw_transport_destroy(aw_transport_t **self_p);

/**
 * The uplink's send callback (aw_uplink_send_fn) with @p arg = the
 * transport: one frame, never blocking. Returns AW_OK, AW_EAGAIN (no
 * connection or queue full), AW_ECLOSED (context terminated) or AW_EIO.
 */
int aw_transport_send(void *arg, const uint8_t *buf, size_t len);

/** The file descriptor to poll for reading (ZMQ_FD; edge-triggered). */
int aw_transport_fd(const aw_transport_t *self);

/**
 * Does all the transport's pending work for @p u: feeds it every message
 * received and, when the uplink is DOWN, its retry delay has passed and a
 * connection is up (writable under ZMQ_IMMEDIATE), tells it "connected"
 * (Hello); checks ZMQ_EVENTS until nothing is pending. Returns AW_OK or a socket
 * error; the uplink's own errors about bad messages are logged by it and
 * do not stop the loop.
 */
int aw_transport_process(aw_transport_t *self, aw_uplink_t *u, int64_t now_ms);

/**
 * Milliseconds until aw_transport_process() should run again without fd
 * activity (the uplink's timers, its retry delay, or a short poll while it
 * waits for a connection); never -1.
 */
int64_t aw_transport_next_ms(const aw_transport_t *self, const aw_uplink_t *u, int64_t now_ms);

#endif
