/**
 * @file config.h
 * @brief Daemon configuration as one declarative table (Redis-style).
 *
 * Each program describes its settings as an array of aw_cfg_key: section,
 * key, type, where the value goes in the program's config struct, default,
 * and limits. aw_config_load() fills the struct from the defaults, then from
 * an INI file (parsed by inih), and validates every value before anything
 * opens. Any error names the file, the line and the key, e.g.
 * `/etc/anwang/edge.conf:12: [store] max_bytes: "12Q" is not a size (use
 * 512M, 2G, ...)`. Unknown keys and sections are errors: a typo must not be
 * silently ignored on a box nobody visits for a year.
 */
#ifndef AW_CONFIG_H
#define AW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"

/** Value types. Each says which C type its field must have. */
typedef enum aw_cfg_type {
    AW_CFG_STRING,   /**< char * (owned by the struct; aw_config_free frees) */
    AW_CFG_INT,      /**< int64_t */
    AW_CFG_SIZE,     /**< uint64_t bytes; accepts suffixes K, M, G, T (powers of 1024) */
    AW_CFG_DURATION, /**< int64_t milliseconds; accepts ms, s, m, h, d (bare = seconds) */
    AW_CFG_BOOL,     /**< int: yes/no, true/false, on/off, 1/0 */
    AW_CFG_ENUM,     /**< int: index into choices */
    AW_CFG_CUSTOM,   /**< parsed by the key's parse function into its field */
} aw_cfg_type;

/**
 * Parses @p text into @p field for an AW_CFG_CUSTOM key. Returns AW_OK, or
 * an error with a reason in @p msg (e.g. "\"interval:x\" is not fsync or
 * interval:MS").
 */
typedef int (*aw_cfg_parse_fn)(const char *text, void *field, char *msg, size_t len);

/** One setting. */
typedef struct aw_cfg_key {
    const char *section;        /**< INI section, e.g. "store" */
    const char *name;           /**< key within the section */
    aw_cfg_type type;           /**< how to parse and where it goes */
    size_t offset;              /**< offsetof(config struct, field) */
    const char *def;            /**< default as text; NULL = required */
    int64_t min, max;           /**< limits for INT, SIZE, DURATION (max 0 = none) */
    const char *const *choices; /**< NULL-terminated names for ENUM */
    const char *help;           /**< one line for --help and error messages */
    aw_cfg_parse_fn parse;      /**< for AW_CFG_CUSTOM */
} aw_cfg_key;

/**
 * Sets every field of @p out from the defaults of @p keys, then reads
 * @p path (may be NULL: defaults only). On failure the struct is freed
 * (aw_config_free) and @p why holds "file:line: [section] key: reason".
 * Returns AW_OK, AW_ECONFIG (bad value, unknown key, missing required key),
 * AW_ENOTFOUND (file missing) or AW_ENOMEM.
 */
int aw_config_load(const char *path, const aw_cfg_key *keys, size_t nkeys, void *out, char *why,
                   size_t why_len);

/** Frees the strings that aw_config_load() put in @p cfg. Safe twice. */
void aw_config_free(const aw_cfg_key *keys, size_t nkeys, void *cfg);

/** Parses "512M", "2G", "1048576" into bytes. */
int aw_parse_size(const char *text, uint64_t *out);

/** Parses "10ms", "30s", "5m", "2h", "30d", "15" (seconds) into milliseconds. */
int aw_parse_duration(const char *text, int64_t *out);

/** Parses a decimal integer with nothing after it (no atoi surprises). */
int aw_parse_int(const char *text, int64_t *out);

#endif
