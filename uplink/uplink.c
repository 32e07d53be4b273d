/* The edge's side of replication: Hello/Welcome, windowed batches per lane
 * with acks, heartbeats, the down channel, backoff (SPEC §5). */
#include "uplink.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Largest batch_bytes: with a 5,000-record envelope's framing it stays well
 * under the codec's 4 MiB message limit (CURVE holds twice a frame). */
#define S_MAX_BATCH_BYTES ((size_t)2 << 20)
/* Largest window: more changes nothing when the center applies one batch at
 * a time (notes/replication-ceiling.md), and bounds memory in the queues. */
#define S_MAX_WINDOW 64
/* Poll again this soon when the transport said EAGAIN. */
#define S_EAGAIN_RETRY_MS 10
/* Largest bulk budget; keeps the token arithmetic (bytes · ms) in int64. */
#define S_MAX_RATE UINT64_C(1000000000000)

/* One batch sent and not acked yet. */
typedef struct s_flight {
    aw_lane lane;
    uint64_t first, last;
} s_flight;

struct aw_uplink {
    aw_store_t *store;
    aw_uplink_opts o; /* defaults applied; edge_id and zone point to our copies */
    uint64_t epoch;
    aw_uplink_state state;
    uint64_t next[AW_LANE_COUNT];  /* next seq to send per lane */
    uint64_t acked[AW_LANE_COUNT]; /* center's applied seq, ahead of the store's mark */
    bool ack_dirty[AW_LANE_COUNT]; /* acked not yet written to the store */
    int64_t ack_flush_at;
    s_flight *flight;
    unsigned n_flight;
    int64_t last_send, last_recv, last_progress, hello_sent; /* monotonic ms */
    bool blocked;                                            /* the transport said EAGAIN */
    int64_t retry_at;
    unsigned failures;
    uint64_t rng;
    int64_t tokens; /* bulk budget in bytes · 1000 (so refill is rate per ms) */
    int64_t refill_at;
    /* batch building: the records of one batch copied out of the read txn */
    ProtobufCBinaryData *recs;
    size_t *offs;
    uint8_t *arena;
    size_t arena_cap;
    /* status */
    uint64_t down_applied;
    int64_t last_ack_wall;
    bool skew_known, diverged;
    int64_t skew_ms;
    uint64_t batches_sent, bytes_sent, resends;
    int64_t meter_at;
    uint64_t meter_bytes, bytes_per_s;
};

const char *aw_uplink_state_name(aw_uplink_state state)
{
    switch (state) {
    case AW_UPLINK_DOWN:
        return "down";
    case AW_UPLINK_CONNECTING:
        return "connecting";
    case AW_UPLINK_UP:
        return "up";
    }
    return "?";
}

/* ------------------------------------------------------------ helpers */

