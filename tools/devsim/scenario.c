#include "scenario.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_TARGETS 16
#define S_NOISY_SHARE 0.45 /* of the deadband: the oscillation stays inside it */

enum { S_ROLE_NONE, S_ROLE_STAIRS, S_ROLE_NOISY };

/* The level the staircase asks for at each step; then back to normal. */
static const aw_level s_ladder[] = {AW_LEVEL_BLUE, AW_LEVEL_YELLOW, AW_LEVEL_ORANGE, AW_LEVEL_RED,
                                    AW_LEVEL_RED,  AW_LEVEL_ORANGE, AW_LEVEL_YELLOW, AW_LEVEL_BLUE};
#define S_LADDER_STEPS (sizeof s_ladder / sizeof s_ladder[0])

/* How one metric of one device behaves. Stair values are indexed by level. */
typedef struct s_profile {
    double normal, noise, scale, floor;
    int has_floor, role;
    unsigned stair_mask;
    double stair[AW_LEVEL_COUNT], stair_noise[AW_LEVEL_COUNT];
    double noisy_at, noisy_amp; /* noisy_amp carries the alarm side's sign */
} s_profile;

typedef struct s_target {
    size_t dev, metric;
} s_target;

struct aw_sim_scenario {
    aw_sim_scenario_opts o;
    uint64_t seed;
    const aw_device *const *devs;
    const int64_t *period_ms;
    size_t n;
    size_t *offset; /* first profile of each device */
    s_profile *prof;
    unsigned char *silent;
    size_t n_silent;
    s_target targets[S_MAX_TARGETS];
    size_t n_targets;
};

static const char *const s_names[] = {"steady", "gas-leak", "dam-rise", "dropout", "noisy"};

int aw_sim_scenario_parse(const char *name, aw_sim_scenario_kind *out)
{
    for (size_t i = 0; i < sizeof s_names / sizeof s_names[0]; i++)
        if (name && strcmp(name, s_names[i]) == 0) {
            *out = (aw_sim_scenario_kind)i;
            return AW_OK;
        }
    return AW_EINVAL;
}

const char *aw_sim_scenario_name(aw_sim_scenario_kind kind)
{
    return (size_t)kind < sizeof s_names / sizeof s_names[0] ? s_names[kind] : "invalid";
}

/* ------------------------------------------------------------ profiles */

/* Thresholds of one direction seen as a "high" direction: u = sign × t. */
typedef struct s_dir {
    int count;
    double first, last, step; /* in u-space: least and most severe present */
} s_dir;

static s_dir s_dir_stats(const aw_thresholds *t, double sign)
{
    s_dir d = {0};
    for (int l = AW_LEVEL_BLUE; l <= AW_LEVEL_RED; l++) {
        if (!aw_thresholds_has(t, (aw_level)l))
            continue;
        double u = sign * t->at[l];
        if (d.count++ == 0)
            d.first = u;
        d.last = u;
    }
    if (d.count >= 2)
        d.step = fabs(d.last - d.first) / (d.count - 1);
    if (d.step <= 0)
        d.step = d.first != 0 ? 0.2 * fabs(d.first) : 1.0;
    return d;
}

/* Sets normal, noise and the quantisation scale of @p p from @p m. */
static void s_profile_base(s_profile *p, const aw_metric *m)
{
    s_dir hi = s_dir_stats(&m->high, 1.0), lo = s_dir_stats(&m->low, -1.0);
    double step;
    if (hi.count && lo.count) {
        step = fmin(hi.step, lo.step);
        p->normal = (hi.first - lo.first) / 2; /* midway: lo.first is -t */
        p->noise = fmin(step / 10, (hi.first + lo.first) / 8);
    } else if (hi.count) {
        step = hi.step;
        p->normal = hi.first - 2 * step;
        if (hi.first > 0 && p->normal < 0)
            p->normal = 0.2 * hi.first;
        p->noise = fmin(step / 10, (hi.first - p->normal) / 4);
    } else if (lo.count) {
        step = lo.step;
        p->normal = -lo.first + 2 * step;
        p->noise = fmin(step / 10, (p->normal + lo.first) / 4);
    } else {
        p->normal = strcmp(m->unit, "Cel") == 0 ? 20.0 : 10.0;
        step = p->normal / 5;
        p->noise = p->normal / 50;
    }
    double res = step / 100;
    if (m->deadband > 0)
        res = fmin(res, m->deadband / 20);
    int decimals = (int)ceil(-log10(res));
    decimals = decimals < 0 ? 0 : decimals > 6 ? 6 : decimals;
    p->scale = pow(10.0, decimals);
    int nonneg = (!hi.count || hi.first >= 0) && (!lo.count || -lo.first >= 0);
    p->has_floor = nonneg && p->normal >= 0;
    p->floor = 0;
}

