/*
 * metrics: the process's Prometheus counters, gauges and histograms
 * (issue 17 item 2, decision 0072), in pc_util so that every layer can
 * count without a new link dependency.
 *
 *	metrics_token_issued(METRICS_GRANT_CLIENT_CREDENTIALS,
 *	    METRICS_KIND_SERVICE_ACCOUNT);
 *
 * Every label set is fixed when the program is built: enums below, the
 * route table's paths (registered once at start-up, at most
 * METRICS_ROUTES_MAX) and a fixed list of status codes. No client id,
 * user id or other value a client chooses is ever a label (a label
 * value per client would let anyone grow the scrape without bound).
 *
 * Lock-free and allocation-free per event: each thread adds to its own
 * shard of every cell (C11 atomics, relaxed), and a scrape sums the
 * shards, so threads counting the same event do not share a cache line.
 */
#ifndef PC_METRICS_H
#define PC_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* Route labels: the route table's paths; 0 is "(unmatched)" (404). */
#define METRICS_ROUTES_MAX 160
#define METRICS_ROUTE_UNMATCHED 0u

enum metrics_outcome {
	METRICS_SUCCESS = 0,
	METRICS_FAILURE,
	METRICS_OUTCOME_N
};

/* The factor a sign-in turned on (the strongest it proved). */
enum metrics_factor {
	METRICS_FACTOR_PASSWORD = 0,
	METRICS_FACTOR_OTP,	 /* TOTP */
	METRICS_FACTOR_RECOVERY, /* a recovery code */
	METRICS_FACTOR_PASSKEY,
	METRICS_FACTOR_POLICY, /* refused by policy (no second factor) */
	METRICS_FACTOR_OTHER,
	METRICS_FACTOR_N
};

enum metrics_grant {
	METRICS_GRANT_AUTHORIZATION_CODE = 0,
	METRICS_GRANT_REFRESH_TOKEN,
	METRICS_GRANT_CLIENT_CREDENTIALS,
	METRICS_GRANT_TOKEN_EXCHANGE,
	METRICS_GRANT_JWT_BEARER,
	METRICS_GRANT_OTHER,
	METRICS_GRANT_N
};

/* Who obtained a token. */
enum metrics_client_kind {
	METRICS_KIND_USER_CLIENT = 0, /* a client, for a user or itself */
	METRICS_KIND_SERVICE_ACCOUNT,
	METRICS_KIND_API_KEY,
	METRICS_KIND_WORKLOAD,
	METRICS_KIND_AGENT,
	METRICS_KIND_N
};

/* Alerts counted by kind. */
enum metrics_alert {
	METRICS_ALERT_REFRESH_REUSE = 0,
	METRICS_ALERT_CODE_REPLAY,
	METRICS_ALERT_N
};

enum metrics_limiter {
	METRICS_LIMITER_LOGIN = 0,
	METRICS_LIMITER_CLIENT_AUTH,
	METRICS_LIMITER_API_KEY,
	METRICS_LIMITER_MAIL_IP,
	METRICS_LIMITER_MAIL_ACCOUNT,
	METRICS_LIMITER_IP,
	METRICS_LIMITER_PWHASH_QUEUE,
	METRICS_LIMITER_N
};

enum metrics_store_op {
	METRICS_STORE_BATCH_BEGIN = 0,
	METRICS_STORE_BATCH_SAVEPOINT,
	METRICS_STORE_BATCH_COMMIT,
	METRICS_STORE_TX_BEGIN,
	METRICS_STORE_TX_COMMIT,
	METRICS_STORE_OP_N
};

/* How an audit row was appended (decision 0051). */
enum metrics_audit_path {
	METRICS_AUDIT_INLINE = 0, /* chained at once (SQLite) */
	METRICS_AUDIT_PENDING,	  /* pending row for the chainer (PostgreSQL) */
	METRICS_AUDIT_TX_INLINE,  /* inside a caller's transaction, chained */
	METRICS_AUDIT_TX_PENDING, /* inside a caller's transaction, pending */
	METRICS_AUDIT_PATH_N
};

/*
 * The route id of path (the table's own string, which must outlive the
 * process's metrics): the same id for the same path; METRICS_ROUTE_UNMATCHED
 * once METRICS_ROUTES_MAX paths are known. Called at start-up.
 */
unsigned metrics_route_id(const char *path);

/* One answered request: its route id, status and time taken. */
void metrics_http_request(unsigned route, int status, uint64_t usec);
void metrics_signin(enum metrics_outcome o, enum metrics_factor f);
void metrics_token_issued(enum metrics_grant g, enum metrics_client_kind k);
void metrics_alert(enum metrics_alert a);
void metrics_throttled(enum metrics_limiter l);
/* The hashing pool: jobs waiting (+1 queued, -1 taken) and how long a
 * job waited before a worker took it. */
void metrics_pwhash_queue_add(int64_t delta);
void metrics_pwhash_wait(uint64_t usec);
void metrics_store_error(enum metrics_store_op op);
void metrics_batch_size(unsigned n);
void metrics_audit_append(enum metrics_audit_path p);

/* The kind label of a client by its kind column ("agent", "client"). */
enum metrics_client_kind metrics_kind_of_client(const char *kind);
/* The grant label of an OAuth grant name ("client_credentials", ...). */
enum metrics_grant metrics_grant_of(const char *grant);
/* The factor label of a sign-in's amr ("pwd otp mfa" -> otp). */
enum metrics_factor metrics_factor_of_amr(const char *amr);

/* The process basics: build version and start time (unix seconds). */
void metrics_set_process(const char *version, int64_t start_time);

/*
 * Gauges read at scrape time (the signing keys' ages, from the signer):
 * fn writes its families into out with metrics_put_family() and
 * metrics_put_sample(); 0 or a negative PC_ERR_*. One collector; set it
 * before the metrics listener starts, clear it (NULL) after it stops.
 */
struct buf;
typedef int (*metrics_collect_fn)(struct buf *out, void *arg);
void metrics_set_collector(metrics_collect_fn fn, void *arg);

/* "# HELP name help" and "# TYPE name type", escaped (format 0.0.4). */
int metrics_put_family(struct buf *out, const char *name, const char *type,
    const char *help) PC_WUR;
/* name{k1="v1",...} value; labels are nlabels (key, value) pairs, the
 * values escaped. */
int metrics_put_sample(struct buf *out, const char *name,
    const char *const *labels, size_t nlabels, double value) PC_WUR;

/*
 * Every family in the text exposition format 0.0.4 into out; 0 or
 * PC_ERR_TOO_LARGE (out's cap).
 */
int metrics_render(struct buf *out) PC_WUR;
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Tests: every count back to zero (routes stay known). */
void metrics_reset(void);

#endif
