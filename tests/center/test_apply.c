/* Unit tests of center/apply: one batch, exactly once, in one transaction. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "center_fixture.h"

static fx s_fx;

static void s_setup(void)
{
    fx_open(&s_fx);
}

static void s_teardown(void)
{
    fx_close(&s_fx);
}

TestSuite(apply, .init = s_setup, .fini = s_teardown);

#define EPOCH UINT64_C(0x1234567890abcdef)

static aw_apply_result s_apply(const char *edge, Anwang__Batch *b)
{
    aw_apply_result res;
    int rv = aw_center_apply_batch(s_fx.db, edge, b, FX_T0, &res);
    cr_assert_eq(rv, AW_OK, "apply: %s", aw_strerror(rv));
    return res;
}

/* Applies readings first..first+n-1 to the bulk lane of e1. */
static aw_apply_result s_apply_readings(uint64_t first, size_t n)
{
    Anwang__Batch b;
    fx_batch_readings(&b, EPOCH, AW_LANE_BULK, first, n);
    aw_apply_result res = s_apply("e1", &b);
    fx_batch_free(&b);
    return res;
}

/* Asserts that the stored seqs of e1's bulk lane are exactly @p want. */
static void s_expect_seqs(aw_center_table t, aw_lane lane, const uint64_t *want, size_t n)
{
    uint64_t got[256];
    size_t k = fx_seqs(&s_fx, t, "e1", EPOCH, lane, got, 256);
    cr_assert_eq(k, n, "%zu seqs stored, want %zu", k, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "seq[%zu] = %llu, want %llu", i, (unsigned long long)got[i],
                     (unsigned long long)want[i]);
}

static void s_expect_range(aw_lane lane, uint64_t from, uint64_t to)
{
    uint64_t want[256];
    size_t n = 0;
    for (uint64_t s = from; s <= to; s++)
        want[n++] = s;
    s_expect_seqs(AW_CT_RECORDS, lane, want, n);
}

/* The usage example: apply a batch, ack with res.applied, read the latest value. */
Test(apply, usage_example)
{
    ProtobufCBinaryData recs[2] = {
        fx_reading("huaxin-t3", "tank-level", 7.2, FX_T0, 1 << 16),
        fx_reading("huaxin-t3", "tank-level", 7.4, FX_T0 + 1000, 2 << 16)};
    Anwang__Batch batch;
    fx_batch(&batch, EPOCH, AW_LANE_BULK, 1, recs, 2);

    aw_apply_result res;
    int rv = aw_center_apply_batch(s_fx.db, "e1", &batch, FX_T0, &res);
    cr_assert_eq(rv, AW_OK);
    cr_assert_eq(res.applied, 2); /* -> Ack{epoch, bulk, 2} */
    cr_assert_eq(res.n_applied, 2);
    cr_assert_not(res.hole);

    Anwang__Record *latest = NULL;
    char edge[AW_CENTER_EDGE_ID_MAX + 1];
    cr_assert_eq(aw_center_latest_get(s_fx.db, "huaxin-t3", "tank-level", &latest, edge), AW_OK);
    cr_assert_float_eq(latest->reading->value, 7.4, 1e-9);
    cr_assert_str_eq(edge, "e1");
    aw_codec_record_free(&latest);
    fx_batch_free(&batch);
}

Test(apply, batches_in_order)
{
    cr_assert_eq(s_apply_readings(1, 10).applied, 10);
    cr_assert_eq(s_apply_readings(11, 10).applied, 20);
    s_expect_range(AW_LANE_BULK, 1, 20);
    cr_assert_eq(fx_applied(&s_fx, "e1", EPOCH, AW_LANE_BULK), 20);
    cr_assert_eq(fx_applied(&s_fx, "e1", EPOCH, AW_LANE_URGENT), 0);
}

Test(apply, duplicate_batch_applied_once)
{
    s_apply_readings(1, 10);
    aw_apply_result res = s_apply_readings(1, 10);
    cr_assert_eq(res.applied, 10);
    cr_assert_eq(res.n_applied, 0);
    cr_assert_eq(res.n_skipped, 10);
    s_expect_range(AW_LANE_BULK, 1, 10);
    aw_edge_status st;
    cr_assert_eq(aw_center_edge_status(s_fx.db, "e1", &st), AW_OK);
    cr_assert_eq(st.records[AW_LANE_BULK], 10);
}

