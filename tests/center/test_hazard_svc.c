/* Tests for center/hazard_svc: the hazard ledger's center side (一单四制,
 * SPEC §6): reports and lifecycle events by operators, refusals that store
 * nothing, 双报告, events queued down to the zone's edge, edge events
 * arriving by replication, convergence over arrival orders, and the overdue
 * notify made once per hazard across ticks and restarts. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "center_fixture.h"
#include "hazard_json.h"
#include "hazard_svc.h"
#include "hlc.h"
#include "picture.h"
#include "registry_svc.h"

#define ZONE   "yueyang/rongjiawan"
#define SITE   ZONE "/xinqiang/huaxin-chem"
#define ZONE2  "yueyang/xinqiang"
#define SITE2  ZONE2 "/v1/mine"
#define EPOCH  UINT64_C(0xfeedfacecafebeef)
#define EPOCH2 UINT64_C(0x1122334455667788)
#define WHO    "op-zhang"
#define DAY    INT64_C(86400000)

static const char s_registry[] =
    "{\"county\": \"yueyang\", \"version\": 7, \"zones\": ["
    " {\"path\": \"yueyang/rongjiawan\", \"kind\": \"township\", \"villages\": ["
    "  {\"path\": \"yueyang/rongjiawan/xinqiang\", \"sites\": ["
    "   {\"path\": \"yueyang/rongjiawan/xinqiang/huaxin-chem\", \"sector\": "
    "\"hazardous-chemicals\", \"risk\": \"orange\", \"devices\": ["
    "    {\"id\": \"huaxin-t3\", \"kind\": \"sensor\", \"metrics\": [{\"name\": \"tank-level\", "
    "\"unit\": \"m\"}]}]}]}]},"
    " {\"path\": \"yueyang/xinqiang\", \"kind\": \"township\", \"villages\": ["
    "  {\"path\": \"yueyang/xinqiang/v1\", \"sites\": ["
    "   {\"path\": \"yueyang/xinqiang/v1/mine\", \"sector\": \"non-coal-mine\", \"risk\": "
    "\"red\", \"devices\": []}]}]}]}";

/* A report at SITE; %s is the level. */
#define REPORT_FMT                                                                                 \
    "{\"site\": \"" SITE "\", \"sector\": \"hazardous-chemicals\", \"level\": \"%s\", "            \
    "\"title\": \"tank 3 valve leaks\", \"source\": \"self-inspection\", \"reporter\": \"wang\"}"

/* An assign with deadline FX_T0 + 1 day (2025-03-02T08:30:00Z). */
static const char s_assign[] = "{\"op\": \"assign\", \"unit\": \"huaxin-safety\", "
                               "\"person\": \"li\", \"deadline\": \"2025-03-02T08:30:00Z\"}";

/* One center: store, picture, registry, clock, ledger service. */
typedef struct s_center {
    fx f;
    aw_picture_t *pic;
    aw_registry_svc_t *reg;
    aw_hlc hlc;
    aw_hazard_svc_t *svc;
} s_center;

static s_center s_c;

/* Opens the views on c->f (already open); imports the registry when @p import. */
static void s_views_open(s_center *c, bool import)
{
    cr_assert_eq(aw_picture_open(c->f.db, &c->pic), AW_OK);
    aw_center_db_set_record_hook(c->f.db, aw_picture_on_record, c->pic);
    cr_assert_eq(aw_registry_svc_open(c->f.db, c->pic, FX_T0, &c->reg), AW_OK);
    if (import) {
        aw_registry_errors errs;
        aw_registry_put_report rep;
        memset(&errs, 0, sizeof errs);
        cr_assert_eq(
            aw_registry_svc_put(c->reg, s_registry, strlen(s_registry), FX_T0, &errs, &rep), AW_OK);
    }
    aw_hlc_init(&c->hlc, aw_store_hlc_floor(c->f.store));
    aw_hazard_svc_opts o = {
        .db = c->f.db, .picture = c->pic, .registry = c->reg, .hlc = &c->hlc, .origin = "center"};
    cr_assert_eq(aw_hazard_svc_new(&o, &c->svc), AW_OK);
}

static void s_views_close(s_center *c)
{
    aw_hazard_svc_destroy(&c->svc);
    aw_registry_svc_destroy(&c->reg);
    aw_center_db_set_record_hook(c->f.db, NULL, NULL);
    aw_picture_destroy(&c->pic);
}

static void s_center_open(s_center *c, bool import)
{
    memset(c, 0, sizeof *c);
    fx_open(&c->f);
    s_views_open(c, import);
}

static void s_center_close(s_center *c)
{
    s_views_close(c);
    fx_close(&c->f);
}

static void s_setup(void)
{
    s_center_open(&s_c, true);
}

static void s_teardown(void)
{
    s_center_close(&s_c);
}

TestSuite(hazard_svc, .init = s_setup, .fini = s_teardown);

/* ------------------------------------------------------------ helpers */

