/*
 * libFuzzer driver for the OAuth parameter parsers: scope strings, PKCE
 * challenges/verifiers, and whole authorization requests (az_parse over
 * form_parse). Besides "no crash", it checks their promises: a
 * parsed scope set round-trips through scope_format to an equivalent set
 * of valid tokens, and pkce_verify never accepts malformed input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct scope_set set, again;
	struct buf b;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (scope_parse(s, &set) == 0) {
		if (set.n > SCOPE_MAX)
			abort();
		buf_init(&b, 64 * 1024);
		if (scope_format(&set, &b) != 0 ||
		    scope_parse(buf_cstr(&b), &again) != 0 ||
		    again.n != set.n || !scope_subset(&again, &set))
			abort();
		scope_set_free(&again);
		buf_free(&b);
		scope_set_free(&set);
	} else if (set.n != 0) {
		abort();
	}
	if (pkce_verify(s, s))
		abort(); /* a verifier is never its own S256 challenge */
	if (pkce_challenge_valid(s) && strlen(s) != PKCE_CHALLENGE_LEN)
		abort();
	if (pkce_verifier_valid(s) &&
	    (strlen(s) < PKCE_VERIFIER_MIN || strlen(s) > PKCE_VERIFIER_MAX))
		abort();
	{
		static const struct http_limits lim = { 64, 256, 8192, 16 };
		struct kvlist l = { NULL, 0, 0 };
		struct az_request a;
		enum az_fail f;

		if (form_parse(s, size, &lim, &l) == 0) {
			f = az_parse(&l, &a);
			if (f == AZ_OK &&
			    (a.client_id == NULL || a.redirect_uri == NULL ||
				!pkce_challenge_valid(a.code_challenge)))
				abort();
			if (f != AZ_OK && a.error == NULL)
				abort();
			az_request_clear(&a);
		}
		kvlist_free(&l);
	}
	free(s);
	return 0;
}
