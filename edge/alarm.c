/* The alarm engine of SPEC §4; semantics in alarm.h.
 *
 * State lives in three parallel tables built from the registry: points (one
 * per metric, by aw_metric.index), devices (by aw_device.index) and items
 * (one per (site, item) with thresholds, sorted by site path then item).
 * Each table entry keeps its mutable part in a plain struct (s_state,
 * s_dev_state, s_item_state) so a transaction can save a copy of it before
 * its first change and put the copy back on rollback. */
#include "alarm.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NO_ITEM       ((size_t)-1)
#define S_STATE_VERSION 1

/* ------------------------------------------------------------ tables */

/* One point's alarm: its level on a signed scale (see s_signed) plus the
 * pending debounce streak. */
typedef struct s_state {
    aw_level level; /* NONE: no active alarm */
    aw_direction dir;
    int streak_sign;  /* +1: samples want up, -1: down, 0: none pending */
    int streak_bound; /* signed target nearest the current state */
    unsigned streak;  /* consecutive samples on that side */
    double first_value, last_value;
    int64_t first_time_ms, last_time_ms, acked_ms;
    char id[AW_ALARM_ID_MAX];
    char acked_by[AW_ALARM_BY_MAX];
} s_state;

typedef struct s_point {
    const aw_metric *metric;
    size_t item; /* S_NO_ITEM: the metric has no thresholds */
    uint64_t saved;
    s_state st;
} s_point;

typedef struct s_dev_state {
    int64_t last_ms; /* last reading, or when tracking began */
    bool tracked;    /* last_ms is set */
    bool reported;   /* last_ms is a reading */
    bool stale;
} s_dev_state;

typedef struct s_dev {
    const aw_device *device;
    uint64_t saved;
    s_dev_state st;
} s_dev;

typedef struct s_item_state {
    unsigned counts[AW_LEVEL_COUNT]; /* active points per level */
    aw_level level;                  /* last graded and reported */
} s_item_state;

typedef struct s_item {
    const aw_site *site;
    const char *name;
    uint64_t saved;
    s_item_state st;
} s_item;

typedef struct s_tables {
    s_point *points;
    size_t n_points;
    s_dev *devs;
    size_t n_devs;
    s_item *items;
    size_t n_items;
} s_tables;

/* Saved copies for rollback; each entry is saved at most once per
 * transaction, so restoring them in any order is exact. */
typedef struct s_undo {
    struct {
        size_t index;
        s_state st;
    } * points;
    struct {
        size_t index;
        s_dev_state st;
    } * devs;
    struct {
        size_t index;
        s_item_state st;
    } * items;
    size_t n_points, n_devs, n_items;
    size_t cap_points, cap_devs, cap_items;
} s_undo;

struct aw_alarm {
    const aw_registry_t *reg;
    aw_alarm_emit_fn emit;
    void *arg;
    char prefix[AW_ALARM_PREFIX_MAX + 1];
    uint64_t next_seq;
    s_tables t;
    bool in_txn;
    uint64_t gen; /* current transaction number */
    uint64_t seq_at_begin;
    s_undo undo;
};

static bool s_has_thresholds(const aw_metric *m)
{
    return (m->high.mask | m->low.mask) != 0;
}

static int s_cmp_item_key(const char *site_a, const char *item_a, const char *site_b,
                          const char *item_b)
{
    int r = strcmp(site_a, site_b);
    return r ? r : strcmp(item_a, item_b);
}

static int s_cmp_metric_item(const void *a, const void *b)
{
    const aw_metric *x = *(const aw_metric *const *)a, *y = *(const aw_metric *const *)b;
    return s_cmp_item_key(x->device->site->path, x->item, y->device->site->path, y->item);
}

static s_item *s_item_find(const s_tables *t, const char *site, const char *name)
{
    size_t lo = 0, hi = t->n_items;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = s_cmp_item_key(site, name, t->items[mid].site->path, t->items[mid].name);
        if (r == 0)
            return &t->items[mid];
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static void s_tables_free(s_tables *t)
{
    free(t->points);
    free(t->devs);
    free(t->items);
    memset(t, 0, sizeof *t);
}

/* Makes one item per distinct (site, item) among @p ms (sorted here). */
static int s_build_items(s_tables *t, const aw_metric **ms, size_t n)
{
    qsort(ms, n, sizeof *ms, s_cmp_metric_item);
    t->items = calloc(n ? n : 1, sizeof *t->items);
    if (!t->items)
        return AW_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || s_cmp_metric_item(&ms[i], &ms[i - 1]) != 0) {
            t->items[t->n_items].site = ms[i]->device->site;
            t->items[t->n_items++].name = ms[i]->item;
        }
        t->points[ms[i]->index].item = t->n_items - 1;
    }
    return AW_OK;
}

