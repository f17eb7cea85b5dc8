/*
 * Strict base64url without padding (RFC 4648 §5, RFC 7515 §2).
 *
 * Decoding accepts exactly the canonical encoding: only [A-Za-z0-9_-], no
 * '=' padding, no whitespace, no length that leaves a lone character, and
 * no set bits below the last whole byte. So every byte string has exactly
 * one accepted spelling, and a token cannot be altered without changing
 * its bytes.
 *
 * The per-character mapping uses masks, not branches or table lookups on
 * the data, because the same code also carries secrets (keys, codes).
 */
#include <string.h>

#include <sodium.h>

#include "jose/b64url.h"

/* All ones when lo <= c <= hi, else zero; c, lo and hi are below 2^16. */
static unsigned
in_range(unsigned c, unsigned lo, unsigned hi)
{
	return 0U - (((lo - 1U - c) & (c - hi - 1U)) >> 31);
}

/* The 6-bit value of c; *ok becomes 1 if c is in the alphabet, else 0. */
static unsigned
dec1(unsigned char ch, unsigned *ok)
{
	unsigned c = ch, m_az, m_lc, m_09, m_dash, m_us, v;

	m_az = in_range(c, 'A', 'Z');
	m_lc = in_range(c, 'a', 'z');
	m_09 = in_range(c, '0', '9');
	m_dash = in_range(c, '-', '-');
	m_us = in_range(c, '_', '_');
	v = (m_az & (c - 'A')) | (m_lc & (c - 'a' + 26U)) |
	    (m_09 & (c - '0' + 52U)) | (m_dash & 62U) | (m_us & 63U);
	*ok = (m_az | m_lc | m_09 | m_dash | m_us) & 1U;
	return v & 0x3fU;
}

/* The character for a 6-bit value v. */
static char
enc1(unsigned v)
{
	unsigned c = v + 'A';

	c += (in_range(v, 26, 63) & 6U);  /* 'a' - 'A' - 26 */
	c -= (in_range(v, 52, 63) & 75U); /* 'a' + 26 - '0' */
	c -= (in_range(v, 62, 62) & 13U); /* '0' + 10 - '-' */
	c += (in_range(v, 63, 63) & 36U); /* '_' - ('0' + 11) */
	return (char)c;
}

size_t
b64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

void
b64url_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i = 0, o = 0;
	uint32_t w;

	for (; n - i >= 3; i += 3) {
		w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = enc1((w >> 18) & 0x3f);
		out[o++] = enc1((w >> 12) & 0x3f);
		out[o++] = enc1((w >> 6) & 0x3f);
		out[o++] = enc1(w & 0x3f);
	}
	if (n - i == 1) {
		w = (uint32_t)in[i] << 16;
		out[o++] = enc1((w >> 18) & 0x3f);
		out[o++] = enc1((w >> 12) & 0x3f);
	} else if (n - i == 2) {
		w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = enc1((w >> 18) & 0x3f);
		out[o++] = enc1((w >> 12) & 0x3f);
		out[o++] = enc1((w >> 6) & 0x3f);
	}
	out[o] = '\0';
}

int
b64url_decode(
    const char *in, size_t n, uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t need, i, o = 0;
	uint32_t acc = 0;
	unsigned bits = 0, bad = 0, ok;

	*out_len = 0;
	if (in == NULL && n != 0)
		return PC_ERR_INVALID;
	/* One character carries 6 bits: never a whole byte. */
	if (n % 4 == 1)
		return PC_ERR_INVALID;
	need = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
	if (need > out_cap)
		return PC_ERR_TOO_LARGE;
	for (i = 0; i < n; i++) {
		acc = (acc << 6) | dec1((unsigned char)in[i], &ok);
		bad |= ok ^ 1U;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
		acc &= (1U << bits) - 1U;
	}
	/* Canonical: the bits after the last whole byte are zero. */
	bad |= acc != 0;
	if (bad != 0) {
		if (o > 0)
			sodium_memzero(out, o);
		return PC_ERR_INVALID;
	}
	*out_len = o;
	return 0;
}
