/*
 * API keys (issue 14; SECURITY.md AK-01..08): creating, verifying,
 * rotating and revoking the long-lived credentials of service accounts
 * (pck_sa_…) and users (pck_usr_…). The format is apikey_format.c's;
 * the rows are store/api_keys.c's.
 *
 * Verification (AK-03) parses and checks the checksum before anything
 * else, so a malformed key costs no store access; it then reads the row
 * by the non-secret key id and compares SHA-256 of the secret in
 * constant time. Every refusal is the same PC_ERR_VERIFY to the caller.
 * A use is recorded at most once per api_key_use_interval per key (a
 * conditional update, so nodes racing write once), never on every
 * request; the first recorded use of a UTC day asks the caller for an
 * api_key.use audit event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "machine/machine.h"
#include "oauth/proto.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"

#define DAY 86400

static void
set_why(const char **why, const char *text)
{
	if (why != NULL)
		*why = text;
}

/* Whether the owner may hold keys now: alive (exists, not disabled, not
 * expired; machine_principal_live). 0, PC_ERR_VERIFY, PC_ERR_STORE. */
static int
owner_live(struct db *db, const char *owner_id, int64_t now)
{
	return machine_principal_live(db, owner_id, NULL, now);
}

static bool
name_ok(const char *s)
{
	size_t n = strnlen(s, APIKEY_NAME_MAX + 1);

	if (n > APIKEY_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static int
check_request(struct db *db, const struct config *cfg,
    const struct apikey_request *rq, int64_t now, int64_t *ttl,
    const char **why)
{
	int r;

	switch (principal_kind(rq->owner_id)) {
	case PRINCIPAL_USER:
	case PRINCIPAL_SERVICE_ACCOUNT: break;
	default:
		set_why(why, "the owner must be a svc_ or usr_ id");
		return PC_ERR_INVALID;
	}
	r = owner_live(db, rq->owner_id, now);
	if (r == PC_ERR_VERIFY) {
		set_why(why, "the owner does not exist or is disabled");
		return PC_ERR_INVALID;
	}
	if (r != 0)
		return r;
	if (rq->name != NULL && !name_ok(rq->name)) {
		set_why(why, "the name is too long or has control characters");
		return PC_ERR_INVALID;
	}
	*ttl = rq->ttl != 0 ? rq->ttl : cfg->api_key_default_ttl;
	if (*ttl <= 0 || *ttl > cfg->api_key_max_ttl) {
		/* AK-05: every key expires, within the ceiling. */
		set_why(why, "the lifetime is above api_key_max_ttl");
		return PC_ERR_INVALID;
	}
	return apikey_scopes_check(db, rq, why);
}

/* A new row and key for owner; out's strings are the caller's. */
static void
fill_row(struct store_api_key *out, enum apikey_kind kind,
    const struct apikey_parts *parts, const struct apikey_request *rq,
    int64_t now, int64_t ttl)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->key_id, parts->key_id, sizeof(out->key_id));
	snprintf(out->kind, sizeof(out->kind), "%s", apikey_kind_tag(kind));
	out->owner_id = xstrdup(rq->owner_id);
	apikey_secret_hash(parts->secret, out->secret_hash);
	out->name = xstrdup(rq->name != NULL ? rq->name : "");
	out->scopes = xstrdup(rq->scopes);
	out->resource_id =
	    rq->resource_id != NULL ? xstrdup(rq->resource_id) : NULL;
	out->created_at = now;
	out->expires_at = now + ttl;
}

static enum apikey_kind
kind_of_owner(const char *owner_id)
{
	return principal_kind(owner_id) == PRINCIPAL_USER ? APIKEY_USR
							  : APIKEY_SA;
}

/* Generates and inserts; a key-id collision (95 random bits) retries. */
static int
insert_new(struct db *db, const struct apikey_request *rq, int64_t now,
    int64_t ttl, const char *rotate_from, int64_t old_expires_at,
    struct store_api_key *out, char key[APIKEY_MAX_LEN + 1])
{
	struct apikey_parts parts;
	int r = PC_ERR_CONFLICT;

