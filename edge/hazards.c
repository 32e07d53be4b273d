#include "hazards.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ledger.h"
#include "log.h"

struct aw_hazards {
    aw_hazards_opts o;
    const aw_registry_t *reg;
};

/* The events of one hazard, decoded from the table. */
typedef struct s_ledger {
    Anwang__Record *recs[AW_HAZARDS_MAX_EVENTS];
    const Anwang__HazardEvent *events[AW_HAZARDS_MAX_EVENTS];
    size_t n;
    int err;
} s_ledger;

int aw_hazards_new(const aw_hazards_opts *opts, aw_hazards_t **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return AW_ENOMEM;
    (*out)->o = *opts;
    return AW_OK;
}

void aw_hazards_destroy(aw_hazards_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

void aw_hazards_set_registry(aw_hazards_t *self, const aw_registry_t *reg)
{
    self->reg = reg;
}

/* ------------------------------------------------------------ storing */

/* Key: hazard_id NUL hlc(be64) origin. Returns its length, 0 when too long. */
static size_t s_key(const Anwang__HazardEvent *ev, uint8_t *key, size_t cap)
{
    size_t idlen = strlen(ev->hazard_id), olen = strlen(ev->origin);
    size_t n = idlen + 1 + 8 + olen;
    if (n > cap)
        return 0;
    memcpy(key, ev->hazard_id, idlen + 1);
    aw_put_be64(key + idlen + 1, ev->hlc);
    memcpy(key + idlen + 9, ev->origin, olen);
    return n;
}

/* Puts @p ev in the table and the urgent lane of @p txn. */
static int s_put_event(aw_hazards_t *self, aw_txn_t *txn, Anwang__HazardEvent *ev)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    rec.hlc = ev->hlc;
    rec.body_case = ANWANG__RECORD__BODY_HAZARD;
    rec.hazard = ev;
    uint8_t key[511], *buf = NULL;
    size_t klen = s_key(ev, key, sizeof key), len = 0;
    uint64_t seq;
    char why[160];
    if (klen == 0)
        return AW_EINVAL;
    int rv = aw_codec_record_encode(&rec, &buf, &len, why, sizeof why);
    if (rv != AW_OK)
        aw_error("hazards: cannot encode an event: %s", why);
    if (rv == AW_OK)
        rv = aw_txn_put(txn, self->o.table, key, klen, buf, len);
    if (rv == AW_OK)
        rv = aw_txn_append(txn, AW_LANE_URGENT, buf, len, &seq);
    aw_txn_note_hlc(txn, ev->hlc);
    free(buf);
    return rv;
}

/* Stores a major report's two notify events (双报告), made by this edge. */
static int s_put_dual(aw_hazards_t *self, aw_txn_t *txn, const Anwang__HazardEvent *report,
                      int64_t now_ms)
{
    uint64_t h1 = aw_hlc_now(self->o.hlc, now_ms), h2 = aw_hlc_now(self->o.hlc, now_ms);
    aw_dual_report *dr = NULL;
    int rv = aw_dual_report_new(report, self->o.origin, h1, h2, now_ms, &dr);
    for (int i = 0; rv == AW_OK && i < 2; i++) {
        dr->events[i].by = (char *)self->o.origin;
        rv = s_put_event(self, txn, &dr->events[i]);
    }
    aw_dual_report_destroy(&dr);
    return rv;
}

static int s_store(aw_hazards_t *self, Anwang__HazardEvent *ev, int64_t now_ms)
{
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(self->o.store, &txn);
    if (rv != AW_OK)
        return rv;
    rv = s_put_event(self, txn, ev);
    if (rv == AW_OK && ev->op == ANWANG__HAZARD_OP__HAZARD_REPORT && ev->has_level &&
        ev->level == ANWANG__HAZARD_LEVEL__HAZARD_MAJOR)
        rv = s_put_dual(self, txn, ev, now_ms);
    if (rv != AW_OK) {
        aw_txn_abort(&txn);
        return rv;
    }
    rv = aw_txn_commit(&txn);
    if (rv == AW_OK && self->o.committed)
        self->o.committed(self->o.committed_arg);
    return rv;
}

