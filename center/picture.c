/* picture.c: the situational picture (SPEC §8), kept in the merge's
 * transaction by the record hook and read as JSON by the API.
 *
 * State tables (pic_dev, pic_points, pic_items, pic_haz) hold what every
 * record did, for every device, alarm and hazard, known to the registry or
 * not. The node rows (pic_nodes) are what the state means for the registry
 * in use: they are moved incrementally by the hook and recomputed from the
 * state tables by aw_picture_rebuild(); both give the same rows (tested).
 *
 * Row formats: a version byte, then big-endian fields.
 *  - pic_nodes: S_NF counters, u32 each (index names: S_F_*).
 *  - pic_dev: flags(1: seen, stale) stale_last_ms(8) seen_ms(8).
 *  - pic_points: level(1) site NUL item NUL.
 *  - pic_items: the active points per level, u32 × 5.
 *  - pic_haz: status(1) level(1) flags(1: overdue, notified, deadline)
 *    reported_ms(8) deadline_ms(8) site NUL sector NUL.
 *  - history: type(1: 'n' number, 's' string, 'b' bool, 'd' data, '-'
 *    none) then the value (a double as its IEEE bits).
 *  - alarm_log: edge NUL, then the encoded Record of the CLEARED event.
 * Times in keys are flipped in the sign bit so they sort in time order;
 * history keys hold the time inverted, so a prefix scan is newest first.
 */
#include "picture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "log.h"
#include "rfc3339.h"

/* How long cleared alarms stay in alarm_log. */
#define S_ALARM_LOG_KEEP_MS (INT64_C(7) * 24 * 3600 * 1000)

enum {
    S_T_NODES,
    S_T_DEV,
    S_T_POINTS,
    S_T_ITEMS,
    S_T_HAZ,
    S_T_HISTORY,
    S_T_ALARM_LOG,
    S_T_META,
    S_T_COUNT
};

static const char *const s_table_names[S_T_COUNT] = {
    "pic_nodes", "pic_dev", "pic_points", "pic_items",
    "pic_haz",   "history", "alarm_log",  "pic_meta",
};

#define S_ROW_V1 1

struct aw_picture {
    aw_center_db_t *db;
    aw_store_t *store;
    aw_table_t t[S_T_COUNT];
    const aw_registry_t *reg;
    int64_t (*now_ms)(void *arg);
    void *clock_arg;
    uint64_t readings;
    int64_t history_step_ms; /* keep one reading per (device, metric) per step; 0 = all */
};

/* ------------------------------------------------------------ helpers */

static uint64_t s_flip(int64_t t)
{
    return (uint64_t)t ^ (UINT64_C(1) << 63);
}

static int64_t s_unflip(uint64_t u)
{
    return (int64_t)(u ^ (UINT64_C(1) << 63));
}

static void s_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t s_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t s_real_now(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t s_now(const aw_picture_t *p)
{
    return p->now_ms(p->clock_arg);
}

/* A get that reads a missing key as "not found" without an error. */
static int s_get(aw_txn_t *txn, aw_table_t t, const void *key, size_t klen, const void **val,
                 size_t *vlen, bool *found)
{
    *val = NULL;
    *found = false;
    if (klen == 0 || klen > AW_CENTER_KEY_MAX)
        return AW_OK; /* no such key can be stored */
    int rv = aw_txn_get(txn, t, key, klen, val, vlen);
    *found = rv == AW_OK;
    return rv == AW_ENOTFOUND ? AW_OK : rv;
}

/* Deletes @p key; a missing key is fine. */
static int s_del(aw_txn_t *txn, aw_table_t t, const void *key, size_t klen)
{
    if (klen == 0 || klen > AW_CENTER_KEY_MAX)
        return AW_OK;
    int rv = aw_txn_del(txn, t, key, klen);
    return rv == AW_ENOTFOUND ? AW_OK : rv;
}

/* Joins a NUL b into @p key; 0 when it does not fit a key. */
static size_t s_key2(uint8_t key[AW_CENTER_KEY_MAX], const char *a, const char *b, bool nul_end)
{
    size_t al = strlen(a), bl = strlen(b), n = al + 1 + bl + (nul_end ? 1 : 0);
    if (n > AW_CENTER_KEY_MAX)
        return 0;
    memcpy(key, a, al + 1);
    memcpy(key + al + 1, b, bl);
    if (nul_end)
        key[n - 1] = 0;
    return n;
}

static aw_level s_level_ok(int l)
{
    return l > AW_LEVEL_NONE && l <= AW_LEVEL_RED ? (aw_level)l : AW_LEVEL_NONE;
}

/* A growable list of keys (copies), for walks that write afterwards. */
typedef struct s_keys {
    uint8_t **k;
    size_t *len;
    size_t n, cap, max;
    const uint8_t *until; /* s_log_old_cb's bound */
    int err;
} s_keys;

static int s_keys_add(s_keys *ks, const void *key, size_t klen)
{
    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 16;
        uint8_t **k = realloc(ks->k, cap * sizeof *k);
        if (k != NULL)
            ks->k = k;
        size_t *len = k ? realloc(ks->len, cap * sizeof *len) : NULL;
        if (len == NULL)
            return ks->err = AW_ENOMEM;
        ks->len = len;
        ks->cap = cap;
    }
    uint8_t *c = malloc(klen + 1);
    if (c == NULL)
        return ks->err = AW_ENOMEM;
    memcpy(c, key, klen);
    c[klen] = 0;
    ks->k[ks->n] = c;
    ks->len[ks->n++] = klen;
    return AW_OK;
}

static void s_keys_free(s_keys *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->k[i]);
    free(ks->k);
    free(ks->len);
    *ks = (s_keys){0};
}

static int s_keys_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val, (void)vlen;
    s_keys *ks = arg;
    if (ks->max != 0 && ks->n >= ks->max)
        return 1;
    return s_keys_add(ks, key, klen) != AW_OK;
}

/* ------------------------------------------------------------ node rows */

enum {
    S_F_TOTAL = 0,
    S_F_ONLINE = 1,
    S_F_STALE = 2,
    S_F_ALARMS = 3,   /* + level, 5 */
    S_F_OPEN = 8,     /* + hazard level, 2 */
    S_F_OVERDUE = 10, /* + hazard level, 2 */
    S_F_SITES = 12,   /* + colour, 5: sites beneath at each colour */
    S_NF = 17
};

#define S_NODE_LEN (1 + 4 * S_NF)

typedef struct s_node {
    int64_t f[S_NF];
} s_node;

static int s_node_get(aw_picture_t *p, aw_txn_t *txn, const char *path, s_node *n)
{
    const void *raw;
    size_t vlen;
    bool found;
    memset(n, 0, sizeof *n);
    int rv = s_get(txn, p->t[S_T_NODES], path, strlen(path), &raw, &vlen, &found);
    const uint8_t *v = raw;
    if (rv != AW_OK || !found)
        return rv;
    if (vlen != S_NODE_LEN || v[0] != S_ROW_V1)
        return AW_ECORRUPT;
    for (int i = 0; i < S_NF; i++)
        n->f[i] = s_get_u32(v + 1 + 4 * i);
    return AW_OK;
}

static int s_node_put(aw_picture_t *p, aw_txn_t *txn, const char *path, const s_node *n)
{
    uint8_t v[S_NODE_LEN];
    v[0] = S_ROW_V1;
    for (int i = 0; i < S_NF; i++) {
        int64_t x = n->f[i] < 0 ? 0 : n->f[i] > UINT32_MAX ? UINT32_MAX : n->f[i];
        s_put_u32(v + 1 + 4 * i, (uint32_t)x);
    }
    return aw_txn_put(txn, p->t[S_T_NODES], path, strlen(path), v, sizeof v);
}

/* The highest colour with a site beneath (NONE when none). */
static aw_level s_node_colour(const s_node *n)
{
    for (int c = AW_LEVEL_RED; c > AW_LEVEL_NONE; c--)
        if (n->f[S_F_SITES + c] > 0)
            return (aw_level)c;
    return AW_LEVEL_NONE;
}

/* Adds @p d to the rows of @p site and every node above it. */
static int s_path_add(aw_picture_t *p, aw_txn_t *txn, const aw_site *site, const s_node *d)
{
    const char *path[4] = {site->path, site->village->path, site->village->zone->path,
                           aw_registry_county(p->reg)};
    for (int i = 0; i < 4; i++) {
        s_node n;
        int rv = s_node_get(p, txn, path[i], &n);
        for (int f = 0; rv == AW_OK && f < S_NF; f++)
            n.f[f] += d->f[f];
        if (rv == AW_OK)
            rv = s_node_put(p, txn, path[i], &n);
        if (rv != AW_OK)
            return rv;
    }
    return AW_OK;
}

/* ------------------------------------------------------------ items */

#define S_ITEM_LEN (1 + 4 * AW_LEVEL_COUNT)

static int s_item_decode(const uint8_t *v, size_t vlen, unsigned counts[AW_LEVEL_COUNT])
{
    if (vlen != S_ITEM_LEN || v[0] != S_ROW_V1)
        return AW_ECORRUPT;
    for (int l = 0; l < AW_LEVEL_COUNT; l++)
        counts[l] = s_get_u32(v + 1 + 4 * l);
    return AW_OK;
}

typedef struct s_item_max {
    aw_level max;
    int err;
} s_item_max;

static int s_item_max_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    s_item_max *m = arg;
    unsigned counts[AW_LEVEL_COUNT];
    if ((m->err = s_item_decode(val, vlen, counts)) != AW_OK)
        return 1;
    m->max = aw_level_max(m->max, aw_grade_item(counts));
    return 0;
}

/* The colour of @p site given its node row @p n (open hazards) and its items. */
static int s_site_colour(aw_picture_t *p, aw_txn_t *txn, const aw_site *site, const s_node *n,
                         aw_level *out)
{
    uint8_t prefix[AW_CENTER_KEY_MAX];
    size_t plen = strlen(site->path) + 1;
    memcpy(prefix, site->path, plen);
    s_item_max m = {0};
    int rv = aw_txn_scan(txn, p->t[S_T_ITEMS], prefix, plen, NULL, 0, s_item_max_cb, &m);
    if (rv == AW_OK)
        rv = m.err;
    unsigned og = (unsigned)(n->f[S_F_OPEN] > 0 ? n->f[S_F_OPEN] : 0);
    unsigned om = (unsigned)(n->f[S_F_OPEN + 1] > 0 ? n->f[S_F_OPEN + 1] : 0);
    *out = aw_grade_site(site->risk, &m.max, 1, og, om);
    return rv;
}

