/* session.c: one edge's replication session at the center, without sockets. */
#include "session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "codec.h"
#include "down.h"
#include "log.h"

#define S_DEFAULT_LINK_TIMEOUT_MS 30000
#define S_DEFAULT_DOWN_RESEND_MS  10000
#define S_DEFAULT_DOWN_WINDOW     16

struct aw_center_session {
    aw_center_db_t *db;
    aw_center_send_fn send;
    void *send_arg;
    int64_t link_timeout_ms, down_resend_ms;
    unsigned down_window;
    char edge[AW_CENTER_EDGE_ID_MAX + 1];
    char cert_zone[AW_CENTER_ZONE_MAX + 1]; /* "" = take the Hello's */
    aw_session_state state;
    uint64_t epoch;
    int64_t last_rx_ms;
    uint64_t down_sent;  /* highest Down seq sent in this session */
    uint64_t down_acked; /* the edge's acked mark, as last read */
    int64_t down_progress_ms;
};

int aw_center_session_new(const aw_center_session_opts *opts, aw_center_session_t **out)
{
    if (out == NULL)
        return AW_EINVAL;
    *out = NULL;
    if (opts == NULL || opts->db == NULL || opts->send == NULL ||
        !aw_center_edge_id_ok(opts->edge_id) ||
        (opts->zone != NULL && strlen(opts->zone) > AW_CENTER_ZONE_MAX))
        return AW_EINVAL;
    aw_center_session_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        return AW_ENOMEM;
    self->db = opts->db;
    self->send = opts->send;
    self->send_arg = opts->send_arg;
    self->link_timeout_ms =
        opts->link_timeout_ms > 0 ? opts->link_timeout_ms : S_DEFAULT_LINK_TIMEOUT_MS;
    self->down_resend_ms =
        opts->down_resend_ms > 0 ? opts->down_resend_ms : S_DEFAULT_DOWN_RESEND_MS;
    self->down_window = opts->down_window > 0 ? opts->down_window : S_DEFAULT_DOWN_WINDOW;
    snprintf(self->edge, sizeof self->edge, "%s", opts->edge_id);
    snprintf(self->cert_zone, sizeof self->cert_zone, "%s", opts->zone ? opts->zone : "");
    *out = self;
    return AW_OK;
}

void aw_center_session_destroy(aw_center_session_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    free(*self_p);
    *self_p = NULL;
}

aw_session_state aw_center_session_state(const aw_center_session_t *self)
{
    return self->state;
}

uint64_t aw_center_session_epoch(const aw_center_session_t *self)
{
    return self->epoch;
}

const char *aw_center_session_edge(const aw_center_session_t *self)
{
    return self->edge;
}

/* ------------------------------------------------------------ sending */

static int s_send(aw_center_session_t *self, const Anwang__Envelope *env)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[160];
    int rv = aw_codec_envelope_encode(env, &buf, &len, why, sizeof why);
    if (rv != AW_OK) {
        aw_error("center: edge %s: cannot encode a reply: %s", self->edge, why);
        return rv;
    }
    rv = self->send(self->send_arg, buf, len);
    free(buf);
    return rv;
}

static int s_send_refuse(aw_center_session_t *self, const char *reason)
{
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    Anwang__Refuse refuse = ANWANG__REFUSE__INIT;
    refuse.reason = (char *)reason;
    env.msg_case = ANWANG__ENVELOPE__MSG_REFUSE;
    env.refuse = &refuse;
    return s_send(self, &env);
}

static int s_send_ack(aw_center_session_t *self, aw_lane lane, uint64_t applied)
{
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    Anwang__Ack ack = ANWANG__ACK__INIT;
    ack.epoch = self->epoch;
    ack.lane = (Anwang__Lane)lane;
    ack.applied_seq = applied;
    env.msg_case = ANWANG__ENVELOPE__MSG_ACK;
    env.ack = &ack;
    return s_send(self, &env);
}

static int s_send_heartbeat(aw_center_session_t *self, int64_t now_ms)
{
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    Anwang__Heartbeat hb = ANWANG__HEARTBEAT__INIT;
    hb.wall_ms = now_ms < 0 ? 0 : now_ms;
    env.msg_case = ANWANG__ENVELOPE__MSG_HEARTBEAT;
    env.heartbeat = &hb;
    return s_send(self, &env);
}

