/* down.c: the persisted down channel and a new epoch's snapshot. */
#include "down.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ledger.h"
#include "registry.h"

static size_t s_key(uint8_t *key, const char *edge, uint64_t epoch, uint64_t seq)
{
    size_t n = aw_center_key_epoch(key, edge, epoch);
    aw_put_be64(key + n, seq);
    return n + 8;
}

/* Packs Envelope{Down{seq, epoch, body of @p body}} into a new buffer. */
static int s_encode(const Anwang__Down *body, uint64_t seq, uint64_t epoch, uint8_t **buf,
                    size_t *len)
{
    Anwang__Down d = *body;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    d.seq = seq;
    d.epoch = epoch;
    env.msg_case = ANWANG__ENVELOPE__MSG_DOWN;
    env.down = &d;
    int rv = aw_codec_envelope_encode(&env, buf, len, NULL, 0);
    return rv == AW_OK || rv == AW_ENOMEM ? rv : AW_EINVAL;
}

int aw_center_down_enqueue_txn(aw_txn_t *txn, aw_center_db_t *db, const char *edge_id,
                               uint64_t epoch, const Anwang__Down *body, uint64_t *seq)
{
    if (body == NULL || !aw_center_edge_id_ok(edge_id))
        return AW_EINVAL;
    aw_center_epoch_row row;
    int rv = aw_center_epoch_row_get(txn, db, edge_id, epoch, &row);
    if (rv != AW_OK && rv != AW_ENOTFOUND)
        return rv;
    uint8_t key[AW_CENTER_KEY_MAX], *buf = NULL;
    size_t len = 0;
    rv = s_encode(body, row.down_last + 1, epoch, &buf, &len);
    if (rv != AW_OK)
        return rv;
    size_t klen = s_key(key, edge_id, epoch, row.down_last + 1);
    rv = aw_txn_put(txn, aw_center_db_table(db, AW_CT_DOWN), key, klen, buf, len);
    free(buf);
    if (rv != AW_OK)
        return rv;
    row.down_last++;
    if (seq != NULL)
        *seq = row.down_last;
    return aw_center_epoch_row_put(txn, db, edge_id, epoch, &row);
}

int aw_center_down_enqueue(aw_center_db_t *db, const char *edge_id, const Anwang__Down *body,
                           uint64_t *seq)
{
    if (db == NULL || !aw_center_edge_id_ok(edge_id))
        return AW_EINVAL;
    aw_txn_t *txn = NULL;
    aw_center_edge_row edge;
    int rv = aw_store_begin(aw_center_db_store(db), &txn);
    if (rv == AW_OK)
        rv = aw_center_edge_row_get(txn, db, edge_id, &edge);
    if (rv == AW_OK && edge.epoch == 0)
        rv = AW_ENOTFOUND;
    if (rv == AW_OK)
        rv = aw_center_down_enqueue_txn(txn, db, edge_id, edge.epoch, body, seq);
    if (rv == AW_OK)
        return aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    return rv;
}

/* Deletes the entries after the acked mark up to @p upto and raises the mark. */
static int s_delete_upto(aw_txn_t *txn, aw_center_db_t *db, const char *edge_id, uint64_t epoch,
                         aw_center_epoch_row *row, uint64_t upto)
{
    uint8_t key[AW_CENTER_KEY_MAX];
    for (uint64_t s = row->down_acked + 1; s <= upto && s != 0; s++) {
        size_t klen = s_key(key, edge_id, epoch, s);
        int rv = aw_txn_del(txn, aw_center_db_table(db, AW_CT_DOWN), key, klen);
        if (rv != AW_OK && rv != AW_ENOTFOUND)
            return rv;
    }
    row->down_acked = upto;
    return aw_center_epoch_row_put(txn, db, edge_id, epoch, row);
}

int aw_center_down_ack_txn(aw_txn_t *txn, aw_center_db_t *db, const char *edge_id, uint64_t epoch,
                           uint64_t upto)
{
    aw_center_epoch_row row;
    int rv = aw_center_epoch_row_get(txn, db, edge_id, epoch, &row);
    if (rv != AW_OK && rv != AW_ENOTFOUND)
        return rv;
    if (upto <= row.down_acked)
        return AW_OK;
    int range = AW_OK;
    if (upto > row.down_last) {
        upto = row.down_last;
        range = AW_ERANGE;
        if (upto <= row.down_acked)
            return range;
    }
    rv = s_delete_upto(txn, db, edge_id, epoch, &row, upto);
    return rv != AW_OK ? rv : range;
}

