/* The JSON side of the hazard ledger (SPEC §6): reports and lifecycle events
 * from JSON, events and states to JSON. See hazard_json.h. */
#include "hazard_json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "hlc.h"
#include "registry.h"

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rv_ = (x);                                                                             \
        if (rv_ != AW_OK)                                                                          \
            return rv_;                                                                            \
    } while (0)

/* ================================================================ reasons */

/* Where a reason goes: the caller's buffer, possibly NULL or empty. */
typedef struct s_why {
    char *buf;
    size_t len;
} s_why;

/* Writes a reason (printf-style) when there is room, and returns @p err. */
static int s_fail(const s_why *w, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(const s_why *w, int err, const char *fmt, ...)
{
    va_list ap;

    if (w->buf != NULL && w->len > 0) {
        va_start(ap, fmt);
        vsnprintf(w->buf, w->len, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* Bytes of an input value shown in a reason before "..." cuts them off. */
#define S_QUOTE_IN 60
/* Bytes of a site_ok callback's reason kept. */
#define S_QUOTE_MAX 200

/* Input shown in a reason: printable ASCII, a backslash doubled, any other byte as \xHH. */
typedef struct s_quoted {
    char s[S_QUOTE_MAX * 4 + 4];
} s_quoted;

/* Quotes at most @p max (≤ S_QUOTE_MAX) bytes of @p src for a reason; used
 * inline, as the temporary lives until the end of the full expression. */
static s_quoted s_qn(const char *src, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    s_quoted q;
    size_t o = 0, i;

    for (i = 0; src != NULL && src[i] != '\0' && i < max; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c >= 0x20 && c < 0x7F && c != '\\') {
            q.s[o++] = (char)c;
            continue;
        }
        q.s[o++] = '\\';
        if (c == '\\') {
            q.s[o++] = '\\';
            continue;
        }
        q.s[o++] = 'x';
        q.s[o++] = hex[c >> 4];
        q.s[o++] = hex[c & 15];
    }
    if (src != NULL && src[i] != '\0')
        for (int k = 0; k < 3; k++)
            q.s[o++] = '.';
    q.s[o] = '\0';
    return q;
}

static s_quoted s_q(const char *src)
{
    return s_qn(src, S_QUOTE_IN);
}

/* ================================================================ fields */

typedef enum s_type {
    T_LINE,   /* one-line string, AW_HAZARD_NAME_MAX */
    T_TEXT,   /* text with tabs and line breaks, AW_HAZARD_TEXT_MAX */
    T_SITE,   /* site grid path */
    T_SECTOR, /* SPEC §1 sector name */
    T_LEVEL,  /* HazardLevel name */
    T_SOURCE, /* HazardSource name */
    T_TIME,   /* RFC 3339 time → deadline_ms */
    T_BOOL,   /* true / false → ok */
} s_type;

/* The JSON fields of an event besides "op"; the index is the field's bit.
 * F_BY comes first: the writers put it in the event's head. */
enum {
    F_BY,
    F_SITE,
    F_SECTOR,
    F_LEVEL,
    F_TITLE,
    F_DESCRIPTION,
    F_SOURCE,
    F_REPORTER,
    F_UNIT,
    F_PERSON,
    F_DEADLINE,
    F_EVIDENCE,
    F_OK,
    F_AUDIENCE,
    F_TEXT,
    F_NOTE,
    F_COUNT
};

#define B(f)     (1u << (f))
#define S_AT(fl) offsetof(Anwang__HazardEvent, fl)

/* key, type, and for strings the offset of the char * in the event */
static const struct s_field {
    const char *key;
    s_type type;
    size_t off;
} s_fields[F_COUNT] = {
    [F_BY] = {"by", T_LINE, S_AT(by)},
    [F_SITE] = {"site", T_SITE, S_AT(site)},
    [F_SECTOR] = {"sector", T_SECTOR, S_AT(sector)},
    [F_LEVEL] = {"level", T_LEVEL, 0},
    [F_TITLE] = {"title", T_LINE, S_AT(title)},
    [F_DESCRIPTION] = {"description", T_TEXT, S_AT(description)},
    [F_SOURCE] = {"source", T_SOURCE, 0},
    [F_REPORTER] = {"reporter", T_LINE, S_AT(reporter)},
    [F_UNIT] = {"unit", T_LINE, S_AT(unit)},
    [F_PERSON] = {"person", T_LINE, S_AT(person)},
    [F_DEADLINE] = {"deadline", T_TIME, 0},
    [F_EVIDENCE] = {"evidence", T_TEXT, S_AT(evidence)},
    [F_OK] = {"ok", T_BOOL, 0},
    [F_AUDIENCE] = {"audience", T_LINE, S_AT(audience)},
    [F_TEXT] = {"text", T_TEXT, S_AT(text)},
    [F_NOTE] = {"note", T_TEXT, S_AT(note)},
};

/* What each op may carry and needs (hazard_json.h's table), as field bits. */
#define S_REPORT_NEEDS (B(F_SITE) | B(F_SECTOR) | B(F_LEVEL) | B(F_TITLE) | B(F_SOURCE))
#define S_ANY          (B(F_BY) | B(F_NOTE)) /* what every lifecycle op may carry */

static const struct s_op_rule {
    unsigned may, needs;
} s_ops[] = {
    [ANWANG__HAZARD_OP__HAZARD_REPORT] = {S_REPORT_NEEDS | B(F_BY) | B(F_DESCRIPTION) |
                                              B(F_REPORTER),
                                          S_REPORT_NEEDS},
    [ANWANG__HAZARD_OP__HAZARD_ASSIGN] = {S_ANY | B(F_UNIT) | B(F_PERSON) | B(F_DEADLINE),
                                          B(F_UNIT) | B(F_PERSON) | B(F_DEADLINE)},
    [ANWANG__HAZARD_OP__HAZARD_START] = {S_ANY, 0},
    [ANWANG__HAZARD_OP__HAZARD_RECTIFIED] = {S_ANY | B(F_EVIDENCE), B(F_EVIDENCE)},
    [ANWANG__HAZARD_OP__HAZARD_VERIFY] = {S_ANY | B(F_OK), B(F_OK)},
    [ANWANG__HAZARD_OP__HAZARD_NOTIFY] = {S_ANY | B(F_AUDIENCE) | B(F_TEXT),
                                          B(F_AUDIENCE) | B(F_TEXT)},
    [ANWANG__HAZARD_OP__HAZARD_NOTE] = {S_ANY, B(F_NOTE)},
    [ANWANG__HAZARD_OP__HAZARD_REOPEN] = {S_ANY, 0},
};

/* Keys the server sets; a sender that gives one gets a reason saying so. */
static const char *const s_server_keys[] = {"id", "hazard_id", "hlc", "origin", "at"};

static bool s_is_string_type(s_type t)
{
    return t == T_LINE || t == T_TEXT || t == T_SITE || t == T_SECTOR;
}

static char **s_slot(Anwang__HazardEvent *ev, int f)
{
    return (char **)((char *)ev + s_fields[f].off);
}

static const char *s_str_at(const Anwang__HazardEvent *ev, int f)
{
    return *(char *const *)((const char *)ev + s_fields[f].off);
}

static int s_field_index(const char *key)
{
    for (int f = 0; f < F_COUNT; f++)
        if (strcmp(s_fields[f].key, key) == 0)
            return f;
    return -1;
}

/* ================================================================ string rules */

/* Offset of the first control character in s[n] (tab, CR and LF allowed
 * when @p text), or n. */
static size_t s_bad_char_at(const char *s, size_t n, bool text)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && !(text && (c == '\t' || c == '\n' || c == '\r'))) || c == 0x7F)
            return i;
    }
    return n;
}

