#include "pack.h"

#include <cbor.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 8428 Table 4 labels */
#define S_BN (-2)
#define S_N  0
#define S_U  1
#define S_V  2
#define S_T  6

/* Bytes reserved for the CBOR array head (up to 65535 records). */
#define S_CBOR_HEAD 3

void aw_sim_format_number(double v, char *buf, size_t len)
{
    snprintf(buf, len, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, len, "%.17g", v);
}

/* ------------------------------------------------------------ JSON */

typedef struct s_out {
    uint8_t *p;
    size_t len, cap;
    int full;
} s_out;

static void s_put(s_out *o, const char *s, size_t n)
{
    if (o->full || n > o->cap - o->len) {
        o->full = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void s_puts(s_out *o, const char *s)
{
    s_put(o, s, strlen(s));
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void s_put_string(s_out *o, const char *s)
{
    s_put(o, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            snprintf(esc, sizeof esc, "\\%c", c);
            s_puts(o, esc);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            s_puts(o, esc);
        } else {
            s_put(o, s, 1);
        }
    }
    s_put(o, "\"", 1);
}

static void s_put_number(s_out *o, double v)
{
    char num[AW_SIM_NUMBER_MAX];
    aw_sim_format_number(v, num, sizeof num);
    s_puts(o, num);
}

static void s_json_record(s_out *o, const char *device_id, const aw_sim_record *r, int first)
{
    s_puts(o, first ? "{" : ",{");
    if (first) {
        s_puts(o, "\"bn\":\"");
        s_put(o, device_id, strlen(device_id)); /* ids are [a-z0-9._-] */
        s_puts(o, "/\",");
    }
    s_puts(o, "\"n\":");
    s_put_string(o, r->metric->name);
    if (r->metric->unit && r->metric->unit[0]) {
        s_puts(o, ",\"u\":");
        s_put_string(o, r->metric->unit);
    }
    s_puts(o, ",\"v\":");
    s_put_number(o, r->value);
    if (r->time_ms != AW_SIM_NO_TIME) {
        char t[32]; /* exact decimal seconds.millis, cheaper than %g */
        snprintf(t, sizeof t, ",\"t\":%lld.%03lld", (long long)(r->time_ms / 1000),
                 (long long)(r->time_ms % 1000));
        s_puts(o, t);
    }
    s_puts(o, "}");
}

static size_t s_json_pack(const char *device_id, const aw_sim_record *recs, size_t n, uint8_t *buf,
                          size_t cap, size_t *len)
{
    s_out o = {buf, 1, cap > 0 ? cap - 1 : 0, cap == 0}; /* room kept for ']' */
    size_t done = 0;
    if (cap > 0)
        buf[0] = '[';
    for (; done < n; done++) {
        size_t mark = o.len;
        s_json_record(&o, device_id, &recs[done], done == 0);
        if (o.full) {
            o.len = mark;
            break;
        }
    }
    if (done == 0)
        return 0;
    buf[o.len++] = ']';
    *len = o.len;
    return done;
}

/* ------------------------------------------------------------ CBOR */

/* Appends with a libcbor encoder result: 0 means "did not fit". */
static int s_adv(size_t wrote, size_t *at)
{
    *at += wrote;
    return wrote != 0;
}

static int s_cbor_text(const char *s, uint8_t *buf, size_t cap, size_t *at)
{
    size_t n = strlen(s);
    if (!s_adv(cbor_encode_string_start(n, buf + *at, cap - *at), at) || n > cap - *at)
        return 0;
    memcpy(buf + *at, s, n);
    *at += n;
    return 1;
}

static int s_cbor_label(int label, uint8_t *buf, size_t cap, size_t *at)
{
    if (label < 0)
        return s_adv(cbor_encode_negint((uint64_t)(-1 - label), buf + *at, cap - *at), at);
    return s_adv(cbor_encode_uint((uint64_t)label, buf + *at, cap - *at), at);
}

static int s_cbor_record(const char *device_id, const aw_sim_record *r, int first, uint8_t *buf,
                         size_t cap, size_t *at)
{
    char bn[AW_REGISTRY_ID_MAX + 2];
    int has_u = r->metric->unit && r->metric->unit[0], has_t = r->time_ms != AW_SIM_NO_TIME;
    size_t pairs = 2u + (size_t)first + (size_t)has_u + (size_t)has_t;
    snprintf(bn, sizeof bn, "%s/", device_id);
    int ok = s_adv(cbor_encode_map_start(pairs, buf + *at, cap - *at), at);
    if (ok && first)
        ok = s_cbor_label(S_BN, buf, cap, at) && s_cbor_text(bn, buf, cap, at);
    ok = ok && s_cbor_label(S_N, buf, cap, at) && s_cbor_text(r->metric->name, buf, cap, at);
    if (ok && has_u)
        ok = s_cbor_label(S_U, buf, cap, at) && s_cbor_text(r->metric->unit, buf, cap, at);
    ok = ok && s_cbor_label(S_V, buf, cap, at) &&
         s_adv(cbor_encode_double(r->value, buf + *at, cap - *at), at);
    if (ok && has_t)
        ok = s_cbor_label(S_T, buf, cap, at) &&
             s_adv(cbor_encode_double((double)r->time_ms / 1000.0, buf + *at, cap - *at), at);
    return ok;
}

static size_t s_cbor_pack(const char *device_id, const aw_sim_record *recs, size_t n, uint8_t *buf,
                          size_t cap, size_t *len)
{
    size_t at = S_CBOR_HEAD, done = 0;
    if (cap <= S_CBOR_HEAD)
        return 0;
    n = n > 65535 ? 65535 : n;
    for (; done < n; done++) {
        size_t mark = at;
        if (!s_cbor_record(device_id, &recs[done], done == 0, buf, cap, &at)) {
            at = mark;
            break;
        }
    }
    if (done == 0)
        return 0;
    uint8_t head[S_CBOR_HEAD];
    size_t hl = cbor_encode_array_start(done, head, sizeof head);
    memmove(buf + hl, buf + S_CBOR_HEAD, at - S_CBOR_HEAD);
    memcpy(buf, head, hl);
    *len = at - S_CBOR_HEAD + hl;
    return done;
}

size_t aw_sim_pack_encode(aw_sim_format fmt, const char *device_id, const aw_sim_record *recs,
                          size_t n, uint8_t *buf, size_t cap, size_t *len)
{
    *len = 0;
    if (fmt == AW_SIM_FORMAT_CBOR)
        return s_cbor_pack(device_id, recs, n, buf, cap, len);
    return s_json_pack(device_id, recs, n, buf, cap, len);
}
