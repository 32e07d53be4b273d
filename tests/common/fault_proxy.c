/* A TCP fault proxy for tests (see the header). */
#include "fault_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aw_err.h"

/* One buffered chunk: bytes [off, len) still to write, not before due. */
typedef struct s_seg {
    size_t len, off;
    int64_t due;
    uint8_t buf[AW_FP_SEG_BYTES];
} s_seg;

/* One direction of a connection: a ring of segments. */
typedef struct s_dir {
    s_seg segs[AW_FP_SEGS];
    unsigned head, count;
    bool eof;
} s_dir;

/* fd[0] is the edge's side (accepted), fd[1] the center's; d[0] carries
 * edge → center (read fd[0], write fd[1]), d[1] the other way. */
typedef struct s_conn {
    int fd[2];
    s_dir d[2];
} s_conn;

struct aw_fault_proxy {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t applied; /* the thread took gen: seen == gen */
    int wake[2];
    int listen_fd;
    struct sockaddr_in up;
    /* under lock */
    aw_fp_mode mode;
    uint64_t rate;
    int latency_ms;
    bool stop;
    uint64_t gen, seen;
    aw_fp_stats stats;
    /* the thread's own (rate and latency copied from the locked ones each round) */
    uint64_t t_rate;
    int t_latency_ms;
    s_conn *conns[AW_FP_MAX_CONNS];
    double tokens[2];
    int64_t refill_ms;
};

static int64_t s_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *aw_fp_mode_name(aw_fp_mode mode)
{
    static const char *names[] = {"pass", "drop", "black-hole", "half-open", "slow"};
    return (unsigned)mode < sizeof names / sizeof names[0] ? names[mode] : "?";
}

/* ------------------------------------------------------------ sockets */

static void s_close_rst(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    if (fd < 0)
        return;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

static void s_tune(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Connects to the center (loopback: immediate, bounded by a 2 s timeout);
 * returns the fd or -1. */
static int s_connect_up(const struct sockaddr_in *up)
{
    struct timeval tv = {.tv_sec = 2};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (const struct sockaddr *)up, sizeof *up) != 0) {
        close(fd);
        return -1;
    }
    s_tune(fd);
    return fd;
}

static int s_addr(const char *ip, int port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return port > 0 && port < 65536 && inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? AW_OK
                                                                                  : AW_EINVAL;
}

/* ------------------------------------------------------------ connections */

static void s_conn_close(aw_fault_proxy_t *self, size_t i, bool rst)
{
    s_conn *c = self->conns[i];
    pthread_mutex_lock(&self->lock);
    self->stats.active--;
    if (rst)
        self->stats.reset++;
    pthread_mutex_unlock(&self->lock);
    for (int k = 0; k < 2; k++)
        if (rst)
            s_close_rst(c->fd[k]);
        else
            close(c->fd[k]);
    free(c);
    self->conns[i] = NULL;
}

static void s_count_reset(aw_fault_proxy_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->stats.reset++;
    pthread_mutex_unlock(&self->lock);
}

/* Accepts what is pending: reset in DROP or over the cap, else connected
 * upstream (reset when the center refuses). */
