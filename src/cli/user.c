/*
 * portcullis user add | list | show | update | disable | enable |
 * set-password | delete. A password is read only from a terminal with echo
 * off (asked twice) or, with --password-stdin, from the first line of
 * standard input; never from argv. Without a terminal and without
 * --password-stdin, add needs --no-password to create a user without one
 * (a piped password is never silently dropped). Password buffers live in
 * sodium_malloc memory and are wiped after use.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
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

enum {
	OPT_EMAIL = 0x200,
	OPT_ID,
	OPT_NAME,
	OPT_VERIFIED,
	OPT_PASSWORD_STDIN,
	OPT_NO_PASSWORD,
	OPT_NEW_EMAIL,
	OPT_UNVERIFIED,
};

static const struct option opts[] = {
	CLI_COMMON_OPTS,
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "email", required_argument, NULL, OPT_EMAIL },
	{ "id", required_argument, NULL, OPT_ID },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "verified", no_argument, NULL, OPT_VERIFIED },
	{ "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
	{ "no-password", no_argument, NULL, OPT_NO_PASSWORD },
	{ "new-email", required_argument, NULL, OPT_NEW_EMAIL },
	{ "unverified", no_argument, NULL, OPT_UNVERIFIED },
	{ NULL, 0, NULL, 0 },
};

struct user_flags {
	struct cli_flags common;
	const char *email;
	const char *id;
	const char *name;
	const char *new_email;
	bool verified;
	bool unverified;
	bool password_stdin;
	bool no_password;
};

/* Which sub-command takes which of the user options. */
#define TAKES_EMAIL 0x01
#define TAKES_ID 0x02
#define TAKES_NAME 0x04
#define TAKES_VERIFIED 0x08
#define TAKES_STDIN 0x10
#define TAKES_JSON 0x20
#define TAKES_NO_PW 0x40
#define TAKES_UPDATE 0x80 /* --new-email, --unverified */
#define TAKES_WHO (TAKES_EMAIL | TAKES_ID)

struct sub {
	const char *name;
	unsigned takes;
};

static const struct sub subs[] = {
	{ "add",
	    TAKES_EMAIL | TAKES_NAME | TAKES_VERIFIED | TAKES_STDIN |
		TAKES_NO_PW | TAKES_JSON },
	{ "list", TAKES_JSON },
	{ "show", TAKES_WHO | TAKES_JSON },
	{ "update",
	    TAKES_WHO | TAKES_NAME | TAKES_VERIFIED | TAKES_UPDATE |
		TAKES_JSON },
	{ "disable", TAKES_WHO },
	{ "enable", TAKES_WHO },
	{ "sign-out", TAKES_WHO },
	{ "set-password", TAKES_WHO | TAKES_STDIN },
	{ "delete", TAKES_WHO },
};

/* Long options must be spelled out: no getopt abbreviations. */
static bool
exact(const char *tok, const char *name)
{
	size_t n = strlen(name);

	return strncmp(tok, "--", 2) == 0 && strncmp(tok + 2, name, n) == 0 &&
	    (tok[2 + n] == '\0' || tok[2 + n] == '=');
}

