/*
 * Login throttling and mail limits (SECURITY.md LG-03, LG-04, RS-07,
 * DS-04; parameters in Part 2.3). The counters live in the store
 * (src/store/throttle.c), so they hold across every node that shares it.
 *
 * Per account: consecutive failures n. Failures 1..login_delay_free cost
 * nothing; after failure n > free the next attempt waits
 * min(login_delay_base * 2^(n - free - 1), login_delay_max) from the last
 * failure; at n >= login_lock_after the account is locked until a
 * successful sign-in or a completed password reset.
 *
 * Mail (RS-07): every request that may send mail counts against its
 * client (IPv4 address or IPv6 /64) before any account work; a mail then
 * counts against the pair (account, client) and the account over all
 * clients, so a stranger uses up only his own share of the victim's mail.
 *
 * Per IP, per subnet (/24, /64) and globally: failed sign-ins in the
 * current fixed hour window [floor(now / 3600) * 3600, +3600). At the
 * limit, attempts are refused until the window ends. Fixed windows let a
 * burst of up to twice a limit straddle a boundary; the account schedule
 * above is not windowed, so that burst never helps against one account.
 *
 * TK-08 (client authentication) counts failures per IP and per (client,
 * IP) in the same windows. Its check reads nothing when the cache version
 * 'client_auth_failure_window' (src/store/versions.c), read once per grant
 * with the client cache's, is below the current window: every counted
 * failure raises it in the transaction that counts it, on any node.
 *
 * Every attempt is counted before its password is checked, in the store
 * transaction that checks the limits (throttle_login_begin), and counts
 * as a failure unless throttle_login_end says otherwise: N concurrent
 * attempts count as N, on one node or many.
 *
 * A device cookie (LG-03; issued after a successful sign-in, bound to its
 * user) lets its browser skip the account's delay, not the lock and not
 * the IP limits. Its attempts count on the account as every attempt does,
 * and on the cookie too: after device_cookie_failures of them (without a
 * success in between) it no longer helps.
 *
 * The account key is stored as hex SHA-256 of a label and the key the
 * caller passes (the lower-cased email), so the store keeps no typed
 * email and no password typed into the email field.
 */
#include <string.h>

#include "auth/auth.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "util/metrics.h"
#include "util/netaddr.h"

#define WINDOW THROTTLE_WINDOW

static const char account_label[] = "portcullis-throttle-account-v1";
static const char client_label[] = "portcullis-throttle-client-v1";

static void
account_hash(const char *account_key, char out[PC_SHA256_HEX_LEN + 1])
{
	struct buf b;

	/* The label's NUL separates it from the key. */
	buf_init(&b, sizeof(account_label) + strlen(account_key));
	if (buf_put(&b, account_label, sizeof(account_label)) != 0 ||
	    buf_puts(&b, account_key) != 0)
		fatal("throttle: account key buffer");
	hash_sha256_hex(b.p, b.len, out);
	buf_free(&b);
}

/* The canonical form of ip and its subnet key. */
static int
ip_keys(
    const char *ip, char canon[NETADDR_TEXT_MAX], char subnet[NETADDR_KEY_MAX])
{
	struct netaddr a;
	int r;

	if (ip == NULL || netaddr_parse(ip, strlen(ip), &a) != 0)
		return PC_ERR_INVALID;
	if ((r = netaddr_format(&a, canon, NETADDR_TEXT_MAX)) != 0)
		return r;
	return netaddr_subnet_key(canon, subnet, NETADDR_KEY_MAX);
}

/* The start of the fixed window holding now (floor, also for now < 0). */
static int64_t
window_start(int64_t now)
{
	int64_t m = now % WINDOW;

	return m < 0 ? now - m - WINDOW : now - m;
}

int64_t
throttle_delay(const struct config *cfg, int64_t failures)
{
	int64_t base = cfg->login_delay_base > 0 ? cfg->login_delay_base : 1;
	int64_t max = cfg->login_delay_max > 0 ? cfg->login_delay_max : 1;
	int64_t e;

	if (failures <= cfg->login_delay_free)
		return 0;
	/* failures > free >= 0, so e >= 0 and cannot overflow. */
	e = failures - cfg->login_delay_free - 1;
	if (e >= 62 || base > (max >> e))
		return max;
	return base << e;
}

