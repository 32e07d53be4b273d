/* Tests for ledger/hazard_json: hazard reports and lifecycle events from JSON,
 * events and states to JSON, RFC 3339 times (SPEC §6, §8).
 *
 * The first test is the usage example: a field terminal's report becomes an
 * event, the ledger folds it with an assignment, and the state goes back out
 * as the JSON of GET /hazards/<id>. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "hazard_json.h"
#include "hlc.h"
#include "ledger.h"
#include "registry.h"

/* 2025-03-01T08:30:00.000Z: the wall clock of every test */
#define NOW_MS  INT64_C(1740817800000)
#define ORIGIN  "rongjiawan"
#define SITE    "yueyang/rongjiawan/xinqiang/huaxin-chem"
#define WHY_LEN 256

static const char s_report_json[] =
    "{\"site\": \"" SITE "\", \"sector\": \"hazardous-chemicals\", \"level\": \"major\","
    " \"title\": \"储罐区围堰破损\", \"description\": \"3号储罐围堰东侧开裂约2米\","
    " \"source\": \"inspection\", \"reporter\": \"李工\"}";

/* ---------------------------------------------------------------- helpers */

static aw_hazard_ctx ctx_at(uint64_t hlc)
{
    return (aw_hazard_ctx){.origin = ORIGIN, .hlc = hlc, .now_ms = NOW_MS};
}

static uint64_t stamp(uint16_t n)
{
    return aw_hlc_make((uint64_t)NOW_MS, n);
}

/* Checks the contract of an answer: an event and "" on success; no event and
 * a one-line printable reason on failure. */
static void check_answer(int rv, const Anwang__HazardEvent *ev, const char *why)
{
    if (rv == AW_OK) {
        cr_assert_not_null(ev);
        cr_assert_str_empty(why);
        return;
    }
    cr_assert_null(ev, "nothing comes back from a refusal");
    cr_assert_str_not_empty(why, "a refusal has a reason (rv %d)", rv);
    for (const char *c = why; *c; c++)
        cr_assert(*c >= 0x20 && *c < 0x7f, "reason is printable ASCII: %s", why);
}

static int report_ctx(const char *json, const aw_hazard_ctx *ctx, Anwang__HazardEvent **ev,
                      char *why)
{
    int rv = aw_hazard_report_from_json(json, strlen(json), ctx, ev, why, WHY_LEN);

    check_answer(rv, *ev, why);
    return rv;
}

static int report(const char *json, Anwang__HazardEvent **ev, char *why)
{
    aw_hazard_ctx c = ctx_at(stamp(1));

    return report_ctx(json, &c, ev, why);
}

static int event_ctx(const char *json, const char *id, const aw_hazard_ctx *ctx,
                     Anwang__HazardEvent **ev, char *why)
{
    int rv = aw_hazard_event_from_json(json, strlen(json), id, ctx, ev, why, WHY_LEN);

    check_answer(rv, *ev, why);
    return rv;
}

static int event(const char *json, Anwang__HazardEvent **ev, char *why)
{
    aw_hazard_ctx c = ctx_at(stamp(2));

    return event_ctx(json, ORIGIN "-0000000000000001", &c, ev, why);
}

/* Asserts that the report @p json is refused with @p rv and a reason
 * containing @p part. */
static void report_refused(const char *json, int rv, const char *part)
{
    Anwang__HazardEvent *ev = NULL;
    char why[WHY_LEN];
    int got = report(json, &ev, why);

    cr_expect_eq(got, rv, "%s: rv %d, want %d (%s)", json, got, rv, why);
    cr_expect(strstr(why, part) != NULL, "%s: reason '%s' lacks '%s'", json, why, part);
    aw_hazard_event_destroy(&ev);
}

static void event_refused(const char *json, int rv, const char *part)
{
    Anwang__HazardEvent *ev = NULL;
    char why[WHY_LEN];
    int got = event(json, &ev, why);

    cr_expect_eq(got, rv, "%s: rv %d, want %d (%s)", json, got, rv, why);
    cr_expect(strstr(why, part) != NULL, "%s: reason '%s' lacks '%s'", json, why, part);
    aw_hazard_event_destroy(&ev);
}

static void report_ok(const char *json)
{
    Anwang__HazardEvent *ev = NULL;
    char why[WHY_LEN];

    cr_expect_eq(report(json, &ev, why), AW_OK, "%s: %s", json, why);
    aw_hazard_event_destroy(&ev);
}

static void event_ok(const char *json)
{
    Anwang__HazardEvent *ev = NULL;
    char why[WHY_LEN];

    cr_expect_eq(event(json, &ev, why), AW_OK, "%s: %s", json, why);
    aw_hazard_event_destroy(&ev);
}

/* @p base with @p key set to @p value (stolen), or deleted when value is
 * NULL; the caller frees the result. */
static char *with(const char *base, const char *key, json_t *value)
{
    json_t *o = json_loads(base, 0, NULL);
    char *s;

    cr_assert_not_null(o);
    if (value != NULL)
        json_object_set_new(o, key, value);
    else
        json_object_del(o, key);
    s = json_dumps(o, 0);
    json_decref(o);
    cr_assert_not_null(s);
    return s;
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    cr_assert_not_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* The state of @p n events, as JSON at @p now_ms. */
static json_t *state_json(const Anwang__HazardEvent *const *evs, size_t n, int64_t now_ms)
{
    aw_hazard_state *st = NULL;
    json_t *j = NULL;

    cr_assert_eq(aw_ledger_fold(evs, n, &st), AW_OK);
    cr_assert_eq(aw_hazard_state_to_json(st, now_ms, &j), AW_OK);
    aw_hazard_state_destroy(&st);
    return j;
}

static const char *jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    cr_assert(json_is_string(v), "'%s' is a string", key);
    return json_string_value(v);
}

/* ---------------------------------------------------------------- usage */

