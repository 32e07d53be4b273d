#include "edge_uplink.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "czmq_log.h"
#include "edge.h"
#include "hazard_json.h"
#include "log.h"
#include "loop.h"
#include "transport.h"

#define S_APPLIED_PREFIX "down_applied:"
#define S_REASON_MAX     640

struct aw_edge_uplink {
    aw_edge_uplink_opts o;
    aw_czmq_log_t *czmq_log; /* CZMQ's log lines, routed into ours */
    aw_transport_t *t;
    aw_uplink_t *u;
    aw_table_t t_uplink, t_rejected;
    char applied_key[sizeof S_APPLIED_PREFIX + 16];
    uint64_t down_seq; /* seq of the Down being applied */
    uint64_t rejected;
    int tfd;
    bool pending; /* records appended since the last pass */
};

static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ applied seq */

/* Writes the applied seq of the Down being applied into @p txn. */
static int s_put_applied(void *arg, aw_txn_t *txn)
{
    aw_edge_uplink_t *self = arg;
    uint8_t v[8];
    aw_put_be64(v, self->down_seq);
    return aw_txn_put(txn, self->t_uplink, self->applied_key, strlen(self->applied_key), v,
                      sizeof v);
}

static int s_load_applied(aw_edge_uplink_t *self, uint64_t *seq)
{
    aw_txn_t *txn = NULL;
    const void *val = NULL;
    size_t len = 0;
    *seq = 0;
    int rv = aw_store_begin_read(self->o.store, &txn);
    if (rv == AW_OK)
        rv = aw_txn_get(txn, self->t_uplink, self->applied_key, strlen(self->applied_key), &val,
                        &len);
    if (rv == AW_OK && len == 8)
        *seq = aw_get_be64(val);
    else if (rv == AW_OK)
        rv = AW_ECORRUPT;
    aw_txn_abort(&txn);
    return rv == AW_ENOTFOUND ? AW_OK : rv;
}

static int s_count_one(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen, (void)val, (void)vlen;
    (*(uint64_t *)arg)++;
    return 0;
}

static int s_count_rejected(aw_edge_uplink_t *self)
{
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin_read(self->o.store, &txn);
    if (rv == AW_OK)
        rv = aw_txn_scan(txn, self->t_rejected, NULL, 0, NULL, 0, s_count_one, &self->rejected);
    aw_txn_abort(&txn);
    return rv;
}

/* Commits @p txn with the applied seq; aborts it on @p rv != AW_OK. */
static int s_commit_applied(aw_edge_uplink_t *self, aw_txn_t **txn, int rv)
{
    if (rv == AW_OK)
        rv = s_put_applied(self, *txn);
    if (rv == AW_OK) {
        aw_txn_note_hlc(*txn, aw_hlc_last(self->o.hlc));
        return aw_txn_commit(txn);
    }
    aw_txn_abort(txn);
    return rv;
}

static const char *s_kind(const Anwang__Down *down)
{
    switch (down->body_case) {
    case ANWANG__DOWN__BODY_REGISTRY:
        return "registry";
    case ANWANG__DOWN__BODY_HAZARD:
        return "hazard event";
    case ANWANG__DOWN__BODY_ALARM_ACK:
        return "alarm ack";
    case ANWANG__DOWN__BODY_ALERT:
        return "alert";
    case ANWANG__DOWN__BODY_ALERT_CANCEL:
        return "alert cancel";
    default:
        return "unknown";
    }
}

/*
 * A poison Down: logged, recorded in `down_rejected` and counted applied in
 * one transaction, so the channel moves on. Returns AW_OK once recorded.
 */
static int s_reject(aw_edge_uplink_t *self, const Anwang__Down *down, const char *reason)
{
    aw_error("uplink: down %" PRIu64 " (%s) REJECTED, counted applied so the channel moves on: %s",
             down->seq, s_kind(down), reason);
    char when[AW_RFC3339_LEN] = "";
    aw_time_format_rfc3339(s_wall_ms(), when);
    json_t *j = json_pack("{s:I, s:s, s:s, s:s}", "seq", (json_int_t)down->seq, "kind",
                          s_kind(down), "reason", reason, "time", when);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return AW_ENOMEM;
    uint8_t key[8];
    aw_put_be64(key, down->seq);
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(self->o.store, &txn);
    if (rv == AW_OK) {
        rv = aw_txn_put(txn, self->t_rejected, key, sizeof key, text, strlen(text));
        rv = s_commit_applied(self, &txn, rv);
    }
    free(text);
    self->rejected += rv == AW_OK;
    return rv;
}

