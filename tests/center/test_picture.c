/* test_picture.c: the situational picture (SPEC §8) driven through the
 * center's apply path with the picture as the record hook: device counts
 * and staleness, alarm counts and GB 51108 colours, hazards and overdue,
 * device history and pruning, the JSON reads, and a randomised check that
 * the incrementally kept node rows equal a rebuild. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "center_fixture.h"
#include "picture.h"
#include "rfc3339.h"

#define EDGE "edge-1"
#define S1   "cty/z1/v1/s1"
#define S2   "cty/z1/v1/s2"
#define S3   "cty/z1/v2/s3"
#define S4   "cty/z2/v3/s4"

/* cty: z1 {v1 {s1 (blue; d1..d4, item tank), s2 (blue; e1, e2)}, v2 {s3
 * (yellow; f1)}}, z2 {v3 {s4 (blue; g1)}, v4 {}}. */
static const char s_registry[] =
    "{\"county\":\"cty\",\"name\":\"County\",\"version\":1,\"zones\":["
    "{\"path\":\"cty/z1\",\"name\":\"Zone 1\",\"kind\":\"township\",\"villages\":["
    " {\"path\":\"cty/z1/v1\",\"sites\":["
    "  {\"path\":\"" S1 "\",\"sector\":\"hazardous-chemicals\",\"risk\":\"blue\",\"devices\":["
    "   {\"id\":\"d1\",\"kind\":\"sensor\",\"interval_s\":10,\"metrics\":["
    "     {\"name\":\"m1\",\"unit\":\"m\",\"item\":\"tank\",\"high\":{\"blue\":1,\"red\":4}},"
    "     {\"name\":\"m2\",\"unit\":\"kPa\"}]},"
    "   "
    "{\"id\":\"d2\",\"kind\":\"sensor\",\"metrics\":[{\"name\":\"m1\",\"unit\":\"m\",\"item\":"
    "\"tank\"}]},"
    "   "
    "{\"id\":\"d3\",\"kind\":\"sensor\",\"metrics\":[{\"name\":\"m1\",\"unit\":\"m\",\"item\":"
    "\"tank\"}]},"
    "   "
    "{\"id\":\"d4\",\"kind\":\"sensor\",\"metrics\":[{\"name\":\"m1\",\"unit\":\"m\",\"item\":"
    "\"tank\"}]}]},"
    "  {\"path\":\"" S2 "\",\"sector\":\"fireworks\",\"risk\":\"blue\",\"devices\":["
    "   {\"id\":\"e1\",\"kind\":\"sensor\",\"metrics\":[{\"name\":\"m1\",\"unit\":\"m\"}]},"
    "   {\"id\":\"e2\",\"kind\":\"display\"}]}]},"
    " {\"path\":\"cty/z1/v2\",\"sites\":["
    "  {\"path\":\"" S3 "\",\"sector\":\"fireworks\",\"risk\":\"yellow\",\"devices\":["
    "   {\"id\":\"f1\",\"kind\":\"sensor\",\"metrics\":[{\"name\":\"m1\",\"unit\":\"m\"}]}]}]}]},"
    "{\"path\":\"cty/z2\",\"kind\":\"industrial-park\",\"villages\":["
    " {\"path\":\"cty/z2/v3\",\"sites\":["
    "  {\"path\":\"" S4 "\",\"sector\":\"tailings-dam\",\"risk\":\"blue\",\"devices\":["
    "   "
    "{\"id\":\"g1\",\"kind\":\"sensor\",\"metrics\":[{\"name\":\"m1\",\"unit\":\"m\",\"item\":"
    "\"w\"}]}]}]},"
    " {\"path\":\"cty/z2/v4\",\"sites\":[]}]}]}";

typedef struct ctx {
    fx f;
    aw_registry_t *reg;
    aw_picture_t *pic;
    int64_t now;
    uint64_t seq[AW_LANE_COUNT];
    uint64_t hlc;
} ctx;

static int64_t s_clock(void *arg)
{
    return ((ctx *)arg)->now;
}

static void s_rebuild(ctx *c)
{
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin(c->f.store, &txn), AW_OK);
    cr_assert_eq(aw_picture_rebuild(c->pic, txn, c->now), AW_OK);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);
}

static void s_setup(ctx *c)
{
    memset(c, 0, sizeof *c);
    fx_open(&c->f);
    aw_registry_errors errs = {0};
    int rv = aw_registry_parse(s_registry, strlen(s_registry), &c->reg, &errs);
    cr_assert_eq(rv, AW_OK, "registry: %s", errs.count ? errs.msgs[0] : aw_strerror(rv));
    cr_assert_eq(aw_picture_open(c->f.db, &c->pic), AW_OK);
    c->now = FX_T0;
    c->hlc = (uint64_t)FX_T0 << 16;
    aw_picture_set_clock(c->pic, s_clock, c);
    aw_picture_use_registry(c->pic, c->reg);
    s_rebuild(c);
    aw_center_db_set_record_hook(c->f.db, aw_picture_on_record, c->pic);
}

static void s_teardown(ctx *c)
{
    aw_picture_destroy(&c->pic);
    aw_picture_destroy(&c->pic);
    aw_registry_destroy(&c->reg);
    fx_close(&c->f);
}

/* Applies @p n records as one batch of @p lane from EDGE. */
static void s_apply_n(ctx *c, aw_lane lane, ProtobufCBinaryData *recs, size_t n)
{
    Anwang__Batch b;
    aw_apply_result res;
    fx_batch(&b, 1, lane, c->seq[lane] + 1, recs, n);
    int rv = aw_center_apply_batch(c->f.db, EDGE, &b, c->now, &res);
    cr_assert_eq(rv, AW_OK, "apply: %s", aw_strerror(rv));
    cr_assert_eq(res.n_applied, n);
    cr_assert_eq(res.n_poison, 0, "poison: %s", res.poison_why);
    c->seq[lane] += n;
    fx_batch_free(&b);
}

static void s_apply(ctx *c, aw_lane lane, ProtobufCBinaryData rec)
{
    s_apply_n(c, lane, &rec, 1);
}

static ProtobufCBinaryData s_encode(const Anwang__Record *rec)
{
    ProtobufCBinaryData b = {0};
    char why[160];
    int rv = aw_codec_record_encode(rec, &b.data, &b.len, why, sizeof why);
    cr_assert_eq(rv, AW_OK, "encode: %s", why);
    return b;
}

