/**
 * @file center.h
 * @brief The anwang-center daemon object: store, center tables, the
 * ZeroMQ router with its sessions, the county's views (picture, registry,
 * hazard ledger, alerts) and the HTTP API, driven by one zmq_poll loop.
 *
 * Every applied record goes through one record hook: the picture, then the
 * alerts' receipts, in the merge transaction. The HTTP server (http.h) has
 * no thread: its epoll fd is one more poll item, so the API, the services
 * and the merge never run at the same time and need no locks. Every 10 s
 * the hazard ledger marks overdue hazards; every 60 s readings history
 * older than [history] keep_days is pruned.
 *
 * The loop polls the ROUTER and its monitor (router.h), the inproc socket
 * where CZMQ's own log lines arrive (they are re-logged as `czmq: ...` with
 * their level), and a signalfd: SIGTERM/SIGINT stop cleanly (sessions are
 * recorded as disconnected, the store is closed), SIGHUP reloads the log
 * level from the config file, re-reads the API's tokens file (a bad file
 * keeps the old tokens) and re-reads the allow-list. Once a second the
 * router's timers run (session timeouts, Down resends, allow_dir poll) and,
 * under systemd with WatchdogSec, WATCHDOG=1 is sent at half the period.
 * READY=1 is sent once the socket is bound, STOPPING=1 on the way out.
 *
 * Signals must be blocked before any thread exists (CZMQ and libzmq start
 * threads); aw_center_new() does that first, so call it before anything
 * else that uses CZMQ.
 */
#ifndef AW_CENTER_H
#define AW_CENTER_H

#include "aw_err.h"
#include "center_config.h"

typedef struct aw_center aw_center_t;

/**
 * Opens everything @p cfg describes. @p cfg is taken over on success (the
 * center frees it; on failure it stays the caller's). @p config_path is the
 * file to re-read on SIGHUP (may be NULL); @p version is the program's (for
 * GET /api/v1/status). Logs why on failure. Returns AW_OK, AW_ECONFIG
 * (certificate, allow_dir, tokens file), AW_EIO (store, socket, HTTP
 * port), AW_ECORRUPT, AW_ENOMEM.
 */
int aw_center_new(aw_center_config *cfg, const char *config_path, const char *version,
                  aw_center_t **out);

/** Closes the sessions, the socket and the store; nulls *self_p. Safe twice. */
void aw_center_destroy(aw_center_t **self_p);

/** Runs the loop until SIGTERM or SIGINT. Returns AW_OK or the error that stopped it. */
int aw_center_run(aw_center_t *self);

/**
 * --check-config: the certificate and the allow-list @p cfg names, nothing
 * opened for writing. Prints what is wrong to stderr. Returns AW_OK or
 * AW_ECONFIG.
 */
int aw_center_check(const aw_center_config *cfg);

#endif
