/**
 * @file hazard_json.h
 * @brief The JSON side of the hazard ledger (一单四制, SPEC §6): reports and
 * lifecycle events from JSON, events and hazard states to JSON.
 *
 * Shared by the edge (CoAP `/hazards`, `/hazards/<id>`, `/hazards/<id>/events`)
 * and the center (HTTP `/api/v1/hazards...`). Pure: no I/O, no clock (the
 * caller passes the HLC stamp and the wall time in an aw_hazard_ctx), no
 * logging. Thread-safe: no shared mutable state.
 *
 * Reading (aw_hazard_report_from_json(), aw_hazard_event_from_json()):
 *  - The payload is one JSON object of at most AW_HAZARD_JSON_MAX bytes,
 *    without duplicate keys; jansson checks UTF-8 and refuses "\u0000".
 *  - Unknown keys are refused, so a misspelt field ("deadlin") is an error
 *    rather than a silently missing value. Keys the server sets ("id",
 *    "hazard_id", "hlc", "origin", "at") are refused with a reason saying so.
 *  - A lifecycle event may carry only the fields of its op (table below); a
 *    field of another op is refused. `null` reads as absent for every field
 *    except "op".
 *  - Strings: "by", "title", "reporter", "unit", "person", "audience" are one
 *    line (no control characters) of 1..AW_HAZARD_NAME_MAX bytes;
 *    "description", "evidence", "text", "note" may hold tabs and line breaks
 *    (no other control characters), 1..AW_HAZARD_TEXT_MAX bytes. A required
 *    string must not be empty; an optional "" reads as absent.
 *  - "site": a grid path of exactly four segments county/zone/village/site,
 *    each `[a-z0-9-]+`, at most 256 bytes; then the context's site_ok check.
 *  - "sector": one of the SPEC §1 sectors; "level": "general" | "major";
 *    "source": "self-inspection" | "public-report" | "inspection".
 *  - "deadline": an RFC 3339 time with "Z" or a ±hh:mm offset, e.g.
 *    "2026-12-31T00:00:00+08:00" (see aw_time_parse_rfc3339()), not before
 *    the context's now_ms.
 *  - "ok": true or false (not 0/1, not a string).
 *  - "by": when the context names an authenticated actor (ctx->by), the
 *    event's by is that actor, and a JSON "by" naming someone else is
 *    refused with AW_EPERM (one cannot speak for another, SPEC §9).
 *  - Last, the event is validated as a Record by aw_codec_record_validate(),
 *    so nothing leaves this module that the codec would refuse.
 *
 * | op        | may carry                                  | needs                   |
 * |-----------|--------------------------------------------|-------------------------|
 * | report    | site sector level title description source | site sector level title |
 * |           | reporter by (and "op": "report")            | source; reporter unless |
 * |           |                                            | source is public-report |
 * | assign    | unit person deadline by note               | unit person deadline    |
 * | start     | by note                                    | -                       |
 * | rectified | evidence by note                           | evidence                |
 * | verify    | ok by note                                 | ok                      |
 * | notify    | audience text by note                      | audience text           |
 * | note      | by note                                    | note                    |
 * | reopen    | by note                                    | -                       |
 *
 * "note" on an op other than note is a remark (e.g. why a verify failed).
 * Whether the event is a valid transition is the ledger's question, not this
 * module's (ledger.h): an event that parses here may still be rejected by
 * the fold and then stays in the ledger with its reason.
 *
 * Hazard ids: "<origin>-<hlc>", the report's origin followed by its HLC
 * stamp as 16 lowercase hex digits, e.g. "rongjiawan-0195520b3f000000". A
 * node's HLC never issues a stamp twice (hlc.h) and origins are unique in
 * the county, so ids are globally unique without coordination; ids from one
 * origin sort by report time. The origin is restricted to
 * `[A-Za-z0-9._-]{1,AW_HAZARD_ORIGIN_MAX}` so that the id passes the codec's
 * identifier rule and is a URI path segment needing no escapes
 * (`/hazards/<id>`).
 *
 * Writing (aw_hazard_event_to_json(), aw_hazard_state_to_json()): times are
 * RFC 3339 UTC with milliseconds ("2025-03-01T08:30:00.123Z"); an HLC stamp
 * is a decimal string ("hlc": "114095134310400000"), exact in every JSON
 * reader (a JavaScript number loses bits above 2^53).
 *
 * Errors of the readers: AW_EDECODE (not JSON, duplicate key, NUL, trailing
 * bytes), AW_EUTF8 (invalid UTF-8), AW_ETOOBIG (payload over
 * AW_HAZARD_JSON_MAX), AW_EINVAL (valid JSON but not an acceptable report or
 * event: not an object, missing or unknown field, wrong type, bad enum name,
 * bad time, bad hazard id; also a bad context), AW_ERANGE (string too long,
 * deadline in the past), AW_EPERM ("by" is not the authenticated actor),
 * whatever the site_ok callback returns, or AW_ENOMEM. All but AW_ENOMEM and
 * a bad context are the sender's fault (CoAP 4.00, HTTP 400). A reason
 * always comes with an error: one line of printable ASCII naming the field,
 * with bytes of the input outside printable ASCII shown as \xHH and a
 * backslash doubled.
 */
