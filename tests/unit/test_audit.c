/*
 * Unit tests for src/audit/audit.c and src/store/audit.c on a temporary
 * SQLite file: a chain of appended rows verifies; editing any column of
 * the first, a middle or the last row, deleting a row, swapping two rows,
 * truncating the end (against an exported head) and a wrong key are each
 * caught at the right seq with the right fault (SECURITY.md AU-05); four
 * threads appending at once leave a gap-free chain; fields are capped.
 * Tampering goes through a separate raw sqlite3 connection, as an
 * attacker with file access would.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "audit/audit.h"
#include "store_fixture.h"
#include "store/store.h"
#include "util/log.h"

#define ROWS 5

struct fixture {
	char dir[64];
	char path[128];
	struct db *db;
	uint8_t key[32];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (store_fixture_new(f->dir, true, &f->db) != 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/portcullis.db", f->dir);
	randombytes_buf(f->key, sizeof(f->key));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (store_fixture_close(f->dir, f->db) != 0)
		return -1;
	free(f);
	return 0;
}

/* Runs SQL on a separate raw connection: the attacker's view. */
static void PC_PRINTF(2, 3) tamper(struct fixture *f, const char *fmt, ...)
{
	sqlite3 *h = NULL;
	char sql[512], *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (test_store_is_pg()) {
		struct db_conn *c;

		assert_int_equal(db_conn(f->db, &c), 0);
		if (db_exec(c, sql) != 0)
			fail_msg("%s: failed", sql);
		return;
	}
	assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(h);
}

static void
append_n(struct fixture *f, int n)
{
	json_t *d = json_pack("{s:s, s:i}", "alg", "ES256", "n", 1);
	char sh[AUDIT_SESSION_HASH_HEX + 1];

	audit_session_hash("session-id", 10, sh);
	for (int i = 0; i < n; i++) {
		struct audit_event ev = {
			.event = "key.rotated",
			.outcome = "success",
			.actor = "cli",
			.target = "kid-1",
			.ip = "192.0.2.1",
			.user_agent = "test/1.0",
			.request_id = "req-1",
			.session_hash = sh,
			.details = d,
		};

		assert_int_equal(audit_append(f->db, f->key, &ev), 0);
	}
	json_decref(d);
}

static void
expect_ok(struct fixture *f, int64_t rows)
{
	struct audit_verify_result res;

	assert_int_equal(audit_verify(f->db, f->key, NULL, &res), 0);
	assert_int_equal(res.fault, AUDIT_FAULT_NONE);
	assert_int_equal(res.bad_seq, 0);
	assert_int_equal(res.rows, rows);
	assert_int_equal(res.head.seq, rows);
	assert_int_equal(res.pending, 0);
}

static void
expect_bad(struct fixture *f, const struct audit_head *head, int64_t seq,
    enum audit_fault fault, const char *what)
{
	struct audit_verify_result res;
	int r = audit_verify(f->db, f->key, head, &res);

	if (r != PC_ERR_VERIFY || res.bad_seq != seq || res.fault != fault)
		fail_msg("%s: r=%d seq=%lld (want %lld) fault=%s (want %s)",
		    what, r, (long long)res.bad_seq, (long long)seq,
		    audit_fault_name(res.fault), audit_fault_name(fault));
	assert_true(res.reason[0] != '\0');
	assert_int_equal(res.rows, seq - 1);
}

