/* Integration tests of anwang-edge: the real daemon on its own loopback
 * address per test (127.0.8.N), driven with Debian's coap-client-notls /
 * coap-client-gnutls and with raw CoAP datagrams; the store is read after
 * the daemon stopped. SPEC §3 (codes), §4 (alarms), §6 (hazards). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "edge_harness.h"

#define READY_MS 30000
#define REGISTRY AW_FIXTURES "/registry.json"
#define CLIENT   "coap-client-notls -v 6 -B 5"
#define DCLIENT  "coap-client-gnutls -v 6 -B 5"

static th_edge s_e;
static th_resp s_r;
static char s_out[65536];

static void s_start(int n, const char *durability, bool dtls, bool plain, const char *registry)
{
    th_edge_init(&s_e, n);
    th_edge_write_conf(&s_e, durability, dtls, plain, NULL);
    th_edge_start(&s_e, registry);
    cr_assert(th_edge_ready(&s_e, READY_MS), "the edge did not come up; see %s", s_e.log);
}

/* Stops the edge with SIGTERM and expects a clean exit. */
static void s_stop(void)
{
    int status = th_edge_stop(&s_e, 20000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "unclean exit %d; see %s", status,
              s_e.log);
}

static void s_fini(void)
{
    th_edge_cleanup(&s_e);
}

static int s_post(const char *path, int ct, const void *body, size_t len)
{
    cr_assert_eq(th_coap(s_e.addr, s_e.port, TH_POST, path, ct, body, len, NULL, 0, &s_r, 10000), 0,
                 "no answer to POST %s", path);
    return s_r.code;
}

static int s_post_json(const char *json)
{
    return s_post("readings", 110, json, strlen(json));
}

static int s_get(const char *path)
{
    cr_assert_eq(th_coap(s_e.addr, s_e.port, TH_GET, path, -1, NULL, 0, NULL, 0, &s_r, 10000), 0,
                 "no answer to GET %s", path);
    return s_r.code;
}

/* Collects the values of stored readings. */
typedef struct s_readings {
    int n;
    double values[64];
    char devices[64][65];
} s_readings;

static void s_on_reading(void *arg, uint64_t seq, const Anwang__Record *rec)
{
    (void)seq;
    s_readings *r = arg;
    cr_assert_eq(rec->body_case, ANWANG__RECORD__BODY_READING);
    cr_assert_gt(rec->hlc, 0);
    if (r->n < 64) {
        r->values[r->n] = rec->reading->value;
        snprintf(r->devices[r->n], 65, "%s", rec->reading->device);
    }
    r->n++;
}

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

TestSuite(edge_coap, .fini = s_fini, .timeout = 120);

/* The usage example: one reading in, 2.04 out, one record in the store. */
Test(edge_coap, reading_is_acked_and_stored)
{
    s_start(1, "fsync", false, true, REGISTRY);
    th_run(s_out, sizeof s_out,
           CLIENT " -m post -t 110 -e '[{\"bn\":\"huaxin-gas-1/\",\"n\":\"temperature\","
                  "\"u\":\"Cel\",\"v\":21.5}]' coap://%s/readings",
           s_e.addr);
    cr_assert_eq(th_client_code(s_out), 204, "%s", s_out);
    /* SenML CBOR: [{-2: "huaxin-gas-1/", 0: "temperature", 2: 22.5}] */
    static const uint8_t cbor[] = {0x81, 0xa3, 0x21, 0x6d, 'h',  'u', 'a', 'x',  'i',  'n',
                                   '-',  'g',  'a',  's',  '-',  '1', '/', 0x00, 0x6b, 't',
                                   'e',  'm',  'p',  'e',  'r',  'a', 't', 'u',  'r',  'e',
                                   0x02, 0xfb, 0x40, 0x36, 0x80, 0,   0,   0,    0,    0};
    cr_assert_eq(s_post("readings", 112, cbor, sizeof cbor), 204, "%.*s", (int)s_r.len,
                 s_r.payload);
    s_stop();
    s_readings got = {0};
    cr_assert_eq(th_store_walk(s_e.data, 1, s_on_reading, &got), 0);
    cr_assert_eq(got.n, 2);
    cr_assert_float_eq(got.values[0], 21.5, 1e-9);
    cr_assert_float_eq(got.values[1], 22.5, 1e-9);
    cr_assert_str_eq(got.devices[1], "huaxin-gas-1");
}