#ifndef AW_HAZARD_JSON_H
#define AW_HAZARD_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "anwang.pb-c.h"
#include "aw_err.h"
#include "ledger.h"
#include "rfc3339.h"

/** Largest JSON payload accepted for a report or an event, in bytes. */
#define AW_HAZARD_JSON_MAX (32u * 1024)
/** Longest one-line string (title, by, reporter, unit, person, audience), in bytes. */
#define AW_HAZARD_NAME_MAX 200
/** Longest text (description, evidence, text, note), in bytes. */
#define AW_HAZARD_TEXT_MAX 4000
/** Longest origin that can make a hazard id: 128 - strlen("-") - 16 hex digits. */
#define AW_HAZARD_ORIGIN_MAX 111
/** Buffer size that always fits a hazard id with its NUL. */
#define AW_HAZARD_ID_LEN 129

/**
 * Checks that a reported site may be reported here: it exists in the
 * registry, it belongs to this node's zone, and so on. @p site and @p sector
 * are well formed (already checked) and borrowed for the call. Returns AW_OK
 * to accept, or an error code (e.g. AW_ENOTFOUND, AW_EPERM) that the report
 * call returns as is; on refusal, writes a one-line reason to @p why (at most
 * @p why_len bytes, NUL included).
 */
typedef int (*aw_hazard_site_fn)(void *arg, const char *site, const char *sector, char *why,
                                 size_t why_len);

/** What the node that makes an event adds to it. Borrowed for the call only. */
typedef struct aw_hazard_ctx {
    /** This node: the edge id or "center"; `[A-Za-z0-9._-]{1,AW_HAZARD_ORIGIN_MAX}`. */
    const char *origin;
    /** Stamp of the new event from this node's clock (aw_hlc_now()); not 0. */
    uint64_t hlc;
    /** Wall time at this node, ms since the Unix epoch (≥ 0); the event's time_ms. */
    int64_t now_ms;
    /** Authenticated actor (DTLS identity, API user), or NULL when unknown. */
    const char *by;
    /** Site check for reports, or NULL to accept any well-formed site path. */
    aw_hazard_site_fn site_ok;
    /** First argument of site_ok. */
    void *site_arg;
} aw_hazard_ctx;

/**
 * Parses a hazard report (@p len bytes of JSON at @p json, borrowed for the
 * call) into a new HazardEvent with op report, hazard_id made from @p ctx
 * (see the file comment), hlc, origin and time_ms from @p ctx.
 *
 * On success returns AW_OK, sets *out to the event, which the caller frees
 * with aw_hazard_event_destroy(), and sets @p why (when given) to "". On
 * failure *out is NULL, the error code is one of the file comment's and a
 * reason is written to @p why (when not NULL and @p why_len > 0, at most
 * @p why_len bytes with the NUL). AW_EINVAL also when @p out or @p ctx is
 * NULL, or @p ctx is not valid.
 */
int aw_hazard_report_from_json(const char *json, size_t len, const aw_hazard_ctx *ctx,
                               Anwang__HazardEvent **out, char *why, size_t why_len);

