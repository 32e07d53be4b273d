/* codec.c: the only place that packs and unpacks anwang's wire messages. */
#include "codec.h"

#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const aw_codec_limits aw_codec_default_limits = {
    .max_message = 4u << 20,
    .max_string = 4u << 10,
    .max_records = 10000,
};

/* ---------------------------------------------------------------- UTF-8 */

/* Returns the offset of the first byte that is not part of well-formed UTF-8
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF) or is NUL;
 * returns len when all of s is good. */
static size_t s_utf8_bad_at(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
        if (c >= 0x01 && c <= 0x7F) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80; /* E0 80..9F would be overlong */
            hi = c == 0xED ? 0x9F : 0xBF; /* ED A0..BF would be a surrogate */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            lo = c == 0xF0 ? 0x90 : 0x80; /* F0 80..8F would be overlong */
            hi = c == 0xF4 ? 0x8F : 0xBF; /* F4 90.. would exceed U+10FFFF */
        } else {
            return i; /* NUL, lone continuation, C0/C1, F5..FF */
        }
        if (len - i <= n || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += n + 1;
    }
    return len;
}

int aw_utf8_valid(const char *s, size_t len)
{
    if (s == NULL)
        return len == 0;
    return s_utf8_bad_at((const unsigned char *)s, len) == len;
}

/* ---------------------------------------------------------------- reasons */

/* Where a validator is in the message: a chain of field names from the root
 * ("record", "envelope") down, rendered only when something fails. */
typedef struct s_path {
    const struct s_path *up;
    const char *name;
    long idx; /* element of a repeated field, or -1 */
} s_path;

/* One validation run. */
typedef struct s_ctx {
    const aw_codec_limits *lim;
    int sized; /* strings were allocated by s_alloc: their wire length is known */
    char *why;
    size_t why_len;
} s_ctx;

/* Appends printf-style text to buf[cap] at *at, truncating safely. */
static void s_appendf(char *buf, size_t cap, size_t *at, const char *fmt, ...)
{
    va_list ap;
    if (*at + 1 >= cap)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *at, cap - *at, fmt, ap);
    va_end(ap);
    if (n > 0)
        *at = (size_t)n < cap - *at ? *at + (size_t)n : cap - 1;
}

static void s_put_path(char *buf, size_t cap, size_t *at, const s_path *p)
{
    if (p == NULL)
        return;
    s_put_path(buf, cap, at, p->up);
    s_appendf(buf, cap, at, "%s%s", p->up ? "." : "", p->name);
    if (p->idx >= 0)
        s_appendf(buf, cap, at, "[%ld]", p->idx);
}

/* Writes "path.field: <message>" to the caller's why buffer and returns err. */
static int s_fail(const s_ctx *c, const s_path *p, const char *field, int err, const char *fmt, ...)
{
    size_t at = 0;
    va_list ap;
    if (c->why == NULL || c->why_len == 0)
        return err;
    c->why[0] = '\0';
    s_put_path(c->why, c->why_len, &at, p);
    if (field != NULL)
        s_appendf(c->why, c->why_len, &at, "%s%s", p ? "." : "", field);
    s_appendf(c->why, c->why_len, &at, ": ");
    if (at + 1 < c->why_len) {
        va_start(ap, fmt);
        vsnprintf(c->why + at, c->why_len - at, fmt, ap);
        va_end(ap);
    }
    return err;
}

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        int rv_ = (expr);                                                                          \
        if (rv_ != AW_OK)                                                                          \
            return rv_;                                                                            \
    } while (0)

/* ---------------------------------------------------------------- allocator */

/* Decoding allocates through this allocator, which keeps each block's size in
 * a header. protobuf-c copies a wire string into a block of its length + 1 and
 * NUL-terminates it, so the block size reveals a NUL byte inside the string
 * that strlen() would silently cut at. */
typedef union s_hdr {
    size_t size;
    max_align_t align;
} s_hdr;

static void *s_alloc(void *data, size_t size)
{
    s_hdr *h = size < SIZE_MAX - sizeof *h ? malloc(sizeof *h + size) : NULL;
    if (h == NULL) {
        if (data != NULL)
            *(int *)data = 1; /* tells s_decode it was memory, not the input */
        return NULL;
    }
    h->size = size;
    return h + 1;
}

static void s_free(void *data, void *p)
{
    if (p != NULL)
        free((s_hdr *)p - 1);
}

static ProtobufCAllocator s_allocator = {.alloc = s_alloc, .free = s_free};

/* ---------------------------------------------------------------- field rules */

