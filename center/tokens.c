/* tokens.c: the API's bearer tokens file, validated whole, looked up in
 * constant time. */
#include "tokens.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_entry {
    char token[AW_TOKEN_MAX + 1];
    size_t len;
    aw_role role;
    char name[AW_TOKEN_NAME_MAX + 1];
} s_entry;

struct aw_tokens {
    s_entry *v;
    size_t n, cap;
};

static const char *const s_role_names[] = {"none", "viewer", "operator", "admin"};

const char *aw_role_name(aw_role role)
{
    return role >= AW_ROLE_NONE && role <= AW_ROLE_ADMIN ? s_role_names[role] : "?";
}

static bool s_token_ok(const char *t, size_t n)
{
    if (n < AW_TOKEN_MIN || n > AW_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (t[i] <= 0x20 || t[i] >= 0x7F)
            return false;
    return true;
}

static bool s_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > AW_TOKEN_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-", s[i]))
            return false;
    return true;
}

static aw_role s_role(const char *s)
{
    for (int r = AW_ROLE_VIEWER; r <= AW_ROLE_ADMIN; r++)
        if (!strcmp(s, s_role_names[r]))
            return (aw_role)r;
    return AW_ROLE_NONE;
}

/* Constant-time in the bytes compared: always AW_TOKEN_MAX of them. */
static bool s_same(const s_entry *e, const char *t, size_t n)
{
    unsigned diff = (unsigned)(e->len != n);
    for (size_t i = 0; i < AW_TOKEN_MAX; i++) {
        unsigned char a = i < n ? (unsigned char)t[i] : 0;
        diff |= (unsigned)(a ^ (unsigned char)e->token[i]);
    }
    return diff == 0;
}

static int s_push(aw_tokens_t *self, const s_entry *e)
{
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        s_entry *v = realloc(self->v, cap * sizeof *v);
        if (!v)
            return AW_ENOMEM;
        self->v = v, self->cap = cap;
    }
    self->v[self->n++] = *e;
    return AW_OK;
}

/* One line (comment and newline stripped by the caller). Returns AW_OK and
 * fills @p e (e->len 0 for a blank line), or AW_ECONFIG with @p msg. */
static int s_parse_line(char *line, s_entry *e, char *msg, size_t len)
{
    char *save = NULL, *tok = strtok_r(line, " \t\r", &save);
    memset(e, 0, sizeof *e);
    if (!tok)
        return AW_OK;
    char *role = strtok_r(NULL, " \t\r", &save), *name = strtok_r(NULL, " \t\r", &save);
    if (!role || !name || strtok_r(NULL, " \t\r", &save)) {
        snprintf(msg, len, "expected TOKEN ROLE NAME");
        return AW_ECONFIG;
    }
    if (!s_token_ok(tok, strlen(tok))) {
        snprintf(msg, len, "the token must be %d..%d printable characters without spaces",
                 AW_TOKEN_MIN, AW_TOKEN_MAX);
        return AW_ECONFIG;
    }
    if ((e->role = s_role(role)) == AW_ROLE_NONE) {
        snprintf(msg, len, "role \"%.32s\" is not viewer, operator or admin", role);
        return AW_ECONFIG;
    }
    if (!s_name_ok(name)) {
        snprintf(msg, len, "name \"%.80s\" is not [A-Za-z0-9._@-]{1,64}", name);
        return AW_ECONFIG;
    }
    e->len = strlen(tok);
    memcpy(e->token, tok, e->len);
    snprintf(e->name, sizeof e->name, "%s", name);
    return AW_OK;
}

static int s_add_line(aw_tokens_t *self, char *line, char *msg, size_t len)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    s_entry e;
    int rv = s_parse_line(line, &e, msg, len);
    if (rv != AW_OK || e.len == 0)
        return rv;
    for (size_t i = 0; i < self->n; i++)
        if (s_same(&self->v[i], e.token, e.len)) {
            snprintf(msg, len, "this token is already given to %s", self->v[i].name);
            return AW_ECONFIG;
        }
    return s_push(self, &e);
}

static int s_read(aw_tokens_t *self, FILE *f, const char *path, char *why, size_t why_len)
{
    char line[1024], msg[256];
    for (unsigned no = 1; fgets(line, sizeof line, f); no++) {
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n' && !feof(f)) {
            snprintf(why, why_len, "%s:%u: line too long", path, no);
            return AW_ECONFIG;
        }
        line[strcspn(line, "\n")] = '\0';
        int rv = s_add_line(self, line, msg, sizeof msg);
        if (rv != AW_OK) {
            snprintf(why, why_len, "%s:%u: %s", path, no, rv == AW_ENOMEM ? "out of memory" : msg);
            return rv;
        }
    }
    if (ferror(f)) {
        snprintf(why, why_len, "%s: read error", path);
        return AW_EIO;
    }
    return AW_OK;
}

int aw_tokens_load(const char *path, aw_tokens_t **out, char *why, size_t why_len)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? AW_ENOTFOUND : AW_EIO;
    }
    aw_tokens_t *self = calloc(1, sizeof *self);
    int rv = self ? s_read(self, f, path, why, why_len) : AW_ENOMEM;
    fclose(f);
    if (rv != AW_OK) {
        if (rv == AW_ENOMEM)
            snprintf(why, why_len, "%s: out of memory", path);
        aw_tokens_destroy(&self);
        return rv;
    }
    *out = self;
    return AW_OK;
}

void aw_tokens_destroy(aw_tokens_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aw_tokens_t *self = *self_p;
    if (self->v)
        memset(self->v, 0, self->cap * sizeof *self->v); /* no secrets left in freed memory */
    free(self->v);
    free(self);
    *self_p = NULL;
}

size_t aw_tokens_count(const aw_tokens_t *self)
{
    return self ? self->n : 0;
}

int aw_tokens_lookup(const aw_tokens_t *self, const char *token, size_t len, aw_role *role,
                     const char **name)
{
    const s_entry *hit = NULL;
    if (!self || len > AW_TOKEN_MAX)
        return AW_EPERM;
    for (size_t i = 0; i < self->n; i++) /* no early exit: every entry costs the same */
        if (s_same(&self->v[i], token, len))
            hit = &self->v[i];
    if (!hit)
        return AW_EPERM;
    *role = hit->role;
    *name = hit->name;
    return AW_OK;
}
