/*
 * portcullis key list | rotate: the signing keys and their states, and a
 * new key that is published at once and signs after the activation delay.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "store/store.h"

static const char usage[] =
    "usage: portcullis key list [--json] [--config FILE] [--data-dir DIR]\n"
    "       portcullis key rotate [--alg ALG] [--config FILE] "
    "[--data-dir DIR]\n"
    "\n"
    "list    every signing key with its state: pending (published, not yet "
    "signing),\n        active, retired (published until its tokens "
    "expire), expired.\n"
    "rotate  adds a new key for ALG (ES256, RS256, PS256 or EdDSA, in any "
    "case;\n        default: every algorithm in use). It is published in "
    "the JWKS at\n        once (running servers pick it up within "
    "signing_key_refresh) and signs from\n        "
    "now + signing_key_activation_delay.\n";

static int
list(struct cli_ctx *c)
{
	struct signer *s = c->signer;
	bool as_json = cli_has(c, "json");
	struct signer_key_info *v = NULL;
	size_t n = 0;
	int64_t now = clock_now();

	if (signer_list(s, now, &v, &n) != 0)
		return 1;
	if (as_json) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++) {
			json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:b}",
			    "kid", v[i].kid, "alg", jose_alg_name(v[i].alg),
			    "state", signer_state_name(v[i].state),
			    "created_at", (json_int_t)v[i].created_at,
			    "activate_at", (json_int_t)v[i].activate_at,
			    "rejected", v[i].rejected);

			/* null while the key has not been retired */
			json_object_set_new(
			    o, "retired_at", cli_json_time(v[i].retired_at));
			json_object_set_new(o, "unpublish_at",
			    cli_json_time(v[i].unpublish_at));
			json_array_append_new(a, o);
		}
		cli_json_print(a, JSON_INDENT(2));
	} else {
		printf("%-44s %-6s %-8s %-21s %-21s %s\n", "KID", "ALG",
		    "STATE", "ACTIVATE_AT", "UNPUBLISH_AT", "NOTE");
		for (size_t i = 0; i < n; i++) {
			char a[CLI_TIME_MAX], u[CLI_TIME_MAX];

			cli_time(a, v[i].activate_at, false);
			cli_time(u, v[i].unpublish_at, false);
			/* A row that failed the integrity check: its sealed
			 * key does not prove it (planted, altered, or another
			 * master key). Not published, never used. */
			printf("%-44s %-6s %-8s %-21s %-21s %s\n", v[i].kid,
			    jose_alg_name(v[i].alg),
			    signer_state_name(v[i].state), a, u,
			    v[i].rejected ? "REJECTED" : "");
		}
	}
	free(v);
	return 0;
}

static int
rotate(struct cli_ctx *c)
{
	struct db *db = c->db;
	struct masterkey *mk = c->mk;
	const struct config *cfg = &c->cfg;
	struct signer *s = c->signer;
	const char *alg_name = cli_get(c, "alg");
	enum jose_alg algs[SIGNER_ALGS_MAX];
	size_t nalgs = 0;
	int64_t now = clock_now();
	int rc = 0;

	if (alg_name != NULL) {
		algs[0] = signer_alg_parse_any_case(alg_name);
		if (algs[0] == JOSE_ALG_INVALID) {
			fprintf(stderr,
			    "portcullis: unknown --alg '%s' "
			    "(ES256, RS256, PS256 or EdDSA)\n",
			    alg_name);
			return 2;
		}
		nalgs = 1;
	} else if (signer_algs_in_use(s, now, algs, &nalgs) != 0) {
		return 1;
	}
	for (size_t i = 0; i < nalgs; i++) {
		char kid[64];
		int r = signer_rotate(db, mk, cfg, algs[i], now, kid);
		json_t *d;

		if (r != 0) {
			fprintf(stderr, "portcullis: rotate %s: %s\n",
			    jose_alg_name(algs[i]), pc_strerror(r));
			rc = 1;
			continue;
		}
		d = json_pack("{s:s, s:I}", "alg", jose_alg_name(algs[i]),
		    "activate_at",
		    (json_int_t)now +
			(json_int_t)cfg->signing_key_activation_delay);
		if (cli_audit(db, mk, "key.rotated", kid, d) != 0)
			rc = 1;
		printf("added %s key %s, signing from now + %llds\n",
		    jose_alg_name(algs[i]), kid,
		    (long long)cfg->signing_key_activation_delay);
	}
	return rc;
}

static const struct cli_opt list_opts[] = {
	{ .name = "json", .help = "one JSON array" },
	{ .name = NULL },
};

static const struct cli_opt rotate_opts[] = {
	{ .name = "alg",
	    .value = "ALG",
	    .help = "ES256, RS256, PS256 or EdDSA, in any case (default: "
		    "every algorithm in use)" },
	{ .name = NULL },
};

static const struct cli_sub subs[] = {
	{ .name = "list",
	    .opts = list_opts,
	    .start = CLI_START_SIGNER,
	    .run = list },
	{ .name = "rotate",
	    .opts = rotate_opts,
	    .start = CLI_START_SIGNER,
	    .run = rotate },
};

static const struct cli_cmd cmd = { "key", usage, subs, PC_NELEM(subs) };

int
cmd_key(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}
