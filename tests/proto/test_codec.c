/* test_codec.c: the wire codec. The first test reads as its usage example. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "codec_samples.h"

/* ---------------------------------------------------------------- usage */

Test(codec, usage_batch_with_one_reading)
{
    /* An edge stores a reading as an encoded Record... */
    Anwang__Reading reading = ANWANG__READING__INIT;
    reading.device = "huaxin-t3";
    reading.metric = "tank-level";
    reading.unit = "m";
    reading.has_value = 1;
    reading.value = 7.62;
    reading.time_ms = 1700000000123;
    Anwang__Record rec = ANWANG__RECORD__INIT;
    rec.hlc = UINT64_C(1700000000123) << 16;
    rec.body_case = ANWANG__RECORD__BODY_READING;
    rec.reading = &reading;
    uint8_t *rbuf;
    size_t rlen;
    char why[128];
    cr_assert_eq(aw_codec_record_encode(&rec, &rbuf, &rlen, why, sizeof why), AW_OK, "%s", why);

    /* ...and sends what it stored, unchanged, in a Batch envelope. */
    ProtobufCBinaryData records[1] = {{rlen, rbuf}};
    Anwang__Batch batch = ANWANG__BATCH__INIT;
    batch.epoch = 42;
    batch.lane = ANWANG__LANE__LANE_BULK;
    batch.first_seq = 1;
    batch.n_records = 1;
    batch.records = records;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    env.msg_case = ANWANG__ENVELOPE__MSG_BATCH;
    env.batch = &batch;
    uint8_t *ebuf;
    size_t elen;
    cr_assert_eq(aw_codec_envelope_encode(&env, &ebuf, &elen, why, sizeof why), AW_OK, "%s", why);
    free(rbuf);

    /* The center decodes the envelope, then each record on its own. */
    Anwang__Envelope *got = NULL;
    cr_assert_eq(aw_codec_envelope_decode(ebuf, elen, NULL, &got, why, sizeof why), AW_OK, "%s",
                 why);
    free(ebuf);
    cr_assert_eq(got->msg_case, ANWANG__ENVELOPE__MSG_BATCH);
    cr_assert_eq(got->batch->epoch, 42);
    cr_assert_eq(got->batch->first_seq, 1);
    cr_assert_eq(got->batch->n_records, 1);
    Anwang__Record *r = NULL;
    cr_assert_eq(aw_codec_record_decode(got->batch->records[0].data, got->batch->records[0].len,
                                        NULL, &r, why, sizeof why),
                 AW_OK, "%s", why);
    cr_assert_eq(r->body_case, ANWANG__RECORD__BODY_READING);
    cr_assert_str_eq(r->reading->device, "huaxin-t3");
    cr_assert_str_eq(r->reading->unit, "m");
    cr_assert(r->reading->has_value && r->reading->value == 7.62);
    cr_assert_not(r->reading->has_sum);
    cr_assert_eq(r->hlc, UINT64_C(1700000000123) << 16);
    aw_codec_record_free(&r);
    aw_codec_envelope_free(&got);
    cr_assert_null(r);
    cr_assert_null(got);
}

/* ---------------------------------------------------------------- helpers */

/* Packs a message with protobuf-c directly, past the codec's checks: what a
 * faulty or hostile peer could send. Caller frees. */
static uint8_t *raw_pack(const void *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(*len ? *len : 1);
    cr_assert_not_null(buf);
    cr_assert_eq(protobuf_c_message_pack(msg, buf), *len);
    return buf;
}

static void expect_why(int got, int err, const char *why, const char *needle, const char *path)
{
    cr_expect_eq(got, err, "%s: got %s (%s), want %s", path, aw_strerror(got), why,
                 aw_strerror(err));
    cr_expect_not_null(strstr(why, needle), "%s: reason '%s' lacks '%s'", path, why, needle);
}

/* Expects encode to refuse @p rec and decode to refuse its raw packing, both
 * with @p err and a reason containing @p needle. */
static void expect_record_rejected(const Anwang__Record *rec, int err, const char *needle)
{
    char why[256];
    uint8_t *buf = (uint8_t *)"x";
    size_t len = 1;
    expect_why(aw_codec_record_encode(rec, &buf, &len, why, sizeof why), err, why, needle,
               "encode");
    cr_expect_null(buf);
    cr_expect_eq(len, 0);
    Anwang__Record *out = (Anwang__Record *)rec; /* must come back NULL */
    uint8_t *raw = raw_pack(rec, &len);
    expect_why(aw_codec_record_decode(raw, len, NULL, &out, why, sizeof why), err, why, needle,
               "decode");
    cr_expect_null(out);
    expect_why(aw_codec_record_validate(rec, NULL, why, sizeof why), err, why, needle, "validate");
    free(raw);
}

/* Same for an envelope. */
static void expect_env_rejected(const Anwang__Envelope *env, int err, const char *needle)
{
    char why[256];
    uint8_t *buf = (uint8_t *)"x";
    size_t len = 1;
    expect_why(aw_codec_envelope_encode(env, &buf, &len, why, sizeof why), err, why, needle,
               "encode");
    cr_expect_null(buf);
    Anwang__Envelope *out = (Anwang__Envelope *)env;
    uint8_t *raw = raw_pack(env, &len);
    expect_why(aw_codec_envelope_decode(raw, len, NULL, &out, why, sizeof why), err, why, needle,
               "decode");
    cr_expect_null(out);
    free(raw);
}

/* Encodes, decodes and encodes again: the two encodings must be equal, which
 * shows that decoding kept every field. Returns the decoded record. */
static Anwang__Record *record_round_trip(const Anwang__Record *rec)
{
    char why[256];
    uint8_t *a, *b;
    size_t alen, blen;
    Anwang__Record *got = NULL;
    cr_assert_eq(aw_codec_record_encode(rec, &a, &alen, why, sizeof why), AW_OK, "%s", why);
    cr_assert_eq(aw_codec_record_decode(a, alen, NULL, &got, why, sizeof why), AW_OK, "%s", why);
    cr_assert_eq(aw_codec_record_encode(got, &b, &blen, why, sizeof why), AW_OK, "%s", why);
    cr_assert_eq(alen, blen);
    cr_assert_eq(memcmp(a, b, alen), 0);
    free(a);
    free(b);
    return got;
}

static Anwang__Envelope *env_round_trip(const Anwang__Envelope *env)
{
    char why[256];
    uint8_t *a, *b;
    size_t alen, blen;
    Anwang__Envelope *got = NULL;
    cr_assert_eq(aw_codec_envelope_encode(env, &a, &alen, why, sizeof why), AW_OK, "%s", why);
    cr_assert_eq(aw_codec_envelope_decode(a, alen, NULL, &got, why, sizeof why), AW_OK, "%s", why);
    cr_assert_eq(aw_codec_envelope_encode(got, &b, &blen, why, sizeof why), AW_OK, "%s", why);
    cr_assert_eq(alen, blen);
    cr_assert_eq(memcmp(a, b, alen), 0);
    free(a);
    free(b);
    return got;
}

