/*
 * portcullis resource add | list | show | update | delete | metadata
 * (issue 14 item 2, issue 15 item 7; RFC 8707, RFC 9728, RFC 9449,
 * SECURITY.md TX-04, CR-06).
 *
 * A resource is an API that accepts our access tokens, named by its
 * resource URI (the aud of every token minted for it), with the scopes it
 * knows. add also registers the resource server's own credentials: a new
 * confidential client (client_secret_basic, no grant type: it only
 * introspects), whose secret is printed once, or, with --client, an
 * existing confidential client. At /introspect that client learns about
 * the tokens minted for its resource and nothing else. Every change is
 * audited (resource.create, resource.update, resource.delete). update
 * changes the name, the scopes and whether its tokens must be DPoP-bound
 * (the id, its tokens' aud, never changes). metadata prints the
 * protected resource metadata the resource's server serves (RFC 9728),
 * naming us as its authorization server. Usage errors exit 2.
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

static const char usage[] =
    "usage: portcullis resource add --id URI --scope \"SCOPE ...\"\n"
    "                               [--name NAME] [--client CLIENT_ID]\n"
    "                               [--dpop-required] [--json]\n"
    "       portcullis resource list [--json]\n"
    "       portcullis resource show --id URI [--json]\n"
    "       portcullis resource update --id URI [--name NAME]\n"
    "                               [--scope \"SCOPE ...\"]\n"
    "                               [--dpop-required | --no-dpop-required]\n"
    "                               [--json]\n"
    "       portcullis resource delete --id URI [--json]\n"
    "       portcullis resource metadata --id URI\n"
    "\n"
    "Every sub-command also takes --config FILE, --data-dir DIR,\n"
    "--store-url URL, --mode MODE and --help.\n"
    "\n"
    "add     registers an API that accepts our access tokens (RFC 8707).\n"
    "        URI is its resource identifier, the exact aud of the tokens\n"
    "        minted for it: https:// (http:// only for a loopback host),\n"
    "        lower-case host, no query or fragment. --scope lists the\n"
    "        scopes it knows. The resource server introspects tokens\n"
    "        with a confidential client of its own: a new one (its\n"
    "        client_id and client_secret are printed, the secret once),\n"
    "        or the existing one --client names. --dpop-required: its\n"
    "        tokens must be DPoP-bound (RFC 9449); its metadata says so.\n"
    "update  changes the name, the scopes or --dpop-required; the URI\n"
    "        stays. Tokens minted already keep what they have.\n"
    "delete  removes the resource: no token is minted for it any more;\n"
    "        its client stays (client delete removes it).\n"
    "metadata prints the resource's protected resource metadata (RFC\n"
    "        9728), the JSON document its server serves at the URI with\n"
    "        /.well-known/oauth-protected-resource inserted after the\n"
    "        host (show prints that URL): it names this issuer as the\n"
    "        authorization server, so clients that get a 401 from the\n"
    "        resource learn where to ask for a token for it.\n";

static void
print_text(const struct store_resource *r)
{
	char t[CLI_TIME_MAX];
	char *mu = resource_metadata_url(r->id);

	printf("%-13s %s\n%-13s %s\n%-13s %s\n%-13s %s\n%-13s %s\n"
	       "%-13s %s\n%-13s %s\n",
	    "id:", r->id, "name:", r->name, "scopes:", r->scopes,
	    "client_id:", r->client_id != NULL ? r->client_id : "-",
	    "dpop:", r->dpop_required ? "required" : "optional",
	    "metadata_url:", mu != NULL ? mu : "-",
	    "created_at:", cli_time(t, r->created_at, false));
	free(mu);
}

static json_t *
resource_json(const struct store_resource *r)
{
	json_t *scopes = json_array(), *o;
	const char *p = r->scopes;
	char *mu = resource_metadata_url(r->id);

	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, ' ');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

		json_array_append_new(scopes, json_stringn(p, n));
		p = e != NULL ? e + 1 : NULL;
	}
	o = json_pack("{s:s, s:s, s:o, s:s?, s:b, s:s?, s:o, s:o}", "id", r->id,
	    "name", r->name, "scopes", scopes, "client_id", r->client_id,
	    "dpop_required", r->dpop_required, "metadata_url", mu, "created_at",
	    cli_json_time(r->created_at), "updated_at",
	    cli_json_time(r->updated_at));
	free(mu);
	return o;
}

static int
refused(int r, const char *why)
{
	if (r == PC_ERR_INVALID && why != NULL)
		fprintf(stderr, "portcullis: resource refused: %s\n", why);
	else if (r == PC_ERR_CONFLICT)
		fprintf(stderr,
		    "portcullis: resource refused: the URI is registered "
		    "already, or the client serves another resource\n");
	else if (r == PC_ERR_NOT_FOUND)
		fprintf(stderr, "portcullis: no such client\n");
	else if (r != 0)
		fprintf(stderr, "portcullis: cannot add the resource: %s\n",
		    pc_strerror(r));
	return r;
}

static int
add(struct cli_ctx *ctx)
{
	struct store_resource res;
	char secret[CLIENT_SECRET_LEN + 1];
	const char *why = NULL, *client = cli_get(ctx, "client");
	bool created = false;
	json_t *d;
	int r, rc = 1;

	memset(&res, 0, sizeof(res));
	res.id = xstrdup(cli_get(ctx, "id"));
	res.scopes = xstrdup(cli_get(ctx, "scope"));
	if (cli_get(ctx, "name") != NULL)
		res.name = xstrdup(cli_get(ctx, "name"));
	if (client != NULL)
		res.client_id = xstrdup(client);
	res.dpop_required = cli_has(ctx, "dpop-required");
	/* The rules and the client made for it: src/oauth/client_defaults.c,
	 * shared with the admin API. */
	r = resource_register(
	    ctx->db, &res, clock_now(), secret, &created, &why);
	if (r != 0) {
		refused(r, r == PC_ERR_CONFLICT ? NULL : why);
		goto out;
	}
	if (created) {
		/* AU-01; never the secret. */
		d = json_pack("{s:s, s:b, s:s, s:s}", "name", res.name,
		    "public", 0, "token_endpoint_auth_method",
		    "client_secret_basic", "resource", res.id);
		if (cli_audit(ctx->db, ctx->mk, "client.created", res.client_id,
			d) != 0)
			goto out;
	}
	d = json_pack("{s:s, s:s, s:s, s:b, s:b}", "name", res.name, "scopes",
	    res.scopes, "client_id", res.client_id, "client_created", created,
	    "dpop_required", res.dpop_required);
	if (cli_audit(ctx->db, ctx->mk, "resource.create", res.id, d) != 0)
		goto out;
	if (cli_has(ctx, "json")) {
		cli_json_print_secret(resource_json(&res), JSON_COMPACT,
		    "client_secret", secret[0] != '\0' ? secret : NULL);
	} else {
		printf("added resource %s (%s)\n", res.id, res.name);
		printf("client_id: %s\n", res.client_id);
		if (secret[0] != '\0')
			printf("client_secret: %s\n"
			       "(shown once: it is stored only as a hash)\n",
			    secret);
	}
	fflush(stdout);
	rc = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	store_resource_clear(&res);
	return rc;
}

