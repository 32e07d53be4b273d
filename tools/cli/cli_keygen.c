/* cli_keygen.c: `anwang keygen`, a CZMQ certificate pair for an edge or
 * the center (SPEC §5: CURVE always on; the certificate names the edge). */
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "cli_out.h"

const char aw_cli_keygen_help[] =
    "Usage: anwang keygen NAME [--zone PATH] [--out DIR] [--center] [--force] [--json]\n"
    "\n"
    "Makes a CURVE certificate pair (CZMQ format) for one edge, or with --center for the\n"
    "county center, and writes two files:\n"
    "  DIR/NAME.cert          the public certificate: copy it into the center's allow-list\n"
    "                         folder; the center then admits this edge, as NAME only\n"
    "  DIR/NAME.cert_secret   the secret key (mode 0600): stays on the edge; the edge's\n"
    "                         config points at it ([uplink] cert = ...)\n"
    "The certificate's metadata names the edge (edge-id = NAME, zone = PATH, role), so a\n"
    "key cannot speak for another edge.\n"
    "\n"
    "Arguments\n"
    "  NAME                the edge id: 1-64 of a-z 0-9 . _ - starting with a letter or\n"
    "                      digit, e.g. rongjiawan-1\n"
    "\n"
    "Options\n"
    "  -z, --zone PATH     the edge's zone, a grid path COUNTY/ZONE of a-z 0-9 - segments,\n"
    "                      e.g. yueyang/rongjiawan; the center then holds the edge to it\n"
    "  -o, --out DIR       where to write (default: the current directory; must exist)\n"
    "      --center        a certificate for the center (role=center) instead of an edge\n"
    "  -f, --force         replace existing files (the old key stops working)\n"
    "      --json          print {name, role, zone, public_key, files} as JSON\n"
    "  -h, --help          this help\n"
    "\n"
    "Examples\n"
    "  anwang keygen rongjiawan-1 --zone yueyang/rongjiawan --out /etc/anwang/keys\n"
    "  anwang keygen center --center --out /etc/anwang\n"
    "\n"
    "Exit codes: 0 written, 64 bad arguments, 73 a file exists or cannot be written.\n";

typedef struct s_args {
    const char *name;
    const char *zone;
    const char *out;
    bool center, force, json;
} s_args;

/* Checks NAME against [a-z0-9][a-z0-9._-]{0,63}; on failure says why in @p why. */
static bool s_name_ok(const char *name, char *why, size_t len)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64) {
        snprintf(why, len, "NAME must be 1 to 64 characters long (got %zu)", n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (alnum || (i > 0 && (c == '.' || c == '_' || c == '-')))
            continue;
        snprintf(why, len,
                 "NAME '%s': '%c' at position %zu is not allowed; use lowercase letters, "
                 "digits, '.', '_' and '-', starting with a letter or digit (e.g. rongjiawan-1)",
                 name, c, i + 1);
        return false;
    }
    return true;
}

/* Checks a zone grid path COUNTY/ZONE (segments of [a-z0-9-]); says why in @p why. */
static bool s_zone_ok(const char *zone, char *why, size_t len)
{
    static const char hint[] = "a zone is COUNTY/ZONE in lowercase a-z 0-9 -, "
                               "e.g. yueyang/rongjiawan";
    size_t n = strlen(zone), seg = 0, segs = 1;
    for (size_t i = 0; i < n; i++) {
        char c = zone[i];
        if (c == '/') {
            if (seg == 0)
                break;
            seg = 0;
            segs++;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            seg++;
        } else {
            snprintf(why, len, "--zone '%s': '%c' is not allowed; %s", zone, c, hint);
            return false;
        }
    }
    if (n == 0 || n > 256 || seg == 0 || segs != 2) {
        snprintf(why, len, "--zone '%s' is not a zone path; %s", zone, hint);
        return false;
    }
    return true;
}

