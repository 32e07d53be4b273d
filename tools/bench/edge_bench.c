/*
 * aw-bench-edge: what anwang-edge's acks cost against a bare libcoap server,
 * in one run.
 *
 *  (a) a bare libcoap POST server answering 2.04 and nothing else (a forked
 *      child of this program, bench_bare.c);
 *  (b) anwang-edge with durability = fsync;
 *  (c) anwang-edge with durability = interval:10;
 *  (c') with --compare EDGE: another anwang-edge binary, interval:10 (A/B
 *      of an edge change in the same run).
 *
 * Each is driven by the same generator (bench_load.c): one SenML JSON
 * reading of one of N registered devices (round robin) per confirmable
 * POST /readings, first 16 then 64 requests in flight, each level for a
 * warm-up and a measured window. The edges run with a generated registry
 * of N devices (2,000 by default) in a fresh temporary directory, on their
 * own loopback address; after the load their RssAnon is read from
 * /proc/PID/status. Servers run on CPU 1, the generator on CPU 0 (unless
 * --no-pin). With -r ROUNDS each configuration is run that often, in
 * turn, and medians are printed.
 *
 * Prints per configuration and level: requests/s, the ratio to (a), p50/p99
 * latency, the server's CPU time per request (all its threads, from
 * /proc/PID/task/TID/schedstat: the figure that other load on the machine
 * disturbs least), the edge's packs per LMDB commit (from its /status), and
 * how long the server and the generator waited for a CPU. Then the disk's
 * fdatasync latency, the RssAnon figures and the targets (b/a >= 0.5,
 * c/a >= 0.8, RssAnon <= 8 MiB); --json adds one JSON line.
 *
 *   aw-bench-edge [-w WARMUP_S] [-t SECONDS] [-i 16,64] [-r ROUNDS] [-n DEVICES]
 *                 [-d DIR] [--edge EDGE] [--compare EDGE] [--no-pin] [--json]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_bare.h"
#include "bench_load.h"

#define MAX_LEVELS  4
#define MAX_ROUNDS  9
#define MAX_CONFIGS 4
#define MAX_DEVICES 100000
#define PORT        5683
#define ZONE        "yueyang/rongjiawan"
#define STATUS_MAX  8192
/* Internal: run the bare server (a, in the child) and nothing else. */
#define S_SERVE_BARE "--serve-bare"

/* What the run is told to do. */
typedef struct bench {
    double warmup_s, measure_s;
    unsigned levels[MAX_LEVELS], n_levels;
    unsigned rounds, devices;
    const char *base, *compare;
    char edge[PATH_MAX];
    bool json, pin;
    char dir[PATH_MAX]; /* the run's temporary directory */
} bench;

/* One server configuration. */
typedef struct s_config {
    const char *key, *name;
    const char *durability; /* NULL: the bare server */
    const char *binary;
    char addr[16];
} s_config;

/* Figures of one configuration at one level in one round. */
typedef struct s_cell {
    double rate, p50, p99, per_commit;
    double cpu_us;             /* server CPU time per 2.04 */
    double srv_wait, gen_wait; /* share of the wall time spent waiting for a CPU */
    double gen_busy;           /* share of the wall time the generator ran */
    uint64_t errors, timeouts, separate;
} s_cell;

typedef struct s_results {
    s_config cfg[MAX_CONFIGS];
    unsigned n_cfg;
    s_cell cell[MAX_CONFIGS][MAX_LEVELS][MAX_ROUNDS];
    double rss_kib[MAX_CONFIGS][MAX_ROUNDS];
    double reading_bytes;
    double sync_p50_us, sync_p99_us; /* fdatasync of 4 KiB in the run's directory */
} s_results;

/* A running server. */
typedef struct s_server {
    pid_t pid;
    char dir[PATH_MAX + 16], log[PATH_MAX + 32];
    uint64_t packs, commits; /* the edge's counters at the last look */
} s_server;

static uint8_t **s_reqs;
static size_t *s_lens;