/* 0, 1 after --help, or 2 after a usage error. */
static int
parse(int argc, char **argv, const struct sub *sub, struct user_flags *f)
{
	int c, idx;

	memset(f, 0, sizeof(*f));
	optind = 1;
	opterr = 0;
	for (;;) {
		int prev = optind;
		unsigned need = 0;

		idx = -1;
		if ((c = getopt_long(argc, argv, "+:", opts, &idx)) == -1)
			break;
		if (idx >= 0 && !exact(argv[prev], opts[idx].name)) {
			cli_usage_error(usage, "unknown option '%.*s'",
			    (int)strcspn(argv[prev], "="), argv[prev]);
			return 2;
		}
		switch (c) {
		case CLI_OPT_CONFIG: f->common.config = optarg; break;
		case CLI_OPT_DATA_DIR: f->common.data_dir = optarg; break;
		case CLI_OPT_STORE_URL: f->common.store_url = optarg; break;
		case CLI_OPT_MODE: f->common.mode = optarg; break;
		case CLI_OPT_HELP: f->common.help = true; break;
		case CLI_OPT_JSON:
			need = TAKES_JSON;
			f->common.json = true;
			break;
		case OPT_EMAIL:
			need = TAKES_EMAIL;
			f->email = optarg;
			break;
		case OPT_ID:
			need = TAKES_ID;
			f->id = optarg;
			break;
		case OPT_NAME:
			need = TAKES_NAME;
			f->name = optarg;
			break;
		case OPT_VERIFIED:
			need = TAKES_VERIFIED;
			f->verified = true;
			break;
		case OPT_PASSWORD_STDIN:
			need = TAKES_STDIN;
			f->password_stdin = true;
			break;
		case OPT_NO_PASSWORD:
			need = TAKES_NO_PW;
			f->no_password = true;
			break;
		case OPT_NEW_EMAIL:
			need = TAKES_UPDATE;
			f->new_email = optarg;
			break;
		case OPT_UNVERIFIED:
			need = TAKES_UPDATE;
			f->unverified = true;
			break;
		case ':':
			cli_usage_error(
			    usage, "option %s needs a value", argv[prev]);
			return 2;
		default:
			/* Only the name: a value may be a secret. */
			cli_usage_error(usage, "unknown option '%.*s'",
			    (int)strcspn(argv[prev], "="), argv[prev]);
			return 2;
		}
		if ((sub->takes & need) != need) {
			cli_usage_error(usage, "'user %s' does not take %s",
			    sub->name, argv[prev]);
			return 2;
		}
	}
	if (f->common.help) {
		fputs(usage, stdout);
		return 1;
	}
	if (optind < argc) {
		/* Not echoed: it may be a password typed by mistake. */
		cli_usage_error(usage,
		    "unexpected argument (a password is "
		    "never taken as an argument)");
		return 2;
	}
	if (strcmp(sub->name, "add") == 0 && f->email == NULL) {
		cli_usage_error(usage, "'user add' needs --email");
		return 2;
	}
	if ((sub->takes & TAKES_ID) != 0 &&
	    (f->email == NULL) == (f->id == NULL)) {
		cli_usage_error(
		    usage, "'user %s' needs --id or --email", sub->name);
		return 2;
	}
	if (f->email != NULL && strcmp(sub->name, "add") == 0 &&
	    !user_email_valid(f->email)) {
		cli_usage_error(usage,
		    "--email: not a valid address (one '@', a dot in the "
		    "domain, no spaces, at most 254 bytes)");
		return 2;
	}
	if (f->new_email != NULL && !user_email_valid(f->new_email)) {
		cli_usage_error(usage,
		    "--new-email: not a valid address (one '@', a dot in the "
		    "domain, no spaces, at most 254 bytes)");
		return 2;
	}
	if (f->password_stdin && f->no_password) {
		cli_usage_error(
		    usage, "--password-stdin and --no-password conflict");
		return 2;
	}
	if (f->verified && f->unverified) {
		cli_usage_error(usage, "--verified and --unverified conflict");
		return 2;
	}
	if (strcmp(sub->name, "update") == 0 && f->name == NULL &&
	    f->new_email == NULL && !f->verified && !f->unverified) {
		cli_usage_error(usage,
		    "'user update' needs --name, --new-email, --verified or "
		    "--unverified");
		return 2;
	}
	if (f->name != NULL && !user_name_valid(f->name)) {
		cli_usage_error(usage,
		    "--name: at most %d bytes of text without control "
		    "characters",
		    USER_NAME_MAX);
		return 2;
	}
	return 0;
}

/*
 * A password of at most PW_MAX_BYTES + 1 bytes (one more than allowed, so
 * the policy can say "too long"), in sodium_malloc memory.
 */
#define PW_BUF (PW_MAX_BYTES + 2)

/* Reads one line from fd without stdio buffering; the newline is dropped. */
static int
read_line(int fd, char *buf, size_t *len)
{
	size_t n = 0;
	bool any = false;

	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return PC_ERR_IO;
		if (r == 0)
			break;
		any = true;
		if (ch == '\n')
			break;
		if (n < PW_BUF - 1)
			buf[n++] = ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return any ? 0 : PC_ERR_NOT_FOUND;
}

/* The terminal settings to put back if a signal ends us mid-prompt. */
static struct termios saved_tty;

static void
restore_tty(int sig)
{
	/* Both are async-signal-safe. */
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
}

