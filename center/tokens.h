/**
 * @file tokens.h
 * @brief The HTTP API's bearer tokens (API.md "Authentication and roles").
 *
 * The tokens file (`[http] tokens`) has one `TOKEN ROLE NAME` line per
 * operator or script, `#` comments and blank lines: TOKEN is at least 16
 * printable ASCII characters without spaces, ROLE is `viewer`, `operator`
 * or `admin`, NAME (`[A-Za-z0-9._@-]{1,64}`) is who is recorded for each
 * write. A bad line refuses the whole file with "file:line: reason"; the
 * daemon keeps its old set when a SIGHUP reload finds the new file bad.
 * Lookups compare every token in constant time, so the answer's timing
 * does not tell how much of a guess was right.
 */
#ifndef AW_CENTER_TOKENS_H
#define AW_CENTER_TOKENS_H

#include <stddef.h>

#include "aw_err.h"

/** Roles, each allowed what the one before is plus more. */
typedef enum aw_role {
    AW_ROLE_NONE = 0, /**< no token: the dashboard's files only */
    AW_ROLE_VIEWER,
    AW_ROLE_OPERATOR,
    AW_ROLE_ADMIN,
} aw_role;

/** Shortest token accepted. */
#define AW_TOKEN_MIN 16
/** Longest token accepted (a line is at most 1023 bytes anyway). */
#define AW_TOKEN_MAX 512
/** Longest NAME. */
#define AW_TOKEN_NAME_MAX 64

/** "viewer", "operator", "admin" ("none" for AW_ROLE_NONE). */
const char *aw_role_name(aw_role role);

typedef struct aw_tokens aw_tokens_t;

/**
 * Reads and validates the tokens file @p path. On success *out is the
 * caller's (aw_tokens_destroy()). On failure @p why holds "file:line:
 * reason" (or "file: reason") and *out is NULL. Returns AW_OK, AW_ECONFIG
 * (a bad line, a duplicate token), AW_ENOTFOUND, AW_EIO, AW_ENOMEM.
 */
int aw_tokens_load(const char *path, aw_tokens_t **out, char *why, size_t why_len);

/** Frees and nulls *self_p. Safe on NULL and twice. */
void aw_tokens_destroy(aw_tokens_t **self_p);

/** How many tokens are loaded. */
size_t aw_tokens_count(const aw_tokens_t *self);

/**
 * Looks up @p token (@p len bytes, not NUL-terminated; every entry is
 * compared in constant time). On success *role and *name (borrowed, valid
 * until the set is destroyed) are set. Returns AW_OK or AW_EPERM (unknown).
 */
int aw_tokens_lookup(const aw_tokens_t *self, const char *token, size_t len, aw_role *role,
                     const char **name);

#endif
