/*
 * aw-bench-center: the county center's apply rate with the situational
 * picture on, and how fresh the picture stays under that load.
 *
 * Load: N simulated edges (default 500) in this process, each a real edge
 * log (aw_store, AW_DURABLE_NOSYNC in a temp dir: the simulated edges do
 * not fsync, the center does) with a real uplink and ZeroMQ transport
 * (aw_uplink + aw_transport, CURVE, its own certificate in the center's
 * allow-list, its own zone). Together they commit R readings/s (default
 * 93,000: 10 × the national MEM load of 800M records/day) for S seconds
 * (default 60, at most 600): edge i commits every --commit-ms (default 100) at a phase
 * of its own, as many readings as keep its share of R exact. The readings
 * are encoded before the clock starts (one arena), so the generator only
 * appends bytes; 4 devices per edge, values and device times advancing.
 *
 * The center is the real anwang-center daemon (fsync commits, its own temp
 * dir, 127.0.14.1, ports 17900 (ZeroMQ) and 17901 (HTTP) by default). When
 * it has the HTTP API (its --help config shows `[http]`), the bench writes a
 * tokens file, PUTs a registry of N zones (one per edge, one village, one
 * site, 4 sensors) before the edges connect, and a second thread polls
 * `GET /api/v1/picture?root=<zone>&depth=0` for a sample of the edges
 * (--sample, default 10): one connection per sampled edge, all in flight
 * at once, each asked again as soon as it was answered (at most every
 * --poll-ms, default 20), so the center answers them all in each turn of
 * its loop and the poll adds little to what is measured.
 *
 * The edges connect in waves of --wave (default 25), each wave UP
 * (Hello/Welcome, registry snapshot queued) before the next: the time is
 * printed; --wave 500 makes the whole county dial at once. The center's
 * map starts at --center-map (default 4G) so that no map growth falls in
 * the window.
 *
 * Measured:
 *  - offered: readings committed at the edges per second of the window;
 *  - applied: Ack'ed readings per second over the same window (an Ack
 *    leaves the center only after its fsync'd commit), the backlog at the
 *    end of the window and the time to drain it, and, after the center is
 *    stopped, the readings its store holds (must be all of them);
 *  - ack latency: a reading's edge commit → the Ack covering it reaching
 *    the edge (every reading);
 *  - picture freshness: a reading's edge commit → the first response of
 *    GET /api/v1/picture whose link.applied.bulk covers it (sampled edges;
 *    measured at the response, so it includes the GET and up to one poll
 *    period of the sampled edge);
 *  - center CPU (user + sys from /proc/PID/stat over the window, % of one
 *    core) and RSS (VmRSS at the end of the window, VmHWM, RssAnon);
 *  - with the API and wrk installed, after the load: `wrk -t2 -c16 -d10s`
 *    on GET /api/v1/picture?depth=3 with a viewer token, requests/s.
 *
 *   aw-bench-center [--edges N] [--rate R] [--duration S] [--commit-ms MS]
 *                   [--sample K] [--poll-ms MS] [--wave W] [--port P] [-d DIR]
 *                   [--center PATH] [--center-map SIZE] [--no-wrk] [--json]
 *
 * "Keeps up": the backlog left when the window closes drains within 2 s
 * and the center's store holds every reading committed.
 *
 * Progress goes to stderr, figures to stdout (--json adds one JSON line).
 * Bounded in time (setup ≤ 300 s, window, drain ≤ 60 s, wrk 10 s); the center and
 * wrk are stopped by pid and the temp dir removed, also after a failure; on
 * SIGINT or SIGTERM the processes are killed by pid and the dir stays.
 */
#include <czmq.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench_center.h"
#include "codec.h"
#include "log.h"
#include "store.h"
#include "transport.h"
#include "uplink.h"

#define HOST         "127.0.14.1"
#define DEVICES      4 /* per edge */
#define MAX_EDGES    2000
#define HIST_STEP_US 100    /* histogram bucket */
#define HIST_N       600000 /* 60 s of buckets, beyond: the overflow bucket */
#define ACK_RING     1024   /* appends awaiting their Ack, per edge */
#define PIC_RING     8192   /* appends awaiting the picture, per sampled edge */
#define APPEND_MAX   5000   /* readings per append (a late generator catches up) */
#define TICK_US      50000  /* uplink timers, per edge */
#define DRAIN_S      60     /* most time the backlog may take after the window */
#define SETUP_S      600    /* most time the edges may take to come up */

typedef struct bench {
    unsigned edges;
    double rate;
    int duration_s;
    int commit_ms;
    unsigned sample;
    unsigned wave;
    int poll_ms;
    int port;
    int wrk;
    aw_bench_opts o;
} bench;

/* ------------------------------------------------------------ latencies */

typedef struct hist {
    uint64_t *b; /* HIST_N buckets + overflow */
    uint64_t n;
    int64_t max_us;
} hist;

static int s_hist_init(hist *h)
{
    *h = (hist){.b = calloc(HIST_N + 1, sizeof(uint64_t))};
    return h->b ? 0 : -1;
}

static void s_hist_add(hist *h, int64_t us, uint64_t count)
{
    if (us < 0)
        us = 0;
    int64_t i = us / HIST_STEP_US;
    h->b[i < HIST_N ? i : HIST_N] += count;
    h->n += count;
    if (us > h->max_us)
        h->max_us = us;
}

/* The @p p quantile (0..1) in ms: the upper edge of its bucket; -1 when empty. */
static double s_hist_ms(const hist *h, double p)
{
    if (h->n == 0)
        return -1;
    uint64_t want = (uint64_t)ceil(p * (double)h->n), seen = 0;
    for (int64_t i = 0; i <= HIST_N; i++)
        if ((seen += h->b[i]) >= want && want > 0)
            return i == HIST_N ? (double)h->max_us / 1000.0
                               : (double)((i + 1) * HIST_STEP_US) / 1000.0;
    return (double)h->max_us / 1000.0;
}

/* ------------------------------------------------------------ edges */

/* One commit at an edge: its last seq, when it returned, how many readings. */
typedef struct pend {
    uint64_t last_seq;
    int64_t commit_us;
    uint32_t n;
} pend;