static int64_t s_wall(const aw_uplink_t *u)
{
    if (u->o.wall_ms)
        return u->o.wall_ms(u->o.wall_arg);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* splitmix64: jitter only, not security. */
static uint64_t s_rand(aw_uplink_t *u)
{
    uint64_t z = (u->rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* The next reconnect delay: min(max, min · 2^failures), jittered into its
 * upper half so that edges cut off together do not all return together. */
static int64_t s_backoff(aw_uplink_t *u)
{
    int64_t base = u->o.backoff_min_ms;
    for (unsigned i = 0; i < u->failures && base < u->o.backoff_max_ms; i++)
        base *= 2;
    if (base > u->o.backoff_max_ms)
        base = u->o.backoff_max_ms;
    int64_t half = base / 2;
    return base - half + (int64_t)(s_rand(u) % (uint64_t)(half + 1));
}

/* Writes the acked marks to the store (each its own short write txn; with
 * B = 5000 that is hundreds of commits a second when done per ack). */
static int s_flush_acks(aw_uplink_t *u, int64_t now)
{
    u->ack_flush_at = now;
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        if (!u->ack_dirty[l])
            continue;
        int rc = aw_store_mark_acked(u->store, (aw_lane)l, u->acked[l]);
        if (rc != AW_OK) {
            aw_error("uplink: cannot record ack %s %" PRIu64 ": %s", aw_lane_name((aw_lane)l),
                     u->acked[l], aw_strerror(rc));
            return rc;
        }
        u->ack_dirty[l] = false;
    }
    return AW_OK;
}

/* Enters DOWN (from any state but DOWN) and draws the reconnect delay. */
static void s_go_down(aw_uplink_t *u, int64_t now, const char *why)
{
    if (u->state == AW_UPLINK_DOWN)
        return;
    u->state = AW_UPLINK_DOWN;
    s_flush_acks(u, now);
    u->n_flight = 0;
    u->blocked = false;
    int64_t delay = s_backoff(u);
    if (u->failures < 64)
        u->failures++;
    u->retry_at = now + delay;
    aw_warn("uplink: down (%s); reconnect in %" PRId64 " ms", why, delay);
}

static void s_meter(aw_uplink_t *u, int64_t now)
{
    int64_t dt = now - u->meter_at;
    if (dt < 1000)
        return;
    u->bytes_per_s = u->meter_bytes * 1000 / (uint64_t)dt;
    u->meter_bytes = 0;
    u->meter_at = now;
}

/* Encodes @p env and hands it to the transport. A broken link (any send
 * error but AW_EAGAIN) takes the uplink DOWN. Returns AW_OK, AW_EAGAIN, the
 * send error, or the codec's error for a message we built wrong. */
static int s_send_env(aw_uplink_t *u, const Anwang__Envelope *env, int64_t now, size_t *sent)
{
    uint8_t *buf;
    size_t len;
    char why[160];
    int rc = aw_codec_envelope_encode(env, &buf, &len, why, sizeof why);
    if (rc != AW_OK) {
        aw_error("uplink: cannot encode: %s: %s", aw_strerror(rc), why);
        return rc;
    }
    rc = u->o.send(u->o.send_arg, buf, len);
    free(buf);
    u->blocked = rc == AW_EAGAIN;
    if (rc == AW_EAGAIN)
        return rc;
    if (rc != AW_OK) {
        s_go_down(u, now, aw_strerror(rc));
        return rc;
    }
    u->last_send = now;
    u->bytes_sent += len;
    u->meter_bytes += len;
    if (sent)
        *sent = len;
    return AW_OK;
}

static int s_lane_infos(aw_uplink_t *u, aw_lane_info li[AW_LANE_COUNT])
{
    int rc;
    for (int l = 0; l < AW_LANE_COUNT; l++)
        if ((rc = aw_store_lane_info(u->store, (aw_lane)l, &li[l])) != AW_OK)
            return rc;
    return AW_OK;
}

/* ------------------------------------------------------------ lifecycle */

static int s_defaults(aw_uplink_opts *o)
{
    if (!o->batch_records)
        o->batch_records = 5000;
    if (!o->batch_bytes)
        o->batch_bytes = (size_t)1 << 20;
    if (!o->window)
        o->window = 4;
    if (!o->heartbeat_ms)
        o->heartbeat_ms = 5000;
    if (!o->dead_after_ms)
        o->dead_after_ms = 15000;
    if (!o->resend_after_ms)
        o->resend_after_ms = 30000;
    if (!o->backoff_min_ms)
        o->backoff_min_ms = 500;
    if (!o->ack_flush_ms)
        o->ack_flush_ms = 100;
    if (!o->backoff_max_ms)
        o->backoff_max_ms = 30000;
    if (!o->send || !o->on_down || !o->edge_id)
        return AW_EINVAL;
    if (o->batch_records > aw_codec_default_limits.max_records ||
        o->batch_bytes > S_MAX_BATCH_BYTES || o->window < 2 || o->window > S_MAX_WINDOW ||
        o->rate_limit_bytes_per_s > S_MAX_RATE)
        return AW_EINVAL;
    if (o->heartbeat_ms < 0 || o->dead_after_ms < 0 || o->resend_after_ms < 0 ||
        o->ack_flush_ms < 0 || o->backoff_min_ms < 0 || o->backoff_max_ms < o->backoff_min_ms ||
        o->backoff_max_ms > INT64_MAX / 4)
        return AW_EINVAL;
    return AW_OK;
}

static char *s_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void s_fill_hello(aw_uplink_t *u, const aw_lane_info li[AW_LANE_COUNT], int64_t wall,
                         Anwang__Hello *h, Anwang__LaneSeq ls[AW_LANE_COUNT],
                         Anwang__LaneSeq *lp[AW_LANE_COUNT]);

/* Checks edge_id and zone by the codec's rules, as a Hello would carry them. */
static int s_check_ids(aw_uplink_t *u)
{
    aw_lane_info li[AW_LANE_COUNT] = {0};
    Anwang__Hello h;
    Anwang__LaneSeq ls[AW_LANE_COUNT], *lp[AW_LANE_COUNT];
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    s_fill_hello(u, li, 1, &h, ls, lp);
    env.msg_case = ANWANG__ENVELOPE__MSG_HELLO;
    env.hello = &h;
    uint8_t *buf;
    size_t len;
    int rc = aw_codec_envelope_encode(&env, &buf, &len, NULL, 0);
    free(buf);
    return rc == AW_ENOMEM ? rc : rc != AW_OK ? AW_EINVAL : AW_OK;
}

/* Allocates the window, the batch buffers and the copies of the ids;
 * u->o still borrows the caller's strings on entry. */
static int s_alloc(aw_uplink_t *u)
{
    const char *zone = u->o.zone;
    u->flight = calloc(u->o.window, sizeof *u->flight);
    u->recs = calloc(u->o.batch_records, sizeof *u->recs);
    u->offs = calloc(u->o.batch_records, sizeof *u->offs);
    u->arena_cap = u->o.batch_bytes;
    u->arena = malloc(u->arena_cap);
    u->o.edge_id = s_strdup(u->o.edge_id);
    u->o.zone = s_strdup(zone);
    if (!u->flight || !u->recs || !u->offs || !u->arena || !u->o.edge_id || (zone && !u->o.zone))
        return AW_ENOMEM;
    return AW_OK;
}

void aw_uplink_destroy(aw_uplink_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aw_uplink_t *u = *self_p;
    s_flush_acks(u, u->ack_flush_at);
    free(u->flight);
    free(u->recs);
    free(u->offs);
    free(u->arena);
    free((char *)u->o.edge_id);
    free((char *)u->o.zone);
    free(u);
    *self_p = NULL;
}

static int s_load_acked(aw_uplink_t *u)
{
    aw_lane_info li[AW_LANE_COUNT];
    int rc = s_lane_infos(u, li);
    for (int l = 0; rc == AW_OK && l < AW_LANE_COUNT; l++)
        u->acked[l] = li[l].acked;
    return rc;
}

int aw_uplink_new(aw_store_t *store, const aw_uplink_opts *opts, aw_uplink_t **out)
{
    if (!out)
        return AW_EINVAL;
    *out = NULL;
    if (!store || !opts)
        return AW_EINVAL;
    aw_uplink_t *u = calloc(1, sizeof *u);
    if (!u)
        return AW_ENOMEM;
    u->o = *opts;
    u->store = store;
    u->epoch = aw_store_epoch(store);
    u->down_applied = opts->down_applied;
    u->rng = opts->seed ? opts->seed : u->epoch;
    int rc = s_defaults(&u->o);
    if (rc != AW_OK) {
        free(u);
        return rc;
    }
    u->tokens = (int64_t)u->o.rate_limit_bytes_per_s * 1000; /* a full bucket: 1 s of budget */
    if ((rc = s_alloc(u)) != AW_OK || (rc = s_check_ids(u)) != AW_OK ||
        (rc = s_load_acked(u)) != AW_OK) {
        aw_uplink_destroy(&u);
        return rc;
    }
    *out = u;
    return AW_OK;
}

/* ------------------------------------------------------------ session */

static void s_fill_hello(aw_uplink_t *u, const aw_lane_info li[AW_LANE_COUNT], int64_t wall,
                         Anwang__Hello *h, Anwang__LaneSeq ls[AW_LANE_COUNT],
                         Anwang__LaneSeq *lp[AW_LANE_COUNT])
{
    anwang__hello__init(h);
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        anwang__lane_seq__init(&ls[l]);
        ls[l].lane = (Anwang__Lane)l;
        ls[l].seq = li[l].head;
        lp[l] = &ls[l];
    }
    h->edge_id = (char *)u->o.edge_id;
    h->epoch = u->epoch;
    h->n_heads = AW_LANE_COUNT;
    h->heads = lp;
    h->wall_ms = wall < 0 ? 0 : wall;
    h->proto_version = AW_PROTO_VERSION;
    h->zone = (char *)u->o.zone;
    h->has_down_applied = true;
    h->down_applied = u->down_applied;
    h->has_registry_version = u->o.registry_version != 0;
    h->registry_version = u->o.registry_version;
}

int aw_uplink_connected(aw_uplink_t *self, int64_t now_ms)
{
    aw_lane_info li[AW_LANE_COUNT];
    Anwang__Hello h;
    Anwang__LaneSeq ls[AW_LANE_COUNT], *lp[AW_LANE_COUNT];
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    int rc = s_lane_infos(self, li);
    if (rc != AW_OK)
        return rc;
    s_fill_hello(self, li, s_wall(self), &h, ls, lp);
    env.msg_case = ANWANG__ENVELOPE__MSG_HELLO;
    env.hello = &h;
    self->state = AW_UPLINK_CONNECTING;
    self->n_flight = 0;
    self->hello_sent = self->last_recv = now_ms;
    if ((rc = s_send_env(self, &env, now_ms, NULL)) != AW_OK) {
        s_go_down(self, now_ms, "Hello not sent");
        return rc;
    }
    aw_info("uplink: connecting: hello epoch %016" PRIx64 " heads urgent %" PRIu64 " bulk %" PRIu64,
            self->epoch, li[AW_LANE_URGENT].head, li[AW_LANE_BULK].head);
    return AW_OK;
}

void aw_uplink_disconnected(aw_uplink_t *self, int64_t now_ms)
{
    s_go_down(self, now_ms, "transport disconnected");
}

/* ------------------------------------------------------------ batches */

/* The records of one batch, copied out of the store's read transaction. */
typedef struct s_batch {
    aw_uplink_t *u;
    uint64_t first;
    size_t n, used;
    int rc;
} s_batch;

static int s_collect(void *arg, uint64_t seq, const void *rec, size_t len)
{
    s_batch *b = arg;
    aw_uplink_t *u = b->u;
    if (b->n > 0 && seq != b->first + b->n)
        return 1; /* a batch carries dense seqs; the rest goes in the next one */
    if (b->used + len > u->arena_cap) {
        size_t cap = b->used + len; /* only when one record exceeds batch_bytes */
        uint8_t *a = realloc(u->arena, cap);
        if (!a) {
            b->rc = AW_ENOMEM;
            return 1;
        }
        u->arena = a;
        u->arena_cap = cap;
    }
    if (b->n == 0)
        b->first = seq;
    memcpy(u->arena + b->used, rec, len);
    u->offs[b->n] = b->used;
    u->recs[b->n].len = len;
    b->used += len;
    b->n++;
    return 0;
}

/* Record bytes one batch of @p lane may carry: a bulk batch is at most one
 * second of the budget, so the budget holds over short spans too. */
static size_t s_batch_bytes(const aw_uplink_t *u, aw_lane lane)
{
    uint64_t rate = u->o.rate_limit_bytes_per_s;
    if (lane == AW_LANE_BULK && rate && rate < u->o.batch_bytes)
        return (size_t)rate;
    return u->o.batch_bytes;
}

/* Reads the next batch of @p lane in one short read txn, packs it (the
 * stored records as they are, not re-encoded) and sends it. *sent is false
 * when there was nothing to send or the transport said EAGAIN. */
static int s_send_batch(aw_uplink_t *u, aw_lane lane, int64_t now, bool *sent)
{
    s_batch b = {.u = u};
    *sent = false;
    size_t max = u->o.batch_records;
    if (u->o.durable_only) {
        aw_lane_info li;
        int lrc = aw_store_lane_info(u->store, lane, &li);
        if (lrc != AW_OK)
            return lrc;
        if (li.durable < u->next[lane])
            return AW_OK;
        if (li.durable - u->next[lane] + 1 < max)
            max = (size_t)(li.durable - u->next[lane] + 1);
    }
    int rc =
        aw_store_read(u->store, lane, u->next[lane], max, s_batch_bytes(u, lane), s_collect, &b);
    if (rc == AW_OK)
        rc = b.rc;
    if (rc != AW_OK || b.n == 0)
        return rc;
    for (size_t i = 0; i < b.n; i++)
        u->recs[i].data = u->arena + u->offs[i];
    Anwang__Batch batch = ANWANG__BATCH__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    batch.epoch = u->epoch;
    batch.lane = (Anwang__Lane)lane;
    batch.first_seq = b.first;
    batch.n_records = b.n;
    batch.records = u->recs;
    env.msg_case = ANWANG__ENVELOPE__MSG_BATCH;
    env.batch = &batch;
    size_t len = 0;
    if ((rc = s_send_env(u, &env, now, &len)) != AW_OK)
        return rc == AW_EAGAIN ? AW_OK : rc;
    if (u->n_flight == 0)
        u->last_progress = now;
    u->flight[u->n_flight++] = (s_flight){lane, b.first, b.first + b.n - 1};
    u->next[lane] = b.first + b.n;
    u->batches_sent++;
    if (lane == AW_LANE_BULK && u->o.rate_limit_bytes_per_s)
        u->tokens -= (int64_t)len * 1000;
    *sent = true;
    return AW_OK;
}

static void s_refill(aw_uplink_t *u, int64_t now)
{
    int64_t rate = (int64_t)u->o.rate_limit_bytes_per_s, dt = now - u->refill_at;
    if (!rate || dt <= 0)
        return;
    u->refill_at = now;
    if (dt >= 1000 || u->tokens + rate * dt >= rate * 1000)
        u->tokens = rate * 1000;
    else
        u->tokens += rate * dt;
}

static unsigned s_in_flight(const aw_uplink_t *u, aw_lane lane)
{
    unsigned n = 0;
    for (unsigned i = 0; i < u->n_flight; i++)
        n += u->flight[i].lane == lane;
    return n;
}

/* True when @p lane has stored records not sent in this session. Moves
 * next past records pruned meanwhile (their loss is a Gap record). */
static bool s_unsent(aw_uplink_t *u, aw_lane lane, const aw_lane_info *li)
{
    if (u->next[lane] < li->first)
        u->next[lane] = li->first;
    return u->next[lane] <= (u->o.durable_only ? li->durable : li->head);
}

/* Picks the lane of the next batch: urgent whenever it has unsent records
 * and a slot is free; bulk only with a slot to spare (one stays for urgent)
 * and budget left. Returns false when nothing may be sent now. */
static bool s_pick(aw_uplink_t *u, const aw_lane_info li[AW_LANE_COUNT], aw_lane *lane)
{
    if (u->state != AW_UPLINK_UP || u->n_flight >= u->o.window)
        return false;
    if (s_unsent(u, AW_LANE_URGENT, &li[AW_LANE_URGENT])) {
        *lane = AW_LANE_URGENT;
        return true;
    }
    if (!s_unsent(u, AW_LANE_BULK, &li[AW_LANE_BULK]) ||
        s_in_flight(u, AW_LANE_BULK) >= u->o.window - 1 ||
        (u->o.rate_limit_bytes_per_s && u->tokens <= 0))
        return false;
    *lane = AW_LANE_BULK;
    return true;
}

/* Sends batches while the window, the lanes and the budget allow. */
static int s_pump(aw_uplink_t *u, int64_t now)
{
    aw_lane_info li[AW_LANE_COUNT];
    aw_lane lane;
    bool sent = true;
    int rc = AW_OK;
    s_refill(u, now);
    while (rc == AW_OK && sent) {
        if ((rc = s_lane_infos(u, li)) != AW_OK || !s_pick(u, li, &lane))
            break;
        rc = s_send_batch(u, lane, now, &sent);
    }
    if (rc != AW_OK)
        aw_warn("uplink: sending stopped: %s", aw_strerror(rc));
    return rc;
}

/* Forgets what is in flight and sends again from the acked marks. */
static void s_rewind(aw_uplink_t *u, int64_t now)
{
    for (int l = 0; l < AW_LANE_COUNT; l++)
        u->next[l] = u->acked[l] + 1;
    u->n_flight = 0;
    u->last_progress = now;
    u->resends++;
    aw_warn("uplink: no ack for %" PRId64 " ms; resending from urgent %" PRIu64 " bulk %" PRIu64,
            u->o.resend_after_ms, u->next[AW_LANE_URGENT], u->next[AW_LANE_BULK]);
}

/* ------------------------------------------------------------ messages in */

/* The center's applied seq of each lane in a Welcome (0 when absent). */
static void s_applied(const Anwang__Welcome *w, uint64_t applied[AW_LANE_COUNT])
{
    applied[AW_LANE_URGENT] = applied[AW_LANE_BULK] = 0;
    for (size_t i = 0; i < w->n_applied; i++)
        applied[w->applied[i]->lane] = w->applied[i]->seq;
}

/* Raises the acked marks to the center's applied seqs and sets where each
 * lane's sending starts: applied + 1, or the lane's first stored seq when
 * the records after applied were pruned (unacked ones left a Gap record). */
static int s_resume(aw_uplink_t *u, const uint64_t applied[AW_LANE_COUNT], int64_t now)
{
    aw_lane_info li[AW_LANE_COUNT];
    int rc = s_lane_infos(u, li);
    for (int l = 0; rc == AW_OK && l < AW_LANE_COUNT; l++) {
        if (applied[l] < u->acked[l])
            aw_warn("uplink: center applied %s %" PRIu64 " below our acked mark %" PRIu64
                    "; resending what is still stored",
                    aw_lane_name((aw_lane)l), applied[l], u->acked[l]);
        if (applied[l] > u->acked[l]) {
            u->acked[l] = applied[l];
            u->ack_dirty[l] = true;
        }
        u->next[l] = applied[l] + 1 > li[l].first ? applied[l] + 1 : li[l].first;
    }
    return rc == AW_OK ? s_flush_acks(u, now) : rc;
}

/* Returns AW_EPROTO when the center holds more of this epoch than we stored
 * (our log lost commits but kept its epoch): going on would reuse seqs the
 * center skips as duplicates, so we stop and say so. */
static int s_check_diverged(aw_uplink_t *u, const uint64_t applied[AW_LANE_COUNT], int64_t now)
{
    aw_lane_info li[AW_LANE_COUNT];
    int rc = s_lane_infos(u, li);
    if (rc != AW_OK)
        return rc;
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        if (applied[l] > li[l].head) {
            u->diverged = true;
            aw_error("uplink: center applied %s %" PRIu64 " beyond our head %" PRIu64
                     " in epoch %016" PRIx64 ": log lost commits; not sending",
                     aw_lane_name((aw_lane)l), applied[l], li[l].head, u->epoch);
            s_go_down(u, now, "log diverged from center");
            return AW_EPROTO;
        }
    }
    return AW_OK;
}

