/* Alert delivery to sirens (SPEC §7, edge/siren.h), end to end with the real
 * daemons: anwang-center (HTTP API, registry import, alert issue), one real
 * anwang-edge that gets registry and alert over the down channel, and
 * anwang-devsim serving four sirens (one answering 5.03, one outside the
 * alert's area) with --siren-log.
 *
 * Checks: the two good sirens logged the drill once each, as a drill; the
 * failing one was tried max_attempts times and got a FAILED receipt with the
 * 5.03; the siren outside the area got nothing; the receipts are in the
 * edge's urgent lane, one final per (alert, device); the center's report says
 * devices reached 2, failed 1; a cancel reaches the sirens that got the
 * alert. Then kill -9 of the edge after it applied (and the center got the
 * edge-received receipt of) an alert whose sirens are not up yet: after the
 * restart the alert is still delivered, with status Actual unchanged.
 *
 * Loopback 127.0.16.1 (center), .2 (edge), .3 (sirens); ports 17960-17969.
 * Waits use deadlines and polling; only the processes started here are
 * signalled, by pid. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_center_harness.h"
/* <netinet/tcp.h> (through czmq.h) has its own TH_ACK and TH_RST. */
#undef TH_ACK
#undef TH_RST
#include "edge_harness.h"

#define DEVSIM_BIN AW_BIN_DIR "/anwang-devsim"
#define EDGE_ID    "rongjiawan-1"
#define ZONE       "yueyang/rongjiawan"
#define T_OPERATOR "operator-token-siren-0123456789"
#define T_ADMIN    "admin-token-siren-0123456789"
#define HOST_C     "127.0.16.1"
#define HOST_E     "127.0.16.2"
#define HOST_S     "127.0.16.3"
#define P_ZMQ      17960
#define P_HTTP     17961
#define P_EDGE     17962
#define P_SIREN    17963 /* .. +3 */
#define READY_MS   30000
#define WAIT_MS    90000
#define ATTEMPTS   4 /* [sirens] max_attempts in the edge's config (default 5) */

static tc_center s_c;
static th_edge s_e;
static pid_t s_sim;
static char s_tokens[160], s_extra[512], s_base[64], s_reg_path[192];

/* ------------------------------------------------------------ helpers */

static int64_t s_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void s_sim_stop(void)
{
    if (s_sim <= 0)
        return;
    kill(s_sim, SIGTERM);
    int64_t end = s_ms() + 10000;
    while (waitpid(s_sim, NULL, WNOHANG) == 0) {
        if (s_ms() > end) {
            kill(s_sim, SIGKILL);
            waitpid(s_sim, NULL, 0);
            break;
        }
        s_nap(20);
    }
    s_sim = 0;
}

static void s_fini(void)
{
    s_sim_stop();
    if (s_e.pid > 0)
        th_edge_kill(&s_e);
    tc_reap_all();
    if (!getenv("KEEP")) {
        th_edge_cleanup(&s_e);
        tc_cleanup(&s_c);
    }
}

/* ------------------------------------------------------------ HTTP */

typedef struct s_resp {
    long status;
    char *body;
    size_t len;
    json_t *json;
} s_resp;

static size_t s_on_body(char *p, size_t size, size_t n, void *arg)
{
    s_resp *r = arg;
    char *b = realloc(r->body, r->len + size * n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, size * n);
    r->body = b;
    r->len += size * n;
    b[r->len] = '\0';
    return size * n;
}

static s_resp s_req(const char *method, const char *path, const char *token, const char *body)
{
    s_resp r = {0};
    char url[256], auth[128];
    snprintf(url, sizeof url, "%s%s", s_base, path);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    hdr = curl_slist_append(hdr, auth);
    if (body) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    if (r.body)
        r.json = json_loads(r.body, 0, NULL);
    return r;
}

