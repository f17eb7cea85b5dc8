/*
 * libFuzzer driver for oauth/client_meta.c (SECURITY.md CR-02, CR-05): the
 * one parser of RFC 7591 registration requests and client ID metadata
 * documents, and the policies applied to what it returns. Input: one flag
 * byte (bit 0: a metadata document, else a registration request), then
 * the JSON text. Checks: no crash or leak; a refusal always has an RFC
 * 7591 error code and a reason, an acceptance neither; an accepted client
 * has a name, at least one redirect URI, each passing AZ-04, an auth
 * method, grant types without client_credentials, and scopes inside the
 * allowed set; the open-registration and document checks never accept a
 * client they should refuse (a confidential client in open mode, a
 * document whose client_id is not the URL).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALLOWED "openid profile email offline_access"
#define URL "https://app.example/client.json"

static bool
word_in(const char *list, const char *w, size_t n)
{
	for (const char *q = list; *q != '\0';) {
		size_t len = strcspn(q, " ");

		if (len == n && memcmp(q, w, n) == 0)
			return true;
		q += len;
		while (*q == ' ')
			q++;
	}
	return false;
}

static void
check(const struct client_meta *m, enum client_meta_src src)
{
	const struct store_client *c = &m->c;
	const char *why = NULL;

	if (c->name == NULL || c->auth_method == NULL ||
	    c->grant_types == NULL || c->scopes == NULL ||
	    c->n_redirect_uris == 0 || c->registration == NULL)
		abort();
	if (strstr(c->grant_types, "client_credentials") != NULL)
		abort();
	for (size_t i = 0; i < c->n_redirect_uris; i++)
		if (redirect_uri_register_check(
			c->redirect_uris[i], c->is_public, NULL) != 0)
			abort();
	for (const char *q = c->scopes; *q != '\0';) {
		size_t len = strcspn(q, " ");

		if (len == 0 || !word_in(ALLOWED, q, len))
			abort();
		q += len;
		while (*q == ' ')
			q++;
	}
	if (client_meta_open_ok(m, &why) == 0 && !c->is_public)
		abort();
	if (src == CLIENT_META_DOCUMENT &&
	    client_meta_document_ok(m, URL, &why) == 0 &&
	    (m->doc_client_id == NULL || strcmp(m->doc_client_id, URL) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum client_meta_src src;
	struct client_meta m;
	const char *error = (const char *)1, *why = (const char *)1;
	int r;

	if (size < 1 || size > 16384)
		return 0;
	src = (data[0] & 1) ? CLIENT_META_DOCUMENT : CLIENT_META_REGISTER;
	r = client_meta_parse(
	    (const char *)data + 1, size - 1, src, ALLOWED, &m, &error, &why);
	if ((r == 0) != (error == NULL) || (r == 0) != (why == NULL))
		abort();
	if (r != 0) {
		if (strcmp(error, "invalid_client_metadata") != 0 &&
		    strcmp(error, "invalid_redirect_uri") != 0)
			abort();
		return 0;
	}
	check(&m, src);
	client_meta_clear(&m);
	(void)client_id_is_url((const char *)data + 1);
	return 0;
}
