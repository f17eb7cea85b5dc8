/*
 * OAuth clients (issue 4): registration rules, ids, secrets.
 *
 * A client id is "pcc_" + 22 base64url characters of 128 random bits and
 * never names another client (the store keeps tombstones). A secret is 32
 * random bytes shown once as "pcs_" + 43 base64url characters; the store
 * holds only the hex SHA-256 of the bytes, which at this entropy is enough
 * (TK-08). Rotation keeps the previous secret valid for an overlap window.
 * Verification compares every candidate hash in constant time.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "jose/jose.h"
#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store/store.h"

static const char *const grant_types[] = { "authorization_code",
	"refresh_token", "client_credentials" };
static const char *const auth_methods[] = { "client_secret_basic",
	"client_secret_post", "private_key_jwt", "none" };
static const char *const id_token_algs[] = { "RS256", "ES256", "EdDSA",
	"PS256" };

static bool
in_list(const char *s, size_t n, const char *const *v, size_t nv)
{
	for (size_t i = 0; i < nv; i++)
		if (strlen(v[i]) == n && memcmp(s, v[i], n) == 0)
			return true;
	return false;
}

void
client_id_new(char out[CLIENT_ID_LEN + 1])
{
	uint8_t raw[CLIENT_ID_RANDOM_BYTES];

	memcpy(out, CLIENT_ID_PREFIX, sizeof(CLIENT_ID_PREFIX) - 1);
	random_bytes(raw, sizeof(raw));
	b64url_encode(raw, sizeof(raw), out + sizeof(CLIENT_ID_PREFIX) - 1);
	sodium_memzero(raw, sizeof(raw));
}

bool
client_id_valid(const char *id)
{
	size_t len;

	if (id == NULL)
		return false;
	len = strnlen(id, CLIENT_ID_LEN + 1);
	if (len != CLIENT_ID_LEN ||
	    strncmp(id, CLIENT_ID_PREFIX, sizeof(CLIENT_ID_PREFIX) - 1) != 0)
		return false;
	for (size_t i = sizeof(CLIENT_ID_PREFIX) - 1; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool
client_auth_method_uses_secret(const char *method)
{
	return method != NULL &&
	    (strcmp(method, "client_secret_basic") == 0 ||
		strcmp(method, "client_secret_post") == 0);
}

/*
 * Space-separated tokens, each in the allowed list (or, with v NULL, a
 * scope-token: %x21 / %x23-5B / %x5D-7E, RFC 6749 §3.3). No empty token,
 * no duplicate, not empty.
 */
static bool
list_ok(const char *s, const char *const *v, size_t nv, size_t max)
{
	size_t len, i = 0;

	if (s == NULL)
		return false;
	len = strnlen(s, max + 1);
	if (len == 0 || len > max)
		return false;
	while (i < len) {
		size_t j = i;

		while (j < len && s[j] != ' ')
			j++;
		if (j == i)
			return false; /* leading, trailing or double space */
		if (v != NULL && !in_list(s + i, j - i, v, nv))
			return false;
		for (size_t k = i; v == NULL && k < j; k++) {
			unsigned char c = (unsigned char)s[k];

			if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
				return false;
		}
		/* Duplicate: the same token earlier in the list. */
		for (size_t k = 0; k < i;) {
			size_t e = k;

			while (e < i && s[e] != ' ')
				e++;
			if (e - k == j - i && memcmp(s + k, s + i, j - i) == 0)
				return false;
			k = e + 1;
		}
		if (j == len)
			break;
		i = j + 1;
		if (i == len)
			return false; /* trailing space */
	}
	return true;
}

static bool
has_token(const char *list, const char *tok)
{
	size_t n = strlen(tok);

	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *sp = strchr(p, ' ');
		size_t len = sp != NULL ? (size_t)(sp - p) : strlen(p);

		if (len == n && memcmp(p, tok, n) == 0)
			return true;
		p = sp != NULL ? sp + 1 : NULL;
	}
	return false;
}

static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi",
	"oth", "k" };

/* Whether one JWK is a public key for some algorithm we verify. */
static bool
jwk_usable(const json_t *k)
{
	/* JW-02: client assertions are RS256, PS256 or ES256 only. */
	static const enum jose_alg algs[] = { JOSE_ALG_ES256, JOSE_ALG_RS256,
		JOSE_ALG_PS256 };
	const char *alg = json_string_value(json_object_get(k, "alg"));

	for (size_t i = 0; i < PC_NELEM(algs); i++) {
		EVP_PKEY *pkey = NULL;

		if (alg != NULL && strcmp(alg, jose_alg_name(algs[i])) != 0)
			continue;
		if (jwk_to_pkey(k, algs[i], &pkey) == 0) {
			EVP_PKEY_free(pkey);
			return true;
		}
	}
	return false;
}

