/* The registry of SPEC §1: validating parser, lookups and emitters.
 *
 * Parsing runs in three steps. s_alloc() sizes every entity array from the
 * JSON, so the arrays are allocated once and pointers between entities stay
 * valid. The walk (s_read_*) fills one slot per JSON array element, checking
 * each field against a declarative table (s_field) and recording every fault
 * with its JSON path. s_index() then sorts the lookup indexes and reports
 * duplicates; plans are read last because they refer to sites and paths.
 * Strings point into the jansson tree, which the registry keeps. */
#include "registry.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A zone, village or site in the path index. */
typedef struct s_node {
    const char *path;
    int depth; /* segments: 2 zone, 3 village, 4 site */
    size_t index;
} s_node;

struct aw_registry {
    json_t *root;
    const char *county;
    const char *name;
    const char *extract_zone;
    uint64_t version;
    aw_zone *zones;
    size_t n_zones;
    aw_village *villages;
    size_t n_villages;
    aw_site *sites;
    size_t n_sites;
    aw_device *devices;
    size_t n_devices;
    aw_metric *metrics;
    size_t n_metrics;
    aw_plan *plans;
    size_t n_plans;
    const char **areas;
    size_t n_areas;
    const aw_device **by_id; /* devices with an id, sorted by id */
    size_t n_by_id;
    s_node *by_path; /* zones, villages, sites, sorted by path */
    size_t n_by_path;
};

/* ------------------------------------------------------------ name tables */

typedef struct s_name {
    const char *name;
    int value;
} s_name;

static const s_name s_zone_kinds[] = {
    {"township", AW_ZONE_TOWNSHIP},
    {"street-office", AW_ZONE_STREET_OFFICE},
    {"industrial-park", AW_ZONE_INDUSTRIAL_PARK},
    {NULL, 0},
};

static const s_name s_sectors[] = {
    {"non-coal-mine", AW_SECTOR_NON_COAL_MINE},
    {"hazardous-chemicals", AW_SECTOR_HAZARDOUS_CHEMICALS},
    {"fireworks", AW_SECTOR_FIREWORKS},
    {"industry-trade", AW_SECTOR_INDUSTRY_TRADE},
    {"dust-explosion", AW_SECTOR_DUST_EXPLOSION},
    {"confined-space", AW_SECTOR_CONFINED_SPACE},
    {"ammonia-refrigeration", AW_SECTOR_AMMONIA_REFRIGERATION},
    {"tailings-dam", AW_SECTOR_TAILINGS_DAM},
    {NULL, 0},
};

static const s_name s_device_kinds[] = {
    {"sensor", AW_DEVICE_SENSOR},
    {"siren", AW_DEVICE_SIREN},
    {"loudspeaker", AW_DEVICE_LOUDSPEAKER},
    {"display", AW_DEVICE_DISPLAY},
    {NULL, 0},
};

static const s_name s_levels[] = {
    {"blue", AW_LEVEL_BLUE},
    {"yellow", AW_LEVEL_YELLOW},
    {"orange", AW_LEVEL_ORANGE},
    {"red", AW_LEVEL_RED},
    {NULL, 0},
};

static const s_name s_plan_modes[] = {
    {"auto", AW_PLAN_AUTO},
    {"confirm", AW_PLAN_CONFIRM},
    {NULL, 0},
};

/* CAP 1.2 values; the value is unused, the string is kept. */
static const s_name s_cap_severity[] = {
    {"Extreme", 0}, {"Severe", 0}, {"Moderate", 0}, {"Minor", 0}, {"Unknown", 0}, {NULL, 0},
};
static const s_name s_cap_urgency[] = {
    {"Immediate", 0}, {"Expected", 0}, {"Future", 0}, {"Past", 0}, {"Unknown", 0}, {NULL, 0},
};
static const s_name s_cap_certainty[] = {
    {"Observed", 0}, {"Likely", 0}, {"Possible", 0}, {"Unlikely", 0}, {"Unknown", 0}, {NULL, 0},
};

_Static_assert(sizeof(aw_zone_kind) == sizeof(int) && sizeof(aw_sector) == sizeof(int) &&
                   sizeof(aw_device_kind) == sizeof(int) && sizeof(aw_level) == sizeof(int) &&
                   sizeof(aw_plan_mode) == sizeof(int),
               "enum fields are stored as int");

static const s_name *s_name_find(const s_name *table, const char *name)
{
    for (; table->name; table++) {
        if (strcmp(table->name, name) == 0)
            return table;
    }
    return NULL;
}

static const char *s_name_of(const s_name *table, int value)
{
    for (; table->name; table++) {
        if (table->value == value)
            return table->name;
    }
    return "invalid";
}

const char *aw_zone_kind_name(aw_zone_kind kind)
{
    return s_name_of(s_zone_kinds, (int)kind);
}

const char *aw_sector_name(aw_sector sector)
{
    return s_name_of(s_sectors, (int)sector);
}

const char *aw_device_kind_name(aw_device_kind kind)
{
    return s_name_of(s_device_kinds, (int)kind);
}

const char *aw_plan_mode_name(aw_plan_mode mode)
{
    return s_name_of(s_plan_modes, (int)mode);
}

/* ------------------------------------------------------------ error list */

void aw_registry_errors_clear(aw_registry_errors *errs)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->count; i++)
        free(errs->msgs[i]);
    free(errs->msgs);
    memset(errs, 0, sizeof *errs);
}

/* Cuts a truncated message back to a UTF-8 character boundary. */
static void s_utf8_trim(char *s, size_t len)
{
    size_t end = len;

    while (end > 0 && ((unsigned char)s[end - 1] & 0xC0) == 0x80)
        end--;
    if (end > 0 && ((unsigned char)s[end - 1] & 0x80)) {
        unsigned char lead = (unsigned char)s[end - 1];
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (len - (end - 1) < need)
            s[end - 1] = '\0';
    }
}

/* Appends a copy of @p msg. Returns AW_OK, or AW_ENOMEM. */
static int s_errs_push(aw_registry_errors *errs, const char *msg)
{
    if (!errs)
        return AW_OK;
    if (errs->count >= AW_REGISTRY_MAX_ERRORS) {
        errs->dropped++;
        return AW_OK;
    }
    if (!errs->msgs) {
        errs->msgs = calloc(AW_REGISTRY_MAX_ERRORS, sizeof *errs->msgs);
        if (!errs->msgs)
            return AW_ENOMEM;
    }
    errs->msgs[errs->count] = strdup(msg);
    if (!errs->msgs[errs->count])
        return AW_ENOMEM;
    errs->count++;
    return AW_OK;
}

/* ------------------------------------------------------------ parse context */

#define S_PATH_MAX 256
#define S_MSG_MAX  640

