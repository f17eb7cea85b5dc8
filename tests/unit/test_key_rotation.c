/*
 * Unit tests for keys that rotate themselves (issue 17, item 6; decision
 * 0076): signer_auto_rotate() (crypto/signer_auto.c) and the store steps
 * under it (store/keys.c, migration 0034), on SQLite and PostgreSQL, and
 * under fault injection (scripts/torture.sh: no half step survives a
 * failed store call). Two signers on one store stand for two nodes.
 *
 * JW-09: the successor is published before it signs, the old key stops
 * signing when it activates and leaves the JWKS only once every token it
 * signed has expired. AU-01: each step writes one audit row, in its own
 * transaction, once across nodes; a failed audit row undoes the step.
 *
 * The clock is the `now` passed in; no test depends on the wall clock.
 * One test (PostgreSQL only) holds a table lock to slow a reload down.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>

#include "audit/audit.h"
#include "crypto/crypto.h"
#include "store_fixture.h"
#include "store/q.h"
#include "store/store.h"
#include "util/log.h"

#define T0 INT64_C(2000000000)
#define DELAY 600  /* signing_key_activation_delay */
#define TTL 420	   /* id_token_ttl, the longest lifetime */
#define MARGIN 30  /* signing_key_unpublish_margin */
#define EVERY 3600 /* signing_key_rotate_every */
#define LEAD (EVERY - DELAY)
#define HOLD (TTL + MARGIN)

struct fixture {
	char dir[64];
	char mk_path[128];
	struct config cfg;
	struct masterkey *mk;
	struct db *db;
	struct signer *s, *s2; /* two nodes on one store */
	uint8_t audit_key[32];
	int fail_hook; /* the audit hook fails with this (0: writes) */
	struct store_key_hook hook;
};

static void
cfg_set(struct config *c, const char *name, const char *value)
{
	char err[256] = "";

	if (config_set(c, name, value, CONFIG_SRC_FLAG, err, sizeof(err)) != 0)
		fail_msg("config_set %s: %s", name, err);
}

static int
audit_hook(struct db_conn *c, void *arg, enum store_key_step step,
    const char *kid, const char *successor)
{
	struct fixture *f = arg;
	static const char *const events[] = { "key.auto_rotated", "key.retired",
		"key.dropped" };
	struct audit_event ev;

	if (f->fail_hook != 0)
		return f->fail_hook;
	memset(&ev, 0, sizeof(ev));
	ev.event = events[step];
	ev.outcome = "success";
	ev.actor = "server";
	ev.target = successor != NULL ? successor : kid;
	return audit_append_tx(c, f->audit_key, &ev);
}

