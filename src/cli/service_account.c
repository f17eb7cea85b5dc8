/*
 * portcullis service-account add | list | show | update | disable | enable
 * | delete (issue 14). A service account is a principal that is not a
 * person: no password, no sign-in page, no consent. It gets tokens only
 * through a credential bound to it (`client add --service-account`, API
 * keys, workload federation). The rules live in src/machine/; every
 * change is audited (service_account.*, actor "cli"). Usage errors exit 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "machine/machine.h"
#include "store/store.h"

static const char usage[] =
    "usage: portcullis service-account add --name NAME [--owner "
    "usr_...|grp_...]\n"
    "                        [--description TEXT] [--scope \"SCOPE ...\"]\n"
    "                        [--resource URI ...] [--expires DURATION] "
    "[--json]\n"
    "       portcullis service-account list [--json]\n"
    "       portcullis service-account show --id ID [--json]\n"
    "       portcullis service-account update --id ID [--name NAME]\n"
    "                        [--owner ID | --no-owner] [--description TEXT]\n"
    "                        [--scope \"SCOPE ...\"] [--resource URI ...]\n"
    "                        [--any-resource] [--expires DURATION |\n"
    "                        --no-expiry] [--json]\n"
    "       portcullis service-account disable --id ID [--json]\n"
    "       portcullis service-account enable --id ID [--json]\n"
    "       portcullis service-account delete --id ID [--json]\n"
    "\n"
    "Every sub-command also takes --config FILE, --data-dir DIR,\n"
    "--store-url URL, --mode MODE and --help.\n"
    "\n"
    "add      creates a service account with a new id (svc_...): the sub\n"
    "         of its tokens. NAME: 1-64 letters, digits, '.', '_', '-'.\n"
    "         --owner: the user or group answerable for it. --scope: what\n"
    "         its tokens may carry (with its groups' scopes). --resource:\n"
    "         the resources (RFC 8707 URIs) it may get tokens for; none:\n"
    "         any registered resource within its scopes. DURATION: 90d,\n"
    "         12h, 30m, 2w or seconds (1 minute to 10 years).\n"
    "update   changes the given fields; --resource replaces the list.\n"
    "disable  its tokens die at their next check (/introspect, /userinfo)\n"
    "         on every node, and its clients get no new ones; enable\n"
    "         undoes it.\n"
    "delete   removes it with the clients bound to it; its id is never\n"
    "         given out again.\n";

static json_t *
words_json(const char *s)
{
	json_t *a = json_array();
	const char *p = s != NULL ? s : "";

	while (*p != '\0') {
		size_t k = strcspn(p, " ");

		if (k > 0)
			json_array_append_new(a, json_stringn(p, k));
		p += k;
		if (*p == ' ')
			p++;
	}
	return a;
}

/* clients: the bound clients' ids (show), or NULL with n 0 (no list). */
static json_t *
sa_json(const struct store_service_account *sa, char **clients, size_t n,
    bool with_clients)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:o, s:o, s:o, s:b,"
			      " s:o, s:o}",
	    "id", sa->id, "name", sa->name, "description", sa->description,
	    "owner_id", sa->owner_id, "scope", sa->scopes, "resources",
	    words_json(sa->resources), "expires_at",
	    cli_json_time(sa->expires_at), "disabled_at",
	    cli_json_time(sa->disabled_at), "disabled", sa->disabled_at != 0,
	    "created_at", cli_json_time(sa->created_at), "updated_at",
	    cli_json_time(sa->updated_at));

	if (o != NULL && with_clients) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, json_string(clients[i]));
		json_object_set_new(o, "clients", a);
	}
	return o;
}

