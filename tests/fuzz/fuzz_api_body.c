/*
 * libFuzzer target for the bodies of the HTTP API's writes (center/api.c
 * and the services behind it), in process: no sockets, aw_api_handle()
 * with an admin token as the HTTP layer calls it.
 *
 * Input: the first byte picks the endpoint, the rest is the body:
 *   0 POST /api/v1/hazards          3 PUT  /api/v1/registry
 *   1 POST /api/v1/hazards/<h>/events  4 POST /api/v1/alarms/<a>/ack
 *   2 POST /api/v1/alerts           5 POST /api/v1/alerts/<id>/cancel
 * (<h> is a hazard reported at start-up, <a> an unknown alarm, <id> an
 * alert issued at start-up). The store (temp dir, made once per process,
 * recreated every S_RESET_EVERY inputs) holds a small registry of one zone.
 *
 * Checks (abort() on failure) after each input:
 *  - the answer has a status 200..599 and a JSON body; an error answer
 *    (4xx/5xx) is {"error": string, "detail": string};
 *  - an error answer changed nothing: the hazards, alerts, down-channel and
 *    registry tables are as before (the audit table may grow: refused
 *    writes are audited too).
 * Leaks are caught by LeakSanitizer.
 *
 * Seeds: corpus/fuzz_api_body/ (one file per endpoint, valid and broken).
 */
#include <ftw.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert_svc.h"
#include "api.h"
#include "audit.h"
#include "db.h"
#include "hazard_svc.h"
#include "hlc.h"
#include "log.h"
#include "metrics.h"
#include "picture.h"
#include "registry_svc.h"
#include "tokens.h"

#define S_RESET_EVERY 2000
#define S_TOKEN       "fuzz-admin-token-0123456789"
#define S_NOW         INT64_C(1740817800000)

#define S_CHECK(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_api_body: check failed: %s (line %d)\n", #cond, __LINE__);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char s_registry[] =
    "{\"county\": \"yueyang\", \"name\": \"x\", \"version\": 1, \"zones\": [{"
    "\"path\": \"yueyang/rongjiawan\", \"name\": \"z\", \"kind\": \"township\", \"villages\": [{"
    "\"path\": \"yueyang/rongjiawan/xinqiang\", \"name\": \"v\", \"sites\": [{"
    "\"path\": \"yueyang/rongjiawan/xinqiang/huaxin-chem\", \"name\": \"s\", "
    "\"sector\": \"hazardous-chemicals\", \"risk\": \"orange\", \"devices\": ["
    "{\"id\": \"huaxin-t3\", \"kind\": \"sensor\", \"interval_s\": 10, \"metrics\": ["
    "{\"name\": \"tank-level\", \"unit\": \"m\", \"item\": \"tank-3\", "
    "\"high\": {\"yellow\": 7.5, \"red\": 8.5}}]}]}]}]}]}";

static const char s_report[] =
    "{\"site\": \"yueyang/rongjiawan/xinqiang/huaxin-chem\", \"sector\": "
    "\"hazardous-chemicals\", \"level\": \"general\", \"title\": \"valve\", \"description\": "
    "\"d\", \"source\": \"inspection\", \"reporter\": \"r\"}";

static const char s_alert[] =
    "{\"status\": \"Exercise\", \"event\": \"drill\", \"area\": [\"yueyang/rongjiawan\"]}";

static struct {
    char dir[64];
    aw_store_t *store;
    aw_center_db_t *db;
    aw_hlc hlc;
    aw_picture_t *pic;
    aw_registry_svc_t *reg;
    aw_hazard_svc_t *haz;
    aw_alert_svc_t *alerts;
    aw_audit_t *audit;
    aw_metrics_t *metrics;
    aw_api_t *api;
    char paths[6][192];
    unsigned inputs;
} s;