static int s_send_welcome(aw_center_session_t *self, const uint64_t applied[AW_LANE_COUNT],
                          int64_t now_ms)
{
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    Anwang__Welcome w = ANWANG__WELCOME__INIT;
    Anwang__LaneSeq ls[AW_LANE_COUNT], *lsp[AW_LANE_COUNT];
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        anwang__lane_seq__init(&ls[l]);
        ls[l].lane = (Anwang__Lane)l;
        ls[l].seq = applied[l];
        lsp[l] = &ls[l];
    }
    w.epoch = self->epoch;
    w.n_applied = AW_LANE_COUNT;
    w.applied = lsp;
    w.center_ms = now_ms < 0 ? 0 : now_ms;
    w.proto_version = AW_PROTO_VERSION;
    env.msg_case = ANWANG__ENVELOPE__MSG_WELCOME;
    env.welcome = &w;
    return s_send(self, &env);
}

/* ------------------------------------------------------------ row updates */

typedef int (*s_txn_fn)(aw_center_session_t *self, aw_txn_t *txn, void *arg);

/* Runs @p fn in one write transaction, committed when it returns AW_OK. */
static int s_in_txn(aw_center_session_t *self, s_txn_fn fn, void *arg)
{
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(aw_center_db_store(self->db), &txn);
    if (rv == AW_OK)
        rv = fn(self, txn, arg);
    if (rv == AW_OK)
        return aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    return rv;
}

typedef struct s_contact {
    int64_t now_ms;
    const int64_t *edge_wall_ms; /* NULL: skew unchanged */
    bool connected;
} s_contact;

static int s_contact_txn(aw_center_session_t *self, aw_txn_t *txn, void *arg)
{
    const s_contact *c = arg;
    aw_center_edge_row row;
    int rv = aw_center_edge_row_get(txn, self->db, self->edge, &row);
    if (rv != AW_OK && rv != AW_ENOTFOUND)
        return rv;
    row.connected = c->connected;
    row.last_contact_ms = c->now_ms;
    if (c->edge_wall_ms != NULL)
        row.skew_ms = *c->edge_wall_ms - c->now_ms;
    return aw_center_edge_row_put(txn, self->db, self->edge, &row);
}

/* ------------------------------------------------------------ Hello */

typedef struct s_hello_ctx {
    const Anwang__Hello *h;
    char zone[AW_CENTER_ZONE_MAX + 1];
    int64_t now_ms;
    uint64_t applied[AW_LANE_COUNT];
    uint64_t down_acked;
    bool new_epoch;
    int down_range; /* AW_ERANGE: down_applied beyond what was sent */
    aw_snapshot_report snap;
} s_hello_ctx;

/* A new epoch: the old one's queue goes, the new one gets a snapshot. The
 * seq counter starts after the edge's down_applied, in case this center
 * lost what it had sent (restored store), so no seq is reused. */
static int s_new_epoch(aw_center_session_t *self, aw_txn_t *txn, s_hello_ctx *c, uint64_t old)
{
    const Anwang__Hello *h = c->h;
    aw_center_epoch_row er = {0};
    int rv = old != 0 ? aw_center_down_drop_txn(txn, self->db, self->edge, old) : AW_OK;
    if (rv == AW_OK)
        rv = aw_center_epoch_row_get(txn, self->db, self->edge, h->epoch, &er);
    if (rv == AW_ENOTFOUND) {
        er.first_seen_ms = c->now_ms;
        if (h->has_down_applied)
            er.down_last = er.down_acked = h->down_applied;
        rv = aw_center_epoch_row_put(txn, self->db, self->edge, h->epoch, &er);
    }
    if (rv == AW_OK)
        rv = aw_center_down_snapshot_txn(txn, self->db, self->edge, h->epoch, c->zone, c->now_ms,
                                         &c->snap);
    return rv;
}

