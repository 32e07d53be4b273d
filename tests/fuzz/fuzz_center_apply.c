/*
 * libFuzzer target for the center's replication core (center/session.c,
 * apply.c, down.c): a decoded Envelope from an authenticated edge → the
 * session → apply.
 *
 * Input: the bytes of one Envelope, decoded with aw_codec_envelope_decode()
 * (undecodable inputs are dropped, as the transport drops them). The session
 * belongs to edge "e1" (the certificate's id) and lives for the whole run on
 * a store in a temp dir made once per process (recreated every
 * S_RESET_EVERY inputs so it stays small). When the session is down, a
 * Hello{e1, epoch 1} is fed first, so most inputs reach the batch path; an
 * input Hello may move the session to another epoch. An input of odd size is
 * handed over twice in one aw_center_session_handle_many() call, so the
 * group-commit path (with a resent batch inside the group) is fuzzed too.
 *
 * Checks (abort() on failure), for both lanes of the session's epoch after
 * each input:
 *  - the applied seq never decreases;
 *  - every seq from the previous applied + 1 up to the new applied is in
 *    `records` or `poison` or inside a gap of `gaps` (dense up to applied);
 *  - nothing is stored in `records` or `poison` above applied;
 *  - every envelope the session sends decodes.
 * Leaks are caught by LeakSanitizer.
 *
 * Seeds (corpus/fuzz_center_apply/) are made by
 * tests/center/gen_fuzz_center_corpus.c.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec.h"
#include "db.h"
#include "log.h"
#include "session.h"

#define S_EDGE        "e1"
#define S_RESET_EVERY 5000
#define S_TRACKED     64

typedef struct s_track {
    uint64_t epoch;
    uint64_t applied[AW_LANE_COUNT];
} s_track;

static char s_dir[64];
static aw_store_t *s_store;
static aw_center_db_t *s_db;
static aw_center_session_t *s_session;
static unsigned s_inputs;
static int64_t s_now = INT64_C(1740817800000);
static s_track s_tracks[S_TRACKED];
static size_t s_n_tracks;

#define S_CHECK(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_center_apply: check failed: %s (line %d)\n", #cond, __LINE__);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int s_send(void *arg, const uint8_t *env, size_t len)
{
    Anwang__Envelope *dec = NULL;
    S_CHECK(aw_codec_envelope_decode(env, len, NULL, &dec, NULL, 0) == AW_OK);
    aw_codec_envelope_free(&dec);
    return AW_OK;
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void s_close(void)
{
    aw_center_session_destroy(&s_session);
    aw_center_db_destroy(&s_db);
    aw_store_destroy(&s_store);
    if (s_dir[0])
        nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    s_dir[0] = '\0';
    s_n_tracks = 0;
}

static void s_open(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/aw_fuzz_center.XXXXXX");
    S_CHECK(mkdtemp(s_dir) != NULL);
    aw_store_opts opts = {.path = s_dir,
                          .map_size = 64u << 20,
                          .map_max = 1024u << 20,
                          .durability = AW_DURABLE_NOSYNC};
    S_CHECK(aw_store_open(&opts, &s_store) == AW_OK);
    S_CHECK(aw_center_db_open(s_store, &s_db) == AW_OK);
    aw_center_session_opts so = {
        .db = s_db, .edge_id = S_EDGE, .send = s_send, .down_window = 4, .link_timeout_ms = 60000};
    S_CHECK(aw_center_session_new(&so, &s_session) == AW_OK);
}

static void s_hello(void)
{
    Anwang__Envelope env = ANWANG__ENVELOPE__INIT;
    Anwang__Hello h = ANWANG__HELLO__INIT;
    h.edge_id = S_EDGE;
    h.epoch = 1;
    h.wall_ms = s_now;
    h.proto_version = AW_PROTO_VERSION;
    env.msg_case = ANWANG__ENVELOPE__MSG_HELLO;
    env.hello = &h;
    aw_center_session_handle(s_session, &env, s_now);
}

static s_track *s_track_of(uint64_t epoch)
{
    for (size_t i = 0; i < s_n_tracks; i++)
        if (s_tracks[i].epoch == epoch)
            return &s_tracks[i];
    if (s_n_tracks == S_TRACKED)
        s_n_tracks = 0;
    s_tracks[s_n_tracks] = (s_track){.epoch = epoch};
    return &s_tracks[s_n_tracks++];
}

/* ------------------------------------------------------------ invariants */

typedef struct s_walk {
    uint64_t *seqs;
    size_t n, cap;
} s_walk;

static int s_walk_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_walk *w = arg;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 256;
        w->seqs = realloc(w->seqs, w->cap * sizeof *w->seqs);
        S_CHECK(w->seqs != NULL);
    }
    w->seqs[w->n++] = aw_get_be64((const uint8_t *)key + klen - 8);
    return 0;
}