/* Builds empty tables for @p reg. */
static int s_build(const aw_registry_t *reg, s_tables *t)
{
    size_t nm, nd, n = 0;
    const aw_metric *metrics = aw_registry_metrics(reg, &nm);
    const aw_device *devices = aw_registry_devices(reg, &nd);
    const aw_metric **ms = calloc(nm ? nm : 1, sizeof *ms);
    int rv = AW_ENOMEM;

    memset(t, 0, sizeof *t);
    t->points = calloc(nm ? nm : 1, sizeof *t->points);
    t->devs = calloc(nd ? nd : 1, sizeof *t->devs);
    if (ms && t->points && t->devs) {
        t->n_points = nm;
        t->n_devs = nd;
        for (size_t i = 0; i < nm; i++) {
            t->points[i] = (s_point){.metric = &metrics[i], .item = S_NO_ITEM};
            if (s_has_thresholds(&metrics[i]))
                ms[n++] = &metrics[i];
        }
        for (size_t i = 0; i < nd; i++)
            t->devs[i].device = &devices[i];
        rv = s_build_items(t, ms, n);
    }
    free(ms);
    if (rv != AW_OK)
        s_tables_free(t);
    return rv;
}

/* ------------------------------------------------------------ transactions */

/* Grows *arr (of *cap elements of @p size) to hold @p need elements. */
static int s_grow(void *arr_p, size_t *cap, size_t need, size_t size)
{
    void *arr, *grown;
    size_t c;

    if (need <= *cap)
        return AW_OK;
    memcpy(&arr, arr_p, sizeof arr);
    c = *cap * 2 > need ? *cap * 2 : need + 8;
    if (!(grown = realloc(arr, c * size)))
        return AW_ENOMEM;
    memcpy(arr_p, &grown, sizeof grown);
    *cap = c;
    return AW_OK;
}

/* Makes room to save @p np points, @p nd devices and @p ni items, so that
 * the change that follows cannot fail half-way. */
static int s_reserve(aw_alarm_t *eng, size_t np, size_t nd, size_t ni)
{
    s_undo *u = &eng->undo;

    if (!eng->in_txn)
        return AW_OK;
    if (s_grow(&u->points, &u->cap_points, u->n_points + np, sizeof *u->points) != AW_OK ||
        s_grow(&u->devs, &u->cap_devs, u->n_devs + nd, sizeof *u->devs) != AW_OK ||
        s_grow(&u->items, &u->cap_items, u->n_items + ni, sizeof *u->items) != AW_OK)
        return AW_ENOMEM;
    return AW_OK;
}

/* Each s_save_* keeps a copy of an entry before its first change in the
 * open transaction; room was reserved by s_reserve(). */
static void s_save_point(aw_alarm_t *eng, s_point *p)
{
    if (!eng->in_txn || p->saved == eng->gen)
        return;
    p->saved = eng->gen;
    eng->undo.points[eng->undo.n_points].index = (size_t)(p - eng->t.points);
    eng->undo.points[eng->undo.n_points++].st = p->st;
}

static void s_save_dev(aw_alarm_t *eng, s_dev *d)
{
    if (!eng->in_txn || d->saved == eng->gen)
        return;
    d->saved = eng->gen;
    eng->undo.devs[eng->undo.n_devs].index = (size_t)(d - eng->t.devs);
    eng->undo.devs[eng->undo.n_devs++].st = d->st;
}

static void s_save_item(aw_alarm_t *eng, s_item *it)
{
    if (!eng->in_txn || it->saved == eng->gen)
        return;
    it->saved = eng->gen;
    eng->undo.items[eng->undo.n_items].index = (size_t)(it - eng->t.items);
    eng->undo.items[eng->undo.n_items++].st = it->st;
}

int aw_alarm_begin(aw_alarm_t *eng)
{
    if (eng->in_txn)
        return AW_ESTATE;
    eng->in_txn = true;
    eng->gen++;
    eng->seq_at_begin = eng->next_seq;
    eng->undo.n_points = eng->undo.n_devs = eng->undo.n_items = 0;
    return AW_OK;
}

int aw_alarm_commit(aw_alarm_t *eng)
{
    if (!eng->in_txn)
        return AW_ESTATE;
    eng->in_txn = false;
    return AW_OK;
}

int aw_alarm_rollback(aw_alarm_t *eng)
{
    s_undo *u = &eng->undo;

    if (!eng->in_txn)
        return AW_ESTATE;
    for (size_t i = 0; i < u->n_points; i++)
        eng->t.points[u->points[i].index].st = u->points[i].st;
    for (size_t i = 0; i < u->n_devs; i++)
        eng->t.devs[u->devs[i].index].st = u->devs[i].st;
    for (size_t i = 0; i < u->n_items; i++)
        eng->t.items[u->items[i].index].st = u->items[i].st;
    eng->next_seq = eng->seq_at_begin;
    eng->in_txn = false;
    return AW_OK;
}

