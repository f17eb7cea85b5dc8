/*
 * WebAuthn Level 3 verification (webauthn.h). Pure: no store, no clock.
 * Everything here reads attacker-controlled bytes, so each piece is
 * checked before the next is looked at: clientDataJSON (jansson, strict)
 * for type, challenge and origin (WA-01, WA-02); the attestation object
 * and authenticator data parsed here with libcbor (libfido2 1.12 has no
 * attestation-object parser) with size caps and no trailing bytes; UP
 * always and UV on demand (WA-04); the COSE key and the statement in
 * webauthn_cbor.c / webauthn_att.c (WA-06); assertions verified by
 * libfido2 against the stored key. Fuzzed by tests/fuzz/fuzz_webauthn.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fido.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <sodium.h>

#include "auth/webauthn.h"
#include "auth/webauthn_int.h"
#include "jose/b64url.h"

#define WA_CLIENT_DATA_MAX 4096
#define WA_ATT_OBJ_MAX 32768
#define WA_AUTH_DATA_MAX 4096
#define WA_SIG_MAX 512
#define WA_COSE_KEY_MAX 1024
#define WA_EXT_MAX 1024

void
wa_new_cred_clear(struct wa_new_cred *c)
{
	free(c->cred_id);
	free(c->cose_key);
	sodium_memzero(c, sizeof(*c));
}

bool
wa_counter_ok(uint32_t stored, uint32_t seen)
{
	if (stored == 0 && seen == 0)
		return true;
	return seen > stored;
}

/*
 * CollectedClientData (§5.8.1, §7.1 steps 7-11): a JSON object, no
 * repeated members; type, the challenge (base64url of our 32 bytes,
 * compared in constant time), the origin exactly ours; crossOrigin absent
 * or false and no topOrigin (we are never embedded in another site).
 */
static int
client_data_check(const struct wa_rp *rp, const char *want_type,
    const uint8_t challenge[WA_CHALLENGE_BYTES], const uint8_t *cd,
    size_t cd_len, uint8_t cdh[PC_SHA256_LEN])
{
	uint8_t got[WA_CHALLENGE_BYTES + 8];
	json_t *o, *t, *c, *org, *x;
	json_error_t err;
	size_t got_len = 0;
	int r = PC_ERR_VERIFY;

	if (cd_len == 0 || cd_len > WA_CLIENT_DATA_MAX)
		return PC_ERR_INVALID;
	if (str_json_depth_ok((const char *)cd, cd_len, 4) != 0)
		return PC_ERR_INVALID;
	o = json_loadb((const char *)cd, cd_len, JSON_REJECT_DUPLICATES, &err);
	if (o == NULL)
		return PC_ERR_INVALID;
	if (!json_is_object(o))
		goto out;
	t = json_object_get(o, "type");
	c = json_object_get(o, "challenge");
	org = json_object_get(o, "origin");
	if (!json_is_string(t) || !json_is_string(c) || !json_is_string(org))
		goto out;
	if (strcmp(json_string_value(t), want_type) != 0)
		goto out;
	if (json_string_length(org) != strlen(rp->origin) ||
	    strcmp(json_string_value(org), rp->origin) != 0)
		goto out;
	if ((x = json_object_get(o, "crossOrigin")) != NULL &&
	    !json_is_false(x))
		goto out;
	if (json_object_get(o, "topOrigin") != NULL)
		goto out;
	if (b64url_decode(json_string_value(c), json_string_length(c), got,
		sizeof(got), &got_len) != 0 ||
	    got_len != WA_CHALLENGE_BYTES ||
	    sodium_memcmp(got, challenge, WA_CHALLENGE_BYTES) != 0)
		goto out;
	SHA256(cd, cd_len, cdh);
	r = 0;
out:
	json_decref(o);
	return r;
}

/*
 * Authenticator data (§6.1): rpIdHash, flags, signCount, then the
 * attested credential data when AT is set (aaguid, credentialIdLength,
 * credentialId, the COSE key, whose length only its CBOR tells) and the
 * extensions map when ED is set; nothing may follow. want_at: a
 * registration needs AT, an assertion must not carry it.
 */