/* Reports at SITE with @p level at @p now; returns the new id (static buffer). */
static const char *s_report(s_center *c, const char *level, int64_t now)
{
    static char id[AW_HAZARD_ID_LEN];
    char body[512], why[256] = "";
    json_t *o = NULL;

    snprintf(body, sizeof body, REPORT_FMT, level);
    int rv = aw_hazard_svc_report(c->svc, body, strlen(body), WHO, now, &o, why, sizeof why);
    cr_assert_eq(rv, AW_OK, "report: %s (%s)", aw_strerror(rv), why);
    cr_assert_not_null(o);
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(o, "id")));
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "reported");
    json_decref(o);
    return id;
}

/* Posts event @p body to @p id; returns the code, the reason in @p why. */
static int s_event(s_center *c, const char *id, const char *body, int64_t now, char *why,
                   size_t why_len)
{
    json_t *o = NULL;
    int rv = aw_hazard_svc_event(c->svc, id, body, strlen(body), WHO, now, &o, why, why_len);
    cr_assert_eq(rv == AW_OK, o != NULL);
    json_decref(o);
    return rv;
}

static void s_event_ok(s_center *c, const char *id, const char *body, int64_t now)
{
    char why[256] = "";
    int rv = s_event(c, id, body, now, why, sizeof why);
    cr_assert_eq(rv, AW_OK, "event %s: %s (%s)", body, aw_strerror(rv), why);
}

/* GET /api/v1/hazards/<id> at @p now (caller's). */
static json_t *s_get(s_center *c, const char *id, int64_t now)
{
    aw_txn_t *txn = NULL;
    json_t *o = NULL;

    cr_assert_eq(aw_store_begin_read(c->f.store, &txn), AW_OK);
    int rv = aw_hazard_svc_get_json(c->svc, txn, id, now, &o);
    aw_txn_abort(&txn);
    cr_assert_eq(rv, AW_OK, "get %s: %s", id, aw_strerror(rv));
    return o;
}

static const char *s_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *s_status(s_center *c, const char *id, int64_t now)
{
    static char st[32];
    json_t *o = s_get(c, id, now);
    snprintf(st, sizeof st, "%s", s_str(o, "status"));
    json_decref(o);
    return st;
}

static size_t s_ledger_len(s_center *c, const char *id, int64_t now)
{
    json_t *o = s_get(c, id, now);
    size_t n = json_array_size(json_object_get(o, "ledger"));
    json_decref(o);
    return n;
}

/* Hazard events queued down to (edge, epoch) with hazard id @p id (NULL = any). */
typedef struct s_downs {
    const char *id;
    size_t n;
    Anwang__HazardOp ops[64];
} s_downs;

static int s_down_cb(void *arg, uint64_t seq, const uint8_t *env, size_t len)
{
    s_downs *d = arg;
    Anwang__Envelope *e = NULL;

    cr_assert_eq(aw_codec_envelope_decode(env, len, NULL, &e, NULL, 0), AW_OK);
    cr_assert_eq(e->msg_case, ANWANG__ENVELOPE__MSG_DOWN);
    if (e->down->body_case == ANWANG__DOWN__BODY_HAZARD &&
        (d->id == NULL || strcmp(e->down->hazard->hazard_id, d->id) == 0) && d->n < 64)
        d->ops[d->n++] = e->down->hazard->op;
    aw_codec_envelope_free(&e);
    return 0;
}

static size_t s_downs_of(s_center *c, const char *edge, uint64_t epoch, const char *id, s_downs *d)
{
    memset(d, 0, sizeof *d);
    d->id = id;
    cr_assert_eq(aw_center_down_read(c->f.db, edge, epoch, 1, 10000, s_down_cb, d), AW_OK);
    return d->n;
}

/* Makes edge @p edge of @p zone known: a session and its Hello. */
static void s_hello(s_center *c, const char *edge, const char *zone, uint64_t epoch, int64_t now)
{
    fx_out out;
    memset(&out, 0, sizeof out);
    aw_center_session_t *s = fx_session(&c->f, edge, zone, &out);
    cr_assert_eq(fx_hello(s, edge, epoch, 0, 0, zone, now, now), AW_OK);
    aw_center_session_destroy(&s);
    fx_out_clear(&out);
}

