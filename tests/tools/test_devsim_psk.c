/* Tests for tools/devsim/psk: the DTLS-PSK key file of SPEC §3. */
#include <criterion/criterion.h>
#include <string.h>

#include "psk.h"

static aw_sim_psk_table *s_parse(const char *text, char *why, size_t len)
{
    aw_sim_psk_table *t = NULL;
    int rv = aw_sim_psk_parse(text, strlen(text), "keys.txt", &t, why, len);
    cr_assert((rv == AW_OK) == (t != NULL));
    return t;
}

Test(psk, parses_identities_and_finds_owners)
{
    char why[256] = "";
    aw_sim_psk_table *t = s_parse("# county keys\n"
                                  "\n"
                                  "gw-huaxin 0a0B10ff huaxin-t3,huaxin-gas-1  # a gateway\n"
                                  "  hongxing-temp-1\t736563726574 hongxing-temp-1\n",
                                  why, sizeof why);
    cr_assert_not_null(t, "%s", why);
    cr_assert_eq(t->n, 2);
    const aw_sim_psk *gw = aw_sim_psk_owner(t, "huaxin-gas-1");
    cr_assert_not_null(gw);
    cr_assert_str_eq(gw->identity, "gw-huaxin");
    cr_assert_eq(gw->key_len, 4);
    cr_assert_eq(gw->key[1], 0x0b);
    cr_assert_eq(gw->key[3], 0xff);
    cr_assert_eq(aw_sim_psk_find(t, (const uint8_t *)"hongxing-temp-1", 15), &t->ids[1]);
    cr_assert_null(aw_sim_psk_owner(t, "tongmu-siren"));
    cr_assert(aw_sim_psk_owns(gw, "huaxin-t3"));
    aw_sim_psk_destroy(&t);
    aw_sim_psk_destroy(&t);
    cr_assert_null(t);
}

Test(psk, errors_name_the_line)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"a 0g dev\n", "keys.txt:1: key \"0g\" is not 1..64 bytes of hex"},
        {"a abc dev\n", "keys.txt:1: key"},
        {"# c\na 00\n", "keys.txt:2: expected"},
        {"a 00 Dev\n", "keys.txt:1: device id \"Dev\""},
        {"a 00 d1\na 01 d2\n", "keys.txt:2: identity \"a\" is listed twice"},
        {"a 00 d1\nb 01 d2,d1\n", "keys.txt:2: device \"d1\" is already owned by identity \"a\""},
        {"a 00 d1 extra\n", "keys.txt:1: expected"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[256] = "";
        aw_sim_psk_table *t = s_parse(bad[i].text, why, sizeof why);
        cr_assert_null(t, "case %zu parsed", i);
        cr_assert(strncmp(why, bad[i].want, strlen(bad[i].want)) == 0, "case %zu: %s", i, why);
    }
}

Test(psk, refuses_nul_bytes_and_missing_files)
{
    char why[256];
    aw_sim_psk_table *t = NULL;
    cr_assert_eq(aw_sim_psk_parse("a 00 d\0x", 8, "k", &t, why, sizeof why), AW_EINVAL);
    cr_assert_eq(aw_sim_psk_load("/nonexistent/keys.txt", &t, why, sizeof why), AW_ENOTFOUND);
    cr_assert_null(t);
}
