/**
 * @file sensors.h
 * @brief The simulated sensors at run time: schedule samples, send each
 * pack as a confirmable POST, track every request by its token until a
 * response, a transport failure or the run's end, and append one line per
 * acknowledged reading to the acked log.
 *
 * Tokens are 8 bytes: the request slot (4) and a per-slot generation (4),
 * so a response is matched in O(1) and a late answer to a request already
 * given up is recognised and only counted. A session never has more than
 * --inflight requests unanswered (NSTART is raised to the same value, so
 * libcoap never queues on its own). A session whose request timed out or
 * whose DTLS failed is replaced by a new one (new source port, new
 * handshake) after a second, as a real device would reconnect; a 5.03
 * pauses its session for the Max-Age the edge gave (at most a minute).
 *
 * Acked log: for every reading of a request answered 2.04, one line
 * `<device>/<metric> <time_ms> <value>` (time `-` when the reading went
 * without time), all lines of one response in a single write(2) on an
 * O_APPEND descriptor, before anything else is done with the response.
 * Each (device, metric) gets strictly increasing millisecond times (a
 * device is never scheduled before its last time has passed), so
 * `<device>/<metric> <time_ms>` is unique in the file; values are written
 * exactly as in the pack.
 */
#ifndef AW_SIM_SENSORS_H
#define AW_SIM_SENSORS_H

#include <stddef.h>
#include <stdint.h>

#include <coap3/coap.h>

#include "devsim.h"
#include "fleet.h"
#include "stats.h"

typedef struct aw_sim_sensors aw_sim_sensors_t;

/**
 * Sets up the sensors of @p fleet (borrowed, as are @p o, @p ctx, @p stats
 * and the registry behind the fleet, until aw_sim_sensors_destroy()).
 * @p acked_fd is an O_APPEND descriptor or -1 (borrowed). Registers the
 * context's response and NACK handlers and opens the sessions. @p now_ns is
 * CLOCK_MONOTONIC: the run's start. On success *out is the caller's.
 * Returns AW_OK, AW_ECONFIG (with @p why) or AW_ENOMEM.
 */
int aw_sim_sensors_new(const aw_sim_opts *o, const aw_sim_fleet *fleet, coap_context_t *ctx,
                       aw_sim_stats *stats, int acked_fd, int64_t now_ns, aw_sim_sensors_t **out,
                       char *why, size_t why_len);

/** Releases the sessions and frees @p *s_p; nulls it. Safe on NULL and twice. */
void aw_sim_sensors_destroy(aw_sim_sensors_t **s_p);

/**
 * Does what is due at @p now_ns: reopens failed sessions, gives up on
 * requests past --timeout, and sends the packs that are due (at most a
 * bounded number per call). Returns how many requests it sent.
 */
size_t aw_sim_sensors_pump(aw_sim_sensors_t *s, int64_t now_ns);

/** Returns when aw_sim_sensors_pump() next has work (CLOCK_MONOTONIC ns). */
int64_t aw_sim_sensors_next(const aw_sim_sensors_t *s, int64_t now_ns);

/** Stops sending new packs; answers to requests in flight are still taken. */
void aw_sim_sensors_stop(aw_sim_sensors_t *s);

/** Returns the number of requests awaiting an answer. */
size_t aw_sim_sensors_inflight(const aw_sim_sensors_t *s);

/** Counts every request still in flight as unanswered and forgets it. */
void aw_sim_sensors_abandon(aw_sim_sensors_t *s);

/** Returns true when writing the acked log failed (the run must stop: the log is incomplete). */
int aw_sim_sensors_log_failed(const aw_sim_sensors_t *s);

/** Returns the scenario (borrowed), for phase messages. */
const aw_sim_scenario_t *aw_sim_sensors_scenario(const aw_sim_sensors_t *s);

/** Returns the readings/s the schedule aims at (0 in interval mode). */
double aw_sim_sensors_target_rate(const aw_sim_sensors_t *s);

#endif
