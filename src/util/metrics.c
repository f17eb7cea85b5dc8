/*
 * The metrics registry (metrics.h, decision 0072): every cell of every
 * family in one static array per shard, each thread adding to its own
 * shard with relaxed atomics, and the text exposition format 0.0.4
 * rendered from the sum of the shards at scrape time.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "util/metrics.h"
#include "util/util.h"

/* Shards per cell: a thread keeps to one, so threads rarely share a line. */
#define SHARDS 16

/* --- labels ------------------------------------------------------- */

static const int status_codes[] = { 200, 201, 204, 301, 302, 303, 304, 307, 308,
	400, 401, 403, 404, 405, 406, 408, 409, 410, 411, 413, 414, 415, 422,
	429, 431, 500, 501, 502, 503, 504 };
#define NSTATUS (PC_NELEM(status_codes) + 1) /* and "other" */
static const char *const status_names[NSTATUS] = { "200", "201", "204", "301",
	"302", "303", "304", "307", "308", "400", "401", "403", "404", "405",
	"406", "408", "409", "410", "411", "413", "414", "415", "422", "429",
	"431", "500", "501", "502", "503", "504", "other" };

static const char *const outcome_names[METRICS_OUTCOME_N] = { "success",
	"failure" };
static const char *const factor_names[METRICS_FACTOR_N] = { "password", "otp",
	"recovery", "passkey", "policy", "other" };
static const char *const grant_names[METRICS_GRANT_N] = { "authorization_code",
	"refresh_token", "client_credentials", "token_exchange", "jwt_bearer",
	"other" };
static const char *const kind_names[METRICS_KIND_N] = { "user_client",
	"service_account", "api_key", "workload", "agent" };
static const char *const limiter_names[METRICS_LIMITER_N] = { "login",
	"client_auth", "api_key", "mail_ip", "mail_account", "ip",
	"pwhash_queue" };
static const char *const store_op_names[METRICS_STORE_OP_N] = { "batch_begin",
	"batch_savepoint", "batch_commit", "tx_begin", "tx_commit" };
static const char *const audit_path_names[METRICS_AUDIT_PATH_N] = { "inline",
	"pending", "tx_inline", "tx_pending" };

/* The route table's paths, registered at start-up. */
static const char *route_names[METRICS_ROUTES_MAX] = { "(unmatched)" };
static _Atomic unsigned route_n = 1;
static pthread_mutex_t route_mu = PTHREAD_MUTEX_INITIALIZER;

/* --- histogram buckets (upper bounds, in stored units) -------------- */

/* Microseconds, exported as seconds. */
static const uint64_t usec_bounds[] = { 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000 };
#define NB_USEC PC_NELEM(usec_bounds)
/* Group-commit batch sizes (db_batch's BATCH_MAX is 64). */
static const uint64_t batch_bounds[] = { 1, 2, 4, 8, 16, 32, 64 };
#define NB_BATCH PC_NELEM(batch_bounds)

/* A histogram's cells: one per bucket, one past the last (+Inf), sum. */
#define HCELLS(nb) ((nb) + 2)

/* --- the cells ----------------------------------------------------- */

enum {
	C_REQ = 0,
	C_DUR = C_REQ + METRICS_ROUTES_MAX * NSTATUS,
	C_SIGNIN = C_DUR + METRICS_ROUTES_MAX * HCELLS(NB_USEC),
	C_TOKENS = C_SIGNIN + METRICS_OUTCOME_N * METRICS_FACTOR_N,
	C_ALERT = C_TOKENS + METRICS_GRANT_N * METRICS_KIND_N,
	C_THROTTLE = C_ALERT + METRICS_ALERT_N,
	C_PWWAIT = C_THROTTLE + METRICS_LIMITER_N,
	C_STOREERR = C_PWWAIT + HCELLS(NB_USEC),
	C_BATCH = C_STOREERR + METRICS_STORE_OP_N,
	C_AUDIT = C_BATCH + HCELLS(NB_BATCH),
	C_TOTAL = C_AUDIT + METRICS_AUDIT_PATH_N
};

struct shard {
	_Alignas(64) _Atomic uint64_t c[C_TOTAL];
};

static struct shard shards[SHARDS];
static _Atomic unsigned next_shard;
/* initial-exec: pc_util is linked into the program, never dlopen()ed. */
static _Thread_local int my_shard __attribute__((tls_model("initial-exec"))) =
    -1;