static int s_on_welcome(aw_uplink_t *u, const Anwang__Welcome *w, int64_t now)
{
    uint64_t applied[AW_LANE_COUNT];
    if (u->state != AW_UPLINK_CONNECTING)
        return AW_ESTATE;
    if (w->epoch != u->epoch)
        return AW_EPROTO;
    if (w->proto_version != AW_PROTO_VERSION) {
        s_go_down(u, now, "center speaks another protocol version");
        return AW_EPROTO;
    }
    s_applied(w, applied);
    int rc = s_check_diverged(u, applied, now);
    if (rc != AW_OK)
        return rc;
    if ((rc = s_resume(u, applied, now)) != AW_OK) {
        s_go_down(u, now, aw_strerror(rc));
        return rc;
    }
    int64_t wall = s_wall(u);
    u->skew_ms = w->center_ms - (wall - (now - u->hello_sent) / 2);
    u->skew_known = true;
    u->last_ack_wall = wall;
    u->state = AW_UPLINK_UP;
    u->failures = 0;
    u->n_flight = 0;
    aw_info("uplink: up: center applied urgent %" PRIu64 " bulk %" PRIu64 ", skew %" PRId64 " ms",
            applied[AW_LANE_URGENT], applied[AW_LANE_BULK], u->skew_ms);
    return s_pump(u, now);
}