/* The fixture, with one key per alg of algs, each active from T0. */
static int
setup_algs(void **state, const enum jose_alg *algs, size_t nalgs)
{
	struct fixture *f = calloc(1, sizeof(*f));
	enum masterkey_source src;
	char err[512] = "", num[32];

	if (f == NULL)
		return -1;
	unsetenv("PORTCULLIS_MASTER_KEY");
	if (store_fixture_dir(f->dir) != 0) {
		free(f);
		return -1;
	}
	snprintf(f->mk_path, sizeof(f->mk_path), "%s/master.key", f->dir);
	config_defaults(&f->cfg);
	cfg_set(&f->cfg, "data_dir", f->dir);
	cfg_set(&f->cfg, "rsa_key_bits", "2048");
	snprintf(num, sizeof(num), "%d", DELAY);
	cfg_set(&f->cfg, "signing_key_activation_delay", num);
	snprintf(num, sizeof(num), "%d", TTL);
	cfg_set(&f->cfg, "id_token_ttl", num);
	snprintf(num, sizeof(num), "%d", MARGIN);
	cfg_set(&f->cfg, "signing_key_unpublish_margin", num);
	snprintf(num, sizeof(num), "%d", EVERY);
	cfg_set(&f->cfg, "signing_key_rotate_every", num);
	if (config_finish(&f->cfg, err, sizeof(err)) != 0 ||
	    masterkey_create_file(f->mk_path, err, sizeof(err)) != 0 ||
	    masterkey_load(&f->cfg, false, &f->mk, &src, err, sizeof(err)) !=
		0 ||
	    store_fixture_open(f->dir, true, &f->db) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	/* Made like `key rotate` at T0 - DELAY: active from T0. */
	for (size_t i = 0; i < nalgs; i++) {
		char kid[64];

		if (signer_rotate(
			f->db, f->mk, &f->cfg, algs[i], T0 - DELAY, kid) != 0)
			return -1;
	}
	if (signer_open(f->db, f->mk, &f->cfg, false, T0, &f->s) != 0 ||
	    signer_open(f->db, f->mk, &f->cfg, false, T0, &f->s2) != 0)
		return -1;
	audit_key(f->mk, f->audit_key);
	f->hook.fn = audit_hook;
	f->hook.arg = f;
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	static const enum jose_alg both[] = { JOSE_ALG_ES256, JOSE_ALG_RS256 };

	return setup_algs(state, both, PC_NELEM(both));
}

/*
 * The ES256 key only: RSA keygen is most of what a test costs, and the
 * fault-injection runs replay each test many times.
 */
static int
setup_es(void **state)
{
	static const enum jose_alg es[] = { JOSE_ALG_ES256 };

	return setup_algs(state, es, PC_NELEM(es));
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	signer_free(f->s);
	signer_free(f->s2);
	masterkey_free(f->mk);
	config_free(&f->cfg);
	if (store_fixture_close(f->dir, f->db) != 0)
		return -1;
	free(f);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers */

static int64_t
count(struct fixture *f, const char *sql, const char *arg)
{
	struct db_conn *c;
	int64_t n = -1;

	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(
	    q_one(c, sql, Q_ARGS(QA_TEXT(arg)), Q_COLS(QC_INT(&n))), 0);
	return n;
}

/* Rows of event, chained or still pending (PostgreSQL, decision 0051). */
static int64_t
audits(struct fixture *f, const char *event)
{
	struct db_conn *c;
	int64_t n = -1;

	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(
	    q_one(c,
		"SELECT (SELECT count(*) FROM audit_log"
		" WHERE event = ?) + (SELECT count(*) FROM"
		" audit_pending WHERE event = ?)",
		Q_ARGS(QA_TEXT(event), QA_TEXT(event)), Q_COLS(QC_INT(&n))),
	    0);
	return n;
}

static int64_t
keys_of(struct fixture *f, const char *alg)
{
	return count(f, "SELECT count(*) FROM signing_keys WHERE alg = ?", alg);
}

/* The kid of the key of alg in state st at now (the last such one). */
static void
kid_in(struct signer *s, int64_t now, enum jose_alg alg,
    enum signer_key_state st, char kid[64])
{
	struct signer_key_info *v = NULL;
	size_t n = 0;

	kid[0] = '\0';
	assert_int_equal(signer_list(s, now, &v, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (v[i].alg == alg && v[i].state == st)
			memcpy(kid, v[i].kid, 64);
	free(v);
}

static bool
published(struct signer *s, int64_t now, const char *kid)
{
	char *doc = NULL;
	size_t len = 0;
	bool in;

	assert_int_equal(signer_jwks(s, now, &doc, &len), 0);
	in = strstr(doc, kid) != NULL;
	free(doc);
	return in;
}

/* The kid in the header of a token s signs with alg at now. */
static void
signing_kid(struct signer *s, int64_t now, enum jose_alg alg, char kid[64])
{
	json_t *claims = json_pack("{s:s}", "sub", "u1"), *hdr, *k;
	char *jwt = NULL;
	uint8_t raw[512];
	size_t n = 0;

	assert_int_equal(signer_sign_jwt(s, alg, "JWT", claims, now, &jwt), 0);
	json_decref(claims);
	assert_int_equal(b64url_decode(jwt, (size_t)(strchr(jwt, '.') - jwt),
			     raw, sizeof(raw), &n),
	    0);
	hdr = json_loadb((const char *)raw, n, 0, NULL);
	assert_non_null(hdr);
	k = json_object_get(hdr, "kid");
	assert_true(json_is_string(k));
	snprintf(kid, 64, "%s", json_string_value(k));
	json_decref(hdr);
	free(jwt);
}

static struct signer_auto_result
pass(struct fixture *f, struct signer *s, int64_t now)
{
	struct signer_auto_result res;

	assert_int_equal(signer_auto_rotate(s, now, &f->hook, &res), 0);
	return res;
}

/* ------------------------------------------------------------------ */
/* signer_auto_rotate() */

static void
test_rotate_off_does_nothing(void **state)
{
	struct fixture *f = *state;
	struct signer_auto_result res;
	struct config off = f->cfg;
	struct signer *s = NULL;

	off.signing_key_rotate_every = 0;
	assert_int_equal(signer_open(f->db, f->mk, &off, false, T0, &s), 0);
	assert_int_equal(
	    signer_auto_rotate(s, T0 + 10 * EVERY, &f->hook, &res), 0);
	assert_int_equal(res.added + res.retired + res.dropped, 0);
	assert_int_equal(keys_of(f, "ES256"), 1);
	assert_int_equal(keys_of(f, "RS256"), 0);
	signer_free(s);
}

/*
 * JW-09: the successor comes at rotate_every - activation_delay, is
 * published at once on the node that added it (and on the other within
 * its refresh), does not sign before its activation, then signs; the
 * old key is retired then. One successor per key and alg, whichever
 * node runs the pass, however often.
 */
static void
test_JW09_successor_published_before_it_signs(void **state)
{
	struct fixture *f = *state;
	struct signer_auto_result res;
	char es[64], rs[64], es2[64], rs2[64], k[64];

	kid_in(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, es);
	kid_in(f->s, T0, JOSE_ALG_RS256, SIGNER_ACTIVE, rs);
	res = pass(f, f->s, T0 + LEAD - 1);
	assert_int_equal(res.added, 0);
	res = pass(f, f->s, T0 + LEAD);
	assert_int_equal(res.added, 2);
	assert_int_equal(res.retired + res.dropped, 0);
	/* Node B, the same pass a moment later, and A again: nothing. */
	res = pass(f, f->s2, T0 + LEAD + 1);
	assert_int_equal(res.added, 0);
	res = pass(f, f->s, T0 + LEAD + 2);
	assert_int_equal(res.added, 0);
	assert_int_equal(keys_of(f, "ES256"), 2);
	assert_int_equal(keys_of(f, "RS256"), 2);
	assert_int_equal(audits(f, "key.auto_rotated"), 2);
	kid_in(f->s, T0 + LEAD, JOSE_ALG_ES256, SIGNER_PENDING, es2);
	kid_in(f->s, T0 + LEAD, JOSE_ALG_RS256, SIGNER_PENDING, rs2);
	assert_true(es2[0] != '\0' && rs2[0] != '\0');
	/* Published at once, before it signs; the old key still signs. */
	assert_true(published(f->s, T0 + LEAD, es2));
	assert_true(published(f->s, T0 + LEAD, rs2));
	signing_kid(f->s, T0 + EVERY - 1, JOSE_ALG_ES256, k);
	assert_string_equal(k, es);
	signing_kid(f->s, T0 + EVERY - 1, JOSE_ALG_RS256, k);
	assert_string_equal(k, rs);
	/* Node B publishes it by its next reload (signing_key_refresh). */
	assert_true(
	    published(f->s2, T0 + LEAD + f->cfg.signing_key_refresh, es2));
	/* At activation both nodes sign with the successor. */
	signing_kid(f->s, T0 + EVERY, JOSE_ALG_ES256, k);
	assert_string_equal(k, es2);
	signing_kid(f->s2, T0 + EVERY, JOSE_ALG_RS256, k);
	assert_string_equal(k, rs2);
	/* The old key is retired: recorded once, by whichever node. */
	res = pass(f, f->s2, T0 + EVERY);
	assert_int_equal(res.retired, 2);
	res = pass(f, f->s, T0 + EVERY);
	assert_int_equal(res.retired, 0);
	assert_int_equal(audits(f, "key.retired"), 2);
	assert_true(published(f->s, T0 + EVERY, es));
}

/*
 * JW-09: the retired key stays published and verifying until its
 * successor's activation + the longest token lifetime + the margin, then
 * is dropped (row deleted, JWKS without it) once; the next successor of
 * the new key comes a full rotate_every after it began to sign.
 */
static void
test_JW09_old_key_dropped_only_after_its_tokens_expire(void **state)
{
	struct fixture *f = *state;
	struct signer_auto_result res;
	char es[64], es2[64], k[64];
	int64_t act = T0 + EVERY, unpub = act + HOLD;

	kid_in(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, es);
	(void)pass(f, f->s, T0 + LEAD);
	kid_in(f->s, T0 + LEAD, JOSE_ALG_ES256, SIGNER_PENDING, es2);
	(void)pass(f, f->s, act);
	/* A token the old key signed a second before its successor took
	 * over is valid until act - 1 + TTL: still verifiable then. */
	res = pass(f, f->s2, unpub - 1);
	assert_int_equal(res.dropped, 0);
	assert_true(published(f->s2, unpub - 1, es));
	assert_int_equal(
	    count(f, "SELECT count(*) FROM signing_keys WHERE kid = ?", es), 1);
	res = pass(f, f->s2, unpub);
	assert_int_equal(res.dropped, 1);
	res = pass(f, f->s, unpub + 1);
	assert_int_equal(res.dropped, 0);
	assert_int_equal(audits(f, "key.dropped"), 1);
	assert_int_equal(
	    count(f, "SELECT count(*) FROM signing_keys WHERE kid = ?", es), 0);
	assert_false(published(f->s, unpub, es));
	assert_false(published(f->s2, unpub, es));
	assert_true(published(f->s2, unpub, es2));
	/* The next generation: a successor of es2 at act + LEAD, not before. */
	res = pass(f, f->s, act + LEAD - 1);
	assert_int_equal(res.added, 0);
	res = pass(f, f->s2, act + LEAD);
	assert_int_equal(res.added, 1);
	assert_int_equal(audits(f, "key.auto_rotated"), 2);
	signing_kid(f->s, act + EVERY, JOSE_ALG_ES256, k);
	assert_string_not_equal(k, es2);
}

/* A node that was down through a whole window records both steps. */
static void
test_JW09_late_pass_retires_then_drops(void **state)
{
	struct fixture *f = *state;
	struct signer_auto_result res;

	(void)pass(f, f->s, T0 + LEAD);
	res = pass(f, f->s, T0 + EVERY + HOLD + 5);
	assert_int_equal(res.retired, 1);
	assert_int_equal(res.dropped, 1);
	assert_int_equal(audits(f, "key.retired"), 1);
	assert_int_equal(audits(f, "key.dropped"), 1);
}

/* A key `key rotate` added counts as the successor: none is added. */
static void
test_manual_successor_counts(void **state)
{
	struct fixture *f = *state;
	struct signer_auto_result res;
	char kid[64];

	assert_int_equal(
	    signer_rotate(f->db, f->mk, &f->cfg, JOSE_ALG_ES256, T0 + 5, kid),
	    0);
	res = pass(f, f->s, T0 + LEAD);
	assert_int_equal(res.added, 1); /* RS256 only */
	/* The first ES256 key was superseded at T0 + 5 + DELAY: retired
	 * and, HOLD later, dropped; the manual key is too young. */
	assert_int_equal(res.dropped, 1);
	assert_int_equal(keys_of(f, "ES256"), 1);
	assert_int_equal(keys_of(f, "RS256"), 2);
}

/* AU-01: a failed audit row undoes the step; the next pass does it. */
static void
test_AU01_failed_audit_row_undoes_the_step(void **state)
{
	struct fixture *f = *state;
	struct signer_auto_result res;

	f->fail_hook = PC_ERR_STORE;
	assert_int_equal(
	    signer_auto_rotate(f->s, T0 + LEAD, &f->hook, &res), PC_ERR_STORE);
	assert_int_equal(res.added, 0);
	assert_int_equal(keys_of(f, "ES256"), 1);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM signing_key_steps"
			     " WHERE step = ?",
			     "succeeded"),
	    0);
	f->fail_hook = 0;
	res = pass(f, f->s, T0 + LEAD + 1);
	assert_int_equal(res.added, 1);
	/* The same for a drop: the row stays, published, until it is done. */
	(void)pass(f, f->s, T0 + EVERY + 1);
	f->fail_hook = PC_ERR_STORE;
	assert_int_equal(
	    signer_auto_rotate(f->s, T0 + EVERY + 1 + HOLD, &f->hook, &res),
	    PC_ERR_STORE);
	assert_int_equal(res.dropped, 0);
	assert_int_equal(keys_of(f, "ES256"), 2);
	f->fail_hook = 0;
	res = pass(f, f->s, T0 + EVERY + 2 + HOLD);
	assert_int_equal(res.dropped, 1);
	assert_int_equal(keys_of(f, "ES256"), 1);
	assert_int_equal(audits(f, "key.dropped"), 1);
}

/* ------------------------------------------------------------------ */
/* The store's steps */

static void
new_row(struct fixture *f, int64_t now, struct store_signing_key *row)
{
	char kid[64];

	/* A real key row, then taken out of the store again. */
	assert_int_equal(
	    signer_rotate(f->db, f->mk, &f->cfg, JOSE_ALG_ES256, now, kid), 0);
	{
		struct store_signing_key *v = NULL;
		size_t n = 0;

		assert_int_equal(store_signing_keys_list(f->db, &v, &n), 0);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(v[i].kid, kid) == 0) {
				*row = v[i];
				memset(&v[i], 0, sizeof(v[i]));
			}
		}
		store_signing_keys_free(v, n);
	}
	assert_int_equal(count(f,
			     "DELETE FROM signing_keys WHERE kid = ?"
			     " RETURNING 0",
			     kid),
	    0);
}

