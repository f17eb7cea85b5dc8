/*
 * Unit tests for oauth/client.c, oauth/redirect_uri.c and store/clients.c:
 * what a redirect URI may be at registration (AZ-04), how a requested one
 * matches (AZ-01), client secrets shown once and stored hashed with a
 * rotation overlap (TK-08), registration rules, and client ids that are
 * never reused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "jose/jose.h"
#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store_fixture.h"
#include "store/db.h"
#include "store/store.h"
#include "store/store_sa.h"
#include "util/log.h"

struct fixture {
	char dir[64];
	struct db *db;
	struct db_conn *c;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (store_fixture_new(f->dir, true, &f->db) != 0 ||
	    db_conn(f->db, &f->c) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (store_fixture_close(f->dir, f->db) != 0)
		return -1;
	free(f);
	return 0;
}

static int64_t
count(struct fixture *f, const char *sql)
{
	struct db_stmt *s;
	int64_t v;

	assert_int_equal(db_prepare(f->c, sql, &s), 0);
	assert_int_equal(db_step(s), DB_ROW);
	v = db_col_int64(s, 0);
	db_done(s);
	return v;
}

/* A confidential client with one redirect URI; free with clear. */
static void
make(struct store_client *c, const char *name, bool is_public)
{
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(name);
	c->is_public = is_public;
	c->redirect_uris = xmalloc(sizeof(char *));
	c->redirect_uris[0] = xstrdup("https://app.example/cb");
	c->n_redirect_uris = 1;
}

static void
refused(const char *uri, bool is_public)
{
	const char *why = NULL;

	if (redirect_uri_register_check(uri, is_public, &why) == 0)
		fail_msg("accepted: %s", uri);
	assert_non_null(why);
}

static void
accepted(const char *uri, bool is_public)
{
	const char *why = NULL;

	if (redirect_uri_register_check(uri, is_public, &why) != 0)
		fail_msg("refused: %s (%s)", uri, why);
}

static void
test_clients_AZ04_refused_redirect_uris(void **state)
{
	static const char *const bad[] = {
		"", "/cb",			       /* relative */
		"app.example/cb",		       /* no scheme */
		"//app.example/cb",		       /* scheme-relative */
		"https://app.example/cb#frag",	       /* fragment */
		"https://app.example/cb#",	       /* empty fragment */
		"https://user@app.example/cb",	       /* userinfo */
		"https://user:pw@app.example/cb",      /* userinfo */
		"https://*.app.example/cb",	       /* wildcard */
		"https://app.example/*",	       /* wildcard */
		"http://app.example/cb",	       /* http, not loopback */
		"http://localhost/cb",		       /* RFC 8252 §8.3 */
		"http://localhost:8080/cb",	       /* RFC 8252 §8.3 */
		"http://127.0.0.2/cb",		       /* not the literal */
		"http://127.0.0.1.evil.example/cb",    /* looks like it */
		"http://[::2]/cb",		       /* not [::1] */
		"javascript:alert(1)",		       /* script */
		"JavaScript:alert(1)",		       /* any case */
		"data:text/html,<script>x</script>",   /* script */
		"vbscript:msgbox(1)",		       /* script */
		"file:///etc/passwd",		       /* local file */
		"https://app.example/cb?code=x",       /* ours */
		"https://app.example/cb?a=1&state=x",  /* ours */
		"https://app.example/cb?iss=x",	       /* ours */
		"https://app.example/cb?error=x",      /* ours */
		"https://app.example/c b",	       /* space */
		"https://app.example/cb\t",	       /* control */
		"https://app.example/cb\r\nX: y",      /* CRLF */
		"https://app.example/\xc3\xa9",	       /* non-ASCII */
		"https://app.example\\@evil.example/", /* backslash */
		"https://app.example/cb/../evil",      /* dot segment */
		"https://app.example/./cb",	       /* dot segment */
		"https:///cb",			       /* no host */
		"https://app.example:0/cb",	       /* bad port */
		"https://app.example:65536/cb",	       /* bad port */
		"https://app.example:/cb",	       /* empty port */
		"https://app.example:80x/cb",	       /* bad port */
		"HTTPS://app.example/cb",	       /* upper-case scheme */
		"https:app.example/cb",		       /* no authority */
		"com.example.app://cb",		       /* two slashes */
		"myapp:/cb",			       /* not reverse-domain */
		"com.example.app:cb",		       /* no leading slash */
	};
	char long_uri[REDIRECT_URI_MAX + 2];

	(void)state;
	for (size_t i = 0; i < PC_NELEM(bad); i++)
		refused(bad[i], true);
	refused(NULL, true);
	/* Private-use schemes are for native public clients only. */
	refused("com.example.app:/cb", false);
	/* Length cap: 2048 bytes. */
	memset(long_uri, 'a', sizeof(long_uri) - 1);
	long_uri[sizeof(long_uri) - 1] = '\0';
	memcpy(long_uri, "https://app.example/", 20);
	refused(long_uri, false);
	long_uri[REDIRECT_URI_MAX] = '\0';
	accepted(long_uri, false);
}

