/*
 * Writes the seed corpus of fuzz_center_apply: one encoded Envelope per
 * file, a scripted session of edge "e1" in epoch 1 (hello, batches in order,
 * duplicate, overlap, hole, gap, poison, hazard and alarm records, heartbeat,
 * down ack, stale epoch, new epoch, wrong edge id).
 *
 *   aw-gen-center-corpus tests/fuzz/corpus/fuzz_center_apply
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "store.h"

#define T0 INT64_C(1740817800000)

static const char *s_dir;
static int s_n;

static void s_die(const char *what)
{
    fprintf(stderr, "aw-gen-center-corpus: %s\n", what);
    exit(1);
}

static void s_write(const char *name, const Anwang__Envelope *env)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[160], path[512];
    if (aw_codec_envelope_encode(env, &buf, &len, why, sizeof why) != AW_OK)
        s_die(why);
    snprintf(path, sizeof path, "%s/%02d-%s", s_dir, s_n++, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
        s_die(path);
    free(buf);
}

static ProtobufCBinaryData s_rec(const Anwang__Record *rec)
{
    ProtobufCBinaryData b = {0};
    char why[160];
    if (aw_codec_record_encode(rec, &b.data, &b.len, why, sizeof why) != AW_OK)
        s_die(why);
    return b;
}

static ProtobufCBinaryData s_reading(uint64_t seq)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    Anwang__Reading r = ANWANG__READING__INIT;
    char dev[16];
    snprintf(dev, sizeof dev, "d%u", (unsigned)(seq % 5));
    r.device = dev;
    r.metric = "ch4";
    r.unit = "%LEL";
    r.has_value = 1;
    r.value = (double)seq;
    r.time_ms = T0 + (int64_t)seq;
    rec.hlc = seq << 16;
    rec.body_case = ANWANG__RECORD__BODY_READING;
    rec.reading = &r;
    return s_rec(&rec);
}

static ProtobufCBinaryData s_hazard(uint64_t hlc, const char *origin)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    Anwang__HazardEvent h = ANWANG__HAZARD_EVENT__INIT;
    h.hazard_id = "e1-h1";
    h.hlc = hlc;
    h.origin = (char *)origin;
    h.op = ANWANG__HAZARD_OP__HAZARD_REPORT;
    h.site = "yueyang/rongjiawan/xinqiang/huaxin-chem";
    h.sector = "hazardous-chemicals";
    h.has_level = 1;
    h.title = "leak";
    h.has_source = 1;
    rec.hlc = hlc;
    rec.body_case = ANWANG__RECORD__BODY_HAZARD;
    rec.hazard = &h;
    return s_rec(&rec);
}

static ProtobufCBinaryData s_alarm(Anwang__AlarmEventKind kind)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    Anwang__AlarmEvent a = ANWANG__ALARM_EVENT__INIT;
    a.alarm_id = "e1-a1";
    a.kind = kind;
    a.device = "d1";
    a.metric = "ch4";
    a.level = ANWANG__LEVEL__LEVEL_RED;
    a.time_ms = T0;
    rec.hlc = 1 << 16;
    rec.body_case = ANWANG__RECORD__BODY_ALARM;
    rec.alarm = &a;
    return s_rec(&rec);
}

static ProtobufCBinaryData s_gap(uint64_t from, uint64_t to)
{
    ProtobufCBinaryData b = {0};
    if (aw_codec_gap_encode(1 << 16, ANWANG__LANE__LANE_BULK, from, to, T0, &b.data, &b.len) !=
        AW_OK)
        s_die("gap");
    return b;
}

static void s_batch(const char *name, uint64_t epoch, aw_lane lane, uint64_t first,
                    ProtobufCBinaryData *recs, size_t n)
{
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    Anwang__Batch b = ANWANG__BATCH__INIT;
    b.epoch = epoch;
    b.lane = (Anwang__Lane)lane;
    b.first_seq = first;
    b.records = recs;
    b.n_records = n;
    env.msg_case = ANWANG__ENVELOPE__MSG_BATCH;
    env.batch = &b;
    s_write(name, &env);
    for (size_t i = 0; i < n; i++)
        free(recs[i].data);
}

static void s_readings(const char *name, uint64_t epoch, uint64_t first, size_t n)
{
    ProtobufCBinaryData recs[16];
    for (size_t i = 0; i < n; i++)
        recs[i] = s_reading(first + i);
    s_batch(name, epoch, AW_LANE_BULK, first, recs, n);
}

static void s_hello(const char *name, const char *edge, uint64_t epoch)
{
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    Anwang__Hello h = ANWANG__HELLO__INIT;
    Anwang__LaneSeq ls = ANWANG__LANE_SEQ__INIT, *lsp = &ls;
    ls.lane = ANWANG__LANE__LANE_BULK;
    ls.seq = 20;
    h.edge_id = (char *)edge;
    h.epoch = epoch;
    h.heads = &lsp;
    h.n_heads = 1;
    h.wall_ms = T0;
    h.proto_version = AW_PROTO_VERSION;
    h.zone = "yueyang/rongjiawan";
    h.has_down_applied = 1;
    env.msg_case = ANWANG__ENVELOPE__MSG_HELLO;
    env.hello = &h;
    s_write(name, &env);
}

static void s_small(void)
{
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    Anwang__Heartbeat hb = ANWANG__HEARTBEAT__INIT;
    Anwang__DownAck da = ANWANG__DOWN_ACK__INIT;
    hb.wall_ms = T0;
    env.msg_case = ANWANG__ENVELOPE__MSG_HEARTBEAT;
    env.heartbeat = &hb;
    s_write("heartbeat", &env);
    da.epoch = 1;
    da.applied_seq = 1;
    env.msg_case = ANWANG__ENVELOPE__MSG_DOWN_ACK;
    env.down_ack = &da;
    s_write("down-ack", &env);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        s_die("usage: aw-gen-center-corpus DIR");
    s_dir = argv[1];
    s_hello("hello", "e1", 1);
    s_readings("batch-1-5", 1, 1, 5);
    s_readings("batch-dup", 1, 1, 5);
    s_readings("batch-overlap", 1, 3, 6);
    s_readings("batch-hole", 1, 12, 3);
    ProtobufCBinaryData urgent[4] = {s_gap(9, 11), s_hazard(5 << 16, "e1"),
                                     s_alarm(ANWANG__ALARM_EVENT_KIND__ALARM_RAISED),
                                     s_hazard(6 << 16, "e2")};
    s_batch("urgent-gap-hazard-alarm", 1, AW_LANE_URGENT, 1, urgent, 4);
    s_readings("batch-after-gap", 1, 12, 3);
    ProtobufCBinaryData poison[2] = {{.len = 3, .data = malloc(3)}, s_reading(15)};
    memcpy(poison[0].data, "\x0a\x01\xff", 3);
    s_batch("batch-poison", 1, AW_LANE_BULK, 15, poison, 2);
    ProtobufCBinaryData clear[1] = {s_alarm(ANWANG__ALARM_EVENT_KIND__ALARM_CLEARED)};
    s_batch("urgent-clear", 1, AW_LANE_URGENT, 5, clear, 1);
    s_small();
    s_readings("batch-stale-epoch", 7, 1, 2);
    s_hello("hello-new-epoch", "e1", 2);
    s_readings("batch-new-epoch", 2, 1, 3);
    s_hello("hello-wrong-edge", "e2", 1);
    return 0;
}
