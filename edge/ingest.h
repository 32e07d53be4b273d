/**
 * @file ingest.h
 * @brief The readings path of the edge: SenML packs in, records committed
 * to LMDB with the alarm events they cause, many packs per commit.
 *
 * A request goes through two steps:
 *
 * 1. aw_ingest_check() parses the pack, checks every reading against the
 *    registry (device known, unit as registered) and the sender's rights,
 *    stamps each reading with the edge's HLC and encodes its record. Any
 *    fault rejects the whole pack; nothing is kept.
 * 2. aw_ingest_stage() queues the checked pack; aw_ingest_flush() then
 *    writes every queued pack in ONE store transaction: the readings to the
 *    bulk lane, and, as the alarm engine sees them, alarm and device events
 *    to the urgent lane, plus the engine's state; then commits (one flush to
 *    disk in fsync mode) and reports each pack's result through a callback.
 *    If that commit fails, each pack is retried in a transaction of its
 *    own, so one pack that cannot be stored (AW_EFULL / AW_EURGENTFULL)
 *    does not take the others down, and a pack is always wholly stored or
 *    wholly absent. The alarm engine's state follows the store exactly:
 *    its changes are rolled back with a failed transaction.
 *
 * aw_ingest_tick() runs the engine's stale-device check (its events are
 * committed at once), aw_ingest_set_registry() switches registries.
 *
 * Single-threaded (the edge's loop). Logs one line per alarm event, after
 * the commit that stored it.
 */
#ifndef AW_INGEST_H
#define AW_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alarm.h"
#include "aw_err.h"
#include "hlc.h"
#include "registry.h"
#include "senml.h"
#include "store.h"

/** Most packs one flush commits; aw_ingest_stage() refuses more. */
#define AW_INGEST_MAX_BATCH 64

typedef struct aw_ingest aw_ingest_t;

/** Everything here is borrowed and must outlive the ingest. */
typedef struct aw_ingest_opts {
    aw_store_t *store;
    aw_hlc *hlc;            /**< the edge's clock (stamps records) */
    aw_table_t state_table; /**< table for the alarm engine's state */
    const char *id_prefix;  /**< alarm id prefix: the store epoch in hex */
    int auto_register;      /**< accept unknown devices (stored, no alarms) */
    int64_t max_future_ms;  /**< refuse reading times further ahead */
    /**
     * Called after every successful commit of the ingest (readings, alarm
     * and device events), outside any transaction (may be NULL). The uplink
     * uses it to learn that records were appended; it must not call the
     * ingest.
     */
    void (*committed)(void *arg);
    void *committed_arg; /**< borrowed; passed to committed */
} aw_ingest_opts;

/** Writes more into the ingest's open transaction (aw_ingest_ack()). */
typedef int (*aw_ingest_txn_fn)(void *arg, aw_txn_t *txn);

/** Decides whether the sender may speak for @p device (DTLS identities). */
typedef bool (*aw_ingest_owner_fn)(void *arg, const char *device);

/** A checked pack, ready to stage. Opaque; freed by stage or aw_ingest_checked_free(). */
typedef struct aw_ingest_checked aw_ingest_checked;

/** Receives the result of one staged pack: AW_OK (stored) or why not. */
typedef void (*aw_ingest_done_fn)(void *arg, void *tag, int err);

/** Counters for /status. */
typedef struct aw_ingest_stats {
    uint64_t packs;        /**< packs stored */
    uint64_t readings;     /**< readings stored */
    uint64_t rejected;     /**< packs refused by aw_ingest_check() */
    uint64_t failed;       /**< packs that could not be stored */
    uint64_t commits;      /**< store transactions committed by flushes */
    int64_t last_store_ms; /**< wall time of the last stored pack (0 = none) */
    aw_alarm_stats alarms; /**< active alarms, devices tracked / stale */
} aw_ingest_stats;

/**
 * Creates the ingest. On success *out is the caller's (free with
 * aw_ingest_destroy()). Returns AW_OK, AW_EINVAL or AW_ENOMEM.
 */
int aw_ingest_new(const aw_ingest_opts *opts, aw_ingest_t **out);

