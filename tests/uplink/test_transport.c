/* The uplink over its ZeroMQ transport on loopback, against a scripted
 * center: a ROUTER with CURVE that answers Hello and acks batches. */
#include <criterion/criterion.h>
#include <czmq.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "log.h"
#include "store.h"
#include "transport.h"
#include "uplink.h"

static char s_dir[] = "/tmp/aw_test_transport.XXXXXX";

static void s_setup(void)
{
    cr_assert_not_null(mkdtemp(s_dir));
    aw_log_init("test_transport", AW_LOG_ERROR);
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void s_teardown(void)
{
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(transport, .init = s_setup, .fini = s_teardown, .timeout = 60);

static int64_t s_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_no_down(void *arg, const Anwang__Down *down)
{
    (*(int *)arg)++;
    return AW_OK;
}

/* The scripted center: what it saw and what it applied. */
typedef struct s_center {
    zsock_t *router;
    zcert_t *cert;
    char endpoint[64];
    uint64_t applied[AW_LANE_COUNT];
    unsigned hellos, batches, down_acks;
    uint64_t down_acked;
    bool send_down; /* send Down seq 1 after the Welcome */
} s_center;

/* Binds the center's ROUTER at @p endpoint, or at a port the kernel picks
 * (NULL; not CZMQ's "*", which takes the first free port of its range, so
 * parallel test runs would take each other's port on a rebind). */
static void s_center_bind(s_center *c, const char *endpoint)
{
    c->router = zsock_new(ZMQ_ROUTER);
    zsock_set_curve_server(c->router, 1);
    zcert_apply(c->cert, c->router);
    const char *at = endpoint ? endpoint : "tcp://127.0.0.1:*";
    cr_assert_eq(zmq_bind(zsock_resolve(c->router), at), 0, "bind %s", at);
    if (!endpoint) {
        char *last = zsock_last_endpoint(c->router);
        snprintf(c->endpoint, sizeof c->endpoint, "%s", last);
        zstr_free(&last);
    }
}

static void s_center_start(s_center *c)
{
    memset(c, 0, sizeof *c);
    c->cert = zcert_new();
    s_center_bind(c, NULL);
}

static void s_center_stop(s_center *c)
{
    zsock_destroy(&c->router);
    zcert_destroy(&c->cert);
}

static void s_center_send(s_center *c, zframe_t *who, const Anwang__Envelope *env)
{
    uint8_t *buf;
    size_t len;
    cr_assert_eq(aw_codec_envelope_encode(env, &buf, &len, NULL, 0), AW_OK);
    zmsg_t *m = zmsg_new();
    zmsg_append(m, &who);
    zmsg_addmem(m, buf, len);
    free(buf);
    cr_assert_eq(zmsg_send(&m, c->router), 0);
}

static void s_center_welcome(s_center *c, zframe_t *who, uint64_t epoch)
{
    Anwang__LaneSeq ls[2] = {ANWANG__LANE_SEQ__INIT, ANWANG__LANE_SEQ__INIT};
    Anwang__LaneSeq *lp[2] = {&ls[0], &ls[1]};
    Anwang__Welcome w = ANWANG__WELCOME__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    for (int l = 0; l < 2; l++) {
        ls[l].lane = (Anwang__Lane)l;
        ls[l].seq = c->applied[l];
    }
    w.epoch = epoch;
    w.n_applied = 2;
    w.applied = lp;
    w.center_ms = 1;
    w.proto_version = AW_PROTO_VERSION;
    env.msg_case = ANWANG__ENVELOPE__MSG_WELCOME;
    env.welcome = &w;
    s_center_send(c, zframe_dup(who), &env);
    if (!c->send_down)
        return;
    Anwang__AlarmAck aa = ANWANG__ALARM_ACK__INIT;
    Anwang__Down d = ANWANG__DOWN__INIT;
    aa.alarm_id = "alarm-7";
    aa.by = "duty-officer";
    aa.time_ms = 5;
    d.seq = 1;
    d.epoch = epoch;
    d.body_case = ANWANG__DOWN__BODY_ALARM_ACK;
    d.alarm_ack = &aa;
    env.msg_case = ANWANG__ENVELOPE__MSG_DOWN;
    env.down = &d;
    s_center_send(c, zframe_dup(who), &env);
}

/* Applies a batch the way the center does: only the records after applied,
 * none skipped; acks the applied seq. */
static void s_center_batch(s_center *c, zframe_t *who, const Anwang__Batch *b)
{
    uint64_t last = b->first_seq + b->n_records - 1;
    cr_assert_leq(b->first_seq, c->applied[b->lane] + 1, "no hole");
    if (last > c->applied[b->lane])
        c->applied[b->lane] = last;
    c->batches++;
    Anwang__Ack a = ANWANG__ACK__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    a.epoch = b->epoch;
    a.lane = b->lane;
    a.applied_seq = c->applied[b->lane];
    env.msg_case = ANWANG__ENVELOPE__MSG_ACK;
    env.ack = &a;
    s_center_send(c, zframe_dup(who), &env);
}

static void s_center_handle(s_center *c)
{
    zmsg_t *m = zmsg_recv(c->router);
    cr_assert_not_null(m);
    zframe_t *who = zmsg_pop(m), *body = zmsg_pop(m);
    Anwang__Envelope *env = NULL;
    cr_assert_eq(
        aw_codec_envelope_decode(zframe_data(body), zframe_size(body), NULL, &env, NULL, 0), AW_OK);
    switch (env->msg_case) {
    case ANWANG__ENVELOPE__MSG_HELLO:
        cr_assert_str_eq(env->hello->edge_id, "edge-1");
        c->hellos++;
        s_center_welcome(c, who, env->hello->epoch);
        break;
    case ANWANG__ENVELOPE__MSG_BATCH:
        s_center_batch(c, who, env->batch);
        break;
    case ANWANG__ENVELOPE__MSG_DOWN_ACK:
        c->down_acks++;
        c->down_acked = env->down_ack->applied_seq;
        break;
    default:
        break;
    }
    aw_codec_envelope_free(&env);
    zframe_destroy(&who);
    zframe_destroy(&body);
    zmsg_destroy(&m);
}

/* The edge's side: store, transport, uplink. */
typedef struct s_edge {
    aw_store_t *store;
    aw_transport_t *t;
    aw_uplink_t *u;
    int downs;
} s_edge;

static void s_edge_start_with(s_edge *e, const s_center *c, const char *server_key,
                              aw_uplink_opts uo)
{
    char path[256];
    memset(e, 0, sizeof *e);
    aw_store_opts so = {.path = s_dir, .durability = AW_DURABLE_NOSYNC};
    cr_assert_eq(aw_store_open(&so, &e->store), AW_OK);
    zcert_t *cert = zcert_new();
    zcert_set_meta(cert, "edge_id", "edge-1");
    snprintf(path, sizeof path, "%s/edge.cert", s_dir);
    cr_assert_eq(zcert_save(cert, path), 0);
    zcert_destroy(&cert);
    aw_transport_opts to = {.endpoint = c->endpoint, .cert_path = path, .server_key = server_key};
    cr_assert_eq(aw_transport_new(&to, &e->t), AW_OK);
    uo.edge_id = "edge-1";
    uo.send = aw_transport_send;
    uo.send_arg = e->t;
    uo.on_down = s_no_down;
    uo.down_arg = &e->downs;
    uo.backoff_min_ms = 50;
    uo.backoff_max_ms = 200;
    cr_assert_eq(aw_uplink_new(e->store, &uo, &e->u), AW_OK);
}

static void s_edge_start(s_edge *e, const s_center *c, const char *server_key)
{
    s_edge_start_with(e, c, server_key, (aw_uplink_opts){0});
}

static void s_edge_stop(s_edge *e)
{
    aw_uplink_destroy(&e->u);
    aw_transport_destroy(&e->t);
    aw_store_destroy(&e->store);
}

static void s_fill(aw_store_t *store, aw_lane lane, size_t n)
{
    Anwang__Reading r = ANWANG__READING__INIT;
    Anwang__Record rec = ANWANG__RECORD__INIT;
    r.device = "d1";
    r.metric = "ch4";
    r.has_value = true;
    r.value = 0.5;
    r.time_ms = 1000;
    rec.hlc = 7;
    rec.body_case = ANWANG__RECORD__BODY_READING;
    rec.reading = &r;
    uint8_t *buf;
    size_t len;
    cr_assert_eq(aw_codec_record_encode(&rec, &buf, &len, NULL, 0), AW_OK);
    const void **recs = calloc(n, sizeof *recs);
    size_t *lens = calloc(n, sizeof *lens);
    for (size_t i = 0; i < n; i++) {
        recs[i] = buf;
        lens[i] = len;
    }
    uint64_t first;
    cr_assert_eq(aw_store_append(store, lane, recs, lens, n, 7, &first), AW_OK);
    free(recs);
    free(lens);
    free(buf);
}

/* Runs the edge's loop and the center until @p done or @p ms pass. */
static void s_run(s_edge *e, s_center *c, int64_t ms, bool (*done)(s_edge *, s_center *))
{
    int64_t end = s_mono() + ms;
    while (s_mono() < end && !(done && done(e, c))) {
        int64_t now = s_mono();
        int64_t wait = aw_transport_next_ms(e->t, e->u, now);
        zmq_pollitem_t items[2] = {{zsock_resolve(c->router), 0, ZMQ_POLLIN, 0},
                                   {NULL, aw_transport_fd(e->t), ZMQ_POLLIN, 0}};
        cr_assert_geq(zmq_poll(items, 2, wait > 20 ? 20 : wait), 0);
        while (zsock_events(c->router) & ZMQ_POLLIN)
            s_center_handle(c);
        now = s_mono();
        cr_assert_eq(aw_transport_process(e->t, e->u, now), AW_OK);
        aw_uplink_tick(e->u, now);
        cr_assert_eq(aw_transport_process(e->t, e->u, now), AW_OK);
    }
}

static bool s_all_acked(s_edge *e, s_center *c)
{
    aw_uplink_status st;
    cr_assert_eq(aw_uplink_status_get(e->u, s_mono(), &st), AW_OK);
    return st.backlog[AW_LANE_URGENT] == 0 && st.backlog[AW_LANE_BULK] == 0 && c->down_acks > 0;
}

Test(transport, replicates_a_log_over_curve)
{
    s_center c;
    s_edge e;
    s_center_start(&c);
    c.send_down = true;
    s_edge_start(&e, &c, zcert_public_txt(c.cert));
    s_fill(e.store, AW_LANE_URGENT, 3);
    s_fill(e.store, AW_LANE_BULK, 23456);
    s_run(&e, &c, 20000, s_all_acked);
    cr_assert_eq(c.hellos, 1);
    cr_assert_eq(c.applied[AW_LANE_URGENT], 3);
    cr_assert_eq(c.applied[AW_LANE_BULK], 23456);
    cr_assert_eq(c.batches, 1 + 5, "3 urgent in one batch, 23,456 bulk in five");
    cr_assert_eq(e.downs, 1, "the Down was applied once");
    cr_assert_eq(c.down_acked, 1);
    cr_assert_eq(aw_uplink_state_get(e.u), AW_UPLINK_UP);
    /* New records go out when the loop is told. */
    s_fill(e.store, AW_LANE_URGENT, 1);
    cr_assert_eq(aw_uplink_notify_appended(e.u, s_mono()), AW_OK);
    cr_assert_eq(aw_transport_process(e.t, e.u, s_mono()), AW_OK);
    s_run(&e, &c, 5000, s_all_acked);
    cr_assert_eq(c.applied[AW_LANE_URGENT], 4);
    s_edge_stop(&e);
    s_center_stop(&c);
}

static bool s_all_acked_no_down(s_edge *e, s_center *c)
{
    aw_uplink_status st;
    cr_assert_eq(aw_uplink_status_get(e->u, s_mono(), &st), AW_OK);
    return st.backlog[AW_LANE_URGENT] == 0 && st.backlog[AW_LANE_BULK] == 0;
}

Test(transport, resumes_after_the_center_restarts)
{
    s_center c;
    s_edge e;
    s_center_start(&c);
    s_edge_start_with(&e, &c, zcert_public_txt(c.cert),
                      (aw_uplink_opts){.heartbeat_ms = 200, .dead_after_ms = 800});
    s_fill(e.store, AW_LANE_URGENT, 3);
    s_fill(e.store, AW_LANE_BULK, 10000);
    s_run(&e, &c, 10000, s_all_acked_no_down);
    cr_assert_eq(c.applied[AW_LANE_BULK], 10000);
    /* The center goes away (its applied seqs are durable); the edge goes on
     * storing. */
    zsock_destroy(&c.router);
    s_fill(e.store, AW_LANE_BULK, 7000);
    s_fill(e.store, AW_LANE_URGENT, 2);
    aw_uplink_notify_appended(e.u, s_mono());
    int64_t end = s_mono() + 1200;
    while (s_mono() < end) {
        aw_transport_process(e.t, e.u, s_mono());
        aw_uplink_tick(e.u, s_mono());
        zclock_sleep(20);
    }
    cr_assert_neq(aw_uplink_state_get(e.u), AW_UPLINK_UP, "silence noticed");
    /* Back on the same address: ZeroMQ reconnects, the uplink says Hello
     * and sends from the center's applied seqs. */
    s_center_bind(&c, c.endpoint);
    s_run(&e, &c, 15000, s_all_acked_no_down);
    cr_assert_geq(c.hellos, 2);
    cr_assert_eq(c.applied[AW_LANE_URGENT], 5);
    cr_assert_eq(c.applied[AW_LANE_BULK], 17000);
    cr_assert_eq(aw_uplink_state_get(e.u), AW_UPLINK_UP);
    s_edge_stop(&e);
    s_center_stop(&c);
}

static bool s_never(s_edge *e, s_center *c)
{
    return false;
}

Test(transport, a_wrong_server_key_never_connects)
{
    s_center c;
    s_edge e;
    s_center_start(&c);
    zcert_t *other = zcert_new();
    s_edge_start(&e, &c, zcert_public_txt(other));
    s_run(&e, &c, 1000, s_never);
    cr_assert_eq(c.hellos, 0);
    cr_assert_eq(aw_uplink_state_get(e.u), AW_UPLINK_DOWN);
    zcert_destroy(&other);
    s_edge_stop(&e);
    s_center_stop(&c);
}

Test(transport, bad_keys_are_config_errors)
{
    char path[256];
    aw_transport_t *t = NULL;
    zcert_t *cert = zcert_new();
    const char *key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    snprintf(path, sizeof path, "%s/edge.cert", s_dir);
    cr_assert_eq(zcert_save_public(cert, path), 0);
    aw_transport_opts o = {
        .endpoint = "tcp://127.0.0.1:7700", .cert_path = path, .server_key = key};
    cr_assert_eq(aw_transport_new(&o, &t), AW_ECONFIG, "no secret key");
    cr_assert_eq(zcert_save(cert, path), 0);
    o.server_key = "not-a-key";
    cr_assert_eq(aw_transport_new(&o, &t), AW_ECONFIG);
    o.server_key = key;
    o.cert_path = "/nonexistent/edge.cert";
    cr_assert_eq(aw_transport_new(&o, &t), AW_ECONFIG);
    o.cert_path = path;
    cr_assert_eq(aw_transport_new(&o, &t), AW_OK);
    cr_assert_geq(aw_transport_fd(t), 0);
    aw_transport_destroy(&t);
    aw_transport_destroy(&t);
    cr_assert_null(t);
    zcert_destroy(&cert);
}