static void record_ok(const Anwang__Record *rec)
{
    Anwang__Record *got = record_round_trip(rec);
    aw_codec_record_free(&got);
}

static void env_ok(const Anwang__Envelope *env)
{
    Anwang__Envelope *got = env_round_trip(env);
    aw_codec_envelope_free(&got);
}

/* ---------------------------------------------------------------- round trips */

Test(codec, round_trip_every_record_kind)
{
    sample s;
    for (size_t i = 0; i < 6; i++) {
        sample_record(&s, sample_record_kinds[i]);
        Anwang__Record *got = record_round_trip(&s.rec);
        cr_expect_eq(got->body_case, sample_record_kinds[i]);
        cr_expect_eq(got->hlc, s.rec.hlc);
        aw_codec_record_free(&got);
    }
}

Test(codec, round_trip_keeps_values)
{
    sample s;
    sample_record(&s, ANWANG__RECORD__BODY_READING);
    Anwang__Record *got = record_round_trip(&s.rec);
    cr_expect_str_eq(got->reading->string_value, "液位正常");
    cr_expect_eq(got->reading->data_value.len, 4);
    cr_expect_eq(memcmp(got->reading->data_value.data, "\x01\x02\x00\xff", 4), 0);
    cr_expect(got->reading->has_sum && got->reading->sum == 1234.5);
    cr_expect(got->reading->time_from_device);
    aw_codec_record_free(&got);

    sample_record(&s, ANWANG__RECORD__BODY_ALARM);
    got = record_round_trip(&s.rec);
    cr_expect_eq(got->alarm->level, ANWANG__LEVEL__LEVEL_ORANGE);
    cr_expect(got->alarm->has_prev_level && got->alarm->prev_level == ANWANG__LEVEL__LEVEL_YELLOW);
    cr_expect_str_eq(got->alarm->site, "yueyang/rongjiawan/xinqiang/huaxin-chem");
    cr_expect(got->alarm->has_threshold && got->alarm->threshold == 8.0);
    aw_codec_record_free(&got);

    sample_record(&s, ANWANG__RECORD__BODY_HAZARD);
    got = record_round_trip(&s.rec);
    cr_expect_str_eq(got->hazard->title, "储罐区防火堤破损");
    cr_expect_str_eq(got->hazard->note, ""); /* empty is present, not absent */
    cr_expect(got->hazard->has_ok && !got->hazard->ok);
    aw_codec_record_free(&got);
}

Test(codec, round_trip_every_envelope_kind)
{
    sample s;
    for (size_t i = 0; i < 12; i++) {
        cr_assert_eq(sample_envelope(&s, sample_env_kinds[i].msg, sample_env_kinds[i].down), 0);
        Anwang__Envelope *got = env_round_trip(&s.env);
        cr_expect_eq(got->msg_case, sample_env_kinds[i].msg, "%s", sample_env_kinds[i].name);
        if (got->msg_case == ANWANG__ENVELOPE__MSG_DOWN)
            cr_expect_eq(got->down->body_case, sample_env_kinds[i].down);
        aw_codec_envelope_free(&got);
        sample_clear(&s);
    }
}

Test(codec, batch_records_decode_one_by_one)
{
    sample s;
    char why[256];
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_BATCH, 0), 0);
    Anwang__Envelope *got = env_round_trip(&s.env);
    cr_assert_eq(got->batch->n_records, 6);
    for (size_t i = 0; i < 6; i++) {
        Anwang__Record *r = NULL;
        cr_assert_eq(aw_codec_record_decode(got->batch->records[i].data, got->batch->records[i].len,
                                            NULL, &r, why, sizeof why),
                     AW_OK, "%s", why);
        cr_expect_eq(r->body_case, sample_record_kinds[i]);
        aw_codec_record_free(&r);
    }
    aw_codec_envelope_free(&got);
    sample_clear(&s);
}

Test(codec, gap_encode_builds_a_gap_record)
{
    uint8_t *buf;
    size_t len;
    char why[128];
    cr_assert_eq(
        aw_codec_gap_encode(77, ANWANG__LANE__LANE_BULK, 10, 19, 1700000000000, &buf, &len), AW_OK);
    Anwang__Record *r = NULL;
    cr_assert_eq(aw_codec_record_decode(buf, len, NULL, &r, why, sizeof why), AW_OK, "%s", why);
    cr_expect_eq(r->hlc, 77);
    cr_assert_eq(r->body_case, ANWANG__RECORD__BODY_GAP);
    cr_expect_eq(r->gap->lane, ANWANG__LANE__LANE_BULK);
    cr_expect_eq(r->gap->from_seq, 10);
    cr_expect_eq(r->gap->to_seq, 19);
    cr_expect_eq(r->gap->count, 10);
    cr_expect_eq(r->gap->time_ms, 1700000000000);
    aw_codec_record_free(&r);
    free(buf);

    /* one record dropped: from == to */
    cr_assert_eq(aw_codec_gap_encode(1, ANWANG__LANE__LANE_BULK, 5, 5, 0, &buf, &len), AW_OK);
    free(buf);
}

Test(codec, gap_encode_refuses_bad_ranges)
{
    uint8_t *buf;
    size_t len;
    cr_expect_eq(aw_codec_gap_encode(1, ANWANG__LANE__LANE_BULK, 0, 5, 0, &buf, &len), AW_ERANGE);
    cr_expect_null(buf);
    cr_expect_eq(aw_codec_gap_encode(1, ANWANG__LANE__LANE_BULK, 6, 5, 0, &buf, &len), AW_ERANGE);
    cr_expect_eq(aw_codec_gap_encode(1, ANWANG__LANE__LANE_BULK, 1, 5, -1, &buf, &len), AW_ERANGE);
    cr_expect_eq(aw_codec_gap_encode(1, (Anwang__Lane)7, 1, 5, 0, &buf, &len), AW_EENUM);
    cr_expect_eq(aw_codec_gap_encode(1, ANWANG__LANE__LANE_BULK, 1, UINT64_MAX, 0, &buf, &len),
                 AW_OK, "the whole sequence space is a valid gap");
    free(buf);
}

/* ---------------------------------------------------------------- size and framing */

Test(codec, oversize_rejected_before_parsing)
{
    /* 5,000,000 bytes of 0xff: garbage that parsing would call AW_EDECODE;
     * the limit is checked first. */
    size_t len = 5000000;
    uint8_t *buf = malloc(len);
    cr_assert_not_null(buf);
    memset(buf, 0xff, len);
    char why[128];
    Anwang__Envelope *env = (Anwang__Envelope *)buf;
    cr_expect_eq(aw_codec_envelope_decode(buf, len, NULL, &env, why, sizeof why), AW_ETOOBIG);
    cr_expect_str_eq(why, "envelope: 5000000 bytes over limit 4194304");
    cr_expect_null(env);
    Anwang__Record *rec = NULL;
    cr_expect_eq(aw_codec_record_decode(buf, len, NULL, &rec, why, sizeof why), AW_ETOOBIG);
    cr_expect_str_eq(why, "record: 5000000 bytes over limit 4194304");
    free(buf);
}

