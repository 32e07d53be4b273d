#include "coap_server.h"

#include <arpa/inet.h>
#include <coap3/coap.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "coap_body.h"
#include "coap_dedup.h"
#include "log.h"

/* Reply slots: a full batch staged plus a full batch answered but not yet sent. */
#define S_SLOTS (2 * AW_INGEST_MAX_BATCH + 2)
/* Separate responses one session may have in flight (NSTART, RFC 7252 §4.7). */
#define S_NSTART 32
/* Datagrams handled in one turn before timers and signals get a look. */
#define S_TURN_MAX 256
/* Max-Age of a 5.03: when a device should try again (seconds). */
#define S_FULL_MAX_AGE 60
#define S_BUSY_MAX_AGE 2
/* Sessions kept: bounds memory against many peers (oldest idle go first). */
#define S_MAX_SESSIONS 1024
#define S_DIAG_MAX     200

/* One staged reading request waiting for its commit. */
typedef struct s_reply {
    bool used, ready, piggyback;
    coap_session_t *session; /* referenced while deferred */
    uint8_t token[8];
    size_t toklen;
    coap_pdu_type_t type;
    uint16_t mid;
    int err;
} s_reply;

struct aw_coap_server {
    aw_coap_opts o;
    coap_context_t *ctx;
    coap_resource_t *alerts;
    aw_coap_body_t *bodies;
    aw_dedup_t *dedup;
    s_reply replies[S_SLOTS];
    coap_bin_const_t psk_answer;
    aw_coap_stats stats;
};

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ logging */

static void s_coap_log(coap_log_t level, const char *message)
{
    aw_log_level l = level <= LOG_ERR       ? AW_LOG_ERROR
                     : level == LOG_WARNING ? AW_LOG_WARN
                     : level <= LOG_INFO    ? AW_LOG_INFO
                                            : AW_LOG_DEBUG;
    aw_log(l, "coap: %s", message);
}

void aw_coap_server_sync_log_level(void)
{
    /* libcoap's INFO is per-packet chatter: only our debug level shows it. */
    coap_log_t level = aw_log_enabled(AW_LOG_DEBUG) ? LOG_INFO : LOG_WARNING;
    coap_set_log_level(level);
    coap_dtls_set_log_level(level);
}

/* Writes @p len bytes of @p s to @p out, non-printable bytes as \xHH. */
static void s_printable(char *out, size_t cap, const uint8_t *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
            out[o++] = (char)s[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", s[i]);
    }
    out[o] = '\0';
}

/* ------------------------------------------------------------ responses */

static coap_pdu_code_t s_code_for(int err)
{
    switch (err) {
    case AW_OK:
        return COAP_RESPONSE_CODE_CHANGED;
    case AW_EPERM:
        return COAP_RESPONSE_CODE_FORBIDDEN;
    case AW_ENOTFOUND:
        return COAP_RESPONSE_CODE_NOT_FOUND;
    case AW_EFULL:
    case AW_EURGENTFULL:
    case AW_EAGAIN:
        return COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE;
    case AW_ENOMEM:
    case AW_EIO:
    case AW_ECORRUPT:
    case AW_ESTATE:
        return COAP_RESPONSE_CODE_INTERNAL_ERROR;
    default:
        return COAP_RESPONSE_CODE_BAD_REQUEST;
    }
}

static const char *s_diag_for(int err)
{
    switch (err) {
    case AW_EFULL:
    case AW_EURGENTFULL:
        return "storage exhausted: try again later";
    case AW_EAGAIN:
        return "busy: try again";
    default:
        return aw_strerror(err);
    }
}

static void s_add_uint_option(coap_pdu_t *pdu, coap_option_num_t opt, unsigned v)
{
    uint8_t buf[4];
    coap_add_option(pdu, opt, coap_encode_var_safe(buf, sizeof buf, v), buf);
}

/* Sets @p code and, for errors, a diagnostic payload (and Max-Age on 5.03). */
static void s_answer(coap_pdu_t *pdu, int err, const char *why)
{
    coap_pdu_code_t code = s_code_for(err);
    coap_pdu_set_code(pdu, code);
    if (err == AW_OK)
        return;
    if (code == COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE)
        s_add_uint_option(pdu, COAP_OPTION_MAXAGE,
                          err == AW_EAGAIN ? S_BUSY_MAX_AGE : S_FULL_MAX_AGE);
    if (!why || !*why)
        why = s_diag_for(err);
    coap_add_data(pdu, strnlen(why, S_DIAG_MAX), (const uint8_t *)why);
}

