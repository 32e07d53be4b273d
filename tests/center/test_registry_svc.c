/* Unit tests of center/registry_svc: import (valid, invalid, stale
 * version, zone extract), the per-edge push of each zone's extract over the
 * down channel, and loading the stored registry at start-up. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "center_fixture.h"
#include "picture.h"
#include "registry_svc.h"

#define EPOCH1 UINT64_C(0x1111111111111111)
#define EPOCH2 UINT64_C(0x2222222222222222)
#define EPOCH3 UINT64_C(0x3333333333333333)
#define ZONE_A "yueyang/rongjiawan"
#define ZONE_B "yueyang/xinkai"

static fx s_fx;
static fx_out s_out;
static aw_picture_t *s_pic;
static aw_registry_svc_t *s_reg;

/* A county of two zones, version @p version (written into @p buf). */
static const char *s_county(char *buf, size_t cap, unsigned version)
{
    snprintf(buf, cap,
             "{\"county\": \"yueyang\", \"name\": \"岳阳县\", \"version\": %u, \"zones\": ["
             " {\"path\": \"yueyang/rongjiawan\", \"kind\": \"township\", \"villages\": ["
             "  {\"path\": \"yueyang/rongjiawan/xinqiang\", \"sites\": ["
             "   {\"path\": \"yueyang/rongjiawan/xinqiang/huaxin-chem\", \"sector\": "
             "\"hazardous-chemicals\", \"risk\": \"orange\", \"devices\": ["
             "    {\"id\": \"huaxin-t3\", \"kind\": \"sensor\", \"metrics\": [{\"name\": "
             "\"tank-level\", \"unit\": \"m\"}]},"
             "    {\"id\": \"huaxin-siren-1\", \"kind\": \"siren\", \"uri\": "
             "\"coap://127.0.0.1:5690/alert\"}]}]}]},"
             " {\"path\": \"yueyang/xinkai\", \"kind\": \"township\", \"villages\": ["
             "  {\"path\": \"yueyang/xinkai/shanxia\", \"sites\": ["
             "   {\"path\": \"yueyang/xinkai/shanxia/tongmu-dam\", \"sector\": \"tailings-dam\", "
             "\"risk\": \"blue\", \"devices\": ["
             "    {\"id\": \"tongmu-siren\", \"kind\": \"siren\", \"uri\": "
             "\"coap://127.0.0.1:5691/alert\"}]}]}]}]}",
             version);
    return buf;
}

static void s_setup(void)
{
    fx_open(&s_fx);
    memset(&s_out, 0, sizeof s_out);
    cr_assert_eq(aw_picture_open(s_fx.db, &s_pic), AW_OK);
    cr_assert_eq(aw_registry_svc_open(s_fx.db, s_pic, FX_T0, &s_reg), AW_OK);
}

static void s_teardown(void)
{
    aw_registry_svc_destroy(&s_reg);
    aw_picture_destroy(&s_pic);
    fx_out_clear(&s_out);
    fx_close(&s_fx);
}

TestSuite(registry_svc, .init = s_setup, .fini = s_teardown);

/* Makes @p edge known (it said Hello with @p zone in @p epoch). */
static void s_edge_hello(const char *edge, uint64_t epoch, const char *zone)
{
    aw_center_session_t *s = fx_session(&s_fx, edge, NULL, &s_out);
    cr_assert_eq(fx_hello(s, edge, epoch, 0, 0, zone, FX_T0, FX_T0), AW_OK);
    aw_center_session_destroy(&s);
}

/* The Downs queued for (edge, epoch), decoded; *n gets the count. */
typedef struct s_downs {
    Anwang__Envelope *env[32];
    size_t n;
} s_downs;

static int s_down_cb(void *arg, uint64_t seq, const uint8_t *env, size_t len)
{
    s_downs *d = arg;
    (void)seq;
    cr_assert_lt(d->n, 32);
    char why[160];
    cr_assert_eq(aw_codec_envelope_decode(env, len, NULL, &d->env[d->n], why, sizeof why), AW_OK,
                 "%s", why);
    d->n++;
    return 0;
}

