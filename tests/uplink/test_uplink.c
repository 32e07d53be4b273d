/* Unit tests of the uplink state machine, driven by scripted center messages
 * over a real store; what it sends is decoded and checked. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec.h"
#include "log.h"
#include "store.h"
#include "uplink.h"

static char s_dir[] = "/tmp/aw_test_uplink.XXXXXX";
static int64_t s_wall_now = INT64_C(1764460800000); /* wall clock seen by the uplink */

/* What the uplink sent, and how the fake transport and down channel behave. */
typedef struct s_out {
    uint8_t *buf[4096];
    size_t len[4096];
    size_t n;
    int send_rc;          /* returned by the next sends (AW_OK = take it) */
    int down_rc;          /* returned by on_down */
    uint64_t applied[16]; /* seqs on_down was called with */
    size_t n_applied;
} s_out;

static s_out s_o;

static void s_setup(void)
{
    cr_assert_not_null(mkdtemp(s_dir));
    aw_log_init("test_uplink", AW_LOG_ERROR);
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void s_clear(void)
{
    for (size_t i = 0; i < s_o.n; i++)
        free(s_o.buf[i]);
    s_o.n = 0;
}

static void s_teardown(void)
{
    s_clear();
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(uplink, .init = s_setup, .fini = s_teardown);

/* Empties the store directory for a new store in the same test. */
static void s_teardown_store_dir(void)
{
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    cr_assert_eq(mkdir(s_dir, 0700), 0);
}

static int s_send(void *arg, const uint8_t *buf, size_t len)
{
    if (s_o.send_rc != AW_OK)
        return s_o.send_rc;
    cr_assert_lt(s_o.n, 4096);
    s_o.buf[s_o.n] = malloc(len);
    memcpy(s_o.buf[s_o.n], buf, len);
    s_o.len[s_o.n++] = len;
    return AW_OK;
}

static int s_on_down(void *arg, const Anwang__Down *down)
{
    if (s_o.down_rc != AW_OK)
        return s_o.down_rc;
    cr_assert_lt(s_o.n_applied, 16);
    s_o.applied[s_o.n_applied++] = down->seq;
    return AW_OK;
}

static int64_t s_wall(void *arg)
{
    return s_wall_now;
}

/* ------------------------------------------------------------ store */

static aw_store_t *s_store_budget(uint64_t max_bytes)
{
    aw_store_opts opts = {.path = s_dir,
                          .map_size = (size_t)256 << 20,
                          .max_bytes = max_bytes,
                          .durability = AW_DURABLE_NOSYNC};
    aw_store_t *store = NULL;
    int rc = aw_store_open(&opts, &store);
    cr_assert_eq(rc, AW_OK, "open: %s", aw_strerror(rc));
    return store;
}

static aw_store_t *s_store(void)
{
    return s_store_budget(0);
}

/* One encoded reading whose value is @p tag, from device "u" (urgent lane)
 * or "b" (bulk lane), so a record says where it came from. */
static uint8_t *s_record(aw_lane lane, uint64_t tag, size_t *len)
{
    Anwang__Reading r = ANWANG__READING__INIT;
    Anwang__Record rec = ANWANG__RECORD__INIT;
    r.device = lane == AW_LANE_URGENT ? "u" : "b";
    r.metric = "ch4";
    r.has_value = true;
    r.value = (double)tag;
    r.time_ms = 1000;
    rec.hlc = tag + 1;
    rec.body_case = ANWANG__RECORD__BODY_READING;
    rec.reading = &r;
    uint8_t *buf = NULL;
    cr_assert_eq(aw_codec_record_encode(&rec, &buf, len, NULL, 0), AW_OK);
    return buf;
}

/* Appends @p n records tagged from + 0 .. from + n - 1 to @p lane. */
static void s_append_tags(aw_store_t *store, aw_lane lane, uint64_t from, size_t n)
{
    const void **recs = calloc(n, sizeof *recs);
    size_t *lens = calloc(n, sizeof *lens);
    for (size_t i = 0; i < n; i++)
        recs[i] = s_record(lane, from + i, &lens[i]);
    uint64_t first;
    int rc = aw_store_append(store, lane, recs, lens, n, 0, &first);
    cr_assert_eq(rc, AW_OK, "append: %s", aw_strerror(rc));
    for (size_t i = 0; i < n; i++)
        free((void *)recs[i]);
    free(recs);
    free(lens);
}

/* Appends @p n records to @p lane, tagged with their seqs. */
static void s_append(aw_store_t *store, aw_lane lane, size_t n)
{
    aw_lane_info li;
    cr_assert_eq(aw_store_lane_info(store, lane, &li), AW_OK);
    s_append_tags(store, lane, li.head + 1, n);
}

static aw_lane_info s_info(aw_store_t *store, aw_lane lane)
{
    aw_lane_info li;
    cr_assert_eq(aw_store_lane_info(store, lane, &li), AW_OK);
    return li;
}

/* ------------------------------------------------------------ uplink */

static aw_uplink_opts s_opts(void)
{
    return (aw_uplink_opts){.edge_id = "edge-rongjiawan",
                            .zone = "yueyang/rongjiawan",
                            .send = s_send,
                            .on_down = s_on_down,
                            .wall_ms = s_wall,
                            .seed = 42};
}

static aw_uplink_t *s_uplink_with(aw_store_t *store, aw_uplink_opts opts)
{
    aw_uplink_t *u = NULL;
    int rc = aw_uplink_new(store, &opts, &u);
    cr_assert_eq(rc, AW_OK, "new: %s", aw_strerror(rc));
    return u;
}

/* The center's applied seq as the uplink knows it (the store's mark follows
 * within ack_flush_ms). */
static uint64_t s_acked(aw_uplink_t *u, aw_lane lane)
{
    aw_uplink_status st;
    cr_assert_eq(aw_uplink_status_get(u, 0, &st), AW_OK);
    return st.acked[lane];
}

/* Decodes sent message @p i; the caller frees it with aw_codec_envelope_free. */
static Anwang__Envelope *s_sent(size_t i)
{
    Anwang__Envelope *env = NULL;
    char why[160];
    cr_assert_lt(i, s_o.n, "message %zu sent (only %zu)", i, s_o.n);
    int rc = aw_codec_envelope_decode(s_o.buf[i], s_o.len[i], NULL, &env, why, sizeof why);
    cr_assert_eq(rc, AW_OK, "sent message %zu decodes: %s", i, why);
    return env;
}

/* Feeds one center message to the uplink; returns its result. */
static int s_feed(aw_uplink_t *u, const Anwang__Envelope *env, int64_t now)
{
    uint8_t *buf;
    size_t len;
    char why[160];
    cr_assert_eq(aw_codec_envelope_encode(env, &buf, &len, why, sizeof why), AW_OK, "%s", why);
    int rc = aw_uplink_receive(u, buf, len, now);
    free(buf);
    return rc;
}

static int s_welcome(aw_uplink_t *u, uint64_t epoch, uint64_t urgent, uint64_t bulk,
                     int64_t center_ms, int64_t now)
{
    Anwang__LaneSeq ls[2] = {ANWANG__LANE_SEQ__INIT, ANWANG__LANE_SEQ__INIT};
    Anwang__LaneSeq *lp[2] = {&ls[0], &ls[1]};
    Anwang__Welcome w = ANWANG__WELCOME__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    ls[0].lane = ANWANG__LANE__LANE_URGENT;
    ls[0].seq = urgent;
    ls[1].lane = ANWANG__LANE__LANE_BULK;
    ls[1].seq = bulk;
    w.epoch = epoch;
    w.n_applied = 2;
    w.applied = lp;
    w.center_ms = center_ms;
    w.proto_version = AW_PROTO_VERSION;
    env.msg_case = ANWANG__ENVELOPE__MSG_WELCOME;
    env.welcome = &w;
    return s_feed(u, &env, now);
}

static int s_ack(aw_uplink_t *u, uint64_t epoch, aw_lane lane, uint64_t applied, int64_t now)
{
    Anwang__Ack a = ANWANG__ACK__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    a.epoch = epoch;
    a.lane = (Anwang__Lane)lane;
    a.applied_seq = applied;
    env.msg_case = ANWANG__ENVELOPE__MSG_ACK;
    env.ack = &a;
    return s_feed(u, &env, now);
}

static int s_down(aw_uplink_t *u, uint64_t epoch, uint64_t seq, int64_t now)
{
    Anwang__AlarmAck aa = ANWANG__ALARM_ACK__INIT;
    Anwang__Down d = ANWANG__DOWN__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    aa.alarm_id = "alarm-1";
    aa.by = "operator";
    aa.time_ms = 1000;
    d.seq = seq;
    d.epoch = epoch;
    d.body_case = ANWANG__DOWN__BODY_ALARM_ACK;
    d.alarm_ack = &aa;
    env.msg_case = ANWANG__ENVELOPE__MSG_DOWN;
    env.down = &d;
    return s_feed(u, &env, now);
}

static int s_refuse(aw_uplink_t *u, int64_t now)
{
    Anwang__Refuse r = ANWANG__REFUSE__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    r.reason = "edge id does not match certificate";
    env.msg_case = ANWANG__ENVELOPE__MSG_REFUSE;
    env.refuse = &r;
    return s_feed(u, &env, now);
}

/* A sent batch, summarized. */
typedef struct s_batch_seen {
    aw_lane lane;
    uint64_t first, last;
    size_t n;
} s_batch_seen;

/* Checks that sent message @p i is a batch of this epoch whose records are
 * the stored ones, in order (each record's value is its seq's tag). */
static s_batch_seen s_batch_at(size_t i, uint64_t epoch)
{
    Anwang__Envelope *env = s_sent(i);
    cr_assert_eq(env->msg_case, ANWANG__ENVELOPE__MSG_BATCH, "message %zu is a batch (%d)", i,
                 env->msg_case);
    Anwang__Batch *b = env->batch;
    cr_assert_eq(b->epoch, epoch);
    cr_assert_gt(b->n_records, 0);
    s_batch_seen s = {(aw_lane)b->lane, b->first_seq, b->first_seq + b->n_records - 1,
                      b->n_records};
    for (size_t k = 0; k < b->n_records; k++) {
        Anwang__Record *r = NULL;
        cr_assert_eq(
            aw_codec_record_decode(b->records[k].data, b->records[k].len, NULL, &r, NULL, 0),
            AW_OK);
        if (r->body_case == ANWANG__RECORD__BODY_READING) {
            cr_assert_str_eq(r->reading->device, s.lane == AW_LANE_URGENT ? "u" : "b");
            cr_assert_eq((uint64_t)r->reading->value, b->first_seq + k, "record %zu of batch %zu",
                         k, i);
        }
        aw_codec_record_free(&r);
    }
    aw_codec_envelope_free(&env);
    return s;
}

static Anwang__Envelope__MsgCase s_kind(size_t i)
{
    Anwang__Envelope *env = s_sent(i);
    Anwang__Envelope__MsgCase m = env->msg_case;
    aw_codec_envelope_free(&env);
    return m;
}

/* Connects and welcomes with the center's applied seqs; clears the outbox. */
static void s_up(aw_uplink_t *u, uint64_t epoch, uint64_t urgent, uint64_t bulk, int64_t now)
{
    cr_assert_eq(aw_uplink_connected(u, now), AW_OK);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_CONNECTING);
    cr_assert_eq(s_kind(0), ANWANG__ENVELOPE__MSG_HELLO);
    s_clear();
    cr_assert_eq(s_welcome(u, epoch, urgent, bulk, s_wall_now, now), AW_OK);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_UP);
}

