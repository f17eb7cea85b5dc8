/*
 * portcullis check-config: prints the effective configuration with the
 * source of each value (secrets masked) and refuses what serve would
 * refuse; with a store present, says whether the master key matches it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/mfa.h"
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "store/store.h"

static const char usage[] =
    "usage: portcullis check-config [--config FILE] [--data-dir DIR] "
    "[--issuer URL]\n"
    "                               [--listen HOST:PORT] [--store-url URL] "
    "[--mode MODE]\n"
    "\n"
    "Prints the effective configuration (secrets masked) with the source "
    "of each\nvalue, and refuses unsafe combinations: an http:// issuer "
    "that is not\nloopback, a missing or unprotected master key in "
    "production mode, TLS\nhalf-configured. When the store exists, says "
    "whether the master key matches\nit (never creating, migrating or "
    "writing it). Exit status 0 when serve\nwould start with it.\n";

static void
print_one(const char *name, const char *value, const char *source, void *arg)
{
	char *shown = NULL;

	(void)arg;
	/* Its password, if any, is masked as libpq reads the URL (AU-03). */
	if (strcmp(name, "store_url") == 0)
		value = shown = db_url_redact(value);
	printf("%-30s = %-36s (%s)\n", name, value, source);
	free(shown);
}

/*
 * The master key against the store, when there is one; never creates it,
 * migrates it or writes to it. Returns 1 when the key does not match.
 */
static int
check_store(const struct config *cfg, const struct masterkey *mk)
{
	struct db *db = NULL;
	int r;

	if ((r = cli_peek_store(cfg, &db)) == PC_ERR_NOT_FOUND) {
		printf("# store: none yet (serve or migrate creates it)\n");
		return 0;
	}
	if (r != 0)
		return 1;
	r = masterkey_prove(db, mk, cfg, false, clock_now());
	if (r == 0) {
		printf(
		    "# the master key matches the store %s\n", db_describe(db));
	} else if (r == PC_ERR_NOT_FOUND) {
		printf("# the store %s holds nothing sealed yet: the first "
		       "command that writes seals its key check with this "
		       "master key\n",
		    db_describe(db));
		r = 0;
	} else if (r == PC_ERR_VERIFY) {
		fprintf(stderr,
		    "portcullis: the master key does not match the store %s "
		    "(its sealed data was sealed under another key)\n",
		    db_describe(db));
	} else {
		fprintf(stderr,
		    "portcullis: cannot check the master key against the "
		    "store %s: %s\n",
		    db_describe(db), pc_strerror(r));
	}
	db_close(db);
	return r == 0 ? 0 : 1;
}

static int
run(struct cli_ctx *c)
{
	const struct config *cfg = &c->cfg;
	struct masterkey *mk = NULL;
	enum masterkey_source src;
	char err[1024], path[4096];
	bool env = getenv("PORTCULLIS_MASTER_KEY") != NULL;
	int r, rc = 0;

	printf("# config file: %s\n",
	    cfg->config_file != NULL ? cfg->config_file : "(none)");
	config_each(cfg, print_one, NULL);
	masterkey_path(cfg, path, sizeof(path));
	r = masterkey_load(cfg, false, &mk, &src, err, sizeof(err));
	if (r == 0) {
		printf("%-30s = %-36s (%s)\n", "master_key", "********",
		    src == MASTERKEY_ENV ? "env PORTCULLIS_MASTER_KEY" : path);
	} else if (r == PC_ERR_NOT_FOUND && !env &&
	    cfg->mode == CONFIG_MODE_DEVELOPMENT) {
		printf("%-30s = %-36s (%s)\n", "master_key",
		    "(created on first start)", path);
	} else {
		printf("%-30s = %-36s\n", "master_key", "(unusable)");
		fprintf(stderr, "portcullis: %s\n", err);
		rc = 1;
	}
	if (mk != NULL && check_store(cfg, mk) != 0)
		rc = 1;
	masterkey_free(mk);
	for (int i = 0; i < 2; i++) {
		const char *file = i == 0 ? cfg->tls_cert : cfg->tls_key;

		if (file[0] != '\0' && access(file, R_OK) != 0) {
			fprintf(stderr, "portcullis: cannot read %s %s\n",
			    i == 0 ? "tls_cert" : "tls_key", file);
			rc = 1;
		}
	}
	/* A key must be in every verifier's JWKS before it signs: nodes
	 * refresh every signing_key_refresh and clients cache the JWKS for
	 * up to 300 s. */
	if (cfg->signing_key_activation_delay < cfg->signing_key_refresh + 300)
		printf("# warning: signing_key_activation_delay (%llds) is "
		       "shorter than signing_key_refresh + the JWKS max-age "
		       "(%llds): verifiers may see tokens signed by a key "
		       "they have not fetched yet\n",
		    (long long)cfg->signing_key_activation_delay,
		    (long long)cfg->signing_key_refresh + 300);
	if (config_issuer_insecure(cfg))
		printf("# warning: the issuer is http:// on a host that is not "
		       "loopback (development\n#          mode only): no "
		       "Secure cookies, no passkeys; production refuses it\n");
	else if (!cfg->issuer_https && cfg->mode == CONFIG_MODE_PRODUCTION)
		printf(
		    "# note: the issuer is http:// on loopback; browsers and "
		    "clients elsewhere\n#       need an https:// issuer\n");
	/* Issue 16: browsers refuse an IP address as a WebAuthn RP ID. */
	if (passkey_unavailable(cfg) != NULL)
		printf("# warning: passkeys cannot be offered: %s\n",
		    passkey_unavailable(cfg));
	if (rc == 0)
		printf("# configuration OK\n");
	return rc;
}

static const struct cli_sub subs[] = {
	{ .name = NULL, .opts = cli_server_opts, .run = run },
};

static const struct cli_cmd cmd = { "check-config", usage, subs,
	PC_NELEM(subs) };

int
cmd_check_config(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}
