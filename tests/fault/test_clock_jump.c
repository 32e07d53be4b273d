/* Clock jumps on the REAL edge (SPEC §5 clocks, §9; issue 4's fault list):
 * the anwang-edge binary runs under libfaketime against the real
 * anwang-center, its data dir kept across three lives:
 *
 *   1. real time;
 *   2. restarted at real time + 1 day   (FAKETIME="+1d");
 *   3. restarted at real time − 10 min  (FAKETIME="-10m"), i.e. a clock that
 *      went back by a day and ten minutes: the HLC floor persisted in the
 *      edge's store keeps its stamps going forward.
 *
 * In each life readings are posted over CoAP (the edge harness's load
 * generator; value = a number unique over the test) and the edge catches
 * up. Checked: libfaketime really moved the edge's CLOCK_REALTIME (its
 * /status clock), the center measured the skew (≈ 0, ≈ +86,400,000 ms,
 * ≈ −600,000 ms) and `anwang center status --json` (read-only, while the
 * center runs) flags the two jumps and not the first life; the edge's own
 * /status flags them too. At the end (daemons stopped): the center's
 * records of the edge equal the edge's log byte for byte, per lane, each
 * applied once; HLC stamps strictly increase with seq per lane at the
 * center (no misordering); every acknowledged reading is there exactly
 * once, and no reading twice.
 *
 * libfaketime: LD_PRELOAD of the library into the edge only (the center,
 * the CLI and this process keep real time); FAKETIME_DONT_FAKE_MONOTONIC=1
 * so CLOCK_MONOTONIC (the edge's timerfds, libcoap's and the uplink's
 * timers) stays real: only the wall clock jumps, as it does when NTP or an
 * operator sets it. FAKETIME_NO_CACHE=1 makes each call read the offset (no
 * cached value from before). Under a gcc ASan build the ASan runtime must
 * come first in the preload list; ASAN_OPTIONS=verify_asan_link_order=0
 * lets libfaketime go first (its interposed clock calls do not allocate
 * through ASan before it is up).
 *
 * Loopback 127.0.12.1 (edge CoAP 17801) and 127.0.12.10 (center 17800).
 * Waits use deadlines and polling; only processes started here are
 * signalled, by their pid. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "db.h"
#include "hlc.h"
#include "rfc3339.h"
#include "store.h"
#include "test_center_harness.h"
/* <netinet/tcp.h> (through czmq.h) has its own TH_ACK and TH_RST. */
#undef TH_ACK
#undef TH_RST
#include "edge_harness.h"

#define S_FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
#define S_CLI          AW_BIN_DIR "/anwang"
#define S_EDGE_ID      "rongjiawan-1" /* the edge harness's config names it so */
#define S_ZONE         "yueyang/rongjiawan"
#define S_DEVICE       "huaxin-gas-1"
#define S_METRIC       "temperature"
#define S_REGISTRY     AW_FIXTURES "/registry.json"
#define S_DAY_MS       (24 * 3600 * 1000LL)
#define S_FLAG_MS      (5 * 60 * 1000LL) /* flagged beyond this (SPEC §5, clocks) */
#define S_SLACK_MS     60000             /* a measured skew within this of the jump */
#define S_PER_LIFE     600               /* readings acked per life */
#define S_LIFE_SPAN    200000            /* reading values of life i: i*span+1 .. */
#define S_NLIVES       3
#define S_CAP          (1u << 20)

typedef struct s_life {
    const char *name;
    const char *faketime; /* NULL = real time */
    int64_t offset_ms;    /* the edge's wall clock − real time */
    /* measured */
    int64_t start_real_ms;     /* real wall time when this life began */
    int64_t edge_clock_ms;     /* edge /status clock.now − real now */
    int64_t edge_skew_ms;      /* edge /status clock.skew_ms */
    bool edge_flag;            /* edge /status clock.skew_flag */
    int64_t center_skew_ms;    /* `anwang center status --json` skew_ms */
    bool center_flag;          /* ... skew_flag */
    uint64_t sent, acked;      /* readings posted, acknowledged 2.04 */
    uint64_t hlc_min, hlc_max; /* stamps of this life's readings at the center */
    uint64_t readings;         /* this life's readings at the center */
} s_life;

static s_life s_lives[S_NLIVES] = {
    {.name = "real time", .faketime = NULL, .offset_ms = 0},
    {.name = "+1 day", .faketime = "+1d", .offset_ms = S_DAY_MS},
    {.name = "-10 min", .faketime = "-10m", .offset_ms = -10 * 60 * 1000LL},
};

