/* Tests for edge/alarm: thresholds, deadband, debounce, staleness,
 * acknowledgement, GB 51108 escalation, transactions, persistence and
 * registry reload (SPEC §4). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarm.h"
#include "registry.h"

/* 2025-03-01T08:30:00.000Z */
#define T0 INT64_C(1740817800000)

#define HIGH4 "{\"blue\": 10, \"yellow\": 20, \"orange\": 30, \"red\": 40}"
#define SENSOR(id, metric, item, thresholds, extra)                                                \
    "{\"id\": \"" id                                                                               \
    "\", \"kind\": \"sensor\", \"interval_s\": 10, \"metrics\": [{\"name\": \"" metric             \
    "\", \"unit\": \"m\", \"item\": \"" item "\", " thresholds extra "}]}"

/* Site a: t1..t4 and w1 ("tank" and "other" items), p1 (low and high),
 * d1 (debounce 3), r1 (debounce 3, no deadband), n1 (no thresholds).
 * Site b: u1..u2, also item "tank". The %s holes take extra devices. */
static const char s_registry_fmt
    [] = "{\"county\": \"c\", \"version\": %d, \"zones\": [{\"path\": \"c/z\", \"kind\": "
         "\"township\","
         " \"villages\": [{\"path\": \"c/z/v\", \"sites\": ["
         "  {\"path\": \"c/z/v/a\", \"sector\": \"fireworks\", \"risk\": \"blue\", \"devices\": "
         "[" SENSOR("t1", "level", "tank", "\"high\": " HIGH4, ", \"deadband\": 1") "," SENSOR("t2", "level", "tank", "\"high\": " HIGH4, ", \"deadband\": 1") "," SENSOR(
             "t3", "level", "tank", "\"high\": " HIGH4,
             ", \"deadband\": 1") "," SENSOR("t4", "level", "tank", "\"high\": " HIGH4,
                                             ", \"deadband\": 1") "," SENSOR("w1", "level", "other",
                                                                             "\"high\": " HIGH4,
                                                                             ", \"deadband\": 1") "," SENSOR("p1",
                                                                                                             "pressure",
                                                                                                             "pipe",
                                                                                                             "\"low\": {\"blue\": 50, \"yellow\": 40, \"orange\": 30, \"red\": 20},"
                                                                                                             " \"high\": {\"blue\": 80, \"red\": 100}",
                                                                                                             ", \"deadband\": 2") "," SENSOR("d1",
                                                                                                                                             "gas", "gas", "\"high\": {\"blue\": 5}", ", \"deadband\": 0.5, \"debounce\": 3") "," SENSOR("r1", "level", "ramp", "\"high\": " HIGH4, ", \"debounce\": 3") ","
                                                                                                                                                                                                                                                                                                         "   {\"id\": \"n1\", \"kind\": \"sensor\", \"metrics\": [{\"name\": \"temp\", \"unit\": \"Cel\"}]},"
                                                                                                                                                                                                                                                                                                         "   {\"id\": \"s1\", \"kind\": \"siren\", \"uri\": \"coap://10.0.0.1/alert\"}%s]},"
                                                                                                                                                                                                                                                                                                         "  {\"path\": \"c/z/v/b\", \"sector\": \"fireworks\", \"risk\": \"blue\", \"devices\": [" SENSOR("u1", "level", "tank", "\"high\": " HIGH4,
                                                                                                                                                                                                                                                                                                                                                                                                          ", \"deadband\": 1") "," SENSOR("u2",
                                                                                                                                                                                                                                                                                                                                                                                                                                          "level",
                                                                                                                                                                                                                                                                                                                                                                                                                                          "tank",
                                                                                                                                                                                                                                                                                                                                                                                                                                          "\"high\": " HIGH4,
                                                                                                                                                                                                                                                                                                                                                                                                                                          ", \"deadband\": 1") "%s]}]}]}]}";

static aw_registry_t *s_registry(int version, const char *extra_a, const char *extra_b)
{
    char json[16384];
    aw_registry_t *reg = NULL;
    aw_registry_errors errs = {0};

    snprintf(json, sizeof json, s_registry_fmt, version, extra_a, extra_b);
    int rv = aw_registry_parse(json, strlen(json), &reg, &errs);
    cr_assert_eq(rv, AW_OK, "test registry: %s", errs.count ? errs.msgs[0] : aw_strerror(rv));
    return reg;
}

/* ------------------------------------------------------------ recorder */

typedef struct rec_event {
    aw_alarm_event ev;
    char alarm_id[AW_ALARM_ID_MAX], device[80], metric[80], site[80], item[80], by[AW_ALARM_BY_MAX];
} rec_event;

typedef struct recorder {
    rec_event ev[8192];
    size_t n;
} recorder;

static void s_record(void *arg, const aw_alarm_event *ev)
{
    recorder *r = arg;
    rec_event *e = &r->ev[r->n++ % 8192];

    cr_assert(ev->alarm_id && ev->device && ev->metric && ev->site && ev->item && ev->by,
              "strings are never NULL");
    e->ev = *ev;
    snprintf(e->alarm_id, sizeof e->alarm_id, "%s", ev->alarm_id);
    snprintf(e->device, sizeof e->device, "%s", ev->device);
    snprintf(e->metric, sizeof e->metric, "%s", ev->metric);
    snprintf(e->site, sizeof e->site, "%s", ev->site);
    snprintf(e->item, sizeof e->item, "%s", ev->item);
    snprintf(e->by, sizeof e->by, "%s", ev->by);
}

