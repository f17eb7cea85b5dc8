/*
 * portcullis client add | list | show | update | rotate-secret | delete.
 *
 * A client secret is generated here, printed once (add, rotate-secret) and
 * then only its SHA-256 exists (TK-08); it never reaches the audit log or
 * any other log. Redirect URIs are checked at registration (AZ-04): a
 * refused one exits 1 with the reason and creates nothing. Usage errors
 * exit 2. Rendering, the JWKS file and the signing check are in
 * src/cli/client_show.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "machine/machine.h"
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
    "                             [--no-id-token-on-refresh]\n"
    "                             [--service-account svc_...]\n"
    "                             [--dpop-required]\n"
    "                             [--par-required] [--cors-origin ORIGIN "
    "...]\n"
    "                             [--allow-impersonation]\n"
    "                             [--require-mfa]\n"
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
    "                             [--jwks-file FILE]\n"
    "                             [--id-token-on-refresh | "
    "--no-id-token-on-refresh]\n"
    "                             [--service-account svc_... | "
    "--no-service-account]\n"
    "                             [--par-required | --no-par-required]\n"
    "                             [--cors-origin ORIGIN ... | "
    "--no-cors-origins]\n"
    "                             [--allow-impersonation | "
    "--no-allow-impersonation]\n"
    "                             [--require-mfa | --no-require-mfa]\n"
    "                             [--json]\n"
    "                             [--dpop-required | --no-dpop-required]\n"
    "       portcullis client rotate-secret --id CLIENT_ID [--json]\n"
    "       portcullis client delete --id CLIENT_ID\n"
    "       portcullis client registration-token add|list|revoke "
    "(see its --help)\n"
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
    "               email. --no-id-token-on-refresh: a refresh answers\n"
    "               without an ID token (OIDC Core 12.2), saving its\n"
    "               signature; the default re-issues it.\n"
    "               --service-account: a confidential client whose\n"
    "               client_credentials tokens are the service account's\n"
    "               (sub = svc_..., AK-08); private_key_jwt is the\n"
    "               preferred method. Default grant client_credentials,\n"
    "               default scope the account's.\n"
    "               --dpop-required: /token answers it only with a DPoP\n"
    "               proof (RFC 9449): its tokens are bound to its key.\n"
    "               --par-required: /authorize takes its requests only\n"
    "               through /par (RFC 9126; also the par_required\n"
    "               setting for all). --cors-origin: a browser origin\n"
    "               (https://host[:port]) whose JavaScript may read\n"
    "               /token, /revoke and /userinfo answers; a public\n"
    "               client's redirect URI origins need no listing.\n"
    "               --require-mfa: every sign-in for it needs a second\n"
    "               factor (amr mfa); a user without one gets\n"
    "               unmet_authentication_requirements (docs/mfa.md).\n"
    "update         changes the given fields; --redirect-uri and\n"
    "               --post-logout-redirect-uri replace their whole list.\n"
    "rotate-secret  issues a new secret (printed once); the previous one\n"
    "               keeps working for client_secret_overlap (24h).\n"
    "delete         removes the client; its id is never given out again.\n"
    "\n"
    "Redirect URIs must be https, http only to 127.0.0.1 or [::1], or a\n"
    "private-use scheme (com.example.app:/cb) for public clients; no\n"
    "fragment, wildcard or userinfo.\n";

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

/* Applies the flags to c (add: a zeroed client; update: the stored one). */
static void
set_list(const struct cli_ctx *ctx, const char *opt, char ***v, size_t *n)
{
	const char *given[CLIENT_URIS_MAX];
	size_t k = cli_all(ctx, opt, given, PC_NELEM(given));

	if (k == 0)
		return;
	strv_free(*v, *n);
	*v = strv_dup(given, k);
	*n = k;
}

/* Every value of a repeated option, space-separated, into *field. */
static void
set_words(const struct cli_ctx *ctx, const char *opt, char **field)
{
	const char *given[CLIENT_URIS_MAX];
	size_t k = cli_all(ctx, opt, given, PC_NELEM(given));
	struct buf b;

	if (k == 0)
		return;
	buf_init(&b, 64 * 1024);
	for (size_t i = 0; i < k; i++)
		if ((i > 0 && buf_putc(&b, ' ') != 0) ||
		    buf_puts(&b, given[i]) != 0)
			fatal("out of memory");
	free(*field);
	*field = xstrdup(buf_cstr(&b));
	buf_free(&b);
}