Test(codec, custom_limit_applies_to_valid_message)
{
    sample s;
    uint8_t *buf;
    size_t len;
    char why[128];
    sample_record(&s, ANWANG__RECORD__BODY_GAP);
    cr_assert_eq(aw_codec_record_encode(&s.rec, &buf, &len, why, sizeof why), AW_OK);
    aw_codec_limits lim = aw_codec_default_limits;
    lim.max_message = len - 1;
    Anwang__Record *r = NULL;
    cr_expect_eq(aw_codec_record_decode(buf, len, &lim, &r, why, sizeof why), AW_ETOOBIG);
    cr_expect_null(r);
    cr_expect_eq(aw_codec_record_validate(&s.rec, &lim, why, sizeof why), AW_ETOOBIG);
    lim.max_message = len;
    cr_expect_eq(aw_codec_record_decode(buf, len, &lim, &r, why, sizeof why), AW_OK, "%s", why);
    aw_codec_record_free(&r);
    free(buf);
}

Test(codec, every_truncation_is_a_decode_error)
{
    sample s;
    uint8_t *buf;
    size_t len;
    char why[128];
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALERT), 0);
    cr_assert_eq(aw_codec_envelope_encode(&s.env, &buf, &len, why, sizeof why), AW_OK);
    for (size_t n = 0; n < len; n++) {
        Anwang__Envelope *env = NULL;
        cr_expect_eq(aw_codec_envelope_decode(buf, n, NULL, &env, why, sizeof why), AW_EDECODE,
                     "prefix of %zu of %zu bytes", n, len);
        cr_expect_null(env);
        cr_expect_not_null(strstr(why, "envelope"));
    }
    free(buf);

    sample_record(&s, ANWANG__RECORD__BODY_HAZARD);
    cr_assert_eq(aw_codec_record_encode(&s.rec, &buf, &len, why, sizeof why), AW_OK);
    for (size_t n = 0; n < len; n++) {
        Anwang__Record *r = NULL;
        cr_expect_eq(aw_codec_record_decode(buf, n, NULL, &r, why, sizeof why), AW_EDECODE,
                     "prefix of %zu of %zu bytes", n, len);
        cr_expect_null(r);
    }
    free(buf);
}

Test(codec, garbage_is_a_decode_error)
{
    static const uint8_t garbage[][8] = {
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* endless varint */
        {0x0a, 0x7f, 0x01, 0x02},                         /* length past the end */
        {0x0f, 0x00},                                     /* wire type 7 */
        {0x08, 0x01},                                     /* hello as a varint */
    };
    char why[128];
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        Anwang__Envelope *env = NULL;
        cr_expect_eq(
            aw_codec_envelope_decode(garbage[i], sizeof garbage[i], NULL, &env, why, sizeof why),
            AW_EDECODE, "garbage %zu", i);
        cr_expect_null(env);
        cr_expect_not_null(strstr(why, "malformed"), "%s", why);
    }
}

Test(codec, missing_required_field_is_a_decode_error)
{
    /* Record{reading{device, metric}} without hlc or time_ms. */
    static const uint8_t buf[] = {0x12, 0x06, 0x0a, 0x01, 'd', 0x12, 0x01, 'm'};
    char why[128];
    Anwang__Record *r = NULL;
    cr_expect_eq(aw_codec_record_decode(buf, sizeof buf, NULL, &r, why, sizeof why), AW_EDECODE);
    cr_expect_null(r);
}

Test(codec, empty_input)
{
    char why[128];
    Anwang__Envelope *env = NULL;
    cr_expect_eq(aw_codec_envelope_decode(NULL, 0, NULL, &env, why, sizeof why), AW_EDECODE);
    cr_expect_str_eq(why, "envelope.msg: not set");
    Anwang__Record *r = NULL;
    cr_expect_eq(aw_codec_record_decode((const uint8_t *)"", 0, NULL, &r, why, sizeof why),
                 AW_EDECODE);
}

/* ---------------------------------------------------------------- oneofs */

Test(codec, oneof_must_be_set)
{
    sample s;
    sample_record(&s, ANWANG__RECORD__BODY_READING);
    s.rec.body_case = ANWANG__RECORD__BODY__NOT_SET;
    expect_record_rejected(&s.rec, AW_EDECODE, "record.body: not set");

    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALERT), 0);
    s.down.body_case = ANWANG__DOWN__BODY__NOT_SET;
    expect_env_rejected(&s.env, AW_EDECODE, "envelope.down.body: not set");
    s.env.msg_case = ANWANG__ENVELOPE__MSG__NOT_SET;
    expect_env_rejected(&s.env, AW_EDECODE, "envelope.msg: not set");
}

Test(codec, encode_refuses_broken_structs)
{
    sample s;
    char why[128];
    uint8_t *buf;
    size_t len;
    sample_record(&s, ANWANG__RECORD__BODY_READING);
    s.rec.reading = NULL;
    cr_expect_eq(aw_codec_record_encode(&s.rec, &buf, &len, why, sizeof why), AW_EDECODE);
    cr_expect_str_eq(why, "record.reading: missing");
    s.rec.body_case = 99;
    cr_expect_eq(aw_codec_record_encode(&s.rec, &buf, &len, why, sizeof why), AW_EDECODE);
    cr_expect_str_eq(why, "record.body: unknown case 99");

    sample_record(&s, ANWANG__RECORD__BODY_READING);
    s.reading.device = NULL;
    cr_expect_eq(aw_codec_record_encode(&s.rec, &buf, &len, why, sizeof why), AW_EDECODE);
    cr_expect_str_eq(why, "record.reading.device: missing");

    sample_record(&s, ANWANG__RECORD__BODY_READING);
    memset(&s.reading.base, 0, sizeof s.reading.base); /* built without its INIT */
    cr_expect_eq(aw_codec_record_encode(&s.rec, &buf, &len, why, sizeof why), AW_EINVAL);
    cr_expect_not_null(strstr(why, "record.reading: wrong type, want anwang.Reading"), "%s", why);

    Anwang__Record zero;
    memset(&zero, 0, sizeof zero);
    cr_expect_eq(aw_codec_record_encode(&zero, &buf, &len, why, sizeof why), AW_EINVAL);
    cr_expect_eq(aw_codec_record_encode(NULL, &buf, &len, why, sizeof why), AW_EINVAL);
    cr_expect_eq(aw_codec_envelope_encode(NULL, &buf, &len, NULL, 0), AW_EINVAL);
    cr_expect_null(buf);
}

/* ---------------------------------------------------------------- numbers */

