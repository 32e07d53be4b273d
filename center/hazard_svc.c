/* The hazard ledger's center side (一单四制, SPEC §6 and §8): operators'
 * reports and lifecycle events, the automatic overdue notify and the
 * ledger's JSON for the API. See hazard_svc.h.
 *
 * Every call that adds events does it in ONE write transaction: the events
 * join `hazards` in the very format apply.c stores edge events (key
 * hazard_id NUL hlc(8) origin, value the encoded Record{hlc, hazard}), so
 * the fold sees center-made and edge-made events alike; their stamps are
 * noted in the store (the HLC floor); the picture is told; and each event
 * is queued down to the edges whose zone holds the site. A crash leaves all
 * or nothing of a call; a retried HTTP request makes a new event with a new
 * stamp, which the ledger shows as what it is (a second event). */
#include "hazard_svc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "down.h"
#include "hazard_json.h"
#include "ledger.h"
#include "registry.h"
#include "rfc3339.h"
#include "store.h"

/** Who makes the automatic overdue notify. */
#define S_AUTO_BY "anwang-center"
/** Default and largest list size. */
#define S_LIST_MAX 1000
/** hazards_each's stop mark of the list walk (AW_* codes are ≥ 0). */
#define S_STOP (-1)

struct aw_hazard_svc {
    aw_hazard_svc_opts o;
};

/* ================================================================ events of one hazard */

/* The decoded records of one hazard, in key order. */
typedef struct s_evs {
    Anwang__Record **v;
    size_t n, cap;
    int rv;
} s_evs;

static void s_evs_free(s_evs *e)
{
    for (size_t i = 0; i < e->n; i++)
        aw_codec_record_free(&e->v[i]);
    free(e->v);
    *e = (s_evs){0};
}

static int s_evs_push(s_evs *e, Anwang__Record *rec)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 8;
        Anwang__Record **v = realloc(e->v, cap * sizeof *v);
        if (v == NULL)
            return AW_ENOMEM;
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = rec;
    return AW_OK;
}

static aw_table_t s_t(const aw_hazard_svc_t *self, aw_center_table t)
{
    return aw_center_db_table(self->o.db, t);
}

/* Collects the records under the prefix hazard_id NUL; entries that do not
 * decode as a hazard event of that id are skipped (the fold must not fail
 * on one bad row, and apply.c never stores such a row). */
static int s_evs_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_evs *e = arg;
    Anwang__Record *rec = NULL;

    if (aw_codec_record_decode(val, vlen, NULL, &rec, NULL, 0) != AW_OK)
        return 0;
    if (rec->body_case != ANWANG__RECORD__BODY_HAZARD ||
        strnlen(key, klen) != strlen(rec->hazard->hazard_id) ||
        memcmp(key, rec->hazard->hazard_id, strlen(rec->hazard->hazard_id)) != 0) {
        aw_codec_record_free(&rec);
        return 0;
    }
    if ((e->rv = s_evs_push(e, rec)) != AW_OK) {
        aw_codec_record_free(&rec);
        return 1;
    }
    return 0;
}

/* Loads every stored event of @p id (none: AW_OK with e->n == 0). */
static int s_evs_load(aw_hazard_svc_t *self, aw_txn_t *txn, const char *id, s_evs *e)
{
    size_t ilen = strlen(id);

    *e = (s_evs){0};
    if (ilen == 0 || ilen > 128)
        return AW_OK;
    int rv = aw_txn_scan(txn, s_t(self, AW_CT_HAZARDS), id, ilen + 1, NULL, 0, s_evs_cb, e);
    if (rv == AW_OK)
        rv = e->rv;
    if (rv != AW_OK)
        s_evs_free(e);
    return rv;
}

/* Folds the events of @p e and, when @p extra is not NULL, @p extra as the
 * last input (its entry has index e->n). */
static int s_fold(const s_evs *e, const Anwang__HazardEvent *extra, aw_hazard_state **st)
{
    size_t n = e->n + (extra != NULL);
    const Anwang__HazardEvent **evs = calloc(n ? n : 1, sizeof *evs);

    if (evs == NULL)
        return AW_ENOMEM;
    for (size_t i = 0; i < e->n; i++)
        evs[i] = e->v[i]->hazard;
    if (extra != NULL)
        evs[e->n] = extra;
    int rv = aw_ledger_fold(evs, n, st);
    free(evs);
    return rv;
}

