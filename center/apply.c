/* apply.c: replicated batches, applied exactly once in one transaction. */
#include "apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "latest.h"

/* Overlapping gaps only come from a forged edge; don't walk far for them. */
#define S_GAP_SCAN_MAX 64

/* Most distinct (epoch, lane) pairs one group may touch. */
#define S_LANES_MAX 16

/* An (epoch, lane) the group touched: its applied seq as of this group. */
typedef struct s_lane {
    uint64_t epoch;
    aw_lane lane;
    uint64_t applied;
    uint64_t last_sent; /* highest seq the group's batches carried */
    bool dirty;
} s_lane;

typedef struct s_apply {
    aw_center_db_t *db;
    aw_txn_t *txn;
    const char *edge;
    aw_latest_batch_t *latest;
    s_lane lanes[S_LANES_MAX];
    size_t n_lanes;
    uint64_t records[AW_LANE_COUNT], poison;
    /* the batch being applied */
    uint64_t epoch;
    aw_lane lane;
    uint64_t applied;
    aw_apply_result *res;
} s_apply;

static aw_table_t s_t(const s_apply *a, aw_center_table t)
{
    return aw_center_db_table(a->db, t);
}

/* The group's state of (@p epoch, @p lane), loaded on first use; NULL in
 * *out (and AW_OK) when the group touches too many. */
static int s_lane_of(s_apply *a, uint64_t epoch, aw_lane lane, s_lane **out)
{
    *out = NULL;
    for (size_t i = 0; i < a->n_lanes; i++)
        if (a->lanes[i].epoch == epoch && a->lanes[i].lane == lane) {
            *out = &a->lanes[i];
            return AW_OK;
        }
    if (a->n_lanes == S_LANES_MAX)
        return AW_OK;
    s_lane *l = &a->lanes[a->n_lanes];
    *l = (s_lane){.epoch = epoch, .lane = lane};
    int rv = aw_center_applied_get(a->txn, a->db, a->edge, epoch, lane, &l->applied);
    if (rv == AW_OK) {
        a->n_lanes++;
        *out = l;
    }
    return rv;
}

/* ------------------------------------------------------------ gaps */

typedef struct s_gap_find {
    uint64_t seq;
    uint64_t to;
    bool found;
    int walked;
} s_gap_find;

static int s_gap_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_gap_find *g = arg;
    if (vlen != 8 || klen < 8 || ++g->walked > S_GAP_SCAN_MAX)
        return 1;
    uint64_t to = aw_get_be64((const uint8_t *)key + klen - 8), from = aw_get_be64(val);
    if (from <= g->seq && g->seq <= to) {
        g->found = true;
        g->to = to;
        return 1;
    }
    return 0;
}

/* Finds a gap of @p lane covering @p seq (gaps are keyed by their end, so
 * the walk starts at the first gap ending at or after seq). */
static int s_gap_covering(s_apply *a, aw_lane lane, uint64_t seq, s_gap_find *g)
{
    uint8_t prefix[AW_CENTER_KEY_MAX], from[AW_CENTER_KEY_MAX];
    size_t plen = aw_center_key_lane(prefix, a->edge, a->epoch, lane);
    size_t flen = aw_center_key_seq(from, a->edge, a->epoch, lane, seq);
    *g = (s_gap_find){.seq = seq};
    return aw_txn_scan(a->txn, s_t(a, AW_CT_GAPS), prefix, plen, from, flen, s_gap_cb, g);
}

/* Moves applied over every gap that covers the next expected seq. */
static int s_skip_gaps(s_apply *a)
{
    while (a->applied < UINT64_MAX) {
        s_gap_find g;
        int rv = s_gap_covering(a, a->lane, a->applied + 1, &g);
        if (rv != AW_OK || !g.found)
            return rv;
        a->res->gap_skipped += g.to - a->applied;
        a->applied = g.to;
    }
    return AW_OK;
}

