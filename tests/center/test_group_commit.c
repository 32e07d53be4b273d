/* Unit tests of the center's group commit across edges: apply.h
 * aw_center_apply_edges() and session.h aw_center_sessions_apply() (what
 * the router does with the batches of every edge that arrived in one turn). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "center_fixture.h"

static fx s_fx;
static fx_out s_out[3];

static void s_setup(void)
{
    fx_open(&s_fx);
    memset(s_out, 0, sizeof s_out);
}

static void s_teardown(void)
{
    for (int i = 0; i < 3; i++)
        fx_out_clear(&s_out[i]);
    fx_close(&s_fx);
}

TestSuite(group_commit, .init = s_setup, .fini = s_teardown);

#define EPOCH_A UINT64_C(0x1111222233334444)
#define EPOCH_B UINT64_C(0x5555666677778888)

/* Counts the record hook's calls; fails for records of edge @p fail_edge. */
typedef struct s_hook {
    const char *fail_edge;
    int calls;
} s_hook;

static int s_hook_fn(void *arg, aw_txn_t *txn, const aw_center_origin *from,
                     const Anwang__Record *rec)
{
    s_hook *h = arg;
    (void)txn, (void)rec;
    h->calls++;
    return h->fail_edge && strcmp(from->edge_id, h->fail_edge) == 0 ? AW_EIO : AW_OK;
}

/* The usage example: two edges' batches in one transaction, each its result. */
Test(group_commit, usage_example)
{
    Anwang__Batch a[2], b;
    fx_batch_readings(&a[0], EPOCH_A, AW_LANE_BULK, 1, 5);
    fx_batch_readings(&a[1], EPOCH_A, AW_LANE_BULK, 6, 5);
    fx_batch_readings(&b, EPOCH_B, AW_LANE_BULK, 1, 3);
    const Anwang__Batch *ap[2] = {&a[0], &a[1]}, *bp[1] = {&b};
    aw_apply_result ra[2], rb[1];
    aw_apply_group g[2] = {{"edge-a", ap, 2, ra}, {"edge-b", bp, 1, rb}};
    cr_assert_eq(aw_center_apply_edges(s_fx.db, g, 2, FX_T0), AW_OK);
    cr_assert_eq(ra[0].applied, 5);
    cr_assert_eq(ra[1].applied, 10);
    cr_assert_eq(rb[0].applied, 3);
    cr_assert_eq(fx_applied(&s_fx, "edge-a", EPOCH_A, AW_LANE_BULK), 10);
    cr_assert_eq(fx_applied(&s_fx, "edge-b", EPOCH_B, AW_LANE_BULK), 3);
    aw_edge_status st;
    cr_assert_eq(aw_center_edge_status(s_fx.db, "edge-a", &st), AW_OK);
    cr_assert_eq(st.records[AW_LANE_BULK], 10);
    cr_assert_eq(aw_center_edge_status(s_fx.db, "edge-b", &st), AW_OK);
    cr_assert_eq(st.records[AW_LANE_BULK], 3);
    cr_assert_eq(fx_count(&s_fx, AW_CT_RECORDS), 13);
    fx_batch_free(&a[0]);
    fx_batch_free(&a[1]);
    fx_batch_free(&b);
}