static void s_hello_row(aw_center_edge_row *row, const s_hello_ctx *c)
{
    const Anwang__Hello *h = c->h;
    if (c->new_epoch)
        memset(row->head, 0, sizeof row->head);
    for (size_t i = 0; i < h->n_heads; i++)
        if ((unsigned)h->heads[i]->lane < AW_LANE_COUNT)
            row->head[h->heads[i]->lane] = h->heads[i]->seq;
    row->epoch = h->epoch;
    row->connected = true;
    row->last_contact_ms = c->now_ms;
    row->skew_ms = h->wall_ms - c->now_ms;
    row->hellos++;
    snprintf(row->zone, sizeof row->zone, "%s", c->zone);
}

static int s_hello_txn(aw_center_session_t *self, aw_txn_t *txn, void *arg)
{
    s_hello_ctx *c = arg;
    const Anwang__Hello *h = c->h;
    aw_center_edge_row row;
    aw_center_epoch_row er = {0};
    int rv = aw_center_edge_row_get(txn, self->db, self->edge, &row);
    if (rv != AW_OK && rv != AW_ENOTFOUND)
        return rv;
    if (c->zone[0] == '\0')
        snprintf(c->zone, sizeof c->zone, "%s", row.zone);
    c->new_epoch = row.epoch != h->epoch;
    rv = c->new_epoch ? s_new_epoch(self, txn, c, row.epoch) : AW_OK;
    s_hello_row(&row, c);
    if (rv == AW_OK)
        rv = aw_center_edge_row_put(txn, self->db, self->edge, &row);
    for (int l = 0; rv == AW_OK && l < AW_LANE_COUNT; l++)
        rv = aw_center_applied_get(txn, self->db, self->edge, h->epoch, (aw_lane)l, &c->applied[l]);
    if (rv == AW_OK && h->has_down_applied) {
        rv = aw_center_down_ack_txn(txn, self->db, self->edge, h->epoch, h->down_applied);
        c->down_range = rv;
        rv = rv == AW_ERANGE ? AW_OK : rv;
    }
    if (rv == AW_OK)
        rv = aw_center_epoch_row_get(txn, self->db, self->edge, h->epoch, &er);
    c->down_acked = er.down_acked;
    return rv == AW_ENOTFOUND ? AW_OK : rv;
}

/* One line per notable thing an accepted Hello did. */
static void s_hello_log(const aw_center_session_t *self, const s_hello_ctx *c)
{
    const Anwang__Hello *h = c->h;
    if (c->new_epoch && c->zone[0] == '\0')
        aw_warn("center: edge %s: zone unknown (neither certificate nor hello names it): the new "
                "epoch gets no snapshot",
                self->edge);
    if (c->new_epoch)
        aw_info("center: edge %s: new epoch %016" PRIx64 ", snapshot: registry %zu, %zu open "
                "hazards (%zu events), %zu alerts",
                self->edge, h->epoch, c->snap.registry, c->snap.hazards, c->snap.hazard_events,
                c->snap.alerts);
    if (c->down_range == AW_ERANGE)
        aw_warn("center: edge %s: hello says down %" PRIu64 " applied, more than was sent",
                self->edge, h->down_applied);
}

/* The checks of a Hello: AW_OK, or AW_EPERM (identity) / AW_EPROTO (protocol)
 * with the refusal's reason in @p buf. */
static int s_hello_check(const aw_center_session_t *self, const Anwang__Hello *h, char *buf,
                         size_t len)
{
    if (strcmp(h->edge_id, self->edge) != 0) {
        snprintf(buf, len, "edge id %s is not the certificate's (%s)", h->edge_id, self->edge);
        return AW_EPERM;
    }
    if (self->cert_zone[0] && h->zone != NULL && strcmp(h->zone, self->cert_zone) != 0) {
        snprintf(buf, len, "zone %s is not the certificate's (%s)", h->zone, self->cert_zone);
        return AW_EPERM;
    }
    if (h->proto_version != AW_PROTO_VERSION) {
        snprintf(buf, len, "protocol version %u not supported (center speaks %d)", h->proto_version,
                 AW_PROTO_VERSION);
        return AW_EPROTO;
    }
    if (h->epoch == 0) {
        snprintf(buf, len, "epoch 0 is not an epoch");
        return AW_EPROTO;
    }
    return AW_OK;
}

