#include "edge_config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "log.h"

/* ------------------------------------------------------------ custom parsers */

static bool s_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int aw_edge_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > AW_EDGE_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!s_id_char(id[i]))
            return 0;
    return 1;
}

static int s_parse_id(const char *text, void *field, char *msg, size_t len)
{
    if (!aw_edge_id_valid(text)) {
        snprintf(msg, len, "\"%s\" is not an edge id ([a-z0-9._-], 1..64 characters)", text);
        return AW_EINVAL;
    }
    snprintf(field, AW_EDGE_ID_MAX + 1, "%s", text);
    return AW_OK;
}

/* A zone path is exactly two [a-z0-9-]+ segments: "<county>/<zone>". */
static int s_parse_zone(const char *text, void *field, char *msg, size_t len)
{
    size_t n = strlen(text), slashes = 0;
    bool ok = n > 0 && n <= AW_EDGE_PATH_MAX && text[0] != '/' && text[n - 1] != '/';
    for (size_t i = 0; ok && i < n; i++) {
        char c = text[i];
        if (c == '/')
            ok = text[i + 1] != '/', slashes++;
        else
            ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    }
    if (!ok || slashes != 1) {
        snprintf(msg, len, "\"%s\" is not a zone path like yueyang/rongjiawan", text);
        return AW_EINVAL;
    }
    snprintf(field, AW_EDGE_PATH_MAX + 1, "%s", text);
    return AW_OK;
}

static int s_parse_durability(const char *text, void *field, char *msg, size_t len)
{
    aw_edge_durability *d = field;
    int64_t ms = 0;
    if (strcmp(text, "fsync") == 0) {
        d->interval = 0, d->interval_ms = 0;
        return AW_OK;
    }
    if (strncmp(text, "interval:", 9) == 0 && aw_parse_int(text + 9, &ms) == AW_OK && ms >= 1 &&
        ms <= 60000) {
        d->interval = 1, d->interval_ms = ms;
        return AW_OK;
    }
    snprintf(msg, len, "\"%s\" is not fsync or interval:MS (MS 1..60000)", text);
    return AW_EINVAL;
}

static bool s_addr_valid(const char *a)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, a, buf) == 1 || inet_pton(AF_INET6, a, buf) == 1;
}

/* "0.0.0.0", "127.0.0.1, ::1": up to AW_EDGE_BIND_MAX IP literals. */
static int s_parse_bind(const char *text, void *field, char *msg, size_t len)
{
    aw_edge_config *cfg = (aw_edge_config *)((char *)field - offsetof(aw_edge_config, bind));
    size_t n = 0;
    const char *p = text;
    while (*p) {
        size_t skip = strspn(p, " ,\t"), tok;
        p += skip;
        if (!*p)
            break;
        tok = strcspn(p, " ,\t");
        if (n == AW_EDGE_BIND_MAX || tok >= AW_EDGE_ADDR_MAX) {
            snprintf(msg, len, "\"%s\": at most %d addresses", text, AW_EDGE_BIND_MAX);
            return AW_EINVAL;
        }
        memcpy(cfg->bind[n], p, tok);
        cfg->bind[n][tok] = '\0';
        if (!s_addr_valid(cfg->bind[n])) {
            snprintf(msg, len, "\"%s\" is not an IPv4 or IPv6 address", cfg->bind[n]);
            return AW_EINVAL;
        }
        n++, p += tok;
    }
    if (n == 0) {
        snprintf(msg, len, "needs at least one address (0.0.0.0 or :: for all)");
        return AW_EINVAL;
    }
    cfg->n_bind = n;
    return AW_OK;
}

/* ------------------------------------------------------------ the table */

#define F(field) offsetof(aw_edge_config, field)

