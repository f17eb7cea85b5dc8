/*
 * Users: email syntax, opaque ids, creation with an optional password,
 * the handlers' view of a user (struct user), password changes, resets
 * and upgrades, and disabling. The id becomes the OIDC sub (OI-07):
 * "usr_" + 22 base64url characters of 128 random bits, never derived from
 * the email and never reused (the store keeps tombstones of deleted ids).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "crypto/crypto.h"
#include "jose/jose.h"
#include "store/store.h"
#include "util/log.h"

bool
user_email_valid(const char *email)
{
	size_t len, at = 0, ats = 0;
	const char *domain;
	size_t domain_len;

	if (email == NULL)
		return false;
	len = strnlen(email, USER_EMAIL_MAX + 1);
	if (len == 0 || len > USER_EMAIL_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)email[i];

		/* No space, no C0 control, no DEL. */
		if (c <= 0x20 || c == 0x7f)
			return false;
		if (c == '@') {
			at = i;
			ats++;
		}
	}
	if (ats != 1 || !str_is_utf8((struct str){ email, len }))
		return false;
	domain = email + at + 1;
	domain_len = len - at - 1;
	if (at == 0 || at > USER_EMAIL_LOCAL_MAX || domain_len == 0 ||
	    domain_len > USER_EMAIL_DOMAIN_MAX)
		return false;
	/* A dot inside the domain, not at either end. */
	if (domain[0] == '.' || domain[domain_len - 1] == '.' ||
	    memchr(domain, '.', domain_len) == NULL)
		return false;
	return true;
}

bool
user_name_valid(const char *name)
{
	size_t len;

	if (name == NULL)
		return false;
	len = strnlen(name, USER_NAME_MAX + 1);
	return len <= USER_NAME_MAX && str_is_text((struct str){ name, len });
}

void
user_id_new(char out[USER_ID_LEN + 1])
{
	uint8_t raw[USER_ID_RANDOM_BYTES];

	memcpy(out, USER_ID_PREFIX, sizeof(USER_ID_PREFIX) - 1);
	random_bytes(raw, sizeof(raw));
	b64url_encode(raw, sizeof(raw), out + sizeof(USER_ID_PREFIX) - 1);
	sodium_memzero(raw, sizeof(raw));
}

int
user_pw_check(const char *email, const char *name, const char *pw,
    size_t pw_len, bool has_mfa, struct pw_check *check)
{
	const char *at = strchr(email, '@');
	char *local = xstrndup(email, at != NULL ? (size_t)(at - email) : 0);
	const char *context[4];
	size_t n = 0;
	int r;

	context[n++] = local;
	if (name != NULL && name[0] != '\0')
		context[n++] = name;
	context[n++] = "portcullis";
	context[n] = NULL;
	r = pw_check(pw, pw_len, has_mfa, context, check);
	free(local);
	return r;
}

bool
user_has_mfa(struct db *db, const char *user_id)
{
	struct mfa_factors f;

	return mfa_factors_get(db, user_id, &f) == 0 && mfa_has_factor(&f);
}

/* user_pw_check, then the hash into phc. */
static int
check_and_hash(const struct pw_params *p, const char *email, const char *name,
    const char *pw, size_t pw_len, bool has_mfa, struct pw_check *check,
    char phc[128])
{
	int r = user_pw_check(email, name, pw, pw_len, has_mfa, check);

	if (r != 0)
		return r;
	if (check->verdict != PW_OK)
		return PC_ERR_INVALID;
	return pw_hash(p, pw, pw_len, phc);
}

int
user_create_with_password(struct db *db, const struct pw_params *p,
    const char *email, const char *name, bool verified, const char *pw,
    size_t pw_len, struct pw_check *check, struct store_user *out)
{
	struct store_user u;
	char id[USER_ID_LEN + 1];
	char phc[128];
	int64_t now = clock_now();
	int r;

	memset(out, 0, sizeof(*out));
	phc[0] = '\0';
	if (name == NULL)
		name = "";
	if (!user_email_valid(email) || !user_name_valid(name))
		return PC_ERR_INVALID;
	/* The password is judged and hashed before anything is stored. */
	if (pw != NULL &&
	    (r = check_and_hash(
		 p, email, name, pw, pw_len, false, check, phc)) != 0)
		goto out;
	user_id_new(id);
	u = (struct store_user){
		.id = id,
		.email = (char *)email,
		.email_verified = verified,
		.name = (char *)name,
		.created_at = now,
		.updated_at = now,
	};
	if ((r = store_user_insert(db, &u, pw != NULL ? phc : NULL)) != 0)
		goto out;
	r = store_user_get(db, id, out);
out:
	sodium_memzero(phc, sizeof(phc));
	return r;
}

int
user_create_with_hash(struct db *db, const char *email, const char *name,
    bool verified, const char *phc, int64_t now, char id[USER_ID_LEN + 1])
{
	struct store_user u;

	id[0] = '\0';
	if (name == NULL)
		name = "";
	if (!user_email_valid(email) || !user_name_valid(name))
		return PC_ERR_INVALID;
	user_id_new(id);
	u = (struct store_user){
		.id = id,
		.email = (char *)email,
		.email_verified = verified,
		.name = (char *)name,
		.created_at = now,
		.updated_at = now,
	};
	return store_user_insert(db, &u, phc);
}

