/*
 * portcullis api-key add | list | show | rotate | revoke | revoke-leaked.
 *
 * The whole key is printed once, by add and rotate; then only the SHA-256
 * of its secret exists (AK-01). Every other output, the audit log and the
 * logs name a key by its public id "key_…" only. Changes are audited with
 * the CLI's actor ("cli"). revoke-leaked is src/cli/api_key_leaked.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/cli.h"
#include "machine/machine.h"
#include "store/store.h"

static const char usage[] =
    "usage: portcullis api-key add --owner svc_…|usr_… --scope \"SCOPE ...\"\n"
    "                              [--resource URI] [--expires DURATION]\n"
    "                              [--name NAME] [--json]\n"
    "       portcullis api-key list [--owner ID] [--json]\n"
    "       portcullis api-key show --id key_… [--json]\n"
    "       portcullis api-key rotate --id key_… [--overlap DURATION] "
    "[--json]\n"
    "       portcullis api-key revoke --id key_…\n"
    "       portcullis api-key revoke-leaked [FILE|-] [--json]\n"
    "\n"
    "Every sub-command also takes --config FILE, --data-dir DIR,\n"
    "--store-url URL, --mode MODE and --help.\n"
    "\n"
    "add            creates a key for a live service account or user. The\n"
    "               whole key is printed once and then exists only as a\n"
    "               hash. Scopes must be ones the owner may hold; with\n"
    "               --resource the key works for that registered resource\n"
    "               only. Every key expires: --expires defaults to\n"
    "               api_key_default_ttl (90d), at most api_key_max_ttl\n"
    "               (365d). DURATION: 90d, 12h, 30m, 3600s, 2w or seconds.\n"
    "rotate         issues a successor (same owner, scopes, resource and\n"
    "               lifetime), printed once; the old key keeps working for\n"
    "               --overlap (default api_key_rotate_overlap, 24h), never\n"
    "               past its own expiry. 0: the old key stops at once.\n"
    "revoke         ends a key at once, on every node.\n"
    "revoke-leaked  reads a text (FILE, or standard input for - or\n"
    "               nothing), finds every string in the API-key format,\n"
    "               revokes those that are keys of this server (their\n"
    "               secret matches), mails their owners and prints the\n"
    "               key ids it revoked. A look-alike (right format and\n"
    "               checksum, unknown secret) revokes nothing.\n";

/* machine_duration_parse's durations ("90d", "12h", ...); "0" too with
 * zero_ok. -1 on anything else. */
static int64_t
duration(const char *s, bool zero_ok)
{
	int64_t v = 0;

	if (zero_ok && s != NULL && strcmp(s, "0") == 0)
		return 0;
	return machine_duration_parse(s, &v) == 0 ? v : -1;
}

static json_t *
key_json(const struct store_api_key *k)
{
	char id[APIKEY_PUBLIC_ID_LEN + 1], succ[APIKEY_PUBLIC_ID_LEN + 1];
	json_t *o;

	apikey_public_id(k->key_id, id);
	if (k->replaced_by[0] != '\0')
		apikey_public_id(k->replaced_by, succ);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "kind", k->kind,
	    "owner", k->owner_id, "name", k->name, "scope", k->scopes);
	json_object_set_new(o, "resource",
	    k->resource_id != NULL ? json_string(k->resource_id) : json_null());
	json_object_set_new(o, "created_at", cli_json_time(k->created_at));
	json_object_set_new(o, "expires_at", cli_json_time(k->expires_at));
	json_object_set_new(o, "revoked_at", cli_json_time(k->revoked_at));
	json_object_set_new(o, "revoke_reason",
	    k->revoke_reason != NULL ? json_string(k->revoke_reason)
				     : json_null());
	json_object_set_new(o, "replaced_by",
	    k->replaced_by[0] != '\0' ? json_string(succ) : json_null());
	json_object_set_new(o, "last_used_at", cli_json_time(k->last_used_at));
	json_object_set_new(o, "last_used_ip",
	    k->last_used_ip != NULL ? json_string(k->last_used_ip)
				    : json_null());
	return o;
}

static void
print_key(const struct store_api_key *k)
{
	char id[APIKEY_PUBLIC_ID_LEN + 1], t[CLI_TIME_MAX];

	apikey_public_id(k->key_id, id);
	printf("id:            %s\n", id);
	printf("owner:         %s\n", k->owner_id);
	printf("name:          %s\n", k->name);
	printf("scope:         %s\n", k->scopes);
	printf("resource:      %s\n",
	    k->resource_id != NULL ? k->resource_id : "-");
	printf("created_at:    %s\n", cli_time(t, k->created_at, false));
	printf("expires_at:    %s\n", cli_time(t, k->expires_at, false));
	printf("revoked_at:    %s", cli_time(t, k->revoked_at, false));
	if (k->revoke_reason != NULL)
		printf(" (%s)", k->revoke_reason);
	printf("\n");
	if (k->replaced_by[0] != '\0') {
		apikey_public_id(k->replaced_by, id);
		printf("replaced_by:   %s\n", id);
	}
	printf("last_used_at:  %s\n", cli_time(t, k->last_used_at, false));
	printf("last_used_ip:  %s\n",
	    k->last_used_ip != NULL ? k->last_used_ip : "-");
}

