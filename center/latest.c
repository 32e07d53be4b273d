/* latest.c: latest value per (device, metric), written once per batch. */
#include "latest.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* One (device, metric) of the batch: its newest reading so far. */
typedef struct s_ent {
    uint64_t hash;
    size_t koff, klen; /* key in the arena */
    int64_t time_ms;
    uint64_t hlc;
    const ProtobufCBinaryData *bytes;
} s_ent;

struct aw_latest_batch {
    s_ent *ents;
    size_t n, cap;
    char *arena;
    size_t alen, acap;
    uint32_t *slots; /* index + 1 into ents; 0 = empty */
    size_t nslots;   /* power of two, at least twice n */
    uint8_t *val;    /* scratch for values */
    size_t vcap;
};

int aw_latest_batch_new(aw_latest_batch_t **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? AW_OK : AW_ENOMEM;
}

void aw_latest_batch_destroy(aw_latest_batch_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    aw_latest_batch_t *self = *self_p;
    free(self->ents);
    free(self->arena);
    free(self->slots);
    free(self->val);
    free(self);
    *self_p = NULL;
}

static uint64_t s_hash(const char *k, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)k[i]) * UINT64_C(1099511628211);
    return h;
}

/* The slot holding @p key, or the empty slot where it goes. */
static uint32_t *s_slot(aw_latest_batch_t *self, const char *key, size_t klen, uint64_t h)
{
    size_t mask = self->nslots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t *s = &self->slots[i];
        if (*s == 0)
            return s;
        const s_ent *e = &self->ents[*s - 1];
        if (e->hash == h && e->klen == klen && memcmp(self->arena + e->koff, key, klen) == 0)
            return s;
    }
}

/* Makes room for one more entry and @p klen more key bytes. */
static int s_reserve(aw_latest_batch_t *self, size_t klen)
{
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 256;
        s_ent *e = realloc(self->ents, cap * sizeof *e);
        if (e == NULL)
            return AW_ENOMEM;
        self->ents = e;
        self->cap = cap;
    }
    if (self->alen + klen > self->acap) {
        size_t cap = self->acap ? self->acap * 2 : 8192;
        while (cap < self->alen + klen)
            cap *= 2;
        char *a = realloc(self->arena, cap);
        if (a == NULL)
            return AW_ENOMEM;
        self->arena = a;
        self->acap = cap;
    }
    if ((self->n + 1) * 2 <= self->nslots)
        return AW_OK;
    size_t nslots = self->nslots ? self->nslots * 2 : 1024;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (slots == NULL)
        return AW_ENOMEM;
    free(self->slots);
    self->slots = slots;
    self->nslots = nslots;
    for (size_t i = 0; i < self->n; i++) {
        const s_ent *e = &self->ents[i];
        *s_slot(self, self->arena + e->koff, e->klen, e->hash) = (uint32_t)(i + 1);
    }
    return AW_OK;
}

static bool s_newer(int64_t t, uint64_t h, int64_t than_t, uint64_t than_h)
{
    return t > than_t || (t == than_t && h >= than_h);
}

int aw_latest_batch_add(aw_latest_batch_t *self, const Anwang__Record *rec,
                        const ProtobufCBinaryData *bytes)
{
    if (rec->body_case != ANWANG__RECORD__BODY_READING)
        return AW_EINVAL;
    const Anwang__Reading *r = rec->reading;
    char key[AW_CENTER_KEY_MAX];
    size_t dlen = strlen(r->device), mlen = strlen(r->metric), klen = dlen + 1 + mlen;
    if (klen > sizeof key)
        return AW_EINVAL;
    memcpy(key, r->device, dlen + 1);
    memcpy(key + dlen + 1, r->metric, mlen);
    int rv = s_reserve(self, klen);
    if (rv != AW_OK)
        return rv;
    uint64_t h = s_hash(key, klen);
    uint32_t *slot = s_slot(self, key, klen, h);
    if (*slot != 0) {
        s_ent *e = &self->ents[*slot - 1];
        if (s_newer(r->time_ms, rec->hlc, e->time_ms, e->hlc)) {
            e->time_ms = r->time_ms;
            e->hlc = rec->hlc;
            e->bytes = bytes;
        }
        return AW_OK;
    }
    memcpy(self->arena + self->alen, key, klen);
    self->ents[self->n] = (s_ent){h, self->alen, klen, r->time_ms, rec->hlc, bytes};
    self->alen += klen;
    *slot = (uint32_t)++self->n;
    return AW_OK;
}

/* ------------------------------------------------------------ flush */