static void s_expect(int code, const char *what, const char *diag)
{
    cr_assert_eq(s_r.code, code, "%s: got %d (%.*s)", what, s_r.code, (int)s_r.len, s_r.payload);
    if (diag)
        cr_assert(strstr((const char *)s_r.payload, diag), "%s: diagnostic \"%s\" lacks \"%s\"",
                  what, s_r.payload, diag);
}

Test(edge_coap, bad_inputs_get_their_code_and_store_nothing)
{
    s_start(2, "fsync", false, true, REGISTRY);
    s_post_json("[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":");
    s_expect(400, "malformed JSON", "");
    static const uint8_t bad_cbor[] = {0x81, 0xa3, 0x21};
    s_post("readings", 112, bad_cbor, sizeof bad_cbor);
    s_expect(400, "malformed CBOR", "");
    /* [{-2: "huaxin-t3/", 0: "tank-level", 2: NaN (half float)}] */
    static const uint8_t nan_cbor[] = {0x81, 0xa3, 0x21, 0x6a, 'h',  'u',  'a',  'x',  'i',  'n',
                                       '-',  't',  '3',  '/',  0x00, 0x6a, 't',  'a',  'n',  'k',
                                       '-',  'l',  'e',  'v',  'e',  'l',  0x02, 0xf9, 0x7e, 0x00};
    s_post("readings", 112, nan_cbor, sizeof nan_cbor);
    s_expect(400, "NaN", "NaN");
    s_post_json("[{\"bn\":\"nobody/\",\"n\":\"tank-level\",\"v\":1}]");
    s_expect(404, "unknown device", "nobody");
    s_post_json("[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":1},"
                "{\"n\":\"tank-level\",\"v\":1,\"t\":99999999999}]");
    s_expect(400, "time far in the future", "record 1");
    s_post_json("[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"u\":\"Cel\",\"v\":1}]");
    s_expect(400, "unit not the registered one", "tank-level");
    s_post("readings", 50, "[]", 2);
    s_expect(415, "application/json", "110");
    s_post("readings", -1, "[]", 2);
    s_expect(415, "no content-format", NULL);
    s_post("readings", 110, "", 0);
    s_expect(400, "empty payload", NULL);
    cr_assert_eq(th_status_head(&s_e, "bulk"), 0, "nothing stored");
    cr_assert_eq(th_status_head(&s_e, "urgent"), 0);
    s_stop();
}

Test(edge_coap, oversize_and_blockwise)
{
    th_edge_init(&s_e, 12);
    s_e.max_payload = "1K";
    th_edge_write_conf(&s_e, "fsync", false, true, NULL);
    th_edge_start(&s_e, REGISTRY);
    cr_assert(th_edge_ready(&s_e, READY_MS));
    /* A pack of 20 records (~700 bytes) sent in 64-byte blocks: reassembled, stored. */
    char pack[2048] = "[{\"bn\":\"huaxin-gas-1/\",\"n\":\"temperature\",\"v\":0}";
    for (int i = 1; i < 20; i++)
        snprintf(pack + strlen(pack), sizeof pack - strlen(pack),
                 ",{\"n\":\"temperature\",\"v\":%d,\"t\":-%d}", i, i);
    strcat(pack, "]");
    cr_assert_lt(strlen(pack), 1024);
    char file[256];
    snprintf(file, sizeof file, "%s/pack.json", s_e.dir);
    s_write(file, pack);
    th_run(s_out, sizeof s_out, CLIENT " -m post -t 110 -b 64 -f %s coap://%s/readings", file,
           s_e.addr);
    cr_assert_eq(th_client_code(s_out), 204, "%s", s_out);
    cr_assert_eq(th_status_head(&s_e, "bulk"), 20);
    /* 6 KiB in blocks, over max_payload: 4.13, nothing stored */
    char big[6200];
    memset(big, ' ', sizeof big);
    memcpy(big, "[{\"bn\":\"huaxin-gas-1/\",\"n\":\"temperature\",\"v\":1}", 47);
    big[sizeof big - 2] = ']';
    big[sizeof big - 1] = '\0';
    s_write(file, big);
    th_run(s_out, sizeof s_out, CLIENT " -m post -t 110 -b 512 -f %s coap://%s/readings", file,
           s_e.addr);
    cr_assert_eq(th_client_code(s_out), 413, "%s", s_out);
    /* 1.1 KiB in one datagram: 4.13 with Size1 = max_payload */
    big[1100] = ']';
    s_post("readings", 110, big, 1101);
    s_expect(413, "one big datagram", NULL);
    cr_assert(s_r.has_size1 && s_r.size1 == 1024, "Size1 %u", s_r.size1);
    cr_assert_eq(th_status_head(&s_e, "bulk"), 20);
    s_stop();
}

