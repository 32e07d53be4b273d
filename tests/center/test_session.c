/* Unit tests of center/session (with down and status): scripted message
 * sequences from one edge, replies checked envelope by envelope. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "center_fixture.h"

static fx s_fx;
static fx_out s_out;

static void s_setup(void)
{
    fx_open(&s_fx);
    memset(&s_out, 0, sizeof s_out);
}

static void s_teardown(void)
{
    fx_out_clear(&s_out);
    fx_close(&s_fx);
}

TestSuite(session, .init = s_setup, .fini = s_teardown);

#define EPOCH UINT64_C(0xfeedfacecafebeef)
#define ZONE  "yueyang/rongjiawan"
#define SITE  ZONE "/xinqiang/huaxin-chem"

static const char s_registry[] =
    "{\"county\": \"yueyang\", \"version\": 7, \"zones\": ["
    " {\"path\": \"yueyang/rongjiawan\", \"kind\": \"township\", \"villages\": ["
    "  {\"path\": \"yueyang/rongjiawan/xinqiang\", \"sites\": ["
    "   {\"path\": \"yueyang/rongjiawan/xinqiang/huaxin-chem\", \"sector\": "
    "\"hazardous-chemicals\", \"risk\": \"orange\", \"devices\": ["
    "    {\"id\": \"huaxin-t3\", \"kind\": \"sensor\", \"metrics\": [{\"name\": \"tank-level\", "
    "\"unit\": \"m\"}]}]}]}]},"
    " {\"path\": \"yueyang/xinqiang\", \"kind\": \"township\", \"villages\": ["
    "  {\"path\": \"yueyang/xinqiang/v1\", \"sites\": ["
    "   {\"path\": \"yueyang/xinqiang/v1/mine\", \"sector\": \"non-coal-mine\", \"risk\": "
    "\"red\", \"devices\": []}]}]}]}";

static Anwang__Envelope *s_at(size_t i)
{
    cr_assert_lt(i, s_out.n, "only %zu envelopes sent", s_out.n);
    return s_out.env[i];
}

static Anwang__Ack *s_ack_at(size_t i)
{
    Anwang__Envelope *e = s_at(i);
    cr_assert_eq(e->msg_case, ANWANG__ENVELOPE__MSG_ACK, "envelope %zu is not an ack", i);
    return e->ack;
}

static uint64_t s_welcome_applied(const Anwang__Welcome *w, aw_lane lane)
{
    for (size_t i = 0; i < w->n_applied; i++)
        if ((aw_lane)w->applied[i]->lane == lane)
            return w->applied[i]->seq;
    cr_assert_fail("lane missing in welcome");
    return 0;
}

static int s_batch_readings(aw_center_session_t *s, uint64_t epoch, uint64_t first, size_t n,
                            int64_t now)
{
    Anwang__Batch b;
    fx_batch_readings(&b, epoch, AW_LANE_BULK, first, n);
    int rv = fx_feed_batch(s, &b, now);
    fx_batch_free(&b);
    return rv;
}

/* The usage example: Hello → Welcome, Batch → Ack, Heartbeat → Heartbeat. */
Test(session, usage_example)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", ZONE, &s_out);
    cr_assert_eq(aw_center_session_state(s), AW_SESSION_DOWN);

    cr_assert_eq(fx_hello(s, "e1", EPOCH, 0, 10, ZONE, FX_T0 + 1500, FX_T0), AW_OK);
    cr_assert_eq(aw_center_session_state(s), AW_SESSION_UP);
    Anwang__Envelope *w = s_at(0);
    cr_assert_eq(w->msg_case, ANWANG__ENVELOPE__MSG_WELCOME);
    cr_assert_eq(w->welcome->epoch, EPOCH);
    cr_assert_eq(w->welcome->center_ms, FX_T0);
    cr_assert_eq(w->welcome->proto_version, AW_PROTO_VERSION);
    cr_assert_eq(s_welcome_applied(w->welcome, AW_LANE_BULK), 0);

    cr_assert_eq(s_batch_readings(s, EPOCH, 1, 10, FX_T0 + 10), AW_OK);
    Anwang__Ack *ack = s_ack_at(1);
    cr_assert_eq(ack->epoch, EPOCH);
    cr_assert_eq(ack->lane, ANWANG__LANE__LANE_BULK);
    cr_assert_eq(ack->applied_seq, 10);

    cr_assert_eq(fx_heartbeat(s, FX_T0 + 2000, FX_T0 + 20), AW_OK);
    cr_assert_eq(s_at(2)->msg_case, ANWANG__ENVELOPE__MSG_HEARTBEAT);
    cr_assert_eq(s_at(2)->heartbeat->wall_ms, FX_T0 + 20);

    aw_edge_status st;
    cr_assert_eq(aw_center_edge_status(s_fx.db, "e1", &st), AW_OK);
    cr_assert(st.connected);
    cr_assert_eq(st.epoch, EPOCH);
    cr_assert_eq(st.applied[AW_LANE_BULK], 10);
    cr_assert_eq(st.backlog[AW_LANE_BULK], 0);
    cr_assert_eq(st.skew_ms, 1980);
    cr_assert_eq(st.last_contact_ms, FX_T0 + 20);
    cr_assert_str_eq(st.zone, ZONE);
    aw_center_session_destroy(&s);
    aw_center_session_destroy(&s);
}

