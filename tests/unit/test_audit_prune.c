/*
 * Unit tests for audit retention (issue 17, item 7; decision 0077):
 * audit_prune() over src/store/audit_prune.c deletes a whole prefix of
 * old rows, never a young row nor the newest, in transactions of at most
 * max_rows, each recording a MACed anchor and an audit.prune row; verify
 * then proves the rest from the anchor. Tampering (SECURITY.md AU-05): a
 * row deleted after a prune, an edited, forged or deleted anchor, a
 * pruned row restored, and a broken chain that prune must refuse to
 * delete. A prune that fails deletes nothing and writes no anchor. Runs on
 * PostgreSQL too and under fault injection (store suite).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "audit/audit.h"
#include "store_fixture.h"
#include "store/store.h"
#include "util/log.h"

#define DAY INT64_C(86400000)

struct fixture {
	char dir[64];
	char path[128];
	struct db *db;
	uint8_t key[32];
	int64_t now;
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
	f->now = clock_now_ms();
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

/* SQL on a separate connection: the attacker's (or the operator's). */
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

/* n rows stamped ts, ts + 1, ... */
static void
append_at(struct fixture *f, int64_t ts, int n)
{
	for (int i = 0; i < n; i++) {
		json_t *d = json_pack("{s:i}", "i", i);
		struct audit_event ev = {
			.event = "token.issue",
			.outcome = "success",
			.actor = "svc_1",
			.target = "pcc_1",
			.ip = "192.0.2.1",
			.details = d,
			.ts_ms = ts + i,
		};

		assert_int_equal(audit_append(f->db, f->key, &ev), 0);
		json_decref(d);
	}
}

static int64_t
count_rows(struct fixture *f)
{
	int64_t n = -1;

	assert_int_equal(store_audit_count(f->db, &n), 0);
	return n;
}

static void
prune(struct fixture *f, int64_t max_rows, struct audit_prune_result *res)
{
	struct audit_verify_result v;
	int r =
	    audit_prune(f->db, f->key, f->now - 30 * DAY, max_rows, res, &v);

	if (r != 0)
		fail_msg("prune: %d %s", r, v.reason);
}

static void
expect_ok(struct fixture *f, int64_t rows, int64_t anchor)
{
	struct audit_verify_result res;
	int r = audit_verify(f->db, f->key, NULL, &res);

	if (r != 0)
		fail_msg("verify: %d %s at %lld", r, res.reason,
		    (long long)res.bad_seq);
	assert_int_equal(res.rows, rows);
	assert_int_equal(res.anchor_seq, anchor);
}

static void
expect_bad(struct fixture *f, int64_t seq, enum audit_fault fault)
{
	struct audit_verify_result res;
	int r = audit_verify(f->db, f->key, NULL, &res);

	if (r != PC_ERR_VERIFY || res.bad_seq != seq || res.fault != fault)
		fail_msg("r=%d seq=%lld (want %lld) fault=%s (want %s): %s", r,
		    (long long)res.bad_seq, (long long)seq,
		    audit_fault_name(res.fault), audit_fault_name(fault),
		    res.reason);
}