int
client_jwks_check(const char *jwks, size_t len, const char **why)
{
	const char *dummy;
	json_t *doc = NULL, *keys, *k;
	size_t i;
	int r = PC_ERR_INVALID;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (jwks == NULL || len == 0 || len > CLIENT_JWKS_MAX) {
		*why = "the JWKS is empty or larger than 64 KiB";
		return PC_ERR_INVALID;
	}
	if (jose_json_parse(jwks, len, 8, &doc) != 0 || !json_is_object(doc)) {
		*why = "the JWKS is not a JSON object";
		goto out;
	}
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys) || json_array_size(keys) == 0 ||
	    json_array_size(keys) > CLIENT_JWKS_KEYS_MAX) {
		*why = "the JWKS needs a \"keys\" array of 1 to 16 keys";
		goto out;
	}
	json_array_foreach(keys, i, k)
	{
		if (!json_is_object(k)) {
			*why = "a JWKS key is not an object";
			goto out;
		}
		for (size_t m = 0; m < PC_NELEM(private_members); m++)
			if (json_object_get(k, private_members[m]) != NULL) {
				*why =
				    "the JWKS holds private or symmetric key "
				    "material: register public keys only";
				goto out;
			}
		if (!jwk_usable(k)) {
			*why = "a JWKS key is not a usable ES256, RS256 or "
			       "PS256 public key";
			goto out;
		}
	}
	r = 0;
out:
	json_decref(doc);
	return r;
}

static int
refuse(const char **why, const char *text)
{
	*why = text;
	return PC_ERR_INVALID;
}

static int
uris_ok(char **v, size_t n, bool public_client, const char **why)
{
	if (n > CLIENT_URIS_MAX)
		return refuse(why, "at most 32 redirect URIs of each kind");
	for (size_t i = 0; i < n; i++)
		if (redirect_uri_register_check(v[i], public_client, why) != 0)
			return PC_ERR_INVALID;
	return 0;
}

static void
set_default(char **field, const char *v)
{
	if (*field == NULL)
		*field = xstrdup(v);
}

static int bound_ok(const struct store_client *c, const char **why);
static int agent_ok(const struct store_client *c, const char **why);

int
client_validate(struct store_client *c, const char **why)
{
	const char *dummy;
	size_t len;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	set_default(
	    &c->auth_method, c->is_public ? "none" : "client_secret_basic");
	set_default(&c->grant_types, "authorization_code");
	set_default(&c->scopes, "openid profile email");
	set_default(&c->id_token_alg, "RS256");
	set_default(&c->kind, "client");
	set_default(&c->resources, "");
	set_default(&c->cors_origins, "");
	set_default(&c->registration, "operator");
	if (strcmp(c->kind, "client") != 0 && strcmp(c->kind, "agent") != 0)
		return refuse(why, "kind is client or agent");
	if (strcmp(c->registration, "operator") != 0 &&
	    strcmp(c->registration, "dynamic") != 0 &&
	    strcmp(c->registration, "metadata") != 0)
		return refuse(
		    why, "registration is operator, dynamic or metadata");
	/* CF-05: explicit browser origins, in the form browsers send. */
	if (cors_origins_check(c->cors_origins, why) != 0)
		return PC_ERR_INVALID;
	if (c->max_delegation_depth < 0 || c->max_delegation_depth > 16)
		return refuse(why, "max_delegation_depth is 0..16");
	if (c->name == NULL)
		return refuse(why, "a name is required");
	len = strnlen(c->name, CLIENT_NAME_MAX + 1);
	if (len == 0 || len > CLIENT_NAME_MAX ||
	    !str_is_text((struct str){ c->name, len }))
		return refuse(why,
		    "the name must be 1 to 256 bytes of text without "
		    "control characters");
	if (!in_list(c->auth_method, strlen(c->auth_method), auth_methods,
		PC_NELEM(auth_methods)))
		return refuse(why,
		    "token endpoint auth method must be client_secret_basic, "
		    "client_secret_post, private_key_jwt or none");
	if (c->is_public != (strcmp(c->auth_method, "none") == 0))
		return refuse(why,
		    c->is_public ? "a public client uses auth method none"
				 : "a confidential client cannot use auth "
				   "method none");
	/* No grant type at all: a resource server's credentials, used only
	 * at /introspect (issue 14: confidential only, checked below). */
	if (c->grant_types[0] != '\0' &&
	    !list_ok(c->grant_types, grant_types, PC_NELEM(grant_types),
		CLIENT_SCOPES_MAX))
		return refuse(why,
		    "grant types must be distinct values of "
		    "authorization_code, refresh_token, client_credentials");
	if (c->is_public && c->grant_types[0] == '\0')
		return refuse(why,
		    "a client without grant types only introspects: it must "
		    "be confidential");
	if (c->is_public && has_token(c->grant_types, "client_credentials"))
		return refuse(
		    why, "a public client cannot use client_credentials");
	if (!list_ok(c->scopes, NULL, 0, CLIENT_SCOPES_MAX))
		return refuse(why,
		    "scopes must be distinct space-separated tokens of "
		    "printable ASCII without '\"' or '\\'");
	if (!in_list(c->id_token_alg, strlen(c->id_token_alg), id_token_algs,
		PC_NELEM(id_token_algs)))
		return refuse(
		    why, "ID token alg must be RS256, ES256, EdDSA or PS256");
	if (strcmp(c->auth_method, "private_key_jwt") == 0) {
		if (c->jwks == NULL)
			return refuse(why, "private_key_jwt needs a JWKS");
		if (client_jwks_check(c->jwks, strlen(c->jwks), why) != 0)
			return PC_ERR_INVALID;
	} else if (c->jwks != NULL) {
		return refuse(why, "a JWKS is only for private_key_jwt");
	}
	if (uris_ok(c->redirect_uris, c->n_redirect_uris, c->is_public, why) !=
		0 ||
	    uris_ok(c->post_logout_uris, c->n_post_logout_uris, c->is_public,
		why) != 0)
		return PC_ERR_INVALID;
	if (has_token(c->grant_types, "authorization_code") &&
	    c->n_redirect_uris == 0)
		return refuse(
		    why, "authorization_code needs at least one redirect URI");
	if (bound_ok(c, why) != 0)
		return PC_ERR_INVALID;
	return agent_ok(c, why);
}

