/**
 * @file cap_xml.h
 * @brief An alert as a CAP 1.2 XML document (OASIS, namespace
 * urn:oasis:names:tc:emergency:cap:1.2), for GET /api/v1/alerts/<id>/cap.
 *
 * One `<info>` (category Safety) holds event, urgency, severity,
 * certainty, expires, headline, description, instruction, the linkage plan
 * as a `<parameter>` and one `<area>` per grid path (its `<areaDesc>`).
 * Times take CAP's form, `2026-11-30T02:30:00+00:00`. Every text is
 * escaped (& < > " ', and CR as &#13;); callers pass only text XML 1.0
 * allows (the alert service refuses control characters at creation).
 */
#ifndef AW_CENTER_CAP_XML_H
#define AW_CENTER_CAP_XML_H

#include <stddef.h>
#include <stdint.h>

#include "anwang.pb-c.h"
#include "aw_err.h"

/** Buffer size that fits aw_cap_time()'s output with its NUL. */
#define AW_CAP_TIME_LEN 32

/** An alert named in `<references>`: "sender,identifier,sent". Borrowed strings. */
typedef struct aw_cap_ref {
    const char *sender;
    const char *identifier;
    int64_t sent_ms;
} aw_cap_ref;

/**
 * Writes @p ms as a CAP time (UTC, seconds, "+00:00"). Returns AW_OK or
 * AW_ERANGE outside years 0000..9999 (buf then "").
 */
int aw_cap_time(int64_t ms, char buf[AW_CAP_TIME_LEN]);

/**
 * Writes @p a (borrowed) and the alerts it references (@p refs, @p n_refs;
 * may be 0) as a CAP 1.2 document. On success *xml is the caller's
 * (free()). Returns AW_OK, AW_EINVAL (a required field missing) or
 * AW_ENOMEM.
 */
int aw_cap_xml(const Anwang__Alert *a, const aw_cap_ref *refs, size_t n_refs, char **xml);

/** CAP names of the wire enums ("?" when out of range). */
const char *aw_cap_status_name(Anwang__AlertStatus s);
const char *aw_cap_msgtype_name(Anwang__AlertMsgType t);

#endif
