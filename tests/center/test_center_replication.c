/* anwang-center end to end: a real edge (store + uplink + transport)
 * replicates to the real daemon; kill -9 of the center and restarts. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "log.h"
#include "test_center_harness.h"

static void s_setup(void)
{
    aw_log_init("test_center_replication", AW_LOG_ERROR);
}

TestSuite(center_replication, .init = s_setup, .fini = tc_reap_all, .timeout = 240);

static void s_edge_dir(const tc_center *c, char *dir, size_t len)
{
    snprintf(dir, len, "%s/edge", c->dir);
}

Test(center_replication, hello_welcome_batch_ack_end_to_end)
{
    tc_center c;
    tc_edge e;
    char dir[128];
    tc_init(&c, 1, 17701);
    tc_path cert_file =
        tc_edge_cert(&c, "rongjiawan-1", "rongjiawan-1", "yueyang/rongjiawan", true);
    const char *cert = cert_file.path;
    tc_start(&c);
    cr_assert(tc_log_wait(&c, "serving on", 10000), "the center starts");
    s_edge_dir(&c, dir, sizeof dir);
    tc_edge_start(&e, &c, dir, "rongjiawan-1", cert);
    tc_edge_fill(&e, AW_LANE_URGENT, 5);
    tc_edge_fill(&e, AW_LANE_BULK, 20000);
    cr_assert(tc_edge_run(&e, 30000, tc_edge_all_acked), "everything acked");
    cr_assert(tc_log_wait(&c, "edge rongjiawan-1: up, epoch", 1000));
    /* more records while up */
    tc_edge_fill(&e, AW_LANE_URGENT, 1);
    tc_edge_fill(&e, AW_LANE_BULK, 999);
    cr_assert(tc_edge_run(&e, 10000, tc_edge_all_acked));
    int status = tc_stop(&c, 10000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGTERM stops cleanly");
    cr_assert(tc_log_wait(&c, "SIGTERM: shutting down", 100));
    uint64_t epoch = aw_store_epoch(e.store);
    cr_assert_eq(tc_center_records(&c, "rongjiawan-1", epoch, AW_LANE_URGENT, e.store), 6);
    cr_assert_eq(tc_center_records(&c, "rongjiawan-1", epoch, AW_LANE_BULK, e.store), 20999);
    cr_assert_eq(tc_center_applied_count(&c, "rongjiawan-1", AW_LANE_BULK), 20999);
    tc_edge_stop(&e);
    tc_cleanup(&c);
}

/* Kill -9 the center at random moments while the edge keeps storing; after
 * the last restart every record is at the center exactly once. */
Test(center_replication, kill9_of_the_center_and_restart_loses_and_duplicates_nothing)
{
    tc_center c;
    tc_edge e;
    char dir[128];
    /* AW_CENTER_KILL_CYCLES=N runs the long form (default 8 for the test command). */
    const char *env = getenv("AW_CENTER_KILL_CYCLES");
    const int cycles = env ? (int)strtol(env, NULL, 10) : 8;
    tc_init(&c, 2, 17702);
    tc_path cert_file = tc_edge_cert(&c, "edge-k", "edge-k", NULL, true);
    const char *cert = cert_file.path;
    tc_start(&c);
    cr_assert(tc_log_wait(&c, "serving on", 10000));
    s_edge_dir(&c, dir, sizeof dir);
    tc_edge_start(&e, &c, dir, "edge-k", cert);
    srand(42);
    uint64_t urgent = 0, bulk = 0;
    for (int i = 0; i < cycles; i++) {
        int64_t end = tc_mono() + 200 + rand() % 600;
        while (tc_mono() < end) {
            tc_edge_fill(&e, AW_LANE_BULK, 500), bulk += 500;
            if (rand() % 4 == 0)
                tc_edge_fill(&e, AW_LANE_URGENT, 1), urgent++;
            tc_edge_run(&e, 20, NULL);
        }
        tc_kill(&c);
        tc_edge_fill(&e, AW_LANE_BULK, 300), bulk += 300;
        tc_edge_run(&e, rand() % 300, NULL);
        tc_start(&c);
    }
    cr_assert(tc_edge_run(&e, 60000, tc_edge_all_acked), "the edge catches up");
    cr_assert_eq(WEXITSTATUS(tc_stop(&c, 10000)), 0);
    uint64_t epoch = aw_store_epoch(e.store);
    cr_assert_eq(tc_center_records(&c, "edge-k", epoch, AW_LANE_URGENT, e.store), urgent);
    cr_assert_eq(tc_center_records(&c, "edge-k", epoch, AW_LANE_BULK, e.store), bulk);
    cr_assert_eq(tc_center_applied_count(&c, "edge-k", AW_LANE_URGENT), urgent,
                 "each urgent record applied once");
    cr_assert_eq(tc_center_applied_count(&c, "edge-k", AW_LANE_BULK), bulk,
                 "each bulk record applied once");
    cr_log_info("kill -9: %d cycles, %" PRIu64 " urgent + %" PRIu64 " bulk records, 0 lost, 0 "
                "duplicated",
                cycles, urgent, bulk);
    tc_edge_stop(&e);
    tc_cleanup(&c);
}

/* AW_CENTER_BENCH=N: N bulk readings pre-filled at the edge, drained into the
 * real daemon (CURVE, fsync at the center); prints records/s. Does nothing
 * otherwise (the figure is only meaningful in a build without sanitizers).
 * No per-test .timeout: Criterion 2.4.1 leaks it, which fails under ASan;
 * the suite's 240 s hold. */
Test(center_replication, bench_drain_a_backlog)
{
    const char *env = getenv("AW_CENTER_BENCH");
    if (!env)
        return;
    size_t n = (size_t)strtoull(env, NULL, 10);
    tc_center c;
    tc_edge e;
    char dir[128];
    tc_init(&c, 7, 17707);
    tc_path cert = tc_edge_cert(&c, "edge-bench", "edge-bench", NULL, true);
    tc_start(&c);
    cr_assert(tc_log_wait(&c, "serving on", 10000));
    s_edge_dir(&c, dir, sizeof dir);
    tc_edge_start(&e, &c, dir, "edge-bench", cert.path);
    for (size_t done = 0; done < n; done += 10000)
        tc_edge_fill(&e, AW_LANE_BULK, n - done < 10000 ? n - done : 10000);
    int64_t t0 = tc_mono();
    cr_assert(tc_edge_run(&e, 500000, tc_edge_all_acked));
    int64_t ms = tc_mono() - t0;
    cr_log_info("bench: %zu readings drained edge -> anwang-center in %" PRId64
                " ms: %.0f records/s",
                n, ms, ms > 0 ? (double)n * 1000.0 / (double)ms : 0.0);
    cr_assert_eq(WEXITSTATUS(tc_stop(&c, 10000)), 0);
    cr_assert_eq(tc_center_applied_count(&c, "edge-bench", AW_LANE_BULK), n);
    tc_edge_stop(&e);
    tc_cleanup(&c);
}