/* Keeps a Gap record, unless the lane's applied seq is already past it. */
static int s_gap_put(s_apply *a, const Anwang__Gap *gap)
{
    aw_lane lane = (aw_lane)gap->lane;
    uint64_t applied = a->applied;
    int rv = AW_OK;
    if (lane != a->lane) {
        s_lane *other = NULL;
        rv = s_lane_of(a, a->epoch, lane, &other);
        if (rv == AW_OK && other != NULL)
            applied = other->applied;
        else if (rv == AW_OK)
            rv = aw_center_applied_get(a->txn, a->db, a->edge, a->epoch, lane, &applied);
    }
    if (rv != AW_OK || gap->to_seq <= applied)
        return rv;
    uint8_t key[AW_CENTER_KEY_MAX], val[8];
    size_t klen = aw_center_key_seq(key, a->edge, a->epoch, lane, gap->to_seq);
    const void *old;
    size_t olen;
    rv = aw_txn_get(a->txn, s_t(a, AW_CT_GAPS), key, klen, &old, &olen);
    if (rv == AW_OK && olen == 8 && aw_get_be64(old) <= gap->from_seq)
        return AW_OK;
    if (rv != AW_OK && rv != AW_ENOTFOUND)
        return rv;
    aw_put_be64(val, gap->from_seq);
    return aw_txn_put(a->txn, s_t(a, AW_CT_GAPS), key, klen, val, sizeof val);
}

/* ------------------------------------------------------------ bodies */

/* Active alarms: the last event of each, deleted once cleared. An alarm id
 * another edge holds is not this edge's to change (AW_EPERM: poison). */
static int s_alarm(s_apply *a, const Anwang__Record *rec, const ProtobufCBinaryData *bytes,
                   char *why, size_t why_len)
{
    const Anwang__AlarmEvent *ev = rec->alarm;
    size_t klen = strlen(ev->alarm_id), elen = strlen(a->edge);
    const void *old;
    size_t olen;
    int rv = aw_txn_get(a->txn, s_t(a, AW_CT_ALARMS), ev->alarm_id, klen, &old, &olen);
    if (rv == AW_OK && (olen <= elen || memcmp(old, a->edge, elen + 1) != 0)) {
        snprintf(why, why_len, "alarm %s is held by another edge", ev->alarm_id);
        return AW_EPERM;
    }
    if (rv != AW_OK && rv != AW_ENOTFOUND)
        return rv;
    if (ev->kind == ANWANG__ALARM_EVENT_KIND__ALARM_CLEARED)
        return rv == AW_OK ? aw_txn_del(a->txn, s_t(a, AW_CT_ALARMS), ev->alarm_id, klen) : AW_OK;
    uint8_t *v = malloc(elen + 1 + bytes->len);
    if (v == NULL)
        return AW_ENOMEM;
    memcpy(v, a->edge, elen + 1);
    memcpy(v + elen + 1, bytes->data, bytes->len);
    rv = aw_txn_put(a->txn, s_t(a, AW_CT_ALARMS), ev->alarm_id, klen, v, elen + 1 + bytes->len);
    free(v);
    return rv;
}

/* Hazard ledger: set union by (hazard_id, hlc, origin). An edge speaks only
 * for itself, and an id already stored with other content is a conflict. */
static int s_hazard(s_apply *a, const Anwang__Record *rec, const ProtobufCBinaryData *bytes,
                    char *why, size_t why_len)
{
    const Anwang__HazardEvent *ev = rec->hazard;
    if (strcmp(ev->origin, a->edge) != 0) {
        snprintf(why, why_len, "hazard event origin %s is not the sending edge", ev->origin);
        return AW_EPERM;
    }
    uint8_t key[AW_CENTER_KEY_MAX];
    size_t ilen = strlen(ev->hazard_id), olen = strlen(ev->origin);
    memcpy(key, ev->hazard_id, ilen + 1);
    aw_put_be64(key + ilen + 1, ev->hlc);
    memcpy(key + ilen + 9, ev->origin, olen);
    size_t klen = ilen + 9 + olen;
    const void *old;
    size_t vlen;
    int rv = aw_txn_get(a->txn, s_t(a, AW_CT_HAZARDS), key, klen, &old, &vlen);
    if (rv == AW_OK) {
        if (vlen == bytes->len && memcmp(old, bytes->data, vlen) == 0)
            return AW_OK;
        snprintf(why, why_len, "hazard event %s@%llu conflicts with the stored one", ev->hazard_id,
                 (unsigned long long)ev->hlc);
        return AW_EPERM;
    }
    if (rv != AW_ENOTFOUND)
        return rv;
    return aw_txn_put(a->txn, s_t(a, AW_CT_HAZARDS), key, klen, bytes->data, bytes->len);
}

