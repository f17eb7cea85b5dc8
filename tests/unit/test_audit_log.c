/*
 * Unit tests for the security events of the log stream (issue 17 item 3,
 * src/audit/audit.c): a durable audit row is one JSON line with the row's
 * fields, control characters escaped (SECURITY.md AU-04); a row appended
 * inside a transaction that rolls back (its own failure in a group
 * commit, or a transaction of its own) is never logged, and one that
 * commits is logged only after the commit (AU-01); the modes all, people
 * (no routine machine-token issues) and off. stderr is captured into a
 * file around each call.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "audit/audit.h"
#include "store_fixture.h"
#include "store/db.h"
#include "store/q.h"
#include "store/store.h"
#include "util/log.h"

struct fixture {
	char dir[64];
	struct db *db;
	uint8_t key[32];
	char cap[128];
	int saved;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || store_fixture_new(f->dir, true, &f->db) != 0) {
		free(f);
		return -1;
	}
	randombytes_buf(f->key, sizeof(f->key));
	/* Not in the fixture's directory: fault injection removes that
	 * before release_at_exit() reads the capture. */
	{
		const char *tmp = getenv("TMPDIR");
		int fd;

		snprintf(f->cap, sizeof(f->cap), "%s/pc-cap-XXXXXX",
		    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
		if ((fd = mkstemp(f->cap)) < 0)
			return -1;
		close(fd);
	}
	log_init(LOG_INFO);
	audit_set_log_mode(AUDIT_LOG_ALL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	audit_set_log_mode(AUDIT_LOG_OFF);
	log_init(LOG_WARN);
	unlink(f->cap);
	if (store_fixture_close(f->dir, f->db) != 0)
		return -1;
	free(f);
	return 0;
}

/* The fixture whose capture is on, for release_at_exit(). */
static struct fixture *capturing;

/*
 * Under fault injection (scripts/torture.sh) the process exits from inside
 * a store call, with stderr still captured: give the runner back what was
 * written ("fault: survived", sanitizer reports).
 */
static void
release_at_exit(void)
{
	struct fixture *f = capturing;
	char buf[4096];
	size_t n;
	FILE *fp;

	if (f == NULL)
		return;
	capturing = NULL;
	fflush(stderr);
	dup2(f->saved, 2);
	if ((fp = fopen(f->cap, "re")) == NULL)
		return;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		(void)!write(2, buf, n);
	fclose(fp);
	unlink(f->cap);
}

/* stderr into f->cap (emptied) until uncapture(). */
static void
capture(struct fixture *f)
{
	int fd = open(f->cap, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	fflush(stderr);
	f->saved = dup(2);
	assert_true(dup2(fd, 2) == 2);
	close(fd);
	capturing = f;
}

/* Restores stderr; the security lines written meanwhile, joined. */
static char *
uncapture(struct fixture *f, int *nlines)
{
	FILE *fp;
	char line[8192], *out = calloc(1, 65536);
	size_t len = 0;

	fflush(stderr);
	capturing = NULL;
	dup2(f->saved, 2);
	close(f->saved);
	*nlines = 0;
	fp = fopen(f->cap, "re");
	assert_non_null(fp);
	assert_non_null(out);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strstr(line, "\"event\":\"security\"") == NULL)
			continue;
		(*nlines)++;
		if (len + strlen(line) < 65535) {
			memcpy(out + len, line, strlen(line));
			len += strlen(line);
		}
	}
	fclose(fp);
	return out;
}

static void
event(struct audit_event *ev, const char *name, const char *outcome, json_t *d)
{
	memset(ev, 0, sizeof(*ev));
	ev->event = name;
	ev->outcome = outcome;
	ev->actor = "pcc_actor";
	ev->target = "usr_target";
	ev->ip = "192.0.2.7";
	ev->request_id = "rid-1";
	ev->details = d;
}

static void
test_audit_log_AU04_one_escaped_line_per_row(void **state)
{
	struct fixture *f = *state;
	struct audit_event ev;
	json_t *d = json_pack("{s:s}", "reason", "bad\npassword\x1b[2J");
	json_t *line, *det;
	json_error_t je;
	char *out;
	int n;

	const char *ua = "evil\x1b[31m\"},{\"event\":\"forged\"\r\nX: y\x7f";

	event(&ev, "login", "failure", d);
	ev.user_agent = ua;
	capture(f);
	assert_int_equal(audit_append(f->db, f->key, &ev), 0);
	out = uncapture(f, &n);
	json_decref(d);
	assert_int_equal(n, 1);
	/* No raw control character, so no forged line or terminal escape. */
	for (const char *p = out; *p != '\0'; p++)
		assert_false((unsigned char)*p < 0x20 && *p != '\n');
	assert_null(strstr(out, "\x7f"));
	line = json_loads(out, 0, &je);
	assert_non_null(line);
	assert_string_equal(
	    json_string_value(json_object_get(line, "event")), "security");
	assert_string_equal(
	    json_string_value(json_object_get(line, "type")), "login");
	assert_string_equal(
	    json_string_value(json_object_get(line, "outcome")), "failure");
	assert_string_equal(
	    json_string_value(json_object_get(line, "actor")), "pcc_actor");
	assert_string_equal(
	    json_string_value(json_object_get(line, "target")), "usr_target");
	assert_string_equal(
	    json_string_value(json_object_get(line, "request_id")), "rid-1");
	assert_string_equal(
	    json_string_value(json_object_get(line, "user_agent")), ua);
	det = json_object_get(line, "details");
	assert_true(json_is_object(det));
	assert_string_equal(json_string_value(json_object_get(det, "reason")),
	    "bad\npassword\x1b[2J");
	assert_string_equal(
	    json_string_value(json_object_get(line, "level")), "info");
	json_decref(line);
	free(out);

	/* Alerts at warn. */
	event(&ev, "token.refresh_reuse", "alert", NULL);
	capture(f);
	assert_int_equal(audit_append(f->db, f->key, &ev), 0);
	out = uncapture(f, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(out, "\"level\":\"warn\""));
	free(out);
}

