/*
 * libFuzzer driver for the untrusted read of a private_key_jwt assertion
 * (oauth/client_assertion.c: client_assertion_subject; TK-09, JW-08).
 * Input: one flag byte (bit 0: the body also names a client id, taken
 * from the first line), then the assertion. Checks: no crash; an accepted
 * assertion yields a well-formed client id, equal to the body's when one
 * was given; nothing over JWS_MAX_LEN is accepted.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jose/jose.h"
#include "oauth/oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[CLIENT_ASSERTION_ID_MAX + 1];
	const char *body_id = NULL, *a;
	char *buf, *nl;
	bool named;

	if (size < 1 || size > 2 * JWS_MAX_LEN)
		return 0;
	named = (data[0] & 1) != 0;
	buf = malloc(size);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	a = buf;
	if (named && (nl = strchr(buf, '\n')) != NULL) {
		*nl = '\0';
		body_id = buf;
		a = nl + 1;
	}
	if (client_assertion_subject(a, body_id, id) == 0) {
		if (!client_id_valid(id) || strlen(a) > JWS_MAX_LEN)
			abort();
		if (body_id != NULL && strcmp(body_id, id) != 0)
			abort();
	}
	free(buf);
	return 0;
}