static void s_reading(ctx *c, const char *dev, const char *metric, double v, int64_t t)
{
    s_apply(c, AW_LANE_BULK, fx_reading(dev, metric, v, t, ++c->hlc));
}

static ProtobufCBinaryData s_alarm_rec(ctx *c, const char *id, Anwang__AlarmEventKind kind,
                                       int level, int prev, const char *dev, const char *site,
                                       const char *by)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    Anwang__AlarmEvent a = ANWANG__ALARM_EVENT__INIT;
    a.alarm_id = (char *)id;
    a.kind = kind;
    a.device = (char *)dev;
    a.metric = "m1";
    a.site = (char *)site;
    a.level = (Anwang__Level)level;
    a.has_prev_level = true;
    a.prev_level = (Anwang__Level)prev;
    a.has_direction = true;
    a.direction = ANWANG__DIRECTION__DIRECTION_HIGH;
    a.has_value = true;
    a.value = 2.5;
    a.has_threshold = true;
    a.threshold = 1;
    a.time_ms = c->now;
    a.by = (char *)by;
    rec.hlc = ++c->hlc;
    rec.body_case = ANWANG__RECORD__BODY_ALARM;
    rec.alarm = &a;
    return s_encode(&rec);
}

static void s_alarm(ctx *c, const char *id, Anwang__AlarmEventKind kind, int level, int prev,
                    const char *dev)
{
    s_apply(c, AW_LANE_URGENT, s_alarm_rec(c, id, kind, level, prev, dev, NULL, "wang"));
}

static ProtobufCBinaryData s_devev_rec(ctx *c, const char *dev, Anwang__DeviceEventKind kind,
                                       int64_t last_seen)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    Anwang__DeviceEvent d = ANWANG__DEVICE_EVENT__INIT;
    d.device = (char *)dev;
    d.kind = kind;
    d.time_ms = c->now;
    d.has_last_seen_ms = kind == ANWANG__DEVICE_EVENT_KIND__DEVICE_STALE;
    d.last_seen_ms = last_seen;
    rec.hlc = ++c->hlc;
    rec.body_case = ANWANG__RECORD__BODY_DEVICE;
    rec.device = &d;
    return s_encode(&rec);
}

static void s_devev(ctx *c, const char *dev, Anwang__DeviceEventKind kind, int64_t last_seen)
{
    s_apply(c, AW_LANE_URGENT, s_devev_rec(c, dev, kind, last_seen));
}

/* A hazard event from EDGE; @p level 1 = major; deadline for assign. */
static ProtobufCBinaryData s_haz_rec(ctx *c, const char *id, Anwang__HazardOp op, const char *site,
                                     int major, int64_t deadline)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    Anwang__HazardEvent h = ANWANG__HAZARD_EVENT__INIT;
    h.hazard_id = (char *)id;
    h.hlc = ++c->hlc;
    h.origin = EDGE;
    h.op = op;
    h.by = "li";
    h.has_time_ms = true;
    h.time_ms = c->now;
    switch (op) {
    case ANWANG__HAZARD_OP__HAZARD_REPORT:
        h.site = (char *)site;
        h.sector = "hazardous-chemicals";
        h.has_level = true;
        h.level = major ? ANWANG__HAZARD_LEVEL__HAZARD_MAJOR : ANWANG__HAZARD_LEVEL__HAZARD_GENERAL;
        h.title = "leak";
        h.has_source = true;
        h.source = ANWANG__HAZARD_SOURCE__SOURCE_INSPECTION;
        break;
    case ANWANG__HAZARD_OP__HAZARD_ASSIGN:
        h.unit = "ops";
        h.person = "zhang";
        h.has_deadline_ms = true;
        h.deadline_ms = deadline;
        break;
    case ANWANG__HAZARD_OP__HAZARD_RECTIFIED:
        h.evidence = "photo";
        break;
    case ANWANG__HAZARD_OP__HAZARD_VERIFY:
        h.has_ok = true;
        h.ok = true;
        break;
    default:
        break;
    }
    rec.hlc = h.hlc;
    rec.body_case = ANWANG__RECORD__BODY_HAZARD;
    rec.hazard = &h;
    return s_encode(&rec);
}

static void s_haz(ctx *c, const char *id, Anwang__HazardOp op, const char *site, int major,
                  int64_t deadline)
{
    s_apply(c, AW_LANE_URGENT, s_haz_rec(c, id, op, site, major, deadline));
}

/* ------------------------------------------------------------ reading the picture */

static json_t *s_tree(ctx *c, const char *root, int depth)
{
    aw_txn_t *txn = NULL;
    json_t *out = NULL;
    cr_assert_eq(aw_store_begin_read(c->f.store, &txn), AW_OK);
    int rv = aw_picture_tree_json(c->pic, txn, root, depth, c->now, &out);
    aw_txn_abort(&txn);
    cr_assert_eq(rv, AW_OK, "tree %s: %s", root ? root : "(county)", aw_strerror(rv));
    return out;
}

/* A number of node @p path at "a.b.c". */
static long long s_num(ctx *c, const char *path, const char *field)
{
    json_t *t = s_tree(c, path, 0), *v = json_object_get(t, "root");
    char buf[128];
    snprintf(buf, sizeof buf, "%s", field);
    for (char *tok = strtok(buf, "."); tok != NULL; tok = strtok(NULL, "."))
        v = json_object_get(v, tok);
    cr_assert(json_is_integer(v), "%s %s is not a number", path, field);
    long long n = json_integer_value(v);
    json_decref(t);
    return n;
}

static const char *s_colour(ctx *c, const char *path)
{
    static char buf[16];
    json_t *t = s_tree(c, path, 0);
    snprintf(buf, sizeof buf, "%s",
             json_string_value(json_object_get(json_object_get(t, "root"), "colour")));
    json_decref(t);
    return buf;
}

static json_t *s_device(ctx *c, const char *id, const char *metric, size_t limit, int expect)
{
    aw_txn_t *txn = NULL;
    json_t *out = NULL;
    cr_assert_eq(aw_store_begin_read(c->f.store, &txn), AW_OK);
    int rv = aw_picture_device_json(c->pic, txn, id, metric, limit, &out);
    aw_txn_abort(&txn);
    cr_assert_eq(rv, expect, "device %s: %s", id, aw_strerror(rv));
    return out;
}