Test(session, welcome_resumes_from_applied)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", NULL, &s_out);
    fx_hello(s, "e1", EPOCH, 0, 0, NULL, FX_T0, FX_T0);
    s_batch_readings(s, EPOCH, 1, 7, FX_T0);
    aw_center_session_destroy(&s);
    fx_reopen(&s_fx); /* a center restart */
    fx_out_clear(&s_out);
    s = fx_session(&s_fx, "e1", NULL, &s_out);
    fx_hello(s, "e1", EPOCH, 0, 7, NULL, FX_T0, FX_T0 + 100);
    cr_assert_eq(s_welcome_applied(s_at(0)->welcome, AW_LANE_BULK), 7);
    cr_assert_eq(s_welcome_applied(s_at(0)->welcome, AW_LANE_URGENT), 0);
    aw_center_session_destroy(&s);
}

Test(session, duplicate_overlap_and_hole_acks)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", NULL, &s_out);
    fx_hello(s, "e1", EPOCH, 0, 30, NULL, FX_T0, FX_T0);
    s_batch_readings(s, EPOCH, 1, 10, FX_T0);
    s_batch_readings(s, EPOCH, 1, 10, FX_T0); /* duplicate */
    s_batch_readings(s, EPOCH, 6, 10, FX_T0); /* overlap */
    s_batch_readings(s, EPOCH, 20, 5, FX_T0); /* hole */
    cr_assert_eq(s_ack_at(1)->applied_seq, 10);
    cr_assert_eq(s_ack_at(2)->applied_seq, 10);
    cr_assert_eq(s_ack_at(3)->applied_seq, 15);
    cr_assert_eq(s_ack_at(4)->applied_seq, 15, "a refused hole acks where to resume");
    uint64_t seqs[64];
    size_t n = fx_seqs(&s_fx, AW_CT_RECORDS, "e1", EPOCH, AW_LANE_BULK, seqs, 64);
    cr_assert_eq(n, 15);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(seqs[i], i + 1);
    aw_edge_status st;
    aw_center_edge_status(s_fx.db, "e1", &st);
    cr_assert_eq(st.head[AW_LANE_BULK], 30);
    cr_assert_eq(st.backlog[AW_LANE_BULK], 15);
    aw_center_session_destroy(&s);
}

