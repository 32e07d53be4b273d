/* center.c: the anwang-center daemon: store, router, the county's views
 * (picture, registry, hazards, alerts), the HTTP API, one zmq_poll loop. */
#include "center.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "alert_svc.h"
#include "allow.h"
#include "api.h"
#include "audit.h"
#include "clock.h"
#include "czmq_log.h"
#include "daemon.h"
#include "db.h"
#include "hazard_svc.h"
#include "hlc.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "picture.h"
#include "registry_svc.h"
#include "router.h"
#include "status.h"
#include "store.h"
#include "tokens.h"

#define S_TICK_MS  1000
#define S_POLL_MAX 9
/* Named tables the center's modules open (db.h, picture, alerts, audit, ...). */
#define S_MAX_TABLES 64
/* The hazard ledger's overdue scan and the history pruning run this often. */
#define S_HAZARD_TICK_MS 10000
#define S_PRUNE_TICK_MS  60000
/* History rows deleted per prune transaction; more → again after 1 s. */
#define S_PRUNE_ROWS 20000

struct aw_center {
    aw_center_config *cfg;
    char *config_path;
    int sfd;
    aw_czmq_log_t *czmq_log;
    aw_store_t *store;
    aw_center_db_t *db;
    aw_router_t *router;
    aw_hlc hlc; /* the center's clock for the events it makes */
    aw_picture_t *picture;
    aw_registry_svc_t *registry;
    aw_hazard_svc_t *hazards;
    aw_alert_svc_t *alerts;
    aw_audit_t *audit;
    aw_metrics_t *metrics;
    aw_api_t *api;
    aw_http_t *http; /* NULL when [http] bind is empty */
    char version[32];
    int64_t started_ms;
    int64_t watchdog_ms; /* 0 = no watchdog */
    int64_t next_tick_ms, next_watchdog_ms, next_hazard_ms, next_prune_ms;
    bool stop;
};

/* ------------------------------------------------------------ signals */

/* SIGHUP: the API's tokens file again; a bad file keeps the old set. */
static void s_reload_tokens(aw_center_t *self)
{
    aw_tokens_t *fresh = NULL;
    char why[512];
    if (!self->http) /* no HTTP API: no tokens to read */
        return;
    if (aw_tokens_load(self->cfg->http_tokens, &fresh, why, sizeof why) != AW_OK) {
        aw_error("reload: tokens kept: %s", why);
        return;
    }
    aw_info("reload: %zu token(s) from %s", aw_tokens_count(fresh), self->cfg->http_tokens);
    aw_api_set_tokens(self->api, fresh);
}

/* SIGHUP: the log level from the config file, the tokens, then the allow-list. */
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
    s_reload_tokens(self);
    aw_router_reload(self->router, aw_wall_ms());
}

