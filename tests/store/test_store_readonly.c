/* Read-only stores (aw_store_opts.read_only): what the CLI uses beside a
 * running daemon. Nothing is created or written (the data file is byte for
 * byte the same afterwards), every write call is AW_EPERM, tables are found
 * but never made, and a writer in another process goes on committing, and
 * growing its map, while a read-only handle reads. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define S_REC_LEN 100

static char s_dir[] = "/tmp/aw_test_store_ro.XXXXXX";
static pid_t s_child;

static void s_setup(void)
{
    cr_assert_not_null(mkdtemp(s_dir));
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void s_teardown(void)
{
    if (s_child > 0) {
        kill(s_child, SIGKILL);
        waitpid(s_child, NULL, 0);
        s_child = 0;
    }
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(store_readonly, .init = s_setup, .fini = s_teardown, .timeout = 120);

/* Record @p seq of @p lane: its bytes are a function of (lane, seq). */
static void s_payload(int lane, uint64_t seq, uint8_t *buf)
{
    buf[0] = 0xFF;
    aw_put_be64(buf + 1, seq);
    for (size_t i = 9; i < S_REC_LEN; i++)
        buf[i] = (uint8_t)(seq * 31 + i + (size_t)lane * 7);
}

/* Appends @p n records to @p lane (one transaction), seqs following the head. */
static int s_append(aw_store_t *st, aw_lane lane, size_t n, uint64_t hlc)
{
    aw_lane_info li;
    uint8_t *bufs = malloc(n * S_REC_LEN);
    const void **recs = calloc(n, sizeof *recs);
    size_t *lens = calloc(n, sizeof *lens);
    uint64_t first = 0;
    int rc = aw_store_lane_info(st, lane, &li);
    for (size_t i = 0; rc == AW_OK && i < n; i++) {
        s_payload((int)lane, li.head + 1 + i, bufs + i * S_REC_LEN);
        recs[i] = bufs + i * S_REC_LEN;
        lens[i] = S_REC_LEN;
    }
    if (rc == AW_OK)
        rc = aw_store_append(st, lane, recs, lens, n, hlc, &first);
    free(bufs);
    free(recs);
    free(lens);
    return rc;
}

static aw_store_t *s_open_rw(size_t map, size_t map_max)
{
    aw_store_opts o = {.path = s_dir, .map_size = map, .map_max = map_max};
    aw_store_t *st = NULL;
    int rc = aw_store_open(&o, &st);
    cr_assert_eq(rc, AW_OK, "open: %s", aw_strerror(rc));
    return st;
}

static int s_open_ro(const char *path, aw_store_t **st)
{
    aw_store_opts o = {.path = path, .read_only = true};
    return aw_store_open(&o, st);
}