/* Moves the counters of @p site by @p d (colour excluded) and then its
 * colour to what its items and hazards say now, up the whole path. Call
 * after the state tables were written. */
static int s_site_move(aw_picture_t *p, aw_txn_t *txn, const aw_site *site, s_node d)
{
    s_node cur;
    int rv = s_node_get(p, txn, site->path, &cur);
    if (rv != AW_OK)
        return rv;
    s_node next = cur;
    for (int f = 0; f < S_NF; f++)
        next.f[f] += d.f[f];
    aw_level old = s_node_colour(&cur), now;
    rv = s_site_colour(p, txn, site, &next, &now);
    if (rv != AW_OK)
        return rv;
    if (old != now) {
        d.f[S_F_SITES + old] -= old != AW_LEVEL_NONE ? 1 : 0;
        d.f[S_F_SITES + now] += 1;
    }
    for (int f = 0; f < S_NF; f++)
        if (d.f[f] != 0)
            return s_path_add(p, txn, site, &d);
    return AW_OK;
}

#define S_META_BUILT "built"

/* True when the node rows in @p txn were built for the registry in use
 * (read from pic_meta, so an aborted rebuild never misleads). */
static bool s_built(aw_picture_t *p, aw_txn_t *txn)
{
    const void *raw;
    size_t vlen;
    bool found;
    if (p->reg == NULL)
        return false;
    int rv = s_get(txn, p->t[S_T_META], S_META_BUILT, strlen(S_META_BUILT), &raw, &vlen, &found);
    return rv == AW_OK && found && vlen == 8 && aw_get_be64(raw) == aw_registry_version(p->reg);
}

/* The registry's site at @p path when node rows are kept, else NULL. */
static const aw_site *s_counted_site(aw_picture_t *p, aw_txn_t *txn, const char *path)
{
    if (p->reg == NULL || path == NULL || path[0] == 0)
        return NULL;
    const aw_site *site = aw_registry_site_find(p->reg, path);
    return site != NULL && s_built(p, txn) ? site : NULL;
}

static const aw_device *s_counted_device(aw_picture_t *p, aw_txn_t *txn, const char *id)
{
    const aw_device *dev = p->reg != NULL ? aw_registry_device_find(p->reg, id) : NULL;
    return dev != NULL && s_built(p, txn) ? dev : NULL;
}

/* ------------------------------------------------------------ devices */

#define S_DEV_LEN   18
#define S_DEV_SEEN  1u
#define S_DEV_STALE 2u

typedef struct s_dev {
    bool seen, stale;
    int64_t stale_last_ms; /* last_seen_ms of the DEVICE_STALE */
    int64_t seen_ms;       /* the reading of the last transition to online */
} s_dev;

typedef enum s_dev_state { S_NEVER, S_ONLINE, S_STALE } s_dev_state;

static s_dev_state s_dev_state_of(const s_dev *d)
{
    return d->stale ? S_STALE : d->seen ? S_ONLINE : S_NEVER;
}

static int s_dev_get(aw_picture_t *p, aw_txn_t *txn, const char *id, s_dev *d)
{
    const void *raw;
    size_t vlen;
    bool found;
    memset(d, 0, sizeof *d);
    int rv = s_get(txn, p->t[S_T_DEV], id, strlen(id), &raw, &vlen, &found);
    const uint8_t *v = raw;
    if (rv != AW_OK || !found)
        return rv;
    if (vlen != S_DEV_LEN || v[0] != S_ROW_V1)
        return AW_ECORRUPT;
    d->seen = v[1] & S_DEV_SEEN;
    d->stale = v[1] & S_DEV_STALE;
    d->stale_last_ms = (int64_t)aw_get_be64(v + 2);
    d->seen_ms = (int64_t)aw_get_be64(v + 10);
    return AW_OK;
}

/* Writes @p next for device @p id and moves the counts from @p prev. */
static int s_dev_move(aw_picture_t *p, aw_txn_t *txn, const char *id, const s_dev *prev,
                      const s_dev *next)
{
    uint8_t v[S_DEV_LEN];
    v[0] = S_ROW_V1;
    v[1] = (uint8_t)((next->seen ? S_DEV_SEEN : 0) | (next->stale ? S_DEV_STALE : 0));
    aw_put_be64(v + 2, (uint64_t)next->stale_last_ms);
    aw_put_be64(v + 10, (uint64_t)next->seen_ms);
    size_t klen = strlen(id);
    if (klen == 0 || klen > AW_CENTER_KEY_MAX)
        return AW_OK;
    int rv = aw_txn_put(txn, p->t[S_T_DEV], id, klen, v, sizeof v);
    s_dev_state a = s_dev_state_of(prev), b = s_dev_state_of(next);
    const aw_device *dev = rv == AW_OK && a != b ? s_counted_device(p, txn, id) : NULL;
    if (dev == NULL)
        return rv;
    s_node d = {0};
    d.f[S_F_ONLINE] = (b == S_ONLINE) - (a == S_ONLINE);
    d.f[S_F_STALE] = (b == S_STALE) - (a == S_STALE);
    return s_site_move(p, txn, dev->site, d);
}

typedef struct s_newest {
    int64_t ms;
    bool any;
} s_newest;

static int s_newest_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    s_newest *n = arg;
    if (vlen >= 8) {
        int64_t t = (int64_t)aw_get_be64(val);
        if (!n->any || t > n->ms)
            n->ms = t;
        n->any = true;
    }
    return 0;
}

/* The newest reading time of @p id in `latest` (as of the last batch). */
static int s_latest_newest(aw_picture_t *p, aw_txn_t *txn, const char *id, s_newest *n)
{
    uint8_t prefix[AW_CENTER_KEY_MAX];
    size_t plen = strlen(id) + 1;
    *n = (s_newest){0};
    if (plen > AW_CENTER_KEY_MAX)
        return AW_OK;
    memcpy(prefix, id, plen);
    return aw_txn_scan(txn, aw_center_db_table(p->db, AW_CT_LATEST), prefix, plen, NULL, 0,
                       s_newest_cb, n);
}

/* history: device NUL metric NUL ~flip(time) → type, value. */
static size_t s_history_key(uint8_t key[AW_CENTER_KEY_MAX], const char *dev, const char *metric,
                            int64_t t)
{
    size_t n = s_key2(key, dev, metric, true);
    if (n == 0 || n + 8 > AW_CENTER_KEY_MAX)
        return 0;
    aw_put_be64(key + n, ~s_flip(t));
    return n + 8;
}

/* The time of the newest history row under a prefix (the first key). */
typedef struct s_hist_newest {
    size_t plen;
    bool any;
    int64_t t;
} s_hist_newest;

static int s_hist_newest_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val, (void)vlen;
    s_hist_newest *h = arg;
    if (klen == h->plen + 8) {
        h->any = true;
        h->t = s_unflip(~aw_get_be64((const uint8_t *)key + h->plen));
    }
    return 1;
}

/* True when the reading at @p t falls within history_step_ms of the newest
 * row kept for its (device, metric): the history is a downsampled trend
 * (every reading stays in `records`). A lookup, not a write: it dirties no
 * page, which is what makes the history cheap at 93k readings/s. */
static bool s_history_skip(aw_picture_t *p, aw_txn_t *txn, const uint8_t *key, size_t klen,
                           int64_t t)
{
    if (p->history_step_ms <= 0)
        return false;
    s_hist_newest h = {.plen = klen - 8};
    if (aw_txn_scan(txn, p->t[S_T_HISTORY], key, h.plen, NULL, 0, s_hist_newest_cb, &h) != AW_OK ||
        !h.any)
        return false;
    int64_t d = t - h.t;
    return d < p->history_step_ms && d > -p->history_step_ms;
}

static int s_history_put(aw_picture_t *p, aw_txn_t *txn, const Anwang__Reading *r)
{
    uint8_t key[AW_CENTER_KEY_MAX];
    size_t klen = s_history_key(key, r->device, r->metric, r->time_ms);
    if (klen == 0)
        return AW_OK; /* names too long for a key: not kept */
    if (s_history_skip(p, txn, key, klen, r->time_ms))
        return AW_OK;
    uint8_t small[9];
    const void *val = small;
    size_t vlen = 1;
    uint8_t *big = NULL;
    if (r->has_value) {
        uint64_t bits;
        memcpy(&bits, &r->value, 8);
        small[0] = 'n';
        aw_put_be64(small + 1, bits);
        vlen = 9;
    } else if (r->has_bool_value) {
        small[0] = 'b';
        small[1] = r->bool_value ? 1 : 0;
        vlen = 2;
    } else if (r->string_value != NULL || r->has_data_value) {
        size_t n = r->string_value ? strlen(r->string_value) : r->data_value.len;
        if ((big = malloc(n + 1)) == NULL)
            return AW_ENOMEM;
        big[0] = r->string_value ? 's' : 'd';
        if (n > 0)
            memcpy(big + 1, r->string_value ? (const void *)r->string_value : r->data_value.data,
                   n);
        val = big;
        vlen = n + 1;
    } else {
        small[0] = '-';
    }
    int rv = aw_txn_put(txn, p->t[S_T_HISTORY], key, klen, val, vlen);
    free(big);
    return rv;
}

/* A reading: history, and pic_dev on a transition only (first seen, back
 * from stale): two store operations for the usual reading. */
static int s_on_reading(aw_picture_t *p, aw_txn_t *txn, const Anwang__Reading *r)
{
    p->readings++;
    int rv = s_history_put(p, txn, r);
    s_dev d;
    if (rv == AW_OK)
        rv = s_dev_get(p, txn, r->device, &d);
    if (rv != AW_OK)
        return rv;
    s_dev next = d;
    if (!d.seen && !d.stale)
        next = (s_dev){.seen = true, .seen_ms = r->time_ms};
    else if (d.stale && r->time_ms > d.stale_last_ms)
        next = (s_dev){.seen = true, .seen_ms = r->time_ms, .stale_last_ms = d.stale_last_ms};
    else
        return AW_OK;
    return s_dev_move(p, txn, r->device, &d, &next);
}

/* DEVICE_STALE (unless a reading newer than its last_seen already came)
 * and DEVICE_BACK. */
