/*
 * Harness of the fault tests: the real anwang-center (started with the
 * center tests' harness, tests/center/test_center_harness.h) on 127.0.11.N,
 * the fault proxy in front of it, and an in-test edge (store + aw_transport
 * + aw_uplink) that connects THROUGH the proxy and stores records as the
 * edge daemon does: each stamped by a hybrid logical clock read from an
 * injectable wall clock (real time + an offset the test may jump).
 *
 * Short uplink timers (heartbeat 1 s, dead after 5 s) so a dead link is
 * found quickly; the center's config has link_timeout 5 s, heartbeat 1 s.
 */
#ifndef AW_TEST_FAULT_HARNESS_H
#define AW_TEST_FAULT_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "fault_proxy.h"
#include "hlc.h"
#include "status.h"
#include "test_center_harness.h"

/* The center and the proxy of one test. */
typedef struct ft_net {
    tc_center c;
    aw_fault_proxy_t *proxy;
    char via[64]; /* the proxy's endpoint, for the edge */
    tc_path cert; /* the edge's certificate, in the allow-list */
    int n, port;
} ft_net;

/* Center on 127.0.11.<n>:<port>, proxy on 127.0.11.<n>:<port + 1>, and
 * net->cert for edge @p edge_id in @p zone (may be NULL) in the allow-list
 * before the daemon starts. When @p registry is not NULL it is stored in
 * the center's store first. Waits until it serves. */
void ft_net_start(ft_net *net, int n, int port, const char *edge_id, const char *zone,
                  const char *registry);
/* Stops the proxy and the center (SIGTERM), checks a clean exit. */
void ft_net_stop(ft_net *net);
/* Removes the temp dir. */
void ft_net_cleanup(ft_net *net);

/* An edge behind the proxy. */
typedef struct ft_edge {
    char dir[160];
    char id[64];
    char cert[192];
    aw_store_t *store;
    aw_transport_t *t;
    aw_uplink_t *u;
    aw_hlc hlc;
    int64_t wall_offset_ms; /* the edge's clock = CLOCK_REALTIME + this */
    uint64_t counter;
    uint64_t downs, registries; /* Down messages applied, registry snapshots among them */
    bool saw_down;              /* the uplink was DOWN at some ft_edge_run round */
    int64_t down_at;            /* tc_mono() of the first such round (0 = none) */
} ft_edge;

/* Opens (or creates) the store in @p dir and an uplink to @p net's proxy
 * as @p id with certificate @p cert. */
void ft_edge_start(ft_edge *e, const ft_net *net, const char *dir, const char *id,
                   const char *cert);
void ft_edge_stop(ft_edge *e);
/* Appends @p n readings to the bulk lane (one transaction). */
void ft_edge_readings(ft_edge *e, size_t n);
/* Appends one red alarm to the urgent lane; returns its seq. */
uint64_t ft_edge_alarm(ft_edge *e);
/* Runs the edge's loop for up to @p ms or until @p done says so. */
bool ft_edge_run(ft_edge *e, int ms, bool (*done)(ft_edge *));
/* Runs for @p ms while storing as a busy edge does: @p per_100ms readings
 * every 100 ms and an alarm every second. */
void ft_edge_load(ft_edge *e, int ms, size_t per_100ms);
bool ft_edge_all_acked(ft_edge *e);
bool ft_edge_up(ft_edge *e);
uint64_t ft_edge_head(ft_edge *e, aw_lane lane);
/* Checks that the HLC stamps of each lane strictly increase with seq;
 * returns the number of records checked. */
uint64_t ft_edge_check_hlc(ft_edge *e);

/* The center's status row of @p id (asserts it exists). */
aw_edge_status ft_center_status(const ft_net *net, const char *id);

/* The operator's view: `anwang center status --json ID` on the center's
 * data dir. Returns 1 when it flags @p id's skew, 0 when not, -1 when the
 * CLI is not built (the caller then says so). */
int ft_cli_skew_flag(const ft_net *net, const char *id);

/* Exact set equality of (edge, epoch, lane, seq) and bytes for both lanes
 * of @p e's current epoch; asserts; returns the records compared. Also
 * asserts the center applied each once (its records counter, all epochs,
 * equals @p before_epochs[lane] + this epoch's). */
uint64_t ft_compare(const ft_net *net, ft_edge *e, const uint64_t before_epochs[AW_LANE_COUNT]);

#endif
