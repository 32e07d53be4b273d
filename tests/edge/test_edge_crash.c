/* kill -9 test of anwang-edge (SPEC §9: an acknowledged reading is never
 * lost). A load generator posts readings (value = a unique sequence number)
 * while the edge is killed with SIGKILL at random moments and restarted,
 * 100 times; afterwards every reading that got 2.04 must be in the store.
 * Run in both durability modes: both promise survival of a process crash. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "edge_harness.h"

#define READY_MS 30000
#define REGISTRY AW_FIXTURES "/registry.json"

static th_edge s_e;

static void s_fini(void)
{
    th_edge_cleanup(&s_e);
}

typedef struct s_seen {
    uint8_t *bits;
    uint64_t cap;
    uint64_t n;
} s_seen;

static void s_on_reading(void *arg, uint64_t seq, const Anwang__Record *rec)
{
    (void)seq;
    s_seen *s = arg;
    if (rec->body_case != ANWANG__RECORD__BODY_READING)
        return;
    uint64_t v = (uint64_t)rec->reading->value;
    if (v < s->cap)
        s->bits[v / 8] |= (uint8_t)(1u << (v % 8));
    s->n++;
}

static uint64_t s_acked(th_load *l)
{
    return __atomic_load_n(&l->n_acked, __ATOMIC_RELAXED);
}

/* Kills the edge @p rounds times, each after a random 20..200 ms of load
 * once it answers again; returns the number of kills. */
static int s_kill_loop(th_load *l, int rounds, int64_t budget_s)
{
    time_t start = time(NULL);
    int kills = 0;
    for (int i = 0; i < rounds && time(NULL) - start < budget_s; i++) {
        th_edge_start(&s_e, NULL);
        cr_assert(th_edge_ready(&s_e, READY_MS), "restart %d failed; see %s", i, s_e.log);
        uint64_t before = s_acked(l);
        usleep((useconds_t)(20000 + rand() % 180000));
        /* make sure this life acknowledged something, within a deadline */
        for (int w = 0; w < 200 && s_acked(l) == before; w++)
            usleep(10000);
        th_edge_kill(&s_e);
        kills++;
    }
    return kills;
}

static void s_crash_run(int n, const char *durability)
{
    srand((unsigned)time(NULL));
    th_edge_init(&s_e, n);
    th_edge_write_conf(&s_e, durability, false, true, NULL);
    /* The first life loads the registry from the file and keeps it in the store. */
    th_edge_start(&s_e, REGISTRY);
    cr_assert(th_edge_ready(&s_e, READY_MS), "see %s", s_e.log);
    th_edge_kill(&s_e);

    th_load l = {.addr = s_e.addr,
                 .port = s_e.port,
                 .inflight = 16,
                 .device = "huaxin-gas-1",
                 .metric = "temperature",
                 .cap = 1 << 24};
    l.acked = calloc(l.cap / 8, 1);
    pthread_t t;
    pthread_create(&t, NULL, th_load_run, &l);
    int kills = s_kill_loop(&l, 100, 110);
    l.stop = 1;
    pthread_join(t, NULL);
    cr_log_info("%s: %d kills, %llu sent, %llu acked (%llu separately), %llu failed", durability,
                kills, (unsigned long long)l.n_sent, (unsigned long long)l.n_acked,
                (unsigned long long)l.n_separate, (unsigned long long)l.n_failed);
    cr_assert_geq(kills, 50, "too few kills in the time budget");
    cr_assert_gt(l.n_acked, (uint64_t)kills, "the load got acknowledgements");

    s_seen seen = {calloc(l.cap / 8, 1), l.cap, 0};
    cr_assert_eq(th_store_walk(s_e.data, 1, s_on_reading, &seen), 0, "the store opens");
    uint64_t missing = 0, first = 0;
    for (uint64_t i = 1; i < l.next_seq && i < l.cap; i++) {
        bool acked = l.acked[i / 8] & (1u << (i % 8));
        bool stored = seen.bits[i / 8] & (1u << (i % 8));
        if (acked && !stored && missing++ == 0)
            first = i;
    }
    cr_assert_eq(missing, 0, "%llu acknowledged readings lost (first: %llu)",
                 (unsigned long long)missing, (unsigned long long)first);
    free(seen.bits);
    free(l.acked);
}

TestSuite(edge_crash, .fini = s_fini, .timeout = 300);

Test(edge_crash, fsync_mode_loses_no_acked_reading)
{
    s_crash_run(20, "fsync");
}

Test(edge_crash, interval_mode_survives_kill_9)
{
    s_crash_run(21, "interval:50");
}