/* The highest stamp among @p e's events. */
static uint64_t s_evs_max_hlc(const s_evs *e)
{
    uint64_t m = 0;

    for (size_t i = 0; i < e->n; i++)
        if (e->v[i]->hazard->hlc > m)
            m = e->v[i]->hazard->hlc;
    return m;
}

/* ================================================================ JSON */

/* The hazard's JSON from the events in @p txn: the state with "overdue"
 * (aw_hazard_state_to_json()); without "ledger" unless @p ledger.
 * AW_ENOTFOUND when there is no event. */
static int s_hazard_json(aw_hazard_svc_t *self, aw_txn_t *txn, const char *id, int64_t now_ms,
                         bool ledger, json_t **out)
{
    s_evs e;
    aw_hazard_state *st = NULL;
    int rv = s_evs_load(self, txn, id, &e);

    if (rv == AW_OK && e.n == 0)
        rv = AW_ENOTFOUND;
    if (rv == AW_OK)
        rv = s_fold(&e, NULL, &st);
    if (rv == AW_OK)
        rv = aw_hazard_state_to_json(st, now_ms, out);
    if (rv == AW_OK && !ledger)
        json_object_del(*out, "ledger");
    aw_hazard_state_destroy(&st);
    s_evs_free(&e);
    return rv;
}

/* ================================================================ writing */

/* Joins @p ev to `hazards` (apply.c's key and value) and notes its stamp. */
static int s_store(aw_hazard_svc_t *self, aw_txn_t *txn, const Anwang__HazardEvent *ev)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    uint8_t key[AW_CENTER_KEY_MAX], *buf = NULL;
    size_t ilen = strlen(ev->hazard_id), olen = strlen(ev->origin), len = 0;

    if (ilen + 9 + olen > sizeof key)
        return AW_EINVAL;
    rec.hlc = ev->hlc;
    rec.body_case = ANWANG__RECORD__BODY_HAZARD;
    rec.hazard = (Anwang__HazardEvent *)ev;
    int rv = aw_codec_record_encode(&rec, &buf, &len, NULL, 0);
    if (rv != AW_OK)
        return rv;
    memcpy(key, ev->hazard_id, ilen + 1);
    aw_put_be64(key + ilen + 1, ev->hlc);
    memcpy(key + ilen + 9, ev->origin, olen);
    rv = aw_txn_put(txn, s_t(self, AW_CT_HAZARDS), key, ilen + 9 + olen, buf, len);
    free(buf);
    if (rv == AW_OK)
        aw_txn_note_hlc(txn, ev->hlc);
    return rv;
}

/* The edges that get the events of a site: known (said Hello), zone set. */
typedef struct s_edges {
    aw_hazard_svc_t *self;
    aw_txn_t *txn;
    const char *site;
    const Anwang__HazardEvent *const *evs;
    size_t n;
    size_t queued;
    int rv;
} s_edges;

static int s_edges_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_edges *q = arg;
    char edge[AW_CENTER_EDGE_ID_MAX + 1];
    aw_center_edge_row row;

    if (klen == 0 || klen > AW_CENTER_EDGE_ID_MAX)
        return 0;
    memcpy(edge, key, klen);
    edge[klen] = '\0';
    if (!aw_center_edge_id_ok(edge) ||
        aw_center_edge_row_get(q->txn, q->self->o.db, edge, &row) != AW_OK || row.epoch == 0 ||
        !aw_center_path_in_zone(q->site, row.zone))
        return 0;
    for (size_t i = 0; i < q->n; i++) {
        Anwang__Down d = ANWANG__DOWN__INIT;
        d.body_case = ANWANG__DOWN__BODY_HAZARD;
        d.hazard = (Anwang__HazardEvent *)q->evs[i];
        q->rv = aw_center_down_enqueue_txn(q->txn, q->self->o.db, edge, row.epoch, &d, NULL);
        if (q->rv != AW_OK)
            return 1;
        q->queued++;
    }
    return 0;
}

