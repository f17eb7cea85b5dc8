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

static const struct option opts[] = {
	CLI_COMMON_OPTS,
	{ NULL, 0, NULL, 0 },
};

int
cmd_master_key(int argc, char **argv)
{
	struct config cfg;
	struct cli_flags f;
	char path[4096], err[1024];
	int r;

	if (argc < 2 || strcmp(argv[1], "init") != 0) {
		if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		}
		cli_usage_error(usage, "expected 'master-key init'");
		return 2;
	}
	if ((r = cli_parse(argc - 1, argv + 1, opts, &f, usage)) != 0)
		return r == 1 ? 0 : r;
	if (cli_config(&f, &cfg) != 0)
		return 1;
	if (crypto_init() != 0 || cli_data_dir(&cfg) != 0) {
		config_free(&cfg);
		return 1;
	}
	masterkey_path(&cfg, path, sizeof(path));
	if (masterkey_create_file(path, err, sizeof(err)) != 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	printf("created %s (mode 0600)\n", path);
	config_free(&cfg);
	return 0;
}
