/* The uplink's ZeroMQ carrier: DEALER + CURVE, edge-triggered ZMQ_FD. */
#include "transport.h"

#include <czmq.h>
#include <errno.h>
#include <string.h>

#include "log.h"

#define S_RCVHWM 64
/* While the uplink waits for a connection, look again this often even if
 * the fd stays quiet. */
#define S_DIAL_POLL_MS 250
/* ZMTP heartbeats: ZeroMQ drops a connection whose peer stopped answering
 * (half-open TCP after a cut) and reconnects; the uplink's own heartbeats
 * cannot do that, they only detect a silent center. */
#define S_ZMTP_IVL_MS     5000
#define S_ZMTP_TIMEOUT_MS 15000
/* libzmq 4.3.4 does not dial again after the center refused the CURVE
 * handshake (the session ends for good): a box installed before its
 * certificate reached the center's allow-list would stay offline until a
 * restart. With no connection this long, the transport dials afresh. */
#define S_REDIAL_MS 20000

struct aw_transport {
    zsock_t *sock;
    zcert_t *cert;
    char *endpoint;
    int64_t link_ms; /* last time a connection was up or dialled (0 = not yet) */
};

/* zmq's -1/errno, converted at its border. */
static int s_err(int e)
{
    switch (e) {
    case EAGAIN:
    case EHOSTUNREACH:
        return AW_EAGAIN;
    case ETERM:
    case ENOTSOCK:
        return AW_ECLOSED;
    case ENOMEM:
        return AW_ENOMEM;
    case EINVAL:
    case EPROTONOSUPPORT:
        return AW_EINVAL;
    default:
        return AW_EIO;
    }
}

/* Loads the edge's certificate and checks it has a secret key and the
 * server key is Z85 of 32 bytes. */
static int s_keys(const aw_transport_opts *o, zcert_t **cert)
{
    uint8_t key[32];
    if (!o->server_key || strlen(o->server_key) != 40 || !zmq_z85_decode(key, o->server_key)) {
        aw_error("uplink: center key is not a Z85 CURVE public key");
        return AW_ECONFIG;
    }
    if (!(*cert = zcert_load(o->cert_path))) {
        aw_error("uplink: cannot read certificate %s", o->cert_path);
        return AW_ECONFIG;
    }
    if (!strcmp(zcert_secret_txt(*cert), "0000000000000000000000000000000000000000")) {
        aw_error("uplink: certificate %s has no secret key (%s_secret)", o->cert_path,
                 o->cert_path);
        zcert_destroy(cert);
        return AW_ECONFIG;
    }
    return AW_OK;
}

/* The DEALER with the options the header explains. */
static int s_socket(aw_transport_t *t, const aw_transport_opts *o)
{
    unsigned window = o->window ? o->window : 4;
    if (!(t->sock = zsock_new(ZMQ_DEALER)))
        return AW_EIO;
    zcert_apply(t->cert, t->sock);
    zsock_set_curve_serverkey(t->sock, o->server_key);
    zsock_set_immediate(t->sock, 1);
    zsock_set_sndhwm(t->sock, (int)(2 * window + 16));
    zsock_set_rcvhwm(t->sock, S_RCVHWM);
    zsock_set_maxmsgsize(t->sock, (int)aw_codec_default_limits.max_message);
    zsock_set_linger(t->sock, 0);
    zsock_set_reconnect_ivl(t->sock, 1000);
    zsock_set_reconnect_ivl_max(t->sock, 30000);
    zsock_set_heartbeat_ivl(t->sock, S_ZMTP_IVL_MS);
    zsock_set_heartbeat_timeout(t->sock, S_ZMTP_TIMEOUT_MS);
    if (zsock_connect(t->sock, "%s", t->endpoint) != 0) {
        aw_error("uplink: cannot connect to %s: %s", t->endpoint, zmq_strerror(zmq_errno()));
        return AW_EINVAL;
    }
    return AW_OK;
}

void aw_transport_destroy(aw_transport_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aw_transport_t *t = *self_p;
    zsock_destroy(&t->sock);
    zcert_destroy(&t->cert);
    free(t->endpoint);
    free(t);
    *self_p = NULL;
}