/* The origin rule: [A-Za-z0-9._-]{1,AW_HAZARD_ORIGIN_MAX}. */
static bool s_origin_ok(const char *o)
{
    static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    size_t n = o != NULL ? strlen(o) : 0;

    return n >= 1 && n <= AW_HAZARD_ORIGIN_MAX && strspn(o, ok) == n;
}

/* The codec's identifier rule: 1..128 printable ASCII bytes except , < &. */
static bool s_ident_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n < 1 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7F || s[i] == ',' || s[i] == '<' || s[i] == '&')
            return false;
    return true;
}

/* A site path: four [a-z0-9-]+ segments county/zone/village/site. */
static bool s_site_path_ok(const char *s, size_t n)
{
    int segs = 1;
    size_t seg_len = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '/') {
            if (seg_len == 0)
                return false;
            segs++;
            seg_len = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            seg_len++;
        } else {
            return false;
        }
    }
    return seg_len > 0 && segs == 4;
}

static bool s_sector_ok(const char *s)
{
    for (int i = AW_SECTOR_NON_COAL_MINE; i <= AW_SECTOR_TAILINGS_DAM; i++)
        if (strcmp(aw_sector_name((aw_sector)i), s) == 0)
            return true;
    return false;
}

/* ================================================================ reading */

/* One parse in progress. */
typedef struct s_parse {
    const aw_hazard_ctx *ctx;
    const struct s_op_rule *rule;
    Anwang__HazardEvent *ev; /* being built; owned here until handed out */
    unsigned seen;           /* bits of the fields set in ev */
    s_why w;
} s_parse;

