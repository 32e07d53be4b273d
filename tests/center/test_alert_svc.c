/* Unit tests of center/alert_svc and cap_xml: create (fan-out to the right
 * edges only, every bad field refused with nothing stored), receipts
 * through the real apply path into the delivery report, cancel (twice,
 * the cancel Down, the new-epoch snapshot), list, CAP 1.2 XML (well
 * formed, escaped). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert_svc.h"
#include "cap_xml.h"
#include "center_fixture.h"
#include "picture.h"
#include "registry_svc.h"

#define EPOCH_A UINT64_C(0xa1a1a1a1a1a1a1a1)
#define EPOCH_B UINT64_C(0xb2b2b2b2b2b2b2b2)
#define EPOCH_X UINT64_C(0xc3c3c3c3c3c3c3c3)
#define ZONE_A  "yueyang/rongjiawan"
#define ZONE_B  "yueyang/xinkai"
#define ZONE_C  "yueyang/gangkou"
#define SITE_A  ZONE_A "/xinqiang/huaxin-chem"
#define SENDER  "yueyang-center"

static fx s_fx;
static fx_out s_out;
static aw_picture_t *s_pic;
static aw_registry_svc_t *s_reg;
static aw_alert_svc_t *s_al;

/* Zone A: two sirens and a loudspeaker (and a sensor); zone B: one siren; zone C: none. */
static const char s_county[] =
    "{\"county\": \"yueyang\", \"version\": 3, \"zones\": ["
    " {\"path\": \"yueyang/rongjiawan\", \"kind\": \"township\", \"villages\": ["
    "  {\"path\": \"yueyang/rongjiawan/xinqiang\", \"sites\": ["
    "   {\"path\": \"yueyang/rongjiawan/xinqiang/huaxin-chem\", \"sector\": "
    "\"hazardous-chemicals\", \"risk\": \"orange\", \"devices\": ["
    "    {\"id\": \"huaxin-t3\", \"kind\": \"sensor\", \"metrics\": [{\"name\": \"tank-level\", "
    "\"unit\": \"m\"}]},"
    "    {\"id\": \"siren-1\", \"kind\": \"siren\", \"uri\": \"coap://127.0.0.1:5690/alert\"},"
    "    {\"id\": \"siren-2\", \"kind\": \"siren\", \"uri\": \"coap://127.0.0.1:5691/alert\"},"
    "    {\"id\": \"speaker-a\", \"kind\": \"loudspeaker\", \"uri\": "
    "\"coap://127.0.0.1:5692/alert\"}]}]}]},"
    " {\"path\": \"yueyang/xinkai\", \"kind\": \"township\", \"villages\": ["
    "  {\"path\": \"yueyang/xinkai/shanxia\", \"sites\": ["
    "   {\"path\": \"yueyang/xinkai/shanxia/tongmu-dam\", \"sector\": \"tailings-dam\", "
    "\"risk\": \"blue\", \"devices\": ["
    "    {\"id\": \"tongmu-siren\", \"kind\": \"siren\", \"uri\": "
    "\"coap://127.0.0.1:5693/alert\"}]}]}]},"
    " {\"path\": \"yueyang/gangkou\", \"kind\": \"industrial-park\", \"villages\": []}],"
    " \"plans\": [{\"id\": \"huaxin-leak\", \"when\": {\"site\": "
    "\"yueyang/rongjiawan/xinqiang/huaxin-chem\", \"level\": \"red\"}, \"mode\": \"confirm\","
    "  \"alert\": {\"area\": [\"yueyang/rongjiawan\"], \"event\": \"chemical leak\", "
    "\"severity\": \"Severe\", \"urgency\": \"Immediate\", \"certainty\": \"Observed\"}}]}";

static void s_open_services(void)
{
    cr_assert_eq(aw_picture_open(s_fx.db, &s_pic), AW_OK);
    cr_assert_eq(aw_registry_svc_open(s_fx.db, s_pic, FX_T0, &s_reg), AW_OK);
    cr_assert_eq(aw_alert_svc_open(s_fx.db, s_reg, SENDER, &s_al), AW_OK);
    aw_center_db_set_record_hook(s_fx.db, aw_alert_svc_on_record, s_al);
}

static void s_close_services(void)
{
    aw_center_db_set_record_hook(s_fx.db, NULL, NULL);
    aw_alert_svc_destroy(&s_al);
    aw_registry_svc_destroy(&s_reg);
    aw_picture_destroy(&s_pic);
}

static void s_setup(void)
{
    fx_open(&s_fx);
    memset(&s_out, 0, sizeof s_out);
    s_open_services();
}

static void s_setup_county(void)
{
    s_setup();
    cr_assert_eq(aw_registry_svc_put(s_reg, s_county, strlen(s_county), FX_T0, NULL, NULL), AW_OK);
}

static void s_teardown(void)
{
    s_close_services();
    fx_out_clear(&s_out);
    fx_close(&s_fx);
}

TestSuite(alert_svc, .init = s_setup_county, .fini = s_teardown);
TestSuite(alert_svc_bare, .init = s_setup, .fini = s_teardown);

/* ------------------------------------------------------------ helpers */

/* Makes @p edge known: it said Hello with @p zone in @p epoch. The session is the caller's. */
static aw_center_session_t *s_edge_skewed(const char *edge, uint64_t epoch, const char *zone,
                                          int64_t skew_ms)
{
    aw_center_session_t *s = fx_session(&s_fx, edge, NULL, &s_out);
    cr_assert_eq(fx_hello(s, edge, epoch, 0, 0, zone, FX_T0 + skew_ms, FX_T0), AW_OK);
    return s;
}

