/* Ledger convergence (SPEC §6, §9): the same hazard worked at an edge and at
 * the center at the same time while the link between them is cut; after
 * reconnect both show the identical state and ledger.
 *
 * The real anwang-center (ZeroMQ uplink and its HTTP API, SPEC §8 /
 * center/API.md) and the real anwang-edge (CoAP, SPEC §3), with the tests'
 * TCP fault proxy (tests/common/fault_proxy.h) on the uplink between them.
 * The registry is imported at the center with PUT /api/v1/registry (admin
 * token) and given to the edge with --registry (the same file; the center's
 * push of the same version changes nothing).
 *
 * Three rounds, each on a hazard of its own reported at the edge over CoAP and seen at
 * the center over HTTP before the cut:
 *
 *  1. link DROPped (every connection reset). At the same time (one thread
 *     per side): the edge takes `assign` (unit A) then `note`, the center
 *     (operator token) `assign` (unit B, another person) then `notify`.
 *     Each side accepts its two against its own fold; while cut, neither
 *     sees the other's. All five events are valid wherever they fold.
 *  2. the hazard is brought to `rectified` at the edge and replicated; link
 *     BLACK-HOLED (connections held, nothing moves). At the same time: the
 *     edge `verify` fail (back to rectifying), the center `verify` ok
 *     (closed). Each is valid locally; merged, the one that folds second
 *     finds the status no longer `rectified` and must be kept, rejected,
 *     with the ledger's reason "verify needs status rectified".
 *  3. the hazard is assigned at the edge and replicated; link DROPped. At
 *     the same time: the edge `start`s; the center `start`s, takes the
 *     `rectified` and signs it off (`verify` ok). Merged, one of the two
 *     starts folds after the other and is rejected ("start needs status
 *     assigned"); the center's sign-off stands: closed.
 *
 * After the link is restored, both sides must reach the same number of
 * ledger entries; then the edge's GET /hazards/<id> (CoAP) and the center's
 * GET /api/v1/hazards/<id> must be equal as JSON, whole: state (status,
 * assignment, evidence, closed_at, ...) and ledger (same events, same fold
 * order, same verdicts and reasons). No normalisation is needed: both ends
 * write the body with aw_hazard_state_to_json(); its one time-dependent
 * member, "overdue", is false on both because the deadlines are in 2099.
 * The ledger is also checked to be in (HLC, origin) order.
 *
 * A third and fourth view, once both daemons stopped: the center's and the
 * edge's `hazards` tables read from their stores (read-only) and folded
 * here with aw_ledger_fold(); their aw_hazard_state_to_json() must equal
 * what the daemons answered.
 *
 * Loopback 127.0.15.1 (edge CoAP 17953, DTLS 17954) and 127.0.15.10
 * (center ZeroMQ 17950, HTTP 17951, proxy 17952). Waits use deadlines and
 * polling; only processes started here are signalled, by their pid.
 * AW_KEEP_LOGS=1 keeps the temp dirs (logs, stores) of a failed run. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "db.h"
#include "fault_proxy.h"
#include "hazard_json.h"
#include "ledger.h"
#include "store.h"
#include "test_center_harness.h"
/* <netinet/tcp.h> (through czmq.h) has its own TH_ACK and TH_RST. */
#undef TH_ACK
#undef TH_RST
#include "edge_harness.h"

#define S_IP         "127.0.15.10"
#define S_ZMQ_PORT   17950
#define S_HTTP_PORT  17951
#define S_PROXY_PORT 17952
#define S_EDGE_IP    "127.0.15.1"
#define S_EDGE_PORT  17953
#define S_EDGE_ID    "rongjiawan-1" /* the edge harness's config names it so */
#define S_ZONE       "yueyang/rongjiawan"
#define S_REGISTRY   AW_FIXTURES "/registry.json"
#define S_ADMIN      "admin-token-ledger-0001"
#define S_OPERATOR   "operator-token-ledger-0002"
#define S_VIEWER     "viewer-token-ledger-0003"
#define S_OP_NAME    "duty-officer"
#define S_WAIT_MS    120000 /* a slow, shared machine: generous */

