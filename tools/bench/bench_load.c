#include "bench_load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* CoAP message types. */
#define S_CON 0
#define S_NON 1
#define S_ACK 2
#define S_RST 3

#define S_BATCH         64         /* datagrams per recvmmsg / sendmmsg */
#define S_RETRANSMIT_NS 1000000000 /* resend an unanswered request after this */
#define S_MAX_TRIES     5
#define S_GIVE_UP_NS    INT64_C(10000000000) /* acked but no separate response */
#define S_DRAIN_NS      INT64_C(3000000000)
#define S_HIST_US       1000000 /* latency histogram: 1 µs buckets up to 1 s */
#define S_MAX_INFLIGHT  4096

typedef struct s_slot {
    bool busy, acked, counted;
    uint16_t mid;
    uint32_t gen;
    int tries;
    int64_t first_ns, sent_ns;
    size_t len;
    uint8_t buf[AW_LOAD_MAX_REQ];
} s_slot;

/* Datagrams waiting for the next sendmmsg. */
typedef struct s_outq {
    struct mmsghdr msgs[S_BATCH];
    struct iovec iov[S_BATCH];
    uint8_t acks[S_BATCH][4];
    unsigned n;
} s_outq;

typedef struct s_gen {
    const aw_load_opts *o;
    int fd, ep;
    s_slot *slots;
    int32_t by_mid[65536]; /* slot index + 1 of the request with that mid */
    uint16_t next_mid;
    size_t next_req;
    int64_t t_warm, t_end;
    bool stopping;
    uint32_t *hist;
    uint64_t over; /* latencies beyond the histogram */
    aw_load_result *r;
    s_outq q;
} s_gen;

static int64_t s_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------ encoding */

size_t aw_load_template(uint8_t *out, const char *path, int ct, const void *body, size_t len)
{
    size_t plen = strlen(path), o = 0;
    if (plen == 0 || plen > 12 || ct < 0 || ct > 255 ||
        4 + AW_LOAD_TOKEN + 1 + plen + 2 + 1 + len > AW_LOAD_MAX_REQ)
        return 0;
    out[o++] = 0x40 | (S_CON << 4) | AW_LOAD_TOKEN;
    out[o++] = 0x02; /* POST */
    out[o++] = 0, out[o++] = 0;
    memset(out + o, 0, AW_LOAD_TOKEN), o += AW_LOAD_TOKEN;
    out[o++] = (uint8_t)(11 << 4 | plen); /* Uri-Path */
    memcpy(out + o, path, plen), o += plen;
    out[o++] = (uint8_t)(1 << 4 | 1); /* Content-Format (12) */
    out[o++] = (uint8_t)ct;
    out[o++] = 0xff;
    memcpy(out + o, body, len);
    return o + len;
}

static void s_put_token(uint8_t *buf, uint32_t slot, uint32_t gen)
{
    for (int i = 0; i < 4; i++) {
        buf[4 + i] = (uint8_t)(slot >> (24 - 8 * i));
        buf[8 + i] = (uint8_t)(gen >> (24 - 8 * i));
    }
}

static uint32_t s_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ------------------------------------------------------------ socket */

