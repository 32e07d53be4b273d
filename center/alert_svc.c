/* alert_svc.c: CAP 1.2 alerts at the center (SPEC §7): operator input
 * checked field by field, then stored with its metadata and fanned out to
 * the edges of its area in one transaction; cancel; the receipts the
 * edges send back, and the delivery report made from them. */
#include "alert_svc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cap_xml.h"
#include "codec.h"
#include "down.h"
#include "log.h"
#include "rfc3339.h"

#define S_MAX_AREA       64   /* grid paths in one alert's area */
#define S_MAX_REFS       64   /* references of one alert */
#define S_MAX_SHORT      256  /* event, headline, who */
#define S_MAX_LONG       1024 /* instruction, description */
#define S_MAX_SENDER     100  /* leaves room for "-YYYYMMDDTHHMMSSZ-n" in 128 */
#define S_RECEIPT_V1     1
#define S_RECEIPT_HEAD   14 /* version, kind, time(8), attempts(4) */
#define S_TABLE_META     "alert_meta"
#define S_TABLE_RECEIPTS "receipts"

struct aw_alert_svc {
    aw_center_db_t *db;
    aw_registry_svc_t *registry;
    char sender[S_MAX_SENDER + 1];
    aw_table_t t_meta;     /* identifier → JSON {issued_by, cancelled_at, cancelled_by} */
    aw_table_t t_receipts; /* identifier NUL edge NUL device → receipt (S_RECEIPT_V1) */
};

int aw_alert_svc_open(aw_center_db_t *db, aw_registry_svc_t *registry, const char *sender,
                      aw_alert_svc_t **out)
{
    if (db == NULL || registry == NULL || out == NULL || sender == NULL ||
        !aw_center_edge_id_ok(sender) || strlen(sender) > S_MAX_SENDER)
        return AW_EINVAL;
    aw_alert_svc_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        return AW_ENOMEM;
    self->db = db;
    self->registry = registry;
    snprintf(self->sender, sizeof self->sender, "%s", sender);
    aw_store_t *st = aw_center_db_store(db);
    int rv = aw_store_table(st, S_TABLE_META, &self->t_meta);
    if (rv == AW_OK)
        rv = aw_store_table(st, S_TABLE_RECEIPTS, &self->t_receipts);
    if (rv != AW_OK) {
        free(self);
        return rv;
    }
    *out = self;
    return AW_OK;
}

void aw_alert_svc_destroy(aw_alert_svc_t **self_p)
{
    if (self_p == NULL)
        return;
    free(*self_p);
    *self_p = NULL;
}

/* ------------------------------------------------------------ stored alerts */

/* Reads alert @p id: *env (caller's) holds it. AW_ENOTFOUND; AW_ECORRUPT. */
static int s_alert_get(aw_alert_svc_t *self, aw_txn_t *txn, const char *id, Anwang__Envelope **env)
{
    const void *val;
    size_t vlen;
    *env = NULL;
    if (id == NULL || !aw_center_edge_id_ok(id))
        return AW_ENOTFOUND;
    int rv =
        aw_txn_get(txn, aw_center_db_table(self->db, AW_CT_ALERTS), id, strlen(id), &val, &vlen);
    if (rv != AW_OK)
        return rv;
    if (aw_codec_envelope_decode(val, vlen, NULL, env, NULL, 0) != AW_OK)
        return AW_ECORRUPT;
    if ((*env)->msg_case != ANWANG__ENVELOPE__MSG_DOWN ||
        (*env)->down->body_case != ANWANG__DOWN__BODY_ALERT) {
        aw_codec_envelope_free(env);
        return AW_ECORRUPT;
    }
    return AW_OK;
}

static bool s_alert_exists(aw_alert_svc_t *self, aw_txn_t *txn, const char *id)
{
    const void *val;
    size_t vlen;
    return aw_txn_get(txn, aw_center_db_table(self->db, AW_CT_ALERTS), id, strlen(id), &val,
                      &vlen) == AW_OK;
}

/* The alert's metadata (JSON object, caller's); an empty object when absent. */
static int s_meta_get(aw_alert_svc_t *self, aw_txn_t *txn, const char *id, json_t **meta)
{
    const void *val;
    size_t vlen;
    *meta = NULL;
    int rv = aw_txn_get(txn, self->t_meta, id, strlen(id), &val, &vlen);
    if (rv == AW_ENOTFOUND)
        return (*meta = json_object()) != NULL ? AW_OK : AW_ENOMEM;
    if (rv != AW_OK)
        return rv;
    json_t *m = json_loadb(val, vlen, 0, NULL);
    if (!json_is_object(m)) {
        json_decref(m);
        return AW_ECORRUPT;
    }
    *meta = m;
    return AW_OK;
}

static int s_meta_put(aw_alert_svc_t *self, aw_txn_t *txn, const char *id, const json_t *meta)
{
    char *text = json_dumps(meta, JSON_COMPACT);
    if (text == NULL)
        return AW_ENOMEM;
    int rv = aw_txn_put(txn, self->t_meta, id, strlen(id), text, strlen(text));
    free(text);
    return rv;
}

static bool s_meta_cancelled(const json_t *meta)
{
    return json_object_get(meta, "cancelled_at") != NULL;
}

/* ------------------------------------------------------------ JSON of an alert */

static json_t *s_time_json(int64_t ms)
{
    char t[AW_RFC3339_LEN];
    return aw_time_format_rfc3339(ms, t) == AW_OK ? json_string(t) : json_null();
}