static _Atomic int64_t pwhash_queue;
static _Atomic int64_t start_time;
static const char *_Atomic build_version;
static struct {
	metrics_collect_fn _Atomic fn;
	void *_Atomic arg;
} collector;

static inline void
add(unsigned cell, uint64_t v)
{
	if (my_shard < 0)
		my_shard = (int)(atomic_fetch_add_explicit(
				     &next_shard, 1, memory_order_relaxed) %
		    SHARDS);
	atomic_fetch_add_explicit(
	    &shards[my_shard].c[cell], v, memory_order_relaxed);
}

static uint64_t
sum(unsigned cell)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < SHARDS; i++)
		v += atomic_load_explicit(
		    &shards[i].c[cell], memory_order_relaxed);
	return v;
}

static void
observe(unsigned base, const uint64_t *bounds, size_t nb, uint64_t v)
{
	size_t i = 0;

	while (i < nb && v > bounds[i])
		i++;
	add(base + (unsigned)i, 1);
	add(base + (unsigned)nb + 1, v);
}

/* --- counting ------------------------------------------------------ */

unsigned
metrics_route_id(const char *path)
{
	unsigned n, id = METRICS_ROUTE_UNMATCHED;

	if (path == NULL)
		return id;
	pthread_mutex_lock(&route_mu);
	n = atomic_load(&route_n);
	for (unsigned i = 1; i < n; i++)
		if (strcmp(route_names[i], path) == 0) {
			id = i;
			goto out;
		}
	if (n < METRICS_ROUTES_MAX) {
		route_names[n] = path;
		atomic_store(&route_n, n + 1);
		id = n;
	}
out:
	pthread_mutex_unlock(&route_mu);
	return id;
}

static unsigned
status_index(int status)
{
	for (unsigned i = 0; i < PC_NELEM(status_codes); i++)
		if (status_codes[i] == status)
			return i;
	return NSTATUS - 1;
}

void
metrics_http_request(unsigned route, int status, uint64_t usec)
{
	if (route >= METRICS_ROUTES_MAX)
		route = METRICS_ROUTE_UNMATCHED;
	add(C_REQ + route * NSTATUS + status_index(status), 1);
	observe(C_DUR + route * HCELLS(NB_USEC), usec_bounds, NB_USEC, usec);
}

void
metrics_signin(enum metrics_outcome o, enum metrics_factor f)
{
	if ((unsigned)o < METRICS_OUTCOME_N && (unsigned)f < METRICS_FACTOR_N)
		add(C_SIGNIN + (unsigned)o * METRICS_FACTOR_N + (unsigned)f, 1);
}

void
metrics_token_issued(enum metrics_grant g, enum metrics_client_kind k)
{
	if ((unsigned)g < METRICS_GRANT_N && (unsigned)k < METRICS_KIND_N)
		add(C_TOKENS + (unsigned)g * METRICS_KIND_N + (unsigned)k, 1);
}

void
metrics_alert(enum metrics_alert a)
{
	if ((unsigned)a < METRICS_ALERT_N)
		add(C_ALERT + (unsigned)a, 1);
}

void
metrics_throttled(enum metrics_limiter l)
{
	if ((unsigned)l < METRICS_LIMITER_N)
		add(C_THROTTLE + (unsigned)l, 1);
}

void
metrics_pwhash_queue_add(int64_t delta)
{
	atomic_fetch_add_explicit(&pwhash_queue, delta, memory_order_relaxed);
}

void
metrics_pwhash_wait(uint64_t usec)
{
	observe(C_PWWAIT, usec_bounds, NB_USEC, usec);
}

void
metrics_store_error(enum metrics_store_op op)
{
	if ((unsigned)op < METRICS_STORE_OP_N)
		add(C_STOREERR + (unsigned)op, 1);
}

void
metrics_batch_size(unsigned n)
{
	observe(C_BATCH, batch_bounds, NB_BATCH, n);
}

void
metrics_audit_append(enum metrics_audit_path p)
{
	if ((unsigned)p < METRICS_AUDIT_PATH_N)
		add(C_AUDIT + (unsigned)p, 1);
}

enum metrics_client_kind
metrics_kind_of_client(const char *kind)
{
	return kind != NULL && strcmp(kind, "agent") == 0
	    ? METRICS_KIND_AGENT
	    : METRICS_KIND_USER_CLIENT;
}