typedef struct s_sorted {
    const char *key;
    const s_ent *e;
} s_sorted;

/* LMDB's default order: bytewise, a shorter key before its extensions. */
static int s_cmp(const void *a, const void *b)
{
    const s_sorted *x = a, *y = b;
    size_t n = x->e->klen < y->e->klen ? x->e->klen : y->e->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->e->klen > y->e->klen) - (x->e->klen < y->e->klen);
}

/* Writes one entry unless the stored value is newer. */
static int s_put(aw_latest_batch_t *self, aw_txn_t *txn, aw_table_t t, const s_sorted *s,
                 const char *edge, size_t elen)
{
    const s_ent *e = s->e;
    const void *old;
    size_t olen;
    int rv = aw_txn_get(txn, t, s->key, e->klen, &old, &olen);
    if (rv == AW_OK && olen >= 16 &&
        !s_newer(e->time_ms, e->hlc, (int64_t)aw_get_be64(old),
                 aw_get_be64((const uint8_t *)old + 8)))
        return AW_OK;
    if (rv != AW_OK && rv != AW_ENOTFOUND)
        return rv;
    size_t vlen = 16 + elen + 1 + e->bytes->len;
    if (vlen > self->vcap) {
        uint8_t *v = realloc(self->val, vlen);
        if (v == NULL)
            return AW_ENOMEM;
        self->val = v;
        self->vcap = vlen;
    }
    aw_put_be64(self->val, (uint64_t)e->time_ms);
    aw_put_be64(self->val + 8, e->hlc);
    memcpy(self->val + 16, edge, elen + 1);
    memcpy(self->val + 16 + elen + 1, e->bytes->data, e->bytes->len);
    return aw_txn_put(txn, t, s->key, e->klen, self->val, vlen);
}

int aw_latest_batch_flush(aw_latest_batch_t *self, aw_txn_t *txn, const aw_center_db_t *db,
                          const char *edge)
{
    if (self->n == 0)
        return AW_OK;
    s_sorted *v = malloc(self->n * sizeof *v);
    if (v == NULL)
        return AW_ENOMEM;
    for (size_t i = 0; i < self->n; i++)
        v[i] = (s_sorted){self->arena + self->ents[i].koff, &self->ents[i]};
    qsort(v, self->n, sizeof *v, s_cmp);
    aw_table_t t = aw_center_db_table(db, AW_CT_LATEST);
    size_t elen = strlen(edge);
    int rv = AW_OK;
    for (size_t i = 0; i < self->n && rv == AW_OK; i++)
        rv = s_put(self, txn, t, &v[i], edge, elen);
    free(v);
    self->n = 0;
    self->alen = 0;
    memset(self->slots, 0, self->nslots * sizeof *self->slots);
    return rv;
}

/* ------------------------------------------------------------ reading */

/* Decodes a stored value: edge id, then the record. */
static int s_decode(const uint8_t *p, size_t vlen, Anwang__Record **rec, char *edge_id)
{
    const uint8_t *nul = vlen > 16 ? memchr(p + 16, 0, vlen - 16) : NULL;
    if (nul == NULL || (size_t)(nul - (p + 16)) > AW_CENTER_EDGE_ID_MAX)
        return AW_ECORRUPT;
    if (edge_id != NULL)
        memcpy(edge_id, p + 16, (size_t)(nul - (p + 16)) + 1);
    size_t off = (size_t)(nul + 1 - p);
    return aw_codec_record_decode(nul + 1, vlen - off, NULL, rec, NULL, 0) == AW_OK ? AW_OK
                                                                                    : AW_ECORRUPT;
}

int aw_center_latest_get(aw_center_db_t *db, const char *device, const char *metric,
                         Anwang__Record **rec, char *edge_id)
{
    uint8_t key[AW_CENTER_KEY_MAX];
    size_t dlen = strlen(device), mlen = strlen(metric);
    *rec = NULL;
    if (dlen + 1 + mlen > sizeof key)
        return AW_EINVAL;
    memcpy(key, device, dlen + 1);
    memcpy(key + dlen + 1, metric, mlen);
    aw_txn_t *txn = NULL;
    const void *val;
    size_t vlen;
    int rv = aw_store_begin_read(aw_center_db_store(db), &txn);
    if (rv == AW_OK)
        rv = aw_txn_get(txn, aw_center_db_table(db, AW_CT_LATEST), key, dlen + 1 + mlen, &val,
                        &vlen);
    if (rv == AW_OK)
        rv = s_decode(val, vlen, rec, edge_id);
    aw_txn_abort(&txn);
    return rv;
}
