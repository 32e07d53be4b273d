/* Tests for registry/grading: level names and GB 51108 escalation. */
#include <criterion/criterion.h>

#include "aw_err.h"
#include "grading.h"

/* Counts of points at {none, blue, yellow, orange, red}. */
#define C(b, y, o, r) ((const unsigned[AW_LEVEL_COUNT]){0, b, y, o, r})

/* Usage: count an item's active points per level, grade the item, then the
 * site from its items, static risk and open hazards. */
Test(grading, usage_example)
{
    aw_level tank = aw_grade_item(C(4, 0, 0, 0)); /* 4 blue points */
    aw_level gas = aw_grade_item(C(1, 0, 0, 0));
    aw_level items[] = {tank, gas};

    cr_assert_eq(tank, AW_LEVEL_YELLOW);
    cr_assert_eq(gas, AW_LEVEL_BLUE);
    cr_assert_eq(aw_grade_site(AW_LEVEL_BLUE, items, 2, 0, 0), AW_LEVEL_YELLOW);
    cr_assert_eq(aw_grade_site(AW_LEVEL_BLUE, items, 2, 0, 1), AW_LEVEL_ORANGE, "major hazard");
    cr_assert_str_eq(aw_level_name(AW_LEVEL_YELLOW), "yellow");
}

Test(grading, names)
{
    static const char *names[] = {"none", "blue", "yellow", "orange", "red"};
    aw_level l = AW_LEVEL_RED;

    for (int i = 0; i < AW_LEVEL_COUNT; i++) {
        cr_assert_str_eq(aw_level_name((aw_level)i), names[i]);
        cr_assert_eq(aw_level_parse(names[i], &l), AW_OK);
        cr_assert_eq(l, (aw_level)i);
    }
    cr_assert_str_eq(aw_level_name((aw_level)5), "invalid");
    cr_assert_str_eq(aw_level_name((aw_level)-1), "invalid");
    l = AW_LEVEL_BLUE;
    cr_assert_eq(aw_level_parse("Red", &l), AW_EENUM);
    cr_assert_eq(aw_level_parse("", &l), AW_EENUM);
    cr_assert_eq(aw_level_parse(NULL, &l), AW_EINVAL);
    cr_assert_eq(l, AW_LEVEL_BLUE, "untouched on error");
    cr_assert_eq(aw_level_max(AW_LEVEL_ORANGE, AW_LEVEL_BLUE), AW_LEVEL_ORANGE);
}

Test(grading, wire_values)
{
    /* anwang.Level in proto/anwang.proto */
    cr_assert_eq(AW_LEVEL_NONE, 0);
    cr_assert_eq(AW_LEVEL_BLUE, 1);
    cr_assert_eq(AW_LEVEL_YELLOW, 2);
    cr_assert_eq(AW_LEVEL_ORANGE, 3);
    cr_assert_eq(AW_LEVEL_RED, 4);
}

Test(grading, gb51108_steps)
{
    static const struct {
        unsigned b, y, o, r;
        aw_level want;
    } cases[] = {
        {0, 0, 0, 0, AW_LEVEL_NONE},
        {1, 0, 0, 0, AW_LEVEL_BLUE},
        {3, 0, 0, 0, AW_LEVEL_BLUE},   /* 3 blue: not yet */
        {4, 0, 0, 0, AW_LEVEL_YELLOW}, /* 4 blue → yellow */
        {9, 0, 0, 0, AW_LEVEL_YELLOW}, /* steps do not chain */
        {0, 1, 0, 0, AW_LEVEL_YELLOW},
        {0, 2, 0, 0, AW_LEVEL_YELLOW},
        {0, 3, 0, 0, AW_LEVEL_ORANGE}, /* 3 yellow → orange */
        {0, 0, 1, 0, AW_LEVEL_ORANGE},
        {0, 0, 2, 0, AW_LEVEL_RED}, /* 2 orange → red */
        {0, 0, 0, 1, AW_LEVEL_RED},
        {3, 1, 0, 0, AW_LEVEL_YELLOW}, /* higher points count toward lower steps */
        {2, 2, 0, 0, AW_LEVEL_YELLOW}, /* 4 at ≥ blue, only 2 at ≥ yellow */
        {1, 1, 1, 0, AW_LEVEL_ORANGE}, /* 3 at ≥ yellow */
        {0, 2, 1, 0, AW_LEVEL_ORANGE}, /* 3 at ≥ yellow, 1 at ≥ orange */
        {0, 1, 1, 0, AW_LEVEL_ORANGE},
        {0, 0, 1, 1, AW_LEVEL_RED},    /* 2 at ≥ orange */
        {5, 2, 0, 0, AW_LEVEL_YELLOW}, /* 7 at ≥ blue, 2 at ≥ yellow */
        {4, 0, 1, 0, AW_LEVEL_ORANGE}, /* 5 at ≥ blue gives yellow; the orange point wins */
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aw_level got = aw_grade_item(C(cases[i].b, cases[i].y, cases[i].o, cases[i].r));
        cr_expect_eq(got, cases[i].want, "{%u blue, %u yellow, %u orange, %u red}: %s, want %s",
                     cases[i].b, cases[i].y, cases[i].o, cases[i].r, aw_level_name(got),
                     aw_level_name(cases[i].want));
    }
}

Test(grading, none_count_is_ignored)
{
    const unsigned counts[AW_LEVEL_COUNT] = {100, 0, 0, 0, 0};

    cr_assert_eq(aw_grade_item(counts), AW_LEVEL_NONE);
}

Test(grading, site)
{
    aw_level items[] = {AW_LEVEL_BLUE, AW_LEVEL_NONE, AW_LEVEL_YELLOW};

    cr_assert_eq(aw_grade_site(AW_LEVEL_BLUE, NULL, 0, 0, 0), AW_LEVEL_BLUE, "static grade");
    cr_assert_eq(aw_grade_site(AW_LEVEL_BLUE, items, 3, 0, 0), AW_LEVEL_YELLOW, "items");
    cr_assert_eq(aw_grade_site(AW_LEVEL_RED, items, 3, 0, 0), AW_LEVEL_RED, "static wins");
    cr_assert_eq(aw_grade_site(AW_LEVEL_NONE, NULL, 0, 1, 0), AW_LEVEL_BLUE, "general hazard");
    cr_assert_eq(aw_grade_site(AW_LEVEL_NONE, NULL, 0, 3, 0), AW_LEVEL_BLUE, "counts don't add");
    cr_assert_eq(aw_grade_site(AW_LEVEL_YELLOW, NULL, 0, 2, 0), AW_LEVEL_YELLOW);
    cr_assert_eq(aw_grade_site(AW_LEVEL_BLUE, items, 3, 0, 1), AW_LEVEL_ORANGE, "major hazard");
    cr_assert_eq(aw_grade_site(AW_LEVEL_BLUE, NULL, 0, 5, 2), AW_LEVEL_ORANGE);
    cr_assert_eq(aw_grade_site((aw_level)9, NULL, 0, 0, 0), AW_LEVEL_NONE, "bad input ignored");
    cr_assert_eq(aw_grade_hazards(0, 0), AW_LEVEL_NONE);
    cr_assert_eq(aw_grade_hazards(1, 0), AW_LEVEL_BLUE);
    cr_assert_eq(aw_grade_hazards(0, 1), AW_LEVEL_ORANGE);
}