static int s_on_device(aw_picture_t *p, aw_txn_t *txn, const Anwang__DeviceEvent *ev)
{
    s_dev d;
    int rv = s_dev_get(p, txn, ev->device, &d);
    if (rv != AW_OK)
        return rv;
    s_dev next = d;
    if (ev->kind == ANWANG__DEVICE_EVENT_KIND__DEVICE_STALE) {
        int64_t last = ev->has_last_seen_ms ? ev->last_seen_ms : ev->time_ms;
        s_newest n;
        rv = s_latest_newest(p, txn, ev->device, &n);
        if (rv != AW_OK)
            return rv;
        if ((n.any && n.ms > last) || (d.seen && !d.stale && d.seen_ms > last))
            return AW_OK;
        next.stale = true;
        if (!d.stale || last > d.stale_last_ms)
            next.stale_last_ms = last;
    } else if (ev->kind == ANWANG__DEVICE_EVENT_KIND__DEVICE_BACK) {
        if (!d.stale && d.seen)
            return AW_OK;
        next.stale = false;
        next.seen = true;
    } else {
        return AW_OK;
    }
    return s_dev_move(p, txn, ev->device, &d, &next);
}

/* ------------------------------------------------------------ alarms */

typedef struct s_point {
    aw_level level;
    char site[AW_CENTER_KEY_MAX + 1];
    char item[AW_CENTER_KEY_MAX + 1];
} s_point;

static int s_point_get(aw_picture_t *p, aw_txn_t *txn, const char *id, s_point *pt, bool *found)
{
    const void *raw;
    size_t vlen;
    memset(pt, 0, sizeof *pt);
    int rv = s_get(txn, p->t[S_T_POINTS], id, strlen(id), &raw, &vlen, found);
    const uint8_t *v = raw;
    if (rv != AW_OK || !*found)
        return rv;
    if (vlen > AW_CENTER_KEY_MAX + 4)
        return AW_ECORRUPT;
    const uint8_t *nul1 = vlen >= 2 ? memchr(v + 2, 0, vlen - 2) : NULL;
    const uint8_t *nul2 = nul1 ? memchr(nul1 + 1, 0, (size_t)(v + vlen - nul1 - 1)) : NULL;
    if (v[0] != S_ROW_V1 || nul2 == NULL || nul2 != v + vlen - 1)
        return AW_ECORRUPT;
    pt->level = s_level_ok(v[1]);
    memcpy(pt->site, v + 2, (size_t)(nul1 - v - 2) + 1);
    memcpy(pt->item, nul1 + 1, (size_t)(nul2 - nul1));
    return AW_OK;
}

static int s_point_put(aw_picture_t *p, aw_txn_t *txn, const char *id, const s_point *pt)
{
    uint8_t v[2 + AW_CENTER_KEY_MAX + 2];
    size_t sl = strlen(pt->site), il = strlen(pt->item);
    if (sl + il + 2 > AW_CENTER_KEY_MAX)
        return AW_OK;
    v[0] = S_ROW_V1;
    v[1] = (uint8_t)pt->level;
    memcpy(v + 2, pt->site, sl + 1);
    memcpy(v + 3 + sl, pt->item, il + 1);
    return aw_txn_put(txn, p->t[S_T_POINTS], id, strlen(id), v, 4 + sl + il);
}

/* Where the picture counts alarm @p ev: its site and item, else the registry's. */
static void s_point_of(const aw_picture_t *p, const Anwang__AlarmEvent *ev, s_point *pt)
{
    const aw_device *dev = p->reg ? aw_registry_device_find(p->reg, ev->device) : NULL;
    const aw_metric *m = dev ? aw_registry_metric_find(dev, ev->metric) : NULL;
    const char *site = ev->site && ev->site[0] ? ev->site : dev ? dev->site->path : "";
    const char *item = ev->item && ev->item[0] ? ev->item : m ? m->item : ev->metric;
    memset(pt, 0, sizeof *pt);
    if (strlen(site) + strlen(item) + 2 <= AW_CENTER_KEY_MAX) {
        strcpy(pt->site, site);
        strcpy(pt->item, item);
    }
}

/* Moves one point of (site, item) from level @p from to @p to. */
static int s_item_move(aw_picture_t *p, aw_txn_t *txn, const s_point *pt, aw_level from,
                       aw_level to)
{
    uint8_t key[AW_CENTER_KEY_MAX];
    size_t klen = s_key2(key, pt->site, pt->item, false);
    const void *raw;
    size_t vlen;
    bool found;
    unsigned counts[AW_LEVEL_COUNT] = {0};
    if (klen == 0)
        return AW_OK;
    int rv = s_get(txn, p->t[S_T_ITEMS], key, klen, &raw, &vlen, &found);
    const uint8_t *v = raw;
    if (rv == AW_OK && found)
        rv = s_item_decode(v, vlen, counts);
    if (rv != AW_OK)
        return rv;
    if (from != AW_LEVEL_NONE && counts[from] > 0)
        counts[from]--;
    if (to != AW_LEVEL_NONE)
        counts[to]++;
    unsigned any = 0;
    uint8_t row[S_ITEM_LEN];
    row[0] = S_ROW_V1;
    for (int l = 0; l < AW_LEVEL_COUNT; l++) {
        any += counts[l];
        s_put_u32(row + 1 + 4 * l, counts[l]);
    }
    if (any == 0)
        return s_del(txn, p->t[S_T_ITEMS], key, klen);
    return aw_txn_put(txn, p->t[S_T_ITEMS], key, klen, row, sizeof row);
}

/* alarm_log: flip(time) alarm_id → edge NUL record. */
static int s_alarm_log_put(aw_picture_t *p, aw_txn_t *txn, const char *edge,
                           const Anwang__Record *rec)
{
    uint8_t key[AW_CENTER_KEY_MAX];
    size_t il = strlen(rec->alarm->alarm_id), el = strlen(edge);
    if (il + 8 > AW_CENTER_KEY_MAX)
        return AW_OK;
    aw_put_be64(key, s_flip(rec->alarm->time_ms));
    memcpy(key + 8, rec->alarm->alarm_id, il);
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[160];
    int rv = aw_codec_record_encode(rec, &buf, &len, why, sizeof why);
    if (rv != AW_OK)
        return rv == AW_ENOMEM ? rv : AW_OK; /* it decoded, so it encodes */
    uint8_t *v = malloc(el + 1 + len);
    if (v != NULL) {
        memcpy(v, edge, el + 1);
        memcpy(v + el + 1, buf, len);
        rv = aw_txn_put(txn, p->t[S_T_ALARM_LOG], key, il + 8, v, el + 1 + len);
    }
    free(v);
    free(buf);
    return v == NULL ? AW_ENOMEM : rv;
}

/* An alarm event: the point's level (ack keeps it, clear removes it), the
 * item's points, the log of cleared alarms and the node counts. */
static int s_on_alarm(aw_picture_t *p, aw_txn_t *txn, const aw_center_origin *from,
                      const Anwang__Record *rec)
{
    const Anwang__AlarmEvent *ev = rec->alarm;
    s_point old, next;
    bool found;
    int rv = s_point_get(p, txn, ev->alarm_id, &old, &found);
    if (rv != AW_OK)
        return rv;
    if (found)
        next = old;
    else
        s_point_of(p, ev, &next);
    if (ev->kind == ANWANG__ALARM_EVENT_KIND__ALARM_CLEARED)
        next.level = AW_LEVEL_NONE;
    else if (ev->kind != ANWANG__ALARM_EVENT_KIND__ALARM_ACKNOWLEDGED || !found)
        next.level = s_level_ok((int)ev->level);
    if (ev->kind == ANWANG__ALARM_EVENT_KIND__ALARM_CLEARED && from != NULL)
        rv = s_alarm_log_put(p, txn, from->edge_id, rec);
    aw_level was = found ? old.level : AW_LEVEL_NONE;
    if (rv != AW_OK || was == next.level)
        return rv;
    rv = s_item_move(p, txn, &next, was, next.level);
    if (rv == AW_OK && next.level == AW_LEVEL_NONE)
        rv = s_del(txn, p->t[S_T_POINTS], ev->alarm_id, strlen(ev->alarm_id));
    else if (rv == AW_OK)
        rv = s_point_put(p, txn, ev->alarm_id, &next);
    const aw_site *site = rv == AW_OK ? s_counted_site(p, txn, next.site) : NULL;
    if (site == NULL)
        return rv;
    s_node d = {0};
    d.f[S_F_ALARMS + was] -= was != AW_LEVEL_NONE;
    d.f[S_F_ALARMS + next.level] += next.level != AW_LEVEL_NONE;
    return s_site_move(p, txn, site, d);
}

/* ------------------------------------------------------------ hazards */

#define S_HAZ_OVERDUE  1u
#define S_HAZ_NOTIFIED 2u
#define S_HAZ_DEADLINE 4u
#define S_HAZ_FIXED    20 /* version status level flags reported(8) deadline(8) */

typedef struct s_haz {
    aw_hazard_status status;
    int level; /* Anwang__HazardLevel */
    bool overdue, notified, has_deadline;
    int64_t reported_ms, deadline_ms;
    char site[AW_CENTER_KEY_MAX + 1];
    char sector[AW_CENTER_KEY_MAX + 1];
} s_haz;

static bool s_haz_open(const s_haz *h)
{
    return h->status >= AW_HAZARD_REPORTED && h->status < AW_HAZARD_CLOSED;
}