static void s_downs_read(s_downs *d, const char *edge, uint64_t epoch)
{
    memset(d, 0, sizeof *d);
    cr_assert_eq(aw_center_down_read(s_fx.db, edge, epoch, 1, 32, s_down_cb, d), AW_OK);
}

static void s_downs_free(s_downs *d)
{
    for (size_t i = 0; i < d->n; i++)
        aw_codec_envelope_free(&d->env[i]);
    d->n = 0;
}

/* Checks that @p d holds exactly one Down, the registry extract of @p zone at @p version. */
static void s_assert_extract(s_downs *d, const char *zone, uint64_t version)
{
    cr_assert_eq(d->n, 1, "%zu downs queued", d->n);
    cr_assert_eq(d->env[0]->msg_case, ANWANG__ENVELOPE__MSG_DOWN);
    const Anwang__Down *down = d->env[0]->down;
    cr_assert_eq(down->body_case, ANWANG__DOWN__BODY_REGISTRY);
    cr_assert_eq(down->registry->version, version);
    cr_assert_str_eq(down->registry->zone, zone);
    aw_registry_t *ex = NULL;
    cr_assert_eq(aw_registry_parse((const char *)down->registry->json.data,
                                   down->registry->json.len, &ex, NULL),
                 AW_OK);
    cr_assert_str_eq(aw_registry_extract_zone(ex), zone);
    size_t nz = 0;
    const aw_zone *z = aw_registry_zones(ex, &nz);
    cr_assert_eq(nz, 1);
    cr_assert_str_eq(z[0].path, zone);
    cr_assert_eq(aw_registry_version(ex), version);
    aw_registry_destroy(&ex);
}

static char *s_stored(void)
{
    char *json = NULL;
    size_t len = 0;
    int rv = aw_registry_svc_json(s_reg, &json, &len);
    if (rv == AW_ENOTFOUND)
        return NULL;
    cr_assert_eq(rv, AW_OK);
    cr_assert_eq(strlen(json), len);
    return json;
}

/* The usage example: an import is stored, in force, and each known edge gets its zone. */
Test(registry_svc, usage_example)
{
    char doc[4096];
    cr_assert_null(aw_registry_svc_current(s_reg));
    cr_assert_null(s_stored());
    s_edge_hello("e-a", EPOCH1, ZONE_A);
    s_edge_hello("e-b", EPOCH2, ZONE_B);
    s_edge_hello("e-x", EPOCH3, "yueyang/elsewhere"); /* its zone is not in the registry */
    aw_center_edge_row row = {.zone = ZONE_A};        /* registered, never said Hello */
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin(s_fx.store, &txn), AW_OK);
    cr_assert_eq(aw_center_edge_row_put(txn, s_fx.db, "e-quiet", &row), AW_OK);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);

    aw_registry_errors errs = {0};
    aw_registry_put_report rep;
    s_county(doc, sizeof doc, 7);
    cr_assert_eq(aw_registry_svc_put(s_reg, doc, strlen(doc), FX_T0, &errs, &rep), AW_OK);
    cr_assert_eq(errs.count, 0);
    cr_assert_eq(rep.version, 7);
    cr_assert_eq(rep.zones, 2);
    cr_assert_eq(rep.edges_pushed, 2);

    const aw_registry_t *cur = aw_registry_svc_current(s_reg);
    cr_assert_not_null(cur);
    cr_assert_eq(aw_registry_version(cur), 7);
    char *stored = s_stored();
    cr_assert_str_eq(stored, doc);
    free(stored);

    s_downs d;
    s_downs_read(&d, "e-a", EPOCH1);
    s_assert_extract(&d, ZONE_A, 7);
    s_downs_free(&d);
    s_downs_read(&d, "e-b", EPOCH2);
    s_assert_extract(&d, ZONE_B, 7);
    s_downs_free(&d);
    s_downs_read(&d, "e-x", EPOCH3);
    cr_assert_eq(d.n, 0);
    s_downs_read(&d, "e-quiet", 0);
    cr_assert_eq(d.n, 0);

    aw_txn_t *rd = NULL;
    cr_assert_eq(aw_store_begin_read(s_fx.store, &rd), AW_OK);
    cr_assert(aw_picture_built_for_current(s_pic, rd));
    aw_txn_abort(&rd);
    aw_registry_errors_clear(&errs);
}

