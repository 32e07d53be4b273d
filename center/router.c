/* router.c: the center's ROUTER + zauth transport, one session per edge. */
#include "router.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allow.h"
#include "codec.h"
#include "log.h"
#include "session.h"

#define S_ZAP_DOMAIN      "anwang"
#define S_RCVHWM          32
#define S_SNDHWM          256
#define S_HANDSHAKE_MS    5000
#define S_BACKLOG         512
#define S_MAXMSG_SLACK    (64 << 10)
#define S_DRAIN_MAX       2048
#define S_DRAIN_BYTES     ((size_t)64 << 20)
#define S_ROUTING_ID_MAX  256
#define S_DEFAULT_HB_MS   5000
#define S_DEFAULT_POLL_MS 2000
#define S_NO_SECRET       "0000000000000000000000000000000000000000"

/* One edge: its session and where its replies go. */
typedef struct s_edge {
    aw_router_t *router;
    aw_center_session_t *session;
    char id[AW_CENTER_EDGE_ID_MAX + 1];
    char zone[AW_CENTER_ZONE_MAX + 1];
    char key[41];                  /* public key of the current connection */
    uint8_t rid[S_ROUTING_ID_MAX]; /* current routing id (rid_len 0 = none) */
    size_t rid_len;
    bool gone; /* a send found the peer gone */
    /* s_collect()'s per-turn scratch */
    uint64_t turn;
    size_t run, group, slot;
    bool run_open;
} s_edge;

/* What the socket monitor saw since the last summary. */
typedef struct s_counts {
    unsigned auth, protocol, other, revoked;
} s_counts;

/* What one drain turn collected, in arrival order. */
typedef struct s_drain {
    Anwang__Envelope *env[S_DRAIN_MAX];
    struct s_edge *edge[S_DRAIN_MAX];
    bool grouped[S_DRAIN_MAX]; /* applied with the other edges' batches */
    size_t n, bytes;
    /* s_dispatch()'s scratch */
    aw_session_batches groups[S_DRAIN_MAX];
    const Anwang__Envelope *flat[S_DRAIN_MAX];
    const Anwang__Envelope *run[S_DRAIN_MAX];
} s_drain;

struct aw_router {
    aw_router_opts o;
    char *bind, *allow_dir, *stage_dir, *stage;
    unsigned stage_gen;
    zcert_t *cert;
    zactor_t *auth;
    zsock_t *sock;
    zsock_t *mon;
    aw_allow_t *allow;
    uint64_t allow_fp;
    int allow_fp_rv;
    int64_t next_poll_ms;
    zhashx_t *edges; /* edge id → s_edge */
    aw_codec_limits lim;
    s_counts seen;
    s_drain drain; /* what the current aw_router_process() turn received */
    uint64_t turn; /* s_collect() passes */
};

/* ------------------------------------------------------------ edges */

static void s_edge_free(void **item)
{
    s_edge *e = *item;
    if (!e)
        return;
    aw_center_session_destroy(&e->session);
    free(e);
    *item = NULL;
}