static json_t *s_alarms(ctx *c, bool all, const char *root, int min_level)
{
    aw_txn_t *txn = NULL;
    json_t *out = NULL;
    aw_alarm_query q = {.all = all, .root = root, .min_level = min_level};
    cr_assert_eq(aw_store_begin_read(c->f.store, &txn), AW_OK);
    int rv = aw_picture_alarms_json(c->pic, txn, &q, &out);
    aw_txn_abort(&txn);
    cr_assert_eq(rv, AW_OK);
    json_t *arr = json_incref(json_object_get(out, "alarms"));
    json_decref(out);
    cr_assert(json_is_array(arr));
    return arr;
}

static const char *s_state(ctx *c, const char *dev)
{
    static char buf[16];
    json_t *d = s_device(c, dev, NULL, 1, AW_OK);
    snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(d, "state")));
    json_decref(d);
    return buf;
}

/* ------------------------------------------------------------ devices */

Test(picture, readings_count_devices_once)
{
    ctx c;
    s_setup(&c);
    cr_assert_eq(s_num(&c, NULL, "devices.total"), 8);
    cr_assert_eq(s_num(&c, NULL, "devices.online"), 0);
    s_reading(&c, "d1", "m1", 0.5, FX_T0 + 1000);
    s_reading(&c, "d1", "m1", 0.6, FX_T0 + 2000);
    s_reading(&c, "d2", "m1", 0.7, FX_T0 + 1000);
    s_reading(&c, "ghost", "m1", 1, FX_T0 + 1000); /* unknown: stored, not counted */
    cr_assert_eq(s_num(&c, NULL, "devices.online"), 2);
    cr_assert_eq(s_num(&c, S1, "devices.online"), 2);
    cr_assert_eq(s_num(&c, S1, "devices.total"), 4);
    cr_assert_eq(s_num(&c, "cty/z1/v1", "devices.total"), 6);
    cr_assert_eq(s_num(&c, S2, "devices.online"), 0);
    cr_assert_eq(s_num(&c, "cty/z2", "devices.online"), 0);
    cr_assert_str_eq(s_state(&c, "d1"), "online");
    cr_assert_str_eq(s_state(&c, "d3"), "never");
    cr_assert_str_eq(s_state(&c, "ghost"), "online");
    json_t *g = s_device(&c, "ghost", NULL, 10, AW_OK);
    cr_assert(json_is_null(json_object_get(g, "site")));
    json_decref(g);
    s_device(&c, "nobody", NULL, 10, AW_ENOTFOUND);
    s_device(&c, "d1", NULL, 0, AW_EINVAL);

    aw_txn_t *txn = NULL;
    aw_picture_totals tot;
    cr_assert_eq(aw_store_begin_read(c.f.store, &txn), AW_OK);
    cr_assert_eq(aw_picture_totals_get(c.pic, txn, &tot), AW_OK);
    aw_txn_abort(&txn);
    cr_assert_eq(tot.devices, 8);
    cr_assert_eq(tot.online, 2);
    cr_assert_eq(tot.readings_applied, 4);
    s_teardown(&c);
}

Test(picture, stale_uses_times_not_arrival_order)
{
    ctx c;
    s_setup(&c);
    s_reading(&c, "d1", "m1", 1, FX_T0 + 10000);
    s_devev(&c, "d1", ANWANG__DEVICE_EVENT_KIND__DEVICE_STALE, FX_T0 + 10000);
    cr_assert_str_eq(s_state(&c, "d1"), "stale");
    cr_assert_eq(s_num(&c, S1, "devices.stale"), 1);
    cr_assert_eq(s_num(&c, S1, "devices.online"), 0);
    cr_assert_eq(s_num(&c, NULL, "devices.stale"), 1);
    /* older and equal readings arriving late change nothing */
    s_reading(&c, "d1", "m1", 1, FX_T0 + 5000);
    s_reading(&c, "d1", "m2", 1, FX_T0 + 10000);
    cr_assert_str_eq(s_state(&c, "d1"), "stale");
    cr_assert_eq(s_num(&c, S1, "devices.stale"), 1);
    /* a newer one brings it back */
    s_reading(&c, "d1", "m1", 1, FX_T0 + 11000);
    cr_assert_str_eq(s_state(&c, "d1"), "online");
    cr_assert_eq(s_num(&c, S1, "devices.stale"), 0);
    cr_assert_eq(s_num(&c, S1, "devices.online"), 1);
    /* DEVICE_BACK also does */
    s_devev(&c, "d1", ANWANG__DEVICE_EVENT_KIND__DEVICE_STALE, FX_T0 + 11000);
    cr_assert_str_eq(s_state(&c, "d1"), "stale");
    s_devev(&c, "d1", ANWANG__DEVICE_EVENT_KIND__DEVICE_BACK, 0);
    cr_assert_str_eq(s_state(&c, "d1"), "online");
    cr_assert_eq(s_num(&c, NULL, "devices.online"), 1);
    cr_assert_eq(s_num(&c, NULL, "devices.stale"), 0);
    /* a STALE older than a reading the center already has is stale news */
    s_reading(&c, "d1", "m1", 1, FX_T0 + 30000);
    s_devev(&c, "d1", ANWANG__DEVICE_EVENT_KIND__DEVICE_STALE, FX_T0 + 20000);
    cr_assert_str_eq(s_state(&c, "d1"), "online");
    /* unknown devices: stored state, no error, no count */
    s_devev(&c, "ghost", ANWANG__DEVICE_EVENT_KIND__DEVICE_STALE, FX_T0);
    cr_assert_str_eq(s_state(&c, "ghost"), "stale");
    cr_assert_eq(s_num(&c, NULL, "devices.stale"), 0);
    s_teardown(&c);
}

/* ------------------------------------------------------------ alarms */

#define K_RAISED  ANWANG__ALARM_EVENT_KIND__ALARM_RAISED
#define K_ESC     ANWANG__ALARM_EVENT_KIND__ALARM_ESCALATED
#define K_DESC    ANWANG__ALARM_EVENT_KIND__ALARM_DEESCALATED
#define K_CLEARED ANWANG__ALARM_EVENT_KIND__ALARM_CLEARED
#define K_ACK     ANWANG__ALARM_EVENT_KIND__ALARM_ACKNOWLEDGED

