/* fake_edge.c: a CoAP server answering GET /status with a fixed body. */
#include "fake_edge.h"

#include <arpa/inet.h>
#include <coap3/coap.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fake_edge {
    coap_context_t *ctx;
    pthread_t thread;
    atomic_bool stop;
    char *body;
    int code;
};

/* The resource handler has no user pointer in libcoap 4.3.1's API we use here. */
static fake_edge_t *s_edge;

static void s_get_status(coap_resource_t *res, coap_session_t *s, const coap_pdu_t *req,
                         const coap_string_t *query, coap_pdu_t *resp)
{
    fake_edge_t *e = s_edge;
    coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(e->code));
    size_t len = strlen(e->body);
    coap_add_data_large_response(res, s, req, resp, query, COAP_MEDIATYPE_APPLICATION_JSON, -1, 0,
                                 len, (const uint8_t *)e->body, NULL, NULL);
}

static void *s_loop(void *arg)
{
    fake_edge_t *e = arg;
    while (!atomic_load(&e->stop))
        coap_io_process(e->ctx, 50);
    return NULL;
}

/* A UDP port that was free a moment ago. */
static uint16_t s_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
        a.sin_port = 0;
    if (fd >= 0)
        close(fd);
    return ntohs(a.sin_port);
}

fake_edge_t *fake_edge_start(const char *body, int code, uint16_t *port)
{
    fake_edge_t *e = calloc(1, sizeof *e);
    coap_address_t addr;
    coap_startup();
    coap_set_log_level(LOG_EMERG);
    if (e == NULL || (e->body = strdup(body)) == NULL || (e->ctx = coap_new_context(NULL)) == NULL)
        goto fail;
    e->code = code;
    coap_context_set_block_mode(e->ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
    coap_address_init(&addr);
    addr.addr.sin.sin_family = AF_INET;
    addr.addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.addr.sin.sin_port = htons(*port = s_free_port());
    addr.size = sizeof addr.addr.sin;
    coap_resource_t *r = coap_resource_init(coap_make_str_const("status"), 0);
    if (*port == 0 || coap_new_endpoint(e->ctx, &addr, COAP_PROTO_UDP) == NULL || r == NULL)
        goto fail;
    coap_register_request_handler(r, COAP_REQUEST_GET, s_get_status);
    coap_add_resource(e->ctx, r);
    s_edge = e;
    if (pthread_create(&e->thread, NULL, s_loop, e) != 0)
        goto fail;
    return e;
fail:
    if (e && e->ctx)
        coap_free_context(e->ctx);
    if (e)
        free(e->body);
    free(e);
    return NULL;
}

void fake_edge_stop(fake_edge_t **self_p)
{
    fake_edge_t *e = self_p ? *self_p : NULL;
    if (e == NULL)
        return;
    atomic_store(&e->stop, true);
    pthread_join(e->thread, NULL);
    coap_free_context(e->ctx);
    free(e->body);
    free(e);
    s_edge = NULL;
    *self_p = NULL;
}