/* ------------------------------------------------------------ files */

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double s_median(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, s_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void s_rm_tree(const char *dir)
{
    if (dir[0])
        nftw(dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
}

static FILE *s_create(const char *dir, const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "aw-bench-edge: %s: %s\n", path, strerror(errno));
    return f;
}

/* ------------------------------------------------------------ registry and requests */

/* Device ids: one site holds 20 devices, one village 10 sites. */
static void s_device_id(char *out, size_t cap, unsigned i)
{
    snprintf(out, cap, "huaxin-tank-%05u", i);
}

static void s_write_device(FILE *f, unsigned i, bool last)
{
    char id[32];
    s_device_id(id, sizeof id, i);
    fprintf(f,
            "{\"id\":\"%s\",\"kind\":\"sensor\",\"interval_s\":60,\"metrics\":[{\"name\":"
            "\"tank-level\",\"unit\":\"m\",\"item\":\"tank\",\"high\":{\"blue\":9.0,"
            "\"yellow\":9.5,\"orange\":10.0,\"red\":10.5},\"deadband\":0.1,\"debounce\":3}]}%s\n",
            id, last ? "" : ",");
}

static void s_write_site(FILE *f, const char *village, unsigned site, unsigned from, unsigned to,
                         bool last)
{
    fprintf(f,
            "{\"path\":\"%s/s%03u\",\"name\":\"site %u\",\"sector\":\"hazardous-chemicals\","
            "\"risk\":\"orange\",\"devices\":[\n",
            village, site, site);
    for (unsigned i = from; i < to; i++)
        s_write_device(f, i, i + 1 == to);
    fprintf(f, "]}%s\n", last ? "" : ",");
}

/* Writes a registry of @p n sensors in zone ZONE to DIR/registry.json. */
static int s_write_registry(const char *dir, unsigned n)
{
    FILE *f = s_create(dir, "registry.json");
    if (!f)
        return -1;
    unsigned sites = (n + 19) / 20, villages = (sites + 9) / 10;
    fprintf(f, "{\"county\":\"yueyang\",\"version\":1,\"zones\":[{\"path\":\"" ZONE
               "\",\"kind\":\"township\",\"villages\":[\n");
    for (unsigned v = 0; v < villages; v++) {
        char village[64];
        snprintf(village, sizeof village, ZONE "/v%02u", v);
        fprintf(f, "{\"path\":\"%s\",\"sites\":[\n", village);
        for (unsigned s = v * 10; s < sites && s < v * 10 + 10; s++) {
            unsigned to = s * 20 + 20 < n ? s * 20 + 20 : n;
            s_write_site(f, village, s, s * 20, to, s + 1 == sites || s + 1 == v * 10 + 10);
        }
        fprintf(f, "]}%s\n", v + 1 == villages ? "" : ",");
    }
    fprintf(f, "]}]}\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* Pre-encodes one request per device; returns the mean body size or -1. */
static double s_make_requests(unsigned n)
{
    size_t total = 0;
    s_reqs = calloc(n, sizeof *s_reqs);
    s_lens = calloc(n, sizeof *s_lens);
    if (!s_reqs || !s_lens)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        char id[32], body[160];
        s_device_id(id, sizeof id, i);
        int len = snprintf(body, sizeof body,
                           "[{\"bn\":\"%s/\",\"n\":\"tank-level\",\"u\":\"m\",\"v\":%.3f}]", id,
                           6.0 + (double)(i % 1000) / 1000);
        if (!(s_reqs[i] = malloc(AW_LOAD_MAX_REQ)))
            return -1;
        s_lens[i] = aw_load_template(s_reqs[i], "readings", 110, body, (size_t)len);
        if (!s_lens[i])
            return -1;
        total += (size_t)len;
    }
    return (double)total / n;
}

static void s_free_requests(unsigned n)
{
    for (unsigned i = 0; s_reqs && i < n; i++)
        free(s_reqs[i]);
    free(s_reqs);
    free(s_lens);
}

/* ------------------------------------------------------------ processes */

static void s_pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        fprintf(stderr, "aw-bench-edge: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
}

static int s_write_conf(const s_config *c, const s_server *sv)
{
    FILE *f = s_create(sv->dir, "edge.conf");
    if (!f)
        return -1;
    fprintf(f,
            "[edge]\nid = bench-edge\nzone = " ZONE "\ndata_dir = %s/data\n"
            "[store]\nmap_size = 1G\nmax_bytes = 512M\ndurability = %s\n"
            "[coap]\nbind = %s\nport = %d\nplain = yes\ndtls = no\n[log]\nlevel = warn\n",
            sv->dir, c->durability, c->addr, PORT);
    return fclose(f) == 0 ? 0 : -1;
}

/* The child: CPU 1, output to the log, then the server. Never returns. */
static void s_child(const bench *b, const s_config *c, const s_server *sv)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (b->pin)
        s_pin(1);
    int fd = open(sv->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0)
        dup2(fd, 1), dup2(fd, 2), close(fd);
    if (!c->durability) {
        /* a fresh image: the server's RssAnon is its own, not this process's */
        execl("/proc/self/exe", "aw-bench-edge", S_SERVE_BARE, c->addr, (char *)NULL);
        _exit(127);
    }
    char conf[PATH_MAX + 32], reg[PATH_MAX + 32];
    snprintf(conf, sizeof conf, "%s/edge.conf", sv->dir);
    snprintf(reg, sizeof reg, "%s/registry.json", b->dir);
    execl(c->binary, c->binary, "-c", conf, "--registry", reg, (char *)NULL);
    fprintf(stderr, "exec %s: %s\n", c->binary, strerror(errno));
    _exit(127);
}

static void s_print_log(const s_server *sv)
{
    FILE *f = fopen(sv->log, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f))
        fprintf(stderr, "    | %s", line);
    if (f)
        fclose(f);
}