/* ------------------------------------------------------------ life cycle */

static bool s_valid_prefix(const char *p)
{
    size_t n = strlen(p);

    if (n > AW_ALARM_PREFIX_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

int aw_alarm_new(const aw_registry_t *reg, const aw_alarm_opts *opts, aw_alarm_t **out)
{
    const char *prefix = opts && opts->id_prefix ? opts->id_prefix : "";
    aw_alarm_t *eng;
    int rv;

    *out = NULL;
    if (!s_valid_prefix(prefix))
        return AW_EINVAL;
    if (!(eng = calloc(1, sizeof *eng)))
        return AW_ENOMEM;
    if ((rv = s_build(reg, &eng->t)) != AW_OK) {
        free(eng);
        return rv;
    }
    eng->reg = reg;
    eng->emit = opts ? opts->emit : NULL;
    eng->arg = opts ? opts->arg : NULL;
    eng->next_seq = opts && opts->first_seq ? opts->first_seq : 1;
    snprintf(eng->prefix, sizeof eng->prefix, "%s", prefix);
    *out = eng;
    return AW_OK;
}

void aw_alarm_destroy(aw_alarm_t **eng_p)
{
    aw_alarm_t *eng = eng_p ? *eng_p : NULL;

    if (!eng)
        return;
    s_tables_free(&eng->t);
    free(eng->undo.points);
    free(eng->undo.devs);
    free(eng->undo.items);
    free(eng);
    *eng_p = NULL;
}

/* ------------------------------------------------------------ events */

static void s_emit(const aw_alarm_t *eng, const aw_alarm_event *ev)
{
    if (eng->emit)
        eng->emit(eng->arg, ev);
}

/* Fills the fields every alarm event of @p st has. */
static aw_alarm_event s_alarm_event(aw_alarm_event_kind kind, const s_state *st, const char *device,
                                    const char *metric, const char *site, const char *item)
{
    return (aw_alarm_event){
        .kind = kind,
        .alarm_id = st->id,
        .device = device,
        .metric = metric,
        .site = site,
        .item = item,
        .level = st->level,
        .prev_level = st->level,
        .direction = st->dir,
        .value = st->last_value,
        .first_value = st->first_value,
        .first_time_ms = st->first_time_ms,
        .by = "",
    };
}

/* Emits an alarm event of point @p p: its state moved from @p prev to its
 * current level (or, for CLEARED, is about to be reset) on @p value. */
static void s_emit_point(const aw_alarm_t *eng, const s_point *p, aw_alarm_event_kind kind,
                         aw_level prev, double value, int64_t time_ms)
{
    const aw_metric *m = p->metric;
    const aw_thresholds *th = p->st.dir == AW_DIRECTION_HIGH ? &m->high : &m->low;
    aw_alarm_event ev =
        s_alarm_event(kind, &p->st, m->device->id, m->name, m->device->site->path, m->item);
    aw_level at = kind == AW_ALARM_CLEARED ? prev : p->st.level;

    ev.level = kind == AW_ALARM_CLEARED ? AW_LEVEL_NONE : p->st.level;
    ev.prev_level = prev;
    ev.value = value;
    ev.time_ms = time_ms;
    if (aw_thresholds_has(th, at)) {
        ev.threshold = th->at[at];
        ev.has_threshold = 1;
    }
    s_emit(eng, &ev);
}

/* Emits CLEARED for an alarm whose metric left the registry. */
static void s_emit_orphan(const aw_alarm_t *eng, const s_state *st, const char *device,
                          const char *metric, const char *site, const char *item, int64_t now_ms)
{
    aw_alarm_event ev = s_alarm_event(AW_ALARM_CLEARED, st, device, metric, site, item);

    ev.level = AW_LEVEL_NONE;
    ev.time_ms = now_ms;
    s_emit(eng, &ev);
}

static void s_emit_device(const aw_alarm_t *eng, aw_alarm_event_kind kind, const aw_device *d,
                          int64_t time_ms, int64_t last_seen_ms)
{
    aw_alarm_event ev = {
        .kind = kind,
        .alarm_id = "",
        .device = d->id,
        .metric = "",
        .site = d->site->path,
        .item = "",
        .time_ms = time_ms,
        .by = "",
        .last_seen_ms = last_seen_ms,
    };
    s_emit(eng, &ev);
}

static void s_emit_item(const aw_alarm_t *eng, const s_item *it, aw_level prev, int64_t time_ms)
{
    aw_alarm_event ev = {
        .kind = AW_ALARM_ITEM_LEVEL,
        .alarm_id = "",
        .device = "",
        .metric = "",
        .site = it->site->path,
        .item = it->name,
        .level = it->st.level,
        .prev_level = prev,
        .time_ms = time_ms,
        .by = "",
    };
    s_emit(eng, &ev);
}

/* ------------------------------------------------------------ evaluation */

/* The signed scale: -4 (low red) .. -1 (low blue), 0 (none), 1 (high blue)
 * .. 4 (high red). */
static int s_signed(const s_state *st)
{
    return st->dir == AW_DIRECTION_LOW ? -(int)st->level : (int)st->level;
}

/* Returns the highest level of @p t that @p v reaches; levels up to @p held
 * use the deadband (hysteresis), higher ones the plain threshold. */
static aw_level s_reach(const aw_thresholds *t, double v, bool high, int held, double deadband)
{
    aw_level best = AW_LEVEL_NONE;

    for (int l = AW_LEVEL_BLUE; l <= AW_LEVEL_RED; l++) {
        double th = t->at[l];
        if (!aw_thresholds_has(t, (aw_level)l))
            continue;
        if (l <= held)
            th = high ? th - deadband : th + deadband;
        if (high ? v >= th : v <= th)
            best = (aw_level)l;
    }
    return best;
}

/* Returns the signed target level of a sample, holding the current
 * direction while it still reaches a level. */
static int s_target(const aw_metric *m, const s_state *st, double v)
{
    int cur = s_signed(st);
    int hi = (int)s_reach(&m->high, v, true, cur > 0 ? cur : 0, m->deadband);
    int lo = (int)s_reach(&m->low, v, false, cur < 0 ? -cur : 0, m->deadband);

    if (cur < 0 && lo)
        return -lo;
    return hi ? hi : -lo;
}

static void s_count(aw_alarm_t *eng, const s_point *p, aw_level level, int delta)
{
    s_item *it = &eng->t.items[p->item];

    s_save_item(eng, it);
    it->st.counts[level] = (unsigned)((int)it->st.counts[level] + delta);
}

/* Re-grades item @p i; emits ITEM_LEVEL when its level changed. */
static void s_regrade(aw_alarm_t *eng, size_t i, int64_t time_ms)
{
    s_item *it = &eng->t.items[i];
    aw_level now = aw_grade_item(it->st.counts), prev = it->st.level;

    if (now == prev)
        return;
    s_save_item(eng, it);
    it->st.level = now;
    s_emit_item(eng, it, prev, time_ms);
}

static void s_clear(aw_alarm_t *eng, s_point *p, double v, int64_t t)
{
    aw_level prev = p->st.level;

    s_count(eng, p, prev, -1);
    s_emit_point(eng, p, AW_ALARM_CLEARED, prev, v, t);
    p->st.level = AW_LEVEL_NONE;
    p->st.id[0] = '\0';
    p->st.acked_by[0] = '\0';
    p->st.acked_ms = 0;
}

static void s_raise(aw_alarm_t *eng, s_point *p, int to, double v, int64_t t)
{
    const aw_metric *m = p->metric;
    s_state *st = &p->st;

    st->dir = to > 0 ? AW_DIRECTION_HIGH : AW_DIRECTION_LOW;
    st->level = (aw_level)abs(to);
    snprintf(st->id, sizeof st->id, "%s:%s:%s%s%llu", m->device->id, m->name, eng->prefix,
             eng->prefix[0] ? "-" : "", (unsigned long long)eng->next_seq++);
    st->first_value = st->last_value = v;
    st->first_time_ms = st->last_time_ms = t;
    st->acked_by[0] = '\0';
    st->acked_ms = 0;
    s_count(eng, p, st->level, +1);
    s_emit_point(eng, p, AW_ALARM_RAISED, AW_LEVEL_NONE, v, t);
}

/* Moves an active alarm to another level of the same direction. */
static void s_change(aw_alarm_t *eng, s_point *p, int to, double v, int64_t t)
{
    aw_level prev = p->st.level, next = (aw_level)abs(to);

    s_count(eng, p, prev, -1);
    s_count(eng, p, next, +1);
    p->st.level = next;
    if (next > prev) {
        p->st.acked_by[0] = '\0'; /* a worse alarm needs a new acknowledgement */
        p->st.acked_ms = 0;
    }
    s_emit_point(eng, p, next > prev ? AW_ALARM_ESCALATED : AW_ALARM_DEESCALATED, prev, v, t);
}

/* Applies a debounced move to signed level @p to. */
static void s_move(aw_alarm_t *eng, s_point *p, int to, double v, int64_t t)
{
    int from = s_signed(&p->st);

    if (from != 0 && (to == 0 || (to > 0) != (from > 0))) {
        s_clear(eng, p, v, t);
        from = 0;
    }
    if (to == 0)
        return;
    if (from == 0)
        s_raise(eng, p, to, v, t);
    else
        s_change(eng, p, to, v, t);
}

/* Evaluates one sample of point @p p: hysteresis, then debounce. */
static void s_step(aw_alarm_t *eng, s_point *p, double v, int64_t t)
{
    s_state *st = &p->st;
    int cur = s_signed(st), tgt = s_target(p->metric, st, v), sign;

    s_save_point(eng, p);
    if (st->level != AW_LEVEL_NONE) {
        st->last_value = v;
        st->last_time_ms = t;
    }
    if (tgt == cur) {
        st->streak = 0;
        st->streak_sign = 0;
        return;
    }
    sign = tgt > cur ? 1 : -1;
    if (sign != st->streak_sign) {
        st->streak_sign = sign;
        st->streak = 0;
        st->streak_bound = tgt;
    }
    st->streak++;
    if (sign > 0 ? tgt < st->streak_bound : tgt > st->streak_bound)
        st->streak_bound = tgt;
    if (st->streak < p->metric->debounce)
        return;
    st->streak = 0;
    st->streak_sign = 0;
    s_move(eng, p, st->streak_bound, v, t);
}

/* ------------------------------------------------------------ inputs */

/* Records a reading of device @p d at @p now_ms; emits DEVICE_BACK if it
 * was stale. */
static void s_note_reading(aw_alarm_t *eng, const aw_device *d, int64_t now_ms)
{
    s_dev *sd = &eng->t.devs[d->index];
    s_dev_state was = sd->st;

    s_save_dev(eng, sd);
    sd->st = (s_dev_state){.last_ms = now_ms, .tracked = true, .reported = true};
    if (was.stale)
        s_emit_device(eng, AW_ALARM_DEVICE_BACK, d, now_ms, was.reported ? was.last_ms : 0);
}

int aw_alarm_feed(aw_alarm_t *eng, const char *device, const char *metric, double value,
                  int64_t time_ms, int64_t now_ms)
{
    const aw_device *d = aw_registry_device_find(eng->reg, device);
    const aw_metric *m = d ? aw_registry_metric_find(d, metric) : NULL;
    s_point *p;
    int rv;

    if (!m)
        return AW_ENOTFOUND;
    if (!isfinite(value))
        return AW_ENOTFINITE;
    if ((rv = s_reserve(eng, 1, 1, 1)) != AW_OK)
        return rv;
    s_note_reading(eng, d, now_ms);
    p = &eng->t.points[m->index];
    if (p->item == S_NO_ITEM)
        return AW_OK;
    s_step(eng, p, value, time_ms);
    s_regrade(eng, p->item, time_ms);
    return AW_OK;
}

int aw_alarm_seen(aw_alarm_t *eng, const char *device, int64_t now_ms)
{
    const aw_device *d = aw_registry_device_find(eng->reg, device);
    int rv;

    if (!d)
        return AW_ENOTFOUND;
    if ((rv = s_reserve(eng, 0, 1, 0)) != AW_OK)
        return rv;
    s_note_reading(eng, d, now_ms);
    return AW_OK;
}

/* Returns whether more than @p limit ms passed from @p since to @p now,
 * without overflow whatever the stored times. */
static bool s_elapsed_over(int64_t now, int64_t since, int64_t limit)
{
    return now > since && (uint64_t)now - (uint64_t)since > (uint64_t)limit;
}

void aw_alarm_tick(aw_alarm_t *eng, int64_t now_ms)
{
    if (s_reserve(eng, 0, eng->t.n_devs, 0) != AW_OK)
        return; /* out of memory: the next tick tries again */
    for (size_t i = 0; i < eng->t.n_devs; i++) {
        s_dev *sd = &eng->t.devs[i];
        const aw_device *d = sd->device;
        if (d->n_metrics == 0 || sd->st.stale)
            continue;
        if (!sd->st.tracked) {
            s_save_dev(eng, sd);
            sd->st.tracked = true;
            sd->st.last_ms = now_ms;
        } else if (s_elapsed_over(now_ms, sd->st.last_ms, (int64_t)d->interval_s * 3 * 1000)) {
            s_save_dev(eng, sd);
            sd->st.stale = true;
            s_emit_device(eng, AW_ALARM_DEVICE_STALE, d, now_ms,
                          sd->st.reported ? sd->st.last_ms : 0);
        }
    }
}

static s_point *s_point_by_id(const aw_alarm_t *eng, const char *alarm_id)
{
    for (size_t i = 0; i < eng->t.n_points; i++) {
        s_point *p = &eng->t.points[i];
        if (p->st.level != AW_LEVEL_NONE && strcmp(p->st.id, alarm_id) == 0)
            return p;
    }
    return NULL;
}

int aw_alarm_ack(aw_alarm_t *eng, const char *alarm_id, const char *by, int64_t time_ms)
{
    s_point *p;
    int rv;

    if (!alarm_id || !by || !by[0])
        return AW_EINVAL;
    if (strlen(by) >= AW_ALARM_BY_MAX)
        return AW_ERANGE;
    if (!(p = s_point_by_id(eng, alarm_id)))
        return AW_ENOTFOUND;
    if (p->st.acked_by[0])
        return AW_OK;
    if ((rv = s_reserve(eng, 1, 0, 0)) != AW_OK)
        return rv;
    s_save_point(eng, p);
    snprintf(p->st.acked_by, sizeof p->st.acked_by, "%s", by);
    p->st.acked_ms = time_ms;

    aw_alarm_event ev =
        s_alarm_event(AW_ALARM_ACKNOWLEDGED, &p->st, p->metric->device->id, p->metric->name,
                      p->metric->device->site->path, p->metric->item);
    ev.time_ms = time_ms;
    ev.by = p->st.acked_by;
    s_emit(eng, &ev);
    return AW_OK;
}

/* ------------------------------------------------------------ reload */

/* Counts every active point into its item, from scratch. */
static void s_recount(s_tables *t)
{
    for (size_t i = 0; i < t->n_items; i++)
        memset(t->items[i].st.counts, 0, sizeof t->items[i].st.counts);
    for (size_t i = 0; i < t->n_points; i++) {
        const s_point *p = &t->points[i];
        if (p->item != S_NO_ITEM && p->st.level != AW_LEVEL_NONE)
            t->items[p->item].st.counts[p->st.level]++;
    }
}

/* Returns the point of @p reg's tables for device/metric, or NULL when the
 * metric is gone or has no thresholds. */
static s_point *s_point_find(const aw_registry_t *reg, const s_tables *t, const char *device,
                             const char *metric)
{
    const aw_device *d = aw_registry_device_find(reg, device);
    const aw_metric *m = d ? aw_registry_metric_find(d, metric) : NULL;

    if (!m || t->points[m->index].item == S_NO_ITEM)
        return NULL;
    return &t->points[m->index];
}

/* Moves point and device state from the engine's tables into @p nt (for
 * registry @p reg); clears alarms that have nowhere to go. */
static void s_migrate(aw_alarm_t *eng, const aw_registry_t *reg, s_tables *nt, int64_t now_ms)
{
    for (size_t i = 0; i < eng->t.n_points; i++) {
        const s_point *p = &eng->t.points[i];
        const aw_metric *m = p->metric;
        if (p->st.level == AW_LEVEL_NONE)
            continue;
        s_point *np = s_point_find(reg, nt, m->device->id, m->name);
        if (np) {
            np->st = p->st;
            np->st.streak = 0;
            np->st.streak_sign = 0;
        } else {
            s_emit_orphan(eng, &p->st, m->device->id, m->name, m->device->site->path, m->item,
                          now_ms);
        }
    }
    for (size_t i = 0; i < eng->t.n_devs; i++) {
        const aw_device *d = aw_registry_device_find(reg, eng->t.devs[i].device->id);
        if (d)
            nt->devs[d->index].st = eng->t.devs[i].st;
    }
}

/* Carries each item's reported level into @p nt; reports items that are
 * gone as back to NONE. */
static void s_migrate_items(aw_alarm_t *eng, s_tables *nt, int64_t now_ms)
{
    for (size_t i = 0; i < eng->t.n_items; i++) {
        s_item *old = &eng->t.items[i];
        s_item *it = s_item_find(nt, old->site->path, old->name);
        if (it) {
            it->st.level = old->st.level;
        } else if (old->st.level != AW_LEVEL_NONE) {
            aw_level prev = old->st.level;
            old->st.level = AW_LEVEL_NONE;
            s_emit_item(eng, old, prev, now_ms);
        }
    }
}

int aw_alarm_reload(aw_alarm_t *eng, const aw_registry_t *reg, int64_t now_ms)
{
    s_tables nt;
    int rv;

    if (eng->in_txn)
        return AW_ESTATE;
    if ((rv = s_build(reg, &nt)) != AW_OK)
        return rv;
    s_migrate(eng, reg, &nt, now_ms);
    s_migrate_items(eng, &nt, now_ms);
    s_recount(&nt);
    s_tables_free(&eng->t);
    eng->t = nt;
    eng->reg = reg;
    for (size_t i = 0; i < eng->t.n_items; i++)
        s_regrade(eng, i, now_ms);
    return AW_OK;
}

/* ------------------------------------------------------------ export */

static json_t *s_export_alarm(const s_point *p)
{
    const s_state *st = &p->st;

    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:I, s:f, s:I, s:s, s:I}", "id", st->id,
                     "device", p->metric->device->id, "metric", p->metric->name, "direction",
                     st->dir == AW_DIRECTION_HIGH ? "high" : "low", "level",
                     aw_level_name(st->level), "first_value", st->first_value, "first_time_ms",
                     (json_int_t)st->first_time_ms, "last_value", st->last_value, "last_time_ms",
                     (json_int_t)st->last_time_ms, "acked_by", st->acked_by, "acked_ms",
                     (json_int_t)st->acked_ms);
}