static tc_center s_c;
static th_edge s_e;

static void s_fini(void)
{
    if (s_e.pid > 0)
        th_edge_kill(&s_e);
    th_edge_cleanup(&s_e);
    tc_reap_all();
    if (s_c.dir[0])
        tc_cleanup(&s_c);
}

TestSuite(clock_jump, .fini = s_fini, .timeout = 280);

static int64_t s_real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t s_abs(int64_t v)
{
    return v < 0 ? -v : v;
}

/* ------------------------------------------------------------ the edge under libfaketime */

/* Sets the child's environment for libfaketime at @p spec (relative offset). */
static void s_faketime_env(const char *spec)
{
    char asan[1024];
    const char *old = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "%s%sverify_asan_link_order=0", old ? old : "",
             old && *old ? ":" : "");
    setenv("ASAN_OPTIONS", asan, 1);
    setenv("LD_PRELOAD", S_FAKETIME_LIB, 1);
    setenv("FAKETIME", spec, 1);
    setenv("FAKETIME_NO_CACHE", "1", 1);
    setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
}

/* th_edge_start(), with libfaketime preloaded when @p faketime is set: the
 * environment is changed in the child only. */
static void s_spawn_edge(const char *faketime, const char *registry)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(s_e.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (faketime)
            s_faketime_env(faketime);
        if (registry)
            execl(TH_EDGE_BIN, TH_EDGE_BIN, "-c", s_e.conf, "--registry", registry, (char *)NULL);
        else
            execl(TH_EDGE_BIN, TH_EDGE_BIN, "-c", s_e.conf, (char *)NULL);
        _exit(127);
    }
    s_e.pid = pid;
}

/* A member of the edge's /status (NULL when unavailable); *root to decref. */
static json_t *s_edge_get(json_t **root, const char *a, const char *b)
{
    *root = th_status(&s_e);
    json_t *v = *root ? json_object_get(*root, a) : NULL;
    return v && b ? json_object_get(v, b) : v;
}

static long long s_edge_int(const char *a, const char *b)
{
    json_t *root;
    json_t *v = s_edge_get(&root, a, b);
    long long n = json_is_integer(v) ? json_integer_value(v) : -1;
    json_decref(root);
    return n;
}

static bool s_edge_up(void)
{
    json_t *root;
    const char *state = json_string_value(s_edge_get(&root, "uplink", "state"));
    bool up = state && strcmp(state, "up") == 0;
    json_decref(root);
    return up;
}

static bool s_caught_up(void)
{
    return s_edge_up() && s_edge_int("backlog", "urgent") == 0 &&
           s_edge_int("backlog", "bulk") == 0;
}

static bool s_wait(bool (*cond)(void), int ms)
{
    int64_t end = tc_mono() + ms;
    while (tc_mono() < end) {
        if (cond())
            return true;
        s_nap(50);
    }
    return cond();
}

/* The edge's wall clock as its /status shows it, minus real time. */
static int64_t s_edge_clock_offset(void)
{
    json_t *root;
    int64_t now = 0;
    const char *text = json_string_value(s_edge_get(&root, "clock", "now"));
    cr_assert_not_null(text, "clock.now in the edge's /status (log %s)", s_e.log);
    cr_assert_eq(aw_time_parse_rfc3339(text, &now), AW_OK, "clock.now '%s'", text);
    json_decref(root);
    return now - s_real_ms();
}

/* Waits until the edge's /status knows its skew; fills the life's figures. */
static void s_edge_clock_view(s_life *l)
{
    int64_t end = tc_mono() + 30000;
    json_t *root = NULL, *skew = NULL;
    for (; tc_mono() < end; s_nap(100)) {
        json_decref(root);
        skew = s_edge_get(&root, "clock", "skew_ms");
        if (json_is_integer(skew))
            break;
    }
    cr_assert(json_is_integer(skew), "the edge knows its skew (log %s)", s_e.log);
    l->edge_skew_ms = json_integer_value(skew);
    l->edge_flag = json_is_true(json_object_get(json_object_get(root, "clock"), "skew_flag"));
    json_decref(root);
}

/* ------------------------------------------------------------ the center's view (CLI) */

/* `anwang center status --json EDGE` on the running center; fills skew and
 * flag, returns false when the CLI did not answer. */
