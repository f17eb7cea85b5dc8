/*
 * The device cookie on the wire (SECURITY.md LG-03; the policy is in
 * src/auth/device.c and src/auth/throttle.c): reading the one the browser
 * presents, and setting a new one after a successful sign-in.
 */
#include <string.h>

#include <sodium.h>

#include "web/web.h"

bool
web_device_hash(struct req *r, char out[PC_SHA256_HEX_LEN + 1])
{
	const struct app *app = r->app;
	const struct kvlist *cookies;
	const struct kv *kv = NULL;

	out[0] = '\0';
	if (req_cookies(r, &cookies) != 0 ||
	    kvlist_get(cookies, device_cookie_name(app->cfg), &kv) != 0)
		return false; /* none, or two of our name: trust neither */
	return device_cookie_hash(kv->value, out) == 0;
}

void
web_set_device_cookie(struct resp *w, const struct req *r, const char *value)
{
	const struct app *app = r->app;
	char h[DEVICE_COOKIE_HEADER_MAX];

	if (device_cookie_header(app->cfg, value, h, sizeof(h)) == 0)
		resp_header(w, "Set-Cookie", h);
	sodium_memzero(h, sizeof(h));
}