/* Parses the command line into @p a; returns -1 to go on, else an exit code. */
static int s_parse(const aw_cli_cmd *cmd, int argc, char **argv, s_args *a)
{
    static const struct option opts[] = {{"zone", required_argument, NULL, 'z'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"center", no_argument, NULL, 'C'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    *a = (s_args){.out = "."};
    while ((c = getopt_long(argc, argv, ":z:o:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'z':
            a->zone = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'C':
            a->center = true;
            break;
        case 'f':
            a->force = true;
            break;
        case 'j':
            a->json = true;
            break;
        case 'h':
            aw_cli_help(cmd);
            return EX_OK;
        default:
            return aw_cli_bad_option(cmd, argv, c);
        }
    }
    if (optind >= argc)
        return aw_cli_usage_error(cmd, "NAME is missing: the edge id, e.g. rongjiawan-1");
    if (optind + 1 < argc)
        return aw_cli_usage_error(cmd, "one NAME only (got '%s' too)", argv[optind + 1]);
    a->name = argv[optind];
    char why[256];
    if (!s_name_ok(a->name, why, sizeof why) || (a->zone && !s_zone_ok(a->zone, why, sizeof why)))
        return aw_cli_usage_error(cmd, "%s", why);
    if (a->center && a->zone)
        return aw_cli_usage_error(cmd, "--zone is for an edge; the center has no zone");
    return -1;
}

/* The certificate with its metadata; NULL when out of memory. */
static zcert_t *s_cert(const s_args *a)
{
    zcert_t *cert = zcert_new();
    if (cert == NULL)
        return NULL;
    char now[32];
    aw_cli_fmt_time(aw_cli_now_ms(), now, sizeof now);
    if (a->center) {
        zcert_set_meta(cert, "name", "%s", a->name);
        zcert_set_meta(cert, "role", "center");
    } else {
        zcert_set_meta(cert, "edge-id", "%s", a->name);
        if (a->zone)
            zcert_set_meta(cert, "zone", "%s", a->zone);
        zcert_set_meta(cert, "role", "edge");
    }
    zcert_set_meta(cert, "created", "%s", now);
    return cert;
}

/* The two final paths and their temporary twins. */
typedef struct s_paths {
    char pub[PATH_MAX], sec[PATH_MAX];
    char tmp_pub[PATH_MAX], tmp_sec[PATH_MAX];
    bool made_pub, made_sec; /* the temp files exist (until installed by rename) */
} s_paths;

/* Fills @p p from the out dir (made absolute) and NAME; false when a path is too long. */
static bool s_paths_make(const s_args *a, s_paths *p)
{
    char dir[PATH_MAX];
    if (realpath(a->out, dir) == NULL)
        return false;
    int n1 = snprintf(p->pub, sizeof p->pub, "%s/%s.cert", dir, a->name);
    int n2 = snprintf(p->sec, sizeof p->sec, "%s/%s.cert_secret", dir, a->name);
    int n3 = snprintf(p->tmp_pub, sizeof p->tmp_pub, "%s/.%s.cert.XXXXXX", dir, a->name);
    int n4 = snprintf(p->tmp_sec, sizeof p->tmp_sec, "%s/.%s.cert_secret.XXXXXX", dir, a->name);
    return n1 > 0 && n2 > 0 && n3 > 0 && n4 > 0 && (size_t)n1 < sizeof p->pub &&
           (size_t)n2 < sizeof p->sec && (size_t)n3 < sizeof p->tmp_pub &&
           (size_t)n4 < sizeof p->tmp_sec;
}

/* Creates a unique empty temp file from @p tmpl (mode 0600); false on error. */
static bool s_tmp(char *tmpl)
{
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* Flushes @p path (a file or directory) to disk; false on error. */
static bool s_sync(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

/* Writes both halves into the temp files, synced; public 0644, secret 0600. */
static bool s_write_tmp(zcert_t *cert, s_paths *p)
{
    if (!(p->made_sec = s_tmp(p->tmp_sec)) || !(p->made_pub = s_tmp(p->tmp_pub)))
        return false;
    /* zconfig_save() rewrites the files we made, keeping their 0600 mode. */
    if (zcert_save_secret(cert, p->tmp_sec) != 0 || zcert_save_public(cert, p->tmp_pub) != 0)
        return false;
    return chmod(p->tmp_sec, 0600) == 0 && chmod(p->tmp_pub, 0644) == 0 && s_sync(p->tmp_sec) &&
           s_sync(p->tmp_pub);
}

/* Puts @p tmp at @p path: never over an existing file unless @p force.
 * Returns 0 or an errno value (EEXIST when the file is there). */
static int s_publish(const char *tmp, const char *path, bool force)
{
    if (force)
        return rename(tmp, path) == 0 ? 0 : errno;
    if (link(tmp, path) == 0)
        return 0;
    if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS)
        return errno;
    /* No hard links on this filesystem: check, then rename (racy, but rare). */
    struct stat st;
    if (lstat(path, &st) == 0)
        return EEXIST;
    return rename(tmp, path) == 0 ? 0 : errno;
}

/* Moves both temp files into place, secret first; undoes the first on failure. */
static int s_install(const s_paths *p, bool force, const char **failed)
{
    int e = s_publish(p->tmp_sec, p->sec, force);
    *failed = p->sec;
    if (e == 0) {
        e = s_publish(p->tmp_pub, p->pub, force);
        *failed = p->pub;
        if (e != 0 && !force)
            unlink(p->sec);
    }
    return e;
}

/* Prints what was written and what to do next. */
static void s_report_human(const s_args *a, const s_paths *p, zcert_t *cert)
{
    const char *b = aw_cli_sgr(AW_CLI_BOLD), *e = aw_cli_sgr_end();
    if (a->center)
        printf("Wrote the certificate pair of the center %s%s%s:\n", b, a->name, e);
    else
        printf("Wrote the certificate pair of edge %s%s%s%s%s:\n", b, a->name, e,
               a->zone ? " in zone " : "", a->zone ? a->zone : "");
    printf("  public  %s\n", p->pub);
    printf("  secret  %s  (mode 0600: keep it on the %s only)\n", p->sec,
           a->center ? "center" : "edge");
    printf("  public key (Z85): %s\n\nNext:\n", zcert_public_txt(cert));
    if (a->center) {
        printf("  1. Point the center's config at the secret file:\n"
               "       cert = %s\n"
               "  2. Give every edge the center's public key, in edge.conf:\n"
               "       [uplink]\n"
               "       center_key = %s\n",
               p->sec, zcert_public_txt(cert));
        return;
    }
    printf("  1. Copy the public certificate into the center's allow-list folder, e.g.\n"
           "       scp %s center:/etc/anwang/edges/\n"
           "     The center admits %s on its next connect (it watches the folder).\n"
           "  2. On the edge, install the secret file (mode 0600, owned by the user the\n"
           "     edge runs as) and point edge.conf at it:\n"
           "       [uplink]\n"
           "       cert = %s\n"
           "       center_key = <the center's public key: anwang keygen --center>\n",
           p->pub, a->name, p->sec);
}

static int s_report_json(const s_args *a, const s_paths *p, zcert_t *cert)
{
    json_t *j = json_pack("{s:s, s:s, s:s?, s:s, s:{s:s, s:s}}", "name", a->name, "role",
                          a->center ? "center" : "edge", "zone", a->zone, "public_key",
                          zcert_public_txt(cert), "files", "public", p->pub, "secret", p->sec);
    int rc = j && aw_cli_json_print(j, stdout) == 0 ? EX_OK : EX_IOERR;
    json_decref(j);
    return rc;
}

/* Refuses early when a file is there and --force is not given; returns -1 to go on. */
static int s_exists(const s_args *a, const s_paths *p)
{
    struct stat st;
    const char *path = lstat(p->pub, &st) == 0 ? p->pub : lstat(p->sec, &st) == 0 ? p->sec : NULL;
    if (a->force || path == NULL)
        return -1;
    aw_cli_err("%s already exists; not overwriting it", path);
    aw_cli_hint("keep the existing key, choose another NAME or --out, or replace it with "
                "--force (the edge must then get the new secret)");
    return EX_CANTCREAT;
}

/* Says why the out dir cannot be used; returns EX_CANTCREAT. */
static int s_bad_dir(const char *dir)
{
    aw_cli_err("cannot write to '%s': %s", dir, strerror(errno));
    if (errno == ENOENT)
        aw_cli_hint("create it first (mkdir -p %s) or choose another with --out", dir);
    return EX_CANTCREAT;
}

/* Writes and installs the pair; returns an exit code. */
static int s_generate(const s_args *a, s_paths *p)
{
    zcert_t *cert = s_cert(a);
    const char *failed = p->sec;
    int rc = EX_OK;
    if (cert == NULL) {
        aw_cli_err("cannot make a key pair (is libzmq built with CURVE?)");
        return EX_SOFTWARE;
    }
    if (!s_write_tmp(cert, p)) {
        rc = s_bad_dir(a->out);
    } else if ((errno = s_install(p, a->force, &failed)) != 0) {
        aw_cli_err("%s: %s", failed, errno == EEXIST ? "already exists" : strerror(errno));
        if (errno == EEXIST)
            aw_cli_hint("keep the existing key, choose another NAME or --out, or replace it "
                        "with --force (the edge must then get the new secret)");
        rc = EX_CANTCREAT;
    } else {
        s_sync(a->out);
        rc = a->json ? s_report_json(a, p, cert) : (s_report_human(a, p, cert), EX_OK);
    }
    if (p->made_sec)
        unlink(p->tmp_sec); /* ENOENT after a rename: fine */
    if (p->made_pub)
        unlink(p->tmp_pub);
    zcert_destroy(&cert);
    return rc;
}

int aw_cli_keygen(const aw_cli_cmd *cmd, int argc, char **argv)
{
    s_args a;
    int rc = s_parse(cmd, argc, argv, &a);
    if (rc >= 0)
        return rc;
    struct stat st;
    if (stat(a.out, &st) != 0)
        return s_bad_dir(a.out);
    if (!S_ISDIR(st.st_mode)) {
        aw_cli_err("--out '%s' is not a directory", a.out);
        return EX_CANTCREAT;
    }
    s_paths p = {0};
    if (!s_paths_make(&a, &p)) {
        aw_cli_err("--out '%s': path too long or unreadable", a.out);
        return EX_CANTCREAT;
    }
    rc = s_exists(&a, &p);
    return rc >= 0 ? rc : s_generate(&a, &p);
}
