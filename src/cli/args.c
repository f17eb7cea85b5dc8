/*
 * The one command-line parser: every command is a table of sub-commands
 * and options (cli.h), and cli_main() parses, checks, starts up, runs and
 * cleans up for all of them, so each command's file holds only what it
 * does. Written by hand instead of on getopt_long, whose abbreviations
 * ("--iss" for "--issuer") cannot be turned off and whose errors would
 * show the whole "--opt=value" token: a value may be a secret, so an
 * error here names the option and never echoes a value or a stray
 * argument.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "util/util.h"

/* Every sub-command takes these on top of its own. */
static const struct cli_opt common_opts[] = {
	{ .name = "config",
	    .override = true,
	    .value = "FILE",
	    .help = "config file (PORTCULLIS_CONFIG)" },
	{ .name = "data-dir",
	    .override = true,
	    .value = "DIR",
	    .help = "data directory (PORTCULLIS_DATA_DIR)",
	    .setting = "data_dir" },
	{ .name = "store-url",
	    .override = true,
	    .value = "URL",
	    .help = "store (PORTCULLIS_STORE_URL)",
	    .setting = "store_url" },
	{ .name = "mode",
	    .override = true,
	    .value = "MODE",
	    .help = "production (default) or development",
	    .setting = "mode" },
	{ .name = "help", .help = "this help" },
	{ .name = NULL },
};

/* serve and check-config: the settings a server is most often run with. */
const struct cli_opt cli_server_opts[] = {
	{ .name = "issuer",
	    .value = "URL",
	    .help = "the issuer; every URL the server emits starts with it",
	    .setting = "issuer",
	    .override = true },
	{ .name = "listen",
	    .value = "HOST:PORT",
	    .help = "address to listen on",
	    .setting = "listen",
	    .override = true },
	{ .name = NULL },
};

/* Longest unknown option name shown in an error. */
#define NAME_SHOWN_MAX 32

int
cli_usage(const struct cli_ctx *c, const char *fmt, ...)
{
	va_list ap;

	fputs("portcullis: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n%s", c->cmd->usage);
	return 2;
}

static const struct cli_opt *
opt_in(const struct cli_opt *v, const char *name, size_t len)
{
	for (; v != NULL && v->name != NULL; v++)
		if (strlen(v->name) == len && memcmp(v->name, name, len) == 0)
			return v;
	return NULL;
}

/* The sub-command's option, or a common one: exact names only. */
static const struct cli_opt *
opt_find(const struct cli_sub *sub, const char *name, size_t len)
{
	const struct cli_opt *o = opt_in(sub->opts, name, len);

	return o != NULL ? o : opt_in(common_opts, name, len);
}

/* "--name" or "-n", for messages and help. */
static const char *
dashes(const struct cli_opt *o)
{
	return o->name[1] == '\0' ? "-" : "--";
}

/*
 * An unknown option name fit to print: what our option names are made of
 * (a lowercase letter, then lowercase letters, digits and '-'), not too
 * long. Anything else, a value pasted where a name goes, is not echoed.
 */
static bool
name_printable(const char *name, size_t len)
{
	if (len == 0 || len > NAME_SHOWN_MAX || name[0] < 'a' || name[0] > 'z')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			ch == '-'))
			return false;
	}
	return true;
}

/*
 * An option this sub-command does not have: where it belongs if another
 * sub-command of the command takes it ("--alg is for 'key rotate'"),
 * else unknown. Always 2.
 */
static int
not_here(
    const struct cli_ctx *c, const char *dash, const char *name, size_t len)
{
	const struct cli_sub *where[16];
	size_t n = 0;

	if (!name_printable(name, len))
		return cli_usage(c,
		    "unknown option (not shown: it may hold a "
		    "value)");
	for (size_t i = 0; i < c->cmd->n_subs && n < PC_NELEM(where); i++)
		if (&c->cmd->subs[i] != c->sub &&
		    opt_in(c->cmd->subs[i].opts, name, len) != NULL)
			where[n++] = &c->cmd->subs[i];
	if (n == 0)
		return cli_usage(
		    c, "unknown option '%s%.*s'", dash, (int)len, name);
	fprintf(stderr, "portcullis: %s%.*s is for ", dash, (int)len, name);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s'%s %s'",
		    i == 0	     ? ""
			: i == n - 1 ? " or "
				     : ", ",
		    c->cmd->name, where[i]->name);
	fprintf(stderr, "\n\n%s", c->cmd->usage);
	return 2;
}

