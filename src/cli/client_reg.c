/*
 * portcullis client registration-token add | list | revoke (issue 15 item
 * 6; SECURITY.md CR-01, CR-07; decision 0063).
 *
 * An initial access token lets clients register themselves at
 * /oauth/register while client_registration is 'token' (or lifts the
 * public-and-loopback rule of 'open'). Each registers at most --max-clients
 * clients until it expires; it is printed once and stored only as a hash.
 * Adding and revoking are audited (client.registration_token.*), never
 * with the token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/cli.h"
#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store/store.h"

#define DEFAULT_TTL (7 * 86400)
#define MAX_TTL (365 * 86400)
#define MAX_CLIENTS 100000

static const char usage[] =
    "usage: portcullis client registration-token add [--label TEXT]\n"
    "                             [--max-clients N] [--expires DURATION]\n"
    "                             [--json]\n"
    "       portcullis client registration-token list [--json]\n"
    "       portcullis client registration-token revoke --id rit_...\n"
    "\n"
    "Every sub-command also takes --config FILE, --data-dir DIR,\n"
    "--store-url URL, --mode MODE and --help.\n"
    "\n"
    "add     an initial access token for dynamic client registration\n"
    "        (RFC 7591; client_registration = token). It registers at\n"
    "        most --max-clients clients (default 1) until --expires\n"
    "        (default 7d, at most 365d). Printed once: only its hash is\n"
    "        stored.\n"
    "list    every initial token: id, label, clients used of its cap,\n"
    "        expiry, revocation. Never the token.\n"
    "revoke  the token registers nothing more; clients it registered stay\n"
    "        (delete them with portcullis client delete).\n";

static int64_t
duration(const char *s)
{
	int64_t v = -1;

	return machine_duration_parse(s, &v) == 0 ? v : -1;
}

static int
check_add(const struct cli_ctx *c)
{
	const char *m = cli_get(c, "max-clients"), *e = cli_get(c, "expires");
	char *end = NULL;
	long long n;

	if (m != NULL) {
		n = strtoll(m, &end, 10);
		if (end == m || *end != '\0' || n < 1 || n > MAX_CLIENTS)
			return cli_usage(
			    c, "--max-clients: expected 1 to 100000");
	}
	if (e != NULL && (duration(e) < 1 || duration(e) > MAX_TTL))
		return cli_usage(c,
		    "--expires: expected a duration such as 12h or 30d, at "
		    "most 365d");
	return 0;
}

static json_t *
token_json(const struct store_initial_token *t)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_string(t->token_id));
	json_object_set_new(o, "label", json_string(t->label));
	json_object_set_new(o, "max_clients", json_integer(t->max_clients));
	json_object_set_new(o, "used_clients", json_integer(t->used_clients));
	json_object_set_new(o, "created_at", cli_json_time(t->created_at));
	json_object_set_new(o, "expires_at", cli_json_time(t->expires_at));
	json_object_set_new(o, "revoked_at", cli_json_time(t->revoked_at));
	return o;
}

static int
add(struct cli_ctx *ctx)
{
	const char *label = cli_get(ctx, "label"),
		   *m = cli_get(ctx, "max-clients"),
		   *e = cli_get(ctx, "expires");
	int64_t max = m != NULL ? strtoll(m, NULL, 10) : 1,
		ttl = e != NULL ? duration(e) : DEFAULT_TTL, now = clock_now();
	char token[REG_TOKEN_LEN + 1], id[REG_INITIAL_ID_LEN + 1],
	    t[CLI_TIME_MAX];
	struct store_initial_token st;
	json_t *d;
	int r;

	if (label == NULL)
		label = "";
	r = reg_initial_token_create(ctx->db, label, max, ttl, now, token, id);
	if (r == PC_ERR_INVALID) {
		fprintf(stderr,
		    "portcullis: the label must be text of at most 256 "
		    "bytes\n");
		return 1;
	}
	if (r != 0) {
		fprintf(stderr, "portcullis: cannot add the token: %s\n",
		    pc_strerror(r));
		return 1;
	}
	d = json_pack("{s:s, s:I, s:I}", "label", label, "max_clients",
	    (json_int_t)max, "expires_at", (json_int_t)now + (json_int_t)ttl);
	if (cli_audit(ctx->db, ctx->mk, "client.registration_token.create", id,
		d) != 0) {
		/* Unaudited, the token must not be handed out. */
		if (store_initial_token_revoke(ctx->db, id, clock_now()) != 0)
			fprintf(stderr, "portcullis: revoke %s by hand\n", id);
		sodium_memzero(token, sizeof(token));
		return 1;
	}
	if (cli_has(ctx, "json")) {
		memset(&st, 0, sizeof(st));
		st.token_id = id;
		st.label = (char *)label;
		st.max_clients = max;
		st.created_at = now;
		st.expires_at = now + ttl;
		cli_json_print_secret(
		    token_json(&st), JSON_COMPACT, "token", token);
	} else {
		printf("added initial access token %s for %lld client(s), "
		       "expires %s\n"
		       "token: %s\n"
		       "(shown once: it is stored only as a hash)\n",
		    id, (long long)max, cli_time(t, now + ttl, false), token);
	}
	fflush(stdout);
	sodium_memzero(token, sizeof(token));
	return 0;
}

