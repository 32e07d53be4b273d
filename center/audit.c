/* audit.c: the API's audit trail in table `audit`. */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "rfc3339.h"

struct aw_audit {
    aw_store_t *store;
    aw_table_t table;
    uint64_t seq; /* last seq used */
};

/* The last stored key's seq, so this process continues after it. */
static int s_last_seq(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val, (void)vlen;
    if (klen == 16)
        *(uint64_t *)arg = aw_get_be64((const uint8_t *)key + 8);
    return 0;
}

int aw_audit_open(aw_store_t *store, aw_audit_t **out)
{
    *out = NULL;
    aw_audit_t *self = calloc(1, sizeof *self);
    if (!self)
        return AW_ENOMEM;
    self->store = store;
    aw_txn_t *txn = NULL;
    int rv = aw_store_table(store, "audit", &self->table);
    if (rv == AW_OK)
        rv = aw_store_begin_read(store, &txn);
    if (rv == AW_OK)
        rv = aw_txn_scan(txn, self->table, NULL, 0, NULL, 0, s_last_seq, &self->seq);
    aw_txn_abort(&txn);
    if (rv != AW_OK) {
        free(self);
        return rv;
    }
    *out = self;
    return AW_OK;
}

void aw_audit_destroy(aw_audit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static char *s_entry_json(const aw_audit_entry *e)
{
    char when[AW_RFC3339_LEN];
    aw_time_format_rfc3339(e->time_ms, when);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o}", "time", when, "who", e->who ? e->who : "",
                  "role", e->role ? e->role : "", "method", e->method ? e->method : "", "path",
                  e->path ? e->path : "", "status", (json_int_t)e->status, "object",
                  e->object ? json_string(e->object) : json_null());
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

int aw_audit_add(aw_audit_t *self, const aw_audit_entry *e)
{
    char *text = s_entry_json(e);
    if (!text)
        return AW_ENOMEM;
    uint8_t key[16];
    aw_put_be64(key, (uint64_t)e->time_ms);
    aw_put_be64(key + 8, ++self->seq);
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(self->store, &txn);
    if (rv == AW_OK)
        rv = aw_txn_put(txn, self->table, key, sizeof key, text, strlen(text));
    if (rv == AW_OK)
        rv = aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    free(text);
    return rv;
}

/* The newest @p limit values, kept in a ring while the table is walked. */
typedef struct s_ring {
    json_t **v;
    size_t limit, n, next;
} s_ring;

static int s_keep(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    s_ring *r = arg;
    json_t *o = json_loadb(val, vlen, 0, NULL);
    if (!o)
        return 0; /* a damaged record is left out */
    if (r->n == r->limit)
        json_decref(r->v[r->next]);
    else
        r->n++;
    r->v[r->next] = o;
    r->next = (r->next + 1) % r->limit;
    return 0;
}

int aw_audit_list_json(aw_audit_t *self, aw_txn_t *txn, size_t limit, json_t **out)
{
    *out = NULL;
    if (limit < 1 || limit > AW_AUDIT_LIMIT_MAX)
        return AW_ERANGE;
    s_ring r = {.v = calloc(limit, sizeof(json_t *)), .limit = limit};
    json_t *arr = json_array();
    if (!r.v || !arr) {
        free(r.v), json_decref(arr);
        return AW_ENOMEM;
    }
    int rv = aw_txn_scan(txn, self->table, NULL, 0, NULL, 0, s_keep, &r);
    for (size_t i = 0; i < r.n; i++) { /* newest first: backwards from the last written */
        size_t at = (r.next + r.limit - 1 - i) % r.limit;
        if (rv == AW_OK && json_array_append(arr, r.v[at]) != 0)
            rv = AW_ENOMEM;
        json_decref(r.v[at]);
    }
    free(r.v);
    if (rv == AW_OK && !(*out = json_pack("{s:o}", "audit", arr)))
        return AW_ENOMEM;
    if (rv != AW_OK)
        json_decref(arr);
    return rv;
}