/* Seqs ≥ from stored in table @p t for (epoch, lane), ascending. */
static void s_stored(aw_txn_t *txn, aw_center_table t, uint64_t epoch, aw_lane lane, uint64_t from,
                     s_walk *w)
{
    uint8_t prefix[AW_CENTER_KEY_MAX], start[AW_CENTER_KEY_MAX];
    size_t plen = aw_center_key_lane(prefix, S_EDGE, epoch, lane);
    size_t slen = aw_center_key_seq(start, S_EDGE, epoch, lane, from);
    S_CHECK(aw_txn_scan(txn, aw_center_db_table(s_db, t), prefix, plen, start, slen, s_walk_cb,
                        w) == AW_OK);
}

/* The end of the gap covering @p seq, or 0. */
static uint64_t s_gap_end(aw_txn_t *txn, uint64_t epoch, aw_lane lane, uint64_t seq)
{
    uint8_t key[AW_CENTER_KEY_MAX];
    s_walk ends = {0};
    uint64_t end = 0;
    s_stored(txn, AW_CT_GAPS, epoch, lane, seq, &ends);
    for (size_t i = 0; i < ends.n && end == 0; i++) {
        const void *val;
        size_t vlen;
        size_t klen = aw_center_key_seq(key, S_EDGE, epoch, lane, ends.seqs[i]);
        S_CHECK(aw_txn_get(txn, aw_center_db_table(s_db, AW_CT_GAPS), key, klen, &val, &vlen) ==
                AW_OK);
        if (vlen == 8 && aw_get_be64(val) <= seq)
            end = ends.seqs[i];
    }
    free(ends.seqs);
    return end;
}

/* Every seq in (prev, applied] is stored, poison or gap-covered; none above. */
static void s_check_lane(aw_txn_t *txn, uint64_t epoch, aw_lane lane, uint64_t prev,
                         uint64_t applied)
{
    s_walk rec = {0}, poi = {0};
    s_stored(txn, AW_CT_RECORDS, epoch, lane, prev + 1, &rec);
    s_stored(txn, AW_CT_POISON, epoch, lane, prev + 1, &poi);
    size_t i = 0, j = 0;
    uint64_t pos = prev + 1;
    while (pos <= applied && pos != 0) {
        if (i < rec.n && rec.seqs[i] == pos) {
            i++;
            pos++;
        } else if (j < poi.n && poi.seqs[j] == pos) {
            j++;
            pos++;
        } else {
            uint64_t end = s_gap_end(txn, epoch, lane, pos);
            S_CHECK(end >= pos); /* a hole below applied */
            pos = end + 1;
            while (i < rec.n && rec.seqs[i] < pos)
                i++;
            while (j < poi.n && poi.seqs[j] < pos)
                j++;
        }
    }
    S_CHECK(i == rec.n && j == poi.n); /* nothing above applied */
    free(rec.seqs);
    free(poi.seqs);
}

static void s_check(void)
{
    uint64_t epoch = aw_center_session_epoch(s_session);
    if (epoch == 0)
        return;
    s_track *t = s_track_of(epoch);
    aw_txn_t *txn = NULL;
    S_CHECK(aw_store_begin_read(s_store, &txn) == AW_OK);
    for (int l = 0; l < AW_LANE_COUNT; l++) {
        uint64_t applied = 0;
        S_CHECK(aw_center_applied_get(txn, s_db, S_EDGE, epoch, (aw_lane)l, &applied) == AW_OK);
        S_CHECK(applied >= t->applied[l]);
        s_check_lane(txn, epoch, (aw_lane)l, t->applied[l], applied);
        t->applied[l] = applied;
    }
    aw_txn_abort(&txn);
}

/* ------------------------------------------------------------ entry */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    aw_log_init("fuzz_center_apply", AW_LOG_ERROR);
    s_open();
    atexit(s_close);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Anwang__Envelope *env = NULL;
    if (aw_codec_envelope_decode(data, size, NULL, &env, NULL, 0) != AW_OK)
        return 0;
    if (++s_inputs % S_RESET_EVERY == 0) {
        s_close();
        s_open();
    }
    s_now += 1000;
    if (aw_center_session_state(s_session) != AW_SESSION_UP)
        s_hello();
    s_check();
    if (size % 2 == 0) {
        aw_center_session_handle(s_session, env, s_now);
    } else { /* the group-commit path, with the batch resent inside the group */
        const Anwang__Envelope *twice[2] = {env, env};
        aw_center_session_handle_many(s_session, twice, 2, s_now);
    }
    aw_center_session_tick(s_session, s_now);
    aw_center_session_pump(s_session, s_now);
    s_check();
    aw_codec_envelope_free(&env);
    return 0;
}