/* AK-08: a credential of a service account, which signs no one in. */
static int
bound_ok(const struct store_client *c, const char **why)
{
	if (c->service_account_id == NULL)
		return 0;
	if (principal_kind(c->service_account_id) != PRINCIPAL_SERVICE_ACCOUNT)
		return refuse(why,
		    "the service account must be a service account id "
		    "(svc_...)");
	if (c->is_public)
		return refuse(
		    why, "a public client cannot act for a service account");
	if (strcmp(c->grant_types, "client_credentials") != 0)
		return refuse(why,
		    "a client bound to a service account uses "
		    "client_credentials only");
	return 0;
}

/* Issue 15: an agent's resources, space-separated resource URIs. */
static int
agent_resources_ok(const char *list, const char **why)
{
	size_t n = 0;

	if (list == NULL || list[0] == '\0')
		return refuse(
		    why, "an agent needs at least one resource it may act at");
	if (!list_ok(
		list, NULL, 0, AGENT_RESOURCES_MAX * (RESOURCE_URI_MAX + 1)))
		return refuse(
		    why, "an agent's resources must be distinct resource URIs");
	for (const char *p = list; p != NULL;) {
		const char *sp = strchr(p, ' ');
		size_t len = sp != NULL ? (size_t)(sp - p) : strlen(p);
		char *uri = xstrndup(p, len);
		int r = resource_uri_check(uri, why);

		free(uri);
		if (r != 0)
			return PC_ERR_INVALID;
		if (++n > AGENT_RESOURCES_MAX)
			return refuse(
			    why, "an agent lists at most 16 resources");
		p = sp != NULL ? sp + 1 : NULL;
	}
	return 0;
}

/*
 * Issue 15: an agent acts for people. It has an owner (a user or a
 * group), the resources it may ever act at, a delegation depth; it never
 * skips consent, acts for no service account, has no client_credentials,
 * and a confidential agent proves itself with a key (private_key_jwt),
 * never a shared secret.
 */
