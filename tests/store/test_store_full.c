/*
 * Full map and full disk. The store must refuse writes cleanly (AW_EFULL),
 * stay usable and uncorrupted, and take writes again once room is made:
 *  (a) a tiny map that cannot grow, without and with a budget;
 *  (b) a map that grows up to map_max, and a map grown by another process;
 *  (c) a real 2 MiB tmpfs under a larger map: the disk fills first (LMDB's
 *      ENOSPC, or its EIO for a short write on a full disk, is AW_EFULL).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec.h"
#include "store.h"

static char s_dir[] = "/tmp/aw_test_store_full.XXXXXX";
static char s_mnt[300];
static int64_t s_clock = INT64_C(1740817800000);

static void s_setup(void)
{
    cr_assert_not_null(mkdtemp(s_dir));
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void s_teardown(void)
{
    if (s_mnt[0])
        umount2(s_mnt, MNT_DETACH);
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(store_full, .init = s_setup, .fini = s_teardown);

static int64_t s_now(void *arg)
{
    return s_clock;
}

static aw_store_t *s_open_at(const char *path, size_t map, size_t map_max, uint64_t max_bytes)
{
    aw_store_opts opts = {.path = path,
                          .map_size = map,
                          .map_max = map_max,
                          .max_bytes = max_bytes,
                          .retention_ms = 1,
                          .now_ms = s_now};
    aw_store_t *store = NULL;
    int rc = aw_store_open(&opts, &store);
    cr_assert_eq(rc, AW_OK, "open: %s", aw_strerror(rc));
    return store;
}

/* A test record: 0xFF, the 8-byte tag (a bulk record's seq), bytes from it. */
static void s_fill(uint8_t *buf, size_t len, uint64_t tag)
{
    buf[0] = 0xFF;
    aw_put_be64(buf + 1, tag);
    for (size_t i = 9; i < len; i++)
        buf[i] = (uint8_t)(tag * 131 + i);
}

/* Appends @p n records of 100 bytes tagged from @p tag; returns the store's code. */
static int s_batch_at(aw_store_t *store, aw_lane lane, size_t n, uint64_t tag, uint64_t *first)
{
    uint8_t(*bufs)[100] = malloc(256 * sizeof *bufs); /* threads write at once */
    const void *recs[256];
    size_t lens[256];
    cr_assert_leq(n, 256);
    for (size_t i = 0; i < n; i++) {
        s_fill(bufs[i], sizeof bufs[i], lane == AW_LANE_BULK ? tag + i : 0);
        recs[i] = bufs[i];
        lens[i] = sizeof bufs[i];
    }
    int rc = aw_store_append(store, lane, recs, lens, n, 0, first);
    free(bufs);
    return rc;
}

/* Appends a batch of @p n records after the lane's head; AW_OK or the store's error. */
static int s_batch(aw_store_t *store, aw_lane lane, size_t n)
{
    aw_lane_info li;
    uint64_t first;
    cr_assert_eq(aw_store_lane_info(store, lane, &li), AW_OK);
    int rc = s_batch_at(store, lane, n, li.head + 1, &first);
    if (rc == AW_OK && lane == AW_LANE_BULK)
        cr_assert_eq(first, li.head + 1);
    return rc;
}

/* Appends batches until the store refuses one; returns its error. */
static int s_fill_up(aw_store_t *store, size_t n, uint64_t *batches)
{
    int rc;
    for (*batches = 0; (rc = s_batch(store, AW_LANE_BULK, n)) == AW_OK; (*batches)++)
        cr_assert_lt(*batches, 1000000, "never full");
    return rc;
}

typedef struct check {
    uint64_t expect, records, gaps;
    const char *fault;
} check;

static int s_check_bulk(void *arg, uint64_t seq, const void *rec, size_t len)
{
    check *c = arg;
    uint8_t want[100];
    if (seq != c->expect++ || len != sizeof want) {
        c->fault = "not dense, or a record of the wrong size";
        return 1;
    }
    s_fill(want, sizeof want, seq);
    if (memcmp(rec, want, len)) {
        c->fault = "content";
        return 1;
    }
    c->records++;
    return 0;
}

static int s_count_gaps(void *arg, uint64_t seq, const void *rec, size_t len)
{
    check *c = arg;
    Anwang__Record *r = NULL;
    if (aw_codec_record_decode(rec, len, NULL, &r, NULL, 0) == AW_OK) {
        c->gaps += r->body_case == ANWANG__RECORD__BODY_GAP;
        aw_codec_record_free(&r);
    } else {
        c->records++;
    }
    return 0;
}

