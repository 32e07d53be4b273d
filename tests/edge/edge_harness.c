#include "edge_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "store.h"

static int64_t s_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------ process */

void th_edge_init(th_edge *e, int n)
{
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/aw-edge-test-XXXXXX");
    if (!mkdtemp(e->dir))
        abort();
    snprintf(e->conf, sizeof e->conf, "%s/edge.conf", e->dir);
    snprintf(e->data, sizeof e->data, "%s/data", e->dir);
    snprintf(e->log, sizeof e->log, "%s/edge.log", e->dir);
    snprintf(e->psk, sizeof e->psk, "%s/psk", e->dir);
    snprintf(e->addr, sizeof e->addr, "127.0.8.%d", n);
    e->port = 5683;
    e->dtls_port = 5684;
}

static void s_write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        abort();
    close(fd);
}

void th_edge_write_conf(th_edge *e, const char *durability, bool dtls, bool plain,
                        const char *extra)
{
    char text[4096];
    snprintf(text, sizeof text,
             "[edge]\nid = rongjiawan-1\nzone = yueyang/rongjiawan\ndata_dir = %s\n"
             "[store]\nmap_size = 256M\nmax_bytes = %s\ndurability = %s\n"
             "[coap]\nbind = %s\nport = %d\nplain = %s\ndtls = %s\ndtls_port = %d\n"
             "psk_file = %s\nmax_payload = %s\n[log]\nlevel = info\n%s",
             e->data, e->max_bytes ? e->max_bytes : "128M", durability, e->addr, e->port,
             plain ? "yes" : "no", dtls ? "yes" : "no", e->dtls_port, dtls ? e->psk : "",
             e->max_payload ? e->max_payload : "4K", extra ? extra : "");
    s_write_file(e->conf, text, 0644);
    /* keys are the hex of ASCII strings: coap-client -k takes the raw string */
    s_write_file(e->psk,
                 "# test identities\n"
                 "huaxin-gw 68756178696e2d736563726574 huaxin-t3,huaxin-gas-1\n"
                 "hongxing 686f6e6778696e672d6b6579 hongxing-temp-1  # one device\n",
                 0600);
}

void th_edge_start(th_edge *e, const char *registry)
{
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        /* never outlive a test that crashed */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(e->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (registry)
            execl(TH_EDGE_BIN, TH_EDGE_BIN, "-c", e->conf, "--registry", registry, (char *)NULL);
        else
            execl(TH_EDGE_BIN, TH_EDGE_BIN, "-c", e->conf, (char *)NULL);
        _exit(127);
    }
    e->pid = pid;
}

bool th_edge_ready(th_edge *e, int timeout_ms)
{
    int64_t deadline = s_ms() + timeout_ms;
    th_resp *r = malloc(sizeof *r);
    bool ok = false;
    while (!ok && s_ms() < deadline) {
        int status;
        if (e->pid && waitpid(e->pid, &status, WNOHANG) == e->pid) {
            e->pid = 0;
            break;
        }
        ok = th_coap(e->addr, e->port, TH_GET, "status", -1, NULL, 0, NULL, 0, r, 200) == 0 &&
             r->code == 205;
        if (!ok)
            s_nap(20);
    }
    free(r);
    return ok;
}

int th_edge_stop(th_edge *e, int timeout_ms)
{
    int status = -1;
    if (!e->pid)
        return -1;
    kill(e->pid, SIGTERM);
    int64_t deadline = s_ms() + timeout_ms;
    while (waitpid(e->pid, &status, WNOHANG) == 0) {
        if (s_ms() > deadline) {
            kill(e->pid, SIGKILL);
            waitpid(e->pid, &status, 0);
            status = -1;
            break;
        }
        s_nap(10);
    }
    e->pid = 0;
    return status;
}

void th_edge_kill(th_edge *e)
{
    if (!e->pid)
        return;
    kill(e->pid, SIGKILL);
    waitpid(e->pid, NULL, 0);
    e->pid = 0;
}

void th_edge_cleanup(th_edge *e)
{
    char cmd[300];
    if (e->pid)
        th_edge_kill(e);
    if (strncmp(e->dir, "/tmp/aw-edge-test-", 18) == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", e->dir);
    }
}

