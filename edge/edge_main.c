/* anwang-edge: parses the arguments, loads the config, runs the edge. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge.h"
#include "edge_config.h"
#include "log.h"
#include "psk.h"
#include "registry.h"

#ifndef AW_VERSION
#define AW_VERSION "0.1.0"
#endif

typedef struct s_args {
    const char *config;
    const char *registry;
    int check;
} s_args;

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: anwang-edge [-c FILE] [--registry FILE] [--check-config]\n"
            "       anwang-edge --help | --version\n"
            "\n"
            "The township box of anwang: takes sensor readings (SenML over CoAP) and hazard\n"
            "reports, raises alarms locally and keeps everything in LMDB for the center.\n"
            "\n"
            "  -c, --config FILE    config file (default " AW_EDGE_CONFIG_PATH ")\n"
            "      --registry FILE  registry JSON for standalone use; it replaces the stored\n"
            "                       registry and is re-read on SIGHUP\n"
            "      --check-config   validate the config, key file and registry file, then exit\n"
            "  -h, --help           this text and an example config\n"
            "  -V, --version        the version\n"
            "\n"
            "Signals: SIGTERM/SIGINT stop cleanly; SIGHUP reloads the log level, the key\n"
            "file and the registry (a bad one is refused and the old one kept).\n"
            "\n"
            "Example config (every key with its default; id and zone are required):\n"
            "\n");
    aw_edge_config_help(out);
}

/* Returns -1 to go on, else the exit status. */
static int s_parse_args(int argc, char **argv, s_args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"registry", required_argument, NULL, 'r'},
        {"check-config", no_argument, NULL, 'k'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
    int c;
    a->config = AW_EDGE_CONFIG_PATH;
    while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config = optarg;
            break;
        case 'r':
            a->registry = optarg;
            break;
        case 'k':
            a->check = 1;
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        case 'V':
            printf("anwang-edge %s\n", AW_VERSION);
            return 0;
        default:
            fprintf(stderr, "anwang-edge: try --help\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "anwang-edge: unexpected argument \"%s\"; try --help\n", argv[optind]);
        return 2;
    }
    return -1;
}

/* --check-config: the files the edge would read at start-up, nothing opened. */
static int s_check(const aw_edge_config *cfg, const s_args *a)
{
    char why[512];
    aw_psk_t *psk = NULL;
    if (cfg->dtls && aw_psk_load(cfg->psk_file, &psk, why, sizeof why) != AW_OK) {
        fprintf(stderr, "anwang-edge: %s\n", why);
        return 1;
    }
    aw_psk_destroy(&psk);
    aw_registry_t *reg = NULL;
    aw_registry_errors errs = {0};
    if (a->registry && aw_registry_load_file(a->registry, &reg, &errs) != AW_OK) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "anwang-edge: %s: %s\n", a->registry, errs.msgs[i]);
        aw_registry_errors_clear(&errs);
        return 1;
    }
    if (reg && !aw_registry_zone_find(reg, cfg->zone)) {
        fprintf(stderr, "anwang-edge: %s: no zone %s\n", a->registry, cfg->zone);
        aw_registry_destroy(&reg);
        return 1;
    }
    aw_registry_destroy(&reg);
    printf("%s: ok\n", a->config);
    return 0;
}

int main(int argc, char **argv)
{
    s_args a = {0};
    int rv = s_parse_args(argc, argv, &a);
    if (rv >= 0)
        return rv;
    aw_edge_config cfg;
    char why[512];
    if (aw_edge_config_load(a.config, &cfg, why, sizeof why) != AW_OK) {
        fprintf(stderr, "anwang-edge: %s\n", why);
        return 1;
    }
    if (a.check) {
        rv = s_check(&cfg, &a);
        aw_edge_config_free(&cfg);
        return rv;
    }
    aw_log_init("anwang-edge", (aw_log_level)cfg.log_level);
    aw_edge_t *edge = NULL;
    if (aw_edge_new(&cfg, a.config, a.registry, &edge) != AW_OK) {
        aw_edge_config_free(&cfg);
        aw_error("start-up failed");
        return 1;
    }
    rv = aw_edge_run(edge);
    aw_edge_destroy(&edge);
    aw_info("stopped");
    return rv == AW_OK ? 0 : 1;
}