/* Stops @p sv: SIGTERM, then SIGKILL after 10 s. */
static void s_stop(s_server *sv)
{
    int status;
    if (sv->pid <= 0)
        return;
    kill(sv->pid, SIGTERM);
    for (int i = 0; i < 1000 && waitpid(sv->pid, &status, WNOHANG) == 0; i++)
        usleep(10000);
    if (waitpid(sv->pid, &status, WNOHANG) == 0) {
        fprintf(stderr, "aw-bench-edge: pid %d ignored SIGTERM; killing it\n", (int)sv->pid);
        kill(sv->pid, SIGKILL);
        waitpid(sv->pid, &status, 0);
    }
    sv->pid = 0;
}

/* Starts configuration @p c in a fresh directory and waits until it answers. */
static int s_start(const bench *b, const s_config *c, s_server *sv)
{
    memset(sv, 0, sizeof *sv);
    snprintf(sv->dir, sizeof sv->dir, "%s/%s", b->dir, c->key);
    snprintf(sv->log, sizeof sv->log, "%s/server.log", sv->dir);
    if (mkdir(sv->dir, 0700) != 0 || (c->durability && s_write_conf(c, sv) != 0))
        return -1;
    fflush(NULL);
    if ((sv->pid = fork()) < 0)
        return -1;
    if (sv->pid == 0)
        s_child(b, c, sv);
    if (aw_load_get(c->addr, PORT, "status", 20000, NULL, 0) > 0)
        return 0;
    fprintf(stderr, "aw-bench-edge: %s did not answer within 20 s; its log:\n", c->name);
    s_stop(sv);
    s_print_log(sv);
    return -1;
}

/* RssAnon of @p pid in KiB, or -1. */
static double s_rss_anon(pid_t pid)
{
    char path[64], line[256];
    double kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "RssAnon:", 8) == 0)
            kib = strtod(line + 8, NULL);
    if (f)
        fclose(f);
    return kib;
}

/* Packs per commit since the last call, from the edge's /status (-1 = unknown). */
static double s_per_commit(const s_config *c, s_server *sv)
{
    static char body[STATUS_MAX];
    if (aw_load_get(c->addr, PORT, "status", 3000, body, sizeof body) != 205)
        return -1;
    json_t *j = json_loads(body, 0, NULL);
    json_t *in = json_object_get(j, "ingest");
    uint64_t packs = (uint64_t)json_integer_value(json_object_get(in, "packs"));
    uint64_t commits = (uint64_t)json_integer_value(json_object_get(in, "commits"));
    json_decref(j);
    if (!in)
        return -1;
    double per =
        commits > sv->commits ? (double)(packs - sv->packs) / (double)(commits - sv->commits) : -1;
    sv->packs = packs, sv->commits = commits;
    return per;
}

