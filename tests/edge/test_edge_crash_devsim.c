/* kill -9 test of anwang-edge driven by the real device simulator (issue 3,
 * "Crash"; SPEC §9: an acknowledged reading is never lost). One anwang-devsim
 * posts SenML at full speed (--rate max, 16 in flight, every sensor of the
 * edge's zone) and logs each reading the edge answered 2.04 (--acked-log).
 * Meanwhile the edge (durability = fsync) is killed with SIGKILL and restarted
 * on the same data dir, 100 times (AW_EDGE_CRASH_KILLS=N for quick runs): each
 * life serves GET /status, waits at most LOAD_MS for devsim's load to reach
 * it, then lives a random 20..300 ms more. Afterwards every line of the acked
 * log must be a reading record of the bulk lane (device, metric, time and
 * value); readings stored twice are counted. Loopback 127.0.8.60, ~65 s. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "edge_harness.h"
#include "store.h"

#define DEVSIM_BIN   AW_BIN_DIR "/anwang-devsim"
#define REGISTRY     AW_FIXTURES "/registry.json"
#define ZONE         "yueyang/rongjiawan"
#define READY_MS     30000  /* a restart answers GET /status within this */
#define TRAFFIC_MS   15000  /* devsim gets answers again within this */
#define LOAD_MS      500    /* a life waits this long at most for devsim's load */
#define LOOP_MS      70000  /* the kill loop ends after this, whatever the count */
#define DEVSIM_S     "150s" /* devsim's own bound; the test stops it sooner */
#define STOP_MS      20000  /* devsim drains (--drain 5s) and exits within this */
#define KILLS        100
#define NAME_MAX_LEN 128

static th_edge s_e;
static pid_t s_sim; /* devsim while it runs, else 0 */
static int s_sim_status;

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void s_fini(void)
{
    if (s_sim > 0) {
        kill(s_sim, SIGKILL);
        waitpid(s_sim, NULL, 0);
        s_sim = 0;
    }
    th_edge_cleanup(&s_e);
}

/* ------------------------------------------------------------ devsim */

/* Starts the simulator against the edge: summary (--json) into @p out, its
 * log into @p log, acknowledged readings into @p acked. */
static pid_t s_devsim_start(const char *acked, const char *out, const char *log)
{
    char uri[64];
    snprintf(uri, sizeof uri, "coap://%s:%d", s_e.addr, s_e.port);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fl = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fo < 0 || fl < 0 || dup2(fo, 1) < 0 || dup2(fl, 2) < 0)
        _exit(127);
    /* --ack-timeout 1s: libcoap's floor, so requests lost in a kill come back soonest */
    execl(DEVSIM_BIN, DEVSIM_BIN, "--registry", REGISTRY, "--zone", ZONE, "--edge", uri, "--rate",
          "max", "--inflight", "16", "--ack-timeout", "1s", "--acked-log", acked, "--duration",
          DEVSIM_S, "--drain", "5s", "--progress", "10s", "--json", "--seed", "7", (char *)NULL);
    _exit(127);
}

/* True while devsim runs; once it has exited, s_sim is 0 and s_sim_status
 * holds its wait status (so a reaped pid is never signalled). */
static bool s_devsim_alive(void)
{
    if (s_sim > 0 && waitpid(s_sim, &s_sim_status, WNOHANG) == s_sim)
        s_sim = 0;
    return s_sim > 0;
}

/* SIGTERM, then waits up to STOP_MS; returns the wait status, or -1 when it
 * had to be killed. */
static int s_devsim_stop(void)
{
    if (s_devsim_alive())
        kill(s_sim, SIGTERM);
    int64_t deadline = s_now_ms() + STOP_MS;
    while (s_devsim_alive()) {
        if (s_now_ms() > deadline) {
            kill(s_sim, SIGKILL);
            waitpid(s_sim, NULL, 0);
            s_sim = 0;
            return -1;
        }
        s_nap_ms(20);
    }
    return s_sim_status;
}

static off_t s_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* Waits until @p path grows beyond @p from bytes (devsim got a 2.04). */
static bool s_grows(const char *path, off_t from, int timeout_ms)
{
    int64_t deadline = s_now_ms() + timeout_ms;
    while (s_size(path) <= from) {
        if (s_now_ms() > deadline || !s_devsim_alive())
            return false;
        s_nap_ms(10);
    }
    return true;
}

/* ------------------------------------------------------------ kill loop */

/* Polls GET /status every ~50 ms (the harness's helper waits 200 ms per try)
 * until 2.05, so "uptime after serving" starts when the edge really serves. */
static bool s_ready(int timeout_ms)
{
    int64_t deadline = s_now_ms() + timeout_ms;
    th_resp *r = malloc(sizeof *r);
    bool ok = false;
    while (r && !ok && s_now_ms() < deadline) {
        if (waitpid(s_e.pid, NULL, WNOHANG) == s_e.pid) {
            s_e.pid = 0;
            break;
        }
        ok = th_coap(s_e.addr, s_e.port, TH_GET, "status", -1, NULL, 0, NULL, 0, r, 50) == 0 &&
             r->code == 205;
    }
    free(r);
    return ok;
}

