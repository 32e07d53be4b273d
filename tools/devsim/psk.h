/**
 * @file psk.h
 * @brief The DTLS-PSK key file of SPEC §3, as the simulator reads it.
 *
 * One line per identity, `#` starts a comment (at the start of a line or of
 * a field), blank lines are ignored:
 *
 *     <identity> <key as hex> <device-id>[,<device-id>...]
 *
 * Rules decided here: the identity is 1..128 printable ASCII bytes without
 * spaces; the key 1..64 bytes (2..128 hex digits); device ids follow SPEC §1
 * (`[a-z0-9._-]{1,64}`). An identity listed twice, or a device owned by two
 * identities, is an error: the simulator could not tell which to use.
 * Errors name the file and line, e.g. `keys.txt:3: key "0g" is not hex`.
 */
#ifndef AW_SIM_PSK_H
#define AW_SIM_PSK_H

#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"

#define AW_SIM_PSK_MAX_FILE     (4u * 1024 * 1024)
#define AW_SIM_PSK_MAX_IDENTITY 128
#define AW_SIM_PSK_MAX_KEY      64

/** One identity. Everything is owned by the table. */
typedef struct aw_sim_psk {
    char *identity;
    uint8_t key[AW_SIM_PSK_MAX_KEY];
    size_t key_len;
    char **devices;
    size_t n_devices;
} aw_sim_psk;

/** A parsed key file. */
typedef struct aw_sim_psk_table {
    aw_sim_psk *ids;
    size_t n;
} aw_sim_psk_table;

/**
 * Parses @p len bytes of key-file text; @p name (the file name) prefixes
 * error messages. On success *out is the caller's (aw_sim_psk_destroy()).
 * Returns AW_OK, AW_EINVAL (with "name:line: reason" in @p why) or AW_ENOMEM.
 */
int aw_sim_psk_parse(const char *text, size_t len, const char *name, aw_sim_psk_table **out,
                     char *why, size_t why_len);

/** Reads and parses the file at @p path. Also AW_ENOTFOUND, AW_EIO, AW_ETOOBIG. */
int aw_sim_psk_load(const char *path, aw_sim_psk_table **out, char *why, size_t why_len);

/** Frees a table and nulls *t_p. Safe on NULL and twice. */
void aw_sim_psk_destroy(aw_sim_psk_table **t_p);

/** Returns the identity that owns @p device, or NULL. Borrowed from @p t. */
const aw_sim_psk *aw_sim_psk_owner(const aw_sim_psk_table *t, const char *device);

/** Returns the identity spelt by @p identity (@p len bytes), or NULL. Borrowed. */
const aw_sim_psk *aw_sim_psk_find(const aw_sim_psk_table *t, const uint8_t *identity, size_t len);

/** Returns true when @p p lists @p device. */
int aw_sim_psk_owns(const aw_sim_psk *p, const char *device);

#endif