Test(edge_coap, dtls_psk_identities)
{
    s_start(3, "fsync", true, true, REGISTRY);
    th_run(s_out, sizeof s_out,
           DCLIENT " -u huaxin-gw -k huaxin-secret -m post -t 110 -e "
                   "'[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":1.5}]' coaps://%s/readings",
           s_e.addr);
    cr_assert_eq(th_client_code(s_out), 204, "owned device: %s", s_out);
    th_run(s_out, sizeof s_out,
           DCLIENT " -u huaxin-gw -k huaxin-secret -m post -t 110 -e "
                   "'[{\"bn\":\"hongxing-temp-1/\",\"n\":\"temperature\",\"v\":20}]' "
                   "coaps://%s/readings",
           s_e.addr);
    cr_assert_eq(th_client_code(s_out), 403, "another identity's device: %s", s_out);
    th_run(s_out, sizeof s_out,
           DCLIENT " -u huaxin-gw -k huaxin-secret -m post -t 110 -e "
                   "'[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":1},"
                   "{\"bn\":\"hongxing-temp-1/\",\"n\":\"temperature\",\"v\":20}]' "
                   "coaps://%s/readings",
           s_e.addr);
    cr_assert_eq(th_client_code(s_out), 403, "every device must be owned: %s", s_out);
    th_run(s_out, sizeof s_out,
           DCLIENT " -u stranger -k whatever -m post -t 110 -e "
                   "'[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":1}]' coaps://%s/readings",
           s_e.addr);
    cr_assert_eq(th_client_code(s_out), -1, "unknown identity must fail the handshake: %s", s_out);
    th_run(s_out, sizeof s_out,
           DCLIENT " -u huaxin-gw -k wrong-key -m post -t 110 -e "
                   "'[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":1}]' coaps://%s/readings",
           s_e.addr);
    cr_assert_eq(th_client_code(s_out), -1, "wrong key must fail the handshake: %s", s_out);
    cr_assert(th_edge_log_has(&s_e, "unknown PSK identity \"stranger\""));
    cr_assert_eq(th_status_head(&s_e, "bulk"), 1, "only the owned reading is stored");
    s_stop();
}

Test(edge_coap, plain_can_be_switched_off)
{
    th_edge_init(&s_e, 4);
    th_edge_write_conf(&s_e, "fsync", true, false, NULL);
    th_edge_start(&s_e, REGISTRY);
    bool up = false;
    for (int i = 0; i < 300 && !up; i++) {
        th_run(s_out, sizeof s_out,
               DCLIENT " -B 2 -u huaxin-gw -k huaxin-secret -m get coaps://%s/status", s_e.addr);
        up = th_client_code(s_out) == 205;
    }
    cr_assert(up, "DTLS /status: %s", s_out);
    cr_assert_neq(th_coap(s_e.addr, s_e.port, TH_GET, "status", -1, NULL, 0, NULL, 0, &s_r, 1500),
                  0, "plain CoAP must not answer");
    s_stop();
}

/* The alarm events of the urgent lane, as kinds ("RC") and ids. */
typedef struct s_alarms {
    char kinds[32];
    char ids[32][192];
    int n;
} s_alarms;

static void s_on_urgent(void *arg, uint64_t seq, const Anwang__Record *rec)
{
    (void)seq;
    s_alarms *a = arg;
    if (rec->body_case != ANWANG__RECORD__BODY_ALARM || a->n == 31)
        return;
    a->kinds[a->n] = "REDCA"[rec->alarm->kind];
    snprintf(a->ids[a->n], sizeof a->ids[0], "%s", rec->alarm->alarm_id);
    a->n++;
}

