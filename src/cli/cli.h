/*
 * cli: one file per command; main.c dispatches.
 *
 * Every command is a table (struct cli_cmd) of sub-commands (struct
 * cli_sub), each with its options (struct cli_opt) and a handler, run by
 * cli_main() (src/cli/args.c). The parser has one set of rules for all:
 * options are spelled out in full (no abbreviations), "--opt=value" and
 * "--opt value" are the same, and an error names the option but never
 * echoes a value or a stray argument (either may be a secret). An option
 * with a value given twice is refused (which one was meant?) unless it is
 * a list (.max) or overrides like a configuration layer (.override: the
 * options that set a setting, where the last one wins); a switch may be
 * repeated. Usage errors exit 2.
 */
#ifndef PC_CLI_H
#define PC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/config.h"

/*
 * One option. name "data-dir" is --data-dir; a one-letter name ("n") is
 * the short option -n. value names the value in help ("DIR"); NULL makes
 * the option a switch, which refuses "--opt=value". The tables end with
 * an entry whose name is NULL.
 */
struct cli_opt {
	const char *name;
	const char *value;
	const char *help;
	unsigned max;	     /* a list of at most max values; 0: one */
	bool override;	     /* given again, the last one wins */
	bool required;	     /* "'client show' needs --id" */
	const char *setting; /* the configuration setting it sets, if any */
	/* Not an option but the sub-command's one bare argument ("-" too):
	 * "api-key revoke-leaked FILE". Read with cli_get(c, name). */
	bool operand;
};

/* --issuer and --listen, the options of serve and check-config. */
extern const struct cli_opt cli_server_opts[];

struct cli_ctx;

/* What cli_main opens for a sub-command before its handler runs. */
enum {
	CLI_START_STORE = 0x1,	   /* the store, migrated (cli_open_store) */
	CLI_START_MASTERKEY = 0x2, /* and the master key, proven against it */
	CLI_START_SIGNER = 0x4,	   /* and the signing keys (cli_signer_open) */
};

/*
 * A sub-command. name is NULL for a command without sub-commands (serve).
 * check adds usage rules the table cannot say (one of two options, a
 * value's form): 0, or 2 after cli_usage(). run returns the exit code.
 */
struct cli_sub {
	const char *name;
	const struct cli_opt *opts;
	unsigned start;
	int (*check)(const struct cli_ctx *c);
	int (*run)(struct cli_ctx *c);
};

struct cli_cmd {
	const char *name;  /* "client" */
	const char *usage; /* synopsis and description, shown on errors */
	const struct cli_sub *subs;
	size_t n_subs;
};

/* One option as given. */
struct cli_hit {
	const struct cli_opt *opt;
	const char *value; /* NULL for a switch */
};

/* What a handler gets: the options and what cli_main opened for it. */
struct cli_ctx {
	const struct cli_cmd *cmd;
	const struct cli_sub *sub;
	struct cli_hit *hits;
	size_t n_hits;
	struct config cfg;
	bool have_cfg;
	struct db *db;
	struct masterkey *mk;
	struct signer *signer;
};

/*
 * Runs a command: argv[0] is the command's name, argv[1] its sub-command
 * (for a command that has them), then the options. Parses them, prints
 * help for --help, applies the checks, loads the configuration
 * (cli_config), opens what sub->start asks for, runs the handler and
 * closes everything. Returns the exit status: 0, 1 (the command failed),
 * 2 (a usage error).
 */
int cli_main(const struct cli_cmd *cmd, int argc, char **argv);

/*
 * The options given. cli_get: the value (the last one for a repeatable
 * option), or NULL when not given. cli_has: given at all. cli_all: up to
 * max values of a repeatable option, in order; returns how many. Asking
 * for an option no sub-command of the command has is a programming error
 * and aborts.
 */
const char *cli_get(const struct cli_ctx *c, const char *name);
bool cli_has(const struct cli_ctx *c, const char *name);
size_t cli_all(
    const struct cli_ctx *c, const char *name, const char **out, size_t max);
