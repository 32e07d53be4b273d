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
 * AW_ERANGE or AW_ENOMEM.
 */
int aw_codec_envelope_decode(const uint8_t *buf, size_t len, const aw_codec_limits *lim,
                             Anwang__Envelope **out, char *why, size_t why_len);

/** Frees an envelope from aw_codec_envelope_decode() and nulls *env_p. Safe on NULL. */
void aw_codec_envelope_free(Anwang__Envelope **env_p);

/**
 * Validates @p env (as decode does) and packs it into a new buffer. On
 * success *buf is the caller's (free()) and *len its size.
 */
int aw_codec_envelope_encode(const Anwang__Envelope *env, uint8_t **buf, size_t *len, char *why,
                             size_t why_len);

/** Decodes and validates one record; same contract as aw_codec_envelope_decode(). */
int aw_codec_record_decode(const uint8_t *buf, size_t len, const aw_codec_limits *lim,
                           Anwang__Record **out, char *why, size_t why_len);

/** Frees a record from aw_codec_record_decode() and nulls *rec_p. Safe on NULL. */
void aw_codec_record_free(Anwang__Record **rec_p);

/** Validates @p rec and packs it into a new buffer (caller frees with free()). */
int aw_codec_record_encode(const Anwang__Record *rec, uint8_t **buf, size_t *len, char *why,
                           size_t why_len);

/**
 * Validates a record built in memory (e.g. from SenML or JSON) without
 * packing it. Returns AW_OK or the error of the first bad field.
 */
int aw_codec_record_validate(const Anwang__Record *rec, const aw_codec_limits *lim, char *why,
                             size_t why_len);

/**
 * Encodes a Gap record (SPEC §5: bulk records from..to dropped unsent) with
 * HLC stamp @p hlc. *buf is the caller's (free()).
 */
int aw_codec_gap_encode(uint64_t hlc, Anwang__Lane lane, uint64_t from_seq, uint64_t to_seq,
                        int64_t time_ms, uint8_t **buf, size_t *len);

/** Returns true when @p s (length @p len) is well-formed UTF-8 without NUL bytes. */
int aw_utf8_valid(const char *s, size_t len);

#endif
