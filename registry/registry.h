/**
 * @file registry.h
 * @brief The county registry (SPEC §1): grid tree, sites, devices, metric
 * thresholds and linkage plans, parsed from and emitted as JSON.
 *
 * A registry is immutable once parsed. aw_registry_parse() validates the
 * whole document and reports every fault with its JSON path, e.g.
 * `$.zones[0].villages[1].sites[0].devices[2].metrics[0].high.red: must be a
 * number`; on any fault it returns no registry at all, so a bad file changes
 * nothing.
 *
 * Rules beyond the SPEC text, decided here:
 * - `name` (county, zone, village, site, device) is optional; when present a
 *   non-empty string. Absent names read as "".
 * - `zones`, `villages`, `sites`, `devices` are required arrays (empty is
 *   fine), so a misspelt key is caught rather than read as "none".
 *   `plans` is optional.
 * - `interval_s` is optional, an integer 1..86400, default 60
 *   (AW_REGISTRY_DEFAULT_INTERVAL_S).
 * - Any device kind may have `metrics`; a sensor must have at least one.
 *   `uri` is required for sirens and loudspeakers, optional otherwise, and
 *   always `coap://` or `coaps://` followed by a host.
 * - A metric's `item` matches the metric name pattern and defaults to the
 *   metric name. A metric may have no thresholds (recorded, never alarms).
 *   `high` / `low` objects may hold only the keys blue, yellow, orange, red
 *   (a misspelt level is an error: silently dropping a threshold would be
 *   unsafe), at least one of them. When both directions are given, every
 *   low threshold must be below every high threshold.
 * - `deadband`: finite number ≥ 0, default 0. `debounce`: integer
 *   1..1000, default 1.
 * - Strings are at most 256 bytes (AW_REGISTRY_MAX_STRING), except a plan's
 *   `alert.instruction` and `alert.description`, at most 1024 bytes.
 *   jansson guarantees valid UTF-8 and no NUL bytes.
 * - Unknown fields are allowed and kept by the emitters (except inside
 *   `high` / `low`, see above).
 * - A plan's `id` matches `[a-z0-9._-]{1,64}`; `when.site` names a site;
 *   `alert.area` is a non-empty list of zone, village or site paths.
 *
 * Zone extracts: aw_registry_zone_json() writes a registry holding one zone,
 * marked by a top-level `"zone": "<zone path>"`. In such a document `zones`
 * must hold exactly that zone, and plan references (`when.site`,
 * `alert.area`) to other zones of the county are accepted when well formed,
 * since their targets are not in the extract.
 *
 * Lifetimes: every pointer a getter returns (structs, strings, arrays) is
 * borrowed from the registry and valid until aw_registry_destroy(). Lookups
 * are read-only and may run concurrently.
 */
#ifndef AW_REGISTRY_H
#define AW_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"
#include "grading.h"

#define AW_REGISTRY_MAX_BYTES          (16u * 1024 * 1024) /**< largest document accepted */
#define AW_REGISTRY_MAX_ERRORS         100  /**< messages kept in aw_registry_errors */
#define AW_REGISTRY_MAX_STRING         256  /**< bytes in any string field ... */
#define AW_REGISTRY_MAX_LONG_STRING    1024 /**< ... but alert instruction/description */
#define AW_REGISTRY_ID_MAX             64   /**< bytes in a device id, metric name, item, plan id */
#define AW_REGISTRY_DEFAULT_INTERVAL_S 60   /**< interval_s when absent */
#define AW_REGISTRY_MAX_INTERVAL_S     86400
#define AW_REGISTRY_MAX_DEBOUNCE       1000

typedef enum aw_zone_kind {
    AW_ZONE_TOWNSHIP,
    AW_ZONE_STREET_OFFICE,
    AW_ZONE_INDUSTRIAL_PARK,
} aw_zone_kind;

typedef enum aw_sector {
    AW_SECTOR_NON_COAL_MINE,
    AW_SECTOR_HAZARDOUS_CHEMICALS,
    AW_SECTOR_FIREWORKS,
    AW_SECTOR_INDUSTRY_TRADE,
    AW_SECTOR_DUST_EXPLOSION,
    AW_SECTOR_CONFINED_SPACE,
    AW_SECTOR_AMMONIA_REFRIGERATION,
    AW_SECTOR_TAILINGS_DAM,
} aw_sector;

