#include "siren.h"

#include <coap3/coap.h>
#include <inttypes.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "codec.h"
#include "log.h"
#include "loop.h"
#include "rfc3339.h"

#define S_CF_JSON     50
#define S_REASON_MAX  200
#define S_KIND_ALERT  'a'
#define S_KIND_STOP   'c'
#define S_PRUNE_BATCH 1000

typedef enum s_outcome { S_NONE, S_DELIVERED, S_RETRY, S_PERMANENT } s_outcome;

/* One queued delivery, as loaded from `siren_queue`. */
typedef struct s_job {
    char *key; /* identifier NUL device NUL kind */
    size_t klen;
    const char *id, *device; /* into key */
    char *uri, *payload;
    bool receipt;
    unsigned attempts;
    int64_t deadline_ms; /* wall */
    bool by_expiry;      /* the deadline is the alert's expiry */
    bool uncertain;      /* an attempt went unanswered: the device may have it */
    char last[S_REASON_MAX];
    int64_t due_mono; /* next attempt */
    /* the POST in flight */
    coap_session_t *session;
    uint64_t serial;
    int64_t sent_mono;
    s_outcome outcome;
    bool seen; /* reload bookkeeping */
} s_job;

struct aw_siren {
    aw_siren_opts o;
    aw_table_t t_queue, t_done;
    coap_context_t *ctx;
    const aw_registry_t *reg;
    s_job **jobs;
    size_t n_jobs, cap_jobs;
    unsigned in_flight;
    uint64_t next_serial;
    bool dirty;
    bool sent; /* POSTs queued in libcoap since the last flush */
    aw_siren_stats stats;
};

static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ targets */

/* @p path equals @p area or lies under it (whole segments). */
static bool s_under(const char *path, const char *area)
{
    size_t n = strlen(area);
    while (n > 0 && area[n - 1] == '/')
        n--;
    if (n == 0 || strncmp(path, area, n) != 0)
        return false;
    return path[n] == '\0' || path[n] == '/';
}

static bool s_targeted(const aw_device *d, char **area, size_t n_area)
{
    if ((d->kind != AW_DEVICE_SIREN && d->kind != AW_DEVICE_LOUDSPEAKER) || !d->uri || !*d->uri)
        return false;
    for (size_t i = 0; i < n_area; i++)
        if (area[i] && s_under(d->site->path, area[i]))
            return true;
    return false;
}

/* ------------------------------------------------------------ store */

