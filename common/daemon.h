/**
 * @file daemon.h
 * @brief What both daemons (anwang-edge, anwang-center) do the same way
 * around their loop: signals through a signalfd, and the systemd watchdog
 * period.
 */
#ifndef AW_DAEMON_H
#define AW_DAEMON_H

#include <stdint.h>

#include "aw_err.h"

/**
 * Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (call it before
 * any other thread exists, so every thread inherits the mask), ignores
 * SIGPIPE, and sets *sfd to a non-blocking signalfd that delivers the three.
 * Logs why on failure. Returns AW_OK or AW_EIO.
 */
int aw_daemon_signals(int *sfd);

/** What a signal asks of the daemon. */
typedef enum aw_daemon_sig {
    AW_DAEMON_SIG_NONE = 0, /**< nothing pending */
    AW_DAEMON_SIG_RELOAD,   /**< SIGHUP: reload what can be reloaded */
    AW_DAEMON_SIG_STOP,     /**< SIGTERM / SIGINT: shut down cleanly */
} aw_daemon_sig;

/**
 * Reads the next pending signal from @p sfd, logs it ("SIGHUP: reloading",
 * "SIGTERM: shutting down") and says what it asks; AW_DAEMON_SIG_NONE when
 * none is pending. Call until it returns NONE.
 */
aw_daemon_sig aw_daemon_signal_next(int sfd);

/**
 * The period to send WATCHDOG=1 at: half of systemd's WatchdogSec (at least
 * 1 ms), logged; 0 when the watchdog is off or not under systemd.
 */
int64_t aw_daemon_watchdog_ms(void);

#endif