enum metrics_grant
metrics_grant_of(const char *grant)
{
	static const struct {
		const char *name;
		enum metrics_grant g;
	} m[] = {
		{ "authorization_code", METRICS_GRANT_AUTHORIZATION_CODE },
		{ "refresh_token", METRICS_GRANT_REFRESH_TOKEN },
		{ "client_credentials", METRICS_GRANT_CLIENT_CREDENTIALS },
		{ "token-exchange", METRICS_GRANT_TOKEN_EXCHANGE },
		{ "urn:ietf:params:oauth:grant-type:token-exchange",
		    METRICS_GRANT_TOKEN_EXCHANGE },
		{ "urn:ietf:params:oauth:grant-type:jwt-bearer",
		    METRICS_GRANT_JWT_BEARER },
	};

	for (size_t i = 0; grant != NULL && i < PC_NELEM(m); i++)
		if (strcmp(grant, m[i].name) == 0)
			return m[i].g;
	return METRICS_GRANT_OTHER;
}

/* amr is space-separated words: is word one of them? */
static bool
amr_has(const char *amr, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = amr; p != NULL && *p != '\0';) {
		const char *e = strchr(p, ' ');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);

		if (len == n && memcmp(p, word, n) == 0)
			return true;
		p = e != NULL ? e + 1 : NULL;
	}
	return false;
}

enum metrics_factor
metrics_factor_of_amr(const char *amr)
{
	if (amr == NULL)
		return METRICS_FACTOR_OTHER;
	if (amr_has(amr, "hwk") || amr_has(amr, "swk"))
		return METRICS_FACTOR_PASSKEY;
	if (amr_has(amr, "otp"))
		return METRICS_FACTOR_OTP;
	if (amr_has(amr, "pwd"))
		return METRICS_FACTOR_PASSWORD;
	return METRICS_FACTOR_OTHER;
}

void
metrics_set_process(const char *version, int64_t t)
{
	atomic_store(&build_version, version);
	atomic_store(&start_time, t);
}

void
metrics_set_collector(metrics_collect_fn fn, void *arg)
{
	atomic_store(&collector.arg, arg);
	atomic_store(&collector.fn, fn);
}

void
metrics_reset(void)
{
	for (unsigned s = 0; s < SHARDS; s++)
		for (unsigned i = 0; i < C_TOTAL; i++)
			atomic_store(&shards[s].c[i], 0);
	atomic_store(&pwhash_queue, 0);
}

/* --- the exposition format ----------------------------------------- */

/* HELP text escapes \ and newline; label values also ". */
static int
put_escaped(struct buf *out, const char *s, bool label)
{
	int r = 0;

	for (; *s != '\0' && r == 0; s++) {
		if (*s == '\\')
			r = buf_puts(out, "\\\\");
		else if (*s == '\n')
			r = buf_puts(out, "\\n");
		else if (*s == '"' && label)
			r = buf_puts(out, "\\\"");
		else
			r = buf_putc(out, *s);
	}
	return r;
}

int
metrics_put_family(
    struct buf *out, const char *name, const char *type, const char *help)
{
	int r;

	if ((r = buf_printf(out, "# HELP %s ", name)) != 0 ||
	    (r = put_escaped(out, help, false)) != 0 ||
	    (r = buf_printf(out, "\n# TYPE %s %s\n", name, type)) != 0)
		return r;
	return 0;
}

/* {k="v",...} with an optional extra le="..." last; nothing when empty. */
static int
put_labels(struct buf *out, const char *const *labels, size_t n, const char *le)
{
	int r = 0;

	if (n == 0 && le == NULL)
		return 0;
	if ((r = buf_putc(out, '{')) != 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		if ((i > 0 && (r = buf_putc(out, ',')) != 0) ||
		    (r = buf_printf(out, "%s=\"", labels[2 * i])) != 0 ||
		    (r = put_escaped(out, labels[2 * i + 1], true)) != 0 ||
		    (r = buf_putc(out, '"')) != 0)
			return r;
	}
	if (le != NULL &&
	    (r = buf_printf(out, "%sle=\"%s\"", n > 0 ? "," : "", le)) != 0)
		return r;
	return buf_putc(out, '}');
}

static int
put_value(struct buf *out, double v)
{
	if (v != v) /* NaN */
		return buf_puts(out, " NaN\n");
	if (v > 1.0e300 || v < -1.0e300)
		return buf_puts(out, v > 0 ? " +Inf\n" : " -Inf\n");
	if (v < 9.0e15 && v > -9.0e15 && (double)(long long)v == v)
		return buf_printf(out, " %lld\n", (long long)v);
	return buf_printf(out, " %.15g\n", v);
}