typedef struct s_ctx {
    aw_registry_t *reg;
    aw_registry_errors *errs; /* may be NULL */
    size_t faults;
    bool oom;
    size_t used_villages, used_sites, used_devices, used_metrics, used_areas;
    char path[S_PATH_MAX]; /* JSON path of the value being read */
    size_t plen;
} s_ctx;

/* Records one fault at the current path (plus ".key" when @p key is set). */
static void s_err(s_ctx *c, const char *key, const char *fmt, ...)
{
    char msg[S_MSG_MAX];
    va_list ap;
    int n;

    c->faults++;
    if (!c->errs)
        return;
    n = snprintf(msg, sizeof msg, "%s%s%s: ", c->path, key ? "." : "", key ? key : "");
    if (n < 0 || (size_t)n >= sizeof msg)
        n = (int)sizeof msg - 1;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    s_utf8_trim(msg, strlen(msg));
    if (s_errs_push(c->errs, msg) != AW_OK)
        c->oom = true;
}

/* Appends ".key" and/or "[idx]" (idx < 0: none) to the path; returns the
 * length to restore with s_pop(). */
static size_t s_push(s_ctx *c, const char *key, long idx)
{
    size_t old = c->plen;
    int n = 0;

    if (key)
        n = snprintf(c->path + c->plen, S_PATH_MAX - c->plen, ".%s", key);
    if (n > 0)
        c->plen = c->plen + (size_t)n < S_PATH_MAX ? c->plen + (size_t)n : S_PATH_MAX - 1;
    n = 0;
    if (idx >= 0)
        n = snprintf(c->path + c->plen, S_PATH_MAX - c->plen, "[%ld]", idx);
    if (n > 0)
        c->plen = c->plen + (size_t)n < S_PATH_MAX ? c->plen + (size_t)n : S_PATH_MAX - 1;
    return old;
}

static void s_pop(s_ctx *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

/* ------------------------------------------------------------ value checks */

static bool s_is_slug_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

static bool s_is_id(const char *s, size_t len)
{
    if (len < 1 || len > AW_REGISTRY_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!s_is_slug_char(s[i]) && s[i] != '.' && s[i] != '_')
            return false;
    }
    return true;
}

/* Returns the number of segments of a well-formed grid path, 0 otherwise. */
static int s_path_depth(const char *s, size_t len)
{
    int depth = 1;
    size_t seg = 0;

    if (len > AW_REGISTRY_MAX_STRING)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '/') {
            if (seg == 0)
                return 0;
            depth++;
            seg = 0;
        } else if (s_is_slug_char(s[i])) {
            seg++;
        } else {
            return 0;
        }
    }
    return seg > 0 ? depth : 0;
}

static bool s_is_coap_uri(const char *s, size_t len)
{
    size_t skip;

    if (len > AW_REGISTRY_MAX_STRING)
        return false;
    if (strncmp(s, "coap://", 7) == 0)
        skip = 7;
    else if (strncmp(s, "coaps://", 8) == 0)
        skip = 8;
    else
        return false;
    if (len <= skip || s[skip] == '/')
        return false;
    for (size_t i = skip; i < len; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return false;
    }
    return true;
}

/* Returns whether @p path is @p parent plus exactly one more segment. */
static bool s_is_child_path(const char *parent, const char *path)
{
    size_t n = strlen(parent);

    return strncmp(path, parent, n) == 0 && path[n] == '/' && path[n + 1] != '\0' &&
           !strchr(path + n + 1, '/');
}

/* Returns whether @p path is @p prefix or lies under it. */
static bool s_is_under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);

    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* ------------------------------------------------------------ field tables */

typedef enum s_type {
    T_SLUG,     /* [a-z0-9-]+, at most 256 bytes */
    T_ID,       /* [a-z0-9._-]{1,64} */
    T_PATH,     /* grid path */
    T_TEXT,     /* non-empty, at most 256 bytes */
    T_LONGTEXT, /* non-empty, at most 1024 bytes */
    T_URI,      /* coap:// or coaps:// */
    T_ENUM,     /* one of names, stored as int */
    T_UINT,     /* integer in [min, max], stored as unsigned */
    T_U64,      /* integer in [min, max], stored as uint64_t */
    T_NONNEG,   /* finite number >= 0, stored as double */
} s_type;

typedef struct s_field {
    const char *key;
    s_type type;
    bool required;
    size_t offset;
    const s_name *names; /* T_ENUM */
    long long min, max;  /* T_UINT, T_U64 */
} s_field;

#define F_END                                                                                      \
    {                                                                                              \
        NULL, T_TEXT, false, 0, NULL, 0, 0                                                         \
    }

static const s_field s_root_fields[] = {
    {"county", T_SLUG, true, offsetof(aw_registry_t, county), NULL, 0, 0},
    {"name", T_TEXT, false, offsetof(aw_registry_t, name), NULL, 0, 0},
    {"version", T_U64, true, offsetof(aw_registry_t, version), NULL, 1, LLONG_MAX},
    {"zone", T_PATH, false, offsetof(aw_registry_t, extract_zone), NULL, 0, 0},
    F_END,
};

static const s_field s_zone_fields[] = {
    {"path", T_PATH, true, offsetof(aw_zone, path), NULL, 0, 0},
    {"name", T_TEXT, false, offsetof(aw_zone, name), NULL, 0, 0},
    {"kind", T_ENUM, true, offsetof(aw_zone, kind), s_zone_kinds, 0, 0},
    F_END,
};

static const s_field s_village_fields[] = {
    {"path", T_PATH, true, offsetof(aw_village, path), NULL, 0, 0},
    {"name", T_TEXT, false, offsetof(aw_village, name), NULL, 0, 0},
    F_END,
};

static const s_field s_site_fields[] = {
    {"path", T_PATH, true, offsetof(aw_site, path), NULL, 0, 0},
    {"name", T_TEXT, false, offsetof(aw_site, name), NULL, 0, 0},
    {"sector", T_ENUM, true, offsetof(aw_site, sector), s_sectors, 0, 0},
    {"risk", T_ENUM, true, offsetof(aw_site, risk), s_levels, 0, 0},
    F_END,
};

static const s_field s_device_fields[] = {
    {"id", T_ID, true, offsetof(aw_device, id), NULL, 0, 0},
    {"name", T_TEXT, false, offsetof(aw_device, name), NULL, 0, 0},
    {"kind", T_ENUM, true, offsetof(aw_device, kind), s_device_kinds, 0, 0},
    {"interval_s", T_UINT, false, offsetof(aw_device, interval_s), NULL, 1,
     AW_REGISTRY_MAX_INTERVAL_S},
    {"uri", T_URI, false, offsetof(aw_device, uri), NULL, 0, 0},
    F_END,
};