static aw_center_session_t *s_edge(const char *edge, uint64_t epoch, const char *zone)
{
    return s_edge_skewed(edge, epoch, zone, 0);
}

static void s_edge_once(const char *edge, uint64_t epoch, const char *zone)
{
    aw_center_session_t *s = s_edge(edge, epoch, zone);
    aw_center_session_destroy(&s);
}

/* The Down bodies queued for (edge, epoch) from seq @p from. */
typedef struct s_downs {
    Anwang__Envelope *env[64];
    size_t n;
} s_downs;

static int s_down_cb(void *arg, uint64_t seq, const uint8_t *env, size_t len)
{
    s_downs *d = arg;
    (void)seq;
    cr_assert_lt(d->n, 64);
    cr_assert_eq(aw_codec_envelope_decode(env, len, NULL, &d->env[d->n], NULL, 0), AW_OK);
    d->n++;
    return 0;
}

static void s_downs_read(s_downs *d, const char *edge, uint64_t epoch)
{
    memset(d, 0, sizeof *d);
    cr_assert_eq(aw_center_down_read(s_fx.db, edge, epoch, 1, 64, s_down_cb, d), AW_OK);
}

static void s_downs_free(s_downs *d)
{
    for (size_t i = 0; i < d->n; i++)
        aw_codec_envelope_free(&d->env[i]);
    d->n = 0;
}

/* How many queued Downs of (edge, epoch) carry body @p kind for alert @p id. */
static size_t s_count_body(const char *edge, uint64_t epoch, Anwang__Down__BodyCase kind,
                           const char *id)
{
    s_downs d;
    size_t n = 0;
    s_downs_read(&d, edge, epoch);
    for (size_t i = 0; i < d.n; i++) {
        const Anwang__Down *down = d.env[i]->down;
        if (down->body_case != kind)
            continue;
        const char *got = kind == ANWANG__DOWN__BODY_ALERT          ? down->alert->identifier
                          : kind == ANWANG__DOWN__BODY_ALERT_CANCEL ? down->alert_cancel->identifier
                                                                    : NULL;
        n += got != NULL && strcmp(got, id) == 0;
    }
    s_downs_free(&d);
    return n;
}

static size_t s_downs_total(const char *edge, uint64_t epoch)
{
    s_downs d;
    s_downs_read(&d, edge, epoch);
    size_t n = d.n;
    s_downs_free(&d);
    return n;
}

/* Creates an alert from @p body (must succeed); *id gets its identifier. */
static json_t *s_create(const char *body, int64_t now, char *id, size_t cap)
{
    json_t *o = NULL;
    char why[256] = "";
    int rv = aw_alert_svc_create(s_al, body, strlen(body), "op-li", now, &o, why, sizeof why);
    cr_assert_eq(rv, AW_OK, "create: %s (%s)", aw_strerror(rv), why);
    cr_assert_not_null(o);
    if (id != NULL)
        snprintf(id, cap, "%s", json_string_value(json_object_get(o, "id")));
    return o;
}

static json_t *s_get(const char *id, int64_t now)
{
    aw_txn_t *txn = NULL;
    json_t *o = NULL;
    cr_assert_eq(aw_store_begin_read(s_fx.store, &txn), AW_OK);
    cr_assert_eq(aw_alert_svc_get_json(s_al, txn, id, now, &o), AW_OK);
    aw_txn_abort(&txn);
    return o;
}

static json_t *s_list(bool active_only, int64_t now)
{
    aw_txn_t *txn = NULL;
    json_t *o = NULL;
    cr_assert_eq(aw_store_begin_read(s_fx.store, &txn), AW_OK);
    cr_assert_eq(aw_alert_svc_list_json(s_al, txn, active_only, now, &o), AW_OK);
    aw_txn_abort(&txn);
    json_t *arr = json_incref(json_object_get(o, "alerts"));
    json_decref(o);
    cr_assert(json_is_array(arr));
    return arr;
}

static const char *s_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    cr_assert_not_null(s, "no string \"%s\"", key);
    return s;
}

static json_int_t s_int(const json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(json_object_get(o, path1), path2);
    cr_assert(json_is_integer(v), "%s.%s is not an integer", path1, path2);
    return json_integer_value(v);
}

/* ------------------------------------------------------------ create */

#define DRILL_A                                                                                    \
    "{\"status\": \"Exercise\", \"event\": \"chemical leak drill\", \"area\": [\"" ZONE_A "\"], "  \
    "\"urgency\": \"Immediate\", \"severity\": \"Severe\", \"certainty\": \"Observed\", "          \
    "\"headline\": \"演练\", \"expires\": \"2025-03-01T10:30:00Z\"}"