Test(usage, report_assign_fold_and_show)
{
    Anwang__HazardEvent *rep = NULL, *asg = NULL;
    char why[WHY_LEN], id[AW_HAZARD_ID_LEN];
    aw_hlc clock;
    aw_hazard_ctx ctx = {.origin = ORIGIN, .now_ms = NOW_MS};

    /* A field terminal POSTs a report to /hazards; the edge stamps it. */
    aw_hlc_init(&clock, 0);
    ctx.hlc = aw_hlc_now(&clock, NOW_MS);
    cr_assert_eq(aw_hazard_report_from_json(s_report_json, strlen(s_report_json), &ctx, &rep, why,
                                            sizeof why),
                 AW_OK, "%s", why);
    snprintf(id, sizeof id, "%s", rep->hazard_id); /* Location-Path hazards/<id> */

    /* The township office assigns it (交办) via /hazards/<id>/events. */
    static const char assign[] =
        "{\"op\": \"assign\", \"by\": \"张站长\", \"unit\": \"华鑫化工设备部\","
        " \"person\": \"王主任\", \"deadline\": \"2025-03-08T18:00:00+08:00\"}";
    ctx.hlc = aw_hlc_now(&clock, NOW_MS + 60000);
    ctx.now_ms = NOW_MS + 60000;
    cr_assert_eq(aw_hazard_event_from_json(assign, strlen(assign), id, &ctx, &asg, why, sizeof why),
                 AW_OK, "%s", why);

    /* GET /hazards/<id>: fold the ledger, write the state. */
    const Anwang__HazardEvent *ledger[] = {asg, rep}; /* a set: any order */
    aw_hazard_state *st = NULL;
    json_t *j = NULL;
    cr_assert_eq(aw_ledger_fold(ledger, 2, &st), AW_OK);
    cr_assert_eq(aw_hazard_state_to_json(st, NOW_MS + 120000, &j), AW_OK);

    cr_expect_str_eq(jstr(j, "id"), id);
    cr_expect_str_eq(jstr(j, "status"), "assigned");
    cr_expect_str_eq(jstr(j, "level"), "major");
    cr_expect_str_eq(jstr(j, "reported_at"), "2025-03-01T08:30:00.000Z");
    cr_expect_str_eq(jstr(json_object_get(j, "assignment"), "deadline"),
                     "2025-03-08T10:00:00.000Z");
    cr_expect(json_is_false(json_object_get(j, "overdue")));
    cr_expect(json_is_false(json_object_get(j, "dual_reported")));
    json_t *entries = json_object_get(j, "ledger");
    cr_assert_eq(json_array_size(entries), 2);
    cr_expect_str_eq(jstr(json_array_get(entries, 0), "op"), "report");
    cr_expect_str_eq(jstr(json_array_get(entries, 1), "op"), "assign");
    cr_expect(json_is_true(json_object_get(json_array_get(entries, 1), "accepted")));

    json_decref(j);
    aw_hazard_state_destroy(&st);
    aw_hazard_event_destroy(&asg);
    aw_hazard_event_destroy(&rep);
    cr_expect_null(rep);
}

/* ---------------------------------------------------------------- reports */

Test(report, carries_every_field_and_the_context)
{
    Anwang__HazardEvent *ev = NULL;
    char why[WHY_LEN];
    aw_hazard_ctx c = ctx_at(stamp(7));

    cr_assert_eq(report_ctx(s_report_json, &c, &ev, why), AW_OK, "%s", why);
    cr_expect_eq(ev->op, ANWANG__HAZARD_OP__HAZARD_REPORT);
    cr_expect_eq(ev->hlc, stamp(7));
    cr_expect_str_eq(ev->origin, ORIGIN);
    cr_expect(ev->has_time_ms && ev->time_ms == NOW_MS);
    cr_expect_str_eq(ev->site, SITE);
    cr_expect_str_eq(ev->sector, "hazardous-chemicals");
    cr_expect(ev->has_level && ev->level == ANWANG__HAZARD_LEVEL__HAZARD_MAJOR);
    cr_expect_str_eq(ev->title, "储罐区围堰破损");
    cr_expect_str_eq(ev->description, "3号储罐围堰东侧开裂约2米");
    cr_expect(ev->has_source && ev->source == ANWANG__HAZARD_SOURCE__SOURCE_INSPECTION);
    cr_expect_str_eq(ev->reporter, "李工");
    cr_expect_null(ev->by);
    cr_expect_null(ev->unit);
    cr_expect(!ev->has_deadline_ms && !ev->has_ok);
    aw_hazard_event_destroy(&ev);
    aw_hazard_event_destroy(&ev); /* safe twice */
    aw_hazard_event_destroy(NULL);
}

Test(report, anonymous_public_report_and_optional_fields)
{
    Anwang__HazardEvent *ev = NULL;
    char why[WHY_LEN];
    const char *json = "{\"site\": \"" SITE "\", \"sector\": \"fireworks\", \"level\": \"general\","
                       " \"title\": \"夜间违规生产\", \"source\": \"public-report\","
                       " \"description\": \"\", \"reporter\": null, \"op\": \"report\"}";

    cr_assert_eq(report(json, &ev, why), AW_OK, "%s", why);
    cr_expect_null(ev->reporter, "anonymous 举报");
    cr_expect_null(ev->description, "an optional \"\" reads as absent");
    aw_hazard_event_destroy(&ev);

    char *s = with(s_report_json, "reporter", NULL);
    report_refused(s, AW_EINVAL, "missing field 'reporter'");
    free(s);
    s = with(s_report_json, "source", json_string("self-inspection"));
    char *t = with(s, "reporter", NULL);
    report_refused(t, AW_EINVAL, "only a public-report may be anonymous");
    free(s);
    free(t);
}

Test(report, each_required_field_missing_null_or_empty)
{
    static const char *const required[] = {"site", "sector", "level", "title", "source"};
    char part[64];

    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        char *s = with(s_report_json, required[i], NULL);
        snprintf(part, sizeof part, "missing field '%s'", required[i]);
        report_refused(s, AW_EINVAL, part);
        free(s);
        s = with(s_report_json, required[i], json_null());
        report_refused(s, AW_EINVAL, part);
        free(s);
        s = with(s_report_json, required[i], json_string(""));
        snprintf(part, sizeof part, "'%s' must not be empty", required[i]);
        report_refused(s, AW_EINVAL, part);
        free(s);
    }
}

Test(report, every_field_of_the_wrong_type)
{
    static const char *const fields[] = {"site",        "sector", "level",    "title",
                                         "description", "source", "reporter", "by"};
    char part[64];

    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *bad[] = {json_integer(42), json_true(), json_array(), json_object(),
                         json_real(1.5)};
        snprintf(part, sizeof part, "'%s' must be a string", fields[i]);
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            char *s = with(s_report_json, fields[i], bad[k]);
            report_refused(s, AW_EINVAL, part);
            free(s);
        }
    }
    report_refused("{\"op\": 0}", AW_EINVAL, "'op' of a report must be \"report\"");
}

