/* center_config.c: anwang-center's settings as one declarative table. */
#include "center_config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "log.h"

static bool s_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static int s_parse_id(const char *text, void *field, char *msg, size_t len)
{
    size_t n = strlen(text);
    bool ok = n > 0 && n <= AW_CENTER_ID_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = s_id_char(text[i]);
    if (!ok) {
        snprintf(msg, len, "\"%s\" is not a center id ([a-z0-9._-], 1..64 characters)", text);
        return AW_EINVAL;
    }
    snprintf(field, AW_CENTER_ID_MAX + 1, "%s", text);
    return AW_OK;
}

/* "tcp://HOST:PORT" where HOST may be "*" and PORT is 1..65535. */
static int s_parse_bind(const char *text, void *field, char *msg, size_t len)
{
    const char *host = text + 6, *colon = strrchr(text, ':');
    int64_t port = 0;
    if (strncmp(text, "tcp://", 6) != 0 || !colon || colon <= host ||
        aw_parse_int(colon + 1, &port) != AW_OK || port < 1 || port > 65535) {
        snprintf(msg, len, "\"%s\" is not tcp://ADDRESS:PORT (e.g. tcp://*:7700)", text);
        return AW_EINVAL;
    }
    char *copy = strdup(text);
    if (!copy)
        return AW_ENOMEM;
    free(*(char **)field); /* the default's copy */
    *(char **)field = copy;
    return AW_OK;
}

/* "" (no HTTP API) or ADDRESS:PORT, IPv6 as [ADDRESS]:PORT. */
static int s_parse_http_bind(const char *text, void *field, char *msg, size_t len)
{
    if (*text && aw_http_bind_check(text) != AW_OK) {
        snprintf(msg, len,
                 "\"%s\" is not ADDRESS:PORT with a numeric address (e.g. 127.0.0.1:8080), or "
                 "empty for no HTTP API",
                 text);
        return AW_EINVAL;
    }
    char *copy = strdup(text);
    if (!copy)
        return AW_ENOMEM;
    free(*(char **)field); /* the default's copy */
    *(char **)field = copy;
    return AW_OK;
}

#define F(field) offsetof(aw_center_config, field)

static const aw_cfg_key s_keys[] = {
    {"center", "id", AW_CFG_CUSTOM, F(id), NULL, 0, 0, NULL,
     "this center's id, unique in the province ([a-z0-9._-]{1,64})", s_parse_id},
    {"center", "name", AW_CFG_STRING, F(name), "", 0, 0, NULL, "display name, e.g. 岳阳县"},
    {"center", "data_dir", AW_CFG_STRING, F(data_dir), "/var/lib/anwang/center", 0, 0, NULL,
     "directory of the LMDB store (created 0700)"},
    {"store", "map_size", AW_CFG_SIZE, F(map_size), "256M", 1 << 20, 0, NULL,
     "initial size of the LMDB map"},
    {"store", "map_max", AW_CFG_SIZE, F(map_max), "64G", 1 << 20, 0, NULL,
     "the map doubles as needed up to this"},
    {"zmq", "bind", AW_CFG_CUSTOM, F(bind), "tcp://*:7700", 0, 0, NULL,
     "ROUTER endpoint the edges connect to", s_parse_bind},
    {"zmq", "cert", AW_CFG_STRING, F(cert), "/etc/anwang/center.cert", 0, 0, NULL,
     "the center's CURVE certificate (CZMQ zcert; the secret key in <cert>_secret)"},
    {"zmq", "allow_dir", AW_CFG_STRING, F(allow_dir), "/etc/anwang/edges.d", 0, 0, NULL,
     "folder of edge public certificates (anwang keygen NAME.cert); re-read when it changes"},
    {"zmq", "allow_poll", AW_CFG_DURATION, F(allow_poll_ms), "2s", 100, 60000, NULL,
     "look for changes in allow_dir this often (SIGHUP re-reads it at once)"},
    {"replication", "link_timeout", AW_CFG_DURATION, F(link_timeout_ms), "30s", 1000, 3600000, NULL,
     "an edge silent this long is declared down (edges heartbeat every 5 s)"},
    {"replication", "heartbeat", AW_CFG_DURATION, F(heartbeat_ms), "5s", 100, 600000, NULL,
     "ZMTP heartbeat on each connection; a dead TCP peer is dropped after 3 of them"},
    {"replication", "down_resend", AW_CFG_DURATION, F(down_resend_ms), "10s", 100, 3600000, NULL,
     "resend down-channel messages that saw no DownAck progress this long"},
    {"replication", "max_message", AW_CFG_SIZE, F(max_message), "4M", 64 << 10, 64 << 20, NULL,
     "largest envelope accepted from an edge (bigger ones are refused and logged)"},
    {"http", "bind", AW_CFG_CUSTOM, F(http_bind), "", 0, 0, NULL,
     "address:port of the HTTP API and dashboard, e.g. 127.0.0.1:8080 (empty: no HTTP API)",
     s_parse_http_bind},
    {"http", "tokens", AW_CFG_STRING, F(http_tokens), "/etc/anwang/tokens", 0, 0, NULL,
     "the API's bearer tokens, one TOKEN ROLE NAME line each (SIGHUP re-reads it)"},
    {"http", "max_body", AW_CFG_SIZE, F(http_max_body), "1M", 1 << 10, 16 << 20, NULL,
     "largest request body (a registry import may have 16M)"},
    {"history", "keep_days", AW_CFG_INT, F(keep_days), "30", 1, 3650, NULL,
     "days of readings history kept for GET /api/v1/devices/<id>"},
    {"history", "step_s", AW_CFG_INT, F(history_step_s), "10", 0, 3600, NULL,
     "history keeps one reading per device metric per this many seconds (0 = every "
     "reading); every reading stays in the replicated log"},
    {"log", "level", AW_CFG_ENUM, F(log_level), "info", 0, 0, aw_log_level_names,
     "error, warn, info or debug (SIGHUP reloads it)"},
};

