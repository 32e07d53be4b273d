/*
 * Property test of the store: random sequences of appends (both lanes,
 * random sizes, in batches and in caller transactions), acks, prunes, clock
 * steps and reopens under a small budget. After every step the store must
 * hold these properties:
 *  - each lane's seqs first..head are all present (dense) and its byte and
 *    acked-byte counts equal the sum of what is stored;
 *  - no urgent record was dropped: every urgent seq below first was acked,
 *    and the test's urgent records still present follow each other;
 *  - gap records account exactly for the unacked bulk records dropped: the
 *    union of their ranges is that set, without overlap;
 *  - the lanes never hold more than the budget;
 *  - a refused or aborted write changes nothing.
 * The seed is printed on failure; AW_SEED=<n> reruns from it.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "store.h"

#define SEQUENCES    200
#define STEPS        80
#define BUDGET       20000u
#define RETENTION_MS 10000
#define MAX_SEQ      (1u << 16)

static char s_dir[] = "/tmp/aw_test_store_props.XXXXXX";
static int64_t s_clock;

/* How often each interesting path ran over all sequences: the generator
 * must reach every one of them, or the properties prove little. */
static struct {
    uint64_t gaps, refused[AW_LANE_COUNT], retention, urgent_for_room, txn_aborts, reopens;
} s_seen;

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

static int64_t s_now(void *arg)
{
    return s_clock;
}

