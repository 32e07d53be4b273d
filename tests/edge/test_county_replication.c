/* A county on loopback (issue 4, "Integration"): the real anwang-center and
 * three real anwang-edge daemons, one per zone, fed by one anwang-devsim
 * (--edge ZONE=URI per zone, --acked-log). Once devsim is done and every
 * uplink shows backlog 0, all daemons stop cleanly and for each edge the set
 * of (epoch, lane, seq) + bytes of its log equals the center's `records` of
 * that edge exactly (0 missing, 0 extra), the center counted each applied
 * once, and every acknowledged reading is a Reading record at the center.
 *
 * The second test SIGKILLs one edge (round robin) and the center alternately
 * at random moments under devsim load, AW_COUNTY_KILLS times (default 20;
 * deploy/fault-campaign.sh may ask for 200), restarting each, then checks
 * the same.
 *
 * Loopback: edges 127.0.14.1-3, the center 127.0.14.10; ports drawn from the
 * pid. Waits use deadlines and polling; only processes started here are
 * signalled, by their pid. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <inttypes.h>
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

#include "codec.h"
#include "db.h"
#include "store.h"
#include "test_center_harness.h"
/* <netinet/tcp.h> (through czmq.h) has its own TH_ACK and TH_RST. */
#undef TH_ACK
#undef TH_RST
#include "edge_harness.h"

#define DEVSIM_BIN   AW_BIN_DIR "/anwang-devsim"
#define NEDGES       3
#define READY_MS     30000 /* a daemon serves within this */
#define CATCHUP_MS   45000 /* every uplink reaches backlog 0 within this */
#define STOP_MS      20000 /* devsim drains and exits within this */
#define KILLS        20
#define NAME_MAX_LEN 128

static const char *const s_ids[NEDGES] = {"county-a-1", "county-b-1", "county-c-1"};
static const char *const s_zones[NEDGES] = {"yueyang/zone-a", "yueyang/zone-b", "yueyang/zone-c"};

static tc_center s_c;
static th_edge s_e[NEDGES];
static pid_t s_sim; /* devsim while it runs, else 0 */
static int s_sim_status;
static char s_registry[192], s_acked[192], s_summary[192], s_simlog[192];

static int64_t s_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void s_fini(void)
{
    if (s_sim > 0) {
        kill(s_sim, SIGKILL);
        waitpid(s_sim, NULL, 0);
        s_sim = 0;
    }
    for (int i = 0; i < NEDGES; i++) {
        if (s_e[i].pid > 0)
            th_edge_kill(&s_e[i]);
    }
    tc_reap_all();
    if (getenv("AW_COUNTY_KEEP"))
        return; /* debugging: leave the temp dirs */
    for (int i = 0; i < NEDGES; i++)
        if (s_e[i].dir[0])
            th_edge_cleanup(&s_e[i]);
    if (s_c.dir[0])
        tc_cleanup(&s_c);
}

/* ------------------------------------------------------------ files */

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fputs(text, f) >= 0, true);
    cr_assert_eq(fclose(f), 0);
}

/* Three zones, each one village, one site and two sensors (three metrics). */
static void s_write_registry(void)
{
    char text[8192];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n,
                          "{\"county\": \"yueyang\", \"name\": \"county test\", \"version\": 1,\n"
                          " \"zones\": [\n");
    for (int i = 0; i < NEDGES; i++) {
        char z = (char)('a' + i);
        n += (size_t)snprintf(
            text + n, sizeof text - n,
            "  {\"path\": \"yueyang/zone-%c\", \"name\": \"zone %c\", \"kind\": \"township\",\n"
            "   \"villages\": [{\"path\": \"yueyang/zone-%c/v1\", \"name\": \"v1\", \"sites\": [\n"
            "    {\"path\": \"yueyang/zone-%c/v1/plant\", \"name\": \"plant\",\n"
            "     \"sector\": \"hazardous-chemicals\", \"risk\": \"yellow\", \"devices\": [\n"
            "      {\"id\": \"gas-%c1\", \"kind\": \"sensor\", \"interval_s\": 10, \"metrics\": [\n"
            "        {\"name\": \"h2s\", \"unit\": \"ppm\"}, {\"name\": \"temperature\", \"unit\": "
            "\"Cel\"}]},\n"
            "      {\"id\": \"tank-%c1\", \"kind\": \"sensor\", \"interval_s\": 10, \"metrics\": "
            "[\n"
            "        {\"name\": \"tank-level\", \"unit\": \"m\"}]}]}]}]}%s\n",
            z, z, z, z, z, z, i + 1 < NEDGES ? "," : "");
    }
    snprintf(text + n, sizeof text - n, " ]}\n");
    s_write(s_registry, text);
}

