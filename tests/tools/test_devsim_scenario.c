/* Tests for tools/devsim/scenario: values derived from registry thresholds. */
#include <criterion/criterion.h>
#include <string.h>

#include "scenario.h"

#define MINI_JSON AW_SOURCE_DIR "/deploy/registry/mini.json"
#define MAXDEV    16

static aw_registry_t *s_reg;
static const aw_device *s_devs[MAXDEV];
static int64_t s_period[MAXDEV];
static size_t s_n;

/* The devices with metrics of the demo registry, each reporting every second. */
static void s_setup(void)
{
    aw_registry_errors errs = {0};
    cr_assert_eq(aw_registry_load_file(MINI_JSON, &s_reg, &errs), AW_OK);
    size_t n;
    const aw_device *d = aw_registry_devices(s_reg, &n);
    for (size_t i = 0; i < n; i++)
        if (d[i].n_metrics && s_n < MAXDEV) {
            s_devs[s_n] = &d[i];
            s_period[s_n++] = 1000;
        }
}

static void s_teardown(void)
{
    aw_registry_destroy(&s_reg);
    s_n = 0;
}

static aw_sim_scenario_t *s_new(aw_sim_scenario_opts o, size_t n, char *why)
{
    aw_sim_scenario_t *s = NULL;
    int rv = aw_sim_scenario_new(&o, 42, s_devs, s_period, n, &s, why, 256);
    cr_assert((rv == AW_OK) == (s != NULL));
    return s;
}

/* Index of device @p id among s_devs, and of its metric @p metric. */
static void s_find(const char *id, const char *metric, size_t *dev, size_t *m)
{
    for (*dev = 0; *dev < s_n && strcmp(s_devs[*dev]->id, id) != 0; (*dev)++)
        ;
    cr_assert_lt(*dev, s_n, "%s", id);
    const aw_metric *mt = aw_registry_metric_find(s_devs[*dev], metric);
    cr_assert_not_null(mt);
    *m = (size_t)(mt - s_devs[*dev]->metrics);
}

TestSuite(scenario, .init = s_setup, .fini = s_teardown);

Test(scenario, steady_stays_clear_of_every_threshold)
{
    char why[256];
    aw_sim_scenario_t *s = s_new((aw_sim_scenario_opts){.kind = AW_SIM_STEADY}, s_n, why);
    for (size_t d = 0; d < s_n; d++)
        for (size_t m = 0; m < s_devs[d]->n_metrics; m++) {
            const aw_metric *mt = &s_devs[d]->metrics[m];
            for (uint64_t seq = 0; seq < 500; seq++) {
                double v = aw_sim_scenario_value(s, d, m, seq, (int64_t)seq * 1000);
                for (int l = AW_LEVEL_BLUE; l <= AW_LEVEL_RED; l++) {
                    if (aw_thresholds_has(&mt->high, (aw_level)l))
                        cr_assert_lt(v, mt->high.at[l] - mt->deadband, "%s/%s %g", s_devs[d]->id,
                                     mt->name, v);
                    if (aw_thresholds_has(&mt->low, (aw_level)l))
                        cr_assert_gt(v, mt->low.at[l] + mt->deadband, "%s/%s %g", s_devs[d]->id,
                                     mt->name, v);
                }
                cr_assert_geq(v, 0, "gas concentrations and levels are never negative");
            }
        }
    aw_sim_scenario_destroy(&s);
    aw_sim_scenario_destroy(&s);
}

