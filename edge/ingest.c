#include "ingest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"

/* Key of the alarm engine's state in the state table. */
#define S_STATE_KEY "engine"
/* Event lines kept per transaction for logging after the commit. */
#define S_LOG_LINES 32
#define S_LOG_LEN   200

struct aw_ingest_checked {
    aw_senml_pack *pack;
    size_t n;
    uint8_t **recs; /* encoded records, one per reading */
    size_t *lens;
    bool *known;      /* device in the registry: feed the alarm engine */
    uint64_t max_hlc; /* highest stamp among the records */
};

typedef struct s_staged {
    aw_ingest_checked *c;
    void *tag;
} s_staged;

struct aw_ingest {
    aw_ingest_opts o;
    char prefix[AW_ALARM_PREFIX_MAX + 1];
    const aw_registry_t *reg;
    aw_alarm_t *alarm;
    s_staged batch[AW_INGEST_MAX_BATCH];
    size_t n;
    /* state of the open write transaction */
    aw_txn_t *txn;
    int emit_err;
    unsigned events;
    uint64_t max_hlc;
    int64_t now_ms;
    char log[S_LOG_LINES][S_LOG_LEN];
    size_t n_log, log_dropped;
    aw_ingest_stats stats;
};

/* ------------------------------------------------------------ event records */

/* Appends @p rec to @p lane of the open transaction, stamped now. */
static void s_append_event(aw_ingest_t *self, Anwang__Record *rec)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[160];
    uint64_t seq;
    rec->hlc = aw_hlc_now(self->o.hlc, self->now_ms);
    if (rec->hlc > self->max_hlc)
        self->max_hlc = rec->hlc;
    int rv = aw_codec_record_encode(rec, &buf, &len, why, sizeof why);
    if (rv == AW_OK)
        rv = aw_txn_append(self->txn, AW_LANE_URGENT, buf, len, &seq);
    else
        aw_error("ingest: cannot encode an event record: %s", why);
    free(buf);
    if (rv != AW_OK && self->emit_err == AW_OK)
        self->emit_err = rv;
}

static const char *s_opt(const char *s)
{
    return s && *s ? s : NULL;
}

static void s_alarm_record(aw_ingest_t *self, const aw_alarm_event *ev)
{
    Anwang__AlarmEvent a = ANWANG__ALARM_EVENT__INIT;
    a.alarm_id = (char *)ev->alarm_id;
    a.kind = (Anwang__AlarmEventKind)ev->kind;
    a.device = (char *)ev->device;
    a.metric = (char *)ev->metric;
    a.site = (char *)s_opt(ev->site);
    a.item = (char *)s_opt(ev->item);
    a.level = (Anwang__Level)ev->level;
    a.has_prev_level = 1, a.prev_level = (Anwang__Level)ev->prev_level;
    a.has_direction = 1, a.direction = (Anwang__Direction)ev->direction;
    a.has_value = 1, a.value = ev->value;
    a.has_first_value = 1, a.first_value = ev->first_value;
    a.has_first_time_ms = 1, a.first_time_ms = ev->first_time_ms;
    a.time_ms = ev->time_ms;
    a.has_threshold = ev->has_threshold != 0, a.threshold = ev->threshold;
    a.by = (char *)s_opt(ev->by);
    Anwang__Record rec = ANWANG__RECORD__INIT;
    rec.body_case = ANWANG__RECORD__BODY_ALARM;
    rec.alarm = &a;
    s_append_event(self, &rec);
}

static void s_device_record(aw_ingest_t *self, const aw_alarm_event *ev)
{
    Anwang__DeviceEvent d = ANWANG__DEVICE_EVENT__INIT;
    d.device = (char *)ev->device;
    d.kind = (Anwang__DeviceEventKind)(ev->kind - AW_ALARM_DEVICE_STALE);
    d.time_ms = ev->time_ms;
    d.has_last_seen_ms = ev->last_seen_ms > 0, d.last_seen_ms = ev->last_seen_ms;
    Anwang__Record rec = ANWANG__RECORD__INIT;
    rec.body_case = ANWANG__RECORD__BODY_DEVICE;
    rec.device = &d;
    s_append_event(self, &rec);
}