Test(session, wrong_edge_id_refused)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", NULL, &s_out);
    cr_assert_eq(fx_hello(s, "e2", EPOCH, 0, 0, NULL, FX_T0, FX_T0), AW_EPERM);
    cr_assert_eq(s_at(0)->msg_case, ANWANG__ENVELOPE__MSG_REFUSE);
    cr_assert_not_null(strstr(s_at(0)->refuse->reason, "e2"));
    cr_assert_eq(aw_center_session_state(s), AW_SESSION_DOWN);
    cr_assert_eq(aw_center_edge_status(s_fx.db, "e2", &(aw_edge_status){0}), AW_ENOTFOUND);
    /* and it cannot send batches as anyone */
    cr_assert_eq(s_batch_readings(s, EPOCH, 1, 1, FX_T0), AW_ESTATE);
    cr_assert_eq(fx_count(&s_fx, AW_CT_RECORDS), 0);
    aw_center_session_destroy(&s);
}

Test(session, a_valid_session_refused_by_a_later_wrong_hello)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", NULL, &s_out);
    fx_hello(s, "e1", EPOCH, 0, 0, NULL, FX_T0, FX_T0);
    cr_assert_eq(fx_hello(s, "e3", EPOCH, 0, 0, NULL, FX_T0, FX_T0), AW_EPERM);
    cr_assert_eq(aw_center_session_state(s), AW_SESSION_DOWN);
    aw_center_session_destroy(&s);
}

Test(session, wrong_zone_or_version_refused)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", ZONE, &s_out);
    cr_assert_eq(fx_hello(s, "e1", EPOCH, 0, 0, "yueyang/xinqiang", FX_T0, FX_T0), AW_EPERM);
    cr_assert_eq(s_at(0)->msg_case, ANWANG__ENVELOPE__MSG_REFUSE);

    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    Anwang__Hello h = ANWANG__HELLO__INIT;
    h.edge_id = "e1";
    h.epoch = EPOCH;
    h.wall_ms = FX_T0;
    h.proto_version = AW_PROTO_VERSION + 1;
    env.msg_case = ANWANG__ENVELOPE__MSG_HELLO;
    env.hello = &h;
    cr_assert_eq(fx_feed(s, &env, FX_T0), AW_EPROTO);
    cr_assert_eq(s_at(1)->msg_case, ANWANG__ENVELOPE__MSG_REFUSE);
    cr_assert_eq(aw_center_session_state(s), AW_SESSION_DOWN);
    cr_assert_eq(fx_hello(s, "e1", 0, 0, 0, NULL, FX_T0, FX_T0), AW_EPROTO, "epoch 0");
    cr_assert_eq(s_at(2)->msg_case, ANWANG__ENVELOPE__MSG_REFUSE);
    cr_assert_eq(fx_count(&s_fx, AW_CT_EDGES), 0, "nothing recorded for refused hellos");
    aw_center_session_destroy(&s);
}

Test(session, batch_before_hello_refused)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", NULL, &s_out);
    cr_assert_eq(s_batch_readings(s, EPOCH, 1, 3, FX_T0), AW_ESTATE);
    cr_assert_eq(s_at(0)->msg_case, ANWANG__ENVELOPE__MSG_REFUSE);
    cr_assert_eq(fx_heartbeat(s, FX_T0, FX_T0), AW_ESTATE);
    cr_assert_eq(fx_down_ack(s, EPOCH, 1, FX_T0), AW_ESTATE);
    cr_assert_eq(fx_count(&s_fx, AW_CT_RECORDS), 0);
    cr_assert_eq(fx_count(&s_fx, AW_CT_APPLIED), 0);
    aw_center_session_destroy(&s);
}

Test(session, stale_epoch_batch_ignored)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", NULL, &s_out);
    fx_hello(s, "e1", EPOCH, 0, 0, NULL, FX_T0, FX_T0);
    cr_assert_eq(s_batch_readings(s, EPOCH - 1, 1, 3, FX_T0), AW_EPROTO);
    cr_assert_eq(s_out.n, 1, "no reply to a stale-epoch batch");
    cr_assert_eq(fx_count(&s_fx, AW_CT_RECORDS), 0);
    cr_assert_eq(fx_down_ack(s, EPOCH - 1, 1, FX_T0), AW_EPROTO);
    /* the session goes on */
    cr_assert_eq(s_batch_readings(s, EPOCH, 1, 3, FX_T0), AW_OK);
    cr_assert_eq(s_ack_at(1)->applied_seq, 3);
    aw_center_session_destroy(&s);
}

