#include "sensors.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "reqtab.h"
#include "sched.h"

#define S_NONE         SIZE_MAX
#define S_MS           1000000LL
#define S_SEND_BUDGET  4096          /* packs per pump call, so answers get read */
#define S_PACK_CAP     1024          /* payload bytes: one datagram, no block-wise */
#define S_RECONNECT_NS (1000 * S_MS) /* a broken session is reopened after this */
#define S_LAG_NS       (1000 * S_MS) /* a late device catches up at most this much */
#define S_EXPIRE_NS    (100 * S_MS)  /* how often --timeout is checked */
#define S_MAX_PAUSE_S  60            /* longest pause a 5.03 Max-Age can ask for */
#define S_START_SPREAD (1000 * S_MS) /* interval mode: first samples spread over this */
#define S_LINE_MAX     (2 * AW_REGISTRY_ID_MAX + 24 + AW_SIM_NUMBER_MAX + 8)
#define S_CHANGED      COAP_RESPONSE_CODE(204)
#define S_UNAVAILABLE  COAP_RESPONSE_CODE(503)

/* Where a device's next sample comes from. */
typedef struct s_gen {
    size_t cursor;     /* next metric of the current sample */
    uint64_t seq;      /* sample number */
    int64_t sample_ms; /* time of the current sample */
    int64_t last_ms;   /* time of the latest sample (times strictly increase) */
} s_gen;

typedef struct s_device {
    const aw_device *dev;
    size_t session, k, wait_next;
    int64_t period_ns, due_ns;
    s_gen gen;
} s_device;

typedef struct s_session {
    const aw_sim_endpoint *ep;
    const aw_sim_psk *psk;
    coap_session_t *cs;
    unsigned inflight;
    int broken;
    int64_t paused_until, reconnect_at;
    size_t wait_head, wait_tail;
    char label[AW_SIM_HOST_MAX + AW_SIM_PSK_MAX_IDENTITY + 64];
} s_session;

struct aw_sim_sensors {
    const aw_sim_opts *o;
    coap_context_t *ctx;
    aw_sim_stats *stats;
    int acked_fd, log_failed, stopping, closing;
    aw_sim_scenario_t *scn;
    s_device *dev;
    size_t n_dev;
    s_session *sess;
    size_t n_sess;
    int64_t *period_ms;
    aw_sim_heap heap;
    aw_sim_reqtab reqs;
    int64_t start_ns, timeout_ns, next_expire_ns;
    double target_rate;
    uint64_t rng;
    size_t max_k;
    aw_sim_record *scratch;
    s_gen *after;
    char *line;
    size_t line_cap;
    uint8_t pack[S_PACK_CAP];
};

static int64_t s_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A uniform number in [0, 1) from the run's seeded generator. */
static double s_rand01(aw_sim_sensors_t *s)
{
    s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(s->rng >> 11) / (double)(1ull << 53);
}

/* ------------------------------------------------------------ sessions */

static int s_session_open(aw_sim_sensors_t *s, s_session *ss)
{
    coap_session_t *cs;
    if (ss->psk) {
        coap_dtls_cpsk_t c = {.version = COAP_DTLS_CPSK_SETUP_VERSION};
        c.psk_info.identity.s = (const uint8_t *)ss->psk->identity;
        c.psk_info.identity.length = strlen(ss->psk->identity);
        c.psk_info.key.s = ss->psk->key;
        c.psk_info.key.length = ss->psk->key_len;
        cs = coap_new_client_session_psk2(s->ctx, NULL, &ss->ep->addr, COAP_PROTO_DTLS, &c);
    } else {
        cs = coap_new_client_session(s->ctx, NULL, &ss->ep->addr, COAP_PROTO_UDP);
    }
    if (!cs)
        return AW_EIO;
    int64_t at = s->o->ack_timeout_ms;
    coap_session_set_nstart(cs, (uint16_t)s->o->inflight);
    coap_session_set_ack_timeout(
        cs, (coap_fixed_point_t){(uint16_t)(at / 1000), (uint16_t)(at % 1000)});
    coap_session_set_max_retransmit(cs, (uint16_t)s->o->retries);
    ss->cs = cs;
    ss->broken = 0;
    return AW_OK;
}

/* Marks @p ss for a new session, unless @p cs is an older one already replaced. */
static void s_session_break(aw_sim_sensors_t *s, s_session *ss, const coap_session_t *cs,
                            const char *why)
{
    if (s->closing || cs != ss->cs || ss->broken)
        return;
    ss->broken = 1;
    ss->reconnect_at = s_mono_ns() + S_RECONNECT_NS;
    aw_warn("%s: %s; opening a new session in 1 s", ss->label, why);
}