static int s_haz_decode(const uint8_t *v, size_t vlen, s_haz *h)
{
    memset(h, 0, sizeof *h);
    if (vlen < S_HAZ_FIXED + 2 || v[0] != S_ROW_V1 || v[vlen - 1] != 0)
        return AW_ECORRUPT;
    const uint8_t *nul1 = memchr(v + S_HAZ_FIXED, 0, vlen - S_HAZ_FIXED);
    if (nul1 == v + vlen - 1 || (size_t)(nul1 - v) - S_HAZ_FIXED > AW_CENTER_KEY_MAX ||
        (size_t)(v + vlen - nul1) - 1 > AW_CENTER_KEY_MAX + 1 ||
        memchr(nul1 + 1, 0, (size_t)(v + vlen - nul1 - 1)) != v + vlen - 1)
        return AW_ECORRUPT;
    h->status = v[1] < AW_HAZARD_STATUS_COUNT ? (aw_hazard_status)v[1] : AW_HAZARD_UNREPORTED;
    h->level = v[2] ? ANWANG__HAZARD_LEVEL__HAZARD_MAJOR : ANWANG__HAZARD_LEVEL__HAZARD_GENERAL;
    h->overdue = v[3] & S_HAZ_OVERDUE;
    h->notified = v[3] & S_HAZ_NOTIFIED;
    h->has_deadline = v[3] & S_HAZ_DEADLINE;
    h->reported_ms = (int64_t)aw_get_be64(v + 4);
    h->deadline_ms = (int64_t)aw_get_be64(v + 12);
    memcpy(h->site, v + S_HAZ_FIXED, (size_t)(nul1 - v) - S_HAZ_FIXED + 1);
    memcpy(h->sector, nul1 + 1, (size_t)(v + vlen - nul1 - 1));
    return AW_OK;
}

static int s_haz_get(aw_picture_t *p, aw_txn_t *txn, const char *id, s_haz *h, bool *found)
{
    const void *raw;
    size_t vlen;
    memset(h, 0, sizeof *h);
    int rv = s_get(txn, p->t[S_T_HAZ], id, strlen(id), &raw, &vlen, found);
    const uint8_t *v = raw;
    if (rv != AW_OK || !*found)
        return rv;
    return s_haz_decode(v, vlen, h);
}

static int s_haz_put(aw_picture_t *p, aw_txn_t *txn, const char *id, const s_haz *h)
{
    size_t sl = strlen(h->site), cl = strlen(h->sector);
    uint8_t *v = malloc(S_HAZ_FIXED + sl + cl + 2);
    if (v == NULL)
        return AW_ENOMEM;
    v[0] = S_ROW_V1;
    v[1] = (uint8_t)h->status;
    v[2] = h->level == ANWANG__HAZARD_LEVEL__HAZARD_MAJOR;
    v[3] = (uint8_t)((h->overdue ? S_HAZ_OVERDUE : 0) | (h->notified ? S_HAZ_NOTIFIED : 0) |
                     (h->has_deadline ? S_HAZ_DEADLINE : 0));
    aw_put_be64(v + 4, (uint64_t)h->reported_ms);
    aw_put_be64(v + 12, (uint64_t)h->deadline_ms);
    memcpy(v + S_HAZ_FIXED, h->site, sl + 1);
    memcpy(v + S_HAZ_FIXED + sl + 1, h->sector, cl + 1);
    int rv = aw_txn_put(txn, p->t[S_T_HAZ], id, strlen(id), v, S_HAZ_FIXED + sl + cl + 2);
    free(v);
    return rv;
}

/* What hazard @p h adds to its site's row (times @p sign). */
static void s_haz_delta(const s_haz *h, int sign, s_node *d)
{
    if (!s_haz_open(h))
        return;
    d->f[S_F_OPEN + h->level] += sign;
    if (h->overdue)
        d->f[S_F_OVERDUE + h->level] += sign;
}

/* Writes @p next for hazard @p id and moves the counts from @p prev. */
static int s_haz_move(aw_picture_t *p, aw_txn_t *txn, const char *id, const s_haz *prev,
                      const s_haz *next)
{
    int rv = s_haz_put(p, txn, id, next);
    const aw_site *a = s_counted_site(p, txn, prev->site), *b = s_counted_site(p, txn, next->site);
    s_node da = {0}, db = {0};
    s_haz_delta(prev, -1, &da);
    s_haz_delta(next, +1, a == b ? &da : &db);
    if (rv == AW_OK && a != NULL)
        rv = s_site_move(p, txn, a, da);
    if (rv == AW_OK && b != NULL && b != a)
        rv = s_site_move(p, txn, b, db);
    return rv;
}

/* The events of one hazard, decoded from `hazards`. */
typedef struct s_events {
    Anwang__Record **recs;
    const Anwang__HazardEvent **evs;
    size_t n, cap;
    int err;
} s_events;

static int s_events_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    s_events *e = arg;
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 16;
        Anwang__Record **r = realloc(e->recs, cap * sizeof *r);
        if (r != NULL)
            e->recs = r;
        const Anwang__HazardEvent **v = r ? realloc(e->evs, cap * sizeof *v) : NULL;
        if (v == NULL) {
            e->err = AW_ENOMEM;
            return 1;
        }
        e->evs = v;
        e->cap = cap;
    }
    Anwang__Record *rec = NULL;
    int rv = aw_codec_record_decode(val, vlen, NULL, &rec, NULL, 0);
    if (rv == AW_ENOMEM) {
        e->err = rv;
        return 1;
    }
    if (rv != AW_OK || rec->body_case != ANWANG__RECORD__BODY_HAZARD) {
        aw_codec_record_free(&rec); /* apply.c stored it decoded: not expected */
        return 0;
    }
    e->recs[e->n] = rec;
    e->evs[e->n++] = rec->hazard;
    return 0;
}

static void s_events_free(s_events *e)
{
    for (size_t i = 0; i < e->n; i++)
        aw_codec_record_free(&e->recs[i]);
    free(e->recs);
    free(e->evs);
    *e = (s_events){0};
}

/* The summary of a folded hazard; @p prev keeps the flags time set. */
static void s_haz_of(const aw_hazard_state *st, const s_haz *prev, int64_t now_ms, s_haz *h)
{
    memset(h, 0, sizeof *h);
    h->status = st->status;
    h->level = st->level == ANWANG__HAZARD_LEVEL__HAZARD_MAJOR;
    h->reported_ms = st->reported_at_ms;
    h->has_deadline = st->unit != NULL;
    h->deadline_ms = st->unit != NULL ? st->deadline_ms : 0;
    if (st->site && strlen(st->site) <= AW_CENTER_KEY_MAX)
        strcpy(h->site, st->site);
    if (st->sector && strlen(st->sector) <= AW_CENTER_KEY_MAX)
        strcpy(h->sector, st->sector);
    /* Time only moves on: once found overdue at this deadline, it stays. */
    bool late = h->status == AW_HAZARD_ASSIGNED || h->status == AW_HAZARD_RECTIFYING;
    h->overdue =
        aw_hazard_overdue(st, now_ms) || (late && prev->overdue && prev->has_deadline &&
                                          h->has_deadline && prev->deadline_ms == h->deadline_ms);
    h->notified = prev->notified;
}

int aw_picture_hazard_changed(aw_picture_t *self, aw_txn_t *txn, const char *hazard_id,
                              int64_t now_ms)
{
    if (self == NULL || txn == NULL || hazard_id == NULL || hazard_id[0] == 0)
        return AW_EINVAL;
    size_t plen = strlen(hazard_id) + 1;
    if (plen > AW_CENTER_KEY_MAX - 8)
        return AW_EINVAL;
    s_events e = {0};
    int rv = aw_txn_scan(txn, aw_center_db_table(self->db, AW_CT_HAZARDS), hazard_id, plen, NULL, 0,
                         s_events_cb, &e);
    if (rv == AW_OK)
        rv = e.err;
    s_haz prev, next;
    bool found = false;
    if (rv == AW_OK)
        rv = s_haz_get(self, txn, hazard_id, &prev, &found);
    aw_hazard_state *st = NULL;
    if (rv == AW_OK && e.n > 0)
        rv = aw_ledger_fold(e.evs, e.n, &st);
    if (rv == AW_OK && st != NULL) {
        s_haz_of(st, &prev, now_ms, &next);
        rv = s_haz_move(self, txn, hazard_id, &prev, &next);
    }
    aw_hazard_state_destroy(&st);
    s_events_free(&e);
    return rv == AW_EINVAL ? AW_OK : rv; /* a set the fold refuses: nothing to show */
}

typedef struct s_due {
    int64_t now_ms;
    s_keys ids;
} s_due;

static int s_due_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_due *d = arg;
    s_haz h;
    if (s_haz_decode(val, vlen, &h) != AW_OK)
        return 0;
    bool late = (h.status == AW_HAZARD_ASSIGNED || h.status == AW_HAZARD_RECTIFYING) &&
                h.has_deadline && d->now_ms > h.deadline_ms;
    if (late && (!h.overdue || !h.notified))
        return s_keys_add(&d->ids, key, klen) != AW_OK;
    return 0;
}

int aw_picture_overdue_scan(aw_picture_t *self, aw_txn_t *txn, int64_t now_ms,
                            aw_picture_overdue_fn fn, void *arg)
{
    if (self == NULL || txn == NULL)
        return AW_EINVAL;
    s_due d = {.now_ms = now_ms};
    int rv = aw_txn_scan(txn, self->t[S_T_HAZ], NULL, 0, NULL, 0, s_due_cb, &d);
    if (rv == AW_OK)
        rv = d.ids.err;
    for (size_t i = 0; rv == AW_OK && i < d.ids.n; i++) {
        const char *id = (const char *)d.ids.k[i];
        s_haz prev, next;
        bool found;
        rv = s_haz_get(self, txn, id, &prev, &found);
        if (rv != AW_OK || !found)
            continue;
        next = prev;
        next.overdue = true;
        next.notified = prev.notified || fn != NULL;
        rv = s_haz_move(self, txn, id, &prev, &next);
        if (rv == AW_OK && !prev.notified && fn != NULL)
            rv = fn(arg, txn, id);
    }
    s_keys_free(&d.ids);
    return rv;
}

/* ------------------------------------------------------------ the hook */

int aw_picture_on_record(void *arg, aw_txn_t *txn, const aw_center_origin *from,
                         const Anwang__Record *rec)
{
    aw_picture_t *p = arg;
    if (p == NULL || txn == NULL || rec == NULL)
        return AW_EINVAL;
    int rv;
    switch (rec->body_case) {
    case ANWANG__RECORD__BODY_READING:
        return s_on_reading(p, txn, rec->reading);
    case ANWANG__RECORD__BODY_ALARM:
        return s_on_alarm(p, txn, from, rec);
    case ANWANG__RECORD__BODY_DEVICE:
        return s_on_device(p, txn, rec->device);
    case ANWANG__RECORD__BODY_HAZARD:
        rv = aw_picture_hazard_changed(p, txn, rec->hazard->hazard_id, s_now(p));
        return rv == AW_EINVAL ? AW_OK : rv;
    default:
        return AW_OK;
    }
}

/* ------------------------------------------------------------ life */

