/*
 * machine: the domain of identities that are not people and of what they
 * are allowed to reach (issue 14; SECURITY.md section M, TX-07) — service
 * accounts, groups, the registry of resources (RFC 8707), API keys,
 * workload federation, and the inventory. Handlers (oauth/, web/) and the
 * CLI call these functions, never store_* for these tables.
 *
 * Every principal and credential has a typed id whose prefix says what it
 * is; principal_kind() reads it. Ids are never reused.
 */
#ifndef PC_MACHINE_H
#define PC_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* ---- Principal ids (src/machine/principal.c) ---- */

enum principal_kind {
	PRINCIPAL_NONE = 0,	   /* not an id we issue */
	PRINCIPAL_USER,		   /* usr_ : a person */
	PRINCIPAL_SERVICE_ACCOUNT, /* svc_ : a machine principal */
	PRINCIPAL_GROUP,	   /* grp_ : users and service accounts */
	PRINCIPAL_CLIENT,	   /* pcc_ : an OAuth client */
	PRINCIPAL_API_KEY,	   /* key_ : an API key (its non-secret id) */
	PRINCIPAL_WORKLOAD,	   /* wif_ : a workload-federation trust */
};

/* "svc_", "grp_" and "wif_" ids: prefix + 22 base64url characters of 128
 * random bits, like users and clients. */
#define PRINCIPAL_ID_RANDOM_BYTES 16
#define PRINCIPAL_ID_LEN 26
#define PRINCIPAL_ID_MAX 64 /* any id above, with room */

/*
 * A new id for kind (PRINCIPAL_SERVICE_ACCOUNT, PRINCIPAL_GROUP or
 * PRINCIPAL_WORKLOAD); out gets PRINCIPAL_ID_LEN characters and a NUL.
 * PC_ERR_INVALID for any other kind.
 */
int principal_id_new(
    enum principal_kind kind, char out[PRINCIPAL_ID_LEN + 1]) PC_WUR;
/*
 * What the text is, by its prefix and shape: a user, service account,
 * group, client or workload id must be prefix + 22 base64url characters,
 * an API key id "key_" + 16 base62 characters; anything else is
 * PRINCIPAL_NONE. Pure: no store access.
 */
enum principal_kind principal_kind(const char *id);
/* The kind's prefix ("svc_", ...), or "" for PRINCIPAL_NONE. */
const char *principal_prefix(enum principal_kind kind);

/* ---- end Principal ids ---- */

/* ---- Resources (src/machine/resource.c; issue 14 item 2, RFC 8707) ---- */

#include "store/store_resources.h"

#define RESOURCE_URI_MAX 512 /* bytes: it travels as the aud claim */
#define RESOURCE_NAME_MAX 256

/*
 * Whether uri may name a resource: the issuer's rules (config_url_split:
 * https://, or http:// only to a loopback host; printable ASCII, no
 * query, fragment or userinfo), a host[:port] that parses, lower-case
 * scheme and host (one resource, one spelling: aud is compared byte for
 * byte), no dot segment, at most RESOURCE_URI_MAX bytes. 0, or
 * PC_ERR_INVALID with *why (static text).
 */
int resource_uri_check(const char *uri, const char **why) PC_WUR;
/*
 * The scopes a resource knows: a scope string (scope_parse) of at least
 * one scope, without openid or offline_access (they are about a user, not
 * an API). 0, or PC_ERR_INVALID with *why.
 */
int resource_scopes_check(const char *scopes, const char **why) PC_WUR;
/*
 * Checks r (id, name: defaults to the id, scopes; client_id when not NULL
 * must name a confidential client not bound to another resource), sets
 * its times and stores it. PC_ERR_INVALID with *why; PC_ERR_CONFLICT when
 * the id is taken or the client is bound elsewhere; PC_ERR_NOT_FOUND when
 * the client does not exist.
 */
int resource_create(struct db *db, struct store_resource *r, int64_t now,
    const char **why) PC_WUR;
/* The resource uri names; PC_ERR_NOT_FOUND for an unknown or malformed
 * one. store_resource_clear it. */
int
resource_get(struct db *db, const char *uri, struct store_resource *out) PC_WUR;
/* The resource client_id introspects for (PC_ERR_NOT_FOUND: a plain
 * client). */
int resource_for_client(
    struct db *db, const char *client_id, struct store_resource *out) PC_WUR;
int resource_list(struct db *db, struct store_resource **out, size_t *n) PC_WUR;
/* PC_ERR_NOT_FOUND when absent. Its client stays (the CLI says so). */
int resource_delete(struct db *db, const char *uri) PC_WUR;

/* ---- end Resources ---- */

#endif
