#include "fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A zone's route: endpoint indices, -1 when absent. */
typedef struct s_route {
    const char *zone; /* NULL: the default route */
    long plain, dtls;
} s_route;

typedef struct s_planner {
    const aw_sim_opts *o;
    const aw_registry_t *reg;
    const aw_sim_psk_table *psk;
    aw_sim_fleet *f;
    s_route routes[AW_SIM_MAX_ROUTES];
    size_t n_routes;
    unsigned *udp_next; /* round robin per endpoint */
    char *why;
    size_t why_len;
} s_planner;

int aw_sim_path_under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int aw_sim_path_exists(const aw_registry_t *reg, const char *path)
{
    size_t n;
    const aw_village *v = aw_registry_villages(reg, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].path, path) == 0)
            return 1;
    return aw_registry_zone_find(reg, path) || aw_registry_site_find(reg, path);
}

/* Returns the endpoint for URI @p text, adding it (resolved) if new. */
static int s_endpoint(s_planner *p, const char *text, long *idx)
{
    aw_sim_fleet *f = p->f;
    for (size_t i = 0; i < f->n_endpoints; i++)
        if (strcmp(f->endpoints[i].text, text) == 0) {
            *idx = (long)i;
            return AW_OK;
        }
    aw_sim_endpoint e = {.text = text};
    int rv = aw_sim_uri_parse(text, &e.uri, p->why, p->why_len);
    if (rv != AW_OK)
        return AW_ECONFIG;
    if (e.uri.path[0] == '\0')
        snprintf(e.uri.path, sizeof e.uri.path, "readings");
    if ((rv = aw_sim_resolve(e.uri.host, e.uri.port, &e.addr, p->why, p->why_len)) != AW_OK)
        return rv;
    aw_sim_endpoint *grown = realloc(f->endpoints, (f->n_endpoints + 1) * sizeof *grown);
    if (!grown)
        return AW_ENOMEM;
    f->endpoints = grown;
    f->endpoints[f->n_endpoints] = e;
    *idx = (long)f->n_endpoints++;
    return AW_OK;
}

static s_route *s_route_for(s_planner *p, const char *zone)
{
    for (size_t i = 0; i < p->n_routes; i++) {
        const char *z = p->routes[i].zone;
        if ((z == NULL && zone == NULL) || (z && zone && strcmp(z, zone) == 0))
            return &p->routes[i];
    }
    if (p->n_routes == AW_SIM_MAX_ROUTES)
        return NULL;
    p->routes[p->n_routes] = (s_route){zone, -1, -1};
    return &p->routes[p->n_routes++];
}

/* Adds one --edge/--dtls option to the route of its zone. */
static int s_add_route(s_planner *p, const aw_sim_route *r)
{
    if (r->zone && !aw_registry_zone_find(p->reg, r->zone)) {
        size_t n,
            used = (size_t)snprintf(p->why, p->why_len,
                                    "--edge %s=...: no such zone in the registry; zones:", r->zone);
        const aw_zone *z = aw_registry_zones(p->reg, &n);
        for (size_t i = 0; i < n && used < p->why_len; i++)
            used += (size_t)snprintf(p->why + used, p->why_len - used, " %s", z[i].path);
        return AW_ECONFIG;
    }
    long e;
    int rv = s_endpoint(p, r->uri, &e);
    if (rv != AW_OK)
        return rv;
    s_route *route = s_route_for(p, r->zone);
    long *slot = p->f->endpoints[e].uri.secure ? &route->dtls : &route->plain;
    if (*slot >= 0) {
        snprintf(p->why, p->why_len,
                 "two %s URIs for %s: give one coap:// and/or one coaps:// "
                 "per zone",
                 p->f->endpoints[e].uri.secure ? "coaps://" : "coap://",
                 r->zone ? r->zone : "the default route");
        return AW_ECONFIG;
    }
    if (p->f->endpoints[e].uri.secure && !p->psk) {
        snprintf(p->why, p->why_len,
                 "%s is DTLS: give --psk-file FILE (the key file of SPEC §3) so each device "
                 "posts with the identity that owns it",
                 r->uri);
        return AW_ECONFIG;
    }
    *slot = e;
    return AW_OK;
}

/* Returns the session index for (endpoint, psk, slot), adding it if new. */
static int s_session(s_planner *p, size_t endpoint, const aw_sim_psk *psk, unsigned slot,
                     size_t *idx)
{
    aw_sim_fleet *f = p->f;
    for (size_t i = 0; i < f->n_sessions; i++) {
        const aw_sim_session_plan *s = &f->sessions[i];
        if (s->endpoint == endpoint && s->psk == psk && s->slot == slot) {
            *idx = i;
            return AW_OK;
        }
    }
    aw_sim_session_plan *grown = realloc(f->sessions, (f->n_sessions + 1) * sizeof *grown);
    if (!grown)
        return AW_ENOMEM;
    f->sessions = grown;
    f->sessions[f->n_sessions] = (aw_sim_session_plan){endpoint, psk, slot};
    *idx = f->n_sessions++;
    return AW_OK;
}