/* 10 rows 40 days old, then 3 of today, pruned at 30 days. */
static void
test_audit_prune_whole_prefix_then_verifies(void **state)
{
	struct fixture *f = *state;
	struct audit_prune_result res;
	struct store_audit_anchor a;
	struct store_audit_row *v = NULL;
	size_t n = 0;

	append_at(f, f->now - 40 * DAY, 10);
	append_at(f, f->now - 1000, 3);
	prune(f, AUDIT_PRUNE_TX_ROWS, &res);
	assert_int_equal(res.rows, 10);
	assert_int_equal(res.first_seq, 1);
	assert_int_equal(res.txs, 1);
	assert_int_equal(res.anchor.seq, 10);
	assert_int_equal(count_rows(f), 4); /* 3 and the audit.prune row */
	expect_ok(f, 4, 10);
	assert_int_equal(store_audit_anchor_get(f->db, &a), 0);
	assert_int_equal(a.seq, 10);
	assert_int_equal(a.first_seq, 1);
	assert_int_equal(a.pruned, 10);
	assert_true(audit_anchor_ok(f->key, &a));
	/* The first row kept links to the anchor; the prune is in the chain. */
	assert_int_equal(store_audit_list(f->db, 0, 10, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(v[0].seq, 11);
	assert_string_equal(v[0].prev_mac, a.mac);
	assert_string_equal(v[3].event, "audit.prune");
	assert_non_null(strstr(v[3].details, "\"from_seq\":1,\"to_seq\":10"));
	assert_non_null(strstr(v[3].details, "\"rows\":10"));
	store_audit_rows_free(v, n);
	/* Nothing more to prune: no second anchor, no second row. */
	prune(f, AUDIT_PRUNE_TX_ROWS, &res);
	assert_int_equal(res.rows, 0);
	assert_int_equal(count_rows(f), 4);
}

/* max_rows per transaction: an anchor and an audit.prune row each. */
static void
test_audit_prune_in_segments(void **state)
{
	struct fixture *f = *state;
	struct audit_prune_result res;

	append_at(f, f->now - 40 * DAY, 10);
	append_at(f, f->now - 1000, 1);
	prune(f, 4, &res);
	assert_int_equal(res.rows, 10);
	assert_int_equal(res.txs, 3);
	assert_int_equal(res.anchor.seq, 10);
	assert_int_equal(count_rows(f), 1 + 3);
	expect_ok(f, 4, 10);
}

/* Only a prefix of old rows; never a young one, never the newest. */
static void
test_audit_prune_stops_at_young_rows(void **state)
{
	struct fixture *f = *state;
	struct audit_prune_result res;

	append_at(f, f->now - 40 * DAY, 3);
	append_at(f, f->now - 1000, 1);	    /* seq 4: young */
	append_at(f, f->now - 40 * DAY, 3); /* 5..7: old, after a young one */
	prune(f, AUDIT_PRUNE_TX_ROWS, &res);
	assert_int_equal(res.rows, 3);
	assert_int_equal(res.anchor.seq, 3);
	expect_ok(f, 5, 3);
}

/* Everything old: the newest row stays for the next to link to, and the
 * prune's own audit.prune row is never pruned by the same run. */
static void
test_audit_prune_keeps_newest(void **state)
{
	struct fixture *f = *state;
	struct audit_prune_result res;

	append_at(f, f->now - 40 * DAY, 5);
	prune(f, AUDIT_PRUNE_TX_ROWS, &res);
	assert_int_equal(res.rows, 4);
	assert_int_equal(res.txs, 1);
	expect_ok(f, 2, 4);
	/* Even with a cutoff after every row (a clock far ahead): one
	 * transaction, then the prune stops. */
	f->now += 365 * DAY;
	prune(f, AUDIT_PRUNE_TX_ROWS, &res);
	assert_int_equal(res.txs, 1);
	assert_int_equal(res.rows, 1);
	expect_ok(f, 2, 5);
}

/* An empty or one-row log has nothing to prune. */
static void
test_audit_prune_empty_or_one_row(void **state)
{
	struct fixture *f = *state;
	struct audit_prune_result res;

	prune(f, AUDIT_PRUNE_TX_ROWS, &res);
	assert_int_equal(res.rows, 0);
	append_at(f, f->now - 40 * DAY, 1);
	prune(f, AUDIT_PRUNE_TX_ROWS, &res);
	assert_int_equal(res.rows, 0);
	expect_ok(f, 1, 0);
}

static void
pruned_log(struct fixture *f)
{
	struct audit_prune_result res;

	append_at(f, f->now - 40 * DAY, 10);
	append_at(f, f->now - 1000, 3);
	prune(f, AUDIT_PRUNE_TX_ROWS, &res);
	assert_int_equal(res.anchor.seq, 10);
}

/* A row deleted outside prune: a gap that no anchor explains. */
static void
test_audit_AU05_row_deleted_after_prune_detected(void **state)
{
	struct fixture *f = *state;

	pruned_log(f);
	tamper(f, "DELETE FROM audit_log WHERE seq = 11");
	expect_bad(f, 11, AUDIT_FAULT_GAP);
}

/* Every column of the anchor; and a forged one that hides rows deleted
 * from the front (its seq and mac are the real ones of a later row). */
static void
test_audit_AU05_edited_anchor_detected(void **state)
{
	static const char *const edits[] = {
		"mac = (SELECT mac FROM audit_log WHERE seq = 11)",
		"ts_ms = ts_ms + 1",
		"first_seq = 2",
		"pruned = 9",
		"cutoff_ms = cutoff_ms + 1",
		"pruned_at_ms = pruned_at_ms - 1",
		"amac = 'x'",
	};
	struct fixture *f = *state;

	pruned_log(f);
	for (size_t i = 0; i < PC_NELEM(edits); i++) {
		tamper(f,
		    "CREATE TABLE anchor_copy AS SELECT * FROM "
		    "audit_anchor");
		tamper(f, "UPDATE audit_anchor SET %s", edits[i]);
		expect_bad(f, 10, AUDIT_FAULT_ANCHOR);
		tamper(f,
		    "DELETE FROM audit_anchor; INSERT INTO audit_anchor "
		    "SELECT * FROM anchor_copy; DROP TABLE anchor_copy");
		expect_ok(f, 4, 10);
	}
	/* Rows 11 and 12 deleted, the anchor moved onto row 12. */
	tamper(f,
	    "UPDATE audit_anchor SET seq = 12, mac = (SELECT mac FROM "
	    "audit_log WHERE seq = 12)");
	tamper(f, "DELETE FROM audit_log WHERE seq IN (11, 12)");
	expect_bad(f, 12, AUDIT_FAULT_ANCHOR);
}

/* The anchor deleted: the chain must start at seq 1 again. */
static void
test_audit_AU05_deleted_anchor_detected(void **state)
{
	struct fixture *f = *state;

	pruned_log(f);
	tamper(f, "DELETE FROM audit_anchor");
	expect_bad(f, 1, AUDIT_FAULT_GAP);
}

/* A pruned row put back (a restored backup, a forgery). */
static void
test_audit_AU05_restored_row_below_anchor_detected(void **state)
{
	struct fixture *f = *state;

	pruned_log(f);
	tamper(f,
	    "INSERT INTO audit_log (seq, ts_ms, event, outcome, "
	    "prev_mac, mac) VALUES (10, 1, 'x', 'success', 'a', 'b')");
	expect_bad(f, 10, AUDIT_FAULT_EXTRA);
}

/* Evidence is never pruned: a broken chain stops the prune. */
static void
test_audit_AU05_prune_refuses_broken_chain(void **state)
{
	struct fixture *f = *state;
	struct audit_prune_result res;
	struct audit_verify_result v;
	struct store_audit_anchor a;

	append_at(f, f->now - 40 * DAY, 10);
	append_at(f, f->now - 1000, 3);
	tamper(f, "UPDATE audit_log SET actor = 'someone' WHERE seq = 7");
	assert_int_equal(audit_prune(f->db, f->key, f->now - 30 * DAY,
			     AUDIT_PRUNE_TX_ROWS, &res, &v),
	    PC_ERR_VERIFY);
	assert_int_equal(v.fault, AUDIT_FAULT_MAC);
	assert_int_equal(v.bad_seq, 7);
	assert_int_equal(res.rows, 0);
	assert_int_equal(count_rows(f), 13);
	assert_int_equal(store_audit_anchor_get(f->db, &a), PC_ERR_NOT_FOUND);
	/* The same for an edited anchor of an earlier prune. */
	tamper(f, "UPDATE audit_log SET actor = 'svc_1' WHERE seq = 7");
	prune(f, 5, &res);
	assert_int_equal(res.anchor.seq, 10);
	append_at(f, f->now - 1000, 1);
	tamper(f, "UPDATE audit_anchor SET pruned = 1");
	f->now += 365 * DAY; /* everything is old now */
	assert_int_equal(audit_prune(f->db, f->key, f->now - 30 * DAY,
			     AUDIT_PRUNE_TX_ROWS, &res, &v),
	    PC_ERR_VERIFY);
	assert_int_equal(v.fault, AUDIT_FAULT_ANCHOR);
	assert_int_equal(res.rows, 0);
}

static int
fail_start(void *arg, const struct store_audit_anchor *prev)
{
	(void)arg;
	(void)prev;
	return 0;
}

static int
fail_row(void *arg, const struct store_audit_row *row)
{
	(void)arg;
	(void)row;
	return 0;
}

/* Fails after the rows are deleted, before the anchor is written. */
static int
fail_done(void *arg, struct db_conn *c, struct store_audit_anchor *a,
    const char *next_prev_mac)
{
	(void)arg;
	(void)c;
	(void)a;
	(void)next_prev_mac;
	return PC_ERR_STORE;
}

/* A prune that fails deletes nothing and writes no anchor. */
static void
test_audit_prune_failure_deletes_nothing(void **state)
{
	struct fixture *f = *state;
	struct store_audit_prune_ops ops = { fail_start, fail_row, fail_done,
		NULL };
	struct store_audit_anchor a;

	append_at(f, f->now - 40 * DAY, 10);
	append_at(f, f->now - 1000, 3);
	assert_int_equal(
	    store_audit_prune(f->db, f->now - 30 * DAY, f->now, 100, &ops, &a),
	    PC_ERR_STORE);
	assert_int_equal(a.pruned, 0);
	assert_int_equal(count_rows(f), 13);
	assert_int_equal(store_audit_anchor_get(f->db, &a), PC_ERR_NOT_FOUND);
	expect_ok(f, 13, 0);
	assert_int_equal(
	    store_audit_prune(f->db, 0, f->now, 0, &ops, &a), PC_ERR_INVALID);
}

/* The export's range and its walk from the row before the first. */
static void
test_audit_seq_range_and_export_walk(void **state)
{
	struct fixture *f = *state;
	struct audit_verify_result res;
	struct store_audit_row *v = NULL;
	int64_t first = 0, last = 0;
	size_t n = 0;

	pruned_log(f); /* 11..13 at now - 1000.., 14 the prune, now */
	assert_int_equal(store_audit_seq_range(
			     f->db, f->now - 1000, f->now - 998, &first, &last),
	    0);
	assert_int_equal(first, 11);
	assert_int_equal(last, 12);
	assert_int_equal(
	    store_audit_seq_range(f->db, INT64_MIN, INT64_MAX, &first, &last),
	    0);
	assert_int_equal(first, 11);
	assert_int_equal(last, 14);
	assert_int_equal(store_audit_seq_range(f->db, f->now - 50 * DAY,
			     f->now - 45 * DAY, &first, &last),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_audit_seq_range(f->db, 5, 5, &first, &last), PC_ERR_INVALID);
	/* Rows 12..14 verify from row 12's prev_mac alone. */
	assert_int_equal(store_audit_list(f->db, 12, 10, &v, &n), 0);
	assert_int_equal(n, 3);
	audit_verify_begin(&res, 11, v[0].prev_mac);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(audit_verify_row(f->key, &v[i], &res), 0);
	assert_int_equal(res.head.seq, 14);
	/* An edited row does not. */
	audit_verify_begin(&res, 11, v[0].prev_mac);
	free(v[1].actor);
	v[1].actor = strdup("someone");
	assert_int_equal(audit_verify_row(f->key, &v[0], &res), 0);
	assert_int_equal(audit_verify_row(f->key, &v[1], &res), PC_ERR_VERIFY);
	assert_int_equal(res.fault, AUDIT_FAULT_MAC);
	store_audit_rows_free(v, n);
}

/* Text that is not UTF-8 (a User-Agent may carry any octet from 0x80)
 * is stored with those bytes as \xNN: PostgreSQL would refuse it (the
 * request would fail) and an export could not carry it as JSON. */
static void
test_audit_non_utf8_text_escaped(void **state)
{
	struct fixture *f = *state;
	struct store_audit_row *v = NULL;
	size_t n = 0;
	struct audit_event ev = {
		.event = "token.issue",
		.outcome = "success",
		.user_agent = "probe\xff\xfe/1",
		.target = "caf\xc3\xa9", /* UTF-8 stays as it is */
	};

	assert_int_equal(audit_append(f->db, f->key, &ev), 0);
	assert_int_equal(store_audit_list(f->db, 1, 1, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].user_agent, "probe\\xff\\xfe/1");
	assert_string_equal(v[0].target, "caf\xc3\xa9");
	store_audit_rows_free(v, n);
	expect_ok(f, 1, 0);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_audit_prune_whole_prefix_then_verifies),
		T(test_audit_prune_in_segments),
		T(test_audit_prune_stops_at_young_rows),
		T(test_audit_prune_keeps_newest),
		T(test_audit_prune_empty_or_one_row),
		T(test_audit_AU05_row_deleted_after_prune_detected),
		T(test_audit_AU05_edited_anchor_detected),
		T(test_audit_AU05_deleted_anchor_detected),
		T(test_audit_AU05_restored_row_below_anchor_detected),
		T(test_audit_AU05_prune_refuses_broken_chain),
		T(test_audit_prune_failure_deletes_nothing),
		T(test_audit_seq_range_and_export_walk),
		T(test_audit_non_utf8_text_escaped),
	};
#undef T

	if (sodium_init() < 0)
		return 1;
	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
