/* cli_edge.c: `anwang edge ...` commands, which ask an edge over CoAP. */
#include <coap3/coap.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>

#include "cli.h"
#include "cli_out.h"

#define S_DEFAULT_URI "coap://127.0.0.1:5683"
#define S_PSK_MAX     64
#define S_BODY_MAX    (1 << 20)

const char aw_cli_edge_status_help[] =
    "Usage: anwang edge status [URI] [--json] [--timeout S]\n"
    "                          [--psk-identity ID (--psk-key HEX | --psk-file FILE)]\n"
    "\n"
    "Asks one edge for its health (CoAP GET /status) and shows it: the uplink to the\n"
    "center and when the center last acknowledged, the backlog per lane, storage use,\n"
    "devices online and stale, active alarms, and the clock (flagged when it reads\n"
    "before the build date or is more than 5 min off the center). Keys this version\n"
    "does not know are shown as they come.\n"
    "\n"
    "Arguments\n"
    "  URI                 coap://HOST[:PORT] (UDP, default port 5683) or coaps://HOST[:PORT]\n"
    "                      (DTLS-PSK, default 5684); default " S_DEFAULT_URI ". A demo\n"
    "                      county line \"ZONE URI\" ($ANWANG_EDGE_1) works too.\n"
    "\n"
    "Options\n"
    "      --json                 print the edge's JSON, indented (for scripts)\n"
    "  -t, --timeout S            give up after S seconds (default 5)\n"
    "      --psk-identity ID      DTLS identity, for coaps://\n"
    "      --psk-key HEX          its key, as hex (as in the edge's key file)\n"
    "      --psk-file FILE        the key file of SPEC §3 (<identity> <hex key> <devices>):\n"
    "                             the key of --psk-identity, or the first line's\n"
    "  -h, --help                 this help\n"
    "\n"
    "Examples\n"
    "  anwang edge status coap://127.0.1.1:5683\n"
    "  anwang edge status \"$ANWANG_EDGE_2\" --json | jq .backlog\n"
    "  anwang edge status coaps://10.8.0.21 --psk-file /etc/anwang/psk.keys --psk-identity ops\n"
    "\n"
    "Exit codes: 0 ok, 64 bad arguments, 69 the edge did not answer (or refused), 65 its\n"
    "answer is not JSON, 76 an error answer, 77 refused credentials.\n";

typedef struct s_args {
    const char *uri;
    const char *identity;
    const char *key_hex;
    const char *key_file;
    double timeout_s;
    bool json;
} s_args;

/* One request and its outcome, filled by the libcoap callbacks. */
typedef struct s_req {
    bool done;
    int code;   /* response code as class*100+detail (205), 0 = none */
    int nack;   /* -1 = none, else a coap_nack_reason_t */
    char *body; /* malloc'd, NUL-terminated */
    size_t len;
    char coap_log[256]; /* libcoap's last warning, for the message */
} s_req;

/* libcoap's callbacks carry no user pointer in 3.x's context: one request per process. */
static s_req *s_current;

/* ------------------------------------------------------------ arguments */

static int s_parse(const aw_cli_cmd *cmd, int argc, char **argv, s_args *a)
{
    enum { O_JSON = 256, O_ID, O_KEY, O_FILE };
    static const struct option opts[] = {{"json", no_argument, NULL, O_JSON},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"psk-identity", required_argument, NULL, O_ID},
                                         {"psk-key", required_argument, NULL, O_KEY},
                                         {"psk-file", required_argument, NULL, O_FILE},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    *a = (s_args){.uri = S_DEFAULT_URI, .timeout_s = 5};
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, ":t:h", opts, NULL)) != -1) {
        switch (c) {
        case O_JSON:
            a->json = true;
            break;
        case O_ID:
            a->identity = optarg;
            break;
        case O_KEY:
            a->key_hex = optarg;
            break;
        case O_FILE:
            a->key_file = optarg;
            break;
        case 't':
            a->timeout_s = strtod(optarg, &end);
            if (*end || end == optarg || !(a->timeout_s > 0 && a->timeout_s <= 3600))
                return aw_cli_usage_error(cmd, "--timeout takes seconds (0 < S <= 3600), not '%s'",
                                          optarg);
            break;
        case 'h':
            aw_cli_help(cmd);
            return EX_OK;
        default:
            return aw_cli_bad_option(cmd, argv, c);
        }
    }
    if (optind + 1 < argc)
        return aw_cli_usage_error(cmd, "one URI only (got '%s' too)", argv[optind + 1]);
    if (optind < argc) {
        const char *sp = strrchr(argv[optind], ' '); /* "ZONE URI" from DIR/env */
        a->uri = sp ? sp + 1 : argv[optind];
    }
    if (a->key_hex && a->key_file)
        return aw_cli_usage_error(cmd, "give --psk-key or --psk-file, not both");
    return -1;
}

