/*
 * aw-bench-store: what the store costs over raw LMDB, in one run.
 *
 *  (a) raw LMDB: 100-byte values appended with MDB_APPEND under 8-byte
 *      big-endian keys, N-record transactions, durable commits, the env
 *      flags the store uses (MDB_NOTLS, same map size, maxdbs, maxreaders);
 *  (b) the store: aw_store_append() of encoded Reading records (~100 bytes,
 *      made by the codec before the clock starts) in N-record batches,
 *      AW_DURABLE_FSYNC, no budget.
 *
 * Same record count for both, each in a fresh directory (removed after).
 * With -r ROUNDS the pair runs that often, alternating (a) and (b) so that
 * drift of the disk's flush time hits both alike; the medians are reported.
 * --nosync commits without flushing in both (MDB_NOSYNC / AW_DURABLE_NOSYNC)
 * to show the store's CPU cost without the noise of fsync. Prints both
 * rates, the ratio b/a, and with --json one JSON line.
 *
 *   aw-bench-store [-n RECORDS] [-b BATCH] [-r ROUNDS] [-d DIR] [--nosync] [--json]
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "store.h"

#define MAP_SIZE   ((size_t)2 << 30)
#define RAW_VALUE  100
#define MAX_ROUNDS 15

typedef struct bench {
    uint64_t records;
    size_t batch;
    unsigned rounds;
    const char *base;
    int json;
    int nosync;
} bench;

static double s_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Makes a fresh directory under @p base; the caller removes it. */
static int s_fresh_dir(const char *base, const char *tag, char *out, size_t len)
{
    snprintf(out, len, "%s/aw-bench-%s.XXXXXX", base, tag);
    if (!mkdtemp(out)) {
        fprintf(stderr, "aw-bench-store: mkdtemp %s: %s\n", out, strerror(errno));
        return -1;
    }
    return 0;
}

/* Prints a line each time another tenth of the records is done. */
static void s_progress(const char *what, uint64_t before, uint64_t done, uint64_t total, double t0)
{
    if (before * 10 / total == done * 10 / total)
        return;
    fprintf(stderr, "  %-8s %3" PRIu64 "%%  %9" PRIu64 " records  %6.1f s\n", what,
            done * 100 / total, done, s_seconds() - t0);
}

/* ------------------------------------------------------------ (a) raw LMDB */

static int s_raw_env(const char *dir, int nosync, MDB_env **env, MDB_dbi *dbi)
{
    MDB_txn *txn;
    int rc = mdb_env_create(env);
    if (!rc)
        rc = mdb_env_set_mapsize(*env, MAP_SIZE);
    if (!rc)
        rc = mdb_env_set_maxdbs(*env, 3 + 32);
    if (!rc)
        rc = mdb_env_set_maxreaders(*env, 126);
    if (!rc)
        rc = mdb_env_open(*env, dir, MDB_NOTLS | (nosync ? MDB_NOSYNC : 0), 0600);
    if (!rc)
        rc = mdb_txn_begin(*env, NULL, 0, &txn);
    if (!rc && (rc = mdb_dbi_open(txn, "log_bulk", MDB_CREATE, dbi)) == 0)
        rc = mdb_txn_commit(txn);
    return rc;
}

