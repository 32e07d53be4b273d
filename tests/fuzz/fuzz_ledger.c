/*
 * libFuzzer target for ledger/: the fold is a function of the SET of events.
 *
 * Input format: a sequence of frames, each a 2-byte little-endian length L
 * followed by L bytes of one encoded anwang.Record (what an edge stores and
 * sends). A truncated last frame is ignored; at most S_MAX_EVENTS frames are
 * read. Each frame is decoded with aw_codec_record_decode(); frames that do
 * not decode or do not carry a HazardEvent are skipped, and so are hazard
 * events of another hazard than the first one (a fold is per hazard).
 *
 * Checks (abort() on failure):
 *  - the fold of the events in input order equals the fold of a shuffled
 *    copy with some events repeated (shuffle and repeats derived from a hash
 *    of the input, so every run is reproducible): same state, same entries
 *    in the same order with the same verdicts;
 *  - the entries are in strictly increasing aw_hazard_event_cmp() order
 *    (copies dropped), a verdict has a reason exactly when it is a
 *    rejection, and a reported hazard's first accepted event is a report.
 *
 * The seed corpus in corpus/fuzz_ledger/ is made by
 * tests/ledger/gen_fuzz_ledger_corpus.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ledger.h"

#define S_MAX_EVENTS  64
#define S_MAX_REPEATS 4

typedef struct s_input {
    Anwang__Record *recs[S_MAX_EVENTS];
    const Anwang__HazardEvent *evs[S_MAX_EVENTS];
    size_t n_recs, n_evs;
} s_input;

/* FNV-1a of the whole input: the seed of the shuffle. */
static uint64_t s_hash(const uint8_t *data, size_t size)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * UINT64_C(1099511628211);
    return h ? h : 1;
}

/* xorshift64* */
static uint64_t s_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* Keeps @p rec's hazard event if it belongs to the first hazard seen. */
static void s_take(s_input *in, Anwang__Record *rec)
{
    const Anwang__HazardEvent *ev;

    in->recs[in->n_recs++] = rec;
    if (rec->body_case != ANWANG__RECORD__BODY_HAZARD)
        return;
    ev = rec->hazard;
    if (in->n_evs > 0 && strcmp(ev->hazard_id, in->evs[0]->hazard_id) != 0)
        return;
    in->evs[in->n_evs++] = ev;
}

static void s_parse(s_input *in, const uint8_t *data, size_t size)
{
    while (size >= 2 && in->n_recs < S_MAX_EVENTS) {
        size_t len = (size_t)data[0] | (size_t)data[1] << 8;
        Anwang__Record *rec = NULL;

        if (len > size - 2)
            break;
        if (aw_codec_record_decode(data + 2, len, NULL, &rec, NULL, 0) == AW_OK)
            s_take(in, rec);
        data += 2 + len;
        size -= 2 + len;
    }
}

/* Invariants of one fold's result. */
static void s_check(const aw_hazard_state *st, size_t n)
{
    const aw_hazard_entry *first_ok = NULL;

    if (st->n_entries == 0 || st->n_entries > n || !aw_hazard_status_name(st->status))
        abort();
    for (size_t i = 0; i < st->n_entries; i++) {
        const aw_hazard_entry *e = &st->entries[i];
        if (e->accepted != (e->reason == NULL) || e->index >= n)
            abort();
        if (i > 0 && aw_hazard_event_cmp(st->entries[i - 1].event, e->event) >= 0)
            abort();
        if (e->accepted && !first_ok)
            first_ok = e;
    }
    if ((st->status != AW_HAZARD_UNREPORTED) !=
        (first_ok && first_ok->event->op == ANWANG__HAZARD_OP__HAZARD_REPORT))
        abort();
    (void)aw_hazard_overdue(st, INT64_MAX);
    (void)aw_hazard_dual_report_missing(st);
}

/* A shuffled copy of in->evs with up to S_MAX_REPEATS events repeated. */
static size_t s_shuffle(const s_input *in, uint64_t seed, const Anwang__HazardEvent **out)
{
    size_t n = in->n_evs + s_rand(&seed) % (S_MAX_REPEATS + 1);

    for (size_t i = 0; i < n; i++)
        out[i] = i < in->n_evs ? in->evs[i] : in->evs[s_rand(&seed) % in->n_evs];
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = s_rand(&seed) % (i + 1);
        const Anwang__HazardEvent *t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static s_input in;
    const Anwang__HazardEvent *shuffled[S_MAX_EVENTS + S_MAX_REPEATS];
    aw_hazard_state *a = NULL, *b = NULL;
    size_t m;
    int ra, rb;

    memset(&in, 0, sizeof in);
    s_parse(&in, data, size);
    if (in.n_evs > 0) {
        m = s_shuffle(&in, s_hash(data, size), shuffled);
        ra = aw_ledger_fold(in.evs, in.n_evs, &a);
        rb = aw_ledger_fold(shuffled, m, &b);
        if (ra != rb || (ra != AW_OK && ra != AW_ENOMEM))
            abort();
        if (ra == AW_OK) {
            s_check(a, in.n_evs);
            s_check(b, m);
            if (!aw_hazard_state_equal(a, b))
                abort();
        }
        aw_hazard_state_destroy(&a);
        aw_hazard_state_destroy(&b);
    }
    for (size_t i = 0; i < in.n_recs; i++)
        aw_codec_record_free(&in.recs[i]);
    return 0;
}
