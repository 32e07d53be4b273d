/* db.c: the center's tables, key layouts and per-edge rows. */
#include "db.h"

#include <stdlib.h>
#include <string.h>

const char *const aw_center_table_names[AW_CT_COUNT_] = {
    [AW_CT_APPLIED] = "applied", [AW_CT_RECORDS] = "records", [AW_CT_POISON] = "poison",
    [AW_CT_GAPS] = "gaps",       [AW_CT_EDGES] = "edges",     [AW_CT_EPOCHS] = "epochs",
    [AW_CT_DOWN] = "down",       [AW_CT_LATEST] = "latest",   [AW_CT_HAZARDS] = "hazards",
    [AW_CT_ALARMS] = "alarms",   [AW_CT_ALERTS] = "alerts",   [AW_CT_REGISTRY] = "registry",
};

struct aw_center_db {
    aw_store_t *store;
    aw_table_t tables[AW_CT_COUNT_];
    aw_center_record_fn hook;
    void *hook_arg;
    aw_center_registry_fn registry;
    void *registry_arg;
};

/* Row formats: a version byte, then fixed big-endian fields. */
#define S_EDGE_ROW_V1   1
#define S_EDGE_ROW_LEN  (1 + 1 + 8 * 9 + 2)
#define S_EPOCH_ROW_V1  1
#define S_EPOCH_ROW_LEN (1 + 8 * 3)

int aw_center_db_open(aw_store_t *store, aw_center_db_t **out)
{
    if (store == NULL || out == NULL)
        return AW_EINVAL;
    *out = NULL;
    aw_center_db_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        return AW_ENOMEM;
    self->store = store;
    /* a read-only store opens existing tables only (AW_ENOTFOUND otherwise) */
    for (int t = 0; t < AW_CT_COUNT_; t++) {
        int rv = aw_store_table(store, aw_center_table_names[t], &self->tables[t]);
        if (rv != AW_OK) {
            free(self);
            return rv;
        }
    }
    *out = self;
    return AW_OK;
}

void aw_center_db_destroy(aw_center_db_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    free(*self_p);
    *self_p = NULL;
}

aw_store_t *aw_center_db_store(const aw_center_db_t *self)
{
    return self->store;
}

aw_table_t aw_center_db_table(const aw_center_db_t *self, aw_center_table t)
{
    return self->tables[t];
}

void aw_center_db_set_record_hook(aw_center_db_t *self, aw_center_record_fn fn, void *arg)
{
    self->hook = fn;
    self->hook_arg = arg;
}

void aw_center_db_set_registry_source(aw_center_db_t *self, aw_center_registry_fn fn, void *arg)
{
    self->registry = fn;
    self->registry_arg = arg;
}

const aw_registry_t *aw_center_db_registry(const aw_center_db_t *self)
{
    return self->registry ? self->registry(self->registry_arg) : NULL;
}

int aw_center_db_call_hook(const aw_center_db_t *self, aw_txn_t *txn, const aw_center_origin *from,
                           const Anwang__Record *rec)
{
    return self->hook ? self->hook(self->hook_arg, txn, from, rec) : AW_OK;
}