/* An invalid file: every error with its JSON path, and nothing changes. */
Test(registry_svc, invalid_changes_nothing)
{
    char doc[4096];
    s_county(doc, sizeof doc, 7);
    cr_assert_eq(aw_registry_svc_put(s_reg, doc, strlen(doc), FX_T0, NULL, NULL), AW_OK);
    s_edge_hello("e-a", EPOCH1, ZONE_A);
    s_downs d;
    s_downs_read(&d, "e-a", EPOCH1);
    size_t before = d.n; /* the snapshot's extract */
    s_downs_free(&d);

    static const char bad[] =
        "{\"county\": \"yueyang\", \"version\": 8, \"zones\": ["
        " {\"path\": \"yueyang/rongjiawan\", \"kind\": \"hamlet\", \"villages\": ["
        "  {\"path\": \"yueyang/rongjiawan/x\", \"sites\": ["
        "   {\"path\": \"yueyang/rongjiawan/x/s\", \"sector\": \"fireworks\", \"risk\": \"pink\","
        "    \"devices\": [{\"id\": \"Bad Id\", \"kind\": \"siren\"}]}]}]}]}";
    aw_registry_errors errs = {0};
    aw_registry_put_report rep = {0};
    cr_assert_eq(aw_registry_svc_put(s_reg, bad, strlen(bad), FX_T0, &errs, &rep), AW_EINVAL);
    cr_assert_geq(errs.count, 3, "%zu errors", errs.count);
    bool kind = false, risk = false, id = false;
    for (size_t i = 0; i < errs.count; i++) {
        cr_assert_eq(strncmp(errs.msgs[i], "$.", 2), 0, "no JSON path: %s", errs.msgs[i]);
        kind |= strstr(errs.msgs[i], "$.zones[0].kind") != NULL;
        risk |= strstr(errs.msgs[i], "$.zones[0].villages[0].sites[0].risk") != NULL;
        id |= strstr(errs.msgs[i], "devices[0].id") != NULL;
    }
    cr_assert(kind && risk && id);
    aw_registry_errors_clear(&errs);

    static const char garbage[] = "{\"county\": ";
    cr_assert_eq(aw_registry_svc_put(s_reg, garbage, strlen(garbage), FX_T0, &errs, NULL),
                 AW_EINVAL);
    cr_assert_geq(errs.count, 1);
    aw_registry_errors_clear(&errs);

    cr_assert_eq(aw_registry_version(aw_registry_svc_current(s_reg)), 7);
    char *stored = s_stored();
    cr_assert_str_eq(stored, doc);
    free(stored);
    s_downs_read(&d, "e-a", EPOCH1);
    cr_assert_eq(d.n, before);
    s_downs_free(&d);
}

/* A version not above the stored one is refused with one message saying so. */
Test(registry_svc, version_must_rise)
{
    char doc[4096];
    s_county(doc, sizeof doc, 7);
    cr_assert_eq(aw_registry_svc_put(s_reg, doc, strlen(doc), FX_T0, NULL, NULL), AW_OK);
    s_edge_hello("e-a", EPOCH1, ZONE_A);
    s_downs d;
    s_downs_read(&d, "e-a", EPOCH1);
    size_t before = d.n;
    s_downs_free(&d);

    aw_registry_errors errs = {0};
    for (unsigned v = 6; v <= 7; v++) {
        char other[4096];
        s_county(other, sizeof other, v);
        cr_assert_eq(aw_registry_svc_put(s_reg, other, strlen(other), FX_T0, &errs, NULL),
                     AW_ESTATE);
        cr_assert_eq(errs.count, 1);
        char want[128];
        snprintf(want, sizeof want, "$.version: %u is not above the stored version 7; raise it", v);
        cr_assert_str_eq(errs.msgs[0], want);
        aw_registry_errors_clear(&errs);
    }
    s_downs_read(&d, "e-a", EPOCH1);
    cr_assert_eq(d.n, before);
    s_downs_free(&d);

    s_county(doc, sizeof doc, 8);
    aw_registry_put_report rep;
    cr_assert_eq(aw_registry_svc_put(s_reg, doc, strlen(doc), FX_T0, &errs, &rep), AW_OK);
    cr_assert_eq(rep.version, 8);
    cr_assert_eq(rep.edges_pushed, 1);
    cr_assert_eq(aw_registry_version(aw_registry_svc_current(s_reg)), 8);
}

