/* Harness of the fault tests (see the header). */
#include "fault_harness.h"

#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "db.h"
#include "down.h"

/* ------------------------------------------------------------ the network */

static void s_put_registry(const tc_center *c, const char *registry)
{
    aw_store_t *store = NULL;
    aw_center_db_t *db = NULL;
    aw_store_opts so = {.path = c->data, .map_size = 64 << 20, .map_max = 1 << 30};
    cr_assert_eq(aw_store_open(&so, &store), AW_OK);
    cr_assert_eq(aw_center_db_open(store, &db), AW_OK);
    cr_assert_eq(aw_center_registry_put(db, registry, strlen(registry)), AW_OK);
    aw_center_db_destroy(&db);
    aw_store_destroy(&store);
}

void ft_net_start(ft_net *net, int n, int port, const char *edge_id, const char *zone,
                  const char *registry)
{
    char ip[32];
    memset(net, 0, sizeof *net);
    net->n = n;
    net->port = port;
    tc_init(&net->c, n, port);
    snprintf(ip, sizeof ip, "127.0.11.%d", n);
    snprintf(net->c.endpoint, sizeof net->c.endpoint, "tcp://%s:%d", ip, port);
    snprintf(net->via, sizeof net->via, "tcp://%s:%d", ip, port + 1);
    tc_write_conf(&net->c);
    net->cert = tc_edge_cert(&net->c, edge_id, edge_id, zone, true);
    if (registry)
        s_put_registry(&net->c, registry);
    tc_start(&net->c);
    cr_assert(tc_log_wait(&net->c, "serving on", 10000), "the center starts (log %s)", net->c.log);
    cr_assert_eq(aw_fault_proxy_new(ip, port + 1, ip, port, &net->proxy), AW_OK);
}

void ft_net_stop(ft_net *net)
{
    aw_fault_proxy_destroy(&net->proxy);
    int status = tc_stop(&net->c, 10000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGTERM stops the center cleanly");
}

void ft_net_cleanup(ft_net *net)
{
    aw_fault_proxy_destroy(&net->proxy);
    tc_cleanup(&net->c);
}

/* ------------------------------------------------------------ the edge */

static int64_t s_wall(void *arg)
{
    const ft_edge *e = arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + e->wall_offset_ms;
}

static int s_on_down(void *arg, const Anwang__Down *down)
{
    ft_edge *e = arg;
    e->downs++;
    if (down->body_case == ANWANG__DOWN__BODY_REGISTRY) {
        e->registries++;
        aw_uplink_set_registry_version(e->u, down->registry->version);
    }
    return AW_OK;
}

void ft_edge_start(ft_edge *e, const ft_net *net, const char *dir, const char *id, const char *cert)
{
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "%s", dir);
    snprintf(e->id, sizeof e->id, "%s", id);
    snprintf(e->cert, sizeof e->cert, "%s", cert);
    aw_store_opts so = {.path = dir,
                        .map_size = 64 << 20,
                        .map_max = (size_t)1 << 30,
                        .durability = AW_DURABLE_NOSYNC};
    cr_assert_eq(aw_store_open(&so, &e->store), AW_OK);
    aw_hlc_init(&e->hlc, aw_store_hlc_floor(e->store));
    aw_transport_opts to = {
        .endpoint = net->via, .cert_path = cert, .server_key = net->c.server_key};
    cr_assert_eq(aw_transport_new(&to, &e->t), AW_OK);
    aw_uplink_opts uo = {.edge_id = id,
                         .send = aw_transport_send,
                         .send_arg = e->t,
                         .on_down = s_on_down,
                         .down_arg = e,
                         .heartbeat_ms = 1000,
                         .dead_after_ms = 5000,
                         .resend_after_ms = 5000,
                         .backoff_min_ms = 100,
                         .backoff_max_ms = 1000,
                         .wall_ms = s_wall,
                         .wall_arg = e};
    cr_assert_eq(aw_uplink_new(e->store, &uo, &e->u), AW_OK);
}

void ft_edge_stop(ft_edge *e)
{
    aw_uplink_destroy(&e->u);
    aw_transport_destroy(&e->t);
    aw_store_destroy(&e->store);
}

