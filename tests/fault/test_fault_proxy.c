/* The fault proxy itself: each mode between a plain TCP client and server
 * on 127.0.11.1, switched at runtime; bounded connections; clean stop. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aw_err.h"
#include "fault_proxy.h"

#define S_IP "127.0.11.1"

TestSuite(fault_proxy, .timeout = 60);

static int64_t s_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct sockaddr_in s_sa(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, S_IP, &sa.sin_addr);
    return sa;
}

/* The "center": a listening socket. */
static int s_server(int port)
{
    struct sockaddr_in sa = s_sa(port);
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(fd, 64), 0);
    return fd;
}

/* The "edge": a connection to the proxy. */
static int s_client(int port)
{
    struct sockaddr_in sa = s_sa(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "connect: %s", strerror(errno));
    return fd;
}

static int s_accept(int lfd, int ms)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, ms), 1, "the proxy connects upstream within %d ms", ms);
    return accept(lfd, NULL, NULL);
}

/* Reads up to @p len bytes within @p ms; returns the count, or -1 on an
 * error (errno), 0 on EOF with nothing read. */
static ssize_t s_read_for(int fd, uint8_t *buf, size_t len, int ms)
{
    size_t got = 0;
    int64_t end = s_mono() + ms;
    while (got < len) {
        int64_t left = end - s_mono();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0)
            return got ? (ssize_t)got : -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static void s_write_all(int fd, const uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        cr_assert_gt(n, 0, "write: %s", strerror(errno));
        done += (size_t)n;
    }
}

typedef struct s_pair {
    aw_fault_proxy_t *p;
    int lfd, cli, srv;
} s_pair;

static void s_pair_open(s_pair *x, int port)
{
    x->lfd = s_server(port + 1);
    cr_assert_eq(aw_fault_proxy_new(S_IP, port, S_IP, port + 1, &x->p), AW_OK);
    x->cli = s_client(port);
    x->srv = s_accept(x->lfd, 2000);
    cr_assert_geq(x->srv, 0);
}

static void s_pair_close(s_pair *x)
{
    close(x->cli);
    close(x->srv);
    close(x->lfd);
    aw_fault_proxy_destroy(&x->p);
    aw_fault_proxy_destroy(&x->p);
    cr_assert_null(x->p, "destroy nulls the pointer and is safe twice");
}

/* Usage: a proxy in PASS carries a megabyte each way unchanged. */
Test(fault_proxy, pass_carries_both_ways_unchanged)
{
    s_pair x;
    s_pair_open(&x, 27010);
    size_t len = 1 << 20;
    uint8_t *out = malloc(len), *in = malloc(len);
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(i * 7 + 3);
    for (int dir = 0; dir < 2; dir++) {
        int from = dir ? x.srv : x.cli, to = dir ? x.cli : x.srv;
        /* the proxy's buffer is bounded: write in chunks and read as we go */
        size_t got = 0;
        for (size_t off = 0; off < len; off += 65536) {
            s_write_all(from, out + off, 65536);
            ssize_t n = s_read_for(to, in + got, off + 65536 - got, 5000);
            cr_assert_gt(n, 0);
            got += (size_t)n;
        }
        got += (size_t)s_read_for(to, in + got, len - got, 5000);
        cr_assert_eq(got, len);
        cr_assert_eq(memcmp(in, out, len), 0, "direction %d carried unchanged", dir);
    }
    aw_fp_stats st;
    int64_t end = s_mono() + 2000; /* the counters follow the write */
    do
        aw_fault_proxy_stats(x.p, &st);
    while (st.bytes_down < len && s_mono() < end);
    cr_assert_eq(st.bytes_up, len);
    cr_assert_eq(st.bytes_down, len);
    cr_assert_eq(st.accepted, 1);
    cr_assert_eq(st.active, 1);
    free(out), free(in);
    s_pair_close(&x);
}

Test(fault_proxy, drop_resets_open_and_new_connections)
{
    s_pair x;
    uint8_t b[16];
    s_pair_open(&x, 27020);
    aw_fault_proxy_set_mode(x.p, AW_FP_DROP);
    cr_assert_eq(aw_fault_proxy_mode(x.p), AW_FP_DROP);
    ssize_t n = s_read_for(x.cli, b, sizeof b, 3000);
    cr_assert_leq(n, 0, "the edge's side is closed");
    cr_assert(n == 0 || errno == ECONNRESET);
    cr_assert_leq(s_read_for(x.srv, b, sizeof b, 3000), 0, "the center's side is closed");
    /* a new connection is accepted and reset */
    int c2 = s_client(27020);
    n = s_read_for(c2, b, sizeof b, 3000);
    cr_assert_eq(n, -1, "reset");
    cr_assert_eq(errno, ECONNRESET);
    close(c2);
    aw_fp_stats st;
    aw_fault_proxy_stats(x.p, &st);
    cr_assert_eq(st.reset, 2);
    cr_assert_eq(st.active, 0);
    /* back to PASS: new connections work */
    aw_fault_proxy_set_mode(x.p, AW_FP_PASS);
    int c3 = s_client(27020);
    int s3 = s_accept(x.lfd, 2000);
    s_write_all(c3, (const uint8_t *)"hello", 5);
    cr_assert_eq(s_read_for(s3, b, 5, 2000), 5);
    close(c3), close(s3);
    s_pair_close(&x);
}

