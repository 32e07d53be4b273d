/* Unit tests of the store: the record log, metadata, tables, pruning. */
#include <criterion/criterion.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "codec.h"
#include "store.h"

static char s_dir[] = "/tmp/aw_test_store.XXXXXX";
static int64_t s_clock = INT64_C(1740817800000); /* the store's wall clock in these tests */

static void s_setup(void)
{
    cr_assert_not_null(mkdtemp(s_dir));
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Helper processes a test forked; killed in teardown, also after a failure. */
static pid_t s_children[4];

static pid_t s_track(pid_t pid)
{
    for (int i = 0; i < 4; i++) {
        if (s_children[i] == 0) {
            s_children[i] = pid;
            break;
        }
    }
    return pid;
}

static void s_kill(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    for (int i = 0; i < 4; i++)
        s_children[i] = s_children[i] == pid ? 0 : s_children[i];
}

static void s_teardown(void)
{
    for (int i = 0; i < 4; i++)
        if (s_children[i] > 0)
            s_kill(s_children[i]);
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(store, .init = s_setup, .fini = s_teardown);

static int64_t s_now(void *arg)
{
    return s_clock;
}

static aw_store_t *s_open_at(const char *path, uint64_t max_bytes, int64_t retention_ms)
{
    aw_store_opts opts = {.path = path,
                          .map_size = 16 << 20,
                          .max_bytes = max_bytes,
                          .retention_ms = retention_ms,
                          .now_ms = s_now};
    aw_store_t *store = NULL;
    int rc = aw_store_open(&opts, &store);
    cr_assert_eq(rc, AW_OK, "open %s: %s", path, aw_strerror(rc));
    return store;
}

static aw_store_t *s_open(uint64_t max_bytes, int64_t retention_ms)
{
    return s_open_at(s_dir, max_bytes, retention_ms);
}

/*
 * Test records: 0xFF (so they never decode as a record), an 8-byte tag, then
 * bytes derived from the tag. Tags count per lane from 1, so in the bulk
 * lane tag = seq; in the urgent lane gap records may come in between.
 */
static uint64_t s_tags[AW_LANE_COUNT] = {1, 1};

static void s_payload(uint64_t tag, uint8_t *buf, size_t len)
{
    cr_assert_geq(len, 9);
    buf[0] = 0xFF;
    aw_put_be64(buf + 1, tag);
    for (size_t i = 9; i < len; i++)
        buf[i] = (uint8_t)(tag * 31 + i);
}

/* Appends @p n records of @p len bytes to @p lane; returns the first seq. */
static uint64_t s_append(aw_store_t *store, aw_lane lane, size_t n, size_t len)
{
    aw_lane_info li;
    cr_assert_eq(aw_store_lane_info(store, lane, &li), AW_OK);
    uint8_t *bufs = malloc(n * len + 1);
    const void **recs = calloc(n, sizeof *recs);
    size_t *lens = calloc(n, sizeof *lens);
    for (size_t i = 0; i < n; i++) {
        s_payload(s_tags[lane] + i, bufs + i * len, len);
        recs[i] = bufs + i * len;
        lens[i] = len;
    }
    uint64_t first = 0;
    int rc = aw_store_append(store, lane, recs, lens, n, 0, &first);
    cr_assert_eq(rc, AW_OK, "append %zu x %zu to %s: %s", n, len, aw_lane_name(lane),
                 aw_strerror(rc));
    if (lane == AW_LANE_BULK)
        cr_assert_eq(first, li.head + 1, "seqs are dense");
    else
        cr_assert_geq(first, li.head + 1, "dense, gap records may come first");
    s_tags[lane] += n;
    free(bufs);
    free(recs);
    free(lens);
    return first;
}

static bool s_is_gap(const void *rec, size_t len)
{
    Anwang__Record *r = NULL;
    if (aw_codec_record_decode(rec, len, NULL, &r, NULL, 0) != AW_OK)
        return false;
    bool gap = r->body_case == ANWANG__RECORD__BODY_GAP;
    aw_codec_record_free(&r);
    return gap;
}

/* Records delivered by aw_store_read(). */
typedef struct s_got {
    uint64_t *seq;
    size_t *len;
    uint8_t **rec;
    size_t n, cap;
    size_t stop_after; /* 0 = never stop */
} s_got;

static int s_collect(void *arg, uint64_t seq, const void *rec, size_t len)
{
    s_got *g = arg;
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 256;
        g->seq = realloc(g->seq, g->cap * sizeof *g->seq);
        g->len = realloc(g->len, g->cap * sizeof *g->len);
        g->rec = realloc(g->rec, g->cap * sizeof *g->rec);
    }
    g->seq[g->n] = seq;
    g->len[g->n] = len;
    g->rec[g->n] = malloc(len + 1);
    memcpy(g->rec[g->n], rec, len);
    g->n++;
    return g->stop_after && g->n >= g->stop_after;
}

/* Frees the records collected so far; the struct stays usable for another read. */
static void s_got_free(s_got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->rec[i]);
    g->n = 0;
}