static size_t s_count_kind(const recorder *r, aw_alarm_event_kind kind)
{
    size_t n = 0;

    for (size_t i = 0; i < r->n && i < 8192; i++)
        n += r->ev[i].ev.kind == kind;
    return n;
}

/* Events of alarm kinds only (no item or device events) from index @p from. */
static const rec_event *s_nth_alarm(const recorder *r, size_t nth)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->ev[i].ev.kind <= AW_ALARM_ACKNOWLEDGED && nth-- == 0)
            return &r->ev[i];
    }
    return NULL;
}

static size_t s_count_alarm_events(const recorder *r)
{
    size_t n = 0;

    for (size_t i = 0; i < r->n; i++)
        n += r->ev[i].ev.kind <= AW_ALARM_ACKNOWLEDGED;
    return n;
}

static aw_registry_t *s_reg;
static aw_alarm_t *s_eng;
static recorder s_rec;
static int64_t s_now;

static void s_setup(void)
{
    aw_alarm_opts opts = {.emit = s_record, .arg = &s_rec, .id_prefix = "e1"};

    memset(&s_rec, 0, sizeof s_rec);
    s_reg = s_registry(1, "", "");
    cr_assert_eq(aw_alarm_new(s_reg, &opts, &s_eng), AW_OK);
    s_now = T0;
}

static void s_teardown(void)
{
    aw_alarm_destroy(&s_eng);
    aw_registry_destroy(&s_reg);
}

/* Feeds a value one second after the last. */
static void s_feed(const char *device, const char *metric, double v)
{
    s_now += 1000;
    cr_assert_eq(aw_alarm_feed(s_eng, device, metric, v, s_now, s_now), AW_OK);
}

/* Asserts the next alarm event (counting from *at) and advances *at. */
static const rec_event *s_expect(size_t *at, aw_alarm_event_kind kind, aw_level level,
                                 aw_level prev)
{
    const rec_event *e = s_nth_alarm(&s_rec, *at);

    cr_assert_not_null(e, "event %zu missing", *at);
    cr_assert_eq(e->ev.kind, kind, "event %zu: kind %d, want %d", *at, e->ev.kind, kind);
    cr_assert_eq(e->ev.level, level, "event %zu: level %s, want %s", *at,
                 aw_level_name(e->ev.level), aw_level_name(level));
    cr_assert_eq(e->ev.prev_level, prev, "event %zu: prev %s, want %s", *at,
                 aw_level_name(e->ev.prev_level), aw_level_name(prev));
    (*at)++;
    return e;
}

/* ------------------------------------------------------------ tests */

/* Usage: build from the registry, feed each pack in a transaction that
 * commits with the store's, persist the state when events came out. */
Test(alarm, usage_example)
{
    aw_registry_t *reg = s_registry(1, "", "");
    recorder *rec = calloc(1, sizeof *rec);
    aw_alarm_opts opts = {.emit = s_record, .arg = rec, .id_prefix = "5f2a9c01e4b7d3a8"};
    aw_alarm_t *eng = NULL;
    char *state = NULL;

    cr_assert_eq(aw_alarm_new(reg, &opts, &eng), AW_OK);

    cr_assert_eq(aw_alarm_begin(eng), AW_OK); /* with the LMDB write transaction */
    cr_assert_eq(aw_alarm_feed(eng, "t1", "level", 12.5, T0, T0), AW_OK);
    cr_assert_eq(aw_alarm_commit(eng), AW_OK); /* after mdb_txn_commit succeeded */

    cr_assert_eq(rec->n, 2, "RAISED, then the item's new colour");
    const aw_alarm_event *ev = &rec->ev[0].ev;
    cr_assert_eq(ev->kind, AW_ALARM_RAISED);
    cr_assert_str_eq(rec->ev[0].alarm_id, "t1:level:5f2a9c01e4b7d3a8-1");
    cr_assert_str_eq(rec->ev[0].site, "c/z/v/a");
    cr_assert_str_eq(rec->ev[0].item, "tank");
    cr_assert_eq(ev->level, AW_LEVEL_BLUE);
    cr_assert_eq(ev->direction, AW_DIRECTION_HIGH);
    cr_assert_eq(ev->value, 12.5);
    cr_assert_eq(ev->threshold, 10.0);
    cr_assert_eq(rec->ev[1].ev.kind, AW_ALARM_ITEM_LEVEL);

    /* an operator acknowledges it at the center; the ack comes down */
    cr_assert_eq(aw_alarm_ack(eng, "t1:level:5f2a9c01e4b7d3a8-1", "ops-wang", T0 + 5000), AW_OK);
    cr_assert_eq(rec->ev[2].ev.kind, AW_ALARM_ACKNOWLEDGED);
    cr_assert_str_eq(rec->ev[2].by, "ops-wang");

    cr_assert_eq(aw_alarm_state_export(eng, &state), AW_OK); /* store it */
    free(state);
    aw_alarm_destroy(&eng);
    aw_alarm_destroy(&eng);
    cr_assert_null(eng);
    aw_registry_destroy(&reg);
    free(rec);
}

