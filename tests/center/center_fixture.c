/* center_fixture.c: helpers of the center tests. */
#include "center_fixture.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void s_open_store(fx *f)
{
    aw_store_opts opts = {.path = f->dir, .map_size = 32 << 20, .durability = AW_DURABLE_NOSYNC};
    int rv = aw_store_open(&opts, &f->store);
    cr_assert_eq(rv, AW_OK, "store open: %s", aw_strerror(rv));
    rv = aw_center_db_open(f->store, &f->db);
    cr_assert_eq(rv, AW_OK, "db open: %s", aw_strerror(rv));
}

void fx_open(fx *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/aw_test_center.XXXXXX");
    cr_assert_not_null(mkdtemp(f->dir));
    s_open_store(f);
}

void fx_reopen(fx *f)
{
    aw_center_db_destroy(&f->db);
    aw_store_destroy(&f->store);
    s_open_store(f);
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

void fx_close(fx *f)
{
    aw_center_db_destroy(&f->db);
    aw_store_destroy(&f->store);
    nftw(f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------ records */

static ProtobufCBinaryData s_encode(const Anwang__Record *rec)
{
    ProtobufCBinaryData b = {0};
    char why[160];
    int rv = aw_codec_record_encode(rec, &b.data, &b.len, why, sizeof why);
    cr_assert_eq(rv, AW_OK, "record encode: %s", why);
    return b;
}

ProtobufCBinaryData fx_reading(const char *device, const char *metric, double value,
                               int64_t time_ms, uint64_t hlc)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    Anwang__Reading r = ANWANG__READING__INIT;
    r.device = (char *)device;
    r.metric = (char *)metric;
    r.unit = "%LEL";
    r.has_value = true;
    r.value = value;
    r.time_ms = time_ms;
    rec.hlc = hlc;
    rec.body_case = ANWANG__RECORD__BODY_READING;
    rec.reading = &r;
    return s_encode(&rec);
}

ProtobufCBinaryData fx_alarm(const char *alarm_id, Anwang__AlarmEventKind kind, Anwang__Level level,
                             int64_t time_ms)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    Anwang__AlarmEvent a = ANWANG__ALARM_EVENT__INIT;
    a.alarm_id = (char *)alarm_id;
    a.kind = kind;
    a.device = "huaxin-t3";
    a.metric = "tank-level";
    a.level = level;
    a.time_ms = time_ms;
    rec.hlc = (uint64_t)time_ms << 16;
    rec.body_case = ANWANG__RECORD__BODY_ALARM;
    rec.alarm = &a;
    return s_encode(&rec);
}

ProtobufCBinaryData fx_hazard(const char *hazard_id, uint64_t hlc, const char *origin,
                              Anwang__HazardOp op, const char *site, const char *title)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    Anwang__HazardEvent h = ANWANG__HAZARD_EVENT__INIT;
    h.hazard_id = (char *)hazard_id;
    h.hlc = hlc;
    h.origin = (char *)origin;
    h.op = op;
    if (op == ANWANG__HAZARD_OP__HAZARD_REPORT) {
        h.site = (char *)site;
        h.sector = "hazardous-chemicals";
        h.has_level = true;
        h.level = ANWANG__HAZARD_LEVEL__HAZARD_GENERAL;
        h.title = (char *)title;
        h.has_source = true;
        h.source = ANWANG__HAZARD_SOURCE__SOURCE_SELF_INSPECTION;
    } else if (op == ANWANG__HAZARD_OP__HAZARD_NOTE) {
        h.note = (char *)title;
    } else if (op == ANWANG__HAZARD_OP__HAZARD_ASSIGN) {
        h.unit = "safety-office";
        h.person = "li";
        h.has_deadline_ms = true;
        h.deadline_ms = FX_T0 + 86400000;
    } else if (op == ANWANG__HAZARD_OP__HAZARD_RECTIFIED) {
        h.evidence = "photo-1";
    } else if (op == ANWANG__HAZARD_OP__HAZARD_VERIFY) {
        h.has_ok = true;
        h.ok = true;
    }
    rec.hlc = hlc;
    rec.body_case = ANWANG__RECORD__BODY_HAZARD;
    rec.hazard = &h;
    return s_encode(&rec);
}

