/**
 * @file status.h
 * @brief The body of the edge's GET /status (SPEC §3): health at a glance
 * for an operator, a script or a field technician's phone.
 *
 *     {"edge": "rongjiawan-1", "zone": "yueyang/rongjiawan", "version": "0.1.0",
 *      "epoch": "5f2a9c01e4b7d3a8", "uptime_s": 3600,
 *      "uplink": {"state": "disabled", "center": null, "last_ack": null, "bytes_per_s": 0,
 *                 "in_flight": 0, "resends": 0, "diverged": false, "down_applied": 0,
 *                 "down_rejected": 0},
 *      "backlog": {"urgent": 0, "bulk": 1234},
 *      "lanes": {"urgent": {"head", "acked", "first", "count", "bytes"}, "bulk": {...}},
 *      "storage": {"used_bytes", "map_bytes", "log_bytes", "max_bytes", "durability"},
 *      "registry": {"loaded": true, "version": 7, "source": "store", "note": null},
 *      "devices": {"registered", "tracked", "online", "stale"},
 *      "alarms": {"active", "blue", "yellow", "orange", "red"},
 *      "ingest": {"packs", "readings", "rejected", "failed", "commits", "last_reading"},
 *      "coap": {"requests", "deferred", "sessions"},
 *      "sirens": {"queued", "in_flight", "delivered", "failed", "attempts"},
 *      "clock": {"now", "build_date", "before_build_date": false, "skew_ms": null,
 *                "skew_flag": false}}
 *
 * backlog = records not acked by the center per lane: the uplink's count
 * when it runs, else head - acked from the store. `uplink.state` is
 * "disabled" (no [uplink] center), "down", "connecting" or "up";
 * `diverged` is true when the center has more of this epoch than the edge
 * stored (the edge's store was rolled back: look at it). Times are RFC 3339 UTC. `skew_ms` is null
 * until the uplink has exchanged clocks with the center; `skew_flag` is true
 * when the clock reads before the build date or is more than 5 min off the
 * center (SPEC §5). `sirens` counts alert deliveries to sirens (siren.h)
 * since the daemon started: queued = not ended yet (in flight included),
 * in_flight = POSTs awaiting an answer, delivered / failed = final receipts
 * written, attempts = POSTs sent.
 */
#ifndef AW_STATUS_H
#define AW_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "aw_err.h"
#include "coap_server.h"
#include "ingest.h"
#include "siren.h"
#include "store.h"

/** Largest clock offset from the center that is not flagged (SPEC §5). */
#define AW_STATUS_MAX_SKEW_MS (5 * 60 * 1000)

/** A snapshot of what /status shows. Strings are borrowed for the call. */
typedef struct aw_status_info {
    const char *edge_id;
    const char *zone;
    uint64_t epoch;
    int64_t now_ms;
    int64_t started_ms;
    int64_t build_epoch_s;
    const char *uplink_state; /**< "disabled", "down", "connecting", "up" */
    const char *center;       /**< NULL when none */
    int64_t last_ack_ms;      /**< 0 = never */
    bool skew_known;
    int64_t skew_ms;                        /**< edge - center */
    bool uplink_on;                         /**< the uplink runs: the fields below are set */
    uint64_t uplink_backlog[AW_LANE_COUNT]; /**< not acked, per lane */
    uint64_t uplink_bytes_per_s;            /**< sent, last full second */
    unsigned uplink_in_flight;              /**< batches sent and not acked */
    uint64_t uplink_resends;                /**< times it went back to the acked mark */
    bool uplink_diverged;                   /**< the center has more of this epoch */
    uint64_t down_applied, down_rejected;   /**< down channel: last seq, poison count */
    aw_lane_info lanes[AW_LANE_COUNT];
    uint64_t used_bytes, map_bytes, max_bytes;
    const char *durability; /**< "fsync" or "interval:MS" */
    bool registry_loaded;
    uint64_t registry_version;
    const char *registry_source; /**< "store", "file" or NULL */
    const char *registry_note;   /**< why there is none, or NULL */
    uint64_t devices_registered;
    aw_ingest_stats ingest;
    aw_coap_stats coap;
    aw_siren_stats sirens;
} aw_status_info;

/**
 * Writes @p info as the /status JSON into *json (the caller frees).
 * Returns AW_OK or AW_ENOMEM.
 */
int aw_status_json(const aw_status_info *info, char **json);

/** True when the clock must be flagged: before the build date, or skewed > 5 min. */
bool aw_status_clock_flag(const aw_status_info *info);

#endif