static int
apply(const struct cli_ctx *ctx, struct store_client *c)
{
	const char *grant = cli_get(ctx, "grant");
	const char *method = cli_get(ctx, "auth-method");
	const char *jwks_file = cli_get(ctx, "jwks-file");

	xstrset(&c->name, cli_get(ctx, "name"));
	set_list(ctx, "redirect-uri", &c->redirect_uris, &c->n_redirect_uris);
	set_list(ctx, "post-logout-redirect-uri", &c->post_logout_uris,
	    &c->n_post_logout_uris);
	if (grant != NULL) {
		free(c->grant_types);
		c->grant_types = grant_list(grant);
	}
	xstrset(&c->scopes, cli_get(ctx, "scope"));
	xstrset(&c->auth_method, method);
	/* A JWKS only stays with private_key_jwt. */
	if (method != NULL && strcmp(method, "private_key_jwt") != 0) {
		free(c->jwks);
		c->jwks = NULL;
	}
	xstrset(&c->id_token_alg, cli_get(ctx, "id-token-alg"));
	if (cli_has(ctx, "first-party"))
		c->first_party = true;
	if (cli_has(ctx, "no-first-party"))
		c->first_party = false;
	if (cli_has(ctx, "service-account"))
		xstrset(
		    &c->service_account_id, cli_get(ctx, "service-account"));
	if (cli_has(ctx, "no-service-account")) {
		free(c->service_account_id);
		c->service_account_id = NULL;
	}
	/* Issue 15, TX-01: its exchanges may drop act when it asks. */
	if (cli_has(ctx, "allow-impersonation"))
		c->allow_impersonation = true;
	if (cli_has(ctx, "no-allow-impersonation"))
		c->allow_impersonation = false;
	if (cli_has(ctx, "id-token-on-refresh"))
		c->id_token_on_refresh = true;
	if (cli_has(ctx, "no-id-token-on-refresh"))
		c->id_token_on_refresh = false;
	if (cli_has(ctx, "dpop-required"))
		c->dpop_required = true;
	if (cli_has(ctx, "no-dpop-required"))
		c->dpop_required = false;
	if (cli_has(ctx, "par-required"))
		c->par_required = true;
	if (cli_has(ctx, "no-par-required"))
		c->par_required = false;
	/* Issue 16: a second factor for every sign-in (oauth/authz.c). */
	if (cli_has(ctx, "require-mfa"))
		c->require_mfa = true;
	if (cli_has(ctx, "no-require-mfa"))
		c->require_mfa = false;
	set_words(ctx, "cors-origin", &c->cors_origins);
	if (cli_has(ctx, "no-cors-origins")) {
		free(c->cors_origins);
		c->cors_origins = xstrdup("");
	}
	if (jwks_file != NULL) {
		free(c->jwks);
		c->jwks = NULL;
		if (cli_client_read_jwks(jwks_file, &c->jwks) != 0)
			return 1;
	}
	return 0;
}

