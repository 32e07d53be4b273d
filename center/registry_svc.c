/* registry_svc.c: the county registry in force at the center and its
 * import. An import is one transaction: the JSON is stored, the picture is
 * rebuilt for it and each known edge gets its zone's extract queued down, so
 * a failure anywhere leaves the old registry in force everywhere. */
#include "registry_svc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "down.h"
#include "log.h"

struct aw_registry_svc {
    aw_center_db_t *db;
    aw_picture_t *pic;  /* borrowed */
    aw_registry_t *reg; /* in force; NULL before the first import */
};

/* Reads and parses the stored registry; *out stays NULL when none is stored. */
static int s_load(aw_center_db_t *db, aw_registry_t **out)
{
    aw_txn_t *txn = NULL;
    const void *val;
    size_t vlen;
    *out = NULL;
    int rv = aw_store_begin_read(aw_center_db_store(db), &txn);
    if (rv == AW_OK)
        rv = aw_txn_get(txn, aw_center_db_table(db, AW_CT_REGISTRY), AW_CENTER_REGISTRY_KEY,
                        strlen(AW_CENTER_REGISTRY_KEY), &val, &vlen);
    if (rv == AW_OK) {
        rv = aw_registry_parse(val, vlen, out, NULL);
        if (rv == AW_EINVAL || rv == AW_ETOOBIG)
            rv = AW_ECORRUPT; /* it was valid when stored */
    }
    aw_txn_abort(&txn);
    return rv == AW_ENOTFOUND ? AW_OK : rv;
}

/* Rebuilds the picture when its node rows were built for another registry. */
static int s_rebuild_if_stale(aw_registry_svc_t *self, int64_t now_ms)
{
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin_read(aw_center_db_store(self->db), &txn);
    if (rv != AW_OK)
        return rv;
    bool built = aw_picture_built_for_current(self->pic, txn);
    aw_txn_abort(&txn);
    if (built)
        return AW_OK;
    if ((rv = aw_store_begin(aw_center_db_store(self->db), &txn)) != AW_OK)
        return rv == AW_EPERM ? AW_OK : rv; /* a read-only store: the center rebuilds it */
    rv = aw_picture_rebuild(self->pic, txn, now_ms);
    if (rv == AW_OK)
        return aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    return rv;
}

int aw_registry_svc_open(aw_center_db_t *db, aw_picture_t *pic, int64_t now_ms,
                         aw_registry_svc_t **out)
{
    if (db == NULL || pic == NULL || out == NULL)
        return AW_EINVAL;
    *out = NULL;
    aw_registry_svc_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        return AW_ENOMEM;
    self->db = db;
    self->pic = pic;
    int rv = s_load(db, &self->reg);
    if (rv == AW_OK) {
        aw_picture_use_registry(pic, self->reg);
        rv = s_rebuild_if_stale(self, now_ms);
    }
    if (rv != AW_OK) {
        aw_picture_use_registry(pic, NULL);
        aw_registry_svc_destroy(&self);
        return rv;
    }
    *out = self;
    return AW_OK;
}

void aw_registry_svc_destroy(aw_registry_svc_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    aw_picture_use_registry((*self_p)->pic, NULL); /* it would point at freed memory */
    aw_registry_destroy(&(*self_p)->reg);
    free(*self_p);
    *self_p = NULL;
}

const aw_registry_t *aw_registry_svc_current(const aw_registry_svc_t *self)
{
    return self != NULL ? self->reg : NULL;
}

/* Replaces @p errs with the single message @p msg. AW_ENOMEM when it cannot. */
static int s_errs_one(aw_registry_errors *errs, const char *msg)
{
    aw_registry_errors_clear(errs);
    errs->msgs = calloc(1, sizeof *errs->msgs);
    if (errs->msgs == NULL || (errs->msgs[0] = strdup(msg)) == NULL) {
        free(errs->msgs);
        errs->msgs = NULL;
        return AW_ENOMEM;
    }
    errs->count = 1;
    return AW_OK;
}