Test(picture, alarm_raise_escalate_ack_clear)
{
    ctx c;
    s_setup(&c);
    cr_assert_str_eq(s_colour(&c, S1), "blue");
    cr_assert_str_eq(s_colour(&c, "cty/z1"), "yellow");
    cr_assert_str_eq(s_colour(&c, NULL), "yellow");
    s_alarm(&c, "a1", K_RAISED, AW_LEVEL_BLUE, 0, "d1");
    cr_assert_eq(s_num(&c, S1, "alarms.blue"), 1);
    cr_assert_eq(s_num(&c, NULL, "alarms.blue"), 1);
    cr_assert_str_eq(s_colour(&c, S1), "blue");
    s_alarm(&c, "a1", K_ESC, AW_LEVEL_ORANGE, AW_LEVEL_BLUE, "d1");
    cr_assert_eq(s_num(&c, S1, "alarms.blue"), 0);
    cr_assert_eq(s_num(&c, S1, "alarms.orange"), 1);
    cr_assert_eq(s_num(&c, "cty/z1", "alarms.orange"), 1);
    cr_assert_str_eq(s_colour(&c, S1), "orange");
    cr_assert_str_eq(s_colour(&c, "cty/z1/v1"), "orange");
    cr_assert_str_eq(s_colour(&c, "cty/z1"), "orange");
    cr_assert_str_eq(s_colour(&c, NULL), "orange");
    cr_assert_str_eq(s_colour(&c, "cty/z2"), "blue");

    /* ack keeps the level and shows who */
    s_alarm(&c, "a1", K_ACK, AW_LEVEL_ORANGE, AW_LEVEL_ORANGE, "d1");
    cr_assert_eq(s_num(&c, S1, "alarms.orange"), 1);
    json_t *arr = s_alarms(&c, false, NULL, 0);
    cr_assert_eq(json_array_size(arr), 1);
    json_t *a = json_array_get(arr, 0);
    cr_assert_str_eq(json_string_value(json_object_get(a, "id")), "a1");
    cr_assert_str_eq(json_string_value(json_object_get(a, "site")), S1);
    cr_assert_str_eq(json_string_value(json_object_get(a, "item")), "tank");
    cr_assert_str_eq(json_string_value(json_object_get(a, "level")), "orange");
    cr_assert_str_eq(json_string_value(json_object_get(a, "edge")), EDGE);
    cr_assert(json_is_true(json_object_get(a, "acknowledged")));
    cr_assert(json_is_true(json_object_get(a, "active")));
    cr_assert_str_eq(json_string_value(json_object_get(a, "ack_by")), "wang");
    json_decref(arr);

    char edge[AW_CENTER_EDGE_ID_MAX + 1];
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin_read(c.f.store, &txn), AW_OK);
    cr_assert_eq(aw_picture_alarm_edge(c.pic, txn, "a1", edge, sizeof edge), AW_OK);
    cr_assert_str_eq(edge, EDGE);
    cr_assert_eq(aw_picture_alarm_edge(c.pic, txn, "a9", edge, sizeof edge), AW_ENOTFOUND);
    aw_txn_abort(&txn);

    /* filters */
    arr = s_alarms(&c, false, "cty/z2", 0);
    cr_assert_eq(json_array_size(arr), 0);
    json_decref(arr);
    arr = s_alarms(&c, false, "cty/z1", AW_LEVEL_RED);
    cr_assert_eq(json_array_size(arr), 0);
    json_decref(arr);
    arr = s_alarms(&c, false, "cty/z1", AW_LEVEL_ORANGE);
    cr_assert_eq(json_array_size(arr), 1);
    json_decref(arr);

    s_alarm(&c, "a1", K_CLEARED, AW_LEVEL_NONE, AW_LEVEL_ORANGE, "d1");
    cr_assert_eq(s_num(&c, S1, "alarms.orange"), 0);
    cr_assert_eq(s_num(&c, NULL, "alarms.orange"), 0);
    cr_assert_str_eq(s_colour(&c, S1), "blue");
    cr_assert_str_eq(s_colour(&c, "cty/z1/v1"), "blue");
    cr_assert_str_eq(s_colour(&c, "cty/z1"), "yellow");
    arr = s_alarms(&c, false, NULL, 0);
    cr_assert_eq(json_array_size(arr), 0);
    json_decref(arr);
    arr = s_alarms(&c, true, NULL, 0);
    cr_assert_eq(json_array_size(arr), 1);
    a = json_array_get(arr, 0);
    cr_assert(json_is_false(json_object_get(a, "active")));
    cr_assert_str_eq(json_string_value(json_object_get(a, "level")), "orange");
    json_decref(arr);
    cr_assert_eq(aw_store_begin_read(c.f.store, &txn), AW_OK);
    cr_assert_eq(aw_picture_alarm_edge(c.pic, txn, "a1", edge, sizeof edge), AW_ENOTFOUND);
    aw_txn_abort(&txn);
    s_teardown(&c);
}

Test(picture, gb51108_escalation_colours_site)
{
    ctx c;
    s_setup(&c);
    const char *devs[] = {"d1", "d2", "d3", "d4"}, *ids[] = {"b1", "b2", "b3", "b4"};
    for (int i = 0; i < 3; i++)
        s_alarm(&c, ids[i], K_RAISED, AW_LEVEL_BLUE, 0, devs[i]);
    cr_assert_str_eq(s_colour(&c, S1), "blue");
    s_alarm(&c, ids[3], K_RAISED, AW_LEVEL_BLUE, 0, devs[3]);
    cr_assert_eq(s_num(&c, S1, "alarms.blue"), 4);
    cr_assert_str_eq(s_colour(&c, S1), "yellow"); /* 4 blue points on item "tank" */
    s_alarm(&c, ids[0], K_CLEARED, 0, AW_LEVEL_BLUE, devs[0]);
    cr_assert_str_eq(s_colour(&c, S1), "blue");
    /* points on another item do not add up with these */
    s_alarm(&c, "x1", K_RAISED, AW_LEVEL_BLUE, 0, "e1");
    cr_assert_str_eq(s_colour(&c, S1), "blue");
    /* 2 orange → red */
    s_alarm(&c, ids[1], K_ESC, AW_LEVEL_ORANGE, AW_LEVEL_BLUE, devs[1]);
    cr_assert_str_eq(s_colour(&c, S1), "orange");
    s_alarm(&c, ids[2], K_ESC, AW_LEVEL_ORANGE, AW_LEVEL_BLUE, devs[2]);
    cr_assert_str_eq(s_colour(&c, S1), "red");
    cr_assert_str_eq(s_colour(&c, NULL), "red");
    s_alarm(&c, ids[2], K_DESC, AW_LEVEL_YELLOW, AW_LEVEL_ORANGE, devs[2]);
    cr_assert_str_eq(s_colour(&c, S1), "orange");
    cr_assert_eq(s_num(&c, NULL, "alarms.yellow"), 1);
    /* an alarm of a site the registry does not know: no error, no count */
    s_apply(&c, AW_LANE_URGENT,
            s_alarm_rec(&c, "z1", K_RAISED, AW_LEVEL_RED, 0, "ghost", "cty/nowhere", NULL));
    cr_assert_eq(s_num(&c, NULL, "alarms.red"), 0);
    s_teardown(&c);
}