typedef struct ring {
    pend *e;
    unsigned cap, head, tail; /* head: next write; tail: oldest */
    uint64_t lost;            /* pushed onto a full ring (not measured) */
} ring;

typedef struct sim_edge {
    unsigned idx;
    char id[32], zone[48];
    char dir[PATH_MAX + 32];
    char cert[PATH_MAX + 48];
    aw_store_t *store;
    aw_uplink_t *up;
    aw_transport_t *t;
    const uint8_t *arena; /* this edge's encoded readings */
    const uint32_t *offs; /* n_recs + 1 offsets into arena */
    uint64_t n_recs, next_rec;
    uint64_t head;  /* last bulk seq committed */
    uint64_t acked; /* the uplink's acked bulk mark, as last read */
    ring acks;      /* generator thread only */
    ring pic;       /* sampled edges; under s_pic_lock */
    int sampled;
} sim_edge;

static pthread_mutex_t s_pic_lock = PTHREAD_MUTEX_INITIALIZER;

static int s_ring_init(ring *r, unsigned cap)
{
    *r = (ring){.e = calloc(cap, sizeof(pend)), .cap = cap};
    return r->e ? 0 : -1;
}

static void s_ring_push(ring *r, pend p)
{
    if (r->head - r->tail == r->cap) {
        r->lost += r->e[r->tail % r->cap].n;
        r->tail++;
    }
    r->e[r->head++ % r->cap] = p;
}

/* Pops the commits up to @p seq into @p h, as seen at @p now_us. */
static void s_ring_settle(ring *r, uint64_t seq, int64_t now_us, hist *h)
{
    while (r->tail != r->head && r->e[r->tail % r->cap].last_seq <= seq) {
        const pend *p = &r->e[r->tail++ % r->cap];
        s_hist_add(h, now_us - p->commit_us, p->n);
    }
}

/* ------------------------------------------------------------ the center */

/* The daemon, and what its HTTP API needs. */
typedef struct center {
    aw_bench_center d;
    char tokens[PATH_MAX + 32];
    char api[64]; /* http://HOST:PORT ("" = the center has no HTTP API) */
    char viewer[40], admin[40];
} center;

/* True when this center build knows the [http] section (its --help prints the config). */
static int s_center_has_http(const char *bin, const char *dir)
{
    char log[PATH_MAX + 32];
    snprintf(log, sizeof log, "%s/help.txt", dir);
    char *argv[] = {(char *)bin, "--help", NULL};
    pid_t pid = aw_bench_spawn(argv, -1, -1, log);
    aw_bench_reap(&pid, 0, 5000, NULL);
    int has = aw_bench_file_has(log, "[http]");
    remove(log);
    return has;
}

static void s_token(char *out, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i + 1 < len; i++)
        out[i] = hex[(unsigned)random() % 16];
    out[len - 1] = '\0';
}

static int s_write_tokens(center *c)
{
    s_token(c->viewer, 33);
    s_token(c->admin, 33);
    FILE *f = fopen(c->tokens, "w");
    if (!f)
        return -1;
    fprintf(f, "# aw-bench-center\n%s viewer bench-viewer\n%s admin bench-admin\n", c->viewer,
            c->admin);
    if (fclose(f) != 0)
        return -1;
    return chmod(c->tokens, 0600); /* tokens are secrets: the center warns otherwise */
}

/* Paths, the center's certificate, tokens and config ([http] when it has the API). */
static int s_center_files(center *c, const bench *b)
{
    char http[PATH_MAX + 96] = "";
    snprintf(c->tokens, sizeof c->tokens, "%s/tokens", c->d.dir);
    if (s_center_has_http(b->o.center_bin, c->d.dir)) {
        snprintf(c->api, sizeof c->api, "http://%s:%d", HOST, b->port + 1);
        snprintf(http, sizeof http, "[http]\nbind = %s:%d\ntokens = %s\n", HOST, b->port + 1,
                 c->tokens);
    }
    if (aw_bench_center_files(&c->d, HOST, b->port, 64) != 0 ||
        (c->api[0] && s_write_tokens(c) != 0))
        return -1;
    return aw_bench_center_conf(&c->d, b->o.center_map, http);
}

static int s_center_start(center *c, const char *bin)
{
    if (aw_bench_center_start(&c->d, bin, 20000) == 0)
        return 0;
    fprintf(stderr, "aw-bench-center: %s did not start; its log:\n", bin);
    char *log = aw_bench_slurp(c->d.log);
    fprintf(stderr, "%s\n", log ? log : "(none)");
    free(log);
    return -1;
}

/* The bulk readings the center's store holds for the edges (center stopped). */
static uint64_t s_center_held(const center *c, const sim_edge *edges, unsigned n)
{
    const char **ids = calloc(n, sizeof *ids);
    uint64_t sum = 0;
    for (unsigned i = 0; ids && i < n; i++)
        ids[i] = edges[i].id;
    if (ids)
        sum = aw_bench_center_held(&c->d, ids, n);
    free(ids);
    return sum;
}

/* ------------------------------------------------------------ HTTP (libcurl) */

typedef struct http_buf {
    char *p;
    size_t n, cap;
} http_buf;

