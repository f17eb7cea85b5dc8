/*
 * portcullis forward-auth set | remove | list (issue 17 item 5; decision
 * 0075). The protected hosts of forward-auth and their rules per path
 * prefix: a host with no rule is not protected (every verify for it is
 * refused). Every change is audited (forward_auth.rule_*, actor "cli").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "oauth/fwdauth.h"
#include "store/store.h"

static const char usage[] =
    "usage: portcullis forward-auth set --host HOST --path PREFIX\n"
    "                        [--public | [--groups G1,G2] [--mfa]] [--json]\n"
    "       portcullis forward-auth remove --host HOST --path PREFIX "
    "[--json]\n"
    "       portcullis forward-auth list [--host HOST] [--json]\n"
    "\n"
    "Every sub-command also takes --config FILE, --data-dir DIR,\n"
    "--store-url URL, --mode MODE and --help.\n"
    "\n"
    "set      declares HOST (as the browser writes it: name[:port]) a\n"
    "         protected host and sets the rule for PREFIX ('/' or a path\n"
    "         without a trailing '/'). A request takes the rule with the\n"
    "         longest prefix that contains its path; no rule: refused.\n"
    "         --public: no sign-in; --groups: a member of one of them;\n"
    "         --mfa: a session signed in with a second factor. Without\n"
    "         options: any signed-in user.\n"
    "remove   removes the rule for PREFIX (the last rule removed: HOST\n"
    "         is no longer protected, and refused).\n";

static int
failed(int r, const char *why)
{
	if (r == PC_ERR_INVALID && why != NULL)
		fprintf(stderr, "portcullis: refused: %s\n", why);
	else if (r == PC_ERR_NOT_FOUND)
		fprintf(stderr, "portcullis: no such rule\n");
	else
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
	return 1;
}

static json_t *
rule_json(const struct store_fwd_rule *r)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b}", "host", r->host, "path",
	    r->path_prefix, "access", r->access, "groups", r->groups, "mfa",
	    r->mfa);
}

static int
set(struct cli_ctx *ctx)
{
	const char *why = NULL;
	char host[FWD_HOST_MAX + 1];
	int r;

	r = fwd_rule_set(ctx->db, cli_get(ctx, "host"), cli_get(ctx, "path"),
	    cli_has(ctx, "public"), cli_get(ctx, "groups"), cli_has(ctx, "mfa"),
	    clock_now(), &why);
	if (r != 0)
		return failed(r, why);
	if (fwd_host_norm(cli_get(ctx, "host"), host) != 0)
		return 1;
	if (cli_audit(ctx->db, ctx->mk, "forward_auth.rule_set", host,
		json_pack("{s:s, s:b, s:s, s:b}", "path", cli_get(ctx, "path"),
		    "public", cli_has(ctx, "public"), "groups",
		    cli_get(ctx, "groups") != NULL ? cli_get(ctx, "groups")
						   : "",
		    "mfa", cli_has(ctx, "mfa"))) != 0)
		return 1;
	if (cli_has(ctx, "json"))
		cli_json_print(json_pack("{s:s, s:s}", "host", host, "path",
				   cli_get(ctx, "path")),
		    JSON_COMPACT);
	else
		printf(
		    "rule set for https://%s%s\n", host, cli_get(ctx, "path"));
	return 0;
}

static int
remove_rule(struct cli_ctx *ctx)
{
	const char *why = NULL;
	char host[FWD_HOST_MAX + 1];
	int r;

	r = fwd_rule_remove(
	    ctx->db, cli_get(ctx, "host"), cli_get(ctx, "path"), &why);
	if (r != 0)
		return failed(r, why);
	if (fwd_host_norm(cli_get(ctx, "host"), host) != 0)
		return 1;
	if (cli_audit(ctx->db, ctx->mk, "forward_auth.rule_remove", host,
		json_pack("{s:s}", "path", cli_get(ctx, "path"))) != 0)
		return 1;
	if (cli_has(ctx, "json"))
		cli_json_print(json_pack("{s:s, s:s, s:b}", "host", host,
				   "path", cli_get(ctx, "path"), "removed", 1),
		    JSON_COMPACT);
	else
		printf("rule removed for https://%s%s\n", host,
		    cli_get(ctx, "path"));
	return 0;
}

static int
list(struct cli_ctx *ctx)
{
	struct store_fwd_rule *v = NULL;
	char host[FWD_HOST_MAX + 1];
	const char *h = cli_get(ctx, "host");
	size_t n = 0;
	int r;

	if (h != NULL && fwd_host_norm(h, host) != 0)
		return failed(PC_ERR_INVALID, "not a host name");
	if ((r = store_fwd_rules_list(
		 ctx->db, h != NULL ? host : NULL, &v, &n)) != 0)
		return failed(r, NULL);
	if (cli_has(ctx, "json")) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, rule_json(&v[i]));
		cli_json_print(a, JSON_INDENT(2));
	} else {
		printf("%-32s %-24s %-9s %-4s %s\n", "HOST", "PATH", "ACCESS",
		    "MFA", "GROUPS");
		for (size_t i = 0; i < n; i++)
			printf("%-32s %-24s %-9s %-4s %s\n", v[i].host,
			    v[i].path_prefix, v[i].access,
			    v[i].mfa ? "yes" : "no",
			    v[i].groups[0] != '\0' ? v[i].groups : "-");
	}
	store_fwd_rules_free(v, n);
	return 0;
}

static const struct cli_opt set_opts[] = {
	{ .name = "host",
	    .value = "HOST",
	    .help = "the protected host (name[:port])",
	    .required = true },
	{ .name = "path",
	    .value = "PREFIX",
	    .help = "the path prefix the rule covers",
	    .required = true },
	{ .name = "public", .help = "no sign-in needed under PREFIX" },
	{ .name = "groups",
	    .value = "G1,G2",
	    .help = "a member of one of these groups" },
	{ .name = "mfa", .help = "a session with a second factor" },
	{ .name = "json", .help = "print as JSON" },
	{ .name = NULL },
};

static const struct cli_opt remove_opts[] = {
	{ .name = "host",
	    .value = "HOST",
	    .help = "the protected host",
	    .required = true },
	{ .name = "path",
	    .value = "PREFIX",
	    .help = "the rule's path prefix",
	    .required = true },
	{ .name = "json", .help = "print as JSON" },
	{ .name = NULL },
};

static const struct cli_opt list_opts[] = {
	{ .name = "host", .value = "HOST", .help = "only this host's rules" },
	{ .name = "json", .help = "print as a JSON array" },
	{ .name = NULL },
};

static const struct cli_sub subs[] = {
	{ "set", set_opts, CLI_START_MASTERKEY, NULL, set },
	{ "remove", remove_opts, CLI_START_MASTERKEY, NULL, remove_rule },
	{ "list", list_opts, CLI_START_STORE, NULL, list },
};

static const struct cli_cmd cmd = { "forward-auth", usage, subs,
	PC_NELEM(subs) };

int
cmd_forward_auth(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}
