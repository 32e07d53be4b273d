/* The HLC across restarts: the store keeps the floor (SPEC §5, clocks). */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hlc.h"
#include "store.h"

/* 2025-03-01T08:30:00.000Z */
#define T0     INT64_C(1740817800000)
#define MINUTE INT64_C(60000)

static char s_dir[] = "/tmp/aw_test_hlc_store.XXXXXX";

static void s_setup(void)
{
    cr_assert_not_null(mkdtemp(s_dir));
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void s_teardown(void)
{
    nftw(s_dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
}

static aw_store_t *s_open(void)
{
    aw_store_opts opts = {.path = s_dir};
    aw_store_t *st = NULL;

    cr_assert_eq(aw_store_open(&opts, &st), AW_OK);
    return st;
}

/* Usage: the daemon starts its clock from the store's floor and notes the
 * stamps it issues in the transactions that store them. */
Test(hlc_store, restart_with_the_clock_ten_minutes_back, .init = s_setup, .fini = s_teardown)
{
    aw_store_t *store = s_open();
    aw_txn_t *txn = NULL;
    aw_hlc clock;
    uint64_t highest = 0, s;

    cr_assert_eq(aw_store_hlc_floor(store), 0, "a new store");
    aw_hlc_init(&clock, aw_store_hlc_floor(store));
    for (int i = 0; i < 100; i++) {
        s = aw_hlc_now(&clock, T0 + i / 10);
        cr_assert_gt(s, highest);
        highest = s;
    }
    cr_assert_eq(aw_store_begin(store, &txn), AW_OK);
    aw_txn_note_hlc(txn, aw_hlc_last(&clock));
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);
    cr_assert_eq(aw_store_hlc_floor(store), highest);
    aw_store_destroy(&store);

    /* power back on with the RTC 10 minutes behind */
    store = s_open();
    cr_assert_eq(aw_store_hlc_floor(store), highest);
    aw_hlc_init(&clock, aw_store_hlc_floor(store));
    s = aw_hlc_now(&clock, T0 - 10 * MINUTE);
    cr_assert_gt(s, highest, "the next stamp is after every stamp before the restart");
    cr_assert_eq(s, highest + 1);
    aw_store_destroy(&store);
}

Test(hlc_store, append_persists_the_stamp_and_abort_does_not, .init = s_setup, .fini = s_teardown)
{
    aw_store_t *store = s_open();
    aw_txn_t *txn = NULL;
    aw_hlc clock;
    uint64_t stamp, seq = 0;
    const char rec[] = "record";
    const void *recs[] = {rec};
    size_t lens[] = {sizeof rec};

    aw_hlc_init(&clock, 0);
    stamp = aw_hlc_now(&clock, T0);
    cr_assert_eq(aw_store_append(store, AW_LANE_URGENT, recs, lens, 1, stamp, &seq), AW_OK);
    cr_assert_eq(aw_store_hlc_floor(store), stamp);

    cr_assert_eq(aw_store_begin(store, &txn), AW_OK);
    aw_txn_note_hlc(txn, aw_hlc_now(&clock, T0 + MINUTE));
    aw_txn_abort(&txn);
    cr_assert_eq(aw_store_hlc_floor(store), stamp, "an aborted note is not kept");

    /* a lower stamp never lowers the floor */
    cr_assert_eq(aw_store_begin(store, &txn), AW_OK);
    aw_txn_note_hlc(txn, 1);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);
    aw_store_destroy(&store);

    store = s_open();
    cr_assert_eq(aw_store_hlc_floor(store), stamp);
    aw_hlc_init(&clock, aw_store_hlc_floor(store));
    cr_assert_gt(aw_hlc_now(&clock, T0 - 10 * MINUTE), stamp);
    aw_store_destroy(&store);
}