typedef enum aw_device_kind {
    AW_DEVICE_SENSOR,
    AW_DEVICE_SIREN,
    AW_DEVICE_LOUDSPEAKER,
    AW_DEVICE_DISPLAY,
} aw_device_kind;

/** Threshold direction; values match anwang.Direction on the wire. */
typedef enum aw_direction {
    AW_DIRECTION_HIGH = 0, /**< alarm when the value rises to a threshold */
    AW_DIRECTION_LOW = 1,  /**< alarm when the value falls to a threshold */
} aw_direction;

typedef enum aw_plan_mode {
    AW_PLAN_AUTO,    /**< issue the alert at once */
    AW_PLAN_CONFIRM, /**< propose it to an operator */
} aw_plan_mode;

/** Thresholds of one direction: at[l] is set when bit (1u << l) of mask is. */
typedef struct aw_thresholds {
    unsigned mask;
    double at[AW_LEVEL_COUNT];
} aw_thresholds;

/** Returns whether @p t has a threshold for @p level. */
static inline int aw_thresholds_has(const aw_thresholds *t, aw_level level)
{
    return (t->mask >> level) & 1u;
}

typedef struct aw_zone aw_zone;
typedef struct aw_village aw_village;
typedef struct aw_site aw_site;
typedef struct aw_device aw_device;
typedef struct aw_metric aw_metric;

/* Each struct's `index` is its position in the registry-wide array that
 * aw_registry_zones() etc. return, so callers can keep parallel arrays. */

struct aw_zone {
    size_t index;
    const char *path; /**< "<county>/<segment>" */
    const char *name;
    aw_zone_kind kind;
    const aw_village *villages;
    size_t n_villages;
};

struct aw_village {
    size_t index;
    const char *path;
    const char *name;
    const aw_zone *zone;
    const aw_site *sites;
    size_t n_sites;
};

struct aw_site {
    size_t index;
    const char *path;
    const char *name;
    aw_sector sector;
    aw_level risk; /**< static grade, BLUE..RED */
    const aw_village *village;
    const aw_device *devices;
    size_t n_devices;
};

struct aw_device {
    size_t index;
    const char *id;
    const char *name;
    aw_device_kind kind;
    unsigned interval_s; /**< expected reporting interval */
    const char *uri;     /**< CoAP URI, NULL when absent */
    const aw_site *site;
    const aw_metric *metrics;
    size_t n_metrics;
};

struct aw_metric {
    size_t index;
    const char *name;
    const char *unit;
    const char *item; /**< monitored item for GB 51108; defaults to name */
    aw_thresholds high;
    aw_thresholds low;
    double deadband;
    unsigned debounce;
    const aw_device *device;
};

typedef struct aw_plan {
    size_t index;
    const char *id;
    const char *when_site;
    aw_level when_level;
    aw_plan_mode mode;
    const char *const *area; /**< grid paths */
    size_t n_area;
    const char *event;
    const char *severity;    /**< CAP: Extreme, Severe, Moderate, Minor, Unknown */
    const char *urgency;     /**< CAP: Immediate, Expected, Future, Past, Unknown */
    const char *certainty;   /**< CAP: Observed, Likely, Possible, Unlikely, Unknown */
    const char *headline;    /**< NULL when absent */
    const char *instruction; /**< NULL when absent */
    const char *description; /**< NULL when absent */
} aw_plan;

/** Opaque, immutable registry. */
typedef struct aw_registry aw_registry_t;

/**
 * Validation messages, each "JSON-path: reason". Zero-initialise before
 * first use; aw_registry_parse() and aw_registry_load_file() clear it on
 * entry; free with aw_registry_errors_clear().
 */
typedef struct aw_registry_errors {
    char **msgs;    /**< msgs[0..count-1], owned by this struct */
    size_t count;   /**< messages kept, at most AW_REGISTRY_MAX_ERRORS */
    size_t dropped; /**< further faults found but not kept */
} aw_registry_errors;

