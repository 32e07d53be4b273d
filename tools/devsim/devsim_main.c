/* anwang-devsim: parse the command line, then run the simulation (devsim.c). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "devsim.h"
#include "grading.h"

static const char s_usage[] =
    "Usage: anwang-devsim --registry FILE --edge [ZONE=]URI... [options]   (sensors)\n"
    "       anwang-devsim --sirens --registry FILE [options]                  (sirens)\n"
    "       anwang-devsim --siren [DEVICE=]URI... [options]                    (sirens)\n"
    "\n"
    "The simulated field of anwang: sensors that post SenML readings to edges over CoAP\n"
    "(plain UDP or DTLS-PSK), and sirens/loudspeakers that record the alerts they receive.\n"
    "Both can run in one process. Devices, metrics, units, thresholds, intervals and siren\n"
    "URIs come from the registry (SPEC §1), so alarms really fire at the edge.\n"
    "\n"
    "Sensors\n"
    "  -r, --registry FILE       registry JSON (the one the edges use)\n"
    "  -e, --edge [ZONE=]URI     where readings go: coap://HOST[:PORT][/PATH] (PATH defaults\n"
    "                            to readings) or coaps://... for DTLS. With ZONE= (a zone's grid\n"
    "                            path) only that zone's devices go there; without, every\n"
    "                            device whose zone has no route of its own. Repeat to feed\n"
    "                            several edges; give a zone one coap:// and one coaps:// URI\n"
    "                            and owned devices use DTLS, the others plain UDP.\n"
    "      --dtls [ZONE=]URI     same as --edge, for a coaps:// URI\n"
    "      --psk-file FILE       DTLS keys, SPEC §3 format: <identity> <hex key> <dev>[,<dev>]\n"
    "                            each device posts with the identity that owns it, one DTLS\n"
    "                            session per (edge, identity)\n"
    "  -z, --zone PATH           only devices (and sirens) under this zone/village/site path\n"
    "  -n, --devices N|all       the first N devices with metrics, in registry order [all]\n"
    "      --rate R|max          R = readings per second IN TOTAL, spread evenly over the\n"
    "                            devices; max = as fast as answers allow. Without --rate each\n"
    "                            device sends each metric once per its interval_s.\n"
    "      --interval DURATION   override every device's interval_s (e.g. 2s for demos)\n"
    "      --format json|cbor    SenML content-format 110 or 112 [json]\n"
    "      --records-per-pack K  readings per POST, 1..255 [one sample: each metric once]\n"
    "      --omit-time FRACTION  share of packs sent without time (edge stamps them) [0]\n"
    "      --inflight N          unanswered requests per session, 1..1024 [1 = RFC NSTART]\n"
    "      --sessions N          plain-UDP sessions per edge, devices round robin [1]\n"
    "      --ack-timeout DUR     CoAP ACK_TIMEOUT, 1s..60s (libcoap 4.3.1 floor) [2s]\n"
    "      --retries N           CoAP MAX_RETRANSMIT, 1..20 [4]\n"
    "      --timeout DURATION    give up on a request after this [retransmission span + 5s]\n"
    "      --acked-log FILE      append '<device>/<metric> <time_ms> <value>' for every reading\n"
    "                            answered 2.04 (time '-' if sent without), one write(2) per\n"
    "                            answer. Lines are unique within a run: each device/metric\n"
    "                            has strictly increasing ms times (so one device/metric\n"
    "                            carries at most 1000 readings/s; use more devices to go\n"
    "                            faster).\n"
    "\n"
    "Scenarios (values come from each metric's thresholds)\n"
    "  -s, --scenario NAME       steady | gas-leak | dam-rise | dropout | noisy [steady]\n"
    "                            steady: all well below thresholds, small noise\n"
    "                            gas-leak: a chemical site's gas metric climbs blue, yellow,\n"
    "                              orange, red (held twice), then back down, one level a step\n"
    "                            dam-rise: same staircase for every thresholded metric of a\n"
    "                              tailings dam (water level up, phreatic line down)\n"
    "                            dropout: a share of the devices goes silent, then returns\n"
    "                            noisy: one metric sits on a threshold and wobbles inside the\n"
    "                              deadband: one alarm, no flapping\n"
    "      --site PATH           site for gas-leak / dam-rise [first that fits]\n"
    "      --target DEV/METRIC   metric to drive (gas-leak, dam-rise, noisy)\n"
    "      --level LEVEL         noisy: threshold to sit on, blue..red [lowest present]\n"
    "      --start-after DUR     the event starts this long after start [10s]\n"
    "      --step DURATION       time per level [(debounce + 2) x interval, at least 5s]\n"
    "      --repeat DURATION     start the event again this often [once]\n"
    "      --dropout-fraction F  share of devices that go silent, 0..1 [0.25]\n"
    "      --dropout-for DUR     how long they stay silent [4 x their interval, >= 30s]\n"
    "\n"
    "Sirens\n"
    "      --sirens              serve every siren/loudspeaker of the registry on its uri\n"
    "      --siren [DEV=]URI     serve one more siren, e.g. coap://127.0.0.1:5690/alert\n"
    "      --bind-map FROM=TO    listen on TO instead of FROM (HOST:PORT=HOST:PORT)\n"
    "      --siren-fail DEVICE   that siren answers 5.03 (to test failed deliveries)\n"
    "      --siren-log FILE      append one JSON line per POST received (device, received,\n"
    "                            code, identifier, status, msgType, event, drill, ...)\n"
    "                            A drill (status Exercise) is shown as *** DRILL ***, never\n"
    "                            as sounding.\n"
    "\n"
    "Run\n"
    "  -d, --duration DURATION   stop after this [until SIGINT/SIGTERM]\n"
    "      --drain DURATION      after the end, wait this long for answers in flight [5s]\n"
    "      --progress DURATION   progress line on stderr this often [5s]\n"
    "  -q, --quiet               no progress lines\n"
    "      --json                print the summary as one JSON object on stdout:\n"
    "                            requests/readings {sent, acked, failed, unanswered},\n"
    "                            failed {\"4.04\": {requests, readings}, \"timeout\": ...},\n"
    "                            latency_ms {count, p50, p99, max}, rate {target, sent, acked},\n"
    "                            sirens {alerts, drills, refused_on_purpose, rejected}, seed\n"
    "                            Acked means 2.04 Changed (SPEC §3); any other code is a\n"
    "                            failure under its own code. Requests still unanswered at\n"
    "                            the end are 'unanswered', never counted as acked.\n"
    "      --seed N              seed for noise and choices; the summary shows it [random]\n"
    "  -v, --verbose             more libcoap logging (repeat for more)\n"
    "  -h, --help                this text\n"
    "DURATION: 30 (seconds), 500ms, 2m, 1h.\n"
    "\n"
    "Examples\n"
    "  # every device of the demo registry, at its own interval, to one edge\n"
    "  anwang-devsim -r deploy/registry/mini.json -e coap://127.0.1.1:5683\n"
    "  # a gas leak every 5 minutes, fast sampling for a demo, two edges by zone\n"
    "  anwang-devsim -r county.json -e yueyang/rongjiawan=coap://127.0.1.1:5683 \\\n"
    "      -e yueyang/xinkai=coap://127.0.1.2:5683 -s gas-leak --interval 2s --repeat 5m\n"
    "  # DTLS with the county's key file\n"
    "  anwang-devsim -r county.json --psk-file keys.txt --dtls coaps://127.0.1.1:5684\n"
    "  # benchmark: 20000 readings/s, 64 in flight, 30 s, summary as JSON\n"
    "  anwang-devsim -r big.json -e coap://127.0.1.1 --rate 20000 --inflight 64 -d 30 --json\n"
    "  # crash test: record exactly what the edge acknowledged\n"
    "  anwang-devsim -r mini.json -e coap://127.0.1.1 --rate 200 --acked-log acked.txt -d 60\n"
    "  # sirens of the registry (coaps:// ones need the key file), one failing, logged\n"
    "  anwang-devsim --sirens -r mini.json --psk-file keys.txt --siren-fail tongmu-siren \\\n"
    "      --siren-log sirens.jsonl\n"
    "  # the whole field of a demo county in one process\n"
    "  anwang-devsim -r county.json -e coap://127.0.1.1 -s dam-rise --interval 2s --sirens\n"
    "\n"
    "Exit status (sysexits): 0 ran to the end (failures are in the summary); 64 bad usage;\n"
    "65 bad registry or key file; 66 file missing; 68 unknown host; 69 an address cannot be\n"
    "bound, or no edge answered any request; 73 a log cannot be created; 74 a log write\n"
    "failed (the log would be incomplete); 71 out of memory or system error.\n";

enum {
    O_DTLS = 256,
    O_PSK,
    O_RATE,
    O_INTERVAL,
    O_FORMAT,
    O_RPP,
    O_OMIT,
    O_INFLIGHT,
    O_SESSIONS,
    O_ACK_TIMEOUT,
    O_RETRIES,
    O_TIMEOUT,
    O_ACKED,
    O_SITE,
    O_TARGET,
    O_LEVEL,
    O_START,
    O_STEP,
    O_REPEAT,
    O_DROP_F,
    O_DROP_FOR,
    O_SIRENS,
    O_SIREN,
    O_BIND,
    O_SIREN_FAIL,
    O_SIREN_LOG,
    O_DRAIN,
    O_PROGRESS,
    O_JSON,
    O_SEED,
};

static const struct option s_long[] = {
    {"registry", required_argument, NULL, 'r'},
    {"edge", required_argument, NULL, 'e'},
    {"dtls", required_argument, NULL, O_DTLS},
    {"psk-file", required_argument, NULL, O_PSK},
    {"zone", required_argument, NULL, 'z'},
    {"devices", required_argument, NULL, 'n'},
    {"rate", required_argument, NULL, O_RATE},
    {"interval", required_argument, NULL, O_INTERVAL},
    {"format", required_argument, NULL, O_FORMAT},
    {"records-per-pack", required_argument, NULL, O_RPP},
    {"omit-time", required_argument, NULL, O_OMIT},
    {"inflight", required_argument, NULL, O_INFLIGHT},
    {"sessions", required_argument, NULL, O_SESSIONS},
    {"ack-timeout", required_argument, NULL, O_ACK_TIMEOUT},
    {"retries", required_argument, NULL, O_RETRIES},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"acked-log", required_argument, NULL, O_ACKED},
    {"scenario", required_argument, NULL, 's'},
    {"site", required_argument, NULL, O_SITE},
    {"target", required_argument, NULL, O_TARGET},
    {"level", required_argument, NULL, O_LEVEL},
    {"start-after", required_argument, NULL, O_START},
    {"step", required_argument, NULL, O_STEP},
    {"repeat", required_argument, NULL, O_REPEAT},
    {"dropout-fraction", required_argument, NULL, O_DROP_F},
    {"dropout-for", required_argument, NULL, O_DROP_FOR},
    {"sirens", no_argument, NULL, O_SIRENS},
    {"siren", required_argument, NULL, O_SIREN},
    {"bind-map", required_argument, NULL, O_BIND},
    {"siren-fail", required_argument, NULL, O_SIREN_FAIL},
    {"siren-log", required_argument, NULL, O_SIREN_LOG},
    {"duration", required_argument, NULL, 'd'},
    {"drain", required_argument, NULL, O_DRAIN},
    {"progress", required_argument, NULL, O_PROGRESS},
    {"quiet", no_argument, NULL, 'q'},
    {"json", no_argument, NULL, O_JSON},
    {"seed", required_argument, NULL, O_SEED},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Prints "anwang-devsim: <msg>" and the hint to --help; returns EX_USAGE. */