Test(report, bad_enum_names)
{
    static const struct {
        const char *key, *value, *part;
    } cases[] = {
        {"level", "critical", "'level' must be general or major, not 'critical'"},
        {"level", "Major", "'level' must be general or major"},
        {"source", "hotline", "'source' must be self-inspection, public-report or inspection"},
        {"source", "public_report", "'source' must be"},
        {"sector", "coal-mine", "unknown sector 'coal-mine'"},
        {"sector", "Fireworks", "unknown sector"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = with(s_report_json, cases[i].key, json_string(cases[i].value));
        report_refused(s, AW_EINVAL, cases[i].part);
        free(s);
    }
    static const char *const sectors[] = {
        "non-coal-mine",         "hazardous-chemicals", "fireworks",
        "industry-trade",        "dust-explosion",      "confined-space",
        "ammonia-refrigeration", "tailings-dam"};
    for (size_t i = 0; i < sizeof sectors / sizeof sectors[0]; i++) {
        char *s = with(s_report_json, "sector", json_string(sectors[i]));
        report_ok(s);
        free(s);
    }
}

/* @p key holding @p n bytes of @p c: accepted at the limit, refused above. */
static void check_limit(const char *key, size_t max)
{
    char *v = repeat('x', max), *s = with(s_report_json, key, json_string(v));
    char part[64];

    report_ok(s);
    free(s);
    free(v);
    v = repeat('x', max + 1);
    s = with(s_report_json, key, json_string(v));
    snprintf(part, sizeof part, "'%s' is %zu bytes, at most %zu", key, max + 1, max);
    report_refused(s, AW_ERANGE, part);
    free(s);
    free(v);
}

Test(report, oversize_strings)
{
    check_limit("title", AW_HAZARD_NAME_MAX);
    check_limit("reporter", AW_HAZARD_NAME_MAX);
    check_limit("by", AW_HAZARD_NAME_MAX);
    check_limit("description", AW_HAZARD_TEXT_MAX);

    /* bytes, not characters: 67 × "安" is 201 bytes */
    char title[67 * 3 + 1] = "";
    for (int i = 0; i < 67; i++)
        memcpy(title + 3 * i, "安", 4); /* 3 bytes and the NUL */
    char *s = with(s_report_json, "title", json_string(title));
    report_refused(s, AW_ERANGE, "'title' is 201 bytes, at most 200");
    free(s);
}

Test(report, control_characters)
{
    char *s = with(s_report_json, "title", json_string("围堰\n破损"));
    report_refused(s, AW_EINVAL, "'title': control character 0x0a at byte 6");
    free(s);
    s = with(s_report_json, "description", json_string("东侧开裂\n\t长约2米\r\n"));
    report_ok(s);
    free(s);
    s = with(s_report_json, "description",
             json_string("a\x01"
                         "b"));
    report_refused(s, AW_EINVAL, "'description': control character 0x01");
    free(s);
    s = with(s_report_json, "reporter", json_string("a\x7f"));
    report_refused(s, AW_EINVAL, "'reporter': control character 0x7f");
    free(s);
}

Test(report, site_path_syntax)
{
    static const char *const bad[] = {
        "Yueyang/rongjiawan/xinqiang/huaxin-chem",  "yueyang/rongjiawan/xinqiang",
        "yueyang/rongjiawan/xinqiang/huaxin/extra", "yueyang/rongjiawan/xinqiang/huaxin-chem/",
        "/yueyang/rongjiawan/xinqiang/huaxin-chem", "yueyang//xinqiang/huaxin-chem",
        "yueyang/rongjiawan/xinqiang/huaxin chem",  "yueyang/rongjiawan/xinqiang/huaxin_chem",
        "yueyang/荣家湾/xinqiang/huaxin-chem",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *s = with(s_report_json, "site", json_string(bad[i]));
        report_refused(s, AW_EINVAL, "'site' must be a site path");
        free(s);
    }
    char *seg = repeat('a', 251), path[300];
    snprintf(path, sizeof path, "c/z/v/%s", seg);
    char *s = with(s_report_json, "site", json_string(path));
    report_refused(s, AW_ERANGE, "'site' is 257 bytes");
    free(s);
    path[strlen(path) - 1] = '\0';
    s = with(s_report_json, "site", json_string(path));
    report_ok(s);
    free(s);
    free(seg);
}

Test(report, unknown_and_server_set_fields)
{
    char *s = with(s_report_json, "titel", json_string("x"));
    report_refused(s, AW_EINVAL, "unknown field 'titel'");
    free(s);
    s = with(s_report_json, "标题", json_string("x"));
    report_refused(s, AW_EINVAL, "unknown field '\\xe6\\xa0\\x87");
    free(s);
    static const char *const server[] = {"id", "hazard_id", "hlc", "origin", "at"};
    for (size_t i = 0; i < sizeof server / sizeof server[0]; i++) {
        s = with(s_report_json, server[i], json_string("x"));
        report_refused(s, AW_EINVAL, "is set by the server");
        free(s);
    }
    s = with(s_report_json, "unit", json_string("x"));
    report_refused(s, AW_EINVAL, "'unit' does not belong to op report");
    free(s);
    s = with(s_report_json, "op", json_string("assign"));
    report_refused(s, AW_EINVAL, "'op' of a report must be \"report\", not 'assign'");
    free(s);
}

Test(report, not_a_json_object)
{
    report_refused("", AW_EDECODE, "not JSON");
    report_refused("{", AW_EDECODE, "not JSON");
    report_refused("{} x", AW_EDECODE, "not JSON");
    report_refused("\"report\"", AW_EDECODE, "not JSON");
    report_refused("[]", AW_EINVAL, "not a JSON object");
    report_refused("{\"title\": \"a\", \"title\": \"b\"}", AW_EDECODE, "duplicate");
    report_refused("{\"title\": \"a\\u0000b\"}", AW_EDECODE, "not JSON");
    report_refused("{\"title\": \"\xff\xfe\"}", AW_EUTF8, "not JSON");
    report_refused("{\"title\": \"\xed\xa0\x80\"}", AW_EUTF8, "not JSON"); /* a surrogate */
    report_refused("{\"title\": \"\\ud800\"}", AW_EDECODE, "not JSON");

    Anwang__HazardEvent *ev = NULL;
    char why[WHY_LEN];
    aw_hazard_ctx c = ctx_at(stamp(1));
    cr_expect_eq(aw_hazard_report_from_json(NULL, 3, &c, &ev, why, sizeof why), AW_EINVAL);
    cr_expect_null(ev);
    cr_expect_eq(aw_hazard_report_from_json(NULL, 0, &c, &ev, why, sizeof why), AW_EDECODE);
    char *big = repeat(' ', AW_HAZARD_JSON_MAX + 1);
    big[0] = '{';
    big[AW_HAZARD_JSON_MAX] = '}';
    cr_expect_eq(aw_hazard_report_from_json(big, strlen(big), &c, &ev, why, sizeof why),
                 AW_ETOOBIG);
    cr_expect_null(ev);
    free(big);
}

Test(report, bad_context)
{
    Anwang__HazardEvent *ev = NULL;
    char why[WHY_LEN], *longer = repeat('e', AW_HAZARD_ORIGIN_MAX + 1);
    const size_t n = strlen(s_report_json);
    aw_hazard_ctx c = ctx_at(stamp(1));

    cr_expect_eq(aw_hazard_report_from_json(s_report_json, n, NULL, &ev, why, sizeof why),
                 AW_EINVAL);
    cr_expect_eq(aw_hazard_report_from_json(s_report_json, n, &c, NULL, why, sizeof why),
                 AW_EINVAL);
    static const char *const origins[] = {"", "edge/1", "edge 1", "edge,1", "边缘", NULL};
    for (size_t i = 0; i < sizeof origins / sizeof origins[0]; i++) {
        c.origin = origins[i];
        cr_expect_eq(report_ctx(s_report_json, &c, &ev, why), AW_EINVAL, "origin %zu", i);
    }
    c.origin = longer;
    cr_expect_eq(report_ctx(s_report_json, &c, &ev, why), AW_EINVAL);
    longer[AW_HAZARD_ORIGIN_MAX] = '\0';
    cr_expect_eq(report_ctx(s_report_json, &c, &ev, why), AW_OK, "%s", why);
    cr_expect_eq(strlen(ev->hazard_id), 128, "the longest origin makes a 128-byte id");
    aw_hazard_event_destroy(&ev);
    c = ctx_at(0);
    cr_expect_eq(report_ctx(s_report_json, &c, &ev, why), AW_EINVAL);
    c = ctx_at(stamp(1));
    c.now_ms = -1;
    cr_expect_eq(report_ctx(s_report_json, &c, &ev, why), AW_EINVAL);
    c = ctx_at(stamp(1));
    c.by = "two\nlines";
    cr_expect_eq(report_ctx(s_report_json, &c, &ev, why), AW_EINVAL);
    cr_expect(strstr(why, "context: by") != NULL, "%s", why);
    /* no reason buffer at all is fine */
    c.by = NULL;
    cr_expect_eq(aw_hazard_report_from_json("[", 1, &c, &ev, NULL, 0), AW_EDECODE);
    cr_expect_eq(aw_hazard_report_from_json("[]", 2, &c, &ev, why, 1), AW_EINVAL);
    cr_expect_str_empty(why, "a one-byte reason buffer holds just the NUL");
    free(longer);
}

Test(report, authenticated_actor)
{
    Anwang__HazardEvent *ev = NULL;
    char why[WHY_LEN];
    aw_hazard_ctx c = ctx_at(stamp(1));

    c.by = "huaxin-terminal-2";
    cr_assert_eq(report_ctx(s_report_json, &c, &ev, why), AW_OK, "%s", why);
    cr_expect_str_eq(ev->by, "huaxin-terminal-2");
    aw_hazard_event_destroy(&ev);

    char *s = with(s_report_json, "by", json_string("huaxin-terminal-2"));
    cr_expect_eq(report_ctx(s, &c, &ev, why), AW_OK, "%s", why);
    aw_hazard_event_destroy(&ev);
    free(s);
    s = with(s_report_json, "by", json_string("someone-else"));
    cr_expect_eq(report_ctx(s, &c, &ev, why), AW_EPERM);
    cr_expect_str_eq(why, "'by' is 'someone-else' but the sender is 'huaxin-terminal-2'");
    c.by = NULL;
    cr_expect_eq(report_ctx(s, &c, &ev, why), AW_OK, "%s", why);
    cr_expect_str_eq(ev->by, "someone-else");
    aw_hazard_event_destroy(&ev);
    free(s);
}

/* ---------------------------------------------------------------- site check */

typedef struct site_probe {
    int calls;
    char site[300], sector[64];
    int rv;
    const char *why;
} site_probe;

static int probe_site(void *arg, const char *site, const char *sector, char *why, size_t why_len)
{
    site_probe *p = arg;

    p->calls++;
    snprintf(p->site, sizeof p->site, "%s", site);
    snprintf(p->sector, sizeof p->sector, "%s", sector);
    if (p->why != NULL)
        snprintf(why, why_len, "%s", p->why);
    return p->rv;
}

Test(site, refusal_is_passed_through)
{
    site_probe probe = {.rv = AW_EPERM, .why = "site belongs to zone yueyang/xinqiang\nnot here"};
    aw_hazard_ctx c = ctx_at(stamp(1));
    Anwang__HazardEvent *ev = NULL;
    char why[WHY_LEN];

    c.site_ok = probe_site;
    c.site_arg = &probe;
    cr_expect_eq(report_ctx(s_report_json, &c, &ev, why), AW_EPERM);
    cr_expect_str_eq(why, "site belongs to zone yueyang/xinqiang\\x0anot here");
    cr_expect_eq(probe.calls, 1);
    cr_expect_str_eq(probe.site, SITE);
    cr_expect_str_eq(probe.sector, "hazardous-chemicals");

    probe.why = NULL;
    probe.rv = AW_ENOTFOUND;
    cr_expect_eq(report_ctx(s_report_json, &c, &ev, why), AW_ENOTFOUND);
    cr_expect_str_eq(why, "site '" SITE "' refused");

    probe.rv = AW_OK;
    cr_expect_eq(report_ctx(s_report_json, &c, &ev, why), AW_OK, "%s", why);
    aw_hazard_event_destroy(&ev);

    /* not asked when the report is already refused */
    probe.calls = 0;
    char *s = with(s_report_json, "title", NULL);
    report_ctx(s, &c, &ev, why);
    cr_expect_eq(probe.calls, 0);
    free(s);
}

Test(site, registry_check)
{
    static const char reg_json[] =
        "{\"county\": \"yueyang\", \"version\": 1, \"zone\": \"yueyang/rongjiawan\","
        " \"zones\": [{\"path\": \"yueyang/rongjiawan\", \"kind\": \"township\","
        " \"villages\": [{\"path\": \"yueyang/rongjiawan/xinqiang\", \"sites\": ["
        " {\"path\": \"" SITE "\", \"sector\": \"hazardous-chemicals\", \"risk\": \"orange\","
        " \"devices\": []}]}]}]}";
    aw_registry_t *reg = NULL;
    aw_registry_errors errs = {0};
    aw_hazard_ctx c = ctx_at(stamp(1));
    Anwang__HazardEvent *ev = NULL;
    char why[WHY_LEN];

    cr_assert_eq(aw_registry_parse(reg_json, strlen(reg_json), &reg, &errs), AW_OK, "%s",
                 errs.count ? errs.msgs[0] : "?");
    c.site_ok = aw_hazard_site_in_registry;
    c.site_arg = reg;
    cr_expect_eq(report_ctx(s_report_json, &c, &ev, why), AW_OK, "%s", why);
    aw_hazard_event_destroy(&ev);

    char *s = with(s_report_json, "site", json_string("yueyang/xinqiang/xiaowan/a-mine"));
    cr_expect_eq(report_ctx(s, &c, &ev, why), AW_ENOTFOUND);
    cr_expect_str_eq(why, "site 'yueyang/xinqiang/xiaowan/a-mine' is not a site of zone "
                          "yueyang/rongjiawan");
    free(s);
    aw_registry_destroy(&reg);
}

/* ---------------------------------------------------------------- ids */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(id, unique_and_increasing_with_the_clock)
{
    enum { N = 500 };
    static char *ids[N];
    aw_hlc clock;
    aw_hazard_ctx c = ctx_at(0);
    char why[WHY_LEN], want[AW_HAZARD_ID_LEN];

    aw_hlc_init(&clock, 0);
    for (int i = 0; i < N; i++) {
        Anwang__HazardEvent *ev = NULL;
        c.now_ms = NOW_MS + i / 7; /* several reports per millisecond */
        c.hlc = aw_hlc_now(&clock, c.now_ms);
        cr_assert_eq(report_ctx(s_report_json, &c, &ev, why), AW_OK, "%s", why);
        snprintf(want, sizeof want, ORIGIN "-%016" PRIx64, c.hlc);
        cr_assert_str_eq(ev->hazard_id, want);
        if (i > 0)
            cr_assert_gt(strcmp(ev->hazard_id, ids[i - 1]), 0, "ids sort by report time");
        Anwang__Record rec = ANWANG__RECORD__INIT;
        rec.hlc = ev->hlc;
        rec.body_case = ANWANG__RECORD__BODY_HAZARD;
        rec.hazard = ev;
        cr_assert_eq(aw_codec_record_validate(&rec, NULL, why, sizeof why), AW_OK, "%s", why);
        ids[i] = strdup(ev->hazard_id);
        aw_hazard_event_destroy(&ev);
    }
    qsort(ids, N, sizeof ids[0], cmp_str);
    for (int i = 1; i < N; i++)
        cr_assert_str_neq(ids[i], ids[i - 1]);
    for (int i = 0; i < N; i++)
        free(ids[i]);
}

Test(id, format)
{
    char buf[AW_HAZARD_ID_LEN];

    cr_expect_eq(aw_hazard_id_format("center", UINT64_C(0x0195520b3f000001), buf, sizeof buf),
                 AW_OK);
    cr_expect_str_eq(buf, "center-0195520b3f000001");
    cr_expect_eq(aw_hazard_id_format("center", 1, buf, 23), AW_ERANGE);
    cr_expect_str_empty(buf);
    cr_expect_eq(aw_hazard_id_format("center", 1, buf, 24), AW_OK);
    cr_expect_eq(aw_hazard_id_format("c&c", 1, buf, sizeof buf), AW_EINVAL);
    cr_expect_eq(aw_hazard_id_format(NULL, 1, buf, sizeof buf), AW_EINVAL);
    cr_expect_eq(aw_hazard_id_format("center", 1, NULL, 0), AW_ERANGE);
}

/* ---------------------------------------------------------------- events */

Test(event, each_op_with_its_fields)
{
    Anwang__HazardEvent *ev = NULL;
    char why[WHY_LEN];

    cr_assert_eq(
        event("{\"op\": \"assign\", \"by\": \"张站长\", \"unit\": \"设备部\", \"person\":"
              " \"王主任\", \"deadline\": \"2026-12-31T00:00:00+08:00\", \"note\": \"限期\"}",
              &ev, why),
        AW_OK, "%s", why);
    cr_expect_eq(ev->op, ANWANG__HAZARD_OP__HAZARD_ASSIGN);
    cr_expect_str_eq(ev->hazard_id, ORIGIN "-0000000000000001");
    cr_expect_eq(ev->hlc, stamp(2));
    cr_expect_str_eq(ev->by, "张站长");
    cr_expect_str_eq(ev->unit, "设备部");
    cr_expect_str_eq(ev->person, "王主任");
    cr_expect(ev->has_deadline_ms && ev->deadline_ms == INT64_C(1798646400000));
    cr_expect_str_eq(ev->note, "限期");
    aw_hazard_event_destroy(&ev);

    cr_assert_eq(event("{\"op\": \"verify\", \"ok\": false, \"note\": \"围堰仍渗漏\"}", &ev, why),
                 AW_OK, "%s", why);
    cr_expect(ev->has_ok && !ev->ok);
    aw_hazard_event_destroy(&ev);
    cr_assert_eq(event("{\"op\": \"verify\", \"ok\": true}", &ev, why), AW_OK, "%s", why);
    cr_expect(ev->has_ok && ev->ok);
    aw_hazard_event_destroy(&ev);

    event_ok("{\"op\": \"start\"}");
    event_ok("{\"op\": \"start\", \"by\": \"王主任\", \"note\": null}");
    event_ok("{\"op\": \"rectified\", \"evidence\": \"https://img.example/1.jpg\\n修复照片\"}");
    event_ok("{\"op\": \"notify\", \"audience\": \"safety-bureau\", \"text\": \"重大隐患\"}");
    event_ok("{\"op\": \"note\", \"note\": \"已电话督办\"}");
    event_ok("{\"op\": \"reopen\", \"note\": \"复查发现复发\"}");
    event_ok("{\"op\": \"reopen\"}");
}

Test(event, each_op_missing_what_it_needs)
{
    event_refused("{\"op\": \"assign\", \"person\": \"p\", \"deadline\": \"2026-01-01T00:00:00Z\"}",
                  AW_EINVAL, "missing field 'unit' (op assign needs it)");
    event_refused("{\"op\": \"assign\", \"unit\": \"u\", \"deadline\": \"2026-01-01T00:00:00Z\"}",
                  AW_EINVAL, "missing field 'person'");
    event_refused("{\"op\": \"assign\", \"unit\": \"u\", \"person\": \"p\"}", AW_EINVAL,
                  "missing field 'deadline'");
    event_refused("{\"op\": \"assign\", \"unit\": \"u\", \"person\": \"p\", \"deadline\": null}",
                  AW_EINVAL, "missing field 'deadline'");
    event_refused("{\"op\": \"rectified\"}", AW_EINVAL, "missing field 'evidence'");
    event_refused("{\"op\": \"rectified\", \"evidence\": \"\"}", AW_EINVAL,
                  "'evidence' must not be empty");
    event_refused("{\"op\": \"verify\"}", AW_EINVAL, "missing field 'ok'");
    event_refused("{\"op\": \"notify\", \"text\": \"t\"}", AW_EINVAL, "missing field 'audience'");
    event_refused("{\"op\": \"notify\", \"audience\": \"a\"}", AW_EINVAL, "missing field 'text'");
    event_refused("{\"op\": \"note\"}", AW_EINVAL, "missing field 'note'");
}

Test(event, fields_of_other_ops_and_unknown_fields)
{
    event_refused("{\"op\": \"start\", \"evidence\": \"x\"}", AW_EINVAL,
                  "'evidence' does not belong to op start");
    event_refused("{\"op\": \"verify\", \"ok\": true, \"deadline\": \"2026-01-01T00:00:00Z\"}",
                  AW_EINVAL, "'deadline' does not belong to op verify");
    event_refused("{\"op\": \"note\", \"note\": \"n\", \"title\": \"t\"}", AW_EINVAL,
                  "'title' does not belong to op note");
    event_ok("{\"op\": \"note\", \"note\": \"n\", \"title\": null}");
    event_refused("{\"op\": \"note\", \"note\": \"n\", \"note2\": \"x\"}", AW_EINVAL,
                  "unknown field 'note2'");
    event_refused("{\"op\": \"note\", \"note\": \"n\", \"hlc\": \"1\"}", AW_EINVAL,
                  "'hlc' is set by the server");
}

Test(event, op_missing_unknown_or_report)
{
    event_refused("{\"note\": \"n\"}", AW_EINVAL, "missing field 'op'");
    event_refused("{\"op\": null}", AW_EINVAL, "missing field 'op'");
    event_refused("{\"op\": 3}", AW_EINVAL, "'op' must be a string");
    event_refused("{\"op\": \"close\"}", AW_EINVAL, "unknown op 'close'");
    event_refused("{\"op\": \"Assign\"}", AW_EINVAL, "unknown op 'Assign'");
    event_refused("{\"op\": \"report\", \"site\": \"" SITE "\"}", AW_EINVAL,
                  "op report is not a lifecycle event");
    event_refused("[{\"op\": \"start\"}]", AW_EINVAL, "not a JSON object");
}

Test(event, wrong_types)
{
    event_refused("{\"op\": \"verify\", \"ok\": 1}", AW_EINVAL, "'ok' must be true or false");
    event_refused("{\"op\": \"verify\", \"ok\": \"true\"}", AW_EINVAL, "'ok' must be true");
    event_refused("{\"op\": \"note\", \"note\": [\"n\"]}", AW_EINVAL, "'note' must be a string");
    event_refused("{\"op\": \"start\", \"by\": 7}", AW_EINVAL, "'by' must be a string");
    event_refused("{\"op\": \"notify\", \"audience\": {}, \"text\": \"t\"}", AW_EINVAL,
                  "'audience' must be a string");
    event_refused("{\"op\": \"notify\", \"audience\": \"a\\nb\", \"text\": \"t\"}", AW_EINVAL,
                  "'audience': control character 0x0a");
}

Test(event, bad_deadlines)
{
    static const char *const bad[] = {
        "\"tomorrow\"",
        "\"2026-02-30T00:00:00Z\"",
        "\"2026-12-31\"",
        "\"2026-12-31T00:00:00\"",
        "\"2026-12-31 00:00:00Z\"",
        "\"2026-12-31T24:00:00Z\"",
        "\"2026-13-01T00:00:00Z\"",
        "\"2026-12-31T00:00:00+0800\"",
        "\"\"",
        "1798675200000",
        "true",
    };
    char json[256];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(json, sizeof json,
                 "{\"op\": \"assign\", \"unit\": \"u\", \"person\": \"p\", \"deadline\": %s}",
                 bad[i]);
        event_refused(json, AW_EINVAL, "'deadline' must be an RFC 3339 time");
    }
    event_refused("{\"op\": \"assign\", \"unit\": \"u\", \"person\": \"p\","
                  " \"deadline\": \"2025-03-01T08:29:59.999Z\"}",
                  AW_ERANGE, "'deadline' 2025-03-01T08:29:59.999Z is in the past");
    event_ok("{\"op\": \"assign\", \"unit\": \"u\", \"person\": \"p\","
             " \"deadline\": \"2025-03-01T16:30:00+08:00\"}"); /* exactly now */
}

