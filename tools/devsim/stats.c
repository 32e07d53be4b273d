#include "stats.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

#define S_SUCCESS 0x44 /* 2.04 Changed */

static const char *const s_fail_names[AW_SIM_FAIL_KINDS] = {"timeout", "rst", "dtls-failed",
                                                            "undeliverable", "send-error"};

void aw_sim_stats_init(aw_sim_stats *s, int64_t now_ns)
{
    memset(s, 0, sizeof *s);
    s->start_ns = s->last_ns = now_ns;
}

static void s_add(aw_sim_count *c, size_t readings)
{
    c->req++;
    c->rdg += readings;
}

void aw_sim_stats_sent(aw_sim_stats *s, size_t readings)
{
    s_add(&s->sent, readings);
    s->inflight++;
}

void aw_sim_stats_response(aw_sim_stats *s, unsigned code, size_t readings, int64_t latency_ns)
{
    s->inflight--;
    s->events++;
    aw_sim_hist_add(&s->latency, latency_ns > 0 ? (uint64_t)latency_ns / 1000 : 0);
    if (code == S_SUCCESS) {
        s_add(&s->acked, readings);
        return;
    }
    s_add(&s->failed, readings);
    s_add(&s->by_code[code % AW_SIM_CODES], readings);
}

void aw_sim_stats_failure(aw_sim_stats *s, aw_sim_fail kind, size_t readings)
{
    s->inflight--;
    s->events++;
    s_add(&s->failed, readings);
    s_add(&s->by_fail[kind], readings);
}

void aw_sim_stats_unanswered(aw_sim_stats *s, size_t readings)
{
    s->inflight--;
    s_add(&s->unanswered, readings);
}

/* ------------------------------------------------------------ histogram */

static size_t s_bucket(uint64_t us)
{
    if (us < 64)
        return (size_t)us;
    int e = 63 - __builtin_clzll(us);
    size_t idx = 64 + (size_t)(e - 6) * 32 + (size_t)((us >> (e - 5)) & 31);
    return idx < AW_SIM_HIST_BUCKETS ? idx : AW_SIM_HIST_BUCKETS - 1;
}

static double s_bucket_mid(size_t idx)
{
    if (idx < 64)
        return (double)idx;
    int e = (int)((idx - 64) / 32) + 6;
    double width = ldexp(1.0, e - 5);
    return (double)(32 + (idx - 64) % 32) * width + width / 2;
}

void aw_sim_hist_add(aw_sim_hist *h, uint64_t us)
{
    h->bucket[s_bucket(us)]++;
    h->count++;
    h->max_us = us > h->max_us ? us : h->max_us;
}

double aw_sim_hist_quantile(const aw_sim_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    uint64_t want = (uint64_t)ceil(q * (double)h->count), seen = 0;
    want = want < 1 ? 1 : want;
    for (size_t i = 0; i < AW_SIM_HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= want)
            return fmin(s_bucket_mid(i), (double)h->max_us);
    }
    return (double)h->max_us;
}

/* ------------------------------------------------------------ printing */

void aw_sim_code_name(unsigned code, char *buf, size_t len)
{
    snprintf(buf, len, "%u.%02u", (code >> 5) & 7, code & 31);
}

/* Appends " 4.04:3 timeout:2" (requests) for every failure seen. */
static void s_failures(const aw_sim_stats *s, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned c = 0; c < AW_SIM_CODES && used < len; c++) {
        if (!s->by_code[c].req)
            continue;
        char name[8];
        aw_sim_code_name(c, name, sizeof name);
        used += (size_t)snprintf(buf + used, len - used, " %s:%llu", name,
                                 (unsigned long long)s->by_code[c].req);
    }
    for (int k = 0; k < AW_SIM_FAIL_KINDS && used < len; k++)
        if (s->by_fail[k].req)
            used += (size_t)snprintf(buf + used, len - used, " %s:%llu", s_fail_names[k],
                                     (unsigned long long)s->by_fail[k].req);
}

void aw_sim_stats_progress(aw_sim_stats *s, int64_t now_ns, FILE *out)
{
    double dt = (double)(now_ns - s->last_ns) / 1e9, t = (double)(now_ns - s->start_ns) / 1e9;
    char fails[256];
    s_failures(s, fails, sizeof fails);
    dt = dt > 0 ? dt : 1;
    fprintf(out, "devsim %7.1fs:", t);
    if (s->show_sensors) {
        fprintf(out, " readings sent %llu acked %llu failed %llu", (unsigned long long)s->sent.rdg,
                (unsigned long long)s->acked.rdg, (unsigned long long)s->failed.rdg);
        if (fails[0])
            fprintf(out, " (requests%s)", fails);
        fprintf(out, " | in flight %llu | %.1f/s sent %.1f/s acked",
                (unsigned long long)s->inflight, (double)(s->sent.rdg - s->last_sent.rdg) / dt,
                (double)(s->acked.rdg - s->last_acked.rdg) / dt);
    }
    if (s->show_sirens)
        fprintf(out, "%s sirens got %llu alert(s) (%llu drills), refused %llu",
                s->show_sensors ? " |" : "", (unsigned long long)s->alerts,
                (unsigned long long)s->drills,
                (unsigned long long)(s->refused_on_purpose + s->rejected));
    fputc('\n', out);
    s->last_ns = now_ns;
    s->last_sent = s->sent;
    s->last_acked = s->acked;
}

static void s_count_line(FILE *out, const char *what, const aw_sim_count *sent,
                         const aw_sim_count *acked, const aw_sim_count *failed,
                         const aw_sim_count *unanswered, int readings)
{
#define S_N(c) (unsigned long long)(readings ? (c)->rdg : (c)->req)
    fprintf(out, "  %-9s sent %llu, acked (2.04) %llu, failed %llu, unanswered at exit %llu\n",
            what, S_N(sent), S_N(acked), S_N(failed), S_N(unanswered));
#undef S_N
}