static void s_got_destroy(s_got *g)
{
    s_got_free(g);
    free(g->seq);
    free(g->len);
    free(g->rec);
    free(g);
}

static s_got *s_read(aw_store_t *store, aw_lane lane, uint64_t from, size_t max_records,
                     size_t max_bytes)
{
    s_got *g = calloc(1, sizeof *g);
    int rc = aw_store_read(store, lane, from, max_records, max_bytes, s_collect, g);
    cr_assert_eq(rc, AW_OK, "read: %s", aw_strerror(rc));
    return g;
}

/*
 * Checks every stored record against its payload and the lane's metadata:
 * dense seqs, byte counts, and tags that follow each other (gap records
 * aside), so no record in first..head was lost.
 */
static void s_check_lane(aw_store_t *store, aw_lane lane, size_t len)
{
    aw_lane_info li;
    uint8_t want[4096];
    cr_assert_eq(aw_store_lane_info(store, lane, &li), AW_OK);
    s_got *g = s_read(store, lane, 0, 0, 0);
    cr_assert_eq(g->n, li.count, "%s: %zu records, meta says %llu", aw_lane_name(lane), g->n,
                 (unsigned long long)li.count);
    uint64_t bytes = 0, acked_bytes = 0, tag = 0;
    for (size_t i = 0; i < g->n; i++) {
        cr_assert_eq(g->seq[i], li.first + i, "dense seqs");
        bytes += AW_STORE_HEADER + g->len[i];
        acked_bytes += g->seq[i] <= li.acked ? AW_STORE_HEADER + g->len[i] : 0;
        if (lane == AW_LANE_URGENT && s_is_gap(g->rec[i], g->len[i]))
            continue;
        cr_assert_eq(g->len[i], len);
        uint64_t t = aw_get_be64(g->rec[i] + 1);
        cr_assert(tag == 0 || t == tag + 1, "tag %llu after %llu", (unsigned long long)t,
                  (unsigned long long)tag);
        cr_assert(lane == AW_LANE_URGENT || t == g->seq[i], "bulk tag = seq");
        tag = t;
        s_payload(t, want, len);
        cr_assert_arr_eq(g->rec[i], want, len, "payload of seq %llu",
                         (unsigned long long)g->seq[i]);
    }
    cr_assert_eq(bytes, li.bytes, "byte accounting");
    cr_assert_eq(acked_bytes, li.acked_bytes, "acked byte accounting");
    cr_assert_eq(li.head, li.first + li.count - 1);
    s_got_destroy(g);
}

/* ------------------------------------------------------------------ usage */

Test(store, usage_example)
{
    /* Open (create) the store in a directory; a new store has an epoch. */
    aw_store_opts opts = {.path = s_dir, .map_size = 8 << 20, .max_bytes = 4 << 20};
    aw_store_t *store = NULL;
    cr_assert_eq(aw_store_open(&opts, &store), AW_OK);
    cr_assert_neq(aw_store_epoch(store), 0);

    /* Group commit: three readings in one transaction; seqs start at 1. */
    const void *recs[] = {"reading-1", "reading-2", "reading-3"};
    const size_t lens[] = {9, 9, 9};
    uint64_t first = 0;
    cr_assert_eq(aw_store_append(store, AW_LANE_BULK, recs, lens, 3, 0, &first), AW_OK);
    cr_assert_eq(first, 1);

    /* Replication reads a range in one short read transaction... */
    s_got *got = s_read(store, AW_LANE_BULK, 1, 100, 64 << 10);
    cr_assert_eq(got->n, 3);
    cr_assert_arr_eq(got->rec[2], "reading-3", 9);
    s_got_destroy(got);

    /* ...and marks what the center applied. */
    cr_assert_eq(aw_store_mark_acked(store, AW_LANE_BULK, 3), AW_OK);
    aw_lane_info li;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &li), AW_OK);
    cr_assert_eq(li.head, 3);
    cr_assert_eq(li.acked, 3);

    /* A table write and a log append in one transaction. */
    aw_table_t alarms;
    cr_assert_eq(aw_store_table(store, "alarms", &alarms), AW_OK);
    aw_txn_t *txn = NULL;
    uint64_t seq = 0;
    cr_assert_eq(aw_store_begin(store, &txn), AW_OK);
    cr_assert_eq(aw_txn_put(txn, alarms, "a-1", 3, "raised", 6), AW_OK);
    cr_assert_eq(aw_txn_append(txn, AW_LANE_URGENT, "alarm raised", 12, &seq), AW_OK);
    aw_txn_note_hlc(txn, 42);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);
    cr_assert_null(txn);
    cr_assert_eq(seq, 1);
    cr_assert_eq(aw_store_hlc_floor(store), 42);

    /* Close; destroy nulls the pointer and is safe twice. */
    aw_store_destroy(&store);
    cr_assert_null(store);
    aw_store_destroy(&store);
    aw_store_destroy(NULL);
}

/* ------------------------------------------------------------------ open */