/* Decides the session of @p d, or leaves *idx at SIZE_MAX when it is skipped. */
static int s_place(s_planner *p, const aw_device *d, size_t *idx)
{
    *idx = SIZE_MAX;
    s_route *r = NULL;
    for (size_t i = 0; i < p->n_routes && !r; i++)
        if (p->routes[i].zone && strcmp(p->routes[i].zone, d->site->village->zone->path) == 0)
            r = &p->routes[i];
    for (size_t i = 0; i < p->n_routes && !r; i++)
        if (!p->routes[i].zone)
            r = &p->routes[i];
    if (!r) {
        p->f->no_route++;
        return AW_OK;
    }
    const aw_sim_psk *owner = aw_sim_psk_owner(p->psk, d->id);
    if (r->dtls >= 0 && owner)
        return s_session(p, (size_t)r->dtls, owner, 0, idx);
    if (r->plain < 0) {
        p->f->no_identity++;
        return AW_OK;
    }
    unsigned slot = p->udp_next[r->plain]++ % (p->o->sessions ? p->o->sessions : 1);
    return s_session(p, (size_t)r->plain, NULL, slot, idx);
}

static int s_add_device(aw_sim_fleet *f, const aw_device *d, size_t session)
{
    const aw_device **devs = realloc(f->devs, (f->n_devs + 1) * sizeof *devs);
    if (devs)
        f->devs = devs;
    size_t *of = realloc(f->session_of, (f->n_devs + 1) * sizeof *of);
    if (of)
        f->session_of = of;
    if (!devs || !of)
        return AW_ENOMEM;
    f->devs[f->n_devs] = d;
    f->session_of[f->n_devs++] = session;
    return AW_OK;
}

static int s_place_all(s_planner *p)
{
    size_t n;
    const aw_device *all = aw_registry_devices(p->reg, &n);
    int rv = AW_OK;
    for (size_t i = 0; i < n && rv == AW_OK; i++) {
        const aw_device *d = &all[i];
        size_t session;
        if (d->n_metrics == 0 || (p->o->zone && !aw_sim_path_under(d->site->path, p->o->zone)))
            continue;
        if (p->o->max_devices && p->f->n_devs == p->o->max_devices)
            break;
        if ((rv = s_place(p, d, &session)) == AW_OK && session != SIZE_MAX)
            rv = s_add_device(p->f, d, session);
    }
    return rv;
}

static int s_explain_empty(s_planner *p)
{
    snprintf(p->why, p->why_len,
             "no device to simulate: %zu device(s) with metrics have no route for their zone "
             "(add --edge ZONE=URI or a default --edge URI), %zu have only a coaps:// route "
             "and no identity in the key file%s",
             p->f->no_route, p->f->no_identity,
             p->o->zone ? "; check that --zone covers devices with metrics" : "");
    return AW_ECONFIG;
}

int aw_sim_fleet_plan(const aw_sim_opts *o, const aw_registry_t *reg, const aw_sim_psk_table *psk,
                      aw_sim_fleet *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof *out);
    s_planner p = {.o = o, .reg = reg, .psk = psk, .f = out, .why = why, .why_len = why_len};
    int rv = AW_OK;
    if (o->zone && !aw_sim_path_exists(reg, o->zone)) {
        snprintf(why, why_len, "--zone %s: no zone, village or site of that path in the registry",
                 o->zone);
        rv = AW_ECONFIG;
    }
    for (size_t i = 0; i < o->n_routes && rv == AW_OK; i++)
        rv = s_add_route(&p, &o->routes[i]);
    if (rv == AW_OK && !(p.udp_next = calloc(out->n_endpoints + 1, sizeof *p.udp_next)))
        rv = AW_ENOMEM;
    if (rv == AW_OK)
        rv = s_place_all(&p);
    if (rv == AW_OK && out->n_devs == 0)
        rv = s_explain_empty(&p);
    free(p.udp_next);
    if (rv != AW_OK)
        aw_sim_fleet_free(out);
    return rv;
}

void aw_sim_fleet_free(aw_sim_fleet *f)
{
    free(f->devs);
    free(f->session_of);
    free(f->endpoints);
    free(f->sessions);
    memset(f, 0, sizeof *f);
}