Test(codec, doubles_must_be_finite)
{
    sample s;
    sample_record(&s, ANWANG__RECORD__BODY_READING);
    s.reading.value = NAN;
    expect_record_rejected(&s.rec, AW_ENOTFINITE, "record.reading.value: NaN");
    s.reading.value = INFINITY;
    expect_record_rejected(&s.rec, AW_ENOTFINITE, "record.reading.value: Inf");
    s.reading.value = 1.0;
    s.reading.sum = -INFINITY;
    expect_record_rejected(&s.rec, AW_ENOTFINITE, "record.reading.sum: -Inf");
    s.reading.has_sum = 0; /* an absent NaN is no value at all */
    record_ok(&s.rec);

    sample_record(&s, ANWANG__RECORD__BODY_ALARM);
    s.alarm.threshold = NAN;
    expect_record_rejected(&s.rec, AW_ENOTFINITE, "record.alarm.threshold: NaN");
    s.alarm.threshold = 1;
    s.alarm.first_value = INFINITY;
    expect_record_rejected(&s.rec, AW_ENOTFINITE, "record.alarm.first_value: Inf");
    s.alarm.first_value = 1;
    s.alarm.value = -NAN;
    expect_record_rejected(&s.rec, AW_ENOTFINITE, "record.alarm.value: NaN");
}

Test(codec, times_must_not_be_negative)
{
    sample s;
    sample_record(&s, ANWANG__RECORD__BODY_READING);
    s.reading.time_ms = -1;
    expect_record_rejected(&s.rec, AW_ERANGE, "record.reading.time_ms: negative time -1");
    sample_record(&s, ANWANG__RECORD__BODY_DEVICE);
    s.device.last_seen_ms = INT64_MIN;
    expect_record_rejected(&s.rec, AW_ERANGE, "record.device.last_seen_ms");
    s.device.has_last_seen_ms = 0;
    record_ok(&s.rec);
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_HEARTBEAT, 0), 0);
    s.heartbeat.wall_ms = -5;
    expect_env_rejected(&s.env, AW_ERANGE, "envelope.heartbeat.wall_ms");
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALERT), 0);
    s.alert.expires_ms = -1;
    expect_env_rejected(&s.env, AW_ERANGE, "envelope.down.alert.expires_ms");
}

/* ---------------------------------------------------------------- enums */

Test(codec, enums_out_of_range_are_rejected_on_decode)
{
    /* protobuf-c does not check proto2 enums when it unpacks: set the int in
     * the struct, pack with protobuf-c, and the codec must refuse it. */
    sample s;
    sample_record(&s, ANWANG__RECORD__BODY_ALARM);
    s.alarm.level = 5;
    expect_record_rejected(&s.rec, AW_EENUM, "record.alarm.level: 5 not in anwang.Level");
    s.alarm.level = ANWANG__LEVEL__LEVEL_RED;
    s.alarm.prev_level = -1;
    expect_record_rejected(&s.rec, AW_EENUM, "record.alarm.prev_level: -1");
    s.alarm.has_prev_level = 0;
    record_ok(&s.rec);

    sample_record(&s, ANWANG__RECORD__BODY_HAZARD);
    s.hazard.op = 8;
    expect_record_rejected(&s.rec, AW_EENUM, "record.hazard.op");
    sample_record(&s, ANWANG__RECORD__BODY_GAP);
    s.gap.lane = 2;
    expect_record_rejected(&s.rec, AW_EENUM, "record.gap.lane");

    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_HELLO, 0), 0);
    s.lanes[1].lane = 1000;
    expect_env_rejected(&s.env, AW_EENUM, "envelope.hello.heads[1].lane");
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALERT), 0);
    s.alert.status = 3;
    expect_env_rejected(&s.env, AW_EENUM, "envelope.down.alert.status");
}

/* ---------------------------------------------------------------- UTF-8 */

Test(codec, utf8_valid_accepts_well_formed)
{
    cr_expect(aw_utf8_valid("", 0));
    cr_expect(aw_utf8_valid(NULL, 0));
    cr_expect(aw_utf8_valid("%LEL", 4));
    cr_expect(aw_utf8_valid("岳阳县", strlen("岳阳县")));
    cr_expect(aw_utf8_valid("\xc2\x80", 2));          /* U+0080 */
    cr_expect(aw_utf8_valid("\xe0\xa0\x80", 3));      /* U+0800 */
    cr_expect(aw_utf8_valid("\xed\x9f\xbf", 3));      /* U+D7FF */
    cr_expect(aw_utf8_valid("\xee\x80\x80", 3));      /* U+E000 */
    cr_expect(aw_utf8_valid("\xf0\x90\x80\x80", 4));  /* U+10000 */
    cr_expect(aw_utf8_valid("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
    cr_expect(aw_utf8_valid("\xf0\x9f\x94\xa5!", 5)); /* emoji then ASCII */
}

Test(codec, utf8_valid_rejects_malformed)
{
    static const char *bad[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xe0\x9f\xbf",     /* overlong U+07FF */
        "\xf0\x80\x80\xaf", /* overlong, 4 bytes */
        "\xf0\x8f\xbf\xbf", /* overlong U+FFFF */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xed\xbf\xbf",     /* surrogate U+DFFF */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80", /* lead byte past U+10FFFF */
        "\xff",
        "\x80",         /* lone continuation */
        "a\xbf",        /* lone continuation after ASCII */
        "\xe4\xb8",     /* truncated */
        "\xe4\x41\xad", /* continuation missing */
        "\xf0\x9f\x94", /* truncated 4-byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_not(aw_utf8_valid(bad[i], strlen(bad[i])), "bad[%zu]", i);
    cr_expect_not(aw_utf8_valid("a\0b", 3), "NUL");
    cr_expect_not(aw_utf8_valid("\0", 1), "NUL");
    cr_expect_not(aw_utf8_valid("\xe4\xb8\xad", 2), "length cuts a character");
}

Test(codec, strings_must_be_utf8)
{
    sample s;
    sample_record(&s, ANWANG__RECORD__BODY_READING);
    s.reading.unit = "\xc0\xaf";
    expect_record_rejected(&s.rec, AW_EUTF8, "record.reading.unit: invalid UTF-8 at byte 0");
    s.reading.unit = "m";
    s.reading.string_value = "ok\xed\xa0\x80";
    expect_record_rejected(&s.rec, AW_EUTF8,
                           "record.reading.string_value: invalid UTF-8 at byte 2");
    sample_record(&s, ANWANG__RECORD__BODY_HAZARD);
    s.hazard.title = "\x80";
    expect_record_rejected(&s.rec, AW_EUTF8, "record.hazard.title");
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALERT), 0);
    s.area[1] = "\xf4\x90\x80\x80";
    expect_env_rejected(&s.env, AW_EUTF8, "envelope.down.alert.area[1]: invalid UTF-8");
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_REFUSE, 0), 0);
    s.refuse.reason = "\xe4\xb8";
    expect_env_rejected(&s.env, AW_EUTF8, "envelope.refuse.reason");
}

/* Packs @p rec, then overwrites the first byte of the string @p marker in the
 * packing with NUL: a string strlen() would silently cut short. */
static uint8_t *pack_with_nul(const void *msg, const char *marker, size_t *len)
{
    uint8_t *buf = raw_pack(msg, len);
    size_t mlen = strlen(marker);
    for (size_t i = 0; i + mlen <= *len; i++)
        if (memcmp(buf + i, marker, mlen) == 0) {
            buf[i] = 0;
            return buf;
        }
    cr_assert_fail("marker %s not in packing", marker);
    return NULL;
}

Test(codec, nul_inside_a_wire_string_is_rejected)
{
    sample s;
    char why[256];
    size_t len;
    sample_record(&s, ANWANG__RECORD__BODY_READING);
    s.reading.unit = "m@LEL";
    uint8_t *buf = pack_with_nul(&s.rec, "@LEL", &len);
    Anwang__Record *r = NULL;
    cr_expect_eq(aw_codec_record_decode(buf, len, NULL, &r, why, sizeof why), AW_EUTF8);
    cr_expect_str_eq(why, "record.reading.unit: NUL at byte 1");
    cr_expect_null(r);
    free(buf);

    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_HELLO, 0), 0);
    buf = pack_with_nul(&s.env, "rongjiawan", &len); /* edge_id, leading byte */
    Anwang__Envelope *env = NULL;
    cr_expect_eq(aw_codec_envelope_decode(buf, len, NULL, &env, why, sizeof why), AW_EUTF8);
    cr_expect_str_eq(why, "envelope.hello.edge_id: NUL at byte 0");
    free(buf);

    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALERT), 0);
    s.area[0] = "yueyang/Xrongjiawan";
    buf = pack_with_nul(&s.env, "Xrong", &len);
    cr_expect_eq(aw_codec_envelope_decode(buf, len, NULL, &env, why, sizeof why), AW_EUTF8);
    cr_expect_str_eq(why, "envelope.down.alert.area[0]: NUL at byte 8");
    free(buf);

    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_REGISTRY), 0);
    buf = pack_with_nul(&s.env, "\"zones\"", &len);
    cr_expect_eq(aw_codec_envelope_decode(buf, len, NULL, &env, why, sizeof why), AW_EUTF8);
    cr_expect_not_null(strstr(why, "envelope.down.registry.json: NUL at byte"), "%s", why);
    free(buf);
}

