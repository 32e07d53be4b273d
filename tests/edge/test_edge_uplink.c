/* anwang-edge replicating to a center (SPEC §5): the real daemon on
 * 127.0.8.40+ with [uplink] pointing at a real in-test center — the
 * center's ROUTER transport with zauth (center/router.h), its sessions and
 * tables (center/db.h), run in a thread of this process on its own store.
 *
 * Checked: Hello with the right edge id and epoch; every record the edge
 * stored reaches the center, each applied exactly once (a hook counts
 * applications per seq); the down channel (registry snapshot, alarm ack,
 * hazard event, alert and cancel, a poison Down) is applied; /status shows
 * the link up and no backlog; kill -9 of the edge mid-stream and restart →
 * the center's records equal the edge's log byte for byte.
 *
 * Waits use deadlines and polling; only the edge started here is signalled. */
#include <criterion/criterion.h>
#include <czmq.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "db.h"
#include "down.h"
#include "router.h"
#include "store.h"
/* <netinet/tcp.h> (through czmq.h) has its own TH_ACK and TH_RST. */
#undef TH_ACK
#undef TH_RST
#include "edge_harness.h"

#define READY_MS 30000
#define EDGE_ID  "rongjiawan-1"
#define ZONE     "yueyang/rongjiawan"
#define REGISTRY AW_FIXTURES "/registry.json"
#define MAX_SEQ  (1u << 20)
/* Addresses are ours (127.0.8.40-41); ports are drawn from the pid, so other build trees
 * running this test at the same time do not collide with us. */
#define CENTER_ADDR "127.0.8.40"

/* ------------------------------------------------------------ in-test center */

typedef struct s_center {
    char dir[128], data[192], allow[192], stage[192], cert[192], edge_cert[192];
    aw_store_t *store;
    aw_center_db_t *db;
    aw_router_t *router;
    pthread_t thread;
    volatile int stop;
    pthread_mutex_t mu;
    /* applications per (lane, seq) for EDGE_ID, counted by the record hook */
    uint16_t *applied[AW_LANE_COUNT];
    uint64_t epoch_seen; /* epoch of the applied records */
    uint64_t foreign;    /* records of another edge or epoch */
    char alarm_id[200];  /* last RAISED alarm */
    char endpoint[64];   /* where the ROUTER listens */
    int acked_events;    /* ACKNOWLEDGED alarm events */
    int receipts;        /* edge-received alert receipts */
} s_center;

static s_center s_c;
static th_edge s_e;

static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void s_on_alarm(s_center *c, const Anwang__AlarmEvent *a)
{
    if (a->kind == ANWANG__ALARM_EVENT_KIND__ALARM_RAISED)
        snprintf(c->alarm_id, sizeof c->alarm_id, "%s", a->alarm_id);
    if (a->kind == ANWANG__ALARM_EVENT_KIND__ALARM_ACKNOWLEDGED)
        c->acked_events++;
}

/* The center's per-record hook: counts every application. */
static int s_hook(void *arg, aw_txn_t *txn, const aw_center_origin *from, const Anwang__Record *rec)
{
    (void)txn;
    s_center *c = arg;
    pthread_mutex_lock(&c->mu);
    if (strcmp(from->edge_id, EDGE_ID) != 0 || from->seq >= MAX_SEQ ||
        (c->epoch_seen && c->epoch_seen != from->epoch)) {
        c->foreign++;
    } else {
        c->epoch_seen = from->epoch;
        c->applied[from->lane][from->seq]++;
        if (rec->body_case == ANWANG__RECORD__BODY_ALARM)
            s_on_alarm(c, rec->alarm);
        if (rec->body_case == ANWANG__RECORD__BODY_RECEIPT &&
            rec->receipt->kind == ANWANG__RECEIPT_KIND__RECEIPT_EDGE_RECEIVED)
            c->receipts++;
    }
    pthread_mutex_unlock(&c->mu);
    return AW_OK;
}

static void *s_center_run(void *arg)
{
    s_center *c = arg;
    int64_t last_tick = 0;
    while (!c->stop) {
        zmq_pollitem_t items[2];
        size_t n = aw_router_pollitems(c->router, items, 2);
        zmq_poll(items, (int)n, 20);
        int64_t now = s_wall_ms();
        aw_router_process(c->router, now);
        if (now - last_tick >= 100) {
            aw_router_tick(c->router, now);
            last_tick = now;
        }
    }
    return NULL;
}

