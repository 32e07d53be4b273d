#include "devsim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <coap3/coap.h>

#include "fleet.h"
#include "log.h"
#include "psk.h"
#include "registry.h"
#include "sensors.h"
#include "sirens.h"
#include "stats.h"

#define S_MS          1000000LL
#define S_MAX_WAIT_NS (100 * S_MS) /* libcoap's own timers are serviced at least this often */
#define S_PHASE_NS    (100 * S_MS) /* scenario phase changes are noticed within this */
#define S_IO_ROUNDS   32           /* coap_io_process() calls per wake while work arrives */

static volatile sig_atomic_t s_signals;

static void s_on_signal(int sig)
{
    (void)sig;
    s_signals++;
}

/* One run: what was loaded and opened, in the order it is undone. */
typedef struct s_run {
    const aw_sim_opts *o;
    aw_registry_t *reg;
    aw_sim_psk_table *psk;
    aw_sim_fleet fleet;
    coap_context_t *sensor_ctx, *siren_ctx;
    int64_t sensor_io_ns, siren_io_ns; /* last coap_io_process() of each */
    aw_sim_sensors_t *sensors;
    aw_sim_sirens_t *sirens;
    aw_sim_stats stats;
    int acked_fd, siren_fd, epfd, last_phase;
    int64_t start_ns, next_phase_ns;
    char why[1024];
} s_run;

void aw_sim_opts_init(aw_sim_opts *o)
{
    memset(o, 0, sizeof *o);
    o->rate_mode = AW_SIM_RATE_INTERVAL;
    o->format = AW_SIM_FORMAT_JSON;
    o->inflight = 1;
    o->sessions = 1;
    o->ack_timeout_ms = 2000;
    o->retries = 4;
    o->drain_ms = 5000;
    o->progress_ms = 5000;
    o->scenario.kind = AW_SIM_STEADY;
    o->scenario.start_ms = 10000;
    o->scenario.dropout_fraction = 0.25;
}

static int64_t s_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ------------------------------------------------------------ setup */

static void s_coap_log(coap_log_t level, const char *message)
{
    aw_log_level l = level <= LOG_ERR       ? AW_LOG_ERROR
                     : level == LOG_WARNING ? AW_LOG_WARN
                     : level < LOG_DEBUG    ? AW_LOG_INFO
                                            : AW_LOG_DEBUG;
    aw_log(l, "libcoap: %s", message);
}

static void s_setup_logging(const aw_sim_opts *o)
{
    static const coap_log_t coap_levels[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    int v = o->verbose < 0 ? 0 : o->verbose > 3 ? 3 : o->verbose;
    aw_log_init("devsim", v >= 3 ? AW_LOG_DEBUG : AW_LOG_INFO);
    coap_set_log_handler(s_coap_log);
    coap_set_log_level(coap_levels[v]);
}

static void s_setup_signals(void)
{
    struct sigaction sa = {.sa_handler = s_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    s_signals = 0;
}

static int s_load_registry(s_run *r)
{
    aw_registry_errors errs = {0};
    int rv = aw_registry_load_file(r->o->registry_path, &r->reg, &errs);
    if (rv != AW_OK) {
        aw_error("registry %s: %s", r->o->registry_path, aw_strerror(rv));
        for (size_t i = 0; i < errs.count; i++)
            aw_error("  %s", errs.msgs[i]);
        if (errs.dropped)
            aw_error("  ... and %zu more", errs.dropped);
        aw_error("fix the registry (SPEC §1) or point --registry at the one the edges use");
    }
    aw_registry_errors_clear(&errs);
    return rv == AW_ENOTFOUND ? EX_NOINPUT : rv == AW_EIO ? EX_IOERR : rv ? EX_DATAERR : EX_OK;
}

static int s_load_psk(s_run *r)
{
    int rv = aw_sim_psk_load(r->o->psk_path, &r->psk, r->why, sizeof r->why);
    if (rv == AW_OK)
        return EX_OK;
    aw_error("--psk-file %s", r->why);
    return rv == AW_ENOTFOUND ? EX_NOINPUT : rv == AW_EINVAL ? EX_DATAERR : EX_IOERR;
}

static int s_open_log(const char *path, const char *opt, int *fd)
{
    *fd = -1;
    if (!path)
        return EX_OK;
    *fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (*fd >= 0)
        return EX_OK;
    aw_error("%s %s: %s; give a writable path", opt, path, strerror(errno));
    return EX_CANTCREAT;
}

/* Maps a setup failure of the sensors or sirens to an exit code. */
static int s_setup_failed(s_run *r, const char *what, int rv)
{
    aw_error("%s: %s", what, r->why[0] ? r->why : aw_strerror(rv));
    switch (rv) {
    case AW_ECONFIG:
        return EX_USAGE;
    case AW_ENOTFOUND:
        return EX_NOHOST;
    case AW_EAGAIN:
    case AW_EIO:
        return EX_UNAVAILABLE;
    default:
        return EX_OSERR;
    }
}

static void s_log_fleet(const s_run *r)
{
    size_t metrics = 0;
    for (size_t i = 0; i < r->fleet.n_devs; i++)
        metrics += r->fleet.devs[i]->n_metrics;
    aw_info("simulating %zu device(s) with %zu metric(s) over %zu session(s); about %.2f "
            "readings/s%s; seed %llu",
            r->fleet.n_devs, metrics, r->fleet.n_sessions, aw_sim_sensors_target_rate(r->sensors),
            r->o->rate_mode == AW_SIM_RATE_MAX ? " (as fast as answers come)" : "",
            (unsigned long long)r->o->seed);
    for (size_t i = 0; i < r->fleet.n_endpoints; i++)
        aw_info("edge %s", r->fleet.endpoints[i].text);
    if (r->fleet.no_route || r->fleet.no_identity)
        aw_warn("skipped %zu device(s) whose zone has no --edge, and %zu that only a coaps:// "
                "route reaches but no identity of the key file owns",
                r->fleet.no_route, r->fleet.no_identity);
    char line[512];
    aw_sim_scenario_describe(aw_sim_sensors_scenario(r->sensors), line, sizeof line);
    aw_info("%s", line);
}

static int s_watch(s_run *r, coap_context_t *ctx)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ctx};
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, coap_context_get_coap_fd(ctx), &ev) == 0)
        return EX_OK;
    aw_error("epoll: %s", strerror(errno));
    return EX_OSERR;
}

