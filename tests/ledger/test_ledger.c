/* Tests for ledger/: the hazard ledger fold (SPEC §6). */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hlc.h"
#include "ledger.h"

/* 2025-03-01T08:30:00.000Z */
#define T0     INT64_C(1740817800000)
#define HOUR   (INT64_C(60) * 60 * 1000)
#define DAY    (24 * HOUR)
#define HAZ    "hz-edge-1-0001"
#define SECTOR "hazardous-chemicals"

/* A stamp @p off_ms after T0. */
static uint64_t s_at(int64_t off_ms)
{
    return aw_hlc_make((uint64_t)(T0 + off_ms), 0);
}

static Anwang__HazardEvent s_ev(uint64_t hlc, const char *origin, Anwang__HazardOp op)
{
    Anwang__HazardEvent ev = ANWANG__HAZARD_EVENT__INIT;

    ev.hazard_id = HAZ;
    ev.hlc = hlc;
    ev.origin = (char *)origin;
    ev.op = op;
    return ev;
}

static Anwang__HazardEvent s_report(uint64_t hlc, const char *origin, Anwang__HazardLevel level)
{
    Anwang__HazardEvent ev = s_ev(hlc, origin, ANWANG__HAZARD_OP__HAZARD_REPORT);

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
    ev.has_time_ms = true;
    ev.time_ms = (int64_t)aw_hlc_ms(hlc);
    return ev;
}

static Anwang__HazardEvent s_assign(uint64_t hlc, const char *origin, const char *unit,
                                    const char *person, int64_t deadline_ms)
{
    Anwang__HazardEvent ev = s_ev(hlc, origin, ANWANG__HAZARD_OP__HAZARD_ASSIGN);

    ev.by = "county-operator";
    ev.unit = (char *)unit;
    ev.person = (char *)person;
    ev.has_deadline_ms = true;
    ev.deadline_ms = deadline_ms;
    return ev;
}

static Anwang__HazardEvent s_start(uint64_t hlc, const char *origin)
{
    return s_ev(hlc, origin, ANWANG__HAZARD_OP__HAZARD_START);
}

static Anwang__HazardEvent s_rectified(uint64_t hlc, const char *origin, const char *evidence)
{
    Anwang__HazardEvent ev = s_ev(hlc, origin, ANWANG__HAZARD_OP__HAZARD_RECTIFIED);

    ev.evidence = (char *)evidence;
    return ev;
}

static Anwang__HazardEvent s_verify(uint64_t hlc, const char *origin, bool ok)
{
    Anwang__HazardEvent ev = s_ev(hlc, origin, ANWANG__HAZARD_OP__HAZARD_VERIFY);

    ev.has_ok = true;
    ev.ok = ok;
    return ev;
}

static Anwang__HazardEvent s_notify(uint64_t hlc, const char *origin, const char *audience,
                                    const char *text)
{
    Anwang__HazardEvent ev = s_ev(hlc, origin, ANWANG__HAZARD_OP__HAZARD_NOTIFY);

    ev.audience = (char *)audience;
    ev.text = (char *)text;
    return ev;
}

static Anwang__HazardEvent s_note(uint64_t hlc, const char *origin, const char *note)
{
    Anwang__HazardEvent ev = s_ev(hlc, origin, ANWANG__HAZARD_OP__HAZARD_NOTE);

    ev.note = (char *)note;
    return ev;
}

static Anwang__HazardEvent s_reopen(uint64_t hlc, const char *origin)
{
    return s_ev(hlc, origin, ANWANG__HAZARD_OP__HAZARD_REOPEN);
}

/* Folds @p n events (in array order) and fails the test unless it worked. */
static aw_hazard_state *s_fold(const Anwang__HazardEvent *evs, size_t n)
{
    const Anwang__HazardEvent **ptrs = malloc(n * sizeof *ptrs);
    aw_hazard_state *st = NULL;

    cr_assert_not_null(ptrs);
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &evs[i];
    cr_assert_eq(aw_ledger_fold(ptrs, n, &st), AW_OK);
    free(ptrs);
    return st;
}

#define S_FOLD(arr) s_fold((arr), sizeof(arr) / sizeof((arr)[0]))

/* Asserts that entry @p i has verdict @p reason (NULL = accepted). */
static void s_verdict(const aw_hazard_state *st, size_t i, const char *reason)
{
    cr_assert_lt(i, st->n_entries);
    if (!reason) {
        cr_assert(st->entries[i].accepted, "entry %zu rejected: %s", i, st->entries[i].reason);
        cr_assert_null(st->entries[i].reason);
    } else {
        cr_assert_not(st->entries[i].accepted, "entry %zu accepted, want \"%s\"", i, reason);
        cr_assert_str_eq(st->entries[i].reason, reason, "entry %zu", i);
    }
}

/* ------------------------------------------------------------ usage */

/* Usage: collect a hazard's events (any order), fold, read the state and
 * each event's verdict, free the state before the events. */
