#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

typedef struct s_watch {
    int fd;
    aw_loop_fn fn;
    void *arg;
} s_watch;

typedef struct s_timer {
    int64_t period_ms;
    int64_t last_ms;
    aw_loop_fn fn;
    void *arg;
} s_timer;

struct aw_loop {
    int ep;
    int tfd;
    int64_t tick_ms; /* current timerfd period (0 = disarmed) */
    s_watch fds[AW_LOOP_MAX_FDS];
    size_t n_fds;
    s_timer timers[AW_LOOP_MAX_TIMERS];
    size_t n_timers;
    bool stop;
};

/* The timerfd's slot in epoll: one past the watched fds. */
#define S_TIMER_SLOT AW_LOOP_MAX_FDS

int64_t aw_loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

aw_loop_t *aw_loop_new(void)
{
    aw_loop_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ep = epoll_create1(EPOLL_CLOEXEC);
    self->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = S_TIMER_SLOT};
    if (self->ep < 0 || self->tfd < 0 || epoll_ctl(self->ep, EPOLL_CTL_ADD, self->tfd, &ev) < 0)
        aw_loop_destroy(&self);
    return self;
}

void aw_loop_destroy(aw_loop_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aw_loop_t *self = *self_p;
    if (self->tfd >= 0)
        close(self->tfd);
    if (self->ep >= 0)
        close(self->ep);
    free(self);
    *self_p = NULL;
}

int aw_loop_add(aw_loop_t *self, int fd, aw_loop_fn fn, void *arg)
{
    if (self->n_fds == AW_LOOP_MAX_FDS)
        return AW_ETOOBIG;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)self->n_fds};
    if (epoll_ctl(self->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        return AW_EIO;
    self->fds[self->n_fds++] = (s_watch){.fd = fd, .fn = fn, .arg = arg};
    return AW_OK;
}

/* Arms the timerfd at the shortest timer period. */
static int s_arm(aw_loop_t *self, int64_t period_ms)
{
    struct itimerspec its = {0};
    its.it_interval.tv_sec = period_ms / 1000;
    its.it_interval.tv_nsec = (period_ms % 1000) * 1000000;
    its.it_value = its.it_interval;
    if (timerfd_settime(self->tfd, 0, &its, NULL) < 0)
        return AW_EIO;
    self->tick_ms = period_ms;
    return AW_OK;
}

int aw_loop_timer(aw_loop_t *self, int64_t period_ms, aw_loop_fn fn, void *arg)
{
    if (period_ms < 1)
        return AW_EINVAL;
    if (self->n_timers == AW_LOOP_MAX_TIMERS)
        return AW_ETOOBIG;
    if (self->tick_ms == 0 || period_ms < self->tick_ms) {
        int rv = s_arm(self, period_ms);
        if (rv != AW_OK)
            return rv;
    }
    self->timers[self->n_timers++] =
        (s_timer){.period_ms = period_ms, .last_ms = aw_loop_now_ms(), .fn = fn, .arg = arg};
    return AW_OK;
}

static void s_run_timers(aw_loop_t *self)
{
    uint64_t expirations;
    if (read(self->tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
        return;
    int64_t now = aw_loop_now_ms();
    for (size_t i = 0; i < self->n_timers; i++) {
        s_timer *t = &self->timers[i];
        /* a tick may come a hair early: allow 1 ms */
        if (now - t->last_ms + 1 >= t->period_ms) {
            t->last_ms = now;
            t->fn(t->arg);
        }
    }
}

int aw_loop_run(aw_loop_t *self)
{
    struct epoll_event evs[AW_LOOP_MAX_FDS + 1];
    self->stop = false;
    while (!self->stop) {
        int n = epoll_wait(self->ep, evs, AW_LOOP_MAX_FDS + 1, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return AW_EIO;
        for (int i = 0; i < n && !self->stop; i++) {
            uint32_t slot = evs[i].data.u32;
            if (slot == S_TIMER_SLOT)
                s_run_timers(self);
            else
                self->fds[slot].fn(self->fds[slot].arg);
        }
    }
    return AW_OK;
}

void aw_loop_stop(aw_loop_t *self)
{
    self->stop = true;
}