static const char *const s_kind_names[] = {
    "raised", "escalated", "de-escalated", "cleared", "acknowledged", "stale", "back", "item",
};

/* Keeps a one-line description of @p ev to log once the commit succeeded. */
static void s_note(aw_ingest_t *self, const aw_alarm_event *ev)
{
    if (self->n_log == S_LOG_LINES) {
        self->log_dropped++;
        return;
    }
    char *line = self->log[self->n_log++];
    const char *kind = s_kind_names[ev->kind];
    if (ev->kind >= AW_ALARM_DEVICE_STALE && ev->kind <= AW_ALARM_DEVICE_BACK)
        snprintf(line, S_LOG_LEN, "device %s: %s", ev->device, kind);
    else if (ev->kind == AW_ALARM_ITEM_LEVEL)
        snprintf(line, S_LOG_LEN, "item %s %s: %s -> %s", ev->site, ev->item,
                 aw_level_name(ev->prev_level), aw_level_name(ev->level));
    else
        snprintf(line, S_LOG_LEN, "alarm %s: %s, %s -> %s, value %g", ev->alarm_id, kind,
                 aw_level_name(ev->prev_level), aw_level_name(ev->level), ev->value);
}

/* The alarm engine's callback: events become urgent records in the open txn. */
static void s_on_event(void *arg, const aw_alarm_event *ev)
{
    aw_ingest_t *self = arg;
    if (!self->txn)
        return;
    self->events++;
    s_note(self, ev);
    if (ev->kind <= AW_ALARM_ACKNOWLEDGED)
        s_alarm_record(self, ev);
    else if (ev->kind <= AW_ALARM_DEVICE_BACK)
        s_device_record(self, ev);
}

/* ------------------------------------------------------------ transactions */

static int s_txn_open(aw_ingest_t *self, int64_t now_ms)
{
    int rv = aw_store_begin(self->o.store, &self->txn);
    if (rv != AW_OK)
        return rv;
    self->emit_err = AW_OK;
    self->events = 0;
    self->max_hlc = 0;
    self->now_ms = now_ms;
    self->n_log = self->log_dropped = 0;
    return AW_OK;
}

static int s_save_state(aw_ingest_t *self)
{
    char *json = NULL;
    int rv = aw_alarm_state_export(self->alarm, &json);
    if (rv == AW_OK)
        rv = aw_txn_put(self->txn, self->o.state_table, S_STATE_KEY, strlen(S_STATE_KEY), json,
                        strlen(json));
    free(json);
    return rv;
}

/* Commits (rv == AW_OK) or aborts the open txn; logs its events once stored. */
static int s_txn_close(aw_ingest_t *self, int rv)
{
    if (rv == AW_OK)
        rv = self->emit_err;
    if (rv == AW_OK && self->events && self->alarm)
        rv = s_save_state(self);
    if (rv == AW_OK) {
        aw_txn_note_hlc(self->txn, self->max_hlc);
        rv = aw_txn_commit(&self->txn);
    } else {
        aw_txn_abort(&self->txn);
    }
    self->txn = NULL;
    if (rv == AW_OK) {
        for (size_t i = 0; i < self->n_log; i++)
            aw_info("%s", self->log[i]);
        if (self->log_dropped)
            aw_info("... and %zu more alarm events", self->log_dropped);
        if (self->o.committed)
            self->o.committed(self->o.committed_arg);
    }
    return rv;
}

/* ------------------------------------------------------------ lifecycle */

int aw_ingest_new(const aw_ingest_opts *opts, aw_ingest_t **out)
{
    *out = NULL;
    if (!opts || !opts->store || !opts->hlc)
        return AW_EINVAL;
    aw_ingest_t *self = calloc(1, sizeof *self);
    if (!self)
        return AW_ENOMEM;
    self->o = *opts;
    snprintf(self->prefix, sizeof self->prefix, "%s", opts->id_prefix ? opts->id_prefix : "");
    self->o.id_prefix = self->prefix;
    *out = self;
    return AW_OK;
}

void aw_ingest_destroy(aw_ingest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aw_ingest_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        aw_ingest_checked_free(&self->batch[i].c);
    aw_txn_abort(&self->txn);
    aw_alarm_destroy(&self->alarm);
    free(self);
    *self_p = NULL;
}

