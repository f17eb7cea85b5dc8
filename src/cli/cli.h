/* cli: one file per command; main.c dispatches. */
#ifndef PC_CLI_H
#define PC_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "util/config.h"

/* Flags every command takes, and the ones only some take. */
enum {
	CLI_OPT_CONFIG = 0x100,
	CLI_OPT_DATA_DIR,
	CLI_OPT_STORE_URL,
	CLI_OPT_ISSUER,
	CLI_OPT_LISTEN,
	CLI_OPT_MODE,
	CLI_OPT_HELP,
	CLI_OPT_JSON,
	CLI_OPT_ALG,
};

#define CLI_COMMON_OPTS \
	{ "config", required_argument, NULL, CLI_OPT_CONFIG }, \
	    { "data-dir", required_argument, NULL, CLI_OPT_DATA_DIR }, \
	    { "store-url", required_argument, NULL, CLI_OPT_STORE_URL }, \
	    { "mode", required_argument, NULL, CLI_OPT_MODE }, \
	{ \
		"help", no_argument, NULL, CLI_OPT_HELP \
	}

#define CLI_SERVE_OPTS \
	{ "issuer", required_argument, NULL, CLI_OPT_ISSUER }, \
	{ \
		"listen", required_argument, NULL, CLI_OPT_LISTEN \
	}

struct cli_flags {
	const char *config;
	const char *data_dir;
	const char *store_url;
	const char *issuer;
	const char *listen;
	const char *mode;
	const char *alg;
	bool json;
	bool help;
};

/*
 * Parses argv with opts (common options included by the caller). Returns
 * 0, or 2 after printing a usage error. Positional arguments are refused.
 */
int cli_parse(int argc, char **argv, const struct option *opts,
    struct cli_flags *f, const char *usage);
/* Defaults < config file < PORTCULLIS_* < flags; then validated. */
int cli_config(const struct cli_flags *f, struct config *cfg);
/* Creates data_dir (0700) when missing. */
int cli_data_dir(const struct config *cfg);
void cli_usage_error(const char *usage, const char *fmt, ...);

struct db;
struct masterkey;
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

int cmd_serve(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_master_key(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_client(int argc, char **argv);
int cmd_audit(int argc, char **argv);

/*
 * Audit log (src/cli/audit.c). cli_audit writes one "success" event with
 * actor "cli"; details is not consumed. cli_signer_open is signer_open
 * with ensure, recording "key.created" for keys it generated.
 */
struct signer;
int cli_audit(struct db *db, const struct masterkey *mk, const char *event,
    const char *target, json_t *details);
int cli_signer_open(struct db *db, const struct masterkey *mk,
    const struct config *cfg, int64_t now, struct signer **out);

#endif