ProtobufCBinaryData fx_gap(aw_lane lane, uint64_t from, uint64_t to)
{
    ProtobufCBinaryData b = {0};
    int rv = aw_codec_gap_encode(UINT64_C(1) << 40, (Anwang__Lane)lane, from, to, FX_T0, &b.data,
                                 &b.len);
    cr_assert_eq(rv, AW_OK);
    return b;
}

ProtobufCBinaryData fx_garbage(void)
{
    ProtobufCBinaryData b = {.len = 5, .data = malloc(5)};
    memcpy(b.data, "\xff\xff\xff\xff\x01", 5);
    return b;
}

/* ------------------------------------------------------------ batches */

void fx_batch(Anwang__Batch *b, uint64_t epoch, aw_lane lane, uint64_t first_seq,
              ProtobufCBinaryData *recs, size_t n)
{
    anwang__batch__init(b);
    b->epoch = epoch;
    b->lane = (Anwang__Lane)lane;
    b->first_seq = first_seq;
    b->n_records = n;
    b->records = n ? calloc(n, sizeof *b->records) : NULL;
    for (size_t i = 0; i < n; i++)
        b->records[i] = recs[i];
}

void fx_batch_readings(Anwang__Batch *b, uint64_t epoch, aw_lane lane, uint64_t first_seq, size_t n)
{
    ProtobufCBinaryData *recs = calloc(n ? n : 1, sizeof *recs);
    for (size_t i = 0; i < n; i++) {
        uint64_t seq = first_seq + i;
        char dev[16];
        snprintf(dev, sizeof dev, "d%u", (unsigned)(seq % 7));
        recs[i] = fx_reading(dev, "ch4", (double)seq, FX_T0 + (int64_t)seq * 1000, seq << 16);
    }
    fx_batch(b, epoch, lane, first_seq, recs, n);
    free(recs);
}

void fx_batch_free(Anwang__Batch *b)
{
    for (size_t i = 0; i < b->n_records; i++)
        free(b->records[i].data);
    free(b->records);
    b->records = NULL;
    b->n_records = 0;
}

/* ------------------------------------------------------------ inspection */

typedef struct s_seqs {
    uint64_t *out;
    size_t n, cap;
} s_seqs;

static int s_seqs_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_seqs *s = arg;
    if (s->n < s->cap)
        s->out[s->n] = aw_get_be64((const uint8_t *)key + klen - 8);
    s->n++;
    return 0;
}

size_t fx_seqs(fx *f, aw_center_table t, const char *edge, uint64_t epoch, aw_lane lane,
               uint64_t *out, size_t cap)
{
    uint8_t prefix[AW_CENTER_KEY_MAX];
    size_t plen = aw_center_key_lane(prefix, edge, epoch, lane);
    s_seqs s = {out, 0, cap};
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin_read(f->store, &txn), AW_OK);
    cr_assert_eq(
        aw_txn_scan(txn, aw_center_db_table(f->db, t), prefix, plen, NULL, 0, s_seqs_cb, &s),
        AW_OK);
    aw_txn_abort(&txn);
    return s.n;
}

uint64_t fx_applied(fx *f, const char *edge, uint64_t epoch, aw_lane lane)
{
    aw_txn_t *txn = NULL;
    uint64_t seq = 0;
    cr_assert_eq(aw_store_begin_read(f->store, &txn), AW_OK);
    cr_assert_eq(aw_center_applied_get(txn, f->db, edge, epoch, lane, &seq), AW_OK);
    aw_txn_abort(&txn);
    return seq;
}

static int s_count_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (*(size_t *)arg)++;
    return 0;
}

size_t fx_count(fx *f, aw_center_table t)
{
    size_t n = 0;
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin_read(f->store, &txn), AW_OK);
    cr_assert_eq(aw_txn_scan(txn, aw_center_db_table(f->db, t), NULL, 0, NULL, 0, s_count_cb, &n),
                 AW_OK);
    aw_txn_abort(&txn);
    return n;
}

/* ------------------------------------------------------------ sessions */

