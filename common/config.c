#include "config.h"

#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* State of one aw_config_load() while inih walks the file. */
typedef struct s_loader {
    const aw_cfg_key *keys;
    size_t nkeys;
    void *out;
    const char *path;
    unsigned char *seen; /* per key: set once the file gave it */
    char *why;
    size_t why_len;
    int rv;
} s_loader;

int aw_parse_int(const char *text, int64_t *out)
{
    char *end = NULL;
    if (!text || !*text)
        return AW_EINVAL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno == ERANGE)
        return AW_ERANGE;
    if (end == text || *end != '\0')
        return AW_EINVAL;
    *out = v;
    return AW_OK;
}

/* Splits "12M" into 12 and "M"; the number must be a whole non-negative one. */
static int s_split_number(const char *text, uint64_t *num, const char **unit)
{
    char *end = NULL;
    if (!text || *text < '0' || *text > '9')
        return AW_EINVAL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno == ERANGE)
        return AW_ERANGE;
    *num = v;
    *unit = end;
    return AW_OK;
}

static int s_scale(uint64_t num, uint64_t mult, uint64_t *out)
{
    if (mult && num > UINT64_MAX / mult)
        return AW_ERANGE;
    *out = num * mult;
    return AW_OK;
}

int aw_parse_size(const char *text, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t mult;
    } units[] = {{"", 1},
                 {"B", 1},
                 {"K", 1ull << 10},
                 {"KB", 1ull << 10},
                 {"KiB", 1ull << 10},
                 {"M", 1ull << 20},
                 {"MB", 1ull << 20},
                 {"MiB", 1ull << 20},
                 {"G", 1ull << 30},
                 {"GB", 1ull << 30},
                 {"GiB", 1ull << 30},
                 {"T", 1ull << 40},
                 {"TB", 1ull << 40},
                 {"TiB", 1ull << 40}};
    uint64_t num;
    const char *unit;
    int rv = s_split_number(text, &num, &unit);
    if (rv != AW_OK)
        return rv;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(unit, units[i].unit) == 0)
            return s_scale(num, units[i].mult, out);
    return AW_EINVAL;
}

int aw_parse_duration(const char *text, int64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"", 1000},     {"ms", 1},      {"s", 1000},    {"m", 60000},
                 {"min", 60000}, {"h", 3600000}, {"d", 86400000}};
    uint64_t num, ms;
    const char *unit;
    int rv = s_split_number(text, &num, &unit);
    if (rv != AW_OK)
        return rv;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(unit, units[i].unit) != 0)
            continue;
        if ((rv = s_scale(num, units[i].ms, &ms)) != AW_OK)
            return rv;
        if (ms > INT64_MAX)
            return AW_ERANGE;
        *out = (int64_t)ms;
        return AW_OK;
    }
    return AW_EINVAL;
}

static int s_parse_bool(const char *text, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return *out = 1, AW_OK;
        if (strcasecmp(text, no[i]) == 0)
            return *out = 0, AW_OK;
    }
    return AW_EINVAL;
}

static int s_parse_enum(const aw_cfg_key *k, const char *text, int *out)
{
    for (int i = 0; k->choices && k->choices[i]; i++)
        if (strcmp(text, k->choices[i]) == 0)
            return *out = i, AW_OK;
    return AW_EINVAL;
}

/* Checks an integer-like value against the key's limits. */
static bool s_in_limits(const aw_cfg_key *k, int64_t v)
{
    return v >= k->min && (k->max == 0 || v <= k->max);
}

/* Writes a reason for a bad value of @p k into @p msg. */
static void s_describe_bad(const aw_cfg_key *k, const char *text, int rv, char *msg, size_t len)
{
    static const char *const hint[] = {
        [AW_CFG_STRING] = "a string",
        [AW_CFG_INT] = "a whole number",
        [AW_CFG_SIZE] = "a size (e.g. 512M, 2G)",
        [AW_CFG_DURATION] = "a duration (e.g. 500ms, 30s, 5m, 2h, 30d)",
        [AW_CFG_BOOL] = "yes or no",
        [AW_CFG_ENUM] = "one of the listed choices",
        [AW_CFG_CUSTOM] = "valid",
    };
    if ((rv == AW_ERANGE || rv == AW_OK) && k->max) {
        snprintf(msg, len, "\"%s\" is out of range (%" PRId64 "..%" PRId64 ")", text, k->min,
                 k->max);
        return;
    }
    if (rv == AW_ERANGE || rv == AW_OK) {
        snprintf(msg, len, "\"%s\" is out of range (at least %" PRId64 ")", text, k->min);
        return;
    }
    if (k->type == AW_CFG_ENUM && k->choices) {
        size_t used = (size_t)snprintf(msg, len, "\"%s\" is not one of:", text);
        for (int i = 0; k->choices[i] && used < len; i++)
            used += (size_t)snprintf(msg + used, len - used, " %s", k->choices[i]);
        return;
    }
    snprintf(msg, len, "\"%s\" is not %s", text, hint[k->type]);
}