bool th_edge_log_has(const th_edge *e, const char *text)
{
    FILE *f = fopen(e->log, "r");
    char line[2048];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* ------------------------------------------------------------ CoAP encoding */

static int s_opt_cmp(const void *a, const void *b)
{
    return ((const th_opt *)a)->num - ((const th_opt *)b)->num;
}

static size_t s_opt_nibble(size_t v, uint8_t *ext, size_t *n_ext)
{
    if (v < 13)
        return *n_ext = 0, v;
    if (v < 269)
        return ext[0] = (uint8_t)(v - 13), *n_ext = 1, 13;
    ext[0] = (uint8_t)((v - 269) >> 8), ext[1] = (uint8_t)(v - 269), *n_ext = 2;
    return 14;
}

/* Writes the options (sorted here) at @p out; returns the bytes written. */
static size_t s_put_options(uint8_t *out, th_opt *opts, size_t n)
{
    qsort(opts, n, sizeof *opts, s_opt_cmp);
    size_t o = 0;
    int prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t de[2], le[2];
        size_t nde, nle;
        size_t d = s_opt_nibble((size_t)(opts[i].num - prev), de, &nde);
        size_t l = s_opt_nibble(opts[i].len, le, &nle);
        out[o++] = (uint8_t)(d << 4 | l);
        memcpy(out + o, de, nde), o += nde;
        memcpy(out + o, le, nle), o += nle;
        memcpy(out + o, opts[i].val, opts[i].len), o += opts[i].len;
        prev = opts[i].num;
    }
    return o;
}

/* Builds a request; returns its length. */
static size_t s_build(uint8_t *buf, int type, int method, uint16_t mid, const uint8_t *tok,
                      size_t toklen, const char *path, int ct, const void *body, size_t len,
                      const th_opt *extra, size_t nextra)
{
    th_opt opts[64];
    size_t n = 0;
    static uint8_t ctbuf[2];
    char segs[512];
    snprintf(segs, sizeof segs, "%s", path);
    for (char *save = NULL, *s = strtok_r(segs, "/", &save); s && n < 32;
         s = strtok_r(NULL, "/", &save))
        opts[n++] = (th_opt){11, path + (s - segs), strlen(s)};
    if (ct >= 0) {
        ctbuf[0] = (uint8_t)(ct >> 8), ctbuf[1] = (uint8_t)ct;
        opts[n++] = ct > 255 ? (th_opt){12, ctbuf, 2} : (th_opt){12, ctbuf + 1, ct ? 1 : 0};
    }
    for (size_t i = 0; i < nextra && n < 64; i++)
        opts[n++] = extra[i];
    buf[0] = (uint8_t)(0x40 | type << 4 | toklen);
    buf[1] = (uint8_t)method;
    buf[2] = (uint8_t)(mid >> 8), buf[3] = (uint8_t)mid;
    memcpy(buf + 4, tok, toklen);
    size_t o = 4 + toklen + s_put_options(buf + 4 + toklen, opts, n);
    if (len) {
        buf[o++] = 0xff;
        memcpy(buf + o, body, len), o += len;
    }
    return o;
}

/* Parsed view of one received message. */
typedef struct s_msg {
    int type, code, tkl;
    uint16_t mid;
    uint8_t token[8];
} s_msg;

