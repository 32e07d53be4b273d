/* api_views.c: the GET handlers of the API (API.md), each answering from
 * one read transaction. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "grading.h"
#include "ledger.h"
#include "rfc3339.h"
#include "status.h"

/* Default and largest history per metric of GET /api/v1/devices/<id>. */
#define S_HISTORY_DEFAULT 100
#define S_HISTORY_MAX     10000
/* Default and largest GET /api/v1/hazards listing. */
#define S_HAZARDS_DEFAULT 1000
#define S_HAZARDS_MAX     10000
#define S_AUDIT_DEFAULT   100

/* An RFC 3339 string, or null for 0 (never). */
static json_t *s_time(int64_t ms)
{
    char buf[AW_RFC3339_LEN];
    if (ms == 0 || aw_time_format_rfc3339(ms, buf) != AW_OK)
        return json_null();
    return json_string(buf);
}

static json_t *s_lanes(const uint64_t v[AW_LANE_COUNT])
{
    return json_pack("{s:I, s:I}", "urgent", (json_int_t)v[AW_LANE_URGENT], "bulk",
                     (json_int_t)v[AW_LANE_BULK]);
}

/* The answer of a read that made @p out (or failed with @p rv). */
static void s_answer(aw_api_ctx *c, int rv, json_t *out, const char *what)
{
    if (rv == AW_OK)
        aw_api_json(c, 200, out);
    else if (rv == AW_ENOTFOUND)
        aw_api_error(c, 404, "not-found", "no such %s: %.200s", what, c->id ? c->id : "");
    else
        aw_api_fail(c, rv, NULL);
}

void aw_api_get_picture(aw_api_ctx *c)
{
    const char *root;
    int64_t depth;
    if (!aw_api_arg_path(c, "root", &root) || !aw_api_arg_int(c, "depth", 0, 4, 2, &depth))
        return;
    aw_txn_t *txn = aw_api_read_txn(c);
    json_t *out = NULL;
    if (!txn)
        return;
    int rv = aw_picture_tree_json(c->api->o.picture, txn, root, (int)depth, c->now_ms, &out);
    if (rv == AW_ENOTFOUND)
        aw_api_error(c, 404, "not-found",
                     root ? "no grid node %.200s in the registry" : "no registry imported yet%s",
                     root ? root : "");
    else
        s_answer(c, rv, out, "node");
}

static json_t *s_edge_json(const aw_edge_status *e)
{
    return json_pack("{s:s, s:o, s:b, s:I, s:o, s:I, s:o, s:o, s:o, s:o, s:I, s:I}", "edge",
                     e->edge_id, "zone", *e->zone ? json_string(e->zone) : json_null(), "connected",
                     e->connected, "epoch", (json_int_t)e->epoch, "last_contact",
                     s_time(e->last_contact_ms), "skew_ms", (json_int_t)e->skew_ms, "applied",
                     s_lanes(e->applied), "head", s_lanes(e->head), "backlog", s_lanes(e->backlog),
                     "records", s_lanes(e->records), "poison", (json_int_t)e->poison,
                     "down_pending", (json_int_t)e->down_pending);
}

void aw_api_get_edges(aw_api_ctx *c)
{
    aw_edge_status *e = NULL;
    size_t n = 0;
    int rv = aw_center_edge_list(c->api->o.db, &e, &n);
    if (rv != AW_OK) {
        aw_api_fail(c, rv, "cannot list the edges");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, s_edge_json(&e[i])) != 0)
            json_decref(arr), arr = NULL;
    free(e);
    aw_api_json(c, 200, arr ? json_pack("{s:o}", "edges", arr) : NULL);
}

void aw_api_get_device(aw_api_ctx *c)
{
    int64_t limit;
    const char *metric = c->req->arg ? c->req->arg(c->req->arg_ctx, "metric") : NULL;
    if (!aw_api_arg_int(c, "limit", 1, S_HISTORY_MAX, S_HISTORY_DEFAULT, &limit))
        return;
    if (metric && (!*metric || strlen(metric) > 64)) {
        aw_api_error(c, 400, "bad-parameter", "metric: expected a metric name (1..64 bytes)");
        return;
    }
    aw_txn_t *txn = aw_api_read_txn(c);
    json_t *out = NULL;
    if (!txn)
        return;
    int rv = aw_picture_device_json(c->api->o.picture, txn, c->id, metric, (size_t)limit, &out);
    s_answer(c, rv, out, "device");
}

