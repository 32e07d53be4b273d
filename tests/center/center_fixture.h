/**
 * @file center_fixture.h
 * @brief Helpers of the center tests: a store in its own temp dir, encoded
 * records of each kind, batches, envelopes, and a recording send callback.
 * Failures abort the test (Criterion asserts).
 */
#ifndef AW_CENTER_FIXTURE_H
#define AW_CENTER_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "codec.h"
#include "db.h"
#include "down.h"
#include "latest.h"
#include "session.h"
#include "status.h"

#define FX_T0 INT64_C(1740817800000) /* 2025-03-01T08:30:00Z */

typedef struct fx {
    char dir[64];
    aw_store_t *store;
    aw_center_db_t *db;
} fx;

/** Makes a temp dir and opens a store and the center tables in it. */
void fx_open(fx *f);
/** Closes and opens the same dir again (a restart). */
void fx_reopen(fx *f);
/** Closes and removes the dir. */
void fx_close(fx *f);

/* Encoded records (ProtobufCBinaryData.data is malloc'd; free it or pass it
 * to a batch, which frees its records in fx_batch_free()). */
ProtobufCBinaryData fx_reading(const char *device, const char *metric, double value,
                               int64_t time_ms, uint64_t hlc);
ProtobufCBinaryData fx_alarm(const char *alarm_id, Anwang__AlarmEventKind kind, Anwang__Level level,
                             int64_t time_ms);
ProtobufCBinaryData fx_hazard(const char *hazard_id, uint64_t hlc, const char *origin,
                              Anwang__HazardOp op, const char *site, const char *title);
ProtobufCBinaryData fx_gap(aw_lane lane, uint64_t from, uint64_t to);
/** Bytes that are not a record. */
ProtobufCBinaryData fx_garbage(void);

/** A batch of @p n records (taken over; may be NULL for none). */
void fx_batch(Anwang__Batch *b, uint64_t epoch, aw_lane lane, uint64_t first_seq,
              ProtobufCBinaryData *recs, size_t n);
/** A batch of @p n readings of device "d<seq % 7>", metric "ch4", value = seq. */
void fx_batch_readings(Anwang__Batch *b, uint64_t epoch, aw_lane lane, uint64_t first_seq,
                       size_t n);
void fx_batch_free(Anwang__Batch *b);

/** The seqs stored in `records` (or `poison` when @p poison) for (edge, epoch, lane), in order. */
size_t fx_seqs(fx *f, aw_center_table t, const char *edge, uint64_t epoch, aw_lane lane,
               uint64_t *out, size_t cap);
/** The applied seq. */
uint64_t fx_applied(fx *f, const char *edge, uint64_t epoch, aw_lane lane);
/** Entries in table @p t. */
size_t fx_count(fx *f, aw_center_table t);

/* ------------------------------------------------------------ sessions */

#define FX_OUT_MAX 256

/** What a session sent, decoded. */
typedef struct fx_out {
    Anwang__Envelope *env[FX_OUT_MAX];
    size_t n;
    int fail; /* non-zero: the send callback returns AW_EIO */
} fx_out;

/** A send callback recording into an fx_out (arg). */
int fx_send(void *arg, const uint8_t *env, size_t len);
void fx_out_clear(fx_out *o);

/** A session for @p edge on f->db sending into @p out. */
aw_center_session_t *fx_session(fx *f, const char *edge, const char *zone, fx_out *out);

/** Encodes, decodes and hands @p env to the session (as the transport does). */
int fx_feed(aw_center_session_t *s, const Anwang__Envelope *env, int64_t now_ms);
int fx_hello(aw_center_session_t *s, const char *edge, uint64_t epoch, uint64_t urgent_head,
             uint64_t bulk_head, const char *zone, int64_t wall_ms, int64_t now_ms);
int fx_feed_batch(aw_center_session_t *s, Anwang__Batch *b, int64_t now_ms);
int fx_heartbeat(aw_center_session_t *s, int64_t wall_ms, int64_t now_ms);
int fx_down_ack(aw_center_session_t *s, uint64_t epoch, uint64_t seq, int64_t now_ms);

#endif