static json_t *s_opt(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static json_t *s_strings(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* The alert object of the API (API.md) from the alert and its metadata. */
static json_t *s_alert_json(const Anwang__Alert *a, const json_t *meta)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
        "id", a->identifier, "identifier", a->identifier, "sender", a->sender, "sent",
        s_time_json(a->sent_ms), "status", aw_cap_status_name(a->status), "msgType",
        aw_cap_msgtype_name(a->msg_type), "scope", a->scope ? a->scope : "Public", "event",
        a->event, "urgency", s_opt(a->urgency), "severity", s_opt(a->severity), "certainty",
        s_opt(a->certainty), "area", s_strings(a->area, a->n_area), "headline", s_opt(a->headline),
        "instruction", s_opt(a->instruction), "description", s_opt(a->description), "expires",
        a->has_expires_ms ? s_time_json(a->expires_ms) : json_null(), "references",
        s_strings(a->references, a->n_references));
    if (o == NULL)
        return NULL;
    json_t *at = json_object_get(meta, "cancelled_at");
    json_object_set_new(o, "plan", s_opt(a->plan_id));
    json_object_set_new(o, "cancelled", json_boolean(at != NULL));
    json_object_set_new(o, "cancelled_at",
                        json_is_integer(at) ? s_time_json(json_integer_value(at)) : json_null());
    json_object_set(o, "cancelled_by", at ? json_object_get(meta, "cancelled_by") : json_null());
    json_t *by = json_object_get(meta, "issued_by");
    json_object_set(o, "issued_by", by ? by : json_null());
    return o;
}

/* ------------------------------------------------------------ input */

static void s_why(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_why(char *why, size_t why_len, const char *fmt, ...)
{
    if (why == NULL || why_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

/* What create reads; strings are borrowed from the request's JSON. */
typedef struct s_input {
    Anwang__Alert a;
    char *area[S_MAX_AREA];
    char *refs[S_MAX_REFS];
    char *why;
    size_t why_len;
} s_input;

static const char *const s_keys[] = {
    "status", "msgType",  "scope",       "event",       "urgency", "severity",   "certainty",
    "area",   "headline", "instruction", "description", "expires", "references", "plan",
};
static const char *const s_status_names[] = {"Actual", "Exercise", "Test"};
static const char *const s_msgtype_names[] = {"Alert", "Update", "Cancel"};
static const char *const s_scope_names[] = {"Public", "Restricted", "Private"};
static const char *const s_urgency_names[] = {"Immediate", "Expected", "Future", "Past", "Unknown"};
static const char *const s_severity_names[] = {"Extreme", "Severe", "Moderate", "Minor", "Unknown"};
static const char *const s_certainty_names[] = {"Observed", "Likely", "Possible", "Unlikely",
                                                "Unknown"};
#define S_N(a) (sizeof(a) / sizeof((a)[0]))

static int s_unknown_keys(json_t *root, char *why, size_t why_len)
{
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        size_t i = 0;
        while (i < S_N(s_keys) && strcmp(key, s_keys[i]) != 0)
            i++;
        if (i == S_N(s_keys)) {
            s_why(why, why_len,
                  "%.64s: unknown field (allowed: status, msgType, scope, event, "
                  "urgency, severity, certainty, area, headline, instruction, description, "
                  "expires, references, plan)",
                  key);
            return AW_EINVAL;
        }
    }
    return AW_OK;
}

/* Text XML 1.0 can carry: no control characters but tab and newlines, no U+FFFE/U+FFFF. */
static bool s_text_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
            return false;
        if (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
            return false;
    }
    return true;
}

/* A string field: *out NULL when absent (AW_EINVAL when @p required). */
static int s_str(s_input *in, json_t *root, const char *key, bool required, size_t max, char **out)
{
    json_t *v = json_object_get(root, key);
    *out = NULL;
    if (v == NULL && !required)
        return AW_OK;
    if (v == NULL)
        return s_why(in->why, in->why_len, "%s: required", key), AW_EINVAL;
    if (!json_is_string(v))
        return s_why(in->why, in->why_len, "%s: must be a string", key), AW_EINVAL;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0)
        return s_why(in->why, in->why_len, "%s: must not be empty", key), AW_EINVAL;
    if (len > max)
        return s_why(in->why, in->why_len, "%s: %zu bytes, at most %zu", key, len, max), AW_ERANGE;
    if (strlen(s) != len || !s_text_ok(s))
        return s_why(in->why, in->why_len, "%s: holds a control character", key), AW_EINVAL;
    *out = (char *)s;
    return AW_OK;
}

/* An enum field given by its CAP name: *idx its position, @p def when absent. */
static int s_enum(s_input *in, json_t *root, const char *key, const char *const *names, size_t n,
                  int def, int *idx)
{
    char *s = NULL;
    int rv = s_str(in, root, key, def < 0, 32, &s);
    *idx = def;
    if (rv != AW_OK || s == NULL)
        return rv == AW_ERANGE ? AW_EINVAL : rv;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return *idx = (int)i, AW_OK;
    char list[128] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    s_why(in->why, in->why_len, "%s: \"%.32s\" is not one of %s", key, s, list);
    return AW_EINVAL;
}

/* True when @p path is the county, a zone, a village or a site of @p reg. */
static bool s_path_known(const aw_registry_t *reg, const char *path)
{
    if (strcmp(path, aw_registry_county(reg)) == 0 || aw_registry_zone_find(reg, path) != NULL ||
        aw_registry_site_find(reg, path) != NULL)
        return true;
    size_t n = 0;
    const aw_village *v = aw_registry_villages(reg, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].path, path) == 0)
            return true;
    return false;
}

/* A list of distinct strings of at most @p max entries into @p out. */
static int s_list(s_input *in, json_t *root, const char *key, size_t max, char **out, size_t *n)
{
    json_t *arr = json_object_get(root, key), *v;
    size_t i;
    *n = 0;
    if (arr == NULL)
        return AW_OK;
    if (!json_is_array(arr))
        return s_why(in->why, in->why_len, "%s: must be a list of strings", key), AW_EINVAL;
    if (json_array_size(arr) > max)
        return s_why(in->why, in->why_len, "%s: %zu entries, at most %zu", key,
                     json_array_size(arr), max),
               AW_ERANGE;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL || json_string_length(v) == 0 || strlen(s) != json_string_length(v))
            return s_why(in->why, in->why_len, "%s[%zu]: must be a non-empty string", key, i),
                   AW_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(out[j], s) == 0)
                return s_why(in->why, in->why_len, "%s[%zu]: \"%.128s\" given twice", key, i, s),
                       AW_EINVAL;
        out[i] = (char *)s;
    }
    *n = json_array_size(arr);
    return AW_OK;
}

