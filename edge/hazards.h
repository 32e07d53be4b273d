/**
 * @file hazards.h
 * @brief The edge's hazard ledger (SPEC §6): reports and lifecycle events
 * from field terminals, stored and folded.
 *
 * Each event is stored twice in one transaction: in the `hazards` table
 * under (hazard_id, NUL, HLC big-endian, origin), so a hazard's ledger is
 * one prefix scan, and in the urgent lane, for the center. A hazard's state
 * is the fold of its stored events (ledger.h), computed on demand.
 *
 * A major hazard's report is stored with the two notify events of the
 * 双报告 (bureau and sector), made by this edge.
 *
 * Single-threaded (the edge's loop).
 */
#ifndef AW_HAZARDS_H
#define AW_HAZARDS_H

#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"
#include "hazard_json.h"
#include "hlc.h"
#include "registry.h"
#include "store.h"

/** Most events one hazard's ledger may hold (bounds the memory of a fold). */
#define AW_HAZARDS_MAX_EVENTS 1000

typedef struct aw_hazards aw_hazards_t;

/** All borrowed; must outlive the hazards object. */
typedef struct aw_hazards_opts {
    aw_store_t *store;
    aw_table_t table;   /**< the `hazards` table */
    aw_hlc *hlc;        /**< the edge's clock */
    const char *origin; /**< this edge's id */
    /** Called after every successful commit (may be NULL); must not call the hazards. */
    void (*committed)(void *arg);
    void *committed_arg; /**< borrowed; passed to committed */
} aw_hazards_opts;

/** Creates the object; *out is the caller's (aw_hazards_destroy()). AW_OK or AW_ENOMEM. */
int aw_hazards_new(const aw_hazards_opts *opts, aw_hazards_t **out);

/** Frees and nulls *self_p. Safe on NULL and twice. */
void aw_hazards_destroy(aw_hazards_t **self_p);

/** Sets the registry that reported sites must be in (borrowed; NULL = none). */
void aw_hazards_set_registry(aw_hazards_t *self, const aw_registry_t *reg);

/**
 * Stores a report (JSON @p body) by @p who (the DTLS identity or NULL) at
 * @p now_ms, and writes its id to @p id (AW_HAZARD_ID_LEN bytes suffice).
 * Returns AW_OK; a sender's fault (AW_EINVAL, AW_EDECODE, AW_EUTF8,
 * AW_ETOOBIG, AW_ERANGE, AW_EPERM, AW_ENOTFOUND for a site not in the
 * registry) with @p why; AW_EFULL / AW_EURGENTFULL; AW_EIO; AW_ENOMEM.
 */
int aw_hazards_report(aw_hazards_t *self, const uint8_t *body, size_t len, const char *who,
                      int64_t now_ms, char *id, size_t id_len, char *why, size_t why_len);

/**
 * Stores a lifecycle event (JSON @p body) of hazard @p id. On success
 * *result (may be NULL) is a JSON object the caller frees:
 * {"accepted": bool, "reason": ..., "status": ...} — the event's verdict in
 * the fold. Returns as aw_hazards_report(), plus AW_ENOTFOUND (no such
 * hazard) and AW_ETOOBIG (ledger full).
 */
int aw_hazards_event(aw_hazards_t *self, const char *id, const uint8_t *body, size_t len,
                     const char *who, int64_t now_ms, char **result, char *why, size_t why_len);

/**
 * Adds @p ev (borrowed; an event made elsewhere and received from the
 * center) to the `hazards` table inside @p txn, under the key of its
 * (hazard id, HLC, origin): a set union, so adding it again changes
 * nothing. It is not appended to the urgent lane (the center has it).
 * Returns AW_OK, AW_EINVAL (no hazard id or origin, key too long), a codec
 * or store error.
 */
int aw_hazards_merge(aw_hazards_t *self, aw_txn_t *txn, const Anwang__HazardEvent *ev);

/**
 * Writes the state and ledger of hazard @p id as JSON (hazard_json.h) into
 * *json (the caller frees). Returns AW_OK, AW_ENOTFOUND, AW_ECORRUPT (a
 * stored event does not decode), AW_EIO or AW_ENOMEM.
 */
int aw_hazards_get(aw_hazards_t *self, const char *id, int64_t now_ms, char **json);

#endif