static size_t s_http_write(char *data, size_t size, size_t nmemb, void *arg)
{
    http_buf *b = arg;
    size_t len = size * nmemb;
    if (b->n + len + 1 > b->cap) {
        size_t cap = (b->n + len + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    b->p[b->n] = '\0';
    return len;
}

/* One request on @p curl; *status = the HTTP status (0 = no answer); the body in @p out. */
static int s_http(CURL *curl, const char *method, const char *url, const char *token,
                  const char *body, http_buf *out, long *status)
{
    char auth[128];
    struct curl_slist *h = NULL;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    h = curl_slist_append(h, auth);
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    out->n = 0;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_HTTPGET, body ? 0L : 1L);
    if (!body)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_http_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    CURLcode rc = curl_easy_perform(curl);
    *status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    return rc == CURLE_OK ? 0 : -1;
}

/* ------------------------------------------------------------ the registry */

static const char *s_metrics[DEVICES] = {"ch4", "h2s", "tank-level", "temperature"};
static const char *s_units[DEVICES] = {"%LEL", "ppm", "m", "Cel"};

static json_t *s_zone_json(const sim_edge *e)
{
    json_t *devs = json_array();
    for (unsigned d = 0; d < DEVICES; d++) {
        char id[48];
        snprintf(id, sizeof id, "%s-d%u", e->id + 6, d); /* "e000-d0" */
        json_array_append_new(devs, json_pack("{s:s, s:s, s:i, s:[{s:s, s:s}]}", "id", id, "kind",
                                              "sensor", "interval_s", 1, "metrics", "name",
                                              s_metrics[d], "unit", s_units[d]));
    }
    char village[64], site[80];
    snprintf(village, sizeof village, "%s/v", e->zone);
    snprintf(site, sizeof site, "%s/v/s", e->zone);
    return json_pack("{s:s, s:s, s:[{s:s, s:[{s:s, s:s, s:s, s:s, s:o}]}]}", "path", e->zone,
                     "kind", "township", "villages", "path", village, "sites", "path", site, "name",
                     e->id, "sector", "hazardous-chemicals", "risk", "blue", "devices", devs);
}

/* PUTs a registry with one zone per edge (before the edges connect). */
static int s_put_registry(const center *c, const sim_edge *edges, unsigned n)
{
    json_t *zones = json_array();
    for (unsigned i = 0; i < n; i++)
        json_array_append_new(zones, s_zone_json(&edges[i]));
    json_t *reg = json_pack("{s:s, s:s, s:i, s:o}", "county", "bench", "name", "bench county",
                            "version", 1, "zones", zones);
    char *body = reg ? json_dumps(reg, JSON_COMPACT) : NULL;
    char url[128];
    http_buf out = {0};
    long status = 0;
    CURL *curl = curl_easy_init();
    snprintf(url, sizeof url, "%s/api/v1/registry", c->api);
    int rv = body && curl ? s_http(curl, "PUT", url, c->admin, body, &out, &status) : -1;
    if (rv != 0 || status != 200) {
        fprintf(stderr, "aw-bench-center: PUT %s: status %ld: %.500s\n", url, status,
                out.p ? out.p : "(no answer)");
        rv = -1;
    }
    curl_easy_cleanup(curl);
    free(out.p);
    free(body);
    json_decref(reg);
    return rv;
}

/* ------------------------------------------------------------ the readings */

/* Encodes edge @p e's reading @p i (device i mod 4) at device time @p t. */
static int s_encode(const sim_edge *e, uint64_t i, int64_t t, uint8_t **buf, size_t *len)
{
    char dev[48];
    unsigned d = (unsigned)(i % DEVICES);
    snprintf(dev, sizeof dev, "%s-d%u", e->id + 6, d);
    aw_bench_reading r = {.device = dev,
                          .metric = s_metrics[d],
                          .unit = s_units[d],
                          .value = 1.0 + (double)((i * 2654435761u + e->idx) % 1000) / 1000.0,
                          .time_ms = t,
                          .logical = (uint16_t)(i & 0xffff)};
    return aw_bench_reading_encode(&r, buf, len);
}

/* The encoded readings of all edges, one arena: edge e owns [offs[e][0], offs[e][n]). */
typedef struct arena {
    uint8_t *bytes;
    uint32_t *offs;
    size_t size, cap;
} arena;

static int s_arena_put(arena *a, const uint8_t *buf, size_t len)
{
    if (a->size + len > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : (size_t)64 << 20;
        uint8_t *p = realloc(a->bytes, cap);
        if (!p)
            return -1;
        a->bytes = p;
        a->cap = cap;
    }
    memcpy(a->bytes + a->size, buf, len);
    a->size += len;
    return 0;
}

/* Encodes every edge's readings for the window (device times 1 per reading
 * interval from @p t0_ms). Offsets are relative to each edge's start. */
static int s_prepare(const bench *b, sim_edge *edges, arena *a, size_t *starts)
{
    double per_edge = b->rate / b->edges;
    uint64_t n = (uint64_t)ceil(per_edge * (b->duration_s + 1)) + 4;
    int64_t t0 = aw_bench_wall_ms();
    a->offs = malloc((size_t)b->edges * (n + 1) * sizeof(uint32_t));
    if (!a->offs)
        return -1;
    for (unsigned e = 0; e < b->edges; e++) {
        sim_edge *s = &edges[e];
        uint32_t *offs = a->offs + (size_t)e * (n + 1);
        starts[e] = a->size;
        offs[0] = 0;
        for (uint64_t i = 0; i < n; i++) {
            uint8_t *buf = NULL;
            size_t len = 0;
            int64_t t = t0 + (int64_t)((double)i * 1000.0 / per_edge);
            if (s_encode(s, i, t, &buf, &len) != AW_OK || s_arena_put(a, buf, len) != 0) {
                free(buf);
                return -1;
            }
            free(buf);
            offs[i + 1] = (uint32_t)(a->size - starts[e]);
        }
        s->offs = offs;
        s->n_recs = n;
    }
    for (unsigned e = 0; e < b->edges; e++)
        edges[e].arena = a->bytes + starts[e];
    return 0;
}

/* ------------------------------------------------------------ edge setup */

/* Edge @p i: ids, its certificate pair (public copy in the allow-list), its store. */
static int s_edge_files(sim_edge *e, unsigned i, const center *c)
{
    e->idx = i;
    snprintf(e->id, sizeof e->id, "bench-e%03u", i);
    snprintf(e->zone, sizeof e->zone, "bench/z%03u", i);
    snprintf(e->dir, sizeof e->dir, "%s/edge-%03u", c->d.dir, i);
    snprintf(e->cert, sizeof e->cert, "%s/edge-%03u.cert", c->d.dir, i);
    int rv = aw_bench_center_edge(&c->d, e->id, e->zone, e->cert);
    aw_store_opts so = {.path = e->dir,
                        .map_size = (size_t)4 << 20,
                        .map_max = (size_t)256 << 20,
                        .durability = AW_DURABLE_NOSYNC};
    if (rv != 0 || aw_store_open(&so, &e->store) != AW_OK)
        return -1;
    return s_ring_init(&e->acks, ACK_RING);
}

/* The uplink and transport of edge @p e, registered in @p ep. */
static int s_edge_connect(sim_edge *e, const center *c, int ep)
{
    aw_transport_opts to = {
        .endpoint = c->d.endpoint, .cert_path = e->cert, .server_key = c->d.server_key};
    aw_uplink_opts uo = {.edge_id = e->id,
                         .zone = e->zone,
                         .ack_flush_ms = 1000,
                         .send = aw_transport_send,
                         .on_down = aw_bench_down_ignore};
    if (aw_transport_new(&to, &e->t) != AW_OK)
        return -1;
    uo.send_arg = e->t;
    if (aw_uplink_new(e->store, &uo, &e->up) != AW_OK)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = e->idx};
    return epoll_ctl(ep, EPOLL_CTL_ADD, aw_transport_fd(e->t), &ev);
}

