/*
 * portcullis user add | list | show | update | disable | enable | sign-out
 * | set-password | delete. A password never comes from argv: see
 * src/cli/user_password.c. Admin actions are audited (AU-01).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
#include "auth/user_admin.h"
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "store/store.h"

static const char usage[] =
    "usage: portcullis user add --email EMAIL [--name NAME] [--verified]\n"
    "                           [--password-stdin | --no-password] "
    "[--json]\n"
    "       portcullis user list [--json]\n"
    "       portcullis user show (--id ID | --email EMAIL) [--json]\n"
    "       portcullis user update (--id ID | --email EMAIL) [--name NAME]\n"
    "                           [--new-email EMAIL] [--verified | "
    "--unverified]\n"
    "                           [--json]\n"
    "       portcullis user disable (--id ID | --email EMAIL)\n"
    "       portcullis user enable (--id ID | --email EMAIL)\n"
    "       portcullis user sign-out (--id ID | --email EMAIL)\n"
    "       portcullis user set-password (--id ID | --email EMAIL) "
    "[--password-stdin]\n"
    "       portcullis user delete (--id ID | --email EMAIL)\n"
    "       portcullis user mfa list|reset (see its --help)\n"
    "\n"
    "Every sub-command also takes --config FILE, --data-dir DIR,\n"
    "--store-url URL, --mode MODE and --help.\n"
    "\n"
    "add           creates a user with a new opaque id (its OIDC sub). The\n"
    "              password is asked on the terminal (twice, not echoed;\n"
    "              empty: no password) or, with --password-stdin, read from\n"
    "              the first line of standard input. It must pass the\n"
    "              password policy; a refused one creates nothing.\n"
    "              Without a terminal, --password-stdin or --no-password\n"
    "              (a user without a password) is required.\n"
    "update        changes the name, the email (--new-email: it is then\n"
    "              not verified unless --verified is given too, and reset\n"
    "              and verification links already mailed stop working) or\n"
    "              the email's verified state.\n"
    "set-password  sets or replaces the password, the same two ways.\n"
    "disable       the user can no longer sign in and every session ends\n"
    "              (enable undoes it).\n"
    "sign-out      ends every session of the user at once.\n"
    "delete        removes the user and its credentials; the id is never\n"
    "              given out again. Emails are matched case-insensitively.\n"
    "\n"
    "A password is never accepted as an argument.\n";

static json_t *
user_json(const struct user_record *u)
{
	json_t *o;

	o = json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:b}", "id", u->id,
	    "email", u->email, "email_verified", u->email_verified, "name",
	    u->name, "created_at", (json_int_t)u->created_at, "updated_at",
	    (json_int_t)u->updated_at, "has_password", u->has_password);
	if (o != NULL)
		json_object_set_new(
		    o, "disabled_at", cli_json_time(u->disabled_at));
	return o;
}

static void
print_user(const struct user_record *u)
{
	char c[CLI_TIME_MAX], d[CLI_TIME_MAX];

	cli_time(c, u->created_at, false);
	cli_time(d, u->disabled_at, false);
	printf("id:             %s\n"
	       "email:          %s\n"
	       "email_verified: %s\n"
	       "name:           %s\n"
	       "created_at:     %s\n"
	       "disabled_at:    %s\n"
	       "password:       %s\n",
	    u->id, u->email, u->email_verified ? "yes" : "no", u->name, c, d,
	    u->has_password ? "set" : "none");
}

/* The user named by --id or --email. */
static int
find(const struct cli_ctx *c, struct user_record *u)
{
	int r =
	    user_record_find(c->db, cli_get(c, "id"), cli_get(c, "email"), u);

	if (r == PC_ERR_NOT_FOUND)
		fprintf(stderr, "portcullis: no such user\n");
	else if (r != 0)
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
	return r;
}

static int
password_refused(const struct pw_check *check)
{
	fprintf(stderr, "portcullis: password refused: %s\n",
	    check->message != NULL ? check->message : "policy");
	return 1;
}

/*
 * The password (src/cli/user_password.c: none when !required and the
 * operator gave none) and, for one, the hashing parameters from the
 * configuration. 0, or the exit status with nothing left to free.
 */
static int
password_and_params(struct cli_ctx *c, bool required, char **pw, size_t *pw_len,
    struct pw_params *p)
{
	char err[512];
	int rc;