/* Replaces a broken session. Requests of the old one stay tracked by token. */
static void s_session_reopen(aw_sim_sensors_t *s, s_session *ss, int64_t now)
{
    coap_session_t *old = ss->cs;
    ss->cs = NULL;
    if (old)
        coap_session_release(old);
    if (s_session_open(s, ss) == AW_OK) {
        aw_info("%s: new session", ss->label);
        return;
    }
    ss->broken = 1;
    ss->reconnect_at = now + S_RECONNECT_NS;
}

static int s_session_ready(const aw_sim_sensors_t *s, const s_session *ss, int64_t now)
{
    return ss->cs && !ss->broken && now >= ss->paused_until && ss->inflight < s->o->inflight;
}

static void s_wait_push(aw_sim_sensors_t *s, s_session *ss, size_t di)
{
    s->dev[di].wait_next = S_NONE;
    if (ss->wait_tail == S_NONE)
        ss->wait_head = di;
    else
        s->dev[ss->wait_tail].wait_next = di;
    ss->wait_tail = di;
}

/* Puts up to the session's free capacity of waiting devices back in the heap. */
static void s_wake(aw_sim_sensors_t *s, s_session *ss, int64_t now)
{
    for (unsigned room = s->o->inflight - ss->inflight;
         room > 0 && ss->wait_head != S_NONE && s_session_ready(s, ss, now); room--) {
        size_t di = ss->wait_head;
        ss->wait_head = s->dev[di].wait_next;
        if (ss->wait_head == S_NONE)
            ss->wait_tail = S_NONE;
        aw_sim_heap_push(&s->heap, s->dev[di].due_ns, di);
    }
}

static void s_service(aw_sim_sensors_t *s, int64_t now)
{
    for (size_t i = 0; i < s->n_sess; i++) {
        s_session *ss = &s->sess[i];
        if ((ss->broken || !ss->cs) && now >= ss->reconnect_at && !s->stopping)
            s_session_reopen(s, ss, now);
        s_wake(s, ss, now);
    }
}

/* ------------------------------------------------------------ finishing */

static void s_finish(aw_sim_sensors_t *s, aw_sim_request *r)
{
    s->sess[r->session].inflight--;
    aw_sim_reqtab_release(&s->reqs, r);
}

static int s_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Appends one line per reading of @p r to the acked log, in one write(2). */
static void s_log_acked(aw_sim_sensors_t *s, const aw_sim_request *r)
{
    if (s->acked_fd < 0 || s->log_failed)
        return;
    const char *id = s->dev[r->device].dev->id;
    size_t used = 0;
    for (size_t i = 0; i < r->n && used < s->line_cap; i++) {
        char v[AW_SIM_NUMBER_MAX], t[24] = "-";
        aw_sim_format_number(r->recs[i].value, v, sizeof v);
        if (r->recs[i].time_ms != AW_SIM_NO_TIME)
            snprintf(t, sizeof t, "%lld", (long long)r->recs[i].time_ms);
        used += (size_t)snprintf(s->line + used, s->line_cap - used, "%s/%s %s %s\n", id,
                                 r->recs[i].metric->name, t, v);
    }
    if (s_write_all(s->acked_fd, s->line, used) != 0) {
        s->log_failed = 1;
        aw_error("--acked-log: write failed: %s; stopping, since the log would be incomplete",
                 strerror(errno));
    }
}

/* A 5.03 pauses the session for the Max-Age the edge gave (default 1 s). */
static void s_pause(aw_sim_sensors_t *s, s_session *ss, const coap_pdu_t *rcvd, int64_t now)
{
    coap_opt_iterator_t it;
    coap_opt_t *opt = coap_check_option(rcvd, COAP_OPTION_MAXAGE, &it);
    unsigned age = opt ? coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt)) : 1;
    age = age > S_MAX_PAUSE_S ? S_MAX_PAUSE_S : age;
    int64_t until = now + (int64_t)age * 1000 * S_MS;
    if (until <= ss->paused_until)
        return;
    if (ss->paused_until <= now)
        aw_warn("%s: edge answered 5.03 Service Unavailable; pausing this session for %u s "
                "(Max-Age)",
                ss->label, age);
    ss->paused_until = until;
}

