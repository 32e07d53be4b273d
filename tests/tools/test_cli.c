/* Tests of the anwang CLI: the built binary run in temp dirs (keygen,
 * center status on a store the test prepares with the center core, edge
 * status against a fake edge and unreachable ones), golden files for the
 * human format, and units of the output helpers (cli_out.c). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <czmq.h>
#include <dirent.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "center_fixture.h"
#include "cli_out.h"
#include "cli_run.h"
#include "fake_edge.h"
#include "log.h"

/* ------------------------------------------------------------ running the CLI */

/* anwang runs without colours unless a test asks for them (--color=always). */
ReportHook(PRE_ALL)(struct criterion_test_set *tests)
{
    setenv("NO_COLOR", "1", 1);
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void s_tmpdir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/aw_test_cli.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void s_rmdir(const char *dir)
{
    nftw(dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* True when [s, e) is a number with a unit: "15s", "3h". */
static bool s_span_token(const char *s, const char *e)
{
    if (e - s < 2 || strchr("dhms", e[-1]) == NULL)
        return false;
    for (const char *p = s; p < e - 1; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* Ages ("1m 15s ago", "3h 0m ago", "just now") become "<age>": they depend on
 * when the test runs. Returns a malloc'd copy. */
static char *s_normalize(const char *text)
{
    char *out = strdup(text), *p;
    while ((p = strstr(out, " ago")) != NULL || (p = strstr(out, "just now")) != NULL) {
        bool ago = strncmp(p, " ago", 4) == 0;
        char *end = p + (ago ? 4 : 8), *start = p;
        for (int i = 0; ago && i < 2; i++) {
            char *t = start;
            while (t > out && t[-1] != ' ')
                t--;
            if (!s_span_token(t, start))
                break;
            start = t > out ? t - 1 : t; /* keep the separating space out of the token */
        }
        if (ago && *start == ' ')
            start++;
        char *repl = NULL;
        cr_assert_neq(asprintf(&repl, "%.*s<age>%s", (int)(start - out), out, end), -1);
        free(out);
        out = repl;
    }
    return out;
}

/* Compares @p text, its ages normalized, with the golden file @p name (cli_golden()). */
static void s_golden(const char *name, const char *text)
{
    char *norm = s_normalize(text);
    cli_golden(name, norm);
    free(norm);
}

/* ------------------------------------------------------------ help and dispatch */

Test(cli, help_lists_commands_by_group)
{
    run r = RUN("--help");
    cr_assert_eq(r.rc, 0);
    cr_assert(strstr(r.out, "Keys and certificates\n  keygen"));
    cr_assert(strstr(r.out, "center status"));
    cr_assert(strstr(r.out, "edge status"));
    cr_assert(strstr(r.out, "Examples"));
    cli_run_free(&r);

    r = RUN("help", "center", "status");
    cr_assert_eq(r.rc, 0);
    cr_assert(strstr(r.out, "Usage: anwang center status"));
    cli_run_free(&r);
    r = RUN("keygen", "--help");
    cr_assert_eq(r.rc, 0);
    cr_assert(strstr(r.out, "Usage: anwang keygen NAME"));
    cli_run_free(&r);
}

Test(cli, unknown_commands_suggest_the_nearest)
{
    run r = RUN("keygn", "x");
    cr_assert_eq(r.rc, EX_USAGE);
    cr_assert(strstr(r.err, "Did you mean 'anwang keygen'?"), "%s", r.err);
    cli_run_free(&r);
    r = RUN("center", "stats");
    cr_assert_eq(r.rc, EX_USAGE);
    cr_assert(strstr(r.err, "Did you mean 'anwang center status'?"), "%s", r.err);
    cli_run_free(&r);
    r = RUN("centre", "status");
    cr_assert_eq(r.rc, EX_USAGE);
    cr_assert(strstr(r.err, "Did you mean 'anwang center status'?"), "%s", r.err);
    cli_run_free(&r);
    r = RUN("frobnicate");
    cr_assert_eq(r.rc, EX_USAGE);
    cr_assert_null(strstr(r.err, "Did you mean"), "%s", r.err);
    cli_run_free(&r);
    r = RUN("center", "status", "--bogus");
    cr_assert_eq(r.rc, EX_USAGE);
    cr_assert(strstr(r.err, "unknown option --bogus"), "%s", r.err);
    cli_run_free(&r);
}

/* ------------------------------------------------------------ keygen */

static void s_path(char *buf, size_t len, const char *dir, const char *file)
{
    snprintf(buf, len, "%s/%s", dir, file);
}

Test(cli, keygen_writes_loadable_certs)
{
    char dir[64], pub[128], sec[128];
    s_tmpdir(dir, sizeof dir);
    run r = RUN("keygen", "rongjiawan-1", "--zone", "yueyang/rongjiawan", "--out", dir);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    s_path(pub, sizeof pub, dir, "rongjiawan-1.cert");
    s_path(sec, sizeof sec, dir, "rongjiawan-1.cert_secret");
    cr_assert(strstr(r.out, pub) && strstr(r.out, sec), "%s", r.out);
    cr_assert(strstr(r.out, "allow-list"), "says what to do next: %s", r.out);

    zcert_t *both = zcert_load(sec);
    zcert_t *pub_only = zcert_load(pub);
    cr_assert(both && pub_only);
    cr_assert_str_eq(zcert_meta(both, "edge-id"), "rongjiawan-1");
    cr_assert_str_eq(zcert_meta(both, "zone"), "yueyang/rongjiawan");
    cr_assert_str_eq(zcert_meta(both, "role"), "edge");
    cr_assert_str_eq(zcert_meta(pub_only, "edge-id"), "rongjiawan-1");
    cr_assert_str_eq(zcert_public_txt(both), zcert_public_txt(pub_only));
    cr_assert_str_neq(zcert_secret_txt(both), "0000000000000000000000000000000000000000");
    zconfig_t *pubfile = zconfig_load(pub); /* zcert_load(pub) would read pub_secret too */
    cr_assert_not_null(pubfile);
    cr_assert_null(zconfig_get(pubfile, "/curve/secret-key", NULL), "no secret in the public file");
    cr_assert_str_eq(zconfig_get(pubfile, "/metadata/edge-id", ""), "rongjiawan-1");
    zconfig_destroy(&pubfile);
    cr_assert(strstr(r.out, zcert_public_txt(both)));
    zcert_destroy(&both);
    zcert_destroy(&pub_only);

    struct stat st;
    cr_assert_eq(stat(sec, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(stat(pub, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0644);
    DIR *d = opendir(dir);
    int files = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        files += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    cr_assert_eq(files, 2, "no temp files left behind");
    cli_run_free(&r);
    s_rmdir(dir);
}

Test(cli, keygen_refuses_to_overwrite_unless_forced)
{
    char dir[64], sec[128];
    s_tmpdir(dir, sizeof dir);
    s_path(sec, sizeof sec, dir, "e1.cert_secret");
    run r = RUN("keygen", "e1", "--out", dir);
    cr_assert_eq(r.rc, 0);
    cli_run_free(&r);
    zcert_t *c1 = zcert_load(sec);

    r = RUN("keygen", "e1", "--out", dir);
    cr_assert_eq(r.rc, EX_CANTCREAT);
    cr_assert(strstr(r.err, "already exists") && strstr(r.err, "--force"), "%s", r.err);
    cli_run_free(&r);
    zcert_t *c2 = zcert_load(sec);
    cr_assert_str_eq(zcert_public_txt(c1), zcert_public_txt(c2), "unchanged");

    r = RUN("keygen", "e1", "--out", dir, "--force");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cli_run_free(&r);
    zcert_t *c3 = zcert_load(sec);
    cr_assert_str_neq(zcert_public_txt(c1), zcert_public_txt(c3), "replaced");
    struct stat st;
    cr_assert_eq(stat(sec, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    zcert_destroy(&c1);
    zcert_destroy(&c2);
    zcert_destroy(&c3);

    r = RUN("keygen", "e2", "--out", "/nonexistent/keys");
    cr_assert_eq(r.rc, EX_CANTCREAT);
    cr_assert(strstr(r.err, "mkdir -p"), "%s", r.err);
    cli_run_free(&r);
    s_rmdir(dir);
}

Test(cli, keygen_rejects_bad_names_and_zones)
{
    char dir[64];
    s_tmpdir(dir, sizeof dir);
    const char *names[] = {"Rongjiawan",
                           "_e1",
                           "",
                           "a/b",
                           "e 1",
                           "e1\xe6\x96\xb0",
                           "a123456789012345678901234567890123456789012345678901234567890123x"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        run r = RUN("keygen", names[i], "--out", dir);
        cr_assert_eq(r.rc, EX_USAGE, "name '%s'", names[i]);
        cr_assert(strstr(r.err, "NAME") && strstr(r.err, "anwang help keygen"), "%s", r.err);
        cli_run_free(&r);
    }
    const char *zones[] = {"yueyang",    "Yueyang/x",  "yueyang//x",
                           "yueyang/x/", "/yueyang/x", "yueyang/x_y"};
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        run r = RUN("keygen", "e1", "--zone", zones[i], "--out", dir);
        cr_assert_eq(r.rc, EX_USAGE, "zone '%s'", zones[i]);
        cr_assert(strstr(r.err, "--zone") && strstr(r.err, "yueyang/rongjiawan"), "%s", r.err);
        cli_run_free(&r);
    }
    run r = RUN("keygen", "--out", dir);
    cr_assert_eq(r.rc, EX_USAGE);
    cr_assert(strstr(r.err, "NAME is missing"));
    cli_run_free(&r);
    DIR *d = opendir(dir);
    int files = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        files += e->d_name[0] != '.';
    closedir(d);
    cr_assert_eq(files, 0, "nothing written");
    s_rmdir(dir);
}

Test(cli, keygen_json_and_center_role)
{
    char dir[64];
    s_tmpdir(dir, sizeof dir);
    run r = RUN("keygen", "center", "--center", "--out", dir, "--json");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    json_t *j = json_loads(r.out, 0, NULL);
    cr_assert(json_is_object(j), "%s", r.out);
    cr_assert_str_eq(json_string_value(json_object_get(j, "name")), "center");
    cr_assert_str_eq(json_string_value(json_object_get(j, "role")), "center");
    cr_assert(json_is_null(json_object_get(j, "zone")));
    cr_assert_eq(strlen(json_string_value(json_object_get(j, "public_key"))), 40);
    const char *sec = json_string_value(json_object_get(json_object_get(j, "files"), "secret"));
    zcert_t *c = zcert_load(sec);
    cr_assert_not_null(c);
    cr_assert_str_eq(zcert_meta(c, "role"), "center");
    cr_assert_str_eq(zcert_public_txt(c), json_string_value(json_object_get(j, "public_key")));
    zcert_destroy(&c);
    json_decref(j);
    cli_run_free(&r);
    r = RUN("keygen", "center", "--center", "--zone", "yueyang/x", "--out", dir);
    cr_assert_eq(r.rc, EX_USAGE);
    cli_run_free(&r);
    s_rmdir(dir);
}

/* ------------------------------------------------------------ center status */

#define EPOCH1 UINT64_C(0x5f2a9c01e4b7d3a8)

static fx s_fx;
static fx_out s_out;

/* Three edges: e1 up with a bulk backlog, e2 down with a skewed clock, e3
 * recorded as connected but silent for 2 h (stale). The store stays open
 * while the CLI reads it, as the center's would. */
static void s_center_setup(void)
{
    aw_log_set_level(AW_LOG_ERROR); /* the session's lines are not what is tested here */
    fx_open(&s_fx);
    int64_t now = aw_cli_now_ms();
    aw_center_session_t *s1 = fx_session(&s_fx, "e1", "yueyang/rongjiawan", &s_out);
    aw_center_session_t *s2 = fx_session(&s_fx, "e2", "yueyang/gangkou", &s_out);
    aw_center_session_t *s3 = fx_session(&s_fx, "e3", NULL, &s_out);
    cr_assert_eq(
        fx_hello(s1, "e1", EPOCH1, 3, 10, "yueyang/rongjiawan", now - 75000 + 120, now - 75000),
        AW_OK);
    Anwang__Batch b;
    fx_batch_readings(&b, EPOCH1, AW_LANE_BULK, 1, 4);
    cr_assert_eq(fx_feed_batch(s1, &b, now - 75000), AW_OK);
    fx_batch_free(&b);
    fx_batch_readings(&b, EPOCH1, AW_LANE_URGENT, 1, 3);
    cr_assert_eq(fx_feed_batch(s1, &b, now - 75000), AW_OK);
    fx_batch_free(&b);
    int64_t t2 = now - 3 * 3600 * 1000;
    cr_assert_eq(fx_hello(s2, "e2", 7, 0, 0, "yueyang/gangkou", t2 + 360000, t2), AW_OK);
    cr_assert_eq(aw_center_session_close(s2, t2), AW_OK);
    int64_t t3 = now - 2 * 3600 * 1000;
    cr_assert_eq(fx_hello(s3, "e3", 9, 1, 1, NULL, t3 - 1500, t3), AW_OK);
    aw_center_session_destroy(&s1);
    aw_center_session_destroy(&s2);
    aw_center_session_destroy(&s3);
    fx_out_clear(&s_out);
}

static void s_center_teardown(void)
{
    fx_close(&s_fx);
}

TestSuite(center_status, .init = s_center_setup, .fini = s_center_teardown);

Test(center_status, human_table_matches_golden)
{
    run r = RUN("center", "status", "--data", s_fx.dir);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_null(strchr(r.out, '\033'), "no colours when not a TTY");
    s_golden("center_status.txt", r.out);
    cli_run_free(&r);
}

Test(center_status, colours_when_forced)
{
    run r = RUN("--color=always", "center", "status", "--data", s_fx.dir);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert(strstr(r.out, "\033[32mup\033[0m"), "up is green");
    cr_assert(strstr(r.out, "\033[31mdown\033[0m"), "down is red");
    cli_run_free(&r);
}

static void s_keys_are(json_t *o, const char *const *keys, size_t n)
{
    cr_assert_eq(json_object_size(o), n);
    for (size_t i = 0; i < n; i++)
        cr_assert_not_null(json_object_get(o, keys[i]), "key %s", keys[i]);
}

Test(center_status, json_has_stable_keys)
{
    static const char *const keys[] = {
        "edge",      "zone",         "state",           "connected", "epoch",
        "applied",   "head",         "backlog",         "records",   "skew_ms",
        "skew_flag", "last_contact", "last_contact_ms", "poison",    "down_pending"};
    run r = RUN("center", "status", "--data", s_fx.dir, "--json");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    json_error_t err;
    json_t *a = json_loads(r.out, 0, &err);
    cr_assert(json_is_array(a), "%s: %s", err.text, r.out);
    cr_assert_eq(json_array_size(a), 3);
    for (size_t i = 0; i < 3; i++)
        s_keys_are(json_array_get(a, i), keys, sizeof keys / sizeof keys[0]);
    json_t *e1 = json_array_get(a, 0), *e2 = json_array_get(a, 1), *e3 = json_array_get(a, 2);
    cr_assert_str_eq(json_string_value(json_object_get(e1, "edge")), "e1");
    cr_assert_str_eq(json_string_value(json_object_get(e1, "state")), "up");
    cr_assert_str_eq(json_string_value(json_object_get(e1, "epoch")), "5f2a9c01e4b7d3a8");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(e1, "applied"), "urgent")), 3);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(e1, "applied"), "bulk")), 4);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(e1, "backlog"), "bulk")), 6);
    cr_assert_eq(json_integer_value(json_object_get(e1, "skew_ms")), 120);
    cr_assert(json_is_false(json_object_get(e1, "skew_flag")));
    cr_assert_str_eq(json_string_value(json_object_get(e2, "state")), "down");
    cr_assert(json_is_true(json_object_get(e2, "skew_flag")));
    cr_assert_str_eq(json_string_value(json_object_get(e3, "state")), "stale");
    cr_assert(json_is_null(json_object_get(e3, "zone")));
    json_decref(a);
    cli_run_free(&r);
}

