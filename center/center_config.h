/**
 * @file center_config.h
 * @brief anwang-center's configuration file (`/etc/anwang/center.conf`).
 *
 * One declarative table (common/config.h) describes every setting; it is
 * validated before anything opens, and each error names the file, the line
 * and the key. aw_center_config_help() prints the table as an example file.
 *
 * The center always commits with fsync: an Ack tells the edge it may forget
 * the records, so the applied seq it carries must be on disk first.
 */
#ifndef AW_CENTER_CONFIG_H
#define AW_CENTER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "aw_err.h"

/** Default path of the config file. */
#define AW_CENTER_CONFIG_PATH "/etc/anwang/center.conf"

/** Longest center id (an identifier, like an edge id). */
#define AW_CENTER_ID_MAX 64

/** The parsed file. Strings are owned; free with aw_center_config_free(). */
typedef struct aw_center_config {
    /* [center] */
    char id[AW_CENTER_ID_MAX + 1]; /**< the center's id ([a-z0-9._-]{1,64}) */
    char *name;                    /**< display name ("" = none) */
    char *data_dir;                /**< LMDB directory */
    /* [store] */
    uint64_t map_size; /**< initial LMDB map size */
    uint64_t map_max;  /**< the map grows up to this */
    /* [zmq] */
    char *bind;            /**< ROUTER endpoint, tcp://ADDR:PORT */
    char *cert;            /**< the center's certificate (secret in `<cert>_secret`) */
    char *allow_dir;       /**< folder of the edges' public certificates */
    int64_t allow_poll_ms; /**< look for changes in allow_dir this often */
    /* [replication] */
    int64_t link_timeout_ms; /**< silence that declares an edge's link down */
    int64_t heartbeat_ms;    /**< ZMTP heartbeat interval on every connection */
    int64_t down_resend_ms;  /**< resend Downs without DownAck progress after this */
    uint64_t max_message;    /**< largest envelope accepted */
    /* [http] */
    char *http_bind;        /**< API listen address ADDRESS:PORT ("" = no HTTP API) */
    char *http_tokens;      /**< the tokens file (TOKEN ROLE NAME lines) */
    uint64_t http_max_body; /**< largest request body (the registry import: 16 MiB) */
    /* [history] */
    int64_t keep_days;      /**< readings history kept this many days */
    int64_t history_step_s; /**< history keeps one reading per metric per step (0 = all) */
    /* [log] */
    int log_level; /**< aw_log_level */
} aw_center_config;

/**
 * Loads and validates @p path into @p cfg (defaults first). On failure
 * @p why holds "file:line: [section] key: reason" (or "file: [section] key:
 * reason" for a rule between keys) and @p cfg holds nothing to free.
 * Returns AW_OK, AW_ECONFIG, AW_ENOTFOUND (no such file), AW_EIO, AW_ENOMEM.
 */
int aw_center_config_load(const char *path, aw_center_config *cfg, char *why, size_t why_len);

/** Frees the strings of @p cfg. Safe twice. */
void aw_center_config_free(aw_center_config *cfg);

/** Writes an example config with every key, its default and its meaning. */
void aw_center_config_help(FILE *out);

#endif