static size_t
count(const struct cli_ctx *c, const struct cli_opt *o)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_hits; i++)
		n += c->hits[i].opt == o;
	return n;
}

/* One option at argv[*i]; advances *i past it (and its value). 0 or 2. */
static int
parse_one(struct cli_ctx *c, int argc, char **argv, int *i)
{
	const char *tok = argv[*i], *name, *dash, *inline_v = NULL, *v = NULL;
	const struct cli_opt *o;
	size_t len, max;

	if (tok[1] == '-') {
		dash = "--";
		name = tok + 2;
		len = strcspn(name, "=");
		if (name[len] == '=')
			inline_v = name + len + 1;
		/* "-n" is short only: "--n" is not it. */
		o = len > 1 ? opt_find(c->sub, name, len) : NULL;
	} else {
		dash = "-";
		name = tok + 1;
		len = 1;
		if (name[1] != '\0')
			inline_v = name + 1;
		o = opt_find(c->sub, name, len);
	}
	if (o != NULL && o->operand)
		o = NULL; /* a bare argument, never --name */
	if (o == NULL)
		return not_here(c, dash, name, len);
	if (o->value == NULL && inline_v != NULL)
		return cli_usage(
		    c, "option %s%s takes no value", dashes(o), o->name);
	if (o->value != NULL) {
		if (inline_v != NULL)
			v = inline_v;
		else if (*i + 1 < argc)
			v = argv[++*i];
		else
			return cli_usage(
			    c, "option %s%s needs a value", dashes(o), o->name);
	}
	max = o->max > 0 ? o->max : 1;
	if (o->value != NULL && !o->override && count(c, o) >= max) {
		if (max == 1)
			return cli_usage(
			    c, "%s%s given twice", dashes(o), o->name);
		return cli_usage(
		    c, "at most %zu %s%s", max, dashes(o), o->name);
	}
	c->hits[c->n_hits].opt = o;
	c->hits[c->n_hits].value = v;
	c->n_hits++;
	++*i;
	return 0;
}

/* A bare argument into the sub-command's operand, if it has one not
 * given yet; -1 otherwise. */
static int
take_operand(struct cli_ctx *c, const char *tok)
{
	for (const struct cli_opt *o = c->sub->opts; o != NULL && o->name;
	     o++) {
		if (!o->operand || count(c, o) > 0)
			continue;
		c->hits[c->n_hits].opt = o;
		c->hits[c->n_hits].value = tok;
		c->n_hits++;
		return 0;
	}
	return -1;
}

/* 0, 1 when --help was given, or 2 after a usage error. */
static int
parse(struct cli_ctx *c, int argc, char **argv)
{
	int i = 1;

	/* At most one hit per argument. */
	c->hits = xmalloc((size_t)argc * sizeof(*c->hits));
	c->n_hits = 0;
	while (i < argc) {
		const char *tok = argv[i];
		int r;

		if (strcmp(tok, "--") == 0) {
			i++;
			break;
		}
		if (tok[0] != '-' || tok[1] == '\0') {
			if (take_operand(c, tok) != 0)
				break;
			i++;
			continue;
		}
		if ((r = parse_one(c, argc, argv, &i)) != 0)
			return r;
	}
	if (cli_has(c, "help"))
		return 1;
	/* Not echoed: it may be a password or a value typed by mistake. */
	if (i < argc)
		return cli_usage(c,
		    "unexpected argument (arguments are not shown: one may be "
		    "a secret; a password is never taken as an argument)");
	for (const struct cli_opt *o = c->sub->opts; o != NULL && o->name; o++)
		if (o->required && count(c, o) == 0)
			return c->sub->name != NULL
			    ? cli_usage(c, "'%s %s' needs %s%s", c->cmd->name,
				  c->sub->name, dashes(o), o->name)
			    : cli_usage(c, "'%s' needs %s%s", c->cmd->name,
				  dashes(o), o->name);
	return c->sub->check != NULL ? c->sub->check(c) : 0;
}

