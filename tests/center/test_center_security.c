/* anwang-center security: no one gets in who does not belong, and one
 * cannot speak for another (SPEC §9). The real daemon on 127.0.9.N. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "test_center_harness.h"

static void s_setup(void)
{
    aw_log_init("test_center_security", AW_LOG_ERROR);
}

TestSuite(center_security, .init = s_setup, .fini = tc_reap_all, .timeout = 240);

static bool s_is(const Anwang__Envelope *env, Anwang__Envelope__MsgCase m)
{
    return env && env->msg_case == m;
}

static void s_heartbeat(zsock_t *d)
{
    Anwang__Heartbeat hb = ANWANG__HEARTBEAT__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    hb.wall_ms = 1700000000000;
    env.msg_case = ANWANG__ENVELOPE__MSG_HEARTBEAT;
    env.heartbeat = &hb;
    tc_send_env(d, &env);
}

/* Hello → the first envelope back (NULL when none within @p ms). */
static Anwang__Envelope *s_hello(zsock_t *d, const char *edge_id, int ms)
{
    tc_send_hello(d, edge_id, 0x1234);
    return tc_recv(d, ms);
}

static void s_start(tc_center *c, int n, int port)
{
    tc_init(c, n, port);
}

/* ------------------------------------------------------------ unknown keys */

#define S_ATTEMPTS 1000
#define S_PARALLEL 100

/* One batch of connections with random keys: each must fail CURVE
 * authentication and receive nothing. */
static void s_random_batch(const tc_center *c, int batch)
{
    zsock_t *d[S_PARALLEL], *m[S_PARALLEL];
    bool done[S_PARALLEL] = {0};
    for (int i = 0; i < S_PARALLEL; i++) {
        d[i] = tc_dealer_monitored(c, NULL, true, &m[i]);
        tc_send_hello(d[i], "intruder", 0x99);
    }
    int left = S_PARALLEL;
    int64_t end = tc_mono() + 20000;
    while (left > 0 && tc_mono() < end) {
        for (int i = 0; i < S_PARALLEL; i++) {
            uint32_t value = 0;
            int ev = done[i] ? 0 : tc_event(m[i], 0, &value);
            if (!ev)
                continue;
            cr_assert_eq(ev, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, "attempt %d: event %d", i, ev);
            cr_assert_eq(value, 400, "ZAP said 400");
            done[i] = true, left--;
        }
        if (left > 0)
            zmq_poll(NULL, 0, 5);
    }
    cr_assert_eq(left, 0, "every attempt of batch %d refused in time", batch);
    for (int i = 0; i < S_PARALLEL; i++) {
        cr_assert_null(tc_recv(d[i], 0), "an unknown key gets nothing");
        tc_dealer_close(&d[i], &m[i]);
    }
}

Test(center_security, a_thousand_random_keys_are_refused_while_a_valid_edge_works)
{
    tc_center c;
    tc_edge e;
    char dir[128];
    s_start(&c, 3, 17703);
    tc_path cert_file = tc_edge_cert(&c, "edge-v", "edge-v", NULL, true);
    const char *cert = cert_file.path;
    tc_start(&c);
    cr_assert(tc_log_wait(&c, "serving on", 10000));
    snprintf(dir, sizeof dir, "%s/edge", c.dir);
    tc_edge_start(&e, &c, dir, "edge-v", cert);
    int64_t t0 = tc_mono();
    for (int b = 0; b < S_ATTEMPTS / S_PARALLEL; b++) {
        s_random_batch(&c, b);
        tc_edge_fill(&e, AW_LANE_BULK, 100);
        tc_edge_run(&e, 20, NULL);
    }
    int64_t took = tc_mono() - t0;
    cr_assert(tc_edge_run(&e, 20000, tc_edge_all_acked), "the valid edge is served meanwhile");
    cr_assert(tc_log_wait(&c, "refused", 3000));
    int64_t end = tc_mono() + 5000;
    while (tc_log_sum(&c, "handshake(s): ") < S_ATTEMPTS && tc_mono() < end)
        zmq_poll(NULL, 0, 50);
    cr_assert_eq(tc_log_sum(&c, "handshake(s): "), S_ATTEMPTS, "the center logged each refusal");
    cr_log_info("%d connection attempts with random CURVE keys refused in %" PRId64
                " ms (%d in parallel)",
                S_ATTEMPTS, took, S_PARALLEL);
    cr_assert_eq(WEXITSTATUS(tc_stop(&c, 10000)), 0);
    cr_assert_not(tc_center_knows(&c, "intruder"));
    cr_assert_eq(tc_center_records(&c, "edge-v", aw_store_epoch(e.store), AW_LANE_BULK, e.store),
                 S_ATTEMPTS);
    tc_edge_stop(&e);
    tc_cleanup(&c);
}

/* ------------------------------------------------------------ identity */

