#include "ledger.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "hlc.h"

/* ------------------------------------------------------------ names */

static const char *const s_status_names[AW_HAZARD_STATUS_COUNT] = {
    "unreported", "reported", "assigned", "rectifying", "rectified", "closed",
};
static const char *const s_op_names[] = {
    "report", "assign", "start", "rectified", "verify", "notify", "note", "reopen",
};
static const char *const s_level_names[] = {"general", "major"};
static const char *const s_source_names[] = {"self-inspection", "public-report", "inspection"};

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Returns names[value], or NULL when value is out of range. */
static const char *s_name(const char *const *names, size_t n, int value)
{
    return value >= 0 && (size_t)value < n ? names[value] : NULL;
}

/* Finds @p name in @p names; returns its index or -1. */
static int s_lookup(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

const char *aw_hazard_status_name(aw_hazard_status status)
{
    return s_name(s_status_names, S_COUNT(s_status_names), (int)status);
}

int aw_hazard_status_parse(const char *name, aw_hazard_status *out)
{
    int i = s_lookup(s_status_names, S_COUNT(s_status_names), name);

    if (i < 0)
        return AW_EINVAL;
    *out = (aw_hazard_status)i;
    return AW_OK;
}

const char *aw_hazard_op_name(Anwang__HazardOp op)
{
    return s_name(s_op_names, S_COUNT(s_op_names), (int)op);
}

int aw_hazard_op_parse(const char *name, Anwang__HazardOp *out)
{
    int i = s_lookup(s_op_names, S_COUNT(s_op_names), name);

    if (i < 0)
        return AW_EINVAL;
    *out = (Anwang__HazardOp)i;
    return AW_OK;
}

const char *aw_hazard_level_name(Anwang__HazardLevel level)
{
    return s_name(s_level_names, S_COUNT(s_level_names), (int)level);
}

int aw_hazard_level_parse(const char *name, Anwang__HazardLevel *out)
{
    int i = s_lookup(s_level_names, S_COUNT(s_level_names), name);

    if (i < 0)
        return AW_EINVAL;
    *out = (Anwang__HazardLevel)i;
    return AW_OK;
}

const char *aw_hazard_source_name(Anwang__HazardSource source)
{
    return s_name(s_source_names, S_COUNT(s_source_names), (int)source);
}

int aw_hazard_source_parse(const char *name, Anwang__HazardSource *out)
{
    int i = s_lookup(s_source_names, S_COUNT(s_source_names), name);

    if (i < 0)
        return AW_EINVAL;
    *out = (Anwang__HazardSource)i;
    return AW_OK;
}

/* ------------------------------------------------------------ event order */

static int s_cmp_u64(uint64_t a, uint64_t b)
{
    return (a > b) - (a < b);
}

static int s_cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

/* strcmp with NULL (unset) before every string. */
static int s_cmp_str(const char *a, const char *b)
{
    int r;

    if (a == b)
        return 0;
    if (!a || !b)
        return a ? 1 : -1;
    r = strcmp(a, b);
    return (r > 0) - (r < 0);
}

/* Compares two values of protobuf-c type @p type stored at @p a and @p b.
 * Handles the kinds HazardEvent has: integers, enums, bools and strings. */
static int s_value_cmp(ProtobufCType type, const void *a, const void *b)
{
    switch (type) {
    case PROTOBUF_C_TYPE_STRING:
        return s_cmp_str(*(char *const *)a, *(char *const *)b);
    case PROTOBUF_C_TYPE_BOOL:
        return (*(const protobuf_c_boolean *)a != 0) - (*(const protobuf_c_boolean *)b != 0);
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        return s_cmp_i64(*(const int32_t *)a, *(const int32_t *)b);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return s_cmp_u64(*(const uint32_t *)a, *(const uint32_t *)b);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return s_cmp_i64(*(const int64_t *)a, *(const int64_t *)b);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return s_cmp_u64(*(const uint64_t *)a, *(const uint64_t *)b);
    default:
        /* test_ledger (field_kinds_are_handled) fails before this is reached */
        assert(!"HazardEvent field kind not handled by s_value_cmp");
        return 0;
    }
}

/*
 * Compares one field of two messages through its protobuf-c descriptor, so
 * a field added to HazardEvent takes part in the order without a change
 * here. An optional scalar that is unset sorts before one that is set
 * (strings: NULL before any string). HazardEvent has no repeated, oneof or
 * message fields.
 */
static int s_field_cmp(const ProtobufCFieldDescriptor *f, const void *a, const void *b)
{
    const char *ma = a, *mb = b;

    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0) {
        protobuf_c_boolean ha = *(const protobuf_c_boolean *)(ma + f->quantifier_offset);
        protobuf_c_boolean hb = *(const protobuf_c_boolean *)(mb + f->quantifier_offset);
        if (!ha || !hb)
            return (ha != 0) - (hb != 0);
    }
    return s_value_cmp(f->type, ma + f->offset, mb + f->offset);
}

