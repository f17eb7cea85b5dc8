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

/* ---- Inventory (src/machine/inventory.c) ---- */

struct db;

/* The report's thresholds (days). */
#define INVENTORY_UNUSED_DAYS 30   /* "unused": no use for this long */
#define INVENTORY_EXPIRING_DAYS 14 /* "expiring": ends within this */
#define INVENTORY_SCOPE_DAYS 30	   /* "scopes_unused": over this window */

/* What needs action; a principal's or a credential's flags. */
enum inventory_flag {
	INVENTORY_UNUSED = 1u << 0,	    /* not used for 30 days */
	INVENTORY_EXPIRING = 1u << 1,	    /* expires within 14 days */
	INVENTORY_EXPIRED = 1u << 2,	    /* past its expiry, still there */
	INVENTORY_DISABLED = 1u << 3,	    /* the principal is disabled */
	INVENTORY_OWNER_DISABLED = 1u << 4, /* its owner is disabled */
	INVENTORY_OWNER_MISSING = 1u << 5,  /* its owner is gone */
	INVENTORY_NO_EXPIRY = 1u << 6,	   /* a shared secret that never ends */
	INVENTORY_SCOPES_UNUSED = 1u << 7, /* allowed more than it used */
};
#define INVENTORY_FLAG_COUNT 8
/* "unused", "expiring", ... for one bit; "" for anything else. */
const char *inventory_flag_name(unsigned bit);

/*
 * One credential: what obtains tokens for owner. kind is "password",
 * "client_secret", "private_key_jwt", "public_client", "api_key" or
 * "workload". Times are unix seconds, 0 for none (no expiry, never used,
 * unknown). scopes is what it may be granted (NULL: not scoped that way);
 * used_scopes what its tokens of the last 30 days carried (NULL: no token
 * with a recorded scope), unused_scopes the allowed ones among them never
 * seen (NULL unless INVENTORY_SCOPES_UNUSED).
 */
struct inventory_credential {
	const char *kind;
	char *id;
	char *owner;
	int64_t created_at;
	int64_t expires_at;
	int64_t last_used_at;
	char *scopes;
	char *resource;
	char *used_scopes;
	char *unused_scopes;
	unsigned flags;
};

/*
 * One principal: kind "user", "service_account" or "client" (a client
 * that acts for itself; a client bound to a service account is one of
 * that account's credentials). owner: who answers for it (NULL: none).
 */
struct inventory_principal {
	const char *kind;
	char *id;
	char *name;
	char *owner;
	int64_t created_at;
	int64_t expires_at;
	int64_t disabled_at;
	unsigned flags;
	struct inventory_credential *creds;
	size_t n_creds, cap_creds;
};

struct inventory {
	int64_t now;
	struct inventory_principal *v;
	size_t n, cap;
};

/*
 * Every principal and credential as stored at now, with last use and
 * scopes used from the audit log (token.issue rows; a password's last
 * use is its newest sign-in) and the flags above. Reads only. 0, or the
 * store's error (then *out holds nothing).
 */
int inventory_build(struct db *db, int64_t now, struct inventory *out) PC_WUR;
void inventory_free(struct inventory *inv);
/* How many principals and credentials carry flag (one bit). */
size_t inventory_count(const struct inventory *inv, unsigned flag);

/* ---- end Inventory ---- */

#endif
