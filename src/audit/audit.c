/*
 * The audit log's hash chain: canonical row encoding, HMAC-SHA-256 links,
 * append and verify. See audit.h for the construction.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "store/store.h"
#include "util/log.h"
#include "util/metrics.h"

#define VERIFY_PAGE 512

void
audit_key(const struct masterkey *mk, uint8_t out[32])
{
	masterkey_derive(mk, "auditlog", 1, out);
}

void
audit_session_hash(
    const char *sid, size_t sid_len, char out[AUDIT_SESSION_HASH_HEX + 1])
{
	uint8_t h[PC_SHA256_LEN];

	hash_sha256(sid, sid_len, h);
	hex_encode(h, AUDIT_SESSION_HASH_HEX / 2, out);
	sodium_memzero(h, sizeof(h));
}

/* --- the canonical encoding ---------------------------------------- */

static void
mac_u64(crypto_auth_hmacsha256_state *st, uint64_t v)
{
	uint8_t b[8];

	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
	crypto_auth_hmacsha256_update(st, b, sizeof(b));
}

/* 0x00 for NULL; 0x01, a 4-byte big-endian length and the bytes else. */
static void
mac_field(crypto_auth_hmacsha256_state *st, const char *s)
{
	uint8_t tag = s == NULL ? 0 : 1;
	size_t n = s == NULL ? 0 : strlen(s);
	uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16),
		(uint8_t)(n >> 8), (uint8_t)n };

	crypto_auth_hmacsha256_update(st, &tag, 1);
	if (s == NULL)
		return;
	crypto_auth_hmacsha256_update(st, len, sizeof(len));
	crypto_auth_hmacsha256_update(st, (const uint8_t *)s, n);
}

/* The columns both macs cover, after their label and position (ts_ms
 * to details), then the mac itself as hex; wipes the state. */
static void
mac_columns(crypto_auth_hmacsha256_state *st, const struct store_audit_row *row,
    char out[PC_SHA256_HEX_LEN + 1])
{
	uint8_t mac[crypto_auth_hmacsha256_BYTES];

	mac_u64(st, (uint64_t)row->ts_ms);
	mac_field(st, row->event);
	mac_field(st, row->outcome);
	mac_field(st, row->actor);
	mac_field(st, row->target);
	mac_field(st, row->ip);
	mac_field(st, row->user_agent);
	mac_field(st, row->request_id);
	mac_field(st, row->session_hash);
	mac_field(st, row->details);
	crypto_auth_hmacsha256_final(st, mac);
	hex_encode(mac, sizeof(mac), out);
	sodium_memzero(st, sizeof(*st));
	sodium_memzero(mac, sizeof(mac));
}

static void
row_mac(const uint8_t key[32], const struct store_audit_row *row,
    char out[PC_SHA256_HEX_LEN + 1])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, 32);
	mac_field(&st, "pc-audit-v1");
	mac_field(&st, row->prev_mac);
	mac_u64(&st, (uint64_t)row->seq);
	mac_columns(&st, row, out);
}

/* A pending row's own mac: the chain mac's encoding with the id in place
 * of (prev_mac, seq), under its own label, so neither passes for the
 * other. */
static void
pending_mac(const uint8_t key[32], const struct store_audit_row *row,
    char out[PC_SHA256_HEX_LEN + 1])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, 32);
	mac_field(&st, "pc-audit-pending-v1");
	mac_field(&st, row->id);
	mac_columns(&st, row, out);
}

/* An anchor's own mac (decision 0077): every column, under its label. */
void
audit_anchor_mac(const uint8_t key[32], const struct store_audit_anchor *a,
    char out[PC_SHA256_HEX_LEN + 1])
{
	crypto_auth_hmacsha256_state st;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&st, key, 32);
	mac_field(&st, "pc-audit-anchor-v1");
	mac_u64(&st, (uint64_t)a->seq);
	mac_field(&st, a->mac);
	mac_u64(&st, (uint64_t)a->ts_ms);
	mac_u64(&st, (uint64_t)a->first_seq);
	mac_u64(&st, (uint64_t)a->pruned);
	mac_u64(&st, (uint64_t)a->cutoff_ms);
	mac_u64(&st, (uint64_t)a->pruned_at_ms);
	crypto_auth_hmacsha256_final(&st, mac);
	hex_encode(mac, sizeof(mac), out);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(mac, sizeof(mac));
}