Test(alarm, each_level_up_and_down, .init = s_setup, .fini = s_teardown)
{
    size_t at = 0;

    s_feed("t1", "level", 5);
    cr_assert_eq(s_rec.n, 0);
    const rec_event *raised =
        s_expect((s_feed("t1", "level", 10), &at), AW_ALARM_RAISED, AW_LEVEL_BLUE, AW_LEVEL_NONE);
    cr_assert_eq(raised->ev.threshold, 10);
    cr_assert_eq(raised->ev.first_value, 10);
    s_feed("t1", "level", 25);
    const rec_event *e = s_expect(&at, AW_ALARM_ESCALATED, AW_LEVEL_YELLOW, AW_LEVEL_BLUE);
    cr_assert_str_eq(e->alarm_id, raised->alarm_id, "one alarm, one id");
    cr_assert_eq(e->ev.first_value, 10);
    cr_assert_eq(e->ev.first_time_ms, raised->ev.time_ms);
    cr_assert_eq(e->ev.threshold, 20);
    s_feed("t1", "level", 31);
    s_expect(&at, AW_ALARM_ESCALATED, AW_LEVEL_ORANGE, AW_LEVEL_YELLOW);
    s_feed("t1", "level", 45);
    s_expect(&at, AW_ALARM_ESCALATED, AW_LEVEL_RED, AW_LEVEL_ORANGE);
    s_feed("t1", "level", 38.5); /* red holds down to 39 */
    e = s_expect(&at, AW_ALARM_DEESCALATED, AW_LEVEL_ORANGE, AW_LEVEL_RED);
    cr_assert_eq(e->ev.threshold, 30, "threshold of the new level");
    s_feed("t1", "level", 18.5);
    s_expect(&at, AW_ALARM_DEESCALATED, AW_LEVEL_BLUE, AW_LEVEL_ORANGE);
    s_feed("t1", "level", 8.5);
    e = s_expect(&at, AW_ALARM_CLEARED, AW_LEVEL_NONE, AW_LEVEL_BLUE);
    cr_assert_str_eq(e->alarm_id, raised->alarm_id);
    cr_assert_eq(e->ev.threshold, 10, "the threshold left");
    cr_assert_eq(e->ev.value, 8.5);
    s_feed("t1", "level", 50); /* straight to red: a new alarm */
    e = s_expect(&at, AW_ALARM_RAISED, AW_LEVEL_RED, AW_LEVEL_NONE);
    cr_assert_str_neq(e->alarm_id, raised->alarm_id);
    cr_assert_str_eq(e->alarm_id, "t1:level:e1-2");
    s_feed("t1", "level", 0);
    s_expect(&at, AW_ALARM_CLEARED, AW_LEVEL_NONE, AW_LEVEL_RED);
    cr_assert_eq(s_count_alarm_events(&s_rec), at);
}

Test(alarm, low_direction, .init = s_setup, .fini = s_teardown)
{
    size_t at = 0;

    s_feed("p1", "pressure", 60);
    s_feed("p1", "pressure", 50);
    const rec_event *e = s_expect(&at, AW_ALARM_RAISED, AW_LEVEL_BLUE, AW_LEVEL_NONE);
    cr_assert_eq(e->ev.direction, AW_DIRECTION_LOW);
    cr_assert_eq(e->ev.threshold, 50);
    s_feed("p1", "pressure", 25);
    s_expect(&at, AW_ALARM_ESCALATED, AW_LEVEL_ORANGE, AW_LEVEL_BLUE);
    s_feed("p1", "pressure", 19);
    s_expect(&at, AW_ALARM_ESCALATED, AW_LEVEL_RED, AW_LEVEL_ORANGE);
    s_feed("p1", "pressure", 21.5); /* red holds up to 22 */
    cr_assert_eq(s_count_alarm_events(&s_rec), at);
    s_feed("p1", "pressure", 23);
    s_expect(&at, AW_ALARM_DEESCALATED, AW_LEVEL_ORANGE, AW_LEVEL_RED);
    s_feed("p1", "pressure", 52); /* blue holds up to 52 */
    s_expect(&at, AW_ALARM_DEESCALATED, AW_LEVEL_BLUE, AW_LEVEL_ORANGE);
    s_feed("p1", "pressure", 52.5);
    e = s_expect(&at, AW_ALARM_CLEARED, AW_LEVEL_NONE, AW_LEVEL_BLUE);
    cr_assert_eq(e->ev.direction, AW_DIRECTION_LOW);
    cr_assert_eq(s_count_alarm_events(&s_rec), at);
}

Test(alarm, direction_switch_is_clear_then_raise, .init = s_setup, .fini = s_teardown)
{
    size_t at = 0;

    s_feed("p1", "pressure", 45);
    const rec_event *low = s_expect(&at, AW_ALARM_RAISED, AW_LEVEL_BLUE, AW_LEVEL_NONE);
    s_feed("p1", "pressure", 100);
    const rec_event *e = s_expect(&at, AW_ALARM_CLEARED, AW_LEVEL_NONE, AW_LEVEL_BLUE);
    cr_assert_eq(e->ev.direction, AW_DIRECTION_LOW);
    cr_assert_str_eq(e->alarm_id, low->alarm_id);
    e = s_expect(&at, AW_ALARM_RAISED, AW_LEVEL_RED, AW_LEVEL_NONE);
    cr_assert_eq(e->ev.direction, AW_DIRECTION_HIGH);
    cr_assert_str_neq(e->alarm_id, low->alarm_id);
    cr_assert_eq(e->ev.threshold, 100);
}