static void s_answer_code(coap_pdu_t *pdu, coap_pdu_code_t code, const char *why)
{
    coap_pdu_set_code(pdu, code);
    if (why)
        coap_add_data(pdu, strnlen(why, S_DIAG_MAX), (const uint8_t *)why);
}

static void s_free_json(coap_session_t *session, void *p)
{
    (void)session;
    free(p);
}

/* Answers @p code with @p json (taken over; block-wise if large). */
static void s_answer_json(coap_resource_t *r, coap_session_t *s, const coap_pdu_t *req,
                          coap_pdu_t *resp, const coap_string_t *query, coap_pdu_code_t code,
                          char *json)
{
    coap_pdu_set_code(resp, code);
    if (!coap_add_data_large_response(r, s, req, resp, query, COAP_MEDIATYPE_APPLICATION_JSON, -1,
                                      0, strlen(json), (const uint8_t *)json, s_free_json, json))
        s_answer_code(resp, COAP_RESPONSE_CODE_INTERNAL_ERROR, "cannot build the response");
}

/* ------------------------------------------------------------ reply slots */

static s_reply *s_reply_take(aw_coap_server_t *self)
{
    for (size_t i = 0; i < S_SLOTS; i++) {
        if (!self->replies[i].used) {
            memset(&self->replies[i], 0, sizeof self->replies[i]);
            self->replies[i].used = true;
            return &self->replies[i];
        }
    }
    return NULL;
}

static void s_reply_release(s_reply *r)
{
    if (r->session)
        coap_session_release(r->session);
    memset(r, 0, sizeof *r);
}

/* Records the result of request (@p s, @p mid) for its duplicates. */
static void s_remember(aw_coap_server_t *self, coap_session_t *s, uint16_t mid, int err,
                       const char *note)
{
    aw_dedup_entry *e = aw_dedup_find(self->dedup, s, mid, s_now_ms());
    if (!e)
        e = aw_dedup_add(self->dedup, s, mid, s_now_ms());
    e->done = true;
    e->err = err;
    if (note)
        aw_dedup_note_set(self->dedup, s, mid, note);
}

/* Ingest's callback: a staged pack is stored (or not). */
static void s_on_done(void *arg, void *tag, int err)
{
    aw_coap_server_t *self = arg;
    s_reply *r = tag;
    r->err = err;
    r->ready = true;
    if (r->session)
        s_remember(self, r->session, r->mid, err, NULL);
}

static void s_flush(aw_coap_server_t *self)
{
    aw_ingest_flush(self->o.ingest, s_now_ms(), s_on_done, self);
}

/* Sends the separate response of deferred request @p r. */
static void s_send_separate(aw_coap_server_t *self, s_reply *r)
{
    coap_session_t *s = r->session;
    coap_pdu_type_t type = r->type == COAP_MESSAGE_CON ? COAP_MESSAGE_CON : COAP_MESSAGE_NON;
    coap_pdu_t *pdu = coap_pdu_init(type, COAP_RESPONSE_CODE_CHANGED, coap_new_message_id(s),
                                    coap_session_max_pdu_size(s));
    if (!pdu || !coap_add_token(pdu, r->toklen, r->token)) {
        aw_error("coap: cannot build a separate response for %s", coap_session_str(s));
        coap_delete_pdu(pdu);
        return;
    }
    s_answer(pdu, r->err, NULL);
    if (coap_send(s, pdu) == COAP_INVALID_MID)
        aw_warn("coap: separate response to %s not sent", coap_session_str(s));
    self->stats.deferred++;
}

/* Sends every separate response whose commit is done. */
static void s_send_ready(aw_coap_server_t *self)
{
    for (size_t i = 0; i < S_SLOTS; i++) {
        s_reply *r = &self->replies[i];
        if (!r->used || !r->ready || r->piggyback)
            continue;
        s_send_separate(self, r);
        s_reply_release(r);
    }
}

