/*
 * Test harness for the anwang-edge integration and crash tests: runs the
 * real daemon on a loopback address of its own (127.0.8.N) with a temp data
 * dir, speaks raw CoAP over UDP (so a test controls every option and sees
 * every code), runs a load generator that records which readings got 2.04,
 * and reads the edge's store after the daemon stopped.
 *
 * Waits use deadlines and polling, never a fixed sleep as synchronisation.
 * Only processes started here are signalled, by their pid.
 */
#ifndef AW_EDGE_HARNESS_H
#define AW_EDGE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "anwang.pb-c.h"

#ifndef AW_BIN_DIR
#error "AW_BIN_DIR must name the folder of the programs"
#endif
#define TH_EDGE_BIN AW_BIN_DIR "/anwang-edge"

/* CoAP codes as class*100 + detail, methods and types. */
#define TH_GET  1
#define TH_POST 2
#define TH_PUT  3
#define TH_CON  0
#define TH_NON  1
#define TH_ACK  2
#define TH_RST  3

typedef struct th_edge {
    char dir[128];
    char conf[192], data[192], log[192], psk[192];
    char addr[32];
    int port, dtls_port;
    const char *max_bytes;   /* [store] max_bytes; NULL = 128M */
    const char *max_payload; /* [coap] max_payload; NULL = 4K */
    pid_t pid;
} th_edge;

/* Prepares a temp dir, paths and the address 127.0.8.<n> (ports 5683/5684). */
void th_edge_init(th_edge *e, int n);

/* Writes the config: [edge] etc. from @p durability ("fsync", "interval:10"),
 * @p dtls (writes a key file too), @p extra appended as is (may be NULL). */
void th_edge_write_conf(th_edge *e, const char *durability, bool dtls, bool plain,
                        const char *extra);

/* Starts the daemon (stderr and stdout to e->log); @p registry may be NULL. */
void th_edge_start(th_edge *e, const char *registry);

/* Polls GET /status until 2.05 or @p timeout_ms passes. */
bool th_edge_ready(th_edge *e, int timeout_ms);

/* SIGTERM, then waits (SIGKILL after @p timeout_ms); returns the wait status. */
int th_edge_stop(th_edge *e, int timeout_ms);

/* SIGKILL and reap. */
void th_edge_kill(th_edge *e);

/* Removes the temp dir (the daemon must be stopped). */
void th_edge_cleanup(th_edge *e);

/* True when the daemon's log contains @p text. */
bool th_edge_log_has(const th_edge *e, const char *text);

/* ------------------------------------------------------------ raw CoAP */

typedef struct th_opt {
    int num;
    const void *val;
    size_t len;
} th_opt;

typedef struct th_resp {
    int code; /* e.g. 204, 404; 0 = empty */
    int type;
    int separate; /* the answer came as a separate response */
    int ct;       /* content-format, -1 when absent */
    int has_max_age;
    unsigned max_age;
    int has_observe;
    unsigned observe;
    int has_size1;
    unsigned size1;
    int has_block2;
    unsigned block2;    /* raw Block2 value: num << 4 | M << 3 | SZX */
    char location[256]; /* Location-Path segments joined with '/' */
    uint8_t payload[16384];
    size_t len;
} th_resp;

/*
 * Sends one CON request and waits for its answer (piggybacked or separate;
 * a separate CON answer is acknowledged). @p path is split on '/'. Returns
 * 0, or -1 on timeout.
 */
int th_coap(const char *addr, int port, int method, const char *path, int ct, const void *body,
            size_t len, const th_opt *opts, size_t nopts, th_resp *r, int timeout_ms);

/*
 * GET @p path and, when the answer is block-wise (Block2), the following
 * blocks too; r->payload holds the whole body. Returns 0, or -1 on timeout
 * or a body larger than r->payload.
 */
int th_coap_get_all(const char *addr, int port, const char *path, th_resp *r, int timeout_ms);

/*
 * Sends one CON POST, waits for its answer, then sends the very same
 * datagram again from the same port (a retransmission) and waits again.
 */
int th_coap_dup(const char *addr, int port, const char *path, int ct, const void *body, size_t len,
                th_resp *first, th_resp *second);

/* GET /status parsed; returns a jansson object (json_decref it) or NULL. */
struct json_t;
struct json_t *th_status(const th_edge *e);

/* lanes.<lane>.head from /status (-1 when unavailable). */
long long th_status_head(const th_edge *e, const char *lane);

/* ------------------------------------------------------------ load */

typedef struct th_load {
    const char *addr;
    int port;
    int inflight;
    const char *device, *metric;
    volatile int stop;
    /* results, filled by the generator thread */
    uint8_t *acked; /* bitmap by seq; seqs from 1 */
    uint64_t cap;   /* seqs the bitmap holds */
    uint64_t next_seq;
    uint64_t n_acked, n_separate, n_failed, n_sent;
} th_load;

/* Thread body: posts readings with value = seq until stop (or cap reached). */
void *th_load_run(void *arg);

/* ------------------------------------------------------------ store */

/* Reads every record of @p lane of the store in @p dir and calls @p fn. */
typedef void (*th_record_fn)(void *arg, uint64_t seq, const Anwang__Record *rec);
int th_store_walk(const char *dir, int lane, th_record_fn fn, void *arg);

/* Runs @p cmd with sh, captures stdout+stderr into @p out; returns exit status. */
int th_run(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The CoAP code in coap-client -v 6 output ("c:2.04" → 204), -1 when none. */
int th_client_code(const char *out);

#endif
