/*
 * portcullis federation add | list | show | delete and
 * portcullis federation rule add | remove: workload federation (issue 14
 * item 5), the trusted external issuers whose tokens a workload exchanges
 * at /token for a service account's access token, with no static secret
 * anywhere. Every change is audited (workload.trust_add, ...). Usage
 * errors exit 2, refusals 1 with the rule broken.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "jose/jose.h"
#include "machine/machine.h"
#include "store/store.h"

static const char usage[] =
    "usage: portcullis federation add --issuer URL (--jwks-file FILE |\n"
    "                             --jwks-uri URL) [--audience AUD]\n"
    "                             [--alg \"ALG ...\"] [--max-lifetime "
    "DURATION]\n"
    "                             [--json]\n"
    "       portcullis federation list [--json]\n"
    "       portcullis federation show --id wif_... [--json]\n"
    "       portcullis federation delete --id wif_...\n"
    "       portcullis federation rule add --trust wif_... --sub PATTERN\n"
    "                             [--claim NAME=VALUE ...]\n"
    "                             --service-account svc_... [--scope "
    "\"...\"]\n"
    "                             [--json]\n"
    "       portcullis federation rule remove --trust wif_... --rule N\n"
    "\n"
    "Every sub-command also takes --config FILE, --data-dir DIR,\n"
    "--store-url URL, --mode MODE and --help.\n"
    "\n"
    "add     trusts an external issuer (its tokens' iss, an https URL).\n"
    "        Its keys: a JWKS file read now (public keys only), or an\n"
    "        https jwks_uri fetched when needed under the outbound_*\n"
    "        settings (DS-05). --audience: what the token's aud must\n"
    "        contain (default: this server's issuer). --alg: the\n"
    "        algorithms accepted (default: ES256 RS256 PS256 EdDSA).\n"
    "        --max-lifetime: the longest token accepted, exp - iat\n"
    "        (default 1h, 60s to 24h; e.g. 600, 10m, 1h).\n"
    "delete  removes the trust and its rules; tokens minted through it\n"
    "        stop working at our endpoints at once.\n"
    "rule    maps tokens to a service account. Rules are tried in the\n"
    "        order added; the first match wins. --sub: the token's sub,\n"
    "        exactly, or a pattern whose only wildcard is '*' (any run of\n"
    "        characters, also none), matched against the whole sub;\n"
    "        '*' alone is refused. --claim NAME=VALUE: another top-level\n"
    "        claim that must be exactly this string (repeat for more).\n"
    "        --scope: the most the rule grants (default: the service\n"
    "        account's scopes).\n";

#define CLAIMS_MAX 16

static json_t *
trust_json(const struct store_wif_trust *t)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "id",
	    t->trust_id, "issuer", t->issuer, "audience", t->audience, "algs",
	    t->algs, "max_lifetime", (json_int_t)t->max_lifetime, "created_at",
	    cli_json_time(t->created_at));
	json_t *rules = json_array();

	if (t->jwks_uri != NULL)
		json_object_set_new(o, "jwks_uri", json_string(t->jwks_uri));
	else
		json_object_set_new(o, "jwks", json_loads(t->jwks, 0, NULL));
	for (size_t i = 0; i < t->n_rules; i++) {
		const struct store_wif_rule *r = &t->rules[i];

		json_array_append_new(rules,
		    json_pack("{s:I, s:s, s:o, s:s, s:o, s:o}", "rule",
			(json_int_t)r->rule_no, "sub", r->sub_pattern, "claims",
			json_loads(r->claims, 0, NULL), "service_account",
			r->service_account_id, "scope",
			r->scopes != NULL ? json_string(r->scopes)
					  : json_null(),
			"created_at", cli_json_time(r->created_at)));
	}
	json_object_set_new(o, "rules", rules);
	return o;
}

static void
trust_print(const struct store_wif_trust *t)
{
	char at[CLI_TIME_MAX];

	printf("id:           %s\n", t->trust_id);
	printf("issuer:       %s\n", t->issuer);
	printf("keys:         %s\n",
	    t->jwks_uri != NULL ? t->jwks_uri : "(inline JWKS)");
	printf("audience:     %s\n", t->audience);
	printf("algorithms:   %s\n", t->algs);
	printf("max lifetime: %llds\n", (long long)t->max_lifetime);
	printf("created:      %s\n", cli_time(at, t->created_at, false));
	for (size_t i = 0; i < t->n_rules; i++) {
		const struct store_wif_rule *r = &t->rules[i];

		printf("rule %lld:       sub %s claims %s -> %s scope %s\n",
		    (long long)r->rule_no, r->sub_pattern, r->claims,
		    r->service_account_id,
		    r->scopes != NULL ? r->scopes : "(the account's)");
	}
}

/* "600", "10m", "1h", "1d" -> seconds; -1 when malformed. */
static int64_t
duration(const char *s)
{
	int64_t v = 0, mul = 1;
	size_t i = 0, n = strlen(s);

	if (n == 0 || n > 10)
		return -1;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (s[i] - '0');
	if (i == 0)
		return -1;
	if (i < n) {
		if (i + 1 != n)
			return -1;
		switch (s[i]) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return -1;
		}
	}
	return v * mul;
}