Test(alarm, deadband, .init = s_setup, .fini = s_teardown)
{
    size_t at = 0;

    s_feed("t1", "level", 9.99);
    cr_assert_eq(s_count_alarm_events(&s_rec), 0, "below the threshold");
    s_feed("t1", "level", 10);
    s_expect(&at, AW_ALARM_RAISED, AW_LEVEL_BLUE, AW_LEVEL_NONE);
    s_feed("t1", "level", 9.5);
    s_feed("t1", "level", 9.0); /* threshold - deadband still holds */
    cr_assert_eq(s_count_alarm_events(&s_rec), at);
    s_feed("t1", "level", 8.99);
    s_expect(&at, AW_ALARM_CLEARED, AW_LEVEL_NONE, AW_LEVEL_BLUE);
    s_feed("t1", "level", 9.5); /* rising needs the plain threshold */
    cr_assert_eq(s_count_alarm_events(&s_rec), at);
    s_feed("t1", "level", 19.5); /* blue, not yellow */
    s_expect(&at, AW_ALARM_RAISED, AW_LEVEL_BLUE, AW_LEVEL_NONE);
    s_feed("t1", "level", 20);
    s_expect(&at, AW_ALARM_ESCALATED, AW_LEVEL_YELLOW, AW_LEVEL_BLUE);
    s_feed("t1", "level", 19.2);
    cr_assert_eq(s_count_alarm_events(&s_rec), at);
}

Test(alarm, debounce, .init = s_setup, .fini = s_teardown)
{
    size_t at = 0;

    s_feed("d1", "gas", 6);
    s_feed("d1", "gas", 6);
    cr_assert_eq(s_count_alarm_events(&s_rec), 0, "N-1 samples do nothing");
    s_feed("d1", "gas", 6);
    const rec_event *e = s_expect(&at, AW_ALARM_RAISED, AW_LEVEL_BLUE, AW_LEVEL_NONE);
    cr_assert_eq(e->ev.time_ms, s_now, "on the Nth sample");

    s_feed("d1", "gas", 4);
    s_feed("d1", "gas", 4);
    s_feed("d1", "gas", 6); /* one agreeing sample restarts the count */
    s_feed("d1", "gas", 4);
    s_feed("d1", "gas", 4);
    cr_assert_eq(s_count_alarm_events(&s_rec), at);
    s_feed("d1", "gas", 4);
    s_expect(&at, AW_ALARM_CLEARED, AW_LEVEL_NONE, AW_LEVEL_BLUE);
}

/* A rising ramp is confirmed at the level all N samples agree on. */
Test(alarm, debounce_ramp_and_dither, .init = s_setup, .fini = s_teardown)
{
    size_t at = 0;

    s_feed("r1", "level", 15);
    s_feed("r1", "level", 25);
    s_feed("r1", "level", 35);
    s_expect(&at, AW_ALARM_RAISED, AW_LEVEL_BLUE, AW_LEVEL_NONE);
    s_feed("r1", "level", 35);
    s_feed("r1", "level", 45);
    s_feed("r1", "level", 45);
    s_expect(&at, AW_ALARM_ESCALATED, AW_LEVEL_ORANGE, AW_LEVEL_BLUE);
    s_feed("r1", "level", 45);
    s_feed("r1", "level", 45);
    s_feed("r1", "level", 45);
    s_expect(&at, AW_ALARM_ESCALATED, AW_LEVEL_RED, AW_LEVEL_ORANGE);
    for (int i = 0; i < 3; i++)
        s_feed("r1", "level", 0);
    s_expect(&at, AW_ALARM_CLEARED, AW_LEVEL_NONE, AW_LEVEL_RED);

    /* dithering across orange from none: yellow is what every sample says */
    for (int i = 0; i < 3; i++)
        s_feed("r1", "level", i % 2 ? 29 : 31);
    s_expect(&at, AW_ALARM_RAISED, AW_LEVEL_YELLOW, AW_LEVEL_NONE);
    cr_assert_eq(s_count_alarm_events(&s_rec), at);
}

/* A tiny deterministic generator for noise. */
static double s_noise(uint64_t *state, double amplitude)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return ((double)(*state % 20001) / 10000.0 - 1.0) * amplitude;
}

Test(alarm, noisy_signal_one_pair_per_crossing, .init = s_setup, .fini = s_teardown)
{
    uint64_t rng = 0x9e3779b97f4a7c15u;

    /* t1: blue 10, deadband 1; d1: blue 5, deadband 0.5, debounce 3 */
    for (int crossing = 0; crossing < 3; crossing++) {
        for (int i = 0; i < 3000; i++) {
            s_feed("t1", "level", 10 + s_noise(&rng, 0.9));
            s_feed("d1", "gas", 5 + s_noise(&rng, 0.45));
        }
        for (int i = 0; i < 3000; i++) { /* a real fall, noisy too */
            s_feed("t1", "level", 5 + s_noise(&rng, 0.9));
            s_feed("d1", "gas", 2 + s_noise(&rng, 0.45));
        }
    }
    size_t raised_t1 = 0, cleared_t1 = 0, raised_d1 = 0, cleared_d1 = 0;
    for (size_t i = 0; i < s_rec.n; i++) {
        const rec_event *e = &s_rec.ev[i];
        bool t1 = strcmp(e->device, "t1") == 0;
        raised_t1 += t1 && e->ev.kind == AW_ALARM_RAISED;
        cleared_t1 += t1 && e->ev.kind == AW_ALARM_CLEARED;
        raised_d1 += !t1 && e->ev.kind == AW_ALARM_RAISED;
        cleared_d1 += !t1 && e->ev.kind == AW_ALARM_CLEARED;
    }
    cr_assert_eq(raised_t1, 3);
    cr_assert_eq(cleared_t1, 3);
    cr_assert_eq(raised_d1, 3);
    cr_assert_eq(cleared_d1, 3);
    cr_assert_eq(s_count_kind(&s_rec, AW_ALARM_ESCALATED), 0);
    cr_assert_eq(s_count_kind(&s_rec, AW_ALARM_DEESCALATED), 0);
}