static int
list(struct cli_ctx *ctx)
{
	struct store_initial_token *v = NULL;
	char t1[CLI_TIME_MAX], t2[CLI_TIME_MAX];
	size_t n = 0;
	int r = store_initial_tokens_list(ctx->db, &v, &n);

	if (r != 0) {
		fprintf(stderr, "portcullis: cannot list the tokens: %s\n",
		    pc_strerror(r));
		return 1;
	}
	if (cli_has(ctx, "json")) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, token_json(&v[i]));
		cli_json_print(a, JSON_COMPACT);
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%s  %lld/%lld  expires %s  revoked %s  %s\n",
			    v[i].token_id, (long long)v[i].used_clients,
			    (long long)v[i].max_clients,
			    cli_time(t1, v[i].expires_at, false),
			    cli_time(t2, v[i].revoked_at, false), v[i].label);
	}
	store_initial_tokens_free(v, n);
	return 0;
}

static int
revoke(struct cli_ctx *ctx)
{
	const char *id = cli_get(ctx, "id");
	int r = store_initial_token_revoke(ctx->db, id, clock_now());

	if (r == PC_ERR_NOT_FOUND) {
		fprintf(
		    stderr, "portcullis: no such live initial access token\n");
		return 1;
	}
	if (r != 0 ||
	    cli_audit(ctx->db, ctx->mk, "client.registration_token.revoke", id,
		NULL) != 0) {
		fprintf(stderr, "portcullis: cannot revoke the token: %s\n",
		    pc_strerror(r));
		return 1;
	}
	printf("revoked %s\n", id);
	return 0;
}

static const struct cli_opt add_opts[] = {
	{ .name = "label", .value = "TEXT", .help = "what it is for" },
	{ .name = "max-clients",
	    .value = "N",
	    .help = "clients it may register (default 1)" },
	{ .name = "expires",
	    .value = "DURATION",
	    .help = "how long it lives (default 7d, at most 365d)" },
	{ .name = "json", .help = "print as JSON" },
	{ .name = NULL },
};

static const struct cli_opt list_opts[] = {
	{ .name = "json", .help = "print as a JSON array" },
	{ .name = NULL },
};

static const struct cli_opt revoke_opts[] = {
	{ .name = "id",
	    .value = "rit_...",
	    .help = "the token",
	    .required = true },
	{ .name = NULL },
};

static const struct cli_sub subs[] = {
	{ "add", add_opts, CLI_START_MASTERKEY, check_add, add },
	{ "list", list_opts, CLI_START_STORE, NULL, list },
	{ "revoke", revoke_opts, CLI_START_MASTERKEY, NULL, revoke },
};

static const struct cli_cmd cmd = { "client registration-token", usage, subs,
	PC_NELEM(subs) };

int
cmd_client_registration_token(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}