static json_t *s_export_stale(const s_dev *d)
{
    return json_pack("{s:s, s:I, s:b}", "device", d->device->id, "last_seen_ms",
                     (json_int_t)d->st.last_ms, "reported", d->st.reported);
}

int aw_alarm_state_export(const aw_alarm_t *eng, char **json)
{
    json_t *alarms = json_array(), *stale = json_array(), *root;
    int bad = !alarms || !stale;

    *json = NULL;
    for (size_t i = 0; !bad && i < eng->t.n_points; i++) {
        if (eng->t.points[i].st.level != AW_LEVEL_NONE)
            bad = json_array_append_new(alarms, s_export_alarm(&eng->t.points[i]));
    }
    for (size_t i = 0; !bad && i < eng->t.n_devs; i++) {
        if (eng->t.devs[i].st.stale)
            bad = json_array_append_new(stale, s_export_stale(&eng->t.devs[i]));
    }
    root =
        bad ? NULL
            : json_pack("{s:i, s:I, s:O, s:O}", "v", S_STATE_VERSION, "next_seq",
                        (json_int_t)(eng->next_seq & INT64_MAX), "alarms", alarms, "stale", stale);
    json_decref(alarms);
    json_decref(stale);
    if (root)
        *json = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return *json ? AW_OK : AW_ENOMEM;
}

