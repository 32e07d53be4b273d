#include "sirens.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "clock.h"
#include "config.h"
#include "fleet.h"
#include "log.h"
#include "netaddr.h"

#define S_CF_JSON  50 /* application/json */
#define S_NAME_MAX (AW_REGISTRY_ID_MAX + AW_SIM_HOST_MAX + AW_SIM_PATH_MAX + 16)

typedef struct s_siren {
    char device[S_NAME_MAX];
    aw_sim_uri uri;      /* as registered: scheme, path */
    coap_address_t bind; /* where it listens (after --bind-map) */
    int fail;            /* --siren-fail: answer 5.03 */
} s_siren;

struct aw_sim_sirens {
    const aw_sim_opts *o;
    const aw_registry_t *reg;
    const aw_sim_psk_table *psk;
    coap_context_t *ctx;
    aw_sim_stats *stats;
    int log_fd, log_failed;
    s_siren *v;
    size_t n;
    coap_bin_const_t *keys; /* one per identity of psk, for the handshake */
    char *why;
    size_t why_len;
};

/* ------------------------------------------------------------ collecting */

static int s_add(aw_sim_sirens_t *p, const char *device, const char *uri)
{
    s_siren sn = {0};
    snprintf(sn.device, sizeof sn.device, "%s", device);
    if (aw_sim_uri_parse(uri, &sn.uri, p->why, p->why_len) != AW_OK)
        return AW_ECONFIG;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].device, sn.device) == 0) {
            snprintf(p->why, p->why_len, "siren %s is given twice", sn.device);
            return AW_ECONFIG;
        }
    s_siren *grown = realloc(p->v, (p->n + 1) * sizeof *grown);
    if (!grown)
        return AW_ENOMEM;
    p->v = grown;
    p->v[p->n++] = sn;
    return AW_OK;
}

static int s_collect_registry(aw_sim_sirens_t *p)
{
    size_t n;
    if (!p->reg) {
        snprintf(p->why, p->why_len,
                 "--sirens reads the sirens from the registry: add --registry FILE");
        return AW_ECONFIG;
    }
    const aw_device *d = aw_registry_devices(p->reg, &n);
    int rv = AW_OK;
    for (size_t i = 0; i < n && rv == AW_OK; i++) {
        int loud = d[i].kind == AW_DEVICE_SIREN || d[i].kind == AW_DEVICE_LOUDSPEAKER;
        if (loud && d[i].uri && (!p->o->zone || aw_sim_path_under(d[i].site->path, p->o->zone)))
            rv = s_add(p, d[i].id, d[i].uri);
    }
    return rv;
}

/* --siren [DEVICE=]URI: the device name is the URI's host:port/path when absent. */
static int s_collect_option(aw_sim_sirens_t *p, const char *spec)
{
    const char *scheme = strstr(spec, "://"), *eq = strchr(spec, '=');
    char name[S_NAME_MAX];
    if (eq && scheme && eq < scheme) {
        snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
        return s_add(p, name, eq + 1);
    }
    snprintf(name, sizeof name, "siren@%s", scheme ? scheme + 3 : spec);
    return s_add(p, name, spec);
}

static int s_mark_failing(aw_sim_sirens_t *p)
{
    for (size_t f = 0; f < p->o->n_siren_fail; f++) {
        size_t i = 0;
        while (i < p->n && strcmp(p->v[i].device, p->o->siren_fail[f]) != 0)
            i++;
        if (i == p->n) {
            snprintf(p->why, p->why_len,
                     "--siren-fail %s: no such siren here (sirens come from --sirens and --siren)",
                     p->o->siren_fail[f]);
            return AW_ECONFIG;
        }
        p->v[i].fail = 1;
    }
    return AW_OK;
}

/* ------------------------------------------------------------ binding */

/* Splits "host:port" or "[v6]:port" (@p len bytes of @p text). */
static int s_hostport(const char *text, size_t len, char *host, size_t cap, unsigned *port)
{
    const char *colon = NULL, *h = text;
    for (size_t i = 0; i < len; i++)
        if (text[i] == ':')
            colon = text + i;
    if (!colon)
        return AW_EINVAL;
    size_t hl = (size_t)(colon - text), pl = (size_t)(text + len - colon) - 1;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    char digits[8];
    int64_t v;
    if (hl == 0 || hl >= cap || pl == 0 || pl >= sizeof digits)
        return AW_EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    memcpy(digits, colon + 1, pl);
    digits[pl] = '\0';
    if (aw_parse_int(digits, &v) != AW_OK || v < 1 || v > 65535)
        return AW_EINVAL;
    *port = (unsigned)v;
    return AW_OK;
}