static void s_edge_close(sim_edge *e)
{
    aw_uplink_destroy(&e->up);
    aw_transport_destroy(&e->t);
    aw_store_destroy(&e->store);
    free(e->acks.e);
    free(e->pic.e);
    e->acks.e = e->pic.e = NULL;
}

/* Reads the edge's acked mark and settles its commits into @p acks. */
static void s_edge_acked(sim_edge *e, int64_t now_us, hist *acks)
{
    aw_uplink_status st;
    if (aw_uplink_status_get(e->up, now_us / 1000, &st) != AW_OK)
        return;
    e->acked = st.acked[AW_LANE_BULK];
    s_ring_settle(&e->acks, e->acked, now_us, acks);
}

/* Drives edges [from, to) until they are all UP; -1 past @p end_us. */
static int s_wave_up(sim_edge *edges, unsigned from, unsigned to, int64_t end_us)
{
    for (;;) {
        int64_t now = aw_bench_mono_us();
        unsigned up = 0;
        for (unsigned i = from; i < to; i++) {
            aw_transport_process(edges[i].t, edges[i].up, now / 1000);
            aw_uplink_tick(edges[i].up, now / 1000);
            aw_transport_process(edges[i].t, edges[i].up, now / 1000);
            up += aw_uplink_state_get(edges[i].up) == AW_UPLINK_UP;
        }
        if (up == to - from)
            return 0;
        if (now > end_us)
            return -1;
        poll(NULL, 0, 5);
    }
}

/* Connects the edges in waves of @p wave and brings each wave UP
 * (Hello/Welcome) before the next: a county of edges all dialling at once
 * is a test of its own. Returns 0, or -1 after SETUP_S. */
static int s_edges_up(sim_edge *edges, unsigned n, unsigned wave, const center *c, int ep,
                      double *up_s)
{
    int64_t t0 = aw_bench_mono_us(), end = t0 + (int64_t)SETUP_S * 1000000;
    for (unsigned from = 0; from < n; from += wave) {
        unsigned to = from + wave < n ? from + wave : n;
        for (unsigned i = from; i < to; i++)
            if (s_edge_connect(&edges[i], c, ep) != 0) {
                fprintf(stderr, "aw-bench-center: edge %u: cannot connect\n", i);
                return -1;
            }
        if (s_wave_up(edges, 0, to, end) != 0) {
            fprintf(stderr, "aw-bench-center: edges %u..%u not up after %d s\n", from, to - 1,
                    SETUP_S);
            return -1;
        }
        fprintf(stderr, "  %u of %u edges up (%.1f s)\n", to, n,
                (double)(aw_bench_mono_us() - t0) / 1e6);
    }
    *up_s = (double)(aw_bench_mono_us() - t0) / 1e6;
    return 0;
}

/* ------------------------------------------------------------ the picture poller */

static atomic_int s_stop_poller;

typedef struct poller {
    const bench *b;
    const center *c;
    sim_edge *edges;
    unsigned *sampled; /* indexes of the sampled edges */
    unsigned n_sampled;
    hist fresh; /* under s_pic_lock */
    hist get;   /* GET latency, poller thread only */
    uint64_t gets, errors;
    uint64_t no_link; /* answers without link.applied.bulk */
    char first_error[512];
} poller;

/* link.applied.bulk of a picture answer; -1 when absent. */
static int64_t s_applied_bulk(const char *body)
{
    json_t *j = json_loads(body, 0, NULL);
    json_t *v = json_object_get(
        json_object_get(json_object_get(json_object_get(j, "root"), "link"), "applied"), "bulk");
    int64_t bulk = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
    json_decref(j);
    return bulk;
}

/* One sampled edge's request in flight (or waiting for its next turn). */
typedef struct poll_slot {
    CURL *curl;
    struct curl_slist *hdr;
    http_buf out;
    sim_edge *edge;
    char url[192];
    int64_t t0, next; /* request start; earliest next start */
    int busy;
} poll_slot;

/* Settles the sampled edge's commits that the answer of @p s shows applied. */
static void s_poll_done(poller *p, poll_slot *s, CURLcode rc)
{
    int64_t t1 = aw_bench_mono_us();
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    p->gets++;
    s_hist_add(&p->get, t1 - s->t0, 1);
    if (rc != CURLE_OK || status != 200) {
        if (p->errors++ == 0)
            snprintf(p->first_error, sizeof p->first_error, "GET %s: %s, status %ld: %.100s",
                     s->url, curl_easy_strerror(rc), status, s->out.p ? s->out.p : "");
        return;
    }
    int64_t bulk = s_applied_bulk(s->out.p ? s->out.p : "");
    if (bulk < 0) {
        p->no_link++;
        return;
    }
    pthread_mutex_lock(&s_pic_lock);
    s_ring_settle(&s->edge->pic, (uint64_t)bulk, t1, &p->fresh);
    pthread_mutex_unlock(&s_pic_lock);
}

static int s_slot_init(poller *p, poll_slot *s, sim_edge *e)
{
    char auth[128];
    s->edge = e;
    snprintf(s->url, sizeof s->url, "%s/api/v1/picture?root=%s&depth=0", p->c->api, e->zone);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", p->c->viewer);
    if (!(s->curl = curl_easy_init()) || !(s->hdr = curl_slist_append(NULL, auth)))
        return -1;
    curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->hdr);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, s_http_write);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &s->out);
    curl_easy_setopt(s->curl, CURLOPT_PRIVATE, s);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, 10000L);
    return 0;
}

