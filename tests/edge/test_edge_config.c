/* Tests for edge/edge_config (the config file) and edge/psk (the key file):
 * every error names the file, the line and the key. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge_config.h"
#include "psk.h"

static char s_path[64];

/* Writes @p text to a fresh temp file with @p mode; returns its path. */
static const char *s_write(const char *text, mode_t mode)
{
    snprintf(s_path, sizeof s_path, "/tmp/aw-edge-cfg-XXXXXX");
    int fd = mkstemp(s_path);
    cr_assert(fd >= 0);
    cr_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    fchmod(fd, mode);
    close(fd);
    return s_path;
}

static void s_cleanup(void)
{
    if (s_path[0])
        unlink(s_path);
}

#define MINIMAL "[edge]\nid = rongjiawan-1\nzone = yueyang/rongjiawan\n"

/* Loads @p text and expects failure with a reason containing each of the
 * NULL-terminated fragments. */
static void s_expect_error(const char *text, ...)
{
    aw_edge_config cfg;
    char why[512];
    const char *path = s_write(text, 0644);
    int rv = aw_edge_config_load(path, &cfg, why, sizeof why);
    cr_assert_eq(rv, AW_ECONFIG, "accepted: %s", text);
    cr_assert(strstr(why, path), "no file name in \"%s\"", why);
    va_list ap;
    va_start(ap, text);
    for (const char *frag; (frag = va_arg(ap, const char *));)
        cr_assert(strstr(why, frag), "\"%s\" not in \"%s\"", frag, why);
    va_end(ap);
}

TestSuite(edge_config, .fini = s_cleanup);

/* The usage example: a minimal file, everything else from the defaults. */
Test(edge_config, minimal_file_gets_the_defaults)
{
    aw_edge_config cfg;
    char why[512] = "";
    cr_assert_eq(aw_edge_config_load(s_write(MINIMAL, 0644), &cfg, why, sizeof why), AW_OK, "%s",
                 why);
    cr_assert_str_eq(cfg.id, "rongjiawan-1");
    cr_assert_str_eq(cfg.zone, "yueyang/rongjiawan");
    cr_assert_eq(cfg.port, 5683);
    cr_assert_eq(cfg.dtls_port, 5684);
    cr_assert(cfg.plain);
    cr_assert_not(cfg.dtls);
    cr_assert_not(cfg.durability.interval);
    cr_assert_eq(cfg.n_bind, 1);
    cr_assert_str_eq(cfg.bind[0], "0.0.0.0");
    cr_assert_eq(cfg.max_payload, 16 * 1024);
    cr_assert_eq(cfg.retention_ms, 30LL * 86400 * 1000);
    cr_assert_str_eq(cfg.center, "");
    aw_edge_config_free(&cfg);
    aw_edge_config_free(&cfg); /* safe twice */
}

Test(edge_config, full_file)
{
    aw_edge_config cfg;
    char why[512] = "";
    const char *text = MINIMAL "data_dir = /srv/edge\nauto_register = yes\n"
                               "[store]\nmap_size = 2G\nmax_bytes = 1G\nretention = 7d\n"
                               "durability = interval:10\n"
                               "[coap]\nbind = 127.0.0.1, ::1\nport = 6000\ndtls = yes\n"
                               "dtls_port = 6001\npsk_file = /etc/anwang/psk\n"
                               "max_payload = 64K\nmax_future = 30s\n"
                               "[uplink]\ncenter = tcp://center:7700\n"
                               "center_key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n"
                               "cert = /etc/anwang/edge.cert\nrate_limit = 1M\n"
                               "[log]\nlevel = debug\n";
    cr_assert_eq(aw_edge_config_load(s_write(text, 0644), &cfg, why, sizeof why), AW_OK, "%s", why);
    cr_assert(cfg.auto_register);
    cr_assert(cfg.durability.interval);
    cr_assert_eq(cfg.durability.interval_ms, 10);
    cr_assert_eq(cfg.n_bind, 2);
    cr_assert_str_eq(cfg.bind[1], "::1");
    cr_assert_eq(cfg.max_future_ms, 30000);
    cr_assert_eq(cfg.rate_limit, 1 << 20);
    cr_assert_eq(cfg.log_level, 3);
    aw_edge_config_free(&cfg);
}

Test(edge_config, required_keys)
{
    s_expect_error("[edge]\nid = rongjiawan-1\n", "[edge] zone", "required", NULL);
}