/* True when datagrams (or libcoap timers) are waiting: more requests may join a batch. */
static bool s_input_waiting(const aw_coap_server_t *self)
{
    struct pollfd p = {.fd = coap_context_get_coap_fd(self->ctx), .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* ------------------------------------------------------------ request helpers */

static int s_content_format(const coap_pdu_t *req)
{
    coap_opt_iterator_t it;
    coap_opt_t *opt = coap_check_option(req, COAP_OPTION_CONTENT_FORMAT, &it);
    return opt ? (int)coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt)) : -1;
}

/* The DTLS identity of @p s as a C string in @p out, or NULL on plain CoAP. */
static const char *s_identity(coap_session_t *s, char *out, size_t cap)
{
    if (coap_session_get_proto(s) != COAP_PROTO_DTLS)
        return NULL;
    const coap_bin_const_t *id = coap_session_get_psk_identity(s);
    if (!id || id->length == 0 || id->length >= cap)
        return NULL;
    memcpy(out, id->s, id->length);
    out[id->length] = '\0';
    return out;
}

/*
 * Gets the whole body of @p req into *body. Returns true when it is there;
 * false when @p resp is already answered (2.31 for more blocks, or an error).
 */
static bool s_body(aw_coap_server_t *self, const char *key, coap_session_t *s,
                   const coap_pdu_t *req, coap_pdu_t *resp, const uint8_t **body, size_t *len,
                   bool *blockwise)
{
    size_t n = 0, off = 0, total = 0;
    const uint8_t *data = NULL;
    if (!coap_get_data_large(req, &n, &data, &off, &total))
        n = off = total = 0, data = NULL;
    *blockwise = !(off == 0 && n == total);
    if (!*blockwise && n <= self->o.cfg->max_payload) {
        *body = data, *len = n;
        return true;
    }
    aw_coap_body_state st =
        aw_coap_body_add(self->bodies, s, key, data, n, off, total, s_now_ms(), body, len);
    switch (st) {
    case AW_COAP_BODY_COMPLETE:
        return true;
    case AW_COAP_BODY_MORE:
        coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CONTINUE);
        return false;
    case AW_COAP_BODY_TOO_BIG:
        s_add_uint_option(resp, COAP_OPTION_SIZE1, (unsigned)self->o.cfg->max_payload);
        s_answer_code(resp, COAP_RESPONSE_CODE_REQUEST_TOO_LARGE,
                      "payload larger than max_payload");
        return false;
    case AW_COAP_BODY_GAP:
        s_answer_code(resp, COAP_RESPONSE_CODE_INCOMPLETE, "block out of order or missing");
        return false;
    case AW_COAP_BODY_BUSY:
        s_answer(resp, AW_EAGAIN, "too many block-wise transfers at once");
        return false;
    default:
        s_answer(resp, AW_ENOMEM, NULL);
        return false;
    }
}

/* ------------------------------------------------------------ duplicates */

static void s_location(coap_pdu_t *resp, const char *id)
{
    coap_add_option(resp, COAP_OPTION_LOCATION_PATH, 7, (const uint8_t *)"hazards");
    coap_add_option(resp, COAP_OPTION_LOCATION_PATH, strlen(id), (const uint8_t *)id);
}

/*
 * Answers a retransmission of a request already seen (RFC 7252 §4.5) with
 * its first answer, without processing it again: an empty ACK while its
 * commit is pending (the separate response follows), else the result.
 * Returns false for a request seen for the first time.
 */
static bool s_duplicate(aw_coap_server_t *self, coap_session_t *s, const coap_pdu_t *req,
                        coap_pdu_t *resp, coap_pdu_code_t ok)
{
    aw_dedup_entry *e = aw_dedup_find(self->dedup, s, coap_pdu_get_mid(req), s_now_ms());
    if (!e)
        return false;
    aw_debug("coap: duplicate of message %u from %s answered again", coap_pdu_get_mid(req),
             coap_session_str(s));
    if (!e->done)
        return true;
    if (e->err != AW_OK) {
        s_answer(resp, e->err, NULL);
        return true;
    }
    const char *id = aw_dedup_note_get(self->dedup, s, coap_pdu_get_mid(req));
    if (id)
        s_location(resp, id);
    coap_pdu_set_code(resp, ok);
    return true;
}

/* ------------------------------------------------------------ POST /readings */