static tc_center s_c;
static th_edge s_e;
static aw_fault_proxy_t *s_proxy;
static char s_base[64];

static void s_fini(void)
{
    aw_fault_proxy_destroy(&s_proxy);
    if (s_e.pid > 0)
        th_edge_kill(&s_e);
    tc_reap_all();
    if (getenv("AW_KEEP_LOGS")) /* for a post-mortem: the logs named in the failure */
        return;
    th_edge_cleanup(&s_e);
    if (s_c.dir[0])
        tc_cleanup(&s_c);
}

TestSuite(ledger_convergence, .fini = s_fini, .timeout = 580);

static void s_nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ HTTP (libcurl) */

typedef struct s_buf {
    char *p;
    size_t len;
} s_buf;

static size_t s_sink(char *data, size_t size, size_t n, void *arg)
{
    s_buf *b = arg;
    char *p = realloc(b->p, b->len + size * n + 1);
    if (!p)
        return 0;
    memcpy(p + b->len, data, size * n);
    b->p = p;
    b->len += size * n;
    b->p[b->len] = '\0';
    return size * n;
}

/* One request to the center's API; returns the HTTP status (0 when no
 * answer) and, when @p out is given, the body parsed (NULL if not JSON). */
static long s_http(const char *method, const char *path, const char *token, const char *body,
                   json_t **out)
{
    char url[512], auth[128];
    snprintf(url, sizeof url, "%s%s", s_base, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    CURL *h = curl_easy_init();
    cr_assert_not_null(h);
    struct curl_slist *hdr = curl_slist_append(NULL, auth);
    if (body)
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
    s_buf b = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (out)
        *out = b.p ? json_loads(b.p, 0, NULL) : NULL;
    free(b.p);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return status;
}

/* GET /api/v1/hazards/<id>: the object, or NULL unless 200. */
static json_t *s_center_hazard(const char *id)
{
    char path[256];
    json_t *j = NULL;
    snprintf(path, sizeof path, "/api/v1/hazards/%s", id);
    if (s_http("GET", path, S_VIEWER, NULL, &j) != 200) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ------------------------------------------------------------ CoAP (the edge) */

static th_resp s_r;

/* GET /hazards/<id> at the edge: the object, or NULL unless 2.05. */
static json_t *s_edge_hazard(const char *id)
{
    char path[256];
    snprintf(path, sizeof path, "hazards/%s", id);
    if (th_coap_get_all(s_e.addr, s_e.port, path, &s_r, 10000) != 0 || s_r.code != 205)
        return NULL;
    return json_loadb((const char *)s_r.payload, s_r.len, 0, NULL);
}

static size_t s_entries(const json_t *h)
{
    return h ? json_array_size(json_object_get(h, "ledger")) : 0;
}

static const char *s_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Reports a general hazard at the edge; writes its id. */
static void s_report(const char *title, char *id, size_t cap)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"site\":\"yueyang/rongjiawan/xinqiang/huaxin-chem\","
             "\"sector\":\"hazardous-chemicals\",\"level\":\"general\",\"title\":\"%s\","
             "\"source\":\"inspection\",\"reporter\":\"li\"}",
             title);
    th_resp r;
    cr_assert_eq(
        th_coap(s_e.addr, s_e.port, TH_POST, "hazards", 50, body, strlen(body), NULL, 0, &r, 10000),
        0, "no answer to POST /hazards");
    cr_assert_eq(r.code, 201, "POST /hazards: %d %.*s", r.code, (int)r.len, r.payload);
    cr_assert(strncmp(r.location, "hazards/", 8) == 0, "Location-Path %s", r.location);
    size_t n = strlen(r.location + 8);
    cr_assert(n > 0 && n < cap, "a hazard id in %s", r.location);
    memcpy(id, r.location + 8, n + 1);
}

/* One event at the edge (CoAP POST /hazards/<id>/events); returns the code
 * and, in @p accepted, the edge's verdict of it in its own fold. */