Test(center_status, named_edges_only)
{
    run r = RUN("center", "status", "e2", "--data", s_fx.dir, "--json");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    json_t *a = json_loads(r.out, 0, NULL);
    cr_assert_eq(json_array_size(a), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "edge")), "e2");
    json_decref(a);
    cli_run_free(&r);
    r = RUN("center", "status", "nobody", "--data", s_fx.dir);
    cr_assert_eq(r.rc, EX_DATAERR);
    cr_assert(strstr(r.err, "'nobody' is not known"), "%s", r.err);
    cli_run_free(&r);
}

Test(cli, center_status_without_a_store)
{
    char dir[64], mdb[128];
    s_tmpdir(dir, sizeof dir);
    run r = RUN("center", "status", "--data", "/nonexistent/center");
    cr_assert_eq(r.rc, EX_NOINPUT);
    cr_assert(strstr(r.err, "--data"), "%s", r.err);
    cli_run_free(&r);
    r = RUN("center", "status", "--data", dir);
    cr_assert_eq(r.rc, EX_NOINPUT);
    cr_assert(strstr(r.err, "not a center data directory"), "%s", r.err);
    cli_run_free(&r);
    s_path(mdb, sizeof mdb, dir, "data.mdb");
    cr_assert_neq(access(mdb, F_OK), 0, "nothing created");
    s_rmdir(dir);
}