/* A resent batch is skipped, a hole refused, per edge, while the others apply. */
Test(group_commit, exactly_once_and_holes_per_edge)
{
    Anwang__Batch a0, a1, b0, b1;
    fx_batch_readings(&a0, EPOCH_A, AW_LANE_BULK, 1, 4);
    fx_batch_readings(&b0, EPOCH_B, AW_LANE_BULK, 1, 4);
    const Anwang__Batch *p0[1] = {&a0}, *q0[1] = {&b0};
    aw_apply_result r0[1], s0[1];
    aw_apply_group g0[2] = {{"edge-a", p0, 1, r0}, {"edge-b", q0, 1, s0}};
    cr_assert_eq(aw_center_apply_edges(s_fx.db, g0, 2, FX_T0), AW_OK);

    fx_batch_readings(&a1, EPOCH_A, AW_LANE_BULK, 3, 4); /* 3, 4 again, then 5, 6 */
    fx_batch_readings(&b1, EPOCH_B, AW_LANE_BULK, 9, 2); /* a hole after 4 */
    const Anwang__Batch *p1[1] = {&a1}, *q1[1] = {&b1};
    aw_apply_result r1[1], s1[1];
    aw_apply_group g1[2] = {{"edge-a", p1, 1, r1}, {"edge-b", q1, 1, s1}};
    cr_assert_eq(aw_center_apply_edges(s_fx.db, g1, 2, FX_T0), AW_OK);
    cr_assert_eq(r1[0].applied, 6);
    cr_assert_eq(r1[0].n_skipped, 2);
    cr_assert_eq(r1[0].n_applied, 2);
    cr_assert(s1[0].hole);
    cr_assert_eq(s1[0].applied, 4, "where edge-b must resume");
    uint64_t seqs[16];
    cr_assert_eq(fx_seqs(&s_fx, AW_CT_RECORDS, "edge-a", EPOCH_A, AW_LANE_BULK, seqs, 16), 6);
    cr_assert_eq(fx_seqs(&s_fx, AW_CT_RECORDS, "edge-b", EPOCH_B, AW_LANE_BULK, seqs, 16), 4);
    fx_batch_free(&a0);
    fx_batch_free(&a1);
    fx_batch_free(&b0);
    fx_batch_free(&b1);
}

/* An edge may appear twice: the second group sees what the first applied. */
Test(group_commit, same_edge_twice)
{
    Anwang__Batch a0, a1;
    fx_batch_readings(&a0, EPOCH_A, AW_LANE_BULK, 1, 3);
    fx_batch_readings(&a1, EPOCH_A, AW_LANE_BULK, 2, 4);
    const Anwang__Batch *p0[1] = {&a0}, *p1[1] = {&a1};
    aw_apply_result r0[1], r1[1];
    aw_apply_group g[2] = {{"edge-a", p0, 1, r0}, {"edge-a", p1, 1, r1}};
    cr_assert_eq(aw_center_apply_edges(s_fx.db, g, 2, FX_T0), AW_OK);
    cr_assert_eq(r1[0].applied, 5);
    cr_assert_eq(r1[0].n_skipped, 2);
    aw_edge_status st;
    cr_assert_eq(aw_center_edge_status(s_fx.db, "edge-a", &st), AW_OK);
    cr_assert_eq(st.records[AW_LANE_BULK], 5, "each record counted once");
    fx_batch_free(&a0);
    fx_batch_free(&a1);
}

/* One failure stores nothing of any edge; bad arguments change nothing. */
Test(group_commit, fails_as_a_whole_and_bad_arguments)
{
    s_hook h = {.fail_edge = "edge-b"};
    aw_center_db_set_record_hook(s_fx.db, s_hook_fn, &h);
    Anwang__Batch a, b;
    fx_batch_readings(&a, EPOCH_A, AW_LANE_BULK, 1, 3);
    fx_batch_readings(&b, EPOCH_B, AW_LANE_BULK, 1, 3);
    const Anwang__Batch *ap[1] = {&a}, *bp[1] = {&b};
    aw_apply_result ra[1], rb[1];
    aw_apply_group g[2] = {{"edge-a", ap, 1, ra}, {"edge-b", bp, 1, rb}};
    cr_assert_eq(aw_center_apply_edges(s_fx.db, g, 2, FX_T0), AW_EIO);
    cr_assert_eq(ra[0].applied, 0);
    cr_assert_eq(fx_count(&s_fx, AW_CT_RECORDS), 0);
    cr_assert_eq(fx_count(&s_fx, AW_CT_APPLIED), 0);
    cr_assert_eq(fx_count(&s_fx, AW_CT_EDGES), 0);
    aw_center_db_set_record_hook(s_fx.db, NULL, NULL);

    aw_apply_group bad[2] = {{"edge-a", ap, 1, ra}, {"a,b", bp, 1, rb}};
    cr_assert_eq(aw_center_apply_edges(s_fx.db, bad, 2, FX_T0), AW_EINVAL);
    bad[1] = (aw_apply_group){"edge-b", NULL, 1, rb};
    cr_assert_eq(aw_center_apply_edges(s_fx.db, bad, 2, FX_T0), AW_EINVAL);
    bad[1] = (aw_apply_group){"edge-b", bp, 1, NULL};
    cr_assert_eq(aw_center_apply_edges(s_fx.db, bad, 2, FX_T0), AW_EINVAL);
    cr_assert_eq(aw_center_apply_edges(NULL, g, 2, FX_T0), AW_EINVAL);
    cr_assert_eq(aw_center_apply_edges(s_fx.db, NULL, 1, FX_T0), AW_EINVAL);
    cr_assert_eq(aw_center_apply_edges(s_fx.db, NULL, 0, FX_T0), AW_OK);
    cr_assert_eq(fx_count(&s_fx, AW_CT_RECORDS), 0);
    fx_batch_free(&a);
    fx_batch_free(&b);
}

