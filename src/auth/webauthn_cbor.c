/*
 * The CBOR of WebAuthn, read strictly (WA-06): a pre-scan with libcbor's
 * streaming decoder that refuses indefinite lengths, tags and deep nesting
 * and finds an item's exact length (the COSE key inside authenticator data
 * has no length prefix), so libcbor's tree decoder only ever sees
 * complete, shallow, definite input; and the COSE_Key checks that turn a
 * credential public key into the raw form libfido2 takes.
 */
#include <stdint.h>
#include <string.h>

#include <cbor.h>
#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <fido/rs256.h>
#include <sodium.h>

#include "auth/webauthn_int.h"

struct scan {
	uint64_t left[WA_CBOR_MAX_DEPTH + 1]; /* items still due per level */
	size_t depth;
	size_t avail; /* bytes from the current header to the end */
	bool bad, done;
};

static void
item_done(struct scan *s)
{
	while (s->depth > 0) {
		if (--s->left[s->depth - 1] > 0)
			return;
		s->depth--;
	}
	s->done = true;
}

/* A container of n elements opens: the depth-th nested one. */
static void
open_items(struct scan *s, uint64_t n)
{
	if (s->depth > WA_CBOR_MAX_DEPTH) {
		s->bad = true;
		return;
	}
	if (n == 0) {
		item_done(s);
		return;
	}
	/* Every element takes at least one byte: a bigger count is a lie. */
	if (n > s->avail) {
		s->bad = true;
		return;
	}
	s->left[s->depth++] = n;
}

static void
cb_u8(void *ctx, uint8_t v)
{
	(void)v;
	item_done(ctx);
}

static void
cb_u16(void *ctx, uint16_t v)
{
	(void)v;
	item_done(ctx);
}

static void
cb_u32(void *ctx, uint32_t v)
{
	(void)v;
	item_done(ctx);
}

static void
cb_u64(void *ctx, uint64_t v)
{
	(void)v;
	item_done(ctx);
}

static void
cb_str(void *ctx, cbor_data d, size_t n)
{
	(void)d;
	(void)n;
	item_done(ctx);
}

static void
cb_leaf(void *ctx)
{
	item_done(ctx);
}

static void
cb_refuse(void *ctx)
{
	((struct scan *)ctx)->bad = true;
}

static void
cb_tag(void *ctx, uint64_t v)
{
	(void)v;
	((struct scan *)ctx)->bad = true;
}

static void
cb_array(void *ctx, size_t n)
{
	open_items(ctx, n);
}

static void
cb_map(void *ctx, size_t n)
{
	struct scan *s = ctx;

	if (n > s->avail / 2) {
		s->bad = true;
		return;
	}
	open_items(s, (uint64_t)n * 2);
}

static void
cb_f(void *ctx, float v)
{
	(void)v;
	item_done(ctx);
}

static void
cb_d(void *ctx, double v)
{
	(void)v;
	item_done(ctx);
}

static void
cb_b(void *ctx, bool v)
{
	(void)v;
	item_done(ctx);
}

static const struct cbor_callbacks scan_cb = {
	.uint8 = cb_u8,
	.uint16 = cb_u16,
	.uint32 = cb_u32,
	.uint64 = cb_u64,
	.negint8 = cb_u8,
	.negint16 = cb_u16,
	.negint32 = cb_u32,
	.negint64 = cb_u64,
	.byte_string_start = cb_refuse, /* indefinite */
	.byte_string = cb_str,
	.string = cb_str,
	.string_start = cb_refuse, /* indefinite */
	.indef_array_start = cb_refuse,
	.array_start = cb_array,
	.indef_map_start = cb_refuse,
	.map_start = cb_map,
	.tag = cb_tag,
	.float2 = cb_f,
	.float4 = cb_f,
	.float8 = cb_d,
	.undefined = cb_leaf,
	.null = cb_leaf,
	.boolean = cb_b,
	.indef_break = cb_refuse,
};