static void s_free(s_resp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ the county */

/* Four sirens: a and b (village xinqiang), c (loudspeaker, dongfeng; answers
 * 5.03), d (village other, outside the alerts' area). */
static void s_registry(void)
{
    char text[4096];
    snprintf(
        text, sizeof text,
        "{\"county\": \"yueyang\", \"name\": \"county\", \"version\": 7, \"zones\": [{\"path\": "
        "\"" ZONE "\", \"name\": \"town\", \"kind\": \"township\", \"villages\": ["
        "{\"path\": \"" ZONE "/xinqiang\", \"name\": \"v1\", \"sites\": [{\"path\": \"" ZONE
        "/xinqiang/chem\", \"name\": \"chem\", \"sector\": \"hazardous-chemicals\", \"risk\": "
        "\"orange\", \"devices\": ["
        "{\"id\": \"siren-a\", \"kind\": \"siren\", \"uri\": \"coap://" HOST_S ":%d/alert\"},"
        "{\"id\": \"siren-b\", \"kind\": \"siren\", \"uri\": \"coap://" HOST_S ":%d/alert\"},"
        "{\"id\": \"gas-1\", \"kind\": \"sensor\", \"metrics\": [{\"name\": \"h2s\", \"unit\": "
        "\"ppm\"}]}]}]},"
        "{\"path\": \"" ZONE "/dongfeng\", \"name\": \"v2\", \"sites\": [{\"path\": \"" ZONE
        "/dongfeng/works\", \"name\": \"works\", \"sector\": \"fireworks\", \"risk\": \"yellow\", "
        "\"devices\": [{\"id\": \"speaker-c\", \"kind\": \"loudspeaker\", \"uri\": \"coap://" HOST_S
        ":%d/alert\"}]}]},"
        "{\"path\": \"" ZONE "/other\", \"name\": \"v3\", \"sites\": [{\"path\": \"" ZONE
        "/other/mine\", \"name\": \"mine\", \"sector\": \"non-coal-mine\", \"risk\": \"blue\", "
        "\"devices\": [{\"id\": \"siren-d\", \"kind\": \"siren\", \"uri\": \"coap://" HOST_S
        ":%d/alert\"}]}]}]}]}",
        P_SIREN, P_SIREN + 1, P_SIREN + 2, P_SIREN + 3);
    s_write(s_reg_path, text);
}

static void s_center_start(void)
{
    size_t mark = tc_log_size(&s_c);
    tc_start(&s_c);
    cr_assert(tc_log_wait_from(&s_c, mark, "http: API and dashboard on", READY_MS), "see %s",
              s_c.log);
}

static void s_import(void)
{
    FILE *f = fopen(s_reg_path, "r");
    cr_assert_not_null(f);
    char body[4096];
    size_t n = fread(body, 1, sizeof body - 1, f);
    fclose(f);
    body[n] = '\0';
    s_resp r = s_req("PUT", "/api/v1/registry", T_ADMIN, body);
    cr_assert(r.status == 200 || r.status == 201, "registry import: %ld %s (see %s)", r.status,
              r.body ? r.body : "", s_c.log);
    s_free(&r);
}

static void s_sim_start(const char *log)
{
    char u[4][96];
    for (int i = 0; i < 4; i++)
        snprintf(u[i], sizeof u[i], "%s=coap://" HOST_S ":%d/alert",
                 (const char *[]){"siren-a", "siren-b", "speaker-c", "siren-d"}[i], P_SIREN + i);
    char out[200];
    snprintf(out, sizeof out, "%s.out", log);
    s_sim = fork();
    cr_assert_geq(s_sim, 0);
    if (s_sim == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0)
            dup2(fd, 1), dup2(fd, 2);
        execl(DEVSIM_BIN, DEVSIM_BIN, "--siren", u[0], "--siren", u[1], "--siren", u[2], "--siren",
              u[3], "--siren-fail", "speaker-c", "--siren-log", log, "--duration", "300s",
              (char *)NULL);
        _exit(127);
    }
    /* listening: the four endpoints are announced */
    int64_t end = s_ms() + READY_MS;
    for (;;) {
        char cmd[300], buf[64] = "";
        snprintf(cmd, sizeof cmd, "grep -c 'listening on' %s 2>/dev/null", out);
        FILE *p = popen(cmd, "r");
        if (p && fgets(buf, sizeof buf, p) == NULL)
            buf[0] = '\0';
        if (p)
            pclose(p);
        if (atoi(buf) >= 4)
            break;
        cr_assert_lt(s_ms(), end, "devsim sirens did not start; see %s", out);
        cr_assert_eq(waitpid(s_sim, NULL, WNOHANG), 0, "devsim exited; see %s", out);
        s_nap(50);
    }
}

