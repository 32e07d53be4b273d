/* Tests for edge/ingest: checks, group commit, alarm events in the same
 * transaction as the readings, persistence of the alarm engine, and the
 * failure path (nothing of a pack stored, engine rolled back). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "ingest.h"
#include "registry.h"
#include "store.h"

#define T0 INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

typedef struct s_env {
    char dir[64];
    aw_store_t *store;
    aw_table_t table;
    aw_hlc hlc;
    aw_registry_t *reg;
    aw_ingest_t *ing;
    int results[AW_INGEST_MAX_BATCH];
    int n_results;
} s_env;

static s_env s_e;

static void s_open(uint64_t max_bytes)
{
    aw_store_opts o = {.path = s_e.dir,
                       .map_size = 64u << 20,
                       .max_bytes = max_bytes,
                       .durability = AW_DURABLE_NOSYNC};
    cr_assert_eq(aw_store_open(&o, &s_e.store), AW_OK);
    cr_assert_eq(aw_store_table(s_e.store, "alarms", &s_e.table), AW_OK);
    aw_hlc_init(&s_e.hlc, aw_store_hlc_floor(s_e.store));
    aw_ingest_opts io = {.store = s_e.store,
                         .hlc = &s_e.hlc,
                         .state_table = s_e.table,
                         .id_prefix = "00000000000000aa",
                         .max_future_ms = 300000};
    cr_assert_eq(aw_ingest_new(&io, &s_e.ing), AW_OK);
    cr_assert_eq(aw_ingest_set_registry(s_e.ing, s_e.reg, T0), AW_OK);
}

static void s_close(void)
{
    aw_ingest_destroy(&s_e.ing);
    aw_store_destroy(&s_e.store);
}

static void s_setup(void)
{
    memset(&s_e, 0, sizeof s_e);
    snprintf(s_e.dir, sizeof s_e.dir, "/tmp/aw-ingest-XXXXXX");
    cr_assert(mkdtemp(s_e.dir));
    aw_registry_errors errs = {0};
    cr_assert_eq(aw_registry_load_file(AW_FIXTURES "/registry.json", &s_e.reg, &errs), AW_OK);
}

static void s_teardown(void)
{
    s_close();
    aw_registry_destroy(&s_e.reg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_e.dir);
    cr_assert_eq(system(cmd), 0);
}

static void s_done(void *arg, void *tag, int err)
{
    (void)arg;
    s_e.results[(intptr_t)tag] = err;
    s_e.n_results++;
}

/* Checks @p json and returns the code; stages it with tag @p tag on success. */
static int s_post(const char *json, intptr_t tag, int64_t now)
{
    aw_ingest_checked *c = NULL;
    char why[256];
    int rv = aw_ingest_check(s_e.ing, (const uint8_t *)json, strlen(json), AW_SENML_JSON, now, NULL,
                             NULL, &c, why, sizeof why);
    if (rv == AW_OK)
        cr_assert_eq(aw_ingest_stage(s_e.ing, &c, (void *)tag), AW_OK);
    return rv;
}

static uint64_t s_head(aw_lane lane)
{
    aw_lane_info info;
    cr_assert_eq(aw_store_lane_info(s_e.store, lane, &info), AW_OK);
    return info.head;
}

/* The kinds of the alarm events in the urgent lane, in order, as a string like "RC". */
static int s_kinds(void *arg, uint64_t seq, const void *rec, size_t len)
{
    (void)seq;
    char *out = arg;
    Anwang__Record *r = NULL;
    cr_assert_eq(aw_codec_record_decode(rec, len, NULL, &r, NULL, 0), AW_OK);
    char k = '?';
    if (r->body_case == ANWANG__RECORD__BODY_ALARM)
        k = "REDCA"[r->alarm->kind];
    else if (r->body_case == ANWANG__RECORD__BODY_DEVICE)
        k = r->device->kind == ANWANG__DEVICE_EVENT_KIND__DEVICE_STALE ? 's' : 'b';
    size_t n = strlen(out);
    out[n] = k, out[n + 1] = '\0';
    aw_codec_record_free(&r);
    return 0;
}

static void s_urgent(char *out)
{
    out[0] = '\0';
    cr_assert_eq(aw_store_read(s_e.store, AW_LANE_URGENT, 1, 0, 0, s_kinds, out), AW_OK);
}

TestSuite(ingest, .init = s_setup, .fini = s_teardown);

