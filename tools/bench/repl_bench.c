/*
 * aw-bench-repl: edge → center replication against its baselines, in one run.
 *
 *  (a) raw ZeroMQ: one DEALER → one ROUTER (a thread of this process) over
 *      tcp on loopback with CURVE (zcert keys, no ZAP), 100-byte messages.
 *      After a ping/pong that completes the handshake the clock starts, the
 *      DEALER sends N messages as fast as ZeroMQ takes them (SNDHWM 1000,
 *      blocking), the ROUTER counts them and answers one "done" after the
 *      last; the clock stops when "done" arrives (throughput + one RTT, no
 *      per-message acks).
 *  (b) anwang: an edge store (AW_DURABLE_FSYNC) pre-filled with N encoded
 *      Reading records (2,000 devices round robin, 5,000 per transaction),
 *      the real anwang-center daemon (its own temp dir, zcert certs, an
 *      allow-list, fsync commits) on 127.0.13.1, and an in-process edge
 *      (aw_uplink + aw_transport, uplink defaults). The clock starts when
 *      the transport is created (connect, CURVE handshake, Hello/Welcome
 *      included) and stops when the uplink's acked mark reaches the head:
 *      an Ack leaves the center only after its durable commit, so that is
 *      the moment the center has applied the last record. After the center
 *      is stopped its store is opened to check it holds exactly N.
 *  (c) Mosquitto 2: an "edge" broker (persistence on) bridged with QoS 1 to
 *      a "center" broker, both our own processes with generated configs;
 *      mosquitto_pub -l -q 1 publishes M lines of the reading's size to the
 *      edge broker, mosquitto_sub -q 1 on the center broker reads them; the
 *      clock runs from the publisher's start to the subscriber's M-th line.
 *      Lines are 50 bytes (49 + newline), the size of an encoded reading.
 *      The publisher's stdin is a pipe held open until the M-th line has
 *      arrived: mosquitto_pub 2.0.11 -l drops its unsent queue at EOF (the
 *      broker then logs "disconnected due to out of memory").
 *      max_queued_messages is 0 (no limit) on both brokers so nothing is
 *      dropped by queue limits; in-flight windows stay at their defaults.
 *  (d) with --big: (b) again with 7.2M readings (1 h of 2,000 devices at
 *      1 Hz).
 *
 * Prints each rate, b/a and b/c; --json adds one JSON line on stdout.
 * Progress goes to stderr. Every process started is stopped by its pid and
 * every temp dir removed, also after a failure or a timeout; on SIGINT or
 * SIGTERM the processes are killed by pid but the temp dirs stay.
 *
 *   aw-bench-repl [-n RECORDS] [-r RAW_MSGS] [-m MQTT_MSGS] [-d DIR]
 *                 [--center PATH] [--center-map SIZE] [--timeout S] [--big]
 *                 [--rounds R] [--window W] [--batch RECORDS] [--skip-mqtt] [--json]
 *
 * --rounds R runs (b) R times (1..15), each from a fresh edge store and
 * center, and reports the median with min and max: on a shared machine one
 * run is noisy.
 *
 * --window and --batch set the uplink's window and batch_records (default:
 * the uplink's own defaults, 4 and 5,000) to explore the apply path.
 *
 * --center-map sets the center's [store] map_size (default 256M, the
 * daemon's own default). The map doubles as the store grows; a batch that
 * meets the full map is refused ("storage full" in the center's log, copied
 * to stderr) and the edge resends it only after resend_after_ms (30 s), so
 * a backlog that crosses a doubling shows that stall in its time.
 */
#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_center.h"
#include "codec.h"
#include "store.h"
#include "transport.h"
#include "uplink.h"

#define HOST        "127.0.13.1"
#define RAW_SIZE    100
#define FILL_BATCH  5000
#define DEVICES     2000
#define BIG_RECORDS 7200000u
#define EDGE_ID     "bench-edge-1"
#define MAX_ROUNDS  15

typedef struct bench {
    uint64_t records; /* (b) */
    uint64_t raw;     /* (a) */
    uint64_t mqtt;    /* (c) */
    aw_bench_opts o;
    unsigned window; /* uplink window (0 = its default) */
    unsigned rounds; /* (b) runs; the median is reported */
    size_t batch;    /* uplink batch_records (0 = its default) */
    int timeout_s;
    int big;
    int skip_mqtt;
} bench;