/* Queues @p evs down to every known edge whose zone holds @p site. An edge
 * that never said Hello gets them in its first snapshot instead. */
static int s_queue_down(aw_hazard_svc_t *self, aw_txn_t *txn, const char *site,
                        const Anwang__HazardEvent *const *evs, size_t n)
{
    s_edges q = {.self = self, .txn = txn, .site = site, .evs = evs, .n = n};

    if (site == NULL)
        return AW_OK;
    int rv = aw_txn_scan(txn, s_t(self, AW_CT_EDGES), NULL, 0, NULL, 0, s_edges_cb, &q);
    return rv == AW_OK ? q.rv : rv;
}

/* Stores @p n events of hazard @p id (whose site is @p site), tells the
 * picture and queues them down, all in @p txn. */
static int s_add(aw_hazard_svc_t *self, aw_txn_t *txn, const char *id, const char *site,
                 const Anwang__HazardEvent *const *evs, size_t n, int64_t now_ms)
{
    int rv = AW_OK;

    for (size_t i = 0; rv == AW_OK && i < n; i++)
        rv = s_store(self, txn, evs[i]);
    if (rv == AW_OK && self->o.picture != NULL)
        rv = aw_picture_hazard_changed(self->o.picture, txn, id, now_ms);
    if (rv == AW_OK)
        rv = s_queue_down(self, txn, site, evs, n);
    return rv;
}

/* Finishes the write transaction *txn_p: s_add, then the answer JSON (built
 * in the same transaction, so it shows exactly what was committed), then
 * commit. The transaction is gone on return, committed or aborted. */
static int s_finish(aw_hazard_svc_t *self, aw_txn_t **txn_p, const char *id, const char *site,
                    const Anwang__HazardEvent *const *evs, size_t n, int64_t now_ms, json_t **out)
{
    json_t *o = NULL;
    int rv = s_add(self, *txn_p, id, site, evs, n, now_ms);

    if (rv == AW_OK)
        rv = s_hazard_json(self, *txn_p, id, now_ms, true, &o);
    if (rv == AW_OK)
        rv = aw_txn_commit(txn_p);
    aw_txn_abort(txn_p);
    if (rv != AW_OK) {
        json_decref(o);
        return rv;
    }
    if (out != NULL)
        *out = o;
    else
        json_decref(o);
    return AW_OK;
}

static int s_why(char *why, size_t why_len, int rv, const char *fmt, const char *arg)
{
    if (why != NULL && why_len > 0)
        snprintf(why, why_len, fmt, arg);
    return rv;
}

/* ================================================================ API */

int aw_hazard_svc_new(const aw_hazard_svc_opts *opts, aw_hazard_svc_t **out)
{
    char id[AW_HAZARD_ID_LEN];
    aw_hazard_svc_t *self;

    if (out == NULL)
        return AW_EINVAL;
    *out = NULL;
    if (opts == NULL || opts->db == NULL || opts->picture == NULL || opts->registry == NULL ||
        opts->hlc == NULL || aw_hazard_id_format(opts->origin, 1, id, sizeof id) != AW_OK)
        return AW_EINVAL;
    self = calloc(1, sizeof *self);
    if (self == NULL)
        return AW_ENOMEM;
    self->o = *opts;
    *out = self;
    return AW_OK;
}

void aw_hazard_svc_destroy(aw_hazard_svc_t **self_p)
{
    if (self_p == NULL)
        return;
    free(*self_p);
    *self_p = NULL;
}

