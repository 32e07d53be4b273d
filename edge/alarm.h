/**
 * @file alarm.h
 * @brief The edge's alarm engine (SPEC §4): four-level thresholds with
 * deadband and debounce per (device, metric), device staleness, operator
 * acknowledgement, and GB 51108 escalation per (site, item).
 *
 * The engine is built from a registry (registry.h) and fed readings; what
 * happens comes out as aw_alarm_event records through one callback, called
 * synchronously from the call that caused it. It does no I/O, keeps no
 * clock (every call takes the time) and is not thread-safe.
 *
 * Semantics, per point (one device metric with thresholds):
 *
 * - Levels: with `high` thresholds a value at or above T[l] reaches level l;
 *   with `low` thresholds a value at or below T[l] does. The target of a
 *   sample is the highest level reached. When the point is already at level
 *   L in direction D, each level l ≤ L of D is held until the value crosses
 *   back past T[l] ∓ deadband (high: below T[l] - deadband; low: above
 *   T[l] + deadband); levels above L need the plain threshold. A point is in
 *   one direction at a time: it holds its current direction while that
 *   still reaches a level.
 * - Debounce N: a change takes effect after N consecutive samples agree that
 *   the level must move the same way (all above, or all below, the current
 *   state on the scale low-red < … < low-blue < none < high-blue < … <
 *   high-red). It then moves to the target nearest the current state among
 *   those N samples, so a ramp cannot stall and a value dithering between
 *   two higher targets still raises. A sample whose target is the current
 *   state resets the count. N = 1 acts on every sample.
 * - Events: NONE → l is RAISED (a new alarm id), up is ESCALATED, down but
 *   not to NONE is DEESCALATED, to NONE is CLEARED. A move from one
 *   direction straight to the other is CLEARED then RAISED (a new alarm).
 *   `threshold` is T of the new level, or for CLEARED of the level left.
 * - Acknowledgement (from the center) is recorded on the active alarm and
 *   emitted once; an escalation makes the alarm unacknowledged again.
 * - Device staleness: a device with metrics is stale when no reading came
 *   for more than 3 × interval_s, measured from its last reading, or from
 *   the first aw_alarm_tick() when it has not reported since the engine
 *   started. DEVICE_STALE is emitted once; the next reading emits
 *   DEVICE_BACK before any alarm event. Alarms of a stale device stay as
 *   they are.
 * - GB 51108: each point with thresholds belongs to the item (site path,
 *   metric item). After every change the item's level is re-graded with
 *   aw_grade_item() over its points' current levels; when it differs from
 *   the last one reported, AW_ALARM_ITEM_LEVEL is emitted (the item's colour
 *   changed, whether by escalation or by its highest point).
 *
 * Alarm ids are "<device>:<metric>:<prefix>-<seq>" ("<device>:<metric>:<seq>"
 * with no prefix), e.g. "huaxin-t3:tank-level:5f2a9c01e4b7d3a8-17". seq is an
 * engine counter that the exported state carries, so after import ids
 * continue where they stopped. Give the edge's store epoch (16 hex digits)
 * as prefix: a new epoch is a new store, and device ids are unique in the
 * county, so ids are globally unique without coordination. The id holds no
 * '/' so it can sit in a URL path segment (`/api/v1/alarms/<id>/ack`).
 *
 * Transactions: the daemon stores events in the same LMDB transaction as
 * the readings that caused them. If that transaction fails, the engine must
 * forget the pack too, or a retried pack would find the alarm already
 * raised and the RAISED event would be lost. Bracket the feeding of one pack
 * with aw_alarm_begin() and aw_alarm_commit(), or aw_alarm_rollback() to
 * restore the exact state before aw_alarm_begin() (debounce counts
 * included). Outside a transaction every call takes effect at once.
 *
 * Persistence: aw_alarm_state_export() writes the active alarms, the stale
 * devices and the id counter as JSON; store it whenever an event was
 * emitted (same transaction). Pending debounce counts are not kept: after a
 * restart a pending change needs N fresh samples.
 */
#ifndef AW_ALARM_H
#define AW_ALARM_H

#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"
#include "grading.h"
#include "registry.h"

#define AW_ALARM_ID_MAX     192 /**< bytes of an alarm id, NUL included */
#define AW_ALARM_PREFIX_MAX 32  /**< bytes of an id prefix, NUL excluded */
#define AW_ALARM_BY_MAX     128 /**< bytes of an acknowledging operator, NUL included */

