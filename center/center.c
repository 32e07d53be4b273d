/* center.c: the anwang-center daemon: store, router and one zmq_poll loop. */
#include "center.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "allow.h"
#include "czmq_log.h"
#include "db.h"
#include "log.h"
#include "router.h"
#include "status.h"
#include "store.h"

#define S_TICK_MS  1000
#define S_POLL_MAX 8

struct aw_center {
    aw_center_config *cfg;
    char *config_path;
    int sfd;
    aw_czmq_log_t *czmq_log;
    aw_store_t *store;
    aw_center_db_t *db;
    aw_router_t *router;
    int64_t watchdog_ms; /* 0 = no watchdog */
    int64_t next_tick_ms, next_watchdog_ms;
    bool stop;
};

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The center's clock for sessions: wall time (skew, Welcome's center_ms). */
static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ signals */

/* Blocked in this thread before any other exists, so every thread inherits
 * the mask and the signals arrive only through the signalfd. */
static int s_signals(aw_center_t *self)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
        (self->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        aw_error("signals: %s", strerror(errno));
        return AW_EIO;
    }
    return AW_OK;
}

/* SIGHUP: the log level from the config file, then the allow-list. */
static void s_reload(aw_center_t *self)
{
    aw_center_config fresh;
    char why[512];
    if (self->config_path &&
        aw_center_config_load(self->config_path, &fresh, why, sizeof why) == AW_OK) {
        aw_log_set_level((aw_log_level)fresh.log_level);
        aw_info("reload: log level %s (other settings take effect at restart)",
                aw_log_level_names[fresh.log_level]);
        aw_center_config_free(&fresh);
    } else if (self->config_path) {
        aw_error("reload: config kept: %s", why);
    }
    aw_router_reload(self->router, s_wall_ms());
}

