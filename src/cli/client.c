/*
 * portcullis client add | list | show | update | rotate-secret | delete.
 *
 * A client secret is generated here, printed once (add, rotate-secret) and
 * then only its SHA-256 exists (TK-08); it never reaches the audit log or
 * any other log. Redirect URIs are checked at registration (AZ-04): a
 * refused one exits 1 with the reason and creates nothing. Usage errors
 * exit 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "oauth/oauth.h"
#include "store/store.h"

static const char usage[] =
    "usage: portcullis client add --name NAME --redirect-uri URI\n"
    "                             [--redirect-uri URI ...] [--public]\n"
    "                             [--grant GRANT[,GRANT...]] [--scope "
    "\"SCOPE ...\"]\n"
    "                             [--first-party] [--auth-method METHOD]\n"
    "                             [--post-logout-redirect-uri URI ...]\n"
    "                             [--id-token-alg ALG] [--jwks-file FILE]\n"
    "                             [--json]\n"
    "       portcullis client list [--json]\n"
    "       portcullis client show --id CLIENT_ID [--json]\n"
    "       portcullis client update --id CLIENT_ID [--name NAME]\n"
    "                             [--redirect-uri URI ...] [--grant ...]\n"
    "                             [--scope ...] [--first-party | "
    "--no-first-party]\n"
    "                             [--auth-method METHOD] [--id-token-alg "
    "ALG]\n"
    "                             [--post-logout-redirect-uri URI ...]\n"
    "                             [--jwks-file FILE] [--json]\n"
    "       portcullis client rotate-secret --id CLIENT_ID [--json]\n"
    "       portcullis client delete --id CLIENT_ID\n"
    "\n"
    "Every sub-command also takes --config FILE, --data-dir DIR,\n"
    "--store-url URL, --mode MODE and --help.\n"
    "\n"
    "add            registers a client with a new opaque id. Confidential\n"
    "               clients (the default) using client_secret_basic or\n"
    "               client_secret_post get a secret, printed once and\n"
    "               stored only as a hash. --public: a native or browser\n"
    "               client without a secret (auth method none).\n"
    "               GRANT: authorization_code (default), refresh_token,\n"
    "               client_credentials. METHOD: client_secret_basic\n"
    "               (default), client_secret_post, private_key_jwt (needs\n"
    "               --jwks-file with public keys), none. ALG: RS256\n"
    "               (default), ES256, EdDSA, PS256: it needs an active\n"
    "               signing key (portcullis key rotate --alg ALG, then\n"
    "               wait for it to sign). --first-party skips\n"
    "               the consent screen. Default scope: openid profile\n"
    "               email.\n"
    "update         changes the given fields; --redirect-uri and\n"
    "               --post-logout-redirect-uri replace their whole list.\n"
    "rotate-secret  issues a new secret (printed once); the previous one\n"
    "               keeps working for client_secret_overlap (24h).\n"
    "delete         removes the client; its id is never given out again.\n"
    "\n"
    "Redirect URIs must be https, http only to 127.0.0.1 or [::1], or a\n"
    "private-use scheme (com.example.app:/cb) for public clients; no\n"
    "fragment, wildcard or userinfo.\n";

enum {
	OPT_ID = 0x200,
	OPT_NAME,
	OPT_REDIRECT_URI,
	OPT_POST_LOGOUT,
	OPT_PUBLIC,
	OPT_GRANT,
	OPT_SCOPE,
	OPT_FIRST_PARTY,
	OPT_NO_FIRST_PARTY,
	OPT_AUTH_METHOD,
	OPT_ID_TOKEN_ALG,
	OPT_JWKS_FILE,
};

static const struct option opts[] = {
	CLI_COMMON_OPTS,
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "id", required_argument, NULL, OPT_ID },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "redirect-uri", required_argument, NULL, OPT_REDIRECT_URI },
	{ "post-logout-redirect-uri", required_argument, NULL,
	    OPT_POST_LOGOUT },
	{ "public", no_argument, NULL, OPT_PUBLIC },
	{ "grant", required_argument, NULL, OPT_GRANT },
	{ "scope", required_argument, NULL, OPT_SCOPE },
	{ "first-party", no_argument, NULL, OPT_FIRST_PARTY },
	{ "no-first-party", no_argument, NULL, OPT_NO_FIRST_PARTY },
	{ "auth-method", required_argument, NULL, OPT_AUTH_METHOD },
	{ "id-token-alg", required_argument, NULL, OPT_ID_TOKEN_ALG },
	{ "jwks-file", required_argument, NULL, OPT_JWKS_FILE },
	{ NULL, 0, NULL, 0 },
};

/* Which sub-command takes which option. */
#define TAKES_ID 0x001
#define TAKES_META 0x002 /* name, URIs, grants, scope, methods, jwks */
#define TAKES_PUBLIC 0x004
#define TAKES_NO_FP 0x008
#define TAKES_JSON 0x010