static void
test_clients_AZ04_accepted_redirect_uris(void **state)
{
	(void)state;
	accepted("https://app.example/cb", false);
	accepted("https://app.example", false);
	accepted("https://app.example:8443/cb?tenant=1&x", false);
	accepted("https://app.example/cb?mycode=1", false);
	accepted("http://127.0.0.1/cb", false);
	accepted("http://127.0.0.1:8080/cb", true);
	accepted("http://[::1]:53124/cb", true);
	accepted("com.example.app:/oauth2redirect/example-provider", true);
}

static void
test_clients_AZ01_match(void **state)
{
	static const char reg[] = "https://app.example/cb?x=1";

	(void)state;
	assert_true(redirect_uri_match(reg, reg));
	assert_false(redirect_uri_match(reg, "https://app.example/cb"));
	assert_false(redirect_uri_match(reg, "https://app.example/cb?x=1&y"));
	assert_false(redirect_uri_match(reg, "https://app.example/cb?x=2"));
	assert_false(redirect_uri_match(reg, "https://app.example/cb/?x=1"));
	assert_false(redirect_uri_match(reg, "https://App.example/cb?x=1"));
	assert_false(redirect_uri_match(reg, "HTTPS://app.example/cb?x=1"));
	assert_false(redirect_uri_match(reg, "http://app.example/cb?x=1"));
	assert_false(redirect_uri_match(reg, "https://app.example/cb?x=1#f"));
	assert_false(redirect_uri_match(reg, "https://app.example/%63b?x=1"));
	assert_false(redirect_uri_match(reg, "https://app.example:443/cb?x=1"));
	assert_false(redirect_uri_match(reg, "https://u@app.example/cb?x=1"));
	assert_false(redirect_uri_match(reg, ""));
	assert_false(redirect_uri_match(reg, NULL));
	assert_false(redirect_uri_match(NULL, reg));
	/* Prefix, path traversal, trailing slash. */
	assert_false(redirect_uri_match(
	    "https://app.example/cb", "https://app.example/cb/../evil"));
	assert_false(redirect_uri_match(
	    "https://app.example/cb", "https://app.example/cbx"));
	assert_false(redirect_uri_match(
	    "https://app.example/cb", "https://app.example/cb/"));
	assert_false(redirect_uri_match(
	    "https://app.example/cb", "https://app.example/cb?"));
	/* Other port, not loopback: no match. */
	assert_false(redirect_uri_match(
	    "https://app.example:8443/cb", "https://app.example:8444/cb"));
	assert_false(redirect_uri_match(
	    "http://localhost:8080/cb", "http://localhost:9090/cb"));
	/* Loopback IP literal: the port may differ (RFC 8252 §7.3). */
	assert_true(redirect_uri_match(
	    "http://127.0.0.1:8080/cb", "http://127.0.0.1:53124/cb"));
	assert_true(redirect_uri_match(
	    "http://127.0.0.1/cb", "http://127.0.0.1:53124/cb"));
	assert_true(redirect_uri_match(
	    "http://[::1]:1/cb?a=b", "http://[::1]:65535/cb?a=b"));
	/* ... but nothing else. */
	assert_false(redirect_uri_match(
	    "http://127.0.0.1:8080/cb", "http://127.0.0.1:53124/cb2"));
	assert_false(redirect_uri_match(
	    "http://127.0.0.1:8080/cb", "http://127.0.0.1:53124/CB"));
	assert_false(redirect_uri_match(
	    "http://127.0.0.1:8080/cb", "http://[::1]:8080/cb"));
	assert_false(redirect_uri_match(
	    "http://127.0.0.1:8080/cb", "https://127.0.0.1:8080/cb"));
	assert_false(redirect_uri_match(
	    "http://127.0.0.1:8080/cb", "http://127.0.0.1:0/cb"));
	assert_false(redirect_uri_match(
	    "http://127.0.0.1:8080/cb", "http://127.0.0.1:99999/cb"));
	assert_false(redirect_uri_match(
	    "http://127.0.0.1:8080/cb", "http://127.0.0.1:/cb"));
	assert_false(redirect_uri_match(
	    "http://127.0.0.1:8080/cb", "http://127.0.0.1.evil.example/cb"));
	assert_false(redirect_uri_match(
	    "http://127.0.0.1:8080/cb", "http://127.0.0.1:80@evil/cb"));
	assert_false(redirect_uri_match(
	    "http://127.0.0.1:8080/cb", "http://127.0.0.1:8080/cb?x"));
}

/* A copy of v, or NULL: keeps literal NULL tests out of the macro. */
static char *
dup_or_null(const char *v)
{
	return v != NULL ? xstrdup(v) : NULL;
}

