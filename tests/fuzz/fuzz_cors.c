/*
 * libFuzzer driver for the CORS origin checks (src/oauth/cors.c, CF-05):
 * the input is "redirect URI \n cors_origins \n Origin". Besides "no
 * crash": an Origin is allowed only if it is byte for byte one of the
 * listed origins (which must then have passed cors_origins_check()) or a
 * public client's redirect-URI origin, and never for a disabled client
 * or with a path, query, fragment, userinfo or upper-case letter.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
listed(const char *list, const char *o)
{
	size_t on = strlen(o);

	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n == on && memcmp(p, o, n) == 0)
			return true;
		p += n;
		while (*p == ' ')
			p++;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *uri, *origins, *origin, *nl;
	const char *why = NULL;
	struct store_client c;
	bool list_ok, pub, priv;

	if (size > 4096 || memchr(data, '\0', size) != NULL)
		return 0;
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	uri = s;
	if ((nl = strchr(uri, '\n')) == NULL)
		goto out;
	*nl = '\0';
	origins = nl + 1;
	if ((nl = strchr(origins, '\n')) == NULL)
		goto out;
	*nl = '\0';
	origin = nl + 1;
	list_ok = cors_origins_check(origins, &why) == 0;
	if (!list_ok && why == NULL)
		abort();
	memset(&c, 0, sizeof(c));
	c.redirect_uris = &uri;
	c.n_redirect_uris = 1;
	c.cors_origins = list_ok ? origins : (char *)"";
	c.is_public = true;
	pub = cors_client_allows(&c, origin);
	c.is_public = false;
	priv = cors_client_allows(&c, origin);
	if (priv && !(list_ok && listed(origins, origin)))
		abort();
	if (pub && !priv) {
		const char *h = strstr(origin, "://");

		if (h == NULL ||
		    strpbrk(h + 3, "/?#@ ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL)
			abort();
	}
	c.disabled_at = 1;
	if (cors_client_allows(&c, origin))
		abort();
out:
	free(s);
	return 0;
}