int aw_hazards_merge(aw_hazards_t *self, aw_txn_t *txn, const Anwang__HazardEvent *ev)
{
    if (!ev->hazard_id || !*ev->hazard_id || !ev->origin || !*ev->origin)
        return AW_EINVAL;
    uint8_t key[511], *buf = NULL;
    size_t klen = s_key(ev, key, sizeof key), len = 0;
    if (klen == 0)
        return AW_EINVAL;
    Anwang__Record rec = ANWANG__RECORD__INIT;
    rec.hlc = ev->hlc;
    rec.body_case = ANWANG__RECORD__BODY_HAZARD;
    rec.hazard = (Anwang__HazardEvent *)ev;
    char why[160];
    int rv = aw_codec_record_encode(&rec, &buf, &len, why, sizeof why);
    if (rv == AW_OK)
        rv = aw_txn_put(txn, self->o.table, key, klen, buf, len);
    free(buf);
    return rv;
}

/* A context for hazard_json: this edge, a fresh stamp, the sender. */
static aw_hazard_ctx s_ctx(aw_hazards_t *self, const char *who, int64_t now_ms)
{
    aw_hazard_ctx ctx = {
        .origin = self->o.origin,
        .hlc = aw_hlc_now(self->o.hlc, now_ms),
        .now_ms = now_ms,
        .by = who,
        .site_ok = aw_hazard_site_in_registry,
        .site_arg = (void *)self->reg,
    };
    return ctx;
}

int aw_hazards_report(aw_hazards_t *self, const uint8_t *body, size_t len, const char *who,
                      int64_t now_ms, char *id, size_t id_len, char *why, size_t why_len)
{
    if (!self->reg) {
        snprintf(why, why_len, "no registry loaded: sites cannot be checked");
        return AW_ENOTFOUND;
    }
    aw_hazard_ctx ctx = s_ctx(self, who, now_ms);
    Anwang__HazardEvent *ev = NULL;
    int rv = aw_hazard_report_from_json((const char *)body, len, &ctx, &ev, why, why_len);
    if (rv != AW_OK)
        return rv;
    rv = s_store(self, ev, now_ms);
    if (rv == AW_OK) {
        snprintf(id, id_len, "%s", ev->hazard_id);
        aw_info("hazard %s reported at %s (%s): %s", ev->hazard_id, ev->site,
                aw_hazard_level_name(ev->level), ev->title);
    }
    aw_hazard_event_destroy(&ev);
    return rv;
}

/* ------------------------------------------------------------ reading */

static int s_collect(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    s_ledger *l = arg;
    if (l->n == AW_HAZARDS_MAX_EVENTS) {
        l->err = AW_ETOOBIG;
        return 1;
    }
    Anwang__Record *rec = NULL;
    int rv = aw_codec_record_decode(val, vlen, NULL, &rec, NULL, 0);
    if (rv != AW_OK || rec->body_case != ANWANG__RECORD__BODY_HAZARD) {
        aw_codec_record_free(&rec);
        l->err = rv == AW_ENOMEM ? AW_ENOMEM : AW_ECORRUPT;
        return 1;
    }
    l->recs[l->n] = rec;
    l->events[l->n++] = rec->hazard;
    return 0;
}

static void s_ledger_free(s_ledger *l)
{
    for (size_t i = 0; i < l->n; i++)
        aw_codec_record_free(&l->recs[i]);
    free(l);
}

/* Reads every stored event of hazard @p id into a new ledger. */
static int s_load(aw_hazards_t *self, const char *id, s_ledger **out)
{
    size_t idlen = strlen(id);
    if (idlen == 0 || idlen >= AW_HAZARD_ID_LEN)
        return AW_ENOTFOUND;
    s_ledger *l = calloc(1, sizeof *l);
    aw_txn_t *txn = NULL;
    int rv = l ? aw_store_begin_read(self->o.store, &txn) : AW_ENOMEM;
    if (rv == AW_OK)
        rv = aw_txn_scan(txn, self->o.table, id, idlen + 1, NULL, 0, s_collect, l);
    aw_txn_abort(&txn);
    if (rv == AW_OK)
        rv = l->err;
    if (rv == AW_OK && l->n == 0)
        rv = AW_ENOTFOUND;
    if (rv != AW_OK && l) {
        s_ledger_free(l);
        return rv;
    }
    *out = l;
    return rv;
}