/* An encoded hazard event of @p edge (origin) with the fields an op needs. */
static ProtobufCBinaryData s_edge_event(const char *id, uint64_t hlc, const char *edge,
                                        Anwang__HazardOp op)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    Anwang__HazardEvent h = ANWANG__HAZARD_EVENT__INIT;
    ProtobufCBinaryData out = {0};

    h.hazard_id = (char *)id;
    h.hlc = hlc;
    h.origin = (char *)edge;
    h.op = op;
    h.by = "edge-user";
    h.has_time_ms = true;
    h.time_ms = (int64_t)aw_hlc_ms(hlc);
    switch (op) {
    case ANWANG__HAZARD_OP__HAZARD_REPORT:
        h.site = SITE;
        h.sector = "hazardous-chemicals";
        h.has_level = true;
        h.level = ANWANG__HAZARD_LEVEL__HAZARD_GENERAL;
        h.title = "blocked exit";
        h.has_source = true;
        h.source = ANWANG__HAZARD_SOURCE__SOURCE_INSPECTION;
        h.reporter = "zhao";
        break;
    case ANWANG__HAZARD_OP__HAZARD_NOTE:
        h.note = "seen on patrol";
        break;
    case ANWANG__HAZARD_OP__HAZARD_START:
        break;
    case ANWANG__HAZARD_OP__HAZARD_RECTIFIED:
        h.evidence = "photo-7";
        break;
    default:
        cr_assert_fail("op %d not made here", (int)op);
    }
    rec.hlc = hlc;
    rec.body_case = ANWANG__RECORD__BODY_HAZARD;
    rec.hazard = &h;
    cr_assert_eq(aw_codec_record_encode(&rec, &out.data, &out.len, NULL, 0), AW_OK);
    return out;
}

/* Applies @p n records from @p edge as one bulk batch at @p first_seq. */
static void s_apply(s_center *c, const char *edge, uint64_t first_seq, ProtobufCBinaryData *recs,
                    size_t n, int64_t now)
{
    Anwang__Batch b;
    aw_apply_result res;

    fx_batch(&b, EPOCH, AW_LANE_BULK, first_seq, recs, n);
    cr_assert_eq(aw_center_apply_batch(c->f.db, edge, &b, now, &res), AW_OK);
    cr_assert_eq(res.n_applied, n, "applied %zu of %zu", res.n_applied, n);
    cr_assert_eq(res.n_poison, 0, "poison: %s", res.poison_why);
    fx_batch_free(&b);
}

/* ------------------------------------------------------------ reports and events */

Test(hazard_svc, report_then_get_shows_reported)
{
    const char *id = s_report(&s_c, "general", FX_T0);
    cr_assert_eq(strncmp(id, "center-", 7), 0, "id %s", id);

    json_t *o = s_get(&s_c, id, FX_T0 + 1000);
    cr_assert_str_eq(s_str(o, "id"), id);
    cr_assert_str_eq(s_str(o, "status"), "reported");
    cr_assert_str_eq(s_str(o, "site"), SITE);
    cr_assert_str_eq(s_str(o, "level"), "general");
    cr_assert(json_is_false(json_object_get(o, "overdue")));
    json_t *ledger = json_object_get(o, "ledger");
    cr_assert_eq(json_array_size(ledger), 1);
    json_t *e0 = json_array_get(ledger, 0);
    cr_assert_str_eq(s_str(e0, "op"), "report");
    cr_assert_str_eq(s_str(e0, "by"), WHO);
    cr_assert_str_eq(s_str(e0, "origin"), "center");
    cr_assert(json_is_true(json_object_get(e0, "accepted")));
    json_decref(o);
    cr_assert_eq(fx_count(&s_c.f, AW_CT_HAZARDS), 1);
    /* the stamp is persisted: a restarted clock issues later stamps */
    cr_assert_gt(aw_store_hlc_floor(s_c.f.store), 0);
}

Test(hazard_svc, lifecycle_to_closed)
{
    const char *id = s_report(&s_c, "general", FX_T0);
    char hid[AW_HAZARD_ID_LEN];
    snprintf(hid, sizeof hid, "%s", id);

    s_event_ok(&s_c, hid, s_assign, FX_T0 + 1000);
    cr_assert_str_eq(s_status(&s_c, hid, FX_T0 + 1000), "assigned");
    s_event_ok(&s_c, hid, "{\"op\": \"start\"}", FX_T0 + 2000);
    cr_assert_str_eq(s_status(&s_c, hid, FX_T0 + 2000), "rectifying");
    s_event_ok(&s_c, hid, "{\"op\": \"rectified\", \"evidence\": \"new valve, photo 12\"}",
               FX_T0 + 3000);
    cr_assert_str_eq(s_status(&s_c, hid, FX_T0 + 3000), "rectified");
    s_event_ok(&s_c, hid, "{\"op\": \"verify\", \"ok\": true}", FX_T0 + 4000);

    json_t *o = s_get(&s_c, hid, FX_T0 + 5000);
    cr_assert_str_eq(s_str(o, "status"), "closed");
    cr_assert_not(json_is_null(json_object_get(o, "closed_at")));
    cr_assert_str_eq(s_str(json_object_get(o, "assignment"), "unit"), "huaxin-safety");
    json_t *ledger = json_object_get(o, "ledger");
    cr_assert_eq(json_array_size(ledger), 5);
    const char *ops[] = {"report", "assign", "start", "rectified", "verify"};
    for (size_t i = 0; i < 5; i++) {
        json_t *e = json_array_get(ledger, i);
        cr_assert_str_eq(s_str(e, "op"), ops[i]);
        cr_assert(json_is_true(json_object_get(e, "accepted")), "entry %zu", i);
    }
    json_decref(o);
    cr_assert_eq(fx_count(&s_c.f, AW_CT_HAZARDS), 5);
}