/* What one replication run measured. */
typedef struct repl_result {
    uint64_t records;
    double fill_s;       /* pre-fill of the edge store */
    double up_s;         /* connect → Welcome */
    double drain_s;      /* connect → acked == head */
    double min_s, max_s; /* over the rounds (0 = one round) */
    double center_cpu_s;
    double edge_cpu_s;
    uint64_t batches;
    uint64_t resends;
    uint64_t center_applied; /* read back from the center's store */
    uint64_t edge_bytes;
} repl_result;

/* ------------------------------------------------------------ small helpers */

/* Makes base/aw-bench-repl-TAG.XXXXXX in @p out; on failure says so and leaves "". */
static int s_fresh_dir(const char *base, const char *tag, char *out, size_t len)
{
    char name[64];
    snprintf(name, sizeof name, "aw-bench-repl-%s", tag);
    if (aw_bench_tempdir(base, name, out, len) == 0)
        return 0;
    fprintf(stderr, "aw-bench-repl: mkdtemp %s: %s\n", out, strerror(errno));
    out[0] = '\0';
    return -1;
}

/* Asks the kernel for a free TCP port on HOST (closed again at once). */
static int s_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    inet_pton(AF_INET, HOST, &a.sin_addr);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* ------------------------------------------------------------ (a) raw ZeroMQ */

typedef struct raw_sink {
    zsock_t *router;
    uint64_t n;
    int ok;
} raw_sink;

/* Answers the ping, counts n messages, answers "done". */
static void *s_raw_sink(void *arg)
{
    raw_sink *s = arg;
    void *r = zsock_resolve(s->router);
    zmq_msg_t id, m;
    zmq_msg_init(&id);
    zmq_msg_init(&m);
    for (uint64_t got = 0; got <= s->n; got++) {
        if (zmq_msg_recv(&id, r, 0) < 0 || zmq_msg_recv(&m, r, 0) < 0)
            goto out;
        if (got == 0 || got == s->n) {
            zmq_send(r, zmq_msg_data(&id), zmq_msg_size(&id), ZMQ_SNDMORE);
            zmq_send(r, got ? "done" : "pong", 4, 0);
        }
    }
    s->ok = 1;
out:
    zmq_msg_close(&id);
    zmq_msg_close(&m);
    return NULL;
}

/* Returns messages/s, or a negative value on failure. */
static double s_bench_raw(uint64_t n, int timeout_s)
{
    zcert_t *srv = zcert_new(), *cli = zcert_new();
    zsock_t *router = zsock_new(ZMQ_ROUTER), *dealer = zsock_new(ZMQ_DEALER);
    double rate = -1;
    char buf[RAW_SIZE];
    pthread_t th;
    zcert_apply(srv, router);
    zsock_set_curve_server(router, 1);
    zsock_set_rcvtimeo(router, timeout_s * 1000);
    int port = zsock_bind(router, "tcp://%s:*", HOST);
    zcert_apply(cli, dealer);
    zsock_set_curve_serverkey(dealer, zcert_public_txt(srv));
    zsock_set_rcvtimeo(dealer, timeout_s * 1000);
    zsock_set_linger(dealer, 0);
    zsock_set_linger(router, 0);
    raw_sink sink = {router, n, 0};
    if (port < 0 || zsock_connect(dealer, "tcp://%s:%d", HOST, port) != 0 ||
        pthread_create(&th, NULL, s_raw_sink, &sink) != 0) {
        fprintf(stderr, "aw-bench-repl: (a) setup failed\n");
        goto out;
    }
    memset(buf, 'r', sizeof buf);
    void *d = zsock_resolve(dealer);
    int ok = zmq_send(d, "ping", 4, 0) == 4 && zmq_recv(d, buf, sizeof buf, 0) == 4;
    double t0 = aw_bench_seconds();
    for (uint64_t i = 0; ok && i < n; i++) {
        memcpy(buf, &i, sizeof i);
        ok = zmq_send(d, buf, RAW_SIZE, 0) == RAW_SIZE;
        if (ok && (i + 1) % (n / 10 ? n / 10 : 1) == 0)
            fprintf(stderr, "  (a) sent %3" PRIu64 "%%  %.2f s\n", (i + 1) * 100 / n,
                    aw_bench_seconds() - t0);
    }
    ok = ok && zmq_recv(d, buf, sizeof buf, 0) == 4;
    double t = aw_bench_seconds() - t0;
    pthread_join(th, NULL);
    if (ok && sink.ok)
        rate = (double)n / t;
    else
        fprintf(stderr, "aw-bench-repl: (a) did not complete (timeout %d s)\n", timeout_s);
out:
    zsock_destroy(&dealer);
    zsock_destroy(&router);
    zcert_destroy(&cli);
    zcert_destroy(&srv);
    return rate;
}