/* Parses and checks an import: a full county registry above the stored version. */
static int s_check(const aw_registry_svc_t *self, const char *json, size_t len,
                   aw_registry_errors *errs, aw_registry_t **out)
{
    char msg[160];
    int rv = aw_registry_parse(json, len, out, errs);
    if (rv != AW_OK)
        return rv;
    const char *zone = aw_registry_extract_zone(*out);
    uint64_t version = aw_registry_version(*out);
    if (zone != NULL) {
        snprintf(msg, sizeof msg,
                 "$.zone: a zone extract (%.64s) is not a county registry; "
                 "import the county's file",
                 zone);
        rv = AW_EINVAL;
    } else if (self->reg != NULL && version <= aw_registry_version(self->reg)) {
        snprintf(msg, sizeof msg,
                 "$.version: %" PRIu64 " is not above the stored version %" PRIu64 "; raise it",
                 version, aw_registry_version(self->reg));
        rv = AW_ESTATE;
    }
    if (rv != AW_OK) {
        aw_registry_destroy(out);
        if (errs != NULL && s_errs_one(errs, msg) != AW_OK)
            rv = AW_ENOMEM;
    }
    return rv;
}

/* Queues one edge (said Hello, zone in the registry) its zone's extract. */
typedef struct s_push {
    aw_center_db_t *db;
    const aw_registry_t *reg;
    size_t pushed;
} s_push;

static int s_push_edge(void *arg, aw_txn_t *txn, const char *edge_id, const aw_center_edge_row *row)
{
    s_push *p = arg;
    if (row->epoch == 0 || aw_registry_zone_find(p->reg, row->zone) == NULL)
        return AW_OK; /* never said Hello (its snapshot will carry it), or no zone here */
    int rv = aw_center_down_registry_txn(txn, p->db, edge_id, row->epoch, p->reg, row->zone, NULL);
    p->pushed += rv == AW_OK;
    return rv;
}

/* Stores, rebuilds and pushes in one transaction, with @p reg in the picture. */
static int s_install(aw_registry_svc_t *self, const aw_registry_t *reg, const char *json,
                     size_t len, int64_t now_ms, size_t *pushed)
{
    s_push push = {self->db, reg, 0};
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(aw_center_db_store(self->db), &txn);
    if (rv != AW_OK)
        return rv;
    aw_picture_use_registry(self->pic, reg);
    rv = aw_center_registry_put_txn(txn, self->db, json, len);
    if (rv == AW_OK)
        rv = aw_picture_rebuild(self->pic, txn, now_ms);
    if (rv == AW_OK)
        rv = aw_center_edges_each_txn(txn, self->db, s_push_edge, &push);
    if (rv == AW_OK)
        rv = aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    if (rv != AW_OK)
        aw_picture_use_registry(self->pic, self->reg);
    *pushed = push.pushed;
    return rv;
}

int aw_registry_svc_put(aw_registry_svc_t *self, const char *json, size_t len, int64_t now_ms,
                        aw_registry_errors *errs, aw_registry_put_report *rep)
{
    aw_registry_t *reg = NULL;
    size_t pushed = 0;
    if (self == NULL || json == NULL)
        return AW_EINVAL;
    int rv = s_check(self, json, len, errs, &reg);
    if (rv == AW_OK)
        rv = s_install(self, reg, json, len, now_ms, &pushed);
    if (rv != AW_OK) {
        aw_registry_destroy(&reg);
        return rv;
    }
    aw_registry_destroy(&self->reg);
    self->reg = reg;
    size_t zones = 0;
    aw_registry_zones(reg, &zones);
    aw_info("registry: version %" PRIu64 " in force (%zu zones), pushed to %zu edges",
            aw_registry_version(reg), zones, pushed);
    if (rep != NULL)
        *rep = (aw_registry_put_report){aw_registry_version(reg), zones, pushed};
    return AW_OK;
}

int aw_registry_svc_json(aw_registry_svc_t *self, char **json, size_t *len)
{
    aw_txn_t *txn = NULL;
    const void *val;
    size_t vlen;
    *json = NULL;
    int rv = aw_store_begin_read(aw_center_db_store(self->db), &txn);
    if (rv == AW_OK)
        rv = aw_txn_get(txn, aw_center_db_table(self->db, AW_CT_REGISTRY), AW_CENTER_REGISTRY_KEY,
                        strlen(AW_CENTER_REGISTRY_KEY), &val, &vlen);
    if (rv == AW_OK && (*json = malloc(vlen + 1)) == NULL)
        rv = AW_ENOMEM;
    if (rv == AW_OK) {
        memcpy(*json, val, vlen);
        (*json)[vlen] = '\0';
        if (len != NULL)
            *len = vlen;
    }
    aw_txn_abort(&txn);
    return rv;
}
