/**
 * @file edge_uplink.h
 * @brief anwang-edge's link to the county center (SPEC §5): the uplink
 * state machine (uplink/uplink.h) on its CURVE DEALER transport
 * (uplink/transport.h), driven from the edge's epoll loop, and the down
 * channel applied to the edge's store.
 *
 * Loop: the transport's ZMQ_FD and a timerfd of this module are watched
 * (aw_edge_watch()). Either waking runs one pass — pending "records
 * appended" news, the transport's input, the uplink's timers, the
 * transport again (ZMQ_FD is edge-triggered: ZMQ_EVENTS is checked after
 * every send) — and re-arms the timerfd for aw_transport_next_ms(). Commits
 * elsewhere in the edge call aw_edge_uplink_notify(), which only marks the
 * news and fires the timerfd at once, so the uplink never runs inside
 * another module's call stack.
 *
 * Down channel (center → edge), applied in seq order, each Down once:
 *
 * | body           | effect, in ONE transaction with the applied seq           |
 * |----------------|-----------------------------------------------------------|
 * | registry       | parsed and reduced to this zone (registry.h), saved as the |
 * |                | stored registry; after the commit it is put in service     |
 * |                | through the hooks (the SIGHUP path: ingest, alarm engine  |
 * |                | reload, hazards)                                          |
 * | hazard event   | added to the `hazards` table (set union, hazards.h); not  |
 * |                | appended to the urgent lane: it came from the center      |
 * | alarm ack      | aw_ingest_ack(): engine state + ACKNOWLEDGED record; an   |
 * |                | alarm already cleared is a no-op                           |
 * | alert          | stored in `alerts` (JSON, CAP names) and an edge-received |
 * |                | receipt appended to the urgent lane; an Update supersedes |
 * |                | and a Cancel cancels the alerts it references; observers  |
 * |                | of /alerts are told after the commit                       |
 * | alert cancel   | the alert marked cancelled in `alerts`                    |
 *
 * With the optional hooks alert_stored / alert_cancelled, the siren
 * deliveries of an alert (or the stop and cancel of them) are queued in the
 * same transaction (siren.h), so a Down acked is a Down delivered.
 *
 * A registry from the center replaces the stored one and is in service at
 * once ("source": "center" in /status). An edge started with --registry
 * FILE still puts that file in service at the next start or SIGHUP (the
 * operator's explicit choice for standalone use); without --registry,
 * start-up and SIGHUP load the stored one, i.e. the center's.
 *
 * The applied seq lives in table `uplink` under "down_applied:<epoch hex>"
 * and is loaded at start into the uplink, which acks and skips what was
 * applied, so a Down resent after any crash changes nothing.
 *
 * A Down that is valid on the wire but cannot be applied (a registry that
 * does not parse or is for another zone, an alarm ack with a bad operator,
 * a hazard event without ids or of a site outside the zone, an unknown
 * body) would be resent for ever and wedge the channel behind it. It is
 * logged as an error, recorded in table `down_rejected` (seq → JSON: kind,
 * reason, time) and counted applied in the same transaction; /status shows
 * the count. Errors of the edge itself (storage full, I/O, memory) are not
 * counted applied: the center sends the Down again.
 *
 * Single-threaded (the edge's loop).
 */
#ifndef AW_EDGE_UPLINK_H
#define AW_EDGE_UPLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "aw_err.h"
#include "edge_config.h"
#include "hazards.h"
#include "hlc.h"
#include "ingest.h"
#include "registry.h"
#include "store.h"
#include "uplink.h"

typedef struct aw_edge aw_edge_t;

/** What the edge does after a Down was committed. */
typedef struct aw_edge_uplink_hooks {
    void *arg;
    /** A registry from the center was stored: put it in service (takes @p reg over). */
    void (*registry)(void *arg, aw_registry_t *reg);
    /** The stored alerts changed (tell the /alerts observers). */
    void (*alerts_changed)(void *arg);
    /**
     * Optional: inside the transaction that stores alert @p a (not one a
     * cancel came before): queue its deliveries (siren.h). @p cap_json is the
     * alert as CAP-named JSON. An error aborts the transaction.
     */
    int (*alert_stored)(void *arg, aw_txn_t *txn, const Anwang__Alert *a, const char *cap_json,
                        int64_t now_ms);
    /** Optional: inside the transaction that marks alert @p id cancelled (an AlertCancel Down). */
    int (*alert_cancelled)(void *arg, aw_txn_t *txn, const char *id, const char *by,
                           int64_t now_ms);
} aw_edge_uplink_hooks;

/** All borrowed; they must outlive the uplink. */
typedef struct aw_edge_uplink_opts {
    const aw_edge_config *cfg; /**< [edge] id and zone, [uplink] */
    aw_store_t *store;
    aw_hlc *hlc;
    aw_ingest_t *ingest;       /**< alarm acks */
    aw_hazards_t *hazards;     /**< hazard events */
    aw_table_t t_registry;     /**< the edge's `registry` table */
    const char *registry_key;  /**< key of the stored registry in it */
    aw_table_t t_alerts;       /**< the `alerts` table */
    uint64_t registry_version; /**< of the registry in service (0 = none) */
    aw_edge_uplink_hooks h;
} aw_edge_uplink_opts;

typedef struct aw_edge_uplink aw_edge_uplink_t;

/**
 * Makes the transport (starts connecting to cfg->center) and the uplink,
 * with the down channel's applied seq loaded from the store. Logs why on
 * failure. On success *out is the caller's (aw_edge_uplink_destroy()).
 * Returns AW_ECONFIG (certificate or center key unusable), AW_EIO,
 * AW_ENOMEM or a store error.
 */
int aw_edge_uplink_new(const aw_edge_uplink_opts *opts, aw_edge_uplink_t **out);

/** Closes the socket and the timerfd, frees, nulls *self_p. Safe on NULL and twice. */
void aw_edge_uplink_destroy(aw_edge_uplink_t **self_p);

/** Adds the transport's fd and the timerfd to @p edge's loop and runs a first pass. */
int aw_edge_uplink_start(aw_edge_uplink_t *self, aw_edge_t *edge);

/** Records were committed to the log: they are sent on the next loop turn. */
void aw_edge_uplink_notify(aw_edge_uplink_t *self);

/** The registry in service changed (SIGHUP): its version goes in the next Hello. */
void aw_edge_uplink_set_registry_version(aw_edge_uplink_t *self, uint64_t version);

/** Fills @p out (uplink.h) and *rejected (Downs recorded as rejected). AW_OK or a store error. */
int aw_edge_uplink_status(aw_edge_uplink_t *self, aw_uplink_status *out, uint64_t *rejected);

/**
 * Writes the active alerts of @p t_alerts (not cancelled, superseded or
 * expired at @p now_ms) as a JSON array of CAP-named objects into *json
 * (the caller frees). Works with no uplink too. AW_OK, AW_ENOMEM or a
 * store error.
 */
int aw_edge_alerts_json(aw_store_t *store, aw_table_t t_alerts, int64_t now_ms, char **json);

#endif