static int s_area(s_input *in, json_t *root, const aw_registry_t *reg)
{
    int rv = s_list(in, root, "area", S_MAX_AREA, in->area, &in->a.n_area);
    if (rv == AW_OK && in->a.n_area == 0)
        return s_why(in->why, in->why_len, "area: required, a non-empty list of grid paths"),
               AW_EINVAL;
    for (size_t i = 0; rv == AW_OK && i < in->a.n_area; i++)
        if (!s_path_known(reg, in->area[i]))
            return s_why(in->why, in->why_len,
                         "area[%zu]: \"%.256s\" is not the county, a zone, a village or a site of "
                         "the registry",
                         i, in->area[i]),
                   AW_EINVAL;
    in->a.area = in->area;
    return rv;
}

static int s_references(aw_alert_svc_t *self, aw_txn_t *txn, s_input *in, json_t *root)
{
    int rv = s_list(in, root, "references", S_MAX_REFS, in->refs, &in->a.n_references);
    for (size_t i = 0; rv == AW_OK && i < in->a.n_references; i++)
        if (!aw_center_edge_id_ok(in->refs[i]) || !s_alert_exists(self, txn, in->refs[i]))
            return s_why(in->why, in->why_len, "references[%zu]: no alert \"%.128s\"", i,
                         in->refs[i]),
                   AW_EINVAL;
    if (rv == AW_OK && in->a.msg_type != ANWANG__ALERT_MSG_TYPE__MSGTYPE_ALERT &&
        in->a.n_references == 0)
        return s_why(in->why, in->why_len, "references: an %s names the alerts it replaces",
                     aw_cap_msgtype_name(in->a.msg_type)),
               AW_EINVAL;
    in->a.references = in->refs;
    return rv;
}

static int s_expires(s_input *in, json_t *root, int64_t now_ms)
{
    char *s = NULL;
    int64_t ms;
    int rv = s_str(in, root, "expires", false, 64, &s);
    if (rv != AW_OK || s == NULL)
        return rv;
    if (aw_time_parse_rfc3339(s, &ms) != AW_OK)
        return s_why(in->why, in->why_len, "expires: \"%s\" is not an RFC 3339 time", s), AW_EINVAL;
    if (ms <= now_ms)
        return s_why(in->why, in->why_len, "expires: %s is not in the future", s), AW_ERANGE;
    in->a.has_expires_ms = true;
    in->a.expires_ms = ms;
    return AW_OK;
}

static int s_plan(s_input *in, json_t *root, const aw_registry_t *reg)
{
    int rv = s_str(in, root, "plan", false, AW_REGISTRY_ID_MAX, &in->a.plan_id);
    if (rv != AW_OK || in->a.plan_id == NULL)
        return rv;
    size_t n = 0;
    const aw_plan *p = aw_registry_plans(reg, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].id, in->a.plan_id) == 0)
            return AW_OK;
    return s_why(in->why, in->why_len, "plan: no linkage plan \"%s\" in the registry",
                 in->a.plan_id),
           AW_EINVAL;
}

/* The CAP enums: status and msgType on the wire, the others as their names. */
static int s_enums(s_input *in, json_t *root)
{
    int status, msgtype, scope, urgency, severity, certainty;
    int rv = s_enum(in, root, "status", s_status_names, S_N(s_status_names), -1, &status);
    if (rv == AW_OK)
        rv = s_enum(in, root, "msgType", s_msgtype_names, S_N(s_msgtype_names), 0, &msgtype);
    if (rv == AW_OK)
        rv = s_enum(in, root, "scope", s_scope_names, S_N(s_scope_names), 0, &scope);
    if (rv == AW_OK)
        rv = s_enum(in, root, "urgency", s_urgency_names, S_N(s_urgency_names), 4, &urgency);
    if (rv == AW_OK)
        rv = s_enum(in, root, "severity", s_severity_names, S_N(s_severity_names), 4, &severity);
    if (rv == AW_OK)
        rv =
            s_enum(in, root, "certainty", s_certainty_names, S_N(s_certainty_names), 4, &certainty);
    if (rv != AW_OK)
        return rv;
    in->a.status = (Anwang__AlertStatus)status;
    in->a.msg_type = (Anwang__AlertMsgType)msgtype;
    in->a.scope = (char *)s_scope_names[scope];
    in->a.urgency = (char *)s_urgency_names[urgency];
    in->a.severity = (char *)s_severity_names[severity];
    in->a.certainty = (char *)s_certainty_names[certainty];
    return AW_OK;
}

/* Every field of the request into in->a (identifier, sender and sent are not set here). */
static int s_read_input(aw_alert_svc_t *self, aw_txn_t *txn, const aw_registry_t *reg, json_t *root,
                        int64_t now_ms, s_input *in)
{
    if (!json_is_object(root))
        return s_why(in->why, in->why_len, "the body must be a JSON object"), AW_EINVAL;
    int rv = s_unknown_keys(root, in->why, in->why_len);
    if (rv == AW_OK)
        rv = s_enums(in, root);
    if (rv == AW_OK)
        rv = s_str(in, root, "event", true, S_MAX_SHORT, &in->a.event);
    if (rv == AW_OK)
        rv = s_area(in, root, reg);
    if (rv == AW_OK)
        rv = s_str(in, root, "headline", false, S_MAX_SHORT, &in->a.headline);
    if (rv == AW_OK)
        rv = s_str(in, root, "instruction", false, S_MAX_LONG, &in->a.instruction);
    if (rv == AW_OK)
        rv = s_str(in, root, "description", false, S_MAX_LONG, &in->a.description);
    if (rv == AW_OK)
        rv = s_expires(in, root, now_ms);
    if (rv == AW_OK)
        rv = s_plan(in, root, reg);
    if (rv == AW_OK)
        rv = s_references(self, txn, in, root);
    return rv;
}

/* ------------------------------------------------------------ fan-out */

/* True when zone @p zone meets one of the grid paths of @p area. */
static bool s_zone_meets(const char *zone, char *const *area, size_t n)
{
    for (size_t i = 0; zone[0] != '\0' && i < n; i++)
        if (aw_center_path_in_zone(area[i], zone) || aw_center_path_in_zone(zone, area[i]))
            return true;
    return false;
}