/* The session's send callback: [routing id][envelope], never blocking. */
static int s_send(void *arg, const uint8_t *buf, size_t len)
{
    s_edge *e = arg;
    void *s = zsock_resolve(e->router->sock);
    if (e->rid_len == 0 || e->gone)
        return AW_ECLOSED;
    if (zmq_send(s, e->rid, e->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(s, buf, len, ZMQ_DONTWAIT) < 0) {
        int err = zmq_errno();
        if (err == EAGAIN)
            return AW_EAGAIN;
        e->gone = true; /* EHOSTUNREACH under ROUTER_MANDATORY: the peer left */
        return AW_ECLOSED;
    }
    return AW_OK;
}

static int s_session_new(aw_router_t *r, s_edge *e)
{
    aw_center_session_opts so = {
        .db = r->o.db,
        .edge_id = e->id,
        .zone = e->zone[0] ? e->zone : NULL,
        .send = s_send,
        .send_arg = e,
        .link_timeout_ms = r->o.link_timeout_ms,
        .down_resend_ms = r->o.down_resend_ms,
    };
    return aw_center_session_new(&so, &e->session);
}

/* Forgets the edge's connection: session DOWN (recorded), no routing id. */
static void s_edge_drop(aw_router_t *r, s_edge *e, int64_t now_ms, const char *why)
{
    if (e->rid_len == 0 && !e->gone)
        return;
    aw_info("center: edge %s: connection closed (%s)", e->id, why);
    int rv = aw_center_session_close(e->session, now_ms);
    if (rv != AW_OK)
        aw_error("center: edge %s: link state not stored: %s", e->id, aw_strerror(rv));
    e->rid_len = 0;
    e->gone = false;
}

/* A new edge with its session, in the map; NULL when out of memory. */
static s_edge *s_edge_new(aw_router_t *r, const aw_allow_entry *c)
{
    s_edge *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->router = r;
    snprintf(e->id, sizeof e->id, "%s", c->edge_id);
    snprintf(e->zone, sizeof e->zone, "%s", c->zone);
    if (s_session_new(r, e) != AW_OK) {
        free(e);
        return NULL;
    }
    zhashx_insert(r->edges, e->id, e);
    return e;
}

static void s_dispatch(aw_router_t *r, s_drain *d, int64_t now_ms);

/* The edge for certificate @p c, made on first contact; a certificate whose
 * zone changed gets a fresh session (the zone is bound at creation). What
 * the drain holds is handled first: it points at the old edge. */
static s_edge *s_edge_get(aw_router_t *r, const aw_allow_entry *c, int64_t now_ms)
{
    s_edge *e = zhashx_lookup(r->edges, c->edge_id);
    if (!e)
        return s_edge_new(r, c);
    if (strcmp(e->zone, c->zone) == 0)
        return e;
    s_dispatch(r, &r->drain, now_ms);
    s_edge_drop(r, e, now_ms, "its certificate's zone changed");
    zhashx_delete(r->edges, c->edge_id); /* frees e and its session */
    return s_edge_new(r, c);
}

/* Binds the edge's replies to the connection a message came from. */
static void s_edge_route(s_edge *e, const zmq_msg_t *rid, const char *key)
{
    size_t n = zmq_msg_size((zmq_msg_t *)rid);
    if (n == 0 || n > S_ROUTING_ID_MAX)
        return;
    if (e->rid_len == n && memcmp(e->rid, zmq_msg_data((zmq_msg_t *)rid), n) == 0 && !e->gone)
        return;
    aw_info("center: edge %s: %s (key %.8s…)", e->id,
            e->rid_len ? "new connection, replacing the previous one" : "connection up", key);
    memcpy(e->rid, zmq_msg_data((zmq_msg_t *)rid), n);
    e->rid_len = n;
    e->gone = false;
    snprintf(e->key, sizeof e->key, "%s", key);
}

/* ------------------------------------------------------------ allow-list */

/* Removes the files of a staging folder, then the folder. */
static void s_stage_remove(const char *dir)
{
    zdir_t *d = zdir_new(dir, NULL);
    if (d) {
        zdir_remove(d, true);
        zdir_destroy(&d);
    }
}

/* Writes the list for zauth into a fresh folder and switches zauth to it. */
static int s_auth_load(aw_router_t *r, const aw_allow_t *allow)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%u", r->stage_dir, ++r->stage_gen);
    int rv = aw_allow_stage(allow, path);
    if (rv != AW_OK) {
        aw_error("allow-list: cannot write %s: %s", path, aw_strerror(rv));
        s_stage_remove(path);
        return rv;
    }
    zstr_sendx(r->auth, "CURVE", path, NULL);
    zsock_wait(r->auth);
    if (r->stage) {
        s_stage_remove(r->stage);
        free(r->stage);
    }
    r->stage = strdup(path);
    return AW_OK;
}

/* Closes the connections whose certificate is gone or names another edge now. */
static void s_withdraw(aw_router_t *r, int64_t now_ms)
{
    for (s_edge *e = zhashx_first(r->edges); e; e = zhashx_next(r->edges)) {
        const aw_allow_entry *c = aw_allow_find(r->allow, e->key);
        if (e->rid_len && (!c || strcmp(c->edge_id, e->id) != 0))
            s_edge_drop(r, e, now_ms, "its certificate was withdrawn");
    }
}