static bool s_cli_skew(int64_t *skew_ms, bool *flag)
{
    char cmd[512], out[16384];
    snprintf(cmd, sizeof cmd, "%s center status --data %s --json %s 2>&1", S_CLI, s_c.data,
             S_EDGE_ID);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    size_t len = fread(out, 1, sizeof out - 1, f);
    out[len] = '\0';
    int st = pclose(f);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "anwang center status: %s", out);
    json_error_t err;
    json_t *arr = json_loads(out, 0, &err);
    cr_assert(json_is_array(arr) && json_array_size(arr) == 1, "one edge in %s", out);
    json_t *e = json_array_get(arr, 0);
    json_t *skew = json_object_get(e, "skew_ms");
    bool ok = json_is_integer(skew);
    if (ok) {
        *skew_ms = json_integer_value(skew);
        *flag = json_is_true(json_object_get(e, "skew_flag"));
    }
    json_decref(arr);
    return ok;
}

/* Polls the CLI until the center's skew is within S_SLACK_MS of the life's
 * offset (the center updates it on Hello and heartbeats). */
static void s_center_view(s_life *l)
{
    int64_t end = tc_mono() + 30000;
    bool ok = false;
    while (!ok && tc_mono() < end) {
        ok = s_cli_skew(&l->center_skew_ms, &l->center_flag) &&
             s_abs(l->center_skew_ms - l->offset_ms) < S_SLACK_MS;
        if (!ok)
            s_nap(200);
    }
    cr_assert(ok,
              "%s: the center's skew %" PRId64 " ms reflects the edge's clock (%" PRId64
              " ms off); logs %s, %s",
              l->name, l->center_skew_ms, l->offset_ms, s_e.log, s_c.log);
}

/* ------------------------------------------------------------ one life */

static th_load s_load;

/* Posts readings until S_PER_LIFE more were acked (values from @p first). */
static void s_post(s_life *l, uint64_t first)
{
    s_load = (th_load){.addr = s_e.addr,
                       .port = s_e.port,
                       .inflight = 8,
                       .device = S_DEVICE,
                       .metric = S_METRIC,
                       .acked = s_load.acked,
                       .cap = S_CAP,
                       .next_seq = first};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, th_load_run, &s_load), 0);
    int64_t end = tc_mono() + 60000;
    while (__atomic_load_n(&s_load.n_acked, __ATOMIC_RELAXED) < S_PER_LIFE && tc_mono() < end)
        s_nap(20);
    s_load.stop = 1;
    pthread_join(t, NULL);
    l->sent = s_load.n_sent;
    l->acked = s_load.n_acked;
    cr_assert_geq(l->acked, S_PER_LIFE, "%s: %" PRIu64 " readings acked (log %s)", l->name,
                  l->acked, s_e.log);
    cr_assert_lt(s_load.next_seq, first + S_LIFE_SPAN);
}

static void s_live(int i)
{
    s_life *l = &s_lives[i];
    l->start_real_ms = s_real_ms();
    s_spawn_edge(l->faketime, i == 0 ? S_REGISTRY : NULL);
    cr_assert(th_edge_ready(&s_e, 30000), "%s: the edge serves (log %s)", l->name, s_e.log);
    l->edge_clock_ms = s_edge_clock_offset();
    cr_assert_lt(s_abs(l->edge_clock_ms - l->offset_ms), S_SLACK_MS,
                 "%s: libfaketime moved the edge's CLOCK_REALTIME by %" PRId64 " ms, want %" PRId64
                 " (is libfaketime working for this binary?)",
                 l->name, l->edge_clock_ms, l->offset_ms);
    cr_assert(s_wait(s_edge_up, 30000), "%s: uplink up; logs %s, %s", l->name, s_e.log, s_c.log);
    s_post(l, (uint64_t)i * S_LIFE_SPAN);
    cr_assert(s_wait(s_caught_up, 45000), "%s: caught up; logs %s, %s", l->name, s_e.log, s_c.log);
    s_center_view(l);
    s_edge_clock_view(l);
    bool want = s_abs(l->offset_ms) > S_FLAG_MS;
    cr_assert_eq(l->center_flag, want, "%s: the center flags skew %" PRId64 " ms: %d", l->name,
                 l->center_skew_ms, l->center_flag);
    cr_assert_eq(l->edge_flag, want, "%s: the edge's /status flags skew %" PRId64 " ms: %d",
                 l->name, l->edge_skew_ms, l->edge_flag);
    cr_assert_lt(s_abs(l->edge_skew_ms - l->offset_ms), S_SLACK_MS, "%s: edge skew %" PRId64,
                 l->name, l->edge_skew_ms);
    int st = th_edge_stop(&s_e, 20000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: SIGTERM stops the edge cleanly (%d)",
              l->name, st);
}