/* Certificates: the center's pair, and the edge's with its id and zone, public part allowed. */
static void s_certs(s_center *c)
{
    zcert_t *cc = zcert_new();
    cr_assert_eq(zcert_save(cc, c->cert), 0);
    zcert_destroy(&cc);
    zcert_t *ec = zcert_new();
    zcert_set_meta(ec, "edge-id", "%s", EDGE_ID);
    zcert_set_meta(ec, "zone", "%s", ZONE);
    cr_assert_eq(zcert_save(ec, c->edge_cert), 0);
    char pub[256];
    snprintf(pub, sizeof pub, "%s/%s.cert", c->allow, EDGE_ID);
    cr_assert_eq(zcert_save_public(ec, pub), 0);
    zcert_destroy(&ec);
}

static void s_center_start(s_center *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    snprintf(c->dir, sizeof c->dir, "/tmp/aw-eup-center-XXXXXX");
    cr_assert(mkdtemp(c->dir));
    snprintf(c->data, sizeof c->data, "%s/data", c->dir);
    snprintf(c->allow, sizeof c->allow, "%s/allow", c->dir);
    snprintf(c->stage, sizeof c->stage, "%s/stage", c->dir);
    snprintf(c->cert, sizeof c->cert, "%s/center.cert", c->dir);
    snprintf(c->edge_cert, sizeof c->edge_cert, "%s/edge.cert", c->dir);
    cr_assert_eq(mkdir(c->allow, 0700), 0);
    cr_assert_eq(mkdir(c->stage, 0700), 0);
    s_certs(c);
    for (int l = 0; l < AW_LANE_COUNT; l++)
        cr_assert(c->applied[l] = calloc(MAX_SEQ, sizeof *c->applied[l]));
    aw_store_opts so = {.path = c->data, .map_size = 256u << 20, .max_tables = 64};
    cr_assert_eq(aw_store_open(&so, &c->store), AW_OK);
    cr_assert_eq(aw_center_db_open(c->store, &c->db), AW_OK);
    aw_center_db_set_record_hook(c->db, s_hook, c);
    aw_router_opts ro = {.db = c->db,
                         .bind = c->endpoint,
                         .cert_path = c->cert,
                         .allow_dir = c->allow,
                         .stage_dir = c->stage,
                         .link_timeout_ms = 10000,
                         .down_resend_ms = 1000};
    int rv = AW_EIO;
    for (int i = 0; i < 20 && rv != AW_OK; i++) {
        snprintf(c->endpoint, sizeof c->endpoint, "tcp://%s:%d", CENTER_ADDR,
                 20000 + (int)((getpid() + i * 7919) % 20000));
        rv = aw_router_new(&ro, &c->router);
    }
    cr_assert_eq(rv, AW_OK, "the in-test center binds a port");
    cr_assert_eq(pthread_create(&c->thread, NULL, s_center_run, c), 0);
}

static void s_center_stop(s_center *c)
{
    if (!c->router)
        return;
    c->stop = 1;
    pthread_join(c->thread, NULL);
    aw_router_destroy(&c->router);
    aw_center_db_destroy(&c->db);
    aw_store_destroy(&c->store);
    for (int l = 0; l < AW_LANE_COUNT; l++)
        free(c->applied[l]);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", c->dir);
}

static void s_fini(void)
{
    if (s_e.pid > 0)
        th_edge_kill(&s_e);
    const char *keep = getenv("AW_TEST_KEEP_LOG"); /* a path to copy the edge's log to */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", s_e.log, keep ? keep : "");
    if (keep && s_e.log[0] && system(cmd) != 0)
        cr_log_warn("could not copy %s", s_e.log);
    th_edge_cleanup(&s_e);
    s_center_stop(&s_c);
}

/* The center's row of the edge. */
static aw_center_edge_row s_row(void)
{
    aw_center_edge_row row;
    aw_txn_t *txn = NULL;
    memset(&row, 0, sizeof row);
    cr_assert_eq(aw_store_begin_read(s_c.store, &txn), AW_OK);
    aw_center_edge_row_get(txn, s_c.db, EDGE_ID, &row);
    aw_txn_abort(&txn);
    return row;
}

/* ------------------------------------------------------------ edge helpers */