int aw_hazard_event_cmp(const Anwang__HazardEvent *a, const Anwang__HazardEvent *b)
{
    const ProtobufCMessageDescriptor *d = &anwang__hazard_event__descriptor;
    int r;

    if ((r = s_cmp_u64(a->hlc, b->hlc)) != 0)
        return r;
    if ((r = s_cmp_str(a->origin, b->origin)) != 0)
        return r;
    for (unsigned i = 0; i < d->n_fields; i++)
        if ((r = s_field_cmp(&d->fields[i], a, b)) != 0)
            return r;
    return 0;
}

/* Same (hlc, origin): the same event id. */
static bool s_same_id(const Anwang__HazardEvent *a, const Anwang__HazardEvent *b)
{
    return a->hlc == b->hlc && s_cmp_str(a->origin, b->origin) == 0;
}

/* ------------------------------------------------------------ transitions */

/* A string field is present when non-NULL and non-empty. */
static bool s_has(const char *s)
{
    return s && *s;
}

int64_t aw_hazard_event_time_ms(const Anwang__HazardEvent *ev)
{
    return ev->has_time_ms ? ev->time_ms : (int64_t)aw_hlc_ms(ev->hlc);
}

/* Each handler applies one op to @p st; returns NULL when accepted, else the
 * reason (and then leaves @p st unchanged). */
typedef const char *(*s_op_fn)(aw_hazard_state *st, const Anwang__HazardEvent *ev);

static const char *s_report(aw_hazard_state *st, const Anwang__HazardEvent *ev)
{
    if (st->status != AW_HAZARD_UNREPORTED)
        return "already reported";
    if (!s_has(ev->site) || !s_has(ev->sector) || !ev->has_level || !s_has(ev->title) ||
        !ev->has_source)
        return "report needs site, sector, level, title and source";
    if (!aw_hazard_level_name(ev->level) || !aw_hazard_source_name(ev->source))
        return "report has an unknown level or source";
    st->status = AW_HAZARD_REPORTED;
    st->site = ev->site;
    st->sector = ev->sector;
    st->level = ev->level;
    st->title = ev->title;
    st->description = ev->description;
    st->source = ev->source;
    st->reporter = ev->reporter;
    st->reported_by = ev->by;
    st->reported_at_ms = aw_hazard_event_time_ms(ev);
    return NULL;
}

/* 交办, or a re-assignment. Rectifying with the same unit (a new person or
 * deadline) keeps rectifying; another unit must start afresh. */
