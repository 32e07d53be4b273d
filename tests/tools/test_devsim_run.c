/* Tests for tools/devsim as a whole: the simulator runs on loopback 127.0.7.x
 * against a tiny CoAP server (sensors) or a libcoap client (sirens). */
#include <arpa/inet.h>
#include <coap3/coap.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "devsim.h"

#define MINI_JSON AW_SOURCE_DIR "/deploy/registry/mini.json"

/* ------------------------------------------------------------ a tiny edge */

static int s_code; /* what the tiny edge answers, e.g. 204 */
static FILE *s_stored;

/* Writes one "<device>/<metric> <time_ms> <value>" line per record of a JSON pack. */
static void s_store(const uint8_t *data, size_t len)
{
    json_t *pack = json_loadb((const char *)data, len, 0, NULL), *r;
    size_t i;
    const char *bn = "";
    json_array_foreach(pack, i, r)
    {
        char v[AW_SIM_NUMBER_MAX];
        if (json_object_get(r, "bn"))
            bn = json_string_value(json_object_get(r, "bn"));
        aw_sim_format_number(json_number_value(json_object_get(r, "v")), v, sizeof v);
        fprintf(s_stored, "%s%s %lld %s\n", bn, json_string_value(json_object_get(r, "n")),
                llround(json_number_value(json_object_get(r, "t")) * 1000), v);
    }
    fflush(s_stored);
    json_decref(pack);
}

static void s_on_readings(coap_resource_t *res, coap_session_t *cs, const coap_pdu_t *req,
                          const coap_string_t *q, coap_pdu_t *resp)
{
    size_t len = 0;
    const uint8_t *data = NULL;
    coap_get_data(req, &len, &data);
    if (s_code == 204)
        s_store(data, len); /* stored before it is acknowledged, as the edge must */
    coap_pdu_set_code(resp, COAP_RESPONSE_CODE(s_code));
}

/* Forks a server on 127.0.7.x:5683 that answers @p code to POST /readings and
 * records what it acknowledged in @p stored. Returns once it listens. */
static pid_t s_edge(const char *ip, int code, const char *stored)
{
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid > 0) {
        char c;
        close(ready[1]);
        cr_assert_eq(read(ready[0], &c, 1), 1, "tiny edge did not start");
        close(ready[0]);
        return pid;
    }
    s_code = code;
    s_stored = fopen(stored, "w");
    coap_startup();
    coap_context_t *ctx = coap_new_context(NULL);
    coap_address_t a;
    coap_address_init(&a);
    a.size = sizeof a.addr.sin;
    a.addr.sin.sin_family = AF_INET;
    a.addr.sin.sin_port = htons(5683);
    inet_pton(AF_INET, ip, &a.addr.sin.sin_addr);
    if (!s_stored || !coap_new_endpoint(ctx, &a, COAP_PROTO_UDP))
        _exit(1);
    coap_resource_t *r = coap_resource_init(coap_make_str_const("readings"), 0);
    coap_register_handler(r, COAP_REQUEST_POST, s_on_readings);
    coap_add_resource(ctx, r);
    if (write(ready[1], "r", 1) != 1)
        _exit(1);
    for (int i = 0; i < 300; i++) /* 30 s at most; the test kills it sooner */
        coap_io_process(ctx, 100);
    _exit(0);
}

static void s_stop(pid_t pid)
{
    int status;
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
}

/* Runs the simulator with @p o, its stdout (the --json summary) into @p out. */
static int s_run(const aw_sim_opts *o, const char *out)
{
    fflush(stdout);
    int saved = dup(STDOUT_FILENO), fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    int ex = aw_sim_run(o);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    return ex;
}

static void s_sensor_opts(aw_sim_opts *o, const char *uri)
{
    aw_sim_opts_init(o);
    o->registry_path = MINI_JSON;
    o->routes[o->n_routes++] = (aw_sim_route){NULL, uri};
    o->rate_mode = AW_SIM_RATE_TOTAL;
    o->rate = 200;
    o->inflight = 4;
    o->duration_ms = 2000;
    o->quiet = 1;
    o->json = 1;
    o->seed = 7;
}