static void s_edge_conf(void)
{
    char extra[1024];
    snprintf(extra, sizeof extra,
             "[uplink]\ncenter = %s\ncert = %s_secret\ncenter_key = %s\nheartbeat = 1s\n"
             "dead_after = 4s\nwindow = 4\nbatch_records = 200\nrate_limit = 64M\n",
             s_c.endpoint, s_c.edge_cert, s_c.cert);
    th_edge_write_conf(&s_e, "fsync", false, true, extra);
}

static json_t *s_status_get(const char *a, const char *b)
{
    json_t *st = th_status(&s_e);
    json_t *v = st ? json_object_get(st, a) : NULL;
    v = v && b ? json_object_get(v, b) : v;
    json_incref(v);
    json_decref(st);
    return v;
}

static bool s_uplink_up(void)
{
    json_t *v = s_status_get("uplink", "state");
    bool up = v && strcmp(json_string_value(v), "up") == 0;
    json_decref(v);
    return up;
}

static long long s_status_int(const char *a, const char *b)
{
    json_t *v = s_status_get(a, b);
    long long n = json_is_integer(v) ? json_integer_value(v) : -1;
    json_decref(v);
    return n;
}

/* Polls @p cond until true or @p ms pass. */
static bool s_wait(bool (*cond)(void), int ms)
{
    int64_t end = s_wall_ms() + ms;
    while (s_wall_ms() < end) {
        if (cond())
            return true;
        s_sleep_ms(50);
    }
    return cond();
}

static bool s_caught_up(void)
{
    return s_uplink_up() && s_status_int("backlog", "urgent") == 0 &&
           s_status_int("backlog", "bulk") == 0;
}

/* POSTs one SenML JSON reading; returns the CoAP code. */
static int s_post(const char *device, const char *metric, const char *unit, double v)
{
    char body[256];
    snprintf(body, sizeof body, "[{\"bn\":\"%s/\",\"n\":\"%s\",\"u\":\"%s\",\"v\":%g}]", device,
             metric, unit, v);
    th_resp r;
    if (th_coap(s_e.addr, s_e.port, TH_POST, "readings", 110, body, strlen(body), NULL, 0, &r,
                5000) != 0)
        return -1;
    return r.code;
}

/* ------------------------------------------------------------ comparison */

typedef struct s_walk {
    aw_lane lane;
    uint64_t n, mismatch, first_bad;
    aw_txn_t *ctxn;
    uint64_t epoch;
} s_walk;

/* Each record of the edge's log must be at the center under its seq, byte for byte. */
static int s_cmp_one(void *arg, uint64_t seq, const void *rec, size_t len)
{
    s_walk *w = arg;
    uint8_t key[AW_CENTER_KEY_MAX];
    size_t klen = aw_center_key_seq(key, EDGE_ID, w->epoch, w->lane, seq);
    const void *val = NULL;
    size_t vlen = 0;
    int rv = aw_txn_get(w->ctxn, aw_center_db_table(s_c.db, AW_CT_RECORDS), key, klen, &val, &vlen);
    if (rv != AW_OK || vlen != len || memcmp(val, rec, len) != 0) {
        if (w->mismatch++ == 0)
            w->first_bad = seq;
    }
    w->n++;
    return 0;
}

static int s_count_key(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen, (void)val, (void)vlen;
    (*(uint64_t *)arg)++;
    return 0;
}

/* The center's record count of (EDGE_ID, epoch, lane). */
static uint64_t s_center_count(aw_txn_t *txn, uint64_t epoch, aw_lane lane)
{
    uint8_t prefix[AW_CENTER_KEY_MAX];
    size_t plen = aw_center_key_lane(prefix, EDGE_ID, epoch, lane);
    uint64_t n = 0;
    cr_assert_eq(aw_txn_scan(txn, aw_center_db_table(s_c.db, AW_CT_RECORDS), prefix, plen, NULL, 0,
                             s_count_key, &n),
                 AW_OK);
    return n;
}

