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

/* ---- Service accounts (src/machine/service_account.c) ---- */

struct db;
struct scope_set;
struct store_service_account;

#define SA_NAME_MAX 64 /* [A-Za-z0-9._-], starting with one of [A-Za-z0-9] */
#define SA_DESCRIPTION_MAX 256 /* printable text, no control characters */
#define SA_RESOURCES_MAX 16    /* resource URIs of one service account */
#define SA_RESOURCE_URI_MAX 2048
#define SA_EXPIRES_MIN 60		    /* --expires bounds, seconds */
#define SA_EXPIRES_MAX (10 * 366 * 86400LL) /* ten years */

/*
 * What add and update set. add: NULL or unset members take the default
 * (no description, owner, scopes or resources; no expiry). update: NULL
 * or unset members are left alone; owner_id "" removes the owner,
 * set_expires with expires_in 0 removes the expiry.
 */
struct sa_fields {
	const char *name;
	const char *description;
	const char *owner_id; /* an existing usr_ or grp_ */
	const char *scopes;   /* scope syntax (RFC 6749 3.3), no openid or
				 offline_access: there is no user */
	const char *const *resources; /* RFC 8707 URIs */
	size_t n_resources;
	bool set_resources;
	int64_t expires_in; /* seconds from now */
	bool set_expires;
};

/*
 * A name as service accounts and groups take it. Pure.
 */
bool machine_name_valid(const char *name);
/*
 * "90d", "12h", "30m", "3600s", "2w" or a plain number of seconds into
 * *out. PC_ERR_INVALID for anything else, for 0 and on overflow. Pure.
 */
int machine_duration_parse(const char *s, int64_t *out) PC_WUR;
/*
 * Whether uri may be a resource of a service account (RFC 8707 2):
 * absolute https (http only to 127.0.0.1 / [::1] / localhost), a host,
 * no fragment, query, userinfo, space or control character. Pure.
 */
bool machine_resource_uri_valid(const char *uri);

/*
 * Creates a service account with a new svc_ id into *out (clear it). 0;
 * PC_ERR_INVALID with *why (static text) for a field that breaks a rule
 * or an owner that does not exist; PC_ERR_CONFLICT when the name is
 * taken; a store error.
 */
int service_account_create(struct db *db, const struct sa_fields *f,
    int64_t now, struct store_service_account *out, const char **why) PC_WUR;
/*
 * Changes the given fields of id; *out gets the account as stored.
 * PC_ERR_NOT_FOUND for no such account; otherwise as create.
 */
int
service_account_update(struct db *db, const char *id, const struct sa_fields *f,
    int64_t now, struct store_service_account *out, const char **why) PC_WUR;
/*
 * Disables (SS-08 for machines: its tokens die at their next check, see
 * machine_principal_live; its clients get no new ones) or enables it.
 * PC_ERR_NOT_FOUND for no such account.
 */
int service_account_set_disabled(
    struct db *db, const char *id, bool disabled, int64_t now) PC_WUR;
/*
 * Deletes it for good (its id never comes back): its memberships and the
 * clients bound to it go in the same transaction; *clients / *n (may be
 * NULL; store_strv_free) name the clients deleted. PC_ERR_NOT_FOUND.
 */
int service_account_delete(struct db *db, const char *id, int64_t now,
    char ***clients, size_t *n) PC_WUR;
/* Whether sa may get tokens at now: not disabled, not expired. Pure. */
bool
service_account_usable(const struct store_service_account *sa, int64_t now);
/*
 * The scopes sa's tokens may carry: its own and those of every group it
 * belongs to (a union; at most SCOPE_MAX, the rest are not granted). out
 * is empty on error (scope_set_free it either way).
 */
int service_account_scopes(struct db *db,
    const struct store_service_account *sa, struct scope_set *out) PC_WUR;
/* Whether sa may get a token for resource uri: its list has it, or its
 * list is empty (any registered resource, within its scopes). Pure. */
bool service_account_resource_allowed(
    const struct store_service_account *sa, const char *uri);

/* ---- end Service accounts ---- */

/* ---- Groups (src/machine/group.c) ---- */

struct store_group;

#define GROUP_NAME_MAX SA_NAME_MAX
#define GROUP_CLAIM_MAX 64 /* groups named in one "groups" claim */

/*
 * A new group with a new grp_ id into *out (store_group_clear it).
 * PC_ERR_INVALID with *why; PC_ERR_CONFLICT when the name is taken.
 */
int group_create(struct db *db, const char *name, const char *description,
    const char *scopes, int64_t now, struct store_group *out,
    const char **why) PC_WUR;
/*
 * Adds member_id, an existing user or service account, to group_id.
 * *added (may be NULL) false: it was a member already. PC_ERR_INVALID with
 * *why for an id that is neither; PC_ERR_NOT_FOUND for a group or member
 * that does not exist.
 */
int group_member_add(struct db *db, const char *group_id, const char *member_id,
    int64_t now, bool *added, const char **why) PC_WUR;
/* PC_ERR_NOT_FOUND when member_id is not in group_id. */
int group_member_remove(
    struct db *db, const char *group_id, const char *member_id) PC_WUR;
/* PC_ERR_NOT_FOUND; PC_ERR_CONFLICT while it owns a service account. */
int group_delete(struct db *db, const char *id, int64_t now) PC_WUR;
/*
 * The names of the groups member_id belongs to, sorted, at most
 * GROUP_CLAIM_MAX (the "groups" claim). store_strv_free(*names, *n).
 */
int group_names_of(
    struct db *db, const char *member_id, char ***names, size_t *n) PC_WUR;

/* ---- end Groups ---- */

/* ---- Liveness (src/machine/live.c) ---- */

/*
 * Whether a token issued to principal sub through credential_id is still
 * alive at now, checked at every verification at our endpoints
 * (bearer_verify; SS-08 for machines). sub: a service account (exists,
 * not disabled, not expired) or a user (exists, not disabled).
 * credential_id (may be NULL: the principal alone, e.g. an owner): an
 * API key (key_), a workload trust (wif_), or else the client the token
 * was issued to (nothing more to check: the principal carries it). 0 alive, PC_ERR_VERIFY dead or
 * not a principal we know, PC_ERR_STORE when the store cannot answer
 * (fail closed: 503).
 */
int machine_principal_live(struct db *db, const char *sub,
    const char *credential_id, int64_t now) PC_WUR;
/*
 * The same for a token issued at iat (bearer_verify calls this one): also
 * dead when issued at or before the service account's last disable, so
 * enabling it again does not bring back what the disable revoked.
 */
int machine_token_live(struct db *db, const char *sub,
    const char *credential_id, int64_t iat, int64_t now) PC_WUR;

/* ---- end Liveness ---- */
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