/* ------------------------------------------------------------ hazards */

#define OP_REPORT    ANWANG__HAZARD_OP__HAZARD_REPORT
#define OP_ASSIGN    ANWANG__HAZARD_OP__HAZARD_ASSIGN
#define OP_START     ANWANG__HAZARD_OP__HAZARD_START
#define OP_RECTIFIED ANWANG__HAZARD_OP__HAZARD_RECTIFIED
#define OP_VERIFY    ANWANG__HAZARD_OP__HAZARD_VERIFY
#define OP_REOPEN    ANWANG__HAZARD_OP__HAZARD_REOPEN
#define OP_NOTE      ANWANG__HAZARD_OP__HAZARD_NOTE

Test(picture, major_hazard_colours_site_until_closed)
{
    ctx c;
    s_setup(&c);
    s_haz(&c, "h1", OP_REPORT, S1, 1, 0);
    cr_assert_eq(s_num(&c, S1, "hazards.open.major"), 1);
    cr_assert_eq(s_num(&c, NULL, "hazards.open.major"), 1);
    cr_assert_str_eq(s_colour(&c, S1), "orange");
    cr_assert_str_eq(s_colour(&c, NULL), "orange");
    s_haz(&c, "h1", OP_ASSIGN, NULL, 0, FX_T0 + 3600000);
    s_haz(&c, "h1", OP_START, NULL, 0, 0);
    s_haz(&c, "h1", OP_RECTIFIED, NULL, 0, 0);
    cr_assert_str_eq(s_colour(&c, S1), "orange");
    s_haz(&c, "h1", OP_VERIFY, NULL, 0, 0);
    cr_assert_eq(s_num(&c, S1, "hazards.open.major"), 0);
    cr_assert_str_eq(s_colour(&c, S1), "blue");
    cr_assert_str_eq(s_colour(&c, NULL), "yellow");
    s_haz(&c, "h1", OP_REOPEN, NULL, 0, 0);
    cr_assert_str_eq(s_colour(&c, S1), "orange");
    /* a general hazard on a yellow site changes no colour */
    s_haz(&c, "h2", OP_REPORT, S3, 0, 0);
    cr_assert_eq(s_num(&c, "cty/z1", "hazards.open.general"), 1);
    cr_assert_str_eq(s_colour(&c, S3), "yellow");
    s_teardown(&c);
}

typedef struct s_calls {
    int n;
    char last[64];
} s_calls;

static int s_overdue_fn(void *arg, aw_txn_t *txn, const char *id)
{
    (void)txn;
    s_calls *calls = arg;
    calls->n++;
    snprintf(calls->last, sizeof calls->last, "%s", id);
    return AW_OK;
}

static void s_scan(ctx *c, int64_t now, s_calls *calls)
{
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin(c->f.store, &txn), AW_OK);
    cr_assert_eq(aw_picture_overdue_scan(c->pic, txn, now, s_overdue_fn, calls), AW_OK);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);
}

static int s_collect(void *arg, const char *id)
{
    json_t *arr = arg;
    json_array_append_new(arr, json_string(id));
    return AW_OK;
}

static json_t *s_hazards(ctx *c, const aw_hazard_filter *f)
{
    json_t *arr = json_array();
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin_read(c->f.store, &txn), AW_OK);
    cr_assert_eq(aw_picture_hazards_each(c->pic, txn, f, c->now, s_collect, arr), AW_OK);
    aw_txn_abort(&txn);
    return arr;
}

Test(picture, overdue_scan_notifies_once)
{
    ctx c;
    s_setup(&c);
    s_haz(&c, "h1", OP_REPORT, S1, 0, 0);
    s_haz(&c, "h1", OP_ASSIGN, NULL, 0, FX_T0 + 3600000);
    c.now += 1000;
    s_haz(&c, "h2", OP_REPORT, S4, 1, 0);
    s_calls calls = {0};
    s_scan(&c, FX_T0 + 60000, &calls);
    cr_assert_eq(calls.n, 0);
    cr_assert_eq(s_num(&c, NULL, "hazards.overdue.general"), 0);
    s_scan(&c, FX_T0 + 7200000, &calls);
    cr_assert_eq(calls.n, 1);
    cr_assert_str_eq(calls.last, "h1");
    cr_assert_eq(s_num(&c, S1, "hazards.overdue.general"), 1);
    cr_assert_eq(s_num(&c, NULL, "hazards.overdue.general"), 1);
    s_scan(&c, FX_T0 + 9000000, &calls);
    cr_assert_eq(calls.n, 1);
    /* a later event of the hazard keeps it overdue and notified */
    c.now = FX_T0 + 7300000;
    s_haz(&c, "h1", OP_NOTE, NULL, 0, 0);
    s_scan(&c, FX_T0 + 9500000, &calls);
    cr_assert_eq(calls.n, 1);
    cr_assert_eq(s_num(&c, NULL, "hazards.overdue.general"), 1);

    /* the filters; newest report first */
    json_t *all = s_hazards(&c, NULL);
    cr_assert_eq(json_array_size(all), 2);
    cr_assert_str_eq(json_string_value(json_array_get(all, 0)), "h2");
    json_decref(all);
    aw_hazard_filter f = {.status = -1, .level = -1, .overdue_only = true};
    json_t *od = s_hazards(&c, &f);
    cr_assert_eq(json_array_size(od), 1);
    cr_assert_str_eq(json_string_value(json_array_get(od, 0)), "h1");
    json_decref(od);
    f = (aw_hazard_filter){
        .status = -2, .level = ANWANG__HAZARD_LEVEL__HAZARD_MAJOR, .root = "cty/z2"};
    json_t *mj = s_hazards(&c, &f);
    cr_assert_eq(json_array_size(mj), 1);
    json_decref(mj);
    f = (aw_hazard_filter){.status = AW_HAZARD_ASSIGNED, .level = -1, .root = "cty/z2"};
    json_t *none = s_hazards(&c, &f);
    cr_assert_eq(json_array_size(none), 0);
    json_decref(none);

    /* rectified: no longer overdue */
    s_haz(&c, "h1", OP_START, NULL, 0, 0);
    s_haz(&c, "h1", OP_RECTIFIED, NULL, 0, 0);
    cr_assert_eq(s_num(&c, NULL, "hazards.overdue.general"), 0);
    cr_assert_eq(s_num(&c, NULL, "hazards.open.general"), 1);
    s_teardown(&c);
}

