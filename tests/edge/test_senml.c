/* Tests for edge/senml: SenML packs (RFC 8428) in JSON and CBOR (SPEC §3).
 *
 * Most cases are written once as JSON and run in both formats: to_cbor()
 * turns the JSON into SenML CBOR (integer labels, vd as a byte string,
 * integers as CBOR integers, reals as float64), and the two results must
 * agree. Cases only one format can express are written in that format; CBOR
 * ones with the small writer cb_*() over libcbor's encoders.
 *
 * With AW_SENML_WRITE_CORPUS=<dir> set, the test corpus.write_cbor_seeds
 * writes the CBOR fuzz seeds (tests/fuzz/corpus/fuzz_senml_cbor/) there. */
#include <cbor.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "senml.h"

/* 2025-03-01T08:30:00.000Z: the edge's receive time in every test */
#define NOW_MS  INT64_C(1740817800000)
#define NOW_S   INT64_C(1740817800)
#define WHY_LEN 256

/* ---------------------------------------------------------------- helpers */

static aw_senml_opts opts(void)
{
    aw_senml_opts o;

    aw_senml_opts_init(&o, NOW_MS);
    return o;
}

static int parse(const void *buf, size_t len, aw_senml_format fmt, const aw_senml_opts *o,
                 aw_senml_pack **p, char *why)
{
    int rv = aw_senml_parse(buf, len, fmt, o, p, why, WHY_LEN);

    if (rv == AW_OK) {
        cr_assert_not_null(*p);
        cr_assert_str_empty(why);
    } else {
        cr_assert_null(*p, "nothing comes back from a rejected pack");
        cr_assert_str_not_empty(why, "a rejection has a reason");
        cr_assert_null(strchr(why, '\n'), "the reason is one line: %s", why);
    }
    return rv;
}

static int parse_json(const char *json, const aw_senml_opts *o, aw_senml_pack **p, char *why)
{
    return parse(json, strlen(json), AW_SENML_JSON, o, p, why);
}

/* A CBOR writer for test inputs: each call appends one item. */
typedef struct cb {
    uint8_t b[16384];
    size_t n;
} cb;

#define CB_ROOM(c) (c)->b + (c)->n, sizeof(c)->b - (c)->n

static void cb_put(cb *c, size_t k)
{
    cr_assert_gt(k, 0, "CBOR test buffer full");
    c->n += k;
}

static void cb_raw(cb *c, const void *p, size_t n)
{
    cr_assert_leq(n, sizeof c->b - c->n);
    memcpy(c->b + c->n, p, n);
    c->n += n;
}

static void cb_array(cb *c, size_t n)
{
    cb_put(c, cbor_encode_array_start(n, CB_ROOM(c)));
}

static void cb_map(cb *c, size_t n)
{
    cb_put(c, cbor_encode_map_start(n, CB_ROOM(c)));
}

static void cb_int(cb *c, int64_t v)
{
    if (v >= 0)
        cb_put(c, cbor_encode_uint((uint64_t)v, CB_ROOM(c)));
    else
        cb_put(c, cbor_encode_negint((uint64_t)(-1 - v), CB_ROOM(c)));
}

static void cb_textn(cb *c, const char *s, size_t n)
{
    cb_put(c, cbor_encode_string_start(n, CB_ROOM(c)));
    cb_raw(c, s, n);
}

static void cb_text(cb *c, const char *s)
{
    cb_textn(c, s, strlen(s));
}

static void cb_bytes(cb *c, const void *p, size_t n)
{
    cb_put(c, cbor_encode_bytestring_start(n, CB_ROOM(c)));
    cb_raw(c, p, n);
}

static void cb_double(cb *c, double d)
{
    cb_put(c, cbor_encode_double(d, CB_ROOM(c)));
}

/* SenML CBOR labels (RFC 8428 Table 4) */
enum { BVER = -1, BN = -2, BT = -3, BU = -4, BV = -5, BS = -6 };
enum { N = 0, U = 1, V = 2, VS = 3, VB = 4, S = 5, T = 6, UT = 7, VD = 8 };

/* Starts a one-record pack [{0: name, 2: 1.5, ...}] with @p extra more pairs
 * for the caller to append. */
static void cb_record(cb *c, const char *name, size_t extra)
{
    cb_array(c, 1);
    cb_map(c, 2 + extra);
    cb_int(c, N);
    cb_text(c, name);
    cb_int(c, V);
    cb_double(c, 1.5);
}

static int parse_cb(const cb *c, const aw_senml_opts *o, aw_senml_pack **p, char *why)
{
    return parse(c->b, c->n, AW_SENML_CBOR, o, p, why);
}

/* Decodes base64url (test side, to build CBOR vd). */
static size_t b64url(const char *s, uint8_t *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;

    for (; *s; s++) {
        const char *at = strchr(abc, *s);

        if (!at) /* not base64url: the caller sends it as text */
            return SIZE_MAX;
        acc = acc << 6 | (uint32_t)(at - abc);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n;
}

static void to_cbor_value(cb *c, json_t *v, const char *key);

static void to_cbor_label(cb *c, const char *key)
{
    static const struct {
        const char *name;
        int label;
    } labels[] = {{"bver", BVER}, {"bn", BN}, {"bt", BT}, {"bu", BU}, {"bv", BV},
                  {"bs", BS},     {"n", N},   {"u", U},   {"v", V},   {"vs", VS},
                  {"vb", VB},     {"s", S},   {"t", T},   {"ut", UT}, {"vd", VD}};

    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (strcmp(key, labels[i].name) == 0) {
            cb_int(c, labels[i].label);
            return;
        }
    cb_text(c, key);
}

static void to_cbor_string(cb *c, json_t *v, const char *key)
{
    uint8_t data[4096];
    size_t n;

    if (key && strcmp(key, "vd") == 0 && (n = b64url(json_string_value(v), data)) != SIZE_MAX) {
        cb_bytes(c, data, n);
        return;
    }
    cb_textn(c, json_string_value(v), json_string_length(v));
}

static void to_cbor_value(cb *c, json_t *v, const char *key)
{
    const char *k;
    json_t *m;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_ARRAY:
        cb_array(c, json_array_size(v));
        json_array_foreach(v, i, m) to_cbor_value(c, m, NULL);
        break;
    case JSON_OBJECT:
        cb_map(c, json_object_size(v));
        json_object_foreach(v, k, m)
        {
            to_cbor_label(c, k);
            to_cbor_value(c, m, k);
        }
        break;
    case JSON_STRING:
        to_cbor_string(c, v, key);
        break;
    case JSON_INTEGER:
        cb_int(c, json_integer_value(v));
        break;
    case JSON_REAL:
        cb_double(c, json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        cb_put(c, cbor_encode_bool(json_is_true(v), CB_ROOM(c)));
        break;
    case JSON_NULL:
        cb_put(c, cbor_encode_null(CB_ROOM(c)));
        break;
    }
}

/* The SenML CBOR equivalent of a SenML JSON text. */
static void to_cbor(const char *json, cb *c)
{
    json_error_t err;
    json_t *root = json_loads(json, JSON_DECODE_ANY, &err);

    cr_assert_not_null(root, "test JSON: %s", err.text);
    c->n = 0;
    to_cbor_value(c, root, NULL);
    json_decref(root);
}

static int str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void assert_same_reading(const Anwang__Reading *a, const Anwang__Reading *b, size_t i)
{
    cr_assert_str_eq(a->device, b->device, "reading %zu", i);
    cr_assert_str_eq(a->metric, b->metric, "reading %zu", i);
    cr_assert(str_eq(a->unit, b->unit), "reading %zu: unit", i);
    cr_assert_eq(a->has_value, b->has_value, "reading %zu", i);
    cr_assert(!a->has_value || a->value == b->value, "reading %zu: %g vs %g", i, a->value,
              b->value);
    cr_assert(str_eq(a->string_value, b->string_value), "reading %zu: vs", i);
    cr_assert_eq(a->has_bool_value, b->has_bool_value, "reading %zu", i);
    cr_assert_eq(a->bool_value, b->bool_value, "reading %zu", i);
    cr_assert_eq(a->has_data_value, b->has_data_value, "reading %zu", i);
    cr_assert_eq(a->data_value.len, b->data_value.len, "reading %zu", i);
    cr_assert(a->data_value.len == 0 ||
                  memcmp(a->data_value.data, b->data_value.data, a->data_value.len) == 0,
              "reading %zu: vd", i);
    cr_assert_eq(a->has_sum, b->has_sum, "reading %zu", i);
    cr_assert(!a->has_sum || a->sum == b->sum, "reading %zu: sum", i);
    cr_assert_eq(a->time_ms, b->time_ms, "reading %zu", i);
    cr_assert_eq(a->time_from_device, b->time_from_device, "reading %zu", i);
}

/* Parses @p json as JSON and, converted, as CBOR; both must succeed with the
 * same readings. Returns the JSON pack (the caller destroys it). */
static aw_senml_pack *parse_both_with(const char *json, const aw_senml_opts *o)
{
    aw_senml_pack *pj = NULL, *pc = NULL;
    char why[WHY_LEN];
    cb c;

    cr_assert_eq(parse_json(json, o, &pj, why), AW_OK, "JSON: %s", why);
    to_cbor(json, &c);
    cr_assert_eq(parse_cb(&c, o, &pc, why), AW_OK, "CBOR: %s", why);
    cr_assert_eq(pj->n, pc->n);
    for (size_t i = 0; i < pj->n; i++)
        assert_same_reading(&pj->readings[i], &pc->readings[i], i);
    aw_senml_pack_destroy(&pc);
    return pj;
}

static aw_senml_pack *parse_both(const char *json)
{
    aw_senml_opts o = opts();

    return parse_both_with(json, &o);
}

/* Both formats must reject @p json with @p code and a reason containing
 * @p part. */
static void reject_both_with(const char *json, const aw_senml_opts *o, int code, const char *part)
{
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];
    cb c;

    cr_assert_eq(parse_json(json, o, &p, why), code, "JSON %s: got '%s'", json, why);
    cr_assert_not_null(strstr(why, part), "JSON %s: '%s' lacks '%s'", json, why, part);
    to_cbor(json, &c);
    cr_assert_eq(parse_cb(&c, o, &p, why), code, "CBOR of %s: got '%s'", json, why);
    cr_assert_not_null(strstr(why, part), "CBOR of %s: '%s' lacks '%s'", json, why, part);
}

