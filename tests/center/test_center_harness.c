/* Harness of the anwang-center integration tests (see the header). */
#include "test_center_harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "db.h"
#include "status.h"

int64_t tc_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A short wait for the next poll round (a deadline loop, not a sync sleep). */
static void s_nap(void)
{
    poll(NULL, 0, 10);
}

/* ------------------------------------------------------------ the daemon */

void tc_init(tc_center *c, int n, int port)
{
    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "/tmp/aw_tc.XXXXXX");
    cr_assert_not_null(mkdtemp(c->dir));
    snprintf(c->conf, sizeof c->conf, "%s/center.conf", c->dir);
    snprintf(c->data, sizeof c->data, "%s/data", c->dir);
    snprintf(c->allow, sizeof c->allow, "%s/edges.d", c->dir);
    snprintf(c->cert, sizeof c->cert, "%s/center.cert", c->dir);
    snprintf(c->log, sizeof c->log, "%s/center.log", c->dir);
    snprintf(c->keys, sizeof c->keys, "%s/keys", c->dir);
    snprintf(c->endpoint, sizeof c->endpoint, "tcp://127.0.9.%d:%d", n, port);
    cr_assert_eq(mkdir(c->allow, 0700), 0);
    cr_assert_eq(mkdir(c->keys, 0700), 0);
    zcert_t *cert = zcert_new();
    cr_assert_eq(zcert_save(cert, c->cert), 0);
    snprintf(c->server_key, sizeof c->server_key, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    tc_write_conf(c);
}

void tc_write_conf(tc_center *c)
{
    FILE *f = fopen(c->conf, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "[center]\nid = test-county\ndata_dir = %s\n[store]\nmap_size = 64M\nmap_max = 1G\n"
            "[zmq]\nbind = %s\ncert = %s\nallow_dir = %s\nallow_poll = %s\n"
            "[replication]\nlink_timeout = 5s\nheartbeat = 1s\n[log]\nlevel = info\n%s\n",
            c->data, c->endpoint, c->cert, c->allow, c->poll ? c->poll : "200ms",
            c->extra ? c->extra : "");
    fclose(f);
}

/* The daemons started here and not reaped yet. */
static pid_t s_started[16];

static void s_track(pid_t pid, pid_t gone)
{
    for (size_t i = 0; i < sizeof s_started / sizeof s_started[0]; i++)
        if (s_started[i] == gone) {
            s_started[i] = pid;
            return;
        }
}

void tc_reap_all(void)
{
    for (size_t i = 0; i < sizeof s_started / sizeof s_started[0]; i++)
        if (s_started[i] > 0) {
            kill(s_started[i], SIGKILL);
            waitpid(s_started[i], NULL, 0);
            s_started[i] = 0;
        }
}

void tc_start(tc_center *c)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(c->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(TC_CENTER_BIN, TC_CENTER_BIN, "-c", c->conf, (char *)NULL);
        _exit(127);
    }
    c->pid = pid;
    s_track(pid, 0);
}