static const char *const s_states[] = {"active", "all", NULL};
static const char *const s_levels[] = {"none", "blue", "yellow", "orange", "red", NULL};

void aw_api_get_alarms(aw_api_ctx *c)
{
    aw_alarm_query q = {0};
    int state, level;
    if (!aw_api_arg_enum(c, "state", s_states, 0, &state) || !aw_api_arg_path(c, "root", &q.root) ||
        !aw_api_arg_enum(c, "level", s_levels + 1, -1, &level))
        return;
    q.all = state == 1;
    q.min_level = level < 0 ? 0 : level + 1;
    aw_txn_t *txn = aw_api_read_txn(c);
    json_t *out = NULL;
    if (!txn)
        return;
    int rv = aw_picture_alarms_json(c->api->o.picture, txn, &q, &out);
    s_answer(c, rv, out, "alarm");
}

/* status=… of GET /api/v1/hazards: -1 any, -2 open, else aw_hazard_status. */
static bool s_hazard_status(aw_api_ctx *c, int *status)
{
    static const char *const names[] = {"reported", "assigned", "rectifying", "rectified",
                                        "closed",   "open",     NULL};
    int i;
    if (!aw_api_arg_enum(c, "status", names, -1, &i))
        return false;
    *status = i < 0 ? -1 : i == 5 ? -2 : i + AW_HAZARD_REPORTED;
    return true;
}

static bool s_sector(aw_api_ctx *c, const char **sector)
{
    const char *v = c->req->arg ? c->req->arg(c->req->arg_ctx, "sector") : NULL;
    *sector = v;
    if (!v)
        return true;
    for (int i = 0; i < 32 && strcmp(aw_sector_name((aw_sector)i), "invalid"); i++)
        if (!strcmp(v, aw_sector_name((aw_sector)i)))
            return true;
    aw_api_error(c, 400, "bad-parameter", "sector=%.64s: not a sector of SPEC §1 (e.g. %s)", v,
                 aw_sector_name((aw_sector)0));
    return false;
}

void aw_api_get_hazards(aw_api_ctx *c)
{
    static const char *const levels[] = {"general", "major", NULL};
    static const char *const flags[] = {"false", "true", NULL};
    aw_hazard_filter f = {0};
    int overdue;
    int64_t limit;
    if (!aw_api_arg_path(c, "root", &f.root) || !s_hazard_status(c, &f.status) ||
        !aw_api_arg_enum(c, "level", levels, -1, &f.level) || !s_sector(c, &f.sector) ||
        !aw_api_arg_enum(c, "overdue", flags, 0, &overdue) ||
        !aw_api_arg_int(c, "limit", 1, S_HAZARDS_MAX, S_HAZARDS_DEFAULT, &limit))
        return;
    f.overdue_only = overdue == 1;
    aw_txn_t *txn = aw_api_read_txn(c);
    json_t *out = NULL;
    if (!txn)
        return;
    int rv = aw_hazard_svc_list_json(c->api->o.hazards, txn, &f, c->now_ms, (size_t)limit, &out);
    s_answer(c, rv, out, "hazard");
}

void aw_api_get_hazard(aw_api_ctx *c)
{
    aw_txn_t *txn = aw_api_read_txn(c);
    json_t *out = NULL;
    if (!txn)
        return;
    int rv = aw_hazard_svc_get_json(c->api->o.hazards, txn, c->id, c->now_ms, &out);
    s_answer(c, rv, out, "hazard");
}

void aw_api_get_alerts(aw_api_ctx *c)
{
    int state;
    if (!aw_api_arg_enum(c, "state", s_states, 0, &state))
        return;
    aw_txn_t *txn = aw_api_read_txn(c);
    json_t *out = NULL;
    if (!txn)
        return;
    int rv = aw_alert_svc_list_json(c->api->o.alerts, txn, state == 0, c->now_ms, &out);
    s_answer(c, rv, out, "alert");
}

void aw_api_get_alert(aw_api_ctx *c)
{
    aw_txn_t *txn = aw_api_read_txn(c);
    json_t *out = NULL;
    if (!txn)
        return;
    int rv = aw_alert_svc_get_json(c->api->o.alerts, txn, c->id, c->now_ms, &out);
    s_answer(c, rv, out, "alert");
}