static void s_edge_start(void)
{
    th_edge_start(&s_e, NULL);
    cr_assert(th_edge_ready(&s_e, READY_MS), "see %s", s_e.log);
}

/* The edge's registry in service is the center's (version 7). */
static bool s_edge_has_registry(void)
{
    json_t *st = th_status(&s_e);
    json_t *reg = st ? json_object_get(st, "registry") : NULL;
    json_t *v = reg ? json_object_get(reg, "version") : NULL;
    bool ok = json_is_integer(v) && json_integer_value(v) == 7;
    json_decref(st);
    return ok;
}

/* The edge's /status "sirens" counters, in the order of s_siren_keys. */
static const char *const s_siren_keys[5] = {"queued", "in_flight", "delivered", "failed",
                                            "attempts"};

static bool s_sirens_read(long long got[5])
{
    json_t *st = th_status(&s_e);
    json_t *s = st ? json_object_get(st, "sirens") : NULL;
    bool ok = json_is_object(s);
    for (int i = 0; ok && i < 5; i++) {
        json_t *v = json_object_get(s, s_siren_keys[i]);
        ok = json_is_integer(v);
        got[i] = ok ? json_integer_value(v) : -1;
    }
    json_decref(st);
    return ok;
}

/* Waits until /status shows @p delivered and @p failed deliveries, @p attempts
 * POSTs, none queued or in flight. */
static void s_sirens_status(long long delivered, long long failed, long long attempts)
{
    long long want[5] = {0, 0, delivered, failed, attempts}, got[5] = {0};
    int64_t end = s_ms() + WAIT_MS;
    bool same = false;
    do {
        cr_assert(s_sirens_read(got), "/status has sirens with 5 counters; see %s", s_e.log);
        same = memcmp(got, want, sizeof got) == 0;
        if (!same)
            s_nap(100);
    } while (!same && s_ms() < end);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(got[i], want[i], "/status sirens.%s: %lld, want %lld", s_siren_keys[i], got[i],
                     want[i]);
}

/* Issues an alert over the API; returns its id (caller frees). */
static char *s_issue(const char *status, const char *event)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"status\": \"%s\", \"event\": \"%s\", \"area\": [\"" ZONE "/xinqiang\", \"" ZONE
             "/dongfeng\"], \"severity\": \"Severe\", \"urgency\": \"Immediate\", \"certainty\": "
             "\"Observed\", \"headline\": \"siren test\"}",
             status, event);
    s_resp r = s_req("POST", "/api/v1/alerts", T_OPERATOR, body);
    cr_assert_eq(r.status, 201, "POST alert: %ld %s", r.status, r.body ? r.body : "");
    char *id = strdup(json_string_value(json_object_get(r.json, "id")));
    s_free(&r);
    return id;
}

/* Issues an alert that expires @p in_ms from now; returns its id (caller frees). */
static char *s_issue_expiring(const char *status, const char *event, int in_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t at = ts.tv_sec + in_ms / 1000;
    struct tm tm;
    gmtime_r(&at, &tm);
    char when[32], body[512];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body,
             "{\"status\": \"%s\", \"event\": \"%s\", \"area\": [\"" ZONE "/xinqiang\", \"" ZONE
             "/dongfeng\"], \"expires\": \"%s\"}",
             status, event, when);
    s_resp r = s_req("POST", "/api/v1/alerts", T_OPERATOR, body);
    cr_assert_eq(r.status, 201, "POST alert: %ld %s", r.status, r.body ? r.body : "");
    char *id = strdup(json_string_value(json_object_get(r.json, "id")));
    s_free(&r);
    return id;
}

