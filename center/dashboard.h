/**
 * @file dashboard.h
 * @brief The web dashboard's files, embedded at build time from
 * center/dashboard/ (embed.cmake), served by the HTTP API at `GET /`.
 */
#ifndef AW_CENTER_DASHBOARD_H
#define AW_CENTER_DASHBOARD_H

#include <stddef.h>

/** One embedded file. */
typedef struct aw_dashboard_asset {
    const char *path;         /**< "/index.html", "/app.js", ... */
    const char *content_type; /**< e.g. "text/html; charset=utf-8" */
    const unsigned char *data;
    size_t len;
} aw_dashboard_asset;

/** The files, ended by an entry whose path is NULL. */
extern const aw_dashboard_asset aw_dashboard_assets[];

/** The asset for URL path @p path ("/" means "/index.html"), or NULL. */
const aw_dashboard_asset *aw_dashboard_find(const char *path);

#endif
