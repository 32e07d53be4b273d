/* cli_show.c: human forms of the center API's JSON answers (pure: JSON in,
 * text out; see cli_show.h). */
#include "cli_show.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli_out.h"
#include "rfc3339.h"

#define S_LABEL "%-10s"

static const char *const s_levels[] = {"red", "orange", "yellow", "blue"};

/* ------------------------------------------------------------ small helpers */

static const char *s_str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s != NULL && *s ? s : "-";
}

static long long s_int(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long long)json_integer_value(v) : (long long)json_number_value(v);
}

/* The style of a colour or level name: red, orange, yellow, blue; green for ok. */
static aw_cli_style s_colour_style(const char *c)
{
    if (c == NULL)
        return AW_CLI_PLAIN;
    if (strcmp(c, "red") == 0)
        return AW_CLI_RED;
    if (strcmp(c, "orange") == 0)
        return AW_CLI_ORANGE;
    if (strcmp(c, "yellow") == 0)
        return AW_CLI_YELLOW;
    if (strcmp(c, "blue") == 0)
        return AW_CLI_BLUE;
    return strcmp(c, "green") == 0 || strcmp(c, "none") == 0 ? AW_CLI_GREEN : AW_CLI_PLAIN;
}

/* Prints @p text in style @p st (no escapes when colours are off or st is plain). */
static void s_styled(FILE *f, aw_cli_style st, const char *text)
{
    if (st != AW_CLI_PLAIN && *aw_cli_sgr(st))
        fprintf(f, "%s%s%s", aw_cli_sgr(st), text, aw_cli_sgr_end());
    else
        fputs(text, f);
}

/* "12s ago" for an RFC 3339 string, @p none for null or absent, the text itself if unparsable. */
static void s_age(const json_t *t, long long now, const char *none, char *buf, size_t len)
{
    int64_t ms;
    const char *s = json_string_value(t);
    if (s == NULL)
        snprintf(buf, len, "%s", none);
    else if (aw_time_parse_rfc3339(s, &ms) != 0)
        snprintf(buf, len, "%s", s);
    else
        aw_cli_fmt_age(now - ms, buf, len);
}

/* "2026-11-30T02:30:00Z (12s ago)" for an RFC 3339 string; "-" for none. */
static void s_when(const json_t *t, long long now, char *buf, size_t len)
{
    int64_t ms;
    char age[48], at[32];
    const char *s = json_string_value(t);
    if (s == NULL || aw_time_parse_rfc3339(s, &ms) != 0) {
        snprintf(buf, len, "%s", s ? s : "-");
        return;
    }
    aw_cli_fmt_time(ms, at, sizeof at);
    aw_cli_fmt_age(now - ms, age, sizeof age);
    snprintf(buf, len, "%s (%s)", at, age);
}

/* A reading's value as text: numbers short ("7.61"), strings as they are, bools. */
static void s_value(const json_t *v, char *buf, size_t len)
{
    if (json_is_integer(v))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%.6g", json_real_value(v));
    else if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
    else
        snprintf(buf, len, "-");
}

/* Prints a table, or @p empty when it has no rows; frees it. */
static void s_table_done(aw_cli_table_t **t, size_t rows, const char *empty, FILE *f)
{
    if (*t != NULL && rows > 0)
        aw_cli_table_print(*t, f);
    else
        fprintf(f, "%s\n", empty);
    aw_cli_table_destroy(t);
}

/* A table of one row per element of an array of the answer. */
typedef struct s_list_spec {
    const char *key;         /* the array's key in the answer */
    const char *const *head; /* the column headers */
    size_t ncols, right;     /* columns; the first right-aligned one (ncols: none) */
    void (*row)(aw_cli_table_t *t, const json_t *e, long long now);
    const char *empty; /* printed instead when there are no rows */
} s_list_spec;

static void s_list(const s_list_spec *spec, const json_t *doc, long long now, FILE *f)
{
    const json_t *list = json_object_get(doc, spec->key);
    aw_cli_table_t *t = NULL;
    size_t i;
    json_t *e;
    if (aw_cli_table_new(spec->head, spec->ncols, &t) != 0)
        return;
    for (size_t c = spec->right; c < spec->ncols; c++)
        aw_cli_table_right(t, c);
    json_array_foreach(list, i, e) spec->row(t, e, now);
    s_table_done(&t, json_array_size(list), spec->empty, f);
}

/* ------------------------------------------------------------ picture */

