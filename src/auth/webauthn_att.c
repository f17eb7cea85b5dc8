/*
 * Attestation statements of a WebAuthn registration (WebAuthn L3 §8),
 * verified with libfido2: the statement's shape checked here (only the
 * members the format defines, the algorithms we accept), then
 * fido_cred_verify() / fido_cred_verify_self() check its signature over
 * authData || clientDataHash (for tpm: certInfo names pubArea, pubArea is
 * the credential key, extraData is the hash of authData || clientDataHash,
 * and x5c[0] signed certInfo). No certificate chain is checked against a
 * trust anchor: none is configured. What "verified" means per format is
 * docs/decisions/0064-webauthn-verification.md.
 */
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <fido.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "auth/webauthn_int.h"

#define WA_X5C_MAX 4
#define WA_ATT_SIG_MAX 1024
#define WA_COSE_ALG_RS1 (-65535) /* tpm statements only */

/* The members of one statement, each at most once. */
struct stmt {
	const cbor_item_t *alg, *sig, *x5c, *ver, *cert_info, *pub_area;
	int64_t alg_v;
};

static int
stmt_read(const cbor_item_t *m, const char *const *allowed, struct stmt *s)
{
	struct cbor_pair *pairs = cbor_map_handle(m);
	size_t i, j;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < cbor_map_size(m); i++) {
		const cbor_item_t **slot = NULL;

		for (j = 0; allowed[j] != NULL; j++)
			if (wa_cbor_text_is(pairs[i].key, allowed[j]))
				break;
		if (allowed[j] == NULL)
			return PC_ERR_VERIFY; /* ecdaaKeyId or anything else */
		if (strcmp(allowed[j], "alg") == 0)
			slot = &s->alg;
		else if (strcmp(allowed[j], "sig") == 0)
			slot = &s->sig;
		else if (strcmp(allowed[j], "x5c") == 0)
			slot = &s->x5c;
		else if (strcmp(allowed[j], "ver") == 0)
			slot = &s->ver;
		else if (strcmp(allowed[j], "certInfo") == 0)
			slot = &s->cert_info;
		else
			slot = &s->pub_area;
		if (*slot != NULL)
			return PC_ERR_VERIFY;
		*slot = pairs[i].value;
	}
	if (s->sig == NULL || !cbor_isa_bytestring(s->sig) ||
	    cbor_bytestring_length(s->sig) == 0 ||
	    cbor_bytestring_length(s->sig) > WA_ATT_SIG_MAX)
		return PC_ERR_VERIFY;
	if (s->alg != NULL && !wa_cbor_int(s->alg, &s->alg_v))
		return PC_ERR_VERIFY;
	if (s->x5c != NULL) {
		const cbor_item_t *const *c;

		if (!cbor_isa_array(s->x5c) || cbor_array_size(s->x5c) == 0 ||
		    cbor_array_size(s->x5c) > WA_X5C_MAX)
			return PC_ERR_VERIFY;
		c = (const cbor_item_t *const *)cbor_array_handle(s->x5c);
		for (i = 0; i < cbor_array_size(s->x5c); i++)
			if (!cbor_isa_bytestring(c[i]) ||
			    cbor_bytestring_length(c[i]) == 0)
				return PC_ERR_VERIFY;
	}
	return 0;
}

static X509 *
x5c_leaf(const struct stmt *s)
{
	const cbor_item_t *c = cbor_array_handle(s->x5c)[0];
	const unsigned char *p = cbor_bytestring_handle(c);
	size_t n = cbor_bytestring_length(c);
	X509 *x;

	if (n > INT32_MAX || (x = d2i_X509(NULL, &p, (long)n)) == NULL)
		return NULL;
	if (p != cbor_bytestring_handle(c) + n) { /* bytes after the cert */
		X509_free(x);
		return NULL;
	}
	return x;
}

/*
 * The attestation certificate's own requirements we can check without a
 * trust anchor (§8.2.1, §8.3.1): X.509 v3, not a CA, and when it names an
 * AAGUID (id-fido-gen-ce-aaguid) it is the authenticator data's.
 */
static int
cert_check(X509 *x, const uint8_t aaguid[16])
{
	ASN1_OBJECT *oid;
	int i;

	if (X509_get_version(x) != X509_VERSION_3 || X509_check_ca(x) != 0)
		return PC_ERR_VERIFY;
	if ((oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1)) == NULL)
		return PC_ERR_INTERNAL;
	i = X509_get_ext_by_OBJ(x, oid, -1);
	ASN1_OBJECT_free(oid);
	if (i >= 0) {
		X509_EXTENSION *e = X509_get_ext(x, i);
		const ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(e);
		const unsigned char *v = ASN1_STRING_get0_data(d);

		/* OCTET STRING (16) inside the extension's OCTET STRING. */
		if (X509_EXTENSION_get_critical(e) ||
		    ASN1_STRING_length(d) != 18 || v[0] != 0x04 || v[1] != 16 ||
		    memcmp(v + 2, aaguid, 16) != 0)
			return PC_ERR_VERIFY;
	}
	return 0;
}