static size_t s_lines(const char *path, char ***out)
{
    FILE *f = fopen(path, "r");
    char line[512];
    size_t n = 0;
    *out = NULL;
    while (f && fgets(line, sizeof line, f)) {
        *out = realloc(*out, (n + 1) * sizeof **out);
        (*out)[n++] = strdup(line);
    }
    if (f)
        fclose(f);
    return n;
}

static void s_free_lines(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ------------------------------------------------------------ sensors */

Test(devsim_run, acked_log_holds_exactly_what_the_edge_acknowledged, .timeout = 60)
{
    char stored[] = "/tmp/devsim-stored-XXXXXX", acked[] = "/tmp/devsim-acked-XXXXXX";
    close(mkstemp(stored));
    close(mkstemp(acked));
    pid_t edge = s_edge("127.0.7.21", 204, stored);
    aw_sim_opts o;
    s_sensor_opts(&o, "coap://127.0.7.21");
    o.acked_log = acked;
    cr_assert_eq(s_run(&o, "/dev/null"), EX_OK);
    s_stop(edge);

    char **a, **s;
    size_t na = s_lines(acked, &a), ns = s_lines(stored, &s);
    cr_assert_gt(na, 300, "about 400 readings in 2 s at 200/s, got %zu", na);
    cr_assert_eq(na, ns, "every request was answered before the run ended");
    qsort(a, na, sizeof *a, s_cmp);
    qsort(s, ns, sizeof *s, s_cmp);
    for (size_t i = 0; i < na; i++) {
        cr_assert_str_eq(a[i], s[i]);
        cr_assert(i == 0 || strcmp(a[i - 1], a[i]) != 0, "duplicate line %s", a[i]);
    }
    s_free_lines(a, na);
    s_free_lines(s, ns);
    unlink(stored);
    unlink(acked);
}

Test(devsim_run, failures_are_counted_by_response_code, .timeout = 60)
{
    char out[] = "/tmp/devsim-out-XXXXXX", acked[] = "/tmp/devsim-acked-XXXXXX";
    close(mkstemp(out));
    close(mkstemp(acked));
    pid_t edge = s_edge("127.0.7.22", 404, "/dev/null");
    aw_sim_opts o;
    s_sensor_opts(&o, "coap://127.0.7.22/readings");
    o.format = AW_SIM_FORMAT_CBOR;
    o.acked_log = acked;
    cr_assert_eq(s_run(&o, out), EX_OK, "answers came, so the run itself succeeded");
    s_stop(edge);

    json_t *sum = json_load_file(out, 0, NULL);
    cr_assert_not_null(sum);
    json_int_t sent = json_integer_value(json_object_get(json_object_get(sum, "requests"), "sent"));
    json_t *nf = json_object_get(json_object_get(sum, "failed"), "4.04");
    cr_assert_gt(sent, 0);
    cr_assert_eq(json_integer_value(json_object_get(nf, "requests")), sent);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(sum, "readings"), "acked")), 0);
    json_decref(sum);
    char **lines;
    cr_assert_eq(s_lines(acked, &lines), 0, "nothing acknowledged, nothing logged");
    s_free_lines(lines, 0);
    unlink(out);
    unlink(acked);
}

Test(devsim_run, no_edge_is_unavailable, .timeout = 60)
{
    aw_sim_opts o;
    s_sensor_opts(&o, "coap://127.0.7.24");
    o.duration_ms = 1000;
    o.ack_timeout_ms = 1000; /* the least libcoap takes: gives up within 1.5 + 3 s */
    o.retries = 1;
    o.drain_ms = 8000;
    cr_assert_eq(s_run(&o, "/dev/null"), EX_UNAVAILABLE);
}

/* ------------------------------------------------------------ sirens */

static int s_answer;

