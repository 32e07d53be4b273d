/**
 * @file sirens.h
 * @brief Simulated sirens and loudspeakers: CoAP servers that accept an
 * alert (CAP 1.2 fields as JSON, SPEC §7) by POST on the path of their URI,
 * answer 2.04, and record what they got.
 *
 * Which sirens: with --sirens every siren and loudspeaker of the registry
 * (under --zone, if given), on the host:port and path of its `uri`; plus
 * each --siren [DEVICE=]URI. --bind-map FROM=TO binds a registry host:port
 * elsewhere (e.g. a field address onto loopback). coaps:// sirens speak
 * DTLS-PSK with the key file: a client must use an identity that owns the
 * siren device, as a device would demand; others get 4.03.
 *
 * For each POST: one JSON line appended to --siren-log (single write(2)),
 * e.g. {"device":"huaxin-siren-1","received":"2026-11-30T08:00:00.123Z",
 * "code":"2.04","identifier":"...","status":"Exercise","msgType":"Alert",
 * "event":"chemical leak","drill":true,...}, and one line on stderr. A drill
 * (status Exercise) is printed as "*** DRILL ***" and never as sounding; an
 * Actual alert prints "SOUNDING". --siren-fail DEVICE answers 5.03 (logged
 * with "code":"5.03"); a payload that is not a JSON object with string
 * identifier, status and msgType gets 4.00 (logged with "error").
 * Block-wise POSTs are reassembled before the alert is read.
 */
#ifndef AW_SIM_SIRENS_H
#define AW_SIM_SIRENS_H

#include <stddef.h>

#include <coap3/coap.h>

#include "devsim.h"
#include "psk.h"
#include "registry.h"
#include "stats.h"

typedef struct aw_sim_sirens aw_sim_sirens_t;

/**
 * Binds every siren of @p o on @p ctx (a context of their own: it gets
 * libcoap block mode and the server PSK). @p reg may be NULL when only
 * --siren URIs are given; @p psk may be NULL when no siren is coaps://.
 * Everything passed is borrowed until aw_sim_sirens_destroy(); @p log_fd is
 * an O_APPEND descriptor or -1. On success *out is the caller's. Returns
 * AW_OK, AW_ECONFIG (options that do not fit, with the fix in @p why),
 * AW_EAGAIN (an address cannot be bound), AW_ENOTFOUND (a host does not
 * resolve) or AW_ENOMEM.
 */
int aw_sim_sirens_new(const aw_sim_opts *o, const aw_registry_t *reg, const aw_sim_psk_table *psk,
                      coap_context_t *ctx, aw_sim_stats *stats, int log_fd, aw_sim_sirens_t **out,
                      char *why, size_t why_len);

/** Frees @p *p_p (the context's endpoints stay until the context is freed). Safe twice. */
void aw_sim_sirens_destroy(aw_sim_sirens_t **p_p);

/** Returns the number of sirens listening. */
size_t aw_sim_sirens_count(const aw_sim_sirens_t *p);

/** Returns true when writing the siren log failed. */
int aw_sim_sirens_log_failed(const aw_sim_sirens_t *p);

#endif
