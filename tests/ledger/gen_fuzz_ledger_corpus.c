/*
 * Writes the seed corpus of tests/fuzz/fuzz_ledger: a few realistic hazard
 * ledgers, each a file of frames (2-byte little-endian length + encoded
 * Record, see fuzz_ledger.c).
 *
 *   gen_fuzz_ledger_corpus DIR    (ninja fuzz_ledger_corpus writes into the
 *                                  source tree's tests/fuzz/corpus/fuzz_ledger)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec.h"
#include "hlc.h"
#include "ledger.h"

/* 2025-03-01T08:30:00.000Z */
#define T0     INT64_C(1740817800000)
#define HOUR   (INT64_C(60) * 60 * 1000)
#define DAY    (24 * HOUR)
#define SECTOR "hazardous-chemicals"

typedef Anwang__HazardEvent ev_t;

static const char *s_hazard_id = "hz-edge-1-0001";

static ev_t s_ev(int64_t off_ms, const char *origin, Anwang__HazardOp op)
{
    ev_t ev = ANWANG__HAZARD_EVENT__INIT;

    ev.hazard_id = (char *)s_hazard_id;
    ev.hlc = aw_hlc_make((uint64_t)(T0 + off_ms), 0);
    ev.origin = (char *)origin;
    ev.op = op;
    ev.has_time_ms = true;
    ev.time_ms = T0 + off_ms;
    return ev;
}

static ev_t s_report(int64_t off, const char *origin, Anwang__HazardLevel level)
{
    ev_t ev = s_ev(off, origin, ANWANG__HAZARD_OP__HAZARD_REPORT);

    ev.by = "zhang-san";
    ev.site = "yueyang/rongjiawan/xinqiang/huaxin-chem";
    ev.sector = SECTOR;
    ev.has_level = true;
    ev.level = level;
    ev.title = "储罐区防火堤破损";
    ev.description = "east wall of tank-3 bund cracked";
    ev.has_source = true;
    ev.source = ANWANG__HAZARD_SOURCE__SOURCE_SELF_INSPECTION;
    ev.reporter = "huaxin-chem safety officer";
    return ev;
}

static ev_t s_assign(int64_t off, const char *origin, const char *unit, const char *person,
                     int64_t deadline_ms)
{
    ev_t ev = s_ev(off, origin, ANWANG__HAZARD_OP__HAZARD_ASSIGN);

    ev.by = "county-operator";
    ev.unit = (char *)unit;
    ev.person = (char *)person;
    ev.has_deadline_ms = true;
    ev.deadline_ms = deadline_ms;
    return ev;
}

static ev_t s_with(ev_t ev, const char *evidence, const char *audience, const char *text,
                   const char *note)
{
    ev.evidence = (char *)evidence;
    ev.audience = (char *)audience;
    ev.text = (char *)text;
    ev.note = (char *)note;
    return ev;
}

static ev_t s_verify(int64_t off, const char *origin, bool ok)
{
    ev_t ev = s_ev(off, origin, ANWANG__HAZARD_OP__HAZARD_VERIFY);

    ev.has_ok = true;
    ev.ok = ok;
    return ev;
}

#define START(off, o) s_ev(off, o, ANWANG__HAZARD_OP__HAZARD_START)
#define RECTIFIED(off, o, evid)                                                                    \
    s_with(s_ev(off, o, ANWANG__HAZARD_OP__HAZARD_RECTIFIED), evid, NULL, NULL, NULL)
#define NOTIFY(off, o, aud, txt)                                                                   \
    s_with(s_ev(off, o, ANWANG__HAZARD_OP__HAZARD_NOTIFY), NULL, aud, txt, NULL)
#define NOTE(off, o, txt)                                                                          \
    s_with(s_ev(off, o, ANWANG__HAZARD_OP__HAZARD_NOTE), NULL, NULL, NULL, txt)
#define REOPEN(off, o) s_ev(off, o, ANWANG__HAZARD_OP__HAZARD_REOPEN)
#define GENERAL        ANWANG__HAZARD_LEVEL__HAZARD_GENERAL
#define MAJOR          ANWANG__HAZARD_LEVEL__HAZARD_MAJOR

/* Appends one frame: 2-byte little-endian length, then the bytes. */
static int s_write_frame(FILE *f, const uint8_t *buf, size_t len)
{
    if (len > 0xFFFF || fputc((int)(len & 0xFF), f) == EOF || fputc((int)(len >> 8), f) == EOF ||
        fwrite(buf, 1, len, f) != len)
        return AW_EIO;
    return AW_OK;
}

/* Appends one frame holding @p ev as a Record to @p f. */
static int s_write_event(FILE *f, const ev_t *ev)
{
    Anwang__Record rec = ANWANG__RECORD__INIT;
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[256];
    int rv;

    rec.hlc = ev->hlc;
    rec.body_case = ANWANG__RECORD__BODY_HAZARD;
    rec.hazard = (ev_t *)ev;
    if ((rv = aw_codec_record_encode(&rec, &buf, &len, why, sizeof why)) != AW_OK) {
        fprintf(stderr, "gen_fuzz_ledger_corpus: encode: %s\n", why);
        return rv;
    }
    rv = s_write_frame(f, buf, len);
    free(buf);
    return rv;
}