static int
auth_data_parse(
    const uint8_t *p, size_t n, bool want_at, struct wa_authdata *ad)
{
	size_t pos = 37, len;

	memset(ad, 0, sizeof(*ad));
	if (n < 37 || n > WA_AUTH_DATA_MAX)
		return PC_ERR_INVALID;
	ad->rp_id_hash = p;
	ad->flags = p[32];
	ad->sign_count = (uint32_t)p[33] << 24 | (uint32_t)p[34] << 16 |
	    (uint32_t)p[35] << 8 | (uint32_t)p[36];
	/* §6.1: backup state without backup eligibility is invalid. */
	if ((ad->flags & WA_FLAG_BS) != 0 && (ad->flags & WA_FLAG_BE) == 0)
		return PC_ERR_INVALID;
	if (((ad->flags & WA_FLAG_AT) != 0) != want_at)
		return PC_ERR_INVALID;
	if (want_at) {
		if (n - pos < 18)
			return PC_ERR_INVALID;
		ad->aaguid = p + pos;
		ad->cred_id_len = (size_t)p[pos + 16] << 8 | p[pos + 17];
		pos += 18;
		if (ad->cred_id_len == 0 || ad->cred_id_len > WA_CRED_ID_MAX ||
		    n - pos < ad->cred_id_len)
			return PC_ERR_INVALID;
		ad->cred_id = p + pos;
		pos += ad->cred_id_len;
		if (wa_cbor_scan(p + pos, n - pos, &len) != 0 ||
		    len > WA_COSE_KEY_MAX)
			return PC_ERR_INVALID;
		ad->cose_key = p + pos;
		ad->cose_key_len = len;
		pos += len;
	}
	if ((ad->flags & WA_FLAG_ED) != 0) {
		if (wa_cbor_scan(p + pos, n - pos, &len) != 0 ||
		    len > WA_EXT_MAX || (p[pos] & 0xe0) != 0xa0)
			return PC_ERR_INVALID; /* not a map */
		ad->ext = p + pos;
		ad->ext_len = len;
		pos += len;
	}
	return pos == n ? 0 : PC_ERR_INVALID;
}

/* §7.1 steps 13-17, §7.2 steps 15-17: rpIdHash, UP, UV (WA-01, WA-04). */
static int
auth_data_check(
    const struct wa_rp *rp, const struct wa_authdata *ad, bool uv_required)
{
	uint8_t h[PC_SHA256_LEN];

	SHA256((const uint8_t *)rp->rp_id, strlen(rp->rp_id), h);
	if (sodium_memcmp(h, ad->rp_id_hash, PC_SHA256_LEN) != 0)
		return PC_ERR_VERIFY;
	if ((ad->flags & WA_FLAG_UP) == 0)
		return PC_ERR_VERIFY;
	if (uv_required && (ad->flags & WA_FLAG_UV) == 0)
		return PC_ERR_VERIFY;
	return 0;
}

static bool
rp_ok(const struct wa_rp *rp)
{
	return rp != NULL && rp->rp_id != NULL && rp->origin != NULL &&
	    rp->rp_id[0] != '\0' && rp->origin[0] != '\0';
}

/* The attestation object (§6.5): exactly {fmt, attStmt, authData}. */
struct att_obj {
	cbor_item_t *root;
	const cbor_item_t *fmt, *stmt, *auth_data;
};