static void reject_both(const char *json, int code, const char *part)
{
    aw_senml_opts o = opts();

    reject_both_with(json, &o, code, part);
}

static void reject_json(const char *json, int code, const char *part)
{
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];

    cr_assert_eq(parse_json(json, &o, &p, why), code, "JSON %s: got '%s'", json, why);
    cr_assert_not_null(strstr(why, part), "JSON %s: '%s' lacks '%s'", json, why, part);
}

static void reject_cb(const cb *c, int code, const char *part)
{
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];

    cr_assert_eq(parse_cb(c, &o, &p, why), code, "got '%s'", why);
    cr_assert_not_null(strstr(why, part), "'%s' lacks '%s'", why, part);
}

/* ---------------------------------------------------------------- usage */

/* Usage: the /readings handler parses the payload with the receive time,
 * stores pack->readings, destroys the pack; a rejection's reason goes into
 * the 4.00 payload. */
Test(senml, usage_example)
{
    const char *payload =
        "[{\"bn\":\"huaxin-t3/\",\"bt\":1740817790,\"bu\":\"m\",\"n\":\"tank-level\",\"v\":7.62},"
        " {\"n\":\"pressure\",\"u\":\"kPa\",\"v\":310.5,\"t\":5}]";
    aw_senml_opts o;
    aw_senml_pack *pack = NULL;
    char why[128];
    int rv;

    aw_senml_opts_init(&o, NOW_MS); /* receive time; defaults: 5 min ahead, 1000 records */
    rv = aw_senml_parse((const uint8_t *)payload, strlen(payload), AW_SENML_JSON, &o, &pack, why,
                        sizeof why);
    cr_assert_eq(rv, AW_OK, "%s", why);
    cr_assert_eq(pack->n, 2);

    const Anwang__Reading *r = &pack->readings[0];
    cr_assert_str_eq(r->device, "huaxin-t3");
    cr_assert_str_eq(r->metric, "tank-level");
    cr_assert_str_eq(r->unit, "m");
    cr_assert(r->has_value);
    cr_assert_float_eq(r->value, 7.62, 1e-12);
    cr_assert_eq(r->time_ms, INT64_C(1740817790000));
    cr_assert(r->has_time_from_device && r->time_from_device);

    r = &pack->readings[1]; /* bn and bt carry over; u overrides bu */
    cr_assert_str_eq(r->device, "huaxin-t3");
    cr_assert_str_eq(r->metric, "pressure");
    cr_assert_str_eq(r->unit, "kPa");
    cr_assert_float_eq(r->value, 310.5, 1e-12);
    cr_assert_eq(r->time_ms, INT64_C(1740817795000));

    aw_senml_pack_destroy(&pack);
    cr_assert_null(pack);
    aw_senml_pack_destroy(&pack); /* safe twice */

    payload = "[{\"n\":\"huaxin-t3/ch4\",\"u\":\"furlong\",\"v\":1}]";
    rv = aw_senml_parse((const uint8_t *)payload, strlen(payload), AW_SENML_JSON, &o, &pack, why,
                        sizeof why);
    cr_assert_eq(rv, AW_EINVAL);
    cr_assert_null(pack);
    cr_assert_str_eq(why, "record 0: u: unit 'furlong' unknown");
}

/* ---------------------------------------------------------------- accepted packs */

Test(senml, single_record_json)
{
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];

    cr_assert_eq(parse_json("[{\"n\":\"gas-7/ch4\",\"u\":\"%LEL\",\"v\":12.5}]", &o, &p, why),
                 AW_OK, "%s", why);
    cr_assert_eq(p->n, 1);
    cr_assert_str_eq(p->readings[0].device, "gas-7");
    cr_assert_str_eq(p->readings[0].metric, "ch4");
    cr_assert_str_eq(p->readings[0].unit, "%LEL");
    cr_assert(p->readings[0].has_value);
    cr_assert_eq(p->readings[0].value, 12.5);
    cr_assert_not(p->readings[0].has_sum);
    cr_assert_null(p->readings[0].string_value);
    cr_assert_not(p->readings[0].has_bool_value);
    cr_assert_not(p->readings[0].has_data_value);
    cr_assert_eq(p->readings[0].time_ms, NOW_MS, "no time: receive time");
    cr_assert(p->readings[0].has_time_from_device);
    cr_assert_not(p->readings[0].time_from_device);
    aw_senml_pack_destroy(&p);
}

Test(senml, single_record_cbor_bytes)
{
    /* [{0: "gas-7/ch4", 1: "%LEL", 2: 12.5 (half float)}] */
    static const uint8_t pack[] = {0x81, 0xa3, 0x00, 0x69, 'g',  'a',  's',  '-',
                                   '7',  '/',  'c',  'h',  '4',  0x01, 0x64, '%',
                                   'L',  'E',  'L',  0x02, 0xf9, 0x4a, 0x40};
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];

    cr_assert_eq(parse(pack, sizeof pack, AW_SENML_CBOR, &o, &p, why), AW_OK, "%s", why);
    cr_assert_eq(p->n, 1);
    cr_assert_str_eq(p->readings[0].device, "gas-7");
    cr_assert_str_eq(p->readings[0].metric, "ch4");
    cr_assert_str_eq(p->readings[0].unit, "%LEL");
    cr_assert_eq(p->readings[0].value, 12.5);
    cr_assert_eq(p->readings[0].time_ms, NOW_MS);
    cr_assert_not(p->readings[0].time_from_device);
    aw_senml_pack_destroy(&p);
}

