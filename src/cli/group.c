/*
 * portcullis group add | list | show | delete | member add | member remove
 * (issue 14). Groups hold users and service accounts: a member user's
 * tokens name them in the "groups" claim when the "groups" scope is
 * granted, and a group's scopes are granted to its member service
 * accounts. Every change is audited (group.*, actor "cli"). "member" is a
 * sub-command of two words: `group member add` is parsed as the
 * sub-command "member-add" of the same table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "machine/machine.h"
#include "store/store.h"

static const char usage[] =
    "usage: portcullis group add --name NAME [--description TEXT]\n"
    "                        [--scope \"SCOPE ...\"] [--json]\n"
    "       portcullis group list [--json]\n"
    "       portcullis group show --id grp_... [--json]\n"
    "       portcullis group delete --id grp_... [--json]\n"
    "       portcullis group member add --group grp_... --member ID "
    "[--json]\n"
    "       portcullis group member remove --group grp_... --member ID "
    "[--json]\n"
    "\n"
    "Every sub-command also takes --config FILE, --data-dir DIR,\n"
    "--store-url URL, --mode MODE and --help.\n"
    "\n"
    "add      creates a group with a new id (grp_...). NAME: 1-64\n"
    "         letters, digits, '.', '_', '-': what the \"groups\" claim\n"
    "         says. --scope: granted to its member service accounts.\n"
    "member   adds or removes a user (usr_...) or service account\n"
    "         (svc_...) that exists.\n"
    "delete   removes the group and its memberships (refused while it\n"
    "         owns a service account); its id is never given out again.\n";

static json_t *
group_json(
    const struct store_group *g, char **members, size_t n, bool with_members)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "id", g->id,
	    "name", g->name, "description", g->description, "scope", g->scopes,
	    "created_at", cli_json_time(g->created_at), "updated_at",
	    cli_json_time(g->updated_at));

	if (o != NULL && with_members) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, json_string(members[i]));
		json_object_set_new(o, "members", a);
	}
	return o;
}

static int
failed(int r, const char *why, const char *what)
{
	if ((r == PC_ERR_INVALID || r == PC_ERR_CONFLICT) && why != NULL)
		fprintf(stderr, "portcullis: refused: %s\n", why);
	else if (r == PC_ERR_NOT_FOUND)
		fprintf(stderr, "portcullis: no such %s\n", what);
	else if (r == PC_ERR_CONFLICT)
		fprintf(stderr,
		    "portcullis: the group owns a service account: give it "
		    "another owner first\n");
	else
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
	return 1;
}

static int
add(struct cli_ctx *ctx)
{
	struct store_group g;
	const char *why = NULL;
	int r;

	r = group_create(ctx->db, cli_get(ctx, "name"),
	    cli_get(ctx, "description"), cli_get(ctx, "scope"), clock_now(), &g,
	    &why);
	if (r != 0)
		return failed(r, why, "group");
	if (cli_audit(ctx->db, ctx->mk, "group.create", g.id,
		json_pack("{s:s, s:s}", "name", g.name, "scope", g.scopes)) !=
	    0) {
		store_group_clear(&g);
		return 1;
	}
	if (cli_has(ctx, "json"))
		cli_json_print(group_json(&g, NULL, 0, false), JSON_COMPACT);
	else
		printf("added group %s (%s)\n", g.id, g.name);
	store_group_clear(&g);
	return 0;
}

static int
list(struct cli_ctx *ctx)
{
	struct store_group *v = NULL;
	size_t n = 0;
	int r;

	if ((r = group_list(ctx->db, &v, &n)) != 0)
		return failed(r, NULL, "group");
	if (cli_has(ctx, "json")) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(
			    a, group_json(&v[i], NULL, 0, false));
		cli_json_print(a, JSON_INDENT(2));
	} else {
		printf("%-26s %-24s %s\n", "ID", "NAME", "SCOPE");
		for (size_t i = 0; i < n; i++)
			printf("%-26s %-24s %s\n", v[i].id, v[i].name,
			    v[i].scopes[0] != '\0' ? v[i].scopes : "-");
	}
	store_groups_free(v, n);
	return 0;
}

static int
show(struct cli_ctx *ctx)
{
	const char *id = cli_get(ctx, "id");
	struct store_group g;
	char **m = NULL;
	size_t n = 0;
	int r;

	if ((r = group_get(ctx->db, id, &g)) != 0)
		return failed(r, NULL, "group");
	if ((r = group_members(ctx->db, g.id, &m, &n)) != 0) {
		store_group_clear(&g);
		return failed(r, NULL, "group");
	}
	if (cli_has(ctx, "json")) {
		cli_json_print(group_json(&g, m, n, true), JSON_INDENT(2));
	} else {
		printf("%-13s %s\n%-13s %s\n%-13s %s\n%-13s %s\n", "id:", g.id,
		    "name:", g.name, "description:",
		    g.description[0] != '\0' ? g.description : "-",
		    "scope:", g.scopes[0] != '\0' ? g.scopes : "-");
		for (size_t i = 0; i < n; i++)
			printf("%-13s %s\n", i == 0 ? "members:" : "", m[i]);
	}
	store_strv_free(m, n);
	store_group_clear(&g);
	return 0;
}

static int
delete_group(struct cli_ctx *ctx)
{
	const char *id = cli_get(ctx, "id");
	int r = group_delete(ctx->db, id, clock_now());

	if (r != 0)
		return failed(r, NULL, "group");
	if (cli_audit(ctx->db, ctx->mk, "group.delete", id, NULL) != 0)
		return 1;
	if (cli_has(ctx, "json"))
		cli_json_print(json_pack("{s:s, s:b}", "id", id, "deleted", 1),
		    JSON_COMPACT);
	else
		printf("deleted group %s\n", id);
	return 0;
}

static int
member(struct cli_ctx *ctx, bool adding)
{
	const char *gid = cli_get(ctx, "group"), *mid = cli_get(ctx, "member");
	const char *why = NULL;
	bool changed = true;
	int r;

	r = adding
	    ? group_member_add(ctx->db, gid, mid, clock_now(), &changed, &why)
	    : group_member_remove(ctx->db, gid, mid);
	if (r != 0)
		return failed(r, why,
		    adding ? "group or member" : "member of that group");
	if (changed &&
	    cli_audit(ctx->db, ctx->mk,
		adding ? "group.member_add" : "group.member_remove", gid,
		json_pack("{s:s}", "member", mid)) != 0)
		return 1;
	if (cli_has(ctx, "json"))
		cli_json_print(json_pack("{s:s, s:s, s:b}", "group", gid,
				   "member", mid, "member_now", adding),
		    JSON_COMPACT);
	else if (!changed)
		printf("%s is a member of %s already\n", mid, gid);
	else
		printf("%s %s %s\n", adding ? "added" : "removed", mid,
		    adding ? "to" : "from");
	return 0;
}

static int
member_add(struct cli_ctx *ctx)
{
	return member(ctx, true);
}

static int
member_remove(struct cli_ctx *ctx)
{
	return member(ctx, false);
}

static const struct cli_opt add_opts[] = {
	{ .name = "name",
	    .value = "NAME",
	    .help = "its name (unique; what the groups claim says)",
	    .required = true },
	{ .name = "description", .value = "TEXT", .help = "what it is for" },
	{ .name = "scope",
	    .value = "\"SCOPE ...\"",
	    .help = "scopes granted to its member service accounts" },
	{ .name = "json", .help = "print as JSON" },
	{ .name = NULL },
};

static const struct cli_opt list_opts[] = {
	{ .name = "json", .help = "print as a JSON array" },
	{ .name = NULL },
};

static const struct cli_opt id_opts[] = {
	{ .name = "id",
	    .value = "grp_...",
	    .help = "the group",
	    .required = true },
	{ .name = "json", .help = "print as JSON" },
	{ .name = NULL },
};

static const struct cli_opt member_opts[] = {
	{ .name = "group",
	    .value = "grp_...",
	    .help = "the group",
	    .required = true },
	{ .name = "member",
	    .value = "usr_...|svc_...",
	    .help = "a user or service account",
	    .required = true },
	{ .name = "json", .help = "print as JSON" },
	{ .name = NULL },
};

static const struct cli_sub subs[] = {
	{ "add", add_opts, CLI_START_MASTERKEY, NULL, add },
	{ "list", list_opts, CLI_START_STORE, NULL, list },
	{ "show", id_opts, CLI_START_STORE, NULL, show },
	{ "delete", id_opts, CLI_START_MASTERKEY, NULL, delete_group },
	{ "member-add", member_opts, CLI_START_MASTERKEY, NULL, member_add },
	{ "member-remove", member_opts, CLI_START_MASTERKEY, NULL,
	    member_remove },
};

static const struct cli_cmd cmd = { "group", usage, subs, PC_NELEM(subs) };

int
cmd_group(int argc, char **argv)
{
	char joined[32];
	char **v;
	int r;

	/* "group member add ..." is the sub-command "member-add". */
	if (argc < 3 || strcmp(argv[1], "member") != 0 ||
	    (strcmp(argv[2], "add") != 0 && strcmp(argv[2], "remove") != 0))
		return cli_main(&cmd, argc, argv);
	snprintf(joined, sizeof(joined), "member-%s", argv[2]);
	v = xcalloc((size_t)argc, sizeof(*v));
	v[0] = argv[0];
	v[1] = joined;
	for (int i = 3; i < argc; i++)
		v[i - 1] = argv[i];
	r = cli_main(&cmd, argc - 1, v);
	free(v);
	return r;
}