Test(ledger, usage_example)
{
    Anwang__HazardEvent evs[] = {
        s_report(s_at(0), "edge-1", ANWANG__HAZARD_LEVEL__HAZARD_GENERAL),
        s_assign(s_at(HOUR), "center", "rongjiawan-safety-office", "li-wei", T0 + 7 * DAY),
        s_start(s_at(2 * HOUR), "edge-1"),
        s_rectified(s_at(DAY), "edge-1", "photo:bund-repaired.jpg"),
        s_verify(s_at(2 * DAY), "center", true),
    };
    aw_hazard_state *st = S_FOLD(evs);

    cr_assert_str_eq(st->id, HAZ);
    cr_assert_eq(st->status, AW_HAZARD_CLOSED);
    cr_assert_str_eq(aw_hazard_status_name(st->status), "closed");
    cr_assert_str_eq(st->site, "yueyang/rongjiawan/xinqiang/huaxin-chem");
    cr_assert_eq(st->reported_at_ms, T0);
    cr_assert_str_eq(st->unit, "rongjiawan-safety-office");
    cr_assert_str_eq(st->evidence, "photo:bund-repaired.jpg");
    cr_assert_eq(st->closed_at_ms, T0 + 2 * DAY, "no time_ms: the stamp's wall time");
    cr_assert_eq(st->last_hlc, s_at(2 * DAY));
    cr_assert_eq(st->n_entries, 5);
    for (size_t i = 0; i < st->n_entries; i++) {
        s_verdict(st, i, NULL);
        cr_assert_eq(st->entries[i].index, i);
    }
    cr_assert_not(aw_hazard_overdue(st, T0 + 30 * DAY), "closed is never overdue");

    aw_hazard_state_destroy(&st);
    cr_assert_null(st);
    aw_hazard_state_destroy(&st); /* safe twice */
}

/* ------------------------------------------------------------ transitions */

/* The events that bring a hazard to each status, in order. */
static size_t s_prefix(aw_hazard_status status, Anwang__HazardEvent *out)
{
    static const aw_hazard_status path[] = {AW_HAZARD_REPORTED, AW_HAZARD_ASSIGNED,
                                            AW_HAZARD_RECTIFYING, AW_HAZARD_RECTIFIED,
                                            AW_HAZARD_CLOSED};
    Anwang__HazardEvent steps[] = {
        s_report(s_at(0), "edge-1", ANWANG__HAZARD_LEVEL__HAZARD_GENERAL),
        s_assign(s_at(1), "center", "unit-a", "li-wei", T0 + DAY),
        s_start(s_at(2), "edge-1"),
        s_rectified(s_at(3), "edge-1", "photo-1"),
        s_verify(s_at(4), "center", true),
    };
    size_t n = 0;

    while (status != AW_HAZARD_UNREPORTED && n < 5) {
        out[n] = steps[n];
        if (path[n++] == status)
            break;
    }
    return n;
}

/* A valid event of each op, stamped after every prefix event. */
static Anwang__HazardEvent s_valid_op(Anwang__HazardOp op)
{
    uint64_t t = s_at(HOUR);

    switch (op) {
    case ANWANG__HAZARD_OP__HAZARD_REPORT:
        return s_report(t, "center", ANWANG__HAZARD_LEVEL__HAZARD_GENERAL);
    case ANWANG__HAZARD_OP__HAZARD_ASSIGN:
        return s_assign(t, "center", "unit-b", "wang-fang", T0 + 2 * DAY);
    case ANWANG__HAZARD_OP__HAZARD_RECTIFIED:
        return s_rectified(t, "edge-1", "photo-2");
    case ANWANG__HAZARD_OP__HAZARD_VERIFY:
        return s_verify(t, "center", true);
    case ANWANG__HAZARD_OP__HAZARD_NOTIFY:
        return s_notify(t, "center", AW_AUDIENCE_SAFETY_BUREAU, "通报");
    case ANWANG__HAZARD_OP__HAZARD_NOTE:
        return s_note(t, "edge-1", "called the site");
    default:
        return s_ev(t, "center", op);
    }
}

typedef struct transition {
    const char *reason; /* NULL = accepted */
    aw_hazard_status to;
} transition;

#define OK(st)                                                                                     \
    {                                                                                              \
        NULL, AW_HAZARD_##st                                                                       \
    }
#define NO(why)                                                                                    \
    {                                                                                              \
        why, (aw_hazard_status)-1                                                                  \
    }

/* [from status][op]: the whole table of ledger.h. */
static const transition s_table[AW_HAZARD_STATUS_COUNT][8] = {
    [AW_HAZARD_UNREPORTED] = {OK(REPORTED), NO("no report yet"), NO("no report yet"),
                              NO("no report yet"), NO("no report yet"), NO("no report yet"),
                              NO("no report yet"), NO("no report yet")},
    [AW_HAZARD_REPORTED] = {NO("already reported"), OK(ASSIGNED), NO("start needs status assigned"),
                            NO("rectified needs status rectifying"),
                            NO("verify needs status rectified"), OK(REPORTED), OK(REPORTED),
                            NO("reopen needs status closed")},
    [AW_HAZARD_ASSIGNED] = {NO("already reported"), OK(ASSIGNED), OK(RECTIFYING),
                            NO("rectified needs status rectifying"),
                            NO("verify needs status rectified"), OK(ASSIGNED), OK(ASSIGNED),
                            NO("reopen needs status closed")},
    [AW_HAZARD_RECTIFYING] = {NO("already reported"), OK(ASSIGNED),
                              NO("start needs status assigned"), OK(RECTIFIED),
                              NO("verify needs status rectified"), OK(RECTIFYING), OK(RECTIFYING),
                              NO("reopen needs status closed")},
    [AW_HAZARD_RECTIFIED] = {NO("already reported"),
                             NO("assign needs status reported, assigned or rectifying"),
                             NO("start needs status assigned"),
                             NO("rectified needs status rectifying"), OK(CLOSED), OK(RECTIFIED),
                             OK(RECTIFIED), NO("reopen needs status closed")},
    [AW_HAZARD_CLOSED] = {NO("already reported"),
                          NO("assign needs status reported, assigned or rectifying"),
                          NO("start needs status assigned"),
                          NO("rectified needs status rectifying"),
                          NO("verify needs status rectified"), OK(CLOSED), OK(CLOSED),
                          OK(REPORTED)},
};