Test(edge_coap, alarms_raised_and_cleared)
{
    s_start(5, "fsync", false, true, REGISTRY);
    /* h2s of huaxin-gas-1: blue 5 .. red 20, debounce 1, deadband 1 */
    cr_assert_eq(s_post_json("[{\"bn\":\"huaxin-gas-1/\",\"n\":\"h2s\",\"u\":\"ppm\",\"v\":21}]"),
                 204);
    json_t *st = th_status(&s_e);
    cr_assert(st);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(st, "alarms"), "red")), 1);
    json_decref(st);
    /* noise at the threshold: no flapping */
    for (int i = 0; i < 6; i++) {
        char json[128];
        snprintf(json, sizeof json, "[{\"bn\":\"huaxin-gas-1/\",\"n\":\"h2s\",\"v\":%.1f}]",
                 i % 2 ? 19.6 : 20.4);
        cr_assert_eq(s_post_json(json), 204);
    }
    cr_assert_eq(s_post_json("[{\"bn\":\"huaxin-gas-1/\",\"n\":\"h2s\",\"v\":0}]"), 204);
    s_stop();
    s_alarms a = {0};
    cr_assert_eq(th_store_walk(s_e.data, 0, s_on_urgent, &a), 0);
    cr_assert_str_eq(a.kinds, "RC");
    cr_assert_str_eq(a.ids[0], a.ids[1]);
    /* restart: the alarm state came back (nothing active), no event repeated */
    th_edge_start(&s_e, NULL);
    cr_assert(th_edge_ready(&s_e, READY_MS));
    cr_assert_eq(s_post_json("[{\"bn\":\"huaxin-gas-1/\",\"n\":\"h2s\",\"v\":0}]"), 204);
    s_stop();
}

Test(edge_coap, status_well_known_and_alerts)
{
    s_start(6, "interval:20", false, true, REGISTRY);
    th_run(s_out, sizeof s_out, "coap-client-notls -B 5 -m get coap://%s/.well-known/core",
           s_e.addr);
    const char *want[] = {"</readings>", "ct=\"110 112\"", "rt=\"anwang.readings\"",
                          "</hazards>",  "</alerts>",      ";obs",
                          "</status>"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(s_out, want[i]), "/.well-known/core lacks %s: %s", want[i], s_out);
    json_t *st = th_status(&s_e);
    cr_assert(st);
    cr_assert_str_eq(json_string_value(json_object_get(st, "edge")), "rongjiawan-1");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(st, "uplink"), "state")),
                     "disabled");
    cr_assert(json_is_object(json_object_get(st, "backlog")));
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(st, "storage"), "durability")),
        "interval:20");
    json_t *clock = json_object_get(st, "clock");
    cr_assert(json_is_false(json_object_get(clock, "before_build_date")));
    cr_assert(json_is_integer(json_object_get(json_object_get(st, "devices"), "stale")));
    cr_assert(json_is_true(json_object_get(json_object_get(st, "registry"), "loaded")));
    json_decref(st);
    /* /alerts: observable; empty list until the linkage channel exists */
    uint8_t zero = 0;
    th_opt obs = {6, &zero, 0};
    cr_assert_eq(th_coap(s_e.addr, s_e.port, TH_GET, "alerts", -1, NULL, 0, &obs, 1, &s_r, 5000),
                 0);
    cr_assert_eq(s_r.code, 205);
    cr_assert(s_r.has_observe, "the observe registration is answered with Observe");
    cr_assert_str_eq((const char *)s_r.payload, "[]");
    cr_assert_eq(s_r.ct, 50);
    s_stop();
}

Test(edge_coap, never_a_proxy)
{
    s_start(8, "fsync", false, true, REGISTRY);
    const char *uri = "coap://example.com/readings";
    th_opt proxy_uri = {35, uri, strlen(uri)};
    cr_assert_eq(th_coap(s_e.addr, s_e.port, TH_GET, "", -1, NULL, 0, &proxy_uri, 1, &s_r, 5000),
                 0);
    s_expect(505, "Proxy-Uri", NULL);
    th_opt proxy_scheme = {39, "coap", 4};
    const char *json = "[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":1}]";
    cr_assert_eq(th_coap(s_e.addr, s_e.port, TH_POST, "readings", 110, json, strlen(json),
                         &proxy_scheme, 1, &s_r, 5000),
                 0);
    s_expect(505, "Proxy-Scheme", NULL);
    uint8_t one = 1;
    th_opt hop = {16, &one, 1};
    cr_assert_eq(th_coap(s_e.addr, s_e.port, TH_GET, "status", -1, NULL, 0, &hop, 1, &s_r, 5000),
                 0);
    cr_assert_eq(s_r.code, 508, "libcoap answers Hop-Limit 1 itself");
    cr_assert_eq(th_status_head(&s_e, "bulk"), 0, "the proxied reading was not taken");
    s_stop();
}