/* The usage example: check, stage, flush; the done callback says stored. */
Test(ingest, check_stage_flush)
{
    s_open(0);
    cr_assert_eq(
        s_post("[{\"bn\":\"huaxin-gas-1/\",\"n\":\"temperature\",\"u\":\"Cel\",\"v\":21.5},"
               "{\"n\":\"h2s\",\"u\":\"ppm\",\"v\":0.5}]",
               0, T0),
        AW_OK);
    cr_assert_eq(aw_ingest_staged(s_e.ing), 1);
    cr_assert_eq(aw_ingest_flush(s_e.ing, T0, s_done, NULL), 1);
    cr_assert_eq(s_e.n_results, 1);
    cr_assert_eq(s_e.results[0], AW_OK);
    cr_assert_eq(s_head(AW_LANE_BULK), 2);
    cr_assert_eq(s_head(AW_LANE_URGENT), 0);
    cr_assert_gt(aw_store_hlc_floor(s_e.store), 0);
}

Test(ingest, group_commit_shares_one_transaction)
{
    s_open(0);
    char json[128];
    for (int i = 0; i < 10; i++) {
        snprintf(json, sizeof json, "[{\"bn\":\"huaxin-gas-1/\",\"n\":\"temperature\",\"v\":%d}]",
                 i);
        cr_assert_eq(s_post(json, i, T0), AW_OK);
    }
    aw_ingest_stats before, after;
    aw_ingest_get_stats(s_e.ing, &before);
    cr_assert_eq(aw_ingest_flush(s_e.ing, T0, s_done, NULL), 10);
    aw_ingest_get_stats(s_e.ing, &after);
    cr_assert_eq(after.commits - before.commits, 1);
    cr_assert_eq(after.packs, 10);
    cr_assert_eq(s_e.n_results, 10);
    cr_assert_eq(s_head(AW_LANE_BULK), 10);
}

Test(ingest, refusals_store_nothing)
{
    s_open(0);
    char why[256];
    aw_ingest_checked *c = NULL;
    cr_assert_eq(s_post("[{\"bn\":\"nobody/\",\"n\":\"t\",\"v\":1}]", 0, T0), AW_ENOTFOUND);
    cr_assert_eq(
        s_post("[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"u\":\"Cel\",\"v\":1}]", 0, T0),
        AW_EINVAL, "a unit other than the registered one");
    cr_assert_eq(
        s_post("[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":1},{\"n\":\"x\"}]", 0, T0),
        AW_EINVAL, "one bad record rejects the pack");
    cr_assert_eq(s_post("not json", 0, T0), AW_EINVAL);
    const char *ok = "[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":1}]";
    cr_assert_eq(aw_ingest_check(s_e.ing, (const uint8_t *)ok, strlen(ok), AW_SENML_JSON, T0, NULL,
                                 NULL, &c, why, sizeof why),
                 AW_OK);
    aw_ingest_checked_free(&c);
    cr_assert_eq(aw_ingest_staged(s_e.ing), 0);
    aw_ingest_stats st;
    aw_ingest_get_stats(s_e.ing, &st);
    cr_assert_eq(st.rejected, 4);
    cr_assert_eq(s_head(AW_LANE_BULK), 0);
}

static bool s_only_t3(void *arg, const char *device)
{
    (void)arg;
    return strcmp(device, "huaxin-t3") == 0;
}

Test(ingest, sender_must_own_every_device)
{
    s_open(0);
    const char *json = "[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":1},"
                       "{\"bn\":\"huaxin-gas-1/\",\"n\":\"h2s\",\"v\":1}]";
    aw_ingest_checked *c = NULL;
    char why[256];
    cr_assert_eq(aw_ingest_check(s_e.ing, (const uint8_t *)json, strlen(json), AW_SENML_JSON, T0,
                                 s_only_t3, NULL, &c, why, sizeof why),
                 AW_EPERM);
    cr_assert(strstr(why, "huaxin-gas-1"), "%s", why);
    cr_assert_null(c);
}

Test(ingest, no_registry_refuses_everything)
{
    s_open(0);
    cr_assert_eq(aw_ingest_set_registry(s_e.ing, NULL, T0), AW_OK);
    cr_assert_eq(s_post("[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":1}]", 0, T0),
                 AW_ENOTFOUND);
}

/* h2s: blue 5, yellow 10, orange 15, red 20, deadband 1, debounce 1. */
Test(ingest, alarm_events_go_to_the_urgent_lane)
{
    s_open(0);
    char kinds[64];
    cr_assert_eq(s_post("[{\"bn\":\"huaxin-gas-1/\",\"n\":\"h2s\",\"v\":16}]", 0, T0), AW_OK);
    aw_ingest_flush(s_e.ing, T0, s_done, NULL);
    s_urgent(kinds);
    cr_assert_str_eq(kinds, "R");
    cr_assert_eq(s_post("[{\"bn\":\"huaxin-gas-1/\",\"n\":\"h2s\",\"v\":21}]", 0, T0 + 1000),
                 AW_OK);
    cr_assert_eq(s_post("[{\"bn\":\"huaxin-gas-1/\",\"n\":\"h2s\",\"v\":0}]", 1, T0 + 2000), AW_OK);
    aw_ingest_flush(s_e.ing, T0 + 2000, s_done, NULL);
    s_urgent(kinds);
    cr_assert_str_eq(kinds, "REC");
    aw_ingest_stats st;
    aw_ingest_get_stats(s_e.ing, &st);
    cr_assert_eq(st.alarms.active[AW_LEVEL_RED], 0);
}