void aw_api_get_alert_cap(aw_api_ctx *c)
{
    aw_txn_t *txn = aw_api_read_txn(c);
    char *xml = NULL;
    if (!txn)
        return;
    int rv = aw_alert_svc_cap_xml(c->api->o.alerts, txn, c->id, &xml);
    if (rv == AW_OK)
        aw_api_bytes(c, 200, "application/cap+xml; charset=utf-8", xml, strlen(xml));
    else
        s_answer(c, rv, NULL, "alert");
}

void aw_api_get_registry(aw_api_ctx *c)
{
    char *json = NULL;
    size_t len = 0;
    int rv = aw_registry_svc_json(c->api->o.registry, &json, &len);
    if (rv == AW_OK)
        aw_api_bytes(c, 200, "application/json", json, len);
    else if (rv == AW_ENOTFOUND)
        aw_api_error(c, 404, "not-found",
                     "no registry imported yet: PUT /api/v1/registry (admin) with the county's "
                     "registry JSON");
    else
        aw_api_fail(c, rv, "cannot read the registry");
}

static json_t *s_status_edges(aw_api_ctx *c, int *rv)
{
    aw_edge_status *e = NULL;
    size_t n = 0, up = 0;
    if ((*rv = aw_center_edge_list(c->api->o.db, &e, &n)) != AW_OK)
        return NULL;
    for (size_t i = 0; i < n; i++)
        up += e[i].connected;
    free(e);
    return json_pack("{s:I, s:I}", "known", (json_int_t)n, "connected", (json_int_t)up);
}

static json_t *s_status_counts(const aw_picture_totals *t)
{
    unsigned alarms = 0;
    for (int l = AW_LEVEL_BLUE; l <= AW_LEVEL_RED; l++)
        alarms += t->alarms[l];
    return json_pack("{s:{s:I, s:I}, s:{s:I}}", "hazards", "open",
                     (json_int_t)(t->open[0] + t->open[1]), "overdue",
                     (json_int_t)(t->overdue[0] + t->overdue[1]), "alarms", "active",
                     (json_int_t)alarms);
}

void aw_api_get_status(aw_api_ctx *c)
{
    const aw_api_opts *o = &c->api->o;
    aw_picture_totals t;
    uint64_t used = 0, map = 0;
    int rv = AW_OK;
    memset(&t, 0, sizeof t);
    aw_txn_t *txn = aw_api_read_txn(c);
    if (!txn)
        return;
    json_t *edges = s_status_edges(c, &rv);
    if (rv == AW_OK)
        rv = aw_picture_totals_get(o->picture, txn, &t);
    if (rv == AW_OK)
        rv = aw_store_usage(aw_center_db_store(o->db), &used, &map);
    if (rv != AW_OK) {
        json_decref(edges);
        aw_api_fail(c, rv, "cannot read the status");
        return;
    }
    const aw_registry_t *reg = aw_registry_svc_current(o->registry);
    json_t *out =
        json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:{s:I, s:I}}", "center", o->center_id, "name",
                  o->center_name ? o->center_name : "", "version", o->version ? o->version : "",
                  "started", s_time(o->started_ms), "registry_version",
                  reg ? json_integer((json_int_t)aw_registry_version(reg)) : json_null(), "edges",
                  edges, "store", "used_bytes", (json_int_t)used, "map_bytes", (json_int_t)map);
    if (out && json_object_update_new(out, s_status_counts(&t)) != 0)
        json_decref(out), out = NULL;
    aw_api_json(c, 200, out);
}

void aw_api_get_audit(aw_api_ctx *c)
{
    int64_t limit;
    if (!aw_api_arg_int(c, "limit", 1, AW_AUDIT_LIMIT_MAX, S_AUDIT_DEFAULT, &limit))
        return;
    aw_txn_t *txn = aw_api_read_txn(c);
    json_t *out = NULL;
    if (!txn)
        return;
    int rv = aw_audit_list_json(c->api->o.audit, txn, (size_t)limit, &out);
    s_answer(c, rv, out, "audit");
}

void aw_api_get_metrics(aw_api_ctx *c)
{
    aw_txn_t *txn = aw_api_read_txn(c);
    char *text = NULL;
    size_t len = 0;
    if (!txn)
        return;
    int rv =
        aw_metrics_render(c->api->o.metrics, c->api->o.db, c->api->o.picture, txn, &text, &len);
    if (rv == AW_OK)
        aw_api_bytes(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    else
        aw_api_fail(c, rv, "cannot read the metrics");
}