static int
find(const struct cli_ctx *ctx, struct store_resource *r)
{
	int rc = resource_get(ctx->db, cli_get(ctx, "id"), r);

	if (rc == PC_ERR_NOT_FOUND)
		fprintf(stderr, "portcullis: no such resource\n");
	else if (rc != 0)
		fprintf(stderr, "portcullis: %s\n", pc_strerror(rc));
	return rc;
}

static int
show(struct cli_ctx *ctx)
{
	struct store_resource r;

	if (find(ctx, &r) != 0)
		return 1;
	if (cli_has(ctx, "json"))
		cli_json_print(resource_json(&r), JSON_INDENT(2));
	else
		print_text(&r);
	store_resource_clear(&r);
	return 0;
}

static int
update(struct cli_ctx *ctx)
{
	struct store_resource r;
	const char *why = NULL, *name = cli_get(ctx, "name"),
		   *scope = cli_get(ctx, "scope");
	json_t *d;
	int rc;

	if (find(ctx, &r) != 0)
		return 1;
	if (name != NULL) {
		free(r.name);
		r.name = xstrdup(name);
	}
	if (scope != NULL) {
		free(r.scopes);
		r.scopes = xstrdup(scope);
	}
	if (cli_has(ctx, "dpop-required"))
		r.dpop_required = true;
	if (cli_has(ctx, "no-dpop-required"))
		r.dpop_required = false;
	rc = resource_update(ctx->db, &r, clock_now(), &why);
	if (rc == 0) {
		d = json_pack("{s:s, s:s, s:b}", "name", r.name, "scopes",
		    r.scopes, "dpop_required", r.dpop_required);
		rc = cli_audit(ctx->db, ctx->mk, "resource.update", r.id, d);
	} else if (rc == PC_ERR_NOT_FOUND) {
		/* Deleted since find(). */
		fprintf(stderr, "portcullis: no such resource\n");
	} else {
		refused(rc, why);
	}
	if (rc == 0 && cli_has(ctx, "json"))
		cli_json_print(resource_json(&r), JSON_INDENT(2));
	else if (rc == 0)
		printf("updated resource %s\n", r.id);
	store_resource_clear(&r);
	return rc == 0 ? 0 : 1;
}

static int
check_update(const struct cli_ctx *ctx)
{
	if (cli_has(ctx, "dpop-required") && cli_has(ctx, "no-dpop-required"))
		return cli_usage(
		    ctx, "--dpop-required and --no-dpop-required conflict");
	if (!cli_has(ctx, "name") && !cli_has(ctx, "scope") &&
	    !cli_has(ctx, "dpop-required") && !cli_has(ctx, "no-dpop-required"))
		return cli_usage(ctx, "nothing to update");
	return 0;
}