/* A byte that is not UTF-8 (a Latin-1 User-Agent) must not lose the row:
 * PostgreSQL refuses invalid UTF-8 text. Each such byte is logged as
 * \xNN; well-formed sequences around it stay as they are. */
static void
test_audit_log_AU01_non_utf8_user_agent_still_audited(void **state)
{
	struct fixture *f = *state;
	struct audit_event ev;
	json_t *line;
	char *out;
	int n;

	event(&ev, "login", "failure", NULL);
	ev.user_agent = "caf\xe9 \xc3\x28 \xf0\x9f\x98\x80 ok";
	capture(f);
	assert_int_equal(audit_append(f->db, f->key, &ev), 0);
	out = uncapture(f, &n);
	assert_int_equal(n, 1);
	line = json_loads(out, 0, NULL);
	assert_non_null(line);
	assert_string_equal(
	    json_string_value(json_object_get(line, "user_agent")),
	    "caf\\xe9 \\xc3( \xf0\x9f\x98\x80 ok");
	json_decref(line);
	free(out);
}

struct tx_arg {
	uint8_t *key;
	int result;
	int appended;
};

static int
append_in_tx(struct db_conn *c, void *arg)
{
	struct tx_arg *a = arg;
	struct audit_event ev;

	event(&ev, "token.issue", "success", NULL);
	a->appended = audit_append_tx(c, a->key, &ev);
	return a->appended != 0 ? a->appended : a->result;
}

static void
test_audit_log_AU01_rolled_back_row_never_logged(void **state)
{
	struct fixture *f = *state;
	struct tx_arg a = { f->key, PC_ERR_INVALID, -1 };
	char *out;
	int n;

	/* Its own failure: the row goes, and so does its line. */
	capture(f);
	assert_int_equal(db_batch(f->db, append_in_tx, &a), PC_ERR_INVALID);
	out = uncapture(f, &n);
	assert_int_equal(a.appended, 0);
	assert_int_equal(n, 0);
	free(out);
	capture(f);
	assert_int_equal(store_tx(f->db, append_in_tx, &a), PC_ERR_INVALID);
	out = uncapture(f, &n);
	assert_int_equal(n, 0);
	free(out);

	/* Committed: logged once, by the time the call returns. */
	a.result = 0;
	capture(f);
	assert_int_equal(db_batch(f->db, append_in_tx, &a), 0);
	out = uncapture(f, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(out, "\"type\":\"token.issue\""));
	free(out);
	capture(f);
	assert_int_equal(store_tx(f->db, append_in_tx, &a), 0);
	out = uncapture(f, &n);
	assert_int_equal(n, 1);
	free(out);
}

static int
count_lines(
    struct fixture *f, const char *name, const char *outcome, const char *grant)
{
	struct audit_event ev;
	json_t *d = grant != NULL ? json_pack("{s:s}", "grant", grant) : NULL;
	char *out;
	int n;

	event(&ev, name, outcome, d);
	capture(f);
	assert_int_equal(audit_append(f->db, f->key, &ev), 0);
	out = uncapture(f, &n);
	json_decref(d);
	free(out);
	return n;
}

static void
test_audit_log_modes(void **state)
{
	struct fixture *f = *state;
	enum audit_log_mode m;

	assert_int_equal(audit_log_mode_parse("people", &m), 0);
	assert_int_equal(m, AUDIT_LOG_PEOPLE);
	assert_int_equal(audit_log_mode_parse("People", &m), PC_ERR_INVALID);
	assert_int_equal(audit_log_mode_parse(NULL, &m), PC_ERR_INVALID);

	audit_set_log_mode(AUDIT_LOG_PEOPLE);
	/* Routine machine-token issues stay in the store only... */
	assert_int_equal(
	    count_lines(f, "token.issue", "success", "client_credentials"), 0);
	assert_int_equal(
	    count_lines(f, "token.issue", "success", "token-exchange"), 0);
	/* ...people's tokens, failures and everything else go. */
	assert_int_equal(
	    count_lines(f, "token.issue", "success", "authorization_code"), 1);
	assert_int_equal(
	    count_lines(f, "token.issue", "success", "refresh_token"), 1);
	assert_int_equal(count_lines(f, "client.auth", "failure", NULL), 1);
	assert_int_equal(
	    count_lines(f, "token.issue", "failure", "client_credentials"), 1);
	assert_int_equal(count_lines(f, "apikey.create", "success", NULL), 1);

	audit_set_log_mode(AUDIT_LOG_ALL);
	assert_int_equal(
	    count_lines(f, "token.issue", "success", "client_credentials"), 1);
	audit_set_log_mode(AUDIT_LOG_OFF);
	assert_int_equal(count_lines(f, "login", "failure", NULL), 0);
	assert_int_equal(
	    count_lines(f, "token.refresh_reuse", "alert", NULL), 0);
}

int
main(void)
{
	log_init(LOG_WARN);
	atexit(release_at_exit);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_audit_log_AU04_one_escaped_line_per_row),
		T(test_audit_log_AU01_rolled_back_row_never_logged),
		T(test_audit_log_AU01_non_utf8_user_agent_still_audited),
		T(test_audit_log_modes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