static const char *s_op_name(const s_parse *p)
{
    return aw_hazard_op_name(p->ev->op);
}

/* The one-line rule: 1..AW_HAZARD_NAME_MAX bytes of UTF-8, no control characters. */
static bool s_name_ok(const char *s)
{
    size_t n = strlen(s);

    return n >= 1 && n <= AW_HAZARD_NAME_MAX && aw_utf8_valid(s, n) &&
           s_bad_char_at(s, n, false) == n;
}

static int s_check_ctx(const aw_hazard_ctx *ctx, const s_why *w)
{
    if (ctx == NULL)
        return s_fail(w, AW_EINVAL, "no context");
    if (!s_origin_ok(ctx->origin))
        return s_fail(w, AW_EINVAL, "context: origin '%s' is not [A-Za-z0-9._-]{1,%d}",
                      s_q(ctx->origin).s, AW_HAZARD_ORIGIN_MAX);
    if (ctx->hlc == 0)
        return s_fail(w, AW_EINVAL, "context: hlc stamp 0");
    if (ctx->now_ms < 0 || (uint64_t)ctx->now_ms > AW_HLC_MS_MAX)
        return s_fail(w, AW_EINVAL, "context: now_ms %" PRId64 " out of range", ctx->now_ms);
    if (ctx->by != NULL && !s_name_ok(ctx->by))
        return s_fail(w, AW_EINVAL, "context: by '%s' is not a one-line name of 1..%d bytes",
                      s_q(ctx->by).s, AW_HAZARD_NAME_MAX);
    return AW_OK;
}

/* Loads one JSON object of at most AW_HAZARD_JSON_MAX bytes. */
static int s_load(const char *json, size_t len, json_t **root, const s_why *w)
{
    json_error_t e;
    int err = AW_EDECODE;

    if (json == NULL && len > 0)
        return s_fail(w, AW_EINVAL, "no payload");
    if (len > AW_HAZARD_JSON_MAX)
        return s_fail(w, AW_ETOOBIG, "payload of %zu bytes, at most %u", len, AW_HAZARD_JSON_MAX);
    *root = json_loadb(json != NULL ? json : "", len, JSON_REJECT_DUPLICATES, &e);
    if (*root == NULL) {
        if (json_error_code(&e) == json_error_out_of_memory)
            return s_fail(w, AW_ENOMEM, "out of memory");
        if (json_error_code(&e) == json_error_invalid_utf8)
            err = AW_EUTF8;
        return s_fail(w, err, "not JSON: %s (line %d, column %d)", s_q(e.text).s, e.line, e.column);
    }
    if (!json_is_object(*root)) {
        json_decref(*root);
        *root = NULL;
        return s_fail(w, AW_EINVAL, "not a JSON object");
    }
    return AW_OK;
}

/* Reads a JSON string for field @p f; *s is NULL when an optional field is "". */
static int s_get_string(s_parse *p, int f, json_t *v, const char **s, size_t *n)
{
    const char *key = s_fields[f].key;

    if (!json_is_string(v))
        return s_fail(&p->w, AW_EINVAL, "'%s' must be a string", key);
    *s = json_string_value(v);
    *n = json_string_length(v);
    if (*n > 0)
        return AW_OK;
    if (p->rule->needs & B(f))
        return s_fail(&p->w, AW_EINVAL, "'%s' must not be empty", key);
    *s = NULL;
    return AW_OK;
}

/* Stores a copy of s[n] as string field @p f. */
static int s_set_str(s_parse *p, int f, const char *s, size_t n)
{
    char *copy = strndup(s, n);

    if (copy == NULL)
        return s_fail(&p->w, AW_ENOMEM, "out of memory");
    free(*s_slot(p->ev, f));
    *s_slot(p->ev, f) = copy;
    p->seen |= B(f);
    return AW_OK;
}