static int
list(struct cli_ctx *ctx)
{
	struct store_resource *v = NULL;
	size_t n = 0;
	int r;

	if ((r = resource_list(ctx->db, &v, &n)) != 0) {
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
		return 1;
	}
	if (cli_has(ctx, "json")) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, resource_json(&v[i]));
		cli_json_print(a, JSON_INDENT(2));
	} else {
		printf("%-40s %-26s %s\n", "ID", "CLIENT_ID", "SCOPES");
		for (size_t i = 0; i < n; i++)
			printf("%-40s %-26s %s\n", v[i].id,
			    v[i].client_id != NULL ? v[i].client_id : "-",
			    v[i].scopes);
	}
	store_resources_free(v, n);
	return 0;
}

static int
delete_resource(struct cli_ctx *ctx)
{
	struct store_resource r;
	json_t *d;
	int rc;

	if (find(ctx, &r) != 0)
		return 1;
	rc = resource_delete(ctx->db, r.id);
	if (rc == 0) {
		d = json_pack("{s:s?}", "client_id", r.client_id);
		rc = cli_audit(ctx->db, ctx->mk, "resource.delete", r.id, d);
	}
	if (rc == 0 && cli_has(ctx, "json")) {
		cli_json_print(json_pack("{s:s, s:b, s:s?}", "id", r.id,
				   "deleted", 1, "client_id", r.client_id),
		    JSON_COMPACT);
	} else if (rc == 0) {
		printf("deleted resource %s\n", r.id);
		if (r.client_id != NULL)
			printf("its client %s stays: 'portcullis client delete "
			       "--id %s' removes it\n",
			    r.client_id, r.client_id);
	} else {
		fprintf(stderr, "portcullis: resource delete: %s\n",
		    pc_strerror(rc));
	}
	store_resource_clear(&r);
	return rc == 0 ? 0 : 1;
}

static int
metadata(struct cli_ctx *ctx)
{
	struct store_resource r;

	if (find(ctx, &r) != 0)
		return 1;
	cli_json_print(resource_metadata(&r, ctx->cfg.issuer), JSON_INDENT(2));
	store_resource_clear(&r);
	return 0;
}

#define ID_OPT \
	{ \
		.name = "id", .value = "URI", \
		.help = "the resource identifier", .required = true \
	}

static const struct cli_opt add_opts[] = {
	ID_OPT,
	{ .name = "scope",
	    .value = "\"SCOPE ...\"",
	    .help = "the scopes the resource knows",
	    .required = true },
	{ .name = "name", .value = "NAME", .help = "a name (default: URI)" },
	{ .name = "client",
	    .value = "CLIENT_ID",
	    .help = "introspect with this confidential client (default: a "
		    "new one)" },
	{ .name = "dpop-required",
	    .help = "its tokens must be DPoP-bound (RFC 9449)" },
	{ .name = "json", .help = "print the resource as JSON" },
	{ .name = NULL },
};

static const struct cli_opt update_opts[] = {
	ID_OPT,
	{ .name = "name", .value = "NAME", .help = "a new name" },
	{ .name = "scope",
	    .value = "\"SCOPE ...\"",
	    .help = "the scopes the resource knows (replaces them)" },
	{ .name = "dpop-required",
	    .help = "its tokens must be DPoP-bound (RFC 9449)" },
	{ .name = "no-dpop-required", .help = "Bearer tokens will do" },
	{ .name = "json", .help = "print the resource as JSON" },
	{ .name = NULL },
};

static const struct cli_opt list_opts[] = {
	{ .name = "json", .help = "print the resources as a JSON array" },
	{ .name = NULL },
};

static const struct cli_opt show_opts[] = {
	ID_OPT,
	{ .name = "json", .help = "print as JSON" },
	{ .name = NULL },
};

static const struct cli_opt delete_opts[] = {
	ID_OPT,
	{ .name = "json", .help = "print what was deleted as JSON" },
	{ .name = NULL },
};

static const struct cli_opt metadata_opts[] = {
	ID_OPT,
	{ .name = NULL },
};

/* Reading needs the store; a change is audited, under the master key. */
static const struct cli_sub subs[] = {
	{ "add", add_opts, CLI_START_MASTERKEY, NULL, add },
	{ "list", list_opts, CLI_START_STORE, NULL, list },
	{ "show", show_opts, CLI_START_STORE, NULL, show },
	{ "update", update_opts, CLI_START_MASTERKEY, check_update, update },
	{ "delete", delete_opts, CLI_START_MASTERKEY, NULL, delete_resource },
	{ "metadata", metadata_opts, CLI_START_STORE, NULL, metadata },
};

static const struct cli_cmd cmd = { "resource", usage, subs, PC_NELEM(subs) };

int
cmd_resource(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}