/* The store checks the step against its own rows, not the caller's. */
static void
test_store_steps_check_their_rows(void **state)
{
	struct fixture *f = *state;
	struct store_signing_key a, b;
	char es[64];
	bool ok = true;

	kid_in(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, es);
	new_row(f, T0 + 10, &a);
	new_row(f, T0 + 10, &b);
	/* Not retired (nothing supersedes it), not dropped. */
	assert_int_equal(store_signing_key_step(f->db, es, STORE_KEY_RETIRED,
			     T0 + 20, 0, &f->hook, &ok),
	    0);
	assert_false(ok);
	/* An unknown predecessor gets no successor. */
	assert_int_equal(store_signing_key_add_successor(
			     f->db, &a, "no-such-kid", T0 + 10, &f->hook, &ok),
	    0);
	assert_false(ok);
	assert_int_equal(store_signing_key_add_successor(
			     f->db, &a, es, T0 + 10, &f->hook, &ok),
	    0);
	assert_true(ok);
	/* A second successor of the same key: refused. */
	assert_int_equal(store_signing_key_add_successor(
			     f->db, &b, es, T0 + 11, &f->hook, &ok),
	    0);
	assert_false(ok);
	/* The successor is the newest: a successor of the old key is not. */
	assert_int_equal(keys_of(f, "ES256"), 2);
	/* Retired only once the successor activated (activate_at a + DELAY). */
	assert_int_equal(store_signing_key_step(f->db, es, STORE_KEY_RETIRED,
			     T0 + 10 + DELAY - 1, 0, &f->hook, &ok),
	    0);
	assert_false(ok);
	assert_int_equal(store_signing_key_step(f->db, es, STORE_KEY_RETIRED,
			     T0 + 10 + DELAY, 0, &f->hook, &ok),
	    0);
	assert_true(ok);
	/* Once: the second call (another node) finds the step done. */
	assert_int_equal(store_signing_key_step(f->db, es, STORE_KEY_RETIRED,
			     T0 + 10 + DELAY + 1, 0, &f->hook, &ok),
	    0);
	assert_false(ok);
	/* Dropped only after hold. */
	assert_int_equal(store_signing_key_step(f->db, es, STORE_KEY_DROPPED,
			     T0 + 10 + DELAY + HOLD - 1, HOLD, &f->hook, &ok),
	    0);
	assert_false(ok);
	assert_int_equal(store_signing_key_step(f->db, es, STORE_KEY_DROPPED,
			     T0 + 10 + DELAY + HOLD, HOLD, &f->hook, &ok),
	    0);
	assert_true(ok);
	assert_int_equal(store_signing_key_step(f->db, es, STORE_KEY_DROPPED,
			     T0 + 10 + DELAY + HOLD, HOLD, &f->hook, &ok),
	    0);
	assert_false(ok);
	assert_int_equal(store_signing_key_step(f->db, es, STORE_KEY_SUCCEEDED,
			     T0, 0, &f->hook, &ok),
	    PC_ERR_INVALID);
	{
		struct store_key_step_row *v = NULL;
		size_t n = 0;

		assert_int_equal(
		    store_signing_key_steps_list(f->db, &v, &n), 0);
		assert_int_equal(n, 3);
		assert_string_equal(
		    store_key_step_name(v[0].step), "succeeded");
		assert_string_equal(store_key_step_name(v[2].step), "dropped");
		store_key_steps_free(v, n);
	}
	assert_int_equal(audits(f, "key.auto_rotated"), 1);
	assert_int_equal(audits(f, "key.retired"), 1);
	assert_int_equal(audits(f, "key.dropped"), 1);
	store_signing_key_clear(&a);
	store_signing_key_clear(&b);
}