/* ------------------------------------------------------------ history, prune */

Test(picture, device_json_latest_and_history_newest_first)
{
    ctx c;
    s_setup(&c);
    for (int i = 1; i <= 5; i++)
        s_reading(&c, "d1", "m1", i, FX_T0 + i * 1000);
    s_reading(&c, "d1", "m2", 42, FX_T0 + 500);
    json_t *d = s_device(&c, "d1", NULL, 3, AW_OK);
    cr_assert_str_eq(json_string_value(json_object_get(d, "kind")), "sensor");
    cr_assert_str_eq(json_string_value(json_object_get(d, "site")), S1);
    cr_assert_str_eq(json_string_value(json_object_get(d, "zone")), "cty/z1");
    cr_assert_eq(json_integer_value(json_object_get(d, "interval_s")), 10);
    cr_assert_str_eq(json_string_value(json_object_get(d, "state")), "online");
    json_t *lm1 = json_object_get(json_object_get(d, "latest"), "m1");
    cr_assert_float_eq(json_real_value(json_object_get(lm1, "value")), 5.0, 1e-9);
    cr_assert_str_eq(json_string_value(json_object_get(lm1, "edge")), EDGE);
    json_t *h = json_object_get(json_object_get(d, "history"), "m1");
    cr_assert_eq(json_array_size(h), 3);
    for (int i = 0; i < 3; i++)
        cr_assert_float_eq(json_real_value(json_object_get(json_array_get(h, i), "value")), 5.0 - i,
                           1e-9);
    char t5[AW_RFC3339_LEN];
    aw_time_format_rfc3339(FX_T0 + 5000, t5);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(h, 0), "time")), t5);
    cr_assert_str_eq(json_string_value(json_object_get(d, "last_seen")), t5);
    cr_assert_eq(json_array_size(json_object_get(json_object_get(d, "history"), "m2")), 1);
    json_decref(d);
    d = s_device(&c, "d1", "m2", 100, AW_OK);
    cr_assert_null(json_object_get(json_object_get(d, "history"), "m1"));
    cr_assert_null(json_object_get(json_object_get(d, "latest"), "m1"));
    cr_assert_eq(json_array_size(json_object_get(json_object_get(d, "history"), "m2")), 1);
    json_decref(d);
    s_teardown(&c);
}

Test(picture, history_keeps_one_reading_per_step)
{
    ctx c;
    s_setup(&c);
    aw_picture_set_history_step(c.pic, 10000);
    /* 0, 1, 9.999 s fall in the first step; 10 s opens the next; a late
     * reading inside it is skipped too, one more than a step back is kept */
    const int64_t at[] = {0, 1000, 9999, 10000, 15000, 25000, -11000};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        s_reading(&c, "d1", "m1", (double)i, FX_T0 + at[i]);
    json_t *d = s_device(&c, "d1", "m1", 100, AW_OK);
    json_t *h = json_object_get(json_object_get(d, "history"), "m1");
    cr_assert_eq(json_array_size(h), 4, "kept: 25 s, 10 s, 0 s, -11 s; got %zu",
                 json_array_size(h));
    const double want[] = {5, 3, 0, 6};
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(json_real_value(json_object_get(json_array_get(h, i), "value")), want[i],
                           1e-9);
    /* the latest value is every reading's, not the history's */
    cr_assert_float_eq(json_real_value(json_object_get(
                           json_object_get(json_object_get(d, "latest"), "m1"), "value")),
                       5.0, 1e-9);
    json_decref(d);
    s_teardown(&c);
}

Test(picture, prune_drops_old_history_and_alarm_log)
{
    ctx c;
    s_setup(&c);
    for (int i = 0; i < 10; i++) {
        s_reading(&c, "d1", "m1", i, FX_T0 + i * 1000);
        s_reading(&c, "d2", "m1", i, FX_T0 + i * 1000);
    }
    s_alarm(&c, "a1", K_RAISED, AW_LEVEL_BLUE, 0, "d1");
    s_alarm(&c, "a1", K_CLEARED, 0, AW_LEVEL_BLUE, "d1");
    size_t total = 0, n = 0;
    do {
        cr_assert_eq(aw_picture_prune(c.pic, FX_T0 + 10000, 5000, 3, &n), AW_OK);
        total += n;
    } while (n == 3);
    cr_assert_eq(total, 10); /* 5 rows each older than T0 + 5 s */
    json_t *d = s_device(&c, "d2", NULL, 100, AW_OK);
    json_t *h = json_object_get(json_object_get(d, "history"), "m1");
    cr_assert_eq(json_array_size(h), 5);
    cr_assert_float_eq(json_real_value(json_object_get(json_array_get(h, 4), "value")), 5.0, 1e-9);
    json_decref(d);
    json_t *arr = s_alarms(&c, true, NULL, 0);
    cr_assert_eq(json_array_size(arr), 1);
    json_decref(arr);
    int64_t week = INT64_C(7) * 24 * 3600 * 1000;
    cr_assert_eq(aw_picture_prune(c.pic, FX_T0 + week + 1, week * 4, 100, &n), AW_OK);
    cr_assert_eq(n, 1);
    arr = s_alarms(&c, true, NULL, 0);
    cr_assert_eq(json_array_size(arr), 0);
    json_decref(arr);
    cr_assert_eq(aw_picture_prune(c.pic, FX_T0, 1, 0, &n), AW_EINVAL);
    s_teardown(&c);
}

/* ------------------------------------------------------------ tree */