/* The report's devices/edges counts of alert @p id. */
static void s_report(const char *id, long long *edges_reached, long long *reached,
                     long long *failed)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/alerts/%s", id);
    s_resp r = s_req("GET", path, T_OPERATOR, NULL);
    json_t *rep = json_object_get(r.json, "report");
    json_t *d = json_object_get(rep, "devices");
    *reached = json_integer_value(json_object_get(d, "reached"));
    *failed = json_integer_value(json_object_get(d, "failed"));
    *edges_reached = json_integer_value(json_object_get(json_object_get(rep, "edges"), "reached"));
    s_free(&r);
}

static bool s_report_wait(const char *id, long long want_reached, long long want_failed)
{
    int64_t end = s_ms() + WAIT_MS;
    long long e, r, f;
    do {
        s_report(id, &e, &r, &f);
        if (r == want_reached && f == want_failed)
            return true;
        s_nap(200);
    } while (s_ms() < end);
    cr_log_error("report: edges reached %lld, devices reached %lld failed %lld", e, r, f);
    return false;
}

/* ------------------------------------------------------------ siren log */

typedef struct s_seen {
    int ok, failed; /* 2.04 / 5.03 lines */
    int drill, actual;
    int cancels; /* msgType Cancel with 2.04 */
} s_seen;

/* Counts the siren log's lines for (@p device, alert @p id or its cancel). */
static s_seen s_log_count(const char *log, const char *device, const char *id)
{
    s_seen s = {0};
    FILE *f = fopen(log, "r");
    if (!f)
        return s;
    char line[8192], cancel_id[300];
    snprintf(cancel_id, sizeof cancel_id, "%s.cancel", id);
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *dev = json_string_value(json_object_get(j, "device"));
        const char *ident = json_string_value(json_object_get(j, "identifier"));
        const char *code = json_string_value(json_object_get(j, "code"));
        const char *status = json_string_value(json_object_get(j, "status"));
        const char *type = json_string_value(json_object_get(j, "msgType"));
        if (dev && ident && code && strcmp(dev, device) == 0) {
            bool ok = strcmp(code, "2.04") == 0;
            if (strcmp(ident, id) == 0) {
                s.ok += ok;
                s.failed += strcmp(code, "5.03") == 0;
                s.drill += status && strcmp(status, "Exercise") == 0;
                s.actual += status && strcmp(status, "Actual") == 0;
            } else if (strcmp(ident, cancel_id) == 0 && ok && type && !strcmp(type, "Cancel")) {
                s.cancels++;
                s.drill += status && strcmp(status, "Exercise") == 0;
                s.actual += status && strcmp(status, "Actual") == 0;
            }
        }
        json_decref(j);
    }
    fclose(f);
    return s;
}

/* ------------------------------------------------------------ receipts */

typedef struct s_receipts {
    const char *id;
    int edge_received, delivered[4], failed[4];
    unsigned failed_attempts[4];
    char failed_detail[4][200];
} s_receipts;

static const char *const s_devs[4] = {"siren-a", "siren-b", "speaker-c", "siren-d"};

static void s_on_record(void *arg, uint64_t seq, const Anwang__Record *rec)
{
    (void)seq;
    s_receipts *r = arg;
    if (rec->body_case != ANWANG__RECORD__BODY_RECEIPT || strcmp(rec->receipt->identifier, r->id))
        return;
    const Anwang__AlertReceipt *x = rec->receipt;
    if (x->kind == ANWANG__RECEIPT_KIND__RECEIPT_EDGE_RECEIVED) {
        r->edge_received++;
        return;
    }
    for (int i = 0; i < 4; i++)
        if (x->device && strcmp(x->device, s_devs[i]) == 0) {
            if (x->kind == ANWANG__RECEIPT_KIND__RECEIPT_DEVICE_DELIVERED) {
                r->delivered[i]++;
            } else {
                r->failed[i]++;
                r->failed_attempts[i] = x->attempts;
                snprintf(r->failed_detail[i], sizeof r->failed_detail[i], "%s",
                         x->detail ? x->detail : "");
            }
        }
}

/* ------------------------------------------------------------ setup */