Test(hazard_svc, failed_verify_and_reopen)
{
    char hid[AW_HAZARD_ID_LEN];
    snprintf(hid, sizeof hid, "%s", s_report(&s_c, "general", FX_T0));

    s_event_ok(&s_c, hid, s_assign, FX_T0 + 1000);
    s_event_ok(&s_c, hid, "{\"op\": \"start\"}", FX_T0 + 2000);
    s_event_ok(&s_c, hid, "{\"op\": \"rectified\", \"evidence\": \"photo 1\"}", FX_T0 + 3000);
    s_event_ok(&s_c, hid, "{\"op\": \"verify\", \"ok\": false, \"note\": \"still leaks\"}",
               FX_T0 + 4000);
    json_t *o = s_get(&s_c, hid, FX_T0 + 4000);
    cr_assert_str_eq(s_str(o, "status"), "rectifying");
    cr_assert(json_is_null(json_object_get(o, "evidence")), "failed evidence cleared");
    json_decref(o);
    s_event_ok(&s_c, hid, "{\"op\": \"rectified\", \"evidence\": \"photo 2\"}", FX_T0 + 5000);
    s_event_ok(&s_c, hid, "{\"op\": \"verify\", \"ok\": true}", FX_T0 + 6000);
    cr_assert_str_eq(s_status(&s_c, hid, FX_T0 + 6000), "closed");
    s_event_ok(&s_c, hid, "{\"op\": \"note\", \"note\": \"archived\"}", FX_T0 + 7000);
    s_event_ok(&s_c, hid, "{\"op\": \"reopen\"}", FX_T0 + 8000);
    o = s_get(&s_c, hid, FX_T0 + 8000);
    cr_assert_str_eq(s_str(o, "status"), "reported");
    cr_assert(json_is_null(json_object_get(o, "assignment")));
    cr_assert_eq(json_array_size(json_object_get(o, "ledger")), 9);
    json_decref(o);
}

Test(hazard_svc, invalid_transition_is_refused_and_stores_nothing)
{
    char hid[AW_HAZARD_ID_LEN], why[256] = "";
    snprintf(hid, sizeof hid, "%s", s_report(&s_c, "general", FX_T0));
    uint64_t floor = aw_store_hlc_floor(s_c.f.store);

    cr_assert_eq(s_event(&s_c, hid, "{\"op\": \"start\"}", FX_T0 + 1000, why, sizeof why),
                 AW_ESTATE);
    cr_assert_str_eq(why, "start needs status assigned");
    cr_assert_eq(
        s_event(&s_c, hid, "{\"op\": \"verify\", \"ok\": true}", FX_T0 + 1000, why, sizeof why),
        AW_ESTATE);
    cr_assert_str_eq(why, "verify needs status rectified");
    cr_assert_eq(s_event(&s_c, hid, "{\"op\": \"reopen\"}", FX_T0 + 1000, why, sizeof why),
                 AW_ESTATE);
    cr_assert_str_eq(why, "reopen needs status closed");

    cr_assert_eq(fx_count(&s_c.f, AW_CT_HAZARDS), 1);
    cr_assert_eq(s_ledger_len(&s_c, hid, FX_T0 + 1000), 1);
    cr_assert_str_eq(s_status(&s_c, hid, FX_T0 + 1000), "reported");
    cr_assert_eq(aw_store_hlc_floor(s_c.f.store), floor, "nothing written");
}

