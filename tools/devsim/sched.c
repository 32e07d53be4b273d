#include "sched.h"

#include <stdlib.h>

#include "aw_err.h"

int aw_sim_heap_init(aw_sim_heap *h, size_t cap)
{
    *h = (aw_sim_heap){0};
    h->v = calloc(cap ? cap : 1, sizeof *h->v);
    h->cap = cap;
    return h->v ? AW_OK : AW_ENOMEM;
}

void aw_sim_heap_free(aw_sim_heap *h)
{
    free(h->v);
    *h = (aw_sim_heap){0};
}

static int s_before(const aw_sim_slot *a, const aw_sim_slot *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void s_swap(aw_sim_heap *h, size_t i, size_t j)
{
    aw_sim_slot t = h->v[i];
    h->v[i] = h->v[j];
    h->v[j] = t;
}

int aw_sim_heap_push(aw_sim_heap *h, int64_t due, size_t item)
{
    if (h->n == h->cap)
        return AW_EFULL;
    size_t i = h->n++;
    h->v[i] = (aw_sim_slot){due, h->seq++, item};
    while (i > 0 && s_before(&h->v[i], &h->v[(i - 1) / 2])) {
        s_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    return AW_OK;
}

const aw_sim_slot *aw_sim_heap_top(const aw_sim_heap *h)
{
    return h->n ? &h->v[0] : NULL;
}

void aw_sim_heap_pop(aw_sim_heap *h)
{
    if (h->n == 0)
        return;
    h->v[0] = h->v[--h->n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && s_before(&h->v[l], &h->v[m]))
            m = l;
        if (r < h->n && s_before(&h->v[r], &h->v[m]))
            m = r;
        if (m == i)
            return;
        s_swap(h, i, m);
        i = m;
    }
}
