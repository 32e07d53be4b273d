/**
 * @file hlc.h
 * @brief Hybrid logical clock (SPEC §5, clocks).
 *
 * A stamp is a uint64: 48-bit wall milliseconds since the Unix epoch << 16 |
 * a 16-bit logical counter. Stamps compare as plain integers. The clock is
 * pure: the caller reads the wall clock and passes it in, so every path is
 * testable and the clock never makes a system call.
 *
 * Guarantees:
 *  - every stamp issued is strictly greater than every stamp the clock has
 *    issued or received before, and greater than the floor it was started
 *    with, whatever the wall clock does (jumps back, stands still);
 *  - when the counter runs out within one millisecond it carries into the
 *    millisecond part (the stamp runs slightly ahead of the wall clock);
 *  - a remote stamp too far ahead of the local wall clock is refused rather
 *    than dragging the clock forward (aw_hlc_update()).
 *
 * Persistence belongs to the store: note every issued or received stamp
 * with aw_txn_note_hlc() (or pass it to aw_store_append()), and start the
 * clock with aw_hlc_init(&c, aw_store_hlc_floor(store)).
 *
 * Not thread-safe: one aw_hlc per thread, or a lock around it.
 */
#ifndef AW_HLC_H
#define AW_HLC_H

#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"

/** Largest millisecond value a stamp can hold (year 10889). */
#define AW_HLC_MS_MAX ((UINT64_C(1) << 48) - 1)
/** Largest logical counter value. */
#define AW_HLC_COUNTER_MAX UINT64_C(0xFFFF)
/** Default for aw_hlc.max_drift_ms: one hour. */
#define AW_HLC_DEFAULT_MAX_DRIFT_MS (60 * 60 * 1000)
/** Buffer size that always fits aw_hlc_format()'s output with its NUL. */
#define AW_HLC_STR_LEN 40

/** A hybrid logical clock. Plain value: no allocation, no destroy. */
typedef struct aw_hlc {
    /** Highest stamp issued or received. Read it with aw_hlc_last(). */
    uint64_t last;
    /**
     * aw_hlc_update() refuses a remote stamp whose millisecond part is more
     * than this ahead of the local wall clock. Set by aw_hlc_init() to
     * AW_HLC_DEFAULT_MAX_DRIFT_MS; the caller may change it (must be ≥ 0).
     */
    int64_t max_drift_ms;
} aw_hlc;

/**
 * Starts @p c so that it never issues a stamp ≤ @p floor. Pass the highest
 * stamp ever persisted (aw_store_hlc_floor()), or 0 for a fresh node.
 */
void aw_hlc_init(aw_hlc *c, uint64_t floor);

/**
 * Issues a stamp for a local or send event at wall time @p wall_ms. The
 * result is strictly greater than every earlier stamp of @p c. Wall times
 * below 0 or above AW_HLC_MS_MAX are clamped. Returns 0 only when the stamp
 * space is exhausted (the last stamp is UINT64_MAX, which needs a corrupt
 * floor); 0 is never a valid stamp.
 */
uint64_t aw_hlc_now(aw_hlc *c, int64_t wall_ms);

/**
 * Merges a stamp received from another node and issues the stamp of the
 * receive event: strictly greater than @p remote and than every earlier
 * stamp of @p c. On success writes it to *out and returns AW_OK.
 *
 * Returns AW_ERANGE, leaving @p c and *out unchanged, when the millisecond
 * part of @p remote is more than c->max_drift_ms ahead of @p wall_ms (a
 * peer with a wrong clock must not drag ours a year ahead), or when the
 * stamp space is exhausted. The caller should then refuse the remote data,
 * or accept that events it stamps later with aw_hlc_now() may sort before
 * that data, and flag the peer's clock.
 */
int aw_hlc_update(aw_hlc *c, uint64_t remote, int64_t wall_ms, uint64_t *out);

/** Returns the highest stamp issued or received so far (the one to persist). */
uint64_t aw_hlc_last(const aw_hlc *c);

/** Returns the wall-millisecond part of @p stamp. */
uint64_t aw_hlc_ms(uint64_t stamp);

/** Returns the logical-counter part of @p stamp. */
uint16_t aw_hlc_counter(uint64_t stamp);

/** Builds a stamp; @p ms is truncated to 48 bits. */
uint64_t aw_hlc_make(uint64_t ms, uint16_t counter);

/**
 * Writes @p stamp for logs as RFC 3339 UTC with milliseconds, then '#' and
 * the counter in decimal, e.g. "2025-03-01T08:30:00.123Z#42", into @p buf
 * (@p len bytes, AW_HLC_STR_LEN always suffices). Returns AW_OK, or
 * AW_ERANGE when @p buf is too small (then buf holds "" if len > 0).
 */
int aw_hlc_format(uint64_t stamp, char *buf, size_t len);

#endif