static int s_body(s_apply *a, const Anwang__Record *rec, const ProtobufCBinaryData *bytes,
                  char *why, size_t why_len)
{
    switch (rec->body_case) {
    case ANWANG__RECORD__BODY_READING:
        return aw_latest_batch_add(a->latest, rec, bytes);
    case ANWANG__RECORD__BODY_ALARM:
        return s_alarm(a, rec, bytes, why, why_len);
    case ANWANG__RECORD__BODY_HAZARD:
        return s_hazard(a, rec, bytes, why, why_len);
    case ANWANG__RECORD__BODY_GAP:
        return s_gap_put(a, rec->gap);
    default:
        return AW_OK; /* device events, receipts: log + hook only */
    }
}

/* ------------------------------------------------------------ records */

static int s_poison(s_apply *a, uint64_t seq, const ProtobufCBinaryData *bytes, const char *why)
{
    uint8_t key[AW_CENTER_KEY_MAX];
    size_t klen = aw_center_key_seq(key, a->edge, a->epoch, a->lane, seq);
    size_t wlen = strlen(why);
    uint8_t *v = malloc(wlen + 1 + bytes->len);
    if (v == NULL)
        return AW_ENOMEM;
    memcpy(v, why, wlen + 1);
    if (bytes->len > 0)
        memcpy(v + wlen + 1, bytes->data, bytes->len);
    int rv = aw_txn_put(a->txn, s_t(a, AW_CT_POISON), key, klen, v, wlen + 1 + bytes->len);
    free(v);
    if (rv == AW_OK && a->res->n_poison++ == 0) {
        a->res->poison_seq = seq;
        snprintf(a->res->poison_why, sizeof a->res->poison_why, "%s", why);
    }
    return rv;
}

/* Applies the record at @p seq (= applied + 1); a bad one becomes poison. */
static int s_record(s_apply *a, uint64_t seq, const ProtobufCBinaryData *bytes)
{
    Anwang__Record *rec = NULL;
    char why[160] = "";
    int rv = aw_codec_record_decode(bytes->data, bytes->len, NULL, &rec, why, sizeof why);
    bool poison = rv != AW_OK && rv != AW_ENOMEM;
    if (rv == AW_OK) {
        rv = s_body(a, rec, bytes, why, sizeof why);
        poison = rv == AW_EPERM;
    }
    if (rv == AW_OK) {
        uint8_t key[AW_CENTER_KEY_MAX];
        size_t klen = aw_center_key_seq(key, a->edge, a->epoch, a->lane, seq);
        aw_center_origin from = {a->edge, a->epoch, a->lane, seq};
        rv = aw_txn_put(a->txn, s_t(a, AW_CT_RECORDS), key, klen, bytes->data, bytes->len);
        if (rv == AW_OK)
            rv = aw_center_db_call_hook(a->db, a->txn, &from, rec);
    } else if (poison) {
        rv = s_poison(a, seq, bytes, why[0] ? why : aw_strerror(rv));
    }
    aw_codec_record_free(&rec);
    if (rv == AW_OK) {
        a->applied = seq;
        a->res->n_applied++;
    }
    return rv;
}

/* Counts the group in the edge's row; heads only for the row's epoch. */
static int s_edge_row(s_apply *a, int64_t now_ms)
{
    aw_center_edge_row row;
    int rv = aw_center_edge_row_get(a->txn, a->db, a->edge, &row);
    if (rv != AW_OK && rv != AW_ENOTFOUND)
        return rv;
    for (size_t i = 0; i < a->n_lanes; i++) {
        const s_lane *l = &a->lanes[i];
        if (l->epoch == row.epoch && l->last_sent > row.head[l->lane])
            row.head[l->lane] = l->last_sent;
    }
    for (int l = 0; l < AW_LANE_COUNT; l++)
        row.records[l] += a->records[l];
    row.poison += a->poison;
    row.last_contact_ms = now_ms;
    return aw_center_edge_row_put(a->txn, a->db, a->edge, &row);
}

/* Writes what the group left pending: latest values, applied seqs, the edge's row. */
static int s_finish(s_apply *a, int64_t now_ms)
{
    int rv = aw_latest_batch_flush(a->latest, a->txn, a->db, a->edge);
    for (size_t i = 0; rv == AW_OK && i < a->n_lanes; i++) {
        const s_lane *l = &a->lanes[i];
        if (l->dirty)
            rv = aw_center_applied_put(a->txn, a->db, a->edge, l->epoch, l->lane, l->applied);
    }
    return rv == AW_OK ? s_edge_row(a, now_ms) : rv;
}