static int
att_obj_parse(const uint8_t *p, size_t n, struct att_obj *a)
{
	struct cbor_pair *pairs;
	size_t i;

	memset(a, 0, sizeof(*a));
	if (n == 0 || n > WA_ATT_OBJ_MAX)
		return PC_ERR_INVALID;
	if ((a->root = wa_cbor_load_exact(p, n)) == NULL)
		return PC_ERR_INVALID;
	if (!cbor_isa_map(a->root) || cbor_map_size(a->root) != 3)
		return PC_ERR_INVALID;
	pairs = cbor_map_handle(a->root);
	for (i = 0; i < 3; i++) {
		const cbor_item_t **slot;

		if (wa_cbor_text_is(pairs[i].key, "fmt"))
			slot = &a->fmt;
		else if (wa_cbor_text_is(pairs[i].key, "attStmt"))
			slot = &a->stmt;
		else if (wa_cbor_text_is(pairs[i].key, "authData"))
			slot = &a->auth_data;
		else
			return PC_ERR_INVALID;
		if (*slot != NULL)
			return PC_ERR_INVALID;
		*slot = pairs[i].value;
	}
	if (!cbor_isa_string(a->fmt) || cbor_string_length(a->fmt) == 0 ||
	    cbor_string_length(a->fmt) >=
		sizeof(((struct wa_new_cred *)0)->fmt))
		return PC_ERR_INVALID;
	if (!cbor_isa_map(a->stmt) || !cbor_isa_bytestring(a->auth_data))
		return PC_ERR_INVALID;
	return 0;
}

static int
new_cred_fill(const struct wa_authdata *ad, const struct wa_cose *key,
    const char *fmt, bool verified, struct wa_new_cred *out)
{
	out->cred_id = malloc(ad->cred_id_len);
	out->cose_key = malloc(ad->cose_key_len);
	if (out->cred_id == NULL || out->cose_key == NULL)
		return PC_ERR_INTERNAL;
	memcpy(out->cred_id, ad->cred_id, ad->cred_id_len);
	out->cred_id_len = ad->cred_id_len;
	memcpy(out->cose_key, ad->cose_key, ad->cose_key_len);
	out->cose_key_len = ad->cose_key_len;
	out->alg = key->alg;
	out->sign_count = ad->sign_count;
	memcpy(out->aaguid, ad->aaguid, sizeof(out->aaguid));
	out->up = (ad->flags & WA_FLAG_UP) != 0;
	out->uv = (ad->flags & WA_FLAG_UV) != 0;
	out->be = (ad->flags & WA_FLAG_BE) != 0;
	out->bs = (ad->flags & WA_FLAG_BS) != 0;
	snprintf(out->fmt, sizeof(out->fmt), "%s", fmt);
	out->attestation_verified = verified;
	return 0;
}

int
wa_register_verify(const struct wa_rp *rp,
    const uint8_t challenge[WA_CHALLENGE_BYTES], const uint8_t *client_data,
    size_t client_data_len, const uint8_t *att_obj, size_t att_obj_len,
    bool uv_required, struct wa_new_cred *out)
{
	uint8_t cdh[PC_SHA256_LEN];
	char fmt[sizeof(out->fmt)];
	struct wa_authdata ad;
	struct att_obj a;
	struct wa_cose key;
	bool verified = false;
	int r;

	memset(out, 0, sizeof(*out));
	if (!rp_ok(rp) || challenge == NULL || client_data == NULL ||
	    att_obj == NULL)
		return PC_ERR_INVALID;
	r = client_data_check(rp, "webauthn.create", challenge, client_data,
	    client_data_len, cdh);
	if (r != 0)
		return r;
	if ((r = att_obj_parse(att_obj, att_obj_len, &a)) != 0)
		goto out;
	memcpy(fmt, cbor_string_handle(a.fmt), cbor_string_length(a.fmt));
	fmt[cbor_string_length(a.fmt)] = '\0';
	if (strlen(fmt) != cbor_string_length(a.fmt)) {
		r = PC_ERR_INVALID; /* a NUL inside */
		goto out;
	}
	r = auth_data_parse(cbor_bytestring_handle(a.auth_data),
	    cbor_bytestring_length(a.auth_data), true, &ad);
	if (r != 0)
		goto out;
	if ((r = auth_data_check(rp, &ad, uv_required)) != 0)
		goto out;
	if (wa_cose_parse(ad.cose_key, ad.cose_key_len, &key) != 0) {
		r = PC_ERR_VERIFY;
		goto out;
	}
	r = wa_att_verify(rp->rp_id, fmt, a.stmt,
	    cbor_bytestring_handle(a.auth_data),
	    cbor_bytestring_length(a.auth_data), &ad, &key, cdh, &verified);
	if (r != 0)
		goto out;
	if ((r = new_cred_fill(&ad, &key, fmt, verified, out)) != 0)
		wa_new_cred_clear(out);
out:
	if (a.root != NULL)
		cbor_decref(&a.root);
	return r;
}