/* ------------------------------------------------------------ (b) the edge store */

/* Encodes reading @p i: device i mod 2,000, a realistic value and time. */
static int s_encode_reading(uint64_t i, uint8_t **buf, size_t *len)
{
    static const char *metrics[] = {"ch4", "co", "o2", "tank-level"};
    static const char *units[] = {"%LEL", "ppm", "%", "m"};
    char dev[24];
    unsigned d = (unsigned)(i % DEVICES);
    snprintf(dev, sizeof dev, "yy-%04u", d);
    aw_bench_reading r = {.device = dev,
                          .metric = metrics[d % 4],
                          .unit = units[d % 4],
                          .value = 0.25 + (double)((i * 2654435761u) % 10000) / 1000.0,
                          .time_ms = 1767225600000 + (int64_t)(i / DEVICES) * 1000 + d % 1000,
                          .logical = (uint16_t)(i & 0xffff)};
    return aw_bench_reading_encode(&r, buf, len);
}

/* Appends n readings in FILL_BATCH-record transactions; *bytes = encoded bytes. */
static int s_fill(aw_store_t *store, uint64_t n, uint64_t *bytes)
{
    const void *recs[FILL_BATCH];
    size_t lens[FILL_BATCH];
    uint8_t *bufs[FILL_BATCH];
    double t0 = aw_bench_seconds();
    int rv = AW_OK;
    *bytes = 0;
    for (uint64_t done = 0; rv == AW_OK && done < n;) {
        size_t k = n - done < FILL_BATCH ? (size_t)(n - done) : FILL_BATCH, made = 0;
        uint64_t first, hlc = 0;
        while (made < k &&
               (rv = s_encode_reading(done + made, &bufs[made], &lens[made])) == AW_OK) {
            recs[made] = bufs[made];
            *bytes += lens[made++];
        }
        if (rv == AW_OK) {
            hlc = (((uint64_t)1767225600000 + (done + k) / DEVICES * 1000 + 999) << 16) | 0xffff;
            rv = aw_store_append(store, AW_LANE_BULK, recs, lens, k, hlc, &first);
        }
        for (size_t j = 0; j < made; j++)
            free(bufs[j]);
        if ((done * 10 / n) != ((done + k) * 10 / n))
            fprintf(stderr, "  fill    %3" PRIu64 "%%  %9" PRIu64 " records  %6.1f s\n",
                    (done + k) * 100 / n, done + k, aw_bench_seconds() - t0);
        done += k;
    }
    return rv;
}

/* ------------------------------------------------------------ (b) the center */

/* The daemon of one (b) run and the files of its one edge. */
typedef struct center {
    aw_bench_center d;
    char edge_cert[PATH_MAX + 32];
    char edge_dir[PATH_MAX + 32];
} center;

/* Writes the center's certificate, the edge's pair and allow-list, and the config. */
static int s_center_files(center *c, const char *map_size)
{
    snprintf(c->edge_cert, sizeof c->edge_cert, "%s/edge.cert", c->d.dir);
    snprintf(c->edge_dir, sizeof c->edge_dir, "%s/edge-data", c->d.dir);
    if (aw_bench_center_files(&c->d, HOST, s_free_port(), 32) != 0 ||
        aw_bench_center_edge(&c->d, EDGE_ID, NULL, c->edge_cert) != 0)
        return -1;
    return aw_bench_center_conf(&c->d, map_size, NULL);
}

static int s_center_start(center *c, const char *bin)
{
    if (aw_bench_center_start(&c->d, bin, 10000) == 0)
        return 0;
    fprintf(stderr, "aw-bench-repl: %s did not start\n", bin);
    aw_bench_tail(c->d.log);
    return -1;
}