Test(codec, strings_longer_than_max_string_are_rejected)
{
    sample s;
    char *big = malloc(5000);
    cr_assert_not_null(big);
    memset(big, 'a', 4096);
    big[4096] = '\0';
    sample_record(&s, ANWANG__RECORD__BODY_HAZARD);
    s.hazard.description = big;
    record_ok(&s.rec); /* exactly 4 KiB is fine */
    big[4096] = 'a';
    big[4097] = '\0';
    expect_record_rejected(&s.rec, AW_ERANGE,
                           "record.hazard.description: 4097 bytes over limit 4096");
    sample_record(&s, ANWANG__RECORD__BODY_READING);
    s.reading.data_value = (ProtobufCBinaryData){4097, (uint8_t *)big};
    expect_record_rejected(&s.rec, AW_ERANGE, "record.reading.data_value: 4097 bytes");

    aw_codec_limits lim = aw_codec_default_limits;
    lim.max_string = 3;
    char why[128];
    sample_record(&s, ANWANG__RECORD__BODY_DEVICE);
    cr_expect_eq(aw_codec_record_validate(&s.rec, &lim, why, sizeof why), AW_ERANGE);
    cr_expect_str_eq(why, "record.device.device: 14 bytes over limit 3");
    free(big);
}

/* ---------------------------------------------------------------- identifiers */

Test(codec, device_ids_and_metrics)
{
    sample s;
    static const char *good[] = {"a", "huaxin-t3", "t.3_x-y", "0123456789"};
    for (size_t i = 0; i < 4; i++) {
        sample_record(&s, ANWANG__RECORD__BODY_READING);
        s.reading.device = (char *)good[i];
        s.reading.metric = (char *)good[i];
        Anwang__Record *r = record_round_trip(&s.rec);
        aw_codec_record_free(&r);
    }
    sample_record(&s, ANWANG__RECORD__BODY_READING);
    s.reading.device = "Huaxin-t3";
    expect_record_rejected(&s.rec, AW_EDECODE,
                           "record.reading.device: bad device id: byte 0x48 at 0");
    s.reading.device = "huaxin t3";
    expect_record_rejected(&s.rec, AW_EDECODE, "record.reading.device: bad device id");
    s.reading.device = "huaxin/t3";
    expect_record_rejected(&s.rec, AW_EDECODE, "record.reading.device");
    s.reading.device = "";
    expect_record_rejected(&s.rec, AW_ERANGE, "record.reading.device: device id of 0 bytes");
    s.reading.device = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 64 */
    record_ok(&s.rec);
    s.reading.device = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 65 */
    expect_record_rejected(&s.rec, AW_ERANGE, "record.reading.device: device id of 65 bytes");
    s.reading.device = "t3";
    s.reading.metric = "CH4";
    expect_record_rejected(&s.rec, AW_EDECODE, "record.reading.metric: bad metric name");
    s.reading.metric = "甲烷";
    expect_record_rejected(&s.rec, AW_EDECODE, "record.reading.metric");

    sample_record(&s, ANWANG__RECORD__BODY_RECEIPT);
    s.receipt.device = "Siren";
    expect_record_rejected(&s.rec, AW_EDECODE, "record.receipt.device");
    s.receipt.device = NULL; /* optional: absent for RECEIPT_EDGE_RECEIVED */
    record_ok(&s.rec);
}

Test(codec, identifiers)
{
    sample s;
    sample_record(&s, ANWANG__RECORD__BODY_HAZARD);
    s.hazard.hazard_id = "h:2024/0001@rongjiawan#7~x";
    record_ok(&s.rec);
    s.hazard.hazard_id = "h 1";
    expect_record_rejected(&s.rec, AW_EDECODE, "record.hazard.hazard_id: bad identifier");
    s.hazard.hazard_id = "h,1";
    expect_record_rejected(&s.rec, AW_EDECODE, "record.hazard.hazard_id");
    s.hazard.hazard_id = "h\t1";
    expect_record_rejected(&s.rec, AW_EDECODE, "record.hazard.hazard_id");
    s.hazard.hazard_id = "隐患1";
    expect_record_rejected(&s.rec, AW_EDECODE, "record.hazard.hazard_id");
    s.hazard.hazard_id = "h1";
    s.hazard.origin = "";
    expect_record_rejected(&s.rec, AW_ERANGE, "record.hazard.origin: identifier of 0 bytes");

    char id[130];
    memset(id, 'x', 129);
    id[129] = '\0';
    sample_record(&s, ANWANG__RECORD__BODY_ALARM);
    s.alarm.alarm_id = id;
    expect_record_rejected(&s.rec, AW_ERANGE, "record.alarm.alarm_id: identifier of 129 bytes");
    id[128] = '\0';
    record_ok(&s.rec);

    sample_record(&s, ANWANG__RECORD__BODY_RECEIPT);
    s.receipt.edge_id = "rong jia wan";
    expect_record_rejected(&s.rec, AW_EDECODE, "record.receipt.edge_id");
    s.receipt.edge_id = "rongjiawan";
    s.receipt.identifier = "<alert>";
    expect_record_rejected(&s.rec, AW_EDECODE, "record.receipt.identifier");
}