Test(edge_coap, hazards_report_events_and_ledger)
{
    s_start(9, "fsync", false, true, REGISTRY);
    const char *report = "{\"site\":\"yueyang/rongjiawan/xinqiang/huaxin-chem\","
                         "\"sector\":\"hazardous-chemicals\",\"level\":\"major\","
                         "\"title\":\"valve leak\",\"source\":\"inspection\",\"reporter\":\"li\"}";
    cr_assert_eq(s_post("hazards", 50, report, strlen(report)), 201);
    cr_assert(strncmp(s_r.location, "hazards/rongjiawan-1-", 21) == 0, "%s", s_r.location);
    char path[300], events[320];
    snprintf(path, sizeof path, "%s", s_r.location);
    snprintf(events, sizeof events, "%s/events", path);
    cr_assert_eq(s_get(path), 205);
    json_t *h = json_loadb((const char *)s_r.payload, s_r.len, 0, NULL);
    cr_assert(h, "%s", s_r.payload);
    cr_assert_str_eq(json_string_value(json_object_get(h, "status")), "reported");
    cr_assert(json_is_true(json_object_get(h, "dual_reported")), "双报告 written");
    cr_assert_eq(json_array_size(json_object_get(h, "ledger")), 3);
    json_decref(h);
    const char *assign = "{\"op\":\"assign\",\"unit\":\"safety office\",\"person\":\"wang\","
                         "\"deadline\":\"2099-01-01T00:00:00Z\"}";
    cr_assert_eq(s_post(events, 50, assign, strlen(assign)), 204);
    cr_assert(strstr((const char *)s_r.payload, "\"accepted\":true"), "%s", s_r.payload);
    const char *verify = "{\"op\":\"verify\",\"ok\":true}";
    cr_assert_eq(s_post(events, 50, verify, strlen(verify)), 204);
    cr_assert(strstr((const char *)s_r.payload, "\"accepted\":false"), "kept, rejected: %s",
              s_r.payload);
    cr_assert_eq(s_post(events, 50, "{\"op\":\"fly\"}", 12), 400);
    cr_assert_eq(s_post("hazards", 50, "{\"site\":\"x\"}", 12), 400);
    const char *elsewhere = "{\"site\":\"yueyang/xinkai/shanxia/tongmu-dam\","
                            "\"sector\":\"tailings-dam\",\"level\":\"general\","
                            "\"title\":\"crack\",\"source\":\"inspection\",\"reporter\":\"li\"}";
    cr_assert_neq(s_post("hazards", 50, elsewhere, strlen(elsewhere)), 201,
                  "a site of another zone");
    cr_assert_eq(s_get("hazards/rongjiawan-1-0000000000000000"), 404);
    cr_assert_eq(s_post("hazards/nope/events", 50, verify, strlen(verify)), 404);
    cr_assert_eq(s_get("nothing/here"), 404);
    cr_assert_eq(th_status_head(&s_e, "urgent"), 5, "report, 2 notifies, assign, verify");
    s_stop();
}

Test(edge_coap, no_registry_refuses_readings)
{
    s_start(10, "fsync", false, true, NULL);
    cr_assert_eq(s_post_json("[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":1}]"), 404);
    cr_assert(strstr((const char *)s_r.payload, "registry"), "%s", s_r.payload);
    json_t *st = th_status(&s_e);
    json_t *reg = json_object_get(st, "registry");
    cr_assert(json_is_false(json_object_get(reg, "loaded")));
    cr_assert(json_is_string(json_object_get(reg, "note")));
    json_decref(st);
    cr_assert(th_edge_log_has(&s_e, "no registry"));
    s_stop();
}

