/*
 * The API key format (SECURITY.md Part 2.7, AK-01..03; issue 14):
 * generating, parsing and finding keys in text. Pure: no store, no
 * network, so that a malformed or checksum-failing key is refused before
 * any store access, and so that the parser and the scanner can be fuzzed
 * alone (tests/fuzz/fuzz_apikey.c). The format itself is described in
 * machine/machine.h.
 */
#include <string.h>

#include <sodium.h>
#include <zlib.h>

#include "crypto/crypto.h"
#include "machine/machine.h"

static const char b62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* 4 * 62: the bytes below it map uniformly onto base62 by b % 62. */
#define B62_ACCEPT 248

static bool
is_b62(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z');
}

static bool
all_b62(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_b62(s[i]))
			return false;
	return true;
}

const char *
apikey_kind_tag(enum apikey_kind kind)
{
	switch (kind) {
	case APIKEY_SA: return "sa";
	case APIKEY_USR: return "usr";
	case APIKEY_NONE: break;
	}
	return "";
}

size_t
apikey_base62_from_bytes(const uint8_t *bytes, size_t n, char *out, size_t want)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k < want; i++)
		if (bytes[i] < B62_ACCEPT)
			out[k++] = b62[bytes[i] % 62];
	return k;
}

/* want uniformly random base62 characters from the CSPRNG. */
static void
random_b62(char *out, size_t want)
{
	uint8_t raw[64];
	size_t k = 0;

	while (k < want) {
		random_bytes(raw, sizeof(raw));
		k += apikey_base62_from_bytes(
		    raw, sizeof(raw), out + k, want - k);
	}
	sodium_memzero(raw, sizeof(raw));
}

void
apikey_checksum(const char *s, size_t n, char out[APIKEY_CHECK_CHARS + 1])
{
	uLong v = crc32(0L, Z_NULL, 0);

	v = crc32(v, (const Bytef *)s, (uInt)n);
	/* Big-endian base62, fixed width: the last digit is the lowest. */
	for (int i = APIKEY_CHECK_CHARS - 1; i >= 0; i--) {
		out[i] = b62[v % 62];
		v /= 62;
	}
	out[APIKEY_CHECK_CHARS] = '\0';
}

void
apikey_parts_wipe(struct apikey_parts *p)
{
	sodium_memzero(p, sizeof(*p));
}

/* The body (everything before the check) into key; its length. */
static size_t
body(const struct apikey_parts *parts, char key[APIKEY_MAX_LEN + 1])
{
	const char *tag = apikey_kind_tag(parts->kind);
	size_t n = 0, t = strlen(tag);

	memcpy(key, APIKEY_PREFIX, 4);
	n = 4;
	memcpy(key + n, tag, t);
	n += t;
	key[n++] = '_';
	memcpy(key + n, parts->key_id, APIKEY_ID_CHARS);
	n += APIKEY_ID_CHARS;
	key[n++] = '_';
	memcpy(key + n, parts->secret, APIKEY_SECRET_CHARS);
	n += APIKEY_SECRET_CHARS;
	return n;
}

int
apikey_format(const struct apikey_parts *parts, char key[APIKEY_MAX_LEN + 1])
{
	size_t n;

	if (parts->kind != APIKEY_SA && parts->kind != APIKEY_USR)
		return PC_ERR_INVALID;
	if (strnlen(parts->key_id, sizeof(parts->key_id)) != APIKEY_ID_CHARS ||
	    !all_b62(parts->key_id, APIKEY_ID_CHARS) ||
	    strnlen(parts->secret, sizeof(parts->secret)) !=
		APIKEY_SECRET_CHARS ||
	    !all_b62(parts->secret, APIKEY_SECRET_CHARS))
		return PC_ERR_INVALID;
	n = body(parts, key);
	apikey_checksum(key, n, key + n);
	return 0;
}

int
apikey_generate(enum apikey_kind kind, struct apikey_parts *out,
    char key[APIKEY_MAX_LEN + 1])
{
	memset(out, 0, sizeof(*out));
	if (kind != APIKEY_SA && kind != APIKEY_USR)
		return PC_ERR_INVALID;
	out->kind = kind;
	random_b62(out->key_id, APIKEY_ID_CHARS);
	random_b62(out->secret, APIKEY_SECRET_CHARS);
	return apikey_format(out, key);
}