void
audit_key_id(const uint8_t key[32], char out[AUDIT_KEY_ID_MAX])
{
	crypto_auth_hmacsha256_state st;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	char hex[17];

	crypto_auth_hmacsha256_init(&st, key, 32);
	mac_field(&st, "pc-audit-key-id-v1");
	crypto_auth_hmacsha256_final(&st, mac);
	hex_encode(mac, 8, hex);
	snprintf(out, AUDIT_KEY_ID_MAX, "auditlog/1:%s", hex);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(mac, sizeof(mac));
}

/* --- append --------------------------------------------------------- */

/* Pending rows appended by this process (the start of their ids). */
static _Atomic uint64_t pending_count;

/* The process's chainer (audit_set_chainer()). */
static struct {
	void (*_Atomic wake)(void *arg);
	void *_Atomic arg;
} chainer;

void
audit_set_chainer(void (*wake)(void *arg), void *arg)
{
	atomic_store(&chainer.arg, arg);
	atomic_store(&chainer.wake, wake);
}

/*
 * A copy cut to at most max bytes, never inside a UTF-8 sequence. A byte
 * that is not part of a well-formed UTF-8 sequence (a header may carry any
 * octet from 0x80 up) is written as "\xNN", the rest kept as it is:
 * PostgreSQL refuses such text (the row, and with it the request, would
 * be lost) and JSON cannot carry it (audit export, log lines).
 */
static char *
capped(const char *s, size_t max)
{
	struct buf b;
	size_t len, i = 0;
	char *out;

	if (s == NULL)
		return NULL;
	len = strnlen(s, max + 1);
	/* The common case: short and well-formed. */
	if (len <= max && str_is_utf8((struct str){ .p = s, .len = len }))
		return xstrndup(s, len);
	buf_init(&b, max + 4);
	while (i < len) {
		unsigned c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		int r;

		if (n <= len - i &&
		    str_is_utf8((struct str){ .p = s + i, .len = n })) {
			if (b.len + n > max)
				break;
			r = buf_put(&b, s + i, n);
			i += n;
		} else {
			if (b.len + 4 > max)
				break;
			r = buf_printf(&b, "\\x%02x", c);
			i++;
		}
		if (r != 0)
			break;
	}
	out = xstrndup(buf_cstr(&b), b.len);
	buf_free(&b);
	return out;
}

/* --- the log stream (issue 17 item 3) ------------------------------- */

static atomic_int log_mode = AUDIT_LOG_OFF;

int
audit_log_mode_parse(const char *s, enum audit_log_mode *out)
{
	static const char *const names[] = { "off", "people", "all" };

	for (size_t i = 0; s != NULL && i < PC_NELEM(names); i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum audit_log_mode)i;
			return 0;
		}
	return PC_ERR_INVALID;
}

void
audit_set_log_mode(enum audit_log_mode m)
{
	atomic_store(&log_mode, (int)m);
}

/* A routine machine-token issue: left out under AUDIT_LOG_PEOPLE. */
static bool
machine_routine(const struct audit_event *ev)
{
	const char *g;

	if (strcmp(ev->event, "token.issue") != 0 ||
	    strcmp(ev->outcome, "success") != 0 || ev->details == NULL)
		return false;
	g = json_string_value(json_object_get(ev->details, "grant"));
	return g != NULL && strcmp(g, "authorization_code") != 0 &&
	    strcmp(g, "refresh_token") != 0;
}

/* Whether ev's row goes to the log once durable. */
static bool
wants_line(const struct audit_event *ev)
{
	int m = atomic_load(&log_mode);

	return m == AUDIT_LOG_ALL ||
	    (m == AUDIT_LOG_PEOPLE && !machine_routine(ev));
}

/*
 * The row's line: its fields only (AU-03: a row holds no secret), each
 * escaped by the log (AU-04), details as the JSON object it is. The
 * request id is the row's: this may run on another request's thread
 * (a group commit's leader).
 */
static void
security_line(const struct store_audit_row *row)
{
	const char *rid = log_get_rid();
	struct log_line l;

	log_set_rid(NULL);
	log_begin(&l, strcmp(row->outcome, "alert") == 0 ? LOG_WARN : LOG_INFO,
	    "security");
	log_str(&l, "type", row->event);
	log_str(&l, "outcome", row->outcome);
	log_int(&l, "audit_ts_ms", row->ts_ms);
	log_str(&l, "actor", row->actor);
	log_str(&l, "target", row->target);
	log_str(&l, "ip", row->ip);
	log_str(&l, "request_id", row->request_id);
	log_str(&l, "session_hash", row->session_hash);
	log_str(&l, "user_agent", row->user_agent);
	log_json(&l, "details", row->details);
	log_end(&l);
	log_set_rid(rid);
}