/* ------------------------------------------------------------ (b) the edge's loop */

/* Runs the edge until acked == head on both lanes or the deadline. */
static int s_drain(const bench *b, aw_store_t *store, const center *c, uint64_t n, repl_result *res)
{
    aw_transport_t *t = NULL;
    aw_uplink_t *u = NULL;
    aw_uplink_status st = {0};
    int rv, done = 0;
    double t0 = aw_bench_seconds(), cpu0 = aw_bench_cpu_self(), next_check = 0;
    uint64_t shown = 0;
    aw_transport_opts to = {.endpoint = c->d.endpoint,
                            .cert_path = c->edge_cert,
                            .server_key = c->d.server_key,
                            .window = b->window};
    aw_uplink_opts uo = {.edge_id = EDGE_ID,
                         .batch_records = b->batch,
                         .window = b->window,
                         .send = aw_transport_send,
                         .on_down = aw_bench_down_ignore};
    if ((rv = aw_transport_new(&to, &t)) != AW_OK)
        goto out;
    uo.send_arg = t;
    if ((rv = aw_uplink_new(store, &uo, &u)) != AW_OK)
        goto out;
    struct pollfd p = {.fd = aw_transport_fd(t), .events = POLLIN};
    while (!done) {
        int64_t now = aw_bench_mono_ms();
        double s = aw_bench_seconds();
        aw_transport_process(t, u, now);
        aw_uplink_tick(u, now);
        aw_transport_process(t, u, now);
        if (s >= next_check) {
            next_check = s + 0.001;
            if ((rv = aw_uplink_status_get(u, now, &st)) != AW_OK)
                goto out;
            if (res->up_s == 0 && st.state == AW_UPLINK_UP)
                res->up_s = s - t0;
            done = st.state == AW_UPLINK_UP && st.acked[AW_LANE_BULK] == st.head[AW_LANE_BULK] &&
                   st.acked[AW_LANE_URGENT] == st.head[AW_LANE_URGENT];
            if (st.acked[AW_LANE_BULK] * 10 / n != shown * 10 / n)
                fprintf(stderr, "  drain   %3" PRIu64 "%%  %9" PRIu64 " acked    %6.2f s\n",
                        st.acked[AW_LANE_BULK] * 100 / n, st.acked[AW_LANE_BULK], s - t0);
            shown = st.acked[AW_LANE_BULK];
            if (s - t0 > b->timeout_s) {
                fprintf(stderr, "aw-bench-repl: (b) timeout after %d s (acked %" PRIu64 ")\n",
                        b->timeout_s, shown);
                rv = AW_ETIMEDOUT;
                goto out;
            }
        }
        int64_t wait = aw_transport_next_ms(t, u, now);
        if (!done)
            poll(&p, 1, wait > 5 ? 5 : (int)wait);
    }
    res->drain_s = aw_bench_seconds() - t0;
    res->edge_cpu_s = aw_bench_cpu_self() - cpu0;
    res->batches = st.batches_sent;
    res->resends = st.resends;
out:
    aw_uplink_destroy(&u);
    aw_transport_destroy(&t);
    return rv;
}

