/*
 * kill -9 test of the store. Each iteration forks a child that opens the
 * store (AW_DURABLE_FSYNC, a budget small enough that pruning and gap
 * records happen) and commits in a loop: batches to both lanes, caller
 * transactions that append to both lanes and record the last seq in a
 * table, and bulk acks. After each commit returns it reports what it
 * committed on a pipe. The parent kills it with SIGKILL at a random moment,
 * reopens the store and checks:
 *  - the store opens (no corruption) and every value has a valid header
 *    and content: kind, tag, then length and bytes that follow from the
 *    tag (a bulk record's tag is its seq);
 *  - every reported record is present with its exact bytes, or was pruned
 *    (bulk only: urgent records are never acked here, so never removed);
 *  - seqs are dense, the lane metadata (head, count, bytes) matches the log;
 *  - a caller transaction is all or nothing: the table's seq is the last
 *    record written by a caller transaction, in both lanes;
 *  - gap records cover only dropped bulk seqs, each at most once, and every
 *    dropped seq that was not acked.
 * The same store lives on across all iterations.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "codec.h"
#include "store.h"

#define ITERATIONS        200
#define MAX_KILL_DELAY_US 30000
#define TIME_LIMIT_S      120
#define BUDGET            (128u << 10)
#define KIND_APPEND       1
#define KIND_TXN          2

static char s_dir[] = "/tmp/aw_test_store_crash.XXXXXX";

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
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static uint64_t s_rand(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static aw_store_opts s_opts(void)
{
    return (aw_store_opts){.path = s_dir,
                           .map_size = 16 << 20,
                           .map_max = 64 << 20,
                           .max_bytes = BUDGET,
                           .durability = AW_DURABLE_FSYNC};
}

/* A test record: 0xFF, its kind, an 8-byte tag, then bytes from the tag. */
static void s_fill(uint8_t *buf, size_t len, uint8_t kind, uint64_t tag)
{
    buf[0] = 0xFF;
    buf[1] = kind;
    aw_put_be64(buf + 2, tag);
    for (size_t i = 10; i < len; i++)
        buf[i] = (uint8_t)(tag * 131 + i * 7);
}

/* The length of the record with @p tag: 10..199 bytes, fixed by the tag. */
static size_t s_len(uint64_t tag)
{
    return 10 + (size_t)((tag * UINT64_C(2654435761)) >> 7) % 190;
}

/* Whether @p buf is exactly the test record it names (kind, tag, length, bytes). */
static bool s_valid(const uint8_t *buf, size_t len, uint8_t *kind, uint64_t *tag)
{
    uint8_t want[512];
    if (len < 10 || len > sizeof want || buf[0] != 0xFF)
        return false;
    *kind = buf[1];
    *tag = aw_get_be64(buf + 2);
    if (len != s_len(*tag))
        return false;
    s_fill(want, len, *kind, *tag);
    return (*kind == KIND_APPEND || *kind == KIND_TXN) && !memcmp(buf, want, len);
}

/* What the child reports after a commit returned: lane, seqs, their tags. */
typedef struct report {
    uint64_t first;
    uint64_t tag;
    uint32_t n;
    uint8_t lane;
    uint8_t kind;
} report;

/* ------------------------------------------------------------ the child */

typedef struct child {
    aw_store_t *store;
    aw_table_t applied;
    uint64_t rng;
    uint64_t utag; /* urgent tags: pid << 32 | counter, unique across children */
    int fd;
} child;

static void s_report(child *c, aw_lane lane, uint8_t kind, uint64_t first, uint64_t tag, uint32_t n)
{
    report r = {.first = first, .tag = tag, .n = n, .lane = (uint8_t)lane, .kind = kind};
    if (write(c->fd, &r, sizeof r) != (ssize_t)sizeof r)
        _exit(30);
}