/* Seconds of sending, for rates. */
static double s_send_time(const aw_sim_stats *s, int64_t now_ns)
{
    int64_t end = s->send_end_ns ? s->send_end_ns : now_ns;
    return (double)(end - s->start_ns) / 1e9;
}

void aw_sim_stats_summary(const aw_sim_stats *s, const aw_sim_summary_info *info, int64_t now_ns,
                          FILE *out)
{
    double t = (double)(now_ns - s->start_ns) / 1e9, ts = s_send_time(s, now_ns);
    char fails[256];
    s_failures(s, fails, sizeof fails);
    fprintf(out, "devsim summary after %.1fs (scenario %s, seed %llu)\n", t, info->scenario,
            (unsigned long long)info->seed);
    if (info->sensors) {
        s_count_line(out, "requests:", &s->sent, &s->acked, &s->failed, &s->unanswered, 0);
        s_count_line(out, "readings:", &s->sent, &s->acked, &s->failed, &s->unanswered, 1);
        fprintf(out, "  failed requests by cause:%s\n", fails[0] ? fails : " none");
        fprintf(out, "  latency ms (%llu responses): p50 %.3f, p99 %.3f, max %.3f\n",
                (unsigned long long)s->latency.count, aw_sim_hist_quantile(&s->latency, 0.5) / 1e3,
                aw_sim_hist_quantile(&s->latency, 0.99) / 1e3, (double)s->latency.max_us / 1e3);
        fprintf(out, "  readings/s over %.1fs of sending: sent %.1f, acked %.1f", ts,
                ts > 0 ? (double)s->sent.rdg / ts : 0, ts > 0 ? (double)s->acked.rdg / ts : 0);
        if (info->target_rate > 0)
            fprintf(out, " (target %.1f)", info->target_rate);
        fprintf(out, "; late responses %llu, ICMP reports %llu, samples silenced %llu\n",
                (unsigned long long)s->late, (unsigned long long)s->icmp,
                (unsigned long long)s->silenced);
    }
    if (info->sirens)
        fprintf(out,
                "  sirens: %llu alert(s) received, %llu of them drills; answered 5.03 on purpose "
                "%llu; rejected %llu\n",
                (unsigned long long)s->alerts, (unsigned long long)s->drills,
                (unsigned long long)s->refused_on_purpose, (unsigned long long)s->rejected);
}

static json_t *s_count_json(const aw_sim_stats *s, int readings)
{
#define S_N(c) json_integer((json_int_t)(readings ? s->c.rdg : s->c.req))
    return json_pack("{s:o,s:o,s:o,s:o}", "sent", S_N(sent), "acked", S_N(acked), "failed",
                     S_N(failed), "unanswered", S_N(unanswered));
#undef S_N
}

static json_t *s_failed_json(const aw_sim_stats *s)
{
    json_t *o = json_object();
    for (unsigned c = 0; o && c < AW_SIM_CODES; c++) {
        char name[8];
        aw_sim_code_name(c, name, sizeof name);
        if (s->by_code[c].req)
            json_object_set_new(o, name,
                                json_pack("{s:I,s:I}", "requests", (json_int_t)s->by_code[c].req,
                                          "readings", (json_int_t)s->by_code[c].rdg));
    }
    for (int k = 0; o && k < AW_SIM_FAIL_KINDS; k++)
        if (s->by_fail[k].req)
            json_object_set_new(o, s_fail_names[k],
                                json_pack("{s:I,s:I}", "requests", (json_int_t)s->by_fail[k].req,
                                          "readings", (json_int_t)s->by_fail[k].rdg));
    return o;
}

static json_t *s_rate_json(const aw_sim_stats *s, const aw_sim_summary_info *info, double t)
{
    return json_pack("{s:o,s:f,s:f}", "target",
                     info->target_rate > 0 ? json_real(info->target_rate) : json_null(), "sent",
                     t > 0 ? (double)s->sent.rdg / t : 0.0, "acked",
                     t > 0 ? (double)s->acked.rdg / t : 0.0);
}

char *aw_sim_stats_summary_json(const aw_sim_stats *s, const aw_sim_summary_info *info,
                                int64_t now_ns)
{
    double t = (double)(now_ns - s->start_ns) / 1e9;
    json_t *latency = json_pack("{s:I,s:f,s:f,s:f}", "count", (json_int_t)s->latency.count, "p50",
                                aw_sim_hist_quantile(&s->latency, 0.5) / 1e3, "p99",
                                aw_sim_hist_quantile(&s->latency, 0.99) / 1e3, "max",
                                (double)s->latency.max_us / 1e3);
    json_t *sirens =
        json_pack("{s:I,s:I,s:I,s:I}", "alerts", (json_int_t)s->alerts, "drills",
                  (json_int_t)s->drills, "refused_on_purpose", (json_int_t)s->refused_on_purpose,
                  "rejected", (json_int_t)s->rejected);
    json_t *root = json_pack(
        "{s:f,s:f,s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:o}", "duration_s", t, "sending_s",
        s_send_time(s, now_ns), "scenario", info->scenario, "seed", (json_int_t)info->seed,
        "requests", s_count_json(s, 0), "readings", s_count_json(s, 1), "failed", s_failed_json(s),
        "latency_ms", latency, "rate", s_rate_json(s, info, s_send_time(s, now_ns)),
        "late_responses", (json_int_t)s->late, "icmp_reports", (json_int_t)s->icmp,
        "silenced_samples", (json_int_t)s->silenced, "sirens", sirens);
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(root);
    return text;
}
