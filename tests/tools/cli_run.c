/* cli_run.c: running the built anwang for the CLI tests, with stdout and
 * stderr caught in files of a temp dir, and golden-file comparison. */
#include "cli_run.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ANWANG AW_BIN_DIR "/anwang"

extern char **environ;

char *cli_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "open %s", path);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(m);
    fclose(f);
    return buf;
}

run cli_run(const char *in, const char *const *args)
{
    char dir[] = "/tmp/aw_test_cli_run.XXXXXX", out[64], err[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(err, sizeof err, "%s/err", dir);
    const char *argv[40] = {ANWANG};
    size_t n = 1;
    for (; args[n - 1] && n < 39; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, in ? in : "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, ANWANG, &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st), "anwang died (signal %d)", WTERMSIG(st));
    run r = {.rc = WEXITSTATUS(st), .out = cli_slurp(out), .err = cli_slurp(err)};
    unlink(out);
    unlink(err);
    rmdir(dir);
    return r;
}

void cli_run_free(run *r)
{
    free(r->out);
    free(r->err);
}

void cli_golden(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/golden/%s", AW_TOOLS_TEST_DIR, name);
    if (getenv("AW_UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs(text, f);
        fclose(f);
    }
    char *want = cli_slurp(path);
    cr_assert_str_eq(text, want, "golden %s differs; got:\n%s", name, text);
    free(want);
}
