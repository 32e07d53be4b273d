/* libFuzzer target: aw_senml_parse() on SenML JSON (content-format 110).
 *
 * No input may crash or leak. A pack that comes back must keep the promises
 * of edge/senml.h, checked here independently of the parser: ids and metrics
 * well-formed, units from the table, exactly one value (or a sum), finite
 * numbers, strings within limits and valid UTF-8, times not after the
 * future limit, and every reading packable as protobuf and back unchanged.
 * A rejection must come with a one-line printable reason and no pack.
 *
 * fuzz_senml_cbor.c includes this file with FUZZ_SENML_FORMAT set to CBOR. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "senml.h"

#ifndef FUZZ_SENML_FORMAT
#define FUZZ_SENML_FORMAT AW_SENML_JSON
#endif

#define NOW_MS      INT64_C(1740817800000)
#define MAX_RECORDS 64
#define MAX_STRING  256

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #x);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* [a-z0-9._-]{1,64}, a device id also starting with [a-z0-9] */
static int id_ok(const char *s, int device)
{
    size_t n = strlen(s);

    if (n == 0 || n > AW_SENML_ID_MAX)
        return 0;
    if (device && !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Well-formed UTF-8 (no overlongs, surrogates, or code points > U+10FFFF). */
static int utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], need = c < 0x80 ? 0 : c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
        unsigned long cp = need == 0 ? c : need == 1 ? c & 0x1f : need == 2 ? c & 0x0f : c & 0x07;

        if ((c >= 0x80 && c < 0xc2) || c > 0xf4 || n - i <= need)
            return 0;
        for (unsigned k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* Packs @p r as protobuf, unpacks it, and checks that nothing changed. */
static void check_round_trip(const Anwang__Reading *r)
{
    uint8_t buf[4096];
    size_t n = anwang__reading__get_packed_size(r);
    Anwang__Reading *back;

    CHECK(n <= sizeof buf);
    CHECK(anwang__reading__pack(r, buf) == n);
    back = anwang__reading__unpack(NULL, n, buf);
    CHECK(back);
    CHECK(strcmp(back->device, r->device) == 0 && strcmp(back->metric, r->metric) == 0);
    CHECK((!back->unit && !r->unit) || (back->unit && r->unit && !strcmp(back->unit, r->unit)));
    CHECK(back->has_value == r->has_value && (!r->has_value || back->value == r->value));
    CHECK((!back->string_value && !r->string_value) ||
          (back->string_value && r->string_value && !strcmp(back->string_value, r->string_value)));
    CHECK(back->has_data_value == r->has_data_value && back->data_value.len == r->data_value.len);
    CHECK(back->time_ms == r->time_ms && back->time_from_device == r->time_from_device);
    anwang__reading__free_unpacked(back, NULL);
}

static void check_reading(const Anwang__Reading *r, const aw_senml_opts *o)
{
    int nval = r->has_value + (r->string_value != NULL) + r->has_bool_value + r->has_data_value;

    CHECK(protobuf_c_message_check(&r->base));
    CHECK(id_ok(r->device, 1) && id_ok(r->metric, 0));
    CHECK(!r->unit || aw_senml_unit_lookup(r->unit, strlen(r->unit)) == r->unit);
    CHECK(nval == 1 || (nval == 0 && r->has_sum));
    CHECK(!r->has_value || isfinite(r->value));
    CHECK(!r->has_sum || isfinite(r->sum));
    CHECK(!r->string_value ||
          (strlen(r->string_value) <= o->max_string &&
           utf8_ok((const unsigned char *)r->string_value, strlen(r->string_value))));
    CHECK(!r->has_data_value || r->data_value.len <= o->max_string);
    CHECK(r->time_ms >= 0 && r->time_ms <= o->now_ms + o->max_future_ms);
    CHECK(r->has_time_from_device && (r->time_from_device || r->time_ms == o->now_ms));
    check_round_trip(r);
}

static void check_rejection(int rv, const aw_senml_pack *p, const char *why)
{
    CHECK(!p);
    CHECK(rv == AW_EDECODE || rv == AW_EINVAL || rv == AW_ENOTFINITE || rv == AW_EUTF8 ||
          rv == AW_ETOOBIG || rv == AW_ERANGE);
    CHECK(why[0] != '\0');
    for (const char *c = why; *c; c++)
        CHECK(*c >= 0x20 && *c < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aw_senml_opts o;
    aw_senml_pack *p = NULL;
    char why[160];
    int rv;

    aw_senml_opts_init(&o, NOW_MS);
    o.max_records = MAX_RECORDS;
    o.max_string = MAX_STRING;
    rv = aw_senml_parse(data, size, FUZZ_SENML_FORMAT, &o, &p, why, sizeof why);
    if (rv != AW_OK) {
        check_rejection(rv, p, why);
        return 0;
    }
    CHECK(p && p->n >= 1 && p->n <= MAX_RECORDS && why[0] == '\0');
    for (size_t i = 0; i < p->n; i++)
        check_reading(&p->readings[i], &o);
    aw_senml_pack_destroy(&p);
    CHECK(!p);
    return 0;
}