/* "devices 37/40 online, 2 stale" */
static void s_pic_devices(const json_t *d, FILE *f)
{
    char buf[96];
    long long stale = s_int(d, "stale");
    if (!json_is_object(d) || s_int(d, "total") == 0) {
        fputs("no devices", f);
        return;
    }
    fprintf(f, "devices %lld/%lld online", s_int(d, "online"), s_int(d, "total"));
    snprintf(buf, sizeof buf, "%lld stale", stale);
    if (stale > 0) {
        fputs(", ", f);
        s_styled(f, AW_CLI_YELLOW, buf);
    }
}

/* "alarms 1 red, 1 yellow" or "no alarms" */
static void s_pic_alarms(const json_t *a, FILE *f)
{
    char buf[48];
    const char *sep = "alarms ";
    for (int i = 0; i < 4; i++) {
        long long n = s_int(a, s_levels[i]);
        if (n <= 0)
            continue;
        snprintf(buf, sizeof buf, "%lld %s", n, s_levels[i]);
        fputs(sep, f);
        s_styled(f, s_colour_style(s_levels[i]), buf);
        sep = ", ";
    }
    if (strcmp(sep, "alarms ") == 0)
        fputs("no alarms", f);
}

/* "hazards 3 open (1 major), 1 overdue" or "no open hazards" */
static void s_pic_hazards(const json_t *h, FILE *f)
{
    const json_t *open = json_object_get(h, "open"), *over = json_object_get(h, "overdue");
    long long major = s_int(open, "major"), nopen = s_int(open, "general") + major;
    long long nover = s_int(over, "general") + s_int(over, "major");
    char buf[48];
    if (nopen == 0 && nover == 0) {
        fputs("no open hazards", f);
        return;
    }
    fprintf(f, "hazards %lld open", nopen);
    if (major > 0)
        fprintf(f, " (%lld major)", major);
    if (nover > 0) {
        snprintf(buf, sizeof buf, "%lld overdue", nover);
        fputs(", ", f);
        s_styled(f, AW_CLI_RED, buf);
    }
}

/* "link rongjiawan-1 connected, epoch 3, last contact 12s ago, skew +12ms, backlog 0 urgent, 0
 * bulk"
 */
static void s_pic_link(const json_t *l, long long now, FILE *f)
{
    char age[48], skew[32] = "unknown", u[32], b[32];
    if (!json_is_object(l)) {
        fputs("link no edge serves this zone", f);
        return;
    }
    bool up = json_is_true(json_object_get(l, "connected"));
    const json_t *bl = json_object_get(l, "backlog");
    s_age(json_object_get(l, "last_contact"), now, "never", age, sizeof age);
    if (json_is_integer(json_object_get(l, "skew_ms")))
        aw_cli_fmt_offset(s_int(l, "skew_ms"), skew, sizeof skew);
    aw_cli_fmt_count((uint64_t)s_int(bl, "urgent"), u, sizeof u);
    aw_cli_fmt_count((uint64_t)s_int(bl, "bulk"), b, sizeof b);
    fprintf(f, "link %s ", s_str(l, "edge"));
    s_styled(f, up ? AW_CLI_GREEN : AW_CLI_RED, up ? "connected" : "disconnected");
    fprintf(f, ", epoch %lld, last contact %s, skew %s, backlog %s urgent, %s bulk",
            s_int(l, "epoch"), age, skew, u, b);
}

/* The node's first line: name, path, what it is, its colour. */
static void s_pic_head(const json_t *n, FILE *f)
{
    const char *kind = s_str(n, "kind"), *colour = json_string_value(json_object_get(n, "colour"));
    char label[32] = "OK";
    if (colour != NULL && strcmp(colour, "green") != 0 && strcmp(colour, "none") != 0) {
        size_t i = 0;
        for (; colour[i] && i + 1 < sizeof label; i++)
            label[i] = (char)(colour[i] >= 'a' && colour[i] <= 'z' ? colour[i] - 32 : colour[i]);
        label[i] = '\0';
    }
    fprintf(f, "%s%s%s  %s  ", aw_cli_sgr(AW_CLI_BOLD), s_str(n, "name"), aw_cli_sgr_end(),
            s_str(n, "path"));
    if (strcmp(kind, "zone") == 0 && json_is_string(json_object_get(n, "zone_kind")))
        fprintf(f, "%s  ", s_str(n, "zone_kind"));
    else if (strcmp(kind, "site") == 0)
        fprintf(f, "site, %s, grade %s  ", s_str(n, "sector"), s_str(n, "risk"));
    else
        fprintf(f, "%s  ", kind);
    s_styled(f, colour ? s_colour_style(colour) : AW_CLI_GREEN, label);
    fputc('\n', f);
}