static const char *s_assign(aw_hazard_state *st, const Anwang__HazardEvent *ev)
{
    if (st->status != AW_HAZARD_REPORTED && st->status != AW_HAZARD_ASSIGNED &&
        st->status != AW_HAZARD_RECTIFYING)
        return "assign needs status reported, assigned or rectifying";
    if (!s_has(ev->unit) || !s_has(ev->person) || !ev->has_deadline_ms)
        return "assign needs unit, person and deadline";
    if (st->status != AW_HAZARD_RECTIFYING || strcmp(st->unit, ev->unit) != 0)
        st->status = AW_HAZARD_ASSIGNED;
    st->unit = ev->unit;
    st->person = ev->person;
    st->deadline_ms = ev->deadline_ms;
    return NULL;
}

static const char *s_start(aw_hazard_state *st, const Anwang__HazardEvent *ev)
{
    if (st->status != AW_HAZARD_ASSIGNED)
        return "start needs status assigned";
    st->status = AW_HAZARD_RECTIFYING;
    return NULL;
}

static const char *s_rectified(aw_hazard_state *st, const Anwang__HazardEvent *ev)
{
    if (st->status != AW_HAZARD_RECTIFYING)
        return "rectified needs status rectifying";
    if (!s_has(ev->evidence))
        return "rectified needs evidence";
    st->status = AW_HAZARD_RECTIFIED;
    st->evidence = ev->evidence;
    return NULL;
}

/* ok = 销号 (closed); fail = back to rectifying, the evidence did not hold. */
static const char *s_verify(aw_hazard_state *st, const Anwang__HazardEvent *ev)
{
    if (st->status != AW_HAZARD_RECTIFIED)
        return "verify needs status rectified";
    if (!ev->has_ok)
        return "verify needs ok";
    if (ev->ok) {
        st->status = AW_HAZARD_CLOSED;
        st->closed_at_ms = aw_hazard_event_time_ms(ev);
    } else {
        st->status = AW_HAZARD_RECTIFYING;
        st->evidence = NULL;
    }
    return NULL;
}

/* True when @p audience is "sector:<sector>". */
static bool s_is_sector_audience(const char *audience, const char *sector)
{
    size_t plen = strlen(AW_AUDIENCE_SECTOR_PREFIX);

    return strncmp(audience, AW_AUDIENCE_SECTOR_PREFIX, plen) == 0 &&
           strcmp(audience + plen, sector) == 0;
}

static const char *s_notify(aw_hazard_state *st, const Anwang__HazardEvent *ev)
{
    if (!s_has(ev->audience) || !s_has(ev->text))
        return "notify needs audience and text";
    st->notify_count++;
    if (strcmp(ev->audience, AW_AUDIENCE_SAFETY_BUREAU) == 0)
        st->notified_bureau = true;
    else if (s_is_sector_audience(ev->audience, st->sector))
        st->notified_sector = true;
    return NULL;
}

static const char *s_note(aw_hazard_state *st, const Anwang__HazardEvent *ev)
{
    return s_has(ev->note) ? NULL : "note needs note text";
}

/* After a close: back to reported, so it needs a new 交办. */
static const char *s_reopen(aw_hazard_state *st, const Anwang__HazardEvent *ev)
{
    if (st->status != AW_HAZARD_CLOSED)
        return "reopen needs status closed";
    st->status = AW_HAZARD_REPORTED;
    st->unit = NULL;
    st->person = NULL;
    st->deadline_ms = 0;
    st->evidence = NULL;
    st->closed_at_ms = 0;
    st->reopen_count++;
    return NULL;
}

/* Indexed by Anwang__HazardOp. */
static const s_op_fn s_ops[] = {
    s_report, s_assign, s_start, s_rectified, s_verify, s_notify, s_note, s_reopen,
};

/* Applies @p ev at its place in the fold; returns NULL or the reason. */
static const char *s_apply(aw_hazard_state *st, const Anwang__HazardEvent *ev)
{
    const char *reason;

    if ((int)ev->op < 0 || (size_t)ev->op >= S_COUNT(s_ops))
        return "unknown op";
    if (st->status == AW_HAZARD_UNREPORTED && ev->op != ANWANG__HAZARD_OP__HAZARD_REPORT)
        return "no report yet";
    reason = s_ops[ev->op](st, ev);
    if (!reason)
        st->last_hlc = ev->hlc;
    return reason;
}