/* A zone extract (what an edge gets) is not a county registry. */
Test(registry_svc, zone_extract_refused)
{
    char doc[4096];
    s_county(doc, sizeof doc, 7);
    aw_registry_t *full = NULL;
    cr_assert_eq(aw_registry_parse(doc, strlen(doc), &full, NULL), AW_OK);
    char *ex = NULL;
    cr_assert_eq(aw_registry_zone_json(full, ZONE_A, &ex), AW_OK);
    aw_registry_destroy(&full);
    aw_registry_errors errs = {0};
    cr_assert_eq(aw_registry_svc_put(s_reg, ex, strlen(ex), FX_T0, &errs, NULL), AW_EINVAL);
    cr_assert_eq(errs.count, 1);
    cr_assert_eq(strncmp(errs.msgs[0], "$.zone: ", 8), 0, "%s", errs.msgs[0]);
    aw_registry_errors_clear(&errs);
    free(ex);
    cr_assert_null(aw_registry_svc_current(s_reg));
    cr_assert_null(s_stored());
}

/* A restart loads the stored registry. */
Test(registry_svc, reopen_loads_it)
{
    char doc[4096];
    s_county(doc, sizeof doc, 9);
    cr_assert_eq(aw_registry_svc_put(s_reg, doc, strlen(doc), FX_T0, NULL, NULL), AW_OK);
    aw_registry_svc_destroy(&s_reg);
    aw_registry_svc_destroy(&s_reg);
    aw_picture_destroy(&s_pic);
    fx_reopen(&s_fx);
    cr_assert_eq(aw_picture_open(s_fx.db, &s_pic), AW_OK);
    cr_assert_eq(aw_registry_svc_open(s_fx.db, s_pic, FX_T0 + 1000, &s_reg), AW_OK);
    const aw_registry_t *cur = aw_registry_svc_current(s_reg);
    cr_assert_not_null(cur);
    cr_assert_eq(aw_registry_version(cur), 9);
    cr_assert_not_null(aw_registry_zone_find(cur, ZONE_B));
    char *stored = s_stored();
    cr_assert_str_eq(stored, doc);
    free(stored);
}

/* Over the size limit: AW_ETOOBIG, nothing stored. */
Test(registry_svc, too_big)
{
    size_t len = AW_REGISTRY_MAX_BYTES + 1;
    char *big = malloc(len);
    cr_assert_not_null(big);
    memset(big, ' ', len);
    aw_registry_errors errs = {0};
    cr_assert_eq(aw_registry_svc_put(s_reg, big, len, FX_T0, &errs, NULL), AW_ETOOBIG);
    aw_registry_errors_clear(&errs);
    free(big);
    cr_assert_null(aw_registry_svc_current(s_reg));
    cr_assert_null(s_stored());
}