static int s_read_text(s_parse *p, int f, json_t *v)
{
    const char *key = s_fields[f].key, *s = NULL;
    bool text = s_fields[f].type == T_TEXT;
    size_t max = text ? AW_HAZARD_TEXT_MAX : AW_HAZARD_NAME_MAX, n, bad;

    TRY(s_get_string(p, f, v, &s, &n));
    if (s == NULL)
        return AW_OK;
    if (n > max)
        return s_fail(&p->w, AW_ERANGE, "'%s' is %zu bytes, at most %zu", key, n, max);
    if ((bad = s_bad_char_at(s, n, text)) < n)
        return s_fail(&p->w, AW_EINVAL, "'%s': control character 0x%02x at byte %zu", key,
                      (unsigned char)s[bad], bad);
    return s_set_str(p, f, s, n);
}

static int s_read_site(s_parse *p, int f, json_t *v)
{
    const char *s = NULL;
    size_t n;

    TRY(s_get_string(p, f, v, &s, &n));
    if (s == NULL)
        return AW_OK;
    if (n > 256)
        return s_fail(&p->w, AW_ERANGE, "'site' is %zu bytes, at most 256", n);
    if (!s_site_path_ok(s, n))
        return s_fail(&p->w, AW_EINVAL,
                      "'site' must be a site path county/zone/village/site of [a-z0-9-] "
                      "segments, not '%s'",
                      s_q(s).s);
    return s_set_str(p, f, s, n);
}

static int s_read_sector(s_parse *p, int f, json_t *v)
{
    const char *s = NULL;
    size_t n;

    TRY(s_get_string(p, f, v, &s, &n));
    if (s == NULL)
        return AW_OK;
    if (!s_sector_ok(s))
        return s_fail(&p->w, AW_EINVAL, "'sector': unknown sector '%s'", s_q(s).s);
    return s_set_str(p, f, s, n);
}

/* level or source: a name of its enum. */
static int s_read_enum(s_parse *p, int f, json_t *v)
{
    const char *s = NULL;
    size_t n;
    bool level = s_fields[f].type == T_LEVEL;
    int rv;

    TRY(s_get_string(p, f, v, &s, &n));
    if (s == NULL)
        return AW_OK;
    rv =
        level ? aw_hazard_level_parse(s, &p->ev->level) : aw_hazard_source_parse(s, &p->ev->source);
    if (rv != AW_OK)
        return s_fail(&p->w, AW_EINVAL, "'%s' must be %s, not '%s'", s_fields[f].key,
                      level ? "general or major" : "self-inspection, public-report or inspection",
                      s_q(s).s);
    if (level)
        p->ev->has_level = 1;
    else
        p->ev->has_source = 1;
    p->seen |= B(f);
    return AW_OK;
}

static int s_read_deadline(s_parse *p, int f, json_t *v)
{
    int64_t ms;

    if (!json_is_string(v) || aw_time_parse_rfc3339(json_string_value(v), &ms) != AW_OK)
        return s_fail(&p->w, AW_EINVAL,
                      "'deadline' must be an RFC 3339 time such as 2026-12-31T00:00:00+08:00%s%s%s",
                      json_is_string(v) ? ", not '" : "",
                      json_is_string(v) ? s_q(json_string_value(v)).s : "",
                      json_is_string(v) ? "'" : "");
    if (ms < p->ctx->now_ms)
        return s_fail(&p->w, AW_ERANGE, "'deadline' %s is in the past",
                      s_q(json_string_value(v)).s);
    p->ev->has_deadline_ms = 1;
    p->ev->deadline_ms = ms;
    p->seen |= B(f);
    return AW_OK;
}

static int s_read_bool(s_parse *p, int f, json_t *v)
{
    if (!json_is_boolean(v))
        return s_fail(&p->w, AW_EINVAL, "'%s' must be true or false", s_fields[f].key);
    p->ev->has_ok = 1;
    p->ev->ok = json_is_true(v);
    p->seen |= B(f);
    return AW_OK;
}

static int s_read_field(s_parse *p, int f, json_t *v)
{
    switch (s_fields[f].type) {
    case T_SITE:
        return s_read_site(p, f, v);
    case T_SECTOR:
        return s_read_sector(p, f, v);
    case T_LEVEL:
    case T_SOURCE:
        return s_read_enum(p, f, v);
    case T_TIME:
        return s_read_deadline(p, f, v);
    case T_BOOL:
        return s_read_bool(p, f, v);
    case T_LINE:
    case T_TEXT:
        break;
    }
    return s_read_text(p, f, v);
}

static int s_unknown_key(const s_parse *p, const char *key)
{
    for (size_t i = 0; i < sizeof s_server_keys / sizeof s_server_keys[0]; i++)
        if (strcmp(key, s_server_keys[i]) == 0)
            return s_fail(&p->w, AW_EINVAL, "'%s' is set by the server, not by the sender", key);
    return s_fail(&p->w, AW_EINVAL, "unknown field '%s'", s_q(key).s);
}