int
apikey_parse(const char *s, size_t len, struct apikey_parts *out)
{
	char check[APIKEY_CHECK_CHARS + 1];
	size_t tag_len, n, body_len;

	memset(out, 0, sizeof(*out));
	if (s == NULL || len < 8 || memcmp(s, APIKEY_PREFIX, 4) != 0)
		return PC_ERR_INVALID;
	if (memcmp(s + 4, "sa_", 3) == 0) {
		out->kind = APIKEY_SA;
		tag_len = 2;
	} else if (memcmp(s + 4, "usr_", 4) == 0) {
		out->kind = APIKEY_USR;
		tag_len = 3;
	} else {
		return PC_ERR_INVALID;
	}
	n = 4 + tag_len + 1;
	body_len = n + APIKEY_ID_CHARS + 1 + APIKEY_SECRET_CHARS;
	if (len != body_len + APIKEY_CHECK_CHARS ||
	    !all_b62(s + n, APIKEY_ID_CHARS) || s[n + APIKEY_ID_CHARS] != '_' ||
	    !all_b62(s + n + APIKEY_ID_CHARS + 1,
		APIKEY_SECRET_CHARS + APIKEY_CHECK_CHARS))
		goto bad;
	apikey_checksum(s, body_len, check);
	/* The check is public (anyone can compute it): no need for a
	 * constant-time compare. */
	if (memcmp(check, s + body_len, APIKEY_CHECK_CHARS) != 0)
		goto bad;
	memcpy(out->key_id, s + n, APIKEY_ID_CHARS);
	memcpy(out->secret, s + n + APIKEY_ID_CHARS + 1, APIKEY_SECRET_CHARS);
	return 0;
bad:
	apikey_parts_wipe(out);
	return PC_ERR_INVALID;
}

void
apikey_secret_hash(
    const char secret[APIKEY_SECRET_CHARS + 1], char out[PC_SHA256_HEX_LEN + 1])
{
	hash_sha256_hex(secret, APIKEY_SECRET_CHARS, out);
}

void
apikey_public_id(
    const char key_id[APIKEY_ID_CHARS + 1], char out[APIKEY_PUBLIC_ID_LEN + 1])
{
	memcpy(out, "key_", 4);
	memcpy(out + 4, key_id, APIKEY_ID_CHARS);
	out[APIKEY_PUBLIC_ID_LEN] = '\0';
}

int
apikey_id_from_public(const char *public_id, char key_id[APIKEY_ID_CHARS + 1])
{
	key_id[0] = '\0';
	if (principal_kind(public_id) != PRINCIPAL_API_KEY)
		return PC_ERR_INVALID;
	memcpy(key_id, public_id + 4, APIKEY_ID_CHARS);
	key_id[APIKEY_ID_CHARS] = '\0';
	return 0;
}

/* The length of the candidate at p (p[0..3] == "pck_"), or 0. */
static size_t
match_at(const char *p, size_t avail)
{
	size_t n;

	if (avail >= 7 && memcmp(p + 4, "sa_", 3) == 0)
		n = 7;
	else if (avail >= 8 && memcmp(p + 4, "usr_", 4) == 0)
		n = 8;
	else
		return 0;
	if (avail <
	    n + APIKEY_ID_CHARS + 1 + APIKEY_SECRET_CHARS + APIKEY_CHECK_CHARS)
		return 0;
	if (!all_b62(p + n, APIKEY_ID_CHARS) || p[n + APIKEY_ID_CHARS] != '_')
		return 0;
	n += APIKEY_ID_CHARS + 1;
	if (!all_b62(p + n, APIKEY_SECRET_CHARS + APIKEY_CHECK_CHARS))
		return 0;
	n += APIKEY_SECRET_CHARS + APIKEY_CHECK_CHARS;
	/* Bounded: the next character must not continue the run. */
	if (n < avail && is_b62(p[n]))
		return 0;
	return n;
}

int
apikey_scan(const char *text, size_t len,
    int (*found)(const char *p, size_t n, void *arg), void *arg)
{
	size_t i = 0;

	while (i + 4 <= len) {
		const char *p = memchr(text + i, 'p', len - i);
		size_t at, n;
		int r;

		if (p == NULL)
			break;
		at = (size_t)(p - text);
		if (at + 4 > len)
			break;
		if (memcmp(p, APIKEY_PREFIX, 4) != 0 ||
		    (at > 0 && is_b62(text[at - 1])) ||
		    (n = match_at(p, len - at)) == 0) {
			i = at + 1;
			continue;
		}
		r = found(p, n, arg);
		if (r != 0)
			return r;
		i = at + n;
	}
	return 0;
}
