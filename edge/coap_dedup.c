#include "coap_dedup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_BUCKETS AW_DEDUP_CAP

typedef struct s_note {
    const void *owner;
    uint16_t mid;
    char text[AW_DEDUP_NOTE_MAX];
} s_note;

struct aw_dedup {
    aw_dedup_entry ring[AW_DEDUP_CAP]; /* FIFO: next_slot is the oldest */
    int buckets[S_BUCKETS];            /* head index of each chain, -1 = empty */
    size_t next_slot;
    s_note notes[AW_DEDUP_NOTES]; /* FIFO too */
    size_t next_note;
};

static size_t s_hash(const void *owner, uint16_t mid)
{
    uintptr_t h = (uintptr_t)owner;
    h ^= h >> 17;
    h = h * 31 + mid;
    h ^= h >> 13;
    return (size_t)(h % S_BUCKETS);
}

aw_dedup_t *aw_dedup_new(void)
{
    aw_dedup_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    for (size_t i = 0; i < S_BUCKETS; i++)
        self->buckets[i] = -1;
    return self;
}

void aw_dedup_destroy(aw_dedup_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

aw_dedup_entry *aw_dedup_find(aw_dedup_t *self, const void *owner, uint16_t mid, int64_t now_ms)
{
    for (int i = self->buckets[s_hash(owner, mid)]; i >= 0; i = self->ring[i].next) {
        aw_dedup_entry *e = &self->ring[i];
        if (e->owner == owner && e->mid == mid)
            return now_ms - e->time_ms < AW_DEDUP_LIFETIME_MS ? e : NULL;
    }
    return NULL;
}

/* Takes entry @p idx out of its hash chain. */
static void s_unlink(aw_dedup_t *self, int idx)
{
    aw_dedup_entry *e = &self->ring[idx];
    int *link = &self->buckets[s_hash(e->owner, e->mid)];
    while (*link >= 0 && *link != idx)
        link = &self->ring[*link].next;
    if (*link == idx)
        *link = e->next;
    memset(e, 0, sizeof *e);
}

aw_dedup_entry *aw_dedup_add(aw_dedup_t *self, const void *owner, uint16_t mid, int64_t now_ms)
{
    int idx = (int)self->next_slot;
    self->next_slot = (self->next_slot + 1) % AW_DEDUP_CAP;
    if (self->ring[idx].owner)
        s_unlink(self, idx);
    aw_dedup_entry *e = &self->ring[idx];
    size_t b = s_hash(owner, mid);
    e->owner = owner;
    e->mid = mid;
    e->time_ms = now_ms;
    e->next = self->buckets[b];
    self->buckets[b] = idx;
    return e;
}

void aw_dedup_note_set(aw_dedup_t *self, const void *owner, uint16_t mid, const char *note)
{
    s_note *n = &self->notes[self->next_note];
    self->next_note = (self->next_note + 1) % AW_DEDUP_NOTES;
    n->owner = owner;
    n->mid = mid;
    snprintf(n->text, sizeof n->text, "%s", note);
}

const char *aw_dedup_note_get(const aw_dedup_t *self, const void *owner, uint16_t mid)
{
    for (size_t i = 0; i < AW_DEDUP_NOTES; i++)
        if (self->notes[i].owner == owner && self->notes[i].mid == mid)
            return self->notes[i].text;
    return NULL;
}

void aw_dedup_forget(aw_dedup_t *self, const void *owner)
{
    for (int i = 0; i < AW_DEDUP_CAP; i++)
        if (self->ring[i].owner == owner)
            s_unlink(self, i);
    for (size_t i = 0; i < AW_DEDUP_NOTES; i++)
        if (self->notes[i].owner == owner)
            memset(&self->notes[i], 0, sizeof self->notes[i]);
}
