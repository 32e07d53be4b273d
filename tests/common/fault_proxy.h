/**
 * @file fault_proxy.h
 * @brief A TCP proxy for fault tests: sits between an edge and the center
 * (listen on 127.0.x.y:port, forward to the center's endpoint) and cuts,
 * stalls or slows the link on command, in place of `tc netem`.
 *
 * It runs in a thread of its own (one poll loop); the mode is switched from
 * any thread and takes effect at once. Modes:
 *  - PASS: bytes flow both ways.
 *  - DROP: every connection is closed with RST (SO_LINGER 0) and each new
 *    one is accepted and reset at once: the peers see ECONNRESET.
 *  - BLACKHOLE: connections are accepted and kept open (new ones are
 *    connected upstream too) but nothing is read or written either way: the
 *    kernel buffers fill and the peers hear nothing, as with a dead route.
 *    Back in PASS, what was held flows on.
 *  - HALF_OPEN: edge → center is forwarded; center → edge is read and
 *    discarded (counted in dropped_down), so the center believes it is
 *    heard while the edge hears nothing. Back in PASS the edge's stream has
 *    a hole, which its ZeroMQ/CURVE layer must detect.
 *  - SLOW: as PASS, at most slow_bytes_per_s each way (token bucket, 10 ms
 *    granularity) and each chunk held slow_latency_ms before it goes on.
 *
 * Bounded: at most AW_FP_MAX_CONNS connections (more are reset), and per
 * connection and direction at most AW_FP_SEGS segments of AW_FP_SEG_BYTES
 * buffered; a full buffer stops reading from that side (TCP pushes back).
 *
 * Not a library for production: tests only. Errors are aw_err codes.
 */
#ifndef AW_FAULT_PROXY_H
#define AW_FAULT_PROXY_H

#include <stdint.h>

#define AW_FP_MAX_CONNS 32
#define AW_FP_SEGS      16
#define AW_FP_SEG_BYTES 16384

typedef enum aw_fp_mode {
    AW_FP_PASS = 0,
    AW_FP_DROP,
    AW_FP_BLACKHOLE,
    AW_FP_HALF_OPEN,
    AW_FP_SLOW,
} aw_fp_mode;

/** Returns "pass", "drop", "black-hole", "half-open" or "slow". */
const char *aw_fp_mode_name(aw_fp_mode mode);

/** Counters since start. Plain value. */
typedef struct aw_fp_stats {
    uint64_t accepted;     /**< connections accepted and connected upstream */
    uint64_t reset;        /**< connections reset (DROP, upstream refused, over the cap) */
    uint64_t active;       /**< connections open now */
    uint64_t bytes_up;     /**< edge → center, written */
    uint64_t bytes_down;   /**< center → edge, written */
    uint64_t dropped_down; /**< center → edge, discarded in HALF_OPEN */
} aw_fp_stats;

typedef struct aw_fault_proxy aw_fault_proxy_t;

/**
 * Listens on @p listen_ip:@p listen_port (SO_REUSEADDR) and forwards each
 * connection to @p up_ip:@p up_port, starting in PASS, in a new thread. On
 * success *out is the caller's; free with aw_fault_proxy_destroy().
 * Returns AW_EINVAL (bad address), AW_EIO (bind, listen, thread) or
 * AW_ENOMEM.
 */
int aw_fault_proxy_new(const char *listen_ip, int listen_port, const char *up_ip, int up_port,
                       aw_fault_proxy_t **out);

/** Stops the thread, closes every socket and nulls *self_p. Safe on NULL and twice. */
void aw_fault_proxy_destroy(aw_fault_proxy_t **self_p);

/**
 * Switches the mode. Returns once the proxy thread runs with it (DROP: once
 * every connection is reset), so bytes sent after the call see the new mode.
 */
void aw_fault_proxy_set_mode(aw_fault_proxy_t *self, aw_fp_mode mode);

/**
 * Sets SLOW's budget: @p bytes_per_s each way (0 = unlimited) and
 * @p latency_ms added to each chunk.
 */
void aw_fault_proxy_set_slow(aw_fault_proxy_t *self, uint64_t bytes_per_s, int latency_ms);

/** The current mode. */
aw_fp_mode aw_fault_proxy_mode(aw_fault_proxy_t *self);

/** Copies the counters into @p out. */
void aw_fault_proxy_stats(aw_fault_proxy_t *self, aw_fp_stats *out);

#endif