/* CPU time and run-queue wait (ns) of every thread of @p pid (0 = this process). */
static void s_schedstat(pid_t pid, double *run_ns, double *wait_ns)
{
    char path[64], task[128];
    *run_ns = *wait_ns = 0;
    snprintf(path, sizeof path, "/proc/%d/task", pid ? (int)pid : (int)getpid());
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(task, sizeof task, "%s/%.16s/schedstat", path, e->d_name);
        FILE *f = fopen(task, "r");
        double run = 0, wait = 0;
        if (f && fscanf(f, "%lf %lf", &run, &wait) == 2)
            *run_ns += run, *wait_ns += wait;
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
}

static double s_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Where the CPU went during one load run. */
typedef struct s_usage {
    double wall, srv_run, srv_wait, gen_run, gen_wait;
} s_usage;

static void s_usage_take(pid_t server, s_usage *u)
{
    u->wall = s_wall_ns();
    s_schedstat(server, &u->srv_run, &u->srv_wait);
    s_schedstat(0, &u->gen_run, &u->gen_wait);
}

/* Median and 99th percentile of @p n fdatasync() calls after a 4 KiB write in @p dir. */
static void s_probe_sync(const char *dir, int n, double *p50, double *p99)
{
    char path[PATH_MAX + 16], block[4096];
    double t[200];
    memset(block, 0x5a, sizeof block);
    snprintf(path, sizeof path, "%s/sync-probe", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    *p50 = *p99 = -1;
    if (fd < 0 || n > 200)
        return;
    for (int i = 0; i < n; i++) {
        double t0 = s_wall_ns();
        if (pwrite(fd, block, sizeof block, (off_t)(i % 16) * 4096) != sizeof block ||
            fdatasync(fd) != 0)
            break;
        t[i] = (s_wall_ns() - t0) / 1000;
    }
    close(fd);
    unlink(path);
    qsort(t, (size_t)n, sizeof *t, s_cmp);
    *p50 = t[n / 2];
    *p99 = t[n * 99 / 100];
}

/* ------------------------------------------------------------ one configuration */

static int s_level(const bench *b, const s_config *c, s_server *sv, unsigned inflight, s_cell *cell)
{
    char label[64];
    snprintf(label, sizeof label, "(%s) %s", c->key, c->name);
    aw_load_opts o = {.addr = c->addr,
                      .port = PORT,
                      .inflight = inflight,
                      .warmup_s = b->warmup_s,
                      .measure_s = b->measure_s,
                      .reqs = (const uint8_t *const *)s_reqs,
                      .lens = s_lens,
                      .n_reqs = b->devices,
                      .label = label};
    aw_load_result r;
    s_usage u0, u1;
    s_usage_take(sv->pid, &u0);
    if (aw_load_run(&o, &r) != 0) {
        fprintf(stderr, "aw-bench-edge: load generator: %s\n", strerror(errno));
        return -1;
    }
    s_usage_take(sv->pid, &u1);
    double wall = u1.wall - u0.wall;
    *cell =
        (s_cell){.rate = r.rate,
                 .p50 = r.p50_us,
                 .p99 = r.p99_us,
                 .per_commit = c->durability ? s_per_commit(c, sv) : -1,
                 .cpu_us = r.all_done ? (u1.srv_run - u0.srv_run) / 1000 / (double)r.all_done : -1,
                 .srv_wait = (u1.srv_wait - u0.srv_wait) / wall,
                 .gen_wait = (u1.gen_wait - u0.gen_wait) / wall,
                 .gen_busy = (u1.gen_run - u0.gen_run) / wall,
                 .errors = r.errors,
                 .timeouts = r.timeouts,
                 .separate = r.separate};
    fprintf(stderr,
            "  %-22s %3u in flight  %8.0f req/s  p50 %6.0f us  p99 %6.0f us  server CPU %.1f "
            "us/req  separate %" PRIu64 "  errors %" PRIu64 "  timeouts %" PRIu64
            "  retransmits %" PRIu64 "\n",
            label, inflight, r.rate, r.p50_us, r.p99_us, cell->cpu_us, r.separate, r.errors,
            r.timeouts, r.retransmits);
    return 0;
}

static int s_config_round(const bench *b, s_results *res, unsigned ci, unsigned round)
{
    const s_config *c = &res->cfg[ci];
    s_server sv;
    fprintf(stderr, "aw-bench-edge: round %u: starting (%s) %s on %s\n", round + 1, c->key, c->name,
            c->addr);
    if (s_start(b, c, &sv) != 0)
        return -1;
    if (c->durability)
        s_per_commit(c, &sv);
    int rc = 0;
    for (unsigned l = 0; l < b->n_levels && rc == 0; l++)
        rc = s_level(b, c, &sv, b->levels[l], &res->cell[ci][l][round]);
    res->rss_kib[ci][round] = s_rss_anon(sv.pid);
    s_stop(&sv);
    s_rm_tree(sv.dir);
    return rc;
}

/* ------------------------------------------------------------ results */

/* The median over the rounds of one field of a cell. */
static double s_med(const bench *b, const s_results *res, unsigned ci, unsigned l, size_t field)
{
    double v[MAX_ROUNDS];
    for (unsigned r = 0; r < b->rounds; r++)
        v[r] = *(const double *)((const char *)&res->cell[ci][l][r] + field);
    return s_median(v, b->rounds);
}

#define MED(ci, l, f) s_med(b, res, (ci), (l), offsetof(s_cell, f))

static double s_rss(const bench *b, const s_results *res, unsigned ci)
{
    double v[MAX_ROUNDS];
    memcpy(v, res->rss_kib[ci], sizeof v);
    return s_median(v, b->rounds);
}

static void s_print_row(const bench *b, const s_results *res, unsigned ci, unsigned l)
{
    char name[64] = "", per[16] = "-";
    double pc = MED(ci, l, per_commit);
    if (l == 0)
        snprintf(name, sizeof name, "(%s) %s", res->cfg[ci].key, res->cfg[ci].name);
    if (pc > 0)
        snprintf(per, sizeof per, "%.1f", pc);
    printf("%-34s %4u %9.0f %6.2f %8.0f %8.0f %8.1f %8s %5.0f%% %5.0f%% %5.0f%%\n", name,
           b->levels[l], MED(ci, l, rate), MED(ci, l, rate) / MED(0, l, rate), MED(ci, l, p50),
           MED(ci, l, p99), MED(ci, l, cpu_us), per, 100 * MED(ci, l, srv_wait),
           100 * MED(ci, l, gen_wait), 100 * MED(ci, l, gen_busy));
}

static void s_print_table(const bench *b, const s_results *res)
{
    printf("%-34s %4s %9s %6s %8s %8s %8s %8s %6s %6s %6s\n", "configuration", "infl", "req/s",
           "vs (a)", "p50 us", "p99 us", "CPU us", "packs/", "srv", "gen", "gen");
    printf("%-34s %4s %9s %6s %8s %8s %8s %8s %6s %6s %6s\n", "", "", "", "", "", "", "per req",
           "commit", "runq", "runq", "busy");
    for (unsigned ci = 0; ci < res->n_cfg; ci++)
        for (unsigned l = 0; l < b->n_levels; l++)
            s_print_row(b, res, ci, l);
    printf("CPU us per req: the server's CPU time (all threads) per 2.04; runq: share of the\n"
           "wall time the server / the generator waited for a CPU (other load on the machine);\n"
           "gen busy: share of the wall time the generator ran (100%% = generator-bound).\n");
}

static void s_print_targets(const bench *b, const s_results *res)
{
    printf("disk: 4 KiB write + fdatasync in %s: p50 %.0f us, p99 %.0f us\n", b->base,
           res->sync_p50_us, res->sync_p99_us);
    printf("RssAnon after load, %u devices registered:", b->devices);
    for (unsigned ci = 1; ci < res->n_cfg; ci++)
        printf(" (%s) %.1f MiB,", res->cfg[ci].key, s_rss(b, res, ci) / 1024);
    printf(" (a) %.1f MiB  [target (b), (c) <= 8 MiB: %s]\n", s_rss(b, res, 0) / 1024,
           s_rss(b, res, 1) <= 8192 && s_rss(b, res, 2) <= 8192 ? "met" : "MISSED");
    for (unsigned ci = 1; ci < res->n_cfg; ci++) {
        double target = ci == 1 ? 0.5 : 0.8;
        printf("target %s/a >= %.1f:", res->cfg[ci].key, target);
        for (unsigned l = 0; l < b->n_levels; l++) {
            double ratio = MED(ci, l, rate) / MED(0, l, rate);
            printf("  %u in flight %.2f %s", b->levels[l], ratio,
                   ratio >= target ? "met" : "MISSED");
        }
        printf("\n");
    }
}

static void s_print_json(const bench *b, const s_results *res)
{
    printf("{\"devices\":%u,\"reading_bytes\":%.1f,\"warmup_s\":%.1f,\"measure_s\":%.1f,"
           "\"rounds\":%u,\"fdatasync_p50_us\":%.0f,\"fdatasync_p99_us\":%.0f,\"configs\":[",
           b->devices, res->reading_bytes, b->warmup_s, b->measure_s, b->rounds, res->sync_p50_us,
           res->sync_p99_us);
    for (unsigned ci = 0; ci < res->n_cfg; ci++) {
        const s_config *c = &res->cfg[ci];
        printf("%s{\"key\":\"%s\",\"name\":\"%s\",\"binary\":\"%s\",\"rss_anon_kib\":%.0f,"
               "\"levels\":[",
               ci ? "," : "", c->key, c->name, c->durability ? c->binary : "", s_rss(b, res, ci));
        for (unsigned l = 0; l < b->n_levels; l++)
            printf("%s{\"inflight\":%u,\"req_per_s\":%.0f,\"ratio\":%.3f,\"p50_us\":%.0f,"
                   "\"p99_us\":%.0f,\"cpu_us_per_req\":%.2f,\"packs_per_commit\":%.2f,"
                   "\"server_runq\":%.3f,\"generator_runq\":%.3f,\"generator_busy\":%.3f}",
                   l ? "," : "", b->levels[l], MED(ci, l, rate), MED(ci, l, rate) / MED(0, l, rate),
                   MED(ci, l, p50), MED(ci, l, p99), MED(ci, l, cpu_us), MED(ci, l, per_commit),
                   MED(ci, l, srv_wait), MED(ci, l, gen_wait), MED(ci, l, gen_busy));
        printf("]}");
    }
    printf("]}\n");
}

/* ------------------------------------------------------------ arguments */

static int s_levels(const char *arg, bench *b)
{
    char *end;
    b->n_levels = 0;
    for (const char *p = arg; *p && b->n_levels < MAX_LEVELS; p = *end ? end + 1 : end) {
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v == 0 || v > 4096 || (*end && *end != ','))
            return -1;
        b->levels[b->n_levels++] = (unsigned)v;
    }
    return b->n_levels ? 0 : -1;
}

