/**
 * @file center.h
 * @brief The anwang-center daemon object: store, center tables, and the
 * ZeroMQ router with its sessions, driven by one zmq_poll loop.
 *
 * The loop polls the ROUTER and its monitor (router.h), the inproc socket
 * where CZMQ's own log lines arrive (they are re-logged as `czmq: ...` with
 * their level), and a signalfd: SIGTERM/SIGINT stop cleanly (sessions are
 * recorded as disconnected, the store is closed), SIGHUP reloads the log
 * level from the config file and re-reads the allow-list. Once a second the
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
 * file to re-read on SIGHUP (may be NULL). Logs why on failure. Returns
 * AW_OK, AW_ECONFIG (certificate, allow_dir), AW_EIO (store, socket),
 * AW_ECORRUPT, AW_ENOMEM.
 */
int aw_center_new(aw_center_config *cfg, const char *config_path, aw_center_t **out);

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
