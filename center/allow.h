/**
 * @file allow.h
 * @brief The center's allow-list: the folder of edge public certificates
 * (SPEC §5), read and checked here, and the copy that CZMQ's zauth serves.
 *
 * An edge certificate is a CZMQ zcert public file, as `anwang keygen NAME
 * [--zone PATH]` writes it (`NAME.cert`; the secret stays on the edge in
 * `NAME.cert_secret`), whose metadata name the edge:
 *
 *     metadata
 *         edge-id = "rongjiawan-1"
 *         zone = "yueyang/rongjiawan"      (optional)
 *     curve
 *         public-key = "..."
 *
 * (`edge_id` is accepted as a spelling of `edge-id`.) A file is refused, with
 * one log line naming it, when it is not a certificate, has no valid edge id
 * (db.h's identifier rule) or an invalid zone, is over 64 KiB, is a secret
 * file (`*_secret`: never needed here), or shares its key with a file that
 * names another edge (both refused). Two keys for one edge are allowed (key
 * rotation). Only regular files directly in the folder count; dot files are
 * skipped.
 *
 * zauth is never pointed at the operators' folder itself: aw_allow_stage()
 * writes the accepted certificates, with only `edge-id` and `zone` as
 * metadata, to a folder of the center's own. So zauth admits exactly what
 * this module accepted, and the metadata it hands to libzmq stay within
 * the 512 bytes zauth 4.2.1 reserves for them (it does not check).
 */
#ifndef AW_CENTER_ALLOW_H
#define AW_CENTER_ALLOW_H

#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"
#include "db.h"

/** One accepted certificate. Plain value. */
typedef struct aw_allow_entry {
    char key[41]; /**< public key, Z85 (zauth's User-Id) */
    char edge_id[AW_CENTER_EDGE_ID_MAX + 1];
    char zone[AW_CENTER_ZONE_MAX + 1]; /**< "" when the certificate names none */
} aw_allow_entry;

typedef struct aw_allow aw_allow_t;

/**
 * Reads every certificate in @p dir. Files that are refused are logged and
 * skipped (a bad file must not lock every edge out). On success *out is the
 * caller's (aw_allow_destroy()). Returns AW_OK, AW_ENOTFOUND (no such
 * folder), AW_EIO (unreadable folder), AW_ENOMEM.
 */
int aw_allow_load(const char *dir, aw_allow_t **out);

/** Frees the list and nulls *self_p. Safe on NULL and twice. */
void aw_allow_destroy(aw_allow_t **self_p);

/** The entry for public key @p key (Z85), or NULL. Borrowed, valid for the list's life. */
const aw_allow_entry *aw_allow_find(const aw_allow_t *self, const char *key);

/** Number of accepted certificates. */
size_t aw_allow_count(const aw_allow_t *self);

/**
 * Writes the accepted certificates (public key, edge-id, zone) as zcert
 * public files into @p dir, which must not exist yet (created 0700).
 * Returns AW_OK, AW_EEXIST or AW_EIO.
 */
int aw_allow_stage(const aw_allow_t *self, const char *dir);

/**
 * A fingerprint of @p dir's listing (names, sizes, modification times of
 * its entries and of the folder): it changes when a certificate is added,
 * removed, replaced or edited. Returns AW_OK, AW_ENOTFOUND or AW_EIO.
 */
int aw_allow_fingerprint(const char *dir, uint64_t *out);

/**
 * Makes a new center certificate at @p path (public) and `<path>_secret`
 * unless @p path already loads as a certificate with a secret key.
 * *created (may be NULL) says whether one was made. Returns AW_OK, AW_EIO.
 */
int aw_allow_init_cert(const char *path, int *created);

#endif