static void
sa_print(const struct store_service_account *sa, char **clients, size_t n)
{
	char e[CLI_TIME_MAX], d[CLI_TIME_MAX], c[CLI_TIME_MAX];

	cli_time(e, sa->expires_at, false);
	cli_time(d, sa->disabled_at, false);
	cli_time(c, sa->created_at, false);
	printf("%-13s %s\n%-13s %s\n%-13s %s\n%-13s %s\n%-13s %s\n"
	       "%-13s %s\n%-13s %s\n%-13s %s\n%-13s %s\n",
	    "id:", sa->id, "name:", sa->name,
	    "description:", sa->description[0] != '\0' ? sa->description : "-",
	    "owner:", sa->owner_id != NULL ? sa->owner_id : "-",
	    "scope:", sa->scopes[0] != '\0' ? sa->scopes : "-",
	    "resources:", sa->resources[0] != '\0' ? sa->resources : "(any)",
	    "expires_at:", e, "disabled_at:", d, "created_at:", c);
	for (size_t i = 0; i < n; i++)
		printf("%-13s %s\n", i == 0 ? "clients:" : "", clients[i]);
}

/* Reads the shared flags of add and update into f. 0, or 2 (usage). */
static int
fields(const struct cli_ctx *ctx, struct sa_fields *f,
    const char *res[SA_RESOURCES_MAX])
{
	const char *exp = cli_get(ctx, "expires");

	memset(f, 0, sizeof(*f));
	f->name = cli_get(ctx, "name");
	f->description = cli_get(ctx, "description");
	f->scopes = cli_get(ctx, "scope");
	f->owner_id = cli_get(ctx, "owner");
	if (cli_has(ctx, "no-owner"))
		f->owner_id = "";
	f->n_resources = cli_all(ctx, "resource", res, SA_RESOURCES_MAX);
	f->resources = res;
	f->set_resources = f->n_resources > 0 || cli_has(ctx, "any-resource");
	if (exp != NULL) {
		if (machine_duration_parse(exp, &f->expires_in) != 0)
			return cli_usage(ctx,
			    "--expires takes a duration: 90d, 12h, 30m, 2w "
			    "or seconds");
		f->set_expires = true;
	}
	if (cli_has(ctx, "no-expiry")) {
		f->expires_in = 0;
		f->set_expires = true;
	}
	return 0;
}

static int
refused(int r, const char *why, const char *doing)
{
	if ((r == PC_ERR_INVALID || r == PC_ERR_CONFLICT) && why != NULL)
		fprintf(
		    stderr, "portcullis: service account refused: %s\n", why);
	else if (r == PC_ERR_NOT_FOUND)
		fprintf(stderr, "portcullis: no such service account\n");
	else
		fprintf(stderr,
		    "portcullis: cannot %s the service account: %s\n", doing,
		    pc_strerror(r));
	return 1;
}

/* The audit details of a change: the fields as they are now. */
static json_t *
details(const struct store_service_account *sa)
{
	return json_pack("{s:s, s:s?, s:s, s:s, s:I}", "name", sa->name,
	    "owner_id", sa->owner_id, "scope", sa->scopes, "resources",
	    sa->resources, "expires_at", (json_int_t)sa->expires_at);
}

static int
add(struct cli_ctx *ctx)
{
	const char *res[SA_RESOURCES_MAX];
	struct store_service_account sa;
	struct sa_fields f;
	const char *why = NULL;
	int r;

	if ((r = fields(ctx, &f, res)) != 0)
		return r;
	r = service_account_create(ctx->db, &f, clock_now(), &sa, &why);
	if (r != 0)
		return refused(r, why, "add");
	if (cli_audit(ctx->db, ctx->mk, "service_account.create", sa.id,
		details(&sa)) != 0) {
		store_service_account_clear(&sa);
		return 1;
	}
	if (cli_has(ctx, "json"))
		cli_json_print(sa_json(&sa, NULL, 0, false), JSON_COMPACT);
	else
		printf("added service account %s (%s)\n", sa.id, sa.name);
	store_service_account_clear(&sa);
	return 0;
}