static int
find(const struct cli_ctx *ctx, const char *opt, struct store_wif_trust *t)
{
	const char *id = cli_get(ctx, opt);
	int r = principal_kind(id) == PRINCIPAL_WORKLOAD
	    ? store_wif_trust_get(ctx->db, id, t)
	    : PC_ERR_NOT_FOUND;

	if (r == PC_ERR_NOT_FOUND)
		fprintf(stderr, "portcullis: no such trust\n");
	else if (r != 0)
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
	return r;
}

static int
add(struct cli_ctx *ctx)
{
	struct store_wif_trust t;
	struct fetch_policy p;
	const char *file = cli_get(ctx, "jwks-file"), *why = NULL;
	const char *ml = cli_get(ctx, "max-lifetime");
	char err[160];
	int r, rc = 1;

	memset(&t, 0, sizeof(t));
	if (fetch_policy_init(&ctx->cfg, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		return 1;
	}
	t.issuer = xstrdup(cli_get(ctx, "issuer"));
	t.audience = xstrdup(cli_has(ctx, "audience") ? cli_get(ctx, "audience")
						      : ctx->cfg.issuer);
	t.algs = xstrdup(
	    cli_has(ctx, "alg") ? cli_get(ctx, "alg") : WIF_ALGS_DEFAULT);
	t.max_lifetime = ml != NULL ? duration(ml) : WIF_MAX_LIFETIME_DEFAULT;
	if (cli_has(ctx, "jwks-uri"))
		t.jwks_uri = xstrdup(cli_get(ctx, "jwks-uri"));
	if (file != NULL && cli_client_read_jwks(file, &t.jwks) != 0)
		goto out;
	r = wif_trust_add(ctx->db, &p, &t, clock_now(), &why);
	if (r != 0) {
		if (why != NULL)
			fprintf(stderr, "portcullis: trust refused: %s\n", why);
		else
			fprintf(stderr,
			    "portcullis: cannot add the trust: %s\n",
			    pc_strerror(r));
		goto out;
	}
	if (cli_audit(ctx->db, ctx->mk, "workload.trust_add", t.trust_id,
		json_pack("{s:s, s:s, s:s}", "issuer", t.issuer, "keys",
		    t.jwks_uri != NULL ? t.jwks_uri : "inline", "audience",
		    t.audience)) != 0)
		goto out;
	if (cli_has(ctx, "json"))
		cli_json_print(trust_json(&t), JSON_COMPACT);
	else
		printf("added trust %s for %s\n", t.trust_id, t.issuer);
	rc = 0;
out:
	fetch_policy_free(&p);
	store_wif_trust_clear(&t);
	return rc;
}

static int
list(struct cli_ctx *ctx)
{
	struct store_wif_trust *v = NULL;
	size_t n = 0;
	int r;

	if ((r = store_wif_trusts_list(ctx->db, &v, &n)) != 0) {
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
		return 1;
	}
	if (cli_has(ctx, "json")) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, trust_json(&v[i]));
		cli_json_print(a, JSON_INDENT(2));
	} else {
		printf("%-26s %-6s %s\n", "ID", "RULES", "ISSUER");
		for (size_t i = 0; i < n; i++)
			printf("%-26s %-6zu %s\n", v[i].trust_id, v[i].n_rules,
			    v[i].issuer);
	}
	store_wif_trusts_free(v, n);
	return 0;
}

static int
show(struct cli_ctx *ctx)
{
	struct store_wif_trust t;

	if (find(ctx, "id", &t) != 0)
		return 1;
	if (cli_has(ctx, "json"))
		cli_json_print(trust_json(&t), JSON_INDENT(2));
	else
		trust_print(&t);
	store_wif_trust_clear(&t);
	return 0;
}