static void s_pic_node(const json_t *n, const char *prefix, bool root, bool last, long long now,
                       FILE *f);

/* The node's detail lines under its head, then its children. */
static void s_pic_body(const json_t *n, const char *inner, long long now, FILE *f)
{
    const json_t *kids = json_object_get(n, "children");
    size_t nk = json_array_size(kids);
    long long below = s_int(n, "children_count");
    const char *bar = nk > 0 ? "│ " : "  ";
    fprintf(f, "%s%s", inner, bar);
    s_pic_devices(json_object_get(n, "devices"), f);
    fputs(" · ", f);
    s_pic_alarms(json_object_get(n, "alarms"), f);
    fputs(" · ", f);
    s_pic_hazards(json_object_get(n, "hazards"), f);
    fputc('\n', f);
    if (strcmp(s_str(n, "kind"), "zone") == 0) {
        fprintf(f, "%s%s", inner, bar);
        s_pic_link(json_object_get(n, "link"), now, f);
        fputc('\n', f);
    }
    if (!json_is_array(kids) && below > 0)
        fprintf(f, "%s%s%s%lld below, not shown (--depth)%s\n", inner, bar, aw_cli_sgr(AW_CLI_DIM),
                below, aw_cli_sgr_end());
    for (size_t i = 0; i < nk; i++)
        s_pic_node(json_array_get(kids, i), inner, false, i + 1 == nk, now, f);
}

static void s_pic_node(const json_t *n, const char *prefix, bool root, bool last, long long now,
                       FILE *f)
{
    char inner[512];
    snprintf(inner, sizeof inner, "%s%s", prefix, root ? "" : last ? "    " : "│   ");
    fprintf(f, "%s%s", prefix, root ? "" : last ? "└── " : "├── ");
    s_pic_head(n, f);
    s_pic_body(n, inner, now, f);
}

void aw_cli_show_picture(const json_t *doc, long long now_ms, FILE *f)
{
    char when[96];
    s_when(json_object_get(doc, "generated"), now_ms, when, sizeof when);
    fprintf(f, "Situational picture at %s, registry version %lld\n\n", when,
            s_int(doc, "registry_version"));
    if (json_is_object(json_object_get(doc, "root")))
        s_pic_node(json_object_get(doc, "root"), "", true, true, now_ms, f);
    else
        fputs("(no picture: the center has no registry yet; anwang registry import FILE)\n", f);
}

/* ------------------------------------------------------------ edges */

static void s_edge_row(aw_cli_table_t *t, const json_t *e, long long now)
{
    char age[48], skew[32] = "-", bl[64], ap[64], poison[24], down[24];
    char bu[24], bb[24], au[24], ab[24];
    bool up = json_is_true(json_object_get(e, "connected"));
    const json_t *b = json_object_get(e, "backlog"), *a = json_object_get(e, "applied");
    s_age(json_object_get(e, "last_contact"), now, "never", age, sizeof age);
    if (json_is_integer(json_object_get(e, "skew_ms")))
        aw_cli_fmt_offset(s_int(e, "skew_ms"), skew, sizeof skew);
    aw_cli_fmt_count((uint64_t)s_int(b, "urgent"), bu, sizeof bu);
    aw_cli_fmt_count((uint64_t)s_int(b, "bulk"), bb, sizeof bb);
    aw_cli_fmt_count((uint64_t)s_int(a, "urgent"), au, sizeof au);
    aw_cli_fmt_count((uint64_t)s_int(a, "bulk"), ab, sizeof ab);
    snprintf(bl, sizeof bl, "%s / %s", bu, bb);
    snprintf(ap, sizeof ap, "%s / %s", au, ab);
    snprintf(poison, sizeof poison, "%lld", s_int(e, "poison"));
    snprintf(down, sizeof down, "%lld", s_int(e, "down_pending"));
    char epoch[24];
    snprintf(epoch, sizeof epoch, "%lld", s_int(e, "epoch"));
    const char *cells[] = {s_str(e, "edge"),
                           s_str(e, "zone"),
                           up ? "up" : "down",
                           epoch,
                           age,
                           skew,
                           bl,
                           ap,
                           poison,
                           down};
    aw_cli_style st[10] = {0};
    st[2] = up ? AW_CLI_GREEN : AW_CLI_RED;
    st[6] = s_int(b, "urgent") > 0 ? AW_CLI_RED : s_int(b, "bulk") > 0 ? AW_CLI_YELLOW : 0;
    st[8] = s_int(e, "poison") > 0 ? AW_CLI_RED : 0;
    aw_cli_table_add(t, cells, st);
}