/* One aw_store_append() batch; bulk tags are the seqs the records will get. */
static int s_child_append(child *c, aw_lane lane)
{
    static uint8_t bufs[64][200];
    const void *recs[64];
    size_t lens[64];
    aw_lane_info li;
    uint64_t first;
    uint32_t n = (uint32_t)(1 + s_rand(&c->rng) % (lane == AW_LANE_BULK ? 64 : 4));
    aw_store_lane_info(c->store, lane, &li);
    uint64_t tag = lane == AW_LANE_BULK ? li.head + 1 : c->utag;
    for (uint32_t i = 0; i < n; i++) {
        lens[i] = s_len(tag + i);
        s_fill(bufs[i], lens[i], KIND_APPEND, tag + i);
        recs[i] = bufs[i];
    }
    int rc = aw_store_append(c->store, lane, recs, lens, n, 0, &first);
    if (rc)
        return rc;
    if (lane == AW_LANE_URGENT)
        c->utag += n;
    s_report(c, lane, KIND_APPEND, first, tag, n);
    return 0;
}

/* A caller txn: one urgent and some bulk records, and their last seqs in a table. */
static int s_child_txn(child *c)
{
    uint8_t buf[200];
    uint64_t useq, bseq = 0, bfirst = 0;
    aw_lane_info li;
    aw_txn_t *txn;
    uint32_t nb = (uint32_t)(s_rand(&c->rng) % 8);
    aw_store_lane_info(c->store, AW_LANE_BULK, &li);
    int rc = aw_store_begin(c->store, &txn);
    if (rc)
        return rc;
    s_fill(buf, s_len(c->utag), KIND_TXN, c->utag);
    rc = aw_txn_append(txn, AW_LANE_URGENT, buf, s_len(c->utag), &useq);
    for (uint32_t i = 0; i < nb && !rc; i++) {
        s_fill(buf, s_len(li.head + 1 + i), KIND_TXN, li.head + 1 + i);
        rc = aw_txn_append(txn, AW_LANE_BULK, buf, s_len(li.head + 1 + i), &bseq);
        bfirst = i == 0 ? bseq : bfirst;
    }
    uint8_t v[8];
    aw_put_be64(v, useq);
    if (!rc)
        rc = aw_txn_put(txn, c->applied, "u", 1, v, 8);
    aw_put_be64(v, bseq);
    if (!rc && nb)
        rc = aw_txn_put(txn, c->applied, "b", 1, v, 8);
    if (!rc)
        rc = aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    if (rc)
        return rc;
    s_report(c, AW_LANE_URGENT, KIND_TXN, useq, c->utag++, 1);
    if (nb)
        s_report(c, AW_LANE_BULK, KIND_TXN, bfirst, li.head + 1, nb);
    return 0;
}

/* Acks a random recent seq of a random lane, as a center's Ack would. Acking
 * urgent too keeps a long run from filling the budget with urgent records,
 * which may never be dropped unacked. */
static int s_child_ack(child *c)
{
    aw_lane_info li;
    aw_lane lane = s_rand(&c->rng) % 2 ? AW_LANE_URGENT : AW_LANE_BULK;
    aw_store_lane_info(c->store, lane, &li);
    uint64_t seq = li.head > 200 ? li.head - s_rand(&c->rng) % 200 : li.head;
    return aw_store_mark_acked(c->store, lane, seq);
}

static void s_child(int fd, uint64_t seed)
{
    aw_store_opts opts = s_opts();
    child c = {.rng = seed, .utag = (uint64_t)getpid() << 32, .fd = fd};
    if (aw_store_open(&opts, &c.store) != AW_OK)
        _exit(10);
    if (aw_store_table(c.store, "applied", &c.applied) != AW_OK)
        _exit(11);
    for (;;) {
        uint64_t dice = s_rand(&c.rng) % 100;
        int rc = dice < 80   ? s_child_append(&c, AW_LANE_BULK)
                 : dice < 90 ? s_child_append(&c, AW_LANE_URGENT)
                 : dice < 97 ? s_child_txn(&c)
                             : s_child_ack(&c);
        if (rc)
            _exit(40 + rc);
    }
}

/* ------------------------------------------------------------ the checks */

/* One lane as found after a crash. */
typedef struct found {
    aw_lane lane;
    aw_lane_info li;
    uint64_t *tag;  /* per seq - first */
    uint8_t *kind;  /* per seq - first; 0 = gap record */
    uint64_t bytes; /* summed from the values */
    uint64_t expect;
    uint8_t *covered; /* urgent walk: gap coverage per bulk seq */
    uint64_t cover_len;
    const char *fault; /* first problem seen in the walk */
} found;