typedef struct s_owner {
    aw_psk_t *psk;
    const char *identity;
} s_owner;

static bool s_owns(void *arg, const char *device)
{
    const s_owner *o = arg;
    return aw_psk_owns(o->psk, o->identity, strlen(o->identity), device);
}

/* Parses and checks the pack; answers @p resp on failure. */
static aw_ingest_checked *s_check_readings(aw_coap_server_t *self, coap_session_t *s,
                                           const uint8_t *body, size_t len, int fmt,
                                           coap_pdu_t *resp)
{
    char idbuf[AW_PSK_IDENTITY_MAX + 1], why[S_DIAG_MAX];
    s_owner owner = {.psk = *self->o.psk, .identity = s_identity(s, idbuf, sizeof idbuf)};
    aw_ingest_checked *c = NULL;
    int rv = aw_ingest_check(self->o.ingest, body, len, (aw_senml_format)fmt, s_now_ms(),
                             owner.identity ? s_owns : NULL, &owner, &c, why, sizeof why);
    if (rv != AW_OK) {
        aw_debug("coap: readings from %s refused: %s", coap_session_str(s), why);
        s_answer(resp, rv, why);
    }
    return c;
}

/* Keeps what the separate response of @p req will need; libcoap sends an empty ACK now. */
static void s_defer(aw_coap_server_t *self, s_reply *r, coap_session_t *s, const coap_pdu_t *req)
{
    coap_bin_const_t tok = coap_pdu_get_token(req);
    r->mid = coap_pdu_get_mid(req);
    aw_dedup_add(self->dedup, s, r->mid, s_now_ms());
    r->session = coap_session_reference(s);
    r->toklen = tok.length <= sizeof r->token ? tok.length : 0;
    memcpy(r->token, tok.s, r->toklen);
    r->type = coap_pdu_get_type(req);
}

/* Stages @p c; answers at once (own commit) or leaves the answer for later. */
static void s_stage_readings(aw_coap_server_t *self, coap_session_t *s, const coap_pdu_t *req,
                             coap_pdu_t *resp, aw_ingest_checked *c, bool blockwise)
{
    if (aw_ingest_staged(self->o.ingest) == AW_INGEST_MAX_BATCH)
        s_flush(self);
    s_reply *r = s_reply_take(self);
    if (!r || aw_ingest_stage(self->o.ingest, &c, r) != AW_OK) {
        aw_ingest_checked_free(&c);
        if (r)
            s_reply_release(r);
        s_answer(resp, AW_EAGAIN, NULL);
        return;
    }
    if (!self->o.cfg->durability.interval && !blockwise && s_input_waiting(self)) {
        s_defer(self, r, s, req);
        return;
    }
    r->piggyback = true;
    s_flush(self);
    s_answer(resp, r->err, NULL);
    s_remember(self, s, coap_pdu_get_mid(req), r->err, NULL);
    s_reply_release(r);
}

static void s_post_readings(coap_resource_t *res, coap_session_t *s, const coap_pdu_t *req,
                            const coap_string_t *query, coap_pdu_t *resp)
{
    (void)query;
    aw_coap_server_t *self = coap_resource_get_userdata(res);
    self->stats.requests++;
    if (s_duplicate(self, s, req, resp, COAP_RESPONSE_CODE_CHANGED))
        return;
    int fmt = s_content_format(req);
    if (fmt != AW_SENML_JSON && fmt != AW_SENML_CBOR) {
        s_answer_code(resp, COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT,
                      "content-format must be 110 (senml+json) or 112 (senml+cbor)");
        return;
    }
    const uint8_t *body = NULL;
    size_t len = 0;
    bool blockwise = false;
    if (!s_body(self, "readings", s, req, resp, &body, &len, &blockwise))
        return;
    aw_ingest_checked *c = s_check_readings(self, s, body, len, fmt, resp);
    if (blockwise)
        aw_coap_body_release(self->bodies, s, "readings");
    if (c)
        s_stage_readings(self, s, req, resp, c, blockwise);
}

/* ------------------------------------------------------------ hazards */

/* JSON bodies: content-format 50 or none; answers 4.15 otherwise. */
static bool s_json_format(const coap_pdu_t *req, coap_pdu_t *resp)
{
    int fmt = s_content_format(req);
    if (fmt == -1 || fmt == COAP_MEDIATYPE_APPLICATION_JSON)
        return true;
    s_answer_code(resp, COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT,
                  "content-format must be 50 (application/json)");
    return false;
}