Test(event, bad_hazard_ids)
{
    static const char *const bad[] = {"", "a,b", "a b", "a<b", "a&b", "中文", NULL};
    aw_hazard_ctx c = ctx_at(stamp(1));
    Anwang__HazardEvent *ev = NULL;
    char why[WHY_LEN], *longer = repeat('h', 129);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(event_ctx("{\"op\": \"start\"}", bad[i], &c, &ev, why), AW_EINVAL, "%zu", i);
    cr_expect_eq(event_ctx("{\"op\": \"start\"}", longer, &c, &ev, why), AW_EINVAL);
    longer[128] = '\0';
    cr_expect_eq(event_ctx("{\"op\": \"start\"}", longer, &c, &ev, why), AW_OK, "%s", why);
    aw_hazard_event_destroy(&ev);
    free(longer);
}

Test(event, authenticated_actor)
{
    aw_hazard_ctx c = ctx_at(stamp(1));
    Anwang__HazardEvent *ev = NULL;
    char why[WHY_LEN];

    c.by = "operator:zhang";
    cr_expect_eq(event_ctx("{\"op\": \"start\", \"by\": \"operator:li\"}", "h-1", &c, &ev, why),
                 AW_EPERM);
    cr_expect_eq(event_ctx("{\"op\": \"start\"}", "h-1", &c, &ev, why), AW_OK, "%s", why);
    cr_expect_str_eq(ev->by, "operator:zhang");
    aw_hazard_event_destroy(&ev);
}