static int
prompt(const char *text, char *buf, size_t *len)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa, old_sa[PC_NELEM(sigs)];
	struct termios quiet;
	int r;

	if (tcgetattr(STDIN_FILENO, &saved_tty) != 0)
		return PC_ERR_IO;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_tty;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < PC_NELEM(sigs); i++)
		(void)sigaction(sigs[i], &sa, &old_sa[i]);
	quiet = saved_tty;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	/* Echo off first (typeahead is flushed), then the prompt. */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
		r = PC_ERR_IO;
		goto out;
	}
	fputs(text, stderr);
	fflush(stderr);
	r = read_line(STDIN_FILENO, buf, len);
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	fputc('\n', stderr);
out:
	for (size_t i = 0; i < PC_NELEM(sigs); i++)
		(void)sigaction(sigs[i], &old_sa[i], NULL);
	return r;
}

/*
 * Gets the password: standard input with --password-stdin, else the
 * terminal (twice). *pw is NULL when none was given (add on a terminal
 * with an empty answer, or no terminal). Returns 0 or an exit code.
 */
static int
get_password(const struct user_flags *f, bool required, char **pw, size_t *len)
{
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	int rc = 1;

	*pw = NULL;
	*len = 0;
	if ((a = sodium_malloc(PW_BUF)) == NULL)
		goto out;
	if (f->password_stdin) {
		if (read_line(STDIN_FILENO, a, &alen) != 0) {
			fprintf(stderr,
			    "portcullis: no password on standard "
			    "input\n");
			goto out;
		}
	} else if (isatty(STDIN_FILENO)) {
		if ((b = sodium_malloc(PW_BUF)) == NULL ||
		    prompt("New password: ", a, &alen) != 0)
			goto out;
		if (alen == 0 && !required) {
			rc = 0; /* no password credential */
			goto out;
		}
		if (prompt("Repeat password: ", b, &blen) != 0)
			goto out;
		if (alen != blen || sodium_memcmp(a, b, alen) != 0) {
			fprintf(stderr, "portcullis: the passwords differ\n");
			goto out;
		}
	} else if (!required && f->no_password) {
		rc = 0; /* asked for: the account gets no password */
		goto out;
	} else {
		/* A password piped in without --password-stdin would be
		 * ignored and the account created without one. */
		fprintf(stderr,
		    "portcullis: standard input is not a terminal: use "
		    "--password-stdin%s\n",
		    required ? ""
			     : ", or --no-password for a user without a "
			       "password");
		rc = 2;
		goto out;
	}
	*pw = a;
	*len = alen;
	a = NULL;
	rc = 0;
out:
	if (a != NULL)
		sodium_free(a); /* zeroes */
	if (b != NULL)
		sodium_free(b);
	return rc;
}

static void
iso(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		snprintf(out, n, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
user_json(struct db *db, const struct store_user *u)
{
	char *phc = NULL;
	bool has_pw = store_password_get(db, u->id, &phc) == 0;
	json_t *o;

	if (phc != NULL) {
		sodium_memzero(phc, strlen(phc));
		free(phc);
	}
	o = json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:b}", "id", u->id,
	    "email", u->email, "email_verified", u->email_verified, "name",
	    u->name, "created_at", (json_int_t)u->created_at, "updated_at",
	    (json_int_t)u->updated_at, "has_password", has_pw);
	if (o != NULL)
		json_object_set_new(o, "disabled_at",
		    u->disabled_at != 0 ? json_integer(u->disabled_at)
					: json_null());
	return o;
}

static void
print_json(json_t *o, size_t flags)
{
	char *s = o != NULL ? json_dumps(o, flags) : NULL;

	printf("%s\n", s != NULL ? s : "null");
	free(s);
	json_decref(o);
}

static void
print_user(const struct store_user *u, bool has_pw)
{
	char c[32], d[32];

	iso(u->created_at, c, sizeof(c));
	iso(u->disabled_at, d, sizeof(d));
	printf("id:             %s\n"
	       "email:          %s\n"
	       "email_verified: %s\n"
	       "name:           %s\n"
	       "created_at:     %s\n"
	       "disabled_at:    %s\n"
	       "password:       %s\n",
	    u->id, u->email, u->email_verified ? "yes" : "no", u->name, c, d,
	    has_pw ? "set" : "none");
}