/* With the edge stopped: its log equals the center's records, each applied once. */
static void s_compare_logs(void)
{
    aw_store_opts o = {.path = s_e.data, .map_size = 256u << 20};
    aw_store_t *st = NULL;
    cr_assert_eq(aw_store_open(&o, &st), AW_OK);
    uint64_t epoch = aw_store_epoch(st);
    cr_assert_eq(s_c.epoch_seen, epoch, "the center applied records of the edge's epoch");
    cr_assert_eq(s_c.foreign, 0, "no record of another edge or epoch");
    aw_txn_t *ctxn = NULL;
    cr_assert_eq(aw_store_begin_read(s_c.store, &ctxn), AW_OK);
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        aw_lane_info info;
        aw_store_lane_info(st, (aw_lane)l, &info);
        cr_assert_eq(info.first, 1, "nothing pruned");
        s_walk w = {.lane = (aw_lane)l, .ctxn = ctxn, .epoch = epoch};
        for (uint64_t from = 1; from <= info.head; from += 5000)
            cr_assert_eq(aw_store_read(st, (aw_lane)l, from, 5000, 0, s_cmp_one, &w), AW_OK);
        uint64_t at_center = s_center_count(ctxn, epoch, (aw_lane)l);
        cr_assert_eq(w.mismatch, 0,
                     "%s: %" PRIu64 " records differ or are missing (first %" PRIu64 ")",
                     aw_lane_name((aw_lane)l), w.mismatch, w.first_bad);
        cr_assert_eq(at_center, info.head, "%s: center has %" PRIu64 ", edge %" PRIu64,
                     aw_lane_name((aw_lane)l), at_center, info.head);
        pthread_mutex_lock(&s_c.mu);
        uint64_t bad = 0;
        for (uint64_t s = 1; s < MAX_SEQ; s++)
            bad += s <= info.head ? s_c.applied[l][s] != 1 : s_c.applied[l][s] != 0;
        pthread_mutex_unlock(&s_c.mu);
        cr_assert_eq(bad, 0, "%s: %" PRIu64 " seqs not applied exactly once",
                     aw_lane_name((aw_lane)l), bad);
        cr_log_info("%s: %" PRIu64 " records, equal at the center, each applied once",
                    aw_lane_name((aw_lane)l), info.head);
    }
    aw_txn_abort(&ctxn);
    aw_store_destroy(&st);
}

typedef struct s_values {
    uint8_t *bits;
    uint64_t cap;
} s_values;

static int s_value_one(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    s_values *v = arg;
    Anwang__Record *rec = NULL;
    if (aw_codec_record_decode(val, vlen, NULL, &rec, NULL, 0) != AW_OK)
        return 0;
    if (rec->body_case == ANWANG__RECORD__BODY_READING &&
        strcmp(rec->reading->device, "huaxin-gas-1") == 0 && rec->reading->has_value) {
        uint64_t s = (uint64_t)rec->reading->value;
        if (s < v->cap)
            v->bits[s / 8] |= (uint8_t)(1u << (s % 8));
    }
    aw_codec_record_free(&rec);
    return 0;
}

/* Every reading the load got 2.04 for is among the center's records. */
static void s_check_acked(const th_load *l)
{
    s_values v = {calloc(l->cap / 8, 1), l->cap};
    uint8_t prefix[AW_CENTER_KEY_MAX];
    size_t plen = aw_center_key_lane(prefix, EDGE_ID, s_c.epoch_seen, AW_LANE_BULK);
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin_read(s_c.store, &txn), AW_OK);
    cr_assert_eq(aw_txn_scan(txn, aw_center_db_table(s_c.db, AW_CT_RECORDS), prefix, plen, NULL, 0,
                             s_value_one, &v),
                 AW_OK);
    aw_txn_abort(&txn);
    uint64_t missing = 0, acked = 0;
    for (uint64_t i = 1; i < l->next_seq && i < l->cap; i++) {
        bool a = l->acked[i / 8] & (1u << (i % 8));
        acked += a;
        missing += a && !(v.bits[i / 8] & (1u << (i % 8)));
    }
    free(v.bits);
    cr_assert_eq(missing, 0, "%" PRIu64 " acknowledged readings not at the center", missing);
    cr_log_info("%" PRIu64 " acknowledged readings, all at the center", acked);
}

/* ------------------------------------------------------------ downs */

static uint64_t s_enqueue(const Anwang__Down *d)
{
    uint64_t seq = 0;
    cr_assert_eq(aw_center_down_enqueue(s_c.db, EDGE_ID, d, &seq), AW_OK);
    return seq;
}