int aw_center_down_drop_txn(aw_txn_t *txn, aw_center_db_t *db, const char *edge_id, uint64_t epoch)
{
    aw_center_epoch_row row;
    int rv = aw_center_epoch_row_get(txn, db, edge_id, epoch, &row);
    if (rv == AW_ENOTFOUND || (rv == AW_OK && row.down_acked >= row.down_last))
        return AW_OK;
    return rv != AW_OK ? rv : s_delete_upto(txn, db, edge_id, epoch, &row, row.down_last);
}

/* ------------------------------------------------------------ read */

typedef struct s_read {
    aw_center_down_fn fn;
    void *arg;
    size_t left;
} s_read;

static int s_read_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_read *r = arg;
    if (r->left == 0 || klen < 8)
        return 1;
    r->left--;
    return r->fn(r->arg, aw_get_be64((const uint8_t *)key + klen - 8), val, vlen);
}

int aw_center_down_read(aw_center_db_t *db, const char *edge_id, uint64_t epoch, uint64_t from_seq,
                        size_t max, aw_center_down_fn fn, void *arg)
{
    if (!aw_center_edge_id_ok(edge_id) || fn == NULL)
        return AW_EINVAL;
    uint8_t prefix[AW_CENTER_KEY_MAX], from[AW_CENTER_KEY_MAX];
    size_t plen = aw_center_key_epoch(prefix, edge_id, epoch);
    size_t flen = s_key(from, edge_id, epoch, from_seq);
    s_read r = {fn, arg, max};
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin_read(aw_center_db_store(db), &txn);
    if (rv == AW_OK && max > 0)
        rv = aw_txn_scan(txn, aw_center_db_table(db, AW_CT_DOWN), prefix, plen, from, flen,
                         s_read_cb, &r);
    aw_txn_abort(&txn);
    return rv;
}

/* ------------------------------------------------------------ snapshot */

int aw_center_down_registry_txn(aw_txn_t *txn, aw_center_db_t *db, const char *edge_id,
                                uint64_t epoch, const aw_registry_t *reg, const char *zone,
                                uint64_t *seq)
{
    char *json = NULL;
    int rv = aw_registry_zone_json(reg, zone, &json);
    if (rv == AW_OK) {
        Anwang__RegistrySnapshot snap = ANWANG__REGISTRY_SNAPSHOT__INIT;
        Anwang__Down d = ANWANG__DOWN__INIT;
        snap.version = aw_registry_version(reg);
        snap.zone = (char *)zone;
        snap.json.data = (uint8_t *)json;
        snap.json.len = strlen(json);
        d.body_case = ANWANG__DOWN__BODY_REGISTRY;
        d.registry = &snap;
        rv = aw_center_down_enqueue_txn(txn, db, edge_id, epoch, &d, seq);
    }
    free(json);
    return rv;
}

/* Queues the zone's extract of the stored county registry, if any. */
static int s_snap_registry(aw_txn_t *txn, aw_center_db_t *db, const char *edge_id, uint64_t epoch,
                           const char *zone, aw_snapshot_report *rep)
{
    const aw_registry_t *current = aw_center_db_registry(db);
    aw_registry_t *reg = NULL;
    int rv = AW_OK;
    if (current == NULL) { /* no registry service: parse what is stored */
        const void *val;
        size_t vlen;
        rv = aw_txn_get(txn, aw_center_db_table(db, AW_CT_REGISTRY), AW_CENTER_REGISTRY_KEY,
                        strlen(AW_CENTER_REGISTRY_KEY), &val, &vlen);
        if (rv != AW_OK)
            return rv == AW_ENOTFOUND ? AW_OK : rv;
        rv = aw_registry_parse(val, vlen, &reg, NULL);
        current = reg;
    }
    if (rv == AW_OK)
        rv = aw_center_down_registry_txn(txn, db, edge_id, epoch, current, zone, NULL);
    rep->registry += rv == AW_OK;
    aw_registry_destroy(&reg);
    if (rv == AW_EINVAL || rv == AW_ENOTFOUND || rv == AW_ETOOBIG)
        rv = AW_OK; /* no usable registry for this zone: nothing to send */
    return rv;
}