/* Restores the engine's state as the last commit left it. */
static int s_import_state(aw_ingest_t *self, int64_t now_ms)
{
    const void *val;
    size_t len;
    int rv =
        aw_txn_get(self->txn, self->o.state_table, S_STATE_KEY, strlen(S_STATE_KEY), &val, &len);
    if (rv == AW_ENOTFOUND)
        return AW_OK;
    if (rv != AW_OK)
        return rv;
    /* The value lives in the txn; copy it: importing emits events that write. */
    char *json = malloc(len + 1);
    if (!json)
        return AW_ENOMEM;
    memcpy(json, val, len);
    json[len] = '\0';
    rv = aw_alarm_state_import(self->alarm, json, len, now_ms);
    free(json);
    if (rv == AW_ECORRUPT)
        aw_error("ingest: stored alarm state is malformed; starting with no active alarm");
    return rv == AW_ECORRUPT ? AW_OK : rv;
}

static int s_create_engine(aw_ingest_t *self, const aw_registry_t *reg, int64_t now_ms)
{
    aw_alarm_opts ao = {.emit = s_on_event, .arg = self, .id_prefix = self->prefix};
    int rv = aw_alarm_new(reg, &ao, &self->alarm);
    if (rv != AW_OK)
        return rv;
    self->events = 0;
    rv = s_import_state(self, now_ms);
    /* Save once so the state exists even before the first event. */
    self->events += rv == AW_OK;
    return rv;
}

int aw_ingest_set_registry(aw_ingest_t *self, const aw_registry_t *reg, int64_t now_ms)
{
    if (self->n)
        return AW_ESTATE;
    self->reg = reg;
    if (!reg)
        return AW_OK;
    int rv = s_txn_open(self, now_ms);
    if (rv != AW_OK)
        return rv;
    if (!self->alarm)
        rv = s_create_engine(self, reg, now_ms);
    else
        rv = aw_alarm_reload(self->alarm, reg, now_ms);
    return s_txn_close(self, rv);
}

/* ------------------------------------------------------------ check */

void aw_ingest_checked_free(aw_ingest_checked **c_p)
{
    if (!c_p || !*c_p)
        return;
    aw_ingest_checked *c = *c_p;
    for (size_t i = 0; c->recs && i < c->n; i++)
        free(c->recs[i]);
    free(c->recs);
    free(c->lens);
    free(c->known);
    aw_senml_pack_destroy(&c->pack);
    free(c);
    *c_p = NULL;
}

static aw_ingest_checked *s_checked_new(aw_senml_pack *pack)
{
    aw_ingest_checked *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->pack = pack;
    c->n = pack->n;
    c->recs = calloc(c->n, sizeof *c->recs);
    c->lens = calloc(c->n, sizeof *c->lens);
    c->known = calloc(c->n, sizeof *c->known);
    if (!c->recs || !c->lens || !c->known)
        aw_ingest_checked_free(&c);
    return c;
}

/* Checks reading @p i against the sender's rights and the registry. */
static int s_check_reading(aw_ingest_t *self, Anwang__Reading *r, size_t i, bool *known,
                           aw_ingest_owner_fn owns, void *owns_arg, char *why, size_t why_len)
{
    if (owns && !owns(owns_arg, r->device)) {
        snprintf(why, why_len, "record %zu: this identity may not speak for device '%s'", i,
                 r->device);
        return AW_EPERM;
    }
    const aw_device *dev = aw_registry_device_find(self->reg, r->device);
    *known = dev != NULL;
    if (!dev && !self->o.auto_register) {
        snprintf(why, why_len, "record %zu: unknown device '%s'", i, r->device);
        return AW_ENOTFOUND;
    }
    const aw_metric *m = dev ? aw_registry_metric_find(dev, r->metric) : NULL;
    if (!m || !m->unit || !*m->unit)
        return AW_OK;
    if (r->unit && strcmp(r->unit, m->unit) != 0) {
        snprintf(why, why_len, "record %zu: unit '%s' of %s/%s is not the registered '%s'", i,
                 r->unit, r->device, r->metric, m->unit);
        return AW_EINVAL;
    }
    return AW_OK;
}