/* ------------------------------------------------------------ usage */

Test(uplink, usage_example)
{
    /* An edge's log with records in both lanes. */
    aw_store_t *store = s_store();
    s_append(store, AW_LANE_URGENT, 2);
    s_append(store, AW_LANE_BULK, 7);
    uint64_t epoch = aw_store_epoch(store);

    /* The uplink sends through a callback and applies Down messages through
     * another; the caller passes its monotonic time to every event. */
    aw_uplink_opts opts = s_opts();
    aw_uplink_t *u = NULL;
    cr_assert_eq(aw_uplink_new(store, &opts, &u), AW_OK);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_DOWN);
    cr_assert_eq(aw_uplink_next_retry_ms(u, 0), 0, "connect at once the first time");

    /* The transport connected: Hello goes out. */
    int64_t now = 1000;
    cr_assert_eq(aw_uplink_connected(u, now), AW_OK);
    cr_assert_eq(s_kind(0), ANWANG__ENVELOPE__MSG_HELLO);

    /* The center welcomes: nothing applied yet, so both lanes go out from 1,
     * urgent first. */
    cr_assert_eq(s_welcome(u, epoch, 0, 0, s_wall_now, now + 10), AW_OK);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_UP);
    s_batch_seen b1 = s_batch_at(1, epoch), b2 = s_batch_at(2, epoch);
    cr_assert_eq(b1.lane, AW_LANE_URGENT);
    cr_assert_eq(b1.n, 2);
    cr_assert_eq(b2.lane, AW_LANE_BULK);
    cr_assert_eq(b2.n, 7);

    /* Acks raise the store's acked marks; the backlog is empty. */
    cr_assert_eq(s_ack(u, epoch, AW_LANE_URGENT, 2, now + 20), AW_OK);
    cr_assert_eq(s_ack(u, epoch, AW_LANE_BULK, 7, now + 20), AW_OK);
    aw_uplink_status st;
    cr_assert_eq(aw_uplink_status_get(u, now + 20, &st), AW_OK);
    cr_assert_eq(st.backlog[AW_LANE_URGENT], 0);
    cr_assert_eq(st.backlog[AW_LANE_BULK], 0);
    cr_assert_eq(st.in_flight, 0);
    cr_assert_eq(s_acked(u, AW_LANE_BULK), 7);

    /* The caller's loop runs the timers (heartbeats, dead link, resends)
     * when aw_uplink_next_tick_ms() says so, and reports new records. */
    cr_assert_geq(aw_uplink_next_tick_ms(u, now + 20), 0);
    cr_assert_eq(aw_uplink_tick(u, now + 30), AW_OK);
    s_append(store, AW_LANE_URGENT, 1);
    cr_assert_eq(aw_uplink_notify_appended(u, now + 40), AW_OK);
    cr_assert_eq(s_batch_at(s_o.n - 1, epoch).first, 3);

    aw_uplink_destroy(&u);
    aw_uplink_destroy(&u);
    cr_assert_null(u);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------ options */

