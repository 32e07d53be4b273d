/**
 * @file bench_bare.h
 * @brief The baseline of aw-bench-edge: a libcoap 4.3.1 server whose
 * POST /readings does nothing but answer 2.04 (piggybacked), driven by the
 * plain libcoap loop (coap_io_process with a wait).
 */
#ifndef AW_BENCH_BARE_H
#define AW_BENCH_BARE_H

/**
 * Serves plain CoAP on @p addr (IPv4 literal) port @p port until SIGTERM or
 * SIGINT. Meant to run in a child process of its own. Returns 0 after a
 * clean stop, 1 when the endpoint could not be set up (said on stderr).
 */
int aw_bench_bare_serve(const char *addr, int port);

#endif