/* Stamps and encodes reading @p i of @p c. */
static int s_encode_reading(aw_ingest_t *self, aw_ingest_checked *c, size_t i, int64_t now_ms,
                            char *why, size_t why_len)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    rec.body_case = ANWANG__RECORD__BODY_READING;
    rec.reading = &c->pack->readings[i];
    rec.hlc = aw_hlc_now(self->o.hlc, now_ms);
    if (rec.hlc > c->max_hlc)
        c->max_hlc = rec.hlc;
    char inner[160];
    int rv = aw_codec_record_encode(&rec, &c->recs[i], &c->lens[i], inner, sizeof inner);
    if (rv == AW_ENOMEM)
        return rv;
    if (rv != AW_OK) {
        snprintf(why, why_len, "record %zu: %s", i, inner);
        return AW_EINVAL;
    }
    return AW_OK;
}

static int s_check_pack(aw_ingest_t *self, aw_ingest_checked *c, int64_t now_ms,
                        aw_ingest_owner_fn owns, void *owns_arg, char *why, size_t why_len)
{
    for (size_t i = 0; i < c->n; i++) {
        int rv = s_check_reading(self, &c->pack->readings[i], i, &c->known[i], owns, owns_arg, why,
                                 why_len);
        if (rv != AW_OK)
            return rv;
    }
    for (size_t i = 0; i < c->n; i++) {
        int rv = s_encode_reading(self, c, i, now_ms, why, why_len);
        if (rv != AW_OK)
            return rv;
    }
    return AW_OK;
}

int aw_ingest_check(aw_ingest_t *self, const uint8_t *buf, size_t len, aw_senml_format fmt,
                    int64_t now_ms, aw_ingest_owner_fn owns, void *owns_arg,
                    aw_ingest_checked **out, char *why, size_t why_len)
{
    *out = NULL;
    if (!self->reg) {
        snprintf(why, why_len,
                 "no registry loaded: readings are refused until the center "
                 "pushes one or the edge is started with --registry");
        self->stats.rejected++;
        return AW_ENOTFOUND;
    }
    aw_senml_opts so;
    aw_senml_opts_init(&so, now_ms);
    so.max_future_ms = self->o.max_future_ms;
    aw_senml_pack *pack = NULL;
    int rv = aw_senml_parse(buf, len, fmt, &so, &pack, why, why_len);
    if (rv != AW_OK) {
        self->stats.rejected++;
        return rv == AW_ENOMEM ? AW_ENOMEM : AW_EINVAL;
    }
    aw_ingest_checked *c = s_checked_new(pack);
    if (!c) {
        aw_senml_pack_destroy(&pack);
        return AW_ENOMEM;
    }
    rv = s_check_pack(self, c, now_ms, owns, owns_arg, why, why_len);
    if (rv != AW_OK) {
        aw_ingest_checked_free(&c);
        self->stats.rejected += rv != AW_ENOMEM;
        return rv;
    }
    *out = c;
    return AW_OK;
}

/* ------------------------------------------------------------ stage and flush */

int aw_ingest_stage(aw_ingest_t *self, aw_ingest_checked **c_p, void *tag)
{
    if (self->n == AW_INGEST_MAX_BATCH)
        return AW_EAGAIN;
    self->batch[self->n].c = *c_p;
    self->batch[self->n].tag = tag;
    self->n++;
    *c_p = NULL;
    return AW_OK;
}

size_t aw_ingest_staged(const aw_ingest_t *self)
{
    return self->n;
}

/* Feeds reading @p r of a registered device to the alarm engine. */
static void s_feed(aw_ingest_t *self, const Anwang__Reading *r)
{
    int rv = AW_ENOTFOUND;
    if (r->has_value)
        rv = aw_alarm_feed(self->alarm, r->device, r->metric, r->value, r->time_ms, self->now_ms);
    if (rv != AW_OK)
        aw_alarm_seen(self->alarm, r->device, self->now_ms);
}

static int s_write_pack(aw_ingest_t *self, const aw_ingest_checked *c)
{
    uint64_t seq;
    for (size_t i = 0; i < c->n; i++) {
        int rv = aw_txn_append(self->txn, AW_LANE_BULK, c->recs[i], c->lens[i], &seq);
        if (rv != AW_OK)
            return rv;
        if (c->known[i] && self->alarm)
            s_feed(self, &c->pack->readings[i]);
        if (self->emit_err != AW_OK)
            return self->emit_err;
    }
    if (c->max_hlc > self->max_hlc)
        self->max_hlc = c->max_hlc;
    return AW_OK;
}