static int64_t
sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	return a + b;
}

static void
refuse(struct throttle_verdict *v, int64_t retry_after)
{
	v->allowed = false;
	if (retry_after < 1)
		retry_after = 1;
	if (retry_after > v->retry_after)
		v->retry_after = retry_after;
}

/* The policy of LG-03 and LG-04 over what an attempt found. */
struct decide_ctx {
	const struct config *cfg;
	int64_t now;
	int64_t window_start;
	struct throttle_verdict *v;
};

static bool
decide(void *arg, const struct store_throttle_login *st)
{
	struct decide_ctx *d = arg;
	const struct config *cfg = d->cfg;
	int64_t delay, left;

	d->v->allowed = true;
	d->v->retry_after = 0;
	d->v->locked = false;
	/* The lock holds for device cookies too; the delay does not. */
	if (st->failures >= cfg->login_lock_after) {
		d->v->locked = true;
		refuse(d->v, cfg->login_delay_max);
	} else if (!st->device &&
	    (delay = throttle_delay(cfg, st->failures)) > 0) {
		/* Never longer than the delay itself, even when another
		 * node's clock ran ahead. */
		left = sat_add(st->last_failure_at, delay) - d->now;
		if (left > delay)
			left = delay;
		if (left > 0)
			refuse(d->v, left);
	}
	left = d->window_start + WINDOW - d->now;
	if (st->ip_count >= cfg->login_ip_failures ||
	    st->subnet_count >= cfg->login_subnet_failures ||
	    st->global_count >= cfg->login_global_failures)
		refuse(d->v, left);
	return d->v->allowed;
}

static void
attempt_keys(const struct throttle_attempt *t, struct store_throttle_attempt *a)
{
	memset(a, 0, sizeof(*a));
	a->account_key = t->account;
	a->ip = t->ip;
	a->subnet = t->subnet;
	a->device_hash = t->device_hash[0] != '\0' ? t->device_hash : NULL;
	a->user_id = t->user_id[0] != '\0' ? t->user_id : NULL;
	a->window_start = t->window_start;
}

int
throttle_login_begin(struct db *db, const struct config *cfg,
    const char *account_key, const char *ip, const char *device_hash,
    const char *user_id, int64_t now, struct throttle_attempt *out)
{
	struct store_throttle_attempt a;
	struct decide_ctx d;
	bool allowed = false, device = false;
	int r;

	/* Fail closed: a caller that ignores r still sees a refusal. */
	memset(out, 0, sizeof(*out));
	out->v.allowed = false;
	out->v.retry_after = 1;
	if (account_key == NULL)
		return PC_ERR_INVALID;
	if ((r = ip_keys(ip, out->ip, out->subnet)) != 0)
		return r;
	account_hash(account_key, out->account);
	out->window_start = window_start(now);
	/* A device cookie only ever speaks for the user it was issued to. */
	if (device_hash != NULL && user_id != NULL &&
	    strlen(device_hash) == PC_SHA256_HEX_LEN &&
	    strlen(user_id) < sizeof(out->user_id)) {
		memcpy(out->device_hash, device_hash, PC_SHA256_HEX_LEN + 1);
		memcpy(out->user_id, user_id, strlen(user_id) + 1);
	}
	attempt_keys(out, &a);
	a.now = now;
	a.device_limit = cfg->device_cookie_failures;
	d.cfg = cfg;
	d.now = now;
	d.window_start = out->window_start;
	d.v = &out->v;
	if ((r = store_throttle_login_begin(
		 db, &a, decide, &d, &allowed, &device)) != 0) {
		out->v.allowed = false;
		out->v.retry_after = 1;
		return r;
	}
	out->counted = allowed;
	out->device = device;
	if (!allowed && out->v.allowed) {
		/* Refused by the store without a verdict: never let through. */
		out->v.allowed = false;
		out->v.retry_after = 1;
	}
	if (!out->v.allowed)
		metrics_throttled(METRICS_LIMITER_LOGIN);
	return 0;
}

int
throttle_login_end(struct db *db, struct throttle_attempt *t, bool success)
{
	struct store_throttle_attempt a;
	int r;

	if (!t->counted)
		return 0;
	attempt_keys(t, &a);
	if ((r = store_throttle_login_end(db, &a, t->device, success)) == 0)
		t->counted = false;
	return r;
}