/* Drops the in-flight batches of @p lane that @p applied covers. */
static void s_release(aw_uplink_t *u, aw_lane lane, uint64_t applied, int64_t now)
{
    unsigned k = 0;
    for (unsigned i = 0; i < u->n_flight; i++)
        if (u->flight[i].lane != lane || u->flight[i].last > applied)
            u->flight[k++] = u->flight[i];
    if (k != u->n_flight)
        u->last_progress = now;
    u->n_flight = k;
}

static int s_on_ack(aw_uplink_t *u, const Anwang__Ack *a, int64_t now)
{
    aw_lane lane = (aw_lane)a->lane;
    aw_lane_info li;
    if (u->state == AW_UPLINK_DOWN)
        return AW_ESTATE;
    int rc = aw_store_lane_info(u->store, lane, &li);
    if (rc != AW_OK)
        return rc;
    if (a->epoch != u->epoch || a->applied_seq > li.head)
        return AW_EPROTO;
    if (a->applied_seq > u->acked[lane]) {
        u->acked[lane] = a->applied_seq;
        u->ack_dirty[lane] = true;
    }
    if (u->next[lane] <= a->applied_seq)
        u->next[lane] = a->applied_seq + 1;
    s_release(u, lane, a->applied_seq, now);
    u->last_ack_wall = s_wall(u);
    if ((rc = s_pump(u, now)) != AW_OK)
        return rc;
    return now - u->ack_flush_at >= u->o.ack_flush_ms ? s_flush_acks(u, now) : AW_OK;
}