/* Reads the whole bulk lane back: dense, exact, as the metadata says. */
static void s_check_all(aw_store_t *store)
{
    aw_lane_info li;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &li), AW_OK);
    check c = {.expect = li.first};
    int rc = aw_store_read(store, AW_LANE_BULK, 0, 0, 0, s_check_bulk, &c);
    cr_assert_eq(rc, AW_OK, "read: %s", aw_strerror(rc));
    cr_assert_null(c.fault, "bulk seq %" PRIu64 ": %s", c.expect - 1, c.fault);
    cr_assert_eq(c.records, li.count);
    cr_assert_eq(c.expect, li.head + 1);
}

/* Acks and prunes everything (retention 1 ms, an hour later). */
static void s_ack_and_prune(aw_store_t *store, uint64_t *removed)
{
    aw_lane_info li;
    aw_prune_report r;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &li), AW_OK);
    cr_assert_eq(aw_store_mark_acked(store, AW_LANE_BULK, li.head), AW_OK);
    s_clock += 3600000;
    int rc = aw_store_prune(store, s_clock, &r);
    cr_assert_eq(rc, AW_OK, "prune: %s", aw_strerror(rc));
    *removed = r.acked_removed[AW_LANE_BULK];
}

/* ------------------------------------------------------------------ (a) */

/* A caller txn's appends stop with AW_EFULL too; the txn stays usable. */
static void s_caller_txn_refused(aw_store_t *store)
{
    aw_txn_t *txn;
    aw_lane_info before, after;
    uint8_t rec[100];
    uint64_t seq;
    int rc = AW_OK, n;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &before), AW_OK);
    cr_assert_eq(aw_store_begin(store, &txn), AW_OK);
    for (n = 0; n < 100000 && rc == AW_OK; n++) {
        s_fill(rec, sizeof rec, before.head + 1 + (uint64_t)n);
        rc = aw_txn_append(txn, AW_LANE_BULK, rec, sizeof rec, &seq);
    }
    cr_assert_eq(rc, AW_EFULL, "after %d appends: %s", n, aw_strerror(rc));
    aw_txn_abort(&txn);
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &after), AW_OK);
    cr_assert_eq(after.head, before.head);
}

Test(store_full, tiny_map_refuses_cleanly_and_recovers_after_pruning)
{
    aw_store_t *store = s_open_at(s_dir, 1 << 20, 1 << 20, 0);
    for (int cycle = 0; cycle < 3; cycle++) {
        uint64_t batches, removed;
        aw_lane_info before, after;
        cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &before), AW_OK);
        int rc = s_fill_up(store, 50, &batches);
        cr_assert_eq(rc, AW_EFULL, "cycle %d: %s", cycle, aw_strerror(rc));
        cr_assert_gt(batches, 20, "a 1 MiB map holds well over 1,000 records");
        cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &after), AW_OK);
        cr_assert_eq(after.head, before.head + 50 * batches, "the refused batch left nothing");
        cr_assert_eq(s_batch(store, AW_LANE_URGENT, 50), AW_EFULL, "urgent too: the map is full");
        cr_assert_eq(s_batch(store, AW_LANE_BULK, 50), AW_EFULL, "still full, still clean");
        s_caller_txn_refused(store);
        s_check_all(store);

        /* The env is valid on disk: reopen and read everything. */
        aw_store_destroy(&store);
        store = s_open_at(s_dir, 1 << 20, 1 << 20, 0);
        s_check_all(store);

        /* Acked records pruned: room again, and writes work at once. */
        s_ack_and_prune(store, &removed);
        cr_assert_eq(removed, after.count);
        for (int i = 0; i < 10; i++)
            cr_assert_eq(s_batch(store, AW_LANE_BULK, 50), AW_OK, "cycle %d batch %d", cycle, i);
        s_check_all(store);
    }
    aw_store_destroy(&store);
}

Test(store_full, tiny_map_with_a_larger_budget_drops_bulk_and_goes_on)
{
    /* A budget the map cannot hold: a misconfiguration the edge survives. */
    aw_store_t *store = s_open_at(s_dir, 1 << 20, 1 << 20, 64 << 20);
    uint64_t batches;
    cr_assert_eq(s_fill_up(store, 50, &batches), AW_EFULL);
    aw_lane_info full;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &full), AW_OK);

    /* The next writes prune by the budget rule (unacked bulk, with gaps). */
    for (int i = 0; i < 1000; i++) {
        int rc = s_batch(store, i % 20 ? AW_LANE_BULK : AW_LANE_URGENT, 50);
        cr_assert_eq(rc, AW_OK, "write %d after the map filled: %s", i, aw_strerror(rc));
    }
    aw_lane_info b, u;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &b), AW_OK);
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_URGENT, &u), AW_OK);
    cr_assert_gt(b.first, 1, "old bulk records went");
    cr_assert_eq(u.first, 1, "no urgent record went");
    check c = {0};
    cr_assert_eq(aw_store_read(store, AW_LANE_URGENT, 0, 0, 0, s_count_gaps, &c), AW_OK);
    cr_assert_eq(c.records, 50 * 50, "all urgent records are there");
    cr_assert_gt(c.gaps, 0, "the drops are recorded");
    s_check_all(store);
    aw_store_destroy(&store);
    store = s_open_at(s_dir, 1 << 20, 1 << 20, 64 << 20);
    s_check_all(store);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------------ (b) */