Test(apply, overlapping_batch)
{
    s_apply_readings(1, 10);
    aw_apply_result res = s_apply_readings(5, 11);
    cr_assert_eq(res.applied, 15);
    cr_assert_eq(res.n_skipped, 6);
    cr_assert_eq(res.n_applied, 5);
    s_expect_range(AW_LANE_BULK, 1, 15);
}

Test(apply, hole_refused)
{
    s_apply_readings(1, 5);
    aw_apply_result res = s_apply_readings(8, 3);
    cr_assert(res.hole);
    cr_assert_eq(res.applied, 5);
    cr_assert_eq(res.n_applied, 0);
    s_expect_range(AW_LANE_BULK, 1, 5);
    /* the edge resumes from 6: */
    cr_assert_eq(s_apply_readings(6, 5).applied, 10);
    s_expect_range(AW_LANE_BULK, 1, 10);
}

Test(apply, hole_covered_by_gap_accepted)
{
    s_apply_readings(1, 5);
    ProtobufCBinaryData g = fx_gap(AW_LANE_BULK, 6, 7);
    Anwang__Batch ub;
    fx_batch(&ub, EPOCH, AW_LANE_URGENT, 1, &g, 1);
    cr_assert_eq(s_apply("e1", &ub).applied, 1);
    fx_batch_free(&ub);

    aw_apply_result res = s_apply_readings(8, 3);
    cr_assert_not(res.hole);
    cr_assert_eq(res.gap_skipped, 2);
    cr_assert_eq(res.applied, 10);
    uint64_t want[] = {1, 2, 3, 4, 5, 8, 9, 10};
    s_expect_seqs(AW_CT_RECORDS, AW_LANE_BULK, want, 8);
    /* a gap that only partly covers a hole still refuses it */
    g = fx_gap(AW_LANE_BULK, 11, 12);
    fx_batch(&ub, EPOCH, AW_LANE_URGENT, 2, &g, 1);
    s_apply("e1", &ub);
    fx_batch_free(&ub);
    res = s_apply_readings(14, 1);
    cr_assert(res.hole);
    cr_assert_eq(res.applied, 10);
}

Test(apply, gap_at_the_start_of_a_lane)
{
    ProtobufCBinaryData g = fx_gap(AW_LANE_BULK, 1, 100);
    Anwang__Batch ub;
    fx_batch(&ub, EPOCH, AW_LANE_URGENT, 1, &g, 1);
    s_apply("e1", &ub);
    fx_batch_free(&ub);
    aw_apply_result res = s_apply_readings(101, 2);
    cr_assert_eq(res.applied, 102);
    cr_assert_eq(res.gap_skipped, 100);
    s_expect_range(AW_LANE_BULK, 101, 102);
}

/* Decision: a bad record is quarantined and the lane goes on (see apply.h). */
Test(apply, malformed_record_quarantined)
{
    ProtobufCBinaryData recs[3] = {fx_reading("d1", "ch4", 1, FX_T0, 1 << 16), fx_garbage(),
                                   fx_reading("d1", "ch4", 3, FX_T0 + 2, 3 << 16)};
    Anwang__Batch b;
    fx_batch(&b, EPOCH, AW_LANE_BULK, 1, recs, 3);
    aw_apply_result res = s_apply("e1", &b);
    cr_assert_eq(res.applied, 3);
    cr_assert_eq(res.n_poison, 1);
    cr_assert_eq(res.poison_seq, 2);
    cr_assert_neq(res.poison_why[0], '\0');
    uint64_t good[] = {1, 3}, bad[] = {2};
    s_expect_seqs(AW_CT_RECORDS, AW_LANE_BULK, good, 2);
    s_expect_seqs(AW_CT_POISON, AW_LANE_BULK, bad, 1);

    /* resent: nothing changes, the poison is not counted twice */
    res = s_apply("e1", &b);
    cr_assert_eq(res.n_skipped, 3);
    cr_assert_eq(res.n_poison, 0);
    aw_edge_status st;
    cr_assert_eq(aw_center_edge_status(s_fx.db, "e1", &st), AW_OK);
    cr_assert_eq(st.poison, 1);
    cr_assert_eq(st.records[AW_LANE_BULK], 2);
    fx_batch_free(&b);
}