static int
append_mac(void *arg, struct store_audit_row *row)
{
	row_mac(arg, row, row->mac);
	return 0;
}

static bool
outcome_ok(const char *s)
{
	return strcmp(s, "success") == 0 || strcmp(s, "failure") == 0 ||
	    strcmp(s, "alert") == 0;
}

/* The row of ev, cut to the caps; 0 or PC_ERR_INVALID (row cleared). */
static int
build_row(const struct audit_event *ev, struct store_audit_row *row)
{
	memset(row, 0, sizeof(*row));
	if (ev->event == NULL || ev->event[0] == '\0' || ev->outcome == NULL ||
	    !outcome_ok(ev->outcome) ||
	    (ev->details != NULL && !json_is_object(ev->details)))
		return PC_ERR_INVALID;
	row->ts_ms = ev->ts_ms != 0 ? ev->ts_ms : clock_now_ms();
	row->event = capped(ev->event, AUDIT_FIELD_MAX);
	row->outcome = xstrdup(ev->outcome);
	row->actor = capped(ev->actor, AUDIT_FIELD_MAX);
	row->target = capped(ev->target, AUDIT_FIELD_MAX);
	row->ip = capped(ev->ip, AUDIT_FIELD_MAX);
	row->user_agent = capped(ev->user_agent, AUDIT_USER_AGENT_MAX);
	row->request_id = capped(ev->request_id, AUDIT_FIELD_MAX);
	row->session_hash = capped(ev->session_hash, AUDIT_FIELD_MAX);
	if (ev->details != NULL) {
		row->details = json_dumps(ev->details, JSON_COMPACT);
		if (row->details == NULL) {
			store_audit_row_clear(row);
			return PC_ERR_INVALID;
		}
		if (strlen(row->details) > AUDIT_DETAILS_MAX) {
			free(row->details);
			row->details = xstrdup("{\"truncated\":true}");
		}
	}
	return 0;
}

/* The pending row of ev: its fresh id and its own mac. */
static int
build_pending_row(const uint8_t key[32], const struct audit_event *ev,
    struct store_audit_row *row)
{
	uint8_t id[STORE_AUDIT_ID_HEX / 2];
	uint64_t k;
	int r;

	if ((r = build_row(ev, row)) != 0)
		return r;
	/* A per-process count, then random bytes: rows of one millisecond
	 * chain in the order this process appended them, and ids of
	 * different processes never collide. */
	k = atomic_fetch_add(&pending_count, 1);
	for (int i = 7; i >= 0; i--, k >>= 8)
		id[i] = (uint8_t)(k & 0xff);
	randombytes_buf(id + 8, sizeof(id) - 8);
	hex_encode(id, sizeof(id), row->id);
	pending_mac(key, row, row->mac);
	return 0;
}

int
audit_append_pending(
    struct db *db, const uint8_t key[32], const struct audit_event *ev)
{
	struct store_audit_row row;
	int r;

	if ((r = build_pending_row(key, ev, &row)) != 0)
		return r;
	if ((r = store_audit_append_pending(db, &row)) == 0) {
		/* Durable: counted, and told to the log. */
		metrics_audit_append(METRICS_AUDIT_PENDING);
		if (wants_line(ev))
			security_line(&row);
	}
	store_audit_row_clear(&row);
	return r;
}

int
audit_append(struct db *db, const uint8_t key[32], const struct audit_event *ev)
{
	struct store_audit_row row;
	void (*wake)(void *arg);
	int r;

	if (!store_audit_chains_inline(db)) {
		if ((r = audit_append_pending(db, key, ev)) != 0)
			return r;
		/* Durable: the chain can wait for the chainer. */
		if ((wake = atomic_load(&chainer.wake)) != NULL)
			wake(atomic_load(&chainer.arg));
		else if (audit_chain(db, key, NULL) != 0)
			log_msg(LOG_INFO, "audit.chain_later",
			    "the row stays pending for a node's chainer");
		return 0;
	}
	if ((r = build_row(ev, &row)) != 0)
		return r;
	if ((r = store_audit_append(db, &row, append_mac, (void *)key)) == 0) {
		metrics_audit_append(METRICS_AUDIT_INLINE);
		if (wants_line(ev))
			security_line(&row);
	}
	store_audit_row_clear(&row);
	return r;
}