static int s_hello(aw_center_session_t *self, const Anwang__Hello *h, int64_t now_ms)
{
    char why[400];
    int rv = s_hello_check(self, h, why, sizeof why);
    if (rv != AW_OK) {
        aw_warn("center: edge %s: hello refused: %s", self->edge, why);
        self->state = AW_SESSION_DOWN;
        s_send_refuse(self, why);
        return rv;
    }
    s_hello_ctx c = {.h = h, .now_ms = now_ms};
    const char *zone = self->cert_zone[0] ? self->cert_zone : h->zone;
    snprintf(c.zone, sizeof c.zone, "%s", zone ? zone : "");
    rv = s_in_txn(self, s_hello_txn, &c);
    if (rv != AW_OK) {
        aw_error("center: edge %s: hello: %s", self->edge, aw_strerror(rv));
        self->state = AW_SESSION_DOWN;
        return rv;
    }
    s_hello_log(self, &c);
    self->epoch = h->epoch;
    self->state = AW_SESSION_UP;
    self->last_rx_ms = now_ms;
    self->down_sent = self->down_acked = c.down_acked;
    self->down_progress_ms = now_ms;
    aw_info("center: edge %s: up, epoch %016" PRIx64 ", applied urgent %" PRIu64 " bulk %" PRIu64,
            self->edge, h->epoch, c.applied[AW_LANE_URGENT], c.applied[AW_LANE_BULK]);
    rv = s_send_welcome(self, c.applied, now_ms);
    return rv == AW_OK ? aw_center_session_pump(self, now_ms) : rv;
}

/* ------------------------------------------------------------ Batch */

/* Logs what applying @p b did and acks it. */
static int s_batch_done(aw_center_session_t *self, const Anwang__Batch *b,
                        const aw_apply_result *res)
{
    const char *lane = aw_lane_name((aw_lane)b->lane);
    if (res->n_poison > 0)
        aw_warn("center: edge %s: %zu poison record(s) quarantined in the %s lane, first at seq "
                "%" PRIu64 ": %s",
                self->edge, res->n_poison, lane, res->poison_seq, res->poison_why);
    if (res->hole)
        aw_info("center: edge %s: %s batch from %" PRIu64 " refused: hole after %" PRIu64,
                self->edge, lane, b->first_seq, res->applied);
    if (res->gap_skipped > 0)
        aw_warn("center: edge %s: %" PRIu64 " %s seqs dropped by the edge (gap) skipped",
                self->edge, res->gap_skipped, lane);
    return s_send_ack(self, (aw_lane)b->lane, res->applied);
}

/* Applies @p n batches of the session's epoch in one transaction, then acks each. */
static int s_batches(aw_center_session_t *self, const Anwang__Batch *const *b, size_t n,
                     int64_t now_ms)
{
    aw_apply_result res[AW_SESSION_GROUP_MAX];
    int rv = aw_center_apply_batches(self->db, self->edge, b, n, now_ms, res);
    /* A full map is grown after the aborted transaction: try once more now
     * rather than leave the edge waiting for its resend timer. */
    if (rv == AW_EFULL)
        rv = aw_center_apply_batches(self->db, self->edge, b, n, now_ms, res);
    if (rv != AW_OK) {
        aw_error("center: edge %s: %zu batch(es) from %s %" PRIu64 " not applied: %s", self->edge,
                 n, aw_lane_name((aw_lane)b[0]->lane), b[0]->first_seq, aw_strerror(rv));
        return rv;
    }
    for (size_t i = 0; i < n && rv == AW_OK; i++)
        rv = s_batch_done(self, b[i], &res[i]);
    return rv;
}

static int s_batch(aw_center_session_t *self, const Anwang__Batch *b, int64_t now_ms)
{
    if (b->epoch != self->epoch) {
        aw_warn("center: edge %s: batch of epoch %016" PRIx64 " ignored (session epoch %016" PRIx64
                ")",
                self->edge, b->epoch, self->epoch);
        return AW_EPROTO;
    }
    return s_batches(self, &b, 1, now_ms);
}

/* ------------------------------------------------------------ Heartbeat, DownAck */

