/* libFuzzer target: the readers of ledger/hazard_json.
 *
 * Input layout: the first byte picks the mode, the rest is the JSON payload.
 *  - bit 0 of the first byte: 0 → aw_hazard_report_from_json(), 1 →
 *    aw_hazard_event_from_json() for hazard FZ_ID. So seeds read naturally:
 *    "r{...}" is a report, "e{...}" a lifecycle event.
 *  - bit 1: the context names an authenticated actor (ctx.by = FZ_BY);
 *    'r' (0x72) and 'g' (0x67) have it, 'p' (0x70) and 'e' (0x65) do not.
 * The payload also goes, NUL-terminated, to aw_time_parse_rfc3339().
 *
 * No input may crash or leak. A refusal must come with no event, a known
 * code and a one-line printable ASCII reason. An event that comes back must
 * pass aw_codec_record_validate() (abort otherwise), carry the context's
 * stamp, origin and time, write to JSON and parse back into an equal event,
 * and fold and write as a state. A time that parses must format and parse
 * back to the same millisecond. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "hazard_json.h"
#include "ledger.h"

#define FZ_ORIGIN "fz"
#define FZ_ID     "fz-0000000000000001"
#define FZ_BY     "fuzzer"
#define FZ_NOW_MS INT64_C(1740817800000)
#define FZ_HLC    ((uint64_t)FZ_NOW_MS << 16 | 5)

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #x);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Refuses sites whose last segment starts with 'x', to exercise the path. */
static int site_ok(void *arg, const char *site, const char *sector, char *why, size_t why_len)
{
    const char *last = strrchr(site, '/');

    (void)arg;
    CHECK(last != NULL && sector != NULL);
    if (last[1] != 'x')
        return AW_OK;
    snprintf(why, why_len, "site %s refused\n(by the fuzzer)", site);
    return AW_ENOTFOUND;
}

static void check_refusal(int rv, const Anwang__HazardEvent *ev, const char *why)
{
    CHECK(ev == NULL);
    CHECK(rv == AW_EDECODE || rv == AW_EUTF8 || rv == AW_ETOOBIG || rv == AW_EINVAL ||
          rv == AW_ERANGE || rv == AW_EPERM || rv == AW_ENOTFOUND);
    CHECK(why[0] != '\0');
    for (const char *c = why; *c; c++)
        CHECK(*c >= 0x20 && *c < 0x7f);
}

static void check_valid(const Anwang__HazardEvent *ev, const aw_hazard_ctx *ctx, int report)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    char why[256];

    rec.hlc = ev->hlc;
    rec.body_case = ANWANG__RECORD__BODY_HAZARD;
    rec.hazard = (Anwang__HazardEvent *)ev;
    if (aw_codec_record_validate(&rec, NULL, why, sizeof why) != AW_OK) {
        fprintf(stderr, "codec refuses the event: %s\n", why);
        abort();
    }
    CHECK(ev->hlc == ctx->hlc && strcmp(ev->origin, ctx->origin) == 0);
    CHECK(ev->has_time_ms && ev->time_ms == ctx->now_ms);
    CHECK(report == (ev->op == ANWANG__HAZARD_OP__HAZARD_REPORT));
    CHECK(report || strcmp(ev->hazard_id, FZ_ID) == 0);
    CHECK(!ctx->by || (ev->by && strcmp(ev->by, ctx->by) == 0));
}

/* event → JSON without the server's keys → event: nothing changes. */
static void check_round_trip(const Anwang__HazardEvent *ev, const aw_hazard_ctx *ctx, int report)
{
    Anwang__HazardEvent *back = NULL;
    json_t *j = NULL;
    char why[256], *text;
    int rv;

    CHECK(aw_hazard_event_to_json(ev, &j) == AW_OK);
    json_object_del(j, "hazard_id");
    json_object_del(j, "hlc");
    json_object_del(j, "origin");
    json_object_del(j, "at");
    text = json_dumps(j, JSON_COMPACT);
    CHECK(text != NULL);
    rv = report ? aw_hazard_report_from_json(text, strlen(text), ctx, &back, why, sizeof why)
                : aw_hazard_event_from_json(text, strlen(text), FZ_ID, ctx, &back, why, sizeof why);
    if (rv != AW_OK) {
        fprintf(stderr, "written event does not parse back: %s\n%s\n", why, text);
        abort();
    }
    CHECK(aw_hazard_event_cmp(ev, back) == 0 && strcmp(ev->hazard_id, back->hazard_id) == 0);
    aw_hazard_event_destroy(&back);
    free(text);
    json_decref(j);
}

/* Folds @p ev after a fixed report of the same hazard and writes the state. */
static void check_state(const Anwang__HazardEvent *ev)
{
    Anwang__HazardEvent rep = ANWANG__HAZARD_EVENT__INIT;
    const Anwang__HazardEvent *evs[2] = {&rep, ev};
    aw_hazard_state *st = NULL;
    json_t *j = NULL;
    char *text;

    rep.hazard_id = ev->hazard_id;
    rep.hlc = 1;
    rep.origin = "center";
    rep.site = "c/z/v/s";
    rep.sector = "fireworks";
    rep.has_level = rep.has_source = 1;
    rep.level = ANWANG__HAZARD_LEVEL__HAZARD_MAJOR;
    rep.title = "t";
    CHECK(aw_ledger_fold(evs, 2, &st) == AW_OK);
    CHECK(aw_hazard_state_to_json(st, FZ_NOW_MS, &j) == AW_OK);
    text = json_dumps(j, JSON_COMPACT);
    CHECK(text != NULL);
    free(text);
    json_decref(j);
    aw_hazard_state_destroy(&st);
}

static void check_time(const uint8_t *data, size_t size)
{
    char s[72], buf[AW_RFC3339_LEN];
    int64_t ms, back;

    if (size >= sizeof s)
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    if (aw_time_parse_rfc3339(s, &ms) != AW_OK)
        return;
    if (aw_time_format_rfc3339(ms, buf) != AW_OK) {
        CHECK(buf[0] == '\0');
        return; /* an offset moved it out of years 0000..9999 */
    }
    CHECK(strlen(buf) == 24);
    CHECK(aw_time_parse_rfc3339(buf, &back) == AW_OK && back == ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aw_hazard_ctx ctx = {
        .origin = FZ_ORIGIN, .hlc = FZ_HLC, .now_ms = FZ_NOW_MS, .site_ok = site_ok};
    Anwang__HazardEvent *ev = NULL;
    const char *json;
    char why[160];
    int report, rv;

    if (size == 0)
        return 0;
    report = !(data[0] & 1);
    ctx.by = data[0] & 2 ? FZ_BY : NULL;
    json = (const char *)data + 1;
    check_time(data + 1, size - 1);
    rv = report ? aw_hazard_report_from_json(json, size - 1, &ctx, &ev, why, sizeof why)
                : aw_hazard_event_from_json(json, size - 1, FZ_ID, &ctx, &ev, why, sizeof why);
    if (rv != AW_OK) {
        check_refusal(rv, ev, why);
        return 0;
    }
    CHECK(ev != NULL && why[0] == '\0');
    check_valid(ev, &ctx, report);
    check_round_trip(ev, &ctx, report);
    check_state(ev);
    aw_hazard_event_destroy(&ev);
    CHECK(ev == NULL);
    return 0;
}