static void s_accept(aw_fault_proxy_t *self, aw_fp_mode mode)
{
    int fd;
    while ((fd = accept4(self->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        size_t slot = AW_FP_MAX_CONNS;
        for (size_t i = 0; i < AW_FP_MAX_CONNS && slot == AW_FP_MAX_CONNS; i++)
            if (!self->conns[i])
                slot = i;
        int up = mode == AW_FP_DROP || slot == AW_FP_MAX_CONNS ? -1 : s_connect_up(&self->up);
        s_conn *c = up >= 0 ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            s_count_reset(self);
            s_close_rst(fd);
            s_close_rst(up);
            continue;
        }
        s_tune(fd);
        c->fd[0] = fd;
        c->fd[1] = up;
        self->conns[slot] = c;
        pthread_mutex_lock(&self->lock);
        self->stats.accepted++;
        self->stats.active++;
        pthread_mutex_unlock(&self->lock);
    }
}

static bool s_may_read(aw_fp_mode mode, int k)
{
    (void)k;
    return mode == AW_FP_PASS || mode == AW_FP_SLOW || mode == AW_FP_HALF_OPEN;
}

static bool s_may_write(aw_fp_mode mode, int k)
{
    return mode == AW_FP_PASS || mode == AW_FP_SLOW || (mode == AW_FP_HALF_OPEN && k == 0);
}

/* Bytes direction @p k may write now: the head segment's, when due, within
 * SLOW's budget. */
static size_t s_writable(const aw_fault_proxy_t *self, const s_dir *d, aw_fp_mode mode, int k,
                         int64_t now)
{
    if (d->count == 0 || !s_may_write(mode, k))
        return 0;
    const s_seg *s = &d->segs[d->head];
    if (s->due > now)
        return 0;
    size_t n = s->len - s->off;
    if (mode == AW_FP_SLOW && self->t_rate > 0 && (double)n > self->tokens[k])
        n = (size_t)self->tokens[k];
    return n;
}

/* Reads one chunk of direction @p k (nothing when its buffer is full or it
 * saw EOF; HALF_OPEN's center → edge bytes go to a scratch buffer and are
 * dropped); returns false when the connection must close (EOF with nothing
 * left to write, or an error: *rst). */
static bool s_read_dir(aw_fault_proxy_t *self, s_conn *c, int k, aw_fp_mode mode, int64_t now,
                       bool *rst)
{
    uint8_t scratch[4096];
    s_dir *d = &c->d[k];
    bool drop = mode == AW_FP_HALF_OPEN && k == 1;
    if (!drop && (d->eof || d->count >= AW_FP_SEGS))
        return true;
    s_seg *s = &d->segs[(d->head + d->count) % AW_FP_SEGS];
    ssize_t n =
        drop ? read(c->fd[k], scratch, sizeof scratch) : read(c->fd[k], s->buf, sizeof s->buf);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? true : (*rst = true, false);
    if (n == 0) {
        d->eof = true;
        return d->count > 0;
    }
    if (drop) {
        pthread_mutex_lock(&self->lock);
        self->stats.dropped_down += (uint64_t)n;
        pthread_mutex_unlock(&self->lock);
        return true;
    }
    s->len = (size_t)n;
    s->off = 0;
    s->due = now + (mode == AW_FP_SLOW ? self->t_latency_ms : 0);
    d->count++;
    return true;
}

/* Writes what direction @p k may; false when the connection must close. */
static bool s_write_dir(aw_fault_proxy_t *self, s_conn *c, int k, aw_fp_mode mode, int64_t now,
                        bool *rst)
{
    s_dir *d = &c->d[k];
    size_t n = s_writable(self, d, mode, k, now);
    if (n == 0)
        return true;
    s_seg *s = &d->segs[d->head];
    ssize_t w = write(c->fd[1 - k], s->buf + s->off, n);
    if (w < 0)
        return errno == EAGAIN || errno == EINTR ? true : (*rst = true, false);
    s->off += (size_t)w;
    if (mode == AW_FP_SLOW && self->t_rate > 0)
        self->tokens[k] -= (double)w;
    if (s->off == s->len) {
        d->head = (d->head + 1) % AW_FP_SEGS;
        d->count--;
    }
    pthread_mutex_lock(&self->lock);
    *(k == 0 ? &self->stats.bytes_up : &self->stats.bytes_down) += (uint64_t)w;
    pthread_mutex_unlock(&self->lock);
    return !(d->eof && d->count == 0);
}

/* poll events wanted on side @p k's fd. */
static short s_events(const aw_fault_proxy_t *self, const s_conn *c, int k, aw_fp_mode mode,
                      int64_t now)
{
    short ev = 0;
    const s_dir *in = &c->d[k], *out = &c->d[1 - k];
    if (s_may_read(mode, k) && !in->eof && in->count < AW_FP_SEGS)
        ev |= POLLIN;
    if (s_writable(self, out, mode, 1 - k, now) > 0)
        ev |= POLLOUT;
    return ev;
}

/* ------------------------------------------------------------ the loop */

static void s_refill(aw_fault_proxy_t *self, int64_t now)
{
    double rate = (double)self->t_rate;
    double cap = rate / 10.0 > 1024.0 ? rate / 10.0 : 1024.0;
    for (int k = 0; k < 2; k++) {
        self->tokens[k] += rate * (double)(now - self->refill_ms) / 1000.0;
        if (self->tokens[k] > cap)
            self->tokens[k] = cap;
    }
    self->refill_ms = now;
}

/* One connection after poll: reads, then writes; closes it when done. */
static void s_serve(aw_fault_proxy_t *self, size_t i, const struct pollfd *p, aw_fp_mode mode,
                    int64_t now)
{
    s_conn *c = self->conns[i];
    bool ok = true, rst = false;
    for (int k = 0; k < 2 && ok; k++) {
        if (p[k].revents & POLLERR)
            ok = false, rst = true;
        else if ((p[k].revents & (POLLIN | POLLHUP)) && s_may_read(mode, k))
            ok = s_read_dir(self, c, k, mode, now, &rst);
    }
    for (int k = 0; k < 2 && ok; k++)
        if (p[1 - k].revents & POLLOUT)
            ok = s_write_dir(self, c, k, mode, now, &rst);
    if (!ok)
        s_conn_close(self, i, rst);
}

static int s_round(aw_fault_proxy_t *self, aw_fp_mode mode)
{
    struct pollfd p[2 + 2 * AW_FP_MAX_CONNS];
    int64_t now = s_mono();
    bool waiting = false;
    s_refill(self, now);
    p[0] = (struct pollfd){.fd = self->wake[0], .events = POLLIN};
    p[1] = (struct pollfd){.fd = self->listen_fd, .events = POLLIN};
    for (size_t i = 0; i < AW_FP_MAX_CONNS; i++) {
        s_conn *c = self->conns[i];
        for (int k = 0; k < 2; k++) {
            p[2 + 2 * i + k] = (struct pollfd){.fd = c ? c->fd[k] : -1};
            if (c)
                p[2 + 2 * i + k].events = s_events(self, c, k, mode, now);
            /* nothing wanted: ignore HUP/ERR too (a black hole hears nothing) */
            if (c && p[2 + 2 * i + k].events == 0)
                p[2 + 2 * i + k].fd = -1;
            if (c && c->d[k].count > 0 && s_may_write(mode, k))
                waiting = true;
        }
    }
    if (poll(p, 2 + 2 * AW_FP_MAX_CONNS, waiting ? 5 : 200) < 0 && errno != EINTR)
        return AW_EIO;
    char drain[64];
    if (p[0].revents & POLLIN)
        while (read(self->wake[0], drain, sizeof drain) > 0)
            ;
    now = s_mono();
    for (size_t i = 0; i < AW_FP_MAX_CONNS; i++)
        if (self->conns[i])
            s_serve(self, i, &p[2 + 2 * i], mode, now);
    if (p[1].revents & POLLIN)
        s_accept(self, mode);
    return AW_OK;
}

static void *s_run(void *arg)
{
    aw_fault_proxy_t *self = arg;
    for (;;) {
        pthread_mutex_lock(&self->lock);
        bool stop = self->stop;
        aw_fp_mode mode = self->mode;
        self->t_rate = self->rate;
        self->t_latency_ms = self->latency_ms;
        uint64_t gen = self->gen;
        pthread_mutex_unlock(&self->lock);
        if (stop)
            break;
        if (mode == AW_FP_DROP)
            for (size_t i = 0; i < AW_FP_MAX_CONNS; i++)
                if (self->conns[i])
                    s_conn_close(self, i, true);
        pthread_mutex_lock(&self->lock);
        self->seen = gen;
        pthread_cond_broadcast(&self->applied);
        pthread_mutex_unlock(&self->lock);
        if (s_round(self, mode) != AW_OK)
            break;
    }
    for (size_t i = 0; i < AW_FP_MAX_CONNS; i++)
        if (self->conns[i])
            s_conn_close(self, i, true);
    return NULL;
}

/* ------------------------------------------------------------ API */

static int s_listen(aw_fault_proxy_t *self, const char *ip, int port)
{
    struct sockaddr_in sa;
    int one = 1;
    if (s_addr(ip, port, &sa) != AW_OK)
        return AW_EINVAL;
    self->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (self->listen_fd < 0)
        return AW_EIO;
    setsockopt(self->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(self->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(self->listen_fd, 64) != 0)
        return AW_EIO;
    return AW_OK;
}

int aw_fault_proxy_new(const char *listen_ip, int listen_port, const char *up_ip, int up_port,
                       aw_fault_proxy_t **out)
{
    aw_fault_proxy_t *self = calloc(1, sizeof *self);
    if (!self)
        return AW_ENOMEM;
    self->listen_fd = self->wake[0] = self->wake[1] = -1;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->applied, NULL);
    self->refill_ms = s_mono();
    int rv = s_addr(up_ip, up_port, &self->up);
    if (rv == AW_OK)
        rv = s_listen(self, listen_ip, listen_port);
    if (rv == AW_OK && pipe2(self->wake, O_NONBLOCK | O_CLOEXEC) != 0)
        rv = AW_EIO;
    if (rv == AW_OK && pthread_create(&self->thread, NULL, s_run, self) != 0)
        rv = AW_EIO;
    if (rv != AW_OK) {
        if (self->listen_fd >= 0)
            close(self->listen_fd);
        if (self->wake[0] >= 0)
            close(self->wake[0]), close(self->wake[1]);
        pthread_cond_destroy(&self->applied);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return rv;
    }
    *out = self;
    return AW_OK;
}

static void s_wake(aw_fault_proxy_t *self)
{
    ssize_t n = write(self->wake[1], "w", 1);
    (void)n;
}

void aw_fault_proxy_destroy(aw_fault_proxy_t **self_p)
{
    aw_fault_proxy_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_mutex_unlock(&self->lock);
    s_wake(self);
    pthread_join(self->thread, NULL);
    close(self->listen_fd);
    close(self->wake[0]);
    close(self->wake[1]);
    pthread_cond_destroy(&self->applied);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

/* Wakes the thread after a change made under the lock (held) and waits
 * until it has taken it (at most 2 s: it may be stopping). */
static void s_changed(aw_fault_proxy_t *self)
{
    uint64_t want = ++self->gen;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    s_wake(self);
    while (self->seen < want && !self->stop)
        if (pthread_cond_timedwait(&self->applied, &self->lock, &until) != 0)
            break;
}

void aw_fault_proxy_set_mode(aw_fault_proxy_t *self, aw_fp_mode mode)
{
    pthread_mutex_lock(&self->lock);
    self->mode = mode;
    s_changed(self);
    pthread_mutex_unlock(&self->lock);
}

void aw_fault_proxy_set_slow(aw_fault_proxy_t *self, uint64_t bytes_per_s, int latency_ms)
{
    pthread_mutex_lock(&self->lock);
    self->rate = bytes_per_s;
    self->latency_ms = latency_ms > 0 ? latency_ms : 0;
    s_changed(self);
    pthread_mutex_unlock(&self->lock);
}

aw_fp_mode aw_fault_proxy_mode(aw_fault_proxy_t *self)
{
    pthread_mutex_lock(&self->lock);
    aw_fp_mode mode = self->mode;
    pthread_mutex_unlock(&self->lock);
    return mode;
}

void aw_fault_proxy_stats(aw_fault_proxy_t *self, aw_fp_stats *out)
{
    pthread_mutex_lock(&self->lock);
    *out = self->stats;
    pthread_mutex_unlock(&self->lock);
}
