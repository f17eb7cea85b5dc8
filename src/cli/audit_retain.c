/*
 * portcullis audit prune | export, and audit verify --file: the audit
 * log's retention (issue 17, item 7; decision 0077; SECURITY.md AU-03,
 * AU-05). The sub-command table is in src/cli/audit.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "util/log.h"

#define DAY_MS INT64_C(86400000)
#define EXPORT_PAGE 512
#define BUSY_TRIES 50 /* 100 ms apart: the chainer runs briefly */
#define EXPORT_FORMAT "portcullis-audit-export"

/* --- prune --------------------------------------------------------- */

/* Rows older than the retention, cut down to a whole UTC day. */
static int64_t
prune_cutoff(const struct config *cfg, int64_t now_ms)
{
	int64_t t = now_ms - cfg->audit_retention * 1000;

	return t - ((t % DAY_MS) + DAY_MS) % DAY_MS;
}

int
cli_audit_prune(struct cli_ctx *c)
{
	struct audit_prune_result res = { 0 };
	struct audit_verify_result v = { 0 };
	char ts[CLI_TIME_MAX];
	int64_t cutoff;
	uint8_t key[32];
	int r = 0;

	/* The prune role (decision 0077): serving nodes cannot delete. */
	if (c->cfg.audit_prune_store_url != NULL &&
	    c->cfg.audit_prune_store_url[0] != '\0') {
		free(c->cfg.store_url);
		c->cfg.store_url = xstrdup(c->cfg.audit_prune_store_url);
	}
	if (cli_start(c, CLI_START_MASTERKEY) != 0)
		return 1;
	cutoff = prune_cutoff(&c->cfg, clock_now_ms());
	cli_time(ts, cutoff / 1000, false);
	audit_key(c->mk, key);
	for (int i = 0; i < BUSY_TRIES; i++) {
		r = audit_prune(
		    c->db, key, cutoff, AUDIT_PRUNE_TX_ROWS, &res, &v);
		if (r != PC_ERR_BUSY || res.txs > 0)
			break;
		struct timespec d = { 0, 100 * 1000 * 1000 };
		nanosleep(&d, NULL);
	}
	sodium_memzero(key, sizeof(key));
	if (res.txs > 0) {
		struct log_line l;

		printf("audit prune: deleted %lld rows (seq %lld to %lld, "
		       "older than %s) in %lld transaction%s; anchor seq %lld "
		       "mac %s\n",
		    (long long)res.rows, (long long)res.first_seq,
		    (long long)res.anchor.seq, ts, (long long)res.txs,
		    res.txs == 1 ? "" : "s", (long long)res.anchor.seq,
		    res.anchor.mac);
		log_begin(&l, LOG_INFO, "audit.pruned");
		log_int(&l, "rows", res.rows);
		log_int(&l, "from_seq", res.first_seq);
		log_int(&l, "to_seq", res.anchor.seq);
		log_end(&l);
	} else if (r == 0) {
		printf("audit prune: nothing older than %s to prune\n", ts);
	}
	if (r == 0)
		return 0;
	if (r == PC_ERR_VERIFY) {
		printf("audit prune REFUSED at seq %lld: %s; nothing of it was "
		       "deleted (run portcullis audit verify)\n",
		    (long long)v.bad_seq, v.reason);
		log_msg(LOG_ERROR, "audit.prune_refused", v.reason);
		return 1;
	}
	fprintf(stderr,
	    "portcullis: cannot prune the audit log: %s%s; nothing more "
	    "was deleted\n",
	    pc_strerror(r),
	    r == PC_ERR_BUSY ? " (another prune or the chainer holds it)"
			     : " (may this role DELETE on audit_log?)");
	return 1;
}

/* --- export -------------------------------------------------------- */

/*
 * A string member, or null. Bytes that are not UTF-8 (a User-Agent may
 * carry any octet from 0x80 up) cannot be a JSON string: such a value is
 * {"hex": "..."}, its bytes exactly, so the mac still verifies.
 */