void aw_cli_show_edges(const json_t *doc, long long now_ms, FILE *f)
{
    static const char *const h[] = {"EDGE", "ZONE",        "LINK",        "EPOCH",  "LAST CONTACT",
                                    "SKEW", "BACKLOG U/B", "APPLIED U/B", "POISON", "DOWN PENDING"};
    static const char none[] = "no edges known to the center yet";
    static const s_list_spec spec = {"edges", h, 10, 3, s_edge_row, none};
    s_list(&spec, doc, now_ms, f);
}

/* ------------------------------------------------------------ device */

static void s_device_latest(const json_t *latest, long long now, FILE *f)
{
    static const char *const h[] = {"METRIC", "VALUE", "UNIT", "TIME", "EDGE"};
    aw_cli_table_t *t = NULL;
    const char *k;
    json_t *v;
    if (aw_cli_table_new(h, 5, &t) != 0)
        return;
    aw_cli_table_right(t, 1);
    json_object_foreach((json_t *)latest, k, v)
    {
        char val[64], when[96];
        s_value(json_object_get(v, "value"), val, sizeof val);
        s_when(json_object_get(v, "time"), now, when, sizeof when);
        const char *cells[] = {k, val, s_str(v, "unit"), when, s_str(v, "edge")};
        aw_cli_table_add(t, cells, NULL);
    }
    s_table_done(&t, json_object_size(latest), "no readings yet", f);
}

static void s_device_history(const json_t *hist, FILE *f)
{
    static const char *const h[] = {"TIME", "VALUE"};
    const char *k;
    json_t *pts;
    json_object_foreach((json_t *)hist, k, pts)
    {
        aw_cli_table_t *t = NULL;
        size_t i;
        json_t *p;
        fprintf(f, "\n%sHistory of %s%s (%zu, newest first)\n", aw_cli_sgr(AW_CLI_BOLD), k,
                aw_cli_sgr_end(), json_array_size(pts));
        if (aw_cli_table_new(h, 2, &t) != 0)
            return;
        aw_cli_table_right(t, 1);
        json_array_foreach(pts, i, p)
        {
            char val[64];
            s_value(json_object_get(p, "value"), val, sizeof val);
            const char *cells[] = {s_str(p, "time"), val};
            aw_cli_table_add(t, cells, NULL);
        }
        s_table_done(&t, json_array_size(pts), "(none)", f);
    }
}

void aw_cli_show_device(const json_t *doc, long long now_ms, FILE *f)
{
    const char *state = s_str(doc, "state");
    char when[96];
    aw_cli_style st = strcmp(state, "online") == 0  ? AW_CLI_GREEN
                      : strcmp(state, "stale") == 0 ? AW_CLI_YELLOW
                                                    : AW_CLI_DIM;
    fprintf(f, "%sDevice %s%s  %s  ", aw_cli_sgr(AW_CLI_BOLD), s_str(doc, "id"), aw_cli_sgr_end(),
            s_str(doc, "kind"));
    s_styled(f, st, state);
    fputc('\n', f);
    s_when(json_object_get(doc, "last_seen"), now_ms, when, sizeof when);
    fprintf(f, S_LABEL " %s\n" S_LABEL " %s\n", "site", s_str(doc, "site"), "zone",
            s_str(doc, "zone"));
    fprintf(f, S_LABEL " %llds\n" S_LABEL " %s\n\n", "interval", s_int(doc, "interval_s"),
            "last seen", json_is_string(json_object_get(doc, "last_seen")) ? when : "never");
    s_device_latest(json_object_get(doc, "latest"), now_ms, f);
    s_device_history(json_object_get(doc, "history"), f);
}

/* ------------------------------------------------------------ alarms */