static int s_edge_event(const char *id, const char *body, bool *accepted, char *text, size_t cap)
{
    char path[256];
    th_resp *r = malloc(sizeof *r);
    if (!r)
        return -1;
    snprintf(path, sizeof path, "hazards/%s/events", id);
    int code = -1;
    if (th_coap(s_e.addr, s_e.port, TH_POST, path, 50, body, strlen(body), NULL, 0, r, 10000) == 0)
        code = r->code;
    snprintf(text, cap, "%.*s", (int)r->len, (const char *)r->payload);
    json_t *j = json_loadb((const char *)r->payload, r->len, 0, NULL);
    *accepted = json_is_true(json_object_get(j, "accepted"));
    json_decref(j);
    free(r);
    return code;
}

/* ------------------------------------------------------------ both sides at once */

/* The edge's share of a round, run in a thread while the main thread does
 * the center's (no assertions here: results are checked in the main thread). */
typedef struct s_side {
    const char *id;
    const char *bodies[2];
    size_t n;
    int codes[2];
    bool accepted[2];
    char text[2][512];
} s_side;

static void *s_edge_side(void *arg)
{
    s_side *s = arg;
    for (size_t i = 0; i < s->n; i++)
        s->codes[i] =
            s_edge_event(s->id, s->bodies[i], &s->accepted[i], s->text[i], sizeof s->text[i]);
    return NULL;
}

/* Runs @p edge in a thread and @p center's events at the same time; checks
 * that each side accepted its own events. */
static void s_concurrently(s_side *edge, const char *const *center, size_t nc)
{
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, s_edge_side, edge), 0);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/hazards/%s/events", edge->id);
    long codes[4] = {0};
    json_t *last[4] = {0};
    for (size_t i = 0; i < nc; i++)
        codes[i] = s_http("POST", path, S_OPERATOR, center[i], &last[i]);
    pthread_join(t, NULL);
    for (size_t i = 0; i < nc; i++) {
        char *dump = last[i] ? json_dumps(last[i], JSON_COMPACT) : NULL;
        cr_assert_eq(codes[i], 201, "the center accepts %s: %ld %s (log %s)", center[i], codes[i],
                     dump ? dump : "", s_c.log);
        free(dump);
        json_decref(last[i]);
    }
    for (size_t i = 0; i < edge->n; i++) {
        cr_assert_eq(edge->codes[i], 204, "the edge takes %s: %d %s (log %s)", edge->bodies[i],
                     edge->codes[i], edge->text[i], s_e.log);
        cr_assert(edge->accepted[i], "the edge's fold accepts %s: %s", edge->bodies[i],
                  edge->text[i]);
    }
}

/* ------------------------------------------------------------ waits */

static bool s_edge_up(void)
{
    json_t *st = th_status(&s_e);
    const char *state = st ? s_str(json_object_get(st, "uplink"), "state") : NULL;
    bool up = state && strcmp(state, "up") == 0;
    json_decref(st);
    return up;
}

static bool s_wait_up(int ms)
{
    int64_t end = tc_mono() + ms;
    while (tc_mono() < end) {
        if (s_edge_up())
            return true;
        s_nap(100);
    }
    return s_edge_up();
}

/* Waits until the edge declares its uplink dead (the cut is real). */
static bool s_wait_down(int ms)
{
    int64_t end = tc_mono() + ms;
    while (tc_mono() < end) {
        if (!s_edge_up())
            return true;
        s_nap(100);
    }
    return !s_edge_up();
}

/* Waits until the center has @p n entries of @p id; returns its object (or NULL). */
static json_t *s_center_wait(const char *id, size_t n, int ms)
{
    int64_t end = tc_mono() + ms;
    json_t *j = NULL;
    do {
        json_decref(j);
        j = s_center_hazard(id);
        if (s_entries(j) >= n)
            return j;
        s_nap(200);
    } while (tc_mono() < end);
    return j;
}

/* Waits until the edge and the center both have @p n entries of @p id;
 * *edge and *center get their last answers (caller decrefs). */
static bool s_converge(const char *id, size_t n, json_t **edge, json_t **center, int ms)
{
    int64_t end = tc_mono() + ms;
    *edge = *center = NULL;
    for (;;) {
        json_decref(*edge);
        json_decref(*center);
        *edge = s_edge_hazard(id);
        *center = s_center_hazard(id);
        if (s_entries(*edge) == n && s_entries(*center) == n)
            return true;
        if (tc_mono() >= end)
            return false;
        s_nap(200);
    }
}

