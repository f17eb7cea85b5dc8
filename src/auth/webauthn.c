/*
 * WebAuthn Level 3 verification (webauthn.h). Pure: no store, no clock.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/webauthn.h"

void
wa_new_cred_clear(struct wa_new_cred *c)
{
	free(c->cred_id);
	free(c->cose_key);
	sodium_memzero(c, sizeof(*c));
}

bool
wa_counter_ok(uint32_t stored, uint32_t seen)
{
	if (stored == 0 && seen == 0)
		return true;
	return seen > stored;
}