struct sub {
	const char *name;
	unsigned takes;
};

static const struct sub subs[] = {
	{ "add", TAKES_META | TAKES_PUBLIC | TAKES_JSON },
	{ "list", TAKES_JSON },
	{ "show", TAKES_ID | TAKES_JSON },
	{ "update", TAKES_ID | TAKES_META | TAKES_NO_FP | TAKES_JSON },
	{ "rotate-secret", TAKES_ID | TAKES_JSON },
	{ "delete", TAKES_ID },
};

struct client_flags {
	struct cli_flags common;
	const char *id;
	const char *name;
	const char *redirect[CLIENT_URIS_MAX];
	size_t n_redirect;
	const char *post_logout[CLIENT_URIS_MAX];
	size_t n_post_logout;
	const char *grant;
	const char *scope;
	const char *auth_method;
	const char *id_token_alg;
	const char *jwks_file;
	bool is_public;
	bool first_party;
	bool no_first_party;
};

/* Long options must be spelled out: no getopt abbreviations. */
static bool
exact(const char *tok, const char *name)
{
	size_t n = strlen(name);

	return strncmp(tok, "--", 2) == 0 && strncmp(tok + 2, name, n) == 0 &&
	    (tok[2 + n] == '\0' || tok[2 + n] == '=');
}

/* Appends v to a list of at most CLIENT_URIS_MAX; false when full. */
static bool
push(const char **list, size_t *n, const char *v)
{
	if (*n == CLIENT_URIS_MAX)
		return false;
	list[(*n)++] = v;
	return true;
}

/* A flag given twice (other than the URI lists) is a usage error. */
static bool
once(const char **slot, const char *v)
{
	if (*slot != NULL)
		return false;
	*slot = v;
	return true;
}

/* 0, 1 after --help, or 2 after a usage error. */
static int
parse(int argc, char **argv, const struct sub *sub, struct client_flags *f)
{
	int c, idx;

	memset(f, 0, sizeof(*f));
	optind = 1;
	opterr = 0;
	for (;;) {
		int prev = optind;
		unsigned need = 0;
		bool ok = true;

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
		case OPT_ID:
			need = TAKES_ID;
			ok = once(&f->id, optarg);
			break;
		case OPT_NAME:
			need = TAKES_META;
			ok = once(&f->name, optarg);
			break;
		case OPT_REDIRECT_URI:
			need = TAKES_META;
			if (!push(f->redirect, &f->n_redirect, optarg)) {
				cli_usage_error(usage,
				    "at most %d --redirect-uri",
				    CLIENT_URIS_MAX);
				return 2;
			}
			break;
		case OPT_POST_LOGOUT:
			need = TAKES_META;
			if (!push(f->post_logout, &f->n_post_logout, optarg)) {
				cli_usage_error(usage,
				    "at most %d --post-logout-redirect-uri",
				    CLIENT_URIS_MAX);
				return 2;
			}
			break;
		case OPT_PUBLIC:
			need = TAKES_PUBLIC;
			f->is_public = true;
			break;
		case OPT_GRANT:
			need = TAKES_META;
			ok = once(&f->grant, optarg);
			break;
		case OPT_SCOPE:
			need = TAKES_META;
			ok = once(&f->scope, optarg);
			break;
		case OPT_FIRST_PARTY:
			need = TAKES_META;
			f->first_party = true;
			break;
		case OPT_NO_FIRST_PARTY:
			need = TAKES_NO_FP;
			f->no_first_party = true;
			break;
		case OPT_AUTH_METHOD:
			need = TAKES_META;
			ok = once(&f->auth_method, optarg);
			break;
		case OPT_ID_TOKEN_ALG:
			need = TAKES_META;
			ok = once(&f->id_token_alg, optarg);
			break;
		case OPT_JWKS_FILE:
			need = TAKES_META;
			ok = once(&f->jwks_file, optarg);
			break;
		case ':':
			cli_usage_error(
			    usage, "option %s needs a value", argv[prev]);
			return 2;
		default:
			cli_usage_error(usage, "unknown option '%.*s'",
			    (int)strcspn(argv[prev], "="), argv[prev]);
			return 2;
		}
		if ((sub->takes & need) != need) {
			cli_usage_error(usage, "'client %s' does not take %s",
			    sub->name, argv[prev]);
			return 2;
		}
		if (!ok) {
			cli_usage_error(usage, "%.*s given twice",
			    (int)strcspn(argv[prev], "="), argv[prev]);
			return 2;
		}
	}
	if (f->common.help) {
		fputs(usage, stdout);
		return 1;
	}
	if (optind < argc) {
		cli_usage_error(
		    usage, "unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (strcmp(sub->name, "add") == 0 && f->name == NULL) {
		cli_usage_error(usage, "'client add' needs --name");
		return 2;
	}
	if ((sub->takes & TAKES_ID) != 0 && f->id == NULL) {
		cli_usage_error(usage, "'client %s' needs --id", sub->name);
		return 2;
	}
	if (f->first_party && f->no_first_party) {
		cli_usage_error(
		    usage, "--first-party and --no-first-party conflict");
		return 2;
	}
	return 0;
}