/* The usage example: a drill for zone A is stored and queued to zone A's edge only. */
Test(alert_svc, usage_example)
{
    s_edge_once("e-a", EPOCH_A, ZONE_A);
    s_edge_once("e-b", EPOCH_B, ZONE_B);
    s_edge_once("e-x", EPOCH_X, ZONE_C);
    size_t before_b = s_downs_total("e-b", EPOCH_B), before_x = s_downs_total("e-x", EPOCH_X);

    char id[160];
    json_t *o = s_create(DRILL_A, FX_T0, id, sizeof id);
    cr_assert_str_eq(id, SENDER "-20250301T083000Z-1");
    cr_assert_str_eq(s_str(o, "identifier"), id);
    cr_assert_str_eq(s_str(o, "sender"), SENDER);
    cr_assert_str_eq(s_str(o, "sent"), "2025-03-01T08:30:00.000Z");
    cr_assert_str_eq(s_str(o, "status"), "Exercise");
    cr_assert_str_eq(s_str(o, "msgType"), "Alert");
    cr_assert_str_eq(s_str(o, "scope"), "Public");
    cr_assert_str_eq(s_str(o, "expires"), "2025-03-01T10:30:00.000Z");
    cr_assert_str_eq(s_str(o, "issued_by"), "op-li");
    cr_assert_str_eq(s_str(o, "headline"), "演练");
    cr_assert(json_is_false(json_object_get(o, "cancelled")));
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "area"), 0)), ZONE_A);
    json_decref(o);

    cr_assert_eq(s_count_body("e-a", EPOCH_A, ANWANG__DOWN__BODY_ALERT, id), 1);
    cr_assert_eq(s_downs_total("e-b", EPOCH_B), before_b);
    cr_assert_eq(s_downs_total("e-x", EPOCH_X), before_x);

    /* stored: get and list see it; the wire copy says Exercise */
    o = s_get(id, FX_T0);
    cr_assert_str_eq(s_str(o, "event"), "chemical leak drill");
    cr_assert_str_eq(s_str(o, "urgency"), "Immediate");
    cr_assert_not_null(json_object_get(o, "report"));
    json_decref(o);
    json_t *all = s_list(true, FX_T0);
    cr_assert_eq(json_array_size(all), 1);
    json_decref(all);
    s_downs d;
    s_downs_read(&d, "e-a", EPOCH_A);
    const Anwang__Alert *a = d.env[d.n - 1]->down->alert;
    cr_assert_eq(a->status, ANWANG__ALERT_STATUS__STATUS_EXERCISE);
    cr_assert_eq(a->sent_ms, FX_T0);
    s_downs_free(&d);
}

/* An area above the zones (the county) or below them (a village) reaches the right edges. */
Test(alert_svc, area_meets_zones)
{
    s_edge_once("e-a", EPOCH_A, ZONE_A);
    s_edge_once("e-b", EPOCH_B, ZONE_B);
    char id1[160], id2[160];
    json_decref(s_create("{\"status\": \"Test\", \"event\": \"county test\", \"area\": "
                         "[\"yueyang\"]}",
                         FX_T0, id1, sizeof id1));
    json_decref(s_create("{\"status\": \"Actual\", \"event\": \"dam\", \"area\": "
                         "[\"yueyang/xinkai/shanxia\"]}",
                         FX_T0, id2, sizeof id2));
    cr_assert_str_neq(id1, id2);
    cr_assert_str_eq(id2, SENDER "-20250301T083000Z-2");
    cr_assert_eq(s_count_body("e-a", EPOCH_A, ANWANG__DOWN__BODY_ALERT, id1), 1);
    cr_assert_eq(s_count_body("e-b", EPOCH_B, ANWANG__DOWN__BODY_ALERT, id1), 1);
    cr_assert_eq(s_count_body("e-a", EPOCH_A, ANWANG__DOWN__BODY_ALERT, id2), 0);
    cr_assert_eq(s_count_body("e-b", EPOCH_B, ANWANG__DOWN__BODY_ALERT, id2), 1);

    /* an edge that says Hello later gets the active alerts of its zone in its snapshot */
    s_edge_once("e-b2", EPOCH_X, ZONE_B);
    cr_assert_eq(s_count_body("e-b2", EPOCH_X, ANWANG__DOWN__BODY_ALERT, id1), 1);
    cr_assert_eq(s_count_body("e-b2", EPOCH_X, ANWANG__DOWN__BODY_ALERT, id2), 1);
}