Test(hazard_svc, bad_input_is_refused_and_stores_nothing)
{
    char hid[AW_HAZARD_ID_LEN], why[256] = "", body[512];
    json_t *o = NULL;
    snprintf(hid, sizeof hid, "%s", s_report(&s_c, "general", FX_T0));

    /* not JSON, unknown key, someone else's name, a report through /events */
    static const struct {
        const char *body;
        int rv;
    } bad[] = {
        {"{\"op\": \"start\"", AW_EDECODE},
        {"{\"op\": \"note\", \"note\": \"x\", \"deadlin\": 1}", AW_EINVAL},
        {"{\"op\": \"note\", \"note\": \"x\", \"by\": \"someone-else\"}", AW_EPERM},
        {"{\"op\": \"report\"}", AW_EINVAL},
        {"[]", AW_EINVAL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        cr_assert_eq(s_event(&s_c, hid, bad[i].body, FX_T0 + 1000, why, sizeof why), bad[i].rv,
                     "event %s", bad[i].body);
        cr_assert_neq(why[0], '\0', "a reason for %s", bad[i].body);
    }
    /* reports */
    cr_assert_eq(aw_hazard_svc_report(s_c.svc, "{", 1, WHO, FX_T0, &o, why, sizeof why),
                 AW_EDECODE);
    cr_assert_null(o);
    snprintf(body, sizeof body, REPORT_FMT, "catastrophic");
    cr_assert_eq(aw_hazard_svc_report(s_c.svc, body, strlen(body), WHO, FX_T0, &o, why, sizeof why),
                 AW_EINVAL);
    cr_assert_null(o);
    cr_assert_eq(fx_count(&s_c.f, AW_CT_HAZARDS), 1);
    cr_assert_eq(s_ledger_len(&s_c, hid, FX_T0 + 1000), 1);
}

Test(hazard_svc, unknown_site_and_unknown_hazard)
{
    char why[256] = "", body[512];
    json_t *o = NULL;

    snprintf(body, sizeof body,
             "{\"site\": \"yueyang/rongjiawan/xinqiang/no-such\", \"sector\": "
             "\"hazardous-chemicals\", \"level\": \"general\", \"title\": \"t\", "
             "\"source\": \"public-report\"}");
    cr_assert_eq(aw_hazard_svc_report(s_c.svc, body, strlen(body), WHO, FX_T0, &o, why, sizeof why),
                 AW_ENOTFOUND);
    cr_assert_null(o);
    cr_assert_neq(why[0], '\0');
    cr_assert_eq(fx_count(&s_c.f, AW_CT_HAZARDS), 0);

    cr_assert_eq(
        s_event(&s_c, "center-0123456789abcdef", "{\"op\": \"start\"}", FX_T0, why, sizeof why),
        AW_ENOTFOUND);
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin_read(s_c.f.store, &txn), AW_OK);
    cr_assert_eq(aw_hazard_svc_get_json(s_c.svc, txn, "center-0123456789abcdef", FX_T0, &o),
                 AW_ENOTFOUND);
    aw_txn_abort(&txn);
    cr_assert_null(o);
    cr_assert_eq(fx_count(&s_c.f, AW_CT_HAZARDS), 0);
}

Test(hazard_svc, no_registry_is_a_state_error)
{
    s_center c;
    char why[256] = "", body[512];
    json_t *o = NULL;

    s_center_open(&c, false);
    snprintf(body, sizeof body, REPORT_FMT, "general");
    cr_assert_eq(aw_hazard_svc_report(c.svc, body, strlen(body), WHO, FX_T0, &o, why, sizeof why),
                 AW_ESTATE);
    cr_assert_null(o);
    cr_assert_neq(why[0], '\0');
    cr_assert_eq(fx_count(&c.f, AW_CT_HAZARDS), 0);
    s_center_close(&c);
}

Test(hazard_svc, major_report_is_dual_reported)
{
    char hid[AW_HAZARD_ID_LEN];
    snprintf(hid, sizeof hid, "%s", s_report(&s_c, "major", FX_T0));

    cr_assert_eq(fx_count(&s_c.f, AW_CT_HAZARDS), 3);
    json_t *o = s_get(&s_c, hid, FX_T0);
    cr_assert(json_is_true(json_object_get(o, "dual_reported")));
    json_t *ledger = json_object_get(o, "ledger");
    cr_assert_eq(json_array_size(ledger), 3);
    cr_assert_str_eq(s_str(json_array_get(ledger, 0), "op"), "report");
    const char *aud1 = s_str(json_array_get(ledger, 1), "audience");
    const char *aud2 = s_str(json_array_get(ledger, 2), "audience");
    cr_assert_str_eq(s_str(json_array_get(ledger, 1), "op"), "notify");
    cr_assert_str_eq(aud1, "safety-bureau");
    cr_assert_str_eq(aud2, "sector:hazardous-chemicals");
    for (size_t i = 0; i < 3; i++)
        cr_assert(json_is_true(json_object_get(json_array_get(ledger, i), "accepted")));
    json_decref(o);

    /* a general one is not */
    o = s_get(&s_c, s_report(&s_c, "general", FX_T0 + 10), FX_T0 + 10);
    cr_assert(json_is_false(json_object_get(o, "dual_reported")));
    json_decref(o);
    cr_assert_eq(fx_count(&s_c.f, AW_CT_HAZARDS), 4);
}

/* ------------------------------------------------------------ down channel */

Test(hazard_svc, events_go_down_to_the_zone_edge)
{
    s_downs d;

    s_hello(&s_c, "e1", ZONE, EPOCH, FX_T0);
    s_hello(&s_c, "e2", ZONE2, EPOCH2, FX_T0);
    cr_assert_eq(s_downs_of(&s_c, "e1", EPOCH, NULL, &d), 0, "no hazard yet");

    char hid[AW_HAZARD_ID_LEN];
    snprintf(hid, sizeof hid, "%s", s_report(&s_c, "major", FX_T0 + 100));
    cr_assert_eq(s_downs_of(&s_c, "e1", EPOCH, hid, &d), 3, "report + 2 notifies");
    cr_assert_eq(d.ops[0], ANWANG__HAZARD_OP__HAZARD_REPORT);
    cr_assert_eq(d.ops[1], ANWANG__HAZARD_OP__HAZARD_NOTIFY);
    cr_assert_eq(d.ops[2], ANWANG__HAZARD_OP__HAZARD_NOTIFY);
    cr_assert_eq(s_downs_of(&s_c, "e2", EPOCH2, NULL, &d), 0, "other zone");

    s_event_ok(&s_c, hid, s_assign, FX_T0 + 200);
    cr_assert_eq(s_downs_of(&s_c, "e1", EPOCH, hid, &d), 4);
    cr_assert_eq(d.ops[3], ANWANG__HAZARD_OP__HAZARD_ASSIGN);

    /* a refused event goes nowhere */
    char why[256];
    cr_assert_eq(s_event(&s_c, hid, "{\"op\": \"reopen\"}", FX_T0 + 300, why, sizeof why),
                 AW_ESTATE);
    cr_assert_eq(s_downs_of(&s_c, "e1", EPOCH, hid, &d), 4);
    cr_assert_eq(s_downs_of(&s_c, "e2", EPOCH2, NULL, &d), 0);
}

