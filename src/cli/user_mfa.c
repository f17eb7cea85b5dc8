/*
 * portcullis user mfa list | reset (issue 16, item 4; MF-05, AU-01,
 * AU-06). list shows what protects an account: TOTP on or off with its
 * dates, each passkey (name, created, last used, cloned), recovery codes
 * left; never a secret. reset removes the user's factors (all, or one
 * kind) through mfa_reset(), writes the audit row "mfa.reset" and mails
 * the user, and so opens a new enrolment grace under mfa = required
 * (auth/mfa.c mfa_grace_open(); decision 0069). The operator is the one
 * who proves who the user is before running it: docs/mfa.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth/mfa.h"
#include "cli/cli.h"
#include "mail/mail.h"
#include "store/store.h"

static const char usage[] =
    "usage: portcullis user mfa list (--id ID | --email EMAIL) [--json]\n"
    "       portcullis user mfa reset (--id ID | --email EMAIL)\n"
    "                             [--factor totp|passkey|recovery]\n"
    "\n"
    "Every sub-command also takes --config FILE, --data-dir DIR,\n"
    "--store-url URL, --mode MODE and --help.\n"
    "\n"
    "list   what protects the account: the authenticator app (TOTP),\n"
    "       each passkey, the recovery codes left, the failure count.\n"
    "reset  removes the user's second factors (all of them, or the one\n"
    "       kind --factor names) and the failure count, records\n"
    "       mfa.reset in the audit log and mails the user. Under\n"
    "       mfa = required the user may then sign in with the password\n"
    "       alone for mfa_enrol_grace, to enrol again. Check who is\n"
    "       asking first: this removes what protects the account.\n";

static int
find(const struct cli_ctx *c, struct store_user *u)
{
	const char *id = cli_get(c, "id");
	int r = id != NULL
	    ? store_user_get(c->db, id, u)
	    : store_user_get_by_email(c->db, cli_get(c, "email"), u);

	if (r == PC_ERR_NOT_FOUND)
		fprintf(stderr, "portcullis: no such user\n");
	else if (r != 0)
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
	return r;
}

static json_t *
detail_json(const struct store_user *u, const struct store_mfa_detail *d)
{
	json_t *keys = json_array(), *o;

	for (size_t i = 0; keys != NULL && i < d->n_passkeys; i++) {
		const struct store_mfa_passkey *p = &d->passkeys[i];

		json_array_append_new(keys,
		    json_pack("{s:s, s:s, s:b, s:o, s:o, s:b, s:o}", "id",
			p->id, "name", p->name, "synced", p->backup_eligible,
			"created_at", cli_json_time(p->created_at),
			"last_used_at", cli_json_time(p->last_used_at),
			"cloned", p->cloned_at != 0, "cloned_at",
			cli_json_time(p->cloned_at)));
	}
	o = json_pack("{s:s, s:s, s:{s:b, s:b, s:o, s:o, s:o}, s:o, "
		      "s:{s:I, s:I}, s:I, s:b}",
	    "user_id", u->id, "email", u->email, "totp", "enabled",
	    d->totp && d->totp_activated_at != 0, "pending",
	    d->totp && d->totp_activated_at == 0, "created_at",
	    cli_json_time(d->totp ? d->totp_created_at : 0), "activated_at",
	    cli_json_time(d->totp_activated_at), "last_used_at",
	    cli_json_time(d->totp_last_used_at), "passkeys", keys,
	    "recovery_codes", "left", (json_int_t)d->recovery_left, "total",
	    (json_int_t)d->recovery_total, "failures", (json_int_t)d->failures,
	    "totp_suspended", d->totp_suspended);
	return o;
}

static void
detail_print(const struct store_user *u, const struct store_mfa_detail *d)
{
	char t1[CLI_TIME_MAX], t2[CLI_TIME_MAX], t3[CLI_TIME_MAX];

	printf("user:            %s <%s>\n", u->id, u->email);
	if (!d->totp)
		printf("totp:            off\n");
	else
		printf("totp:            %s (created %s, last used %s)\n",
		    d->totp_activated_at != 0 ? "on" : "pending",
		    cli_time(t1, d->totp_created_at, false),
		    cli_time(t2, d->totp_last_used_at, false));
	printf("passkeys:        %zu\n", d->n_passkeys);
	for (size_t i = 0; i < d->n_passkeys; i++) {
		const struct store_mfa_passkey *p = &d->passkeys[i];

		printf("  %s  %s  created %s  last used %s%s%s\n", p->id,
		    p->name, cli_time(t1, p->created_at, false),
		    cli_time(t2, p->last_used_at, false),
		    p->cloned_at != 0 ? "  CLONED " : "",
		    p->cloned_at != 0 ? cli_time(t3, p->cloned_at, false) : "");
	}
	printf("recovery codes:  %lld of %lld left\n",
	    (long long)d->recovery_left, (long long)d->recovery_total);
	printf("failures:        %lld%s\n", (long long)d->failures,
	    d->totp_suspended ? " (TOTP suspended)" : "");
}

static int
list(struct cli_ctx *c)
{
	struct store_mfa_detail d = { 0 };
	struct store_user u;
	int r;

	if (find(c, &u) != 0)
		return 1;
	if ((r = mfa_detail(c->db, u.id, &d)) != 0) {
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
		store_user_clear(&u);
		return 1;
	}
	if (cli_has(c, "json"))
		cli_json_print(detail_json(&u, &d), JSON_INDENT(2));
	else
		detail_print(&u, &d);
	store_mfa_detail_clear(&d);
	store_user_clear(&u);
	return 0;
}

/* AU-06: the user learns of it by mail (queued, sent before exit). */
static void
notify(struct cli_ctx *c, const struct store_user *u, const char *kind,
    int64_t now)
{
	struct mailer *mr = NULL;
	struct mail_msg m;
	struct mail v;

	if (mail_compose_mfa_reset(&c->cfg, u->email, kind, now, &m) != 0) {
		fprintf(
		    stderr, "portcullis: cannot write the mail to %s\n", u->id);
		return;
	}
	if (mail_start(&c->cfg, &mr) != 0) {
		fprintf(stderr,
		    "portcullis: cannot start the mailer: the user is not "
		    "told\n");
		mail_msg_clear(&m);
		return;
	}
	v = mail_msg_view(&m);
	if (mail_enqueue(mr, &v) != 0)
		fprintf(
		    stderr, "portcullis: cannot queue the mail to %s\n", u->id);
	mail_msg_clear(&m);
	mail_stop(mr);
}