Test(store, epoch_is_stable_across_reopen_and_new_per_store)
{
    char other[512];
    snprintf(other, sizeof other, "%s/other/nested", s_dir);
    aw_store_t *a = s_open(0, 0);
    uint64_t epoch = aw_store_epoch(a);
    aw_store_destroy(&a);
    a = s_open(0, 0);
    cr_assert_eq(aw_store_epoch(a), epoch, "same store, same epoch");
    aw_store_destroy(&a);

    aw_store_t *b = s_open_at(other, 0, 0);
    cr_assert_neq(aw_store_epoch(b), 0);
    cr_assert_neq(aw_store_epoch(b), epoch, "a new store gets a new epoch");
    aw_store_destroy(&b);

    struct stat st;
    char file[600];
    cr_assert_eq(stat(other, &st), 0, "missing parents are created");
    cr_assert_eq(st.st_mode & 0777, 0700);
    snprintf(file, sizeof file, "%s/data.mdb", other);
    cr_assert_eq(stat(file, &st), 0);
    cr_assert_eq(st.st_mode & 0077, 0, "data file not readable by others");
}

Test(store, open_refuses_bad_options_and_foreign_files)
{
    aw_store_t *store = (aw_store_t *)1;
    aw_store_opts opts = {.path = s_dir, .durability = 7};
    cr_assert_eq(aw_store_open(&opts, &store), AW_EINVAL);
    cr_assert_null(store);
    cr_assert_eq(aw_store_open(NULL, &store), AW_EINVAL);
    opts = (aw_store_opts){.path = ""};
    cr_assert_eq(aw_store_open(&opts, &store), AW_EINVAL);

    char file[600];
    snprintf(file, sizeof file, "%s/data.mdb", s_dir);
    FILE *f = fopen(file, "w");
    for (int i = 0; i < 4096; i++)
        fputc('x', f);
    fclose(f);
    opts = (aw_store_opts){.path = s_dir};
    cr_assert_eq(aw_store_open(&opts, &store), AW_ECORRUPT, "not an LMDB file");
    cr_assert_null(store);
}

/* ------------------------------------------------------------------ log */

Test(store, append_and_read_ranges_with_limits)
{
    aw_store_t *store = s_open(0, 0);
    cr_assert_eq(s_append(store, AW_LANE_BULK, 50, 40), 1);
    cr_assert_eq(s_append(store, AW_LANE_BULK, 50, 40), 51);
    s_check_lane(store, AW_LANE_BULK, 40);

    s_got *g = s_read(store, AW_LANE_BULK, 20, 10, 0);
    cr_assert_eq(g->n, 10);
    cr_assert_eq(g->seq[0], 20);
    cr_assert_eq(g->seq[9], 29);
    s_got_free(g);

    cr_assert_eq(aw_store_read(store, AW_LANE_BULK, 95, 0, 0, s_collect, g), AW_OK);
    cr_assert_eq(g->n, 6, "95..100");
    s_got_free(g);

    cr_assert_eq(aw_store_read(store, AW_LANE_BULK, 1, 0, 100, s_collect, g), AW_OK);
    cr_assert_eq(g->n, 2, "max_bytes counts record bytes: 2 x 40 ≤ 100 < 3 x 40");
    s_got_free(g);

    cr_assert_eq(aw_store_read(store, AW_LANE_BULK, 1, 0, 10, s_collect, g), AW_OK);
    cr_assert_eq(g->n, 1, "the first record is delivered even when larger than max_bytes");
    s_got_free(g);

    g->stop_after = 3;
    cr_assert_eq(aw_store_read(store, AW_LANE_BULK, 1, 0, 0, s_collect, g), AW_OK);
    cr_assert_eq(g->n, 3, "a non-zero return of the callback stops the walk");
    g->stop_after = 0;
    s_got_free(g);

    cr_assert_eq(aw_store_read(store, AW_LANE_BULK, 101, 0, 0, s_collect, g), AW_OK);
    cr_assert_eq(g->n, 0, "nothing after the head");
    s_got_destroy(g);
    aw_store_destroy(&store);
}

Test(store, append_refuses_bad_arguments)
{
    aw_store_t *store = s_open(0, 0);
    const void *recs[] = {"x", NULL};
    const size_t lens[] = {1, 1};
    uint64_t first = 99;
    cr_assert_eq(aw_store_append(store, AW_LANE_BULK, recs, lens, 0, 0, &first), AW_EINVAL);
    cr_assert_eq(aw_store_append(store, (aw_lane)5, recs, lens, 1, 0, &first), AW_EINVAL);
    cr_assert_eq(aw_store_append(store, AW_LANE_BULK, recs, lens, 2, 0, &first), AW_EINVAL,
                 "NULL record with a length");
    cr_assert_eq(first, 99, "untouched on failure");
    cr_assert_eq(aw_store_read(store, (aw_lane)2, 1, 0, 0, s_collect, NULL), AW_EINVAL);
    aw_lane_info li;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &li), AW_OK);
    cr_assert_eq(li.head, 0);
    cr_assert_eq(li.first, 1, "an empty lane has first = head + 1");
    cr_assert_str_eq(aw_lane_name(AW_LANE_URGENT), "urgent");
    cr_assert_str_eq(aw_lane_name(AW_LANE_BULK), "bulk");
    aw_store_destroy(&store);
}

