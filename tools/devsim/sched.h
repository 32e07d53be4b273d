/**
 * @file sched.h
 * @brief A fixed-capacity binary min-heap of (due time, item): which
 * simulated device sends next. Items with the same due time come out in the
 * order they went in, so devices take turns fairly.
 */
#ifndef AW_SIM_SCHED_H
#define AW_SIM_SCHED_H

#include <stddef.h>
#include <stdint.h>

typedef struct aw_sim_slot {
    int64_t due;
    uint64_t seq;
    size_t item;
} aw_sim_slot;

typedef struct aw_sim_heap {
    aw_sim_slot *v;
    size_t n, cap;
    uint64_t seq;
} aw_sim_heap;

/** Makes an empty heap for at most @p cap items. Returns AW_OK or AW_ENOMEM. */
int aw_sim_heap_init(aw_sim_heap *h, size_t cap);

/** Frees the heap's memory. Safe twice. */
void aw_sim_heap_free(aw_sim_heap *h);

/** Adds @p item, due at @p due. Returns AW_OK, or AW_EFULL when at capacity. */
int aw_sim_heap_push(aw_sim_heap *h, int64_t due, size_t item);

/** Returns the earliest entry without removing it, or NULL when empty. */
const aw_sim_slot *aw_sim_heap_top(const aw_sim_heap *h);

/** Removes the earliest entry (no-op when empty). */
void aw_sim_heap_pop(aw_sim_heap *h);

#endif