int aw_router_reload(aw_router_t *self, int64_t now_ms)
{
    aw_allow_t *fresh = NULL;
    uint64_t fp = 0;
    self->allow_fp_rv = aw_allow_fingerprint(self->allow_dir, &fp);
    int rv = aw_allow_load(self->allow_dir, &fresh);
    if (rv == AW_ENOTFOUND) {
        aw_error("allow-list: %s is missing: every edge is refused until it is back",
                 self->allow_dir);
        rv = AW_OK; /* fresh stays NULL: the empty list */
    }
    if (rv == AW_OK)
        rv = s_auth_load(self, fresh);
    if (rv != AW_OK) {
        aw_error("allow-list: %s not re-read (%s): the previous list stays", self->allow_dir,
                 aw_strerror(rv));
        aw_allow_destroy(&fresh);
        return rv;
    }
    aw_allow_destroy(&self->allow);
    self->allow = fresh;
    self->allow_fp = fp;
    aw_info("allow-list: %zu edge certificate(s) from %s", aw_allow_count(fresh), self->allow_dir);
    s_withdraw(self, now_ms);
    return AW_OK;
}

/* Re-reads the folder when its fingerprint changed. */
static void s_allow_poll(aw_router_t *r, int64_t now_ms)
{
    uint64_t fp = 0;
    if (now_ms < r->next_poll_ms)
        return;
    r->next_poll_ms = now_ms + r->o.allow_poll_ms;
    int rv = aw_allow_fingerprint(r->allow_dir, &fp);
    if (rv != r->allow_fp_rv || (rv == AW_OK && fp != r->allow_fp))
        aw_router_reload(r, now_ms);
}

/* ------------------------------------------------------------ setup */

static int s_load_cert(aw_router_t *r, const char *path)
{
    if (!path || !(r->cert = zcert_load(path))) {
        aw_error("zmq: cannot read the center's certificate %s (make one with "
                 "anwang-center --init-cert)",
                 path ? path : "(none)");
        return AW_ECONFIG;
    }
    if (strcmp(zcert_secret_txt(r->cert), S_NO_SECRET) == 0) {
        aw_error("zmq: certificate %s has no secret key (%s_secret)", path, path);
        return AW_ECONFIG;
    }
    return AW_OK;
}

static void s_set_options(aw_router_t *r)
{
    zsock_t *s = r->sock;
    int hb = (int)r->o.heartbeat_ms;
    zsock_set_router_mandatory(s, 1);
    zsock_set_maxmsgsize(s, (int)(r->lim.max_message + S_MAXMSG_SLACK));
    zsock_set_rcvhwm(s, S_RCVHWM);
    zsock_set_sndhwm(s, S_SNDHWM);
    zsock_set_handshake_ivl(s, S_HANDSHAKE_MS);
    zsock_set_heartbeat_ivl(s, hb);
    zsock_set_heartbeat_timeout(s, 3 * hb);
    zsock_set_heartbeat_ttl(s, 3 * hb);
    zsock_set_backlog(s, S_BACKLOG);
    zsock_set_linger(s, 0);
    zsock_set_zap_domain(s, S_ZAP_DOMAIN);
    zcert_apply(r->cert, s);
    zsock_set_curve_server(s, 1);
}

/* The monitor reports handshake failures and disconnects on an inproc PAIR. */
static int s_monitor(aw_router_t *r)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://aw-router-monitor-%p", (void *)r);
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                 ZMQ_EVENT_DISCONNECTED;
    if (zmq_socket_monitor(zsock_resolve(r->sock), ep, events) != 0)
        return AW_EIO;
    if (!(r->mon = zsock_new(ZMQ_PAIR)) || zsock_connect(r->mon, "%s", ep) != 0)
        return AW_EIO;
    return AW_OK;
}

static int s_socket(aw_router_t *r)
{
    if (!(r->sock = zsock_new(ZMQ_ROUTER)))
        return AW_EIO;
    s_set_options(r);
    if (zmq_bind(zsock_resolve(r->sock), r->bind) != 0) {
        aw_error("zmq: cannot bind %s: %s", r->bind, zmq_strerror(zmq_errno()));
        return AW_EIO;
    }
    return s_monitor(r);
}