Test(ledger, every_transition)
{
    for (int from = 0; from < AW_HAZARD_STATUS_COUNT; from++) {
        for (int op = 0; op < 8; op++) {
            Anwang__HazardEvent evs[6];
            size_t n = s_prefix((aw_hazard_status)from, evs);
            const transition *want = &s_table[from][op];
            aw_hazard_state *st;

            evs[n] = s_valid_op((Anwang__HazardOp)op);
            st = s_fold(evs, n + 1);
            cr_assert_eq(st->entries[n].event, &evs[n], "the new event folds last");
            s_verdict(st, n, want->reason);
            if (want->reason)
                cr_assert_eq((int)st->status, from, "%s in %s: rejected, unchanged",
                             aw_hazard_op_name(op), aw_hazard_status_name(from));
            else
                cr_assert_eq(st->status, want->to, "%s in %s → %s, got %s", aw_hazard_op_name(op),
                             aw_hazard_status_name(from), aw_hazard_status_name(want->to),
                             aw_hazard_status_name(st->status));
            aw_hazard_state_destroy(&st);
        }
    }
}

Test(ledger, missing_fields_are_rejected_with_reason)
{
    Anwang__HazardEvent bad_report = s_report(s_at(0), "edge-1", 0);
    bad_report.title = "";
    Anwang__HazardEvent r1[] = {bad_report};
    aw_hazard_state *st = S_FOLD(r1);
    s_verdict(st, 0, "report needs site, sector, level, title and source");
    cr_assert_eq(st->status, AW_HAZARD_UNREPORTED);
    cr_assert_null(st->site, "a rejected report sets nothing");
    aw_hazard_state_destroy(&st);

    Anwang__HazardEvent evs[] = {
        s_report(s_at(0), "edge-1", ANWANG__HAZARD_LEVEL__HAZARD_GENERAL),
        s_assign(s_at(1), "center", "unit-a", NULL, T0 + DAY),
        s_assign(s_at(2), "center", "unit-a", "li-wei", T0 + DAY),
        s_start(s_at(3), "edge-1"),
        s_rectified(s_at(4), "edge-1", NULL),
        s_rectified(s_at(5), "edge-1", "photo-1"),
        s_ev(s_at(6), "center", ANWANG__HAZARD_OP__HAZARD_VERIFY),
        s_notify(s_at(7), "center", AW_AUDIENCE_SAFETY_BUREAU, NULL),
        s_notify(s_at(8), "center", "", "text"),
        s_note(s_at(9), "center", NULL),
    };
    Anwang__HazardEvent no_deadline = s_assign(s_at(2), "center", "unit-a", "li-wei", 0);
    no_deadline.has_deadline_ms = false;
    st = S_FOLD(evs);
    s_verdict(st, 1, "assign needs unit, person and deadline");
    s_verdict(st, 2, NULL);
    s_verdict(st, 4, "rectified needs evidence");
    s_verdict(st, 5, NULL);
    s_verdict(st, 6, "verify needs ok");
    s_verdict(st, 7, "notify needs audience and text");
    s_verdict(st, 8, "notify needs audience and text");
    s_verdict(st, 9, "note needs note text");
    cr_assert_eq(st->status, AW_HAZARD_RECTIFIED);
    cr_assert_eq(st->notify_count, 0);
    aw_hazard_state_destroy(&st);

    Anwang__HazardEvent r2[] = {evs[0], no_deadline};
    st = S_FOLD(r2);
    s_verdict(st, 1, "assign needs unit, person and deadline");
    aw_hazard_state_destroy(&st);
}

Test(ledger, state_is_checked_before_fields)
{
    Anwang__HazardEvent evs[] = {
        s_report(s_at(0), "edge-1", ANWANG__HAZARD_LEVEL__HAZARD_GENERAL),
        s_rectified(s_at(1), "edge-1", NULL),
    };
    aw_hazard_state *st = S_FOLD(evs);

    s_verdict(st, 1, "rectified needs status rectifying");
    aw_hazard_state_destroy(&st);
}

Test(ledger, unknown_op_level_and_source)
{
    Anwang__HazardEvent bad_level = s_report(s_at(0), "edge-1", (Anwang__HazardLevel)7);
    Anwang__HazardEvent bad_source = s_report(s_at(1), "edge-1", 0);
    bad_source.source = (Anwang__HazardSource)-1;
    Anwang__HazardEvent evs[] = {
        bad_level,
        bad_source,
        s_report(s_at(2), "edge-1", 0),
        s_ev(s_at(3), "center", (Anwang__HazardOp)99),
    };
    aw_hazard_state *st = S_FOLD(evs);

    s_verdict(st, 0, "report has an unknown level or source");
    s_verdict(st, 1, "report has an unknown level or source");
    s_verdict(st, 2, NULL);
    s_verdict(st, 3, "unknown op");
    cr_assert_eq(st->last_hlc, s_at(2));
    aw_hazard_state_destroy(&st);
}