/* Fills the stair of each present level of direction @p t (sign +1 high, -1 low). */
static void s_profile_stairs(s_profile *p, const aw_thresholds *t, double sign)
{
    s_dir d = s_dir_stats(t, sign);
    for (int l = AW_LEVEL_BLUE; l <= AW_LEVEL_RED; l++) {
        if (!aw_thresholds_has(t, (aw_level)l))
            continue;
        double u = sign * t->at[l], upper = INFINITY;
        for (int h = l + 1; h <= AW_LEVEL_RED; h++)
            if (aw_thresholds_has(t, (aw_level)h) && sign * t->at[h] > u)
                upper = fmin(upper, sign * t->at[h]);
        double band = isfinite(upper) ? upper - u : d.step;
        double v = isfinite(upper) ? (u + upper) / 2 : u + d.step / 2;
        p->stair[l] = sign * v;
        p->stair_noise[l] = fmin(p->noise, band / 4);
        p->stair_mask |= 1u << l;
    }
    p->role = S_ROLE_STAIRS;
}

/* Makes @p p sit on the threshold of @p level (NONE: the lowest present). */
static int s_profile_noisy(s_profile *p, const aw_metric *m, aw_level level)
{
    const aw_thresholds *t = m->high.mask ? &m->high : &m->low;
    double sign = m->high.mask ? 1.0 : -1.0;
    if (level == AW_LEVEL_NONE)
        for (int l = AW_LEVEL_RED; l >= AW_LEVEL_BLUE; l--)
            if (aw_thresholds_has(t, (aw_level)l))
                level = (aw_level)l;
    if (level == AW_LEVEL_NONE || !aw_thresholds_has(t, level) || m->deadband <= 0)
        return AW_ECONFIG;
    p->noisy_at = t->at[level];
    p->noisy_amp = sign * S_NOISY_SHARE * m->deadband;
    p->role = S_ROLE_NOISY;
    return AW_OK;
}

static int s_profiles_new(aw_sim_scenario_t *s)
{
    size_t total = 0;
    s->offset = calloc(s->n + 1, sizeof *s->offset);
    s->silent = calloc(s->n + 1, 1);
    if (!s->offset || !s->silent)
        return AW_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        s->offset[i] = total;
        total += s->devs[i]->n_metrics;
    }
    s->offset[s->n] = total;
    s->prof = calloc(total + 1, sizeof *s->prof);
    if (!s->prof)
        return AW_ENOMEM;
    for (size_t i = 0; i < s->n; i++)
        for (size_t m = 0; m < s->devs[i]->n_metrics; m++)
            s_profile_base(&s->prof[s->offset[i] + m], &s->devs[i]->metrics[m]);
    return AW_OK;
}

/* ------------------------------------------------------------ targets */

static int s_has_thresholds(const aw_metric *m)
{
    return m->high.mask != 0 || m->low.mask != 0;
}

static int s_is_gas(const aw_metric *m)
{
    static const char *const gases[] = {"h2s", "ch4", "co",  "nh3", "cl2", "so2",
                                        "no2", "hcn", "lel", "voc", "gas", "combustible"};
    for (size_t i = 0; i < sizeof gases / sizeof gases[0]; i++)
        if (strstr(m->name, gases[i]) || strstr(m->item, gases[i]))
            return 1;
    return 0;
}

static int s_add_target(aw_sim_scenario_t *s, size_t dev, size_t metric)
{
    if (s->n_targets == S_MAX_TARGETS)
        return 0;
    s->targets[s->n_targets++] = (s_target){dev, metric};
    return 1;
}