/* One transaction of raw appends: seqs next .. next+n-1. */
static int s_raw_txn(MDB_env *env, MDB_dbi dbi, uint64_t next, size_t n, const uint8_t *value)
{
    MDB_txn *txn;
    uint8_t kb[8];
    int rc = mdb_txn_begin(env, NULL, 0, &txn);
    for (size_t i = 0; i < n && !rc; i++) {
        aw_put_be64(kb, next + i);
        MDB_val k = {sizeof kb, kb}, v = {RAW_VALUE, (void *)value};
        rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

static double s_bench_raw(const bench *b, const char *dir)
{
    MDB_env *env = NULL;
    MDB_dbi dbi;
    uint8_t value[RAW_VALUE];
    memset(value, 0x5A, sizeof value);
    int rc = s_raw_env(dir, b->nosync, &env, &dbi);
    double t0 = s_seconds();
    for (uint64_t done = 0; !rc && done < b->records;) {
        size_t n = b->records - done < b->batch ? (size_t)(b->records - done) : b->batch;
        rc = s_raw_txn(env, dbi, done + 1, n, value);
        s_progress("raw LMDB", done, done + n, b->records, t0);
        done += n;
    }
    double secs = s_seconds() - t0;
    if (rc)
        fprintf(stderr, "aw-bench-store: raw LMDB: %s\n", mdb_strerror(rc));
    mdb_env_close(env);
    return rc ? -1 : (double)b->records / secs;
}

/* ------------------------------------------------------------ (b) the store */

/* Encodes @p n distinct Reading records; returns the mean size. */
static double s_readings(uint8_t **bufs, size_t *lens, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        char device[64];
        snprintf(device, sizeof device, "yueyang-xinqiang-huaxin-chemicals-tank-%04zu", i % 2000);
        Anwang__Reading r = ANWANG__READING__INIT;
        Anwang__Record rec = ANWANG__RECORD__INIT;
        r.device = device;
        r.metric = "tank-level";
        r.unit = "m";
        r.has_value = 1;
        r.value = 7.25 + (double)i / 1000;
        r.has_sum = 1;
        r.sum = 1000.5 + (double)i;
        r.time_ms = INT64_C(1740817800000) + (int64_t)i * 10;
        r.has_time_from_device = 1;
        r.time_from_device = 1;
        rec.hlc = ((uint64_t)r.time_ms << 16) | (i & 0xFFFF);
        rec.body_case = ANWANG__RECORD__BODY_READING;
        rec.reading = &r;
        if (aw_codec_record_encode(&rec, &bufs[i], &lens[i], NULL, 0) != AW_OK)
            return -1;
        total += lens[i];
    }
    return (double)total / (double)n;
}

static double s_bench_store(const bench *b, const char *dir, const uint8_t *const *bufs,
                            const size_t *lens)
{
    aw_store_opts opts = {.path = dir,
                          .map_size = MAP_SIZE,
                          .durability = b->nosync ? AW_DURABLE_NOSYNC : AW_DURABLE_FSYNC};
    aw_store_t *store = NULL;
    uint64_t first;
    int rc = aw_store_open(&opts, &store);
    double t0 = s_seconds();
    for (uint64_t done = 0; !rc && done < b->records;) {
        size_t n = b->records - done < b->batch ? (size_t)(b->records - done) : b->batch;
        rc = aw_store_append(store, AW_LANE_BULK, (const void *const *)bufs, lens, n, done + 1,
                             &first);
        s_progress("store", done, done + n, b->records, t0);
        done += n;
    }
    double secs = s_seconds() - t0;
    if (rc)
        fprintf(stderr, "aw-bench-store: store: %s\n", aw_strerror(rc));
    aw_store_destroy(&store);
    return rc ? -1 : (double)b->records / secs;
}

/* ------------------------------------------------------------ main */

/* Parses a count option: 1 .. @p max. */
static int s_count(const char *arg, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    *out = strtoull(arg, &end, 10);
    return errno || *end || *out == 0 || *out > max ? -1 : 0;
}

static int s_args(int argc, char **argv, bench *b)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
                                             {"nosync", no_argument, NULL, 's'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    unsigned long long v;
    int c;
    while ((c = getopt_long(argc, argv, "n:b:r:d:h", longopts, NULL)) != -1) {
        if (c == 'n' && s_count(optarg, UINT64_MAX, &v) == 0)
            b->records = v;
        else if (c == 'b' && s_count(optarg, 100000, &v) == 0)
            b->batch = (size_t)v;
        else if (c == 'r' && s_count(optarg, MAX_ROUNDS, &v) == 0)
            b->rounds = (unsigned)v;
        else if (c == 'd')
            b->base = optarg;
        else if (c == 'j')
            b->json = 1;
        else if (c == 's')
            b->nosync = 1;
        else
            return -1;
    }
    return optind == argc ? 0 : -1;
}

/* One round: (a) then (b), each in a fresh directory. */
static int s_round(const bench *b, const uint8_t *const *bufs, const size_t *lens, double *raw,
                   double *store)
{
    char raw_dir[512], store_dir[512];
    if (s_fresh_dir(b->base, "raw", raw_dir, sizeof raw_dir))
        return -1;
    *raw = s_bench_raw(b, raw_dir);
    nftw(raw_dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    if (s_fresh_dir(b->base, "store", store_dir, sizeof store_dir))
        return -1;
    *store = s_bench_store(b, store_dir, bufs, lens);
    nftw(store_dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    return *raw < 0 || *store < 0 ? -1 : 0;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double s_median(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, s_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void s_print(const bench *b, double size, double raw, double store)
{
    const char *mode = b->nosync ? "no fsync" : "fsync";
    printf("(a) raw LMDB, %d-byte values, %s:            %10.0f records/s\n", RAW_VALUE, mode, raw);
    printf("(b) aw_store_append, %.0f-byte readings, %s:   %10.0f records/s\n", size, mode, store);
    printf("ratio b/a: %.2f (median of %u rounds, %" PRIu64 " records, %zu per txn)\n", store / raw,
           b->rounds, b->records, b->batch);
    if (b->json)
        printf("{\"records\":%" PRIu64 ",\"batch\":%zu,\"rounds\":%u,\"fsync\":%s,"
               "\"raw_per_s\":%.0f,\"store_per_s\":%.0f,\"record_bytes\":%.1f,"
               "\"ratio\":%.3f}\n",
               b->records, b->batch, b->rounds, b->nosync ? "false" : "true", raw, store, size,
               store / raw);
}

static int s_run(const bench *b, uint8_t **bufs, size_t *lens)
{
    double raw[MAX_ROUNDS], store[MAX_ROUNDS];
    double size = s_readings(bufs, lens, b->batch);
    if (size < 0)
        return 1;
    for (unsigned r = 0; r < b->rounds; r++) {
        fprintf(stderr, "aw-bench-store: round %u of %u: %" PRIu64 " records, %zu per txn, in %s\n",
                r + 1, b->rounds, b->records, b->batch, b->base);
        if (s_round(b, (const uint8_t *const *)bufs, lens, &raw[r], &store[r]))
            return 1;
        fprintf(stderr, "  raw %.0f/s, store %.0f/s, ratio %.2f\n", raw[r], store[r],
                store[r] / raw[r]);
    }
    s_print(b, size, s_median(raw, b->rounds), s_median(store, b->rounds));
    return 0;
}

int main(int argc, char **argv)
{
    bench b = {.records = 1000000, .batch = 1000, .rounds = 3, .base = "/tmp"};
    if (s_args(argc, argv, &b) != 0) {
        fprintf(stderr, "usage: aw-bench-store [-n RECORDS] [-b BATCH] [-r ROUNDS] [-d DIR] "
                        "[--nosync] [--json]\n");
        return 2;
    }
    uint8_t **bufs = calloc(b.batch, sizeof *bufs);
    size_t *lens = calloc(b.batch, sizeof *lens);
    int rc = bufs && lens ? s_run(&b, bufs, lens) : 1;
    for (size_t i = 0; bufs && i < b.batch; i++)
        free(bufs[i]);
    free(bufs);
    free(lens);
    return rc;
}