Test(ledger, events_before_the_report_are_rejected)
{
    /* the assign's stamp sorts before the report: it cannot have seen it */
    Anwang__HazardEvent evs[] = {
        s_report(s_at(10), "edge-1", 0),
        s_assign(s_at(5), "center", "unit-a", "li-wei", T0 + DAY),
        s_note(s_at(1), "center", "early"),
    };
    aw_hazard_state *st = S_FOLD(evs);

    cr_assert_eq(st->entries[0].index, 2, "fold order is stamp order");
    s_verdict(st, 0, "no report yet");
    s_verdict(st, 1, "no report yet");
    s_verdict(st, 2, NULL);
    cr_assert_eq(st->status, AW_HAZARD_REPORTED);
    cr_assert_null(st->unit);
    aw_hazard_state_destroy(&st);
}

Test(ledger, verify_fail_loops_back_to_rectifying)
{
    Anwang__HazardEvent evs[] = {
        s_report(s_at(0), "edge-1", 0),
        s_assign(s_at(1), "center", "unit-a", "li-wei", T0 + 9 * DAY),
        s_start(s_at(2), "edge-1"),
        s_rectified(s_at(3), "edge-1", "photo-1"),
        s_verify(s_at(4), "center", false),
        s_rectified(s_at(5), "edge-1", "photo-2"),
        s_verify(s_at(6), "center", false),
        s_rectified(s_at(7), "edge-1", "photo-3"),
    };
    aw_hazard_state *st = s_fold(evs, 5);

    cr_assert_eq(st->status, AW_HAZARD_RECTIFYING);
    cr_assert_null(st->evidence, "failed evidence is not current");
    cr_assert_str_eq(st->unit, "unit-a", "the assignment stays");
    aw_hazard_state_destroy(&st);

    st = S_FOLD(evs);
    for (size_t i = 0; i < st->n_entries; i++)
        s_verdict(st, i, NULL);
    cr_assert_eq(st->status, AW_HAZARD_RECTIFIED);
    cr_assert_str_eq(st->evidence, "photo-3");
    aw_hazard_state_destroy(&st);
}

Test(ledger, reopen_needs_a_new_assignment)
{
    Anwang__HazardEvent evs[] = {
        s_report(s_at(0), "edge-1", 0),
        s_assign(s_at(1), "center", "unit-a", "li-wei", T0 + DAY),
        s_start(s_at(2), "edge-1"),
        s_rectified(s_at(3), "edge-1", "photo-1"),
        s_verify(s_at(4), "center", true),
        s_reopen(s_at(5), "center"),
        s_start(s_at(6), "edge-1"),
        s_reopen(s_at(7), "center"),
        s_assign(s_at(8), "center", "unit-b", "wang-fang", T0 + 3 * DAY),
        s_start(s_at(9), "edge-1"),
    };
    aw_hazard_state *st = s_fold(evs, 6);

    cr_assert_eq(st->status, AW_HAZARD_REPORTED);
    cr_assert_eq(st->reopen_count, 1);
    cr_assert_null(st->unit);
    cr_assert_null(st->evidence);
    cr_assert_eq(st->closed_at_ms, 0);
    cr_assert_not(aw_hazard_overdue(st, T0 + 30 * DAY), "no assignment, no deadline");
    aw_hazard_state_destroy(&st);

    st = S_FOLD(evs);
    s_verdict(st, 6, "start needs status assigned");
    s_verdict(st, 7, "reopen needs status closed");
    s_verdict(st, 8, NULL);
    s_verdict(st, 9, NULL);
    cr_assert_eq(st->status, AW_HAZARD_RECTIFYING);
    cr_assert_str_eq(st->unit, "unit-b");
    cr_assert_eq(st->reopen_count, 1);
    aw_hazard_state_destroy(&st);
}

Test(ledger, reassign_while_rectifying)
{
    Anwang__HazardEvent evs[] = {
        s_report(s_at(0), "edge-1", 0),
        s_assign(s_at(1), "center", "unit-a", "li-wei", T0 + DAY),
        s_start(s_at(2), "edge-1"),
        /* same unit, later deadline (延期): still rectifying */
        s_assign(s_at(3), "center", "unit-a", "zhao-lei", T0 + 5 * DAY),
        /* another unit: it must start itself */
        s_assign(s_at(4), "center", "unit-b", "wang-fang", T0 + 6 * DAY),
    };
    aw_hazard_state *st = s_fold(evs, 4);

    cr_assert_eq(st->status, AW_HAZARD_RECTIFYING);
    cr_assert_str_eq(st->person, "zhao-lei");
    cr_assert_eq(st->deadline_ms, T0 + 5 * DAY);
    aw_hazard_state_destroy(&st);

    st = S_FOLD(evs);
    cr_assert_eq(st->status, AW_HAZARD_ASSIGNED);
    cr_assert_str_eq(st->unit, "unit-b");
    aw_hazard_state_destroy(&st);
}