/* Each bad field is refused with a reason naming it, and nothing is stored or queued. */
Test(alert_svc, bad_input_changes_nothing)
{
    static const struct {
        const char *body;
        int rv;
        const char *why;
    } cases[] = {
        {"{\"status\": \"Exercise\", ", AW_EDECODE, "malformed JSON"},
        {"[1, 2]", AW_EINVAL, "JSON object"},
        {"{\"status\": \"Exercise\", \"status\": \"Actual\", \"event\": \"e\", \"area\": "
         "[\"" ZONE_A "\"]}",
         AW_EDECODE, "malformed JSON"},
        {"{\"status\": \"Exercise\", \"event\": \"e\", \"area\": [\"" ZONE_A "\"], \"colour\": 1}",
         AW_EINVAL, "colour: unknown field"},
        {"{\"event\": \"e\", \"area\": [\"" ZONE_A "\"]}", AW_EINVAL, "status: required"},
        {"{\"status\": \"Drill\", \"event\": \"e\", \"area\": [\"" ZONE_A "\"]}", AW_EINVAL,
         "status: \"Drill\" is not one of Actual, Exercise, Test"},
        {"{\"status\": 1, \"event\": \"e\", \"area\": [\"" ZONE_A "\"]}", AW_EINVAL,
         "status: must be a string"},
        {"{\"status\": \"Test\", \"msgType\": \"Ack\", \"event\": \"e\", \"area\": [\"" ZONE_A
         "\"]}",
         AW_EINVAL, "msgType: \"Ack\""},
        {"{\"status\": \"Test\", \"scope\": \"World\", \"event\": \"e\", \"area\": [\"" ZONE_A
         "\"]}",
         AW_EINVAL, "scope: \"World\""},
        {"{\"status\": \"Test\", \"urgency\": \"Soon\", \"event\": \"e\", \"area\": [\"" ZONE_A
         "\"]}",
         AW_EINVAL, "urgency: \"Soon\""},
        {"{\"status\": \"Test\", \"severity\": \"Bad\", \"event\": \"e\", \"area\": [\"" ZONE_A
         "\"]}",
         AW_EINVAL, "severity: \"Bad\""},
        {"{\"status\": \"Test\", \"certainty\": \"sure\", \"event\": \"e\", \"area\": [\"" ZONE_A
         "\"]}",
         AW_EINVAL, "certainty: \"sure\""},
        {"{\"status\": \"Test\", \"area\": [\"" ZONE_A "\"]}", AW_EINVAL, "event: required"},
        {"{\"status\": \"Test\", \"event\": \"\", \"area\": [\"" ZONE_A "\"]}", AW_EINVAL,
         "event: must not be empty"},
        {"{\"status\": \"Test\", \"event\": \"e\"}", AW_EINVAL, "area: required"},
        {"{\"status\": \"Test\", \"event\": \"e\", \"area\": []}", AW_EINVAL, "area: required"},
        {"{\"status\": \"Test\", \"event\": \"e\", \"area\": \"" ZONE_A "\"}", AW_EINVAL,
         "area: must be a list"},
        {"{\"status\": \"Test\", \"event\": \"e\", \"area\": [7]}", AW_EINVAL, "area[0]"},
        {"{\"status\": \"Test\", \"event\": \"e\", \"area\": [\"yueyang/nowhere\"]}", AW_EINVAL,
         "area[0]: \"yueyang/nowhere\" is not"},
        {"{\"status\": \"Test\", \"event\": \"e\", \"area\": [\"" ZONE_A "\", \"" ZONE_A "\"]}",
         AW_EINVAL, "area[1]: \"" ZONE_A "\" given twice"},
        {"{\"status\": \"Test\", \"event\": \"e\", \"area\": [\"" ZONE_A
         "\"], \"expires\": \"2025-03-01T08:00:00Z\"}",
         AW_ERANGE, "expires: 2025-03-01T08:00:00Z is not in the future"},
        {"{\"status\": \"Test\", \"event\": \"e\", \"area\": [\"" ZONE_A
         "\"], \"expires\": \"tomorrow\"}",
         AW_EINVAL, "expires: \"tomorrow\" is not an RFC 3339 time"},
        {"{\"status\": \"Test\", \"event\": \"e\", \"area\": [\"" ZONE_A
         "\"], \"references\": [\"nope\"]}",
         AW_EINVAL, "references[0]: no alert \"nope\""},
        {"{\"status\": \"Test\", \"msgType\": \"Update\", \"event\": \"e\", \"area\": [\"" ZONE_A
         "\"]}",
         AW_EINVAL, "references: an Update"},
        {"{\"status\": \"Test\", \"event\": \"e\", \"area\": [\"" ZONE_A "\"], \"plan\": \"nope\"}",
         AW_EINVAL, "plan: no linkage plan \"nope\""},
        {"{\"status\": \"Test\", \"event\": \"e\", \"area\": [\"" ZONE_A
         "\"], \"headline\": \"a\\u0001b\"}",
         AW_EINVAL, "headline: holds a control character"},
        {"{\"status\": \"Test\", \"event\": \"e\\u0000x\", \"area\": [\"" ZONE_A "\"]}", AW_EDECODE,
         "malformed JSON"},
    };
    s_edge_once("e-a", EPOCH_A, ZONE_A);
    size_t downs = s_downs_total("e-a", EPOCH_A);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *o = NULL;
        char why[512] = "";
        int rv = aw_alert_svc_create(s_al, cases[i].body, strlen(cases[i].body), "op-li", FX_T0, &o,
                                     why, sizeof why);
        cr_assert_eq(rv, cases[i].rv, "case %zu: %s, want %s (%s)", i, aw_strerror(rv),
                     aw_strerror(cases[i].rv), why);
        cr_assert_not_null(strstr(why, cases[i].why), "case %zu: why \"%s\" lacks \"%s\"", i, why,
                           cases[i].why);
        cr_assert_null(o);
    }
    /* an event over 256 bytes, an instruction over 1024 */
    char big[2048];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\0';
    char body[4096];
    snprintf(body, sizeof body, "{\"status\": \"Test\", \"event\": \"%.257s\", \"area\": [\"%s\"]}",
             big, ZONE_A);
    json_t *o = NULL;
    char why[256];
    cr_assert_eq(aw_alert_svc_create(s_al, body, strlen(body), "op", FX_T0, &o, why, sizeof why),
                 AW_ERANGE);
    cr_assert_not_null(strstr(why, "event: 257 bytes, at most 256"), "%s", why);
    snprintf(body, sizeof body,
             "{\"status\": \"Test\", \"event\": \"e\", \"instruction\": \"%.1025s\", \"area\": "
             "[\"%s\"]}",
             big, ZONE_A);
    cr_assert_eq(aw_alert_svc_create(s_al, body, strlen(body), "op", FX_T0, &o, why, sizeof why),
                 AW_ERANGE);
    cr_assert_not_null(strstr(why, "instruction: 1025 bytes"), "%s", why);

    cr_assert_eq(fx_count(&s_fx, AW_CT_ALERTS), 0);
    cr_assert_eq(s_downs_total("e-a", EPOCH_A), downs);
    json_t *all = s_list(false, FX_T0);
    cr_assert_eq(json_array_size(all), 0);
    json_decref(all);
}

/* Without a registry there is no area to check: AW_ESTATE. */
Test(alert_svc_bare, no_registry)
{
    json_t *o = NULL;
    char why[256];
    const char body[] = "{\"status\": \"Test\", \"event\": \"e\", \"area\": [\"yueyang\"]}";
    cr_assert_eq(aw_alert_svc_create(s_al, body, strlen(body), "op", FX_T0, &o, why, sizeof why),
                 AW_ESTATE);
    cr_assert_not_null(strstr(why, "registry"));
    cr_assert_eq(fx_count(&s_fx, AW_CT_ALERTS), 0);
}