/* The fixture registry, version @p version, with device "huaxin-new-1" added when @p extra. */
static char *s_registry_json(int version, bool extra)
{
    json_t *r = json_load_file(REGISTRY, 0, NULL);
    cr_assert(r);
    json_object_set_new(r, "version", json_integer(version));
    json_t *site = json_array_get(
        json_object_get(
            json_array_get(
                json_object_get(json_array_get(json_object_get(r, "zones"), 0), "villages"), 0),
            "sites"),
        0);
    cr_assert(site);
    if (extra)
        json_array_append_new(json_object_get(site, "devices"),
                              json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "id", "huaxin-new-1", "kind",
                                        "sensor", "metrics", "name", "temperature", "unit", "Cel"));
    char *text = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return text;
}

static uint64_t s_down_registry(const char *zone, int version)
{
    char *json = s_registry_json(version, true);
    Anwang__RegistrySnapshot snap = ANWANG__REGISTRY_SNAPSHOT__INIT;
    snap.version = (uint64_t)version;
    snap.zone = (char *)zone;
    snap.json.data = (uint8_t *)json;
    snap.json.len = strlen(json);
    Anwang__Down d = ANWANG__DOWN__INIT;
    d.body_case = ANWANG__DOWN__BODY_REGISTRY;
    d.registry = &snap;
    uint64_t seq = s_enqueue(&d);
    free(json);
    return seq;
}

static uint64_t s_down_ack(const char *alarm_id)
{
    Anwang__AlarmAck a = ANWANG__ALARM_ACK__INIT;
    a.alarm_id = (char *)alarm_id;
    a.by = "op-wang";
    a.time_ms = s_wall_ms();
    Anwang__Down d = ANWANG__DOWN__INIT;
    d.body_case = ANWANG__DOWN__BODY_ALARM_ACK;
    d.alarm_ack = &a;
    return s_enqueue(&d);
}

static uint64_t s_down_hazard(void)
{
    Anwang__HazardEvent h = ANWANG__HAZARD_EVENT__INIT;
    h.hazard_id = "hz-center-0001";
    h.hlc = (uint64_t)s_wall_ms() << 16;
    h.origin = "center";
    h.op = ANWANG__HAZARD_OP__HAZARD_REPORT;
    h.by = "op-wang";
    h.site = ZONE "/xinqiang/huaxin-chem";
    h.sector = "hazardous-chemicals";
    h.has_level = true;
    h.level = ANWANG__HAZARD_LEVEL__HAZARD_GENERAL;
    h.title = "blocked fire exit";
    h.has_source = true;
    h.source = ANWANG__HAZARD_SOURCE__SOURCE_INSPECTION;
    h.has_time_ms = true;
    h.time_ms = s_wall_ms();
    Anwang__Down d = ANWANG__DOWN__INIT;
    d.body_case = ANWANG__DOWN__BODY_HAZARD;
    d.hazard = &h;
    return s_enqueue(&d);
}

static uint64_t s_down_alert(void)
{
    char *area[] = {ZONE};
    Anwang__Alert a = ANWANG__ALERT__INIT;
    a.identifier = "alert-drill-1";
    a.sender = "yueyang-center";
    a.sent_ms = s_wall_ms();
    a.status = ANWANG__ALERT_STATUS__STATUS_EXERCISE;
    a.msg_type = ANWANG__ALERT_MSG_TYPE__MSGTYPE_ALERT;
    a.event = "chemical leak drill";
    a.severity = "Severe";
    a.n_area = 1;
    a.area = area;
    Anwang__Down d = ANWANG__DOWN__INIT;
    d.body_case = ANWANG__DOWN__BODY_ALERT;
    d.alert = &a;
    return s_enqueue(&d);
}

static uint64_t s_down_cancel(void)
{
    Anwang__AlertCancel c = ANWANG__ALERT_CANCEL__INIT;
    c.identifier = "alert-drill-1";
    c.by = "op-wang";
    c.time_ms = s_wall_ms();
    Anwang__Down d = ANWANG__DOWN__INIT;
    d.body_case = ANWANG__DOWN__BODY_ALERT_CANCEL;
    d.alert_cancel = &c;
    return s_enqueue(&d);
}

static uint64_t s_want_applied;

static bool s_down_done(void)
{
    return s_status_int("uplink", "down_applied") >= (long long)s_want_applied;
}

static bool s_hello_seen(void)
{
    aw_center_edge_row row = s_row();
    return row.epoch != 0 && row.connected;
}

static bool s_alarm_seen(void)
{
    pthread_mutex_lock(&s_c.mu);
    bool seen = s_c.alarm_id[0] != 0;
    pthread_mutex_unlock(&s_c.mu);
    return seen;
}