/* (b)/(d): fill, start the center, drain, stop, check. Returns 0 when all n arrived. */
static int s_bench_repl(const bench *b, uint64_t n, repl_result *res)
{
    center c = {0};
    aw_store_t *store = NULL;
    int rv = -1;
    memset(res, 0, sizeof *res);
    res->records = n;
    if (s_fresh_dir(b->o.base, "b", c.d.dir, sizeof c.d.dir) != 0 ||
        s_center_files(&c, b->o.center_map) != 0)
        goto out;
    aw_store_opts so = {.path = c.edge_dir,
                        .map_size = (size_t)256 << 20,
                        .map_max = (size_t)32 << 30,
                        .durability = AW_DURABLE_FSYNC};
    double t0 = aw_bench_seconds();
    if (aw_store_open(&so, &store) != AW_OK || s_fill(store, n, &res->edge_bytes) != AW_OK) {
        fprintf(stderr, "aw-bench-repl: cannot fill the edge store in %s\n", c.edge_dir);
        goto out;
    }
    res->fill_s = aw_bench_seconds() - t0;
    if (s_center_start(&c, b->o.center_bin) != 0)
        goto out;
    int drv = s_drain(b, store, &c, n, res);
    if (drv != AW_OK)
        fprintf(stderr, "aw-bench-repl: (b) edge: %s\n", aw_strerror(drv));
    if (aw_bench_reap(&c.d.pid, 1, 10000, &res->center_cpu_s) != 0)
        fprintf(stderr, "aw-bench-repl: the center did not stop cleanly; log %s\n", c.d.log);
    aw_bench_log_problems(c.d.log);
    const char *ids[] = {EDGE_ID};
    res->center_applied = aw_bench_center_held(&c.d, ids, 1);
    if (aw_bench_file_has(c.d.log, "Sanitizer") || aw_bench_file_has(c.d.log, "runtime error:")) {
        fprintf(stderr, "aw-bench-repl: the center reported a sanitizer error\n");
        aw_bench_tail(c.d.log);
        drv = AW_EIO;
    }
    rv = drv == AW_OK && res->center_applied == n ? 0 : -1;
    if (drv == AW_OK && res->center_applied != n)
        fprintf(stderr, "aw-bench-repl: the center holds %" PRIu64 " of %" PRIu64 "\n",
                res->center_applied, n);
out:
    aw_bench_reap(&c.d.pid, 1, 5000, NULL);
    aw_store_destroy(&store);
    aw_bench_rmtree(c.d.dir);
    return rv;
}

/* ------------------------------------------------------------ (c) Mosquitto */

typedef struct mqtt {
    char dir[PATH_MAX];
    char log[PATH_MAX + 32];
    int port_center, port_edge;
    pid_t center, edge, sub;
    int sub_fd;
} mqtt;

static int s_mqtt_conf(const mqtt *m, const char *name, const char *body)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s.conf", m->dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(body, f);
    return fclose(f);
}

/* Writes both brokers' configs (the edge broker runs as us: root would drop to "mosquitto"). */
static int s_mqtt_files(mqtt *m)
{
    struct passwd *pw = getpwuid(getuid());
    char body[2 * PATH_MAX];
    m->port_center = s_free_port();
    m->port_edge = s_free_port();
    snprintf(body, sizeof body,
             "listener %d %s\nallow_anonymous true\npersistence false\n"
             "max_queued_messages 0\nlog_dest stderr\nuser %s\n",
             m->port_center, HOST, pw ? pw->pw_name : "root");
    if (m->port_center < 0 || m->port_edge < 0 || s_mqtt_conf(m, "center", body) != 0)
        return -1;
    snprintf(body, sizeof body,
             "listener %d %s\nallow_anonymous true\npersistence true\n"
             "persistence_location %s/\nmax_queued_messages 0\nlog_dest stderr\n"
             "connection to-center\naddress %s:%d\ntopic aw/# out 1\ncleansession false\n"
             "bridge_protocol_version mqttv311\nuser %s\n",
             m->port_edge, HOST, m->dir, HOST, m->port_center, pw ? pw->pw_name : "root");
    return s_mqtt_conf(m, "edge", body);
}

/* The publisher's input: n lines of @p size bytes (newline included); caller frees. */
static char *s_mqtt_lines(uint64_t n, size_t size)
{
    char *buf = malloc(n * size + 1), *p = buf;
    for (uint64_t i = 0; buf && i < n; i++, p += size) {
        unsigned d = (unsigned)(i % DEVICES);
        int k = snprintf(p, size, "yy-%04u ch4 %%LEL %.3f %" PRIu64 " ", d,
                         0.25 + (double)((i * 2654435761u) % 10000) / 1000.0,
                         (uint64_t)1767225600000 + i / DEVICES * 1000);
        memset(p + k, 'x', size - 1 - (size_t)k);
        p[size - 1] = '\n';
    }
    return buf;
}

typedef struct feeder {
    int fd;
    const char *buf;
    size_t len;
} feeder;