/* Decodes hex @p hex into @p out; returns the length or -1. */
static int s_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex);
    if (n == 0 || n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        if (!isxdigit((unsigned char)hex[i]) || !isxdigit((unsigned char)hex[i + 1]))
            return -1;
        char b[3] = {hex[i], hex[i + 1], 0};
        out[i / 2] = (uint8_t)strtoul(b, NULL, 16);
    }
    return (int)(n / 2);
}

/* Finds the identity's line (or the first one) in a SPEC §3 key file. Returns -1 to go on. */
static int s_key_from_file(s_args *a, char *id, size_t idlen, char *hex, size_t hexlen)
{
    FILE *f = fopen(a->key_file, "r");
    if (f == NULL) {
        aw_cli_err("cannot read --psk-file %s: %s", a->key_file, strerror(errno));
        return EX_NOINPUT;
    }
    char line[1024], fid[256], fkey[256];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        if (sscanf(line, " %255s %255s", fid, fkey) != 2 || fid[0] == '#')
            continue;
        found = a->identity == NULL || strcmp(fid, a->identity) == 0;
    }
    fclose(f);
    if (!found) {
        aw_cli_err("--psk-file %s has no line for identity '%s'", a->key_file,
                   a->identity ? a->identity : "(any)");
        return EX_DATAERR;
    }
    snprintf(id, idlen, "%s", fid);
    snprintf(hex, hexlen, "%s", fkey);
    return -1;
}

/* ------------------------------------------------------------ CoAP */

static void s_coap_log(coap_log_t level, const char *message)
{
    if (s_current != NULL && level <= LOG_WARNING) {
        snprintf(s_current->coap_log, sizeof s_current->coap_log, "%s", message);
        s_current->coap_log[strcspn(s_current->coap_log, "\n")] = '\0';
    }
}

static coap_response_t s_response(coap_session_t *session, const coap_pdu_t *sent,
                                  const coap_pdu_t *received, const coap_mid_t mid)
{
    s_req *r = s_current;
    coap_pdu_code_t code = coap_pdu_get_code(received);
    size_t len = 0, offset = 0, total = 0;
    const uint8_t *data = NULL;
    r->code = COAP_RESPONSE_CLASS(code) * 100 + (code & 0x1F);
    if (coap_get_data_large(received, &len, &data, &offset, &total) && len < S_BODY_MAX) {
        free(r->body);
        if ((r->body = malloc(len + 1)) != NULL) {
            memcpy(r->body, data, len);
            r->body[len] = '\0';
            r->len = len;
        }
    }
    r->done = true;
    return COAP_RESPONSE_OK;
}

static void s_nack(coap_session_t *session, const coap_pdu_t *sent, const coap_nack_reason_t reason,
                   const coap_mid_t mid)
{
    s_current->nack = (int)reason;
    s_current->done = true;
}

/* Resolves HOST:PORT of @p uri into @p dst; false on failure (message printed). */
static bool s_resolve(const coap_uri_t *uri, coap_address_t *dst)
{
    char host[256], port[8];
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *res = NULL;
    snprintf(host, sizeof host, "%.*s", (int)uri->host.length, (const char *)uri->host.s);
    snprintf(port, sizeof port, "%u", (unsigned)uri->port);
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        aw_cli_err("cannot resolve '%s': %s", host, gai_strerror(rc));
        aw_cli_hint("check the host name in the URI, or use the edge's IP address");
        return false;
    }
    coap_address_init(dst);
    dst->size = res->ai_addrlen;
    memcpy(&dst->addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return true;
}

/* A DTLS identity and key. */
typedef struct s_psk {
    char id[256];
    uint8_t key[S_PSK_MAX];
    int klen;
} s_psk;

