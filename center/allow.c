/* allow.c: the edge certificates the center admits, and zauth's copy of them. */
#include "allow.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

/* Larger files are not certificates. */
#define S_FILE_MAX (64 << 10)
/* An all-zero secret key, as zcert shows it. */
#define S_NO_SECRET "0000000000000000000000000000000000000000"

struct aw_allow {
    aw_allow_entry *e;
    size_t n, cap;
};

/* ------------------------------------------------------------ checks */

static bool s_zone_ok(const char *z)
{
    size_t n = strlen(z);
    if (n == 0 || n > AW_CENTER_ZONE_MAX || z[0] == '/' || z[n - 1] == '/')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = z[i];
        if (c == '/' ? z[i + 1] == '/'
                     : !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

static bool s_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* True when the file mentions a public key. CZMQ 4.2.1's zconfig_load leaks
 * on a file it cannot parse, so plain junk is turned away before it. */
static bool s_looks_like_cert(const char *path)
{
    char *buf = malloc(S_FILE_MAX + 1);
    FILE *f = buf ? fopen(path, "r") : NULL;
    bool yes = false;
    if (f) {
        size_t n = fread(buf, 1, S_FILE_MAX, f);
        buf[n] = '\0';
        yes = strstr(buf, "public-key") != NULL;
        fclose(f);
    }
    free(buf);
    return yes;
}

/* Fills @p e from the certificate at @p path; NULL, or why it is refused. */
static const char *s_read_cert(const char *path, aw_allow_entry *e)
{
    if (!s_looks_like_cert(path))
        return "not a CZMQ certificate";
    zcert_t *cert = zcert_load(path);
    if (!cert)
        return "not a CZMQ certificate";
    const char *id = zcert_meta(cert, "edge-id");
    const char *zone = zcert_meta(cert, "zone");
    const char *why = NULL;
    if (!id)
        id = zcert_meta(cert, "edge_id");
    if (!id || !aw_center_edge_id_ok(id))
        why = id ? "metadata edge-id is not a valid edge id" : "no edge-id in its metadata";
    else if (zone && *zone && !s_zone_ok(zone))
        why = "metadata zone is not a grid path";
    if (!why) {
        snprintf(e->key, sizeof e->key, "%s", zcert_public_txt(cert));
        snprintf(e->edge_id, sizeof e->edge_id, "%s", id);
        snprintf(e->zone, sizeof e->zone, "%s", zone ? zone : "");
    }
    zcert_destroy(&cert);
    return why;
}

/* ------------------------------------------------------------ the list */

static aw_allow_entry *s_find(const aw_allow_t *self, const char *key)
{
    for (size_t i = 0; i < self->n; i++)
        if (strcmp(self->e[i].key, key) == 0)
            return &self->e[i];
    return NULL;
}

static void s_remove(aw_allow_t *self, aw_allow_entry *e)
{
    *e = self->e[--self->n];
}

/* Adds @p e unless its key is taken: the same edge again is harmless, another
 * edge is a conflict that refuses both (who is who cannot be known). The
 * keys in @p conflicts stay refused for the rest of the scan. */
static int s_add(aw_allow_t *self, aw_allow_t *conflicts, const aw_allow_entry *e, const char *path)
{
    aw_allow_entry *old = s_find(self, e->key);
    if (s_find(conflicts, e->key) || (old && strcmp(old->edge_id, e->edge_id) != 0)) {
        aw_error("allow-list: %s: key %s also names edge %s: both refused", path, e->key,
                 old ? old->edge_id : "(another)");
        if (old) {
            s_remove(self, old);
            return s_add(conflicts, conflicts, e, path);
        }
        return AW_OK;
    }
    if (old)
        return AW_OK;
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        aw_allow_entry *grown = realloc(self->e, cap * sizeof *grown);
        if (!grown)
            return AW_ENOMEM;
        self->e = grown, self->cap = cap;
    }
    self->e[self->n++] = *e;
    return AW_OK;
}

/* One directory entry: skipped silently, refused with a log line, or added. */
static int s_entry(aw_allow_t *self, aw_allow_t *conflicts, const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    aw_allow_entry e;
    if (name[0] == '.')
        return AW_OK;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return AW_OK;
    const char *why = NULL;
    if (s_suffix(name, "_secret"))
        why = "a secret key has no place here (copy only the public NAME.cert)";
    else if (st.st_size > S_FILE_MAX)
        why = "over 64 KiB: not a certificate";
    else
        why = s_read_cert(path, &e);
    if (why) {
        aw_warn("allow-list: %s refused: %s", path, why);
        return AW_OK;
    }
    return s_add(self, conflicts, &e, path);
}

int aw_allow_load(const char *dir, aw_allow_t **out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? AW_ENOTFOUND : AW_EIO;
    aw_allow_t *self = calloc(1, sizeof *self);
    aw_allow_t conflicts = {0};
    int rv = self ? AW_OK : AW_ENOMEM;
    struct dirent *de;
    while (rv == AW_OK && (de = readdir(d)) != NULL)
        rv = s_entry(self, &conflicts, dir, de->d_name);
    closedir(d);
    free(conflicts.e);
    if (rv != AW_OK) {
        aw_allow_destroy(&self);
        return rv;
    }
    *out = self;
    return AW_OK;
}

void aw_allow_destroy(aw_allow_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->e);
    free(*self_p);
    *self_p = NULL;
}