static bool s_ack_seen(void)
{
    pthread_mutex_lock(&s_c.mu);
    bool seen = s_c.acked_events > 0;
    pthread_mutex_unlock(&s_c.mu);
    return seen;
}

static bool s_receipt_seen(void)
{
    pthread_mutex_lock(&s_c.mu);
    bool seen = s_c.receipts > 0;
    pthread_mutex_unlock(&s_c.mu);
    return seen;
}

static size_t s_alerts_active(void)
{
    th_resp r;
    cr_assert_eq(th_coap(s_e.addr, s_e.port, TH_GET, "alerts", -1, NULL, 0, NULL, 0, &r, 3000), 0);
    cr_assert_eq(r.code, 205);
    json_t *a = json_loadb((const char *)r.payload, r.len, 0, NULL);
    cr_assert(json_is_array(a));
    size_t n = json_array_size(a);
    if (n)
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "status")),
                         "Exercise");
    json_decref(a);
    return n;
}

/* CPU time (user + system) of process @p pid in clock ticks. */
static long long s_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    long long utime = 0, stime = 0;
    /* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt
     * cmajflt utime stime */
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &utime, &stime) != 2)
        return -1;
    return utime + stime;
}

static void s_start_edge(const char *registry)
{
    th_edge_start(&s_e, registry);
    cr_assert(th_edge_ready(&s_e, READY_MS), "see %s", s_e.log);
}

/* ------------------------------------------------------------ tests */

TestSuite(edge_uplink, .fini = s_fini, .timeout = 240);

Test(edge_uplink, standalone_without_center)
{
    th_edge_init(&s_e, 41);
    s_e.port = 40000 + (int)(getpid() % 20000);
    th_edge_write_conf(&s_e, "fsync", false, true, NULL);
    s_start_edge(REGISTRY);
    json_t *v = s_status_get("uplink", "state");
    cr_assert_str_eq(json_string_value(v), "disabled");
    json_decref(v);
    cr_assert_eq(s_post("huaxin-gas-1", "temperature", "Cel", 21.5), 204);
    cr_assert_eq(s_status_int("backlog", "bulk"), 1, "no uplink: the record stays unacked");
    cr_assert_eq(th_edge_stop(&s_e, 10000), 0);
}

