/* Tests for tools/devsim/sched, reqtab and stats: the simulator's small parts. */
#include <criterion/criterion.h>
#include <string.h>

#include "reqtab.h"
#include "sched.h"
#include "stats.h"

Test(sched, earliest_first_and_ties_in_arrival_order)
{
    aw_sim_heap h;
    cr_assert_eq(aw_sim_heap_init(&h, 5), AW_OK);
    aw_sim_heap_push(&h, 30, 0);
    aw_sim_heap_push(&h, 10, 1);
    aw_sim_heap_push(&h, 20, 2);
    aw_sim_heap_push(&h, 10, 3);
    aw_sim_heap_push(&h, 10, 4);
    cr_assert_eq(aw_sim_heap_push(&h, 1, 5), AW_EFULL);
    const size_t want[] = {1, 3, 4, 2, 0};
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(aw_sim_heap_top(&h)->item, want[i]);
        aw_sim_heap_pop(&h);
    }
    cr_assert_null(aw_sim_heap_top(&h));
    aw_sim_heap_free(&h);
    aw_sim_heap_free(&h);
}

Test(reqtab, tokens_find_live_requests_only)
{
    aw_sim_reqtab t;
    uint8_t a[AW_SIM_TOKEN_LEN], b[AW_SIM_TOKEN_LEN], c[AW_SIM_TOKEN_LEN];
    cr_assert_eq(aw_sim_reqtab_init(&t, 2, 3), AW_OK);
    aw_sim_request *ra = aw_sim_reqtab_alloc(&t, a), *rb = aw_sim_reqtab_alloc(&t, b);
    cr_assert(ra && rb && ra != rb);
    cr_assert_null(aw_sim_reqtab_alloc(&t, c), "only two slots");
    cr_assert_eq(aw_sim_reqtab_find(&t, a, sizeof a), ra);
    cr_assert_null(aw_sim_reqtab_find(&t, a, 4), "tokens are 8 bytes");
    aw_sim_reqtab_release(&t, ra);
    cr_assert_null(aw_sim_reqtab_find(&t, a, sizeof a), "a finished request is gone");
    aw_sim_request *rc = aw_sim_reqtab_alloc(&t, c);
    cr_assert_eq(rc, ra, "the slot is reused");
    cr_assert_neq(memcmp(a, c, sizeof a), 0, "with a new generation");
    cr_assert_null(aw_sim_reqtab_find(&t, a, sizeof a), "a late answer does not match");
    cr_assert_eq(aw_sim_reqtab_find(&t, c, sizeof c), rc);
    aw_sim_reqtab_free(&t);
}

Test(stats, every_request_ends_once)
{
    aw_sim_stats s;
    aw_sim_stats_init(&s, 0);
    for (int i = 0; i < 4; i++)
        aw_sim_stats_sent(&s, 2);
    aw_sim_stats_response(&s, 0x44, 2, 1000000); /* 2.04 */
    aw_sim_stats_response(&s, 0x84, 2, 2000000); /* 4.04 */
    aw_sim_stats_failure(&s, AW_SIM_FAIL_TIMEOUT, 2);
    aw_sim_stats_unanswered(&s, 2);
    cr_assert_eq(s.sent.rdg, 8);
    cr_assert_eq(s.acked.rdg, 2);
    cr_assert_eq(s.failed.req, 2);
    cr_assert_eq(s.by_code[0x84].rdg, 2);
    cr_assert_eq(s.by_fail[AW_SIM_FAIL_TIMEOUT].req, 1);
    cr_assert_eq(s.unanswered.req, 1);
    cr_assert_eq(s.inflight, 0);
    char name[8];
    aw_sim_code_name(0xa3, name, sizeof name);
    cr_assert_str_eq(name, "5.03");
    aw_sim_summary_info info = {.scenario = "steady", .seed = 7, .sensors = 1};
    char *json = aw_sim_stats_summary_json(&s, &info, 1000000000);
    cr_assert_not_null(json);
    cr_assert(strstr(json, "\"4.04\":{\"requests\":1,\"readings\":2}"), "%s", json);
    cr_assert(strstr(json, "\"timeout\":{\"requests\":1,\"readings\":2}"), "%s", json);
    free(json);
}

Test(stats, latency_quantiles_within_a_few_percent)
{
    aw_sim_hist h;
    memset(&h, 0, sizeof h);
    for (uint64_t us = 1; us <= 10000; us++)
        aw_sim_hist_add(&h, us);
    double p50 = aw_sim_hist_quantile(&h, 0.5), p99 = aw_sim_hist_quantile(&h, 0.99);
    cr_assert(p50 > 5000 * 0.97 && p50 < 5000 * 1.03, "%f", p50);
    cr_assert(p99 > 9900 * 0.97 && p99 < 9900 * 1.03, "%f", p99);
    cr_assert_eq(h.max_us, 10000);
    cr_assert_eq(aw_sim_hist_quantile(&h, 1.0), 10000);
}