static char *s_read_log(const tc_center *c, size_t *len)
{
    FILE *f = fopen(c->log, "r");
    if (!f) {
        *len = 0;
        return calloc(1, 1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
    *len = fread(buf, 1, (size_t)(n > 0 ? n : 0), f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

size_t tc_log_size(const tc_center *c)
{
    struct stat st;
    return stat(c->log, &st) == 0 ? (size_t)st.st_size : 0;
}

bool tc_log_wait_from(const tc_center *c, size_t from, const char *text, int ms)
{
    int64_t end = tc_mono() + ms;
    do {
        size_t len;
        char *log = s_read_log(c, &len);
        bool found = len > from && strstr(log + from, text) != NULL;
        free(log);
        if (found)
            return true;
        s_nap();
    } while (tc_mono() < end);
    return false;
}

bool tc_log_wait(const tc_center *c, const char *text, int ms)
{
    return tc_log_wait_from(c, 0, text, ms);
}

uint64_t tc_log_sum(const tc_center *c, const char *text)
{
    size_t len;
    char *log = s_read_log(c, &len);
    uint64_t sum = 0;
    for (char *p = strstr(log, text); p; p = strstr(p + 1, text)) {
        char *q = p + strlen(text);
        while (*q && (*q < '0' || *q > '9'))
            q++;
        sum += strtoull(q, NULL, 10);
    }
    free(log);
    return sum;
}

int tc_stop(tc_center *c, int ms)
{
    int status = -1;
    if (c->pid <= 0)
        return status;
    kill(c->pid, SIGTERM);
    int64_t end = tc_mono() + ms;
    while (waitpid(c->pid, &status, WNOHANG) == 0) {
        if (tc_mono() > end) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &status, 0);
            status = -1;
            break;
        }
        s_nap();
    }
    s_track(0, c->pid);
    c->pid = 0;
    return status;
}

void tc_kill(tc_center *c)
{
    if (c->pid <= 0)
        return;
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
    s_track(0, c->pid);
    c->pid = 0;
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

void tc_cleanup(tc_center *c)
{
    tc_kill(c);
    cr_assert_not(tc_log_wait(c, "Sanitizer", 0), "the daemon ran clean under ASan (see %s)",
                  c->log);
    cr_assert_not(tc_log_wait(c, "runtime error:", 0), "the daemon ran clean under UBSan");
    nftw(c->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

tc_path tc_edge_cert(tc_center *c, const char *name, const char *edge_id, const char *zone,
                     bool allow)
{
    tc_path p;
    char *path = p.path;
    char pub[192];
    zcert_t *cert = zcert_new();
    zcert_set_meta(cert, "edge-id", "%s", edge_id);
    if (zone)
        zcert_set_meta(cert, "zone", "%s", zone);
    snprintf(path, sizeof p.path, "%s/%s.cert", c->keys, name);
    cr_assert_eq(zcert_save(cert, path), 0);
    if (allow) {
        snprintf(pub, sizeof pub, "%s/%s.cert", c->allow, name);
        cr_assert_eq(zcert_save_public(cert, pub), 0);
    }
    zcert_destroy(&cert);
    return p;
}

/* ------------------------------------------------------------ a real edge */

static int s_down_ok(void *arg, const Anwang__Down *down)
{
    return AW_OK;
}

void tc_edge_start(tc_edge *e, const tc_center *c, const char *dir, const char *edge_id,
                   const char *cert)
{
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "%s", dir);
    aw_store_opts so = {.path = dir, .map_size = 64 << 20, .durability = AW_DURABLE_NOSYNC};
    cr_assert_eq(aw_store_open(&so, &e->store), AW_OK);
    aw_transport_opts to = {
        .endpoint = c->endpoint, .cert_path = cert, .server_key = c->server_key};
    cr_assert_eq(aw_transport_new(&to, &e->t), AW_OK);
    aw_uplink_opts uo = {.edge_id = edge_id,
                         .send = aw_transport_send,
                         .send_arg = e->t,
                         .on_down = s_down_ok,
                         .heartbeat_ms = 300,
                         .dead_after_ms = 1500,
                         .resend_after_ms = 2000,
                         .backoff_min_ms = 50,
                         .backoff_max_ms = 300};
    cr_assert_eq(aw_uplink_new(e->store, &uo, &e->u), AW_OK);
}

void tc_edge_stop(tc_edge *e)
{
    aw_uplink_destroy(&e->u);
    aw_transport_destroy(&e->t);
    aw_store_destroy(&e->store);
}

void tc_edge_fill(tc_edge *e, aw_lane lane, size_t n)
{
    static uint64_t counter;
    const void **recs = calloc(n, sizeof *recs);
    size_t *lens = calloc(n, sizeof *lens);
    uint8_t **bufs = calloc(n, sizeof *bufs);
    for (size_t i = 0; i < n; i++) {
        char dev[16];
        Anwang__Reading r = ANWANG__READING__INIT;
        Anwang__Record rec = ANWANG__RECORD__INIT;
        snprintf(dev, sizeof dev, "d%u", (unsigned)(counter % 50));
        r.device = dev;
        r.metric = "ch4";
        r.has_value = true;
        r.value = (double)counter;
        r.time_ms = 1700000000000 + (int64_t)counter;
        rec.hlc = ++counter;
        rec.body_case = ANWANG__RECORD__BODY_READING;
        rec.reading = &r;
        cr_assert_eq(aw_codec_record_encode(&rec, &bufs[i], &lens[i], NULL, 0), AW_OK);
        recs[i] = bufs[i];
    }
    uint64_t first;
    cr_assert_eq(aw_store_append(e->store, lane, recs, lens, n, counter, &first), AW_OK);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs), free(recs), free(lens);
    aw_uplink_notify_appended(e->u, tc_mono());
}

bool tc_edge_run(tc_edge *e, int ms, bool (*done)(tc_edge *))
{
    int64_t end = tc_mono() + ms;
    for (;;) {
        int64_t now = tc_mono();
        aw_transport_process(e->t, e->u, now);
        aw_uplink_tick(e->u, now);
        aw_transport_process(e->t, e->u, now);
        if (done && done(e))
            return true;
        if (now >= end)
            return false;
        int64_t wait = aw_transport_next_ms(e->t, e->u, now);
        struct pollfd p = {.fd = aw_transport_fd(e->t), .events = POLLIN};
        poll(&p, 1, wait > 10 ? 10 : (int)wait);
    }
}

bool tc_edge_all_acked(tc_edge *e)
{
    aw_uplink_status st;
    return aw_uplink_status_get(e->u, tc_mono(), &st) == AW_OK && st.state == AW_UPLINK_UP &&
           st.backlog[AW_LANE_URGENT] == 0 && st.backlog[AW_LANE_BULK] == 0;
}

bool tc_edge_up(tc_edge *e)
{
    return aw_uplink_state_get(e->u) == AW_UPLINK_UP;
}

/* ------------------------------------------------------------ raw DEALERs */

static zsock_t *s_dealer(const tc_center *c, zcert_t *cert, bool once, zsock_t **monitor)
{
    zcert_t *own = cert ? NULL : zcert_new();
    zsock_t *d = zsock_new(ZMQ_DEALER);
    cr_assert_not_null(d);
    zcert_apply(cert ? cert : own, d);
    zsock_set_curve_serverkey(d, c->server_key);
    zsock_set_linger(d, 0);
    zsock_set_rcvtimeo(d, 0);
    if (once)
        zsock_set_reconnect_ivl(d, -1);
    if (monitor) {
        char ep[64];
        snprintf(ep, sizeof ep, "inproc://tc-mon-%p", (void *)d);
        int events = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
        cr_assert_eq(zmq_socket_monitor(zsock_resolve(d), ep, events), 0);
        *monitor = zsock_new(ZMQ_PAIR);
        cr_assert_eq(zsock_connect(*monitor, "%s", ep), 0);
    }
    cr_assert_eq(zmq_connect(zsock_resolve(d), c->endpoint), 0);
    zcert_destroy(&own);
    return d;
}

zsock_t *tc_dealer(const tc_center *c, zcert_t *cert, bool once)
{
    return s_dealer(c, cert, once, NULL);
}

zsock_t *tc_dealer_monitored(const tc_center *c, zcert_t *cert, bool once, zsock_t **monitor)
{
    return s_dealer(c, cert, once, monitor);
}

void tc_dealer_close(zsock_t **d, zsock_t **monitor)
{
    zmq_socket_monitor(zsock_resolve(*d), NULL, 0);
    zsock_destroy(monitor);
    zsock_destroy(d);
}

int tc_event(zsock_t *m, int ms, uint32_t *value)
{
    zmq_pollitem_t it = {.socket = zsock_resolve(m), .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, ms) <= 0)
        return 0;
    uint8_t head[6];
    char where[256];
    if (zmq_recv(zsock_resolve(m), head, sizeof head, 0) != 6)
        return 0;
    zmq_recv(zsock_resolve(m), where, sizeof where, 0);
    uint16_t ev;
    memcpy(&ev, head, 2);
    if (value)
        memcpy(value, head + 2, 4);
    return ev;
}

void tc_send_raw(zsock_t *d, const void *buf, size_t len)
{
    cr_assert_geq(zmq_send(zsock_resolve(d), buf, len, 0), 0);
}

void tc_send_env(zsock_t *d, const Anwang__Envelope *env)
{
    uint8_t *buf;
    size_t len;
    cr_assert_eq(aw_codec_envelope_encode(env, &buf, &len, NULL, 0), AW_OK);
    tc_send_raw(d, buf, len);
    free(buf);
}

void tc_send_hello(zsock_t *d, const char *edge_id, uint64_t epoch)
{
    Anwang__Hello h = ANWANG__HELLO__INIT;
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    h.edge_id = (char *)edge_id;
    h.epoch = epoch;
    h.wall_ms = 1700000000000;
    h.proto_version = AW_PROTO_VERSION;
    env.msg_case = ANWANG__ENVELOPE__MSG_HELLO;
    env.hello = &h;
    tc_send_env(d, &env);
}

Anwang__Envelope *tc_recv(zsock_t *d, int ms)
{
    zmq_pollitem_t it = {.socket = zsock_resolve(d), .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, ms) <= 0)
        return NULL;
    zmq_msg_t m;
    zmq_msg_init(&m);
    Anwang__Envelope *env = NULL;
    if (zmq_msg_recv(&m, zsock_resolve(d), ZMQ_DONTWAIT) >= 0)
        aw_codec_envelope_decode(zmq_msg_data(&m), zmq_msg_size(&m), NULL, &env, NULL, 0);
    zmq_msg_close(&m);
    return env;
}

/* ------------------------------------------------------------ the center's store */

static void s_open_center(const tc_center *c, aw_store_t **store, aw_center_db_t **db)
{
    aw_store_opts so = {.path = c->data, .map_size = 64 << 20, .map_max = 1 << 30};
    cr_assert_eq(aw_store_open(&so, store), AW_OK);
    cr_assert_eq(aw_center_db_open(*store, db), AW_OK);
}

typedef struct s_cmp {
    aw_store_t *edge;
    aw_lane lane;
    uint64_t n;
} s_cmp;

typedef struct s_one {
    const void *want;
    size_t len;
    bool same;
} s_one;

static int s_one_cb(void *arg, uint64_t seq, const void *rec, size_t len)
{
    s_one *o = arg;
    o->same = len == o->len && memcmp(rec, o->want, len) == 0;
    return 1;
}

static int s_cmp_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_cmp *c = arg;
    uint64_t seq = aw_get_be64((const uint8_t *)key + klen - 8);
    cr_assert_eq(seq, c->n + 1, "seqs are 1..n without holes (got %llu after %llu)",
                 (unsigned long long)seq, (unsigned long long)c->n);
    c->n++;
    if (c->edge) {
        s_one o = {val, vlen, false};
        cr_assert_eq(aw_store_read(c->edge, c->lane, seq, 1, 0, s_one_cb, &o), AW_OK);
        cr_assert(o.same, "record %llu as the edge stored it", (unsigned long long)seq);
    }
    return 0;
}