Test(session, unexpected_messages_ignored)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", NULL, &s_out);
    fx_hello(s, "e1", EPOCH, 0, 0, NULL, FX_T0, FX_T0);
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    Anwang__Ack ack = ANWANG__ACK__INIT;
    ack.epoch = EPOCH;
    ack.applied_seq = 5;
    env.msg_case = ANWANG__ENVELOPE__MSG_ACK;
    env.ack = &ack;
    cr_assert_eq(fx_feed(s, &env, FX_T0), AW_EPROTO);
    cr_assert_eq(aw_center_session_state(s), AW_SESSION_UP);
    Anwang__Refuse r = ANWANG__REFUSE__INIT;
    r.reason = "bye";
    env.msg_case = ANWANG__ENVELOPE__MSG_REFUSE;
    env.refuse = &r;
    cr_assert_eq(fx_feed(s, &env, FX_T0), AW_EPROTO);
    cr_assert_eq(aw_center_session_state(s), AW_SESSION_DOWN);
    cr_assert_eq(s_out.n, 1);
    aw_center_session_destroy(&s);
}

Test(session, malformed_record_does_not_wedge_the_lane)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", NULL, &s_out);
    fx_hello(s, "e1", EPOCH, 0, 0, NULL, FX_T0, FX_T0);
    ProtobufCBinaryData recs[2] = {fx_garbage(), fx_reading("d1", "ch4", 1, FX_T0, 1)};
    Anwang__Batch b;
    fx_batch(&b, EPOCH, AW_LANE_BULK, 1, recs, 2);
    cr_assert_eq(fx_feed_batch(s, &b, FX_T0), AW_OK);
    cr_assert_eq(s_ack_at(1)->applied_seq, 2);
    fx_batch_free(&b);
    aw_center_session_destroy(&s);
}

/* Puts the registry, an open and a closed hazard in the zone, one open
 * hazard elsewhere, and alerts: active here, expired, cancelled, elsewhere. */
static void s_county_state(void)
{
    cr_assert_eq(aw_center_registry_put(s_fx.db, s_registry, strlen(s_registry)), AW_OK);
    aw_center_session_t *o = fx_session(&s_fx, "e0", NULL, &s_out);
    fx_hello(o, "e0", 1, 0, 0, NULL, FX_T0, FX_T0);
    ProtobufCBinaryData recs[8] = {
        fx_hazard("e0-open", 1 << 16, "e0", ANWANG__HAZARD_OP__HAZARD_REPORT, SITE, "leak"),
        fx_hazard("e0-open", 2 << 16, "e0", ANWANG__HAZARD_OP__HAZARD_NOTE, NULL, "seen"),
        fx_hazard("e0-shut", 3 << 16, "e0", ANWANG__HAZARD_OP__HAZARD_REPORT, SITE, "old"),
        fx_hazard("e0-shut", 4 << 16, "e0", ANWANG__HAZARD_OP__HAZARD_ASSIGN, NULL, NULL),
        fx_hazard("e0-shut", 5 << 16, "e0", ANWANG__HAZARD_OP__HAZARD_START, NULL, NULL),
        fx_hazard("e0-shut", 6 << 16, "e0", ANWANG__HAZARD_OP__HAZARD_RECTIFIED, NULL, NULL),
        fx_hazard("e0-shut", 7 << 16, "e0", ANWANG__HAZARD_OP__HAZARD_VERIFY, NULL, NULL),
        fx_hazard("e0-far", 8 << 16, "e0", ANWANG__HAZARD_OP__HAZARD_REPORT,
                  "yueyang/xinqiang/v1/mine", "far"),
    };
    Anwang__Batch b;
    fx_batch(&b, 1, AW_LANE_URGENT, 1, recs, 8);
    cr_assert_eq(fx_feed_batch(o, &b, FX_T0), AW_OK);
    fx_batch_free(&b);
    aw_center_session_destroy(&o);

    const char *ids[4] = {"a-here", "a-expired", "a-cancel", "a-far"};
    char *here[1] = {"yueyang"}, *far[1] = {"yueyang/xinqiang"};
    for (int i = 0; i < 4; i++) {
        Anwang__Alert a = ANWANG__ALERT__INIT;
        a.identifier = (char *)ids[i];
        a.sender = "center";
        a.sent_ms = FX_T0;
        a.status = ANWANG__ALERT_STATUS__STATUS_EXERCISE;
        a.msg_type =
            i == 2 ? ANWANG__ALERT_MSG_TYPE__MSGTYPE_CANCEL : ANWANG__ALERT_MSG_TYPE__MSGTYPE_ALERT;
        a.event = "drill";
        a.area = i == 3 ? far : here;
        a.n_area = 1;
        a.has_expires_ms = i == 1;
        a.expires_ms = FX_T0 - 1;
        cr_assert_eq(aw_center_alert_put(s_fx.db, &a), AW_OK);
    }
    fx_out_clear(&s_out);
}