	for (int attempt = 0; attempt < 3 && r == PC_ERR_CONFLICT; attempt++) {
		if (attempt > 0)
			store_api_key_clear(out);
		r = apikey_generate(kind_of_owner(rq->owner_id), &parts, key);
		if (r != 0)
			break;
		fill_row(
		    out, kind_of_owner(rq->owner_id), &parts, rq, now, ttl);
		apikey_parts_wipe(&parts);
		r = rotate_from != NULL
		    ? store_api_key_rotate(db, rotate_from, old_expires_at, out)
		    : store_api_key_insert(db, out);
	}
	if (r != 0) {
		store_api_key_clear(out);
		sodium_memzero(key, APIKEY_MAX_LEN + 1);
	}
	return r;
}

int
apikey_create(struct db *db, const struct config *cfg,
    const struct apikey_request *rq, int64_t now, struct store_api_key *out,
    char key[APIKEY_MAX_LEN + 1], const char **why)
{
	int64_t ttl = 0;
	int r;

	memset(out, 0, sizeof(*out));
	key[0] = '\0';
	set_why(why, NULL);
	if ((r = check_request(db, cfg, rq, now, &ttl, why)) != 0)
		return r;
	return insert_new(db, rq, now, ttl, NULL, 0, out, key);
}

int
apikey_get(struct db *db, const char *public_id, struct store_api_key *out)
{
	char id[APIKEY_ID_CHARS + 1];

	memset(out, 0, sizeof(*out));
	if (apikey_id_from_public(public_id, id) != 0)
		return PC_ERR_NOT_FOUND;
	return store_api_key_get(db, id, out);
}

int
apikey_list(
    struct db *db, const char *owner_id, struct store_api_key **out, size_t *n)
{
	return store_api_keys_list(db, owner_id, out, n);
}

int
apikey_revoke(struct db *db, const char *public_id, int64_t now,
    const char *reason, bool *changed)
{
	struct store_api_key k;
	int r;

	*changed = false;
	if ((r = apikey_get(db, public_id, &k)) != 0)
		return r;
	r = store_api_key_revoke(db, k.key_id, now, reason, changed);
	store_api_key_clear(&k);
	return r;
}

int
apikey_rotate(struct db *db, const struct config *cfg, const char *public_id,
    int64_t overlap, int64_t now, struct store_api_key *out,
    char key[APIKEY_MAX_LEN + 1], const char **why)
{
	struct store_api_key old;
	struct apikey_request rq;
	int64_t ttl, old_end;
	int r;

	memset(out, 0, sizeof(*out));
	key[0] = '\0';
	set_why(why, NULL);
	if ((r = apikey_get(db, public_id, &old)) != 0)
		return r;
	if (old.revoked_at != 0 || now >= old.expires_at ||
	    old.replaced_by[0] != '\0') {
		store_api_key_clear(&old);
		return PC_ERR_NOT_FOUND;
	}
	r = owner_live(db, old.owner_id, now);
	if (r != 0) {
		store_api_key_clear(&old);
		if (r == PC_ERR_VERIFY) {
			set_why(why, "the owner does not exist or is disabled");
			return PC_ERR_INVALID;
		}
		return r;
	}
	/* The successor lives as long as its predecessor was given. */
	ttl = old.expires_at - old.created_at;
	if (ttl > cfg->api_key_max_ttl)
		ttl = cfg->api_key_max_ttl;
	if (overlap < 0)
		overlap = cfg->api_key_rotate_overlap;
	old_end = now + overlap; /* the store keeps the earlier of the two */
	rq = (struct apikey_request){ .owner_id = old.owner_id,
		.scopes = old.scopes,
		.resource_id = old.resource_id,
		.name = old.name,
		.ttl = ttl };
	r = insert_new(db, &rq, now, ttl, old.key_id, old_end, out, key);
	store_api_key_clear(&old);
	return r;
}

/* 0 when k is usable at now (not revoked, not expired, owner alive). */
static int
row_live(struct db *db, const struct store_api_key *k, int64_t now,
    enum apikey_refusal *why)
{
	int r;

	if (k->revoked_at != 0) {
		*why = APIKEY_REVOKED;
		return PC_ERR_VERIFY;
	}
	if (now >= k->expires_at) {
		*why = APIKEY_EXPIRED;
		return PC_ERR_VERIFY;
	}
	r = owner_live(db, k->owner_id, now);
	if (r == PC_ERR_VERIFY)
		*why = APIKEY_OWNER_DEAD;
	return r;
}