static void s_post_hazards(coap_resource_t *res, coap_session_t *s, const coap_pdu_t *req,
                           const coap_string_t *query, coap_pdu_t *resp)
{
    (void)query;
    aw_coap_server_t *self = coap_resource_get_userdata(res);
    self->stats.requests++;
    const uint8_t *body;
    size_t len;
    bool blockwise;
    if (s_duplicate(self, s, req, resp, COAP_RESPONSE_CODE_CREATED))
        return;
    if (!s_json_format(req, resp) ||
        !s_body(self, "hazards", s, req, resp, &body, &len, &blockwise))
        return;
    char idbuf[AW_PSK_IDENTITY_MAX + 1], id[160] = "", why[S_DIAG_MAX] = "";
    int rv = self->o.h.hazard_report(self->o.h.arg, body, len, s_identity(s, idbuf, sizeof idbuf),
                                     id, sizeof id, why, sizeof why);
    if (blockwise)
        aw_coap_body_release(self->bodies, s, "hazards");
    s_remember(self, s, coap_pdu_get_mid(req), rv, rv == AW_OK ? id : NULL);
    if (rv != AW_OK) {
        s_answer(resp, rv, why);
        return;
    }
    s_location(resp, id);
    coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CREATED);
}

/*
 * Splits "hazards/<id>[/events]" into the id and whether it is the events
 * resource. Returns false for any other path.
 */
static bool s_hazard_path(const coap_string_t *path, char *id, size_t cap, bool *events)
{
    const char *p = (const char *)path->s;
    size_t n = path->length;
    if (n < 9 || memcmp(p, "hazards/", 8) != 0)
        return false;
    p += 8, n -= 8;
    const char *slash = memchr(p, '/', n);
    size_t idlen = slash ? (size_t)(slash - p) : n;
    *events = slash && n - idlen == 7 && memcmp(slash, "/events", 7) == 0;
    if (idlen == 0 || idlen >= cap || (slash && !*events))
        return false;
    memcpy(id, p, idlen);
    id[idlen] = '\0';
    return true;
}

static void s_get_hazard(aw_coap_server_t *self, coap_resource_t *res, coap_session_t *s,
                         const coap_pdu_t *req, const coap_string_t *query, coap_pdu_t *resp,
                         const char *id)
{
    char *json = NULL;
    int rv = self->o.h.hazard_get(self->o.h.arg, id, &json);
    if (rv != AW_OK) {
        s_answer(resp, rv, rv == AW_ENOTFOUND ? "no such hazard" : NULL);
        return;
    }
    s_answer_json(res, s, req, resp, query, COAP_RESPONSE_CODE_CONTENT, json);
}

static void s_post_hazard_event(aw_coap_server_t *self, coap_resource_t *res, coap_session_t *s,
                                const coap_pdu_t *req, const coap_string_t *query, coap_pdu_t *resp,
                                const char *id, const char *key)
{
    const uint8_t *body;
    size_t len;
    bool blockwise;
    if (s_duplicate(self, s, req, resp, COAP_RESPONSE_CODE_CHANGED))
        return;
    if (!s_json_format(req, resp) || !s_body(self, key, s, req, resp, &body, &len, &blockwise))
        return;
    char idbuf[AW_PSK_IDENTITY_MAX + 1], why[S_DIAG_MAX] = "", *result = NULL;
    int rv = self->o.h.hazard_event(self->o.h.arg, id, body, len,
                                    s_identity(s, idbuf, sizeof idbuf), &result, why, sizeof why);
    if (blockwise)
        aw_coap_body_release(self->bodies, s, key);
    s_remember(self, s, coap_pdu_get_mid(req), rv, NULL);
    if (rv != AW_OK) {
        s_answer(resp, rv, why);
        return;
    }
    if (!result) {
        coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CHANGED);
        return;
    }
    s_answer_json(res, s, req, resp, query, COAP_RESPONSE_CODE_CHANGED, result);
}