static void
test_clients_validate_rules(void **state)
{
	struct store_client c;
	const char *why;

	(void)state;
	/* Defaults. */
	make(&c, "App", false);
	assert_int_equal(client_validate(&c, &why), 0);
	assert_string_equal(c.auth_method, "client_secret_basic");
	assert_string_equal(c.grant_types, "authorization_code");
	assert_string_equal(c.scopes, "openid profile email");
	assert_string_equal(c.id_token_alg, "RS256");
	store_client_clear(&c);
	make(&c, "App", true);
	assert_int_equal(client_validate(&c, &why), 0);
	assert_string_equal(c.auth_method, "none");
	store_client_clear(&c);

#define BAD(field, value, pub) \
	do { \
		make(&c, "App", pub); \
		free(c.field); \
		c.field = dup_or_null(value); \
		why = NULL; \
		assert_int_equal(client_validate(&c, &why), PC_ERR_INVALID); \
		assert_non_null(why); \
		store_client_clear(&c); \
	} while (0)
	BAD(grant_types, "implicit", false);
	BAD(grant_types, "password", false);
	BAD(grant_types, "authorization_code authorization_code", false);
	BAD(grant_types, "authorization_code  refresh_token", false);
	BAD(grant_types, " authorization_code", false);
	BAD(grant_types, "authorization_code ", false);
	/* No grant type: a resource server's introspection-only client
	 * (issue 14), confidential only. */
	BAD(grant_types, "", true);
	make(&c, "Resource server", false);
	free(c.grant_types);
	c.grant_types = dup_or_null("");
	assert_int_equal(client_validate(&c, &why), 0);
	store_client_clear(&c);
	BAD(grant_types, "authorization_code client_credentials", true);
	BAD(auth_method, "client_secret_jwt", false);
	BAD(auth_method, "none", false);
	BAD(auth_method, "client_secret_basic", true);
	BAD(auth_method, "private_key_jwt", false); /* no JWKS */
	BAD(scopes, "openid \"x", false);
	BAD(scopes, "openid a\\b", false);
	BAD(scopes, "openid\tprofile", false);
	BAD(scopes, "openid openid", false);
	BAD(scopes, "", false);
	BAD(id_token_alg, "HS256", false);
	BAD(id_token_alg, "none", false);
	BAD(id_token_alg, "rs256", false);
	BAD(name, "", false);
	BAD(name, "a\nb", false);
	BAD(name, NULL, false);
	BAD(jwks, "{\"keys\":[]}", false); /* JWKS without private_key_jwt */
#undef BAD
	{
		char name[CLIENT_NAME_MAX + 2];

		memset(name, 'n', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		make(&c, name, false);
		assert_int_equal(client_validate(&c, &why), PC_ERR_INVALID);
		store_client_clear(&c);
		name[CLIENT_NAME_MAX] = '\0';
		make(&c, name, false);
		assert_int_equal(client_validate(&c, &why), 0);
		store_client_clear(&c);
	}
	/* authorization_code needs a redirect URI; client_credentials not. */
	make(&c, "App", false);
	free(c.redirect_uris[0]);
	free(c.redirect_uris);
	c.redirect_uris = NULL;
	c.n_redirect_uris = 0;
	assert_int_equal(client_validate(&c, &why), PC_ERR_INVALID);
	free(c.grant_types);
	c.grant_types = xstrdup("client_credentials");
	assert_int_equal(client_validate(&c, &why), 0);
	store_client_clear(&c);
	/* A bad redirect URI, of either kind, refuses the client. */
	make(&c, "App", false);
	c.post_logout_uris = xmalloc(sizeof(char *));
	c.post_logout_uris[0] = xstrdup("javascript:alert(1)");
	c.n_post_logout_uris = 1;
	assert_int_equal(client_validate(&c, &why), PC_ERR_INVALID);
	store_client_clear(&c);
}

/* {"keys":[<public JWK of a new P-256 key>]}, malloc'd. */
static char *
ec_jwks(bool with_private)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	json_t *jwk = NULL, *doc;
	char *s;

	assert_non_null(pkey);
	assert_int_equal(jwk_from_pkey(pkey, JOSE_ALG_ES256, "k1", &jwk), 0);
	if (with_private)
		json_object_set_new(jwk, "d", json_string("AAAA"));
	doc = json_pack("{s:[o]}", "keys", jwk);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	EVP_PKEY_free(pkey);
	return s;
}

static void
test_clients_jwks_check(void **state)
{
	static const char *const bad[] = { "", "[]", "{}", "{\"keys\":[]}",
		"{\"keys\":{}}", "{\"keys\":[1]}",
		"{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"x\":\"AA\",\"y\":\"AA\"}]}",
		"{\"keys\":[]} trailing" };
	const char *why;
	char *good = ec_jwks(false), *priv = ec_jwks(true);
	struct store_client c;

	(void)state;
	assert_int_equal(client_jwks_check(good, strlen(good), &why), 0);
	assert_int_equal(
	    client_jwks_check(priv, strlen(priv), &why), PC_ERR_INVALID);
	for (size_t i = 0; i < PC_NELEM(bad); i++) {
		why = NULL;
		assert_int_equal(
		    client_jwks_check(bad[i], strlen(bad[i]), &why),
		    PC_ERR_INVALID);
		assert_non_null(why);
	}
	make(&c, "Jwt", false);
	c.auth_method = xstrdup("private_key_jwt");
	c.jwks = xstrdup(good);
	assert_int_equal(client_validate(&c, &why), 0);
	store_client_clear(&c);
	free(good);
	free(priv);
}

