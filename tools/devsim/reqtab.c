#include "reqtab.h"

#include <stdlib.h>
#include <string.h>

#include "aw_err.h"

int aw_sim_reqtab_init(aw_sim_reqtab *t, size_t cap, size_t per)
{
    memset(t, 0, sizeof *t);
    t->v = calloc(cap ? cap : 1, sizeof *t->v);
    t->recs = calloc((cap ? cap : 1) * (per ? per : 1), sizeof *t->recs);
    t->free_list = calloc(cap ? cap : 1, sizeof *t->free_list);
    if (!t->v || !t->recs || !t->free_list) {
        aw_sim_reqtab_free(t);
        return AW_ENOMEM;
    }
    t->cap = cap;
    t->per = per;
    for (size_t i = 0; i < cap; i++) {
        t->v[i].recs = &t->recs[i * per];
        t->free_list[t->n_free++] = cap - 1 - i;
    }
    return AW_OK;
}

void aw_sim_reqtab_free(aw_sim_reqtab *t)
{
    free(t->v);
    free(t->recs);
    free(t->free_list);
    memset(t, 0, sizeof *t);
}

static void s_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t s_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

aw_sim_request *aw_sim_reqtab_alloc(aw_sim_reqtab *t, uint8_t token[AW_SIM_TOKEN_LEN])
{
    if (t->n_free == 0)
        return NULL;
    size_t i = t->free_list[--t->n_free];
    aw_sim_request *r = &t->v[i];
    r->gen = r->gen + 1 ? r->gen + 1 : 1;
    r->used = 1;
    r->n = 0;
    s_be32(token, (uint32_t)i);
    s_be32(token + 4, r->gen);
    return r;
}

aw_sim_request *aw_sim_reqtab_find(aw_sim_reqtab *t, const uint8_t *token, size_t len)
{
    if (len != AW_SIM_TOKEN_LEN)
        return NULL;
    uint32_t i = s_rd32(token), gen = s_rd32(token + 4);
    if (i >= t->cap || !t->v[i].used || t->v[i].gen != gen)
        return NULL;
    return &t->v[i];
}

void aw_sim_reqtab_release(aw_sim_reqtab *t, aw_sim_request *r)
{
    if (!r->used)
        return;
    r->used = 0;
    t->free_list[t->n_free++] = (size_t)(r - t->v);
}