/* Gets the PSK from the options (or the key file). Returns -1 to go on, else an exit code. */
static int s_psk_load(s_args *a, s_psk *p)
{
    char hex[256];
    snprintf(p->id, sizeof p->id, "%s", a->identity ? a->identity : "");
    snprintf(hex, sizeof hex, "%s", a->key_hex ? a->key_hex : "");
    int rc = a->key_file ? s_key_from_file(a, p->id, sizeof p->id, hex, sizeof hex) : -1;
    if (rc >= 0)
        return rc;
    if (!*p->id || (p->klen = s_unhex(hex, p->key, sizeof p->key)) < 0) {
        aw_cli_err("coaps:// needs a PSK identity and its key as hex (1-%d bytes)", S_PSK_MAX);
        aw_cli_hint("--psk-identity ID --psk-key HEX, or --psk-file FILE [--psk-identity ID]");
        return EX_USAGE;
    }
    return -1;
}

/* A client session to @p dst, plain (@p psk NULL) or DTLS-PSK; NULL on failure. */
static coap_session_t *s_session(coap_context_t *ctx, const coap_address_t *dst, const s_psk *psk)
{
    if (psk == NULL)
        return coap_new_client_session(ctx, NULL, dst, COAP_PROTO_UDP);
    coap_dtls_cpsk_t setup = {.version = COAP_DTLS_CPSK_SETUP_VERSION};
    setup.psk_info.identity.s = (const uint8_t *)psk->id;
    setup.psk_info.identity.length = strlen(psk->id);
    setup.psk_info.key.s = psk->key;
    setup.psk_info.key.length = (size_t)psk->klen;
    return coap_new_client_session_psk2(ctx, NULL, dst, COAP_PROTO_DTLS, &setup);
}

/* Sends GET /status on @p s; false when it could not be queued. */
static bool s_send_get(coap_session_t *s)
{
    uint8_t token[8];
    size_t tlen = 0;
    coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, coap_new_message_id(s),
                                    coap_session_max_pdu_size(s));
    if (pdu == NULL)
        return false;
    coap_session_new_token(s, &tlen, token);
    if (!coap_add_token(pdu, tlen, token) ||
        !coap_add_option(pdu, COAP_OPTION_URI_PATH, 6, (const uint8_t *)"status")) {
        coap_delete_pdu(pdu);
        return false;
    }
    return coap_send(s, pdu) != COAP_INVALID_MID;
}

/* Runs the I/O loop until an answer, a NACK or the deadline. */
static void s_wait(coap_context_t *ctx, s_req *r, double timeout_s)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        coap_io_process(ctx, 100);
        clock_gettime(CLOCK_MONOTONIC, &t);
        double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
        if (r->done || el >= timeout_s)
            return;
    }
}

/* Says what went wrong with the request and returns the exit code. */
static int s_failed(const char *uri, bool secure, const s_req *r, double timeout_s)
{
    static const char *const nacks[] = {
        "no answer after the retransmissions", "the request could not be delivered",
        "the edge reset the exchange (RST)", "the DTLS handshake failed",
        "the network refused it (ICMP: nothing listens there?)"};
    const char *why = !r->done ? "no answer" : r->nack >= 0 && r->nack <= 4 ? nacks[r->nack] : "?";
    if (!r->done)
        aw_cli_err("%s: no answer within %g s", uri, timeout_s);
    else
        aw_cli_err("%s: %s", uri, why);
    if (r->coap_log[0])
        fprintf(stderr, "  libcoap: %s\n", r->coap_log);
    bool tls = r->done && r->nack == COAP_NACK_TLS_FAILED;
    if (!tls)
        aw_cli_hint("is anwang-edge running on that host and listening on that UDP port\n"
                    "        (edge.conf [coap] bind, port, dtls_port)? Is the port open in the\n"
                    "        firewall? A demo county lists its edges in DIR/env (ANWANG_EDGE_N).");
    if (secure)
        aw_cli_hint("for coaps://, the identity must be in the edge's key file (psk_file),\n"
                    "        with this key");
    return tls ? EX_NOPERM : EX_UNAVAILABLE;
}

/* Where to ask: the URI parsed, its PSK loaded (coaps://), the host resolved.
 * Returns -1 to go on, else an exit code (with a message). */
