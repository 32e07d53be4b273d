/* cli_out.c: colours, tables, JSON and human forms for the anwang CLI. */
#include "cli_out.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool s_color;

void aw_cli_out_init(aw_cli_color_mode mode)
{
    const char *term = getenv("TERM");
    const char *no_color = getenv("NO_COLOR");
    if (mode == AW_CLI_COLOR_ALWAYS)
        s_color = true;
    else if (mode == AW_CLI_COLOR_NEVER)
        s_color = false;
    else
        s_color = isatty(STDOUT_FILENO) && (no_color == NULL || *no_color == '\0') &&
                  (term == NULL || strcmp(term, "dumb") != 0);
}

bool aw_cli_color_parse(const char *text, aw_cli_color_mode *out)
{
    static const char *const names[] = {"auto", "always", "never"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (aw_cli_color_mode)i;
            return true;
        }
    }
    return false;
}

bool aw_cli_out_color(void)
{
    return s_color;
}

const char *aw_cli_sgr(aw_cli_style s)
{
    static const char *const codes[] = {"",        "\033[32m", "\033[31m",       "\033[33m",
                                        "\033[1m", "\033[2m",  "\033[38;5;208m", "\033[34m"};
    if (!s_color || s < AW_CLI_PLAIN || s > AW_CLI_BLUE)
        return "";
    return codes[s];
}

const char *aw_cli_sgr_end(void)
{
    return s_color ? "\033[0m" : "";
}