Test(store, lanes_are_independent_and_survive_reopen)
{
    aw_store_t *store = s_open(0, 0);
    cr_assert_eq(s_append(store, AW_LANE_URGENT, 3, 12), 1);
    cr_assert_eq(s_append(store, AW_LANE_BULK, 7, 20), 1);
    cr_assert_eq(s_append(store, AW_LANE_URGENT, 2, 12), 4);
    aw_store_destroy(&store);

    store = s_open(0, 0);
    aw_lane_info u, b;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_URGENT, &u), AW_OK);
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &b), AW_OK);
    cr_assert_eq(u.head, 5);
    cr_assert_eq(u.bytes, 5 * (AW_STORE_HEADER + 12));
    cr_assert_eq(b.head, 7);
    cr_assert_eq(b.count, 7);
    s_check_lane(store, AW_LANE_URGENT, 12);
    s_check_lane(store, AW_LANE_BULK, 20);
    aw_store_destroy(&store);
}

Test(store, mark_acked_only_raises_and_never_past_head)
{
    aw_store_t *store = s_open(0, 0);
    s_append(store, AW_LANE_BULK, 10, 12);
    aw_lane_info li;
    cr_assert_eq(aw_store_mark_acked(store, AW_LANE_BULK, 4), AW_OK);
    cr_assert_eq(aw_store_mark_acked(store, AW_LANE_BULK, 2), AW_OK, "a late, lower ack");
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &li), AW_OK);
    cr_assert_eq(li.acked, 4, "never lowered");
    cr_assert_eq(li.acked_bytes, 4 * (AW_STORE_HEADER + 12));
    cr_assert_eq(aw_store_mark_acked(store, AW_LANE_BULK, 11), AW_ERANGE);
    cr_assert_eq(aw_store_mark_acked(store, AW_LANE_URGENT, 1), AW_ERANGE, "empty lane");
    cr_assert_eq(aw_store_mark_acked(store, AW_LANE_BULK, 10), AW_OK);
    aw_store_destroy(&store);

    store = s_open(0, 0);
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &li), AW_OK);
    cr_assert_eq(li.acked, 10, "persisted");
    cr_assert_eq(li.acked_bytes, li.bytes);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------------ tables */

static int s_scan_keys(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    char *out = arg;
    strncat(out, key, klen);
    strcat(out, ";");
    return 0;
}

Test(store, tables_put_get_del_scan)
{
    aw_store_t *store = s_open(0, 0);
    aw_table_t devices, again, other;
    cr_assert_eq(aw_store_table(store, "devices", &devices), AW_OK);
    cr_assert_eq(aw_store_table(store, "devices", &again), AW_OK);
    cr_assert_eq(again, devices, "same name, same table");
    cr_assert_eq(aw_store_table(store, "meta", &other), AW_EINVAL, "the store's own");
    cr_assert_eq(aw_store_table(store, "log_bulk", &other), AW_EINVAL);
    cr_assert_eq(aw_store_table(store, "", &other), AW_EINVAL);

    aw_txn_t *txn = NULL;
    cr_assert_eq(aw_store_begin(store, &txn), AW_OK);
    const char *keys[] = {"dev/a1", "dev/a2", "dev/b1", "site/x", "dev"};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(aw_txn_put(txn, devices, keys[i], strlen(keys[i]), "v", 1), AW_OK);
    cr_assert_eq(aw_txn_put(txn, devices, "", 0, "v", 1), AW_EINVAL, "empty key");
    cr_assert_eq(aw_txn_put(txn, devices + 5, "k", 1, "v", 1), AW_EINVAL, "unknown table");
    cr_assert_eq(aw_txn_del(txn, devices, "dev/a2", 6), AW_OK);
    cr_assert_eq(aw_txn_del(txn, devices, "dev/a2", 6), AW_ENOTFOUND);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK, "the txn stays usable after ENOTFOUND");

    cr_assert_eq(aw_store_begin_read(store, &txn), AW_OK);
    const void *val;
    size_t vlen;
    cr_assert_eq(aw_txn_get(txn, devices, "dev/a1", 6, &val, &vlen), AW_OK);
    cr_assert_eq(vlen, 1);
    cr_assert_eq(aw_txn_get(txn, devices, "dev/a2", 6, &val, &vlen), AW_ENOTFOUND);
    cr_assert_eq(aw_txn_put(txn, devices, "k", 1, "v", 1), AW_ESTATE, "read-only");
    char seen[256] = "";
    cr_assert_eq(aw_txn_scan(txn, devices, "dev/", 4, NULL, 0, s_scan_keys, seen), AW_OK);
    cr_assert_str_eq(seen, "dev/a1;dev/b1;");
    seen[0] = '\0';
    cr_assert_eq(aw_txn_scan(txn, devices, "dev/", 4, "dev/b", 5, s_scan_keys, seen), AW_OK);
    cr_assert_str_eq(seen, "dev/b1;", "from a key inside the prefix");
    seen[0] = '\0';
    cr_assert_eq(aw_txn_scan(txn, devices, NULL, 0, NULL, 0, s_scan_keys, seen), AW_OK);
    cr_assert_str_eq(seen, "dev;dev/a1;dev/b1;site/x;");
    aw_txn_abort(&txn);
    cr_assert_null(txn);
    aw_txn_abort(&txn);
    aw_store_destroy(&store);
}