/* ------------------------------------------------------------ registry */

/* Parses @p json into *reg, reduced to this edge's zone; @p why on failure. */
static int s_registry_parse(aw_edge_uplink_t *self, const char *json, size_t len,
                            aw_registry_t **reg, char *why, size_t why_len)
{
    aw_registry_errors errs = {0};
    int rv = aw_registry_parse(json, len, reg, &errs);
    if (rv == AW_OK && aw_registry_extract_zone(*reg) &&
        strcmp(aw_registry_extract_zone(*reg), self->o.cfg->zone) != 0) {
        snprintf(why, why_len, "registry is the extract of zone %s",
                 aw_registry_extract_zone(*reg));
        aw_registry_destroy(reg);
        return AW_EINVAL;
    }
    if (rv == AW_OK && !aw_registry_extract_zone(*reg)) {
        char *zone_json = NULL;
        rv = aw_registry_zone_json(*reg, self->o.cfg->zone, &zone_json);
        aw_registry_destroy(reg);
        if (rv == AW_ENOMEM)
            return rv;
        if (rv != AW_OK) {
            snprintf(why, why_len, "registry has no zone %s", self->o.cfg->zone);
            return AW_EINVAL;
        }
        rv = aw_registry_parse(zone_json, strlen(zone_json), reg, &errs);
        free(zone_json);
    }
    if (rv != AW_OK && rv != AW_ENOMEM)
        snprintf(why, why_len, "registry does not parse: %s",
                 errs.count ? errs.msgs[0] : aw_strerror(rv));
    aw_registry_errors_clear(&errs);
    return rv == AW_ENOMEM ? rv : rv != AW_OK ? AW_EINVAL : AW_OK;
}

static int s_registry_save(aw_edge_uplink_t *self, const aw_registry_t *reg)
{
    char *json = NULL;
    aw_txn_t *txn = NULL;
    int rv = aw_registry_to_json(reg, &json);
    if (rv == AW_OK)
        rv = aw_store_begin(self->o.store, &txn);
    if (rv != AW_OK) {
        free(json);
        return rv;
    }
    const char *k = self->o.registry_key;
    rv = aw_txn_put(txn, self->o.t_registry, k, strlen(k), json, strlen(json));
    free(json);
    return s_commit_applied(self, &txn, rv);
}

static int s_apply_registry(aw_edge_uplink_t *self, const Anwang__Down *down)
{
    const Anwang__RegistrySnapshot *snap = down->registry;
    char why[S_REASON_MAX];
    if (strcmp(snap->zone, self->o.cfg->zone) != 0) {
        snprintf(why, sizeof why, "registry for zone %s, this edge serves %s", snap->zone,
                 self->o.cfg->zone);
        return s_reject(self, down, why);
    }
    aw_registry_t *reg = NULL;
    int rv = s_registry_parse(self, (const char *)snap->json.data, snap->json.len, &reg, why,
                              sizeof why);
    if (rv == AW_EINVAL)
        return s_reject(self, down, why);
    if (rv == AW_OK && (rv = s_registry_save(self, reg)) != AW_OK)
        aw_registry_destroy(&reg);
    if (rv != AW_OK)
        return rv;
    uint64_t version = aw_registry_version(reg);
    aw_info("uplink: down %" PRIu64 ": registry version %" PRIu64 " from the center stored",
            down->seq, version);
    self->o.h.registry(self->o.h.arg, reg);
    aw_uplink_set_registry_version(self->u, version);
    return AW_OK;
}

/* ------------------------------------------------------------ hazards, acks */