/* Writes staged packs [from, to) in one transaction. */
static int s_write_range(aw_ingest_t *self, size_t from, size_t to, int64_t now_ms)
{
    int rv = s_txn_open(self, now_ms);
    if (rv != AW_OK)
        return rv;
    if (self->alarm)
        aw_alarm_begin(self->alarm);
    for (size_t i = from; i < to && rv == AW_OK; i++)
        rv = s_write_pack(self, self->batch[i].c);
    rv = s_txn_close(self, rv);
    if (self->alarm)
        rv == AW_OK ? aw_alarm_commit(self->alarm) : aw_alarm_rollback(self->alarm);
    if (rv == AW_OK)
        self->stats.commits++;
    return rv;
}

static void s_account(aw_ingest_t *self, size_t i, int rv, int64_t now_ms)
{
    if (rv == AW_OK) {
        self->stats.packs++;
        self->stats.readings += self->batch[i].c->n;
        self->stats.last_store_ms = now_ms;
    } else {
        self->stats.failed++;
    }
}

size_t aw_ingest_flush(aw_ingest_t *self, int64_t now_ms, aw_ingest_done_fn done, void *arg)
{
    size_t stored = 0, n = self->n;
    if (n == 0)
        return 0;
    int rv = s_write_range(self, 0, n, now_ms);
    if (rv != AW_OK && n > 1)
        aw_warn("ingest: group commit of %zu packs failed (%s); committing them one by one", n,
                aw_strerror(rv));
    for (size_t i = 0; i < n; i++) {
        int one = rv;
        if (rv != AW_OK && n > 1)
            one = s_write_range(self, i, i + 1, now_ms);
        s_account(self, i, one, now_ms);
        stored += one == AW_OK;
        if (done)
            done(arg, self->batch[i].tag, one);
        aw_ingest_checked_free(&self->batch[i].c);
    }
    self->n = 0;
    return stored;
}

int aw_ingest_tick(aw_ingest_t *self, int64_t now_ms)
{
    if (!self->alarm || self->n)
        return AW_OK;
    int rv = s_txn_open(self, now_ms);
    if (rv != AW_OK)
        return rv;
    aw_alarm_begin(self->alarm);
    aw_alarm_tick(self->alarm, now_ms);
    if (self->events == 0) {
        /* Nothing happened: no write, no flush. */
        aw_txn_abort(&self->txn);
        aw_alarm_commit(self->alarm);
        return AW_OK;
    }
    rv = s_txn_close(self, AW_OK);
    rv == AW_OK ? aw_alarm_commit(self->alarm) : aw_alarm_rollback(self->alarm);
    return rv;
}

int aw_ingest_ack(aw_ingest_t *self, const char *alarm_id, const char *by, int64_t time_ms,
                  int64_t now_ms, aw_ingest_txn_fn also, void *also_arg, bool *found)
{
    if (found)
        *found = false;
    if (self->n)
        return AW_ESTATE;
    int rv = s_txn_open(self, now_ms);
    if (rv != AW_OK)
        return rv;
    if (self->alarm)
        aw_alarm_begin(self->alarm);
    int acked = self->alarm ? aw_alarm_ack(self->alarm, alarm_id, by, time_ms) : AW_ENOTFOUND;
    rv = acked == AW_ENOTFOUND ? AW_OK : acked;
    if (rv == AW_OK && also)
        rv = also(also_arg, self->txn);
    rv = s_txn_close(self, rv);
    if (self->alarm)
        rv == AW_OK ? aw_alarm_commit(self->alarm) : aw_alarm_rollback(self->alarm);
    if (found)
        *found = rv == AW_OK && acked == AW_OK;
    return rv;
}

void aw_ingest_get_stats(const aw_ingest_t *self, aw_ingest_stats *stats)
{
    *stats = self->stats;
    memset(&stats->alarms, 0, sizeof stats->alarms);
    if (self->alarm)
        aw_alarm_get_stats(self->alarm, &stats->alarms);
}

const aw_alarm_t *aw_ingest_alarms(const aw_ingest_t *self)
{
    return self->alarm;
}
