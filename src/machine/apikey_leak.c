/*
 * Leak response for API keys (issue 14 item 4; SECURITY.md AK-02):
 * `portcullis api-key revoke-leaked` hands a text (a paste, a log, a
 * repository dump) to apikey_revoke_leaked(), which finds every string
 * in the key format (the same scanner secret-scanning tools use), drops
 * those whose checksum fails, and revokes every one whose secret matches
 * a key of ours. The format and the checksum are public, so a look-alike
 * revokes nothing: only the secret's hash decides. The owners to tell
 * are resolved here too (apikey_owner_addresses): a user; for a service
 * account, its owning user, or every user member of its owning group,
 * at most ADDRESSES_MAX; an account without an owner has nobody (the
 * CLI says so, and the audit log has the revocation).
 */
#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"
#include "store/q.h"
#include "store/store.h"

void
apikey_leak_report_free(struct apikey_leak_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].owner_id);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

struct leak_scan {
	struct db *db;
	int64_t now;
	struct apikey_leak_report *out;
	size_t cap;
	int rc;
};

static bool
seen(const struct apikey_leak_report *r, const char *id)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].id, id) == 0)
			return true;
	return false;
}

static int
on_candidate(const char *p, size_t n, void *arg)
{
	struct leak_scan *s = arg;
	struct apikey_leak_hit *h;
	char id[APIKEY_PUBLIC_ID_LEN + 1];
	enum apikey_exposure found;
	char *owner = NULL;
	int r;

	r = apikey_revoke_exposed(
	    s->db, p, n, s->now, "leaked", id, &found, &owner);
	if (r != 0) {
		s->rc = r;
		return 1;
	}
	if (found == APIKEY_EXPOSED_NOT_A_KEY) {
		s->out->checksum_failed++;
		return 0;
	}
	if (seen(s->out, id)) {
		free(owner); /* the same key twice: the first answer stands */
		return 0;
	}
	h = Q_GROW(s->out->v, s->out->n, s->cap);
	memcpy(h->id, id, sizeof(h->id));
	h->found = found;
	h->owner_id = owner;
	return 0;
}

int
apikey_revoke_leaked(struct db *db, const char *text, size_t len, int64_t now,
    struct apikey_leak_report *out)
{
	struct leak_scan s = { .db = db, .now = now, .out = out };

	memset(out, 0, sizeof(*out));
	(void)apikey_scan(text, len, on_candidate, &s);
	/* What was revoked before the store failed stays revoked and is
	 * reported; the caller says the scan is incomplete. */
	return s.rc;
}

#define ADDRESSES_MAX 50 /* mails about one owner's keys */

/* Appends user_id's address (a deleted user has none). */
static int
add_user(struct db *db, const char *user_id, char ***v, size_t *n, size_t *cap)
{
	struct store_user u;
	char **slot;
	int r;

	if (principal_kind(user_id) != PRINCIPAL_USER || *n >= ADDRESSES_MAX)
		return 0;
	r = store_user_get(db, user_id, &u);
	if (r == PC_ERR_NOT_FOUND)
		return 0;
	if (r != 0)
		return r;
	slot = Q_GROW(*v, *n, *cap);
	*slot = xstrdup(u.email);
	store_user_clear(&u);
	return 0;
}

int
apikey_owner_addresses(
    struct db *db, const char *owner_id, char ***out, size_t *n)
{
	struct store_service_account sa;
	char **members = NULL;
	size_t cap = 0, n_members = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (principal_kind(owner_id) == PRINCIPAL_USER)
		return add_user(db, owner_id, out, n, &cap);
	if (principal_kind(owner_id) != PRINCIPAL_SERVICE_ACCOUNT)
		return 0;
	r = store_service_account_get(db, owner_id, &sa);
	if (r == PC_ERR_NOT_FOUND)
		return 0; /* deleted: nobody to tell */
	if (r != 0)
		return r;
	/* The owning user; or every user in the owning group (a group
	 * owns as a team: each member may be the one who acts). */
	if (sa.owner_id == NULL || sa.owner_id[0] == '\0')
		r = 0;
	else if (principal_kind(sa.owner_id) == PRINCIPAL_USER)
		r = add_user(db, sa.owner_id, out, n, &cap);
	else if ((r = store_group_members(
		      db, sa.owner_id, &members, &n_members)) == 0)
		for (size_t i = 0; r == 0 && i < n_members; i++)
			r = add_user(db, members[i], out, n, &cap);
	store_strv_free(members, n_members);
	store_service_account_clear(&sa);
	if (r != 0) {
		apikey_addresses_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return r;
}

void
apikey_addresses_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
