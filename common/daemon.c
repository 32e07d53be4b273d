/* daemon.c: signals and the systemd watchdog, shared by both daemons. */
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"

int aw_daemon_signals(int *sfd)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
        (*sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        aw_error("signals: %s", strerror(errno));
        return AW_EIO;
    }
    return AW_OK;
}

aw_daemon_sig aw_daemon_signal_next(int sfd)
{
    struct signalfd_siginfo si;
    if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
        return AW_DAEMON_SIG_NONE;
    if (si.ssi_signo == SIGHUP) {
        aw_info("SIGHUP: reloading");
        return AW_DAEMON_SIG_RELOAD;
    }
    aw_info("%s: shutting down", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
    return AW_DAEMON_SIG_STOP;
}

int64_t aw_daemon_watchdog_ms(void)
{
    uint64_t wd_usec = 0;
    if (sd_watchdog_enabled(0, &wd_usec) <= 0)
        return 0;
    int64_t period = (int64_t)(wd_usec / 2000) > 0 ? (int64_t)(wd_usec / 2000) : 1;
    aw_info("systemd watchdog: every %" PRId64 " ms", period);
    return period;
}