/* Applies the --bind-map that matches @p sn's host:port, if any. */
static int s_bind_target(aw_sim_sirens_t *p, const s_siren *sn, char *host, unsigned *port)
{
    snprintf(host, AW_SIM_HOST_MAX, "%s", sn->uri.host);
    *port = sn->uri.port;
    for (size_t i = 0; i < p->o->n_bind_maps; i++) {
        const char *m = p->o->bind_maps[i], *eq = strchr(m, '=');
        char fh[AW_SIM_HOST_MAX], th[AW_SIM_HOST_MAX];
        unsigned fp, tp;
        if (!eq || s_hostport(m, (size_t)(eq - m), fh, sizeof fh, &fp) != AW_OK ||
            s_hostport(eq + 1, strlen(eq + 1), th, sizeof th, &tp) != AW_OK) {
            snprintf(p->why, p->why_len,
                     "--bind-map %s: write FROM=TO as HOST:PORT=HOST:PORT, e.g. "
                     "10.0.0.7:5683=127.0.0.1:5690",
                     m);
            return AW_ECONFIG;
        }
        if (strcmp(fh, sn->uri.host) == 0 && fp == sn->uri.port) {
            snprintf(host, AW_SIM_HOST_MAX, "%s", th);
            *port = tp;
        }
    }
    return AW_OK;
}

static int s_same_place(const s_siren *a, const s_siren *b)
{
    return a->uri.secure == b->uri.secure && aw_sim_addr_equal(&a->bind, &b->bind);
}

/* Opens the endpoint of siren @p i unless an earlier siren shares it. */
static int s_endpoint(aw_sim_sirens_t *p, size_t i)
{
    s_siren *sn = &p->v[i];
    char where[80];
    for (size_t j = 0; j < i; j++) {
        if (!s_same_place(&p->v[j], sn))
            continue;
        if (strcmp(p->v[j].uri.path, sn->uri.path) == 0) {
            aw_sim_addr_str(&sn->bind, where, sizeof where);
            snprintf(p->why, p->why_len, "sirens %s and %s both listen on %s/%s", p->v[j].device,
                     sn->device, where, sn->uri.path);
            return AW_ECONFIG;
        }
        return AW_OK;
    }
    char reason[160] = "";
    errno = 0;
    if (aw_sim_udp_port_free(&sn->bind, reason, sizeof reason) == AW_OK &&
        coap_new_endpoint(p->ctx, &sn->bind, sn->uri.secure ? COAP_PROTO_DTLS : COAP_PROTO_UDP))
        return AW_OK;
    aw_sim_addr_str(&sn->bind, where, sizeof where);
    if (!reason[0])
        snprintf(reason, sizeof reason, "%s", errno ? strerror(errno) : "libcoap refused");
    snprintf(p->why, p->why_len,
             "siren %s cannot listen on %s: %s; is another devsim or an edge using it? Stop it, "
             "or move the siren with --bind-map",
             sn->device, where, reason);
    return AW_EAGAIN;
}

static void s_on_post(coap_resource_t *res, coap_session_t *cs, const coap_pdu_t *req,
                      const coap_string_t *query, coap_pdu_t *resp);

/* One resource per distinct path; the handler finds the siren by local address. */
static int s_resource(aw_sim_sirens_t *p, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(p->v[j].uri.path, p->v[i].uri.path) == 0)
            return AW_OK;
    const char *path = p->v[i].uri.path;
    coap_str_const_t *name = coap_new_str_const((const uint8_t *)path, strlen(path));
    coap_resource_t *r = name ? coap_resource_init(name, COAP_RESOURCE_FLAGS_RELEASE_URI) : NULL;
    if (!r) {
        coap_delete_str_const(name);
        return AW_ENOMEM;
    }
    coap_resource_set_userdata(r, p);
    coap_register_handler(r, COAP_REQUEST_POST, s_on_post);
    coap_add_resource(p->ctx, r);
    return AW_OK;
}

static int s_bind_all(aw_sim_sirens_t *p)
{
    int rv = AW_OK;
    for (size_t i = 0; i < p->n && rv == AW_OK; i++) {
        char host[AW_SIM_HOST_MAX];
        unsigned port;
        rv = s_bind_target(p, &p->v[i], host, &port);
        if (rv == AW_OK)
            rv = aw_sim_resolve(host, (uint16_t)port, &p->v[i].bind, p->why, p->why_len);
        if (rv == AW_OK)
            rv = s_endpoint(p, i);
        if (rv == AW_OK)
            rv = s_resource(p, i);
    }
    return rv;
}

/* ------------------------------------------------------------ DTLS */

static const coap_bin_const_t *s_psk_for(coap_bin_const_t *identity, coap_session_t *cs, void *arg)
{
    aw_sim_sirens_t *p = arg;
    const aw_sim_psk *id = aw_sim_psk_find(p->psk, identity->s, identity->length);
    return id ? &p->keys[id - p->psk->ids] : NULL;
}

