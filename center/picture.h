/**
 * @file picture.h
 * @brief The situational picture (SPEC §8): per grid node colour, device
 * counts, active alarms and open/overdue hazards, maintained in the same
 * LMDB transaction as each merge and read as JSON by the API.
 *
 * Tables (all in the center's store, keys big-endian like db.h):
 *
 * | table       | key                               | value                                    |
 * |-------------|-----------------------------------|------------------------------------------|
 * | `pic_nodes` | grid path                         | node row: counts and colour (see .c)     |
 * | `pic_dev`   | device id                         | device state: seen, last_seen, stale     |
 * | `pic_points`| alarm id                          | site NUL item NUL, level (the alarm as   |
 * |             |                                   | the picture counted it)                  |
 * | `pic_items` | site NUL item                     | active points per level (GB 51108)       |
 * | `pic_haz`   | hazard id                         | hazard summary: site, sector, level,     |
 * |             |                                   | status, deadline, overdue, notified      |
 * | `history`   | device NUL metric NUL ~time(8)    | the reading's value, typed (see .c)      |
 * | `alarm_log` | time(8) alarm id                  | last event of a cleared alarm (7 days)   |
 * | `pic_meta`  | "built"                           | registry version the nodes were built on |
 *
 * Times in keys sort in time order; history's is inverted (~), so a
 * device's rows read newest first. Every row format is in picture.c.
 *
 * The node rows are the picture: GET reads them, never recomputes. A site's
 * colour is aw_grade_site() of its static risk, its items (aw_grade_item()
 * over pic_items) and its open hazards; any other node's colour is the
 * highest colour of the sites beneath it (each node keeps how many sites
 * below it have each colour, so a change walks up the path once).
 *
 * State vs. counts: pic_dev, pic_points, pic_items and pic_haz are kept for
 * every record, whether or not the registry knows its device or site; only
 * the node rows count what the registry in use knows. So a registry that
 * adds a device or site shows its past at the next rebuild, and a record
 * the registry does not know is never an error (an error from the hook
 * would abort the whole batch).
 *
 * Devices: online = a reading came and it is not stale; stale = a
 * DEVICE_STALE came and no reading newer than its last_seen_ms since (a
 * STALE whose last_seen_ms is older than a reading in `latest` is ignored;
 * `latest` is written at the end of each merge, so a reading in the same
 * merge as the STALE is only seen by its time when it comes next). A
 * reading costs one get (pic_dev) and one put (history); pic_dev and the
 * node rows are written only on a transition.
 *
 * Single-threaded: the center's loop thread. Reads take a read transaction
 * from the caller.
 */
#ifndef AW_CENTER_PICTURE_H
#define AW_CENTER_PICTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "anwang.pb-c.h"
#include "aw_err.h"
#include "db.h"
#include "ledger.h"
#include "registry.h"

typedef struct aw_picture aw_picture_t;

/** Opens the picture's tables in @p db's store (start-up, no txn open). */
int aw_picture_open(aw_center_db_t *db, aw_picture_t **out);

/** Frees and nulls *self_p. Safe on NULL and twice. */
void aw_picture_destroy(aw_picture_t **self_p);

/**
 * Points the picture at @p reg (borrowed; NULL = none: every record is only
 * stored, counts stay empty). Does not touch the store: call
 * aw_picture_rebuild() in the transaction that makes @p reg current.
 */
void aw_picture_use_registry(aw_picture_t *self, const aw_registry_t *reg);

/**
 * Recomputes every node row from the state tables (pic_dev, pic_items,
 * pic_haz) for the current registry, inside @p txn, and records the
 * registry version in pic_meta. Used when the registry changes and at
 * start-up when pic_meta does not match. The rows equal those the hook
 * keeps incrementally. Overdue flags are state (set by the scan and by
 * aw_picture_hazard_changed()), so @p now_ms changes nothing here. With no
 * registry the node rows are deleted. While pic_meta does not name the
 * registry in use (not rebuilt for it yet, or the rebuild was rolled back)
 * the hook keeps the state tables only; it reads pic_meta in its own
 * transaction, so nothing in memory can go stale.
 */
int aw_picture_rebuild(aw_picture_t *self, aw_txn_t *txn, int64_t now_ms);

/** True when the node rows were built for the registry in use. */
bool aw_picture_built_for_current(aw_picture_t *self, aw_txn_t *txn);

/**
 * The record hook (db.h aw_center_record_fn; @p arg is the picture):
 * readings → pic_dev + history; alarm events → pic_points, pic_items,
 * alarm_log and node counts; device events → stale/online; hazard events →
 * aw_picture_hazard_changed(). Others: nothing.
 */
int aw_picture_on_record(void *arg, aw_txn_t *txn, const aw_center_origin *from,
                         const Anwang__Record *rec);

/**
 * Re-folds hazard @p hazard_id from the `hazards` table and moves its
 * summary and the node counts (open / overdue per level, site colour) to
 * what the fold says now. Call after adding events to a hazard in @p txn.
 * Overdue: aw_hazard_overdue() at @p now_ms, or still assigned/rectifying
 * at the deadline an earlier call or scan found overdue (time only moves
 * on). The overdue-notified flag is kept. AW_OK when the hazard has no
 * events; AW_EINVAL for a NULL or empty id.
 */
int aw_picture_hazard_changed(aw_picture_t *self, aw_txn_t *txn, const char *hazard_id,
                              int64_t now_ms);