Test(uplink, options_are_checked)
{
    aw_store_t *store = s_store();
    aw_uplink_t *u = (aw_uplink_t *)1;
    aw_uplink_opts o = s_opts();
    o.send = NULL;
    cr_assert_eq(aw_uplink_new(store, &o, &u), AW_EINVAL);
    cr_assert_null(u);
    o = s_opts();
    o.window = 1; /* no slot could be kept for urgent */
    cr_assert_eq(aw_uplink_new(store, &o, &u), AW_EINVAL);
    o = s_opts();
    o.batch_records = 20000; /* over the codec's batch limit */
    cr_assert_eq(aw_uplink_new(store, &o, &u), AW_EINVAL);
    o = s_opts();
    o.edge_id = "bad id, with space";
    cr_assert_eq(aw_uplink_new(store, &o, &u), AW_EINVAL);
    o = s_opts();
    o.zone = "Not/A/Grid/Path";
    cr_assert_eq(aw_uplink_new(store, &o, &u), AW_EINVAL);
    o = s_opts();
    o.backoff_min_ms = 10000;
    o.backoff_max_ms = 100;
    cr_assert_eq(aw_uplink_new(store, &o, &u), AW_EINVAL);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------ hello */

Test(uplink, hello_carries_heads_epoch_and_down_applied)
{
    aw_store_t *store = s_store();
    s_append(store, AW_LANE_URGENT, 3);
    s_append(store, AW_LANE_BULK, 11);
    aw_uplink_opts o = s_opts();
    o.down_applied = 9;
    aw_uplink_t *u = s_uplink_with(store, o);
    cr_assert_eq(aw_uplink_connected(u, 5), AW_OK);
    cr_assert_eq(s_o.n, 1);
    Anwang__Envelope *env = s_sent(0);
    cr_assert_eq(env->msg_case, ANWANG__ENVELOPE__MSG_HELLO);
    Anwang__Hello *h = env->hello;
    cr_assert_str_eq(h->edge_id, "edge-rongjiawan");
    cr_assert_str_eq(h->zone, "yueyang/rongjiawan");
    cr_assert_eq(h->epoch, aw_store_epoch(store));
    cr_assert_eq(h->wall_ms, s_wall_now);
    cr_assert_eq(h->proto_version, AW_PROTO_VERSION);
    cr_assert(h->has_down_applied);
    cr_assert_eq(h->down_applied, 9);
    cr_assert_eq(h->n_heads, 2);
    uint64_t heads[2] = {0, 0};
    for (size_t i = 0; i < h->n_heads; i++)
        heads[h->heads[i]->lane] = h->heads[i]->seq;
    cr_assert_eq(heads[AW_LANE_URGENT], 3);
    cr_assert_eq(heads[AW_LANE_BULK], 11);
    cr_assert(!h->has_registry_version, "no registry yet");
    aw_codec_envelope_free(&env);
    /* After a registry snapshot was applied, the next Hello names its version. */
    aw_uplink_set_registry_version(u, 7);
    cr_assert_eq(aw_uplink_connected(u, 6), AW_OK);
    env = s_sent(1);
    cr_assert(env->hello->has_registry_version);
    cr_assert_eq(env->hello->registry_version, 7);
    aw_codec_envelope_free(&env);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------ welcome */

Test(uplink, welcome_resends_from_applied_and_marks_acked)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    s_append(store, AW_LANE_URGENT, 10);
    s_append(store, AW_LANE_BULK, 100);
    aw_uplink_t *u = s_uplink_with(store, s_opts());
    s_up(u, epoch, 4, 50, 100);
    cr_assert_eq(s_info(store, AW_LANE_URGENT).acked, 4);
    cr_assert_eq(s_info(store, AW_LANE_BULK).acked, 50);
    cr_assert_eq(s_o.n, 2);
    s_batch_seen b = s_batch_at(0, epoch);
    cr_assert_eq(b.lane, AW_LANE_URGENT);
    cr_assert_eq(b.first, 5);
    cr_assert_eq(b.last, 10);
    b = s_batch_at(1, epoch);
    cr_assert_eq(b.lane, AW_LANE_BULK);
    cr_assert_eq(b.first, 51);
    cr_assert_eq(b.last, 100);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

Test(uplink, welcome_below_first_starts_at_first_after_pruning)
{
    /* A small budget: unacked bulk records are dropped (a Gap record in the
     * urgent lane says so), so the center's applied + 1 is no longer stored. */
    aw_store_t *store = s_store_budget(64 << 10);
    uint64_t epoch = aw_store_epoch(store);
    for (int i = 0; i < 20; i++)
        s_append(store, AW_LANE_BULK, 200);
    aw_lane_info bulk = s_info(store, AW_LANE_BULK);
    cr_assert_gt(bulk.first, 1, "bulk records were pruned");
    cr_assert_gt(s_info(store, AW_LANE_URGENT).head, 0, "a gap record was written");
    aw_uplink_t *u = s_uplink_with(store, s_opts());
    s_up(u, epoch, 0, 0, 100);
    s_batch_seen b = s_batch_at(0, epoch);
    cr_assert_eq(b.lane, AW_LANE_URGENT, "the gap notice goes first");
    cr_assert_eq(b.first, 1);
    b = s_batch_at(1, epoch);
    cr_assert_eq(b.lane, AW_LANE_BULK);
    cr_assert_eq(b.first, bulk.first, "bulk starts at the first stored seq");
    aw_uplink_status st;
    cr_assert_eq(aw_uplink_status_get(u, 100, &st), AW_OK);
    cr_assert_eq(st.backlog[AW_LANE_BULK], bulk.head - bulk.first + 1);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

Test(uplink, welcome_beyond_head_is_divergence)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    s_append(store, AW_LANE_BULK, 5);
    aw_uplink_t *u = s_uplink_with(store, s_opts());
    cr_assert_eq(aw_uplink_connected(u, 0), AW_OK);
    s_clear();
    cr_assert_eq(s_welcome(u, epoch, 0, 8, s_wall_now, 10), AW_EPROTO);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_DOWN);
    cr_assert_eq(s_o.n, 0, "nothing sent");
    aw_uplink_status st;
    cr_assert_eq(aw_uplink_status_get(u, 10, &st), AW_OK);
    cr_assert(st.diverged);
    cr_assert_eq(s_info(store, AW_LANE_BULK).acked, 0);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

Test(uplink, skew_is_rtt_corrected)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    aw_uplink_t *u = s_uplink_with(store, s_opts());
    cr_assert_eq(aw_uplink_connected(u, 1000), AW_OK);
    /* Welcome arrives 200 ms after Hello; the center stamped it at its
     * clock = our wall + 5 s, about 100 ms before we read it. */
    cr_assert_eq(s_welcome(u, epoch, 0, 0, s_wall_now - 100 + 5000, 1200), AW_OK);
    aw_uplink_status st;
    cr_assert_eq(aw_uplink_status_get(u, 1200, &st), AW_OK);
    cr_assert(st.skew_known);
    cr_assert_eq(st.skew_ms, 5000);
    cr_assert_eq(st.last_ack_wall_ms, s_wall_now);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------ window */

Test(uplink, batches_respect_window_and_batch_records)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    s_append(store, AW_LANE_URGENT, 5);
    s_append(store, AW_LANE_BULK, 100);
    aw_uplink_opts o = s_opts();
    o.batch_records = 10;
    o.window = 4;
    aw_uplink_t *u = s_uplink_with(store, o);
    s_up(u, epoch, 0, 0, 0);
    cr_assert_eq(s_o.n, 4, "window of 4 batches");
    s_batch_seen b = s_batch_at(0, epoch);
    cr_assert_eq(b.lane, AW_LANE_URGENT);
    cr_assert_eq(b.n, 5);
    for (size_t i = 1; i < 4; i++) {
        b = s_batch_at(i, epoch);
        cr_assert_eq(b.lane, AW_LANE_BULK);
        cr_assert_eq(b.n, 10);
        cr_assert_eq(b.first, 1 + (i - 1) * 10);
    }
    /* More appends or ticks send nothing while the window is full. */
    s_append(store, AW_LANE_BULK, 10);
    cr_assert_eq(aw_uplink_notify_appended(u, 1), AW_OK);
    cr_assert_eq(aw_uplink_tick(u, 2), AW_OK);
    cr_assert_eq(s_o.n, 4);
    aw_uplink_status st;
    cr_assert_eq(aw_uplink_status_get(u, 2, &st), AW_OK);
    cr_assert_eq(st.in_flight, 4);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

Test(uplink, bulk_leaves_one_slot_for_urgent)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    s_append(store, AW_LANE_BULK, 100);
    aw_uplink_opts o = s_opts();
    o.batch_records = 10;
    aw_uplink_t *u = s_uplink_with(store, o);
    s_up(u, epoch, 0, 0, 0);
    cr_assert_eq(s_o.n, 3, "bulk takes window - 1 slots");
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

Test(uplink, batch_bytes_limits_a_batch)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    s_append(store, AW_LANE_BULK, 100);
    size_t len;
    free(s_record(AW_LANE_BULK, 1, &len));
    aw_uplink_opts o = s_opts();
    o.batch_bytes = 7 * len + len / 2;
    aw_uplink_t *u = s_uplink_with(store, o);
    s_up(u, epoch, 0, 0, 0);
    cr_assert_eq(s_batch_at(0, epoch).n, 7);
    cr_assert_eq(s_batch_at(1, epoch).first, 8);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

Test(uplink, acked_marks_reach_the_store_within_ack_flush_ms)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    s_append(store, AW_LANE_BULK, 100);
    aw_uplink_opts o = s_opts();
    o.batch_records = 10;
    o.ack_flush_ms = 100;
    aw_uplink_t *u = s_uplink_with(store, o);
    s_up(u, epoch, 0, 5, 1000);
    cr_assert_eq(s_info(store, AW_LANE_BULK).acked, 5, "Welcome's applied is written at once");
    cr_assert_eq(s_ack(u, epoch, AW_LANE_BULK, 15, 1050), AW_OK);
    cr_assert_eq(s_ack(u, epoch, AW_LANE_BULK, 25, 1060), AW_OK);
    cr_assert_eq(s_acked(u, AW_LANE_BULK), 25);
    cr_assert_eq(s_info(store, AW_LANE_BULK).acked, 5, "not yet: one commit per interval");
    cr_assert_eq(aw_uplink_next_tick_ms(u, 1060), 40);
    cr_assert_eq(aw_uplink_tick(u, 1100), AW_OK);
    cr_assert_eq(s_info(store, AW_LANE_BULK).acked, 25);
    /* An ack after the interval is written at once. */
    cr_assert_eq(s_ack(u, epoch, AW_LANE_BULK, 35, 1250), AW_OK);
    cr_assert_eq(s_info(store, AW_LANE_BULK).acked, 35);
    /* Going down and being destroyed write what is pending. */
    cr_assert_eq(s_ack(u, epoch, AW_LANE_BULK, 45, 1260), AW_OK);
    aw_uplink_disconnected(u, 1270);
    cr_assert_eq(s_info(store, AW_LANE_BULK).acked, 45);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

Test(uplink, ack_frees_the_window_for_the_next_batch)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    s_append(store, AW_LANE_BULK, 100);
    aw_uplink_opts o = s_opts();
    o.batch_records = 10;
    aw_uplink_t *u = s_uplink_with(store, o);
    s_up(u, epoch, 0, 0, 0);
    cr_assert_eq(s_o.n, 3);
    s_clear();
    /* An ack in the middle of a batch frees nothing. */
    cr_assert_eq(s_ack(u, epoch, AW_LANE_BULK, 5, 1), AW_OK);
    cr_assert_eq(s_o.n, 0);
    cr_assert_eq(s_acked(u, AW_LANE_BULK), 5);
    /* A cumulative ack of two batches frees two slots. */
    cr_assert_eq(s_ack(u, epoch, AW_LANE_BULK, 20, 2), AW_OK);
    cr_assert_eq(s_o.n, 2);
    cr_assert_eq(s_batch_at(0, epoch).first, 31);
    cr_assert_eq(s_batch_at(1, epoch).first, 41);
    /* An old ack arriving late changes nothing. */
    cr_assert_eq(s_ack(u, epoch, AW_LANE_BULK, 10, 3), AW_OK);
    cr_assert_eq(s_o.n, 2);
    cr_assert_eq(s_acked(u, AW_LANE_BULK), 20);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------ urgent first */

Test(uplink, urgent_goes_before_a_long_bulk_catch_up)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    for (int i = 0; i < 10; i++)
        s_append(store, AW_LANE_BULK, 10000);
    aw_uplink_t *u = s_uplink_with(store, s_opts()); /* 5000 records, window 4 */
    s_up(u, epoch, 0, 0, 0);
    cr_assert_eq(s_o.n, 3);
    cr_assert_eq(s_batch_at(2, epoch).n, 5000);
    uint64_t acked = 0;
    /* Catch up for a while: each ack lets one more bulk batch go. */
    for (int i = 0; i < 5; i++) {
        acked += 5000;
        cr_assert_eq(s_ack(u, epoch, AW_LANE_BULK, acked, 10 + i), AW_OK);
        cr_assert_eq(s_batch_at(s_o.n - 1, epoch).lane, AW_LANE_BULK);
    }
    /* A red alarm: its record goes out at once, in the slot kept for urgent. */
    size_t before = s_o.n;
    s_append(store, AW_LANE_URGENT, 1);
    cr_assert_eq(aw_uplink_notify_appended(u, 20), AW_OK);
    cr_assert_eq(s_o.n, before + 1);
    s_batch_seen b = s_batch_at(before, epoch);
    cr_assert_eq(b.lane, AW_LANE_URGENT);
    cr_assert_eq(b.first, 1);
    /* Another one, not notified: the next send opportunity (an ack) takes
     * urgent before queued bulk. */
    s_append(store, AW_LANE_URGENT, 1);
    before = s_o.n;
    acked += 5000;
    cr_assert_eq(s_ack(u, epoch, AW_LANE_BULK, acked, 21), AW_OK);
    cr_assert_gt(s_o.n, before);
    b = s_batch_at(before, epoch);
    cr_assert_eq(b.lane, AW_LANE_URGENT);
    cr_assert_eq(b.first, 2);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------ rate limit */

/* Acks every batch sent since message @p from; returns the bulk bytes sent. */
static size_t s_ack_all(aw_uplink_t *u, uint64_t epoch, size_t from, int64_t now,
                        size_t *urgent_bytes)
{
    size_t bulk = 0, end = s_o.n;
    for (size_t i = from; i < end; i++) {
        if (s_kind(i) != ANWANG__ENVELOPE__MSG_BATCH)
            continue;
        s_batch_seen b = s_batch_at(i, epoch);
        if (b.lane == AW_LANE_BULK)
            bulk += s_o.len[i];
        else if (urgent_bytes)
            *urgent_bytes += s_o.len[i];
        cr_assert_eq(s_ack(u, epoch, b.lane, b.last, now), AW_OK);
    }
    return bulk;
}

Test(uplink, rate_limit_applies_to_bulk_only)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    s_append(store, AW_LANE_BULK, 20000);
    aw_uplink_opts o = s_opts();
    o.rate_limit_bytes_per_s = 20000;
    o.batch_records = 50;
    o.window = 16;
    aw_uplink_t *u = s_uplink_with(store, o);
    s_up(u, epoch, 0, 0, 0);
    /* Simulate 10 s in 50 ms steps, the center acking at once. */
    size_t bulk = 0, done = 0;
    int64_t now = 0;
    for (; now <= 10000; now += 50) {
        size_t n;
        do {
            n = s_o.n;
            bulk += s_ack_all(u, epoch, done, now, NULL);
            done = n;
        } while (s_o.n != n);
        cr_assert_eq(aw_uplink_tick(u, now), AW_OK);
    }
    bulk += s_ack_all(u, epoch, done, now, NULL);
    /* 10 s at 20,000 B/s plus the first second's burst, less one batch. */
    cr_assert_leq(bulk, 11 * 20000 + 4000, "bulk bytes %zu", bulk);
    cr_assert_geq(bulk, 10 * 20000 - 4000, "bulk bytes %zu", bulk);
    /* The budget is spent; urgent records still go at once. */
    s_clear();
    cr_assert_eq(aw_uplink_tick(u, now), AW_OK);
    s_append(store, AW_LANE_URGENT, 2000);
    cr_assert_eq(aw_uplink_notify_appended(u, now), AW_OK);
    size_t urgent = 0;
    for (size_t n = 0; n != s_o.n;) {
        size_t from = n;
        n = s_o.n;
        s_ack_all(u, epoch, from, now, &urgent);
    }
    cr_assert_eq(s_acked(u, AW_LANE_URGENT), 2000, "all urgent sent within the instant");
    cr_assert_gt(urgent, 20000, "more than the bulk budget");
    cr_assert_geq(aw_uplink_next_tick_ms(u, now), 0);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------ timers */

Test(uplink, heartbeat_when_idle)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    aw_uplink_opts o = s_opts();
    o.heartbeat_ms = 1000;
    o.dead_after_ms = 3000;
    aw_uplink_t *u = s_uplink_with(store, o);
    s_up(u, epoch, 0, 0, 0);
    cr_assert_eq(s_o.n, 0);
    cr_assert_eq(aw_uplink_next_tick_ms(u, 0), 1000);
    cr_assert_eq(aw_uplink_tick(u, 999), AW_OK);
    cr_assert_eq(s_o.n, 0);
    cr_assert_eq(aw_uplink_tick(u, 1000), AW_OK);
    cr_assert_eq(s_o.n, 1);
    Anwang__Envelope *env = s_sent(0);
    cr_assert_eq(env->msg_case, ANWANG__ENVELOPE__MSG_HEARTBEAT);
    cr_assert_eq(env->heartbeat->wall_ms, s_wall_now);
    aw_codec_envelope_free(&env);
    /* A center heartbeat keeps the link alive past dead_after_ms. */
    Anwang__Heartbeat hb = ANWANG__HEARTBEAT__INIT;
    Anwang__Envelope in = ANWANG__ENVELOPE__INIT;
    hb.wall_ms = 5;
    in.msg_case = ANWANG__ENVELOPE__MSG_HEARTBEAT;
    in.heartbeat = &hb;
    cr_assert_eq(s_feed(u, &in, 2500), AW_OK);
    cr_assert_eq(aw_uplink_tick(u, 4000), AW_OK);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_UP);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

Test(uplink, silent_link_goes_down_with_backoff)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    aw_uplink_opts o = s_opts();
    o.heartbeat_ms = 1000;
    o.dead_after_ms = 3000;
    o.backoff_min_ms = 400;
    o.backoff_max_ms = 5000;
    aw_uplink_t *u = s_uplink_with(store, o);
    s_up(u, epoch, 0, 0, 0);
    cr_assert_eq(aw_uplink_next_retry_ms(u, 0), -1, "not down");
    cr_assert_eq(aw_uplink_tick(u, 2999), AW_OK);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_UP);
    cr_assert_eq(aw_uplink_tick(u, 3000), AW_OK);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_DOWN);
    int64_t d = aw_uplink_next_retry_ms(u, 3000);
    cr_assert(d >= 200 && d <= 400, "first delay %lld in [200, 400]", (long long)d);
    cr_assert_eq(aw_uplink_next_tick_ms(u, 3000), -1);
    /* No Welcome after Hello counts as silence too; delays double to the cap. */
    int64_t now = 3000;
    int64_t want = 800;
    for (int i = 0; i < 8; i++) {
        now += aw_uplink_next_retry_ms(u, now);
        cr_assert_eq(aw_uplink_connected(u, now), AW_OK);
        cr_assert_eq(aw_uplink_tick(u, now + 3000), AW_OK);
        cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_DOWN);
        now += 3000;
        d = aw_uplink_next_retry_ms(u, now);
        cr_assert(d >= want / 2 && d <= want, "delay %lld in [%lld, %lld]", (long long)d,
                  (long long)want / 2, (long long)want);
        want = want * 2 > 5000 ? 5000 : want * 2;
    }
    /* A Welcome resets the backoff. */
    now += d;
    s_clear();
    s_up(u, epoch, 0, 0, now);
    aw_uplink_disconnected(u, now);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_DOWN);
    d = aw_uplink_next_retry_ms(u, now);
    cr_assert(d >= 200 && d <= 400, "reset delay %lld", (long long)d);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