static int s_fold(aw_hazards_t *self, const char *id, s_ledger **l, aw_hazard_state **st)
{
    int rv = s_load(self, id, l);
    if (rv != AW_OK)
        return rv;
    rv = aw_ledger_fold((*l)->events, (*l)->n, st);
    if (rv != AW_OK) {
        s_ledger_free(*l);
        *l = NULL;
    }
    return rv == AW_EINVAL ? AW_ECORRUPT : rv;
}

static int s_dump(json_t *j, char **json)
{
    *json = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return *json ? AW_OK : AW_ENOMEM;
}

int aw_hazards_get(aw_hazards_t *self, const char *id, int64_t now_ms, char **json)
{
    s_ledger *l = NULL;
    aw_hazard_state *st = NULL;
    *json = NULL;
    int rv = s_fold(self, id, &l, &st);
    if (rv != AW_OK)
        return rv;
    json_t *j = NULL;
    rv = aw_hazard_state_to_json(st, now_ms, &j);
    if (rv == AW_OK)
        rv = s_dump(j, json);
    aw_hazard_state_destroy(&st);
    s_ledger_free(l);
    return rv;
}

/* The verdict of event (@p hlc, @p origin) in the fold of hazard @p id. */
static int s_verdict(aw_hazards_t *self, const char *id, uint64_t hlc, char **result)
{
    s_ledger *l = NULL;
    aw_hazard_state *st = NULL;
    int rv = s_fold(self, id, &l, &st);
    if (rv != AW_OK)
        return rv;
    const aw_hazard_entry *e = NULL;
    for (size_t i = 0; i < st->n_entries && !e; i++)
        if (st->entries[i].event->hlc == hlc &&
            strcmp(st->entries[i].event->origin, self->o.origin) == 0)
            e = &st->entries[i];
    json_t *j =
        json_pack("{s:b, s:s?, s:s}", "accepted", e && e->accepted, "reason",
                  e ? e->reason : "not in the ledger", "status", aw_hazard_status_name(st->status));
    rv = s_dump(j, result);
    aw_hazard_state_destroy(&st);
    s_ledger_free(l);
    return rv;
}

/* Counts the stored events of @p id (AW_ENOTFOUND when none, AW_ETOOBIG when full). */
static int s_room(aw_hazards_t *self, const char *id)
{
    s_ledger *l = NULL;
    int rv = s_load(self, id, &l);
    if (rv == AW_OK && l->n + 1 >= AW_HAZARDS_MAX_EVENTS)
        rv = AW_ETOOBIG;
    if (l)
        s_ledger_free(l);
    return rv;
}

int aw_hazards_event(aw_hazards_t *self, const char *id, const uint8_t *body, size_t len,
                     const char *who, int64_t now_ms, char **result, char *why, size_t why_len)
{
    int rv = s_room(self, id);
    if (rv != AW_OK) {
        snprintf(why, why_len, "%s",
                 rv == AW_ENOTFOUND ? "no such hazard"
                 : rv == AW_ETOOBIG ? "the hazard's ledger is full"
                                    : aw_strerror(rv));
        return rv;
    }
    aw_hazard_ctx ctx = s_ctx(self, who, now_ms);
    Anwang__HazardEvent *ev = NULL;
    rv = aw_hazard_event_from_json((const char *)body, len, id, &ctx, &ev, why, why_len);
    if (rv != AW_OK)
        return rv;
    rv = s_store(self, ev, now_ms);
    if (rv == AW_OK) {
        aw_info("hazard %s: %s by %s", id, aw_hazard_op_name(ev->op), ev->by ? ev->by : "-");
        if (result)
            rv = s_verdict(self, id, ev->hlc, result);
    }
    aw_hazard_event_destroy(&ev);
    return rv;
}
