/* Tests for tools/devsim/fleet: which devices are simulated, over which sessions. */
#include <criterion/criterion.h>
#include <string.h>

#include "fleet.h"

#define MINI_JSON AW_SOURCE_DIR "/deploy/registry/mini.json"

static aw_registry_t *s_reg;

static void s_setup(void)
{
    aw_registry_errors errs = {0};
    cr_assert_eq(aw_registry_load_file(MINI_JSON, &s_reg, &errs), AW_OK);
}

static void s_teardown(void)
{
    aw_registry_destroy(&s_reg);
}

TestSuite(fleet, .init = s_setup, .fini = s_teardown);

Test(fleet, one_default_edge_takes_every_device_with_metrics)
{
    aw_sim_opts o;
    aw_sim_fleet f;
    char why[512];
    aw_sim_opts_init(&o);
    o.routes[o.n_routes++] = (aw_sim_route){NULL, "coap://127.0.7.1"};
    o.sessions = 2;
    cr_assert_eq(aw_sim_fleet_plan(&o, s_reg, NULL, &f, why, sizeof why), AW_OK, "%s", why);
    cr_assert_eq(f.n_devs, 5);
    cr_assert_str_eq(f.devs[0]->id, "huaxin-t3");
    cr_assert_eq(f.n_endpoints, 1);
    cr_assert_str_eq(f.endpoints[0].uri.path, "readings");
    cr_assert_eq(f.endpoints[0].uri.port, 5683);
    cr_assert_eq(f.n_sessions, 2, "plain UDP devices share --sessions sessions");
    cr_assert_neq(f.session_of[0], f.session_of[1]);
    aw_sim_fleet_free(&f);
    aw_sim_fleet_free(&f);
}

Test(fleet, zones_route_to_their_edges_and_dtls_goes_by_identity)
{
    aw_sim_opts o;
    aw_sim_fleet f;
    char why[512];
    aw_sim_psk_table *psk = NULL;
    const char keys[] = "gw 00 huaxin-t3,huaxin-gas-1\n";
    cr_assert_eq(aw_sim_psk_parse(keys, strlen(keys), "k", &psk, why, sizeof why), AW_OK);
    aw_sim_opts_init(&o);
    o.routes[o.n_routes++] = (aw_sim_route){"yueyang/rongjiawan", "coap://127.0.7.1:5683"};
    o.routes[o.n_routes++] = (aw_sim_route){"yueyang/rongjiawan", "coaps://127.0.7.1:5684"};
    o.routes[o.n_routes++] = (aw_sim_route){"yueyang/xinkai", "coap://127.0.7.2/in"};
    cr_assert_eq(aw_sim_fleet_plan(&o, s_reg, psk, &f, why, sizeof why), AW_OK, "%s", why);
    cr_assert_eq(f.n_devs, 5);
    cr_assert_eq(f.n_sessions, 3, "DTLS gw, plain rongjiawan, plain xinkai");
    for (size_t i = 0; i < f.n_devs; i++) {
        const aw_sim_session_plan *s = &f.sessions[f.session_of[i]];
        const aw_sim_endpoint *e = &f.endpoints[s->endpoint];
        int owned = strncmp(f.devs[i]->id, "huaxin", 6) == 0;
        cr_assert_eq(s->psk != NULL, owned, "%s", f.devs[i]->id);
        cr_assert_eq(e->uri.secure, owned);
        if (strncmp(f.devs[i]->id, "tongmu", 6) == 0)
            cr_assert_str_eq(e->uri.path, "in");
    }
    aw_sim_fleet_free(&f);
    aw_sim_psk_destroy(&psk);
}

Test(fleet, limits_and_mistakes)
{
    aw_sim_opts o;
    aw_sim_fleet f;
    char why[512];
    aw_sim_opts_init(&o);
    o.routes[o.n_routes++] = (aw_sim_route){NULL, "coap://127.0.7.1"};
    o.max_devices = 2;
    o.zone = "yueyang/rongjiawan";
    cr_assert_eq(aw_sim_fleet_plan(&o, s_reg, NULL, &f, why, sizeof why), AW_OK, "%s", why);
    cr_assert_eq(f.n_devs, 2);
    aw_sim_fleet_free(&f);

    o.zone = "yueyang/nowhere";
    cr_assert_eq(aw_sim_fleet_plan(&o, s_reg, NULL, &f, why, sizeof why), AW_ECONFIG);
    o.zone = NULL;
    o.routes[0] = (aw_sim_route){"yueyang/nowhere", "coap://127.0.7.1"};
    cr_assert_eq(aw_sim_fleet_plan(&o, s_reg, NULL, &f, why, sizeof why), AW_ECONFIG);
    cr_assert(strstr(why, "zones: yueyang/rongjiawan yueyang/xinkai"), "%s", why);
    o.routes[0] = (aw_sim_route){NULL, "coaps://127.0.7.1"};
    cr_assert_eq(aw_sim_fleet_plan(&o, s_reg, NULL, &f, why, sizeof why), AW_ECONFIG);
    cr_assert(strstr(why, "--psk-file"), "%s", why);
    o.routes[0] = (aw_sim_route){"yueyang/xinkai", "coap://127.0.7.1"};
    o.zone = "yueyang/rongjiawan";
    cr_assert_eq(aw_sim_fleet_plan(&o, s_reg, NULL, &f, why, sizeof why), AW_ECONFIG);
    cr_assert(strstr(why, "no device to simulate"), "%s", why);
    o.routes[0] = (aw_sim_route){NULL, "http://127.0.7.1"};
    cr_assert_eq(aw_sim_fleet_plan(&o, s_reg, NULL, &f, why, sizeof why), AW_ECONFIG);
    cr_assert(strstr(why, "only coap:// and coaps://"), "%s", why);
}