Test(uplink, reconnect_resends_what_was_not_acked)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    s_append(store, AW_LANE_BULK, 30);
    aw_uplink_opts o = s_opts();
    o.batch_records = 10;
    o.dead_after_ms = 3000;
    aw_uplink_t *u = s_uplink_with(store, o);
    s_up(u, epoch, 0, 0, 0);
    cr_assert_eq(s_o.n, 3);
    cr_assert_eq(s_ack(u, epoch, AW_LANE_BULK, 10, 10), AW_OK);
    cr_assert_eq(aw_uplink_tick(u, 3010), AW_OK);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_DOWN);
    int64_t now = 3010 + aw_uplink_next_retry_ms(u, 3010);
    s_clear();
    /* The center applied one more batch whose ack was lost in the cut. */
    s_up(u, epoch, 0, 20, now);
    cr_assert_eq(s_o.n, 1);
    s_batch_seen b = s_batch_at(0, epoch);
    cr_assert_eq(b.first, 21);
    cr_assert_eq(b.last, 30);
    cr_assert_eq(s_info(store, AW_LANE_BULK).acked, 20);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

Test(uplink, unacked_batches_are_resent_after_resend_after_ms)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    s_append(store, AW_LANE_BULK, 30);
    aw_uplink_opts o = s_opts();
    o.batch_records = 10;
    o.heartbeat_ms = 1000;
    o.dead_after_ms = 60000;
    o.resend_after_ms = 5000;
    aw_uplink_t *u = s_uplink_with(store, o);
    s_up(u, epoch, 0, 0, 0);
    cr_assert_eq(s_o.n, 3);
    /* Progress (an ack) restarts the wait. */
    cr_assert_eq(s_ack(u, epoch, AW_LANE_BULK, 10, 4000), AW_OK);
    cr_assert_eq(aw_uplink_next_tick_ms(u, 4000), 0, "a heartbeat is overdue");
    s_clear();
    cr_assert_eq(aw_uplink_tick(u, 8999), AW_OK);
    for (size_t i = 0; i < s_o.n; i++)
        cr_assert_eq(s_kind(i), ANWANG__ENVELOPE__MSG_HEARTBEAT);
    s_clear();
    cr_assert_eq(aw_uplink_tick(u, 9000), AW_OK);
    cr_assert_eq(s_o.n, 2, "both unacked batches again");
    cr_assert_eq(s_batch_at(0, epoch).first, 11);
    cr_assert_eq(s_batch_at(1, epoch).first, 21);
    aw_uplink_status st;
    cr_assert_eq(aw_uplink_status_get(u, 9000, &st), AW_OK);
    cr_assert_eq(st.resends, 1);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