	if ((rc = cli_user_password(c, required, pw, pw_len)) != 0)
		return rc;
	if (*pw != NULL &&
	    pw_params_from_config(&c->cfg, p, err, sizeof(err)) != 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		sodium_free(*pw);
		*pw = NULL;
		return 1;
	}
	return 0;
}

/* The end of add and set-password: the password wiped, the user freed. */
static int
finish(int rc, char *pw, struct store_user *u)
{
	if (pw != NULL)
		sodium_free(pw); /* zeroes */
	store_user_clear(u);
	return rc;
}

static int
add(struct cli_ctx *c)
{
	struct db *db = c->db;
	struct store_user u;
	struct pw_params p;
	struct pw_check check = { PW_OK, NULL };
	char *pw = NULL;
	size_t pw_len = 0;
	int r, rc;

	memset(&u, 0, sizeof(u));
	if ((rc = password_and_params(c, false, &pw, &pw_len, &p)) != 0)
		return rc;
	rc = 1;
	r = user_create_with_password(db, pw != NULL ? &p : NULL,
	    cli_get(c, "email"), cli_get(c, "name"), cli_has(c, "verified"), pw,
	    pw_len, &check, &u);
	if (r == PC_ERR_INVALID && pw != NULL && check.verdict != PW_OK) {
		rc = password_refused(&check);
		goto out;
	}
	if (r == PC_ERR_CONFLICT) {
		fprintf(stderr,
		    "portcullis: a user with this email already exists\n");
		goto out;
	}
	if (r != 0) {
		fprintf(stderr, "portcullis: cannot add the user: %s\n",
		    pc_strerror(r));
		goto out;
	}
	/* AU-01: admin actions are audited; the user exists either way. */
	if (cli_audit(db, c->mk, "user.created", u.id, NULL) != 0)
		goto out;
	if (cli_has(c, "json")) {
		struct user_record rec;

		if ((r = user_record_get(db, u.id, &rec)) != 0) {
			fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
			goto out;
		}
		cli_json_print(user_json(&rec), JSON_COMPACT);
		user_record_clear(&rec);
	} else {
		printf("added user %s <%s>%s\n", u.id, u.email,
		    pw != NULL ? " with a password" : " without a password");
	}
	rc = 0;
out:
	return finish(rc, pw, &u);
}

static int
set_password(struct cli_ctx *c)
{
	struct db *db = c->db;
	struct user_record u;
	struct pw_params p;
	struct pw_check check = { PW_OK, NULL };
	char *pw = NULL;
	size_t pw_len = 0;
	int r, rc;

	if (find(c, &u) != 0)
		return 1;
	if ((rc = password_and_params(c, true, &pw, &pw_len, &p)) != 0)
		goto out;
	rc = 1;
	r = user_set_password(db, &p, u.id, pw, pw_len, &check);
	if (r == PC_ERR_INVALID && check.verdict != PW_OK) {
		rc = password_refused(&check);
		goto out;
	}
	/* An operator's reset, like the web's: no browser stays a known
	 * device of the account (LG-03). */
	if (r == 0)
		r = device_cookies_revoke(db, u.id, NULL, NULL);
	if (r != 0) {
		fprintf(stderr, "portcullis: cannot set the password: %s\n",
		    pc_strerror(r));
		goto out;
	}
	if (cli_audit(db, c->mk, "user.password_set", u.id, NULL) != 0)
		goto out;
	printf("password set for %s\n", u.id);
	rc = 0;
out:
	if (pw != NULL)
		sodium_free(pw); /* zeroes */
	user_record_clear(&u);
	return rc;
}