/* splitmix64: small, seedable, the same everywhere. */
static uint64_t s_rand(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t s_between(uint64_t *state, uint64_t lo, uint64_t hi)
{
    return lo + s_rand(state) % (hi - lo + 1);
}

/* What the test knows about one sequence, beside the store. */
typedef struct model {
    uint64_t seed;
    int step;
    const char *op;
    char path[256];
    aw_store_t *store;
    aw_table_t table;
    uint64_t rng;
    uint64_t next_tag[AW_LANE_COUNT]; /* tag of the next record the test appends */
    uint64_t seen_urgent;             /* urgent seqs inspected for gaps so far */
    uint8_t *dropped;                 /* per bulk seq: dropped while unacked */
    uint8_t *covered;                 /* per bulk seq: gap records covering it */
    aw_lane_info before[AW_LANE_COUNT];
    aw_prune_report report;
    bool pruned;    /* the step was aw_store_prune(): check its report */
    bool link_down; /* this sequence: no acks, an alarm storm, the budget fills */
} model;

#define M_ASSERT(m, cond, fmt, ...)                                                                \
    cr_assert((cond), "seed %" PRIu64 " step %d (%s): " fmt, (m)->seed, (m)->step, (m)->op,        \
              ##__VA_ARGS__)

/* Test records: 0xFF (never a valid record), the 8-byte tag, bytes from the tag. */
static void s_payload(uint64_t tag, uint8_t *buf, size_t len)
{
    buf[0] = 0xFF;
    aw_put_be64(buf + 1, tag);
    for (size_t i = 9; i < len; i++)
        buf[i] = (uint8_t)(tag * 131 + i);
}

static void s_open(model *m)
{
    aw_store_opts opts = {.path = m->path,
                          .map_size = 4 << 20,
                          .max_bytes = BUDGET,
                          .retention_ms = RETENTION_MS,
                          .durability = AW_DURABLE_NOSYNC, /* crashes are another test */
                          .now_ms = s_now};
    int rc = aw_store_open(&opts, &m->store);
    M_ASSERT(m, rc == AW_OK, "open: %s", aw_strerror(rc));
    rc = aw_store_table(m->store, "things", &m->table);
    M_ASSERT(m, rc == AW_OK, "table: %s", aw_strerror(rc));
}

static void s_info(model *m, aw_lane_info out[AW_LANE_COUNT])
{
    for (int l = 0; l < AW_LANE_COUNT; l++)
        M_ASSERT(m, aw_store_lane_info(m->store, l, &out[l]) == AW_OK, "lane info");
}

/* The lanes' positions; `durable` may move at a reopen (it becomes head). */
static bool s_same(const aw_lane_info *a, const aw_lane_info *b)
{
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        aw_lane_info x = a[l], y = b[l];
        x.durable = y.durable = 0;
        if (memcmp(&x, &y, sizeof x))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ checks */

typedef struct walk {
    model *m;
    aw_lane lane;
    aw_lane_info li;
    uint64_t expect, bytes, acked_bytes, last_tag;
} walk;

/* Accounts a gap record found in the urgent lane. */
static void s_gap(model *m, const Anwang__Gap *gap)
{
    M_ASSERT(m, gap->lane == ANWANG__LANE__LANE_BULK, "gap lane");
    M_ASSERT(m, gap->from_seq >= 1 && gap->from_seq <= gap->to_seq && gap->to_seq < MAX_SEQ,
             "gap range %" PRIu64 "..%" PRIu64, gap->from_seq, gap->to_seq);
    M_ASSERT(m, gap->count == gap->to_seq - gap->from_seq + 1, "gap count");
    for (uint64_t s = gap->from_seq; s <= gap->to_seq; s++)
        m->covered[s]++;
    s_seen.gaps++;
}

/* Checks one stored record: dense seq, content, and gaps as they appear. */
static int s_check_record(void *arg, uint64_t seq, const void *rec, size_t len)
{
    walk *w = arg;
    model *m = w->m;
    M_ASSERT(m, seq == w->expect, "%s seq %" PRIu64 " where %" PRIu64 " was due",
             aw_lane_name(w->lane), seq, w->expect);
    w->expect++;
    w->bytes += AW_STORE_HEADER + len;
    w->acked_bytes += seq <= w->li.acked ? AW_STORE_HEADER + len : 0;
    Anwang__Record *r = NULL;
    if (w->lane == AW_LANE_URGENT && aw_codec_record_decode(rec, len, NULL, &r, NULL, 0) == AW_OK) {
        M_ASSERT(m, r->body_case == ANWANG__RECORD__BODY_GAP, "only gaps are records here");
        if (seq > m->seen_urgent)
            s_gap(m, r->gap);
        aw_codec_record_free(&r);
        return 0;
    }
    uint8_t want[512];
    M_ASSERT(m, len >= 9 && len <= sizeof want, "record length %zu", len);
    uint64_t tag = aw_get_be64((const uint8_t *)rec + 1);
    s_payload(tag, want, len);
    M_ASSERT(m, !memcmp(rec, want, len), "content of %s seq %" PRIu64, aw_lane_name(w->lane), seq);
    M_ASSERT(m, w->lane == AW_LANE_URGENT || tag == seq, "bulk tag %" PRIu64 " at %" PRIu64, tag,
             seq);
    M_ASSERT(m, w->last_tag == 0 || tag == w->last_tag + 1,
             "%s tag %" PRIu64 " after %" PRIu64 ": a record was lost", aw_lane_name(w->lane), tag,
             w->last_tag);
    w->last_tag = tag;
    return 0;
}

static void s_check_lane(model *m, aw_lane lane, const aw_lane_info *li)
{
    walk w = {.m = m, .lane = lane, .li = *li, .expect = li->first};
    int rc = aw_store_read(m->store, lane, 0, 0, 0, s_check_record, &w);
    M_ASSERT(m, rc == AW_OK, "read: %s", aw_strerror(rc));
    M_ASSERT(m, w.expect == li->head + 1, "%s ends at %" PRIu64 ", head %" PRIu64,
             aw_lane_name(lane), w.expect - 1, li->head);
    M_ASSERT(m, li->count == li->head + 1 - li->first, "count");
    M_ASSERT(m, w.bytes == li->bytes, "%s bytes %" PRIu64 " stored, %" PRIu64 " counted",
             aw_lane_name(lane), w.bytes, li->bytes);
    M_ASSERT(m, w.acked_bytes == li->acked_bytes, "%s acked bytes", aw_lane_name(lane));
    M_ASSERT(m, w.last_tag == 0 || w.last_tag == m->next_tag[lane] - 1,
             "%s: the newest record is the last one the test committed", aw_lane_name(lane));
}

/* Records which bulk seqs this step removed, and whether they were acked. */
static void s_note_bulk_removals(model *m, const aw_lane_info *now)
{
    const aw_lane_info *b = &m->before[AW_LANE_BULK];
    for (uint64_t s = b->first; s < now->first; s++)
        m->dropped[s] = s > b->acked;
}

static void s_check_gaps(model *m, const aw_lane_info *now)
{
    for (uint64_t s = 1; s < MAX_SEQ && s <= now[AW_LANE_BULK].head; s++)
        M_ASSERT(m, m->covered[s] == m->dropped[s],
                 "bulk seq %" PRIu64 ": dropped unacked %d, covered by %d gap records", s,
                 m->dropped[s], m->covered[s]);
}

static void s_check_report(model *m, const aw_lane_info *now)
{
    const aw_prune_report *r = &m->report;
    uint64_t urgent = now[0].first - m->before[0].first;
    uint64_t bulk = now[1].first - m->before[1].first;
    M_ASSERT(m, r->acked_removed[0] == urgent, "report: urgent removed");
    M_ASSERT(m, r->acked_removed[1] + r->unacked_removed == bulk, "report: bulk removed");
    s_seen.retention += r->acked_removed[0] + r->acked_removed[1];
}

/* Every property, after every step. */
static void s_check(model *m)
{
    aw_lane_info now[AW_LANE_COUNT];
    s_info(m, now);
    M_ASSERT(m, now[0].bytes + now[1].bytes <= BUDGET, "over budget: %" PRIu64,
             now[0].bytes + now[1].bytes);
    M_ASSERT(m, now[0].first - 1 <= now[0].acked, "an unacked urgent record was removed");
    M_ASSERT(m, now[1].head < MAX_SEQ, "sequence too long for the test");
    s_note_bulk_removals(m, &now[AW_LANE_BULK]);
    for (int l = 0; l < AW_LANE_COUNT; l++)
        s_check_lane(m, l, &now[l]);
    m->seen_urgent = now[0].head;
    s_check_gaps(m, now);
    if (m->pruned)
        s_check_report(m, now);
    else if (now[0].first > m->before[0].first)
        s_seen.urgent_for_room++; /* acked urgent records went for the budget */
}

/* ------------------------------------------------------------ steps */

/* A refused append must be one that cannot fit, and must change nothing. */
static void s_check_refused(model *m, aw_lane lane, uint64_t add, int rc)
{
    aw_lane_info now[AW_LANE_COUNT];
    s_info(m, now);
    M_ASSERT(m, rc == (lane == AW_LANE_URGENT ? AW_EURGENTFULL : AW_EFULL), "refused with %s",
             aw_strerror(rc));
    M_ASSERT(m, s_same(now, m->before), "a refused append changed the store");
    s_seen.refused[lane]++;
    uint64_t urgent_unacked = now[0].bytes - now[0].acked_bytes;
    M_ASSERT(m, add > BUDGET || urgent_unacked + add + 67 > BUDGET,
             "refused %" PRIu64 " bytes with only %" PRIu64 " of unacked urgent", add,
             urgent_unacked);
}

static void s_step_append(model *m, aw_lane lane)
{
    uint8_t bufs[20][512];
    const void *recs[20];
    size_t lens[20];
    size_t n = s_between(&m->rng, 1, lane == AW_LANE_URGENT && !m->link_down ? 3 : 20);
    uint64_t add = 0, first = 0;
    for (size_t i = 0; i < n; i++) {
        lens[i] = s_between(&m->rng, 9, lane == AW_LANE_URGENT && !m->link_down ? 200 : 300);
        if (s_rand(&m->rng) % 100 == 0)
            lens[i] = 512; /* a big one now and then */
        s_payload(m->next_tag[lane] + i, bufs[i], lens[i]);
        recs[i] = bufs[i];
        add += AW_STORE_HEADER + lens[i];
    }
    m->op = lane == AW_LANE_URGENT ? "append urgent" : "append bulk";
    int rc = aw_store_append(m->store, lane, recs, lens, n, 0, &first);
    if (rc) {
        s_check_refused(m, lane, add, rc);
        return;
    }
    M_ASSERT(m, first >= m->before[lane].head + 1, "first seq");
    M_ASSERT(m, lane == AW_LANE_URGENT || first == m->before[lane].head + 1, "bulk first seq");
    m->next_tag[lane] += n;
}

static void s_step_ack(model *m, aw_lane lane)
{
    const aw_lane_info *li = &m->before[lane];
    uint64_t seq = s_between(&m->rng, li->acked > 0 ? li->acked - 1 : 0, li->head);
    m->op = "ack";
    int rc = aw_store_mark_acked(m->store, lane, seq);
    M_ASSERT(m, rc == AW_OK, "ack %" PRIu64 ": %s", seq, aw_strerror(rc));
    M_ASSERT(m, aw_store_mark_acked(m->store, lane, li->head + 1) == AW_ERANGE, "past head");
    aw_lane_info now;
    M_ASSERT(m, aw_store_lane_info(m->store, lane, &now) == AW_OK, "info");
    M_ASSERT(m, now.acked == (seq > li->acked ? seq : li->acked), "acked mark");
}

static void s_step_prune(model *m)
{
    m->op = "prune";
    m->pruned = true;
    int rc = aw_store_prune(m->store, s_clock, &m->report);
    M_ASSERT(m, rc == AW_OK, "prune: %s", aw_strerror(rc));
}

static void s_step_reopen(model *m)
{
    m->op = "reopen";
    uint64_t epoch = aw_store_epoch(m->store);
    aw_store_destroy(&m->store);
    s_open(m);
    aw_lane_info now[AW_LANE_COUNT];
    s_info(m, now);
    M_ASSERT(m, s_same(now, m->before), "reopen changed the lanes");
    M_ASSERT(m, aw_store_epoch(m->store) == epoch, "reopen changed the epoch");
    s_seen.reopens++;
}

/* Appends one record in a caller txn; false when the budget refused it. */
static bool s_txn_record(model *m, aw_txn_t *txn, aw_lane lane, uint64_t tag)
{
    uint8_t buf[512];
    size_t len = s_between(&m->rng, 9, 250);
    uint64_t seq;
    s_payload(tag, buf, len);
    int rc = aw_txn_append(txn, lane, buf, len, &seq);
    M_ASSERT(m, rc == AW_OK || rc == AW_EFULL || rc == AW_EURGENTFULL, "txn append: %s",
             aw_strerror(rc));
    return rc == AW_OK;
}

/* A caller transaction: records in both lanes and a table row, then commit or abort. */
static void s_step_txn(model *m)
{
    aw_txn_t *txn = NULL;
    uint64_t added[AW_LANE_COUNT] = {0, 0}, key = (uint64_t)m->step;
    bool ok = true, commit = s_rand(&m->rng) % 3 != 0;
    m->op = commit ? "txn commit" : "txn abort";
    M_ASSERT(m, aw_store_begin(m->store, &txn) == AW_OK, "begin");
    for (int i = (int)s_between(&m->rng, 1, 6); i > 0 && ok; i--) {
        aw_lane lane = s_rand(&m->rng) % 2 ? AW_LANE_BULK : AW_LANE_URGENT;
        ok = s_txn_record(m, txn, lane, m->next_tag[lane] + added[lane]);
        added[lane] += ok;
    }
    M_ASSERT(m, aw_txn_put(txn, m->table, &key, sizeof key, "x", 1) == AW_OK, "put");
    if (!commit || !ok) {
        aw_txn_abort(&txn);
        aw_lane_info now[AW_LANE_COUNT];
        s_info(m, now);
        M_ASSERT(m, s_same(now, m->before), "an aborted txn changed the lanes");
        s_seen.txn_aborts++;
        return;
    }
    int rc = aw_txn_commit(&txn);
    M_ASSERT(m, rc == AW_OK, "commit: %s", aw_strerror(rc));
    for (int l = 0; l < AW_LANE_COUNT; l++)
        m->next_tag[l] += added[l];
}

/* Steps while the link is down: no acks, urgent and bulk pile up. */
static void s_step_down(model *m, uint64_t dice)
{
    if (dice < 40)
        s_step_append(m, AW_LANE_URGENT);
    else if (dice < 80)
        s_step_append(m, AW_LANE_BULK);
    else if (dice < 90)
        s_step_txn(m);
    else
        s_step_prune(m);
}

static void s_step(model *m)
{
    s_info(m, m->before);
    m->pruned = false;
    uint64_t dice = s_rand(&m->rng) % 100;
    if (m->link_down && dice < 90)
        s_step_down(m, dice);
    else if (dice < 30)
        s_step_append(m, AW_LANE_BULK);
    else if (dice < 45)
        s_step_append(m, AW_LANE_URGENT);
    else if (dice < 55)
        s_step_ack(m, AW_LANE_BULK);
    else if (dice < 65)
        s_step_ack(m, AW_LANE_URGENT);
    else if (dice < 75)
        s_step_txn(m);
    else if (dice < 85)
        s_step_prune(m);
    else if (dice < 95) {
        m->op = "clock";
        s_clock += (int64_t)s_between(&m->rng, 0, 4000);
    } else
        s_step_reopen(m);
    s_check(m);
}

static uint64_t s_seed_base(void)
{
    const char *env = getenv("AW_SEED");
    return env ? strtoull(env, NULL, 0) : UINT64_C(20250301);
}

static void s_run(uint64_t seed, int index)
{
    model m = {.seed = seed, .rng = seed, .next_tag = {1, 1}, .op = "open"};
    snprintf(m.path, sizeof m.path, "%s/seq-%d", s_dir, index);
    m.dropped = calloc(MAX_SEQ, 1);
    m.covered = calloc(MAX_SEQ, 1);
    s_clock = INT64_C(1740817800000);
    m.link_down = s_rand(&m.rng) % 10 < 3;
    s_open(&m);
    for (m.step = 0; m.step < STEPS; m.step++)
        s_step(&m);
    aw_store_destroy(&m.store);
    free(m.dropped);
    free(m.covered);
    nftw(m.path, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

Test(store_props, random_sequences_keep_the_log_invariants, .init = s_setup, .fini = s_teardown,
     .timeout = 300)
{
    uint64_t base = s_seed_base();
    const char *one = getenv("AW_SEED");
    int runs = one ? 1 : SEQUENCES;
    for (int i = 0; i < runs; i++)
        s_run(base + (uint64_t)i, i);
    cr_log_info("%d sequences from seed %" PRIu64 ": %" PRIu64 " gap records, %" PRIu64
                " urgent and %" PRIu64 " bulk appends refused, %" PRIu64
                " records pruned by retention, %" PRIu64
                " appends that removed acked urgent, %" PRIu64 " aborted txns, %" PRIu64 " reopens",
                runs, base, s_seen.gaps, s_seen.refused[0], s_seen.refused[1], s_seen.retention,
                s_seen.urgent_for_room, s_seen.txn_aborts, s_seen.reopens);
    if (runs == SEQUENCES) {
        cr_expect_gt(s_seen.gaps, 0);
        cr_expect_gt(s_seen.refused[AW_LANE_URGENT], 0);
        cr_expect_gt(s_seen.refused[AW_LANE_BULK], 0);
        cr_expect_gt(s_seen.retention, 0);
        cr_expect_gt(s_seen.urgent_for_room, 0);
        cr_expect_gt(s_seen.txn_aborts, 0);
        cr_expect_gt(s_seen.reopens, 0);
    }
}