Test(uplink, transport_eagain_is_retried_later)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    s_append(store, AW_LANE_BULK, 5);
    aw_uplink_t *u = s_uplink_with(store, s_opts());
    cr_assert_eq(aw_uplink_connected(u, 0), AW_OK);
    s_clear();
    s_o.send_rc = AW_EAGAIN;
    cr_assert_eq(s_welcome(u, epoch, 0, 0, s_wall_now, 1), AW_OK);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_UP);
    cr_assert_eq(aw_uplink_next_tick_ms(u, 1), 10);
    s_o.send_rc = AW_OK;
    cr_assert_eq(aw_uplink_tick(u, 11), AW_OK);
    cr_assert_eq(s_batch_at(0, epoch).first, 1);
    /* Any other send error is a broken link. */
    s_append(store, AW_LANE_URGENT, 1);
    s_o.send_rc = AW_ECLOSED;
    cr_assert_eq(aw_uplink_notify_appended(u, 12), AW_ECLOSED);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_DOWN);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------ down channel */

static void s_expect_down_ack(size_t i, uint64_t epoch, uint64_t applied)
{
    Anwang__Envelope *env = s_sent(i);
    cr_assert_eq(env->msg_case, ANWANG__ENVELOPE__MSG_DOWN_ACK);
    cr_assert_eq(env->down_ack->epoch, epoch);
    cr_assert_eq(env->down_ack->applied_seq, applied);
    aw_codec_envelope_free(&env);
}