Test(senml, base_fields_carry_over_and_are_overridden)
{
    aw_senml_pack *p =
        parse_both("[{\"bn\":\"dam-1/\",\"bt\":1740817700,\"bu\":\"m\",\"bv\":100,\"bs\":1000,"
                   "  \"n\":\"water-level\",\"v\":2.5,\"s\":1},"
                   " {\"n\":\"phreatic-line\",\"v\":-1.25,\"t\":10},"
                   " {\"bn\":\"dam-2/"
                   "\",\"bu\":\"mm\",\"bv\":0,\"n\":\"displacement\",\"v\":3,\"t\":20,\"s\":5},"
                   " {\"bt\":1740817750,\"n\":\"water-level\",\"u\":\"m\",\"v\":1}]");
    const Anwang__Reading *r = p->readings;

    cr_assert_eq(p->n, 4);
    cr_assert_str_eq(r[0].device, "dam-1");
    cr_assert_str_eq(r[0].metric, "water-level");
    cr_assert_str_eq(r[0].unit, "m");
    cr_assert_eq(r[0].value, 102.5, "bv + v");
    cr_assert(r[0].has_sum);
    cr_assert_eq(r[0].sum, 1001.0, "bs + s");
    cr_assert_eq(r[0].time_ms, INT64_C(1740817700000));

    cr_assert_str_eq(r[1].device, "dam-1");
    cr_assert_str_eq(r[1].metric, "phreatic-line");
    cr_assert_str_eq(r[1].unit, "m");
    cr_assert_eq(r[1].value, 98.75);
    cr_assert_not(r[1].has_sum, "bs alone makes no sum");
    cr_assert_eq(r[1].time_ms, INT64_C(1740817710000), "bt + t");

    cr_assert_str_eq(r[2].device, "dam-2");
    cr_assert_str_eq(r[2].unit, "mm");
    cr_assert_eq(r[2].value, 3.0, "bv set to 0 in this record applies to it");
    cr_assert_eq(r[2].sum, 1005.0, "bs still in force");
    cr_assert_eq(r[2].time_ms, INT64_C(1740817720000));

    cr_assert_str_eq(r[3].device, "dam-2");
    cr_assert_str_eq(r[3].unit, "m", "u overrides bu for its record only");
    cr_assert_eq(r[3].value, 1.0);
    cr_assert_eq(r[3].time_ms, INT64_C(1740817750000), "new bt applies to its own record");
    aw_senml_pack_destroy(&p);
}

Test(senml, unit_is_optional_and_bu_applies_until_changed)
{
    aw_senml_pack *p = parse_both("[{\"n\":\"s1/count\",\"v\":1},"
                                  " {\"bu\":\"Cel\",\"n\":\"s1/temperature\",\"v\":21},"
                                  " {\"n\":\"s1/temp2\",\"v\":22}]");

    cr_assert_null(p->readings[0].unit);
    cr_assert_str_eq(p->readings[1].unit, "Cel");
    cr_assert_str_eq(p->readings[2].unit, "Cel");
    aw_senml_pack_destroy(&p);
}

Test(senml, relative_and_absolute_time)
{
    aw_senml_pack *p = parse_both("[{\"n\":\"d/a\",\"v\":1,\"t\":-10},"
                                  " {\"n\":\"d/b\",\"v\":1,\"t\":-0.5},"
                                  " {\"n\":\"d/c\",\"v\":1,\"t\":60},"
                                  " {\"n\":\"d/d\",\"v\":1,\"t\":1740817799.123},"
                                  " {\"n\":\"d/e\",\"v\":1,\"t\":268435456},"
                                  " {\"bt\":-60,\"n\":\"d/f\",\"v\":1,\"t\":10},"
                                  " {\"bt\":1740817700,\"n\":\"d/g\",\"v\":1,\"t\":-5}]");
    const Anwang__Reading *r = p->readings;

    cr_assert_eq(r[0].time_ms, NOW_MS - 10000, "negative: seconds before now");
    cr_assert_eq(r[1].time_ms, NOW_MS - 500, "fractions of a second");
    cr_assert_eq(r[2].time_ms, NOW_MS + 60000, "a little ahead is allowed");
    cr_assert_eq(r[3].time_ms, INT64_C(1740817799123), "absolute, with ms");
    cr_assert_eq(r[4].time_ms, INT64_C(268435456000), "2^28 is the first absolute time");
    cr_assert_eq(r[5].time_ms, NOW_MS - 50000, "bt + t relative");
    cr_assert_eq(r[6].time_ms, INT64_C(1740817695000), "absolute bt + negative t");
    for (size_t i = 0; i < p->n; i++)
        cr_assert(r[i].time_from_device, "reading %zu", i);
    aw_senml_pack_destroy(&p);
}

Test(senml, missing_time_is_receive_time)
{
    aw_senml_pack *p = parse_both("[{\"n\":\"d/a\",\"v\":1},"
                                  " {\"n\":\"d/b\",\"v\":1,\"t\":0},"
                                  " {\"bt\":1740817790,\"n\":\"d/c\",\"v\":1}]");

    cr_assert_eq(p->readings[0].time_ms, NOW_MS);
    cr_assert_not(p->readings[0].time_from_device);
    cr_assert_eq(p->readings[1].time_ms, NOW_MS, "t 0 is now");
    cr_assert_not(p->readings[1].time_from_device);
    cr_assert_eq(p->readings[2].time_ms, INT64_C(1740817790000), "bt alone is a time");
    cr_assert(p->readings[2].time_from_device);
    aw_senml_pack_destroy(&p);
}

Test(senml, version)
{
    aw_senml_pack *p;

    p = parse_both("[{\"bver\":10,\"n\":\"d/m\",\"v\":1},{\"n\":\"d/m\",\"v\":2,\"bver\":10}]");
    aw_senml_pack_destroy(&p);
    p = parse_both("[{\"bver\":5,\"n\":\"d/m\",\"v\":1}]");
    aw_senml_pack_destroy(&p);
    /* RFC 9100: 26 = version 10 + feature 4 (secondary units), which we have */
    p = parse_both("[{\"bver\":26,\"n\":\"d/m\",\"u\":\"ppm\",\"v\":1}]");
    aw_senml_pack_destroy(&p);
    p = parse_both("[{\"n\":\"d/m\",\"v\":1},{\"bver\":10,\"n\":\"d/m\",\"v\":2}]");
    aw_senml_pack_destroy(&p);

    reject_both("[{\"bver\":11,\"n\":\"d/m\",\"v\":1}]", AW_EINVAL,
                "record 0: bver: version 11 not supported");
    reject_both("[{\"bver\":42,\"n\":\"d/m\",\"v\":1}]", AW_EINVAL, "version 42 not supported");
    reject_both("[{\"bver\":0,\"n\":\"d/m\",\"v\":1}]", AW_EINVAL, "version 0 not supported");
    reject_both("[{\"bver\":-1,\"n\":\"d/m\",\"v\":1}]", AW_EINVAL, "bver: not an unsigned");
    reject_both("[{\"bver\":\"10\",\"n\":\"d/m\",\"v\":1}]", AW_EINVAL, "bver: not an unsigned");
    reject_both("[{\"bver\":10,\"n\":\"d/m\",\"v\":1},{\"bver\":9,\"n\":\"d/m\",\"v\":1}]",
                AW_EINVAL, "record 1: bver: 9 differs");
    reject_both("[{\"n\":\"d/m\",\"v\":1},{\"bver\":9,\"n\":\"d/m\",\"v\":1}]", AW_EINVAL,
                "record 1: bver: 9 differs from version 10");
    reject_json("[{\"bver\":10.5,\"n\":\"d/m\",\"v\":1}]", AW_EINVAL, "bver: not an unsigned");
}

Test(senml, string_bool_data_and_sum_values)
{
    aw_senml_pack *p = parse_both("[{\"bn\":\"siren-1/\",\"n\":\"state\",\"vs\":\"待命 standby\"},"
                                  " {\"n\":\"armed\",\"vb\":true},"
                                  " {\"n\":\"fault\",\"vb\":false},"
                                  " {\"n\":\"blob\",\"vd\":\"AQID_w\"},"
                                  " {\"n\":\"empty\",\"vd\":\"\"},"
                                  " {\"n\":\"energy\",\"u\":\"kWh\",\"s\":1234.5},"
                                  " {\"n\":\"flow\",\"u\":\"l/s\",\"v\":2,\"s\":30}]");
    const Anwang__Reading *r = p->readings;
    static const uint8_t blob[] = {1, 2, 3, 0xff};

    cr_assert_str_eq(r[0].string_value, "待命 standby");
    cr_assert_not(r[0].has_value);
    cr_assert(r[1].has_bool_value && r[1].bool_value);
    cr_assert(r[2].has_bool_value && !r[2].bool_value);
    cr_assert(r[3].has_data_value);
    cr_assert_eq(r[3].data_value.len, sizeof blob);
    cr_assert_arr_eq(r[3].data_value.data, blob, sizeof blob);
    cr_assert(r[4].has_data_value);
    cr_assert_eq(r[4].data_value.len, 0);
    cr_assert(r[5].has_sum && !r[5].has_value, "a sum without a value is a record");
    cr_assert_eq(r[5].sum, 1234.5);
    cr_assert(r[6].has_sum && r[6].has_value);
    for (size_t i = 0; i < 5; i++)
        cr_assert_not(r[i].has_sum);
    aw_senml_pack_destroy(&p);
}

