/*
 * Principal ids (issue 14): the typed ids of people, service accounts,
 * groups, clients, API keys and workload trusts, told apart by prefix and
 * shape alone so that a handler can route an id without a store read, and
 * so that an id of one kind is never taken for another.
 */
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "jose/b64url.h"
#include "machine/machine.h"

#define KEY_ID_CHARS 16 /* base62, SECURITY.md Part 2.7 */

static const struct {
	enum principal_kind kind;
	const char *prefix;
} prefixes[] = {
	{ PRINCIPAL_USER, "usr_" },
	{ PRINCIPAL_SERVICE_ACCOUNT, "svc_" },
	{ PRINCIPAL_GROUP, "grp_" },
	{ PRINCIPAL_CLIENT, "pcc_" },
	{ PRINCIPAL_API_KEY, "key_" },
	{ PRINCIPAL_WORKLOAD, "wif_" },
};

const char *
principal_prefix(enum principal_kind kind)
{
	for (size_t i = 0; i < PC_NELEM(prefixes); i++)
		if (prefixes[i].kind == kind)
			return prefixes[i].prefix;
	return "";
}

int
principal_id_new(enum principal_kind kind, char out[PRINCIPAL_ID_LEN + 1])
{
	uint8_t raw[PRINCIPAL_ID_RANDOM_BYTES];
	const char *p;

	if (kind != PRINCIPAL_SERVICE_ACCOUNT && kind != PRINCIPAL_GROUP &&
	    kind != PRINCIPAL_WORKLOAD)
		return PC_ERR_INVALID;
	p = principal_prefix(kind);
	memcpy(out, p, 4);
	random_bytes(raw, sizeof(raw));
	b64url_encode(raw, sizeof(raw), out + 4);
	sodium_memzero(raw, sizeof(raw));
	out[PRINCIPAL_ID_LEN] = '\0';
	return 0;
}

static bool
all_of(const char *s, size_t n, bool base62_only)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') ||
		    (!base62_only && (c == '-' || c == '_'));

		if (!ok)
			return false;
	}
	return true;
}

enum principal_kind
principal_kind(const char *id)
{
	size_t len;

	if (id == NULL)
		return PRINCIPAL_NONE;
	len = strnlen(id, PRINCIPAL_ID_MAX + 1);
	for (size_t i = 0; i < PC_NELEM(prefixes); i++) {
		if (strncmp(id, prefixes[i].prefix, 4) != 0)
			continue;
		if (prefixes[i].kind == PRINCIPAL_API_KEY)
			return len == 4 + KEY_ID_CHARS &&
				all_of(id + 4, KEY_ID_CHARS, true)
			    ? PRINCIPAL_API_KEY
			    : PRINCIPAL_NONE;
		return len == PRINCIPAL_ID_LEN &&
			all_of(id + 4, PRINCIPAL_ID_LEN - 4, false)
		    ? prefixes[i].kind
		    : PRINCIPAL_NONE;
	}
	return PRINCIPAL_NONE;
}
