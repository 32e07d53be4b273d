/**
 * @file edge_config.h
 * @brief anwang-edge's configuration file (`/etc/anwang/edge.conf`).
 *
 * One declarative table (common/config.h) describes every setting; it is
 * validated before anything opens, and each error names the file, the line
 * and the key. aw_edge_config_help() prints the table as an example file.
 *
 * What `[store] durability` promises (SPEC §3: an ack means the data is safe):
 *
 * - `fsync` (default): a 2.04 / 2.01 is sent only after the LMDB commit that
 *   holds the request's records has been flushed to the device with
 *   fdatasync() (data, then the meta page). An acknowledged record survives a
 *   crash of the daemon (kill -9), of the kernel, and a power loss, provided
 *   the storage honours flushes. Requests that arrive together share one
 *   commit (group commit), so one flush acknowledges many of them.
 * - `interval:MS`: a 2.04 / 2.01 is sent as soon as the commit returned,
 *   before it is flushed; the store is flushed at least every MS
 *   milliseconds. An acknowledged record survives a crash of the daemon
 *   (kill -9) at once; it survives a kernel crash or a power loss only once
 *   the next flush has run, i.e. records acknowledged in the last MS
 *   milliseconds before a power loss may be lost. A power loss may also
 *   leave the store unusable on file systems that reorder writes (LMDB's
 *   MDB_NOSYNC caveat); the daemon then refuses to start and says so. For
 *   boxes on a UPS, or when throughput matters more than the last MS of data.
 */
#ifndef AW_EDGE_CONFIG_H
#define AW_EDGE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "aw_err.h"

/** Default path of the config file. */
#define AW_EDGE_CONFIG_PATH "/etc/anwang/edge.conf"

/** Longest edge id (it is also the origin of hazard events). */
#define AW_EDGE_ID_MAX 64
/** Longest grid path. */
#define AW_EDGE_PATH_MAX 256
/** Room for the bind list: up to AW_EDGE_BIND_MAX addresses. */
#define AW_EDGE_BIND_MAX 4
#define AW_EDGE_ADDR_MAX 64

/** `[store] durability`. */
typedef struct aw_edge_durability {
    int interval;        /**< 0: fsync mode; 1: interval mode */
    int64_t interval_ms; /**< interval mode: flush at least this often */
} aw_edge_durability;

/** The parsed file. Strings are owned; free with aw_edge_config_free(). */
typedef struct aw_edge_config {
    /* [edge] */
    char id[AW_EDGE_ID_MAX + 1];     /**< edge id, [a-z0-9._-]{1,64} */
    char zone[AW_EDGE_PATH_MAX + 1]; /**< zone grid path "<county>/<zone>" */
    char *data_dir;                  /**< LMDB directory */
    int auto_register;               /**< accept unknown devices as unassigned */
    /* [store] */
    uint64_t map_size;    /**< largest LMDB map (bytes) */
    uint64_t max_bytes;   /**< log byte budget */
    int64_t retention_ms; /**< keep acked records this long */
    aw_edge_durability durability;
    /* [coap] */
    char bind[AW_EDGE_BIND_MAX][AW_EDGE_ADDR_MAX]; /**< listen addresses */
    size_t n_bind;
    int64_t port;          /**< plain CoAP port */
    int plain;             /**< serve plain CoAP */
    int dtls;              /**< serve CoAP over DTLS-PSK */
    int64_t dtls_port;     /**< DTLS port */
    char *psk_file;        /**< key file ("" = none) */
    uint64_t max_payload;  /**< largest request body (4.13 beyond) */
    int64_t max_future_ms; /**< refuse reading times further ahead */
    /* [uplink] (edge_uplink.h) */
    char *center;          /**< "tcp://host:port", "" = no uplink */
    char *center_key;      /**< center's CURVE public key: Z85 (40 chars) or its .cert file */
    char *cert;            /**< this edge's CURVE certificate (NAME.cert_secret or NAME.cert) */
    uint64_t rate_limit;   /**< catch-up budget, bytes/s (urgent lane exempt) */
    int64_t heartbeat_ms;  /**< heartbeat after this long without sending */
    int64_t dead_after_ms; /**< link down after this long without receiving */
    int64_t window;        /**< batches in flight, both lanes */
    int64_t batch_records; /**< records per batch */
    /* [sirens] (siren.h) */
    int64_t siren_max_attempts;   /**< POSTs per delivery before it fails */
    int64_t siren_backoff_ms;     /**< first wait between attempts; doubles */
    int64_t siren_backoff_max_ms; /**< longest wait between attempts */
    int64_t siren_max_time_ms;    /**< a delivery fails this long after it was queued */
    int64_t siren_in_flight;      /**< POSTs outstanding at once */
    /* [log] */
    int log_level; /**< aw_log_level */
} aw_edge_config;

/**
 * Loads and validates @p path into @p cfg (defaults first). On failure
 * @p why holds "file:line: [section] key: reason" (or "file: [section] key:
 * reason" for a rule between keys) and @p cfg holds nothing to free.
 * Returns AW_OK, AW_ECONFIG, AW_ENOTFOUND (no such file), AW_EIO, AW_ENOMEM.
 */
int aw_edge_config_load(const char *path, aw_edge_config *cfg, char *why, size_t why_len);

/** Frees the strings of @p cfg. Safe twice. */
void aw_edge_config_free(aw_edge_config *cfg);

/** Writes an example config with every key, its default and its meaning. */
void aw_edge_config_help(FILE *out);

/** Length of a Z85 CURVE key. */
#define AW_EDGE_Z85_LEN 40

/**
 * Resolves `[uplink] center_key`: @p value is either the key itself (Z85,
 * 40 characters) or the path of the center's public certificate (CZMQ's
 * layout, `public-key = "..."`). Writes the Z85 key to @p out. Returns
 * AW_OK, AW_EINVAL (neither), AW_ENOTFOUND (no such file) or AW_EIO.
 */
int aw_edge_center_key(const char *value, char out[AW_EDGE_Z85_LEN + 1]);

/** Returns true when @p id is a valid edge id ([a-z0-9._-]{1,64}). */
int aw_edge_id_valid(const char *id);

#endif