/**
 * Frees the ingest and nulls *self_p. Staged packs are dropped unreported
 * (flush first). Safe on NULL and twice.
 */
void aw_ingest_destroy(aw_ingest_t **self_p);

/**
 * Switches to registry @p reg (borrowed until the next call or destroy;
 * NULL = no registry: every pack is refused with AW_ENOTFOUND). The first
 * registry creates the alarm engine and restores its stored state; later
 * ones reload it (alarms of removed metrics are cleared). Events are
 * committed at once. Nothing may be staged (flush first: AW_ESTATE).
 * Returns AW_OK or the store's / engine's error (the registry is in use
 * anyway; the error says its events could not be stored).
 */
int aw_ingest_set_registry(aw_ingest_t *self, const aw_registry_t *reg, int64_t now_ms);

/**
 * Parses and checks a SenML pack (@p buf, @p len bytes, borrowed for the
 * call) received at @p now_ms. @p owns (NULL = anyone may speak for any
 * device) is asked for every device. On success *out is the caller's:
 * stage it, or free it with aw_ingest_checked_free(). On failure *out is
 * NULL, @p why names the fault, and the code says whose it is:
 * AW_EINVAL (bad pack: 4.00), AW_EPERM (not the sender's device: 4.03),
 * AW_ENOTFOUND (unknown device or no registry: 4.04), AW_ENOMEM.
 */
int aw_ingest_check(aw_ingest_t *self, const uint8_t *buf, size_t len, aw_senml_format fmt,
                    int64_t now_ms, aw_ingest_owner_fn owns, void *owns_arg,
                    aw_ingest_checked **out, char *why, size_t why_len);

/** Frees a checked pack and nulls *c_p. Safe on NULL and twice. */
void aw_ingest_checked_free(aw_ingest_checked **c_p);

/**
 * Queues *c_p for the next flush, taking ownership (nulls *c_p); @p tag
 * comes back in the done callback. Returns AW_OK or AW_EAGAIN when the
 * batch is full (flush first; *c_p is untouched).
 */
int aw_ingest_stage(aw_ingest_t *self, aw_ingest_checked **c_p, void *tag);

/** Number of staged packs. */
size_t aw_ingest_staged(const aw_ingest_t *self);

/**
 * Commits every staged pack (see the file comment) and calls @p done for
 * each, in staging order, with AW_OK or the reason it is not stored
 * (AW_EFULL, AW_EURGENTFULL, AW_EIO, AW_ENOMEM). @p now_ms is the edge
 * clock for the alarm engine. Returns the number of packs stored.
 */
size_t aw_ingest_flush(aw_ingest_t *self, int64_t now_ms, aw_ingest_done_fn done, void *arg);

/**
 * Runs the stale-device check at @p now_ms and commits the events it
 * makes. Returns AW_OK (also when nothing happened or there is no
 * registry) or the store's error.
 */
int aw_ingest_tick(aw_ingest_t *self, int64_t now_ms);

/**
 * Applies an operator's acknowledgement of alarm @p alarm_id by @p by at
 * @p time_ms (from the center) in one transaction: the engine records it,
 * its ACKNOWLEDGED event goes to the urgent lane with the engine's state,
 * and @p also (may be NULL) writes what the caller must commit with it
 * (the down channel's applied seq). *found (may be NULL) says whether an
 * active alarm was acknowledged: a cleared or unknown alarm changes
 * nothing but @p also's writes, and is AW_OK. Nothing may be staged
 * (AW_ESTATE). Returns AW_OK, AW_EINVAL / AW_ERANGE (bad @p by), the
 * error of @p also, or the store's; on error nothing changes.
 */
int aw_ingest_ack(aw_ingest_t *self, const char *alarm_id, const char *by, int64_t time_ms,
                  int64_t now_ms, aw_ingest_txn_fn also, void *also_arg, bool *found);

/** Fills @p stats. */
void aw_ingest_get_stats(const aw_ingest_t *self, aw_ingest_stats *stats);

/** The alarm engine (NULL before the first registry); borrowed. */
const aw_alarm_t *aw_ingest_alarms(const aw_ingest_t *self);

#endif
