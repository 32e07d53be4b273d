/**
 * @file fleet.h
 * @brief Which registry devices the simulator plays, and over which CoAP
 * session each one posts.
 *
 * A device is simulated when it has metrics, lies under --zone (if given),
 * and its zone has a route: an `--edge ZONE=URI` / `--dtls ZONE=URI` for its
 * zone, else the default route (an --edge/--dtls without ZONE=). A route
 * holds at most one plain (coap://) and one DTLS (coaps://) URI. A device
 * that an identity of the key file owns goes over DTLS when its route has a
 * coaps:// URI; otherwise over plain UDP when the route has a coap:// one;
 * otherwise it is skipped (and counted). --devices N keeps the first N in
 * registry order.
 *
 * Sessions: one DTLS session per (edge, identity), as the SPEC's gateways
 * would hold; plain UDP devices of one edge share --sessions sessions
 * (round robin), each with its own source port.
 */
#ifndef AW_SIM_FLEET_H
#define AW_SIM_FLEET_H

#include <stddef.h>

#include "devsim.h"
#include "netaddr.h"
#include "psk.h"
#include "registry.h"

/** One edge URI. */
typedef struct aw_sim_endpoint {
    aw_sim_uri uri; /**< path "readings" when the URI had none */
    coap_address_t addr;
    const char *text; /**< the URI as given (borrowed from the options) */
} aw_sim_endpoint;

/** One session to open. */
typedef struct aw_sim_session_plan {
    size_t endpoint;       /**< index into endpoints */
    const aw_sim_psk *psk; /**< identity for DTLS, NULL for plain UDP */
    unsigned slot;         /**< plain UDP: which of the --sessions */
} aw_sim_session_plan;

typedef struct aw_sim_fleet {
    const aw_device **devs; /**< simulated devices, registry order */
    size_t *session_of;     /**< session index of each device */
    size_t n_devs;
    aw_sim_endpoint *endpoints;
    size_t n_endpoints;
    aw_sim_session_plan *sessions;
    size_t n_sessions;
    size_t no_route;    /**< devices with metrics skipped: no route for their zone */
    size_t no_identity; /**< skipped: only a coaps:// route and no identity owns them */
} aw_sim_fleet;

/**
 * Plans the fleet for @p o over @p reg (and @p psk, may be NULL). On
 * success @p out holds at least one device; free it with aw_sim_fleet_free().
 * Returns AW_OK, AW_ECONFIG (options that do not fit the registry, with the
 * fix in @p why), AW_ENOTFOUND (a host that does not resolve) or AW_ENOMEM.
 */
int aw_sim_fleet_plan(const aw_sim_opts *o, const aw_registry_t *reg, const aw_sim_psk_table *psk,
                      aw_sim_fleet *out, char *why, size_t why_len);

/** Frees what aw_sim_fleet_plan() allocated. Safe twice. */
void aw_sim_fleet_free(aw_sim_fleet *f);

/** Returns true when grid path @p path is @p prefix or lies under it. */
int aw_sim_path_under(const char *path, const char *prefix);

/** Returns true when @p path names a zone, village or site of @p reg. */
int aw_sim_path_exists(const aw_registry_t *reg, const char *path);

#endif
