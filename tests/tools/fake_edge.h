/**
 * @file fake_edge.h
 * @brief A CoAP server on loopback, in a thread, that answers GET /status
 * with a fixed body: the edge that `anwang edge status` talks to in tests.
 */
#ifndef AW_FAKE_EDGE_H
#define AW_FAKE_EDGE_H

#include <stdint.h>

typedef struct fake_edge fake_edge_t;

/**
 * Starts serving @p body (copied) with code @p code (e.g. 205 for 2.05,
 * 404) and content-format JSON on 127.0.0.1; *port gets the UDP port.
 * Returns NULL on failure.
 */
fake_edge_t *fake_edge_start(const char *body, int code, uint16_t *port);

/** Stops the server and frees it; nulls *self_p. Safe on NULL. */
void fake_edge_stop(fake_edge_t **self_p);

#endif