Test(center_security, a_valid_key_claiming_another_edge_is_refused)
{
    tc_center c;
    s_start(&c, 4, 17704);
    tc_path path_file = tc_edge_cert(&c, "edge-a", "edge-a", NULL, true);
    const char *path = path_file.path;
    tc_edge_cert(&c, "edge-b", "edge-b", NULL, true);
    tc_start(&c);
    cr_assert(tc_log_wait(&c, "serving on", 10000));
    zcert_t *cert = zcert_load(path);
    zsock_t *d = tc_dealer(&c, cert, false);
    Anwang__Envelope *env = s_hello(d, "edge-b", 5000);
    cr_assert(s_is(env, ANWANG__ENVELOPE__MSG_REFUSE), "edge-a's key cannot speak for edge-b");
    cr_assert_not_null(strstr(env->refuse->reason, "not the certificate's"));
    aw_codec_envelope_free(&env);
    cr_assert(tc_log_wait(&c, "edge edge-a: hello refused: edge id edge-b", 2000));
    /* Nothing was done in edge-b's name; the same key as itself is welcome. */
    env = s_hello(d, "edge-a", 5000);
    cr_assert(s_is(env, ANWANG__ENVELOPE__MSG_WELCOME));
    aw_codec_envelope_free(&env);
    zsock_destroy(&d);
    zcert_destroy(&cert);
    cr_assert_eq(WEXITSTATUS(tc_stop(&c, 10000)), 0);
    cr_assert_not(tc_center_knows(&c, "edge-b"));
    cr_assert(tc_center_knows(&c, "edge-a"));
    tc_cleanup(&c);
}

Test(center_security, a_hello_for_another_zone_than_the_certificates_is_refused)
{
    tc_center c;
    s_start(&c, 8, 17708);
    tc_path path = tc_edge_cert(&c, "edge-z", "edge-z", "yueyang/rongjiawan", true);
    tc_start(&c);
    cr_assert(tc_log_wait(&c, "serving on", 10000));
    zcert_t *cert = zcert_load(path.path);
    zsock_t *d = tc_dealer(&c, cert, false);
    Anwang__Hello h = ANWANG__HELLO__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    h.edge_id = "edge-z";
    h.zone = "yueyang/xinqiang";
    h.epoch = 0x77;
    h.wall_ms = 1700000000000;
    h.proto_version = AW_PROTO_VERSION;
    env.msg_case = ANWANG__ENVELOPE__MSG_HELLO;
    env.hello = &h;
    tc_send_env(d, &env);
    Anwang__Envelope *reply = tc_recv(d, 5000);
    cr_assert(s_is(reply, ANWANG__ENVELOPE__MSG_REFUSE), "the zone is bound to the key too");
    aw_codec_envelope_free(&reply);
    h.zone = "yueyang/rongjiawan";
    tc_send_env(d, &env);
    reply = tc_recv(d, 5000);
    cr_assert(s_is(reply, ANWANG__ENVELOPE__MSG_WELCOME));
    aw_codec_envelope_free(&reply);
    zsock_destroy(&d);
    zcert_destroy(&cert);
    cr_assert_eq(WEXITSTATUS(tc_stop(&c, 10000)), 0);
    tc_cleanup(&c);
}