static void
test_audit_chain_verifies(void **state)
{
	struct fixture *f = *state;
	struct store_audit_row *v = NULL;
	size_t n = 0;
	int64_t count;

	expect_ok(f, 0);
	append_n(f, ROWS);
	expect_ok(f, ROWS);
	assert_int_equal(store_audit_count(f->db, &count), 0);
	assert_int_equal(count, ROWS);
	assert_int_equal(store_audit_list(f->db, 1, 100, &v, &n), 0);
	assert_int_equal(n, ROWS);
	assert_string_equal(v[0].prev_mac,
	    "0000000000000000000000000000000000000000000000000000000000000000");
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(v[i].seq, (int64_t)i + 1);
		assert_int_equal(strlen(v[i].mac), PC_SHA256_HEX_LEN);
		if (i > 0)
			assert_string_equal(v[i].prev_mac, v[i - 1].mac);
		assert_string_equal(
		    v[i].details, "{\"alg\":\"ES256\",\"n\":1}");
		assert_int_equal(strlen(v[i].session_hash), 16);
		assert_true(v[i].ts_ms > 1600000000000);
	}
	store_audit_rows_free(v, n);
	assert_int_equal(store_audit_tail(f->db, 2, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].seq, ROWS - 1);
	assert_int_equal(v[1].seq, ROWS);
	store_audit_rows_free(v, n);
}

/* Changes the first hex digit of a mac column. */
#define FLIP(col) \
	"(CASE substr(" col ", 1, 1) WHEN 'f' THEN 'e' ELSE 'f' END" \
	" || substr(" col ", 2))"

/* Every column of the first, a middle and the last row (AU-05). */
static void
test_audit_AU05_edited_column_detected(void **state)
{
	static const struct {
		const char *set;
		enum audit_fault fault;
	} edits[] = {
		{ "ts_ms = ts_ms + 1", AUDIT_FAULT_MAC },
		{ "event = 'key.created'", AUDIT_FAULT_MAC },
		{ "outcome = 'failure'", AUDIT_FAULT_MAC },
		{ "actor = 'admin'", AUDIT_FAULT_MAC },
		{ "actor = NULL", AUDIT_FAULT_MAC },
		{ "target = 'x'", AUDIT_FAULT_MAC },
		{ "target = ''", AUDIT_FAULT_MAC },
		{ "ip = '203.0.113.9'", AUDIT_FAULT_MAC },
		{ "user_agent = 'evil'", AUDIT_FAULT_MAC },
		{ "request_id = NULL", AUDIT_FAULT_MAC },
		{ "session_hash = '0000000000000000'", AUDIT_FAULT_MAC },
		{ "details = '{}'", AUDIT_FAULT_MAC },
		{ "details = NULL", AUDIT_FAULT_MAC },
		/* Moving bytes across a field boundary keeps the concatenation. */
		{ "actor = 'clik', target = 'id-1'", AUDIT_FAULT_MAC },
		{ "mac = " FLIP("mac"), AUDIT_FAULT_MAC },
		{ "mac = mac || '0'", AUDIT_FAULT_MAC },
		{ "prev_mac = " FLIP("prev_mac"), AUDIT_FAULT_CHAIN },
	};
	static const int rows[] = { 1, 3, ROWS };
	struct fixture *f = *state;

	append_n(f, ROWS);
	tamper(f, "CREATE TABLE bak AS SELECT * FROM audit_log");
	for (size_t i = 0; i < PC_NELEM(edits); i++) {
		for (size_t k = 0; k < PC_NELEM(rows); k++) {
			char what[128];

			snprintf(what, sizeof(what), "%s at seq %d",
			    edits[i].set, rows[k]);
			tamper(f, "UPDATE audit_log SET %s WHERE seq = %d",
			    edits[i].set, rows[k]);
			expect_bad(f, NULL, rows[k], edits[i].fault, what);
			tamper(f,
			    "DELETE FROM audit_log; INSERT INTO "
			    "audit_log SELECT * FROM bak");
			expect_ok(f, ROWS);
		}
	}
}

static void
test_audit_AU05_deleted_middle_row_detected(void **state)
{
	struct fixture *f = *state;

	append_n(f, ROWS);
	tamper(f, "DELETE FROM audit_log WHERE seq = 3");
	expect_bad(f, NULL, 3, AUDIT_FAULT_GAP, "delete seq 3");
}

