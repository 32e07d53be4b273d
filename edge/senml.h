/**
 * @file senml.h
 * @brief SenML packs (RFC 8428) from devices, parsed into resolved readings.
 *
 * The edge's `/readings` resource (SPEC §3) hands the request payload here:
 * JSON (CoAP content-format 110) or CBOR (112). The parser applies the base
 * fields, resolves names, units, values and times, validates everything, and
 * returns one Anwang__Reading per record. It is pure: nothing is stored, no
 * clock is read, nothing is logged.
 *
 * A bad record rejects the whole pack: on any error nothing is returned, and
 * a one-line reason names the record index and the field, e.g.
 * "record 3: v: NaN", "record 0: unknown mandatory field 'foo_'",
 * "record 2: u: unit 'furlong' unknown".
 *
 * Rules (RFC 8428 §4, §5, §6; RFC 9100 for the version):
 *  - The pack is a non-empty array of maps (CBOR: a definite-length array,
 *    optionally under the self-describe tag 55799).
 *  - bn, bt, bu, bv, bs, bver apply to the record they are in and to every
 *    following record until changed. bver must be an integer 1..10, or 26
 *    (10 plus the "secondary units" feature of RFC 9100, which the unit table
 *    implements); every record that gives it must give the same value.
 *  - Name: bn + n = `<device-id>/<metric>`, exactly one '/', device id
 *    `[a-z0-9._-]{1,64}` starting with a letter or digit (RFC 8428 §4.5.1),
 *    metric `[a-z0-9._-]{1,64}`.
 *  - Unit: u, else bu; a unit given must be in the unit table (see
 *    aw_senml_units()). A reading may have no unit.
 *  - Value: exactly one of v, vs, vb, vd; or none of them when s is present.
 *    value = bv + v, sum = bs + s. vd is base64url without padding in JSON
 *    (RFC 4648 §5, canonical), a byte string in CBOR.
 *  - Time: bt + t seconds (fractions allowed). Below 2^28 it is relative to
 *    now (negative = in the past), otherwise absolute Unix time. 0 (both
 *    missing) means "now": time_ms = now_ms, time_from_device = false; any
 *    other time sets time_from_device = true. Times more than max_future_ms
 *    after now, or before 1970, are refused.
 *  - Numbers: JSON numbers, or CBOR integers, floats (16/32/64 bit) and
 *    decimal fractions (tag 4). NaN, infinities, and sums that overflow are
 *    refused.
 *  - Strings: valid UTF-8 without NUL, at most max_string bytes (vd: decoded
 *    bytes). CBOR strings of known fields must be definite-length.
 *  - Labels: CBOR uses the integer labels of RFC 8428 Table 4. A label
 *    ending in '_' (mandatory to understand) rejects the pack; other unknown
 *    labels are ignored with their values. Duplicate labels in a record are
 *    refused; a CBOR text label spelling a known label ("v") is refused as
 *    an encoding mistake rather than silently ignored.
 *
 * Error codes: AW_EDECODE (not JSON / not CBOR, truncated, trailing bytes),
 * AW_EINVAL (valid JSON/CBOR but not acceptable SenML), AW_ENOTFINITE,
 * AW_EUTF8, AW_ETOOBIG (too many records, string too long), AW_ERANGE (time
 * too far in the future or before 1970), AW_ENOMEM. All but AW_ENOMEM are
 * the sender's fault (CoAP 4.00).
 *
 * Cost: CBOR is decoded in one pass without allocation; declared counts
 * are checked against the bytes left before use. JSON is first loaded by
 * jansson as a tree (tens of bytes of heap per input byte for small
 * records, nesting up to 2048 levels) before max_records applies, so the
 * caller must bound the payload size (SPEC §3: 4.13) before parsing. Either
 * way a pack is one allocation.
 *
 * Thread-safe: no shared mutable state.
 */
#ifndef AW_SENML_H
#define AW_SENML_H

#include <stddef.h>
#include <stdint.h>

#include "anwang.pb-c.h"
#include "aw_err.h"

/** Payload formats, numbered as their CoAP content-formats (RFC 8428 §12.3). */
typedef enum aw_senml_format {
    AW_SENML_JSON = 110, /**< application/senml+json */
    AW_SENML_CBOR = 112, /**< application/senml+cbor */
} aw_senml_format;

