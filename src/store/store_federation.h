/*
 * The store's workload-federation tables (migration 0025; issue 14 item
 * 5): trusted external issuers, their claim rules, and the replay cache
 * of exchanged subject tokens. Included from store.h. Validation lives in
 * src/machine/federation.c.
 */
#ifndef PC_STORE_FEDERATION_H
#define PC_STORE_FEDERATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* ---- Workload federation (store/federation.c) ---- */

/* One rule: sub pattern and claims -> service account (+ scopes). */
struct store_wif_rule {
	int64_t rule_no;	  /* 1, 2, ... in the order they are tried */
	char *sub_pattern;	  /* exact, or '*' wildcards (anchored) */
	char *claims;		  /* JSON object of name -> string */
	char *service_account_id; /* svc_... */
	char *scopes;		  /* space-separated; NULL: no narrowing */
	int64_t created_at;
};

struct store_wif_trust {
	char *trust_id; /* wif_... */
	char *issuer;
	char *jwks;	/* inline JWKS, or NULL */
	char *jwks_uri; /* https URL, or NULL (exactly one is set) */
	char *audience;
	char *algs;	      /* space-separated JOSE names */
	int64_t max_lifetime; /* seconds */
	int64_t created_at;
	struct store_wif_rule *rules; /* by rule_no */
	size_t n_rules;
};

void store_wif_trust_clear(struct store_wif_trust *t);
void store_wif_trusts_free(struct store_wif_trust *v, size_t n);

/* Inserts t (its rules are ignored). PC_ERR_CONFLICT when the id or the
 * issuer is taken. */
int store_wif_trust_add(struct db *db, const struct store_wif_trust *t) PC_WUR;
/* The trust with its rules; PC_ERR_NOT_FOUND when there is none. */
int store_wif_trust_get(
    struct db *db, const char *trust_id, struct store_wif_trust *out) PC_WUR;
int store_wif_trust_by_issuer(
    struct db *db, const char *issuer, struct store_wif_trust *out) PC_WUR;
/* 0 when the trust is configured, PC_ERR_NOT_FOUND when not. */
int store_wif_trust_exists(struct db *db, const char *trust_id) PC_WUR;
/* Every trust with its rules, oldest first. */
int store_wif_trusts_list(
    struct db *db, struct store_wif_trust **out, size_t *n) PC_WUR;
/* Deletes the trust, its rules and its replay rows in one transaction;
 * PC_ERR_NOT_FOUND when there is none. */
int store_wif_trust_delete(struct db *db, const char *trust_id) PC_WUR;

/* Appends a rule after the trust's last one; *rule_no gets its number.
 * PC_ERR_NOT_FOUND when the trust is not there. */
int store_wif_rule_add(struct db *db, const char *trust_id,
    const struct store_wif_rule *rule, int64_t now, int64_t *rule_no) PC_WUR;
/* PC_ERR_NOT_FOUND when the trust has no such rule. */
int store_wif_rule_remove(
    struct db *db, const char *trust_id, int64_t rule_no) PC_WUR;

/*
 * TX-05: records the use of a subject token's jti (jti_hash: its SHA-256
 * hex) for the trust, until expires_at, in one atomic statement: 0 when
 * new (or its earlier row had expired), PC_ERR_CONFLICT for a replay.
 */
int store_wif_jti_use(struct db *db, const char *trust_id, const char *jti_hash,
    int64_t expires_at, int64_t now) PC_WUR;
/* DS-04: deletes replay rows with expires_at <= now. */
int store_wif_jtis_purge(struct db *db, int64_t now, int64_t *deleted) PC_WUR;

/* ---- end Workload federation ---- */

#endif
