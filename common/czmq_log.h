/**
 * @file czmq_log.h
 * @brief Routes CZMQ's log lines into aw_log.
 *
 * CZMQ prints to stdout and has no log callback. This module turns its
 * stdout stream off, points its log sender at an inproc PUB, and reads that
 * with a SUB socket whose fd the daemon's loop watches. Also stops CZMQ
 * from installing its own SIGINT/SIGTERM handler: the daemons use signalfd.
 */
#ifndef AW_CZMQ_LOG_H
#define AW_CZMQ_LOG_H

#include "aw_err.h"

typedef struct aw_czmq_log aw_czmq_log_t;

/**
 * Sets CZMQ up as described above. Call before any other CZMQ call in the
 * process. On success *out is the caller's; free with aw_czmq_log_destroy().
 */
int aw_czmq_log_new(aw_czmq_log_t **out);

/** Logs what CZMQ sent, drains the socket, closes it and nulls *self_p. */
void aw_czmq_log_destroy(aw_czmq_log_t **self_p);

/**
 * The fd to poll for input (ZMQ_FD: edge-triggered, so call
 * aw_czmq_log_drain() whenever it is readable; drain reads until empty).
 */
int aw_czmq_log_fd(const aw_czmq_log_t *self);

/** The socket for zmq_poll (a void * ZeroMQ socket handle). */
void *aw_czmq_log_socket(const aw_czmq_log_t *self);

/** Logs every pending CZMQ line through aw_log ("czmq: ..."). */
void aw_czmq_log_drain(aw_czmq_log_t *self);

#endif