/**
 * What an event reports. The first five match anwang.AlarmEventKind; the
 * device events map to anwang.DeviceEventKind (STALE = 0, BACK = 1) by
 * subtracting AW_ALARM_DEVICE_STALE. ITEM_LEVEL has no wire record: the
 * center re-grades from the alarm events it receives, so the daemon may log
 * it or drop it.
 */
typedef enum aw_alarm_event_kind {
    AW_ALARM_RAISED = 0,
    AW_ALARM_ESCALATED = 1,
    AW_ALARM_DEESCALATED = 2,
    AW_ALARM_CLEARED = 3,
    AW_ALARM_ACKNOWLEDGED = 4,
    AW_ALARM_DEVICE_STALE = 5,
    AW_ALARM_DEVICE_BACK = 6,
    AW_ALARM_ITEM_LEVEL = 7,
} aw_alarm_event_kind;

/**
 * One event. Strings are never NULL ("" where they do not apply) and are
 * borrowed for the duration of the callback only.
 *
 * | kind              | fields set                                              |
 * |-------------------|---------------------------------------------------------|
 * | alarm kinds (0-4) | alarm_id, device, metric, site, item, level, prev_level, |
 * |                   | direction, value, first_value, first_time_ms, time_ms,   |
 * |                   | threshold (not for ACKNOWLEDGED), by (ACKNOWLEDGED only) |
 * | DEVICE_STALE/BACK | device, site, time_ms, last_seen_ms (0: never reported)  |
 * | ITEM_LEVEL        | site, item, level, prev_level, time_ms                   |
 */
typedef struct aw_alarm_event {
    aw_alarm_event_kind kind;
    const char *alarm_id;
    const char *device;
    const char *metric;
    const char *site;
    const char *item;
    aw_level level;      /**< after the event; NONE when cleared */
    aw_level prev_level; /**< before the event */
    aw_direction direction;
    double value;       /**< the value that caused it (the last value for ACK) */
    double first_value; /**< value when the alarm was raised */
    int64_t first_time_ms;
    int64_t time_ms; /**< time of the sample, tick, ack or reload */
    double threshold;
    int has_threshold;
    const char *by;       /**< the operator, for ACKNOWLEDGED */
    int64_t last_seen_ms; /**< device events */
} aw_alarm_event;

/** Receives each event; @p ev and its strings are valid during the call only. */
typedef void (*aw_alarm_emit_fn)(void *arg, const aw_alarm_event *ev);

typedef struct aw_alarm_opts {
    aw_alarm_emit_fn emit; /**< may be NULL: events are dropped */
    void *arg;             /**< passed to emit */
    const char *id_prefix; /**< [a-z0-9._-]{0,32}, e.g. the store epoch in hex; NULL = "" */
    uint64_t first_seq;    /**< first id counter value; 0 means 1 */
} aw_alarm_opts;

/** An active alarm, as aw_alarm_foreach() reports it (borrowed, call only). */
typedef struct aw_alarm_info {
    const char *alarm_id;
    const char *device;
    const char *metric;
    const char *site;
    const char *item;
    aw_level level;
    aw_direction direction;
    double first_value;
    int64_t first_time_ms;
    double last_value;
    int64_t last_time_ms;
    const char *acked_by; /**< "" when not acknowledged */
    int64_t acked_ms;
} aw_alarm_info;

typedef struct aw_alarm_stats {
    unsigned active[AW_LEVEL_COUNT]; /**< active alarms per level ([0] unused) */
    unsigned devices_tracked;        /**< devices with metrics */
    unsigned devices_stale;
} aw_alarm_stats;

typedef struct aw_alarm aw_alarm_t;

/**
 * Creates an engine for @p reg, with no alarm active. @p reg is borrowed:
 * keep it alive until aw_alarm_destroy() or until a later aw_alarm_reload()
 * has returned. @p opts is copied (the prefix too). On success *out is the
 * caller's (free with aw_alarm_destroy()).
 * Returns AW_OK, AW_EINVAL (bad prefix) or AW_ENOMEM.
 */
int aw_alarm_new(const aw_registry_t *reg, const aw_alarm_opts *opts, aw_alarm_t **out);

/** Frees an engine and nulls *eng_p. Safe on NULL and twice. */
void aw_alarm_destroy(aw_alarm_t **eng_p);