Test(edge_uplink, replicates_applies_downs_and_survives_kill_9)
{
    s_center_start(&s_c);
    /* The county registry at the center: the edge's first Hello (a new epoch) gets the
     * zone's extract in its snapshot, as Down 1. */
    char *county = s_registry_json(3, false);
    cr_assert_eq(aw_center_registry_put(s_c.db, county, strlen(county)), AW_OK);
    free(county);
    th_edge_init(&s_e, 40);
    s_e.port = 40000 + (int)(getpid() % 20000);
    s_edge_conf();
    s_start_edge(REGISTRY);

    /* Hello: the center knows the edge under its certificate's id, with its epoch. */
    cr_assert(s_wait(s_hello_seen, 20000), "no Hello at the center; see %s", s_e.log);
    json_t *ep = s_status_get("epoch", NULL);
    uint64_t epoch = strtoull(json_string_value(ep), NULL, 16);
    json_decref(ep);
    cr_assert_eq(s_row().epoch, epoch, "Hello carried the edge's epoch");
    cr_assert_str_eq(s_row().zone, ZONE);
    cr_assert(s_wait(s_uplink_up, 10000));
    s_want_applied = 1;
    cr_assert(s_wait(s_down_done, 10000), "the snapshot's registry was applied");
    json_t *src = s_status_get("registry", "source");
    cr_assert_str_eq(json_string_value(src), "center");
    json_decref(src);

    /* Readings and a red alarm reach the center. */
    for (int i = 0; i < 20; i++)
        cr_assert_eq(s_post("huaxin-t3", "pressure", "kPa", 100 + i), 204);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(s_post("huaxin-t3", "tank-level", "m", 9.0), 204);
    cr_assert(s_wait(s_alarm_seen, 10000), "the RAISED alarm reached the center");

    /* Down: registry v4 with a new device. Before it, the device is unknown. */
    cr_assert_eq(s_post("huaxin-new-1", "temperature", "Cel", 1), 404);
    s_want_applied = s_down_registry(ZONE, 4);
    cr_assert(s_wait(s_down_done, 10000), "registry Down applied; see %s", s_e.log);
    cr_assert_eq(s_status_int("registry", "version"), 4);
    cr_assert_eq(s_post("huaxin-new-1", "temperature", "Cel", 1), 204,
                 "a device only in the new registry is accepted");

    /* A poison Down (registry of another zone) is rejected, and the channel moves on. */
    s_down_registry("yueyang/elsewhere", 5);
    char alarm_id[200];
    pthread_mutex_lock(&s_c.mu);
    snprintf(alarm_id, sizeof alarm_id, "%s", s_c.alarm_id);
    pthread_mutex_unlock(&s_c.mu);
    s_want_applied = s_down_ack(alarm_id);
    cr_assert(s_wait(s_down_done, 10000), "alarm ack applied after the poison Down");
    cr_assert_eq(s_status_int("uplink", "down_rejected"), 1);
    cr_assert_eq(s_status_int("registry", "version"), 4, "the poison registry changed nothing");
    cr_assert(s_wait(s_ack_seen, 10000), "the ACKNOWLEDGED event came back up");

    /* Hazard event from the center: in the edge's ledger. */
    s_want_applied = s_down_hazard();
    cr_assert(s_wait(s_down_done, 10000));
    th_resp r;
    cr_assert_eq(th_coap(s_e.addr, s_e.port, TH_GET, "hazards/hz-center-0001", -1, NULL, 0, NULL, 0,
                         &r, 3000),
                 0);
    cr_assert_eq(r.code, 205, "the center's hazard is in the edge's ledger");

    /* Alert (a drill) and its cancel: /alerts and the edge-received receipt. */
    s_want_applied = s_down_alert();
    cr_assert(s_wait(s_down_done, 10000));
    cr_assert_eq(s_alerts_active(), 1);
    cr_assert(s_wait(s_receipt_seen, 10000), "edge-received receipt at the center");
    s_want_applied = s_down_cancel();
    cr_assert(s_wait(s_down_done, 10000));
    cr_assert_eq(s_alerts_active(), 0);

    /* Load, kill -9 mid-stream, restart (registry from the store: v4). */
    th_load l = {.addr = s_e.addr,
                 .port = s_e.port,
                 .inflight = 8,
                 .device = "huaxin-gas-1",
                 .metric = "temperature",
                 .cap = 1 << 20};
    l.acked = calloc(l.cap / 8, 1);
    pthread_t t;
    pthread_create(&t, NULL, th_load_run, &l);
    for (int k = 0; k < 3; k++) {
        uint64_t before = s_row().records[AW_LANE_BULK];
        int64_t end = s_wall_ms() + 10000;
        while (s_row().records[AW_LANE_BULK] < before + 200 && s_wall_ms() < end)
            s_sleep_ms(20);
        cr_assert_geq(s_row().records[AW_LANE_BULK], before + 200, "replication under load");
        th_edge_kill(&s_e);
        s_start_edge(NULL);
    }
    s_sleep_ms(300); /* let the load run into the last life; not a synchronisation */
    l.stop = 1;
    pthread_join(t, NULL);
    cr_log_info("load: %llu sent, %llu acked, %llu failed", (unsigned long long)l.n_sent,
                (unsigned long long)l.n_acked, (unsigned long long)l.n_failed);
    cr_assert_gt(l.n_acked, 600);

    cr_assert(s_wait(s_caught_up, 30000), "uplink up with no backlog; see %s", s_e.log);
    cr_assert_eq(s_status_int("registry", "version"), 4, "the center's registry survived");
    cr_assert_eq(s_status_int("uplink", "down_applied"), (long long)s_want_applied);
    /* An idle, connected edge sleeps: the edge-triggered ZMQ_FD does not spin the loop. */
    long long cpu0 = s_cpu_ticks(s_e.pid);
    s_sleep_ms(2000);
    long long cpu = s_cpu_ticks(s_e.pid) - cpu0;
    cr_assert(cpu0 >= 0 && cpu < sysconf(_SC_CLK_TCK) / 5, "idle edge used %lld ticks in 2 s", cpu);
    cr_assert(s_uplink_up(), "heartbeats keep the idle link up");
    json_t *div = s_status_get("uplink", "diverged");
    cr_assert(json_is_false(div));
    json_decref(div);
    cr_assert_eq(th_edge_stop(&s_e, 10000), 0);
    s_compare_logs();
    s_check_acked(&l);
    free(l.acked);
}