/* The whole content of @p path (caller frees); *len gets its size. */
static uint8_t *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(*len + 1);
    cr_assert_eq(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

typedef struct s_walk {
    int lane;
    uint64_t next, n;
    bool bad;
} s_walk;

/* Checks records come dense from 1 with the bytes s_payload() made. */
static int s_check_cb(void *arg, uint64_t seq, const void *rec, size_t len)
{
    s_walk *w = arg;
    uint8_t want[S_REC_LEN];
    s_payload(w->lane, seq, want);
    if (seq != w->next || len != S_REC_LEN || memcmp(rec, want, len) != 0)
        w->bad = true;
    w->next = seq + 1;
    w->n++;
    return 0;
}

/* Records of @p lane readable through @p st, checked; asserts they are right. */
static uint64_t s_count(aw_store_t *st, aw_lane lane)
{
    s_walk w = {.lane = (int)lane, .next = 1};
    int rc = aw_store_read(st, lane, 1, 0, 0, s_check_cb, &w);
    cr_assert_eq(rc, AW_OK, "read: %s", aw_strerror(rc));
    cr_assert_not(w.bad, "%s: records dense from 1 with their bytes", aw_lane_name(lane));
    return w.n;
}

static int s_count_entries(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen, (void)val, (void)vlen;
    ++*(int *)arg;
    return 0;
}

Test(store_readonly, no_store_is_not_found_and_nothing_is_created)
{
    char missing[256], file[300];
    aw_store_t *st = NULL;
    snprintf(missing, sizeof missing, "%s/never/made", s_dir);
    cr_assert_eq(s_open_ro(missing, &st), AW_ENOTFOUND);
    cr_assert_null(st);
    struct stat sb;
    snprintf(file, sizeof file, "%s/never", s_dir);
    cr_assert_neq(stat(file, &sb), 0, "no directory made");
    /* an empty directory: no store in it, and none is made */
    cr_assert_eq(s_open_ro(s_dir, &st), AW_ENOTFOUND);
    snprintf(file, sizeof file, "%s/data.mdb", s_dir);
    cr_assert_neq(stat(file, &sb), 0, "no data file made");
    snprintf(file, sizeof file, "%s/lock.mdb", s_dir);
    cr_assert_neq(stat(file, &sb), 0, "no lock file made");
}

Test(store_readonly, reads_what_was_committed_and_changes_no_byte)
{
    aw_store_t *rw = s_open_rw(4 << 20, 4 << 20);
    aw_table_t tab;
    aw_txn_t *txn = NULL;
    cr_assert_eq(s_append(rw, AW_LANE_URGENT, 10, 0x10000), AW_OK);
    cr_assert_eq(s_append(rw, AW_LANE_BULK, 500, 0x20000), AW_OK);
    cr_assert_eq(aw_store_mark_acked(rw, AW_LANE_BULK, 200), AW_OK);
    cr_assert_eq(aw_store_table(rw, "things", &tab), AW_OK);
    cr_assert_eq(aw_store_begin(rw, &txn), AW_OK);
    cr_assert_eq(aw_txn_put(txn, tab, "a", 1, "1", 1), AW_OK);
    cr_assert_eq(aw_txn_put(txn, tab, "b", 1, "22", 2), AW_OK);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);
    uint64_t epoch = aw_store_epoch(rw);
    aw_lane_info want[AW_LANE_COUNT];
    for (int l = 0; l < AW_LANE_COUNT; l++)
        aw_store_lane_info(rw, (aw_lane)l, &want[l]);
    aw_store_destroy(&rw);

    char data[256];
    size_t len0, len1;
    snprintf(data, sizeof data, "%s/data.mdb", s_dir);
    uint8_t *before = s_slurp(data, &len0);

    aw_store_t *ro = NULL;
    cr_assert_eq(s_open_ro(s_dir, &ro), AW_OK);
    cr_assert_eq(aw_store_epoch(ro), epoch);
    cr_assert_eq(aw_store_hlc_floor(ro), 0x20000);
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        aw_lane_info li;
        cr_assert_eq(aw_store_lane_info(ro, (aw_lane)l, &li), AW_OK);
        cr_assert_eq(memcmp(&li, &want[l], sizeof li), 0, "%s positions as committed",
                     aw_lane_name((aw_lane)l));
    }
    cr_assert_eq(s_count(ro, AW_LANE_URGENT), 10);
    cr_assert_eq(s_count(ro, AW_LANE_BULK), 500);
    /* an existing table is found, a missing one is not made */
    aw_table_t t2, t3;
    cr_assert_eq(aw_store_table(ro, "things", &t2), AW_OK);
    cr_assert_eq(aw_store_table(ro, "nothing", &t3), AW_ENOTFOUND);
    cr_assert_eq(aw_store_table(ro, "meta", &t3), AW_EINVAL, "the store's own stay hidden");
    cr_assert_eq(aw_store_begin_read(ro, &txn), AW_OK);
    const void *val = NULL;
    size_t vlen = 0;
    cr_assert_eq(aw_txn_get(txn, t2, "b", 1, &val, &vlen), AW_OK);
    cr_assert_eq(vlen, 2);
    cr_assert_eq(memcmp(val, "22", 2), 0);
    int entries = 0;
    cr_assert_eq(aw_txn_scan(txn, t2, NULL, 0, NULL, 0, s_count_entries, &entries), AW_OK);
    cr_assert_eq(entries, 2);
    aw_txn_abort(&txn);
    aw_store_destroy(&ro);

    uint8_t *after = s_slurp(data, &len1);
    cr_assert_eq(len1, len0, "the data file keeps its size");
    cr_assert_eq(memcmp(before, after, len0), 0, "the data file is byte for byte the same");
    free(before);
    free(after);
    /* the table "nothing" was not created: a writer still does not see it */
    rw = s_open_rw(4 << 20, 4 << 20);
    aw_store_destroy(&rw);
    cr_assert_eq(s_open_ro(s_dir, &ro), AW_OK);
    cr_assert_eq(aw_store_table(ro, "nothing", &t3), AW_ENOTFOUND);
    aw_store_destroy(&ro);
}