static coap_response_t s_on_response(coap_session_t *cs, const coap_pdu_t *sent,
                                     const coap_pdu_t *rcvd, const coap_mid_t mid)
{
    aw_sim_sensors_t *s = coap_get_app_data(coap_session_get_context(cs));
    coap_bin_const_t tok = coap_pdu_get_token(rcvd);
    aw_sim_request *r = s ? aw_sim_reqtab_find(&s->reqs, tok.s, tok.length) : NULL;
    if (!r || s->closing) {
        if (s)
            s->stats->late++;
        return COAP_RESPONSE_OK;
    }
    unsigned code = coap_pdu_get_code(rcvd);
    int64_t now = s_mono_ns();
    if (code == S_CHANGED)
        s_log_acked(s, r);
    else if (code == S_UNAVAILABLE)
        s_pause(s, &s->sess[r->session], rcvd, now);
    aw_sim_stats_response(s->stats, code, r->n, now - r->sent_ns);
    s_finish(s, r);
    return COAP_RESPONSE_OK;
}

static void s_on_nack(coap_session_t *cs, const coap_pdu_t *sent, const coap_nack_reason_t reason,
                      const coap_mid_t mid)
{
    aw_sim_sensors_t *s = coap_get_app_data(coap_session_get_context(cs));
    if (!s || s->closing || !sent)
        return;
    if (reason == COAP_NACK_ICMP_ISSUE) { /* libcoap keeps retransmitting */
        s->stats->icmp++;
        return;
    }
    coap_bin_const_t tok = coap_pdu_get_token(sent);
    aw_sim_request *r = aw_sim_reqtab_find(&s->reqs, tok.s, tok.length);
    if (!r)
        return;
    static const struct {
        aw_sim_fail kind;
        const char *why;
    } map[] = {[COAP_NACK_TOO_MANY_RETRIES] = {AW_SIM_FAIL_TIMEOUT, "no answer after retries"},
               [COAP_NACK_NOT_DELIVERABLE] = {AW_SIM_FAIL_UNDELIVERABLE, "not deliverable"},
               [COAP_NACK_RST] = {AW_SIM_FAIL_RST, "edge sent a Reset"},
               [COAP_NACK_TLS_FAILED] = {AW_SIM_FAIL_TLS, "DTLS failed"}};
    size_t i = (size_t)reason < sizeof map / sizeof map[0] ? (size_t)reason : 1;
    aw_sim_stats_failure(s->stats, map[i].kind, r->n);
    if (reason != COAP_NACK_RST)
        s_session_break(s, &s->sess[r->session], cs, map[i].why);
    s_finish(s, r);
}

/* Gives up on requests older than --timeout (e.g. an ACK came, the answer never). */
static void s_expire(aw_sim_sensors_t *s, int64_t now)
{
    if (now < s->next_expire_ns)
        return;
    s->next_expire_ns = now + S_EXPIRE_NS;
    for (size_t i = 0; i < s->reqs.cap; i++) {
        aw_sim_request *r = &s->reqs.v[i];
        if (!r->used || now - r->sent_ns < s->timeout_ns)
            continue;
        aw_sim_stats_failure(s->stats, AW_SIM_FAIL_TIMEOUT, r->n);
        s_session_break(s, &s->sess[r->session], s->sess[r->session].cs,
                        "no answer within --timeout");
        s_finish(s, r);
    }
}

/* ------------------------------------------------------------ sending */

/* Fills s->scratch with the device's next k readings; s->after[i] is its
 * state after reading i, so a pack cut short can commit only what it sent. */
static size_t s_generate(aw_sim_sensors_t *s, size_t di, int64_t wall_ms, int64_t tau_ms)
{
    s_device *d = &s->dev[di];
    s_gen g = d->gen;
    for (size_t i = 0; i < d->k; i++) {
        if (g.cursor == 0) {
            g.sample_ms = wall_ms > g.last_ms ? wall_ms : g.last_ms + 1;
            g.last_ms = g.sample_ms;
        }
        double v = aw_sim_scenario_value(s->scn, di, g.cursor, g.seq, tau_ms);
        s->scratch[i] = (aw_sim_record){&d->dev->metrics[g.cursor], g.sample_ms, v};
        if (++g.cursor == d->dev->n_metrics) {
            g.cursor = 0;
            g.seq++;
        }
        s->after[i] = g;
    }
    return d->k;
}

