/*
 * portcullis agent add | list | show | update | disable | delete (issue
 * 15; SECURITY.md TX-03, TX-08).
 *
 * An agent is a client of kind "agent": a program that acts for people.
 * It has an owner (the user or group answerable for it), the resources it
 * may ever act at (a user delegates one of them on the consent page), the
 * scopes it may ask for, how deep a delegation chain through it may go and
 * whether it may pass a delegation on to another agent. A public agent
 * (--public) has no secret and must prove a DPoP key (dpop_required, on
 * unless --no-dpop-required); a confidential one authenticates with
 * private_key_jwt (--jwks-file), never a shared secret. The rules are
 * client_validate()'s (src/oauth/client.c), one place for the CLI and
 * every endpoint.
 *
 * disable and delete revoke every token family of the agent in the same
 * transaction as the change, so every token it holds, and every token
 * derived from them, dies at its next use (TX-08); a disabled agent can
 * no longer authenticate or start an authorization. Every change is
 * audited (agent.create, agent.update, agent.disable, agent.delete).
 * Usage errors exit 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store/store.h"

static const char usage[] =
    "usage: portcullis agent add --name NAME --owner usr_...|grp_...\n"
    "                            --resource URI [--resource URI ...]\n"
    "                            --redirect-uri URI [--redirect-uri ...]\n"
    "                            [--public | --jwks-file FILE]\n"
    "                            [--scope \"SCOPE ...\"] [--grant G[,G]]\n"
    "                            [--max-delegation-depth N] "
    "[--may-delegate]\n"
    "                            [--dpop-required | --no-dpop-required]\n"
    "                            [--json]\n"
    "       portcullis agent list [--json]\n"
    "       portcullis agent show --id CLIENT_ID [--json]\n"
    "       portcullis agent update --id CLIENT_ID [--name NAME] [--owner "
    "ID]\n"
    "                            [--resource URI ...] [--redirect-uri URI "
    "...]\n"
    "                            [--scope ...] [--grant ...] [--jwks-file "
    "FILE]\n"
    "                            [--max-delegation-depth N]\n"
    "                            [--may-delegate | --no-may-delegate]\n"
    "                            [--dpop-required | --no-dpop-required]\n"
    "                            [--json]\n"
    "       portcullis agent disable --id CLIENT_ID [--json]\n"
    "       portcullis agent delete --id CLIENT_ID [--json]\n"
    "\n"
    "Every sub-command also takes --config FILE, --data-dir DIR,\n"
    "--store-url URL, --mode MODE and --help.\n"
    "\n"
    "add      registers an agent: a client that acts for people, at most\n"
    "         at the registered resources --resource names (at most 16).\n"
    "         --owner: the user or group answerable for it. Confidential\n"
    "         (the default): private_key_jwt with the public keys of\n"
    "         --jwks-file. --public: no credential; it must then prove a\n"
    "         DPoP key (--no-dpop-required turns that off). Default grant\n"
    "         authorization_code,refresh_token; default scope: the\n"
    "         scopes of its resources (and offline_access with\n"
    "         refresh_token). --max-delegation-depth (0-16, default 0):\n"
    "         how many hops a delegation through it may take;\n"
    "         --may-delegate: it may pass a delegation on to another\n"
    "         agent. A user always sees a consent page for an agent.\n"
    "update   changes the given fields; --resource and --redirect-uri\n"
    "         replace their whole list.\n"
    "disable  takes the agent out of service: it can no longer sign in\n"
    "         users or authenticate, and every token it holds (and every\n"
    "         token derived from them) is revoked at once.\n"
    "delete   the same, and removes it; its id is never given out again.\n";

static const char *
kind_name(const struct store_client *c)
{
	return c->is_public ? "public" : "confidential";
}

static json_t *
agent_json(const struct store_client *c)
{
	json_t *o = cli_client_json(c, -1), *res = json_array();
	const char *p = c->resources;

	while (res != NULL && p != NULL && *p != '\0') {
		size_t n = strcspn(p, " ");

		json_array_append_new(res, json_stringn(p, n));
		p += n;
		if (*p == ' ')
			p++;
	}
	if (o == NULL) {
		json_decref(res);
		return NULL;
	}
	json_object_set_new(o, "kind", json_string(c->kind));
	json_object_set_new(o, "owner_id",
	    c->owner_id != NULL ? json_string(c->owner_id) : json_null());
	json_object_set_new(o, "resources", res);
	json_object_set_new(o, "max_delegation_depth",
	    json_integer((json_int_t)c->max_delegation_depth));
	json_object_set_new(o, "may_delegate", json_boolean(c->may_delegate));
	json_object_set_new(o, "dpop_required", json_boolean(c->dpop_required));
	json_object_set_new(o, "disabled_at", cli_json_time(c->disabled_at));
	return o;
}

static void
agent_print(const struct store_client *c)
{
	char t[CLI_TIME_MAX];

	cli_client_print(c, 0);
	printf("%-27s %s\n%-27s %s\n%-27s %s\n%-27s %lld\n%-27s %s\n"
	       "%-27s %s\n%-27s %s\n",
	    "kind:", c->kind, "owner:", c->owner_id != NULL ? c->owner_id : "-",
	    "resources:", c->resources,
	    "max_delegation_depth:", (long long)c->max_delegation_depth,
	    "may_delegate:", c->may_delegate ? "yes" : "no",
	    "dpop_required:", c->dpop_required ? "yes" : "no",
	    "disabled_at:", cli_time(t, c->disabled_at, false));
}

static void
set_list(const struct cli_ctx *ctx, const char *opt, char ***v, size_t *n)
{
	const char *given[CLIENT_URIS_MAX];
	size_t k = cli_all(ctx, opt, given, PC_NELEM(given));

	if (k == 0)
		return;
	for (size_t i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = xmalloc(k * sizeof(**v));
	for (size_t i = 0; i < k; i++)
		(*v)[i] = xstrdup(given[i]);
	*n = k;
}

/* "a b" from the repeated --resource, or NULL when none was given. */
static char *
given_resources(const struct cli_ctx *ctx)
{
	const char *given[AGENT_RESOURCES_MAX + 1];
	size_t k = cli_all(ctx, "resource", given, PC_NELEM(given));
	struct buf b;
	char *out;

	if (k == 0)
		return NULL;
	buf_init(&b, (AGENT_RESOURCES_MAX + 1) * (RESOURCE_URI_MAX + 1));
	for (size_t i = 0; i < k; i++)
		if ((i > 0 && buf_putc(&b, ' ') != 0) ||
		    buf_puts(&b, given[i]) != 0)
			break;
	out = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return out;
}

