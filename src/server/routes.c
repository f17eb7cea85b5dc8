/* The route table: method, path, handler, body cap and caching for every
 * endpoint. */
#include "oauth/oauth.h"
#include "server/server.h"

static const struct route routes[] = {
	{ "/.well-known/openid-configuration", HTTP_GET | HTTP_HEAD,
	    oauth_discovery, 0, RESP_PUBLIC_SHORT, false },
	{ "/.well-known/oauth-authorization-server", HTTP_GET | HTTP_HEAD,
	    oauth_discovery, 0, RESP_PUBLIC_SHORT, false },
	{ "/jwks.json", HTTP_GET | HTTP_HEAD, oauth_jwks, 0, RESP_PUBLIC_SHORT,
	    false },
	{ "/healthz", HTTP_GET | HTTP_HEAD, health_live, 0, RESP_NO_STORE,
	    true },
	{ "/readyz", HTTP_GET | HTTP_HEAD, health_ready, 0, RESP_NO_STORE,
	    true },
};

const struct router server_router = { routes, PC_NELEM(routes) };
