/**
 * @file scenario.h
 * @brief What the simulated sensors measure: values derived from each
 * metric's registry thresholds, so that the edge's alarms really fire.
 *
 * Every metric has a *normal* value, well clear of its thresholds: below the
 * lowest `high` threshold (two level-steps below it), above the highest `low`
 * one, or midway between both directions; a metric without thresholds reads
 * around 20 (Cel) or 10. Readings are normal plus a small deterministic
 * noise (a hash of seed, device, metric and sample number), quantised to a
 * resolution fine enough for the metric's deadband.
 *
 * Scenarios (time τ counts from the start of the run; the event begins at
 * start_ms and, with repeat_ms, starts again every repeat_ms):
 * - steady: every metric at normal.
 * - gas-leak: one gas metric of a hazardous-chemicals site climbs the
 *   levels in steps of step_ms — blue, yellow, orange, red, red again, then
 *   back down orange, yellow, blue — and returns to normal. At each step the
 *   value sits mid-band (between that level's threshold and the next one),
 *   so each level holds for many samples whatever the debounce. Levels the
 *   metric has no threshold for are skipped (it stays at the level below).
 * - dam-rise: the same staircase for every thresholded metric of one
 *   tailings-dam site at once (water level up, phreatic line down, ...).
 * - dropout: a fraction of the devices stays silent from start_ms for
 *   dropout_ms (long enough for the edge to mark them stale), then returns.
 * - noisy: one metric sits on a threshold: for one step just inside the
 *   alarm side (threshold + 0.45 × deadband), then alternates sample by
 *   sample between threshold ± 0.45 × deadband. A correct edge raises one
 *   alarm and never clears or re-raises it (no flapping).
 */
#ifndef AW_SIM_SCENARIO_H
#define AW_SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

typedef enum aw_sim_scenario_kind {
    AW_SIM_STEADY,
    AW_SIM_GAS_LEAK,
    AW_SIM_DAM_RISE,
    AW_SIM_DROPOUT,
    AW_SIM_NOISY,
} aw_sim_scenario_kind;

/** Scenario settings; zero values mean "derive a sensible default". */
typedef struct aw_sim_scenario_opts {
    aw_sim_scenario_kind kind;
    const char *site;        /**< site path for gas-leak / dam-rise, or NULL: first fitting */
    const char *target;      /**< "DEVICE/METRIC" to drive, or NULL: chosen by the scenario */
    aw_level level;          /**< noisy: threshold to sit on; NONE = the lowest level present */
    int64_t start_ms;        /**< event starts this long after the run starts */
    int64_t step_ms;         /**< time per level (gas-leak, dam-rise, noisy); 0 = derived */
    int64_t repeat_ms;       /**< restart the event this often; 0 = once */
    double dropout_fraction; /**< dropout: share of the devices that go silent, 0..1 */
    int64_t dropout_ms;      /**< dropout: how long they stay silent; 0 = derived */
} aw_sim_scenario_opts;

/** Opaque, immutable after creation. */
typedef struct aw_sim_scenario aw_sim_scenario_t;

/** Returns the scenario named @p name ("steady", "gas-leak", ...) in *out, or AW_EINVAL. */
int aw_sim_scenario_parse(const char *name, aw_sim_scenario_kind *out);

/** Returns the name of @p kind (static string). */
const char *aw_sim_scenario_name(aw_sim_scenario_kind kind);

/**
 * Builds the scenario for the @p n simulated devices @p devs (borrowed, with
 * their reporting periods in @p period_ms; both must outlive the scenario).
 * On success *out is the caller's (aw_sim_scenario_destroy()). Returns
 * AW_OK, AW_ECONFIG (options that do not fit these devices; @p why says
 * what to pass instead) or AW_ENOMEM.
 */
int aw_sim_scenario_new(const aw_sim_scenario_opts *o, uint64_t seed, const aw_device *const *devs,
                        const int64_t *period_ms, size_t n, aw_sim_scenario_t **out, char *why,
                        size_t why_len);

/** Frees a scenario and nulls *s_p. Safe on NULL and twice. */
void aw_sim_scenario_destroy(aw_sim_scenario_t **s_p);

/**
 * Returns the value of metric @p metric of simulated device @p dev for its
 * sample number @p seq taken at @p tau_ms after the start of the run.
 * Always finite, already quantised.
 */
double aw_sim_scenario_value(const aw_sim_scenario_t *s, size_t dev, size_t metric, uint64_t seq,
                             int64_t tau_ms);

/** Returns true when simulated device @p dev must stay silent at @p tau_ms (dropout). */
int aw_sim_scenario_silent(const aw_sim_scenario_t *s, size_t dev, int64_t tau_ms);

/**
 * Returns the phase number at @p tau_ms (it changes when the scenario does
 * something new) and writes a one-line description of the phase into
 * @p buf, e.g. "gas-leak: huaxin-gas-1/h2s at yellow (~12.5 ppm)".
 */
int aw_sim_scenario_phase(const aw_sim_scenario_t *s, int64_t tau_ms, char *buf, size_t len);

/** Writes a one-line summary of the plan (targets, times) into @p buf. */
void aw_sim_scenario_describe(const aw_sim_scenario_t *s, char *buf, size_t len);

#endif