static int s_send_down_ack(aw_uplink_t *u, int64_t now)
{
    Anwang__DownAck da = ANWANG__DOWN_ACK__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    da.epoch = u->epoch;
    da.applied_seq = u->down_applied;
    env.msg_case = ANWANG__ENVELOPE__MSG_DOWN_ACK;
    env.down_ack = &da;
    int rc = s_send_env(u, &env, now, NULL);
    return rc == AW_EAGAIN ? AW_OK : rc; /* the center sends the Down again */
}

/* Applies the next Down in order; one already applied is only acked again,
 * one beyond the next is not applied, and the ack of the last applied seq
 * tells the center where to resume. */
static int s_on_down(aw_uplink_t *u, const Anwang__Down *d, int64_t now)
{
    if (u->state == AW_UPLINK_DOWN)
        return AW_ESTATE;
    if (d->epoch != u->epoch)
        return AW_EPROTO;
    if (d->seq == u->down_applied + 1) {
        int rc = u->o.on_down(u->o.down_arg, d);
        if (rc != AW_OK) {
            aw_warn("uplink: down %" PRIu64 " not applied: %s", d->seq, aw_strerror(rc));
            return rc;
        }
        u->down_applied = d->seq;
    } else if (d->seq > u->down_applied + 1) {
        aw_warn("uplink: down %" PRIu64 " out of order (applied %" PRIu64 "); not applied", d->seq,
                u->down_applied);
    }
    return s_send_down_ack(u, now);
}