/* What a string field may contain beyond well-formed UTF-8. */
typedef enum s_rule {
    S_TEXT,   /* any UTF-8 up to max_string */
    S_DEVICE, /* device id: [a-z0-9._-]{1,64} */
    S_METRIC, /* metric name: [a-z0-9._-]{1,64} */
    S_IDENT,  /* identifier: 1..128 printable ASCII except space , < & */
    S_GRID,   /* grid path: [a-z0-9-]+ segments joined by '/', ≤ 256 bytes */
} s_rule;

static int s_name_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
           ch == '-';
}

/* CAP 1.2 forbids spaces, commas, '<' and '&' in identifiers; the same rule
 * serves edge ids, hazard and alarm ids: safe in logs, CSV, JSON and XML. */
static int s_ident_char(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7F && ch != ',' && ch != '<' && ch != '&';
}

/* Returns the offset of the first byte of s[len] that breaks the grid path
 * rule, or len when it holds. */
static size_t s_grid_bad_at(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        int seg_start = i == 0 || s[i - 1] == '/';
        if (ch == '/' ? seg_start || i + 1 == len
                      : !((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
            return i;
    }
    return len;
}

/* Returns the offset of the first byte that breaks @p rule, or len. */
static size_t s_rule_bad_at(s_rule rule, const char *s, size_t len)
{
    size_t i = 0;
    switch (rule) {
    case S_GRID:
        return s_grid_bad_at(s, len);
    case S_DEVICE:
    case S_METRIC:
        while (i < len && s_name_char((unsigned char)s[i]))
            i++;
        return i;
    case S_IDENT:
        while (i < len && s_ident_char((unsigned char)s[i]))
            i++;
        return i;
    case S_TEXT:
        break;
    }
    return len;
}

static const struct {
    const char *what;
    size_t min, max; /* bytes; max 0 = only max_string applies */
} s_rules[] = {
    [S_TEXT] = {"text", 0, 0},           [S_DEVICE] = {"device id", 1, 64},
    [S_METRIC] = {"metric name", 1, 64}, [S_IDENT] = {"identifier", 1, 128},
    [S_GRID] = {"grid path", 1, 256},
};

/* The byte length of a string field: its wire length when decoding (so an
 * embedded NUL is seen), else strlen(). */
static size_t s_len(const s_ctx *c, const char *s)
{
    return c->sized ? ((const s_hdr *)s - 1)->size - 1 : strlen(s);
}

/* Checks one string field: present if @p required, UTF-8, no NUL, within
 * max_string and within @p rule. */
static int s_str(const s_ctx *c, const s_path *p, const char *field, const char *s, s_rule rule,
                 int required)
{
    if (s == NULL)
        return required ? s_fail(c, p, field, AW_EDECODE, "missing") : AW_OK;
    size_t len = s_len(c, s), bad;
    if (len > c->lim->max_string)
        return s_fail(c, p, field, AW_ERANGE, "%zu bytes over limit %zu", len, c->lim->max_string);
    if ((bad = s_utf8_bad_at((const unsigned char *)s, len)) < len)
        return s_fail(c, p, field, AW_EUTF8, "%s at byte %zu",
                      s[bad] == '\0' ? "NUL" : "invalid UTF-8", bad);
    if (len < s_rules[rule].min || (s_rules[rule].max && len > s_rules[rule].max))
        return s_fail(c, p, field, AW_ERANGE, "%s of %zu bytes, not %zu..%zu", s_rules[rule].what,
                      len, s_rules[rule].min, s_rules[rule].max);
    if ((bad = s_rule_bad_at(rule, s, len)) < len)
        return s_fail(c, p, field, AW_EDECODE, "bad %s: byte 0x%02x at %zu", s_rules[rule].what,
                      (unsigned char)s[bad], bad);
    return AW_OK;
}

/* Checks that an optional double, when present, is finite. */
static int s_num(const s_ctx *c, const s_path *p, const char *field, int has, double v)
{
    if (!has || isfinite(v))
        return AW_OK;
    return s_fail(c, p, field, AW_ENOTFINITE, "%s", isnan(v) ? "NaN" : v > 0 ? "Inf" : "-Inf");
}

/* Checks that an enum, when present, holds one of its declared values. */
static int s_enum(const s_ctx *c, const s_path *p, const char *field,
                  const ProtobufCEnumDescriptor *d, int has, int v)
{
    if (!has || protobuf_c_enum_descriptor_get_value(d, v) != NULL)
        return AW_OK;
    return s_fail(c, p, field, AW_EENUM, "%d not in %s", v, d->name);
}

/* Checks that a time in ms since the epoch, when present, is not negative. */
static int s_time(const s_ctx *c, const s_path *p, const char *field, int has, int64_t v)
{
    if (!has || v >= 0)
        return AW_OK;
    return s_fail(c, p, field, AW_ERANGE, "negative time %lld", (long long)v);
}

/* ---------------------------------------------------------------- record bodies */

#define LANE  (&anwang__lane__descriptor)
#define LEVEL (&anwang__level__descriptor)

static int s_gap(const s_ctx *c, const s_path *up, const Anwang__Gap *g)
{
    s_path p = {up, "gap", -1};
    TRY(s_enum(c, &p, "lane", LANE, 1, g->lane));
    if (g->from_seq < 1)
        return s_fail(c, &p, "from_seq", AW_ERANGE, "0, sequences start at 1");
    if (g->from_seq > g->to_seq)
        return s_fail(c, &p, "to_seq", AW_ERANGE, "%llu before from_seq %llu",
                      (unsigned long long)g->to_seq, (unsigned long long)g->from_seq);
    if (g->count != g->to_seq - g->from_seq + 1)
        return s_fail(c, &p, "count", AW_ERANGE, "%llu, but from_seq..to_seq holds %llu",
                      (unsigned long long)g->count,
                      (unsigned long long)(g->to_seq - g->from_seq + 1));
    return s_time(c, &p, "time_ms", 1, g->time_ms);
}

/* A resolved SenML record must carry a value of some kind (RFC 8428 §4.2). */
static int s_reading(const s_ctx *c, const s_path *up, const Anwang__Reading *r)
{
    s_path p = {up, "reading", -1};
    TRY(s_str(c, &p, "device", r->device, S_DEVICE, 1));
    TRY(s_str(c, &p, "metric", r->metric, S_METRIC, 1));
    TRY(s_str(c, &p, "unit", r->unit, S_TEXT, 0));
    TRY(s_num(c, &p, "value", r->has_value, r->value));
    TRY(s_str(c, &p, "string_value", r->string_value, S_TEXT, 0));
    if (r->has_data_value && r->data_value.len > c->lim->max_string)
        return s_fail(c, &p, "data_value", AW_ERANGE, "%zu bytes over limit %zu", r->data_value.len,
                      c->lim->max_string);
    TRY(s_num(c, &p, "sum", r->has_sum, r->sum));
    TRY(s_time(c, &p, "time_ms", 1, r->time_ms));
    if (!r->has_value && !r->string_value && !r->has_bool_value && !r->has_data_value &&
        !r->has_sum)
        return s_fail(c, &p, NULL, AW_EDECODE,
                      "no value, string_value, bool_value, "
                      "data_value or sum");
    return AW_OK;
}

static int s_alarm(const s_ctx *c, const s_path *up, const Anwang__AlarmEvent *a)
{
    s_path p = {up, "alarm", -1};
    TRY(s_str(c, &p, "alarm_id", a->alarm_id, S_IDENT, 1));
    TRY(s_enum(c, &p, "kind", &anwang__alarm_event_kind__descriptor, 1, a->kind));
    TRY(s_str(c, &p, "device", a->device, S_DEVICE, 1));
    TRY(s_str(c, &p, "metric", a->metric, S_METRIC, 1));
    TRY(s_str(c, &p, "site", a->site, S_GRID, 0));
    TRY(s_str(c, &p, "item", a->item, S_TEXT, 0));
    TRY(s_enum(c, &p, "level", LEVEL, 1, a->level));
    TRY(s_enum(c, &p, "prev_level", LEVEL, a->has_prev_level, a->prev_level));
    TRY(s_enum(c, &p, "direction", &anwang__direction__descriptor, a->has_direction, a->direction));
    TRY(s_num(c, &p, "value", a->has_value, a->value));
    TRY(s_num(c, &p, "first_value", a->has_first_value, a->first_value));
    TRY(s_time(c, &p, "first_time_ms", a->has_first_time_ms, a->first_time_ms));
    TRY(s_time(c, &p, "time_ms", 1, a->time_ms));
    TRY(s_num(c, &p, "threshold", a->has_threshold, a->threshold));
    return s_str(c, &p, "by", a->by, S_TEXT, 0);
}

static int s_device(const s_ctx *c, const s_path *up, const Anwang__DeviceEvent *d)
{
    s_path p = {up, "device", -1};
    TRY(s_str(c, &p, "device", d->device, S_DEVICE, 1));
    TRY(s_enum(c, &p, "kind", &anwang__device_event_kind__descriptor, 1, d->kind));
    TRY(s_time(c, &p, "time_ms", 1, d->time_ms));
    return s_time(c, &p, "last_seen_ms", d->has_last_seen_ms, d->last_seen_ms);
}

/* Which fields an op needs is the ledger's business (an event that is not a
 * valid transition is kept and marked rejected, SPEC §6); here only form. */
static int s_hazard(const s_ctx *c, const s_path *up, const Anwang__HazardEvent *h)
{
    s_path p = {up, "hazard", -1};
    TRY(s_str(c, &p, "hazard_id", h->hazard_id, S_IDENT, 1));
    TRY(s_str(c, &p, "origin", h->origin, S_IDENT, 1));
    TRY(s_enum(c, &p, "op", &anwang__hazard_op__descriptor, 1, h->op));
    TRY(s_str(c, &p, "by", h->by, S_TEXT, 0));
    TRY(s_str(c, &p, "site", h->site, S_GRID, 0));
    TRY(s_str(c, &p, "sector", h->sector, S_TEXT, 0));
    TRY(s_enum(c, &p, "level", &anwang__hazard_level__descriptor, h->has_level, h->level));
    TRY(s_str(c, &p, "title", h->title, S_TEXT, 0));
    TRY(s_str(c, &p, "description", h->description, S_TEXT, 0));
    TRY(s_enum(c, &p, "source", &anwang__hazard_source__descriptor, h->has_source, h->source));
    TRY(s_str(c, &p, "reporter", h->reporter, S_TEXT, 0));
    TRY(s_str(c, &p, "unit", h->unit, S_TEXT, 0));
    TRY(s_str(c, &p, "person", h->person, S_TEXT, 0));
    TRY(s_time(c, &p, "deadline_ms", h->has_deadline_ms, h->deadline_ms));
    TRY(s_str(c, &p, "evidence", h->evidence, S_TEXT, 0));
    TRY(s_str(c, &p, "audience", h->audience, S_TEXT, 0));
    TRY(s_str(c, &p, "text", h->text, S_TEXT, 0));
    TRY(s_str(c, &p, "note", h->note, S_TEXT, 0));
    return s_time(c, &p, "time_ms", h->has_time_ms, h->time_ms);
}

static int s_receipt(const s_ctx *c, const s_path *up, const Anwang__AlertReceipt *r)
{
    s_path p = {up, "receipt", -1};
    TRY(s_str(c, &p, "identifier", r->identifier, S_IDENT, 1));
    TRY(s_str(c, &p, "edge_id", r->edge_id, S_IDENT, 1));
    TRY(s_str(c, &p, "device", r->device, S_DEVICE, 0));
    TRY(s_enum(c, &p, "kind", &anwang__receipt_kind__descriptor, 1, r->kind));
    TRY(s_time(c, &p, "time_ms", 1, r->time_ms));
    return s_str(c, &p, "detail", r->detail, S_TEXT, 0);
}

/* Checks that a sub-message is present and is of type @p d (a struct built
 * in memory without its INIT macro would crash protobuf-c's packer). */
static int s_msg(const s_ctx *c, const s_path *p, const char *field,
                 const ProtobufCMessageDescriptor *d, const void *msg)
{
    if (msg == NULL)
        return s_fail(c, p, field, AW_EDECODE, "missing");
    if (((const ProtobufCMessage *)msg)->descriptor != d)
        return s_fail(c, p, field, AW_EINVAL, "wrong type, want %s (built without its INIT?)",
                      d->name);
    return AW_OK;
}

/* Checks that a oneof of message type @p d has a case and, for it, a message.
 * All cases of a protobuf-c oneof share one union of pointers: @p any. */
static int s_oneof(const s_ctx *c, const s_path *p, const char *oneof,
                   const ProtobufCMessageDescriptor *d, int which, const void *any)
{
    const ProtobufCFieldDescriptor *f;
    if (which == 0)
        return s_fail(c, p, oneof, AW_EDECODE, "not set");
    f = which > 0 ? protobuf_c_message_descriptor_get_field(d, (unsigned)which) : NULL;
    if (f == NULL)
        return s_fail(c, p, oneof, AW_EDECODE, "unknown case %d", which);
    return s_msg(c, p, f->name, f->descriptor, any);
}

static int s_record(const s_ctx *c, const Anwang__Record *r)
{
    s_path p = {NULL, "record", -1};
    TRY(s_oneof(c, &p, "body", &anwang__record__descriptor, r->body_case, r->reading));
    switch (r->body_case) {
    case ANWANG__RECORD__BODY_READING:
        return s_reading(c, &p, r->reading);
    case ANWANG__RECORD__BODY_ALARM:
        return s_alarm(c, &p, r->alarm);
    case ANWANG__RECORD__BODY_DEVICE:
        return s_device(c, &p, r->device);
    case ANWANG__RECORD__BODY_HAZARD:
        return s_hazard(c, &p, r->hazard);
    case ANWANG__RECORD__BODY_RECEIPT:
        return s_receipt(c, &p, r->receipt);
    case ANWANG__RECORD__BODY_GAP:
        return s_gap(c, &p, r->gap);
    default:
        return s_fail(c, &p, "body", AW_EDECODE, "unknown case %d", (int)r->body_case);
    }
}

/* ---------------------------------------------------------------- envelopes */

/* Checks a per-lane list: each lane valid and named at most once. */
static int s_lanes(const s_ctx *c, const s_path *up, const char *field, size_t n,
                   Anwang__LaneSeq *const *v)
{
    if (n > LANE->n_values)
        return s_fail(c, up, field, AW_ERANGE, "%zu entries for %u lanes", n, LANE->n_values);
    for (size_t i = 0; i < n; i++) {
        s_path e = {up, field, (long)i};
        TRY(s_msg(c, &e, NULL, &anwang__lane_seq__descriptor, v[i]));
        TRY(s_enum(c, &e, "lane", LANE, 1, v[i]->lane));
        for (size_t j = 0; j < i; j++)
            if (v[j]->lane == v[i]->lane)
                return s_fail(c, &e, "lane", AW_EDECODE, "lane %d repeats %s[%zu]", (int)v[i]->lane,
                              field, j);
    }
    return AW_OK;
}

/* Version negotiation (refusing an unsupported version) is the peer's job;
 * the codec only refuses 0, which no version ever is. */
static int s_version(const s_ctx *c, const s_path *p, uint32_t v)
{
    return v >= 1 ? AW_OK : s_fail(c, p, "proto_version", AW_ERANGE, "0, versions start at 1");
}

static int s_hello(const s_ctx *c, const s_path *up, const Anwang__Hello *h)
{
    s_path p = {up, "hello", -1};
    TRY(s_str(c, &p, "edge_id", h->edge_id, S_IDENT, 1));
    TRY(s_lanes(c, &p, "heads", h->n_heads, h->heads));
    TRY(s_time(c, &p, "wall_ms", 1, h->wall_ms));
    TRY(s_version(c, &p, h->proto_version));
    return s_str(c, &p, "zone", h->zone, S_GRID, 0);
}

static int s_welcome(const s_ctx *c, const s_path *up, const Anwang__Welcome *w)
{
    s_path p = {up, "welcome", -1};
    TRY(s_lanes(c, &p, "applied", w->n_applied, w->applied));
    TRY(s_time(c, &p, "center_ms", 1, w->center_ms));
    return s_version(c, &p, w->proto_version);
}

/* Records stay encoded here; each is decoded (and validated) on its own. */
static int s_batch(const s_ctx *c, const s_path *up, const Anwang__Batch *b)
{
    s_path p = {up, "batch", -1};
    TRY(s_enum(c, &p, "lane", LANE, 1, b->lane));
    if (b->first_seq < 1)
        return s_fail(c, &p, "first_seq", AW_ERANGE, "0, sequences start at 1");
    if (b->n_records > c->lim->max_records)
        return s_fail(c, &p, "records", AW_ERANGE, "%zu records over limit %zu", b->n_records,
                      c->lim->max_records);
    if (b->n_records > 0 && b->first_seq - 1 > UINT64_MAX - b->n_records)
        return s_fail(c, &p, "first_seq", AW_ERANGE, "%zu records overflow the sequence",
                      b->n_records);
    for (size_t i = 0; i < b->n_records; i++) {
        s_path e = {&p, "records", (long)i};
        size_t len = b->records[i].len;
        if (len == 0 || len > c->lim->max_message)
            return s_fail(c, &e, NULL, AW_ERANGE, "%zu bytes, not 1..%zu", len,
                          c->lim->max_message);
        if (b->records[i].data == NULL)
            return s_fail(c, &e, NULL, AW_EDECODE, "missing");
    }
    return AW_OK;
}

/* The registry JSON is parsed by its own validating parser; here only its
 * size and that it is UTF-8 text (RFC 8259 §8.1), which JSON must be. */
static int s_registry(const s_ctx *c, const s_path *up, const Anwang__RegistrySnapshot *r)
{
    s_path p = {up, "registry", -1};
    size_t len = r->json.len, bad;
    TRY(s_str(c, &p, "zone", r->zone, S_GRID, 1));
    if (len == 0 || len > c->lim->max_message)
        return s_fail(c, &p, "json", AW_ERANGE, "%zu bytes, not 1..%zu", len, c->lim->max_message);
    if (r->json.data == NULL)
        return s_fail(c, &p, "json", AW_EDECODE, "missing");
    if ((bad = s_utf8_bad_at(r->json.data, len)) < len)
        return s_fail(c, &p, "json", AW_EUTF8, "%s at byte %zu",
                      r->json.data[bad] == 0 ? "NUL" : "invalid UTF-8", bad);
    return AW_OK;
}

static int s_alarm_ack(const s_ctx *c, const s_path *up, const Anwang__AlarmAck *a)
{
    s_path p = {up, "alarm_ack", -1};
    TRY(s_str(c, &p, "alarm_id", a->alarm_id, S_IDENT, 1));
    TRY(s_str(c, &p, "by", a->by, S_TEXT, 1));
    return s_time(c, &p, "time_ms", 1, a->time_ms);
}

/* Checks each entry of a repeated string field against @p rule. */
static int s_strs(const s_ctx *c, const s_path *up, const char *field, size_t n, char *const *v,
                  s_rule rule)
{
    for (size_t i = 0; i < n; i++) {
        s_path e = {up, field, (long)i};
        TRY(s_str(c, &e, NULL, v[i], rule, 1));
    }
    return AW_OK;
}

static int s_alert(const s_ctx *c, const s_path *up, const Anwang__Alert *a)
{
    s_path p = {up, "alert", -1};
    TRY(s_str(c, &p, "identifier", a->identifier, S_IDENT, 1));
    TRY(s_str(c, &p, "sender", a->sender, S_TEXT, 1));
    TRY(s_time(c, &p, "sent_ms", 1, a->sent_ms));
    TRY(s_enum(c, &p, "status", &anwang__alert_status__descriptor, 1, a->status));
    TRY(s_enum(c, &p, "msg_type", &anwang__alert_msg_type__descriptor, 1, a->msg_type));
    TRY(s_str(c, &p, "scope", a->scope, S_TEXT, 0));
    TRY(s_str(c, &p, "event", a->event, S_TEXT, 1));
    TRY(s_str(c, &p, "urgency", a->urgency, S_TEXT, 0));
    TRY(s_str(c, &p, "severity", a->severity, S_TEXT, 0));
    TRY(s_str(c, &p, "certainty", a->certainty, S_TEXT, 0));
    TRY(s_strs(c, &p, "area", a->n_area, a->area, S_GRID));
    TRY(s_str(c, &p, "headline", a->headline, S_TEXT, 0));
    TRY(s_str(c, &p, "instruction", a->instruction, S_TEXT, 0));
    TRY(s_time(c, &p, "expires_ms", a->has_expires_ms, a->expires_ms));
    TRY(s_strs(c, &p, "references", a->n_references, a->references, S_IDENT));
    TRY(s_str(c, &p, "plan_id", a->plan_id, S_TEXT, 0));
    return s_str(c, &p, "description", a->description, S_TEXT, 0);
}

static int s_alert_cancel(const s_ctx *c, const s_path *up, const Anwang__AlertCancel *a)
{
    s_path p = {up, "alert_cancel", -1};
    TRY(s_str(c, &p, "identifier", a->identifier, S_IDENT, 1));
    TRY(s_str(c, &p, "by", a->by, S_TEXT, 0));
    return s_time(c, &p, "time_ms", 1, a->time_ms);
}

/* Down seqs count from 1 like the lanes: DownAck.applied_seq 0 = none yet. */
static int s_down(const s_ctx *c, const s_path *up, const Anwang__Down *d)
{
    s_path p = {up, "down", -1};
    if (d->seq < 1)
        return s_fail(c, &p, "seq", AW_ERANGE, "0, sequences start at 1");
    TRY(s_oneof(c, &p, "body", &anwang__down__descriptor, d->body_case, d->registry));
    switch (d->body_case) {
    case ANWANG__DOWN__BODY_REGISTRY:
        return s_registry(c, &p, d->registry);
    case ANWANG__DOWN__BODY_HAZARD:
        return s_hazard(c, &p, d->hazard);
    case ANWANG__DOWN__BODY_ALARM_ACK:
        return s_alarm_ack(c, &p, d->alarm_ack);
    case ANWANG__DOWN__BODY_ALERT:
        return s_alert(c, &p, d->alert);
    case ANWANG__DOWN__BODY_ALERT_CANCEL:
        return s_alert_cancel(c, &p, d->alert_cancel);
    default:
        return s_fail(c, &p, "body", AW_EDECODE, "unknown case %d", (int)d->body_case);
    }
}

static int s_envelope(const s_ctx *c, const Anwang__Envelope *e)
{
    s_path p = {NULL, "envelope", -1};
    TRY(s_oneof(c, &p, "msg", &anwang__envelope__descriptor, e->msg_case, e->hello));
    switch (e->msg_case) {
    case ANWANG__ENVELOPE__MSG_HELLO:
        return s_hello(c, &p, e->hello);
    case ANWANG__ENVELOPE__MSG_WELCOME:
        return s_welcome(c, &p, e->welcome);
    case ANWANG__ENVELOPE__MSG_REFUSE:
        return s_str(c, &p, "refuse.reason", e->refuse->reason, S_TEXT, 1);
    case ANWANG__ENVELOPE__MSG_BATCH:
        return s_batch(c, &p, e->batch);
    case ANWANG__ENVELOPE__MSG_ACK:
        return s_enum(c, &p, "ack.lane", LANE, 1, e->ack->lane);
    case ANWANG__ENVELOPE__MSG_HEARTBEAT:
        return s_time(c, &p, "heartbeat.wall_ms", 1, e->heartbeat->wall_ms);
    case ANWANG__ENVELOPE__MSG_DOWN:
        return s_down(c, &p, e->down);
    case ANWANG__ENVELOPE__MSG_DOWN_ACK:
        return AW_OK; /* epoch and applied_seq: any value */
    default:
        return s_fail(c, &p, "msg", AW_EDECODE, "unknown case %d", (int)e->msg_case);
    }
}

/* ---------------------------------------------------------------- public API */

/* protobuf-c keeps fields it does not know and packs them back (proto2
 * forward compatibility), but it also accepts field number 0 or one above
 * 2^29 - 1 when written as a multi-byte tag: protobuf forbids those, and they
 * would not pack back to the same bytes. Checks @p m and its sub-messages,
 * whose types the message's validator has already checked. */
static int s_unknown(const s_ctx *c, const s_path *p, const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag < 1 || m->unknown_fields[i].tag > 0x1fffffff)
            return s_fail(c, p, NULL, AW_EDECODE, "field number %u", m->unknown_fields[i].tag);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *at = (const char *)m + f->offset;
        size_t n = f->label == PROTOBUF_C_LABEL_REPEATED
                       ? *(const size_t *)((const char *)m + f->quantifier_offset)
                       : 1;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE ||
            ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
             *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id))
            continue;
        for (size_t k = 0; k < n; k++) {
            s_path e = {p, f->name, f->label == PROTOBUF_C_LABEL_REPEATED ? (long)k : -1};
            const ProtobufCMessage *sub = f->label == PROTOBUF_C_LABEL_REPEATED
                                              ? (*(ProtobufCMessage *const *const *)at)[k]
                                              : *(ProtobufCMessage *const *)at;
            if (sub != NULL && sub->descriptor == f->descriptor)
                TRY(s_unknown(c, &e, sub));
        }
    }
    return AW_OK;
}