#define NKEYS (sizeof s_keys / sizeof s_keys[0])

static int s_fail(char *why, size_t len, const char *path, const char *what)
{
    snprintf(why, len, "%s: %s", path ? path : "(defaults)", what);
    return AW_ECONFIG;
}

static int s_check(const aw_center_config *c, const char *path, char *why, size_t len)
{
    if (!*c->data_dir)
        return s_fail(why, len, path, "[center] data_dir: must not be empty");
    if (c->map_max < c->map_size)
        return s_fail(why, len, path, "[store] map_max: must be at least map_size");
    if (!*c->cert)
        return s_fail(why, len, path, "[zmq] cert: must not be empty");
    if (!*c->allow_dir)
        return s_fail(why, len, path, "[zmq] allow_dir: must not be empty");
    if (*c->http_bind && !*c->http_tokens)
        return s_fail(why, len, path, "[http] tokens: must name the tokens file when bind is set");
    return AW_OK;
}

int aw_center_config_load(const char *path, aw_center_config *cfg, char *why, size_t why_len)
{
    memset(cfg, 0, sizeof *cfg);
    int rv = aw_config_load(path, s_keys, NKEYS, cfg, why, why_len);
    if (rv != AW_OK) {
        aw_center_config_free(cfg);
        return rv;
    }
    if ((rv = s_check(cfg, path, why, why_len)) != AW_OK)
        aw_center_config_free(cfg);
    return rv;
}

void aw_center_config_free(aw_center_config *cfg)
{
    aw_config_free(s_keys, NKEYS, cfg);
    free(cfg->bind); /* AW_CFG_CUSTOM: ours to free */
    cfg->bind = NULL;
    free(cfg->http_bind);
    cfg->http_bind = NULL;
}

void aw_center_config_help(FILE *out)
{
    const char *section = "";
    for (size_t i = 0; i < NKEYS; i++) {
        const aw_cfg_key *k = &s_keys[i];
        if (strcmp(section, k->section) != 0)
            fprintf(out, "%s[%s]\n", i ? "\n" : "", section = k->section);
        fprintf(out, "# %s%s\n", k->help, k->def ? "" : " (required)");
        if (!k->def)
            fprintf(out, "%s = yueyang\n", k->name);
        else
            fprintf(out, "%s%s = %s\n", *k->def ? "" : "# ", k->name, k->def);
    }
}