Test(uplink, down_is_applied_once_and_acked)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    aw_uplink_t *u = s_uplink_with(store, s_opts());
    s_up(u, epoch, 0, 0, 0);
    cr_assert_eq(s_down(u, epoch, 1, 1), AW_OK);
    cr_assert_eq(s_o.n_applied, 1);
    cr_assert_eq(s_o.applied[0], 1);
    s_expect_down_ack(0, epoch, 1);
    /* The same Down again (its ack was lost): acked, not applied again. */
    cr_assert_eq(s_down(u, epoch, 1, 2), AW_OK);
    cr_assert_eq(s_o.n_applied, 1);
    s_expect_down_ack(1, epoch, 1);
    /* One beyond the next: not applied; the ack says where we are. */
    cr_assert_eq(s_down(u, epoch, 3, 3), AW_OK);
    cr_assert_eq(s_o.n_applied, 1);
    s_expect_down_ack(2, epoch, 1);
    /* Not applied (on_down failed): no ack; the center sends it again. */
    s_o.down_rc = AW_EIO;
    cr_assert_eq(s_down(u, epoch, 2, 4), AW_EIO);
    cr_assert_eq(s_o.n, 3);
    s_o.down_rc = AW_OK;
    cr_assert_eq(s_down(u, epoch, 2, 5), AW_OK);
    s_expect_down_ack(3, epoch, 2);
    /* Addressed to another epoch of this edge: refused. */
    cr_assert_eq(s_down(u, epoch + 1, 3, 6), AW_EPROTO);
    cr_assert_eq(s_o.n_applied, 2);
    cr_assert_eq(s_o.n, 4);
    /* The next Hello tells the center what was applied. */
    s_clear();
    cr_assert_eq(aw_uplink_connected(u, 7), AW_OK);
    Anwang__Envelope *env = s_sent(0);
    cr_assert_eq(env->hello->down_applied, 2);
    aw_codec_envelope_free(&env);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------ refusals, bad input */

Test(uplink, refuse_goes_down_with_backoff)
{
    aw_store_t *store = s_store();
    aw_uplink_opts o = s_opts();
    o.backoff_min_ms = 1000;
    aw_uplink_t *u = s_uplink_with(store, o);
    cr_assert_eq(aw_uplink_connected(u, 0), AW_OK);
    cr_assert_eq(s_refuse(u, 5), AW_OK);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_DOWN);
    int64_t d = aw_uplink_next_retry_ms(u, 5);
    cr_assert(d >= 500 && d <= 1000, "delay %lld", (long long)d);
    cr_assert_eq(aw_uplink_next_retry_ms(u, 5 + d), 0);
    /* While down, center messages are out of place. */
    cr_assert_eq(s_ack(u, aw_store_epoch(store), AW_LANE_BULK, 0, 6), AW_ESTATE);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

Test(uplink, bad_input_changes_nothing)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    s_append(store, AW_LANE_BULK, 30);
    aw_uplink_opts o = s_opts();
    o.batch_records = 10;
    o.dead_after_ms = 3000;
    o.heartbeat_ms = 100000;
    aw_uplink_t *u = s_uplink_with(store, o);

    /* Before Welcome: a Welcome of another epoch is refused, still connecting. */
    cr_assert_eq(aw_uplink_connected(u, 0), AW_OK);
    cr_assert_eq(s_welcome(u, epoch ^ 1, 0, 0, s_wall_now, 1), AW_EPROTO);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_CONNECTING);
    s_clear();
    cr_assert_eq(s_welcome(u, epoch, 0, 0, s_wall_now, 2), AW_OK);
    cr_assert_eq(s_o.n, 3);

    const uint8_t garbage[] = {0xFF, 0xFF, 0xFF, 0x01, 0x02};
    cr_assert_eq(aw_uplink_receive(u, garbage, sizeof garbage, 10), AW_EDECODE);
    cr_assert_eq(aw_uplink_receive(u, NULL, 0, 10), AW_EDECODE, "empty envelope has no msg");
    cr_assert_eq(s_ack(u, epoch ^ 1, AW_LANE_BULK, 10, 11), AW_EPROTO, "other epoch");
    cr_assert_eq(s_ack(u, epoch, AW_LANE_BULK, 31, 12), AW_EPROTO, "beyond head");
    cr_assert_eq(s_welcome(u, epoch, 0, 0, s_wall_now, 13), AW_ESTATE, "welcome while up");

    /* A Batch (what an edge sends, never a center). */
    Anwang__Batch b = ANWANG__BATCH__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    b.epoch = epoch;
    b.first_seq = 1;
    env.msg_case = ANWANG__ENVELOPE__MSG_BATCH;
    env.batch = &b;
    cr_assert_eq(s_feed(u, &env, 14), AW_EPROTO);

    cr_assert_eq(s_o.n, 3, "nothing sent");
    cr_assert_eq(s_acked(u, AW_LANE_BULK), 0, "nothing acked");
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_UP);
    /* Bad input did not count as life on the link. */
    cr_assert_eq(aw_uplink_tick(u, 3002), AW_OK);
    cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_DOWN);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

Test(uplink, status_reports_backlog_and_rate)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    s_append(store, AW_LANE_URGENT, 4);
    s_append(store, AW_LANE_BULK, 40);
    aw_uplink_t *u = s_uplink_with(store, s_opts());
    aw_uplink_status st;
    cr_assert_eq(aw_uplink_status_get(u, 0, &st), AW_OK);
    cr_assert_eq(st.state, AW_UPLINK_DOWN);
    cr_assert_eq(st.epoch, epoch);
    cr_assert_eq(st.backlog[AW_LANE_URGENT], 4);
    cr_assert_eq(st.backlog[AW_LANE_BULK], 40);
    cr_assert_eq(st.last_ack_wall_ms, 0);
    cr_assert(!st.skew_known);
    s_up(u, epoch, 1, 10, 0);
    cr_assert_eq(s_ack(u, epoch, AW_LANE_BULK, 40, 10), AW_OK);
    cr_assert_eq(aw_uplink_status_get(u, 1000, &st), AW_OK);
    cr_assert_eq(st.state, AW_UPLINK_UP);
    cr_assert_eq(st.backlog[AW_LANE_URGENT], 3);
    cr_assert_eq(st.backlog[AW_LANE_BULK], 0);
    cr_assert_eq(st.acked[AW_LANE_BULK], 40);
    cr_assert_eq(st.head[AW_LANE_BULK], 40);
    cr_assert_eq(st.batches_sent, 2);
    cr_assert_gt(st.bytes_sent, 0);
    cr_assert_gt(st.bytes_per_s, 0);
    cr_assert_leq(st.bytes_per_s, st.bytes_sent + 200);
    cr_assert_eq(st.in_flight, 1);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------ lossy link model */

/* A simulated link and center: messages queue in order each way and may be
 * dropped (a full HWM, a ROUTER drop) or cut (all queued lost); the center
 * applies a batch only when it continues its applied seq, exactly as the
 * real one must, and checks each applied record is the one of that seq. */
typedef struct s_sim {
    uint8_t *q[2][512]; /* [0] edge → center, [1] center → edge */
    size_t qlen[2][512], qn[2];
    uint64_t applied[AW_LANE_COUNT];
    uint64_t rng;
    unsigned drop_pct;
    uint64_t epoch;
} s_sim;