typedef int (*s_check_fn)(const s_ctx *c, const ProtobufCMessage *m);

static int s_check_envelope(const s_ctx *c, const ProtobufCMessage *m)
{
    s_path root = {NULL, "envelope", -1};
    TRY(s_envelope(c, (const Anwang__Envelope *)m)); /* checks sub-message types too */
    return s_unknown(c, &root, m);
}

static int s_check_record(const s_ctx *c, const ProtobufCMessage *m)
{
    s_path root = {NULL, "record", -1};
    TRY(s_record(c, (const Anwang__Record *)m));
    return s_unknown(c, &root, m);
}

static s_ctx s_ctx_make(const aw_codec_limits *lim, int sized, char *why, size_t why_len)
{
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    return (s_ctx){lim ? lim : &aw_codec_default_limits, sized, why, why_len};
}

/* Unpacks @p buf as a message of type @p d and validates it with @p check;
 * on any failure frees what it unpacked, so *out is set only on success. */
static int s_decode(const ProtobufCMessageDescriptor *d, const char *root, s_check_fn check,
                    const s_ctx *c, const uint8_t *buf, size_t len, ProtobufCMessage **out)
{
    s_path p = {NULL, root, -1};
    int oom = 0, rv;
    ProtobufCAllocator a = {.alloc = s_alloc, .free = s_free, .allocator_data = &oom};
    ProtobufCMessage *m;
    if (out == NULL || (buf == NULL && len > 0))
        return s_fail(c, &p, NULL, AW_EINVAL, "no buffer or no output");
    *out = NULL;
    if (len > c->lim->max_message)
        return s_fail(c, &p, NULL, AW_ETOOBIG, "%zu bytes over limit %zu", len,
                      c->lim->max_message);
    m = protobuf_c_message_unpack(d, &a, len, buf);
    if (m == NULL)
        return oom ? s_fail(c, &p, NULL, AW_ENOMEM, "out of memory")
                   : s_fail(c, &p, NULL, AW_EDECODE, "malformed %s (%zu bytes)", d->name, len);
    if ((rv = check(c, m)) != AW_OK) {
        protobuf_c_message_free_unpacked(m, &s_allocator);
        return rv;
    }
    *out = m;
    return AW_OK;
}