/* ------------------------------------------------------------ edge status */

static const char s_status_json[] =
    "{\"edge\": \"rongjiawan-1\", \"zone\": \"yueyang/rongjiawan\", \"version\": \"0.1.0\","
    " \"epoch\": \"5f2a9c01e4b7d3a8\", \"uptime_s\": 3725,"
    " \"uplink\": {\"state\": \"up\", \"center\": \"tcp://127.0.0.1:7700\", \"last_ack\": null},"
    " \"backlog\": {\"urgent\": 0, \"bulk\": 1234},"
    " \"lanes\": {\"urgent\": {\"head\": 5, \"acked\": 5, \"first\": 1, \"count\": 5,"
    " \"bytes\": 700}, \"bulk\": {\"head\": 1334, \"acked\": 100, \"first\": 1, \"count\": 1334,"
    " \"bytes\": 120000}},"
    " \"storage\": {\"used_bytes\": 1048576, \"map_bytes\": 67108864, \"log_bytes\": 120700,"
    " \"max_bytes\": 536870912, \"durability\": \"fsync\"},"
    " \"registry\": {\"loaded\": true, \"version\": 7, \"source\": \"store\", \"note\": null},"
    " \"devices\": {\"registered\": 12, \"tracked\": 10, \"online\": 9, \"stale\": 1},"
    " \"alarms\": {\"active\": 2, \"blue\": 0, \"yellow\": 1, \"orange\": 1, \"red\": 0},"
    " \"clock\": {\"now\": \"2026-03-01T08:30:00.000Z\", \"build_date\": \"2026-01-01T00:00:00Z\","
    " \"before_build_date\": false, \"skew_ms\": 400000, \"skew_flag\": true},"
    " \"future\": {\"widgets\": 3, \"mode\": \"eco\"}, \"tags\": [\"a\", \"b\"]}";