Test(session, new_epoch_starts_at_zero_and_gets_a_snapshot)
{
    s_county_state();
    aw_center_session_t *s = fx_session(&s_fx, "e1", ZONE, &s_out);
    fx_hello(s, "e1", EPOCH, 0, 0, ZONE, FX_T0, FX_T0);
    s_batch_readings(s, EPOCH, 1, 5, FX_T0);
    fx_out_clear(&s_out);

    /* the edge store was wiped: a new epoch */
    cr_assert_eq(fx_hello(s, "e1", EPOCH + 1, 0, 0, NULL, FX_T0, FX_T0 + 10), AW_OK);
    Anwang__Welcome *w = s_at(0)->welcome;
    cr_assert_eq(w->epoch, EPOCH + 1);
    cr_assert_eq(s_welcome_applied(w, AW_LANE_BULK), 0);
    cr_assert_eq(fx_applied(&s_fx, "e1", EPOCH, AW_LANE_BULK), 5, "old data kept");

    /* window 4: registry, the open hazard's two events, the active alert */
    cr_assert_eq(s_out.n, 5);
    const Anwang__Down *d = s_at(1)->down;
    cr_assert_eq(d->seq, 1);
    cr_assert_eq(d->epoch, EPOCH + 1);
    cr_assert_eq(d->body_case, ANWANG__DOWN__BODY_REGISTRY);
    cr_assert_str_eq(d->registry->zone, ZONE);
    cr_assert_eq(d->registry->version, 7);
    cr_assert_not_null(memmem(d->registry->json.data, d->registry->json.len, SITE, strlen(SITE)));
    cr_assert_null(memmem(d->registry->json.data, d->registry->json.len, "yueyang/xinqiang/v1",
                          strlen("yueyang/xinqiang/v1")),
                   "another zone's registry is not sent");
    cr_assert_eq(s_at(2)->down->body_case, ANWANG__DOWN__BODY_HAZARD);
    cr_assert_str_eq(s_at(2)->down->hazard->hazard_id, "e0-open");
    cr_assert_eq(s_at(3)->down->body_case, ANWANG__DOWN__BODY_HAZARD);
    cr_assert_eq(s_at(3)->down->hazard->op, ANWANG__HAZARD_OP__HAZARD_NOTE);
    cr_assert_eq(s_at(4)->down->body_case, ANWANG__DOWN__BODY_ALERT);
    cr_assert_str_eq(s_at(4)->down->alert->identifier, "a-here");

    aw_edge_status st;
    aw_center_edge_status(s_fx.db, "e1", &st);
    cr_assert_eq(st.down_pending, 4);
    cr_assert_eq(st.epoch, EPOCH + 1);
    cr_assert_eq(st.records[AW_LANE_BULK], 5);
    aw_center_session_destroy(&s);
}

