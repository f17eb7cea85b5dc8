/*
 * GET /metrics on metrics_listen (issue 17 item 2, decision 0072): the
 * registry of util/metrics.c in the Prometheus text format, and the
 * gauges read at scrape time from the signer's key ring (the age of the
 * oldest key, and the number of keys, per state and algorithm), and the
 * automatic key rotation's counters (issue 17 item 6, signer_stats()).
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "jose/jose.h"
#include "server/server.h"
#include "util/log.h"
#include "util/metrics.h"

void
server_metrics(struct req *r, struct resp *w)
{
	(void)r;
	buf_reset(&w->body);
	if (metrics_render(&w->body) != 0) {
		buf_reset(&w->body);
		w->status = 500;
		return;
	}
	w->status = 200;
	w->content_type = METRICS_CONTENT_TYPE;
}

#define NSTATES (SIGNER_EXPIRED + 1)
#define NALGS (JOSE_ALG_EDDSA + 1)

/*
 * Issue 17 item 6 (decision 0076): the automatic rotation's steps this
 * node did (each step is done by one node only: sum over the nodes), and
 * its failed passes.
 */
static int
collect_rotation(struct buf *out, struct signer *s)
{
	struct signer_stats st;
	const char *added[] = { "step", "added" },
		   *retired[] = { "step", "retired" },
		   *dropped[] = { "step", "dropped" };
	int r;

	signer_stats(s, &st);
	if ((r = metrics_put_family(out,
		 "portcullis_signing_key_rotation_steps_total", "counter",
		 "Automatic key rotation steps this node did "
		 "(signing_key_rotate_every).")) != 0 ||
	    (r = metrics_put_sample(out,
		 "portcullis_signing_key_rotation_steps_total", added, 1,
		 (double)st.auto_added)) != 0 ||
	    (r = metrics_put_sample(out,
		 "portcullis_signing_key_rotation_steps_total", retired, 1,
		 (double)st.auto_retired)) != 0 ||
	    (r = metrics_put_sample(out,
		 "portcullis_signing_key_rotation_steps_total", dropped, 1,
		 (double)st.auto_dropped)) != 0)
		return r;
	if ((r = metrics_put_family(out,
		 "portcullis_signing_key_rotation_failures_total", "counter",
		 "Passes of the automatic key rotation that failed (the store "
		 "did not answer); the next pass tries again.")) != 0)
		return r;
	return metrics_put_sample(out,
	    "portcullis_signing_key_rotation_failures_total", NULL, 0,
	    (double)st.auto_failures);
}

/*
 * One gauge family with a sample per key state and algorithm: v, or only
 * the pairs that hold keys when held is given (an age of no key is none).
 */
static int
put_by_key(struct buf *out, const char *name, const char *help,
    const double v[NSTATES][NALGS], const double held[NSTATES][NALGS])
{
	int r;

	if ((r = metrics_put_family(out, name, "gauge", help)) != 0)
		return r;
	for (unsigned st = 0; st < NSTATES; st++)
		for (unsigned a = 1; a < NALGS; a++) {
			const char *l[4] = { "state",
				signer_state_name((enum signer_key_state)st),
				"alg", jose_alg_name((enum jose_alg)a) };

			if (held != NULL && held[st][a] < 1)
				continue;
			if ((r = metrics_put_sample(
				 out, name, l, 2, v[st][a])) != 0)
				return r;
		}
	return 0;
}

/* The key ring's gauges; keys that failed their check count as such. */
static int
collect_keys(struct buf *out, void *arg)
{
	struct signer *s = arg;
	struct signer_key_info *v = NULL;
	int64_t now = clock_now();
	double oldest[NSTATES][NALGS], count[NSTATES][NALGS];
	size_t n = 0;
	int r;

	memset(oldest, 0, sizeof(oldest));
	memset(count, 0, sizeof(count));
	if (s == NULL || signer_list(s, now, &v, &n) != 0)
		return 0; /* no ring: no gauges (the scrape still answers) */
	for (size_t i = 0; i < n; i++) {
		unsigned st = (unsigned)v[i].state, a = (unsigned)v[i].alg;
		int64_t age = now - v[i].created_at;

		if (st >= NSTATES || a >= NALGS || v[i].rejected)
			continue;
		count[st][a]++;
		if ((double)age > oldest[st][a])
			oldest[st][a] = (double)age;
	}
	free(v);
	if ((r = put_by_key(out, "portcullis_signing_keys",
		 "Signing keys in the ring, by state and algorithm.", count,
		 NULL)) != 0 ||
	    (r = put_by_key(out, "portcullis_signing_key_age_seconds",
		 "Age of the oldest signing key of each state and algorithm "
		 "(since it was created).",
		 oldest, count)) != 0)
		return r;
	return collect_rotation(out, s);
}

void
server_metrics_start(struct app *app)
{
	metrics_set_collector(collect_keys, app->signer);
}

void
server_metrics_stop(void)
{
	metrics_set_collector(NULL, NULL);
}
