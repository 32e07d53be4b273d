/**
 * @file store.h
 * @brief Everything that touches LMDB: the record log, metadata and tables.
 *
 * One store is one LMDB environment in one directory. It holds
 *  - the append-only **record log** in two lanes (SPEC §5), `urgent` and
 *    `bulk`, each with dense sequence numbers from 1. A log value is an
 *    8-byte big-endian store time (ms) followed by the encoded record, which
 *    readers get back without the header;
 *  - **metadata**: the epoch (random 64-bit, made once when the store is
 *    created), per lane the head (last seq), first (oldest kept seq), acked
 *    mark and byte count, and the HLC high-water mark;
 *  - named **tables** (registry, hazards, alarms, ...) for the programs'
 *    own keyed data, all written in the same transactions as the log.
 *
 * Setup follows LMDB: aw_store_open() → use → aw_store_destroy(). All calls
 * return 0 (AW_OK) or an aw_err code; LMDB's codes are converted here and
 * never leak. MDB_MAP_FULL never leaves the store unusable: the transaction
 * is aborted, the caller gets AW_EFULL, and the map is grown (up to
 * map_max) or pruning frees room before the next write.
 *
 * Threads: one writer at a time (LMDB's rule); reads may run in any thread.
 */
#ifndef AW_STORE_H
#define AW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"

/** The two log lanes. Values match the wire enum anwang.Lane. */
typedef enum aw_lane {
    AW_LANE_URGENT = 0,
    AW_LANE_BULK = 1,
} aw_lane;

#define AW_LANE_COUNT 2

/** Returns "urgent" or "bulk". */
const char *aw_lane_name(aw_lane lane);

/** How commits reach the disk. */
typedef enum aw_durability {
    AW_DURABLE_FSYNC = 0, /**< every commit is flushed before it returns */
    AW_DURABLE_NOSYNC,    /**< commit without flush; call aw_store_sync() */
} aw_durability;

typedef struct aw_store_opts {
    const char *path;        /**< data directory (created if missing) */
    size_t map_size;         /**< initial LMDB map size, bytes (default 64 MiB) */
    size_t map_max;          /**< the map may grow up to this (default = map_size) */
    uint64_t max_bytes;      /**< log byte budget (0 = no budget) */
    int64_t retention_ms;    /**< acked records older than this are pruned (0 = keep) */
    aw_durability durability;
    unsigned max_tables;     /**< named tables the programs may open (default 32) */
} aw_store_opts;

typedef struct aw_store aw_store_t;
typedef struct aw_txn aw_txn_t;
/** A named table; valid for the life of the store. */
typedef unsigned aw_table_t;

/** Per-lane positions. first..head are the seqs still in the log. */
typedef struct aw_lane_info {
    uint64_t head;  /**< last appended seq (0 = none yet) */
    uint64_t first; /**< oldest seq still stored (head+1 when empty) */
    uint64_t acked; /**< highest seq the peer applied */
    uint64_t bytes; /**< bytes of the lane's stored values */
    uint64_t count; /**< records stored */
} aw_lane_info;

/** What one prune pass removed. */
typedef struct aw_prune_report {
    uint64_t acked_removed[AW_LANE_COUNT]; /**< acked records removed, per lane */
    uint64_t unacked_removed;              /**< unacked bulk records dropped */
    uint64_t gaps;                         /**< gap records written */
    uint64_t bytes_freed;
} aw_prune_report;

/**
 * Opens (or creates) the store at opts->path. A new store gets a random
 * epoch. Stale reader slots of dead processes are cleared. On success *out
 * is the caller's; free with aw_store_destroy().
 */
int aw_store_open(const aw_store_opts *opts, aw_store_t **out);

/** Closes the store and nulls *self_p. Safe on NULL and twice. */
void aw_store_destroy(aw_store_t **self_p);

/** The epoch: one life of this store's log. */
uint64_t aw_store_epoch(const aw_store_t *self);

/** Fills @p info for @p lane from the last committed state. */
int aw_store_lane_info(aw_store_t *self, aw_lane lane, aw_lane_info *info);

/** The highest HLC stamp ever committed (0 for a new store). */
uint64_t aw_store_hlc_floor(const aw_store_t *self);

/**
 * Appends @p n encoded records to @p lane in one transaction (group commit).
 * Only after the commit succeeded is *first_seq set: the records got
 * first_seq .. first_seq+n-1. When the budget would be exceeded, bulk
 * records are pruned first (oldest acked, then oldest unacked with a gap
 * record). Returns AW_EFULL (bulk) or AW_EURGENTFULL (urgent) when room
 * cannot be made; nothing of the call is stored then. @p hlc is the highest
 * HLC stamp among the records (0 = none), persisted with them.
 */
