/*
 * auth/user_admin.c: what an operator does to accounts — read them with
 * their dates, page through them, change name, email and verified state,
 * end every session, delete (issue 17: the CLI's `portcullis user` and
 * the admin API's /users call these, neither the store).
 */
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/user_admin.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "store/store_oauth.h"

void
user_record_clear(struct user_record *u)
{
	free(u->id);
	free(u->email);
	free(u->name);
	memset(u, 0, sizeof(*u));
}

void
user_records_free(struct user_record *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		user_record_clear(&v[i]);
	free(v);
}

int
user_has_password(struct db *db, const char *user_id, bool *has)
{
	char *phc = NULL;
	int r = store_password_get(db, user_id, &phc);

	/* Only whether it exists: the hash is wiped at once. */
	pc_freezero_str(phc);
	*has = r == 0;
	return r == PC_ERR_NOT_FOUND ? 0 : r;
}

/* Moves su's strings into out, and reads whether it has a password. */
static int
record_from(struct db *db, struct store_user *su, struct user_record *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->id = su->id;
	out->email = su->email;
	out->name = su->name != NULL ? su->name : xstrdup("");
	out->email_verified = su->email_verified;
	out->created_at = su->created_at;
	out->updated_at = su->updated_at;
	out->disabled_at = su->disabled_at;
	su->id = su->email = su->name = NULL;
	store_user_clear(su);
	if ((r = user_has_password(db, out->id, &out->has_password)) != 0)
		user_record_clear(out);
	return r;
}

int
user_record_get(struct db *db, const char *user_id, struct user_record *out)
{
	struct store_user su;
	int r;

	memset(out, 0, sizeof(*out));
	if (user_id == NULL)
		return PC_ERR_NOT_FOUND;
	if ((r = store_user_get(db, user_id, &su)) != 0)
		return r;
	return record_from(db, &su, out);
}

int
user_record_find(
    struct db *db, const char *id, const char *email, struct user_record *out)
{
	struct store_user su;
	int r;

	memset(out, 0, sizeof(*out));
	if (id != NULL)
		return user_record_get(db, id, out);
	if (email == NULL)
		return PC_ERR_NOT_FOUND;
	if ((r = store_user_get_by_email(db, email, &su)) != 0)
		return r;
	return record_from(db, &su, out);
}

/* The records of rows v[0..n); v is freed. */
static int
records_of(
    struct db *db, struct store_user *v, size_t n, struct user_record **out)
{
	int r = 0;

	*out = n > 0 ? xcalloc(n, sizeof(**out)) : NULL;
	for (size_t i = 0; i < n; i++)
		if (r == 0)
			r = record_from(db, &v[i], &(*out)[i]);
	store_users_free(v, n);
	if (r != 0) {
		user_records_free(*out, n);
		*out = NULL;
	}
	return r;
}

int
user_record_list(struct db *db, struct user_record **out, size_t *n)
{
	struct store_user *v = NULL;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = store_users_list(db, &v, n)) != 0)
		return r;
	if ((r = records_of(db, v, *n, out)) != 0)
		*n = 0;
	return r;
}

int
user_record_page(struct db *db, const char *after, int64_t limit,
    struct user_record **out, size_t *n)
{
	struct store_user *v = NULL;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = store_users_page(db, after, limit, &v, n)) != 0)
		return r;
	if ((r = records_of(db, v, *n, out)) != 0)
		*n = 0;
	return r;
}

int
user_update(struct db *db, const char *user_id, const char *name,
    const char *email, int verified, int64_t now)
{
	if ((name != NULL && !user_name_valid(name)) ||
	    (email != NULL && !user_email_valid(email)))
		return PC_ERR_INVALID;
	return store_user_update(db, user_id, name, email, verified, now);
}

int
user_delete(struct db *db, const char *user_id, int64_t now)
{
	return store_user_delete(db, user_id, now);
}

int
user_sign_out(struct db *db, const char *user_id, const char *only_hash,
    int64_t now, int64_t *ended, int64_t *families)
{
	int r;

	/* SS-07, RT-05: the sessions and the refresh families issued from
	 * them, in one transaction ("" keeps none). */
	r = store_sessions_end(
	    db, user_id, only_hash, "", now, ended, families);
	/* LG-03: after an operator's sign-out of everything, no browser
	 * stays a known device of the account. */
	if (r == 0 && only_hash == NULL)
		r = device_cookies_revoke(db, user_id, NULL, NULL);
	return r;
}

int
user_password_set_phc(
    struct db *db, const char *user_id, const char *phc, int64_t now)
{
	int r;

	/* Every session ends with the old password (as a reset, RS-08). */
	if ((r = store_password_set(db, user_id, phc, NULL, now)) != 0)
		return r;
	/* LG-03: no browser stays a known device of the account. */
	return device_cookies_revoke(db, user_id, NULL, NULL);
}
