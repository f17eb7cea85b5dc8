/*
 * useragent: a User-Agent header in words for people ("Chrome on Linux",
 * "Safari on iOS", "curl", "Unknown browser"), for the account page's
 * session list. A best guess from well-known tokens, never used for any
 * decision: the header is whatever the client sent.
 */
#ifndef PC_USERAGENT_H
#define PC_USERAGENT_H

#include <stddef.h>

/* The longest description written, NUL included. */
#define USERAGENT_DESC_MAX 64

/*
 * Writes the description of ua (NULL or "" allowed) to out, always
 * NUL-terminated; n should be USERAGENT_DESC_MAX. The words come from a
 * fixed list, or for a program that is not a browser ("curl/8.5.0") from
 * its product name, kept only if it is 1 to 32 letters, digits, '.',
 * '-' or '_'.
 */
void useragent_describe(const char *ua, char *out, size_t n);

#endif