/* ------------------------------------------------------------ fold */

/* One input event and its position, sorted into fold order. */
typedef struct s_item {
    const Anwang__HazardEvent *ev;
    size_t index;
} s_item;

/* Fold order; copies of one event keep their input order (any is fine:
 * they are equal, but a total order keeps qsort's result reproducible). */
static int s_item_cmp(const void *a, const void *b)
{
    const s_item *x = a, *y = b;
    int r = aw_hazard_event_cmp(x->ev, y->ev);

    return r ? r : (x->index > y->index) - (x->index < y->index);
}

/* AW_OK when every event is usable and all share the first's hazard_id. */
static int s_check_input(const Anwang__HazardEvent *const *events, size_t n)
{
    if (!events || n == 0)
        return AW_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const Anwang__HazardEvent *ev = events[i];
        if (!ev || !ev->hazard_id || !ev->origin || strcmp(ev->hazard_id, events[0]->hazard_id))
            return AW_EINVAL;
    }
    return AW_OK;
}

/* Folds the sorted items into @p st: drops copies, rejects conflicting ids. */
static void s_fold_sorted(aw_hazard_state *st, const s_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const Anwang__HazardEvent *ev = items[i].ev;
        aw_hazard_entry *e;

        if (i > 0 && aw_hazard_event_cmp(items[i - 1].ev, ev) == 0)
            continue;
        e = &st->entries[st->n_entries++];
        e->event = ev;
        e->index = items[i].index;
        if (i > 0 && s_same_id(items[i - 1].ev, ev))
            e->reason = "conflicting event id";
        else
            e->reason = s_apply(st, ev);
        e->accepted = e->reason == NULL;
    }
}

int aw_ledger_fold(const Anwang__HazardEvent *const *events, size_t n, aw_hazard_state **out)
{
    aw_hazard_state *st = NULL;
    s_item *items = NULL;
    int rv;

    *out = NULL;
    if ((rv = s_check_input(events, n)) != AW_OK)
        return rv;
    if (n > SIZE_MAX / sizeof(s_item) || n > SIZE_MAX / sizeof(aw_hazard_entry))
        return AW_ENOMEM;
    st = calloc(1, sizeof *st);
    items = malloc(n * sizeof *items);
    if (!st || !items || !(st->entries = calloc(n, sizeof *st->entries))) {
        aw_hazard_state_destroy(&st);
        free(items);
        return AW_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = (s_item){events[i], i};
    qsort(items, n, sizeof *items, s_item_cmp);
    st->id = events[0]->hazard_id;
    s_fold_sorted(st, items, n);
    free(items);
    *out = st;
    return AW_OK;
}

void aw_hazard_state_destroy(aw_hazard_state **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->entries);
    free(*self_p);
    *self_p = NULL;
}

/* ------------------------------------------------------------ queries */

static bool s_entries_equal(const aw_hazard_state *a, const aw_hazard_state *b)
{
    if (a->n_entries != b->n_entries)
        return false;
    for (size_t i = 0; i < a->n_entries; i++) {
        const aw_hazard_entry *x = &a->entries[i], *y = &b->entries[i];
        if (x->accepted != y->accepted || s_cmp_str(x->reason, y->reason) != 0 ||
            aw_hazard_event_cmp(x->event, y->event) != 0)
            return false;
    }
    return true;
}