static int
update(struct cli_ctx *ctx)
{
	const char *res[SA_RESOURCES_MAX];
	struct store_service_account sa;
	struct sa_fields f;
	const char *why = NULL;
	int r;

	if ((r = fields(ctx, &f, res)) != 0)
		return r;
	r = service_account_update(
	    ctx->db, cli_get(ctx, "id"), &f, clock_now(), &sa, &why);
	if (r != 0)
		return refused(r, why, "update");
	if (cli_audit(ctx->db, ctx->mk, "service_account.update", sa.id,
		details(&sa)) != 0) {
		store_service_account_clear(&sa);
		return 1;
	}
	if (cli_has(ctx, "json"))
		cli_json_print(sa_json(&sa, NULL, 0, false), JSON_COMPACT);
	else
		printf("updated service account %s\n", sa.id);
	store_service_account_clear(&sa);
	return 0;
}

/* The account named by --id, or 1 after saying why. */
static int
find(const struct cli_ctx *ctx, struct store_service_account *sa)
{
	const char *id = cli_get(ctx, "id");
	int r = principal_kind(id) == PRINCIPAL_SERVICE_ACCOUNT
	    ? store_service_account_get(ctx->db, id, sa)
	    : PC_ERR_NOT_FOUND;

	if (r != 0) {
		memset(sa, 0, sizeof(*sa));
		refused(r, NULL, "read");
		return 1;
	}
	return 0;
}

static int
show(struct cli_ctx *ctx)
{
	struct store_service_account sa;
	char **clients = NULL;
	size_t n = 0;
	int r;

	if (find(ctx, &sa) != 0)
		return 1;
	if ((r = store_service_account_clients(ctx->db, sa.id, &clients, &n)) !=
	    0) {
		store_service_account_clear(&sa);
		return refused(r, NULL, "read");
	}
	if (cli_has(ctx, "json"))
		cli_json_print(sa_json(&sa, clients, n, true), JSON_INDENT(2));
	else
		sa_print(&sa, clients, n);
	store_strv_free(clients, n);
	store_service_account_clear(&sa);
	return 0;
}

static int
list(struct cli_ctx *ctx)
{
	struct store_service_account *v = NULL;
	size_t n = 0;
	int r;

	if ((r = store_service_accounts_list(ctx->db, &v, &n)) != 0)
		return refused(r, NULL, "list");
	if (cli_has(ctx, "json")) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(
			    a, sa_json(&v[i], NULL, 0, false));
		cli_json_print(a, JSON_INDENT(2));
	} else {
		printf("%-26s %-9s %-26s %s\n", "ID", "STATE", "OWNER", "NAME");
		for (size_t i = 0; i < n; i++)
			printf("%-26s %-9s %-26s %s\n", v[i].id,
			    v[i].disabled_at != 0 ? "disabled"
				: service_account_usable(&v[i], clock_now())
				? "enabled"
				: "expired",
			    v[i].owner_id != NULL ? v[i].owner_id : "-",
			    v[i].name);
	}
	store_service_accounts_free(v, n);
	return 0;
}

static int
set_disabled(struct cli_ctx *ctx, bool disabled)
{
	const char *id = cli_get(ctx, "id");
	const char *ev =
	    disabled ? "service_account.disable" : "service_account.enable";
	int r;

	r = service_account_set_disabled(ctx->db, id, disabled, clock_now());
	if (r != 0)
		return refused(r, NULL, disabled ? "disable" : "enable");
	if (cli_audit(ctx->db, ctx->mk, ev, id, NULL) != 0)
		return 1;
	if (cli_has(ctx, "json"))
		cli_json_print(
		    json_pack("{s:s, s:b}", "id", id, "disabled", disabled),
		    JSON_COMPACT);
	else
		printf("%s service account %s\n",
		    disabled ? "disabled" : "enabled", id);
	return 0;
}

static int
disable(struct cli_ctx *ctx)
{
	return set_disabled(ctx, true);
}

static int
enable(struct cli_ctx *ctx)
{
	return set_disabled(ctx, false);
}