int
throttle_login_success(struct db *db, const char *account_key)
{
	char hk[PC_SHA256_HEX_LEN + 1];

	if (account_key == NULL)
		return PC_ERR_INVALID;
	account_hash(account_key, hk);
	return store_throttle_account_reset(db, hk);
}

/* The (client_id, IP) pair's key: a label, the id and the IP, NUL-split. */
static void
client_pair_hash(
    const char *client_id, const char *canon, char out[PC_SHA256_HEX_LEN + 1])
{
	struct buf b;

	buf_init(
	    &b, sizeof(client_label) + strlen(client_id) + 1 + strlen(canon));
	if (buf_put(&b, client_label, sizeof(client_label)) != 0 ||
	    buf_put(&b, client_id, strlen(client_id) + 1) != 0 ||
	    buf_puts(&b, canon) != 0)
		fatal("throttle: client key buffer");
	hash_sha256_hex(b.p, b.len, out);
	buf_free(&b);
}

int
throttle_client_check(struct db *db, const struct config *cfg,
    const char *client_id, const char *ip, int64_t now,
    struct throttle_client *out)
{
	return throttle_client_check_at(db, cfg, client_id, ip, now, NULL, out);
}

int
throttle_client_check_at(struct db *db, const struct config *cfg,
    const char *client_id, const char *ip, int64_t now,
    const int64_t *failure_window, struct throttle_client *out)
{
	char subnet[NETADDR_KEY_MAX];
	int64_t ip_count = 0;
	int r;

	memset(out, 0, sizeof(*out));
	out->v.allowed = false;
	out->v.retry_after = 1;
	if (client_id == NULL)
		return PC_ERR_INVALID;
	_Static_assert(sizeof(out->ip) >= NETADDR_TEXT_MAX, "ip buffer");
	_Static_assert(
	    sizeof(out->pair) == PC_SHA256_HEX_LEN + 1, "pair buffer");
	if ((r = ip_keys(ip, out->ip, subnet)) != 0)
		return r;
	client_pair_hash(client_id, out->ip, out->pair);
	out->window_start = window_start(now);
	/*
	 * Decision 0049: no failure was counted in this window or later by
	 * any node, so there is no row to read: both counts are 0. The same
	 * comparisons follow (a limit of 0 still refuses).
	 */
	if ((failure_window == NULL || *failure_window >= out->window_start) &&
	    (r = store_throttle_client_read(db, out->ip, out->pair,
		 out->window_start, &ip_count, &out->pair_failures)) != 0)
		return r;
	out->v.allowed = true;
	out->v.retry_after = 0;
	if (ip_count >= cfg->client_auth_ip_failures ||
	    out->pair_failures >= cfg->client_auth_pair_failures) {
		refuse(&out->v, out->window_start + WINDOW - now);
		metrics_throttled(METRICS_LIMITER_CLIENT_AUTH);
	}
	return 0;
}

int
throttle_client_failure(struct db *db, const struct throttle_client *t)
{
	if (t->ip[0] == '\0' || t->pair[0] == '\0')
		return PC_ERR_INVALID;
	return store_throttle_client_failure(
	    db, t->ip, t->pair, t->window_start);
}

int
throttle_client_success(struct db *db, const struct throttle_client *t)
{
	if (t->pair[0] == '\0')
		return PC_ERR_INVALID;
	if (t->pair_failures <= 0)
		return 0; /* nothing to clear: no store write */
	return store_throttle_client_clear(db, t->pair);
}

int
throttle_apikey_check(struct db *db, const struct config *cfg, const char *ip,
    int64_t now, struct throttle_apikey *out)
{
	char subnet[NETADDR_KEY_MAX];
	int64_t count = 0;
	int r;

	memset(out, 0, sizeof(*out));
	out->v.allowed = false;
	out->v.retry_after = 1;
	_Static_assert(sizeof(out->ip) >= NETADDR_TEXT_MAX, "ip buffer");
	if ((r = ip_keys(ip, out->ip, subnet)) != 0)
		return r;
	out->window_start = window_start(now);
	if ((r = store_throttle_apikey_read(
		 db, out->ip, out->window_start, &count)) != 0)
		return r;
	out->v.allowed = true;
	out->v.retry_after = 0;
	if (count >= cfg->api_key_ip_failures) {
		refuse(&out->v, out->window_start + WINDOW - now);
		metrics_throttled(METRICS_LIMITER_API_KEY);
	}
	return 0;
}