typedef struct s_kills {
    int done;       /* SIGKILLs sent */
    int loaded;     /* of which devsim got a 2.04 in that life */
    int64_t max_up; /* slowest restart until GET /status answered, ms */
} s_kills;

/* One life: the edge serves (GET /status answered); it waits at most LOAD_MS
 * for devsim's next 2.04, lives a random 20..300 ms more, and is killed, then
 * restarted until it serves again. Returns false when it does not come back. */
static bool s_kill_once(s_kills *k, const char *acked, unsigned *seed)
{
    off_t before = s_size(acked);
    s_grows(acked, before, LOAD_MS);
    s_nap_ms(20 + (int)(rand_r(seed) % 281));
    th_edge_kill(&s_e);
    k->done++;
    k->loaded += s_size(acked) > before;
    int64_t t0 = s_now_ms();
    th_edge_start(&s_e, NULL);
    if (!s_ready(READY_MS))
        return false;
    if (s_now_ms() - t0 > k->max_up)
        k->max_up = s_now_ms() - t0;
    return true;
}

static void s_kill_loop(s_kills *k, int rounds, const char *acked, unsigned seed)
{
    int64_t end = s_now_ms() + LOOP_MS;
    while (k->done < rounds && s_now_ms() < end) {
        cr_assert(s_devsim_alive(), "devsim exited during the kill loop");
        cr_assert(s_kill_once(k, acked, &seed), "restart %d did not serve; see %s", k->done,
                  s_e.log);
    }
}

/* ------------------------------------------------------------ readings */

typedef struct s_reading {
    char name[NAME_MAX_LEN]; /* <device>/<metric> */
    int64_t time_ms;
    double value;
} s_reading;

typedef struct s_list {
    s_reading *v;
    size_t n, cap;
} s_list;

static void s_push(s_list *l, const char *name, int64_t time_ms, double value)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        cr_assert_not_null(l->v);
    }
    s_reading *r = &l->v[l->n++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->time_ms = time_ms;
    r->value = value;
}

static int s_cmp(const void *a, const void *b)
{
    const s_reading *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    if (x->time_ms != y->time_ms)
        return x->time_ms < y->time_ms ? -1 : 1;
    return x->value < y->value ? -1 : x->value > y->value;
}

/* Sorts @p l; returns how many entries repeat the one before. */
static size_t s_sort(s_list *l)
{
    size_t dups = 0;
    qsort(l->v, l->n, sizeof *l->v, s_cmp);
    for (size_t i = 1; i < l->n; i++)
        dups += s_cmp(&l->v[i - 1], &l->v[i]) == 0;
    return dups;
}

/* Parses "<device>/<metric> <time_ms> <value>"; false when malformed. */
static bool s_parse_line(char *line, s_list *l)
{
    char *sp = strchr(line, ' '), *end;
    if (!sp || sp == line || (size_t)(sp - line) >= NAME_MAX_LEN)
        return false;
    *sp = '\0';
    long long t = strtoll(sp + 1, &end, 10);
    if (end == sp + 1 || *end != ' ')
        return false;
    const char *v = end + 1;
    double value = strtod(v, &end);
    if (end == v || (*end != '\n' && *end != '\0'))
        return false;
    s_push(l, line, t, value);
    return true;
}

/* Reads the acked log; returns the number of malformed lines. */
static size_t s_read_acked(const char *path, s_list *l)
{
    FILE *f = fopen(path, "r");
    char line[512];
    size_t bad = 0;
    cr_assert_not_null(f, "acked log %s", path);
    while (fgets(line, sizeof line, f))
        bad += !s_parse_line(line, l);
    fclose(f);
    return bad;
}

static void s_on_record(void *arg, uint64_t seq, const Anwang__Record *rec)
{
    (void)seq;
    if (rec->body_case != ANWANG__RECORD__BODY_READING || !rec->reading->has_value)
        return;
    char name[NAME_MAX_LEN];
    snprintf(name, sizeof name, "%s/%s", rec->reading->device, rec->reading->metric);
    s_push(arg, name, rec->reading->time_ms, rec->reading->value);
}

/* Counts the acked readings that are not in @p stored (both sorted). */
static size_t s_missing(const s_list *acked, const s_list *stored)
{
    size_t missing = 0;
    for (size_t i = 0; i < acked->n; i++) {
        if (bsearch(&acked->v[i], stored->v, stored->n, sizeof *stored->v, s_cmp))
            continue;
        if (missing++ < 5)
            cr_log_error("acked but not stored: %s %lld %.17g", acked->v[i].name,
                         (long long)acked->v[i].time_ms, acked->v[i].value);
    }
    return missing;
}