static void s_alarm_row(aw_cli_table_t *t, const json_t *a, long long now)
{
    char val[64], thr[64], vt[140], since[48], state[256], what[256];
    s_value(json_object_get(a, "value"), val, sizeof val);
    s_value(json_object_get(a, "threshold"), thr, sizeof thr);
    snprintf(vt, sizeof vt, "%s %s %s", val, strcmp(s_str(a, "direction"), "low") == 0 ? "<" : ">",
             thr);
    s_age(json_object_get(a, "since"), now, "-", since, sizeof since);
    bool active = json_is_true(json_object_get(a, "active"));
    bool acked = json_is_true(json_object_get(a, "acknowledged"));
    if (acked)
        snprintf(state, sizeof state, "%s, acked by %s", active ? "active" : "cleared",
                 s_str(a, "ack_by"));
    else
        snprintf(state, sizeof state, "%s", active ? "active, not acked" : "cleared");
    snprintf(what, sizeof what, "%s/%s", s_str(a, "device"), s_str(a, "metric"));
    const char *cells[] = {s_str(a, "id"), s_str(a, "level"), s_str(a, "site"), what, vt, since,
                           state};
    aw_cli_style st[7] = {0};
    st[1] = s_colour_style(json_string_value(json_object_get(a, "level")));
    st[6] = active && !acked ? AW_CLI_BOLD : active ? AW_CLI_PLAIN : AW_CLI_DIM;
    aw_cli_table_add(t, cells, st);
}

void aw_cli_show_alarms(const json_t *doc, long long now_ms, FILE *f)
{
    static const char *const h[] = {"ID",    "LEVEL", "SITE", "DEVICE/METRIC",
                                    "VALUE", "SINCE", "STATE"};
    static const s_list_spec spec = {"alarms", h, 7, 7, s_alarm_row, "no alarms"};
    s_list(&spec, doc, now_ms, f);
}

void aw_cli_show_ack(const json_t *doc, long long now_ms, FILE *f)
{
    fprintf(f, "Acknowledgement of alarm %s queued for edge %s (by %s).\n", s_str(doc, "id"),
            s_str(doc, "edge"), s_str(doc, "by"));
    fprintf(f, "The edge confirms it when it gets it: 'anwang alarms' then shows it acked.\n");
}

/* ------------------------------------------------------------ hazards */

/* The hazard's unit, person or deadline: in "assignment" (hazard_json.h) or top level. */
static const json_t *s_assigned(const json_t *h, const char *k)
{
    const json_t *a = json_object_get(h, "assignment");
    const json_t *v = json_is_object(a) ? json_object_get(a, k) : NULL;
    return v != NULL ? v : json_object_get(h, k);
}

/* "2026-12-31T00:00:00Z (in 3d 2h)" or "... OVERDUE"; "-" when there is none. */
static void s_deadline(const json_t *h, long long now, char *buf, size_t len)
{
    const json_t *d = s_assigned(h, "deadline");
    bool over = json_is_true(json_object_get(h, "overdue"));
    char when[96];
    if (!json_is_string(d)) {
        snprintf(buf, len, "-");
        return;
    }
    s_when(d, now, when, sizeof when);
    snprintf(buf, len, "%s%s", when, over ? " OVERDUE" : "");
}

static void s_hazard_row(aw_cli_table_t *t, const json_t *h, long long now)
{
    char dl[128];
    const char *unit = json_string_value(s_assigned(h, "unit"));
    bool over = json_is_true(json_object_get(h, "overdue"));
    s_deadline(h, now, dl, sizeof dl);
    const char *cells[] = {s_str(h, "id"),   s_str(h, "level"), s_str(h, "status"),
                           s_str(h, "site"), s_str(h, "title"), dl,
                           unit ? unit : "-"};
    aw_cli_style st[7] = {0};
    st[1] = strcmp(s_str(h, "level"), "major") == 0 ? AW_CLI_RED : AW_CLI_PLAIN;
    st[2] = strcmp(s_str(h, "status"), "closed") == 0 ? AW_CLI_GREEN : AW_CLI_PLAIN;
    st[5] = over ? AW_CLI_RED : AW_CLI_PLAIN;
    aw_cli_table_add(t, cells, st);
}

void aw_cli_show_hazards(const json_t *doc, long long now_ms, FILE *f)
{
    static const char *const h[] = {"ID", "LEVEL", "STATUS", "SITE", "TITLE", "DEADLINE", "UNIT"};
    static const s_list_spec spec = {"hazards", h, 7, 7, s_hazard_row, "no hazards match"};
    s_list(&spec, doc, now_ms, f);
}

