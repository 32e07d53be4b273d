/**
 * @file cli_show.h
 * @brief Human forms of the center API's answers (center/API.md) for the
 * `anwang` CLI: the picture as a coloured tree, tables of edges, alarms,
 * hazards and alerts, one device, one hazard with its ledger, one alert
 * with its delivery report, the center's status.
 *
 * Pure: each function reads a JSON document (borrowed) and writes text to
 * @p f, with ages relative to @p now_ms (ms since the Unix epoch) so that
 * the output is a function of its arguments; colours follow cli_out.h
 * (aw_cli_sgr()). Keys the document lacks print as "-"; nothing here fails.
 * Scripts use --json instead: this form may change between versions.
 */
#ifndef AW_CLI_SHOW_H
#define AW_CLI_SHOW_H

#include <stdio.h>

#include <jansson.h>

/** GET /api/v1/picture: header, then the tree from "root". */
void aw_cli_show_picture(const json_t *doc, long long now_ms, FILE *f);

/** GET /api/v1/edges: one row per edge. */
void aw_cli_show_edges(const json_t *doc, long long now_ms, FILE *f);

/** GET /api/v1/devices/<id>: the device, its latest readings, their history. */
void aw_cli_show_device(const json_t *doc, long long now_ms, FILE *f);

/** GET /api/v1/alarms: one row per alarm. */
void aw_cli_show_alarms(const json_t *doc, long long now_ms, FILE *f);

/** POST /api/v1/alarms/<id>/ack's answer. */
void aw_cli_show_ack(const json_t *doc, long long now_ms, FILE *f);

/** GET /api/v1/hazards: one row per hazard. */
void aw_cli_show_hazards(const json_t *doc, long long now_ms, FILE *f);

/** GET /api/v1/hazards/<id> (and a write's answer): summary and ledger. */
void aw_cli_show_hazard(const json_t *doc, long long now_ms, FILE *f);

/** GET /api/v1/status. */
void aw_cli_show_status(const json_t *doc, long long now_ms, FILE *f);

/** PUT /api/v1/registry's answer. */
void aw_cli_show_registry_stored(const json_t *doc, long long now_ms, FILE *f);

/** GET /api/v1/alerts: one row per alert. */
void aw_cli_show_alerts(const json_t *doc, long long now_ms, FILE *f);

/** GET /api/v1/alerts/<id> (and a write's answer): CAP fields and the delivery report. */
void aw_cli_show_alert(const json_t *doc, long long now_ms, FILE *f);

#endif
