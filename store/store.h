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
 * never leak. The store never logs.
 *
 * **Durability** (aw_store_opts.durability):
 *  - AW_DURABLE_FSYNC: when a commit (aw_store_append(), aw_txn_commit(),
 *    aw_store_mark_acked(), ...) returns AW_OK, the data and the metadata
 *    page have been flushed with fdatasync(): the transaction survives a
 *    crash of the process, the kernel or the power (on a disk that honours
 *    flushes). A transaction whose commit did not return is either wholly
 *    present or wholly absent after a crash, never half there.
 *  - AW_DURABLE_NOSYNC (LMDB's MDB_NOSYNC, which also skips the metadata
 *    flush): a returned commit survives a crash of the process (kill -9) at
 *    once, and survives a kernel crash or power loss only once a later
 *    aw_store_sync() has returned AW_OK. A power loss between syncs may lose
 *    the commits since the last sync and, unless the filesystem keeps the
 *    order of writes, may leave the store corrupt (aw_store_open() then
 *    returns AW_ECORRUPT). Use it only with frequent aw_store_sync() calls
 *    and answer senders only after the sync.
 *    A NOSYNC store also maps its file writable (LMDB's MDB_WRITEMAP): a
 *    commit writes into the map and costs no system call (without it,
 *    each commit is a writev of the dirty pages plus pwrites of the meta
 *    page: 4-6x the cost of a one-record commit here). What it changes:
 *    - the data file is as large as the map and its blocks are allocated
 *      up front (fallocate), so `du` shows the map size (64 MiB at first,
 *      doubling with the map up to map_max), not the data size. The
 *      reservation is what keeps a full disk an error: writing into a
 *      sparse hole of a mapped file on a full disk is a SIGBUS. When the
 *      map cannot be reserved at open, the store opens without
 *      MDB_WRITEMAP (as before); when a growth cannot be reserved, the map
 *      stays at its size and the append fails with AW_EFULL as for a full
 *      disk (the budget is lowered, below). A growth made by another
 *      process is reserved on a best-effort basis only;
 *    - the durability promises above are unchanged: commits are in the
 *      page cache (kill -9 safe), aw_store_sync() flushes them (msync),
 *      power loss between syncs may lose or corrupt as said;
 *    - the map is writable memory: a stray write through a pointer this
 *      store handed out (aw_txn_get(), aw_store_read()) would change the
 *      store instead of faulting. Callers treat those as const anyway.
 *    MDB_MAPASYNC is not used: with MDB_NOSYNC it changes nothing, and
 *    aw_store_sync() must flush synchronously.
 *
 * **Budget** (aw_store_opts.max_bytes, SPEC §5): the lanes' bytes (stored
 * value sizes, header included; tables do not count) never exceed the budget
 * after a commit. When an append would cross it, records are pruned until
 * the lanes and the new records fill at most 90% of the budget (so pruning
 * does not run on every append; just to the budget when unacked urgent
 * records leave no more), oldest first and in this order:
 *  1. acked bulk records;
 *  2. acked urgent records (the center already has them);
 *  3. unacked bulk records, each contiguous dropped range recorded as one
 *     Gap record appended to the urgent lane (its bytes count there).
 * Unacked urgent records are never dropped. An append that cannot fit even
 * after all of that fails with AW_EURGENTFULL (urgent) or AW_EFULL (bulk)
 * and changes nothing. Pruning runs in bounded chunks (each its own
 * transaction) so no transaction grows without limit.
 *
 * **Disk or map full**: MDB_MAP_FULL (the map is full), MDB_TXN_FULL (one
 * transaction too big) and a full disk (ENOSPC, or LMDB's EIO for a short
 * write while the filesystem has under 1 MiB free) never leave the store
 * unusable: the transaction is aborted and AW_EFULL returned (also for
 * urgent appends). Log appends stop early, while the map still has room
 * for pruning (1/128 of it, at least 64 pages), so pruning always works.
 * Recovery, for the next write:
 *  - the map is doubled, up to map_max, as soon as no transaction of this
 *    process is open (new ones wait up to 1 s for that);
 *    aw_store_append() grows and retries at once;
 *  - when the map is at map_max or the disk is full and a budget is set,
 *    the budget is lowered, for the life of this handle, to 90% of the log
 *    bytes stored at that moment less what was missing: the next append
 *    prunes by the rule above before it writes;
 *  - without a budget nothing is dropped: acked records removed by
 *    aw_store_prune() (or room made on the disk) let writes resume.
 * Table writes are not held back by the map reserve; a table write that
 * meets a full map gets AW_EFULL in the same way.
 *
 * **Threads**: one write transaction at a time per store (a second writer
 * waits); read transactions may run in any thread, alongside the writer.
 * While a thread holds a write transaction it must not call functions that
 * begin one (aw_store_append, aw_store_mark_acked, aw_store_prune,
 * aw_store_table, aw_store_begin): they would wait for it forever.
 * Several processes may open one store; LMDB serializes their writers, and
 * each write transaction reads the lane positions from the store itself.
 * aw_store_lane_info() and aw_store_hlc_floor() show what this handle last
 * committed or found at open.
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