Test(ledger, notify_and_note_in_every_state)
{
    for (int from = AW_HAZARD_REPORTED; from < AW_HAZARD_STATUS_COUNT; from++) {
        Anwang__HazardEvent evs[7];
        size_t n = s_prefix((aw_hazard_status)from, evs);
        aw_hazard_state *st;

        evs[n] = s_notify(s_at(HOUR), "center", "sector:" SECTOR, "通报: 整改进度");
        evs[n + 1] = s_note(s_at(HOUR + 1), "edge-1", "site visited");
        st = s_fold(evs, n + 2);
        s_verdict(st, n, NULL);
        s_verdict(st, n + 1, NULL);
        cr_assert_eq((int)st->status, from);
        cr_assert_eq(st->notify_count, 1);
        cr_assert(st->notified_sector);
        cr_assert_not(st->notified_bureau);
        aw_hazard_state_destroy(&st);
    }
}

/* ------------------------------------------------------------ set semantics */

Test(ledger, exact_duplicates_count_once)
{
    Anwang__HazardEvent evs[] = {
        s_report(s_at(0), "edge-1", 0),
        s_notify(s_at(1), "edge-1", AW_AUDIENCE_SAFETY_BUREAU, "重大隐患"),
        s_notify(s_at(1), "edge-1", AW_AUDIENCE_SAFETY_BUREAU, "重大隐患"), /* resent copy */
        s_report(s_at(0), "edge-1", 0),                                     /* resent copy */
    };
    aw_hazard_state *st = S_FOLD(evs);
    aw_hazard_state *once = s_fold(evs, 2);

    cr_assert_eq(st->n_entries, 2, "copies are dropped, not listed");
    s_verdict(st, 0, NULL);
    s_verdict(st, 1, NULL);
    cr_assert_eq(st->notify_count, 1);
    cr_assert(aw_hazard_state_equal(st, once), "a set: copies change nothing");
    cr_assert_eq(st->entries[0].index, 0, "the first copy in input order is listed");
    aw_hazard_state_destroy(&st);
    aw_hazard_state_destroy(&once);
}

Test(ledger, conflicting_event_ids)
{
    /* two different events claim (hlc, origin) = (s_at(1), "edge-1") */
    Anwang__HazardEvent a = s_note(s_at(1), "edge-1", "aaa");
    Anwang__HazardEvent b = s_note(s_at(1), "edge-1", "bbb");
    Anwang__HazardEvent r = s_report(s_at(0), "edge-1", 0);
    Anwang__HazardEvent ab[] = {r, a, b}, ba[] = {r, b, a};
    aw_hazard_state *s1 = S_FOLD(ab), *s2 = S_FOLD(ba);

    cr_assert_eq(s1->n_entries, 3);
    s_verdict(s1, 1, NULL);
    s_verdict(s1, 2, "conflicting event id");
    cr_assert_str_eq(s1->entries[1].event->note, "aaa", "content order decides");
    cr_assert_str_eq(s2->entries[1].event->note, "aaa");
    cr_assert(aw_hazard_state_equal(s1, s2));
    cr_assert_eq(s1->last_hlc, s_at(1));
    aw_hazard_state_destroy(&s1);
    aw_hazard_state_destroy(&s2);
}

Test(ledger, conflict_with_a_rejected_event_is_still_a_conflict)
{
    Anwang__HazardEvent evs[] = {
        s_report(s_at(0), "edge-1", 0),
        s_start(s_at(1), "edge-1"), /* rejected: not assigned */
        s_assign(s_at(1), "edge-1", "unit-a", "li-wei", T0 + DAY),
    };
    aw_hazard_state *st = S_FOLD(evs);

    /* op ASSIGN (1) < START (2): the assign comes first and is accepted */
    s_verdict(st, 1, NULL);
    cr_assert_eq(st->entries[1].event->op, ANWANG__HAZARD_OP__HAZARD_ASSIGN);
    s_verdict(st, 2, "conflicting event id");
    cr_assert_eq(st->status, AW_HAZARD_ASSIGNED);
    aw_hazard_state_destroy(&st);
}

Test(ledger, concurrent_events_order_by_origin)
{
    /* same stamp at the center and at edge-1: "center" < "edge-1" */
    Anwang__HazardEvent evs[] = {
        s_report(s_at(0), "edge-1", 0),
        s_assign(s_at(5), "edge-1", "unit-edge", "li-wei", T0 + DAY),
        s_assign(s_at(5), "center", "unit-center", "wang-fang", T0 + 2 * DAY),
    };
    aw_hazard_state *st = S_FOLD(evs);

    cr_assert_str_eq(st->entries[1].event->origin, "center");
    s_verdict(st, 1, NULL);
    s_verdict(st, 2, NULL);
    cr_assert_str_eq(st->unit, "unit-edge", "the later in fold order wins");
    aw_hazard_state_destroy(&st);
}

Test(ledger, event_order)
{
    Anwang__HazardEvent a = s_note(s_at(1), "edge-1", "x");
    Anwang__HazardEvent b = a;

    cr_assert_eq(aw_hazard_event_cmp(&a, &b), 0);
    b.hlc++;
    cr_assert_lt(aw_hazard_event_cmp(&a, &b), 0, "hlc first");
    b = a;
    b.origin = "edge-2";
    cr_assert_lt(aw_hazard_event_cmp(&a, &b), 0, "then origin");
    b = a;
    b.has_time_ms = true;
    b.time_ms = -5;
    cr_assert_lt(aw_hazard_event_cmp(&a, &b), 0, "unset before set");
    a.has_time_ms = true;
    a.time_ms = 7;
    cr_assert_gt(aw_hazard_event_cmp(&a, &b), 0, "then the value");
    b = a;
    b.by = "";
    cr_assert_lt(aw_hazard_event_cmp(&a, &b), 0, "NULL before empty");
    b = a;
    a.has_ok = b.has_ok = true;
    a.ok = 1;
    b.ok = 2; /* both true */
    cr_assert_eq(aw_hazard_event_cmp(&a, &b), 0, "bools by truth");
}