/* Applies the flags to c (add: a new agent; update: the stored one). */
static int
apply(const struct cli_ctx *ctx, struct store_client *c)
{
	const char *grant = cli_get(ctx, "grant");
	const char *depth = cli_get(ctx, "max-delegation-depth");
	const char *jwks_file = cli_get(ctx, "jwks-file");
	char *res = given_resources(ctx);

	xstrset(&c->name, cli_get(ctx, "name"));
	xstrset(&c->owner_id, cli_get(ctx, "owner"));
	if (res != NULL) {
		free(c->resources);
		c->resources = res;
	}
	set_list(ctx, "redirect-uri", &c->redirect_uris, &c->n_redirect_uris);
	if (grant != NULL) {
		free(c->grant_types);
		c->grant_types = xstrdup(grant);
		for (char *p = c->grant_types; *p != '\0'; p++)
			if (*p == ',')
				*p = ' ';
	}
	xstrset(&c->scopes, cli_get(ctx, "scope"));
	if (depth != NULL &&
	    str_to_int64(str_from(depth), 0, AGENT_DEPTH_MAX,
		&c->max_delegation_depth) != 0) {
		fprintf(stderr,
		    "portcullis: --max-delegation-depth must be 0 to 16\n");
		return 1;
	}
	if (cli_has(ctx, "may-delegate"))
		c->may_delegate = true;
	if (cli_has(ctx, "no-may-delegate"))
		c->may_delegate = false;
	if (cli_has(ctx, "dpop-required"))
		c->dpop_required = true;
	if (cli_has(ctx, "no-dpop-required"))
		c->dpop_required = false;
	if (jwks_file != NULL) {
		free(c->jwks);
		c->jwks = NULL;
		if (cli_client_read_jwks(jwks_file, &c->jwks) != 0)
			return 1;
	}
	return 0;
}

