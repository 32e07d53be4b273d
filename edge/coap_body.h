/**
 * @file coap_body.h
 * @brief Bounded reassembly of block-wise (RFC 7959 Block1) request bodies.
 *
 * libcoap 4.3.1 can reassemble bodies itself (COAP_BLOCK_SINGLE_BODY), but
 * it has no size limit: a client announcing Size1 = 4 GiB, or sending
 * blocks for ever, makes it allocate without bound. The edge must run for a
 * year in bounded memory, so libcoap only tracks the blocks
 * (COAP_BLOCK_USE_LIBCOAP) and calls the handler once per block; this
 * module keeps at most AW_COAP_BODY_SLOTS bodies in flight, each at most
 * max_payload bytes, and drops a body idle for AW_COAP_BODY_IDLE_MS.
 *
 * A body is keyed by (session, resource path). Blocks must come in order
 * (a repeat of the last block is accepted again); anything else ends the
 * transfer. Single-threaded.
 */
#ifndef AW_COAP_BODY_H
#define AW_COAP_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"

#define AW_COAP_BODY_SLOTS   8
#define AW_COAP_BODY_IDLE_MS 30000
#define AW_COAP_BODY_KEY_MAX 256

typedef struct aw_coap_body aw_coap_body_t;

/** What aw_coap_body_add() made of one block. */
typedef enum aw_coap_body_state {
    AW_COAP_BODY_MORE,     /**< stored; answer 2.31 Continue */
    AW_COAP_BODY_COMPLETE, /**< the body is whole: read it, then aw_coap_body_release() */
    AW_COAP_BODY_TOO_BIG,  /**< over max_payload: 4.13 (transfer dropped) */
    AW_COAP_BODY_GAP,      /**< out of order or missing start: 4.08 (transfer dropped) */
    AW_COAP_BODY_BUSY,     /**< no free slot: 5.03 */
    AW_COAP_BODY_NOMEM,    /**< allocation failed: 5.00 */
} aw_coap_body_state;

/** Creates the table for bodies of at most @p max_payload bytes. NULL on ENOMEM. */
aw_coap_body_t *aw_coap_body_new(size_t max_payload);

/** Frees the table and nulls *self_p. Safe on NULL and twice. */
void aw_coap_body_destroy(aw_coap_body_t **self_p);

/**
 * Adds one block: @p len bytes at @p offset of a body of (estimated)
 * @p total bytes, for transfer @p owner (the session) and @p key (the
 * resource path). @p data is borrowed for the call. On COMPLETE, *body and
 * *body_len give the whole body, valid until aw_coap_body_release().
 */
aw_coap_body_state aw_coap_body_add(aw_coap_body_t *self, const void *owner, const char *key,
                                    const uint8_t *data, size_t len, size_t offset, size_t total,
                                    int64_t now_ms, const uint8_t **body, size_t *body_len);

/** Ends the transfer of (@p owner, @p key), freeing its buffer. */
void aw_coap_body_release(aw_coap_body_t *self, const void *owner, const char *key);

/** Ends every transfer of @p owner (its session is going away). */
void aw_coap_body_forget(aw_coap_body_t *self, const void *owner);

/** Bodies in flight. */
size_t aw_coap_body_active(const aw_coap_body_t *self);

#endif
