/*
 * The fixture the OAuth store tests share: a migrated store (SQLite in a
 * temp dir, or PORTCULLIS_TEST_STORE_URL: see store_url.h) with one user (alice) and two confidential clients (pcc_app,
 * pcc_other). Included by test_codes.c, test_refresh.c, test_consents.c.
 */
#ifndef PC_TEST_OAUTH_FIXTURE_H
#define PC_TEST_OAUTH_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "auth/auth.h"
#include "store/store.h"
#include "store_fixture.h"

struct fixture {
	char dir[64];
	struct db *db;
	struct store_user alice;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct db_conn *c;

	if (f == NULL)
		return -1;
	if (store_fixture_new(f->dir, true, &f->db) != 0 ||
	    user_create(f->db, "alice@example.com", "Alice", true, &f->alice) !=
		0 ||
	    db_conn(f->db, &c) != 0 ||
	    db_exec(c,
		"INSERT INTO clients (client_id, name, is_public,"
		" token_endpoint_auth_method, grant_types, scopes,"
		" id_token_signed_response_alg, first_party, created_at,"
		" updated_at) VALUES"
		" ('pcc_app', 'App', 0, 'client_secret_basic',"
		" 'authorization_code', 'openid', 'RS256', 0, 1, 1),"
		" ('pcc_other', 'Other', 0, 'client_secret_basic',"
		" 'authorization_code', 'openid', 'RS256', 0, 1, 1)") != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_user_clear(&f->alice);
	if (store_fixture_close(f->dir, f->db) != 0)
		return -1;
	free(f);
	return 0;
}

#endif
