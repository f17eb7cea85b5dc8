/*
 * Which algorithms a rotation covers (issue 17 item 1): one place for
 * `portcullis key rotate` and the admin API's POST signing-keys/rotate.
 */
#include <stdlib.h>
#include <strings.h>

#include "crypto/crypto.h"

enum jose_alg
signer_alg_parse_any_case(const char *name)
{
	static const enum jose_alg all[] = { JOSE_ALG_ES256, JOSE_ALG_RS256,
		JOSE_ALG_PS256, JOSE_ALG_EDDSA };

	for (size_t i = 0; name != NULL && i < PC_NELEM(all); i++)
		if (strcasecmp(name, jose_alg_name(all[i])) == 0)
			return all[i];
	return JOSE_ALG_INVALID;
}

int
signer_algs_in_use(struct signer *s, int64_t now,
    enum jose_alg out[SIGNER_ALGS_MAX], size_t *n)
{
	struct signer_key_info *v = NULL;
	size_t k = 0;
	int r;

	*n = 0;
	if ((r = signer_list(s, now, &v, &k)) != 0)
		return r;
	for (size_t i = 0; i < k; i++) {
		bool seen = false;

		if (v[i].state == SIGNER_EXPIRED)
			continue;
		for (size_t j = 0; j < *n; j++)
			seen |= out[j] == v[i].alg;
		if (!seen && *n < SIGNER_ALGS_MAX)
			out[(*n)++] = v[i].alg;
	}
	free(v);
	return 0;
}
