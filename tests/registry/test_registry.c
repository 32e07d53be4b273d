/* Tests for registry/registry: parse, validate, look up and emit the
 * registry JSON of SPEC §1. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry.h"

#define MINI_JSON AW_SOURCE_DIR "/deploy/registry/mini.json"

/* The example of SPEC §1, verbatim. */
static const char s_spec_example[] =
    "{\n"
    "  \"county\": \"yueyang\", \"name\": \"岳阳县\", \"version\": 7,\n"
    "  \"zones\": [{\n"
    "    \"path\": \"yueyang/rongjiawan\", \"name\": \"荣家湾镇\", \"kind\": \"township\",\n"
    "    \"villages\": [{\n"
    "      \"path\": \"yueyang/rongjiawan/xinqiang\", \"name\": \"新墙村\",\n"
    "      \"sites\": [{\n"
    "        \"path\": \"yueyang/rongjiawan/xinqiang/huaxin-chem\", \"name\": \"华鑫化工\",\n"
    "        \"sector\": \"hazardous-chemicals\", \"risk\": \"orange\",\n"
    "        \"devices\": [\n"
    "          {\"id\": \"huaxin-t3\", \"kind\": \"sensor\", \"interval_s\": 10,\n"
    "           \"metrics\": [{\"name\": \"tank-level\", \"unit\": \"m\", \"item\": \"tank-3\",\n"
    "                        \"high\": {\"blue\": 7.0, \"yellow\": 7.5, \"orange\": 8.0, \"red\": "
    "8.5},\n"
    "                        \"deadband\": 0.1, \"debounce\": 3}]},\n"
    "          {\"id\": \"huaxin-siren-1\", \"kind\": \"siren\", \"uri\": "
    "\"coap://127.0.0.1:5690/alert\"}\n"
    "        ]}]}]}],\n"
    "  \"plans\": [{\"id\": \"huaxin-leak\", \"when\": {\"site\": "
    "\"yueyang/rongjiawan/xinqiang/huaxin-chem\", \"level\": \"red\"},\n"
    "             \"mode\": \"confirm\",\n"
    "             \"alert\": {\"area\": [\"yueyang/rongjiawan\"], \"event\": \"chemical leak\", "
    "\"severity\": \"Severe\",\n"
    "                       \"urgency\": \"Immediate\", \"certainty\": \"Observed\", "
    "\"instruction\": \"...\"}}]\n"
    "}\n";

static int s_parse(const char *json, aw_registry_t **reg, aw_registry_errors *errs)
{
    return aw_registry_parse(json, strlen(json), reg, errs);
}

/* Returns whether some message of @p errs starts with @p prefix. */
static int s_has_error(const aw_registry_errors *errs, const char *prefix)
{
    for (size_t i = 0; i < errs->count; i++) {
        if (strncmp(errs->msgs[i], prefix, strlen(prefix)) == 0)
            return 1;
    }
    return 0;
}

static char *s_dump_errors(const aw_registry_errors *errs)
{
    static char buf[8192];
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < errs->count && used < sizeof buf; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "\n  %s", errs->msgs[i]);
    return buf;
}

/* Usage: load (or parse), report every fault, look things up, destroy. */
Test(registry, usage_example)
{
    aw_registry_t *reg = NULL;
    aw_registry_errors errs = {0};

    int rv = aw_registry_load_file(MINI_JSON, &reg, &errs);
    cr_assert_eq(rv, AW_OK, "%s:%s", aw_strerror(rv), s_dump_errors(&errs));
    cr_assert_eq(errs.count, 0);
    cr_assert_eq(aw_registry_version(reg), 3);
    cr_assert_str_eq(aw_registry_county(reg), "yueyang");

    /* per reading: device, then metric, then its thresholds */
    const aw_device *dev = aw_registry_device_find(reg, "huaxin-t3");
    cr_assert_not_null(dev);
    const aw_metric *m = aw_registry_metric_find(dev, "tank-level");
    cr_assert_not_null(m);
    cr_assert(aw_thresholds_has(&m->high, AW_LEVEL_ORANGE));
    cr_assert_float_eq(m->high.at[AW_LEVEL_ORANGE], 8.0, 1e-12);
    cr_assert_str_eq(m->item, "tank-3");
    cr_assert_str_eq(dev->site->path, "yueyang/rongjiawan/xinqiang/huaxin-chem");
    cr_assert_str_eq(aw_registry_zone_of(reg, dev->site->path)->path, "yueyang/rongjiawan");

    /* what the center pushes to one edge */
    char *json = NULL;
    cr_assert_eq(aw_registry_zone_json(reg, "yueyang/rongjiawan", &json), AW_OK);
    free(json);

    aw_registry_destroy(&reg);
    cr_assert_null(reg);
    aw_registry_destroy(&reg); /* safe twice */
    aw_registry_errors_clear(&errs);
}