/* ------------------------------------------------------------ the end: compare */

typedef struct s_scan {
    aw_lane lane;
    uint64_t seq, last_hlc, n;
    uint8_t *count; /* readings per value */
} s_scan;

/* Per record of the edge at the center, in seq order: dense, HLC strictly
 * increasing; readings counted by value and by life. */
static int s_scan_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_scan *s = arg;
    Anwang__Record *r = NULL;
    uint64_t seq = aw_get_be64((const uint8_t *)key + klen - 8);
    cr_assert_eq(seq, s->seq + 1, "%s: seqs dense at the center", aw_lane_name(s->lane));
    cr_assert_eq(aw_codec_record_decode(val, vlen, NULL, &r, NULL, 0), AW_OK);
    cr_assert_gt(r->hlc, s->last_hlc,
                 "%s seq %" PRIu64 ": HLC %" PRIu64 " above its predecessor's %" PRIu64,
                 aw_lane_name(s->lane), seq, r->hlc, s->last_hlc);
    if (r->body_case == ANWANG__RECORD__BODY_READING && !strcmp(r->reading->device, S_DEVICE) &&
        !strcmp(r->reading->metric, S_METRIC)) {
        uint64_t v = (uint64_t)r->reading->value;
        cr_assert_lt(v, S_CAP);
        cr_assert_lt(s->count[v], 255);
        s->count[v]++;
        s_life *l = &s_lives[v / S_LIFE_SPAN];
        l->hlc_min = l->hlc_min && l->hlc_min < r->hlc ? l->hlc_min : r->hlc;
        l->hlc_max = l->hlc_max > r->hlc ? l->hlc_max : r->hlc;
        l->readings++;
    }
    s->seq = seq;
    s->last_hlc = r->hlc;
    s->n++;
    aw_codec_record_free(&r);
    return 0;
}

/* Walks the center's records of (edge, epoch, lane) read-only. */
static void s_scan_center(uint64_t epoch, s_scan *s)
{
    aw_store_opts so = {.path = s_c.data, .read_only = true};
    aw_store_t *store = NULL;
    aw_center_db_t *db = NULL;
    aw_txn_t *txn = NULL;
    uint8_t prefix[AW_CENTER_KEY_MAX];
    size_t plen = aw_center_key_lane(prefix, S_EDGE_ID, epoch, s->lane);
    cr_assert_eq(aw_store_open(&so, &store), AW_OK);
    cr_assert_eq(aw_center_db_open(store, &db), AW_OK);
    cr_assert_eq(aw_store_begin_read(store, &txn), AW_OK);
    cr_assert_eq(aw_txn_scan(txn, aw_center_db_table(db, AW_CT_RECORDS), prefix, plen, NULL, 0,
                             s_scan_cb, s),
                 AW_OK);
    aw_txn_abort(&txn);
    aw_center_db_destroy(&db);
    aw_store_destroy(&store);
}

/* Both daemons stopped: sets equal, applied once, order kept, acked readings once. */
static uint64_t s_compare(uint8_t *count)
{
    aw_store_opts eo = {.path = s_e.data, .read_only = true};
    aw_store_t *es = NULL;
    uint64_t total = 0;
    cr_assert_eq(aw_store_open(&eo, &es), AW_OK);
    uint64_t epoch = aw_store_epoch(es);
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        aw_lane_info li;
        aw_store_lane_info(es, (aw_lane)l, &li);
        cr_assert_eq(li.first, 1, "nothing pruned at the edge");
        uint64_t got = tc_center_records(&s_c, S_EDGE_ID, epoch, (aw_lane)l, es);
        cr_assert_eq(got, li.head,
                     "%s: the center holds each of the edge's %" PRIu64 " records (%" PRIu64 ")",
                     aw_lane_name((aw_lane)l), li.head, got);
        cr_assert_eq(tc_center_applied_count(&s_c, S_EDGE_ID, (aw_lane)l), li.head,
                     "%s: each applied once", aw_lane_name((aw_lane)l));
        s_scan s = {.lane = (aw_lane)l, .count = count};
        s_scan_center(epoch, &s);
        cr_assert_eq(s.n, li.head);
        total += s.n;
    }
    aw_store_destroy(&es);
    return total;
}