Test(store_full, map_grows_up_to_map_max)
{
    aw_store_t *store = s_open_at(s_dir, 1 << 20, 16 << 20, 0);
    uint64_t used, map;
    for (int i = 0; i < 400; i++) /* 400 x 50 x 108 bytes ≈ 2 MiB of values */
        cr_assert_eq(s_batch(store, AW_LANE_BULK, 50), AW_OK, "batch %d", i);
    cr_assert_eq(aw_store_usage(store, &used, &map), AW_OK);
    cr_assert_gt(map, 1 << 20, "the map grew");
    cr_assert_leq(map, 16 << 20);
    cr_assert_leq(used, map);
    s_check_all(store);

    /* Reopened with the small configured map: the data still fits. */
    aw_store_destroy(&store);
    store = s_open_at(s_dir, 1 << 20, 16 << 20, 0);
    s_check_all(store);
    uint64_t batches;
    cr_assert_eq(s_fill_up(store, 50, &batches), AW_EFULL);
    cr_assert_eq(aw_store_usage(store, &used, &map), AW_OK);
    cr_assert_eq(map, 16 << 20, "full only at map_max");
    cr_assert_gt(used, 12 << 20, "most of the map was used first");
    s_check_all(store);
    aw_store_destroy(&store);
}

Test(store_full, a_map_grown_by_another_process_is_adopted)
{
    aw_store_t *store = s_open_at(s_dir, 1 << 20, 1 << 20, 0);
    cr_assert_eq(s_batch(store, AW_LANE_BULK, 10), AW_OK);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* Another process (a tool) opens with a bigger map and fills it. */
        aw_store_opts opts = {.path = s_dir, .map_size = 8 << 20};
        aw_store_t *other = NULL;
        if (aw_store_open(&opts, &other) != AW_OK)
            _exit(1);
        for (int i = 0; i < 300; i++)
            if (s_batch(other, AW_LANE_BULK, 50) != AW_OK)
                _exit(2);
        aw_store_destroy(&other);
        _exit(0);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %d", status);

    /* This handle's next transaction meets MDB_MAP_RESIZED and adopts the map. */
    aw_lane_info li;
    check c = {.expect = 1};
    cr_assert_eq(aw_store_read(store, AW_LANE_BULK, 0, 0, 0, s_check_bulk, &c), AW_OK);
    cr_assert_null(c.fault);
    cr_assert_eq(c.records, 10 + 300 * 50, "the other process's records are visible");
    uint64_t map;
    cr_assert_eq(aw_store_usage(store, NULL, &map), AW_OK);
    cr_assert_geq(map, 8 << 20);

    /* This handle's lane info shows what it last saw; its next write reads
     * the positions from the store and appends after the other writer. */
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &li), AW_OK);
    cr_assert_eq(li.head, 10);
    uint64_t first;
    cr_assert_eq(s_batch_at(store, AW_LANE_BULK, 10, 10 + 300 * 50 + 1, &first), AW_OK);
    cr_assert_eq(first, 10 + 300 * 50 + 1);
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &li), AW_OK);
    cr_assert_eq(li.head, 10 + 300 * 50 + 10);
    s_check_all(store);
    aw_store_destroy(&store);
}

/* Readers running while the map grows under them. */
typedef struct readers {
    aw_store_t *store;
    atomic_bool done;
    atomic_uint_fast64_t reads;
    atomic_int errors;
} readers;