/** Longest device id and longest metric name, in bytes (SPEC §1). */
#define AW_SENML_ID_MAX 64
/** Default for aw_senml_opts.max_future_ms: five minutes. */
#define AW_SENML_DEFAULT_MAX_FUTURE_MS (5 * 60 * 1000)
/** Default for aw_senml_opts.max_records. */
#define AW_SENML_DEFAULT_MAX_RECORDS 1000
/** Default for aw_senml_opts.max_string. */
#define AW_SENML_DEFAULT_MAX_STRING 1024

/**
 * A unit lookup: returns the canonical spelling of unit @p u (@p len bytes,
 * not NUL-terminated) with static storage duration, or NULL when the unit
 * is not accepted. The returned string is stored in the readings as is.
 */
typedef const char *(*aw_senml_unit_fn)(const char *u, size_t len);

/** Parse options. Fill with aw_senml_opts_init(), then adjust. */
typedef struct aw_senml_opts {
    int64_t now_ms;        /**< edge receive time, ms since the Unix epoch */
    int64_t max_future_ms; /**< refuse times later than now_ms + this (≥ 0) */
    size_t max_records;    /**< refuse packs with more records (AW_ETOOBIG) */
    size_t max_string;     /**< refuse longer strings and vd data (AW_ETOOBIG) */
    aw_senml_unit_fn unit; /**< accepted units; NULL = aw_senml_unit_lookup() */
} aw_senml_opts;

/**
 * A parsed pack: @p n resolved readings in pack order. Everything the
 * readings point to lives in the pack's own memory (unit strings in static
 * storage) and stays valid until aw_senml_pack_destroy(). Never free or
 * reallocate a reading or one of its strings on its own, and never pass a
 * reading to a protobuf-c *_free_unpacked().
 */
typedef struct aw_senml_pack {
    size_t n;                  /**< number of readings, ≥ 1 */
    Anwang__Reading *readings; /**< the readings; each set as described above */
} aw_senml_pack;

/** Fills @p o with the defaults above, no custom unit table, and @p now_ms. */
void aw_senml_opts_init(aw_senml_opts *o, int64_t now_ms);

/**
 * Parses and resolves the SenML pack in @p buf (@p len bytes, borrowed for
 * the call only) of format @p fmt.
 *
 * On success returns AW_OK and sets *out to a new pack that the caller frees
 * with aw_senml_pack_destroy(); @p why, if given, is set to "". On failure
 * returns an error code (see the file comment), sets *out to NULL and, when
 * @p why is not NULL and @p why_len > 0, writes a NUL-terminated one-line
 * reason of at most @p why_len bytes (ASCII; odd bytes of the input are
 * shown as \xHH). AW_EINVAL also when @p opts or @p out is NULL, @p fmt is
 * not a SenML format, or max_future_ms is negative.
 */
int aw_senml_parse(const uint8_t *buf, size_t len, aw_senml_format fmt, const aw_senml_opts *opts,
                   aw_senml_pack **out, char *why, size_t why_len);

/** Frees a pack from aw_senml_parse() and sets *p to NULL. Safe on NULL and twice. */
void aw_senml_pack_destroy(aw_senml_pack **p);

/**
 * The built-in unit table: returns the canonical static string for @p u
 * (@p len bytes, case-sensitive), or NULL when it is not in the table.
 *
 * The table holds the SenML units registry of RFC 8428 §12.1 (including the
 * units it marks "not recommended for producers", which consumers should
 * accept), the primary units added by RFC 8798 §2, the secondary units of
 * RFC 8798 §3 (ppm, hPa, mm, km, mA, ...), and anwang extensions for work
 * safety that no registry has: "%LEL" (combustible gas, percent of the lower
 * explosive limit), "%VOL" (gas by volume, e.g. O2), "ppb" (VOC detectors),
 * "kPa" and "MPa" (vessel and pipeline pressure as gauges report it) and
 * "mg/m3" (dust concentration).
 */
const char *aw_senml_unit_lookup(const char *u, size_t len);

/**
 * Returns the built-in unit table, sorted by strcmp(), and its size in
 * *count. Static storage; do not modify.
 */
const char *const *aw_senml_units(size_t *count);

#endif