static void s_county(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tc_init(&s_c, 1, P_ZMQ);
    snprintf(s_c.endpoint, sizeof s_c.endpoint, "tcp://" HOST_C ":%d", P_ZMQ);
    snprintf(s_tokens, sizeof s_tokens, "%s/tokens", s_c.dir);
    snprintf(s_reg_path, sizeof s_reg_path, "%s/registry.json", s_c.dir);
    snprintf(s_base, sizeof s_base, "http://" HOST_C ":%d", P_HTTP);
    snprintf(s_extra, sizeof s_extra, "[http]\nbind = " HOST_C ":%d\ntokens = %s\n", P_HTTP,
             s_tokens);
    s_write(s_tokens, T_OPERATOR " operator li.operator\n" T_ADMIN " admin zhao.admin\n");
    s_c.extra = s_extra;
    tc_write_conf(&s_c);
    tc_path cert = tc_edge_cert(&s_c, EDGE_ID, EDGE_ID, ZONE, true);
    s_registry();
    s_center_start();
    s_import();

    th_edge_init(&s_e, 1);
    snprintf(s_e.addr, sizeof s_e.addr, HOST_E);
    s_e.port = P_EDGE;
    s_e.dtls_port = P_EDGE + 100;
    char extra[768];
    snprintf(extra, sizeof extra,
             "[uplink]\ncenter = %s\ncert = %s_secret\ncenter_key = %s\nheartbeat = 1s\n"
             "dead_after = 3s\n[sirens]\nmax_attempts = %d\nbackoff = 2s\nbackoff_max = 8s\n",
             s_c.endpoint, cert.path, s_c.server_key, ATTEMPTS);
    th_edge_write_conf(&s_e, "fsync", false, true, extra);
}

static bool s_wait(bool (*cond)(void), int ms)
{
    int64_t end = s_ms() + ms;
    while (s_ms() < end) {
        if (cond())
            return true;
        s_nap(100);
    }
    return cond();
}

TestSuite(siren, .fini = s_fini, .timeout = 400);

