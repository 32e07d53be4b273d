/**
 * @file alert.h
 * @brief Reading an alert a siren received (CAP 1.2 element names as JSON
 * keys, SPEC §7) and writing the siren log line and the console line.
 */
#ifndef AW_SIM_ALERT_H
#define AW_SIM_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/** A received alert. Strings are borrowed from json. */
typedef struct aw_sim_alert {
    json_t *json;           /**< the parsed object, owned; NULL when unreadable */
    const char *identifier; /**< required string */
    const char *status;     /**< required: Actual, Exercise, System, Test or Draft */
    const char *msg_type;   /**< required: Alert, Update, Cancel, Ack or Error */
    const char *event;      /**< "" when absent */
    int drill;              /**< status is Exercise */
} aw_sim_alert;

/**
 * Reads @p len bytes of JSON. Returns AW_OK, or AW_EINVAL with a reason in
 * @p why (e.g. "msgType: missing"); even then @p out->json holds the object
 * when it was one, so the log can show what came. Free with
 * aw_sim_alert_clear().
 */
int aw_sim_alert_parse(const uint8_t *data, size_t len, aw_sim_alert *out, char *why,
                       size_t why_len);

/** Frees the alert's JSON and zeroes it. Safe twice. */
void aw_sim_alert_clear(aw_sim_alert *a);

/** What a siren did with one POST, for the log. */
typedef struct aw_sim_receipt {
    const char *device;
    int64_t received_ms;  /**< Unix ms */
    const char *code;     /**< "2.04", "5.03", "4.00", ... */
    const char *error;    /**< why it was refused, or NULL */
    const char *peer;     /**< "127.0.0.1:40000" */
    const char *identity; /**< DTLS PSK identity, or NULL */
} aw_sim_receipt;

/**
 * Returns the siren log line for @p a and @p r: one compact JSON object and
 * a newline (caller frees), or NULL when out of memory.
 */
char *aw_sim_alert_log_line(const aw_sim_alert *a, const aw_sim_receipt *r);

/** Writes the console line ("*** DRILL ***", "SOUNDING", ...) into @p buf. */
void aw_sim_alert_describe(const aw_sim_alert *a, const aw_sim_receipt *r, char *buf, size_t len);

/** Writes @p ms as RFC 3339 UTC with milliseconds, e.g. 2026-11-30T08:00:00.123Z. */
void aw_sim_rfc3339(int64_t ms, char *buf, size_t len);

#endif
