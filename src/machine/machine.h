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
/* group_get: PC_ERR_NOT_FOUND also for a non-grp_ id; group_list: by
 * name; group_members: sorted ids; group_scopes_of: the union of
 * member_id's groups' scopes (scope_set_free it). */
int group_get(struct db *db, const char *id, struct store_group *out) PC_WUR;
int group_list(struct db *db, struct store_group **out, size_t *n) PC_WUR;
int group_members(struct db *db, const char *id, char ***out, size_t *n) PC_WUR;
int group_scopes_of(
    struct db *db, const char *member_id, struct scope_set *out) PC_WUR;
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
/*
 * Writes r's name, scopes and dpop_required (checked as for
 * resource_create) and sets updated_at. PC_ERR_INVALID with *why;
 * PC_ERR_NOT_FOUND for an unknown or malformed id.
 */
int resource_update(struct db *db, struct store_resource *r, int64_t now,
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
/*
 * The protected resource metadata (RFC 9728 2; SECURITY.md CR-06) the
 * server of r serves: resource (r's id, byte for byte), the one
 * authorization server issuer, r's scopes, bearer tokens in the header
 * only, its name, and dpop_bound_access_tokens_required when r requires
 * DPoP. New reference.
 */
json_t *resource_metadata(const struct store_resource *r, const char *issuer);
/*
 * Where that document is served (RFC 9728 3.1): the well-known suffix
 * inserted between uri's host and its path ("https://a.example/mcp" ->
 * "https://a.example/.well-known/oauth-protected-resource/mcp"). uri must
 * have passed resource_uri_check. malloc'd.
 */
char *resource_metadata_url(const char *uri);

/* ---- end Resources ---- */
/* ---- API key format (src/machine/apikey_format.c) ---- */

/*
 * The API key format (SECURITY.md Part 2.7, AK-01, AK-02):
 *
 *	pck_<sa|usr>_<16 base62 key id>_<43 base62 secret><6 base62 check>
 *
 * base62 is the alphabet 0-9A-Za-z (in that order: '0' is 0, 'A' is 10,
 * 'a' is 36). The check is the CRC32 (zlib's crc32(), the IEEE
 * polynomial) of every character before it, written as a big-endian
 * base62 number of exactly 6 digits ('0'-padded; 62^6 > 2^32). The key id
 * is not secret ("key_" + it is the key's public id); the secret is drawn
 * uniformly per character by rejection sampling from the CSPRNG, 43
 * characters carrying 43 * log2(62) = 256.03 bits. Only the hex SHA-256
 * of the secret's 43 characters is ever stored.
 *
 * Secret scanners match it with
 *	pck_(sa|usr)_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}
 * bounded by characters that are not alphanumeric (or the text's ends).
 */
enum apikey_kind {
	APIKEY_NONE = 0,
	APIKEY_SA,  /* "sa": owned by a service account */
	APIKEY_USR, /* "usr": a personal key, owned by a user */
};

#define APIKEY_PREFIX "pck_"
#define APIKEY_ID_CHARS 16
#define APIKEY_SECRET_CHARS 43
#define APIKEY_CHECK_CHARS 6
/* "pck_usr_" + id + "_" + secret + check */
#define APIKEY_MAX_LEN \
	(8 + APIKEY_ID_CHARS + 1 + APIKEY_SECRET_CHARS + APIKEY_CHECK_CHARS)
/* The public id: "key_" + the 16-character key id. */
#define APIKEY_PUBLIC_ID_LEN (4 + APIKEY_ID_CHARS)

/* A key taken apart. secret is a secret: wipe it (apikey_parts_wipe). */
struct apikey_parts {
	enum apikey_kind kind;
	char key_id[APIKEY_ID_CHARS + 1];
	char secret[APIKEY_SECRET_CHARS + 1];
};

/*
 * Strict parse of exactly len bytes: prefix, type tag, lengths, alphabet
 * and checksum must all be right, else PC_ERR_INVALID (out wiped). Pure:
 * no store access, so a malformed key is refused before any (AK-03).
 */
int apikey_parse(const char *s, size_t len, struct apikey_parts *out) PC_WUR;
/*
 * A new key of kind: a fresh key id and secret; out gets both, key the
 * whole key (APIKEY_MAX_LEN + 1 bytes). PC_ERR_INVALID for a bad kind.
 */
int apikey_generate(enum apikey_kind kind, struct apikey_parts *out,
    char key[APIKEY_MAX_LEN + 1]) PC_WUR;
/* The whole key for parts (checksum computed); PC_ERR_INVALID when a part
 * has the wrong length or alphabet. */
int apikey_format(
    const struct apikey_parts *parts, char key[APIKEY_MAX_LEN + 1]) PC_WUR;
/* The 6-character check of the n bytes at s (NUL-terminated out). */
void apikey_checksum(const char *s, size_t n, char out[APIKEY_CHECK_CHARS + 1]);
/*
 * Base62 characters from random bytes by rejection: a byte b < 248
 * (4 * 62) gives the digit b % 62, uniformly; 248..255 are dropped.
 * Writes at most want characters to out from the n bytes; returns how
 * many it wrote.
 */
size_t apikey_base62_from_bytes(
    const uint8_t *bytes, size_t n, char *out, size_t want);
/* The hex SHA-256 of a secret (what the store keeps). */
void apikey_secret_hash(const char secret[APIKEY_SECRET_CHARS + 1],
    char out[PC_SHA256_HEX_LEN + 1]);
/* "key_" + the key id. */
void apikey_public_id(
    const char key_id[APIKEY_ID_CHARS + 1], char out[APIKEY_PUBLIC_ID_LEN + 1]);
/* The key id inside a public id "key_…", or PC_ERR_INVALID. */
int apikey_id_from_public(
    const char *public_id, char key_id[APIKEY_ID_CHARS + 1]) PC_WUR;
void apikey_parts_wipe(struct apikey_parts *p);
const char *apikey_kind_tag(enum apikey_kind kind); /* "sa", "usr" or "" */

/*
 * Calls found(p, n, arg) for every candidate in the len bytes of text:
 * a match of the scanner regex above, not preceded or followed by an
 * alphanumeric character. Candidates are not checked (checksum, ...):
 * give them to apikey_parse(). A non-zero return from found stops the
 * scan and is returned; otherwise 0.
 */
int apikey_scan(const char *text, size_t len,
    int (*found)(const char *p, size_t n, void *arg), void *arg);

/* ---- end API key format ---- */

/* ---- API keys (src/machine/apikey.c) ---- */

struct db;
struct config;
struct store_api_key;

#define APIKEY_NAME_MAX 128 /* printable text */

/* What apikey_create makes. */
struct apikey_request {
	const char *owner_id;	 /* a live svc_ or usr_ */
	const char *scopes;	 /* at least one scope */
	const char *resource_id; /* NULL: none (any resource, within scope) */
	const char *name;	 /* NULL: "" */
	int64_t ttl;		 /* seconds; 0: api_key_default_ttl */
};

/*
 * Creates a key for rq (AK-01, AK-04, AK-05): a live owner, scopes it may
 * hold, a registered resource (if any), an expiry within
 * api_key_max_ttl. out gets the stored row (store_api_key_clear it), key
 * the whole key (shown once; wipe it). PC_ERR_INVALID with *why (static
 * text) for a request that breaks a rule.
 */
int apikey_create(struct db *db, const struct config *cfg,
    const struct apikey_request *rq, int64_t now, struct store_api_key *out,
    char key[APIKEY_MAX_LEN + 1], const char **why) PC_WUR;
/* The key with public id "key_…"; PC_ERR_NOT_FOUND (also for an id that
 * is not one). */
int apikey_get(
    struct db *db, const char *public_id, struct store_api_key *out) PC_WUR;
/* Every key, or owner_id's; store_api_keys_free. */
int apikey_list(struct db *db, const char *owner_id, struct store_api_key **out,
    size_t *n) PC_WUR;
/* Revokes public_id (reason: "operator", "owner", "leaked", ...);
 * *changed false when it was revoked already. PC_ERR_NOT_FOUND. */
int apikey_revoke(struct db *db, const char *public_id, int64_t now,
    const char *reason, bool *changed) PC_WUR;
/*
 * Overlapping rotation (AK-05): a successor with the same owner, name,
 * scopes and resource and a fresh lifetime of the old key's length
 * (capped by api_key_max_ttl); the old key then ends at now + overlap
 * (never later than its own expiry). overlap < 0: api_key_rotate_overlap.
 * PC_ERR_NOT_FOUND for a key that is missing, revoked, expired or
 * rotated already; PC_ERR_INVALID with *why for a dead owner.
 */
int
apikey_rotate(struct db *db, const struct config *cfg, const char *public_id,
    int64_t overlap, int64_t now, struct store_api_key *out,
    char key[APIKEY_MAX_LEN + 1], const char **why) PC_WUR;

/* Why apikey_verify refused, for logs and tests only: every refusal looks
 * the same to the presenter. */
enum apikey_refusal {
	APIKEY_OK = 0,
	APIKEY_MALFORMED, /* format or checksum: no store access was made */
	APIKEY_UNKNOWN,	  /* no such key id, or the secret does not match */
	APIKEY_REVOKED,
	APIKEY_EXPIRED,
	APIKEY_OWNER_DEAD,
};

/* What a successful verification learned. */
struct apikey_use {
	enum apikey_refusal refusal;
	/* The use was recorded (last_used_at, at most once per
	 * api_key_use_interval) and is the key's first of this UTC day:
	 * the caller audits api_key.use. */
	bool audit_use;
};

/*
 * AK-03: the presented key (len bytes) is parsed and its checksum checked
 * first; a malformed one is refused before any store access. Then the
 * row is read by key id and the SHA-256 of the secret compared in
 * constant time (sodium_memcmp); a revoked or expired key or a dead owner
 * is refused. 0 with *out the row (store_api_key_clear it);
 * PC_ERR_VERIFY for every refusal (use->refusal says which, for logs);
 * PC_ERR_STORE when the store cannot answer. ip (may be NULL) is
 * recorded as last_used_ip.
 */
int apikey_verify(struct db *db, const struct config *cfg, const char *key,
    size_t len, const char *ip, int64_t now, struct store_api_key *out,
    struct apikey_use *use) PC_WUR;
/*
 * Whether the key with public id "key_…" is alive at now: exists, not
 * revoked, not past expires_at, owner alive (machine_principal_live's
 * key_ part). 0, PC_ERR_VERIFY, PC_ERR_STORE.
 */
int apikey_live(struct db *db, const char *public_id, int64_t now) PC_WUR;
/* What apikey_revoke_exposed found. */
enum apikey_exposure {
	APIKEY_EXPOSED_NOT_A_KEY = 0, /* format or checksum fails */
	APIKEY_EXPOSED_UNKNOWN,	      /* a look-alike: not a secret of ours */
	APIKEY_EXPOSED_REVOKED,	      /* ours, revoked by this call */
	APIKEY_EXPOSED_ALREADY,	      /* ours, revoked before */
};

/*
 * A key seen where it must not be (AK-06: a URL; revoke-leaked: a
 * paste): if it parses and its secret matches one of our keys, that key
 * is revoked with reason (expired or not: it is compromised). public_id
 * gets the key id whenever the text parsed ("" otherwise); owner_id (may
 * be NULL) the owner of a key of ours (free it), else NULL. A look-alike
 * (right format and checksum, unknown secret) revokes nothing. 0, or
 * PC_ERR_STORE when the store cannot answer.
 */
int apikey_revoke_exposed(struct db *db, const char *key, size_t len,
    int64_t now, const char *reason, char public_id[APIKEY_PUBLIC_ID_LEN + 1],
    enum apikey_exposure *found, char **owner_id) PC_WUR;

/* ---- API key scopes (src/machine/apikey_scope.c; AK-04) ---- */

struct scope_set;

/*
 * What a new key may hold (apikey_create calls it): at least one scope,
 * not openid or offline_access; with a resource, a registered one, and
 * scopes among the resource's. A service account's key: scopes among the
 * account's own and its groups', a resource the account may reach. A
 * personal key: without a resource, each scope must be one a registered
 * resource offers (what its owner could consent to somewhere).
 * PC_ERR_INVALID with *why; a store error.
 */
int apikey_scopes_check(
    struct db *db, const struct apikey_request *rq, const char **why) PC_WUR;
/*
 * The scopes key k (a live one) may use at the resource resource_id now:
 * its own, for a service account's key within what the account may hold
 * now (its groups may have changed since), within resource_scopes. out
 * may be empty. PC_ERR_VERIFY when k is confined to another resource or
 * its account may no longer reach this one; a store error. scope_set_free
 * out either way.
 */
int apikey_usable_scopes(struct db *db, const struct store_api_key *k,
    const char *resource_id, const char *resource_scopes,
    struct scope_set *out) PC_WUR;

/* ---- API keys for pages (src/machine/apikey_view.c) ---- */

/* A key as the account page shows it (pages never see store rows). */
struct apikey_view {
	char id[APIKEY_PUBLIC_ID_LEN + 1];
	char *name;
	char *scopes;
	char *resource_id;  /* NULL: none */
	char *last_used_ip; /* NULL: never used */
	int64_t created_at;
	int64_t expires_at;
	int64_t revoked_at;   /* 0: not revoked */
	int64_t last_used_at; /* 0: never */
};

void apikey_view_clear(struct apikey_view *v);
void apikey_views_free(struct apikey_view *v, size_t n);
/* owner_id's keys, newest first. */
int apikey_views_of(struct db *db, const char *owner_id,
    struct apikey_view **out, size_t *n) PC_WUR;
/* apikey_create, seen as a view (apikey_view_clear it). */
int apikey_create_view(struct db *db, const struct config *cfg,
    const struct apikey_request *rq, int64_t now, struct apikey_view *out,
    char key[APIKEY_MAX_LEN + 1], const char **why) PC_WUR;
/* Revokes public_id only if owner_id owns it: PC_ERR_NOT_FOUND for a key
 * that is not there or not theirs (the same answer for both). */
int
apikey_revoke_owned(struct db *db, const char *owner_id, const char *public_id,
    int64_t now, const char *reason, bool *changed) PC_WUR;

/* ---- API key leaks (src/machine/apikey_leak.c) ---- */

/* One key found in a leaked text. */
struct apikey_leak_hit {
	char id[APIKEY_PUBLIC_ID_LEN + 1];
	enum apikey_exposure found; /* UNKNOWN, REVOKED or ALREADY */
	char *owner_id;		    /* ours (REVOKED, ALREADY); else NULL */
};

struct apikey_leak_report {
	struct apikey_leak_hit *v; /* each key id once, in text order */
	size_t n;
	size_t checksum_failed; /* candidates whose checksum fails */
};

/*
 * Scans the len bytes of text (apikey_scan) and revokes, with reason
 * "leaked", every key of ours found in it (apikey_revoke_exposed). out
 * lists what was found (apikey_leak_report_free it, error or not). 0, or
 * the store's error: then out holds what was done before it.
 */
int apikey_revoke_leaked(struct db *db, const char *text, size_t len,
    int64_t now, struct apikey_leak_report *out) PC_WUR;
void apikey_leak_report_free(struct apikey_leak_report *r);
/*
 * Whom to tell about owner_id's keys: a user's own address; for a
 * service account, its owning user's, or every user member of its owning
 * group. *out / *n: malloc'd addresses (apikey_addresses_free), possibly
 * none (a deleted owner, no owner).
 */
int apikey_owner_addresses(
    struct db *db, const char *owner_id, char ***out, size_t *n) PC_WUR;
void apikey_addresses_free(char **v, size_t n);

/* ---- end API keys ---- */

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
 * Adds a trust (t->trust_id is set here): issuer an https URL, not
 * own_issuer (this server: our tokens are never subject tokens); exactly
 * one of jwks (a public JWKS, each key usable with one of algs) and
 * jwks_uri (fetch_url_check); audience non-empty; algs a space-separated
 * subset of ES256 RS256 PS256 EdDSA; max_lifetime in
 * WIF_MAX_LIFETIME_MIN..MAX. PC_ERR_INVALID with *why, PC_ERR_CONFLICT
 * when the issuer is taken, or a store error.
 */
int wif_trust_add(struct db *db, const struct fetch_policy *p,
    const char *own_issuer, struct store_wif_trust *t, int64_t now,
    const char **why) PC_WUR;
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
	char *label; /* which one, for a person (NULL: none) */
	char *owner;
	int64_t created_at;
	int64_t expires_at;
	int64_t last_used_at;
	char *scopes;
	char *resource;
	char *used_scopes;
	char *unused_scopes;
	unsigned flags;
	/* Its use leaves no audit row (a resource server's client, which
	 * only introspects): never "unused" for want of one. */
	bool use_untracked;
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
	bool missing; /* not stored (a key's owner that is gone): only its
			 credentials are, flagged owner_missing */
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