int aw_picture_open(aw_center_db_t *db, aw_picture_t **out)
{
    if (db == NULL || out == NULL)
        return AW_EINVAL;
    *out = NULL;
    aw_picture_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return AW_ENOMEM;
    p->db = db;
    p->store = aw_center_db_store(db);
    p->now_ms = s_real_now;
    for (int i = 0; i < S_T_COUNT; i++) {
        int rv = aw_store_table(p->store, s_table_names[i], &p->t[i]);
        if (rv != AW_OK) {
            free(p);
            return rv;
        }
    }
    *out = p;
    return AW_OK;
}

void aw_picture_destroy(aw_picture_t **self_p)
{
    if (self_p == NULL)
        return;
    free(*self_p);
    *self_p = NULL;
}

void aw_picture_use_registry(aw_picture_t *self, const aw_registry_t *reg)
{
    if (self == NULL)
        return;
    self->reg = reg;
}

void aw_picture_set_clock(aw_picture_t *self, int64_t (*now_ms)(void *arg), void *arg)
{
    if (self == NULL)
        return;
    self->now_ms = now_ms != NULL ? now_ms : s_real_now;
    self->clock_arg = now_ms != NULL ? arg : NULL;
}

void aw_picture_set_history_step(aw_picture_t *self, int64_t step_ms)
{
    if (self != NULL)
        self->history_step_ms = step_ms > 0 ? step_ms : 0;
}

bool aw_picture_built_for_current(aw_picture_t *self, aw_txn_t *txn)
{
    return self != NULL && txn != NULL && s_built(self, txn);
}

/* ------------------------------------------------------------ rebuild */

typedef struct s_rebuild {
    aw_picture_t *p;
    s_node *sites;      /* per registry site */
    aw_level *item_max; /* per registry site */
    int err;
} s_rebuild;

static int s_rb_items_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_rebuild *rb = arg;
    const char *site_path = key; /* site NUL item */
    if (memchr(key, 0, klen) == NULL)
        return 0;
    const aw_site *site = aw_registry_site_find(rb->p->reg, site_path);
    unsigned counts[AW_LEVEL_COUNT];
    if (site == NULL || s_item_decode(val, vlen, counts) != AW_OK)
        return 0;
    for (int l = AW_LEVEL_BLUE; l < AW_LEVEL_COUNT; l++)
        rb->sites[site->index].f[S_F_ALARMS + l] += counts[l];
    rb->item_max[site->index] = aw_level_max(rb->item_max[site->index], aw_grade_item(counts));
    return 0;
}

static int s_rb_haz_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    s_rebuild *rb = arg;
    s_haz h;
    if (s_haz_decode(val, vlen, &h) != AW_OK || h.site[0] == 0)
        return 0;
    const aw_site *site = aw_registry_site_find(rb->p->reg, h.site);
    if (site != NULL)
        s_haz_delta(&h, +1, &rb->sites[site->index]);
    return 0;
}

/* Every site's own row: devices, alarms, hazards, colour. */
static int s_rb_sites(s_rebuild *rb, aw_txn_t *txn)
{
    aw_picture_t *p = rb->p;
    size_t nd, ns;
    const aw_device *devs = aw_registry_devices(p->reg, &nd);
    const aw_site *sites = aw_registry_sites(p->reg, &ns);
    int rv = AW_OK;
    for (size_t i = 0; rv == AW_OK && i < nd; i++) {
        s_dev d;
        s_node *n = &rb->sites[devs[i].site->index];
        rv = s_dev_get(p, txn, devs[i].id, &d);
        n->f[S_F_TOTAL]++;
        n->f[S_F_ONLINE] += s_dev_state_of(&d) == S_ONLINE;
        n->f[S_F_STALE] += s_dev_state_of(&d) == S_STALE;
    }
    if (rv == AW_OK)
        rv = aw_txn_scan(txn, p->t[S_T_ITEMS], NULL, 0, NULL, 0, s_rb_items_cb, rb);
    if (rv == AW_OK)
        rv = aw_txn_scan(txn, p->t[S_T_HAZ], NULL, 0, NULL, 0, s_rb_haz_cb, rb);
    for (size_t i = 0; rv == AW_OK && i < ns; i++) {
        s_node *n = &rb->sites[i];
        unsigned og = (unsigned)n->f[S_F_OPEN], om = (unsigned)n->f[S_F_OPEN + 1];
        n->f[S_F_SITES + aw_grade_site(sites[i].risk, &rb->item_max[i], 1, og, om)] = 1;
    }
    return rv;
}

static void s_node_sum(s_node *to, const s_node *from)
{
    for (int f = 0; f < S_NF; f++)
        to->f[f] += from->f[f];
}

/* Sums the sites up the tree and writes every row. */
static int s_rb_write(s_rebuild *rb, aw_txn_t *txn)
{
    aw_picture_t *p = rb->p;
    size_t nz, nv, ns;
    const aw_zone *zones = aw_registry_zones(p->reg, &nz);
    const aw_village *vils = aw_registry_villages(p->reg, &nv);
    const aw_site *sites = aw_registry_sites(p->reg, &ns);
    s_node county = {0};
    s_node *zn = calloc(nz ? nz : 1, sizeof *zn), *vn = calloc(nv ? nv : 1, sizeof *vn);
    int rv = zn && vn ? AW_OK : AW_ENOMEM;
    for (size_t i = 0; rv == AW_OK && i < ns; i++) {
        s_node_sum(&vn[sites[i].village->index], &rb->sites[i]);
        rv = s_node_put(p, txn, sites[i].path, &rb->sites[i]);
    }
    for (size_t i = 0; rv == AW_OK && i < nv; i++) {
        s_node_sum(&zn[vils[i].zone->index], &vn[i]);
        rv = s_node_put(p, txn, vils[i].path, &vn[i]);
    }
    for (size_t i = 0; rv == AW_OK && i < nz; i++) {
        s_node_sum(&county, &zn[i]);
        rv = s_node_put(p, txn, zones[i].path, &zn[i]);
    }
    if (rv == AW_OK)
        rv = s_node_put(p, txn, aw_registry_county(p->reg), &county);
    free(zn);
    free(vn);
    return rv;
}

static int s_clear_table(aw_txn_t *txn, aw_table_t t)
{
    s_keys ks = {0};
    int rv = aw_txn_scan(txn, t, NULL, 0, NULL, 0, s_keys_cb, &ks);
    if (rv == AW_OK)
        rv = ks.err;
    for (size_t i = 0; rv == AW_OK && i < ks.n; i++)
        rv = s_del(txn, t, ks.k[i], ks.len[i]);
    s_keys_free(&ks);
    return rv;
}

int aw_picture_rebuild(aw_picture_t *self, aw_txn_t *txn, int64_t now_ms)
{
    (void)now_ms; /* the overdue flags are state, moved by the scan */
    if (self == NULL || txn == NULL)
        return AW_EINVAL;
    int rv = s_clear_table(txn, self->t[S_T_NODES]);
    if (rv != AW_OK || self->reg == NULL) {
        if (rv == AW_OK)
            rv = s_del(txn, self->t[S_T_META], S_META_BUILT, strlen(S_META_BUILT));
        return rv;
    }
    size_t ns;
    aw_registry_sites(self->reg, &ns);
    s_rebuild rb = {.p = self};
    rb.sites = calloc(ns ? ns : 1, sizeof *rb.sites);
    rb.item_max = calloc(ns ? ns : 1, sizeof *rb.item_max);
    rv = rb.sites && rb.item_max ? AW_OK : AW_ENOMEM;
    if (rv == AW_OK)
        rv = s_rb_sites(&rb, txn);
    if (rv == AW_OK)
        rv = s_rb_write(&rb, txn);
    free(rb.sites);
    free(rb.item_max);
    uint8_t v[8];
    aw_put_be64(v, aw_registry_version(self->reg));
    if (rv == AW_OK)
        rv = aw_txn_put(txn, self->t[S_T_META], S_META_BUILT, strlen(S_META_BUILT), v, 8);
    return rv;
}

/* ------------------------------------------------------------ prune */

typedef struct s_prune {
    uint8_t next[AW_CENTER_KEY_MAX];
    size_t next_len;
    bool more;
    s_keys old;
} s_prune;

/* Finds the first key at or after `from`: its (device, metric) group. */
static int s_group_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val, (void)vlen;
    s_prune *pr = arg;
    if (klen < 9 || klen - 8 > AW_CENTER_KEY_MAX)
        return 1;
    if (((const uint8_t *)key)[klen - 9] != 0)
        return 1; /* not device NUL metric NUL time */
    pr->next_len = klen - 8;
    memcpy(pr->next, key, pr->next_len);
    pr->more = true;
    return 1;
}

/* Collects alarm_log keys older than `until` (ks->until); they come first. */
static int s_log_old_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_keys *ks = arg;
    if (klen < 8 || memcmp(key, ks->until, 8) >= 0)
        return 1;
    return s_keys_cb(arg, key, klen, val, vlen);
}

