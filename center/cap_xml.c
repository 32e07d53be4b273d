/* cap_xml.c: CAP 1.2 XML of an alert. Written with a memory stream; the
 * element order is the one the CAP 1.2 schema fixes. */
#include "cap_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfc3339.h"

const char *aw_cap_status_name(Anwang__AlertStatus s)
{
    static const char *const names[] = {"Actual", "Exercise", "Test"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *aw_cap_msgtype_name(Anwang__AlertMsgType t)
{
    static const char *const names[] = {"Alert", "Update", "Cancel"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

int aw_cap_time(int64_t ms, char buf[AW_CAP_TIME_LEN])
{
    char t[AW_RFC3339_LEN];
    int rv = aw_time_format_rfc3339(ms, t); /* YYYY-MM-DDThh:mm:ss.mmmZ */
    if (rv != AW_OK) {
        buf[0] = '\0';
        return rv;
    }
    snprintf(buf, AW_CAP_TIME_LEN, "%.19s+00:00", t);
    return AW_OK;
}

/* Writes @p s with the five XML special characters escaped. */
static void s_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        case '\r': /* a raw CR would be read back as LF */
            fputs("&#13;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* <name>text</name> on its own line at @p indent; nothing when @p text is NULL. */
static void s_elem(FILE *f, int indent, const char *name, const char *text)
{
    if (text == NULL)
        return;
    fprintf(f, "%*s<%s>", indent, "", name);
    s_text(f, text);
    fprintf(f, "</%s>\n", name);
}

static void s_time_elem(FILE *f, int indent, const char *name, int64_t ms)
{
    char t[AW_CAP_TIME_LEN];
    if (aw_cap_time(ms, t) == AW_OK)
        s_elem(f, indent, name, t);
}

/* <references>: whitespace-separated "sender,identifier,sent" triples. */
static void s_references(FILE *f, const aw_cap_ref *refs, size_t n)
{
    if (n == 0)
        return;
    fputs("  <references>", f);
    for (size_t i = 0; i < n; i++) {
        char t[AW_CAP_TIME_LEN];
        aw_cap_time(refs[i].sent_ms, t);
        fputs(i ? " " : "", f);
        s_text(f, refs[i].sender);
        fputc(',', f);
        s_text(f, refs[i].identifier);
        fprintf(f, ",%s", t);
    }
    fputs("</references>\n", f);
}

/* What CAP requires with a scope: <restriction> (Restricted), <addresses> (Private). */
static void s_scope(FILE *f, const Anwang__Alert *a)
{
    const char *scope = a->scope ? a->scope : "Public";
    s_elem(f, 2, "scope", scope);
    if (strcmp(scope, "Restricted") == 0)
        s_elem(f, 2, "restriction", "county work-safety network (anwang) only");
    if (strcmp(scope, "Private") == 0 && a->n_area > 0) {
        fputs("  <addresses>", f);
        for (size_t i = 0; i < a->n_area; i++) {
            fputs(i ? " " : "", f);
            s_text(f, a->area[i]);
        }
        fputs("</addresses>\n", f);
    }
}

static void s_info(FILE *f, const Anwang__Alert *a)
{
    fputs("  <info>\n", f);
    s_elem(f, 4, "category", "Safety");
    s_elem(f, 4, "event", a->event);
    s_elem(f, 4, "urgency", a->urgency ? a->urgency : "Unknown");
    s_elem(f, 4, "severity", a->severity ? a->severity : "Unknown");
    s_elem(f, 4, "certainty", a->certainty ? a->certainty : "Unknown");
    if (a->has_expires_ms)
        s_time_elem(f, 4, "expires", a->expires_ms);
    s_elem(f, 4, "headline", a->headline);
    s_elem(f, 4, "description", a->description);
    s_elem(f, 4, "instruction", a->instruction);
    if (a->plan_id != NULL) {
        fputs("    <parameter>\n", f);
        s_elem(f, 6, "valueName", "anwang-plan");
        s_elem(f, 6, "value", a->plan_id);
        fputs("    </parameter>\n", f);
    }
    for (size_t i = 0; i < a->n_area; i++) {
        fputs("    <area>\n", f);
        s_elem(f, 6, "areaDesc", a->area[i]);
        fputs("      <geocode>\n", f);
        s_elem(f, 8, "valueName", "anwang-grid-path");
        s_elem(f, 8, "value", a->area[i]);
        fputs("      </geocode>\n    </area>\n", f);
    }
    fputs("  </info>\n", f);
}

int aw_cap_xml(const Anwang__Alert *a, const aw_cap_ref *refs, size_t n_refs, char **xml)
{
    char *buf = NULL;
    size_t len = 0;
    *xml = NULL;
    if (a == NULL || a->identifier == NULL || a->sender == NULL || a->event == NULL)
        return AW_EINVAL;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return AW_ENOMEM;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n",
          f);
    s_elem(f, 2, "identifier", a->identifier);
    s_elem(f, 2, "sender", a->sender);
    s_time_elem(f, 2, "sent", a->sent_ms);
    s_elem(f, 2, "status", aw_cap_status_name(a->status));
    s_elem(f, 2, "msgType", aw_cap_msgtype_name(a->msg_type));
    s_scope(f, a);
    s_references(f, refs, n_refs);
    s_info(f, a);
    fputs("</alert>\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(buf);
        return AW_ENOMEM;
    }
    *xml = buf;
    return AW_OK;
}