void aw_cli_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("anwang: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void aw_cli_hint(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("  hint: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ------------------------------------------------------------ tables */

struct aw_cli_table {
    size_t ncols, nrows, cap;
    char **cells;         /* nrows+1 rows (headers first) × ncols */
    aw_cli_style *styles; /* same shape */
    bool *right;          /* per column */
};

/* Appends one row (cells copied); row 0 is the headers. */
static int s_row(aw_cli_table_t *t, const char *const *cells, const aw_cli_style *styles)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        char **c = realloc(t->cells, cap * t->ncols * sizeof *c);
        if (c == NULL)
            return -1;
        t->cells = c;
        aw_cli_style *s = realloc(t->styles, cap * t->ncols * sizeof *s);
        if (s == NULL)
            return -1;
        t->styles = s;
        t->cap = cap;
    }
    size_t base = t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        t->cells[base + i] = strdup(cells[i] ? cells[i] : "");
        t->styles[base + i] = styles ? styles[i] : AW_CLI_PLAIN;
        if (t->cells[base + i] == NULL) {
            for (size_t j = 0; j < i; j++)
                free(t->cells[base + j]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

int aw_cli_table_new(const char *const *headers, size_t ncols, aw_cli_table_t **out)
{
    aw_cli_table_t *t = calloc(1, sizeof *t);
    if (t == NULL || (t->right = calloc(ncols, sizeof *t->right)) == NULL) {
        free(t);
        return -1;
    }
    t->ncols = ncols;
    if (s_row(t, headers, NULL) != 0) {
        aw_cli_table_destroy(&t);
        return -1;
    }
    *out = t;
    return 0;
}

void aw_cli_table_destroy(aw_cli_table_t **self_p)
{
    aw_cli_table_t *t = self_p ? *self_p : NULL;
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->styles);
    free(t->right);
    free(t);
    *self_p = NULL;
}

void aw_cli_table_right(aw_cli_table_t *self, size_t col)
{
    if (col < self->ncols)
        self->right[col] = true;
}

int aw_cli_table_add(aw_cli_table_t *self, const char *const *cells, const aw_cli_style *styles)
{
    return s_row(self, cells, styles);
}

/* Decodes one UTF-8 sequence at *p (advancing it); malformed bytes count as one. */
static uint32_t s_utf8_next(const unsigned char **p)
{
    const unsigned char *s = *p;
    int n = s[0] < 0x80 ? 0 : s[0] >= 0xF0 ? 3 : s[0] >= 0xE0 ? 2 : s[0] >= 0xC0 ? 1 : 0;
    uint32_t cp = n == 0 ? s[0] : (uint32_t)(s[0] & (0x3F >> n));
    int i = 1;
    for (; i <= n && (s[i] & 0xC0) == 0x80; i++)
        cp = (cp << 6) | (s[i] & 0x3F);
    *p = s + (i <= n ? 1 : i);
    return i <= n ? s[0] : cp;
}

/* True for the East Asian wide ranges that terminals show in two columns. */
static bool s_wide(uint32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
           (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
           (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
}

size_t aw_cli_width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp = s_utf8_next(&p);
        w += s_wide(cp) ? 2 : 1;
    }
    return w;
}

/* Prints one cell padded to @p width; the last column is not padded on the right. */
static void s_cell(const aw_cli_table_t *t, size_t r, size_t c, size_t width, FILE *f)
{
    const char *text = t->cells[r * t->ncols + c];
    aw_cli_style st = r == 0 ? AW_CLI_BOLD : t->styles[r * t->ncols + c];
    size_t pad = width - aw_cli_width(text);
    bool last = c + 1 == t->ncols;
    if (t->right[c])
        fprintf(f, "%*s", (int)pad, "");
    if (st != AW_CLI_PLAIN && *aw_cli_sgr(st))
        fprintf(f, "%s%s%s", aw_cli_sgr(st), text, aw_cli_sgr_end());
    else
        fputs(text, f);
    if (!t->right[c] && !last)
        fprintf(f, "%*s", (int)pad, "");
    if (!last)
        fputs("  ", f);
}

void aw_cli_table_print(const aw_cli_table_t *self, FILE *f)
{
    size_t *w = calloc(self->ncols, sizeof *w);
    if (w == NULL)
        return;
    for (size_t r = 0; r < self->nrows; r++)
        for (size_t c = 0; c < self->ncols; c++) {
            size_t cw = aw_cli_width(self->cells[r * self->ncols + c]);
            w[c] = cw > w[c] ? cw : w[c];
        }
    for (size_t r = 0; r < self->nrows; r++) {
        for (size_t c = 0; c < self->ncols; c++)
            s_cell(self, r, c, w[c], f);
        fputc('\n', f);
    }
    free(w);
}

/* ------------------------------------------------------------ JSON */

int aw_cli_json_print(const json_t *j, FILE *f)
{
    if (json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
        return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}

/* ------------------------------------------------------------ human forms */

int64_t aw_cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void aw_cli_fmt_time(int64_t ms, char *buf, size_t len)
{
    struct tm tm;
    time_t t = (time_t)(ms / 1000);
    if (ms == 0 || gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "%s", "");
}

void aw_cli_fmt_span(int64_t s, char *buf, size_t len)
{
    if (s < 60)
        snprintf(buf, len, "%" PRId64 "s", s);
    else if (s < 3600)
        snprintf(buf, len, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, len, "%" PRId64 "h %" PRId64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, len, "%" PRId64 "d %" PRId64 "h", s / 86400, s % 86400 / 3600);
}

void aw_cli_fmt_age(int64_t age_ms, char *buf, size_t len)
{
    char span[48];
    if (age_ms > -1000 && age_ms < 1000) {
        snprintf(buf, len, "just now");
        return;
    }
    aw_cli_fmt_span((age_ms < 0 ? -age_ms : age_ms) / 1000, span, sizeof span);
    snprintf(buf, len, age_ms < 0 ? "in %s" : "%s ago", span);
}

void aw_cli_fmt_offset(int64_t ms, char *buf, size_t len)
{
    char span[48];
    char sign = ms < 0 ? '-' : '+';
    uint64_t a = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    if (a < 1000)
        snprintf(buf, len, "%c%" PRIu64 "ms", sign, a);
    else if (a < 60000)
        snprintf(buf, len, "%c%" PRIu64 ".%" PRIu64 "s", sign, a / 1000, a % 1000 / 100);
    else {
        aw_cli_fmt_span((int64_t)(a / 1000), span, sizeof span);
        snprintf(buf, len, "%c%s", sign, span);
    }
}

void aw_cli_fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        snprintf(buf, len, "%" PRIu64 " B", bytes);
        return;
    }
    double v = (double)bytes / 1024;
    int u = 0;
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, "%.1f %s", v, units[u]);
}

void aw_cli_fmt_count(uint64_t n, char *buf, size_t len)
{
    char digits[24];
    int nd = snprintf(digits, sizeof digits, "%" PRIu64, n);
    char out[32];
    size_t o = 0;
    for (int i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    snprintf(buf, len, "%s", out);
}