int
wa_cbor_scan(const uint8_t *p, size_t n, size_t *item_len)
{
	struct scan s;
	size_t pos = 0;

	memset(&s, 0, sizeof(s));
	s.left[0] = 1;
	s.depth = 1;
	while (!s.done) {
		struct cbor_decoder_result r;

		if (pos >= n)
			return PC_ERR_INVALID; /* truncated */
		s.avail = n - pos;
		r = cbor_stream_decode(p + pos, n - pos, &scan_cb, &s);
		if (r.status != CBOR_DECODER_FINISHED || r.read == 0 ||
		    r.read > n - pos)
			return PC_ERR_INVALID;
		if (s.bad)
			return PC_ERR_INVALID;
		pos += r.read;
	}
	*item_len = pos;
	return 0;
}

cbor_item_t *
wa_cbor_load_exact(const uint8_t *p, size_t n)
{
	struct cbor_load_result res;
	cbor_item_t *it;
	size_t len;

	if (wa_cbor_scan(p, n, &len) != 0 || len != n)
		return NULL;
	it = cbor_load(p, n, &res);
	if (it == NULL)
		return NULL;
	if (res.error.code != CBOR_ERR_NONE) {
		cbor_decref(&it);
		return NULL;
	}
	return it;
}

bool
wa_cbor_int(const cbor_item_t *it, int64_t *out)
{
	uint64_t v;

	if (cbor_isa_uint(it)) {
		v = cbor_get_int(it);
		if (v > INT64_MAX)
			return false;
		*out = (int64_t)v;
		return true;
	}
	if (cbor_isa_negint(it)) {
		v = cbor_get_int(it);
		if (v > INT64_MAX)
			return false;
		*out = -1 - (int64_t)v;
		return true;
	}
	return false;
}

bool
wa_cbor_text_is(const cbor_item_t *it, const char *s)
{
	size_t n = strlen(s);

	return cbor_isa_string(it) && cbor_string_is_definite(it) &&
	    cbor_string_length(it) == n &&
	    memcmp(cbor_string_handle(it), s, n) == 0;
}

/* COSE_Key labels (RFC 9052 §7, RFC 9053 §7). */
enum {
	L_KTY,
	L_ALG,
	L_M1,
	L_M2,
	L_M3,
	L_N
};

static int
label_index(int64_t label)
{
	switch (label) {
	case 1: return L_KTY;
	case 3: return L_ALG;
	case -1: return L_M1;
	case -2: return L_M2;
	case -3: return L_M3;
	default: return -1;
	}
}

static bool
bstr_len_is(const cbor_item_t *it, size_t n)
{
	return it != NULL && cbor_isa_bytestring(it) &&
	    cbor_bytestring_is_definite(it) && cbor_bytestring_length(it) == n;
}

static bool
int_is(const cbor_item_t *it, int64_t want)
{
	int64_t v;

	return it != NULL && wa_cbor_int(it, &v) && v == want;
}

static int
cose_ec2(const cbor_item_t *const *v, struct wa_cose *k)
{
	es256_pk_t *pk;

	if (!int_is(v[L_ALG], WA_COSE_ALG_ES256) || !int_is(v[L_M1], 1) ||
	    !bstr_len_is(v[L_M2], 32) || !bstr_len_is(v[L_M3], 32))
		return PC_ERR_VERIFY;
	memcpy(k->raw, cbor_bytestring_handle(v[L_M2]), 32);
	memcpy(k->raw + 32, cbor_bytestring_handle(v[L_M3]), 32);
	k->raw_len = 64;
	k->alg = WA_COSE_ALG_ES256;
	/* The point must be on P-256: es256_pk_from_ptr() checks it. */
	if ((pk = wa_cose_fido_pk(k)) == NULL)
		return PC_ERR_VERIFY;
	es256_pk_free(&pk);
	return 0;
}

static int
cose_okp(const cbor_item_t *const *v, struct wa_cose *k)
{
	if (v[L_M3] != NULL || !int_is(v[L_ALG], WA_COSE_ALG_EDDSA) ||
	    !int_is(v[L_M1], 6) || !bstr_len_is(v[L_M2], 32))
		return PC_ERR_VERIFY;
	memcpy(k->raw, cbor_bytestring_handle(v[L_M2]), 32);
	/* A canonical point of the main subgroup, not of small order. */
	if (crypto_core_ed25519_is_valid_point(k->raw) != 1)
		return PC_ERR_VERIFY;
	k->raw_len = 32;
	k->alg = WA_COSE_ALG_EDDSA;
	return 0;
}

