/**
 * @file bench_center.h
 * @brief What aw-bench-repl and aw-bench-center share: the real anwang-center
 * daemon in a temp dir of its own (certificates, allow-list, config, start
 * by pid, its log, what its store holds), the child processes they start,
 * clocks and /proc figures, the readings their edges send and the options
 * both take.
 *
 * Every child is started with aw_bench_spawn() and remembered by pid until
 * aw_bench_reap(); after aw_bench_signals(), SIGINT and SIGTERM kill those
 * pids (SIGKILL) and exit 128 + the signal, leaving the temp dirs in place.
 * Nothing here prints unless its comment says so: the programs word their
 * own failures.
 */
#ifndef AW_BENCH_CENTER_H
#define AW_BENCH_CENTER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec.h"

/** Children remembered at once (more are started but not killed on a signal). */
#define AW_BENCH_MAX_PIDS 8

/* ------------------------------------------------------------ clocks */

/** CLOCK_MONOTONIC in µs, ms and seconds. */
int64_t aw_bench_mono_us(void);
int64_t aw_bench_mono_ms(void);
double aw_bench_seconds(void);

/** CLOCK_REALTIME in ms since the epoch. */
int64_t aw_bench_wall_ms(void);

/** User + system CPU seconds of this process so far. */
double aw_bench_cpu_self(void);

/* ------------------------------------------------------------ temp dirs and files */

/**
 * Makes a fresh directory @p base/@p name.XXXXXX (mkdtemp) and writes its
 * path to @p out (@p len bytes). Returns 0, or -1 with errno set and @p out
 * holding the template that failed.
 */
int aw_bench_tempdir(const char *base, const char *name, char *out, size_t len);

/** Removes @p dir and everything below it; "" does nothing. */
void aw_bench_rmtree(const char *dir);

/** The whole file @p path as a string (caller frees), NULL when unreadable. */
char *aw_bench_slurp(const char *path);

/** True when @p text is in the file @p path (a NUL byte ends the search early). */
int aw_bench_file_has(const char *path, const char *text);

/** True once @p text is in the file @p path, within @p ms. */
int aw_bench_wait_text(const char *path, const char *text, int ms);

/** Copies the last 2 KiB of @p path to stderr (for a log whose temp dir goes away). */
void aw_bench_tail(const char *path);

/** Copies the lines of the center log @p path at level warn or error to stderr (at most 20). */
void aw_bench_log_problems(const char *path);

/* ------------------------------------------------------------ processes */

/**
 * Kills the remembered children on SIGINT and SIGTERM (see the file
 * comment) and ignores SIGPIPE.
 */
void aw_bench_signals(void);

/**
 * Starts @p argv (searched in PATH) with stdin from @p in_fd (-1 =
 * /dev/null), stdout to @p out_fd (-1 = the log) and stdout and stderr
 * otherwise appended to the file @p log. Pipes passed here should be made
 * with O_CLOEXEC so that no other child holds them. Returns the pid or -1.
 */
pid_t aw_bench_spawn(char *const argv[], int in_fd, int out_fd, const char *log);

/**
 * Waits for *@p pid to exit (after SIGTERM when @p term), SIGKILL after
 * @p ms; then forgets it and sets *@p pid to 0 (nothing is done when it is
 * 0 or less). Adds its CPU seconds to *@p cpu (may be NULL). Returns its
 * wait status, -1 when it had to be killed or there was none.
 */
int aw_bench_reap(pid_t *pid, int term, int ms, double *cpu);

/** True once something accepts TCP connections on @p host (IPv4 literal) @p port, within @p ms. */
int aw_bench_wait_port(const char *host, int port, int ms);

/** utime + stime of @p pid in seconds (/proc/PID/stat); -1 when unreadable. */
double aw_bench_proc_cpu(pid_t pid);

/** A "Vm…:"-style value (key with its colon, e.g. "VmRSS:") of /proc/PID/status in KiB; 0 when
 * unreadable. */
uint64_t aw_bench_proc_kib(pid_t pid, const char *key);

