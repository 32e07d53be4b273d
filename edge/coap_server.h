/**
 * @file coap_server.h
 * @brief The edge's CoAP side (SPEC §3): libcoap context, endpoints
 * (plain UDP and DTLS-PSK), resources, and the translation between CoAP and
 * the edge's calls. libcoap's 1/0 returns are converted here.
 *
 * Resources: POST /readings, POST /hazards, GET /hazards/<id>,
 * POST /hazards/<id>/events, GET+Observe /alerts, GET /status, and
 * /.well-known/core (libcoap builds it from the rt/ct/obs attributes).
 *
 * **Acknowledgements and group commit.** A reading is answered 2.04 only
 * once its records are committed (ingest.h). In fsync mode a handler that
 * sees more datagrams waiting on the sockets stages its pack and leaves the
 * response empty, so libcoap sends an empty ACK; the pack is committed with
 * the others of the same loop turn — by the handler of the last waiting
 * request, which answers piggybacked, or at the end of the turn — and the
 * staged requests then get their 2.04 as separate responses (CON for a CON
 * request, NON for a NON one). An idle edge therefore answers every request
 * piggybacked after its own flushed commit, and a busy one shares one flush
 * among all the requests of a turn. In interval mode every request is
 * committed (without flush) in its handler and answered piggybacked.
 *
 * **Proxying** (CVE-2023-30362 in libcoap 4.3.1): no proxy resource is ever
 * registered, so libcoap answers any request carrying Proxy-Uri or
 * Proxy-Scheme with 5.05 before a handler runs, and the edge never sends a
 * 5.08 with a payload (the only path to the overflow).
 *
 * Single-threaded: every call and callback runs in the edge's loop.
 */
#ifndef AW_COAP_SERVER_H
#define AW_COAP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"
#include "edge_config.h"
#include "ingest.h"
#include "psk.h"

/** The edge's side of the non-reading resources. Strings are borrowed for the call. */
typedef struct aw_coap_handlers {
    void *arg;
    /** GET /status: *json is the callee's malloc'd answer. */
    int (*status)(void *arg, char **json);
    /** GET /alerts: the active alerts as a JSON array. */
    int (*alerts)(void *arg, char **json);
    /**
     * POST /hazards: reports a hazard from JSON @p body; @p who is the DTLS
     * identity or NULL. On success writes the new id to @p id (2.01).
     * Errors: AW_EINVAL (4.00, @p why says why), AW_EFULL/AW_EURGENTFULL
     * (5.03), others 5.00.
     */
    int (*hazard_report)(void *arg, const uint8_t *body, size_t len, const char *who, char *id,
                         size_t id_len, char *why, size_t why_len);
    /** GET /hazards/<id>: state and ledger; AW_ENOTFOUND → 4.04. */
    int (*hazard_get)(void *arg, const char *id, char **json);
    /**
     * POST /hazards/<id>/events: 2.04 with *result (JSON, the callee's
     * malloc'd verdict, may be NULL); errors as hazard_report, AW_ENOTFOUND
     * → 4.04.
     */
    int (*hazard_event)(void *arg, const char *id, const uint8_t *body, size_t len, const char *who,
                        char **result, char *why, size_t why_len);
} aw_coap_handlers;

typedef struct aw_coap_opts {
    const aw_edge_config *cfg; /**< bind, ports, plain/dtls, limits, durability */
    aw_ingest_t *ingest;       /**< the readings path */
    /** Where the current key table lives (the edge may swap it on SIGHUP). */
    aw_psk_t *const *psk;
    aw_coap_handlers h;
} aw_coap_opts;

typedef struct aw_coap_server aw_coap_server_t;

/** Counters for /status. */
typedef struct aw_coap_stats {
    uint64_t requests; /**< requests handled */
    uint64_t deferred; /**< readings answered by a separate response */
    uint64_t sessions; /**< sessions open now */
    uint64_t bodies;   /**< block-wise bodies in flight */
} aw_coap_stats;

/**
 * Starts libcoap (once per process) with its logs routed to ours, and opens
 * the endpoints and resources of @p opts (borrowed: they must outlive the
 * server). On failure @p why says what (e.g. the address in use).
 * Returns AW_OK, AW_EIO (endpoint), AW_EINVAL (DTLS unsupported) or AW_ENOMEM.
 */
int aw_coap_server_new(const aw_coap_opts *opts, aw_coap_server_t **out, char *why, size_t why_len);

/**
 * Flushes staged readings, answers them, and frees everything, nulling
 * *self_p. Safe on NULL and twice.
 */
void aw_coap_server_destroy(aw_coap_server_t **self_p);

/** The fd to watch for input (libcoap's epoll fd; it includes libcoap's timer). */
int aw_coap_server_fd(const aw_coap_server_t *self);

/**
 * One loop turn: handles every datagram waiting (bounded), commits the
 * readings staged meanwhile, and sends their separate responses. Call it
 * when the fd is readable and after anything that makes libcoap send
 * (observers to notify).
 */
void aw_coap_server_process(aw_coap_server_t *self);

/** Marks /alerts changed: observers get a notification on the next turn. */
void aw_coap_server_alerts_changed(aw_coap_server_t *self);

/** Sets libcoap's log level to match ours (after a SIGHUP). */
void aw_coap_server_sync_log_level(void);

/** Fills @p stats. */
void aw_coap_server_get_stats(const aw_coap_server_t *self, aw_coap_stats *stats);

#endif
