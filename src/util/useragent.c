/*
 * A short description of a User-Agent header ("Firefox on Windows") for the
 * account page's list of sessions and devices: a few known tokens, never
 * the raw header, so the page shows nothing a client made up.
 */
#include <stdio.h>
#include <string.h>

#include "util/useragent.h"

struct rule {
	const char *token; /* found anywhere in the header */
	const char *name;
};

/* First match wins: the tokens other browsers copy come last (every
 * Chromium browser says Chrome/ and Safari/, Chrome on iOS says Safari/). */
static const struct rule browsers[] = {
	{ "Edg/", "Edge" }, { "EdgA/", "Edge" }, { "EdgiOS/", "Edge" },
	{ "OPR/", "Opera" }, { "SamsungBrowser/", "Samsung Internet" },
	{ "Firefox/", "Firefox" }, { "FxiOS/", "Firefox" },
	{ "CriOS/", "Chrome" }, { "Chromium/", "Chromium" },
	{ "HeadlessChrome/", "Chrome" }, { "Chrome/", "Chrome" },
	{ "Version/", "Safari" }, /* with Safari/ (checked below) */
};

/* iPad and iPhone say "like Mac OS X", Android says Linux: those first. */
static const struct rule systems[] = {
	{ "iPhone", "iOS" },
	{ "iPad", "iPadOS" },
	{ "iPod", "iOS" },
	{ "Android", "Android" },
	{ "Windows", "Windows" },
	{ "CrOS", "ChromeOS" },
	{ "Macintosh", "macOS" },
	{ "Mac OS X", "macOS" },
	{ "FreeBSD", "FreeBSD" },
	{ "OpenBSD", "OpenBSD" },
	{ "Linux", "Linux" },
};

static const char *
match(const char *ua, const struct rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(ua, r[i].token) != NULL)
			return r[i].name;
	return NULL;
}

static int
product_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

void
useragent_describe(const char *ua, char *out, size_t n)
{
	const char *browser, *os;
	size_t len = 0;

	if (n == 0)
		return;
	snprintf(out, n, "Unknown browser");
	if (ua == NULL || ua[0] == '\0')
		return;
	if (strncmp(ua, "Mozilla/", 8) != 0) {
		/* A program: its product name ("curl/8.5.0" -> "curl"). */
		while (len <= 32 && product_char(ua[len]))
			len++;
		if (len >= 1 && len <= 32 &&
		    (ua[len] == '/' || ua[len] == '\0'))
			snprintf(out, n, "%.*s", (int)len, ua);
		return;
	}
	browser = match(ua, browsers, sizeof(browsers) / sizeof(browsers[0]));
	if (browser != NULL && strcmp(browser, "Safari") == 0 &&
	    strstr(ua, "Safari/") == NULL)
		browser = NULL;
	if (browser == NULL)
		return;
	os = match(ua, systems, sizeof(systems) / sizeof(systems[0]));
	if (os != NULL)
		snprintf(out, n, "%s on %s", browser, os);
	else
		snprintf(out, n, "%s", browser);
}