static void s_cover(found *f, const Anwang__Gap *g)
{
    if (g->lane != ANWANG__LANE__LANE_BULK || g->from_seq == 0 || g->to_seq < g->from_seq ||
        g->to_seq >= f->cover_len || g->count != g->to_seq - g->from_seq + 1) {
        f->fault = "malformed gap record";
        return;
    }
    for (uint64_t s = g->from_seq; s <= g->to_seq; s++)
        f->covered[s]++;
}

/* Checks one value's header and content as the walk passes it. */
static int s_found_record(void *arg, uint64_t seq, const void *rec, size_t len)
{
    found *f = arg;
    uint64_t i = seq - f->li.first;
    Anwang__Record *r = NULL;
    if (seq != f->expect++ || i >= f->li.count) {
        f->fault = "seqs are not dense";
        return 1;
    }
    f->bytes += AW_STORE_HEADER + len;
    if (f->lane == AW_LANE_URGENT && aw_codec_record_decode(rec, len, NULL, &r, NULL, 0) == AW_OK) {
        if (r->body_case == ANWANG__RECORD__BODY_GAP)
            s_cover(f, r->gap);
        else
            f->fault = "an urgent record that is neither a test record nor a gap";
        aw_codec_record_free(&r);
        f->kind[i] = 0;
        return 0;
    }
    if (!s_valid(rec, len, &f->kind[i], &f->tag[i]))
        f->fault = "a value with broken content";
    else if (f->lane == AW_LANE_BULK && f->tag[i] != seq)
        f->fault = "a bulk record under another seq";
    return 0;
}

/* Reads a lane back through the store (s_check_headers() sees the headers). */
static void s_walk(aw_store_t *store, found *f, aw_lane lane, uint64_t cover_len)
{
    memset(f, 0, sizeof *f);
    f->lane = lane;
    cr_assert_eq(aw_store_lane_info(store, lane, &f->li), AW_OK);
    f->tag = calloc(f->li.count + 1, sizeof *f->tag);
    f->kind = calloc(f->li.count + 1, 1);
    f->covered = calloc(cover_len + 1, 1);
    f->cover_len = cover_len + 1;
    f->expect = f->li.first;
    int rc = aw_store_read(store, lane, 0, 0, 0, s_found_record, f);
    cr_assert_eq(rc, AW_OK, "%s: read after a crash: %s", aw_lane_name(lane), aw_strerror(rc));
    cr_assert_null(f->fault, "%s: %s", aw_lane_name(lane), f->fault);
    cr_assert_eq(f->expect, f->li.head + 1, "%s: the log ends at %" PRIu64 ", meta head %" PRIu64,
                 aw_lane_name(lane), f->expect - 1, f->li.head);
    cr_assert_eq(f->bytes, f->li.bytes, "%s: byte count", aw_lane_name(lane));
}

static void s_found_free(found *f)
{
    free(f->tag);
    free(f->kind);
    free(f->covered);
}

/* Every record the child reported as committed is there, or pruned: bulk
 * acked or covered by a gap (s_check_gaps), urgent only once acked. */
static void s_check_reports(const report *reps, size_t n, const found *lanes)
{
    for (size_t r = 0; r < n; r++) {
        const found *f = &lanes[reps[r].lane];
        for (uint32_t i = 0; i < reps[r].n; i++) {
            uint64_t seq = reps[r].first + i;
            cr_assert_leq(seq, f->li.head, "%s seq %" PRIu64 " was committed, head is %" PRIu64,
                          aw_lane_name(f->lane), seq, f->li.head);
            if (seq < f->li.first) {
                cr_assert(f->lane == AW_LANE_BULK || seq <= f->li.acked,
                          "urgent seq %" PRIu64 " is gone but was never acked", seq);
                continue;
            }
            uint64_t k = seq - f->li.first;
            cr_assert_eq(f->tag[k], reps[r].tag + i, "%s seq %" PRIu64 ": another record",
                         aw_lane_name(f->lane), seq);
            cr_assert_eq(f->kind[k], reps[r].kind);
        }
    }
}