static const aw_cfg_key s_keys[] = {
    {"edge", "id", AW_CFG_CUSTOM, F(id), NULL, 0, 0, NULL,
     "this edge's id, unique in the county ([a-z0-9._-]{1,64})", s_parse_id},
    {"edge", "zone", AW_CFG_CUSTOM, F(zone), NULL, 0, 0, NULL,
     "the zone this edge serves, as a grid path <county>/<zone>", s_parse_zone},
    {"edge", "data_dir", AW_CFG_STRING, F(data_dir), "/var/lib/anwang/edge", 0, 0, NULL,
     "directory of the LMDB store"},
    {"edge", "auto_register", AW_CFG_BOOL, F(auto_register), "no", 0, 0, NULL,
     "accept readings of devices not in the registry, stored as unassigned"},
    {"store", "map_size", AW_CFG_SIZE, F(map_size), "1G", 1 << 20, 0, NULL,
     "largest size of the LMDB map"},
    {"store", "max_bytes", AW_CFG_SIZE, F(max_bytes), "512M", 1 << 20, 0, NULL,
     "byte budget of the record log; oldest acked bulk records go first"},
    {"store", "retention", AW_CFG_DURATION, F(retention_ms), "30d", 0, 0, NULL,
     "acked records older than this are pruned (0 = keep)"},
    {"store", "durability", AW_CFG_CUSTOM, F(durability), "fsync", 0, 0, NULL,
     "fsync: ack after a flushed commit; interval:MS: ack after commit, flush every MS ms",
     s_parse_durability},
    {"coap", "bind", AW_CFG_CUSTOM, F(bind), "0.0.0.0", 0, 0, NULL,
     "addresses to listen on, comma-separated IP literals", s_parse_bind},
    {"coap", "port", AW_CFG_INT, F(port), "5683", 1, 65535, NULL, "plain CoAP UDP port"},
    {"coap", "plain", AW_CFG_BOOL, F(plain), "yes", 0, 0, NULL,
     "serve plain CoAP (for an isolated field LAN only)"},
    {"coap", "dtls", AW_CFG_BOOL, F(dtls), "no", 0, 0, NULL, "serve CoAP over DTLS-PSK"},
    {"coap", "dtls_port", AW_CFG_INT, F(dtls_port), "5684", 1, 65535, NULL, "DTLS UDP port"},
    {"coap", "psk_file", AW_CFG_STRING, F(psk_file), "", 0, 0, NULL,
     "key file: <identity> <hex key> <device>[,<device>...] per line"},
    {"coap", "max_payload", AW_CFG_SIZE, F(max_payload), "16K", 64, 1 << 20, NULL,
     "largest request body, block-wise included (4.13 beyond)"},
    {"coap", "max_future", AW_CFG_DURATION, F(max_future_ms), "5m", 0, 86400000, NULL,
     "refuse readings stamped further ahead of the edge clock"},
    {"uplink", "center", AW_CFG_STRING, F(center), "", 0, 0, NULL,
     "center endpoint, e.g. tcp://center:7700 (empty: no uplink)"},
    {"uplink", "center_key", AW_CFG_STRING, F(center_key), "", 0, 0, NULL,
     "the center's CURVE public key: Z85 (40 characters), or the path of its .cert file"},
    {"uplink", "cert", AW_CFG_STRING, F(cert), "", 0, 0, NULL,
     "this edge's CURVE certificate: NAME.cert_secret (NAME.cert beside it) from anwang keygen"},
    {"uplink", "rate_limit", AW_CFG_SIZE, F(rate_limit), "256K", 1024, 0, NULL,
     "catch-up budget in bytes per second (urgent lane exempt)"},
    {"uplink", "heartbeat", AW_CFG_DURATION, F(heartbeat_ms), "5s", 100, 600000, NULL,
     "send a heartbeat after this long without sending"},
    {"uplink", "dead_after", AW_CFG_DURATION, F(dead_after_ms), "15s", 300, 3600000, NULL,
     "declare the link down after this long without a message from the center"},
    {"uplink", "window", AW_CFG_INT, F(window), "4", 2, 64, NULL,
     "batches in flight, both lanes (one slot is kept for urgent batches)"},
    {"uplink", "batch_records", AW_CFG_INT, F(batch_records), "5000", 1, 10000, NULL,
     "records per batch"},
    {"sirens", "max_attempts", AW_CFG_INT, F(siren_max_attempts), "5", 1, 100, NULL,
     "POSTs of an alert to a siren before its delivery fails (a 4.xx fails at once)"},
    {"sirens", "backoff", AW_CFG_DURATION, F(siren_backoff_ms), "1s", 10, 600000, NULL,
     "wait before the second attempt; doubles per attempt up to backoff_max"},
    {"sirens", "backoff_max", AW_CFG_DURATION, F(siren_backoff_max_ms), "30s", 10, 3600000, NULL,
     "longest wait between attempts"},
    {"sirens", "max_time", AW_CFG_DURATION, F(siren_max_time_ms), "10m", 1000, 86400000, NULL,
     "a delivery fails this long after it was queued (or at the alert's expiry, if sooner)"},
    {"sirens", "in_flight", AW_CFG_INT, F(siren_in_flight), "16", 1, 1024, NULL,
     "POSTs to sirens outstanding at once"},
    {"log", "level", AW_CFG_ENUM, F(log_level), "info", 0, 0, aw_log_level_names,
     "error, warn, info or debug (SIGHUP reloads it)"},
};

#define NKEYS (sizeof s_keys / sizeof s_keys[0])

/* ------------------------------------------------------------ rules between keys */

