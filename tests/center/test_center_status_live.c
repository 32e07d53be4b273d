/* `anwang center status` beside a RUNNING anwang-center: the CLI opens the
 * center's store read-only (aw_store_opts.read_only), so it answers while
 * the center applies an edge's stream, the center goes on undisturbed, and
 * the figures it prints are the center's own. Also: a writer holding the
 * store's write lock does not hold the CLI up (a read-write open would wait
 * for it), and an edge's data dir is refused as "not a center data
 * directory" without a byte of it changed (a read-write open used to
 * create the center's tables in it).
 *
 * Loopback 127.0.12.1-2, ports 17810-17811. Waits use deadlines and
 * polling; only processes started here are signalled, by their pid. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "store.h"
#include "test_center_harness.h"

#define S_CLI     AW_BIN_DIR "/anwang"
#define S_EDGE_ID "live-1"
#define S_ZONE    "yueyang/rongjiawan"
#define S_CLI_MS  20000 /* one CLI run ends within this, on a slow machine too */

static tc_center s_c;
static pid_t s_holder; /* the child holding the write lock, while it lives */

static void s_fini(void)
{
    if (s_holder > 0) {
        kill(s_holder, SIGKILL);
        waitpid(s_holder, NULL, 0);
        s_holder = 0;
    }
    tc_reap_all();
    if (s_c.dir[0])
        tc_cleanup(&s_c);
}

TestSuite(center_status_live, .fini = s_fini, .timeout = 240);

/* ------------------------------------------------------------ the CLI */

typedef struct s_out {
    int status; /* exit code; -1 when it did not end within the deadline */
    int64_t ms; /* how long it ran */
    char text[65536];
    size_t len;
} s_out;

/* Reads what @p fd has until EOF or @p end; false at the deadline. */
static bool s_drain(int fd, s_out *o, int64_t end)
{
    for (;;) {
        int64_t left = end - tc_mono();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        size_t room = sizeof o->text - 1 - o->len;
        ssize_t n = read(fd, o->text + o->len, room ? room : 1);
        if (n <= 0)
            return n == 0 || errno != EINTR;
        if (room)
            o->len += (size_t)n;
    }
}

/* Runs `anwang center status --data DIR ARGS...` with stdout and stderr
 * into @p o (stderr after stdout is not guaranteed: one pipe for both);
 * kills it after S_CLI_MS. */