/* The unknown-resource handler: serves hazards/<id> and hazards/<id>/events. */
static void s_dynamic(coap_resource_t *res, coap_session_t *s, const coap_pdu_t *req,
                      const coap_string_t *query, coap_pdu_t *resp)
{
    aw_coap_server_t *self = coap_resource_get_userdata(res);
    self->stats.requests++;
    coap_string_t *path = coap_get_uri_path(req);
    char id[160], key[AW_COAP_BODY_KEY_MAX];
    bool events = false;
    coap_pdu_code_t method = coap_pdu_get_code(req);
    if (!path || !s_hazard_path(path, id, sizeof id, &events))
        s_answer_code(resp, COAP_RESPONSE_CODE_NOT_FOUND, "no such resource");
    else if (!events && method == COAP_REQUEST_CODE_GET)
        s_get_hazard(self, res, s, req, query, resp, id);
    else if (events && method == COAP_REQUEST_CODE_POST) {
        snprintf(key, sizeof key, "%.*s", (int)path->length, (const char *)path->s);
        s_post_hazard_event(self, res, s, req, query, resp, id, key);
    } else
        s_answer_code(resp, COAP_RESPONSE_CODE_NOT_ALLOWED, "method not allowed here");
    coap_delete_string(path);
}

/* ------------------------------------------------------------ GET /alerts, /status */

static void s_get_json(coap_resource_t *res, coap_session_t *s, const coap_pdu_t *req,
                       const coap_string_t *query, coap_pdu_t *resp,
                       int (*fn)(void *arg, char **json))
{
    aw_coap_server_t *self = coap_resource_get_userdata(res);
    self->stats.requests++;
    char *json = NULL;
    int rv = fn(self->o.h.arg, &json);
    if (rv != AW_OK) {
        s_answer(resp, rv, NULL);
        return;
    }
    s_answer_json(res, s, req, resp, query, COAP_RESPONSE_CODE_CONTENT, json);
}

static void s_get_alerts(coap_resource_t *res, coap_session_t *s, const coap_pdu_t *req,
                         const coap_string_t *query, coap_pdu_t *resp)
{
    aw_coap_server_t *self = coap_resource_get_userdata(res);
    s_get_json(res, s, req, query, resp, self->o.h.alerts);
}

static void s_get_status(coap_resource_t *res, coap_session_t *s, const coap_pdu_t *req,
                         const coap_string_t *query, coap_pdu_t *resp)
{
    aw_coap_server_t *self = coap_resource_get_userdata(res);
    s_get_json(res, s, req, query, resp, self->o.h.status);
}

/* ------------------------------------------------------------ setup */

static void s_attr(coap_resource_t *r, const char *name, const char *value)
{
    coap_add_attr(r, coap_make_str_const(name), value ? coap_make_str_const(value) : NULL, 0);
}

static coap_resource_t *s_resource(aw_coap_server_t *self, const char *path, const char *rt,
                                   const char *ct)
{
    coap_resource_t *r = coap_resource_init(coap_make_str_const(path), 0);
    if (!r)
        return NULL;
    coap_resource_set_userdata(r, self);
    s_attr(r, "rt", rt);
    s_attr(r, "ct", ct);
    coap_add_resource(self->ctx, r);
    return r;
}

static int s_resources(aw_coap_server_t *self)
{
    coap_resource_t *r;
    if (!(r = s_resource(self, "readings", "\"anwang.readings\"", "\"110 112\"")))
        return AW_ENOMEM;
    coap_register_request_handler(r, COAP_REQUEST_POST, s_post_readings);
    if (!(r = s_resource(self, "hazards", "\"anwang.hazards\"", "50")))
        return AW_ENOMEM;
    coap_register_request_handler(r, COAP_REQUEST_POST, s_post_hazards);
    if (!(r = s_resource(self, "status", "\"anwang.status\"", "50")))
        return AW_ENOMEM;
    coap_register_request_handler(r, COAP_REQUEST_GET, s_get_status);
    if (!(r = s_resource(self, "alerts", "\"anwang.alerts\"", "50")))
        return AW_ENOMEM;
    coap_register_request_handler(r, COAP_REQUEST_GET, s_get_alerts);
    coap_resource_set_get_observable(r, 1); /* libcoap adds the obs attribute */
    self->alerts = r;
    /* hazards/<id> and hazards/<id>/events: no PUT handler, so PUT is 4.04. */
    if (!(r = coap_resource_unknown_init2(NULL, 0)))
        return AW_ENOMEM;
    coap_resource_set_userdata(r, self);
    coap_register_request_handler(r, COAP_REQUEST_GET, s_dynamic);
    coap_register_request_handler(r, COAP_REQUEST_POST, s_dynamic);
    coap_add_resource(self->ctx, r);
    return AW_OK;
}