/* ------------------------------------------------------------ sessions */

static aw_center_session_t *s_up(const char *edge, uint64_t epoch, fx_out *out)
{
    aw_center_session_t *s = fx_session(&s_fx, edge, NULL, out);
    cr_assert_eq(fx_hello(s, edge, epoch, 0, 100, NULL, FX_T0, FX_T0), AW_OK);
    fx_out_clear(out);
    return s;
}

static void s_env_batch(Anwang__Envelope *env, Anwang__Batch *b)
{
    anwang__envelope__init(env);
    env->msg_case = ANWANG__ENVELOPE__MSG_BATCH;
    env->batch = b;
}

static void s_expect_acks(const fx_out *o, const uint64_t *applied, size_t n)
{
    cr_assert_eq(o->n, n, "%zu envelopes sent, want %zu acks", o->n, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(o->env[i]->msg_case, ANWANG__ENVELOPE__MSG_ACK);
        cr_assert_eq(o->env[i]->ack->applied_seq, applied[i]);
    }
}

/* Several sessions' batches in one transaction, each acked after it. */
Test(group_commit, sessions_apply_acks_each_batch)
{
    aw_center_session_t *sa = s_up("edge-a", EPOCH_A, &s_out[0]);
    aw_center_session_t *sb = s_up("edge-b", EPOCH_B, &s_out[1]);
    Anwang__Batch a[2], b;
    Anwang__Envelope ea[2], eb;
    fx_batch_readings(&a[0], EPOCH_A, AW_LANE_BULK, 1, 5);
    fx_batch_readings(&a[1], EPOCH_A, AW_LANE_BULK, 6, 5);
    fx_batch_readings(&b, EPOCH_B, AW_LANE_BULK, 1, 2);
    s_env_batch(&ea[0], &a[0]);
    s_env_batch(&ea[1], &a[1]);
    s_env_batch(&eb, &b);
    cr_assert(aw_center_session_groupable(sa, &ea[0]));
    cr_assert_not(aw_center_session_groupable(sa, &eb), "another epoch");
    cr_assert_not(aw_center_session_groupable(NULL, &eb));
    const Anwang__Envelope *pa[2] = {&ea[0], &ea[1]}, *pb[1] = {&eb};
    aw_session_batches g[2] = {{sa, pa, 2}, {sb, pb, 1}};
    cr_assert_eq(aw_center_sessions_apply(g, 2, FX_T0 + 10), AW_OK);
    s_expect_acks(&s_out[0], (uint64_t[]){5, 10}, 2);
    s_expect_acks(&s_out[1], (uint64_t[]){2}, 1);
    cr_assert_eq(fx_applied(&s_fx, "edge-a", EPOCH_A, AW_LANE_BULK), 10);
    cr_assert_eq(fx_applied(&s_fx, "edge-b", EPOCH_B, AW_LANE_BULK), 2);
    for (int i = 0; i < 2; i++)
        fx_batch_free(&a[i]);
    fx_batch_free(&b);
    aw_center_session_destroy(&sa);
    aw_center_session_destroy(&sb);
}