/* Starts the requests of the idle slots whose turn has come. */
static void s_poll_start(CURLM *m, poll_slot *slots, unsigned n, int64_t period_us)
{
    int64_t now = aw_bench_mono_us();
    for (unsigned i = 0; i < n; i++) {
        poll_slot *s = &slots[i];
        if (s->busy || now < s->next)
            continue;
        s->out.n = 0;
        s->t0 = now;
        s->next = now + period_us;
        s->busy = curl_multi_add_handle(m, s->curl) == CURLM_OK;
    }
}

/* The poller: one connection per sampled edge, all in flight together, so
 * each edge is asked again as soon as its answer came (at most every
 * poll_ms): the center answers them in the same loop turn. */
static void *s_poller(void *arg)
{
    poller *p = arg;
    CURLM *m = curl_multi_init();
    poll_slot *slots = calloc(p->n_sampled, sizeof *slots);
    int ok = m && slots;
    for (unsigned i = 0; ok && i < p->n_sampled; i++)
        ok = s_slot_init(p, &slots[i], &p->edges[p->sampled[i]]) == 0;
    while (ok && !atomic_load(&s_stop_poller)) {
        int running = 0, left = 0;
        CURLMsg *msg;
        s_poll_start(m, slots, p->n_sampled, (int64_t)p->b->poll_ms * 1000);
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &left)))
            if (msg->msg == CURLMSG_DONE) {
                poll_slot *s = NULL;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
                CURLcode rc = msg->data.result;
                curl_multi_remove_handle(m, msg->easy_handle);
                s->busy = 0;
                s_poll_done(p, s, rc);
            }
        curl_multi_poll(m, NULL, 0, 2, NULL);
    }
    for (unsigned i = 0; slots && i < p->n_sampled; i++) {
        if (slots[i].busy)
            curl_multi_remove_handle(m, slots[i].curl);
        curl_easy_cleanup(slots[i].curl);
        curl_slist_free_all(slots[i].hdr);
        free(slots[i].out.p);
    }
    free(slots);
    curl_multi_cleanup(m);
    return NULL;
}

/* True when no sampled edge has a commit the picture has not shown yet. */
static int s_pic_settled(const poller *p)
{
    int settled = 1;
    pthread_mutex_lock(&s_pic_lock);
    for (unsigned i = 0; i < p->n_sampled; i++) {
        const ring *r = &p->edges[p->sampled[i]].pic;
        settled &= r->head == r->tail;
    }
    pthread_mutex_unlock(&s_pic_lock);
    return settled;
}

/* ------------------------------------------------------------ the run */

typedef struct run {
    sim_edge *edges;
    unsigned n;
    int ep;
    hist acks;
    uint64_t offered;    /* readings committed in the window */
    uint64_t commits;    /* appends in the window */
    int64_t late_max_us; /* generator behind its schedule, worst */
    uint64_t acked_end;  /* readings acked when the window closed */
    double window_s;
    double drain_s; /* window end → all acked (-1 = timeout) */
    uint64_t backlog_end;
    double center_cpu_s, gen_cpu_s;
    double up_s; /* all edges connected and UP */
    uint64_t rss_kib, hwm_kib, anon_kib;
    int failed;
} run;

/* Commits edge @p e's readings due at window time @p t_s and hands them to its uplink. */
static void s_append(run *r, sim_edge *e, const bench *b, double t_s, int64_t due_us)
{
    const void *recs[APPEND_MAX];
    size_t lens[APPEND_MAX];
    uint64_t want = (uint64_t)floor(b->rate / b->edges * t_s), first = 0;
    if (want > e->n_recs)
        want = e->n_recs;
    size_t k = want > e->next_rec ? (size_t)(want - e->next_rec) : 0;
    if (k > APPEND_MAX)
        k = APPEND_MAX;
    if (k == 0)
        return;
    for (size_t i = 0; i < k; i++) {
        uint64_t j = e->next_rec + i;
        recs[i] = e->arena + e->offs[j];
        lens[i] = e->offs[j + 1] - e->offs[j];
    }
    int64_t now = aw_bench_mono_us();
    if (now - due_us > r->late_max_us)
        r->late_max_us = now - due_us;
    if (aw_store_append(e->store, AW_LANE_BULK, recs, lens, k, (uint64_t)aw_bench_wall_ms() << 16,
                        &first) != AW_OK) {
        r->failed = 1;
        return;
    }
    int64_t done = aw_bench_mono_us();
    e->next_rec += k;
    e->head = first + k - 1;
    r->offered += k;
    r->commits++;
    pend p = {e->head, done, (uint32_t)k};
    s_ring_push(&e->acks, p);
    if (e->sampled) {
        pthread_mutex_lock(&s_pic_lock);
        s_ring_push(&e->pic, p);
        pthread_mutex_unlock(&s_pic_lock);
    }
    aw_uplink_notify_appended(e->up, done / 1000);
    aw_transport_process(e->t, e->up, done / 1000);
}

/* Handles what the center sent (epoll) for up to @p wait_ms. */
static void s_receive(run *r, int wait_ms)
{
    struct epoll_event ev[256];
    int k = epoll_wait(r->ep, ev, 256, wait_ms < 0 ? 0 : wait_ms);
    int64_t now = aw_bench_mono_us();
    for (int i = 0; i < k; i++) {
        sim_edge *e = &r->edges[ev[i].data.u32];
        aw_transport_process(e->t, e->up, now / 1000);
        if (e->acks.head != e->acks.tail)
            s_edge_acked(e, now, &r->acks);
    }
}

static uint64_t s_total_acked(run *r)
{
    uint64_t sum = 0;
    int64_t now = aw_bench_mono_us();
    for (unsigned i = 0; i < r->n; i++) {
        s_edge_acked(&r->edges[i], now, &r->acks);
        sum += r->edges[i].acked;
    }
    return sum;
}