static size_t s_key(char *key, size_t cap, const char *id, const char *dev, char kind)
{
    int n = snprintf(key, cap, "%s%c%s%c%c", id, '\0', dev, '\0', kind);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static int s_put_json(aw_txn_t *txn, aw_table_t t, const void *key, size_t klen, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    if (!text)
        return AW_ENOMEM;
    int rv = aw_txn_put(txn, t, key, klen, text, strlen(text));
    free(text);
    return rv;
}

static json_t *s_get_json(aw_txn_t *txn, aw_table_t t, const void *key, size_t klen)
{
    const void *val = NULL;
    size_t len = 0;
    if (aw_txn_get(txn, t, key, klen, &val, &len) != AW_OK)
        return NULL;
    return json_loadb(val, len, 0, NULL);
}

/* Appends a device receipt to the urgent lane. */
static int s_receipt(aw_siren_t *self, aw_txn_t *txn, const char *id, const char *dev,
                     bool delivered, unsigned attempts, const char *detail, int64_t now_ms)
{
    Anwang__AlertReceipt r = ANWANG__ALERT_RECEIPT__INIT;
    r.identifier = (char *)id;
    r.edge_id = (char *)self->o.edge_id;
    r.device = (char *)dev;
    r.kind = delivered ? ANWANG__RECEIPT_KIND__RECEIPT_DEVICE_DELIVERED
                       : ANWANG__RECEIPT_KIND__RECEIPT_DEVICE_FAILED;
    r.time_ms = now_ms;
    r.has_attempts = true;
    r.attempts = attempts;
    if (detail && *detail)
        r.detail = (char *)detail;
    Anwang__Record rec = ANWANG__RECORD__INIT;
    uint64_t stamp = aw_hlc_now(self->o.hlc, now_ms);
    rec.hlc = stamp;
    rec.body_case = ANWANG__RECORD__BODY_RECEIPT;
    rec.receipt = &r;
    uint8_t *buf = NULL;
    size_t len = 0;
    uint64_t seq;
    char why[160];
    int rv = aw_codec_record_encode(&rec, &buf, &len, why, sizeof why);
    if (rv == AW_OK)
        rv = aw_txn_append(txn, AW_LANE_URGENT, buf, len, &seq);
    if (rv == AW_OK)
        aw_txn_note_hlc(txn, stamp);
    free(buf);
    return rv;
}

/* Records who got alert @p id (for cancels): state, uri, payload. */
static int s_done_put(aw_siren_t *self, aw_txn_t *txn, const char *id, const char *dev,
                      bool delivered, const char *uri, const char *payload, int64_t now_ms)
{
    char key[1100];
    size_t klen = s_key(key, sizeof key, id, dev, S_KIND_ALERT);
    if (klen < 2)
        return AW_EINVAL;
    klen -= 2; /* identifier NUL device */
    json_t *v =
        json_pack("{s:s, s:s, s:s, s:I}", "state", delivered ? "delivered" : "failed", "uri",
                  uri ? uri : "", "payload", payload ? payload : "", "time_ms", (json_int_t)now_ms);
    int rv = s_put_json(txn, self->t_done, key, klen, v);
    json_decref(v);
    return rv;
}

/* ------------------------------------------------------------ enqueue */

static int s_queue_put(aw_siren_t *self, aw_txn_t *txn, const char *id, const char *dev, char kind,
                       const char *uri, const char *payload, bool receipt, int64_t deadline_ms,
                       bool by_expiry)
{
    char key[1100];
    size_t klen = s_key(key, sizeof key, id, dev, kind);
    if (klen == 0)
        return AW_EINVAL;
    json_t *v = json_pack("{s:s, s:s, s:b, s:i, s:I, s:b, s:s}", "uri", uri, "payload", payload,
                          "receipt", receipt, "attempts", 0, "deadline_ms", (json_int_t)deadline_ms,
                          "by_expiry", by_expiry, "last", "");
    int rv = s_put_json(txn, self->t_queue, key, klen, v);
    json_decref(v);
    return rv;
}

typedef struct s_entry {
    char *key;
    size_t klen;
    json_t *v;
} s_entry;

typedef struct s_entries {
    s_entry *v;
    size_t n, cap;
    int rv;
} s_entries;

static int s_collect(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_entries *e = arg;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        s_entry *v = realloc(e->v, cap * sizeof *v);
        if (!v) {
            e->rv = AW_ENOMEM;
            return 1;
        }
        e->v = v, e->cap = cap;
    }
    s_entry *x = &e->v[e->n];
    x->key = malloc(klen + 1);
    x->v = json_loadb(val, vlen, 0, NULL);
    if (!x->key || !x->v) {
        free(x->key), json_decref(x->v);
        e->rv = x->key ? AW_ECORRUPT : AW_ENOMEM;
        return e->rv == AW_ENOMEM;
    }
    memcpy(x->key, key, klen);
    x->key[klen] = '\0';
    x->klen = klen;
    e->n++;
    return 0;
}

static void s_entries_free(s_entries *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i].key), json_decref(e->v[i].v);
    free(e->v);
    memset(e, 0, sizeof *e);
}

static int s_scan(aw_txn_t *txn, aw_table_t t, const char *id, s_entries *out)
{
    memset(out, 0, sizeof *out);
    size_t plen = id ? strlen(id) + 1 : 0;
    int rv = aw_txn_scan(txn, t, id, plen, NULL, 0, s_collect, out);
    if (rv == AW_OK && out->rv == AW_ENOMEM)
        rv = AW_ENOMEM;
    return rv;
}

/* The device part of a key identifier NUL device [NUL kind]. */
static const char *s_key_device(const s_entry *x)
{
    size_t idl = strnlen(x->key, x->klen);
    return idl + 1 < x->klen ? x->key + idl + 1 : "";
}