/* Writes the whole input to the publisher's stdin and leaves it open (see s_bench_mqtt). */
static void *s_feed(void *arg)
{
    feeder *f = arg;
    for (size_t off = 0; off < f->len;) {
        ssize_t w = write(f->fd, f->buf + off, f->len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    return NULL;
}

/* Reads the subscriber's lines until @p want have arrived or the deadline; returns the count. */
static uint64_t s_count_lines(int fd, uint64_t want, double deadline, const char *what)
{
    char buf[65536];
    uint64_t got = 0;
    while (got < want && aw_bench_seconds() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = read(fd, buf, sizeof buf);
        if (r <= 0)
            break;
        uint64_t before = got;
        for (ssize_t i = 0; i < r; i++)
            got += buf[i] == '\n';
        if (what && want >= 10 && before * 10 / want != got * 10 / want)
            fprintf(stderr, "  %s %3" PRIu64 "%%  %9" PRIu64 " received\n", what, got * 100 / want,
                    got);
    }
    return got;
}

/* Starts both brokers and the subscriber; waits until a message crosses the bridge. */
static int s_mqtt_start(mqtt *m)
{
    char conf_c[PATH_MAX + 32], conf_e[PATH_MAX + 32], pc[16], pe[16];
    int pipefd[2];
    snprintf(conf_c, sizeof conf_c, "%s/center.conf", m->dir);
    snprintf(conf_e, sizeof conf_e, "%s/edge.conf", m->dir);
    snprintf(pc, sizeof pc, "%d", m->port_center);
    snprintf(pe, sizeof pe, "%d", m->port_edge);
    char *cargv[] = {"mosquitto", "-c", conf_c, NULL};
    char *eargv[] = {"mosquitto", "-c", conf_e, NULL};
    char *sargv[] = {"mosquitto_sub", "-h", HOST, "-p", pc, "-q", "1", "-t", "aw/#", NULL};
    char *wargv[] = {"mosquitto_pub", "-h", HOST,   "-p", pe, "-q", "1", "-t",
                     "aw/warm",       "-m", "warm", NULL};
    m->center = aw_bench_spawn(cargv, -1, -1, m->log);
    if (m->center < 0 || !aw_bench_wait_port(HOST, m->port_center, 5000) ||
        pipe2(pipefd, O_CLOEXEC) != 0)
        return -1;
    m->sub = aw_bench_spawn(sargv, -1, pipefd[1], m->log);
    close(pipefd[1]);
    m->sub_fd = pipefd[0];
    m->edge = aw_bench_spawn(eargv, -1, -1, m->log);
    if (m->sub < 0 || m->edge < 0 || !aw_bench_wait_port(HOST, m->port_edge, 5000))
        return -1;
    for (int tries = 0; tries < 20; tries++) {
        pid_t w = aw_bench_spawn(wargv, -1, -1, m->log);
        aw_bench_reap(&w, 0, 5000, NULL);
        if (s_count_lines(m->sub_fd, 1, aw_bench_seconds() + 0.5, NULL) == 1)
            return 0;
    }
    fprintf(stderr, "aw-bench-repl: (c) the bridge carried nothing\n");
    aw_bench_tail(m->log);
    return -1;
}

/* Returns messages/s end to end, or a negative value on failure. */
static double s_bench_mqtt(const bench *b, uint64_t n)
{
    mqtt m = {.sub_fd = -1};
    double rate = -1;
    char pe[16];
    int in[2] = {-1, -1};
    pthread_t th;
    feeder fd = {.len = n * 50};
    if (s_fresh_dir(b->o.base, "c", m.dir, sizeof m.dir) != 0)
        return -1;
    snprintf(m.log, sizeof m.log, "%s/mosquitto.log", m.dir);
    fd.buf = s_mqtt_lines(n, 50);
    if (!fd.buf || s_mqtt_files(&m) != 0 || s_mqtt_start(&m) != 0 || pipe2(in, O_CLOEXEC) != 0)
        goto out;
    snprintf(pe, sizeof pe, "%d", m.port_edge);
    char *pargv[] = {"mosquitto_pub", "-h", HOST, "-p", pe, "-q", "1", "-t",
                     "aw/readings",   "-l", NULL};
    double t0 = aw_bench_seconds();
    pid_t pub = aw_bench_spawn(pargv, in[0], -1, m.log);
    fd.fd = in[1];
    if (pub < 0 || pthread_create(&th, NULL, s_feed, &fd) != 0) {
        aw_bench_reap(&pub, 1, 1000, NULL);
        goto out;
    }
    uint64_t got = s_count_lines(m.sub_fd, n, t0 + b->timeout_s, "(c) sub ");
    double t = aw_bench_seconds() - t0;
    /* mosquitto_pub 2.0.11 -l drops its unsent queue at EOF: close stdin only now. */
    if (got == n) {
        pthread_join(th, NULL);
        close(in[1]);
        aw_bench_reap(&pub, 0, 5000, NULL);
    } else {
        aw_bench_reap(&pub, 1, 1000, NULL);
        pthread_join(th, NULL);
        close(in[1]);
    }
    in[1] = -1;
    if (got == n)
        rate = (double)n / t;
    else
        fprintf(stderr, "aw-bench-repl: (c) %" PRIu64 " of %" PRIu64 " arrived in %d s\n", got, n,
                b->timeout_s);
out:
    aw_bench_reap(&m.sub, 1, 2000, NULL);
    aw_bench_reap(&m.edge, 1, 5000, NULL);
    aw_bench_reap(&m.center, 1, 5000, NULL);
    if (m.sub_fd >= 0)
        close(m.sub_fd);
    for (int i = 0; i < 2; i++)
        if (in[i] >= 0)
            close(in[i]);
    free((char *)fd.buf);
    aw_bench_rmtree(m.dir);
    return rate;
}

/* ------------------------------------------------------------ main */

static void s_usage(void)
{
    fprintf(stderr,
            "usage: aw-bench-repl [-n RECORDS] [-r RAW_MSGS] [-m MQTT_MSGS] [-d DIR]\n"
            "                     [--center PATH] [--center-map SIZE] [--timeout S] [--big]\n"
            "                     [--rounds R] [--window W] [--batch RECORDS] [--skip-mqtt]"
            " [--json]\n");
}

static int s_parse(int argc, char **argv, bench *b)
{
    static const struct option longs[] = {
        {"center", required_argument, NULL, 'C'}, {"center-map", required_argument, NULL, 'M'},
        {"window", required_argument, NULL, 'W'}, {"rounds", required_argument, NULL, 'R'},
        {"batch", required_argument, NULL, 'b'},  {"timeout", required_argument, NULL, 'T'},
        {"big", no_argument, NULL, 'B'},          {"skip-mqtt", no_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'J'},         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "n:r:m:d:", longs, NULL)) != -1) {
        if (aw_bench_opt(&b->o, c, optarg))
            continue;
        switch (c) {
        case 'n':
            b->records = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            b->raw = strtoull(optarg, NULL, 10);
            break;
        case 'm':
            b->mqtt = strtoull(optarg, NULL, 10);
            break;
        case 'R':
            b->rounds = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'W':
            b->window = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'b':
            b->batch = (size_t)strtoull(optarg, NULL, 10);
            break;
        case 'T':
            b->timeout_s = (int)strtol(optarg, NULL, 10);
            break;
        case 'B':
            b->big = 1;
            break;
        case 'S':
            b->skip_mqtt = 1;
            break;
        default:
            s_usage();
            return -1;
        }
    }
    if (b->records == 0 || b->raw == 0 || b->mqtt == 0 || b->timeout_s <= 0 || b->rounds == 0 ||
        b->rounds > MAX_ROUNDS) {
        s_usage();
        return -1;
    }
    return 0;
}

