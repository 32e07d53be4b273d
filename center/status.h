/**
 * @file status.h
 * @brief Per-edge replication status for the CLI and the API (SPEC §5):
 * connected, epoch, applied and backlog per lane, skew, last contact.
 *
 * Read from the center's store in one short read transaction, so another
 * process (the `anwang` CLI) can call it while the center runs. "connected"
 * is what the center last recorded; a center that was killed leaves it set
 * until it starts again (aw_center_edges_reset() at start-up), so readers
 * should also look at last_contact_ms.
 */
#ifndef AW_CENTER_STATUS_H
#define AW_CENTER_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"
#include "db.h"

/** One edge as the center sees it. Plain value. */
typedef struct aw_edge_status {
    char edge_id[AW_CENTER_EDGE_ID_MAX + 1];
    char zone[AW_CENTER_ZONE_MAX + 1]; /**< "" when unknown */
    bool connected;
    uint64_t epoch;                  /**< current epoch (0 = never said Hello) */
    uint64_t applied[AW_LANE_COUNT]; /**< center's applied seq, current epoch */
    uint64_t head[AW_LANE_COUNT];    /**< edge's last stored seq (Hello or batches) */
    uint64_t backlog[AW_LANE_COUNT]; /**< head − applied (0 when applied ≥ head) */
    int64_t skew_ms;                 /**< edge wall − center wall */
    int64_t last_contact_ms;         /**< center time of the last message (0 = never) */
    uint64_t records[AW_LANE_COUNT]; /**< records applied, all epochs */
    uint64_t poison;                 /**< records quarantined, all epochs */
    uint64_t down_pending;           /**< Downs queued and not acknowledged */
} aw_edge_status;

/**
 * Fills @p out for @p edge_id. Returns AW_OK, AW_ENOTFOUND (never seen),
 * AW_EINVAL (bad edge id), AW_ECORRUPT or a store error.
 */
int aw_center_edge_status(aw_center_db_t *db, const char *edge_id, aw_edge_status *out);

/**
 * Lists every edge the center has seen, in edge id order. On success *out
 * is the caller's (free()) holding *n entries (*out may be NULL when *n is
 * 0). Returns AW_OK, AW_ENOMEM, AW_ECORRUPT or a store error.
 */
int aw_center_edge_list(aw_center_db_t *db, aw_edge_status **out, size_t *n);

/**
 * Marks every edge disconnected: call once at start-up, before the
 * transport accepts edges. Returns AW_OK or a store error.
 */
int aw_center_edges_reset(aw_center_db_t *db);

#endif