int
metrics_put_sample(struct buf *out, const char *name, const char *const *labels,
    size_t nlabels, double value)
{
	int r;

	if ((r = buf_puts(out, name)) != 0 ||
	    (r = put_labels(out, labels, nlabels, NULL)) != 0)
		return r;
	return put_value(out, value);
}

/* A fixed label dimension; route_dim's n is read at scrape time. */
struct dim {
	const char *name;
	const char *const *values;
	unsigned n; /* 0: the routes */
};

static const struct dim route_dim = { "route", route_names, 0 };
static const struct dim status_dim = { "code", status_names, NSTATUS };
static const struct dim outcome_dim = { "outcome", outcome_names,
	METRICS_OUTCOME_N };
static const struct dim factor_dim = { "factor", factor_names,
	METRICS_FACTOR_N };
static const struct dim grant_dim = { "grant", grant_names, METRICS_GRANT_N };
static const struct dim kind_dim = { "client_kind", kind_names,
	METRICS_KIND_N };
static const struct dim limiter_dim = { "limiter", limiter_names,
	METRICS_LIMITER_N };
static const struct dim store_op_dim = { "op", store_op_names,
	METRICS_STORE_OP_N };
static const struct dim audit_path_dim = { "path", audit_path_names,
	METRICS_AUDIT_PATH_N };
static const char *const alert_names[METRICS_ALERT_N] = { "refresh_reuse",
	"code_replay" };
static const struct dim alert_dim = { "kind", alert_names, METRICS_ALERT_N };

struct family {
	const char *name;
	const char *help;
	unsigned base;
	const struct dim *d1, *d2; /* NULL: none */
	const uint64_t *bounds;	   /* a histogram; NULL: a counter */
	size_t nb;
	double scale; /* stored units per exported unit */
	bool sparse;  /* only label sets seen at least once */
};

static const struct family families[] = {
	{ "portcullis_http_requests_total",
	    "HTTP requests answered, by route (the route table's path) and "
	    "status code.",
	    C_REQ, &route_dim, &status_dim, NULL, 0, 1, true },
	{ "portcullis_http_request_duration_seconds",
	    "Time from a request's first byte to its answer, by route.", C_DUR,
	    &route_dim, NULL, usec_bounds, NB_USEC, 1e6, true },
	{ "portcullis_signins_total",
	    "Sign-ins by outcome and the factor they turned on.", C_SIGNIN,
	    &outcome_dim, &factor_dim, NULL, 0, 1, false },
	{ "portcullis_tokens_issued_total",
	    "Access tokens issued, by grant and the kind of client.", C_TOKENS,
	    &grant_dim, &kind_dim, NULL, 0, 1, false },
	{ "portcullis_security_alerts_total",
	    "Refresh-token reuse and authorization-code replay detections.",
	    C_ALERT, &alert_dim, NULL, NULL, 0, 1, false },
	{ "portcullis_throttle_rejections_total",
	    "Requests refused by a limiter.", C_THROTTLE, &limiter_dim, NULL,
	    NULL, 0, 1, false },
	{ "portcullis_pwhash_wait_seconds",
	    "Time a password-hashing job waited for a worker.", C_PWWAIT, NULL,
	    NULL, usec_bounds, NB_USEC, 1e6, false },
	{ "portcullis_store_errors_total",
	    "Store transactions that failed to begin or commit.", C_STOREERR,
	    &store_op_dim, NULL, NULL, 0, 1, false },
	{ "portcullis_store_batch_size",
	    "Writes committed together by one group commit.", C_BATCH, NULL,
	    NULL, batch_bounds, NB_BATCH, 1, false },
	{ "portcullis_audit_appends_total",
	    "Audit rows appended (durable), by how they were appended.",
	    C_AUDIT, &audit_path_dim, NULL, NULL, 0, 1, false },
};

static unsigned
dim_n(const struct dim *d)
{
	if (d == NULL)
		return 1;
	return d->n != 0 ? d->n : atomic_load(&route_n);
}

/* The stride of d2 in cells: the routes take their maximum. */
static unsigned
dim_cap(const struct dim *d)
{
	if (d == NULL)
		return 1;
	return d->n != 0 ? d->n : METRICS_ROUTES_MAX;
}