__attribute__((format(printf, 1, 2))) static int s_bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "anwang-devsim: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(anwang-devsim --help lists every option with examples)\n");
    va_end(ap);
    return EX_USAGE;
}

static const char *s_name(int opt)
{
    for (const struct option *o = s_long; o->name; o++)
        if (o->val == opt)
            return o->name;
    return "?";
}

static int s_duration(int opt, const char *arg, int64_t *out)
{
    if (aw_parse_duration(arg, out) == AW_OK)
        return EX_OK;
    return s_bad("--%s %s: not a duration (write 30, 500ms, 2m or 1h)", s_name(opt), arg);
}

static int s_integer(int opt, const char *arg, int64_t lo, int64_t hi, int64_t *out)
{
    if (aw_parse_int(arg, out) == AW_OK && *out >= lo && *out <= hi)
        return EX_OK;
    char range[64];
    snprintf(range, sizeof range, "%lld..%lld", (long long)lo, (long long)hi);
    return s_bad("--%s: expected a whole number in %s", s_name(opt), range);
}

static int s_fraction(int opt, const char *arg, double *out)
{
    char *end = NULL;
    double v = strtod(arg, &end);
    if (end != arg && *end == '\0' && v >= 0 && v <= 1) {
        *out = v;
        return EX_OK;
    }
    return s_bad("--%s %s: expected a number from 0 to 1", s_name(opt), arg);
}

