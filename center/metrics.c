/* metrics.c: the Prometheus text of GET /metrics. */
#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grading.h"
#include "ledger.h"
#include "status.h"

#define S_CODE_MIN 100
#define S_CODE_MAX 599

struct aw_metrics {
    uint64_t requests[S_CODE_MAX - S_CODE_MIN + 1];
};

int aw_metrics_new(aw_metrics_t **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? AW_OK : AW_ENOMEM;
}

void aw_metrics_destroy(aw_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

void aw_metrics_count(aw_metrics_t *self, int code)
{
    if (self && code >= S_CODE_MIN && code <= S_CODE_MAX)
        self->requests[code - S_CODE_MIN]++;
}

uint64_t aw_metrics_requests(const aw_metrics_t *self, int code)
{
    return self && code >= S_CODE_MIN && code <= S_CODE_MAX ? self->requests[code - S_CODE_MIN] : 0;
}

/* A label value escaped as the exposition format wants (\\, \", \n). */
static void s_label(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', f), fputc(*v, f);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static void s_head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family with one sample per edge (and lane when @p lanes). */
static void s_edges(FILE *f, const aw_edge_status *e, size_t n, const char *name, int which)
{
    for (size_t i = 0; i < n; i++) {
        for (int lane = 0; lane < (which == 2 ? 1 : AW_LANE_COUNT); lane++) {
            fprintf(f, "%s{edge=\"", name);
            s_label(f, e[i].edge_id);
            if (which == 2) {
                fprintf(f, "\"} %d\n", e[i].connected ? 1 : 0);
                continue;
            }
            fprintf(f, "\",lane=\"%s\"} %" PRIu64 "\n", aw_lane_name((aw_lane)lane),
                    which == 0 ? e[i].records[lane] : e[i].backlog[lane]);
        }
    }
}

static int s_edge_families(FILE *f, aw_center_db_t *db)
{
    aw_edge_status *e = NULL;
    size_t n = 0;
    int rv = aw_center_edge_list(db, &e, &n);
    if (rv != AW_OK)
        return rv;
    s_head(f, "anwang_records_applied_total", "counter", "Records applied from each edge.");
    s_edges(f, e, n, "anwang_records_applied_total", 0);
    s_head(f, "anwang_edge_backlog", "gauge", "Records the edge stored and the center lacks.");
    s_edges(f, e, n, "anwang_edge_backlog", 1);
    s_head(f, "anwang_edge_connected", "gauge", "1 when the edge's session is up.");
    s_edges(f, e, n, "anwang_edge_connected", 2);
    free(e);
    return AW_OK;
}

static void s_levels(FILE *f, const char *name, const unsigned *v, int hazards)
{
    if (hazards) {
        for (int l = 0; l < 2; l++)
            fprintf(f, "%s{level=\"%s\"} %u\n", name, aw_hazard_level_name((Anwang__HazardLevel)l),
                    v[l]);
        return;
    }
    for (int l = AW_LEVEL_BLUE; l <= AW_LEVEL_RED; l++)
        fprintf(f, "%s{level=\"%s\"} %u\n", name, aw_level_name((aw_level)l), v[l]);
}

static int s_picture_families(FILE *f, aw_picture_t *pic, aw_txn_t *txn)
{
    aw_picture_totals t;
    memset(&t, 0, sizeof t);
    int rv = aw_picture_totals_get(pic, txn, &t);
    if (rv != AW_OK)
        return rv;
    s_head(f, "anwang_readings_applied_total", "counter", "Readings merged since start.");
    fprintf(f, "anwang_readings_applied_total %" PRIu64 "\n", t.readings_applied);
    s_head(f, "anwang_alarms_active", "gauge", "Active alarms per level.");
    s_levels(f, "anwang_alarms_active", t.alarms, 0);
    s_head(f, "anwang_hazards_open", "gauge", "Open hazards per level.");
    s_levels(f, "anwang_hazards_open", t.open, 1);
    s_head(f, "anwang_hazards_overdue", "gauge", "Overdue hazards per level.");
    s_levels(f, "anwang_hazards_overdue", t.overdue, 1);
    return AW_OK;
}

static void s_http_family(FILE *f, const aw_metrics_t *self)
{
    s_head(f, "anwang_http_requests_total", "counter", "HTTP requests answered, by status code.");
    for (int c = S_CODE_MIN; c <= S_CODE_MAX; c++)
        if (self->requests[c - S_CODE_MIN])
            fprintf(f, "anwang_http_requests_total{code=\"%d\"} %" PRIu64 "\n", c,
                    self->requests[c - S_CODE_MIN]);
}

static int s_store_family(FILE *f, aw_center_db_t *db)
{
    uint64_t used = 0, map = 0;
    int rv = aw_store_usage(aw_center_db_store(db), &used, &map);
    if (rv != AW_OK)
        return rv;
    s_head(f, "anwang_lmdb_used_bytes", "gauge", "Bytes of the LMDB map in use.");
    fprintf(f, "anwang_lmdb_used_bytes %" PRIu64 "\n", used);
    s_head(f, "anwang_lmdb_map_bytes", "gauge", "Size of the LMDB map.");
    fprintf(f, "anwang_lmdb_map_bytes %" PRIu64 "\n", map);
    return AW_OK;
}

int aw_metrics_render(aw_metrics_t *self, aw_center_db_t *db, aw_picture_t *pic, aw_txn_t *txn,
                      char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *f = open_memstream(text, len);
    if (!f)
        return AW_ENOMEM;
    int rv = s_edge_families(f, db);
    if (rv == AW_OK && pic)
        rv = s_picture_families(f, pic, txn);
    if (rv == AW_OK) {
        s_http_family(f, self);
        rv = s_store_family(f, db);
    }
    if (fclose(f) != 0 && rv == AW_OK)
        rv = AW_ENOMEM;
    if (rv != AW_OK) {
        free(*text);
        *text = NULL;
        *len = 0;
    }
    return rv;
}