/* Reads deploy/registry/NAME next to this source file (the tree's own samples). */
static char *s_deploy_file(const char *name, size_t *len)
{
    char path[512];
    const char *src = __FILE__, *cut = strstr(src, "tests/center/");
    cr_assert_not_null(cut, "cannot find the source tree from %s", src);
    snprintf(path, sizeof path, "%.*sdeploy/registry/%s", (int)(cut - src), src, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    char *buf = malloc(AW_REGISTRY_MAX_BYTES);
    cr_assert_not_null(buf);
    *len = fread(buf, 1, AW_REGISTRY_MAX_BYTES, f);
    fclose(f);
    return buf;
}

/* The sample registries of deploy/ import, each edge getting its zone. */
Test(registry_svc, deploy_samples)
{
    s_edge_hello("e-a", EPOCH1, ZONE_A);
    size_t len = 0;
    char *doc = s_deploy_file("county.json", &len);
    aw_registry_put_report rep;
    aw_registry_errors errs = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rv = aw_registry_svc_put(s_reg, doc, len, FX_T0, &errs, &rep);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_eq(rv, AW_OK, "%s", errs.count ? errs.msgs[0] : aw_strerror(rv));
    cr_log_info("county.json (%zu bytes, %zu zones): imported in %.0f ms", len, rep.zones,
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    free(doc);
    uint64_t v = rep.version;

    doc = s_deploy_file("mini.json", &len);
    rv = aw_registry_svc_put(s_reg, doc, len, FX_T0, &errs, &rep);
    if (v >= 3) { /* mini.json is version 3: only above a lower county version */
        cr_assert_eq(rv, AW_ESTATE);
    } else {
        cr_assert_eq(rv, AW_OK);
        cr_assert_eq(rep.zones, 2);
        cr_assert_eq(rep.edges_pushed, 1);
        s_downs d;
        s_downs_read(&d, "e-a", EPOCH1);
        cr_assert_geq(d.n, 1);
        const Anwang__Down *last = d.env[d.n - 1]->down;
        cr_assert_eq(last->body_case, ANWANG__DOWN__BODY_REGISTRY);
        cr_assert_eq(last->registry->version, 3);
        cr_assert_str_eq(last->registry->zone, ZONE_A);
        s_downs_free(&d);
    }
    aw_registry_errors_clear(&errs);
    free(doc);
}

/* A failure inside the import's transaction (here a damaged down-channel row of an edge)
 * changes nothing; a damaged edge row is only left out. */
Test(registry_svc, failed_import_rolls_back)
{
    char doc[4096], next[4096];
    s_county(doc, sizeof doc, 7);
    cr_assert_eq(aw_registry_svc_put(s_reg, doc, strlen(doc), FX_T0, NULL, NULL), AW_OK);
    s_edge_hello("e-a", EPOCH1, ZONE_A);
    s_downs d;
    s_downs_read(&d, "e-a", EPOCH1);
    size_t before = d.n;
    s_downs_free(&d);
    aw_txn_t *txn = NULL;
    uint8_t key[AW_CENTER_KEY_MAX];
    size_t klen = aw_center_key_epoch(key, "e-a", EPOCH1);
    cr_assert_eq(aw_store_begin(s_fx.store, &txn), AW_OK);
    cr_assert_eq(aw_txn_put(txn, aw_center_db_table(s_fx.db, AW_CT_EDGES), "e-b", 3, "junk", 4),
                 AW_OK);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);
    s_county(next, sizeof next, 8);
    aw_registry_put_report rep;
    cr_assert_eq(aw_registry_svc_put(s_reg, next, strlen(next), FX_T0, NULL, &rep), AW_OK);
    cr_assert_eq(rep.edges_pushed, 1); /* e-a; e-b's row is damaged */
    s_downs_read(&d, "e-a", EPOCH1);
    before = d.n;
    s_downs_free(&d);
    memcpy(doc, next, sizeof doc);

    cr_assert_eq(aw_store_begin(s_fx.store, &txn), AW_OK);
    cr_assert_eq(aw_txn_put(txn, aw_center_db_table(s_fx.db, AW_CT_EPOCHS), key, klen, "junk", 4),
                 AW_OK);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);
    s_county(next, sizeof next, 9);
    cr_assert_eq(aw_registry_svc_put(s_reg, next, strlen(next), FX_T0, NULL, NULL), AW_ECORRUPT);
    cr_assert_eq(aw_registry_version(aw_registry_svc_current(s_reg)), 8);
    char *stored = s_stored();
    cr_assert_str_eq(stored, doc);
    free(stored);
    s_downs_read(&d, "e-a", EPOCH1);
    cr_assert_eq(d.n, before);
    s_downs_free(&d);
    cr_assert_eq(aw_store_begin_read(s_fx.store, &txn), AW_OK);
    cr_assert(aw_picture_built_for_current(s_pic, txn)); /* still the old registry's rows */
    aw_txn_abort(&txn);
}