typedef struct s_fan {
    aw_center_db_t *db;
    char *const *area;
    size_t n_area;
    const Anwang__Down *body;
    size_t edges;
} s_fan;

static int s_fan_edge(void *arg, aw_txn_t *txn, const char *edge_id, const aw_center_edge_row *row)
{
    s_fan *f = arg;
    if (row->epoch == 0 || !s_zone_meets(row->zone, f->area, f->n_area))
        return AW_OK; /* never said Hello: its first snapshot carries the active alerts */
    int rv = aw_center_down_enqueue_txn(txn, f->db, edge_id, row->epoch, f->body, NULL);
    f->edges += rv == AW_OK;
    return rv;
}

/* Queues @p body to every known edge whose zone meets the area of @p a. */
static int s_fanout(aw_alert_svc_t *self, aw_txn_t *txn, const Anwang__Alert *a,
                    const Anwang__Down *body, size_t *edges)
{
    s_fan f = {self->db, a->area, a->n_area, body, 0};
    int rv = aw_center_edges_each_txn(txn, self->db, s_fan_edge, &f);
    if (edges != NULL)
        *edges = f.edges;
    return rv;
}

/* ------------------------------------------------------------ create */

/* "<sender>-<YYYYMMDDTHHMMSSZ>-<n>", the first n not taken. */
static int s_identifier(aw_alert_svc_t *self, aw_txn_t *txn, int64_t now_ms, char *id, size_t cap)
{
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    char stamp[32];
    if (now_ms < 0 || gmtime_r(&secs, &tm) == NULL ||
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) == 0)
        return AW_ERANGE;
    for (unsigned n = 1; n < 100000; n++) {
        int len = snprintf(id, cap, "%s-%s-%u", self->sender, stamp, n);
        if (len < 0 || (size_t)len >= cap)
            return AW_ERANGE;
        if (!s_alert_exists(self, txn, id))
            return AW_OK;
    }
    return AW_EEXIST;
}

/* Marks @p a cancelled (metadata, the snapshot's mark) and queues the cancel down. */
static int s_cancel_txn(aw_alert_svc_t *self, aw_txn_t *txn, const Anwang__Alert *a, json_t *meta,
                        const char *who, int64_t now_ms, size_t *edges)
{
    Anwang__AlertCancel c = ANWANG__ALERT_CANCEL__INIT;
    Anwang__Down d = ANWANG__DOWN__INIT;
    c.identifier = a->identifier;
    c.by = (char *)who;
    c.time_ms = now_ms;
    d.body_case = ANWANG__DOWN__BODY_ALERT_CANCEL;
    d.alert_cancel = &c;
    json_object_set_new(meta, "cancelled_at", json_integer(now_ms));
    json_object_set_new(meta, "cancelled_by", json_string(who));
    int rv = s_meta_put(self, txn, a->identifier, meta);
    if (rv == AW_OK)
        rv = aw_center_alert_cancel_put_txn(txn, self->db, &c);
    if (rv == AW_OK)
        rv = s_fanout(self, txn, a, &d, edges);
    return rv;
}

/* A CAP Cancel message also cancels the alerts it references (unless already). */
static int s_cancel_referenced(aw_alert_svc_t *self, aw_txn_t *txn, const Anwang__Alert *a,
                               const char *who, int64_t now_ms)
{
    int rv = AW_OK;
    for (size_t i = 0; rv == AW_OK && a->msg_type == ANWANG__ALERT_MSG_TYPE__MSGTYPE_CANCEL &&
                       i < a->n_references;
         i++) {
        Anwang__Envelope *env = NULL;
        json_t *meta = NULL;
        rv = s_alert_get(self, txn, a->references[i], &env);
        if (rv == AW_OK)
            rv = s_meta_get(self, txn, a->references[i], &meta);
        if (rv == AW_OK && !s_meta_cancelled(meta))
            rv = s_cancel_txn(self, txn, env->down->alert, meta, who, now_ms, NULL);
        json_decref(meta);
        aw_codec_envelope_free(&env);
    }
    return rv;
}

/* Stores @p a with its metadata and fans it out, inside @p txn. */
static int s_issue(aw_alert_svc_t *self, aw_txn_t *txn, const Anwang__Alert *a, const char *who,
                   int64_t now_ms, json_t **out, size_t *edges)
{
    Anwang__Down d = ANWANG__DOWN__INIT;
    d.body_case = ANWANG__DOWN__BODY_ALERT;
    d.alert = (Anwang__Alert *)a;
    json_t *meta = json_pack("{s:s}", "issued_by", who);
    if (meta == NULL)
        return AW_ENOMEM;
    int rv = aw_center_alert_put_txn(txn, self->db, a);
    if (rv == AW_OK)
        rv = s_meta_put(self, txn, a->identifier, meta);
    if (rv == AW_OK)
        rv = s_fanout(self, txn, a, &d, edges);
    if (rv == AW_OK)
        rv = s_cancel_referenced(self, txn, a, who, now_ms);
    if (rv == AW_OK && (*out = s_alert_json(a, meta)) == NULL)
        rv = AW_ENOMEM;
    json_decref(meta);
    return rv;
}

static int s_create_txn(aw_alert_svc_t *self, aw_txn_t *txn, const aw_registry_t *reg, json_t *root,
                        const char *who, int64_t now_ms, json_t **out, char *why, size_t why_len)
{
    s_input in = {.a = ANWANG__ALERT__INIT, .why = why, .why_len = why_len};
    char id[AW_CENTER_EDGE_ID_MAX + 1];
    size_t edges = 0;
    int rv = s_read_input(self, txn, reg, root, now_ms, &in);
    if (rv == AW_OK)
        rv = s_identifier(self, txn, now_ms, id, sizeof id);
    if (rv != AW_OK)
        return rv;
    in.a.identifier = id;
    in.a.sender = self->sender;
    in.a.sent_ms = now_ms;
    rv = s_issue(self, txn, &in.a, who, now_ms, out, &edges);
    if (rv == AW_EINVAL) /* the codec's rules; the checks above should leave none */
        s_why(why, why_len, "the alert breaks the wire format's rules");
    if (rv == AW_OK)
        aw_info("alert %s (%s, %s) issued by %s: queued to %zu edges", id,
                aw_cap_status_name(in.a.status), in.a.event, who, edges);
    return rv;
}