static void
test_clients_create_get_list_update(void **state)
{
	struct fixture *f = *state;
	struct store_client c, g, *v = NULL;
	char secret[CLIENT_SECRET_LEN + 1];
	const char *why;
	size_t n = 0;

	make(&c, "App", true);
	assert_int_equal(client_create(f->db, &c, 1000, secret, &why), 0);
	assert_string_equal(secret, ""); /* public: no secret */
	assert_true(client_id_valid(c.client_id));
	assert_int_equal(strlen(c.client_id), CLIENT_ID_LEN);
	assert_int_equal(store_client_get(f->db, c.client_id, &g), 0);
	assert_string_equal(g.name, "App");
	assert_true(g.is_public);
	assert_string_equal(g.auth_method, "none");
	assert_int_equal(g.n_redirect_uris, 1);
	assert_string_equal(g.redirect_uris[0], "https://app.example/cb");
	assert_int_equal(g.n_post_logout_uris, 0);
	assert_null(g.jwks);
	assert_int_equal(g.created_at, 1000);
	/* Update: new scopes, grants, URIs; the row changes in place. */
	free(g.scopes);
	g.scopes = xstrdup("openid profile offline_access");
	free(g.grant_types);
	g.grant_types = xstrdup("authorization_code refresh_token");
	g.first_party = true;
	g.post_logout_uris = xmalloc(sizeof(char *));
	g.post_logout_uris[0] = xstrdup("https://app.example/bye");
	g.n_post_logout_uris = 1;
	assert_int_equal(client_update(f->db, &g, 2000, &why), 0);
	store_client_clear(&g);
	assert_int_equal(store_client_get(f->db, c.client_id, &g), 0);
	assert_string_equal(g.scopes, "openid profile offline_access");
	assert_true(g.first_party);
	assert_int_equal(g.updated_at, 2000);
	assert_int_equal(g.created_at, 1000);
	assert_string_equal(g.post_logout_uris[0], "https://app.example/bye");
	/* A refused update changes nothing. */
	free(g.redirect_uris[0]);
	g.redirect_uris[0] = xstrdup("https://app.example/cb#x");
	assert_int_equal(client_update(f->db, &g, 3000, &why), PC_ERR_INVALID);
	store_client_clear(&g);
	assert_int_equal(store_client_get(f->db, c.client_id, &g), 0);
	assert_string_equal(g.redirect_uris[0], "https://app.example/cb");
	store_client_clear(&g);
	assert_int_equal(store_clients_list(f->db, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].client_id, c.client_id);
	assert_int_equal(v[0].n_post_logout_uris, 1);
	store_clients_free(v, n);
	/* A refused client creates nothing. */
	store_client_clear(&c);
	make(&c, "Bad", false);
	free(c.redirect_uris[0]);
	c.redirect_uris[0] = xstrdup("http://evil.example/cb");
	assert_int_equal(
	    client_create(f->db, &c, 1000, secret, &why), PC_ERR_INVALID);
	assert_int_equal(count(f, "SELECT count(*) FROM clients"), 1);
	store_client_clear(&c);
	assert_int_equal(
	    store_client_get(f->db, "pcc_AAAAAAAAAAAAAAAAAAAAAA", &g),
	    PC_ERR_NOT_FOUND);
}