int aw_hazard_svc_report(aw_hazard_svc_t *self, const char *json, size_t len, const char *who,
                         int64_t now_ms, json_t **out, char *why, size_t why_len)
{
    const aw_registry_t *reg;
    Anwang__HazardEvent *ev = NULL;
    aw_dual_report *dual = NULL;

    if (out != NULL)
        *out = NULL;
    if (self == NULL)
        return AW_EINVAL;
    reg = aw_registry_svc_current(self->o.registry);
    if (reg == NULL)
        return s_why(why, why_len, AW_ESTATE, "%s", "no registry imported yet");
    aw_hazard_ctx ctx = {.origin = self->o.origin,
                         .hlc = aw_hlc_now(self->o.hlc, now_ms),
                         .now_ms = now_ms,
                         .by = who,
                         .site_ok = aw_hazard_site_in_registry,
                         .site_arg = (void *)reg};
    int rv = aw_hazard_report_from_json(json, len, &ctx, &ev, why, why_len);
    if (rv != AW_OK)
        return rv;
    const Anwang__HazardEvent *evs[3] = {ev};
    size_t n = 1;
    if (ev->has_level && ev->level == ANWANG__HAZARD_LEVEL__HAZARD_MAJOR) {
        uint64_t h1 = aw_hlc_now(self->o.hlc, now_ms), h2 = aw_hlc_now(self->o.hlc, now_ms);
        rv = aw_dual_report_new(ev, self->o.origin, h1, h2, now_ms, &dual);
        if (rv == AW_OK) {
            for (int i = 0; i < 2; i++) {
                dual->events[i].by = ev->by;
                evs[n++] = &dual->events[i];
            }
        }
    }
    aw_txn_t *txn = NULL;
    if (rv == AW_OK)
        rv = aw_store_begin(aw_center_db_store(self->o.db), &txn);
    if (rv == AW_OK)
        rv = s_finish(self, &txn, ev->hazard_id, ev->site, evs, n, now_ms, out);
    if (rv != AW_OK)
        s_why(why, why_len, rv, "not stored: %s", aw_strerror(rv));
    aw_dual_report_destroy(&dual);
    aw_hazard_event_destroy(&ev);
    return rv;
}

/* The stamp of a new event of a hazard whose events reach @p max_seen: one
 * past it when the clock may take it (so the operator's event folds after
 * everything the center knew of the hazard, edge events stamped by a clock
 * running ahead included), else the clock's own next stamp. */
static uint64_t s_stamp_after(aw_hazard_svc_t *self, uint64_t max_seen, int64_t now_ms)
{
    uint64_t stamp;

    if (max_seen != 0 && aw_hlc_update(self->o.hlc, max_seen, now_ms, &stamp) == AW_OK)
        return stamp;
    return aw_hlc_now(self->o.hlc, now_ms);
}

/* True when the fold @p with (which has @p ev at input index @p n) rejects
 * an event that @p without (the stored events alone) accepted. */
static bool s_overturns(const aw_hazard_state *without, const aw_hazard_state *with, size_t n)
{
    for (size_t i = 0; i < with->n_entries; i++) {
        const aw_hazard_entry *en = &with->entries[i];
        if (en->index >= n || en->accepted)
            continue;
        for (size_t j = 0; j < without->n_entries; j++)
            if (without->entries[j].index == en->index && without->entries[j].accepted)
                return true;
    }
    return false;
}

/* Refuses @p ev (AW_ESTATE) when the fold of @p e plus @p ev rejects it at
 * its place, or when, placed before stored events (its stamp could not pass
 * theirs, see s_stamp_after()), it would make the fold reject one of them.
 * @p site gets a copy of the hazard's site ("" when it has none). */
static int s_check(const s_evs *e, const Anwang__HazardEvent *ev, char *site, size_t site_len,
                   char *why, size_t why_len)
{
    aw_hazard_state *st0 = NULL, *st = NULL;
    int rv = s_fold(e, NULL, &st0);

    if (rv == AW_OK)
        rv = s_fold(e, ev, &st);
    if (rv != AW_OK) {
        aw_hazard_state_destroy(&st0);
        return s_why(why, why_len, rv, "ledger: %s", aw_strerror(rv));
    }
    for (size_t i = 0; i < st->n_entries; i++) {
        const aw_hazard_entry *en = &st->entries[i];
        if (en->index == e->n && !en->accepted)
            rv = s_why(why, why_len, AW_ESTATE, "%s", en->reason ? en->reason : "rejected");
    }
    if (rv == AW_OK && s_overturns(st0, st, e->n))
        rv = s_why(why, why_len, AW_ESTATE, "%s",
                   "it would fold before a later event and overturn it");
    snprintf(site, site_len, "%s", st->site != NULL ? st->site : "");
    aw_hazard_state_destroy(&st);
    aw_hazard_state_destroy(&st0);
    return rv;
}