Test(store_readonly, every_write_is_refused_and_changes_nothing)
{
    aw_store_t *rw = s_open_rw(4 << 20, 4 << 20);
    aw_table_t tab;
    cr_assert_eq(aw_store_table(rw, "things", &tab), AW_OK);
    cr_assert_eq(s_append(rw, AW_LANE_BULK, 50, 0x30000), AW_OK);
    aw_store_destroy(&rw);

    aw_store_t *ro = NULL;
    aw_txn_t *txn = NULL;
    aw_prune_report rep;
    cr_assert_eq(s_open_ro(s_dir, &ro), AW_OK);
    cr_assert_eq(s_append(ro, AW_LANE_BULK, 1, 0x40000), AW_EPERM);
    cr_assert_eq(s_append(ro, AW_LANE_URGENT, 1, 0x40000), AW_EPERM);
    cr_assert_eq(aw_store_begin(ro, &txn), AW_EPERM);
    cr_assert_null(txn);
    cr_assert_eq(aw_store_mark_acked(ro, AW_LANE_BULK, 10), AW_EPERM);
    cr_assert_eq(aw_store_mark_acked(ro, AW_LANE_BULK, 0), AW_EPERM);
    cr_assert_eq(aw_store_prune(ro, INT64_MAX, &rep), AW_EPERM);
    cr_assert_eq(aw_store_sync(ro), AW_EPERM);
    /* bad arguments are still AW_EINVAL */
    cr_assert_eq(aw_store_mark_acked(ro, (aw_lane)7, 1), AW_EINVAL);
    cr_assert_eq(aw_store_table(ro, "things", &tab), AW_OK);
    cr_assert_eq(aw_store_begin_read(ro, &txn), AW_OK);
    cr_assert_eq(aw_txn_put(txn, tab, "k", 1, "v", 1), AW_ESTATE);
    cr_assert_eq(aw_txn_del(txn, tab, "k", 1), AW_ESTATE);
    uint64_t seq;
    cr_assert_eq(aw_txn_append(txn, AW_LANE_BULK, "x", 1, &seq), AW_ESTATE);
    aw_txn_abort(&txn);
    /* and the store is as it was, for a writer too */
    aw_lane_info li;
    cr_assert_eq(aw_store_lane_info(ro, AW_LANE_BULK, &li), AW_OK);
    cr_assert_eq(li.head, 50);
    cr_assert_eq(li.acked, 0);
    aw_store_destroy(&ro);
    rw = s_open_rw(4 << 20, 4 << 20);
    cr_assert_eq(aw_store_lane_info(rw, AW_LANE_BULK, &li), AW_OK);
    cr_assert_eq(li.head, 50);
    cr_assert_eq(li.acked, 0);
    cr_assert_eq(aw_store_hlc_floor(rw), 0x30000);
    cr_assert_eq(s_count(rw, AW_LANE_BULK), 50);
    aw_store_destroy(&rw);
}

