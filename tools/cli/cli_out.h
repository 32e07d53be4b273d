/**
 * @file cli_out.h
 * @brief Output of the `anwang` CLI: colours only on a terminal, aligned
 * tables, JSON, messages, and the human forms of times, ages and sizes.
 *
 * Colours are on when stdout is a TTY, TERM is not "dumb" and NO_COLOR is
 * unset (https://no-color.org), unless `--color=always|never` says
 * otherwise. Human output may change between versions; scripts use --json,
 * whose keys are stable.
 */
#ifndef AW_CLI_OUT_H
#define AW_CLI_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

typedef enum aw_cli_color_mode {
    AW_CLI_COLOR_AUTO = 0,
    AW_CLI_COLOR_ALWAYS,
    AW_CLI_COLOR_NEVER,
} aw_cli_color_mode;

/** Decides once whether stdout gets colours. */
void aw_cli_out_init(aw_cli_color_mode mode);

/** Parses "auto", "always" or "never"; false for anything else. */
bool aw_cli_color_parse(const char *text, aw_cli_color_mode *out);

/** True when colours are on. */
bool aw_cli_out_color(void);

typedef enum aw_cli_style {
    AW_CLI_PLAIN = 0,
    AW_CLI_GREEN,
    AW_CLI_RED,
    AW_CLI_YELLOW,
    AW_CLI_BOLD,
    AW_CLI_DIM,
    AW_CLI_ORANGE, /**< 256-colour orange (picture colour "orange") */
    AW_CLI_BLUE,
} aw_cli_style;

/** The escape sequence that starts @p s; "" when colours are off or for PLAIN. */
const char *aw_cli_sgr(aw_cli_style s);
/** The escape sequence that ends a style; "" when colours are off. */
const char *aw_cli_sgr_end(void);

/** Prints "anwang: MESSAGE" and a newline to stderr. */
void aw_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Prints "  hint: MESSAGE" and a newline to stderr: what to check or do next. */
void aw_cli_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------ tables */

typedef struct aw_cli_table aw_cli_table_t;

/**
 * Makes a table of @p ncols columns with these headers (copied). On
 * success *out is the caller's (aw_cli_table_destroy()). Returns 0, or -1
 * when out of memory.
 */
int aw_cli_table_new(const char *const *headers, size_t ncols, aw_cli_table_t **out);

/** Frees the table and nulls *self_p. Safe on NULL and twice. */
void aw_cli_table_destroy(aw_cli_table_t **self_p);

/** Right-aligns column @p col (numbers). */
void aw_cli_table_right(aw_cli_table_t *self, size_t col);

/**
 * Adds a row of ncols cells (copied; NULL prints as "") with one style per
 * cell (@p styles may be NULL: all plain). Returns 0, or -1 when out of memory.
 */
int aw_cli_table_add(aw_cli_table_t *self, const char *const *cells, const aw_cli_style *styles);

/**
 * Prints the table: bold headers, columns two spaces apart and aligned by
 * display width (CJK characters count two), no trailing spaces.
 */
void aw_cli_table_print(const aw_cli_table_t *self, FILE *f);

/** Columns a terminal uses to show UTF-8 @p s (wide CJK characters count 2). */
size_t aw_cli_width(const char *s);

/* ------------------------------------------------------------ JSON */

/**
 * Prints @p j to @p f, indented by 2, keys in insertion order, with a
 * final newline. Returns 0, or -1 when it could not be written.
 */
int aw_cli_json_print(const json_t *j, FILE *f);

/* ------------------------------------------------------------ human forms */

/** Wall clock now, ms since the Unix epoch. */
int64_t aw_cli_now_ms(void);

/** "2025-03-01T08:30:00Z" (RFC 3339 UTC, seconds) for @p ms; "" for 0. */
void aw_cli_fmt_time(int64_t ms, char *buf, size_t len);

/** A duration of @p s seconds in its two largest units: "45s", "1m 15s", "3h 2m", "12d 4h". */
void aw_cli_fmt_span(int64_t s, char *buf, size_t len);

/** "just now", "45s ago", "1m 15s ago", "3h 2m ago", "12d 4h ago"; "in 5s" for the future. */
void aw_cli_fmt_age(int64_t age_ms, char *buf, size_t len);

/** A signed duration: "+0ms", "-850ms", "+1.2s", "+6m 0s", "-2h 5m". */
void aw_cli_fmt_offset(int64_t ms, char *buf, size_t len);

/** "512 B", "1.5 KiB", "64.0 MiB", "1.0 GiB". */
void aw_cli_fmt_bytes(uint64_t bytes, char *buf, size_t len);

/** A count with thousands separators: "1,234,567". */
void aw_cli_fmt_count(uint64_t n, char *buf, size_t len);

#endif