int aw_transport_new(const aw_transport_opts *opts, aw_transport_t **out)
{
    if (!out)
        return AW_EINVAL;
    *out = NULL;
    if (!opts || !opts->endpoint || !opts->cert_path)
        return AW_EINVAL;
    /* Daemons own SIGINT/SIGTERM; CZMQ must not install its handler. */
    zsys_handler_set(NULL);
    aw_transport_t *t = calloc(1, sizeof *t);
    if (!t)
        return AW_ENOMEM;
    int rc = AW_ENOMEM;
    if (!(t->endpoint = strdup(opts->endpoint)) || (rc = s_keys(opts, &t->cert)) != AW_OK ||
        (rc = s_socket(t, opts)) != AW_OK) {
        aw_transport_destroy(&t);
        return rc;
    }
    *out = t;
    return AW_OK;
}

int aw_transport_send(void *arg, const uint8_t *buf, size_t len)
{
    aw_transport_t *t = arg;
    if (zmq_send(zsock_resolve(t->sock), buf, len, ZMQ_DONTWAIT) < 0)
        return s_err(zmq_errno());
    return AW_OK;
}

int aw_transport_fd(const aw_transport_t *self)
{
    return zsock_fd(self->sock);
}

/* Receives one message and hands it to the uplink. A multi-frame message
 * is not ours: its frames are dropped. */
static int s_recv_one(aw_transport_t *t, aw_uplink_t *u, int64_t now)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, zsock_resolve(t->sock), ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno();
        zmq_msg_close(&msg);
        return s_err(e);
    }
    bool more = zmq_msg_more(&msg);
    if (!more)
        aw_uplink_receive(u, zmq_msg_data(&msg), zmq_msg_size(&msg), now);
    while (more) {
        zmq_msg_close(&msg);
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, zsock_resolve(t->sock), ZMQ_DONTWAIT) < 0)
            break;
        more = zmq_msg_more(&msg);
    }
    zmq_msg_close(&msg);
    return AW_OK;
}

/* Dials again on the same socket (its fd stays) when no connection came
 * for S_REDIAL_MS while the uplink waits for one. */
static void s_redial_if_stuck(aw_transport_t *t, const aw_uplink_t *u, int ev, int64_t now)
{
    if ((ev & ZMQ_POLLOUT) || aw_uplink_state_get(u) != AW_UPLINK_DOWN || t->link_ms == 0) {
        t->link_ms = now;
        return;
    }
    if (now - t->link_ms < S_REDIAL_MS)
        return;
    aw_warn("uplink: no connection to %s for %d s (refused handshake? is this edge's "
            "certificate in the center's allow-list?): dialling again",
            t->endpoint, S_REDIAL_MS / 1000);
    zsock_disconnect(t->sock, "%s", t->endpoint);
    if (zsock_connect(t->sock, "%s", t->endpoint) != 0)
        aw_error("uplink: cannot connect to %s: %s", t->endpoint, zmq_strerror(zmq_errno()));
    t->link_ms = now;
}

/* True when the uplink waits to reconnect and may do so now. */
static bool s_may_connect(const aw_uplink_t *u, int64_t now)
{
    return aw_uplink_state_get(u) == AW_UPLINK_DOWN && aw_uplink_next_retry_ms(u, now) == 0;
}

int aw_transport_process(aw_transport_t *self, aw_uplink_t *u, int64_t now_ms)
{
    for (;;) {
        int ev = zsock_events(self->sock);
        if (ev < 0)
            return s_err(zmq_errno());
        if (ev & ZMQ_POLLIN) {
            int rc = s_recv_one(self, u, now_ms);
            if (rc != AW_OK && rc != AW_EAGAIN)
                return rc;
            continue;
        }
        if ((ev & ZMQ_POLLOUT) && s_may_connect(u, now_ms)) {
            /* ZMQ_IMMEDIATE: writable means a connection is up. Hello's send
             * may eat the fd's edge: look at ZMQ_EVENTS again. */
            aw_uplink_connected(u, now_ms);
            continue;
        }
        s_redial_if_stuck(self, u, ev, now_ms);
        return AW_OK;
    }
}

int64_t aw_transport_next_ms(const aw_transport_t *self, const aw_uplink_t *u, int64_t now_ms)
{
    if (aw_uplink_state_get(u) != AW_UPLINK_DOWN)
        return aw_uplink_next_tick_ms(u, now_ms);
    int64_t retry = aw_uplink_next_retry_ms(u, now_ms);
    return retry > 0 ? retry : S_DIAL_POLL_MS;
}