static int s_start_sensors(s_run *r)
{
    int rv = aw_sim_fleet_plan(r->o, r->reg, r->psk, &r->fleet, r->why, sizeof r->why);
    if (rv != AW_OK)
        return s_setup_failed(r, "sensors", rv);
    if (!(r->sensor_ctx = coap_new_context(NULL)))
        return s_setup_failed(r, "sensors", AW_ENOMEM);
    rv = aw_sim_sensors_new(r->o, &r->fleet, r->sensor_ctx, &r->stats, r->acked_fd, r->start_ns,
                            &r->sensors, r->why, sizeof r->why);
    if (rv != AW_OK)
        return s_setup_failed(r, "sensors", rv);
    s_log_fleet(r);
    return s_watch(r, r->sensor_ctx);
}

static int s_start_sirens(s_run *r)
{
    if (!(r->siren_ctx = coap_new_context(NULL)))
        return s_setup_failed(r, "sirens", AW_ENOMEM);
    int rv = aw_sim_sirens_new(r->o, r->reg, r->psk, r->siren_ctx, &r->stats, r->siren_fd,
                               &r->sirens, r->why, sizeof r->why);
    if (rv != AW_OK)
        return s_setup_failed(r, "sirens", rv);
    return s_watch(r, r->siren_ctx);
}

