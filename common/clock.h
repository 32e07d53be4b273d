/**
 * @file clock.h
 * @brief The two clocks every program reads, in milliseconds: monotonic for
 * timers and deadlines (never jumps), wall (CLOCK_REALTIME) for stamps and
 * skew (jumps with the system clock; the HLC in hlc.h keeps stamps ordered).
 */
#ifndef AW_CLOCK_H
#define AW_CLOCK_H

#include <stdint.h>
#include <time.h>

/** Milliseconds of CLOCK_MONOTONIC. */
static inline int64_t aw_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/** Milliseconds since the Unix epoch (CLOCK_REALTIME). */
static inline int64_t aw_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
