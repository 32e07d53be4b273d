/* gen_corpus.c: writes the fuzz_codec seed corpus, one valid encoded
 * envelope per file: every envelope kind, a Batch per record body kind, and a
 * few edge cases. Usage: aw-gen-codec-corpus DIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_samples.h"

static int s_write(const char *dir, const char *name, const Anwang__Envelope *env)
{
    char path[4096], why[256];
    uint8_t *buf;
    size_t len;
    int rv = aw_codec_envelope_encode(env, &buf, &len, why, sizeof why);
    if (rv != AW_OK) {
        fprintf(stderr, "%s: %s: %s\n", name, aw_strerror(rv), why);
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(buf, 1, len, f) == len;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    free(buf);
    if (!ok)
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

/* A Batch holding one record of @p kind, as the bulk or urgent lane sends it. */
static int s_write_record(const char *dir, const char *name, sample *s)
{
    ProtobufCBinaryData rec[1];
    char why[256];
    if (aw_codec_record_encode(&s->rec, &rec[0].data, &rec[0].len, why, sizeof why) != AW_OK) {
        fprintf(stderr, "%s: %s\n", name, why);
        return -1;
    }
    Anwang__Batch batch = ANWANG__BATCH__INIT;
    batch.epoch = 7;
    batch.lane = s->rec.body_case == ANWANG__RECORD__BODY_READING ? ANWANG__LANE__LANE_BULK
                                                                  : ANWANG__LANE__LANE_URGENT;
    batch.first_seq = 1;
    batch.n_records = 1;
    batch.records = rec;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    env.msg_case = ANWANG__ENVELOPE__MSG_BATCH;
    env.batch = &batch;
    int rv = s_write(dir, name, &env);
    free(rec[0].data);
    return rv;
}

static int s_kinds(const char *dir, sample *s)
{
    static const char *rec_names[6] = {"rec-reading", "rec-alarm",   "rec-device",
                                       "rec-hazard",  "rec-receipt", "rec-gap"};
    char name[64];
    int rv = 0;
    for (size_t i = 0; i < 12; i++) {
        snprintf(name, sizeof name, "env-%s", sample_env_kinds[i].name);
        if (sample_envelope(s, sample_env_kinds[i].msg, sample_env_kinds[i].down) != 0)
            return -1;
        rv |= s_write(dir, name, &s->env);
        sample_clear(s);
    }
    for (size_t i = 0; i < 6; i++) {
        sample_record(s, sample_record_kinds[i]);
        rv |= s_write_record(dir, rec_names[i], s);
    }
    return rv;
}

/* Edge cases: only required fields, extremes of the ranges. */
static int s_edges(const char *dir, sample *s)
{
    int rv = 0;
    sample_record(s, ANWANG__RECORD__BODY_READING);
    s->reading = (Anwang__Reading)ANWANG__READING__INIT;
    s->reading.device = "a";
    s->reading.metric = "b";
    s->reading.has_bool_value = 1; /* false is a value */
    rv |= s_write_record(dir, "edge-reading-minimal", s);
    sample_record(s, ANWANG__RECORD__BODY_GAP);
    s->gap.from_seq = s->gap.to_seq = UINT64_MAX;
    s->gap.count = 1;
    rv |= s_write_record(dir, "edge-gap-one-at-max", s);

    sample_envelope(s, ANWANG__ENVELOPE__MSG_BATCH, 0);
    sample_clear(s); /* no records */
    s->batch.first_seq = UINT64_MAX;
    rv |= s_write(dir, "edge-batch-empty", &s->env);
    sample_envelope(s, ANWANG__ENVELOPE__MSG_HELLO, 0);
    s->hello = (Anwang__Hello)ANWANG__HELLO__INIT;
    s->hello.edge_id = "e";
    s->hello.proto_version = 1;
    rv |= s_write(dir, "edge-hello-minimal", &s->env);
    sample_envelope(s, ANWANG__ENVELOPE__MSG_HEARTBEAT, 0);
    s->heartbeat.wall_ms = 0;
    rv |= s_write(dir, "edge-heartbeat-zero", &s->env);
    sample_envelope(s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALERT);
    s->alert.n_area = s->alert.n_references = 0;
    s->alert.headline = "🔥 \xf4\x8f\xbf\xbf \xe0\xa0\x80 \xc2\x80 岳阳";
    rv |= s_write(dir, "edge-alert-unicode", &s->env);
    return rv;
}

int main(int argc, char **argv)
{
    sample s;
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    memset(&s, 0, sizeof s);
    int rv = s_kinds(argv[1], &s) | s_edges(argv[1], &s);
    sample_clear(&s);
    return rv ? 1 : 0;
}