/* "[ZONE=]URI": splits in place, so both halves live as long as argv. */
static int s_route(aw_sim_opts *o, char *arg, int dtls)
{
    char *scheme = strstr(arg, "://"), *eq = strchr(arg, '=');
    aw_sim_route r = {NULL, arg};
    if (eq && scheme && eq < scheme) {
        *eq = '\0';
        r = (aw_sim_route){arg, eq + 1};
    }
    if (dtls && strncmp(r.uri, "coaps://", 8) != 0)
        return s_bad("--dtls %s: a DTLS route needs a coaps:// URI", r.uri);
    if (o->n_routes == AW_SIM_MAX_ROUTES)
        return s_bad("too many --edge/--dtls options (at most %d)", AW_SIM_MAX_ROUTES);
    o->routes[o->n_routes++] = r;
    return EX_OK;
}

static int s_push(const char **list, size_t *n, size_t max, const char *arg, const char *what)
{
    if (*n == max)
        return s_bad("too many %s options", what);
    list[(*n)++] = arg;
    return EX_OK;
}

static int s_rate(aw_sim_opts *o, const char *arg)
{
    char *end = NULL;
    if (strcmp(arg, "max") == 0) {
        o->rate_mode = AW_SIM_RATE_MAX;
        return EX_OK;
    }
    double v = strtod(arg, &end);
    if (end == arg || *end != '\0' || !(v >= 0.001) || v > 1e7)
        return s_bad("--rate %s: readings per second in total, 0.001..1e7 (e.g. 100, 0.5), or max",
                     arg);
    o->rate_mode = AW_SIM_RATE_TOTAL;
    o->rate = v;
    return EX_OK;
}