/* th_edge_write_conf with this edge's id and zone, and the uplink to the center. */
static void s_edge_conf(int i, const tc_path *cert)
{
    th_edge *e = &s_e[i];
    char text[4096];
    snprintf(text, sizeof text,
             "[edge]\nid = %s\nzone = %s\ndata_dir = %s\n"
             "[store]\nmap_size = 256M\nmax_bytes = 128M\ndurability = fsync\n"
             "[coap]\nbind = %s\nport = %d\nplain = yes\ndtls = no\ndtls_port = %d\n"
             "psk_file = \nmax_payload = 4K\n[log]\nlevel = info\n"
             "[uplink]\ncenter = %s\ncert = %s_secret\ncenter_key = %s\nheartbeat = 1s\n"
             "dead_after = 3s\nbatch_records = 100\n",
             s_ids[i], s_zones[i], e->data, e->addr, e->port, e->dtls_port, s_c.endpoint,
             cert->path, s_c.server_key);
    s_write(e->conf, text);
}

/* ------------------------------------------------------------ daemons */

static bool s_edge_ready(th_edge *e, int timeout_ms)
{
    int64_t deadline = s_ms() + timeout_ms;
    th_resp *r = malloc(sizeof *r);
    bool ok = false;
    while (r && !ok && s_ms() < deadline) {
        if (waitpid(e->pid, NULL, WNOHANG) == e->pid) {
            e->pid = 0;
            break;
        }
        ok = th_coap(e->addr, e->port, TH_GET, "status", -1, NULL, 0, NULL, 0, r, 100) == 0 &&
             r->code == 205;
    }
    free(r);
    return ok;
}

static void s_start_edge(int i, const char *registry)
{
    th_edge_start(&s_e[i], registry);
    cr_assert(s_edge_ready(&s_e[i], READY_MS), "edge %d serves; see %s", i, s_e[i].log);
}

static void s_start_center(void)
{
    size_t mark = tc_log_size(&s_c);
    tc_start(&s_c);
    cr_assert(tc_log_wait_from(&s_c, mark, "serving on", READY_MS), "see %s", s_c.log);
}

static bool s_up(int i)
{
    json_t *st = th_status(&s_e[i]);
    const char *state =
        st ? json_string_value(json_object_get(json_object_get(st, "uplink"), "state")) : NULL;
    bool up = state && strcmp(state, "up") == 0;
    json_decref(st);
    return up;
}

/* Uplink up and backlog 0 in both lanes, from ONE /status answer (three
 * separate GETs could mix moments, and any one may time out on a busy box). */
static bool s_caught_up(int i)
{
    json_t *st = th_status(&s_e[i]);
    json_t *up = st ? json_object_get(st, "uplink") : NULL;
    json_t *bl = st ? json_object_get(st, "backlog") : NULL;
    const char *state = json_string_value(json_object_get(up, "state"));
    json_t *u = json_object_get(bl, "urgent"), *b = json_object_get(bl, "bulk");
    bool ok = state && strcmp(state, "up") == 0 && json_is_integer(u) && json_is_integer(b) &&
              json_integer_value(u) == 0 && json_integer_value(b) == 0;
    json_decref(st);
    return ok;
}

static void s_wait_all_caught_up(void)
{
    int64_t deadline = s_ms() + CATCHUP_MS;
    for (int i = 0; i < NEDGES; i++) {
        bool ok = false;
        while (!(ok = s_caught_up(i)) && s_ms() < deadline)
            s_nap(50);
        cr_assert(ok, "edge %s caught up (backlog 0); see %s and %s", s_ids[i], s_e[i].log,
                  s_c.log);
    }
}