Test(edge_coap, sighup_reloads_the_registry_and_keeps_a_bad_one_out)
{
    th_edge_init(&s_e, 11);
    char reg[256], cmd[600];
    snprintf(reg, sizeof reg, "%s/registry.json", s_e.dir);
    snprintf(cmd, sizeof cmd, "cp %s %s", REGISTRY, reg);
    cr_assert_eq(system(cmd), 0);
    th_edge_write_conf(&s_e, "fsync", false, true, NULL);
    th_edge_start(&s_e, reg);
    cr_assert(th_edge_ready(&s_e, READY_MS));
    s_write(reg, "{\"county\": broken");
    kill(s_e.pid, SIGHUP);
    for (int i = 0; i < 500 && !th_edge_log_has(&s_e, "registry kept"); i++)
        usleep(20000);
    cr_assert(th_edge_log_has(&s_e, "registry kept"));
    cr_assert_eq(s_post_json("[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":1}]"), 204);
    /* a registry without huaxin-t3: its readings are now refused */
    snprintf(cmd, sizeof cmd,
             "sed 's/\"huaxin-t3\"/\"huaxin-t4\"/; s/\"version\": 3/\"version\": 4/' %s > %s",
             REGISTRY, reg);
    cr_assert_eq(system(cmd), 0);
    kill(s_e.pid, SIGHUP);
    for (int i = 0; i < 500 && !th_edge_log_has(&s_e, "registry: version 4"); i++)
        usleep(20000);
    cr_assert_eq(s_post_json("[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":1}]"), 404);
    cr_assert_eq(s_post_json("[{\"bn\":\"huaxin-t4/\",\"n\":\"tank-level\",\"v\":1}]"), 204);
    s_stop();
}

/* Many requests at once share commits: some answers come as separate
 * responses, fewer commits than packs, every 2.04 in the store. */
typedef struct s_seen {
    uint8_t *bits;
    uint64_t cap;
} s_seen;

static void s_on_load(void *arg, uint64_t seq, const Anwang__Record *rec)
{
    (void)seq;
    s_seen *s = arg;
    uint64_t v = (uint64_t)rec->reading->value;
    if (v < s->cap)
        s->bits[v / 8] |= (uint8_t)(1u << (v % 8));
}

/* Open file descriptors of the edge process. */
static int s_fds(pid_t pid)
{
    char out[64];
    th_run(out, sizeof out, "ls /proc/%d/fd | wc -l", (int)pid);
    return atoi(out);
}

Test(edge_coap, group_commit_under_load)
{
    s_start(13, "fsync", false, true, REGISTRY);
    int fds = s_fds(s_e.pid);
    th_load l = {.addr = s_e.addr,
                 .port = s_e.port,
                 .inflight = 16,
                 .device = "huaxin-gas-1",
                 .metric = "temperature",
                 .cap = 1 << 20};
    l.acked = calloc(l.cap / 8, 1);
    pthread_t t;
    pthread_create(&t, NULL, th_load_run, &l);
    for (int i = 0; i < 1000 && __atomic_load_n(&l.n_acked, __ATOMIC_RELAXED) < 2000; i++)
        usleep(10000);
    l.stop = 1;
    pthread_join(t, NULL);
    cr_assert_gt(l.n_acked, 500, "acked %llu", (unsigned long long)l.n_acked);
    json_t *st = th_status(&s_e);
    json_t *ing = json_object_get(st, "ingest");
    long long packs = json_integer_value(json_object_get(ing, "packs"));
    long long commits = json_integer_value(json_object_get(ing, "commits"));
    cr_assert_lt(commits, packs, "commits %lld for %lld packs", commits, packs);
    cr_assert_gt(l.n_separate, 0, "batched requests are answered separately");
    json_decref(st);
    cr_assert_eq(s_fds(s_e.pid), fds, "no file descriptor leaked");
    s_stop();
    s_seen seen = {calloc(l.cap / 8, 1), l.cap};
    cr_assert_eq(th_store_walk(s_e.data, 1, s_on_load, &seen), 0);
    for (uint64_t i = 1; i < l.cap; i++)
        if (l.acked[i / 8] & (1u << (i % 8)))
            cr_assert(seen.bits[i / 8] & (1u << (i % 8)), "acked reading %llu not stored",
                      (unsigned long long)i);
    free(seen.bits);
    free(l.acked);
}

/* A retransmitted request (same message id, same port) is answered again
 * and processed once (RFC 7252 §4.5). */