Test(cli, edge_status_pretty_prints_and_passes_json_through)
{
    uint16_t port;
    fake_edge_t *e = fake_edge_start(s_status_json, 205, &port);
    cr_assert_not_null(e);
    char uri[64];
    snprintf(uri, sizeof uri, "coap://127.0.0.1:%u", port);
    run r = RUN("edge", "status", uri);
    cr_assert_eq(r.rc, 0, "%s", r.err);
    s_golden("edge_status.txt", r.out);
    cli_run_free(&r);

    char line[96];
    snprintf(line, sizeof line, "yueyang/rongjiawan %s", uri); /* a DIR/env line */
    r = RUN("edge", "status", line, "--json");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    json_t *got = json_loads(r.out, 0, NULL), *want = json_loads(s_status_json, 0, NULL);
    cr_assert(got && json_equal(got, want), "%s", r.out);
    json_decref(got);
    json_decref(want);
    cli_run_free(&r);
    fake_edge_stop(&e);
}

Test(cli, edge_status_error_answers)
{
    uint16_t port;
    char uri[64];
    fake_edge_t *e = fake_edge_start("not json", 205, &port);
    snprintf(uri, sizeof uri, "coap://127.0.0.1:%u", port);
    run r = RUN("edge", "status", uri);
    cr_assert_eq(r.rc, EX_DATAERR, "%s", r.err);
    cli_run_free(&r);
    fake_edge_stop(&e);
    e = fake_edge_start("down for maintenance", 503, &port);
    snprintf(uri, sizeof uri, "coap://127.0.0.1:%u", port);
    r = RUN("edge", "status", uri);
    cr_assert_eq(r.rc, EX_UNAVAILABLE);
    cr_assert(strstr(r.err, "5.03") && strstr(r.err, "down for maintenance"), "%s", r.err);
    cli_run_free(&r);
    fake_edge_stop(&e);
}