static const char *s_str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The CAP Cancel of alert @p id made from its payload @p cap_text. */
static char *s_cancel_payload(const char *id, const char *cap_text, const char *by, int64_t now_ms)
{
    json_t *o = json_loads(cap_text, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    char cid[600], when[AW_RFC3339_LEN] = "";
    snprintf(cid, sizeof cid, "%s.cancel", id);
    aw_time_format_rfc3339(now_ms, when);
    json_object_set_new(o, "identifier", json_string(cid));
    json_object_set_new(o, "msgType", json_string("Cancel"));
    json_object_set_new(o, "sent", json_string(when));
    json_object_set_new(o, "references", json_pack("[s]", id));
    if (by && *by)
        json_object_set_new(o, "sender", json_string(by));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static s_job *s_job_find(aw_siren_t *self, const char *key, size_t klen);

/*
 * Stops alert @p id's queued deliveries (failed receipts with @p reason);
 * with @p tell, queues a CAP Cancel to those that got it or may have.
 */
static int s_stop(aw_siren_t *self, aw_txn_t *txn, const char *id, const char *reason, bool tell,
                  const char *by, int64_t now_ms)
{
    s_entries q, d;
    int rv = s_scan(txn, self->t_queue, id, &q);
    for (size_t i = 0; rv == AW_OK && i < q.n; i++) {
        s_entry *x = &q.v[i];
        if (x->key[x->klen - 1] != S_KIND_ALERT)
            continue;
        const char *dev = s_key_device(x);
        unsigned att = (unsigned)json_integer_value(json_object_get(x->v, "attempts"));
        const s_job *j = s_job_find(self, x->key, x->klen);
        bool maybe = json_is_true(json_object_get(x->v, "uncertain")) || (j && j->session);
        rv = aw_txn_del(txn, self->t_queue, x->key, x->klen);
        if (rv == AW_OK && json_is_true(json_object_get(x->v, "receipt")))
            rv = s_receipt(self, txn, id, dev, false, j && j->attempts > att ? j->attempts : att,
                           reason, now_ms);
        if (rv == AW_OK)
            rv = s_done_put(self, txn, id, dev, false, s_str(x->v, "uri"),
                            maybe ? s_str(x->v, "payload") : "", now_ms);
        aw_info("siren: alert %s to %s stopped: %s", id, dev, reason);
    }
    s_entries_free(&q);
    if (rv != AW_OK || !tell)
        return rv;
    rv = s_scan(txn, self->t_done, id, &d);
    for (size_t i = 0; rv == AW_OK && i < d.n; i++) {
        const char *payload = s_str(d.v[i].v, "payload");
        if (!*payload) /* never sent to it */
            continue;
        char *cancel = s_cancel_payload(id, payload, by, now_ms);
        if (!cancel)
            continue;
        rv = s_queue_put(self, txn, id, s_key_device(&d.v[i]), S_KIND_STOP, s_str(d.v[i].v, "uri"),
                         cancel, false, now_ms + self->o.max_time_ms, false);
        free(cancel);
    }
    s_entries_free(&d);
    return rv;
}

/* (alert, device) is queued or ended already: never a second final receipt. */
static bool s_known(aw_siren_t *self, aw_txn_t *txn, const char *id, const char *dev)
{
    char key[1100];
    const void *val;
    size_t vlen, klen = s_key(key, sizeof key, id, dev, S_KIND_ALERT);
    return klen < 2 || aw_txn_get(txn, self->t_queue, key, klen, &val, &vlen) == AW_OK ||
           aw_txn_get(txn, self->t_done, key, klen - 2, &val, &vlen) == AW_OK;
}

int aw_siren_enqueue_alert(aw_siren_t *self, aw_txn_t *txn, const Anwang__Alert *a,
                           const char *cap_json, int64_t now_ms)
{
    size_t n = 0;
    const aw_device *d = self->reg ? aw_registry_devices(self->reg, &n) : NULL;
    bool expired = a->has_expires_ms && a->expires_ms <= now_ms;
    int64_t deadline = now_ms + self->o.max_time_ms;
    bool by_expiry = a->has_expires_ms && a->expires_ms < deadline;
    if (by_expiry)
        deadline = a->expires_ms;
    int rv = AW_OK;
    size_t targets = 0;
    for (size_t i = 0; rv == AW_OK && i < n; i++) {
        if (!s_targeted(&d[i], a->area, a->n_area) || s_known(self, txn, a->identifier, d[i].id))
            continue;
        targets++;
        if (expired) {
            rv = s_receipt(self, txn, a->identifier, d[i].id, false, 0, "expired", now_ms);
            if (rv == AW_OK)
                rv = s_done_put(self, txn, a->identifier, d[i].id, false, d[i].uri, "", now_ms);
        } else {
            rv = s_queue_put(self, txn, a->identifier, d[i].id, S_KIND_ALERT, d[i].uri, cap_json,
                             true, deadline, by_expiry);
        }
    }
    const char *why = a->msg_type == ANWANG__ALERT_MSG_TYPE__MSGTYPE_CANCEL   ? "cancelled"
                      : a->msg_type == ANWANG__ALERT_MSG_TYPE__MSGTYPE_UPDATE ? "superseded"
                                                                              : NULL;
    for (size_t i = 0; rv == AW_OK && why && i < a->n_references; i++)
        if (strcmp(a->references[i], a->identifier) != 0)
            rv = s_stop(self, txn, a->references[i], why, false, a->sender, now_ms);
    if (rv == AW_OK && targets)
        aw_info("siren: alert %s: %zu sirens/loudspeakers %s", a->identifier, targets,
                expired ? "NOT alerted: expired on arrival" : "queued");
    else if (rv == AW_OK)
        aw_info("siren: alert %s: no siren or loudspeaker with a uri in its area%s", a->identifier,
                self->reg ? "" : " (no registry)");
    self->dirty = true;
    return rv;
}

int aw_siren_enqueue_cancel(aw_siren_t *self, aw_txn_t *txn, const char *id, const char *by,
                            int64_t now_ms)
{
    self->dirty = true;
    return s_stop(self, txn, id, "cancelled", true, by, now_ms);
}

void aw_siren_changed(aw_siren_t *self)
{
    if (self)
        self->dirty = true;
}

/* ------------------------------------------------------------ jobs */

static void s_job_free(s_job *j)
{
    if (!j)
        return;
    free(j->key), free(j->uri), free(j->payload);
    free(j);
}

static s_job *s_job_find(aw_siren_t *self, const char *key, size_t klen)
{
    for (size_t i = 0; i < self->n_jobs; i++)
        if (self->jobs[i]->klen == klen && memcmp(self->jobs[i]->key, key, klen) == 0)
            return self->jobs[i];
    return NULL;
}

static s_job *s_job_by_serial(aw_siren_t *self, uint64_t serial)
{
    for (size_t i = 0; i < self->n_jobs; i++)
        if (self->jobs[i]->session && self->jobs[i]->serial == serial)
            return self->jobs[i];
    return NULL;
}

static int s_job_add(aw_siren_t *self, const s_entry *x, int64_t mono)
{
    if (self->n_jobs == self->cap_jobs) {
        size_t cap = self->cap_jobs ? self->cap_jobs * 2 : 16;
        s_job **v = realloc(self->jobs, cap * sizeof *v);
        if (!v)
            return AW_ENOMEM;
        self->jobs = v, self->cap_jobs = cap;
    }
    s_job *j = calloc(1, sizeof *j);
    if (!j)
        return AW_ENOMEM;
    j->key = malloc(x->klen);
    j->uri = strdup(s_str(x->v, "uri"));
    j->payload = strdup(s_str(x->v, "payload"));
    if (!j->key || !j->uri || !j->payload) {
        s_job_free(j);
        return AW_ENOMEM;
    }
    memcpy(j->key, x->key, x->klen);
    j->klen = x->klen;
    j->id = j->key;
    j->device = j->key + strlen(j->key) + 1;
    j->receipt = json_is_true(json_object_get(x->v, "receipt"));
    j->attempts = (unsigned)json_integer_value(json_object_get(x->v, "attempts"));
    j->deadline_ms = json_integer_value(json_object_get(x->v, "deadline_ms"));
    j->by_expiry = json_is_true(json_object_get(x->v, "by_expiry"));
    j->uncertain = json_is_true(json_object_get(x->v, "uncertain"));
    snprintf(j->last, sizeof j->last, "%s", s_str(x->v, "last"));
    j->due_mono = mono;
    j->seen = true;
    self->jobs[self->n_jobs++] = j;
    return AW_OK;
}

static void s_session_drop(aw_siren_t *self, s_job *j)
{
    if (!j->session)
        return;
    free(coap_session_get_app_data(j->session));
    coap_session_set_app_data(j->session, NULL);
    coap_session_release(j->session);
    j->session = NULL;
    self->in_flight--;
}

static void s_job_remove(aw_siren_t *self, size_t i)
{
    s_session_drop(self, self->jobs[i]);
    s_job_free(self->jobs[i]);
    self->jobs[i] = self->jobs[--self->n_jobs];
}

/* Makes the jobs match the queue table (jobs in flight are kept until answered). */
static int s_reload(aw_siren_t *self)
{
    aw_txn_t *txn = NULL;
    s_entries q = {0};
    int rv = aw_store_begin_read(self->o.store, &txn);
    if (rv == AW_OK)
        rv = s_scan(txn, self->t_queue, NULL, &q);
    aw_txn_abort(&txn);
    if (rv != AW_OK) {
        s_entries_free(&q);
        return rv;
    }
    for (size_t i = 0; i < self->n_jobs; i++)
        self->jobs[i]->seen = false;
    int64_t mono = aw_loop_now_ms();
    for (size_t i = 0; rv == AW_OK && i < q.n; i++) {
        s_job *j = s_job_find(self, q.v[i].key, q.v[i].klen);
        if (j)
            j->seen = true;
        else
            rv = s_job_add(self, &q.v[i], mono);
    }
    s_entries_free(&q);
    for (size_t i = self->n_jobs; i-- > 0;)
        if (!self->jobs[i]->seen && !self->jobs[i]->session)
            s_job_remove(self, i);
    self->stats.queued = self->n_jobs;
    return rv;
}

/* ------------------------------------------------------------ settling */

/* Ends job @p j: removes its queue entry, appends its receipt, records who got it. */
static int s_finish(aw_siren_t *self, s_job *j, bool delivered, const char *detail)
{
    int64_t now = s_wall_ms();
    aw_txn_t *txn = NULL;
    const void *val = NULL;
    size_t vlen = 0;
    int rv = aw_store_begin(self->o.store, &txn);
    if (rv != AW_OK)
        return rv;
    rv = aw_txn_get(txn, self->t_queue, j->key, j->klen, &val, &vlen);
    if (rv == AW_ENOTFOUND) { /* stopped meanwhile (cancel): its receipt is written */
        aw_txn_abort(&txn);
        return AW_OK;
    }
    if (rv == AW_OK)
        rv = aw_txn_del(txn, self->t_queue, j->key, j->klen);
    if (rv == AW_OK && j->receipt)
        rv = s_receipt(self, txn, j->id, j->device, delivered, j->attempts, detail, now);
    if (rv == AW_OK && j->key[j->klen - 1] == S_KIND_ALERT)
        rv = s_done_put(self, txn, j->id, j->device, delivered, j->uri,
                        delivered || j->uncertain ? j->payload : "", now);
    if (rv == AW_OK)
        rv = aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    if (rv != AW_OK) {
        aw_error("siren: %s to %s: outcome not stored (%s): tried again", j->id, j->device,
                 aw_strerror(rv));
        return rv;
    }
    const char *what = j->key[j->klen - 1] == S_KIND_STOP ? "cancel of alert" : "alert";
    if (delivered) {
        self->stats.delivered++;
        aw_info("siren: %s %s delivered to %s after %u attempt(s)", what, j->id, j->device,
                j->attempts);
    } else {
        self->stats.failed++;
        aw_warn("siren: %s %s NOT delivered to %s after %u attempt(s): %s", what, j->id, j->device,
                j->attempts, detail);
    }
    if (j->receipt && self->o.committed)
        self->o.committed(self->o.committed_arg);
    return AW_OK;
}

/* Stores the attempt count and last reason, so a restart goes on counting. */
static int s_note_attempt(aw_siren_t *self, s_job *j)
{
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(self->o.store, &txn);
    if (rv != AW_OK)
        return rv;
    json_t *v = s_get_json(txn, self->t_queue, j->key, j->klen);
    if (!v) {
        aw_txn_abort(&txn);
        return AW_ENOTFOUND;
    }
    json_object_set_new(v, "attempts", json_integer(j->attempts));
    json_object_set_new(v, "last", json_string(j->last));
    json_object_set_new(v, "uncertain", json_boolean(j->uncertain));
    rv = s_put_json(txn, self->t_queue, j->key, j->klen, v);
    json_decref(v);
    if (rv == AW_OK)
        rv = aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    return rv;
}

static int64_t s_backoff(const aw_siren_t *self, unsigned attempts)
{
    int64_t b = self->o.first_backoff_ms;
    for (unsigned i = 1; i < attempts && b < self->o.max_backoff_ms; i++)
        b *= 2;
    return b < self->o.max_backoff_ms ? b : self->o.max_backoff_ms;
}

/* Acts on job @p i's outcome; returns true when the job is gone. */
static bool s_settle(aw_siren_t *self, size_t i)
{
    s_job *j = self->jobs[i];
    s_outcome out = j->outcome;
    if (out == S_NONE)
        return false;
    j->outcome = S_NONE;
    s_session_drop(self, j);
    bool final = out == S_DELIVERED || out == S_PERMANENT || j->attempts >= self->o.max_attempts;
    if (final) {
        if (s_finish(self, j, out == S_DELIVERED, j->last) != AW_OK) {
            j->due_mono = aw_loop_now_ms() + self->o.first_backoff_ms;
            return false;
        }
        s_job_remove(self, i);
        return true;
    }
    int rv = s_note_attempt(self, j);
    if (rv == AW_ENOTFOUND) { /* stopped meanwhile */
        s_job_remove(self, i);
        return true;
    }
    j->due_mono = aw_loop_now_ms() + s_backoff(self, j->attempts);
    aw_info("siren: %s to %s: attempt %u failed (%s), again in %" PRId64 " ms", j->id, j->device,
            j->attempts, j->last, j->due_mono - aw_loop_now_ms());
    return false;
}

static void s_settle_all(aw_siren_t *self)
{
    for (size_t i = self->n_jobs; i-- > 0;)
        s_settle(self, i);
    self->stats.queued = self->n_jobs;
    self->stats.in_flight = self->in_flight;
}

/* ------------------------------------------------------------ CoAP */

/* A session's app data: which POST it carries (libcoap 4.3.1 has no context app data). */
typedef struct s_tag {
    aw_siren_t *self;
    uint64_t serial;
} s_tag;

static s_job *s_job_of(const coap_session_t *session)
{
    s_tag *t = coap_session_get_app_data(session);
    return t ? s_job_by_serial(t->self, t->serial) : NULL;
}

static coap_response_t s_on_response(coap_session_t *session, const coap_pdu_t *sent,
                                     const coap_pdu_t *received, const coap_mid_t mid)
{
    (void)sent, (void)mid;
    s_job *j = s_job_of(session);
    if (!j || j->outcome != S_NONE)
        return COAP_RESPONSE_OK;
    coap_pdu_code_t code = coap_pdu_get_code(received);
    unsigned cls = (unsigned)code >> 5, det = (unsigned)code & 0x1f;
    if (cls == 0) /* an empty ACK: the answer comes separately */
        return COAP_RESPONSE_OK;
    size_t len = 0;
    const uint8_t *data = NULL;
    coap_get_data(received, &len, &data);
    if (cls == 2) {
        j->outcome = S_DELIVERED;
        snprintf(j->last, sizeof j->last, "%u.%02u", cls, det);
        return COAP_RESPONSE_OK;
    }
    snprintf(j->last, sizeof j->last, "%u.%02u%s%.*s", cls, det, len ? " " : "",
             (int)(len < 120 ? len : 120), data ? (const char *)data : "");
    j->outcome = cls == 4 ? S_PERMANENT : S_RETRY;
    return COAP_RESPONSE_OK;
}

static void s_on_nack(coap_session_t *session, const coap_pdu_t *sent,
                      const coap_nack_reason_t reason, const coap_mid_t mid)
{
    (void)sent, (void)mid;
    s_job *j = s_job_of(session);
    if (!j || j->outcome != S_NONE)
        return;
    static const char *const why[] = {"timeout", "not deliverable", "reset by the device",
                                      "DTLS failed", "network error (ICMP)"};
    snprintf(j->last, sizeof j->last, "%s",
             (unsigned)reason < sizeof why / sizeof *why ? why[reason] : "not delivered");
    j->uncertain |= reason == COAP_NACK_TOO_MANY_RETRIES || reason == COAP_NACK_NOT_DELIVERABLE;
    j->outcome = S_RETRY;
}

static void s_release_copy(coap_session_t *session, void *p)
{
    (void)session;
    free(p);
}

/* Destination address of @p u's host and port. */
static int s_resolve(const coap_uri_t *u, coap_address_t *dst, char *why, size_t len)
{
    char host[256], port[8];
    snprintf(host, sizeof host, "%.*s", (int)u->host.length, (const char *)u->host.s);
    snprintf(port, sizeof port, "%u", (unsigned)u->port);
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV}, *res = NULL;
    int e = getaddrinfo(host, port, &hints, &res);
    if (e != 0 || !res || res->ai_addrlen > sizeof dst->addr) {
        snprintf(why, len, "host %s: %s", host, e ? gai_strerror(e) : "no address");
        if (res)
            freeaddrinfo(res);
        return AW_ENOTFOUND;
    }
    coap_address_init(dst);
    dst->size = res->ai_addrlen;
    memcpy(&dst->addr.sa, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return AW_OK;
}

/* Uri-Path options from @p u's path, then Content-Format, then Uri-Query. */
static void s_options(coap_pdu_t *pdu, const coap_uri_t *u)
{
    const uint8_t *p = u->path.s, *end = u->path.s + u->path.length;
    while (p && p < end) {
        const uint8_t *slash = memchr(p, '/', (size_t)(end - p));
        const uint8_t *seg_end = slash ? slash : end;
        if (seg_end > p)
            coap_add_option(pdu, COAP_OPTION_URI_PATH, (size_t)(seg_end - p), p);
        p = seg_end + 1;
    }
    uint8_t buf[4];
    coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
                    coap_encode_var_safe(buf, sizeof buf, S_CF_JSON), buf);
    if (u->query.length)
        coap_add_option(pdu, COAP_OPTION_URI_QUERY, u->query.length, u->query.s);
}

/* One POST of job @p j; on failure the reason is in j->last and the outcome set. */
static void s_send(aw_siren_t *self, s_job *j)
{
    coap_uri_t u;
    coap_address_t dst;
    j->attempts++;
    self->stats.attempts++;
    if (coap_split_uri((const uint8_t *)j->uri, strlen(j->uri), &u) < 0 ||
        u.scheme != COAP_URI_SCHEME_COAP) {
        snprintf(j->last, sizeof j->last, "uri %.120s: only coap:// URIs are supported", j->uri);
        j->outcome = S_PERMANENT;
        return;
    }
    if (s_resolve(&u, &dst, j->last, sizeof j->last) != AW_OK) {
        j->outcome = S_RETRY;
        return;
    }
    coap_session_t *s = coap_new_client_session(self->ctx, NULL, &dst, COAP_PROTO_UDP);
    coap_pdu_t *pdu = s ? coap_new_pdu(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, s) : NULL;
    uint8_t tok[8];
    size_t toklen = 0;
    char *copy = pdu ? strdup(j->payload) : NULL;
    s_tag *tag = copy ? malloc(sizeof *tag) : NULL;
    if (tag) {
        coap_session_new_token(s, &toklen, tok);
        coap_add_token(pdu, toklen, tok);
        s_options(pdu, &u);
    }
    if (!tag || !coap_add_data_large_request(s, pdu, strlen(copy), (const uint8_t *)copy,
                                             s_release_copy, copy)) {
        if (!tag)
            free(copy); /* else libcoap may have called s_release_copy() already */
        free(tag);
        coap_delete_pdu(pdu);
        if (s)
            coap_session_release(s);
        snprintf(j->last, sizeof j->last, "cannot build the request");
        j->outcome = S_RETRY;
        return;
    }
    coap_session_set_max_retransmit(s, 2);
    j->serial = ++self->next_serial;
    *tag = (s_tag){self, j->serial};
    coap_session_set_app_data(s, tag);
    j->session = s;
    j->sent_mono = aw_loop_now_ms();
    self->in_flight++;
    self->sent = true;
    if (coap_send(s, pdu) == COAP_INVALID_MID) {
        snprintf(j->last, sizeof j->last, "send failed");
        j->outcome = S_RETRY;
    }
}

/* ------------------------------------------------------------ the loop */

int aw_siren_fd(const aw_siren_t *self)
{
    return coap_context_get_coap_fd(self->ctx);
}

void aw_siren_process(aw_siren_t *self)
{
    struct pollfd p = {.fd = coap_context_get_coap_fd(self->ctx), .events = POLLIN};
    for (int i = 0; i < 64; i++) {
        coap_io_process(self->ctx, COAP_IO_NO_WAIT);
        if (poll(&p, 1, 0) <= 0)
            break;
    }
    s_settle_all(self);
}

/* A job not in flight: ended by its deadline, or due for a POST. */
static void s_visit(aw_siren_t *self, s_job *j, int64_t wall, int64_t mono)
{
    if (j->outcome != S_NONE)
        return;
    if (wall >= j->deadline_ms) {
        char why[S_REASON_MAX + 40];
        snprintf(why, sizeof why, "%s%s%s", j->by_expiry ? "expired" : "gave up (time limit)",
                 *j->last ? ", last: " : "", j->last);
        snprintf(j->last, sizeof j->last, "%.*s", (int)sizeof j->last - 1, why); /* cut */
        j->uncertain |= j->session != NULL; /* a POST in flight may have arrived */
        j->outcome = S_PERMANENT;
        return;
    }
    if (j->session) {
        if (mono - j->sent_mono >= self->o.attempt_timeout_ms) {
            snprintf(j->last, sizeof j->last, "timeout");
            j->uncertain = true;
            j->outcome = S_RETRY;
        }
        return;
    }
    if (j->attempts >= self->o.max_attempts) {
        j->outcome = S_PERMANENT;
        return;
    }
    if (mono >= j->due_mono && self->in_flight < self->o.max_in_flight)
        s_send(self, j);
}

void aw_siren_tick(aw_siren_t *self)
{
    if (self->dirty) {
        int rv = s_reload(self);
        if (rv != AW_OK)
            aw_error("siren: cannot read the delivery queue: %s", aw_strerror(rv));
        else
            self->dirty = false;
    }
    int64_t wall = s_wall_ms(), mono = aw_loop_now_ms();
    for (size_t i = 0; i < self->n_jobs; i++)
        s_visit(self, self->jobs[i], wall, mono);
    if (self->sent) { /* what s_send() queued */
        self->sent = false;
        coap_io_process(self->ctx, COAP_IO_NO_WAIT);
    }
    s_settle_all(self);
}

/* Collects up to S_PRUNE_BATCH keys of `siren_done` rows older than the cutoff. */
typedef struct s_old {
    int64_t cutoff;
    char *keys[S_PRUNE_BATCH];
    size_t lens[S_PRUNE_BATCH];
    size_t n;
} s_old;

static int s_old_one(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_old *o = arg;
    json_t *v = json_loadb(val, vlen, 0, NULL);
    json_t *t = json_object_get(v, "time_ms");
    bool old = !json_is_integer(t) || json_integer_value(t) < o->cutoff;
    json_decref(v);
    if (old && (o->keys[o->n] = malloc(klen)) != NULL) {
        memcpy(o->keys[o->n], key, klen);
        o->lens[o->n++] = klen;
    }
    return o->n == S_PRUNE_BATCH;
}

int aw_siren_prune(aw_siren_t *self, int64_t now_ms, int64_t keep_ms, size_t *removed)
{
    *removed = 0;
    if (keep_ms <= 0) /* no retention: kept */
        return AW_OK;
    s_old o = {.cutoff = now_ms - keep_ms};
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(self->o.store, &txn);
    if (rv == AW_OK)
        rv = aw_txn_scan(txn, self->t_done, NULL, 0, NULL, 0, s_old_one, &o);
    for (size_t i = 0; rv == AW_OK && i < o.n; i++)
        rv = aw_txn_del(txn, self->t_done, o.keys[i], o.lens[i]);
    if (rv == AW_OK && o.n)
        rv = aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    for (size_t i = 0; i < o.n; i++)
        free(o.keys[i]);
    if (rv == AW_OK)
        *removed = o.n;
    return rv;
}

void aw_siren_set_registry(aw_siren_t *self, const aw_registry_t *reg)
{
    if (self)
        self->reg = reg;
}

void aw_siren_get_stats(const aw_siren_t *self, aw_siren_stats *out)
{
    *out = self->stats;
}

/* ------------------------------------------------------------ lifecycle */

static void s_defaults(aw_siren_opts *o)
{
    if (!o->max_in_flight)
        o->max_in_flight = 16;
    if (!o->max_attempts)
        o->max_attempts = 5;
    if (o->first_backoff_ms <= 0)
        o->first_backoff_ms = 1000;
    if (o->max_backoff_ms <= 0)
        o->max_backoff_ms = 30000;
    if (o->max_time_ms <= 0)
        o->max_time_ms = 10 * 60 * 1000;
    if (o->attempt_timeout_ms <= 0)
        o->attempt_timeout_ms = 15000;
}

int aw_siren_new(const aw_siren_opts *opts, aw_siren_t **out)
{
    *out = NULL;
    if (!opts || !opts->store || !opts->hlc || !opts->edge_id)
        return AW_EINVAL;
    aw_siren_t *self = calloc(1, sizeof *self);
    if (!self)
        return AW_ENOMEM;
    self->o = *opts;
    s_defaults(&self->o);
    self->dirty = true;
    int rv = aw_store_table(opts->store, "siren_queue", &self->t_queue);
    if (rv == AW_OK)
        rv = aw_store_table(opts->store, "siren_done", &self->t_done);
    if (rv == AW_OK) {
        coap_startup();
        if (!(self->ctx = coap_new_context(NULL)))
            rv = AW_EIO;
    }
    if (rv != AW_OK) {
        aw_error("siren: cannot start: %s", aw_strerror(rv));
        aw_siren_destroy(&self);
        return rv;
    }
    coap_context_set_block_mode(self->ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
    coap_register_response_handler(self->ctx, s_on_response);
    coap_register_nack_handler(self->ctx, s_on_nack);
    *out = self;
    return AW_OK;
}

void aw_siren_destroy(aw_siren_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aw_siren_t *self = *self_p;
    while (self->n_jobs)
        s_job_remove(self, self->n_jobs - 1);
    free(self->jobs);
    if (self->ctx)
        coap_free_context(self->ctx);
    free(self);
    *self_p = NULL;
}