/* add's default scope: client_agent_default_scope (src/oauth/), shared
 * with the admin API. */
static int
default_scope(const struct cli_ctx *ctx, struct store_client *c)
{
	int r = client_agent_default_scope(ctx->db, c);

	if (r != 0)
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
	return r != 0 ? 1 : 0;
}

static int
report(int r, const char *why, const char *doing)
{
	if (r == PC_ERR_INVALID && why != NULL)
		fprintf(stderr, "portcullis: agent refused: %s\n", why);
	else if (r != 0)
		fprintf(stderr, "portcullis: cannot %s the agent: %s\n", doing,
		    pc_strerror(r));
	return r;
}

static json_t *
audit_details(const struct store_client *c)
{
	return json_pack("{s:s, s:s?, s:s, s:b, s:s, s:I, s:b, s:b}", "name",
	    c->name, "owner_id", c->owner_id, "resources", c->resources,
	    "public", c->is_public, "scope", c->scopes, "max_delegation_depth",
	    (json_int_t)c->max_delegation_depth, "may_delegate",
	    c->may_delegate, "dpop_required", c->dpop_required);
}

static int
add(struct cli_ctx *ctx)
{
	struct store_client c;
	char secret[CLIENT_SECRET_LEN + 1];
	const char *why = NULL;
	int r, rc = 1;

	memset(&c, 0, sizeof(c));
	secret[0] = '\0';
	c.kind = xstrdup(CLIENT_KIND_AGENT);
	c.is_public = cli_has(ctx, "public");
	c.auth_method = xstrdup(c.is_public ? "none" : "private_key_jwt");
	c.grant_types = xstrdup("authorization_code refresh_token");
	c.id_token_on_refresh = true;
	/* TX-06: a public agent's tokens are bound to its key by default. */
	c.dpop_required = c.is_public;
	if (apply(ctx, &c) != 0 || default_scope(ctx, &c) != 0)
		goto out;
	r = client_create(ctx->db, &c, clock_now(), secret, &why);
	if (report(r, why, "add") != 0)
		goto out;
	if (cli_audit(ctx->db, ctx->mk, "agent.create", c.client_id,
		audit_details(&c)) != 0)
		goto out;
	if (cli_has(ctx, "json"))
		cli_json_print(agent_json(&c), JSON_COMPACT);
	else
		printf("added %s agent %s (%s)\n", kind_name(&c), c.client_id,
		    c.name);
	fflush(stdout);
	rc = 0;
out:
	store_client_clear(&c);
	return rc;
}

/* The agent named by --id (a client that is not an agent is refused). */
static int
find(const struct cli_ctx *ctx, struct store_client *c)
{
	const char *id = cli_get(ctx, "id");
	int r = client_id_valid(id) ? store_client_get(ctx->db, id, c)
				    : PC_ERR_NOT_FOUND;

	if (r == 0 && !client_is_agent(c)) {
		store_client_clear(c);
		fprintf(stderr,
		    "portcullis: %s is a client, not an agent (portcullis "
		    "client ...)\n",
		    id);
		return PC_ERR_INVALID;
	}
	if (r == PC_ERR_NOT_FOUND)
		fprintf(stderr, "portcullis: no such agent\n");
	else if (r != 0)
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
	return r;
}

