/*
 * Discovery (RFC 8414, OpenID Connect Discovery 1.0) and the JWKS. The
 * document advertises only what is implemented, and ID token algorithms
 * only while a key of them signs; every URL comes from the configured
 * issuer, never from Host (SECURITY.md OI-10, HT-04).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/mfa.h"
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

/* Every method client_authenticate() (client_auth.c) accepts at /token. */
static json_t *
auth_methods(bool with_none)
{
	json_t *a = json_pack("[s, s, s]", "client_secret_basic",
	    "client_secret_post", "private_key_jwt");

	if (with_none)
		json_array_append_new(a, json_string("none"));
	return a;
}

/* The algorithms client_assertion.c accepts for private_key_jwt. */
static json_t *
assertion_algs(void)
{
	return json_pack("[s, s, s]", "ES256", "RS256", "PS256");
}

/* The ID token algorithms tokens.c can sign with, in advertised order. */
static const enum jose_alg id_token_algs[] = { JOSE_ALG_RS256, JOSE_ALG_ES256,
	JOSE_ALG_PS256, JOSE_ALG_EDDSA };

_Static_assert(
    PC_NELEM(((struct app *)0)->discovery) == 1U << PC_NELEM(id_token_algs),
    "one discovery document per set of ID token algorithms");

static json_t *
id_token_alg_list(unsigned mask)
{
	json_t *a = json_array();

	for (size_t i = 0; i < PC_NELEM(id_token_algs); i++)
		if ((mask & (1U << i)) != 0)
			json_array_append_new(
			    a, json_string(jose_alg_name(id_token_algs[i])));
	return a;
}

static int build_one(struct app *app, unsigned mask);

int
discovery_build(struct app *app)
{
	for (unsigned m = 0; m < PC_NELEM(app->discovery); m++) {
		int r = build_one(app, m);

		if (r != 0)
			return r;
	}
	return 0;
}

void
discovery_free(struct app *app)
{
	for (size_t m = 0; m < PC_NELEM(app->discovery); m++) {
		free(app->discovery[m]);
		app->discovery[m] = NULL;
	}
}

static int
build_one(struct app *app, unsigned mask)
{
	const char *iss = app->cfg->issuer;
	json_t *d = json_object();
	char *s;

	json_object_set_new(d, "issuer", json_string(iss));
	json_object_set_new(
	    d, "authorization_endpoint", url(iss, "/authorize"));
	json_object_set_new(d, "token_endpoint", url(iss, "/token"));
	json_object_set_new(d, "userinfo_endpoint", url(iss, "/userinfo"));
	json_object_set_new(d, "jwks_uri", url(iss, "/jwks.json"));
	json_object_set_new(
	    d, "introspection_endpoint", url(iss, "/introspect"));
	json_object_set_new(d, "revocation_endpoint", url(iss, "/revoke"));
	/* RP-Initiated Logout 1.0 (src/web/logout.c, OI-11). */
	json_object_set_new(d, "end_session_endpoint", url(iss, "/logout"));
	/* The authorization endpoint (src/web/authorize.c). */
	json_object_set_new(d, "scopes_supported",
	    json_pack("[s, s, s, s, s]", "openid", "profile", "email",
		"offline_access", "groups"));
	json_object_set_new(
	    d, "response_types_supported", json_pack("[s]", "code"));
	json_object_set_new(
	    d, "response_modes_supported", json_pack("[s]", "query"));
	json_object_set_new(d, "grant_types_supported",
	    json_pack("[s, s, s, s]", "authorization_code", "refresh_token",
		"client_credentials",
		"urn:ietf:params:oauth:grant-type:token-exchange"));
	json_object_set_new(
	    d, "code_challenge_methods_supported", json_pack("[s]", "S256"));
	json_object_set_new(
	    d, "authorization_response_iss_parameter_supported", json_true());
	json_object_set_new(d, "prompt_values_supported",
	    json_pack(
		"[s, s, s, s]", "none", "login", "consent", "select_account"));
	json_object_set_new(d, "request_parameter_supported", json_false());
	json_object_set_new(d, "request_uri_parameter_supported", json_false());
	/* RFC 9126 (src/oauth/par.c): request_uri only as /par gave it. */
	json_object_set_new(
	    d, "pushed_authorization_request_endpoint", url(iss, "/par"));
	json_object_set_new(d, "require_pushed_authorization_requests",
	    json_boolean(app->cfg->par_required));
	json_object_set_new(d, "claims_parameter_supported", json_false());
	json_object_set_new(
	    d, "subject_types_supported", json_pack("[s]", "public"));
	/* tokens.c: ID tokens with the client's alg, advertised only while
	 * an active key of it exists (oauth_discovery picks the document);
	 * access tokens ES256 (RFC 9068). */
	json_object_set_new(d, "id_token_signing_alg_values_supported",
	    id_token_alg_list(mask));
	json_object_set_new(d, "claims_supported",
	    json_pack("[s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s]", "sub",
		"iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr",
		"sid", "at_hash", "email", "email_verified", "name",
		"updated_at", "groups"));
	/* Issue 16 (auth/mfa.c mfa_acr(), docs/mfa.md): the acr values an
	 * ID token may carry, which acr_values may ask for. */
	json_object_set_new(d, "acr_values_supported",
	    json_pack("[s, s, s]", ACR_PWD, ACR_MFA, ACR_PHR));
	/*
	 * Client authentication (client_auth.c): /token and /revoke also take
	 * public clients ("none"); introspection does not (IR-01).
	 */
	json_object_set_new(
	    d, "token_endpoint_auth_methods_supported", auth_methods(true));
	json_object_set_new(d,
	    "token_endpoint_auth_signing_alg_values_supported",
	    assertion_algs());
	json_object_set_new(d, "introspection_endpoint_auth_methods_supported",
	    auth_methods(false));
	json_object_set_new(d,
	    "introspection_endpoint_auth_signing_alg_values_supported",
	    assertion_algs());
	json_object_set_new(d, "revocation_endpoint_auth_methods_supported",
	    auth_methods(true));
	json_object_set_new(d,
	    "revocation_endpoint_auth_signing_alg_values_supported",
	    assertion_algs());
	/* Issue 15 item 6 (register.c, client_metadata.c; decision 0063). */
	if (strcmp(app->cfg->client_registration, "off") != 0)
		json_object_set_new(
		    d, "registration_endpoint", url(iss, "/oauth/register"));
	json_object_set_new(d, "client_id_metadata_document_supported",
	    json_boolean(app->cfg->client_metadata_documents));
	/* DPoP (oauth/dpop.c, RFC 9449 §5.1): the proof algorithms. */
	json_object_set_new(d, "dpop_signing_alg_values_supported",
	    json_pack("[s, s, s, s]", "ES256", "RS256", "PS256", "EdDSA"));
	s = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(d);
	if (s == NULL)
		return PC_ERR_INTERNAL;
	free(app->discovery[mask]);
	app->discovery[mask] = s;
	app->discovery_len[mask] = strlen(s);
	return 0;
}

/*
 * The document for the keys as they are now: an algorithm is advertised
 * while it has an active key (a pending one does not sign yet, and a
 * client asking for it would get server_error at /authorize).
 */
void
oauth_discovery(struct req *r, struct resp *w)
{
	const struct app *app = r->app;
	unsigned mask = signer_can_sign_mask(
	    app->signer, id_token_algs, PC_NELEM(id_token_algs), r->now);

	if (resp_json_raw(
		w, 200, app->discovery[mask], app->discovery_len[mask]) != 0)
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
