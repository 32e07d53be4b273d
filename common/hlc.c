#include "hlc.h"

#include <stdio.h>

/* Clamps a wall time into the 48-bit millisecond range of a stamp. */
static uint64_t s_clamp_ms(int64_t wall_ms)
{
    if (wall_ms < 0)
        return 0;
    if ((uint64_t)wall_ms > AW_HLC_MS_MAX)
        return AW_HLC_MS_MAX;
    return (uint64_t)wall_ms;
}

/*
 * The stamp after @p base at physical time @p pt: the wall time with
 * counter 0 when it is ahead of base, else base + 1 (the counter counts on
 * and carries into the milliseconds). Returns 0 when base is UINT64_MAX.
 */
static uint64_t s_next(uint64_t base, uint64_t pt)
{
    if (pt > aw_hlc_ms(base))
        return aw_hlc_make(pt, 0);
    if (base == UINT64_MAX)
        return 0;
    return base + 1;
}

void aw_hlc_init(aw_hlc *c, uint64_t floor)
{
    c->last = floor;
    c->max_drift_ms = AW_HLC_DEFAULT_MAX_DRIFT_MS;
}

uint64_t aw_hlc_now(aw_hlc *c, int64_t wall_ms)
{
    uint64_t next = s_next(c->last, s_clamp_ms(wall_ms));

    if (next != 0)
        c->last = next;
    return next;
}

int aw_hlc_update(aw_hlc *c, uint64_t remote, int64_t wall_ms, uint64_t *out)
{
    uint64_t pt = s_clamp_ms(wall_ms);
    uint64_t drift = c->max_drift_ms > 0 ? (uint64_t)c->max_drift_ms : 0;
    uint64_t base = remote > c->last ? remote : c->last;
    uint64_t next;

    /* pt < 2^48 and drift < 2^63: the sum cannot overflow. */
    if (aw_hlc_ms(remote) > pt + drift)
        return AW_ERANGE;
    next = s_next(base, pt);
    if (next == 0)
        return AW_ERANGE;
    c->last = next;
    *out = next;
    return AW_OK;
}

uint64_t aw_hlc_last(const aw_hlc *c)
{
    return c->last;
}

uint64_t aw_hlc_ms(uint64_t stamp)
{
    return stamp >> 16;
}

uint16_t aw_hlc_counter(uint64_t stamp)
{
    return (uint16_t)(stamp & AW_HLC_COUNTER_MAX);
}

uint64_t aw_hlc_make(uint64_t ms, uint16_t counter)
{
    return (ms & AW_HLC_MS_MAX) << 16 | counter;
}

/*
 * Converts days since 1970-01-01 (≥ 0) to a proleptic Gregorian date
 * (H. Hinnant's civil_from_days), so formatting needs no time zone or libc
 * state.
 */
static void s_civil(uint64_t days, unsigned *y, unsigned *m, unsigned *d)
{
    uint64_t z = days + 719468;
    uint64_t era = z / 146097;
    uint64_t doe = z - era * 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint64_t mp = (5 * doy + 2) / 153;

    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = (unsigned)(yoe + era * 400 + (*m <= 2));
}

int aw_hlc_format(uint64_t stamp, char *buf, size_t len)
{
    uint64_t ms = aw_hlc_ms(stamp);
    uint64_t secs = ms / 1000;
    unsigned y, mo, d;
    int n;

    s_civil(secs / 86400, &y, &mo, &d);
    n = snprintf(buf, len, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ#%u", y, mo, d,
                 (unsigned)(secs % 86400 / 3600), (unsigned)(secs % 3600 / 60),
                 (unsigned)(secs % 60), (unsigned)(ms % 1000), (unsigned)aw_hlc_counter(stamp));
    if (n < 0 || (size_t)n >= len) {
        if (len > 0)
            buf[0] = '\0';
        return AW_ERANGE;
    }
    return AW_OK;
}