/* Validates @p m as a message of type @p d, its packed size included, and
 * stores that size in *packed. */
static int s_validate(const ProtobufCMessageDescriptor *d, const char *root, s_check_fn check,
                      const s_ctx *c, const ProtobufCMessage *m, size_t *packed)
{
    s_path p = {NULL, root, -1};
    if (m == NULL || m->descriptor != d)
        return s_fail(c, &p, NULL, AW_EINVAL, "not a %s", d->name);
    TRY(check(c, m));
    *packed = protobuf_c_message_get_packed_size(m);
    if (*packed > c->lim->max_message)
        return s_fail(c, &p, NULL, AW_ETOOBIG, "%zu bytes over limit %zu", *packed,
                      c->lim->max_message);
    return AW_OK;
}

/* Validates with the default limits, then packs into a new buffer. */
static int s_encode(const ProtobufCMessageDescriptor *d, const char *root, s_check_fn check,
                    const ProtobufCMessage *m, uint8_t **buf, size_t *len, char *why,
                    size_t why_len)
{
    s_ctx c = s_ctx_make(NULL, 0, why, why_len);
    s_path p = {NULL, root, -1};
    size_t n = 0;
    if (buf == NULL || len == NULL)
        return s_fail(&c, &p, NULL, AW_EINVAL, "no output");
    *buf = NULL;
    *len = 0;
    TRY(s_validate(d, root, check, &c, m, &n));
    if ((*buf = malloc(n ? n : 1)) == NULL)
        return s_fail(&c, &p, NULL, AW_ENOMEM, "out of memory");
    *len = protobuf_c_message_pack(m, *buf);
    return AW_OK;
}