Test(registry, spec_example_parses)
{
    aw_registry_t *reg = NULL;
    aw_registry_errors errs = {0};
    size_t n;

    cr_assert_eq(s_parse(s_spec_example, &reg, &errs), AW_OK, "%s", s_dump_errors(&errs));
    cr_assert_eq(aw_registry_version(reg), 7);
    cr_assert_str_eq(aw_registry_name(reg), "岳阳县");
    const aw_zone *z = aw_registry_zones(reg, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(z->kind, AW_ZONE_TOWNSHIP);
    cr_assert_str_eq(z->name, "荣家湾镇");
    const aw_site *s = aw_registry_site_find(reg, "yueyang/rongjiawan/xinqiang/huaxin-chem");
    cr_assert_not_null(s);
    cr_assert_eq(s->sector, AW_SECTOR_HAZARDOUS_CHEMICALS);
    cr_assert_eq(s->risk, AW_LEVEL_ORANGE);
    cr_assert_eq(s->n_devices, 2);
    cr_assert_eq(s->village->zone, z);

    const aw_metric *m =
        aw_registry_metric_find(aw_registry_device_find(reg, "huaxin-t3"), "tank-level");
    cr_assert_eq(m->high.mask, 0x1e);
    cr_assert_eq(m->low.mask, 0);
    cr_assert_float_eq(m->deadband, 0.1, 1e-12);
    cr_assert_eq(m->debounce, 3);
    cr_assert_eq(m->device->interval_s, 10);

    const aw_device *siren = aw_registry_device_find(reg, "huaxin-siren-1");
    cr_assert_eq(siren->kind, AW_DEVICE_SIREN);
    cr_assert_str_eq(siren->uri, "coap://127.0.0.1:5690/alert");

    const aw_plan *p = aw_registry_plans(reg, &n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(p->id, "huaxin-leak");
    cr_assert_eq(p->when_level, AW_LEVEL_RED);
    cr_assert_eq(p->mode, AW_PLAN_CONFIRM);
    cr_assert_eq(p->n_area, 1);
    cr_assert_str_eq(p->area[0], "yueyang/rongjiawan");
    cr_assert_str_eq(p->severity, "Severe");
    cr_assert_str_eq(p->instruction, "...");
    cr_assert_null(p->headline);
    aw_registry_destroy(&reg);
}

Test(registry, defaults)
{
    aw_registry_t *reg = NULL;

    cr_assert_eq(aw_registry_load_file(MINI_JSON, &reg, NULL), AW_OK);
    const aw_device *gas = aw_registry_device_find(reg, "huaxin-gas-1");
    cr_assert_eq(gas->interval_s, AW_REGISTRY_DEFAULT_INTERVAL_S);
    cr_assert_str_eq(gas->name, "");
    cr_assert_null(gas->uri);
    const aw_metric *t = aw_registry_metric_find(gas, "temperature");
    cr_assert_str_eq(t->item, "temperature", "item defaults to the metric name");
    cr_assert_eq(t->high.mask | t->low.mask, 0, "a metric may have no thresholds");
    cr_assert_eq(t->debounce, 1);
    cr_assert_float_eq(t->deadband, 0.0, 0.0);
    cr_assert_null(aw_registry_extract_zone(reg));
    aw_registry_destroy(&reg);
}

/* ------------------------------------------------------------ validation */

/* A small valid registry the rule table mutates. */
static const char s_base[] =
    "{\"county\": \"yueyang\", \"version\": 1,"
    " \"zones\": [{\"path\": \"yueyang/rongjiawan\", \"kind\": \"township\", \"villages\": ["
    "  {\"path\": \"yueyang/rongjiawan/xinqiang\", \"sites\": ["
    "   {\"path\": \"yueyang/rongjiawan/xinqiang/huaxin-chem\", \"sector\": \"fireworks\","
    "    \"risk\": \"blue\", \"devices\": ["
    "     {\"id\": \"t1\", \"kind\": \"sensor\", \"metrics\": ["
    "       {\"name\": \"ch4\", \"unit\": \"%LEL\","
    "        \"high\": {\"blue\": 10, \"yellow\": 20, \"orange\": 30, \"red\": 40},"
    "        \"low\": {\"blue\": -10, \"red\": -20}}]},"
    "     {\"id\": \"t2\", \"kind\": \"sensor\", \"metrics\": ["
    "       {\"name\": \"ch4\", \"unit\": \"%LEL\"}]},"
    "     {\"id\": \"s1\", \"kind\": \"siren\", \"uri\": \"coap://10.0.0.1/alert\"}]}]}]}],"
    " \"plans\": [{\"id\": \"p1\","
    "  \"when\": {\"site\": \"yueyang/rongjiawan/xinqiang/huaxin-chem\", \"level\": \"red\"},"
    "  \"mode\": \"auto\", \"alert\": {\"area\": [\"yueyang/rongjiawan\"], \"event\": \"leak\","
    "   \"severity\": \"Severe\", \"urgency\": \"Immediate\", \"certainty\": \"Observed\"}}]}";

#define DEV0 "$.zones[0].villages[0].sites[0].devices[0]"
#define MET0 DEV0 ".metrics[0]"
#define SITE "zones.0.villages.0.sites.0"
#define DEV  SITE ".devices.0"
#define MET  DEV ".metrics.0"

/* Sets (or with value NULL deletes) the member at a dotted path of @p root;
 * numeric segments index arrays. */
static void s_set(json_t *root, const char *where, const char *value)
{
    char buf[256], *save = NULL, *seg, *next;
    json_t *node = root;

    snprintf(buf, sizeof buf, "%s", where);
    seg = strtok_r(buf, ".", &save);
    while ((next = strtok_r(NULL, ".", &save)) != NULL) {
        node = json_is_array(node) ? json_array_get(node, strtoul(seg, NULL, 10))
                                   : json_object_get(node, seg);
        cr_assert_not_null(node, "no %s in %s", seg, where);
        seg = next;
    }
    if (!value) {
        json_object_del(node, seg);
        return;
    }
    json_error_t jerr;
    json_t *v = json_loads(value, JSON_DECODE_ANY, &jerr);
    cr_assert_not_null(v, "bad test value %s", value);
    if (json_is_array(node) && strtoul(seg, NULL, 10) == json_array_size(node))
        json_array_append_new(node, v);
    else if (json_is_array(node))
        json_array_set_new(node, strtoul(seg, NULL, 10), v);
    else
        json_object_set_new(node, seg, v);
}

/* Parses s_base with one change; returns the errors (caller clears). */
static int s_parse_mutated(const char *where, const char *value, aw_registry_errors *errs)
{
    json_t *root = json_loads(s_base, 0, NULL);
    aw_registry_t *reg = NULL;
    char *text;
    int rv;

    cr_assert_not_null(root);
    s_set(root, where, value);
    text = json_dumps(root, 0);
    json_decref(root);
    rv = s_parse(text, &reg, errs);
    free(text);
    cr_assert_eq(rv == AW_OK, reg != NULL, "a registry exactly on success");
    aw_registry_destroy(&reg);
    return rv;
}

static const struct {
    const char *where; /* dotted path in s_base */
    const char *value; /* JSON text, NULL = delete */
    const char *error; /* expected message prefix */
} s_rules[] = {
    {"county", "\"Yue Yang\"", "$.county: must match [a-z0-9-]+"},
    {"county", NULL, "$.county: required"},
    {"county", "7", "$.county: must be a string"},
    {"version", "0", "$.version: must be an integer >= 1"},
    {"version", "1.0", "$.version: must be an integer >= 1"},
    {"version", NULL, "$.version: required"},
    {"name", "\"\"", "$.name: must be a non-empty string"},
    {"zones", NULL, "$.zones: required"},
    {"zones", "{}", "$.zones: must be an array"},
    {"zones.0", "[]", "$.zones[0]: must be an object"},
    {"zones.0.path", "\"linxiang/rongjiawan\"", "$.zones[0].path: must be \"yueyang/<segment>\""},
    {"zones.0.path", "\"yueyang/Rongjiawan\"", "$.zones[0].path: must be a grid path"},
    {"zones.0.path", "\"yueyang//x\"", "$.zones[0].path: must be a grid path"},
    {"zones.0.kind", "\"city\"",
     "$.zones[0].kind: must be one of township, street-office, industrial-park"},
    {"zones.0.villages", NULL, "$.zones[0].villages: required"},
    {"zones.0.villages.0.path", "\"yueyang/other/xinqiang\"",
     "$.zones[0].villages[0].path: must be \"yueyang/rongjiawan/<segment>\""},
    {SITE ".path", "\"yueyang/rongjiawan/xinqiang/a/b\"",
     "$.zones[0].villages[0].sites[0].path: must be \"yueyang/rongjiawan/xinqiang/<segment>\""},
    {SITE ".sector", "\"coal-mine\"", "$.zones[0].villages[0].sites[0].sector: must be one of"},
    {SITE ".risk", "\"none\"",
     "$.zones[0].villages[0].sites[0].risk: must be one of blue, yellow, orange, red"},
    {SITE ".risk", NULL, "$.zones[0].villages[0].sites[0].risk: required"},
    {SITE ".devices", NULL, "$.zones[0].villages[0].sites[0].devices: required"},
    {DEV ".id", "\"T1\"", DEV0 ".id: must match [a-z0-9._-]{1,64}"},
    {DEV ".id", "\"\"", DEV0 ".id: must match"},
    {DEV ".id", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
     DEV0 ".id: must match"},
    {DEV ".id", "\"t2\"",
     "$.zones[0].villages[0].sites[0].devices[1].id: duplicate device id \"t2\" (also at " DEV0
     ")"},
    {DEV ".kind", "\"camera\"", DEV0 ".kind: must be one of sensor, siren, loudspeaker, display"},
    {DEV ".interval_s", "0", DEV0 ".interval_s: must be an integer from 1 to 86400"},
    {DEV ".interval_s", "\"10\"", DEV0 ".interval_s: must be an integer"},
    {DEV ".metrics", "[]", DEV0 ".metrics: a sensor needs at least one metric"},
    {DEV ".metrics", NULL, DEV0 ".metrics: a sensor needs at least one metric"},
    {SITE ".devices.2.uri", NULL, "$.zones[0].villages[0].sites[0].devices[2].uri: required"},
    {SITE ".devices.2.uri", "\"http://10.0.0.1/alert\"",
     "$.zones[0].villages[0].sites[0].devices[2].uri: must be a coap:// or coaps:// URI"},
    {SITE ".devices.2.uri", "\"coap:///alert\"",
     "$.zones[0].villages[0].sites[0].devices[2].uri: must be a coap:// or coaps:// URI"},
    {MET ".name", "\"CH4\"", MET0 ".name: must match [a-z0-9._-]{1,64}"},
    {DEV ".metrics.1", "{\"name\": \"ch4\", \"unit\": \"ppm\"}",
     DEV0 ".metrics[1].name: duplicate metric \"ch4\""},
    {MET ".unit", NULL, MET0 ".unit: required"},
    {MET ".unit", "\"\"", MET0 ".unit: must be a non-empty string"},
    {MET ".item", "\"Tank 3\"", MET0 ".item: must match"},
    {MET ".high.red", "\"40\"", MET0 ".high.red: must be a number"},
    {MET ".high.red", "null", MET0 ".high.red: must be a number"},
    {MET ".high.purple", "50", MET0 ".high: unknown level \"purple\""},
    {MET ".high", "{}", MET0 ".high: must be an object with any of blue, yellow, orange, red"},
    {MET ".high", "[10]", MET0 ".high: must be an object"},
    {MET ".high.yellow", "10", MET0 ".high.yellow: must be above high.blue (10)"},
    {MET ".high.orange", "5", MET0 ".high.orange: must be above high.yellow (20)"},
    {MET ".low.red", "-5", MET0 ".low.red: must be below low.blue (-10)"},
    {MET ".low.blue", "15", MET0 ".low: must lie below every high threshold"},
    {MET ".deadband", "-0.1", MET0 ".deadband: must be a number >= 0"},
    {MET ".debounce", "0", MET0 ".debounce: must be an integer from 1 to 1000"},
    {MET ".debounce", "2.5", MET0 ".debounce: must be an integer from 1 to 1000"},
    {"plans", "{}", "$.plans: must be an array"},
    {"plans.0.id", "\"P 1\"", "$.plans[0].id: must match"},
    {"plans.1", "{}", "$.plans[1].id: required"},
    {"plans.0.when", NULL, "$.plans[0].when: required"},
    {"plans.0.when.site", "\"yueyang/rongjiawan/xinqiang/nowhere\"",
     "$.plans[0].when.site: must name a site of this registry"},
    {"plans.0.when.site", "\"yueyang/rongjiawan/xinqiang\"",
     "$.plans[0].when.site: must name a site of this registry"},
    {"plans.0.when.level", "\"none\"", "$.plans[0].when.level: must be one of blue"},
    {"plans.0.mode", "\"manual\"", "$.plans[0].mode: must be one of auto, confirm"},
    {"plans.0.alert.area", "[]", "$.plans[0].alert.area: must list at least one grid path"},
    {"plans.0.alert.area", NULL, "$.plans[0].alert.area: required"},
    {"plans.0.alert.area.0", "\"yueyang\"", "$.plans[0].alert.area[0]: must name a zone"},
    {"plans.0.alert.area.0", "\"yueyang/nowhere\"", "$.plans[0].alert.area[0]: must name a zone"},
    {"plans.0.alert.area.0", "3", "$.plans[0].alert.area[0]: must be a grid path"},
    {"plans.0.alert.event", "\"\"", "$.plans[0].alert.event: must be a non-empty string"},
    {"plans.0.alert.severity", "\"severe\"",
     "$.plans[0].alert.severity: must be one of Extreme, Severe, Moderate, Minor, Unknown"},
    {"plans.0.alert.urgency", "\"Now\"",
     "$.plans[0].alert.urgency: must be one of Immediate, Expected, Future, Past, Unknown"},
    {"plans.0.alert.certainty", NULL, "$.plans[0].alert.certainty: required"},
    {"zone", "\"yueyang/other\"", "$.zone: a zone extract must hold exactly that zone"},
};

Test(registry, each_rule_fails_with_its_path)
{
    for (size_t i = 0; i < sizeof s_rules / sizeof s_rules[0]; i++) {
        aw_registry_errors errs = {0};
        int rv = s_parse_mutated(s_rules[i].where, s_rules[i].value, &errs);
        cr_expect_eq(rv, AW_EINVAL, "rule %zu (%s): rv %d", i, s_rules[i].where, rv);
        cr_expect(s_has_error(&errs, s_rules[i].error), "rule %zu (%s = %s): want \"%s\", got:%s",
                  i, s_rules[i].where, s_rules[i].value ? s_rules[i].value : "deleted",
                  s_rules[i].error, s_dump_errors(&errs));
        aw_registry_errors_clear(&errs);
    }
}

Test(registry, base_document_is_valid)
{
    aw_registry_t *reg = NULL;
    aw_registry_errors errs = {0};

    cr_assert_eq(s_parse(s_base, &reg, &errs), AW_OK, "%s", s_dump_errors(&errs));
    aw_registry_destroy(&reg);
}

/* Changes that must still parse: optional fields and extensions. */
Test(registry, accepted_variants)
{
    static const struct {
        const char *where, *value;
    } ok[] = {
        {"name", "\"岳阳县\""},
        {"extra", "{\"any\": [1, 2]}"},          /* unknown fields are allowed */
        {DEV ".firmware", "\"1.2\""},            /* ... at any level */
        {DEV ".interval_s", "86400"},            /* boundaries */
        {MET ".debounce", "1000"},               /* ... */
        {MET ".deadband", "0"},                  /* ... */
        {MET ".high", NULL},                     /* low only */
        {MET ".low", NULL},                      /* high only */
        {MET ".high.blue", NULL},                /* any subset of levels */
        {MET ".high.red", "40.000001"},          /* reals */
        {SITE ".devices.2.kind", "\"display\""}, /* a display has no uri needed */
        {SITE ".devices.2.uri", "\"coaps://[fe80::1]:5684/a\""},
        {"plans", NULL}, /* plans are optional */
        {"plans.0.alert.area.0", "\"yueyang/rongjiawan/xinqiang/huaxin-chem\""}, /* a site */
        {"zones.0.kind", "\"industrial-park\""},
    };

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        aw_registry_errors errs = {0};
        cr_expect_eq(s_parse_mutated(ok[i].where, ok[i].value, &errs), AW_OK, "%s = %s:%s",
                     ok[i].where, ok[i].value ? ok[i].value : "deleted", s_dump_errors(&errs));
        aw_registry_errors_clear(&errs);
    }
}

Test(registry, string_limits)
{
    aw_registry_errors errs = {0};
    char value[400];

    /* 85 three-byte characters (255 bytes) fit, 86 (258 bytes) do not */
    strcpy(value, "\"");
    for (int i = 0; i < 85; i++)
        strcat(value, "岳");
    strcat(value, "\"");
    cr_expect_eq(s_parse_mutated(SITE ".name", value, &errs), AW_OK, "%s", s_dump_errors(&errs));
    value[strlen(value) - 1] = '\0';
    strcat(value, "岳\"");
    cr_expect_eq(s_parse_mutated(SITE ".name", value, &errs), AW_EINVAL);
    cr_expect(s_has_error(&errs, "$.zones[0].villages[0].sites[0].name: must be a non-empty "
                                 "string of at most 256 bytes"),
              "%s", s_dump_errors(&errs));
    aw_registry_errors_clear(&errs);
}

Test(registry, malformed_json)
{
    static const char *bad[] = {
        "",
        "{",
        "[]",
        "{\"county\": \"yueyang\", \"county\": \"x\", \"version\": 1, \"zones\": []}",
        "{\"county\": \"a\", \"version\": 1, \"zones\": []} trailing",
        "{\"county\": \"a\\u0000b\", \"version\": 1, \"zones\": []}",
        "{\"county\": \"\xff\", \"version\": 1, \"zones\": []}",
        "{\"county\": \"a\", \"version\": 1e999, \"zones\": []}",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        aw_registry_t *reg = NULL;
        aw_registry_errors errs = {0};
        cr_expect_eq(s_parse(bad[i], &reg, &errs), AW_EINVAL, "case %zu", i);
        cr_expect_null(reg);
        cr_expect_geq(errs.count, 1, "case %zu", i);
        cr_expect(s_has_error(&errs, "$"), "case %zu", i);
        aw_registry_errors_clear(&errs);
    }
    aw_registry_errors errs = {0};
    aw_registry_t *reg = NULL;
    cr_assert_eq(s_parse("{\"a\": 1, \"a\": 2}", &reg, &errs), AW_EINVAL);
    cr_expect(strstr(errs.msgs[0], "duplicate") != NULL, "%s", errs.msgs[0]);
    aw_registry_errors_clear(&errs);
}

Test(registry, every_error_is_reported)
{
    json_t *root = json_loads(s_base, 0, NULL);
    aw_registry_errors errs = {0};
    aw_registry_t *reg = NULL;

    s_set(root, "version", "0");
    s_set(root, MET ".high.red", "\"x\"");
    s_set(root, MET ".debounce", "0");
    s_set(root, DEV ".kind", "\"camera\"");
    s_set(root, "zones.0.villages.0.sites.0.devices.1.id", "\"t1\"");
    s_set(root, "plans.0.mode", "\"manual\"");
    char *text = json_dumps(root, 0);
    json_decref(root);
    cr_assert_eq(s_parse(text, &reg, &errs), AW_EINVAL);
    free(text);
    cr_assert_null(reg);
    cr_expect_eq(errs.count, 6, "%s", s_dump_errors(&errs));
    cr_expect(s_has_error(&errs, "$.version: "));
    cr_expect(s_has_error(&errs, MET0 ".high.red: must be a number"));
    cr_expect(s_has_error(&errs, MET0 ".debounce: "));
    cr_expect(s_has_error(&errs, DEV0 ".kind: "));
    cr_expect(s_has_error(&errs, "$.zones[0].villages[0].sites[0].devices[1].id: duplicate "
                                 "device id \"t1\" (also at " DEV0 ")"),
              "%s", s_dump_errors(&errs));
    cr_expect(s_has_error(&errs, "$.plans[0].mode: "));
    aw_registry_errors_clear(&errs);
    cr_assert_eq(errs.count, 0);
    aw_registry_errors_clear(&errs); /* safe twice */
}

Test(registry, error_list_is_capped)
{
    json_t *root = json_loads(s_base, 0, NULL);
    aw_registry_errors errs = {0};
    aw_registry_t *reg = NULL;
    char metrics[150 * 24] = "[", *text;

    for (int i = 0; i < 150; i++) /* each lacks its unit */
        snprintf(metrics + strlen(metrics), sizeof metrics - strlen(metrics),
                 "%s{\"name\": \"m%d\"}", i ? "," : "", i);
    strcat(metrics, "]");
    s_set(root, DEV ".metrics", metrics);
    text = json_dumps(root, 0);
    json_decref(root);
    cr_assert_eq(s_parse(text, &reg, &errs), AW_EINVAL);
    free(text);
    cr_expect_eq(errs.count, AW_REGISTRY_MAX_ERRORS);
    cr_expect_eq(errs.dropped, 50);
    cr_expect(s_has_error(&errs, DEV0 ".metrics[99].unit: required"));
    aw_registry_errors_clear(&errs);
}

Test(registry, bad_input_changes_nothing)
{
    aw_registry_t *current = NULL, *next = (aw_registry_t *)&next; /* garbage on purpose */
    aw_registry_errors errs = {0};

    cr_assert_eq(aw_registry_load_file(MINI_JSON, &current, NULL), AW_OK);
    /* the daemon's reload: parse into a new handle, swap only on success */
    cr_assert_eq(s_parse("{\"county\": \"yueyang\"}", &next, &errs), AW_EINVAL);
    cr_assert_null(next);
    cr_assert_eq(aw_registry_version(current), 3);
    cr_assert_not_null(aw_registry_device_find(current, "huaxin-t3"));
    aw_registry_errors_clear(&errs);

    cr_assert_eq(aw_registry_load_file("/nonexistent/registry.json", &next, &errs), AW_ENOTFOUND);
    cr_assert_null(next);
    cr_assert_eq(errs.count, 1);
    cr_expect(strstr(errs.msgs[0], "/nonexistent/registry.json: ") == errs.msgs[0]);
    aw_registry_errors_clear(&errs);

    cr_assert_eq(aw_registry_load_file(AW_SOURCE_DIR, &next, &errs), AW_EIO, "a directory");
    cr_assert_null(next);
    aw_registry_errors_clear(&errs);
    aw_registry_destroy(&current);
}

Test(registry, too_big)
{
    aw_registry_t *reg = NULL;
    aw_registry_errors errs = {0};

    cr_assert_eq(aw_registry_parse("{}", AW_REGISTRY_MAX_BYTES + 1, &reg, &errs), AW_ETOOBIG);
    cr_assert_null(reg);
    cr_assert_eq(errs.count, 1);
    aw_registry_errors_clear(&errs);
}

/* ------------------------------------------------------------ lookups */

Test(registry, tree_and_lookups)
{
    aw_registry_t *reg = NULL;
    size_t n;

    cr_assert_eq(aw_registry_load_file(MINI_JSON, &reg, NULL), AW_OK);
    cr_assert_eq(aw_registry_zones(reg, &n)[1].n_villages, 2);
    cr_assert_eq(n, 2);
    aw_registry_villages(reg, &n);
    cr_assert_eq(n, 4);
    aw_registry_sites(reg, &n);
    cr_assert_eq(n, 3);
    const aw_device *devs = aw_registry_devices(reg, &n);
    cr_assert_eq(n, 9);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(devs[i].index, i);
        cr_assert_eq(aw_registry_device_find(reg, devs[i].id), &devs[i]);
    }
    const aw_metric *ms = aw_registry_metrics(reg, &n);
    cr_assert_eq(n, 7);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(aw_registry_metric_find(ms[i].device, ms[i].name), &ms[i]);

    const aw_site *dam = aw_registry_site_find(reg, "yueyang/xinkai/shanxia/tongmu-dam");
    cr_assert_eq(dam->n_devices, 3);
    cr_assert_str_eq(dam->devices[2].id, "tongmu-siren");
    cr_assert_eq(dam->devices[1].metrics[0].low.mask, 0x1e);
    cr_assert_null(aw_registry_site_find(reg, "yueyang/xinkai/shanxia"), "a village");
    cr_assert_null(aw_registry_site_find(reg, "yueyang/xinkai/shanxia/none"));
    cr_assert_null(aw_registry_device_find(reg, "nope"));
    cr_assert_null(aw_registry_device_find(reg, ""));
    cr_assert_null(aw_registry_metric_find(dam->devices, "nope"));

    cr_assert_str_eq(aw_registry_zone_of(reg, "yueyang/xinkai")->path, "yueyang/xinkai");
    cr_assert_str_eq(aw_registry_zone_of(reg, "yueyang/xinkai/shanxia/tongmu-dam/x")->path,
                     "yueyang/xinkai");
    cr_assert_null(aw_registry_zone_of(reg, "yueyang/xinkaix/shanxia"));
    cr_assert_null(aw_registry_zone_of(reg, "yueyang"));
    cr_assert_null(aw_registry_zone_find(reg, "yueyang/xinkai/shanxia"));
    cr_assert_str_eq(aw_zone_kind_name(AW_ZONE_STREET_OFFICE), "street-office");
    cr_assert_str_eq(aw_sector_name(AW_SECTOR_TAILINGS_DAM), "tailings-dam");
    cr_assert_str_eq(aw_device_kind_name(AW_DEVICE_LOUDSPEAKER), "loudspeaker");
    cr_assert_str_eq(aw_plan_mode_name(AW_PLAN_AUTO), "auto");
    cr_assert_str_eq(aw_sector_name((aw_sector)99), "invalid");
    aw_registry_destroy(&reg);
}