/* "a,b c" -> "a b c": the CLI takes commas, the store spaces. */
static char *
grant_list(const char *s)
{
	char *v = xstrdup(s);

	for (char *p = v; *p != '\0'; p++)
		if (*p == ',')
			*p = ' ';
	return v;
}

static char **
strv_dup(const char *const *v, size_t n)
{
	char **out = n > 0 ? xmalloc(n * sizeof(*out)) : NULL;

	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The whole file, at most CLIENT_JWKS_MAX bytes, NUL-terminated. */
static int
read_jwks(const char *path, char **out)
{
	char *b = xmalloc(CLIENT_JWKS_MAX + 2);
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	if (fd < 0) {
		fprintf(stderr, "portcullis: --jwks-file %s: %s\n", path,
		    strerror(errno));
		free(b);
		return 1;
	}
	for (;;) {
		ssize_t r = read(fd, b + n, CLIENT_JWKS_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "portcullis: --jwks-file %s: %s\n",
			    path, strerror(errno));
			(void)close(fd);
			free(b);
			return 1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > CLIENT_JWKS_MAX) {
			fprintf(stderr,
			    "portcullis: --jwks-file: larger than 64 KiB\n");
			(void)close(fd);
			free(b);
			return 1;
		}
	}
	(void)close(fd);
	if (memchr(b, '\0', n) != NULL) {
		fprintf(stderr, "portcullis: --jwks-file: not a JWKS\n");
		free(b);
		return 1;
	}
	b[n] = '\0';
	*out = b;
	return 0;
}

/* Applies the flags to c (add: a zeroed client; update: the stored one). */
static int
apply(const struct client_flags *f, struct store_client *c)
{
	if (f->name != NULL) {
		free(c->name);
		c->name = xstrdup(f->name);
	}
	if (f->n_redirect > 0) {
		strv_free(c->redirect_uris, c->n_redirect_uris);
		c->redirect_uris = strv_dup(f->redirect, f->n_redirect);
		c->n_redirect_uris = f->n_redirect;
	}
	if (f->n_post_logout > 0) {
		strv_free(c->post_logout_uris, c->n_post_logout_uris);
		c->post_logout_uris =
		    strv_dup(f->post_logout, f->n_post_logout);
		c->n_post_logout_uris = f->n_post_logout;
	}
	if (f->grant != NULL) {
		free(c->grant_types);
		c->grant_types = grant_list(f->grant);
	}
	if (f->scope != NULL) {
		free(c->scopes);
		c->scopes = xstrdup(f->scope);
	}
	if (f->auth_method != NULL) {
		free(c->auth_method);
		c->auth_method = xstrdup(f->auth_method);
		/* A JWKS only stays with private_key_jwt. */
		if (strcmp(f->auth_method, "private_key_jwt") != 0) {
			free(c->jwks);
			c->jwks = NULL;
		}
	}
	if (f->id_token_alg != NULL) {
		free(c->id_token_alg);
		c->id_token_alg = xstrdup(f->id_token_alg);
	}
	if (f->first_party)
		c->first_party = true;
	if (f->no_first_party)
		c->first_party = false;
	if (f->jwks_file != NULL) {
		free(c->jwks);
		c->jwks = NULL;
		if (read_jwks(f->jwks_file, &c->jwks) != 0)
			return 1;
	}
	return 0;
}