/* ------------------------------------------------------------ import */

/* One alarm read back from the exported state. */
typedef struct s_saved {
    const char *device, *metric;
    s_state st;
} s_saved;

/* Reads one exported alarm; returns false when it is malformed. */
static bool s_read_saved(json_t *o, s_saved *out)
{
    const char *id, *dir, *level, *by;
    json_int_t t0, t1, ta;
    double v0, v1;

    memset(out, 0, sizeof *out);
    if (json_unpack(o, "{s:s, s:s, s:s, s:s, s:s, s:F, s:I, s:F, s:I, s:s, s:I}", "id", &id,
                    "device", &out->device, "metric", &out->metric, "direction", &dir, "level",
                    &level, "first_value", &v0, "first_time_ms", &t0, "last_value", &v1,
                    "last_time_ms", &t1, "acked_by", &by, "acked_ms", &ta) != 0)
        return false;
    if (aw_level_parse(level, &out->st.level) != AW_OK || out->st.level == AW_LEVEL_NONE ||
        strlen(id) == 0 || strlen(id) >= AW_ALARM_ID_MAX || strlen(by) >= AW_ALARM_BY_MAX ||
        !isfinite(v0) || !isfinite(v1))
        return false;
    if (strcmp(dir, "high") != 0 && strcmp(dir, "low") != 0)
        return false;
    out->st.dir = dir[0] == 'h' ? AW_DIRECTION_HIGH : AW_DIRECTION_LOW;
    out->st.first_value = v0;
    out->st.last_value = v1;
    out->st.first_time_ms = t0;
    out->st.last_time_ms = t1;
    out->st.acked_ms = ta;
    snprintf(out->st.id, sizeof out->st.id, "%s", id);
    snprintf(out->st.acked_by, sizeof out->st.acked_by, "%s", by);
    return true;
}