/* ------------------------------------------------------------ checks */

static char *s_dump(const json_t *j)
{
    return j ? json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS) : strdup("(none)");
}

/* Asserts that @p a and @p b are the same JSON, showing both when not. */
static void s_assert_same(const json_t *a, const json_t *b, const char *what)
{
    if (json_equal((json_t *)a, (json_t *)b))
        return;
    char *da = s_dump(a), *db = s_dump(b);
    cr_assert_fail("%s differ:\n--- first:\n%s\n--- second:\n%s", what, da, db);
    free(da);
    free(db);
}

/* The ledger is in (HLC, origin) order and every entry has a verdict;
 * returns the number of rejected entries. */
static size_t s_check_order(const json_t *h)
{
    const json_t *ledger = json_object_get(h, "ledger");
    uint64_t prev_hlc = 0;
    const char *prev_origin = "";
    size_t rejected = 0;
    for (size_t i = 0; i < json_array_size(ledger); i++) {
        const json_t *e = json_array_get(ledger, i);
        const char *hlc = s_str(e, "hlc"), *origin = s_str(e, "origin");
        cr_assert(hlc && origin, "entry %zu has hlc and origin", i);
        uint64_t v = strtoull(hlc, NULL, 10);
        cr_assert(v > prev_hlc || (v == prev_hlc && strcmp(origin, prev_origin) > 0),
                  "entry %zu (%s, %s) folds after (%" PRIu64 ", %s)", i, hlc, origin, prev_hlc,
                  prev_origin);
        prev_hlc = v;
        prev_origin = origin;
        const json_t *acc = json_object_get(e, "accepted");
        cr_assert(json_is_boolean(acc), "entry %zu has a verdict", i);
        if (!json_is_true(acc)) {
            cr_assert_not_null(s_str(e, "reason"), "a rejected entry has its reason");
            rejected++;
        }
    }
    return rejected;
}

/* Per origin, how many entries of @p h have it. */
static size_t s_count_origin(const json_t *h, const char *origin)
{
    const json_t *ledger = json_object_get(h, "ledger");
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(ledger); i++)
        n += strcmp(s_str(json_array_get(ledger, i), "origin"), origin) == 0;
    return n;
}

/* The i-th entry of the ledger with op @p op (NULL when none). */
static const json_t *s_nth_op(const json_t *h, const char *op, size_t nth)
{
    const json_t *ledger = json_object_get(h, "ledger");
    for (size_t i = 0; i < json_array_size(ledger); i++) {
        const json_t *e = json_array_get(ledger, i);
        if (strcmp(s_str(e, "op"), op) == 0 && nth-- == 0)
            return e;
    }
    return NULL;
}

/* ------------------------------------------------------------ stores, folded here */

typedef struct s_events {
    Anwang__Record *recs[64];
    const Anwang__HazardEvent *evs[64];
    size_t n;
} s_events;

static int s_collect(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    s_events *e = arg;
    Anwang__Record *r = NULL;
    cr_assert_lt(e->n, 64);
    cr_assert_eq(aw_codec_record_decode(val, vlen, NULL, &r, NULL, 0), AW_OK);
    cr_assert_eq(r->body_case, ANWANG__RECORD__BODY_HAZARD);
    e->recs[e->n] = r;
    e->evs[e->n++] = r->hazard;
    return 0;
}

/* Reads the events of @p id from the `hazards` table of the store in
 * @p dir (the center's when @p center) and folds them here. */