/* AU-01: what changed, never the addresses themselves. */
static int
update(struct cli_ctx *c)
{
	struct db *db = c->db;
	struct user_record u;
	const char *name = cli_get(c, "name");
	const char *new_email = cli_get(c, "new-email");
	int verified = cli_has(c, "verified") ? 1
	    : cli_has(c, "unverified")	      ? 0
					      : -1;
	char *id;
	json_t *d;
	int r, rc = 1;

	if (find(c, &u) != 0)
		return 1;
	r = user_update(db, u.id, name, new_email, verified, clock_now());
	if (r == PC_ERR_CONFLICT) {
		fprintf(stderr,
		    "portcullis: a user with the email %s already exists\n",
		    new_email);
		goto out;
	}
	if (r != 0) {
		fprintf(stderr, "portcullis: cannot update the user: %s\n",
		    pc_strerror(r));
		goto out;
	}
	d = json_pack(
	    "{s:b, s:b}", "name", name != NULL, "email", new_email != NULL);
	if (d != NULL && verified >= 0)
		json_object_set_new(
		    d, "email_verified", json_boolean(verified));
	if (cli_audit(db, c->mk, "user.updated", u.id, d) != 0)
		goto out;
	/* As stored now (found maybe by the address it no longer has). */
	id = xstrdup(u.id);
	user_record_clear(&u);
	r = user_record_get(db, id, &u);
	free(id);
	if (r != 0) {
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
		goto out;
	}
	if (cli_has(c, "json"))
		cli_json_print(user_json(&u), JSON_INDENT(2));
	else
		printf("updated user %s <%s>%s\n", u.id, u.email,
		    u.email_verified ? "" : " (email not verified)");
	rc = 0;
out:
	user_record_clear(&u);
	return rc;
}

static int
list(struct cli_ctx *c)
{
	struct db *db = c->db;
	struct user_record *v = NULL;
	size_t n = 0;
	int r;

	if ((r = user_record_list(db, &v, &n)) != 0) {
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
		return 1;
	}
	if (cli_has(c, "json")) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, user_json(&v[i]));
		cli_json_print(a, JSON_INDENT(2));
	} else {
		printf("%-26s %-8s %-8s %-20s %s\n", "ID", "VERIFIED",
		    "DISABLED", "CREATED_AT", "EMAIL");
		for (size_t i = 0; i < n; i++) {
			char t[CLI_TIME_MAX];

			cli_time(t, v[i].created_at, false);
			printf("%-26s %-8s %-8s %-20s %s\n", v[i].id,
			    v[i].email_verified ? "yes" : "no",
			    v[i].disabled_at != 0 ? "yes" : "no", t,
			    v[i].email);
		}
	}
	user_records_free(v, n);
	return 0;
}

static int
show(struct cli_ctx *c)
{
	struct user_record u;

	if (find(c, &u) != 0)
		return 1;
	if (cli_has(c, "json"))
		cli_json_print(user_json(&u), JSON_INDENT(2));
	else
		print_user(&u);
	user_record_clear(&u);
	return 0;
}

/* disable, enable, sign-out and delete: one change, audited. */
static int
change(struct cli_ctx *c)
{
	struct db *db = c->db;
	struct user_record u;
	const char *s = c->sub->name;
	int64_t now = clock_now();
	int r;

	if (find(c, &u) != 0)
		return 1;
	if (strcmp(s, "disable") == 0) {
		if ((r = user_disable(db, u.id, now)) == 0 &&
		    (r = cli_audit(db, c->mk, "user.disabled", u.id, NULL)) ==
			0)
			printf("disabled user %s\n", u.id);
	} else if (strcmp(s, "sign-out") == 0) {
		int64_t n = 0;

		/* SS-07, RT-05: an operator ends any user's sessions and
		 * their refresh tokens, and (LG-03) the browsers they came
		 * from are no longer known devices. */
		if ((r = user_sign_out(db, u.id, NULL, now, &n, NULL)) == 0 &&
		    (r = cli_audit(db, c->mk, "session.revoke", u.id, NULL)) ==
			0)
			printf("ended %lld session%s of user %s\n",
			    (long long)n, n == 1 ? "" : "s", u.id);
	} else if (strcmp(s, "enable") == 0) {
		if ((r = user_enable(db, u.id, now)) == 0 &&
		    (r = cli_audit(db, c->mk, "user.enabled", u.id, NULL)) == 0)
			printf("enabled user %s\n", u.id);
	} else {
		if ((r = user_delete(db, u.id, now)) == 0 &&
		    (r = cli_audit(db, c->mk, "user.deleted", u.id, NULL)) == 0)
			printf("deleted user %s\n", u.id);
	}
	if (r != 0)
		fprintf(stderr, "portcullis: user %s: %s\n", s, pc_strerror(r));
	user_record_clear(&u);
	return r == 0 ? 0 : 1;
}

static const char bad_email[] = "not a valid address (one '@', a dot in the "
				"domain, no spaces, at most 254 bytes)";

