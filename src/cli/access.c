/*
 * portcullis access report [--json]: the inventory (issue 14, item 7;
 * src/machine/inventory.c) for an operator: every human and machine
 * principal with each credential, and what needs action. Reads only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "machine/machine.h"
#include "store/store.h"

static const char usage[] =
    "usage: portcullis access report [--json] [--config FILE] "
    "[--data-dir DIR]\n"
    "\n"
    "report  every principal (users, service accounts, clients that act "
    "for\n        themselves) with each credential that obtains tokens "
    "for it\n        (password, client secret, private_key_jwt key set, "
    "public client,\n        API key, workload trust): created, "
    "expires, last used, scopes,\n        resource, owner; and flags for "
    "what needs action:\n"
    "          unused          not used for 30 days (and older than "
    "that)\n"
    "          expiring        expires within 14 days\n"
    "          expired         past its expiry, still there\n"
    "          disabled        the principal is disabled\n"
    "          owner_disabled  its owner is disabled or expired\n"
    "          owner_missing   its owner no longer exists\n"
    "          no_expiry       a shared secret that never expires\n"
    "          scopes_unused   allowed scopes its tokens of the last 30 "
    "days\n                          never carried (from the audit "
    "log)\n"
    "        Last use and scopes used come from the audit log "
    "(token.issue;\n        a password's last use is its newest "
    "sign-in). --json: one object.\n";

/* Text for the terminal: control bytes as \xNN, "-" for none. */
static void
put(const char *s)
{
	if (s == NULL) {
		fputs("-", stdout);
		return;
	}
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			printf(ch == '\\' ? "\\\\" : "\\x%02x", ch);
		else
			putchar(ch);
	}
}

static json_t *
flags_json(unsigned flags)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < INVENTORY_FLAG_COUNT; i++)
		if (flags & (1u << i))
			json_array_append_new(
			    a, json_string(inventory_flag_name(1u << i)));
	return a;
}

static void
put_flags(unsigned flags)
{
	const char *sep = "  [";

	for (unsigned i = 0; i < INVENTORY_FLAG_COUNT; i++) {
		if (!(flags & (1u << i)))
			continue;
		printf("%s%s", sep, inventory_flag_name(1u << i));
		sep = ", ";
	}
	if (flags != 0)
		putchar(']');
}

static json_t *
opt_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
credential_json(const struct inventory_credential *c)
{
	return json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, "
			 "s:o, s:o, s:o}",
	    "kind", c->kind, "id", c->id, "label", opt_str(c->label), "owner",
	    c->owner, "created_at", cli_json_time(c->created_at), "expires_at",
	    cli_json_time(c->expires_at), "last_used_at",
	    cli_json_time(c->last_used_at), "scopes", opt_str(c->scopes),
	    "resource", opt_str(c->resource), "used_scopes",
	    opt_str(c->used_scopes), "unused_scopes", opt_str(c->unused_scopes),
	    "use_tracked", json_boolean(!c->use_untracked), "flags",
	    flags_json(c->flags));
}

static json_t *
principal_json(const struct inventory_principal *p)
{
	json_t *creds = json_array();

	for (size_t i = 0; i < p->n_creds; i++)
		json_array_append_new(creds, credential_json(&p->creds[i]));
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o}",
	    "kind", p->kind, "id", p->id, "name", opt_str(p->name), "owner",
	    opt_str(p->owner), "created_at", cli_json_time(p->created_at),
	    "expires_at", cli_json_time(p->expires_at), "disabled_at",
	    cli_json_time(p->disabled_at), "missing", p->missing, "flags",
	    flags_json(p->flags), "credentials", creds);
}

static json_t *
summary_json(const struct inventory *inv)
{
	json_t *s = json_object();
	size_t nc = 0;

	for (size_t i = 0; i < inv->n; i++)
		nc += inv->v[i].n_creds;
	json_object_set_new(s, "principals", json_integer((json_int_t)inv->n));
	json_object_set_new(s, "credentials", json_integer((json_int_t)nc));
	for (unsigned i = 0; i < INVENTORY_FLAG_COUNT; i++)
		json_object_set_new(s, inventory_flag_name(1u << i),
		    json_integer((json_int_t)inventory_count(inv, 1u << i)));
	return s;
}