static int s_copy_opts(aw_router_t *r, const aw_router_opts *o)
{
    r->o = *o;
    r->o.heartbeat_ms = o->heartbeat_ms > 0 ? o->heartbeat_ms : S_DEFAULT_HB_MS;
    r->o.allow_poll_ms = o->allow_poll_ms > 0 ? o->allow_poll_ms : S_DEFAULT_POLL_MS;
    r->lim = aw_codec_default_limits;
    if (o->max_message)
        r->lim.max_message = o->max_message;
    r->bind = strdup(o->bind);
    r->allow_dir = strdup(o->allow_dir);
    r->stage_dir = strdup(o->stage_dir);
    r->edges = zhashx_new();
    if (!r->bind || !r->allow_dir || !r->stage_dir || !r->edges)
        return AW_ENOMEM;
    zhashx_set_destructor(r->edges, s_edge_free);
    return AW_OK;
}

/* Empties the staging folder: what an earlier life left is never in use. */
static int s_stage_sweep(const char *stage_dir)
{
    s_stage_remove(stage_dir);
    if (mkdir(stage_dir, 0700) != 0) {
        aw_error("allow-list: cannot make %s: %s", stage_dir, strerror(errno));
        return AW_EIO;
    }
    return AW_OK;
}

int aw_router_new(const aw_router_opts *opts, aw_router_t **out)
{
    *out = NULL;
    if (!opts || !opts->db || !opts->bind || !opts->allow_dir || !opts->stage_dir)
        return AW_EINVAL;
    aw_router_t *r = calloc(1, sizeof *r);
    if (!r)
        return AW_ENOMEM;
    int rv = s_copy_opts(r, opts);
    if (rv == AW_OK)
        rv = s_load_cert(r, opts->cert_path);
    if (rv == AW_OK && !(r->auth = zactor_new(zauth, NULL)))
        rv = AW_EIO;
    if (rv == AW_OK && aw_log_enabled(AW_LOG_DEBUG)) {
        zstr_sendx(r->auth, "VERBOSE", NULL); /* each ZAP decision, as czmq: lines */
        zsock_wait(r->auth);
    }
    if (rv == AW_OK)
        rv = s_stage_sweep(r->stage_dir);
    if (rv == AW_OK)
        rv = aw_router_reload(r, 0);
    if (rv == AW_OK)
        rv = s_socket(r);
    if (rv != AW_OK) {
        aw_router_destroy(&r);
        return rv;
    }
    *out = r;
    return AW_OK;
}

void aw_router_destroy(aw_router_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aw_router_t *r = *self_p;
    if (r->edges)
        for (s_edge *e = zhashx_first(r->edges); e; e = zhashx_next(r->edges))
            aw_center_session_close(e->session, zclock_time());
    zhashx_destroy(&r->edges);
    if (r->sock)
        zmq_socket_monitor(zsock_resolve(r->sock), NULL, 0);
    zsock_destroy(&r->mon);
    zsock_destroy(&r->sock);
    zactor_destroy(&r->auth);
    zcert_destroy(&r->cert);
    aw_allow_destroy(&r->allow);
    if (r->stage)
        s_stage_remove(r->stage);
    free(r->stage);
    free(r->bind);
    free(r->allow_dir);
    free(r->stage_dir);
    free(r);
    *self_p = NULL;
}

size_t aw_router_pollitems(aw_router_t *self, zmq_pollitem_t *items, size_t cap)
{
    size_t n = 0;
    if (n < cap)
        items[n++] = (zmq_pollitem_t){.socket = zsock_resolve(self->sock), .events = ZMQ_POLLIN};
    if (n < cap)
        items[n++] = (zmq_pollitem_t){.socket = zsock_resolve(self->mon), .events = ZMQ_POLLIN};
    return n;
}

const char *aw_router_public_key(const aw_router_t *self)
{
    return zcert_public_txt(self->cert);
}

/* ------------------------------------------------------------ receiving */

