/* Tests for common/hlc: the hybrid logical clock (SPEC §5, clocks). */
#include <criterion/criterion.h>
#include <string.h>

#include "hlc.h"

/* 2025-03-01T08:30:00.000Z */
#define T0     INT64_C(1740817800000)
#define MINUTE INT64_C(60000)
#define DAY    (INT64_C(24) * 60 * MINUTE)

/* Usage: start from the persisted floor, stamp local events with now(),
 * merge a peer's stamp with update(), persist aw_hlc_last(). */
Test(hlc, usage_example)
{
    aw_hlc clock;
    uint64_t a, b, recv;

    aw_hlc_init(&clock, 0); /* daemon: aw_hlc_init(&clock, aw_store_hlc_floor(store)) */
    a = aw_hlc_now(&clock, T0);
    cr_assert_eq(aw_hlc_ms(a), (uint64_t)T0);
    cr_assert_eq(aw_hlc_counter(a), 0);

    b = aw_hlc_now(&clock, T0); /* same millisecond: the counter moves */
    cr_assert_eq(b, aw_hlc_make((uint64_t)T0, 1));

    /* a peer 2 s ahead: our receive stamp follows it */
    cr_assert_eq(aw_hlc_update(&clock, aw_hlc_make((uint64_t)T0 + 2000, 7), T0, &recv), AW_OK);
    cr_assert_eq(recv, aw_hlc_make((uint64_t)T0 + 2000, 8));
    cr_assert_eq(aw_hlc_last(&clock), recv); /* what the store should note */

    char text[AW_HLC_STR_LEN];
    cr_assert_eq(aw_hlc_format(recv, text, sizeof text), AW_OK);
    cr_assert_str_eq(text, "2025-03-01T08:30:02.000Z#8");
}

Test(hlc, pack_and_unpack)
{
    uint64_t s = aw_hlc_make(AW_HLC_MS_MAX, 0xFFFF);

    cr_assert_eq(s, UINT64_MAX);
    cr_assert_eq(aw_hlc_ms(s), AW_HLC_MS_MAX);
    cr_assert_eq(aw_hlc_counter(s), 0xFFFF);
    cr_assert_eq(aw_hlc_make((UINT64_C(1) << 48) | 5, 3), aw_hlc_make(5, 3), "ms truncated");
    cr_assert_lt(aw_hlc_make(10, 0xFFFF), aw_hlc_make(11, 0), "stamps order as integers");
}

Test(hlc, monotonic_when_wall_jumps_back_ten_minutes)
{
    aw_hlc c;
    uint64_t prev, s;

    aw_hlc_init(&c, 0);
    prev = aw_hlc_now(&c, T0);
    for (int i = 0; i < 1000; i++) {
        s = aw_hlc_now(&c, T0 - 10 * MINUTE + i);
        cr_assert_gt(s, prev, "step %d", i);
        cr_assert_eq(aw_hlc_ms(s), (uint64_t)T0, "ms holds while the wall is behind");
        prev = s;
    }
    /* when the wall catches up, the counter resets */
    s = aw_hlc_now(&c, T0 + 1);
    cr_assert_eq(s, aw_hlc_make((uint64_t)T0 + 1, 0));
}

Test(hlc, monotonic_when_wall_jumps_forward_one_day)
{
    aw_hlc c;
    uint64_t a, b, d;

    aw_hlc_init(&c, 0);
    a = aw_hlc_now(&c, T0);
    b = aw_hlc_now(&c, T0 + DAY);
    cr_assert_gt(b, a);
    cr_assert_eq(b, aw_hlc_make((uint64_t)(T0 + DAY), 0));
    /* ... and back again: still after the jump */
    d = aw_hlc_now(&c, T0);
    cr_assert_gt(d, b);
    cr_assert_eq(aw_hlc_ms(d), (uint64_t)(T0 + DAY));
}

Test(hlc, counter_overflow_carries_into_ms)
{
    aw_hlc c;
    uint64_t s = 0, prev = 0;

    aw_hlc_init(&c, aw_hlc_make((uint64_t)T0, 0xFFF0));
    for (int i = 0; i < 0x20; i++) {
        s = aw_hlc_now(&c, T0);
        cr_assert_gt(s, prev);
        prev = s;
    }
    cr_assert_eq(s, aw_hlc_make((uint64_t)T0 + 1, 0x10), "0xFFF0 + 0x20 = 1 ms + 0x10");
}

Test(hlc, update_with_remote_ahead)
{
    aw_hlc c;
    uint64_t out, remote = aw_hlc_make((uint64_t)T0 + 30 * MINUTE, 40);

    aw_hlc_init(&c, 0);
    aw_hlc_now(&c, T0);
    cr_assert_eq(aw_hlc_update(&c, remote, T0, &out), AW_OK);
    cr_assert_eq(out, remote + 1);
    cr_assert_gt(aw_hlc_now(&c, T0), out, "later local stamps follow the remote one");
}