/* Checks the envelope and every alarm; fills @p saved (n entries). */
static int s_read_state(json_t *root, s_saved **saved, size_t *n, json_int_t *next_seq)
{
    json_t *alarms, *stale;
    const char *device;
    json_int_t last;
    int version, reported;

    if (json_unpack(root, "{s:i, s:I, s:o, s:o}", "v", &version, "next_seq", next_seq, "alarms",
                    &alarms, "stale", &stale) != 0 ||
        version != S_STATE_VERSION || *next_seq < 1 || !json_is_array(alarms) ||
        !json_is_array(stale))
        return AW_ECORRUPT;
    for (size_t i = 0; i < json_array_size(stale); i++) {
        if (json_unpack(json_array_get(stale, i), "{s:s, s:I, s:b}", "device", &device,
                        "last_seen_ms", &last, "reported", &reported) != 0)
            return AW_ECORRUPT;
    }
    *n = json_array_size(alarms);
    if (!(*saved = calloc(*n ? *n : 1, sizeof **saved)))
        return AW_ENOMEM;
    for (size_t i = 0; i < *n; i++) {
        if (!s_read_saved(json_array_get(alarms, i), &(*saved)[i]))
            return AW_ECORRUPT;
    }
    return AW_OK;
}

/* Resets every point, device and item to "nothing known". */
static void s_reset(s_tables *t)
{
    for (size_t i = 0; i < t->n_points; i++)
        memset(&t->points[i].st, 0, sizeof t->points[i].st);
    for (size_t i = 0; i < t->n_devs; i++)
        memset(&t->devs[i].st, 0, sizeof t->devs[i].st);
    for (size_t i = 0; i < t->n_items; i++)
        memset(&t->items[i].st, 0, sizeof t->items[i].st);
}

