/**
 * @file bench_load.h
 * @brief aw-bench-edge's load generator: confirmable CoAP POSTs from one raw
 * UDP socket, a fixed number in flight, matched to their answers by token.
 *
 * Requests are pre-encoded templates (aw_load_template()); each send copies
 * one, round robin, and patches in a fresh message id and an 8-byte token
 * (slot number, generation). A request is done on its 2.04, piggybacked on
 * the ACK or as a separate response; a confirmable separate response is
 * ACKed at once so the server's retransmit queue drains. Unanswered requests
 * are retransmitted (same message id and token) after 1 s, up to 4 times.
 */
#ifndef AW_BENCH_LOAD_H
#define AW_BENCH_LOAD_H

#include <stddef.h>
#include <stdint.h>

/** Room for one template; a request longer than this is refused. */
#define AW_LOAD_MAX_REQ 256

/** Bytes of the token every template carries (patched per send). */
#define AW_LOAD_TOKEN 8

typedef struct aw_load_opts {
    const char *addr;           /**< server IPv4 literal (borrowed) */
    int port;                   /**< server port */
    unsigned inflight;          /**< requests kept outstanding */
    double warmup_s, measure_s; /**< warm-up (not counted), then the measured window */
    const uint8_t *const *reqs; /**< templates (borrowed for the call) */
    const size_t *lens;
    size_t n_reqs;
    const char *label; /**< progress lines on stderr name this (NULL = quiet) */
} aw_load_opts;

/** What one run measured; latencies count requests done inside the window. */
typedef struct aw_load_result {
    uint64_t done;     /**< 2.04s in the window */
    uint64_t all_done; /**< 2.04s of the whole run (warm-up and drain too) */
    uint64_t separate; /**< of which came as separate responses */
    uint64_t errors;   /**< other codes or resets (whole run) */
    uint64_t timeouts; /**< requests given up (whole run) */
    uint64_t retransmits;
    double rate;           /**< done / measure_s */
    double p50_us, p99_us; /**< latency from first send to the 2.04 */
} aw_load_result;

/**
 * Encodes a CON POST to @p path with content-format @p ct and @p body into
 * @p out (AW_LOAD_MAX_REQ bytes); message id and token are zero. Returns its
 * length, or 0 when it does not fit.
 */
size_t aw_load_template(uint8_t *out, const char *path, int ct, const void *body, size_t len);

/**
 * Runs the load of @p o and fills @p r. Returns 0, or -1 when the socket
 * could not be set up (errno says why). Drains the requests still in
 * flight (up to 3 s) before it returns, so runs can follow each other.
 */
int aw_load_run(const aw_load_opts *o, aw_load_result *r);

/**
 * Sends CON GET /@p path every 50 ms until any answer comes or @p timeout_ms
 * passes. With @p body, copies the answer's payload there (NUL-terminated,
 * at most @p cap - 1 bytes). Returns the response code (e.g. 205) or -1.
 */
int aw_load_get(const char *addr, int port, const char *path, int timeout_ms, char *body,
                size_t cap);

#endif