static void
test_audit_AU05_deleted_first_row_detected(void **state)
{
	struct fixture *f = *state;

	append_n(f, ROWS);
	tamper(f, "DELETE FROM audit_log WHERE seq = 1");
	expect_bad(f, NULL, 1, AUDIT_FAULT_GAP, "delete seq 1");
}

/* Deleting a row and renumbering the rest to hide the gap. */
static void
test_audit_AU05_deleted_and_renumbered_detected(void **state)
{
	struct fixture *f = *state;

	append_n(f, ROWS);
	tamper(f,
	    "DELETE FROM audit_log WHERE seq = 2;"
	    "UPDATE audit_log SET seq = seq - 1 WHERE seq > 2");
	expect_bad(f, NULL, 2, AUDIT_FAULT_CHAIN, "delete and renumber");
}

/* Only an exported head shows that rows were cut off the end. */
static void
test_audit_AU05_deleted_last_row_needs_head(void **state)
{
	struct fixture *f = *state;
	struct audit_verify_result res;
	struct audit_head head, bad;

	append_n(f, ROWS);
	assert_int_equal(audit_verify(f->db, f->key, NULL, &res), 0);
	head = res.head;
	assert_int_equal(head.seq, ROWS);
	assert_int_equal(audit_verify(f->db, f->key, &head, &res), 0);

	/* A wrong mac at the head's seq: the chain was rebuilt. */
	bad = head;
	bad.mac[0] = bad.mac[0] == 'a' ? 'b' : 'a';
	expect_bad(f, &bad, ROWS, AUDIT_FAULT_HEAD, "head mac");

	tamper(f, "DELETE FROM audit_log WHERE seq = %d", ROWS);
	expect_ok(f, ROWS - 1);
	expect_bad(f, &head, ROWS, AUDIT_FAULT_TRUNCATED, "delete last");

	/* Rows appended after the export keep verifying against it. */
	tamper(f, "DELETE FROM audit_log WHERE seq > 0");
	append_n(f, ROWS + 2);
	assert_int_equal(audit_verify(f->db, f->key, NULL, &res), 0);
	head.seq = ROWS;
	{
		struct store_audit_row *v = NULL;
		size_t n = 0;

		assert_int_equal(store_audit_list(f->db, ROWS, 1, &v, &n), 0);
		assert_int_equal(n, 1);
		memcpy(head.mac, v[0].mac, sizeof(head.mac));
		store_audit_rows_free(v, n);
	}
	assert_int_equal(audit_verify(f->db, f->key, &head, &res), 0);
	assert_int_equal(res.head.seq, ROWS + 2);
}

static void
test_audit_AU05_swapped_rows_detected(void **state)
{
	struct fixture *f = *state;

	append_n(f, ROWS);
	tamper(f,
	    "UPDATE audit_log SET seq = -2 WHERE seq = 2;"
	    "UPDATE audit_log SET seq = 2 WHERE seq = 3;"
	    "UPDATE audit_log SET seq = 3 WHERE seq = -2");
	expect_bad(f, NULL, 2, AUDIT_FAULT_CHAIN, "swap 2 and 3");
}

/* Swapping the contents but keeping each seq and mac in place. */
static void
test_audit_AU05_swapped_contents_detected(void **state)
{
	struct fixture *f = *state;

	append_n(f, ROWS);
	tamper(f, "UPDATE audit_log SET target = 'other' WHERE seq = 4");
	tamper(f,
	    "CREATE TABLE t AS SELECT * FROM audit_log;"
	    "UPDATE audit_log SET target = (SELECT target FROM t"
	    " WHERE seq = 4) WHERE seq = 3;"
	    "UPDATE audit_log SET target = (SELECT target FROM t"
	    " WHERE seq = 3) WHERE seq = 4");
	expect_bad(f, NULL, 3, AUDIT_FAULT_MAC, "swap contents");
}