static int s_apply_records(s_apply *a, const Anwang__Batch *batch)
{
    int rv = s_skip_gaps(a);
    if (rv != AW_OK || batch->n_records == 0)
        return rv;
    if (batch->first_seq > a->applied && batch->first_seq - a->applied > 1) {
        a->res->hole = true;
        return AW_OK;
    }
    for (size_t i = 0; i < batch->n_records && rv == AW_OK; i++) {
        uint64_t seq = batch->first_seq + i;
        if (seq <= a->applied)
            a->res->n_skipped++;
        else
            rv = s_record(a, seq, &batch->records[i]);
    }
    return rv;
}

/* Applies one batch of the group; a refused hole changes nothing. */
static int s_apply_one(s_apply *a, const Anwang__Batch *batch, aw_apply_result *res)
{
    s_lane *l = NULL;
    memset(res, 0, sizeof *res);
    a->epoch = batch->epoch;
    a->lane = (aw_lane)batch->lane;
    a->res = res;
    int rv = s_lane_of(a, a->epoch, a->lane, &l);
    if (rv != AW_OK || l == NULL)
        return rv != AW_OK ? rv : AW_ETOOBIG;
    a->applied = l->applied;
    rv = s_apply_records(a, batch);
    if (rv != AW_OK || res->hole) {
        res->applied = l->applied;
        res->gap_skipped = 0;
        return rv;
    }
    uint64_t last = batch->first_seq + batch->n_records - 1;
    if (batch->n_records > 0 && last > l->last_sent)
        l->last_sent = last;
    l->dirty = true;
    l->applied = res->applied = a->applied;
    a->records[a->lane] += res->n_applied - res->n_poison;
    a->poison += res->n_poison;
    return AW_OK;
}

static bool s_batch_ok(const Anwang__Batch *b)
{
    return b != NULL && b->first_seq != 0 && (unsigned)b->lane < AW_LANE_COUNT &&
           (b->n_records == 0 || b->first_seq - 1 <= UINT64_MAX - b->n_records);
}

static bool s_group_ok(const aw_apply_group *g)
{
    if (!aw_center_edge_id_ok(g->edge_id) || (g->n > 0 && (g->batches == NULL || g->res == NULL)))
        return false;
    for (size_t i = 0; i < g->n; i++)
        if (!s_batch_ok(g->batches[i]))
            return false;
    return true;
}

/* Applies one edge's batches in @p txn, its pending writes included. */
static int s_apply_group(aw_center_db_t *db, aw_txn_t *txn, aw_latest_batch_t *latest,
                         const aw_apply_group *g, int64_t now_ms)
{
    s_apply a = {.db = db, .txn = txn, .edge = g->edge_id, .latest = latest};
    int rv = AW_OK;
    for (size_t i = 0; rv == AW_OK && i < g->n; i++)
        rv = s_apply_one(&a, g->batches[i], &g->res[i]);
    return rv == AW_OK ? s_finish(&a, now_ms) : rv;
}

int aw_center_apply_edges(aw_center_db_t *db, const aw_apply_group *groups, size_t n,
                          int64_t now_ms)
{
    if (db == NULL || (n > 0 && groups == NULL))
        return AW_EINVAL;
    for (size_t g = 0; g < n; g++)
        if (!s_group_ok(&groups[g]))
            return AW_EINVAL;
    aw_latest_batch_t *latest = NULL;
    aw_txn_t *txn = NULL;
    int rv = aw_latest_batch_new(&latest);
    if (rv == AW_OK)
        rv = aw_store_begin(aw_center_db_store(db), &txn);
    for (size_t g = 0; rv == AW_OK && g < n; g++)
        rv = s_apply_group(db, txn, latest, &groups[g], now_ms);
    if (rv == AW_OK)
        rv = aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    aw_latest_batch_destroy(&latest);
    for (size_t g = 0; rv != AW_OK && g < n; g++)
        memset(groups[g].res, 0, groups[g].n * sizeof *groups[g].res);
    return rv;
}

int aw_center_apply_batches(aw_center_db_t *db, const char *edge_id,
                            const Anwang__Batch *const *batches, size_t n, int64_t now_ms,
                            aw_apply_result *res)
{
    if (res == NULL)
        return AW_EINVAL;
    aw_apply_group g = {.edge_id = edge_id, .batches = batches, .n = n, .res = res};
    return aw_center_apply_edges(db, &g, 1, now_ms);
}

int aw_center_apply_batch(aw_center_db_t *db, const char *edge_id, const Anwang__Batch *batch,
                          int64_t now_ms, aw_apply_result *res)
{
    if (batch == NULL)
        return AW_EINVAL;
    return aw_center_apply_batches(db, edge_id, &batch, 1, now_ms, res);
}