Test(senml, unknown_fields_are_ignored)
{
    aw_senml_pack *p =
        parse_both("[{\"n\":\"d/m\",\"v\":1,\"foo\":{\"a\":[1,2,{\"b\":null}],\"c\":\"x\"},"
                   "  \"vendor-note\":\"ok\",\"x_y\":2}]");

    cr_assert_eq(p->n, 1);
    cr_assert_eq(p->readings[0].value, 1.0);
    aw_senml_pack_destroy(&p);
}

Test(senml, device_ids_and_metrics_at_their_limits)
{
    char json[512];
    aw_senml_pack *p;
    char id[AW_SENML_ID_MAX + 1];

    memset(id, 'a', AW_SENML_ID_MAX);
    id[AW_SENML_ID_MAX] = '\0';
    snprintf(json, sizeof json,
             "[{\"bn\":\"%s/\",\"n\":\"%s\",\"v\":1},{\"n\":\"x.y_z-0\",\"v\":1},"
             " {\"bn\":\"\",\"n\":\"0.d_e-v/m\",\"v\":1}]",
             id, id);
    p = parse_both(json);
    cr_assert_str_eq(p->readings[0].device, id);
    cr_assert_str_eq(p->readings[0].metric, id);
    cr_assert_str_eq(p->readings[1].metric, "x.y_z-0");
    cr_assert_str_eq(p->readings[2].device, "0.d_e-v");
    aw_senml_pack_destroy(&p);
}

/* Name parts from bn and n may be split anywhere, and a long bn shared by
 * many records must fit the pack's single allocation. */
Test(senml, many_records_share_a_long_base_name)
{
    aw_senml_opts o = opts();
    size_t cap = 64 * 1024, off = 0;
    char *json = malloc(cap);
    char metric[AW_SENML_ID_MAX + 1];
    aw_senml_pack *p;

    off += (size_t)snprintf(json + off, cap - off, "[{\"bn\":\"dev/%.63s\",\"n\":\"0\",\"v\":0}",
                            "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm");
    for (int i = 1; i < 1000; i++)
        off += (size_t)snprintf(json + off, cap - off, ",{\"n\":\"%d\",\"v\":%d}", i % 10, i);
    snprintf(json + off, cap - off, "]");
    p = parse_both_with(json, &o);
    cr_assert_eq(p->n, 1000);
    for (size_t i = 0; i < p->n; i++) {
        snprintf(metric, sizeof metric, "%.63s%zu",
                 "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", i % 10);
        cr_assert_str_eq(p->readings[i].device, "dev");
        cr_assert_str_eq(p->readings[i].metric, metric);
        cr_assert_eq(p->readings[i].value, (double)i);
    }
    aw_senml_pack_destroy(&p);
    free(json);
}

/* ---------------------------------------------------------------- rejections, both formats */

Test(senml, rejects_bad_pack_shapes)
{
    reject_both("[]", AW_EINVAL, "empty pack");
    reject_both("{\"n\":\"d/m\",\"v\":1}", AW_EINVAL, "top level is not an array");
    reject_both("42", AW_EINVAL, "top level is not an array");
    reject_both("[{\"n\":\"d/m\",\"v\":1},1]", AW_EINVAL, "record 1: not a");
    reject_both("[[]]", AW_EINVAL, "record 0: not a");
}

Test(senml, rejects_unknown_mandatory_field)
{
    reject_both("[{\"n\":\"d/m\",\"v\":1},{\"n\":\"d/m\",\"v\":1,\"foo_\":1}]", AW_EINVAL,
                "record 1: unknown mandatory field 'foo_'");
}

Test(senml, rejects_unknown_units)
{
    reject_both("[{\"n\":\"d/m\",\"v\":1},{\"n\":\"d/m\",\"v\":1},{\"n\":\"d/m\",\"u\":\"furlong\","
                "\"v\":1}]",
                AW_EINVAL, "record 2: u: unit 'furlong' unknown");
    reject_both("[{\"bu\":\"furlong\",\"n\":\"d/m\",\"u\":\"m\",\"v\":1}]", AW_EINVAL,
                "record 0: bu: unit 'furlong' unknown");
    reject_both("[{\"n\":\"d/m\",\"u\":\"cel\",\"v\":1}]", AW_EINVAL, "unit 'cel' unknown");
    reject_both("[{\"n\":\"d/m\",\"u\":\"\",\"v\":1}]", AW_EINVAL, "unit '' unknown");
    reject_both("[{\"n\":\"d/m\",\"u\":\"m\\n\",\"v\":1}]", AW_EINVAL, "unit 'm\\x0a' unknown");
}

Test(senml, rejects_records_without_exactly_one_value)
{
    reject_both("[{\"n\":\"d/m\"}]", AW_EINVAL, "record 0: no value (v, vs, vb or vd) and no sum");
    reject_both("[{\"bn\":\"d/\",\"n\":\"x\",\"bt\":1740817700,\"bv\":1},{\"n\":\"m\",\"v\":1}]",
                AW_EINVAL, "record 0: no value");
    reject_both("[{\"n\":\"d/m\",\"v\":1,\"vs\":\"x\"}]", AW_EINVAL,
                "more than one of v, vs, vb, vd");
    reject_both("[{\"n\":\"d/m\",\"vb\":true,\"vd\":\"AA\",\"s\":1}]", AW_EINVAL, "more than one");
}

Test(senml, rejects_bad_names)
{
    reject_both("[{\"v\":1}]", AW_EINVAL, "record 0: name missing");
    reject_both("[{\"n\":\"dm\",\"v\":1}]", AW_EINVAL, "name 'dm' is not <device-id>/<metric>");
    reject_both("[{\"n\":\"a/b/c\",\"v\":1}]", AW_EINVAL, "with one '/'");
    reject_both("[{\"bn\":\"a/\",\"n\":\"b/c\",\"v\":1}]", AW_EINVAL, "name 'a/b/c'");
    reject_both("[{\"n\":\"Gas-7/ch4\",\"v\":1}]", AW_EINVAL, "device id must be");
    reject_both("[{\"n\":\"-gas/ch4\",\"v\":1}]", AW_EINVAL, "starting with [a-z0-9]");
    reject_both("[{\"n\":\"/ch4\",\"v\":1}]", AW_EINVAL, "device id must be");
    reject_both("[{\"n\":\"gas-7/CH4\",\"v\":1}]", AW_EINVAL, "metric must be");
    reject_both("[{\"n\":\"gas-7/\",\"v\":1}]", AW_EINVAL, "metric must be");
    reject_both("[{\"n\":\"gas 7/ch4\",\"v\":1}]", AW_EINVAL, "device id must be");
    reject_both("[{\"n\":\"气体/ch4\",\"v\":1}]", AW_EINVAL, "name '\\xe6\\xb0\\x94");
    reject_both("[{\"bn\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/\","
                "\"n\":\"m\",\"v\":1}]",
                AW_EINVAL, "device id must be");
    reject_both("[{\"bn\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/\","
                "\"n\":\"mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm\","
                "\"v\":1}]",
                AW_EINVAL, "too long");
}

Test(senml, rejects_wrong_field_types)
{
    reject_both("[{\"n\":\"d/m\",\"v\":\"1\"}]", AW_EINVAL, "record 0: v: not a number");
    reject_both("[{\"n\":\"d/m\",\"v\":1,\"t\":true}]", AW_EINVAL, "t: not a number");
    reject_both("[{\"n\":\"d/m\",\"vb\":1}]", AW_EINVAL, "vb: not a boolean");
    reject_both("[{\"n\":5,\"v\":1}]", AW_EINVAL, "n: not a");
    reject_both("[{\"n\":\"d/m\",\"vs\":null}]", AW_EINVAL, "vs: not a");
    reject_both("[{\"n\":\"d/m\",\"v\":1,\"u\":[\"m\"]}]", AW_EINVAL, "u: not a");
    reject_both("[{\"n\":\"d/m\",\"v\":1,\"ut\":\"x\"}]", AW_EINVAL, "ut: not a number");
}

