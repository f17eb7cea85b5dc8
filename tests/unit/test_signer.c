/*
 * Unit tests for crypto/signer.c through crypto.h, on a temp data dir with
 * a migrated SQLite store and a master key file: the first keys are made
 * once, the JWKS is public-only, tokens verify against it, and rotation
 * follows SECURITY.md JW-09 (a new key is published before it signs, the
 * old one stays published until every token it signed has expired, then
 * leaves the JWKS). A private key row that was swapped, resealed under
 * another kid, or opened with another master key is refused. Rows planted
 * or altered by someone who can write the store but lacks the master key
 * (any state) are never published and verify nothing. A failed reload
 * backs off and the last good ring follows the clock; an unknown kid
 * makes at most one reload a second.
 *
 * The clock is the `now` passed in; no test depends on the wall clock.
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
#include <jansson.h>
#include <sodium.h>

#include "capture.h"
#include "crypto/crypto.h"
#include "store_fixture.h"
#include "store/store.h"
#include "util/log.h"

#define T0 INT64_C(2000000000)
#define DELAY 600      /* signing_key_activation_delay */
#define ACCESS_TTL 300 /* access_token_ttl */
#define ID_TTL 420     /* id_token_ttl: the larger one */
#define LEEWAY 60

struct fixture {
	char dir[64];
	char mk_path[128];
	struct config cfg;
	struct masterkey *mk;
	struct db *db;
	struct signer *s;
};

static void
cfg_set(struct config *c, const char *name, const char *value)
{
	char err[256] = "";

	if (config_set(c, name, value, CONFIG_SRC_FLAG, err, sizeof(err)) != 0)
		fail_msg("config_set %s: %s", name, err);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	enum masterkey_source src;
	char err[512] = "", num[32];

	if (f == NULL)
		return -1;
	unsetenv("PORTCULLIS_MASTER_KEY");
	if (store_fixture_dir(f->dir) != 0) {
		free(f);
		return -1;
	}
	snprintf(f->mk_path, sizeof(f->mk_path), "%s/master.key", f->dir);
	config_defaults(&f->cfg);
	cfg_set(&f->cfg, "data_dir", f->dir);
	cfg_set(&f->cfg, "rsa_key_bits", "2048");
	snprintf(num, sizeof(num), "%ds", DELAY);
	cfg_set(&f->cfg, "signing_key_activation_delay", num);
	snprintf(num, sizeof(num), "%ds", ACCESS_TTL);
	cfg_set(&f->cfg, "access_token_ttl", num);
	snprintf(num, sizeof(num), "%ds", ID_TTL);
	cfg_set(&f->cfg, "id_token_ttl", num);
	if (config_finish(&f->cfg, err, sizeof(err)) != 0 ||
	    masterkey_create_file(f->mk_path, err, sizeof(err)) != 0 ||
	    masterkey_load(&f->cfg, false, &f->mk, &src, err, sizeof(err)) !=
		0 ||
	    store_fixture_open(f->dir, true, &f->db) != 0 ||
	    signer_open(f->db, f->mk, &f->cfg, true, T0, &f->s) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	signer_free(f->s);
	masterkey_free(f->mk);
	config_free(&f->cfg);
	if (store_fixture_close(f->dir, f->db) != 0)
		return -1;
	free(f);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers */

/* The verification keys of a published JWKS document. */
struct verifier {
	json_t *doc;
	struct jws_key keys[8];
	size_t n;
};

static void
verifier_init(struct verifier *v, struct signer *s, int64_t now)
{
	json_error_t jerr;
	json_t *keys, *jwk;
	size_t len, i;
	char *text = NULL;

	memset(v, 0, sizeof(*v));
	assert_int_equal(signer_jwks(s, now, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	v->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	assert_non_null(v->doc);
	keys = json_object_get(v->doc, "keys");
	assert_true(json_is_array(keys));
	assert_true(json_array_size(keys) <= PC_NELEM(v->keys));
	json_array_foreach(keys, i, jwk)
	{
		const char *alg =
		    json_string_value(json_object_get(jwk, "alg"));
		struct jws_key *k = &v->keys[v->n];

		assert_non_null(alg);
		k->alg = jose_alg_parse(alg, strlen(alg));
		k->kid = json_string_value(json_object_get(jwk, "kid"));
		assert_non_null(k->kid);
		assert_int_equal(jwk_to_pkey(jwk, k->alg, &k->pkey), 0);
		v->n++;
	}
}

static void
verifier_free(struct verifier *v)
{
	for (size_t i = 0; i < v->n; i++)
		EVP_PKEY_free(v->keys[i].pkey);
	json_decref(v->doc);
	memset(v, 0, sizeof(*v));
}

static bool
verifier_has(const struct verifier *v, const char *kid)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->keys[i].kid, kid) == 0)
			return true;
	return false;
}

/* Verifies token against the JWKS published at now. */
static int
verify_at(struct signer *s, int64_t now, const char *token, char kid_out[64])
{
	static const enum jose_alg algs[] = { JOSE_ALG_ES256, JOSE_ALG_RS256 };
	struct jws_verify_opts opts = { 0 };
	struct jws_verified out;
	struct verifier v;
	int r;

	verifier_init(&v, s, now);
	opts.keys = v.keys;
	opts.nkeys = v.n;
	opts.algs = algs;
	opts.nalgs = PC_NELEM(algs);
	r = jws_verify_compact(token, strlen(token), &opts, &out);
	if (r == 0) {
		if (kid_out != NULL)
			snprintf(kid_out, 64, "%s", out.key->kid);
		assert_string_equal(
		    json_string_value(json_object_get(out.payload, "sub")),
		    "alice");
		jws_verified_free(&out);
	}
	verifier_free(&v);
	return r;
}

/* Signs {"sub":"alice","iat":now}; returns the token, kid in kid_out. */
static char *
sign_at(struct signer *s, enum jose_alg alg, int64_t now, char kid_out[64])
{
	json_t *claims =
	    json_pack("{s:s,s:I}", "sub", "alice", "iat", (json_int_t)now);
	json_t *hdr;
	json_error_t jerr;
	char *token = NULL, *dot;
	const char *p;
	uint8_t raw[512];
	size_t len = 0;

	assert_non_null(claims);
	assert_int_equal(
	    signer_sign_jwt(s, alg, "at+jwt", claims, now, &token), 0);
	json_decref(claims);
	assert_non_null(token);
	dot = strchr(token, '.');
	assert_non_null(dot);
	assert_int_equal(
	    b64url_decode(token, (size_t)(dot - token), raw, sizeof(raw), &len),
	    0);
	hdr = json_loadb((const char *)raw, len, 0, &jerr);
	assert_non_null(hdr);
	assert_string_equal(
	    json_string_value(json_object_get(hdr, "alg")), jose_alg_name(alg));
	assert_string_equal(
	    json_string_value(json_object_get(hdr, "typ")), "at+jwt");
	p = json_string_value(json_object_get(hdr, "kid"));
	assert_non_null(p);
	snprintf(kid_out, 64, "%s", p);
	json_decref(hdr);
	return token;
}

/* The key info of kid at now. */
static struct signer_key_info
info_at(struct signer *s, int64_t now, const char *kid)
{
	struct signer_key_info *v = NULL, r;
	size_t n = 0;
	bool found = false;

	memset(&r, 0, sizeof(r));
	assert_int_equal(signer_list(s, now, &v, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].kid, kid) == 0) {
			r = v[i];
			found = true;
		}
	}
	free(v);
	if (!found)
		fail_msg("no key %s", kid);
	return r;
}