/* Finds "DEVICE/METRIC" among the simulated devices. */
static int s_find_target(aw_sim_scenario_t *s, const char *spec, char *why, size_t len)
{
    const char *slash = strchr(spec, '/');
    size_t idlen = slash ? (size_t)(slash - spec) : 0;
    for (size_t i = 0; slash && i < s->n; i++) {
        const aw_device *d = s->devs[i];
        if (strlen(d->id) != idlen || strncmp(d->id, spec, idlen) != 0)
            continue;
        for (size_t m = 0; m < d->n_metrics; m++)
            if (strcmp(d->metrics[m].name, slash + 1) == 0 && s_add_target(s, i, m))
                return AW_OK;
    }
    snprintf(why, len,
             "--target %s: no simulated device/metric of that name (write DEVICE/METRIC; "
             "only devices routed to an edge by --edge/--zone/--devices are simulated)",
             spec);
    return AW_ECONFIG;
}

static int s_site_matches(const aw_sim_scenario_t *s, const aw_device *d, aw_sector sector)
{
    if (s->o.site)
        return strcmp(d->site->path, s->o.site) == 0;
    return d->site->sector == sector;
}

/* gas-leak: the first gas metric (else the first high-thresholded one) of a chemical site. */
static int s_pick_gas(aw_sim_scenario_t *s, char *why, size_t len)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < s->n; i++) {
            const aw_device *d = s->devs[i];
            if (!s_site_matches(s, d, AW_SECTOR_HAZARDOUS_CHEMICALS))
                continue;
            for (size_t m = 0; m < d->n_metrics; m++)
                if (d->metrics[m].high.mask && (pass == 1 || s_is_gas(&d->metrics[m]))) {
                    s_add_target(s, i, m);
                    return AW_OK;
                }
        }
    snprintf(why, len,
             "gas-leak: no %s among the simulated devices has a metric with `high` thresholds; "
             "pass --site PATH or --target DEVICE/METRIC",
             s->o.site ? s->o.site : "hazardous-chemicals site");
    return AW_ECONFIG;
}

/* dam-rise: every thresholded metric of the first tailings-dam site. */
static int s_pick_dam(aw_sim_scenario_t *s, char *why, size_t len)
{
    const aw_site *site = NULL;
    for (size_t i = 0; i < s->n; i++) {
        const aw_device *d = s->devs[i];
        if (!s_site_matches(s, d, AW_SECTOR_TAILINGS_DAM) || (site && d->site != site))
            continue;
        for (size_t m = 0; m < d->n_metrics; m++)
            if (s_has_thresholds(&d->metrics[m]) && s_add_target(s, i, m))
                site = d->site;
    }
    if (site)
        return AW_OK;
    snprintf(why, len,
             "dam-rise: no %s among the simulated devices has a thresholded metric; "
             "pass --site PATH or --target DEVICE/METRIC",
             s->o.site ? s->o.site : "tailings-dam site");
    return AW_ECONFIG;
}

/* noisy: the first metric with thresholds and a deadband. */
static int s_pick_noisy(aw_sim_scenario_t *s, char *why, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        for (size_t m = 0; m < s->devs[i]->n_metrics; m++) {
            const aw_metric *mt = &s->devs[i]->metrics[m];
            if (s_has_thresholds(mt) && mt->deadband > 0 && s_add_target(s, i, m))
                return AW_OK;
        }
    snprintf(why, len,
             "noisy: no simulated metric has thresholds and a deadband > 0; "
             "pass --target DEVICE/METRIC of one that has");
    return AW_ECONFIG;
}

static int s_pick_targets(aw_sim_scenario_t *s, char *why, size_t len)
{
    if (s->o.target)
        return s_find_target(s, s->o.target, why, len);
    switch (s->o.kind) {
    case AW_SIM_GAS_LEAK:
        return s_pick_gas(s, why, len);
    case AW_SIM_DAM_RISE:
        return s_pick_dam(s, why, len);
    case AW_SIM_NOISY:
        return s_pick_noisy(s, why, len);
    default:
        return AW_OK;
    }
}

/* Gives each target its role; noisy needs a deadband and the chosen level. */
static int s_apply_roles(aw_sim_scenario_t *s, char *why, size_t len)
{
    for (size_t i = 0; i < s->n_targets; i++) {
        const aw_device *d = s->devs[s->targets[i].dev];
        const aw_metric *m = &d->metrics[s->targets[i].metric];
        s_profile *p = &s->prof[s->offset[s->targets[i].dev] + s->targets[i].metric];
        if (!s_has_thresholds(m)) {
            snprintf(why, len, "%s/%s has no thresholds: nothing to drive (pick another --target)",
                     d->id, m->name);
            return AW_ECONFIG;
        }
        if (s->o.kind != AW_SIM_NOISY) {
            s_profile_stairs(p, m->high.mask ? &m->high : &m->low, m->high.mask ? 1.0 : -1.0);
        } else if (s_profile_noisy(p, m, s->o.level) != AW_OK) {
            snprintf(why, len,
                     "noisy: %s/%s needs a deadband > 0 and a threshold at the --level asked for",
                     d->id, m->name);
            return AW_ECONFIG;
        }
    }
    return AW_OK;
}