/* A sender that breaks the CAP identifier rule is refused at open. */
Test(alert_svc_bare, bad_sender)
{
    aw_alert_svc_t *al = NULL;
    cr_assert_eq(aw_alert_svc_open(s_fx.db, s_reg, "a,b", &al), AW_EINVAL);
    cr_assert_eq(aw_alert_svc_open(s_fx.db, s_reg, "has space", &al), AW_EINVAL);
    cr_assert_eq(aw_alert_svc_open(s_fx.db, s_reg, "", &al), AW_EINVAL);
    cr_assert_null(al);
}

/* ------------------------------------------------------------ receipts and report */

static ProtobufCBinaryData s_receipt(const char *id, const char *edge, const char *device,
                                     Anwang__ReceiptKind kind, int64_t time_ms, uint32_t attempts,
                                     const char *detail)
{
    Anwang__AlertReceipt r = ANWANG__ALERT_RECEIPT__INIT;
    Anwang__Record rec = ANWANG__RECORD__INIT;
    r.identifier = (char *)id;
    r.edge_id = (char *)edge;
    r.device = (char *)device;
    r.kind = kind;
    r.time_ms = time_ms;
    r.has_attempts = attempts > 0;
    r.attempts = attempts;
    r.detail = (char *)detail;
    rec.hlc = (uint64_t)time_ms << 16;
    rec.body_case = ANWANG__RECORD__BODY_RECEIPT;
    rec.receipt = &r;
    ProtobufCBinaryData out = {0};
    char why[160];
    cr_assert_eq(aw_codec_record_encode(&rec, &out.data, &out.len, why, sizeof why), AW_OK, "%s",
                 why);
    return out;
}

static void s_feed_urgent(aw_center_session_t *s, uint64_t epoch, uint64_t first,
                          ProtobufCBinaryData *recs, size_t n)
{
    Anwang__Batch b;
    fx_batch(&b, epoch, AW_LANE_URGENT, first, recs, n);
    cr_assert_eq(fx_feed_batch(s, &b, FX_T0 + 10000), AW_OK);
    fx_batch_free(&b);
    cr_assert_eq(fx_applied(&s_fx, "e-a", EPOCH_A, AW_LANE_URGENT), first + n - 1);
}

static int s_count_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen, (void)val, (void)vlen;
    ++*(size_t *)arg;
    return 0;
}

/* Rows of the `receipts` table. */
static size_t s_receipt_rows(void)
{
    aw_table_t t;
    aw_txn_t *txn = NULL;
    size_t n = 0;
    cr_assert_eq(aw_store_table(s_fx.store, "receipts", &t), AW_OK);
    cr_assert_eq(aw_store_begin_read(s_fx.store, &txn), AW_OK);
    cr_assert_eq(aw_txn_scan(txn, t, NULL, 0, NULL, 0, s_count_cb, &n), AW_OK);
    aw_txn_abort(&txn);
    return n;
}