static int s_setup(s_run *r)
{
    const aw_sim_opts *o = r->o;
    int ex = EX_OK;
    if (o->registry_path)
        ex = s_load_registry(r);
    if (ex == EX_OK && o->psk_path)
        ex = s_load_psk(r);
    if (ex == EX_OK)
        ex = s_open_log(o->acked_log, "--acked-log", &r->acked_fd);
    if (ex == EX_OK)
        ex = s_open_log(o->siren_log, "--siren-log", &r->siren_fd);
    if (ex == EX_OK && (r->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        ex = EX_OSERR;
    if (ex == EX_OK && o->n_routes)
        ex = s_start_sensors(r);
    if (ex == EX_OK && (o->sirens_from_registry || o->n_sirens))
        ex = s_start_sirens(r);
    return ex;
}

static void s_teardown(s_run *r)
{
    aw_sim_sensors_destroy(&r->sensors);
    aw_sim_sirens_destroy(&r->sirens);
    if (r->sensor_ctx)
        coap_free_context(r->sensor_ctx);
    if (r->siren_ctx)
        coap_free_context(r->siren_ctx);
    aw_sim_fleet_free(&r->fleet);
    aw_sim_psk_destroy(&r->psk);
    aw_registry_destroy(&r->reg);
    if (r->acked_fd >= 0)
        close(r->acked_fd);
    if (r->siren_fd >= 0)
        close(r->siren_fd);
    if (r->epfd >= 0)
        close(r->epfd);
}

/* ------------------------------------------------------------ loop */

/* Lets libcoap read what arrived, a few rounds while answers keep coming. */
static void s_process(s_run *r, coap_context_t *ctx, int64_t now)
{
    for (int i = 0; i < S_IO_ROUNDS; i++) {
        uint64_t before = r->stats.events;
        coap_io_process(ctx, COAP_IO_NO_WAIT);
        if (r->stats.events == before)
            break;
    }
    if (ctx == r->sensor_ctx)
        r->sensor_io_ns = now;
    else
        r->siren_io_ns = now;
}

/* Waits until @p wake (or I/O), then processes the contexts that need it. */
static void s_wait(s_run *r, int64_t wake)
{
    int64_t now = s_mono_ns(), ns = wake - now;
    ns = ns < 0 ? 0 : ns > S_MAX_WAIT_NS ? S_MAX_WAIT_NS : ns;
    struct epoll_event ev[2];
    int n = epoll_wait(r->epfd, ev, 2, (int)((ns + S_MS - 1) / S_MS));
    now = s_mono_ns();
    for (int i = 0; i < n; i++)
        s_process(r, ev[i].data.ptr, now);
    if (r->sensor_ctx && now - r->sensor_io_ns >= S_MAX_WAIT_NS)
        s_process(r, r->sensor_ctx, now);
    if (r->siren_ctx && now - r->siren_io_ns >= S_MAX_WAIT_NS)
        s_process(r, r->siren_ctx, now);
}

static void s_note_phase(s_run *r, int64_t now)
{
    if (!r->sensors || now < r->next_phase_ns)
        return;
    char line[1024];
    r->next_phase_ns = now + S_PHASE_NS;
    int phase = aw_sim_scenario_phase(aw_sim_sensors_scenario(r->sensors),
                                      (now - r->start_ns) / S_MS, line, sizeof line);
    if (phase != r->last_phase)
        aw_info("%s", line);
    r->last_phase = phase;
}

static int s_failed_log(const s_run *r)
{
    return (r->sensors && aw_sim_sensors_log_failed(r->sensors)) ||
           aw_sim_sirens_log_failed(r->sirens);
}

static void s_run_loop(s_run *r)
{
    const aw_sim_opts *o = r->o;
    int64_t end = o->duration_ms > 0 ? r->start_ns + o->duration_ms * S_MS : INT64_MAX;
    int64_t next_progress = r->start_ns + o->progress_ms * S_MS;
    for (int64_t now = s_mono_ns(); !s_signals && now < end && !s_failed_log(r);
         now = s_mono_ns()) {
        int64_t wake = end;
        if (r->sensors) {
            aw_sim_sensors_pump(r->sensors, now);
            int64_t next = aw_sim_sensors_next(r->sensors, now);
            wake = next < wake ? next : wake;
            wake = r->next_phase_ns < wake ? r->next_phase_ns : wake;
        }
        s_note_phase(r, now);
        if (!o->quiet && now >= next_progress) {
            aw_sim_stats_progress(&r->stats, now, stderr);
            next_progress += o->progress_ms * S_MS;
        }
        wake = !o->quiet && next_progress < wake ? next_progress : wake;
        s_wait(r, wake);
    }
}

/* After the end: no new packs; wait up to --drain for answers in flight. */
static void s_drain(s_run *r)
{
    if (!r->sensors)
        return;
    aw_sim_sensors_stop(r->sensors);
    r->stats.send_end_ns = s_mono_ns();
    int signals = s_signals;
    int64_t deadline = s_mono_ns() + r->o->drain_ms * S_MS;
    if (aw_sim_sensors_inflight(r->sensors))
        aw_info("waiting up to %.1fs for %zu request(s) in flight (Ctrl-C again to stop now)",
                (double)r->o->drain_ms / 1000, aw_sim_sensors_inflight(r->sensors));
    for (int64_t now = s_mono_ns(); aw_sim_sensors_inflight(r->sensors) && now < deadline &&
                                    s_signals <= signals && !s_failed_log(r);
         now = s_mono_ns()) {
        aw_sim_sensors_pump(r->sensors, now);
        int64_t next = aw_sim_sensors_next(r->sensors, now);
        s_wait(r, next < deadline ? next : deadline);
    }
    aw_sim_sensors_abandon(r->sensors);
}

static int s_finish(s_run *r)
{
    int64_t now = s_mono_ns();
    aw_sim_summary_info info = {
        .scenario = aw_sim_scenario_name(r->o->scenario.kind),
        .seed = r->o->seed,
        .target_rate = r->sensors ? aw_sim_sensors_target_rate(r->sensors) : 0,
        .sensors = r->sensors != NULL,
        .sirens = r->sirens != NULL,
    };
    aw_sim_stats_summary(&r->stats, &info, now, stderr);
    if (r->o->json) {
        char *text = aw_sim_stats_summary_json(&r->stats, &info, now);
        if (text)
            printf("%s\n", text);
        free(text);
        fflush(stdout);
    }
    if (s_failed_log(r))
        return EX_IOERR;
    if (r->sensors && r->stats.sent.req > 0 && r->stats.latency.count == 0) {
        aw_error("no edge answered any of %llu request(s): is it running at the --edge URI?",
                 (unsigned long long)r->stats.sent.req);
        return EX_UNAVAILABLE;
    }
    return EX_OK;
}

int aw_sim_run(const aw_sim_opts *o)
{
    s_run r = {.o = o, .acked_fd = -1, .siren_fd = -1, .epfd = -1, .last_phase = -1};
    s_setup_logging(o);
    s_setup_signals();
    coap_startup();
    r.start_ns = s_mono_ns();
    aw_sim_stats_init(&r.stats, r.start_ns);
    int ex = s_setup(&r);
    if (ex == EX_OK) {
        r.stats.show_sensors = r.sensors != NULL;
        r.stats.show_sirens = r.sirens != NULL;
        s_run_loop(&r);
        if (s_signals)
            aw_info("stopping (signal)");
        s_drain(&r);
        ex = s_finish(&r);
    }
    s_teardown(&r);
    coap_cleanup();
    return ex;
}