Test(codec, identifiers_in_envelopes)
{
    sample s;
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_HELLO, 0), 0);
    s.hello.edge_id = "";
    expect_env_rejected(&s.env, AW_ERANGE, "envelope.hello.edge_id");
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALERT), 0);
    s.references[0] = "a&b";
    expect_env_rejected(&s.env, AW_EDECODE, "envelope.down.alert.references[0]: bad identifier");
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALARM_ACK), 0);
    s.alarm_ack.alarm_id = "a b";
    expect_env_rejected(&s.env, AW_EDECODE, "envelope.down.alarm_ack.alarm_id");
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALERT_CANCEL),
                 0);
    s.alert_cancel.identifier = "";
    expect_env_rejected(&s.env, AW_ERANGE, "envelope.down.alert_cancel.identifier");
}

Test(codec, grid_paths)
{
    sample s;
    static const char *good[] = {"yueyang", "yueyang/rongjiawan", "a-1/b--2/3"};
    static const struct {
        const char *path, *why;
    } bad[] = {
        {"/yueyang", "byte 0x2f at 0"},       {"yueyang/", "byte 0x2f at 7"},
        {"yueyang//x", "byte 0x2f at 8"},     {"Yueyang", "byte 0x59 at 0"},
        {"yue_yang", "byte 0x5f at 3"},       {"yue yang", "byte 0x20 at 3"},
        {"yueyang/荣家湾", "byte 0xe8 at 8"}, {"/", "byte 0x2f at 0"},
        {"yue.yang", "byte 0x2e at 3"},
    };
    sample_record(&s, ANWANG__RECORD__BODY_ALARM);
    for (size_t i = 0; i < 3; i++) {
        s.alarm.site = (char *)good[i];
        Anwang__Record *r = record_round_trip(&s.rec);
        aw_codec_record_free(&r);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s.alarm.site = (char *)bad[i].path;
        expect_record_rejected(&s.rec, AW_EDECODE, bad[i].why);
    }
    s.alarm.site = "";
    expect_record_rejected(&s.rec, AW_ERANGE, "record.alarm.site: grid path of 0 bytes");
    char path[260];
    memset(path, 'a', 257);
    path[257] = '\0';
    s.alarm.site = path;
    expect_record_rejected(&s.rec, AW_ERANGE, "record.alarm.site: grid path of 257 bytes");
    path[256] = '\0';
    record_ok(&s.rec);
    s.alarm.site = NULL; /* optional */
    record_ok(&s.rec);
}

Test(codec, grid_paths_in_every_field)
{
    sample s;
    sample_record(&s, ANWANG__RECORD__BODY_HAZARD);
    s.hazard.site = "Yueyang";
    expect_record_rejected(&s.rec, AW_EDECODE, "record.hazard.site: bad grid path");
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_HELLO, 0), 0);
    s.hello.zone = "yueyang/";
    expect_env_rejected(&s.env, AW_EDECODE, "envelope.hello.zone");
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_REGISTRY), 0);
    s.registry.zone = "";
    expect_env_rejected(&s.env, AW_ERANGE, "envelope.down.registry.zone");
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALERT), 0);
    s.area[0] = "yueyang//rongjiawan";
    expect_env_rejected(&s.env, AW_EDECODE, "envelope.down.alert.area[0]: bad grid path");
}

/* ---------------------------------------------------------------- message rules */

Test(codec, gap_rules)
{
    sample s;
    sample_record(&s, ANWANG__RECORD__BODY_GAP);
    s.gap.count = 149;
    expect_record_rejected(&s.rec, AW_ERANGE,
                           "record.gap.count: 149, but from_seq..to_seq holds 150");
    s.gap.count = 151;
    expect_record_rejected(&s.rec, AW_ERANGE, "record.gap.count");
    s.gap.count = 150;
    s.gap.to_seq = 100;
    expect_record_rejected(&s.rec, AW_ERANGE, "record.gap.to_seq: 100 before from_seq 101");
    s.gap.from_seq = 0;
    s.gap.to_seq = 149;
    expect_record_rejected(&s.rec, AW_ERANGE, "record.gap.from_seq: 0");
}

Test(codec, reading_needs_a_value)
{
    sample s;
    sample_record(&s, ANWANG__RECORD__BODY_READING);
    s.reading.has_value = s.reading.has_bool_value = s.reading.has_data_value = 0;
    s.reading.has_sum = 0;
    s.reading.string_value = NULL;
    expect_record_rejected(&s.rec, AW_EDECODE, "record.reading: no value");
    s.reading.has_bool_value = 1; /* vb alone is a value, false included */
    s.reading.bool_value = 0;
    record_ok(&s.rec);
}

Test(codec, batch_rules)
{
    sample s;
    char why[256];
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_BATCH, 0), 0);
    s.batch.first_seq = 0;
    expect_env_rejected(&s.env, AW_ERANGE, "envelope.batch.first_seq: 0");
    s.batch.first_seq = UINT64_MAX - 4; /* six records would pass UINT64_MAX */
    expect_env_rejected(&s.env, AW_ERANGE, "envelope.batch.first_seq: 6 records overflow");
    s.batch.first_seq = UINT64_MAX - 5;
    env_ok(&s.env);
    s.batch.first_seq = 1;
    size_t len2 = s.records[2].len;
    s.records[2].len = 0;
    expect_env_rejected(&s.env, AW_ERANGE, "envelope.batch.records[2]: 0 bytes");
    s.records[2].len = len2;

    /* record count and record size limits, on decode with custom limits */
    uint8_t *buf;
    size_t len;
    cr_assert_eq(aw_codec_envelope_encode(&s.env, &buf, &len, why, sizeof why), AW_OK);
    aw_codec_limits lim = aw_codec_default_limits;
    lim.max_records = 5;
    Anwang__Envelope *env = NULL;
    cr_expect_eq(aw_codec_envelope_decode(buf, len, &lim, &env, why, sizeof why), AW_ERANGE);
    cr_expect_str_eq(why, "envelope.batch.records: 6 records over limit 5");
    lim.max_records = 6;
    cr_expect_eq(aw_codec_envelope_decode(buf, len, &lim, &env, why, sizeof why), AW_OK, "%s", why);
    aw_codec_envelope_free(&env);
    lim.max_message = len; /* exactly at the limit is fine */
    cr_expect_eq(aw_codec_envelope_decode(buf, len, &lim, &env, why, sizeof why), AW_OK);
    aw_codec_envelope_free(&env);
    free(buf);
    sample_clear(&s);

    /* An empty batch is well-formed (nothing to apply). */
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_BATCH, 0), 0);
    sample_clear(&s);
    env = env_round_trip(&s.env);
    cr_expect_eq(env->batch->n_records, 0);
    aw_codec_envelope_free(&env);
}