/* A UDP port with nothing bound (the kernel answers ICMP port unreachable). */
static uint16_t s_closed_port(int *keep_fd, bool keep)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    if (keep)
        *keep_fd = fd;
    else
        close(fd);
    return ntohs(a.sin_port);
}

Test(cli, edge_status_unreachable_says_what_to_check)
{
    int fd = -1;
    char uri[64];
    snprintf(uri, sizeof uri, "coap://127.0.0.1:%u", s_closed_port(&fd, false));
    run r = RUN("edge", "status", uri, "--timeout", "5");
    cr_assert_eq(r.rc, EX_UNAVAILABLE);
    cr_assert(strstr(r.err, "anwang-edge running") && strstr(r.err, "firewall"), "%s", r.err);
    cli_run_free(&r);

    /* A socket that reads nothing: no answer, no ICMP; the timeout ends it. */
    snprintf(uri, sizeof uri, "coap://127.0.0.1:%u", s_closed_port(&fd, true));
    r = RUN("edge", "status", uri, "--timeout", "0.5");
    cr_assert_eq(r.rc, EX_UNAVAILABLE);
    cr_assert(strstr(r.err, "no answer within 0.5 s"), "%s", r.err);
    cli_run_free(&r);
    close(fd);

    r = RUN("edge", "status", "http://127.0.0.1");
    cr_assert_eq(r.rc, EX_USAGE);
    cli_run_free(&r);
    r = RUN("edge", "status", "coaps://127.0.0.1");
    cr_assert_eq(r.rc, EX_USAGE);
    cr_assert(strstr(r.err, "--psk-identity"), "%s", r.err);
    cli_run_free(&r);
}