int fx_send(void *arg, const uint8_t *env, size_t len)
{
    fx_out *o = arg;
    if (o->fail)
        return AW_EIO;
    cr_assert_lt(o->n, FX_OUT_MAX, "outbox full");
    char why[160];
    int rv = aw_codec_envelope_decode(env, len, NULL, &o->env[o->n], why, sizeof why);
    cr_assert_eq(rv, AW_OK, "session sent an invalid envelope: %s", why);
    o->n++;
    return AW_OK;
}

void fx_out_clear(fx_out *o)
{
    for (size_t i = 0; i < o->n; i++)
        aw_codec_envelope_free(&o->env[i]);
    o->n = 0;
}

aw_center_session_t *fx_session(fx *f, const char *edge, const char *zone, fx_out *out)
{
    aw_center_session_opts opts = {.db = f->db,
                                   .edge_id = edge,
                                   .zone = zone,
                                   .send = fx_send,
                                   .send_arg = out,
                                   .link_timeout_ms = 15000,
                                   .down_resend_ms = 5000,
                                   .down_window = 4};
    aw_center_session_t *s = NULL;
    cr_assert_eq(aw_center_session_new(&opts, &s), AW_OK);
    return s;
}

int fx_feed(aw_center_session_t *s, const Anwang__Envelope *env, int64_t now_ms)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[160];
    cr_assert_eq(aw_codec_envelope_encode(env, &buf, &len, why, sizeof why), AW_OK, "%s", why);
    Anwang__Envelope *dec = NULL;
    cr_assert_eq(aw_codec_envelope_decode(buf, len, NULL, &dec, why, sizeof why), AW_OK, "%s", why);
    free(buf);
    int rv = aw_center_session_handle(s, dec, now_ms);
    aw_codec_envelope_free(&dec);
    return rv;
}

int fx_hello(aw_center_session_t *s, const char *edge, uint64_t epoch, uint64_t urgent_head,
             uint64_t bulk_head, const char *zone, int64_t wall_ms, int64_t now_ms)
{
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    Anwang__Hello h = ANWANG__HELLO__INIT;
    Anwang__LaneSeq ls[2] = {ANWANG__LANE_SEQ__INIT, ANWANG__LANE_SEQ__INIT}, *lsp[2];
    ls[0].lane = ANWANG__LANE__LANE_URGENT;
    ls[0].seq = urgent_head;
    ls[1].lane = ANWANG__LANE__LANE_BULK;
    ls[1].seq = bulk_head;
    lsp[0] = &ls[0];
    lsp[1] = &ls[1];
    h.edge_id = (char *)edge;
    h.epoch = epoch;
    h.heads = lsp;
    h.n_heads = 2;
    h.wall_ms = wall_ms;
    h.proto_version = AW_PROTO_VERSION;
    h.zone = (char *)zone;
    env.msg_case = ANWANG__ENVELOPE__MSG_HELLO;
    env.hello = &h;
    return fx_feed(s, &env, now_ms);
}

int fx_feed_batch(aw_center_session_t *s, Anwang__Batch *b, int64_t now_ms)
{
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    env.msg_case = ANWANG__ENVELOPE__MSG_BATCH;
    env.batch = b;
    return fx_feed(s, &env, now_ms);
}

int fx_heartbeat(aw_center_session_t *s, int64_t wall_ms, int64_t now_ms)
{
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    Anwang__Heartbeat hb = ANWANG__HEARTBEAT__INIT;
    hb.wall_ms = wall_ms;
    env.msg_case = ANWANG__ENVELOPE__MSG_HEARTBEAT;
    env.heartbeat = &hb;
    return fx_feed(s, &env, now_ms);
}

int fx_down_ack(aw_center_session_t *s, uint64_t epoch, uint64_t seq, int64_t now_ms)
{
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    Anwang__DownAck a = ANWANG__DOWN_ACK__INIT;
    a.epoch = epoch;
    a.applied_seq = seq;
    env.msg_case = ANWANG__ENVELOPE__MSG_DOWN_ACK;
    env.down_ack = &a;
    return fx_feed(s, &env, now_ms);
}
