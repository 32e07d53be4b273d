/**
 * @file psk.h
 * @brief The DTLS-PSK key file (SPEC §3): identities, keys and the devices
 * each identity may speak for.
 *
 * One line per identity, `#` starts a comment (whole line, or after
 * whitespace), blank lines are ignored:
 *
 *     # identity     key (hex)                          devices
 *     huaxin-gw      4a6f8e1c2d3b4a5968778695a4b3c2d1   huaxin-t3,huaxin-gas-1
 *
 * - identity: 1..64 bytes (COAP_DTLS_MAX_PSK_IDENTITY) of printable ASCII
 *   without spaces, not starting with `#`;
 * - key: 2..128 hex digits (1..64 bytes), an even count;
 * - devices: a comma-separated list of device ids ([a-z0-9._-]{1,64}),
 *   no empty items.
 *
 * A duplicate identity, a malformed field or a missing column is an error
 * naming the file and line, e.g. `/etc/anwang/psk:7: key: odd number of hex
 * digits`. The file should be mode 0600 (a warning is returned otherwise).
 *
 * Pure data: no logging, immutable once loaded, lookups O(log n).
 */
#ifndef AW_PSK_H
#define AW_PSK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"

#define AW_PSK_IDENTITY_MAX 64
#define AW_PSK_KEY_MAX      64
#define AW_PSK_MAX_LINE     8192

typedef struct aw_psk aw_psk_t;

/**
 * Reads the key file at @p path. On success *out is the caller's (free with
 * aw_psk_destroy()) and @p why holds "" or a warning (e.g. the file is
 * readable by others). On failure *out is NULL and @p why holds
 * "path:line: reason". Returns AW_OK, AW_ENOTFOUND, AW_EIO, AW_ECONFIG
 * (malformed file) or AW_ENOMEM.
 */
int aw_psk_load(const char *path, aw_psk_t **out, char *why, size_t why_len);

/** Frees a key table and nulls *self_p. Safe on NULL and twice. */
void aw_psk_destroy(aw_psk_t **self_p);

/** Number of identities. */
size_t aw_psk_count(const aw_psk_t *self);

/**
 * Returns the key of identity @p id (@p len bytes, not NUL-terminated) and
 * its length in *key_len, or NULL when the identity is unknown. The key is
 * borrowed, valid until aw_psk_destroy().
 */
const uint8_t *aw_psk_key(const aw_psk_t *self, const void *id, size_t len, size_t *key_len);

/** True when identity @p id (@p len bytes) may speak for @p device. */
bool aw_psk_owns(const aw_psk_t *self, const void *id, size_t len, const char *device);

#endif
