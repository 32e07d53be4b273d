/* Tests for tools/devsim/pack: SenML packs as the simulated sensors send them. */
#include <cbor.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "pack.h"

static const aw_metric s_level = {.name = "tank-level", .unit = "m"};
static const aw_metric s_bare = {.name = "count", .unit = ""};

Test(pack, json_pack_reads_back_exactly)
{
    aw_sim_record recs[] = {{&s_level, 1795998488276, 0.1 + 0.2}, {&s_bare, AW_SIM_NO_TIME, -12.5}};
    uint8_t buf[512];
    size_t len;
    cr_assert_eq(
        aw_sim_pack_encode(AW_SIM_FORMAT_JSON, "huaxin-t3", recs, 2, buf, sizeof buf, &len), 2);
    json_error_t err;
    json_t *pack = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &err);
    cr_assert_not_null(pack, "%.*s: %s", (int)len, buf, err.text);
    json_t *r0 = json_array_get(pack, 0), *r1 = json_array_get(pack, 1);
    cr_assert_str_eq(json_string_value(json_object_get(r0, "bn")), "huaxin-t3/");
    cr_assert_str_eq(json_string_value(json_object_get(r0, "n")), "tank-level");
    cr_assert_str_eq(json_string_value(json_object_get(r0, "u")), "m");
    cr_assert_eq(json_real_value(json_object_get(r0, "v")), 0.1 + 0.2);
    cr_assert_eq(json_real_value(json_object_get(r0, "t")), 1795998488.276);
    cr_assert_null(json_object_get(r1, "bn"));
    cr_assert_null(json_object_get(r1, "u"), "an empty unit is left out");
    cr_assert_null(json_object_get(r1, "t"), "a reading without time has no t");
    cr_assert_eq(json_number_value(json_object_get(r1, "v")), -12.5);
    json_decref(pack);
}

Test(pack, encodes_only_what_fits)
{
    aw_sim_record recs[8];
    for (int i = 0; i < 8; i++)
        recs[i] = (aw_sim_record){&s_level, 1795998488000 + i, i};
    uint8_t buf[200];
    size_t len, n;
    n = aw_sim_pack_encode(AW_SIM_FORMAT_JSON, "d", recs, 8, buf, sizeof buf, &len);
    cr_assert(n >= 1 && n < 8, "%zu", n);
    cr_assert_leq(len, sizeof buf);
    json_t *pack = json_loadb((const char *)buf, len, 0, NULL);
    cr_assert_eq(json_array_size(pack), n);
    json_decref(pack);
    n = aw_sim_pack_encode(AW_SIM_FORMAT_CBOR, "d", recs, 8, buf, sizeof buf, &len);
    cr_assert(n >= 1 && n < 8);
    cr_assert_eq(aw_sim_pack_encode(AW_SIM_FORMAT_JSON, "d", recs, 8, buf, 20, &len), 0);
}

/* Returns the value of integer label @p label in CBOR map @p m, or NULL. */
static cbor_item_t *s_get(cbor_item_t *m, int label)
{
    struct cbor_pair *p = cbor_map_handle(m);
    for (size_t i = 0; i < cbor_map_size(m); i++) {
        int64_t k = cbor_isa_negint(p[i].key) ? -1 - (int64_t)cbor_get_int(p[i].key)
                                              : (int64_t)cbor_get_int(p[i].key);
        if (k == label)
            return p[i].value;
    }
    return NULL;
}

static char *s_text(cbor_item_t *s)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%.*s", (int)cbor_string_length(s), cbor_string_handle(s));
    return buf;
}

Test(pack, cbor_pack_uses_rfc8428_labels_and_float64)
{
    aw_sim_record recs[] = {{&s_level, 1795998488276, 7.123}, {&s_bare, AW_SIM_NO_TIME, 3}};
    uint8_t buf[512];
    size_t len;
    cr_assert_eq(
        aw_sim_pack_encode(AW_SIM_FORMAT_CBOR, "huaxin-t3", recs, 2, buf, sizeof buf, &len), 2);
    struct cbor_load_result res;
    cbor_item_t *pack = cbor_load(buf, len, &res);
    cr_assert_not_null(pack);
    cr_assert_eq(res.read, len, "no trailing bytes");
    cr_assert(cbor_isa_array(pack) && cbor_array_is_definite(pack));
    cbor_item_t *r0 = cbor_array_get(pack, 0), *r1 = cbor_array_get(pack, 1);
    cr_assert_str_eq(s_text(s_get(r0, -2)), "huaxin-t3/");
    cr_assert_str_eq(s_text(s_get(r0, 0)), "tank-level");
    cr_assert_str_eq(s_text(s_get(r0, 1)), "m");
    cr_assert_eq(cbor_float_get_float8(s_get(r0, 2)), 7.123);
    cr_assert_eq(cbor_float_get_float8(s_get(r0, 6)), 1795998488.276);
    cr_assert_null(s_get(r1, 6));
    cr_assert_null(s_get(r1, 1));
    cbor_decref(&r0);
    cbor_decref(&r1);
    cbor_decref(&pack);
}

Test(pack, numbers_read_back_as_the_same_double)
{
    const double vs[] = {0.1, 6.017, 123456.789, 1e-7, 0.1 + 0.2, 1.0 / 3, -0.0, 5};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        char buf[AW_SIM_NUMBER_MAX];
        aw_sim_format_number(vs[i], buf, sizeof buf);
        cr_assert_eq(strtod(buf, NULL), vs[i], "%s", buf);
    }
    char buf[AW_SIM_NUMBER_MAX];
    aw_sim_format_number(6.017, buf, sizeof buf);
    cr_assert_str_eq(buf, "6.017", "short form when exact");
}