static int
delete_trust(struct cli_ctx *ctx)
{
	struct store_wif_trust t;
	int r;

	if (find(ctx, "id", &t) != 0)
		return 1;
	if ((r = store_wif_trust_delete(ctx->db, t.trust_id)) == 0 &&
	    (r = cli_audit(ctx->db, ctx->mk, "workload.trust_delete",
		 t.trust_id, json_pack("{s:s}", "issuer", t.issuer))) == 0)
		printf("deleted trust %s\n", t.trust_id);
	if (r != 0)
		fprintf(stderr, "portcullis: federation delete: %s\n",
		    pc_strerror(r));
	store_wif_trust_clear(&t);
	return r == 0 ? 0 : 1;
}

/* --claim NAME=VALUE ... as a JSON object text; NULL after a message. */
static char *
claims_of(const struct cli_ctx *ctx)
{
	const char *v[CLAIMS_MAX + 1];
	size_t n = cli_all(ctx, "claim", v, PC_NELEM(v));
	json_t *o = json_object();
	char *s = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(v[i], '=');
		char *name;

		if (eq == NULL || eq == v[i]) {
			fprintf(
			    stderr, "portcullis: --claim needs NAME=VALUE\n");
			goto out;
		}
		name = xstrndup(v[i], (size_t)(eq - v[i]));
		if (json_object_get(o, name) != NULL ||
		    json_object_set_new(o, name, json_string(eq + 1)) != 0) {
			fprintf(stderr,
			    "portcullis: --claim: a name given twice, or a "
			    "value that is not UTF-8\n");
			free(name);
			goto out;
		}
		free(name);
	}
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
out:
	json_decref(o);
	return s;
}

static int
rule_add(struct cli_ctx *ctx)
{
	struct store_wif_rule rule;
	const char *trust = cli_get(ctx, "trust"), *why = NULL;
	int64_t no = 0;
	int r, rc = 1;

	memset(&rule, 0, sizeof(rule));
	if ((rule.claims = claims_of(ctx)) == NULL)
		return 1;
	rule.sub_pattern = xstrdup(cli_get(ctx, "sub"));
	rule.service_account_id = xstrdup(cli_get(ctx, "service-account"));
	if (cli_has(ctx, "scope"))
		rule.scopes = xstrdup(cli_get(ctx, "scope"));
	r = wif_rule_add(ctx->db, trust, &rule, clock_now(), &no, &why);
	if (r == PC_ERR_NOT_FOUND) {
		fprintf(stderr, "portcullis: no such trust\n");
		goto out;
	}
	if (r != 0) {
		if (why != NULL)
			fprintf(stderr, "portcullis: rule refused: %s\n", why);
		else
			fprintf(stderr, "portcullis: cannot add the rule: %s\n",
			    pc_strerror(r));
		goto out;
	}
	if (cli_audit(ctx->db, ctx->mk, "workload.rule_add", trust,
		json_pack("{s:I, s:s, s:s, s:s, s:s?}", "rule", (json_int_t)no,
		    "sub", rule.sub_pattern, "claims", rule.claims,
		    "service_account", rule.service_account_id, "scope",
		    rule.scopes)) != 0)
		goto out;
	if (cli_has(ctx, "json"))
		cli_json_print(
		    json_pack("{s:s, s:I, s:s, s:s}", "trust", trust, "rule",
			(json_int_t)no, "sub", rule.sub_pattern,
			"service_account", rule.service_account_id),
		    JSON_COMPACT);
	else
		printf("added rule %lld to %s\n", (long long)no, trust);
	rc = 0;
out:
	free(rule.sub_pattern);
	free(rule.claims);
	free(rule.service_account_id);
	free(rule.scopes);
	return rc;
}

static int
rule_remove(struct cli_ctx *ctx)
{
	const char *trust = cli_get(ctx, "trust"), *no = cli_get(ctx, "rule");
	char *end = NULL;
	long long n = strtoll(no, &end, 10);
	int r;

	if (end == no || *end != '\0' || n <= 0) {
		fprintf(stderr, "portcullis: --rule needs a rule number\n");
		return 1;
	}
	r = principal_kind(trust) == PRINCIPAL_WORKLOAD
	    ? store_wif_rule_remove(ctx->db, trust, (int64_t)n)
	    : PC_ERR_NOT_FOUND;
	if (r == 0)
		r = cli_audit(ctx->db, ctx->mk, "workload.rule_remove", trust,
		    json_pack("{s:I}", "rule", (json_int_t)n));
	if (r == PC_ERR_NOT_FOUND)
		fprintf(stderr, "portcullis: no such trust or rule\n");
	else if (r != 0)
		fprintf(
		    stderr, "portcullis: rule remove: %s\n", pc_strerror(r));
	else
		printf("removed rule %lld from %s\n", n, trust);
	return r == 0 ? 0 : 1;
}