uint64_t tc_center_records(const tc_center *c, const char *edge, uint64_t epoch, aw_lane lane,
                           aw_store_t *edge_store)
{
    aw_store_t *store = NULL;
    aw_center_db_t *db = NULL;
    s_open_center(c, &store, &db);
    uint8_t prefix[AW_CENTER_KEY_MAX];
    size_t plen = aw_center_key_lane(prefix, edge, epoch, lane);
    s_cmp cmp = {edge_store, lane, 0};
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin_read(store, &txn), AW_OK);
    cr_assert_eq(aw_txn_scan(txn, aw_center_db_table(db, AW_CT_RECORDS), prefix, plen, NULL, 0,
                             s_cmp_cb, &cmp),
                 AW_OK);
    aw_txn_abort(&txn);
    aw_center_db_destroy(&db);
    aw_store_destroy(&store);
    return cmp.n;
}

uint64_t tc_center_applied_count(const tc_center *c, const char *edge, aw_lane lane)
{
    aw_store_t *store = NULL;
    aw_center_db_t *db = NULL;
    aw_edge_status st;
    s_open_center(c, &store, &db);
    cr_assert_eq(aw_center_edge_status(db, edge, &st), AW_OK);
    aw_center_db_destroy(&db);
    aw_store_destroy(&store);
    return st.records[lane];
}

bool tc_center_knows(const tc_center *c, const char *edge)
{
    aw_store_t *store = NULL;
    aw_center_db_t *db = NULL;
    aw_edge_status st;
    s_open_center(c, &store, &db);
    int rv = aw_center_edge_status(db, edge, &st);
    aw_center_db_destroy(&db);
    aw_store_destroy(&store);
    return rv == AW_OK;
}