static json_t *s_fold_store(const char *dir, bool center, const char *id, int64_t now_ms)
{
    aw_store_opts so = {.path = dir, .read_only = true};
    aw_store_t *store = NULL;
    aw_center_db_t *db = NULL;
    aw_table_t table;
    aw_txn_t *txn = NULL;
    s_events e = {0};
    cr_assert_eq(aw_store_open(&so, &store), AW_OK, "open %s", dir);
    if (center) {
        cr_assert_eq(aw_center_db_open(store, &db), AW_OK);
        table = aw_center_db_table(db, AW_CT_HAZARDS);
    } else {
        cr_assert_eq(aw_store_table(store, "hazards", &table), AW_OK);
    }
    cr_assert_eq(aw_store_begin_read(store, &txn), AW_OK);
    cr_assert_eq(aw_txn_scan(txn, table, id, strlen(id) + 1, NULL, 0, s_collect, &e), AW_OK);
    aw_txn_abort(&txn);
    cr_assert_gt(e.n, 0, "events of %s in %s", id, dir);
    aw_hazard_state *st = NULL;
    json_t *out = NULL;
    cr_assert_eq(aw_ledger_fold(e.evs, e.n, &st), AW_OK);
    cr_assert_eq(aw_hazard_state_to_json(st, now_ms, &out), AW_OK);
    aw_hazard_state_destroy(&st);
    for (size_t i = 0; i < e.n; i++)
        aw_codec_record_free(&e.recs[i]);
    aw_center_db_destroy(&db);
    aw_store_destroy(&store);
    return out;
}

/* ------------------------------------------------------------ set-up */

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    cr_assert_not_null(p);
    cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    return p;
}

/* The center with its HTTP API, @p cert made for the edge and in the
 * allow-list before it starts; the registry imported over PUT. */
static void s_start_center(tc_path *cert)
{
    static char extra[512];
    char tokens[192];
    tc_init(&s_c, 15, S_ZMQ_PORT);
    snprintf(s_c.endpoint, sizeof s_c.endpoint, "tcp://%s:%d", S_IP, S_ZMQ_PORT);
    snprintf(tokens, sizeof tokens, "%s/tokens", s_c.dir);
    s_write(tokens, "# ledger convergence test\n" S_ADMIN " admin root\n" S_OPERATOR
                    " operator " S_OP_NAME "\n" S_VIEWER " viewer watcher\n");
    snprintf(extra, sizeof extra, "[http]\nbind = %s:%d\ntokens = %s\n", S_IP, S_HTTP_PORT, tokens);
    s_c.extra = extra;
    tc_write_conf(&s_c);
    snprintf(s_base, sizeof s_base, "http://%s:%d", S_IP, S_HTTP_PORT);
    *cert = tc_edge_cert(&s_c, S_EDGE_ID, S_EDGE_ID, S_ZONE, true);
    tc_start(&s_c);
    cr_assert(tc_log_wait(&s_c, "serving on", 30000), "the center starts (log %s)", s_c.log);
    int64_t end = tc_mono() + 30000;
    long st = 0;
    while ((st = s_http("GET", "/api/v1/status", S_VIEWER, NULL, NULL)) != 200 && tc_mono() < end)
        s_nap(200);
    cr_assert_eq(st, 200, "the center's HTTP API answers GET /api/v1/status (log %s)", s_c.log);
    char *reg = s_slurp(S_REGISTRY);
    json_t *j = NULL;
    st = s_http("PUT", "/api/v1/registry", S_ADMIN, reg, &j);
    char *dump = s_dump(j);
    cr_assert_eq(st, 200, "PUT /api/v1/registry: %ld %s (log %s)", st, dump, s_c.log);
    free(dump);
    json_decref(j);
    free(reg);
}

static void s_start_edge(const tc_path *cert)
{
    char extra[768];
    th_edge_init(&s_e, 1);
    snprintf(s_e.addr, sizeof s_e.addr, S_EDGE_IP);
    s_e.port = S_EDGE_PORT;
    s_e.dtls_port = S_EDGE_PORT + 1;
    snprintf(extra, sizeof extra,
             "[uplink]\ncenter = tcp://%s:%d\ncert = %s_secret\ncenter_key = %s\nheartbeat = 1s\n"
             "dead_after = 3s\n",
             S_IP, S_PROXY_PORT, cert->path, s_c.server_key);
    th_edge_write_conf(&s_e, "fsync", false, true, extra);
    th_edge_start(&s_e, S_REGISTRY);
    cr_assert(th_edge_ready(&s_e, 30000), "the edge serves (log %s)", s_e.log);
    cr_assert(s_wait_up(S_WAIT_MS), "the edge's uplink is up through the proxy; logs %s, %s",
              s_e.log, s_c.log);
}

