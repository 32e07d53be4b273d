/**
 * @file ledger.h
 * @brief The hazard ledger (台账) of 一单四制: a deterministic fold (SPEC §6).
 *
 * A hazard's ledger is the SET of its events. Its state is the fold of that
 * set in the order of aw_hazard_event_cmp(): by HLC stamp, then origin, then
 * content. Every replica holding the same set shows the same state, and the
 * same verdict for every event, whatever order the events arrived in.
 *
 * Set semantics:
 *  - an event is identified by (hlc, origin);
 *  - exact copies (same identity, same content) count once: only one copy
 *    appears among the entries;
 *  - events with the same identity but different content are all kept, in
 *    content order; the first is folded normally, the others are rejected
 *    with "conflicting event id".
 *
 * Transitions (status before → after). An event that is not a valid
 * transition at its place is kept as a rejected entry with a reason and
 * changes nothing. The state is checked before the fields, so an event
 * that is both misplaced and incomplete gets the state reason.
 *
 * | op               | accepted in                     | status after   | needs                |
 * |------------------|---------------------------------|----------------|----------------------|
 * | report           | nothing accepted yet            | reported       | site, sector, level, |
 * |                  |                                 |                | title, source        |
 * | assign (交办)    | reported, assigned, rectifying  | assigned (1)   | unit, person,        |
 * |                  |                                 |                | deadline_ms          |
 * | start            | assigned                        | rectifying     | -                    |
 * | rectified        | rectifying                      | rectified      | evidence             |
 * | verify ok (销号) | rectified                       | closed         | ok                   |
 * | verify fail      | rectified                       | rectifying (2) | ok                   |
 * | notify (通报)    | any once reported, also closed  | unchanged      | audience, text       |
 * | note             | any once reported, also closed  | unchanged      | note                 |
 * | reopen           | closed                          | reported (3)   | -                    |
 *
 * (1) A re-assignment while rectifying that keeps the unit (a new person or
 *     deadline, 延期) stays rectifying; another unit must start afresh.
 * (2) The failed evidence is cleared from the state.
 * (3) Assignment, evidence and closed time are cleared: it needs a new 交办.
 *
 * Reasons (static strings): "no report yet", "already reported",
 * "report needs site, sector, level, title and source",
 * "report has an unknown level or source",
 * "assign needs status reported, assigned or rectifying",
 * "assign needs unit, person and deadline", "start needs status assigned",
 * "rectified needs status rectifying", "rectified needs evidence",
 * "verify needs status rectified", "verify needs ok",
 * "notify needs audience and text", "note needs note text",
 * "reopen needs status closed", "unknown op", "conflicting event id".
 *
 * A string field counts as present when it is non-NULL and non-empty.
 *
 * 双报告: a major hazard is notified to the safety bureau (audience
 * AW_AUDIENCE_SAFETY_BUREAU) and to its sector's department (audience
 * AW_AUDIENCE_SECTOR_PREFIX followed by the hazard's sector, e.g.
 * "sector:hazardous-chemicals"); aw_dual_report_new() builds both events.
 *
 * Pure module: no I/O, no clock, no logging.
 */
#ifndef AW_LEDGER_H
#define AW_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anwang.pb-c.h"
#include "aw_err.h"

/** Audience of the notify to the county safety bureau (应急管理局). */
#define AW_AUDIENCE_SAFETY_BUREAU "safety-bureau"
/** Audience prefix of the notify to a sector department: "sector:<sector>". */
#define AW_AUDIENCE_SECTOR_PREFIX "sector:"

/** Lifecycle status of a hazard. */
typedef enum aw_hazard_status {
    AW_HAZARD_UNREPORTED = 0, /**< no report accepted (yet): only rejected events */
    AW_HAZARD_REPORTED,       /**< reported, not assigned (also after reopen) */
    AW_HAZARD_ASSIGNED,       /**< 交办: assigned to a unit with a deadline */
    AW_HAZARD_RECTIFYING,     /**< the unit is rectifying */
    AW_HAZARD_RECTIFIED,      /**< rectified, awaiting verification */
    AW_HAZARD_CLOSED,         /**< verified and signed off (销号) */
} aw_hazard_status;

#define AW_HAZARD_STATUS_COUNT 6

/** One event of the ledger with its verdict, in fold order. */
typedef struct aw_hazard_entry {
    const Anwang__HazardEvent *event; /**< borrowed from the fold's input */
    size_t index;                     /**< position of event in the input array */
    bool accepted;                    /**< false: kept in the ledger, changed nothing */
    const char *reason;               /**< static string when rejected; NULL when accepted */
} aw_hazard_entry;

/**
 * A hazard's state after the fold. Read-only for callers; made only by
 * aw_ledger_fold(). Every string is borrowed from the events given to the
 * fold and is valid only while those events live; NULL when unset.
 */
typedef struct aw_hazard_state {
    const char *id;          /**< hazard_id shared by all events */
    aw_hazard_status status; /**< AW_HAZARD_UNREPORTED: no report accepted */

    /* The accepted report (unset while unreported). */
    const char *site;
    const char *sector;
    Anwang__HazardLevel level;
    const char *title;
    const char *description; /**< may be NULL */
    Anwang__HazardSource source;
    const char *reporter;    /**< may be NULL (anonymous public report) */
    const char *reported_by; /**< the report event's by; may be NULL */
    int64_t reported_at_ms;  /**< see aw_hazard_event_time_ms() */

    /* The current assignment: unit is NULL when there is none. */
    const char *unit;
    const char *person;
    int64_t deadline_ms;

    const char *evidence; /**< evidence of the current rectification; NULL when none */
    int64_t closed_at_ms; /**< time of the verify ok while closed, else 0 */

    unsigned reopen_count; /**< accepted reopens */
    unsigned notify_count; /**< accepted notifies */
    bool notified_bureau;  /**< an accepted notify to AW_AUDIENCE_SAFETY_BUREAU */
    bool notified_sector;  /**< an accepted notify to "sector:<sector>" */
    uint64_t last_hlc;     /**< stamp of the last accepted event; 0 when none */

    size_t n_entries;         /**< distinct events (exact copies count once) */
    aw_hazard_entry *entries; /**< n_entries verdicts in fold order */
} aw_hazard_state;