static int s_target(s_args *a, coap_address_t *dst, bool *secure, s_psk *psk)
{
    coap_uri_t uri;
    if (strncmp(a->uri, "coap://", 7) != 0 && strncmp(a->uri, "coaps://", 8) != 0) {
        aw_cli_err("'%s': expected coap://HOST[:PORT] or coaps://HOST[:PORT]", a->uri);
        return EX_USAGE;
    }
    if (coap_split_uri((const uint8_t *)a->uri, strlen(a->uri), &uri) != 0 || !uri.host.length) {
        aw_cli_err("'%s' is not a CoAP URI (coap://HOST[:PORT])", a->uri);
        return EX_USAGE;
    }
    *secure = coap_uri_scheme_is_secure(&uri);
    int rc = *secure ? s_psk_load(a, psk) : -1;
    if (rc >= 0)
        return rc;
    if (!*secure && (a->identity || a->key_hex || a->key_file)) {
        aw_cli_err("--psk-identity, --psk-key and --psk-file are for coaps:// URIs");
        return EX_USAGE;
    }
    if (*secure && !coap_dtls_is_supported()) {
        aw_cli_err("this libcoap has no DTLS support");
        return EX_UNAVAILABLE;
    }
    return s_resolve(&uri, dst) ? -1 : EX_UNAVAILABLE;
}

/* Does the GET; on success r->body holds the answer. Returns -1 to go on. */
static int s_fetch(s_args *a, s_req *r)
{
    static const s_req undeliverable = {.done = true, .nack = COAP_NACK_NOT_DELIVERABLE};
    coap_address_t dst;
    bool secure = false;
    s_psk psk = {0};
    int rc = s_target(a, &dst, &secure, &psk);
    if (rc >= 0)
        return rc;
    coap_context_t *ctx = coap_new_context(NULL);
    coap_session_t *s = NULL;
    if (ctx == NULL) {
        aw_cli_err("cannot make a CoAP context");
        return EX_SOFTWARE;
    }
    coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
    coap_register_response_handler(ctx, s_response);
    coap_register_nack_handler(ctx, s_nack);
    if ((s = s_session(ctx, &dst, secure ? &psk : NULL)) == NULL || !s_send_get(s)) {
        rc = s_failed(a->uri, secure, &undeliverable, a->timeout_s);
    } else {
        s_wait(ctx, r, a->timeout_s);
        if (!r->done || r->nack >= 0)
            rc = s_failed(a->uri, secure, r, a->timeout_s);
    }
    coap_session_release(s);
    coap_free_context(ctx);
    return rc;
}

/* ------------------------------------------------------------ printing */

#define S_LABEL "%-10s"

/* Prints a scalar JSON value as text (strings without quotes). */
static void s_scalar(const json_t *v)
{
    if (json_is_string(v))
        fputs(json_string_value(v), stdout);
    else if (json_is_null(v))
        fputs("-", stdout);
    else {
        char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        fputs(t ? t : "?", stdout);
        free(t);
    }
}

/* Prints any value under @p key: scalars inline, flat objects as "k v, k v", nested ones indented.
 */
static void s_generic(const char *key, const json_t *v, int indent)
{
    const char *k;
    json_t *x;
    bool flat = json_is_object(v);
    json_object_foreach((json_t *)v, k, x) flat = flat && !json_is_object(x) && !json_is_array(x);
    if (json_is_object(v) && !flat) {
        printf("%*s%s\n", indent, "", key);
        json_object_foreach((json_t *)v, k, x) s_generic(k, x, indent + 2);
        return;
    }
    printf("%*s" S_LABEL " ", indent, "", key);
    if (json_is_object(v)) {
        const char *sep = "";
        json_object_foreach((json_t *)v, k, x)
        {
            printf("%s%s ", sep, k);
            s_scalar(x);
            sep = ", ";
        }
    } else if (json_is_array(v)) {
        char *t = json_dumps(v, JSON_COMPACT);
        fputs(t ? t : "?", stdout);
        free(t);
    } else {
        s_scalar(v);
    }
    putchar('\n');
}