int aw_alert_svc_create(aw_alert_svc_t *self, const char *json, size_t len, const char *who,
                        int64_t now_ms, json_t **out, char *why, size_t why_len)
{
    json_error_t jerr;
    *out = NULL;
    s_why(why, why_len, "%s", "");
    if (who == NULL || who[0] == '\0' || strlen(who) > S_MAX_SHORT)
        return s_why(why, why_len, "who: 1..%d bytes", S_MAX_SHORT), AW_EINVAL;
    const aw_registry_t *reg = aw_registry_svc_current(self->registry);
    if (reg == NULL)
        return s_why(why, why_len, "no registry yet: import one first"), AW_ESTATE;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return s_why(why, why_len, "malformed JSON: %s (line %d)", jerr.text, jerr.line),
               AW_EDECODE;
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(aw_center_db_store(self->db), &txn);
    if (rv == AW_OK)
        rv = s_create_txn(self, txn, reg, root, who, now_ms, out, why, why_len);
    if (rv == AW_OK)
        rv = aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    json_decref(root);
    if (rv != AW_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rv;
}

/* ------------------------------------------------------------ cancel */

static int s_cancel(aw_alert_svc_t *self, aw_txn_t *txn, const char *id, const char *who,
                    int64_t now_ms, json_t **out, char *why, size_t why_len)
{
    Anwang__Envelope *env = NULL;
    json_t *meta = NULL;
    size_t edges = 0;
    int rv = s_alert_get(self, txn, id, &env);
    if (rv == AW_ENOTFOUND)
        s_why(why, why_len, "no alert \"%.128s\"", id);
    if (rv == AW_OK)
        rv = s_meta_get(self, txn, id, &meta);
    const Anwang__Alert *a = rv == AW_OK ? env->down->alert : NULL;
    if (rv == AW_OK && s_meta_cancelled(meta)) {
        const char *by = json_string_value(json_object_get(meta, "cancelled_by"));
        s_why(why, why_len, "alert %s was already cancelled by %s", id, by ? by : "?");
        rv = AW_ESTATE;
    } else if (rv == AW_OK && a->msg_type == ANWANG__ALERT_MSG_TYPE__MSGTYPE_CANCEL) {
        s_why(why, why_len, "alert %s is itself a Cancel message", id);
        rv = AW_ESTATE;
    }
    if (rv == AW_OK)
        rv = s_cancel_txn(self, txn, a, meta, who, now_ms, &edges);
    if (rv == AW_OK && (*out = s_alert_json(a, meta)) == NULL)
        rv = AW_ENOMEM;
    if (rv == AW_OK)
        aw_info("alert %s cancelled by %s: queued to %zu edges", id, who, edges);
    json_decref(meta);
    aw_codec_envelope_free(&env);
    return rv;
}

int aw_alert_svc_cancel(aw_alert_svc_t *self, const char *id, const char *who, int64_t now_ms,
                        json_t **out, char *why, size_t why_len)
{
    *out = NULL;
    s_why(why, why_len, "%s", "");
    if (who == NULL || who[0] == '\0' || strlen(who) > S_MAX_SHORT)
        return s_why(why, why_len, "who: 1..%d bytes", S_MAX_SHORT), AW_EINVAL;
    aw_txn_t *txn = NULL;
    int rv = aw_store_begin(aw_center_db_store(self->db), &txn);
    if (rv == AW_OK)
        rv = s_cancel(self, txn, id, who, now_ms, out, why, why_len);
    if (rv == AW_OK)
        rv = aw_txn_commit(&txn);
    aw_txn_abort(&txn);
    if (rv != AW_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rv;
}

/* ------------------------------------------------------------ receipts */

/* One stored receipt. */
typedef struct s_receipt {
    Anwang__ReceiptKind kind;
    int64_t time_ms;
    uint32_t attempts;
    const char *detail; /* borrowed, NUL-free, detail_len bytes */
    size_t detail_len;
} s_receipt;

static bool s_receipt_read(const uint8_t *v, size_t len, s_receipt *r)
{
    if (len < S_RECEIPT_HEAD || v[0] != S_RECEIPT_V1 || v[1] > 2)
        return false;
    r->kind = (Anwang__ReceiptKind)v[1];
    r->time_ms = (int64_t)aw_get_be64(v + 2);
    r->attempts = (uint32_t)v[10] << 24 | (uint32_t)v[11] << 16 | (uint32_t)v[12] << 8 | v[13];
    r->detail = (const char *)v + S_RECEIPT_HEAD;
    r->detail_len = len - S_RECEIPT_HEAD;
    return true;
}

/* Whether @p in replaces the stored @p old: delivered beats failed; the first
 * delivery and edge receipt count; a later failure (more attempts) replaces one. */
static bool s_receipt_wins(const Anwang__AlertReceipt *in, const s_receipt *old)
{
    if (in->kind != old->kind)
        return in->kind == ANWANG__RECEIPT_KIND__RECEIPT_DEVICE_DELIVERED;
    if (in->kind == ANWANG__RECEIPT_KIND__RECEIPT_DEVICE_FAILED)
        return in->time_ms > old->time_ms;
    return in->time_ms < old->time_ms;
}

static int s_receipt_put(aw_alert_svc_t *self, aw_txn_t *txn, const uint8_t *key, size_t klen,
                         const Anwang__AlertReceipt *in)
{
    size_t dlen = in->detail ? strlen(in->detail) : 0;
    uint8_t *v = malloc(S_RECEIPT_HEAD + dlen);
    if (v == NULL)
        return AW_ENOMEM;
    uint32_t att = in->has_attempts ? in->attempts : 0;
    v[0] = S_RECEIPT_V1;
    v[1] = (uint8_t)in->kind;
    aw_put_be64(v + 2, (uint64_t)in->time_ms);
    v[10] = att >> 24, v[11] = att >> 16 & 0xff, v[12] = att >> 8 & 0xff, v[13] = att & 0xff;
    if (dlen > 0)
        memcpy(v + S_RECEIPT_HEAD, in->detail, dlen);
    int rv = aw_txn_put(txn, self->t_receipts, key, klen, v, S_RECEIPT_HEAD + dlen);
    free(v);
    return rv;
}

/* identifier NUL edge NUL device-or-empty; 0 when it does not fit. */
static size_t s_receipt_key(uint8_t *key, size_t cap, const char *id, const char *edge,
                            const char *device)
{
    size_t a = strlen(id), b = strlen(edge), c = strlen(device);
    if (a + b + c + 2 > cap)
        return 0;
    memcpy(key, id, a + 1);
    memcpy(key + a + 1, edge, b + 1);
    memcpy(key + a + b + 2, device, c);
    return a + b + c + 2;
}

int aw_alert_svc_on_record(void *arg, aw_txn_t *txn, const aw_center_origin *from,
                           const Anwang__Record *rec)
{
    aw_alert_svc_t *self = arg;
    if (rec->body_case != ANWANG__RECORD__BODY_RECEIPT)
        return AW_OK;
    const Anwang__AlertReceipt *r = rec->receipt;
    bool edge_kind = r->kind == ANWANG__RECEIPT_KIND__RECEIPT_EDGE_RECEIVED;
    const char *device = edge_kind || r->device == NULL ? "" : r->device;
    /* An edge speaks only for itself, and of alerts the center issued. */
    if (strcmp(r->edge_id, from->edge_id) != 0 || (!edge_kind && device[0] == '\0') ||
        !aw_center_edge_id_ok(r->identifier) || !s_alert_exists(self, txn, r->identifier))
        return AW_OK;
    uint8_t key[AW_CENTER_KEY_MAX];
    size_t klen = s_receipt_key(key, sizeof key, r->identifier, from->edge_id, device);
    const void *val;
    size_t vlen;
    s_receipt old;
    if (klen == 0)
        return AW_OK;
    int rv = aw_txn_get(txn, self->t_receipts, key, klen, &val, &vlen);
    if (rv == AW_OK && s_receipt_read(val, vlen, &old) && !s_receipt_wins(r, &old))
        return AW_OK;
    if (rv != AW_OK && rv != AW_ENOTFOUND)
        return rv;
    return s_receipt_put(self, txn, key, klen, r);
}

/* ------------------------------------------------------------ delivery report */

/* A targeted siren or loudspeaker and what its receipts say. */
typedef struct s_dev {
    const aw_device *dev;
    bool delivered;
    int64_t delivered_ms; /* earliest delivery */
    json_t *failure;      /* the last failure receipt, as reported */
} s_dev;

/* A targeted edge: a known edge whose zone meets the area, or a targeted zone no edge holds. */
typedef struct s_edge {
    char *id;        /* NULL for a zone without a known edge */
    char *zone;      /* zone path */
    int64_t skew_ms; /* edge wall − center wall, as last measured */
    bool reached;
} s_edge;

typedef struct s_report {
    const Anwang__Alert *a;
    s_dev *devs;
    size_t n_devs;
    s_edge *edges;
    size_t n_edges, cap_edges;
    int rv;
} s_report;

static int s_edge_add(s_report *r, const char *id, const char *zone, int64_t skew_ms)
{
    if (r->n_edges == r->cap_edges) {
        size_t cap = r->cap_edges ? r->cap_edges * 2 : 8;
        s_edge *v = realloc(r->edges, cap * sizeof *v);
        if (v == NULL)
            return AW_ENOMEM;
        r->edges = v;
        r->cap_edges = cap;
    }
    s_edge *e = &r->edges[r->n_edges];
    *e = (s_edge){id ? strdup(id) : NULL, strdup(zone), skew_ms, false};
    if ((id != NULL && e->id == NULL) || e->zone == NULL) {
        free(e->id);
        free(e->zone);
        return AW_ENOMEM;
    }
    r->n_edges++;
    return AW_OK;
}

static int s_report_edge(void *arg, aw_txn_t *txn, const char *edge_id,
                         const aw_center_edge_row *row)
{
    s_report *r = arg;
    (void)txn;
    if (!s_zone_meets(row->zone, r->a->area, r->a->n_area))
        return AW_OK;
    return s_edge_add(r, edge_id, row->zone, row->skew_ms);
}

/* The targeted edges: known ones, then one entry per targeted zone no known edge holds. */
static int s_report_edges(aw_alert_svc_t *self, aw_txn_t *txn, const aw_registry_t *reg,
                          s_report *r)
{
    int rv = aw_center_edges_each_txn(txn, self->db, s_report_edge, r);
    size_t nz = 0, known = r->n_edges;
    const aw_zone *z = reg ? aw_registry_zones(reg, &nz) : NULL;
    for (size_t i = 0; rv == AW_OK && i < nz; i++) {
        if (!s_zone_meets(z[i].path, r->a->area, r->a->n_area))
            continue;
        size_t j = 0;
        while (j < known && strcmp(r->edges[j].zone, z[i].path) != 0)
            j++;
        if (j == known)
            rv = s_edge_add(r, NULL, z[i].path, 0);
    }
    return rv;
}

/* The targeted devices: sirens and loudspeakers whose site lies in the area. */
static int s_report_devices(const aw_registry_t *reg, s_report *r)
{
    size_t n = 0;
    const aw_device *d = reg ? aw_registry_devices(reg, &n) : NULL;
    if (n > 0 && (r->devs = calloc(n, sizeof *r->devs)) == NULL)
        return AW_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (d[i].kind != AW_DEVICE_SIREN && d[i].kind != AW_DEVICE_LOUDSPEAKER)
            continue;
        for (size_t k = 0; k < r->a->n_area; k++)
            if (aw_center_path_in_zone(d[i].site->path, r->a->area[k])) {
                r->devs[r->n_devs++].dev = &d[i];
                break;
            }
    }
    return AW_OK;
}

static s_dev *s_dev_find(s_report *r, const char *id, size_t len)
{
    for (size_t i = 0; i < r->n_devs; i++)
        if (strlen(r->devs[i].dev->id) == len && memcmp(r->devs[i].dev->id, id, len) == 0)
            return &r->devs[i];
    return NULL;
}

/* A device receipt; @p skew_ms (the edge's clock skew) turns its time into center time. */
static void s_report_device(s_report *r, const char *edge, const char *dev, size_t dlen,
                            const s_receipt *rc, int64_t skew_ms)
{
    s_dev *d = s_dev_find(r, dev, dlen);
    if (d == NULL)
        return; /* not targeted (the registry changed since) */
    if (rc->kind == ANWANG__RECEIPT_KIND__RECEIPT_DEVICE_DELIVERED) {
        int64_t at = rc->time_ms - skew_ms;
        if (!d->delivered || at < d->delivered_ms)
            d->delivered_ms = at;
        d->delivered = true;
        return;
    }
    json_t *f = json_pack("{s:s%, s:s, s:I, s:s%, s:o}", "device", dev, dlen, "edge", edge,
                          "attempts", (json_int_t)rc->attempts, "detail", rc->detail,
                          rc->detail_len, "time", s_time_json(rc->time_ms));
    if (f == NULL)
        r->rv = AW_ENOMEM;
    json_decref(d->failure);
    d->failure = f;
}

/* One receipt: key identifier NUL edge NUL device. */
static int s_report_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_report *r = arg;
    const char *k = key;
    size_t idlen = strlen(r->a->identifier);
    s_receipt rc;
    if (klen <= idlen + 1 || !s_receipt_read(val, vlen, &rc))
        return 0;
    const char *edge = k + idlen + 1;
    size_t elen = strnlen(edge, klen - idlen - 1);
    if (elen == klen - idlen - 1 || memchr(rc.detail, '\0', rc.detail_len) != NULL)
        return 0;
    int64_t skew_ms = 0;
    for (size_t i = 0; i < r->n_edges; i++)
        if (r->edges[i].id && strlen(r->edges[i].id) == elen &&
            memcmp(r->edges[i].id, edge, elen) == 0) {
            r->edges[i].reached = true;
            skew_ms = r->edges[i].skew_ms;
        }
    if (rc.kind != ANWANG__RECEIPT_KIND__RECEIPT_EDGE_RECEIVED)
        s_report_device(r, edge, edge + elen + 1, klen - idlen - elen - 2, &rc, skew_ms);
    return r->rv != AW_OK;
}

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile @p p (0..100] of sorted @p v. */
static json_t *s_pct(const int64_t *v, size_t n, unsigned p)
{
    if (n == 0)
        return json_null();
    size_t rank = (n * p + 99) / 100;
    return json_integer(v[rank > 0 ? rank - 1 : 0]);
}