Test(senml, rejects_sums_that_overflow)
{
    reject_both("[{\"n\":\"d/m\",\"bv\":1e308,\"v\":1e308}]", AW_ENOTFINITE,
                "record 0: v: bv + v is not finite");
    reject_both("[{\"n\":\"d/m\",\"bs\":-1e308,\"s\":-1e308}]", AW_ENOTFINITE,
                "s: bs + s is not finite");
    reject_both("[{\"n\":\"d/m\",\"v\":1,\"bt\":1e308,\"t\":1e308}]", AW_ENOTFINITE,
                "t: bt + t is not finite");
}

Test(senml, rejects_time_far_in_the_future)
{
    aw_senml_opts o = opts();
    char json[128];
    aw_senml_pack *p;

    reject_both("[{\"n\":\"d/m\",\"v\":1,\"t\":301}]", AW_ERANGE,
                "record 0: t: time far in the future");
    snprintf(json, sizeof json, "[{\"n\":\"d/m\",\"v\":1,\"t\":%" PRId64 "}]", NOW_S + 301);
    reject_both(json, AW_ERANGE, "time far in the future");
    reject_both("[{\"n\":\"d/m\",\"v\":1,\"t\":1e300}]", AW_ERANGE, "time far in the future");
    reject_both("[{\"n\":\"d/m\",\"v\":1,\"t\":268435455}]", AW_ERANGE,
                "time far in the future"); /* the last relative time: 8.5 years ahead */
    reject_both("[{\"n\":\"d/m\",\"v\":1,\"t\":-2e9}]", AW_ERANGE, "before 1970");

    snprintf(json, sizeof json, "[{\"n\":\"d/m\",\"v\":1,\"t\":%" PRId64 "}]", NOW_S + 299);
    p = parse_both(json);
    cr_assert_eq(p->readings[0].time_ms, NOW_MS + 299000);
    aw_senml_pack_destroy(&p);

    o.max_future_ms = 0; /* the limit is a parameter */
    reject_both_with("[{\"n\":\"d/m\",\"v\":1,\"t\":1}]", &o, AW_ERANGE, "limit 0 ms");
    o.max_future_ms = 3600 * 1000;
    p = parse_both_with("[{\"n\":\"d/m\",\"v\":1,\"t\":3600}]", &o);
    cr_assert_eq(p->readings[0].time_ms, NOW_MS + 3600000);
    aw_senml_pack_destroy(&p);
}

Test(senml, rejects_too_many_records_and_long_strings)
{
    aw_senml_opts o = opts();

    o.max_records = 2;
    reject_both_with("[{\"n\":\"d/m\",\"v\":1},{\"n\":\"d/m\",\"v\":1},{\"n\":\"d/m\",\"v\":1}]",
                     &o, AW_ETOOBIG, "3 records, limit 2");
    o = opts();
    o.max_string = 8;
    reject_both_with("[{\"n\":\"d/m\",\"vs\":\"123456789\"}]", &o, AW_ETOOBIG,
                     "record 0: vs: 9 bytes, limit 8");
    reject_both_with("[{\"bn\":\"device-1/\",\"n\":\"m\",\"v\":1}]", &o, AW_ETOOBIG,
                     "bn: 9 bytes, limit 8");
    reject_both_with("[{\"n\":\"d/m\",\"vd\":\"AAAAAAAAAAAA\"}]", &o, AW_ETOOBIG,
                     "vd: 9 bytes, limit 8");
    /* the limit counts vd's decoded bytes, not its base64 text */
    aw_senml_pack *p = parse_both_with("[{\"n\":\"d/m\",\"vd\":\"AAAAAAAAAAE\"}]", &o);
    cr_assert_eq(p->readings[0].data_value.len, 8);
    aw_senml_pack_destroy(&p);
    p = parse_both_with("[{\"n\":\"d/m\",\"vs\":\"12345678\"}]", &o);
    aw_senml_pack_destroy(&p);
}

Test(senml, a_bad_record_rejects_the_whole_pack)
{
    aw_senml_opts o = opts();
    aw_senml_pack *p = (aw_senml_pack *)&o; /* not NULL: must be cleared */
    char why[WHY_LEN];
    const char *json =
        "[{\"n\":\"d/a\",\"v\":1},{\"n\":\"d/b\",\"v\":2},{\"n\":\"d/c\",\"v\":\"x\"}]";

    cr_assert_eq(
        aw_senml_parse((const uint8_t *)json, strlen(json), AW_SENML_JSON, &o, &p, why, sizeof why),
        AW_EINVAL);
    cr_assert_null(p);
    cr_assert_str_eq(why, "record 2: v: not a number");
}

/* ---------------------------------------------------------------- JSON only */

Test(senml, json_rejects_what_is_not_json)
{
    reject_json("", AW_EDECODE, "JSON: ");
    reject_json("hello", AW_EDECODE, "JSON: ");
    reject_json("[{\"n\":\"d/m\",\"v\":NaN}]", AW_EDECODE, "JSON: ");
    reject_json("[{\"n\":\"d/m\",\"v\":1}] x", AW_EDECODE, "JSON: ");
}

Test(senml, json_rejects_a_nul_byte_after_the_pack)
{
    static const char pack[] = "[{\"n\":\"d/m\",\"v\":1}]";
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];

    cr_assert_eq(parse(pack, sizeof pack, AW_SENML_JSON, &o, &p, why), AW_EDECODE, "%s", why);
}

Test(senml, json_rejects_every_truncation)
{
    const char *json = "[{\"bn\":\"d/\",\"n\":\"m\",\"v\":1.5,\"t\":-1,\"vs\":\"x\"}]";
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];

    for (size_t len = 0; len < strlen(json); len++)
        cr_assert_eq(parse(json, len, AW_SENML_JSON, &o, &p, why), AW_EDECODE, "%zu bytes: %s", len,
                     why);
}

Test(senml, json_rejects_numbers_out_of_range)
{
    reject_json("[{\"n\":\"d/m\",\"v\":1e999}]", AW_ENOTFINITE, "JSON: ");
    reject_json("[{\"n\":\"d/m\",\"v\":-1e999}]", AW_ENOTFINITE, "JSON: ");
    reject_json("[{\"n\":\"d/m\",\"v\":1,\"t\":1e400}]", AW_ENOTFINITE, "JSON: ");
}

Test(senml, json_large_integers_are_numbers)
{
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];

    cr_assert_eq(parse_json("[{\"n\":\"d/m\",\"v\":123456789012345678901234567890}]", &o, &p, why),
                 AW_OK, "%s", why);
    cr_assert_float_eq(p->readings[0].value, 1.2345678901234568e29, 1e15);
    aw_senml_pack_destroy(&p);
}

Test(senml, json_rejects_bad_utf8_and_nul)
{
    reject_json("[{\"n\":\"d/m\",\"vs\":\"\xc3\x28\"}]", AW_EUTF8, "JSON: ");
    reject_json("[{\"n\":\"d/m\",\"vs\":\"\xed\xa0\x80\"}]", AW_EUTF8, "JSON: ");
    reject_json("[{\"n\":\"d/m\",\"vs\":\"a\\u0000b\"}]", AW_EUTF8, "JSON: ");
    reject_json("[{\"n\":\"d/m\",\"v\":1,\"x\\u0000_\":1}]", AW_EUTF8, "JSON: ");
}

Test(senml, json_rejects_duplicate_keys)
{
    reject_json("[{\"n\":\"d/m\",\"v\":1,\"v\":2}]", AW_EINVAL, "JSON: duplicate");
}

Test(senml, json_vd_is_canonical_base64url_without_padding)
{
    reject_json("[{\"n\":\"d/m\",\"vd\":\"AQID/w\"}]", AW_EINVAL, "record 0: vd: not base64url");
    reject_json("[{\"n\":\"d/m\",\"vd\":\"AQID+w\"}]", AW_EINVAL, "vd: not base64url");
    reject_json("[{\"n\":\"d/m\",\"vd\":\"AQID_w==\"}]", AW_EINVAL, "vd: not base64url");
    reject_json("[{\"n\":\"d/m\",\"vd\":\"AQID_x\"}]", AW_EINVAL, "vd: not base64url");
    reject_json("[{\"n\":\"d/m\",\"vd\":\"AQIDB\"}]", AW_EINVAL, "vd: not base64url");
    reject_json("[{\"n\":\"d/m\",\"vd\":\"AQ ID\"}]", AW_EINVAL, "vd: not base64url");
    reject_json("[{\"n\":\"d/m\",\"vd\":1}]", AW_EINVAL, "vd: not a string");
}