static int s_heartbeat(aw_center_session_t *self, const Anwang__Heartbeat *hb, int64_t now_ms)
{
    int64_t wall = hb->wall_ms;
    s_contact c = {.now_ms = now_ms, .edge_wall_ms = &wall, .connected = true};
    int rv = s_in_txn(self, s_contact_txn, &c);
    if (rv != AW_OK)
        aw_error("center: edge %s: heartbeat: %s", self->edge, aw_strerror(rv));
    return s_send_heartbeat(self, now_ms);
}

typedef struct s_dack {
    const Anwang__DownAck *a;
    int range; /* AW_ERANGE: the edge acked more than was queued */
} s_dack;

static int s_down_ack_txn(aw_center_session_t *self, aw_txn_t *txn, void *arg)
{
    s_dack *d = arg;
    aw_center_epoch_row er = {0};
    int rv = aw_center_down_ack_txn(txn, self->db, self->edge, d->a->epoch, d->a->applied_seq);
    d->range = rv;
    if (rv == AW_ERANGE)
        rv = AW_OK;
    if (rv == AW_OK)
        rv = aw_center_epoch_row_get(txn, self->db, self->edge, d->a->epoch, &er);
    if (rv == AW_OK || rv == AW_ENOTFOUND)
        self->down_acked = er.down_acked;
    return rv == AW_ENOTFOUND ? AW_OK : rv;
}

static int s_down_ack(aw_center_session_t *self, const Anwang__DownAck *a, int64_t now_ms)
{
    if (a->epoch != self->epoch) {
        aw_warn("center: edge %s: down ack of epoch %016" PRIx64 " ignored", self->edge, a->epoch);
        return AW_EPROTO;
    }
    uint64_t before = self->down_acked;
    s_dack d = {.a = a};
    int rv = s_in_txn(self, s_down_ack_txn, &d);
    if (rv != AW_OK) {
        aw_error("center: edge %s: down ack: %s", self->edge, aw_strerror(rv));
        return rv;
    }
    if (d.range == AW_ERANGE)
        aw_warn("center: edge %s: down ack %" PRIu64 " beyond the last down queued", self->edge,
                a->applied_seq);
    if (self->down_acked > before)
        self->down_progress_ms = now_ms;
    if (self->down_sent < self->down_acked)
        self->down_sent = self->down_acked;
    rv = aw_center_session_pump(self, now_ms);
    return rv != AW_OK ? rv : d.range == AW_ERANGE ? AW_EPROTO : AW_OK;
}

/* ------------------------------------------------------------ dispatch */

static const char *s_msg_name(Anwang__Envelope__MsgCase m)
{
    switch (m) {
    case ANWANG__ENVELOPE__MSG_WELCOME:
        return "welcome";
    case ANWANG__ENVELOPE__MSG_REFUSE:
        return "refuse";
    case ANWANG__ENVELOPE__MSG_ACK:
        return "ack";
    case ANWANG__ENVELOPE__MSG_DOWN:
        return "down";
    default:
        return "unknown message";
    }
}

int aw_center_session_handle(aw_center_session_t *self, const Anwang__Envelope *env, int64_t now_ms)
{
    if (self == NULL || env == NULL)
        return AW_EINVAL;
    Anwang__Envelope__MsgCase m = env->msg_case;
    if (m == ANWANG__ENVELOPE__MSG_HELLO && env->hello != NULL)
        return s_hello(self, env->hello, now_ms);
    bool up_only = (m == ANWANG__ENVELOPE__MSG_BATCH && env->batch != NULL) ||
                   (m == ANWANG__ENVELOPE__MSG_HEARTBEAT && env->heartbeat != NULL) ||
                   (m == ANWANG__ENVELOPE__MSG_DOWN_ACK && env->down_ack != NULL);
    if (up_only && self->state != AW_SESSION_UP) {
        aw_warn("center: edge %s: message before hello refused", self->edge);
        s_send_refuse(self, "hello first");
        return AW_ESTATE;
    }
    if (up_only)
        self->last_rx_ms = now_ms;
    if (m == ANWANG__ENVELOPE__MSG_BATCH && up_only)
        return s_batch(self, env->batch, now_ms);
    if (m == ANWANG__ENVELOPE__MSG_HEARTBEAT && up_only)
        return s_heartbeat(self, env->heartbeat, now_ms);
    if (m == ANWANG__ENVELOPE__MSG_DOWN_ACK && up_only)
        return s_down_ack(self, env->down_ack, now_ms);
    if (m == ANWANG__ENVELOPE__MSG_REFUSE && env->refuse != NULL) {
        aw_warn("center: edge %s: refused us: %s", self->edge, env->refuse->reason);
        self->state = AW_SESSION_DOWN;
    } else {
        aw_warn("center: edge %s: %s from an edge ignored", self->edge, s_msg_name(m));
    }
    return AW_EPROTO;
}

