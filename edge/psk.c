#include "psk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One identity: its key and its sorted device ids. */
typedef struct s_entry {
    char id[AW_PSK_IDENTITY_MAX + 1];
    size_t id_len;
    uint8_t key[AW_PSK_KEY_MAX];
    size_t key_len;
    char **devices; /* sorted by strcmp */
    size_t n_devices;
} s_entry;

struct aw_psk {
    s_entry *entries; /* sorted by identity bytes */
    size_t n, cap;
};

/* Parser state for one line, for error messages. */
typedef struct s_line {
    const char *path;
    unsigned no;
    char *why;
    size_t why_len;
} s_line;

static int s_err(const s_line *ln, const char *fmt, const char *arg)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg);
    snprintf(ln->why, ln->why_len, "%s:%u: %s", ln->path, ln->no, msg);
    return AW_ECONFIG;
}

static void s_entry_free(s_entry *e)
{
    for (size_t i = 0; i < e->n_devices; i++)
        free(e->devices[i]);
    free(e->devices);
    memset(e, 0, sizeof *e);
}

void aw_psk_destroy(aw_psk_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aw_psk_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        s_entry_free(&self->entries[i]);
    free(self->entries);
    free(self);
    *self_p = NULL;
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

static int s_parse_identity(const s_line *ln, const char *tok, s_entry *e)
{
    size_t n = strlen(tok);
    if (n > AW_PSK_IDENTITY_MAX)
        return s_err(ln, "identity: longer than %s bytes", "64");
    for (size_t i = 0; i < n; i++)
        if (tok[i] < 0x21 || tok[i] > 0x7e)
            return s_err(ln, "identity: \"%s\" has a byte outside printable ASCII", tok);
    memcpy(e->id, tok, n + 1);
    e->id_len = n;
    return AW_OK;
}

static int s_parse_key(const s_line *ln, const char *tok, s_entry *e)
{
    size_t n = strlen(tok);
    if (n % 2)
        return s_err(ln, "key: odd number of hex digits%s", "");
    if (n / 2 > AW_PSK_KEY_MAX)
        return s_err(ln, "key: longer than %s bytes", "64");
    for (size_t i = 0; i < n; i += 2) {
        int hi = s_hex(tok[i]), lo = s_hex(tok[i + 1]);
        if (hi < 0 || lo < 0)
            return s_err(ln, "key: \"%s\" is not hexadecimal", tok);
        e->key[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    e->key_len = n / 2;
    return AW_OK;
}

static int s_device_valid(const char *d, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = d[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int s_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int s_parse_devices(const s_line *ln, char *tok, s_entry *e)
{
    size_t cap = 1;
    for (const char *p = tok; *p; p++)
        cap += *p == ',';
    if (!(e->devices = calloc(cap, sizeof *e->devices)))
        return AW_ENOMEM;
    for (char *d = tok, *next; d; d = next) {
        if ((next = strchr(d, ',')))
            *next++ = '\0';
        if (!*d)
            return s_err(ln, "devices: empty item in \"%s\"", "a,b,...");
        if (!s_device_valid(d, strlen(d)))
            return s_err(ln, "devices: \"%s\" is not a device id ([a-z0-9._-]{1,64})", d);
        if (!(e->devices[e->n_devices++] = strdup(d)))
            return AW_ENOMEM;
    }
    qsort(e->devices, e->n_devices, sizeof *e->devices, s_strcmp_p);
    return AW_OK;
}

/* Splits a line into at most 4 whitespace-separated tokens, stopping at '#'. */
static size_t s_tokens(char *line, char *tok[4])
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t\r\n", &save); t && n < 4;
         t = strtok_r(NULL, " \t\r\n", &save)) {
        if (t[0] == '#')
            break;
        tok[n++] = t;
    }
    return n;
}

static int s_add(aw_psk_t *self, s_entry *e)
{
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        s_entry *grown = realloc(self->entries, cap * sizeof *grown);
        if (!grown)
            return AW_ENOMEM;
        self->entries = grown, self->cap = cap;
    }
    self->entries[self->n++] = *e;
    memset(e, 0, sizeof *e);
    return AW_OK;
}

static int s_parse_line(aw_psk_t *self, const s_line *ln, char *line)
{
    char *tok[4];
    size_t n = s_tokens(line, tok);
    if (n == 0)
        return AW_OK;
    if (n != 3)
        return s_err(ln, "expected <identity> <hex key> <device>[,<device>...]%s", "");
    s_entry e = {0};
    int rv = s_parse_identity(ln, tok[0], &e);
    if (rv == AW_OK)
        rv = s_parse_key(ln, tok[1], &e);
    if (rv == AW_OK)
        rv = s_parse_devices(ln, tok[2], &e);
    if (rv == AW_OK)
        rv = s_add(self, &e);
    s_entry_free(&e);
    return rv;
}

static int s_entry_cmp(const void *a, const void *b)
{
    const s_entry *x = a, *y = b;
    size_t n = x->id_len < y->id_len ? x->id_len : y->id_len;
    int c = memcmp(x->id, y->id, n);
    return c ? c : (x->id_len > y->id_len) - (x->id_len < y->id_len);
}

/* Sorts the entries and refuses duplicate identities (naming the identity). */
static int s_finish(aw_psk_t *self, const char *path, char *why, size_t why_len)
{
    if (self->n)
        qsort(self->entries, self->n, sizeof *self->entries, s_entry_cmp);
    for (size_t i = 1; i < self->n; i++) {
        if (s_entry_cmp(&self->entries[i - 1], &self->entries[i]) == 0) {
            snprintf(why, why_len, "%s: identity \"%s\" is given twice", path, self->entries[i].id);
            return AW_ECONFIG;
        }
    }
    return AW_OK;
}

static int s_read(FILE *f, aw_psk_t *self, s_line *ln)
{
    char line[AW_PSK_MAX_LINE];
    while (fgets(line, sizeof line, f)) {
        ln->no++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f))
            return s_err(ln, "line longer than %s bytes", "8191");
        int rv = s_parse_line(self, ln, line);
        if (rv != AW_OK)
            return rv;
    }
    if (ferror(f))
        return s_err(ln, "read error: %s", strerror(errno));
    return AW_OK;
}