/* The edge a message speaks for: the one the CURRENT allow-list binds its
 * key (zauth's User-Id) to; NULL when the key is not in it (counted). The
 * key → edge map is the authority, not the "edge-id" metadata zauth also
 * attaches: those are frozen at the handshake (an edge renamed in its
 * certificate would be locked out until it reconnects), and a peer that is
 * not libzmq may add metadata names of its own in its handshake. */
static s_edge *s_identify(aw_router_t *r, zmq_msg_t *rid, zmq_msg_t *body, int64_t now_ms)
{
    const char *key = zmq_msg_gets(body, "User-Id");
    const aw_allow_entry *c = aw_allow_find(r->allow, key);
    if (!c) {
        r->seen.revoked++;
        return NULL;
    }
    s_edge *e = s_edge_get(r, c, now_ms);
    if (!e) {
        aw_error("center: edge %s: no memory for its session", c->edge_id);
        return NULL;
    }
    s_edge_route(e, rid, key);
    return e;
}

/* Decodes @p body for @p e into the drain, or logs why it is refused. */
static void s_decode(aw_router_t *r, s_drain *d, s_edge *e, zmq_msg_t *body)
{
    char why[160] = "";
    Anwang__Envelope *env = NULL;
    int rv = aw_codec_envelope_decode(zmq_msg_data(body), zmq_msg_size(body), &r->lim, &env, why,
                                      sizeof why);
    if (rv != AW_OK) {
        aw_warn("center: edge %s: envelope of %zu bytes refused: %s (%s)", e->id,
                zmq_msg_size(body), aw_strerror(rv), why);
        return;
    }
    d->env[d->n] = env;
    d->edge[d->n] = e;
    d->n++;
    d->bytes += zmq_msg_size(body);
}

/* Receives one [routing id][body] message into the drain. Returns AW_OK,
 * AW_EAGAIN when nothing is left, AW_EIO. */
static int s_recv_one(aw_router_t *r, s_drain *d, int64_t now_ms)
{
    void *s = zsock_resolve(r->sock);
    zmq_msg_t rid, body;
    zmq_msg_init(&rid);
    zmq_msg_init(&body);
    int rv = AW_OK;
    if (zmq_msg_recv(&rid, s, ZMQ_DONTWAIT) < 0)
        rv = zmq_errno() == EAGAIN ? AW_EAGAIN : AW_EIO;
    else if (!zmq_msg_more(&rid) || zmq_msg_recv(&body, s, ZMQ_DONTWAIT) < 0)
        rv = AW_OK; /* an empty message: nothing to do */
    else {
        bool extra = zmq_msg_more(&body);
        s_edge *e = s_identify(r, &rid, &body, now_ms);
        if (e && extra)
            aw_warn("center: edge %s: multi-frame message refused", e->id);
        else if (e)
            s_decode(r, d, e, &body);
        while (extra) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            extra = zmq_msg_recv(&part, s, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&part);
            zmq_msg_close(&part);
        }
    }
    zmq_msg_close(&body);
    zmq_msg_close(&rid);
    return rv;
}

/* Marks the leading run of groupable batches of each edge in the drain (in
 * that edge's arrival order, at most AW_SESSION_GROUP_MAX) and collects
 * them per edge, in edge order of first arrival, into @p g (envelope
 * pointers in @p flat). Returns the number of edges with such a run. */
static size_t s_collect(aw_router_t *r, s_drain *d, aw_session_batches *g,
                        const Anwang__Envelope **flat)
{
    size_t n = 0, used = 0;
    r->turn++;
    for (size_t i = 0; i < d->n; i++) {
        s_edge *e = d->edge[i];
        if (e->turn != r->turn) {
            e->turn = r->turn;
            e->run = 0;
            e->run_open = true;
        }
        d->grouped[i] = e->run_open && e->run < AW_SESSION_GROUP_MAX &&
                        aw_center_session_groupable(e->session, d->env[i]);
        e->run_open = d->grouped[i];
        e->run += d->grouped[i];
    }
    r->turn++; /* second pass: each edge's run gets its place in flat */
    for (size_t i = 0; i < d->n; i++) {
        s_edge *e = d->edge[i];
        if (!d->grouped[i])
            continue;
        if (e->turn != r->turn) {
            e->turn = r->turn;
            e->group = n;
            e->slot = used;
            g[n++] = (aw_session_batches){e->session, flat + used, 0};
            used += e->run;
        }
        flat[e->slot++] = d->env[i];
        g[e->group].n++;
    }
    return n;
}