/* A row planted before seq 1 would show in tail; verify names it. */
static void
test_audit_AU05_inserted_row_detected(void **state)
{
	struct fixture *f = *state;
	struct audit_verify_result res;

	append_n(f, ROWS);
	tamper(f,
	    "INSERT INTO audit_log SELECT 0, ts_ms, event, outcome,"
	    " actor, target, ip, user_agent, request_id, session_hash,"
	    " details, prev_mac, mac FROM audit_log WHERE seq = 1");
	assert_int_equal(
	    audit_verify(f->db, f->key, NULL, &res), PC_ERR_VERIFY);
	assert_int_equal(res.fault, AUDIT_FAULT_EXTRA);
	assert_int_equal(res.bad_seq, 0);
	tamper(f, "DELETE FROM audit_log WHERE seq = 0");
	expect_ok(f, ROWS);
	/* One past the end with a made-up mac: the chain stops there. */
	tamper(f,
	    "INSERT INTO audit_log SELECT seq + 1, ts_ms, event,"
	    " outcome, actor, target, ip, user_agent, request_id,"
	    " session_hash, details, mac, prev_mac FROM audit_log"
	    " WHERE seq = %d",
	    ROWS);
	expect_bad(f, NULL, ROWS + 1, AUDIT_FAULT_MAC, "appended forgery");
}

static void
test_audit_AU05_wrong_key_detected(void **state)
{
	struct fixture *f = *state;

	append_n(f, ROWS);
	f->key[0] ^= 1;
	expect_bad(f, NULL, 1, AUDIT_FAULT_MAC, "wrong key");
	f->key[0] ^= 1;
	expect_ok(f, ROWS);
}

static void
test_audit_rejects_bad_events(void **state)
{
	struct fixture *f = *state;
	struct audit_event ev = { .event = "x", .outcome = "maybe" };
	json_t *arr = json_array();
	int64_t count;

	assert_int_equal(audit_append(f->db, f->key, &ev), PC_ERR_INVALID);
	ev.outcome = NULL;
	assert_int_equal(audit_append(f->db, f->key, &ev), PC_ERR_INVALID);
	ev.outcome = "alert";
	ev.event = "";
	assert_int_equal(audit_append(f->db, f->key, &ev), PC_ERR_INVALID);
	ev.event = "x";
	ev.details = arr;
	assert_int_equal(audit_append(f->db, f->key, &ev), PC_ERR_INVALID);
	json_decref(arr);
	assert_int_equal(store_audit_count(f->db, &count), 0);
	assert_int_equal(count, 0);
}

