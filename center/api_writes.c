/* api_writes.c: the POST and PUT handlers of the API (API.md). Each goes
 * through a service that commits its whole change in one transaction or
 * changes nothing; c->object names what the audit record touches. */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "down.h"

#define S_WHY 1024
/* Longest note of an alarm ack. */
#define S_NOTE_MAX 1024

/* Sets the audit's object from @p out's "id" (or keeps the path's id). */
static void s_object(aw_api_ctx *c, json_t *out)
{
    const char *id = json_string_value(json_object_get(out, "id"));
    if (id)
        snprintf(c->object, sizeof c->object, "%s", id);
}

/* A service's answer: @p status with *out, or the error. */
static void s_done(aw_api_ctx *c, int rv, int status, json_t *out, const char *why)
{
    if (rv == AW_OK) {
        s_object(c, out);
        aw_api_json(c, status, out);
        return;
    }
    json_decref(out);
    aw_api_fail(c, rv, why);
}

/*
 * An optional body: absent or empty is fine; else a JSON object whose keys
 * are among @p keys (NULL-terminated) with string values of at most
 * S_NOTE_MAX bytes. Answers 400 itself and returns false when not.
 */
static bool s_small_body(aw_api_ctx *c, const char *const *keys)
{
    if (!c->req->body || c->req->body_len == 0)
        return true;
    json_error_t err;
    json_t *o = json_loadb(c->req->body, c->req->body_len, JSON_REJECT_DUPLICATES, &err);
    const char *key;
    json_t *v;
    bool ok = json_is_object(o);
    if (!o)
        aw_api_error(c, 400, "bad-json", "line %d column %d: %s", err.line, err.column, err.text);
    else if (!ok)
        aw_api_error(c, 400, "bad-request", "the body must be a JSON object");
    json_object_foreach(ok ? o : NULL, key, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i]; i++)
            known = known || !strcmp(key, keys[i]);
        if (!known || !json_is_string(v) || json_string_length(v) > S_NOTE_MAX) {
            aw_api_error(c, 400, "bad-request",
                         known ? "%.64s: expected a string of at most 1024 bytes"
                               : "%.64s: unknown field",
                         key);
            ok = false;
            break;
        }
    }
    json_decref(o);
    return ok;
}

/* 409 when @p id is among the cleared alarms of the last 7 days, else 404. */
static void s_alarm_gone(aw_api_ctx *c, aw_txn_t *txn)
{
    aw_alarm_query q = {.all = true};
    json_t *all = NULL, *a;
    size_t i;
    bool cleared = false;
    if (aw_picture_alarms_json(c->api->o.picture, txn, &q, &all) == AW_OK) {
        json_array_foreach(json_object_get(all, "alarms"), i, a)
        {
            const char *id = json_string_value(json_object_get(a, "id"));
            cleared = cleared || (id && !strcmp(id, c->id));
        }
    }
    json_decref(all);
    if (cleared)
        aw_api_error(c, 409, "conflict", "alarm %.200s is already cleared", c->id);
    else
        aw_api_error(c, 404, "not-found", "no active alarm %.200s", c->id);
}

/* Which edge holds the alarm; false with the answer made when none. */
static bool s_alarm_edge(aw_api_ctx *c, char *edge, size_t cap)
{
    aw_txn_t *txn = aw_api_read_txn(c);
    if (!txn)
        return false;
    int rv = aw_picture_alarm_edge(c->api->o.picture, txn, c->id, edge, cap);
    if (rv == AW_ENOTFOUND)
        s_alarm_gone(c, txn);
    else if (rv != AW_OK)
        aw_api_fail(c, rv, "cannot read the alarms");
    aw_txn_abort(&c->txn);
    return rv == AW_OK;
}