/* A row appended inside a caller's transaction, until that ends. */
struct tx_row {
	struct store_audit_row row;
	enum metrics_audit_path path;
	bool line;
};

/* db_on_end(): counted and logged only once the commit is durable. */
static void
tx_row_end(void *arg, bool committed)
{
	struct tx_row *t = arg;

	if (committed) {
		metrics_audit_append(t->path);
		if (t->line)
			security_line(&t->row);
	}
	store_audit_row_clear(&t->row);
	free(t);
}

/* Hands row (emptied) to the end of c's transaction. */
static void
after_tx(struct db_conn *c, const struct audit_event *ev,
    struct store_audit_row *row, enum metrics_audit_path path)
{
	struct tx_row *t = xmalloc(sizeof(*t));

	t->row = *row;
	t->path = path;
	t->line = wants_line(ev);
	memset(row, 0, sizeof(*row));
	db_on_end(c, tx_row_end, t);
}

/*
 * Inside the caller's write transaction. Where appends chain inline
 * (SQLite) the row is the next link; elsewhere (PostgreSQL) it is a
 * pending row in the caller's transaction, and the chainer is woken now:
 * it waits a moment to gather rows, and a row whose transaction commits
 * after that is linked by its next run (every second at the latest).
 */
int
audit_append_tx(
    struct db_conn *c, const uint8_t key[32], const struct audit_event *ev)
{
	struct store_audit_row row;
	void (*wake)(void *arg);
	int r;

	if (!store_audit_tx_chains_inline(c)) {
		if ((r = build_pending_row(key, ev, &row)) == 0 &&
		    (r = store_audit_append_pending_tx(c, &row)) == 0)
			after_tx(c, ev, &row, METRICS_AUDIT_TX_PENDING);
		store_audit_row_clear(&row);
		if (r == 0 && (wake = atomic_load(&chainer.wake)) != NULL)
			wake(atomic_load(&chainer.arg));
		return r;
	}
	if ((r = build_row(ev, &row)) == 0 &&
	    (r = store_audit_append_tx(c, &row, append_mac, (void *)key)) == 0)
		after_tx(c, ev, &row, METRICS_AUDIT_TX_INLINE);
	store_audit_row_clear(&row);
	return r;
}

/* --- the chainer ---------------------------------------------------- */

#define CHAIN_PAGE 256
#define CHAIN_PAGES_MAX 64 /* per call; the next call goes on */

static bool mac_eq(const char *a, const char *b);

static int
link_row(void *arg, struct store_audit_row *row)
{
	char want[PC_SHA256_HEX_LEN + 1];

	pending_mac(arg, row, want);
	if (!mac_eq(want, row->mac)) {
		struct log_line l;

		/* Never chained: the chain would vouch for a forgery. */
		log_begin(&l, LOG_ERROR, "audit.pending_forged");
		log_str(&l, "id", row->id);
		log_end(&l);
		return 1;
	}
	row_mac(arg, row, row->mac);
	return 0;
}

int
audit_chain(struct db *db, const uint8_t key[32], int64_t *chained)
{
	int64_t ts = INT64_MIN;
	char id[STORE_AUDIT_ID_HEX + 1] = "";
	size_t read = 0, n = 0;
	int r = 0;

	if (chained != NULL)
		*chained = 0;
	for (int page = 0; page < CHAIN_PAGES_MAX; page++) {
		r = store_audit_chain(
		    db, &ts, id, CHAIN_PAGE, link_row, (void *)key, &read, &n);
		if (r != 0)
			break;
		if (chained != NULL)
			*chained += (int64_t)n;
		if (read < CHAIN_PAGE)
			break;
	}
	return r;
}

/* --- verify --------------------------------------------------------- */

const char *
audit_fault_name(enum audit_fault f)
{
	switch (f) {
	case AUDIT_FAULT_NONE: return "none";
	case AUDIT_FAULT_MAC: return "mac";
	case AUDIT_FAULT_GAP: return "gap";
	case AUDIT_FAULT_CHAIN: return "chain";
	case AUDIT_FAULT_TRUNCATED: return "truncated";
	case AUDIT_FAULT_HEAD: return "head";
	case AUDIT_FAULT_EXTRA: return "extra";
	case AUDIT_FAULT_PENDING: return "pending";
	case AUDIT_FAULT_ANCHOR: return "anchor";
	}
	return "unknown";
}