/* fido-u2f (§8.6): the certificate key must be an EC key on P-256. */
static int
cert_p256(X509 *x)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char group[32];
	size_t len = 0;

	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
	    EVP_PKEY_get_group_name(pk, group, sizeof(group), &len) != 1 ||
	    strcmp(group, "prime256v1") != 0)
		return PC_ERR_VERIFY;
	return 0;
}

/*
 * libfido2 compares the extensions in authData with those the relying
 * party asked for. We ask for none, but authenticators add credProtect
 * (and may add hmac-secret, minPinLength) on their own: tell libfido2 to
 * expect what the authenticator data says for those it knows.
 */
static int
ext_mirror(fido_cred_t *c, const struct wa_authdata *ad)
{
	struct cbor_pair *pairs;
	cbor_item_t *m;
	size_t i;
	int64_t v, prot = 0, minlen = -1;
	bool hmac = false;
	int r = 0;

	if (ad->ext == NULL)
		return 0;
	if ((m = wa_cbor_load_exact(ad->ext, ad->ext_len)) == NULL)
		return PC_ERR_VERIFY;
	if (!cbor_isa_map(m)) {
		cbor_decref(&m);
		return PC_ERR_VERIFY;
	}
	pairs = cbor_map_handle(m);
	for (i = 0; i < cbor_map_size(m); i++) {
		const cbor_item_t *k = pairs[i].key, *val = pairs[i].value;

		if (wa_cbor_text_is(k, "hmac-secret") && cbor_is_bool(val))
			hmac = cbor_get_bool(val);
		else if (wa_cbor_text_is(k, "credProtect") &&
		    wa_cbor_int(val, &v) && v >= 1 && v <= 3)
			prot = v;
		else if (wa_cbor_text_is(k, "minPinLength") &&
		    wa_cbor_int(val, &v) && v >= 0 && v <= 255)
			minlen = v;
	}
	cbor_decref(&m);
	if (hmac &&
	    fido_cred_set_extensions(c, FIDO_EXT_HMAC_SECRET) != FIDO_OK)
		r = PC_ERR_VERIFY;
	if (r == 0 && prot != 0 && fido_cred_set_prot(c, (int)prot) != FIDO_OK)
		r = PC_ERR_VERIFY;
	if (r == 0 && minlen >= 0 &&
	    fido_cred_set_pin_minlen(c, (size_t)minlen) != FIDO_OK)
		r = PC_ERR_VERIFY;
	return r;
}

/*
 * libfido2's own reading of the authenticator data must agree with ours:
 * the same credential id and the same public key.
 */
static int
cred_setup(fido_cred_t *c, const char *rp_id, const uint8_t *auth_data,
    size_t auth_data_len, const struct wa_authdata *ad,
    const struct wa_cose *key, const uint8_t cdh[32])
{
	if (fido_cred_set_type(c, key->alg) != FIDO_OK ||
	    fido_cred_set_rp(c, rp_id, NULL) != FIDO_OK ||
	    fido_cred_set_clientdata_hash(c, cdh, 32) != FIDO_OK ||
	    ext_mirror(c, ad) != 0 ||
	    fido_cred_set_authdata_raw(c, auth_data, auth_data_len) != FIDO_OK)
		return PC_ERR_VERIFY;
	if (fido_cred_id_len(c) != ad->cred_id_len ||
	    memcmp(fido_cred_id_ptr(c), ad->cred_id, ad->cred_id_len) != 0 ||
	    fido_cred_pubkey_len(c) != key->raw_len ||
	    memcmp(fido_cred_pubkey_ptr(c), key->raw, key->raw_len) != 0)
		return PC_ERR_VERIFY;
	return 0;
}

/* CTAP2 canonical order of text keys: shorter first, then bytewise. */
static int
key_cmp(const void *a, const void *b)
{
	const struct cbor_pair *x = a, *y = b;
	size_t xn = cbor_string_length(x->key), yn = cbor_string_length(y->key);

	if (xn != yn)
		return xn < yn ? -1 : 1;
	return memcmp(
	    cbor_string_handle(x->key), cbor_string_handle(y->key), xn);
}

/*
 * The statement to libfido2, which takes its members only in CTAP2
 * canonical order; Windows Hello sends tpm statements in another
 * ("ver", "alg", ..., "certInfo", "pubArea"). The statement is not
 * signed, so it is re-encoded sorted; stmt_read() already allowed only
 * text keys, each once.
 */