Test(apply, hazard_events_set_union_and_origin)
{
    const char *site = "yueyang/rongjiawan/xinqiang/huaxin-chem";
    ProtobufCBinaryData recs[4] = {
        fx_hazard("e1-h1", 10 << 16, "e1", ANWANG__HAZARD_OP__HAZARD_REPORT, site, "leak"),
        fx_hazard("e1-h1", 10 << 16, "e1", ANWANG__HAZARD_OP__HAZARD_REPORT, site, "leak"),
        fx_hazard("e1-h1", 11 << 16, "e2", ANWANG__HAZARD_OP__HAZARD_NOTE, NULL, "forged"),
        fx_hazard("e1-h1", 10 << 16, "e1", ANWANG__HAZARD_OP__HAZARD_REPORT, site, "other"),
    };
    Anwang__Batch b;
    fx_batch(&b, EPOCH, AW_LANE_URGENT, 1, recs, 4);
    aw_apply_result res = s_apply("e1", &b);
    cr_assert_eq(res.applied, 4);
    cr_assert_eq(res.n_poison, 2, "forged origin and conflicting content");
    cr_assert_eq(fx_count(&s_fx, AW_CT_HAZARDS), 1);
    uint64_t good[] = {1, 2}, bad[] = {3, 4};
    s_expect_seqs(AW_CT_RECORDS, AW_LANE_URGENT, good, 2);
    s_expect_seqs(AW_CT_POISON, AW_LANE_URGENT, bad, 2);
    fx_batch_free(&b);
}

Test(apply, alarms_active_until_cleared)
{
    ProtobufCBinaryData recs[2] = {
        fx_alarm("e1-a1", ANWANG__ALARM_EVENT_KIND__ALARM_RAISED, ANWANG__LEVEL__LEVEL_RED, FX_T0),
        fx_alarm("e1-a2", ANWANG__ALARM_EVENT_KIND__ALARM_RAISED, ANWANG__LEVEL__LEVEL_BLUE,
                 FX_T0)};
    Anwang__Batch b;
    fx_batch(&b, EPOCH, AW_LANE_URGENT, 1, recs, 2);
    s_apply("e1", &b);
    fx_batch_free(&b);
    cr_assert_eq(fx_count(&s_fx, AW_CT_ALARMS), 2);

    /* another edge may not touch e1's alarm */
    ProtobufCBinaryData forged = fx_alarm("e1-a1", ANWANG__ALARM_EVENT_KIND__ALARM_CLEARED,
                                          ANWANG__LEVEL__LEVEL_NONE, FX_T0 + 1);
    fx_batch(&b, EPOCH, AW_LANE_URGENT, 1, &forged, 1);
    cr_assert_eq(s_apply("e2", &b).n_poison, 1);
    fx_batch_free(&b);
    cr_assert_eq(fx_count(&s_fx, AW_CT_ALARMS), 2);

    ProtobufCBinaryData clear = fx_alarm("e1-a1", ANWANG__ALARM_EVENT_KIND__ALARM_CLEARED,
                                         ANWANG__LEVEL__LEVEL_NONE, FX_T0 + 2);
    fx_batch(&b, EPOCH, AW_LANE_URGENT, 3, &clear, 1);
    cr_assert_eq(s_apply("e1", &b).n_poison, 0);
    fx_batch_free(&b);
    cr_assert_eq(fx_count(&s_fx, AW_CT_ALARMS), 1);
}

Test(apply, latest_keeps_the_newest)
{
    ProtobufCBinaryData recs[2] = {fx_reading("d1", "ch4", 5, FX_T0 + 5000, 1 << 16),
                                   fx_reading("d1", "ch4", 1, FX_T0 + 1000, 2 << 16)};
    Anwang__Batch b;
    fx_batch(&b, EPOCH, AW_LANE_BULK, 1, recs, 2);
    s_apply("e1", &b);
    fx_batch_free(&b);
    Anwang__Record *rec = NULL;
    cr_assert_eq(aw_center_latest_get(s_fx.db, "d1", "ch4", &rec, NULL), AW_OK);
    cr_assert_float_eq(rec->reading->value, 5, 1e-9);
    aw_codec_record_free(&rec);
    cr_assert_eq(aw_center_latest_get(s_fx.db, "d1", "h2s", &rec, NULL), AW_ENOTFOUND);
}

