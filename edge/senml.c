/* SenML (RFC 8428) packs into resolved readings: JSON through jansson, CBOR
 * through libcbor's streaming decoder (no tree, no allocation per item, and
 * sizes claimed by the input are checked against the bytes that are left
 * before anything is done with them). Both formats feed one record model
 * (s_rec); base fields, names, units, values and times are resolved once. */
#include "senml.h"

#include <assert.h>
#include <cbor.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- units */

/* Sorted by strcmp(); aw_senml_unit_lookup() does a binary search. Sources:
 * RFC 8428 §12.1, RFC 8798 §2 (primary) and §3 (secondary), and the anwang
 * extensions %LEL, %VOL, ppb, kPa, MPa, mg/m3 (see senml.h). */
static const char *const s_units[] = {
    "%",     "%EL",    "%LEL",  "%RH",   "%VOL",  "/",    "/100",  "/1000",    "1/min", "1/s",
    "A",     "Ah",     "B",     "B/s",   "Bq",    "Bspl", "C",     "Cel",      "EL",    "F",
    "GB",    "Gy",     "H",     "Hz",    "J",     "J/m",  "K",     "KiB",      "MB/s",  "MHz",
    "MPa",   "Mbit/s", "N",     "Ohm",   "Pa",    "S",    "S/m",   "Sv",       "T",     "V",
    "VA",    "VAs",    "W",     "W/m2",  "Wb",    "Wh",   "Wh/km", "beat/min", "beats", "bit",
    "bit/s", "cd",     "cd/m2", "cm",    "count", "dB",   "dBW",   "dBm",      "deg",   "g",
    "h",     "hPa",    "kPa",   "kVA",   "kVAh",  "kW",   "kWh",   "kat",      "kg",    "kg/m3",
    "km",    "km/h",   "kvar",  "kvarh", "l",     "l/s",  "lat",   "lm",       "lon",   "lx",
    "m",     "m/h",    "m/s",   "m/s2",  "m2",    "m3",   "m3/s",  "mA",       "mV",    "mg/m3",
    "min",   "mm",     "mm/h",  "mol",   "ms",    "pH",   "ppb",   "ppm",      "rad",   "s",
    "sr",    "ug/m3",  "var",   "varh",  "vars",
};
#define S_UNIT_COUNT (sizeof s_units / sizeof s_units[0])

const char *const *aw_senml_units(size_t *count)
{
    if (count)
        *count = S_UNIT_COUNT;
    return s_units;
}

/* strcmp() order between the counted string u and the table entry e. */
static int s_unit_cmp(const char *u, size_t len, const char *e)
{
    size_t elen = strlen(e);
    int c = memcmp(u, e, len < elen ? len : elen);

    if (c != 0)
        return c;
    return len < elen ? -1 : len > elen;
}

const char *aw_senml_unit_lookup(const char *u, size_t len)
{
    size_t lo = 0, hi = S_UNIT_COUNT;

    if (!u)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = s_unit_cmp(u, len, s_units[mid]);

        if (c == 0)
            return s_units[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

void aw_senml_opts_init(aw_senml_opts *o, int64_t now_ms)
{
    o->now_ms = now_ms;
    o->max_future_ms = AW_SENML_DEFAULT_MAX_FUTURE_MS;
    o->max_records = AW_SENML_DEFAULT_MAX_RECORDS;
    o->max_string = AW_SENML_DEFAULT_MAX_STRING;
    o->unit = NULL;
}

/* ---------------------------------------------------------------- labels */

/* SenML labels (RFC 8428 Table 4); the enum value is the bit in s_rec.has. */
enum s_label {
    L_BVER,
    L_BN,
    L_BT,
    L_BU,
    L_BV,
    L_BS,
    L_N,
    L_U,
    L_V,
    L_VS,
    L_VB,
    L_S,
    L_T,
    L_UT,
    L_VD,
    L_COUNT_
};
enum s_type { T_NUM, T_STR, T_BOOL, T_DATA, T_VER };

static const struct {
    const char *name;
    size_t len;
    enum s_type type;
} s_labels[L_COUNT_] = {
    [L_BVER] = {"bver", 4, T_VER}, [L_BN] = {"bn", 2, T_STR},  [L_BT] = {"bt", 2, T_NUM},
    [L_BU] = {"bu", 2, T_STR},     [L_BV] = {"bv", 2, T_NUM},  [L_BS] = {"bs", 2, T_NUM},
    [L_N] = {"n", 1, T_STR},       [L_U] = {"u", 1, T_STR},    [L_V] = {"v", 1, T_NUM},
    [L_VS] = {"vs", 2, T_STR},     [L_VB] = {"vb", 2, T_BOOL}, [L_S] = {"s", 1, T_NUM},
    [L_T] = {"t", 1, T_NUM},       [L_UT] = {"ut", 2, T_NUM},  [L_VD] = {"vd", 2, T_DATA},
};

/* CBOR integer label + 6 → label (RFC 8428 Table 4: bs = -6 ... vd = 8). */
static const int8_t s_cbor_labels[15] = {L_BS, L_BV, L_BU, L_BT, L_BN, L_BVER, L_N, L_U,
                                         L_V,  L_VS, L_VB, L_S,  L_T,  L_UT,   L_VD};

/* Returns the label named p[0..len), or -1. */
static int s_label_by_name(const char *p, size_t len)
{
    for (int l = 0; l < L_COUNT_; l++)
        if (s_labels[l].len == len && memcmp(s_labels[l].name, p, len) == 0)
            return l;
    return -1;
}

/* ---------------------------------------------------------------- state */

typedef struct s_str {
    const char *p; /* borrowed from the input or the jansson tree */
    size_t len;
} s_str;

/* One record's fields as given, before base fields are applied. Only the
 * members whose bit is set in has are initialised. */
typedef struct s_rec {
    uint32_t has;
    double num[L_COUNT_];
    s_str str[L_COUNT_];
    uint64_t bver;
    bool vb;
} s_rec;

#define HAS(r, l) (((r)->has >> (l)) & 1u)

typedef struct s_ctx {
    const aw_senml_opts *o;
    aw_senml_unit_fn unit;
    bool vd_b64; /* JSON: vd is base64url text */
    char *why;
    size_t why_len;
    bool in_record; /* prefix reasons with "record <idx>: " */
    size_t idx;
    aw_senml_pack *pack;
    char *arena; /* the pack's string space that is still free */
    size_t arena_left;
    /* base fields in force (RFC 8428 §4.1) */
    s_str bn;
    double bt, bv, bs;
    const char *bu;
    uint64_t bver;
    bool has_bver;
    /* the last device id stored, shared by records of the same device */
    const char *dev;
    size_t dev_len;
} s_ctx;

/* Writes the reason for a failure (prefixed with the record index inside a
 * record) and returns @p code. */
__attribute__((format(printf, 3, 4))) static int s_fail(s_ctx *c, int code, const char *fmt, ...)
{
    va_list ap;
    size_t off = 0;

    if (!c->why || c->why_len == 0)
        return code;
    if (c->in_record) {
        int k = snprintf(c->why, c->why_len, "record %zu: ", c->idx);
        off = k < 0 ? 0 : (size_t)k < c->why_len ? (size_t)k : c->why_len - 1;
    }
    va_start(ap, fmt);
    vsnprintf(c->why + off, c->why_len - off, fmt, ap);
    va_end(ap);
    return code;
}

#define S_SHOW_MAX 48

/* Copies p[0..len) into dst for a reason: printable ASCII as is, other bytes
 * (and ' and \) as \xHH, cut with "..." when longer than dst. */
static const char *s_show(char dst[S_SHOW_MAX], const char *p, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];

        if (o + 8 > S_SHOW_MAX) {
            memcpy(dst + o, "...", 4);
            return dst;
        }
        if (ch >= 0x20 && ch < 0x7f && ch != '\'' && ch != '\\') {
            dst[o++] = (char)ch;
            continue;
        }
        dst[o++] = '\\';
        dst[o++] = 'x';
        dst[o++] = hex[ch >> 4];
        dst[o++] = hex[ch & 15];
    }
    dst[o] = '\0';
    return dst;
}