Test(alarm, stale_and_back, .init = s_setup, .fini = s_teardown)
{
    aw_alarm_stats st;

    aw_alarm_tick(s_eng, T0 + 1000); /* start of tracking for devices yet unheard */
    cr_assert_eq(aw_alarm_feed(s_eng, "t1", "level", 1, T0 + 1000, T0 + 1000), AW_OK);
    aw_alarm_tick(s_eng, T0 + 1000 + 30000); /* 3 x 10 s: not yet */
    cr_assert_eq(s_rec.n, 0);
    aw_alarm_tick(s_eng, T0 + 1000 + 30001);
    size_t stale = s_count_kind(&s_rec, AW_ALARM_DEVICE_STALE);
    aw_alarm_get_stats(s_eng, &st);
    cr_assert_eq(st.devices_tracked, 11, "sensors with metrics; the siren is not tracked");
    cr_assert_eq(st.devices_stale, stale);
    cr_assert_eq(stale, 10, "t1 from its reading, the rest from the first tick; n1 has 60 s");
    const rec_event *e = NULL;
    for (size_t i = 0; i < s_rec.n; i++) {
        if (strcmp(s_rec.ev[i].device, "t1") == 0)
            e = &s_rec.ev[i];
        else
            cr_assert_eq(s_rec.ev[i].ev.last_seen_ms, 0, "never reported");
    }
    cr_assert_not_null(e);
    cr_assert_eq(e->ev.last_seen_ms, T0 + 1000);
    cr_assert_eq(e->ev.time_ms, T0 + 31001);
    cr_assert_str_eq(e->site, "c/z/v/a");

    aw_alarm_tick(s_eng, T0 + 99000);
    cr_assert_eq(s_count_kind(&s_rec, AW_ALARM_DEVICE_STALE), stale, "once");

    size_t before = s_rec.n;
    cr_assert_eq(aw_alarm_feed(s_eng, "t1", "level", 15, T0 + 100000, T0 + 100000), AW_OK);
    cr_assert_eq(s_rec.ev[before].ev.kind, AW_ALARM_DEVICE_BACK, "back comes first");
    cr_assert_eq(s_rec.ev[before].ev.last_seen_ms, T0 + 1000);
    cr_assert_eq(s_rec.ev[before + 1].ev.kind, AW_ALARM_RAISED);
    cr_assert_eq(aw_alarm_seen(s_eng, "t2", T0 + 100000), AW_OK, "a reading without value");
    cr_assert_eq(s_count_kind(&s_rec, AW_ALARM_DEVICE_BACK), 2);
    aw_alarm_get_stats(s_eng, &st);
    cr_assert_eq(st.devices_stale, 8);
    cr_assert_eq(st.active[AW_LEVEL_BLUE], 1);
    cr_assert_eq(aw_alarm_seen(s_eng, "nope", T0), AW_ENOTFOUND);
}

static void s_raise_to(const char *device, double v)
{
    s_feed(device, "level", v);
}

/* Returns the last ITEM_LEVEL event, or NULL. */
static const rec_event *s_last_item_event(void)
{
    for (size_t i = s_rec.n; i-- > 0;) {
        if (s_rec.ev[i].ev.kind == AW_ALARM_ITEM_LEVEL)
            return &s_rec.ev[i];
    }
    return NULL;
}

Test(alarm, gb51108_escalation, .init = s_setup, .fini = s_teardown)
{
    /* 3 blue points in site a's "tank", 2 in site b's, 1 in a's "other" */
    s_raise_to("t1", 15);
    s_raise_to("t2", 15);
    s_raise_to("t3", 15);
    s_raise_to("u1", 15);
    s_raise_to("u2", 15);
    s_raise_to("w1", 15);
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "tank"), AW_LEVEL_BLUE);
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/b", "tank"), AW_LEVEL_BLUE, "sites apart");
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "other"), AW_LEVEL_BLUE, "items apart");
    cr_assert_eq(s_count_kind(&s_rec, AW_ALARM_ITEM_LEVEL), 3, "each item turned blue once");

    s_raise_to("t4", 15); /* the 4th blue point */
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "tank"), AW_LEVEL_YELLOW);
    const rec_event *e = s_last_item_event();
    cr_assert_str_eq(e->site, "c/z/v/a");
    cr_assert_str_eq(e->item, "tank");
    cr_assert_eq(e->ev.level, AW_LEVEL_YELLOW);
    cr_assert_eq(e->ev.prev_level, AW_LEVEL_BLUE);
    cr_assert_eq(e->ev.time_ms, s_now);

    s_raise_to("t1", 25);
    s_raise_to("t2", 25);
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "tank"), AW_LEVEL_YELLOW);
    s_raise_to("t3", 25); /* 3 yellow */
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "tank"), AW_LEVEL_ORANGE);
    s_raise_to("t1", 35);
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "tank"), AW_LEVEL_ORANGE);
    s_raise_to("t2", 35); /* 2 orange */
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "tank"), AW_LEVEL_RED);
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/b", "tank"), AW_LEVEL_BLUE);

    /* and back down as points clear */
    s_raise_to("t2", 0);
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "tank"), AW_LEVEL_ORANGE);
    s_raise_to("t1", 0);
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "tank"), AW_LEVEL_YELLOW);
    s_raise_to("t3", 0);
    s_raise_to("t4", 0);
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "tank"), AW_LEVEL_NONE);
    e = s_last_item_event();
    cr_assert_eq(e->ev.level, AW_LEVEL_NONE);
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "nope"), AW_LEVEL_NONE);
}