static int64_t s_clock(void)
{
    return S_NOW;
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void s_close(void)
{
    aw_api_destroy(&s.api);
    aw_alert_svc_destroy(&s.alerts);
    aw_hazard_svc_destroy(&s.haz);
    aw_registry_svc_destroy(&s.reg);
    aw_picture_destroy(&s.pic);
    aw_audit_destroy(&s.audit);
    aw_metrics_destroy(&s.metrics);
    aw_center_db_destroy(&s.db);
    aw_store_destroy(&s.store);
    if (*s.dir)
        nftw(s.dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    s.dir[0] = '\0';
}

static int s_record(void *arg, aw_txn_t *txn, const aw_center_origin *from,
                    const Anwang__Record *rec)
{
    (void)arg;
    int rv = aw_picture_on_record(s.pic, txn, from, rec);
    return rv == AW_OK ? aw_alert_svc_on_record(s.alerts, txn, from, rec) : rv;
}

static aw_tokens_t *s_tokens(void)
{
    char path[96], why[256];
    snprintf(path, sizeof path, "%s/tokens", s.dir);
    FILE *f = fopen(path, "w");
    S_CHECK(f != NULL);
    fprintf(f, "%s admin fuzzer\n", S_TOKEN);
    fclose(f);
    aw_tokens_t *t = NULL;
    S_CHECK(aw_tokens_load(path, &t, why, sizeof why) == AW_OK);
    return t;
}

static void s_services(void)
{
    aw_hlc_init(&s.hlc, aw_store_hlc_floor(s.store));
    S_CHECK(aw_picture_open(s.db, &s.pic) == AW_OK);
    S_CHECK(aw_registry_svc_open(s.db, s.pic, S_NOW, &s.reg) == AW_OK);
    aw_hazard_svc_opts ho = {
        .db = s.db, .picture = s.pic, .registry = s.reg, .hlc = &s.hlc, .origin = "fuzz-center"};
    S_CHECK(aw_hazard_svc_new(&ho, &s.haz) == AW_OK);
    S_CHECK(aw_alert_svc_open(s.db, s.reg, "fuzz-center", &s.alerts) == AW_OK);
    aw_center_db_set_record_hook(s.db, s_record, NULL);
    S_CHECK(aw_audit_open(s.store, &s.audit) == AW_OK);
    S_CHECK(aw_metrics_new(&s.metrics) == AW_OK);
    aw_api_opts ao = {.db = s.db,
                      .picture = s.pic,
                      .registry = s.reg,
                      .hazards = s.haz,
                      .alerts = s.alerts,
                      .audit = s.audit,
                      .metrics = s.metrics,
                      .center_id = "fuzz-center",
                      .center_name = "",
                      .version = "fuzz",
                      .started_ms = S_NOW,
                      .now_ms = s_clock};
    S_CHECK(aw_api_new(&ao, s_tokens(), &s.api) == AW_OK);
}

/* The registry, one hazard and one alert, made through the services. */
static void s_fill(void)
{
    aw_registry_errors errs = {0};
    aw_registry_put_report rep;
    char why[512];
    json_t *out = NULL;
    S_CHECK(aw_registry_svc_put(s.reg, s_registry, strlen(s_registry), S_NOW, &errs, &rep) ==
            AW_OK);
    aw_registry_errors_clear(&errs);
    S_CHECK(aw_hazard_svc_report(s.haz, s_report, strlen(s_report), "fuzzer", S_NOW, &out, why,
                                 sizeof why) == AW_OK);
    snprintf(s.paths[1], sizeof s.paths[1], "/api/v1/hazards/%s/events",
             json_string_value(json_object_get(out, "id")));
    json_decref(out);
    S_CHECK(aw_alert_svc_create(s.alerts, s_alert, strlen(s_alert), "fuzzer", S_NOW, &out, why,
                                sizeof why) == AW_OK);
    snprintf(s.paths[5], sizeof s.paths[5], "/api/v1/alerts/%s/cancel",
             json_string_value(json_object_get(out, "id")));
    json_decref(out);
    snprintf(s.paths[0], sizeof s.paths[0], "/api/v1/hazards");
    snprintf(s.paths[2], sizeof s.paths[2], "/api/v1/alerts");
    snprintf(s.paths[3], sizeof s.paths[3], "/api/v1/registry");
    snprintf(s.paths[4], sizeof s.paths[4], "/api/v1/alarms/no-such-alarm/ack");
}

static void s_open(void)
{
    snprintf(s.dir, sizeof s.dir, "/tmp/aw_fuzz_api.XXXXXX");
    S_CHECK(mkdtemp(s.dir) != NULL);
    aw_store_opts opts = {.path = s.dir,
                          .map_size = 64u << 20,
                          .map_max = 1u << 30,
                          .durability = AW_DURABLE_NOSYNC,
                          .max_tables = 64};
    S_CHECK(aw_store_open(&opts, &s.store) == AW_OK);
    S_CHECK(aw_center_db_open(s.store, &s.db) == AW_OK);
    s_services();
    s_fill();
}

/* ------------------------------------------------------------ the tables' fingerprint */

typedef struct s_sum {
    uint64_t entries, hash;
} s_sum;

static int s_add(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_sum *sum = arg;
    const unsigned char *p[2] = {key, val};
    size_t n[2] = {klen, vlen};
    sum->entries++;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < n[k]; i++)
            sum->hash = (sum->hash ^ p[k][i]) * UINT64_C(1099511628211);
    return 0;
}

static s_sum s_fingerprint(void)
{
    static const aw_center_table tables[] = {AW_CT_HAZARDS, AW_CT_ALERTS, AW_CT_DOWN,
                                             AW_CT_REGISTRY};
    s_sum sum = {0, UINT64_C(14695981039346656037)};
    aw_txn_t *txn = NULL;
    S_CHECK(aw_store_begin_read(s.store, &txn) == AW_OK);
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        S_CHECK(aw_txn_scan(txn, aw_center_db_table(s.db, tables[i]), NULL, 0, NULL, 0, s_add,
                            &sum) == AW_OK);
    aw_txn_abort(&txn);
    return sum;
}

static void s_check_answer(const aw_api_response *resp)
{
    S_CHECK(resp->status >= 200 && resp->status <= 599);
    json_t *o = json_loadb(resp->body, resp->len, 0, NULL);
    S_CHECK(o != NULL);
    if (resp->status >= 400) {
        S_CHECK(json_is_string(json_object_get(o, "error")));
        S_CHECK(json_is_string(json_object_get(o, "detail")));
    }
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"POST", "POST", "POST", "PUT", "POST", "POST"};
    if (size < 1)
        return 0;
    if (!s.store) {
        aw_log_init("fuzz_api_body", AW_LOG_ERROR);
        atexit(s_close);
        s_open();
    } else if (++s.inputs % S_RESET_EVERY == 0) {
        s_close();
        s_open();
    }
    unsigned which = data[0] % 6;
    aw_api_request req = {.method = methods[which],
                          .path = s.paths[which],
                          .authorization = "Bearer " S_TOKEN,
                          .content_type = "application/json",
                          .body = (const char *)data + 1,
                          .body_len = size - 1};
    aw_api_response resp;
    s_sum before = s_fingerprint();
    aw_api_handle(s.api, &req, &resp);
    s_check_answer(&resp);
    if (resp.status >= 400) {
        s_sum after = s_fingerprint();
        S_CHECK(after.entries == before.entries && after.hash == before.hash);
    }
    aw_api_response_clear(&resp);
    return 0;
}