/* True for a Batch that s_batches() may take into a group. */
static bool s_groupable(const aw_center_session_t *self, const Anwang__Envelope *env)
{
    return env != NULL && self->state == AW_SESSION_UP &&
           env->msg_case == ANWANG__ENVELOPE__MSG_BATCH && env->batch != NULL &&
           env->batch->epoch == self->epoch;
}

bool aw_center_session_groupable(const aw_center_session_t *self, const Anwang__Envelope *env)
{
    return self != NULL && s_groupable(self, env);
}

int aw_center_session_handle_many(aw_center_session_t *self, const Anwang__Envelope *const *envs,
                                  size_t n, int64_t now_ms)
{
    if (self == NULL || (n > 0 && envs == NULL))
        return AW_EINVAL;
    int first = AW_OK;
    for (size_t i = 0; i < n;) {
        const Anwang__Batch *group[AW_SESSION_GROUP_MAX];
        size_t k = 0;
        while (i + k < n && k < AW_SESSION_GROUP_MAX && s_groupable(self, envs[i + k])) {
            group[k] = envs[i + k]->batch;
            k++;
        }
        int rv;
        if (k > 0) {
            self->last_rx_ms = now_ms;
            rv = s_batches(self, group, k, now_ms);
            i += k;
        } else {
            rv = aw_center_session_handle(self, envs[i++], now_ms);
        }
        if (first == AW_OK)
            first = rv;
    }
    return first;
}

/* ------------------------------------------------------------ batches of many sessions */

/* The checks of aw_center_sessions_apply(); *total = the batches. */
static bool s_sessions_ok(const aw_session_batches *g, size_t n, size_t *total)
{
    *total = 0;
    for (size_t i = 0; i < n; i++) {
        if (g[i].session == NULL || g[i].n == 0 || g[i].n > AW_SESSION_GROUP_MAX ||
            g[i].envs == NULL || g[i].session->db != g[0].session->db)
            return false;
        for (size_t k = 0; k < g[i].n; k++)
            if (!s_groupable(g[i].session, g[i].envs[k]))
                return false;
        *total += g[i].n;
    }
    return true;
}

/* Acks every batch of the groups applied together; the first send error. */
static int s_sessions_ack(const aw_session_batches *g, size_t n, const aw_apply_group *ag,
                          int64_t now_ms)
{
    int first = AW_OK;
    for (size_t i = 0; i < n; i++) {
        int rv = AW_OK;
        g[i].session->last_rx_ms = now_ms;
        for (size_t k = 0; k < g[i].n && rv == AW_OK; k++)
            rv = s_batch_done(g[i].session, ag[i].batches[k], &ag[i].res[k]);
        if (first == AW_OK)
            first = rv;
    }
    return first;
}

/* The joint transaction failed: each session alone, as handle_many would. */
static int s_sessions_one_by_one(const aw_session_batches *g, size_t n, const aw_apply_group *ag,
                                 int64_t now_ms)
{
    int first = AW_OK;
    for (size_t i = 0; i < n; i++) {
        g[i].session->last_rx_ms = now_ms;
        int rv = s_batches(g[i].session, ag[i].batches, ag[i].n, now_ms);
        if (first == AW_OK)
            first = rv;
    }
    return first;
}