static int
update(struct cli_ctx *ctx)
{
	struct store_client c;
	const char *why = NULL;
	int r, rc = 1;

	if (find(ctx, &c) != 0)
		return 1;
	if (apply(ctx, &c) != 0)
		goto out;
	r = client_update(ctx->db, &c, clock_now(), &why);
	if (report(r, why, "update") != 0)
		goto out;
	if (cli_audit(ctx->db, ctx->mk, "agent.update", c.client_id,
		audit_details(&c)) != 0)
		goto out;
	if (cli_has(ctx, "json"))
		cli_json_print(agent_json(&c), JSON_INDENT(2));
	else
		printf("updated agent %s\n", c.client_id);
	rc = 0;
out:
	store_client_clear(&c);
	return rc;
}

static int
list(struct cli_ctx *ctx)
{
	struct store_client *v = NULL;
	size_t n = 0;
	int r;

	if ((r = store_clients_list(ctx->db, &v, &n)) != 0) {
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
		return 1;
	}
	if (cli_has(ctx, "json")) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			if (client_is_agent(&v[i]))
				json_array_append_new(a, agent_json(&v[i]));
		cli_json_print(a, JSON_INDENT(2));
	} else {
		printf("%-26s %-12s %-9s %-26s %s\n", "CLIENT_ID", "TYPE",
		    "STATE", "OWNER", "NAME");
		for (size_t i = 0; i < n; i++)
			if (client_is_agent(&v[i]))
				printf("%-26s %-12s %-9s %-26s %s\n",
				    v[i].client_id, kind_name(&v[i]),
				    client_disabled(&v[i]) ? "disabled"
							   : "active",
				    v[i].owner_id != NULL ? v[i].owner_id : "-",
				    v[i].name);
	}
	store_clients_free(v, n);
	return 0;
}

static int
show(struct cli_ctx *ctx)
{
	struct store_client c;

	if (find(ctx, &c) != 0)
		return 1;
	if (cli_has(ctx, "json"))
		cli_json_print(agent_json(&c), JSON_INDENT(2));
	else
		agent_print(&c);
	store_client_clear(&c);
	return 0;
}

/* disable and delete: the change and the revocation of every family the
 * agent holds, in one transaction (TX-08), then the audit row. */
static int
take_down(struct cli_ctx *ctx, bool del)
{
	struct store_client c;
	int64_t nf = 0;
	int r;

	if (find(ctx, &c) != 0)
		return 1;
	r = del ? store_client_delete_revoking(
		      ctx->db, c.client_id, clock_now(), &nf)
		: store_client_disable(ctx->db, c.client_id, clock_now(), &nf);
	if (r == PC_ERR_NOT_FOUND && !del) {
		fprintf(stderr, "portcullis: agent %s is disabled already\n",
		    c.client_id);
		store_client_clear(&c);
		return 1;
	}
	if (r == 0)
		r = cli_audit(ctx->db, ctx->mk,
		    del ? "agent.delete" : "agent.disable", c.client_id,
		    json_pack("{s:I}", "token_families", (json_int_t)nf));
	if (r != 0) {
		fprintf(stderr, "portcullis: agent %s: %s\n",
		    del ? "delete" : "disable", pc_strerror(r));
	} else if (cli_has(ctx, "json")) {
		cli_json_print(json_pack("{s:s, s:b, s:I}", "client_id",
				   c.client_id, del ? "deleted" : "disabled", 1,
				   "token_families_revoked", (json_int_t)nf),
		    JSON_COMPACT);
	} else {
		printf("%s agent %s; %lld token famil%s revoked\n",
		    del ? "deleted" : "disabled", c.client_id, (long long)nf,
		    nf == 1 ? "y" : "ies");
	}
	store_client_clear(&c);
	return r == 0 ? 0 : 1;
}

static int
disable(struct cli_ctx *ctx)
{
	return take_down(ctx, false);
}

static int delete (struct cli_ctx *ctx)
{
	return take_down(ctx, true);
}