static void s_apply_stale(aw_alarm_t *eng, json_t *stale)
{
    const char *device;
    json_int_t last;
    int reported;

    for (size_t i = 0; i < json_array_size(stale); i++) {
        json_unpack(json_array_get(stale, i), "{s:s, s:I, s:b}", "device", &device, "last_seen_ms",
                    &last, "reported", &reported);
        const aw_device *d = aw_registry_device_find(eng->reg, device);
        if (d && d->n_metrics > 0)
            eng->t.devs[d->index].st = (s_dev_state){
                .last_ms = last, .tracked = true, .reported = reported != 0, .stale = true};
    }
}

static void s_apply_saved(aw_alarm_t *eng, const s_saved *saved, size_t n, int64_t now_ms)
{
    for (size_t i = 0; i < n; i++) {
        s_point *p = s_point_find(eng->reg, &eng->t, saved[i].device, saved[i].metric);
        const aw_device *d = aw_registry_device_find(eng->reg, saved[i].device);
        if (p)
            p->st = saved[i].st;
        else
            s_emit_orphan(eng, &saved[i].st, saved[i].device, saved[i].metric,
                          d ? d->site->path : "", "", now_ms);
    }
    s_recount(&eng->t);
    for (size_t i = 0; i < eng->t.n_items; i++)
        eng->t.items[i].st.level = aw_grade_item(eng->t.items[i].st.counts);
}