Test(picture, tree_json_shape_and_link)
{
    ctx c;
    s_setup(&c);
    s_reading(&c, "g1", "m1", 1, FX_T0);
    aw_txn_t *txn = NULL;
    aw_center_edge_row row;
    cr_assert_eq(aw_store_begin(c.f.store, &txn), AW_OK);
    cr_assert_eq(aw_center_edge_row_get(txn, c.f.db, EDGE, &row), AW_OK);
    row.epoch = 1;
    row.connected = true;
    snprintf(row.zone, sizeof row.zone, "cty/z2");
    cr_assert_eq(aw_center_edge_row_put(txn, c.f.db, EDGE, &row), AW_OK);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);

    json_t *t = s_tree(&c, NULL, 2), *r = json_object_get(t, "root");
    cr_assert_eq(json_integer_value(json_object_get(t, "registry_version")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(r, "kind")), "county");
    cr_assert_str_eq(json_string_value(json_object_get(r, "name")), "County");
    cr_assert_eq(json_integer_value(json_object_get(r, "children_count")), 2);
    json_t *z2 = json_array_get(json_object_get(r, "children"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(z2, "path")), "cty/z2");
    cr_assert_str_eq(json_string_value(json_object_get(z2, "zone_kind")), "industrial-park");
    json_t *link = json_object_get(z2, "link");
    cr_assert_str_eq(json_string_value(json_object_get(link, "edge")), EDGE);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(link, "applied"), "bulk")), 1);
    cr_assert(
        json_is_null(json_object_get(json_array_get(json_object_get(r, "children"), 0), "link")));
    json_t *v3 = json_array_get(json_object_get(z2, "children"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(v3, "kind")), "village");
    cr_assert_eq(json_integer_value(json_object_get(v3, "children_count")), 1);
    cr_assert_null(json_object_get(v3, "children")); /* the depth limit */
    json_t *v4 = json_array_get(json_object_get(z2, "children"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(v4, "colour")), "none");
    json_decref(t);

    t = s_tree(&c, S4, 4);
    r = json_object_get(t, "root");
    cr_assert_str_eq(json_string_value(json_object_get(r, "kind")), "site");
    cr_assert_str_eq(json_string_value(json_object_get(r, "sector")), "tailings-dam");
    cr_assert_str_eq(json_string_value(json_object_get(r, "risk")), "blue");
    cr_assert_eq(json_integer_value(json_object_get(r, "children_count")), 0);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(r, "devices"), "online")), 1);
    json_decref(t);

    json_t *out = NULL;
    cr_assert_eq(aw_store_begin_read(c.f.store, &txn), AW_OK);
    cr_assert_eq(aw_picture_tree_json(c.pic, txn, "cty/none", 1, c.now, &out), AW_ENOTFOUND);
    cr_assert_eq(aw_picture_tree_json(c.pic, txn, NULL, 5, c.now, &out), AW_EINVAL);
    cr_assert_eq(aw_picture_tree_json(c.pic, txn, NULL, -1, c.now, &out), AW_EINVAL);
    cr_assert_null(out);
    aw_txn_abort(&txn);
    s_teardown(&c);
}

/* ------------------------------------------------------------ rebuild == incremental */

typedef struct s_dump {
    char *buf;
    size_t len, cap;
} s_dump;

static int s_dump_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_dump *d = arg;
    size_t need = d->len + 2 * (klen + vlen) + 3;
    if (need > d->cap) {
        d->cap = 2 * need;
        d->buf = realloc(d->buf, d->cap);
        cr_assert_not_null(d->buf);
    }
    const uint8_t *k = key, *v = val;
    for (size_t i = 0; i < klen; i++)
        d->len += (size_t)sprintf(d->buf + d->len, "%02x", k[i]);
    d->buf[d->len++] = '=';
    for (size_t i = 0; i < vlen; i++)
        d->len += (size_t)sprintf(d->buf + d->len, "%02x", v[i]);
    d->buf[d->len++] = '\n';
    d->buf[d->len] = 0;
    return 0;
}

/* Every node row, as text. */
static char *s_nodes(ctx *c)
{
    aw_table_t t;
    cr_assert_eq(aw_store_table(c->f.store, "pic_nodes", &t), AW_OK);
    s_dump d = {0};
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin_read(c->f.store, &txn), AW_OK);
    cr_assert_eq(aw_txn_scan(txn, t, NULL, 0, NULL, 0, s_dump_cb, &d), AW_OK);
    aw_txn_abort(&txn);
    return d.buf ? d.buf : strdup("");
}

static void s_expect_rebuild_same(ctx *c, unsigned seed, int step)
{
    char *before = s_nodes(c);
    s_rebuild(c);
    char *after = s_nodes(c);
    cr_assert_str_eq(before, after, "seed %u step %d: incremental rows differ from a rebuild", seed,
                     step);
    free(before);
    free(after);
}

static const char *const s_rand_devs[] = {"d1", "d2", "d3", "d4", "e1", "f1", "g1", "ghost"};
static const char *const s_rand_sites[] = {S1, S2, S3, S4, "cty/nowhere"};
#define S_NDEV (sizeof s_rand_devs / sizeof *s_rand_devs)

/* One random record. */
static ProtobufCBinaryData s_rand_rec(ctx *c, unsigned *seed, aw_lane *lane)
{
    unsigned r = (unsigned)rand_r(seed);
    const char *dev = s_rand_devs[r / 7 % S_NDEV];
    char id[16];
    c->now += (int64_t)(r % 3000);
    *lane = AW_LANE_URGENT;
    switch (r % 10) {
    case 0:
    case 1:
    case 2:
        *lane = AW_LANE_BULK;
        return fx_reading(dev, r / 11 % 2 ? "m1" : "m2", r % 100,
                          c->now - (int64_t)(r / 13 % 20000), ++c->hlc);
    case 3:
        return s_devev_rec(c, dev,
                           r / 17 % 3 ? ANWANG__DEVICE_EVENT_KIND__DEVICE_STALE
                                      : ANWANG__DEVICE_EVENT_KIND__DEVICE_BACK,
                           c->now - (int64_t)(r / 19 % 20000));
    case 4:
    case 5:
    case 6: {
        snprintf(id, sizeof id, "a%u", r / 23 % 12);
        static const Anwang__AlarmEventKind kinds[] = {K_RAISED,  K_ESC, K_DESC,
                                                       K_CLEARED, K_ACK, K_CLEARED};
        Anwang__AlarmEventKind k = kinds[r / 29 % 6];
        int level = k == K_CLEARED ? 0 : 1 + (int)(r / 31 % 4);
        /* the alarm's device follows its id, so an id stays on one point */
        const char *adev = s_rand_devs[(r / 23 % 12) % S_NDEV];
        const char *site = r / 37 % 5 == 0 ? s_rand_sites[r / 41 % 5] : NULL;
        return s_alarm_rec(c, id, k, level, 0, adev, site, "op");
    }
    default: {
        snprintf(id, sizeof id, "h%u", r / 43 % 6);
        static const Anwang__HazardOp ops[] = {OP_REPORT,    OP_ASSIGN, OP_START,
                                               OP_RECTIFIED, OP_VERIFY, OP_REOPEN};
        return s_haz_rec(c, id, ops[r / 47 % 6], s_rand_sites[r / 53 % 5], (int)(r / 59 % 2),
                         c->now + (int64_t)(r / 61 % 40000) - 20000);
    }
    }
}

