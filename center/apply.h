/**
 * @file apply.h
 * @brief Applies one replicated Batch at the center, exactly once (SPEC §5).
 *
 * A batch and the new applied seq of its (edge, epoch, lane) are written in
 * ONE store transaction, so whatever crashes where, a record is either
 * applied and counted in the applied seq, or neither; a resent record (seq
 * ≤ applied) is skipped. Table layouts: db.h.
 *
 * Per applied record, in the same transaction:
 *  - `records` gets the bytes as sent, under (edge, epoch, lane, seq);
 *  - a Reading updates `latest` for (device, metric) when it is not older
 *    than the stored one (latest.h: written once per key per batch);
 *  - an AlarmEvent puts the alarm in `alarms` (its last event), or deletes
 *    it when cleared;
 *  - a HazardEvent joins `hazards` (set union by (hazard_id, hlc, origin));
 *  - a Gap is kept in `gaps` (see below);
 *  - device events and alert receipts are only logged in `records` and
 *    passed on to the record hook (db.h), as is every applied record: the
 *    picture (next issue) is maintained there.
 *  - the edge's `edges` row: records per lane, last contact, the edge's head
 *    (when the batch is of the row's current epoch).
 *
 * **Holes.** A batch whose first seq is beyond applied + 1 is refused
 * (nothing is written; res->hole is set and res->applied says where the
 * edge must resume), unless a Gap record applied earlier (normally on the
 * urgent lane, which is sent first) declares the missing seqs dropped by the
 * edge's storage budget: then applied jumps over the gap (res->gap_skipped
 * counts the seqs). So the seqs ≤ applied of a lane are always: in
 * `records`, in `poison`, or inside a gap of `gaps`.
 *
 * **Poison records.** A record that fails the codec's validation, or that
 * speaks for someone else (a hazard event whose origin is not the sending
 * edge; an alarm id held by another edge; a hazard event with the id of a
 * stored one but other content), is quarantined: its bytes and the reason
 * go to `poison`, the edge's poison count rises, and applied moves past it.
 * Rejecting the whole batch instead would wedge the lane for ever (the edge
 * resends the same bytes, which can never become valid) and hold back every
 * later record, red alarms included. The caller logs res->poison_why.
 */
#ifndef AW_CENTER_APPLY_H
#define AW_CENTER_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anwang.pb-c.h"
#include "aw_err.h"
#include "db.h"

/** What aw_center_apply_batch() did. */
typedef struct aw_apply_result {
    uint64_t applied;     /**< applied seq of the batch's lane now: the Ack's applied_seq */
    size_t n_applied;     /**< records newly applied (poison ones included) */
    size_t n_skipped;     /**< records at or below the applied seq before (resent) */
    size_t n_poison;      /**< records quarantined */
    uint64_t poison_seq;  /**< seq of the first poison record (0 = none) */
    char poison_why[160]; /**< its reason ("" = none) */
    uint64_t gap_skipped; /**< seqs jumped over because a gap covers them */
    bool hole;            /**< refused: first_seq > applied + 1, no gap covers it */
} aw_apply_result;

/**
 * Applies @p n batches (borrowed; as decoded by aw_codec_envelope_decode())
 * from edge @p edge_id, in order, in ONE transaction (group commit: one
 * fsync, and each (device, metric) latest value written once, for all of
 * them). res[i] is batch i's result; a refused hole changes nothing of
 * that batch but the others go on, and a later batch of the group sees what
 * the earlier ones applied. Returns as aw_center_apply_batch(); on an error
 * nothing of any batch is stored. At most 16 distinct (epoch, lane) pairs
 * per group (AW_ETOOBIG beyond).
 */
int aw_center_apply_batches(aw_center_db_t *db, const char *edge_id,
                            const Anwang__Batch *const *batches, size_t n, int64_t now_ms,
                            aw_apply_result *res);

/** One edge's batches for aw_center_apply_edges(). */
typedef struct aw_apply_group {
    const char *edge_id;                 /**< borrowed */
    const Anwang__Batch *const *batches; /**< borrowed; @p n of them, in order */
    size_t n;
    aw_apply_result *res; /**< @p n results, filled as aw_center_apply_batches() does */
} aw_apply_group;

/**
 * Applies the batches of @p n groups (one edge each) in ONE transaction:
 * one fsync for all of them, so a center serving many edges that each send
 * small batches commits once per loop turn, not once per edge. Each group
 * is applied as aw_center_apply_batches() would (at most 16 (epoch, lane)
 * pairs per group), one after the other; a group sees what the earlier
 * ones wrote, so an edge may appear twice. Returns as
 * aw_center_apply_batches(); on an error nothing of any group is stored
 * and every result is zeroed: the caller may apply the groups one by one
 * to keep one edge's failure from holding back the others.
 */
int aw_center_apply_edges(aw_center_db_t *db, const aw_apply_group *groups, size_t n,
                          int64_t now_ms);

/**
 * Applies @p batch (borrowed; as decoded by aw_codec_envelope_decode()) from
 * edge @p edge_id at center time @p now_ms, in one transaction (see the
 * file comment). *res is filled on AW_OK, including for a refused hole.
 * Returns AW_OK; AW_EINVAL for a bad edge id, lane or first_seq 0;
 * AW_ENOMEM; a store error (AW_EFULL, AW_EIO, AW_ECORRUPT), or the record
 * hook's error: then nothing of the batch is stored and no Ack may be sent.
 */
int aw_center_apply_batch(aw_center_db_t *db, const char *edge_id, const Anwang__Batch *batch,
                          int64_t now_ms, aw_apply_result *res);

#endif
