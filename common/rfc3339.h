/**
 * @file rfc3339.h
 * @brief RFC 3339 times, the form every anwang JSON time takes (SPEC §8).
 */
#ifndef AW_RFC3339_H
#define AW_RFC3339_H

#include <stdint.h>

#include "aw_err.h"

/** Buffer size that always fits aw_time_format_rfc3339()'s output with its NUL. */
#define AW_RFC3339_LEN 32

/**
 * Writes @p ms (ms since the Unix epoch, may be negative) as RFC 3339 UTC with
 * milliseconds, e.g. "2025-03-01T08:30:00.123Z", into @p buf. Returns AW_OK,
 * or AW_ERANGE (buf then "") when the time is outside years 0000..9999.
 */
int aw_time_format_rfc3339(int64_t ms, char buf[AW_RFC3339_LEN]);

/**
 * Parses an RFC 3339 date-time (§5.6) into ms since the Unix epoch:
 * `YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)`. "T" and "Z" may be
 * lowercase; frac has 1..9 digits and is truncated to milliseconds; an
 * offset of "-00:00" reads as UTC. Refused: invalid dates (Feb 30, Feb 29
 * outside leap years, month 13), hour 24, minute or second 60 (Unix time has
 * no leap seconds), offsets beyond ±23:59, a missing offset, a space for
 * "T", any byte after the offset. @p s must be NUL-terminated.
 * Returns AW_OK and sets *ms, or AW_EINVAL (then *ms is unchanged).
 */
int aw_time_parse_rfc3339(const char *s, int64_t *ms);

#endif