/* A growing array of decoded records. */
typedef struct s_recs {
    Anwang__Record **v;
    size_t n, cap;
} s_recs;

static int s_recs_push(s_recs *r, Anwang__Record *rec)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        Anwang__Record **v = realloc(r->v, cap * sizeof *v);
        if (v == NULL)
            return AW_ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = rec;
    return AW_OK;
}

static void s_recs_free(s_recs *r)
{
    for (size_t i = 0; i < r->n; i++)
        aw_codec_record_free(&r->v[i]);
    free(r->v);
    *r = (s_recs){0};
}

/* Walk state: the events of the hazard being read, and those to send. */
typedef struct s_hz {
    const char *zone;
    char id[AW_CENTER_KEY_MAX + 1];
    s_recs group, out;
    size_t hazards;
    int rv;
} s_hz;

/* Moves the current group to out when its hazard is open and in the zone. */
static int s_hz_flush(s_hz *h)
{
    if (h->group.n == 0)
        return AW_OK;
    const Anwang__HazardEvent **evs = calloc(h->group.n, sizeof *evs);
    aw_hazard_state *st = NULL;
    if (evs == NULL)
        return AW_ENOMEM;
    for (size_t i = 0; i < h->group.n; i++)
        evs[i] = h->group.v[i]->hazard;
    int rv = aw_ledger_fold(evs, h->group.n, &st);
    free(evs);
    bool keep = rv == AW_OK && st->status != AW_HAZARD_UNREPORTED &&
                st->status != AW_HAZARD_CLOSED && st->site != NULL &&
                aw_center_path_in_zone(st->site, h->zone);
    aw_hazard_state_destroy(&st);
    if (rv == AW_ENOMEM)
        return rv;
    h->hazards += keep;
    for (size_t i = 0; i < h->group.n; i++) {
        rv = keep ? s_recs_push(&h->out, h->group.v[i]) : AW_OK;
        if (rv != AW_OK || !keep)
            aw_codec_record_free(&h->group.v[i]);
    }
    h->group.n = 0;
    return rv;
}

static int s_hz_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_hz *h = arg;
    size_t ilen = strnlen(key, klen);
    if (ilen == klen || ilen >= sizeof h->id)
        return 0;
    if (strlen(h->id) != ilen || memcmp(h->id, key, ilen) != 0) {
        if ((h->rv = s_hz_flush(h)) != AW_OK)
            return 1;
        memcpy(h->id, key, ilen);
        h->id[ilen] = '\0';
    }
    Anwang__Record *rec = NULL;
    if (aw_codec_record_decode(val, vlen, NULL, &rec, NULL, 0) != AW_OK)
        return 0;
    if (rec->body_case != ANWANG__RECORD__BODY_HAZARD ||
        strcmp(rec->hazard->hazard_id, h->id) != 0) {
        aw_codec_record_free(&rec);
        return 0;
    }
    if ((h->rv = s_recs_push(&h->group, rec)) != AW_OK) {
        aw_codec_record_free(&rec);
        return 1;
    }
    return 0;
}

/* Queues every event of each open hazard of the zone. */
static int s_snap_hazards(aw_txn_t *txn, aw_center_db_t *db, const char *edge_id, uint64_t epoch,
                          const char *zone, aw_snapshot_report *rep)
{
    s_hz h = {.zone = zone};
    int rv = aw_txn_scan(txn, aw_center_db_table(db, AW_CT_HAZARDS), NULL, 0, NULL, 0, s_hz_cb, &h);
    if (rv == AW_OK)
        rv = h.rv;
    if (rv == AW_OK)
        rv = s_hz_flush(&h);
    for (size_t i = 0; rv == AW_OK && i < h.out.n; i++) {
        Anwang__Down d = ANWANG__DOWN__INIT;
        d.body_case = ANWANG__DOWN__BODY_HAZARD;
        d.hazard = h.out.v[i]->hazard;
        rv = aw_center_down_enqueue_txn(txn, db, edge_id, epoch, &d, NULL);
        rep->hazard_events += rv == AW_OK;
    }
    rep->hazards += h.hazards;
    s_recs_free(&h.group);
    s_recs_free(&h.out);
    return rv;
}

/* Walk state of the alerts: decoded envelopes of the active ones. */
typedef struct s_al {
    const char *zone;
    int64_t now_ms;
    Anwang__Envelope **v;
    size_t n, cap;
    int rv;
} s_al;

