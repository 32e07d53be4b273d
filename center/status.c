/* status.c: per-edge replication status from the center's store. */
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills @p out for @p edge inside @p txn. */
static int s_fill(aw_txn_t *txn, aw_center_db_t *db, const char *edge, aw_edge_status *out)
{
    aw_center_edge_row row;
    aw_center_epoch_row er = {0};
    memset(out, 0, sizeof *out);
    int rv = aw_center_edge_row_get(txn, db, edge, &row);
    if (rv != AW_OK)
        return rv;
    snprintf(out->edge_id, sizeof out->edge_id, "%s", edge);
    memcpy(out->zone, row.zone, sizeof out->zone);
    out->connected = row.connected;
    out->epoch = row.epoch;
    out->skew_ms = row.skew_ms;
    out->last_contact_ms = row.last_contact_ms;
    out->poison = row.poison;
    for (int l = 0; rv == AW_OK && l < AW_LANE_COUNT; l++) {
        out->head[l] = row.head[l];
        out->records[l] = row.records[l];
        rv = aw_center_applied_get(txn, db, edge, row.epoch, (aw_lane)l, &out->applied[l]);
        out->backlog[l] = out->head[l] > out->applied[l] ? out->head[l] - out->applied[l] : 0;
    }
    if (rv == AW_OK)
        rv = aw_center_epoch_row_get(txn, db, edge, row.epoch, &er);
    if (rv == AW_ENOTFOUND)
        rv = AW_OK;
    out->down_pending = er.down_last > er.down_acked ? er.down_last - er.down_acked : 0;
    return rv;
}

int aw_center_edge_status(aw_center_db_t *db, const char *edge_id, aw_edge_status *out)
{
    if (db == NULL || out == NULL || !aw_center_edge_id_ok(edge_id))
        return AW_EINVAL;
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin_read(aw_center_db_store(db), &txn);
    if (rv == AW_OK)
        rv = s_fill(txn, db, edge_id, out);
    aw_txn_abort(&txn);
    return rv;
}

/* The edge ids of the `edges` table. */
typedef struct s_ids {
    char (*v)[AW_CENTER_EDGE_ID_MAX + 1];
    size_t n, cap;
    int rv;
} s_ids;

static int s_ids_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_ids *ids = arg;
    if (klen > AW_CENTER_EDGE_ID_MAX)
        return 0;
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 16;
        void *v = realloc(ids->v, cap * sizeof *ids->v);
        if (v == NULL) {
            ids->rv = AW_ENOMEM;
            return 1;
        }
        ids->v = v;
        ids->cap = cap;
    }
    memcpy(ids->v[ids->n], key, klen);
    ids->v[ids->n++][klen] = '\0';
    return 0;
}

static int s_list_ids(aw_txn_t *txn, aw_center_db_t *db, s_ids *ids)
{
    int rv = aw_txn_scan(txn, aw_center_db_table(db, AW_CT_EDGES), NULL, 0, NULL, 0, s_ids_cb, ids);
    return rv != AW_OK ? rv : ids->rv;
}

int aw_center_edge_list(aw_center_db_t *db, aw_edge_status **out, size_t *n)
{
    if (db == NULL || out == NULL || n == NULL)
        return AW_EINVAL;
    *out = NULL;
    *n = 0;
    s_ids ids = {0};
    aw_edge_status *v = NULL;
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin_read(aw_center_db_store(db), &txn);
    if (rv == AW_OK)
        rv = s_list_ids(txn, db, &ids);
    if (rv == AW_OK && ids.n > 0 && (v = calloc(ids.n, sizeof *v)) == NULL)
        rv = AW_ENOMEM;
    for (size_t i = 0; rv == AW_OK && i < ids.n; i++)
        rv = s_fill(txn, db, ids.v[i], &v[i]);
    aw_txn_abort(&txn);
    free(ids.v);
    if (rv != AW_OK) {
        free(v);
        return rv;
    }
    *out = v;
    *n = ids.n;
    return AW_OK;
}

int aw_center_edges_reset(aw_center_db_t *db)
{
    if (db == NULL)
        return AW_EINVAL;
    s_ids ids = {0};
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(aw_center_db_store(db), &txn);
    if (rv == AW_OK)
        rv = s_list_ids(txn, db, &ids);
    for (size_t i = 0; rv == AW_OK && i < ids.n; i++) {
        aw_center_edge_row row;
        rv = aw_center_edge_row_get(txn, db, ids.v[i], &row);
        if (rv == AW_OK && row.connected) {
            row.connected = false;
            rv = aw_center_edge_row_put(txn, db, ids.v[i], &row);
        }
    }
    free(ids.v);
    if (rv == AW_OK)
        return aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    return rv;
}