Test(siren, drill_reaches_good_sirens_once_failing_one_is_retried_then_failed_cancel_and_kill_9)
{
    char log1[192], log2[192];
    s_county();
    snprintf(log1, sizeof log1, "%s/sirens1.jsonl", s_c.dir);
    snprintf(log2, sizeof log2, "%s/sirens2.jsonl", s_c.dir);
    s_sim_start(log1);
    s_edge_start();
    cr_assert(s_wait(s_edge_has_registry, WAIT_MS), "the center's registry at the edge; see %s",
              s_e.log);

    /* 1. a drill: a, b delivered once, as a drill; c retried then failed; d not targeted */
    char *id = s_issue("Exercise", "chemical leak drill");
    cr_assert(s_report_wait(id, 2, 1), "report reached 2 failed 1; see %s and %s", s_e.log,
              s_c.log);
    for (int i = 0; i < 2; i++) {
        s_seen s = s_log_count(log1, s_devs[i], id);
        cr_assert_eq(s.ok, 1, "%s logged the alert once (%d)", s_devs[i], s.ok);
        cr_assert_eq(s.drill, 1, "%s: as a drill", s_devs[i]);
        cr_assert_eq(s.actual, 0, "%s: never as Actual", s_devs[i]);
    }
    s_seen c = s_log_count(log1, "speaker-c", id);
    cr_assert_eq(c.failed, ATTEMPTS, "speaker-c tried %d times (got %d)", ATTEMPTS, c.failed);
    cr_assert_eq(c.ok, 0);
    s_seen d = s_log_count(log1, "siren-d", id);
    cr_assert_eq(d.ok + d.failed, 0, "siren-d is outside the area");
    s_sirens_status(2, 1, ATTEMPTS + 2);

    /* 2. the cancel reaches the sirens that got the alert, still a drill */
    char path[256];
    snprintf(path, sizeof path, "/api/v1/alerts/%s/cancel", id);
    s_resp r = s_req("POST", path, T_OPERATOR, NULL);
    cr_assert_eq(r.status, 200, "cancel: %ld %s", r.status, r.body ? r.body : "");
    s_free(&r);
    int64_t end = s_ms() + WAIT_MS;
    while ((s_log_count(log1, "siren-a", id).cancels < 1 ||
            s_log_count(log1, "siren-b", id).cancels < 1) &&
           s_ms() < end)
        s_nap(100);
    for (int i = 0; i < 2; i++) {
        s_seen s = s_log_count(log1, s_devs[i], id);
        cr_assert_eq(s.cancels, 1, "%s got the cancel once; see %s", s_devs[i], s_e.log);
        cr_assert_eq(s.actual, 0, "%s: the cancel of a drill is a drill", s_devs[i]);
    }
    cr_assert_eq(s_log_count(log1, "speaker-c", id).cancels, 0, "c never took the alert");

    /* 3. kill -9 after the edge applied an alert whose sirens are down */
    s_sim_stop();
    char *id2 = s_issue("Actual", "dam overtopping");
    long long er = 0, dr = 0, df = 0;
    end = s_ms() + WAIT_MS;
    do {
        s_report(id2, &er, &dr, &df);
        if (er < 1)
            s_nap(50);
    } while (er < 1 && s_ms() < end);
    cr_assert_eq(er, 1, "the edge applied the alert (edge-received receipt at the center)");
    cr_assert_eq(dr + df, 0, "nothing delivered yet: the sirens are down");
    th_edge_kill(&s_e);
    s_sim_start(log2);
    s_edge_start();
    cr_assert(s_report_wait(id2, 2, 1), "delivered after the restart; see %s", s_e.log);
    for (int i = 0; i < 2; i++) {
        s_seen s = s_log_count(log2, s_devs[i], id2);
        cr_assert_eq(s.ok, 1, "%s got the alert once after the restart (%d)", s_devs[i], s.ok);
        cr_assert_eq(s.actual, 1, "%s: status Actual unchanged", s_devs[i]);
        cr_assert_eq(s.drill, 0);
    }

    /* 4. an alert that expires while its sirens are down: failed "expired", never sent later */
    s_sim_stop();
    char *id3 = s_issue_expiring("Test", "expiring test", 4000);
    cr_assert(s_report_wait(id3, 0, 3), "failed at expiry; see %s", s_e.log);

    /* 5. the receipts in the edge's urgent lane: one final per (alert, device) */
    cr_assert_eq(th_edge_stop(&s_e, 20000), 0, "clean stop; see %s", s_e.log);
    s_receipts rx = {.id = id3};
    cr_assert_eq(th_store_walk(s_e.data, AW_LANE_URGENT, s_on_record, &rx), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(rx.delivered[i] + rx.failed[i], 1, "%s: one final receipt", s_devs[i]);
        cr_assert_eq(strncmp(rx.failed_detail[i], "expired", 7), 0, "%s: detail \"%s\"", s_devs[i],
                     rx.failed_detail[i]);
    }
    free(id3);
    const char *ids[2] = {id, id2};
    for (int k = 0; k < 2; k++) {
        s_receipts rc = {.id = ids[k]};
        cr_assert_eq(th_store_walk(s_e.data, AW_LANE_URGENT, s_on_record, &rc), 0);
        cr_assert_eq(rc.edge_received, 1, "%s: one edge-received receipt", ids[k]);
        for (int i = 0; i < 2; i++) {
            cr_assert_eq(rc.delivered[i], 1, "%s: %s one DELIVERED receipt", ids[k], s_devs[i]);
            cr_assert_eq(rc.failed[i], 0, "%s: %s no FAILED receipt", ids[k], s_devs[i]);
        }
        cr_assert_eq(rc.delivered[2], 0);
        cr_assert_eq(rc.failed[2], 1, "%s: speaker-c one FAILED receipt", ids[k]);
        cr_assert_eq(rc.failed_attempts[2], ATTEMPTS, "%s: attempts %u", ids[k],
                     rc.failed_attempts[2]);
        cr_assert_not_null(strstr(rc.failed_detail[2], "5.03"), "%s: detail \"%s\"", ids[k],
                           rc.failed_detail[2]);
        cr_assert_eq(rc.delivered[3] + rc.failed[3], 0, "siren-d not targeted");
    }
    free(id);
    free(id2);
}
