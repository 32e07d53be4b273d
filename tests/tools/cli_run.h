/**
 * @file cli_run.h
 * @brief Helpers of the `anwang` CLI tests (test_cli.c, test_cli_api.c): the
 * built binary run with its output caught, files read whole, golden files.
 * Failures abort the test (Criterion asserts).
 */
#ifndef AW_TEST_CLI_RUN_H
#define AW_TEST_CLI_RUN_H

/** One run of anwang: its exit code and what it wrote (malloc'd). */
typedef struct run {
    int rc;
    char *out, *err;
} run;

/** The whole of file @p path (malloc'd, NUL-terminated). */
char *cli_slurp(const char *path);

/**
 * Runs anwang with @p args (NULL-terminated) in the current environment,
 * stdin from file @p in (NULL: /dev/null), stdout and stderr caught.
 */
run cli_run(const char *in, const char *const *args);

#define RUN(...)        cli_run(NULL, (const char *const[]){__VA_ARGS__, NULL})
#define RUN_IN(in, ...) cli_run(in, (const char *const[]){__VA_ARGS__, NULL})

/** Frees what @p r holds. */
void cli_run_free(run *r);

/**
 * Compares @p text with the golden file tests/tools/golden/@p name. Set
 * AW_UPDATE_GOLDEN=1 to rewrite the file after a deliberate change.
 */
void cli_golden(const char *name, const char *text);

#endif