static void s_on_signal(aw_center_t *self)
{
    struct signalfd_siginfo si;
    while (read(self->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            aw_info("SIGHUP: reloading");
            s_reload(self);
        } else {
            aw_info("%s: shutting down", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
            self->stop = true;
        }
    }
}

/* ------------------------------------------------------------ setup */

static int s_open_store(aw_center_t *self)
{
    const aw_center_config *c = self->cfg;
    aw_store_opts so = {
        .path = c->data_dir,
        .map_size = (size_t)c->map_size,
        .map_max = (size_t)c->map_max,
        .durability = AW_DURABLE_FSYNC,
    };
    int rv = aw_store_open(&so, &self->store);
    if (rv != AW_OK) {
        aw_error("store: cannot open %s: %s", c->data_dir, aw_strerror(rv));
        return rv;
    }
    if ((rv = aw_center_db_open(self->store, &self->db)) == AW_OK)
        rv = aw_center_edges_reset(self->db);
    if (rv != AW_OK)
        aw_error("store: center tables in %s: %s", c->data_dir, aw_strerror(rv));
    return rv;
}

static int s_open_router(aw_center_t *self)
{
    const aw_center_config *c = self->cfg;
    char stage[4096];
    snprintf(stage, sizeof stage, "%s/zauth", c->data_dir);
    aw_router_opts ro = {
        .db = self->db,
        .bind = c->bind,
        .cert_path = c->cert,
        .allow_dir = c->allow_dir,
        .stage_dir = stage,
        .max_message = (size_t)c->max_message,
        .heartbeat_ms = c->heartbeat_ms,
        .link_timeout_ms = c->link_timeout_ms,
        .down_resend_ms = c->down_resend_ms,
        .allow_poll_ms = c->allow_poll_ms,
    };
    return aw_router_new(&ro, &self->router);
}

static int s_allow_dir_ok(const aw_center_config *c)
{
    struct stat st;
    if (stat(c->allow_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        aw_error("[zmq] allow_dir: %s is not a folder", c->allow_dir);
        return AW_ECONFIG;
    }
    return AW_OK;
}

static int s_setup(aw_center_t *self)
{
    uint64_t wd_usec = 0;
    int rv = s_signals(self);
    if (rv == AW_OK)
        rv = aw_czmq_log_new(&self->czmq_log);
    if (rv == AW_OK)
        rv = s_allow_dir_ok(self->cfg);
    if (rv == AW_OK)
        rv = s_open_store(self);
    if (rv == AW_OK)
        rv = s_open_router(self);
    if (rv == AW_OK && sd_watchdog_enabled(0, &wd_usec) > 0) {
        self->watchdog_ms = (int64_t)(wd_usec / 2000) > 0 ? (int64_t)(wd_usec / 2000) : 1;
        aw_info("systemd watchdog: every %" PRId64 " ms", self->watchdog_ms);
    }
    return rv;
}

int aw_center_new(aw_center_config *cfg, const char *config_path, aw_center_t **out)
{
    *out = NULL;
    aw_center_t *self = calloc(1, sizeof *self);
    aw_center_config *owned = malloc(sizeof *owned);
    if (!self || !owned) {
        free(self), free(owned);
        return AW_ENOMEM;
    }
    self->sfd = -1;
    self->config_path = config_path ? strdup(config_path) : NULL;
    *owned = *cfg;
    self->cfg = owned;
    int rv = s_setup(self);
    if (rv != AW_OK) {
        self->cfg = NULL;
        free(owned);
        aw_center_destroy(&self);
        return rv;
    }
    memset(cfg, 0, sizeof *cfg);
    *out = self;
    return AW_OK;
}

void aw_center_destroy(aw_center_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aw_center_t *self = *self_p;
    aw_router_destroy(&self->router);
    aw_center_db_destroy(&self->db);
    aw_store_destroy(&self->store);
    aw_czmq_log_destroy(&self->czmq_log);
    if (self->sfd >= 0)
        close(self->sfd);
    if (self->cfg) {
        aw_center_config_free(self->cfg);
        free(self->cfg);
    }
    free(self->config_path);
    free(self);
    *self_p = NULL;
}

/* ------------------------------------------------------------ the loop */

static void s_timers(aw_center_t *self, int64_t mono)
{
    if (mono >= self->next_tick_ms) {
        aw_router_tick(self->router, s_wall_ms());
        self->next_tick_ms = mono + S_TICK_MS;
    }
    if (self->watchdog_ms && mono >= self->next_watchdog_ms) {
        sd_notify(0, "WATCHDOG=1");
        self->next_watchdog_ms = mono + self->watchdog_ms;
    }
}

/* One turn: wait for a socket, the signalfd or the next timer, then do
 * whatever is pending (cheap when nothing is). */
static int s_turn(aw_center_t *self)
{
    zmq_pollitem_t items[S_POLL_MAX];
    size_t n = aw_router_pollitems(self->router, items, S_POLL_MAX - 2);
    items[n++] =
        (zmq_pollitem_t){.socket = aw_czmq_log_socket(self->czmq_log), .events = ZMQ_POLLIN};
    items[n++] = (zmq_pollitem_t){.fd = self->sfd, .events = ZMQ_POLLIN};
    int64_t mono = s_mono_ms(), wait = self->next_tick_ms - mono;
    if (self->watchdog_ms && self->next_watchdog_ms - mono < wait)
        wait = self->next_watchdog_ms - mono;
    if (zmq_poll(items, (int)n, wait < 0 ? 0 : (long)wait) < 0 && zmq_errno() != EINTR) {
        aw_error("loop: zmq_poll: %s", zmq_strerror(zmq_errno()));
        return AW_EIO;
    }
    int rv = aw_router_process(self->router, s_wall_ms());
    aw_czmq_log_drain(self->czmq_log);
    s_on_signal(self);
    s_timers(self, s_mono_ms());
    return rv;
}

int aw_center_run(aw_center_t *self)
{
    const aw_center_config *c = self->cfg;
    aw_info("center %s%s%s serving on %s: key %s, store %s", c->id, *c->name ? " " : "", c->name,
            c->bind, aw_router_public_key(self->router), c->data_dir);
    sd_notifyf(0, "READY=1\nSTATUS=serving on %s", c->bind);
    self->next_tick_ms = s_mono_ms() + S_TICK_MS;
    int rv = AW_OK;
    while (!self->stop && rv == AW_OK)
        rv = s_turn(self);
    sd_notify(0, "STOPPING=1");
    if (rv != AW_OK)
        aw_error("loop: %s", aw_strerror(rv));
    return rv;
}

/* ------------------------------------------------------------ --check-config */

int aw_center_check(const aw_center_config *cfg)
{
    zcert_t *cert = zcert_load(cfg->cert);
    int rv = AW_OK;
    if (!cert || !strcmp(zcert_secret_txt(cert), "0000000000000000000000000000000000000000")) {
        fprintf(stderr,
                "anwang-center: [zmq] cert: %s is not a certificate with a secret key "
                "(make one with anwang-center --init-cert %s)\n",
                cfg->cert, cfg->cert);
        rv = AW_ECONFIG;
    }
    zcert_destroy(&cert);
    aw_allow_t *allow = NULL;
    if (aw_allow_load(cfg->allow_dir, &allow) != AW_OK) {
        fprintf(stderr, "anwang-center: [zmq] allow_dir: %s is not a readable folder\n",
                cfg->allow_dir);
        rv = AW_ECONFIG;
    } else {
        printf("allow-list: %zu edge certificate(s) in %s\n", aw_allow_count(allow),
               cfg->allow_dir);
    }
    aw_allow_destroy(&allow);
    return rv;
}