Test(ledger, event_time)
{
    Anwang__HazardEvent ev = s_note(aw_hlc_make((uint64_t)T0, 9), "edge-1", "x");

    cr_assert_eq(aw_hazard_event_time_ms(&ev), T0);
    ev.has_time_ms = true;
    ev.time_ms = 42;
    cr_assert_eq(aw_hazard_event_time_ms(&ev), 42);
}

Test(ledger, bad_input_is_refused)
{
    Anwang__HazardEvent a = s_report(s_at(0), "edge-1", 0), b = s_note(s_at(1), "center", "x");
    const Anwang__HazardEvent *evs[] = {&a, &b};
    aw_hazard_state *st = (aw_hazard_state *)&st; /* must be nulled */

    cr_assert_eq(aw_ledger_fold(evs, 0, &st), AW_EINVAL);
    cr_assert_null(st);
    cr_assert_eq(aw_ledger_fold(NULL, 2, &st), AW_EINVAL);
    b.hazard_id = "hz-other";
    cr_assert_eq(aw_ledger_fold(evs, 2, &st), AW_EINVAL, "one hazard per fold");
    b.hazard_id = HAZ;
    b.origin = NULL;
    cr_assert_eq(aw_ledger_fold(evs, 2, &st), AW_EINVAL);
    b.origin = "center";
    evs[1] = NULL;
    cr_assert_eq(aw_ledger_fold(evs, 2, &st), AW_EINVAL);
    cr_assert_null(st);
}

/* ------------------------------------------------------------ queries */

Test(ledger, overdue)
{
    Anwang__HazardEvent evs[] = {
        s_report(s_at(0), "edge-1", 0),
        s_assign(s_at(1), "center", "unit-a", "li-wei", T0 + DAY),
        s_start(s_at(2), "edge-1"),
        s_rectified(s_at(3), "edge-1", "photo-1"),
    };
    aw_hazard_state *st = s_fold(evs, 1);
    cr_assert_not(aw_hazard_overdue(st, T0 + 99 * DAY), "reported: no deadline yet");
    aw_hazard_state_destroy(&st);

    for (size_t n = 2; n <= 3; n++) {
        st = s_fold(evs, n);
        cr_assert_not(aw_hazard_overdue(st, T0 + DAY), "at the deadline: not yet");
        cr_assert(aw_hazard_overdue(st, T0 + DAY + 1), "%s", aw_hazard_status_name(st->status));
        aw_hazard_state_destroy(&st);
    }
    st = S_FOLD(evs);
    cr_assert_not(aw_hazard_overdue(st, T0 + 2 * DAY), "rectified: awaiting the verifier");
    aw_hazard_state_destroy(&st);
}

Test(ledger, dual_report)
{
    Anwang__HazardEvent report = s_report(s_at(0), "edge-1", ANWANG__HAZARD_LEVEL__HAZARD_MAJOR);
    aw_dual_report *dr = NULL;
    aw_hazard_state *st;

    Anwang__HazardEvent only[] = {report};
    st = S_FOLD(only);
    cr_assert(aw_hazard_dual_report_missing(st));
    cr_assert_not(aw_hazard_dual_reported(st));
    aw_hazard_state_destroy(&st);

    cr_assert_eq(aw_dual_report_new(&report, "edge-1", s_at(1), s_at(2), T0 + 3, &dr), AW_OK);
    cr_assert_str_eq(dr->events[0].audience, "safety-bureau");
    cr_assert_str_eq(dr->events[1].audience, "sector:hazardous-chemicals");
    cr_assert_str_eq(dr->events[1].text, report.title);
    cr_assert_eq(dr->events[1].hlc, s_at(2));
    cr_assert_eq(dr->events[1].time_ms, T0 + 3);

    Anwang__HazardEvent evs[] = {report, dr->events[1], dr->events[0]};
    st = S_FOLD(evs);
    s_verdict(st, 1, NULL);
    s_verdict(st, 2, NULL);
    cr_assert(aw_hazard_dual_reported(st));
    cr_assert_not(aw_hazard_dual_report_missing(st));
    cr_assert_eq(st->notify_count, 2);
    aw_hazard_state_destroy(&st);

    /* a notify to another sector's department does not count */
    evs[1].audience = "sector:fireworks";
    st = S_FOLD(evs);
    cr_assert(aw_hazard_dual_report_missing(st));
    aw_hazard_state_destroy(&st);
    aw_dual_report_destroy(&dr);
    cr_assert_null(dr);
    aw_dual_report_destroy(&dr);
}

