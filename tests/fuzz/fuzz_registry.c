/* libFuzzer target: registry JSON (SPEC §1). Any input must parse or fail
 * cleanly without leaks; a registry that parses must emit itself and every
 * zone extract as JSON that parses again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

/* Emits @p reg and each zone extract; every output must parse again. */
static void s_check_emitters(const aw_registry_t *reg)
{
    size_t n_zones;
    const aw_zone *zones = aw_registry_zones(reg, &n_zones);
    char *json = NULL;
    aw_registry_t *again = NULL;

    if (aw_registry_to_json(reg, &json) != AW_OK)
        abort();
    if (aw_registry_parse(json, strlen(json), &again, NULL) != AW_OK)
        abort();
    aw_registry_destroy(&again);
    free(json);
    for (size_t i = 0; i < n_zones; i++) {
        if (aw_registry_zone_json(reg, zones[i].path, &json) != AW_OK)
            abort();
        if (aw_registry_parse(json, strlen(json), &again, NULL) != AW_OK)
            abort();
        if (strcmp(aw_registry_extract_zone(again), zones[i].path) != 0)
            abort();
        aw_registry_destroy(&again);
        free(json);
    }
}

/* Every lookup of a parsed registry must find what it lists. */
static void s_check_lookups(const aw_registry_t *reg)
{
    size_t n;
    const aw_device *devs = aw_registry_devices(reg, &n);

    for (size_t i = 0; i < n; i++) {
        if (aw_registry_device_find(reg, devs[i].id) != &devs[i])
            abort();
        if (aw_registry_site_find(reg, devs[i].site->path) != devs[i].site)
            abort();
        for (size_t j = 0; j < devs[i].n_metrics; j++) {
            if (aw_registry_metric_find(&devs[i], devs[i].metrics[j].name) != &devs[i].metrics[j])
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aw_registry_t *reg = NULL;
    aw_registry_errors errs = {0};
    int rv = aw_registry_parse((const char *)data, size, &reg, &errs);

    if ((rv == AW_OK) != (reg != NULL))
        abort();
    if (rv != AW_OK && rv != AW_ENOMEM && errs.count == 0)
        abort(); /* a refusal always says why */
    if (reg) {
        s_check_lookups(reg);
        s_check_emitters(reg);
    }
    aw_registry_errors_clear(&errs);
    aw_registry_destroy(&reg);
    return 0;
}
