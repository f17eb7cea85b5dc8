/*
 * portcullis master-key init: creates the master key file, refusing to
 * overwrite one (losing it loses every sealed secret).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/crypto.h"

static const char usage[] =
    "usage: portcullis master-key init [--config FILE] [--data-dir DIR]\n"
    "\n"
    "Creates the master key file (master_key_file, default "
    "DATA_DIR/master.key)\nwith mode 0600. Refuses to overwrite an existing "
    "file: losing the master key\nloses every sealed secret. Back it up "
    "apart from the store. The key never\nappears on standard output.\n";

static int
init(struct cli_ctx *c)
{
	char path[4096], err[1024];

	if (cli_data_dir(&c->cfg) != 0)
		return 1;
	masterkey_path(&c->cfg, path, sizeof(path));
	if (masterkey_create_file(path, err, sizeof(err)) != 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		return 1;
	}
	printf("created %s (mode 0600)\n", path);
	return 0;
}

static const struct cli_opt no_opts[] = { { .name = NULL } };

static const struct cli_sub subs[] = {
	{ .name = "init", .opts = no_opts, .run = init },
};

static const struct cli_cmd cmd = { "master-key", usage, subs, PC_NELEM(subs) };

int
cmd_master_key(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}