static int
check_add(const struct cli_ctx *ctx)
{
	const char *ml = cli_get(ctx, "max-lifetime");

	if (cli_has(ctx, "jwks-file") == cli_has(ctx, "jwks-uri"))
		return cli_usage(ctx, "give one of --jwks-file and --jwks-uri");
	if (ml != NULL && duration(ml) < 0)
		return cli_usage(ctx, "--max-lifetime needs a duration");
	return 0;
}

static const struct cli_opt add_opts[] = {
	{ .name = "issuer",
	    .value = "URL",
	    .help = "the issuer's iss (https)",
	    .required = true },
	{ .name = "jwks-file", .value = "FILE", .help = "its public keys" },
	{ .name = "jwks-uri", .value = "URL", .help = "where its keys are" },
	{ .name = "audience",
	    .value = "AUD",
	    .help = "what aud must contain (default: our issuer)" },
	{ .name = "alg", .value = "\"ALG ...\"", .help = "accepted algorithms" },
	{ .name = "max-lifetime",
	    .value = "DURATION",
	    .help = "the longest token accepted (default 1h)" },
	{ .name = "json", .help = "print the trust as JSON" },
	{ .name = NULL },
};

static const struct cli_opt list_opts[] = {
	{ .name = "json", .help = "print the trusts as a JSON array" },
	{ .name = NULL },
};

static const struct cli_opt show_opts[] = {
	{ .name = "id",
	    .value = "wif_...",
	    .help = "the trust",
	    .required = true },
	{ .name = "json", .help = "print as JSON" },
	{ .name = NULL },
};

static const struct cli_opt id_opts[] = {
	{ .name = "id",
	    .value = "wif_...",
	    .help = "the trust",
	    .required = true },
	{ .name = NULL },
};

static const struct cli_opt rule_add_opts[] = {
	{ .name = "trust",
	    .value = "wif_...",
	    .help = "the trust",
	    .required = true },
	{ .name = "sub",
	    .value = "PATTERN",
	    .help = "the sub, exactly or with '*' wildcards",
	    .required = true },
	{ .name = "claim",
	    .value = "NAME=VALUE",
	    .help = "another claim that must equal VALUE (repeat)",
	    .max = CLAIMS_MAX },
	{ .name = "service-account",
	    .value = "svc_...",
	    .help = "the account the token maps to",
	    .required = true },
	{ .name = "scope",
	    .value = "\"SCOPE ...\"",
	    .help = "the most granted" },
	{ .name = "json", .help = "print the rule as JSON" },
	{ .name = NULL },
};

static const struct cli_opt rule_remove_opts[] = {
	{ .name = "trust",
	    .value = "wif_...",
	    .help = "the trust",
	    .required = true },
	{ .name = "rule",
	    .value = "N",
	    .help = "the rule's number",
	    .required = true },
	{ .name = NULL },
};

static const struct cli_sub subs[] = {
	{ "add", add_opts, CLI_START_MASTERKEY, check_add, add },
	{ "list", list_opts, CLI_START_STORE, NULL, list },
	{ "show", show_opts, CLI_START_STORE, NULL, show },
	{ "delete", id_opts, CLI_START_MASTERKEY, NULL, delete_trust },
};

static const struct cli_sub rule_subs[] = {
	{ "add", rule_add_opts, CLI_START_MASTERKEY, NULL, rule_add },
	{ "remove", rule_remove_opts, CLI_START_MASTERKEY, NULL, rule_remove },
};

static const struct cli_cmd cmd = { "federation", usage, subs, PC_NELEM(subs) };
static const struct cli_cmd rule_cmd = { "federation rule", usage, rule_subs,
	PC_NELEM(rule_subs) };

int
cmd_federation(int argc, char **argv)
{
	/* "federation rule add ...": the rule commands are a table of
	 * their own, run with "rule" as the command's name. */
	if (argc >= 2 && strcmp(argv[1], "rule") == 0)
		return cli_main(&rule_cmd, argc - 1, argv + 1);
	return cli_main(&cmd, argc, argv);
}