/* Parses @p text for @p k and stores it in @p cfg; on error fills @p msg. */
static int s_set(const aw_cfg_key *k, void *cfg, const char *text, char *msg, size_t len)
{
    char *field = (char *)cfg + k->offset;
    int64_t i64 = 0;
    uint64_t u64 = 0;
    int rv = AW_OK;
    switch (k->type) {
    case AW_CFG_STRING: {
        char *copy = strdup(text);
        if (!copy)
            return AW_ENOMEM;
        free(*(char **)field);
        *(char **)field = copy;
        return AW_OK;
    }
    case AW_CFG_INT:
        if ((rv = aw_parse_int(text, &i64)) == AW_OK && s_in_limits(k, i64))
            return *(int64_t *)field = i64, AW_OK;
        break;
    case AW_CFG_SIZE:
        if ((rv = aw_parse_size(text, &u64)) == AW_OK && u64 <= INT64_MAX &&
            s_in_limits(k, (int64_t)u64))
            return *(uint64_t *)field = u64, AW_OK;
        break;
    case AW_CFG_DURATION:
        if ((rv = aw_parse_duration(text, &i64)) == AW_OK && s_in_limits(k, i64))
            return *(int64_t *)field = i64, AW_OK;
        break;
    case AW_CFG_BOOL:
        rv = s_parse_bool(text, (int *)field);
        break;
    case AW_CFG_ENUM:
        rv = s_parse_enum(k, text, (int *)field);
        break;
    case AW_CFG_CUSTOM:
        return k->parse(text, field, msg, len) == AW_OK ? AW_OK : AW_ECONFIG;
    }
    if (rv == AW_OK && (k->type == AW_CFG_BOOL || k->type == AW_CFG_ENUM))
        return AW_OK;
    s_describe_bad(k, text, rv, msg, len);
    return AW_ECONFIG;
}

static const aw_cfg_key *s_find(const s_loader *ld, const char *section, const char *name,
                                size_t *index)
{
    for (size_t i = 0; i < ld->nkeys; i++) {
        if (strcmp(ld->keys[i].section, section) == 0 && strcmp(ld->keys[i].name, name) == 0) {
            *index = i;
            return &ld->keys[i];
        }
    }
    return NULL;
}

/* inih callback: returns 0 to make ini_parse() report this line. */
static int s_on_value(void *user, const char *section, const char *name, const char *value)
{
    s_loader *ld = user;
    char msg[256];
    size_t index;
    if (ld->rv != AW_OK)
        return 0;
    const aw_cfg_key *k = s_find(ld, section, name, &index);
    if (!k) {
        snprintf(msg, sizeof msg, "unknown key (check the spelling and the [section])");
        ld->rv = AW_ECONFIG;
    } else if (ld->seen[index]) {
        snprintf(msg, sizeof msg, "given twice");
        ld->rv = AW_ECONFIG;
    } else {
        ld->seen[index] = 1;
        ld->rv = s_set(k, ld->out, value, msg, sizeof msg);
    }
    if (ld->rv == AW_OK)
        return 1;
    if (ld->why)
        snprintf(ld->why, ld->why_len, "[%s] %s: %s", section, name, msg);
    return 0;
}

static int s_apply_defaults(s_loader *ld)
{
    char msg[256];
    for (size_t i = 0; i < ld->nkeys; i++) {
        const aw_cfg_key *k = &ld->keys[i];
        if (!k->def)
            continue;
        int rv = s_set(k, ld->out, k->def, msg, sizeof msg);
        if (rv != AW_OK) {
            if (ld->why)
                snprintf(ld->why, ld->why_len, "built-in default of [%s] %s: %s", k->section,
                         k->name, msg);
            return rv;
        }
    }
    return AW_OK;
}

static int s_check_required(s_loader *ld)
{
    for (size_t i = 0; i < ld->nkeys; i++) {
        if (ld->keys[i].def || ld->seen[i])
            continue;
        if (ld->why)
            snprintf(ld->why, ld->why_len, "%s: [%s] %s is required (%s)",
                     ld->path ? ld->path : "(no config file)", ld->keys[i].section,
                     ld->keys[i].name, ld->keys[i].help ? ld->keys[i].help : "no default");
        return AW_ECONFIG;
    }
    return AW_OK;
}

/* Runs inih over the file; turns its line number into the message prefix. */
static int s_read_file(s_loader *ld)
{
    FILE *f = fopen(ld->path, "r");
    if (!f) {
        if (ld->why)
            snprintf(ld->why, ld->why_len, "%s: cannot open: %s", ld->path, strerror(errno));
        return errno == ENOENT ? AW_ENOTFOUND : AW_EIO;
    }
    char inner[384] = "";
    char *outer = ld->why;
    size_t outer_len = ld->why_len;
    ld->why = inner;
    ld->why_len = sizeof inner;
    int line = ini_parse_file(f, s_on_value, ld);
    fclose(f);
    ld->why = outer;
    ld->why_len = outer_len;
    if (line == 0)
        return AW_OK;
    if (ld->rv == AW_OK)
        ld->rv = AW_ECONFIG, snprintf(inner, sizeof inner, "not a key = value line");
    if (outer)
        snprintf(outer, ld->why_len, "%s:%d: %s", ld->path, line, inner);
    return ld->rv;
}

int aw_config_load(const char *path, const aw_cfg_key *keys, size_t nkeys, void *out, char *why,
                   size_t why_len)
{
    s_loader ld = {.keys = keys, .nkeys = nkeys, .out = out, .path = path};
    ld.why = why;
    ld.why_len = why_len;
    ld.seen = calloc(nkeys ? nkeys : 1, 1);
    if (!ld.seen)
        return AW_ENOMEM;
    int rv = s_apply_defaults(&ld);
    if (rv == AW_OK && path)
        rv = s_read_file(&ld);
    if (rv == AW_OK)
        rv = s_check_required(&ld);
    free(ld.seen);
    if (rv != AW_OK)
        aw_config_free(keys, nkeys, out);
    return rv;
}

void aw_config_free(const aw_cfg_key *keys, size_t nkeys, void *cfg)
{
    for (size_t i = 0; i < nkeys; i++) {
        if (keys[i].type != AW_CFG_STRING)
            continue;
        char **field = (char **)((char *)cfg + keys[i].offset);
        free(*field);
        *field = NULL;
    }
}