static int s_by_drain(const void *x, const void *y)
{
    double a = ((const repl_result *)x)->drain_s, b = ((const repl_result *)y)->drain_s;
    return (a > b) - (a < b);
}

/* (b) b->rounds times; *out = the round with the median drain time. */
static int s_bench_repl_rounds(const bench *b, repl_result *out)
{
    repl_result r[MAX_ROUNDS];
    int failed = 0;
    for (unsigned i = 0; i < b->rounds; i++) {
        failed |= s_bench_repl(b, b->records, &r[i]) != 0;
        fprintf(stderr, "  round %u: %.3f s\n", i + 1, r[i].drain_s);
    }
    qsort(r, b->rounds, sizeof r[0], s_by_drain);
    *out = r[b->rounds / 2];
    if (b->rounds > 1) {
        out->min_s = r[0].drain_s;
        out->max_s = r[b->rounds - 1].drain_s;
    }
    return failed ? -1 : 0;
}

static void s_print_repl(const char *tag, const repl_result *r)
{
    printf("%s anwang edge → center: %" PRIu64 " readings (%.1f B avg) drained in %.3f s"
           " = %.0f records/s\n",
           tag, r->records, (double)r->edge_bytes / (double)r->records, r->drain_s,
           (double)r->records / r->drain_s);
    printf("    connect→Welcome %.3f s, %" PRIu64 " batches, %" PRIu64 " resends; CPU: center "
           "%.2f s, edge process %.2f s; center holds %" PRIu64 "; edge fill %.1f s\n",
           r->up_s, r->batches, r->resends, r->center_cpu_s, r->edge_cpu_s, r->center_applied,
           r->fill_s);
    if (r->max_s > 0)
        printf("    drain over the rounds: min %.3f s, median %.3f s, max %.3f s\n", r->min_s,
               r->drain_s, r->max_s);
}

