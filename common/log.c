#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const aw_log_level_names[] = {"error", "warn", "info", "debug", NULL};

/* syslog priorities for journald's "<N>" line prefix */
static const int s_priority[] = {3, 4, 6, 7};

static struct {
    char program[32];
    aw_log_level level;
    int journald; /* stderr goes to the journal: prefix <N>, no timestamp */
} s_log = {"anwang", AW_LOG_INFO, 0};

void aw_log_init(const char *program, aw_log_level level)
{
    snprintf(s_log.program, sizeof s_log.program, "%s", program ? program : "anwang");
    s_log.level = level;
    s_log.journald = getenv("JOURNAL_STREAM") != NULL;
}

void aw_log_set_level(aw_log_level level)
{
    s_log.level = level;
}

int aw_log_enabled(aw_log_level level)
{
    return level <= s_log.level;
}

/* Formats the line into one buffer so concurrent writers do not interleave. */
void aw_vlog(aw_log_level level, const char *fmt, va_list ap)
{
    if (!aw_log_enabled(level))
        return;
    char line[1024];
    size_t used;
    if (s_log.journald) {
        used = (size_t)snprintf(line, sizeof line, "<%d>%s: ", s_priority[level], s_log.program);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        used = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        used += (size_t)snprintf(line + used, sizeof line - used,
                                 ".%03ldZ %-5s %s: ", ts.tv_nsec / 1000000,
                                 aw_log_level_names[level], s_log.program);
    }
    if (used < sizeof line)
        vsnprintf(line + used, sizeof line - used, fmt, ap);
    size_t len = strnlen(line, sizeof line - 2);
    while (len > 0 && line[len - 1] == '\n')
        len--;
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}

void aw_log(aw_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    aw_vlog(level, fmt, ap);
    va_end(ap);
}