/* The table's seq is the last record of a caller transaction in the lane. */
static void s_check_atomic(aw_store_t *store, const found *f, const char *key)
{
    aw_table_t t;
    aw_txn_t *txn;
    const void *v;
    size_t vlen;
    uint64_t applied = 0, last = 0;
    cr_assert_eq(aw_store_table(store, "applied", &t), AW_OK);
    cr_assert_eq(aw_store_begin_read(store, &txn), AW_OK);
    if (aw_txn_get(txn, t, key, 1, &v, &vlen) == AW_OK) {
        cr_assert_eq(vlen, 8);
        applied = aw_get_be64(v);
    }
    aw_txn_abort(&txn);
    for (uint64_t k = 0; k < f->li.count; k++)
        if (f->kind[k] == KIND_TXN)
            last = f->li.first + k;
    cr_assert_leq(last, applied, "%s: a txn record after the table's %" PRIu64 ": half a txn",
                  aw_lane_name(f->lane), applied);
    if (applied >= f->li.first)
        cr_assert_eq(last, applied, "%s: the table names seq %" PRIu64 ", last txn record %" PRIu64,
                     aw_lane_name(f->lane), applied, last);
}

/*
 * Gap records cover dropped bulk seqs only, each at most once; unacked ones
 * exactly once. Acked urgent records may be pruned, gap records among them,
 * oldest first: an unacked drop may lack its gap only if it lies below every
 * gap still stored and some urgent record was pruned.
 */
static void s_check_gaps(const found *u, const found *b)
{
    uint64_t lowest = UINT64_MAX;
    for (uint64_t s = 1; s < u->cover_len && lowest == UINT64_MAX; s++)
        if (u->covered[s])
            lowest = s;
    bool gaps_pruned = u->li.first > 1;
    for (uint64_t s = 1; s < u->cover_len; s++) {
        if (s >= b->li.first) {
            cr_assert_eq(u->covered[s], 0, "bulk seq %" PRIu64 " is stored and in a gap", s);
            continue;
        }
        cr_assert_leq(u->covered[s], 1, "bulk seq %" PRIu64 " in two gaps", s);
        cr_assert(u->covered[s] == 1 || s <= b->li.acked || (gaps_pruned && s < lowest),
                  "bulk seq %" PRIu64 " dropped unacked without a gap", s);
    }
}

/*
 * Reads both logs with LMDB itself, read-only: every value carries an
 * 8-byte store time between the test's start and now.
 */