Test(store, tables_are_limited_to_max_tables)
{
    aw_store_opts opts = {.path = s_dir, .max_tables = 2};
    aw_store_t *store = NULL;
    aw_table_t t;
    cr_assert_eq(aw_store_open(&opts, &store), AW_OK);
    cr_assert_eq(aw_store_table(store, "one", &t), AW_OK);
    cr_assert_eq(aw_store_table(store, "two", &t), AW_OK);
    cr_assert_eq(aw_store_table(store, "three", &t), AW_ETOOBIG);
    aw_store_destroy(&store);
}

Test(store, txn_abort_leaves_nothing)
{
    aw_store_t *store = s_open(0, 0);
    aw_table_t t;
    cr_assert_eq(aw_store_table(store, "registry", &t), AW_OK);
    s_append(store, AW_LANE_URGENT, 2, 12);

    aw_txn_t *txn = NULL;
    uint64_t seq;
    cr_assert_eq(aw_store_begin(store, &txn), AW_OK);
    cr_assert_eq(aw_txn_append(txn, AW_LANE_URGENT, "lost", 4, &seq), AW_OK);
    cr_assert_eq(seq, 3);
    cr_assert_eq(aw_txn_append(txn, AW_LANE_BULK, "lost", 4, &seq), AW_OK);
    cr_assert_eq(aw_txn_put(txn, t, "version", 7, "8", 1), AW_OK);
    cr_assert_eq(aw_txn_mark_acked(txn, AW_LANE_URGENT, 3), AW_OK);
    aw_txn_note_hlc(txn, 1000);
    aw_lane_info li;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_URGENT, &li), AW_OK);
    cr_assert_eq(li.head, 2, "uncommitted appends are not visible in the lane info");
    aw_txn_abort(&txn);

    cr_assert_eq(aw_store_lane_info(store, AW_LANE_URGENT, &li), AW_OK);
    cr_assert_eq(li.head, 2);
    cr_assert_eq(li.acked, 0);
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &li), AW_OK);
    cr_assert_eq(li.head, 0);
    cr_assert_eq(aw_store_hlc_floor(store), 0);
    cr_assert_eq(aw_store_begin_read(store, &txn), AW_OK);
    const void *v;
    size_t vlen;
    cr_assert_eq(aw_txn_get(txn, t, "version", 7, &v, &vlen), AW_ENOTFOUND);
    aw_txn_abort(&txn);
    cr_assert_eq(s_append(store, AW_LANE_URGENT, 1, 12), 3, "the aborted seq is reused");
    aw_store_destroy(&store);

    store = s_open(0, 0);
    s_check_lane(store, AW_LANE_URGENT, 12);
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &li), AW_OK);
    cr_assert_eq(li.count, 0);
    aw_store_destroy(&store);
}

Test(store, hlc_floor_is_the_highest_committed_and_persists)
{
    aw_store_t *store = s_open(0, 0);
    const void *recs[] = {"r"};
    const size_t lens[] = {1};
    uint64_t first;
    cr_assert_eq(aw_store_append(store, AW_LANE_BULK, recs, lens, 1, 500, &first), AW_OK);
    cr_assert_eq(aw_store_hlc_floor(store), 500);
    cr_assert_eq(aw_store_append(store, AW_LANE_BULK, recs, lens, 1, 300, &first), AW_OK);
    cr_assert_eq(aw_store_hlc_floor(store), 500, "never goes back");
    aw_txn_t *txn;
    cr_assert_eq(aw_store_begin(store, &txn), AW_OK);
    aw_txn_note_hlc(txn, 900);
    aw_txn_note_hlc(txn, 700);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);
    cr_assert_eq(aw_store_hlc_floor(store), 900);
    aw_store_destroy(&store);
    store = s_open(0, 0);
    cr_assert_eq(aw_store_hlc_floor(store), 900);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------------ pruning */