/* What an event carries besides its head: "unit U, person P, deadline D", "ok", ... */
static void s_event_details(const json_t *e, char *buf, size_t len)
{
    static const char *const keys[] = {"title", "unit",     "person", "deadline", "evidence",
                                       "ok",    "audience", "text",   "note"};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && used < len; i++) {
        const json_t *v = json_object_get(e, keys[i]);
        char val[256];
        if (v == NULL || json_is_null(v))
            continue;
        s_value(v, val, sizeof val);
        int n = snprintf(buf + used, len - used, "%s%s %s", used ? ", " : "", keys[i], val);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used >= len && len > 4)
        memcpy(buf + len - 4, "...", 4);
}

static void s_ledger(const json_t *ledger, FILE *f)
{
    static const char *const h[] = {"#", "TIME", "OP", "BY", "ORIGIN", "DETAILS", "RESULT"};
    aw_cli_table_t *t = NULL;
    size_t i, rejected = 0;
    json_t *e;
    json_array_foreach(ledger, i, e) rejected += json_is_false(json_object_get(e, "accepted"));
    fprintf(f, "\n%sLedger%s: %zu events, %zu rejected\n", aw_cli_sgr(AW_CLI_BOLD),
            aw_cli_sgr_end(), json_array_size(ledger), rejected);
    if (aw_cli_table_new(h, 7, &t) != 0)
        return;
    aw_cli_table_right(t, 0);
    json_array_foreach(ledger, i, e)
    {
        char n[24], det[300], res[300];
        bool ok = !json_is_false(json_object_get(e, "accepted"));
        const char *at =
            json_is_string(json_object_get(e, "at")) ? s_str(e, "at") : s_str(e, "time");
        snprintf(n, sizeof n, "%zu", i + 1);
        s_event_details(e, det, sizeof det);
        snprintf(res, sizeof res, "%s%s",
                 ok ? "accepted" : "rejected: ", ok ? "" : s_str(e, "reason"));
        const char *cells[] = {n, at, s_str(e, "op"), s_str(e, "by"), s_str(e, "origin"), det, res};
        aw_cli_style st[7] = {0};
        st[6] = ok ? AW_CLI_PLAIN : AW_CLI_RED;
        aw_cli_table_add(t, cells, st);
    }
    s_table_done(&t, json_array_size(ledger), "(empty)", f);
}

void aw_cli_show_hazard(const json_t *h, long long now_ms, FILE *f)
{
    char dl[128], when[96];
    bool major = strcmp(s_str(h, "level"), "major") == 0;
    fprintf(f, "%sHazard %s%s  ", aw_cli_sgr(AW_CLI_BOLD), s_str(h, "id"), aw_cli_sgr_end());
    s_styled(f, major ? AW_CLI_RED : AW_CLI_PLAIN, s_str(h, "level"));
    fprintf(f, "  %s", s_str(h, "status"));
    if (json_is_true(json_object_get(h, "overdue"))) {
        fputs("  ", f);
        s_styled(f, AW_CLI_RED, "OVERDUE");
    }
    s_when(json_object_get(h, "reported_at"), now_ms, when, sizeof when);
    fprintf(f, "\n" S_LABEL " %s\n" S_LABEL " %s (%s)\n", "title", s_str(h, "title"), "site",
            s_str(h, "site"), s_str(h, "sector"));
    fprintf(f, S_LABEL " %s, reported by %s at %s\n", "source", s_str(h, "source"),
            s_str(h, "reporter"), when);
    if (json_is_string(json_object_get(h, "description")))
        fprintf(f, S_LABEL " %s\n", "details", s_str(h, "description"));
    if (json_is_string(s_assigned(h, "unit"))) {
        s_deadline(h, now_ms, dl, sizeof dl);
        fprintf(f, S_LABEL " %s, %s, deadline %s\n", "assigned",
                json_string_value(s_assigned(h, "unit")),
                json_is_string(s_assigned(h, "person")) ? json_string_value(s_assigned(h, "person"))
                                                        : "-",
                dl);
    }
    if (json_is_string(json_object_get(h, "evidence")))
        fprintf(f, S_LABEL " %s\n", "evidence", s_str(h, "evidence"));
    if (json_is_string(json_object_get(h, "closed_at")))
        fprintf(f, S_LABEL " %s\n", "closed", s_str(h, "closed_at"));
    if (major)
        fprintf(f, S_LABEL " 双报告 %s\n", "dual",
                json_is_true(json_object_get(h, "dual_reported"))
                    ? "done (safety bureau and sector department notified)"
                    : "not yet");
    if (json_is_array(json_object_get(h, "ledger")))
        s_ledger(json_object_get(h, "ledger"), f);
}

/* ------------------------------------------------------------ status, registry */