static void s_cli(s_out *o, const char *dir, const char *arg1, const char *arg2)
{
    int p[2];
    memset(o, 0, sizeof *o);
    cr_assert_eq(pipe(p), 0);
    int64_t t0 = tc_mono();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        setenv("NO_COLOR", "1", 1);
        execl(S_CLI, S_CLI, "center", "status", "--data", dir, arg1, arg2, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    bool done = s_drain(p[0], o, t0 + S_CLI_MS);
    close(p[0]);
    int st = 0;
    if (!done)
        kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    o->ms = tc_mono() - t0;
    o->status = done && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    o->text[o->len] = '\0';
}

/* The one edge object of `--json EDGE` output (borrowed from *root). */
static json_t *s_cli_edge(const char *dir, json_t **root)
{
    s_out o;
    json_error_t err;
    s_cli(&o, dir, "--json", S_EDGE_ID);
    cr_assert_eq(o.status, 0, "anwang center status --json (%d after %" PRId64 " ms): %s", o.status,
                 o.ms, o.text);
    *root = json_loads(o.text, 0, &err);
    cr_assert_not_null(*root, "JSON: %s in %s", err.text, o.text);
    cr_assert(json_is_array(*root) && json_array_size(*root) == 1, "one edge: %s", o.text);
    json_t *e = json_array_get(*root, 0);
    cr_assert_str_eq(json_string_value(json_object_get(e, "edge")), S_EDGE_ID);
    return e;
}

static long long s_lane(json_t *e, const char *key, const char *lane)
{
    json_t *v = json_object_get(json_object_get(e, key), lane);
    cr_assert(json_is_integer(v), "%s.%s is a number", key, lane);
    return json_integer_value(v);
}

/* ------------------------------------------------------------ set-up */

static void s_start_center(int n, int port)
{
    tc_init(&s_c, n, port);
    snprintf(s_c.endpoint, sizeof s_c.endpoint, "tcp://127.0.12.%d:%d", n, port);
    tc_write_conf(&s_c);
}

static void s_run_center(void)
{
    size_t mark = tc_log_size(&s_c);
    tc_start(&s_c);
    cr_assert(tc_log_wait_from(&s_c, mark, "serving on", 15000), "the center starts (log %s)",
              s_c.log);
}

static uint64_t s_head(tc_edge *e, aw_lane lane)
{
    aw_lane_info li;
    cr_assert_eq(aw_store_lane_info(e->store, lane, &li), AW_OK);
    return li.head;
}

/* ------------------------------------------------------------ tests */

Test(center_status_live, json_status_while_the_center_applies_a_stream)
{
    char dir[192], epoch[17];
    tc_edge e;
    s_start_center(1, 17810);
    tc_path cert = tc_edge_cert(&s_c, S_EDGE_ID, S_EDGE_ID, S_ZONE, true);
    s_run_center();
    snprintf(dir, sizeof dir, "%s/edge", s_c.dir);
    tc_edge_start(&e, &s_c, dir, S_EDGE_ID, cert.path);
    snprintf(epoch, sizeof epoch, "%016" PRIx64, aw_store_epoch(e.store));
    tc_edge_fill(&e, AW_LANE_URGENT, 5);
    cr_assert(tc_edge_run(&e, 20000, tc_edge_all_acked), "the edge replicates (log %s)", s_c.log);

    /* the edge streams while the CLI reads, 20 rounds */
    long long last_applied = 0, slowest = 0;
    int rounds = 0, up_rounds = 0;
    for (; rounds < 20; rounds++) {
        tc_edge_fill(&e, AW_LANE_BULK, 500);
        tc_edge_run(&e, 100, NULL);
        json_t *root = NULL;
        int64_t t0 = tc_mono();
        json_t *j = s_cli_edge(s_c.data, &root);
        int64_t ms = tc_mono() - t0;
        slowest = ms > slowest ? ms : slowest;
        long long applied = s_lane(j, "applied", "bulk");
        cr_assert_geq(applied, last_applied, "applied never goes back (%lld < %lld)", applied,
                      last_applied);
        cr_assert_leq(applied, (long long)s_head(&e, AW_LANE_BULK), "applied ≤ what was stored");
        cr_assert_eq(s_lane(j, "applied", "urgent"), 5);
        up_rounds += strcmp(json_string_value(json_object_get(j, "state")), "up") == 0;
        last_applied = applied;
        json_decref(root);
    }
    cr_assert_eq(up_rounds, rounds, "the edge stays up while the CLI reads");
    cr_assert(tc_edge_run(&e, 30000, tc_edge_all_acked), "the center applied the whole stream");

    /* caught up: the CLI shows exactly what the center and the edge have */
    json_t *root = NULL;
    json_t *j = s_cli_edge(s_c.data, &root);
    uint64_t head[AW_LANE_COUNT] = {s_head(&e, AW_LANE_URGENT), s_head(&e, AW_LANE_BULK)};
    cr_assert_eq(head[AW_LANE_BULK], 20 * 500);
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        const char *ln = aw_lane_name((aw_lane)l);
        cr_assert_eq(s_lane(j, "applied", ln), (long long)head[l], "%s applied", ln);
        cr_assert_eq(s_lane(j, "head", ln), (long long)head[l], "%s head", ln);
        cr_assert_eq(s_lane(j, "backlog", ln), 0, "%s backlog", ln);
        cr_assert_eq(s_lane(j, "records", ln), (long long)head[l], "%s records", ln);
    }
    cr_assert_str_eq(json_string_value(json_object_get(j, "epoch")), epoch);
    cr_assert_str_eq(json_string_value(json_object_get(j, "zone")), S_ZONE);
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "up");
    cr_assert(json_is_true(json_object_get(j, "connected")));
    cr_assert(json_is_false(json_object_get(j, "skew_flag")), "no skew here");
    json_decref(root);

    /* the table form too, and an unknown edge */
    s_out o;
    s_cli(&o, s_c.data, S_EDGE_ID, NULL);
    cr_assert_eq(o.status, 0, "table: %s", o.text);
    cr_assert_not_null(strstr(o.text, S_EDGE_ID), "%s", o.text);
    cr_assert_not_null(strstr(o.text, "1 edge: 1 up"), "%s", o.text);
    s_cli(&o, s_c.data, "--json", "never-seen");
    cr_assert_eq(o.status, 65, "an unknown edge (%d): %s", o.status, o.text);

    /* the center was not disturbed: still serving, more records applied,
     * and a clean stop */
    tc_edge_fill(&e, AW_LANE_BULK, 100);
    cr_assert(tc_edge_run(&e, 20000, tc_edge_all_acked), "the center applies after the CLI runs");
    tc_edge_stop(&e);
    int st = tc_stop(&s_c, 10000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM stops the center cleanly");
    cr_assert_eq(tc_center_applied_count(&s_c, S_EDGE_ID, AW_LANE_BULK), 20 * 500 + 100);
    cr_log_info("status live: %d CLI runs during a %d-record stream (slowest %lld ms), "
                "figures equal to the center's at the end",
                rounds, 20 * 500, slowest);
}

