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

#include <jansson.h>

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

/* ---- Workload federation (src/machine/fetch.c, federation.c) ---- */

struct config;
struct db;
struct netaddr;
struct store_wif_trust;
struct store_wif_rule;

#include "util/netaddr.h"

/*
 * Outbound https fetches under SECURITY.md DS-05 (fetch.c): the policy is
 * built from the settings outbound_allow_networks, outbound_allow_ports,
 * outbound_ca_file, outbound_connect_timeout, outbound_timeout and
 * outbound_max_size.
 */
struct fetch_policy {
	struct netaddr_list allow; /* special-purpose ranges allowed */
	uint16_t ports[NETADDR_PORTS_MAX];
	size_t n_ports;		       /* 0: 443 only */
	char *ca_file;		       /* NULL: the system's CAs */
	long connect_timeout, timeout; /* seconds */
	size_t max_size;	       /* bytes of a body */
};

int fetch_policy_init(const struct config *cfg, struct fetch_policy *p,
    char *err, size_t err_len) PC_WUR;
void fetch_policy_free(struct fetch_policy *p);
/* Whether a is special-purpose: loopback, private, link-local,
 * unspecified, multicast, shared, reserved, documentation, or an IPv6 form
 * that embeds an IPv4 address (IPv4-mapped ones are read as IPv4). */
bool fetch_addr_special(const struct netaddr *a);
/* port is 443, or in outbound_allow_ports when that list is set. */
bool fetch_port_allowed(const struct fetch_policy *p, unsigned port);
/* The port is allowed and a is not special or lies in the allow-list. */
bool fetch_addr_allowed(
    const struct fetch_policy *p, const struct netaddr *a, unsigned port);
/* Whether url may be fetched at all (https, no userinfo or fragment, an
 * allowed port): 0, or PC_ERR_INVALID with *why (may be NULL) set. The
 * address is checked at fetch time. */
int fetch_url_check(
    const struct fetch_policy *p, const char *url, const char **why) PC_WUR;
/*
 * GET url under the policy: *body (malloc'd, NUL-terminated) and *len on
 * status 200. PC_ERR_INVALID (URL refused), PC_ERR_PERM (no allowed
 * address, or the connection went elsewhere), PC_ERR_TOO_LARGE, PC_ERR_IO
 * (DNS, connect, TLS, timeout, status), PC_ERR_INTERNAL.
 */
int fetch_get(const struct fetch_policy *p, const char *url, char **body,
    size_t *len) PC_WUR;

/* Clock skew allowed on external tokens (JW-04: at most 60 s). */
#define WIF_LEEWAY 30
#define WIF_MAX_LIFETIME_DEFAULT 3600
#define WIF_MAX_LIFETIME_MIN 60
#define WIF_MAX_LIFETIME_MAX 86400
#define WIF_ALGS_DEFAULT "ES256 RS256 PS256 EdDSA"
#define WIF_SUB_MAX 512
#define WIF_JTI_MAX 256
#define WIF_CLAIMS_MAX 16

/*
 * Adds a trust (t->trust_id is set here): issuer an https URL; exactly
 * one of jwks (a public JWKS, each key usable with one of algs) and
 * jwks_uri (fetch_url_check); audience non-empty; algs a space-separated
 * subset of ES256 RS256 PS256 EdDSA; max_lifetime in
 * WIF_MAX_LIFETIME_MIN..MAX. PC_ERR_INVALID with *why, PC_ERR_CONFLICT
 * when the issuer is taken, or a store error.
 */
int wif_trust_add(struct db *db, const struct fetch_policy *p,
    struct store_wif_trust *t, int64_t now, const char **why) PC_WUR;
/*
 * Appends a rule: sub_pattern 1..256 bytes, no control characters, not
 * only '*'; claims NULL or a JSON object of at most WIF_CLAIMS_MAX
 * string members (not iss, sub, aud, exp, nbf, iat, jti); an existing
 * service account;
 * scopes NULL or valid scope tokens. PC_ERR_INVALID with *why,
 * PC_ERR_NOT_FOUND for an unknown trust, or a store error.
 */
int
wif_rule_add(struct db *db, const char *trust_id, struct store_wif_rule *rule,
    int64_t now, int64_t *rule_no, const char **why) PC_WUR;
/* The pattern language of rules: '*' matches any run of characters
 * (also none), everything else itself; the whole sub must match. */
bool wif_sub_match(const char *pattern, const char *sub);
/* Every member of claims (an object of strings) equals payload's. */
bool wif_claims_match(const json_t *claims, const json_t *payload);

/* What a verified subject token maps to. */
struct wif_match {
	char trust_id[PRINCIPAL_ID_MAX + 1];
	char service_account_id[PRINCIPAL_ID_MAX + 1];
	char *scopes;  /* the rule's; NULL: no narrowing */
	char *subject; /* the token's sub, for the audit row */
	int64_t rule_no;
	char jti_hash[PC_SHA256_HEX_LEN + 1];
	int64_t accept_until; /* exp + leeway: the replay row's life */
};
void wif_match_clear(struct wif_match *m);

/*
 * Verifies a workload's subject token (SECURITY.md JW-01..08, TX-05): the
 * trust is the one whose issuer is the token's iss; its keys (inline, or
 * its jwks_uri fetched under DS-05 and cached for jwks_cache_ttl; an
 * unknown kid refetches at most once per jwks_refetch_interval) and algs
 * only; typ absent or JWT; aud contains the trust's audience; exp
 * required, not past (WIF_LEEWAY), nbf and iat not ahead, lifetime at
 * most the trust's; sub and jti required; the first rule that matches.
 * Does not consume the jti (wif_jti_consume). 0; PC_ERR_VERIFY for any
 * token refused (*why says why, for the log only); PC_ERR_STORE or
 * PC_ERR_IO when the store or the JWKS is unavailable (fail closed).
 */
int wif_verify(struct db *db, const struct config *cfg, const char *token,
    size_t len, int64_t now, struct wif_match *out, const char **why) PC_WUR;
/* TX-05: 0 the first time, PC_ERR_VERIFY for a replay, or a store error. */
int
wif_jti_consume(struct db *db, const struct wif_match *m, int64_t now) PC_WUR;
/* wif_ liveness: 0 while the trust is configured, PC_ERR_VERIFY once
 * deleted, PC_ERR_STORE when the store fails. */
int wif_trust_live(struct db *db, const char *trust_id) PC_WUR;
/* Forgets every cached JWKS (tests, and a trust's deletion). */
void wif_jwks_cache_clear(void);

/* ---- end Workload federation ---- */

#endif
