/* anwang-center: parses the arguments, loads the config, runs the center. */
#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allow.h"
#include "center.h"
#include "center_config.h"
#include "log.h"

#ifndef AW_VERSION
#define AW_VERSION "0.1.0"
#endif

typedef struct s_args {
    const char *config;
    const char *init_cert;
    int check;
} s_args;

static void s_usage(FILE *out)
{
    fprintf(
        out,
        "usage: anwang-center [-c FILE] [--check-config]\n"
        "       anwang-center --init-cert FILE\n"
        "       anwang-center --help | --version\n"
        "\n"
        "The county center of anwang: township edges replicate their records to it over\n"
        "ZeroMQ (ROUTER, CURVE always on); it applies each record exactly once into its\n"
        "LMDB store and keeps a down channel to every edge.\n"
        "\n"
        "It keeps the county's situational picture, hazard ledger and alerts, and serves\n"
        "them over HTTP when [http] bind is set: the JSON API under /api/v1/ (picture,\n"
        "edges, devices, alarms, hazards, alerts, registry, status, audit; see API.md),\n"
        "Prometheus text at /metrics and the dashboard at /. Every API call needs\n"
        "`Authorization: Bearer TOKEN` with a token of the [http] tokens file, one\n"
        "`TOKEN ROLE NAME` line each, e.g.\n"
        "  3f9c0b7e5d2a41c8b6e0f1a2 operator li.wei\n"
        "TOKEN: at least 16 printable characters (e.g. `openssl rand -hex 24`); ROLE:\n"
        "viewer (reads), operator (+ hazards, alarm acks, alerts) or admin (+ registry\n"
        "import, audit); NAME is recorded with each write. Import the registry first:\n"
        "  curl -X PUT -H \"Authorization: Bearer $ADMIN\" -H 'Content-Type: application/json' \\\n"
        "       --data-binary @registry.json http://127.0.0.1:8080/api/v1/registry\n"
        "\n"
        "  -c, --config FILE     config file (default " AW_CENTER_CONFIG_PATH ")\n"
        "      --check-config    validate the config, the certificate and the allow-list\n"
        "      --init-cert FILE  make the center's certificate FILE (public) and\n"
        "                        FILE_secret (mode 0600) unless FILE already has a secret\n"
        "                        key; print its public key (Z85: the edges' center_key)\n"
        "  -h, --help            this text and an example config\n"
        "  -V, --version         the version\n"
        "\n"
        "Admitting an edge: on any machine run `anwang keygen NAME [--zone PATH]`, keep\n"
        "NAME.cert_secret on the edge ([uplink] cert), and copy the public NAME.cert into\n"
        "[zmq] allow_dir here. Its metadata edge-id (and zone) bind the key to the edge:\n"
        "a Hello naming another edge is refused. Removing the file refuses the key at its\n"
        "next connect (the folder is watched; SIGHUP re-reads it at once) and stops a\n"
        "connected edge at its next message. Unknown keys fail the CURVE handshake.\n"
        "\n"
        "Signals: SIGTERM/SIGINT stop cleanly; SIGHUP reloads the log level, the tokens\n"
        "file and the allow-list.\n"
        "\n"
        "Example config (every key with its default; [center] id is required):\n"
        "\n");
    aw_center_config_help(out);
}

/* Returns -1 to go on, else the exit status. */
static int s_parse_args(int argc, char **argv, s_args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},    {"check-config", no_argument, NULL, 'k'},
        {"init-cert", required_argument, NULL, 'i'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0}};
    int c;
    a->config = AW_CENTER_CONFIG_PATH;
    while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config = optarg;
            break;
        case 'k':
            a->check = 1;
            break;
        case 'i':
            a->init_cert = optarg;
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        case 'V':
            printf("anwang-center %s\n", AW_VERSION);
            return 0;
        default:
            fprintf(stderr, "anwang-center: try --help\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "anwang-center: unexpected argument \"%s\"; try --help\n", argv[optind]);
        return 2;
    }
    return -1;
}

/* --init-cert FILE: makes the certificate when missing, prints its public key. */
static int s_init_cert(const char *path)
{
    int created = 0;
    if (aw_allow_init_cert(path, &created) != AW_OK) {
        fprintf(stderr, "anwang-center: cannot write %s and %s_secret\n", path, path);
        return 1;
    }
    zcert_t *cert = zcert_load(path);
    if (!cert) {
        fprintf(stderr, "anwang-center: cannot read %s back\n", path);
        return 1;
    }
    if (created)
        fprintf(stderr, "anwang-center: made %s and %s_secret\n", path, path);
    printf("%s\n", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

int main(int argc, char **argv)
{
    s_args a = {0};
    int rv = s_parse_args(argc, argv, &a);
    if (rv >= 0)
        return rv;
    if (a.init_cert)
        return s_init_cert(a.init_cert);
    aw_center_config cfg;
    char why[512];
    if (aw_center_config_load(a.config, &cfg, why, sizeof why) != AW_OK) {
        fprintf(stderr, "anwang-center: %s\n", why);
        return 1;
    }
    if (a.check) {
        rv = aw_center_check(&cfg) == AW_OK ? 0 : 1;
        if (rv == 0)
            printf("%s: ok\n", a.config);
        aw_center_config_free(&cfg);
        return rv;
    }
    aw_log_init("anwang-center", (aw_log_level)cfg.log_level);
    aw_center_t *center = NULL;
    if (aw_center_new(&cfg, a.config, AW_VERSION, &center) != AW_OK) {
        aw_center_config_free(&cfg);
        aw_error("start-up failed");
        return 1;
    }
    rv = aw_center_run(center);
    aw_center_destroy(&center);
    aw_info("stopped");
    return rv == AW_OK ? 0 : 1;
}