/** Bytes of the store-time header in front of each stored record. */
#define AW_STORE_HEADER 8

/** Version of the on-disk layout, kept in the `meta` table. */
#define AW_STORE_FORMAT 1

/** Returns "urgent" or "bulk" ("?" for an invalid lane). */
const char *aw_lane_name(aw_lane lane);

/** How commits reach the disk; see the file comment for what each promises. */
typedef enum aw_durability {
    AW_DURABLE_FSYNC = 0, /**< every commit is flushed before it returns */
    AW_DURABLE_NOSYNC,    /**< commit without flush; call aw_store_sync() */
} aw_durability;

typedef struct aw_store_opts {
    const char *path;     /**< data directory (created 0700 if missing; files 0600) */
    size_t map_size;      /**< initial LMDB map size, bytes (default 64 MiB) */
    size_t map_max;       /**< the map may grow up to this (default = map_size) */
    uint64_t max_bytes;   /**< log byte budget (0 = no budget) */
    int64_t retention_ms; /**< acked records older than this are pruned (0 = keep) */
    aw_durability durability;
    unsigned max_tables; /**< named tables the programs may open (default 32) */
    /**
     * Wall clock in ms for store-time headers and gap records (NULL =
     * CLOCK_REALTIME). Called inside write transactions; must not call the
     * store.
     */
    int64_t (*now_ms)(void *clock_arg);
    /**
     * Issues the HLC stamp of a gap record the store writes, given the wall
     * time (NULL = max(floor + 1, now_ms << 16)). Daemons pass their clock
     * (aw_hlc_now under its lock) so gap stamps come from the node's HLC.
     * Called inside write transactions; must not call the store.
     */
    uint64_t (*hlc_issue)(void *clock_arg, int64_t now_ms);
    void *clock_arg; /**< borrowed; passed to now_ms and hlc_issue */
    /**
     * Opens an existing store for reading only (LMDB's MDB_RDONLY): e.g.
     * the CLI beside the daemon that writes the store. Nothing is created
     * or written: no directory, no metadata, no map growth (a growth made
     * by the writer is adopted); AW_ENOTFOUND when path holds no store.
     * aw_store_table() opens existing tables only (AW_ENOTFOUND for one
     * never made); every call that writes (aw_store_begin, _append,
     * _mark_acked, _prune, _sync) returns AW_EPERM. The lanes and HLC floor
     * the handle shows are those found at open. A reader takes a slot in
     * the writer's lock file (lock.mdb), so it must be able to write that
     * file: run it as the user that owns the store (LMDB's MDB_NOLOCK,
     * which would avoid that, is unsafe beside a live writer). durability,
     * map_size, map_max, max_bytes, retention_ms and the clock hooks are
     * ignored.
     */
    bool read_only;
} aw_store_opts;

typedef struct aw_store aw_store_t;
/**
 * A transaction. It must be committed or aborted before its store is
 * destroyed, and ended in the thread that began it.
 */
typedef struct aw_txn aw_txn_t;
/** A named table; valid for the life of the store. */
typedef unsigned aw_table_t;

/** Per-lane positions. first..head are the seqs still in the log. */
typedef struct aw_lane_info {
    uint64_t head;        /**< last appended seq (0 = none yet) */
    uint64_t first;       /**< oldest seq still stored (head+1 when empty) */
    uint64_t acked;       /**< highest seq the peer applied */
    uint64_t bytes;       /**< bytes of the lane's stored values (header included) */
    uint64_t count;       /**< records stored (= head - first + 1) */
    uint64_t acked_bytes; /**< bytes of the stored records with seq ≤ acked */
    /** Last seq known to be on disk: head under AW_DURABLE_FSYNC (and at
     * open, and for a read-only handle); under AW_DURABLE_NOSYNC the head
     * as of the last successful aw_store_sync(). A record above it may
     * vanish in a power loss, so it must not leave the box yet. */
    uint64_t durable;
} aw_lane_info;

