/*
 * Keys that rotate themselves (issue 17, item 6; decision 0076): one pass
 * of signing_key_rotate_every, run by every node on the server's periodic
 * thread (server/purge.c). It plans from the store's rows and the clock,
 * with the same state rule as the ring (signer_compute_states()), and
 * leaves every decision that must happen once across nodes to the store
 * (store_signing_key_add_successor(), store_signing_key_step()): nodes
 * that race do the same work, and only one of them does each step.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/signer_internal.h"
#include "util/log.h"

struct plan {
	struct store_signing_key *rows;
	size_t n;
	struct ring_key *k; /* alg, activate_at, states: index as rows */
	struct store_key_step_row *steps;
	size_t nsteps;
};

static void
plan_free(struct plan *p)
{
	store_signing_keys_free(p->rows, p->n);
	store_key_steps_free(p->steps, p->nsteps);
	free(p->k);
}

static int
plan_load(struct signer *s, int64_t now, struct plan *p)
{
	int64_t next;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = store_signing_keys_list(s->db, &p->rows, &p->n)) != 0 ||
	    (r = store_signing_key_steps_list(s->db, &p->steps, &p->nsteps)) !=
		0) {
		plan_free(p);
		return r;
	}
	p->k = xcalloc(p->n, sizeof(*p->k));
	for (size_t i = 0; i < p->n; i++) {
		p->k[i].alg =
		    jose_alg_parse(p->rows[i].alg, strlen(p->rows[i].alg));
		p->k[i].activate_at = p->rows[i].activate_at;
	}
	signer_compute_states(
	    p->k, p->n, now, signer_unpublish_hold(s->cfg), &next);
	return 0;
}

static bool
recorded(const struct plan *p, const char *kid, enum store_key_step step)
{
	for (size_t i = 0; i < p->nsteps; i++)
		if (p->steps[i].step == step &&
		    strcmp(p->steps[i].kid, kid) == 0)
			return true;
	return false;
}

static void
log_step(const char *event, const struct store_signing_key *row,
    const char *successor, int64_t activate_at)
{
	struct log_line l;

	log_begin(&l, LOG_INFO, event);
	log_str(&l, "kid", row->kid);
	log_str(&l, "alg", row->alg);
	if (successor != NULL) {
		log_str(&l, "successor", successor);
		log_int(&l, "activate_at", activate_at);
	}
	log_end(&l);
}

/* Retirement and drop of superseded keys. */
static int
retire_and_drop(struct signer *s, const struct plan *p, int64_t now,
    const struct store_key_hook *hook, struct signer_auto_result *res)
{
	int64_t hold = signer_unpublish_hold(s->cfg);
	int first = 0;

	for (size_t i = 0; i < p->n; i++) {
		const struct store_signing_key *row = &p->rows[i];
		enum signer_key_state st = p->k[i].state;
		bool done = false;
		int r = 0;

		if (st != SIGNER_RETIRED && st != SIGNER_EXPIRED)
			continue;
		if (!recorded(p, row->kid, STORE_KEY_RETIRED)) {
			r = store_signing_key_step(s->db, row->kid,
			    STORE_KEY_RETIRED, now, 0, hook, &done);
			if (r == 0 && done) {
				res->retired++;
				atomic_fetch_add(&s->auto_retired, 1);
				log_step("signer.key_retired", row, NULL, 0);
			}
		}
		if (r == 0 && st == SIGNER_EXPIRED &&
		    !recorded(p, row->kid, STORE_KEY_DROPPED)) {
			r = store_signing_key_step(s->db, row->kid,
			    STORE_KEY_DROPPED, now, hold, hook, &done);
			if (r == 0 && done) {
				res->dropped++;
				atomic_fetch_add(&s->auto_dropped, 1);
				log_step("signer.key_dropped", row, NULL, 0);
			}
		}
		if (r != 0 && first == 0)
			first = r;
	}
	return first;
}

/* The newest row of each alg, if it signs and is due for a successor. */
static int
add_successors(struct signer *s, const struct plan *p, int64_t now,
    const struct store_key_hook *hook, struct signer_auto_result *res)
{
	const struct config *cfg = s->cfg;
	int64_t lead =
	    cfg->signing_key_rotate_every - cfg->signing_key_activation_delay;
	int first = 0;

	for (size_t i = 0; i < p->n; i++) {
		const struct store_signing_key *row = &p->rows[i];
		struct store_signing_key succ;
		bool newest = true, added = false;
		int r;

		for (size_t j = i + 1; j < p->n && newest; j++)
			newest = p->k[j].alg != p->k[i].alg;
		if (!newest || p->k[i].alg == JOSE_ALG_INVALID ||
		    p->k[i].state != SIGNER_ACTIVE ||
		    now < row->activate_at + lead ||
		    recorded(p, row->kid, STORE_KEY_SUCCEEDED))
			continue;
		/* The same key as `key rotate` makes (signer_rotate()). */
		r = signer_key_successor(
		    s->seal_key, cfg, p->k[i].alg, now, &succ);
		if (r == 0)
			r = store_signing_key_add_successor(
			    s->db, &succ, row->kid, now, hook, &added);
		if (r == 0 && added) {
			res->added++;
			atomic_fetch_add(&s->auto_added, 1);
			log_step("signer.key_rotated_auto", row, succ.kid,
			    succ.activate_at);
		}
		store_signing_key_clear(&succ);
		if (r != 0 && first == 0)
			first = r;
	}
	return first;
}

int
signer_auto_rotate(struct signer *s, int64_t now,
    const struct store_key_hook *hook, struct signer_auto_result *out)
{
	struct plan p;
	int r, r2;

	memset(out, 0, sizeof(*out));
	if (s->cfg->signing_key_rotate_every <= 0)
		return 0;
	atomic_store(&s->auto_run_at, now);
	if ((r = plan_load(s, now, &p)) != 0) {
		atomic_fetch_add(&s->auto_failures, 1);
		return r;
	}
	r = retire_and_drop(s, &p, now, hook, out);
	r2 = add_successors(s, &p, now, hook, out);
	plan_free(&p);
	if (r == 0)
		r = r2;
	if (r != 0)
		atomic_fetch_add(&s->auto_failures, 1);
	/* This node publishes the successor at once; the others within
	 * signing_key_refresh (never later than its activation: the
	 * activation delay is at least that long, config_check.c). */
	if (out->added + out->retired + out->dropped > 0)
		(void)signer_refresh(s, now, true);
	return r;
}