static void s_add_path(coap_pdu_t *pdu, const char *path)
{
    while (*path) {
        size_t n = strcspn(path, "/");
        if (n > 0)
            coap_add_option(pdu, COAP_OPTION_URI_PATH, n, (const uint8_t *)path);
        path += n + (path[n] == '/');
    }
}

static coap_pdu_t *s_build_pdu(aw_sim_sensors_t *s, s_session *ss, const uint8_t *token, size_t len)
{
    coap_pdu_t *pdu = coap_new_pdu(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, ss->cs);
    if (!pdu)
        return NULL;
    uint8_t cf[4];
    int ok = coap_add_token(pdu, AW_SIM_TOKEN_LEN, token);
    if (ok)
        s_add_path(pdu, ss->ep->uri.path);
    ok = ok &&
         coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
                         coap_encode_var_safe(cf, sizeof cf, (unsigned)s->o->format), cf) &&
         coap_add_data(pdu, len, s->pack);
    if (!ok) {
        coap_delete_pdu(pdu);
        return NULL;
    }
    return pdu;
}

/* Encodes the device's next pack into s->pack; returns readings in it (0: none fit). */
static size_t s_encode(aw_sim_sensors_t *s, size_t di, const s_session *ss, int64_t now,
                       size_t *len)
{
    size_t n = s_generate(s, di, aw_wall_ms(), (now - s->start_ns) / S_MS);
    if (s->o->omit_time > 0 && s_rand01(s) < s->o->omit_time)
        for (size_t i = 0; i < n; i++)
            s->scratch[i].time_ms = AW_SIM_NO_TIME;
    size_t cap = coap_session_max_pdu_size(ss->cs);
    cap = cap > 64 + S_PACK_CAP ? S_PACK_CAP : cap > 64 ? cap - 64 : 0;
    size_t m =
        aw_sim_pack_encode(s->o->format, s->dev[di].dev->id, s->scratch, n, s->pack, cap, len);
    s->dev[di].gen = s->after[m > 0 ? m - 1 : 0]; /* an unsendable reading is skipped */
    return m;
}

static void s_send(aw_sim_sensors_t *s, size_t di, int64_t now)
{
    s_device *d = &s->dev[di];
    s_session *ss = &s->sess[d->session];
    uint8_t token[AW_SIM_TOKEN_LEN];
    size_t len, m = s_encode(s, di, ss, now, &len);
    aw_sim_request *r = m ? aw_sim_reqtab_alloc(&s->reqs, token) : NULL;
    if (!r) {
        aw_sim_stats_sent(s->stats, m ? m : 1);
        aw_sim_stats_failure(s->stats, AW_SIM_FAIL_SEND, m ? m : 1);
        return;
    }
    *r = (aw_sim_request){.gen = r->gen,
                          .used = 1,
                          .session = d->session,
                          .device = di,
                          .sent_ns = now,
                          .n = m,
                          .recs = r->recs};
    memcpy(r->recs, s->scratch, m * sizeof *r->recs);
    ss->inflight++;
    aw_sim_stats_sent(s->stats, m);
    coap_pdu_t *pdu = s_build_pdu(s, ss, token, len);
    if (pdu && coap_send(ss->cs, pdu) != COAP_INVALID_MID)
        return;
    if ((r = aw_sim_reqtab_find(&s->reqs, token, sizeof token)) != NULL) {
        aw_sim_stats_failure(s->stats, AW_SIM_FAIL_SEND, r->n);
        s_finish(s, r);
    }
    s_session_break(s, ss, ss->cs, "could not send");
}

static int64_t s_next_due(const aw_sim_sensors_t *s, const s_device *d, int64_t now)
{
    int64_t next = d->due_ns + d->period_ns;
    if (next < now - S_LAG_NS)
        next = now;
    int64_t ahead_ms = d->gen.last_ms + 1 - aw_wall_ms();
    if (d->gen.cursor == 0 && ahead_ms > 0 && next < now + ahead_ms * S_MS)
        next = now + ahead_ms * S_MS; /* keep sample times unique per millisecond */
    return next;
}