static int
delete_sa(struct cli_ctx *ctx)
{
	const char *id = cli_get(ctx, "id");
	char **clients = NULL;
	size_t n = 0;
	json_t *a;
	int r;

	r = service_account_delete(ctx->db, id, clock_now(), &clients, &n);
	if (r != 0)
		return refused(r, NULL, "delete");
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(clients[i]));
	r = cli_audit(ctx->db, ctx->mk, "service_account.delete", id,
	    json_pack("{s:O}", "clients_deleted", a));
	for (size_t i = 0; r == 0 && i < n; i++)
		r = cli_audit(ctx->db, ctx->mk, "client.deleted", clients[i],
		    json_pack("{s:s}", "service_account", id));
	if (r == 0) {
		if (cli_has(ctx, "json"))
			cli_json_print(json_pack("{s:s, s:b, s:O}", "id", id,
					   "deleted", 1, "clients_deleted", a),
			    JSON_COMPACT);
		else {
			printf("deleted service account %s\n", id);
			for (size_t i = 0; i < n; i++)
				printf("deleted its client %s\n", clients[i]);
		}
	}
	json_decref(a);
	store_strv_free(clients, n);
	return r == 0 ? 0 : 1;
}

static int
check_update(const struct cli_ctx *ctx)
{
	if (cli_has(ctx, "owner") && cli_has(ctx, "no-owner"))
		return cli_usage(ctx, "--owner and --no-owner conflict");
	if (cli_has(ctx, "expires") && cli_has(ctx, "no-expiry"))
		return cli_usage(ctx, "--expires and --no-expiry conflict");
	if (cli_has(ctx, "resource") && cli_has(ctx, "any-resource"))
		return cli_usage(ctx, "--resource and --any-resource conflict");
	return 0;
}

#define FIELD_OPTS \
	{ .name = "owner", \
		.value = "usr_...|grp_...", \
		.help = "the user or group answerable for it" }, \
	    { .name = "description", \
		    .value = "TEXT", \
		    .help = "what it is for" }, \
	    { .name = "scope", \
		    .value = "\"SCOPE ...\"", \
		    .help = "the scopes its tokens may carry" }, \
	    { .name = "resource", \
		    .value = "URI", \
		    .help = "a resource it may get tokens for (repeat)", \
		    .max = SA_RESOURCES_MAX }, \
	    { .name = "expires", \
		    .value = "DURATION", \
		    .help = "expires after 90d, 12h, 30m, 2w or seconds" }, \
	{ \
		.name = "json", .help = "print as JSON" \
	}

#define ID_OPT \
	{ \
		.name = "id", .value = "svc_...", \
		.help = "the service account", .required = true \
	}

static const struct cli_opt add_opts[] = {
	{ .name = "name",
	    .value = "NAME",
	    .help = "its name (unique)",
	    .required = true },
	FIELD_OPTS,
	{ .name = NULL },
};

static const struct cli_opt update_opts[] = {
	ID_OPT,
	{ .name = "name", .value = "NAME", .help = "its name (unique)" },
	{ .name = "no-owner", .help = "remove the owner" },
	{ .name = "any-resource", .help = "any registered resource" },
	{ .name = "no-expiry", .help = "remove the expiry" },
	FIELD_OPTS,
	{ .name = NULL },
};

static const struct cli_opt list_opts[] = {
	{ .name = "json", .help = "print as a JSON array" },
	{ .name = NULL },
};

static const struct cli_opt id_json_opts[] = {
	ID_OPT,
	{ .name = "json", .help = "print as JSON" },
	{ .name = NULL },
};

static const struct cli_sub subs[] = {
	{ "add", add_opts, CLI_START_MASTERKEY, NULL, add },
	{ "list", list_opts, CLI_START_STORE, NULL, list },
	{ "show", id_json_opts, CLI_START_STORE, NULL, show },
	{ "update", update_opts, CLI_START_MASTERKEY, check_update, update },
	{ "disable", id_json_opts, CLI_START_MASTERKEY, NULL, disable },
	{ "enable", id_json_opts, CLI_START_MASTERKEY, NULL, enable },
	{ "delete", id_json_opts, CLI_START_MASTERKEY, NULL, delete_sa },
};

static const struct cli_cmd cmd = { "service-account", usage, subs,
	PC_NELEM(subs) };

int
cmd_service_account(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}