Test(edge_coap, retransmission_is_processed_once)
{
    s_start(15, "fsync", false, true, REGISTRY);
    static th_resp second;
    const char *json = "[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":2}]";
    cr_assert_eq(
        th_coap_dup(s_e.addr, s_e.port, "readings", 110, json, strlen(json), &s_r, &second), 0);
    cr_assert_eq(s_r.code, 204);
    cr_assert_eq(second.code, 204);
    cr_assert_eq(th_status_head(&s_e, "bulk"), 1, "stored once");
    const char *report = "{\"site\":\"yueyang/rongjiawan/xinqiang/huaxin-chem\","
                         "\"sector\":\"hazardous-chemicals\",\"level\":\"general\","
                         "\"title\":\"blocked exit\",\"source\":\"self-inspection\","
                         "\"reporter\":\"li\"}";
    cr_assert_eq(
        th_coap_dup(s_e.addr, s_e.port, "hazards", 50, report, strlen(report), &s_r, &second), 0);
    cr_assert_eq(s_r.code, 201);
    cr_assert_eq(second.code, 201);
    cr_assert_str_eq(s_r.location, second.location, "the same hazard, not a second one");
    cr_assert_eq(th_status_head(&s_e, "urgent"), 1);
    s_stop();
}

/* Urgent records fill the budget (they are never dropped): readings and
 * reports get 5.03 with Max-Age, and nothing of them is stored. */
Test(edge_coap, storage_exhausted_answers_503)
{
    th_edge_init(&s_e, 16);
    s_e.max_bytes = "1M";
    th_edge_write_conf(&s_e, "interval:100", false, true, NULL);
    th_edge_start(&s_e, REGISTRY);
    cr_assert(th_edge_ready(&s_e, READY_MS));
    char report[600];
    snprintf(report, sizeof report,
             "{\"site\":\"yueyang/rongjiawan/xinqiang/huaxin-chem\","
             "\"sector\":\"hazardous-chemicals\",\"level\":\"general\","
             "\"title\":\"leak\",\"description\":\"%0400d\",\"source\":\"inspection\","
             "\"reporter\":\"li\"}",
             0);
    int code = 201, n = 0;
    while (code == 201 && n++ < 20000)
        code = s_post("hazards", 50, report, strlen(report));
    s_expect(503, "reports beyond the budget", "storage");
    cr_assert(s_r.has_max_age, "5.03 carries Max-Age");
    /* readings that raise and clear an alarm (urgent events) until one does not fit */
    long long bulk = 0, urgent = 0;
    code = 204;
    for (int i = 0; i < 200 && code == 204; i++) {
        bulk = th_status_head(&s_e, "bulk"), urgent = th_status_head(&s_e, "urgent");
        code = s_post_json(i % 2 ? "[{\"bn\":\"huaxin-gas-1/\",\"n\":\"h2s\",\"v\":0}]"
                                 : "[{\"bn\":\"huaxin-gas-1/\",\"n\":\"h2s\",\"v\":30}]");
    }
    s_expect(503, "a reading whose alarm event does not fit", "storage");
    cr_assert(s_r.has_max_age);
    cr_assert_eq(th_status_head(&s_e, "bulk"), bulk, "nothing of the pack stored");
    cr_assert_eq(th_status_head(&s_e, "urgent"), urgent);
    s_stop();
}

Test(edge_coap, command_line)
{
    th_edge_init(&s_e, 14);
    cr_assert_eq(th_run(s_out, sizeof s_out, "%s --help", TH_EDGE_BIN), 0);
    cr_assert(strstr(s_out, "[edge]") && strstr(s_out, "durability = fsync"), "%s", s_out);
    cr_assert_eq(th_run(s_out, sizeof s_out, "%s --version", TH_EDGE_BIN), 0);
    cr_assert(strstr(s_out, "anwang-edge "));
    th_edge_write_conf(&s_e, "fsync", false, true, NULL);
    cr_assert_eq(th_run(s_out, sizeof s_out, "%s --check-config -c %s --registry %s", TH_EDGE_BIN,
                        s_e.conf, REGISTRY),
                 0, "%s", s_out);
    th_edge_write_conf(&s_e, "sometimes", false, true, NULL);
    int status = th_run(s_out, sizeof s_out, "%s --check-config -c %s", TH_EDGE_BIN, s_e.conf);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    cr_assert(strstr(s_out, s_e.conf) && strstr(s_out, "[store] durability"), "%s", s_out);
    /* a bad config stops start-up with the reason */
    status = th_run(s_out, sizeof s_out, "%s -c %s", TH_EDGE_BIN, s_e.conf);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s", s_out);
}