Test(ledger, dual_report_refuses_bad_input)
{
    Anwang__HazardEvent general = s_report(s_at(0), "edge-1", ANWANG__HAZARD_LEVEL__HAZARD_GENERAL);
    Anwang__HazardEvent major = s_report(s_at(0), "edge-1", ANWANG__HAZARD_LEVEL__HAZARD_MAJOR);
    Anwang__HazardEvent note = s_note(s_at(0), "edge-1", "x");
    aw_dual_report *dr = (aw_dual_report *)&dr;

    cr_assert_eq(aw_dual_report_new(&general, "edge-1", 1, 2, T0, &dr), AW_EINVAL);
    cr_assert_null(dr);
    cr_assert_eq(aw_dual_report_new(&note, "edge-1", 1, 2, T0, &dr), AW_EINVAL);
    cr_assert_eq(aw_dual_report_new(&major, "edge-1", 1, 1, T0, &dr), AW_EINVAL);
    cr_assert_eq(aw_dual_report_new(&major, "", 1, 2, T0, &dr), AW_EINVAL);
    major.sector = NULL;
    cr_assert_eq(aw_dual_report_new(&major, "edge-1", 1, 2, T0, &dr), AW_EINVAL);
    cr_assert_null(dr);
}

Test(ledger, names)
{
    static const char *const status[] = {"unreported", "reported",  "assigned",
                                         "rectifying", "rectified", "closed"};
    static const char *const ops[] = {"report", "assign", "start", "rectified",
                                      "verify", "notify", "note",  "reopen"};
    aw_hazard_status s;
    Anwang__HazardOp op;
    Anwang__HazardLevel level;
    Anwang__HazardSource source;

    for (int i = 0; i < 6; i++) {
        cr_assert_str_eq(aw_hazard_status_name((aw_hazard_status)i), status[i]);
        cr_assert_eq(aw_hazard_status_parse(status[i], &s), AW_OK);
        cr_assert_eq((int)s, i);
    }
    for (int i = 0; i < 8; i++) {
        cr_assert_str_eq(aw_hazard_op_name((Anwang__HazardOp)i), ops[i]);
        cr_assert_eq(aw_hazard_op_parse(ops[i], &op), AW_OK);
        cr_assert_eq((int)op, i);
    }
    cr_assert_null(aw_hazard_status_name((aw_hazard_status)6));
    cr_assert_null(aw_hazard_op_name((Anwang__HazardOp)-1));
    cr_assert_eq(aw_hazard_status_parse("Closed", &s), AW_EINVAL);
    cr_assert_eq(aw_hazard_op_parse("", &op), AW_EINVAL);
    cr_assert_eq(aw_hazard_op_parse(NULL, &op), AW_EINVAL);

    cr_assert_eq(aw_hazard_level_parse("major", &level), AW_OK);
    cr_assert_eq(level, ANWANG__HAZARD_LEVEL__HAZARD_MAJOR);
    cr_assert_str_eq(aw_hazard_level_name(ANWANG__HAZARD_LEVEL__HAZARD_GENERAL), "general");
    cr_assert_eq(aw_hazard_level_parse("minor", &level), AW_EINVAL);
    cr_assert_eq(aw_hazard_source_parse("public-report", &source), AW_OK);
    cr_assert_eq(source, ANWANG__HAZARD_SOURCE__SOURCE_PUBLIC_REPORT);
    cr_assert_str_eq(aw_hazard_source_name(ANWANG__HAZARD_SOURCE__SOURCE_INSPECTION), "inspection");
    cr_assert_eq(aw_hazard_source_parse("anonymous", &source), AW_EINVAL);
}

/* ------------------------------------------------------------ property */

/* A realistic ledger: a major hazard reported at edge-1, handled at both
 * ends with concurrent stamps, resent copies, a conflicting id and invalid
 * events. Returns the count; s_realistic_verdicts lists the verdicts. */
static size_t s_realistic(Anwang__HazardEvent *evs)
{
    size_t n = 0;
    Anwang__HazardEvent unknown = s_ev(s_at(13 * DAY + 2), "center", (Anwang__HazardOp)99);
    Anwang__HazardEvent no_ok = s_ev(s_at(12 * DAY), "center", ANWANG__HAZARD_OP__HAZARD_VERIFY);

    evs[n++] = s_report(s_at(0), "edge-1", ANWANG__HAZARD_LEVEL__HAZARD_MAJOR);
    evs[n++] = s_notify(s_at(1), "edge-1", AW_AUDIENCE_SAFETY_BUREAU, "重大隐患");
    evs[n++] = s_notify(s_at(2), "edge-1", "sector:" SECTOR, "重大隐患");
    evs[n++] = s_notify(s_at(1), "edge-1", AW_AUDIENCE_SAFETY_BUREAU, "重大隐患"); /* copy */
    evs[n++] = s_note(s_at(2), "center", "received, calling the site");
    evs[n++] = s_assign(s_at(HOUR), "center", "rongjiawan-office", "li-wei", T0 + 7 * DAY);
    evs[n++] = s_assign(s_at(HOUR), "edge-1", "rongjiawan-office", "zhao-lei", T0 + 7 * DAY);
    evs[n++] = s_start(s_at(2 * HOUR), "edge-1");
    evs[n++] = s_start(s_at(2 * HOUR + 1), "center"); /* already rectifying */
    evs[n++] = s_note(s_at(3 * HOUR), "edge-1", "scaffolding up");
    evs[n++] = s_rectified(s_at(DAY), "edge-1", "photo-123");
    evs[n++] = s_verify(s_at(2 * DAY), "center", false);
    evs[n++] = s_rectified(s_at(2 * DAY + 1), "edge-1", NULL); /* no evidence */
    evs[n++] = s_rectified(s_at(3 * DAY), "edge-1", "photo-456");
    evs[n++] = s_verify(s_at(4 * DAY), "center", true);
    evs[n++] = s_notify(s_at(4 * DAY + 1), "center", "sector:" SECTOR, "已销号");
    evs[n++] = s_note(s_at(4 * DAY + 2), "edge-1", "aaa");
    evs[n++] = s_note(s_at(4 * DAY + 2), "edge-1", "bbb");                /* conflicting id */
    evs[n++] = s_assign(s_at(5 * DAY), "center", "x", "y", T0 + 9 * DAY); /* closed */
    evs[n++] = s_reopen(s_at(10 * DAY), "center");
    evs[n++] = s_start(s_at(10 * DAY + 1), "edge-1"); /* not assigned */
    evs[n++] =
        s_assign(s_at(10 * DAY + 2), "center", "yueyang-chem-team", "wang-fang", T0 + 20 * DAY);
    evs[n++] = s_report(s_at(10 * DAY + 3), "edge-1", 0); /* already reported */
    evs[n++] = s_start(s_at(11 * DAY), "edge-1");
    evs[n++] =
        s_assign(s_at(11 * DAY + 1), "center", "yueyang-chem-team", "chen-jie", T0 + 25 * DAY);
    evs[n++] = s_note(s_at(3 * HOUR), "edge-1", "scaffolding up");      /* copy */
    evs[n++] = s_assign(s_at(-5), "center", "early", "bird", T0 + DAY); /* no report yet */
    evs[n++] = no_ok;
    evs[n++] = s_rectified(s_at(12 * DAY + 1), "edge-1", "photo-789");
    evs[n++] = s_verify(s_at(13 * DAY), "center", true);
    evs[n++] = s_notify(s_at(13 * DAY + 1), "edge-1", "sector:" SECTOR, NULL); /* no text */
    evs[n++] = unknown;
    return n;
}