Test(apply, epochs_are_separate)
{
    s_apply_readings(1, 5);
    Anwang__Batch b;
    fx_batch_readings(&b, EPOCH + 1, AW_LANE_BULK, 3, 2);
    cr_assert(s_apply("e1", &b).hole, "a new epoch starts at 1");
    fx_batch_free(&b);
    fx_batch_readings(&b, EPOCH + 1, AW_LANE_BULK, 1, 2);
    cr_assert_eq(s_apply("e1", &b).applied, 2);
    fx_batch_free(&b);
    cr_assert_eq(fx_applied(&s_fx, "e1", EPOCH, AW_LANE_BULK), 5);
    cr_assert_eq(fx_applied(&s_fx, "e1", EPOCH + 1, AW_LANE_BULK), 2);
}

/* Fault injection: the hook fails at the k-th record of a batch. */
typedef struct s_fail {
    int left; /* records to accept before failing */
    int calls;
} s_fail;

static int s_failing_hook(void *arg, aw_txn_t *txn, const aw_center_origin *from,
                          const Anwang__Record *rec)
{
    s_fail *f = arg;
    f->calls++;
    return f->left-- > 0 ? AW_OK : AW_EIO;
}

Test(apply, crash_consistency_records_and_applied_in_one_txn)
{
    s_apply_readings(1, 5);
    for (int k = 0; k < 5; k++) {
        s_fail f = {.left = k};
        aw_center_db_set_record_hook(s_fx.db, s_failing_hook, &f);
        Anwang__Batch b;
        fx_batch_readings(&b, EPOCH, AW_LANE_BULK, 6, 5);
        aw_apply_result res;
        cr_assert_eq(aw_center_apply_batch(s_fx.db, "e1", &b, FX_T0, &res), AW_EIO);
        fx_batch_free(&b);
        cr_assert_eq(f.calls, k + 1);
        /* neither the records nor the applied seq nor the latest value moved */
        cr_assert_eq(fx_applied(&s_fx, "e1", EPOCH, AW_LANE_BULK), 5);
        s_expect_range(AW_LANE_BULK, 1, 5);
        Anwang__Record *rec = NULL;
        cr_assert_eq(aw_center_latest_get(s_fx.db, "d6", "ch4", &rec, NULL), AW_ENOTFOUND);
    }
    aw_center_db_set_record_hook(s_fx.db, NULL, NULL);
    fx_reopen(&s_fx);
    cr_assert_eq(fx_applied(&s_fx, "e1", EPOCH, AW_LANE_BULK), 5);
    cr_assert_eq(s_apply_readings(6, 5).applied, 10);
    s_expect_range(AW_LANE_BULK, 1, 10);
}

Test(apply, hook_sees_each_applied_record_once)
{
    s_fail f = {.left = 1000};
    aw_center_db_set_record_hook(s_fx.db, s_failing_hook, &f);
    s_apply_readings(1, 5);
    s_apply_readings(3, 5);
    cr_assert_eq(f.calls, 7);
}

Test(apply, bad_arguments)
{
    Anwang__Batch b;
    aw_apply_result res;
    fx_batch_readings(&b, EPOCH, AW_LANE_BULK, 1, 1);
    cr_assert_eq(aw_center_apply_batch(s_fx.db, "", &b, FX_T0, &res), AW_EINVAL);
    cr_assert_eq(aw_center_apply_batch(s_fx.db, "a,b", &b, FX_T0, &res), AW_EINVAL);
    b.first_seq = 0;
    cr_assert_eq(aw_center_apply_batch(s_fx.db, "e1", &b, FX_T0, &res), AW_EINVAL);
    b.first_seq = UINT64_MAX;
    cr_assert_eq(aw_center_apply_batch(s_fx.db, "e1", &b, FX_T0, &res), AW_OK);
    cr_assert(res.hole);
    fx_batch_free(&b);
}

