/*
 * libFuzzer driver for json_in_parse: no crash and no deep recursion on
 * any input; what is accepted is an object or array that survives a
 * dump and re-parse unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct http_limits lim = {
	.max_params = 64,
	.max_name = 256,
	.max_value = 4096,
	.max_json_depth = 16,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = NULL, *j2 = NULL;
	char *dump = NULL;
	int r;

	r = json_in_parse((const char *)data, size, &lim, &j);
	if (r != 0) {
		if ((r != PC_ERR_INVALID && r != PC_ERR_TOO_LARGE) || j != NULL)
			abort();
		return 0;
	}
	if (!json_is_object(j) && !json_is_array(j))
		abort();
	if ((dump = json_dumps(j, JSON_COMPACT)) == NULL)
		abort();
	if (json_in_parse(dump, strlen(dump), &lim, &j2) != 0 ||
	    !json_equal(j, j2))
		abort();
	free(dump);
	json_decref(j2);
	json_decref(j);
	return 0;
}
