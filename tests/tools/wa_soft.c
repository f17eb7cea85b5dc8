/*
 * A software WebAuthn authenticator (wa_soft.h): what a browser and an
 * authenticator would send, made with OpenSSL and libcbor, so unit tests,
 * the wa_authn tool and the bench do real ceremonies without a browser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "auth/webauthn.h"
#include "jose/b64url.h"
#include "tests/tools/wa_soft.h"

void
wa_bytes_free(struct wa_bytes *b)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

static int
alg_of(EVP_PKEY *pk)
{
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_EC: return WA_COSE_ALG_ES256;
	case EVP_PKEY_ED25519: return WA_COSE_ALG_EDDSA;
	case EVP_PKEY_RSA: return WA_COSE_ALG_RS256;
	default: return 0;
	}
}

int
wa_soft_key_new(int alg, int rsa_bits, struct wa_soft_key *k)
{
	memset(k, 0, sizeof(*k));
	switch (alg) {
	case WA_COSE_ALG_ES256:
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case WA_COSE_ALG_EDDSA:
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case WA_COSE_ALG_RS256:
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)(rsa_bits > 0 ? rsa_bits : 2048));
		break;
	default: return -1;
	}
	k->alg = alg;
	return k->pk != NULL ? 0 : -1;
}

int
wa_soft_key_load(const char *path, struct wa_soft_key *k)
{
	FILE *f;

	memset(k, 0, sizeof(*k));
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	k->pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k->pk == NULL || (k->alg = alg_of(k->pk)) == 0) {
		wa_soft_key_free(k);
		return -1;
	}
	return 0;
}

int
wa_soft_key_save(const struct wa_soft_key *k, const char *path)
{
	FILE *f;
	int ok;

	if ((f = fopen(path, "wx")) == NULL)
		return -1;
	ok = PEM_write_PrivateKey(f, k->pk, NULL, NULL, 0, NULL, NULL);
	return fclose(f) == 0 && ok == 1 ? 0 : -1;
}

void
wa_soft_key_free(struct wa_soft_key *k)
{
	EVP_PKEY_free(k->pk);
	k->pk = NULL;
}

static int
map_add(cbor_item_t *m, cbor_item_t *key, cbor_item_t *val)
{
	struct cbor_pair p;
	bool ok;

	if (key == NULL || val == NULL) {
		if (key != NULL)
			cbor_decref(&key);
		if (val != NULL)
			cbor_decref(&val);
		return -1;
	}
	p.key = key;
	p.value = val;
	ok = cbor_map_add(m, p);
	cbor_decref(&key);
	cbor_decref(&val);
	return ok ? 0 : -1;
}

static cbor_item_t *
cbor_min_uint(uint64_t v, bool neg)
{
	cbor_item_t *it;

	/* Minimal width, as authenticators encode (libfido2 insists). */
	if (v <= UINT8_MAX)
		it = cbor_build_uint8((uint8_t)v);
	else if (v <= UINT16_MAX)
		it = cbor_build_uint16((uint16_t)v);
	else if (v <= UINT32_MAX)
		it = cbor_build_uint32((uint32_t)v);
	else
		it = cbor_build_uint64(v);
	if (it != NULL && neg)
		cbor_mark_negint(it);
	return it;
}

static cbor_item_t *
cbor_int(int64_t v)
{
	if (v >= 0)
		return cbor_min_uint((uint64_t)v, false);
	return cbor_min_uint((uint64_t)(-1 - v), true);
}

static int
serialize(cbor_item_t *it, struct wa_bytes *out)
{
	unsigned char *buf = NULL;
	size_t cap = 0;

	out->n = cbor_serialize_alloc(it, &buf, &cap);
	out->p = buf;
	cbor_decref(&it);
	if (out->n == 0) {
		free(buf);
		out->p = NULL;
		return -1;
	}
	return 0;
}