Test(session, down_queue_persisted_across_reopen_and_acked)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", NULL, &s_out);
    Anwang__Down d = ANWANG__DOWN__INIT;
    Anwang__AlarmAck aa = ANWANG__ALARM_ACK__INIT;
    aa.alarm_id = "e1-a1";
    aa.by = "op1";
    aa.time_ms = FX_T0;
    d.body_case = ANWANG__DOWN__BODY_ALARM_ACK;
    d.alarm_ack = &aa;
    cr_assert_eq(aw_center_down_enqueue(s_fx.db, "e1", &d, NULL), AW_ENOTFOUND,
                 "an edge never seen gets a snapshot instead");
    fx_hello(s, "e1", EPOCH, 0, 0, NULL, FX_T0, FX_T0);
    uint64_t seq = 0;
    for (int i = 0; i < 6; i++)
        cr_assert_eq(aw_center_down_enqueue(s_fx.db, "e1", &d, &seq), AW_OK);
    cr_assert_eq(seq, 6);
    cr_assert_eq(aw_center_session_pump(s, FX_T0), AW_OK);
    cr_assert_eq(s_out.n, 1 + 4, "window of 4");
    aw_center_session_destroy(&s);

    fx_reopen(&s_fx);
    fx_out_clear(&s_out);
    s = fx_session(&s_fx, "e1", NULL, &s_out);
    fx_hello(s, "e1", EPOCH, 0, 0, NULL, FX_T0, FX_T0 + 1);
    cr_assert_eq(s_out.n, 1 + 4, "unacked downs resent after a restart");
    cr_assert_eq(s_at(1)->down->seq, 1);
    cr_assert_eq(fx_down_ack(s, EPOCH, 2, FX_T0 + 2), AW_OK);
    cr_assert_eq(s_out.n, 1 + 4 + 2, "the window moved by two");
    cr_assert_eq(s_at(6)->down->seq, 6);
    cr_assert_eq(fx_count(&s_fx, AW_CT_DOWN), 4, "acked downs deleted");
    aw_edge_status st;
    aw_center_edge_status(s_fx.db, "e1", &st);
    cr_assert_eq(st.down_pending, 4);
    aw_center_session_destroy(&s);

    fx_reopen(&s_fx);
    fx_out_clear(&s_out);
    s = fx_session(&s_fx, "e1", NULL, &s_out);
    fx_hello(s, "e1", EPOCH, 0, 0, NULL, FX_T0, FX_T0 + 3);
    cr_assert_eq(s_out.n, 1 + 4);
    cr_assert_eq(s_at(1)->down->seq, 3);
    cr_assert_eq(fx_down_ack(s, EPOCH, 9, FX_T0 + 4), AW_EPROTO, "acks beyond the queue");
    aw_center_edge_status(s_fx.db, "e1", &st);
    cr_assert_eq(st.down_pending, 0);
    aw_center_session_destroy(&s);
}

Test(session, hello_down_applied_acks)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", NULL, &s_out);
    fx_hello(s, "e1", EPOCH, 0, 0, NULL, FX_T0, FX_T0);
    Anwang__Down d = ANWANG__DOWN__INIT;
    Anwang__AlertCancel c = ANWANG__ALERT_CANCEL__INIT;
    c.identifier = "a1";
    c.time_ms = FX_T0;
    d.body_case = ANWANG__DOWN__BODY_ALERT_CANCEL;
    d.alert_cancel = &c;
    for (int i = 0; i < 3; i++)
        aw_center_down_enqueue(s_fx.db, "e1", &d, NULL);
    fx_out_clear(&s_out);

    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    Anwang__Hello h = ANWANG__HELLO__INIT;
    h.edge_id = "e1";
    h.epoch = EPOCH;
    h.wall_ms = FX_T0;
    h.proto_version = AW_PROTO_VERSION;
    h.has_down_applied = true;
    h.down_applied = 2;
    env.msg_case = ANWANG__ENVELOPE__MSG_HELLO;
    env.hello = &h;
    cr_assert_eq(fx_feed(s, &env, FX_T0 + 1), AW_OK);
    cr_assert_eq(s_out.n, 2);
    cr_assert_eq(s_at(1)->down->seq, 3);
    aw_center_session_destroy(&s);
}