/* libcoap events: raise NSTART for new sessions, forget the bodies of gone ones. */
static int s_on_event(coap_session_t *s, coap_event_t event)
{
    aw_coap_server_t *self = coap_get_app_data(coap_session_get_context(s));
    if (!self)
        return 0;
    if (event == COAP_EVENT_SERVER_SESSION_NEW) {
        coap_session_set_nstart(s, S_NSTART);
        self->stats.sessions++;
    } else if (event == COAP_EVENT_SERVER_SESSION_DEL) {
        aw_coap_body_forget(self->bodies, s);
        aw_dedup_forget(self->dedup, s);
        self->stats.sessions -= self->stats.sessions > 0;
    } else if (event == COAP_EVENT_DTLS_ERROR) {
        aw_info("coap: DTLS handshake with %s failed", coap_session_str(s));
    }
    return 0;
}

/* The PSK lookup of the DTLS handshake: unknown identities get no key and fail. */
static const coap_bin_const_t *s_psk_lookup(coap_bin_const_t *identity, coap_session_t *s,
                                            void *arg)
{
    aw_coap_server_t *self = arg;
    size_t klen = 0;
    const uint8_t *key = aw_psk_key(*self->o.psk, identity->s, identity->length, &klen);
    if (!key) {
        char shown[4 * AW_PSK_IDENTITY_MAX + 8];
        s_printable(shown, sizeof shown, identity->s,
                    identity->length < AW_PSK_IDENTITY_MAX ? identity->length
                                                           : AW_PSK_IDENTITY_MAX);
        aw_warn("dtls: unknown PSK identity \"%s\" from %s refused", shown, coap_session_str(s));
        return NULL;
    }
    self->psk_answer.s = key;
    self->psk_answer.length = klen;
    return &self->psk_answer;
}

static int s_setup_dtls(aw_coap_server_t *self, char *why, size_t len)
{
    if (!coap_dtls_is_supported()) {
        snprintf(why, len, "this libcoap has no DTLS support");
        return AW_EINVAL;
    }
    coap_dtls_spsk_t spsk;
    memset(&spsk, 0, sizeof spsk);
    spsk.version = COAP_DTLS_SPSK_SETUP_VERSION;
    spsk.validate_id_call_back = s_psk_lookup;
    spsk.id_call_back_arg = self;
    if (!coap_context_set_psk2(self->ctx, &spsk)) {
        snprintf(why, len, "cannot set up DTLS-PSK");
        return AW_EINVAL;
    }
    return AW_OK;
}

/*
 * libcoap binds its endpoints with SO_REUSEADDR, which on UDP lets a second
 * daemon bind the same address and port silently and steal datagrams. A
 * plain bind first makes a port in use an error at start-up.
 */