static coap_response_t s_on_answer(coap_session_t *cs, const coap_pdu_t *sent,
                                   const coap_pdu_t *rcvd, const coap_mid_t mid)
{
    s_answer = coap_pdu_get_code(rcvd);
    return COAP_RESPONSE_OK;
}

/* POSTs @p json to coap://127.0.7.23:5690/alert, retrying while the siren starts. */
static int s_post_alert(const char *json)
{
    coap_context_t *ctx = coap_new_context(NULL);
    coap_address_t a;
    coap_address_init(&a);
    a.size = sizeof a.addr.sin;
    a.addr.sin.sin_family = AF_INET;
    a.addr.sin.sin_port = htons(5690);
    inet_pton(AF_INET, "127.0.7.23", &a.addr.sin.sin_addr);
    coap_register_response_handler(ctx, s_on_answer);
    s_answer = 0;
    for (int attempt = 0; attempt < 10 && !s_answer; attempt++) {
        coap_session_t *cs = coap_new_client_session(ctx, NULL, &a, COAP_PROTO_UDP);
        coap_pdu_t *pdu = coap_new_pdu(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, cs);
        uint8_t cf[4], tok = (uint8_t)attempt;
        coap_add_token(pdu, 1, &tok);
        coap_add_option(pdu, COAP_OPTION_URI_PATH, 5, (const uint8_t *)"alert");
        coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(cf, sizeof cf, 50),
                        cf);
        coap_add_data(pdu, strlen(json), (const uint8_t *)json);
        coap_send(cs, pdu);
        for (int i = 0; i < 10 && !s_answer; i++)
            coap_io_process(ctx, 100);
        coap_session_release(cs);
    }
    coap_free_context(ctx);
    return s_answer;
}

Test(devsim_run, siren_logs_a_drill_as_a_drill, .timeout = 60)
{
    char log[] = "/tmp/devsim-sirens-XXXXXX";
    close(mkstemp(log));
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        aw_sim_opts o;
        aw_sim_opts_init(&o);
        o.sirens[o.n_sirens++] = "test-siren=coap://127.0.7.23:5690/alert";
        o.siren_fail[o.n_siren_fail++] = "other";
        o.sirens[o.n_sirens++] = "other=coap://127.0.7.23:5691/alert";
        o.siren_log = log;
        o.duration_ms = 4000;
        o.quiet = 1;
        _exit(aw_sim_run(&o));
    }
    coap_startup();
    int code = s_post_alert("{\"identifier\":\"drill-1\",\"sender\":\"center\",\"status\":"
                            "\"Exercise\",\"msgType\":\"Alert\",\"event\":\"chemical leak\","
                            "\"area\":[\"yueyang/rongjiawan\"]}");
    cr_assert_eq(code, COAP_RESPONSE_CODE(204));
    cr_assert_eq(s_post_alert("{\"identifier\":\"x\"}"), COAP_RESPONSE_CODE(400));
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == EX_OK);

    char **lines;
    cr_assert_eq(s_lines(log, &lines), 2);
    json_t *drill = json_loads(lines[0], 0, NULL), *bad = json_loads(lines[1], 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(drill, "device")), "test-siren");
    cr_assert_str_eq(json_string_value(json_object_get(drill, "code")), "2.04");
    cr_assert_str_eq(json_string_value(json_object_get(drill, "identifier")), "drill-1");
    cr_assert_str_eq(json_string_value(json_object_get(drill, "status")), "Exercise");
    cr_assert(json_is_true(json_object_get(drill, "drill")));
    cr_assert_str_eq(json_string_value(json_object_get(drill, "event")), "chemical leak");
    cr_assert_not_null(json_object_get(drill, "received"));
    cr_assert_str_eq(json_string_value(json_object_get(bad, "code")), "4.00");
    cr_assert_str_eq(json_string_value(json_object_get(bad, "error")), "status: missing");
    json_decref(drill);
    json_decref(bad);
    s_free_lines(lines, 2);
    unlink(log);
}