const aw_allow_entry *aw_allow_find(const aw_allow_t *self, const char *key)
{
    return self && key ? s_find(self, key) : NULL;
}

size_t aw_allow_count(const aw_allow_t *self)
{
    return self ? self->n : 0;
}

/* ------------------------------------------------------------ zauth's copy */

static int s_stage_one(const aw_allow_entry *e, const char *dir, size_t i)
{
    uint8_t pub[32], secret[32] = {0};
    char path[4096];
    zmq_z85_decode(pub, e->key);
    zcert_t *cert = zcert_new_from(pub, secret);
    if (!cert)
        return AW_EIO;
    zcert_set_meta(cert, "edge-id", "%s", e->edge_id);
    if (e->zone[0])
        zcert_set_meta(cert, "zone", "%s", e->zone);
    snprintf(path, sizeof path, "%s/%zu.cert", dir, i);
    int rc = zcert_save_public(cert, path);
    zcert_destroy(&cert);
    return rc == 0 ? AW_OK : AW_EIO;
}

int aw_allow_stage(const aw_allow_t *self, const char *dir)
{
    if (mkdir(dir, 0700) != 0)
        return errno == EEXIST ? AW_EEXIST : AW_EIO;
    int rv = AW_OK;
    for (size_t i = 0; rv == AW_OK && self && i < self->n; i++)
        rv = s_stage_one(&self->e[i], dir, i);
    return rv;
}

/* ------------------------------------------------------------ change detection */

static uint64_t s_fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * UINT64_C(0x100000001b3);
    return h;
}

static uint64_t s_stat_hash(uint64_t h, const struct stat *st)
{
    int64_t v[4] = {(int64_t)st->st_size, (int64_t)st->st_mtim.tv_sec, (int64_t)st->st_mtim.tv_nsec,
                    (int64_t)st->st_ino};
    return s_fnv(h, v, sizeof v);
}

int aw_allow_fingerprint(const char *dir, uint64_t *out)
{
    struct stat st;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? AW_ENOTFOUND : AW_EIO;
    uint64_t h = UINT64_C(0xcbf29ce484222325), sum = 0;
    if (fstat(dirfd(d), &st) == 0)
        h = s_stat_hash(h, &st);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        /* order-independent: readdir's order is not stable */
        uint64_t e = s_fnv(UINT64_C(0xcbf29ce484222325), de->d_name, strlen(de->d_name));
        if (fstatat(dirfd(d), de->d_name, &st, 0) == 0)
            e = s_stat_hash(e, &st);
        sum += e * UINT64_C(0x9e3779b97f4a7c15) + 1;
    }
    closedir(d);
    *out = s_fnv(h, &sum, sizeof sum);
    return AW_OK;
}

/* ------------------------------------------------------------ the center's own */

int aw_allow_init_cert(const char *path, int *created)
{
    if (created)
        *created = 0;
    zcert_t *cert = zcert_load(path);
    if (cert && strcmp(zcert_secret_txt(cert), S_NO_SECRET) != 0) {
        zcert_destroy(&cert);
        return AW_OK;
    }
    zcert_destroy(&cert);
    if (!(cert = zcert_new()))
        return AW_EIO;
    zcert_set_meta(cert, "role", "center");
    mode_t mask = umask(077); /* the secret file must not be readable by others */
    int rc = zcert_save(cert, path);
    umask(mask);
    zcert_destroy(&cert);
    if (rc != 0)
        return AW_EIO;
    if (created)
        *created = 1;
    return AW_OK;
}