static int
put_histogram(struct buf *out, const struct family *f, unsigned base,
    const char *const *labels, size_t nl)
{
	char name[96], le[32];
	uint64_t acc = 0, s;
	int r;

	for (size_t i = 0; i <= f->nb; i++)
		acc += sum(base + (unsigned)i);
	if (acc == 0 && f->sparse)
		return 0;
	acc = 0;
	snprintf(name, sizeof(name), "%s_bucket", f->name);
	for (size_t i = 0; i <= f->nb; i++) {
		acc += sum(base + (unsigned)i);
		if (i < f->nb)
			snprintf(le, sizeof(le), "%.6g",
			    (double)f->bounds[i] / f->scale);
		else
			snprintf(le, sizeof(le), "+Inf");
		if ((r = buf_puts(out, name)) != 0 ||
		    (r = put_labels(out, labels, nl, le)) != 0 ||
		    (r = buf_printf(out, " %llu\n", (unsigned long long)acc)) !=
			0)
			return r;
	}
	s = sum(base + (unsigned)f->nb + 1);
	snprintf(name, sizeof(name), "%s_sum", f->name);
	if ((r = metrics_put_sample(
		 out, name, labels, nl, (double)s / f->scale)) != 0)
		return r;
	snprintf(name, sizeof(name), "%s_count", f->name);
	return metrics_put_sample(out, name, labels, nl, (double)acc);
}

static int
put_family(struct buf *out, const struct family *f)
{
	unsigned n1 = dim_n(f->d1), n2 = dim_n(f->d2), c2 = dim_cap(f->d2);
	unsigned cells = f->bounds != NULL ? HCELLS(f->nb) : 1;
	const char *labels[4];
	size_t nl;
	int r;

	if ((r = metrics_put_family(out, f->name,
		 f->bounds != NULL ? "histogram" : "counter", f->help)) != 0)
		return r;
	for (unsigned i = 0; i < n1; i++) {
		for (unsigned j = 0; j < n2; j++) {
			unsigned base = f->base + (i * c2 + j) * cells;
			uint64_t v;

			nl = 0;
			if (f->d1 != NULL) {
				labels[0] = f->d1->name;
				labels[1] = f->d1->values[i];
				nl = 1;
			}
			if (f->d2 != NULL) {
				labels[2 * nl] = f->d2->name;
				labels[2 * nl + 1] = f->d2->values[j];
				nl++;
			}
			if (f->bounds != NULL) {
				if ((r = put_histogram(
					 out, f, base, labels, nl)) != 0)
					return r;
				continue;
			}
			v = sum(base);
			if (v == 0 && f->sparse)
				continue;
			if ((r = buf_puts(out, f->name)) != 0 ||
			    (r = put_labels(out, labels, nl, NULL)) != 0 ||
			    (r = buf_printf(
				 out, " %llu\n", (unsigned long long)v)) != 0)
				return r;
		}
	}
	return 0;
}

int
metrics_render(struct buf *out)
{
	const char *version = atomic_load(&build_version);
	const char *bl[2] = { "version", version != NULL ? version : "" };
	metrics_collect_fn fn = atomic_load(&collector.fn);
	int r;

	if ((r = metrics_put_family(out, "portcullis_build_info", "gauge",
		 "The running build: always 1, its version as a label.")) !=
		0 ||
	    (r = metrics_put_sample(out, "portcullis_build_info", bl, 1, 1)) !=
		0 ||
	    (r = metrics_put_family(out, "process_start_time_seconds", "gauge",
		 "Start time of the process since the Unix epoch, in "
		 "seconds.")) != 0 ||
	    (r = metrics_put_sample(out, "process_start_time_seconds", NULL, 0,
		 (double)atomic_load(&start_time))) != 0 ||
	    (r = metrics_put_family(out, "portcullis_pwhash_queue_depth",
		 "gauge", "Password-hashing jobs waiting for a worker.")) !=
		0 ||
	    (r = metrics_put_sample(out, "portcullis_pwhash_queue_depth", NULL,
		 0, (double)atomic_load(&pwhash_queue))) != 0)
		return r;
	for (size_t i = 0; i < PC_NELEM(families); i++)
		if ((r = put_family(out, &families[i])) != 0)
			return r;
	if (fn != NULL)
		return fn(out, atomic_load(&collector.arg));
	return 0;
}