static void
print_json(const struct inventory *inv)
{
	json_t *a = json_array();

	for (size_t i = 0; i < inv->n; i++)
		json_array_append_new(a, principal_json(&inv->v[i]));
	cli_json_print(
	    json_pack("{s:I, s:{s:i, s:i, s:i}, s:o, s:o}", "generated_at",
		(json_int_t)inv->now, "thresholds", "unused_days",
		INVENTORY_UNUSED_DAYS, "expiring_days", INVENTORY_EXPIRING_DAYS,
		"scope_window_days", INVENTORY_SCOPE_DAYS, "principals", a,
		"summary", summary_json(inv)),
	    JSON_INDENT(2) | JSON_PRESERVE_ORDER);
}

static void
print_credential(const struct inventory_credential *c, bool other_owner)
{
	char cr[CLI_TIME_MAX], ex[CLI_TIME_MAX], lu[CLI_TIME_MAX];

	cli_time(cr, c->created_at, false);
	cli_time(ex, c->expires_at, false);
	if (c->use_untracked)
		snprintf(lu, sizeof(lu), "untracked");
	else
		cli_time(lu, c->last_used_at, false);
	printf("  %-16s ", c->kind);
	put(c->id);
	if (c->label != NULL) {
		fputs(" \"", stdout);
		put(c->label);
		putchar('"');
	}
	printf("  created %s  expires %s  last used %s", cr, ex, lu);
	put_flags(c->flags);
	putchar('\n');
	if (c->scopes != NULL || c->resource != NULL || other_owner) {
		fputs("      scopes \"", stdout);
		put(c->scopes);
		fputs("\"  resource ", stdout);
		put(c->resource);
		if (other_owner) {
			fputs("  owner ", stdout);
			put(c->owner);
		}
		putchar('\n');
	}
	if (c->unused_scopes != NULL) {
		fputs("      not used in 30 days: ", stdout);
		put(c->unused_scopes);
		putchar('\n');
	}
}

static void
print_text(const struct inventory *inv)
{
	char now[CLI_TIME_MAX];
	size_t nc = 0;
	const char *sep = "";

	for (size_t i = 0; i < inv->n; i++)
		nc += inv->v[i].n_creds;
	cli_time(now, inv->now, false);
	printf("access report at %s: %zu principals, %zu credentials\n", now,
	    inv->n, nc);
	for (size_t i = 0; i < inv->n; i++) {
		const struct inventory_principal *p = &inv->v[i];
		char ex[CLI_TIME_MAX];

		printf("\n%s ", p->kind);
		put(p->id);
		fputs(" \"", stdout);
		put(p->name);
		putchar('"');
		if (p->owner != NULL) {
			fputs(" owner ", stdout);
			put(p->owner);
		}
		if (p->expires_at != 0)
			printf(
			    " expires %s", cli_time(ex, p->expires_at, false));
		if (p->missing)
			fputs(" (gone: only its credentials are left)", stdout);
		put_flags(p->flags);
		putchar('\n');
		if (p->n_creds == 0)
			puts("  (no credential)");
		for (size_t j = 0; j < p->n_creds; j++)
			print_credential(&p->creds[j],
			    strcmp(p->creds[j].owner, p->id) != 0);
	}
	fputs("\nneeds action:", stdout);
	for (unsigned i = 0; i < INVENTORY_FLAG_COUNT; i++) {
		size_t n = inventory_count(inv, 1u << i);

		if (n == 0)
			continue;
		printf("%s %zu %s", sep, n, inventory_flag_name(1u << i));
		sep = ",";
	}
	puts(sep[0] == '\0' ? " nothing" : "");
}

static int
report(struct cli_ctx *c)
{
	struct inventory inv;
	int r;

	if ((r = inventory_build(c->db, clock_now(), &inv)) != 0) {
		fprintf(stderr, "portcullis: cannot build the report: %s\n",
		    pc_strerror(r));
		return 1;
	}
	if (cli_has(c, "json"))
		print_json(&inv);
	else
		print_text(&inv);
	inventory_free(&inv);
	return 0;
}

static const struct cli_opt report_opts[] = {
	{ .name = "json", .help = "one JSON object" },
	{ .name = NULL },
};

static const struct cli_sub subs[] = {
	{ .name = "report",
	    .opts = report_opts,
	    .start = CLI_START_STORE,
	    .run = report },
};

static const struct cli_cmd cmd = { "access", usage, subs, PC_NELEM(subs) };

int
cmd_access(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}