static json_t *s_latency(const s_report *r)
{
    int64_t *v = calloc(r->n_devs + 1, sizeof *v);
    size_t n = 0;
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < r->n_devs; i++)
        if (r->devs[i].delivered) {
            int64_t lat = r->devs[i].delivered_ms - r->a->sent_ms;
            v[n++] = lat > 0 ? lat : 0;
        }
    if (n > 1)
        qsort(v, n, sizeof *v, s_cmp_i64);
    json_t *o = json_pack("{s:o, s:o, s:o}", "p50", s_pct(v, n, 50), "p99", s_pct(v, n, 99), "max",
                          s_pct(v, n, 100));
    free(v);
    return o;
}

/* The report object of SPEC §8 from the walked receipts. */
static json_t *s_report_json(const s_report *r)
{
    json_t *unreached = json_array(), *un_edges = json_array(), *failures = json_array();
    size_t dev_reached = 0, dev_failed = 0, edge_reached = 0, edge_failed = 0;
    for (size_t i = 0; i < r->n_devs; i++) {
        const s_dev *d = &r->devs[i];
        dev_reached += d->delivered;
        dev_failed += !d->delivered && d->failure != NULL;
        if (!d->delivered)
            json_array_append_new(unreached, json_string(d->dev->id));
        if (!d->delivered && d->failure != NULL)
            json_array_append(failures, d->failure);
    }
    for (size_t i = 0; i < r->n_edges; i++) {
        const s_edge *e = &r->edges[i];
        edge_reached += e->reached;
        edge_failed += e->id == NULL;
        if (!e->reached)
            json_array_append_new(un_edges, json_string(e->id ? e->id : e->zone));
    }
    json_array_extend(unreached, un_edges);
    return json_pack("{s:{s:I, s:I, s:I, s:o}, s:{s:I, s:I, s:I}, s:o, s:o, s:o}", "edges",
                     "targeted", (json_int_t)r->n_edges, "reached", (json_int_t)edge_reached,
                     "failed", (json_int_t)edge_failed, "unreached", un_edges, "devices",
                     "targeted", (json_int_t)r->n_devs, "reached", (json_int_t)dev_reached,
                     "failed", (json_int_t)dev_failed, "latency_ms", s_latency(r), "unreached",
                     unreached, "failures", failures);
}