static void s_check_mode(FILE *f, const char *path, char *why, size_t why_len)
{
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        snprintf(why, why_len, "%s: readable by group or others; chmod 600 it", path);
}

int aw_psk_load(const char *path, aw_psk_t **out, char *why, size_t why_len)
{
    *out = NULL;
    why[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, why_len, "%s: cannot open: %s", path, strerror(errno));
        return errno == ENOENT ? AW_ENOTFOUND : AW_EIO;
    }
    aw_psk_t *self = calloc(1, sizeof *self);
    s_line ln = {.path = path, .why = why, .why_len = why_len};
    int rv = self ? s_read(f, self, &ln) : AW_ENOMEM;
    if (rv == AW_OK)
        rv = s_finish(self, path, why, why_len);
    if (rv == AW_OK)
        s_check_mode(f, path, why, why_len);
    fclose(f);
    if (rv != AW_OK) {
        aw_psk_destroy(&self);
        return rv;
    }
    *out = self;
    return AW_OK;
}

size_t aw_psk_count(const aw_psk_t *self)
{
    return self ? self->n : 0;
}

static const s_entry *s_find(const aw_psk_t *self, const void *id, size_t len)
{
    if (!self || len == 0 || len > AW_PSK_IDENTITY_MAX)
        return NULL;
    s_entry key;
    memcpy(key.id, id, len);
    key.id_len = len;
    return bsearch(&key, self->entries, self->n, sizeof *self->entries, s_entry_cmp);
}

const uint8_t *aw_psk_key(const aw_psk_t *self, const void *id, size_t len, size_t *key_len)
{
    const s_entry *e = s_find(self, id, len);
    if (!e)
        return NULL;
    *key_len = e->key_len;
    return e->key;
}

bool aw_psk_owns(const aw_psk_t *self, const void *id, size_t len, const char *device)
{
    const s_entry *e = s_find(self, id, len);
    return e && bsearch(&device, e->devices, e->n_devices, sizeof *e->devices, s_strcmp_p);
}
