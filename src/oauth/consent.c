/*
 * Consent (issue 4; SECURITY.md CF-03): a client that is not first-party
 * gets the consent page unless the user already allowed it every scope now
 * requested. Granting stores the union of what was allowed before and now,
 * so asking again for a subset never re-prompts.
 */
#include <stdlib.h>
#include <string.h>

#include "oauth/oauth.h"
#include "store/store.h"

int
consent_covers(struct db *db, const char *user_id, const char *client_id,
    const struct scope_set *want, bool *covered)
{
	struct scope_set have;
	char *scope = NULL;
	int r;

	*covered = false;
	r = store_consent_get(db, user_id, client_id, &scope);
	if (r == PC_ERR_NOT_FOUND)
		return 0;
	if (r != 0)
		return r;
	if (scope_parse(scope, &have) == 0) {
		*covered = scope_subset(want, &have);
		scope_set_free(&have);
	}
	free(scope);
	return 0;
}

int
consent_grant(struct db *db, const char *user_id, const char *client_id,
    const struct scope_set *granted, int64_t now)
{
	struct scope_set all = { { NULL }, 0 };
	struct buf b;
	char *old = NULL;
	int r;

	/* The union of before and now, in order of first grant. */
	if (store_consent_get(db, user_id, client_id, &old) == 0 &&
	    scope_parse(old, &all) != 0)
		all.n = 0;
	free(old);
	for (size_t i = 0; i < granted->n; i++) {
		if (scope_has(&all, granted->v[i]))
			continue;
		if (all.n == SCOPE_MAX) {
			scope_set_free(&all);
			return PC_ERR_TOO_LARGE;
		}
		all.v[all.n++] = xstrdup(granted->v[i]);
	}
	buf_init(&b, SCOPE_STRING_MAX + SCOPE_MAX * (SCOPE_TOKEN_MAX + 1));
	r = scope_format(&all, &b);
	if (r == 0)
		r = store_consent_put(
		    db, user_id, client_id, buf_cstr(&b), now);
	buf_free(&b);
	scope_set_free(&all);
	return r;
}