int aw_codec_envelope_decode(const uint8_t *buf, size_t len, const aw_codec_limits *lim,
                             Anwang__Envelope **out, char *why, size_t why_len)
{
    s_ctx c = s_ctx_make(lim, 1, why, why_len);
    return s_decode(&anwang__envelope__descriptor, "envelope", s_check_envelope, &c, buf, len,
                    (ProtobufCMessage **)out);
}

void aw_codec_envelope_free(Anwang__Envelope **env_p)
{
    if (env_p != NULL && *env_p != NULL) {
        protobuf_c_message_free_unpacked(&(*env_p)->base, &s_allocator);
        *env_p = NULL;
    }
}

int aw_codec_envelope_encode(const Anwang__Envelope *env, uint8_t **buf, size_t *len, char *why,
                             size_t why_len)
{
    return s_encode(&anwang__envelope__descriptor, "envelope", s_check_envelope,
                    env ? &env->base : NULL, buf, len, why, why_len);
}

int aw_codec_record_decode(const uint8_t *buf, size_t len, const aw_codec_limits *lim,
                           Anwang__Record **out, char *why, size_t why_len)
{
    s_ctx c = s_ctx_make(lim, 1, why, why_len);
    return s_decode(&anwang__record__descriptor, "record", s_check_record, &c, buf, len,
                    (ProtobufCMessage **)out);
}

