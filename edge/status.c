#include "status.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "hazard_json.h"

#ifndef AW_VERSION
#define AW_VERSION "0.1.0"
#endif

/* An RFC 3339 string for @p ms, or JSON null for 0 / out of range. */
static json_t *s_time(int64_t ms)
{
    char buf[AW_RFC3339_LEN];
    if (ms == 0 || aw_time_format_rfc3339(ms, buf) != AW_OK)
        return json_null();
    return json_string(buf);
}

static json_t *s_lane(const aw_lane_info *l)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "head", (json_int_t)l->head, "acked",
                     (json_int_t)l->acked, "first", (json_int_t)l->first, "count",
                     (json_int_t)l->count, "bytes", (json_int_t)l->bytes);
}

static uint64_t s_backlog(const aw_status_info *i, aw_lane lane)
{
    const aw_lane_info *l = &i->lanes[lane];
    if (i->uplink_on)
        return i->uplink_backlog[lane];
    return l->head > l->acked ? l->head - l->acked : 0;
}

bool aw_status_clock_flag(const aw_status_info *i)
{
    bool skewed = i->skew_known &&
                  (i->skew_ms > AW_STATUS_MAX_SKEW_MS || i->skew_ms < -AW_STATUS_MAX_SKEW_MS);
    return i->now_ms / 1000 < i->build_epoch_s || skewed;
}

static json_t *s_clock(const aw_status_info *i)
{
    return json_pack("{s:o, s:o, s:b, s:o, s:b}", "now", s_time(i->now_ms), "build_date",
                     s_time(i->build_epoch_s * 1000), "before_build_date",
                     i->now_ms / 1000 < i->build_epoch_s, "skew_ms",
                     i->skew_known ? json_integer(i->skew_ms) : json_null(), "skew_flag",
                     aw_status_clock_flag(i));
}

static json_t *s_storage(const aw_status_info *i)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:s}", "used_bytes", (json_int_t)i->used_bytes,
                     "map_bytes", (json_int_t)i->map_bytes, "log_bytes",
                     (json_int_t)(i->lanes[0].bytes + i->lanes[1].bytes), "max_bytes",
                     (json_int_t)i->max_bytes, "durability", i->durability);
}

static json_t *s_registry(const aw_status_info *i)
{
    return json_pack("{s:b, s:o, s:s?, s:s?}", "loaded", i->registry_loaded, "version",
                     i->registry_loaded ? json_integer((json_int_t)i->registry_version)
                                        : json_null(),
                     "source", i->registry_source, "note", i->registry_note);
}

static json_t *s_devices_alarms(const aw_status_info *i, json_t **alarms)
{
    const aw_alarm_stats *a = &i->ingest.alarms;
    unsigned active = 0;
    for (int l = AW_LEVEL_BLUE; l <= AW_LEVEL_RED; l++)
        active += a->active[l];
    *alarms = json_pack("{s:I, s:I, s:I, s:I, s:I}", "active", (json_int_t)active, "blue",
                        (json_int_t)a->active[AW_LEVEL_BLUE], "yellow",
                        (json_int_t)a->active[AW_LEVEL_YELLOW], "orange",
                        (json_int_t)a->active[AW_LEVEL_ORANGE], "red",
                        (json_int_t)a->active[AW_LEVEL_RED]);
    unsigned stale = a->devices_stale, tracked = a->devices_tracked;
    return json_pack("{s:I, s:I, s:I, s:I}", "registered", (json_int_t)i->devices_registered,
                     "tracked", (json_int_t)tracked, "online",
                     (json_int_t)(tracked > stale ? tracked - stale : 0), "stale",
                     (json_int_t)stale);
}

static json_t *s_counters(const aw_status_info *i, json_t **coap)
{
    const aw_ingest_stats *s = &i->ingest;
    *coap = json_pack("{s:I, s:I, s:I}", "requests", (json_int_t)i->coap.requests, "deferred",
                      (json_int_t)i->coap.deferred, "sessions", (json_int_t)i->coap.sessions);
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "packs", (json_int_t)s->packs, "readings",
                     (json_int_t)s->readings, "rejected", (json_int_t)s->rejected, "failed",
                     (json_int_t)s->failed, "commits", (json_int_t)s->commits, "last_reading",
                     s_time(s->last_store_ms));
}

static json_t *s_sirens(const aw_siren_stats *s)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "queued", (json_int_t)s->queued, "in_flight",
                     (json_int_t)s->in_flight, "delivered", (json_int_t)s->delivered, "failed",
                     (json_int_t)s->failed, "attempts", (json_int_t)s->attempts);
}

static json_t *s_uplink(const aw_status_info *i)
{
    return json_pack("{s:s, s:s?, s:o, s:I, s:I, s:I, s:b, s:I, s:I}", "state", i->uplink_state,
                     "center", i->center, "last_ack", s_time(i->last_ack_ms), "bytes_per_s",
                     (json_int_t)i->uplink_bytes_per_s, "in_flight",
                     (json_int_t)i->uplink_in_flight, "resends", (json_int_t)i->uplink_resends,
                     "diverged", i->uplink_diverged, "down_applied", (json_int_t)i->down_applied,
                     "down_rejected", (json_int_t)i->down_rejected);
}

int aw_status_json(const aw_status_info *i, char **json)
{
    char epoch[17];
    snprintf(epoch, sizeof epoch, "%016" PRIx64, i->epoch);
    json_t *alarms = NULL, *coap = NULL;
    json_t *devices = s_devices_alarms(i, &alarms);
    json_t *ingest = s_counters(i, &coap);
    json_t *root = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:o, s:{s:I, s:I}, s:{s:o, s:o}, s:o, s:o, s:o, s:o, s:o, "
        "s:o, s:o, s:o}",
        "edge", i->edge_id, "zone", i->zone, "version", AW_VERSION, "epoch", epoch, "uptime_s",
        (json_int_t)((i->now_ms - i->started_ms) / 1000), "uplink", s_uplink(i), "backlog",
        "urgent", (json_int_t)s_backlog(i, AW_LANE_URGENT), "bulk",
        (json_int_t)s_backlog(i, AW_LANE_BULK), "lanes", "urgent",
        s_lane(&i->lanes[AW_LANE_URGENT]), "bulk", s_lane(&i->lanes[AW_LANE_BULK]), "storage",
        s_storage(i), "registry", s_registry(i), "devices", devices, "alarms", alarms, "ingest",
        ingest, "coap", coap, "sirens", s_sirens(&i->sirens), "clock", s_clock(i));
    *json = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return *json ? AW_OK : AW_ENOMEM;
}