Test(codec, batch_record_over_max_message)
{
    /* On decode a record can never outgrow the envelope that holds it; on
     * encode the codec refuses to emit one the center would refuse. */
    size_t n = aw_codec_default_limits.max_message + 1;
    uint8_t *rec = calloc(1, n);
    cr_assert_not_null(rec);
    ProtobufCBinaryData records[1] = {{n, rec}};
    Anwang__Batch batch = ANWANG__BATCH__INIT;
    batch.first_seq = 1;
    batch.n_records = 1;
    batch.records = records;
    Anwang__Envelope e = ANWANG__ENVELOPE__INIT;
    e.msg_case = ANWANG__ENVELOPE__MSG_BATCH;
    e.batch = &batch;
    char why[128];
    uint8_t *buf;
    size_t len;
    cr_expect_eq(aw_codec_envelope_encode(&e, &buf, &len, why, sizeof why), AW_ERANGE);
    cr_expect_str_eq(why, "envelope.batch.records[0]: 4194305 bytes, not 1..4194304");
    records[0].len = n - 1; /* the record fits, the envelope around it does not */
    cr_expect_eq(aw_codec_envelope_encode(&e, &buf, &len, why, sizeof why), AW_ETOOBIG);
    cr_expect_eq(strncmp(why, "envelope: ", 10), 0, "%s", why);
    cr_expect_not_null(strstr(why, " bytes over limit 4194304"), "%s", why);
    cr_expect_null(buf);
    free(rec);
}

Test(codec, hello_and_welcome_rules)
{
    sample s;
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_HELLO, 0), 0);
    s.hello.proto_version = 0;
    expect_env_rejected(&s.env, AW_ERANGE, "envelope.hello.proto_version: 0");
    s.hello.proto_version = 2; /* a newer peer: the center refuses it, not the codec */
    env_ok(&s.env);
    s.lanes[1].lane = ANWANG__LANE__LANE_URGENT;
    expect_env_rejected(&s.env, AW_EDECODE,
                        "envelope.hello.heads[1].lane: lane 0 repeats heads[0]");
    s.hello.n_heads = 1;
    env_ok(&s.env);
    s.hello.n_heads = 0; /* a new store has no heads yet */
    env_ok(&s.env);

    Anwang__LaneSeq *three[3] = {&s.lanes[0], &s.lanes[1], &s.lanes[1]};
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_WELCOME, 0), 0);
    s.welcome.n_applied = 3;
    s.welcome.applied = three;
    expect_env_rejected(&s.env, AW_ERANGE, "envelope.welcome.applied: 3 entries for 2 lanes");
    s.welcome.n_applied = 2;
    s.lanes[0].lane = ANWANG__LANE__LANE_BULK;
    expect_env_rejected(&s.env, AW_EDECODE, "envelope.welcome.applied[1].lane");
    s.lanes[0].lane = ANWANG__LANE__LANE_URGENT;
    s.welcome.proto_version = 0;
    expect_env_rejected(&s.env, AW_ERANGE, "envelope.welcome.proto_version");
}

Test(codec, down_rules)
{
    sample s;
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_HAZARD), 0);
    s.down.seq = 0;
    expect_env_rejected(&s.env, AW_ERANGE, "envelope.down.seq: 0");
    s.down.seq = 1;
    s.hazard.origin = "center node";
    expect_env_rejected(&s.env, AW_EDECODE, "envelope.down.hazard.origin");

    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_REGISTRY), 0);
    s.registry.json.len = 0;
    expect_env_rejected(&s.env, AW_ERANGE, "envelope.down.registry.json: 0 bytes");
    s.registry.json = (ProtobufCBinaryData){3, (uint8_t *)"{\xff}"};
    expect_env_rejected(&s.env, AW_EUTF8, "envelope.down.registry.json: invalid UTF-8 at byte 1");
    s.registry.json = (ProtobufCBinaryData){2, (uint8_t *)"{}"};
    env_ok(&s.env);

    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_ALARM_ACK), 0);
    s.alarm_ack.by = NULL;
    char why[128];
    uint8_t *buf;
    size_t len;
    cr_expect_eq(aw_codec_envelope_encode(&s.env, &buf, &len, why, sizeof why), AW_EDECODE);
    cr_expect_str_eq(why, "envelope.down.alarm_ack.by: missing");
}

Test(codec, registry_json_up_to_max_message)
{
    /* The registry is one big JSON value: strings are capped at max_string,
     * the json field only by max_message. */
    sample s;
    size_t n = 100000;
    char *json = malloc(n);
    cr_assert_not_null(json);
    memset(json, ' ', n);
    json[0] = '{';
    json[n - 1] = '}';
    cr_assert_eq(sample_envelope(&s, ANWANG__ENVELOPE__MSG_DOWN, ANWANG__DOWN__BODY_REGISTRY), 0);
    s.registry.json = (ProtobufCBinaryData){n, (uint8_t *)json};
    Anwang__Envelope *got = env_round_trip(&s.env);
    cr_expect_eq(got->down->registry->json.len, n);
    aw_codec_envelope_free(&got);
    free(json);
}

/* ---------------------------------------------------------------- reasons */

Test(codec, reason_buffer_may_be_small_or_absent)
{
    sample s;
    sample_record(&s, ANWANG__RECORD__BODY_READING);
    s.reading.value = NAN;
    uint8_t *buf;
    size_t len;
    char why[12];
    memset(why, 'Z', sizeof why);
    cr_expect_eq(aw_codec_record_encode(&s.rec, &buf, &len, why, 8), AW_ENOTFINITE);
    cr_expect_str_eq(why, "record.");
    cr_expect_eq(why[8], 'Z', "wrote past why_len");
    cr_expect_eq(aw_codec_record_encode(&s.rec, &buf, &len, why, 1), AW_ENOTFINITE);
    cr_expect_str_eq(why, "");
    cr_expect_eq(aw_codec_record_encode(&s.rec, &buf, &len, NULL, 0), AW_ENOTFINITE);
    cr_expect_eq(aw_codec_record_encode(&s.rec, &buf, &len, why, 0), AW_ENOTFINITE);
    char full[64];
    cr_expect_eq(aw_codec_record_validate(&s.rec, NULL, full, sizeof full), AW_ENOTFINITE);
    cr_expect_str_eq(full, "record.reading.value: NaN");
    for (size_t n = 1; n <= strlen(full) + 1; n++) {
        char part[64];
        memset(part, 'Z', sizeof part);
        aw_codec_record_validate(&s.rec, NULL, part, n);
        cr_expect_eq(strlen(part), n - 1, "why_len %zu", n);
        cr_expect_eq(strncmp(part, full, n - 1), 0);
    }
    s.reading.value = 1;
    cr_expect_eq(aw_codec_record_validate(&s.rec, NULL, full, sizeof full), AW_OK);
    cr_expect_str_eq(full, "", "success clears the reason");
}

