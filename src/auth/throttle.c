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
 * The account key is stored as hex SHA-256 of a label and the key the
 * caller passes (the lower-cased email), so the store keeps no typed
 * email and no password typed into the email field.
 */
#include <string.h>

#include "auth/auth.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "util/netaddr.h"

#define WINDOW THROTTLE_WINDOW

static const char account_label[] = "portcullis-throttle-account-v1";

static void
account_hash(const char *account_key, char out[2 * SHA256_LEN + 1])
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

int
throttle_login_check(struct db *db, const struct config *cfg,
    const char *account_key, const char *ip, int64_t now,
    struct throttle_verdict *out)
{
	char hk[2 * SHA256_LEN + 1], canon[NETADDR_TEXT_MAX],
	    subnet[NETADDR_KEY_MAX];
	struct store_throttle_login st;
	int64_t ws = window_start(now), delay, left;
	int r;

	/* Fail closed: a caller that ignores r still sees a refusal. */
	out->allowed = false;
	out->retry_after = 1;
	out->locked = false;
	if (account_key == NULL)
		return PC_ERR_INVALID;
	if ((r = ip_keys(ip, canon, subnet)) != 0)
		return r;
	account_hash(account_key, hk);
	if ((r = store_throttle_login_read(db, hk, canon, subnet, ws, &st)) !=
	    0)
		return r;

	out->allowed = true;
	out->retry_after = 0;
	if (st.failures >= cfg->login_lock_after) {
		out->locked = true;
		refuse(out, cfg->login_delay_max);
	} else if ((delay = throttle_delay(cfg, st.failures)) > 0) {
		/* Never longer than the delay itself, even when another
		 * node's clock ran ahead. */
		left = sat_add(st.last_failure_at, delay) - now;
		if (left > delay)
			left = delay;
		if (left > 0)
			refuse(out, left);
	}
	left = ws + WINDOW - now;
	if (st.ip_count >= cfg->login_ip_failures ||
	    st.subnet_count >= cfg->login_subnet_failures ||
	    st.global_count >= cfg->login_global_failures)
		refuse(out, left);
	return 0;
}

int
throttle_login_failure(struct db *db, const struct config *cfg,
    const char *account_key, const char *ip, int64_t now)
{
	char hk[2 * SHA256_LEN + 1], canon[NETADDR_TEXT_MAX],
	    subnet[NETADDR_KEY_MAX];
	int r;

	(void)cfg; /* the schedule is applied by the check */
	if (account_key == NULL)
		return PC_ERR_INVALID;
	if ((r = ip_keys(ip, canon, subnet)) != 0)
		return r;
	account_hash(account_key, hk);
	return store_throttle_login_failure(
	    db, hk, canon, subnet, now, window_start(now));
}

int
throttle_login_success(struct db *db, const char *account_key)
{
	char hk[2 * SHA256_LEN + 1];

	if (account_key == NULL)
		return PC_ERR_INVALID;
	account_hash(account_key, hk);
	return store_throttle_account_reset(db, hk);
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
	return store_throttle_mail_ip(
	    db, client, window_start(now), cfg->mail_per_ip, allowed);
}

static const char mail_pair_label[] = "portcullis-throttle-mail-pair-v1";

int
throttle_mail_account(struct db *db, const struct config *cfg,
    const char *account_key, const char *ip, int64_t now, bool *allowed)
{
	char hk[2 * SHA256_LEN + 1], pk[2 * SHA256_LEN + 1],
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
	return store_throttle_mail_account(db, hk, pk, window_start(now),
	    cfg->mail_per_account, cfg->mail_per_account_total, allowed);
}

int
throttle_purge(
    struct db *db, const struct config *cfg, int64_t now, int64_t *deleted)
{
	int64_t idle = cfg->login_delay_max > THROTTLE_ACCOUNT_IDLE
	    ? cfg->login_delay_max
	    : THROTTLE_ACCOUNT_IDLE;

	return store_throttle_purge(
	    db, now - 2 * WINDOW, now - idle, cfg->login_lock_after, deleted);
}