/* Runs the uplink timers of the edges whose turn it is (each every TICK_US). */
static void s_ticks(run *r, int64_t now, uint64_t *cursor, int64_t t0)
{
    for (;; (*cursor)++) {
        int64_t due = t0 + (int64_t)(*cursor / r->n) * TICK_US +
                      (int64_t)(*cursor % r->n) * TICK_US / (int64_t)r->n;
        if (due > now)
            return;
        sim_edge *e = &r->edges[*cursor % r->n];
        aw_uplink_tick(e->up, now / 1000);
        aw_transport_process(e->t, e->up, now / 1000);
    }
}

/* The window: commits on schedule for duration_s, receiving Acks between. */
static void s_window(run *r, const bench *b, const center *c)
{
    int64_t period = (int64_t)b->commit_ms * 1000, t0 = aw_bench_mono_us();
    int64_t end = t0 + (int64_t)b->duration_s * 1000000;
    uint64_t j = 0, tick = 0;
    double cpu0 = aw_bench_proc_cpu(c->d.pid), gen0 = aw_bench_cpu_self();
    int shown = 0;
    for (;;) {
        int64_t now = aw_bench_mono_us(), due;
        while ((due = t0 + (int64_t)(j / r->n) * period +
                      (int64_t)(j % r->n) * period / (int64_t)r->n) <= now &&
               due < end) {
            double t_s = (double)(due - t0 + period) / 1e6;
            s_append(r, &r->edges[j % r->n], b, t_s > b->duration_s ? b->duration_s : t_s, due);
            j++;
        }
        if (due >= end && now >= end)
            break;
        s_ticks(r, now, &tick, t0);
        int64_t wait = (due - aw_bench_mono_us() + 999) / 1000; /* ≥ 1 ms: no busy loop */
        s_receive(r, wait > 5 ? 5 : wait < 1 ? 1 : (int)wait);
        if ((now - t0) / 10000000 != shown) {
            shown = (int)((now - t0) / 10000000);
            fprintf(stderr, "  %3d s: %" PRIu64 " readings committed\n", shown * 10, r->offered);
        }
    }
    r->window_s = (double)(aw_bench_mono_us() - t0) / 1e6;
    r->center_cpu_s = aw_bench_proc_cpu(c->d.pid) - cpu0;
    r->gen_cpu_s = aw_bench_cpu_self() - gen0;
    r->rss_kib = aw_bench_proc_kib(c->d.pid, "VmRSS:");
    r->hwm_kib = aw_bench_proc_kib(c->d.pid, "VmHWM:");
    r->anon_kib = aw_bench_proc_kib(c->d.pid, "RssAnon:");
    r->acked_end = s_total_acked(r);
    r->backlog_end = r->offered - r->acked_end;
}

/* After the window: until every committed reading is acked (DRAIN_S at most). */
static void s_drain(run *r)
{
    int64_t t0 = aw_bench_mono_us(), end = t0 + (int64_t)DRAIN_S * 1000000;
    uint64_t tick = 0;
    r->drain_s = -1;
    while (aw_bench_mono_us() < end) {
        if (s_total_acked(r) == r->offered) {
            r->drain_s = (double)(aw_bench_mono_us() - t0) / 1e6;
            return;
        }
        s_ticks(r, aw_bench_mono_us(), &tick, t0);
        s_receive(r, 5);
    }
}

/* ------------------------------------------------------------ wrk */

typedef struct wrk_result {
    double rps;
    uint64_t non2xx;
    double lat_ms;
    int ran;
} wrk_result;

static void s_wrk(const bench *b, const center *c, wrk_result *w)
{
    char url[128], auth[96], log[PATH_MAX + 32];
    snprintf(url, sizeof url, "%s/api/v1/picture?depth=3", c->api);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->viewer);
    snprintf(log, sizeof log, "%s/wrk.txt", c->d.dir);
    char *argv[] = {"wrk", "-t2", "-c16", "-d10s", "-H", auth, url, NULL};
    fprintf(stderr, "  wrk -t2 -c16 -d10s -H \"Authorization: Bearer …\" %s\n", url);
    pid_t pid = aw_bench_spawn(argv, -1, -1, log);
    int st = aw_bench_reap(&pid, 0, 30000, NULL);
    char *out = aw_bench_slurp(log), *p;
    (void)b;
    if (st != 0 || !out || !(p = strstr(out, "Requests/sec:"))) {
        fprintf(stderr, "aw-bench-center: wrk failed: %s\n", out ? out : "(no output)");
        free(out);
        return;
    }
    w->ran = 1;
    w->rps = strtod(p + 13, NULL);
    if ((p = strstr(out, "Non-2xx or 3xx responses:")))
        w->non2xx = strtoull(p + 26, NULL, 10);
    if ((p = strstr(out, "Latency")))
        w->lat_ms = strtod(p + 7, &p) * (strncmp(p, "us", 2) == 0   ? 0.001
                                         : strncmp(p, "ms", 2) == 0 ? 1
                                                                    : 1000);
    free(out);
}

/* ------------------------------------------------------------ report */