/* Reads every key of @p root except "op" into the event. */
static int s_read_keys(s_parse *p, json_t *root)
{
    const char *key;
    json_t *v;

    json_object_foreach(root, key, v)
    {
        int f = s_field_index(key);
        if (strcmp(key, "op") == 0)
            continue;
        if (f < 0)
            return s_unknown_key(p, key);
        if (json_is_null(v))
            continue;
        if (!(p->rule->may & B(f)))
            return s_fail(&p->w, AW_EINVAL, "'%s' does not belong to op %s", key, s_op_name(p));
        TRY(s_read_field(p, f, v));
    }
    return AW_OK;
}

static int s_check_needs(const s_parse *p)
{
    unsigned missing = p->rule->needs & ~p->seen;
    const Anwang__HazardEvent *ev = p->ev;

    for (int f = 0; f < F_COUNT; f++)
        if (missing & B(f))
            return s_fail(&p->w, AW_EINVAL, "missing field '%s' (op %s needs it)", s_fields[f].key,
                          s_op_name(p));
    if (ev->op == ANWANG__HAZARD_OP__HAZARD_REPORT &&
        ev->source != ANWANG__HAZARD_SOURCE__SOURCE_PUBLIC_REPORT && ev->reporter == NULL)
        return s_fail(&p->w, AW_EINVAL,
                      "missing field 'reporter' (only a public-report may be anonymous)");
    return AW_OK;
}

/* An authenticated actor is the event's by; a JSON "by" may only repeat it. */
static int s_apply_by(s_parse *p)
{
    const char *by = p->ctx->by;

    if (by == NULL)
        return AW_OK;
    if (p->ev->by != NULL && strcmp(p->ev->by, by) != 0)
        return s_fail(&p->w, AW_EPERM, "'by' is '%s' but the sender is '%s'", s_q(p->ev->by).s,
                      s_q(by).s);
    return p->ev->by != NULL ? AW_OK : s_set_str(p, F_BY, by, strlen(by));
}

static int s_read_event(s_parse *p, json_t *root)
{
    TRY(s_read_keys(p, root));
    TRY(s_check_needs(p));
    return s_apply_by(p);
}

/* A new event of @p op stamped from the context. *out is set even when a
 * copy fails, so the caller frees what was made. */
static int s_event_new(s_parse *p, const char *hazard_id, Anwang__HazardOp op)
{
    Anwang__HazardEvent *ev = malloc(sizeof *ev);

    if (ev == NULL)
        return s_fail(&p->w, AW_ENOMEM, "out of memory");
    *ev = (Anwang__HazardEvent)ANWANG__HAZARD_EVENT__INIT;
    p->ev = ev;
    p->rule = &s_ops[op];
    ev->op = op;
    ev->hlc = p->ctx->hlc;
    ev->has_time_ms = 1;
    ev->time_ms = p->ctx->now_ms;
    ev->hazard_id = strdup(hazard_id);
    ev->origin = strdup(p->ctx->origin);
    if (ev->hazard_id == NULL || ev->origin == NULL)
        return s_fail(&p->w, AW_ENOMEM, "out of memory");
    return AW_OK;
}

static int s_check_site(s_parse *p)
{
    char why[256] = "";
    int rv;

    if (p->ctx->site_ok == NULL)
        return AW_OK;
    rv = p->ctx->site_ok(p->ctx->site_arg, p->ev->site, p->ev->sector, why, sizeof why);
    if (rv == AW_OK)
        return AW_OK;
    why[sizeof why - 1] = '\0';
    if (why[0] == '\0')
        return s_fail(&p->w, rv, "site '%s' refused", p->ev->site);
    return s_fail(&p->w, rv, "%s", s_qn(why, S_QUOTE_MAX).s);
}

/* The codec's word on the finished event, wrapped as the Record it will be. */
static int s_validate(s_parse *p)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    char why[256];
    int rv;

    rec.hlc = p->ev->hlc;
    rec.body_case = ANWANG__RECORD__BODY_HAZARD;
    rec.hazard = p->ev;
    rv = aw_codec_record_validate(&rec, NULL, why, sizeof why);
    return rv == AW_OK ? AW_OK : s_fail(&p->w, rv, "%s", why);
}

