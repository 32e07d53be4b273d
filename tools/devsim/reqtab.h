/**
 * @file reqtab.h
 * @brief Requests awaiting an answer, in a fixed table of slots. A request
 * is named by an 8-byte CoAP token: slot index and slot generation, both
 * big-endian. A slot's generation changes every time it is reused, so a
 * token of a request already finished never matches again.
 */
#ifndef AW_SIM_REQTAB_H
#define AW_SIM_REQTAB_H

#include <stddef.h>
#include <stdint.h>

#include "pack.h"

#define AW_SIM_TOKEN_LEN 8

/** One request in flight. recs points into the table's own storage. */
typedef struct aw_sim_request {
    uint32_t gen;
    int used;
    size_t session, device;
    int64_t sent_ns;
    size_t n;            /**< readings in the pack */
    aw_sim_record *recs; /**< the readings as sent (room for the table's per-slot count) */
} aw_sim_request;

typedef struct aw_sim_reqtab {
    aw_sim_request *v;
    aw_sim_record *recs;
    size_t *free_list;
    size_t cap, per, n_free;
} aw_sim_reqtab;

/** Makes @p cap slots of @p per readings each. Returns AW_OK or AW_ENOMEM. */
int aw_sim_reqtab_init(aw_sim_reqtab *t, size_t cap, size_t per);

/** Frees the table. Safe twice. */
void aw_sim_reqtab_free(aw_sim_reqtab *t);

/** Takes a free slot and writes its token; NULL when every slot is in use. */
aw_sim_request *aw_sim_reqtab_alloc(aw_sim_reqtab *t, uint8_t token[AW_SIM_TOKEN_LEN]);

/** Returns the request named by @p token (@p len bytes), or NULL. */
aw_sim_request *aw_sim_reqtab_find(aw_sim_reqtab *t, const uint8_t *token, size_t len);

/** Returns the slot of @p r to the table. */
void aw_sim_reqtab_release(aw_sim_reqtab *t, aw_sim_request *r);

#endif
