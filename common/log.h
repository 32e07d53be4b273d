/**
 * @file log.h
 * @brief One line per event on stderr, with a level (journald picks it up).
 *
 * Daemons log; libraries (store/, proto/, ledger/, registry/) return codes
 * and never call this. Lines look like `<3>edge: store: map full` under
 * systemd (the <N> prefix is the syslog priority journald understands) and
 * `2026-11-29T23:53:48.123Z error edge: store: map full` on a terminal.
 */
#ifndef AW_LOG_H
#define AW_LOG_H

#include <stdarg.h>

#include "aw_err.h"

typedef enum aw_log_level {
    AW_LOG_ERROR = 0,
    AW_LOG_WARN,
    AW_LOG_INFO,
    AW_LOG_DEBUG,
} aw_log_level;

/** Names for config tables: "error", "warn", "info", "debug", NULL. */
extern const char *const aw_log_level_names[];

/** Sets the program name shown in each line and the lowest level printed. */
void aw_log_init(const char *program, aw_log_level level);

/** Changes the level (SIGHUP reload). */
void aw_log_set_level(aw_log_level level);

/** Returns true when @p level would be printed. */
int aw_log_enabled(aw_log_level level);

/** Logs one line at @p level; a trailing newline is added. */
void aw_log(aw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Same with a va_list, for routing other libraries' logs. */
void aw_vlog(aw_log_level level, const char *fmt, va_list ap);

#define aw_error(...) aw_log(AW_LOG_ERROR, __VA_ARGS__)
#define aw_warn(...)  aw_log(AW_LOG_WARN, __VA_ARGS__)
#define aw_info(...)  aw_log(AW_LOG_INFO, __VA_ARGS__)
#define aw_debug(...)                                                                              \
    do {                                                                                           \
        if (aw_log_enabled(AW_LOG_DEBUG))                                                          \
            aw_log(AW_LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)

#endif