/* Reports a hazard at the edge, runs @p before at the edge, and waits until
 * the center shows all of it; returns the number of entries. */
static size_t s_seed(const char *title, const char *const *before, size_t nb, char *id, size_t cap)
{
    s_report(title, id, cap);
    for (size_t i = 0; i < nb; i++) {
        bool ok = false;
        char text[512];
        cr_assert_eq(s_edge_event(id, before[i], &ok, text, sizeof text), 204, "%s: %s", before[i],
                     text);
        cr_assert(ok, "%s accepted at the edge: %s", before[i], text);
    }
    json_t *e = s_edge_hazard(id);
    size_t n = s_entries(e);
    cr_assert_eq(n, 1 + nb, "the edge's ledger of %s", id);
    json_t *c = s_center_wait(id, n, S_WAIT_MS);
    cr_assert_eq(s_entries(c), n, "the center has %s's %zu events before the cut (logs %s, %s)", id,
                 n, s_e.log, s_c.log);
    s_assert_same(e, c, "before the cut, the edge's and the center's hazard");
    json_decref(e);
    json_decref(c);
    return n;
}

/* While cut: each side shows its own new events and none of the other's. */
static void s_check_apart(const char *id, size_t base, size_t n_edge, size_t n_center)
{
    cr_assert(s_wait_down(S_WAIT_MS), "the edge finds its uplink cut (log %s)", s_e.log);
    json_t *e = s_edge_hazard(id), *c = s_center_hazard(id);
    cr_assert_eq(s_entries(e), base + n_edge, "while cut the edge has only its own events");
    cr_assert_eq(s_entries(c), base + n_center, "while cut the center has only its own events");
    cr_assert_eq(s_count_origin(e, "test-county"), 0, "no center event reached the edge");
    cr_assert_eq(s_count_origin(c, S_EDGE_ID) + n_edge, s_count_origin(e, S_EDGE_ID),
                 "no new edge event reached the center");
    json_decref(e);
    json_decref(c);
}

/* Restores the link and waits until both sides have @p n entries; returns
 * the edge's view (after asserting the center's equals it). */
static json_t *s_rejoin(const char *id, size_t n, const char *round)
{
    aw_fault_proxy_set_mode(s_proxy, AW_FP_PASS);
    json_t *e = NULL, *c = NULL;
    int64_t t0 = tc_mono();
    bool ok = s_converge(id, n, &e, &c, S_WAIT_MS);
    cr_assert(ok, "%s: both sides reach %zu entries (edge %zu, center %zu); logs %s, %s", round, n,
              s_entries(e), s_entries(c), s_e.log, s_c.log);
    cr_log_info("%s: converged to %zu entries %" PRId64 " ms after the link came back", round, n,
                tc_mono() - t0);
    s_assert_same(e, c, "after reconnect, the edge's (CoAP) and the center's (HTTP) hazard");
    json_decref(c);
    return e;
}

/* ------------------------------------------------------------ the test */

