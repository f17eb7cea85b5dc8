/*
 * portcullis admin routes | scopes | resource | init (issue 17 item 1;
 * docs/admin-api.md, decision 0070).
 *
 * routes  every route of the admin API, one a line: METHOD PATH SCOPE
 *         (the dispatcher's own tables; the OpenAPI conformance test
 *         reads them).
 * scopes  every admin scope, one a line.
 * resource registers the admin API as a resource (its URI is the issuer
 *         + /admin/v1, its scopes every admin scope), or repairs it: what
 *         lets the token endpoint mint tokens for it, through the
 *         ordinary grants (client_credentials with resource=, API-key
 *         exchange).
 * init    the first admin credential, on the store: the resource as
 *         above, a service account holding every admin scope, and an
 *         API key of it confined to the admin API, printed once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "admin/admin.h"
#include "cli/cli.h"
#include "machine/machine.h"
#include "store/store.h"

static const char usage[] =
    "usage: portcullis admin routes\n"
    "       portcullis admin scopes\n"
    "       portcullis admin resource [--json]\n"
    "       portcullis admin init [--name NAME] [--expires DURATION] "
    "[--json]\n"
    "\n"
    "Every sub-command also takes --config FILE, --data-dir DIR,\n"
    "--store-url URL, --mode MODE and --help.\n"
    "\n"
    "routes    every route of the admin API: METHOD PATH SCOPE.\n"
    "scopes    every admin scope (admin:KIND:read, admin:KIND:write).\n"
    "resource  registers (or repairs) the admin API as the resource\n"
    "          ISSUER/admin/v1 with every admin scope, so that tokens for\n"
    "          it can be had at /token (resource=ISSUER/admin/v1).\n"
    "init      the first admin credential: the resource, a service\n"
    "          account NAME (default \"admin\") holding every admin scope,\n"
    "          and an API key of it confined to the admin API, printed\n"
    "          once. Exchange it at /token for an access token\n"
    "          (docs/admin-api.md). Grant narrower rights with groups\n"
    "          (group add --scope \"admin:users:read ...\").\n";

/* Registers or repairs the resource; 0, or 1 after saying why. */
static int
ensure_resource(struct cli_ctx *c, char **aud_out)
{
	struct store_resource res;
	char *aud = admin_audience(&c->cfg), *scopes = admin_scope_list();
	const char *why = NULL, *event = NULL;
	int r;

	r = resource_get(c->db, aud, &res);
	if (r == PC_ERR_NOT_FOUND) {
		memset(&res, 0, sizeof(res));
		res.id = xstrdup(aud);
		res.name = xstrdup("Portcullis admin API");
		res.scopes = xstrdup(scopes);
		r = resource_create(c->db, &res, clock_now(), &why);
		event = "resource.create";
	} else if (r == 0 && strcmp(res.scopes, scopes) != 0) {
		free(res.scopes);
		res.scopes = xstrdup(scopes);
		r = resource_update(c->db, &res, clock_now(), &why);
		event = "resource.update";
	}
	if (r == 0 && event != NULL)
		r = cli_audit(c->db, c->mk, event, aud,
		    json_pack("{s:s, s:s}", "scope", scopes, "via",
			"admin resource"));
	store_resource_clear(&res);
	free(scopes);
	if (r != 0) {
		fprintf(stderr, "portcullis: cannot register %s: %s\n", aud,
		    why != NULL ? why : pc_strerror(r));
		free(aud);
		return 1;
	}
	if (aud_out != NULL)
		*aud_out = aud;
	else
		free(aud);
	return 0;
}

static int
routes(struct cli_ctx *c)
{
	(void)c;
	admin_routes_print(stdout);
	return 0;
}

static int
scopes(struct cli_ctx *c)
{
	char *s = admin_scope_list();

	(void)c;
	for (char *p = s; *p != '\0'; p++)
		if (*p == ' ')
			*p = '\n';
	printf("%s\n", s);
	free(s);
	return 0;
}

static int
resource(struct cli_ctx *c)
{
	char *aud = NULL;

	if (ensure_resource(c, &aud) != 0)
		return 1;
	if (cli_has(c, "json"))
		cli_json_print(
		    json_pack("{s:s}", "resource", aud), JSON_COMPACT);
	else
		printf("admin API resource %s\n", aud);
	free(aud);
	return 0;
}