/* ---------------------------------------------------------------- state */

/* The events of one hazard, made from JSON with stamps 1, 2, ... */
typedef struct story {
    Anwang__HazardEvent *ev[16];
    size_t n;
    char id[AW_HAZARD_ID_LEN];
} story;

static void story_add(story *s, const char *json, const char *origin)
{
    aw_hazard_ctx c = ctx_at(stamp((uint16_t)(s->n + 1)));
    char why[WHY_LEN];
    int rv;

    c.origin = origin;
    c.now_ms = NOW_MS + (int64_t)s->n * 1000;
    if (s->n == 0) {
        rv = report_ctx(json, &c, &s->ev[0], why);
        snprintf(s->id, sizeof s->id, "%s", s->ev[0]->hazard_id);
    } else {
        rv = event_ctx(json, s->id, &c, &s->ev[s->n], why);
    }
    cr_assert_eq(rv, AW_OK, "%s: %s", json, why);
    s->n++;
}

static void story_free(story *s)
{
    for (size_t i = 0; i < s->n; i++)
        aw_hazard_event_destroy(&s->ev[i]);
}

#define ASSIGN                                                                                        \
    "{\"op\": \"assign\", \"by\": \"张站长\", \"unit\": \"设备部\", \"person\": \"王主任\"," \
    " \"deadline\": \"2025-03-08T00:00:00Z\"}"

