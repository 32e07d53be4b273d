/**
 * @file devsim.h
 * @brief anwang-devsim: the simulated field (SPEC §2) — sensors that post
 * SenML to edges over CoAP/DTLS-PSK, and sirens that record the alerts
 * they receive. One libcoap context, one loop, one thread.
 *
 * devsim_main.c fills an aw_sim_opts from the command line and calls
 * aw_sim_run(); tests fill one by hand.
 */
#ifndef AW_SIM_DEVSIM_H
#define AW_SIM_DEVSIM_H

#include <stddef.h>
#include <stdint.h>

#include "pack.h"
#include "scenario.h"

#define AW_SIM_MAX_ROUTES   32 /**< --edge / --dtls options */
#define AW_SIM_MAX_SIRENS   64 /**< --siren options */
#define AW_SIM_MAX_BINDMAPS 32 /**< --bind-map options */
#define AW_SIM_MAX_FAILS    64 /**< --siren-fail options */

/** One --edge or --dtls option: devices of @c zone (NULL: any zone) go to @c uri. */
typedef struct aw_sim_route {
    const char *zone; /**< zone grid path, or NULL for the default route */
    const char *uri;  /**< coap://host[:port][/path] or coaps://... */
} aw_sim_route;

/** Reading rate modes. */
typedef enum aw_sim_rate_mode {
    AW_SIM_RATE_INTERVAL, /**< each device every interval_s (or --interval) */
    AW_SIM_RATE_TOTAL,    /**< rate readings/s in total, spread over the devices */
    AW_SIM_RATE_MAX,      /**< as fast as the in-flight bound allows */
} aw_sim_rate_mode;

/** Everything the command line can say. Borrowed strings live as long as argv. */
typedef struct aw_sim_opts {
    const char *registry_path; /**< registry JSON (SPEC §1); NULL only for bare --siren */
    const char *zone;          /**< grid path that limits devices and sirens, or NULL */

    /* sensors */
    aw_sim_route routes[AW_SIM_MAX_ROUTES];
    size_t n_routes;
    const char *psk_path; /**< key file of SPEC §3, for coaps:// routes and sirens */
    size_t max_devices;   /**< 0 = all */
    aw_sim_rate_mode rate_mode;
    double rate;         /**< readings/s in total, for AW_SIM_RATE_TOTAL */
    int64_t interval_ms; /**< overrides every device's interval_s when > 0 */
    aw_sim_format format;
    size_t records_per_pack; /**< 0 = one sample (each metric once) per pack */
    double omit_time;        /**< fraction of packs sent without time, 0..1 */
    unsigned inflight;       /**< unanswered requests per session */
    unsigned sessions;       /**< plain-UDP sessions per edge */
    int64_t ack_timeout_ms;  /**< CoAP ACK_TIMEOUT, >= 1000 (libcoap 4.3.1 ignores less) */
    unsigned retries;        /**< CoAP MAX_RETRANSMIT, >= 1 (libcoap ignores 0) */
    int64_t timeout_ms;      /**< give up on a request after this; 0 = from the two above */
    const char *acked_log;   /**< one line per acknowledged reading, or NULL */
    aw_sim_scenario_opts scenario;

    /* sirens */
    int sirens_from_registry;              /**< --sirens */
    const char *sirens[AW_SIM_MAX_SIRENS]; /**< --siren [DEVICE=]URI */
    size_t n_sirens;
    const char *bind_maps[AW_SIM_MAX_BINDMAPS]; /**< --bind-map HOST:PORT=HOST:PORT */
    size_t n_bind_maps;
    const char *siren_fail[AW_SIM_MAX_FAILS]; /**< --siren-fail DEVICE */
    size_t n_siren_fail;
    const char *siren_log; /**< JSON lines, or NULL */

    /* run */
    int64_t duration_ms; /**< 0 = until SIGINT/SIGTERM */
    int64_t drain_ms;    /**< wait this long for answers after the end */
    int64_t progress_ms; /**< progress line period on stderr */
    int quiet;           /**< no progress lines */
    int json;            /**< summary as one JSON object on stdout */
    int verbose;         /**< 0 normal, 1 libcoap warnings, 2 debug */
    uint64_t seed;
} aw_sim_opts;

/** Fills @p o with the defaults documented in --help. */
void aw_sim_opts_init(aw_sim_opts *o);

/**
 * Runs the simulation described by @p o until --duration passes or SIGINT /
 * SIGTERM arrives, then prints the summary. Returns a sysexits(3) code:
 * EX_OK when it ran to the end (failures are in the summary), EX_UNAVAILABLE
 * when readings were sent and no edge answered any of them, EX_USAGE,
 * EX_DATAERR, EX_NOINPUT, EX_CANTCREAT, EX_IOERR, EX_OSERR as the failure
 * that stopped it says (always with a message on stderr).
 */
int aw_sim_run(const aw_sim_opts *o);

#endif
