/**
 * @file loop.h
 * @brief A small epoll event loop (after CZMQ's zloop): file descriptors
 * with handlers, periodic timers on a timerfd, and a stop flag.
 *
 * Level-triggered: a handler is called on every turn while its fd is
 * readable. Timers share one timerfd ticking at the shortest period; each
 * timer runs when at least its period (CLOCK_MONOTONIC) has passed since it
 * last ran. Single-threaded; handlers may call aw_loop_stop().
 */
#ifndef AW_LOOP_H
#define AW_LOOP_H

#include <stdint.h>

#include "aw_err.h"

#define AW_LOOP_MAX_FDS    8
#define AW_LOOP_MAX_TIMERS 8

typedef struct aw_loop aw_loop_t;

/** Called when a watched fd is readable, or when a timer is due. */
typedef void (*aw_loop_fn)(void *arg);

/** Creates a loop; NULL when epoll or the timerfd cannot be made. */
aw_loop_t *aw_loop_new(void);

/** Closes the loop's own fds (not the watched ones) and nulls *self_p. Safe twice. */
void aw_loop_destroy(aw_loop_t **self_p);

/** Watches @p fd (borrowed: the caller closes it). AW_OK, AW_ETOOBIG, AW_EIO. */
int aw_loop_add(aw_loop_t *self, int fd, aw_loop_fn fn, void *arg);

/** Adds a timer that runs every @p period_ms (≥ 1). AW_OK, AW_ETOOBIG, AW_EINVAL, AW_EIO. */
int aw_loop_timer(aw_loop_t *self, int64_t period_ms, aw_loop_fn fn, void *arg);

/** Runs until aw_loop_stop(). Returns AW_OK, or AW_EIO when epoll fails. */
int aw_loop_run(aw_loop_t *self);

/** Makes aw_loop_run() return after the current turn. */
void aw_loop_stop(aw_loop_t *self);

/** Milliseconds of CLOCK_MONOTONIC. */
int64_t aw_loop_now_ms(void);

#endif