static void s_print(const bench *b, const center *c, const run *r, const poller *p,
                    const wrk_result *w, uint64_t held, double prep_s)
{
    double offered = (double)r->offered / r->window_s;
    double applied = (double)r->acked_end / r->window_s;
    int keeps = r->drain_s >= 0 && r->drain_s <= 2.0 && held == r->offered;
    double f99 = p ? s_hist_ms(&p->fresh, 0.99) : -1;
    printf("aw-bench-center: %u edges in one process (edge stores NOSYNC, center fsync), "
           "%.0f readings/s for %d s, commits every %d ms per edge (prep %.1f s)\n",
           b->edges, b->rate, b->duration_s, b->commit_ms, prep_s);
    printf("  connect:  %u edges up in %.1f s (%u at a time)\n", b->edges, r->up_s, b->wave);
    printf("  offered:  %" PRIu64 " readings in %" PRIu64 " commits, %.0f/s (generator late "
           "by at most %.1f ms; generator CPU %.0f%%)\n",
           r->offered, r->commits, offered, (double)r->late_max_us / 1000.0,
           100.0 * r->gen_cpu_s / r->window_s);
    printf("  applied:  %.0f/s acked over the window; backlog at its end %" PRIu64
           ", drained in %.2f s; center holds %" PRIu64 " of %" PRIu64 "\n",
           applied, r->backlog_end, r->drain_s, held, r->offered);
    printf("  ack latency (edge commit → Ack at the edge): p50 %.1f ms, p99 %.1f ms, max %.1f "
           "ms\n",
           s_hist_ms(&r->acks, 0.5), s_hist_ms(&r->acks, 0.99), (double)r->acks.max_us / 1000);
    if (p)
        printf("  picture freshness (edge commit → GET /api/v1/picture shows it; %u edges "
               "sampled, each asked again when answered, at most every %d ms): p50 %.1f ms, p99 "
               "%.1f ms, max %.1f ms over %" PRIu64 " readings\n"
               "  picture GETs during the load: %" PRIu64 " (%" PRIu64 " failed, %" PRIu64
               " without link), latency p50 %.1f ms, p99 %.1f ms\n",
               p->n_sampled, b->poll_ms, s_hist_ms(&p->fresh, 0.5), f99,
               (double)p->fresh.max_us / 1000, p->fresh.n, p->gets, p->errors, p->no_link,
               s_hist_ms(&p->get, 0.5), s_hist_ms(&p->get, 0.99));
    else
        printf("  picture freshness: not measured (this anwang-center has no HTTP API)\n");
    if (p && p->errors)
        printf("  first failed GET: %s\n", p->first_error);
    printf("  center: CPU %.1f%% of one core (%.1f s over %.1f s), RSS %.1f MiB (peak %.1f "
           "MiB; of it %.1f MiB anonymous, the rest the LMDB map's pages)\n",
           100.0 * r->center_cpu_s / r->window_s, r->center_cpu_s, r->window_s,
           (double)r->rss_kib / 1024, (double)r->hwm_kib / 1024, (double)r->anon_kib / 1024);
    if (w->ran)
        printf("  GET /api/v1/picture?depth=3, wrk -t2 -c16 -d10s: %.0f requests/s (avg "
               "latency %.2f ms, non-2xx %" PRIu64 ")\n",
               w->rps, w->lat_ms, w->non2xx);
    printf("  target: keeps up %s; freshness p99 ≤ 1 s %s\n", keeps ? "yes" : "NO",
           !p                        ? "not measured"
           : f99 >= 0 && f99 <= 1000 ? "yes"
                                     : "NO");
    if (b->o.json)
        printf("{\"edges\":%u,\"rate\":%.0f,\"duration_s\":%d,\"offered_per_s\":%.0f,"
               "\"applied_per_s\":%.0f,\"backlog_end\":%" PRIu64 ",\"drain_s\":%.3f,"
               "\"held\":%" PRIu64 ",\"offered\":%" PRIu64 ",\"ack_p50_ms\":%.1f,"
               "\"ack_p99_ms\":%.1f,\"ack_max_ms\":%.1f,\"fresh_p50_ms\":%.1f,"
               "\"fresh_p99_ms\":%.1f,\"fresh_max_ms\":%.1f,\"center_cpu_pct\":%.1f,"
               "\"center_rss_mib\":%.1f,\"center_hwm_mib\":%.1f,\"center_anon_mib\":%.1f,"
               "\"wrk_rps\":%.0f,"
               "\"keeps_up\":%s}\n",
               b->edges, b->rate, b->duration_s, offered, applied, r->backlog_end, r->drain_s, held,
               r->offered, s_hist_ms(&r->acks, 0.5), s_hist_ms(&r->acks, 0.99),
               (double)r->acks.max_us / 1000, p ? s_hist_ms(&p->fresh, 0.5) : -1, f99,
               p ? (double)p->fresh.max_us / 1000 : -1, 100.0 * r->center_cpu_s / r->window_s,
               (double)r->rss_kib / 1024, (double)r->hwm_kib / 1024, (double)r->anon_kib / 1024,
               w->ran ? w->rps : -1, keeps ? "true" : "false");
    (void)c;
}

/* ------------------------------------------------------------ main */

static void s_usage(void)
{
    fprintf(stderr,
            "usage: aw-bench-center [--edges N] [--rate R] [--duration S] "
            "[--commit-ms MS]\n"
            "                       [--sample K] [--poll-ms MS] [--wave W] [--port P] [-d DIR]\n"
            "                       [--center PATH] [--center-map SIZE] [--no-wrk] "
            "[--json]\n");
}

static int s_parse(int argc, char **argv, bench *b)
{
    static const struct option longs[] = {{"edges", required_argument, NULL, 'e'},
                                          {"rate", required_argument, NULL, 'r'},
                                          {"duration", required_argument, NULL, 's'},
                                          {"commit-ms", required_argument, NULL, 'm'},
                                          {"sample", required_argument, NULL, 'k'},
                                          {"poll-ms", required_argument, NULL, 'z'},
                                          {"port", required_argument, NULL, 'p'},
                                          {"center", required_argument, NULL, 'C'},
                                          {"center-map", required_argument, NULL, 'M'},
                                          {"no-wrk", no_argument, NULL, 'W'},
                                          {"json", no_argument, NULL, 'J'},
                                          {"wave", required_argument, NULL, 'w'},
                                          {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "d:", longs, NULL)) != -1) {
        if (aw_bench_opt(&b->o, c, optarg))
            continue;
        switch (c) {
        case 'e':
            b->edges = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            b->rate = strtod(optarg, NULL);
            break;
        case 's':
            b->duration_s = (int)strtol(optarg, NULL, 10);
            break;
        case 'm':
            b->commit_ms = (int)strtol(optarg, NULL, 10);
            break;
        case 'k':
            b->sample = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'z':
            b->poll_ms = (int)strtol(optarg, NULL, 10);
            break;
        case 'p':
            b->port = (int)strtol(optarg, NULL, 10);
            break;
        case 'W':
            b->wrk = 0;
            break;
        case 'w':
            b->wave = (unsigned)strtoul(optarg, NULL, 10);
            break;
        default:
            s_usage();
            return -1;
        }
    }
    if (optind != argc || b->edges == 0 || b->edges > MAX_EDGES || !(b->rate > 0) ||
        b->duration_s <= 0 || b->duration_s > 600 || b->commit_ms <= 0 || b->poll_ms <= 0 ||
        b->port <= 0 || b->port > 65534 || b->wave == 0) {
        s_usage();
        return -1;
    }
    if (b->sample > b->edges)
        b->sample = b->edges;
    return 0;
}