/* Applies every edge's leading batches in one transaction (group commit
 * across edges: one fsync per turn, acks after it), then hands the other
 * envelopes, per run of one edge, to its session; frees them all. */
static void s_dispatch(aw_router_t *r, s_drain *d, int64_t now_ms)
{
    size_t n = s_collect(r, d, d->groups, d->flat);
    if (n > 0)
        aw_center_sessions_apply(d->groups, n, now_ms);
    for (size_t i = 0; i < d->n;) {
        if (d->grouped[i]) {
            i++;
            continue;
        }
        size_t j = i + 1, k = 0;
        d->run[k++] = d->env[i];
        for (; j < d->n && (d->edge[j] == d->edge[i] || d->grouped[j]); j++)
            if (!d->grouped[j])
                d->run[k++] = d->env[j];
        aw_center_session_handle_many(d->edge[i]->session, d->run, k, now_ms);
        i = j;
    }
    for (size_t i = 0; i < d->n; i++) {
        if (d->edge[i]->gone)
            s_edge_drop(r, d->edge[i], now_ms, "peer gone");
        aw_codec_envelope_free(&d->env[i]);
    }
    d->n = d->bytes = 0;
}

/* Counts what the socket monitor reports. */
static void s_monitor_read(aw_router_t *r)
{
    void *m = zsock_resolve(r->mon);
    uint8_t head[6];
    char where[256];
    for (;;) {
        int n = zmq_recv(m, head, sizeof head, ZMQ_DONTWAIT);
        if (n < 0)
            return;
        int w = zmq_recv(m, where, sizeof where - 1, ZMQ_DONTWAIT);
        where[w < 0 ? 0 : w < (int)sizeof where ? w : (int)sizeof where - 1] = '\0';
        uint16_t ev;
        uint32_t value;
        memcpy(&ev, head, 2);
        memcpy(&value, head + 2, 4);
        if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            r->seen.auth++;
        else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
            r->seen.protocol++;
        else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
            r->seen.other++;
        else if (ev == ZMQ_EVENT_DISCONNECTED)
            aw_debug("zmq: a connection on %s closed", where);
        else if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            aw_debug("zmq: CURVE handshake done on %s", where);
    }
}

int aw_router_process(aw_router_t *self, int64_t now_ms)
{
    s_drain *d = &self->drain;
    int rv = AW_OK;
    s_monitor_read(self);
    while (d->n < S_DRAIN_MAX && d->bytes < S_DRAIN_BYTES &&
           (rv = s_recv_one(self, d, now_ms)) == AW_OK)
        ;
    s_dispatch(self, d, now_ms);
    return rv == AW_EAGAIN ? AW_OK : rv;
}

/* ------------------------------------------------------------ timers */

/* One line for the handshakes refused since the last one. */
static void s_summary(aw_router_t *r)
{
    s_counts c = r->seen;
    if (c.auth || c.protocol || c.other)
        aw_warn("zmq: refused %u handshake(s): %u unknown CURVE key, %u protocol error, %u other",
                c.auth + c.protocol + c.other, c.auth, c.protocol, c.other);
    if (c.revoked)
        aw_warn("zmq: dropped %u message(s) from keys no longer in the allow-list", c.revoked);
    memset(&r->seen, 0, sizeof r->seen);
}

void aw_router_tick(aw_router_t *self, int64_t now_ms)
{
    for (s_edge *e = zhashx_first(self->edges); e; e = zhashx_next(self->edges)) {
        if (aw_center_session_state(e->session) != AW_SESSION_UP)
            continue;
        int rv = aw_center_session_tick(e->session, now_ms);
        if (rv == AW_ETIMEDOUT)
            e->rid_len = 0; /* the session logged it and is DOWN */
        else if (rv == AW_OK)
            aw_center_session_pump(e->session, now_ms);
        if (e->gone)
            s_edge_drop(self, e, now_ms, "peer gone");
    }
    s_summary(self);
    s_allow_poll(self, now_ms);
}