static uint64_t s_sim_rand(s_sim *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->rng;
}

static void s_sim_push(s_sim *s, int dir, const uint8_t *buf, size_t len)
{
    if (s->qn[dir] == 512 || s_sim_rand(s) % 100 < s->drop_pct)
        return; /* dropped */
    s->q[dir][s->qn[dir]] = malloc(len);
    memcpy(s->q[dir][s->qn[dir]], buf, len);
    s->qlen[dir][s->qn[dir]++] = len;
}

static int s_sim_send(void *arg, const uint8_t *buf, size_t len)
{
    s_sim_push(arg, 0, buf, len);
    return AW_OK;
}

static void s_sim_cut(s_sim *s)
{
    for (int d = 0; d < 2; d++) {
        for (size_t i = 0; i < s->qn[d]; i++)
            free(s->q[d][i]);
        s->qn[d] = 0;
    }
}

/* Takes the oldest message of direction @p dir; the caller frees it. */
static uint8_t *s_sim_pop(s_sim *s, int dir, size_t *len)
{
    if (s->qn[dir] == 0)
        return NULL;
    uint8_t *m = s->q[dir][0];
    *len = s->qlen[dir][0];
    memmove(&s->q[dir][0], &s->q[dir][1], (s->qn[dir] - 1) * sizeof s->q[dir][0]);
    memmove(&s->qlen[dir][0], &s->qlen[dir][1], (s->qn[dir] - 1) * sizeof s->qlen[dir][0]);
    s->qn[dir]--;
    return m;
}

static void s_sim_reply(s_sim *s, Anwang__Envelope *env)
{
    uint8_t *buf;
    size_t len;
    cr_assert_eq(aw_codec_envelope_encode(env, &buf, &len, NULL, 0), AW_OK);
    s_sim_push(s, 1, buf, len);
    free(buf);
}

static void s_sim_apply(s_sim *s, const Anwang__Batch *b)
{
    uint64_t *ap = &s->applied[b->lane];
    if (b->first_seq > *ap + 1)
        return; /* a hole: an earlier batch was lost; wait for the resend */
    for (size_t k = 0; k < b->n_records; k++) {
        uint64_t seq = b->first_seq + k;
        if (seq <= *ap)
            continue; /* already applied: skipped, exactly once */
        Anwang__Record *r = NULL;
        cr_assert_eq(
            aw_codec_record_decode(b->records[k].data, b->records[k].len, NULL, &r, NULL, 0),
            AW_OK);
        cr_assert_eq((uint64_t)r->reading->value, seq, "the record of seq %llu",
                     (unsigned long long)seq);
        aw_codec_record_free(&r);
        *ap = seq;
    }
    Anwang__Ack a = ANWANG__ACK__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    a.epoch = s->epoch;
    a.lane = b->lane;
    a.applied_seq = *ap;
    env.msg_case = ANWANG__ENVELOPE__MSG_ACK;
    env.ack = &a;
    s_sim_reply(s, &env);
}

static void s_sim_center(s_sim *s)
{
    size_t len;
    uint8_t *m = s_sim_pop(s, 0, &len);
    if (!m)
        return;
    Anwang__Envelope *in = NULL;
    cr_assert_eq(aw_codec_envelope_decode(m, len, NULL, &in, NULL, 0), AW_OK);
    free(m);
    if (in->msg_case == ANWANG__ENVELOPE__MSG_HELLO) {
        Anwang__LaneSeq ls[2] = {ANWANG__LANE_SEQ__INIT, ANWANG__LANE_SEQ__INIT};
        Anwang__LaneSeq *lp[2] = {&ls[0], &ls[1]};
        Anwang__Welcome w = ANWANG__WELCOME__INIT;
        Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
        for (int l = 0; l < 2; l++) {
            ls[l].lane = (Anwang__Lane)l;
            ls[l].seq = s->applied[l];
        }
        w.epoch = s->epoch;
        w.n_applied = 2;
        w.applied = lp;
        w.center_ms = 1;
        w.proto_version = AW_PROTO_VERSION;
        env.msg_case = ANWANG__ENVELOPE__MSG_WELCOME;
        env.welcome = &w;
        s_sim_reply(s, &env);
    } else if (in->msg_case == ANWANG__ENVELOPE__MSG_BATCH) {
        s_sim_apply(s, in->batch);
    }
    aw_codec_envelope_free(&in);
}

static aw_uplink_t *s_sim_uplink(aw_store_t *store, s_sim *s)
{
    aw_uplink_opts o = s_opts();
    o.send = s_sim_send;
    o.send_arg = s;
    o.batch_records = 7 + (unsigned)(s_sim_rand(s) % 300);
    o.window = 2 + (unsigned)(s_sim_rand(s) % 6);
    o.heartbeat_ms = 200;
    o.dead_after_ms = 600;
    o.resend_after_ms = 400;
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 300;
    o.rate_limit_bytes_per_s = s_sim_rand(s) % 2 ? 0 : 50000;
    return s_uplink_with(store, o);
}

/* One step of the world, 10 ms of simulated time. */
static void s_sim_step(s_sim *s, aw_store_t *store, aw_uplink_t **u, int64_t now, bool calm)
{
    uint64_t r = s_sim_rand(s) % 1000;
    if (!calm && r < 30) {
        s_append(store, r < 5 ? AW_LANE_URGENT : AW_LANE_BULK, 1 + s_sim_rand(s) % 200);
        aw_uplink_notify_appended(*u, now);
    } else if (!calm && r < 33) {
        s_sim_cut(s);
    } else if (!calm && r < 34) {
        aw_uplink_destroy(u); /* the edge restarts on the same store */
        *u = s_sim_uplink(store, s);
        s_sim_cut(s);
    }
    for (int i = 0; i < 4; i++)
        s_sim_center(s);
    size_t len;
    uint8_t *m;
    while ((m = s_sim_pop(s, 1, &len)) != NULL) {
        aw_uplink_receive(*u, m, len, now);
        free(m);
    }
    aw_uplink_tick(*u, now);
    if (aw_uplink_next_retry_ms(*u, now) == 0)
        aw_uplink_connected(*u, now);
}

Test(uplink, converges_exactly_once_over_a_lossy_link)
{
    for (uint64_t seed = 1; seed <= 12; seed++) {
        aw_store_t *store = s_store();
        s_sim *s = calloc(1, sizeof *s);
        s->rng = seed * UINT64_C(0x9E3779B97F4A7C15);
        s->epoch = aw_store_epoch(store);
        s->drop_pct = (unsigned)(seed % 4) * 2;
        aw_uplink_t *u = s_sim_uplink(store, s);
        int64_t now = 0;
        for (int i = 0; i < 3000; i++, now += 10)
            s_sim_step(s, store, &u, now, false);
        s->drop_pct = 0;
        for (int i = 0; i < 3000; i++, now += 10)
            s_sim_step(s, store, &u, now, true);
        for (int l = 0; l < AW_LANE_COUNT; l++) {
            aw_lane_info li = s_info(store, (aw_lane)l);
            cr_assert_eq(s->applied[l], li.head, "seed %llu %s: center %llu of %llu",
                         (unsigned long long)seed, aw_lane_name((aw_lane)l),
                         (unsigned long long)s->applied[l], (unsigned long long)li.head);
            cr_assert_eq(li.acked, li.head, "all acked");
        }
        cr_assert_eq(aw_uplink_state_get(u), AW_UPLINK_UP);
        s_sim_cut(s);
        free(s);
        aw_uplink_destroy(&u);
        aw_store_destroy(&store);
        s_teardown_store_dir();
    }
}

/* ------------------------------------------------------------ mutated input */

/* Runs after the suite's setup. */
static void s_setup_quiet(void)
{
    cr_assert_not_null(freopen("/dev/null", "w", stderr)); /* refusals log errors */
}