Test(store, retention_removes_only_old_acked_records)
{
    const int64_t day = 86400000;
    aw_store_t *store = s_open(0, 30 * day);
    s_append(store, AW_LANE_BULK, 10, 30);  /* day 0: seqs 1..10 */
    s_append(store, AW_LANE_URGENT, 4, 30); /* day 0: seqs 1..4 */
    s_clock += 20 * day;
    s_append(store, AW_LANE_BULK, 10, 30); /* day 20: seqs 11..20 */
    cr_assert_eq(aw_store_mark_acked(store, AW_LANE_BULK, 15), AW_OK);
    cr_assert_eq(aw_store_mark_acked(store, AW_LANE_URGENT, 2), AW_OK);

    aw_prune_report r;
    cr_assert_eq(aw_store_prune(store, s_clock, &r), AW_OK);
    cr_assert_eq(r.acked_removed[AW_LANE_BULK] + r.acked_removed[AW_LANE_URGENT], 0,
                 "nothing is 30 days old yet");

    int64_t at = s_clock - 20 * day + 30 * day + 1; /* day 0 records are 30 days + 1 ms old */
    cr_assert_eq(aw_store_prune(store, at, &r), AW_OK);
    cr_assert_eq(r.acked_removed[AW_LANE_BULK], 10, "acked and old: 1..10");
    cr_assert_eq(r.acked_removed[AW_LANE_URGENT], 2, "urgent 3, 4 are old but unacked");
    cr_assert_eq(r.unacked_removed, 0);
    cr_assert_eq(r.gaps, 0);
    cr_assert_eq(r.bytes_freed, 12 * (AW_STORE_HEADER + 30));

    aw_lane_info li;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &li), AW_OK);
    cr_assert_eq(li.first, 11);
    cr_assert_eq(li.acked_bytes, 5 * (AW_STORE_HEADER + 30));
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_URGENT, &li), AW_OK);
    cr_assert_eq(li.first, 3);
    s_check_lane(store, AW_LANE_BULK, 30);
    s_check_lane(store, AW_LANE_URGENT, 30);

    s_got *g = s_read(store, AW_LANE_BULK, 1, 0, 0);
    cr_assert_eq(g->seq[0], 11, "pruned seqs are skipped");
    s_got_destroy(g);
    aw_store_destroy(&store);
}

/* Decodes the urgent lane's gap records from @p from on into @p gaps. */
static size_t s_gaps(aw_store_t *store, uint64_t from, Anwang__Gap *gaps, size_t max)
{
    s_got *g = s_read(store, AW_LANE_URGENT, from, 0, 0);
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++) {
        Anwang__Record *rec = NULL;
        if (aw_codec_record_decode(g->rec[i], g->len[i], NULL, &rec, NULL, 0) != AW_OK)
            continue;
        cr_assert_eq(rec->body_case, ANWANG__RECORD__BODY_GAP);
        cr_assert_lt(n, max);
        gaps[n++] = *rec->gap;
        aw_codec_record_free(&rec);
    }
    s_got_destroy(g);
    return n;
}

Test(store, budget_prunes_acked_bulk_first_then_unacked_with_a_gap)
{
    /* 100 bulk records of 92 + 8 bytes fill 10,000 bytes exactly. */
    aw_store_t *store = s_open(10000, 0);
    s_append(store, AW_LANE_BULK, 100, 92);
    cr_assert_eq(aw_store_mark_acked(store, AW_LANE_BULK, 30), AW_OK);

    /* One more: over budget, prune to 90% (9,000 bytes) minus the new record. */
    s_append(store, AW_LANE_BULK, 1, 92);
    aw_lane_info li;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &li), AW_OK);
    cr_assert_eq(li.first, 12, "11 acked records went, the oldest first");
    cr_assert_eq(li.head, 101);
    cr_assert_eq(li.bytes, 90 * 100);
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_URGENT, &li), AW_OK);
    cr_assert_eq(li.head, 0, "no gap: only acked records went");

    /* Acked records run out: unacked ones are dropped and recorded. 20
     * records: prune to 7,000 bytes; the acked 12..30 free only 1,900. */
    s_append(store, AW_LANE_BULK, 20, 92);
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &li), AW_OK);
    cr_assert_eq(li.first, 33, "then the oldest unacked 31, 32 (with room for the gap)");
    cr_assert_eq(li.head, 121);
    Anwang__Gap gaps[4];
    cr_assert_eq(s_gaps(store, 1, gaps, 4), 1, "one gap for one contiguous drop");
    cr_assert_eq(gaps[0].lane, ANWANG__LANE__LANE_BULK);
    cr_assert_eq(gaps[0].from_seq, 31, "the first unacked record");
    cr_assert_eq(gaps[0].to_seq, 32);
    cr_assert_eq(gaps[0].count, 2);
    cr_assert_eq(gaps[0].time_ms, s_clock);

    aw_lane_info u;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_URGENT, &u), AW_OK);
    cr_assert_eq(u.head, 1);
    cr_assert_leq(li.bytes + u.bytes, 10000, "the gap counts in the budget");
    cr_assert_geq(aw_store_hlc_floor(store), (uint64_t)s_clock << 16, "gap stamp noted");
    s_check_lane(store, AW_LANE_BULK, 92);
    aw_store_destroy(&store);
}