Test(alarm, acknowledge, .init = s_setup, .fini = s_teardown)
{
    char id[AW_ALARM_ID_MAX];
    char long_by[AW_ALARM_BY_MAX + 1];

    cr_assert_eq(aw_alarm_ack(s_eng, "t1:level:e1-1", "wang", T0), AW_ENOTFOUND);
    s_feed("t1", "level", 15);
    snprintf(id, sizeof id, "%s", s_nth_alarm(&s_rec, 0)->alarm_id);
    memset(long_by, 'x', sizeof long_by - 1);
    long_by[sizeof long_by - 1] = '\0';
    cr_assert_eq(aw_alarm_ack(s_eng, id, long_by, T0), AW_ERANGE);
    cr_assert_eq(aw_alarm_ack(s_eng, id, "", T0), AW_EINVAL);
    cr_assert_eq(aw_alarm_ack(s_eng, id, NULL, T0), AW_EINVAL);

    cr_assert_eq(aw_alarm_ack(s_eng, id, "wang", T0 + 7), AW_OK);
    const rec_event *e = s_nth_alarm(&s_rec, 1);
    cr_assert_eq(e->ev.kind, AW_ALARM_ACKNOWLEDGED);
    cr_assert_str_eq(e->alarm_id, id);
    cr_assert_eq(e->ev.level, AW_LEVEL_BLUE);
    cr_assert_eq(e->ev.time_ms, T0 + 7);
    cr_assert_eq(e->ev.value, 15);
    cr_assert_eq(aw_alarm_ack(s_eng, id, "li", T0 + 8), AW_OK, "repeated: accepted");
    cr_assert_eq(s_count_kind(&s_rec, AW_ALARM_ACKNOWLEDGED), 1, "... and not emitted again");

    s_feed("t1", "level", 25); /* escalation: needs a new ack */
    cr_assert_eq(aw_alarm_ack(s_eng, id, "li", T0 + 9), AW_OK);
    cr_assert_eq(s_count_kind(&s_rec, AW_ALARM_ACKNOWLEDGED), 2);
    s_feed("t1", "level", 0);
    cr_assert_eq(aw_alarm_ack(s_eng, id, "li", T0 + 10), AW_ENOTFOUND, "cleared");
}

Test(alarm, transaction_rollback_restores_everything, .init = s_setup, .fini = s_teardown)
{
    char *before = NULL, *after = NULL;

    s_feed("d1", "gas", 6);
    s_feed("d1", "gas", 6); /* 2 of 3 */
    s_feed("t1", "level", 15);
    aw_alarm_tick(s_eng, s_now);
    cr_assert_eq(aw_alarm_state_export(s_eng, &before), AW_OK);
    size_t n = s_rec.n;

    cr_assert_eq(aw_alarm_begin(s_eng), AW_OK);
    cr_assert_eq(aw_alarm_begin(s_eng), AW_ESTATE);
    cr_assert_eq(aw_alarm_reload(s_eng, s_reg, s_now), AW_ESTATE);
    s_feed("d1", "gas", 6);              /* raises */
    s_feed("t1", "level", 45);           /* escalates */
    s_feed("t2", "level", 15);           /* raises */
    aw_alarm_tick(s_eng, s_now + 60000); /* everything else goes stale */
    cr_assert_gt(s_rec.n, n + 5);
    cr_assert_eq(aw_alarm_rollback(s_eng), AW_OK);
    cr_assert_eq(aw_alarm_rollback(s_eng), AW_ESTATE);

    cr_assert_eq(aw_alarm_state_export(s_eng, &after), AW_OK);
    cr_assert_str_eq(after, before);
    aw_alarm_stats st;
    aw_alarm_get_stats(s_eng, &st);
    cr_assert_eq(st.devices_stale, 0);
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "tank"), AW_LEVEL_BLUE);

    /* the retried pack produces the same events, ids included */
    n = s_rec.n;
    cr_assert_eq(aw_alarm_begin(s_eng), AW_OK);
    s_feed("d1", "gas", 6);
    cr_assert_eq(aw_alarm_commit(s_eng), AW_OK);
    cr_assert_eq(aw_alarm_commit(s_eng), AW_ESTATE);
    cr_assert_eq(s_rec.ev[n].ev.kind, AW_ALARM_RAISED, "the debounce count was restored");
    cr_assert_str_eq(s_rec.ev[n].alarm_id, "d1:gas:e1-2", "the id counter was restored");
    free(before);
    free(after);
}