static int
check_pairs(const struct cli_ctx *ctx)
{
	if (cli_has(ctx, "dpop-required") && cli_has(ctx, "no-dpop-required"))
		return cli_usage(
		    ctx, "--dpop-required and --no-dpop-required conflict");
	if (cli_has(ctx, "may-delegate") && cli_has(ctx, "no-may-delegate"))
		return cli_usage(
		    ctx, "--may-delegate and --no-may-delegate conflict");
	return 0;
}

static int
check_add(const struct cli_ctx *ctx)
{
	if (cli_has(ctx, "public") && cli_has(ctx, "jwks-file"))
		return cli_usage(ctx,
		    "--public and --jwks-file conflict (a public agent has "
		    "no key to authenticate with)");
	if (!cli_has(ctx, "public") && !cli_has(ctx, "jwks-file"))
		return cli_usage(ctx,
		    "a confidential agent needs --jwks-file (private_key_jwt); "
		    "or give --public");
	return check_pairs(ctx);
}

#define META_OPTS \
	{ .name = "owner", \
		.value = "usr_...|grp_...", \
		.help = "the user or group answerable for it" }, \
	    { .name = "resource", \
		    .value = "URI", \
		    .help = "a registered resource it may act at (repeat; " \
			    "update: replaces all)", \
		    .max = AGENT_RESOURCES_MAX }, \
	    { .name = "redirect-uri", \
		    .value = "URI", \
		    .help = "a redirect URI (repeat; update: replaces all)", \
		    .max = CLIENT_URIS_MAX }, \
	    { .name = "scope", \
		    .value = "\"SCOPE ...\"", \
		    .help = "scopes it may ask for" }, \
	    { .name = "grant", \
		    .value = "GRANT[,GRANT...]", \
		    .help = "authorization_code, refresh_token" }, \
	    { .name = "jwks-file", \
		    .value = "FILE", \
		    .help = "its public keys (private_key_jwt)" }, \
	    { .name = "max-delegation-depth", \
		    .value = "N", \
		    .help = "hops a delegation through it may take (0-16)" }, \
	    { .name = "may-delegate", \
		    .help = "it may pass a delegation on to another agent" }, \
	    { .name = "dpop-required", \
		    .help = "its tokens must be DPoP-bound" }, \
	    { .name = "no-dpop-required", \
		    .help = \
			"DPoP optional (a public agent's default is on)" }, \
	{ \
		.name = "json", .help = "print the agent as JSON" \
	}

#define ID_OPT \
	{ \
		.name = "id", .value = "CLIENT_ID", .help = "the agent", \
		.required = true \
	}

static const struct cli_opt add_opts[] = {
	{ .name = "name",
	    .value = "NAME",
	    .help = "the agent's name, shown on consent pages",
	    .required = true },
	{ .name = "public",
	    .help = "no credential: it proves a DPoP key instead" },
	META_OPTS,
	{ .name = NULL },
};

static const struct cli_opt update_opts[] = {
	ID_OPT,
	{ .name = "name", .value = "NAME", .help = "the agent's name" },
	{ .name = "no-may-delegate",
	    .help = "it may no longer pass a delegation on" },
	META_OPTS,
	{ .name = NULL },
};

static const struct cli_opt list_opts[] = {
	{ .name = "json", .help = "print the agents as a JSON array" },
	{ .name = NULL },
};

static const struct cli_opt id_json_opts[] = {
	ID_OPT,
	{ .name = "json", .help = "print as JSON" },
	{ .name = NULL },
};

/* Reading needs the store; a change is audited, under the master key. */
static const struct cli_sub subs[] = {
	{ "add", add_opts, CLI_START_MASTERKEY, check_add, add },
	{ "list", list_opts, CLI_START_STORE, NULL, list },
	{ "show", id_json_opts, CLI_START_STORE, NULL, show },
	{ "update", update_opts, CLI_START_MASTERKEY, check_pairs, update },
	{ "disable", id_json_opts, CLI_START_MASTERKEY, NULL, disable },
	{ "delete", id_json_opts, CLI_START_MASTERKEY, NULL, delete },
};

static const struct cli_cmd cmd = { "agent", usage, subs, PC_NELEM(subs) };

int
cmd_agent(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}