/* A name no sub-command of the command has is a bug in the caller. */
static const struct cli_opt *
lookup(const struct cli_ctx *c, const char *name)
{
	size_t len = strlen(name);
	const struct cli_opt *o = opt_find(c->sub, name, len);

	if (o != NULL)
		return o;
	for (size_t i = 0; i < c->cmd->n_subs; i++)
		if (opt_in(c->cmd->subs[i].opts, name, len) != NULL)
			return NULL;
	fprintf(stderr, "portcullis: bug: no option --%s in '%s'\n", name,
	    c->cmd->name);
	abort();
}

const char *
cli_get(const struct cli_ctx *c, const char *name)
{
	const struct cli_opt *o = lookup(c, name);
	const char *v = NULL;

	for (size_t i = 0; o != NULL && i < c->n_hits; i++)
		if (c->hits[i].opt == o)
			v = c->hits[i].value;
	return v;
}

bool
cli_has(const struct cli_ctx *c, const char *name)
{
	const struct cli_opt *o = lookup(c, name);

	return o != NULL && count(c, o) > 0;
}

size_t
cli_all(const struct cli_ctx *c, const char *name, const char **out, size_t max)
{
	const struct cli_opt *o = lookup(c, name);
	size_t n = 0;

	for (size_t i = 0; o != NULL && i < c->n_hits && n < max; i++)
		if (c->hits[i].opt == o)
			out[n++] = c->hits[i].value;
	return n;
}

static void
help_opts(const struct cli_opt *o)
{
	for (; o != NULL && o->name != NULL; o++) {
		char left[64];
		int n = o->operand
		    ? snprintf(left, sizeof(left), "[%s]", o->value)
		    : snprintf(left, sizeof(left), "%s%s%s%s", dashes(o),
			  o->name, o->value != NULL ? " " : "",
			  o->value != NULL ? o->value : "");

		if (n >= 26)
			printf("  %s\n  %-26s %s\n", left, "", o->help);
		else
			printf("  %-26s %s\n", left, o->help);
	}
}

/* The usage, then (for one sub-command) the options from its table. */
static void
help(const struct cli_cmd *cmd, const struct cli_sub *sub)
{
	fputs(cmd->usage, stdout);
	if (sub == NULL) {
		printf("\n'portcullis %s SUB-COMMAND --help' lists the options "
		       "of one.\n",
		    cmd->name);
		return;
	}
	if (sub->name != NULL)
		printf("\noptions of '%s %s':\n", cmd->name, sub->name);
	else
		printf("\noptions:\n");
	help_opts(sub->opts);
	help_opts(common_opts);
}

/* "expected 'key list' or 'key rotate'". Always 2. */
static int
no_sub(const struct cli_ctx *c)
{
	const struct cli_cmd *cmd = c->cmd;

	fprintf(stderr, "portcullis: expected ");
	for (size_t i = 0; i < cmd->n_subs; i++)
		fprintf(stderr, "%s'%s %s'",
		    i == 0		       ? ""
			: i == cmd->n_subs - 1 ? " or "
					       : ", ",
		    cmd->name, cmd->subs[i].name);
	fprintf(stderr, "\n\n%s", cmd->usage);
	return 2;
}

int
cli_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_ctx c;
	int r, rc = 1;

	memset(&c, 0, sizeof(c));
	c.cmd = cmd;
	if (cmd->n_subs == 1 && cmd->subs[0].name == NULL) {
		c.sub = &cmd->subs[0];
	} else {
		if (argc >= 2 &&
		    (strcmp(argv[1], "--help") == 0 ||
			strcmp(argv[1], "-h") == 0)) {
			help(cmd, NULL);
			return 0;
		}
		for (size_t i = 0; argc >= 2 && i < cmd->n_subs; i++)
			if (strcmp(argv[1], cmd->subs[i].name) == 0)
				c.sub = &cmd->subs[i];
		if (c.sub == NULL)
			return no_sub(&c);
		argc--;
		argv++;
	}
	if ((r = parse(&c, argc, argv)) != 0) {
		if (r == 1)
			help(cmd, c.sub);
		free(c.hits);
		return r == 1 ? 0 : r;
	}
	if (cli_config(&c, &c.cfg) != 0) {
		free(c.hits);
		return 1;
	}
	c.have_cfg = true;
	if (crypto_init() != 0)
		fprintf(stderr, "portcullis: cannot initialise libsodium\n");
	else if (cli_start(&c, c.sub->start) == 0)
		rc = c.sub->run(&c);
	cli_stop(&c);
	free(c.hits);
	return rc;
}