static int s_setup_dtls(aw_sim_sirens_t *p)
{
    int secure = 0;
    for (size_t i = 0; i < p->n; i++)
        secure |= p->v[i].uri.secure;
    if (!secure)
        return AW_OK;
    if (!p->psk || p->psk->n == 0) {
        snprintf(p->why, p->why_len,
                 "coaps:// sirens need --psk-file FILE: the identity that owns the siren is "
                 "what the edge must use to reach it");
        return AW_ECONFIG;
    }
    if (!(p->keys = calloc(p->psk->n, sizeof *p->keys)))
        return AW_ENOMEM;
    for (size_t i = 0; i < p->psk->n; i++)
        p->keys[i] = (coap_bin_const_t){p->psk->ids[i].key_len, p->psk->ids[i].key};
    coap_dtls_spsk_t sp = {.version = COAP_DTLS_SPSK_SETUP_VERSION,
                           .validate_id_call_back = s_psk_for,
                           .id_call_back_arg = p};
    sp.psk_info.key = p->keys[0];
    if (!coap_dtls_is_supported() || !coap_context_set_psk2(p->ctx, &sp)) {
        snprintf(p->why, p->why_len, "this libcoap cannot serve DTLS-PSK");
        return AW_EAGAIN;
    }
    return AW_OK;
}

/* ------------------------------------------------------------ requests */

static const s_siren *s_find(const aw_sim_sirens_t *p, const coap_address_t *local,
                             const coap_str_const_t *path)
{
    for (size_t i = 0; i < p->n; i++) {
        const s_siren *sn = &p->v[i];
        if (strlen(sn->uri.path) == path->length &&
            memcmp(sn->uri.path, path->s, path->length) == 0 &&
            coap_address_get_port(local) == coap_address_get_port(&sn->bind) &&
            (coap_address_isany(&sn->bind) || aw_sim_addr_equal(local, &sn->bind)))
            return sn;
    }
    return NULL;
}

/* The DTLS client must use an identity that owns the siren. */
static int s_identity_ok(const aw_sim_sirens_t *p, const s_siren *sn, coap_session_t *cs, char *id,
                         size_t len)
{
    const coap_bin_const_t *b = coap_session_get_psk_identity(cs);
    snprintf(id, len, "%.*s", b ? (int)b->length : 0, b ? (const char *)b->s : "");
    const aw_sim_psk *who = b ? aw_sim_psk_find(p->psk, b->s, b->length) : NULL;
    return who && aw_sim_psk_owns(who, sn->device);
}

/* Decides the answer to one POST; fills @p a when the payload is read. */
static unsigned s_judge(const aw_sim_sirens_t *p, const s_siren *sn, coap_session_t *cs,
                        const coap_pdu_t *req, aw_sim_alert *a, char *id, char *why, size_t len)
{
    coap_opt_iterator_t it;
    coap_opt_t *cf = coap_check_option(req, COAP_OPTION_CONTENT_FORMAT, &it);
    size_t n = 0, offset, total;
    const uint8_t *data = NULL;
    if (sn->uri.secure && !s_identity_ok(p, sn, cs, id, AW_SIM_PSK_MAX_IDENTITY + 1)) {
        snprintf(why, len, "PSK identity \"%.64s\" does not own device %.64s", id, sn->device);
        return COAP_RESPONSE_CODE(403);
    }
    if (cf && coap_decode_var_bytes(coap_opt_value(cf), coap_opt_length(cf)) != S_CF_JSON) {
        snprintf(why, len, "send the alert as application/json (content-format 50)");
        return COAP_RESPONSE_CODE(415);
    }
    coap_get_data_large(req, &n, &data, &offset, &total);
    if (aw_sim_alert_parse(data, n, a, why, len) != AW_OK)
        return COAP_RESPONSE_CODE(400);
    return sn->fail ? COAP_RESPONSE_CODE(503) : COAP_RESPONSE_CODE(204);
}

static void s_count(aw_sim_sirens_t *p, unsigned code, const aw_sim_alert *a)
{
    p->stats->events++;
    if (code == COAP_RESPONSE_CODE(204)) {
        p->stats->alerts++;
        p->stats->drills += (uint64_t)a->drill;
    } else if (code == COAP_RESPONSE_CODE(503)) {
        p->stats->refused_on_purpose++;
    } else {
        p->stats->rejected++;
    }
}