size_t aw_sim_sensors_pump(aw_sim_sensors_t *s, int64_t now)
{
    size_t sent = 0;
    s_expire(s, now);
    s_service(s, now);
    const aw_sim_slot *top;
    while (!s->stopping && sent < S_SEND_BUDGET && !s->log_failed &&
           (top = aw_sim_heap_top(&s->heap)) != NULL && top->due <= now) {
        size_t di = top->item;
        s_device *d = &s->dev[di];
        aw_sim_heap_pop(&s->heap);
        if (aw_sim_scenario_silent(s->scn, di, (now - s->start_ns) / S_MS)) {
            s->stats->silenced++;
        } else if (!s_session_ready(s, &s->sess[d->session], now)) {
            s_wait_push(s, &s->sess[d->session], di);
            continue;
        } else {
            s_send(s, di, now);
            sent++;
        }
        d->due_ns = s_next_due(s, d, now);
        aw_sim_heap_push(&s->heap, d->due_ns, di);
    }
    return sent;
}

int64_t aw_sim_sensors_next(const aw_sim_sensors_t *s, int64_t now)
{
    int64_t next = INT64_MAX;
    const aw_sim_slot *top = aw_sim_heap_top(&s->heap);
    if (top && !s->stopping)
        next = top->due;
    for (size_t i = 0; i < s->n_sess; i++) {
        const s_session *ss = &s->sess[i];
        if ((ss->broken || !ss->cs) && !s->stopping && ss->reconnect_at < next)
            next = ss->reconnect_at;
        if (ss->wait_head != S_NONE && ss->paused_until > now && ss->paused_until < next)
            next = ss->paused_until;
    }
    if (aw_sim_sensors_inflight(s) && s->next_expire_ns < next)
        next = s->next_expire_ns;
    return next;
}

void aw_sim_sensors_stop(aw_sim_sensors_t *s)
{
    s->stopping = 1;
}

size_t aw_sim_sensors_inflight(const aw_sim_sensors_t *s)
{
    return s->reqs.cap - s->reqs.n_free;
}

void aw_sim_sensors_abandon(aw_sim_sensors_t *s)
{
    for (size_t i = 0; i < s->reqs.cap; i++) {
        aw_sim_request *r = &s->reqs.v[i];
        if (!r->used)
            continue;
        aw_sim_stats_unanswered(s->stats, r->n);
        s_finish(s, r);
    }
}

int aw_sim_sensors_log_failed(const aw_sim_sensors_t *s)
{
    return s->log_failed;
}

const aw_sim_scenario_t *aw_sim_sensors_scenario(const aw_sim_sensors_t *s)
{
    return s->scn;
}

double aw_sim_sensors_target_rate(const aw_sim_sensors_t *s)
{
    return s->target_rate;
}

/* ------------------------------------------------------------ setup */

/* Period and first due time of each device, per the rate mode. */
static void s_schedule(aw_sim_sensors_t *s, int64_t now)
{
    double per_round = 0;
    for (size_t i = 0; i < s->n_dev; i++)
        per_round += (double)s->dev[i].k;
    for (size_t i = 0; i < s->n_dev; i++) {
        s_device *d = &s->dev[i];
        int64_t spread = 0;
        if (s->o->rate_mode == AW_SIM_RATE_INTERVAL) {
            int64_t ms = s->o->interval_ms > 0 ? s->o->interval_ms : d->dev->interval_s * 1000LL;
            d->period_ns = ms * S_MS;
            spread = d->period_ns < S_START_SPREAD ? d->period_ns : S_START_SPREAD;
            s->target_rate += (double)d->dev->n_metrics * 1e9 / (double)d->period_ns;
        } else if (s->o->rate_mode == AW_SIM_RATE_TOTAL) {
            d->period_ns = (int64_t)(per_round / s->o->rate * 1e9);
            spread = d->period_ns;
            s->target_rate = s->o->rate;
        }
        d->due_ns = now + (int64_t)((double)spread * (double)i / (double)s->n_dev);
        s->period_ms[i] = d->period_ns / S_MS > 0 ? d->period_ns / S_MS : 1;
        aw_sim_heap_push(&s->heap, d->due_ns, i);
    }
}

static int s_devices_new(aw_sim_sensors_t *s, const aw_sim_fleet *f)
{
    s->n_dev = f->n_devs;
    s->dev = calloc(s->n_dev, sizeof *s->dev);
    s->period_ms = calloc(s->n_dev, sizeof *s->period_ms);
    if (!s->dev || !s->period_ms || aw_sim_heap_init(&s->heap, s->n_dev) != AW_OK)
        return AW_ENOMEM;
    for (size_t i = 0; i < s->n_dev; i++) {
        s_device *d = &s->dev[i];
        *d = (s_device){.dev = f->devs[i], .session = f->session_of[i], .wait_next = S_NONE};
        d->k = s->o->records_per_pack ? s->o->records_per_pack : d->dev->n_metrics;
        s->max_k = d->k > s->max_k ? d->k : s->max_k;
    }
    s->scratch = calloc(s->max_k, sizeof *s->scratch);
    s->after = calloc(s->max_k, sizeof *s->after);
    s->line_cap = s->max_k * S_LINE_MAX;
    s->line = malloc(s->line_cap);
    return s->scratch && s->after && s->line ? AW_OK : AW_ENOMEM;
}