static int s_devices(aw_sim_opts *o, const char *arg)
{
    int64_t n;
    if (strcmp(arg, "all") == 0) {
        o->max_devices = 0;
        return EX_OK;
    }
    if (aw_parse_int(arg, &n) != AW_OK || n < 1)
        return s_bad("--devices %s: a number of devices, or all", arg);
    o->max_devices = (size_t)n;
    return EX_OK;
}

static int s_choice(int opt, const char *arg, aw_sim_opts *o)
{
    if (opt == O_FORMAT) {
        if (strcmp(arg, "json") && strcmp(arg, "cbor"))
            return s_bad("--format %s: json or cbor", arg);
        o->format = arg[0] == 'j' ? AW_SIM_FORMAT_JSON : AW_SIM_FORMAT_CBOR;
    } else if (opt == 's') {
        if (aw_sim_scenario_parse(arg, &o->scenario.kind) != AW_OK)
            return s_bad("--scenario %s: steady, gas-leak, dam-rise, dropout or noisy", arg);
    } else if (aw_level_parse(arg, &o->scenario.level) != AW_OK || o->scenario.level == 0) {
        return s_bad("--level %s: blue, yellow, orange or red", arg);
    }
    return EX_OK;
}

/* Options that take a number; *done is set when @p opt was one of them. */
static int s_numeric(int opt, const char *arg, aw_sim_opts *o, int *done)
{
    int64_t v = 0;
    int ex = EX_OK;
    *done = 1;
    switch (opt) {
    case O_RPP:
        ex = s_integer(opt, arg, 1, 255, &v);
        o->records_per_pack = (size_t)v;
        break;
    case O_INFLIGHT:
        ex = s_integer(opt, arg, 1, 1024, &v);
        o->inflight = (unsigned)v;
        break;
    case O_SESSIONS:
        ex = s_integer(opt, arg, 1, 256, &v);
        o->sessions = (unsigned)v;
        break;
    case O_RETRIES:
        ex = s_integer(opt, arg, 1, 20, &v);
        o->retries = (unsigned)v;
        break;
    case O_SEED:
        ex = s_integer(opt, arg, 0, INT64_MAX, &v);
        o->seed = (uint64_t)v;
        break;
    case O_OMIT:
        return s_fraction(opt, arg, &o->omit_time);
    case O_DROP_F:
        return s_fraction(opt, arg, &o->scenario.dropout_fraction);
    default:
        *done = 0;
    }
    return ex;
}

static int s_durations(int opt, const char *arg, aw_sim_opts *o, int *done)
{
    int64_t *field = opt == O_INTERVAL      ? &o->interval_ms
                     : opt == O_ACK_TIMEOUT ? &o->ack_timeout_ms
                     : opt == O_TIMEOUT     ? &o->timeout_ms
                     : opt == O_START       ? &o->scenario.start_ms
                     : opt == O_STEP        ? &o->scenario.step_ms
                     : opt == O_REPEAT      ? &o->scenario.repeat_ms
                     : opt == O_DROP_FOR    ? &o->scenario.dropout_ms
                     : opt == 'd'           ? &o->duration_ms
                     : opt == O_DRAIN       ? &o->drain_ms
                     : opt == O_PROGRESS    ? &o->progress_ms
                                            : NULL;
    *done = field != NULL;
    int ex = field ? s_duration(opt, arg, field) : EX_OK;
    if (ex == EX_OK && opt == O_INTERVAL && *field <= 0)
        return s_bad("--interval %s: give a period above 0, e.g. 2s or 500ms", arg);
    return ex;
}