static void s_report_free(s_report *r)
{
    for (size_t i = 0; i < r->n_devs; i++)
        json_decref(r->devs[i].failure);
    for (size_t i = 0; i < r->n_edges; i++) {
        free(r->edges[i].id);
        free(r->edges[i].zone);
    }
    free(r->devs);
    free(r->edges);
}

/* The delivery report of @p a (SPEC §8) into *out. */
static int s_report_make(aw_alert_svc_t *self, aw_txn_t *txn, const Anwang__Alert *a, json_t **out)
{
    const aw_registry_t *reg = aw_registry_svc_current(self->registry);
    s_report r = {.a = a};
    uint8_t prefix[AW_CENTER_KEY_MAX];
    size_t plen = strlen(a->identifier) + 1;
    memcpy(prefix, a->identifier, plen);
    int rv = s_report_edges(self, txn, reg, &r);
    if (rv == AW_OK)
        rv = s_report_devices(reg, &r);
    if (rv == AW_OK)
        rv = aw_txn_scan(txn, self->t_receipts, prefix, plen, NULL, 0, s_report_cb, &r);
    if (rv == AW_OK)
        rv = r.rv;
    if (rv == AW_OK && (*out = s_report_json(&r)) == NULL)
        rv = AW_ENOMEM;
    s_report_free(&r);
    return rv;
}