/* Every acked value once at the center, no value twice; returns values checked. */
static uint64_t s_check_acked(const uint8_t *count)
{
    uint64_t acked = 0;
    for (uint64_t v = 1; v < S_CAP; v++) {
        bool was_acked = s_load.acked[v / 8] & (1u << (v % 8));
        cr_assert_leq(count[v], 1, "reading %" PRIu64 " is at the center %u times", v, count[v]);
        if (was_acked) {
            cr_assert_eq(count[v], 1, "acked reading %" PRIu64 " is at the center", v);
            acked++;
        }
    }
    return acked;
}

Test(clock_jump, real_edge_under_libfaketime_keeps_order_and_is_flagged)
{
    cr_assert_eq(access(S_FAKETIME_LIB, R_OK), 0,
                 S_FAKETIME_LIB " is missing: install the faketime package (deploy/bootstrap.sh)");
    tc_init(&s_c, 10, 17800);
    snprintf(s_c.endpoint, sizeof s_c.endpoint, "tcp://127.0.12.10:17800");
    tc_write_conf(&s_c);
    tc_path cert = tc_edge_cert(&s_c, S_EDGE_ID, S_EDGE_ID, S_ZONE, true);
    tc_start(&s_c);
    cr_assert(tc_log_wait(&s_c, "serving on", 15000), "the center starts (log %s)", s_c.log);

    th_edge_init(&s_e, 1);
    snprintf(s_e.addr, sizeof s_e.addr, "127.0.12.1");
    s_e.port = 17801;
    s_e.dtls_port = 17802;
    char extra[768];
    snprintf(extra, sizeof extra,
             "[uplink]\ncenter = %s\ncert = %s_secret\ncenter_key = %s\nheartbeat = 1s\n"
             "dead_after = 3s\nbatch_records = 100\n",
             s_c.endpoint, cert.path, s_c.server_key);
    th_edge_write_conf(&s_e, "fsync", false, true, extra);
    s_load.acked = calloc(S_CAP / 8, 1);
    uint8_t *count = calloc(S_CAP, 1);

    for (int i = 0; i < S_NLIVES; i++)
        s_live(i);
    int st = tc_stop(&s_c, 10000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM stops the center cleanly");

    cr_assert_not(th_edge_log_has(&s_e, "Sanitizer"), "the edge ran clean under ASan (%s)",
                  s_e.log);
    cr_assert_not(th_edge_log_has(&s_e, "runtime error:"), "the edge ran clean under UBSan");
    uint64_t total = s_compare(count);
    uint64_t acked = s_check_acked(count);
    const s_life *real = &s_lives[0], *day = &s_lives[1], *back = &s_lives[2];
    for (int i = 0; i < S_NLIVES; i++)
        cr_assert_geq(s_lives[i].readings, s_lives[i].acked, "%s: acked readings at the center",
                      s_lives[i].name);
    /* the HLC followed the clock forward, and not back */
    cr_assert_gt(day->hlc_min, real->hlc_max);
    cr_assert_geq((int64_t)aw_hlc_ms(day->hlc_min), day->start_real_ms + S_DAY_MS - S_SLACK_MS,
                  "+1 day: stamps follow the clock forward");
    cr_assert_gt(back->hlc_min, day->hlc_max, "-10 min: stamps stay above the +1 day ones");
    cr_assert_gt((int64_t)aw_hlc_ms(back->hlc_min), back->start_real_ms + S_DAY_MS / 2,
                 "-10 min: the persisted floor, not the wall clock, sets the stamps");

    for (int i = 0; i < S_NLIVES; i++) {
        const s_life *l = &s_lives[i];
        cr_log_info("%-9s edge clock %+" PRId64 " ms; center skew %+" PRId64
                    " ms (flag %d), edge skew %+" PRId64 " ms (flag %d); %" PRIu64
                    " readings acked of %" PRIu64 " sent, %" PRIu64 " at the center; HLC %s",
                    l->name, l->edge_clock_ms, l->center_skew_ms, l->center_flag, l->edge_skew_ms,
                    l->edge_flag, l->acked, l->sent, l->readings,
                    i == 0   ? "from the wall clock"
                    : i == 1 ? "+1 d ahead"
                             : "kept above +1 d");
    }
    cr_log_info("clock jumps on the real edge: %" PRIu64 " records compared (edge log = center, "
                "each applied once, HLC strictly increasing per lane), %" PRIu64
                " acked readings each once at the center",
                total, acked);
    free(count);
    free(s_load.acked);
}