Test(store, urgent_records_push_bulk_out_never_each_other)
{
    aw_store_t *store = s_open(5000, 0);
    s_append(store, AW_LANE_BULK, 20, 92); /* 2,000 bytes of bulk */
    for (int i = 0; i < 40; i++)           /* 4,000 bytes of urgent */
        s_append(store, AW_LANE_URGENT, 1, 92);
    aw_lane_info u, b;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_URGENT, &u), AW_OK);
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &b), AW_OK);
    cr_assert_eq(u.first, 1, "no urgent record was dropped");
    cr_assert_gt(b.first, 1, "bulk went instead");
    cr_assert_leq(u.bytes + b.bytes, 5000);
    s_check_lane(store, AW_LANE_URGENT, 92);

    /* Each prune that dropped bulk records left one gap; together they
     * cover exactly the dropped seqs 1 .. first-1. */
    Anwang__Gap gaps[8];
    size_t n = s_gaps(store, 1, gaps, 8);
    cr_assert_geq(n, 1);
    cr_assert_eq(u.head, 40 + n, "40 records and the gaps");
    uint64_t next = 1;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(gaps[i].from_seq, next);
        cr_assert_eq(gaps[i].count, gaps[i].to_seq - gaps[i].from_seq + 1);
        next = gaps[i].to_seq + 1;
    }
    cr_assert_eq(next, b.first);

    /* A bulk append cannot push urgent records out. */
    uint8_t big[1500] = {0xFF};
    const void *recs[] = {big};
    const size_t lens[] = {sizeof big};
    uint64_t seq;
    cr_assert_eq(aw_store_append(store, AW_LANE_BULK, recs, lens, 1, 0, &seq), AW_EFULL);
    aw_lane_info b2;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &b2), AW_OK);
    cr_assert_eq(b2.first, b.first, "a refused append drops nothing");
    s_check_lane(store, AW_LANE_BULK, 92);
    aw_store_destroy(&store);
}

Test(store, urgentfull_when_only_unacked_urgent_remains)
{
    aw_store_t *store = s_open(5000, 0);
    uint8_t rec[64];
    const void *recs[] = {rec};
    const size_t lens[] = {sizeof rec};
    uint64_t seq, n = 0;
    int rc;
    s_payload(1, rec, sizeof rec);
    while ((rc = aw_store_append(store, AW_LANE_URGENT, recs, lens, 1, 0, &seq)) == AW_OK)
        n++;
    cr_assert_eq(rc, AW_EURGENTFULL);
    cr_assert_eq(n, 5000 / 72, "exactly as many as fit the budget");
    cr_assert_eq(aw_store_append(store, AW_LANE_BULK, recs, lens, 1, 0, &seq), AW_EFULL);
    aw_lane_info u;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_URGENT, &u), AW_OK);
    cr_assert_eq(u.first, 1);
    cr_assert_eq(u.count, n);

    /* Once the center has them, old urgent records may go for new ones. */
    cr_assert_eq(aw_store_mark_acked(store, AW_LANE_URGENT, 10), AW_OK);
    cr_assert_eq(aw_store_append(store, AW_LANE_URGENT, recs, lens, 1, 0, &seq), AW_OK);
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_URGENT, &u), AW_OK);
    cr_assert_eq(u.first, 9, "to 90%% of the budget: 8 of the 10 acked ones went");
    cr_assert_eq(u.head, n + 1);
    aw_store_destroy(&store);
}

Test(store, txn_append_prunes_inside_the_transaction)
{
    aw_store_t *store = s_open(2000, 0);
    s_append(store, AW_LANE_BULK, 20, 92);
    cr_assert_eq(aw_store_mark_acked(store, AW_LANE_BULK, 5), AW_OK);
    aw_txn_t *txn;
    uint64_t seq;
    uint8_t rec[92];
    s_payload(s_tags[AW_LANE_URGENT]++, rec, sizeof rec);
    cr_assert_eq(aw_store_begin(store, &txn), AW_OK);
    cr_assert_eq(aw_txn_append(txn, AW_LANE_URGENT, rec, sizeof rec, &seq), AW_OK);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK);
    aw_lane_info b;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &b), AW_OK);
    cr_assert_eq(b.first, 4, "three acked bulk records went: to 90%% less the new 100 bytes");
    s_check_lane(store, AW_LANE_BULK, 92);
    s_check_lane(store, AW_LANE_URGENT, 92);

    cr_assert_eq(aw_store_begin(store, &txn), AW_OK);
    uint8_t big[3000] = {0xFF};
    cr_assert_eq(aw_txn_append(txn, AW_LANE_BULK, big, sizeof big, &seq), AW_EFULL,
                 "larger than the budget");
    cr_assert_eq(aw_txn_append(txn, AW_LANE_URGENT, big, sizeof big, &seq), AW_EURGENTFULL);
    cr_assert_eq(aw_txn_commit(&txn), AW_OK, "a refused append leaves the txn usable");
    aw_store_destroy(&store);
}