/* Nodes racing: each thread adds its own successor of the same key. */
#define RACERS 4

struct racer {
	struct fixture *f;
	struct store_signing_key row;
	const char *pred;
	pthread_barrier_t *go;
	bool added;
	int r;
};

static void *
race(void *arg)
{
	struct racer *x = arg;

	pthread_barrier_wait(x->go);
	x->r = store_signing_key_add_successor(
	    x->f->db, &x->row, x->pred, T0 + LEAD, &x->f->hook, &x->added);
	return NULL;
}

static void
test_AU01_racing_nodes_add_one_successor(void **state)
{
	struct fixture *f = *state;
	struct racer x[RACERS];
	pthread_t t[RACERS];
	pthread_barrier_t go;
	char es[64];
	int added = 0;

	kid_in(f->s, T0, JOSE_ALG_ES256, SIGNER_ACTIVE, es);
	pthread_barrier_init(&go, NULL, RACERS);
	for (int i = 0; i < RACERS; i++) {
		memset(&x[i], 0, sizeof(x[i]));
		x[i].f = f;
		x[i].pred = es;
		x[i].go = &go;
		new_row(f, T0 + LEAD, &x[i].row);
	}
	for (int i = 0; i < RACERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race, &x[i]), 0);
	for (int i = 0; i < RACERS; i++) {
		pthread_join(t[i], NULL);
		/* SQLite may answer a loser busy; never two winners. */
		assert_true(x[i].r == 0 || x[i].r == PC_ERR_BUSY);
		added += x[i].added;
		store_signing_key_clear(&x[i].row);
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(added, 1);
	assert_int_equal(keys_of(f, "ES256"), 2);
	assert_int_equal(audits(f, "key.auto_rotated"), 1);
}