/* The one key of alg in state at now, by kid. */
static void
kid_of(struct signer *s, int64_t now, enum jose_alg alg,
    enum signer_key_state state, char kid[64])
{
	struct signer_key_info *v = NULL;
	size_t n = 0, found = 0;

	assert_int_equal(signer_list(s, now, &v, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (v[i].alg == alg && v[i].state == state) {
			snprintf(kid, 64, "%s", v[i].kid);
			found++;
		}
	}
	free(v);
	assert_int_equal(found, 1);
}

static size_t
store_count(struct fixture *f)
{
	struct store_signing_key *rows = NULL;
	size_t n = 0;

	assert_int_equal(store_signing_keys_list(f->db, &rows, &n), 0);
	store_signing_keys_free(rows, n);
	return n;
}

static void
set_sealed(struct fixture *f, const char *kid, const char *sealed)
{
	struct db_conn *c;
	struct db_stmt *st;

	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(db_prepare(c,
			     "UPDATE signing_keys SET private_sealed = ?"
			     " WHERE kid = ?",
			     &st),
	    0);
	assert_int_equal(db_bind_cstr(st, 1, sealed), 0);
	assert_int_equal(db_bind_cstr(st, 2, kid), 0);
	assert_int_equal(db_step(st), DB_DONE);
	db_done(st);
}

/* ------------------------------------------------------------------ */
/* Opening */

static void
test_signer_open_creates_first_keys(void **state)
{
	struct fixture *f = *state;
	struct store_signing_key *rows = NULL;
	struct signer_key_info *v = NULL;
	size_t n = 0, es = 0, rs = 0;

	assert_int_equal(signer_list(f->s, T0, &v, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		es += v[i].alg == JOSE_ALG_ES256;
		rs += v[i].alg == JOSE_ALG_RS256;
		assert_int_equal(v[i].state, SIGNER_ACTIVE);
		assert_int_equal(v[i].created_at, T0);
		assert_int_equal(v[i].activate_at, T0);
		assert_int_equal(v[i].retired_at, 0);
		assert_int_equal(v[i].unpublish_at, 0);
		assert_int_equal(
		    strlen(v[i].kid), 43); /* RFC 7638 thumbprint */
	}
	assert_int_equal(es, 1);
	assert_int_equal(rs, 1);
	free(v);
	/* In the store: the private part only sealed. */
	assert_int_equal(store_signing_keys_list(f->db, &rows, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_memory_equal(rows[i].private_sealed, "v1.", 3);
		assert_null(strstr(rows[i].public_jwk, "\"d\""));
	}
	store_signing_keys_free(rows, n);
}

static void
test_signer_second_open_creates_none(void **state)
{
	struct fixture *f = *state;
	struct signer *s2 = NULL;
	char es[64], rs[64], es2[64], rs2[64];

	kid_of(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, es);
	kid_of(f->s, T0, JOSE_ALG_RS256, SIGNER_ACTIVE, rs);
	assert_int_equal(
	    signer_open(f->db, f->mk, &f->cfg, true, T0 + 5, &s2), 0);
	assert_int_equal(store_count(f), 2);
	kid_of(s2, T0 + 5, JOSE_ALG_ES256, SIGNER_ACTIVE, es2);
	kid_of(s2, T0 + 5, JOSE_ALG_RS256, SIGNER_ACTIVE, rs2);
	assert_string_equal(es, es2);
	assert_string_equal(rs, rs2);
	signer_free(s2);
	signer_free(NULL);
}

static void
test_signer_open_without_ensure_on_empty_store(void **state)
{
	struct fixture *f = *state;
	struct db *db = NULL;
	struct signer *s = NULL;
	char dir[64], url[128], path[192], err[512], *token = NULL, *jwks;
	json_t *claims = json_object();
	int from, to;
	size_t len;

	snprintf(dir, sizeof(dir), "/tmp/pc-test-signer-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/empty.db", dir);
	assert_int_equal(db_open(url, dir, &db), 0);
	assert_int_equal(store_migrate(db, &from, &to, err, sizeof(err)), 0);
	assert_int_equal(signer_open(db, f->mk, &f->cfg, false, T0, &s), 0);
	assert_int_equal(
	    signer_sign_jwt(s, JOSE_ALG_ES256, NULL, claims, T0, &token),
	    PC_ERR_NOT_FOUND);
	assert_null(token);
	assert_int_equal(signer_jwks(s, T0, &jwks, &len), 0);
	assert_string_equal(jwks, "{\"keys\":[]}");
	free(jwks);
	json_decref(claims);
	signer_free(s);
	db_close(db);
	for (int i = 0; i < 3; i++) {
		static const char *const sfx[] = { "", "-wal", "-shm" };

		snprintf(path, sizeof(path), "%s/empty.db%s", dir, sfx[i]);
		(void)unlink(path);
	}
	assert_int_equal(rmdir(dir), 0);
}

/* ------------------------------------------------------------------ */
/* JWKS and signing */

static void
test_signer_JW09_jwks_public_only(void **state)
{
	static const char *const private[] = { "d", "p", "q", "dp", "dq", "qi",
		"oth", "k" };
	struct fixture *f = *state;
	json_t *doc, *keys, *jwk;
	json_error_t jerr;
	char *text = NULL, es[64], rs[64];
	size_t len = 0, i;
	uint8_t n[600];
	size_t n_len = 0;

	kid_of(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, es);
	kid_of(f->s, T0, JOSE_ALG_RS256, SIGNER_ACTIVE, rs);
	assert_int_equal(signer_jwks(f->s, T0, &text, &len), 0);
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	assert_non_null(doc);
	assert_int_equal(json_object_size(doc), 1);
	keys = json_object_get(doc, "keys");
	assert_int_equal(json_array_size(keys), 2);
	json_array_foreach(keys, i, jwk)
	{
		const char *kid =
		    json_string_value(json_object_get(jwk, "kid"));
		const char *kty =
		    json_string_value(json_object_get(jwk, "kty"));

		assert_non_null(kid);
		assert_non_null(kty);
		for (size_t k = 0; k < PC_NELEM(private); k++)
			assert_null(json_object_get(jwk, private[k]));
		assert_string_equal(
		    json_string_value(json_object_get(jwk, "use")), "sig");
		if (strcmp(kid, es) == 0) {
			assert_string_equal(kty, "EC");
			assert_string_equal(
			    json_string_value(json_object_get(jwk, "crv")),
			    "P-256");
			assert_string_equal(
			    json_string_value(json_object_get(jwk, "alg")),
			    "ES256");
		} else {
			const char *nv =
			    json_string_value(json_object_get(jwk, "n"));

			assert_string_equal(kid, rs);
			assert_string_equal(kty, "RSA");
			assert_string_equal(
			    json_string_value(json_object_get(jwk, "alg")),
			    "RS256");
			/* At least 2048 bits. */
			assert_non_null(nv);
			assert_int_equal(
			    b64url_decode(nv, strlen(nv), n, sizeof(n), &n_len),
			    0);
			assert_true(n_len >= 256);
			assert_true(n[0] & 0x80);
		}
	}
	json_decref(doc);
}

static void
test_signer_sign_verifies_with_jwks(void **state)
{
	static const enum jose_alg algs[] = { JOSE_ALG_ES256, JOSE_ALG_RS256 };
	struct fixture *f = *state;

	for (size_t i = 0; i < PC_NELEM(algs); i++) {
		char active[64], kid[64], vkid[64];
		char *token = sign_at(f->s, algs[i], T0 + 1, kid);
		size_t len = strlen(token);

		kid_of(f->s, T0 + 1, algs[i], SIGNER_ACTIVE, active);
		assert_string_equal(kid, active);
		assert_int_equal(verify_at(f->s, T0 + 1, token, vkid), 0);
		assert_string_equal(vkid, kid);
		/* A changed signature does not verify. */
		token[len - 2] = token[len - 2] == 'A' ? 'B' : 'A';
		assert_int_not_equal(verify_at(f->s, T0 + 1, token, NULL), 0);
		free(token);
	}
}

static void
test_signer_sign_without_key_of_alg(void **state)
{
	struct fixture *f = *state;
	json_t *claims = json_object();
	char *token = (char *)1;

	assert_int_equal(
	    signer_sign_jwt(f->s, JOSE_ALG_PS256, NULL, claims, T0, &token),
	    PC_ERR_NOT_FOUND);
	assert_null(token);
	assert_int_equal(
	    signer_sign_jwt(f->s, JOSE_ALG_EDDSA, NULL, claims, T0, &token),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    signer_sign_jwt(f->s, JOSE_ALG_INVALID, NULL, claims, T0, &token),
	    PC_ERR_NOT_FOUND);
	json_decref(claims);
}

static void
test_signer_state_names(void **state)
{
	(void)state;
	assert_string_equal(signer_state_name(SIGNER_PENDING), "pending");
	assert_string_equal(signer_state_name(SIGNER_ACTIVE), "active");
	assert_string_equal(signer_state_name(SIGNER_RETIRED), "retired");
	assert_string_equal(signer_state_name(SIGNER_EXPIRED), "expired");
}

/* ------------------------------------------------------------------ */
/* Rotation (JW-09) */

/* A new key is published at once and signs only after the delay. */
static void
test_signer_JW09_rotated_key_pending_then_active(void **state)
{
	struct fixture *f = *state;
	struct signer_key_info ki;
	struct verifier v;
	char old[64], new[64], kid[64], *token;

	kid_of(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, old);
	assert_int_equal(
	    signer_rotate(f->db, f->mk, &f->cfg, JOSE_ALG_ES256, T0, new), 0);
	assert_string_not_equal(old, new);
	assert_int_equal(store_count(f), 3);
	assert_int_equal(signer_refresh(f->s, T0, true), 0);

	/* At now: old signs, new is pending and already published. */
	ki = info_at(f->s, T0, new);
	assert_int_equal(ki.state, SIGNER_PENDING);
	assert_int_equal(ki.activate_at, T0 + DELAY);
	assert_int_equal(info_at(f->s, T0, old).state, SIGNER_ACTIVE);
	token = sign_at(f->s, JOSE_ALG_ES256, T0, kid);
	assert_string_equal(kid, old);
	free(token);
	verifier_init(&v, f->s, T0);
	assert_int_equal(v.n, 3);
	assert_true(verifier_has(&v, old));
	assert_true(verifier_has(&v, new));
	verifier_free(&v);

	/* The last second before the delay: still the old key. */
	token = sign_at(f->s, JOSE_ALG_ES256, T0 + DELAY - 1, kid);
	assert_string_equal(kid, old);
	free(token);

	/* From activate_at on, the new one, without a forced refresh. */
	token = sign_at(f->s, JOSE_ALG_ES256, T0 + DELAY, kid);
	assert_string_equal(kid, new);
	free(token);
	assert_int_equal(info_at(f->s, T0 + DELAY, old).state, SIGNER_RETIRED);
	assert_int_equal(info_at(f->s, T0 + DELAY, new).state, SIGNER_ACTIVE);
	/* The other algorithm is not affected. */
	kid_of(f->s, T0 + DELAY, JOSE_ALG_RS256, SIGNER_ACTIVE, kid);
}

/* Retired, still published until its last token expired, then gone. */
static void
test_signer_JW09_retired_until_tokens_expire(void **state)
{
	struct fixture *f = *state;
	struct signer_key_info ki;
	struct verifier v;
	char old[64], new[64], kid[64], *last, *token;
	const int64_t t1 = T0 + DELAY + 1;
	const int64_t retired_at = T0 + DELAY;
	const int64_t unpublish_at = retired_at + ID_TTL + LEEWAY;
	char rs[64];

	kid_of(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, old);
	kid_of(f->s, T0, JOSE_ALG_RS256, SIGNER_ACTIVE, rs);
	assert_int_equal(
	    signer_rotate(f->db, f->mk, &f->cfg, JOSE_ALG_ES256, T0, new), 0);
	assert_int_equal(signer_refresh(f->s, T0, true), 0);
	/* The last token the old key signs. */
	last = sign_at(f->s, JOSE_ALG_ES256, retired_at - 1, kid);
	assert_string_equal(kid, old);

	assert_int_equal(signer_refresh(f->s, t1, true), 0);
	token = sign_at(f->s, JOSE_ALG_ES256, t1, kid);
	assert_string_equal(kid, new);
	assert_int_equal(verify_at(f->s, t1, token, kid), 0);
	assert_string_equal(kid, new);
	free(token);
	ki = info_at(f->s, t1, old);
	assert_int_equal(ki.state, SIGNER_RETIRED);
	assert_int_equal(ki.retired_at, retired_at);
	/* max(access_token_ttl, id_token_ttl) + 60 */
	assert_int_equal(ki.unpublish_at, unpublish_at);
	assert_int_equal(info_at(f->s, t1, new).state, SIGNER_ACTIVE);
	verifier_init(&v, f->s, t1);
	assert_true(verifier_has(&v, old));
	assert_true(verifier_has(&v, new));
	assert_true(verifier_has(&v, rs));
	verifier_free(&v);

	/* At the expiry of the last token (plus leeway) it still verifies. */
	assert_int_equal(
	    signer_refresh(f->s, retired_at - 1 + ID_TTL, true), 0);
	assert_int_equal(
	    verify_at(f->s, retired_at - 1 + ID_TTL, last, kid), 0);
	assert_string_equal(kid, old);
	assert_int_equal(signer_refresh(f->s, unpublish_at - 1, true), 0);
	assert_int_equal(
	    info_at(f->s, unpublish_at - 1, old).state, SIGNER_RETIRED);
	assert_int_equal(verify_at(f->s, unpublish_at - 1, last, NULL), 0);

	/* From unpublish_at: expired, out of the JWKS, its tokens refused. */
	assert_int_equal(signer_refresh(f->s, unpublish_at, true), 0);
	ki = info_at(f->s, unpublish_at, old);
	assert_int_equal(ki.state, SIGNER_EXPIRED);
	assert_int_equal(ki.unpublish_at, unpublish_at);
	verifier_init(&v, f->s, unpublish_at);
	assert_false(verifier_has(&v, old));
	assert_true(verifier_has(&v, new));
	assert_true(verifier_has(&v, rs));
	assert_int_equal(v.n, 2);
	verifier_free(&v);
	assert_int_equal(
	    verify_at(f->s, unpublish_at, last, NULL), PC_ERR_VERIFY);
	assert_int_equal(
	    verify_at(f->s, unpublish_at + 86400, last, NULL), PC_ERR_VERIFY);
	free(last);
}

/* The JWKS follows the clock by itself (no forced refresh). */
static void
test_signer_JW09_jwks_follows_clock(void **state)
{
	struct fixture *f = *state;
	struct verifier v;
	char old[64], new[64];
	const int64_t unpublish_at = T0 + DELAY + ID_TTL + LEEWAY;

	kid_of(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, old);
	assert_int_equal(
	    signer_rotate(f->db, f->mk, &f->cfg, JOSE_ALG_ES256, T0, new), 0);
	/* Picked up on the next refresh interval. */
	verifier_init(&v, f->s, T0 + f->cfg.signing_key_refresh);
	assert_true(verifier_has(&v, new));
	verifier_free(&v);
	verifier_init(&v, f->s, unpublish_at - 1);
	assert_true(verifier_has(&v, old));
	verifier_free(&v);
	verifier_init(&v, f->s, unpublish_at);
	assert_false(verifier_has(&v, old));
	assert_true(verifier_has(&v, new));
	verifier_free(&v);
}

/* The unpublish time uses the larger of the two token lifetimes. */
static void
test_signer_JW09_unpublish_uses_longest_ttl(void **state)
{
	struct fixture *f = *state;
	char old[64], new[64];
	const int64_t t1 = T0 + DELAY + 1;

	kid_of(f->s, T0, JOSE_ALG_RS256, SIGNER_ACTIVE, old);
	assert_int_equal(
	    signer_rotate(f->db, f->mk, &f->cfg, JOSE_ALG_RS256, T0, new), 0);
	assert_int_equal(signer_refresh(f->s, t1, true), 0);
	assert_int_equal(
	    info_at(f->s, t1, old).unpublish_at, T0 + DELAY + ID_TTL + LEEWAY);
	/* The signer reads the live config: an access token that lives
	 * longer than the ID token moves the date. */
	cfg_set(&f->cfg, "access_token_ttl", "15m");
	assert_int_equal(
	    info_at(f->s, t1, old).unpublish_at, T0 + DELAY + 900 + LEEWAY);
	assert_int_equal(info_at(f->s, t1, old).retired_at, T0 + DELAY);
}

/* Two rotations: each key retires when its successor activates. */
static void
test_signer_JW09_two_rotations(void **state)
{
	struct fixture *f = *state;
	char k1[64], k2[64], k3[64], kid[64], *token;
	struct signer_key_info ki;

	kid_of(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, k1);
	assert_int_equal(
	    signer_rotate(f->db, f->mk, &f->cfg, JOSE_ALG_ES256, T0, k2), 0);
	assert_int_equal(
	    signer_rotate(f->db, f->mk, &f->cfg, JOSE_ALG_ES256, T0 + 100, k3),
	    0);
	assert_int_equal(signer_refresh(f->s, T0 + DELAY + 50, true), 0);
	ki = info_at(f->s, T0 + DELAY + 50, k1);
	assert_int_equal(ki.state, SIGNER_RETIRED);
	assert_int_equal(ki.retired_at, T0 + DELAY);
	assert_int_equal(
	    info_at(f->s, T0 + DELAY + 50, k2).state, SIGNER_ACTIVE);
	assert_int_equal(
	    info_at(f->s, T0 + DELAY + 50, k3).state, SIGNER_PENDING);
	token = sign_at(f->s, JOSE_ALG_ES256, T0 + DELAY + 100, kid);
	assert_string_equal(kid, k3);
	free(token);
	ki = info_at(f->s, T0 + DELAY + 100, k2);
	assert_int_equal(ki.state, SIGNER_RETIRED);
	assert_int_equal(ki.retired_at, T0 + DELAY + 100);
	assert_int_equal(ki.unpublish_at, T0 + DELAY + 100 + ID_TTL + LEEWAY);
}

/* ------------------------------------------------------------------ */
/* Tampered rows and the wrong master key */

/*
 * Private parts swapped between rows: the kid is the associated data.
 * Both active keys are rejected: a new node refuses to start (no ES256
 * key, no access token), and a running one fails closed for both algs.
 */
static void
test_signer_swapped_sealed_rows_refused(void **state)
{
	struct fixture *f = *state;
	struct store_signing_key *rows = NULL;
	struct signer *s2 = (struct signer *)1;
	struct signer_stats st;
	json_t *claims = json_object();
	char *token = NULL, *jwks = NULL;
	size_t n = 0, len = 0;

	assert_int_equal(store_signing_keys_list(f->db, &rows, &n), 0);
	assert_int_equal(n, 2);
	set_sealed(f, rows[0].kid, rows[1].private_sealed);
	set_sealed(f, rows[1].kid, rows[0].private_sealed);
	store_signing_keys_free(rows, n);
	assert_int_equal(
	    signer_open(f->db, f->mk, &f->cfg, false, T0, &s2), PC_ERR_VERIFY);
	assert_null(s2);
	assert_int_equal(
	    signer_open(f->db, f->mk, &f->cfg, true, T0, &s2), PC_ERR_VERIFY);
	assert_null(s2);
	/* The running signer loads the ring, and can sign nothing. */
	assert_int_equal(signer_refresh(f->s, T0 + 1, true), 0);
	signer_stats(f->s, &st);
	assert_int_equal(st.keys, 2);
	assert_int_equal(st.rejected, 2);
	assert_int_equal(signer_sign_jwt(f->s, JOSE_ALG_ES256, "at+jwt", claims,
			     T0 + 1, &token),
	    PC_ERR_NOT_FOUND);
	assert_false(signer_can_sign(f->s, JOSE_ALG_RS256, T0 + 1));
	{
		static const enum jose_alg both[] = { JOSE_ALG_RS256,
			JOSE_ALG_ES256 };

		assert_int_equal(
		    signer_can_sign_mask(f->s, both, 2, T0 + 1), 0);
	}
	assert_int_equal(signer_jwks(f->s, T0 + 1, &jwks, &len), 0);
	assert_string_equal(jwks, "{\"keys\":[]}");
	free(jwks);
	json_decref(claims);
	assert_int_equal(store_count(f), 2);
}

/*
 * Another key's private part resealed under this row's kid: the AEAD
 * opens, and the thumbprint check catches the mismatch. Resealing needs
 * the seal key, which the signer derives as ("signkeys", 1).
 */
/* from's private key, resealed under to's kid, into to's row. */
static void
sk_reseal(const uint8_t *sk, const struct store_signing_key *from,
    const struct store_signing_key *to, struct fixture *f)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	char *resealed = NULL;

	assert_int_equal(
	    unseal(sk, from->kid, from->private_sealed, &der, &der_len), 0);
	assert_int_equal(seal(sk, to->kid, der, der_len, &resealed), 0);
	sodium_free(der);
	set_sealed(f, to->kid, resealed);
	free(resealed);
}

static void
test_signer_resealed_under_other_kid_refused(void **state)
{
	struct fixture *f = *state;
	struct store_signing_key *rows = NULL;
	struct signer *s2 = (struct signer *)1;
	uint8_t *sk = sodium_malloc(32);
	size_t n = 0, es, rs;

	assert_non_null(sk);
	masterkey_derive(f->mk, "signkeys", 1, sk);
	assert_int_equal(store_signing_keys_list(f->db, &rows, &n), 0);
	assert_int_equal(n, 2);
	/* The RS256 key resealed under the (active) ES256 kid. */
	es = strcmp(rows[0].alg, "ES256") == 0 ? 0 : 1;
	rs = 1 - es;
	sk_reseal(sk, &rows[rs], &rows[es], f);
	/* The ES256 kid is refused: no ES256 key, no start. */
	assert_int_equal(
	    signer_open(f->db, f->mk, &f->cfg, false, T0, &s2), PC_ERR_VERIFY);
	assert_null(s2);
	/* The other way round: RS256 is refused, the node starts. */
	set_sealed(f, rows[es].kid, rows[es].private_sealed);
	sk_reseal(sk, &rows[es], &rows[rs], f);
	assert_int_equal(signer_open(f->db, f->mk, &f->cfg, false, T0, &s2), 0);
	assert_true(info_at(s2, T0, rows[rs].kid).rejected);
	assert_false(signer_can_sign(s2, JOSE_ALG_RS256, T0));
	assert_true(signer_can_sign(s2, JOSE_ALG_ES256, T0));
	signer_free(s2);
	store_signing_keys_free(rows, n);
	sodium_free(sk);
}

static void
test_signer_other_master_key_refused(void **state)
{
	struct fixture *f = *state;
	struct masterkey *mk2 = NULL;
	struct signer *s2 = (struct signer *)1;
	enum masterkey_source src;
	char path[192], err[512];
	int r;

	snprintf(path, sizeof(path), "%s/other.key", f->dir);
	cfg_set(&f->cfg, "master_key_file", path);
	assert_int_equal(
	    masterkey_load(&f->cfg, true, &mk2, &src, err, sizeof(err)), 0);
	assert_int_equal(src, MASTERKEY_CREATED);
	r = signer_open(f->db, mk2, &f->cfg, true, T0, &s2);
	assert_true(r == PC_ERR_VERIFY || r == PC_ERR_CRYPTO);
	assert_null(s2);
	r = signer_open(f->db, mk2, &f->cfg, false, T0 + 1, &s2);
	assert_true(r == PC_ERR_VERIFY || r == PC_ERR_CRYPTO);
	/* No key was generated to replace the unreadable ones. */
	assert_int_equal(store_count(f), 2);
	masterkey_free(mk2);
}

/*
 * A corrupted sealed text (not a tampered key): the active ES256 key
 * stops the start; the active RS256 key only stops RS256 signing.
 */
static void
test_signer_corrupt_sealed_row_refused(void **state)
{
	struct fixture *f = *state;
	struct signer *s2 = (struct signer *)1;
	struct verifier v;
	char es[64], rs[64], kid[64], *token;

	kid_of(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, es);
	kid_of(f->s, T0, JOSE_ALG_RS256, SIGNER_ACTIVE, rs);
	set_sealed(f, rs, "v1.AAAA");
	assert_int_equal(signer_open(f->db, f->mk, &f->cfg, true, T0, &s2), 0);
	assert_true(info_at(s2, T0, rs).rejected);
	assert_false(info_at(s2, T0, es).rejected);
	assert_false(signer_can_sign(s2, JOSE_ALG_RS256, T0));
	assert_int_equal(store_count(f), 2); /* no replacement generated */
	verifier_init(&v, s2, T0);
	assert_int_equal(v.n, 1);
	assert_true(verifier_has(&v, es));
	verifier_free(&v);
	token = sign_at(s2, JOSE_ALG_ES256, T0, kid);
	assert_string_equal(kid, es);
	assert_int_equal(verify_at(s2, T0, token, NULL), 0);
	free(token);
	signer_free(s2);
	s2 = (struct signer *)1;
	set_sealed(f, es, "v1.AAAA");
	assert_true(signer_open(f->db, f->mk, &f->cfg, false, T0, &s2) < 0);
	assert_null(s2);
}

/* signer_verify_jwt: own active and retired keys, alg and typ enforced. */
static int
own_verify(struct signer *s, int64_t now, const char *token, enum jose_alg alg,
    const char *typ)
{
	struct signer_verify_opts o = { &alg, 1, typ };
	struct jws_verified v;
	int r = signer_verify_jwt(s, token, strlen(token), &o, now, &v);

	if (r == 0) {
		assert_null(v.key);
		assert_non_null(json_object_get(v.payload, "sub"));
	}
	jws_verified_free(&v);
	return r;
}

static void
test_signer_verify_own_tokens(void **state)
{
	struct fixture *f = *state;
	const int64_t t1 = T0 + DELAY + 1;
	const int64_t unpublish_at = T0 + DELAY + ID_TTL + LEEWAY;
	json_t *claims = json_pack("{s:s}", "sub", "alice");
	char *at = NULL, *plain = NULL, kid[64];
	size_t len;

	assert_int_equal(
	    signer_sign_jwt(f->s, JOSE_ALG_ES256, "at+jwt", claims, T0, &at),
	    0);
	assert_int_equal(
	    signer_sign_jwt(f->s, JOSE_ALG_ES256, "JWT", claims, T0, &plain),
	    0);
	assert_int_equal(own_verify(f->s, T0, at, JOSE_ALG_ES256, "at+jwt"), 0);
	/* JW-06: the typ is required; JW-02: the alg is the context's. */
	assert_int_not_equal(
	    own_verify(f->s, T0, plain, JOSE_ALG_ES256, "at+jwt"), 0);
	assert_int_equal(own_verify(f->s, T0, plain, JOSE_ALG_ES256, "JWT"), 0);
	assert_int_not_equal(
	    own_verify(f->s, T0, at, JOSE_ALG_RS256, "at+jwt"), 0);
	/* After a rotation the retired key still verifies what it signed. */
	assert_int_equal(
	    signer_rotate(f->db, f->mk, &f->cfg, JOSE_ALG_ES256, T0, kid), 0);
	assert_int_equal(signer_refresh(f->s, t1, true), 0);
	assert_int_equal(own_verify(f->s, t1, at, JOSE_ALG_ES256, "at+jwt"), 0);
	/* A tampered signature does not. */
	len = strlen(at);
	at[len - 2] = at[len - 2] == 'A' ? 'B' : 'A';
	assert_int_not_equal(
	    own_verify(f->s, t1, at, JOSE_ALG_ES256, "at+jwt"), 0);
	at[len - 2] = at[len - 2] == 'A' ? 'B' : 'A';
	/* Once unpublished, the old key verifies nothing. */
	assert_int_equal(signer_refresh(f->s, unpublish_at, true), 0);
	assert_int_equal(
	    own_verify(f->s, unpublish_at, at, JOSE_ALG_ES256, "at+jwt"),
	    PC_ERR_VERIFY);
	json_decref(claims);
	free(at);
	free(plain);
}

/*
 * Two nodes at a rotation: node A (f->s) has activated the new key, node
 * B's ring, loaded a second before activate_at (a clock behind, or no
 * reload yet), still holds it as pending. B accepts what A signs with it.
 */
static void
test_signer_pending_key_verifies_for_a_node_behind(void **state)
{
	struct fixture *f = *state;
	struct signer *b = NULL;
	char old[64], new[64], kid[64], *token;

	kid_of(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, old);
	assert_int_equal(
	    signer_rotate(f->db, f->mk, &f->cfg, JOSE_ALG_ES256, T0, new), 0);
	assert_int_equal(
	    signer_open(f->db, f->mk, &f->cfg, false, T0 + DELAY - 1, &b), 0);
	assert_int_equal(info_at(b, T0 + DELAY - 1, new).state, SIGNER_PENDING);
	token = sign_at(f->s, JOSE_ALG_ES256, T0 + DELAY, kid);
	assert_string_equal(kid, new);
	assert_int_equal(
	    own_verify(b, T0 + DELAY - 1, token, JOSE_ALG_ES256, "at+jwt"), 0);
	free(token);
	/* B itself does not sign with it before activate_at. */
	token = sign_at(b, JOSE_ALG_ES256, T0 + DELAY - 1, kid);
	assert_string_equal(kid, old);
	free(token);
	signer_free(b);
}

static int
evil_sign(void *ctx, const uint8_t *in, size_t n, uint8_t *sig, size_t *len)
{
	return jws_sign_raw(ctx, JOSE_ALG_ES256, in, n, sig, len);
}

static int
evil_sign_ed(void *ctx, const uint8_t *in, size_t n, uint8_t *sig, size_t *len)
{
	return jws_sign_raw(ctx, JOSE_ALG_EDDSA, in, n, sig, len);
}

/* ------------------------------------------------------------------ */
/* A store writer without the master key */

/* A token {"sub":"alice"} signed by evil (ES256) under kid. */
static char *
evil_token(EVP_PKEY *evil, const char *kid)
{
	json_t *claims = json_pack("{s:s}", "sub", "alice");
	char *token = NULL;

	assert_int_equal(jws_sign_compact(JOSE_ALG_ES256, kid, "at+jwt", claims,
			     evil_sign, evil, &token),
	    0);
	json_decref(claims);
	return token;
}

static char *
jwk_text(EVP_PKEY *pkey, enum jose_alg alg, const char *kid)
{
	json_t *jwk = NULL;
	char *text;

	assert_int_equal(jwk_from_pkey(pkey, alg, kid, &jwk), 0);
	text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(jwk);
	assert_non_null(text);
	return text;
}

/* evil's private key sealed under a seal key that is not ours. */
static char *
sealed_elsewhere(EVP_PKEY *evil, const char *kid)
{
	uint8_t other[32], *der = NULL, *p;
	char *out = NULL;
	int len = i2d_PrivateKey(evil, NULL);

	assert_true(len > 0);
	der = malloc((size_t)len);
	assert_non_null(der);
	p = der;
	assert_int_equal(i2d_PrivateKey(evil, &p), len);
	randombytes_buf(other, sizeof(other));
	assert_int_equal(seal(other, kid, der, (size_t)len, &out), 0);
	pc_freezero(der, (size_t)len);
	return out;
}

/* Inserts a row for evil: its own public JWK, the given sealed text. */
static void
plant(struct fixture *f, EVP_PKEY *evil, const char *alg, int64_t activate_at,
    const char *sealed, char kid[44])
{
	struct store_signing_key row;

	assert_int_equal(jwk_thumbprint(evil, kid), 0);
	memset(&row, 0, sizeof(row));
	row.kid = kid;
	row.alg = (char *)alg;
	row.public_jwk = jwk_text(evil, jose_alg_parse(alg, strlen(alg)), kid);
	row.private_sealed = (char *)sealed;
	row.created_at = T0;
	row.activate_at = activate_at;
	assert_int_equal(store_signing_key_insert(f->db, &row), 0);
	free(row.public_jwk);
}

static void
set_public_jwk(struct fixture *f, const char *kid, const char *jwk)
{
	struct db_conn *c;
	struct db_stmt *st;

	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(db_prepare(c,
			     "UPDATE signing_keys SET public_jwk = ?"
			     " WHERE kid = ?",
			     &st),
	    0);
	assert_int_equal(db_bind_cstr(st, 1, jwk), 0);
	assert_int_equal(db_bind_cstr(st, 2, kid), 0);
	assert_int_equal(db_step(st), DB_DONE);
	db_done(st);
}

static size_t
count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/*
 * Someone who can write the store but lacks the master key plants rows
 * with their own public key, one in each state: a pending ES256 row whose
 * sealed part is garbage, a retired ES256 row (activated before ours), an
 * active EdDSA row whose private key is sealed properly, but under another
 * master key. None is published, none verifies a token signed with its
 * key, each is rejected and logged once; our keys sign and verify as
 * before, and a node still starts.
 */
static void
test_signer_store_writer_planted_rows_not_published(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *evil[3];
	char kid[3][44], es[64], rs[64], k[64], *token, *logs, *elsewhere;
	struct signer *s2 = NULL;
	struct signer_stats st;
	struct verifier v;
	struct capture cap;
	const int64_t now = T0 + 1;

	kid_of(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, es);
	kid_of(f->s, T0, JOSE_ALG_RS256, SIGNER_ACTIVE, rs);
	for (size_t i = 0; i < 3; i++) {
		evil[i] = i < 2 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
				: EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		assert_non_null(evil[i]);
	}
	plant(f, evil[0], "ES256", T0 + DELAY,
	    "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    kid[0]);
	plant(f, evil[1], "ES256", T0 - 100, "v1.AAAA", kid[1]);
	assert_int_equal(jwk_thumbprint(evil[2], kid[2]), 0);
	elsewhere = sealed_elsewhere(evil[2], kid[2]);
	plant(f, evil[2], "EdDSA", T0 - 10, elsewhere, kid[2]);
	free(elsewhere);

	capture_begin(&cap);
	assert_int_equal(signer_refresh(f->s, now, true), 0);
	assert_int_equal(signer_refresh(f->s, now + 1, true), 0);
	logs = capture_end(&cap, NULL);
	/* Logged once per node, not at every reload; no key material. */
	assert_int_equal(count_of(logs, "signer.key_rejected"), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(count_of(logs, kid[i]), 1);
	assert_null(strstr(logs, "\"d\""));
	free(logs);

	assert_int_equal(info_at(f->s, now, kid[0]).state, SIGNER_PENDING);
	assert_int_equal(info_at(f->s, now, kid[1]).state, SIGNER_RETIRED);
	assert_int_equal(info_at(f->s, now, kid[2]).state, SIGNER_ACTIVE);
	for (size_t i = 0; i < 3; i++)
		assert_true(info_at(f->s, now, kid[i]).rejected);
	assert_false(info_at(f->s, now, es).rejected);
	signer_stats(f->s, &st);
	assert_int_equal(st.keys, 5);
	assert_int_equal(st.rejected, 3);
	verifier_init(&v, f->s, now);
	assert_int_equal(v.n, 2);
	assert_true(verifier_has(&v, es));
	assert_true(verifier_has(&v, rs));
	verifier_free(&v);
	for (size_t i = 0; i < 2; i++) {
		token = evil_token(evil[i], kid[i]);
		assert_int_equal(
		    own_verify(f->s, now, token, JOSE_ALG_ES256, "at+jwt"),
		    PC_ERR_VERIFY);
		free(token);
	}
	{
		json_t *claims = json_pack("{s:s}", "sub", "alice");
		struct signer_verify_opts o = { NULL, 1, "at+jwt" };
		enum jose_alg ed = JOSE_ALG_EDDSA;
		struct jws_verified out;

		token = NULL;
		assert_int_equal(
		    jws_sign_compact(JOSE_ALG_EDDSA, kid[2], "at+jwt", claims,
			evil_sign_ed, evil[2], &token),
		    0);
		o.algs = &ed;
		assert_int_equal(signer_verify_jwt(
				     f->s, token, strlen(token), &o, now, &out),
		    PC_ERR_VERIFY);
		jws_verified_free(&out);
		json_decref(claims);
		free(token);
	}
	assert_false(signer_can_sign(f->s, JOSE_ALG_EDDSA, now));
	/* Our keys are untouched. */
	token = sign_at(f->s, JOSE_ALG_ES256, now, k);
	assert_string_equal(k, es);
	assert_int_equal(
	    own_verify(f->s, now, token, JOSE_ALG_ES256, "at+jwt"), 0);
	free(token);
	/* And a node still starts on this store. */
	assert_int_equal(signer_open(f->db, f->mk, &f->cfg, true, now, &s2), 0);
	assert_true(signer_can_sign(s2, JOSE_ALG_ES256, now));
	assert_true(signer_can_sign(s2, JOSE_ALG_RS256, now));
	/* Discovery's view: the two that sign, not the planted EdDSA. */
	{
		static const enum jose_alg all[] = { JOSE_ALG_RS256,
			JOSE_ALG_ES256, JOSE_ALG_PS256, JOSE_ALG_EDDSA };

		assert_int_equal(signer_can_sign_mask(s2, all, 4, now), 0x3);
		assert_int_equal(signer_can_sign_mask(s2, all + 2, 2, now), 0);
	}
	signer_free(s2);
	for (size_t i = 0; i < 3; i++)
		EVP_PKEY_free(evil[i]);
}

/*
 * Genuine rows whose public_jwk was replaced: a retired ES256 key's by a
 * JWK of the writer's key under the same kid (it verified from public_jwk
 * before), the active RS256 key's by another of our keys' JWK. Both are
 * rejected: the writer's token is refused and neither is published; RS256
 * fails closed for signing; the active ES256 key still works.
 */
static void
test_signer_store_writer_swapped_public_jwk(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *evil = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	const int64_t t1 = T0 + DELAY + 1;
	char old[64], new[64], rs[64], kid[64], *token, *jwk;
	struct store_signing_key *rows = NULL;
	struct verifier v;
	size_t n = 0;

	assert_non_null(evil);
	kid_of(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, old);
	kid_of(f->s, T0, JOSE_ALG_RS256, SIGNER_ACTIVE, rs);
	assert_int_equal(
	    signer_rotate(f->db, f->mk, &f->cfg, JOSE_ALG_ES256, T0, new), 0);
	jwk = jwk_text(evil, JOSE_ALG_ES256, old);
	set_public_jwk(f, old, jwk);
	free(jwk);
	assert_int_equal(store_signing_keys_list(f->db, &rows, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].kid, new) == 0)
			set_public_jwk(f, rs, rows[i].public_jwk);
	store_signing_keys_free(rows, n);

	assert_int_equal(signer_refresh(f->s, t1, true), 0);
	assert_int_equal(info_at(f->s, t1, old).state, SIGNER_RETIRED);
	assert_true(info_at(f->s, t1, old).rejected);
	assert_true(info_at(f->s, t1, rs).rejected);
	assert_false(info_at(f->s, t1, new).rejected);
	token = evil_token(evil, old);
	assert_int_equal(own_verify(f->s, t1, token, JOSE_ALG_ES256, "at+jwt"),
	    PC_ERR_VERIFY);
	free(token);
	verifier_init(&v, f->s, t1);
	assert_int_equal(v.n, 1);
	assert_true(verifier_has(&v, new));
	verifier_free(&v);
	assert_false(signer_can_sign(f->s, JOSE_ALG_RS256, t1));
	token = sign_at(f->s, JOSE_ALG_ES256, t1, kid);
	assert_string_equal(kid, new);
	assert_int_equal(
	    own_verify(f->s, t1, token, JOSE_ALG_ES256, "at+jwt"), 0);
	free(token);
	EVP_PKEY_free(evil);
}

/* The same attack on the active ES256 key: a new node refuses to start. */
static void
test_signer_store_writer_swapped_active_es256_stops_start(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *evil = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct signer *s2 = (struct signer *)1;
	json_t *claims = json_object();
	char es[64], *jwk, *token = NULL;

	assert_non_null(evil);
	kid_of(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, es);
	jwk = jwk_text(evil, JOSE_ALG_ES256, es);
	set_public_jwk(f, es, jwk);
	free(jwk);
	assert_int_equal(
	    signer_open(f->db, f->mk, &f->cfg, true, T0, &s2), PC_ERR_VERIFY);
	assert_null(s2);
	/* A running node fails closed for ES256 (every access token). */
	assert_int_equal(signer_refresh(f->s, T0 + 1, true), 0);
	assert_int_equal(signer_sign_jwt(f->s, JOSE_ALG_ES256, "at+jwt", claims,
			     T0 + 1, &token),
	    PC_ERR_NOT_FOUND);
	assert_null(token);
	token = evil_token(evil, es);
	assert_int_equal(
	    own_verify(f->s, T0 + 1, token, JOSE_ALG_ES256, "at+jwt"),
	    PC_ERR_VERIFY);
	free(token);
	json_decref(claims);
	EVP_PKEY_free(evil);
}

/* ------------------------------------------------------------------ */
/* Reloads: store down, unknown kids */

static void
store_down(struct fixture *f, bool down)
{
	struct db_conn *c;

	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(db_exec(c,
			     down ? "ALTER TABLE signing_keys RENAME TO "
				    "signing_keys_away"
				  : "ALTER TABLE signing_keys_away RENAME TO "
				    "signing_keys"),
	    0);
}

/*
 * The store fails: the last good ring keeps serving, requests do not
 * retry the store, the retries back off 1, 2, 4 ... s up to
 * signing_key_refresh, and the streak is logged once (and its end).
 */
static void
test_signer_failed_reload_backs_off(void **state)
{
	struct fixture *f = *state;
	const int64_t every = f->cfg.signing_key_refresh;
	int64_t now = T0 + every, expect = 1;
	struct signer_stats st;
	struct capture cap;
	struct verifier v;
	char kid[64], *token, *logs;
	unsigned attempts = 0;

	assert_int_equal(every, 60);
	log_init(LOG_INFO); /* for signer.reload_recovered */
	capture_begin(&cap);
	store_down(f, true);
	assert_int_not_equal(signer_refresh(f->s, now, false), 0);
	attempts++;
	signer_stats(f->s, &st);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.retry_at, now + 1);
	/* Many requests in that second: the last good ring, no retry. */
	for (int i = 0; i < 50; i++) {
		token = sign_at(f->s, JOSE_ALG_ES256, now, kid);
		assert_int_equal(
		    own_verify(f->s, now, token, JOSE_ALG_ES256, "at+jwt"), 0);
		free(token);
	}
	verifier_init(&v, f->s, now);
	assert_int_equal(v.n, 2);
	verifier_free(&v);
	signer_stats(f->s, &st);
	assert_int_equal(st.failures_total, 1);
	/* Each retry only at retry_at; the delay doubles up to 60 s. */
	while (expect < every) {
		now = st.retry_at;
		assert_int_equal(signer_refresh(f->s, now - 1, false), 0);
		signer_stats(f->s, &st);
		assert_int_equal(st.failures_total, attempts);
		assert_int_not_equal(signer_refresh(f->s, now, false), 0);
		attempts++;
		expect = expect * 2 > every ? every : expect * 2;
		signer_stats(f->s, &st);
		assert_int_equal(st.failures_total, attempts);
		assert_int_equal(st.retry_at - now, expect);
	}
	assert_int_equal(attempts, 7); /* 1 2 4 8 16 32 60 */
	store_down(f, false);
	now = st.retry_at;
	assert_int_equal(signer_refresh(f->s, now, false), 0);
	logs = capture_end(&cap, NULL);
	log_init(LOG_ERROR);
	assert_int_equal(count_of(logs, "signer.reload_failed"), 1);
	assert_int_equal(count_of(logs, "signer.reload_recovered"), 1);
	free(logs);
	signer_stats(f->s, &st);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.retry_at, 0);
	assert_int_equal(st.loaded_at, now);
}

/*
 * The store is down across key boundaries: the last good ring moves on
 * with the clock (JW-09). At activate_at the new key cannot sign (its
 * private half was never kept), so ES256 fails closed; the old key
 * retires, and at its unpublish time leaves the JWKS and verifies
 * nothing, store or no store.
 */
static void
test_signer_JW09_store_down_across_boundaries(void **state)
{
	struct fixture *f = *state;
	const int64_t unpublish_at = T0 + DELAY + ID_TTL + LEEWAY;
	char old[64], new[64], kid[64], *last;
	struct verifier v;

	kid_of(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, old);
	assert_int_equal(
	    signer_rotate(f->db, f->mk, &f->cfg, JOSE_ALG_ES256, T0, new), 0);
	assert_int_equal(signer_refresh(f->s, T0 + 1, true), 0);
	last = sign_at(f->s, JOSE_ALG_ES256, T0 + DELAY - 1, kid);
	assert_string_equal(kid, old);
	store_down(f, true);
	assert_false(signer_can_sign(f->s, JOSE_ALG_ES256, T0 + DELAY));
	assert_int_equal(info_at(f->s, T0 + DELAY, old).state, SIGNER_RETIRED);
	assert_int_equal(
	    own_verify(f->s, T0 + DELAY, last, JOSE_ALG_ES256, "at+jwt"), 0);
	assert_true(signer_can_sign(f->s, JOSE_ALG_RS256, T0 + DELAY));
	verifier_init(&v, f->s, unpublish_at - 1);
	assert_true(verifier_has(&v, old));
	assert_true(verifier_has(&v, new));
	verifier_free(&v);
	verifier_init(&v, f->s, unpublish_at);
	assert_false(verifier_has(&v, old));
	assert_true(verifier_has(&v, new));
	verifier_free(&v);
	assert_int_equal(
	    own_verify(f->s, unpublish_at, last, JOSE_ALG_ES256, "at+jwt"),
	    PC_ERR_VERIFY);
	free(last);
	store_down(f, false);
	assert_int_equal(signer_refresh(f->s, unpublish_at + 1, true), 0);
	free(sign_at(f->s, JOSE_ALG_ES256, unpublish_at + 1, kid));
	assert_string_equal(kid, new);
}

/*
 * A token names a kid node B has not loaded: a key made after B's last
 * reload that node A already signs with. B reloads once and accepts it.
 * Random kids cost at most one reload a second; a kid B knows (even a
 * rejected one), a kid not shaped like ours, or a backing-off reload
 * cost none.
 */
static void
test_signer_JW03_unknown_kid_reloads_once_a_second(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *evil = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct signer *b = NULL;
	struct signer_stats st;
	char new[64], kid[64], ekid[44], *token;

	assert_non_null(evil);
	assert_int_equal(signer_open(f->db, f->mk, &f->cfg, false, T0, &b), 0);
	assert_int_equal(
	    signer_rotate(f->db, f->mk, &f->cfg, JOSE_ALG_ES256, T0, new), 0);
	token = sign_at(f->s, JOSE_ALG_ES256, T0 + DELAY, kid);
	assert_string_equal(kid, new);
	/* B's ring is 30 s old: no reload is due yet. */
	assert_int_equal(
	    own_verify(b, T0 + 30, token, JOSE_ALG_ES256, "at+jwt"), 0);
	free(token);
	signer_stats(b, &st);
	assert_int_equal(st.kid_reloads, 1);
	assert_int_equal(st.loaded_at, T0 + 30);

	/* Random kids: one reload for the second, then none. */
	assert_int_equal(jwk_thumbprint(evil, ekid), 0);
	token = evil_token(evil, ekid);
	for (int i = 0; i < 20; i++)
		assert_int_equal(
		    own_verify(b, T0 + 31, token, JOSE_ALG_ES256, "at+jwt"),
		    PC_ERR_VERIFY);
	signer_stats(b, &st);
	assert_int_equal(st.kid_reloads, 2);
	assert_int_equal(
	    own_verify(b, T0 + 32, token, JOSE_ALG_ES256, "at+jwt"),
	    PC_ERR_VERIFY);
	signer_stats(b, &st);
	assert_int_equal(st.kid_reloads, 3);
	free(token);
	/* A kid B knows: no reload would change it. */
	plant(f, evil, "ES256", T0 + DELAY, "v1.AAAA", ekid);
	assert_int_equal(signer_refresh(b, T0 + 33, true), 0);
	token = evil_token(evil, ekid);
	assert_int_equal(
	    own_verify(b, T0 + 34, token, JOSE_ALG_ES256, "at+jwt"),
	    PC_ERR_VERIFY);
	free(token);
	token = evil_token(evil, "../../dev/null");
	assert_int_equal(
	    own_verify(b, T0 + 35, token, JOSE_ALG_ES256, "at+jwt"),
	    PC_ERR_VERIFY);
	free(token);
	signer_stats(b, &st);
	assert_int_equal(st.kid_reloads, 3);
	/* While a failed reload backs off, an unknown kid does not retry. */
	store_down(f, true);
	assert_int_not_equal(signer_refresh(b, T0 + 36, true), 0);
	assert_int_not_equal(signer_refresh(b, T0 + 37, true), 0);
	{
		EVP_PKEY *e2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		char k2[44];

		assert_non_null(e2);
		assert_int_equal(jwk_thumbprint(e2, k2), 0);
		token = evil_token(e2, k2);
		assert_int_equal(
		    own_verify(b, T0 + 38, token, JOSE_ALG_ES256, "at+jwt"),
		    PC_ERR_VERIFY);
		free(token);
		EVP_PKEY_free(e2);
	}
	signer_stats(b, &st);
	assert_int_equal(st.kid_reloads, 3);
	assert_int_equal(st.failures_total, 2);
	store_down(f, false);
	signer_free(b);
	EVP_PKEY_free(evil);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_signer_open_creates_first_keys),
		T(test_signer_second_open_creates_none),
		T(test_signer_open_without_ensure_on_empty_store),
		T(test_signer_JW09_jwks_public_only),
		T(test_signer_sign_verifies_with_jwks),
		T(test_signer_sign_without_key_of_alg),
		T(test_signer_verify_own_tokens),
		cmocka_unit_test(test_signer_state_names),
		T(test_signer_JW09_rotated_key_pending_then_active),
		T(test_signer_JW09_retired_until_tokens_expire),
		T(test_signer_JW09_jwks_follows_clock),
		T(test_signer_JW09_unpublish_uses_longest_ttl),
		T(test_signer_JW09_two_rotations),
		T(test_signer_swapped_sealed_rows_refused),
		T(test_signer_resealed_under_other_kid_refused),
		T(test_signer_other_master_key_refused),
		T(test_signer_corrupt_sealed_row_refused),
		T(test_signer_pending_key_verifies_for_a_node_behind),
		T(test_signer_store_writer_planted_rows_not_published),
		T(test_signer_store_writer_swapped_public_jwk),
		T(test_signer_store_writer_swapped_active_es256_stops_start),
		T(test_signer_failed_reload_backs_off),
		T(test_signer_JW09_store_down_across_boundaries),
		T(test_signer_JW03_unknown_kid_reloads_once_a_second),
	};
#undef T

	if (crypto_init() != 0)
		return 1;
	/* Errors only: several cases make the signer log on purpose. */
	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