static bool s_z85_valid(const char *s)
{
    static const char alphabet[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    if (strlen(s) != 40)
        return false;
    for (; *s; s++)
        if (!strchr(alphabet, *s))
            return false;
    return true;
}

/* "tcp://host:port" with a non-empty host and a port 1..65535. */
static bool s_endpoint_valid(const char *s)
{
    if (strncmp(s, "tcp://", 6) != 0)
        return false;
    const char *host = s + 6, *colon = strrchr(host, ':');
    int64_t port = 0;
    return colon && colon > host && aw_parse_int(colon + 1, &port) == AW_OK && port >= 1 &&
           port <= 65535;
}

/* Reads `public-key = "..."` from a CZMQ certificate file. */
static int s_key_from_cert(const char *path, char out[AW_EDGE_Z85_LEN + 1])
{
    FILE *f = fopen(path, "r");
    if (!f)
        return AW_ENOTFOUND;
    char line[512];
    int rv = AW_EINVAL;
    while (rv != AW_OK && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "public-key");
        const char *q = p ? strchr(p, '"') : NULL;
        if (!q || strlen(q + 1) < AW_EDGE_Z85_LEN + 1 || q[1 + AW_EDGE_Z85_LEN] != '"')
            continue;
        memcpy(out, q + 1, AW_EDGE_Z85_LEN);
        out[AW_EDGE_Z85_LEN] = '\0';
        rv = s_z85_valid(out) ? AW_OK : AW_EINVAL;
    }
    if (ferror(f))
        rv = AW_EIO;
    fclose(f);
    return rv;
}

int aw_edge_center_key(const char *value, char out[AW_EDGE_Z85_LEN + 1])
{
    if (s_z85_valid(value)) {
        snprintf(out, AW_EDGE_Z85_LEN + 1, "%s", value);
        return AW_OK;
    }
    return s_key_from_cert(value, out);
}

static int s_fail(char *why, size_t len, const char *path, const char *what)
{
    snprintf(why, len, "%s: %s", path ? path : "(defaults)", what);
    return AW_ECONFIG;
}

static int s_check_coap(const aw_edge_config *c, const char *path, char *why, size_t len)
{
    if (!c->plain && !c->dtls)
        return s_fail(why, len, path, "[coap] plain: plain = no needs dtls = yes");
    if (c->dtls && !*c->psk_file)
        return s_fail(why, len, path, "[coap] psk_file: required when dtls = yes");
    if (c->plain && c->dtls && c->port == c->dtls_port)
        return s_fail(why, len, path, "[coap] dtls_port: must differ from port");
    return AW_OK;
}

static int s_check_uplink(const aw_edge_config *c, const char *path, char *why, size_t len)
{
    if (*c->center && !s_endpoint_valid(c->center))
        return s_fail(why, len, path, "[uplink] center: not tcp://host:port");
    char key[AW_EDGE_Z85_LEN + 1];
    if (*c->center_key && aw_edge_center_key(c->center_key, key) != AW_OK)
        return s_fail(why, len, path,
                      "[uplink] center_key: not a Z85 key of 40 characters nor a readable "
                      "certificate with a public-key");
    if (*c->center && (!*c->center_key || !*c->cert))
        return s_fail(why, len, path, "[uplink] center_key and cert: required with a center");
    if (c->dead_after_ms <= c->heartbeat_ms)
        return s_fail(why, len, path, "[uplink] dead_after: must be longer than heartbeat");
    return AW_OK;
}

static int s_check_sirens(const aw_edge_config *c, const char *path, char *why, size_t len)
{
    if (c->siren_backoff_max_ms < c->siren_backoff_ms)
        return s_fail(why, len, path, "[sirens] backoff_max: must be at least backoff");
    return AW_OK;
}

static int s_check(const aw_edge_config *c, const char *path, char *why, size_t len)
{
    if (!*c->data_dir)
        return s_fail(why, len, path, "[edge] data_dir: must not be empty");
    if (c->max_bytes > c->map_size / 4 * 3)
        return s_fail(why, len, path,
                      "[store] max_bytes: must be at most 3/4 of map_size (room for tables "
                      "and copy-on-write pages)");
    int rv = s_check_coap(c, path, why, len);
    if (rv == AW_OK)
        rv = s_check_uplink(c, path, why, len);
    return rv != AW_OK ? rv : s_check_sirens(c, path, why, len);
}

int aw_edge_config_load(const char *path, aw_edge_config *cfg, char *why, size_t why_len)
{
    memset(cfg, 0, sizeof *cfg);
    int rv = aw_config_load(path, s_keys, NKEYS, cfg, why, why_len);
    if (rv != AW_OK)
        return rv;
    if ((rv = s_check(cfg, path, why, why_len)) != AW_OK)
        aw_edge_config_free(cfg);
    return rv;
}

void aw_edge_config_free(aw_edge_config *cfg)
{
    aw_config_free(s_keys, NKEYS, cfg);
}

void aw_edge_config_help(FILE *out)
{
    const char *section = "";
    for (size_t i = 0; i < NKEYS; i++) {
        const aw_cfg_key *k = &s_keys[i];
        if (strcmp(section, k->section) != 0)
            fprintf(out, "%s[%s]\n", i ? "\n" : "", section = k->section);
        fprintf(out, "# %s%s\n", k->help, k->def ? "" : " (required)");
        if (!k->def)
            fprintf(out, "%s = %s\n", k->name,
                    strcmp(k->name, "id") == 0 ? "rongjiawan-1" : "yueyang/rongjiawan");
        else
            fprintf(out, "%s%s = %s\n", *k->def ? "" : "# ", k->name, k->def);
    }
}