int
user_create(struct db *db, const char *email, const char *name, bool verified,
    struct store_user *out)
{
	return user_create_with_password(
	    db, NULL, email, name, verified, NULL, 0, NULL, out);
}

int
user_set_password(struct db *db, const struct pw_params *p, const char *user_id,
    const char *pw, size_t pw_len, struct pw_check *check)
{
	struct store_user u;
	char phc[128];
	int r;

	phc[0] = '\0';
	if ((r = store_user_get(db, user_id, &u)) != 0)
		return r;
	if ((r = check_and_hash(p, u.email, u.name, pw, pw_len,
		 user_has_mfa(db, user_id), check, phc)) == 0)
		/* Every session of the user ends with the old password; the
		 * account page will keep the caller's own session. */
		r = store_password_set(db, user_id, phc, NULL, clock_now());
	sodium_memzero(phc, sizeof(phc));
	store_user_clear(&u);
	return r;
}

int
user_disable(struct db *db, const char *user_id, int64_t now)
{
	/*
	 * SS-08: disabling revokes the user's sessions at once, in the same
	 * transaction as the disabled_at change. The user's API keys (and
	 * the tokens exchanged from them) die through the liveness check,
	 * which asks whether the owner is disabled at every use
	 * (machine_principal_live), so no row needs changing here.
	 */
	return store_user_disable_and_revoke(db, user_id, now);
}

int
user_enable(struct db *db, const char *user_id, int64_t now)
{
	return store_user_set_disabled(db, user_id, 0, now);
}

/* ---- The handlers' view of a user, and their password operations ---- */

void
user_clear(struct user *u)
{
	free(u->id);
	free(u->email);
	free(u->name);
	memset(u, 0, sizeof(*u));
}

/* Moves the row's strings into out. */
static void
from_store(struct store_user *su, struct user *out)
{
	out->id = su->id;
	out->email = su->email;
	out->name = su->name != NULL ? su->name : xstrdup("");
	out->email_verified = su->email_verified;
	out->disabled = su->disabled_at != 0;
	su->id = su->email = su->name = NULL;
	store_user_clear(su);
}

int
user_get(struct db *db, const char *user_id, struct user *out)
{
	struct store_user su;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&su, 0, sizeof(su));
	if (user_id == NULL)
		return PC_ERR_NOT_FOUND;
	if ((r = store_user_get(db, user_id, &su)) != 0) {
		store_user_clear(&su);
		return r;
	}
	from_store(&su, out);
	return 0;
}

int
user_find_by_email(struct db *db, const char *email, struct user *out)
{
	struct store_user su;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&su, 0, sizeof(su));
	if (email == NULL)
		return PC_ERR_NOT_FOUND;
	if ((r = store_user_get_by_email(db, email, &su)) != 0) {
		store_user_clear(&su);
		return r;
	}
	from_store(&su, out);
	return 0;
}

char *
user_email_key(const char *email)
{
	return store_email_key(email);
}

int
user_password_phc(struct db *db, const char *user_id, char **phc)
{
	*phc = NULL;
	return store_password_get(db, user_id, phc);
}

int
user_password_upgrade(struct db *db, const char *user_id, const char *old_phc,
    const char *new_phc, int64_t now)
{
	return store_password_rehash(db, user_id, old_phc, new_phc, now);
}

int
user_password_change(struct db *db, const struct session *s, const char *phc,
    const char *keep_device, int64_t now)
{
	int r;

	if (s->user_id == NULL || s->id_hash[0] == '\0')
		return PC_ERR_INVALID;
	/* The new hash, and every other session ends, in one transaction. */
	if ((r = store_password_set(db, s->user_id, phc, s->id_hash, now)) != 0)
		return r;
	/* Like the other sessions, the other browsers' device cookies go
	 * (LG-03); this browser's stays. */
	if (device_cookies_revoke(db, s->user_id, keep_device, NULL) != 0)
		log_msg(LOG_WARN, "auth.device", "device cookies kept");
	return 0;
}

int
user_password_reset(struct db *db, const char *user_id, const char *sent_to,
    const char *phc, int64_t now)
{
	struct store_user u;
	char *key;
	int r;

	/* RS-08: every session ends with the old password. */
	if ((r = store_password_set(db, user_id, phc, NULL, now)) != 0)
		return r;
	memset(&u, 0, sizeof(u));
	if (store_user_get(db, user_id, &u) != 0) {
		store_user_clear(&u);
		return 0;
	}
	/* The link proved the mailbox: the address is verified. */
	if (!u.email_verified && sent_to != NULL &&
	    strcmp(u.email, sent_to) == 0 &&
	    store_user_set_verified(db, user_id, true, now) != 0)
		log_msg(LOG_WARN, "auth.reset", "not marked verified");
	/* LG-04: a completed reset is what unlocks the account. */
	key = store_email_key(u.email);
	if (throttle_login_success(db, key) != 0)
		log_msg(LOG_WARN, "auth.throttle", "reset not recorded");
	free(key);
	/* LG-03: every device cookie of the account goes. */
	if (device_cookies_revoke(db, user_id, NULL, NULL) != 0)
		log_msg(LOG_WARN, "auth.device", "device cookies kept");
	store_user_clear(&u);
	return 0;
}
