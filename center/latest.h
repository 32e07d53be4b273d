/**
 * @file latest.h
 * @brief The latest value per (device, metric) at the center, written once
 * per batch.
 *
 * Latest-value writes are the center's biggest cost in replication (see
 * shared/notes/replication-ceiling.md: the same 2,000 keys' pages are
 * rewritten on every commit). A batch of readings therefore goes through an
 * accumulator that keeps, per (device, metric), only the newest reading of
 * the batch, and writes each key once, in key order, in the batch's
 * transaction.
 *
 * "Newest": the later device time; at equal times the higher HLC stamp; at
 * equal stamps the later one in the batch. The stored value is replaced only
 * by a reading that is newer in that sense, so a resent or late reading
 * never moves the latest value back. Value layout: db.h (`latest`).
 */
#ifndef AW_CENTER_LATEST_H
#define AW_CENTER_LATEST_H

#include <stddef.h>
#include <stdint.h>

#include "anwang.pb-c.h"
#include "aw_err.h"
#include "db.h"

typedef struct aw_latest_batch aw_latest_batch_t;

/** Makes an empty accumulator. *out is the caller's (aw_latest_batch_destroy()). */
int aw_latest_batch_new(aw_latest_batch_t **out);

/** Frees it and nulls *self_p. Safe on NULL and twice. */
void aw_latest_batch_destroy(aw_latest_batch_t **self_p);

/**
 * Notes @p rec (a Reading, borrowed for the call) whose encoded bytes are
 * @p bytes (borrowed until aw_latest_batch_flush() returns).
 * Returns AW_OK, AW_EINVAL (not a reading) or AW_ENOMEM.
 */
int aw_latest_batch_add(aw_latest_batch_t *self, const Anwang__Record *rec,
                        const ProtobufCBinaryData *bytes);

/**
 * Writes what was noted into table `latest` of @p db inside @p txn, as
 * coming from edge @p edge, and empties the accumulator. Returns AW_OK,
 * AW_ENOMEM or a store error.
 */
int aw_latest_batch_flush(aw_latest_batch_t *self, aw_txn_t *txn, const aw_center_db_t *db,
                          const char *edge);

/**
 * The latest reading of (@p device, @p metric). On success *rec is the
 * caller's (aw_codec_record_free()) and @p edge_id (may be NULL; at least
 * AW_CENTER_EDGE_ID_MAX + 1 bytes) gets the sending edge. Returns AW_OK,
 * AW_ENOTFOUND, AW_EINVAL (names too long), AW_ECORRUPT or a store error.
 */
int aw_center_latest_get(aw_center_db_t *db, const char *device, const char *metric,
                         Anwang__Record **rec, char *edge_id);

#endif