/**
 * Sets the clock the hook uses to judge overdue when a hazard event
 * arrives (NULL = CLOCK_REALTIME, the default). @p arg is borrowed.
 */
void aw_picture_set_clock(aw_picture_t *self, int64_t (*now_ms)(void *arg), void *arg);

/**
 * History downsampling: a reading goes to `history` only when it lies at
 * least @p step_ms from the newest row kept for its (device, metric); 0 (the
 * default) keeps every reading. At 93k readings/s a row per reading would
 * rewrite a page per (device, metric) per commit and hold billions of rows
 * in 30 days; the trend an operator reads needs far fewer. Every reading
 * stays in `records`.
 */
void aw_picture_set_history_step(aw_picture_t *self, int64_t step_ms);

/** Called for each hazard that became overdue; the ledger adds its notify. */
typedef int (*aw_picture_overdue_fn)(void *arg, aw_txn_t *txn, const char *hazard_id);

/**
 * Marks open hazards whose deadline passed at @p now_ms overdue (counts
 * move), and calls @p fn once per hazard that was never notified overdue
 * (the flag is kept in pic_haz, so a hazard is notified once). Inside @p txn.
 */
int aw_picture_overdue_scan(aw_picture_t *self, aw_txn_t *txn, int64_t now_ms,
                            aw_picture_overdue_fn fn, void *arg);

/**
 * Deletes history rows older than now_ms − keep_ms and alarm_log rows older
 * than 7 days, at most @p max_rows per call (the loop calls it again while
 * *deleted == max_rows), in its own transaction (none may be open in this
 * thread). AW_EINVAL for max_rows 0 or keep_ms < 0.
 */
int aw_picture_prune(aw_picture_t *self, int64_t now_ms, int64_t keep_ms, size_t max_rows,
                     size_t *deleted);

/* ------------------------------------------------------------ reads (JSON, API.md) */

/**
 * GET /api/v1/picture: the tree under @p root (NULL = the county) to
 * @p depth levels (0..4, else AW_EINVAL). *out is the caller's
 * (json_decref). AW_ENOTFOUND for an unknown root or no registry.
 */
int aw_picture_tree_json(aw_picture_t *self, aw_txn_t *txn, const char *root, int depth,
                         int64_t now_ms, json_t **out);

/**
 * GET /api/v1/devices/<id>: @p metric NULL = all; @p limit (1..10000, else
 * AW_EINVAL) per metric. latest and last_seen come from `latest`, history
 * newest first. A device the registry does not know but that has sent
 * data is shown with kind/site/zone/interval_s null; AW_ENOTFOUND when
 * neither knows it.
 */
int aw_picture_device_json(aw_picture_t *self, aw_txn_t *txn, const char *id, const char *metric,
                           size_t limit, json_t **out);

/** The alarm of aw_picture_alarms_json(). */
typedef struct aw_alarm_query {
    bool all;         /**< also alarms cleared in the last 7 days */
    const char *root; /**< grid subtree, NULL = all */
    int min_level;    /**< aw_level; 0 = any */
} aw_alarm_query;

/**
 * GET /api/v1/alarms: active alarms from `alarms` (and with q->all the
 * cleared ones of alarm_log, `active: false`, `level` = the level before
 * the clear), newest event first. `acknowledged` / `ack_by`: the last
 * event is an ALARM_ACKNOWLEDGED (a later escalation needs a new ack).
 * AW_EINVAL for min_level outside 0..4.
 */
int aw_picture_alarms_json(aw_picture_t *self, aw_txn_t *txn, const aw_alarm_query *q,
                           json_t **out);

/**
 * Which hazards aw_picture_hazards_each() visits (a NULL filter = all).
 * Hazards without an accepted report are never visited.
 */
typedef struct aw_hazard_filter {
    const char *root;   /**< site under this grid path */
    int status;         /**< -1 (or 0) any; -2 open (not closed); else aw_hazard_status */
    int level;          /**< -1 any; else Anwang__HazardLevel */
    const char *sector; /**< NULL any */
    bool overdue_only;
} aw_hazard_filter;

/** Called per matching hazard id; non-zero stops and is returned. */
typedef int (*aw_picture_hazard_fn)(void *arg, const char *hazard_id);

/** Visits the hazards of pic_haz that match @p f, newest report first. */
int aw_picture_hazards_each(aw_picture_t *self, aw_txn_t *txn, const aw_hazard_filter *f,
                            int64_t now_ms, aw_picture_hazard_fn fn, void *arg);

/** Whole-county totals for /metrics and /api/v1/status. */
typedef struct aw_picture_totals {
    unsigned alarms[5];  /**< active alarms per aw_level */
    unsigned open[2];    /**< open hazards per Anwang__HazardLevel */
    unsigned overdue[2]; /**< overdue hazards per Anwang__HazardLevel */
    unsigned devices, online, stale;
    uint64_t readings_applied; /**< since start (in memory) */
} aw_picture_totals;

int aw_picture_totals_get(aw_picture_t *self, aw_txn_t *txn, aw_picture_totals *out);

/**
 * Which edge holds alarm @p alarm_id (from `alarms`); AW_ENOTFOUND when not
 * active, AW_ERANGE when @p cap is too small.
 */
int aw_picture_alarm_edge(aw_picture_t *self, aw_txn_t *txn, const char *alarm_id, char *edge,
                          size_t cap);

#endif