Test(senml, json_bver_may_be_written_as_a_real)
{
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];

    cr_assert_eq(parse_json("[{\"bver\":10.0,\"n\":\"d/m\",\"v\":1}]", &o, &p, why), AW_OK, "%s",
                 why);
    aw_senml_pack_destroy(&p);
}

/* ---------------------------------------------------------------- CBOR only */

Test(senml, cbor_rejects_nan_and_infinities)
{
    static const uint8_t nan16[] = {0xf9, 0x7e, 0x00};
    static const uint8_t nan64[] = {0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0};
    static const uint8_t inf16[] = {0xf9, 0x7c, 0x00};
    static const uint8_t ninf32[] = {0xfa, 0xff, 0x80, 0x00, 0x00};
    cb c = {.n = 0};

    cb_record(&c, "d/m", 1);
    cb_int(&c, BV);
    cb_raw(&c, nan16, sizeof nan16);
    reject_cb(&c, AW_ENOTFINITE, "record 0: bv: NaN");

    c.n = 0;
    cb_array(&c, 1);
    cb_map(&c, 2);
    cb_int(&c, N);
    cb_text(&c, "d/m");
    cb_int(&c, V);
    cb_raw(&c, nan64, sizeof nan64);
    reject_cb(&c, AW_ENOTFINITE, "record 0: v: NaN");

    c.n = 0;
    cb_record(&c, "d/m", 1);
    cb_int(&c, T);
    cb_raw(&c, inf16, sizeof inf16);
    reject_cb(&c, AW_ENOTFINITE, "t: Infinity");

    c.n = 0;
    cb_record(&c, "d/m", 1);
    cb_int(&c, UT);
    cb_raw(&c, ninf32, sizeof ninf32);
    reject_cb(&c, AW_ENOTFINITE, "ut: -Infinity");
}

Test(senml, cbor_rejects_bad_utf8)
{
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        {"\xff", 1},
        {"\xc3\x28", 2},
        {"\xc0\xaf", 2},         /* overlong '/' */
        {"\xed\xa0\x80", 3},     /* surrogate */
        {"\xf4\x90\x80\x80", 4}, /* above U+10FFFF */
        {"a\0b", 3},             /* NUL */
        {"\xe6\xb0", 2},         /* cut short */
    };
    cb c;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c.n = 0;
        cb_array(&c, 1);
        cb_map(&c, 2);
        cb_int(&c, N);
        cb_text(&c, "d/m");
        cb_int(&c, VS);
        cb_textn(&c, bad[i].s, bad[i].len);
        reject_cb(&c, AW_EUTF8, "record 0: vs: invalid UTF-8");
    }
    c.n = 0;
    cb_array(&c, 1);
    cb_map(&c, 2);
    cb_int(&c, N);
    cb_textn(&c, "d/\xff", 3);
    cb_int(&c, V);
    cb_int(&c, 1);
    reject_cb(&c, AW_EUTF8, "n: invalid UTF-8");

    c.n = 0;
    cb_record(&c, "d/m", 1);
    cb_textn(&c, "x\xff", 2);
    cb_int(&c, 1);
    reject_cb(&c, AW_EUTF8, "label: invalid UTF-8");
}

Test(senml, cbor_accepts_valid_utf8)
{
    cb c = {.n = 0};
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];
    const char *s = "\xc2\xa9 \xe6\xb0\x94 \xf0\x9f\x94\xa5 \xef\xbf\xbf \xf4\x8f\xbf\xbf";

    cb_array(&c, 1);
    cb_map(&c, 2);
    cb_int(&c, N);
    cb_text(&c, "d/m");
    cb_int(&c, VS);
    cb_text(&c, s);
    cr_assert_eq(parse_cb(&c, &o, &p, why), AW_OK, "%s", why);
    cr_assert_str_eq(p->readings[0].string_value, s);
    aw_senml_pack_destroy(&p);
}

Test(senml, cbor_rejects_every_truncation_and_trailing_bytes)
{
    cb c;
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];

    to_cbor(
        "[{\"bn\":\"d/\",\"n\":\"m\",\"v\":1.5,\"t\":-1},{\"n\":\"x\",\"vs\":\"abc\",\"foo\":[1]}]",
        &c);
    for (size_t len = 0; len < c.n; len++)
        cr_assert_eq(parse(c.b, len, AW_SENML_CBOR, &o, &p, why), AW_EDECODE, "%zu bytes: %s", len,
                     why);
    cr_assert_eq(parse(c.b, c.n, AW_SENML_CBOR, &o, &p, why), AW_OK, "%s", why);
    aw_senml_pack_destroy(&p);
    cb_int(&c, 0);
    reject_cb(&c, AW_EDECODE, "CBOR: 1 bytes after the pack");
}

Test(senml, cbor_rejects_malformed_items)
{
    static const uint8_t reserved[] = {0x81, 0xa1, 0x1c, 0x00, 0x00};
    static const uint8_t huge_array[] = {0x9b, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t huge_map[] = {0x81, 0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t break_in_map[] = {0x81, 0xa2, 0x00, 0x63, 'd', '/', 'm', 0xff};
    cb c = {.n = 0};

    cb_raw(&c, reserved, sizeof reserved);
    reject_cb(&c, AW_EDECODE, "CBOR: malformed");
    c.n = 0;
    cb_raw(&c, huge_array, sizeof huge_array);
    reject_cb(&c, AW_EDECODE, "longer than the input");
    c.n = 0;
    cb_raw(&c, huge_map, sizeof huge_map);
    reject_cb(&c, AW_EDECODE, "record 0: CBOR: map longer than the input");
    c.n = 0;
    cb_raw(&c, break_in_map, sizeof break_in_map);
    reject_cb(&c, AW_EDECODE, "unexpected break");
    c.n = 0;
    cb_record(&c, "d/m", 1);
    cb_int(&c, 100);
    cb_raw(&c, (const uint8_t[]){0x9b, 0, 0, 0, 1, 0, 0, 0, 0}, 9); /* unknown field: array */
    reject_cb(&c, AW_EDECODE, "container longer than the input");
}

Test(senml, cbor_needs_a_definite_length_pack)
{
    cb c = {.n = 0};

    cb_put(&c, cbor_encode_indef_array_start(CB_ROOM(&c)));
    cb_map(&c, 2);
    cb_int(&c, N);
    cb_text(&c, "d/m");
    cb_int(&c, V);
    cb_int(&c, 1);
    cb_put(&c, cbor_encode_break(CB_ROOM(&c)));
    reject_cb(&c, AW_EINVAL, "indefinite-length array");
}

Test(senml, cbor_accepts_indefinite_maps_tags_and_number_forms)
{
    static const uint8_t self_describe[] = {0xd9, 0xd9, 0xf7};
    static const uint8_t dec_12_34[] = {0xc4, 0x82, 0x21, 0x19, 0x04, 0xd2}; /* 4([-2, 1234]) */
    static const uint8_t dec_m5e3[] = {0xc4, 0x82, 0x03, 0x24};              /* 4([3, -5]) */
    static const uint8_t f32_0_25[] = {0xfa, 0x3e, 0x80, 0x00, 0x00};
    cb c = {.n = 0};
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];

    cb_raw(&c, self_describe, sizeof self_describe);
    cb_array(&c, 4);
    cb_put(&c, cbor_encode_indef_map_start(CB_ROOM(&c)));
    cb_int(&c, BN);
    cb_text(&c, "d/");
    cb_int(&c, N);
    cb_text(&c, "a");
    cb_int(&c, V);
    cb_raw(&c, dec_12_34, sizeof dec_12_34);
    cb_put(&c, cbor_encode_break(CB_ROOM(&c)));
    cb_map(&c, 2);
    cb_int(&c, N);
    cb_text(&c, "b");
    cb_int(&c, V);
    cb_raw(&c, dec_m5e3, sizeof dec_m5e3);
    cb_map(&c, 3);
    cb_int(&c, N);
    cb_text(&c, "c");
    cb_int(&c, V);
    cb_raw(&c, f32_0_25, sizeof f32_0_25);
    cb_int(&c, T);
    cb_int(&c, -3);
    cb_map(&c, 2);
    cb_int(&c, N);
    cb_text(&c, "d");
    cb_int(&c, V);
    cb_put(&c, cbor_encode_negint(UINT64_MAX, CB_ROOM(&c)));

    cr_assert_eq(parse_cb(&c, &o, &p, why), AW_OK, "%s", why);
    cr_assert_eq(p->n, 4);
    cr_assert_eq(p->readings[0].value, 12.34, "decimal fraction, nearest double");
    cr_assert_eq(p->readings[1].value, -5000.0);
    cr_assert_eq(p->readings[2].value, 0.25);
    cr_assert_eq(p->readings[2].time_ms, NOW_MS - 3000);
    cr_assert_eq(p->readings[3].value, -18446744073709551616.0);
    aw_senml_pack_destroy(&p);
}

Test(senml, cbor_rejects_bad_decimal_fractions)
{
    static const uint8_t one_member[] = {0xc4, 0x81, 0x01};
    static const uint8_t float_member[] = {0xc4, 0x82, 0x01, 0xf9, 0x3c, 0x00};
    static const uint8_t bignum[] = {0xc4, 0x82, 0x01, 0xc2, 0x41, 0x01};
    static const uint8_t too_big[] = {0xc4, 0x82, 0x19, 0x03, 0xe8, 0x01}; /* 1e1000 */
    static const uint8_t other_tag[] = {0xc1, 0x01};                       /* epoch time tag */
    const struct {
        const uint8_t *b;
        size_t n;
        int code;
        const char *why;
    } cases[] = {
        {one_member, sizeof one_member, AW_EINVAL, "v: decimal fraction is not"},
        {float_member, sizeof float_member, AW_EINVAL, "members must be integers"},
        {bignum, sizeof bignum, AW_EINVAL, "members must be integers"},
        {too_big, sizeof too_big, AW_ENOTFINITE, "v: Infinity"},
        {other_tag, sizeof other_tag, AW_EINVAL, "v: not a number"},
    };
    cb c;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        c.n = 0;
        cb_array(&c, 1);
        cb_map(&c, 2);
        cb_int(&c, N);
        cb_text(&c, "d/m");
        cb_int(&c, V);
        cb_raw(&c, cases[i].b, cases[i].n);
        reject_cb(&c, cases[i].code, cases[i].why);
    }
}

