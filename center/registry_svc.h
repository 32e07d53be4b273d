/**
 * @file registry_svc.h
 * @brief The county registry at the center: the stored JSON, the parsed
 * current registry every other module reads, import (validate whole file →
 * store → rebuild the picture → push each edge its zone), all in one
 * transaction so a bad or failed import changes nothing.
 *
 * Everyone asks aw_registry_svc_current() when they need the registry and
 * does not keep the pointer past the current loop turn: an import replaces
 * it. Single-threaded (the center's loop).
 */
#ifndef AW_CENTER_REGISTRY_SVC_H
#define AW_CENTER_REGISTRY_SVC_H

#include <stddef.h>
#include <stdint.h>

#include "aw_err.h"
#include "db.h"
#include "picture.h"
#include "registry.h"

typedef struct aw_registry_svc aw_registry_svc_t;

/**
 * Loads the stored registry (if any), points @p pic at it and rebuilds the
 * picture when it was built for another version (not on a read-only store:
 * the center does that at its start). @p pic is borrowed and must outlive
 * the service. Returns AW_OK, AW_EINVAL, AW_ENOMEM, AW_ECORRUPT (the stored
 * JSON no longer parses) or a store error.
 */
int aw_registry_svc_open(aw_center_db_t *db, aw_picture_t *pic, int64_t now_ms,
                         aw_registry_svc_t **out);

/** Frees the service and its registry (the picture is pointed at none) and nulls *self_p. */
void aw_registry_svc_destroy(aw_registry_svc_t **self_p);

/** The registry in force, or NULL before the first import. Borrowed (see file comment). */
const aw_registry_t *aw_registry_svc_current(const aw_registry_svc_t *self);

/** What an import did. */
typedef struct aw_registry_put_report {
    uint64_t version;
    size_t zones;
    size_t edges_pushed; /**< edges (known, zone in the registry) that got their extract queued */
} aw_registry_put_report;

/**
 * Imports @p len bytes of registry JSON: validated whole (aw_registry_parse),
 * then in one transaction stored, the picture rebuilt for it, and each edge
 * that said Hello and whose zone the registry has queued
 * Down{registry = its zone's extract} for its current epoch (edges that
 * never said Hello get it in their first snapshot). Returns AW_OK;
 * AW_EINVAL with @p errs filled (invalid; also a zone extract, "$.zone:
 * ..."); AW_ETOOBIG; AW_ESTATE when its version is not above the stored one
 * (@p errs gets one message: "$.version: 7 is not above the stored version
 * 7; raise it"); AW_ENOMEM; a store error. On any error nothing changed,
 * and the registry in force is the old one. @p errs and @p rep may be NULL.
 */
int aw_registry_svc_put(aw_registry_svc_t *self, const char *json, size_t len, int64_t now_ms,
                        aw_registry_errors *errs, aw_registry_put_report *rep);

/** The stored JSON (as imported). *json is the caller's (free()). AW_ENOTFOUND before any. */
int aw_registry_svc_json(aw_registry_svc_t *self, char **json, size_t *len);

#endif