/* ------------------------------------------------------------ cli_out units */

Test(cli_out, human_forms)
{
    char b[64];
    aw_cli_fmt_age(500, b, sizeof b);
    cr_assert_str_eq(b, "just now");
    aw_cli_fmt_age(75000, b, sizeof b);
    cr_assert_str_eq(b, "1m 15s ago");
    aw_cli_fmt_age(3 * 3600 * 1000 + 120000, b, sizeof b);
    cr_assert_str_eq(b, "3h 2m ago");
    aw_cli_fmt_age(-5000, b, sizeof b);
    cr_assert_str_eq(b, "in 5s");
    aw_cli_fmt_offset(120, b, sizeof b);
    cr_assert_str_eq(b, "+120ms");
    aw_cli_fmt_offset(-1250, b, sizeof b);
    cr_assert_str_eq(b, "-1.2s");
    aw_cli_fmt_offset(360000, b, sizeof b);
    cr_assert_str_eq(b, "+6m 0s");
    aw_cli_fmt_offset(INT64_MIN, b, sizeof b);
    cr_assert_eq(b[0], '-');
    aw_cli_fmt_bytes(512, b, sizeof b);
    cr_assert_str_eq(b, "512 B");
    aw_cli_fmt_bytes(64 << 20, b, sizeof b);
    cr_assert_str_eq(b, "64.0 MiB");
    aw_cli_fmt_count(1234567, b, sizeof b);
    cr_assert_str_eq(b, "1,234,567");
    aw_cli_fmt_count(UINT64_MAX, b, sizeof b);
    cr_assert_str_eq(b, "18,446,744,073,709,551,615");
    aw_cli_fmt_time(FX_T0, b, sizeof b);
    cr_assert_str_eq(b, "2025-03-01T08:30:00Z");
    cr_assert_eq(aw_cli_width("荣家湾镇"), 8);
    cr_assert_eq(aw_cli_width("abc"), 3);
    cr_assert_eq(aw_cli_width("\xff\xfe"), 2, "bad UTF-8 counts one per byte");
}

Test(cli_out, table_aligns_by_display_width)
{
    aw_cli_out_init(AW_CLI_COLOR_NEVER);
    static const char *const h[] = {"ZONE", "N"};
    aw_cli_table_t *t = NULL;
    cr_assert_eq(aw_cli_table_new(h, 2, &t), 0);
    aw_cli_table_right(t, 1);
    cr_assert_eq(aw_cli_table_add(t, (const char *const[]){"荣家湾镇", "7"}, NULL), 0);
    cr_assert_eq(aw_cli_table_add(t, (const char *const[]){"x", "1,234"}, NULL), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    aw_cli_table_print(t, f);
    fclose(f);
    cr_assert_str_eq(buf, "ZONE          N\n"
                          "荣家湾镇      7\n"
                          "x         1,234\n");
    free(buf);
    aw_cli_table_destroy(&t);
    aw_cli_table_destroy(&t);
}