/** What one prune pass removed. */
typedef struct aw_prune_report {
    uint64_t acked_removed[AW_LANE_COUNT]; /**< acked records removed, per lane */
    uint64_t unacked_removed;              /**< unacked bulk records dropped */
    uint64_t gaps;                         /**< gap records written */
    uint64_t bytes_freed;                  /**< bytes of removed records (gaps not deducted) */
} aw_prune_report;

/**
 * Opens (or creates) the store at opts->path. A new store gets a random
 * epoch (getrandom()). Stale reader slots of dead processes are cleared.
 * On success *out is the caller's; free with aw_store_destroy(). Returns
 * AW_EINVAL (bad options), AW_EIO or AW_EPERM (directory or files),
 * AW_ECORRUPT (not an anwang store of this format, or damaged), AW_ENOMEM;
 * with opts->read_only also AW_ENOTFOUND (no store at opts->path).
 */
int aw_store_open(const aw_store_opts *opts, aw_store_t **out);

/**
 * Closes the store and nulls *self_p. Safe on NULL and twice. Every
 * transaction of the store must have been ended before.
 */
void aw_store_destroy(aw_store_t **self_p);

/** The epoch: one life of this store's log (never 0). */
uint64_t aw_store_epoch(const aw_store_t *self);

/** Fills @p info for @p lane from the last committed state. AW_EINVAL for a bad lane. */
int aw_store_lane_info(aw_store_t *self, aw_lane lane, aw_lane_info *info);

/** The highest HLC stamp ever committed (0 for a new store). */
uint64_t aw_store_hlc_floor(const aw_store_t *self);

/**
 * Appends @p n encoded records to @p lane in one transaction (group commit).
 * Only after the commit succeeded is *first_seq set: the records got
 * first_seq .. first_seq+n-1. When the budget would be exceeded, records
 * are pruned first (see the file comment; those prune transactions commit
 * on their own). Returns AW_EFULL (bulk, or map/disk full) or AW_EURGENTFULL
 * (urgent) when room cannot be made; nothing of the call is stored then.
 * @p hlc is the highest HLC stamp among the records (0 = none), persisted
 * with them. The records are borrowed for the call. AW_EINVAL when n is 0.
 */
int aw_store_append(aw_store_t *self, aw_lane lane, const void *const *recs, const size_t *lens,
                    size_t n, uint64_t hlc, uint64_t *first_seq);

/** Called once per record by aw_store_read(); return non-zero to stop. */
typedef int (*aw_store_read_fn)(void *arg, uint64_t seq, const void *rec, size_t len);

/**
 * Calls @p fn for records of @p lane from @p from_seq on, in order, until
 * @p max_records or @p max_bytes (0 = no limit; record lengths without the
 * header; the first record is always delivered) is reached, inside one
 * short read transaction. @p rec is valid only during the call. Seqs below
 * the lane's first were pruned and are skipped. Returns AW_OK or the first
 * error; a non-zero return of @p fn stops the walk and is not an error.
 */
int aw_store_read(aw_store_t *self, aw_lane lane, uint64_t from_seq, size_t max_records,
                  size_t max_bytes, aw_store_read_fn fn, void *arg);

/**
 * Raises @p lane's acked mark to @p seq in its own transaction. A seq at or
 * below the mark changes nothing (acks may arrive out of order); a seq
 * above the lane's head is AW_ERANGE.
 */
int aw_store_mark_acked(aw_store_t *self, aw_lane lane, uint64_t seq);

/**
 * Prunes by retention (acked records of both lanes whose store time is more
 * than retention_ms before @p now_ms) and, when the lanes' bytes exceed the
 * budget, by the budget rule down to 90% of it (as far as unacked urgent
 * records allow). Runs in bounded chunks, each its own transaction.
 * @p report (may be NULL) gets what was removed, also on error.
 */
int aw_store_prune(aw_store_t *self, int64_t now_ms, aw_prune_report *report);

/** Flushes data and metadata to disk (for AW_DURABLE_NOSYNC). */
int aw_store_sync(aw_store_t *self);

