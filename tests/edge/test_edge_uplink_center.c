/* End to end: the real anwang-edge replicating to the real anwang-center
 * (both daemons, CURVE with the center's allow-list), under load, with
 * kill -9 of the edge and of the center mid-stream. Afterwards the center's
 * records of the edge's epoch equal the edge's log byte for byte, and the
 * center counted each record applied once.
 *
 * Loopback 127.0.8.42: edge CoAP and center ZeroMQ, on ports drawn from the pid.
 * Waits use deadlines and polling; only the daemons started here are signalled. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "store.h"
#include "test_center_harness.h"
/* <netinet/tcp.h> (through czmq.h) has its own TH_ACK and TH_RST. */
#undef TH_ACK
#undef TH_RST
#include "edge_harness.h"

#define READY_MS 30000
#define EDGE_ID  "rongjiawan-1"
#define ZONE     "yueyang/rongjiawan"
#define REGISTRY AW_FIXTURES "/registry.json"

static tc_center s_c;
static th_edge s_e;

static void s_fini(void)
{
    if (s_e.pid > 0)
        th_edge_kill(&s_e);
    th_edge_cleanup(&s_e);
    tc_reap_all();
    tc_cleanup(&s_c);
}

static int64_t s_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long long s_status_int(const char *a, const char *b, const char *c)
{
    json_t *st = th_status(&s_e);
    json_t *v = st ? json_object_get(json_object_get(st, a), b) : NULL;
    v = v && c ? json_object_get(v, c) : v;
    long long n = json_is_integer(v) ? json_integer_value(v) : -1;
    json_decref(st);
    return n;
}

static bool s_up(void)
{
    json_t *st = th_status(&s_e);
    const char *state =
        st ? json_string_value(json_object_get(json_object_get(st, "uplink"), "state")) : NULL;
    bool up = state && strcmp(state, "up") == 0;
    json_decref(st);
    return up;
}

static bool s_wait(bool (*cond)(void), int ms)
{
    int64_t end = s_ms() + ms;
    while (s_ms() < end) {
        if (cond())
            return true;
        s_nap(50);
    }
    return cond();
}

static bool s_caught_up(void)
{
    return s_up() && s_status_int("backlog", "urgent", NULL) == 0 &&
           s_status_int("backlog", "bulk", NULL) == 0;
}

/* Waits until the center acked @p more bulk records beyond what it had. */
static void s_wait_progress(long long more)
{
    long long before = s_status_int("lanes", "bulk", "acked");
    int64_t end = s_ms() + 15000;
    while (s_status_int("lanes", "bulk", "acked") < before + more && s_ms() < end)
        s_nap(20);
    cr_assert_geq(s_status_int("lanes", "bulk", "acked"), before + more,
                  "replication under load; see %s and %s", s_e.log, s_c.log);
}

static void s_start_edge(const char *registry)
{
    th_edge_start(&s_e, registry);
    cr_assert(th_edge_ready(&s_e, READY_MS), "see %s", s_e.log);
}

static void s_start_center(void)
{
    size_t mark = tc_log_size(&s_c);
    tc_start(&s_c);
    cr_assert(tc_log_wait_from(&s_c, mark, "serving on", 10000), "see %s", s_c.log);
}

typedef struct s_walk {
    aw_txn_t *txn;
    aw_table_t records;
    uint64_t epoch;
    aw_lane lane;
    uint64_t n, bad;
} s_walk;

static int s_cmp_one(void *arg, uint64_t seq, const void *rec, size_t len)
{
    s_walk *w = arg;
    uint8_t key[AW_CENTER_KEY_MAX];
    size_t klen = aw_center_key_seq(key, EDGE_ID, w->epoch, w->lane, seq);
    const void *val = NULL;
    size_t vlen = 0;
    if (aw_txn_get(w->txn, w->records, key, klen, &val, &vlen) != AW_OK || vlen != len ||
        memcmp(val, rec, len) != 0)
        w->bad++;
    w->n++;
    return 0;
}