/* Appends a Gap record (not a hazard event: the fuzzer skips it). */
static int s_write_gap(FILE *f)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rv = aw_codec_gap_encode(aw_hlc_make((uint64_t)T0, 5), ANWANG__LANE__LANE_BULK, 10, 19, T0,
                                 &buf, &len);

    if (rv == AW_OK)
        rv = s_write_frame(f, buf, len);
    free(buf);
    return rv;
}

static int s_write_file(const char *dir, const char *name, const ev_t *evs, size_t n, bool gap)
{
    char path[4096];
    FILE *f;
    int rv = AW_OK;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!(f = fopen(path, "wb"))) {
        fprintf(stderr, "gen_fuzz_ledger_corpus: %s: %s\n", path, strerror(errno));
        return AW_EIO;
    }
    for (size_t i = 0; i < n && rv == AW_OK; i++) {
        rv = s_write_event(f, &evs[i]);
        if (rv == AW_OK && gap && i == n / 2)
            rv = s_write_gap(f);
    }
    if (fclose(f) != 0 && rv == AW_OK)
        rv = AW_EIO;
    return rv;
}

#define WRITE(dir, name, arr, gap) s_write_file(dir, name, arr, sizeof(arr) / sizeof(arr[0]), gap)

/* The plain lifecycle: report → assign → start → rectified → verify ok. */
static int s_lifecycle(const char *dir)
{
    ev_t evs[] = {
        s_report(0, "edge-1", GENERAL),
        s_assign(HOUR, "center", "rongjiawan-office", "li-wei", T0 + 7 * DAY),
        START(2 * HOUR, "edge-1"),
        RECTIFIED(DAY, "edge-1", "photo:bund-repaired.jpg"),
        s_verify(2 * DAY, "center", true),
    };
    return WRITE(dir, "lifecycle", evs, false);
}

/* A major hazard: 双报告, concurrent stamps, a resent copy, a conflict. */
static int s_major(const char *dir)
{
    ev_t evs[] = {
        s_report(0, "edge-1", MAJOR),
        NOTIFY(1, "edge-1", AW_AUDIENCE_SAFETY_BUREAU, "重大隐患"),
        NOTIFY(2, "edge-1", "sector:" SECTOR, "重大隐患"),
        NOTE(2, "center", "received"),
        s_assign(HOUR, "center", "rongjiawan-office", "li-wei", T0 + 7 * DAY),
        s_assign(HOUR, "edge-1", "rongjiawan-office", "zhao-lei", T0 + 7 * DAY),
        NOTIFY(1, "edge-1", AW_AUDIENCE_SAFETY_BUREAU, "重大隐患"),
        START(2 * HOUR, "edge-1"),
        NOTE(3 * HOUR, "edge-1", "aaa"),
        NOTE(3 * HOUR, "edge-1", "bbb"),
    };
    return WRITE(dir, "major-dual-report", evs, true);
}

/* Verify fail, a second round, close, reopen, a new assignment. */
static int s_reopen(const char *dir)
{
    ev_t evs[] = {
        s_report(0, "edge-2", GENERAL),
        s_assign(1, "center", "unit-a", "li-wei", T0 + DAY),
        START(2, "edge-2"),
        RECTIFIED(3, "edge-2", "photo-1"),
        s_verify(4, "center", false),
        RECTIFIED(5, "edge-2", "photo-2"),
        s_verify(6, "center", true),
        REOPEN(7, "center"),
        s_assign(8, "center", "unit-b", "wang-fang", T0 + 3 * DAY),
        START(9, "edge-2"),
        s_assign(10, "center", "unit-b", "chen-jie", T0 + 5 * DAY),
    };
    return WRITE(dir, "verify-fail-reopen", evs, false);
}

/* Rejected events: before the report, misplaced, missing fields. */
static int s_rejected(const char *dir)
{
    ev_t evs[] = {
        NOTE(-5, "center", "too early"),
        s_report(0, "edge-1", GENERAL),
        START(1, "edge-1"),
        s_assign(2, "center", "unit-a", NULL, T0 + DAY),
        s_report(3, "center", MAJOR),
        s_ev(4, "center", ANWANG__HAZARD_OP__HAZARD_VERIFY),
        NOTIFY(5, "center", "", "x"),
        REOPEN(6, "center"),
        RECTIFIED(7, "edge-1", NULL),
    };
    return WRITE(dir, "rejected", evs, false);
}

/* Two hazards in one input: the fuzzer keeps the first one's events. */
static int s_two_hazards(const char *dir)
{
    ev_t evs[] = {
        s_report(0, "edge-1", GENERAL),
        NOTE(1, "edge-1", "first hazard"),
        s_report(0, "edge-3", MAJOR),
    };
    evs[2].hazard_id = "hz-edge-3-0007";
    return WRITE(dir, "two-hazards", evs, false);
}

int main(int argc, char **argv)
{
    const char *dir;

    if (argc != 2) {
        fprintf(stderr, "usage: gen_fuzz_ledger_corpus DIR\n");
        return 2;
    }
    dir = argv[1];
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_fuzz_ledger_corpus: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (s_lifecycle(dir) || s_major(dir) || s_reopen(dir) || s_rejected(dir) || s_two_hazards(dir))
        return 1;
    return 0;
}