static void
test_audit_fields_capped(void **state)
{
	struct fixture *f = *state;
	char big[3000], ua[600];
	struct audit_event ev = { .event = "login", .outcome = "failure" };
	struct store_audit_row *v = NULL;
	json_t *d = json_object();
	size_t n = 0;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* "é" (2 bytes) straddling the cap: cut before it, not inside. */
	memset(ua, 'b', sizeof(ua) - 1);
	ua[sizeof(ua) - 1] = '\0';
	ua[AUDIT_USER_AGENT_MAX - 1] = (char)0xc3;
	ua[AUDIT_USER_AGENT_MAX] = (char)0xa9;
	json_object_set_new(d, "note", json_string(big));
	ev.actor = big;
	ev.user_agent = ua;
	ev.details = d;
	ev.ts_ms = 1700000000123;
	assert_int_equal(audit_append(f->db, f->key, &ev), 0);
	json_decref(d);
	assert_int_equal(store_audit_list(f->db, 1, 10, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(v[0].actor), AUDIT_FIELD_MAX);
	assert_int_equal(strlen(v[0].user_agent), AUDIT_USER_AGENT_MAX - 1);
	assert_string_equal(v[0].details, "{\"truncated\":true}");
	assert_null(v[0].target);
	assert_int_equal(v[0].ts_ms, 1700000000123);
	store_audit_rows_free(v, n);
	expect_ok(f, 1);
}

static void
test_audit_session_hash(void **state)
{
	char h[AUDIT_SESSION_HASH_HEX + 1];

	(void)state;
	/* SHA-256("abc") = ba7816bf8f01cfea... */
	audit_session_hash("abc", 3, h);
	assert_string_equal(h, "ba7816bf8f01cfea");
}

#define THREADS 4
#define PER_THREAD 25

struct worker {
	struct fixture *f;
	int failures;
};

static void *
appender(void *arg)
{
	struct worker *w = arg;
	char target[32];

	for (int i = 0; i < PER_THREAD; i++) {
		struct audit_event ev = {
			.event = "concurrent",
			.outcome = "success",
			.target = target,
		};

		snprintf(target, sizeof(target), "%p-%d", (void *)w, i);
		if (audit_append(w->f->db, w->f->key, &ev) != 0)
			w->failures++;
	}
	return NULL;
}

static void
test_audit_AU05_concurrent_appends_gap_free(void **state)
{
	struct fixture *f = *state;
	struct worker w[THREADS];
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++) {
		w[i].f = f;
		w[i].failures = 0;
		assert_int_equal(
		    pthread_create(&t[i], NULL, appender, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	/* On PostgreSQL a row whose own chain pass found another running
	 * may still be pending: the chainer runs afterwards. */
	assert_int_equal(audit_chain(f->db, f->key, NULL), 0);
	expect_ok(f, THREADS * PER_THREAD);
}

/* --- pending rows (decision 0051) ------------------------------------ */

static void
pending_n(struct fixture *f, int n, int64_t ts_ms)
{
	for (int i = 0; i < n; i++) {
		char target[32];
		struct audit_event ev = {
			.event = "oauth.token",
			.outcome = "success",
			.actor = "client-1",
			.target = target,
			.request_id = "req-p",
			.ts_ms = ts_ms,
		};

		snprintf(target, sizeof(target), "t-%d", i);
		assert_int_equal(audit_append_pending(f->db, f->key, &ev), 0);
	}
}

static int64_t
pending_count(struct fixture *f)
{
	struct store_audit_row *v = NULL;
	size_t n = 0;

	assert_int_equal(
	    store_audit_pending_list(f->db, INT64_MIN, "", 1000, &v, &n), 0);
	store_audit_rows_free(v, n);
	return (int64_t)n;
}

/* Pending rows verify as pending, then the chainer links them in order. */
static void
test_audit_AU05_pending_rows_verify_then_chain(void **state)
{
	struct fixture *f = *state;
	struct audit_verify_result res;
	struct store_audit_row *v = NULL;
	size_t n = 0;
	int64_t chained = 0;
	bool any = true;

	assert_int_equal(store_audit_pending_any(f->db, &any), 0);
	assert_false(any);
	append_n(f, 2);
	pending_n(f, 3, 0);
	assert_int_equal(store_audit_pending_any(f->db, &any), 0);
	assert_true(any);
	assert_int_equal(audit_verify(f->db, f->key, NULL, &res), 0);
	assert_int_equal(res.rows, 2);
	assert_int_equal(res.pending, 3);
	assert_int_equal(res.pending_stale, 0);
	/* tail: the last chained rows, then the pending ones in order. */
	assert_int_equal(store_audit_tail(f->db, 4, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(v[0].seq, 2);
	assert_string_equal(v[0].id, "");
	for (size_t i = 1; i < n; i++) {
		char want[32];

		snprintf(want, sizeof(want), "t-%zu", i - 1);
		assert_int_equal(v[i].seq, 0);
		assert_int_equal(strlen(v[i].id), STORE_AUDIT_ID_HEX);
		assert_string_equal(v[i].target, want);
	}
	store_audit_rows_free(v, n);
	assert_int_equal(store_audit_tail(f->db, 2, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[1].target, "t-2");
	store_audit_rows_free(v, n);
	assert_int_equal(audit_chain(f->db, f->key, &chained), 0);
	assert_int_equal(chained, 3);
	assert_int_equal(pending_count(f), 0);
	expect_ok(f, 5);
	assert_int_equal(store_audit_list(f->db, 3, 10, &v, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		char want[32];

		snprintf(want, sizeof(want), "t-%zu", i);
		assert_string_equal(v[i].event, "oauth.token");
		assert_string_equal(v[i].target, want);
		assert_string_equal(v[i].request_id, "req-p");
		assert_null(v[i].ip);
	}
	store_audit_rows_free(v, n);
	/* Nothing left: a second pass links nothing. */
	assert_int_equal(audit_chain(f->db, f->key, &chained), 0);
	assert_int_equal(chained, 0);
}

/* Every column of a pending row is under its own mac (AU-05). */
static void
test_audit_AU05_edited_pending_row_detected(void **state)
{
	static const char *const edits[] = {
		"ts_ms = ts_ms + 1",
		"event = 'oauth.tokem'",
		"outcome = 'failure'",
		"actor = 'client-2'",
		"target = NULL",
		"ip = '198.51.100.7'",
		"request_id = 'req-q'",
		"details = '{}'",
		"id = 'ffffffffffffffffffffffffffffffff'",
		"mac = " FLIP("mac"),
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < PC_NELEM(edits); i++) {
		struct audit_verify_result res;
		int64_t chained = -1;

		tamper(f, "DELETE FROM audit_pending");
		pending_n(f, 1, 0);
		tamper(f, "UPDATE audit_pending SET %s", edits[i]);
		if (audit_verify(f->db, f->key, NULL, &res) != PC_ERR_VERIFY ||
		    res.fault != AUDIT_FAULT_PENDING)
			fail_msg("%s: not detected", edits[i]);
		assert_int_equal(strlen(res.bad_pending), STORE_AUDIT_ID_HEX);
		assert_non_null(strstr(res.reason, res.bad_pending));
		/* The chainer never vouches for it: it stays pending. */
		assert_int_equal(audit_chain(f->db, f->key, &chained), 0);
		assert_int_equal(chained, 0);
		assert_int_equal(pending_count(f), 1);
	}
	assert_int_equal(store_audit_count(f->db, &(int64_t){ 0 }), 0);
}

/* A row inserted without the key, and a good row after it (AU-05). */
static void
test_audit_AU05_forged_pending_row_detected(void **state)
{
	struct fixture *f = *state;
	struct audit_verify_result res;
	int64_t chained = 0;

	tamper(f,
	    "INSERT INTO audit_pending (id, ts_ms, event, outcome, mac)"
	    " VALUES ('00000000000000000000000000000001', 1, 'user.login',"
	    " 'success', '%064d')",
	    0);
	pending_n(f, 2, 0);
	assert_int_equal(
	    audit_verify(f->db, f->key, NULL, &res), PC_ERR_VERIFY);
	assert_int_equal(res.fault, AUDIT_FAULT_PENDING);
	assert_string_equal(
	    res.bad_pending, "00000000000000000000000000000001");
	/* The good rows are chained past it; it stays for the operator. */
	assert_int_equal(audit_chain(f->db, f->key, &chained), 0);
	assert_int_equal(chained, 2);
	assert_int_equal(pending_count(f), 1);
	assert_int_equal(
	    audit_verify(f->db, f->key, NULL, &res), PC_ERR_VERIFY);
	assert_int_equal(res.rows, 2);
	/* A chain mac is no pending mac: a chained row copied into the
	 * pending table does not verify there. */
	tamper(f, "DELETE FROM audit_pending");
	tamper(f,
	    "INSERT INTO audit_pending (id, ts_ms, event, outcome, actor,"
	    " target, request_id, mac) SELECT '%032d', ts_ms, event, outcome,"
	    " actor, target, request_id, mac FROM audit_log WHERE seq = 1",
	    2);
	assert_int_equal(
	    audit_verify(f->db, f->key, NULL, &res), PC_ERR_VERIFY);
	assert_int_equal(res.fault, AUDIT_FAULT_PENDING);
}

/* Rows nobody chained for longer than the grace: a warning (AU-05). */
static void
test_audit_AU05_stale_pending_rows_counted(void **state)
{
	struct fixture *f = *state;
	struct audit_verify_result res;
	int64_t old = clock_now_ms() - AUDIT_PENDING_GRACE_MS - 5000;

	pending_n(f, 2, old);
	pending_n(f, 1, 0);
	assert_int_equal(audit_verify(f->db, f->key, NULL, &res), 0);
	assert_int_equal(res.pending, 3);
	assert_int_equal(res.pending_stale, 2);
	assert_int_equal(res.pending_oldest_ms, old);
	/* Chained in ts order: the old ones first. */
	assert_int_equal(audit_chain(f->db, f->key, NULL), 0);
	expect_ok(f, 3);
	{
		struct store_audit_row *v = NULL;
		size_t n = 0;

		assert_int_equal(store_audit_list(f->db, 1, 10, &v, &n), 0);
		assert_int_equal(n, 3);
		assert_int_equal(v[0].ts_ms, old);
		assert_int_equal(v[1].ts_ms, old);
		assert_true(v[2].ts_ms > old);
		store_audit_rows_free(v, n);
	}
}

struct racer {
	struct fixture *f;
	int failures;
	volatile bool *stop;
};

static void *
pending_appender(void *arg)
{
	struct racer *w = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		struct audit_event ev = {
			.event = "oauth.token",
			.outcome = "success",
		};

		if (audit_append_pending(w->f->db, w->f->key, &ev) != 0)
			w->failures++;
	}
	return NULL;
}

static void *
chainer(void *arg)
{
	struct racer *w = arg;

	while (!*w->stop) {
		int r = audit_chain(w->f->db, w->f->key, NULL);

		if (r != 0 && r != PC_ERR_BUSY)
			w->failures++;
	}
	return NULL;
}

/* Appenders and two chainers at once: one gap-free chain (AU-05). */
static void
test_audit_AU05_concurrent_chainers_gap_free(void **state)
{
	struct fixture *f = *state;
	struct racer w[THREADS + 2];
	pthread_t t[THREADS + 2];
	volatile bool stop = false;

	for (int i = 0; i < THREADS + 2; i++) {
		w[i] = (struct racer){ f, 0, &stop };
		assert_int_equal(
		    pthread_create(&t[i], NULL,
			i < THREADS ? pending_appender : chainer, &w[i]),
		    0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	stop = true;
	for (int i = THREADS; i < THREADS + 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < THREADS + 2; i++)
		assert_int_equal(w[i].failures, 0);
	assert_int_equal(audit_chain(f->db, f->key, NULL), 0);
	expect_ok(f, THREADS * PER_THREAD);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_audit_chain_verifies),
		T(test_audit_AU05_edited_column_detected),
		T(test_audit_AU05_deleted_middle_row_detected),
		T(test_audit_AU05_deleted_first_row_detected),
		T(test_audit_AU05_deleted_and_renumbered_detected),
		T(test_audit_AU05_deleted_last_row_needs_head),
		T(test_audit_AU05_swapped_rows_detected),
		T(test_audit_AU05_swapped_contents_detected),
		T(test_audit_AU05_inserted_row_detected),
		T(test_audit_AU05_wrong_key_detected),
		T(test_audit_rejects_bad_events),
		T(test_audit_fields_capped),
		cmocka_unit_test(test_audit_session_hash),
		T(test_audit_AU05_concurrent_appends_gap_free),
		T(test_audit_AU05_pending_rows_verify_then_chain),
		T(test_audit_AU05_edited_pending_row_detected),
		T(test_audit_AU05_forged_pending_row_detected),
		T(test_audit_AU05_stale_pending_rows_counted),
		T(test_audit_AU05_concurrent_chainers_gap_free),
	};
#undef T

	if (sodium_init() < 0)
		return 1;
	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