void aw_codec_record_free(Anwang__Record **rec_p)
{
    if (rec_p != NULL && *rec_p != NULL) {
        protobuf_c_message_free_unpacked(&(*rec_p)->base, &s_allocator);
        *rec_p = NULL;
    }
}

int aw_codec_record_encode(const Anwang__Record *rec, uint8_t **buf, size_t *len, char *why,
                           size_t why_len)
{
    return s_encode(&anwang__record__descriptor, "record", s_check_record, rec ? &rec->base : NULL,
                    buf, len, why, why_len);
}

int aw_codec_record_validate(const Anwang__Record *rec, const aw_codec_limits *lim, char *why,
                             size_t why_len)
{
    s_ctx c = s_ctx_make(lim, 0, why, why_len);
    size_t packed;
    return s_validate(&anwang__record__descriptor, "record", s_check_record, &c,
                      rec ? &rec->base : NULL, &packed);
}

int aw_codec_gap_encode(uint64_t hlc, Anwang__Lane lane, uint64_t from_seq, uint64_t to_seq,
                        int64_t time_ms, uint8_t **buf, size_t *len)
{
    Anwang__Gap gap = ANWANG__GAP__INIT;
    Anwang__Record rec = ANWANG__RECORD__INIT;
    gap.lane = lane;
    gap.from_seq = from_seq;
    gap.to_seq = to_seq;
    gap.count = to_seq - from_seq + 1;
    gap.time_ms = time_ms;
    rec.hlc = hlc;
    rec.body_case = ANWANG__RECORD__BODY_GAP;
    rec.gap = &gap;
    return aw_codec_record_encode(&rec, buf, len, NULL, 0);
}
