/* anwang-center's command line, config file and allow-list folder. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "allow.h"
#include "center_config.h"
#include "log.h"
#include "test_center_harness.h"

static void s_setup(void)
{
    aw_log_init("test_center_config", AW_LOG_ERROR);
}

TestSuite(center_config, .init = s_setup, .fini = tc_reap_all, .timeout = 60);

/* Runs the program with @p args (NULL-terminated), output into @p out
 * (malloc'd, the caller frees). Returns the exit status. */
static int s_run(char **out, const char *const *args)
{
    char path[] = "/tmp/aw_tcc_out.XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        execv(TC_CENTER_BIN, (char *const *)args);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    off_t n = lseek(fd, 0, SEEK_END);
    *out = calloc(1, (size_t)n + 1);
    cr_assert_eq(pread(fd, *out, (size_t)n, 0), n);
    close(fd);
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(center_config, help_teaches_with_an_example_config)
{
    char *out;
    const char *args[] = {TC_CENTER_BIN, "--help", NULL};
    cr_assert_eq(s_run(&out, args), 0);
    cr_assert_not_null(strstr(out, "anwang keygen NAME"));
    cr_assert_not_null(strstr(out, "[zmq]\n"));
    cr_assert_not_null(strstr(out, "bind = tcp://*:7700"));
    cr_assert_not_null(strstr(out, "allow_dir = /etc/anwang/edges.d"));
    cr_assert_not_null(strstr(out, "id = yueyang"));
    free(out);
}

Test(center_config, the_example_config_is_valid)
{
    aw_center_config cfg;
    char why[512] = "";
    cr_assert_eq(aw_center_config_load(AW_DEPLOY_DIR "/center.conf.example", &cfg, why, sizeof why),
                 AW_OK, "%s", why);
    cr_assert_str_eq(cfg.id, "yueyang");
    cr_assert_str_eq(cfg.bind, "tcp://*:7700");
    cr_assert_eq(cfg.max_message, 4 << 20);
    cr_assert_eq(cfg.allow_poll_ms, 2000);
    aw_center_config_free(&cfg);
    aw_center_config_free(&cfg);
}

Test(center_config, a_bad_config_stops_start_up_naming_file_line_and_key)
{
    tc_center c;
    char *out;
    tc_init(&c, 20, 17720);
    s_write(c.conf, "[center]\nid = yueyang\n[zmq]\nbind = udp://0.0.0.0:7700\n");
    const char *args[] = {TC_CENTER_BIN, "-c", c.conf, NULL};
    cr_assert_eq(s_run(&out, args), 1);
    cr_assert_not_null(strstr(out, ":4: [zmq] bind:"), "%s", out);
    free(out);
    s_write(c.conf, "[center]\nid = yueyang\n[replication]\nmax_mesage = 1M\n");
    cr_assert_eq(s_run(&out, args), 1);
    cr_assert_not_null(strstr(out, ":4: [replication] max_mesage: unknown key"), "%s", out);
    free(out);
    s_write(c.conf, "[center]\nname = x\n");
    cr_assert_eq(s_run(&out, args), 1);
    cr_assert_not_null(strstr(out, "[center] id"), "%s", out);
    free(out);
    tc_cleanup(&c);
}

Test(center_config, check_config_looks_at_the_certificate_and_the_allow_list)
{
    tc_center c;
    char *out;
    tc_init(&c, 21, 17721);
    tc_edge_cert(&c, "e1", "e1", "yueyang/e1", true);
    const char *args[] = {TC_CENTER_BIN, "-c", c.conf, "--check-config", NULL};
    cr_assert_eq(s_run(&out, args), 0, "%s", out);
    cr_assert_not_null(strstr(out, "allow-list: 1 edge certificate(s)"), "%s", out);
    free(out);
    char secret[160];
    snprintf(secret, sizeof secret, "%s_secret", c.cert);
    cr_assert_eq(unlink(secret), 0);
    cr_assert_eq(s_run(&out, args), 1);
    cr_assert_not_null(strstr(out, "[zmq] cert:"), "%s", out);
    free(out);
    tc_cleanup(&c);
}

Test(center_config, a_missing_allow_dir_stops_start_up)
{
    tc_center c;
    char *out;
    tc_init(&c, 22, 17722);
    cr_assert_eq(rmdir(c.allow), 0);
    const char *args[] = {TC_CENTER_BIN, "-c", c.conf, NULL};
    cr_assert_eq(s_run(&out, args), 1);
    cr_assert_not_null(strstr(out, "[zmq] allow_dir"), "%s", out);
    free(out);
    cr_assert_eq(mkdir(c.allow, 0700), 0);
    tc_cleanup(&c);
}

Test(center_config, init_cert_makes_a_certificate_once)
{
    tc_center c;
    char *out1, *out2, path[160], secret[176];
    struct stat st;
    tc_init(&c, 23, 17723);
    snprintf(path, sizeof path, "%s/new.cert", c.dir);
    snprintf(secret, sizeof secret, "%s_secret", path);
    const char *args[] = {TC_CENTER_BIN, "--init-cert", path, NULL};
    cr_assert_eq(s_run(&out1, args), 0);
    cr_assert_eq(stat(secret, &st), 0);
    cr_assert_eq(st.st_mode & 077, 0, "the secret is readable by its owner only");
    cr_assert_eq(s_run(&out2, args), 0);
    zcert_t *cert = zcert_load(path);
    cr_assert_not_null(cert);
    cr_assert_not_null(strstr(out1, zcert_public_txt(cert)), "the key is printed");
    cr_assert_not_null(strstr(out2, zcert_public_txt(cert)), "the same key the second time");
    zcert_destroy(&cert);
    free(out1), free(out2);
    tc_cleanup(&c);
}

Test(center_config, sighup_re_reads_the_allow_list_and_sigterm_stops_cleanly)
{
    tc_center c;
    tc_init(&c, 24, 17724);
    c.poll = "60s"; /* only SIGHUP can make it look */
    tc_write_conf(&c);
    tc_start(&c);
    cr_assert(tc_log_wait(&c, "allow-list: 0 edge certificate(s)", 10000));
    cr_assert(tc_log_wait(&c, "serving on", 10000));
    tc_edge_cert(&c, "late", "late", NULL, true);
    kill(c.pid, SIGHUP);
    cr_assert(tc_log_wait(&c, "allow-list: 1 edge certificate(s)", 5000));
    int status = tc_stop(&c, 10000);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert(tc_log_wait(&c, "stopped", 100));
    tc_cleanup(&c);
}

/* Reads datagrams from @p fd until one contains @p text or @p ms pass. */
static bool s_notified(int fd, const char *text, int ms)
{
    int64_t end = tc_mono() + ms;
    char buf[512];
    while (tc_mono() < end) {
        zmq_pollitem_t it = {.fd = fd, .events = ZMQ_POLLIN};
        if (zmq_poll(&it, 1, 50) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        if (strstr(buf, text))
            return true;
    }
    return false;
}

Test(center_config, tells_systemd_ready_watchdog_and_stopping)
{
    tc_center c;
    tc_init(&c, 25, 17725);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/notify", c.dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    setenv("NOTIFY_SOCKET", sa.sun_path, 1);
    setenv("WATCHDOG_USEC", "400000", 1);
    tc_start(&c);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    cr_assert(s_notified(fd, "READY=1", 10000));
    cr_assert(s_notified(fd, "WATCHDOG=1", 2000));
    cr_assert(s_notified(fd, "WATCHDOG=1", 2000), "again");
    kill(c.pid, SIGTERM);
    cr_assert(s_notified(fd, "STOPPING=1", 5000));
    cr_assert_eq(WEXITSTATUS(tc_stop(&c, 10000)), 0);
    close(fd);
    tc_cleanup(&c);
}

/* ------------------------------------------------------------ the allow-list folder */

static void s_cert_file(const char *dir, const char *name, const char *meta_key, const char *id,
                        const char *zone, zcert_t **keep)
{
    char path[256];
    zcert_t *cert = zcert_new();
    if (meta_key)
        zcert_set_meta(cert, meta_key, "%s", id);
    if (zone)
        zcert_set_meta(cert, "zone", "%s", zone);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(zcert_save_public(cert, path), 0);
    if (keep)
        *keep = cert;
    else
        zcert_destroy(&cert);
}

Test(center_config, the_allow_list_takes_only_certificates_that_name_an_edge)
{
    char dir[] = "/tmp/aw_tca.XXXXXX";
    char path[256];
    cr_assert_not_null(mkdtemp(dir));
    zcert_t *good, *alias, *twin;
    s_cert_file(dir, "good.cert", "edge-id", "good", "yueyang/good", &good);
    s_cert_file(dir, "alias.cert", "edge_id", "alias", NULL, &alias);
    s_cert_file(dir, "noid.cert", NULL, NULL, NULL, NULL);
    s_cert_file(dir, "badid.cert", "edge-id", "has space", NULL, NULL);
    s_cert_file(dir, "badzone.cert", "edge-id", "z", "Yueyang//x", NULL);
    s_cert_file(dir, "twin-a.cert", "edge-id", "twin-a", NULL, &twin);
    snprintf(path, sizeof path, "%s/twin-b.cert", dir);
    zcert_t *other = zcert_new_from(zcert_public_key(twin), zcert_secret_key(twin));
    zcert_set_meta(other, "edge-id", "twin-b");
    cr_assert_eq(zcert_save_public(other, path), 0); /* same key, another edge */
    zcert_destroy(&other);
    s_cert_file(dir, "again.cert", "edge-id", "good", NULL, NULL); /* 2nd key of an edge */
    snprintf(path, sizeof path, "%s/x.cert_secret", dir);
    s_write(path, "secret stuff\n");
    snprintf(path, sizeof path, "%s/junk", dir);
    s_write(path, "not a cert\n");

    aw_allow_t *a = NULL;
    cr_assert_eq(aw_allow_load(dir, &a), AW_OK);
    cr_assert_eq(aw_allow_count(a), 3);
    const aw_allow_entry *e = aw_allow_find(a, zcert_public_txt(good));
    cr_assert_not_null(e);
    cr_assert_str_eq(e->edge_id, "good");
    cr_assert_str_eq(e->zone, "yueyang/good");
    cr_assert_str_eq(aw_allow_find(a, zcert_public_txt(alias))->edge_id, "alias");
    cr_assert_null(aw_allow_find(a, zcert_public_txt(twin)), "a key naming two edges is refused");

    /* zauth's copy holds exactly these, with edge-id and zone. */
    snprintf(path, sizeof path, "%s/stage", dir);
    cr_assert_eq(aw_allow_stage(a, path), AW_OK);
    aw_allow_t *b = NULL;
    cr_assert_eq(aw_allow_load(path, &b), AW_OK);
    cr_assert_eq(aw_allow_count(b), 3);
    cr_assert_str_eq(aw_allow_find(b, zcert_public_txt(good))->zone, "yueyang/good");
    cr_assert_str_eq(aw_allow_find(b, zcert_public_txt(alias))->edge_id, "alias");

    /* the fingerprint follows the folder */
    uint64_t f1, f2, f3;
    cr_assert_eq(aw_allow_fingerprint(dir, &f1), AW_OK);
    cr_assert_eq(aw_allow_fingerprint(dir, &f2), AW_OK);
    cr_assert_eq(f1, f2);
    snprintf(path, sizeof path, "%s/alias.cert", dir);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(aw_allow_fingerprint(dir, &f3), AW_OK);
    cr_assert_neq(f1, f3);
    cr_assert_eq(aw_allow_fingerprint("/nonexistent-aw", &f3), AW_ENOTFOUND);

    aw_allow_destroy(&a);
    aw_allow_destroy(&a);
    aw_allow_destroy(&b);
    zcert_destroy(&good), zcert_destroy(&alias), zcert_destroy(&twin);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