Test(hlc, update_with_remote_behind)
{
    aw_hlc c;
    uint64_t local, out;

    aw_hlc_init(&c, 0);
    local = aw_hlc_now(&c, T0);
    cr_assert_eq(aw_hlc_update(&c, aw_hlc_make((uint64_t)(T0 - MINUTE), 9), T0, &out), AW_OK);
    cr_assert_eq(out, local + 1, "same wall ms as our last stamp: counter moves");
    cr_assert_eq(aw_hlc_update(&c, aw_hlc_make((uint64_t)(T0 - MINUTE), 9), T0 + 5, &out), AW_OK);
    cr_assert_eq(out, aw_hlc_make((uint64_t)T0 + 5, 0), "wall ahead of both: wall wins");
}

Test(hlc, update_with_equal_ms_takes_larger_counter)
{
    aw_hlc c;
    uint64_t out;

    aw_hlc_init(&c, aw_hlc_make((uint64_t)T0, 3));
    cr_assert_eq(aw_hlc_update(&c, aw_hlc_make((uint64_t)T0, 90), T0, &out), AW_OK);
    cr_assert_eq(out, aw_hlc_make((uint64_t)T0, 91));
}

Test(hlc, far_future_remote_is_refused)
{
    aw_hlc c;
    uint64_t before, out = 12345;
    uint64_t year_ahead = aw_hlc_make((uint64_t)(T0 + 365 * DAY), 0);

    aw_hlc_init(&c, 0);
    before = aw_hlc_now(&c, T0);
    cr_assert_eq(aw_hlc_update(&c, year_ahead, T0, &out), AW_ERANGE);
    cr_assert_eq(out, 12345, "*out untouched");
    cr_assert_eq(aw_hlc_last(&c), before, "clock untouched");

    /* exactly at the drift limit is accepted; one ms beyond is not */
    uint64_t at_limit = aw_hlc_make((uint64_t)(T0 + AW_HLC_DEFAULT_MAX_DRIFT_MS), 0);
    cr_assert_eq(aw_hlc_update(&c, at_limit + 0x10000, T0, &out), AW_ERANGE);
    cr_assert_eq(aw_hlc_update(&c, at_limit, T0, &out), AW_OK);

    /* the limit is the caller's to set */
    c.max_drift_ms = 400 * DAY;
    cr_assert_eq(aw_hlc_update(&c, year_ahead, T0, &out), AW_OK);
    cr_assert_eq(out, year_ahead + 1);
}

Test(hlc, floor_is_respected)
{
    aw_hlc c;
    uint64_t floor = aw_hlc_make((uint64_t)T0, 77), out;

    aw_hlc_init(&c, floor);
    cr_assert_eq(aw_hlc_last(&c), floor);
    cr_assert_eq(aw_hlc_now(&c, T0 - 10 * MINUTE), floor + 1, "restart with clock behind");

    aw_hlc_init(&c, floor);
    cr_assert_eq(aw_hlc_update(&c, 1, T0 - MINUTE, &out), AW_OK);
    cr_assert_eq(out, floor + 1, "an old remote cannot pull us below the floor");

    aw_hlc_init(&c, floor);
    cr_assert_eq(aw_hlc_now(&c, T0 + 1), aw_hlc_make((uint64_t)T0 + 1, 0));
}

Test(hlc, wall_out_of_range_is_clamped)
{
    aw_hlc c;

    aw_hlc_init(&c, 0);
    cr_assert_eq(aw_hlc_now(&c, -5), 1, "negative wall: counter from 0");
    cr_assert_eq(aw_hlc_now(&c, INT64_MAX), aw_hlc_make(AW_HLC_MS_MAX, 0));
}

Test(hlc, exhausted_stamp_space)
{
    aw_hlc c;
    uint64_t out = 9;

    aw_hlc_init(&c, UINT64_MAX);
    cr_assert_eq(aw_hlc_now(&c, T0), 0);
    cr_assert_eq(aw_hlc_last(&c), UINT64_MAX);
    c.max_drift_ms = INT64_MAX;
    cr_assert_eq(aw_hlc_update(&c, UINT64_MAX, T0, &out), AW_ERANGE);
    cr_assert_eq(out, 9);
}

Test(hlc, format)
{
    char buf[AW_HLC_STR_LEN];
    char small[10] = "xxxxxxxxx";

    cr_assert_eq(aw_hlc_format(0, buf, sizeof buf), AW_OK);
    cr_assert_str_eq(buf, "1970-01-01T00:00:00.000Z#0");
    cr_assert_eq(aw_hlc_format(aw_hlc_make(951782400123, 65535), buf, sizeof buf), AW_OK);
    cr_assert_str_eq(buf, "2000-02-29T00:00:00.123Z#65535");
    cr_assert_eq(aw_hlc_format(UINT64_MAX, buf, sizeof buf), AW_OK);
    cr_assert_str_eq(buf, "10889-08-02T05:31:50.655Z#65535");
    cr_assert_eq(aw_hlc_format(0, small, sizeof small), AW_ERANGE);
    cr_assert_str_eq(small, "");
}