static bool s_port_free(const coap_address_t *a)
{
    int fd = socket(a->addr.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && bind(fd, &a->addr.sa, a->size) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static int s_endpoint(aw_coap_server_t *self, const char *host, int64_t port, coap_proto_t proto,
                      char *why, size_t len)
{
    coap_address_t a;
    coap_address_init(&a);
    if (inet_pton(AF_INET, host, &a.addr.sin.sin_addr) == 1) {
        a.addr.sin.sin_family = AF_INET;
        a.addr.sin.sin_port = htons((uint16_t)port);
        a.size = sizeof a.addr.sin;
    } else if (inet_pton(AF_INET6, host, &a.addr.sin6.sin6_addr) == 1) {
        a.addr.sin6.sin6_family = AF_INET6;
        a.addr.sin6.sin6_port = htons((uint16_t)port);
        a.size = sizeof a.addr.sin6;
    } else {
        snprintf(why, len, "[coap] bind: \"%s\" is not an address", host);
        return AW_EINVAL;
    }
    if (!s_port_free(&a)) {
        snprintf(why, len, "%s port %lld is in use (another anwang-edge running?)", host,
                 (long long)port);
        return AW_EIO;
    }
    if (!coap_new_endpoint(self->ctx, &a, proto)) {
        snprintf(why, len, "cannot listen on %s port %lld (%s): address in use or not local", host,
                 (long long)port, proto == COAP_PROTO_DTLS ? "DTLS" : "UDP");
        return AW_EIO;
    }
    aw_info("coap: listening on %s port %lld (%s)", host, (long long)port,
            proto == COAP_PROTO_DTLS ? "DTLS-PSK" : "plain UDP");
    return AW_OK;
}

static int s_endpoints(aw_coap_server_t *self, char *why, size_t len)
{
    const aw_edge_config *c = self->o.cfg;
    int rv = AW_OK;
    if (c->dtls && (rv = s_setup_dtls(self, why, len)) != AW_OK)
        return rv;
    for (size_t i = 0; i < c->n_bind && rv == AW_OK; i++) {
        if (c->plain)
            rv = s_endpoint(self, c->bind[i], c->port, COAP_PROTO_UDP, why, len);
        if (rv == AW_OK && c->dtls)
            rv = s_endpoint(self, c->bind[i], c->dtls_port, COAP_PROTO_DTLS, why, len);
    }
    return rv;
}

static void s_startup(void)
{
    static bool started;
    if (started)
        return;
    started = true;
    coap_startup();
    coap_set_log_handler(s_coap_log);
    coap_dtls_set_log_level(LOG_WARNING);
}

int aw_coap_server_new(const aw_coap_opts *opts, aw_coap_server_t **out, char *why, size_t why_len)
{
    *out = NULL;
    s_startup();
    aw_coap_server_sync_log_level();
    aw_coap_server_t *self = calloc(1, sizeof *self);
    if (!self || !(self->bodies = aw_coap_body_new(opts->cfg->max_payload)) ||
        !(self->dedup = aw_dedup_new()) || !(self->ctx = coap_new_context(NULL))) {
        snprintf(why, why_len, "out of memory");
        aw_coap_server_destroy(&self);
        return AW_ENOMEM;
    }
    self->o = *opts;
    coap_set_app_data(self->ctx, self);
    coap_context_set_block_mode(self->ctx, COAP_BLOCK_USE_LIBCOAP);
    coap_context_set_max_idle_sessions(self->ctx, S_MAX_SESSIONS);
    coap_register_event_handler(self->ctx, s_on_event);
    int rv = s_resources(self);
    if (rv != AW_OK)
        snprintf(why, why_len, "cannot create the resources");
    if (rv == AW_OK)
        rv = s_endpoints(self, why, why_len);
    if (rv != AW_OK) {
        aw_coap_server_destroy(&self);
        return rv;
    }
    *out = self;
    return AW_OK;
}

void aw_coap_server_destroy(aw_coap_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aw_coap_server_t *self = *self_p;
    if (self->ctx && self->o.ingest && aw_ingest_staged(self->o.ingest)) {
        s_flush(self);
        s_send_ready(self);
        coap_io_process(self->ctx, COAP_IO_NO_WAIT);
    }
    for (size_t i = 0; i < S_SLOTS; i++)
        if (self->replies[i].used)
            s_reply_release(&self->replies[i]);
    if (self->ctx)
        coap_free_context(self->ctx);
    aw_coap_body_destroy(&self->bodies);
    aw_dedup_destroy(&self->dedup);
    free(self);
    *self_p = NULL;
}

int aw_coap_server_fd(const aw_coap_server_t *self)
{
    return coap_context_get_coap_fd(self->ctx);
}

void aw_coap_server_process(aw_coap_server_t *self)
{
    for (int i = 0; i < S_TURN_MAX; i++) {
        coap_io_process(self->ctx, COAP_IO_NO_WAIT);
        s_send_ready(self);
        if (!s_input_waiting(self))
            break;
    }
    if (aw_ingest_staged(self->o.ingest)) {
        s_flush(self);
        s_send_ready(self);
    }
}

void aw_coap_server_alerts_changed(aw_coap_server_t *self)
{
    coap_resource_notify_observers(self->alerts, NULL);
}

void aw_coap_server_get_stats(const aw_coap_server_t *self, aw_coap_stats *stats)
{
    *stats = self->stats;
    stats->bodies = aw_coap_body_active(self->bodies);
}
