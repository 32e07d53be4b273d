/**
 * @file db.h
 * @brief The center's tables in its store, their key layouts, and the
 * per-edge rows the replication core keeps (SPEC §5).
 *
 * One aw_center_db_t wraps one open aw_store_t (borrowed) and the named
 * tables below. Every multi-byte integer in a key is big-endian, so keys
 * sort in numeric order; `edge` is the edge id (1..128 bytes of printable
 * ASCII, see aw_center_edge_id_ok()) followed by a NUL, so one edge's keys
 * are one prefix.
 *
 * | table      | key                                   | value                                   |
 * |------------|---------------------------------------|-----------------------------------------|
 * | `applied`  | edge NUL epoch(8) lane(1)             | applied seq (8)                         |
 * | `records`  | edge NUL epoch(8) lane(1) seq(8)      | the encoded Record as the edge sent it  |
 * | `poison`   | edge NUL epoch(8) lane(1) seq(8)      | reason NUL, then the bytes as sent      |
 * | `gaps`     | edge NUL epoch(8) lane(1) to_seq(8)   | from_seq (8): seqs the edge dropped     |
 * | `edges`    | edge                                  | aw_center_edge_row (versioned binary)   |
 * | `epochs`   | edge NUL epoch(8)                     | aw_center_epoch_row (versioned binary)  |
 * | `down`     | edge NUL epoch(8) seq(8)              | encoded Envelope{Down}, sent as is      |
 * | `latest`   | device NUL metric                     | time_ms(8) hlc(8) edge NUL, then the    |
 * |            |                                       | encoded Record of the latest reading    |
 * | `hazards`  | hazard_id NUL hlc(8) origin           | the encoded Record{hazard} (set union)  |
 * | `alarms`   | alarm_id                              | edge NUL, then the encoded Record of    |
 * |            |                                       | the alarm's last event (active only)    |
 * | `alerts`   | identifier                            | encoded Envelope{Down{alert}} (seq and  |
 * |            |                                       | epoch ignored); see aw_center_alert_put |
 * |            | identifier NUL                        | Envelope{Down{alert_cancel}}: the alert |
 * |            |                                       | was cancelled (snapshots leave it out)  |
 * | `registry` | "county" (AW_CENTER_REGISTRY_KEY)     | the county registry JSON (SPEC §1)      |
 *
 * Lanes are 0 (urgent) and 1 (bulk), as aw_lane and the wire enum.
 */
#ifndef AW_CENTER_DB_H
#define AW_CENTER_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anwang.pb-c.h"
#include "aw_err.h"
#include "registry.h"
#include "store.h"

/** Key of the county registry JSON in the `registry` table. */
#define AW_CENTER_REGISTRY_KEY "county"
/** Longest edge id (the codec's identifier rule). */
#define AW_CENTER_EDGE_ID_MAX 128
/** Longest zone grid path (the codec's grid path rule). */
#define AW_CENTER_ZONE_MAX 256
/** A buffer that fits every key this module builds. */
#define AW_CENTER_KEY_MAX 511

/** The center's tables; names in aw_center_table_names. */
typedef enum aw_center_table {
    AW_CT_APPLIED = 0,
    AW_CT_RECORDS,
    AW_CT_POISON,
    AW_CT_GAPS,
    AW_CT_EDGES,
    AW_CT_EPOCHS,
    AW_CT_DOWN,
    AW_CT_LATEST,
    AW_CT_HAZARDS,
    AW_CT_ALARMS,
    AW_CT_ALERTS,
    AW_CT_REGISTRY,
    AW_CT_COUNT_
} aw_center_table;

/** Table names, indexed by aw_center_table. */
extern const char *const aw_center_table_names[AW_CT_COUNT_];

typedef struct aw_center_db aw_center_db_t;

/** Where an applied record came from; all borrowed for the hook call. */
typedef struct aw_center_origin {
    const char *edge_id;
    uint64_t epoch;
    aw_lane lane;
    uint64_t seq;
} aw_center_origin;

/**
 * Called once for every record applied (not for skipped or poison ones),
 * inside the batch's write transaction, after the center's own tables were
 * updated: the place where the situational picture (next issue) is
 * maintained in the same transaction. @p rec is borrowed for the call.
 * Return AW_OK, or an error to abort the whole batch (nothing of it is
 * stored and the caller gets that error).
 */
typedef int (*aw_center_record_fn)(void *arg, aw_txn_t *txn, const aw_center_origin *from,
                                   const Anwang__Record *rec);

/**
 * Opens the center's tables in @p store (borrowed; must outlive the db).
 * Call at start-up, with no write transaction open in this thread.
 * On success *out is the caller's (aw_center_db_destroy()).
 * Returns AW_OK, AW_ENOMEM, or the store's error (AW_ETOOBIG when the store
 * was opened with fewer than AW_CT_COUNT_ free max_tables).
 *
 * On a store opened read-only (aw_store_opts.read_only; e.g. the CLI beside
 * a running center) the tables are opened, never created: AW_ENOTFOUND
 * when one is missing, i.e. the store is not a center's data dir (the
 * center makes them all at its first start). Writes through such a db
 * fail with the store's AW_EPERM.
 */