static void
test_clients_TK08_secret_shown_once_stored_hashed(void **state)
{
	struct fixture *f = *state;
	struct store_client c;
	struct db_stmt *s;
	char secret[CLIENT_SECRET_LEN + 1];
	char hex[PC_SHA256_HEX_LEN + 1];
	uint8_t raw[CLIENT_SECRET_BYTES + 1];
	size_t raw_len;
	const char *why;
	size_t len;
	const char *stored;

	make(&c, "Conf", false);
	assert_int_equal(client_create(f->db, &c, 1000, secret, &why), 0);
	/* "pcs_" + 43 base64url characters of 32 random bytes. */
	assert_int_equal(strlen(secret), CLIENT_SECRET_LEN);
	assert_memory_equal(secret, "pcs_", 4);
	assert_int_equal(
	    b64url_decode(secret + 4, 43, raw, sizeof(raw), &raw_len), 0);
	assert_int_equal(raw_len, 32);
	hash_sha256_hex(raw, raw_len, hex);
	/* The table holds the hex SHA-256 of the bytes, nothing else. */
	assert_int_equal(count(f, "SELECT count(*) FROM client_secrets"), 1);
	assert_int_equal(
	    db_prepare(f->c, "SELECT secret_hash FROM client_secrets", &s), 0);
	assert_int_equal(db_step(s), DB_ROW);
	stored = db_col_text(s, 0, &len);
	assert_int_equal(len, 64);
	assert_memory_equal(stored, hex, 64);
	assert_null(strstr(stored, secret + 4));
	db_done(s);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM client_secrets"
			     " WHERE expires_at IS NULL"),
	    1);
	assert_int_equal(client_verify_secret(
			     f->db, c.client_id, secret, strlen(secret), 1001),
	    0);
	/* Nowhere else in the client's row. */
	assert_int_equal(count(f,
			     "SELECT count(*) FROM clients WHERE"
			     " name LIKE '%pcs_%' OR scopes LIKE '%pcs_%'"),
	    0);
	/* Two clients never share a secret or an id. */
	{
		struct store_client d;
		char secret2[CLIENT_SECRET_LEN + 1];

		make(&d, "Conf2", false);
		assert_int_equal(
		    client_create(f->db, &d, 1000, secret2, &why), 0);
		assert_string_not_equal(secret, secret2);
		assert_string_not_equal(c.client_id, d.client_id);
		/* A secret is bound to its client. */
		assert_int_equal(client_verify_secret(f->db, d.client_id,
				     secret, strlen(secret), 1001),
		    PC_ERR_VERIFY);
		store_client_clear(&d);
	}
	store_client_clear(&c);
}