/* Hands the event out on success; frees everything otherwise. */
static int s_finish(s_parse *p, json_t *root, int rv, Anwang__HazardEvent **out)
{
    json_decref(root);
    if (rv != AW_OK) {
        aw_hazard_event_destroy(&p->ev);
        return rv;
    }
    *out = p->ev;
    if (p->w.buf != NULL && p->w.len > 0)
        p->w.buf[0] = '\0';
    return AW_OK;
}

/* A report may say "op": "report" (or null); nothing else. */
static int s_report_op(json_t *root, const s_why *w)
{
    json_t *v = json_object_get(root, "op");

    if (v == NULL || json_is_null(v) ||
        (json_is_string(v) && strcmp(json_string_value(v), "report") == 0))
        return AW_OK;
    return s_fail(w, AW_EINVAL, "'op' of a report must be \"report\"%s%s%s",
                  json_is_string(v) ? ", not '" : "",
                  json_is_string(v) ? s_q(json_string_value(v)).s : "",
                  json_is_string(v) ? "'" : "");
}

int aw_hazard_report_from_json(const char *json, size_t len, const aw_hazard_ctx *ctx,
                               Anwang__HazardEvent **out, char *why, size_t why_len)
{
    s_parse p = {.ctx = ctx, .w = {why, why_len}};
    char id[AW_HAZARD_ID_LEN];
    json_t *root = NULL;
    int rv;

    if (out == NULL)
        return s_fail(&p.w, AW_EINVAL, "no output");
    *out = NULL;
    TRY(s_check_ctx(ctx, &p.w));
    TRY(s_load(json, len, &root, &p.w));
    aw_hazard_id_format(ctx->origin, ctx->hlc, id, sizeof id);
    rv = s_report_op(root, &p.w);
    if (rv == AW_OK)
        rv = s_event_new(&p, id, ANWANG__HAZARD_OP__HAZARD_REPORT);
    if (rv == AW_OK)
        rv = s_read_event(&p, root);
    if (rv == AW_OK)
        rv = s_check_site(&p);
    if (rv == AW_OK)
        rv = s_validate(&p);
    return s_finish(&p, root, rv, out);
}

/* A lifecycle event needs "op": one of the ledger's op names except report. */
static int s_event_op(json_t *root, Anwang__HazardOp *op, const s_why *w)
{
    json_t *v = json_object_get(root, "op");

    if (v == NULL || json_is_null(v))
        return s_fail(w, AW_EINVAL, "missing field 'op'");
    if (!json_is_string(v))
        return s_fail(w, AW_EINVAL, "'op' must be a string");
    if (aw_hazard_op_parse(json_string_value(v), op) != AW_OK)
        return s_fail(w, AW_EINVAL,
                      "unknown op '%s' (assign, start, rectified, verify, notify, note, reopen)",
                      s_q(json_string_value(v)).s);
    if (*op == ANWANG__HAZARD_OP__HAZARD_REPORT)
        return s_fail(w, AW_EINVAL,
                      "op report is not a lifecycle event: post reports to the hazards list");
    return AW_OK;
}

int aw_hazard_event_from_json(const char *json, size_t len, const char *hazard_id,
                              const aw_hazard_ctx *ctx, Anwang__HazardEvent **out, char *why,
                              size_t why_len)
{
    s_parse p = {.ctx = ctx, .w = {why, why_len}};
    Anwang__HazardOp op;
    json_t *root = NULL;
    int rv;

    if (out == NULL)
        return s_fail(&p.w, AW_EINVAL, "no output");
    *out = NULL;
    TRY(s_check_ctx(ctx, &p.w));
    if (!s_ident_ok(hazard_id))
        return s_fail(&p.w, AW_EINVAL, "bad hazard id '%s'", s_q(hazard_id).s);
    TRY(s_load(json, len, &root, &p.w));
    rv = s_event_op(root, &op, &p.w);
    if (rv == AW_OK)
        rv = s_event_new(&p, hazard_id, op);
    if (rv == AW_OK)
        rv = s_read_event(&p, root);
    if (rv == AW_OK)
        rv = s_validate(&p);
    return s_finish(&p, root, rv, out);
}

void aw_hazard_event_destroy(Anwang__HazardEvent **ev_p)
{
    Anwang__HazardEvent *ev;

    if (ev_p == NULL || *ev_p == NULL)
        return;
    ev = *ev_p;
    free(ev->hazard_id);
    free(ev->origin);
    for (int f = 0; f < F_COUNT; f++)
        if (s_is_string_type(s_fields[f].type))
            free(*s_slot(ev, f));
    free(ev);
    *ev_p = NULL;
}