/* Group commit: several batches in one transaction, each with its result. */
Test(apply, group_of_batches_in_one_txn)
{
    Anwang__Batch b[4];
    fx_batch_readings(&b[0], EPOCH, AW_LANE_BULK, 1, 5);
    fx_batch_readings(&b[1], EPOCH, AW_LANE_BULK, 4, 5);  /* overlaps the first */
    fx_batch_readings(&b[2], EPOCH, AW_LANE_BULK, 20, 2); /* a hole */
    ProtobufCBinaryData g = fx_gap(AW_LANE_BULK, 9, 9);
    fx_batch(&b[3], EPOCH, AW_LANE_URGENT, 1, &g, 1);
    const Anwang__Batch *bp[4] = {&b[0], &b[1], &b[2], &b[3]};
    aw_apply_result res[4];
    cr_assert_eq(aw_center_apply_batches(s_fx.db, "e1", bp, 4, FX_T0, res), AW_OK);
    cr_assert_eq(res[0].applied, 5);
    cr_assert_eq(res[1].applied, 8);
    cr_assert_eq(res[1].n_skipped, 2);
    cr_assert(res[2].hole);
    cr_assert_eq(res[2].applied, 8);
    cr_assert_eq(res[3].applied, 1);
    s_expect_range(AW_LANE_BULK, 1, 8);
    cr_assert_eq(fx_applied(&s_fx, "e1", EPOCH, AW_LANE_URGENT), 1);

    /* a later batch of a group sees the gap an earlier one declared */
    Anwang__Batch c[2];
    g = fx_gap(AW_LANE_BULK, 10, 19);
    fx_batch(&c[0], EPOCH, AW_LANE_URGENT, 2, &g, 1);
    fx_batch_readings(&c[1], EPOCH, AW_LANE_BULK, 20, 2);
    const Anwang__Batch *cp[2] = {&c[0], &c[1]};
    cr_assert_eq(aw_center_apply_batches(s_fx.db, "e1", cp, 2, FX_T0, res), AW_OK);
    cr_assert_eq(res[1].applied, 21);
    cr_assert_eq(res[1].gap_skipped, 11, "9 and 10..19");
    aw_edge_status st;
    cr_assert_eq(aw_center_edge_status(s_fx.db, "e1", &st), AW_OK);
    cr_assert_eq(st.records[AW_LANE_BULK], 10);
    cr_assert_eq(st.records[AW_LANE_URGENT], 2);
    for (int i = 0; i < 4; i++)
        fx_batch_free(&b[i]);
    fx_batch_free(&c[0]);
    fx_batch_free(&c[1]);
}

Test(apply, group_fails_as_a_whole)
{
    s_fail f = {.left = 7};
    aw_center_db_set_record_hook(s_fx.db, s_failing_hook, &f);
    Anwang__Batch b[2];
    fx_batch_readings(&b[0], EPOCH, AW_LANE_BULK, 1, 5);
    fx_batch_readings(&b[1], EPOCH, AW_LANE_BULK, 6, 5);
    const Anwang__Batch *bp[2] = {&b[0], &b[1]};
    aw_apply_result res[2];
    cr_assert_eq(aw_center_apply_batches(s_fx.db, "e1", bp, 2, FX_T0, res), AW_EIO);
    cr_assert_eq(res[0].applied, 0);
    cr_assert_eq(fx_applied(&s_fx, "e1", EPOCH, AW_LANE_BULK), 0);
    cr_assert_eq(fx_count(&s_fx, AW_CT_RECORDS), 0);
    cr_assert_eq(fx_count(&s_fx, AW_CT_LATEST), 0);
    fx_batch_free(&b[0]);
    fx_batch_free(&b[1]);
}

Test(apply, latest_within_a_batch)
{
    ProtobufCBinaryData recs[4] = {
        fx_reading("d1", "ch4", 1, FX_T0, 5 << 16), fx_reading("d1", "ch4", 2, FX_T0, 7 << 16),
        fx_reading("d1", "ch4", 3, FX_T0, 6 << 16), fx_reading("d1", "h2s", 4, FX_T0 - 1, 1 << 16)};
    Anwang__Batch b;
    fx_batch(&b, EPOCH, AW_LANE_BULK, 1, recs, 4);
    s_apply("e1", &b);
    fx_batch_free(&b);
    Anwang__Record *rec = NULL;
    cr_assert_eq(aw_center_latest_get(s_fx.db, "d1", "ch4", &rec, NULL), AW_OK);
    cr_assert_float_eq(rec->reading->value, 2, 1e-9, "equal times: the higher stamp wins");
    aw_codec_record_free(&rec);
    cr_assert_eq(aw_center_latest_get(s_fx.db, "d1", "h2s", &rec, NULL), AW_OK);
    aw_codec_record_free(&rec);
    cr_assert_eq(fx_count(&s_fx, AW_CT_LATEST), 2);
}