static void s_random_run(unsigned seed)
{
    ctx c;
    s_setup(&c);
    unsigned st = seed;
    s_calls calls = {0};
    for (int step = 0; step < 400; step++) {
        /* a batch of 1..4 records of one lane */
        ProtobufCBinaryData recs[4];
        aw_lane lane, first;
        size_t n = 0, want = 1 + (size_t)rand_r(&st) % 4;
        recs[n++] = s_rand_rec(&c, &st, &first);
        while (n < want) {
            ProtobufCBinaryData b = s_rand_rec(&c, &st, &lane);
            if (lane != first) {
                free(b.data);
                break;
            }
            recs[n++] = b;
        }
        s_apply_n(&c, first, recs, n);
        if (step % 37 == 0)
            s_scan(&c, c.now, &calls);
        if (step % 25 == 24)
            s_expect_rebuild_same(&c, seed, step);
    }
    s_expect_rebuild_same(&c, seed, 400);
    /* and the totals agree with the county row */
    cr_assert_geq(s_num(&c, NULL, "devices.total"), s_num(&c, NULL, "devices.online"));
    s_teardown(&c);
}

Test(picture, incremental_rows_equal_rebuild, .timeout = 120)
{
    for (unsigned seed = 1; seed <= 4; seed++)
        s_random_run(seed * 7919);
}

Test(picture, registry_change_rebuilds_for_new_version)
{
    ctx c;
    s_setup(&c);
    s_reading(&c, "d1", "m1", 1, FX_T0);
    s_reading(&c, "ghost", "m1", 1, FX_T0);
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin_read(c.f.store, &txn), AW_OK);
    cr_assert(aw_picture_built_for_current(c.pic, txn));
    aw_txn_abort(&txn);
    /* version 2 adds "ghost" (a display) to s4 */
    char *json = strdup(s_registry);
    char *v = strstr(json, "\"version\":1");
    v[10] = '2';
    char *g1 = strstr(json, "\"id\":\"g1\"");
    aw_registry_t *reg2 = NULL;
    const char *add = "{\"id\":\"ghost\",\"kind\":\"display\"},";
    size_t at = (size_t)(g1 - json) - 1, len = strlen(json);
    char *j2 = malloc(len + strlen(add) + 1);
    memcpy(j2, json, at);
    strcpy(j2 + at, add);
    strcat(j2, json + at);
    cr_assert_eq(aw_registry_parse(j2, strlen(j2), &reg2, NULL), AW_OK);
    /* a rebuild for reg2 that is rolled back leaves the hook counting for reg */
    aw_picture_use_registry(c.pic, reg2);
    cr_assert_eq(aw_store_begin(c.f.store, &txn), AW_OK);
    cr_assert_eq(aw_picture_rebuild(c.pic, txn, c.now), AW_OK);
    aw_txn_abort(&txn);
    aw_picture_use_registry(c.pic, c.reg);
    s_reading(&c, "d2", "m1", 1, FX_T0);
    cr_assert_eq(s_num(&c, NULL, "devices.online"), 2);
    cr_assert_eq(s_num(&c, NULL, "devices.total"), 8);

    aw_picture_use_registry(c.pic, reg2);
    cr_assert_eq(aw_store_begin_read(c.f.store, &txn), AW_OK);
    cr_assert_not(aw_picture_built_for_current(c.pic, txn));
    aw_txn_abort(&txn);
    s_reading(&c, "d3", "m1", 1, FX_T0); /* not counted until the rebuild */
    s_rebuild(&c);
    cr_assert_eq(s_num(&c, NULL, "devices.total"), 9);
    cr_assert_eq(s_num(&c, NULL, "devices.online"), 4);
    cr_assert_eq(s_num(&c, S4, "devices.online"), 1);
    aw_picture_use_registry(c.pic, c.reg);
    aw_registry_destroy(&reg2);
    free(json);
    free(j2);
    s_teardown(&c);
}

Test(picture, survives_a_restart)
{
    ctx c;
    s_setup(&c);
    s_reading(&c, "d1", "m1", 1, FX_T0);
    s_alarm(&c, "a1", K_RAISED, AW_LEVEL_RED, 0, "d1");
    s_haz(&c, "h1", OP_REPORT, S2, 1, 0);
    char *before = s_nodes(&c);
    aw_picture_destroy(&c.pic);
    fx_reopen(&c.f);
    cr_assert_eq(aw_picture_open(c.f.db, &c.pic), AW_OK);
    aw_picture_set_clock(c.pic, s_clock, &c);
    aw_picture_use_registry(c.pic, c.reg);
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin_read(c.f.store, &txn), AW_OK);
    cr_assert(aw_picture_built_for_current(c.pic, txn));
    aw_txn_abort(&txn);
    aw_center_db_set_record_hook(c.f.db, aw_picture_on_record, c.pic);
    char *after = s_nodes(&c);
    cr_assert_str_eq(before, after);
    cr_assert_str_eq(s_colour(&c, S1), "red");
    cr_assert_str_eq(s_colour(&c, S2), "orange");
    s_alarm(&c, "a1", K_CLEARED, 0, AW_LEVEL_RED, "d1");
    cr_assert_str_eq(s_colour(&c, S1), "blue");
    free(before);
    free(after);
    s_teardown(&c);
}