static int
report(int r, const char *why, const char *doing)
{
	if (r == PC_ERR_INVALID && why != NULL)
		fprintf(stderr, "portcullis: api key refused: %s\n", why);
	else if (r == PC_ERR_NOT_FOUND)
		fprintf(stderr, "portcullis: no such api key\n");
	else if (r != 0)
		fprintf(stderr, "portcullis: cannot %s the api key: %s\n",
		    doing, pc_strerror(r));
	return r;
}

/* The end of add and rotate: printed once, then wiped. */
static void
print_new(const struct cli_ctx *ctx, const struct store_api_key *k,
    char key[APIKEY_MAX_LEN + 1], const char *verb)
{
	char id[APIKEY_PUBLIC_ID_LEN + 1], t[CLI_TIME_MAX];

	apikey_public_id(k->key_id, id);
	if (cli_has(ctx, "json")) {
		cli_json_print_secret(key_json(k), JSON_COMPACT, "key", key);
	} else {
		printf("%s api key %s for %s, expires %s\n"
		       "key: %s\n"
		       "(shown once: it is stored only as a hash)\n",
		    verb, id, k->owner_id, cli_time(t, k->expires_at, false),
		    key);
	}
	fflush(stdout);
	sodium_memzero(key, APIKEY_MAX_LEN + 1);
}

/*
 * The end of add and rotate when the audit row could not be written: an
 * unaudited key must not be handed out, so the new key is revoked
 * (through the domain, like any revocation) and never printed. 1.
 */
static int
unaudited(const struct cli_ctx *ctx, struct store_api_key *k, const char *id,
    char key[APIKEY_MAX_LEN + 1])
{
	bool changed;

	if (apikey_revoke(ctx->db, id, clock_now(), "audit failed", &changed) !=
	    0)
		fprintf(stderr, "portcullis: revoke %s by hand\n", id);
	sodium_memzero(key, APIKEY_MAX_LEN + 1);
	store_api_key_clear(k);
	return 1;
}

static int
add(struct cli_ctx *ctx)
{
	struct apikey_request rq = {
		.owner_id = cli_get(ctx, "owner"),
		.scopes = cli_get(ctx, "scope"),
		.resource_id = cli_get(ctx, "resource"),
		.name = cli_get(ctx, "name"),
	};
	struct store_api_key k;
	char key[APIKEY_MAX_LEN + 1], id[APIKEY_PUBLIC_ID_LEN + 1];
	const char *why = NULL;
	json_t *d;
	int r;

	if (cli_has(ctx, "expires"))
		rq.ttl = duration(cli_get(ctx, "expires"), false);
	r = apikey_create(ctx->db, &ctx->cfg, &rq, clock_now(), &k, key, &why);
	if (report(r, why, "add") != 0)
		return 1;
	apikey_public_id(k.key_id, id);
	/* AU-01, TX-07: never the key. */
	d = json_pack("{s:s, s:s, s:s, s:I}", "owner", k.owner_id, "scope",
	    k.scopes, "resource", k.resource_id != NULL ? k.resource_id : "",
	    "expires_at", (json_int_t)k.expires_at);
	if (cli_audit(ctx->db, ctx->mk, "api_key.create", id, d) != 0)
		return unaudited(ctx, &k, id, key);
	print_new(ctx, &k, key, "added");
	store_api_key_clear(&k);
	return 0;
}

static int
check_add(const struct cli_ctx *c)
{
	if (cli_has(c, "expires") && duration(cli_get(c, "expires"), false) < 0)
		return cli_usage(c,
		    "--expires: expected a duration such as "
		    "90d, 12h or 3600");
	return 0;
}

static int
check_rotate(const struct cli_ctx *c)
{
	if (cli_has(c, "overlap") && duration(cli_get(c, "overlap"), true) < 0)
		return cli_usage(c,
		    "--overlap: expected a duration such as "
		    "24h, 30m or 0");
	return 0;
}

static int
list(struct cli_ctx *c)
{
	struct store_api_key *v = NULL;
	size_t n = 0;
	int r;

	if ((r = apikey_list(c->db, cli_get(c, "owner"), &v, &n)) != 0) {
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
		return 1;
	}
	if (cli_has(c, "json")) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, key_json(&v[i]));
		cli_json_print(a, JSON_INDENT(2));
	} else {
		int64_t now = clock_now();

		printf("%-20s %-26s %-8s %-20s %s\n", "ID", "OWNER", "STATE",
		    "EXPIRES_AT", "SCOPE");
		for (size_t i = 0; i < n; i++) {
			char id[APIKEY_PUBLIC_ID_LEN + 1], t[CLI_TIME_MAX];
			const char *st = v[i].revoked_at != 0 ? "revoked"
			    : now >= v[i].expires_at	      ? "expired"
							      : "active";

			apikey_public_id(v[i].key_id, id);
			cli_time(t, v[i].expires_at, false);
			printf("%-20s %-26s %-8s %-20s %s\n", id, v[i].owner_id,
			    st, t, v[i].scopes);
		}
	}
	store_api_keys_free(v, n);
	return 0;
}