static const s_field s_metric_fields[] = {
    {"name", T_ID, true, offsetof(aw_metric, name), NULL, 0, 0},
    {"unit", T_TEXT, true, offsetof(aw_metric, unit), NULL, 0, 0},
    {"item", T_ID, false, offsetof(aw_metric, item), NULL, 0, 0},
    {"deadband", T_NONNEG, false, offsetof(aw_metric, deadband), NULL, 0, 0},
    {"debounce", T_UINT, false, offsetof(aw_metric, debounce), NULL, 1, AW_REGISTRY_MAX_DEBOUNCE},
    F_END,
};

static const s_field s_plan_fields[] = {
    {"id", T_ID, true, offsetof(aw_plan, id), NULL, 0, 0},
    {"mode", T_ENUM, true, offsetof(aw_plan, mode), s_plan_modes, 0, 0},
    F_END,
};

static const s_field s_when_fields[] = {
    {"site", T_PATH, true, offsetof(aw_plan, when_site), NULL, 0, 0},
    {"level", T_ENUM, true, offsetof(aw_plan, when_level), s_levels, 0, 0},
    F_END,
};

static const s_field s_alert_fields[] = {
    {"event", T_TEXT, true, offsetof(aw_plan, event), NULL, 0, 0},
    {"severity", T_ENUM, true, offsetof(aw_plan, severity), s_cap_severity, 0, 0},
    {"urgency", T_ENUM, true, offsetof(aw_plan, urgency), s_cap_urgency, 0, 0},
    {"certainty", T_ENUM, true, offsetof(aw_plan, certainty), s_cap_certainty, 0, 0},
    {"headline", T_TEXT, false, offsetof(aw_plan, headline), NULL, 0, 0},
    {"instruction", T_LONGTEXT, false, offsetof(aw_plan, instruction), NULL, 0, 0},
    {"description", T_LONGTEXT, false, offsetof(aw_plan, description), NULL, 0, 0},
    F_END,
};

/* CAP fields are kept as strings, not enum values. */
static bool s_enum_keeps_string(const s_name *names)
{
    return names == s_cap_severity || names == s_cap_urgency || names == s_cap_certainty;
}