Test(center_security, a_removed_certificate_is_refused_on_the_next_connect)
{
    tc_center c;
    char pub[256];
    s_start(&c, 5, 17705);
    tc_path path_file = tc_edge_cert(&c, "edge-r", "edge-r", NULL, true);
    const char *path = path_file.path;
    zcert_t *cert = zcert_load(path);
    snprintf(pub, sizeof pub, "%s/edge-r.cert", c.allow);
    tc_start(&c);
    cr_assert(tc_log_wait(&c, "serving on", 10000));
    zsock_t *d = tc_dealer(&c, cert, false);
    Anwang__Envelope *env = s_hello(d, "edge-r", 5000);
    cr_assert(s_is(env, ANWANG__ENVELOPE__MSG_WELCOME));
    aw_codec_envelope_free(&env);

    size_t mark = tc_log_size(&c);
    cr_assert_eq(unlink(pub), 0);
    cr_assert(tc_log_wait_from(&c, mark, "allow-list: 0 edge certificate(s)", 5000),
              "the folder is watched");
    cr_assert(tc_log_wait_from(&c, mark,
                               "edge edge-r: connection closed (its certificate was "
                               "withdrawn)",
                               2000));
    /* The open connection is heard no more... */
    s_heartbeat(d);
    cr_assert_null(tc_recv(d, 1000), "a withdrawn key gets nothing on its old connection");
    cr_assert(tc_log_wait_from(&c, mark, "no longer in the allow-list", 3000));
    zsock_destroy(&d);
    /* ...and a new one fails the handshake. */
    zsock_t *m = NULL;
    d = tc_dealer_monitored(&c, cert, true, &m);
    tc_send_hello(d, "edge-r", 0x1234);
    cr_assert_eq(tc_event(m, 5000, NULL), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    cr_assert_null(tc_recv(d, 200));
    tc_dealer_close(&d, &m);

    /* Put back: admitted again. */
    mark = tc_log_size(&c);
    cr_assert_eq(zcert_save_public(cert, pub), 0);
    cr_assert(tc_log_wait_from(&c, mark, "allow-list: 1 edge certificate(s)", 5000));
    d = tc_dealer(&c, cert, false);
    env = s_hello(d, "edge-r", 5000);
    cr_assert(s_is(env, ANWANG__ENVELOPE__MSG_WELCOME));
    aw_codec_envelope_free(&env);
    zsock_destroy(&d);
    zcert_destroy(&cert);
    cr_assert_eq(WEXITSTATUS(tc_stop(&c, 10000)), 0);
    tc_cleanup(&c);
}

/* A box installed before its certificate reached the center: libzmq 4.3.4
 * ends the session on a refused CURVE handshake and never dials again, so
 * the transport redials by itself (transport.c S_REDIAL_MS). */
Test(center_security, an_edge_refused_before_its_certificate_was_allowed_gets_in_without_restart)
{
    tc_center c;
    tc_edge e;
    char pub[256], dir[192];
    s_start(&c, 7, 17707);
    tc_path cert = tc_edge_cert(&c, "edge-late", "edge-late", NULL, false);
    tc_start(&c);
    cr_assert(tc_log_wait(&c, "serving on", 10000));
    snprintf(dir, sizeof dir, "%s/edge-late", c.dir);
    tc_edge_start(&e, &c, dir, "edge-late", cert.path);
    tc_edge_fill(&e, AW_LANE_BULK, 10);
    cr_assert(tc_log_wait(&c, "unknown CURVE key", 15000), "the unknown key is refused first");
    cr_assert_not(tc_edge_up(&e));

    zcert_t *z = zcert_load(cert.path);
    snprintf(pub, sizeof pub, "%s/edge-late.cert", c.allow);
    cr_assert_eq(zcert_save_public(z, pub), 0);
    zcert_destroy(&z);
    cr_assert(tc_edge_run(&e, 90000, tc_edge_all_acked),
              "admitted once its certificate is allowed, and its records applied");
    tc_edge_stop(&e);
    cr_assert_eq(WEXITSTATUS(tc_stop(&c, 10000)), 0);
    tc_cleanup(&c);
}

/* ------------------------------------------------------------ bad envelopes */

Test(center_security, oversize_and_malformed_envelopes_are_refused_and_the_session_goes_on)
{
    tc_center c;
    s_start(&c, 6, 17706);
    c.extra = "[replication]\nmax_message = 64K\n";
    tc_write_conf(&c);
    tc_path path_file = tc_edge_cert(&c, "edge-o", "edge-o", NULL, true);
    const char *path = path_file.path;
    zcert_t *cert = zcert_load(path);
    tc_start(&c);
    cr_assert(tc_log_wait(&c, "serving on", 10000));
    zsock_t *d = tc_dealer(&c, cert, false);
    Anwang__Envelope *env = s_hello(d, "edge-o", 5000);
    cr_assert(s_is(env, ANWANG__ENVELOPE__MSG_WELCOME));
    aw_codec_envelope_free(&env);

    uint8_t garbage[100];
    memset(garbage, 0xff, sizeof garbage);
    tc_send_raw(d, garbage, sizeof garbage);
    cr_assert(tc_log_wait(&c, "edge edge-o: envelope of 100 bytes refused", 3000));

    size_t big = (64 << 10) + 1000;
    uint8_t *over = calloc(1, big);
    tc_send_raw(d, over, big);
    free(over);
    cr_assert(tc_log_wait(&c, "edge edge-o: envelope of 66536 bytes refused", 3000));

    zmsg_t *two = zmsg_new();
    zmsg_addstr(two, "a");
    zmsg_addstr(two, "b");
    zmsg_send(&two, d);
    cr_assert(tc_log_wait(&c, "edge edge-o: multi-frame message refused", 3000));

    s_heartbeat(d);
    env = tc_recv(d, 3000);
    cr_assert(s_is(env, ANWANG__ENVELOPE__MSG_HEARTBEAT), "the session goes on");
    aw_codec_envelope_free(&env);

    /* Far over the limit: ZeroMQ cuts the connection before buffering it;
     * the edge reconnects and is welcome again. */
    size_t huge = 4 << 20;
    uint8_t *blob = calloc(1, huge);
    tc_send_raw(d, blob, huge);
    free(blob);
    int64_t end = tc_mono() + 10000;
    bool welcomed = false;
    while (!welcomed && tc_mono() < end) {
        env = s_hello(d, "edge-o", 500);
        welcomed = s_is(env, ANWANG__ENVELOPE__MSG_WELCOME);
        aw_codec_envelope_free(&env);
    }
    cr_assert(welcomed, "a new connection after the cut is welcome");
    zsock_destroy(&d);
    zcert_destroy(&cert);
    cr_assert_eq(WEXITSTATUS(tc_stop(&c, 10000)), 0);
    cr_assert(tc_center_knows(&c, "edge-o"));
    tc_cleanup(&c);
}
