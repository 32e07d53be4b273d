/**
 * @file stats.h
 * @brief What the simulator counts: requests and readings sent,
 * acknowledged (2.04) and failed by response code or transport failure,
 * latency percentiles, and the alerts the sirens received. Prints the
 * progress line and the final summary (text or one JSON object).
 *
 * A request is one confirmable POST of one pack; a reading is one SenML
 * record. Every request sent ends in exactly one of: acked, failed (a
 * response code other than 2.04, or a transport failure), or unanswered
 * when the run ended.
 */
#ifndef AW_SIM_STATS_H
#define AW_SIM_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Ways a request fails without a response code. */
typedef enum aw_sim_fail {
    AW_SIM_FAIL_TIMEOUT,       /**< retransmissions exhausted, or --timeout passed */
    AW_SIM_FAIL_RST,           /**< the edge answered with a CoAP Reset */
    AW_SIM_FAIL_TLS,           /**< DTLS handshake or session failed */
    AW_SIM_FAIL_UNDELIVERABLE, /**< libcoap could not deliver it */
    AW_SIM_FAIL_SEND,          /**< could not even be sent */
    AW_SIM_FAIL_KINDS
} aw_sim_fail;

#define AW_SIM_CODES        256 /**< CoAP codes, index class << 5 | detail */
#define AW_SIM_HIST_BUCKETS 2048

/** Latency histogram in microseconds: exact below 64 µs, then ~3 % buckets. */
typedef struct aw_sim_hist {
    uint64_t bucket[AW_SIM_HIST_BUCKETS];
    uint64_t count, max_us;
} aw_sim_hist;

/** A request/reading pair of counters. */
typedef struct aw_sim_count {
    uint64_t req, rdg;
} aw_sim_count;

typedef struct aw_sim_stats {
    aw_sim_count sent, acked, failed, unanswered;
    aw_sim_count by_code[AW_SIM_CODES]; /**< failed with that code */
    aw_sim_count by_fail[AW_SIM_FAIL_KINDS];
    uint64_t inflight;   /**< requests awaiting an answer now */
    uint64_t late;       /**< responses to requests already counted as failed */
    uint64_t icmp;       /**< ICMP unreachable reports (libcoap keeps retrying) */
    uint64_t silenced;   /**< samples not sent because of the dropout scenario */
    uint64_t events;     /**< responses, NACKs and siren POSTs handled (loop progress) */
    aw_sim_hist latency; /**< of every response received */
    /* sirens */
    uint64_t alerts, drills, refused_on_purpose, rejected;
    /* progress line */
    int show_sensors, show_sirens;
    int64_t send_end_ns; /**< when sending stopped (rates are over the sending time); 0 = now */
    int64_t start_ns, last_ns;
    aw_sim_count last_sent, last_acked;
} aw_sim_stats;

/** Zeroes @p s and starts its clock at @p now_ns (CLOCK_MONOTONIC). */
void aw_sim_stats_init(aw_sim_stats *s, int64_t now_ns);

/** Counts a request of @p readings readings as sent. */
void aw_sim_stats_sent(aw_sim_stats *s, size_t readings);

/** Counts the response code @p code (CoAP class << 5 | detail) to a request. */
void aw_sim_stats_response(aw_sim_stats *s, unsigned code, size_t readings, int64_t latency_ns);

/** Counts a request that failed without a response. */
void aw_sim_stats_failure(aw_sim_stats *s, aw_sim_fail kind, size_t readings);

/** Counts a request still unanswered when the run ends. */
void aw_sim_stats_unanswered(aw_sim_stats *s, size_t readings);

/** Records one latency sample. */
void aw_sim_hist_add(aw_sim_hist *h, uint64_t us);

/** Returns the @p q quantile (0..1) of @p h in microseconds (0 when empty). */
double aw_sim_hist_quantile(const aw_sim_hist *h, double q);

/** Writes "4.04" for @p code into @p buf (at least 8 bytes). */
void aw_sim_code_name(unsigned code, char *buf, size_t len);

/** Prints one progress line to @p out and starts the next interval. */
void aw_sim_stats_progress(aw_sim_stats *s, int64_t now_ns, FILE *out);

/** Run facts for the summary. */
typedef struct aw_sim_summary_info {
    const char *scenario;
    uint64_t seed;
    double target_rate; /**< readings/s, or 0 when not set */
    int sensors, sirens;
} aw_sim_summary_info;

/** Prints the human summary to @p out. */
void aw_sim_stats_summary(const aw_sim_stats *s, const aw_sim_summary_info *info, int64_t now_ns,
                          FILE *out);

/**
 * Returns the summary as one line of compact JSON (caller frees), or NULL
 * when out of memory.
 */
char *aw_sim_stats_summary_json(const aw_sim_stats *s, const aw_sim_summary_info *info,
                                int64_t now_ns);

#endif