/* Writes "a, b, c" for an enum's names into @p buf. */
static const char *s_names_list(const s_name *names, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (; names->name && used < size; names++) {
        int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", names->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

static void s_store_string(const s_field *f, void *base, const char *s)
{
    memcpy((char *)base + f->offset, &s, sizeof s);
}

/* Returns why string @p s (of @p len bytes) is not a valid value of field
 * @p f, or NULL when it is. Enum faults are reported by the caller. */
static const char *s_string_fault(const s_field *f, const char *s, size_t len)
{
    switch (f->type) {
    case T_SLUG:
        return len <= AW_REGISTRY_MAX_STRING && s_path_depth(s, len) == 1
                   ? NULL
                   : "must match [a-z0-9-]+ (at most 256 bytes)";
    case T_ID:
        return s_is_id(s, len) ? NULL : "must match [a-z0-9._-]{1,64}";
    case T_PATH:
        return s_path_depth(s, len) ? NULL : "must be a grid path: [a-z0-9-]+ segments joined by /";
    case T_URI:
        return s_is_coap_uri(s, len) ? NULL : "must be a coap:// or coaps:// URI with a host";
    case T_LONGTEXT:
        return len > 0 && len <= AW_REGISTRY_MAX_LONG_STRING
                   ? NULL
                   : "must be a non-empty string of at most 1024 bytes";
    default:
        return len > 0 && len <= AW_REGISTRY_MAX_STRING
                   ? NULL
                   : "must be a non-empty string of at most 256 bytes";
    }
}

/* Checks one string field; stores it when valid. */
static void s_set_string(s_ctx *c, const s_field *f, const json_t *v, void *base)
{
    const char *s = json_string_value(v), *fault;
    char list[160];

    if (f->type == T_ENUM) {
        const s_name *n = s_name_find(f->names, s);
        if (!n)
            s_err(c, f->key, "must be one of %s", s_names_list(f->names, list, sizeof list));
        else if (s_enum_keeps_string(f->names))
            s_store_string(f, base, s);
        else
            memcpy((char *)base + f->offset, &n->value, sizeof n->value);
    } else if ((fault = s_string_fault(f, s, json_string_length(v))) != NULL) {
        s_err(c, f->key, "%s", fault);
    } else {
        s_store_string(f, base, s);
    }
}

/* Checks one numeric field; stores it when valid. */
static void s_set_number(s_ctx *c, const s_field *f, const json_t *v, void *base)
{
    double d = json_number_value(v);
    long long i = json_integer_value(v);

    if (f->type == T_NONNEG) {
        if (json_is_number(v) && isfinite(d) && d >= 0)
            memcpy((char *)base + f->offset, &d, sizeof d);
        else
            s_err(c, f->key, "must be a number >= 0");
    } else if (!json_is_integer(v) || i < f->min || i > f->max) {
        if (f->max == LLONG_MAX)
            s_err(c, f->key, "must be an integer >= %lld", f->min);
        else
            s_err(c, f->key, "must be an integer from %lld to %lld", f->min, f->max);
    } else if (f->type == T_UINT) {
        unsigned u = (unsigned)i;
        memcpy((char *)base + f->offset, &u, sizeof u);
    } else {
        uint64_t u = (uint64_t)i;
        memcpy((char *)base + f->offset, &u, sizeof u);
    }
}

static bool s_is_numeric(s_type t)
{
    return t == T_UINT || t == T_U64 || t == T_NONNEG;
}

/* Reads every field of @p fields from @p obj into @p base, recording a
 * fault for each missing required field and each invalid value. */
static void s_apply(s_ctx *c, const json_t *obj, const s_field *fields, void *base)
{
    for (const s_field *f = fields; f->key; f++) {
        const json_t *v = json_object_get(obj, f->key);
        if (!v) {
            if (f->required)
                s_err(c, f->key, "required");
        } else if (s_is_numeric(f->type)) {
            s_set_number(c, f, v, base);
        } else if (!json_is_string(v)) {
            s_err(c, f->key, "must be a string");
        } else {
            s_set_string(c, f, v, base);
        }
    }
}

/* ------------------------------------------------------------ sizing */

/* The nesting of the grid tree: each level is an array under the previous. */
static const char *const s_tree_keys[] = {"zones", "villages", "sites", "devices", "metrics"};
#define S_TREE_DEPTH (sizeof s_tree_keys / sizeof s_tree_keys[0])

/* Returns obj[key] when obj is an object and that is an array, else NULL.
 * The walk uses the same rule, so sizing and filling agree. */
static const json_t *s_arr(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_array(v) ? v : NULL;
}

static void s_count_tree(const json_t *obj, size_t depth, size_t counts[S_TREE_DEPTH])
{
    const json_t *arr = s_arr(obj, s_tree_keys[depth]);

    for (size_t i = 0; i < json_array_size(arr); i++) {
        counts[depth]++;
        if (depth + 1 < S_TREE_DEPTH)
            s_count_tree(json_array_get(arr, i), depth + 1, counts);
    }
}

static const json_t *s_plan_area(const json_t *plan)
{
    return s_arr(json_object_get(plan, "alert"), "area");
}

/* Allocates a zeroed array of @p n elements (at least one, so NULL means
 * out of memory). */
static void *s_calloc(size_t n, size_t size)
{
    return calloc(n ? n : 1, size);
}

/* Allocates the registry with every entity array sized from @p root. */
static int s_alloc(json_t *root, aw_registry_t **out)
{
    size_t counts[S_TREE_DEPTH] = {0};
    const json_t *plans = s_arr(root, "plans");
    aw_registry_t *reg = calloc(1, sizeof *reg);

    if (!reg)
        return AW_ENOMEM;
    reg->root = root;
    s_count_tree(root, 0, counts);
    reg->n_zones = counts[0];
    reg->n_villages = counts[1];
    reg->n_sites = counts[2];
    reg->n_devices = counts[3];
    reg->n_metrics = counts[4];
    reg->n_plans = json_array_size(plans);
    for (size_t i = 0; i < reg->n_plans; i++)
        reg->n_areas += json_array_size(s_plan_area(json_array_get(plans, i)));
    reg->zones = s_calloc(reg->n_zones, sizeof *reg->zones);
    reg->villages = s_calloc(reg->n_villages, sizeof *reg->villages);
    reg->sites = s_calloc(reg->n_sites, sizeof *reg->sites);
    reg->devices = s_calloc(reg->n_devices, sizeof *reg->devices);
    reg->metrics = s_calloc(reg->n_metrics, sizeof *reg->metrics);
    reg->plans = s_calloc(reg->n_plans, sizeof *reg->plans);
    reg->areas = s_calloc(reg->n_areas, sizeof *reg->areas);
    *out = reg;
    if (!reg->zones || !reg->villages || !reg->sites || !reg->devices || !reg->metrics ||
        !reg->plans || !reg->areas)
        return AW_ENOMEM;
    return AW_OK;
}

void aw_registry_destroy(aw_registry_t **reg_p)
{
    aw_registry_t *reg = reg_p ? *reg_p : NULL;

    if (!reg)
        return;
    free(reg->zones);
    free(reg->villages);
    free(reg->sites);
    free(reg->devices);
    free(reg->metrics);
    free(reg->plans);
    free(reg->areas);
    free(reg->by_id);
    free(reg->by_path);
    json_decref(reg->root);
    free(reg);
    *reg_p = NULL;
}

/* ------------------------------------------------------------ the walk */

/* Returns whether @p v is an object, recording a fault if not. */
static bool s_expect_object(s_ctx *c, const char *key, const json_t *v)
{
    if (json_is_object(v))
        return true;
    s_err(c, key, "must be an object");
    return false;
}

/* Returns obj[key] when it is an array; records a fault when it is not
 * one, or when it is missing and @p required. */
static const json_t *s_array_field(s_ctx *c, const json_t *obj, const char *key, bool required)
{
    const json_t *v = json_object_get(obj, key);

    if (!v) {
        if (required)
            s_err(c, key, "required (an array, may be empty)");
        return NULL;
    }
    if (!json_is_array(v)) {
        s_err(c, key, "must be an array");
        return NULL;
    }
    return v;
}

/* Checks that @p path is one segment below @p parent (NULL: parent invalid,
 * already reported). */
static void s_check_parent(s_ctx *c, const char *parent, const char *path)
{
    if (parent && path && !s_is_child_path(parent, path))
        s_err(c, "path", "must be \"%s/<segment>\"", parent);
}

/* Copies at most 40 bytes of untrusted @p src into @p dst for a message:
 * whole UTF-8 characters only, control characters and quotes as '?'. */
static const char *s_clip(const char *src, char *dst, size_t size)
{
    size_t n = 0;

    for (; src[n] && n < 40 && n + 1 < size; n++) {
        unsigned char ch = (unsigned char)src[n];
        dst[n] = (ch < 0x20 || ch == '"' || ch == '\\' || ch == 0x7f) ? '?' : (char)ch;
    }
    dst[n] = '\0';
    s_utf8_trim(dst, n);
    return dst;
}

/* Reads one direction's thresholds (obj[key], key "high" or "low"). */
static void s_read_thresholds(s_ctx *c, const json_t *obj, const char *key, aw_thresholds *t)
{
    const json_t *v = json_object_get(obj, key);
    char list[64], clip[48];

    if (!v)
        return;
    if (!json_is_object(v) || json_object_size(v) == 0) {
        s_err(c, key, "must be an object with any of %s",
              s_names_list(s_levels, list, sizeof list));
        return;
    }
    size_t old = s_push(c, key, -1);
    for (void *it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it)) {
        const char *level = json_object_iter_key(it);
        const json_t *x = json_object_iter_value(it);
        const s_name *n = s_name_find(s_levels, level);
        if (!n) {
            s_err(c, NULL, "unknown level \"%s\" (expected %s)", s_clip(level, clip, sizeof clip),
                  s_names_list(s_levels, list, sizeof list));
        } else if (!json_is_number(x) || !isfinite(json_number_value(x))) {
            s_err(c, n->name, "must be a number");
        } else {
            t->mask |= 1u << n->value;
            t->at[n->value] = json_number_value(x);
        }
    }
    s_pop(c, old);
}

/* Checks that thresholds rise with the level (high) or fall (low). */
static void s_check_order(s_ctx *c, const aw_thresholds *t, const char *dir)
{
    bool high = strcmp(dir, "high") == 0;
    int prev = AW_LEVEL_NONE;

    for (int l = AW_LEVEL_BLUE; l <= AW_LEVEL_RED; l++) {
        if (!aw_thresholds_has(t, (aw_level)l))
            continue;
        if (prev != AW_LEVEL_NONE && (high ? t->at[l] <= t->at[prev] : t->at[l] >= t->at[prev])) {
            size_t old = s_push(c, dir, -1);
            s_err(c, aw_level_name((aw_level)l), "must be %s %s.%s (%g)", high ? "above" : "below",
                  dir, aw_level_name((aw_level)prev), t->at[prev]);
            s_pop(c, old);
        }
        prev = l;
    }
}

/* Checks that every low threshold lies below every high one. */
static void s_check_directions(s_ctx *c, const aw_metric *m)
{
    double max_low = -INFINITY, min_high = INFINITY;

    if (!m->high.mask || !m->low.mask)
        return;
    for (int l = AW_LEVEL_BLUE; l <= AW_LEVEL_RED; l++) {
        if (aw_thresholds_has(&m->low, (aw_level)l))
            max_low = m->low.at[l] > max_low ? m->low.at[l] : max_low;
        if (aw_thresholds_has(&m->high, (aw_level)l))
            min_high = m->high.at[l] < min_high ? m->high.at[l] : min_high;
    }
    if (max_low >= min_high)
        s_err(c, "low", "must lie below every high threshold (%g >= %g)", max_low, min_high);
}

static void s_read_metric(s_ctx *c, const json_t *obj, aw_metric *m)
{
    m->deadband = 0;
    m->debounce = 1;
    if (!s_expect_object(c, NULL, obj))
        return;
    s_apply(c, obj, s_metric_fields, m);
    if (!m->item)
        m->item = m->name;
    s_read_thresholds(c, obj, "high", &m->high);
    s_read_thresholds(c, obj, "low", &m->low);
    s_check_order(c, &m->high, "high");
    s_check_order(c, &m->low, "low");
    s_check_directions(c, m);
}

static void s_read_device_metrics(s_ctx *c, const json_t *obj, aw_device *d)
{
    const json_t *arr = s_array_field(c, obj, "metrics", false);
    size_t n = json_array_size(arr);
    aw_metric *ms = c->reg->metrics + c->used_metrics;

    c->used_metrics += n;
    d->metrics = ms;
    d->n_metrics = n;
    for (size_t i = 0; i < n; i++) {
        size_t old = s_push(c, "metrics", (long)i);
        ms[i].index = (size_t)(ms + i - c->reg->metrics);
        ms[i].device = d;
        s_read_metric(c, json_array_get(arr, i), &ms[i]);
        s_pop(c, old);
    }
}

static void s_read_device(s_ctx *c, const json_t *obj, aw_device *d)
{
    const json_t *kind_v = json_object_get(obj, "kind");
    const char *kind = json_string_value(kind_v);

    d->name = "";
    d->interval_s = AW_REGISTRY_DEFAULT_INTERVAL_S;
    if (!s_expect_object(c, NULL, obj))
        return;
    s_apply(c, obj, s_device_fields, d);
    s_read_device_metrics(c, obj, d);
    if (kind && strcmp(kind, "sensor") == 0 && d->n_metrics == 0)
        s_err(c, "metrics", "a sensor needs at least one metric");
    if (kind && (strcmp(kind, "siren") == 0 || strcmp(kind, "loudspeaker") == 0) &&
        !json_object_get(obj, "uri"))
        s_err(c, "uri", "required for a %s", kind);
}

static void s_read_site(s_ctx *c, const json_t *obj, aw_site *s)
{
    s->name = "";
    if (!s_expect_object(c, NULL, obj))
        return;
    s_apply(c, obj, s_site_fields, s);
    s_check_parent(c, s->village->path, s->path);
    const json_t *arr = s_array_field(c, obj, "devices", true);
    size_t n = json_array_size(arr);
    aw_device *ds = c->reg->devices + c->used_devices;

    c->used_devices += n;
    s->devices = ds;
    s->n_devices = n;
    for (size_t i = 0; i < n; i++) {
        size_t old = s_push(c, "devices", (long)i);
        ds[i].index = (size_t)(ds + i - c->reg->devices);
        ds[i].site = s;
        s_read_device(c, json_array_get(arr, i), &ds[i]);
        s_pop(c, old);
    }
}

static void s_read_village(s_ctx *c, const json_t *obj, aw_village *v)
{
    v->name = "";
    if (!s_expect_object(c, NULL, obj))
        return;
    s_apply(c, obj, s_village_fields, v);
    s_check_parent(c, v->zone->path, v->path);
    const json_t *arr = s_array_field(c, obj, "sites", true);
    size_t n = json_array_size(arr);
    aw_site *ss = c->reg->sites + c->used_sites;

    c->used_sites += n;
    v->sites = ss;
    v->n_sites = n;
    for (size_t i = 0; i < n; i++) {
        size_t old = s_push(c, "sites", (long)i);
        ss[i].index = (size_t)(ss + i - c->reg->sites);
        ss[i].village = v;
        s_read_site(c, json_array_get(arr, i), &ss[i]);
        s_pop(c, old);
    }
}

static void s_read_zone(s_ctx *c, const json_t *obj, aw_zone *z)
{
    z->name = "";
    if (!s_expect_object(c, NULL, obj))
        return;
    s_apply(c, obj, s_zone_fields, z);
    s_check_parent(c, c->reg->county, z->path);
    const json_t *arr = s_array_field(c, obj, "villages", true);
    size_t n = json_array_size(arr);
    aw_village *vs = c->reg->villages + c->used_villages;

    c->used_villages += n;
    z->villages = vs;
    z->n_villages = n;
    for (size_t i = 0; i < n; i++) {
        size_t old = s_push(c, "villages", (long)i);
        vs[i].index = (size_t)(vs + i - c->reg->villages);
        vs[i].zone = z;
        s_read_village(c, json_array_get(arr, i), &vs[i]);
        s_pop(c, old);
    }
}

static void s_read_zones(s_ctx *c, const json_t *root)
{
    const json_t *arr = s_array_field(c, root, "zones", true);

    for (size_t i = 0; i < json_array_size(arr); i++) {
        size_t old = s_push(c, "zones", (long)i);
        c->reg->zones[i].index = i;
        s_read_zone(c, json_array_get(arr, i), &c->reg->zones[i]);
        s_pop(c, old);
    }
}

/* ------------------------------------------------------------ indexes */

/* Appends formatted text to the string in @p buf, truncating at @p size. */
static void s_appendf(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

/* Each s_where_* writes the JSON path of a zone, village, site or device. */
static void s_where_zone(const aw_zone *z, char *buf, size_t size)
{
    buf[0] = '\0';
    s_appendf(buf, size, "$.zones[%zu]", z->index);
}

static void s_where_village(const aw_village *v, char *buf, size_t size)
{
    s_where_zone(v->zone, buf, size);
    s_appendf(buf, size, ".villages[%zu]", (size_t)(v - v->zone->villages));
}

static void s_where_site(const aw_site *s, char *buf, size_t size)
{
    s_where_village(s->village, buf, size);
    s_appendf(buf, size, ".sites[%zu]", (size_t)(s - s->village->sites));
}

static void s_where_device(const aw_device *d, char *buf, size_t size)
{
    s_where_site(d->site, buf, size);
    s_appendf(buf, size, ".devices[%zu]", (size_t)(d - d->site->devices));
}

static void s_where_node(const aw_registry_t *reg, const s_node *n, char *buf, size_t size)
{
    if (n->depth == 2)
        s_where_zone(&reg->zones[n->index], buf, size);
    else if (n->depth == 3)
        s_where_village(&reg->villages[n->index], buf, size);
    else
        s_where_site(&reg->sites[n->index], buf, size);
}

/* Records a fault at the JSON path @p where (instead of the current path). */
static void s_err_at(s_ctx *c, const char *where, const char *key, const char *fmt, ...)
{
    char msg[S_MSG_MAX];
    va_list ap;
    size_t old = c->plen;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->path, S_PATH_MAX, "%s", where);
    c->plen = strlen(c->path);
    s_err(c, key, "%s", msg);
    c->plen = old;
    c->path[old] = '\0';
}

static int s_cmp_node(const void *a, const void *b)
{
    const s_node *x = a, *y = b;
    int r = strcmp(x->path, y->path);

    if (r)
        return r;
    if (x->depth != y->depth)
        return x->depth - y->depth;
    return (x->index > y->index) - (x->index < y->index);
}

static void s_add_node(aw_registry_t *reg, const char *path, int depth, size_t index)
{
    if (path)
        reg->by_path[reg->n_by_path++] = (s_node){path, depth, index};
}

/* Builds the sorted path index; reports paths used twice. */
static int s_index_paths(s_ctx *c)
{
    aw_registry_t *reg = c->reg;
    char a[S_PATH_MAX], b[S_PATH_MAX];

    reg->by_path = s_calloc(reg->n_zones + reg->n_villages + reg->n_sites, sizeof *reg->by_path);
    if (!reg->by_path)
        return AW_ENOMEM;
    for (size_t i = 0; i < reg->n_zones; i++)
        s_add_node(reg, reg->zones[i].path, 2, i);
    for (size_t i = 0; i < reg->n_villages; i++)
        s_add_node(reg, reg->villages[i].path, 3, i);
    for (size_t i = 0; i < reg->n_sites; i++)
        s_add_node(reg, reg->sites[i].path, 4, i);
    qsort(reg->by_path, reg->n_by_path, sizeof *reg->by_path, s_cmp_node);
    for (size_t i = 1; i < reg->n_by_path; i++) {
        if (strcmp(reg->by_path[i].path, reg->by_path[i - 1].path) != 0)
            continue;
        s_where_node(reg, &reg->by_path[i], a, sizeof a);
        s_where_node(reg, &reg->by_path[i - 1], b, sizeof b);
        s_err_at(c, a, "path", "duplicate path (also at %s)", b);
    }
    return AW_OK;
}

static int s_cmp_device(const void *a, const void *b)
{
    const aw_device *x = *(const aw_device *const *)a, *y = *(const aw_device *const *)b;
    int r = strcmp(x->id, y->id);

    return r ? r : (x->index > y->index) - (x->index < y->index);
}

/* Builds the sorted device index; reports device ids used twice. */
static int s_index_devices(s_ctx *c)
{
    aw_registry_t *reg = c->reg;
    char a[S_PATH_MAX], b[S_PATH_MAX];

    reg->by_id = s_calloc(reg->n_devices, sizeof *reg->by_id);
    if (!reg->by_id)
        return AW_ENOMEM;
    for (size_t i = 0; i < reg->n_devices; i++) {
        if (reg->devices[i].id)
            reg->by_id[reg->n_by_id++] = &reg->devices[i];
    }
    qsort(reg->by_id, reg->n_by_id, sizeof *reg->by_id, s_cmp_device);
    for (size_t i = 1; i < reg->n_by_id; i++) {
        if (strcmp(reg->by_id[i]->id, reg->by_id[i - 1]->id) != 0)
            continue;
        s_where_device(reg->by_id[i], a, sizeof a);
        s_where_device(reg->by_id[i - 1], b, sizeof b);
        s_err_at(c, a, "id", "duplicate device id \"%s\" (also at %s)", reg->by_id[i]->id, b);
    }
    return AW_OK;
}

static int s_cmp_metric(const void *a, const void *b)
{
    const aw_metric *x = *(const aw_metric *const *)a, *y = *(const aw_metric *const *)b;
    int r;

    if (x->device != y->device)
        return (x->device->index > y->device->index) ? 1 : -1;
    r = strcmp(x->name, y->name);
    return r ? r : (x->index > y->index) - (x->index < y->index);
}

/* Reports metric names used twice within one device. */
static int s_check_metric_names(s_ctx *c)
{
    aw_registry_t *reg = c->reg;
    const aw_metric **ms = s_calloc(reg->n_metrics, sizeof *ms);
    size_t n = 0;
    char where[S_PATH_MAX];

    if (!ms)
        return AW_ENOMEM;
    for (size_t i = 0; i < reg->n_metrics; i++) {
        if (reg->metrics[i].name)
            ms[n++] = &reg->metrics[i];
    }
    qsort(ms, n, sizeof *ms, s_cmp_metric);
    for (size_t i = 1; i < n; i++) {
        if (ms[i]->device != ms[i - 1]->device || strcmp(ms[i]->name, ms[i - 1]->name) != 0)
            continue;
        s_where_device(ms[i]->device, where, sizeof where);
        s_appendf(where, sizeof where, ".metrics[%zu]", (size_t)(ms[i] - ms[i]->device->metrics));
        s_err_at(c, where, "name", "duplicate metric \"%s\" in this device", ms[i]->name);
    }
    free(ms);
    return AW_OK;
}

/* Checks the top-level "zone" of a zone extract against its zones. */
static void s_check_extract(s_ctx *c, const json_t *root)
{
    const aw_registry_t *reg = c->reg;

    if (!json_object_get(root, "zone"))
        return;
    if (reg->extract_zone && reg->n_zones == 1 && reg->zones[0].path &&
        strcmp(reg->zones[0].path, reg->extract_zone) == 0)
        return;
    s_err(c, "zone", "a zone extract must hold exactly that zone in zones");
}

/* ------------------------------------------------------------ plans */

static const s_node *s_node_find(const aw_registry_t *reg, const char *path)
{
    size_t lo = 0, hi = reg->n_by_path;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(path, reg->by_path[mid].path);
        if (r == 0)
            return &reg->by_path[mid];
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Returns whether @p path is acceptable as a reference to another zone of
 * a zone extract: under the county, outside the extract's zone. */
static bool s_is_foreign_ref(const aw_registry_t *reg, const char *path)
{
    return reg->extract_zone && reg->county && s_is_under(path, reg->county) &&
           !s_is_under(path, reg->extract_zone);
}

/* Checks that grid path @p path (already well formed) names an existing
 * node of depth min_depth..max_depth. */
static void s_check_ref(s_ctx *c, const char *key, const char *path, int min_depth, int max_depth,
                        const char *what)
{
    const s_node *n = s_node_find(c->reg, path);
    int depth = s_path_depth(path, strlen(path));

    if (n && n->depth >= min_depth && n->depth <= max_depth)
        return;
    if (!n && depth >= min_depth && depth <= max_depth && s_is_foreign_ref(c->reg, path))
        return;
    s_err(c, key, "must name %s of this registry (\"%s\" is not one)", what, path);
}

static void s_read_area(s_ctx *c, const json_t *alert, aw_plan *p)
{
    const json_t *arr = s_array_field(c, alert, "area", true);
    size_t n = json_array_size(arr);
    const char **area = c->reg->areas + c->used_areas;

    c->used_areas += n;
    p->area = area;
    p->n_area = n;
    if (arr && n == 0)
        s_err(c, "area", "must list at least one grid path");
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        const char *s = json_string_value(v);
        size_t old = s_push(c, "area", (long)i);
        if (!s || s_path_depth(s, json_string_length(v)) == 0)
            s_err(c, NULL, "must be a grid path");
        else
            s_check_ref(c, NULL, s, 2, 4, "a zone, village or site");
        area[i] = s;
        s_pop(c, old);
    }
}

static void s_read_plan(s_ctx *c, const json_t *obj, aw_plan *p)
{
    const json_t *when = json_object_get(obj, "when");
    const json_t *alert = json_object_get(obj, "alert");
    size_t old;

    if (!s_expect_object(c, NULL, obj))
        return;
    s_apply(c, obj, s_plan_fields, p);
    if (!when)
        s_err(c, "when", "required");
    else if (s_expect_object(c, "when", when)) {
        old = s_push(c, "when", -1);
        s_apply(c, when, s_when_fields, p);
        if (p->when_site)
            s_check_ref(c, "site", p->when_site, 4, 4, "a site");
        s_pop(c, old);
    }
    if (!alert)
        s_err(c, "alert", "required");
    else if (s_expect_object(c, "alert", alert)) {
        old = s_push(c, "alert", -1);
        s_apply(c, alert, s_alert_fields, p);
        s_read_area(c, alert, p);
        s_pop(c, old);
    }
}

static int s_cmp_plan(const void *a, const void *b)
{
    const aw_plan *x = *(const aw_plan *const *)a, *y = *(const aw_plan *const *)b;
    int r = strcmp(x->id, y->id);

    return r ? r : (x->index > y->index) - (x->index < y->index);
}

/* Reports plan ids used twice. */
static int s_check_plan_ids(s_ctx *c)
{
    aw_registry_t *reg = c->reg;
    const aw_plan **ps = s_calloc(reg->n_plans, sizeof *ps);
    size_t n = 0;
    char where[S_PATH_MAX];

    if (!ps)
        return AW_ENOMEM;
    for (size_t i = 0; i < reg->n_plans; i++) {
        if (reg->plans[i].id)
            ps[n++] = &reg->plans[i];
    }
    qsort(ps, n, sizeof *ps, s_cmp_plan);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(ps[i]->id, ps[i - 1]->id) != 0)
            continue;
        snprintf(where, sizeof where, "$.plans[%zu]", ps[i]->index);
        s_err_at(c, where, "id", "duplicate plan id \"%s\" (also at $.plans[%zu])", ps[i]->id,
                 ps[i - 1]->index);
    }
    free(ps);
    return AW_OK;
}

