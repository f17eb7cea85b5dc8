/*
 * base64url without padding (RFC 4648 §5, RFC 7515 §2), on its own: the
 * one encoding that tokens, ids, PKCE and JWS share. It needs nothing but
 * util and libsodium, so it is its own library (pc_b64url) that pure
 * layers (oauth/proto) link without OpenSSL or jansson; jose.h includes it.
 */
#ifndef PC_JOSE_B64URL_H
#define PC_JOSE_B64URL_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

size_t b64url_encoded_len(size_t n); /* without the NUL */
/* out must hold b64url_encoded_len(n) + 1 bytes; NUL-terminated. */
void b64url_encode(const uint8_t *in, size_t n, char *out);
/* Strict: no padding, no whitespace, canonical trailing bits. */
int b64url_decode(const char *in, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len) PC_WUR;

#endif
