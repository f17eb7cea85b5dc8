/*
 * auth/user_admin.h: accounts as an operator sees and changes them
 * (src/auth/user_admin.c; issue 17): the CLI's `portcullis user` and the
 * admin API's /users and sessions call these, neither the store.
 */
#ifndef PC_AUTH_USER_ADMIN_H
#define PC_AUTH_USER_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct db;

/* An account with its dates; user_record_clear frees it. */
struct user_record {
	char *id;
	char *email;
	char *name; /* "" when none */
	bool email_verified;
	bool has_password;
	int64_t created_at;
	int64_t updated_at;
	int64_t disabled_at; /* 0: not disabled */
};
void user_record_clear(struct user_record *u);
void user_records_free(struct user_record *v, size_t n);
/* Whether user_id has a password (the hash is never kept). */
int user_has_password(struct db *db, const char *user_id, bool *has) PC_WUR;
/* By id; PC_ERR_NOT_FOUND. */
int user_record_get(
    struct db *db, const char *user_id, struct user_record *out) PC_WUR;
/* By id when not NULL, else by email in any case; PC_ERR_NOT_FOUND. */
int user_record_find(struct db *db, const char *id, const char *email,
    struct user_record *out) PC_WUR;
/* Every account, oldest first. */
int user_record_list(struct db *db, struct user_record **out, size_t *n) PC_WUR;
/* At most limit accounts whose id sorts after after (NULL: the first),
 * by id. */
int user_record_page(struct db *db, const char *after, int64_t limit,
    struct user_record **out, size_t *n) PC_WUR;
/*
 * Changes what is not NULL (verified: 1, 0, or -1 to leave it); a new
 * email is unverified unless verified is 1, and links mailed to the old
 * one stop working (RS-03). PC_ERR_INVALID for a bad name or email or
 * nothing to change; PC_ERR_CONFLICT when the email belongs to another
 * user; PC_ERR_NOT_FOUND.
 */
int user_update(struct db *db, const char *user_id, const char *name,
    const char *email, int verified, int64_t now) PC_WUR;
/* Deletes the user and its credentials; the id is never given out again.
 * PC_ERR_NOT_FOUND. */
int user_delete(struct db *db, const char *user_id, int64_t now) PC_WUR;
/*
 * SS-07, RT-05: an operator ends user_id's sessions (only the one whose
 * id hash is only_hash, when not NULL) and the refresh-token families
 * issued from them; ending all also forgets the user's known devices
 * (LG-03). *ended / *families may be NULL. PC_ERR_NOT_FOUND when
 * only_hash names no session of the user.
 */
int user_sign_out(struct db *db, const char *user_id, const char *only_hash,
    int64_t now, int64_t *ended, int64_t *families) PC_WUR;
/*
 * An operator's new password for user_id, judged (user_pw_check) and
 * hashed (the pool) already: in one transaction phc becomes the password
 * and every session ends; then every device cookie goes (LG-03).
 * PC_ERR_NOT_FOUND.
 */
int user_password_set_phc(
    struct db *db, const char *user_id, const char *phc, int64_t now) PC_WUR;

#endif