static int s_read_plans(s_ctx *c, const json_t *root)
{
    const json_t *arr = s_array_field(c, root, "plans", false);

    for (size_t i = 0; i < json_array_size(arr); i++) {
        size_t old = s_push(c, "plans", (long)i);
        c->reg->plans[i].index = i;
        s_read_plan(c, json_array_get(arr, i), &c->reg->plans[i]);
        s_pop(c, old);
    }
    return s_check_plan_ids(c);
}

/* ------------------------------------------------------------ parse */

/* Walks the whole document. Returns AW_OK (faults are counted in c) or
 * AW_ENOMEM. */
static int s_read_root(s_ctx *c, const json_t *root)
{
    int rv;

    c->reg->name = "";
    if (!s_expect_object(c, NULL, root))
        return AW_OK;
    s_apply(c, root, s_root_fields, c->reg);
    s_read_zones(c, root);
    if ((rv = s_index_paths(c)) != AW_OK || (rv = s_index_devices(c)) != AW_OK ||
        (rv = s_check_metric_names(c)) != AW_OK)
        return rv;
    s_check_extract(c, root);
    return s_read_plans(c, root);
}

/* Loads the JSON text; records a fault at "$" when it is malformed, or
 * notes running out of memory. */
static json_t *s_load(s_ctx *c, const char *json, size_t len)
{
    json_error_t jerr = {0};
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);

    if (root)
        return root;
    /* jansson leaves the error empty when its first allocations fail */
    if (json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0')
        c->oom = true;
    else
        s_err(c, NULL, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
    return NULL;
}

int aw_registry_parse(const char *json, size_t len, aw_registry_t **out, aw_registry_errors *errs)
{
    s_ctx c = {.errs = errs, .path = "$", .plen = 1};
    json_t *root;
    int rv;

    *out = NULL;
    aw_registry_errors_clear(errs);
    if (len > AW_REGISTRY_MAX_BYTES) {
        s_err(&c, NULL, "document of %zu bytes exceeds %u", len, AW_REGISTRY_MAX_BYTES);
        return c.oom ? AW_ENOMEM : AW_ETOOBIG;
    }
    if (!json || !(root = s_load(&c, json, len)))
        return c.oom ? AW_ENOMEM : AW_EINVAL;
    if ((rv = s_alloc(root, &c.reg)) == AW_OK)
        rv = s_read_root(&c, root);
    if (rv == AW_OK && c.oom)
        rv = AW_ENOMEM;
    if (rv == AW_OK && c.faults > 0)
        rv = AW_EINVAL;
    if (rv != AW_OK) {
        if (c.reg)
            aw_registry_destroy(&c.reg);
        else
            json_decref(root);
        return rv;
    }
    *out = c.reg;
    return AW_OK;
}

/* Reads a whole file, but at most AW_REGISTRY_MAX_BYTES + 1 bytes (enough
 * for parse to refuse it as too big). *buf is the caller's. */
static int s_read_file(FILE *f, char **buf, size_t *len)
{
    size_t cap = 64 * 1024, n = 0, got;
    char *b = malloc(cap), *nb;

    for (;;) {
        if (!b)
            return AW_ENOMEM;
        if (n == cap) {
            if (cap > AW_REGISTRY_MAX_BYTES)
                break;
            cap = cap * 2 > AW_REGISTRY_MAX_BYTES ? AW_REGISTRY_MAX_BYTES + 1 : cap * 2;
            if (!(nb = realloc(b, cap)))
                free(b);
            b = nb;
            continue;
        }
        if ((got = fread(b + n, 1, cap - n, f)) == 0)
            break;
        n += got;
    }
    if (ferror(f)) {
        free(b);
        return AW_EIO;
    }
    *buf = b;
    *len = n;
    return AW_OK;
}

int aw_registry_load_file(const char *path, aw_registry_t **out, aw_registry_errors *errs)
{
    char msg[S_MSG_MAX], ebuf[128], *buf = NULL;
    size_t len = 0;
    FILE *f;
    int rv;

    *out = NULL;
    aw_registry_errors_clear(errs);
    if (!(f = fopen(path, "rb"))) {
        int e = errno;
        snprintf(msg, sizeof msg, "%s: %s", path, strerror_r(e, ebuf, sizeof ebuf));
        return s_errs_push(errs, msg) ? AW_ENOMEM : e == ENOENT ? AW_ENOTFOUND : AW_EIO;
    }
    rv = s_read_file(f, &buf, &len);
    fclose(f);
    if (rv != AW_OK) {
        snprintf(msg, sizeof msg, "%s: %s", path, aw_strerror(rv));
        return s_errs_push(errs, msg) ? AW_ENOMEM : rv;
    }
    rv = aw_registry_parse(buf, len, out, errs);
    free(buf);
    return rv;
}

/* ------------------------------------------------------------ getters */

const char *aw_registry_county(const aw_registry_t *reg)
{
    return reg->county;
}

const char *aw_registry_name(const aw_registry_t *reg)
{
    return reg->name;
}

uint64_t aw_registry_version(const aw_registry_t *reg)
{
    return reg->version;
}

const char *aw_registry_extract_zone(const aw_registry_t *reg)
{
    return reg->extract_zone;
}

const aw_zone *aw_registry_zones(const aw_registry_t *reg, size_t *n)
{
    *n = reg->n_zones;
    return reg->zones;
}

const aw_village *aw_registry_villages(const aw_registry_t *reg, size_t *n)
{
    *n = reg->n_villages;
    return reg->villages;
}

const aw_site *aw_registry_sites(const aw_registry_t *reg, size_t *n)
{
    *n = reg->n_sites;
    return reg->sites;
}

const aw_device *aw_registry_devices(const aw_registry_t *reg, size_t *n)
{
    *n = reg->n_devices;
    return reg->devices;
}

const aw_metric *aw_registry_metrics(const aw_registry_t *reg, size_t *n)
{
    *n = reg->n_metrics;
    return reg->metrics;
}

const aw_plan *aw_registry_plans(const aw_registry_t *reg, size_t *n)
{
    *n = reg->n_plans;
    return reg->plans;
}

/* ------------------------------------------------------------ lookups */

const aw_device *aw_registry_device_find(const aw_registry_t *reg, const char *id)
{
    size_t lo = 0, hi = reg->n_by_id;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(id, reg->by_id[mid]->id);
        if (r == 0)
            return reg->by_id[mid];
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const aw_metric *aw_registry_metric_find(const aw_device *dev, const char *name)
{
    for (size_t i = 0; i < dev->n_metrics; i++) {
        if (strcmp(dev->metrics[i].name, name) == 0)
            return &dev->metrics[i];
    }
    return NULL;
}

const aw_site *aw_registry_site_find(const aw_registry_t *reg, const char *path)
{
    const s_node *n = s_node_find(reg, path);

    return n && n->depth == 4 ? &reg->sites[n->index] : NULL;
}

const aw_zone *aw_registry_zone_find(const aw_registry_t *reg, const char *path)
{
    for (size_t i = 0; i < reg->n_zones; i++) {
        if (strcmp(reg->zones[i].path, path) == 0)
            return &reg->zones[i];
    }
    return NULL;
}

const aw_zone *aw_registry_zone_of(const aw_registry_t *reg, const char *path)
{
    for (size_t i = 0; i < reg->n_zones; i++) {
        if (s_is_under(path, reg->zones[i].path))
            return &reg->zones[i];
    }
    return NULL;
}

/* ------------------------------------------------------------ emitters */

static int s_dump(const json_t *doc, char **json)
{
    *json = json_dumps(doc, JSON_COMPACT);
    return *json ? AW_OK : AW_ENOMEM;
}

int aw_registry_to_json(const aw_registry_t *reg, char **json)
{
    return s_dump(reg->root, json);
}

/* Returns whether plan @p p concerns the zone at @p zone_path. */
static bool s_plan_touches(const aw_plan *p, const char *zone_path)
{
    if (s_is_under(p->when_site, zone_path))
        return true;
    for (size_t i = 0; i < p->n_area; i++) {
        if (s_is_under(p->area[i], zone_path))
            return true;
    }
    return false;
}

/* Builds the "zones" and "plans" arrays of the extract for @p z. */
static int s_extract_arrays(const aw_registry_t *reg, const aw_zone *z, json_t *doc)
{
    const json_t *plans = json_object_get(reg->root, "plans");
    json_t *zones = json_array(), *kept = json_array();
    int bad = !zones || !kept;

    bad = bad ||
          json_array_append(zones, json_array_get(json_object_get(reg->root, "zones"), z->index));
    for (size_t i = 0; !bad && i < reg->n_plans; i++) {
        if (s_plan_touches(&reg->plans[i], z->path))
            bad = json_array_append(kept, json_array_get(plans, i));
    }
    bad = bad || json_object_set(doc, "zones", zones);
    bad = bad || (plans && json_object_set(doc, "plans", kept));
    json_decref(zones);
    json_decref(kept);
    return bad ? AW_ENOMEM : AW_OK;
}

int aw_registry_zone_json(const aw_registry_t *reg, const char *zone_path, char **json)
{
    const aw_zone *z = aw_registry_zone_find(reg, zone_path);
    json_t *doc;
    int rv = AW_ENOMEM;

    *json = NULL;
    if (!z)
        return AW_ENOTFOUND;
    if (!(doc = json_object()))
        return AW_ENOMEM;
    /* Top-level fields in their order; subtrees are shared, not copied
     * (jansson's reference counts are atomic). */
    if (json_object_update(doc, reg->root) == 0 &&
        json_object_set_new(doc, "zone", json_string(z->path)) == 0 &&
        (rv = s_extract_arrays(reg, z, doc)) == AW_OK)
        rv = s_dump(doc, json);
    json_decref(doc);
    return rv;
}