/* Copies the NUL-terminated src (at most sizeof json_error_t.text bytes,
 * which may quote input) into dst with bytes outside printable ASCII as '?'. */
static const char *s_ascii(char dst[JSON_ERROR_TEXT_LENGTH], const char *src)
{
    size_t i;

    for (i = 0; i + 1 < JSON_ERROR_TEXT_LENGTH && src[i]; i++)
        dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
    dst[i] = '\0';
    return dst;
}

/* ---------------------------------------------------------------- text */

/* True when p[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) without NUL bytes. Same contract as
 * aw_utf8_valid() in proto/codec.h. */
static bool s_utf8_ok(const uint8_t *p, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint8_t b = p[i];
        size_t n;
        uint32_t cp, min;

        if (b >= 0x01 && b < 0x80) {
            i++;
            continue;
        }
        if (b >= 0xc2 && b <= 0xdf)
            n = 1, cp = b & 0x1fu, min = 0x80;
        else if ((b & 0xf0) == 0xe0)
            n = 2, cp = b & 0x0fu, min = 0x800;
        else if (b >= 0xf0 && b <= 0xf4)
            n = 3, cp = b & 0x07u, min = 0x10000;
        else
            return false;
        if (len - i - 1 < n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* Value of a base64url digit (RFC 4648 §5), or -1. */
static int s_b64_digit(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '-')
        return 62;
    if (ch == '_')
        return 63;
    return -1;
}

/* Bytes that len base64url digits without padding decode to. */
static size_t s_b64_size(size_t len)
{
    return len / 4 * 3 + (len % 4 > 1 ? len % 4 - 1 : 0);
}

/* Decodes unpadded base64url into dst (s_b64_size(len) bytes). Returns false
 * when src is not canonical: a digit outside the alphabet, a length of 4k+1,
 * or non-zero bits left over at the end. */
static bool s_b64_decode(const char *src, size_t len, uint8_t *dst)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;

    if (len % 4 == 1)
        return false;
    for (size_t i = 0; i < len; i++) {
        int v = s_b64_digit(src[i]);

        if (v < 0)
            return false;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            dst[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return acc == 0;
}

/* True when p[0..len) is a device id or metric: [a-z0-9._-]{1,64}. */
static bool s_id_ok(const char *p, size_t len)
{
    if (len == 0 || len > AW_SENML_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = p[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '-'))
            return false;
    }
    return true;
}

/* ---------------------------------------------------------------- pack memory */

/* Pack memory beyond the input's own strings, per record: the reading, the
 * device id and metric with their NULs, and the NUL after vs. Strings and vd
 * data copied from the input never exceed the input's length (JSON escapes
 * and base64 only shrink), so one allocation of
 *   header + n * S_PER_RECORD + len
 * holds the whole pack. */
#define S_PER_RECORD (sizeof(Anwang__Reading) + 2 * (AW_SENML_ID_MAX + 1) + 1)

/* Checks the record count and allocates the pack for @p n records of an
 * input of @p len bytes. */
static int s_pack_begin(s_ctx *c, size_t n, size_t len)
{
    const size_t align = _Alignof(Anwang__Reading);
    size_t head = (sizeof(aw_senml_pack) + align - 1) / align * align;
    aw_senml_pack *p;

    if (n == 0)
        return s_fail(c, AW_EINVAL, "empty pack: no records");
    if (n > c->o->max_records)
        return s_fail(c, AW_ETOOBIG, "%zu records, limit %zu", n, c->o->max_records);
    if (len > SIZE_MAX / 2 || n > (SIZE_MAX / 2 - len) / S_PER_RECORD)
        return s_fail(c, AW_ENOMEM, "pack too large for memory");
    p = malloc(head + n * S_PER_RECORD + len);
    if (!p)
        return s_fail(c, AW_ENOMEM, "out of memory for %zu records", n);
    p->n = n;
    p->readings = (Anwang__Reading *)(void *)((char *)p + head);
    c->pack = p;
    c->arena = (char *)(p->readings + n);
    c->arena_left = n * (S_PER_RECORD - sizeof(Anwang__Reading)) + len;
    return AW_OK;
}

/* Takes @p n bytes of the pack's string space. The bound above makes running
 * out a bug; it still fails cleanly rather than overrun. */
static void *s_arena(s_ctx *c, size_t n)
{
    char *p = c->arena;

    if (n > c->arena_left) {
        assert(0 && "senml: pack memory bound violated");
        return NULL;
    }
    c->arena += n;
    c->arena_left -= n;
    return p;
}

/* Copies p[0..len) into the pack as a NUL-terminated string, or NULL. */
static char *s_strdup(s_ctx *c, const char *p, size_t len)
{
    char *s = s_arena(c, len + 1);

    if (s) {
        memcpy(s, p, len);
        s[len] = '\0';
    }
    return s;
}

/* ---------------------------------------------------------------- fields */

/* Marks @p label present in @p r; a label may appear once per record. */
static int s_mark(s_ctx *c, s_rec *r, int label)
{
    if (HAS(r, label))
        return s_fail(c, AW_EINVAL, "%s: given twice", s_labels[label].name);
    r->has |= 1u << label;
    return AW_OK;
}

static int s_put_num(s_ctx *c, s_rec *r, int label, double x)
{
    const char *name = s_labels[label].name;

    if (isnan(x))
        return s_fail(c, AW_ENOTFINITE, "%s: NaN", name);
    if (isinf(x))
        return s_fail(c, AW_ENOTFINITE, "%s: %sInfinity", name, x < 0 ? "-" : "");
    r->num[label] = x;
    return s_mark(c, r, label);
}

/* Takes a string field (or vd). Text must already be checked for UTF-8. */
static int s_put_str(s_ctx *c, s_rec *r, int label, const char *p, size_t len)
{
    size_t size = label == L_VD && c->vd_b64 ? s_b64_size(len) : len;

    if (size > c->o->max_string)
        return s_fail(c, AW_ETOOBIG, "%s: %zu bytes, limit %zu", s_labels[label].name, size,
                      c->o->max_string);
    r->str[label] = (s_str){p, len};
    return s_mark(c, r, label);
}

static int s_put_bool(s_ctx *c, s_rec *r, bool b)
{
    r->vb = b;
    return s_mark(c, r, L_VB);
}

static int s_put_ver(s_ctx *c, s_rec *r, uint64_t v)
{
    r->bver = v;
    return s_mark(c, r, L_BVER);
}

/* A label that is not SenML's: ignored, unless it ends in '_' (RFC 8428
 * §4.4: mandatory to understand). */
static int s_unknown_label(s_ctx *c, const char *p, size_t len)
{
    char shown[S_SHOW_MAX];

    if (len > 0 && p[len - 1] == '_')
        return s_fail(c, AW_EINVAL, "unknown mandatory field '%s'", s_show(shown, p, len));
    return AW_OK;
}

/* ---------------------------------------------------------------- resolution */

/* Version check (RFC 8428 §4.4, RFC 9100): 1..10, or 26 = 10 + feature 4
 * (secondary units); one version for the whole pack, 10 until given. */
static int s_base_version(s_ctx *c, uint64_t v)
{
    if (v == 0 || (v > 10 && v != 26))
        return s_fail(c, AW_EINVAL,
                      "bver: version %" PRIu64 " not supported (1..10, or 26 with secondary units)",
                      v);
    if ((c->has_bver || c->idx > 0) && v != c->bver)
        return s_fail(c, AW_EINVAL, "bver: %" PRIu64 " differs from version %" PRIu64 " before it",
                      v, c->bver);
    c->bver = v;
    c->has_bver = true;
    return AW_OK;
}

/* Resolves unit @p u given in field @p label against the unit table. */
static int s_unit(s_ctx *c, int label, s_str u, const char **out)
{
    char shown[S_SHOW_MAX];

    *out = c->unit(u.p, u.len);
    if (!*out)
        return s_fail(c, AW_EINVAL, "%s: unit '%s' unknown", s_labels[label].name,
                      s_show(shown, u.p, u.len));
    return AW_OK;
}

/* Applies the record's base fields: they hold from this record on. */
static int s_apply_base(s_ctx *c, const s_rec *r)
{
    int rv;

    if (HAS(r, L_BVER) && (rv = s_base_version(c, r->bver)) != AW_OK)
        return rv;
    if (HAS(r, L_BU) && (rv = s_unit(c, L_BU, r->str[L_BU], &c->bu)) != AW_OK)
        return rv;
    if (HAS(r, L_BN))
        c->bn = r->str[L_BN];
    if (HAS(r, L_BT))
        c->bt = r->num[L_BT];
    if (HAS(r, L_BV))
        c->bv = r->num[L_BV];
    if (HAS(r, L_BS))
        c->bs = r->num[L_BS];
    return AW_OK;
}

/* Stores a checked device id and metric in the pack; consecutive records of
 * one device share its id. */
static int s_store_name(s_ctx *c, Anwang__Reading *rd, const char *dev, size_t dlen,
                        const char *met, size_t mlen)
{
    if (!c->dev || c->dev_len != dlen || memcmp(c->dev, dev, dlen) != 0) {
        c->dev = s_strdup(c, dev, dlen);
        c->dev_len = dlen;
    }
    rd->device = (char *)c->dev;
    rd->metric = s_strdup(c, met, mlen);
    if (!rd->device || !rd->metric)
        return s_fail(c, AW_ENOMEM, "out of pack memory");
    return AW_OK;
}

/* Name = bn + n = <device-id>/<metric> (SPEC §3); the resolved name must also
 * start with a letter or digit (RFC 8428 §4.5.1). */
static int s_resolve_name(s_ctx *c, const s_rec *r, Anwang__Reading *rd)
{
    char name[2 * AW_SENML_ID_MAX + 2], shown[S_SHOW_MAX];
    s_str n = HAS(r, L_N) ? r->str[L_N] : (s_str){"", 0};
    size_t len = c->bn.len + n.len, dlen;
    const char *slash;

    if (len == 0)
        return s_fail(c, AW_EINVAL, "name missing: no bn or n");
    if (len > sizeof name - 1)
        return s_fail(c, AW_EINVAL, "name of %zu bytes is too long for <device-id>/<metric>", len);
    memcpy(name, c->bn.p, c->bn.len);
    memcpy(name + c->bn.len, n.p, n.len);
    slash = memchr(name, '/', len);
    dlen = slash ? (size_t)(slash - name) : 0;
    if (!slash || memchr(slash + 1, '/', len - dlen - 1))
        return s_fail(c, AW_EINVAL, "name '%s' is not <device-id>/<metric> with one '/'",
                      s_show(shown, name, len));
    if (!s_id_ok(name, dlen) || name[0] == '.' || name[0] == '_' || name[0] == '-')
        return s_fail(c, AW_EINVAL,
                      "name '%s': device id must be [a-z0-9._-]{1,64} starting with [a-z0-9]",
                      s_show(shown, name, len));
    if (!s_id_ok(slash + 1, len - dlen - 1))
        return s_fail(c, AW_EINVAL, "name '%s': metric must be [a-z0-9._-]{1,64}",
                      s_show(shown, name, len));
    return s_store_name(c, rd, name, dlen, slash + 1, len - dlen - 1);
}

static int s_resolve_unit(s_ctx *c, const s_rec *r, Anwang__Reading *rd)
{
    const char *u = c->bu;
    int rv;

    if (HAS(r, L_U) && (rv = s_unit(c, L_U, r->str[L_U], &u)) != AW_OK)
        return rv;
    rd->unit = (char *)u; /* static storage: see aw_senml_unit_fn */
    return AW_OK;
}

/* *out = base + x, which must stay finite. */
static int s_add(s_ctx *c, const char *what, double base, double x, double *out)
{
    *out = base + x;
    if (!isfinite(*out))
        return s_fail(c, AW_ENOTFINITE, "%s is not finite", what);
    return AW_OK;
}

/* Copies vd into the pack: CBOR bytes as they are, JSON from base64url. */
static int s_store_data(s_ctx *c, s_str vd, Anwang__Reading *rd)
{
    size_t size = c->vd_b64 ? s_b64_size(vd.len) : vd.len;
    uint8_t *dst = s_arena(c, size);

    if (!dst)
        return s_fail(c, AW_ENOMEM, "out of pack memory");
    if (!c->vd_b64)
        memcpy(dst, vd.p, vd.len);
    else if (!s_b64_decode(vd.p, vd.len, dst))
        return s_fail(c, AW_EINVAL, "vd: not base64url (RFC 4648 section 5, without padding)");
    rd->has_data_value = 1;
    rd->data_value.data = dst;
    rd->data_value.len = size;
    return AW_OK;
}

/* Exactly one of v, vs, vb, vd, or none with a sum (RFC 8428 §4.2). */
static int s_resolve_value(s_ctx *c, const s_rec *r, Anwang__Reading *rd)
{
    unsigned nval = HAS(r, L_V) + HAS(r, L_VS) + HAS(r, L_VB) + HAS(r, L_VD);
    int rv;

    if (nval > 1)
        return s_fail(c, AW_EINVAL, "more than one of v, vs, vb, vd");
    if (nval == 0 && !HAS(r, L_S))
        return s_fail(c, AW_EINVAL, "no value (v, vs, vb or vd) and no sum (s)");
    if (HAS(r, L_V)) {
        if ((rv = s_add(c, "v: bv + v", c->bv, r->num[L_V], &rd->value)) != AW_OK)
            return rv;
        rd->has_value = 1;
    }
    if (HAS(r, L_S)) {
        if ((rv = s_add(c, "s: bs + s", c->bs, r->num[L_S], &rd->sum)) != AW_OK)
            return rv;
        rd->has_sum = 1;
    }
    if (HAS(r, L_VB)) {
        rd->has_bool_value = 1;
        rd->bool_value = r->vb;
    }
    if (HAS(r, L_VS) && !(rd->string_value = s_strdup(c, r->str[L_VS].p, r->str[L_VS].len)))
        return s_fail(c, AW_ENOMEM, "out of pack memory");
    return HAS(r, L_VD) ? s_store_data(c, r->str[L_VD], rd) : AW_OK;
}

/* SenML times below 2^28 s are relative to now (RFC 8428 §4.5.3). */
#define S_RELATIVE_LIMIT 268435456.0
/* Largest ms value kept: below INT64_MAX with room for rounding. */
#define S_MS_MAX 9.0e18

/* time = bt + t: 0 is "now", below 2^28 relative to now, else absolute. */
static int s_resolve_time(s_ctx *c, const s_rec *r, Anwang__Reading *rd)
{
    double t, ms, limit = (double)c->o->now_ms + (double)c->o->max_future_ms;
    int rv;

    if ((rv = s_add(c, "t: bt + t", c->bt, HAS(r, L_T) ? r->num[L_T] : 0.0, &t)) != AW_OK)
        return rv;
    rd->has_time_from_device = 1;
    rd->time_from_device = t != 0.0;
    if (t == 0.0) {
        rd->time_ms = c->o->now_ms;
        return AW_OK;
    }
    ms = t < S_RELATIVE_LIMIT ? (double)c->o->now_ms + t * 1000.0 : t * 1000.0;
    if (ms > (limit < S_MS_MAX ? limit : S_MS_MAX))
        return s_fail(c, AW_ERANGE,
                      "t: time far in the future (%g s after now, limit %" PRId64 " ms)",
                      (ms - (double)c->o->now_ms) / 1000.0, c->o->max_future_ms);
    if (ms < 0.0)
        return s_fail(c, AW_ERANGE, "t: time before 1970");
    rd->time_ms = (int64_t)(ms + 0.5); /* 0 <= ms <= S_MS_MAX: round half up */
    return AW_OK;
}

/* Turns the fields of record c->idx into its reading. */
static int s_record_finish(s_ctx *c, const s_rec *r)
{
    Anwang__Reading *rd = &c->pack->readings[c->idx];
    int rv;

    anwang__reading__init(rd);
    if ((rv = s_apply_base(c, r)) != AW_OK)
        return rv;
    if ((rv = s_resolve_name(c, r, rd)) != AW_OK)
        return rv;
    if ((rv = s_resolve_unit(c, r, rd)) != AW_OK)
        return rv;
    if ((rv = s_resolve_value(c, r, rd)) != AW_OK)
        return rv;
    return s_resolve_time(c, r, rd);
}

/* ---------------------------------------------------------------- CBOR */

/* Nesting allowed inside the value of an unknown field. */
#define S_CBOR_MAX_DEPTH 16
/* Self-described CBOR (RFC 8949 §3.4.6), allowed in front of the pack. */
#define S_CBOR_SELF_DESCRIBE 55799
/* Decimal fraction [exponent, mantissa] (RFC 8949 §3.4.4; RFC 8428 §6). */
#define S_CBOR_DECIMAL 4

typedef enum s_ct {
    CT_UINT,
    CT_NEGINT, /* value -1 - u */
    CT_BYTES,
    CT_TEXT,
    CT_BYTES_INDEF,
    CT_TEXT_INDEF,
    CT_ARRAY,
    CT_ARRAY_INDEF,
    CT_MAP,
    CT_MAP_INDEF,
    CT_TAG,
    CT_FLOAT,
    CT_BOOL,
    CT_SIMPLE, /* null, undefined */
    CT_BREAK,
} s_ct;

/* One data item head as libcbor's streaming decoder reports it: u is the
 * integer, length, count, tag or boolean; data points into the input. */
typedef struct s_item {
    s_ct type;
    uint64_t u;
    double d;
    const uint8_t *data;
} s_item;

static void s_cb_set(void *x, s_ct type, uint64_t u)
{
    ((s_item *)x)->type = type;
    ((s_item *)x)->u = u;
}

static void s_cb_u8(void *x, uint8_t v)
{
    s_cb_set(x, CT_UINT, v);
}

static void s_cb_u16(void *x, uint16_t v)
{
    s_cb_set(x, CT_UINT, v);
}

static void s_cb_u32(void *x, uint32_t v)
{
    s_cb_set(x, CT_UINT, v);
}

static void s_cb_u64(void *x, uint64_t v)
{
    s_cb_set(x, CT_UINT, v);
}

static void s_cb_n8(void *x, uint8_t v)
{
    s_cb_set(x, CT_NEGINT, v);
}

static void s_cb_n16(void *x, uint16_t v)
{
    s_cb_set(x, CT_NEGINT, v);
}

static void s_cb_n32(void *x, uint32_t v)
{
    s_cb_set(x, CT_NEGINT, v);
}

static void s_cb_n64(void *x, uint64_t v)
{
    s_cb_set(x, CT_NEGINT, v);
}

static void s_cb_bytes(void *x, cbor_data p, size_t n)
{
    s_cb_set(x, CT_BYTES, n);
    ((s_item *)x)->data = p;
}

static void s_cb_text(void *x, cbor_data p, size_t n)
{
    s_cb_set(x, CT_TEXT, n);
    ((s_item *)x)->data = p;
}

static void s_cb_bytes_indef(void *x)
{
    s_cb_set(x, CT_BYTES_INDEF, 0);
}

static void s_cb_text_indef(void *x)
{
    s_cb_set(x, CT_TEXT_INDEF, 0);
}

static void s_cb_array(void *x, size_t n)
{
    s_cb_set(x, CT_ARRAY, n);
}

static void s_cb_array_indef(void *x)
{
    s_cb_set(x, CT_ARRAY_INDEF, 0);
}

static void s_cb_map(void *x, size_t n)
{
    s_cb_set(x, CT_MAP, n);
}

static void s_cb_map_indef(void *x)
{
    s_cb_set(x, CT_MAP_INDEF, 0);
}

static void s_cb_tag(void *x, uint64_t t)
{
    s_cb_set(x, CT_TAG, t);
}

static void s_cb_float(void *x, float f)
{
    s_cb_set(x, CT_FLOAT, 0);
    ((s_item *)x)->d = f;
}

static void s_cb_double(void *x, double d)
{
    s_cb_set(x, CT_FLOAT, 0);
    ((s_item *)x)->d = d;
}

static void s_cb_simple(void *x)
{
    s_cb_set(x, CT_SIMPLE, 0);
}

static void s_cb_bool(void *x, bool b)
{
    s_cb_set(x, CT_BOOL, b);
}

static void s_cb_break(void *x)
{
    s_cb_set(x, CT_BREAK, 0);
}

static const struct cbor_callbacks s_cbor_callbacks = {
    .uint8 = s_cb_u8,
    .uint16 = s_cb_u16,
    .uint32 = s_cb_u32,
    .uint64 = s_cb_u64,
    .negint8 = s_cb_n8,
    .negint16 = s_cb_n16,
    .negint32 = s_cb_n32,
    .negint64 = s_cb_n64,
    .byte_string = s_cb_bytes,
    .byte_string_start = s_cb_bytes_indef,
    .string = s_cb_text,
    .string_start = s_cb_text_indef,
    .array_start = s_cb_array,
    .indef_array_start = s_cb_array_indef,
    .map_start = s_cb_map,
    .indef_map_start = s_cb_map_indef,
    .tag = s_cb_tag,
    .float2 = s_cb_float,
    .float4 = s_cb_float,
    .float8 = s_cb_double,
    .undefined = s_cb_simple,
    .null = s_cb_simple,
    .boolean = s_cb_bool,
    .indef_break = s_cb_break,
};

typedef struct s_cbor {
    const uint8_t *start, *p;
    size_t left;
} s_cbor;

/* Reads the next item head (a definite string with its bytes). */
static int s_cbor_next(s_ctx *c, s_cbor *d, s_item *it)
{
    struct cbor_decoder_result r = cbor_stream_decode(d->p, d->left, &s_cbor_callbacks, it);

    if (r.status == CBOR_DECODER_NEDATA)
        return s_fail(c, AW_EDECODE, "CBOR: truncated at byte %zu", (size_t)(d->p - d->start));
    if (r.status != CBOR_DECODER_FINISHED)
        return s_fail(c, AW_EDECODE, "CBOR: malformed or unsupported item at byte %zu",
                      (size_t)(d->p - d->start));
    d->p += r.read;
    d->left -= r.read;
    return AW_OK;
}

/* Reads the chunks of an indefinite-length string through its break; each
 * must be a definite string of type @p chunk, valid UTF-8 when @p utf8.
 * *last is the string's last byte, or -1 when it is empty. */
static int s_cbor_chunks(s_ctx *c, s_cbor *d, s_ct chunk, bool utf8, int *last)
{
    s_item it;
    int rv;

    *last = -1;
    for (;;) {
        if ((rv = s_cbor_next(c, d, &it)) != AW_OK)
            return rv;
        if (it.type == CT_BREAK)
            return AW_OK;
        if (it.type != chunk)
            return s_fail(c, AW_EDECODE, "CBOR: bad chunk in an indefinite-length string");
        if (utf8 && !s_utf8_ok(it.data, it.u))
            return s_fail(c, AW_EUTF8, "label: invalid UTF-8");
        if (it.u > 0)
            *last = it.data[it.u - 1];
    }
}

static int s_cbor_skip(s_ctx *c, s_cbor *d, unsigned depth, bool *brk);

/* Skips @p n entries of @p per items each (array: 1, map: 2). */
static int s_cbor_skip_n(s_ctx *c, s_cbor *d, unsigned depth, uint64_t per, uint64_t n)
{
    int rv;

    if (n > d->left / per)
        return s_fail(c, AW_EDECODE, "CBOR: container longer than the input");
    for (uint64_t i = 0; i < n * per; i++)
        if ((rv = s_cbor_skip(c, d, depth + 1, NULL)) != AW_OK)
            return rv;
    return AW_OK;
}

/* Skips the entries of an indefinite-length array or map through its break. */
static int s_cbor_skip_indef(s_ctx *c, s_cbor *d, unsigned depth, bool map)
{
    int rv;

    for (;;) {
        bool end = false;

        if ((rv = s_cbor_skip(c, d, depth + 1, &end)) != AW_OK)
            return rv;
        if (end)
            return AW_OK;
        if (map && (rv = s_cbor_skip(c, d, depth + 1, NULL)) != AW_OK)
            return rv;
    }
}

/* Skips one item with everything nested in it (the value of an unknown
 * field). With @p brk, a break in place of the item sets *brk. */
static int s_cbor_skip(s_ctx *c, s_cbor *d, unsigned depth, bool *brk)
{
    s_item it;
    int rv, last;

    if (depth > S_CBOR_MAX_DEPTH)
        return s_fail(c, AW_EINVAL, "CBOR: unknown field nested deeper than %d levels",
                      S_CBOR_MAX_DEPTH);
    if ((rv = s_cbor_next(c, d, &it)) != AW_OK)
        return rv;
    switch (it.type) {
    case CT_BREAK:
        if (!brk)
            return s_fail(c, AW_EDECODE, "CBOR: unexpected break");
        *brk = true;
        return AW_OK;
    case CT_BYTES_INDEF:
        return s_cbor_chunks(c, d, CT_BYTES, false, &last);
    case CT_TEXT_INDEF:
        return s_cbor_chunks(c, d, CT_TEXT, false, &last);
    case CT_TAG:
        return s_cbor_skip(c, d, depth + 1, NULL);
    case CT_ARRAY:
    case CT_MAP:
        return s_cbor_skip_n(c, d, depth, it.type == CT_MAP ? 2 : 1, it.u);
    case CT_ARRAY_INDEF:
    case CT_MAP_INDEF:
        return s_cbor_skip_indef(c, d, depth, it.type == CT_MAP_INDEF);
    default:
        return AW_OK;
    }
}

/* Writes the integer item @p it in decimal. */
static void s_int_text(char *dst, size_t cap, const s_item *it)
{
    if (it->type == CT_UINT)
        snprintf(dst, cap, "%" PRIu64, it->u);
    else if (it->u == UINT64_MAX)
        snprintf(dst, cap, "-18446744073709551616");
    else
        snprintf(dst, cap, "-%" PRIu64, it->u + 1);
}

/* Reads the content of a decimal fraction, [exponent, mantissa] with integer
 * members, as the double nearest to mantissa * 10^exponent. */
static int s_cbor_decimal(s_ctx *c, s_cbor *d, const char *name, double *x)
{
    s_item arr, e, m;
    char me[24], ee[24], text[64];
    int rv;

    if ((rv = s_cbor_next(c, d, &arr)) != AW_OK)
        return rv;
    if (arr.type != CT_ARRAY || arr.u != 2)
        return s_fail(c, AW_EINVAL, "%s: decimal fraction is not [exponent, mantissa]", name);
    if ((rv = s_cbor_next(c, d, &e)) != AW_OK || (rv = s_cbor_next(c, d, &m)) != AW_OK)
        return rv;
    if ((e.type != CT_UINT && e.type != CT_NEGINT) || (m.type != CT_UINT && m.type != CT_NEGINT))
        return s_fail(c, AW_EINVAL, "%s: decimal fraction members must be integers", name);
    s_int_text(me, sizeof me, &m);
    s_int_text(ee, sizeof ee, &e);
    snprintf(text, sizeof text, "%se%s", me, ee);
    *x = strtod(text, NULL); /* no '.': independent of the locale */
    return AW_OK;
}

/* Reads a number: integer, float or decimal fraction. */
static int s_cbor_number(s_ctx *c, s_cbor *d, const char *name, double *x)
{
    s_item it;
    int rv;

    if ((rv = s_cbor_next(c, d, &it)) != AW_OK)
        return rv;
    switch (it.type) {
    case CT_UINT:
        *x = (double)it.u;
        return AW_OK;
    case CT_NEGINT:
        *x = -1.0 - (double)it.u;
        return AW_OK;
    case CT_FLOAT:
        *x = it.d;
        return AW_OK;
    case CT_TAG:
        if (it.u == S_CBOR_DECIMAL)
            return s_cbor_decimal(c, d, name, x);
        break;
    default:
        break;
    }
    return s_fail(c, AW_EINVAL, "%s: not a number", name);
}

/* Takes the value of a known non-numeric field from item @p it. */
static int s_cbor_value(s_ctx *c, s_rec *r, int label, const s_item *it)
{
    const char *name = s_labels[label].name;

    switch (s_labels[label].type) {
    case T_VER:
        if (it->type != CT_UINT)
            return s_fail(c, AW_EINVAL, "bver: not an unsigned integer");
        return s_put_ver(c, r, it->u);
    case T_BOOL:
        if (it->type != CT_BOOL)
            return s_fail(c, AW_EINVAL, "vb: not a boolean");
        return s_put_bool(c, r, it->u != 0);
    case T_DATA:
        if (it->type != CT_BYTES)
            return s_fail(c, AW_EINVAL, "vd: not a definite-length byte string");
        return s_put_str(c, r, label, (const char *)it->data, it->u);
    default:
        if (it->type != CT_TEXT)
            return s_fail(c, AW_EINVAL, "%s: not a definite-length text string", name);
        if (!s_utf8_ok(it->data, it->u))
            return s_fail(c, AW_EUTF8, "%s: invalid UTF-8", name);
        return s_put_str(c, r, label, (const char *)it->data, it->u);
    }
}

static int s_cbor_field(s_ctx *c, s_cbor *d, s_rec *r, int label)
{
    s_item it;
    double x = 0.0;
    int rv;

    if (s_labels[label].type == T_NUM) {
        if ((rv = s_cbor_number(c, d, s_labels[label].name, &x)) != AW_OK)
            return rv;
        return s_put_num(c, r, label, x);
    }
    if ((rv = s_cbor_next(c, d, &it)) != AW_OK)
        return rv;
    return s_cbor_value(c, r, label, &it);
}

/* A text label: CBOR SenML spells its own labels as integers, so a text
 * label is an extension; "v" and friends here are an encoder's mistake. */
static int s_cbor_text_label(s_ctx *c, const s_item *it)
{
    const char *p = (const char *)it->data;
    char shown[S_SHOW_MAX];

    if (!s_utf8_ok(it->data, it->u))
        return s_fail(c, AW_EUTF8, "label: invalid UTF-8");
    if (s_label_by_name(p, it->u) >= 0)
        return s_fail(c, AW_EINVAL, "text label '%s': SenML CBOR uses integer labels",
                      s_show(shown, p, it->u));
    return s_unknown_label(c, p, it->u);
}

/* Reads a map key: *label is a SenML label or -1 for a field to skip; *end
 * is set by the break of an indefinite-length map. */
static int s_cbor_label(s_ctx *c, s_cbor *d, bool indef, int *label, bool *end)
{
    s_item it;
    int rv, last;

    *label = -1;
    if ((rv = s_cbor_next(c, d, &it)) != AW_OK)
        return rv;
    switch (it.type) {
    case CT_UINT:
        *label = it.u <= 8 ? s_cbor_labels[it.u + 6] : -1;
        return AW_OK;
    case CT_NEGINT:
        *label = it.u <= 5 ? s_cbor_labels[5 - it.u] : -1;
        return AW_OK;
    case CT_TEXT:
        return s_cbor_text_label(c, &it);
    case CT_TEXT_INDEF:
        if ((rv = s_cbor_chunks(c, d, CT_TEXT, true, &last)) != AW_OK)
            return rv;
        return last == '_' ? s_fail(c, AW_EINVAL, "unknown mandatory field (indefinite-length)")
                           : AW_OK;
    case CT_BREAK:
        if (!indef)
            return s_fail(c, AW_EDECODE, "CBOR: unexpected break");
        *end = true;
        return AW_OK;
    default:
        return s_fail(c, AW_EINVAL, "label is not an integer or a text string");
    }
}

static int s_cbor_record(s_ctx *c, s_cbor *d)
{
    s_item it;
    s_rec r;
    bool indef;
    int rv;

    if ((rv = s_cbor_next(c, d, &it)) != AW_OK)
        return rv;
    if (it.type != CT_MAP && it.type != CT_MAP_INDEF)
        return s_fail(c, AW_EINVAL, "not a map");
    if (it.type == CT_MAP && it.u > d->left / 2)
        return s_fail(c, AW_EDECODE, "CBOR: map longer than the input");
    indef = it.type == CT_MAP_INDEF;
    r.has = 0;
    for (uint64_t k = 0; indef || k < it.u; k++) {
        int label;
        bool end = false;

        if ((rv = s_cbor_label(c, d, indef, &label, &end)) != AW_OK)
            return rv;
        if (end)
            break;
        rv = label >= 0 ? s_cbor_field(c, d, &r, label) : s_cbor_skip(c, d, 0, NULL);
        if (rv != AW_OK)
            return rv;
    }
    return s_record_finish(c, &r);
}

static int s_cbor_pack(s_ctx *c, const uint8_t *buf, size_t len)
{
    s_cbor d = {buf, buf, len};
    s_item it;
    int rv;

    if ((rv = s_cbor_next(c, &d, &it)) != AW_OK)
        return rv;
    if (it.type == CT_TAG && it.u == S_CBOR_SELF_DESCRIBE &&
        (rv = s_cbor_next(c, &d, &it)) != AW_OK)
        return rv;
    if (it.type == CT_ARRAY_INDEF)
        return s_fail(c, AW_EINVAL, "indefinite-length array: senml+cbor needs a definite one");
    if (it.type != CT_ARRAY)
        return s_fail(c, AW_EINVAL, "top level is not an array");
    if (it.u > d.left)
        return s_fail(c, AW_EDECODE, "CBOR: array of %" PRIu64 " records is longer than the input",
                      it.u);
    if ((rv = s_pack_begin(c, (size_t)it.u, len)) != AW_OK)
        return rv;
    for (c->idx = 0; c->idx < it.u; c->idx++) {
        c->in_record = true;
        if ((rv = s_cbor_record(c, &d)) != AW_OK)
            return rv;
    }
    c->in_record = false;
    if (d.left > 0)
        return s_fail(c, AW_EDECODE, "CBOR: %zu bytes after the pack", d.left);
    return AW_OK;
}

/* ---------------------------------------------------------------- JSON */

/* Converts a jansson load error at jansson's border. */
static int s_json_error(s_ctx *c, const json_error_t *e)
{
    char text[sizeof e->text];
    int code;

    if (e->text[0] == '\0') /* jansson failed to set up its lexer: no memory */
        return s_fail(c, AW_ENOMEM, "JSON: out of memory");
    switch (json_error_code(e)) {
    case json_error_out_of_memory:
        code = AW_ENOMEM;
        break;
    case json_error_invalid_utf8:
    case json_error_null_character:
    case json_error_null_byte_in_key:
        code = AW_EUTF8;
        break;
    case json_error_numeric_overflow:
        code = AW_ENOTFINITE;
        break;
    case json_error_duplicate_key:
        code = AW_EINVAL;
        break;
    default:
        code = AW_EDECODE;
        break;
    }
    return s_fail(c, code, "JSON: %s at byte %d", s_ascii(text, e->text), e->position);
}

static int s_json_bver(s_ctx *c, s_rec *r, const json_t *v)
{
    double x = json_number_value(v);

    if (!json_is_number(v) || !(x >= 0.0 && x <= 9007199254740992.0) || x != (double)(uint64_t)x)
        return s_fail(c, AW_EINVAL, "bver: not an unsigned integer");
    return s_put_ver(c, r, (uint64_t)x);
}

static int s_json_field(s_ctx *c, s_rec *r, const char *key, size_t klen, const json_t *v)
{
    int label = s_label_by_name(key, klen);
    const char *name;

    if (label < 0)
        return s_unknown_label(c, key, klen);
    name = s_labels[label].name;
    switch (s_labels[label].type) {
    case T_NUM:
        if (!json_is_number(v))
            return s_fail(c, AW_EINVAL, "%s: not a number", name);
        return s_put_num(c, r, label, json_number_value(v));
    case T_VER:
        return s_json_bver(c, r, v);
    case T_BOOL:
        if (!json_is_boolean(v))
            return s_fail(c, AW_EINVAL, "%s: not a boolean", name);
        return s_put_bool(c, r, json_is_true(v));
    default: /* T_STR, T_DATA; jansson has checked the UTF-8 */
        if (!json_is_string(v))
            return s_fail(c, AW_EINVAL, "%s: not a string", name);
        return s_put_str(c, r, label, json_string_value(v), json_string_length(v));
    }
}

static int s_json_record(s_ctx *c, json_t *obj)
{
    const char *key;
    size_t klen;
    json_t *v;
    s_rec r;
    int rv;

    if (!json_is_object(obj))
        return s_fail(c, AW_EINVAL, "not an object");
    r.has = 0;
    json_object_keylen_foreach(obj, key, klen, v)
    {
        if ((rv = s_json_field(c, &r, key, klen, v)) != AW_OK)
            return rv;
    }
    return s_record_finish(c, &r);
}

static int s_json_records(s_ctx *c, json_t *root, size_t len)
{
    int rv;

    if (!json_is_array(root))
        return s_fail(c, AW_EINVAL, "top level is not an array");
    if ((rv = s_pack_begin(c, json_array_size(root), len)) != AW_OK)
        return rv;
    for (c->idx = 0; c->idx < c->pack->n; c->idx++) {
        c->in_record = true;
        if ((rv = s_json_record(c, json_array_get(root, c->idx))) != AW_OK)
            return rv;
    }
    c->in_record = false;
    return AW_OK;
}

static int s_json_pack(s_ctx *c, const uint8_t *buf, size_t len)
{
    const size_t flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL;
    json_error_t err;
    json_t *root = json_loadb((const char *)buf, len, flags, &err);
    int rv;

    if (!root)
        return s_json_error(c, &err);
    rv = s_json_records(c, root, len);
    json_decref(root);
    return rv;
}

/* ---------------------------------------------------------------- API */

int aw_senml_parse(const uint8_t *buf, size_t len, aw_senml_format fmt, const aw_senml_opts *opts,
                   aw_senml_pack **out, char *why, size_t why_len)
{
    s_ctx c = {.why = why, .why_len = why_len, .bn = {"", 0}, .bver = 10};
    int rv;

    if (why && why_len > 0)
        why[0] = '\0';
    if (out)
        *out = NULL;
    if (!opts || !out || (!buf && len > 0))
        return s_fail(&c, AW_EINVAL, "bad arguments");
    if (opts->max_future_ms < 0)
        return s_fail(&c, AW_EINVAL, "max_future_ms is negative");
    c.o = opts;
    c.unit = opts->unit ? opts->unit : aw_senml_unit_lookup;
    c.vd_b64 = fmt == AW_SENML_JSON;
    if (!buf)
        buf = (const uint8_t *)"";
    if (fmt == AW_SENML_JSON)
        rv = s_json_pack(&c, buf, len);
    else if (fmt == AW_SENML_CBOR)
        rv = s_cbor_pack(&c, buf, len);
    else
        rv = s_fail(&c, AW_EINVAL, "content-format %d is not SenML JSON (110) or CBOR (112)",
                    (int)fmt);
    if (rv != AW_OK) {
        free(c.pack);
        return rv;
    }
    *out = c.pack;
    return AW_OK;
}

void aw_senml_pack_destroy(aw_senml_pack **p)
{
    if (!p)
        return;
    free(*p);
    *p = NULL;
}