static bool
mac_eq(const char *a, const char *b)
{
	return strlen(a) == PC_SHA256_HEX_LEN &&
	    strlen(b) == PC_SHA256_HEX_LEN &&
	    sodium_memcmp(a, b, PC_SHA256_HEX_LEN) == 0;
}

static int
broken(struct audit_verify_result *out, enum audit_fault f, int64_t seq)
{
	out->fault = f;
	out->bad_seq = seq;
	switch (f) {
	case AUDIT_FAULT_MAC:
		snprintf(out->reason, sizeof(out->reason),
		    "row edited: its mac does not verify (or wrong master "
		    "key)");
		break;
	case AUDIT_FAULT_GAP:
		snprintf(out->reason, sizeof(out->reason),
		    "seq %lld is missing: row deleted%s", (long long)seq,
		    out->anchor_seq > 0 && seq == out->anchor_seq + 1
			? " (no prune anchor explains it)"
			: "");
		break;
	case AUDIT_FAULT_CHAIN:
		snprintf(out->reason, sizeof(out->reason),
		    "prev_mac is not the mac of seq %lld: rows deleted, "
		    "inserted or reordered",
		    (long long)(seq - 1));
		break;
	case AUDIT_FAULT_TRUNCATED:
		snprintf(out->reason, sizeof(out->reason),
		    "the log ends at seq %lld before the exported head: rows "
		    "deleted from the end",
		    (long long)(seq - 1));
		break;
	case AUDIT_FAULT_HEAD:
		snprintf(out->reason, sizeof(out->reason),
		    "the mac at seq %lld is not the exported head's: the "
		    "chain was rewritten",
		    (long long)seq);
		break;
	case AUDIT_FAULT_EXTRA:
		if (out->anchor_seq > 0)
			snprintf(out->reason, sizeof(out->reason),
			    "a row with seq %lld is at or before the prune "
			    "anchor (seq %lld): row inserted or restored",
			    (long long)seq, (long long)out->anchor_seq);
		else
			snprintf(out->reason, sizeof(out->reason),
			    "a row with seq %lld comes before seq 1: row "
			    "inserted",
			    (long long)seq);
		break;
	case AUDIT_FAULT_ANCHOR:
		snprintf(out->reason, sizeof(out->reason),
		    "the prune anchor at seq %lld was edited or forged: its "
		    "mac does not verify (or wrong master key)",
		    (long long)seq);
		break;
	case AUDIT_FAULT_PENDING:
		snprintf(out->reason, sizeof(out->reason),
		    "pending row %s forged or edited: its mac does not verify "
		    "(or wrong master key)",
		    out->bad_pending);
		break;
	case AUDIT_FAULT_NONE: break;
	}
	return PC_ERR_VERIFY;
}

/* One row against the chain so far; 0 or PC_ERR_VERIFY. */
static int
check_row(const uint8_t key[32], const struct audit_head *expect,
    const struct store_audit_row *row, struct audit_verify_result *out)
{
	char mac[PC_SHA256_HEX_LEN + 1];
	int64_t want = out->head.seq + 1;

	if (row->seq < 1 || row->seq <= out->anchor_seq)
		return broken(out, AUDIT_FAULT_EXTRA, row->seq);
	if (row->seq != want)
		return broken(out, AUDIT_FAULT_GAP, want);
	if (!mac_eq(row->prev_mac, out->head.mac))
		return broken(out, AUDIT_FAULT_CHAIN, row->seq);
	row_mac(key, row, mac);
	if (!mac_eq(mac, row->mac))
		return broken(out, AUDIT_FAULT_MAC, row->seq);
	if (expect != NULL && row->seq == expect->seq &&
	    !mac_eq(row->mac, expect->mac))
		return broken(out, AUDIT_FAULT_HEAD, row->seq);
	out->rows++;
	out->head.seq = row->seq;
	memcpy(out->head.mac, row->mac, sizeof(out->head.mac));
	return 0;
}

/* Every pending row's own mac; counts them and the stale ones. */
static int
verify_pending(
    struct db *db, const uint8_t key[32], struct audit_verify_result *out)
{
	struct store_audit_row *v = NULL;
	char mac[PC_SHA256_HEX_LEN + 1], id[STORE_AUDIT_ID_HEX + 1] = "";
	int64_t ts = INT64_MIN, now = clock_now_ms();
	size_t n = 0;
	int r = 0;