/*
 * JW-09: at the successor's activation the old key stops signing on every
 * thread, also while another thread's reload is slow. PostgreSQL only: a
 * lock on signing_keys, held by another connection, makes the reload
 * wait (SQLite's readers never wait for a writer in WAL mode).
 */
struct slow {
	struct fixture *f;
	pthread_barrier_t *locked;
	int64_t at;
};

static void *
hold_lock(void *arg)
{
	struct slow *x = arg;
	struct db_conn *c;

	if (db_conn(x->f->db, &c) != 0 || db_begin(c, true) != 0 ||
	    q_exec(c, "LOCK TABLE signing_keys IN ACCESS EXCLUSIVE MODE",
		Q_NOARGS, NULL) != 0)
		abort();
	pthread_barrier_wait(x->locked);
	usleep(600 * 1000);
	db_rollback(c);
	return NULL;
}

static void *
slow_reload(void *arg)
{
	struct slow *x = arg;

	(void)signer_refresh(x->f->s2, x->at, false);
	return NULL;
}

static void
test_JW09_old_key_never_signs_after_activation(void **state)
{
	struct fixture *f = *state;
	pthread_barrier_t locked;
	pthread_t l, r;
	struct slow x = { f, &locked, T0 + EVERY };
	char es2[64], k[64];

	(void)pass(f, f->s, T0 + LEAD);
	kid_in(f->s, T0 + LEAD, JOSE_ALG_ES256, SIGNER_PENDING, es2);
	/* Node B knows the successor (pending: no private key yet). */
	assert_int_equal(signer_refresh(f->s2, T0 + LEAD + 60, true), 0);
	pthread_barrier_init(&locked, NULL, 2);
	assert_int_equal(pthread_create(&l, NULL, hold_lock, &x), 0);
	pthread_barrier_wait(&locked);
	/* B's reload at the activation waits for the lock... */
	assert_int_equal(pthread_create(&r, NULL, slow_reload, &x), 0);
	usleep(200 * 1000);
	/* ...while another request signs: with the successor, never the
	 * old key (it waits for that reload). */
	signing_kid(f->s2, T0 + EVERY, JOSE_ALG_ES256, k);
	assert_string_equal(k, es2);
	pthread_join(r, NULL);
	pthread_join(l, NULL);
	pthread_barrier_destroy(&locked);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_rotate_off_does_nothing, setup_es, teardown),
		cmocka_unit_test_setup_teardown(
		    test_JW09_successor_published_before_it_signs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_JW09_old_key_dropped_only_after_its_tokens_expire,
		    setup_es, teardown),
		cmocka_unit_test_setup_teardown(
		    test_JW09_late_pass_retires_then_drops, setup_es, teardown),
		cmocka_unit_test_setup_teardown(
		    test_manual_successor_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_AU01_failed_audit_row_undoes_the_step, setup_es,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_steps_check_their_rows, setup_es, teardown),
		cmocka_unit_test_setup_teardown(
		    test_AU01_racing_nodes_add_one_successor, setup_es,
		    teardown),
		/* Last: PostgreSQL only (it holds a table lock). */
		cmocka_unit_test_setup_teardown(
		    test_JW09_old_key_never_signs_after_activation, setup_es,
		    teardown),
	};
	/* A skipped test is a failure to scripts/test.sh: on SQLite the
	 * PostgreSQL-only test is not run at all. */
	size_t n = PC_NELEM(tests) - (test_store_is_pg() ? 0 : 1);

	if (crypto_init() != 0)
		return 1;
	/* Errors only: the passes log each step. */
	log_init(LOG_ERROR);
	return _cmocka_run_group_tests("tests", tests, n, NULL, NULL);
}
