#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

/* A program's config struct and its table, as a daemon would declare them. */
typedef struct demo_cfg {
    char *edge_id;
    uint64_t max_bytes;
    int64_t retention_ms;
    int64_t port;
    int plain_coap;
    int durability;
    int64_t sync_interval_ms; /* custom: "fsync" = 0, "interval:MS" = MS */
} demo_cfg;

static int s_parse_durability(const char *text, void *field, char *msg, size_t len)
{
    int64_t ms = 0;
    if (strcmp(text, "fsync") == 0 ||
        (strncmp(text, "interval:", 9) == 0 && aw_parse_int(text + 9, &ms) == AW_OK && ms > 0)) {
        *(int64_t *)field = ms;
        return AW_OK;
    }
    snprintf(msg, len, "\"%s\" is not fsync or interval:MS", text);
    return AW_EINVAL;
}

static const char *const s_durability[] = {"fsync", "interval", NULL};

static const aw_cfg_key s_keys[] = {
    {"edge", "id", AW_CFG_STRING, offsetof(demo_cfg, edge_id), NULL, 0, 0, NULL, "edge id"},
    {"store", "max_bytes", AW_CFG_SIZE, offsetof(demo_cfg, max_bytes), "1G", 1 << 20, 0, NULL,
     "log budget"},
    {"store", "retention", AW_CFG_DURATION, offsetof(demo_cfg, retention_ms), "30d", 0, 0, NULL,
     "retention"},
    {"coap", "port", AW_CFG_INT, offsetof(demo_cfg, port), "5683", 1, 65535, NULL, "UDP port"},
    {"coap", "plain", AW_CFG_BOOL, offsetof(demo_cfg, plain_coap), "yes", 0, 0, NULL, "5683 on"},
    {"store", "durability", AW_CFG_ENUM, offsetof(demo_cfg, durability), "fsync", 0, 0,
     s_durability, "commit mode"},
    {"store", "sync", AW_CFG_CUSTOM, offsetof(demo_cfg, sync_interval_ms), "fsync", 0, 0, NULL,
     "fsync or interval:MS", s_parse_durability},
};
#define NKEYS (sizeof s_keys / sizeof s_keys[0])

/* Writes @p text to a fresh temp file; returns its path (static buffer). */
static const char *s_write(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/aw-config-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    return path;
}

Test(config, usage_example)
{
    const char *path = s_write("[edge]\nid = rongjiawan\n\n[store]\nmax_bytes = 2G\n"
                               "retention = 7d\ndurability = interval\nsync = interval:10\n");
    demo_cfg cfg = {0};
    char why[256];
    int rv = aw_config_load(path, s_keys, NKEYS, &cfg, why, sizeof why);
    cr_assert_eq(rv, AW_OK, "%s", why);
    cr_expect_str_eq(cfg.edge_id, "rongjiawan");
    cr_expect_eq(cfg.max_bytes, 2ull << 30);
    cr_expect_eq(cfg.retention_ms, 7ll * 86400 * 1000);
    cr_expect_eq(cfg.port, 5683); /* default */
    cr_expect_eq(cfg.plain_coap, 1);
    cr_expect_eq(cfg.durability, 1);
    cr_expect_eq(cfg.sync_interval_ms, 10);
    aw_config_free(s_keys, NKEYS, &cfg);
    aw_config_free(s_keys, NKEYS, &cfg); /* safe twice */
    cr_expect_null(cfg.edge_id);
    unlink(path);
}

/* Loads @p text and expects failure with @p fragment in the message. */
static void s_expect_error(const char *text, int code, const char *fragment)
{
    const char *path = s_write(text);
    demo_cfg cfg = {0};
    char why[256] = "";
    int rv = aw_config_load(path, s_keys, NKEYS, &cfg, why, sizeof why);
    cr_expect_eq(rv, code, "rv %d for %s (%s)", rv, text, why);
    cr_expect(strstr(why, fragment) != NULL, "'%s' lacks '%s'", why, fragment);
    cr_expect(strstr(why, path) != NULL, "'%s' does not name the file", why);
    cr_expect_null(cfg.edge_id, "a failed load frees what it set");
    unlink(path);
}

Test(config, errors_name_file_line_and_key)
{
    s_expect_error("[edge]\nid = a\n[store]\nmax_bytes = 12Q\n", AW_ECONFIG,
                   ":4: [store] max_bytes: \"12Q\" is not a size");
    s_expect_error("[edge]\nid = a\n[coap]\nport = 70000\n", AW_ECONFIG,
                   ":4: [coap] port: \"70000\" is out of range (1..65535)");
    s_expect_error("[edge]\nid = a\n[coap]\nprot = 1\n", AW_ECONFIG,
                   ":4: [coap] prot: unknown key");
    s_expect_error("[edge]\nid = a\nid = b\n", AW_ECONFIG, ":3: [edge] id: given twice");
    s_expect_error("[edge]\nid = a\n[store]\ndurability = sometimes\n", AW_ECONFIG,
                   "not one of: fsync interval");
    s_expect_error("[coap]\nport = 5683\n", AW_ECONFIG, "[edge] id is required");
    s_expect_error("[edge]\nid = a\n[coap]\nplain = maybe\n", AW_ECONFIG, "is not yes or no");
    s_expect_error("[edge]\nid = a\nthis line has no equals sign\n", AW_ECONFIG, ":3:");
    s_expect_error("[edge]\nid = a\n[store]\nretention = 5 weeks\n", AW_ECONFIG,
                   "is not a duration");
    s_expect_error("[edge]\nid = a\n[store]\nsync = interval:x\n", AW_ECONFIG,
                   ":4: [store] sync: \"interval:x\" is not fsync or interval:MS");
}

Test(config, missing_file)
{
    demo_cfg cfg = {0};
    char why[256] = "";
    cr_expect_eq(aw_config_load("/nonexistent/edge.conf", s_keys, NKEYS, &cfg, why, sizeof why),
                 AW_ENOTFOUND);
    cr_expect(strstr(why, "/nonexistent/edge.conf: cannot open") != NULL, "%s", why);
}

Test(config, parsers)
{
    uint64_t size;
    int64_t ms, i;
    cr_expect_eq(aw_parse_size("512M", &size), AW_OK);
    cr_expect_eq(size, 512ull << 20);
    cr_expect_eq(aw_parse_size("1048576", &size), AW_OK);
    cr_expect_eq(size, 1048576);
    cr_expect_eq(aw_parse_size("-1M", &size), AW_EINVAL);
    cr_expect_eq(aw_parse_size("99999999999T", &size), AW_ERANGE);
    cr_expect_eq(aw_parse_duration("10ms", &ms), AW_OK);
    cr_expect_eq(ms, 10);
    cr_expect_eq(aw_parse_duration("15", &ms), AW_OK);
    cr_expect_eq(ms, 15000);
    cr_expect_eq(aw_parse_duration("2h", &ms), AW_OK);
    cr_expect_eq(ms, 7200000);
    cr_expect_eq(aw_parse_duration("1.5s", &ms), AW_EINVAL);
    cr_expect_eq(aw_parse_int("42x", &i), AW_EINVAL);
    cr_expect_eq(aw_parse_int("", &i), AW_EINVAL);
    cr_expect_eq(aw_parse_int("-7", &i), AW_OK);
    cr_expect_eq(i, -7);
}