Test(ledger_convergence, concurrent_work_on_both_sides_of_a_cut_converges)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tc_path cert;
    s_start_center(&cert);
    cr_assert_eq(aw_fault_proxy_new(S_IP, S_PROXY_PORT, S_IP, S_ZMQ_PORT, &s_proxy), AW_OK);
    s_start_edge(&cert);

    /* ---- round 1: link dropped; two assigns, a note and a notify */
    char id1[AW_HAZARD_ID_LEN], id2[AW_HAZARD_ID_LEN];
    size_t base1 = s_seed("corroded flange", NULL, 0, id1, sizeof id1);
    aw_fault_proxy_set_mode(s_proxy, AW_FP_DROP);
    s_side edge1 = {.id = id1,
                    .bodies = {"{\"op\":\"assign\",\"unit\":\"maintenance\",\"person\":\"zhang\","
                               "\"deadline\":\"2099-01-01T00:00:00Z\",\"by\":\"field-li\"}",
                               "{\"op\":\"note\",\"note\":\"flange photographed\","
                               "\"by\":\"field-li\"}"},
                    .n = 2};
    const char *center1[] = {"{\"op\":\"assign\",\"unit\":\"contractor\",\"person\":\"zhao\","
                             "\"deadline\":\"2099-06-01T00:00:00+08:00\"}",
                             "{\"op\":\"notify\",\"audience\":\"township\","
                             "\"text\":\"flange to be replaced\"}"};
    s_concurrently(&edge1, center1, 2);
    s_check_apart(id1, base1, 2, 2);
    json_t *h1 = s_rejoin(id1, base1 + 4, "round 1 (drop)");
    cr_assert_eq(s_check_order(h1), 0, "round 1: every event is valid where it folds");
    cr_assert_str_eq(s_str(h1, "status"), "assigned");
    /* the assignment is the one of the assign that folds last */
    const json_t *last_assign = s_nth_op(h1, "assign", 1);
    cr_assert_not_null(last_assign);
    const json_t *asg = json_object_get(h1, "assignment");
    cr_assert_str_eq(s_str(asg, "unit"), s_str(last_assign, "unit"));
    cr_assert_str_eq(s_str(asg, "person"), s_str(last_assign, "person"));
    cr_assert_eq(s_count_origin(h1, S_EDGE_ID), base1 + 2);
    cr_assert_eq(s_count_origin(h1, "test-county"), 2);
    const char *winner1 = s_str(last_assign, "origin");
    for (size_t i = 0; i < s_entries(h1); i++) {
        const json_t *e = json_array_get(json_object_get(h1, "ledger"), i);
        if (strcmp(s_str(e, "origin"), "test-county") == 0)
            cr_assert_str_eq(s_str(e, "by"), S_OP_NAME, "a center event names its operator");
    }

    /* ---- round 2: brought to rectified at the edge; link black-holed;
     * verify fail at the edge, verify ok at the center */
    const char *before2[] = {("{\"op\":\"assign\",\"unit\":\"maintenance\",\"person\":\"zhang\","
                              "\"deadline\":\"2099-01-01T00:00:00Z\"}"),
                             "{\"op\":\"start\"}",
                             "{\"op\":\"rectified\",\"evidence\":\"new gasket, photo 17\"}"};
    size_t base2 = s_seed("leaking gasket", before2, 3, id2, sizeof id2);
    aw_fault_proxy_set_mode(s_proxy, AW_FP_BLACKHOLE);
    s_side edge2 = {.id = id2,
                    .bodies = {"{\"op\":\"verify\",\"ok\":false,\"note\":\"still weeping\","
                               "\"by\":\"field-li\"}"},
                    .n = 1};
    const char *center2[] = {"{\"op\":\"verify\",\"ok\":true,\"note\":\"signed off from photos\"}"};
    s_concurrently(&edge2, center2, 1);
    s_check_apart(id2, base2, 1, 1);
    json_t *h2 = s_rejoin(id2, base2 + 2, "round 2 (black-hole)");
    cr_assert_eq(s_check_order(h2), 1, "round 2: exactly one entry rejected");
    const json_t *v0 = s_nth_op(h2, "verify", 0), *v1 = s_nth_op(h2, "verify", 1);
    cr_assert(v0 && v1 && !s_nth_op(h2, "verify", 2), "two verifies in the ledger");
    cr_assert(json_is_true(json_object_get(v0, "accepted")), "the first verify is accepted");
    cr_assert(json_is_false(json_object_get(v1, "accepted")), "the second verify is rejected");
    cr_assert_str_eq(s_str(v1, "reason"), "verify needs status rectified");
    bool closed = json_is_true(json_object_get(v0, "ok"));
    cr_assert_str_eq(s_str(v0, "origin"), closed ? "test-county" : S_EDGE_ID);
    cr_assert_str_eq(s_str(h2, "status"), closed ? "closed" : "rectifying");
    cr_assert_eq(json_is_null(json_object_get(h2, "closed_at")), !closed);
    cr_assert_eq(json_is_null(json_object_get(h2, "evidence")), !closed,
                 "a failed verify clears the evidence; a closed hazard keeps it");

    /* ---- round 3: assigned on both sides; link dropped; the edge starts
     * while the center starts, takes the rectification and signs it off */
    char id3[AW_HAZARD_ID_LEN];
    size_t base3 = s_seed("blocked drain", before2, 1, id3, sizeof id3);
    aw_fault_proxy_set_mode(s_proxy, AW_FP_DROP);
    s_side edge3 = {.id = id3, .bodies = {"{\"op\":\"start\",\"by\":\"field-li\"}"}, .n = 1};
    const char *center3[] = {"{\"op\":\"start\"}",
                             "{\"op\":\"rectified\",\"evidence\":\"drain cleared, photo 3\"}",
                             "{\"op\":\"verify\",\"ok\":true}"};
    s_concurrently(&edge3, center3, 3);
    s_check_apart(id3, base3, 1, 3);
    json_t *h3 = s_rejoin(id3, base3 + 4, "round 3 (drop)");
    cr_assert_eq(s_check_order(h3), 1, "round 3: exactly one entry rejected");
    const json_t *s0 = s_nth_op(h3, "start", 0), *s1 = s_nth_op(h3, "start", 1);
    cr_assert(s0 && s1 && !s_nth_op(h3, "start", 2), "two starts in the ledger");
    cr_assert(json_is_true(json_object_get(s0, "accepted")), "the first start is accepted");
    cr_assert(json_is_false(json_object_get(s1, "accepted")), "the second start is rejected");
    cr_assert_str_eq(s_str(s1, "reason"), "start needs status assigned");
    cr_assert_str_eq(s_str(h3, "status"), "closed", "the center's sign-off stands either way");

    /* ---- third and fourth views: the stores, folded here */
    int64_t now = s_wall_ms();
    int st = th_edge_stop(&s_e, 20000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM stops the edge cleanly (%d)", st);
    aw_fault_proxy_destroy(&s_proxy);
    st = tc_stop(&s_c, 20000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM stops the center cleanly (%d)", st);
    const char *ids[] = {id1, id2, id3};
    json_t *seen[] = {h1, h2, h3};
    for (size_t i = 0; i < 3; i++) {
        json_t *fc = s_fold_store(s_c.data, true, ids[i], now);
        json_t *fe = s_fold_store(s_e.data, false, ids[i], now);
        s_assert_same(seen[i], fc, "the daemons' hazard and the center's store folded here");
        s_assert_same(seen[i], fe, "the daemons' hazard and the edge's store folded here");
        json_decref(fc);
        json_decref(fe);
    }
    cr_assert_not(th_edge_log_has(&s_e, "Sanitizer"), "the edge ran clean (%s)", s_e.log);
    cr_assert_not(th_edge_log_has(&s_e, "runtime error:"), "the edge ran clean under UBSan");
    char *clog = s_slurp(s_c.log);
    cr_assert(!strstr(clog, "Sanitizer") && !strstr(clog, "runtime error:"),
              "the center ran clean under ASan/UBSan (%s)", s_c.log);
    free(clog);

    cr_log_info("round 1: %zu entries on both sides, all accepted; status %s, assignment %s/%s "
                "(the %s assign folds last)",
                s_entries(h1), s_str(h1, "status"), s_str(asg, "unit"), s_str(asg, "person"),
                winner1);
    cr_log_info("round 2: %zu entries on both sides; verify by %s accepted (ok=%s), verify by %s "
                "rejected (\"%s\"); status %s",
                s_entries(h2), s_str(v0, "origin"), closed ? "true" : "false", s_str(v1, "origin"),
                s_str(v1, "reason"), s_str(h2, "status"));
    cr_log_info("round 2: verifies folded as (%s, %s) then (%s, %s)", s_str(v0, "hlc"),
                s_str(v0, "origin"), s_str(v1, "hlc"), s_str(v1, "origin"));
    cr_log_info("round 3: %zu entries on both sides; start by %s accepted, start by %s rejected "
                "(\"%s\"); status %s",
                s_entries(h3), s_str(s0, "origin"), s_str(s1, "origin"), s_str(s1, "reason"),
                s_str(h3, "status"));
    json_decref(h1);
    json_decref(h2);
    json_decref(h3);
    curl_global_cleanup();
}