Test(edge_config, errors_name_line_and_key)
{
    s_expect_error(MINIMAL "[store]\ndurability = sometimes\n", ":5:", "[store] durability",
                   "fsync or interval:MS", NULL);
    s_expect_error(MINIMAL "[store]\ndurability = interval:0\n", ":5:", "durability", NULL);
    s_expect_error(MINIMAL "[coap]\nportt = 1\n", ":5:", "[coap] portt", "unknown key", NULL);
    s_expect_error(MINIMAL "[coap]\nport = 70000\n", ":5:", "[coap] port", "out of range", NULL);
    s_expect_error(MINIMAL "[coap]\nbind = 127.0.0.300\n", ":5:", "[coap] bind", "127.0.0.300",
                   NULL);
    s_expect_error("[edge]\nid = Rong Jia\nzone = yueyang/rongjiawan\n", ":2:", "[edge] id", NULL);
    s_expect_error("[edge]\nid = a\nzone = yueyang\n", ":3:", "[edge] zone", NULL);
    s_expect_error("[edge]\nid = a\nzone = yueyang/Rong\n", ":3:", "[edge] zone", NULL);
    s_expect_error(MINIMAL "[store]\nmax_bytes = 12Q\n", ":5:", "[store] max_bytes", NULL);
    s_expect_error(MINIMAL "[log]\nlevel = loud\n", ":5:", "[log] level", "debug", NULL);
}

Test(edge_config, rules_between_keys)
{
    s_expect_error(MINIMAL "[coap]\ndtls = yes\n", "[coap] psk_file", "dtls = yes", NULL);
    s_expect_error(MINIMAL "[coap]\nplain = no\n", "[coap] plain", NULL);
    s_expect_error(MINIMAL "[coap]\ndtls = yes\npsk_file = /x\ndtls_port = 5683\n",
                   "[coap] dtls_port", NULL);
    s_expect_error(MINIMAL "[store]\nmap_size = 1G\nmax_bytes = 1G\n", "[store] max_bytes", NULL);
    s_expect_error(MINIMAL "[uplink]\ncenter = center:7700\n", "[uplink] center", NULL);
    s_expect_error(MINIMAL "[uplink]\ncenter = tcp://center:7700\n", "center_key", NULL);
    s_expect_error(MINIMAL "[uplink]\ncenter_key = short\n", "[uplink] center_key", NULL);
}

Test(edge_config, missing_file)
{
    aw_edge_config cfg;
    char why[512];
    cr_assert_eq(aw_edge_config_load("/nonexistent/edge.conf", &cfg, why, sizeof why),
                 AW_ENOTFOUND);
    cr_assert(strstr(why, "/nonexistent/edge.conf"));
}

Test(edge_config, help_lists_every_section)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    aw_edge_config_help(f);
    fclose(f);
    const char *want[] = {"[edge]",
                          "[store]",
                          "[coap]",
                          "[uplink]",
                          "[sirens]",
                          "[log]",
                          "durability = fsync",
                          "psk_file",
                          "max_payload",
                          "center_key",
                          "backoff_max",
                          "(required)"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(buf, want[i]), "help lacks %s", want[i]);
    /* the example is a valid config file as it stands */
    aw_edge_config cfg;
    char why[512] = "";
    cr_assert_eq(aw_edge_config_load(s_write(buf, 0644), &cfg, why, sizeof why), AW_OK, "%s", why);
    aw_edge_config_free(&cfg);
    free(buf);
}

/* ------------------------------------------------------------ key file */

TestSuite(edge_psk, .fini = s_cleanup);