/* What the tables cannot say; the order of the old parser's checks. */
static int
check(const struct cli_ctx *c)
{
	const char *s = c->sub->name, *email = cli_get(c, "email");
	const char *new_email = cli_get(c, "new-email");
	const char *name = cli_get(c, "name");
	bool add = strcmp(s, "add") == 0;

	if (!add && strcmp(s, "list") != 0 &&
	    (email == NULL) == (cli_get(c, "id") == NULL))
		return cli_usage(c, "'user %s' needs --id or --email", s);
	if (add && email != NULL && !user_email_valid(email))
		return cli_usage(c, "--email: %s", bad_email);
	if (new_email != NULL && !user_email_valid(new_email))
		return cli_usage(c, "--new-email: %s", bad_email);
	if (cli_has(c, "password-stdin") && cli_has(c, "no-password"))
		return cli_usage(
		    c, "--password-stdin and --no-password conflict");
	if (cli_has(c, "verified") && cli_has(c, "unverified"))
		return cli_usage(c, "--verified and --unverified conflict");
	if (strcmp(s, "update") == 0 && name == NULL && new_email == NULL &&
	    !cli_has(c, "verified") && !cli_has(c, "unverified"))
		return cli_usage(c,
		    "'user update' needs --name, --new-email, --verified or "
		    "--unverified");
	if (name != NULL && !user_name_valid(name))
		return cli_usage(c,
		    "--name: at most %d bytes of text without control "
		    "characters",
		    USER_NAME_MAX);
	return 0;
}

#define WHO \
	{ .name = "id", .value = "ID", .help = "the user, by id" }, \
	{ \
		.name = "email", .value = "EMAIL", \
		.help = "the user, by email (any case)" \
	}
#define JSON_OPT \
	{ \
		.name = "json", .help = "print the user as JSON" \
	}

static const struct cli_opt add_opts[] = {
	{ .name = "email",
	    .value = "EMAIL",
	    .help = "the new user's email",
	    .required = true },
	{ .name = "name", .value = "NAME", .help = "display name" },
	{ .name = "verified", .help = "the email is known to be theirs" },
	{ .name = "password-stdin",
	    .help = "read the password from the first line of stdin" },
	{ .name = "no-password", .help = "a user without a password" },
	JSON_OPT,
	{ .name = NULL },
};

static const struct cli_opt list_opts[] = {
	{ .name = "json", .help = "print the users as a JSON array" },
	{ .name = NULL },
};

static const struct cli_opt show_opts[] = { WHO, JSON_OPT, { .name = NULL } };

static const struct cli_opt update_opts[] = {
	WHO,
	{ .name = "name", .value = "NAME", .help = "new display name" },
	{ .name = "new-email",
	    .value = "EMAIL",
	    .help = "new email (not verified unless --verified)" },
	{ .name = "verified", .help = "the email is verified" },
	{ .name = "unverified", .help = "the email is not verified" },
	JSON_OPT,
	{ .name = NULL },
};

static const struct cli_opt who_opts[] = { WHO, { .name = NULL } };

static const struct cli_opt set_password_opts[] = {
	WHO,
	{ .name = "password-stdin",
	    .help = "read the password from the first line of stdin" },
	{ .name = NULL },
};

/* Reading needs the store; a change is audited, under the master key. */
static const struct cli_sub subs[] = {
	{ "add", add_opts, CLI_START_MASTERKEY, check, add },
	{ "list", list_opts, CLI_START_STORE, check, list },
	{ "show", show_opts, CLI_START_STORE, check, show },
	{ "update", update_opts, CLI_START_MASTERKEY, check, update },
	{ "disable", who_opts, CLI_START_MASTERKEY, check, change },
	{ "enable", who_opts, CLI_START_MASTERKEY, check, change },
	{ "sign-out", who_opts, CLI_START_MASTERKEY, check, change },
	{ "set-password", set_password_opts, CLI_START_MASTERKEY, check,
	    set_password },
	{ "delete", who_opts, CLI_START_MASTERKEY, check, change },
};

static const struct cli_cmd cmd = { "user", usage, subs, PC_NELEM(subs) };

int
cmd_user(int argc, char **argv)
{
	/* Issue 16: second factors (src/cli/user_mfa.c). */
	if (argc > 1 && strcmp(argv[1], "mfa") == 0)
		return cmd_user_mfa(argc - 1, argv + 1);
	return cli_main(&cmd, argc, argv);
}
