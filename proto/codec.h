/**
 * @file codec.h
 * @brief The only place that packs and unpacks anwang's wire messages.
 *
 * Decoding enforces limits before and after protobuf-c runs: a message over
 * the size limit is refused before it is parsed; every string is checked for
 * UTF-8 and length, every double that carries a value for finiteness, every
 * enum for range, every oneof for presence, and a batch for its record count.
 * A rejected message yields an error code and a one-line reason naming the
 * field (e.g. "record.reading.value: NaN").
 *
 * Rules (decode, encode and validate share one validator):
 * - size: an envelope or record over max_message is AW_ETOOBIG (decode checks
 *   before parsing, encode/validate the packed size); protobuf-c failure
 *   (truncated, garbage, missing required field) is AW_EDECODE.
 * - strings: UTF-8 without NUL, overlongs, surrogates or code points above
 *   U+10FFFF (AW_EUTF8), at most max_string bytes (AW_ERANGE); a required
 *   string left NULL in memory is AW_EDECODE "missing".
 * - device ids and metric names: `[a-z0-9._-]{1,64}`.
 * - identifiers (edge_id, origin, hazard_id, alarm_id, alert identifier and
 *   references): 1..128 bytes of printable ASCII 0x21..0x7E except `,` `<`
 *   `&` (the CAP 1.2 identifier rule).
 * - grid paths (site, zone, alert area): `[a-z0-9-]+` segments joined by
 *   `/`, at most 256 bytes.
 *   A length outside a rule's range is AW_ERANGE, a character outside it
 *   AW_EDECODE.
 * - doubles that are present (reading value/sum, alarm value/first_value/
 *   threshold) are finite (AW_ENOTFINITE); enums that are present hold a
 *   declared value (AW_EENUM); oneofs are set (AW_EDECODE); times in ms are
 *   not negative (AW_ERANGE).
 * - Reading: carries at least one of value, string_value, bool_value,
 *   data_value, sum; data_value at most max_string bytes.
 * - Gap: 1 <= from_seq <= to_seq, count == to_seq - from_seq + 1.
 * - Batch: first_seq >= 1, at most max_records records, each 1..max_message
 *   bytes, first_seq + records - 1 fits in a uint64.
 * - Hello/Welcome: proto_version >= 1 (refusing an unsupported version is the
 *   peer's job), each lane at most once in heads/applied.
 * - Down: seq >= 1; RegistrySnapshot.json 1..max_message bytes of UTF-8.
 * - unknown fields (a newer peer's) are kept and packed back; a field number
 *   0 or above 2^29 - 1, which protobuf-c lets through, is AW_EDECODE.
 * - encode/validate: a message or sub-message not built with its
 *   ANWANG__*__INIT macro (wrong descriptor) is AW_EINVAL.
 * Which fields a hazard op needs is the ledger's rule, not the codec's.
 *
 * Memory: a decoded message is allocated by the codec's own allocator; free it
 * only with aw_codec_envelope_free() / aw_codec_record_free() (never with
 * protobuf_c_message_free_unpacked()), and do not swap its pointers for
 * memory of your own. The codec never logs.
 */
#ifndef AW_CODEC_H
#define AW_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "anwang.pb-c.h"
#include "aw_err.h"

/** Wire protocol version carried in Hello/Welcome. */
#define AW_PROTO_VERSION 1

/** Size limits applied by every decode. */
typedef struct aw_codec_limits {
    size_t max_message; /**< bytes of one encoded envelope or record */
    size_t max_string;  /**< bytes of any one string field */
    size_t max_records; /**< records in one Batch */
} aw_codec_limits;

/** Defaults: 4 MiB message, 4 KiB string, 10,000 records per batch. */
extern const aw_codec_limits aw_codec_default_limits;

/**
 * Decodes and validates an envelope. On success *out is the caller's; free
 * it with aw_codec_envelope_free(). On failure *out is NULL and, when @p why
 * is not NULL, a NUL-terminated reason is written to it (at most why_len
 * bytes). @p lim may be NULL for the defaults. The records inside a Batch
 * stay encoded: decode each with aw_codec_record_decode().
 * Returns AW_OK, AW_ETOOBIG, AW_EDECODE, AW_EUTF8, AW_ENOTFINITE, AW_EENUM,
 * AW_ERANGE, AW_ENOMEM, or AW_EINVAL when @p out is NULL or @p buf is NULL
 * with a non-zero @p len.
 */
int aw_codec_envelope_decode(const uint8_t *buf, size_t len, const aw_codec_limits *lim,
                             Anwang__Envelope **out, char *why, size_t why_len);

/** Frees an envelope from aw_codec_envelope_decode() and nulls *env_p. Safe on NULL. */
void aw_codec_envelope_free(Anwang__Envelope **env_p);

/**
 * Validates @p env (as decode does, with the default limits) and packs it into
 * a new buffer. On success *buf is the caller's (free()) and *len its size; on
 * failure *buf is NULL and @p why (may be NULL) holds the reason. @p env is
 * borrowed and must be built with the ANWANG__*__INIT macros.
 */
int aw_codec_envelope_encode(const Anwang__Envelope *env, uint8_t **buf, size_t *len, char *why,
                             size_t why_len);

/** Decodes and validates one record; same contract as aw_codec_envelope_decode(). */
int aw_codec_record_decode(const uint8_t *buf, size_t len, const aw_codec_limits *lim,
                           Anwang__Record **out, char *why, size_t why_len);

/** Frees a record from aw_codec_record_decode() and nulls *rec_p. Safe on NULL. */
void aw_codec_record_free(Anwang__Record **rec_p);

/** Validates @p rec (default limits) and packs it into a new buffer (caller frees
 * with free()); same contract as aw_codec_envelope_encode(). */
int aw_codec_record_encode(const Anwang__Record *rec, uint8_t **buf, size_t *len, char *why,
                           size_t why_len);

/**
 * Validates a record built in memory (e.g. from SenML or JSON) without
 * packing it; its packed size counts against lim->max_message. @p lim may be
 * NULL for the defaults. Returns AW_OK or the error of the first bad field.
 */
int aw_codec_record_validate(const Anwang__Record *rec, const aw_codec_limits *lim, char *why,
                             size_t why_len);

/**
 * Encodes a Gap record (SPEC §5: bulk records from..to dropped unsent) with
 * HLC stamp @p hlc; count is computed as to_seq - from_seq + 1. *buf is the
 * caller's (free()). Returns AW_OK, AW_ERANGE (from_seq 0, from_seq > to_seq,
 * negative time), AW_EENUM (bad lane) or AW_ENOMEM.
 */
int aw_codec_gap_encode(uint64_t hlc, Anwang__Lane lane, uint64_t from_seq, uint64_t to_seq,
                        int64_t time_ms, uint8_t **buf, size_t *len);

/**
 * Returns nonzero when the @p len bytes at @p s are well-formed UTF-8 (RFC
 * 3629: no overlongs, no surrogates, nothing above U+10FFFF) without NUL
 * bytes, else 0. @p s may be NULL only when @p len is 0.
 */
int aw_utf8_valid(const char *s, size_t len);

#endif