void aw_api_post_alarm_ack(aw_api_ctx *c)
{
    static const char *const keys[] = {"note", NULL};
    char edge[AW_CENTER_EDGE_ID_MAX + 1];
    if (!s_small_body(c, keys) || !s_alarm_edge(c, edge, sizeof edge))
        return;
    Anwang__AlarmAck ack = ANWANG__ALARM_ACK__INIT;
    Anwang__Down down = ANWANG__DOWN__INIT;
    ack.alarm_id = (char *)c->id;
    ack.by = (char *)c->who;
    ack.time_ms = c->now_ms;
    down.body_case = ANWANG__DOWN__BODY_ALARM_ACK;
    down.alarm_ack = &ack;
    int rv = aw_center_down_enqueue(c->api->o.db, edge, &down, NULL);
    if (rv != AW_OK) {
        aw_api_fail(c, rv == AW_ENOTFOUND ? AW_ESTATE : rv,
                    rv == AW_ENOTFOUND ? "the edge holding this alarm never connected" : NULL);
        return;
    }
    aw_api_json(
        c, 202,
        json_pack("{s:s, s:s, s:s, s:b}", "id", c->id, "edge", edge, "by", c->who, "queued", 1));
}

void aw_api_post_hazard(aw_api_ctx *c)
{
    char why[S_WHY] = "";
    json_t *out = NULL;
    int rv = aw_hazard_svc_report(c->api->o.hazards, c->req->body, c->req->body_len, c->who,
                                  c->now_ms, &out, why, sizeof why);
    s_done(c, rv == AW_ENOTFOUND ? AW_EINVAL : rv, 201, out, why); /* unknown site: bad value */
}

void aw_api_post_hazard_event(aw_api_ctx *c)
{
    char why[S_WHY] = "";
    json_t *out = NULL;
    int rv = aw_hazard_svc_event(c->api->o.hazards, c->id, c->req->body, c->req->body_len, c->who,
                                 c->now_ms, &out, why, sizeof why);
    if (rv == AW_ENOTFOUND)
        snprintf(why, sizeof why, "no such hazard: %.200s", c->id);
    s_done(c, rv, 201, out, why);
}

void aw_api_post_alert(aw_api_ctx *c)
{
    char why[S_WHY] = "";
    json_t *out = NULL;
    int rv = aw_alert_svc_create(c->api->o.alerts, c->req->body, c->req->body_len, c->who,
                                 c->now_ms, &out, why, sizeof why);
    s_done(c, rv, 201, out, why);
}

void aw_api_post_alert_cancel(aw_api_ctx *c)
{
    static const char *const keys[] = {NULL};
    char why[S_WHY] = "";
    json_t *out = NULL;
    if (!s_small_body(c, keys))
        return;
    int rv = aw_alert_svc_cancel(c->api->o.alerts, c->id, c->who, c->now_ms, &out, why, sizeof why);
    if (rv == AW_ENOTFOUND)
        snprintf(why, sizeof why, "no such alert: %.200s", c->id);
    s_done(c, rv, 200, out, why);
}

/* 400 with every fault and its JSON path in "errors". */
static void s_invalid_registry(aw_api_ctx *c, const aw_registry_errors *errs)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < errs->count; i++)
        json_array_append_new(arr, json_string(errs->msgs[i]));
    aw_api_json(c, 400,
                json_pack("{s:s, s:s+, s:o}", "error", "invalid-registry", "detail",
                          errs->count ? errs->msgs[0] : "the registry is not valid",
                          errs->count + errs->dropped > 1 ? " (and more: see errors)" : "",
                          "errors", arr ? arr : json_array()));
}

void aw_api_put_registry(aw_api_ctx *c)
{
    aw_registry_errors errs = {0};
    aw_registry_put_report rep = {0};
    int rv = aw_registry_svc_put(c->api->o.registry, c->req->body, c->req->body_len, c->now_ms,
                                 &errs, &rep);
    if (rv == AW_OK) {
        snprintf(c->object, sizeof c->object, "registry v%llu", (unsigned long long)rep.version);
        aw_api_json(c, 200,
                    json_pack("{s:I, s:I, s:I}", "version", (json_int_t)rep.version, "zones",
                              (json_int_t)rep.zones, "edges_pushed", (json_int_t)rep.edges_pushed));
    } else if (rv == AW_EINVAL) {
        s_invalid_registry(c, &errs);
    } else {
        aw_api_fail(c, rv, errs.count ? errs.msgs[0] : NULL);
    }
    aw_registry_errors_clear(&errs);
}