static int s_seconds(const char *arg, double *out)
{
    char *end;
    *out = strtod(arg, &end);
    return *end || !(*out >= 0 && *out <= 3600) ? -1 : 0;
}

static int s_uint(const char *arg, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    *out = (unsigned)v;
    return *end || v == 0 || v > max ? -1 : 0;
}

static int s_args(int argc, char **argv, bench *b)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},       {"no-pin", no_argument, NULL, 'P'},
        {"edge", required_argument, NULL, 'e'}, {"compare", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "w:t:i:r:n:d:h", longopts, NULL)) != -1 && !bad) {
        if (c == 'w')
            bad = s_seconds(optarg, &b->warmup_s);
        else if (c == 't')
            bad = s_seconds(optarg, &b->measure_s) || b->measure_s <= 0;
        else if (c == 'i')
            bad = s_levels(optarg, b);
        else if (c == 'r')
            bad = s_uint(optarg, MAX_ROUNDS, &b->rounds);
        else if (c == 'n')
            bad = s_uint(optarg, MAX_DEVICES, &b->devices);
        else if (c == 'd')
            b->base = optarg;
        else if (c == 'e')
            snprintf(b->edge, sizeof b->edge, "%s", optarg);
        else if (c == 'C')
            b->compare = optarg;
        else if (c == 'P')
            b->pin = false;
        else if (c == 'j')
            b->json = true;
        else
            bad = 1;
    }
    return bad || optind != argc ? -1 : 0;
}