static int
cose_rsa(const cbor_item_t *const *v, struct wa_cose *k)
{
	static const uint8_t f4[3] = { 0x01, 0x00, 0x01 };
	const uint8_t *n;

	/*
	 * libfido2's rs256_pk_t holds a 2048-bit modulus and a 3-byte
	 * exponent: exactly 2048 bits (top bit set, odd) and e = 65537.
	 */
	if (v[L_M3] != NULL || !int_is(v[L_ALG], WA_COSE_ALG_RS256) ||
	    !bstr_len_is(v[L_M1], 256) || !bstr_len_is(v[L_M2], 3))
		return PC_ERR_VERIFY;
	n = cbor_bytestring_handle(v[L_M1]);
	if ((n[0] & 0x80) == 0 || (n[255] & 1) == 0 ||
	    memcmp(cbor_bytestring_handle(v[L_M2]), f4, 3) != 0)
		return PC_ERR_VERIFY;
	memcpy(k->raw, n, 256);
	memcpy(k->raw + 256, f4, 3);
	k->raw_len = 259;
	k->alg = WA_COSE_ALG_RS256;
	return 0;
}

int
wa_cose_parse(const uint8_t *p, size_t n, struct wa_cose *k)
{
	const cbor_item_t *v[L_N] = { NULL };
	struct cbor_pair *pairs;
	cbor_item_t *it;
	int64_t kty;
	size_t i;
	int r = PC_ERR_VERIFY;

	memset(k, 0, sizeof(*k));
	if ((it = wa_cbor_load_exact(p, n)) == NULL)
		return PC_ERR_INVALID;
	if (!cbor_isa_map(it) || cbor_map_size(it) > L_N)
		goto out;
	pairs = cbor_map_handle(it);
	for (i = 0; i < cbor_map_size(it); i++) {
		int64_t label;
		int idx;

		if (!wa_cbor_int(pairs[i].key, &label) ||
		    (idx = label_index(label)) < 0 || v[idx] != NULL)
			goto out; /* unknown or repeated parameter */
		v[idx] = pairs[i].value;
	}
	if (v[L_KTY] == NULL || !wa_cbor_int(v[L_KTY], &kty))
		goto out;
	switch (kty) {
	case 2: r = cose_ec2(v, k); break;
	case 1: r = cose_okp(v, k); break;
	case 3: r = cose_rsa(v, k); break;
	default: r = PC_ERR_VERIFY; break;
	}
out:
	cbor_decref(&it);
	return r;
}

void *
wa_cose_fido_pk(const struct wa_cose *k)
{
	es256_pk_t *es;
	eddsa_pk_t *ed;
	rs256_pk_t *rs;

	switch (k->alg) {
	case WA_COSE_ALG_ES256:
		if ((es = es256_pk_new()) == NULL)
			return NULL;
		if (es256_pk_from_ptr(es, k->raw, k->raw_len) != FIDO_OK)
			es256_pk_free(&es);
		return es;
	case WA_COSE_ALG_EDDSA:
		if ((ed = eddsa_pk_new()) == NULL)
			return NULL;
		if (eddsa_pk_from_ptr(ed, k->raw, k->raw_len) != FIDO_OK)
			eddsa_pk_free(&ed);
		return ed;
	case WA_COSE_ALG_RS256:
		if ((rs = rs256_pk_new()) == NULL)
			return NULL;
		if (rs256_pk_from_ptr(rs, k->raw, k->raw_len) != FIDO_OK)
			rs256_pk_free(&rs);
		return rs;
	default: return NULL;
	}
}

void
wa_cose_fido_pk_free(int alg, void *pk)
{
	es256_pk_t *es = pk;
	eddsa_pk_t *ed = pk;
	rs256_pk_t *rs = pk;

	switch (alg) {
	case WA_COSE_ALG_ES256: es256_pk_free(&es); break;
	case WA_COSE_ALG_EDDSA: eddsa_pk_free(&ed); break;
	case WA_COSE_ALG_RS256: rs256_pk_free(&rs); break;
	default: break;
	}
}