static bool s_in_zone(const char *path, const char *zone)
{
    size_t n = strlen(zone);
    return strncmp(path, zone, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int s_apply_hazard(aw_edge_uplink_t *self, const Anwang__Down *down)
{
    const Anwang__HazardEvent *ev = down->hazard;
    if (ev->site && *ev->site && !s_in_zone(ev->site, self->o.cfg->zone))
        return s_reject(self, down, "hazard event of a site outside this zone");
    uint64_t stamp;
    if (aw_hlc_update(self->o.hlc, ev->hlc, s_wall_ms(), &stamp) != AW_OK)
        aw_warn("uplink: hazard %s: its HLC stamp is far ahead of our clock", ev->hazard_id);
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(self->o.store, &txn);
    if (rv != AW_OK)
        return rv;
    rv = aw_hazards_merge(self->o.hazards, txn, ev);
    if (rv == AW_EINVAL) {
        aw_txn_abort(&txn);
        return s_reject(self, down, "hazard event without hazard id or origin, or ids too long");
    }
    if ((rv = s_commit_applied(self, &txn, rv)) == AW_OK)
        aw_info("uplink: down %" PRIu64 ": hazard %s event from %s merged", down->seq,
                ev->hazard_id, ev->origin);
    return rv;
}

static int s_apply_ack(aw_edge_uplink_t *self, const Anwang__Down *down)
{
    const Anwang__AlarmAck *a = down->alarm_ack;
    if (!*a->alarm_id || strlen(a->alarm_id) >= AW_ALARM_ID_MAX)
        return s_reject(self, down, "alarm ack without a valid alarm id");
    if (!*a->by || strlen(a->by) >= AW_ALARM_BY_MAX)
        return s_reject(self, down, "alarm ack without a valid operator (by)");
    bool found = false;
    int rv = aw_ingest_ack(self->o.ingest, a->alarm_id, a->by, a->time_ms, s_wall_ms(),
                           s_put_applied, self, &found);
    if (rv == AW_EINVAL || rv == AW_ERANGE)
        return s_reject(self, down, "alarm ack refused by the alarm engine");
    if (rv == AW_OK)
        aw_info("uplink: down %" PRIu64 ": alarm %s acknowledged by %s%s", down->seq, a->alarm_id,
                a->by, found ? "" : " (not active here: nothing to do)");
    return rv;
}

/* ------------------------------------------------------------ alerts */

static const char *s_status_name(Anwang__AlertStatus s)
{
    return s == ANWANG__ALERT_STATUS__STATUS_EXERCISE ? "Exercise"
           : s == ANWANG__ALERT_STATUS__STATUS_TEST   ? "Test"
                                                      : "Actual";
}

static const char *s_msgtype_name(Anwang__AlertMsgType t)
{
    return t == ANWANG__ALERT_MSG_TYPE__MSGTYPE_UPDATE   ? "Update"
           : t == ANWANG__ALERT_MSG_TYPE__MSGTYPE_CANCEL ? "Cancel"
                                                         : "Alert";
}

static json_t *s_time(int64_t ms)
{
    char buf[AW_RFC3339_LEN];
    return aw_time_format_rfc3339(ms, buf) == AW_OK ? json_string(buf) : json_null();
}

static json_t *s_strings(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void s_set_opt(json_t *o, const char *key, const char *val)
{
    if (val)
        json_object_set_new(o, key, json_string(val));
}

/* The alert as CAP-named JSON. */
static json_t *s_alert_cap(const Anwang__Alert *a)
{
    json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:o}", "identifier", a->identifier,
                          "sender", a->sender, "sent", s_time(a->sent_ms), "status",
                          s_status_name(a->status), "msgType", s_msgtype_name(a->msg_type), "event",
                          a->event, "area", s_strings(a->area, a->n_area));
    if (!o)
        return NULL;
    s_set_opt(o, "scope", a->scope);
    s_set_opt(o, "urgency", a->urgency);
    s_set_opt(o, "severity", a->severity);
    s_set_opt(o, "certainty", a->certainty);
    s_set_opt(o, "headline", a->headline);
    s_set_opt(o, "instruction", a->instruction);
    s_set_opt(o, "description", a->description);
    s_set_opt(o, "plan", a->plan_id);
    if (a->has_expires_ms)
        json_object_set_new(o, "expires", s_time(a->expires_ms));
    if (a->n_references)
        json_object_set_new(o, "references", s_strings(a->references, a->n_references));
    return o;
}

/* Stored entry: {"state", "state_time", "by", "received", "expires_ms", "alert": {CAP}}. */
static int s_alert_put(aw_edge_uplink_t *self, aw_txn_t *txn, const char *id, json_t *entry)
{
    char *text = json_dumps(entry, JSON_COMPACT);
    if (!text)
        return AW_ENOMEM;
    int rv = aw_txn_put(txn, self->o.t_alerts, id, strlen(id), text, strlen(text));
    free(text);
    return rv;
}

static json_t *s_alert_get(aw_edge_uplink_t *self, aw_txn_t *txn, const char *id)
{
    const void *val = NULL;
    size_t len = 0;
    if (aw_txn_get(txn, self->o.t_alerts, id, strlen(id), &val, &len) != AW_OK)
        return NULL;
    return json_loadb(val, len, 0, NULL);
}

/* Marks alert @p id @p state ("cancelled", "superseded"); a tombstone when absent. */
static int s_alert_mark(aw_edge_uplink_t *self, aw_txn_t *txn, const char *id, const char *state,
                        int64_t time_ms, const char *by)
{
    json_t *e = s_alert_get(self, txn, id);
    if (!e)
        e = json_pack("{s:s}", "identifier", id);
    if (!e)
        return AW_ENOMEM;
    json_object_set_new(e, "state", json_string(state));
    json_object_set_new(e, "state_time", s_time(time_ms));
    if (by)
        json_object_set_new(e, "by", json_string(by));
    int rv = s_alert_put(self, txn, id, e);
    json_decref(e);
    return rv;
}

/* The edge-received receipt of the alert, for the urgent lane. */
static int s_receipt(aw_edge_uplink_t *self, aw_txn_t *txn, const char *id, int64_t now_ms)
{
    Anwang__AlertReceipt r = ANWANG__ALERT_RECEIPT__INIT;
    r.identifier = (char *)id;
    r.edge_id = (char *)self->o.cfg->id;
    r.kind = ANWANG__RECEIPT_KIND__RECEIPT_EDGE_RECEIVED;
    r.time_ms = now_ms;
    Anwang__Record rec = ANWANG__RECORD__INIT;
    rec.hlc = aw_hlc_now(self->o.hlc, now_ms);
    rec.body_case = ANWANG__RECORD__BODY_RECEIPT;
    rec.receipt = &r;
    uint8_t *buf = NULL;
    size_t len = 0;
    uint64_t seq;
    char why[160];
    int rv = aw_codec_record_encode(&rec, &buf, &len, why, sizeof why);
    if (rv == AW_OK)
        rv = aw_txn_append(txn, AW_LANE_URGENT, buf, len, &seq);
    free(buf);
    return rv;
}

/* Stores the alert (unless a cancel came first) and applies its references. */
static int s_alert_store(aw_edge_uplink_t *self, aw_txn_t *txn, const Anwang__Alert *a,
                         int64_t now_ms)
{
    json_t *old = s_alert_get(self, txn, a->identifier);
    const char *old_state = old ? json_string_value(json_object_get(old, "state")) : NULL;
    bool keep = old_state && strcmp(old_state, "active") != 0 && strcmp(old_state, "cancel") != 0;
    const char *state = a->msg_type == ANWANG__ALERT_MSG_TYPE__MSGTYPE_CANCEL ? "cancel" : "active";
    json_t *e = json_pack("{s:s, s:o, s:o, s:o}", "state", keep ? old_state : state, "received",
                          s_time(now_ms), "expires_ms",
                          a->has_expires_ms ? json_integer(a->expires_ms) : json_null(), "alert",
                          s_alert_cap(a));
    json_decref(old);
    int rv = e ? s_alert_put(self, txn, a->identifier, e) : AW_ENOMEM;
    json_decref(e);
    const char *mark = a->msg_type == ANWANG__ALERT_MSG_TYPE__MSGTYPE_CANCEL   ? "cancelled"
                       : a->msg_type == ANWANG__ALERT_MSG_TYPE__MSGTYPE_UPDATE ? "superseded"
                                                                               : NULL;
    for (size_t i = 0; rv == AW_OK && mark && i < a->n_references; i++)
        if (strcmp(a->references[i], a->identifier) != 0)
            rv = s_alert_mark(self, txn, a->references[i], mark, a->sent_ms, a->sender);
    return rv;
}

/* Hands a deliverable alert (stored as active or cancel) to the alert_stored hook. */
static int s_alert_deliver(aw_edge_uplink_t *self, aw_txn_t *txn, const Anwang__Alert *a,
                           int64_t now_ms)
{
    json_t *e = s_alert_get(self, txn, a->identifier);
    const char *state = e ? json_string_value(json_object_get(e, "state")) : NULL;
    bool live = state && (strcmp(state, "active") == 0 || strcmp(state, "cancel") == 0);
    json_decref(e);
    if (!live)
        return AW_OK;
    json_t *cap = s_alert_cap(a);
    char *text = cap ? json_dumps(cap, JSON_COMPACT) : NULL;
    json_decref(cap);
    if (!text)
        return AW_ENOMEM;
    int rv = self->o.h.alert_stored(self->o.h.arg, txn, a, text, now_ms);
    free(text);
    return rv;
}

static bool s_key_ok(const char *id)
{
    return *id && strlen(id) <= 511;
}

static int s_apply_alert(aw_edge_uplink_t *self, const Anwang__Down *down)
{
    const Anwang__Alert *a = down->alert;
    if (!s_key_ok(a->identifier))
        return s_reject(self, down, "alert identifier empty or too long");
    for (size_t i = 0; i < a->n_references; i++)
        if (!s_key_ok(a->references[i]))
            return s_reject(self, down, "alert reference empty or too long");
    int64_t now_ms = s_wall_ms();
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(self->o.store, &txn);
    if (rv != AW_OK)
        return rv;
    rv = s_alert_store(self, txn, a, now_ms);
    if (rv == AW_OK)
        rv = s_receipt(self, txn, a->identifier, now_ms);
    if (rv == AW_OK && self->o.h.alert_stored)
        rv = s_alert_deliver(self, txn, a, now_ms);
    if ((rv = s_commit_applied(self, &txn, rv)) != AW_OK)
        return rv;
    aw_info("uplink: down %" PRIu64 ": alert %s (%s, %s) received: %s", down->seq, a->identifier,
            s_status_name(a->status), s_msgtype_name(a->msg_type), a->event);
    self->o.h.alerts_changed(self->o.h.arg);
    aw_edge_uplink_notify(self);
    return AW_OK;
}

static int s_apply_cancel(aw_edge_uplink_t *self, const Anwang__Down *down)
{
    const Anwang__AlertCancel *c = down->alert_cancel;
    if (!s_key_ok(c->identifier))
        return s_reject(self, down, "alert cancel identifier empty or too long");
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(self->o.store, &txn);
    if (rv != AW_OK)
        return rv;
    rv = s_alert_mark(self, txn, c->identifier, "cancelled", c->time_ms, c->by);
    if (rv == AW_OK && self->o.h.alert_cancelled)
        rv = self->o.h.alert_cancelled(self->o.h.arg, txn, c->identifier, c->by, s_wall_ms());
    if ((rv = s_commit_applied(self, &txn, rv)) != AW_OK)
        return rv;
    aw_info("uplink: down %" PRIu64 ": alert %s cancelled by %s", down->seq, c->identifier,
            c->by ? c->by : "-");
    self->o.h.alerts_changed(self->o.h.arg);
    aw_edge_uplink_notify(self); /* receipts of stopped deliveries */
    return AW_OK;
}

/* The uplink's on_down: applies one Down durably (see the header's table). */
static int s_on_down(void *arg, const Anwang__Down *down)
{
    aw_edge_uplink_t *self = arg;
    self->down_seq = down->seq;
    switch (down->body_case) {
    case ANWANG__DOWN__BODY_REGISTRY:
        return s_apply_registry(self, down);
    case ANWANG__DOWN__BODY_HAZARD:
        return s_apply_hazard(self, down);
    case ANWANG__DOWN__BODY_ALARM_ACK:
        return s_apply_ack(self, down);
    case ANWANG__DOWN__BODY_ALERT:
        return s_apply_alert(self, down);
    case ANWANG__DOWN__BODY_ALERT_CANCEL:
        return s_apply_cancel(self, down);
    default:
        return s_reject(self, down, "a Down body this edge does not know");
    }
}

/* ------------------------------------------------------------ the loop */

/* Arms the timerfd to fire in @p ms (0 = at once). */
static void s_arm(aw_edge_uplink_t *self, int64_t ms)
{
    struct itimerspec its = {0};
    if (ms <= 0)
        its.it_value.tv_nsec = 1;
    else
        its.it_value.tv_sec = ms / 1000, its.it_value.tv_nsec = (ms % 1000) * 1000000;
    if (timerfd_settime(self->tfd, 0, &its, NULL) < 0)
        aw_error("uplink: timerfd: %s", strerror(errno));
}

/* One pass: news, input, timers, output; then the next wake-up. */
static void s_pass(aw_edge_uplink_t *self)
{
    int64_t now = aw_loop_now_ms();
    int rv;
    if (self->pending) {
        self->pending = false;
        if ((rv = aw_uplink_notify_appended(self->u, now)) != AW_OK)
            aw_debug("uplink: sending new records: %s", aw_strerror(rv));
    }
    if ((rv = aw_transport_process(self->t, self->u, now)) != AW_OK)
        aw_error("uplink: transport: %s", aw_strerror(rv));
    if ((rv = aw_uplink_tick(self->u, now)) != AW_OK)
        aw_debug("uplink: tick: %s", aw_strerror(rv));
    if ((rv = aw_transport_process(self->t, self->u, now)) != AW_OK)
        aw_error("uplink: transport: %s", aw_strerror(rv));
    now = aw_loop_now_ms();
    s_arm(self, self->pending ? 0 : aw_transport_next_ms(self->t, self->u, now));
}

static void s_on_zmq(void *arg)
{
    s_pass(arg);
}

static void s_on_timer(void *arg)
{
    aw_edge_uplink_t *self = arg;
    uint64_t n;
    while (read(self->tfd, &n, sizeof n) == (ssize_t)sizeof n)
        ;
    s_pass(self);
}

void aw_edge_uplink_notify(aw_edge_uplink_t *self)
{
    if (!self || self->pending)
        return;
    self->pending = true;
    s_arm(self, 0);
}

/* ------------------------------------------------------------ lifecycle */

/* The transport's certificate path: NAME.cert (CZMQ reads NAME.cert_secret beside it). */
static int s_transport(aw_edge_uplink_t *self)
{
    const aw_edge_config *c = self->o.cfg;
    char key[AW_EDGE_Z85_LEN + 1];
    if (aw_edge_center_key(c->center_key, key) != AW_OK) {
        aw_error("uplink: [uplink] center_key: no usable key in %s", c->center_key);
        return AW_ECONFIG;
    }
    char *cert = strdup(c->cert);
    if (!cert)
        return AW_ENOMEM;
    size_t n = strlen(cert), sl = strlen("_secret");
    if (n > sl && strcmp(cert + n - sl, "_secret") == 0)
        cert[n - sl] = '\0';
    aw_transport_opts to = {
        .endpoint = c->center, .cert_path = cert, .server_key = key, .window = (unsigned)c->window};
    int rv = aw_czmq_log_new(&self->czmq_log);
    if (rv == AW_OK)
        rv = aw_transport_new(&to, &self->t);
    free(cert);
    if (rv != AW_OK)
        aw_error("uplink: cannot start the transport to %s: %s", c->center, aw_strerror(rv));
    return rv;
}

static int s_uplink(aw_edge_uplink_t *self, uint64_t applied)
{
    const aw_edge_config *c = self->o.cfg;
    aw_uplink_opts uo = {
        .edge_id = c->id,
        .zone = c->zone,
        .batch_records = (size_t)c->batch_records,
        .window = (unsigned)c->window,
        .heartbeat_ms = c->heartbeat_ms,
        .dead_after_ms = c->dead_after_ms,
        .rate_limit_bytes_per_s = c->rate_limit,
        .down_applied = applied,
        .registry_version = self->o.registry_version,
        /* interval mode commits without flushing: send what is on disk */
        .durable_only = c->durability.interval > 0,
        .send = aw_transport_send,
        .send_arg = self->t,
        .on_down = s_on_down,
        .down_arg = self,
    };
    int rv = aw_uplink_new(self->o.store, &uo, &self->u);
    if (rv != AW_OK)
        aw_error("uplink: %s", aw_strerror(rv));
    return rv;
}

static int s_setup(aw_edge_uplink_t *self)
{
    uint64_t applied = 0;
    int rv = aw_store_table(self->o.store, "uplink", &self->t_uplink);
    if (rv == AW_OK)
        rv = aw_store_table(self->o.store, "down_rejected", &self->t_rejected);
    if (rv == AW_OK)
        rv = s_load_applied(self, &applied);
    if (rv == AW_OK)
        rv = s_count_rejected(self);
    if (rv != AW_OK) {
        aw_error("uplink: store: %s", aw_strerror(rv));
        return rv;
    }
    self->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (self->tfd < 0) {
        aw_error("uplink: timerfd: %s", strerror(errno));
        return AW_EIO;
    }
    if ((rv = s_transport(self)) == AW_OK)
        rv = s_uplink(self, applied);
    if (rv == AW_OK)
        aw_info("uplink: to %s as %s (zone %s), down channel applied up to %" PRIu64 "%s",
                self->o.cfg->center, self->o.cfg->id, self->o.cfg->zone, applied,
                self->rejected ? " (some rejected: see table down_rejected)" : "");
    return rv;
}

int aw_edge_uplink_new(const aw_edge_uplink_opts *opts, aw_edge_uplink_t **out)
{
    *out = NULL;
    if (!opts || !opts->cfg || !opts->store || !opts->hlc || !opts->ingest || !opts->hazards ||
        !opts->registry_key || !opts->h.registry || !opts->h.alerts_changed)
        return AW_EINVAL;
    aw_edge_uplink_t *self = calloc(1, sizeof *self);
    if (!self)
        return AW_ENOMEM;
    self->o = *opts;
    self->tfd = -1;
    snprintf(self->applied_key, sizeof self->applied_key, S_APPLIED_PREFIX "%016" PRIx64,
             aw_store_epoch(opts->store));
    int rv = s_setup(self);
    if (rv != AW_OK) {
        aw_edge_uplink_destroy(&self);
        return rv;
    }
    *out = self;
    return AW_OK;
}

void aw_edge_uplink_destroy(aw_edge_uplink_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aw_edge_uplink_t *self = *self_p;
    aw_uplink_destroy(&self->u);
    aw_transport_destroy(&self->t);
    aw_czmq_log_destroy(&self->czmq_log);
    if (self->tfd >= 0)
        close(self->tfd);
    free(self);
    *self_p = NULL;
}

static void s_on_czmq_log(void *arg)
{
    aw_edge_uplink_t *self = arg;
    aw_czmq_log_drain(self->czmq_log);
}

int aw_edge_uplink_start(aw_edge_uplink_t *self, aw_edge_t *edge)
{
    int rv = aw_edge_watch(edge, aw_transport_fd(self->t), s_on_zmq, self);
    if (rv == AW_OK)
        rv = aw_edge_watch(edge, aw_czmq_log_fd(self->czmq_log), s_on_czmq_log, self);
    if (rv == AW_OK)
        rv = aw_edge_watch(edge, self->tfd, s_on_timer, self);
    if (rv == AW_OK)
        s_arm(self, 0);
    return rv;
}

void aw_edge_uplink_set_registry_version(aw_edge_uplink_t *self, uint64_t version)
{
    if (self)
        aw_uplink_set_registry_version(self->u, version);
}

int aw_edge_uplink_status(aw_edge_uplink_t *self, aw_uplink_status *out, uint64_t *rejected)
{
    *rejected = self->rejected;
    return aw_uplink_status_get(self->u, aw_loop_now_ms(), out);
}

/* ------------------------------------------------------------ GET /alerts */

typedef struct s_alerts {
    json_t *list;
    int64_t now_ms;
} s_alerts;

static int s_alert_collect(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    s_alerts *a = arg;
    json_t *e = json_loadb(val, vlen, 0, NULL);
    const char *state = json_string_value(json_object_get(e, "state"));
    json_t *exp = json_object_get(e, "expires_ms");
    json_t *cap = json_object_get(e, "alert");
    bool live = state && strcmp(state, "active") == 0 && json_is_object(cap) &&
                (!json_is_integer(exp) || json_integer_value(exp) > a->now_ms);
    if (live) {
        json_object_set(cap, "received", json_object_get(e, "received"));
        json_array_append(a->list, cap);
    }
    json_decref(e);
    return 0;
}

int aw_edge_alerts_json(aw_store_t *store, aw_table_t t_alerts, int64_t now_ms, char **json)
{
    *json = NULL;
    s_alerts a = {.list = json_array(), .now_ms = now_ms};
    aw_txn_t *txn = NULL;
    int rv = a.list ? aw_store_begin_read(store, &txn) : AW_ENOMEM;
    if (rv == AW_OK)
        rv = aw_txn_scan(txn, t_alerts, NULL, 0, NULL, 0, s_alert_collect, &a);
    aw_txn_abort(&txn);
    if (rv == AW_OK && !(*json = json_dumps(a.list, JSON_COMPACT)))
        rv = AW_ENOMEM;
    json_decref(a.list);
    return rv;
}