static void s_check_headers(int64_t start_ms)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    const char *logs[] = {"log_urgent", "log_bulk"};
    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_eq(mdb_env_set_maxdbs(env, 8), 0);
    cr_assert_eq(mdb_env_open(env, s_dir, MDB_RDONLY, 0600), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    int64_t now = s_wall_ms();
    for (int l = 0; l < 2; l++) {
        cr_assert_eq(mdb_dbi_open(txn, logs[l], 0, &dbi), 0);
        cr_assert_eq(mdb_cursor_open(txn, dbi, &cur), 0);
        int rc;
        while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
            cr_assert_eq(k.mv_size, 8);
            cr_assert_geq(v.mv_size, AW_STORE_HEADER);
            int64_t t = (int64_t)aw_get_be64(v.mv_data);
            cr_assert(t >= start_ms - 1000 && t <= now + 1000, "store time %" PRId64, t);
        }
        cr_assert_eq(rc, MDB_NOTFOUND, "%s: %s", logs[l], mdb_strerror(rc));
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

/* The highest seq reported for @p lane. */
static uint64_t s_reported_head(const report *reps, size_t n, aw_lane lane)
{
    uint64_t head = 0;
    for (size_t r = 0; r < n; r++)
        if (reps[r].lane == lane && reps[r].first + reps[r].n - 1 > head)
            head = reps[r].first + reps[r].n - 1;
    return head;
}

/* Checks the store after a kill; *unreported is set when it holds commits
 * the child never reported (the kill fell between commit and report). */
static void s_verify(const report *reps, size_t n, uint64_t *records, uint64_t *gaps,
                     bool *unreported)
{
    aw_store_opts opts = s_opts();
    aw_store_t *store = NULL;
    found lanes[AW_LANE_COUNT];
    int rc = aw_store_open(&opts, &store);
    cr_assert_eq(rc, AW_OK, "reopen after kill -9: %s", aw_strerror(rc));
    aw_lane_info bulk;
    cr_assert_eq(aw_store_lane_info(store, AW_LANE_BULK, &bulk), AW_OK);
    s_walk(store, &lanes[AW_LANE_BULK], AW_LANE_BULK, 0);
    s_walk(store, &lanes[AW_LANE_URGENT], AW_LANE_URGENT, bulk.head);
    cr_assert_leq(lanes[0].li.bytes + lanes[1].li.bytes, BUDGET, "over budget");
    s_check_reports(reps, n, lanes);
    s_check_atomic(store, &lanes[AW_LANE_URGENT], "u");
    s_check_atomic(store, &lanes[AW_LANE_BULK], "b");
    s_check_gaps(&lanes[AW_LANE_URGENT], &lanes[AW_LANE_BULK]);
    *unreported = lanes[AW_LANE_BULK].li.head > s_reported_head(reps, n, AW_LANE_BULK);
    *records = lanes[0].li.count + lanes[1].li.count;
    *gaps = 0;
    for (uint64_t s = 1; s < lanes[AW_LANE_URGENT].cover_len; s++)
        *gaps += lanes[AW_LANE_URGENT].covered[s];
    s_found_free(&lanes[0]);
    s_found_free(&lanes[1]);
    aw_store_destroy(&store);
}

/* Reads the child's reports until the pipe is closed; returns the new count. */
static size_t s_drain(int fd, report **reps, size_t n, size_t *cap)
{
    report r;
    ssize_t got;
    while ((got = read(fd, &r, sizeof r)) == (ssize_t)sizeof r) {
        if (n == *cap) {
            *cap = *cap ? *cap * 2 : 1024;
            *reps = realloc(*reps, *cap * sizeof **reps);
        }
        (*reps)[n++] = r;
    }
    cr_assert_eq(got, 0, "reports are whole (writes below PIPE_BUF are atomic)");
    return n;
}

/* Runs one child until a random moment, kills it, returns its reports. */
static size_t s_kill_one(uint64_t *rng, uint64_t seed, report **reps, size_t n, size_t *cap)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(p[0]);
        s_child(p[1], seed);
    }
    close(p[1]);
    usleep((useconds_t)(s_rand(rng) % MAX_KILL_DELAY_US));
    kill(pid, SIGKILL);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "the child stopped by itself: exit %d (40 + %s)", WEXITSTATUS(status),
              WEXITSTATUS(status) >= 40 ? aw_strerror(WEXITSTATUS(status) - 40) : "setup");
    n = s_drain(p[0], reps, n, cap);
    close(p[0]);
    return n;
}

Test(store_crash, kill_9_at_random_moments_loses_nothing_committed, .init = s_setup,
     .fini = s_teardown, .timeout = 240)
{
    uint64_t seed = getenv("AW_SEED") ? strtoull(getenv("AW_SEED"), NULL, 0) : 977;
    uint64_t rng = seed, records = 0, gaps = 0, unreported_kills = 0;
    report *reps = NULL;
    size_t n = 0, cap = 0;
    int64_t start = s_wall_ms();
    int it;
    for (it = 0; it < ITERATIONS; it++) {
        if (s_wall_ms() - start > TIME_LIMIT_S * 1000) {
            cr_log_warn("stopped after %d iterations: over %d s", it, TIME_LIMIT_S);
            break;
        }
        n = s_kill_one(&rng, seed * 1000 + (uint64_t)it, &reps, n, &cap);
        bool unreported = false;
        s_verify(reps, n, &records, &gaps, &unreported);
        s_check_headers(start);
        unreported_kills += unreported;
    }
    cr_log_info("seed %" PRIu64 ": %d kills in %.1f s, %zu commits reported, %" PRIu64
                " records stored, %" PRIu64 " bulk seqs in gaps, %" PRIu64
                " kills between a commit and its report",
                seed, it, (double)(s_wall_ms() - start) / 1000, n, records, gaps, unreported_kills);
    cr_assert_geq(it, 50, "too few iterations to mean much");
    cr_assert_gt(n, 0, "the children committed something");
    cr_assert_gt(gaps, 0, "the budget made gap records");
    free(reps);
}