int aw_hazard_id_format(const char *origin, uint64_t hlc, char *buf, size_t len)
{
    int n;

    if (buf != NULL && len > 0)
        buf[0] = '\0';
    if (!s_origin_ok(origin))
        return AW_EINVAL;
    if (buf == NULL)
        return AW_ERANGE;
    n = snprintf(buf, len, "%s-%016" PRIx64, origin, hlc);
    if (n < 0 || (size_t)n >= len) {
        if (len > 0)
            buf[0] = '\0';
        return AW_ERANGE;
    }
    return AW_OK;
}

int aw_hazard_site_in_registry(void *reg, const char *site, const char *sector, char *why,
                               size_t why_len)
{
    const char *zone;

    if (reg != NULL && site != NULL && aw_registry_site_find(reg, site) != NULL)
        return AW_OK;
    zone = reg != NULL ? aw_registry_extract_zone(reg) : NULL;
    if (why != NULL && why_len > 0) {
        if (zone != NULL)
            snprintf(why, why_len, "site '%s' is not a site of zone %s", s_q(site).s, zone);
        else
            snprintf(why, why_len, "site '%s' is not in the registry", s_q(site).s);
    }
    return AW_ENOTFOUND;
}

/* ================================================================ writing */

/* Adds @p v (a new reference, or NULL after a failed allocation) under @p key. */
static int s_put(json_t *o, const char *key, json_t *v)
{
    return json_object_set_new(o, key, v) == 0 ? AW_OK : AW_ENOMEM;
}

/* Adds a string, or null when @p s is NULL. */
static int s_put_str(json_t *o, const char *key, const char *s)
{
    if (s != NULL && !aw_utf8_valid(s, strlen(s)))
        return AW_EUTF8;
    return s_put(o, key, s != NULL ? json_string(s) : json_null());
}

/* Adds an enum's name, or its number when it has none. */
static int s_put_name(json_t *o, const char *key, const char *name, int value)
{
    return s_put(o, key, name != NULL ? json_string(name) : json_integer(value));
}

/* Adds a time in RFC 3339, or null when it cannot be written so. */
static int s_put_time(json_t *o, const char *key, int64_t ms)
{
    char buf[AW_RFC3339_LEN];

    return s_put(o, key, aw_time_format_rfc3339(ms, buf) == AW_OK ? json_string(buf) : json_null());
}

static int s_put_hlc(json_t *o, uint64_t hlc)
{
    char buf[24];

    snprintf(buf, sizeof buf, "%" PRIu64, hlc);
    return s_put(o, "hlc", json_string(buf));
}

/* Adds field @p f when @p ev has it. */
static int s_put_field(json_t *o, const Anwang__HazardEvent *ev, int f)
{
    const char *key = s_fields[f].key;

    switch (s_fields[f].type) {
    case T_LEVEL:
        return ev->has_level ? s_put_name(o, key, aw_hazard_level_name(ev->level), ev->level)
                             : AW_OK;
    case T_SOURCE:
        return ev->has_source ? s_put_name(o, key, aw_hazard_source_name(ev->source), ev->source)
                              : AW_OK;
    case T_TIME:
        return ev->has_deadline_ms ? s_put_time(o, key, ev->deadline_ms) : AW_OK;
    case T_BOOL:
        return ev->has_ok ? s_put(o, key, json_boolean(ev->ok)) : AW_OK;
    default:
        return s_str_at(ev, f) != NULL ? s_put_str(o, key, s_str_at(ev, f)) : AW_OK;
    }
}

/* Head ("op", "hlc", "origin", "by", "at") and fields of @p ev into @p o. A
 * ledger @p entry always has "by" (null when unset). */
static int s_put_event(json_t *o, const Anwang__HazardEvent *ev, bool entry)
{
    TRY(s_put_name(o, "op", aw_hazard_op_name(ev->op), ev->op));
    TRY(s_put_hlc(o, ev->hlc));
    TRY(s_put_str(o, "origin", ev->origin));
    if (entry || ev->by != NULL)
        TRY(s_put_str(o, "by", ev->by));
    TRY(s_put_time(o, "at", aw_hazard_event_time_ms(ev)));
    for (int f = F_BY + 1; f < F_COUNT; f++)
        TRY(s_put_field(o, ev, f));
    return AW_OK;
}

