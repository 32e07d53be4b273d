/* Four-colour grading and GB 51108 escalation; the rule is in grading.h. */
#include "grading.h"

#include <string.h>

#include "aw_err.h"

static const char *const s_level_names[AW_LEVEL_COUNT] = {
    [AW_LEVEL_NONE] = "none",     [AW_LEVEL_BLUE] = "blue", [AW_LEVEL_YELLOW] = "yellow",
    [AW_LEVEL_ORANGE] = "orange", [AW_LEVEL_RED] = "red",
};

/* GB 51108 within one monitored item: `points` points at `at_least` or
 * above make the item at least `makes`. */
static const struct {
    aw_level at_least;
    unsigned points;
    aw_level makes;
} s_escalation[] = {
    {AW_LEVEL_BLUE, 4, AW_LEVEL_YELLOW},
    {AW_LEVEL_YELLOW, 3, AW_LEVEL_ORANGE},
    {AW_LEVEL_ORANGE, 2, AW_LEVEL_RED},
};

/* The level an open hazard of each grade imposes on its site. */
static const aw_level s_hazard_floor_general = AW_LEVEL_BLUE;
static const aw_level s_hazard_floor_major = AW_LEVEL_ORANGE;

static int s_valid(aw_level level)
{
    return level >= AW_LEVEL_NONE && level <= AW_LEVEL_RED;
}

const char *aw_level_name(aw_level level)
{
    return s_valid(level) ? s_level_names[level] : "invalid";
}

int aw_level_parse(const char *name, aw_level *out)
{
    if (!name)
        return AW_EINVAL;
    for (int l = AW_LEVEL_NONE; l <= AW_LEVEL_RED; l++) {
        if (strcmp(name, s_level_names[l]) == 0) {
            *out = (aw_level)l;
            return AW_OK;
        }
    }
    return AW_EENUM;
}

aw_level aw_grade_item(const unsigned counts[AW_LEVEL_COUNT])
{
    unsigned long long at_or_above[AW_LEVEL_COUNT] = {0};
    aw_level level = AW_LEVEL_NONE;

    for (int l = AW_LEVEL_RED; l >= AW_LEVEL_BLUE; l--) {
        at_or_above[l] = counts[l] + (l < AW_LEVEL_RED ? at_or_above[l + 1] : 0);
        if (counts[l] > 0)
            level = aw_level_max(level, (aw_level)l);
    }
    for (size_t i = 0; i < sizeof s_escalation / sizeof s_escalation[0]; i++) {
        if (at_or_above[s_escalation[i].at_least] >= s_escalation[i].points)
            level = aw_level_max(level, s_escalation[i].makes);
    }
    return level;
}

aw_level aw_grade_hazards(unsigned open_general, unsigned open_major)
{
    if (open_major > 0)
        return s_hazard_floor_major;
    return open_general > 0 ? s_hazard_floor_general : AW_LEVEL_NONE;
}

aw_level aw_grade_site(aw_level static_risk, const aw_level *items, size_t n_items,
                       unsigned open_general, unsigned open_major)
{
    aw_level level = aw_grade_hazards(open_general, open_major);

    if (s_valid(static_risk))
        level = aw_level_max(level, static_risk);
    for (size_t i = 0; i < n_items; i++) {
        if (s_valid(items[i]))
            level = aw_level_max(level, items[i]);
    }
    return level;
}