static int s_on_refuse(aw_uplink_t *u, const Anwang__Refuse *r, int64_t now)
{
    if (u->state == AW_UPLINK_DOWN)
        return AW_ESTATE;
    aw_error("uplink: refused by center: %s", r->reason);
    s_go_down(u, now, "refused");
    return AW_OK;
}

static int s_dispatch(aw_uplink_t *u, const Anwang__Envelope *env, int64_t now)
{
    switch (env->msg_case) {
    case ANWANG__ENVELOPE__MSG_WELCOME:
        return s_on_welcome(u, env->welcome, now);
    case ANWANG__ENVELOPE__MSG_ACK:
        return s_on_ack(u, env->ack, now);
    case ANWANG__ENVELOPE__MSG_DOWN:
        return s_on_down(u, env->down, now);
    case ANWANG__ENVELOPE__MSG_REFUSE:
        return s_on_refuse(u, env->refuse, now);
    case ANWANG__ENVELOPE__MSG_HEARTBEAT:
        return u->state == AW_UPLINK_DOWN ? AW_ESTATE : AW_OK;
    default: /* Hello, Batch, DownAck: what an edge sends, never a center */
        return AW_EPROTO;
    }
}

static const char *s_msg_name(Anwang__Envelope__MsgCase m)
{
    static const char *const names[] = {"none", "hello",     "welcome", "refuse",  "batch",
                                        "ack",  "heartbeat", "down",    "down_ack"};
    return (unsigned)m < sizeof names / sizeof names[0] ? names[m] : "?";
}