Test(session, stalled_downs_resent)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", NULL, &s_out);
    fx_hello(s, "e1", EPOCH, 0, 0, NULL, FX_T0, FX_T0);
    Anwang__Down d = ANWANG__DOWN__INIT;
    Anwang__AlertCancel c = ANWANG__ALERT_CANCEL__INIT;
    c.identifier = "a1";
    c.time_ms = FX_T0;
    d.body_case = ANWANG__DOWN__BODY_ALERT_CANCEL;
    d.alert_cancel = &c;
    aw_center_down_enqueue(s_fx.db, "e1", &d, NULL);
    aw_center_session_pump(s, FX_T0);
    cr_assert_eq(s_out.n, 2);
    cr_assert_eq(fx_heartbeat(s, FX_T0, FX_T0 + 4000), AW_OK); /* keeps the link up */
    cr_assert_eq(aw_center_session_tick(s, FX_T0 + 4000), AW_OK);
    cr_assert_eq(s_out.n, 3);
    cr_assert_eq(aw_center_session_tick(s, FX_T0 + 5001), AW_OK);
    cr_assert_eq(s_out.n, 4, "resent after 5 s without progress");
    cr_assert_eq(s_at(3)->down->seq, 1);
    aw_center_session_destroy(&s);
}

Test(session, link_timeout_declares_down)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", NULL, &s_out);
    fx_hello(s, "e1", EPOCH, 0, 0, NULL, FX_T0, FX_T0);
    cr_assert_eq(aw_center_session_tick(s, FX_T0 + 15000), AW_OK);
    cr_assert_eq(aw_center_session_tick(s, FX_T0 + 15001), AW_ETIMEDOUT);
    cr_assert_eq(aw_center_session_state(s), AW_SESSION_DOWN);
    cr_assert_eq(aw_center_session_tick(s, FX_T0 + 20000), AW_OK);
    aw_edge_status st;
    aw_center_edge_status(s_fx.db, "e1", &st);
    cr_assert_not(st.connected);
    cr_assert_eq(s_batch_readings(s, EPOCH, 1, 1, FX_T0 + 20001), AW_ESTATE);
    /* re-established with Hello */
    cr_assert_eq(fx_hello(s, "e1", EPOCH, 0, 0, NULL, FX_T0, FX_T0 + 20002), AW_OK);
    cr_assert_eq(aw_center_session_state(s), AW_SESSION_UP);
    aw_center_session_destroy(&s);
}

Test(session, status_list_and_reset)
{
    const char *edges[3] = {"e3", "e1", "e2"};
    aw_center_session_t *s[3];
    for (int i = 0; i < 3; i++) {
        s[i] = fx_session(&s_fx, edges[i], NULL, &s_out);
        fx_hello(s[i], edges[i], EPOCH + (uint64_t)i, 5, 100, NULL, FX_T0 - 400000, FX_T0);
    }
    s_batch_readings(s[1], EPOCH + 1, 1, 40, FX_T0);
    aw_center_session_close(s[2], FX_T0 + 1);

    aw_edge_status *list = NULL;
    size_t n = 0;
    cr_assert_eq(aw_center_edge_list(s_fx.db, &list, &n), AW_OK);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(list[0].edge_id, "e1");
    cr_assert_eq(list[0].backlog[AW_LANE_BULK], 60);
    cr_assert_eq(list[0].backlog[AW_LANE_URGENT], 5);
    cr_assert_eq(list[0].skew_ms, -400000);
    cr_assert(list[0].connected);
    cr_assert_not(list[1].connected, "e2 closed");
    cr_assert_eq(list[2].epoch, EPOCH);
    free(list);

    cr_assert_eq(aw_center_edges_reset(s_fx.db), AW_OK);
    cr_assert_eq(aw_center_edge_list(s_fx.db, &list, &n), AW_OK);
    for (size_t i = 0; i < n; i++)
        cr_assert_not(list[i].connected);
    free(list);
    for (int i = 0; i < 3; i++)
        aw_center_session_destroy(&s[i]);
}