/* Prints "portcullis: MESSAGE" and the usage to stderr; returns 2. */
int cli_usage(const struct cli_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Output shared by every command (src/cli/print.c). Times are UTC
 * ISO 8601 ("2026-12-05T15:19:36Z", with ".123" for milliseconds); 0, a
 * time that was never set, is "-" in text and null in JSON.
 */
#define CLI_TIME_MAX 32
const char *cli_time(char out[CLI_TIME_MAX], int64_t t, bool ms);
json_t *cli_json_time(int64_t t);
/* Prints o (consumed) on one line of stdout; "null" when o is NULL. */
void cli_json_print(json_t *o, size_t flags);
/*
 * The same, with "key": secret spliced in as o's first member, so no
 * library copy of the secret outlives the call unwiped. The secret must
 * need no JSON escaping (generated secrets are base64url).
 */
void cli_json_print_secret(
    json_t *o, size_t flags, const char *key, const char *secret);

/*
 * Start-up (src/cli/common.c). cli_config: defaults < config file (the
 * --config option or PORTCULLIS_CONFIG) < PORTCULLIS_* < the options
 * with a setting; then validated. On failure nothing is left to free.
 */
int cli_config(const struct cli_ctx *c, struct config *cfg);
/* Creates data_dir (0700) when missing. */
int cli_data_dir(const struct config *cfg);

struct db;
struct masterkey;
struct signer;
/*
 * Opens an existing store, applying migrations if asked. A store that is
 * not there (no SQLite file; a database without a schema) is refused with
 * a message naming where it was looked for: PC_ERR_NOT_FOUND.
 */
int cli_open_store(const struct config *cfg, bool migrate, struct db **out);
/* The same, creating data_dir and the store when missing (serve, migrate). */
int cli_create_store(const struct config *cfg, bool migrate, struct db **out);
/* An existing store, not migrated; PC_ERR_NOT_FOUND, silently, if none. */
int cli_peek_store(const struct config *cfg, struct db **out);
/*
 * Loads the master key; with db, proves it against the store first
 * (masterkey_prove, recording a check row in a store without one) and
 * refuses, printing why, when it does not match. Every command that writes
 * passes its db.
 */
int cli_open_masterkey(
    const struct config *cfg, struct db *db, struct masterkey **out);
/*
 * The start-up of every command that works on a store: what `start`
 * (CLI_START_*) asks for, into c->db, c->mk and c->signer; each step
 * says on stderr why it failed. cli_stop closes what is open.
 */
int cli_start(struct cli_ctx *c, unsigned start);
void cli_stop(struct cli_ctx *c);

int cmd_serve(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_master_key(int argc, char **argv);
int cmd_user(int argc, char **argv);
/* user mfa list|reset (src/cli/user_mfa.c; issue 16). */
int cmd_user_mfa(int argc, char **argv);
int cmd_client(int argc, char **argv);
/* client registration-token add|list|revoke (src/cli/client_reg.c). */
int cmd_client_registration_token(int argc, char **argv);
int cmd_audit(int argc, char **argv);
/* audit prune | export, audit verify --file (src/cli/audit_retain.c;
 * issue 17 item 7). */
int cli_audit_prune(struct cli_ctx *c);
int cli_audit_export_check(const struct cli_ctx *c);
int cli_audit_export(struct cli_ctx *c);
int cli_audit_verify_file(struct cli_ctx *c, const char *path);
/* The --since / --until options of export and query into [since, until):
 * unbounded where not given; 0, or PC_ERR_INVALID with *why the usage
 * message. */
int cli_audit_window(
    const struct cli_ctx *c, int64_t *since, int64_t *until, const char **why);
int cmd_service_account(int argc, char **argv);
int cmd_group(int argc, char **argv);
/* forward-auth set|remove|list (src/cli/fwdauth.c, issue 17). */
int cmd_forward_auth(int argc, char **argv);
int cmd_resource(int argc, char **argv);
int cmd_api_key(int argc, char **argv);
/* api-key revoke-leaked (src/cli/api_key_leaked.c). */
int cli_api_key_revoke_leaked(struct cli_ctx *c);
int cmd_federation(int argc, char **argv);
int cmd_access(int argc, char **argv);
int cmd_agent(int argc, char **argv);
/* admin routes|scopes|resource|init (src/cli/admin.c; issue 17). */
int cmd_admin(int argc, char **argv);

/*
 * Audit log (src/cli/audit.c). cli_audit writes one "success" event with
 * actor "cli"; it takes details (json_decref'd, NULL allowed). cli_signer_open is signer_open
 * with ensure, recording "key.created" for keys it generated.
 */
int cli_audit(struct db *db, const struct masterkey *mk, const char *event,
    const char *target, json_t *details);
int cli_signer_open(struct db *db, const struct masterkey *mk,
    const struct config *cfg, int64_t now, struct signer **out);

/*
 * Between the files of one command. user: the password from the terminal
 * or standard input (src/cli/user_password.c). client: rendering and the
 * checks that read files or keys (src/cli/client_show.c).
 */
int cli_user_password(
    const struct cli_ctx *c, bool required, char **pw, size_t *len);
struct store_client;
json_t *cli_client_json(const struct store_client *cl, json_int_t secrets);
void cli_client_print(const struct store_client *cl, size_t secrets);
int cli_client_read_jwks(const char *path, char **out);
int cli_client_alg_can_sign(struct db *db, const struct masterkey *mk,
    const struct config *cfg, const char *name);

#endif
