/* edge/siren.h in one process: the delivery module against a libcoap siren
 * server of the test's own (127.0.16.N:17967, N from the pid: criterion runs each test in a process
 * of its own, side by side; one path per siren), both
 * pumped from the test's thread. Covers what the end-to-end test does not
 * reach: the bound on POSTs in flight, a cancel while a POST is in flight
 * (one final receipt, the cancel still sent), an alert expired on arrival
 * (never sent), an alert applied twice (no second receipt) and a queue that
 * outlives the module (restart). */
#include <arpa/inet.h>
#include <coap3/coap.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "registry.h"
#include "siren.h"
#include "store.h"

#define PORT      17967
#define SIRENS    12
#define IN_FLIGHT 4
#define WAIT_MS   20000

/* ------------------------------------------------------------ the siren server */

typedef struct u_got {
    char identifier[128], msg_type[16], status[16];
    int siren;
} u_got;

static coap_context_t *s_srv;
static char s_host[32];
static u_got s_got[256];
static size_t s_n_got;

static void s_on_post(coap_resource_t *res, coap_session_t *cs, const coap_pdu_t *req,
                      const coap_string_t *query, coap_pdu_t *resp)
{
    (void)cs, (void)query;
    size_t len = 0;
    const uint8_t *data = NULL;
    coap_get_data(req, &len, &data);
    json_t *j = json_loadb((const char *)data, len, 0, NULL);
    if (s_n_got < sizeof s_got / sizeof *s_got) {
        u_got *g = &s_got[s_n_got++];
        snprintf(g->identifier, sizeof g->identifier, "%s",
                 json_string_value(json_object_get(j, "identifier")));
        snprintf(g->msg_type, sizeof g->msg_type, "%s",
                 json_string_value(json_object_get(j, "msgType")));
        snprintf(g->status, sizeof g->status, "%s",
                 json_string_value(json_object_get(j, "status")));
        g->siren = (int)(intptr_t)coap_resource_get_userdata(res);
    }
    json_decref(j);
    coap_pdu_set_code(resp, COAP_RESPONSE_CODE(204));
}

static void s_server(void)
{
    coap_startup();
    coap_set_log_level(LOG_ERR);
    s_srv = coap_new_context(NULL);
    cr_assert_not_null(s_srv);
    coap_address_t a;
    coap_address_init(&a);
    a.addr.sin.sin_family = AF_INET;
    a.addr.sin.sin_port = htons(PORT);
    inet_pton(AF_INET, s_host, &a.addr.sin.sin_addr);
    a.size = sizeof a.addr.sin;
    cr_assert_not_null(coap_new_endpoint(s_srv, &a, COAP_PROTO_UDP), "bind %s", s_host);
    for (int i = 0; i < SIRENS; i++) {
        char path[16];
        snprintf(path, sizeof path, "s%d", i);
        coap_resource_t *r = coap_resource_init(coap_make_str_const(path), 0);
        coap_resource_set_userdata(r, (void *)(intptr_t)i);
        coap_register_handler(r, COAP_REQUEST_POST, s_on_post);
        coap_add_resource(s_srv, r);
    }
}

/* ------------------------------------------------------------ fixture */

static char s_dir[64];
static aw_store_t *s_st;
static aw_hlc s_hlc;
static aw_registry_t *s_reg;
static aw_siren_t *s_sir;

static void s_open_siren(void)
{
    aw_siren_opts o = {.store = s_st,
                       .hlc = &s_hlc,
                       .edge_id = "edge-u",
                       .max_in_flight = IN_FLIGHT,
                       .first_backoff_ms = 100};
    cr_assert_eq(aw_siren_new(&o, &s_sir), AW_OK);
    aw_siren_set_registry(s_sir, s_reg);
}