static int
bn_bytes(EVP_PKEY *pk, const char *name, uint8_t *out, size_t cap, size_t *len)
{
	BIGNUM *bn = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
		return -1;
	n = BN_num_bytes(bn);
	if (n <= 0 || (size_t)n > cap) {
		BN_free(bn);
		return -1;
	}
	BN_bn2bin(bn, out);
	*len = (size_t)n;
	BN_free(bn);
	return 0;
}

int
wa_soft_cose(const struct wa_soft_key *k, struct wa_bytes *out)
{
	uint8_t a[600], b[16];
	size_t alen = 0, blen = 0;
	cbor_item_t *m = cbor_new_definite_map(5);
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (m == NULL)
		return -1;
	switch (k->alg) {
	case WA_COSE_ALG_ES256:
		if (EVP_PKEY_get_octet_string_param(k->pk,
			OSSL_PKEY_PARAM_PUB_KEY, a, sizeof(a), &alen) != 1 ||
		    alen != 65)
			r = -1;
		r = r ? r : map_add(m, cbor_int(1), cbor_int(2));
		r = r ? r : map_add(m, cbor_int(3), cbor_int(-7));
		r = r ? r : map_add(m, cbor_int(-1), cbor_int(1));
		r = r ? r
		      : map_add(
			    m, cbor_int(-2), cbor_build_bytestring(a + 1, 32));
		r = r ? r
		      : map_add(
			    m, cbor_int(-3), cbor_build_bytestring(a + 33, 32));
		break;
	case WA_COSE_ALG_EDDSA:
		alen = sizeof(a);
		if (EVP_PKEY_get_raw_public_key(k->pk, a, &alen) != 1)
			r = -1;
		r = r ? r : map_add(m, cbor_int(1), cbor_int(1));
		r = r ? r : map_add(m, cbor_int(3), cbor_int(-8));
		r = r ? r : map_add(m, cbor_int(-1), cbor_int(6));
		r = r
		    ? r
		    : map_add(m, cbor_int(-2), cbor_build_bytestring(a, alen));
		break;
	case WA_COSE_ALG_RS256:
		if (bn_bytes(
			k->pk, OSSL_PKEY_PARAM_RSA_N, a, sizeof(a), &alen) ||
		    bn_bytes(k->pk, OSSL_PKEY_PARAM_RSA_E, b, sizeof(b), &blen))
			r = -1;
		r = r ? r : map_add(m, cbor_int(1), cbor_int(3));
		r = r ? r : map_add(m, cbor_int(3), cbor_int(-257));
		r = r
		    ? r
		    : map_add(m, cbor_int(-1), cbor_build_bytestring(a, alen));
		r = r
		    ? r
		    : map_add(m, cbor_int(-2), cbor_build_bytestring(b, blen));
		break;
	default: r = -1;
	}
	if (r != 0) {
		cbor_decref(&m);
		return -1;
	}
	return serialize(m, out);
}

char *
wa_soft_client_data(const char *type, const uint8_t challenge[32],
    const char *origin, const char *extra)
{
	char ch[64], *s;
	size_t n;

	b64url_encode(challenge, 32, ch);
	n = strlen(type) + strlen(origin) + (extra ? strlen(extra) : 0) + 128;
	if ((s = malloc(n)) == NULL)
		return NULL;
	snprintf(s, n,
	    "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\","
	    "\"crossOrigin\":false%s%s}",
	    type, ch, origin, extra ? "," : "", extra ? extra : "");
	return s;
}

int
wa_soft_auth_data(const char *rp_id, uint8_t flags, uint32_t counter,
    const uint8_t aaguid[16], const uint8_t *cred_id, size_t cred_id_len,
    const struct wa_bytes *cose, const struct wa_bytes *ext,
    struct wa_bytes *out)
{
	static const uint8_t zero[16];
	size_t n = 37, pos;
	uint8_t *p;