Test(hazard_svc, an_edge_not_yet_known_gets_a_snapshot)
{
    s_downs d;
    char hid[AW_HAZARD_ID_LEN];

    snprintf(hid, sizeof hid, "%s", s_report(&s_c, "general", FX_T0));
    s_event_ok(&s_c, hid, s_assign, FX_T0 + 100);
    /* nothing was queued for it; its first Hello gets both events */
    s_hello(&s_c, "e1", ZONE, EPOCH, FX_T0 + 200);
    cr_assert_eq(s_downs_of(&s_c, "e1", EPOCH, hid, &d), 2);
}

/* ------------------------------------------------------------ replication */

Test(hazard_svc, edge_events_show_in_get_and_take_center_events)
{
    char id[AW_HAZARD_ID_LEN];
    uint64_t h0 = aw_hlc_make((uint64_t)FX_T0, 0);
    cr_assert_eq(aw_hazard_id_format("e1", h0, id, sizeof id), AW_OK);

    ProtobufCBinaryData recs[2] = {
        s_edge_event(id, h0, "e1", ANWANG__HAZARD_OP__HAZARD_REPORT),
        s_edge_event(id, h0 + 5, "e1", ANWANG__HAZARD_OP__HAZARD_NOTE),
    };
    s_apply(&s_c, "e1", 1, recs, 2, FX_T0 + 1000);

    json_t *o = s_get(&s_c, id, FX_T0 + 1000);
    cr_assert_str_eq(s_str(o, "status"), "reported");
    cr_assert_str_eq(s_str(o, "title"), "blocked exit");
    cr_assert_eq(json_array_size(json_object_get(o, "ledger")), 2);
    json_decref(o);
    /* the picture heard of it through the record hook: the list shows it */
    aw_txn_t *txn = NULL;
    aw_hazard_filter open = {.status = -2, .level = -1};
    cr_assert_eq(aw_store_begin_read(s_c.f.store, &txn), AW_OK);
    cr_assert_eq(aw_hazard_svc_list_json(s_c.svc, txn, &open, FX_T0 + 1000, 0, &o), AW_OK);
    aw_txn_abort(&txn);
    cr_assert_eq(json_array_size(json_object_get(o, "hazards")), 1);
    cr_assert_str_eq(s_str(json_array_get(json_object_get(o, "hazards"), 0), "id"), id);
    json_decref(o);

    /* the operator assigns the edge's hazard; the edge starts; the center signs off */
    s_event_ok(&s_c, id, s_assign, FX_T0 + 2000);
    ProtobufCBinaryData more[2] = {
        s_edge_event(id, aw_hlc_make((uint64_t)FX_T0 + 3000, 0), "e1",
                     ANWANG__HAZARD_OP__HAZARD_START),
        s_edge_event(id, aw_hlc_make((uint64_t)FX_T0 + 4000, 0), "e1",
                     ANWANG__HAZARD_OP__HAZARD_RECTIFIED),
    };
    s_apply(&s_c, "e1", 3, more, 2, FX_T0 + 4000);
    s_event_ok(&s_c, id, "{\"op\": \"verify\", \"ok\": true}", FX_T0 + 5000);
    cr_assert_str_eq(s_status(&s_c, id, FX_T0 + 5000), "closed");
    cr_assert_eq(s_ledger_len(&s_c, id, FX_T0 + 5000), 6);
}

Test(hazard_svc, center_event_folds_after_an_edge_clock_ahead)
{
    char id[AW_HAZARD_ID_LEN];
    /* the edge's clock runs 10 minutes ahead of the center's */
    uint64_t h0 = aw_hlc_make((uint64_t)FX_T0 + 600000, 0);
    cr_assert_eq(aw_hazard_id_format("e1", h0, id, sizeof id), AW_OK);
    ProtobufCBinaryData recs[1] = {s_edge_event(id, h0, "e1", ANWANG__HAZARD_OP__HAZARD_REPORT)};
    s_apply(&s_c, "e1", 1, recs, 1, FX_T0);

    /* made at center time FX_T0, it still comes after the report it answers */
    s_event_ok(&s_c, id, s_assign, FX_T0);
    cr_assert_str_eq(s_status(&s_c, id, FX_T0), "assigned");
}