int
throttle_apikey_failure(struct db *db, const struct throttle_apikey *t)
{
	if (t->ip[0] == '\0')
		return PC_ERR_INVALID;
	return store_throttle_apikey_failure(db, t->ip, t->window_start);
}

/*
 * The client a mail limit counts: the IPv4 address, or the IPv6 /64 (a
 * host usually has a whole /64, so counting single IPv6 addresses would
 * let one host count as 2^64 clients).
 */
static int
mail_client(const char *ip, char out[NETADDR_KEY_MAX])
{
	char canon[NETADDR_TEXT_MAX];
	struct netaddr a;
	int r;

	if (ip == NULL || netaddr_parse(ip, strlen(ip), &a) != 0)
		return PC_ERR_INVALID;
	if ((r = netaddr_format(&a, canon, sizeof(canon))) != 0)
		return r;
	if (!a.v4)
		return netaddr_subnet_key(canon, out, NETADDR_KEY_MAX);
	memcpy(out, canon, strlen(canon) + 1);
	return 0;
}

int
throttle_mail_ip(struct db *db, const struct config *cfg, const char *ip,
    int64_t now, bool *allowed)
{
	char client[NETADDR_KEY_MAX];
	int r;

	*allowed = false;
	if ((r = mail_client(ip, client)) != 0)
		return r;
	r = store_throttle_mail_ip(
	    db, client, window_start(now), cfg->mail_per_ip, allowed);
	if (r == 0 && !*allowed)
		metrics_throttled(METRICS_LIMITER_MAIL_IP);
	return r;
}

int
throttle_ip_count(struct db *db, const char *scope, const char *ip,
    int64_t limit, int64_t now, bool *allowed)
{
	char client[NETADDR_KEY_MAX];
	int r;

	*allowed = false;
	if ((r = mail_client(ip, client)) != 0)
		return r;
	r = store_throttle_count_below(
	    db, scope, client, window_start(now), limit, allowed);
	if (r == 0 && !*allowed)
		metrics_throttled(METRICS_LIMITER_IP);
	return r;
}

static const char mail_pair_label[] = "portcullis-throttle-mail-pair-v1";

int
throttle_mail_account(struct db *db, const struct config *cfg,
    const char *account_key, const char *ip, int64_t now, bool *allowed)
{
	char hk[PC_SHA256_HEX_LEN + 1], pk[PC_SHA256_HEX_LEN + 1],
	    client[NETADDR_KEY_MAX];
	struct buf b;
	int r;

	*allowed = false;
	if (account_key == NULL)
		return PC_ERR_INVALID;
	if ((r = mail_client(ip, client)) != 0)
		return r;
	account_hash(account_key, hk);
	/* label NUL account NUL client: no two pairs share a key. */
	buf_init(&b,
	    sizeof(mail_pair_label) + strlen(account_key) + 1 + strlen(client));
	if (buf_put(&b, mail_pair_label, sizeof(mail_pair_label)) != 0 ||
	    buf_put(&b, account_key, strlen(account_key) + 1) != 0 ||
	    buf_puts(&b, client) != 0)
		fatal("throttle: mail pair key buffer");
	hash_sha256_hex(b.p, b.len, pk);
	buf_free(&b);
	r = store_throttle_mail_account(db, hk, pk, window_start(now),
	    cfg->mail_per_account, cfg->mail_per_account_total, allowed);
	if (r == 0 && !*allowed)
		metrics_throttled(METRICS_LIMITER_MAIL_ACCOUNT);
	return r;
}

int
throttle_purge(
    struct db *db, const struct config *cfg, int64_t now, int64_t *deleted)
{
	int64_t idle = cfg->login_delay_max > THROTTLE_ACCOUNT_IDLE
	    ? cfg->login_delay_max
	    : THROTTLE_ACCOUNT_IDLE;

	return store_throttle_purge(db, now - 2 * WINDOW, now - idle,
	    cfg->login_lock_after, now, deleted);
}