static bool s_has(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

/* Receipts from the edge (through apply and the record hook) make the drill report; the
 * edge's clock runs 30 s ahead, which the latencies leave out. */
Test(alert_svc, report_from_receipts)
{
    const int64_t skew = 30000;
    aw_center_session_t *sa = s_edge_skewed("e-a", EPOCH_A, ZONE_A, skew);
    s_edge_once("e-b", EPOCH_B, ZONE_B);
    char id[160];
    json_decref(s_create(DRILL_A, FX_T0, id, sizeof id));

    typedef Anwang__ReceiptKind K;
    const K rx = ANWANG__RECEIPT_KIND__RECEIPT_EDGE_RECEIVED;
    const K ok = ANWANG__RECEIPT_KIND__RECEIPT_DEVICE_DELIVERED;
    const K ko = ANWANG__RECEIPT_KIND__RECEIPT_DEVICE_FAILED;
    ProtobufCBinaryData recs[] = {
        s_receipt(id, "e-a", NULL, rx, FX_T0 + 100, 0, NULL),
        s_receipt(id, "e-a", "siren-1", ok, FX_T0 + skew + 1500, 1, NULL),
        s_receipt(id, "e-a", "siren-2", ko, FX_T0 + 2000, 4, "4.04 Not Found"),
        s_receipt(id, "e-a", "speaker-a", ko, FX_T0 + 2500, 5, "timeout <no ack>"),
        s_receipt(id, "e-b", "speaker-a", ok, FX_T0 + 900, 1, NULL), /* speaks for e-b */
        s_receipt("yueyang-center-19990101T000000Z-1", "e-a", "siren-1", ok, FX_T0, 1, NULL),
    };
    s_feed_urgent(sa, EPOCH_A, 1, recs, 6);
    cr_assert_eq(s_receipt_rows(), 4); /* not the one for e-b, nor the unknown alert's */
    json_t *o = s_get(id, FX_T0 + 10000);
    json_t *rep = json_object_get(o, "report");
    cr_assert_eq(s_int(rep, "edges", "targeted"), 1);
    cr_assert_eq(s_int(rep, "edges", "reached"), 1);
    cr_assert_eq(s_int(rep, "edges", "failed"), 0);
    cr_assert_eq(s_int(rep, "devices", "targeted"), 3);
    cr_assert_eq(s_int(rep, "devices", "reached"), 1);
    cr_assert_eq(s_int(rep, "devices", "failed"), 2);
    cr_assert_eq(s_int(rep, "latency_ms", "p50"), 1500);
    cr_assert_eq(s_int(rep, "latency_ms", "max"), 1500);
    json_t *un = json_object_get(rep, "unreached");
    cr_assert_eq(json_array_size(un), 2);
    cr_assert(s_has(un, "siren-2") && s_has(un, "speaker-a"));
    json_t *f = json_array_get(json_object_get(rep, "failures"), 1);
    cr_assert_str_eq(s_str(f, "device"), "speaker-a");
    cr_assert_str_eq(s_str(f, "detail"), "timeout <no ack>");
    cr_assert_eq(json_integer_value(json_object_get(f, "attempts")), 5);
    json_decref(o);

    /* a later delivery overrides the failure; an older failure does not undo it */
    ProtobufCBinaryData more[] = {
        s_receipt(id, "e-a", "siren-2", ok, FX_T0 + skew + 4000, 6, NULL),
        s_receipt(id, "e-a", "siren-2", ko, FX_T0 + 4500, 7, "late"),
        s_receipt(id, "e-a", "siren-1", ok, FX_T0 + skew + 9000, 1,
                  NULL), /* a resend: first counts */
    };
    s_feed_urgent(sa, EPOCH_A, 7, more, 3);
    o = s_get(id, FX_T0 + 10000);
    rep = json_object_get(o, "report");
    cr_assert_eq(s_int(rep, "devices", "reached"), 2);
    cr_assert_eq(s_int(rep, "devices", "failed"), 1);
    cr_assert_eq(s_int(rep, "latency_ms", "p50"), 1500);
    cr_assert_eq(s_int(rep, "latency_ms", "p99"), 4000);
    cr_assert_eq(s_int(rep, "latency_ms", "max"), 4000);
    un = json_object_get(rep, "unreached");
    cr_assert_eq(json_array_size(un), 1);
    cr_assert_str_eq(json_string_value(json_array_get(un, 0)), "speaker-a");
    json_decref(o);
    aw_center_session_destroy(&sa);
}

/* A county-wide alert with nothing back: every edge and zone without an edge is unreached. */
Test(alert_svc, report_nothing_back)
{
    s_edge_once("e-a", EPOCH_A, ZONE_A);
    s_edge_once("e-b", EPOCH_B, ZONE_B);
    char id[160];
    json_decref(s_create("{\"status\": \"Exercise\", \"event\": \"county drill\", \"area\": "
                         "[\"yueyang\"]}",
                         FX_T0, id, sizeof id));
    json_t *o = s_get(id, FX_T0 + 1000);
    json_t *rep = json_object_get(o, "report");
    cr_assert_eq(s_int(rep, "edges", "targeted"), 3); /* e-a, e-b, zone C (no edge) */
    cr_assert_eq(s_int(rep, "edges", "reached"), 0);
    cr_assert_eq(s_int(rep, "edges", "failed"), 1);
    cr_assert_eq(s_int(rep, "devices", "targeted"), 4);
    cr_assert_eq(s_int(rep, "devices", "reached"), 0);
    cr_assert_eq(s_int(rep, "devices", "failed"), 0);
    cr_assert(json_is_null(json_object_get(json_object_get(rep, "latency_ms"), "p50")));
    json_t *un = json_object_get(rep, "unreached");
    cr_assert_eq(json_array_size(un), 7);
    cr_assert(s_has(un, "tongmu-siren") && s_has(un, "e-a") && s_has(un, "e-b") &&
              s_has(un, ZONE_C));
    json_decref(o);
}

/* ------------------------------------------------------------ cancel */

Test(alert_svc, cancel)
{
    s_edge_once("e-a", EPOCH_A, ZONE_A);
    s_edge_once("e-b", EPOCH_B, ZONE_B);
    char id[160];
    json_decref(s_create(DRILL_A, FX_T0, id, sizeof id));

    /* before the cancel a new epoch's snapshot carries it (the control) */
    s_edge_once("e-a", EPOCH_X, ZONE_A);
    cr_assert_eq(s_count_body("e-a", EPOCH_X, ANWANG__DOWN__BODY_ALERT, id), 1);

    json_t *o = NULL;
    char why[256];
    cr_assert_eq(aw_alert_svc_cancel(s_al, id, "op-wang", FX_T0 + 60000, &o, why, sizeof why),
                 AW_OK, "%s", why);
    cr_assert(json_is_true(json_object_get(o, "cancelled")));
    cr_assert_str_eq(s_str(o, "cancelled_by"), "op-wang");
    cr_assert_str_eq(s_str(o, "cancelled_at"), "2025-03-01T08:31:00.000Z");
    json_decref(o);
    cr_assert_eq(s_count_body("e-a", EPOCH_X, ANWANG__DOWN__BODY_ALERT_CANCEL, id), 1);
    cr_assert_eq(s_count_body("e-b", EPOCH_B, ANWANG__DOWN__BODY_ALERT_CANCEL, id), 0);

    o = NULL;
    cr_assert_eq(aw_alert_svc_cancel(s_al, id, "op-zhao", FX_T0 + 70000, &o, why, sizeof why),
                 AW_ESTATE);
    cr_assert_not_null(strstr(why, "already cancelled by op-wang"), "%s", why);
    cr_assert_null(o);
    cr_assert_eq(aw_alert_svc_cancel(s_al, "no-such-alert", "op", FX_T0, &o, why, sizeof why),
                 AW_ENOTFOUND);
    cr_assert_eq(aw_alert_svc_cancel(s_al, "bad<id", "op", FX_T0, &o, why, sizeof why),
                 AW_ENOTFOUND);
    cr_assert_eq(s_count_body("e-a", EPOCH_X, ANWANG__DOWN__BODY_ALERT_CANCEL, id), 1);

    /* a new epoch after the cancel: not in its snapshot */
    s_edge_once("e-a2", EPOCH_B, ZONE_A);
    cr_assert_eq(s_count_body("e-a2", EPOCH_B, ANWANG__DOWN__BODY_ALERT, id), 0);

    json_t *active = s_list(true, FX_T0 + 80000), *all = s_list(false, FX_T0 + 80000);
    cr_assert_eq(json_array_size(active), 0);
    cr_assert_eq(json_array_size(all), 1);
    cr_assert(json_is_true(json_object_get(json_array_get(all, 0), "cancelled")));
    json_decref(active);
    json_decref(all);
}

/* A CAP Cancel message cancels the alerts it references; Update needs references. */
Test(alert_svc, cancel_message)
{
    s_edge_once("e-a", EPOCH_A, ZONE_A);
    char id[160], cid[160], body[512];
    json_decref(s_create(DRILL_A, FX_T0, id, sizeof id));
    snprintf(body, sizeof body,
             "{\"status\": \"Exercise\", \"msgType\": \"Cancel\", \"event\": \"drill over\", "
             "\"area\": [\"%s\"], \"references\": [\"%s\"]}",
             ZONE_A, id);
    json_t *o = s_create(body, FX_T0 + 1000, cid, sizeof cid);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "references"), 0)), id);
    json_decref(o);
    o = s_get(id, FX_T0 + 2000);
    cr_assert(json_is_true(json_object_get(o, "cancelled")));
    json_decref(o);
    cr_assert_eq(s_count_body("e-a", EPOCH_A, ANWANG__DOWN__BODY_ALERT, cid), 1);
    cr_assert_eq(s_count_body("e-a", EPOCH_A, ANWANG__DOWN__BODY_ALERT_CANCEL, id), 1);
    char why[256];
    cr_assert_eq(aw_alert_svc_cancel(s_al, cid, "op", FX_T0 + 3000, &o, why, sizeof why),
                 AW_ESTATE);
}