bool aw_hazard_state_equal(const aw_hazard_state *a, const aw_hazard_state *b)
{
    return s_cmp_str(a->id, b->id) == 0 && a->status == b->status &&
           s_cmp_str(a->site, b->site) == 0 && s_cmp_str(a->sector, b->sector) == 0 &&
           a->level == b->level && s_cmp_str(a->title, b->title) == 0 &&
           s_cmp_str(a->description, b->description) == 0 && a->source == b->source &&
           s_cmp_str(a->reporter, b->reporter) == 0 &&
           s_cmp_str(a->reported_by, b->reported_by) == 0 &&
           a->reported_at_ms == b->reported_at_ms && s_cmp_str(a->unit, b->unit) == 0 &&
           s_cmp_str(a->person, b->person) == 0 && a->deadline_ms == b->deadline_ms &&
           s_cmp_str(a->evidence, b->evidence) == 0 && a->closed_at_ms == b->closed_at_ms &&
           a->reopen_count == b->reopen_count && a->notify_count == b->notify_count &&
           a->notified_bureau == b->notified_bureau && a->notified_sector == b->notified_sector &&
           a->last_hlc == b->last_hlc && s_entries_equal(a, b);
}

bool aw_hazard_overdue(const aw_hazard_state *st, int64_t now_ms)
{
    return (st->status == AW_HAZARD_ASSIGNED || st->status == AW_HAZARD_RECTIFYING) &&
           now_ms > st->deadline_ms;
}

bool aw_hazard_dual_reported(const aw_hazard_state *st)
{
    return st->notified_bureau && st->notified_sector;
}

bool aw_hazard_dual_report_missing(const aw_hazard_state *st)
{
    return st->status != AW_HAZARD_UNREPORTED && st->level == ANWANG__HAZARD_LEVEL__HAZARD_MAJOR &&
           !aw_hazard_dual_reported(st);
}

/* ------------------------------------------------------------ 双报告 */

/* Fills @p ev as a notify to @p audience derived from @p report. */
static void s_notify_init(Anwang__HazardEvent *ev, const Anwang__HazardEvent *report,
                          const char *origin, uint64_t hlc, int64_t time_ms, char *audience)
{
    *ev = (Anwang__HazardEvent)ANWANG__HAZARD_EVENT__INIT;
    ev->hazard_id = report->hazard_id;
    ev->hlc = hlc;
    ev->origin = (char *)origin;
    ev->op = ANWANG__HAZARD_OP__HAZARD_NOTIFY;
    ev->audience = audience;
    ev->text = report->title;
    ev->has_time_ms = true;
    ev->time_ms = time_ms;
}

int aw_dual_report_new(const Anwang__HazardEvent *report, const char *origin, uint64_t hlc_bureau,
                       uint64_t hlc_sector, int64_t time_ms, aw_dual_report **out)
{
    static const char bureau[] = AW_AUDIENCE_SAFETY_BUREAU;
    static const char prefix[] = AW_AUDIENCE_SECTOR_PREFIX;
    aw_dual_report *dr;
    size_t slen;

    *out = NULL;
    if (!report || report->op != ANWANG__HAZARD_OP__HAZARD_REPORT || !report->has_level ||
        report->level != ANWANG__HAZARD_LEVEL__HAZARD_MAJOR || !s_has(report->hazard_id) ||
        !s_has(report->sector) || !s_has(report->title) || !s_has(origin) ||
        hlc_bureau == hlc_sector)
        return AW_EINVAL;
    /* audience_ holds "safety-bureau\0sector:<sector>\0" */
    slen = strlen(report->sector);
    if (!(dr = malloc(sizeof *dr + sizeof bureau + sizeof prefix + slen)))
        return AW_ENOMEM;
    char *sector_audience = dr->audience_ + sizeof bureau;
    memcpy(dr->audience_, bureau, sizeof bureau);
    memcpy(sector_audience, prefix, sizeof prefix - 1);
    memcpy(sector_audience + sizeof prefix - 1, report->sector, slen + 1);
    s_notify_init(&dr->events[0], report, origin, hlc_bureau, time_ms, dr->audience_);
    s_notify_init(&dr->events[1], report, origin, hlc_sector, time_ms, sector_audience);
    *out = dr;
    return AW_OK;
}

void aw_dual_report_destroy(aw_dual_report **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}
