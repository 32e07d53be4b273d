/*
 * Harness of the anwang-center integration tests: runs the real daemon on a
 * loopback address of its own (127.0.9.N) with a temp dir (config, store,
 * certificates, allow-list, log), and plays edges against it: a real one
 * (store + aw_transport + aw_uplink) and raw CURVE DEALERs that send what a
 * test wants.
 *
 * Waits use deadlines and polling, never a fixed sleep as synchronisation.
 * Only the daemon started here is signalled, by its pid.
 */
#ifndef AW_TEST_CENTER_HARNESS_H
#define AW_TEST_CENTER_HARNESS_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "anwang.pb-c.h"
#include "store.h"
#include "transport.h"
#include "uplink.h"

#ifndef AW_BIN_DIR
#error "AW_BIN_DIR must name the folder of the programs"
#endif
#define TC_CENTER_BIN AW_BIN_DIR "/anwang-center"

typedef struct tc_center {
    char dir[64];
    char conf[128], data[128], allow[128], cert[128], log[128], keys[128];
    char endpoint[64];
    char server_key[41];
    const char *extra; /* appended to the config as is (may be NULL) */
    const char *poll;  /* [zmq] allow_poll (NULL = 200ms) */
    pid_t pid;
} tc_center;

/* Temp dir, center certificate, allow dir, config on 127.0.9.<n>:<port>. */
void tc_init(tc_center *c, int n, int port);
/* Writes the config (again, e.g. after setting c->extra). */
void tc_write_conf(tc_center *c);
/* Starts the daemon (stdout and stderr appended to c->log). */
void tc_start(tc_center *c);
/* Waits until the log has @p text (from byte @p from on) or @p ms pass. */
bool tc_log_wait(const tc_center *c, const char *text, int ms);
/* Bytes in the log now (a mark for tc_log_wait_from). */
size_t tc_log_size(const tc_center *c);
bool tc_log_wait_from(const tc_center *c, size_t from, const char *text, int ms);
/* Sum of the first number after each @p text in the log. */
uint64_t tc_log_sum(const tc_center *c, const char *text);
/* SIGTERM and wait (SIGKILL after @p ms); returns the wait status. */
int tc_stop(tc_center *c, int ms);
/* SIGKILL and reap. */
void tc_kill(tc_center *c);
/* Removes the temp dir (the daemon must be stopped). */
void tc_cleanup(tc_center *c);
/* SIGKILLs every daemon this process started and has not reaped: a suite's
 * .fini, so a failed assertion leaves nothing running. */
void tc_reap_all(void);

/* A path, returned by value. */
typedef struct tc_path {
    char path[192];
} tc_path;

/* Makes an edge certificate c->keys/<name>.cert(+_secret) with metadata
 * edge-id (and zone when not NULL); copies the public file into the allow
 * dir when @p allow. Returns the path of the certificate. */
tc_path tc_edge_cert(tc_center *c, const char *name, const char *edge_id, const char *zone,
                     bool allow);

/* ------------------------------------------------------------ a real edge */

typedef struct tc_edge {
    char dir[128];
    aw_store_t *store;
    aw_transport_t *t;
    aw_uplink_t *u;
} tc_edge;

/* Opens (or reopens) a store in @p dir and an uplink to @p c as @p edge_id
 * with certificate @p cert. */
void tc_edge_start(tc_edge *e, const tc_center *c, const char *dir, const char *edge_id,
                   const char *cert);
void tc_edge_stop(tc_edge *e);
/* Appends @p n readings to @p lane (one transaction) and tells the uplink. */
void tc_edge_fill(tc_edge *e, aw_lane lane, size_t n);
/* Runs the edge's loop for up to @p ms or until @p done (may be NULL) says so. */
bool tc_edge_run(tc_edge *e, int ms, bool (*done)(tc_edge *));
/* done-predicate: every stored record is acked. */
bool tc_edge_all_acked(tc_edge *e);
/* done-predicate: the uplink is UP. */
bool tc_edge_up(tc_edge *e);

/* ------------------------------------------------------------ raw DEALERs */

/* A CURVE DEALER to @p c with certificate @p cert (NULL: a random key),
 * no reconnection when @p once. */
zsock_t *tc_dealer(const tc_center *c, zcert_t *cert, bool once);
/* The same, with *monitor (a PAIR) receiving its handshake events, set up
 * before it connects so no event is missed. Close with tc_dealer_close(). */
zsock_t *tc_dealer_monitored(const tc_center *c, zcert_t *cert, bool once, zsock_t **monitor);
void tc_dealer_close(zsock_t **d, zsock_t **monitor);
/* The next event on a monitor within @p ms (0 = none); *value (may be NULL)
 * gets its value. */
int tc_event(zsock_t *monitor, int ms, uint32_t *value);
/* Sends an encoded envelope / raw bytes. */
void tc_send_env(zsock_t *d, const Anwang__Envelope *env);
void tc_send_raw(zsock_t *d, const void *buf, size_t len);
/* A Hello for @p edge_id with epoch @p epoch. */
void tc_send_hello(zsock_t *d, const char *edge_id, uint64_t epoch);
/* Receives one envelope within @p ms (NULL when none); free with aw_codec_envelope_free. */
Anwang__Envelope *tc_recv(zsock_t *d, int ms);

/* ------------------------------------------------------------ the center's store */

/* Per lane: records of (edge, epoch) in the center's `records` table; when
 * @p edge_store is given, each must be byte-equal to the edge's record of
 * that seq (asserts), and seqs must be 1..n without holes. */
uint64_t tc_center_records(const tc_center *c, const char *edge, uint64_t epoch, aw_lane lane,
                           aw_store_t *edge_store);
/* The `edges` row's count of records applied for @p lane (all epochs). */
uint64_t tc_center_applied_count(const tc_center *c, const char *edge, aw_lane lane);
/* True when the center has an `edges` row for @p edge. */
bool tc_center_knows(const tc_center *c, const char *edge);

int64_t tc_mono(void);

#endif