/* The client named by --id. */
static int
find(const struct cli_ctx *ctx, struct store_client *c)
{
	const char *id = cli_get(ctx, "id");
	int r = client_id_valid(id) ? store_client_get(ctx->db, id, c)
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

/* The ID token algorithm given must sign now (OI-10). */
static int
alg_ok(const struct cli_ctx *ctx)
{
	const char *alg = cli_get(ctx, "id-token-alg");

	return alg == NULL ||
	    cli_client_alg_can_sign(ctx->db, ctx->mk, &ctx->cfg, alg) == 0;
}

/*
 * What client_create or client_update said, for the operator: the rule a
 * refused client broke, or the error. Returns r.
 */
static int
report(int r, const char *why, const char *doing)
{
	if (r == PC_ERR_INVALID && why != NULL)
		fprintf(stderr, "portcullis: client refused: %s\n", why);
	else if (r != 0)
		fprintf(stderr, "portcullis: cannot %s the client: %s\n", doing,
		    pc_strerror(r));
	return r;
}

/* A new secret, in text: shown this once, as only its hash is kept. */
static void
print_secret(const char *secret)
{
	printf("client_secret: %s\n"
	       "(shown once: it is stored only as a hash)\n",
	    secret);
}

/* The end of add and rotate-secret: the secret wiped, the client freed. */
static int
finish(
    int rc, char secret[static CLIENT_SECRET_LEN + 1], struct store_client *c)
{
	sodium_memzero(secret, CLIENT_SECRET_LEN + 1);
	store_client_clear(c);
	return rc;
}

/* AK-08: the defaults of a client bound to a service account
 * (client_bound_defaults, shared with the admin API). */
static int
bound_defaults(const struct cli_ctx *ctx, struct store_client *c)
{
	int r = client_bound_defaults(ctx->db, c, cli_get(ctx, "grant") != NULL,
	    cli_get(ctx, "scope") != NULL);

	if (r != 0)
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
	return r != 0 ? 1 : 0;
}

static int
add(struct cli_ctx *ctx)
{
	struct db *db = ctx->db;
	struct store_client c;
	char secret[CLIENT_SECRET_LEN + 1];
	const char *why = NULL;
	json_t *d;
	int r, rc = 1;

	memset(&c, 0, sizeof(c));
	secret[0] = '\0';
	c.is_public = cli_has(ctx, "public");
	c.id_token_on_refresh = true; /* the store's default */
	if (apply(ctx, &c) != 0 || !alg_ok(ctx) || bound_defaults(ctx, &c) != 0)
		goto out;
	r = client_create(db, &c, clock_now(), secret, &why);
	if (report(r, why, "add") != 0)
		goto out;
	/* AU-01; never the secret. */
	d = json_pack("{s:s, s:b, s:s, s:s?}", "name", c.name, "public",
	    c.is_public, "token_endpoint_auth_method", c.auth_method,
	    "service_account", c.service_account_id);
	if (cli_audit(db, ctx->mk, "client.created", c.client_id, d) != 0)
		goto out;
	if (cli_has(ctx, "json")) {
		cli_json_print_secret(cli_client_json(&c, -1), JSON_COMPACT,
		    "client_secret", secret[0] != '\0' ? secret : NULL);
	} else {
		printf("added %s client %s (%s)\n",
		    c.is_public ? "public" : "confidential", c.client_id,
		    c.name);
		if (secret[0] != '\0')
			print_secret(secret);
	}
	fflush(stdout);
	rc = 0;
out:
	return finish(rc, secret, &c);
}

static int
update(struct cli_ctx *ctx)
{
	struct db *db = ctx->db;
	struct store_client c;
	const char *why = NULL;
	bool had_secret;
	int r, rc = 1;

	if (find(ctx, &c) != 0)
		return 1;
	had_secret = client_auth_method_uses_secret(c.auth_method);
	if (apply(ctx, &c) != 0 || !alg_ok(ctx))
		goto out;
	r = client_update(db, &c, clock_now(), &why);
	if (report(r, why, "update") != 0)
		goto out;
	if (cli_audit(db, ctx->mk, "client.updated", c.client_id,
		json_pack("{s:s?}", "service_account", c.service_account_id)) !=
	    0)
		goto out;
	if (cli_has(ctx, "json"))
		cli_json_print(cli_client_json(&c,
				   (json_int_t)secret_count(db, c.client_id)),
		    JSON_INDENT(2));
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
rotate(struct cli_ctx *ctx)
{
	struct db *db = ctx->db;
	const struct config *cfg = &ctx->cfg;
	struct store_client c;
	char secret[CLIENT_SECRET_LEN + 1];
	int64_t now = clock_now();
	json_t *d;
	int r, rc = 1;

	secret[0] = '\0';
	if (find(ctx, &c) != 0)
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
	if (cli_audit(db, ctx->mk, "client.secret_rotated", c.client_id, d) !=
	    0)
		goto out;
	if (cli_has(ctx, "json")) {
		int64_t until = now + cfg->client_secret_overlap;
		json_t *o = json_pack("{s:s, s:o}", "client_id", c.client_id,
		    "previous_secret_expires_at", cli_json_time(until));

		cli_json_print_secret(o, JSON_COMPACT, "client_secret", secret);
	} else {
		char t[CLI_TIME_MAX];

		cli_time(t, now + cfg->client_secret_overlap, false);
		print_secret(secret);
		printf("the previous secret works until %s\n", t);
	}
	fflush(stdout);
	rc = 0;
out:
	return finish(rc, secret, &c);
}

static int
list(struct cli_ctx *ctx)
{
	struct db *db = ctx->db;
	struct store_client *v = NULL;
	size_t n = 0;
	int r;

	if ((r = store_clients_list(db, &v, &n)) != 0) {
		fprintf(stderr, "portcullis: %s\n", pc_strerror(r));
		return 1;
	}
	if (cli_has(ctx, "json")) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, cli_client_json(&v[i], -1));
		cli_json_print(a, JSON_INDENT(2));
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
show(struct cli_ctx *ctx)
{
	struct store_client c;
	size_t n;

	if (find(ctx, &c) != 0)
		return 1;
	n = secret_count(ctx->db, c.client_id);
	if (cli_has(ctx, "json"))
		cli_json_print(
		    cli_client_json(&c, (json_int_t)n), JSON_INDENT(2));
	else
		cli_client_print(&c, n);
	store_client_clear(&c);
	return 0;
}

static int delete (struct cli_ctx *ctx)
{
	struct store_client c;
	int r;

	if (find(ctx, &c) != 0)
		return 1;
	if ((r = store_client_delete(ctx->db, c.client_id, clock_now())) == 0 &&
	    (r = cli_audit(
		 ctx->db, ctx->mk, "client.deleted", c.client_id, NULL)) == 0)
		printf("deleted client %s\n", c.client_id);
	if (r != 0)
		fprintf(
		    stderr, "portcullis: client delete: %s\n", pc_strerror(r));
	store_client_clear(&c);
	return r == 0 ? 0 : 1;
}

/* add and update: a flag and its negation together are refused. */
static int
check_meta(const struct cli_ctx *ctx)
{
	if (cli_has(ctx, "id-token-on-refresh") &&
	    cli_has(ctx, "no-id-token-on-refresh"))
		return cli_usage(ctx,
		    "--id-token-on-refresh and --no-id-token-on-refresh "
		    "conflict");
	if (cli_has(ctx, "dpop-required") && cli_has(ctx, "no-dpop-required"))
		return cli_usage(
		    ctx, "--dpop-required and --no-dpop-required conflict");
	return 0;
}

static int
check_update(const struct cli_ctx *ctx)
{
	if (cli_has(ctx, "first-party") && cli_has(ctx, "no-first-party"))
		return cli_usage(
		    ctx, "--first-party and --no-first-party conflict");
	if (cli_has(ctx, "service-account") &&
	    cli_has(ctx, "no-service-account"))
		return cli_usage(
		    ctx, "--service-account and --no-service-account conflict");
	if (cli_has(ctx, "par-required") && cli_has(ctx, "no-par-required"))
		return cli_usage(
		    ctx, "--par-required and --no-par-required conflict");
	if (cli_has(ctx, "require-mfa") && cli_has(ctx, "no-require-mfa"))
		return cli_usage(
		    ctx, "--require-mfa and --no-require-mfa conflict");
	if (cli_has(ctx, "cors-origin") && cli_has(ctx, "no-cors-origins"))
		return cli_usage(
		    ctx, "--cors-origin and --no-cors-origins conflict");
	if (cli_has(ctx, "allow-impersonation") &&
	    cli_has(ctx, "no-allow-impersonation"))
		return cli_usage(ctx,
		    "--allow-impersonation and --no-allow-impersonation "
		    "conflict");
	return check_meta(ctx);
}

/* What add and update share: the client's metadata. */
#define META_OPTS \
	{ .name = "redirect-uri", \
		.value = "URI", \
		.help = \
		    "a redirect URI (repeat for more; update: replaces all)", \
		.max = CLIENT_URIS_MAX }, \
	    { .name = "post-logout-redirect-uri", \
		    .value = "URI", \
		    .help = \
			"where RP-initiated logout may return (repeat for " \
			"more)", \
		    .max = CLIENT_URIS_MAX }, \
	    { .name = "grant", \
		    .value = "GRANT[,GRANT...]", \
		    .help = "authorization_code (default), refresh_token, " \
			    "client_credentials" }, \
	    { .name = "scope", \
		    .value = "\"SCOPE ...\"", \
		    .help = "scopes it may ask for (default: openid profile " \
			    "email)" }, \
	    { .name = "first-party", .help = "no consent screen" }, \
	    { .name = "auth-method", \
		    .value = "METHOD", \
		    .help = "client_secret_basic (default), " \
			    "client_secret_post, private_key_jwt, none" }, \
	    { .name = "id-token-alg", \
		    .value = "ALG", \
		    .help = "RS256 (default), ES256, EdDSA, PS256" }, \
	    { .name = "jwks-file", \
		    .value = "FILE", \
		    .help = "public keys for private_key_jwt (a JWKS)" }, \
	    { .name = "id-token-on-refresh", \
		    .help = "a refresh re-issues the ID token (default)" }, \
	    { .name = "no-id-token-on-refresh", \
		    .help = "a refresh answers without an ID token" }, \
	    { .name = "service-account", \
		    .value = "svc_...", \
		    .help = "its client_credentials tokens are the service " \
			    "account's (sub = svc_...)" }, \
	    { .name = "dpop-required", \
		    .help = "tokens only with a DPoP proof (RFC 9449)" }, \
	    { .name = "no-dpop-required", \
		    .help = "tokens with or without a DPoP proof" }, \
	    { .name = "par-required", \
		    .help = "authorization requests only through /par " \
			    "(RFC 9126)" }, \
	    { .name = "cors-origin", \
		    .value = "ORIGIN", \
		    .help = "a browser origin that may call /token, /revoke, " \
			    "/userinfo (repeat; update: replaces all)", \
		    .max = CLIENT_URIS_MAX }, \
	    { .name = "allow-impersonation", \
		    .help = "its token exchanges may ask for tokens without " \
			    "act (impersonate=true; TX-01)" }, \
	    { .name = "require-mfa", \
		    .help = "every sign-in for it needs a second factor" }, \
	{ \
		.name = "json", .help = "print the client as JSON" \
	}

#define ID_OPT \
	{ \
		.name = "id", .value = "CLIENT_ID", .help = "the client", \
		.required = true \
	}

static const struct cli_opt add_opts[] = {
	{ .name = "name",
	    .value = "NAME",
	    .help = "the client's name",
	    .required = true },
	{ .name = "public",
	    .help = "a native or browser client without a secret" },
	META_OPTS,
	{ .name = NULL },
};

static const struct cli_opt list_opts[] = {
	{ .name = "json", .help = "print the clients as a JSON array" },
	{ .name = NULL },
};

static const struct cli_opt update_opts[] = {
	ID_OPT,
	{ .name = "name", .value = "NAME", .help = "the client's name" },
	{ .name = "no-first-party", .help = "show the consent screen" },
	{ .name = "no-service-account",
	    .help = "no longer bound to a service account" },
	{ .name = "no-par-required", .help = "plain /authorize is accepted" },
	{ .name = "no-cors-origins", .help = "no listed CORS origins" },
	{ .name = "no-require-mfa",
	    .help = "a password alone may sign in for it (policy allowing)" },
	{ .name = "no-allow-impersonation",
	    .help = "its exchanged tokens always record it (act)" },
	META_OPTS,
	{ .name = NULL },
};

static const struct cli_opt id_json_opts[] = {
	ID_OPT,
	{ .name = "json", .help = "print as JSON" },
	{ .name = NULL },
};

static const struct cli_opt id_opts[] = { ID_OPT, { .name = NULL } };

/* Reading needs the store; a change is audited, under the master key. */
static const struct cli_sub subs[] = {
	{ "add", add_opts, CLI_START_MASTERKEY, check_meta, add },
	{ "list", list_opts, CLI_START_STORE, NULL, list },
	{ "show", id_json_opts, CLI_START_STORE, NULL, show },
	{ "update", update_opts, CLI_START_MASTERKEY, check_update, update },
	{ "rotate-secret", id_json_opts, CLI_START_MASTERKEY, NULL, rotate },
	{ "delete", id_opts, CLI_START_MASTERKEY, NULL, delete },
};

static const struct cli_cmd cmd = { "client", usage, subs, PC_NELEM(subs) };

int
cmd_client(int argc, char **argv)
{
	/* Issue 15: initial access tokens (src/cli/client_reg.c). */
	if (argc > 1 && strcmp(argv[1], "registration-token") == 0)
		return cmd_client_registration_token(argc - 1, argv + 1);
	return cli_main(&cmd, argc, argv);
}
