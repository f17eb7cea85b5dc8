/*
 * The store's forward-auth tables (migration 0036; issue 17 item 5,
 * decision 0075): protected hosts and their rules, the one-time codes of
 * the sign-in dance, and the per-host sessions. Included at the end of
 * store.h. The rules live in src/auth/fwdauth.c.
 */
#ifndef PC_STORE_FWDAUTH_H
#define PC_STORE_FWDAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* ---- Forward-auth (store/fwdauth.c) ---- */

struct store_fwd_rule {
	char *host;
	char *path_prefix;
	char *access; /* "public" or "signed_in" */
	char *groups; /* "" or names separated by single spaces */
	bool mfa;
	int64_t created_at;
};

void store_fwd_rules_free(struct store_fwd_rule *v, size_t n);
/* Inserts or replaces the rule for (host, path_prefix). */
int store_fwd_rule_put(struct db *db, const struct store_fwd_rule *r) PC_WUR;
/* PC_ERR_NOT_FOUND when there is no such rule. */
int store_fwd_rule_delete(
    struct db *db, const char *host, const char *path_prefix) PC_WUR;
/* host's rules (host NULL: every rule), by host then path_prefix. */
int store_fwd_rules_list(struct db *db, const char *host,
    struct store_fwd_rule **out, size_t *n) PC_WUR;
/* 0 when host has at least one rule, PC_ERR_NOT_FOUND when none. */
int store_fwd_host_declared(struct db *db, const char *host) PC_WUR;

struct store_fwd_code {
	char code_hash[PC_SHA256_HEX_LEN + 1];
	char *host;
	char session_hash[PC_SHA256_HEX_LEN + 1];
	char state_hash[PC_SHA256_HEX_LEN + 1];
	char *user_id;
	char *rd;
	int64_t expires_at;
};

void store_fwd_code_clear(struct store_fwd_code *c);
int store_fwd_code_put(struct db *db, const struct store_fwd_code *c) PC_WUR;
/*
 * Deletes and returns the live code (now < expires_at) named by
 * code_hash: exactly one caller gets it, whatever it then decides.
 */
int store_fwd_code_take(struct db *db, const char *code_hash, int64_t now,
    struct store_fwd_code *out) PC_WUR;

/* A per-host session, read together with the issuer session and user it
 * hangs on. */
struct store_fwd_session {
	char id_hash[PC_SHA256_HEX_LEN + 1];
	char session_hash[PC_SHA256_HEX_LEN + 1];
	char *host;
	char *user_id;
	int64_t created_at;
	int64_t last_seen_at;
	int64_t expires_at;
	/* Filled by store_fwd_session_get only. */
	char *parent_user_id; /* NULL: a pre-session or pending step */
	int64_t parent_created_at;
	int64_t parent_last_seen_at;
	int64_t parent_expires_at;
	char *parent_amr;
	char *email;
	bool user_disabled;
};

void store_fwd_session_clear(struct store_fwd_session *s);
/*
 * Inserts s; in the same transaction deletes the row replace_hash names
 * (NULL: none; the browser's earlier session for the host, SS-01).
 */
int store_fwd_session_put(struct db *db, const struct store_fwd_session *s,
    const char *replace_hash) PC_WUR;
/*
 * The per-host session id_hash names, joined with its issuer session and
 * its user. PC_ERR_NOT_FOUND when it, its issuer session or its user is
 * gone.
 */
int store_fwd_session_get(
    struct db *db, const char *id_hash, struct store_fwd_session *out) PC_WUR;
/* last_seen_at = now on the per-host session and its issuer session, in
 * one transaction (never moves back). */
int store_fwd_session_touch(struct db *db, const char *id_hash,
    const char *session_hash, int64_t now) PC_WUR;
/* PC_ERR_NOT_FOUND when absent. */
int store_fwd_session_delete(struct db *db, const char *id_hash) PC_WUR;
/*
 * DS-04: deletes expired codes, per-host sessions past their absolute
 * end or idle for idle_timeout, and those whose issuer session is gone.
 */
int store_fwd_purge(
    struct db *db, int64_t now, int64_t idle_timeout, int64_t *deleted) PC_WUR;

/* ---- end Forward-auth ---- */

#endif