/* Stores @p n encoded records in @p lane in one transaction. */
static uint64_t s_append(ft_edge *e, aw_lane lane, uint8_t **bufs, size_t *lens, size_t n)
{
    uint64_t first = 0;
    cr_assert_eq(aw_store_append(e->store, lane, (const void *const *)bufs, lens, n,
                                 aw_hlc_last(&e->hlc), &first),
                 AW_OK);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    aw_uplink_notify_appended(e->u, tc_mono());
    return first;
}

void ft_edge_readings(ft_edge *e, size_t n)
{
    uint8_t **bufs = calloc(n, sizeof *bufs);
    size_t *lens = calloc(n, sizeof *lens);
    for (size_t i = 0; i < n; i++) {
        char dev[16];
        Anwang__Reading r = ANWANG__READING__INIT;
        Anwang__Record rec = ANWANG__RECORD__INIT;
        int64_t wall = s_wall(e);
        snprintf(dev, sizeof dev, "d%u", (unsigned)(e->counter % 50));
        r.device = dev;
        r.metric = "ch4";
        r.has_value = true;
        r.value = (double)e->counter++;
        r.time_ms = wall;
        rec.hlc = aw_hlc_now(&e->hlc, wall);
        rec.body_case = ANWANG__RECORD__BODY_READING;
        rec.reading = &r;
        cr_assert_eq(aw_codec_record_encode(&rec, &bufs[i], &lens[i], NULL, 0), AW_OK);
    }
    s_append(e, AW_LANE_BULK, bufs, lens, n);
    free(bufs);
    free(lens);
}

uint64_t ft_edge_alarm(ft_edge *e)
{
    char id[32];
    uint8_t *buf = NULL;
    size_t len = 0;
    Anwang__AlarmEvent a = ANWANG__ALARM_EVENT__INIT;
    Anwang__Record rec = ANWANG__RECORD__INIT;
    int64_t wall = s_wall(e);
    snprintf(id, sizeof id, "a-%llu", (unsigned long long)e->counter++);
    a.alarm_id = id;
    a.kind = ANWANG__ALARM_EVENT_KIND__ALARM_RAISED;
    a.device = "gas-1";
    a.metric = "ch4";
    a.level = ANWANG__LEVEL__LEVEL_RED;
    a.has_value = true;
    a.value = 1.5;
    a.time_ms = wall;
    rec.hlc = aw_hlc_now(&e->hlc, wall);
    rec.body_case = ANWANG__RECORD__BODY_ALARM;
    rec.alarm = &a;
    cr_assert_eq(aw_codec_record_encode(&rec, &buf, &len, NULL, 0), AW_OK);
    return s_append(e, AW_LANE_URGENT, &buf, &len, 1);
}

bool ft_edge_run(ft_edge *e, int ms, bool (*done)(ft_edge *))
{
    int64_t end = tc_mono() + ms;
    for (;;) {
        int64_t now = tc_mono();
        aw_transport_process(e->t, e->u, now);
        aw_uplink_tick(e->u, now);
        aw_transport_process(e->t, e->u, now);
        if (aw_uplink_state_get(e->u) == AW_UPLINK_DOWN && !e->saw_down) {
            e->saw_down = true;
            e->down_at = now;
        }
        if (done && done(e))
            return true;
        if (now >= end)
            return false;
        int64_t wait = aw_transport_next_ms(e->t, e->u, now);
        struct pollfd p = {.fd = aw_transport_fd(e->t), .events = POLLIN};
        poll(&p, 1, wait > 10 ? 10 : (int)wait);
    }
}

void ft_edge_load(ft_edge *e, int ms, size_t per_100ms)
{
    int64_t end = tc_mono() + ms, next_alarm = tc_mono() + 1000;
    while (tc_mono() < end) {
        ft_edge_readings(e, per_100ms);
        if (tc_mono() >= next_alarm) {
            ft_edge_alarm(e);
            next_alarm += 1000;
        }
        ft_edge_run(e, 100, NULL);
    }
}

