#include "rfc3339.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define S_MS_PER_DAY INT64_C(86400000)
/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z */
#define S_TIME_MIN INT64_C(-62167219200000)
#define S_TIME_MAX INT64_C(253402300799999)

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's
 * days_from_civil). */
static int64_t s_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of s_days_from_civil(). */
static void s_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;

    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int s_month_days(int64_t y, int m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);

    return m == 2 && leap ? 29 : days[m - 1];
}

int aw_time_format_rfc3339(int64_t ms, char buf[AW_RFC3339_LEN])
{
    int64_t days, rem, y;
    int m, d;

    buf[0] = '\0';
    if (ms < S_TIME_MIN || ms > S_TIME_MAX)
        return AW_ERANGE;
    days = ms / S_MS_PER_DAY;
    rem = ms % S_MS_PER_DAY;
    if (rem < 0) {
        rem += S_MS_PER_DAY;
        days--;
    }
    s_civil_from_days(days, &y, &m, &d);
    /* The "% 100u"s change nothing in range; they show gcc the field widths. */
    snprintf(buf, AW_RFC3339_LEN, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned)y % 10000u,
             (unsigned)m % 100u, (unsigned)d % 100u, (unsigned)(rem / 3600000) % 100u,
             (unsigned)(rem / 60000 % 60), (unsigned)(rem / 1000 % 60), (unsigned)(rem % 1000));
    return AW_OK;
}

/* Reads exactly @p n decimal digits at *p into *v and advances *p. */
static bool s_digits(const char **p, int n, int *v)
{
    int x = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        x = x * 10 + (c - '0');
    }
    *p += n;
    *v = x;
    return true;
}

/* Consumes one byte at *p when it is @p a or @p b. */
static bool s_lit(const char **p, char a, char b)
{
    if (**p != a && **p != b)
        return false;
    (*p)++;
    return true;
}

/* full-date: YYYY-MM-DD, a real calendar day; *days since 1970-01-01. */
static bool s_parse_date(const char **p, int64_t *days)
{
    int y, m, d;

    if (!s_digits(p, 4, &y) || !s_lit(p, '-', '-') || !s_digits(p, 2, &m) || !s_lit(p, '-', '-') ||
        !s_digits(p, 2, &d))
        return false;
    if (m < 1 || m > 12 || d < 1 || d > s_month_days(y, m))
        return false;
    *days = s_days_from_civil(y, m, d);
    return true;
}

/* partial-time: HH:MM:SS[.frac] with 1..9 fraction digits; *ms of the day. */
static bool s_parse_clock(const char **p, int64_t *ms)
{
    int h, mi, s, frac = 0, n = 0;

    if (!s_digits(p, 2, &h) || !s_lit(p, ':', ':') || !s_digits(p, 2, &mi) || !s_lit(p, ':', ':') ||
        !s_digits(p, 2, &s))
        return false;
    if (h > 23 || mi > 59 || s > 59)
        return false;
    if (s_lit(p, '.', '.')) {
        for (; **p >= '0' && **p <= '9'; (*p)++, n++)
            if (n < 3)
                frac = frac * 10 + (**p - '0');
        if (n < 1 || n > 9)
            return false;
        for (int k = n; k < 3; k++)
            frac *= 10;
    }
    *ms = ((h * 60 + mi) * 60 + s) * INT64_C(1000) + frac;
    return true;
}

/* time-offset: Z or ±hh:mm; *ms is local time minus UTC. */
static bool s_parse_offset(const char **p, int64_t *ms)
{
    int sign, h, m;

    if (s_lit(p, 'Z', 'z')) {
        *ms = 0;
        return true;
    }
    if (**p != '+' && **p != '-')
        return false;
    sign = **p == '-' ? -1 : 1;
    (*p)++;
    if (!s_digits(p, 2, &h) || !s_lit(p, ':', ':') || !s_digits(p, 2, &m) || h > 23 || m > 59)
        return false;
    *ms = sign * (h * 60 + m) * INT64_C(60000);
    return true;
}

int aw_time_parse_rfc3339(const char *s, int64_t *ms)
{
    const char *p = s;
    int64_t days, clock, offset;

    if (s == NULL || ms == NULL)
        return AW_EINVAL;
    if (!s_parse_date(&p, &days) || !s_lit(&p, 'T', 't') || !s_parse_clock(&p, &clock) ||
        !s_parse_offset(&p, &offset) || *p != '\0')
        return AW_EINVAL;
    *ms = days * S_MS_PER_DAY + clock - offset;
    return AW_OK;
}
