#include "bench_center.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aw_err.h"
#include "db.h"
#include "status.h"
#include "store.h"

static pid_t s_pids[AW_BENCH_MAX_PIDS];

/* ------------------------------------------------------------ clocks */

int64_t aw_bench_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t aw_bench_mono_ms(void)
{
    return aw_bench_mono_us() / 1000;
}

double aw_bench_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t aw_bench_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double s_ru_seconds(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
           (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

double aw_bench_cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return s_ru_seconds(&ru);
}

/* ------------------------------------------------------------ temp dirs and files */

int aw_bench_tempdir(const char *base, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s.XXXXXX", base, name);
    return mkdtemp(out) ? 0 : -1;
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

void aw_bench_rmtree(const char *dir)
{
    if (dir[0])
        nftw(dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

char *aw_bench_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(size > 0 ? (size_t)size + 1 : 1);
    size_t n = buf ? fread(buf, 1, size > 0 ? (size_t)size : 0, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

int aw_bench_file_has(const char *path, const char *text)
{
    char *buf = aw_bench_slurp(path);
    int found = buf && strstr(buf, text) != NULL;
    free(buf);
    return found;
}

int aw_bench_wait_text(const char *path, const char *text, int ms)
{
    int64_t end = aw_bench_mono_ms() + ms;
    do {
        if (aw_bench_file_has(path, text))
            return 1;
        poll(NULL, 0, 20);
    } while (aw_bench_mono_ms() < end);
    return 0;
}

void aw_bench_tail(const char *path)
{
    char buf[2049];
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > 2048 ? size - 2048 : 0, SEEK_SET);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    fprintf(stderr, "---- %s (tail)\n%s\n----\n", path, buf);
}

void aw_bench_log_problems(const char *path)
{
    char line[1024];
    int shown = 0;
    FILE *f = fopen(path, "r");
    while (f && shown < 20 && fgets(line, sizeof line, f))
        if (strstr(line, " warn ") || strstr(line, " error ")) {
            fprintf(stderr, "  center log: %s", line);
            shown++;
        }
    if (f)
        fclose(f);
}

/* ------------------------------------------------------------ processes */

/* Replaces the remembered pid @p old (0 = a free place) with @p pid. */
static void s_track(pid_t pid, pid_t old)
{
    for (int i = 0; i < AW_BENCH_MAX_PIDS; i++)
        if (s_pids[i] == old) {
            s_pids[i] = pid;
            return;
        }
}

/* Signal handler: stop what we started (kill is async-signal-safe). */
static void s_on_signal(int sig)
{
    for (int i = 0; i < AW_BENCH_MAX_PIDS; i++)
        if (s_pids[i] > 0)
            kill(s_pids[i], SIGKILL);
    _exit(128 + sig);
}

void aw_bench_signals(void)
{
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    signal(SIGPIPE, SIG_IGN);
}

pid_t aw_bench_spawn(char *const argv[], int in_fd, int out_fd, const char *log)
{
    pid_t pid = fork();
    if (pid != 0) {
        if (pid > 0)
            s_track(pid, 0);
        return pid;
    }
    int ifd = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
    int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (ifd < 0 || lfd < 0)
        _exit(127);
    dup2(ifd, 0);
    dup2(out_fd >= 0 ? out_fd : lfd, 1);
    dup2(lfd, 2);
    execvp(argv[0], argv);
    _exit(127);
}

int aw_bench_reap(pid_t *pid, int term, int ms, double *cpu)
{
    int status = -1;
    struct rusage ru = {0};
    if (*pid <= 0)
        return -1;
    if (term)
        kill(*pid, SIGTERM);
    int64_t end = aw_bench_mono_ms() + ms;
    while (wait4(*pid, &status, WNOHANG, &ru) == 0) {
        if (aw_bench_mono_ms() > end) {
            kill(*pid, SIGKILL);
            wait4(*pid, &status, 0, &ru);
            status = -1;
            break;
        }
        poll(NULL, 0, 10);
    }
    if (cpu)
        *cpu += s_ru_seconds(&ru);
    s_track(0, *pid);
    *pid = 0;
    return status;
}

int aw_bench_wait_port(const char *host, int port, int ms)
{
    int64_t end = aw_bench_mono_ms() + ms;
    do {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        inet_pton(AF_INET, host, &a.sin_addr);
        int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        if (fd >= 0)
            close(fd);
        if (ok)
            return 1;
        poll(NULL, 0, 20);
    } while (aw_bench_mono_ms() < end);
    return 0;
}

double aw_bench_proc_cpu(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

uint64_t aw_bench_proc_kib(pid_t pid, const char *key)
{
    char path[64], line[256];
    uint64_t v = 0;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, strlen(key)) == 0)
            v = strtoull(line + strlen(key), NULL, 10);
    if (f)
        fclose(f);
    return v;
}

/* ------------------------------------------------------------ readings */

int aw_bench_reading_encode(const aw_bench_reading *r, uint8_t **buf, size_t *len)
{
    Anwang__Reading rd = ANWANG__READING__INIT;
    Anwang__Record rec = ANWANG__RECORD__INIT;
    rd.device = (char *)r->device;
    rd.metric = (char *)r->metric;
    rd.unit = (char *)r->unit;
    rd.has_value = true;
    rd.value = r->value;
    rd.time_ms = r->time_ms;
    rd.has_time_from_device = true;
    rd.time_from_device = true;
    rec.hlc = ((uint64_t)r->time_ms << 16) | r->logical;
    rec.body_case = ANWANG__RECORD__BODY_READING;
    rec.reading = &rd;
    return aw_codec_record_encode(&rec, buf, len, NULL, 0);
}

int aw_bench_down_ignore(void *arg, const Anwang__Down *down)
{
    (void)arg, (void)down;
    return AW_OK;
}

/* ------------------------------------------------------------ options */

/* Writes the path of anwang-center next to this program to @p out. */
static void s_default_center(char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, len, "%s/anwang-center", slash ? self : ".");
}

void aw_bench_opts_init(aw_bench_opts *o, const char *center_map)
{
    *o = (aw_bench_opts){.base = "/tmp", .center_map = center_map};
    s_default_center(o->center_bin, sizeof o->center_bin);
}

int aw_bench_opt(aw_bench_opts *o, int c, const char *arg)
{
    switch (c) {
    case 'd':
        o->base = arg;
        return 1;
    case 'C':
        snprintf(o->center_bin, sizeof o->center_bin, "%s", arg);
        return 1;
    case 'M':
        o->center_map = arg;
        return 1;
    case 'J':
        o->json = 1;
        return 1;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------ the center */

int aw_bench_center_files(aw_bench_center *c, const char *host, int port, unsigned map_max_gib)
{
    snprintf(c->conf, sizeof c->conf, "%s/center.conf", c->dir);
    snprintf(c->data, sizeof c->data, "%s/center-data", c->dir);
    snprintf(c->log, sizeof c->log, "%s/center.log", c->dir);
    snprintf(c->cert, sizeof c->cert, "%s/center.cert", c->dir);
    snprintf(c->allow, sizeof c->allow, "%s/edges.d", c->dir);
    snprintf(c->endpoint, sizeof c->endpoint, "tcp://%s:%d", host, port);
    c->map_max_gib = map_max_gib;
    if (port < 0 || mkdir(c->allow, 0700) != 0)
        return -1;
    zcert_t *cc = zcert_new();
    int rv = cc ? zcert_save(cc, c->cert) : -1;
    if (cc)
        snprintf(c->server_key, sizeof c->server_key, "%s", zcert_public_txt(cc));
    zcert_destroy(&cc);
    return rv == 0 ? 0 : -1;
}

int aw_bench_center_edge(const aw_bench_center *c, const char *id, const char *zone,
                         const char *path)
{
    char pub[PATH_MAX + 96];
    snprintf(pub, sizeof pub, "%s/%s.cert", c->allow, id);
    zcert_t *ec = zcert_new();
    if (!ec)
        return -1;
    zcert_set_meta(ec, "edge-id", "%s", id);
    if (zone)
        zcert_set_meta(ec, "zone", "%s", zone);
    int rv = zcert_save(ec, path) | zcert_save_public(ec, pub);
    zcert_destroy(&ec);
    return rv == 0 ? 0 : -1;
}

int aw_bench_center_conf(const aw_bench_center *c, const char *map_size, const char *extra)
{
    FILE *f = fopen(c->conf, "w");
    if (!f)
        return -1;
    fprintf(f,
            "[center]\nid = bench-county\ndata_dir = %s\n[store]\nmap_size = %s\n"
            "map_max = %uG\n[zmq]\nbind = %s\ncert = %s\nallow_dir = %s\n[log]\nlevel = info\n%s",
            c->data, map_size, c->map_max_gib, c->endpoint, c->cert, c->allow, extra ? extra : "");
    return fclose(f) == 0 ? 0 : -1;
}

int aw_bench_center_start(aw_bench_center *c, const char *bin, int ms)
{
    char *argv[] = {(char *)bin, "-c", c->conf, NULL};
    c->pid = aw_bench_spawn(argv, -1, -1, c->log);
    return c->pid > 0 && aw_bench_wait_text(c->log, "serving on", ms) ? 0 : -1;
}

uint64_t aw_bench_center_held(const aw_bench_center *c, const char *const *ids, unsigned n)
{
    aw_store_opts so = {
        .path = c->data, .map_size = 256 << 20, .map_max = (size_t)c->map_max_gib << 30};
    aw_store_t *store = NULL;
    aw_center_db_t *db = NULL;
    uint64_t sum = 0;
    if (aw_store_open(&so, &store) == AW_OK && aw_center_db_open(store, &db) == AW_OK)
        for (unsigned i = 0; i < n; i++) {
            aw_edge_status st = {0};
            if (aw_center_edge_status(db, ids[i], &st) == AW_OK)
                sum += st.records[AW_LANE_BULK];
        }
    aw_center_db_destroy(&db);
    aw_store_destroy(&store);
    return sum;
}