void aw_cli_show_status(const json_t *doc, long long now_ms, FILE *f)
{
    const json_t *e = json_object_get(doc, "edges"), *s = json_object_get(doc, "store");
    const json_t *h = json_object_get(doc, "hazards"), *a = json_object_get(doc, "alarms");
    char when[96], used[24], map[24], buf[48];
    long long known = s_int(e, "known"), conn = s_int(e, "connected");
    s_when(json_object_get(doc, "started"), now_ms, when, sizeof when);
    fprintf(f, "%sCenter %s%s  version %s  started %s\n", aw_cli_sgr(AW_CLI_BOLD),
            s_str(doc, "name"), aw_cli_sgr_end(), s_str(doc, "version"), when);
    if (json_is_integer(json_object_get(doc, "registry_version")))
        fprintf(f, S_LABEL " version %lld\n", "registry", s_int(doc, "registry_version"));
    else
        fprintf(f, S_LABEL " none imported yet (anwang registry import FILE)\n", "registry");
    snprintf(buf, sizeof buf, "%lld connected", conn);
    fprintf(f, S_LABEL " %lld known, ", "edges", known);
    s_styled(f, conn < known ? AW_CLI_YELLOW : AW_CLI_GREEN, buf);
    fputc('\n', f);
    aw_cli_fmt_bytes((uint64_t)s_int(s, "used_bytes"), used, sizeof used);
    aw_cli_fmt_bytes((uint64_t)s_int(s, "map_bytes"), map, sizeof map);
    fprintf(f, S_LABEL " %s used of a %s map\n", "store", used, map);
    snprintf(buf, sizeof buf, "%lld overdue", s_int(h, "overdue"));
    fprintf(f, S_LABEL " %lld open, ", "hazards", s_int(h, "open"));
    s_styled(f, s_int(h, "overdue") > 0 ? AW_CLI_RED : AW_CLI_PLAIN, buf);
    fprintf(f, "\n" S_LABEL " %lld active\n", "alarms", s_int(a, "active"));
}

void aw_cli_show_registry_stored(const json_t *doc, long long now_ms, FILE *f)
{
    fprintf(f, "Registry version %lld stored: %lld zones, queued to %lld edges.\n",
            s_int(doc, "version"), s_int(doc, "zones"), s_int(doc, "edges_pushed"));
}

/* ------------------------------------------------------------ alerts */

/* The "area" array joined with ", " into @p buf. */
static void s_area(const json_t *area, char *buf, size_t len)
{
    size_t i, used = 0;
    json_t *a;
    buf[0] = '\0';
    json_array_foreach(area, i, a)
    {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
                         json_is_string(a) ? json_string_value(a) : "?");
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(buf, len, "-");
}

static void s_alert_row(aw_cli_table_t *t, const json_t *a, long long now)
{
    char area[256], sent[48];
    bool cancelled = json_is_true(json_object_get(a, "cancelled"));
    const char *status = s_str(a, "status");
    const char *id =
        json_is_string(json_object_get(a, "id")) ? s_str(a, "id") : s_str(a, "identifier");
    s_area(json_object_get(a, "area"), area, sizeof area);
    s_age(json_object_get(a, "sent"), now, "-", sent, sizeof sent);
    const char *cells[] = {id,
                           status,
                           s_str(a, "msgType"),
                           s_str(a, "event"),
                           s_str(a, "severity"),
                           area,
                           sent,
                           cancelled ? "cancelled" : "active"};
    aw_cli_style st[8] = {0};
    st[1] = strcmp(status, "Actual") == 0 ? AW_CLI_RED : AW_CLI_YELLOW;
    st[7] = cancelled ? AW_CLI_DIM : AW_CLI_PLAIN;
    aw_cli_table_add(t, cells, st);
}

void aw_cli_show_alerts(const json_t *doc, long long now_ms, FILE *f)
{
    static const char *const h[] = {"ID",       "STATUS", "TYPE", "EVENT",
                                    "SEVERITY", "AREA",   "SENT", "STATE"};
    static const s_list_spec spec = {"alerts", h, 8, 8, s_alert_row, "no alerts"};
    s_list(&spec, doc, now_ms, f);
}

/* "targeted 3, reached 2, failed 1" */
static void s_report_counts(const char *label, const json_t *c, FILE *f)
{
    fprintf(f, "  " S_LABEL " targeted %lld, reached %lld, ", label, s_int(c, "targeted"),
            s_int(c, "reached"));
    char buf[32];
    snprintf(buf, sizeof buf, "failed %lld", s_int(c, "failed"));
    s_styled(f, s_int(c, "failed") > 0 ? AW_CLI_RED : AW_CLI_PLAIN, buf);
    fputc('\n', f);
}