static void s_on_signal(aw_center_t *self)
{
    for (aw_daemon_sig sig; (sig = aw_daemon_signal_next(self->sfd)) != AW_DAEMON_SIG_NONE;) {
        if (sig == AW_DAEMON_SIG_RELOAD)
            s_reload(self);
        else
            self->stop = true;
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
        .max_tables = S_MAX_TABLES,
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

/* The record hook: the picture, then the alerts' receipts, in the merge txn. */
static int s_on_record(void *arg, aw_txn_t *txn, const aw_center_origin *from,
                       const Anwang__Record *rec)
{
    aw_center_t *self = arg;
    int rv = aw_picture_on_record(self->picture, txn, from, rec);
    return rv == AW_OK ? aw_alert_svc_on_record(self->alerts, txn, from, rec) : rv;
}

/* The registry in force, for the down channel's snapshots. */
static const aw_registry_t *s_registry_now(void *arg)
{
    return aw_registry_svc_current(arg);
}

/* Picture, registry, hazard ledger and alerts over the center's tables. */
static int s_open_views(aw_center_t *self)
{
    aw_hlc_init(&self->hlc, aw_store_hlc_floor(self->store));
    int rv = aw_picture_open(self->db, &self->picture);
    if (rv == AW_OK)
        aw_picture_set_history_step(self->picture, self->cfg->history_step_s * 1000);
    if (rv == AW_OK)
        rv = aw_registry_svc_open(self->db, self->picture, aw_wall_ms(), &self->registry);
    if (rv == AW_OK)
        aw_center_db_set_registry_source(self->db, s_registry_now, self->registry);
    if (rv == AW_OK) {
        aw_hazard_svc_opts ho = {.db = self->db,
                                 .picture = self->picture,
                                 .registry = self->registry,
                                 .hlc = &self->hlc,
                                 .origin = self->cfg->id};
        rv = aw_hazard_svc_new(&ho, &self->hazards);
    }
    if (rv == AW_OK)
        rv = aw_alert_svc_open(self->db, self->registry, self->cfg->id, &self->alerts);
    if (rv == AW_OK)
        aw_center_db_set_record_hook(self->db, s_on_record, self);
    else
        aw_error("views: cannot open the picture, registry, hazards or alerts: %s",
                 aw_strerror(rv));
    return rv;
}

/* The API's parts: audit trail, metrics, tokens (when HTTP is on), the API. */
static int s_open_api(aw_center_t *self)
{
    const aw_center_config *c = self->cfg;
    aw_tokens_t *tokens = NULL;
    char why[512];
    int rv = aw_audit_open(self->store, &self->audit);
    if (rv == AW_OK)
        rv = aw_metrics_new(&self->metrics);
    if (rv == AW_OK && *c->http_bind &&
        (rv = aw_tokens_load(c->http_tokens, &tokens, why, sizeof why)) != AW_OK) {
        aw_error("[http] tokens: %s", why);
        return AW_ECONFIG;
    }
    struct stat st;
    if (tokens && stat(c->http_tokens, &st) == 0 && (st.st_mode & 077))
        aw_warn("[http] tokens: %s can be read by other users: chmod 600 it", c->http_tokens);
    aw_api_opts ao = {.db = self->db,
                      .picture = self->picture,
                      .registry = self->registry,
                      .hazards = self->hazards,
                      .alerts = self->alerts,
                      .audit = self->audit,
                      .metrics = self->metrics,
                      .center_id = c->id,
                      .center_name = c->name,
                      .version = self->version,
                      .started_ms = self->started_ms,
                      .max_body = (size_t)c->http_max_body};
    if (rv == AW_OK && (rv = aw_api_new(&ao, tokens, &self->api)) != AW_OK)
        aw_tokens_destroy(&tokens);
    return rv;
}

static int s_open_http(aw_center_t *self)
{
    const aw_center_config *c = self->cfg;
    if (!*c->http_bind) {
        aw_info("[http] bind is empty: no HTTP API");
        return AW_OK;
    }
    aw_http_opts ho = {.bind = c->http_bind};
    return aw_http_new(&ho, self->api, &self->http);
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
    int rv = aw_daemon_signals(&self->sfd);
    if (rv == AW_OK)
        rv = aw_czmq_log_new(&self->czmq_log);
    if (rv == AW_OK)
        rv = s_allow_dir_ok(self->cfg);
    if (rv == AW_OK)
        rv = s_open_store(self);
    if (rv == AW_OK)
        rv = s_open_views(self);
    if (rv == AW_OK)
        rv = s_open_api(self);
    if (rv == AW_OK)
        rv = s_open_router(self);
    if (rv == AW_OK)
        rv = s_open_http(self);
    if (rv == AW_OK)
        self->watchdog_ms = aw_daemon_watchdog_ms();
    return rv;
}

int aw_center_new(aw_center_config *cfg, const char *config_path, const char *version,
                  aw_center_t **out)
{
    *out = NULL;
    aw_center_t *self = calloc(1, sizeof *self);
    aw_center_config *owned = malloc(sizeof *owned);
    if (!self || !owned) {
        free(self), free(owned);
        return AW_ENOMEM;
    }
    self->sfd = -1;
    snprintf(self->version, sizeof self->version, "%s", version ? version : "");
    self->started_ms = aw_wall_ms();
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
    aw_http_destroy(&self->http);
    aw_router_destroy(&self->router);
    aw_api_destroy(&self->api);
    aw_alert_svc_destroy(&self->alerts);
    aw_hazard_svc_destroy(&self->hazards);
    aw_registry_svc_destroy(&self->registry);
    aw_picture_destroy(&self->picture);
    aw_audit_destroy(&self->audit);
    aw_metrics_destroy(&self->metrics);
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

/* The hazard ledger's overdue scan (and its automatic notifies). */
static void s_hazard_tick(aw_center_t *self)
{
    size_t notified = 0;
    int rv = aw_hazard_svc_tick(self->hazards, aw_wall_ms(), &notified);
    if (rv != AW_OK)
        aw_error("hazards: overdue scan: %s", aw_strerror(rv));
    else if (notified)
        aw_info("hazards: %zu hazard(s) became overdue: notified", notified);
}

/* Readings history older than [history] keep_days; returns the delay to the next run. */
static int64_t s_prune(aw_center_t *self)
{
    size_t deleted = 0;
    int64_t keep_ms = self->cfg->keep_days * 86400000;
    int rv = aw_picture_prune(self->picture, aw_wall_ms(), keep_ms, S_PRUNE_ROWS, &deleted);
    if (rv != AW_OK)
        aw_error("history: prune: %s", aw_strerror(rv));
    else if (deleted)
        aw_debug("history: pruned %zu row(s)", deleted);
    return rv == AW_OK && deleted == S_PRUNE_ROWS ? S_TICK_MS : S_PRUNE_TICK_MS;
}

static void s_timers(aw_center_t *self, int64_t mono)
{
    if (mono >= self->next_hazard_ms) {
        s_hazard_tick(self);
        self->next_hazard_ms = mono + S_HAZARD_TICK_MS;
    }
    if (mono >= self->next_prune_ms)
        self->next_prune_ms = mono + s_prune(self);
    if (mono >= self->next_tick_ms) {
        aw_router_tick(self->router, aw_wall_ms());
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
    if (self->http)
        items[n++] = (zmq_pollitem_t){.fd = aw_http_fd(self->http), .events = ZMQ_POLLIN};
    int64_t mono = aw_mono_ms(), wait = self->next_tick_ms - mono;
    if (self->watchdog_ms && self->next_watchdog_ms - mono < wait)
        wait = self->next_watchdog_ms - mono;
    if (wait < 0)
        wait = 0;
    if (self->http)
        wait = aw_http_timeout_ms(self->http, (long)wait);
    if (zmq_poll(items, (int)n, (long)wait) < 0 && zmq_errno() != EINTR) {
        aw_error("loop: zmq_poll: %s", zmq_strerror(zmq_errno()));
        return AW_EIO;
    }
    if (self->http)
        aw_http_run(self->http);
    int rv = aw_router_process(self->router, aw_wall_ms());
    aw_czmq_log_drain(self->czmq_log);
    s_on_signal(self);
    s_timers(self, aw_mono_ms());
    return rv;
}

int aw_center_run(aw_center_t *self)
{
    const aw_center_config *c = self->cfg;
    aw_info("center %s%s%s serving on %s: key %s, store %s", c->id, *c->name ? " " : "", c->name,
            c->bind, aw_router_public_key(self->router), c->data_dir);
    if (self->http)
        aw_info("http: API and dashboard on http://%s/", c->http_bind);
    sd_notifyf(0, "READY=1\nSTATUS=serving on %s", c->bind);
    self->next_tick_ms = aw_mono_ms() + S_TICK_MS;
    self->next_hazard_ms = aw_mono_ms() + S_HAZARD_TICK_MS;
    self->next_prune_ms = aw_mono_ms() + S_TICK_MS;
    int rv = AW_OK;
    while (!self->stop && rv == AW_OK)
        rv = s_turn(self);
    sd_notify(0, "STOPPING=1");
    if (rv != AW_OK)
        aw_error("loop: %s", aw_strerror(rv));
    return rv;
}

/* ------------------------------------------------------------ --check-config */

/* The tokens file, when the HTTP API is on. */
static int s_check_tokens(const aw_center_config *cfg)
{
    aw_tokens_t *tokens = NULL;
    char why[512];
    if (!*cfg->http_bind)
        return AW_OK;
    if (aw_tokens_load(cfg->http_tokens, &tokens, why, sizeof why) != AW_OK) {
        fprintf(stderr, "anwang-center: [http] tokens: %s\n", why);
        return AW_ECONFIG;
    }
    printf("tokens: %zu in %s\n", aw_tokens_count(tokens), cfg->http_tokens);
    aw_tokens_destroy(&tokens);
    return AW_OK;
}

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
    return s_check_tokens(cfg) == AW_OK ? rv : AW_ECONFIG;
}