Test(edge_psk, lookups)
{
    aw_psk_t *psk = NULL;
    char why[512];
    const char *text = "# identity key devices\n"
                       "\n"
                       "huaxin-gw 00ff10 huaxin-t3,huaxin-gas-1  # the gateway\n"
                       "   hongxing   0102 hongxing-temp-1\n";
    cr_assert_eq(aw_psk_load(s_write(text, 0600), &psk, why, sizeof why), AW_OK, "%s", why);
    cr_assert_str_eq(why, "");
    cr_assert_eq(aw_psk_count(psk), 2);
    size_t klen = 0;
    const uint8_t *key = aw_psk_key(psk, "huaxin-gw", 9, &klen);
    cr_assert(key);
    cr_assert_eq(klen, 3);
    cr_assert_eq(key[0], 0x00);
    cr_assert_eq(key[1], 0xff);
    cr_assert_eq(key[2], 0x10);
    cr_assert_null(aw_psk_key(psk, "huaxin", 6, &klen));
    cr_assert_null(aw_psk_key(psk, "huaxin-gw2", 10, &klen));
    cr_assert(aw_psk_owns(psk, "huaxin-gw", 9, "huaxin-gas-1"));
    cr_assert(aw_psk_owns(psk, "huaxin-gw", 9, "huaxin-t3"));
    cr_assert_not(aw_psk_owns(psk, "huaxin-gw", 9, "hongxing-temp-1"));
    cr_assert(aw_psk_owns(psk, "hongxing", 8, "hongxing-temp-1"));
    cr_assert_not(aw_psk_owns(psk, "nobody", 6, "hongxing-temp-1"));
    aw_psk_destroy(&psk);
    aw_psk_destroy(&psk);
}

static void s_psk_error(const char *text, const char *line, const char *frag)
{
    aw_psk_t *psk = NULL;
    char why[512];
    const char *path = s_write(text, 0600);
    cr_assert_eq(aw_psk_load(path, &psk, why, sizeof why), AW_ECONFIG, "accepted: %s", text);
    cr_assert_null(psk);
    char where[128];
    snprintf(where, sizeof where, "%s%s", path, line);
    cr_assert(strstr(why, where), "\"%s\" not in \"%s\"", where, why);
    cr_assert(strstr(why, frag), "\"%s\" not in \"%s\"", frag, why);
}

Test(edge_psk, errors_name_file_and_line)
{
    s_psk_error("# c\na 00 d1\nb 001 d2\n", ":3:", "key: odd number of hex digits");
    s_psk_error("a 0g d1\n", ":1:", "not hexadecimal");
    s_psk_error("a 00\n", ":1:", "expected <identity> <hex key>");
    s_psk_error("a 00 d1 extra\n", ":1:", "expected");
    s_psk_error("\n\na 00 Dev-1\n", ":3:", "devices: \"Dev-1\"");
    s_psk_error("a 00 d1,,\n", ":1:", "devices: empty item");
    s_psk_error("a 00 ,d1\n", ":1:", "devices: empty item");
    s_psk_error("0123456789012345678901234567890123456789012345678901234567890123456789 00 d\n",
                ":1:", "identity: longer than 64");
    char longkey[300] = "a ";
    for (int i = 0; i < 130; i++)
        strcat(longkey, "0");
    strcat(longkey, " d1\n");
    s_psk_error(longkey, ":1:", "key: longer than 64");
}

Test(edge_psk, duplicate_identity)
{
    aw_psk_t *psk = NULL;
    char why[512];
    cr_assert_eq(aw_psk_load(s_write("gw 00 d1\ngw 01 d2\n", 0600), &psk, why, sizeof why),
                 AW_ECONFIG);
    cr_assert(strstr(why, "\"gw\" is given twice"), "%s", why);
}

Test(edge_psk, warns_when_readable_by_others)
{
    aw_psk_t *psk = NULL;
    char why[512];
    cr_assert_eq(aw_psk_load(s_write("gw 00 d1\n", 0644), &psk, why, sizeof why), AW_OK);
    cr_assert(strstr(why, "chmod 600"), "%s", why);
    aw_psk_destroy(&psk);
}

Test(edge_psk, missing_file)
{
    aw_psk_t *psk = NULL;
    char why[512];
    cr_assert_eq(aw_psk_load("/nonexistent/psk", &psk, why, sizeof why), AW_ENOTFOUND);
    cr_assert(strstr(why, "/nonexistent/psk"));
}