Test(state, rejected_events_stay_with_their_reasons)
{
    story s = {0};
    const json_t *e;

    story_add(&s, s_report_json, ORIGIN);
    story_add(&s, "{\"op\": \"start\", \"by\": \"王主任\"}", ORIGIN); /* before 交办 */
    story_add(&s, ASSIGN, "center");
    story_add(&s, "{\"op\": \"verify\", \"ok\": true}", "center"); /* nothing rectified */
    json_t *j = state_json((const Anwang__HazardEvent *const *)s.ev, s.n, NOW_MS);
    json_t *ledger = json_object_get(j, "ledger");

    cr_expect_str_eq(jstr(j, "status"), "assigned");
    cr_assert_eq(json_array_size(ledger), 4);
    e = json_array_get(ledger, 1);
    cr_expect_str_eq(jstr(e, "op"), "start");
    cr_expect(json_is_false(json_object_get(e, "accepted")));
    cr_expect_str_eq(jstr(e, "reason"), "start needs status assigned");
    cr_expect_str_eq(jstr(e, "by"), "王主任");
    e = json_array_get(ledger, 2);
    cr_expect(json_is_true(json_object_get(e, "accepted")));
    cr_expect_null(json_object_get(e, "reason"), "no reason when accepted");
    cr_expect_str_eq(jstr(e, "origin"), "center");
    cr_expect_str_eq(jstr(e, "deadline"), "2025-03-08T00:00:00.000Z");
    cr_expect_str_eq(jstr(e, "at"), "2025-03-01T08:30:02.000Z");
    char hlc[24];
    snprintf(hlc, sizeof hlc, "%" PRIu64, stamp(3));
    cr_expect_str_eq(jstr(e, "hlc"), hlc);
    cr_expect_null(json_object_get(e, "hazard_id"));
    e = json_array_get(ledger, 3);
    cr_expect_str_eq(jstr(e, "reason"), "verify needs status rectified");
    cr_expect(json_is_null(json_object_get(e, "by")), "by is null when unset");
    json_decref(j);
    story_free(&s);
}