bool ft_edge_all_acked(ft_edge *e)
{
    aw_uplink_status st;
    return aw_uplink_status_get(e->u, tc_mono(), &st) == AW_OK && st.state == AW_UPLINK_UP &&
           st.backlog[AW_LANE_URGENT] == 0 && st.backlog[AW_LANE_BULK] == 0;
}

bool ft_edge_up(ft_edge *e)
{
    return aw_uplink_state_get(e->u) == AW_UPLINK_UP;
}

uint64_t ft_edge_head(ft_edge *e, aw_lane lane)
{
    aw_lane_info li;
    cr_assert_eq(aw_store_lane_info(e->store, lane, &li), AW_OK);
    return li.head;
}

typedef struct s_hlc_walk {
    uint64_t last, n, seq;
} s_hlc_walk;

static int s_hlc_cb(void *arg, uint64_t seq, const void *rec, size_t len)
{
    s_hlc_walk *w = arg;
    Anwang__Record *r = NULL;
    cr_assert_eq(aw_codec_record_decode(rec, len, NULL, &r, NULL, 0), AW_OK);
    cr_assert_gt(r->hlc, w->last, "HLC of seq %llu is above its predecessor's",
                 (unsigned long long)seq);
    cr_assert_eq(seq, w->seq + 1, "seqs are dense");
    w->last = r->hlc;
    w->seq = seq;
    w->n++;
    aw_codec_record_free(&r);
    return 0;
}

uint64_t ft_edge_check_hlc(ft_edge *e)
{
    uint64_t n = 0;
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        s_hlc_walk w = {0};
        cr_assert_eq(aw_store_read(e->store, (aw_lane)l, 1, 0, 0, s_hlc_cb, &w), AW_OK);
        n += w.n;
    }
    return n;
}

/* ------------------------------------------------------------ the center's side */

aw_edge_status ft_center_status(const ft_net *net, const char *id)
{
    aw_store_t *store = NULL;
    aw_center_db_t *db = NULL;
    aw_edge_status st;
    aw_store_opts so = {.path = net->c.data, .map_size = 64 << 20, .map_max = 1 << 30};
    cr_assert_eq(aw_store_open(&so, &store), AW_OK);
    cr_assert_eq(aw_center_db_open(store, &db), AW_OK);
    cr_assert_eq(aw_center_edge_status(db, id, &st), AW_OK);
    aw_center_db_destroy(&db);
    aw_store_destroy(&store);
    return st;
}

uint64_t ft_compare(const ft_net *net, ft_edge *e, const uint64_t before_epochs[AW_LANE_COUNT])
{
    uint64_t total = 0, epoch = aw_store_epoch(e->store);
    aw_edge_status st = ft_center_status(net, e->id);
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        uint64_t head = ft_edge_head(e, (aw_lane)l);
        uint64_t got = tc_center_records(&net->c, e->id, epoch, (aw_lane)l, e->store);
        cr_assert_eq(got, head, "%s: the center holds each of the edge's %llu records (%llu)",
                     aw_lane_name((aw_lane)l), (unsigned long long)head, (unsigned long long)got);
        uint64_t before = before_epochs ? before_epochs[l] : 0;
        cr_assert_eq(st.records[l], before + head, "%s: each applied once (%llu applied)",
                     aw_lane_name((aw_lane)l), (unsigned long long)st.records[l]);
        total += got;
    }
    cr_assert_eq(st.poison, 0, "nothing quarantined");
    return total;
}

int ft_cli_skew_flag(const ft_net *net, const char *id)
{
    char cmd[512], out[8192];
    const char *cli = AW_BIN_DIR "/anwang";
    if (access(cli, X_OK) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "%s center status --data %s --json %s 2>&1", cli, net->c.data, id);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    size_t len = fread(out, 1, sizeof out - 1, f);
    out[len] = '\0';
    cr_assert_eq(pclose(f), 0, "anwang center status: %s", out);
    const char *p = strstr(out, "\"skew_flag\"");
    cr_assert_not_null(p, "skew_flag in %s", out);
    p += strlen("\"skew_flag\"");
    while (*p == ' ' || *p == ':')
        p++;
    return strncmp(p, "true", 4) == 0;
}
