/* portcullis: an OpenID Connect provider and OAuth 2.1 server. */
#include <sys/stat.h>

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "pc_version.h"

static const char usage[] =
    "usage: portcullis COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  serve            run the server\n"
    "  migrate          apply store migrations\n"
    "  check-config     print the effective configuration and check it\n"
    "  key list         list signing keys and their states\n"
    "  key rotate       add a new signing key\n"
    "  master-key init  create the master key file\n"
    "  audit tail       the last audit events\n"
    "  audit verify     check the audit log's hash chain\n"
    "  audit query      what a principal did and got, when, from where\n"
    "  user add         create a user (user list, show, disable, enable,\n"
    "                   set-password, delete: see user --help)\n"
    "  client add       register an OAuth client (client list, show,\n"
    "                   update, rotate-secret, delete: see client --help)\n"
    "  service-account add  a machine principal (service-account list,\n"
    "                   show, update, disable, enable, delete)\n"
    "  group add        a group of users and service accounts (group\n"
    "                   list, show, delete, member-add, member-remove)\n"
    "  forward-auth set  protect a host behind a proxy (forward-auth\n"
    "                   remove, list: see forward-auth --help)\n"
    "  resource add     register an API that accepts our tokens (resource\n"
    "                   list, show, delete: see resource --help)\n"
    "  api-key add      create an API key (api-key list, show, rotate,\n"
    "                   revoke: see api-key --help)\n"
    "  federation add   trust a workload issuer (federation list, show,\n"
    "                   delete, rule add, rule remove: see federation "
    "--help)\n"
    "  access report    every principal and credential, and what needs "
    "action\n"
    "  agent add        register an agent that acts for people (agent\n"
    "                   list, show, update, disable, delete: see agent "
    "--help)\n"
    "  admin init       the admin API's first credential (admin routes,\n"
    "                   scopes, resource: see admin --help)\n"
    "\n"
    "options of every command:\n"
    "  --config FILE    config file (PORTCULLIS_CONFIG)\n"
    "  --data-dir DIR   data directory (PORTCULLIS_DATA_DIR)\n"
    "  --store-url URL  store (PORTCULLIS_STORE_URL), default "
    "sqlite:DATA_DIR/portcullis.db\n"
    "  --mode MODE      production (default) or development\n"
    "  --help           help for the command\n"
    "\n"
    "  portcullis --version\n"
    "  portcullis COMMAND --help\n";

int
main(int argc, char **argv)
{
	const char *cmd;

	umask(077);
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("portcullis %s\n", PC_VERSION);
		return 0;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate(argc - 1, argv + 1);
	if (strcmp(cmd, "check-config") == 0)
		return cmd_check_config(argc - 1, argv + 1);
	if (strcmp(cmd, "key") == 0)
		return cmd_key(argc - 1, argv + 1);
	if (strcmp(cmd, "master-key") == 0)
		return cmd_master_key(argc - 1, argv + 1);
	if (strcmp(cmd, "audit") == 0)
		return cmd_audit(argc - 1, argv + 1);
	if (strcmp(cmd, "user") == 0)
		return cmd_user(argc - 1, argv + 1);
	if (strcmp(cmd, "client") == 0)
		return cmd_client(argc - 1, argv + 1);
	if (strcmp(cmd, "service-account") == 0)
		return cmd_service_account(argc - 1, argv + 1);
	if (strcmp(cmd, "group") == 0)
		return cmd_group(argc - 1, argv + 1);
	if (strcmp(cmd, "forward-auth") == 0)
		return cmd_forward_auth(argc - 1, argv + 1);
	if (strcmp(cmd, "resource") == 0)
		return cmd_resource(argc - 1, argv + 1);
	if (strcmp(cmd, "api-key") == 0)
		return cmd_api_key(argc - 1, argv + 1);
	if (strcmp(cmd, "federation") == 0)
		return cmd_federation(argc - 1, argv + 1);
	if (strcmp(cmd, "access") == 0)
		return cmd_access(argc - 1, argv + 1);
	if (strcmp(cmd, "agent") == 0)
		return cmd_agent(argc - 1, argv + 1);
	if (strcmp(cmd, "admin") == 0)
		return cmd_admin(argc - 1, argv + 1);
	fprintf(stderr, "portcullis: unknown command '%s'\n\n%s", cmd, usage);
	return 2;
}