/* readings.acked of devsim's --json summary, -1 when unreadable. */
static long long s_summary_acked(const char *path)
{
    json_t *j = json_load_file(path, 0, NULL);
    long long n = -1;
    json_t *v = json_object_get(json_object_get(j, "readings"), "acked");
    if (json_is_integer(v))
        n = json_integer_value(v);
    json_decref(j);
    return n;
}

/* ------------------------------------------------------------ the test */

static int s_rounds(void)
{
    const char *env = getenv("AW_EDGE_CRASH_KILLS");
    char *end;
    long n = env ? strtol(env, &end, 10) : KILLS;
    return env && (*end != '\0' || n < 1 || n > 10000) ? KILLS : (int)n;
}

/* The registry goes into the store in a first life of its own, as in the field. */
static void s_edge_first_life(void)
{
    th_edge_init(&s_e, 60);
    th_edge_write_conf(&s_e, "fsync", false, true, NULL);
    th_edge_start(&s_e, REGISTRY);
    cr_assert(th_edge_ready(&s_e, READY_MS), "see %s", s_e.log);
    cr_assert_eq(th_edge_stop(&s_e, 10000), 0, "clean stop; see %s", s_e.log);
    th_edge_start(&s_e, NULL);
    cr_assert(th_edge_ready(&s_e, READY_MS), "see %s", s_e.log);
}

/* Checks the store against the acked log and reports the figures. */
static void s_check(const char *acked_path, const char *summary, const s_kills *k, int64_t t0)
{
    s_list acked = {0}, stored = {0};
    size_t bad = s_read_acked(acked_path, &acked);
    cr_assert_eq(th_store_walk(s_e.data, AW_LANE_BULK, s_on_record, &stored), 0,
                 "the store opens and decodes");
    size_t acked_dups = s_sort(&acked), stored_dups = s_sort(&stored);
    size_t missing = s_missing(&acked, &stored);
    long long sum_acked = s_summary_acked(summary);
    cr_log_info("devsim crash: %d kills (%d under load, slowest restart %lld ms), %zu acked "
                "(summary %lld, %zu repeated), %zu stored (%zu stored twice), %zu missing, "
                "%.1f s",
                k->done, k->loaded, (long long)k->max_up, acked.n, sum_acked, acked_dups, stored.n,
                stored_dups, missing, (double)(s_now_ms() - t0) / 1000);
    cr_assert_eq(bad, 0, "%zu malformed lines in the acked log", bad);
    cr_assert_eq((long long)acked.n, sum_acked, "the acked log holds every 2.04 of the summary");
    cr_assert_eq(acked_dups, 0, "devsim logs each reading once");
    cr_assert_eq(missing, 0, "%zu acknowledged readings lost", missing);
    cr_assert_gt(acked.n, (size_t)k->done, "the load got acknowledgements");
    free(acked.v);
    free(stored.v);
}

TestSuite(edge_crash_devsim, .fini = s_fini, .timeout = 240);

Test(edge_crash_devsim, every_reading_devsim_saw_acked_survives_kill_9)
{
    int64_t t0 = s_now_ms();
    int rounds = s_rounds();
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    cr_log_info("devsim crash: %d kills wanted, seed %u", rounds, seed);
    s_edge_first_life();
    char acked[256], summary[256], simlog[256];
    snprintf(acked, sizeof acked, "%s/acked.log", s_e.dir);
    snprintf(summary, sizeof summary, "%s/devsim.json", s_e.dir);
    snprintf(simlog, sizeof simlog, "%s/devsim.log", s_e.dir);
    s_sim = s_devsim_start(acked, summary, simlog);
    cr_assert_gt(s_sim, 0, "fork");
    cr_assert(s_grows(acked, 0, TRAFFIC_MS), "devsim gets 2.04s; see %s", simlog);

    s_kills k = {0};
    s_kill_loop(&k, rounds, acked, seed);
    cr_assert(s_grows(acked, s_size(acked), TRAFFIC_MS), "devsim resumes after the last restart");
    int status = s_devsim_stop();
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "devsim exits 0 (%d); see %s", status,
              simlog);
    cr_assert_eq(th_edge_stop(&s_e, 10000), 0, "clean stop; see %s", s_e.log);

    s_check(acked, summary, &k, t0);
    cr_assert_geq(k.done, rounds < 50 ? rounds : 50, "too few kills in %d ms", LOOP_MS);
    /* After a kill devsim's requests in flight come back only with libcoap's
     * first retransmission (its ACK_TIMEOUT floor is 1 s), so a life that
     * ends its LOAD_MS wait sooner sees none: 50..75% of the lives carry load
     * here (49% on 2 busy cores); a quarter is the floor of a useful run. */
    cr_assert_geq(k.loaded * 4, k.done, "a quarter of the lives or more were killed under load");
}