int aw_center_db_open(aw_store_t *store, aw_center_db_t **out);

/** Frees the handle (not the store) and nulls *self_p. Safe on NULL and twice. */
void aw_center_db_destroy(aw_center_db_t **self_p);

/** The store (borrowed). */
aw_store_t *aw_center_db_store(const aw_center_db_t *self);

/** The handle of table @p t. */
aw_table_t aw_center_db_table(const aw_center_db_t *self, aw_center_table t);

/** Sets the per-record hook (NULL = none); @p arg is borrowed. */
void aw_center_db_set_record_hook(aw_center_db_t *self, aw_center_record_fn fn, void *arg);

/** Returns the county registry in force (borrowed for the call), or NULL. */
typedef const aw_registry_t *(*aw_center_registry_fn)(void *arg);

/**
 * Where the down channel gets the parsed registry for a new epoch's
 * snapshot (the registry service's current one); without a source it
 * parses the stored JSON each time (50 ms for a large county: a reconnect
 * storm of 500 edges would spend 25 s on it).
 */
void aw_center_db_set_registry_source(aw_center_db_t *self, aw_center_registry_fn fn, void *arg);

/** The registry from the source, or NULL (no source, or none imported). */
const aw_registry_t *aw_center_db_registry(const aw_center_db_t *self);

/** Calls the hook, if any; AW_OK when there is none. */
int aw_center_db_call_hook(const aw_center_db_t *self, aw_txn_t *txn, const aw_center_origin *from,
                           const Anwang__Record *rec);

/** True when @p id is a valid edge id: 1..128 bytes of 0x21..0x7E except `,` `<` `&`. */
bool aw_center_edge_id_ok(const char *id);

/* ------------------------------------------------------------ keys */

/** edge NUL epoch(8). Returns the key length. @p edge must be valid. */
size_t aw_center_key_epoch(uint8_t *key, const char *edge, uint64_t epoch);

/** edge NUL epoch(8) lane(1). Returns the key length. */
size_t aw_center_key_lane(uint8_t *key, const char *edge, uint64_t epoch, aw_lane lane);

/** edge NUL epoch(8) lane(1) seq(8). Returns the key length. */
size_t aw_center_key_seq(uint8_t *key, const char *edge, uint64_t epoch, aw_lane lane,
                         uint64_t seq);

/* ------------------------------------------------------------ rows */

/** The `edges` row: what the center knows of one edge now. */
typedef struct aw_center_edge_row {
    uint64_t epoch;                    /**< current epoch (0 = never said Hello) */
    bool connected;                    /**< a session is up (cleared at start-up) */
    int64_t last_contact_ms;           /**< center time of the last message */
    int64_t skew_ms;                   /**< edge wall − center wall, last Hello/Heartbeat */
    uint64_t head[AW_LANE_COUNT];      /**< edge's last stored seq, current epoch */
    uint64_t records[AW_LANE_COUNT];   /**< records applied, all epochs */
    uint64_t poison;                   /**< records quarantined, all epochs */
    uint64_t hellos;                   /**< sessions established */
    char zone[AW_CENTER_ZONE_MAX + 1]; /**< zone grid path ("" = unknown) */
} aw_center_edge_row;

/** Reads @p edge's row into @p row; a missing row reads as zeros and AW_ENOTFOUND. */
int aw_center_edge_row_get(aw_txn_t *txn, const aw_center_db_t *db, const char *edge,
                           aw_center_edge_row *row);

/** Writes @p edge's row. */
int aw_center_edge_row_put(aw_txn_t *txn, const aw_center_db_t *db, const char *edge,
                           const aw_center_edge_row *row);

/** The `epochs` row: one life of an edge's log as the center saw it. */
typedef struct aw_center_epoch_row {
    int64_t first_seen_ms; /**< center time of the first Hello of this epoch */
    uint64_t down_last;    /**< last Down seq enqueued for this epoch */
    uint64_t down_acked;   /**< highest Down seq the edge acknowledged */
} aw_center_epoch_row;

/** Reads a row; a missing one reads as zeros and AW_ENOTFOUND. */
int aw_center_epoch_row_get(aw_txn_t *txn, const aw_center_db_t *db, const char *edge,
                            uint64_t epoch, aw_center_epoch_row *row);

/** Writes a row. */
int aw_center_epoch_row_put(aw_txn_t *txn, const aw_center_db_t *db, const char *edge,
                            uint64_t epoch, const aw_center_epoch_row *row);

/** The applied seq of (edge, epoch, lane); 0 when none. Returns AW_OK or a store error. */
int aw_center_applied_get(aw_txn_t *txn, const aw_center_db_t *db, const char *edge, uint64_t epoch,
                          aw_lane lane, uint64_t *seq);

/** Records the applied seq of (edge, epoch, lane). */
int aw_center_applied_put(aw_txn_t *txn, const aw_center_db_t *db, const char *edge, uint64_t epoch,
                          aw_lane lane, uint64_t seq);

/** True when grid path @p path is @p zone or lies under it. */
bool aw_center_path_in_zone(const char *path, const char *zone);

#endif
