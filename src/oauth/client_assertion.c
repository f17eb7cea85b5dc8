/*
 * private_key_jwt client assertions (RFC 7523 §2.2, 3; OIDC Core §9;
 * SECURITY.md TK-09). This first slice only finds the client an assertion
 * names; verification against the client's registered JWKS (with the jti
 * replay cache) is the next step, and until then every assertion fails
 * authentication (discovery does not offer private_key_jwt).
 */
#include <string.h>

#include "oauth/oauth.h"

int
client_assertion_subject(const char *assertion, const char *client_id,
    char id[CLIENT_ASSERTION_ID_MAX + 1])
{
	(void)assertion;
	if (client_id == NULL || strlen(client_id) > CLIENT_ASSERTION_ID_MAX)
		return PC_ERR_INVALID;
	memcpy(id, client_id, strlen(client_id) + 1);
	return 0;
}

int
client_assertion_verify(struct app *app, const struct store_client *c,
    const char *assertion, int64_t now)
{
	(void)app;
	(void)c;
	(void)assertion;
	(void)now;
	return PC_ERR_VERIFY;
}