/* Collects alarm ids seen by aw_alarm_foreach(). */
static void s_collect(void *arg, const aw_alarm_info *info)
{
    char *buf = arg;

    strcat(buf, info->alarm_id);
    strcat(buf, info->acked_by[0] ? "+acked " : " ");
}

Test(alarm, state_export_import, .init = s_setup, .fini = s_teardown)
{
    char *state = NULL, *again = NULL, ids_before[1024] = "", ids_after[1024] = "";
    recorder *rec2 = calloc(1, sizeof *rec2);
    aw_alarm_opts opts = {.emit = s_record, .arg = rec2, .id_prefix = "e1"};
    aw_alarm_t *eng2 = NULL;

    s_feed("t1", "level", 15);
    s_feed("t2", "level", 35);
    s_feed("t3", "level", 15);
    s_feed("t4", "level", 15);
    s_feed("p1", "pressure", 25);
    cr_assert_eq(aw_alarm_ack(s_eng, "t2:level:e1-2", "wang", s_now), AW_OK);
    aw_alarm_tick(s_eng, s_now);
    aw_alarm_tick(s_eng, s_now + 40000); /* all stale but n1 (60 s interval) */
    cr_assert_eq(aw_alarm_state_export(s_eng, &state), AW_OK);
    aw_alarm_foreach(s_eng, s_collect, ids_before);

    /* a restart: new engine, import, nothing emitted */
    cr_assert_eq(aw_alarm_new(s_reg, &opts, &eng2), AW_OK);
    cr_assert_eq(aw_alarm_state_import(eng2, state, strlen(state), s_now), AW_OK);
    cr_assert_eq(rec2->n, 0);
    aw_alarm_foreach(eng2, s_collect, ids_after);
    cr_assert_str_eq(ids_after, ids_before);
    cr_assert_eq(aw_alarm_item_level(eng2, "c/z/v/a", "tank"), AW_LEVEL_ORANGE);
    cr_assert_eq(aw_alarm_state_export(eng2, &again), AW_OK);
    cr_assert_str_eq(again, state);
    aw_alarm_stats st;
    aw_alarm_get_stats(eng2, &st);
    cr_assert_eq(st.devices_stale, 10);
    cr_assert_eq(st.active[AW_LEVEL_BLUE], 3);

    /* ids continue; staleness is not reported twice; clears are reported */
    cr_assert_eq(aw_alarm_feed(eng2, "w1", "level", 15, s_now, s_now), AW_OK);
    cr_assert_str_eq(s_nth_alarm(rec2, 0)->alarm_id, "w1:level:e1-6");
    aw_alarm_tick(eng2, s_now + 100000);
    cr_assert_eq(s_count_kind(rec2, AW_ALARM_DEVICE_STALE), 1, "w1 only, the rest already were");
    cr_assert_eq(aw_alarm_feed(eng2, "t2", "level", 0, s_now, s_now), AW_OK);
    cr_assert_eq(s_nth_alarm(rec2, 1)->ev.kind, AW_ALARM_CLEARED);
    cr_assert_str_eq(s_nth_alarm(rec2, 1)->alarm_id, "t2:level:e1-2");

    free(state);
    free(again);
    aw_alarm_destroy(&eng2);
    free(rec2);
}