static void s_setup(void)
{
    snprintf(s_host, sizeof s_host, "127.0.16.%d", 10 + (int)(getpid() % 200));
    snprintf(s_dir, sizeof s_dir, "/tmp/aw-siren-unit-XXXXXX");
    cr_assert_not_null(mkdtemp(s_dir));
    aw_store_opts so = {.path = s_dir, .map_size = 64u << 20};
    cr_assert_eq(aw_store_open(&so, &s_st), AW_OK);
    aw_hlc_init(&s_hlc, 0);
    char json[8192];
    int n = snprintf(json, sizeof json,
                     "{\"county\": \"c\", \"name\": \"c\", \"version\": 1, \"zones\": [{\"path\": "
                     "\"c/z\", \"name\": \"z\", \"kind\": \"township\", \"villages\": [{\"path\": "
                     "\"c/z/v\", \"name\": \"v\", \"sites\": [{\"path\": \"c/z/v/s\", \"name\": "
                     "\"s\", \"sector\": \"fireworks\", \"risk\": \"blue\", \"devices\": [");
    for (int i = 0; i < SIRENS; i++)
        n += snprintf(json + n, sizeof json - (size_t)n,
                      "%s{\"id\": \"siren-%d\", \"kind\": \"%s\", \"uri\": \"coap://%s:%d/s%d\"}",
                      i ? "," : "", i, i % 2 ? "loudspeaker" : "siren", s_host, PORT, i);
    snprintf(json + n, sizeof json - (size_t)n, "]}]}]}]}");
    aw_registry_errors errs = {0};
    cr_assert_eq(aw_registry_parse(json, strlen(json), &s_reg, &errs), AW_OK, "%s",
                 errs.count ? errs.msgs[0] : "");
    s_server();
    s_open_siren();
    s_n_got = 0;
}

static void s_teardown(void)
{
    aw_siren_destroy(&s_sir);
    aw_registry_destroy(&s_reg);
    aw_store_destroy(&s_st);
    if (s_srv)
        coap_free_context(s_srv);
    s_srv = NULL;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", s_dir);
}

static int64_t s_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_nap(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Queues alert @p id (status @p status, expiring at @p expires_ms, 0 = never). */
static void s_alert(const char *id, const char *status, int64_t expires_ms)
{
    char *area[] = {"c/z/v"};
    Anwang__Alert a = ANWANG__ALERT__INIT;
    a.identifier = (char *)id;
    a.area = area;
    a.n_area = 1;
    a.has_expires_ms = expires_ms != 0;
    a.expires_ms = expires_ms;
    char cap[256];
    snprintf(cap, sizeof cap,
             "{\"identifier\": \"%s\", \"status\": \"%s\", \"msgType\": \"Alert\", \"event\": "
             "\"e\"}",
             id, status);
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin(s_st, &txn), AW_OK);
    cr_assert_eq(aw_siren_enqueue_alert(s_sir, txn, &a, cap, s_wall()), AW_OK);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);
    aw_siren_changed(s_sir);
}

/* Receipts of alert @p id in the urgent lane. */
typedef struct u_rc {
    const char *id;
    int delivered[SIRENS], failed[SIRENS];
    char detail[SIRENS][128];
} u_rc;

static int s_rc_one(void *arg, uint64_t seq, const void *rec, size_t len)
{
    (void)seq;
    u_rc *r = arg;
    Anwang__Record *x = NULL;
    char why[128];
    if (aw_codec_record_decode(rec, len, NULL, &x, why, sizeof why) != AW_OK)
        return 0;
    if (x->body_case == ANWANG__RECORD__BODY_RECEIPT && !strcmp(x->receipt->identifier, r->id) &&
        x->receipt->device) {
        int i = atoi(x->receipt->device + strlen("siren-"));
        if (x->receipt->kind == ANWANG__RECEIPT_KIND__RECEIPT_DEVICE_DELIVERED)
            r->delivered[i]++;
        else
            r->failed[i]++;
        snprintf(r->detail[i], sizeof r->detail[i], "%s",
                 x->receipt->detail ? x->receipt->detail : "");
    }
    aw_codec_record_free(&x);
    return 0;
}

static u_rc s_receipts(const char *id)
{
    u_rc r = {.id = id};
    aw_lane_info li;
    aw_store_lane_info(s_st, AW_LANE_URGENT, &li);
    if (li.head)
        cr_assert_eq(aw_store_read(s_st, AW_LANE_URGENT, 1, 100000, 0, s_rc_one, &r), AW_OK);
    return r;
}

static int s_count_got(const char *id, const char *msg_type, int siren)
{
    int n = 0;
    for (size_t i = 0; i < s_n_got; i++)
        n += !strcmp(s_got[i].identifier, id) && !strcmp(s_got[i].msg_type, msg_type) &&
             (siren < 0 || s_got[i].siren == siren);
    return n;
}

/* Pumps both ends until @p done or the deadline. */
static bool s_pump(bool (*done)(void))
{
    int64_t end = s_wall() + WAIT_MS;
    while (s_wall() < end) {
        coap_io_process(s_srv, COAP_IO_NO_WAIT);
        aw_siren_process(s_sir);
        aw_siren_tick(s_sir);
        if (done())
            return true;
        s_nap(5);
    }
    return done();
}