static json_int_t s_int(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static const char *s_str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

/* "12s ago" for an RFC 3339 string, "never" for null. */
static void s_age_of(const json_t *t, int64_t now, char *buf, size_t len)
{
    struct tm tm = {0};
    const char *s = json_string_value(t);
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (end == NULL) {
        snprintf(buf, len, "%s", s ? s : "never");
        return;
    }
    aw_cli_fmt_age(now - (int64_t)timegm(&tm) * 1000, buf, len);
}

static void s_header(const json_t *j)
{
    char up[48] = "-";
    if (json_is_integer(json_object_get(j, "uptime_s")))
        aw_cli_fmt_span(s_int(j, "uptime_s"), up, sizeof up);
    printf("%sEdge %s%s  zone %s  version %s  running %s\n", aw_cli_sgr(AW_CLI_BOLD),
           s_str(j, "edge"), aw_cli_sgr_end(), s_str(j, "zone"), s_str(j, "version"), up);
    printf(S_LABEL " %s\n", "epoch", s_str(j, "epoch"));
}

static void s_uplink(const json_t *u, int64_t now)
{
    const char *state = s_str(u, "state");
    aw_cli_style st = !strcmp(state, "up")     ? AW_CLI_GREEN
                      : !strcmp(state, "down") ? AW_CLI_RED
                                               : AW_CLI_DIM;
    char ack[48];
    s_age_of(json_object_get(u, "last_ack"), now, ack, sizeof ack);
    printf(S_LABEL " %s%s%s", "uplink", aw_cli_sgr(st), state, st ? aw_cli_sgr_end() : "");
    if (json_is_string(json_object_get(u, "center")))
        printf(" to %s", s_str(u, "center"));
    printf(", last ack %s\n", ack);
}

static void s_backlog(const json_t *b)
{
    char u[32], k[32];
    json_int_t nu = s_int(b, "urgent"), nb = s_int(b, "bulk");
    aw_cli_fmt_count((uint64_t)nu, u, sizeof u);
    aw_cli_fmt_count((uint64_t)nb, k, sizeof k);
    aw_cli_style st = nu ? AW_CLI_RED : nb ? AW_CLI_YELLOW : AW_CLI_PLAIN;
    printf(S_LABEL " %s%s urgent, %s bulk%s not yet acknowledged by the center\n", "backlog",
           aw_cli_sgr(st), u, k, st ? aw_cli_sgr_end() : "");
}

static void s_storage(const json_t *s)
{
    char used[24], map[24], log[24], max[24];
    aw_cli_fmt_bytes((uint64_t)s_int(s, "used_bytes"), used, sizeof used);
    aw_cli_fmt_bytes((uint64_t)s_int(s, "map_bytes"), map, sizeof map);
    aw_cli_fmt_bytes((uint64_t)s_int(s, "log_bytes"), log, sizeof log);
    aw_cli_fmt_bytes((uint64_t)s_int(s, "max_bytes"), max, sizeof max);
    printf(S_LABEL " %s used of a %s map; log %s of %s budget; durability %s\n", "storage", used,
           map, log, s_int(s, "max_bytes") ? max : "no", s_str(s, "durability"));
}

static void s_devices(const json_t *d)
{
    json_int_t stale = s_int(d, "stale");
    printf(S_LABEL " %lld registered, %lld reporting: %s%lld online%s, %s%lld stale%s\n", "devices",
           (long long)s_int(d, "registered"), (long long)s_int(d, "tracked"),
           aw_cli_sgr(AW_CLI_GREEN), (long long)s_int(d, "online"), aw_cli_sgr_end(),
           aw_cli_sgr(stale ? AW_CLI_YELLOW : AW_CLI_PLAIN), (long long)stale,
           stale ? aw_cli_sgr_end() : "");
}

static void s_clock(const json_t *c)
{
    json_t *skew = json_object_get(c, "skew_ms");
    char off[64] = "unknown (no exchange with the center yet)";
    bool flag = json_is_true(json_object_get(c, "skew_flag"));
    if (json_is_integer(skew))
        aw_cli_fmt_offset(json_integer_value(skew), off, sizeof off);
    printf(S_LABEL " %s, skew %s%s%s%s\n", "clock", s_str(c, "now"),
           aw_cli_sgr(flag ? AW_CLI_RED : AW_CLI_PLAIN), off,
           flag ? " ! check NTP on the edge" : "", flag ? aw_cli_sgr_end() : "");
    if (json_is_true(json_object_get(c, "before_build_date")))
        printf("%*s %sthe clock reads before the build date (%s)%s\n", 10, "",
               aw_cli_sgr(AW_CLI_RED), s_str(c, "build_date"), aw_cli_sgr_end());
}

static void s_alarms(const json_t *a)
{
    static const char *const levels[] = {"blue", "yellow", "orange", "red"};
    static const aw_cli_style styles[] = {AW_CLI_PLAIN, AW_CLI_YELLOW, AW_CLI_YELLOW, AW_CLI_RED};
    printf(S_LABEL " %lld active:", "alarms", (long long)s_int(a, "active"));
    for (int i = 0; i < 4; i++) {
        json_int_t n = s_int(a, levels[i]);
        aw_cli_style st = n ? styles[i] : AW_CLI_PLAIN;
        printf("%s %s%lld %s%s", i ? "," : "", aw_cli_sgr(st), (long long)n, levels[i],
               st ? aw_cli_sgr_end() : "");
    }
    putchar('\n');
}

static void s_registry(const json_t *r)
{
    if (json_is_true(json_object_get(r, "loaded")))
        printf(S_LABEL " version %lld, from the %s\n", "registry", (long long)s_int(r, "version"),
               s_str(r, "source"));
    else
        printf(S_LABEL " %snone%s: %s\n", "registry", aw_cli_sgr(AW_CLI_YELLOW), aw_cli_sgr_end(),
               s_str(r, "note"));
}

/* Prints the known sections in a fixed order, then every other key generically. */
static void s_print_human(const json_t *j)
{
    static const char *const known[] = {"edge",     "zone",   "version",  "epoch",
                                        "uptime_s", "uplink", "backlog",  "storage",
                                        "devices",  "alarms", "registry", "clock"};
    int64_t now = aw_cli_now_ms();
    s_header(j);
    if (json_is_object(json_object_get(j, "uplink")))
        s_uplink(json_object_get(j, "uplink"), now);
    if (json_is_object(json_object_get(j, "backlog")))
        s_backlog(json_object_get(j, "backlog"));
    if (json_is_object(json_object_get(j, "storage")))
        s_storage(json_object_get(j, "storage"));
    if (json_is_object(json_object_get(j, "devices")))
        s_devices(json_object_get(j, "devices"));
    if (json_is_object(json_object_get(j, "alarms")))
        s_alarms(json_object_get(j, "alarms"));
    if (json_is_object(json_object_get(j, "registry")))
        s_registry(json_object_get(j, "registry"));
    if (json_is_object(json_object_get(j, "clock")))
        s_clock(json_object_get(j, "clock"));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v)
    {
        bool seen = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            seen = seen || (strcmp(k, known[i]) == 0 && json_is_object(v) == (i >= 5));
        if (!seen)
            s_generic(k, v, 0);
    }
}