int aw_uplink_receive(aw_uplink_t *self, const uint8_t *buf, size_t len, int64_t now_ms)
{
    Anwang__Envelope *env = NULL;
    char why[160];
    int rc = aw_codec_envelope_decode(buf, len, NULL, &env, why, sizeof why);
    if (rc != AW_OK) {
        aw_warn("uplink: malformed message from center (%zu bytes): %s: %s", len, aw_strerror(rc),
                why);
        return rc;
    }
    rc = s_dispatch(self, env, now_ms);
    if (rc == AW_EPROTO || rc == AW_ESTATE)
        aw_warn("uplink: unexpected %s from center while %s: %s", s_msg_name(env->msg_case),
                aw_uplink_state_name(self->state), aw_strerror(rc));
    else if (self->state != AW_UPLINK_DOWN)
        self->last_recv = now_ms;
    aw_codec_envelope_free(&env);
    return rc;
}

/* ------------------------------------------------------------ timers */

static int s_send_heartbeat(aw_uplink_t *u, int64_t now)
{
    Anwang__Heartbeat hb = ANWANG__HEARTBEAT__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    int64_t wall = s_wall(u);
    hb.wall_ms = wall < 0 ? 0 : wall;
    env.msg_case = ANWANG__ENVELOPE__MSG_HEARTBEAT;
    env.heartbeat = &hb;
    int rc = s_send_env(u, &env, now, NULL);
    return rc == AW_EAGAIN ? AW_OK : rc;
}

