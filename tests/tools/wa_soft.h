/*
 * A software WebAuthn authenticator for tests, the wa_authn tool and the
 * bench: keys (ES256, Ed25519, RS256) made with OpenSSL, the COSE_Key,
 * clientDataJSON, authenticator data, signatures and attestation objects
 * ("none", "packed" self or with an x5c certificate, "fido-u2f") built
 * with libcbor exactly as an authenticator and a browser would. Never
 * linked into the server.
 */
#ifndef PC_TESTS_WA_SOFT_H
#define PC_TESTS_WA_SOFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct wa_bytes {
	uint8_t *p; /* malloc'd */
	size_t n;
};
void wa_bytes_free(struct wa_bytes *b);

struct wa_soft_key {
	EVP_PKEY *pk;
	int alg; /* WA_COSE_ALG_* */
};

/* alg -7, -8 or -257 (RSA of rsa_bits, 2048 when 0). 0 or -1. */
int wa_soft_key_new(int alg, int rsa_bits, struct wa_soft_key *k);
int wa_soft_key_load(const char *path, struct wa_soft_key *k);
int wa_soft_key_save(const struct wa_soft_key *k, const char *path);
void wa_soft_key_free(struct wa_soft_key *k);

/* The public key as a COSE_Key. */
int wa_soft_cose(const struct wa_soft_key *k, struct wa_bytes *out);

/* clientDataJSON; extra (or NULL) is appended inside the object. */
char *wa_soft_client_data(const char *type, const uint8_t challenge[32],
    const char *origin, const char *extra);

/*
 * Authenticator data: SHA-256(rp_id), flags, counter; with cred_id the
 * attested credential data (AT is set) and with ext the extensions (ED).
 */
int wa_soft_auth_data(const char *rp_id, uint8_t flags, uint32_t counter,
    const uint8_t aaguid[16], const uint8_t *cred_id, size_t cred_id_len,
    const struct wa_bytes *cose, const struct wa_bytes *ext,
    struct wa_bytes *out);

/* ES256 (DER), Ed25519, RS256 (PKCS #1 v1.5) over msg. */
int wa_soft_sign(const struct wa_soft_key *k, const uint8_t *msg, size_t n,
    struct wa_bytes *sig);

/* The signature of authData || SHA-256(client_data). */
int wa_soft_sign_assertion(const struct wa_soft_key *k,
    const struct wa_bytes *auth_data, const char *client_data,
    struct wa_bytes *sig);

/* A self-signed X.509 v3 attestation certificate for att_key. */
X509 *wa_soft_att_cert(
    const struct wa_soft_key *att_key, const uint8_t *aaguid, bool ca);

/*
 * An attestation object of fmt "none", "packed" (att_key NULL: self
 * attestation by cred_key; else x5c = [cert]), "fido-u2f" (att_key and
 * cert, cred_key ES256) or "tpm" (Windows Hello's shape: cred_key RS256,
 * att_key RSA, cert).
 */
int wa_soft_att_obj(const char *fmt, const struct wa_bytes *auth_data,
    const char *client_data, const struct wa_soft_key *cred_key,
    const struct wa_soft_key *att_key, X509 *cert, struct wa_bytes *out);

#endif