/* An edge clock more than max_drift_ms ahead: the center's event cannot be
 * stamped after the edge's, and one that would overturn it is refused. */
Test(hazard_svc, center_event_that_would_overturn_a_later_edge_event_is_refused)
{
    char hid[AW_HAZARD_ID_LEN], why[256] = "";
    snprintf(hid, sizeof hid, "%s", s_report(&s_c, "general", FX_T0));
    s_event_ok(&s_c, hid, s_assign, FX_T0 + 1000);
    s_event_ok(&s_c, hid, "{\"op\": \"start\"}", FX_T0 + 2000);
    /* the edge's rectified, stamped two hours ahead */
    uint64_t h = aw_hlc_make((uint64_t)FX_T0 + 2 * 3600000, 0);
    ProtobufCBinaryData recs[1] = {s_edge_event(hid, h, "e1", ANWANG__HAZARD_OP__HAZARD_RECTIFIED)};
    s_apply(&s_c, "e1", 1, recs, 1, FX_T0 + 3000);
    cr_assert_str_eq(s_status(&s_c, hid, FX_T0 + 3000), "rectified");

    /* another unit: placed before the rectified, it would make it invalid */
    const char *other = "{\"op\": \"assign\", \"unit\": \"county-team\", \"person\": \"wu\", "
                        "\"deadline\": \"2025-03-02T08:30:00Z\"}";
    cr_assert_eq(s_event(&s_c, hid, other, FX_T0 + 4000, why, sizeof why), AW_ESTATE);
    cr_assert_str_eq(why, "it would fold before a later event and overturn it");
    cr_assert_eq(s_ledger_len(&s_c, hid, FX_T0 + 4000), 4);
    /* a note overturns nothing */
    s_event_ok(&s_c, hid, "{\"op\": \"note\", \"note\": \"called the unit\"}", FX_T0 + 5000);
    cr_assert_str_eq(s_status(&s_c, hid, FX_T0 + 5000), "rectified");
}

/* The events of one hazard made by the center and by edge e1, arriving in
 * two orders at two centers, give the same JSON. */
Test(hazard_svc, same_events_any_order_same_state)
{
    s_center b;
    s_center_open(&b, true);
    const int64_t t = FX_T0;
    const uint64_t h_note = aw_hlc_make((uint64_t)t + 5000, 0);
    const uint64_t h_start = aw_hlc_make((uint64_t)t + 20000, 0);
    char id[AW_HAZARD_ID_LEN];

    /* the same clock at both centers: the report gets the same id and stamp */
    snprintf(id, sizeof id, "%s", s_report(&s_c, "major", t));
    cr_assert_str_eq(s_report(&b, "major", t), id);

    /* A: edge note, then the operator's assign, then the edge's start */
    ProtobufCBinaryData a1[1] = {s_edge_event(id, h_note, "e1", ANWANG__HAZARD_OP__HAZARD_NOTE)};
    s_apply(&s_c, "e1", 1, a1, 1, t + 6000);
    s_event_ok(&s_c, id, s_assign, t + 10000);
    ProtobufCBinaryData a2[1] = {s_edge_event(id, h_start, "e1", ANWANG__HAZARD_OP__HAZARD_START)};
    s_apply(&s_c, "e1", 2, a2, 1, t + 21000);

    /* B: the operator's assign first, then both edge events in one batch */
    s_event_ok(&b, id, s_assign, t + 10000);
    ProtobufCBinaryData b1[2] = {
        s_edge_event(id, h_start, "e1", ANWANG__HAZARD_OP__HAZARD_START),
        s_edge_event(id, h_note, "e1", ANWANG__HAZARD_OP__HAZARD_NOTE),
    };
    s_apply(&b, "e1", 1, b1, 2, t + 21000);

    json_t *ja = s_get(&s_c, id, t + 30000), *jb = s_get(&b, id, t + 30000);
    char *sa = json_dumps(ja, JSON_SORT_KEYS), *sb = json_dumps(jb, JSON_SORT_KEYS);
    cr_assert_str_eq(sa, sb);
    cr_assert_str_eq(s_str(ja, "status"), "rectifying");
    cr_assert_eq(json_array_size(json_object_get(ja, "ledger")), 6);
    free(sa);
    free(sb);
    json_decref(ja);
    json_decref(jb);
    s_center_close(&b);
}

/* ------------------------------------------------------------ list */

