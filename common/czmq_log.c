#include "czmq_log.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define S_ENDPOINT "inproc://aw-czmq-log"

struct aw_czmq_log {
    zsock_t *sub;
};

int aw_czmq_log_new(aw_czmq_log_t **out)
{
    aw_czmq_log_t *self = calloc(1, sizeof *self);
    if (!self)
        return AW_ENOMEM;
    zsys_handler_set(NULL);
    zsys_init();
    zsys_set_logstream(NULL);
    zsys_set_logsender(S_ENDPOINT);
    if (!(self->sub = zsock_new_sub(">" S_ENDPOINT, ""))) {
        free(self);
        return AW_EIO;
    }
    *out = self;
    return AW_OK;
}

void aw_czmq_log_destroy(aw_czmq_log_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aw_czmq_log_drain(*self_p);
    zsock_destroy(&(*self_p)->sub);
    free(*self_p);
    *self_p = NULL;
}

int aw_czmq_log_fd(const aw_czmq_log_t *self)
{
    return zsock_fd(self->sub);
}

void *aw_czmq_log_socket(const aw_czmq_log_t *self)
{
    return zsock_resolve(self->sub);
}

/* "E: 26-11-30 01:02:03 text" → our level and the text. */
static void s_line(const char *line)
{
    aw_log_level level = AW_LOG_INFO;
    if (line[0] == 'E')
        level = AW_LOG_ERROR;
    else if (line[0] == 'W')
        level = AW_LOG_WARN;
    else if (line[0] == 'D')
        level = AW_LOG_DEBUG;
    const char *text = strlen(line) > 21 ? line + 21 : line;
    aw_log(level, "czmq: %s", text);
}

void aw_czmq_log_drain(aw_czmq_log_t *self)
{
    char buf[1024];
    int n;
    while ((n = zmq_recv(zsock_resolve(self->sub), buf, sizeof buf - 1, ZMQ_DONTWAIT)) >= 0) {
        buf[n < (int)sizeof buf ? n : (int)sizeof buf - 1] = '\0';
        s_line(buf);
    }
}