/* Prints an error answer (4.xx, 5.xx) with its diagnostic payload. */
static int s_error_answer(const s_args *a, const s_req *r)
{
    aw_cli_err("%s answered %d.%02d%s%s", a->uri, r->code / 100, r->code % 100, r->body ? ": " : "",
               r->body ? r->body : "");
    if (r->code == 404)
        aw_cli_hint("is this an anwang edge? /status is in every version");
    if (r->code == 401 || r->code == 403)
        return EX_NOPERM;
    return r->code >= 500 ? EX_UNAVAILABLE : EX_PROTOCOL;
}

int aw_cli_edge_status(const aw_cli_cmd *cmd, int argc, char **argv)
{
    s_args a;
    s_req r = {.nack = -1};
    int rc = s_parse(cmd, argc, argv, &a);
    if (rc >= 0)
        return rc;
    coap_startup();
    coap_set_log_handler(s_coap_log);
    coap_set_log_level(LOG_WARNING);
    s_current = &r;
    rc = s_fetch(&a, &r);
    if (rc < 0 && r.code / 100 != 2)
        rc = s_error_answer(&a, &r);
    json_error_t err;
    json_t *j = rc < 0 ? json_loadb(r.body ? r.body : "", r.len, 0, &err) : NULL;
    if (rc < 0 && !json_is_object(j)) {
        aw_cli_err("%s: the answer is not a JSON object (%s)", a.uri, j ? "other JSON" : err.text);
        rc = EX_DATAERR;
    } else if (rc < 0 && a.json) {
        rc = aw_cli_json_print(j, stdout) == 0 ? EX_OK : EX_IOERR;
    } else if (rc < 0) {
        s_print_human(j);
        rc = EX_OK;
    }
    json_decref(j);
    free(r.body);
    s_current = NULL;
    coap_cleanup();
    return rc;
}