Test(senml, cbor_skips_unknown_labels_with_any_value)
{
    static const uint8_t nested[] = {
        0x9f, 0xa1, 0x01, 0x5f, 0x41, 0x00, 0x40, 0xff, /* [_ {1: (_ h'00', h'')}, */
        0xc1, 0x1a, 0x67, 0xc2, 0xc5, 0x88,             /*    1(1740817800),       */
        0x7f, 0x61, 'x',  0xff,                         /*    (_ "x"),             */
        0xbf, 0x01, 0xf6, 0xff, 0xf7, 0xff,             /*    {_ 1: null}, undefined] */
    };
    cb c = {.n = 0};
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];

    cb_record(&c, "d/m", 4);
    cb_int(&c, 9); /* unassigned integer labels: unknown, not mandatory */
    cb_raw(&c, nested, sizeof nested);
    cb_int(&c, -7);
    cb_textn(&c, "\xff", 1); /* ignored values are not checked for UTF-8 */
    cb_text(&c, "vendor");
    cb_double(&c, NAN); /* nor for finiteness */
    cb_put(&c, cbor_encode_indef_string_start(CB_ROOM(&c)));
    cb_text(&c, "long-");
    cb_text(&c, "label");
    cb_put(&c, cbor_encode_break(CB_ROOM(&c)));
    cb_put(&c, cbor_encode_bool(true, CB_ROOM(&c)));
    cr_assert_eq(parse_cb(&c, &o, &p, why), AW_OK, "%s", why);
    cr_assert_eq(p->readings[0].value, 1.5);
    aw_senml_pack_destroy(&p);
}

Test(senml, cbor_label_rules)
{
    cb c = {.n = 0};

    cb_record(&c, "d/m", 1);
    cb_text(&c, "foo_");
    cb_int(&c, 1);
    reject_cb(&c, AW_EINVAL, "record 0: unknown mandatory field 'foo_'");

    c.n = 0;
    cb_record(&c, "d/m", 1);
    cb_put(&c, cbor_encode_indef_string_start(CB_ROOM(&c)));
    cb_text(&c, "foo");
    cb_text(&c, "_");
    cb_text(&c, "");
    cb_put(&c, cbor_encode_break(CB_ROOM(&c)));
    cb_int(&c, 1);
    reject_cb(&c, AW_EINVAL, "unknown mandatory field");

    c.n = 0;
    cb_record(&c, "d/m", 1);
    cb_text(&c, "u");
    cb_text(&c, "m");
    reject_cb(&c, AW_EINVAL, "text label 'u': SenML CBOR uses integer labels");

    c.n = 0;
    cb_record(&c, "d/m", 1);
    cb_double(&c, 1.0);
    cb_int(&c, 1);
    reject_cb(&c, AW_EINVAL, "label is not an integer or a text string");

    c.n = 0;
    cb_record(&c, "d/m", 1);
    cb_int(&c, V);
    cb_int(&c, 2);
    reject_cb(&c, AW_EINVAL, "record 0: v: given twice");
}

Test(senml, cbor_field_types)
{
    cb c = {.n = 0};

    cb_record(&c, "d/m", 1);
    cb_int(&c, BVER);
    cb_double(&c, 10.0);
    reject_cb(&c, AW_EINVAL, "bver: not an unsigned integer");

    c.n = 0;
    cb_array(&c, 1);
    cb_map(&c, 2);
    cb_int(&c, N);
    cb_text(&c, "d/m");
    cb_int(&c, VD);
    cb_text(&c, "AQID");
    reject_cb(&c, AW_EINVAL, "vd: not a definite-length byte string");

    c.n = 0;
    cb_array(&c, 1);
    cb_map(&c, 2);
    cb_int(&c, N);
    cb_text(&c, "d/m");
    cb_int(&c, VS);
    cb_put(&c, cbor_encode_indef_string_start(CB_ROOM(&c)));
    cb_text(&c, "x");
    cb_put(&c, cbor_encode_break(CB_ROOM(&c)));
    reject_cb(&c, AW_EINVAL, "vs: not a definite-length text string");

    c.n = 0;
    cb_record(&c, "d/m", 1);
    cb_int(&c, U);
    cb_bytes(&c, "m", 1);
    reject_cb(&c, AW_EINVAL, "u: not a definite-length text string");
}

Test(senml, cbor_limits_nesting_of_unknown_values)
{
    cb c = {.n = 0};

    cb_record(&c, "d/m", 1);
    cb_int(&c, 100);
    for (int i = 0; i < 40; i++)
        cb_array(&c, 1);
    cb_int(&c, 0);
    reject_cb(&c, AW_EINVAL, "nested deeper than");
}

/* ---------------------------------------------------------------- units and arguments */

Test(senml, unit_table_is_sorted_and_complete)
{
    size_t n;
    const char *const *units = aw_senml_units(&n);
    static const char *const expected[] = {
        "m",    "kg",   "g",     "s",    "A",    "K",    "Cel", "mol",   "cd",  "Pa",
        "Hz",   "W",    "V",     "%",    "%RH",  "%EL",  "/",   "count", "lx",  "m/s",
        "m/s2", "m3/s", "l/s",   "dB",   "deg",  "B",    "ppm", "hPa",   "mm",  "km",
        "mA",   "mV",   "ug/m3", "mm/h", "%LEL", "%VOL", "ppb", "kPa",   "MPa", "mg/m3",
    };

    cr_assert_gt(n, 100);
    for (size_t i = 1; i < n; i++)
        cr_assert_lt(strcmp(units[i - 1], units[i]), 0, "%s before %s", units[i - 1], units[i]);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(aw_senml_unit_lookup(units[i], strlen(units[i])), units[i], "%s", units[i]);
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        cr_assert_not_null(aw_senml_unit_lookup(expected[i], strlen(expected[i])), "%s",
                           expected[i]);
    cr_assert_null(aw_senml_unit_lookup("furlong", 7));
    cr_assert_null(aw_senml_unit_lookup("cel", 3), "units are case-sensitive");
    cr_assert_null(aw_senml_unit_lookup("bar", 3), "not registered, not added");
    cr_assert_null(aw_senml_unit_lookup("", 0));
    cr_assert_null(aw_senml_unit_lookup("m3x", 2 + 1));
    cr_assert_not_null(aw_senml_unit_lookup("m3x", 2), "counted, not NUL-terminated");
    cr_assert_null(aw_senml_unit_lookup(NULL, 0));
}