static int
put_str(json_t *o, const char *k, const char *v)
{
	json_t *s;

	if (v == NULL)
		return json_object_set_new(o, k, json_null()) == 0
		    ? 0
		    : PC_ERR_INTERNAL;
	if ((s = json_string(v)) == NULL) {
		size_t n = strlen(v);
		char *hex = xmalloc(2 * n + 1);

		hex_encode((const uint8_t *)v, n, hex);
		s = json_pack("{s:s}", "hex", hex);
		free(hex);
		if (s == NULL)
			return PC_ERR_INTERNAL;
	}
	return json_object_set_new(o, k, s) == 0 ? 0 : PC_ERR_INTERNAL;
}

/* One row as exported: the columns the mac covers, exactly as stored
 * (details as its JSON text, not re-encoded), and its macs. */
static int
export_row(const struct store_audit_row *r)
{
	json_t *o = json_object();
	int e = 0;

	json_object_set_new(o, "seq", json_integer(r->seq));
	json_object_set_new(o, "ts_ms", json_integer(r->ts_ms));
	e |= put_str(o, "event", r->event);
	e |= put_str(o, "outcome", r->outcome);
	e |= put_str(o, "actor", r->actor);
	e |= put_str(o, "target", r->target);
	e |= put_str(o, "ip", r->ip);
	e |= put_str(o, "user_agent", r->user_agent);
	e |= put_str(o, "request_id", r->request_id);
	e |= put_str(o, "session_hash", r->session_hash);
	e |= put_str(o, "details", r->details);
	e |= put_str(o, "prev_mac", r->prev_mac);
	e |= put_str(o, "mac", r->mac);
	if (e != 0) {
		json_decref(o);
		return PC_ERR_INVALID;
	}
	cli_json_print(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	return 0;
}

/* --since / --until into [since, until) (cli.h; also audit query's). */
int
cli_audit_window(
    const struct cli_ctx *c, int64_t *since, int64_t *until, const char **why)
{
	const char *s = cli_get(c, "since"), *u = cli_get(c, "until");

	*since = INT64_MIN;
	*until = INT64_MAX;
	*why = NULL;
	if (s != NULL && clock_parse_time(s, since) != 0)
		*why = "--since wants an RFC 3339 time (2026-12-05T22:00:00Z) "
		       "or unix seconds";
	else if (u != NULL && clock_parse_time(u, until) != 0)
		*why = "--until wants an RFC 3339 time (2026-12-05T22:00:00Z) "
		       "or unix seconds";
	else if (*since >= *until)
		*why = "--since must be before --until";
	return *why == NULL ? 0 : PC_ERR_INVALID;
}

int
cli_audit_export_check(const struct cli_ctx *c)
{
	int64_t s, u;
	const char *why;

	if (cli_audit_window(c, &s, &u, &why) != 0)
		return cli_usage(c, "%s", why);
	return 0;
}

static void
export_header(const char *key_id, int64_t since, int64_t until,
    int64_t anchor_seq, const char *anchor_mac)
{
	json_t *o = json_pack("{s:s, s:i, s:s, s:o, s:o, s:o, s:{s:I, s:s}}",
	    "type", EXPORT_FORMAT, "version", 1, "key_id", key_id, "since",
	    since == INT64_MIN ? json_null() : cli_json_time(since / 1000),
	    "until",
	    until == INT64_MAX ? json_null() : cli_json_time(until / 1000),
	    "exported_at", cli_json_time(clock_now()), "anchor", "seq",
	    (json_int_t)anchor_seq, "mac", anchor_mac);

	cli_json_print(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

int
cli_audit_export(struct cli_ctx *c)
{
	struct store_audit_row *v = NULL;
	char key_id[AUDIT_KEY_ID_MAX], zeros[PC_SHA256_HEX_LEN + 1];
	struct audit_head head = { 0, "" };
	int64_t since, until, first = 0, last = 0, rows = 0;
	const char *why;
	uint8_t key[32];
	size_t n = 0;
	int r;

	if (cli_audit_window(c, &since, &until, &why) != 0)
		return 2;
	audit_key(c->mk, key);
	audit_key_id(key, key_id);
	sodium_memzero(key, sizeof(key));
	memset(zeros, '0', PC_SHA256_HEX_LEN);
	zeros[PC_SHA256_HEX_LEN] = '\0';
	r = store_audit_seq_range(c->db, since, until, &first, &last);
	if (r == PC_ERR_NOT_FOUND) {
		export_header(key_id, since, until, 0, zeros);
		goto end;
	}
	if (r == 0 && (r = store_audit_list(c->db, first, 1, &v, &n)) == 0 &&
	    (n != 1 || v[0].seq != first))
		r = PC_ERR_CONFLICT; /* pruned meanwhile */
	if (r != 0)
		goto fail;
	/* What the first row links to: the mac of the row before it. */
	export_header(key_id, since, until, first - 1, v[0].prev_mac);
	store_audit_rows_free(v, n);
	v = NULL;
	for (int64_t from = first; from <= last;) {
		if ((r = store_audit_list(c->db, from, EXPORT_PAGE, &v, &n)) !=
		    0)
			goto fail;
		for (size_t i = 0; i < n && v[i].seq <= last; i++) {
			if ((r = export_row(&v[i])) != 0)
				goto fail;
			rows++;
			head.seq = v[i].seq;
			memcpy(head.mac, v[i].mac, sizeof(head.mac));
		}
		from = n < EXPORT_PAGE ? last + 1 : v[n - 1].seq + 1;
		store_audit_rows_free(v, n);
		v = NULL;
	}
end:
	cli_json_print(json_pack("{s:s, s:I, s:{s:I, s:s}}", "type", "end",
			   "rows", (json_int_t)rows, "head", "seq",
			   (json_int_t)head.seq, "mac", head.mac),
	    JSON_COMPACT | JSON_PRESERVE_ORDER);
	return 0;
fail:
	store_audit_rows_free(v, n);
	fprintf(stderr, "portcullis: cannot export the audit log: %s\n",
	    pc_strerror(r));
	return 1;
}

/* --- verify --file ------------------------------------------------- */

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int
unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A member as put_str() wrote it: a string, {"hex": ...} or null. A
 * malformed hex value reads as "" (the mac then fails). */
static char *
jdup(json_t *o, const char *k)
{
	const char *s = jstr(o, k), *h;
	size_t n;
	char *out;

	if (s != NULL)
		return xstrdup(s);
	if ((h = jstr(json_object_get(o, k), "hex")) == NULL)
		return NULL;
	n = strlen(h) / 2;
	out = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		int a = unhex(h[2 * i]), b = unhex(h[2 * i + 1]);

		if (a < 0 || b < 0 || (a == 0 && b == 0)) {
			n = 0;
			break;
		}
		out[i] = (char)(a << 4 | b);
	}
	out[n] = '\0';
	return out;
}

/* A 64-hex mac member into out; anything else reads as "" (never
 * verifies). */
static void
jmac(json_t *o, const char *k, char out[PC_SHA256_HEX_LEN + 1])
{
	const char *s = jstr(o, k);

	out[0] = '\0';
	if (s != NULL && strlen(s) == PC_SHA256_HEX_LEN)
		memcpy(out, s, PC_SHA256_HEX_LEN + 1);
}

static void
row_of(json_t *o, struct store_audit_row *row)
{
	memset(row, 0, sizeof(*row));
	row->seq = json_integer_value(json_object_get(o, "seq"));
	row->ts_ms = json_integer_value(json_object_get(o, "ts_ms"));
	row->event = jdup(o, "event");
	row->outcome = jdup(o, "outcome");
	row->actor = jdup(o, "actor");
	row->target = jdup(o, "target");
	row->ip = jdup(o, "ip");
	row->user_agent = jdup(o, "user_agent");
	row->request_id = jdup(o, "request_id");
	row->session_hash = jdup(o, "session_hash");
	row->details = jdup(o, "details");
	jmac(o, "prev_mac", row->prev_mac);
	jmac(o, "mac", row->mac);
}

struct file_check {
	struct audit_verify_result res;
	int64_t rows, first;
	bool header, end;
	char why[256];
};

/* One line of the export; 0, or 1 with f->why (or res) saying why. */
static int
check_line(const uint8_t key[32], const char *key_id, const char *line,
    struct file_check *f)
{
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
	const char *type = o != NULL ? jstr(o, "type") : NULL;
	int r = 0;

	if (o == NULL || !json_is_object(o) || f->end) {
		snprintf(f->why, sizeof(f->why), "%s",
		    f->end ? "lines after the end line: the export was extended"
			   : "a line is not a JSON object");
		r = 1;
	} else if (!f->header) {
		json_t *a = json_object_get(o, "anchor");
		const char *mac = jstr(a, "mac");

		if (type == NULL || strcmp(type, EXPORT_FORMAT) != 0 ||
		    mac == NULL) {
			snprintf(f->why, sizeof(f->why),
			    "the first line is not a %s header", EXPORT_FORMAT);
			r = 1;
		} else if (jstr(o, "key_id") == NULL ||
		    strcmp(jstr(o, "key_id"), key_id) != 0) {
			snprintf(f->why, sizeof(f->why),
			    "the export was made with another audit key "
			    "(%.40s);"
			    " this master key's is %s",
			    jstr(o, "key_id") ? jstr(o, "key_id") : "none",
			    key_id);
			r = 1;
		} else {
			audit_verify_begin(&f->res,
			    json_integer_value(json_object_get(a, "seq")), mac);
			f->header = true;
		}
	} else if (type != NULL && strcmp(type, "end") == 0) {
		json_t *h = json_object_get(o, "head");
		const char *mac = jstr(h, "mac");

		f->end = true;
		if (json_integer_value(json_object_get(o, "rows")) != f->rows ||
		    (f->rows > 0 &&
			(json_integer_value(json_object_get(h, "seq")) !=
				f->res.head.seq ||
			    mac == NULL ||
			    strcmp(mac, f->res.head.mac) != 0))) {
			snprintf(f->why, sizeof(f->why),
			    "the end line does not match the rows: rows were "
			    "cut from the end");
			r = 1;
		}
	} else {
		struct store_audit_row row;

		row_of(o, &row);
		if (audit_verify_row(key, &row, &f->res) != 0)
			r = 1;
		if (f->rows++ == 0)
			f->first = row.seq;
		store_audit_row_clear(&row);
	}
	json_decref(o);
	return r;
}

int
cli_audit_verify_file(struct cli_ctx *c, const char *path)
{
	struct file_check f;
	struct masterkey *mk = NULL;
	enum masterkey_source src;
	char err[512], key_id[AUDIT_KEY_ID_MAX], *line = NULL;
	uint8_t key[32];
	size_t cap = 0;
	FILE *in;
	int r = 0;

	memset(&f, 0, sizeof(f));
	in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (in == NULL) {
		fprintf(stderr, "portcullis: cannot open %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	/* The key only: the export is checked away from any store. */
	if (masterkey_load(&c->cfg, false, &mk, &src, err, sizeof(err)) != 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		if (in != stdin)
			fclose(in);
		return 1;
	}
	audit_key(mk, key);
	masterkey_free(mk);
	audit_key_id(key, key_id);
	while (r == 0 && getline(&line, &cap, in) > 0)
		r = check_line(key, key_id, line, &f);
	sodium_memzero(key, sizeof(key));
	free(line);
	if (in != stdin)
		fclose(in);
	if (r == 0 && !f.end) {
		snprintf(f.why, sizeof(f.why), "%s",
		    f.header ? "no end line: the export was cut short"
			     : "the file is empty");
		r = 1;
	}
	if (r == 0) {
		printf("export OK: %lld rows (seq %lld to %lld) from anchor "
		       "seq %lld, head seq %lld mac %s\n",
		    (long long)f.rows, (long long)f.first,
		    (long long)f.res.head.seq, (long long)f.res.anchor_seq,
		    (long long)f.res.head.seq, f.res.head.mac);
		return 0;
	}
	if (f.why[0] != '\0')
		printf("export BROKEN: %s\n", f.why);
	else
		printf("export BROKEN at seq %lld: %s (%lld rows verified "
		       "before it)\n",
		    (long long)f.res.bad_seq, f.res.reason,
		    (long long)f.res.rows);
	return 1;
}
