/**
 * @file netaddr.h
 * @brief CoAP URIs and socket addresses for the simulator: parse
 * `coap://host[:port][/path]` and `coaps://...` (IPv6 literals in
 * brackets), resolve a host, print an address.
 */
#ifndef AW_SIM_NETADDR_H
#define AW_SIM_NETADDR_H

#include <stddef.h>
#include <stdint.h>

#include <coap3/coap.h>

#include "aw_err.h"

#define AW_SIM_HOST_MAX 256
#define AW_SIM_PATH_MAX 256

/** A parsed coap:// or coaps:// URI. */
typedef struct aw_sim_uri {
    int secure;                 /**< coaps:// (DTLS) */
    char host[AW_SIM_HOST_MAX]; /**< without brackets */
    uint16_t port;              /**< 5683 / 5684 when absent */
    char path[AW_SIM_PATH_MAX]; /**< without the leading '/', may be "" */
} aw_sim_uri;

/**
 * Parses @p text. Returns AW_OK or AW_EINVAL with a reason in @p why
 * (e.g. "only coap:// and coaps:// are supported").
 */
int aw_sim_uri_parse(const char *text, aw_sim_uri *out, char *why, size_t why_len);

/**
 * Resolves @p host (a literal or a name) and @p port into @p out.
 * Returns AW_OK or AW_ENOTFOUND with a reason in @p why.
 */
int aw_sim_resolve(const char *host, uint16_t port, coap_address_t *out, char *why, size_t why_len);

/**
 * Checks that no other socket holds UDP address @p a, by binding a probe
 * socket without SO_REUSEADDR (libcoap binds with it, so two servers could
 * otherwise share a port silently and split the traffic). Returns AW_OK,
 * or AW_EAGAIN with the reason in @p why.
 */
int aw_sim_udp_port_free(const coap_address_t *a, char *why, size_t why_len);

/** Writes "127.0.0.1:5683" or "[::1]:5683" into @p buf. */
void aw_sim_addr_str(const coap_address_t *a, char *buf, size_t len);

/** Returns true when two addresses have the same IP and port. */
int aw_sim_addr_equal(const coap_address_t *a, const coap_address_t *b);

#endif