/* List: newest first; expired ones are not active. */
Test(alert_svc, list_order_and_expiry)
{
    char id1[160], id2[160];
    json_decref(s_create(DRILL_A, FX_T0, id1, sizeof id1)); /* expires 10:30 */
    json_decref(s_create("{\"status\": \"Test\", \"event\": \"later\", \"area\": [\"" ZONE_B "\"]}",
                         FX_T0 + 5000, id2, sizeof id2));
    json_t *all = s_list(false, FX_T0 + 6000);
    cr_assert_eq(json_array_size(all), 2);
    cr_assert_str_eq(s_str(json_array_get(all, 0), "id"), id2);
    cr_assert_str_eq(s_str(json_array_get(all, 1), "id"), id1);
    json_decref(all);
    json_t *active = s_list(true, FX_T0 + 3 * 3600 * 1000);
    cr_assert_eq(json_array_size(active), 1);
    cr_assert_str_eq(s_str(json_array_get(active, 0), "id"), id2);
    json_decref(active);
    aw_txn_t *txn = NULL;
    json_t *o = NULL;
    cr_assert_eq(aw_store_begin_read(s_fx.store, &txn), AW_OK);
    cr_assert_eq(aw_alert_svc_get_json(s_al, txn, "nope", FX_T0, &o), AW_ENOTFOUND);
    aw_txn_abort(&txn);
}

/* A restart keeps alerts, metadata and receipts. */
Test(alert_svc, reopen)
{
    char id[160];
    json_decref(s_create(DRILL_A, FX_T0, id, sizeof id));
    s_close_services();
    fx_reopen(&s_fx);
    s_open_services();
    json_t *o = s_get(id, FX_T0);
    cr_assert_str_eq(s_str(o, "issued_by"), "op-li");
    json_decref(o);
}

/* ------------------------------------------------------------ CAP XML */

/* A small well-formedness check: tags nest, '&' starts one of the five entities or a char ref. */
static void s_xml_check(const char *x)
{
    const char *stack[32];
    size_t depth = 0, roots = 0;
    for (const char *p = x; *p; p++) {
        if (*p == '&') {
            static const char *const ents[] = {"&amp;",  "&lt;",   "&gt;",
                                               "&quot;", "&apos;", "&#13;"};
            bool ok = false;
            for (size_t i = 0; i < 6; i++)
                ok |= strncmp(p, ents[i], strlen(ents[i])) == 0;
            cr_assert(ok, "bad entity at: %.20s", p);
        } else if (*p == '>') {
            cr_assert_fail("stray '>' at: %.20s", p);
        } else if (*p == '<') {
            const char *end = strchr(p, '>');
            cr_assert_not_null(end);
            if (p[1] == '?') {
                p = end;
                continue;
            }
            bool closing = p[1] == '/';
            const char *name = p + 1 + closing;
            size_t nlen = strcspn(name, " />");
            if (closing) {
                cr_assert_gt(depth, 0);
                cr_assert_eq(strncmp(stack[depth - 1], name, nlen), 0, "mismatched </%.*s>",
                             (int)nlen, name);
                depth--;
            } else {
                cr_assert_lt(depth, 32);
                roots += depth == 0;
                stack[depth++] = name;
            }
            cr_assert_null(memchr(p + 1, '<', (size_t)(end - p - 1)), "'<' inside a tag");
            p = end;
        }
    }
    cr_assert_eq(depth, 0);
    cr_assert_eq(roots, 1);
}