/**
 * Folds @p n events of one hazard into a new state. @p events is borrowed
 * and not modified; the state refers to the events (see aw_hazard_state),
 * so they must outlive it. On success *out is the caller's; free it with
 * aw_hazard_state_destroy(). On failure *out is NULL.
 * Returns AW_OK; AW_EINVAL when @p n is 0, an event, its hazard_id or its
 * origin is NULL, or the events do not all have the same hazard_id;
 * AW_ENOMEM.
 */
int aw_ledger_fold(const Anwang__HazardEvent *const *events, size_t n, aw_hazard_state **out);

/** Frees a state from aw_ledger_fold() and nulls *self_p. Safe on NULL and twice. */
void aw_hazard_state_destroy(aw_hazard_state **self_p);

/**
 * The fold order: compares by hlc, then origin (bytewise), then every other
 * field of the message (presence before value, so unset < set). Returns
 * <0, 0 or >0; 0 means the two are copies of one event. Both events and
 * their hazard_id and origin must be non-NULL.
 */
int aw_hazard_event_cmp(const Anwang__HazardEvent *a, const Anwang__HazardEvent *b);

/**
 * True when @p a and @p b are the same state: all fields equal by value
 * (strings by content) and the same entries, compared by event content and
 * verdict; the input positions (index) may differ.
 */
bool aw_hazard_state_equal(const aw_hazard_state *a, const aw_hazard_state *b);

/**
 * The time an event happened: its time_ms when set, else the wall part of
 * its HLC stamp.
 */
int64_t aw_hazard_event_time_ms(const Anwang__HazardEvent *ev);

/**
 * True when the hazard is overdue at @p now_ms: assigned or rectifying and
 * now_ms > deadline_ms. A rectified hazard awaiting verification is not
 * overdue (the unit has done its part; the verifier is late, not the unit),
 * nor is a closed one or one without an assignment.
 */
bool aw_hazard_overdue(const aw_hazard_state *st, int64_t now_ms);

/** True when both notifies of the 双报告 (bureau and sector) were accepted. */
bool aw_hazard_dual_reported(const aw_hazard_state *st);

/** True for a reported major hazard that still lacks one of the two notifies. */
bool aw_hazard_dual_report_missing(const aw_hazard_state *st);

/** The two notify events of a 双报告 and the storage for the sector audience. */
typedef struct aw_dual_report {
    /** [0]: to AW_AUDIENCE_SAFETY_BUREAU; [1]: to "sector:<sector>". */
    Anwang__HazardEvent events[2];
    char audience_[]; /**< private: storage of both audiences */
} aw_dual_report;

/**
 * Builds the two notify events a new major hazard needs (双报告), stamped
 * @p hlc_bureau and @p hlc_sector (two distinct stamps from the caller's
 * clock) with @p origin and @p time_ms. The text of both is the report's
 * title; by is left NULL for the caller to set. hazard_id, origin and text
 * are borrowed from @p report and @p origin and must outlive the result.
 * On success *out is the caller's; free it with aw_dual_report_destroy().
 * Returns AW_OK; AW_EINVAL when @p report is not a major report with
 * hazard_id, sector and title, @p origin is NULL or empty, or the stamps are
 * equal; AW_ENOMEM.
 */
int aw_dual_report_new(const Anwang__HazardEvent *report, const char *origin, uint64_t hlc_bureau,
                       uint64_t hlc_sector, int64_t time_ms, aw_dual_report **out);

/** Frees @p *self_p and nulls it. Safe on NULL and twice. */
void aw_dual_report_destroy(aw_dual_report **self_p);

/**
 * The status's JSON name: "unreported", "reported", "assigned",
 * "rectifying", "rectified", "closed"; NULL when out of range.
 */
const char *aw_hazard_status_name(aw_hazard_status status);

/** Parses a status name. Returns AW_OK, or AW_EINVAL for an unknown name. */
int aw_hazard_status_parse(const char *name, aw_hazard_status *out);

/**
 * The op's JSON name: "report", "assign", "start", "rectified", "verify",
 * "notify", "note", "reopen"; NULL when out of range.
 */
const char *aw_hazard_op_name(Anwang__HazardOp op);

/** Parses an op name. Returns AW_OK, or AW_EINVAL for an unknown name. */
int aw_hazard_op_parse(const char *name, Anwang__HazardOp *out);

/** The level's JSON name: "general" (一般), "major" (重大); NULL when out of range. */
const char *aw_hazard_level_name(Anwang__HazardLevel level);

/** Parses a level name. Returns AW_OK, or AW_EINVAL for an unknown name. */
int aw_hazard_level_parse(const char *name, Anwang__HazardLevel *out);

/**
 * The source's JSON name: "self-inspection" (自查), "public-report" (举报),
 * "inspection" (检查); NULL when out of range.
 */
const char *aw_hazard_source_name(Anwang__HazardSource source);

/** Parses a source name. Returns AW_OK, or AW_EINVAL for an unknown name. */
int aw_hazard_source_parse(const char *name, Anwang__HazardSource *out);

#endif