/* The default edge: anwang-edge next to this program (both land in build/bin). */
static void s_default_edge(bench *b)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(b->edge, sizeof b->edge, "anwang-edge");
        return;
    }
    self[n] = '\0';
    snprintf(b->edge, sizeof b->edge, "%s/anwang-edge", dirname(self));
}

/* ------------------------------------------------------------ main */

static void s_configs(const bench *b, s_results *res)
{
    static const char *keys[] = {"a", "b", "c", "c'"};
    static const char *names[] = {"bare libcoap, 2.04 only", "edge, durability=fsync",
                                  "edge, durability=interval:10", "edge (--compare), interval:10"};
    static const char *dur[] = {NULL, "fsync", "interval:10", "interval:10"};
    res->n_cfg = b->compare ? 4 : 3;
    for (unsigned i = 0; i < res->n_cfg; i++) {
        res->cfg[i] = (s_config){.key = keys[i], .name = names[i], .durability = dur[i]};
        res->cfg[i].binary = i == 3 ? b->compare : b->edge;
        snprintf(res->cfg[i].addr, sizeof res->cfg[i].addr, "127.0.10.%u", i + 1);
    }
}

static int s_run(bench *b, s_results *res)
{
    s_configs(b, res);
    if (s_write_registry(b->dir, b->devices) != 0 ||
        (res->reading_bytes = s_make_requests(b->devices)) < 0)
        return 1;
    s_probe_sync(b->dir, 100, &res->sync_p50_us, &res->sync_p99_us);
    fprintf(stderr,
            "aw-bench-edge: %u devices, %.0f-byte SenML JSON readings, one per CON POST; "
            "%.1f s warm-up + %.1f s per level; %u round(s); edge %s; in %s\n",
            b->devices, res->reading_bytes, b->warmup_s, b->measure_s, b->rounds, b->edge, b->dir);
    for (unsigned r = 0; r < b->rounds; r++)
        for (unsigned ci = 0; ci < res->n_cfg; ci++)
            if (s_config_round(b, res, ci, r) != 0)
                return 1;
    printf("aw-bench-edge: %u devices, %.0f-byte readings, one per CON POST; %.1f s warm-up + "
           "%.1f s per level; median of %u round(s); %s\n",
           b->devices, res->reading_bytes, b->warmup_s, b->measure_s, b->rounds,
           b->pin ? "servers on CPU 1, generator on CPU 0" : "not pinned");
    if (b->compare)
        printf("(c') is %s\n", b->compare);
    s_print_table(b, res);
    s_print_targets(b, res);
    if (b->json)
        s_print_json(b, res);
    return 0;
}