Test(state, full_lifecycle_overdue_and_dual_report)
{
    story s = {0};
    aw_dual_report *dr = NULL;

    story_add(&s, s_report_json, ORIGIN);
    story_add(&s, ASSIGN, ORIGIN);
    story_add(&s, "{\"op\": \"start\"}", ORIGIN);

    /* 2025-03-08T00:00:00Z passed, still rectifying: overdue */
    json_t *j = state_json((const Anwang__HazardEvent *const *)s.ev, s.n, NOW_MS + 8 * 86400000LL);
    cr_expect_str_eq(jstr(j, "status"), "rectifying");
    cr_expect(json_is_true(json_object_get(j, "overdue")));
    cr_expect(json_is_null(json_object_get(j, "closed_at")));
    json_decref(j);

    story_add(&s, "{\"op\": \"rectified\", \"evidence\": \"照片 1.jpg\"}", ORIGIN);
    story_add(&s, "{\"op\": \"verify\", \"ok\": true}", "center");
    cr_assert_eq(aw_dual_report_new(s.ev[0], "center", stamp(100), stamp(101), NOW_MS, &dr), AW_OK);
    s.ev[s.n] = &dr->events[0];
    s.ev[s.n + 1] = &dr->events[1];
    j = state_json((const Anwang__HazardEvent *const *)s.ev, s.n + 2, NOW_MS + 8 * 86400000LL);
    s.ev[s.n] = s.ev[s.n + 1] = NULL;
    cr_expect_str_eq(jstr(j, "status"), "closed");
    cr_expect_str_eq(jstr(j, "closed_at"), "2025-03-01T08:30:04.000Z");
    cr_expect_str_eq(jstr(j, "evidence"), "照片 1.jpg");
    cr_expect(json_is_false(json_object_get(j, "overdue")));
    cr_expect(json_is_true(json_object_get(j, "dual_reported")));
    cr_expect_str_eq(jstr(json_object_get(j, "assignment"), "unit"), "设备部");
    cr_expect_eq(json_array_size(json_object_get(j, "ledger")), 7);
    json_decref(j);
    aw_dual_report_destroy(&dr);
    story_free(&s);
}

Test(state, every_key_is_there_even_unreported)
{
    static const char *const keys[] = {"id",        "site",        "sector",        "level",
                                       "title",     "description", "source",        "reporter",
                                       "status",    "reported_at", "assignment",    "evidence",
                                       "closed_at", "overdue",     "dual_reported", "ledger"};
    story s = {0};

    story_add(&s, s_report_json, ORIGIN);
    aw_hazard_event_destroy(&s.ev[0]); /* keep only a lone start */
    s.ev[0] = NULL;
    story_add(&s, "{\"op\": \"start\"}", ORIGIN);
    json_t *j = state_json((const Anwang__HazardEvent *const *)&s.ev[1], 1, NOW_MS);

    cr_expect_eq(json_object_size(j), sizeof keys / sizeof keys[0]);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_expect_not_null(json_object_get(j, keys[i]), "key %s", keys[i]);
    cr_expect_str_eq(jstr(j, "status"), "unreported");
    cr_expect(json_is_null(json_object_get(j, "site")));
    cr_expect(json_is_null(json_object_get(j, "level")));
    cr_expect(json_is_null(json_object_get(j, "reported_at")));
    cr_expect(json_is_null(json_object_get(j, "assignment")));
    cr_expect_str_eq(jstr(json_array_get(json_object_get(j, "ledger"), 0), "reason"),
                     "no report yet");
    json_decref(j);
    story_free(&s);

    json_t *out = (json_t *)1;
    cr_expect_eq(aw_hazard_state_to_json(NULL, NOW_MS, &out), AW_EINVAL);
    cr_expect_null(out);
}

/* ---------------------------------------------------------------- round trip */

/* event → JSON → event: the server-set keys go, the rest parses back into an
 * equal event under the same context. */
static void round_trip(const char *json, bool is_report)
{
    Anwang__HazardEvent *a = NULL, *b = NULL;
    aw_hazard_ctx c = ctx_at(stamp(9));
    char why[WHY_LEN], *text;
    json_t *j = NULL;
    int rv;

    c.by = NULL;
    rv = is_report ? report_ctx(json, &c, &a, why) : event_ctx(json, "h-1", &c, &a, why);
    cr_assert_eq(rv, AW_OK, "%s: %s", json, why);
    cr_assert_eq(aw_hazard_event_to_json(a, &j), AW_OK);
    cr_expect_str_eq(jstr(j, "hazard_id"), a->hazard_id);
    cr_expect_str_eq(jstr(j, "at"), "2025-03-01T08:30:00.000Z");
    for (const char *const *k = (const char *const[]){"hazard_id", "hlc", "origin", "at", NULL}; *k;
         k++)
        json_object_del(j, *k);
    text = json_dumps(j, 0);
    rv = is_report ? report_ctx(text, &c, &b, why) : event_ctx(text, "h-1", &c, &b, why);
    cr_assert_eq(rv, AW_OK, "%s: %s", text, why);
    cr_expect_eq(aw_hazard_event_cmp(a, b), 0, "%s changed on the way", json);
    cr_expect_str_eq(a->hazard_id, b->hazard_id);
    free(text);
    json_decref(j);
    aw_hazard_event_destroy(&a);
    aw_hazard_event_destroy(&b);
}

Test(roundtrip, each_op)
{
    round_trip(s_report_json, true);
    round_trip("{\"site\": \"" SITE "\", \"sector\": \"tailings-dam\", \"level\": \"general\","
               " \"title\": \"t\", \"source\": \"public-report\", \"by\": \"hotline\"}",
               true);
    round_trip(ASSIGN, false);
    round_trip("{\"op\": \"assign\", \"unit\": \"u\", \"person\": \"p\","
               " \"deadline\": \"2026-06-30T18:45:30.5-05:30\", \"note\": \"延期\"}",
               false);
    round_trip("{\"op\": \"start\", \"by\": \"王主任\"}", false);
    round_trip("{\"op\": \"rectified\", \"evidence\": \"e\\n\\tf\"}", false);
    round_trip("{\"op\": \"verify\", \"ok\": true}", false);
    round_trip("{\"op\": \"verify\", \"ok\": false, \"note\": \"渗漏\"}", false);
    round_trip("{\"op\": \"notify\", \"audience\": \"sector:fireworks\", \"text\": \"通报\"}",
               false);
    round_trip("{\"op\": \"note\", \"note\": \"n\"}", false);
    round_trip("{\"op\": \"reopen\"}", false);
}