	do {
		if ((r = store_audit_pending_list(
			 db, ts, id, VERIFY_PAGE, &v, &n)) != 0)
			return r;
		for (size_t i = 0; i < n && r == 0; i++) {
			pending_mac(key, &v[i], mac);
			if (!mac_eq(mac, v[i].mac)) {
				memcpy(out->bad_pending, v[i].id,
				    sizeof(out->bad_pending));
				r = broken(out, AUDIT_FAULT_PENDING, 0);
				break;
			}
			out->pending++;
			if (out->pending_oldest_ms == 0 ||
			    v[i].ts_ms < out->pending_oldest_ms)
				out->pending_oldest_ms = v[i].ts_ms;
			if (now - v[i].ts_ms > AUDIT_PENDING_GRACE_MS)
				out->pending_stale++;
		}
		if (n > 0) {
			ts = v[n - 1].ts_ms;
			memcpy(id, v[n - 1].id, sizeof(id));
		}
		store_audit_rows_free(v, n);
		/* A malformed id reads as "": stop rather than loop on it. */
	} while (r == 0 && n == VERIFY_PAGE && id[0] != '\0');
	return r;
}

void
audit_verify_begin(
    struct audit_verify_result *out, int64_t seq, const char *mac)
{
	memset(out, 0, sizeof(*out));
	out->anchor_seq = seq;
	out->head.seq = seq;
	snprintf(out->head.mac, sizeof(out->head.mac), "%s", mac);
}

int
audit_verify_row(const uint8_t key[32], const struct store_audit_row *row,
    struct audit_verify_result *out)
{
	return check_row(key, NULL, row, out);
}

bool
audit_anchor_ok(const uint8_t key[32], const struct store_audit_anchor *a)
{
	char want[PC_SHA256_HEX_LEN + 1];

	audit_anchor_mac(key, a, want);
	return mac_eq(want, a->amac);
}

/* One walk from the newest anchor; *anchor gets the anchor's seq. */
static int
verify_once(struct db *db, const uint8_t key[32],
    const struct audit_head *expect, struct audit_verify_result *out,
    int64_t *anchor)
{
	struct store_audit_row *v = NULL;
	struct store_audit_anchor an;
	size_t n = 0;
	int r = store_audit_anchor_get(db, &an);

	if (r != 0 && r != PC_ERR_NOT_FOUND)
		return r;
	/* No anchor: seq 0 and 64 zeros, the start of an unpruned chain. */
	audit_verify_begin(out, an.seq, an.mac);
	*anchor = an.seq;
	if (r == 0 && !audit_anchor_ok(key, &an))
		return broken(out, AUDIT_FAULT_ANCHOR, an.seq);
	/* An exported head that was pruned since: only the anchor's own
	 * row can still be compared. */
	if (expect != NULL && expect->seq == an.seq && an.seq > 0 &&
	    !mac_eq(an.mac, expect->mac))
		return broken(out, AUDIT_FAULT_HEAD, an.seq);
	for (int64_t from = INT64_MIN;; from = out->head.seq + 1) {
		/* The first page also shows rows planted below the start. */
		if ((r = store_audit_list(db, from, VERIFY_PAGE, &v, &n)) != 0)
			return r;
		for (size_t i = 0; i < n && r == 0; i++)
			r = check_row(key, expect, &v[i], out);
		store_audit_rows_free(v, n);
		if (r != 0)
			return r;
		if (n < VERIFY_PAGE)
			break;
	}
	if (expect != NULL && out->head.seq < expect->seq)
		return broken(out, AUDIT_FAULT_TRUNCATED, out->head.seq + 1);
	return verify_pending(db, key, out);
}

int
audit_verify(struct db *db, const uint8_t key[32],
    const struct audit_head *expect, struct audit_verify_result *out)
{
	struct store_audit_anchor now;
	int64_t anchor = 0;
	int r = 0;

	/* A prune that commits during the walk moves the anchor: rows the
	 * walk has not reached are gone lawfully. Walk again from the new
	 * anchor (a few times at most); an unmoved anchor is the verdict. */
	for (int i = 0; i < 3; i++) {
		r = verify_once(db, key, expect, out, &anchor);
		if (r != PC_ERR_VERIFY ||
		    (out->fault != AUDIT_FAULT_GAP &&
			out->fault != AUDIT_FAULT_CHAIN &&
			out->fault != AUDIT_FAULT_EXTRA) ||
		    store_audit_anchor_get(db, &now) != 0 || now.seq == anchor)
			break;
	}
	return r;
}