/* The center and the three edges, each edge's first life with the registry. */
static void s_county_up(void)
{
    int p = (int)(getpid() % 20000);
    tc_init(&s_c, 1, 7744);
    snprintf(s_c.endpoint, sizeof s_c.endpoint, "tcp://127.0.14.10:%d", 20000 + p);
    tc_write_conf(&s_c);
    snprintf(s_registry, sizeof s_registry, "%s/registry.json", s_c.dir);
    snprintf(s_acked, sizeof s_acked, "%s/acked.log", s_c.dir);
    snprintf(s_summary, sizeof s_summary, "%s/devsim.json", s_c.dir);
    snprintf(s_simlog, sizeof s_simlog, "%s/devsim.log", s_c.dir);
    s_write_registry();
    /* the allow-list is complete before the center starts */
    tc_path certs[NEDGES];
    for (int i = 0; i < NEDGES; i++)
        certs[i] = tc_edge_cert(&s_c, s_ids[i], s_ids[i], s_zones[i], true);
    s_start_center();
    for (int i = 0; i < NEDGES; i++) {
        th_edge_init(&s_e[i], 1);
        snprintf(s_e[i].addr, sizeof s_e[i].addr, "127.0.14.%d", i + 1);
        s_e[i].port = 40000 + p;
        s_e[i].dtls_port = 40000 + (p + 1) % 20000;
        s_edge_conf(i, &certs[i]);
        s_start_edge(i, s_registry);
    }
    int64_t deadline = s_ms() + 20000;
    for (int i = 0; i < NEDGES; i++) {
        bool up = false;
        while (!(up = s_up(i)) && s_ms() < deadline)
            s_nap(50);
        cr_assert(up, "uplink of %s up; see %s and %s", s_ids[i], s_e[i].log, s_c.log);
    }
}

/* ------------------------------------------------------------ devsim */