int aw_picture_prune(aw_picture_t *self, int64_t now_ms, int64_t keep_ms, size_t max_rows,
                     size_t *deleted)
{
    if (deleted != NULL)
        *deleted = 0;
    if (self == NULL || keep_ms < 0 || max_rows == 0 || deleted == NULL)
        return AW_EINVAL;
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(self->store, &txn);
    s_prune pr = {.old.max = max_rows};
    uint8_t from[AW_CENTER_KEY_MAX];
    size_t flen = 0;
    int64_t cut, log_cut; /* rows at or before these are old */
    bool hist = !__builtin_sub_overflow(now_ms, keep_ms, &cut) && cut > INT64_MIN;
    if (__builtin_sub_overflow(now_ms, S_ALARM_LOG_KEEP_MS, &log_cut))
        log_cut = INT64_MIN;
    /* history: in each group, the rows older than the cutoff are its tail */
    while (rv == AW_OK && hist && pr.old.n < max_rows) {
        pr.more = false;
        rv = aw_txn_scan(txn, self->t[S_T_HISTORY], NULL, 0, flen ? from : NULL, flen, s_group_cb,
                         &pr);
        if (rv != AW_OK || !pr.more)
            break;
        uint8_t start[AW_CENTER_KEY_MAX];
        memcpy(start, pr.next, pr.next_len);
        aw_put_be64(start + pr.next_len, ~s_flip(cut - 1));
        rv = aw_txn_scan(txn, self->t[S_T_HISTORY], pr.next, pr.next_len, start, pr.next_len + 8,
                         s_keys_cb, &pr.old);
        /* the next group: this prefix with its final NUL made 0x01 */
        memcpy(from, pr.next, pr.next_len);
        from[pr.next_len - 1] = 1;
        flen = pr.next_len;
        if (rv == AW_OK)
            rv = pr.old.err;
    }
    size_t n_hist = pr.old.n;
    /* alarm_log: time order, so the old rows come first */
    uint8_t until[8];
    aw_put_be64(until, s_flip(log_cut));
    s_keys logs = {.until = until, .max = max_rows - (n_hist < max_rows ? n_hist : max_rows)};
    if (rv == AW_OK && logs.max > 0)
        rv = aw_txn_scan(txn, self->t[S_T_ALARM_LOG], NULL, 0, NULL, 0, s_log_old_cb, &logs);
    if (rv == AW_OK)
        rv = logs.err;
    for (size_t i = 0; rv == AW_OK && i < n_hist; i++)
        rv = s_del(txn, self->t[S_T_HISTORY], pr.old.k[i], pr.old.len[i]);
    size_t n_log = 0;
    for (size_t i = 0; rv == AW_OK && i < logs.n && memcmp(logs.k[i], until, 8) < 0; i++, n_log++)
        rv = s_del(txn, self->t[S_T_ALARM_LOG], logs.k[i], logs.len[i]);
    if (rv == AW_OK)
        rv = aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    s_keys_free(&pr.old);
    s_keys_free(&logs);
    if (rv == AW_OK)
        *deleted = n_hist + n_log;
    return rv;
}

/* ------------------------------------------------------------ JSON helpers */

static json_t *s_time_json(int64_t ms)
{
    char buf[AW_RFC3339_LEN];
    return aw_time_format_rfc3339(ms, buf) == AW_OK ? json_string(buf) : json_null();
}

static json_t *s_real_json(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *s_str_json(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* Sets @p key of @p obj (taking @p v); false when either is NULL. */
static bool s_set(json_t *obj, const char *key, json_t *v)
{
    return obj != NULL && v != NULL && json_object_set_new(obj, key, v) == 0;
}

/* ------------------------------------------------------------ tree */

typedef enum s_kind { S_K_COUNTY, S_K_ZONE, S_K_VILLAGE, S_K_SITE } s_kind;

static const char *const s_kind_names[] = {"county", "zone", "village", "site"};

typedef struct s_ref {
    s_kind kind;
    const aw_zone *zone;
    const aw_village *village;
    const aw_site *site;
} s_ref;

/* One edge's link, for the zone rows. */
typedef struct s_link {
    char edge[AW_CENTER_EDGE_ID_MAX + 1];
    aw_center_edge_row row;
} s_link;

typedef struct s_tree {
    aw_picture_t *p;
    aw_txn_t *txn;
    bool loaded;   /* links: read at the first zone row */
    s_link *links; /* sorted by zone */
    size_t n_links;
} s_tree;

static int s_link_cmp(const void *a, const void *b)
{
    return strcmp(((const s_link *)a)->row.zone, ((const s_link *)b)->row.zone);
}

/* Reads every edge's row (one get each), sorted by zone. */
static int s_links_load(s_tree *t)
{
    s_keys ks = {0};
    aw_center_db_t *db = t->p->db;
    t->loaded = true;
    int rv =
        aw_txn_scan(t->txn, aw_center_db_table(db, AW_CT_EDGES), NULL, 0, NULL, 0, s_keys_cb, &ks);
    if (rv == AW_OK)
        rv = ks.err;
    if (rv == AW_OK && ks.n > 0 && (t->links = calloc(ks.n, sizeof *t->links)) == NULL)
        rv = AW_ENOMEM;
    for (size_t i = 0; rv == AW_OK && i < ks.n; i++) {
        s_link *l = &t->links[t->n_links];
        const char *edge = (const char *)ks.k[i];
        if (ks.len[i] > AW_CENTER_EDGE_ID_MAX || strlen(edge) != ks.len[i] ||
            aw_center_edge_row_get(t->txn, db, edge, &l->row) != AW_OK || l->row.zone[0] == 0)
            continue;
        strcpy(l->edge, edge);
        t->n_links++;
    }
    s_keys_free(&ks);
    if (t->n_links > 1)
        qsort(t->links, t->n_links, sizeof *t->links, s_link_cmp);
    return rv;
}

/* The edge of @p zone: its connected one, else the one heard from last. */
static const s_link *s_link_of(const s_tree *t, const char *zone)
{
    size_t lo = 0, hi = t->n_links;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(t->links[mid].row.zone, zone) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    const s_link *best = NULL;
    for (size_t i = lo; i < t->n_links && strcmp(t->links[i].row.zone, zone) == 0; i++) {
        const s_link *l = &t->links[i];
        if (best == NULL || (l->row.connected && !best->row.connected) ||
            (l->row.connected == best->row.connected &&
             l->row.last_contact_ms > best->row.last_contact_ms))
            best = l;
    }
    return best;
}

/* The `link` of zone @p zone (JSON null when no edge serves it). */
static int s_link_json(s_tree *t, const char *zone, json_t **out)
{
    int rv = t->loaded ? AW_OK : s_links_load(t);
    const s_link *l = rv == AW_OK ? s_link_of(t, zone) : NULL;
    *out = NULL;
    if (rv != AW_OK)
        return rv;
    if (l == NULL) {
        *out = json_null();
        return AW_OK;
    }
    uint64_t applied[AW_LANE_COUNT], backlog[AW_LANE_COUNT];
    for (int lane = 0; rv == AW_OK && lane < AW_LANE_COUNT; lane++) {
        rv = aw_center_applied_get(t->txn, t->p->db, l->edge, l->row.epoch, (aw_lane)lane,
                                   &applied[lane]);
        backlog[lane] = l->row.head[lane] > applied[lane] ? l->row.head[lane] - applied[lane] : 0;
    }
    if (rv != AW_OK)
        return rv;
    *out = json_pack(
        "{s:s, s:b, s:I, s:o, s:I, s:{s:I, s:I}, s:{s:I, s:I}}", "edge", l->edge, "connected",
        l->row.connected, "epoch", (json_int_t)l->row.epoch, "last_contact",
        l->row.last_contact_ms ? s_time_json(l->row.last_contact_ms) : json_null(), "skew_ms",
        (json_int_t)l->row.skew_ms, "applied", "urgent", (json_int_t)applied[AW_LANE_URGENT],
        "bulk", (json_int_t)applied[AW_LANE_BULK], "backlog", "urgent",
        (json_int_t)backlog[AW_LANE_URGENT], "bulk", (json_int_t)backlog[AW_LANE_BULK]);
    return *out != NULL ? AW_OK : AW_ENOMEM;
}

static const char *s_ref_path(const aw_picture_t *p, const s_ref *r)
{
    switch (r->kind) {
    case S_K_ZONE:
        return r->zone->path;
    case S_K_VILLAGE:
        return r->village->path;
    case S_K_SITE:
        return r->site->path;
    default:
        return aw_registry_county(p->reg);
    }
}

static const char *s_ref_name(const aw_picture_t *p, const s_ref *r)
{
    switch (r->kind) {
    case S_K_ZONE:
        return r->zone->name;
    case S_K_VILLAGE:
        return r->village->name;
    case S_K_SITE:
        return r->site->name;
    default:
        return aw_registry_name(p->reg);
    }
}

static size_t s_ref_children(const aw_picture_t *p, const s_ref *r)
{
    size_t n = 0;
    switch (r->kind) {
    case S_K_COUNTY:
        aw_registry_zones(p->reg, &n);
        return n;
    case S_K_ZONE:
        return r->zone->n_villages;
    case S_K_VILLAGE:
        return r->village->n_sites;
    default:
        return 0;
    }
}

static s_ref s_ref_child(const aw_picture_t *p, const s_ref *r, size_t i)
{
    size_t n;
    switch (r->kind) {
    case S_K_COUNTY:
        return (s_ref){.kind = S_K_ZONE, .zone = &aw_registry_zones(p->reg, &n)[i]};
    case S_K_ZONE:
        return (s_ref){.kind = S_K_VILLAGE, .village = &r->zone->villages[i]};
    default:
        return (s_ref){.kind = S_K_SITE, .site = &r->village->sites[i]};
    }
}

/* Finds grid path @p path in the registry. */
static bool s_ref_find(const aw_picture_t *p, const char *path, s_ref *r)
{
    size_t n;
    memset(r, 0, sizeof *r);
    if (path == NULL || strcmp(path, aw_registry_county(p->reg)) == 0)
        return true;
    if ((r->zone = aw_registry_zone_find(p->reg, path)) != NULL) {
        r->kind = S_K_ZONE;
        return true;
    }
    if ((r->site = aw_registry_site_find(p->reg, path)) != NULL) {
        r->kind = S_K_SITE;
        return true;
    }
    const aw_village *v = aw_registry_villages(p->reg, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].path, path) == 0) {
            *r = (s_ref){.kind = S_K_VILLAGE, .village = &v[i]};
            return true;
        }
    return false;
}

static json_t *s_counts_json(const s_node *n)
{
    return json_pack(
        "{s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I}, s:{s:{s:I, s:I}, s:{s:I, s:I}}}", "devices",
        "total", (json_int_t)n->f[S_F_TOTAL], "online", (json_int_t)n->f[S_F_ONLINE], "stale",
        (json_int_t)n->f[S_F_STALE], "alarms", "blue", (json_int_t)n->f[S_F_ALARMS + AW_LEVEL_BLUE],
        "yellow", (json_int_t)n->f[S_F_ALARMS + AW_LEVEL_YELLOW], "orange",
        (json_int_t)n->f[S_F_ALARMS + AW_LEVEL_ORANGE], "red",
        (json_int_t)n->f[S_F_ALARMS + AW_LEVEL_RED], "hazards", "open", "general",
        (json_int_t)n->f[S_F_OPEN], "major", (json_int_t)n->f[S_F_OPEN + 1], "overdue", "general",
        (json_int_t)n->f[S_F_OVERDUE], "major", (json_int_t)n->f[S_F_OVERDUE + 1]);
}