Test(hazard_svc, list_shows_summaries_within_limit)
{
    char first[AW_HAZARD_ID_LEN];
    snprintf(first, sizeof first, "%s", s_report(&s_c, "general", FX_T0));
    s_report(&s_c, "major", FX_T0 + 1000);
    s_report(&s_c, "general", FX_T0 + 2000);

    aw_txn_t *txn = NULL;
    json_t *o = NULL;
    aw_hazard_filter all = {.status = -1, .level = -1};
    cr_assert_eq(aw_store_begin_read(s_c.f.store, &txn), AW_OK);
    cr_assert_eq(aw_hazard_svc_list_json(s_c.svc, txn, &all, FX_T0 + 3000, 0, &o), AW_OK);
    json_t *arr = json_object_get(o, "hazards");
    cr_assert_eq(json_array_size(arr), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *h = json_array_get(arr, i);
        cr_assert_null(json_object_get(h, "ledger"), "a summary has no ledger");
        cr_assert(json_is_boolean(json_object_get(h, "overdue")));
        cr_assert_str_eq(s_str(h, "status"), "reported");
    }
    cr_assert_str_eq(s_str(json_array_get(arr, 2), "id"), first, "newest first");
    json_decref(o);

    cr_assert_eq(aw_hazard_svc_list_json(s_c.svc, txn, &all, FX_T0 + 3000, 2, &o), AW_OK);
    cr_assert_eq(json_array_size(json_object_get(o, "hazards")), 2);
    json_decref(o);

    aw_hazard_filter major = {.status = -1, .level = ANWANG__HAZARD_LEVEL__HAZARD_MAJOR};
    cr_assert_eq(aw_hazard_svc_list_json(s_c.svc, txn, &major, FX_T0 + 3000, 0, &o), AW_OK);
    cr_assert_eq(json_array_size(json_object_get(o, "hazards")), 1);
    json_decref(o);
    aw_txn_abort(&txn);
}

/* ------------------------------------------------------------ tick */

/* Notifies by "anwang-center" in @p id's ledger. */
static size_t s_auto_notifies(s_center *c, const char *id, int64_t now)
{
    json_t *o = s_get(c, id, now), *e;
    size_t i, n = 0;

    json_array_foreach(json_object_get(o, "ledger"), i, e)
    {
        const char *by = s_str(e, "by");
        if (strcmp(s_str(e, "op"), "notify") == 0 && by != NULL &&
            strcmp(by, "anwang-center") == 0) {
            cr_assert_str_eq(s_str(e, "audience"), "safety-bureau");
            cr_assert_not_null(strstr(s_str(e, "text"), "2025-03-02T08:30:00"), "%s",
                               s_str(e, "text"));
            cr_assert_not_null(strstr(s_str(e, "text"), "huaxin-safety"));
            n++;
        }
    }
    json_decref(o);
    return n;
}

Test(hazard_svc, tick_notifies_an_overdue_hazard_once)
{
    char hid[AW_HAZARD_ID_LEN], done[AW_HAZARD_ID_LEN];
    size_t n = 99;
    s_downs d;

    s_hello(&s_c, "e1", ZONE, EPOCH, FX_T0);
    snprintf(hid, sizeof hid, "%s", s_report(&s_c, "general", FX_T0));
    s_event_ok(&s_c, hid, s_assign, FX_T0 + 1000);
    /* one rectified in time: never overdue */
    snprintf(done, sizeof done, "%s", s_report(&s_c, "general", FX_T0 + 2000));
    s_event_ok(&s_c, done, s_assign, FX_T0 + 3000);
    s_event_ok(&s_c, done, "{\"op\": \"start\"}", FX_T0 + 4000);
    s_event_ok(&s_c, done, "{\"op\": \"rectified\", \"evidence\": \"fixed\"}", FX_T0 + 5000);

    cr_assert_eq(aw_hazard_svc_tick(s_c.svc, FX_T0 + DAY / 2, &n), AW_OK);
    cr_assert_eq(n, 0, "not yet overdue");

    int64_t late = FX_T0 + 2 * DAY;
    cr_assert_eq(aw_hazard_svc_tick(s_c.svc, late, &n), AW_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(s_auto_notifies(&s_c, hid, late), 1);
    cr_assert_eq(s_auto_notifies(&s_c, done, late), 0);
    json_t *o = s_get(&s_c, hid, late);
    cr_assert(json_is_true(json_object_get(o, "overdue")));
    json_decref(o);
    cr_assert_eq(s_downs_of(&s_c, "e1", EPOCH, hid, &d), 3, "report, assign, notify");
    cr_assert_eq(d.ops[2], ANWANG__HAZARD_OP__HAZARD_NOTIFY);

    cr_assert_eq(aw_hazard_svc_tick(s_c.svc, late + 60000, &n), AW_OK);
    cr_assert_eq(n, 0, "second tick");

    /* a restart keeps the mark and the clock's floor */
    uint64_t floor = aw_store_hlc_floor(s_c.f.store);
    s_views_close(&s_c);
    fx_reopen(&s_c.f);
    s_views_open(&s_c, false);
    cr_assert_geq(aw_store_hlc_floor(s_c.f.store), floor);
    cr_assert_eq(aw_hazard_svc_tick(s_c.svc, late + 120000, &n), AW_OK);
    cr_assert_eq(n, 0, "after a reopen");
    cr_assert_eq(s_auto_notifies(&s_c, hid, late + 120000), 1);
    cr_assert_eq(s_downs_of(&s_c, "e1", EPOCH, hid, &d), 3);
}