Test(codec, free_is_safe_on_null)
{
    Anwang__Envelope *env = NULL;
    Anwang__Record *rec = NULL;
    aw_codec_envelope_free(&env);
    aw_codec_envelope_free(NULL);
    aw_codec_record_free(&rec);
    aw_codec_record_free(NULL);
}

/* ---------------------------------------------------------------- every field */

/* The sweep walks one valid message through protobuf-c's descriptors and, for
 * each double, enum, string and *_ms time it meets (optional ones switched
 * on, repeated ones at element 0), plants a bad value and expects encode to
 * refuse it naming that field. A field added to the schema without a check
 * fails here. */
typedef struct sweep {
    ProtobufCMessage *root;
    int n_double, n_enum, n_string, n_time;
} sweep;

static void sweep_expect(sweep *w, int err, const ProtobufCFieldDescriptor *f)
{
    char why[256];
    uint8_t *buf;
    size_t len;
    int rv =
        w->root->descriptor == &anwang__record__descriptor
            ? aw_codec_record_encode((Anwang__Record *)w->root, &buf, &len, why, sizeof why)
            : aw_codec_envelope_encode((Anwang__Envelope *)w->root, &buf, &len, why, sizeof why);
    cr_expect_eq(rv, err, "%s: got %s (%s)", f->name, aw_strerror(rv), why);
    cr_expect_not_null(strstr(why, f->name), "reason '%s' lacks %s", why, f->name);
}

static int sweep_has_ms_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, "_ms") == 0;
}

/* Plants a bad value in scalar field @p f of @p m and checks the refusal. */
static void sweep_scalar(sweep *w, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    char *at = (char *)m + f->offset;
    protobuf_c_boolean *has = (protobuf_c_boolean *)((char *)m + f->quantifier_offset);
    int optional = f->label == PROTOBUF_C_LABEL_OPTIONAL, had = optional ? *has : 1;
    if (f->type == PROTOBUF_C_TYPE_DOUBLE) {
        double old = *(double *)at;
        *(double *)at = NAN;
        *has = optional ? 1 : *has;
        sweep_expect(w, AW_ENOTFINITE, f);
        *(double *)at = old;
        w->n_double++;
    } else if (f->type == PROTOBUF_C_TYPE_ENUM) {
        int old = *(int *)at;
        *(int *)at = 99;
        *has = optional ? 1 : *has;
        sweep_expect(w, AW_EENUM, f);
        *(int *)at = old;
        w->n_enum++;
    } else if (f->type == PROTOBUF_C_TYPE_INT64 && sweep_has_ms_suffix(f->name)) {
        int64_t old = *(int64_t *)at;
        *(int64_t *)at = -1;
        *has = optional ? 1 : *has;
        sweep_expect(w, AW_ERANGE, f);
        *(int64_t *)at = old;
        w->n_time++;
    } else {
        return;
    }
    if (optional)
        *has = had;
}

static void sweep_string(sweep *w, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    char **at = (char **)((char *)m + f->offset);
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        if (*(size_t *)((char *)m + f->quantifier_offset) == 0)
            return;
        at = *(char ***)at;
    }
    char *old = *at;
    *at = "\xed\xa0\x80";
    sweep_expect(w, AW_EUTF8, f);
    *at = old;
    w->n_string++;
}

static void sweep_msg(sweep *w, ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        void *at = (char *)m + f->offset;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(uint32_t *)((char *)m + f->quantifier_offset) != f->id)
            continue;
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            sweep_string(w, m, f);
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (*(size_t *)((char *)m + f->quantifier_offset) > 0)
                sweep_msg(w, (*(ProtobufCMessage ***)at)[0]);
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (*(ProtobufCMessage **)at != NULL)
                sweep_msg(w, *(ProtobufCMessage **)at);
        } else if (f->label != PROTOBUF_C_LABEL_REPEATED) {
            sweep_scalar(w, m, f);
        }
    }
}

Test(codec, every_field_of_every_kind_is_checked)
{
    sample s;
    sweep w = {0};
    for (size_t i = 0; i < 6; i++) {
        sample_record(&s, sample_record_kinds[i]);
        w.root = &s.rec.base;
        sweep_msg(&w, w.root);
        record_ok(&s.rec); /* every plant was undone */
    }
    for (size_t i = 0; i < 12; i++) {
        cr_assert_eq(sample_envelope(&s, sample_env_kinds[i].msg, sample_env_kinds[i].down), 0);
        w.root = &s.env.base;
        sweep_msg(&w, w.root);
        Anwang__Envelope *got = env_round_trip(&s.env);
        aw_codec_envelope_free(&got);
        sample_clear(&s);
    }
    /* The schema's fields, counted by hand: records 5 doubles, 10 enums, 29
     * strings, 9 times; envelopes 0, 9, 35 and 9 (HazardEvent counts twice: as
     * a record and in a Down). */
    cr_expect_eq(w.n_double, 5);
    cr_expect_eq(w.n_enum, 19, "%d", w.n_enum);
    cr_expect_eq(w.n_string, 64, "%d", w.n_string);
    cr_expect_eq(w.n_time, 18, "%d", w.n_time);
}

/* ---------------------------------------------------------------- unknown fields */

Test(codec, unknown_fields_are_kept_but_field_number_0_is_not)
{
    /* Heartbeat{wall_ms: 1, field 15: 5}: a newer peer's field survives a
     * decode and encode (proto2 forward compatibility). */
    static const uint8_t newer[] = {0x32, 0x04, 0x08, 0x01, 0x78, 0x05};
    char why[128];
    Anwang__Envelope *env = NULL;
    cr_assert_eq(aw_codec_envelope_decode(newer, sizeof newer, NULL, &env, why, sizeof why), AW_OK,
                 "%s", why);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(aw_codec_envelope_encode(env, &buf, &len, why, sizeof why), AW_OK);
    cr_expect_eq(len, sizeof newer);
    cr_expect_eq(memcmp(buf, newer, len), 0);
    free(buf);
    aw_codec_envelope_free(&env);

    /* Field number 0 written as a two-byte tag (0x82 0x00): protobuf-c takes
     * it, protobuf forbids it, and it would pack back differently. */
    static const uint8_t zero[] = {0x32, 0x05, 0x08, 0x01, 0x82, 0x00, 0x00};
    cr_expect_eq(aw_codec_envelope_decode(zero, sizeof zero, NULL, &env, why, sizeof why),
                 AW_EDECODE);
    cr_expect_str_eq(why, "envelope.heartbeat: field number 0");
    cr_expect_null(env);
}