Test(store, large_prunes_run_in_bounded_chunks)
{
    /* 150,000 records of 28 bytes: pruning 10% or more takes several
     * transactions of at most 20,000 removals each. */
    aw_store_opts opts = {.path = s_dir,
                          .map_size = 64 << 20,
                          .max_bytes = 150000 * 28,
                          .retention_ms = 1,
                          .durability = AW_DURABLE_NOSYNC,
                          .now_ms = s_now};
    aw_store_t *store = NULL;
    cr_assert_eq(aw_store_open(&opts, &store), AW_OK);
    for (int i = 0; i < 150; i++)
        s_append(store, AW_LANE_BULK, 1000, 20);
    cr_assert_eq(aw_store_mark_acked(store, AW_LANE_BULK, 150000), AW_OK);

    /* One 1 MiB record: prune to 90% less 1 MiB, about 52,000 records. */
    static uint8_t big[1 << 20];
    const void *recs[] = {big};
    const size_t lens[] = {sizeof big};
    uint64_t seq;
    big[0] = 0xFF;
    cr_assert_eq(aw_store_append(store, AW_LANE_URGENT, recs, lens, 1, 0, &seq), AW_OK);
    aw_lane_info b, u;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &b), AW_OK);
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_URGENT, &u), AW_OK);
    uint64_t target = 150000 * 28 - 150000 * 28 / 10 - (AW_STORE_HEADER + sizeof big);
    cr_assert_leq(b.bytes, target);
    cr_assert_gt(b.bytes + 28, target, "no more than needed went");
    cr_assert_gt(b.first, 40001, "more than two chunks' worth");
    cr_assert_eq(u.first, 1);
    s_check_lane(store, AW_LANE_BULK, 20);

    /* Retention removes the rest, again chunk by chunk. */
    aw_prune_report r;
    s_clock += 1000;
    cr_assert_eq(aw_store_prune(store, s_clock, &r), AW_OK);
    cr_assert_eq(r.acked_removed[AW_LANE_BULK], b.count);
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &b), AW_OK);
    cr_assert_eq(b.count, 0);
    cr_assert_eq(b.first, 150001);
    aw_store_destroy(&store);
}

/* ------------------------------------------------------------------ readers */

/* Forks a process that opens the store, optionally begins a read, then waits. */
static pid_t s_holder(bool read_txn)
{
    int pipefd[2];
    cr_assert_eq(pipe(pipefd), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        aw_store_opts opts = {.path = s_dir};
        aw_store_t *mine = NULL;
        aw_txn_t *txn = NULL;
        if (aw_store_open(&opts, &mine) == AW_OK &&
            (!read_txn || aw_store_begin_read(mine, &txn) == AW_OK))
            (void)!write(pipefd[1], "r", 1);
        pause();
        _exit(0);
    }
    s_track(pid);
    char c = 0;
    cr_assert_eq(read(pipefd[0], &c, 1), 1, "the child is ready");
    close(pipefd[0]);
    close(pipefd[1]);
    return pid;
}

Test(store, stale_readers_of_dead_processes_are_cleared)
{
    aw_store_t *store = s_open(0, 0);
    s_append(store, AW_LANE_BULK, 5, 12);
    pid_t pid = s_holder(true); /* opens its own handle, holds a read txn */
    s_kill(pid);
    int cleared = -1;
    cr_assert_eq(aw_store_check_readers(store, &cleared), AW_OK);
    cr_assert_eq(cleared, 1, "the dead child's slot");
    cr_assert_eq(aw_store_check_readers(store, &cleared), AW_OK);
    cr_assert_eq(cleared, 0);
    s_check_lane(store, AW_LANE_BULK, 12);
    aw_store_destroy(&store);
}

typedef struct s_slots {
    pid_t pid;
    int n;
} s_slots;

static int s_count_pid(const char *line, void *arg)
{
    s_slots *sl = arg;
    char pid[32];
    snprintf(pid, sizeof pid, " %d ", (int)sl->pid);
    sl->n += strstr(line, pid) != NULL;
    return 0;
}

/* Counts the reader slots of @p pid in the lock table, with LMDB itself. */
static int s_slots_of(pid_t pid)
{
    MDB_env *env;
    s_slots sl = {.pid = pid};
    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_eq(mdb_env_set_maxdbs(env, 8), 0);
    cr_assert_eq(mdb_env_open(env, s_dir, MDB_RDONLY, 0600), 0);
    cr_assert_geq(mdb_reader_list(env, s_count_pid, &sl), 0);
    mdb_env_close(env);
    return sl.n;
}

Test(store, open_clears_the_readers_of_dead_processes)
{
    aw_store_t *store = s_open(0, 0);
    s_append(store, AW_LANE_BULK, 3, 12);
    aw_store_destroy(&store);

    /* A daemon keeps the store open; a tool dies inside a read. (With
     * nobody holding the store, LMDB resets the lock table anyway.) */
    pid_t daemon = s_holder(false);
    pid_t tool = s_holder(true);
    s_kill(tool);
    cr_assert_eq(s_slots_of(tool), 1, "the dead tool left its slot");

    store = s_open(0, 0);
    int cleared = -1;
    cr_assert_eq(aw_store_check_readers(store, &cleared), AW_OK);
    cr_assert_eq(cleared, 0, "aw_store_open() had cleared it already");
    s_check_lane(store, AW_LANE_BULK, 12);
    aw_store_destroy(&store);
    s_kill(daemon);
}

Test(store, usage_reports_the_map)
{
    aw_store_t *store = s_open(0, 0);
    uint64_t used = 0, map = 0;
    cr_assert_eq(aw_store_usage(store, &used, &map), AW_OK);
    cr_assert_eq(map, 16 << 20);
    uint64_t before = used;
    s_append(store, AW_LANE_BULK, 1000, 200);
    cr_assert_eq(aw_store_usage(store, &used, &map), AW_OK);
    cr_assert_gt(used, before + 200000);
    cr_assert_eq(aw_store_sync(store), AW_OK);
    aw_store_destroy(&store);
}