int main(int argc, char **argv)
{
    bench b = {.records = 1000000, .raw = 1000000, .mqtt = 100000, .timeout_s = 300, .rounds = 1};
    repl_result rb = {0}, rd = {0};
    double ra = -1, rc = -1;
    int failed = 0;
    aw_bench_opts_init(&b.o, "256M");
    if (s_parse(argc, argv, &b) != 0)
        return 2;
    aw_bench_signals();
    zsys_init();
    zsys_set_logstream(stderr);

    fprintf(stderr, "(a) raw ZeroMQ DEALER→ROUTER, CURVE, %d B, %" PRIu64 " messages\n", RAW_SIZE,
            b.raw);
    ra = s_bench_raw(b.raw, b.timeout_s);
    fprintf(stderr, "(b) anwang replication, %" PRIu64 " readings, center %s\n", b.records,
            b.o.center_bin);
    failed |= s_bench_repl_rounds(&b, &rb) != 0;
    if (!b.skip_mqtt) {
        fprintf(stderr, "(c) Mosquitto bridge, QoS 1, %" PRIu64 " messages\n", b.mqtt);
        rc = s_bench_mqtt(&b, b.mqtt);
    }
    if (b.big) {
        fprintf(stderr, "(d) anwang replication, %u readings\n", BIG_RECORDS);
        failed |= s_bench_repl(&b, BIG_RECORDS, &rd) != 0;
    }
    failed |= ra < 0 || (!b.skip_mqtt && rc < 0);

    double rbr = rb.drain_s > 0 ? (double)rb.records / rb.drain_s : -1;
    printf("(a) raw ZeroMQ DEALER→ROUTER, CURVE, %d B: %" PRIu64 " messages, %.0f msg/s\n",
           RAW_SIZE, b.raw, ra);
    s_print_repl("(b)", &rb);
    if (!b.skip_mqtt)
        printf("(c) Mosquitto 2 bridge, QoS 1, persistence on: %" PRIu64 " messages, %.0f msg/s\n",
               b.mqtt, rc);
    printf("b/a = %.3f   b/c = %.1f (target ≥ 20)   %" PRIu64
           " drained in %.3f s (target for 1M: ≤ 3 s)\n",
           ra > 0 ? rbr / ra : 0, rc > 0 ? rbr / rc : 0, rb.records, rb.drain_s);
    if (b.big)
        s_print_repl("(d)", &rd);
    if (b.o.json)
        printf("{\"raw_msgs_per_s\":%.0f,\"repl_records\":%" PRIu64 ",\"repl_records_per_s\":%.0f,"
               "\"repl_drain_s\":%.3f,\"repl_drain_min_s\":%.3f,\"repl_drain_max_s\":%.3f,\"repl_"
               "center_cpu_s\":%.2f,\"mqtt_msgs_per_s\":%.0f,"
               "\"b_over_a\":%.3f,\"b_over_c\":%.2f,\"big_records\":%" PRIu64
               ",\"big_drain_s\":%.3f}\n",
               ra, rb.records, rbr, rb.drain_s, rb.min_s, rb.max_s, rb.center_cpu_s, rc,
               ra > 0 ? rbr / ra : 0, rc > 0 ? rbr / rc : 0, rd.records, rd.drain_s);
    return failed ? 1 : 0;
}
