#include "bench_bare.h"

#include <arpa/inet.h>
#include <coap3/coap.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_post(coap_resource_t *r, coap_session_t *s, const coap_pdu_t *req,
                   const coap_string_t *query, coap_pdu_t *resp)
{
    (void)r, (void)s, (void)req, (void)query;
    coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CHANGED);
}

static coap_context_t *s_context(const char *addr, int port)
{
    coap_address_t a;
    coap_address_init(&a);
    a.addr.sin.sin_family = AF_INET;
    a.addr.sin.sin_port = htons((uint16_t)port);
    a.size = sizeof a.addr.sin;
    coap_context_t *ctx = coap_new_context(NULL);
    if (!ctx || inet_pton(AF_INET, addr, &a.addr.sin.sin_addr) != 1 ||
        !coap_new_endpoint(ctx, &a, COAP_PROTO_UDP)) {
        if (ctx)
            coap_free_context(ctx);
        return NULL;
    }
    coap_resource_t *r = coap_resource_init(coap_make_str_const("readings"), 0);
    if (!r) {
        coap_free_context(ctx);
        return NULL;
    }
    coap_register_request_handler(r, COAP_REQUEST_POST, s_post);
    coap_add_resource(ctx, r);
    return ctx;
}

int aw_bench_bare_serve(const char *addr, int port)
{
    /* no SA_RESTART: the signal ends the wait inside coap_io_process() */
    struct sigaction sa = {.sa_handler = s_on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    coap_startup();
    coap_set_log_level(LOG_WARNING);
    coap_context_t *ctx = s_context(addr, port);
    if (!ctx) {
        fprintf(stderr, "aw-bench-edge: bare server: cannot listen on %s port %d\n", addr, port);
        coap_cleanup();
        return 1;
    }
    while (!s_stop)
        coap_io_process(ctx, 1000);
    coap_free_context(ctx);
    coap_cleanup();
    return 0;
}