/* Time per level: enough samples at the slowest target to pass its debounce. */
static void s_derive_step(aw_sim_scenario_t *s)
{
    if (s->o.step_ms > 0)
        return;
    int64_t step = 5000;
    for (size_t i = 0; i < s->n_targets; i++) {
        const aw_device *d = s->devs[s->targets[i].dev];
        int64_t need = (int64_t)(d->metrics[s->targets[i].metric].debounce + 2) *
                       s->period_ms[s->targets[i].dev];
        step = need > step ? need : step;
    }
    s->o.step_ms = step;
}

/* dropout: a seeded choice of ceil(fraction × n) devices, at least one. */
static void s_pick_silent(aw_sim_scenario_t *s)
{
    size_t want = (size_t)ceil(s->o.dropout_fraction * (double)s->n);
    want = want < 1 ? 1 : want > s->n ? s->n : want;
    uint64_t x = s->seed ^ 0x5eed5eedull;
    int64_t longest = 0;
    while (s->n_silent < want) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t i = (size_t)((x >> 33) % s->n);
        if (s->silent[i])
            continue;
        s->silent[i] = 1;
        s->n_silent++;
        longest = s->period_ms[i] > longest ? s->period_ms[i] : longest;
    }
    if (s->o.dropout_ms <= 0)
        s->o.dropout_ms = 4 * longest > 30000 ? 4 * longest : 30000;
}

/* A repeat shorter than the event would cut it off half way. */
static int s_check_repeat(const aw_sim_scenario_t *s, char *why, size_t len)
{
    int64_t event = s->o.kind == AW_SIM_DROPOUT ? s->o.dropout_ms
                    : s->o.kind == AW_SIM_GAS_LEAK || s->o.kind == AW_SIM_DAM_RISE
                        ? (int64_t)(S_LADDER_STEPS + 1) * s->o.step_ms
                        : 0;
    if (s->o.repeat_ms <= 0 || s->o.repeat_ms > event)
        return AW_OK;
    snprintf(why, len,
             "--repeat %.1fs is shorter than one %s event (%.1fs): make it longer, or shorten "
             "--step / --dropout-for",
             (double)s->o.repeat_ms / 1000, aw_sim_scenario_name(s->o.kind), (double)event / 1000);
    return AW_ECONFIG;
}

int aw_sim_scenario_new(const aw_sim_scenario_opts *o, uint64_t seed, const aw_device *const *devs,
                        const int64_t *period_ms, size_t n, aw_sim_scenario_t **out, char *why,
                        size_t why_len)
{
    *out = NULL;
    aw_sim_scenario_t *s = calloc(1, sizeof *s);
    if (!s)
        return AW_ENOMEM;
    *s = (aw_sim_scenario_t){.o = *o, .seed = seed, .devs = devs, .period_ms = period_ms, .n = n};
    int rv = s_profiles_new(s);
    if (rv == AW_OK && (o->kind == AW_SIM_STEADY || o->kind == AW_SIM_DROPOUT) && o->target) {
        snprintf(why, why_len, "--target applies to gas-leak, dam-rise and noisy only");
        rv = AW_ECONFIG;
    }
    if (rv == AW_OK)
        rv = s_pick_targets(s, why, why_len);
    if (rv == AW_OK)
        rv = s_apply_roles(s, why, why_len);
    if (rv != AW_OK) {
        aw_sim_scenario_destroy(&s);
        return rv;
    }
    s_derive_step(s);
    if (o->kind == AW_SIM_DROPOUT && n > 0)
        s_pick_silent(s);
    if ((rv = s_check_repeat(s, why, why_len)) != AW_OK) {
        aw_sim_scenario_destroy(&s);
        return rv;
    }
    *out = s;
    return AW_OK;
}