/* §7.2 step 20: the signature over authData || cdh, by libfido2. */
static int
assert_sig_check(const struct wa_rp *rp, const struct wa_cose *key,
    const uint8_t cdh[PC_SHA256_LEN], const uint8_t *auth_data,
    size_t auth_data_len, const uint8_t *sig, size_t sig_len, bool uv_required)
{
	fido_assert_t *fa;
	void *pk;
	int r = PC_ERR_VERIFY;

	if ((pk = wa_cose_fido_pk(key)) == NULL)
		return PC_ERR_VERIFY;
	if ((fa = fido_assert_new()) == NULL) {
		wa_cose_fido_pk_free(key->alg, pk);
		return PC_ERR_INTERNAL;
	}
	if (fido_assert_set_count(fa, 1) == FIDO_OK &&
	    fido_assert_set_rp(fa, rp->rp_id) == FIDO_OK &&
	    fido_assert_set_clientdata_hash(fa, cdh, PC_SHA256_LEN) ==
		FIDO_OK &&
	    fido_assert_set_authdata_raw(fa, 0, auth_data, auth_data_len) ==
		FIDO_OK &&
	    fido_assert_set_sig(fa, 0, sig, sig_len) == FIDO_OK &&
	    fido_assert_set_up(fa, FIDO_OPT_TRUE) == FIDO_OK &&
	    fido_assert_set_uv(
		fa, uv_required ? FIDO_OPT_TRUE : FIDO_OPT_OMIT) == FIDO_OK &&
	    fido_assert_verify(fa, 0, key->alg, pk) == FIDO_OK)
		r = 0;
	fido_assert_free(&fa);
	wa_cose_fido_pk_free(key->alg, pk);
	return r;
}

int
wa_assert_verify(const struct wa_rp *rp,
    const uint8_t challenge[WA_CHALLENGE_BYTES], const uint8_t *client_data,
    size_t client_data_len, const uint8_t *auth_data, size_t auth_data_len,
    const uint8_t *sig, size_t sig_len, int alg, const uint8_t *cose_key,
    size_t cose_key_len, bool uv_required, struct wa_assertion *out)
{
	uint8_t cdh[PC_SHA256_LEN];
	struct wa_authdata ad;
	struct wa_cose key;
	int r;

	memset(out, 0, sizeof(*out));
	if (!rp_ok(rp) || challenge == NULL || client_data == NULL ||
	    auth_data == NULL || sig == NULL || cose_key == NULL)
		return PC_ERR_INVALID;
	if (sig_len == 0 || sig_len > WA_SIG_MAX ||
	    cose_key_len > WA_COSE_KEY_MAX)
		return PC_ERR_INVALID;
	r = client_data_check(
	    rp, "webauthn.get", challenge, client_data, client_data_len, cdh);
	if (r != 0)
		return r;
	if ((r = auth_data_parse(auth_data, auth_data_len, false, &ad)) != 0)
		return r;
	if ((r = auth_data_check(rp, &ad, uv_required)) != 0)
		return r;
	/* The stored key and the algorithm stored beside it must agree. */
	if (wa_cose_parse(cose_key, cose_key_len, &key) != 0 || key.alg != alg)
		return PC_ERR_VERIFY;
	r = assert_sig_check(
	    rp, &key, cdh, auth_data, auth_data_len, sig, sig_len, uv_required);
	if (r != 0)
		return r;
	out->sign_count = ad.sign_count;
	out->up = (ad.flags & WA_FLAG_UP) != 0;
	out->uv = (ad.flags & WA_FLAG_UV) != 0;
	out->be = (ad.flags & WA_FLAG_BE) != 0;
	out->bs = (ad.flags & WA_FLAG_BS) != 0;
	return 0;
}