/* ------------------------------------------------------------ readings */

/** One Reading record to encode; the strings are borrowed for the call. */
typedef struct aw_bench_reading {
    const char *device, *metric, *unit;
    double value;
    int64_t time_ms;  /**< device time (time_from_device set) */
    uint16_t logical; /**< the record's HLC is time_ms << 16 | logical */
} aw_bench_reading;

/**
 * Encodes @p r as a Record into a new buffer *@p buf of *@p len bytes
 * (caller frees with free()). Returns AW_OK or the codec's AW_* code.
 */
int aw_bench_reading_encode(const aw_bench_reading *r, uint8_t **buf, size_t *len);

/** An uplink on_down for the benchmarks' edges: takes every Down, does nothing, AW_OK. */
int aw_bench_down_ignore(void *arg, const Anwang__Down *down);

/* ------------------------------------------------------------ options */

/**
 * The options both programs take: -d DIR, --center PATH, --center-map SIZE
 * and --json; getopt_long returns 'd', 'C', 'M' and 'J' for them.
 */
typedef struct aw_bench_opts {
    const char *base;               /**< -d: where the temp dirs go (default /tmp) */
    const char *center_map;         /**< --center-map: the center's [store] map_size */
    char center_bin[PATH_MAX + 32]; /**< --center (default: anwang-center next to this program) */
    int json;                       /**< --json: one JSON line of figures on stdout */
} aw_bench_opts;

/** The defaults: /tmp, @p center_map (borrowed), anwang-center next to this program. */
void aw_bench_opts_init(aw_bench_opts *o, const char *center_map);

/** Takes getopt_long's @p c with @p arg (borrowed) when it is one of the above; 1 then, else 0. */
int aw_bench_opt(aw_bench_opts *o, int c, const char *arg);

/* ------------------------------------------------------------ the center */

/** The real anwang-center of one run: its files in @c dir, its pid while it runs. */
typedef struct aw_bench_center {
    char dir[PATH_MAX]; /**< its temp dir (the caller makes it, aw_bench_tempdir()) */
    char conf[PATH_MAX + 32];
    char data[PATH_MAX + 32];
    char log[PATH_MAX + 32];
    char cert[PATH_MAX + 32];  /**< its certificate (secret in cert_secret) */
    char allow[PATH_MAX + 32]; /**< the edges' public certificates */
    char endpoint[64];         /**< tcp://HOST:PORT of its ZeroMQ side */
    char server_key[48];       /**< its public key (Z85) */
    unsigned map_max_gib;      /**< [store] map_max in GiB */
    pid_t pid;                 /**< 0 when not running */
} aw_bench_center;

/**
 * Sets the paths of @p c below @p c->dir, the endpoint tcp://@p host:@p port,
 * makes the allow-list dir and the center's certificate. Returns 0 or -1.
 */
int aw_bench_center_files(aw_bench_center *c, const char *host, int port, unsigned map_max_gib);

/**
 * Makes edge @p id's certificate pair at @p path (metadata edge-id, and zone
 * unless @p zone is NULL) and puts its public copy in the allow-list.
 * Returns 0 or -1.
 */
int aw_bench_center_edge(const aw_bench_center *c, const char *id, const char *zone,
                         const char *path);

/**
 * Writes the center's config: fsync store of @p map_size, info log, and
 * @p extra (more sections, may be NULL) at its end. Returns 0 or -1.
 */
int aw_bench_center_conf(const aw_bench_center *c, const char *map_size, const char *extra);

/**
 * Starts @p bin -c conf with its output to the log and waits up to @p ms for
 * "serving on" there. Returns 0, or -1 (the pid, if any, stays in @c pid for
 * aw_bench_reap()).
 */
int aw_bench_center_start(aw_bench_center *c, const char *bin, int ms);

/**
 * The bulk readings the (stopped) center's store holds for the @p n edges
 * @p ids, summed; 0 when the store cannot be opened.
 */
uint64_t aw_bench_center_held(const aw_bench_center *c, const char *const *ids, unsigned n);

#endif
