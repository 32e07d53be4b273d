/**
 * @file audit.h
 * @brief The audit trail of the HTTP API: who wrote what, when, with which
 * answer (API.md: every accepted write adds a record; refused writes are
 * recorded too, with their status).
 *
 * Table `audit` in the center's store: key time_ms(8) seq(8) (big-endian,
 * seq counts up within this process from the last stored one, so two
 * writes in one millisecond keep their order), value the record as JSON
 * `{"time", "who", "role", "method", "path", "status", "object"}`.
 * Single-threaded (the center's loop).
 */
#ifndef AW_CENTER_AUDIT_H
#define AW_CENTER_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "aw_err.h"
#include "store.h"

/** Longest listing GET /api/v1/audit gives. */
#define AW_AUDIT_LIMIT_MAX 10000

typedef struct aw_audit aw_audit_t;

/** One record; strings borrowed for the call. */
typedef struct aw_audit_entry {
    int64_t time_ms;
    const char *who;    /**< the token's NAME ("" when none) */
    const char *role;   /**< aw_role_name() */
    const char *method; /**< "POST", "PUT" */
    const char *path;   /**< the URL path */
    int status;         /**< the HTTP status answered */
    const char *object; /**< the id made or touched (NULL = none) */
} aw_audit_entry;

/** Opens table `audit` in @p store (start-up, no txn open). @p store borrowed. */
int aw_audit_open(aw_store_t *store, aw_audit_t **out);

/** Frees and nulls *self_p. Safe on NULL and twice. */
void aw_audit_destroy(aw_audit_t **self_p);

/** Adds @p e in its own write transaction. Returns AW_OK, AW_ENOMEM or a store error. */
int aw_audit_add(aw_audit_t *self, const aw_audit_entry *e);

/**
 * {"audit": [...]}, newest first, at most @p limit (1..AW_AUDIT_LIMIT_MAX)
 * records, read in @p txn. *out is the caller's (json_decref).
 */
int aw_audit_list_json(aw_audit_t *self, aw_txn_t *txn, size_t limit, json_t **out);

#endif