/** Frees the messages of @p errs and zeroes it. Safe on NULL and twice. */
void aw_registry_errors_clear(aw_registry_errors *errs);

/**
 * Parses and validates @p len bytes of registry JSON. On success *out is the
 * caller's (free with aw_registry_destroy()). On failure *out is NULL and,
 * when @p errs is not NULL, it lists every fault found.
 * Returns AW_OK, AW_EINVAL (malformed or invalid document), AW_ETOOBIG
 * (over AW_REGISTRY_MAX_BYTES) or AW_ENOMEM.
 */
int aw_registry_parse(const char *json, size_t len, aw_registry_t **out, aw_registry_errors *errs);

/**
 * Reads the file at @p path and parses it as aw_registry_parse() does.
 * Returns the same codes, plus AW_ENOTFOUND (no such file) or AW_EIO (any
 * other read error; errs then holds "<path>: <reason>").
 */
int aw_registry_load_file(const char *path, aw_registry_t **out, aw_registry_errors *errs);

/** Frees a registry and nulls *reg_p. Safe on NULL and twice. */
void aw_registry_destroy(aw_registry_t **reg_p);

/** Returns the county segment, e.g. "yueyang". */
const char *aw_registry_county(const aw_registry_t *reg);

/** Returns the county's display name ("" when absent). */
const char *aw_registry_name(const aw_registry_t *reg);

/** Returns the registry version (≥ 1). */
uint64_t aw_registry_version(const aw_registry_t *reg);

/** Returns the zone path of a zone extract, or NULL for a full registry. */
const char *aw_registry_extract_zone(const aw_registry_t *reg);

/* Registry-wide arrays in document order; each sets *n to its length. */
const aw_zone *aw_registry_zones(const aw_registry_t *reg, size_t *n);
const aw_village *aw_registry_villages(const aw_registry_t *reg, size_t *n);
const aw_site *aw_registry_sites(const aw_registry_t *reg, size_t *n);
const aw_device *aw_registry_devices(const aw_registry_t *reg, size_t *n);
const aw_metric *aw_registry_metrics(const aw_registry_t *reg, size_t *n);
const aw_plan *aw_registry_plans(const aw_registry_t *reg, size_t *n);

/** Returns the device with id @p id, or NULL. O(log n); fit for every reading. */
const aw_device *aw_registry_device_find(const aw_registry_t *reg, const char *id);

/** Returns the metric of @p dev named @p name, or NULL. */
const aw_metric *aw_registry_metric_find(const aw_device *dev, const char *name);

/** Returns the site with grid path @p path, or NULL. O(log n). */
const aw_site *aw_registry_site_find(const aw_registry_t *reg, const char *path);

/** Returns the zone with grid path @p path exactly, or NULL. */
const aw_zone *aw_registry_zone_find(const aw_registry_t *reg, const char *path);

/**
 * Returns the zone that contains grid path @p path (the zone itself, or a
 * village, site or any deeper path under it), or NULL.
 */
const aw_zone *aw_registry_zone_of(const aw_registry_t *reg, const char *path);

/**
 * Writes the registry as JSON (compact, same format as parsed, unknown
 * fields kept). On success *json is the caller's (free()).
 * Returns AW_OK or AW_ENOMEM.
 */
int aw_registry_to_json(const aw_registry_t *reg, char **json);

/**
 * Writes a zone extract for the edge of @p zone_path: the registry's
 * top-level fields, `"zone": zone_path`, `zones` holding only that zone, and
 * the plans whose `when.site` lies in the zone or whose `alert.area`
 * intersects it. The result parses again with aw_registry_parse().
 * On success *json is the caller's (free()).
 * Returns AW_OK, AW_ENOTFOUND (no such zone) or AW_ENOMEM.
 */
int aw_registry_zone_json(const aw_registry_t *reg, const char *zone_path, char **json);

/* Names as they appear in the JSON; static strings, "invalid" if out of range. */
const char *aw_zone_kind_name(aw_zone_kind kind);
const char *aw_sector_name(aw_sector sector);
const char *aw_device_kind_name(aw_device_kind kind);
const char *aw_plan_mode_name(aw_plan_mode mode);

#endif