/* Starts the picture poller on every (edges / sample)-th edge. */
static int s_poller_start(poller *p, pthread_t *th)
{
    unsigned n = p->b->sample, step = p->b->edges / (n ? n : 1);
    if (n == 0 || !p->c->api[0])
        return 1;
    p->sampled = calloc(n, sizeof *p->sampled);
    if (!p->sampled || s_hist_init(&p->fresh) != 0 || s_hist_init(&p->get) != 0)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        sim_edge *e = &p->edges[i * step];
        if (s_ring_init(&e->pic, PIC_RING) != 0)
            return -1;
        e->sampled = 1;
        p->sampled[p->n_sampled++] = i * step;
    }
    return pthread_create(th, NULL, s_poller, p) == 0 ? 0 : -1;
}

/* Everything between the center's start and its stop. */
static int s_bench(const bench *b, center *c, run *r, poller *p, wrk_result *w, double *prep_s)
{
    arena a = {0};
    size_t *starts = calloc(b->edges, sizeof *starts);
    pthread_t th;
    int poll_rv = 1, rv = -1;
    int64_t t0 = aw_bench_mono_us();
    fprintf(stderr, "encoding %.0f readings for %u edges\n", b->rate * (b->duration_s + 1),
            b->edges);
    if (!starts || s_prepare(b, r->edges, &a, starts) != 0)
        goto out;
    *prep_s = (double)(aw_bench_mono_us() - t0) / 1e6;
    if (c->api[0] &&
        (!aw_bench_wait_port(HOST, b->port + 1, 10000) || s_put_registry(c, r->edges, b->edges)))
        goto out;
    fprintf(stderr, "connecting %u edges to %s, %u at a time\n", b->edges, c->d.endpoint, b->wave);
    if (s_edges_up(r->edges, b->edges, b->wave, c, r->ep, &r->up_s) != 0)
        goto out;
    if ((poll_rv = s_poller_start(p, &th)) < 0)
        goto out;
    fprintf(stderr, "load: %.0f readings/s for %d s\n", b->rate, b->duration_s);
    s_window(r, b, c);
    fprintf(stderr, "window closed: backlog %" PRIu64 ", draining\n", r->backlog_end);
    s_drain(r);
    for (int64_t end = aw_bench_mono_us() + 10000000;
         poll_rv == 0 && !s_pic_settled(p) && aw_bench_mono_us() < end;)
        poll(NULL, 0, 20);
    rv = r->drain_s >= 0 && !r->failed ? 0 : -1;
out:
    if (poll_rv == 0) {
        atomic_store(&s_stop_poller, 1);
        pthread_join(th, NULL);
    }
    if (rv == 0 && c->api[0] && b->wrk && access("/usr/bin/wrk", X_OK) == 0)
        s_wrk(b, c, w);
    free(a.bytes);
    free(a.offs);
    free(starts);
    return rv;
}

int main(int argc, char **argv)
{
    bench b = {.edges = 500,
               .rate = 93000,
               .duration_s = 60,
               .commit_ms = 100,
               .sample = 10,
               .wave = 25,
               .poll_ms = 20,
               .port = 17900,
               .wrk = 1};
    center c = {0};
    run r = {0};
    poller p = {0};
    wrk_result w = {0};
    double prep_s = 0;
    uint64_t held = 0;
    int rv = 1;
    aw_bench_opts_init(&b.o, "4G");
    if (s_parse(argc, argv, &b) != 0)
        return 2;
    aw_bench_signals();
    srandom((unsigned)(aw_bench_wall_ms() ^ getpid()));
    aw_log_set_level(AW_LOG_WARN); /* the edges' uplinks: one line each per state change */
    zsys_set_max_sockets(b.edges + 64);
    zsys_init();
    zsys_set_logstream(stderr);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    r.edges = calloc(b.edges, sizeof *r.edges);
    r.n = b.edges;
    r.ep = epoll_create1(EPOLL_CLOEXEC);
    p = (poller){.b = &b, .c = &c, .edges = r.edges};
    if (!r.edges || r.ep < 0 || s_hist_init(&r.acks) != 0 ||
        aw_bench_tempdir(b.o.base, "aw-bench-center", c.d.dir, sizeof c.d.dir) != 0) {
        fprintf(stderr, "aw-bench-center: setup: %s\n", strerror(errno));
        c.d.dir[0] = '\0';
        goto out;
    }
    fprintf(stderr, "setting up %u edges and the center in %s\n", b.edges, c.d.dir);
    if (s_center_files(&c, &b) != 0)
        goto out;
    for (unsigned i = 0; i < b.edges; i++)
        if (s_edge_files(&r.edges[i], i, &c) != 0) {
            fprintf(stderr, "aw-bench-center: edge %u setup failed\n", i);
            goto out;
        }
    if (s_center_start(&c, b.o.center_bin) != 0)
        goto out;
    rv = s_bench(&b, &c, &r, &p, &w, &prep_s) == 0 ? 0 : 1;
    for (unsigned i = 0; i < b.edges; i++)
        s_edge_close(&r.edges[i]);
    if (aw_bench_reap(&c.d.pid, 1, 20000, NULL) != 0)
        fprintf(stderr, "aw-bench-center: the center did not stop cleanly\n");
    aw_bench_log_problems(c.d.log);
    held = s_center_held(&c, r.edges, b.edges);
    if (held != r.offered)
        rv = 1;
    s_print(&b, &c, &r, c.api[0] ? &p : NULL, &w, held, prep_s);
out:
    aw_bench_reap(&c.d.pid, 1, 5000, NULL);
    if (r.edges)
        for (unsigned i = 0; i < b.edges; i++)
            s_edge_close(&r.edges[i]);
    if (r.ep >= 0)
        close(r.ep);
    aw_bench_rmtree(c.d.dir);
    free(r.edges);
    free(r.acks.b);
    free(p.fresh.b);
    free(p.get.b);
    free(p.sampled);
    curl_global_cleanup();
    return rv;
}