static void
test_clients_TK08_rotation_overlap_then_expiry(void **state)
{
	struct fixture *f = *state;
	struct store_client c;
	char s1[CLIENT_SECRET_LEN + 1], s2[CLIENT_SECRET_LEN + 1];
	char s3[CLIENT_SECRET_LEN + 1];
	const char *why;

	make(&c, "Conf", false);
	assert_int_equal(client_create(f->db, &c, 1000, s1, &why), 0);
	assert_int_equal(
	    client_rotate_secret(f->db, c.client_id, 600, 2000, s2), 0);
	assert_string_not_equal(s1, s2);
	assert_int_equal(count(f, "SELECT count(*) FROM client_secrets"), 2);
	/* In the overlap both work. */
	assert_int_equal(
	    client_verify_secret(f->db, c.client_id, s1, strlen(s1), 2599), 0);
	assert_int_equal(
	    client_verify_secret(f->db, c.client_id, s2, strlen(s2), 2599), 0);
	/* At now + overlap the old one stops; the new one goes on. */
	assert_int_equal(
	    client_verify_secret(f->db, c.client_id, s1, strlen(s1), 2600),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    client_verify_secret(f->db, c.client_id, s2, strlen(s2), 999999),
	    0);
	/* Rotating again keeps at most two rows: s1 is gone for good. */
	assert_int_equal(
	    client_rotate_secret(f->db, c.client_id, 600, 2100, s3), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM client_secrets"), 2);
	assert_int_equal(
	    client_verify_secret(f->db, c.client_id, s1, strlen(s1), 2101),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    client_verify_secret(f->db, c.client_id, s2, strlen(s2), 2101), 0);
	assert_int_equal(
	    client_verify_secret(f->db, c.client_id, s3, strlen(s3), 2101), 0);
	/* Overlap 0: the old secret stops at once. */
	assert_int_equal(
	    client_rotate_secret(f->db, c.client_id, 0, 3000, s1), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM client_secrets"), 1);
	assert_int_equal(
	    client_verify_secret(f->db, c.client_id, s3, strlen(s3), 3000),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    client_verify_secret(f->db, c.client_id, s1, strlen(s1), 3000), 0);
	assert_int_equal(client_rotate_secret(f->db, c.client_id, -1, 3000, s2),
	    PC_ERR_INVALID);
	store_client_clear(&c);
	/* A public client has no secret to rotate. */
	make(&c, "Pub", true);
	assert_int_equal(client_create(f->db, &c, 1000, s1, &why), 0);
	assert_int_equal(
	    client_rotate_secret(f->db, c.client_id, 600, 2000, s2),
	    PC_ERR_INVALID);
	assert_string_equal(s2, "");
	store_client_clear(&c);
	assert_int_equal(client_rotate_secret(f->db,
			     "pcc_AAAAAAAAAAAAAAAAAAAAAA", 600, 2000, s2),
	    PC_ERR_NOT_FOUND);
}

static void
test_clients_TK08_verify_refuses_near_misses(void **state)
{
	struct fixture *f = *state;
	struct store_client c;
	char secret[CLIENT_SECRET_LEN + 1], other[CLIENT_SECRET_LEN + 2];
	const char *why;
	size_t n = strlen("pcs_");

	make(&c, "Conf", false);
	assert_int_equal(client_create(f->db, &c, 1000, secret, &why), 0);
	/* Every single-character change, including the last one. */
	for (size_t i = 0; i < CLIENT_SECRET_LEN; i++) {
		memcpy(other, secret, sizeof(secret));
		other[i] = other[i] == 'A' ? 'B' : 'A';
		assert_int_equal(client_verify_secret(f->db, c.client_id, other,
				     CLIENT_SECRET_LEN, 1001),
		    PC_ERR_VERIFY);
	}
	/* Truncated, extended, no prefix, the hash itself, empty, NULL. */
	assert_int_equal(client_verify_secret(f->db, c.client_id, secret,
			     CLIENT_SECRET_LEN - 1, 1001),
	    PC_ERR_VERIFY);
	memcpy(other, secret, sizeof(secret));
	other[CLIENT_SECRET_LEN] = 'A';
	other[CLIENT_SECRET_LEN + 1] = '\0';
	assert_int_equal(client_verify_secret(f->db, c.client_id, other,
			     CLIENT_SECRET_LEN + 1, 1001),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    client_verify_secret(f->db, c.client_id, secret + n, 43, 1001),
	    PC_ERR_VERIFY);
	assert_int_equal(client_verify_secret(f->db, c.client_id, "", 0, 1001),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    client_verify_secret(f->db, c.client_id, NULL, 0, 1001),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    client_verify_secret(f->db, "pcc_AAAAAAAAAAAAAAAAAAAAAA", secret,
		CLIENT_SECRET_LEN, 1001),
	    PC_ERR_VERIFY);
	assert_int_equal(client_verify_secret(f->db, c.client_id, secret,
			     CLIENT_SECRET_LEN, 1001),
	    0);
	store_client_clear(&c);
}

static void
test_clients_delete_tombstone(void **state)
{
	struct fixture *f = *state;
	struct store_client c, g;
	char secret[CLIENT_SECRET_LEN + 1];
	char *id;
	const char *why;

	make(&c, "Gone", false);
	assert_int_equal(client_create(f->db, &c, 1000, secret, &why), 0);
	id = xstrdup(c.client_id);
	assert_int_equal(store_client_delete(f->db, id, 2000), 0);
	assert_int_equal(store_client_get(f->db, id, &g), PC_ERR_NOT_FOUND);
	assert_int_equal(count(f, "SELECT count(*) FROM client_secrets"), 0);
	assert_int_equal(
	    count(f, "SELECT count(*) FROM client_redirect_uris"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM deleted_clients"), 1);
	assert_int_equal(
	    client_verify_secret(f->db, id, secret, strlen(secret), 2001),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    store_client_delete(f->db, id, 2000), PC_ERR_NOT_FOUND);
	/* The id never comes back, even if asked for directly. */
	c.created_at = c.updated_at = 3000;
	assert_int_equal(store_client_insert(f->db, &c, NULL), PC_ERR_CONFLICT);
	assert_int_equal(count(f, "SELECT count(*) FROM clients"), 0);
	/* An existing id is not overwritten either. */
	store_client_clear(&c);
	make(&c, "Live", false);
	assert_int_equal(client_create(f->db, &c, 1000, secret, &why), 0);
	assert_int_equal(store_client_insert(f->db, &c, NULL), PC_ERR_CONFLICT);
	store_client_clear(&c);
	free(id);
}

static void
test_clients_id_opaque_random(void **state)
{
	char a[CLIENT_ID_LEN + 1], b[CLIENT_ID_LEN + 1];

	(void)state;
	client_id_new(a);
	client_id_new(b);
	assert_true(client_id_valid(a));
	assert_string_not_equal(a, b);
	assert_memory_equal(a, "pcc_", 4);
	assert_false(client_id_valid("pcc_short"));
	assert_false(client_id_valid("usr_AAAAAAAAAAAAAAAAAAAAAA"));
	assert_false(client_id_valid("pcc_AAAAAAAAAAAAAAAAAAAAA+"));
	assert_false(client_id_valid(NULL));
}

/*
 * Decision 0049 (TK-07, TK-08): the client cache sees every write at the
 * next read, also the writes this very thread made on its own connection
 * (which SQLite's data_version does not report: the process generation
 * does), and never caches a miss.
 */
static void
test_clients_TK07_cache_sees_own_writes(void **state)
{
	struct fixture *f = *state;
	struct client_cache *cc = client_cache_new();
	struct store_versions v, v2;
	struct store_client c, g;
	struct store_client_secret s[STORE_CLIENT_SECRETS_MAX];
	char s1[CLIENT_SECRET_LEN + 1], s2[CLIENT_SECRET_LEN + 1];
	size_t n = 0;
	const char *why;

	make(&c, "Cached", false);
	assert_int_equal(client_create(f->db, &c, 1000, s1, &why), 0);
	assert_int_equal(client_cache_versions(cc, f->db, &v), 0);
	assert_int_equal(
	    client_cache_get(cc, f->db, &v, c.client_id, &g, s, &n), 0);
	assert_string_equal(g.name, "Cached");
	assert_int_equal(n, 1);
	assert_int_equal(client_secret_match(s1, strlen(s1), s, n, 1000), 0);
	store_client_clear(&g);
	/* Nothing written: the same versions, a hit. */
	assert_int_equal(client_cache_versions(cc, f->db, &v2), 0);
	assert_int_equal(v2.clients, v.clients);
	assert_int_equal(
	    client_cache_get(cc, f->db, &v2, c.client_id, &g, s, &n), 0);
	store_client_clear(&g);
	/* Rotation with overlap 0 on this thread: the old secret goes. */
	assert_int_equal(
	    client_rotate_secret(f->db, c.client_id, 0, 1100, s2), 0);
	assert_int_equal(client_cache_versions(cc, f->db, &v), 0);
	assert_true(v.clients != v2.clients);
	assert_int_equal(
	    client_cache_get(cc, f->db, &v, c.client_id, &g, s, &n), 0);
	assert_int_equal(
	    client_secret_match(s1, strlen(s1), s, n, 1100), PC_ERR_VERIFY);
	assert_int_equal(client_secret_match(s2, strlen(s2), s, n, 1100), 0);
	store_client_clear(&g);
	/* An update: the new registration at the next read. */
	free(c.name);
	c.name = xstrdup("Renamed");
	assert_int_equal(client_update(f->db, &c, 1200, &why), 0);
	assert_int_equal(client_cache_versions(cc, f->db, &v), 0);
	assert_int_equal(
	    client_cache_get(cc, f->db, &v, c.client_id, &g, s, &n), 0);
	assert_string_equal(g.name, "Renamed");
	store_client_clear(&g);
	/* Deleted: not found at once. */
	assert_int_equal(store_client_delete(f->db, c.client_id, 1300), 0);
	assert_int_equal(client_cache_versions(cc, f->db, &v), 0);
	assert_int_equal(
	    client_cache_get(cc, f->db, &v, c.client_id, &g, s, &n),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(n, 0);
	assert_int_equal(client_cache_get(cc, f->db, &v,
			     "pcc_AAAAAAAAAAAAAAAAAAAAAA", &g, s, &n),
	    PC_ERR_NOT_FOUND);
	store_client_clear(&c);
	client_cache_free(cc);
}

/*
 * Decision 0049: the cache holds at most CLIENT_CACHE_ENTRIES clients
 * (the least recently used go), and a client id that does not exist
 * never takes a place, however many are tried.
 */
static void
test_clients_TK07_cache_bounded_no_misses(void **state)
{
	struct fixture *f = *state;
	struct client_cache *cc = client_cache_new();
	struct store_versions v;
	struct store_client g;
	struct store_client_secret s[STORE_CLIENT_SECRETS_MAX];
	char id[32];
	size_t n = 0;
	const int total = CLIENT_CACHE_ENTRIES + 76;

	/* More clients than the bound, in one statement. */
	assert_int_equal(db_exec(f->c,
			     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL"
			     " SELECT i + 1 FROM n WHERE i < 1100)"
			     " INSERT INTO clients (client_id, is_public,"
			     " created_at, name, token_endpoint_auth_method,"
			     " grant_types, scopes,"
			     " id_token_signed_response_alg, first_party,"
			     " jwks, updated_at) SELECT 'pcc_bound' || i, 0,"
			     " 1, 'B', 'client_secret_basic',"
			     " 'client_credentials', 'api', 'RS256', 0,"
			     " NULL, 1 FROM n"),
	    0);
	assert_int_equal(total, 1100);
	assert_int_equal(client_cache_versions(cc, f->db, &v), 0);
	for (int i = 1; i <= total; i++) {
		snprintf(id, sizeof(id), "pcc_bound%d", i);
		assert_int_equal(
		    client_cache_get(cc, f->db, &v, id, &g, s, &n), 0);
		assert_string_equal(g.client_id, id);
		store_client_clear(&g);
		assert_true(client_cache_count(cc) <= CLIENT_CACHE_ENTRIES);
	}
	assert_int_equal(client_cache_count(cc), CLIENT_CACHE_ENTRIES);
	/* Unknown ids: found nowhere, cached nowhere, nothing evicted. */
	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "pcc_nobody%d", i);
		assert_int_equal(client_cache_get(cc, f->db, &v, id, &g, s, &n),
		    PC_ERR_NOT_FOUND);
	}
	assert_int_equal(client_cache_count(cc), CLIENT_CACHE_ENTRIES);
	client_cache_free(cc);
}

static size_t
client_count(struct db *db)
{
	struct store_client *v = NULL;
	size_t n = 0;

	assert_int_equal(store_clients_list(db, &v, &n), 0);
	store_clients_free(v, n);
	return n;
}

/* Issue 17: the resource's introspection client, made and kept only with
 * the resource (src/oauth/client_defaults.c; CLI and admin API). */
static void
test_clients_resource_register(void **state)
{
	struct fixture *f = *state;
	struct store_resource res, got, other;
	struct store_client c;
	char secret[CLIENT_SECRET_LEN + 1];
	const char *why = NULL;
	bool created = true;
	size_t n0 = client_count(f->db);

	memset(&res, 0, sizeof(res));
	res.id = xstrdup("https://api.example.com/v1");
	res.scopes = xstrdup("orders:read orders:write");
	assert_int_equal(
	    resource_register(f->db, &res, 1000, secret, &created, &why), 0);
	assert_true(created);
	assert_string_equal(res.name, "https://api.example.com/v1");
	assert_int_equal(strncmp(secret, CLIENT_SECRET_PREFIX, 4), 0);
	assert_int_equal(client_count(f->db), n0 + 1);
	assert_int_equal(resource_get(f->db, res.id, &got), 0);
	assert_string_equal(got.client_id, res.client_id);
	store_resource_clear(&got);
	/* Confidential, no grant: it only introspects, with its secret. */
	assert_int_equal(store_client_get(f->db, res.client_id, &c), 0);
	assert_false(c.is_public);
	assert_string_equal(c.grant_types, "");
	assert_string_equal(c.auth_method, "client_secret_basic");
	store_client_clear(&c);
	assert_int_equal(client_verify_secret(f->db, res.client_id, secret,
			     strlen(secret), 1000),
	    0);

	/* Refused before any client is made: a taken id, bad scopes, a bad
	 * name; a client that serves another resource. Nothing is left. */
	memset(&other, 0, sizeof(other));
	other.id = xstrdup(res.id);
	other.scopes = xstrdup("x");
	assert_int_equal(
	    resource_register(f->db, &other, 1000, secret, &created, &why),
	    PC_ERR_CONFLICT);
	assert_false(created);
	assert_string_equal(secret, "");
	store_resource_clear(&other);
	memset(&other, 0, sizeof(other));
	other.id = xstrdup("https://b.example.com");
	other.scopes = xstrdup("openid");
	assert_int_equal(
	    resource_register(f->db, &other, 1000, secret, &created, &why),
	    PC_ERR_INVALID);
	assert_non_null(why);
	free(other.scopes);
	other.scopes = xstrdup("b:read");
	other.name = xstrdup("bad\x01name");
	assert_int_equal(
	    resource_register(f->db, &other, 1000, secret, &created, &why),
	    PC_ERR_INVALID);
	assert_false(created);
	free(other.name);
	other.name = NULL;
	other.client_id = xstrdup(res.client_id);
	assert_int_equal(
	    resource_register(f->db, &other, 1000, secret, &created, &why),
	    PC_ERR_CONFLICT);
	assert_false(created);
	assert_int_equal(client_count(f->db), n0 + 1);
	assert_int_equal(resource_get(f->db, "https://b.example.com", &got),
	    PC_ERR_NOT_FOUND);
	store_resource_clear(&other);
	store_resource_clear(&res);
	sodium_memzero(secret, sizeof(secret));
}

/* AK-08: a client bound to a service account takes the grant it is for
 * and the account's scopes, unless given (client_bound_defaults). */
static void
test_clients_bound_defaults(void **state)
{
	struct fixture *f = *state;
	struct store_service_account sa;
	struct sa_fields sf = { .name = "orders-bot", .scopes = "orders:read" };
	struct store_client c;
	const char *why = NULL;

	assert_int_equal(
	    service_account_create(f->db, &sf, 1000, &sa, &why), 0);
	memset(&c, 0, sizeof(c));
	c.service_account_id = xstrdup(sa.id);
	assert_int_equal(client_bound_defaults(f->db, &c, false, false), 0);
	assert_string_equal(c.grant_types, "client_credentials");
	assert_string_equal(c.scopes, "orders:read");
	free(c.scopes);
	c.scopes = xstrdup("mine");
	free(c.grant_types);
	c.grant_types = xstrdup("refresh_token");
	assert_int_equal(client_bound_defaults(f->db, &c, true, true), 0);
	assert_string_equal(c.grant_types, "refresh_token");
	assert_string_equal(c.scopes, "mine");
	/* An unknown account: left for client_create to refuse. */
	free(c.service_account_id);
	c.service_account_id = xstrdup("svc_AAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(client_bound_defaults(f->db, &c, true, false), 0);
	assert_string_equal(c.scopes, "mine");
	store_client_clear(&c);
	store_service_account_clear(&sa);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clients_AZ04_refused_redirect_uris),
		cmocka_unit_test(test_clients_AZ04_accepted_redirect_uris),
		cmocka_unit_test(test_clients_AZ01_match),
		cmocka_unit_test(test_clients_validate_rules),
		cmocka_unit_test(test_clients_jwks_check),
		cmocka_unit_test(test_clients_id_opaque_random),
		T(test_clients_create_get_list_update),
		T(test_clients_TK08_secret_shown_once_stored_hashed),
		T(test_clients_TK08_rotation_overlap_then_expiry),
		T(test_clients_TK08_verify_refuses_near_misses),
		T(test_clients_delete_tombstone),
		T(test_clients_TK07_cache_sees_own_writes),
		T(test_clients_TK07_cache_bounded_no_misses),
		T(test_clients_resource_register),
		T(test_clients_bound_defaults),
	};
#undef T

	log_init(LOG_ERROR);
	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