static bool s_alert_active(const Anwang__Alert *a, const char *zone, int64_t now_ms)
{
    if (a->msg_type == ANWANG__ALERT_MSG_TYPE__MSGTYPE_CANCEL ||
        (a->has_expires_ms && a->expires_ms <= now_ms))
        return false;
    for (size_t i = 0; i < a->n_area; i++)
        if (aw_center_path_in_zone(a->area[i], zone) || aw_center_path_in_zone(zone, a->area[i]))
            return true;
    return false;
}

/* A cancel mark (identifier NUL) drops the alert just kept, which sorts right before it. */
static void s_al_cancelled(s_al *al, const char *key, size_t idlen)
{
    if (al->n == 0)
        return;
    const char *id = al->v[al->n - 1]->down->alert->identifier;
    if (strlen(id) == idlen && memcmp(id, key, idlen) == 0)
        aw_codec_envelope_free(&al->v[--al->n]);
}

static int s_al_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_al *al = arg;
    size_t idlen = strnlen(key, klen);
    if (idlen < klen) {
        s_al_cancelled(al, key, idlen);
        return 0;
    }
    Anwang__Envelope *env = NULL;
    if (aw_codec_envelope_decode(val, vlen, NULL, &env, NULL, 0) != AW_OK)
        return 0;
    bool keep = env->msg_case == ANWANG__ENVELOPE__MSG_DOWN &&
                env->down->body_case == ANWANG__DOWN__BODY_ALERT &&
                s_alert_active(env->down->alert, al->zone, al->now_ms);
    if (keep && al->n == al->cap) {
        size_t cap = al->cap ? al->cap * 2 : 8;
        Anwang__Envelope **v = realloc(al->v, cap * sizeof *v);
        if (v == NULL) {
            aw_codec_envelope_free(&env);
            al->rv = AW_ENOMEM;
            return 1;
        }
        al->v = v;
        al->cap = cap;
    }
    if (keep)
        al->v[al->n++] = env;
    else
        aw_codec_envelope_free(&env);
    return 0;
}

static int s_snap_alerts(aw_txn_t *txn, aw_center_db_t *db, const char *edge_id, uint64_t epoch,
                         const char *zone, int64_t now_ms, aw_snapshot_report *rep)
{
    s_al al = {.zone = zone, .now_ms = now_ms};
    int rv = aw_txn_scan(txn, aw_center_db_table(db, AW_CT_ALERTS), NULL, 0, NULL, 0, s_al_cb, &al);
    if (rv == AW_OK)
        rv = al.rv;
    for (size_t i = 0; rv == AW_OK && i < al.n; i++) {
        rv = aw_center_down_enqueue_txn(txn, db, edge_id, epoch, al.v[i]->down, NULL);
        rep->alerts += rv == AW_OK;
    }
    for (size_t i = 0; i < al.n; i++)
        aw_codec_envelope_free(&al.v[i]);
    free(al.v);
    return rv;
}

int aw_center_down_snapshot_txn(aw_txn_t *txn, aw_center_db_t *db, const char *edge_id,
                                uint64_t epoch, const char *zone, int64_t now_ms,
                                aw_snapshot_report *report)
{
    aw_snapshot_report rep = {0};
    if (!aw_center_edge_id_ok(edge_id) || zone == NULL)
        return AW_EINVAL;
    int rv = zone[0] ? s_snap_registry(txn, db, edge_id, epoch, zone, &rep) : AW_OK;
    if (rv == AW_OK && zone[0])
        rv = s_snap_hazards(txn, db, edge_id, epoch, zone, &rep);
    if (rv == AW_OK && zone[0])
        rv = s_snap_alerts(txn, db, edge_id, epoch, zone, now_ms, &rep);
    if (report != NULL)
        *report = rep;
    return rv;
}

/* ------------------------------------------------------------ fan-out */

/* The ids of every edge in `edges`. */
typedef struct s_ids {
    char **v;
    size_t n, cap;
    int rv;
} s_ids;

static void s_ids_free(s_ids *ids)
{
    for (size_t i = 0; i < ids->n; i++)
        free(ids->v[i]);
    free(ids->v);
    *ids = (s_ids){0};
}