void aw_sim_scenario_destroy(aw_sim_scenario_t **s_p)
{
    if (!s_p || !*s_p)
        return;
    free((*s_p)->offset);
    free((*s_p)->prof);
    free((*s_p)->silent);
    free(*s_p);
    *s_p = NULL;
}

/* ------------------------------------------------------------ values */

/* A uniform deterministic number in [-1, 1) for one sample (splitmix64). */
static double s_noise(uint64_t seed, size_t dev, size_t metric, uint64_t seq)
{
    uint64_t z =
        seed + 0x9e3779b97f4a7c15ull * (1 + dev * 0x10001u + metric * 0x101u + seq * 7919u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) / (double)(1ull << 52) - 1.0;
}

/* Time into the event (negative before it), folded by repeat_ms. */
static int64_t s_event_time(const aw_sim_scenario_t *s, int64_t tau_ms, int64_t *cycle)
{
    int64_t t = tau_ms - s->o.start_ms;
    *cycle = 0;
    if (t >= 0 && s->o.repeat_ms > 0) {
        *cycle = t / s->o.repeat_ms;
        t %= s->o.repeat_ms;
    }
    return t;
}

/* The level asked for at event time @p t: NONE before and after the staircase. */
static aw_level s_ladder_level(const aw_sim_scenario_t *s, int64_t t, int64_t *step)
{
    *step = t < 0 ? -1 : t / s->o.step_ms;
    return *step >= 0 && *step < (int64_t)S_LADDER_STEPS ? s_ladder[*step] : AW_LEVEL_NONE;
}

/* The highest level at most @p want that @p p has a stair for, or NONE. */
static aw_level s_stair_for(const s_profile *p, aw_level want)
{
    for (int l = want; l >= AW_LEVEL_BLUE; l--)
        if (p->stair_mask & (1u << l))
            return (aw_level)l;
    return AW_LEVEL_NONE;
}

static double s_quantise(const s_profile *p, double v)
{
    if (p->has_floor && v < p->floor)
        v = p->floor;
    return round(v * p->scale) / p->scale;
}

double aw_sim_scenario_value(const aw_sim_scenario_t *s, size_t dev, size_t metric, uint64_t seq,
                             int64_t tau_ms)
{
    const s_profile *p = &s->prof[s->offset[dev] + metric];
    double noise = s_noise(s->seed, dev, metric, seq);
    int64_t cycle, step, t = s_event_time(s, tau_ms, &cycle);
    if (p->role == S_ROLE_STAIRS) {
        aw_level l = s_stair_for(p, s_ladder_level(s, t, &step));
        if (l != AW_LEVEL_NONE)
            return s_quantise(p, p->stair[l] + noise * p->stair_noise[l]);
    } else if (p->role == S_ROLE_NOISY && t >= 0) {
        int inside = t < s->o.step_ms || seq % 2 == 0;
        return s_quantise(p, p->noisy_at + (inside ? p->noisy_amp : -p->noisy_amp));
    }
    return s_quantise(p, p->normal + noise * p->noise);
}

int aw_sim_scenario_silent(const aw_sim_scenario_t *s, size_t dev, int64_t tau_ms)
{
    int64_t cycle, t = s_event_time(s, tau_ms, &cycle);
    return s->o.kind == AW_SIM_DROPOUT && s->silent[dev] && t >= 0 && t < s->o.dropout_ms;
}

/* ------------------------------------------------------------ descriptions */

static void s_describe_target(const aw_sim_scenario_t *s, size_t i, aw_level l, char *buf,
                              size_t len)
{
    const aw_device *d = s->devs[s->targets[i].dev];
    const aw_metric *m = &d->metrics[s->targets[i].metric];
    const s_profile *p = &s->prof[s->offset[s->targets[i].dev] + s->targets[i].metric];
    aw_level at = s_stair_for(p, l);
    double v = at == AW_LEVEL_NONE ? p->normal : p->stair[at];
    snprintf(buf, len, "%s/%s at %s (~%g %s)", d->id, m->name,
             at == AW_LEVEL_NONE ? "normal" : aw_level_name(at), s_quantise(p, v), m->unit);
}