/* Verdicts of s_realistic() in fold order. */
static const char *const s_realistic_verdicts[] = {
    "no report yet",
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    "start needs status assigned",
    NULL,
    NULL,
    NULL,
    "rectified needs evidence",
    NULL,
    NULL,
    NULL,
    NULL,
    "conflicting event id",
    "assign needs status reported, assigned or rectifying",
    NULL,
    "start needs status assigned",
    NULL,
    "already reported",
    NULL,
    NULL,
    "verify needs status rectified",
    NULL,
    NULL,
    "notify needs audience and text",
    "unknown op",
};

/* xorshift64*: small, seedable, the same on every platform. */
static uint64_t s_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static uint64_t s_seed(void)
{
    const char *env = getenv("AW_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);

    fprintf(stderr, "test_ledger: AW_SEED=%" PRIu64 "\n", seed);
    return seed ? seed : 1;
}

Test(ledger, any_order_and_any_copies_give_one_state)
{
    Anwang__HazardEvent evs[40];
    const Anwang__HazardEvent *ptrs[48];
    size_t n = s_realistic(evs);
    uint64_t rng = s_seed();
    aw_hazard_state *ref = s_fold(evs, n);

    cr_assert_eq(ref->n_entries, sizeof s_realistic_verdicts / sizeof s_realistic_verdicts[0]);
    for (size_t i = 0; i < ref->n_entries; i++)
        s_verdict(ref, i, s_realistic_verdicts[i]);
    cr_assert_eq(ref->status, AW_HAZARD_CLOSED);
    cr_assert_eq(ref->reopen_count, 1);
    cr_assert_eq(ref->notify_count, 3);
    cr_assert(aw_hazard_dual_reported(ref));
    cr_assert_str_eq(ref->person, "chen-jie");
    cr_assert_str_eq(ref->evidence, "photo-789");

    for (int round = 0; round < 1000; round++) {
        size_t m = n + s_rand(&rng) % 4; /* up to 3 extra copies: resends */
        aw_hazard_state *st = NULL;

        for (size_t i = 0; i < m; i++)
            ptrs[i] = i < n ? &evs[i] : &evs[s_rand(&rng) % n];
        for (size_t i = m - 1; i > 0; i--) {
            size_t j = s_rand(&rng) % (i + 1);
            const Anwang__HazardEvent *t = ptrs[i];
            ptrs[i] = ptrs[j];
            ptrs[j] = t;
        }
        cr_assert_eq(aw_ledger_fold(ptrs, m, &st), AW_OK);
        cr_assert(aw_hazard_state_equal(ref, st), "round %d differs", round);
        for (size_t i = 0; i < st->n_entries; i++)
            cr_assert_eq(aw_hazard_event_cmp(st->entries[i].event, ref->entries[i].event), 0);
        aw_hazard_state_destroy(&st);
    }
    aw_hazard_state_destroy(&ref);
}

/* aw_hazard_event_cmp() walks HazardEvent's descriptor and compares the
 * kinds of field it has today; a schema change adding another kind must
 * extend it (ledger.c, s_value_cmp) or copies would not be recognised. */
Test(ledger, field_kinds_are_handled)
{
    const ProtobufCMessageDescriptor *d = &anwang__hazard_event__descriptor;

    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        cr_assert_neq(f->label, PROTOBUF_C_LABEL_REPEATED, "%s", f->name);
        cr_assert_not(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF, "%s", f->name);
        cr_assert(f->type != PROTOBUF_C_TYPE_FLOAT && f->type != PROTOBUF_C_TYPE_DOUBLE &&
                      f->type != PROTOBUF_C_TYPE_BYTES && f->type != PROTOBUF_C_TYPE_MESSAGE,
                  "%s: kind %d not compared by ledger.c", f->name, (int)f->type);
    }
}