/* Reads the row of parts and checks the secret; 0, PC_ERR_VERIFY
 * (unknown id or wrong secret) or a store error. */
static int
match(
    struct db *db, const struct apikey_parts *parts, struct store_api_key *out)
{
	char h[PC_SHA256_HEX_LEN + 1];
	bool same;
	int r;

	r = store_api_key_get(db, parts->key_id, out);
	if (r == PC_ERR_NOT_FOUND)
		return PC_ERR_VERIFY;
	if (r != 0)
		return PC_ERR_STORE;
	apikey_secret_hash(parts->secret, h);
	same = sodium_memcmp(h, out->secret_hash, PC_SHA256_HEX_LEN) == 0 &&
	    strcmp(out->kind, apikey_kind_tag(parts->kind)) == 0;
	sodium_memzero(h, sizeof(h));
	if (!same) {
		store_api_key_clear(out);
		return PC_ERR_VERIFY;
	}
	return 0;
}

int
apikey_verify(struct db *db, const struct config *cfg, const char *key,
    size_t len, const char *ip, int64_t now, struct store_api_key *out,
    struct apikey_use *use)
{
	struct apikey_parts parts;
	bool written = false;
	int r;

	memset(out, 0, sizeof(*out));
	memset(use, 0, sizeof(*use));
	/* AK-03: format and checksum before any store access. */
	if (apikey_parse(key, len, &parts) != 0) {
		use->refusal = APIKEY_MALFORMED;
		return PC_ERR_VERIFY;
	}
	r = match(db, &parts, out);
	apikey_parts_wipe(&parts);
	if (r == PC_ERR_VERIFY)
		use->refusal = APIKEY_UNKNOWN;
	if (r == 0)
		r = row_live(db, out, now, &use->refusal);
	if (r != 0) {
		store_api_key_clear(out);
		return r == PC_ERR_VERIFY ? r : PC_ERR_STORE;
	}
	if (out->last_used_at != 0 &&
	    now - out->last_used_at < cfg->api_key_use_interval)
		return 0;
	/* At most once per interval, however many nodes race. */
	if (store_api_key_touch(db, out->key_id, now, ip,
		cfg->api_key_use_interval, &written) != 0) {
		log_msg(
		    LOG_WARN, "api_key.touch_failed", "last use not recorded");
		return 0;
	}
	use->audit_use = written &&
	    (out->last_used_at == 0 || out->last_used_at / DAY != now / DAY);
	return 0;
}

int
apikey_live(struct db *db, const char *public_id, int64_t now)
{
	struct store_api_key k;
	enum apikey_refusal why = APIKEY_OK;
	int r;

	r = apikey_get(db, public_id, &k);
	if (r == PC_ERR_NOT_FOUND)
		return PC_ERR_VERIFY;
	if (r != 0)
		return PC_ERR_STORE;
	r = row_live(db, &k, now, &why);
	store_api_key_clear(&k);
	return r == 0 || r == PC_ERR_VERIFY ? r : PC_ERR_STORE;
}

int
apikey_revoke_exposed(struct db *db, const char *key, size_t len, int64_t now,
    const char *reason, char public_id[APIKEY_PUBLIC_ID_LEN + 1],
    enum apikey_exposure *found, char **owner_id)
{
	struct apikey_parts parts;
	struct store_api_key k;
	bool changed = false;
	int r;

	public_id[0] = '\0';
	*found = APIKEY_EXPOSED_NOT_A_KEY;
	if (owner_id != NULL)
		*owner_id = NULL;
	if (apikey_parse(key, len, &parts) != 0)
		return 0;
	apikey_public_id(parts.key_id, public_id);
	r = match(db, &parts, &k);
	apikey_parts_wipe(&parts);
	if (r == PC_ERR_VERIFY) {
		*found = APIKEY_EXPOSED_UNKNOWN; /* the secret is not ours */
		return 0;
	}
	if (r != 0)
		return r;
	r = store_api_key_revoke(db, k.key_id, now, reason, &changed);
	if (r == 0) {
		*found =
		    changed ? APIKEY_EXPOSED_REVOKED : APIKEY_EXPOSED_ALREADY;
		if (owner_id != NULL)
			*owner_id = xstrdup(k.owner_id);
	}
	store_api_key_clear(&k);
	return r;
}