static int s_node_json(s_tree *t, const s_ref *r, int depth, json_t **out)
{
    s_node n;
    const char *path = s_ref_path(t->p, r);
    int rv = s_node_get(t->p, t->txn, path, &n);
    if (rv != AW_OK)
        return rv;
    json_t *o = json_pack("{s:s, s:s, s:s}", "path", path, "name", s_ref_name(t->p, r), "kind",
                          s_kind_names[r->kind]);
    bool ok = o != NULL;
    if (ok && r->kind == S_K_ZONE)
        ok = s_set(o, "zone_kind", json_string(aw_zone_kind_name(r->zone->kind)));
    if (ok && r->kind == S_K_SITE)
        ok = s_set(o, "sector", json_string(aw_sector_name(r->site->sector))) &&
             s_set(o, "risk", json_string(aw_level_name(r->site->risk)));
    json_t *counts = ok ? s_counts_json(&n) : NULL;
    ok = ok && s_set(o, "colour", json_string(aw_level_name(s_node_colour(&n)))) &&
         counts != NULL && json_object_update(o, counts) == 0;
    json_decref(counts);
    json_t *link = NULL;
    if (ok && r->kind == S_K_ZONE && (rv = s_link_json(t, path, &link)) == AW_OK)
        ok = s_set(o, "link", link);
    size_t nc = s_ref_children(t->p, r);
    ok = ok && s_set(o, "children_count", json_integer((json_int_t)nc));
    json_t *kids = ok && depth > 0 ? json_array() : NULL;
    if (ok && depth > 0)
        ok = s_set(o, "children", kids);
    for (size_t i = 0; ok && rv == AW_OK && i < nc && depth > 0; i++) {
        s_ref c = s_ref_child(t->p, r, i);
        json_t *k = NULL;
        rv = s_node_json(t, &c, depth - 1, &k);
        ok = rv != AW_OK || json_array_append_new(kids, k) == 0;
    }
    if (rv == AW_OK && !ok)
        rv = AW_ENOMEM;
    if (rv != AW_OK)
        json_decref(o);
    *out = rv == AW_OK ? o : NULL;
    return rv;
}

int aw_picture_tree_json(aw_picture_t *self, aw_txn_t *txn, const char *root, int depth,
                         int64_t now_ms, json_t **out)
{
    if (out != NULL)
        *out = NULL;
    if (self == NULL || txn == NULL || out == NULL || depth < 0 || depth > 4)
        return AW_EINVAL;
    s_ref r;
    if (self->reg == NULL || !s_ref_find(self, root, &r))
        return AW_ENOTFOUND;
    s_tree t = {.p = self, .txn = txn};
    json_t *node = NULL;
    int rv = s_node_json(&t, &r, depth, &node);
    free(t.links);
    if (rv != AW_OK)
        return rv;
    *out = json_pack("{s:o, s:I, s:o}", "generated", s_time_json(now_ms), "registry_version",
                     (json_int_t)aw_registry_version(self->reg), "root", node);
    return *out != NULL ? AW_OK : AW_ENOMEM;
}

/* ------------------------------------------------------------ devices */

static json_t *s_reading_value(const Anwang__Reading *r)
{
    if (r->has_value)
        return s_real_json(r->value);
    if (r->string_value != NULL)
        return json_string(r->string_value);
    if (r->has_bool_value)
        return json_boolean(r->bool_value);
    return json_null();
}

/* A history value as s_history_put() wrote it. */
static json_t *s_history_value(const uint8_t *v, size_t vlen)
{
    if (vlen == 9 && v[0] == 'n') {
        uint64_t bits = aw_get_be64(v + 1);
        double d;
        memcpy(&d, &bits, 8);
        return s_real_json(d);
    }
    if (vlen == 2 && v[0] == 'b')
        return json_boolean(v[1]);
    if (vlen >= 1 && v[0] == 's')
        return json_stringn((const char *)v + 1, vlen - 1);
    return json_null();
}

typedef struct s_hist {
    json_t *arr;
    size_t left;
    int err;
} s_hist;

static int s_hist_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_hist *h = arg;
    if (h->left == 0)
        return 1;
    h->left--;
    int64_t t = s_unflip(~aw_get_be64((const uint8_t *)key + klen - 8));
    json_t *v = s_history_value(val, vlen);
    json_t *o = json_pack("{s:o, s:o}", "time", s_time_json(t), "value", v ? v : json_null());
    if (o == NULL || json_array_append_new(h->arr, o) != 0) {
        h->err = AW_ENOMEM;
        return 1;
    }
    return 0;
}

typedef struct s_devq {
    aw_picture_t *p;
    aw_txn_t *txn;
    const aw_device *dev;
    const char *id, *metric;
    size_t limit;
    json_t *latest, *history;
    int64_t last_seen;
    bool any;
    int err;
} s_devq;

static int s_dev_history(s_devq *q, const char *metric)
{
    uint8_t prefix[AW_CENTER_KEY_MAX];
    size_t plen = s_key2(prefix, q->id, metric, true);
    s_hist h = {.arr = json_array(), .left = q->limit};
    if (h.arr == NULL || json_object_set_new(q->history, metric, h.arr) != 0)
        return AW_ENOMEM;
    if (plen == 0)
        return AW_OK;
    int rv = aw_txn_scan(q->txn, q->p->t[S_T_HISTORY], prefix, plen, NULL, 0, s_hist_cb, &h);
    return rv != AW_OK ? rv : h.err;
}

/* One `latest` row: time(8) hlc(8) edge NUL record. */
static int s_dev_latest_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_devq *q = arg;
    const char *metric = (const char *)key + strlen(q->id) + 1;
    size_t mlen = klen - strlen(q->id) - 1;
    char name[AW_CENTER_KEY_MAX + 1];
    const uint8_t *v = val, *nul = vlen > 16 ? memchr(v + 16, 0, vlen - 16) : NULL;
    if (nul == NULL || mlen > AW_CENTER_KEY_MAX || memchr(metric, 0, mlen) != NULL)
        return 0;
    memcpy(name, metric, mlen);
    name[mlen] = 0;
    if (q->metric != NULL && strcmp(q->metric, name) != 0)
        return 0;
    int64_t t = (int64_t)aw_get_be64(v);
    if (!q->any || t > q->last_seen)
        q->last_seen = t;
    q->any = true;
    Anwang__Record *rec = NULL;
    if (aw_codec_record_decode(nul + 1, (size_t)(v + vlen - nul - 1), NULL, &rec, NULL, 0) !=
            AW_OK ||
        rec->body_case != ANWANG__RECORD__BODY_READING) {
        aw_codec_record_free(&rec);
        return 0;
    }
    const aw_metric *m = q->dev ? aw_registry_metric_find(q->dev, name) : NULL;
    const char *unit = rec->reading->unit ? rec->reading->unit : m ? m->unit : NULL;
    json_t *o = json_pack("{s:o, s:o, s:o, s:s}", "value", s_reading_value(rec->reading), "unit",
                          s_str_json(unit), "time", s_time_json(rec->reading->time_ms), "edge",
                          (const char *)v + 16);
    aw_codec_record_free(&rec);
    if (o == NULL || json_object_set_new(q->latest, name, o) != 0) {
        q->err = AW_ENOMEM;
        return 1;
    }
    return 0;
}

static int s_dev_reads(s_devq *q)
{
    uint8_t prefix[AW_CENTER_KEY_MAX];
    size_t plen = strlen(q->id) + 1;
    memcpy(prefix, q->id, plen);
    int rv = aw_txn_scan(q->txn, aw_center_db_table(q->p->db, AW_CT_LATEST), prefix, plen, NULL, 0,
                         s_dev_latest_cb, q);
    if (rv == AW_OK)
        rv = q->err;
    const char *metric;
    json_t *v;
    json_object_foreach(q->latest, metric, v)
    {
        if (rv == AW_OK)
            rv = s_dev_history(q, metric);
    }
    for (size_t i = 0; rv == AW_OK && q->dev != NULL && i < q->dev->n_metrics; i++) {
        const char *name = q->dev->metrics[i].name;
        if ((q->metric == NULL || strcmp(q->metric, name) == 0) &&
            json_object_get(q->history, name) == NULL)
            rv = s_dev_history(q, name);
    }
    return rv;
}

int aw_picture_device_json(aw_picture_t *self, aw_txn_t *txn, const char *id, const char *metric,
                           size_t limit, json_t **out)
{
    if (out != NULL)
        *out = NULL;
    if (self == NULL || txn == NULL || id == NULL || out == NULL || limit == 0 || limit > 10000 ||
        id[0] == 0 || strlen(id) + 2 > AW_CENTER_KEY_MAX)
        return AW_EINVAL;
    s_dev d;
    int rv = s_dev_get(self, txn, id, &d);
    s_devq q = {.p = self,
                .txn = txn,
                .id = id,
                .metric = metric,
                .limit = limit,
                .dev = self->reg ? aw_registry_device_find(self->reg, id) : NULL,
                .latest = json_object(),
                .history = json_object()};
    if (rv == AW_OK)
        rv = q.latest && q.history ? s_dev_reads(&q) : AW_ENOMEM;
    if (rv == AW_OK && q.dev == NULL && !q.any && s_dev_state_of(&d) == S_NEVER)
        rv = AW_ENOTFOUND;
    static const char *const states[] = {"never", "online", "stale"};
    const aw_device *dev = q.dev;
    json_t *o = NULL;
    if (rv == AW_OK)
        o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:o}", "id", id, "kind",
                      dev ? json_string(aw_device_kind_name(dev->kind)) : json_null(), "site",
                      dev ? json_string(dev->site->path) : json_null(), "zone",
                      dev ? json_string(dev->site->village->zone->path) : json_null(), "interval_s",
                      dev ? json_integer(dev->interval_s) : json_null(), "state",
                      states[s_dev_state_of(&d)], "last_seen",
                      q.any ? s_time_json(q.last_seen) : json_null());
    if (rv == AW_OK &&
        !(s_set(o, "latest", json_incref(q.latest)) && s_set(o, "history", json_incref(q.history))))
        rv = AW_ENOMEM;
    json_decref(q.latest);
    json_decref(q.history);
    if (rv != AW_OK)
        json_decref(o);
    else
        *out = o;
    return rv;
}

/* ------------------------------------------------------------ alarms */

typedef struct s_alarm_row {
    int64_t time_ms;
    json_t *json;
} s_alarm_row;