static int s_phase_stairs(const aw_sim_scenario_t *s, int64_t t, char *buf, size_t len)
{
    int64_t step;
    aw_level l = s_ladder_level(s, t, &step);
    size_t used = (size_t)snprintf(buf, len, "%s: ", aw_sim_scenario_name(s->o.kind));
    for (size_t i = 0; i < s->n_targets && used < len; i++) {
        s_describe_target(s, i, l, buf + used, len - used);
        used += strlen(buf + used);
        if (i + 1 < s->n_targets && used + 2 < len)
            used += (size_t)snprintf(buf + used, len - used, ", ");
    }
    if (step >= (int64_t)S_LADDER_STEPS && used < len)
        snprintf(buf + used, len - used, " — recovered");
    return step < 0 ? 0 : step >= (int64_t)S_LADDER_STEPS ? (int)S_LADDER_STEPS + 1 : (int)step + 1;
}

static int s_phase_noisy(const aw_sim_scenario_t *s, int64_t t, char *buf, size_t len)
{
    const aw_device *d = s->devs[s->targets[0].dev];
    const aw_metric *m = &d->metrics[s->targets[0].metric];
    const s_profile *p = &s->prof[s->offset[s->targets[0].dev] + s->targets[0].metric];
    int phase = t < 0 ? 0 : t < s->o.step_ms ? 1 : 2;
    static const char *const what[] = {"normal", "just past the threshold (alarm expected once)",
                                       "oscillating inside the deadband (no flapping expected)"};
    snprintf(buf, len, "noisy: %s/%s %s: %g ± %g %s", d->id, m->name, what[phase], p->noisy_at,
             fabs(p->noisy_amp), m->unit);
    return phase;
}

static int s_phase_dropout(const aw_sim_scenario_t *s, int64_t t, char *buf, size_t len)
{
    int phase = t < 0 ? 0 : t < s->o.dropout_ms ? 1 : 2;
    size_t used = (size_t)snprintf(buf, len, "dropout: %zu device(s) %s", s->n_silent,
                                   phase == 1   ? "silent:"
                                   : phase == 2 ? "back:"
                                                : "to go silent later:");
    for (size_t i = 0; i < s->n && used < len; i++)
        if (s->silent[i])
            used += (size_t)snprintf(buf + used, len - used, " %s", s->devs[i]->id);
    return phase;
}

int aw_sim_scenario_phase(const aw_sim_scenario_t *s, int64_t tau_ms, char *buf, size_t len)
{
    int64_t cycle, t = s_event_time(s, tau_ms, &cycle);
    int phase;
    buf[0] = '\0';
    switch (s->o.kind) {
    case AW_SIM_GAS_LEAK:
    case AW_SIM_DAM_RISE:
        phase = s_phase_stairs(s, t, buf, len);
        break;
    case AW_SIM_NOISY:
        phase = s_phase_noisy(s, t, buf, len);
        break;
    case AW_SIM_DROPOUT:
        phase = s->n ? s_phase_dropout(s, t, buf, len) : 0;
        break;
    default:
        phase = 0;
        snprintf(buf, len, "steady: every metric at normal");
    }
    return (int)cycle * 100 + phase;
}

void aw_sim_scenario_describe(const aw_sim_scenario_t *s, char *buf, size_t len)
{
    char rep[64] = "";
    if (s->o.repeat_ms > 0)
        snprintf(rep, sizeof rep, ", repeating every %.1fs", (double)s->o.repeat_ms / 1000);
    switch (s->o.kind) {
    case AW_SIM_GAS_LEAK:
    case AW_SIM_DAM_RISE:
        snprintf(buf, len,
                 "scenario %s: %zu metric(s) climb blue→red and back from %.1fs, %.1fs per "
                 "level%s",
                 aw_sim_scenario_name(s->o.kind), s->n_targets, (double)s->o.start_ms / 1000,
                 (double)s->o.step_ms / 1000, rep);
        break;
    case AW_SIM_NOISY:
        snprintf(buf, len,
                 "scenario noisy: from %.1fs, inside the alarm for %.1fs, then oscillating%s",
                 (double)s->o.start_ms / 1000, (double)s->o.step_ms / 1000, rep);
        break;
    case AW_SIM_DROPOUT:
        snprintf(buf, len, "scenario dropout: %zu of %zu device(s) silent from %.1fs for %.1fs%s",
                 s->n_silent, s->n, (double)s->o.start_ms / 1000, (double)s->o.dropout_ms / 1000,
                 rep);
        break;
    default:
        snprintf(buf, len, "scenario steady: every metric at normal with small noise");
    }
}