/* Encodes @p env into @p buf (at most @p cap bytes); returns its length. */
static size_t s_encode_into(const Anwang__Envelope *env, uint8_t *buf, size_t cap)
{
    uint8_t *b;
    size_t len;
    cr_assert_eq(aw_codec_envelope_encode(env, &b, &len, NULL, 0), AW_OK);
    cr_assert_leq(len, cap);
    memcpy(buf, b, len);
    free(b);
    return len;
}

/* Valid center messages for this epoch: Welcome, Acks, Down, Heartbeat, Refuse. */
static size_t s_seed_messages(uint64_t epoch, uint8_t msgs[][128], size_t lens[])
{
    size_t n = 0;
    Anwang__LaneSeq ls[2] = {ANWANG__LANE_SEQ__INIT, ANWANG__LANE_SEQ__INIT};
    Anwang__LaneSeq *lp[2] = {&ls[0], &ls[1]};
    Anwang__Welcome w = ANWANG__WELCOME__INIT;
    Anwang__Ack a = ANWANG__ACK__INIT;
    Anwang__Heartbeat hb = ANWANG__HEARTBEAT__INIT;
    Anwang__Refuse r = ANWANG__REFUSE__INIT;
    Anwang__AlarmAck aa = ANWANG__ALARM_ACK__INIT;
    Anwang__Down d = ANWANG__DOWN__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    ls[1].lane = ANWANG__LANE__LANE_BULK;
    ls[1].seq = 40;
    w.epoch = a.epoch = d.epoch = epoch;
    w.n_applied = 2;
    w.applied = lp;
    w.center_ms = 1;
    w.proto_version = AW_PROTO_VERSION;
    env.msg_case = ANWANG__ENVELOPE__MSG_WELCOME;
    env.welcome = &w;
    lens[n] = s_encode_into(&env, msgs[n], 128), n++;
    for (uint64_t seq = 10; seq <= 100; seq += 45) {
        a.lane = seq == 55 ? ANWANG__LANE__LANE_URGENT : ANWANG__LANE__LANE_BULK;
        a.applied_seq = seq;
        env.msg_case = ANWANG__ENVELOPE__MSG_ACK;
        env.ack = &a;
        lens[n] = s_encode_into(&env, msgs[n], 128), n++;
    }
    hb.wall_ms = 5;
    env.msg_case = ANWANG__ENVELOPE__MSG_HEARTBEAT;
    env.heartbeat = &hb;
    lens[n] = s_encode_into(&env, msgs[n], 128), n++;
    aa.alarm_id = "a-1";
    aa.by = "op";
    d.seq = 1;
    d.body_case = ANWANG__DOWN__BODY_ALARM_ACK;
    d.alarm_ack = &aa;
    env.msg_case = ANWANG__ENVELOPE__MSG_DOWN;
    env.down = &d;
    lens[n] = s_encode_into(&env, msgs[n], 128), n++;
    r.reason = "no";
    env.msg_case = ANWANG__ENVELOPE__MSG_REFUSE;
    env.refuse = &r;
    lens[n] = s_encode_into(&env, msgs[n], 128), n++;
    return n;
}

/* The invariants no input may break. */
static void s_check_invariants(aw_uplink_t *u, aw_store_t *store, unsigned window)
{
    aw_uplink_status st;
    cr_assert_eq(aw_uplink_status_get(u, 0, &st), AW_OK);
    cr_assert_leq(st.in_flight, window);
    cr_assert(st.state == AW_UPLINK_DOWN || st.state == AW_UPLINK_CONNECTING ||
              st.state == AW_UPLINK_UP);
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        cr_assert_leq(st.acked[l], st.head[l]);
        cr_assert_leq(s_info(store, (aw_lane)l).acked, st.head[l]);
    }
}

Test(uplink, mutated_messages_never_break_invariants, .init = s_setup_quiet)
{
    aw_store_t *store = s_store();
    uint64_t epoch = aw_store_epoch(store);
    s_append(store, AW_LANE_URGENT, 60);
    s_append(store, AW_LANE_BULK, 100);
    aw_uplink_opts o = s_opts();
    o.batch_records = 10;
    o.backoff_min_ms = 1;
    o.backoff_max_ms = 2;
    aw_uplink_t *u = s_uplink_with(store, o);
    uint8_t msgs[8][128], buf[256];
    size_t lens[8], n = s_seed_messages(epoch, msgs, lens);
    uint64_t rng = 0x2545F4914F6CDD1DULL;
    int64_t now = 0;
    for (int i = 0; i < 20000; i++, now += 3) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        size_t k = rng % n, len = lens[k];
        memcpy(buf, msgs[k], len);
        for (unsigned m = (unsigned)(rng >> 8) % 4; m > 0; m--) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            buf[rng % len] ^= (uint8_t)(1u << (rng >> 20) % 8);
        }
        if ((rng >> 30) % 8 == 0)
            len = (rng >> 33) % (len + 1); /* truncated */
        aw_uplink_receive(u, buf, len, now);
        s_check_invariants(u, store, 4);
        aw_uplink_tick(u, now);
        if (aw_uplink_next_retry_ms(u, now) == 0)
            aw_uplink_connected(u, now);
        if (s_o.n > 2000)
            s_clear();
    }
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------ durable only */

/* A store that commits without flushing (edge interval mode): with
 * durable_only nothing leaves before aw_store_sync(), and then exactly the
 * flushed records, so a power loss cannot take back what the center has. */
Test(uplink, durable_only_sends_what_was_flushed)
{
    aw_store_t *store = s_store(); /* AW_DURABLE_NOSYNC */
    s_append(store, AW_LANE_BULK, 5);
    aw_store_t *again = NULL;
    aw_uplink_opts o = s_opts();
    o.durable_only = true;
    cr_assert_eq(aw_store_sync(store), AW_OK);
    cr_assert_eq(s_info(store, AW_LANE_BULK).durable, 5);
    s_append(store, AW_LANE_BULK, 3); /* 6..8 committed, not flushed */
    aw_lane_info li = s_info(store, AW_LANE_BULK);
    cr_assert_eq(li.head, 8);
    cr_assert_eq(li.durable, 5);
    aw_uplink_t *u = s_uplink_with(store, o);
    s_up(u, aw_store_epoch(store), 0, 0, 1000);
    cr_assert_eq(aw_uplink_tick(u, 1000), AW_OK);
    uint64_t last = 0;
    for (size_t i = 0; i < s_o.n; i++)
        if (s_kind(i) == ANWANG__ENVELOPE__MSG_BATCH)
            last = s_batch_at(i, aw_store_epoch(store)).last;
    cr_assert_eq(last, 5, "only the flushed records 1..5 went up (last sent %" PRIu64 ")", last);
    s_clear();
    cr_assert_eq(aw_store_sync(store), AW_OK);
    cr_assert_eq(aw_uplink_notify_appended(u, 1001), AW_OK);
    cr_assert_eq(aw_uplink_tick(u, 1001), AW_OK);
    last = 0;
    for (size_t i = 0; i < s_o.n; i++)
        if (s_kind(i) == ANWANG__ENVELOPE__MSG_BATCH)
            last = s_batch_at(i, aw_store_epoch(store)).last;
    cr_assert_eq(last, 8, "after the flush 6..8 went up (last sent %" PRIu64 ")", last);
    aw_uplink_destroy(&u);
    aw_store_destroy(&store);
    /* a new process finds the records that survived: all of them durable */
    aw_store_opts so = {
        .path = s_dir, .map_size = (size_t)256 << 20, .durability = AW_DURABLE_NOSYNC};
    cr_assert_eq(aw_store_open(&so, &again), AW_OK);
    cr_assert_eq(s_info(again, AW_LANE_BULK).durable, 8);
    aw_store_destroy(&again);
}