static int s_ids_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_ids *ids = arg;
    (void)val, (void)vlen;
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 16;
        char **v = realloc(ids->v, cap * sizeof *v);
        if (v == NULL)
            return ids->rv = AW_ENOMEM, 1;
        ids->v = v;
        ids->cap = cap;
    }
    if ((ids->v[ids->n] = strndup(key, klen)) == NULL)
        return ids->rv = AW_ENOMEM, 1;
    ids->n++;
    return 0;
}

int aw_center_edges_each_txn(aw_txn_t *txn, aw_center_db_t *db, aw_center_edge_fn fn, void *arg)
{
    s_ids ids = {0};
    int rv =
        aw_txn_scan(txn, aw_center_db_table(db, AW_CT_EDGES), NULL, 0, NULL, 0, s_ids_cb, &ids);
    if (rv == AW_OK)
        rv = ids.rv;
    for (size_t i = 0; rv == AW_OK && i < ids.n; i++) {
        aw_center_edge_row row;
        if (!aw_center_edge_id_ok(ids.v[i]))
            continue;
        rv = aw_center_edge_row_get(txn, db, ids.v[i], &row);
        if (rv == AW_ECORRUPT) {
            rv = AW_OK; /* a damaged row must not hold back the other edges' fan-out */
            continue;
        }
        if (rv == AW_OK)
            rv = fn(arg, txn, ids.v[i], &row);
    }
    s_ids_free(&ids);
    return rv;
}

/* ------------------------------------------------------------ stored state */

int aw_center_registry_put_txn(aw_txn_t *txn, aw_center_db_t *db, const char *json, size_t len)
{
    if (json == NULL || len == 0)
        return AW_EINVAL;
    return aw_txn_put(txn, aw_center_db_table(db, AW_CT_REGISTRY), AW_CENTER_REGISTRY_KEY,
                      strlen(AW_CENTER_REGISTRY_KEY), json, len);
}

int aw_center_registry_put(aw_center_db_t *db, const char *json, size_t len)
{
    aw_registry_t *reg = NULL;
    int rv = aw_registry_parse(json, len, &reg, NULL);
    aw_registry_destroy(&reg);
    if (rv != AW_OK)
        return rv;
    aw_txn_t *txn = NULL;
    rv = aw_store_begin(aw_center_db_store(db), &txn);
    if (rv == AW_OK)
        rv = aw_center_registry_put_txn(txn, db, json, len);
    if (rv == AW_OK)
        return aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    return rv;
}

/* Packs @p body as the Envelope{Down} that `alerts` stores (seq 1, epoch 0). */
static int s_alert_store(aw_txn_t *txn, aw_center_db_t *db, const void *key, size_t klen,
                         const Anwang__Down *body)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rv = s_encode(body, 1, 0, &buf, &len);
    if (rv == AW_OK)
        rv = aw_txn_put(txn, aw_center_db_table(db, AW_CT_ALERTS), key, klen, buf, len);
    free(buf);
    return rv;
}

int aw_center_alert_put_txn(aw_txn_t *txn, aw_center_db_t *db, const Anwang__Alert *alert)
{
    Anwang__Down d = ANWANG__DOWN__INIT;
    if (alert == NULL || alert->identifier == NULL)
        return AW_EINVAL;
    d.body_case = ANWANG__DOWN__BODY_ALERT;
    d.alert = (Anwang__Alert *)alert;
    return s_alert_store(txn, db, alert->identifier, strlen(alert->identifier), &d);
}

int aw_center_alert_put(aw_center_db_t *db, const Anwang__Alert *alert)
{
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(aw_center_db_store(db), &txn);
    if (rv == AW_OK)
        rv = aw_center_alert_put_txn(txn, db, alert);
    if (rv == AW_OK)
        return aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    return rv;
}

int aw_center_alert_cancel_put_txn(aw_txn_t *txn, aw_center_db_t *db,
                                   const Anwang__AlertCancel *cancel)
{
    Anwang__Down d = ANWANG__DOWN__INIT;
    char key[AW_CENTER_KEY_MAX];
    if (cancel == NULL || cancel->identifier == NULL ||
        strlen(cancel->identifier) >= sizeof key - 1)
        return AW_EINVAL;
    size_t idlen = strlen(cancel->identifier);
    memcpy(key, cancel->identifier, idlen + 1); /* identifier NUL */
    d.body_case = ANWANG__DOWN__BODY_ALERT_CANCEL;
    d.alert_cancel = (Anwang__AlertCancel *)cancel;
    return s_alert_store(txn, db, key, idlen + 1, &d);
}