/* A batch that is not groupable (another epoch, a session DOWN) refuses the
 * whole call: nothing applied, nothing sent. */
Test(group_commit, sessions_apply_refuses_what_is_not_groupable)
{
    aw_center_session_t *sa = s_up("edge-a", EPOCH_A, &s_out[0]);
    aw_center_session_t *sb = fx_session(&s_fx, "edge-b", NULL, &s_out[1]); /* DOWN */
    Anwang__Batch a, b;
    Anwang__Envelope ea, eb;
    fx_batch_readings(&a, EPOCH_A, AW_LANE_BULK, 1, 2);
    fx_batch_readings(&b, EPOCH_B, AW_LANE_BULK, 1, 2);
    s_env_batch(&ea, &a);
    s_env_batch(&eb, &b);
    const Anwang__Envelope *pa[1] = {&ea}, *pb[1] = {&eb};
    aw_session_batches g[2] = {{sa, pa, 1}, {sb, pb, 1}};
    cr_assert_eq(aw_center_sessions_apply(g, 2, FX_T0), AW_EINVAL);
    g[1] = (aw_session_batches){sa, pb, 1}; /* edge-b's epoch on edge-a */
    cr_assert_eq(aw_center_sessions_apply(g, 2, FX_T0), AW_EINVAL);
    g[1] = (aw_session_batches){sa, pa, 0};
    cr_assert_eq(aw_center_sessions_apply(g, 2, FX_T0), AW_EINVAL);
    cr_assert_eq(aw_center_sessions_apply(NULL, 1, FX_T0), AW_EINVAL);
    cr_assert_eq(aw_center_sessions_apply(NULL, 0, FX_T0), AW_OK);
    cr_assert_eq(fx_count(&s_fx, AW_CT_RECORDS), 0);
    cr_assert_eq(s_out[0].n, 0);
    cr_assert_eq(s_out[1].n, 0);
    fx_batch_free(&a);
    fx_batch_free(&b);
    aw_center_session_destroy(&sa);
    aw_center_session_destroy(&sb);
}

/* When the joint transaction fails, each session is applied alone: the
 * failing edge gets no Ack (it resends), the others are applied and acked. */
Test(group_commit, sessions_apply_isolates_a_failing_edge)
{
    aw_center_session_t *s[3] = {s_up("edge-a", EPOCH_A, &s_out[0]),
                                 s_up("edge-b", EPOCH_B, &s_out[1]),
                                 s_up("edge-c", EPOCH_A, &s_out[2])};
    s_hook h = {.fail_edge = "edge-b"};
    aw_center_db_set_record_hook(s_fx.db, s_hook_fn, &h);
    Anwang__Batch b[3];
    Anwang__Envelope e[3];
    const Anwang__Envelope *p[3];
    aw_session_batches g[3];
    for (int i = 0; i < 3; i++) {
        fx_batch_readings(&b[i], i == 1 ? EPOCH_B : EPOCH_A, AW_LANE_BULK, 1, 3);
        s_env_batch(&e[i], &b[i]);
        p[i] = &e[i];
        g[i] = (aw_session_batches){s[i], &p[i], 1};
    }
    cr_assert_eq(aw_center_sessions_apply(g, 3, FX_T0), AW_EIO);
    s_expect_acks(&s_out[0], (uint64_t[]){3}, 1);
    cr_assert_eq(s_out[1].n, 0, "no ack for what was not applied");
    s_expect_acks(&s_out[2], (uint64_t[]){3}, 1);
    cr_assert_eq(fx_applied(&s_fx, "edge-a", EPOCH_A, AW_LANE_BULK), 3);
    cr_assert_eq(fx_applied(&s_fx, "edge-b", EPOCH_B, AW_LANE_BULK), 0);
    cr_assert_eq(fx_applied(&s_fx, "edge-c", EPOCH_A, AW_LANE_BULK), 3);
    aw_center_db_set_record_hook(s_fx.db, NULL, NULL);
    for (int i = 0; i < 3; i++) {
        fx_batch_free(&b[i]);
        aw_center_session_destroy(&s[i]);
    }
}
