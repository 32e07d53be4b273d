/**
 * @file coap_dedup.h
 * @brief Recognises retransmitted CoAP requests, so a POST is processed
 * once (RFC 7252 §4.5; SPEC §9 "exactly once").
 *
 * A device whose ACK got lost sends the same confirmable request again,
 * with the same message id. libcoap 4.3.1 passes it to the handler again,
 * which would store the readings twice. This table remembers the last
 * AW_DEDUP_CAP requests (per session and message id) for AW_DEDUP_LIFETIME_MS
 * (EXCHANGE_LIFETIME): whether each is still being committed and, once
 * done, its result, so a duplicate gets the same answer without being
 * processed. Fixed memory; oldest entries go first. Single-threaded.
 */
#ifndef AW_COAP_DEDUP_H
#define AW_COAP_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AW_DEDUP_CAP         4096
#define AW_DEDUP_LIFETIME_MS 247000 /* EXCHANGE_LIFETIME, RFC 7252 §4.8.2 */
#define AW_DEDUP_NOTES       64     /* results with a note kept (created hazards) */
#define AW_DEDUP_NOTE_MAX    96     /* e.g. the id of a created hazard */

typedef struct aw_dedup aw_dedup_t;

/** One remembered request. */
typedef struct aw_dedup_entry {
    const void *owner; /**< the session (NULL = free) */
    uint16_t mid;
    bool done;       /**< false while its commit is pending */
    int err;         /**< result once done (aw_err) */
    int64_t time_ms; /**< when it was first seen */
    int next;        /**< private: hash chain */
} aw_dedup_entry;

/** Creates an empty table; NULL on ENOMEM. */
aw_dedup_t *aw_dedup_new(void);

/** Frees the table and nulls *self_p. Safe on NULL and twice. */
void aw_dedup_destroy(aw_dedup_t **self_p);

/**
 * Returns the entry of (@p owner, @p mid) seen less than the lifetime
 * before @p now_ms, or NULL. Borrowed until the next aw_dedup_add().
 */
aw_dedup_entry *aw_dedup_find(aw_dedup_t *self, const void *owner, uint16_t mid, int64_t now_ms);

/**
 * Remembers (@p owner, @p mid) as pending, evicting the oldest entry when
 * full. Returns the entry (borrowed until the next aw_dedup_add()).
 */
aw_dedup_entry *aw_dedup_add(aw_dedup_t *self, const void *owner, uint16_t mid, int64_t now_ms);

/**
 * Keeps @p note (e.g. a created hazard's id) with the result of (@p owner,
 * @p mid); the last AW_DEDUP_NOTES notes are kept.
 */
void aw_dedup_note_set(aw_dedup_t *self, const void *owner, uint16_t mid, const char *note);

/** The note kept for (@p owner, @p mid), or NULL. Borrowed until the next note_set. */
const char *aw_dedup_note_get(const aw_dedup_t *self, const void *owner, uint16_t mid);

/** Forgets every entry of @p owner (its session is gone). */
void aw_dedup_forget(aw_dedup_t *self, const void *owner);

#endif