int aw_store_append(aw_store_t *self, aw_lane lane, const void *const *recs, const size_t *lens,
                    size_t n, uint64_t hlc, uint64_t *first_seq);

/** Called once per record by aw_store_read(); return non-zero to stop. */
typedef int (*aw_store_read_fn)(void *arg, uint64_t seq, const void *rec, size_t len);

/**
 * Calls @p fn for records of @p lane from @p from_seq on, in order, until
 * @p max_records or @p max_bytes (0 = no limit) is reached, inside one short
 * read transaction. @p rec is valid only during the call. Seqs below the
 * lane's first were pruned and are skipped. Returns AW_OK or the first
 * error; a non-zero return of @p fn stops the walk and is not an error.
 */
int aw_store_read(aw_store_t *self, aw_lane lane, uint64_t from_seq, size_t max_records,
                  size_t max_bytes, aw_store_read_fn fn, void *arg);

/** Raises @p lane's acked mark to @p seq (never lowers it; seq ≤ head). */
int aw_store_mark_acked(aw_store_t *self, aw_lane lane, uint64_t seq);

/**
 * Prunes by retention (acked records older than retention_ms before
 * @p now_ms) and by the byte budget (SPEC §5 gap rule). @p report may be
 * NULL.
 */
int aw_store_prune(aw_store_t *self, int64_t now_ms, aw_prune_report *report);

/** Flushes data and metadata to disk (for AW_DURABLE_NOSYNC). */
int aw_store_sync(aw_store_t *self);

/** Clears reader slots left by dead processes; *cleared may be NULL. */
int aw_store_check_readers(aw_store_t *self, int *cleared);

/** Bytes of the map in use and the current map size. */
int aw_store_usage(aw_store_t *self, uint64_t *used, uint64_t *map_size);

/* ------------------------------------------------------------ transactions */

/**
 * Opens (creating if needed) the named table @p name. Call at start-up, not
 * while a write transaction is open in this thread.
 */
int aw_store_table(aw_store_t *self, const char *name, aw_table_t *out);

/** Begins a write transaction; commit or abort it before the next. */
int aw_store_begin(aw_store_t *self, aw_txn_t **out);

/** Begins a read-only transaction (for gets and iterations). */
int aw_store_begin_read(aw_store_t *self, aw_txn_t **out);

/**
 * Commits and nulls *txn_p. On failure the transaction is aborted, nothing
 * of it is stored, and AW_EFULL / AW_EIO is returned.
 */
int aw_txn_commit(aw_txn_t **txn_p);

/** Aborts and nulls *txn_p. Safe on NULL. */
void aw_txn_abort(aw_txn_t **txn_p);

/** Appends one record to @p lane in @p txn; *seq is final once committed. */
int aw_txn_append(aw_txn_t *txn, aw_lane lane, const void *rec, size_t len, uint64_t *seq);

/** Records that stamps up to @p hlc were issued (persisted at commit). */
void aw_txn_note_hlc(aw_txn_t *txn, uint64_t hlc);

/** Puts @p val under @p key in @p table. */
int aw_txn_put(aw_txn_t *txn, aw_table_t table, const void *key, size_t klen, const void *val,
               size_t vlen);

/**
 * Gets the value under @p key. *val is valid only until the end of the
 * transaction. Returns AW_ENOTFOUND when absent.
 */
int aw_txn_get(aw_txn_t *txn, aw_table_t table, const void *key, size_t klen, const void **val,
               size_t *vlen);

/** Deletes @p key; AW_ENOTFOUND when absent. */
int aw_txn_del(aw_txn_t *txn, aw_table_t table, const void *key, size_t klen);

/** Called once per entry by aw_txn_scan(); return non-zero to stop. */
typedef int (*aw_scan_fn)(void *arg, const void *key, size_t klen, const void *val, size_t vlen);

/**
 * Walks @p table from the first key ≥ @p from (NULL = start) whose key
 * begins with @p prefix (NULL = any), in key order.
 */
int aw_txn_scan(aw_txn_t *txn, aw_table_t table, const void *prefix, size_t plen,
                const void *from, size_t flen, aw_scan_fn fn, void *arg);

/** Big-endian helpers for keys that sort in numeric order. */
void aw_put_be64(uint8_t out[8], uint64_t v);
uint64_t aw_get_be64(const uint8_t in[8]);

#endif