int aw_hazard_svc_event(aw_hazard_svc_t *self, const char *id, const char *json, size_t len,
                        const char *who, int64_t now_ms, json_t **out, char *why, size_t why_len)
{
    Anwang__HazardEvent *ev = NULL;
    aw_txn_t *txn = NULL;
    char site[AW_CENTER_KEY_MAX + 1] = "";
    s_evs e = {0};

    if (out != NULL)
        *out = NULL;
    if (self == NULL || id == NULL)
        return s_why(why, why_len, AW_EINVAL, "%s", "no hazard id");
    int rv = aw_store_begin(aw_center_db_store(self->o.db), &txn);
    if (rv == AW_OK)
        rv = s_evs_load(self, txn, id, &e);
    if (rv == AW_OK && e.n == 0)
        rv = s_why(why, why_len, AW_ENOTFOUND, "%s", "no such hazard");
    if (rv == AW_OK) {
        aw_hazard_ctx ctx = {.origin = self->o.origin,
                             .hlc = s_stamp_after(self, s_evs_max_hlc(&e), now_ms),
                             .now_ms = now_ms,
                             .by = who};
        rv = aw_hazard_event_from_json(json, len, id, &ctx, &ev, why, why_len);
    }
    if (rv == AW_OK)
        rv = s_check(&e, ev, site, sizeof site, why, why_len);
    if (rv == AW_OK) {
        const Anwang__HazardEvent *evs[1] = {ev};
        rv = s_finish(self, &txn, id, site[0] ? site : NULL, evs, 1, now_ms, out);
        if (rv != AW_OK)
            s_why(why, why_len, rv, "not stored: %s", aw_strerror(rv));
    }
    aw_txn_abort(&txn);
    aw_hazard_event_destroy(&ev);
    s_evs_free(&e);
    return rv;
}

/* ------------------------------------------------------------ reads */

typedef struct s_list {
    aw_hazard_svc_t *self;
    aw_txn_t *txn;
    int64_t now_ms;
    size_t limit;
    json_t *arr;
    int rv;
} s_list;

static int s_list_cb(void *arg, const char *hazard_id)
{
    s_list *l = arg;
    json_t *o = NULL;

    if (json_array_size(l->arr) >= l->limit)
        return S_STOP;
    int rv = s_hazard_json(l->self, l->txn, hazard_id, l->now_ms, false, &o);
    if (rv == AW_ENOTFOUND)
        return 0; /* the picture knows it, `hazards` does not: nothing to show */
    if (rv == AW_OK && json_array_append_new(l->arr, o) != 0)
        rv = AW_ENOMEM;
    if (rv != AW_OK) {
        l->rv = rv;
        return S_STOP;
    }
    return 0;
}

int aw_hazard_svc_list_json(aw_hazard_svc_t *self, aw_txn_t *txn, const aw_hazard_filter *f,
                            int64_t now_ms, size_t limit, json_t **out)
{
    aw_hazard_filter all = {.status = -1, .level = -1};
    s_list l = {.self = self, .txn = txn, .now_ms = now_ms};

    if (out == NULL)
        return AW_EINVAL;
    *out = NULL;
    if (self == NULL || txn == NULL)
        return AW_EINVAL;
    l.limit = limit == 0 || limit > S_LIST_MAX ? S_LIST_MAX : limit;
    l.arr = json_array();
    if (l.arr == NULL)
        return AW_ENOMEM;
    int rv =
        aw_picture_hazards_each(self->o.picture, txn, f != NULL ? f : &all, now_ms, s_list_cb, &l);
    if (rv == S_STOP)
        rv = l.rv;
    json_t *o = rv == AW_OK ? json_object() : NULL;
    if (rv == AW_OK && (o == NULL || json_object_set_new(o, "hazards", l.arr) != 0))
        rv = AW_ENOMEM;
    else if (rv == AW_OK)
        l.arr = NULL;
    json_decref(l.arr);
    if (rv != AW_OK) {
        json_decref(o);
        return rv;
    }
    *out = o;
    return AW_OK;
}