static int s_sessions_new(aw_sim_sensors_t *s, const aw_sim_fleet *f, int64_t now)
{
    s->n_sess = f->n_sessions;
    s->sess = calloc(s->n_sess, sizeof *s->sess);
    if (!s->sess || aw_sim_reqtab_init(&s->reqs, s->n_sess * s->o->inflight, s->max_k) != AW_OK)
        return AW_ENOMEM;
    for (size_t i = 0; i < s->n_sess; i++) {
        s_session *ss = &s->sess[i];
        ss->ep = &f->endpoints[f->sessions[i].endpoint];
        ss->psk = f->sessions[i].psk;
        ss->wait_head = ss->wait_tail = S_NONE;
        if (ss->psk)
            snprintf(ss->label, sizeof ss->label, "%s (DTLS identity %s)", ss->ep->text,
                     ss->psk->identity);
        else
            snprintf(ss->label, sizeof ss->label, "%s (UDP session %u)", ss->ep->text,
                     f->sessions[i].slot);
        if (s_session_open(s, ss) != AW_OK) {
            aw_warn("%s: cannot open a session; retrying every second", ss->label);
            ss->broken = 1;
            ss->reconnect_at = now + S_RECONNECT_NS;
        }
    }
    return AW_OK;
}

/* The request deadline: libcoap's MAX_TRANSMIT_WAIT for these settings, plus 5 s. */
static int64_t s_timeout_ns(const aw_sim_opts *o)
{
    if (o->timeout_ms > 0)
        return o->timeout_ms * S_MS;
    double wait_ms = (double)o->ack_timeout_ms * (double)((2u << o->retries) - 1) * 1.5;
    return (int64_t)(wait_ms + 5000) * S_MS;
}

int aw_sim_sensors_new(const aw_sim_opts *o, const aw_sim_fleet *fleet, coap_context_t *ctx,
                       aw_sim_stats *stats, int acked_fd, int64_t now_ns, aw_sim_sensors_t **out,
                       char *why, size_t why_len)
{
    aw_sim_sensors_t *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return AW_ENOMEM;
    *s = (aw_sim_sensors_t){.o = o,
                            .ctx = ctx,
                            .stats = stats,
                            .acked_fd = acked_fd,
                            .start_ns = now_ns,
                            .timeout_ns = s_timeout_ns(o),
                            .rng = o->seed * 2654435761u + 1};
    int rv = s_devices_new(s, fleet);
    if (rv == AW_OK) {
        s_schedule(s, now_ns);
        rv = aw_sim_scenario_new(&o->scenario, o->seed, fleet->devs, s->period_ms, s->n_dev,
                                 &s->scn, why, why_len);
    }
    if (rv == AW_OK)
        rv = s_sessions_new(s, fleet, now_ns);
    if (rv != AW_OK) {
        if (rv == AW_ENOMEM)
            snprintf(why, why_len, "out of memory setting up %zu devices", fleet->n_devs);
        aw_sim_sensors_destroy(&s);
        return rv;
    }
    coap_register_response_handler(ctx, s_on_response);
    coap_register_nack_handler(ctx, s_on_nack);
    coap_set_app_data(ctx, s);
    *out = s;
    return AW_OK;
}

void aw_sim_sensors_destroy(aw_sim_sensors_t **s_p)
{
    if (!s_p || !*s_p)
        return;
    aw_sim_sensors_t *s = *s_p;
    s->closing = 1;
    if (s->ctx && coap_get_app_data(s->ctx) == s)
        coap_set_app_data(s->ctx, NULL);
    for (size_t i = 0; s->sess && i < s->n_sess; i++)
        if (s->sess[i].cs)
            coap_session_release(s->sess[i].cs);
    aw_sim_scenario_destroy(&s->scn);
    aw_sim_heap_free(&s->heap);
    aw_sim_reqtab_free(&s->reqs);
    free(s->dev);
    free(s->period_ms);
    free(s->sess);
    free(s->scratch);
    free(s->after);
    free(s->line);
    free(s);
    *s_p = NULL;
}
