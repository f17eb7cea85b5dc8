/*
 * Discovery (RFC 8414, OpenID Connect Discovery 1.0) and the JWKS. The
 * document advertises only what is implemented; every URL comes from the
 * configured issuer, never from Host (SECURITY.md OI-10, HT-04).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "oauth/oauth.h"
#include "util/config.h"
#include "util/log.h"

static json_t *
url(const char *issuer, const char *path)
{
	size_t n = strlen(issuer) + strlen(path) + 1;
	char *u = xmalloc(n);
	json_t *j;

	snprintf(u, n, "%s%s", issuer, path);
	j = json_string(u);
	free(u);
	return j;
}

int
discovery_build(struct app *app)
{
	const char *iss = app->cfg->issuer;
	json_t *d = json_object();
	char *s;

	json_object_set_new(d, "issuer", json_string(iss));
	json_object_set_new(d, "jwks_uri", url(iss, "/jwks.json"));
	json_object_set_new(d, "token_endpoint", url(iss, "/token"));
	/* RP-Initiated Logout 1.0 (src/web/logout.c, OI-11). */
	json_object_set_new(d, "end_session_endpoint", url(iss, "/logout"));
	json_object_set_new(
	    d, "grant_types_supported", json_pack("[s]", "client_credentials"));
	json_object_set_new(d, "token_endpoint_auth_methods_supported",
	    json_pack("[s, s, s]", "client_secret_basic", "client_secret_post",
		"private_key_jwt"));
	/* private_key_jwt assertions (src/oauth/client_assertion.c). */
	json_object_set_new(d,
	    "token_endpoint_auth_signing_alg_values_supported",
	    json_pack("[s, s, s, s]", "ES256", "RS256", "PS256", "EdDSA"));
	/*
	 * The resource endpoints (userinfo.c, introspect.c, revoke.c). They
	 * authenticate clients through the same client_authenticate() as
	 * /token, so they offer its methods: introspection without "none"
	 * (no public clients, IR-01), revocation with it (IR-04).
	 */
	json_object_set_new(d, "userinfo_endpoint", url(iss, "/userinfo"));
	json_object_set_new(
	    d, "introspection_endpoint", url(iss, "/introspect"));
	json_object_set_new(d, "revocation_endpoint", url(iss, "/revoke"));
	{
		const json_t *tm =
		    json_object_get(d, "token_endpoint_auth_methods_supported");
		const json_t *ta = json_object_get(
		    d, "token_endpoint_auth_signing_alg_values_supported");
		json_t *im = json_array(), *rm = json_array(), *v;
		size_t i;
		bool none = false;

		json_array_foreach(tm, i, v)
		{
			if (strcmp(json_string_value(v), "none") == 0)
				none = true;
			else
				json_array_append(im, v);
			json_array_append(rm, v);
		}
		if (!none)
			json_array_append_new(rm, json_string("none"));
		json_object_set_new(
		    d, "introspection_endpoint_auth_methods_supported", im);
		json_object_set_new(
		    d, "revocation_endpoint_auth_methods_supported", rm);
		if (ta != NULL) {
			json_object_set_new(d,
			    "introspection_endpoint_auth_signing_alg_values_"
			    "supported",
			    json_deep_copy(ta));
			json_object_set_new(d,
			    "revocation_endpoint_auth_signing_alg_values_"
			    "supported",
			    json_deep_copy(ta));
		}
	}
	s = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(d);
	if (s == NULL)
		return PC_ERR_INTERNAL;
	free(app->discovery);
	app->discovery = s;
	app->discovery_len = strlen(s);
	return 0;
}

void
oauth_discovery(struct req *r, struct resp *w)
{
	const struct app *app = r->app;

	if (resp_json_raw(w, 200, app->discovery, app->discovery_len) != 0)
		resp_error(w, r, 500, "server_error", NULL);
}

void
oauth_jwks(struct req *r, struct resp *w)
{
	const struct app *app = r->app;
	char *jwks = NULL;
	size_t len = 0;

	if (signer_jwks(app->signer, r->now, &jwks, &len) != 0 ||
	    resp_json_raw(w, 200, jwks, len) != 0) {
		resp_error(w, r, 503, "temporarily_unavailable",
		    "Signing keys are unavailable.");
		free(jwks);
		return;
	}
	w->content_type = "application/jwk-set+json";
	free(jwks);
}