int aw_hazard_svc_get_json(aw_hazard_svc_t *self, aw_txn_t *txn, const char *id, int64_t now_ms,
                           json_t **out)
{
    if (out == NULL)
        return AW_EINVAL;
    *out = NULL;
    if (self == NULL || txn == NULL || id == NULL)
        return AW_EINVAL;
    return s_hazard_json(self, txn, id, now_ms, true, out);
}

/* ------------------------------------------------------------ tick */

/* Ids of the hazards the scan found newly overdue. */
typedef struct s_ids {
    char **v;
    size_t n, cap;
} s_ids;

static int s_overdue_cb(void *arg, aw_txn_t *txn, const char *hazard_id)
{
    s_ids *ids = arg;

    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 8;
        char **v = realloc(ids->v, cap * sizeof *v);
        if (v == NULL)
            return AW_ENOMEM;
        ids->v = v;
        ids->cap = cap;
    }
    if ((ids->v[ids->n] = strdup(hazard_id)) == NULL)
        return AW_ENOMEM;
    ids->n++;
    return AW_OK;
}

/* Adds the automatic overdue notify of hazard @p id in @p txn. A hazard the
 * fold no longer finds overdue (or without events) is skipped: *added = false. */
static int s_notify_overdue(aw_hazard_svc_t *self, aw_txn_t *txn, const char *id, int64_t now_ms,
                            bool *added)
{
    Anwang__HazardEvent ev = ANWANG__HAZARD_EVENT__INIT;
    aw_hazard_state *st = NULL;
    char deadline[AW_RFC3339_LEN], text[512];
    s_evs e;

    *added = false;
    int rv = s_evs_load(self, txn, id, &e);
    if (rv == AW_OK && e.n > 0)
        rv = s_fold(&e, NULL, &st);
    if (rv != AW_OK || st == NULL || !aw_hazard_overdue(st, now_ms))
        goto out;
    if (aw_time_format_rfc3339(st->deadline_ms, deadline) != AW_OK)
        snprintf(deadline, sizeof deadline, "%s", "?");
    snprintf(text, sizeof text, "overdue: rectification deadline %s passed (unit %s)", deadline,
             st->unit);
    ev.hazard_id = (char *)id;
    ev.hlc = aw_hlc_now(self->o.hlc, now_ms);
    ev.origin = (char *)self->o.origin;
    ev.op = ANWANG__HAZARD_OP__HAZARD_NOTIFY;
    ev.by = S_AUTO_BY;
    ev.audience = AW_AUDIENCE_SAFETY_BUREAU;
    ev.text = text;
    ev.has_time_ms = true;
    ev.time_ms = now_ms;
    const Anwang__HazardEvent *evs[1] = {&ev};
    rv = s_add(self, txn, id, st->site, evs, 1, now_ms);
    *added = rv == AW_OK;
out:
    aw_hazard_state_destroy(&st);
    s_evs_free(&e);
    return rv;
}

int aw_hazard_svc_tick(aw_hazard_svc_t *self, int64_t now_ms, size_t *notified)
{
    aw_txn_t *txn = NULL;
    s_ids ids = {0};
    size_t count = 0;

    if (notified != NULL)
        *notified = 0;
    if (self == NULL)
        return AW_EINVAL;
    int rv = aw_store_begin(aw_center_db_store(self->o.db), &txn);
    if (rv == AW_OK)
        rv = aw_picture_overdue_scan(self->o.picture, txn, now_ms, s_overdue_cb, &ids);
    for (size_t i = 0; rv == AW_OK && i < ids.n; i++) {
        bool added = false;
        rv = s_notify_overdue(self, txn, ids.v[i], now_ms, &added);
        count += added;
    }
    if (rv == AW_OK)
        rv = aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    for (size_t i = 0; i < ids.n; i++)
        free(ids.v[i]);
    free(ids.v);
    if (rv == AW_OK && notified != NULL)
        *notified = count;
    return rv;
}