static int
reset(struct cli_ctx *c)
{
	const char *kind = cli_get(c, "factor");
	struct store_user u;
	size_t removed = 0;
	int64_t now = clock_now();
	json_t *d;
	int r;

	if (find(c, &u) != 0)
		return 1;
	r = mfa_reset(c->db, u.id, kind, &removed);
	if (r == 0) {
		/* AU-01; its time also starts the new enrolment grace. */
		d = json_pack("{s:s, s:I}", "factor",
		    kind != NULL ? kind : "all", "removed",
		    (json_int_t)removed);
		r = cli_audit(c->db, c->mk, "mfa.reset", u.id, d);
	}
	if (r != 0) {
		fprintf(
		    stderr, "portcullis: user mfa reset: %s\n", pc_strerror(r));
		store_user_clear(&u);
		return 1;
	}
	printf("removed %zu credential%s of user %s (%s)\n", removed,
	    removed == 1 ? "" : "s", u.id, kind != NULL ? kind : "all");
	notify(c, &u, kind, now);
	store_user_clear(&u);
	return 0;
}

static int
check(const struct cli_ctx *c)
{
	const char *kind = cli_get(c, "factor");

	if ((cli_get(c, "email") == NULL) == (cli_get(c, "id") == NULL))
		return cli_usage(
		    c, "'user mfa %s' needs --id or --email", c->sub->name);
	if (kind != NULL && strcmp(kind, "totp") != 0 &&
	    strcmp(kind, "passkey") != 0 && strcmp(kind, "recovery") != 0)
		return cli_usage(
		    c, "--factor: expected totp, passkey or recovery");
	return 0;
}

#define WHO \
	{ .name = "id", .value = "ID", .help = "the user, by id" }, \
	{ \
		.name = "email", .value = "EMAIL", \
		.help = "the user, by email (any case)" \
	}

static const struct cli_opt list_opts[] = {
	WHO,
	{ .name = "json", .help = "print as JSON" },
	{ .name = NULL },
};

static const struct cli_opt reset_opts[] = {
	WHO,
	{ .name = "factor",
	    .value = "KIND",
	    .help = "only this kind: totp, passkey or recovery (default all)" },
	{ .name = NULL },
};

/* Reading needs the store; a reset is audited, under the master key. */
static const struct cli_sub subs[] = {
	{ "list", list_opts, CLI_START_STORE, check, list },
	{ "reset", reset_opts, CLI_START_MASTERKEY, check, reset },
};

static const struct cli_cmd cmd = { "user mfa", usage, subs, PC_NELEM(subs) };

int
cmd_user_mfa(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}
