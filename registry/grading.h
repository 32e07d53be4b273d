/**
 * @file grading.h
 * @brief Four-colour risk grading and GB 51108 escalation (SPEC §4, §8).
 *
 * Pure functions, no state. Levels are ordered NONE < BLUE < YELLOW < ORANGE
 * < RED, and their values are those of the wire enum anwang.Level
 * (proto/anwang.proto), so a level converts to and from the wire by a cast.
 *
 * The escalation rule, as implemented by aw_grade_item():
 *
 * - A *point* is one monitored (device, metric) pair with an active alarm;
 *   its level is the alarm's current level (high or low direction alike).
 * - Within one monitored item of one site, a point at a higher level also
 *   counts toward every lower escalation step: an orange point is a point
 *   "at yellow or above" and "at blue or above".
 * - 4 or more points at blue or above make the item at least yellow;
 *   3 or more at yellow or above make it at least orange;
 *   2 or more at orange or above make it red.
 * - The item level is the highest of its highest point and every step that
 *   fires. Steps do not chain: an item made yellow by escalation is not a
 *   yellow *point*, so 4 blue points give yellow, never more.
 *
 * Examples: {3 blue, 1 yellow} → yellow; {2 blue, 2 yellow} → yellow;
 * {1 blue, 1 yellow, 1 orange} → orange (3 at ≥ yellow); {1 yellow,
 * 1 orange} → orange; {2 orange} → red; {1 orange, 1 red} → red.
 *
 * The site colour (aw_grade_site()) is the highest of its static risk grade,
 * its items' levels, and the floor its open hazards impose: an open major
 * hazard (重大事故隐患) makes the site at least orange, an open general hazard
 * at least blue.
 */
#ifndef AW_GRADING_H
#define AW_GRADING_H

#include <stddef.h>

/** Alarm and risk level; values match anwang.Level on the wire. */
typedef enum aw_level {
    AW_LEVEL_NONE = 0,
    AW_LEVEL_BLUE = 1,
    AW_LEVEL_YELLOW = 2,
    AW_LEVEL_ORANGE = 3,
    AW_LEVEL_RED = 4,
} aw_level;

/** Number of aw_level values, NONE included (size of per-level arrays). */
#define AW_LEVEL_COUNT 5

/**
 * Returns the lowercase name of @p level ("none", "blue", "yellow",
 * "orange", "red"), a static string; "invalid" when out of range.
 */
const char *aw_level_name(aw_level level);

/**
 * Parses a level name as aw_level_name() writes it (exact, lowercase).
 * Returns AW_OK and sets *out, AW_EINVAL when @p name is NULL, or AW_EENUM
 * for any other string (*out untouched).
 */
int aw_level_parse(const char *name, aw_level *out);

/** Returns the higher of two levels. */
static inline aw_level aw_level_max(aw_level a, aw_level b)
{
    return a > b ? a : b;
}

/**
 * Grades one monitored item of one site by GB 51108 (rule in the file
 * comment). @p counts[l] is the number of active points at exactly level l;
 * counts[AW_LEVEL_NONE] is ignored. Returns NONE when no point is active.
 */
aw_level aw_grade_item(const unsigned counts[AW_LEVEL_COUNT]);

/**
 * Returns the floor that open hazards impose on their site: ORANGE when
 * @p open_major > 0, else BLUE when @p open_general > 0, else NONE.
 */
aw_level aw_grade_hazards(unsigned open_general, unsigned open_major);

/**
 * Returns a site's colour: the highest of @p static_risk, the @p n_items
 * levels in @p items (may be NULL when n_items is 0; typically from
 * aw_grade_item()) and aw_grade_hazards(open_general, open_major).
 * Out-of-range levels in the inputs are ignored.
 */
aw_level aw_grade_site(aw_level static_risk, const aw_level *items, size_t n_items,
                       unsigned open_general, unsigned open_major);

#endif