/* Both daemons stopped: the center's records equal the edge's log, each applied once. */
static void s_compare(void)
{
    aw_store_opts eo = {.path = s_e.data, .map_size = 256u << 20};
    aw_store_opts co = {
        .path = s_c.data, .map_size = 64u << 20, .map_max = 1u << 30, .max_tables = 64};
    aw_store_t *es = NULL, *cs = NULL;
    aw_center_db_t *db = NULL;
    cr_assert_eq(aw_store_open(&eo, &es), AW_OK);
    cr_assert_eq(aw_store_open(&co, &cs), AW_OK);
    cr_assert_eq(aw_center_db_open(cs, &db), AW_OK);
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin_read(cs, &txn), AW_OK);
    aw_center_edge_row row;
    cr_assert_eq(aw_center_edge_row_get(txn, db, EDGE_ID, &row), AW_OK);
    cr_assert_eq(row.epoch, aw_store_epoch(es), "the center knows the edge's epoch");
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        aw_lane_info info;
        aw_store_lane_info(es, (aw_lane)l, &info);
        s_walk w = {txn, aw_center_db_table(db, AW_CT_RECORDS), row.epoch, (aw_lane)l, 0, 0};
        for (uint64_t from = 1; from <= info.head; from += 5000)
            cr_assert_eq(aw_store_read(es, (aw_lane)l, from, 5000, 0, s_cmp_one, &w), AW_OK);
        cr_assert_eq(w.n, info.head, "nothing pruned at the edge");
        cr_assert_eq(w.bad, 0, "%s: %" PRIu64 " records differ or are missing at the center",
                     aw_lane_name((aw_lane)l), w.bad);
        cr_assert_eq(row.records[l], info.head,
                     "%s: the center applied %" PRIu64 " records for %" PRIu64 " stored",
                     aw_lane_name((aw_lane)l), row.records[l], info.head);
        cr_log_info("%s: %" PRIu64 " records, equal at the center, applied once",
                    aw_lane_name((aw_lane)l), info.head);
    }
    aw_txn_abort(&txn);
    aw_center_db_destroy(&db);
    aw_store_destroy(&cs);
    aw_store_destroy(&es);
}

TestSuite(edge_uplink_center, .fini = s_fini, .timeout = 240);

/* Load through kill -9 of the edge, then of the center; @p n picks the
 * addresses (127.0.8.n) so the cases can run side by side. */
static void s_survive_kill_9(int n, const char *durability)
{
    tc_init(&s_c, n - 41, 7742 + n - 42);
    /* our address; a port drawn from the pid, so parallel build trees do not collide */
    snprintf(s_c.endpoint, sizeof s_c.endpoint, "tcp://127.0.8.%d:%d", n,
             20000 + (int)(getpid() % 20000));
    tc_write_conf(&s_c);
    tc_path cert = tc_edge_cert(&s_c, EDGE_ID, EDGE_ID, ZONE, true);
    s_start_center();

    th_edge_init(&s_e, n);
    s_e.port = 40000 + (int)(getpid() % 20000);
    char extra[768];
    snprintf(extra, sizeof extra,
             "[uplink]\ncenter = %s\ncert = %s_secret\ncenter_key = %s\nheartbeat = 1s\n"
             "dead_after = 3s\nbatch_records = 100\n",
             s_c.endpoint, cert.path, s_c.server_key);
    th_edge_write_conf(&s_e, durability, false, true, extra);
    s_start_edge(REGISTRY);
    cr_assert(s_wait(s_up, 20000), "uplink up; see %s and %s", s_e.log, s_c.log);

    th_load l = {.addr = s_e.addr,
                 .port = s_e.port,
                 .inflight = 8,
                 .device = "huaxin-gas-1",
                 .metric = "temperature",
                 .cap = 1 << 20};
    l.acked = calloc(l.cap / 8, 1);
    pthread_t t;
    pthread_create(&t, NULL, th_load_run, &l);
    s_wait_progress(200);
    th_edge_kill(&s_e);
    s_start_edge(NULL);
    s_wait_progress(200);
    tc_kill(&s_c);
    s_nap(200); /* the edge keeps storing while the center is gone; not a synchronisation */
    s_start_center();
    s_wait_progress(200);
    l.stop = 1;
    pthread_join(t, NULL);
    cr_log_info("load: %llu sent, %llu acked", (unsigned long long)l.n_sent,
                (unsigned long long)l.n_acked);

    cr_assert(s_wait(s_caught_up, 30000), "caught up; see %s and %s", s_e.log, s_c.log);
    cr_assert_eq(th_edge_stop(&s_e, 10000), 0);
    cr_assert_eq(tc_stop(&s_c, 10000), 0);
    s_compare();
    free(l.acked);
}

Test(edge_uplink_center, edge_and_center_daemons_survive_kill_9)
{
    s_survive_kill_9(42, "fsync");
}

/* Interval mode commits without flushing; the uplink sends only what was
 * flushed (uplink durable_only), and the center still equals the log. */
Test(edge_uplink_center, interval_mode_edge_and_center_survive_kill_9)
{
    s_survive_kill_9(43, "interval:50");
}
