#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int s_copy(char *dst, size_t cap, const uint8_t *src, size_t len)
{
    if (len >= cap)
        return AW_ETOOBIG;
    if (len > 0)
        memcpy(dst, src, len);
    dst[len] = '\0';
    return AW_OK;
}

int aw_sim_uri_parse(const char *text, aw_sim_uri *out, char *why, size_t why_len)
{
    coap_uri_t u;
    memset(out, 0, sizeof *out);
    if (strncmp(text, "coap://", 7) != 0 && strncmp(text, "coaps://", 8) != 0) {
        snprintf(why, why_len, "\"%s\": only coap:// and coaps:// URIs are supported", text);
        return AW_EINVAL;
    }
    if (coap_split_uri((const uint8_t *)text, strlen(text), &u) < 0 || u.host.length == 0) {
        snprintf(why, why_len, "\"%s\" is not a CoAP URI (e.g. coap://127.0.1.1:5683)", text);
        return AW_EINVAL;
    }
    if (u.query.length > 0) {
        snprintf(why, why_len, "\"%s\": a query (?...) is not supported here", text);
        return AW_EINVAL;
    }
    if (s_copy(out->host, sizeof out->host, u.host.s, u.host.length) != AW_OK ||
        s_copy(out->path, sizeof out->path, u.path.s, u.path.length) != AW_OK) {
        snprintf(why, why_len, "\"%.60s...\": host or path too long", text);
        return AW_EINVAL;
    }
    out->secure = u.scheme == COAP_URI_SCHEME_COAPS;
    out->port = u.port;
    return AW_OK;
}

int aw_sim_resolve(const char *host, uint16_t port, coap_address_t *out, char *why, size_t why_len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *res = NULL;
    int rv = getaddrinfo(host, NULL, &hints, &res);
    if (rv != 0 || !res) {
        snprintf(why, why_len, "cannot resolve \"%s\": %s", host, gai_strerror(rv));
        return AW_ENOTFOUND;
    }
    coap_address_init(out);
    out->size = res->ai_addrlen;
    memcpy(&out->addr, res->ai_addr, res->ai_addrlen);
    if (res->ai_family == AF_INET6)
        out->addr.sin6.sin6_port = htons(port);
    else
        out->addr.sin.sin_port = htons(port);
    freeaddrinfo(res);
    return AW_OK;
}

void aw_sim_addr_str(const coap_address_t *a, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (a->addr.sa.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &a->addr.sin6.sin6_addr, ip, sizeof ip);
        snprintf(buf, len, "[%s]:%u", ip, ntohs(a->addr.sin6.sin6_port));
    } else {
        inet_ntop(AF_INET, &a->addr.sin.sin_addr, ip, sizeof ip);
        snprintf(buf, len, "%s:%u", ip, ntohs(a->addr.sin.sin_port));
    }
}

int aw_sim_addr_equal(const coap_address_t *a, const coap_address_t *b)
{
    return coap_address_equals(a, b);
}

int aw_sim_udp_port_free(const coap_address_t *a, char *why, size_t why_len)
{
    int fd = socket(a->addr.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, &a->addr.sa, a->size) == 0) {
        if (fd >= 0)
            close(fd);
        return AW_OK; /* no socket at all: let the real bind report it */
    }
    snprintf(why, why_len, "%s", strerror(errno));
    close(fd);
    return AW_EAGAIN;
}