Test(fault_proxy, black_hole_holds_everything_until_pass)
{
    s_pair x;
    uint8_t b[16];
    s_pair_open(&x, 27030);
    aw_fault_proxy_set_mode(x.p, AW_FP_BLACKHOLE);
    s_write_all(x.cli, (const uint8_t *)"up", 2);
    s_write_all(x.srv, (const uint8_t *)"down", 4);
    cr_assert_eq(s_read_for(x.srv, b, 2, 500), 0, "nothing reaches the center");
    cr_assert_eq(s_read_for(x.cli, b, 4, 500), 0, "nothing reaches the edge");
    /* new connections are accepted (and connected upstream) but carry nothing */
    int c2 = s_client(27030);
    int s2 = s_accept(x.lfd, 2000);
    s_write_all(c2, (const uint8_t *)"x", 1);
    cr_assert_eq(s_read_for(s2, b, 1, 300), 0);
    aw_fault_proxy_set_mode(x.p, AW_FP_PASS);
    cr_assert_eq(s_read_for(x.srv, b, 2, 2000), 2, "held bytes flow on");
    cr_assert_eq(memcmp(b, "up", 2), 0);
    cr_assert_eq(s_read_for(x.cli, b, 4, 2000), 4);
    cr_assert_eq(memcmp(b, "down", 4), 0);
    cr_assert_eq(s_read_for(s2, b, 1, 2000), 1);
    close(c2), close(s2);
    s_pair_close(&x);
}

Test(fault_proxy, half_open_forwards_up_and_drops_down)
{
    s_pair x;
    uint8_t b[16];
    s_pair_open(&x, 27040);
    aw_fault_proxy_set_mode(x.p, AW_FP_HALF_OPEN);
    s_write_all(x.cli, (const uint8_t *)"ping", 4);
    cr_assert_eq(s_read_for(x.srv, b, 4, 2000), 4, "edge -> center flows");
    s_write_all(x.srv, (const uint8_t *)"pong", 4);
    cr_assert_eq(s_read_for(x.cli, b, 4, 500), 0, "center -> edge does not");
    aw_fp_stats st;
    int64_t end = s_mono() + 2000;
    do
        aw_fault_proxy_stats(x.p, &st);
    while (st.dropped_down < 4 && s_mono() < end);
    cr_assert_eq(st.dropped_down, 4, "and is discarded");
    aw_fault_proxy_set_mode(x.p, AW_FP_PASS);
    s_write_all(x.srv, (const uint8_t *)"next", 4);
    cr_assert_eq(s_read_for(x.cli, b, 4, 2000), 4);
    cr_assert_eq(memcmp(b, "next", 4), 0, "after PASS the stream goes on, with a hole");
    s_pair_close(&x);
}

Test(fault_proxy, slow_limits_the_rate_and_adds_latency)
{
    s_pair x;
    s_pair_open(&x, 27050);
    aw_fault_proxy_set_slow(x.p, 100000, 150);
    aw_fault_proxy_set_mode(x.p, AW_FP_SLOW);
    uint8_t one = 1, in[60000], out[60000];
    int64_t t0 = s_mono();
    s_write_all(x.cli, &one, 1);
    cr_assert_eq(s_read_for(x.srv, in, 1, 2000), 1);
    int64_t lat = s_mono() - t0;
    cr_assert_geq(lat, 140, "latency %lld ms", (long long)lat);
    memset(out, 0x5a, sizeof out);
    t0 = s_mono();
    s_write_all(x.srv, out, sizeof out);
    cr_assert_eq(s_read_for(x.cli, in, sizeof in, 5000), (ssize_t)sizeof in);
    int64_t ms = s_mono() - t0;
    /* 60 kB at 100 kB/s: ~0.6 s minus the 10 kB burst allowance */
    cr_assert_geq(ms, 450, "60 kB took %lld ms", (long long)ms);
    cr_assert_lt(ms, 3000);
    cr_assert_eq(memcmp(in, out, sizeof in), 0);
    s_pair_close(&x);
}

Test(fault_proxy, connections_are_bounded_and_stop_is_clean)
{
    s_pair x;
    uint8_t b[4];
    int cli[AW_FP_MAX_CONNS + 1], srv[AW_FP_MAX_CONNS];
    s_pair_open(&x, 27060);
    cli[0] = x.cli;
    srv[0] = x.srv;
    for (int i = 1; i < AW_FP_MAX_CONNS; i++) {
        cli[i] = s_client(27060);
        srv[i] = s_accept(x.lfd, 2000);
    }
    cli[AW_FP_MAX_CONNS] = s_client(27060);
    cr_assert_eq(s_read_for(cli[AW_FP_MAX_CONNS], b, 1, 2000), -1, "one over the cap is reset");
    aw_fp_stats st;
    aw_fault_proxy_stats(x.p, &st);
    cr_assert_eq(st.active, AW_FP_MAX_CONNS);
    cr_assert_eq(st.reset, 1);
    aw_fault_proxy_destroy(&x.p);
    for (int i = 0; i < AW_FP_MAX_CONNS; i++) {
        cr_assert_leq(s_read_for(cli[i], b, 1, 2000), 0, "stop closes every connection");
        close(cli[i]), close(srv[i]);
    }
    close(cli[AW_FP_MAX_CONNS]);
    close(x.lfd);
    cr_assert_eq(aw_fault_proxy_new(S_IP, 27060, S_IP, 27061, &x.p), AW_OK,
                 "the port is free again");
    aw_fault_proxy_destroy(&x.p);
    cr_assert_eq(aw_fault_proxy_new("not-an-ip", 27062, S_IP, 27061, &x.p), AW_EINVAL);
}
