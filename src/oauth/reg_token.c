/*
 * The bearer secrets of client registration (issue 15 item 6; SECURITY.md
 * CR-01, CR-03, CR-07; decision 0063): initial access tokens, which let a
 * client register (RFC 7591 §3), and registration access tokens, which
 * let it read, change or delete its registration (RFC 7592). Both are 32
 * random bytes shown once with a prefix that secret scanners can find
 * ("pci_", "pcm_"); the store keeps the hex SHA-256 of the bytes only
 * (enough at this entropy, as for client secrets: TK-08).
 */
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "oauth/domain.h"

void
reg_token_new(const char *prefix, char out[REG_TOKEN_LEN + 1],
    char hash[PC_SHA256_HEX_LEN + 1])
{
	uint8_t raw[REG_TOKEN_BYTES];
	size_t pl = strlen(prefix);

	random_bytes(raw, sizeof(raw));
	memcpy(out, prefix, pl);
	b64url_encode(raw, sizeof(raw), out + pl);
	hash_sha256_hex(raw, sizeof(raw), hash);
	sodium_memzero(raw, sizeof(raw));
}

int
reg_token_hash(
    const char *prefix, const char *token, char hash[PC_SHA256_HEX_LEN + 1])
{
	uint8_t raw[REG_TOKEN_BYTES + 1];
	size_t pl = strlen(prefix), n = 0;

	hash[0] = '\0';
	if (token == NULL ||
	    strnlen(token, REG_TOKEN_LEN + 1) != REG_TOKEN_LEN ||
	    strncmp(token, prefix, pl) != 0)
		return PC_ERR_INVALID;
	if (b64url_decode(
		token + pl, REG_TOKEN_LEN - pl, raw, sizeof(raw), &n) != 0 ||
	    n != REG_TOKEN_BYTES) {
		sodium_memzero(raw, sizeof(raw));
		return PC_ERR_INVALID;
	}
	hash_sha256_hex(raw, REG_TOKEN_BYTES, hash);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

int
reg_initial_token_create(struct db *db, const char *label, int64_t max_clients,
    int64_t ttl, int64_t now, char token[REG_TOKEN_LEN + 1],
    char id[REG_INITIAL_ID_LEN + 1])
{
	struct store_initial_token t;
	char hash[PC_SHA256_HEX_LEN + 1];
	uint8_t raw[16];
	int r;

	token[0] = '\0';
	id[0] = '\0';
	if (max_clients < 1 || ttl < 1 || label == NULL ||
	    strlen(label) > CLIENT_NAME_MAX ||
	    (label[0] != '\0' && !str_is_text(str_from(label))))
		return PC_ERR_INVALID;
	random_bytes(raw, sizeof(raw));
	memcpy(id, REG_INITIAL_ID_PREFIX, sizeof(REG_INITIAL_ID_PREFIX) - 1);
	b64url_encode(raw, sizeof(raw), id + sizeof(REG_INITIAL_ID_PREFIX) - 1);
	reg_token_new(REG_INITIAL_PREFIX, token, hash);
	memset(&t, 0, sizeof(t));
	t.token_id = id;
	t.label = (char *)label;
	t.max_clients = max_clients;
	t.created_at = now;
	t.expires_at = now + ttl;
	r = store_initial_token_insert(db, &t, hash);
	sodium_memzero(hash, sizeof(hash));
	if (r != 0)
		sodium_memzero(token, REG_TOKEN_LEN + 1);
	return r;
}