static int
agent_ok(const struct store_client *c, const char **why)
{
	enum principal_kind owner;

	if (c->kind == NULL || strcmp(c->kind, CLIENT_KIND_CLIENT) == 0)
		return 0;
	if (strcmp(c->kind, CLIENT_KIND_AGENT) != 0)
		return refuse(why, "a client's kind is client or agent");
	owner =
	    c->owner_id != NULL ? principal_kind(c->owner_id) : PRINCIPAL_NONE;
	if (owner != PRINCIPAL_USER && owner != PRINCIPAL_GROUP)
		return refuse(why,
		    "an agent needs an owner: a user (usr_...) or a group "
		    "(grp_...)");
	if (c->first_party)
		return refuse(why,
		    "an agent always asks the person: it cannot be "
		    "first-party");
	if (c->service_account_id != NULL)
		return refuse(
		    why, "an agent acts for people, not for a service account");
	if (has_token(c->grant_types, "client_credentials"))
		return refuse(
		    why, "an agent acts for people: no client_credentials");
	if (!c->is_public && strcmp(c->auth_method, "private_key_jwt") != 0)
		return refuse(why,
		    "a confidential agent authenticates with private_key_jwt "
		    "(a key, not a shared secret)");
	return agent_resources_ok(c->resources, why);
}

bool
client_is_agent(const struct store_client *c)
{
	return c->kind != NULL && strcmp(c->kind, CLIENT_KIND_AGENT) == 0;
}

bool
client_disabled(const struct store_client *c)
{
	return c->disabled_at != 0;
}

bool
client_unverified(const struct store_client *c)
{
	return c->registration != NULL &&
	    strcmp(c->registration, "operator") != 0;
}

bool
client_may_target(const struct store_client *c, const char *uri)
{
	if (!client_is_agent(c))
		return true;
	return uri != NULL && has_token(c->resources, uri);
}

int64_t
client_max_depth(const struct store_client *c, int64_t cap)
{
	if (!client_is_agent(c))
		return cap;
	return c->max_delegation_depth < cap ? c->max_delegation_depth : cap;
}

bool
client_may_delegate(const struct store_client *c)
{
	return client_is_agent(c) && c->may_delegate;
}

/* The bound service account must exist when the binding is written. */
static int
bound_exists(struct db *db, const struct store_client *c, const char **why)
{
	const char *dummy;
	struct store_sa_state st;
	int r;

	if (why == NULL)
		why = &dummy;
	if (c->service_account_id == NULL)
		return 0;
	r = store_service_account_state(db, c->service_account_id, &st);
	if (r == PC_ERR_NOT_FOUND)
		return refuse(why, "the service account does not exist");
	return r;
}

/* Issue 15: an agent's owner exists, and so does each of its resources. */
static int
agent_refs_exist(struct db *db, const struct store_client *c, const char **why)
{
	const char *dummy;
	int r = 0;

	if (why == NULL)
		why = &dummy;
	if (!client_is_agent(c))
		return 0;
	if (principal_kind(c->owner_id) == PRINCIPAL_USER) {
		struct store_user u;

		if ((r = store_user_get(db, c->owner_id, &u)) == 0)
			store_user_clear(&u);
	} else {
		struct store_group g;

		if ((r = store_group_get(db, c->owner_id, &g)) == 0)
			store_group_clear(&g);
	}
	if (r == PC_ERR_NOT_FOUND)
		return refuse(why, "the agent's owner does not exist");
	for (const char *p = c->resources; r == 0 && p != NULL;) {
		const char *sp = strchr(p, ' ');
		char *uri =
		    xstrndup(p, sp != NULL ? (size_t)(sp - p) : strlen(p));
		struct store_resource res;

		if ((r = store_resource_get(db, uri, &res)) == 0)
			store_resource_clear(&res);
		free(uri);
		if (r == PC_ERR_NOT_FOUND)
			return refuse(why,
			    "an agent's resource is not a registered resource "
			    "(portcullis resource add)");
		p = sp != NULL ? sp + 1 : NULL;
	}
	return r;
}

/* A new secret into out and the hex SHA-256 of its bytes into hash. */
static void
secret_new(char out[CLIENT_SECRET_LEN + 1], char hash[PC_SHA256_HEX_LEN + 1])
{
	uint8_t raw[CLIENT_SECRET_BYTES];

	random_bytes(raw, sizeof(raw));
	memcpy(out, CLIENT_SECRET_PREFIX, sizeof(CLIENT_SECRET_PREFIX) - 1);
	b64url_encode(raw, sizeof(raw), out + sizeof(CLIENT_SECRET_PREFIX) - 1);
	hash_sha256_hex(raw, sizeof(raw), hash);
	sodium_memzero(raw, sizeof(raw));
}

