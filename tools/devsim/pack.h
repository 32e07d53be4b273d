/**
 * @file pack.h
 * @brief SenML packs (RFC 8428) as the simulated sensors send them to the
 * edge's /readings resource (SPEC §3), in JSON (content-format 110) or CBOR
 * (112).
 *
 * A pack holds readings of one device: the first record carries
 * `bn = "<device-id>/"`, every record `n = <metric>`, `u` (the registry
 * unit, left out when empty), `v`, and `t` as absolute Unix seconds with
 * millisecond precision (left out when the reading goes without time, so
 * the edge stamps its receive time). CBOR uses the integer labels of RFC
 * 8428 Table 4 and float64 numbers, so the edge reads back the exact double
 * that was sent; JSON numbers are written with the shortest of %.15g/%.17g
 * that reads back exactly.
 */
#ifndef AW_SIM_PACK_H
#define AW_SIM_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

/** Payload format of the packs; values are the CoAP content-formats. */
typedef enum aw_sim_format {
    AW_SIM_FORMAT_JSON = 110, /**< application/senml+json */
    AW_SIM_FORMAT_CBOR = 112, /**< application/senml+cbor */
} aw_sim_format;

/** time_ms of a reading sent without time. */
#define AW_SIM_NO_TIME INT64_MIN

/** Longest text aw_sim_format_number() writes, NUL included. */
#define AW_SIM_NUMBER_MAX 32

/** One reading of a pack. */
typedef struct aw_sim_record {
    const aw_metric *metric; /**< borrowed from the registry */
    int64_t time_ms;         /**< Unix ms, or AW_SIM_NO_TIME */
    double value;            /**< finite */
} aw_sim_record;

/**
 * Encodes the leading records of @p recs (@p n of them, all readings of
 * device @p device_id) as one pack of format @p fmt into @p buf of @p cap
 * bytes: as many records as fit. Returns how many it encoded, with the pack
 * length in *len; 0 when not even the first record fits.
 */
size_t aw_sim_pack_encode(aw_sim_format fmt, const char *device_id, const aw_sim_record *recs,
                          size_t n, uint8_t *buf, size_t cap, size_t *len);

/**
 * Writes finite @p v into @p buf (at least AW_SIM_NUMBER_MAX bytes) as JSON
 * packs and the acked log write it: "%.15g" when that reads back as the same
 * double, else "%.17g".
 */
void aw_sim_format_number(double v, char *buf, size_t len);

#endif