/* ------------------------------------------------------------ beside a writer */

#define S_BATCHES 400
#define S_PER     100

/* The child: a writer that commits S_BATCHES batches (its 1 MiB map grows
 * several times on the way) and writes one byte to @p fd after each. */
static void s_writer(int fd)
{
    aw_store_opts o = {.path = s_dir, .map_size = 1 << 20, .map_max = 32 << 20};
    aw_store_t *st = NULL;
    if (aw_store_open(&o, &st) != AW_OK)
        _exit(2);
    for (int i = 0; i < S_BATCHES; i++) {
        if (s_append(st, AW_LANE_BULK, S_PER, (uint64_t)(i + 1) << 16) != AW_OK)
            _exit(3);
        if (write(fd, "b", 1) != 1)
            _exit(4);
    }
    aw_store_destroy(&st);
    _exit(0);
}

/* Reads bytes from @p fd until @p want batches were reported or 60 s pass. */
static int s_wait_batches(int fd, int have, int want)
{
    char buf[64];
    time_t end = time(NULL) + 60;
    while (have < want && time(NULL) < end) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        have += (int)n;
    }
    return have;
}

Test(store_readonly, a_writer_in_another_process_goes_on_and_its_growth_is_adopted)
{
    aw_store_t *rw = s_open_rw(1 << 20, 32 << 20);
    uint64_t epoch = aw_store_epoch(rw);
    aw_store_destroy(&rw);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    s_child = fork();
    cr_assert_geq(s_child, 0);
    if (s_child == 0) {
        close(p[0]);
        s_writer(p[1]);
    }
    close(p[1]);
    int got = s_wait_batches(p[0], 0, 10);
    cr_assert_geq(got, 10, "the writer starts");

    aw_store_t *ro = NULL;
    cr_assert_eq(s_open_ro(s_dir, &ro), AW_OK);
    cr_assert_eq(aw_store_epoch(ro), epoch);
    uint64_t map0 = 0, map1 = 0;
    cr_assert_eq(aw_store_usage(ro, NULL, &map0), AW_OK);
    /* a read transaction held open does not stop the writer */
    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin_read(ro, &txn), AW_OK);
    got = s_wait_batches(p[0], got, S_BATCHES / 2);
    cr_assert_geq(got, S_BATCHES / 2, "the writer commits while a reader holds a snapshot");
    aw_txn_abort(&txn);
    /* reads follow the writer; the count never goes back and ends complete */
    uint64_t last = 0, reads = 0;
    int status = -1;
    for (time_t end = time(NULL) + 60; time(NULL) < end; reads++) {
        uint64_t n = s_count(ro, AW_LANE_BULK);
        cr_assert_geq(n, last, "a later read sees at least as much");
        cr_assert_eq(n % S_PER, 0, "whole batches only (a commit is atomic)");
        last = n;
        if (n == (uint64_t)S_BATCHES * S_PER && waitpid(s_child, &status, WNOHANG) == s_child)
            break;
    }
    s_child = 0;
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the writer finished: %d", status);
    cr_assert_eq(s_count(ro, AW_LANE_BULK), (uint64_t)S_BATCHES * S_PER);
    cr_assert_eq(aw_store_usage(ro, NULL, &map1), AW_OK);
    cr_assert_gt(map1, map0, "the writer's map growth was adopted (%llu -> %llu bytes)",
                 (unsigned long long)map0, (unsigned long long)map1);
    aw_store_destroy(&ro);
    close(p[0]);
    cr_log_info("read-only beside a writer: %llu reads, %llu records, map %llu -> %llu bytes",
                (unsigned long long)reads, (unsigned long long)last, (unsigned long long)map0,
                (unsigned long long)map1);
}