static int
find(struct db *db, const struct user_flags *f, struct store_user *u)
{
	int r = f->id != NULL ? store_user_get(db, f->id, u)
			      : store_user_get_by_email(db, f->email, u);

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

static int
add(struct db *db, const struct masterkey *mk, const struct config *cfg,
    const struct user_flags *f)
{
	struct store_user u;
	struct pw_params p;
	struct pw_check check = { PW_OK, NULL };
	char err[512];
	char *pw = NULL;
	size_t pw_len = 0;
	int r, rc;

	memset(&u, 0, sizeof(u));
	if ((rc = get_password(f, false, &pw, &pw_len)) != 0)
		return rc;
	rc = 1;
	if (pw != NULL &&
	    pw_params_from_config(cfg, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		goto out;
	}
	r = user_create_with_password(db, pw != NULL ? &p : NULL, f->email,
	    f->name, f->verified, pw, pw_len, &check, &u);
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
	if (cli_audit(db, mk, "user.created", u.id, NULL) != 0)
		goto out;
	if (f->common.json)
		print_json(user_json(db, &u), JSON_COMPACT);
	else
		printf("added user %s <%s>%s\n", u.id, u.email,
		    pw != NULL ? " with a password" : " without a password");
	rc = 0;
out:
	if (pw != NULL)
		sodium_free(pw);
	store_user_clear(&u);
	return rc;
}

static int
set_password(struct db *db, const struct masterkey *mk,
    const struct config *cfg, const struct user_flags *f)
{
	struct store_user u;
	struct pw_params p;
	struct pw_check check = { PW_OK, NULL };
	char err[512];
	char *pw = NULL;
	size_t pw_len = 0;
	int r, rc;

	if (find(db, f, &u) != 0)
		return 1;
	if ((rc = get_password(f, true, &pw, &pw_len)) != 0)
		goto out;
	rc = 1;
	if (pw_params_from_config(cfg, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		goto out;
	}
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
	if (cli_audit(db, mk, "user.password_set", u.id, NULL) != 0)
		goto out;
	printf("password set for %s\n", u.id);
	rc = 0;
out:
	if (pw != NULL)
		sodium_free(pw);
	store_user_clear(&u);
	return rc;
}

/* AU-01: what changed, never the addresses themselves. */
static int
update(struct db *db, const struct masterkey *mk, const struct user_flags *f)
{
	struct store_user u;
	int verified = f->verified ? 1 : f->unverified ? 0 : -1;
	char *id;
	json_t *d;
	int r, rc = 1;

	if (find(db, f, &u) != 0)
		return 1;
	r = store_user_update(
	    db, u.id, f->name, f->new_email, verified, clock_now());
	if (r == PC_ERR_CONFLICT) {
		fprintf(stderr,
		    "portcullis: a user with the email %s already exists\n",
		    f->new_email);
		goto out;
	}
	if (r != 0) {
		fprintf(stderr, "portcullis: cannot update the user: %s\n",
		    pc_strerror(r));
		goto out;
	}
	d = json_pack("{s:b, s:b}", "name", f->name != NULL, "email",
	    f->new_email != NULL);
	if (d != NULL && verified >= 0)
		json_object_set_new(
		    d, "email_verified", json_boolean(verified));
	r = cli_audit(db, mk, "user.updated", u.id, d);
	json_decref(d);
	if (r != 0)
		goto out;
	/* As stored now (found maybe by the address it no longer has). */
	id = xstrdup(u.id);
	store_user_clear(&u);
	r = store_user_get(db, id, &u);
	free(id);
	if (r != 0) {
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
		goto out;
	}
	if (f->common.json)
		print_json(user_json(db, &u), JSON_INDENT(2));
	else
		printf("updated user %s <%s>%s\n", u.id, u.email,
		    u.email_verified ? "" : " (email not verified)");
	rc = 0;
out:
	store_user_clear(&u);
	return rc;
}

static int
list(struct db *db, bool as_json)
{
	struct store_user *v = NULL;
	size_t n = 0;
	int r;

	if ((r = store_users_list(db, &v, &n)) != 0) {
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
		return 1;
	}
	if (as_json) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, user_json(db, &v[i]));
		print_json(a, JSON_INDENT(2));
	} else {
		printf("%-26s %-8s %-8s %-20s %s\n", "ID", "VERIFIED",
		    "DISABLED", "CREATED_AT", "EMAIL");
		for (size_t i = 0; i < n; i++) {
			char c[32];

			iso(v[i].created_at, c, sizeof(c));
			printf("%-26s %-8s %-8s %-20s %s\n", v[i].id,
			    v[i].email_verified ? "yes" : "no",
			    v[i].disabled_at != 0 ? "yes" : "no", c,
			    v[i].email);
		}
	}
	store_users_free(v, n);
	return 0;
}

static int
run(struct db *db, const struct masterkey *mk, const struct config *cfg,
    const struct sub *sub, const struct user_flags *f)
{
	struct store_user u;
	const char *s = sub->name;
	int64_t now = clock_now();
	int r;

	if (strcmp(s, "add") == 0)
		return add(db, mk, cfg, f);
	if (strcmp(s, "list") == 0)
		return list(db, f->common.json);
	if (strcmp(s, "set-password") == 0)
		return set_password(db, mk, cfg, f);
	if (strcmp(s, "update") == 0)
		return update(db, mk, f);
	if (find(db, f, &u) != 0)
		return 1;
	if (strcmp(s, "show") == 0) {
		if (f->common.json) {
			print_json(user_json(db, &u), JSON_INDENT(2));
		} else {
			char *phc = NULL;
			bool has_pw = store_password_get(db, u.id, &phc) == 0;

			if (phc != NULL) {
				sodium_memzero(phc, strlen(phc));
				free(phc);
			}
			print_user(&u, has_pw);
		}
		r = 0;
	} else if (strcmp(s, "disable") == 0) {
		if ((r = user_disable(db, u.id, now)) == 0 &&
		    (r = cli_audit(db, mk, "user.disabled", u.id, NULL)) == 0)
			printf("disabled user %s\n", u.id);
	} else if (strcmp(s, "sign-out") == 0) {
		int64_t n = 0;

		/* SS-07: an operator ends any user's sessions, and (LG-03)
		 * the browsers they came from are no longer known devices. */
		if ((r = store_sessions_delete_user(db, u.id, NULL, &n)) == 0 &&
		    (r = device_cookies_revoke(db, u.id, NULL, NULL)) == 0 &&
		    (r = cli_audit(db, mk, "session.revoke", u.id, NULL)) == 0)
			printf("ended %lld session%s of user %s\n",
			    (long long)n, n == 1 ? "" : "s", u.id);
	} else if (strcmp(s, "enable") == 0) {
		if ((r = user_enable(db, u.id, now)) == 0 &&
		    (r = cli_audit(db, mk, "user.enabled", u.id, NULL)) == 0)
			printf("enabled user %s\n", u.id);
	} else {
		if ((r = store_user_delete(db, u.id, now)) == 0 &&
		    (r = cli_audit(db, mk, "user.deleted", u.id, NULL)) == 0)
			printf("deleted user %s\n", u.id);
	}
	if (r != 0)
		fprintf(stderr, "portcullis: user %s: %s\n", s, pc_strerror(r));
	store_user_clear(&u);
	return r == 0 ? 0 : 1;
}

int
cmd_user(int argc, char **argv)
{
	const struct sub *sub = NULL;
	struct user_flags f;
	struct config cfg;
	struct db *db = NULL;
	struct masterkey *mk = NULL;
	int r, rc = 1;

	if (argc >= 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	for (size_t i = 0; argc >= 2 && i < PC_NELEM(subs); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			sub = &subs[i];
	if (sub == NULL) {
		cli_usage_error(usage,
		    "expected 'user add', 'list', 'show', 'update', "
		    "'disable', 'enable', 'sign-out', 'set-password' or "
		    "'delete'");
		return 2;
	}
	if ((r = parse(argc - 1, argv + 1, sub, &f)) != 0)
		return r == 1 ? 0 : r;
	if (cli_config(&f.common, &cfg) != 0)
		return 1;
	if (crypto_init() != 0 || cli_open_store(&cfg, true, &db) != 0)
		goto out;
	/* Changes are audited, and the audit key comes from the master key. */
	if (strcmp(sub->name, "list") != 0 && strcmp(sub->name, "show") != 0 &&
	    cli_open_masterkey(&cfg, db, &mk) != 0)
		goto out;
	rc = run(db, mk, &cfg, sub, &f);
out:
	masterkey_free(mk);
	db_close(db);
	config_free(&cfg);
	return rc;
}
