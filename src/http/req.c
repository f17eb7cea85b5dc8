/*
 * The request object handlers see (struct req, http.h): headers, query,
 * form, cookies and JSON body parsed on first use, and the hooks for
 * deferred work (a handler that waits for a password hash) and for work
 * after the response.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "http/http.h"

void
req_init(struct req *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 0);
}

void
req_free(struct req *r)
{
	if (r == NULL)
		return;
	req_run_after(r);
	if (r->nest_arg != NULL && r->nest_free != NULL)
		r->nest_free(r->nest_arg);
	r->nest_arg = NULL;
	r->nest_free = NULL;
	kvlist_free(&r->headers);
	kvlist_free(&r->query_params);
	kvlist_free(&r->form);
	kvlist_free(&r->cookies);
	buf_free(&r->body);
}

void
req_defer(struct req *r, http_step start, void *arg, void (*free_arg)(void *))
{
	r->defer_start = start;
	r->defer_arg = arg;
	r->defer_free = free_arg;
}

void
req_resume(struct req *r, http_step next)
{
	r->resume_hook(r, next);
}

void
req_after(struct req *r, void (*after)(void *arg), void *arg)
{
	if (r->after != NULL) {
		after(arg); /* one per request: never lose the second */
		return;
	}
	r->after = after;
	r->after_arg = arg;
}

void
req_run_after(struct req *r)
{
	void (*after)(void *arg) = r->after;

	if (after == NULL)
		return;
	r->after = NULL;
	after(r->after_arg);
	r->after_arg = NULL;
}

int
req_header(const struct req *r, const char *name, const char **out)
{
	const char *found = NULL;

	*out = NULL;
	for (size_t i = 0; i < r->headers.n; i++) {
		if (strcasecmp(r->headers.v[i].name, name) != 0)
			continue;
		if (found != NULL)
			return PC_ERR_DUPLICATE;
		found = r->headers.v[i].value;
	}
	if (found == NULL)
		return PC_ERR_NOT_FOUND;
	*out = found;
	return 0;
}

int
req_query(struct req *r, const struct kvlist **out)
{
	int rc;

	if (!r->query_parsed) {
		rc = form_parse(
		    r->query.p, r->query.len, r->limits, &r->query_params);
		if (rc != 0)
			return rc;
		r->query_parsed = true;
	}
	*out = &r->query_params;
	return 0;
}

/* Media type without parameters, case-insensitive. */
static bool
content_type_is(const struct req *r, const char *type)
{
	const char *ct = r->content_type;
	size_t n = strlen(type);

	if (ct == NULL || strncasecmp(ct, type, n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

int
req_form(struct req *r, const struct kvlist **out)
{
	int rc;

	if (!r->form_parsed) {
		if (!content_type_is(r, "application/x-www-form-urlencoded"))
			return PC_ERR_UNSUPPORTED;
		rc = form_parse(
		    (const char *)r->body.p, r->body.len, r->limits, &r->form);
		if (rc != 0)
			return rc;
		r->form_parsed = true;
	}
	*out = &r->form;
	return 0;
}

int
req_cookies(struct req *r, const struct kvlist **out)
{
	const char *v = NULL;
	int rc;

	if (!r->cookies_parsed) {
		for (size_t i = 0; i < r->headers.n; i++) {
			/* Several Cookie headers: parse each. */
			if (strcasecmp(r->headers.v[i].name, "Cookie") != 0)
				continue;
			v = r->headers.v[i].value;
			struct kvlist one = { 0 };

			rc = cookie_parse(v, strlen(v), r->limits, &one);
			if (rc != 0) {
				kvlist_free(&r->cookies);
				return rc;
			}
			/* Several Cookie headers share one cap. */
			rc = 0;
			for (size_t k = 0; k < one.n; k++) {
				struct kv *kv = &one.v[k];

				if (rc == 0) {
					rc = kvlist_push(&r->cookies,
					    r->limits->max_params, kv->name,
					    kv->name_len, kv->value,
					    kv->value_len);
					continue;
				}
				free(kv->name);
				pc_freezero(kv->value, kv->value_len);
			}
			free(one.v);
			if (rc != 0) {
				kvlist_free(&r->cookies);
				return rc;
			}
		}
		r->cookies_parsed = true;
	}
	*out = &r->cookies;
	return 0;
}

int
req_json(struct req *r, json_t **out)
{
	*out = NULL;
	if (!content_type_is(r, "application/json"))
		return PC_ERR_UNSUPPORTED;
	return json_in_parse(
	    (const char *)r->body.p, r->body.len, r->limits, out);
}

bool
req_wants_html(const struct req *r)
{
	const char *accept = NULL;

	for (size_t i = 0; i < r->headers.n; i++) {
		if (strcasecmp(r->headers.v[i].name, "Accept") == 0) {
			accept = r->headers.v[i].value;
			break;
		}
	}
	return accept != NULL && strstr(accept, "text/html") != NULL;
}
