#include "psk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_MAX_FIELDS 3

/* Splits a line into at most S_MAX_FIELDS blank-separated fields, stopping
 * at a field that starts with '#'. Returns the field count, or -1 if more. */
static int s_fields(char *line, char **f)
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
        if (tok[0] == '#')
            break;
        if (n == S_MAX_FIELDS)
            return -1;
        f[n++] = tok;
    }
    return n;
}

static int s_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int s_parse_key(const char *hex, aw_sim_psk *p)
{
    size_t n = strlen(hex);
    if (n == 0 || n % 2 != 0 || n / 2 > AW_SIM_PSK_MAX_KEY)
        return AW_EINVAL;
    for (size_t i = 0; i < n; i += 2) {
        int hi = s_hex(hex[i]), lo = s_hex(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return AW_EINVAL;
        p->key[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    p->key_len = n / 2;
    return AW_OK;
}

static int s_valid_identity(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return 0;
    return n >= 1 && n <= AW_SIM_PSK_MAX_IDENTITY;
}

static int s_valid_device(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-");
    return n >= 1 && n <= 64 && s[n] == '\0';
}

/* Adds the comma-separated devices of @p list to @p p. */
static int s_parse_devices(char *list, aw_sim_psk *p, const char **bad)
{
    char *save = NULL;
    for (char *d = strtok_r(list, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
        if (!s_valid_device(d)) {
            *bad = d;
            return AW_EINVAL;
        }
        char **grown = realloc(p->devices, (p->n_devices + 1) * sizeof *grown);
        if (!grown)
            return AW_ENOMEM;
        p->devices = grown;
        if (!(p->devices[p->n_devices] = strdup(d)))
            return AW_ENOMEM;
        p->n_devices++;
    }
    if (p->n_devices == 0) {
        *bad = "";
        return AW_EINVAL;
    }
    return AW_OK;
}

static void s_psk_free(aw_sim_psk *p)
{
    free(p->identity);
    for (size_t i = 0; i < p->n_devices; i++)
        free(p->devices[i]);
    free(p->devices);
    memset(p, 0, sizeof *p);
}

/* Checks @p p against the identities already in @p t. */
static int s_check_unique(const aw_sim_psk_table *t, const aw_sim_psk *p, char *msg, size_t len)
{
    if (aw_sim_psk_find(t, (const uint8_t *)p->identity, strlen(p->identity))) {
        snprintf(msg, len, "identity \"%s\" is listed twice", p->identity);
        return AW_EINVAL;
    }
    for (size_t i = 0; i < p->n_devices; i++) {
        const aw_sim_psk *owner = aw_sim_psk_owner(t, p->devices[i]);
        if (owner) {
            snprintf(msg, len, "device \"%s\" is already owned by identity \"%s\"", p->devices[i],
                     owner->identity);
            return AW_EINVAL;
        }
    }
    return AW_OK;
}

/* Parses one non-blank line into a new identity of @p t; @p msg says why not. */
static int s_parse_line(char *line, aw_sim_psk_table *t, char *msg, size_t len)
{
    char *f[S_MAX_FIELDS];
    int n = s_fields(line, f);
    if (n == 0)
        return AW_OK;
    if (n != 3) {
        snprintf(msg, len, "expected \"<identity> <key as hex> <device-id>[,<device-id>...]\"");
        return AW_EINVAL;
    }
    aw_sim_psk p = {0};
    const char *bad = NULL;
    int rv = AW_EINVAL;
    if (!s_valid_identity(f[0]))
        snprintf(msg, len, "identity must be 1..128 printable bytes without spaces");
    else if (s_parse_key(f[1], &p) != AW_OK)
        snprintf(msg, len, "key \"%.40s\" is not 1..64 bytes of hex", f[1]);
    else if (!(p.identity = strdup(f[0])))
        rv = AW_ENOMEM;
    else if ((rv = s_parse_devices(f[2], &p, &bad)) == AW_EINVAL)
        snprintf(msg, len, "device id \"%.70s\" is not [a-z0-9._-]{1,64}", bad);
    else if (rv == AW_OK && (rv = s_check_unique(t, &p, msg, len)) == AW_OK) {
        aw_sim_psk *grown = realloc(t->ids, (t->n + 1) * sizeof *grown);
        if (grown) {
            t->ids = grown;
            t->ids[t->n++] = p;
            return AW_OK;
        }
        rv = AW_ENOMEM;
    }
    s_psk_free(&p);
    return rv;
}

int aw_sim_psk_parse(const char *text, size_t len, const char *name, aw_sim_psk_table **out,
                     char *why, size_t why_len)
{
    *out = NULL;
    aw_sim_psk_table *t = calloc(1, sizeof *t);
    char *copy = malloc(len + 1);
    int rv = t && copy ? AW_OK : AW_ENOMEM;
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = '\0';
    }
    char msg[160], *save = NULL;
    size_t lineno = 0;
    if (rv == AW_OK && memchr(text, '\0', len)) {
        snprintf(why, why_len, "%s: contains a NUL byte; is it a text file?", name);
        rv = AW_EINVAL;
    }
    for (char *line = copy; rv == AW_OK && line; line = save) {
        save = strchr(line, '\n');
        if (save)
            *save++ = '\0';
        lineno++;
        rv = s_parse_line(line, t, msg, sizeof msg);
        if (rv == AW_EINVAL)
            snprintf(why, why_len, "%s:%zu: %s", name, lineno, msg);
    }
    free(copy);
    if (rv != AW_OK)
        aw_sim_psk_destroy(&t);
    *out = t;
    return rv;
}

/* Reads a whole small file; *buf is the caller's. */
static int s_read_file(const char *path, char **buf, size_t *len, char *why, size_t why_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? AW_ENOTFOUND : AW_EIO;
    }
    *buf = malloc(AW_SIM_PSK_MAX_FILE + 1);
    *len = *buf ? fread(*buf, 1, AW_SIM_PSK_MAX_FILE + 1, f) : 0;
    int rv = !*buf ? AW_ENOMEM : ferror(f) ? AW_EIO : AW_OK;
    if (rv == AW_OK && *len > AW_SIM_PSK_MAX_FILE)
        rv = AW_ETOOBIG;
    if (rv != AW_OK)
        snprintf(why, why_len, "%s: %s", path,
                 rv == AW_ETOOBIG ? "larger than 4 MiB" : aw_strerror(rv));
    fclose(f);
    return rv;
}

int aw_sim_psk_load(const char *path, aw_sim_psk_table **out, char *why, size_t why_len)
{
    char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    int rv = s_read_file(path, &buf, &len, why, why_len);
    if (rv == AW_OK)
        rv = aw_sim_psk_parse(buf, len, path, out, why, why_len);
    free(buf);
    return rv;
}

void aw_sim_psk_destroy(aw_sim_psk_table **t_p)
{
    if (!t_p || !*t_p)
        return;
    for (size_t i = 0; i < (*t_p)->n; i++)
        s_psk_free(&(*t_p)->ids[i]);
    free((*t_p)->ids);
    free(*t_p);
    *t_p = NULL;
}

int aw_sim_psk_owns(const aw_sim_psk *p, const char *device)
{
    for (size_t i = 0; i < p->n_devices; i++)
        if (strcmp(p->devices[i], device) == 0)
            return 1;
    return 0;
}

const aw_sim_psk *aw_sim_psk_owner(const aw_sim_psk_table *t, const char *device)
{
    for (size_t i = 0; t && i < t->n; i++)
        if (aw_sim_psk_owns(&t->ids[i], device))
            return &t->ids[i];
    return NULL;
}

const aw_sim_psk *aw_sim_psk_find(const aw_sim_psk_table *t, const uint8_t *identity, size_t len)
{
    for (size_t i = 0; t && i < t->n; i++)
        if (strlen(t->ids[i].identity) == len && memcmp(t->ids[i].identity, identity, len) == 0)
            return &t->ids[i];
    return NULL;
}