Test(roundtrip, odd_events_still_write)
{
    Anwang__HazardEvent ev = ANWANG__HAZARD_EVENT__INIT;
    json_t *j = NULL;

    ev.hazard_id = "h-1";
    ev.origin = "center";
    ev.hlc = stamp(1);
    ev.op = (Anwang__HazardOp)42;
    ev.has_level = 1;
    ev.level = (Anwang__HazardLevel)9;
    ev.has_time_ms = 1;
    ev.time_ms = INT64_C(253402300800000); /* year 10000 */
    cr_assert_eq(aw_hazard_event_to_json(&ev, &j), AW_OK);
    cr_expect_eq(json_integer_value(json_object_get(j, "op")), 42);
    cr_expect_eq(json_integer_value(json_object_get(j, "level")), 9);
    cr_expect(json_is_null(json_object_get(j, "at")));
    cr_expect_null(json_object_get(j, "by"), "unset fields are left out");
    json_decref(j);

    ev.title = "\xff";
    j = (json_t *)1;
    cr_expect_eq(aw_hazard_event_to_json(&ev, &j), AW_EUTF8);
    cr_expect_null(j);
    ev.origin = NULL;
    cr_expect_eq(aw_hazard_event_to_json(&ev, &j), AW_EINVAL);
    cr_expect_eq(aw_hazard_event_to_json(NULL, &j), AW_EINVAL);
}

/* ---------------------------------------------------------------- RFC 3339 */

Test(rfc3339, format)
{
    static const struct {
        int64_t ms;
        const char *s;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {NOW_MS + 123, "2025-03-01T08:30:00.123Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {INT64_C(-14182940000), "1969-07-20T20:17:40.000Z"},
        {INT64_C(951825600000), "2000-02-29T12:00:00.000Z"},
        {INT64_C(1709251199999), "2024-02-29T23:59:59.999Z"},
        {INT64_C(253402300799999), "9999-12-31T23:59:59.999Z"},
        {INT64_C(-62167219200000), "0000-01-01T00:00:00.000Z"},
    };
    char buf[AW_RFC3339_LEN];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_expect_eq(aw_time_format_rfc3339(cases[i].ms, buf), AW_OK);
        cr_expect_str_eq(buf, cases[i].s);
    }
    cr_expect_eq(aw_time_format_rfc3339(INT64_C(253402300800000), buf), AW_ERANGE);
    cr_expect_str_empty(buf);
    cr_expect_eq(aw_time_format_rfc3339(INT64_C(-62167219200001), buf), AW_ERANGE);
    cr_expect_eq(aw_time_format_rfc3339(INT64_MIN, buf), AW_ERANGE);
    cr_expect_eq(aw_time_format_rfc3339(INT64_MAX, buf), AW_ERANGE);
}

Test(rfc3339, parse_accepts)
{
    static const struct {
        const char *s;
        int64_t ms;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2025-03-01T08:30:00Z", NOW_MS},
        {"2025-03-01t08:30:00z", NOW_MS},
        {"2025-03-01T16:30:00+08:00", NOW_MS},
        {"2025-03-01T08:30:00-00:00", NOW_MS},
        {"2025-03-01T08:30:00.1Z", NOW_MS + 100},
        {"2025-03-01T08:30:00.12Z", NOW_MS + 120},
        {"2025-03-01T08:30:00.123Z", NOW_MS + 123},
        {"2025-03-01T08:30:00.123999999Z", NOW_MS + 123},
        {"2026-12-31T00:00:00+08:00", INT64_C(1798646400000)},
        {"2026-06-30T18:45:30.5-05:30", INT64_C(1782864930500)},
        {"2026-01-01T00:00:00+23:59", INT64_C(1767139260000)},
        {"2026-01-01T00:00:00-23:59", INT64_C(1767311940000)},
        {"2000-02-29T12:00:00Z", INT64_C(951825600000)},
        {"2024-02-29T23:59:59.999Z", INT64_C(1709251199999)},
        {"1969-07-20T20:17:40Z", INT64_C(-14182940000)},
        {"9999-12-31T23:59:59.999Z", INT64_C(253402300799999)},
        {"0000-01-01T00:00:00Z", INT64_C(-62167219200000)},
    };
    int64_t ms;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_expect_eq(aw_time_parse_rfc3339(cases[i].s, &ms), AW_OK, "%s", cases[i].s);
        cr_expect_eq(ms, cases[i].ms, "%s: %" PRId64, cases[i].s, ms);
    }
}

Test(rfc3339, parse_refuses)
{
    static const char *const bad[] = {
        "",
        "2025-03-01",
        "2025-03-01T08:30:00",  /* no offset */
        "2025-03-01 08:30:00Z", /* space for T */
        "2025-03-01T08:30Z",    /* no seconds */
        "2025-02-29T00:00:00Z", /* not a leap year */
        "2100-02-29T00:00:00Z", /* century, not a leap year */
        "2026-02-30T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-01-00T00:00:00Z",
        "2026-01-32T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T23:60:00Z",
        "2016-12-31T23:59:60Z", /* leap second */
        "2026-01-01T00:00:00+24:00",
        "2026-01-01T00:00:00+08:60",
        "2026-01-01T00:00:00+0800",
        "2026-01-01T00:00:00+08",
        "2026-01-01T00:00:00.Z",
        "2026-01-01T00:00:00.1234567890Z", /* ten fraction digits */
        "2026-01-01T00:00:00,5Z",
        "2026-01-01T00:00:00ZZ",
        "2026-01-01T00:00:00Z ",
        " 2026-01-01T00:00:00Z",
        "20260101T000000Z",
        "+2026-01-01T00:00:00Z",
        "12026-01-01T00:00:00Z",
        "2026-1-01T00:00:00Z",
        "2026-01-01T0:00:00Z",
        "２０２６-01-01T00:00:00Z",
    };
    int64_t ms = 77;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(aw_time_parse_rfc3339(bad[i], &ms), AW_EINVAL, "'%s' accepted", bad[i]);
    cr_expect_eq(ms, 77, "unchanged on refusal");
    cr_expect_eq(aw_time_parse_rfc3339(NULL, &ms), AW_EINVAL);
    cr_expect_eq(aw_time_parse_rfc3339("2026-01-01T00:00:00Z", NULL), AW_EINVAL);
}

Test(rfc3339, format_then_parse_is_identity)
{
    char buf[AW_RFC3339_LEN];
    uint64_t x = 88172645463325252u;
    int64_t back, span = INT64_C(253402300799999) - INT64_C(-62167219200000) + 1;

    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        int64_t ms = INT64_C(-62167219200000) + (int64_t)(x % (uint64_t)span);
        cr_assert_eq(aw_time_format_rfc3339(ms, buf), AW_OK);
        cr_assert_eq(aw_time_parse_rfc3339(buf, &back), AW_OK, "%s", buf);
        cr_assert_eq(back, ms, "%" PRId64 " -> %s -> %" PRId64, ms, buf, back);
    }
}
