/**
 * @file metrics.h
 * @brief GET /metrics: Prometheus text exposition (format 0.0.4) of the
 * county (API.md): records applied per edge and lane, readings applied,
 * edge backlog and link, active alarms and open / overdue hazards per
 * level, the API's requests per status code, LMDB use.
 *
 * The request counters live in memory (they restart at 0 with the
 * process, as Prometheus counters may); everything else is read from the
 * store at scrape time. Single-threaded.
 */
#ifndef AW_CENTER_METRICS_H
#define AW_CENTER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"
#include "db.h"
#include "picture.h"

typedef struct aw_metrics aw_metrics_t;

int aw_metrics_new(aw_metrics_t **out);
void aw_metrics_destroy(aw_metrics_t **self_p);

/** Counts one answered request with status @p code (100..599; others are ignored). */
void aw_metrics_count(aw_metrics_t *self, int code);

/** Requests answered with @p code so far. */
uint64_t aw_metrics_requests(const aw_metrics_t *self, int code);

/**
 * Writes the exposition text into *text (the caller's, free()), *len
 * bytes. @p pic may be NULL (no alarm/hazard/readings families then);
 * @p txn is a read transaction of @p db's store. Returns AW_OK, AW_ENOMEM
 * or a store error.
 */
int aw_metrics_render(aw_metrics_t *self, aw_center_db_t *db, aw_picture_t *pic, aw_txn_t *txn,
                      char **text, size_t *len);

#endif