static pid_t s_devsim_start(const char *rate, const char *duration)
{
    char routes[NEDGES][128];
    for (int i = 0; i < NEDGES; i++)
        snprintf(routes[i], sizeof routes[i], "%s=coap://%s:%d", s_zones[i], s_e[i].addr,
                 s_e[i].port);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fo = open(s_summary, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fl = open(s_simlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fo < 0 || fl < 0 || dup2(fo, 1) < 0 || dup2(fl, 2) < 0)
        _exit(127);
    execl(DEVSIM_BIN, DEVSIM_BIN, "--registry", s_registry, "--edge", routes[0], "--edge",
          routes[1], "--edge", routes[2], "--rate", rate, "--inflight", "8", "--ack-timeout", "1s",
          "--acked-log", s_acked, "--duration", duration, "--drain", "5s", "--json", "--seed", "11",
          (char *)NULL);
    _exit(127);
}

static bool s_devsim_alive(void)
{
    if (s_sim > 0 && waitpid(s_sim, &s_sim_status, WNOHANG) == s_sim)
        s_sim = 0;
    return s_sim > 0;
}

/* Waits up to @p ms for devsim to exit (SIGTERM first when @p term);
 * returns the wait status, or -1 when it had to be killed. */
static int s_devsim_wait(bool term, int ms)
{
    if (term && s_devsim_alive())
        kill(s_sim, SIGTERM);
    int64_t deadline = s_ms() + ms;
    while (s_devsim_alive()) {
        if (s_ms() > deadline) {
            kill(s_sim, SIGKILL);
            waitpid(s_sim, NULL, 0);
            s_sim = 0;
            return -1;
        }
        s_nap(20);
    }
    return s_sim_status;
}

static off_t s_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

static bool s_grows(off_t from, int timeout_ms)
{
    int64_t deadline = s_ms() + timeout_ms;
    while (s_size(s_acked) <= from) {
        if (s_ms() > deadline || !s_devsim_alive())
            return false;
        s_nap(10);
    }
    return true;
}

static long long s_summary_acked(void)
{
    json_t *j = json_load_file(s_summary, 0, NULL);
    long long n = -1;
    json_t *v = json_object_get(json_object_get(j, "readings"), "acked");
    if (json_is_integer(v))
        n = json_integer_value(v);
    json_decref(j);
    return n;
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

static size_t s_sort(s_list *l)
{
    size_t dups = 0;
    if (l->n)
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

static size_t s_read_acked(s_list *l)
{
    FILE *f = fopen(s_acked, "r");
    char line[512];
    size_t bad = 0;
    cr_assert_not_null(f, "acked log %s", s_acked);
    while (fgets(line, sizeof line, f))
        bad += !s_parse_line(line, l);
    fclose(f);
    return bad;
}

/* ------------------------------------------------------------ the comparison */

typedef struct s_figures {
    uint64_t records[NEDGES][AW_LANE_COUNT]; /* edge log heads */
    uint64_t missing, extra, differ, dups;   /* over all edges */
    size_t acked, acked_missing, readings_twice;
} s_figures;

typedef struct s_scan {
    const char *edge;
    size_t elen;
    uint64_t epoch;
    aw_store_t *es;
    uint64_t head[AW_LANE_COUNT];
    uint64_t matched[AW_LANE_COUNT];
    uint64_t extra, differ;
    s_list *readings; /* Reading records at the center */
} s_scan;

typedef struct s_one {
    const void *val;
    size_t vlen;
    bool same;
} s_one;

static int s_one_cb(void *arg, uint64_t seq, const void *rec, size_t len)
{
    (void)seq;
    s_one *o = arg;
    o->same = len == o->vlen && memcmp(rec, o->val, len) == 0;
    return 1;
}

/* One center record of the edge: key edge\0 epoch(8) lane(1) seq(8). */
static int s_scan_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_scan *s = arg;
    const uint8_t *k = key;
    if (klen != s->elen + 1 + 8 + 1 + 8) {
        s->extra++;
        return 0;
    }
    uint64_t epoch = aw_get_be64(k + s->elen + 1);
    unsigned lane = k[s->elen + 9];
    uint64_t seq = aw_get_be64(k + s->elen + 10);
    if (epoch != s->epoch || lane >= AW_LANE_COUNT || seq < 1 || seq > s->head[lane]) {
        if (s->extra++ < 5)
            cr_log_error("%s: extra record at the center: epoch %016" PRIx64
                         " lane %u seq %" PRIu64,
                         s->edge, epoch, lane, seq);
        return 0;
    }
    s_one o = {val, vlen, false};
    cr_assert_eq(aw_store_read(s->es, (aw_lane)lane, seq, 1, 0, s_one_cb, &o), AW_OK);
    if (!o.same) {
        if (s->differ++ < 5)
            cr_log_error("%s: lane %u seq %" PRIu64 " differs from the edge's", s->edge, lane, seq);
        return 0;
    }
    s->matched[lane]++;
    Anwang__Record *r = NULL;
    cr_assert_eq(aw_codec_record_decode(val, vlen, NULL, &r, NULL, 0), AW_OK,
                 "center record decodes");
    if (r->body_case == ANWANG__RECORD__BODY_READING && r->reading->has_value) {
        char name[NAME_MAX_LEN];
        snprintf(name, sizeof name, "%s/%s", r->reading->device, r->reading->metric);
        s_push(s->readings, name, r->reading->time_ms, r->reading->value);
    }
    aw_codec_record_free(&r);
    return 0;
}

/* Every daemon stopped: each edge's log equals the center's records of it. */
static void s_compare(s_figures *f)
{
    aw_store_opts co = {
        .path = s_c.data, .map_size = 64u << 20, .map_max = 1u << 30, .max_tables = 64};
    aw_store_t *cs = NULL;
    aw_center_db_t *db = NULL;
    cr_assert_eq(aw_store_open(&co, &cs), AW_OK);
    cr_assert_eq(aw_center_db_open(cs, &db), AW_OK);
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin_read(cs, &txn), AW_OK);
    s_list readings = {0};
    for (int i = 0; i < NEDGES; i++) {
        aw_store_opts eo = {.path = s_e[i].data, .map_size = 256u << 20};
        aw_store_t *es = NULL;
        cr_assert_eq(aw_store_open(&eo, &es), AW_OK);
        aw_center_edge_row row;
        cr_assert_eq(aw_center_edge_row_get(txn, db, s_ids[i], &row), AW_OK, "%s known", s_ids[i]);
        s_scan s = {.edge = s_ids[i],
                    .elen = strlen(s_ids[i]),
                    .epoch = aw_store_epoch(es),
                    .es = es,
                    .readings = &readings};
        cr_assert_eq(row.epoch, s.epoch, "the center knows %s's epoch", s_ids[i]);
        for (int l = 0; l < AW_LANE_COUNT; l++) {
            aw_lane_info info;
            aw_store_lane_info(es, (aw_lane)l, &info);
            cr_assert_eq(info.first <= 1, true, "%s: nothing pruned at the edge", s_ids[i]);
            s.head[l] = info.head;
        }
        /* the prefix edge\0: every epoch and lane of this edge */
        cr_assert_eq(aw_txn_scan(txn, aw_center_db_table(db, AW_CT_RECORDS), s_ids[i], s.elen + 1,
                                 NULL, 0, s_scan_cb, &s),
                     AW_OK);
        for (int l = 0; l < AW_LANE_COUNT; l++) {
            f->records[i][l] = s.head[l];
            f->missing += s.head[l] - s.matched[l];
            if (row.records[l] > s.head[l])
                f->dups += row.records[l] - s.head[l];
            cr_log_info("county: %s %s: %" PRIu64 " in the edge log, %" PRIu64
                        " equal at the center, center applied %" PRIu64,
                        s_ids[i], aw_lane_name((aw_lane)l), s.head[l], s.matched[l],
                        row.records[l]);
            cr_expect_eq(s.matched[l], s.head[l], "%s %s: %" PRIu64 " missing at the center",
                         s_ids[i], aw_lane_name((aw_lane)l), s.head[l] - s.matched[l]);
            cr_expect_eq(row.records[l], s.head[l],
                         "%s %s: the center applied %" PRIu64 " for %" PRIu64 " stored", s_ids[i],
                         aw_lane_name((aw_lane)l), row.records[l], s.head[l]);
        }
        f->extra += s.extra;
        f->differ += s.differ;
        aw_store_destroy(&es);
    }
    aw_txn_abort(&txn);
    aw_center_db_destroy(&db);
    aw_store_destroy(&cs);

    s_list acked = {0};
    size_t bad = s_read_acked(&acked);
    size_t acked_dups = s_sort(&acked);
    f->readings_twice = s_sort(&readings);
    f->acked = acked.n;
    for (size_t i = 0; i < acked.n; i++) {
        if (bsearch(&acked.v[i], readings.v, readings.n, sizeof *readings.v, s_cmp))
            continue;
        if (f->acked_missing++ < 5)
            cr_log_error("acked but not at the center: %s %lld %.17g", acked.v[i].name,
                         (long long)acked.v[i].time_ms, acked.v[i].value);
    }
    long long sum_acked = s_summary_acked();
    free(acked.v);
    free(readings.v);
    cr_assert_eq(bad, 0, "%zu malformed lines in the acked log", bad);
    cr_assert_eq(acked_dups, 0, "devsim logs each reading once");
    cr_assert_eq((long long)f->acked, sum_acked, "the acked log holds every 2.04 of the summary");
}

static void s_verdict(const s_figures *f, int kills, int64_t t0)
{
    uint64_t total = 0;
    char per[256];
    size_t n = 0;
    for (int i = 0; i < NEDGES; i++) {
        uint64_t r = 0;
        for (int l = 0; l < AW_LANE_COUNT; l++)
            r += f->records[i][l];
        total += r;
        n += (size_t)snprintf(per + n, sizeof per - n, "%s%s %" PRIu64, i ? ", " : "", s_ids[i], r);
    }
    cr_log_info("county: %d kills; records per edge: %s (%" PRIu64 " in all); %zu acked "
                "readings, %zu not at the center; lost %" PRIu64 ", extra %" PRIu64
                ", differing %" PRIu64 ", duplicated %" PRIu64
                "; readings the edges stored twice %zu; %.1f s",
                kills, per, total, f->acked, f->acked_missing, f->missing, f->extra, f->differ,
                f->dups, f->readings_twice, (double)(s_ms() - t0) / 1000);
    cr_assert_eq(f->missing, 0, "records lost between the edges and the center");
    cr_assert_eq(f->extra, 0, "records at the center that no edge log has");
    cr_assert_eq(f->differ, 0, "records that differ from the edge's bytes");
    cr_assert_eq(f->dups, 0, "records applied more than once");
    cr_assert_eq(f->acked_missing, 0, "acknowledged readings missing at the center");
    cr_assert_gt(f->acked, 0, "devsim got acknowledgements");
    for (int i = 0; i < NEDGES; i++)
        cr_assert_gt(f->records[i][AW_LANE_BULK], 0, "%s stored readings", s_ids[i]);
}

/* devsim done: uplinks drain, everything stops cleanly, then the comparison. */
static void s_finish(int kills, int64_t t0)
{
    s_wait_all_caught_up();
    for (int i = 0; i < NEDGES; i++)
        cr_assert_eq(th_edge_stop(&s_e[i], 10000), 0, "clean stop; see %s", s_e[i].log);
    cr_assert_eq(tc_stop(&s_c, 10000), 0, "clean stop; see %s", s_c.log);
    s_figures f = {0};
    s_compare(&f);
    s_verdict(&f, kills, t0);
}

/* ------------------------------------------------------------ tests */

TestSuite(county_replication, .fini = s_fini, .timeout = 1800);

Test(county_replication, three_edges_replicate_every_acked_reading_exactly_once)
{
    int64_t t0 = s_ms();
    s_county_up();
    s_sim = s_devsim_start("300", "8s");
    cr_assert_gt(s_sim, 0, "fork");
    int status = s_devsim_wait(false, 8000 + STOP_MS);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "devsim exits 0 (%d); see %s", status,
              s_simlog);
    s_finish(0, t0);
}