/**
 * Feeds one numeric reading of @p device / @p metric taken at @p time_ms
 * (device time, or receive time), received at @p now_ms (the edge clock,
 * used for staleness). Emits DEVICE_BACK, alarm and item events as they
 * happen. Returns AW_OK, AW_ENOTFOUND (unknown device or metric) or
 * AW_ENOTFINITE (NaN or infinity); on error nothing changes.
 */
int aw_alarm_feed(aw_alarm_t *eng, const char *device, const char *metric, double value,
                  int64_t time_ms, int64_t now_ms);

/**
 * Notes that @p device reported at @p now_ms without a numeric value (e.g. a
 * string reading): it counts for staleness only. Returns AW_OK or
 * AW_ENOTFOUND.
 */
int aw_alarm_seen(aw_alarm_t *eng, const char *device, int64_t now_ms);

/**
 * Emits DEVICE_STALE for devices silent for more than 3 × interval_s at
 * @p now_ms. Call it every few seconds. Inside a transaction, if memory for
 * the undo copies runs out it does nothing; the next tick tries again.
 */
void aw_alarm_tick(aw_alarm_t *eng, int64_t now_ms);

/**
 * Records an operator's acknowledgement of the active alarm @p alarm_id and
 * emits ACKNOWLEDGED. Acknowledging an already acknowledged alarm again is
 * AW_OK and emits nothing (the down channel may repeat itself).
 * Returns AW_OK, AW_ENOTFOUND (no such active alarm: cleared or unknown),
 * AW_EINVAL (@p by NULL or empty) or AW_ERANGE (@p by too long).
 */
int aw_alarm_ack(aw_alarm_t *eng, const char *alarm_id, const char *by, int64_t time_ms);

/**
 * Switches to registry @p reg (borrowed, as for aw_alarm_new()). Points and
 * devices that still exist (same device id and metric name, and for points
 * still some threshold) keep their state, pending debounce counts excepted;
 * the next samples are judged by the new thresholds. Alarms of metrics that
 * are gone, or have lost every threshold, are CLEARED at @p now_ms (site and
 * item as they were); items are re-graded and changes emitted. The old
 * registry must stay alive until this returns.
 * Returns AW_OK, AW_ESTATE (inside a transaction) or AW_ENOMEM (nothing
 * changed).
 */
int aw_alarm_reload(aw_alarm_t *eng, const aw_registry_t *reg, int64_t now_ms);

/** Starts a transaction. Returns AW_OK or AW_ESTATE (one is open already). */
int aw_alarm_begin(aw_alarm_t *eng);

/** Keeps everything since aw_alarm_begin(). Returns AW_OK or AW_ESTATE (none open). */
int aw_alarm_commit(aw_alarm_t *eng);

/**
 * Restores the state of aw_alarm_begin() exactly; events emitted since are
 * the caller's to discard. Returns AW_OK or AW_ESTATE (none open).
 */
int aw_alarm_rollback(aw_alarm_t *eng);

/**
 * Writes the persistent state (active alarms, stale devices, id counter) as
 * JSON private to this module, versioned by its "v" member. On success *json
 * is the caller's (free()). Returns AW_OK or AW_ENOMEM.
 */
int aw_alarm_state_export(const aw_alarm_t *eng, char **json);

/**
 * Replaces the engine's state with one from aw_alarm_state_export(),
 * typically right after aw_alarm_new() at start-up. No events are emitted
 * for what is restored, except CLEARED (at @p now_ms) for alarms whose
 * device metric is no longer in the registry. Items are re-graded silently.
 * The id counter becomes the larger of the current and the stored one.
 * Returns AW_OK, AW_ECORRUPT (malformed state: nothing changes), AW_ESTATE
 * (inside a transaction) or AW_ENOMEM.
 */
int aw_alarm_state_import(aw_alarm_t *eng, const char *json, size_t len, int64_t now_ms);

/** Calls @p fn for each active alarm, in registry order. */
void aw_alarm_foreach(const aw_alarm_t *eng, void (*fn)(void *arg, const aw_alarm_info *info),
                      void *arg);

/** Fills @p stats with counts of active alarms and stale devices. */
void aw_alarm_get_stats(const aw_alarm_t *eng, aw_alarm_stats *stats);

/**
 * Returns the current GB 51108 level of item @p item of site @p site_path
 * (NONE when no point of it is active or it does not exist).
 */
aw_level aw_alarm_item_level(const aw_alarm_t *eng, const char *site_path, const char *item);

#endif