static unsigned s_uint(const uint8_t *p, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static size_t s_ext(const uint8_t **p, const uint8_t *end, size_t v, int *bad)
{
    if (v == 13 && *p < end)
        return 13 + *(*p)++;
    if (v == 14 && *p + 1 < end) {
        size_t x = 269 + ((size_t)(*p)[0] << 8 | (*p)[1]);
        *p += 2;
        return x;
    }
    if (v >= 13)
        *bad = 1;
    return v;
}

static void s_take_option(th_resp *r, int num, const uint8_t *v, size_t len)
{
    if (num == 12)
        r->ct = (int)s_uint(v, len);
    else if (num == 14)
        r->has_max_age = 1, r->max_age = s_uint(v, len);
    else if (num == 6)
        r->has_observe = 1, r->observe = s_uint(v, len);
    else if (num == 60)
        r->has_size1 = 1, r->size1 = s_uint(v, len);
    else if (num == 23)
        r->has_block2 = 1, r->block2 = s_uint(v, len);
    else if (num == 8) {
        size_t used = strlen(r->location);
        snprintf(r->location + used, sizeof r->location - used, "%s%.*s", used ? "/" : "", (int)len,
                 (const char *)v);
    }
}

/* Parses @p buf into @p m and, when @p r is given, its options and payload. */
static int s_parse(const uint8_t *buf, size_t n, s_msg *m, th_resp *r)
{
    if (n < 4 || (buf[0] >> 6) != 1)
        return -1;
    m->type = (buf[0] >> 4) & 3, m->tkl = buf[0] & 15;
    m->code = (buf[1] >> 5) * 100 + (buf[1] & 31);
    m->mid = (uint16_t)(buf[2] << 8 | buf[3]);
    if (m->tkl > 8 || 4 + (size_t)m->tkl > n)
        return -1;
    memcpy(m->token, buf + 4, m->tkl);
    if (!r)
        return 0;
    r->code = m->code, r->type = m->type, r->ct = -1, r->has_max_age = 0;
    r->has_observe = 0, r->has_size1 = 0, r->has_block2 = 0;
    r->location[0] = '\0', r->len = 0;
    const uint8_t *p = buf + 4 + m->tkl, *end = buf + n;
    int num = 0, bad = 0;
    while (p < end && *p != 0xff && !bad) {
        size_t d = *p >> 4, l = *p & 15;
        p++;
        d = s_ext(&p, end, d, &bad);
        l = s_ext(&p, end, l, &bad);
        if (bad || p + l > end)
            return -1;
        num += (int)d;
        s_take_option(r, num, p, l);
        p += l;
    }
    if (p < end && *p == 0xff) {
        p++;
        r->len = (size_t)(end - p) < sizeof r->payload - 1 ? (size_t)(end - p) : 0;
        memcpy(r->payload, p, r->len);
    }
    r->payload[r->len] = '\0';
    return 0;
}

static int s_socket(const char *addr, int port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void s_send_ack(int fd, uint16_t mid)
{
    uint8_t ack[4] = {0x40 | TH_ACK << 4, 0, (uint8_t)(mid >> 8), (uint8_t)mid};
    (void)send(fd, ack, sizeof ack, 0);
}

static bool s_token_eq(const s_msg *m, const uint8_t *tok, size_t toklen)
{
    return (size_t)m->tkl == toklen && memcmp(m->token, tok, toklen) == 0;
}

/* Waits for the answer to (mid, token); retransmits every 500 ms until the ACK. */
static int s_await(int fd, const uint8_t *req, size_t reqlen, uint16_t mid, const uint8_t *tok,
                   size_t toklen, th_resp *r, int timeout_ms)
{
    static uint8_t buf[70000];
    int64_t deadline = s_ms() + timeout_ms, resend = s_ms() + 500;
    bool acked = false;
    while (s_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0) {
            if (!acked && s_ms() > resend)
                (void)send(fd, req, reqlen, 0), resend = s_ms() + 500;
            continue;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        s_msg m;
        if (n <= 0 || s_parse(buf, (size_t)n, &m, r) != 0)
            continue;
        if (m.type == TH_ACK && m.mid == mid && m.code == 0) {
            acked = true;
            continue;
        }
        if (m.type == TH_ACK && m.mid == mid)
            return r->separate = 0, 0;
        if ((m.type == TH_CON || m.type == TH_NON) && s_token_eq(&m, tok, toklen)) {
            if (m.type == TH_CON)
                s_send_ack(fd, m.mid);
            return r->separate = 1, 0;
        }
    }
    return -1;
}

int th_coap(const char *addr, int port, int method, const char *path, int ct, const void *body,
            size_t len, const th_opt *opts, size_t nopts, th_resp *r, int timeout_ms)
{
    static uint16_t mid;
    static uint8_t req[70000];
    if (!mid)
        mid = (uint16_t)(getpid() * 7 + time(NULL));
    mid++;
    uint8_t tok[4] = {(uint8_t)(mid >> 8), (uint8_t)mid, 0xa5, 0x5a};
    int fd = s_socket(addr, port);
    if (fd < 0)
        return -1;
    size_t n = s_build(req, TH_CON, method, mid, tok, sizeof tok, path, ct, body, len, opts, nopts);
    int rv = send(fd, req, n, 0) == (ssize_t)n ? 0 : -1;
    if (rv == 0)
        rv = s_await(fd, req, n, mid, tok, sizeof tok, r, timeout_ms);
    close(fd);
    return rv;
}

int th_coap_dup(const char *addr, int port, const char *path, int ct, const void *body, size_t len,
                th_resp *first, th_resp *second)
{
    static uint8_t req[70000];
    uint16_t mid = (uint16_t)(getpid() * 13 + time(NULL));
    uint8_t tok[4] = {(uint8_t)(mid >> 8), (uint8_t)mid, 0xd0, 0x0d};
    int fd = s_socket(addr, port);
    if (fd < 0)
        return -1;
    size_t n = s_build(req, TH_CON, TH_POST, mid, tok, sizeof tok, path, ct, body, len, NULL, 0);
    int rv = send(fd, req, n, 0) == (ssize_t)n ? 0 : -1;
    if (rv == 0)
        rv = s_await(fd, req, n, mid, tok, sizeof tok, first, 5000);
    /* the same datagram again, from the same port: a retransmission */
    if (rv == 0)
        rv = send(fd, req, n, 0) == (ssize_t)n ? 0 : -1;
    if (rv == 0)
        rv = s_await(fd, req, n, mid, tok, sizeof tok, second, 5000);
    close(fd);
    return rv;
}

int th_coap_get_all(const char *addr, int port, const char *path, th_resp *r, int timeout_ms)
{
    int rv = th_coap(addr, port, TH_GET, path, -1, NULL, 0, NULL, 0, r, timeout_ms);
    if (rv != 0 || !r->has_block2 || !(r->block2 & 8))
        return rv;
    th_resp *next = malloc(sizeof *next);
    unsigned block = r->block2;
    if (!next)
        return -1;
    while (rv == 0 && (block & 8)) {
        unsigned want = ((block >> 4) + 1) << 4 | (block & 7);
        uint8_t val[3] = {(uint8_t)(want >> 16), (uint8_t)(want >> 8), (uint8_t)want};
        size_t skip = want < 256 ? 2 : want < 65536 ? 1 : 0;
        th_opt opt = {23, val + skip, 3 - skip};
        rv = th_coap(addr, port, TH_GET, path, -1, NULL, 0, &opt, 1, next, timeout_ms);
        if (rv == 0 &&
            (next->code != 205 || !next->has_block2 || r->len + next->len >= sizeof r->payload))
            rv = -1;
        if (rv == 0) {
            memcpy(r->payload + r->len, next->payload, next->len);
            r->len += next->len;
            r->payload[r->len] = '\0';
            block = next->block2;
        }
    }
    free(next);
    return rv;
}

json_t *th_status(const th_edge *e)
{
    th_resp *r = malloc(sizeof *r);
    json_t *j = NULL;
    if (th_coap_get_all(e->addr, e->port, "status", r, 3000) == 0 && r->code == 205)
        j = json_loadb((const char *)r->payload, r->len, 0, NULL);
    free(r);
    return j;
}

long long th_status_head(const th_edge *e, const char *lane)
{
    json_t *j = th_status(e);
    long long head = -1;
    json_t *l = j ? json_object_get(json_object_get(j, "lanes"), lane) : NULL;
    if (l)
        head = json_integer_value(json_object_get(l, "head"));
    json_decref(j);
    return head;
}

/* ------------------------------------------------------------ load generator */

typedef struct s_slot {
    uint64_t seq; /* 0 = free */
    uint16_t mid;
    int64_t sent_ms;
    int tries;
    bool acked; /* empty ACK seen: waiting for the separate response */
    uint8_t req[256];
    size_t len;
} s_slot;

#define S_LOAD_SLOTS 256

static void s_load_send(th_load *l, int fd, s_slot *s, uint16_t *mid)
{
    char body[160];
    uint8_t tok[8];
    s->seq = ++l->next_seq;
    s->mid = ++*mid;
    for (int i = 0; i < 8; i++)
        tok[i] = (uint8_t)(s->seq >> (56 - 8 * i));
    int n = snprintf(body, sizeof body, "[{\"bn\":\"%s/\",\"n\":\"%s\",\"v\":%llu}]", l->device,
                     l->metric, (unsigned long long)s->seq);
    s->len =
        s_build(s->req, TH_CON, TH_POST, s->mid, tok, 8, "readings", 110, body, (size_t)n, NULL, 0);
    s->tries = 1, s->acked = false, s->sent_ms = s_ms();
    (void)send(fd, s->req, s->len, 0);
    l->n_sent++;
}

static void s_load_done(th_load *l, s_slot *s, int code, bool separate)
{
    if (code == 204 && s->seq < l->cap) {
        __atomic_or_fetch(&l->acked[s->seq / 8], (uint8_t)(1u << (s->seq % 8)), __ATOMIC_RELAXED);
        __atomic_add_fetch(&l->n_acked, 1, __ATOMIC_RELAXED);
        l->n_separate += separate;
    } else {
        l->n_failed++;
    }
    s->seq = 0;
}

static s_slot *s_load_find(s_slot *slots, int n, const s_msg *m, bool by_token)
{
    for (int i = 0; i < n; i++) {
        s_slot *s = &slots[i];
        if (!s->seq)
            continue;
        if (!by_token && s->mid == m->mid)
            return s;
        if (by_token && m->tkl == 8 && s_uint(m->token, 4) == (unsigned)(s->seq >> 32) &&
            s_uint(m->token + 4, 4) == (unsigned)s->seq)
            return s;
    }
    return NULL;
}

static void s_load_recv(th_load *l, int fd, s_slot *slots, int n)
{
    uint8_t buf[2048];
    ssize_t got;
    while ((got = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        s_msg m;
        if (s_parse(buf, (size_t)got, &m, NULL) != 0)
            continue;
        if (m.type == TH_CON)
            s_send_ack(fd, m.mid);
        s_slot *s = s_load_find(slots, n, &m, m.type != TH_ACK);
        if (!s)
            continue;
        if (m.type == TH_ACK && m.code == 0)
            s->acked = true;
        else if (m.type != TH_RST)
            s_load_done(l, s, m.code, m.type != TH_ACK);
        else
            s_load_done(l, s, 0, false);
    }
}

/* Retransmits unacknowledged requests (200 ms, 5 tries); gives up on the rest. */
static void s_load_timeouts(th_load *l, int fd, s_slot *slots, int n)
{
    int64_t now = s_ms();
    for (int i = 0; i < n; i++) {
        s_slot *s = &slots[i];
        if (!s->seq || now - s->sent_ms < (s->acked ? 3000 : 200))
            continue;
        if (s->acked || s->tries == 5) {
            s_load_done(l, s, 0, false);
            continue;
        }
        s->tries++, s->sent_ms = now;
        (void)send(fd, s->req, s->len, 0);
    }
}

void *th_load_run(void *arg)
{
    th_load *l = arg;
    s_slot *slots = calloc(S_LOAD_SLOTS, sizeof *slots);
    int n = l->inflight < S_LOAD_SLOTS ? l->inflight : S_LOAD_SLOTS;
    int fd = s_socket(l->addr, l->port);
    uint16_t mid = (uint16_t)getpid();
    while (fd >= 0 && !l->stop) {
        for (int i = 0; i < n; i++)
            if (!slots[i].seq && l->next_seq + 1 < l->cap)
                s_load_send(l, fd, &slots[i], &mid);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) > 0)
            s_load_recv(l, fd, slots, n);
        s_load_timeouts(l, fd, slots, n);
    }
    if (fd >= 0)
        close(fd);
    free(slots);
    return NULL;
}

/* ------------------------------------------------------------ store */

typedef struct s_walk {
    th_record_fn fn;
    void *arg;
    int err;
} s_walk;

static int s_walk_one(void *arg, uint64_t seq, const void *rec, size_t len)
{
    s_walk *w = arg;
    Anwang__Record *r = NULL;
    if (aw_codec_record_decode(rec, len, NULL, &r, NULL, 0) != AW_OK) {
        w->err = AW_ECORRUPT;
        return 1;
    }
    w->fn(w->arg, seq, r);
    aw_codec_record_free(&r);
    return 0;
}

int th_store_walk(const char *dir, int lane, th_record_fn fn, void *arg)
{
    aw_store_opts o = {.path = dir, .map_size = 256u << 20};
    aw_store_t *st = NULL;
    int rv = aw_store_open(&o, &st);
    if (rv != AW_OK)
        return rv;
    s_walk w = {fn, arg, AW_OK};
    aw_lane_info info;
    aw_store_lane_info(st, (aw_lane)lane, &info);
    for (uint64_t from = info.first; rv == AW_OK && w.err == AW_OK && from <= info.head;
         from += 10000)
        rv = aw_store_read(st, (aw_lane)lane, from, 10000, 0, s_walk_one, &w);
    aw_store_destroy(&st);
    return rv != AW_OK ? rv : w.err;
}

/* ------------------------------------------------------------ commands */

int th_run(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
    FILE *p = popen(cmd, "r");
    size_t used = 0;
    if (!p)
        return -1;
    while (used + 1 < cap) {
        size_t got = fread(out + used, 1, cap - used - 1, p);
        if (got == 0)
            break;
        used += got;
    }
    out[used] = '\0';
    return pclose(p);
}

int th_client_code(const char *out)
{
    /* the last "c:X.YY" of a response (t:ACK/CON/NON lines after the request's) */
    const char *p = out, *hit = NULL;
    while ((p = strstr(p, " c:")) != NULL) {
        if (p[3] >= '2' && p[3] <= '5' && p[4] == '.')
            hit = p + 3;
        p += 3;
    }
    if (!hit)
        return -1;
    return (hit[0] - '0') * 100 + (hit[2] - '0') * 10 + (hit[3] - '0');
}