static const char *only_metres(const char *u, size_t len)
{
    return len == 1 && u[0] == 'm' ? "m" : NULL;
}

Test(senml, custom_unit_table)
{
    aw_senml_opts o = opts();

    o.unit = only_metres;
    aw_senml_pack *p = parse_both_with("[{\"n\":\"d/m\",\"u\":\"m\",\"v\":1}]", &o);
    aw_senml_pack_destroy(&p);
    reject_both_with("[{\"n\":\"d/m\",\"u\":\"Cel\",\"v\":1}]", &o, AW_EINVAL,
                     "unit 'Cel' unknown");
}

Test(senml, bad_arguments)
{
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];
    const uint8_t *pack = (const uint8_t *)"[{\"n\":\"d/m\",\"v\":1}]";
    size_t len = strlen((const char *)pack);

    cr_assert_eq(aw_senml_parse(pack, len, AW_SENML_JSON, NULL, &p, why, sizeof why), AW_EINVAL);
    cr_assert_eq(aw_senml_parse(pack, len, AW_SENML_JSON, &o, NULL, why, sizeof why), AW_EINVAL);
    cr_assert_eq(aw_senml_parse(NULL, 5, AW_SENML_JSON, &o, &p, why, sizeof why), AW_EINVAL);
    cr_assert_eq(aw_senml_parse(NULL, 0, AW_SENML_CBOR, &o, &p, why, sizeof why), AW_EDECODE);
    cr_assert_eq(aw_senml_parse(pack, len, (aw_senml_format)111, &o, &p, why, sizeof why),
                 AW_EINVAL);
    cr_assert_str_eq(why, "content-format 111 is not SenML JSON (110) or CBOR (112)");
    o.max_future_ms = -1;
    cr_assert_eq(aw_senml_parse(pack, len, AW_SENML_JSON, &o, &p, why, sizeof why), AW_EINVAL);
    cr_assert_null(p);
}

Test(senml, reason_buffer_is_optional_and_truncated_safely)
{
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[12];
    const char *json = "[{\"n\":\"d/m\",\"u\":\"furlong\",\"v\":1}]";

    cr_assert_eq(
        aw_senml_parse((const uint8_t *)json, strlen(json), AW_SENML_JSON, &o, &p, NULL, 0),
        AW_EINVAL);
    memset(why, 'x', sizeof why);
    cr_assert_eq(
        aw_senml_parse((const uint8_t *)json, strlen(json), AW_SENML_JSON, &o, &p, why, sizeof why),
        AW_EINVAL);
    cr_assert_str_eq(why, "record 0: u");
    memset(why, 'x', sizeof why);
    cr_assert_eq(aw_senml_parse((const uint8_t *)json, strlen(json), AW_SENML_JSON, &o, &p, why, 4),
                 AW_EINVAL);
    cr_assert_str_eq(why, "rec");
}

Test(senml, reason_shows_odd_bytes_escaped_and_cut)
{
    char json[256];
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];

    snprintf(json, sizeof json, "[{\"n\":\"d/m\",\"v\":1,\"u\":\"%s\"}]",
             "it's\\\\a\\tvery-long-unit-name-that-goes-on-and-on-and-on-and-on");
    cr_assert_eq(parse_json(json, &o, &p, why), AW_EINVAL);
    cr_assert_str_eq(why, "record 0: u: unit 'it\\x27s\\x5ca\\x09very-long-unit-name-that-...' "
                          "unknown");
}

/* jansson's allocator failing is reported as AW_ENOMEM. */
static void *failing_malloc(size_t n)
{
    (void)n;
    return NULL;
}

Test(senml, out_of_memory_in_jansson)
{
    aw_senml_opts o = opts();
    aw_senml_pack *p = NULL;
    char why[WHY_LEN];

    json_set_alloc_funcs(failing_malloc, free);
    cr_assert_eq(parse_json("[{\"n\":\"d/m\",\"v\":1}]", &o, &p, why), AW_ENOMEM, "%s", why);
}

/* ---------------------------------------------------------------- fuzz seeds */

/* Writes the CBOR seed corpus when AW_SENML_WRITE_CORPUS names a folder:
 *   AW_SENML_WRITE_CORPUS=tests/fuzz/corpus/fuzz_senml_cbor build/tests/edge/test_senml
 *       --filter corpus/write_cbor_seeds */
static void write_seed(const char *dir, const char *name, const cb *c)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s.cbor", dir, name);
    f = fopen(path, "wb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(c->b, 1, c->n, f), c->n);
    cr_assert_eq(fclose(f), 0);
}

Test(corpus, write_cbor_seeds)
{
    static const struct {
        const char *name, *json;
    } seeds[] = {
        {"single", "[{\"n\":\"gas-7/ch4\",\"u\":\"%LEL\",\"v\":12.5}]"},
        {"base-fields",
         "[{\"bn\":\"dam-1/\",\"bt\":1740817700,\"bu\":\"m\",\"bv\":100,\"bs\":1000,"
         "\"bver\":10,\"n\":\"water-level\",\"v\":2.5,\"s\":1},"
         "{\"n\":\"phreatic-line\",\"v\":-1.25,\"t\":10},"
         "{\"bn\":\"dam-2/\",\"bu\":\"mm\",\"n\":\"displacement\",\"v\":3,\"t\":20}]"},
        {"value-kinds", "[{\"bn\":\"siren-1/\",\"n\":\"state\",\"vs\":\"待命\"},"
                        "{\"n\":\"armed\",\"vb\":true},{\"n\":\"blob\",\"vd\":\"AQID_w\"},"
                        "{\"n\":\"energy\",\"u\":\"kWh\",\"s\":1234.5,\"ut\":60}]"},
        {"times", "[{\"n\":\"d/a\",\"v\":1,\"t\":-10},{\"n\":\"d/b\",\"v\":1,\"t\":1740817799.5},"
                  "{\"bt\":268435456,\"n\":\"d/c\",\"v\":1}]"},
        {"unknown-fields", "[{\"n\":\"d/m\",\"v\":1,\"foo\":{\"a\":[1,2,null]},\"x-y\":1}]"},
        {"mandatory-field", "[{\"n\":\"d/m\",\"v\":1,\"x_\":1}]"},
        {"bad-unit", "[{\"bn\":\"d/\",\"n\":\"m\",\"u\":\"furlong\",\"v\":1}]"},
        {"ten-records",
         "[{\"bn\":\"gas-7/\",\"bt\":1740817790,\"bu\":\"ppm\",\"n\":\"h2s\",\"v\":1},"
         "{\"n\":\"co\",\"v\":2,\"t\":1},{\"n\":\"ch4\",\"u\":\"%LEL\",\"v\":3},"
         "{\"n\":\"o2\",\"u\":\"%VOL\",\"v\":20.9},{\"n\":\"h2s\",\"v\":1.5,\"t\":2},"
         "{\"n\":\"co\",\"v\":2.5,\"t\":2},{\"n\":\"ch4\",\"u\":\"%LEL\",\"v\":3.5},"
         "{\"n\":\"o2\",\"u\":\"%VOL\",\"v\":20.8},{\"n\":\"temperature\",\"u\":"
         "\"Cel\",\"v\":21},{\"n\":\"battery\",\"u\":\"%EL\",\"v\":87}]"},
    };
    static const uint8_t extras[][24] = {
        /* self-described, indefinite map, decimal fraction, half float */
        {0xd9, 0xd9, 0xf7, 0x82, 0xbf, 0x00, 0x63, 'd',  '/',  'a', 0x02, 0xc4,
         0x82, 0x21, 0x19, 0x04, 0xd2, 0xff, 0xa2, 0x00, 0x63, 'd', '/',  'b'},
    };
    const char *dir = getenv("AW_SENML_WRITE_CORPUS");
    cb c;

    if (!dir)
        cr_skip_test("set AW_SENML_WRITE_CORPUS to write the CBOR fuzz seeds");
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        to_cbor(seeds[i].json, &c);
        write_seed(dir, seeds[i].name, &c);
    }
    c.n = 0;
    cb_raw(&c, extras[0], sizeof extras[0]);
    cb_int(&c, V);
    cb_raw(&c, (const uint8_t[]){0xf9, 0x4a, 0x40}, 3);
    write_seed(dir, "number-forms", &c);
}