/* The child: opens the center's store read-write, begins a write transaction
 * and keeps it (the store's write lock) until killed; one byte on @p fd
 * once it holds it. */
static void s_hold_write_lock(const char *data, int fd)
{
    aw_store_opts so = {.path = data, .map_size = 64 << 20, .map_max = 1 << 30};
    aw_store_t *st = NULL;
    aw_txn_t *txn = NULL;
    if (aw_store_open(&so, &st) != AW_OK || aw_store_begin(st, &txn) != AW_OK)
        _exit(2);
    if (write(fd, "L", 1) != 1)
        _exit(3);
    for (;;)
        pause();
}

Test(center_status_live, a_writer_holding_the_lock_does_not_hold_status_up)
{
    char dir[192];
    tc_edge e;
    s_start_center(2, 17811);
    tc_path cert = tc_edge_cert(&s_c, S_EDGE_ID, S_EDGE_ID, S_ZONE, true);
    s_run_center();
    snprintf(dir, sizeof dir, "%s/edge", s_c.dir);
    tc_edge_start(&e, &s_c, dir, S_EDGE_ID, cert.path);
    tc_edge_fill(&e, AW_LANE_BULK, 300);
    cr_assert(tc_edge_run(&e, 20000, tc_edge_all_acked), "the edge replicates (log %s)", s_c.log);
    tc_edge_stop(&e);
    int st = tc_stop(&s_c, 10000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    int p[2];
    char b;
    cr_assert_eq(pipe(p), 0);
    s_holder = fork();
    cr_assert_geq(s_holder, 0);
    if (s_holder == 0) {
        close(p[0]);
        s_hold_write_lock(s_c.data, p[1]);
    }
    close(p[1]);
    cr_assert_eq(read(p[0], &b, 1), 1, "the holder has the write lock");
    close(p[0]);
    json_t *root = NULL;
    int64_t t0 = tc_mono();
    json_t *j = s_cli_edge(s_c.data, &root);
    int64_t ms = tc_mono() - t0;
    cr_assert_eq(s_lane(j, "applied", "bulk"), 300);
    json_decref(root);
    kill(s_holder, SIGKILL);
    waitpid(s_holder, NULL, 0);
    s_holder = 0;
    cr_log_info("status with the write lock held elsewhere: %" PRId64 " ms", ms);
}

/* The whole content of @p path (caller frees). */
static char *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(*len + 1);
    cr_assert_eq(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

Test(center_status_live, an_edge_data_dir_is_not_a_center_and_stays_unchanged)
{
    char dir[] = "/tmp/aw_status_edge.XXXXXX", data[64];
    cr_assert_not_null(mkdtemp(dir));
    aw_store_opts so = {.path = dir, .map_size = 4 << 20};
    aw_store_t *st = NULL;
    uint64_t first;
    const void *rec = "\xff-a-record";
    size_t len = 10, l0, l1;
    cr_assert_eq(aw_store_open(&so, &st), AW_OK);
    cr_assert_eq(aw_store_append(st, AW_LANE_BULK, &rec, &len, 1, 1, &first), AW_OK);
    aw_store_destroy(&st);
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    char *before = s_slurp(data, &l0);

    s_out o;
    s_cli(&o, dir, "--json", NULL);
    cr_assert_eq(o.status, 66, "exit 66 (%d): %s", o.status, o.text);
    cr_assert_not_null(strstr(o.text, "not a center data directory"), "%s", o.text);
    char *after = s_slurp(data, &l1);
    cr_assert(l1 == l0 && memcmp(before, after, l0) == 0, "the edge's store is unchanged");
    so.read_only = true;
    aw_table_t t;
    cr_assert_eq(aw_store_open(&so, &st), AW_OK);
    cr_assert_eq(aw_store_table(st, "applied", &t), AW_ENOTFOUND, "no center table made");
    aw_store_destroy(&st);
    free(before);
    free(after);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