static int s_lists(int opt, char *arg, aw_sim_opts *o)
{
    switch (opt) {
    case 'e':
        return s_route(o, arg, 0);
    case O_DTLS:
        return s_route(o, arg, 1);
    case O_SIREN:
        return s_push(o->sirens, &o->n_sirens, AW_SIM_MAX_SIRENS, arg, "--siren");
    case O_BIND:
        return s_push(o->bind_maps, &o->n_bind_maps, AW_SIM_MAX_BINDMAPS, arg, "--bind-map");
    case O_SIREN_FAIL:
        return s_push(o->siren_fail, &o->n_siren_fail, AW_SIM_MAX_FAILS, arg, "--siren-fail");
    default:
        return -1;
    }
}

/* Options that name a file, path or device; *done is set when @p opt was one. */
static int s_strings(int opt, const char *arg, aw_sim_opts *o, int *done)
{
    const char **field = opt == 'r'           ? &o->registry_path
                         : opt == O_PSK       ? &o->psk_path
                         : opt == 'z'         ? &o->zone
                         : opt == O_ACKED     ? &o->acked_log
                         : opt == O_SITE      ? &o->scenario.site
                         : opt == O_TARGET    ? &o->scenario.target
                         : opt == O_SIREN_LOG ? &o->siren_log
                                              : NULL;
    *done = field != NULL;
    if (field)
        *field = arg;
    return EX_OK;
}

static int s_other(int opt, const char *arg, aw_sim_opts *o)
{
    switch (opt) {
    case 'n':
        return s_devices(o, arg);
    case O_RATE:
        return s_rate(o, arg);
    case O_FORMAT:
    case 's':
    case O_LEVEL:
        return s_choice(opt, arg, o);
    case O_SIRENS:
        o->sirens_from_registry = 1;
        return EX_OK;
    case 'q':
        o->quiet = 1;
        return EX_OK;
    case O_JSON:
        o->json = 1;
        return EX_OK;
    case 'v':
        o->verbose++;
        return EX_OK;
    default:
        return EX_USAGE;
    }
}

static int s_option(int opt, char *arg, aw_sim_opts *o)
{
    int done, ex = s_numeric(opt, arg, o, &done);
    if (!done)
        ex = s_durations(opt, arg, o, &done);
    if (!done)
        ex = s_strings(opt, arg, o, &done);
    if (done)
        return ex;
    if ((ex = s_lists(opt, arg, o)) >= 0)
        return ex;
    return s_other(opt, arg, o);
}

/* Checks that the options make one coherent run. */
static int s_check(const aw_sim_opts *o)
{
    if (!o->n_routes && !o->sirens_from_registry && !o->n_sirens)
        return s_bad("nothing to do: give --edge URI to run sensors, and/or --sirens or "
                     "--siren URI to run sirens");
    if (o->n_routes && !o->registry_path)
        return s_bad("sensors need the registry: add --registry FILE");
    if (o->ack_timeout_ms < 1000 || o->ack_timeout_ms > 60000)
        return s_bad("--ack-timeout: between 1s and 60s (libcoap takes no less than 1s)");
    if (o->progress_ms < 100)
        return s_bad("--progress: at least 100ms");
    if (o->scenario.kind == AW_SIM_DROPOUT && o->scenario.dropout_fraction <= 0)
        return s_bad("--dropout-fraction: above 0 for the dropout scenario");
    return EX_OK;
}

int main(int argc, char **argv)
{
    aw_sim_opts o;
    aw_sim_opts_init(&o);
    o.seed = ((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16)) & 0x7fffffff;
    int opt;
    while ((opt = getopt_long(argc, argv, "r:e:z:n:s:d:qvh", s_long, NULL)) != -1) {
        if (opt == 'h') {
            fputs(s_usage, stdout);
            return EX_OK;
        }
        if (opt == '?')
            return s_bad("unknown option or missing value");
        int ex = s_option(opt, optarg, &o);
        if (ex != EX_OK)
            return ex;
    }
    if (optind < argc)
        return s_bad("unexpected argument \"%s\"", argv[optind]);
    int ex = s_check(&o);
    return ex != EX_OK ? ex : aw_sim_run(&o);
}