static json_t *
strv_json(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *
client_json(const struct store_client *c, json_int_t secrets)
{
	json_t *grants = json_array();
	json_t *o;
	const char *p = c->grant_types;

	while (grants != NULL && p != NULL && *p != '\0') {
		size_t n = strcspn(p, " ");

		json_array_append_new(grants, json_stringn(p, n));
		p += n;
		if (*p == ' ')
			p++;
	}
	o = json_pack("{s:s, s:s, s:b, s:s, s:o, s:s, s:s, s:b, s:b, s:o, "
		      "s:o, s:I, s:I}",
	    "client_id", c->client_id, "name", c->name, "public", c->is_public,
	    "token_endpoint_auth_method", c->auth_method, "grant_types", grants,
	    "scope", c->scopes, "id_token_signed_response_alg", c->id_token_alg,
	    "first_party", c->first_party, "has_jwks", c->jwks != NULL,
	    "redirect_uris", strv_json(c->redirect_uris, c->n_redirect_uris),
	    "post_logout_redirect_uris",
	    strv_json(c->post_logout_uris, c->n_post_logout_uris), "created_at",
	    (json_int_t)c->created_at, "updated_at", (json_int_t)c->updated_at);
	if (o != NULL && secrets >= 0)
		json_object_set_new(o, "active_secrets", json_integer(secrets));
	return o;
}

/*
 * Prints o as one JSON object, with "client_secret" first when secret is
 * not NULL. The secret is spliced into the output rather than put in the
 * json_t, so no library copy of it outlives this call unwiped.
 */
static void
print_json(json_t *o, size_t flags, const char *secret)
{
	char *s = o != NULL ? json_dumps(o, flags) : NULL;

	if (s == NULL)
		printf("null\n");
	else if (secret != NULL && s[0] == '{' && s[1] != '}')
		printf("{\"client_secret\":\"%s\",%s\n", secret, s + 1);
	else
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

static void
iso(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
print_uris(const char *label, char **v, size_t n)
{
	if (n == 0)
		printf("%-27s -\n", label);
	for (size_t i = 0; i < n; i++)
		printf("%-27s %s\n", i == 0 ? label : "", v[i]);
}

static void
print_client(const struct store_client *c, size_t secrets)
{
	char t[32];

	iso(c->created_at, t, sizeof(t));
	printf("%-27s %s\n%-27s %s\n%-27s %s\n%-27s %s\n%-27s %s\n"
	       "%-27s %s\n%-27s %s\n%-27s %s\n%-27s %s\n%-27s %zu\n",
	    "client_id:", c->client_id, "name:", c->name,
	    "type:", c->is_public ? "public" : "confidential",
	    "token_endpoint_auth_method:", c->auth_method,
	    "grant_types:", c->grant_types, "scope:", c->scopes,
	    "id_token_alg:", c->id_token_alg,
	    "first_party:", c->first_party ? "yes" : "no", "created_at:", t,
	    "active_secrets:", secrets);
	print_uris("redirect_uris:", c->redirect_uris, c->n_redirect_uris);
	print_uris("post_logout_redirect_uris:", c->post_logout_uris,
	    c->n_post_logout_uris);
}

static int
find(struct db *db, const char *id, struct store_client *c)
{
	int r = client_id_valid(id) ? store_client_get(db, id, c)
				    : PC_ERR_NOT_FOUND;

	if (r == PC_ERR_NOT_FOUND)
		fprintf(stderr, "portcullis: no such client\n");
	else if (r != 0)
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
	return r;
}

static size_t
secret_count(struct db *db, const char *id)
{
	struct store_client_secret v[STORE_CLIENT_SECRETS_MAX];
	size_t n = 0;

	if (store_client_secrets_get(db, id, clock_now(), v, &n) != 0)
		n = 0;
	sodium_memzero(v, sizeof(v));
	return n;
}

/*
 * OI-10: the ID token algorithm given must sign now, with an active key:
 * a pending key signs only from its activation, and until then the
 * client's sign-ins would end in server_error at /authorize. On a store
 * that has no ES256 or RS256 key yet, the first start makes them. 0, or
 * 1 after saying why and what to do.
 */
static int
alg_can_sign(struct db *db, const struct masterkey *mk,
    const struct config *cfg, const char *name)
{
	enum jose_alg alg = jose_alg_parse(name, strlen(name));
	struct signer *s = NULL;
	struct signer_key_info *v = NULL;
	size_t n = 0, rows = 0;
	int64_t now = clock_now(), from = 0;
	char when[32];
	bool ok;
	int r;

	if (alg == JOSE_ALG_INVALID)
		return 0; /* client_validate() refuses it, with the list */
	if ((r = signer_open(db, mk, cfg, false, now, &s)) != 0) {
		fprintf(stderr, "portcullis: cannot load signing keys: %s\n",
		    pc_strerror(r));
		return 1;
	}
	ok = signer_can_sign(s, alg, now);
	if (!ok && signer_list(s, now, &v, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (v[i].alg != alg)
				continue;
			rows++;
			if (v[i].state == SIGNER_PENDING && !v[i].rejected &&
			    (from == 0 || v[i].activate_at < from))
				from = v[i].activate_at;
		}
		free(v);
	}
	signer_free(s);
	if (ok ||
	    (rows == 0 && (alg == JOSE_ALG_ES256 || alg == JOSE_ALG_RS256)))
		return 0;
	if (from != 0) {
		iso(from, when, sizeof(when));
		fprintf(stderr,
		    "portcullis: client refused: no active %s key yet: the "
		    "pending one signs from %s; set --id-token-alg %s after "
		    "that\n",
		    name, when, name);
	} else {
		fprintf(stderr,
		    "portcullis: client refused: no %s signing key: add one "
		    "with `portcullis key rotate --alg %s` (it signs after "
		    "signing_key_activation_delay), then set --id-token-alg "
		    "%s\n",
		    name, name, name);
	}
	return 1;
}

static int
add(struct db *db, const struct masterkey *mk, const struct config *cfg,
    const struct client_flags *f)
{
	struct store_client c;
	char secret[CLIENT_SECRET_LEN + 1];
	const char *why = NULL;
	json_t *d;
	int r, rc = 1;

	memset(&c, 0, sizeof(c));
	secret[0] = '\0';
	c.is_public = f->is_public;
	if (apply(f, &c) != 0)
		goto out;
	if (f->id_token_alg != NULL &&
	    alg_can_sign(db, mk, cfg, f->id_token_alg) != 0)
		goto out;
	r = client_create(db, &c, clock_now(), secret, &why);
	if (r == PC_ERR_INVALID && why != NULL) {
		fprintf(stderr, "portcullis: client refused: %s\n", why);
		goto out;
	}
	if (r != 0) {
		fprintf(stderr, "portcullis: cannot add the client: %s\n",
		    pc_strerror(r));
		goto out;
	}
	/* AU-01; never the secret. */
	d = json_pack("{s:s, s:b, s:s}", "name", c.name, "public", c.is_public,
	    "token_endpoint_auth_method", c.auth_method);
	r = cli_audit(db, mk, "client.created", c.client_id, d);
	json_decref(d);
	if (r != 0)
		goto out;
	if (f->common.json) {
		print_json(client_json(&c, -1), JSON_COMPACT,
		    secret[0] != '\0' ? secret : NULL);
	} else {
		printf("added %s client %s (%s)\n",
		    c.is_public ? "public" : "confidential", c.client_id,
		    c.name);
		if (secret[0] != '\0')
			printf("client_secret: %s\n"
			       "(shown once: it is stored only as a hash)\n",
			    secret);
	}
	fflush(stdout);
	rc = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	store_client_clear(&c);
	return rc;
}

static int
update(struct db *db, const struct masterkey *mk, const struct config *cfg,
    const struct client_flags *f)
{
	struct store_client c;
	const char *why = NULL;
	bool had_secret;
	int r, rc = 1;

	if (find(db, f->id, &c) != 0)
		return 1;
	had_secret = client_auth_method_uses_secret(c.auth_method);
	if (apply(f, &c) != 0)
		goto out;
	if (f->id_token_alg != NULL &&
	    alg_can_sign(db, mk, cfg, f->id_token_alg) != 0)
		goto out;
	r = client_update(db, &c, clock_now(), &why);
	if (r == PC_ERR_INVALID && why != NULL) {
		fprintf(stderr, "portcullis: client refused: %s\n", why);
		goto out;
	}
	if (r != 0) {
		fprintf(stderr, "portcullis: cannot update the client: %s\n",
		    pc_strerror(r));
		goto out;
	}
	if (cli_audit(db, mk, "client.updated", c.client_id, NULL) != 0)
		goto out;
	if (f->common.json)
		print_json(
		    client_json(&c, (json_int_t)secret_count(db, c.client_id)),
		    JSON_INDENT(2), NULL);
	else
		printf("updated client %s\n", c.client_id);
	if (!had_secret && client_auth_method_uses_secret(c.auth_method))
		fprintf(stderr,
		    "portcullis: the client has no secret yet: run 'client "
		    "rotate-secret --id %s'\n",
		    c.client_id);
	rc = 0;
out:
	store_client_clear(&c);
	return rc;
}

static int
rotate(struct db *db, const struct masterkey *mk, const struct config *cfg,
    const struct client_flags *f)
{
	struct store_client c;
	char secret[CLIENT_SECRET_LEN + 1];
	int64_t now = clock_now();
	json_t *d;
	int r, rc = 1;

	secret[0] = '\0';
	if (find(db, f->id, &c) != 0)
		return 1;
	r = client_rotate_secret(
	    db, c.client_id, cfg->client_secret_overlap, now, secret);
	if (r == PC_ERR_INVALID) {
		fprintf(stderr,
		    "portcullis: client %s does not use a secret (auth method "
		    "%s)\n",
		    c.client_id, c.auth_method);
		goto out;
	}
	if (r != 0) {
		fprintf(stderr, "portcullis: cannot rotate the secret: %s\n",
		    pc_strerror(r));
		goto out;
	}
	d = json_pack(
	    "{s:I}", "overlap_seconds", (json_int_t)cfg->client_secret_overlap);
	r = cli_audit(db, mk, "client.secret_rotated", c.client_id, d);
	json_decref(d);
	if (r != 0)
		goto out;
	if (f->common.json) {
		int64_t until = now + cfg->client_secret_overlap;
		json_t *o = json_pack("{s:s, s:I}", "client_id", c.client_id,
		    "previous_secret_expires_at", (json_int_t)until);

		print_json(o, JSON_COMPACT, secret);
	} else {
		char t[32];

		iso(now + cfg->client_secret_overlap, t, sizeof(t));
		printf("client_secret: %s\n"
		       "(shown once: it is stored only as a hash)\n"
		       "the previous secret works until %s\n",
		    secret, t);
	}
	fflush(stdout);
	rc = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	store_client_clear(&c);
	return rc;
}

static int
list(struct db *db, bool as_json)
{
	struct store_client *v = NULL;
	size_t n = 0;
	int r;

	if ((r = store_clients_list(db, &v, &n)) != 0) {
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
		return 1;
	}
	if (as_json) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, client_json(&v[i], -1));
		print_json(a, JSON_INDENT(2), NULL);
	} else {
		printf("%-26s %-12s %-20s %s\n", "CLIENT_ID", "TYPE",
		    "AUTH_METHOD", "NAME");
		for (size_t i = 0; i < n; i++)
			printf("%-26s %-12s %-20s %s\n", v[i].client_id,
			    v[i].is_public ? "public" : "confidential",
			    v[i].auth_method, v[i].name);
	}
	store_clients_free(v, n);
	return 0;
}

static int
run(struct db *db, const struct masterkey *mk, const struct config *cfg,
    const struct sub *sub, const struct client_flags *f)
{
	struct store_client c;
	const char *s = sub->name;
	int r;

	if (strcmp(s, "add") == 0)
		return add(db, mk, cfg, f);
	if (strcmp(s, "list") == 0)
		return list(db, f->common.json);
	if (strcmp(s, "update") == 0)
		return update(db, mk, cfg, f);
	if (strcmp(s, "rotate-secret") == 0)
		return rotate(db, mk, cfg, f);
	if (find(db, f->id, &c) != 0)
		return 1;
	if (strcmp(s, "show") == 0) {
		size_t n = secret_count(db, c.client_id);

		if (f->common.json)
			print_json(client_json(&c, (json_int_t)n),
			    JSON_INDENT(2), NULL);
		else
			print_client(&c, n);
		r = 0;
	} else {
		if ((r = store_client_delete(db, c.client_id, clock_now())) ==
			0 &&
		    (r = cli_audit(
			 db, mk, "client.deleted", c.client_id, NULL)) == 0)
			printf("deleted client %s\n", c.client_id);
		if (r != 0)
			fprintf(stderr, "portcullis: client delete: %s\n",
			    pc_strerror(r));
	}
	store_client_clear(&c);
	return r == 0 ? 0 : 1;
}

int
cmd_client(int argc, char **argv)
{
	const struct sub *sub = NULL;
	struct client_flags f;
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
		    "expected 'client add', 'list', 'show', 'update', "
		    "'rotate-secret' or 'delete'");
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