static void s_record(aw_sim_sirens_t *p, const aw_sim_alert *a, const aw_sim_receipt *r)
{
    char line[1024];
    aw_sim_alert_describe(a, r, line, sizeof line);
    if (r->error || strcmp(r->code, "2.04") != 0 || (!a->drill && !strcmp(a->status, "Actual")))
        aw_warn("%s", line);
    else
        aw_info("%s", line);
    if (p->log_fd < 0 || p->log_failed)
        return;
    char *text = aw_sim_alert_log_line(a, r);
    size_t len = text ? strlen(text) : 0;
    if (!text || write(p->log_fd, text, len) != (ssize_t)len) {
        p->log_failed = 1;
        aw_error("--siren-log: write failed: %s; stopping, since the log would be incomplete",
                 text ? strerror(errno) : "out of memory");
    }
    free(text);
}

static void s_on_post(coap_resource_t *res, coap_session_t *cs, const coap_pdu_t *req,
                      const coap_string_t *query, coap_pdu_t *resp)
{
    aw_sim_sirens_t *p = coap_resource_get_userdata(res);
    const s_siren *sn = s_find(p, coap_session_get_addr_local(cs), coap_resource_get_uri_path(res));
    aw_sim_alert a = {.event = "", .status = "", .msg_type = "", .identifier = ""};
    char why[256] = "", id[AW_SIM_PSK_MAX_IDENTITY + 1] = "", peer[80], code[8];
    unsigned c = COAP_RESPONSE_CODE(404);
    if (sn)
        c = s_judge(p, sn, cs, req, &a, id, why, sizeof why);
    else
        snprintf(why, sizeof why, "no siren listens on this address and path");
    aw_sim_addr_str(coap_session_get_addr_remote(cs), peer, sizeof peer);
    aw_sim_code_name(c, code, sizeof code);
    int accepted = c == COAP_RESPONSE_CODE(204) || c == COAP_RESPONSE_CODE(503);
    aw_sim_receipt r = {sn ? sn->device : "?", aw_wall_ms(), code,
                        accepted ? NULL : why, peer,         sn && sn->uri.secure ? id : NULL};
    s_count(p, c, &a);
    s_record(p, &a, &r);
    aw_sim_alert_clear(&a);
    coap_pdu_set_code(resp, (coap_pdu_code_t)c);
    if (!accepted)
        coap_add_data(resp, strlen(why), (const uint8_t *)why);
}

/* ------------------------------------------------------------ lifecycle */

static void s_announce(const aw_sim_sirens_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        char where[80];
        aw_sim_addr_str(&p->v[i].bind, where, sizeof where);
        aw_info("siren %s listening on %s://%s/%s%s", p->v[i].device,
                p->v[i].uri.secure ? "coaps" : "coap", where, p->v[i].uri.path,
                p->v[i].fail ? " (answers 5.03: --siren-fail)" : "");
    }
}

int aw_sim_sirens_new(const aw_sim_opts *o, const aw_registry_t *reg, const aw_sim_psk_table *psk,
                      coap_context_t *ctx, aw_sim_stats *stats, int log_fd, aw_sim_sirens_t **out,
                      char *why, size_t why_len)
{
    aw_sim_sirens_t *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return AW_ENOMEM;
    *p = (aw_sim_sirens_t){.o = o,
                           .reg = reg,
                           .psk = psk,
                           .ctx = ctx,
                           .stats = stats,
                           .log_fd = log_fd,
                           .why = why,
                           .why_len = why_len};
    int rv = o->sirens_from_registry ? s_collect_registry(p) : AW_OK;
    for (size_t i = 0; i < o->n_sirens && rv == AW_OK; i++)
        rv = s_collect_option(p, o->sirens[i]);
    if (rv == AW_OK && p->n == 0) {
        snprintf(why, why_len,
                 "no siren to simulate: the registry has no siren or loudspeaker "
                 "with a uri%s; or give --siren URI",
                 o->zone ? " under --zone" : "");
        rv = AW_ECONFIG;
    }
    if (rv == AW_OK)
        rv = s_mark_failing(p);
    coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
    if (rv == AW_OK)
        rv = s_setup_dtls(p);
    if (rv == AW_OK)
        rv = s_bind_all(p);
    if (rv != AW_OK) {
        aw_sim_sirens_destroy(&p);
        return rv;
    }
    s_announce(p);
    p->why = NULL;
    *out = p;
    return AW_OK;
}

void aw_sim_sirens_destroy(aw_sim_sirens_t **p_p)
{
    if (!p_p || !*p_p)
        return;
    free((*p_p)->v);
    free((*p_p)->keys);
    free(*p_p);
    *p_p = NULL;
}

size_t aw_sim_sirens_count(const aw_sim_sirens_t *p)
{
    return p ? p->n : 0;
}

int aw_sim_sirens_log_failed(const aw_sim_sirens_t *p)
{
    return p && p->log_failed;
}