static int s_rounds(void)
{
    const char *env = getenv("AW_COUNTY_KILLS");
    char *end;
    long n = env ? strtol(env, &end, 10) : KILLS;
    return env && (*end != '\0' || n < 1 || n > 10000) ? KILLS : (int)n;
}

Test(county_replication, alternating_kill_9_of_edges_and_center_under_load)
{
    int64_t t0 = s_ms();
    int rounds = s_rounds();
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    cr_log_info("county: %d kills wanted, seed %u", rounds, seed);
    s_county_up();
    s_sim = s_devsim_start("max", "3600s");
    cr_assert_gt(s_sim, 0, "fork");
    cr_assert(s_grows(0, 15000), "devsim gets 2.04s; see %s", s_simlog);

    int kills = 0, edge_kills = 0, center_kills = 0;
    int64_t slowest = 0;
    while (kills < rounds) {
        cr_assert(s_devsim_alive(), "devsim exited during the kill loop; see %s", s_simlog);
        s_grows(s_size(s_acked), 2000); /* load reaches the county again; bounded */
        s_nap(50 + (int)(rand_r(&seed) % 451));
        int64_t t = s_ms();
        if (kills % 2 == 0) {
            int i = (edge_kills++) % NEDGES;
            th_edge_kill(&s_e[i]);
            s_start_edge(i, NULL);
        } else {
            center_kills++;
            tc_kill(&s_c);
            s_start_center();
        }
        kills++;
        if (s_ms() - t > slowest)
            slowest = s_ms() - t;
    }
    cr_log_info("county: %d kills (%d of edges, %d of the center), slowest restart %lld ms", kills,
                edge_kills, center_kills, (long long)slowest);
    cr_assert(s_grows(s_size(s_acked), 15000), "devsim resumes after the last restart");
    int status = s_devsim_wait(true, STOP_MS);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "devsim exits 0 (%d); see %s", status,
              s_simlog);
    s_finish(kills, t0);
}