bool aw_center_edge_id_ok(const char *id)
{
    if (id == NULL)
        return false;
    size_t n = strnlen(id, AW_CENTER_EDGE_ID_MAX + 1);
    if (n == 0 || n > AW_CENTER_EDGE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c < 0x21 || c > 0x7E || c == ',' || c == '<' || c == '&')
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ keys */

size_t aw_center_key_epoch(uint8_t *key, const char *edge, uint64_t epoch)
{
    size_t n = strlen(edge);
    memcpy(key, edge, n + 1);
    aw_put_be64(key + n + 1, epoch);
    return n + 9;
}

size_t aw_center_key_lane(uint8_t *key, const char *edge, uint64_t epoch, aw_lane lane)
{
    size_t n = aw_center_key_epoch(key, edge, epoch);
    key[n] = (uint8_t)lane;
    return n + 1;
}

size_t aw_center_key_seq(uint8_t *key, const char *edge, uint64_t epoch, aw_lane lane, uint64_t seq)
{
    size_t n = aw_center_key_lane(key, edge, epoch, lane);
    aw_put_be64(key + n, seq);
    return n + 8;
}

/* ------------------------------------------------------------ rows */

static void s_put_i64(uint8_t **p, int64_t v)
{
    aw_put_be64(*p, (uint64_t)v);
    *p += 8;
}

static void s_put_u64(uint8_t **p, uint64_t v)
{
    aw_put_be64(*p, v);
    *p += 8;
}

static uint64_t s_get_u64(const uint8_t **p)
{
    uint64_t v = aw_get_be64(*p);
    *p += 8;
    return v;
}

int aw_center_edge_row_get(aw_txn_t *txn, const aw_center_db_t *db, const char *edge,
                           aw_center_edge_row *row)
{
    const void *val;
    size_t vlen;
    memset(row, 0, sizeof *row);
    int rv = aw_txn_get(txn, db->tables[AW_CT_EDGES], edge, strlen(edge), &val, &vlen);
    if (rv != AW_OK)
        return rv;
    const uint8_t *p = val;
    if (vlen < S_EDGE_ROW_LEN || p[0] != S_EDGE_ROW_V1)
        return AW_ECORRUPT;
    size_t zlen = (size_t)p[S_EDGE_ROW_LEN - 2] << 8 | p[S_EDGE_ROW_LEN - 1];
    if (zlen > AW_CENTER_ZONE_MAX || vlen != S_EDGE_ROW_LEN + zlen)
        return AW_ECORRUPT;
    row->connected = p[1] != 0;
    p += 2;
    row->epoch = s_get_u64(&p);
    row->last_contact_ms = (int64_t)s_get_u64(&p);
    row->skew_ms = (int64_t)s_get_u64(&p);
    for (int l = 0; l < AW_LANE_COUNT; l++)
        row->head[l] = s_get_u64(&p);
    for (int l = 0; l < AW_LANE_COUNT; l++)
        row->records[l] = s_get_u64(&p);
    row->poison = s_get_u64(&p);
    row->hellos = s_get_u64(&p);
    memcpy(row->zone, p + 2, zlen);
    row->zone[zlen] = '\0';
    return AW_OK;
}

int aw_center_edge_row_put(aw_txn_t *txn, const aw_center_db_t *db, const char *edge,
                           const aw_center_edge_row *row)
{
    uint8_t buf[S_EDGE_ROW_LEN + AW_CENTER_ZONE_MAX], *p = buf;
    size_t zlen = strnlen(row->zone, AW_CENTER_ZONE_MAX);
    *p++ = S_EDGE_ROW_V1;
    *p++ = row->connected ? 1 : 0;
    s_put_u64(&p, row->epoch);
    s_put_i64(&p, row->last_contact_ms);
    s_put_i64(&p, row->skew_ms);
    for (int l = 0; l < AW_LANE_COUNT; l++)
        s_put_u64(&p, row->head[l]);
    for (int l = 0; l < AW_LANE_COUNT; l++)
        s_put_u64(&p, row->records[l]);
    s_put_u64(&p, row->poison);
    s_put_u64(&p, row->hellos);
    *p++ = (uint8_t)(zlen >> 8);
    *p++ = (uint8_t)zlen;
    memcpy(p, row->zone, zlen);
    return aw_txn_put(txn, db->tables[AW_CT_EDGES], edge, strlen(edge), buf, S_EDGE_ROW_LEN + zlen);
}

int aw_center_epoch_row_get(aw_txn_t *txn, const aw_center_db_t *db, const char *edge,
                            uint64_t epoch, aw_center_epoch_row *row)
{
    uint8_t key[AW_CENTER_KEY_MAX];
    size_t klen = aw_center_key_epoch(key, edge, epoch);
    const void *val;
    size_t vlen;
    memset(row, 0, sizeof *row);
    int rv = aw_txn_get(txn, db->tables[AW_CT_EPOCHS], key, klen, &val, &vlen);
    if (rv != AW_OK)
        return rv;
    const uint8_t *p = val;
    if (vlen != S_EPOCH_ROW_LEN || p[0] != S_EPOCH_ROW_V1)
        return AW_ECORRUPT;
    p++;
    row->first_seen_ms = (int64_t)s_get_u64(&p);
    row->down_last = s_get_u64(&p);
    row->down_acked = s_get_u64(&p);
    return AW_OK;
}

int aw_center_epoch_row_put(aw_txn_t *txn, const aw_center_db_t *db, const char *edge,
                            uint64_t epoch, const aw_center_epoch_row *row)
{
    uint8_t key[AW_CENTER_KEY_MAX], buf[S_EPOCH_ROW_LEN], *p = buf;
    size_t klen = aw_center_key_epoch(key, edge, epoch);
    *p++ = S_EPOCH_ROW_V1;
    s_put_i64(&p, row->first_seen_ms);
    s_put_u64(&p, row->down_last);
    s_put_u64(&p, row->down_acked);
    return aw_txn_put(txn, db->tables[AW_CT_EPOCHS], key, klen, buf, sizeof buf);
}

int aw_center_applied_get(aw_txn_t *txn, const aw_center_db_t *db, const char *edge, uint64_t epoch,
                          aw_lane lane, uint64_t *seq)
{
    uint8_t key[AW_CENTER_KEY_MAX];
    size_t klen = aw_center_key_lane(key, edge, epoch, lane);
    const void *val;
    size_t vlen;
    *seq = 0;
    int rv = aw_txn_get(txn, db->tables[AW_CT_APPLIED], key, klen, &val, &vlen);
    if (rv == AW_ENOTFOUND)
        return AW_OK;
    if (rv != AW_OK)
        return rv;
    if (vlen != 8)
        return AW_ECORRUPT;
    *seq = aw_get_be64(val);
    return AW_OK;
}

int aw_center_applied_put(aw_txn_t *txn, const aw_center_db_t *db, const char *edge, uint64_t epoch,
                          aw_lane lane, uint64_t seq)
{
    uint8_t key[AW_CENTER_KEY_MAX], val[8];
    size_t klen = aw_center_key_lane(key, edge, epoch, lane);
    aw_put_be64(val, seq);
    return aw_txn_put(txn, db->tables[AW_CT_APPLIED], key, klen, val, sizeof val);
}

bool aw_center_path_in_zone(const char *path, const char *zone)
{
    size_t zlen = strlen(zone);
    if (zlen == 0 || strncmp(path, zone, zlen) != 0)
        return false;
    return path[zlen] == '\0' || path[zlen] == '/';
}