static int
show(struct cli_ctx *c)
{
	struct store_api_key k;

	if (report(apikey_get(c->db, cli_get(c, "id"), &k), NULL, "read") != 0)
		return 1;
	if (cli_has(c, "json"))
		cli_json_print(key_json(&k), JSON_INDENT(2));
	else
		print_key(&k);
	store_api_key_clear(&k);
	return 0;
}

static int
rotate(struct cli_ctx *ctx)
{
	struct store_api_key k;
	char key[APIKEY_MAX_LEN + 1], id[APIKEY_PUBLIC_ID_LEN + 1];
	const char *why = NULL, *old = cli_get(ctx, "id");
	int64_t overlap = -1;
	json_t *d;
	int r;

	if (cli_has(ctx, "overlap"))
		overlap = duration(cli_get(ctx, "overlap"), true);
	r = apikey_rotate(
	    ctx->db, &ctx->cfg, old, overlap, clock_now(), &k, key, &why);
	if (report(r, why, "rotate") != 0)
		return 1;
	apikey_public_id(k.key_id, id);
	d = json_pack("{s:s, s:I}", "successor", id, "overlap_seconds",
	    (json_int_t)(overlap >= 0 ? overlap
				      : ctx->cfg.api_key_rotate_overlap));
	if (cli_audit(ctx->db, ctx->mk, "api_key.rotate", old, d) != 0)
		return unaudited(ctx, &k, id, key);
	print_new(ctx, &k, key, "rotated to");
	store_api_key_clear(&k);
	return 0;
}

static int
revoke(struct cli_ctx *c)
{
	const char *id = cli_get(c, "id");
	bool changed = false;
	int r;

	r = apikey_revoke(c->db, id, clock_now(), "operator", &changed);
	if (report(r, NULL, "revoke") != 0)
		return 1;
	if (!changed) {
		printf("api key %s was already revoked\n", id);
		return 0;
	}
	if (cli_audit(c->db, c->mk, "api_key.revoke", id,
		json_pack("{s:s}", "reason", "operator")) != 0)
		return 1;
	printf("revoked api key %s\n", id);
	return 0;
}

#define ID_OPT \
	{ \
		.name = "id", .value = "key_…", .help = "the key's id", \
		.required = true \
	}
#define JSON_OPT \
	{ \
		.name = "json", .help = "print as JSON" \
	}

static const struct cli_opt add_opts[] = {
	{ .name = "owner",
	    .value = "ID",
	    .help = "the service account (svc_…) or user (usr_…)",
	    .required = true },
	{ .name = "scope",
	    .value = "\"SCOPE ...\"",
	    .help = "what the key may be used for",
	    .required = true },
	{ .name = "resource",
	    .value = "URI",
	    .help = "the one registered resource it may be used at" },
	{ .name = "expires",
	    .value = "DURATION",
	    .help = "lifetime (default api_key_default_ttl)" },
	{ .name = "name", .value = "NAME", .help = "a label for people" },
	JSON_OPT,
	{ .name = NULL },
};

static const struct cli_opt list_opts[] = {
	{ .name = "owner", .value = "ID", .help = "only this owner's keys" },
	JSON_OPT,
	{ .name = NULL },
};

static const struct cli_opt show_opts[] = { ID_OPT, JSON_OPT,
	{ .name = NULL } };

static const struct cli_opt rotate_opts[] = {
	ID_OPT,
	{ .name = "overlap",
	    .value = "DURATION",
	    .help = "how long the old key keeps working" },
	JSON_OPT,
	{ .name = NULL },
};

static const struct cli_opt revoke_opts[] = { ID_OPT, { .name = NULL } };

static const struct cli_opt leaked_opts[] = {
	{ .name = "file",
	    .value = "FILE|-",
	    .help = "the text to scan; - or none: standard input",
	    .operand = true },
	JSON_OPT,
	{ .name = NULL },
};

/* Reading needs the store; a change is audited, under the master key. */
static const struct cli_sub subs[] = {
	{ "add", add_opts, CLI_START_MASTERKEY, check_add, add },
	{ "list", list_opts, CLI_START_STORE, NULL, list },
	{ "show", show_opts, CLI_START_STORE, NULL, show },
	{ "rotate", rotate_opts, CLI_START_MASTERKEY, check_rotate, rotate },
	{ "revoke", revoke_opts, CLI_START_MASTERKEY, NULL, revoke },
	{ "revoke-leaked", leaked_opts, CLI_START_MASTERKEY, NULL,
	    cli_api_key_revoke_leaked },
};

static const struct cli_cmd cmd = { "api-key", usage, subs, PC_NELEM(subs) };

int
cmd_api_key(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}