static int
stmt_to_fido(fido_cred_t *c, const char *fmt, const cbor_item_t *att_stmt)
{
	struct cbor_pair sorted[8];
	unsigned char *buf = NULL;
	size_t cap = 0, len = 0, n = cbor_map_size(att_stmt), i;
	cbor_item_t *m;
	int r = PC_ERR_VERIFY;

	if (n > PC_NELEM(sorted) || (m = cbor_new_definite_map(n)) == NULL)
		return PC_ERR_VERIFY;
	memcpy(sorted, cbor_map_handle(att_stmt), n * sizeof(sorted[0]));
	qsort(sorted, n, sizeof(sorted[0]), key_cmp);
	for (i = 0; i < n; i++)
		if (!cbor_map_add(m, sorted[i]))
			break;
	if (i == n)
		len = cbor_serialize_alloc(m, &buf, &cap);
	if (len > 0 && fido_cred_set_fmt(c, fmt) == FIDO_OK &&
	    fido_cred_set_attstmt(c, buf, len) == FIDO_OK)
		r = 0;
	free(buf);
	cbor_decref(&m);
	return r;
}

static const char *const packed_members[] = { "alg", "sig", "x5c", NULL };
static const char *const u2f_members[] = { "sig", "x5c", NULL };
static const char *const tpm_members[] = { "ver", "alg", "x5c", "sig",
	"certInfo", "pubArea", NULL };

static int
verify_fmt(fido_cred_t *c, const char *fmt, const cbor_item_t *att_stmt,
    const struct wa_authdata *ad, const struct wa_cose *key)
{
	struct stmt s;
	X509 *x = NULL;
	int r;

	if (strcmp(fmt, "packed") == 0) {
		if ((r = stmt_read(att_stmt, packed_members, &s)) != 0)
			return r;
		if (s.alg == NULL ||
		    (s.alg_v != WA_COSE_ALG_ES256 &&
			s.alg_v != WA_COSE_ALG_EDDSA &&
			s.alg_v != WA_COSE_ALG_RS256))
			return PC_ERR_VERIFY;
		if (s.x5c == NULL) {
			/* Self attestation: the credential key signed. */
			if (s.alg_v != key->alg ||
			    stmt_to_fido(c, fmt, att_stmt) != 0 ||
			    fido_cred_verify_self(c) != FIDO_OK)
				return PC_ERR_VERIFY;
			return 0;
		}
		if ((x = x5c_leaf(&s)) == NULL)
			return PC_ERR_VERIFY;
		r = cert_check(x, ad->aaguid);
	} else if (strcmp(fmt, "fido-u2f") == 0) {
		if ((r = stmt_read(att_stmt, u2f_members, &s)) != 0)
			return r;
		if (s.x5c == NULL || cbor_array_size(s.x5c) != 1 ||
		    key->alg != WA_COSE_ALG_ES256)
			return PC_ERR_VERIFY;
		if ((x = x5c_leaf(&s)) == NULL)
			return PC_ERR_VERIFY;
		r = cert_p256(x);
	} else if (strcmp(fmt, "tpm") == 0) {
		if ((r = stmt_read(att_stmt, tpm_members, &s)) != 0)
			return r;
		/*
		 * libfido2 verifies the one TPM shape in the field (Windows
		 * Hello): an RS256 credential key, certInfo signed with
		 * RSASSA-PKCS1-v1_5 over SHA-1 ("RS1"). Others are refused.
		 */
		if (s.alg == NULL || s.alg_v != WA_COSE_ALG_RS1 ||
		    s.x5c == NULL || s.ver == NULL ||
		    !wa_cbor_text_is(s.ver, "2.0") || s.cert_info == NULL ||
		    !cbor_isa_bytestring(s.cert_info) || s.pub_area == NULL ||
		    !cbor_isa_bytestring(s.pub_area) ||
		    key->alg != WA_COSE_ALG_RS256)
			return PC_ERR_VERIFY;
		if ((x = x5c_leaf(&s)) == NULL)
			return PC_ERR_VERIFY;
		r = cert_check(x, ad->aaguid);
	} else {
		return PC_ERR_VERIFY; /* android-key, apple, ...: unsupported */
	}
	X509_free(x);
	if (r != 0)
		return PC_ERR_VERIFY;
	if (stmt_to_fido(c, fmt, att_stmt) != 0 ||
	    fido_cred_verify(c) != FIDO_OK)
		return PC_ERR_VERIFY;
	return 0;
}

int
wa_att_verify(const char *rp_id, const char *fmt, const cbor_item_t *att_stmt,
    const uint8_t *auth_data, size_t auth_data_len,
    const struct wa_authdata *ad, const struct wa_cose *key,
    const uint8_t cdh[32], bool *verified)
{
	fido_cred_t *c;
	int r;

	*verified = false;
	if ((c = fido_cred_new()) == NULL)
		return PC_ERR_INTERNAL;
	r = cred_setup(c, rp_id, auth_data, auth_data_len, ad, key, cdh);
	if (r == 0) {
		if (strcmp(fmt, "none") == 0)
			r = cbor_map_size(att_stmt) == 0 ? 0 : PC_ERR_VERIFY;
		else if ((r = verify_fmt(c, fmt, att_stmt, ad, key)) == 0)
			*verified = true;
	}
	fido_cred_free(&c);
	return r;
}