/* The first @p max strings of @p arr joined with ", ", then "(+N more; --json
 * lists all)" when there are more. */
static void s_first(const json_t *arr, size_t max, char *buf, size_t len)
{
    size_t n = json_array_size(arr), used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < max; i++) {
        const char *v = json_string_value(json_array_get(arr, i));
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", v ? v : "?");
        if (w < 0 || (size_t)w >= len - used)
            return;
        used += (size_t)w;
    }
    if (n > max)
        snprintf(buf + used, len - used, " (+%zu more; --json lists all)", n - max);
}

/* "180ms" for an integer, "-" for null (no device acknowledged yet). */
static void s_ms(const json_t *v, char *buf, size_t len)
{
    if (json_is_integer(v))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT "ms", json_integer_value(v));
    else
        snprintf(buf, len, "-");
}

/* One line per failed delivery: device, edge, attempts, detail. */
static void s_failures(const json_t *list, FILE *f)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (i == 8) {
            fprintf(f, "  %-10s +%zu more; --json lists all\n", "", json_array_size(list) - i);
            return;
        }
        fprintf(f, "  %-10s %s via %s after %lld attempts: ", i ? "" : "failures",
                s_str(e, "device"), s_str(e, "edge"), s_int(e, "attempts"));
        s_styled(f, AW_CLI_RED, s_str(e, "detail"));
        fputc('\n', f);
    }
}

static void s_report(const json_t *r, FILE *f)
{
    const json_t *lat = json_object_get(r, "latency_ms"), *un = json_object_get(r, "unreached");
    char p50[32], p99[32], mx[32], list[512];
    fprintf(f, "\n%sDelivery report%s\n", aw_cli_sgr(AW_CLI_BOLD), aw_cli_sgr_end());
    s_report_counts("edges", json_object_get(r, "edges"), f);
    s_report_counts("devices", json_object_get(r, "devices"), f);
    s_ms(json_object_get(lat, "p50"), p50, sizeof p50);
    s_ms(json_object_get(lat, "p99"), p99, sizeof p99);
    s_ms(json_object_get(lat, "max"), mx, sizeof mx);
    fprintf(f, "  " S_LABEL " p50 %s, p99 %s, max %s (issue to device ack)\n", "latency", p50, p99,
            mx);
    s_first(un, 8, list, sizeof list);
    fprintf(f, "  " S_LABEL " ", "unreached");
    s_styled(f, json_array_size(un) > 0 ? AW_CLI_RED : AW_CLI_PLAIN,
             json_array_size(un) > 0 ? list : "none");
    fputc('\n', f);
    s_failures(json_object_get(r, "failures"), f);
}

void aw_cli_show_alert(const json_t *a, long long now_ms, FILE *f)
{
    static const char *const keys[] = {"event",     "headline",     "description", "instruction",
                                       "urgency",   "severity",     "certainty",   "scope",
                                       "sender",    "sent",         "expires",     "plan",
                                       "issued_by", "cancelled_at", "cancelled_by"};
    char area[512];
    const char *id =
        json_is_string(json_object_get(a, "id")) ? s_str(a, "id") : s_str(a, "identifier");
    const char *status = s_str(a, "status");
    fprintf(f, "%sAlert %s%s  ", aw_cli_sgr(AW_CLI_BOLD), id, aw_cli_sgr_end());
    s_styled(f, strcmp(status, "Actual") == 0 ? AW_CLI_RED : AW_CLI_YELLOW, status);
    fprintf(f, "  %s%s\n", s_str(a, "msgType"),
            json_is_true(json_object_get(a, "cancelled")) ? "  CANCELLED" : "");
    s_area(json_object_get(a, "area"), area, sizeof area);
    fprintf(f, "%-12s %s\n", "area", area);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_is_string(json_object_get(a, keys[i])))
            fprintf(f, "%-12s %s\n", keys[i], s_str(a, keys[i]));
    if (json_array_size(json_object_get(a, "references")) > 0) {
        s_area(json_object_get(a, "references"), area, sizeof area);
        fprintf(f, "%-12s %s\n", "references", area);
    }
    if (json_is_object(json_object_get(a, "report")))
        s_report(json_object_get(a, "report"), f);
}
