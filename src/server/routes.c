/* The route table: method, path, handler, body cap and caching for every
 * endpoint. */
#include "admin/admin.h"
#include "oauth/oauth.h"
#include "server/server.h"
#include "web/web.h"

static const struct route routes[] = {
	{ "/.well-known/openid-configuration", HTTP_GET | HTTP_HEAD,
	    oauth_discovery, 0, RESP_PUBLIC_SHORT, false },
	{ "/.well-known/oauth-authorization-server", HTTP_GET | HTTP_HEAD,
	    oauth_discovery, 0, RESP_PUBLIC_SHORT, false },
	{ "/jwks.json", HTTP_GET | HTTP_HEAD, oauth_jwks, 0, RESP_PUBLIC_SHORT,
	    false },
	{ "/token", HTTP_POST, oauth_cors_token, ROUTE_BODY_DEFAULT,
	    RESP_NO_STORE, false },
	{ "/userinfo", HTTP_GET | HTTP_POST, oauth_cors_userinfo,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	{ "/introspect", HTTP_POST, oauth_introspect, ROUTE_BODY_DEFAULT,
	    RESP_NO_STORE, false },
	{ "/revoke", HTTP_POST, oauth_cors_revoke, ROUTE_BODY_DEFAULT,
	    RESP_NO_STORE, false },
	/* No HEAD: GET /authorize may issue a code (CF-02: HEAD never acts). */
	{ "/authorize", HTTP_GET | HTTP_POST, web_authorize, ROUTE_BODY_DEFAULT,
	    RESP_NO_STORE, false },
	{ "/authorize/resume", HTTP_GET, web_authorize_resume, 0, RESP_NO_STORE,
	    false },
	{ "/authorize/consent", HTTP_POST, web_authorize_consent,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	/* CF-05: preflights, only where browser clients may read answers
	 * (src/oauth/cors.c; the metadata's GET needs none). */
	{ "/token", HTTP_OPTIONS, oauth_cors_preflight, 0, RESP_NO_STORE,
	    false },
	{ "/userinfo", HTTP_OPTIONS, oauth_cors_preflight, 0, RESP_NO_STORE,
	    false },
	{ "/revoke", HTTP_OPTIONS, oauth_cors_preflight, 0, RESP_NO_STORE,
	    false },
	{ "/par", HTTP_POST, oauth_par, ROUTE_BODY_DEFAULT, RESP_NO_STORE,
	    false },
	{ "/healthz", HTTP_GET | HTTP_HEAD, health_live, 0, RESP_NO_STORE,
	    true },
	{ "/readyz", HTTP_GET | HTTP_HEAD, health_ready, 0, RESP_NO_STORE,
	    true },
	{ "/static/style.css", HTTP_GET | HTTP_HEAD, web_style, 0,
	    RESP_PUBLIC_SHORT, false },
	{ "/login", HTTP_GET | HTTP_HEAD | HTTP_POST, web_login,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	/* The second-factor step (issue 16; h-mfa-signin). */
	{ "/login/mfa", HTTP_GET | HTTP_HEAD | HTTP_POST, web_login_mfa,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	{ "/account/mfa", HTTP_GET | HTTP_HEAD, web_account_mfa, 0,
	    RESP_NO_STORE, false },
	{ "/logout", HTTP_GET | HTTP_HEAD | HTTP_POST, web_logout,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	{ "/register", HTTP_GET | HTTP_HEAD | HTTP_POST, web_register,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	{ "/verify", HTTP_GET | HTTP_HEAD | HTTP_POST, web_verify,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	{ "/verify/resend", HTTP_POST, web_verify_resend, ROUTE_BODY_DEFAULT,
	    RESP_NO_STORE, false },
	{ "/forgot", HTTP_GET | HTTP_HEAD | HTTP_POST, web_forgot,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	{ "/reset", HTTP_GET | HTTP_HEAD | HTTP_POST, web_reset,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	{ "/account", HTTP_GET | HTTP_HEAD, web_account, 0, RESP_NO_STORE,
	    false },
	{ "/account/sessions", HTTP_POST, web_account_sessions,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	{ "/account/consents", HTTP_POST, web_account_consents,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	{ "/account/password", HTTP_POST, web_account_password,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	{ "/account/reauth", HTTP_POST, web_account_reauth, ROUTE_BODY_DEFAULT,
	    RESP_NO_STORE, false },
	{ "/account/keys", HTTP_GET | HTTP_HEAD | HTTP_POST, web_account_keys,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	/* RFC 7591 / 7592 (issue 15): off unless client_registration. */
	{ "/oauth/register", HTTP_GET | HTTP_POST | HTTP_PUT | HTTP_DELETE,
	    oauth_register, ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	{ "/account/agents", HTTP_POST, web_account_agents, ROUTE_BODY_DEFAULT,
	    RESP_NO_STORE, false },
	/* TOTP (issue 16). No HEAD: GET begins an enrolment (CF-02). */
	{ "/account/mfa/totp", HTTP_GET | HTTP_POST, web_account_totp,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	/* Recovery codes (issue 16, MF-07). */
	{ "/account/mfa/recovery", HTTP_GET | HTTP_HEAD | HTTP_POST,
	    web_account_recovery, ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	/* Passkeys (issue 16; web/passkey.c, web/account_passkeys.c). */
	{ "/passkey.js", HTTP_GET | HTTP_HEAD, web_passkey_js, 0,
	    RESP_PUBLIC_SHORT, false },
	{ "/login/passkey", HTTP_POST, web_login_passkey, ROUTE_BODY_DEFAULT,
	    RESP_NO_STORE, false },
	{ "/account/passkeys", HTTP_GET | HTTP_HEAD | HTTP_POST,
	    web_account_passkeys, ROUTE_BODY_DEFAULT, RESP_NO_STORE, false },
	/* Forward-auth (issue 17 item 5; web/fwdauth.c, decision 0075). No
	 * HEAD on start: it acts (CF-02). The /.portcullis/ paths are
	 * answered on a declared protected host only: the handler checks
	 * the Host against the declared hosts (FA-02); HT-04 holds for
	 * every other path. */
	{ "/forward-auth/verify", HTTP_GET | HTTP_HEAD, web_fwd_verify, 0,
	    RESP_NO_STORE, false },
	{ "/forward-auth/start", HTTP_GET, web_fwd_start, 0, RESP_NO_STORE,
	    false },
	{ "/.portcullis/start", HTTP_GET, web_fwd_app_start, 0, RESP_NO_STORE,
	    true },
	{ "/.portcullis/callback", HTTP_GET, web_fwd_callback, 0, RESP_NO_STORE,
	    true },
	{ "/.portcullis/logout", HTTP_GET | HTTP_POST, web_fwd_app_logout,
	    ROUTE_BODY_DEFAULT, RESP_NO_STORE, true },
	/* The admin API (issue 17 item 1, src/admin/): one prefix route;
	 * 404 here when admin_listen is set (admin_main). */
	{ ADMIN_PREFIX "/*", ADMIN_METHODS, admin_main, ADMIN_BODY_MAX,
	    RESP_NO_STORE, false },
};

/* AK-06: an API key in any route's query string is refused (and, if
 * live, revoked) before the route's handler runs. */
const struct router server_router = { routes, PC_NELEM(routes),
	oauth_apikey_url_guard };

/*
 * The admin API on admin_listen (issue 17 item 1, src/admin/): the same
 * dispatcher, any Host (an operator-chosen address). AK-06's guard too.
 */
static const struct route admin_routes[] = {
	{ ADMIN_PREFIX "/*", ADMIN_METHODS, admin_dispatch, ADMIN_BODY_MAX,
	    RESP_NO_STORE, true },
};
const struct router server_admin_router = { admin_routes,
	PC_NELEM(admin_routes), oauth_apikey_url_guard };

/*
 * /metrics on metrics_listen (issue 17 item 2, h-metrics; decision 0072):
 * the only route there. Never on the main listener (server_router).
 */
static const struct route metrics_routes[] = {
	{ "/metrics", HTTP_GET | HTTP_HEAD, server_metrics, 0, RESP_NO_STORE,
	    true },
};
const struct router server_metrics_router = { metrics_routes,
	PC_NELEM(metrics_routes), NULL };
