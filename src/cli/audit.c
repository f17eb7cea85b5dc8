/*
 * portcullis audit tail | verify | query | prune | export, and the
 * helpers the other commands use to write audit events (SECURITY.md
 * AU-01, AU-05, TX-07). prune, export and verify --file live in
 * src/cli/audit_retain.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "util/log.h"

#define TAIL_DEFAULT 20
#define TAIL_MAX 100000
#define QUERY_DEFAULT 1000
#define QUERY_MAX AUDIT_QUERY_MAX

static const char usage[] =
    "usage: portcullis audit tail [-n N] [--json] [--config FILE] "
    "[--data-dir DIR]\n"
    "       portcullis audit verify [--head SEQ:MAC | --file F] [--config "
    "FILE] [--data-dir DIR]\n"
    "       portcullis audit query --principal ID [--since T] [--until T] "
    "[--limit N]\n"
    "                              [--json] [--config FILE] "
    "[--data-dir DIR]\n"
    "       portcullis audit prune [--config FILE] [--data-dir DIR]\n"
    "       portcullis audit export [--since T] [--until T] [--config FILE] "
    "[--data-dir DIR]\n"
    "\n"
    "tail    the last N audit events (default 20), oldest first, as a "
    "table or,\n        with --json, one JSON object per line. Events not "
    "chained yet\n        (pending) come last, with no seq (\"-\", "
    "null).\n"
    "verify  walks the whole hash chain and names the first row that was "
    "edited,\n        deleted or reordered (exit 1). --head checks that "
    "the chain still\n        reaches a head exported earlier (the "
    "\"head seq S mac M\" it printed),\n        which also catches rows "
    "deleted from the end. Rows not chained yet\n        (pending, "
    "PostgreSQL) must carry their own valid mac (exit 1 if not);\n        "
    "any older than 60 s is a warning (exit 3): no node chains them.\n"
    "        After a prune the walk starts from the recorded anchor. "
    "--file F\n        checks an export (from audit export) with the "
    "master key alone,\n        no store needed.\n"
    "query   what a principal (svc_, key_, pcc_, wif_, usr_ id; any actor "
    "or\n        target) did and got: the events where it is the actor "
    "or the\n        target, oldest first, with time, outcome, IP, user "
    "agent and\n        details; events not chained yet (pending) "
    "included. T is an RFC 3339\n        time (2026-12-05T22:00:00Z, "
    "or with an offset) or unix seconds;\n        the window is since <= "
    "time < until. At most --limit events\n        (default 1000); "
    "when more match, a note on stderr says where to\n        go on "
    "(exit 0).\n";

/* "SEQ:MAC" as printed by verify. */
static int
parse_head(const char *s, struct audit_head *h)
{
	struct str head, tail;

	if (str_split(str_from(s), ':', &head, &tail) != 0 ||
	    str_to_int64(head, 1, INT64_MAX, &h->seq) != 0 ||
	    tail.len != PC_SHA256_HEX_LEN)
		return PC_ERR_INVALID;
	for (size_t i = 0; i < tail.len; i++) {
		char ch = tail.p[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return PC_ERR_INVALID;
	}
	memcpy(h->mac, tail.p, PC_SHA256_HEX_LEN);
	h->mac[PC_SHA256_HEX_LEN] = '\0';
	return 0;
}

/* A column for the terminal: control bytes as \xNN (AU-04), "-" if NULL. */
static void
put_text(const char *s, int width)
{
	char out[AUDIT_FIELD_MAX * 4 + 1];
	size_t o = 0;

	if (s == NULL)
		s = "-";
	for (; *s != '\0' && o + 5 < sizeof(out); s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f || ch == '\\') {
			o += (size_t)snprintf(out + o, sizeof(out) - o,
			    ch == '\\' ? "\\\\" : "\\x%02x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
	printf("%-*s ", width, out);
}

static void
json_opt(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, v != NULL ? json_string(v) : json_null());
}

static void
print_json(const struct store_audit_row *r)
{
	json_t *o = json_object();
	char ts[CLI_TIME_MAX];

	cli_time(ts, r->ts_ms, true);
	/* A pending row has no seq yet: null, and its pending id. */
	json_object_set_new(
	    o, "seq", r->id[0] == '\0' ? json_integer(r->seq) : json_null());
	if (r->id[0] != '\0')
		json_object_set_new(o, "pending_id", json_string(r->id));
	json_object_set_new(o, "ts_ms", json_integer(r->ts_ms));
	json_object_set_new(o, "time", json_string(ts));
	json_opt(o, "event", r->event);
	json_opt(o, "outcome", r->outcome);
	json_opt(o, "actor", r->actor);
	json_opt(o, "target", r->target);
	json_opt(o, "ip", r->ip);
	json_opt(o, "user_agent", r->user_agent);
	json_opt(o, "request_id", r->request_id);
	json_opt(o, "session_hash", r->session_hash);
	if (r->details != NULL) {
		json_t *d =
		    json_loads(r->details, JSON_REJECT_DUPLICATES, NULL);

		json_object_set_new(
		    o, "details", d != NULL ? d : json_string(r->details));
	} else {
		json_object_set_new(o, "details", json_null());
	}
	json_opt(o, "prev_mac", r->prev_mac);
	json_opt(o, "mac", r->mac);
	cli_json_print(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* -n: 1 to TAIL_MAX, default TAIL_DEFAULT. */
static int
tail_count(const struct cli_ctx *c, int64_t *n)
{
	const char *v = cli_get(c, "n");

	*n = TAIL_DEFAULT;
	return v != NULL ? str_to_int64(str_from(v), 1, TAIL_MAX, n) : 0;
}

static int
tail_check(const struct cli_ctx *c)
{
	int64_t n;

	if (tail_count(c, &n) != 0)
		return cli_usage(c, "-n wants a number from 1 to %d", TAIL_MAX);
	return 0;
}

static int
tail(struct cli_ctx *c)
{
	struct store_audit_row *v = NULL;
	bool as_json = cli_has(c, "json");
	size_t n = 0;
	int64_t want;
	int r;

	(void)tail_count(c, &want);
	if ((r = store_audit_tail(c->db, (size_t)want, &v, &n)) != 0) {
		fprintf(stderr, "portcullis: cannot read the audit log: %s\n",
		    pc_strerror(r));
		return 1;
	}
	if (!as_json)
		printf("%-6s %-24s %-20s %-8s %-12s %-44s %s\n", "SEQ", "TIME",
		    "EVENT", "OUTCOME", "ACTOR", "TARGET", "IP");
	for (size_t i = 0; i < n; i++) {
		char ts[CLI_TIME_MAX];

		if (as_json) {
			print_json(&v[i]);
			continue;
		}
		cli_time(ts, v[i].ts_ms, true);
		if (v[i].id[0] != '\0')
			printf("%-6s %-24s ", "-", ts); /* pending */
		else
			printf("%-6" PRId64 " %-24s ", v[i].seq, ts);
		put_text(v[i].event, 20);
		put_text(v[i].outcome, 8);
		put_text(v[i].actor, 12);
		put_text(v[i].target, 44);
		put_text(v[i].ip, 0);
		putchar('\n');
	}
	store_audit_rows_free(v, n);
	return 0;
}

static int
verify_check(const struct cli_ctx *c)
{
	struct audit_head h;
	const char *v = cli_get(c, "head");

	if (v != NULL && parse_head(v, &h) != 0)
		return cli_usage(c, "--head wants SEQ:MAC (64 hex digits)");
	if (v != NULL && cli_has(c, "file"))
		return cli_usage(c, "--head and --file do not go together");
	return 0;
}

static int
verify(struct cli_ctx *c)
{
	struct audit_verify_result res;
	struct audit_head h;
	const char *head = cli_get(c, "head");
	uint8_t key[32];
	int r;

	if (head != NULL && parse_head(head, &h) != 0)
		return 2; /* verify_check said why */
	if (cli_has(c, "file"))
		return cli_audit_verify_file(c, cli_get(c, "file"));
	if (cli_start(c, CLI_START_MASTERKEY) != 0)
		return 1;
	audit_key(c->mk, key);
	r = audit_verify(c->db, key, head != NULL ? &h : NULL, &res);
	sodium_memzero(key, sizeof(key));
	if (r == 0) {
		printf("audit log OK: %lld rows, head seq %lld mac %s\n",
		    (long long)res.rows, (long long)res.head.seq, res.head.mac);
		if (res.anchor_seq > 0)
			printf("pruned: rows up to seq %lld (audit prune); the "
			       "chain starts from its anchor, which verifies\n",
			    (long long)res.anchor_seq);
		if (res.pending > 0)
			printf("pending: %lld rows not chained yet, their own "
			       "macs verify\n",
			    (long long)res.pending);
		if (res.pending_stale == 0)
			return 0;
		printf("WARNING: %lld pending rows older than %d s: no node "
		       "has chained them (is a node running?)\n",
		    (long long)res.pending_stale,
		    AUDIT_PENDING_GRACE_MS / 1000);
		log_msg(LOG_WARN, "audit.verify_stale_pending",
		    "pending audit rows are not being chained");
		return 3;
	}
	if (r == PC_ERR_VERIFY) {
		if (res.fault == AUDIT_FAULT_PENDING)
			printf("audit log BROKEN: %s (%lld rows verified)\n",
			    res.reason, (long long)res.rows);
		else
			printf("audit log BROKEN at seq %lld: %s (%lld rows "
			       "verified before it)\n",
			    (long long)res.bad_seq, res.reason,
			    (long long)res.rows);
		log_msg(LOG_ERROR, "audit.verify_failed", res.reason);
		return 1;
	}
	fprintf(stderr, "portcullis: cannot read the audit log: %s\n",
	    pc_strerror(r));
	return 1;
}

/* The window and the limit, from the options; 0 or a usage message. */
static int
query_args(
    const struct cli_ctx *c, struct store_audit_filter *f, const char **why)
{
	const char *limit = cli_get(c, "limit");
	int64_t n = QUERY_DEFAULT;

	f->principal = cli_get(c, "principal");
	f->since_ms = INT64_MIN;
	f->until_ms = INT64_MAX;
	*why = NULL;
	if (!audit_principal_ok(f->principal))
		*why = "--principal wants an id (printable text, at most 512 "
		       "bytes)";
	else if (cli_audit_window(c, &f->since_ms, &f->until_ms, why) == 0 &&
	    limit != NULL &&
	    str_to_int64(str_from(limit), 1, QUERY_MAX, &n) != 0)
		*why = "--limit wants a number from 1 to 100000";
	/* (a window refused: *why is cli_audit_window()'s) */
	f->limit = (size_t)n;
	return *why == NULL ? 0 : PC_ERR_INVALID;
}

static int
query_check(const struct cli_ctx *c)
{
	struct store_audit_filter f;
	const char *why;

	if (query_args(c, &f, &why) != 0)
		return cli_usage(c, "%s", why);
	return 0;
}

/* One row of the table: details as compact JSON text, escaped. */
static void
query_print_row(const struct store_audit_row *r)
{
	char ts[CLI_TIME_MAX];

	cli_time(ts, r->ts_ms, true);
	if (r->id[0] != '\0')
		printf("%-6s %-24s ", "-", ts); /* pending */
	else
		printf("%-6" PRId64 " %-24s ", r->seq, ts);
	put_text(r->event, 24);
	put_text(r->outcome, 8);
	put_text(r->actor, 26);
	put_text(r->target, 26);
	put_text(r->ip, 15);
	put_text(r->user_agent, 20);
	put_text(r->details, 0);
	putchar('\n');
}

static int
query(struct cli_ctx *c)
{
	struct store_audit_filter f;
	struct store_audit_row *v = NULL;
	const char *why;
	bool as_json = cli_has(c, "json"), more = false;
	size_t n = 0;
	int r;

	if (query_args(c, &f, &why) != 0)
		return 2; /* query_check said why */
	if ((r = audit_query(c->db, &f, &v, &n, &more)) != 0) {
		fprintf(stderr, "portcullis: cannot read the audit log: %s\n",
		    pc_strerror(r));
		return 1;
	}
	if (!as_json)
		printf("%-6s %-24s %-24s %-8s %-26s %-26s %-15s %-20s %s\n",
		    "SEQ", "TIME", "EVENT", "OUTCOME", "ACTOR", "TARGET", "IP",
		    "USER-AGENT", "DETAILS");
	for (size_t i = 0; i < n; i++) {
		if (as_json)
			print_json(&v[i]);
		else
			query_print_row(&v[i]);
	}
	if (more) {
		char ts[CLI_TIME_MAX];

		/* On stderr: --json output stays one event a line. */
		cli_time(ts, v[n - 1].ts_ms, true);
		fprintf(stderr,
		    "portcullis: more events match; these are the first %zu. "
		    "Go on with --since %s (events at that instant are shown "
		    "again) or raise --limit.\n",
		    n, ts);
	}
	store_audit_rows_free(v, n);
	return 0;
}

static const struct cli_opt tail_opts[] = {
	{ .name = "n",
	    .value = "N",
	    .help = "how many events, the last ones (1 to 100000; default "
		    "20)" },
	{ .name = "json", .help = "one JSON object per line" },
	{ .name = NULL },
};

static const struct cli_opt verify_opts[] = {
	{ .name = "head",
	    .value = "SEQ:MAC",
	    .help = "a head printed by an earlier verify, which the chain "
		    "must still reach" },
	{ .name = "file",
	    .value = "F",
	    .help = "an export to check instead of the store (- for stdin)" },
	{ .name = NULL },
};

static const struct cli_opt prune_opts[] = {
	{ .name = NULL },
};

/* The time window of export and query (both read by query_args()). */
#define WINDOW_OPTS \
	{ .name = "since", \
		.value = "T", \
		.help = "from this time on (RFC 3339 or unix seconds)" }, \
	{ \
		.name = "until", .value = "T", \
		.help = "before this time (RFC 3339 or unix seconds)" \
	}

static const struct cli_opt export_opts[] = {
	WINDOW_OPTS,
	{ .name = NULL },
};

static const struct cli_opt query_opts[] = {
	{ .name = "principal",
	    .value = "ID",
	    .required = true,
	    .help = "the principal: events where it is the actor or the "
		    "target" },
	WINDOW_OPTS,
	{ .name = "limit",
	    .value = "N",
	    .help = "at most N events, the oldest (1 to 100000; default "
		    "1000)" },
	{ .name = "json", .help = "one JSON object per line" },
	{ .name = NULL },
};

static const struct cli_sub subs[] = {
	{ .name = "tail",
	    .opts = tail_opts,
	    .start = CLI_START_STORE,
	    .check = tail_check,
	    .run = tail },
	/* verify opens the store itself: not with --file. */
	{ .name = "verify",
	    .opts = verify_opts,
	    .start = 0,
	    .check = verify_check,
	    .run = verify },
	{ .name = "query",
	    .opts = query_opts,
	    .start = CLI_START_STORE,
	    .check = query_check,
	    .run = query },
	/* prune opens the store itself, maybe with its own URL. */
	{ .name = "prune", .opts = prune_opts, .run = cli_audit_prune },
	{ .name = "export",
	    .opts = export_opts,
	    .start = CLI_START_MASTERKEY,
	    .check = cli_audit_export_check,
	    .run = cli_audit_export },
};

static const struct cli_cmd cmd = { "audit", usage, subs, PC_NELEM(subs) };

int
cmd_audit(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}

/* --- events written by CLI commands -------------------------------- */

int
cli_audit(struct db *db, const struct masterkey *mk, const char *event,
    const char *target, json_t *details)
{
	struct audit_event ev = {
		.event = event,
		.outcome = "success",
		.actor = "cli",
		.target = target,
		.details = details,
	};
	uint8_t key[32];
	int r;

	audit_key(mk, key);
	r = audit_append(db, key, &ev);
	sodium_memzero(key, sizeof(key));
	json_decref(details);
	if (r != 0) {
		fprintf(stderr, "portcullis: cannot write the audit log: %s\n",
		    pc_strerror(r));
		log_msg(LOG_ERROR, "audit.append_failed", event);
	}
	return r;
}

static bool
has_alg(const struct store_signing_key *v, size_t n, const char *alg)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].alg, alg) == 0)
			return true;
	return false;
}

static bool
had_kid(const struct store_signing_key *v, size_t n, const char *kid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].kid, kid) == 0)
			return true;
	return false;
}

int
cli_signer_open(struct db *db, const struct masterkey *mk,
    const struct config *cfg, int64_t now, struct signer **out)
{
	struct store_signing_key *before = NULL, *after = NULL;
	size_t nb = 0, na = 0;
	int r;

	if ((r = store_signing_keys_list(db, &before, &nb)) != 0)
		return r;
	if ((r = signer_open(db, mk, cfg, true, now, out)) != 0)
		goto out;
	/* First start: record the keys signer_open just generated. */
	if ((!has_alg(before, nb, "ES256") || !has_alg(before, nb, "RS256")) &&
	    store_signing_keys_list(db, &after, &na) == 0) {
		for (size_t i = 0; i < na; i++) {
			json_t *d;

			if (had_kid(before, nb, after[i].kid))
				continue;
			d = json_pack("{s:s, s:I}", "alg", after[i].alg,
			    "activate_at", (json_int_t)after[i].activate_at);
			(void)cli_audit(db, mk, "key.created", after[i].kid, d);
		}
	}
out:
	store_signing_keys_free(before, nb);
	store_signing_keys_free(after, na);
	return r;
}