typedef struct s_alarmq {
    aw_picture_t *p;
    const aw_alarm_query *q;
    bool active;
    s_alarm_row *rows;
    size_t n, cap;
    int err;
} s_alarmq;

static json_t *s_opt_real(bool has, double v)
{
    return has ? s_real_json(v) : json_null();
}

/* The JSON of one alarm from its last event (edge NUL record), or NULL when filtered out. */
static json_t *s_alarm_json(s_alarmq *aq, const char *edge, const Anwang__AlarmEvent *ev)
{
    s_point pt;
    s_point_of(aq->p, ev, &pt);
    aw_level level = s_level_ok((int)ev->level);
    if (!aq->active && ev->has_prev_level)
        level = s_level_ok((int)ev->prev_level);
    if ((int)level < aq->q->min_level ||
        (aq->q->root != NULL && !aw_center_path_in_zone(pt.site, aq->q->root)))
        return NULL;
    bool acked = ev->kind == ANWANG__ALARM_EVENT_KIND__ALARM_ACKNOWLEDGED;
    const char *dir = !ev->has_direction                                  ? NULL
                      : ev->direction == ANWANG__DIRECTION__DIRECTION_LOW ? "low"
                                                                          : "high";
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:b}",
                          "id", ev->alarm_id, "device", ev->device, "metric", ev->metric, "site",
                          pt.site, "item", pt.item, "level", aw_level_name(level), "direction",
                          s_str_json(dir), "value", s_opt_real(ev->has_value, ev->value),
                          "threshold", s_opt_real(ev->has_threshold, ev->threshold), "first_value",
                          s_opt_real(ev->has_first_value, ev->first_value), "since",
                          ev->has_first_time_ms ? s_time_json(ev->first_time_ms) : json_null(),
                          "time", s_time_json(ev->time_ms), "edge", edge, "active", aq->active);
    if (!(s_set(o, "acknowledged", json_boolean(acked)) &&
          s_set(o, "ack_by", s_str_json(acked ? ev->by : NULL)))) {
        json_decref(o);
        aq->err = AW_ENOMEM;
        return NULL;
    }
    return o;
}

/* A row of `alarms` or `alarm_log`: edge NUL encoded Record. */
static int s_alarm_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    s_alarmq *aq = arg;
    const uint8_t *v = val, *nul = memchr(v, 0, vlen);
    Anwang__Record *rec = NULL;
    if (nul == NULL ||
        aw_codec_record_decode(nul + 1, (size_t)(v + vlen - nul - 1), NULL, &rec, NULL, 0) !=
            AW_OK ||
        rec->body_case != ANWANG__RECORD__BODY_ALARM) {
        aw_codec_record_free(&rec);
        return 0;
    }
    json_t *o = s_alarm_json(aq, (const char *)v, rec->alarm);
    int64_t t = rec->alarm->time_ms;
    aw_codec_record_free(&rec);
    if (o == NULL)
        return aq->err != AW_OK;
    if (aq->n == aq->cap) {
        size_t cap = aq->cap ? 2 * aq->cap : 16;
        s_alarm_row *r = realloc(aq->rows, cap * sizeof *r);
        if (r == NULL) {
            json_decref(o);
            aq->err = AW_ENOMEM;
            return 1;
        }
        aq->rows = r;
        aq->cap = cap;
    }
    aq->rows[aq->n++] = (s_alarm_row){t, o};
    return 0;
}

static int s_alarm_row_cmp(const void *a, const void *b)
{
    const s_alarm_row *x = a, *y = b;
    return x->time_ms < y->time_ms ? 1 : x->time_ms > y->time_ms ? -1 : 0;
}

int aw_picture_alarms_json(aw_picture_t *self, aw_txn_t *txn, const aw_alarm_query *q, json_t **out)
{
    if (out != NULL)
        *out = NULL;
    if (self == NULL || txn == NULL || q == NULL || out == NULL || q->min_level < 0 ||
        q->min_level > AW_LEVEL_RED)
        return AW_EINVAL;
    s_alarmq aq = {.p = self, .q = q, .active = true};
    int rv = aw_txn_scan(txn, aw_center_db_table(self->db, AW_CT_ALARMS), NULL, 0, NULL, 0,
                         s_alarm_cb, &aq);
    if (rv == AW_OK)
        rv = aq.err;
    aq.active = false;
    if (rv == AW_OK && q->all)
        rv = aw_txn_scan(txn, self->t[S_T_ALARM_LOG], NULL, 0, NULL, 0, s_alarm_cb, &aq);
    if (rv == AW_OK)
        rv = aq.err;
    if (aq.n > 0)
        qsort(aq.rows, aq.n, sizeof *aq.rows, s_alarm_row_cmp);
    json_t *arr = rv == AW_OK ? json_array() : NULL;
    if (rv == AW_OK && arr == NULL)
        rv = AW_ENOMEM;
    for (size_t i = 0; i < aq.n; i++) {
        if (rv == AW_OK && json_array_append(arr, aq.rows[i].json) != 0)
            rv = AW_ENOMEM;
        json_decref(aq.rows[i].json);
    }
    free(aq.rows);
    if (rv == AW_OK && (*out = json_pack("{s:o}", "alarms", arr)) == NULL)
        rv = AW_ENOMEM;
    else if (rv != AW_OK)
        json_decref(arr);
    return rv;
}

int aw_picture_alarm_edge(aw_picture_t *self, aw_txn_t *txn, const char *alarm_id, char *edge,
                          size_t cap)
{
    if (self == NULL || txn == NULL || alarm_id == NULL || alarm_id[0] == 0 || edge == NULL ||
        strlen(alarm_id) > AW_CENTER_KEY_MAX)
        return AW_EINVAL;
    const void *raw;
    size_t vlen;
    bool found;
    int rv = s_get(txn, aw_center_db_table(self->db, AW_CT_ALARMS), alarm_id, strlen(alarm_id),
                   &raw, &vlen, &found);
    if (rv != AW_OK || !found)
        return rv != AW_OK ? rv : AW_ENOTFOUND;
    const uint8_t *v = raw;
    const uint8_t *nul = memchr(v, 0, vlen);
    if (nul == NULL)
        return AW_ECORRUPT;
    if ((size_t)(nul - v) + 1 > cap)
        return AW_ERANGE;
    memcpy(edge, v, (size_t)(nul - v) + 1);
    return AW_OK;
}

/* ------------------------------------------------------------ hazards, totals */

typedef struct s_hz_row {
    int64_t reported_ms;
    char *id;
} s_hz_row;

typedef struct s_hzq {
    const aw_hazard_filter *f;
    int64_t now_ms;
    s_hz_row *rows;
    size_t n, cap;
    int err;
} s_hzq;

static bool s_hz_match(const s_hzq *q, const s_haz *h)
{
    const aw_hazard_filter *f = q->f;
    if (h->status == AW_HAZARD_UNREPORTED)
        return false;
    if (f == NULL)
        return true;
    bool late = (h->status == AW_HAZARD_ASSIGNED || h->status == AW_HAZARD_RECTIFYING) &&
                h->has_deadline && q->now_ms > h->deadline_ms;
    if (f->status == -2 && h->status == AW_HAZARD_CLOSED)
        return false;
    if (f->status > 0 && (int)h->status != f->status)
        return false;
    if (f->level >= 0 && h->level != f->level)
        return false;
    if (f->sector != NULL && strcmp(f->sector, h->sector) != 0)
        return false;
    if (f->root != NULL && !aw_center_path_in_zone(h->site, f->root))
        return false;
    return !f->overdue_only || h->overdue || late;
}

static int s_hz_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_hzq *q = arg;
    s_haz h;
    if (s_haz_decode(val, vlen, &h) != AW_OK || !s_hz_match(q, &h))
        return 0;
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 16;
        s_hz_row *r = realloc(q->rows, cap * sizeof *r);
        if (r == NULL)
            return q->err = AW_ENOMEM;
        q->rows = r;
        q->cap = cap;
    }
    char *id = malloc(klen + 1);
    if (id == NULL)
        return q->err = AW_ENOMEM;
    memcpy(id, key, klen);
    id[klen] = 0;
    q->rows[q->n++] = (s_hz_row){h.reported_ms, id};
    return 0;
}

static int s_hz_row_cmp(const void *a, const void *b)
{
    const s_hz_row *x = a, *y = b;
    if (x->reported_ms != y->reported_ms)
        return x->reported_ms < y->reported_ms ? 1 : -1;
    return strcmp(x->id, y->id);
}

int aw_picture_hazards_each(aw_picture_t *self, aw_txn_t *txn, const aw_hazard_filter *f,
                            int64_t now_ms, aw_picture_hazard_fn fn, void *arg)
{
    if (self == NULL || txn == NULL || fn == NULL)
        return AW_EINVAL;
    s_hzq q = {.f = f, .now_ms = now_ms};
    int rv = aw_txn_scan(txn, self->t[S_T_HAZ], NULL, 0, NULL, 0, s_hz_cb, &q);
    if (rv == AW_OK)
        rv = q.err;
    if (q.n > 0)
        qsort(q.rows, q.n, sizeof *q.rows, s_hz_row_cmp);
    for (size_t i = 0; i < q.n; i++) {
        if (rv == AW_OK)
            rv = fn(arg, q.rows[i].id);
        free(q.rows[i].id);
    }
    free(q.rows);
    return rv;
}

int aw_picture_totals_get(aw_picture_t *self, aw_txn_t *txn, aw_picture_totals *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (self == NULL || txn == NULL || out == NULL)
        return AW_EINVAL;
    out->readings_applied = self->readings;
    if (self->reg == NULL)
        return AW_OK;
    s_node n;
    int rv = s_node_get(self, txn, aw_registry_county(self->reg), &n);
    if (rv != AW_OK)
        return rv;
    for (int l = 0; l < AW_LEVEL_COUNT; l++)
        out->alarms[l] = (unsigned)n.f[S_F_ALARMS + l];
    for (int h = 0; h < 2; h++) {
        out->open[h] = (unsigned)n.f[S_F_OPEN + h];
        out->overdue[h] = (unsigned)n.f[S_F_OVERDUE + h];
    }
    out->devices = (unsigned)n.f[S_F_TOTAL];
    out->online = (unsigned)n.f[S_F_ONLINE];
    out->stale = (unsigned)n.f[S_F_STALE];
    return AW_OK;
}