int aw_alarm_state_import(aw_alarm_t *eng, const char *json, size_t len, int64_t now_ms)
{
    json_t *root;
    s_saved *saved = NULL;
    size_t n = 0;
    json_int_t next_seq = 0;
    int rv;

    if (eng->in_txn)
        return AW_ESTATE;
    if (!json || !(root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL)))
        return AW_ECORRUPT;
    rv = s_read_state(root, &saved, &n, &next_seq);
    if (rv == AW_OK) {
        s_reset(&eng->t);
        s_apply_stale(eng, json_object_get(root, "stale"));
        s_apply_saved(eng, saved, n, now_ms);
        if ((uint64_t)next_seq > eng->next_seq)
            eng->next_seq = (uint64_t)next_seq;
    }
    free(saved);
    json_decref(root);
    return rv;
}

/* ------------------------------------------------------------ queries */

void aw_alarm_foreach(const aw_alarm_t *eng, void (*fn)(void *arg, const aw_alarm_info *info),
                      void *arg)
{
    for (size_t i = 0; i < eng->t.n_points; i++) {
        const s_point *p = &eng->t.points[i];
        const aw_metric *m = p->metric;
        if (p->st.level == AW_LEVEL_NONE)
            continue;
        aw_alarm_info info = {
            .alarm_id = p->st.id,
            .device = m->device->id,
            .metric = m->name,
            .site = m->device->site->path,
            .item = m->item,
            .level = p->st.level,
            .direction = p->st.dir,
            .first_value = p->st.first_value,
            .first_time_ms = p->st.first_time_ms,
            .last_value = p->st.last_value,
            .last_time_ms = p->st.last_time_ms,
            .acked_by = p->st.acked_by,
            .acked_ms = p->st.acked_ms,
        };
        fn(arg, &info);
    }
}

void aw_alarm_get_stats(const aw_alarm_t *eng, aw_alarm_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    for (size_t i = 0; i < eng->t.n_points; i++)
        stats->active[eng->t.points[i].st.level]++;
    stats->active[AW_LEVEL_NONE] = 0;
    for (size_t i = 0; i < eng->t.n_devs; i++) {
        if (eng->t.devs[i].device->n_metrics == 0)
            continue;
        stats->devices_tracked++;
        stats->devices_stale += eng->t.devs[i].st.stale;
    }
}

aw_level aw_alarm_item_level(const aw_alarm_t *eng, const char *site_path, const char *item)
{
    const s_item *it = s_item_find(&eng->t, site_path, item);

    return it ? it->st.level : AW_LEVEL_NONE;
}