/* ------------------------------------------------------------ reads */

int aw_alert_svc_get_json(aw_alert_svc_t *self, aw_txn_t *txn, const char *id, int64_t now_ms,
                          json_t **out)
{
    Anwang__Envelope *env = NULL;
    json_t *meta = NULL, *report = NULL;
    (void)now_ms;
    *out = NULL;
    int rv = s_alert_get(self, txn, id, &env);
    if (rv == AW_OK)
        rv = s_meta_get(self, txn, id, &meta);
    if (rv == AW_OK)
        rv = s_report_make(self, txn, env->down->alert, &report);
    if (rv == AW_OK && (*out = s_alert_json(env->down->alert, meta)) == NULL)
        rv = AW_ENOMEM;
    if (rv == AW_OK)
        json_object_set(*out, "report", report);
    json_decref(report);
    json_decref(meta);
    aw_codec_envelope_free(&env);
    return rv;
}

/* Walk state of the list: (sent, object) pairs. */
typedef struct s_list_walk {
    aw_alert_svc_t *self;
    aw_txn_t *txn;
    bool active_only;
    int64_t now_ms;
    struct s_item {
        int64_t sent_ms;
        json_t *o;
    } * v;
    size_t n, cap;
    int rv;
} s_list_walk;

static int s_list_push(s_list_walk *w, int64_t sent_ms, json_t *o)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        struct s_item *v = realloc(w->v, cap * sizeof *v);
        if (v == NULL)
            return AW_ENOMEM;
        w->v = v;
        w->cap = cap;
    }
    w->v[w->n++] = (struct s_item){sent_ms, o};
    return AW_OK;
}

static int s_list_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    s_list_walk *w = arg;
    Anwang__Envelope *env = NULL;
    json_t *meta = NULL, *o = NULL;
    if (memchr(key, '\0', klen) != NULL ||
        aw_codec_envelope_decode(val, vlen, NULL, &env, NULL, 0) != AW_OK)
        return 0; /* a cancel mark, or an entry that does not decode */
    const Anwang__Alert *a = env->msg_case == ANWANG__ENVELOPE__MSG_DOWN &&
                                     env->down->body_case == ANWANG__DOWN__BODY_ALERT
                                 ? env->down->alert
                                 : NULL;
    if (a != NULL && (w->rv = s_meta_get(w->self, w->txn, a->identifier, &meta)) == AW_OK) {
        bool expired = a->has_expires_ms && a->expires_ms <= w->now_ms;
        if (!w->active_only || (!s_meta_cancelled(meta) && !expired))
            w->rv = (o = s_alert_json(a, meta)) ? s_list_push(w, a->sent_ms, o) : AW_ENOMEM;
        if (w->rv != AW_OK)
            json_decref(o);
    }
    json_decref(meta);
    aw_codec_envelope_free(&env);
    return w->rv != AW_OK;
}

/* Newest first; the identifier (which holds the time) breaks ties. */
static int s_cmp_item(const void *x, const void *y)
{
    const struct s_item *a = x, *b = y;
    if (a->sent_ms != b->sent_ms)
        return a->sent_ms < b->sent_ms ? 1 : -1;
    return -strcmp(json_string_value(json_object_get(a->o, "id")),
                   json_string_value(json_object_get(b->o, "id")));
}

int aw_alert_svc_list_json(aw_alert_svc_t *self, aw_txn_t *txn, bool active_only, int64_t now_ms,
                           json_t **out)
{
    s_list_walk w = {.self = self, .txn = txn, .active_only = active_only, .now_ms = now_ms};
    *out = NULL;
    int rv = aw_txn_scan(txn, aw_center_db_table(self->db, AW_CT_ALERTS), NULL, 0, NULL, 0,
                         s_list_cb, &w);
    if (rv == AW_OK)
        rv = w.rv;
    json_t *arr = rv == AW_OK ? json_array() : NULL;
    if (rv == AW_OK && arr == NULL)
        rv = AW_ENOMEM;
    if (rv == AW_OK && w.n > 1)
        qsort(w.v, w.n, sizeof *w.v, s_cmp_item);
    for (size_t i = 0; i < w.n; i++)
        if (arr == NULL || json_array_append_new(arr, w.v[i].o) != 0)
            json_decref(arr == NULL ? w.v[i].o : NULL);
    free(w.v);
    if (rv == AW_OK && (*out = json_pack("{s:o}", "alerts", arr)) == NULL)
        rv = AW_ENOMEM;
    return rv;
}

/* ------------------------------------------------------------ CAP */

int aw_alert_svc_cap_xml(aw_alert_svc_t *self, aw_txn_t *txn, const char *id, char **xml)
{
    Anwang__Envelope *env = NULL, *refs_env[S_MAX_REFS] = {0};
    aw_cap_ref refs[S_MAX_REFS];
    size_t n = 0;
    *xml = NULL;
    int rv = s_alert_get(self, txn, id, &env);
    const Anwang__Alert *a = rv == AW_OK ? env->down->alert : NULL;
    for (size_t i = 0; rv == AW_OK && i < a->n_references && n < S_MAX_REFS; i++) {
        int r2 = s_alert_get(self, txn, a->references[i], &refs_env[n]);
        if (r2 == AW_ENOTFOUND || r2 == AW_ECORRUPT)
            continue; /* checked at creation; nothing to name if gone */
        if ((rv = r2) != AW_OK)
            break;
        const Anwang__Alert *ra = refs_env[n]->down->alert;
        refs[n++] = (aw_cap_ref){ra->sender, ra->identifier, ra->sent_ms};
    }
    if (rv == AW_OK)
        rv = aw_cap_xml(a, refs, n, xml);
    for (size_t i = 0; i < n; i++)
        aw_codec_envelope_free(&refs_env[i]);
    aw_codec_envelope_free(&env);
    return rv;
}