/* One transaction for all the groups, then the acks; one by one when it fails. */
static int s_sessions_joint(aw_center_db_t *db, const aw_session_batches *g, size_t n,
                            const aw_apply_group *ag, int64_t now_ms)
{
    int rv = aw_center_apply_edges(db, ag, n, now_ms);
    if (rv == AW_EFULL) /* the map was grown after the abort: once more now */
        rv = aw_center_apply_edges(db, ag, n, now_ms);
    if (rv == AW_OK)
        return s_sessions_ack(g, n, ag, now_ms);
    aw_warn("center: %zu edges' batches not applied together (%s): applying them edge by edge", n,
            aw_strerror(rv));
    return s_sessions_one_by_one(g, n, ag, now_ms);
}

int aw_center_sessions_apply(const aw_session_batches *groups, size_t n, int64_t now_ms)
{
    size_t total = 0;
    if (n == 0)
        return AW_OK;
    if (groups == NULL || !s_sessions_ok(groups, n, &total))
        return AW_EINVAL;
    aw_center_db_t *db = groups[0].session->db;
    aw_apply_group *ag = calloc(n, sizeof *ag);
    const Anwang__Batch **b = calloc(total, sizeof *b);
    aw_apply_result *res = calloc(total, sizeof *res);
    int rv = ag && b && res ? AW_OK : AW_ENOMEM;
    for (size_t i = 0, off = 0; rv == AW_OK && i < n; off += groups[i++].n) {
        for (size_t k = 0; k < groups[i].n; k++)
            b[off + k] = groups[i].envs[k]->batch;
        ag[i] = (aw_apply_group){groups[i].session->edge, b + off, groups[i].n, res + off};
    }
    if (rv == AW_OK) /* one session alone: as handle_many, with its log lines */
        rv = n == 1 ? s_sessions_one_by_one(groups, n, ag, now_ms)
                    : s_sessions_joint(db, groups, n, ag, now_ms);
    free(res);
    free(b);
    free(ag);
    return rv;
}

/* ------------------------------------------------------------ down channel, timers */

typedef struct s_pump {
    aw_center_session_t *self;
    int rv;
} s_pump;

static int s_pump_cb(void *arg, uint64_t seq, const uint8_t *env, size_t len)
{
    s_pump *p = arg;
    if ((p->rv = p->self->send(p->self->send_arg, env, len)) != AW_OK)
        return 1;
    p->self->down_sent = seq;
    return 0;
}

int aw_center_session_pump(aw_center_session_t *self, int64_t now_ms)
{
    if (self == NULL)
        return AW_EINVAL;
    if (self->state != AW_SESSION_UP)
        return AW_OK;
    uint64_t in_flight = self->down_sent - self->down_acked;
    if (in_flight >= self->down_window)
        return AW_OK;
    if (in_flight == 0)
        self->down_progress_ms = now_ms;
    s_pump p = {self, AW_OK};
    int rv = aw_center_down_read(self->db, self->edge, self->epoch, self->down_sent + 1,
                                 self->down_window - in_flight, s_pump_cb, &p);
    return rv != AW_OK ? rv : p.rv;
}

int aw_center_session_close(aw_center_session_t *self, int64_t now_ms)
{
    if (self == NULL)
        return AW_EINVAL;
    bool was_up = self->state == AW_SESSION_UP;
    self->state = AW_SESSION_DOWN;
    if (!was_up)
        return AW_OK;
    s_contact c = {.now_ms = self->last_rx_ms, .connected = false};
    return s_in_txn(self, s_contact_txn, &c);
}

int aw_center_session_tick(aw_center_session_t *self, int64_t now_ms)
{
    if (self == NULL)
        return AW_EINVAL;
    if (self->state != AW_SESSION_UP)
        return AW_OK;
    if (now_ms - self->last_rx_ms > self->link_timeout_ms) {
        aw_warn("center: edge %s: link down, silent for %" PRId64 " ms", self->edge,
                now_ms - self->last_rx_ms);
        int rv = aw_center_session_close(self, now_ms);
        return rv != AW_OK ? rv : AW_ETIMEDOUT;
    }
    if (self->down_sent > self->down_acked &&
        now_ms - self->down_progress_ms > self->down_resend_ms) {
        aw_info("center: edge %s: resending downs from %" PRIu64, self->edge, self->down_acked + 1);
        self->down_sent = self->down_acked;
        return aw_center_session_pump(self, now_ms);
    }
    return AW_OK;
}