Test(alarm, import_refuses_corrupt_state, .init = s_setup, .fini = s_teardown)
{
    static const char *bad[] = {
        "",
        "[]",
        "{\"v\": 2, \"next_seq\": 1, \"alarms\": [], \"stale\": []}",
        "{\"v\": 1, \"next_seq\": 0, \"alarms\": [], \"stale\": []}",
        "{\"v\": 1, \"next_seq\": 1, \"alarms\": {}, \"stale\": []}",
        "{\"v\": 1, \"next_seq\": 1, \"alarms\": [{\"id\": \"x\"}], \"stale\": []}",
        "{\"v\": 1, \"next_seq\": 1, \"alarms\": [], \"stale\": [{\"device\": 3}]}",
        "{\"v\": 1, \"next_seq\": 5, \"alarms\": [{\"id\": \"x\", \"device\": \"t1\", \"metric\":"
        " \"level\", \"direction\": \"up\", \"level\": \"red\", \"first_value\": 1,"
        " \"first_time_ms\": 1, \"last_value\": 1, \"last_time_ms\": 1, \"acked_by\": \"\","
        " \"acked_ms\": 0}], \"stale\": []}",
    };
    char *before = NULL, *after = NULL;

    s_feed("t1", "level", 15);
    cr_assert_eq(aw_alarm_state_export(s_eng, &before), AW_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(aw_alarm_state_import(s_eng, bad[i], strlen(bad[i]), s_now), AW_ECORRUPT,
                     "case %zu", i);
    cr_assert_eq(aw_alarm_state_export(s_eng, &after), AW_OK);
    cr_assert_str_eq(after, before, "nothing changed");
    cr_assert_eq(aw_alarm_state_import(s_eng, NULL, 0, s_now), AW_ECORRUPT);
    free(before);
    free(after);
}

Test(alarm, registry_reload_keeps_what_still_exists, .init = s_setup, .fini = s_teardown)
{
    /* version 2: t2 and site b's u2 are gone, a new sensor x1 joins "tank" */
    static const char extra[] =
        "," SENSOR("x1", "level", "tank", "\"high\": " HIGH4, ", \"deadband\": 1");
    char json[16384];
    aw_registry_t *v2 = NULL;

    s_feed("t1", "level", 25);
    s_feed("t2", "level", 15);
    s_feed("t3", "level", 15);
    s_feed("t4", "level", 15);
    s_feed("u2", "level", 15);
    s_feed("d1", "gas", 6);
    s_feed("d1", "gas", 6); /* 2 of 3: pending counts are not carried */
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "tank"), AW_LEVEL_YELLOW);
    const char *t1_id = s_nth_alarm(&s_rec, 0)->alarm_id;

    snprintf(json, sizeof json, s_registry_fmt, 2, extra, "");
    char *p = strstr(json, "{\"id\": \"t2\"");
    char *q = strstr(p, "]}") + 2;
    memmove(p, q + 1, strlen(q + 1) + 1); /* drop t2 and its comma */
    p = strstr(json, ",{\"id\": \"u2\"");
    q = strstr(p, "]}") + 2;
    memmove(p, q, strlen(q) + 1);
    aw_registry_errors errs = {0};
    cr_assert_eq(aw_registry_parse(json, strlen(json), &v2, &errs), AW_OK, "%s",
                 errs.count ? errs.msgs[0] : "");
    cr_assert_null(aw_registry_device_find(v2, "t2"));
    cr_assert_null(aw_registry_device_find(v2, "u2"));

    size_t n = s_rec.n;
    cr_assert_eq(aw_alarm_reload(s_eng, v2, s_now), AW_OK);
    aw_registry_destroy(&s_reg); /* the old registry may go now */
    s_reg = v2;

    /* t2's and u2's alarms cleared; site a's tank stays yellow (t1 is
     * yellow itself), site b's goes from blue to none */
    cr_assert_eq(s_rec.ev[n].ev.kind, AW_ALARM_CLEARED);
    cr_assert_str_eq(s_rec.ev[n].device, "t2");
    cr_assert_eq(s_rec.ev[n + 1].ev.kind, AW_ALARM_CLEARED);
    cr_assert_str_eq(s_rec.ev[n + 1].device, "u2");
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "tank"), AW_LEVEL_YELLOW,
                 "t1 itself is yellow");
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/b", "tank"), AW_LEVEL_NONE);
    cr_assert_eq(s_count_kind(&s_rec, AW_ALARM_ITEM_LEVEL), 3, "a: yellow; b: blue, none");
    const rec_event *last = &s_rec.ev[s_rec.n - 1];
    cr_assert_eq(last->ev.kind, AW_ALARM_ITEM_LEVEL);
    cr_assert_str_eq(last->site, "c/z/v/b");
    cr_assert_eq(last->ev.level, AW_LEVEL_NONE);

    /* t1's alarm lives on with its id; x1 counts toward the same item */
    s_feed("t1", "level", 0);
    cr_assert_str_eq(s_rec.ev[s_rec.n - 2].alarm_id, t1_id);
    s_feed("x1", "level", 15);
    s_feed("t1", "level", 15);
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "tank"), AW_LEVEL_YELLOW, "t1 t3 t4 x1");

    s_feed("d1", "gas", 6);
    cr_assert_eq(aw_alarm_item_level(s_eng, "c/z/v/a", "gas"), AW_LEVEL_NONE, "count restarted");
}

Test(alarm, bad_input_changes_nothing, .init = s_setup, .fini = s_teardown)
{
    aw_alarm_t *eng = NULL;
    aw_alarm_opts opts = {.id_prefix = "Bad Prefix"};

    cr_assert_eq(aw_alarm_feed(s_eng, "nope", "level", 1, T0, T0), AW_ENOTFOUND);
    cr_assert_eq(aw_alarm_feed(s_eng, "t1", "nope", 1, T0, T0), AW_ENOTFOUND);
    cr_assert_eq(aw_alarm_feed(s_eng, "t1", "level", NAN, T0, T0), AW_ENOTFINITE);
    cr_assert_eq(aw_alarm_feed(s_eng, "t1", "level", INFINITY, T0, T0), AW_ENOTFINITE);
    cr_assert_eq(s_rec.n, 0);
    cr_assert_eq(aw_alarm_feed(s_eng, "n1", "temp", 1e9, T0, T0), AW_OK, "no thresholds");
    cr_assert_eq(s_rec.n, 0);
    cr_assert_eq(aw_alarm_new(s_reg, &opts, &eng), AW_EINVAL);
    cr_assert_null(eng);
    opts.id_prefix = "0123456789abcdef0123456789abcdef0"; /* 33 bytes */
    cr_assert_eq(aw_alarm_new(s_reg, &opts, &eng), AW_EINVAL);
    cr_assert_eq(aw_alarm_commit(s_eng), AW_ESTATE);

    /* no emit callback, no prefix: ids are "<device>:<metric>:<seq>" */
    cr_assert_eq(aw_alarm_new(s_reg, NULL, &eng), AW_OK);
    cr_assert_eq(aw_alarm_feed(eng, "t1", "level", 50, T0, T0), AW_OK);
    char ids[256] = "";
    aw_alarm_foreach(eng, s_collect, ids);
    cr_assert_str_eq(ids, "t1:level:1 ");
    aw_alarm_destroy(&eng);
}
