#include "alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aw_err.h"

/* CAP elements copied into the log line when the alert has them. */
static const char *const s_copied[] = {"identifier", "sender",   "sent",    "status",   "msgType",
                                       "scope",      "event",    "urgency", "severity", "certainty",
                                       "area",       "headline", "expires"};

static int s_one_of(const char *v, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v, set[i]) == 0)
            return 1;
    return 0;
}

/* Sets *out to the string at @p key; explains in @p why when missing or wrong. */
static int s_string(json_t *o, const char *key, const char **out, char *why, size_t len)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) == 0) {
        snprintf(why, len, "%s: %s", key, v ? "must be a non-empty string" : "missing");
        return AW_EINVAL;
    }
    *out = json_string_value(v);
    return AW_OK;
}

static int s_check(aw_sim_alert *a, char *why, size_t len)
{
    static const char *const statuses[] = {"Actual", "Exercise", "System", "Test", "Draft"};
    static const char *const types[] = {"Alert", "Update", "Cancel", "Ack", "Error"};
    int rv = s_string(a->json, "identifier", &a->identifier, why, len);
    if (rv == AW_OK)
        rv = s_string(a->json, "status", &a->status, why, len);
    if (rv == AW_OK)
        rv = s_string(a->json, "msgType", &a->msg_type, why, len);
    if (rv == AW_OK && !s_one_of(a->status, statuses, 5)) {
        snprintf(why, len, "status: \"%.40s\" is not a CAP status", a->status);
        rv = AW_EINVAL;
    }
    if (rv == AW_OK && !s_one_of(a->msg_type, types, 5)) {
        snprintf(why, len, "msgType: \"%.40s\" is not a CAP msgType", a->msg_type);
        rv = AW_EINVAL;
    }
    json_t *ev = json_object_get(a->json, "event");
    a->event = json_is_string(ev) ? json_string_value(ev) : "";
    a->drill = rv == AW_OK && strcmp(a->status, "Exercise") == 0;
    return rv;
}

int aw_sim_alert_parse(const uint8_t *data, size_t len, aw_sim_alert *out, char *why,
                       size_t why_len)
{
    json_error_t err;
    memset(out, 0, sizeof *out);
    out->event = "";
    if (!data || len == 0) {
        snprintf(why, why_len, "empty payload: POST the alert as JSON");
        return AW_EINVAL;
    }
    out->json = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &err);
    if (!out->json) {
        snprintf(why, why_len, "not JSON: %s (line %d, column %d)", err.text, err.line, err.column);
        return AW_EINVAL;
    }
    if (!json_is_object(out->json)) {
        snprintf(why, why_len, "the alert must be a JSON object");
        return AW_EINVAL;
    }
    return s_check(out, why, why_len);
}

void aw_sim_alert_clear(aw_sim_alert *a)
{
    json_decref(a->json);
    memset(a, 0, sizeof *a);
}

void aw_sim_rfc3339(int64_t ms, char *buf, size_t len)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

static void s_set_str(json_t *o, const char *key, const char *v)
{
    if (v)
        json_object_set_new(o, key, json_string(v));
}

char *aw_sim_alert_log_line(const aw_sim_alert *a, const aw_sim_receipt *r)
{
    char when[40];
    aw_sim_rfc3339(r->received_ms, when, sizeof when);
    json_t *o = json_object();
    if (!o)
        return NULL;
    s_set_str(o, "device", r->device);
    s_set_str(o, "received", when);
    s_set_str(o, "code", r->code);
    for (size_t i = 0; a->json && json_is_object(a->json) && i < sizeof s_copied / sizeof *s_copied;
         i++) {
        json_t *v = json_object_get(a->json, s_copied[i]);
        if (v)
            json_object_set(o, s_copied[i], v);
    }
    json_object_set_new(o, "drill", json_boolean(a->drill));
    s_set_str(o, "error", r->error);
    s_set_str(o, "peer", r->peer);
    s_set_str(o, "identity", r->identity);
    char *text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    size_t n = text ? strlen(text) : 0;
    char *line = text ? realloc(text, n + 2) : NULL;
    if (!line) {
        free(text);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    return line;
}

void aw_sim_alert_describe(const aw_sim_alert *a, const aw_sim_receipt *r, char *buf, size_t len)
{
    if (r->error) {
        snprintf(buf, len, "siren %s: refused a POST with %s: %s", r->device, r->code, r->error);
        return;
    }
    const char *what;
    if (strcmp(r->code, "2.04") != 0) {
        snprintf(buf, len,
                 "siren %s: answered %s on purpose (--siren-fail), did not sound: %s %s "
                 "\"%s\" id=%s",
                 r->device, r->code, a->status, a->msg_type, a->event, a->identifier);
        return;
    }
    if (a->drill)
        what = "*** DRILL *** (status Exercise: an exercise, NOT sounding as Actual)";
    else if (strcmp(a->status, "Actual") != 0)
        what = strcmp(a->status, "Test") == 0 ? "TEST message (not sounding)"
                                              : "non-Actual message (not sounding)";
    else if (strcmp(a->msg_type, "Cancel") == 0)
        what = "SILENCED: Actual alert cancelled";
    else
        what = "SOUNDING: Actual alert";
    snprintf(buf, len, "siren %s: %s %s \"%s\" id=%s", r->device, what, a->msg_type, a->event,
             a->identifier);
}