static int s_connect(const char *addr, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int size = 4 << 20;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void s_flush_out(s_gen *g)
{
    unsigned sent = 0;
    while (sent < g->q.n) {
        int n = sendmmsg(g->fd, g->q.msgs + sent, g->q.n - sent, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* full send buffer: wait for room; the retransmit timer covers loss */
            struct pollfd p = {.fd = g->fd, .events = POLLOUT};
            if (n < 0 && errno == EAGAIN && poll(&p, 1, 10) > 0)
                continue;
            break;
        }
        sent += (unsigned)n;
    }
    g->q.n = 0;
}

static void s_queue(s_gen *g, const void *buf, size_t len)
{
    if (g->q.n == S_BATCH)
        s_flush_out(g);
    unsigned i = g->q.n++;
    g->q.iov[i] = (struct iovec){(void *)buf, len};
    memset(&g->q.msgs[i], 0, sizeof g->q.msgs[i]);
    g->q.msgs[i].msg_hdr.msg_iov = &g->q.iov[i];
    g->q.msgs[i].msg_hdr.msg_iovlen = 1;
}

static void s_queue_ack(s_gen *g, uint16_t mid)
{
    if (g->q.n == S_BATCH)
        s_flush_out(g);
    uint8_t *a = g->q.acks[g->q.n];
    a[0] = 0x40 | S_ACK << 4, a[1] = 0, a[2] = (uint8_t)(mid >> 8), a[3] = (uint8_t)mid;
    s_queue(g, a, 4);
}

/* ------------------------------------------------------------ requests */

static void s_send_new(s_gen *g, uint32_t i)
{
    s_slot *s = &g->slots[i];
    size_t k = g->next_req++ % g->o->n_reqs;
    s->len = g->o->lens[k];
    memcpy(s->buf, g->o->reqs[k], s->len);
    s->mid = g->next_mid++;
    s->buf[2] = (uint8_t)(s->mid >> 8), s->buf[3] = (uint8_t)s->mid;
    s_put_token(s->buf, i, ++s->gen);
    g->by_mid[s->mid] = (int32_t)i + 1;
    s->busy = true, s->acked = false, s->tries = 1;
    s->first_ns = s->sent_ns = s_ns();
    s_queue(g, s->buf, s->len);
}

static void s_record(s_gen *g, const s_slot *s, int64_t now, bool separate)
{
    if (now < g->t_warm || now >= g->t_end)
        return;
    g->r->done++;
    g->r->separate += separate;
    int64_t us = (now - s->first_ns) / 1000;
    if (us >= 0 && us < S_HIST_US)
        g->hist[us]++;
    else
        g->over++;
}

/* Slot @p i got its answer (@p code, 0 for a reset); reuses it unless stopping. */
static void s_complete(s_gen *g, uint32_t i, int code, bool separate, int64_t now)
{
    s_slot *s = &g->slots[i];
    if (code == 204) {
        g->r->all_done++;
        s_record(g, s, now, separate);
    } else
        g->r->errors++;
    s->busy = false;
    if (!g->stopping)
        s_send_new(g, i);
}

static s_slot *s_by_mid(s_gen *g, uint16_t mid, uint32_t *idx)
{
    int32_t v = g->by_mid[mid];
    if (v <= 0 || !g->slots[v - 1].busy || g->slots[v - 1].mid != mid)
        return NULL;
    *idx = (uint32_t)(v - 1);
    return &g->slots[v - 1];
}

/* Handles one datagram from the server. */
static void s_on_datagram(s_gen *g, const uint8_t *b, size_t n, int64_t now)
{
    if (n < 4 || b[0] >> 6 != 1)
        return;
    int type = (b[0] >> 4) & 3, tkl = b[0] & 15;
    int code = (b[1] >> 5) * 100 + (b[1] & 31);
    uint16_t mid = (uint16_t)(b[2] << 8 | b[3]);
    uint32_t i;
    if (type == S_CON)
        s_queue_ack(g, mid);
    if (type == S_RST || (type == S_ACK && code == 0)) {
        s_slot *s = s_by_mid(g, mid, &i);
        if (s && type == S_RST)
            s_complete(g, i, 0, false, now);
        else if (s)
            s->acked = true;
        return;
    }
    if (code == 0 || tkl != AW_LOAD_TOKEN || n < 4 + AW_LOAD_TOKEN)
        return;
    i = s_get32(b + 4);
    if (i >= g->o->inflight || !g->slots[i].busy || g->slots[i].gen != s_get32(b + 8))
        return;
    s_complete(g, i, code, type != S_ACK, now);
}

static void s_receive(s_gen *g)
{
    static uint8_t bufs[S_BATCH][1500];
    struct mmsghdr msgs[S_BATCH];
    struct iovec iov[S_BATCH];
    for (;;) {
        for (int i = 0; i < S_BATCH; i++) {
            iov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
            memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(g->fd, msgs, S_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        int64_t now = s_ns();
        for (int i = 0; i < n; i++)
            s_on_datagram(g, bufs[i], msgs[i].msg_len, now);
        s_flush_out(g);
    }
}

/* Retransmits requests left unanswered; gives up on hopeless ones. */
static void s_timeouts(s_gen *g, int64_t now)
{
    for (uint32_t i = 0; i < g->o->inflight; i++) {
        s_slot *s = &g->slots[i];
        if (!s->busy)
            continue;
        if (s->acked ? now - s->first_ns > S_GIVE_UP_NS
                     : now - s->sent_ns > S_RETRANSMIT_NS && s->tries == S_MAX_TRIES) {
            g->r->timeouts++;
            s->busy = false;
            if (!g->stopping)
                s_send_new(g, i);
        } else if (!s->acked && now - s->sent_ns > S_RETRANSMIT_NS) {
            s->tries++, s->sent_ns = now;
            g->r->retransmits++;
            s_queue(g, s->buf, s->len);
        }
    }
    s_flush_out(g);
}

/* ------------------------------------------------------------ run */

static unsigned s_busy(const s_gen *g)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < g->o->inflight; i++)
        n += g->slots[i].busy;
    return n;
}

static double s_percentile(const s_gen *g, double p)
{
    uint64_t total = g->r->done, want = (uint64_t)(p * (double)total), seen = 0;
    for (uint32_t us = 0; us < S_HIST_US; us++) {
        seen += g->hist[us];
        if (seen > want)
            return us;
    }
    return total ? S_HIST_US : 0;
}

static void s_progress(const s_gen *g, int64_t now, int64_t *next)
{
    if (!g->o->label || now < *next)
        return;
    const char *phase = now < g->t_warm ? "warm-up" : "measure";
    fprintf(stderr, "  %-22s %3u in flight  %-7s  %8.0f req/s in window so far\n", g->o->label,
            g->o->inflight, phase,
            now < g->t_warm ? 0.0 : (double)g->r->done * 1e9 / (double)(now - g->t_warm));
    *next += 1000000000;
}

static void s_loop(s_gen *g)
{
    struct epoll_event ev;
    int64_t now = s_ns(), next_progress = now + 1000000000, last_timeouts = now, drain_end = 0;
    for (uint32_t i = 0; i < g->o->inflight; i++)
        s_send_new(g, i);
    s_flush_out(g);
    for (;;) {
        if (epoll_wait(g->ep, &ev, 1, 5) > 0)
            s_receive(g);
        now = s_ns();
        if (now - last_timeouts > 10000000)
            s_timeouts(g, now), last_timeouts = now;
        s_progress(g, now, &next_progress);
        if (!g->stopping && now >= g->t_end)
            g->stopping = true, drain_end = now + S_DRAIN_NS;
        if (g->stopping && (s_busy(g) == 0 || now >= drain_end))
            break;
    }
}

static int s_setup(s_gen *g, const aw_load_opts *o, aw_load_result *r)
{
    memset(r, 0, sizeof *r);
    g->o = o, g->r = r, g->fd = g->ep = -1;
    if (o->inflight == 0 || o->inflight > S_MAX_INFLIGHT || o->n_reqs == 0) {
        errno = EINVAL;
        return -1;
    }
    g->slots = calloc(o->inflight, sizeof *g->slots);
    g->hist = calloc(S_HIST_US, sizeof *g->hist);
    if (!g->slots || !g->hist)
        return errno = ENOMEM, -1;
    g->next_mid = (uint16_t)(getpid() ^ s_ns());
    if ((g->fd = s_connect(o->addr, o->port)) < 0 || (g->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN};
    return epoll_ctl(g->ep, EPOLL_CTL_ADD, g->fd, &ev);
}

int aw_load_run(const aw_load_opts *o, aw_load_result *r)
{
    s_gen *g = calloc(1, sizeof *g);
    if (!g)
        return -1;
    int rc = s_setup(g, o, r);
    if (rc == 0) {
        int64_t t0 = s_ns();
        g->t_warm = t0 + (int64_t)(o->warmup_s * 1e9);
        g->t_end = g->t_warm + (int64_t)(o->measure_s * 1e9);
        s_loop(g);
        r->rate = (double)r->done / o->measure_s;
        r->p50_us = s_percentile(g, 0.50);
        r->p99_us = s_percentile(g, 0.99);
    }
    if (g->fd >= 0)
        close(g->fd);
    if (g->ep >= 0)
        close(g->ep);
    free(g->slots);
    free(g->hist);
    free(g);
    return rc;
}

/* ------------------------------------------------------------ GET */

static size_t s_get_request(uint8_t *buf, uint16_t mid, const char *path)
{
    size_t plen = strlen(path) > 12 ? 12 : strlen(path);
    buf[0] = 0x40 | S_CON << 4 | 2, buf[1] = 0x01; /* GET, 2-byte token */
    buf[2] = (uint8_t)(mid >> 8), buf[3] = (uint8_t)mid;
    buf[4] = 0x5a, buf[5] = 0xa5;
    buf[6] = (uint8_t)(11 << 4 | plen);
    memcpy(buf + 7, path, plen);
    return 7 + plen;
}

/* Copies the payload of response @p b (@p n bytes) to @p body. */
static void s_payload(const uint8_t *b, size_t n, char *body, size_t cap)
{
    const uint8_t *p = memchr(b + 4, 0xff, n - 4);
    size_t len = p ? n - (size_t)(p + 1 - b) : 0;
    if (len >= cap)
        len = cap - 1;
    if (len)
        memcpy(body, p + 1, len);
    body[len] = '\0';
}

int aw_load_get(const char *addr, int port, const char *path, int timeout_ms, char *body,
                size_t cap)
{
    uint8_t req[32], b[1500];
    uint16_t mid = (uint16_t)(getpid() * 31 + s_ns() / 1000);
    int fd = s_connect(addr, port), code = -1;
    int64_t deadline = s_ns() + (int64_t)timeout_ms * 1000000;
    while (fd >= 0 && code < 0 && s_ns() < deadline) {
        size_t len = s_get_request(req, ++mid, path);
        (void)send(fd, req, len, 0);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = recv(fd, b, sizeof b, 0);
        if (n < 6 || ((b[0] >> 4) & 3) != S_ACK || b[1] == 0)
            continue;
        code = (b[1] >> 5) * 100 + (b[1] & 31);
        if (body && cap)
            s_payload(b, (size_t)n, body, cap);
    }
    if (fd >= 0)
        close(fd);
    return code;
}