/* xmllint, when installed, must accept the document too. */
static void s_xmllint(const char *x)
{
    if (access("/usr/bin/xmllint", X_OK) != 0)
        return;
    char path[] = "/tmp/aw_cap_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(x, f);
    fclose(f);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "/usr/bin/xmllint --noout %s 2>&1", path);
    int st = system(cmd);
    unlink(path);
    cr_assert_eq(st, 0, "xmllint refused:\n%s", x);
}

static char *s_cap(const char *id)
{
    aw_txn_t *txn = NULL;
    char *xml = NULL;
    cr_assert_eq(aw_store_begin_read(s_fx.store, &txn), AW_OK);
    cr_assert_eq(aw_alert_svc_cap_xml(s_al, txn, id, &xml), AW_OK);
    aw_txn_abort(&txn);
    return xml;
}

Test(alert_svc, cap_xml)
{
    char id[160], uid[160], body[1024];
    json_decref(s_create(DRILL_A, FX_T0, id, sizeof id));
    snprintf(body, sizeof body,
             "{\"status\": \"Exercise\", \"msgType\": \"Update\", \"scope\": \"Restricted\", "
             "\"event\": \"leak & fire\", \"area\": [\"%s\", \"%s\"], \"references\": [\"%s\"], "
             "\"headline\": \"</headline><evil attr='x'>&amp;\\\"quoted\\\"\", "
             "\"description\": \"]]><!-- <![CDATA[ x ]]> -->\", "
             "\"instruction\": \"关闭门窗,向上风方向撤离。 \\r\\n second line\", "
             "\"plan\": \"huaxin-leak\", \"expires\": \"2025-03-01T18:30:00+08:00\"}",
             ZONE_A, SITE_A, id);
    json_decref(s_create(body, FX_T0 + 2000, uid, sizeof uid));
    char *xml = s_cap(uid);
    s_xml_check(xml);
    s_xmllint(xml);
    cr_assert_not_null(strstr(xml, "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">"));
    char want[512];
    snprintf(want, sizeof want, "<identifier>%s</identifier>", uid);
    cr_assert_not_null(strstr(xml, want), "%s", xml);
    cr_assert_not_null(strstr(xml, "<sender>" SENDER "</sender>"));
    cr_assert_not_null(strstr(xml, "<sent>2025-03-01T08:30:02+00:00</sent>"), "%s", xml);
    cr_assert_not_null(strstr(xml, "<status>Exercise</status>"));
    cr_assert_not_null(strstr(xml, "<msgType>Update</msgType>"));
    cr_assert_not_null(strstr(xml, "<scope>Restricted</scope>\n  <restriction>"));
    snprintf(want, sizeof want, "<references>" SENDER ",%s,2025-03-01T08:30:00+00:00</references>",
             id);
    cr_assert_not_null(strstr(xml, want), "%s", xml);
    cr_assert_not_null(strstr(xml, "<category>Safety</category>"));
    cr_assert_not_null(strstr(xml, "<event>leak &amp; fire</event>"));
    cr_assert_not_null(strstr(xml, "<urgency>Unknown</urgency>"));
    cr_assert_not_null(strstr(xml, "<expires>2025-03-01T10:30:00+00:00</expires>"), "%s", xml);
    cr_assert_not_null(
        strstr(xml, "<headline>&lt;/headline&gt;&lt;evil attr=&apos;x&apos;&gt;&amp;amp;&quot;"
                    "quoted&quot;</headline>"),
        "%s", xml);
    cr_assert_not_null(strstr(xml, "<description>]]&gt;&lt;!-- &lt;![CDATA[ x ]]&gt; --&gt;"));
    cr_assert_not_null(strstr(xml, "<instruction>关闭门窗,向上风方向撤离。 &#13;\n second line"));
    cr_assert_not_null(strstr(xml, "<value>huaxin-leak</value>"));
    cr_assert_not_null(strstr(xml, "<areaDesc>" ZONE_A "</areaDesc>"));
    cr_assert_not_null(strstr(xml, "<areaDesc>" SITE_A "</areaDesc>"));
    cr_assert_null(strstr(xml, "<evil"));
    free(xml);

    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin_read(s_fx.store, &txn), AW_OK);
    cr_assert_eq(aw_alert_svc_cap_xml(s_al, txn, "nope", &xml), AW_ENOTFOUND);
    cr_assert_null(xml);
    aw_txn_abort(&txn);
}

Test(alert_svc, cap_time)
{
    char t[AW_CAP_TIME_LEN];
    cr_assert_eq(aw_cap_time(INT64_C(1796005800000), t), AW_OK);
    cr_assert_str_eq(t, "2026-11-30T02:30:00+00:00");
    cr_assert_eq(aw_cap_time(INT64_C(-1) * 62167219200000 - 1000, t), AW_ERANGE);
    cr_assert_str_eq(t, "");
}

/* One damaged edge row does not hold back an alert to the other edges. */
Test(alert_svc, damaged_edge_row_left_out)
{
    s_edge_once("e-a", EPOCH_A, ZONE_A);
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin(s_fx.store, &txn), AW_OK);
    cr_assert_eq(aw_txn_put(txn, aw_center_db_table(s_fx.db, AW_CT_EDGES), "e-0", 3, "junk", 4),
                 AW_OK);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);
    char id[160];
    json_decref(s_create(DRILL_A, FX_T0, id, sizeof id));
    cr_assert_eq(s_count_body("e-a", EPOCH_A, ANWANG__DOWN__BODY_ALERT, id), 1);
    json_t *o = s_get(id, FX_T0);
    cr_assert_eq(s_int(json_object_get(o, "report"), "edges", "targeted"), 1);
    json_decref(o);
}