/* [uplink]: the uplink's tuning keys, and center_key given as the center's .cert file. */
Test(edge_config, uplink_keys_and_center_key_from_a_certificate)
{
    char cert[64] = "/tmp/aw-edge-center-cert-XXXXXX";
    int fd = mkstemp(cert);
    cr_assert(fd >= 0);
    const char *pub = "#   ****  Generated by anwang keygen  ****\nmetadata\ncurve\n"
                      "    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n";
    cr_assert(write(fd, pub, strlen(pub)) == (ssize_t)strlen(pub));
    close(fd);
    char text[512];
    snprintf(text, sizeof text,
             MINIMAL "[uplink]\ncenter = tcp://center:7700\ncenter_key = %s\n"
                     "cert = /etc/anwang/edge.cert_secret\nheartbeat = 2s\ndead_after = 10s\n"
                     "window = 8\nbatch_records = 1000\n",
             cert);
    aw_edge_config cfg;
    char why[512] = "", key[AW_EDGE_Z85_LEN + 1];
    cr_assert_eq(aw_edge_config_load(s_write(text, 0644), &cfg, why, sizeof why), AW_OK, "%s", why);
    cr_assert_eq(cfg.heartbeat_ms, 2000);
    cr_assert_eq(cfg.dead_after_ms, 10000);
    cr_assert_eq(cfg.window, 8);
    cr_assert_eq(cfg.batch_records, 1000);
    cr_assert_eq(aw_edge_center_key(cfg.center_key, key), AW_OK);
    cr_assert_str_eq(key, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    aw_edge_config_free(&cfg);
    unlink(cert);

    aw_edge_config d;
    cr_assert_eq(aw_edge_config_load(s_write(MINIMAL, 0644), &d, why, sizeof why), AW_OK);
    cr_assert_eq(d.heartbeat_ms, 5000);
    cr_assert_eq(d.dead_after_ms, 15000);
    cr_assert_eq(d.window, 4);
    cr_assert_eq(d.batch_records, 5000);
    aw_edge_config_free(&d);

    s_expect_error(MINIMAL "[uplink]\nheartbeat = 5s\ndead_after = 5s\n", "[uplink] dead_after",
                   NULL);
    s_expect_error(MINIMAL "[uplink]\nwindow = 1\n", "[uplink] window", NULL);
    s_expect_error(MINIMAL "[uplink]\ncenter_key = /nonexistent/center.cert\n",
                   "[uplink] center_key", NULL);
}

/* [sirens]: the retry settings of alert delivery to sirens (siren.h). */
Test(edge_config, sirens_keys)
{
    aw_edge_config cfg;
    char why[512] = "";
    const char *text = MINIMAL "[sirens]\nmax_attempts = 3\nbackoff = 500ms\nbackoff_max = 4s\n"
                               "max_time = 2m\nin_flight = 4\n";
    cr_assert_eq(aw_edge_config_load(s_write(text, 0644), &cfg, why, sizeof why), AW_OK, "%s", why);
    cr_assert_eq(cfg.siren_max_attempts, 3);
    cr_assert_eq(cfg.siren_backoff_ms, 500);
    cr_assert_eq(cfg.siren_backoff_max_ms, 4000);
    cr_assert_eq(cfg.siren_max_time_ms, 120000);
    cr_assert_eq(cfg.siren_in_flight, 4);
    aw_edge_config_free(&cfg);

    /* the defaults are siren.h's */
    cr_assert_eq(aw_edge_config_load(s_write(MINIMAL, 0644), &cfg, why, sizeof why), AW_OK);
    cr_assert_eq(cfg.siren_max_attempts, 5);
    cr_assert_eq(cfg.siren_backoff_ms, 1000);
    cr_assert_eq(cfg.siren_backoff_max_ms, 30000);
    cr_assert_eq(cfg.siren_max_time_ms, 600000);
    cr_assert_eq(cfg.siren_in_flight, 16);
    aw_edge_config_free(&cfg);

    s_expect_error(MINIMAL "[sirens]\nmax_attempts = 0\n", ":5:", "[sirens] max_attempts",
                   "out of range", NULL);
    s_expect_error(MINIMAL "[sirens]\nin_flight = 2000\n", ":5:", "[sirens] in_flight",
                   "out of range", NULL);
    s_expect_error(MINIMAL "[sirens]\nbackoff = 1ms\n", ":5:", "[sirens] backoff", "out of range",
                   NULL);
    s_expect_error(MINIMAL "[sirens]\n\nmax_time = 2d\n", ":6:", "[sirens] max_time",
                   "out of range", NULL);
    s_expect_error(MINIMAL "[sirens]\nbackoff = soon\n", ":5:", "[sirens] backoff", NULL);
    s_expect_error(MINIMAL "[sirens]\nretries = 3\n", ":5:", "[sirens] retries", "unknown key",
                   NULL);
    s_expect_error(MINIMAL "[sirens]\nbackoff = 10s\nbackoff_max = 5s\n", "[sirens] backoff_max",
                   NULL);
}