Test(ingest, alarm_state_survives_a_restart)
{
    s_open(0);
    char kinds[64];
    cr_assert_eq(s_post("[{\"bn\":\"huaxin-gas-1/\",\"n\":\"h2s\",\"v\":16}]", 0, T0), AW_OK);
    aw_ingest_flush(s_e.ing, T0, s_done, NULL);
    s_close();
    s_open(0);
    aw_ingest_stats st;
    aw_ingest_get_stats(s_e.ing, &st);
    cr_assert_eq(st.alarms.active[AW_LEVEL_ORANGE], 1, "restored, not forgotten");
    cr_assert_eq(s_post("[{\"bn\":\"huaxin-gas-1/\",\"n\":\"h2s\",\"v\":16}]", 0, T0 + 1000),
                 AW_OK);
    aw_ingest_flush(s_e.ing, T0 + 1000, s_done, NULL);
    s_urgent(kinds);
    cr_assert_str_eq(kinds, "R", "not raised again");
    cr_assert_eq(s_post("[{\"bn\":\"huaxin-gas-1/\",\"n\":\"h2s\",\"v\":0}]", 0, T0 + 2000), AW_OK);
    aw_ingest_flush(s_e.ing, T0 + 2000, s_done, NULL);
    s_urgent(kinds);
    cr_assert_str_eq(kinds, "RC");
}

Test(ingest, stale_and_back_are_committed_by_the_tick)
{
    s_open(0);
    char kinds[64];
    aw_ingest_tick(s_e.ing, T0); /* staleness is measured from the first tick */
    /* huaxin-t3 reports every 10 s: stale after 30 s of silence */
    cr_assert_eq(aw_ingest_tick(s_e.ing, T0 + 31000), AW_OK);
    s_urgent(kinds);
    cr_assert(strchr(kinds, 's'), "%s", kinds);
    cr_assert_eq(s_post("[{\"bn\":\"huaxin-t3/\",\"n\":\"tank-level\",\"v\":1}]", 0, T0 + 32000),
                 AW_OK);
    aw_ingest_flush(s_e.ing, T0 + 32000, s_done, NULL);
    s_urgent(kinds);
    cr_assert(strchr(kinds, 'b'), "%s", kinds);
}

/* Budget full of unacked urgent records: nothing fits, every pack fails
 * on its own, nothing is stored and the engine forgets the packs. */
Test(ingest, failed_commit_stores_nothing_and_rolls_back)
{
    s_open(1 << 20);
    /* fill to within a few bytes of the budget: big records, then small ones */
    static char filler[4000];
    memset(filler, 'x', sizeof filler);
    const size_t sizes[] = {4000, 200, 8, 1};
    for (size_t i = 0; i < 4; i++) {
        const void *recs[] = {filler};
        size_t lens[] = {sizes[i]};
        uint64_t first;
        int rv;
        while ((rv = aw_store_append(s_e.store, AW_LANE_URGENT, recs, lens, 1, 0, &first)) == AW_OK)
            ;
        cr_assert_eq(rv, AW_EURGENTFULL);
    }
    uint64_t urgent = s_head(AW_LANE_URGENT);
    cr_assert_eq(s_post("[{\"bn\":\"huaxin-gas-1/\",\"n\":\"h2s\",\"v\":16}]", 0, T0), AW_OK);
    cr_assert_eq(s_post("[{\"bn\":\"huaxin-gas-1/\",\"n\":\"temperature\",\"v\":16}]", 1, T0),
                 AW_OK);
    cr_assert_eq(aw_ingest_flush(s_e.ing, T0, s_done, NULL), 0);
    cr_assert_eq(s_e.n_results, 2);
    cr_assert(s_e.results[0] == AW_EFULL || s_e.results[0] == AW_EURGENTFULL);
    cr_assert(s_e.results[1] == AW_EFULL || s_e.results[1] == AW_EURGENTFULL);
    cr_assert_eq(s_head(AW_LANE_BULK), 0);
    cr_assert_eq(s_head(AW_LANE_URGENT), urgent);
    aw_ingest_stats st;
    aw_ingest_get_stats(s_e.ing, &st);
    cr_assert_eq(st.alarms.active[AW_LEVEL_ORANGE], 0, "the engine forgot the failed pack");
    cr_assert_eq(st.failed, 2);
}