Test(session, send_failures_are_reported)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", NULL, &s_out);
    s_out.fail = 1;
    cr_assert_eq(fx_hello(s, "e1", EPOCH, 0, 0, NULL, FX_T0, FX_T0), AW_EIO);
    s_out.fail = 0;
    cr_assert_eq(s_batch_readings(s, EPOCH, 1, 2, FX_T0), AW_OK);
    cr_assert_eq(s_ack_at(0)->applied_seq, 2);
    aw_center_session_destroy(&s);
}

Test(session, bad_options)
{
    aw_center_session_t *s = NULL;
    aw_center_session_opts o = {.db = s_fx.db, .edge_id = "e 1", .send = fx_send};
    cr_assert_eq(aw_center_session_new(&o, &s), AW_EINVAL);
    o.edge_id = "e1";
    o.send = NULL;
    cr_assert_eq(aw_center_session_new(&o, &s), AW_EINVAL);
    cr_assert_null(s);
}

/* What the transport does with the envelopes it read at once. */
Test(session, handle_many_group_commits_batches)
{
    aw_center_session_t *s = fx_session(&s_fx, "e1", NULL, &s_out);
    cr_assert_eq(fx_hello(s, "e1", EPOCH, 0, 0, NULL, FX_T0, FX_T0), AW_OK);
    Anwang__Batch b[3];
    fx_batch_readings(&b[0], EPOCH, AW_LANE_BULK, 1, 4);
    fx_batch_readings(&b[1], EPOCH, AW_LANE_BULK, 5, 4);
    fx_batch_readings(&b[2], EPOCH + 9, AW_LANE_BULK, 1, 4); /* stale: ignored */
    Anwang__Envelope e[5];
    for (int i = 0; i < 3; i++) {
        anwang__envelope__init(&e[i]);
        e[i].msg_case = ANWANG__ENVELOPE__MSG_BATCH;
        e[i].batch = &b[i];
    }
    Anwang__Heartbeat hb = ANWANG__HEARTBEAT__INIT;
    anwang__envelope__init(&e[3]);
    e[3].msg_case = ANWANG__ENVELOPE__MSG_HEARTBEAT;
    e[3].heartbeat = &hb;
    e[4] = e[1]; /* resent after the heartbeat */
    const Anwang__Envelope *ep[5] = {&e[0], &e[1], &e[2], &e[3], &e[4]};
    cr_assert_eq(aw_center_session_handle_many(s, ep, 5, FX_T0 + 1), AW_EPROTO,
                 "the stale batch's error, the rest handled");
    cr_assert_eq(s_out.n, 1 + 4);
    cr_assert_eq(s_ack_at(1)->applied_seq, 4);
    cr_assert_eq(s_ack_at(2)->applied_seq, 8);
    cr_assert_eq(s_at(3)->msg_case, ANWANG__ENVELOPE__MSG_HEARTBEAT);
    cr_assert_eq(s_ack_at(4)->applied_seq, 8);
    cr_assert_eq(fx_count(&s_fx, AW_CT_RECORDS), 8);
    for (int i = 0; i < 3; i++)
        fx_batch_free(&b[i]);
    aw_center_session_destroy(&s);
}