int aw_hazard_event_to_json(const Anwang__HazardEvent *ev, json_t **out)
{
    json_t *o;
    int rv;

    if (out == NULL)
        return AW_EINVAL;
    *out = NULL;
    if (ev == NULL || ev->hazard_id == NULL || ev->origin == NULL)
        return AW_EINVAL;
    if ((o = json_object()) == NULL)
        return AW_ENOMEM;
    rv = s_put_str(o, "hazard_id", ev->hazard_id);
    if (rv == AW_OK)
        rv = s_put_event(o, ev, false);
    if (rv != AW_OK) {
        json_decref(o);
        return rv;
    }
    *out = o;
    return AW_OK;
}

/* The report part of a state: null values while unreported. */
static int s_put_report(json_t *o, const aw_hazard_state *st)
{
    bool r = st->status != AW_HAZARD_UNREPORTED;

    TRY(s_put_str(o, "id", st->id));
    TRY(s_put_str(o, "site", st->site));
    TRY(s_put_str(o, "sector", st->sector));
    TRY(r ? s_put_name(o, "level", aw_hazard_level_name(st->level), st->level)
          : s_put(o, "level", json_null()));
    TRY(s_put_str(o, "title", st->title));
    TRY(s_put_str(o, "description", st->description));
    TRY(r ? s_put_name(o, "source", aw_hazard_source_name(st->source), st->source)
          : s_put(o, "source", json_null()));
    TRY(s_put_str(o, "reporter", st->reporter));
    TRY(s_put_name(o, "status", aw_hazard_status_name(st->status), (int)st->status));
    return r ? s_put_time(o, "reported_at", st->reported_at_ms)
             : s_put(o, "reported_at", json_null());
}

static int s_put_assignment(json_t *o, const aw_hazard_state *st)
{
    json_t *a;
    int rv;

    if (st->unit == NULL)
        return s_put(o, "assignment", json_null());
    if ((a = json_object()) == NULL)
        return AW_ENOMEM;
    rv = s_put_str(a, "unit", st->unit);
    if (rv == AW_OK)
        rv = s_put_str(a, "person", st->person);
    if (rv == AW_OK)
        rv = s_put_time(a, "deadline", st->deadline_ms);
    if (rv != AW_OK) {
        json_decref(a);
        return rv;
    }
    return s_put(o, "assignment", a);
}

static int s_put_progress(json_t *o, const aw_hazard_state *st, int64_t now_ms)
{
    TRY(s_put_assignment(o, st));
    TRY(s_put_str(o, "evidence", st->evidence));
    TRY(st->status == AW_HAZARD_CLOSED ? s_put_time(o, "closed_at", st->closed_at_ms)
                                       : s_put(o, "closed_at", json_null()));
    TRY(s_put(o, "overdue", json_boolean(aw_hazard_overdue(st, now_ms))));
    return s_put(o, "dual_reported", json_boolean(aw_hazard_dual_reported(st)));
}

static int s_put_entry(json_t *ledger, const aw_hazard_entry *e)
{
    json_t *o;
    int rv;

    if (e->event == NULL || e->event->origin == NULL)
        return AW_EINVAL;
    if ((o = json_object()) == NULL)
        return AW_ENOMEM;
    rv = s_put_event(o, e->event, true);
    if (rv == AW_OK)
        rv = s_put(o, "accepted", json_boolean(e->accepted));
    if (rv == AW_OK && !e->accepted)
        rv = s_put_str(o, "reason", e->reason != NULL ? e->reason : "rejected");
    if (rv != AW_OK) {
        json_decref(o);
        return rv;
    }
    return json_array_append_new(ledger, o) == 0 ? AW_OK : AW_ENOMEM;
}

/* The ledger array; @p o owns it as soon as it is made. */
static int s_put_ledger(json_t *o, const aw_hazard_state *st)
{
    json_t *ledger = json_array();

    TRY(s_put(o, "ledger", ledger));
    for (size_t i = 0; i < st->n_entries; i++)
        TRY(s_put_entry(ledger, &st->entries[i]));
    return AW_OK;
}

int aw_hazard_state_to_json(const aw_hazard_state *st, int64_t now_ms, json_t **out)
{
    json_t *o;
    int rv;

    if (out == NULL)
        return AW_EINVAL;
    *out = NULL;
    if (st == NULL || st->id == NULL || (st->n_entries > 0 && st->entries == NULL))
        return AW_EINVAL;
    if ((o = json_object()) == NULL)
        return AW_ENOMEM;
    rv = s_put_report(o, st);
    if (rv == AW_OK)
        rv = s_put_progress(o, st, now_ms);
    if (rv == AW_OK)
        rv = s_put_ledger(o, st);
    if (rv != AW_OK) {
        json_decref(o);
        return rv;
    }
    *out = o;
    return AW_OK;
}