int aw_uplink_tick(aw_uplink_t *self, int64_t now_ms)
{
    s_meter(self, now_ms);
    if ((self->ack_dirty[AW_LANE_URGENT] || self->ack_dirty[AW_LANE_BULK]) &&
        now_ms - self->ack_flush_at >= self->o.ack_flush_ms)
        s_flush_acks(self, now_ms); /* logged; retried on the next tick */
    if (self->state == AW_UPLINK_DOWN)
        return AW_OK;
    if (now_ms - self->last_recv >= self->o.dead_after_ms) {
        s_go_down(self, now_ms,
                  self->state == AW_UPLINK_UP ? "center silent" : "no Welcome after Hello");
        return AW_OK;
    }
    if (self->state != AW_UPLINK_UP)
        return AW_OK;
    if (self->n_flight && now_ms - self->last_progress >= self->o.resend_after_ms)
        s_rewind(self, now_ms);
    int rc = s_pump(self, now_ms);
    if (rc == AW_OK && self->state == AW_UPLINK_UP &&
        now_ms - self->last_send >= self->o.heartbeat_ms)
        rc = s_send_heartbeat(self, now_ms);
    return rc;
}

int aw_uplink_notify_appended(aw_uplink_t *self, int64_t now_ms)
{
    return s_pump(self, now_ms);
}

int64_t aw_uplink_next_retry_ms(const aw_uplink_t *self, int64_t now_ms)
{
    if (self->state != AW_UPLINK_DOWN)
        return -1;
    return self->retry_at > now_ms ? self->retry_at - now_ms : 0;
}

static int64_t s_min_due(int64_t a, int64_t due_at, int64_t now)
{
    int64_t d = due_at > now ? due_at - now : 0;
    return a < 0 || d < a ? d : a;
}

/* Ms until the bulk budget is positive again, when bulk waits only for it. */
static int64_t s_budget_due(const aw_uplink_t *u)
{
    aw_lane_info li;
    int64_t rate = (int64_t)u->o.rate_limit_bytes_per_s;
    if (!rate || u->tokens > 0 || aw_store_lane_info(u->store, AW_LANE_BULK, &li) != AW_OK ||
        u->next[AW_LANE_BULK] > li.head)
        return -1;
    return (-u->tokens) / rate + 1;
}

int64_t aw_uplink_next_tick_ms(const aw_uplink_t *self, int64_t now_ms)
{
    const aw_uplink_t *u = self;
    if (u->state == AW_UPLINK_DOWN)
        return -1;
    int64_t t = s_min_due(-1, u->last_recv + u->o.dead_after_ms, now_ms);
    if (u->state != AW_UPLINK_UP)
        return t;
    t = s_min_due(t, u->last_send + u->o.heartbeat_ms, now_ms);
    if (u->n_flight)
        t = s_min_due(t, u->last_progress + u->o.resend_after_ms, now_ms);
    if (u->blocked)
        t = s_min_due(t, now_ms + S_EAGAIN_RETRY_MS, now_ms);
    if (u->ack_dirty[AW_LANE_URGENT] || u->ack_dirty[AW_LANE_BULK])
        t = s_min_due(t, u->ack_flush_at + u->o.ack_flush_ms, now_ms);
    int64_t budget = s_budget_due(u);
    if (budget >= 0)
        t = s_min_due(t, now_ms + budget, now_ms);
    return t;
}

/* ------------------------------------------------------------ status */

void aw_uplink_set_registry_version(aw_uplink_t *self, uint64_t version)
{
    self->o.registry_version = version;
}

aw_uplink_state aw_uplink_state_get(const aw_uplink_t *self)
{
    return self->state;
}

int aw_uplink_status_get(aw_uplink_t *self, int64_t now_ms, aw_uplink_status *out)
{
    aw_lane_info li[AW_LANE_COUNT];
    int rc = s_lane_infos(self, li);
    if (rc != AW_OK)
        return rc;
    s_meter(self, now_ms);
    *out = (aw_uplink_status){
        .state = self->state,
        .epoch = self->epoch,
        .last_ack_wall_ms = self->last_ack_wall,
        .skew_known = self->skew_known,
        .skew_ms = self->skew_ms,
        .bytes_per_s = self->bytes_per_s,
        .in_flight = self->n_flight,
        .down_applied = self->down_applied,
        .batches_sent = self->batches_sent,
        .bytes_sent = self->bytes_sent,
        .resends = self->resends,
        .diverged = self->diverged,
    };
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        uint64_t acked = self->acked[l] > li[l].acked ? self->acked[l] : li[l].acked;
        uint64_t done = acked > li[l].first - 1 ? acked : li[l].first - 1;
        out->head[l] = li[l].head;
        out->acked[l] = acked;
        out->backlog[l] = li[l].head > done ? li[l].head - done : 0;
    }
    return AW_OK;
}
