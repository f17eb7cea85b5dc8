/*
 * What `portcullis client` shows and checks beside the store: a client as
 * text and as JSON, the JWKS file of a private_key_jwt client (read
 * whole, at most 64 KiB), and whether an ID token algorithm can sign now
 * (OI-10).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "oauth/oauth.h"
#include "store/store.h"

/* The whole file, at most CLIENT_JWKS_MAX bytes, NUL-terminated. */
int
cli_client_read_jwks(const char *path, char **out)
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

static json_t *
strv_json(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *
words_json(const char *p)
{
	json_t *a = json_array();

	while (a != NULL && *p != '\0') {
		size_t n = strcspn(p, " ");

		if (n > 0)
			json_array_append_new(a, json_stringn(p, n));
		p += n;
		while (*p == ' ')
			p++;
	}
	return a;
}

json_t *
cli_client_json(const struct store_client *c, json_int_t secrets)
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
	o = json_pack("{s:s, s:s, s:b, s:s, s:o, s:s, s:s, s:b, s:b, s:b, "
		      "s:o, s:o, s:o, s:o}",
	    "client_id", c->client_id, "name", c->name, "public", c->is_public,
	    "token_endpoint_auth_method", c->auth_method, "grant_types", grants,
	    "scope", c->scopes, "id_token_signed_response_alg", c->id_token_alg,
	    "first_party", c->first_party, "id_token_on_refresh",
	    c->id_token_on_refresh, "has_jwks", c->jwks != NULL,
	    "redirect_uris", strv_json(c->redirect_uris, c->n_redirect_uris),
	    "post_logout_redirect_uris",
	    strv_json(c->post_logout_uris, c->n_post_logout_uris), "created_at",
	    cli_json_time(c->created_at), "updated_at",
	    cli_json_time(c->updated_at));
	if (o != NULL)
		json_object_set_new(o, "service_account_id",
		    c->service_account_id != NULL
			? json_string(c->service_account_id)
			: json_null());
	if (o != NULL) {
		json_object_set_new(
		    o, "dpop_required", json_boolean(c->dpop_required));
		json_object_set_new(
		    o, "par_required", json_boolean(c->par_required));
		json_object_set_new(o, "cors_origins",
		    words_json(c->cors_origins != NULL ? c->cors_origins : ""));
		json_object_set_new(o, "allow_impersonation",
		    json_boolean(c->allow_impersonation));
		json_object_set_new(
		    o, "require_mfa", json_boolean(c->require_mfa));
	}
	if (o != NULL && secrets >= 0)
		json_object_set_new(o, "active_secrets", json_integer(secrets));
	return o;
}

static void
print_uris(const char *label, char **v, size_t n)
{
	if (n == 0)
		printf("%-27s -\n", label);
	for (size_t i = 0; i < n; i++)
		printf("%-27s %s\n", i == 0 ? label : "", v[i]);
}

void
cli_client_print(const struct store_client *c, size_t secrets)
{
	char t[CLI_TIME_MAX];

	cli_time(t, c->created_at, false);
	printf("%-27s %s\n%-27s %s\n%-27s %s\n%-27s %s\n%-27s %s\n"
	       "%-27s %s\n%-27s %s\n%-27s %s\n%-27s %s\n%-27s %s\n"
	       "%-27s %zu\n",
	    "client_id:", c->client_id, "name:", c->name,
	    "type:", c->is_public ? "public" : "confidential",
	    "token_endpoint_auth_method:", c->auth_method,
	    "grant_types:", c->grant_types, "scope:", c->scopes,
	    "id_token_alg:", c->id_token_alg,
	    "first_party:", c->first_party ? "yes" : "no",
	    "id_token_on_refresh:", c->id_token_on_refresh ? "yes" : "no",
	    "created_at:", t, "active_secrets:", secrets);
	if (c->service_account_id != NULL)
		printf("%-27s %s\n", "service_account:", c->service_account_id);
	printf("%-27s %s\n", "dpop_required:", c->dpop_required ? "yes" : "no");
	print_uris("redirect_uris:", c->redirect_uris, c->n_redirect_uris);
	print_uris("post_logout_redirect_uris:", c->post_logout_uris,
	    c->n_post_logout_uris);
	if (c->par_required)
		printf("%-27s %s\n", "par_required:", "yes");
	if (c->require_mfa)
		printf("%-27s %s\n", "require_mfa:", "yes");
	if (c->cors_origins != NULL && c->cors_origins[0] != '\0')
		printf("%-27s %s\n", "cors_origins:", c->cors_origins);
}

/*
 * OI-10: the ID token algorithm given must sign now, with an active key:
 * a pending key signs only from its activation, and until then the
 * client's sign-ins would end in server_error at /authorize. On a store
 * that has no ES256 or RS256 key yet, the first start makes them. 0, or
 * 1 after saying why and what to do.
 */
int
cli_client_alg_can_sign(struct db *db, const struct masterkey *mk,
    const struct config *cfg, const char *name)
{
	enum jose_alg alg = jose_alg_parse(name, strlen(name));
	struct signer *s = NULL;
	struct signer_key_info *v = NULL;
	size_t n = 0, rows = 0;
	int64_t now = clock_now(), from = 0;
	char when[CLI_TIME_MAX];
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
		cli_time(when, from, false);
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
