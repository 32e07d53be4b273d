#include "coap_body.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_slot {
    const void *owner; /* NULL = free */
    char key[AW_COAP_BODY_KEY_MAX];
    uint8_t *buf; /* max_payload bytes */
    size_t len;
    size_t last_offset; /* offset of the last block, to accept its repeat */
    int64_t touched_ms;
} s_slot;

struct aw_coap_body {
    size_t max_payload;
    s_slot slots[AW_COAP_BODY_SLOTS];
};

aw_coap_body_t *aw_coap_body_new(size_t max_payload)
{
    aw_coap_body_t *self = calloc(1, sizeof *self);
    if (self)
        self->max_payload = max_payload;
    return self;
}

static void s_free(s_slot *s)
{
    free(s->buf);
    memset(s, 0, sizeof *s);
}

void aw_coap_body_destroy(aw_coap_body_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (size_t i = 0; i < AW_COAP_BODY_SLOTS; i++)
        s_free(&(*self_p)->slots[i]);
    free(*self_p);
    *self_p = NULL;
}

static s_slot *s_find(aw_coap_body_t *self, const void *owner, const char *key)
{
    for (size_t i = 0; i < AW_COAP_BODY_SLOTS; i++) {
        s_slot *s = &self->slots[i];
        if (s->owner == owner && strncmp(s->key, key, sizeof s->key) == 0)
            return s;
    }
    return NULL;
}

/* A free slot, or one idle for too long (its transfer is abandoned). */
static s_slot *s_take(aw_coap_body_t *self, int64_t now_ms)
{
    for (size_t i = 0; i < AW_COAP_BODY_SLOTS; i++) {
        s_slot *s = &self->slots[i];
        if (s->owner && now_ms - s->touched_ms > AW_COAP_BODY_IDLE_MS)
            s_free(s);
        if (!s->owner)
            return s;
    }
    return NULL;
}

/* Finds or starts the transfer a block at @p offset belongs to. */
static aw_coap_body_state s_slot_for(aw_coap_body_t *self, const void *owner, const char *key,
                                     size_t offset, int64_t now_ms, s_slot **out)
{
    s_slot *s = s_find(self, owner, key);
    if (offset > 0) {
        *out = s;
        return s ? AW_COAP_BODY_MORE : AW_COAP_BODY_GAP;
    }
    if (!s && !(s = s_take(self, now_ms)))
        return AW_COAP_BODY_BUSY;
    if (!s->buf && !(s->buf = malloc(self->max_payload)))
        return AW_COAP_BODY_NOMEM;
    s->owner = owner;
    strncpy(s->key, key, sizeof s->key - 1);
    s->len = 0;
    s->last_offset = 0;
    *out = s;
    return AW_COAP_BODY_MORE;
}

aw_coap_body_state aw_coap_body_add(aw_coap_body_t *self, const void *owner, const char *key,
                                    const uint8_t *data, size_t len, size_t offset, size_t total,
                                    int64_t now_ms, const uint8_t **body, size_t *body_len)
{
    s_slot *s = NULL;
    if (total > self->max_payload || offset + len > self->max_payload) {
        aw_coap_body_release(self, owner, key);
        return AW_COAP_BODY_TOO_BIG;
    }
    aw_coap_body_state st = s_slot_for(self, owner, key, offset, now_ms, &s);
    if (st != AW_COAP_BODY_MORE)
        return st;
    bool repeat = offset > 0 && offset == s->last_offset && offset + len == s->len;
    if (!repeat && offset != s->len) {
        s_free(s);
        return AW_COAP_BODY_GAP;
    }
    if (len)
        memcpy(s->buf + offset, data, len);
    s->len = offset + len;
    s->last_offset = offset;
    s->touched_ms = now_ms;
    if (s->len < total)
        return AW_COAP_BODY_MORE;
    *body = s->buf;
    *body_len = s->len;
    return AW_COAP_BODY_COMPLETE;
}

void aw_coap_body_release(aw_coap_body_t *self, const void *owner, const char *key)
{
    s_slot *s = s_find(self, owner, key);
    if (s)
        s_free(s);
}

void aw_coap_body_forget(aw_coap_body_t *self, const void *owner)
{
    for (size_t i = 0; i < AW_COAP_BODY_SLOTS; i++)
        if (self->slots[i].owner == owner)
            s_free(&self->slots[i]);
}

size_t aw_coap_body_active(const aw_coap_body_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < AW_COAP_BODY_SLOTS; i++)
        n += self->slots[i].owner != NULL;
    return n;
}