/**
 * Clears reader slots left by dead processes; *cleared (may be NULL) gets
 * how many. Call it now and then: a stale slot pins old pages.
 */
int aw_store_check_readers(aw_store_t *self, int *cleared);

/**
 * Bytes of the map in use (the high-water mark of pages, free pages inside
 * it included) and the current map size.
 */
int aw_store_usage(aw_store_t *self, uint64_t *used, uint64_t *map_size);

/* ------------------------------------------------------------ transactions */

/**
 * Opens (creating if needed) the named table @p name (1..200 bytes; not
 * `log_urgent`, `log_bulk` or `meta`, which the store owns: AW_EINVAL).
 * Opening a name again returns the same table. AW_ETOOBIG beyond
 * max_tables. On a read-only store the table must exist (AW_ENOTFOUND).
 * Call at start-up, before other threads use the store, and not while a
 * write transaction is open in this thread.
 */
int aw_store_table(aw_store_t *self, const char *name, aw_table_t *out);

/**
 * Begins a write transaction; *out is the caller's until aw_txn_commit()
 * or aw_txn_abort(). Waits while another thread holds a write transaction.
 */
int aw_store_begin(aw_store_t *self, aw_txn_t **out);

/** Begins a read-only transaction (for gets and iterations); keep it short. */
int aw_store_begin_read(aw_store_t *self, aw_txn_t **out);

/**
 * Commits and nulls *txn_p. On failure the transaction is aborted, nothing
 * of it is stored, and AW_EFULL / AW_EIO (or the error an earlier call in
 * the transaction returned, when that made it unusable) is returned. The
 * lane positions seen by aw_store_lane_info() change only on success.
 * Committing a read transaction just ends it.
 */
int aw_txn_commit(aw_txn_t **txn_p);

/** Aborts and nulls *txn_p. Safe on NULL. */
void aw_txn_abort(aw_txn_t **txn_p);

/**
 * Appends one record to @p lane in @p txn; *seq is final once committed.
 * The budget applies: when the record does not fit, a bounded amount of
 * pruning happens inside @p txn; AW_EFULL / AW_EURGENTFULL when that is
 * not enough (the transaction stays usable; aw_store_prune() may help).
 */
int aw_txn_append(aw_txn_t *txn, aw_lane lane, const void *rec, size_t len, uint64_t *seq);

/** Raises @p lane's acked mark inside @p txn (rules of aw_store_mark_acked()). */
int aw_txn_mark_acked(aw_txn_t *txn, aw_lane lane, uint64_t seq);

/** Records that stamps up to @p hlc were issued (persisted at commit). */
void aw_txn_note_hlc(aw_txn_t *txn, uint64_t hlc);

/**
 * Puts @p val under @p key in @p table. Keys are 1..511 bytes (AW_EINVAL
 * otherwise). AW_ESTATE in a read transaction.
 */
int aw_txn_put(aw_txn_t *txn, aw_table_t table, const void *key, size_t klen, const void *val,
               size_t vlen);

/**
 * Gets the value under @p key. *val is valid only until the end of the
 * transaction (or the next write in it). Returns AW_ENOTFOUND when absent.
 */
int aw_txn_get(aw_txn_t *txn, aw_table_t table, const void *key, size_t klen, const void **val,
               size_t *vlen);

/** Deletes @p key; AW_ENOTFOUND when absent. */
int aw_txn_del(aw_txn_t *txn, aw_table_t table, const void *key, size_t klen);

/**
 * Called once per entry by aw_txn_scan(); return non-zero to stop. Key and
 * value are valid only during the call; don't write the table from it.
 */
typedef int (*aw_scan_fn)(void *arg, const void *key, size_t klen, const void *val, size_t vlen);

/**
 * Walks @p table from the first key ≥ @p from (NULL = start) whose key
 * begins with @p prefix (NULL = any), in key order (bytewise, a shorter key
 * before its extensions). Stops at the first key without the prefix.
 */
int aw_txn_scan(aw_txn_t *txn, aw_table_t table, const void *prefix, size_t plen, const void *from,
                size_t flen, aw_scan_fn fn, void *arg);

/** Big-endian helpers for keys that sort in numeric order. */
void aw_put_be64(uint8_t out[8], uint64_t v);
uint64_t aw_get_be64(const uint8_t in[8]);

#endif