/**
 * Parses a lifecycle event of hazard @p hazard_id (borrowed, copied; a codec
 * identifier: 1..128 printable ASCII bytes except `,` `<` `&`) into a new
 * HazardEvent stamped with @p ctx. "op" is required and may not be "report"
 * (reports go through aw_hazard_report_from_json()). Same contract as
 * aw_hazard_report_from_json(); AW_EINVAL also for a bad @p hazard_id. The
 * hazard's existence is the caller's to check.
 */
int aw_hazard_event_from_json(const char *json, size_t len, const char *hazard_id,
                              const aw_hazard_ctx *ctx, Anwang__HazardEvent **out, char *why,
                              size_t why_len);

/**
 * Frees an event made by this module's readers (every string and the struct)
 * and nulls *ev_p. Safe on NULL and twice. Never pass an event decoded by the
 * codec (free those with aw_codec_*_free()) or one built on the stack.
 */
void aw_hazard_event_destroy(Anwang__HazardEvent **ev_p);

/**
 * Writes the hazard id for a report by @p origin stamped @p hlc into @p buf
 * (@p len bytes; AW_HAZARD_ID_LEN always suffices). Returns AW_OK; AW_EINVAL
 * when @p origin breaks the origin rule; AW_ERANGE when @p buf is too small
 * (then buf holds "" if len > 0).
 */
int aw_hazard_id_format(const char *origin, uint64_t hlc, char *buf, size_t len);

/**
 * An aw_hazard_site_fn over a registry: @p reg is a `const aw_registry_t *`
 * (registry.h). Accepts a site that the registry holds; refuses any other
 * with AW_ENOTFOUND. An edge's registry is its zone extract, so at the edge
 * this also refuses sites of other zones. The sector is not compared with
 * the site's: a hazard's sector may differ from the enterprise's main one
 * (a confined space at a chemical plant).
 */
int aw_hazard_site_in_registry(void *reg, const char *site, const char *sector, char *why,
                               size_t why_len);

/**
 * Writes @p ev as a JSON object: "hazard_id", "op", "hlc" (decimal string),
 * "origin", "at" (aw_hazard_event_time_ms() in RFC 3339), then each field the
 * event has, under its input name ("deadline" as RFC 3339). Unset fields are
 * left out. A name outside its enum is written as its number, a time outside
 * years 0000..9999 as null. @p ev is borrowed. On success *out is a new
 * reference the caller releases with json_decref(); on failure *out is NULL.
 * Returns AW_OK; AW_EINVAL when @p ev, its hazard_id or origin, or @p out is
 * NULL; AW_EUTF8 when a string is not UTF-8; AW_ENOMEM.
 */
int aw_hazard_event_to_json(const Anwang__HazardEvent *ev, json_t **out);

/**
 * Writes a hazard's state and ledger (the body of `GET /hazards/<id>` and
 * `GET /api/v1/hazards/<id>`):
 *
 *     {"id", "site", "sector", "level", "title", "description", "source",
 *      "reporter", "status", "reported_at",
 *      "assignment": {"unit", "person", "deadline"},
 *      "evidence", "closed_at", "overdue": bool, "dual_reported": bool,
 *      "ledger": [{"op", "hlc", "origin", "by", "at", <op fields>,
 *                  "accepted": bool, "reason" (only when rejected)}]}
 *
 * Every top-level key is always there: a value the state lacks is null
 * (an unreported hazard has null site, level, ...; "assignment" is null when
 * there is none, "closed_at" unless closed). "overdue" is
 * aw_hazard_overdue(st, @p now_ms); "dual_reported" aw_hazard_dual_reported().
 * Ledger entries follow the fold order; each is aw_hazard_event_to_json()
 * without "hazard_id", with "by" null when unset. @p st is borrowed.
 * On success *out is a new reference (json_decref()); on failure NULL.
 * Returns AW_OK; AW_EINVAL when @p st, st->id or @p out is NULL, or an
 * entry has no event; AW_EUTF8; AW_ENOMEM.
 */
int aw_hazard_state_to_json(const aw_hazard_state *st, int64_t now_ms, json_t **out);

#endif