static int
init(struct cli_ctx *c)
{
	const char *name = cli_get(c, "name"), *why = NULL;
	const char *res[1];
	struct store_service_account sa;
	struct store_api_key k;
	struct apikey_request rq;
	struct sa_fields f;
	char key[APIKEY_MAX_LEN + 1], id[APIKEY_PUBLIC_ID_LEN + 1];
	char *aud = NULL, *all = admin_scope_list();
	int64_t ttl = 0;
	int r, rc = 1;

	memset(&sa, 0, sizeof(sa));
	memset(&k, 0, sizeof(k));
	if (cli_has(c, "expires") &&
	    machine_duration_parse(cli_get(c, "expires"), &ttl) != 0) {
		free(all);
		return cli_usage(c, "--expires: a duration such as 90d");
	}
	if (ensure_resource(c, &aud) != 0)
		goto out;
	res[0] = aud;
	memset(&f, 0, sizeof(f));
	f.name = name != NULL ? name : "admin";
	f.description = "Admin API credential made by portcullis admin init";
	f.scopes = all;
	f.resources = res;
	f.n_resources = 1;
	f.set_resources = true;
	r = service_account_create(c->db, &f, clock_now(), &sa, &why);
	if (r == PC_ERR_CONFLICT) {
		fprintf(stderr,
		    "portcullis: a service account named %s exists: give "
		    "another --name, or make it a key with api-key add\n",
		    f.name);
		goto out;
	}
	if (r != 0) {
		fprintf(stderr, "portcullis: cannot create the account: %s\n",
		    why != NULL ? why : pc_strerror(r));
		goto out;
	}
	if (cli_audit(c->db, c->mk, "service_account.create", sa.id,
		json_pack("{s:s, s:s, s:s}", "name", sa.name, "scope",
		    sa.scopes, "via", "admin init")) != 0)
		goto out;
	memset(&rq, 0, sizeof(rq));
	rq.owner_id = sa.id;
	rq.scopes = all;
	rq.resource_id = aud;
	rq.name = "admin init";
	rq.ttl = ttl;
	r = apikey_create(c->db, &c->cfg, &rq, clock_now(), &k, key, &why);
	if (r != 0) {
		fprintf(stderr, "portcullis: cannot create the key: %s\n",
		    why != NULL ? why : pc_strerror(r));
		goto out;
	}
	apikey_public_id(k.key_id, id);
	/* AU-01, TX-07: never the key. */
	if (cli_audit(c->db, c->mk, "api_key.create", id,
		json_pack("{s:s, s:s, s:s, s:I}", "owner", k.owner_id, "scope",
		    k.scopes, "resource", aud, "expires_at",
		    (json_int_t)k.expires_at)) != 0) {
		bool changed;

		/* An unaudited key is never handed out. */
		if (apikey_revoke(
			c->db, id, clock_now(), "audit failed", &changed) != 0)
			fprintf(stderr,
			    "portcullis: revoke %s by hand: api-key revoke\n",
			    id);
		sodium_memzero(key, sizeof(key));
		goto out;
	}
	if (cli_has(c, "json"))
		cli_json_print_secret(
		    json_pack("{s:s, s:s, s:s, s:s, s:I}", "service_account",
			sa.id, "key_id", id, "resource", aud, "scope", all,
			"expires_at", (json_int_t)k.expires_at),
		    JSON_COMPACT, "key", key);
	else
		printf("service account %s (%s) holds every admin scope\n"
		       "api key %s for the admin API %s\n"
		       "key: %s\n"
		       "(shown once: it is stored only as a hash)\n",
		    sa.id, sa.name, id, aud, key);
	fflush(stdout);
	sodium_memzero(key, sizeof(key));
	rc = 0;
out:
	store_api_key_clear(&k);
	store_service_account_clear(&sa);
	free(aud);
	free(all);
	return rc;
}

static const struct cli_opt no_opts[] = { { .name = NULL } };

static const struct cli_opt resource_opts[] = {
	{ .name = "json", .help = "print as JSON" },
	{ .name = NULL },
};

static const struct cli_opt init_opts[] = {
	{ .name = "name",
	    .value = "NAME",
	    .help = "the service account's name (default admin)" },
	{ .name = "expires",
	    .value = "DURATION",
	    .help = "the key's lifetime (default api_key_default_ttl)" },
	{ .name = "json", .help = "print as JSON (the key included, once)" },
	{ .name = NULL },
};

static const struct cli_sub subs[] = {
	{ "routes", no_opts, 0, NULL, routes },
	{ "scopes", no_opts, 0, NULL, scopes },
	{ "resource", resource_opts, CLI_START_MASTERKEY, NULL, resource },
	{ "init", init_opts, CLI_START_MASTERKEY, NULL, init },
};

static const struct cli_cmd cmd = { "admin", usage, subs, PC_NELEM(subs) };

int
cmd_admin(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}