	if (cred_id != NULL)
		n += 18 + cred_id_len + cose->n;
	if (ext != NULL)
		n += ext->n;
	if ((p = malloc(n)) == NULL)
		return -1;
	SHA256((const uint8_t *)rp_id, strlen(rp_id), p);
	p[32] = (uint8_t)(flags | (cred_id != NULL ? 0x40 : 0) |
	    (ext != NULL ? 0x80 : 0));
	p[33] = (uint8_t)(counter >> 24);
	p[34] = (uint8_t)(counter >> 16);
	p[35] = (uint8_t)(counter >> 8);
	p[36] = (uint8_t)counter;
	pos = 37;
	if (cred_id != NULL) {
		memcpy(p + pos, aaguid != NULL ? aaguid : zero, 16);
		p[pos + 16] = (uint8_t)(cred_id_len >> 8);
		p[pos + 17] = (uint8_t)cred_id_len;
		pos += 18;
		memcpy(p + pos, cred_id, cred_id_len);
		pos += cred_id_len;
		memcpy(p + pos, cose->p, cose->n);
		pos += cose->n;
	}
	if (ext != NULL)
		memcpy(p + pos, ext->p, ext->n);
	out->p = p;
	out->n = n;
	return 0;
}

static int
sign_md(const struct wa_soft_key *k, const EVP_MD *md, const uint8_t *msg,
    size_t n, struct wa_bytes *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t len = 0;
	int r = -1;

	memset(sig, 0, sizeof(*sig));
	if (ctx == NULL || EVP_DigestSignInit(ctx, &pctx, md, NULL, k->pk) != 1)
		goto out;
	if (k->alg == WA_COSE_ALG_RS256 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
		goto out;
	if (EVP_DigestSign(ctx, NULL, &len, msg, n) != 1 ||
	    (sig->p = malloc(len)) == NULL ||
	    EVP_DigestSign(ctx, sig->p, &len, msg, n) != 1)
		goto out;
	sig->n = len;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	if (r != 0)
		wa_bytes_free(sig);
	return r;
}

int
wa_soft_sign(const struct wa_soft_key *k, const uint8_t *msg, size_t n,
    struct wa_bytes *sig)
{
	return sign_md(
	    k, k->alg == WA_COSE_ALG_EDDSA ? NULL : EVP_sha256(), msg, n, sig);
}

static int
signed_data(const struct wa_bytes *auth_data, const char *client_data,
    struct wa_bytes *out)
{
	out->n = auth_data->n + 32;
	if ((out->p = malloc(out->n)) == NULL)
		return -1;
	memcpy(out->p, auth_data->p, auth_data->n);
	SHA256((const uint8_t *)client_data, strlen(client_data),
	    out->p + auth_data->n);
	return 0;
}

int
wa_soft_sign_assertion(const struct wa_soft_key *k,
    const struct wa_bytes *auth_data, const char *client_data,
    struct wa_bytes *sig)
{
	struct wa_bytes m;
	int r;

	if (signed_data(auth_data, client_data, &m) != 0)
		return -1;
	r = wa_soft_sign(k, m.p, m.n, sig);
	wa_bytes_free(&m);
	return r;
}

X509 *
wa_soft_att_cert(
    const struct wa_soft_key *att_key, const uint8_t *aaguid, bool ca)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;
	X509_EXTENSION *e;
	const EVP_MD *md =
	    att_key->alg == WA_COSE_ALG_EDDSA ? NULL : EVP_sha256();

	if (x == NULL)
		return NULL;
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(
	    name, "C", MBSTRING_ASC, (const unsigned char *)"SE", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"Portcullis tests", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC,
	    (const unsigned char *)"Authenticator Attestation", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"wa_soft", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, att_key->pk);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (e == NULL || !X509_add_ext(x, e, -1))
		goto fail;
	X509_EXTENSION_free(e);
	if (aaguid != NULL) {
		uint8_t der[18] = { 0x04, 16 };
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1);

		memcpy(der + 2, aaguid, 16);
		e = NULL;
		if (os != NULL && oid != NULL &&
		    ASN1_OCTET_STRING_set(os, der, sizeof(der)))
			e = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(oid);
		if (e == NULL || !X509_add_ext(x, e, -1))
			goto fail;
		X509_EXTENSION_free(e);
	}
	if (X509_sign(x, att_key->pk, md) <= 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static cbor_item_t *
x5c_of(X509 *cert)
{
	unsigned char *der = NULL;
	cbor_item_t *a, *c;
	int n = i2d_X509(cert, &der);

	if (n <= 0)
		return NULL;
	c = cbor_build_bytestring(der, (size_t)n);
	OPENSSL_free(der);
	if (c == NULL || (a = cbor_new_definite_array(1)) == NULL) {
		if (c != NULL)
			cbor_decref(&c);
		return NULL;
	}
	if (!cbor_array_push(a, c))
		cbor_decref(&a);
	cbor_decref(&c);
	return a;
}

/* fido-u2f: 0x00 || rpIdHash || cdh || credId || 0x04 || x || y. */
static int
u2f_data(const struct wa_bytes *ad, const char *client_data,
    const struct wa_soft_key *cred_key, struct wa_bytes *out)
{
	size_t id_len = (size_t)ad->p[53] << 8 | ad->p[54];
	uint8_t pub[65];
	size_t pub_len = 0;

	if (EVP_PKEY_get_octet_string_param(cred_key->pk,
		OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &pub_len) != 1 ||
	    pub_len != 65)
		return -1;
	out->n = 1 + 32 + 32 + id_len + 65;
	if ((out->p = malloc(out->n)) == NULL)
		return -1;
	out->p[0] = 0;
	memcpy(out->p + 1, ad->p, 32);
	SHA256((const uint8_t *)client_data, strlen(client_data), out->p + 33);
	memcpy(out->p + 65, ad->p + 55, id_len);
	memcpy(out->p + 65 + id_len, pub, 65);
	return 0;
}

static uint8_t *
be16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *
be32(uint8_t *p, uint32_t v)
{
	p = be16(p, v >> 16);
	return be16(p, v & 0xffff);
}

/*
 * tpm (§8.3) as Windows Hello makes it: TPMT_PUBLIC of the RS256
 * credential key, TPMS_ATTEST (certify) over SHA-1(authData || cdh) and
 * SHA-256(pubArea), signed RS1 by the attestation key.
 */
static int
tpm_stmt(cbor_item_t *stmt, const struct wa_bytes *ad, const char *cd,
    const struct wa_soft_key *cred_key, const struct wa_soft_key *att_key,
    X509 *cert)
{
	uint8_t pub[310], info[161], n[256], tbs[4096 + 32], *q;
	struct wa_bytes sig = { 0 };
	size_t nlen = 0;
	int r;

	if (bn_bytes(cred_key->pk, OSSL_PKEY_PARAM_RSA_N, n, sizeof(n),
		&nlen) != 0 ||
	    nlen != 256 || ad->n > 4096)
		return -1;
	q = be16(pub, 0x0001);	 /* TPM_ALG_RSA */
	q = be16(q, 0x000b);	 /* SHA-256 */
	q = be32(q, 0x00040032); /* sign, fixed... */
	q = be16(q, 32);	 /* policy */
	memset(q, 0x11, 32);
	q += 32;
	q = be16(q, 0x0010); /* symmetric */
	q = be16(q, 0x0010); /* scheme */
	q = be16(q, 2048);   /* keyBits */
	q = be32(q, 0);	     /* exponent */
	q = be16(q, 256);    /* unique */
	memcpy(q, n, 256);
	q = be32(info, 0xff544347); /* magic */
	q = be16(q, 0x8017);	    /* certify */
	q = be16(q, 34);	    /* signer */
	q = be16(q, 0x000b);
	memset(q, 0x22, 32);
	q += 32;
	q = be16(q, 20); /* extraData */
	memcpy(tbs, ad->p, ad->n);
	SHA256((const uint8_t *)cd, strlen(cd), tbs + ad->n);
	SHA1(tbs, ad->n + 32, q);
	q += 20;
	memset(q, 0, 16); /* clock */
	q[16] = 1;	  /* safe */
	q += 17;
	memset(q, 0x33, 8); /* firmware */
	q += 8;
	q = be16(q, 34); /* name */
	q = be16(q, 0x000b);
	SHA256(pub, sizeof(pub), q);
	q += 32;
	q = be16(q, 34); /* qualifiedName */
	q = be16(q, 0x000b);
	memset(q, 0x44, 32);
	if (sign_md(att_key, EVP_sha1(), info, sizeof(info), &sig) != 0)
		return -1;
	r = map_add(stmt, cbor_build_string("ver"), cbor_build_string("2.0"));
	r = r ? r : map_add(stmt, cbor_build_string("alg"), cbor_int(-65535));
	r = r ? r : map_add(stmt, cbor_build_string("x5c"), x5c_of(cert));
	r = r ? r
	      : map_add(stmt, cbor_build_string("sig"),
		    cbor_build_bytestring(sig.p, sig.n));
	r = r ? r
	      : map_add(stmt, cbor_build_string("certInfo"),
		    cbor_build_bytestring(info, sizeof(info)));
	r = r ? r
	      : map_add(stmt, cbor_build_string("pubArea"),
		    cbor_build_bytestring(pub, sizeof(pub)));
	wa_bytes_free(&sig);
	return r;
}

int
wa_soft_att_obj(const char *fmt, const struct wa_bytes *auth_data,
    const char *client_data, const struct wa_soft_key *cred_key,
    const struct wa_soft_key *att_key, X509 *cert, struct wa_bytes *out)
{
	cbor_item_t *root = cbor_new_definite_map(3), *stmt;
	struct wa_bytes msg = { 0 }, sig = { 0 };
	bool u2f = strcmp(fmt, "fido-u2f") == 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return -1;
	if (strcmp(fmt, "none") == 0) {
		stmt = cbor_new_definite_map(0);
	} else if (strcmp(fmt, "tpm") == 0) {
		stmt = cbor_new_definite_map(6);
		if (stmt == NULL || att_key == NULL ||
		    tpm_stmt(stmt, auth_data, client_data, cred_key, att_key,
			cert) != 0)
			r = -1;
	} else {
		const struct wa_soft_key *signer =
		    att_key != NULL ? att_key : cred_key;

		stmt = cbor_new_definite_map(3);
		if (stmt == NULL)
			r = -1;
		else if (u2f)
			r = u2f_data(auth_data, client_data, cred_key, &msg);
		else
			r = signed_data(auth_data, client_data, &msg);
		r = r ? r : wa_soft_sign(signer, msg.p, msg.n, &sig);
		if (r == 0 && !u2f)
			r = map_add(stmt, cbor_build_string("alg"),
			    cbor_int(signer->alg));
		r = r ? r
		      : map_add(stmt, cbor_build_string("sig"),
			    cbor_build_bytestring(sig.p, sig.n));
		if (r == 0 && att_key != NULL)
			r = map_add(
			    stmt, cbor_build_string("x5c"), x5c_of(cert));
	}
	if (stmt == NULL)
		r = -1;
	r = r ? r
	      : map_add(root, cbor_build_string("fmt"), cbor_build_string(fmt));
	if (r == 0) {
		r = map_add(root, cbor_build_string("attStmt"), stmt);
		stmt = NULL; /* map_add() took it */
	}
	if (stmt != NULL)
		cbor_decref(&stmt);
	r = r ? r
	      : map_add(root, cbor_build_string("authData"),
		    cbor_build_bytestring(auth_data->p, auth_data->n));
	wa_bytes_free(&msg);
	wa_bytes_free(&sig);
	if (r != 0) {
		cbor_decref(&root);
		return -1;
	}
	return serialize(root, out);
}