static void *s_reader(void *arg)
{
    readers *r = arg;
    uint64_t rng = (uint64_t)(uintptr_t)&rng;
    while (!atomic_load(&r->done)) {
        aw_lane_info li;
        aw_store_lane_info(r->store, AW_LANE_BULK, &li);
        rng = rng * 6364136223846793005u + 1442695040888963407u;
        check c = {.expect = li.head ? 1 + (rng >> 33) % li.head : 1};
        int rc = aw_store_read(r->store, AW_LANE_BULK, c.expect, 200, 0, s_check_bulk, &c);
        if (rc != AW_OK || c.fault)
            atomic_fetch_add(&r->errors, 1);
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

static void *s_urgent_writer(void *arg)
{
    readers *r = arg;
    for (int i = 0; i < 100; i++)
        if (s_batch(r->store, AW_LANE_URGENT, 20) != AW_OK)
            atomic_fetch_add(&r->errors, 1);
    return NULL;
}

Test(store_full, map_grows_while_other_threads_read_and_write)
{
    readers r = {.store = s_open_at(s_dir, 1 << 20, 64 << 20, 0)};
    pthread_t threads[4];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&threads[i], NULL, s_reader, &r), 0);
    cr_assert_eq(pthread_create(&threads[3], NULL, s_urgent_writer, &r), 0);
    for (int i = 0; i < 400; i++) {
        int rc = s_batch(r.store, AW_LANE_BULK, 50);
        cr_assert_eq(rc, AW_OK, "batch %d while others read: %s", i, aw_strerror(rc));
    }
    pthread_join(threads[3], NULL);
    atomic_store(&r.done, true);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    uint64_t map;
    cr_assert_eq(aw_store_usage(r.store, NULL, &map), AW_OK);
    cr_assert_geq(map, 4 << 20, "the map grew (twice or more)");
    cr_assert_eq(atomic_load(&r.errors), 0, "no read or write failed");
    cr_assert_gt(atomic_load(&r.reads), 100);
    aw_lane_info u;
    cr_assert_eq(aw_store_lane_info(r.store, AW_LANE_URGENT, &u), AW_OK);
    cr_assert_eq(u.count, 100 * 20);
    s_check_all(r.store);
    aw_store_destroy(&r.store);
}

/* ------------------------------------------------------------------ (c) */

/* Mounts a 2 MiB tmpfs; skips the test where mounting is not allowed. */
static void s_mount_small_fs(void)
{
    snprintf(s_mnt, sizeof s_mnt, "%s/fs", s_dir);
    cr_assert_eq(mkdir(s_mnt, 0700), 0);
    if (mount("tmpfs", s_mnt, "tmpfs", 0, "size=2m,mode=0700") != 0) {
        int e = errno;
        s_mnt[0] = '\0';
        cr_skip_test("cannot mount a tmpfs here (%s): run as root to test a full disk",
                     strerror(e));
    }
}

/* Writes a filler file of @p bytes on the small filesystem. */
static void s_filler(const char *path, size_t bytes)
{
    static uint8_t block[64 << 10];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    for (size_t done = 0; done < bytes; done += sizeof block)
        cr_assert_eq(write(fd, block, sizeof block), (ssize_t)sizeof block);
    close(fd);
}

Test(store_full, full_disk_refuses_cleanly_and_recovers)
{
    s_mount_small_fs();
    char data[400], filler[400];
    snprintf(data, sizeof data, "%s/store", s_mnt);
    snprintf(filler, sizeof filler, "%s/filler", s_mnt);
    s_filler(filler, 512 << 10);

    /* The map (8 MiB) is larger than the filesystem: the disk fills first. */
    aw_store_t *store = s_open_at(data, 8 << 20, 8 << 20, 0);
    uint64_t batches, removed, map;
    int rc = s_fill_up(store, 50, &batches);
    cr_assert_eq(rc, AW_EFULL, "a full disk: %s", aw_strerror(rc));
    cr_assert_gt(batches, 5);
    cr_assert_eq(aw_store_usage(store, NULL, &map), AW_OK);
    cr_assert_eq(map, 8 << 20, "the map was not the limit");
    cr_assert_eq(s_batch(store, AW_LANE_BULK, 50), AW_EFULL, "still full, still clean");
    s_check_all(store);
    aw_store_destroy(&store);

    /* Not corrupt: reopen, read everything; pruning frees pages for reuse. */
    store = s_open_at(data, 8 << 20, 8 << 20, 0);
    s_check_all(store);
    s_ack_and_prune(store, &removed);
    cr_assert_gt(removed, 0);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(s_batch(store, AW_LANE_BULK, 50), AW_OK, "after pruning, batch %d", i);

    /* Full again; then the operator deletes a file: writes work again. */
    cr_assert_eq(s_fill_up(store, 50, &batches), AW_EFULL);
    cr_assert_eq(unlink(filler), 0);
    for (int i = 0; i < 40; i++)
        cr_assert_eq(s_batch(store, AW_LANE_BULK, 50), AW_OK, "after freeing, batch %d", i);
    s_check_all(store);
    aw_store_destroy(&store);
    store = s_open_at(data, 8 << 20, 8 << 20, 0);
    s_check_all(store);
    aw_store_destroy(&store);
}