int main(int argc, char **argv)
{
    bench b = {.warmup_s = 1,
               .measure_s = 5,
               .levels = {16, 64},
               .n_levels = 2,
               .rounds = 1,
               .devices = 2000,
               .base = "/tmp",
               .pin = true};
    if (argc == 3 && strcmp(argv[1], S_SERVE_BARE) == 0)
        return aw_bench_bare_serve(argv[2], PORT);
    s_default_edge(&b);
    if (s_args(argc, argv, &b) != 0) {
        fprintf(stderr, "usage: aw-bench-edge [-w WARMUP_S] [-t SECONDS] [-i 16,64] [-r ROUNDS] "
                        "[-n DEVICES] [-d DIR] [--edge EDGE] [--compare EDGE] [--no-pin] "
                        "[--json]\n");
        return 2;
    }
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        b.pin = false;
    snprintf(b.dir, sizeof b.dir, "%s/aw-bench-edge.XXXXXX", b.base);
    if (!mkdtemp(b.dir)) {
        fprintf(stderr, "aw-bench-edge: mkdtemp %s: %s\n", b.dir, strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (b.pin)
        s_pin(0);
    s_results *res = calloc(1, sizeof *res);
    int rc = res ? s_run(&b, res) : 1;
    free(res);
    s_free_requests(b.devices);
    s_rm_tree(b.dir);
    return rc;
}