int
client_create(struct db *db, struct store_client *c, int64_t now,
    char secret[CLIENT_SECRET_LEN + 1], const char **why)
{
	char id[CLIENT_ID_LEN + 1];
	char hash[PC_SHA256_HEX_LEN + 1];
	bool with_secret;
	int r;

	secret[0] = '\0';
	if ((r = client_validate(c, why)) != 0 ||
	    (r = bound_exists(db, c, why)) != 0 ||
	    (r = agent_refs_exist(db, c, why)) != 0)
		return r;
	with_secret = client_auth_method_uses_secret(c->auth_method);
	/* 128 random bits: a collision (or tombstone hit) is retried once. */
	for (int attempt = 0; attempt < 2; attempt++) {
		client_id_new(id);
		free(c->client_id);
		c->client_id = xstrdup(id);
		c->created_at = now;
		c->updated_at = now;
		if (with_secret)
			secret_new(secret, hash);
		r = store_client_insert(db, c, with_secret ? hash : NULL);
		if (r != PC_ERR_CONFLICT)
			break;
	}
	sodium_memzero(hash, sizeof(hash));
	if (r != 0)
		sodium_memzero(secret, CLIENT_SECRET_LEN + 1);
	return r;
}

int
client_update(
    struct db *db, struct store_client *c, int64_t now, const char **why)
{
	int r;

	if ((r = client_validate(c, why)) != 0 ||
	    (r = bound_exists(db, c, why)) != 0 ||
	    (r = agent_refs_exist(db, c, why)) != 0)
		return r;
	c->updated_at = now;
	return store_client_update(
	    db, c, !client_auth_method_uses_secret(c->auth_method));
}

int
client_rotate_secret(struct db *db, const char *client_id,
    int64_t overlap_seconds, int64_t now,
    char out_secret[CLIENT_SECRET_LEN + 1])
{
	struct store_client c;
	char hash[PC_SHA256_HEX_LEN + 1];
	int r;

	out_secret[0] = '\0';
	if (overlap_seconds < 0)
		return PC_ERR_INVALID;
	if ((r = store_client_get(db, client_id, &c)) != 0)
		return r;
	if (!client_auth_method_uses_secret(c.auth_method)) {
		store_client_clear(&c);
		return PC_ERR_INVALID;
	}
	store_client_clear(&c);
	secret_new(out_secret, hash);
	r = store_client_secret_rotate(
	    db, client_id, hash, now, now + overlap_seconds);
	sodium_memzero(hash, sizeof(hash));
	if (r != 0)
		sodium_memzero(out_secret, CLIENT_SECRET_LEN + 1);
	return r;
}

int
client_secret_match(const char *secret, size_t secret_len,
    const struct store_client_secret *v, size_t n, int64_t now)
{
	uint8_t raw[CLIENT_SECRET_BYTES + 1];
	char hash[PC_SHA256_HEX_LEN + 1];
	size_t raw_len = 0;
	int match = 0;

	if (secret == NULL || secret_len != CLIENT_SECRET_LEN ||
	    memcmp(secret, CLIENT_SECRET_PREFIX,
		sizeof(CLIENT_SECRET_PREFIX) - 1) != 0)
		return PC_ERR_VERIFY;
	if (b64url_decode(secret + sizeof(CLIENT_SECRET_PREFIX) - 1,
		secret_len - (sizeof(CLIENT_SECRET_PREFIX) - 1), raw,
		sizeof(raw), &raw_len) != 0 ||
	    raw_len != CLIENT_SECRET_BYTES) {
		sodium_memzero(raw, sizeof(raw));
		return PC_ERR_VERIFY;
	}
	hash_sha256_hex(raw, CLIENT_SECRET_BYTES, hash);
	sodium_memzero(raw, sizeof(raw));
	/*
	 * Every candidate is compared: no early exit on a match. One past
	 * its expiry (0: the current secret) is compared and not counted,
	 * so the time taken does not say which expired.
	 */
	for (size_t i = 0; i < n && i < STORE_CLIENT_SECRETS_MAX; i++) {
		int eq = sodium_memcmp(hash, v[i].hash, PC_SHA256_HEX_LEN) == 0;

		match |= eq & (v[i].expires_at == 0 || v[i].expires_at > now);
	}
	sodium_memzero(hash, sizeof(hash));
	return match ? 0 : PC_ERR_VERIFY;
}

int
client_verify_secret(struct db *db, const char *client_id, const char *secret,
    size_t secret_len, int64_t now)
{
	struct store_client_secret v[STORE_CLIENT_SECRETS_MAX];
	size_t n = 0;
	int r;

	if (client_id == NULL)
		return PC_ERR_VERIFY;
	if ((r = store_client_secrets_get(db, client_id, now, v, &n)) != 0)
		return r == PC_ERR_NOT_FOUND ? PC_ERR_VERIFY : r;
	r = client_secret_match(secret, secret_len, v, n, now);
	sodium_memzero(v, sizeof(v));
	return r;
}