Test(scenario, gas_leak_climbs_each_level_and_recovers)
{
    char why[256];
    aw_sim_scenario_t *s =
        s_new((aw_sim_scenario_opts){.kind = AW_SIM_GAS_LEAK, .start_ms = 10000, .step_ms = 4000},
              s_n, why);
    cr_assert_not_null(s, "%s", why);
    size_t d, m;
    s_find("huaxin-gas-1", "h2s", &d, &m); /* blue 5, yellow 10, orange 15, red 20 */
    static const struct {
        int64_t t;
        double lo, hi;
    } want[] = {{9000, 0, 5},     {10500, 5, 10},   {14500, 10, 15}, {18500, 15, 20},
                {22500, 20, 1e9}, {26500, 20, 1e9}, {30500, 15, 20}, {34500, 10, 15},
                {38500, 5, 10},   {42500, 0, 5},    {99000, 0, 5}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        for (uint64_t seq = 0; seq < 50; seq++) {
            double v = aw_sim_scenario_value(s, d, m, seq, want[i].t);
            cr_assert(v >= want[i].lo && v < want[i].hi, "t=%lld: %g not in [%g, %g)",
                      (long long)want[i].t, v, want[i].lo, want[i].hi);
        }
    size_t td, tm;
    s_find("huaxin-t3", "tank-level", &td, &tm);
    cr_assert_lt(aw_sim_scenario_value(s, td, tm, 1, 22500), 7.0, "other metrics stay normal");
    char line[256];
    int p0 = aw_sim_scenario_phase(s, 9000, line, sizeof line);
    int p1 = aw_sim_scenario_phase(s, 14500, line, sizeof line);
    cr_assert_neq(p0, p1);
    cr_assert(strstr(line, "huaxin-gas-1/h2s at yellow"), "%s", line);
    aw_sim_scenario_destroy(&s);
}

Test(scenario, missing_levels_are_skipped)
{
    char why[256];
    aw_sim_scenario_t *s = s_new((aw_sim_scenario_opts){.kind = AW_SIM_GAS_LEAK,
                                                        .target = "huaxin-t3/pressure",
                                                        .step_ms = 1000},
                                 s_n, why);
    cr_assert_not_null(s, "%s", why);
    size_t d, m;
    s_find("huaxin-t3", "pressure", &d, &m); /* high: yellow 250, red 300; low: blue 80 */
    double blue = aw_sim_scenario_value(s, d, m, 0, 500);
    double yellow = aw_sim_scenario_value(s, d, m, 0, 1500);
    double orange = aw_sim_scenario_value(s, d, m, 0, 2500);
    double red = aw_sim_scenario_value(s, d, m, 0, 3500);
    cr_assert(blue > 80 && blue < 250, "no blue threshold: stays normal, %g", blue);
    cr_assert(yellow >= 250 && yellow < 300, "%g", yellow);
    cr_assert(orange >= 250 && orange < 300, "no orange threshold: stays yellow, %g", orange);
    cr_assert_geq(red, 300);
    aw_sim_scenario_destroy(&s);
}

Test(scenario, dam_rise_drives_every_dam_metric_in_its_direction)
{
    char why[256];
    aw_sim_scenario_t *s =
        s_new((aw_sim_scenario_opts){.kind = AW_SIM_DAM_RISE, .step_ms = 1000}, s_n, why);
    cr_assert_not_null(s, "%s", why);
    size_t wd, wm, pd, pm;
    s_find("tongmu-dam-w1", "dam-water-level", &wd, &wm); /* high 120..123 */
    s_find("tongmu-dam-p1", "phreatic-line", &pd, &pm);   /* low 6, 5, 4, 3 */
    double w = aw_sim_scenario_value(s, wd, wm, 0, 3500),
           p = aw_sim_scenario_value(s, pd, pm, 0, 3500);
    cr_assert_geq(w, 123.0);
    cr_assert_leq(p, 3.0);
    p = aw_sim_scenario_value(s, pd, pm, 0, 1500); /* yellow: in (4, 5] */
    cr_assert(p <= 5.0 && p > 4.0, "%g", p);
    aw_sim_scenario_destroy(&s);
}

Test(scenario, noisy_wobbles_inside_the_deadband)
{
    char why[256];
    aw_sim_scenario_t *s = s_new(
        (aw_sim_scenario_opts){.kind = AW_SIM_NOISY, .start_ms = 1000, .step_ms = 5000}, s_n, why);
    cr_assert_not_null(s, "%s", why);
    size_t d, m;
    s_find("huaxin-t3", "tank-level", &d, &m); /* blue 7.0, deadband 0.1 */
    for (uint64_t seq = 0; seq < 10; seq++) {
        double v = aw_sim_scenario_value(s, d, m, seq, 2000);
        cr_assert(v >= 7.0 && v < 7.1, "first step: just past the threshold, %g", v);
    }
    for (uint64_t seq = 0; seq < 10; seq++) {
        double v = aw_sim_scenario_value(s, d, m, seq, 7000);
        cr_assert(v > 7.0 - 0.1 && v < 7.0 + 0.1, "%g", v);
        cr_assert_eq(v >= 7.0, seq % 2 == 0, "alternates around the threshold");
    }
    aw_sim_scenario_destroy(&s);
}

Test(scenario, dropout_silences_a_share_for_a_while)
{
    char why[256];
    aw_sim_scenario_t *s = s_new(
        (aw_sim_scenario_opts){
            .kind = AW_SIM_DROPOUT, .start_ms = 1000, .dropout_fraction = 0.4, .dropout_ms = 2000},
        s_n, why);
    size_t during = 0, before = 0, after = 0;
    for (size_t d = 0; d < s_n; d++) {
        before += (size_t)aw_sim_scenario_silent(s, d, 500);
        during += (size_t)aw_sim_scenario_silent(s, d, 1500);
        after += (size_t)aw_sim_scenario_silent(s, d, 3500);
    }
    cr_assert_eq(before, 0);
    cr_assert_eq(during, 2, "ceil(0.4 x 5)");
    cr_assert_eq(after, 0);
    aw_sim_scenario_destroy(&s);
}

Test(scenario, options_that_do_not_fit_say_what_to_do)
{
    char why[256] = "";
    cr_assert_null(
        s_new((aw_sim_scenario_opts){.kind = AW_SIM_GAS_LEAK, .target = "nope/x"}, s_n, why));
    cr_assert(strstr(why, "DEVICE/METRIC"), "%s", why);
    cr_assert_null(s_new(
        (aw_sim_scenario_opts){.kind = AW_SIM_STEADY, .target = "huaxin-t3/pressure"}, s_n, why));
    /* only the dam devices: no chemical site to leak */
    size_t d, m;
    s_find("tongmu-dam-w1", "dam-water-level", &d, &m);
    s_devs[0] = s_devs[d];
    cr_assert_null(s_new((aw_sim_scenario_opts){.kind = AW_SIM_GAS_LEAK}, 1, why));
    cr_assert(strstr(why, "--site PATH or --target"), "%s", why);
}