/* Builds a county of @p n sensors (10 per site) as JSON. */
static char *s_big_county(size_t n)
{
    json_t *sites = json_array();
    char id[32], path[96];

    for (size_t s = 0; s < n / 10; s++) {
        json_t *devices = json_array();
        for (size_t d = 0; d < 10; d++) {
            snprintf(id, sizeof id, "dev-%05zu", s * 10 + d);
            json_array_append_new(devices,
                                  json_pack("{s:s, s:s, s:[{s:s, s:s, s:{s:f, s:f}}]}", "id", id,
                                            "kind", "sensor", "metrics", "name", "ch4", "unit",
                                            "%LEL", "high", "blue", 10.0, "red", 25.0));
        }
        snprintf(path, sizeof path, "yueyang/park/v/site-%zu", s);
        json_array_append_new(sites,
                              json_pack("{s:s, s:s, s:s, s:o}", "path", path, "sector",
                                        "dust-explosion", "risk", "blue", "devices", devices));
    }
    json_t *root =
        json_pack("{s:s, s:i, s:[{s:s, s:s, s:[{s:s, s:o}]}]}", "county", "yueyang", "version", 1,
                  "zones", "path", "yueyang/park", "kind", "industrial-park", "villages", "path",
                  "yueyang/park/v", "sites", sites);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

Test(registry, lookup_of_2000_devices)
{
    char *text = s_big_county(2000);
    aw_registry_t *reg = NULL;
    aw_registry_errors errs = {0};
    char id[32];
    size_t n;

    cr_assert_eq(s_parse(text, &reg, &errs), AW_OK, "%s", s_dump_errors(&errs));
    free(text);
    aw_registry_devices(reg, &n);
    cr_assert_eq(n, 2000);

    clock_t t0 = clock();
    for (int round = 0; round < 100; round++) {
        for (size_t i = 0; i < 2000; i++) {
            snprintf(id, sizeof id, "dev-%05zu", (i * 7919) % 2000);
            const aw_device *d = aw_registry_device_find(reg, id);
            cr_assert(d && strcmp(d->id, id) == 0);
            cr_assert_not_null(aw_registry_metric_find(d, "ch4"));
        }
    }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    cr_expect_lt(secs, 2.0, "200,000 lookups took %.3f s", secs);
    cr_assert_null(aw_registry_device_find(reg, "dev-02000"));
    aw_registry_destroy(&reg);
}

/* ------------------------------------------------------------ emitters */

static aw_registry_t *s_reparse(const char *json)
{
    aw_registry_t *reg = NULL;
    aw_registry_errors errs = {0};

    cr_assert_eq(s_parse(json, &reg, &errs), AW_OK, "%s", s_dump_errors(&errs));
    return reg;
}

Test(registry, to_json_round_trips)
{
    aw_registry_t *reg = NULL;
    char *a = NULL, *b = NULL;

    cr_assert_eq(aw_registry_load_file(MINI_JSON, &reg, NULL), AW_OK);
    cr_assert_eq(aw_registry_to_json(reg, &a), AW_OK);
    aw_registry_t *again = s_reparse(a);
    cr_assert_eq(aw_registry_to_json(again, &b), AW_OK);
    cr_assert_str_eq(a, b);
    const aw_metric *m =
        aw_registry_metric_find(aw_registry_device_find(again, "huaxin-t3"), "tank-level");
    cr_assert_eq(m->high.at[AW_LEVEL_BLUE], 7.0);
    cr_assert_float_eq(m->deadband, 0.1, 0);
    free(a);
    free(b);
    aw_registry_destroy(&again);
    aw_registry_destroy(&reg);
}

Test(registry, zone_extract_round_trips)
{
    aw_registry_t *reg = NULL;
    char *json = NULL;
    size_t n;

    cr_assert_eq(aw_registry_load_file(MINI_JSON, &reg, NULL), AW_OK);
    cr_assert_eq(aw_registry_zone_json(reg, "yueyang/rongjiawan", &json), AW_OK);
    aw_registry_t *edge = s_reparse(json);
    free(json);
    cr_assert_str_eq(aw_registry_extract_zone(edge), "yueyang/rongjiawan");
    cr_assert_eq(aw_registry_version(edge), 3);
    cr_assert_str_eq(aw_registry_name(edge), "岳阳县");
    aw_registry_zones(edge, &n);
    cr_assert_eq(n, 1);
    aw_registry_devices(edge, &n);
    cr_assert_eq(n, 6);
    cr_assert_null(aw_registry_device_find(edge, "tongmu-dam-w1"), "other zone left out");
    const aw_plan *plans = aw_registry_plans(edge, &n);
    cr_assert_eq(n, 1, "the leak plan only");
    cr_assert_str_eq(plans[0].id, "huaxin-leak");
    cr_assert_eq(plans[0].n_area, 2, "area kept whole, other zone included");
    const aw_metric *m =
        aw_registry_metric_find(aw_registry_device_find(edge, "huaxin-t3"), "pressure");
    cr_assert_eq(m->low.mask, (1u << AW_LEVEL_BLUE) | (1u << AW_LEVEL_ORANGE));

    /* an extract of the extract is the same document */
    char *again = NULL, *once = NULL;
    cr_assert_eq(aw_registry_to_json(edge, &once), AW_OK);
    cr_assert_eq(aw_registry_zone_json(edge, "yueyang/rongjiawan", &again), AW_OK);
    cr_assert_str_eq(again, once);
    free(again);
    free(once);
    cr_assert_eq(aw_registry_zone_json(edge, "yueyang/xinkai", &again), AW_ENOTFOUND);
    cr_assert_null(again);
    aw_registry_destroy(&edge);

    /* the other zone gets both plans: its own, and one whose area reaches it */
    cr_assert_eq(aw_registry_zone_json(reg, "yueyang/xinkai", &json), AW_OK);
    edge = s_reparse(json);
    free(json);
    aw_registry_plans(edge, &n);
    cr_assert_eq(n, 2);
    aw_registry_villages(edge, &n);
    cr_assert_eq(n, 2);
    aw_registry_destroy(&edge);
    aw_registry_destroy(&reg);
}

Test(registry, zone_extract_rules)
{
    aw_registry_t *reg = NULL;
    aw_registry_errors errs = {0};
    char *json = NULL;

    cr_assert_eq(aw_registry_load_file(MINI_JSON, &reg, NULL), AW_OK);
    cr_assert_eq(aw_registry_zone_json(reg, "yueyang/rongjiawan", &json), AW_OK);
    aw_registry_destroy(&reg);

    /* in an extract, references to other zones must still be well formed
     * and in the county */
    json_t *root = json_loads(json, 0, NULL);
    free(json);
    s_set(root, "plans.0.alert.area.1", "\"linxiang/other\"");
    s_set(root, "plans.0.when.site", "\"yueyang/rongjiawan/xinqiang/gone\"");
    json = json_dumps(root, 0);
    json_decref(root);
    cr_assert_eq(s_parse(json, &reg, &errs), AW_EINVAL);
    free(json);
    cr_expect(s_has_error(&errs, "$.plans[0].alert.area[1]: must name"), "%s",
              s_dump_errors(&errs));
    cr_expect(s_has_error(&errs, "$.plans[0].when.site: must name a site"), "%s",
              s_dump_errors(&errs));
    cr_expect_eq(errs.count, 2, "%s", s_dump_errors(&errs));
    aw_registry_errors_clear(&errs);
}

Test(registry, big_county_extracts_reparse)
{
    char *text = s_big_county(2000), *json = NULL;
    aw_registry_t *reg = NULL;
    size_t n;

    cr_assert_eq(s_parse(text, &reg, NULL), AW_OK);
    free(text);
    cr_assert_eq(aw_registry_zone_json(reg, "yueyang/park", &json), AW_OK);
    aw_registry_t *edge = s_reparse(json);
    free(json);
    aw_registry_devices(edge, &n);
    cr_assert_eq(n, 2000);
    aw_registry_destroy(&edge);
    aw_registry_destroy(&reg);
}

/* ------------------------------------------------------------ faults */

static long s_alloc_budget = -1; /* allocations jansson may still make; -1: unlimited */

static void *s_budget_malloc(size_t size)
{
    if (s_alloc_budget == 0)
        return NULL;
    if (s_alloc_budget > 0)
        s_alloc_budget--;
    return malloc(size);
}

/* Every allocation jansson makes while parsing and emitting fails in turn:
 * no crash, no leak, no registry. The answer is AW_ENOMEM, or AW_EINVAL with
 * a message where jansson's lexer reports its own failed allocation as a
 * syntax error (jansson 2.14 does). */
Test(registry, out_of_memory_in_jansson)
{
    FILE *f = fopen(MINI_JSON, "rb");
    char text[16384];
    size_t len;
    long k, enomem = 0;

    cr_assert_not_null(f);
    len = fread(text, 1, sizeof text, f);
    fclose(f);
    for (k = 0; k < 100000; k++) {
        aw_registry_t *reg = NULL;
        aw_registry_errors errs = {0};
        char *json = NULL;

        json_set_alloc_funcs(s_budget_malloc, free);
        s_alloc_budget = k;
        int rv = aw_registry_parse(text, len, &reg, &errs);
        int zrv = reg ? aw_registry_zone_json(reg, "yueyang/rongjiawan", &json) : AW_ENOMEM;
        s_alloc_budget = -1;
        cr_assert(rv == AW_OK || rv == AW_ENOMEM || (rv == AW_EINVAL && errs.count == 1),
                  "budget %ld: %s", k, aw_strerror(rv));
        enomem += rv == AW_ENOMEM;
        cr_assert(zrv == AW_OK || zrv == AW_ENOMEM, "budget %ld: %s", k, aw_strerror(zrv));
        cr_assert_eq(zrv == AW_OK, json != NULL);
        free(json);
        aw_registry_destroy(&reg);
        aw_registry_errors_clear(&errs);
        if (zrv == AW_OK)
            break;
    }
    json_set_alloc_funcs(malloc, free);
    cr_assert_gt(k, 10, "the budget mattered");
    cr_assert_gt(enomem, 0);
    cr_assert_lt(k, 100000, "it succeeds with enough memory");
}