static bool s_all_delivered(void)
{
    aw_siren_stats st;
    aw_siren_get_stats(s_sir, &st);
    return st.queued == 0 && st.in_flight == 0;
}

TestSuite(siren_unit, .init = s_setup, .fini = s_teardown, .timeout = 60);

Test(siren_unit, posts_in_flight_are_bounded_and_all_arrive_once_with_their_status)
{
    s_alert("a-1", "Exercise", 0);
    aw_siren_tick(s_sir); /* the server is not pumped: nothing is answered */
    aw_siren_tick(s_sir);
    aw_siren_stats st;
    aw_siren_get_stats(s_sir, &st);
    cr_assert_eq(st.queued, SIRENS);
    cr_assert_eq(st.in_flight, IN_FLIGHT, "in flight %llu", (unsigned long long)st.in_flight);
    cr_assert(s_pump(s_all_delivered));
    u_rc r = s_receipts("a-1");
    for (int i = 0; i < SIRENS; i++) {
        cr_assert_eq(s_count_got("a-1", "Alert", i), 1, "siren %d got it once", i);
        cr_assert_eq(r.delivered[i], 1);
        cr_assert_eq(r.failed[i], 0);
    }
    for (size_t i = 0; i < s_n_got; i++)
        cr_assert_str_eq(s_got[i].status, "Exercise", "a drill stays a drill");
}

static bool s_cancels_sent(void)
{
    return s_all_delivered() && s_count_got("a-2.cancel", "Cancel", -1) >= IN_FLIGHT;
}

Test(siren_unit, a_cancel_while_posts_are_in_flight_ends_each_once_and_still_tells_them)
{
    s_alert("a-2", "Actual", 0);
    aw_siren_tick(s_sir); /* IN_FLIGHT POSTs out, unanswered */
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin(s_st, &txn), AW_OK);
    cr_assert_eq(aw_siren_enqueue_cancel(s_sir, txn, "a-2", "op", s_wall()), AW_OK);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);
    aw_siren_changed(s_sir);
    cr_assert(s_pump(s_cancels_sent));
    u_rc r = s_receipts("a-2");
    int in_flight = 0;
    for (int i = 0; i < SIRENS; i++) {
        cr_assert_eq(r.delivered[i] + r.failed[i], 1, "siren %d: one final receipt", i);
        cr_assert_eq(r.failed[i], 1, "siren %d: cancelled", i);
        cr_assert_str_eq(r.detail[i], "cancelled");
        int got = s_count_got("a-2", "Alert", i);
        in_flight += got;
        cr_assert_eq(s_count_got("a-2.cancel", "Cancel", i), got,
                     "siren %d: the cancel goes where the alert may have gone", i);
    }
    cr_assert_eq(in_flight, IN_FLIGHT, "only the POSTs in flight reached sirens");
}

Test(siren_unit, an_expired_alert_is_never_sent_and_a_second_apply_adds_no_receipt)
{
    s_alert("a-3", "Actual", s_wall() - 1000);
    s_alert("a-3", "Actual", s_wall() - 1000);
    cr_assert(s_pump(s_all_delivered));
    for (int k = 0; k < 20; k++) { /* a while more: still nothing sent */
        coap_io_process(s_srv, COAP_IO_NO_WAIT);
        aw_siren_tick(s_sir);
        s_nap(5);
    }
    cr_assert_eq(s_n_got, 0, "nothing sent");
    u_rc r = s_receipts("a-3");
    for (int i = 0; i < SIRENS; i++) {
        cr_assert_eq(r.failed[i], 1, "siren %d: one failed receipt", i);
        cr_assert_eq(r.delivered[i], 0);
        cr_assert_str_eq(r.detail[i], "expired");
    }
}

Test(siren_unit, the_queue_outlives_the_module)
{
    s_alert("a-4", "Test", 0);
    aw_siren_destroy(&s_sir); /* nothing sent yet */
    cr_assert_eq(s_n_got, 0);
    s_open_siren();
    cr_assert(s_pump(s_all_delivered));
    u_rc r = s_receipts("a-4");
    for (int i = 0; i < SIRENS; i++) {
        cr_assert_eq(s_count_got("a-4", "Alert", i), 1);
        cr_assert_eq(r.delivered[i], 1);
    }
}
