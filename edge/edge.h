/**
 * @file edge.h
 * @brief The anwang-edge daemon object: store, registry, alarm engine,
 * hazard ledger and CoAP server, driven by one event loop.
 *
 * The loop is an epoll set of file descriptors, each with a handler: the
 * CoAP server's fd (libcoap's own epoll fd, which includes its timers), a
 * signalfd (SIGTERM/SIGINT stop cleanly, SIGHUP reloads the log level, the
 * key file and the registry), and a timerfd for periodic work (stale-device
 * check every second, store flush in interval mode, pruning every minute,
 * the systemd watchdog). The uplink (ZeroMQ) adds its fd with
 * aw_edge_watch().
 *
 * Logs one line per event (aw_log); sends sd_notify READY=1 once serving,
 * WATCHDOG=1 from the loop when the unit sets WatchdogSec, STOPPING=1.
 */
#ifndef AW_EDGE_H
#define AW_EDGE_H

#include <stdint.h>

#include "aw_err.h"
#include "edge_config.h"

typedef struct aw_edge aw_edge_t;

/**
 * Opens everything @p cfg describes. @p cfg is taken over on success (the
 * edge frees it; on failure it stays the caller's). @p config_path is the
 * file to re-read on SIGHUP (may be NULL); @p registry_path (may be NULL) a
 * registry JSON file that replaces the stored registry and is re-read on
 * SIGHUP. Logs why on failure. Returns AW_OK, AW_ECONFIG (bad key file or
 * registry file), AW_EIO (store, sockets), AW_ECORRUPT, AW_ENOMEM.
 */
int aw_edge_new(aw_edge_config *cfg, const char *config_path, const char *registry_path,
                aw_edge_t **out);

/** Stops serving, commits what is staged, closes the store; nulls *self_p. Safe twice. */
void aw_edge_destroy(aw_edge_t **self_p);

/** Runs the loop until SIGTERM or SIGINT. Returns AW_OK or the error that stopped it. */
int aw_edge_run(aw_edge_t *self);

/** A handler for a watched fd; called in the loop when it is readable. */
typedef void (*aw_edge_fd_fn)(void *arg);

/** Adds @p fd to the loop (at most 8 in all). AW_OK, AW_ETOOBIG, AW_EIO. */
int aw_edge_watch(aw_edge_t *self, int fd, aw_edge_fd_fn fn, void *arg);

#endif
