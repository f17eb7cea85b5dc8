/*
 * admin/respond.c: what every admin API handler shares — answers in one
 * error shape, the strict body check, paging and the audit row of a
 * change (issue 17 item 1; src/admin/admin.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "admin/admin.h"
#include "app.h"
#include "oauth/oauth.h"
#include "oauth/proto.h"
#include "util/log.h"

const char *
admin_param(const struct admin_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->nparams; i++)
		if (strcmp(c->params[i].name, name) == 0)
			return c->params[i].value;
	return NULL;
}

void
admin_error_w(struct resp *w, int status, const char *error, const char *desc)
{
	json_t *o = json_pack("{s:s, s:s}", "error", error, "error_description",
	    desc != NULL ? desc : "");

	w->cache = RESP_NO_STORE;
	if (o == NULL || resp_json(w, status, o) != 0) {
		static const char fallback[] =
		    "{\"error\":\"temporarily_unavailable\","
		    "\"error_description\":\"Try again later.\"}";

		if (resp_json_raw(w, 503, fallback, sizeof(fallback) - 1) != 0)
			w->status = 503;
		status = 503;
	}
	json_decref(o);
	if (status == 503)
		resp_header(w, "Retry-After", "5");
}

void
admin_error(
    struct admin_ctx *c, int status, const char *error, const char *desc)
{
	admin_error_w(c->w, status, error, desc);
}

void
admin_error_code(struct admin_ctx *c, int err, const char *what)
{
	char d[160];

	switch (err) {
	case PC_ERR_NOT_FOUND:
		snprintf(d, sizeof(d), "No such %s.",
		    what != NULL ? what : "object");
		admin_error(c, 404, "not_found", d);
		break;
	case PC_ERR_CONFLICT:
	case PC_ERR_DUPLICATE:
		snprintf(d, sizeof(d), "The %s conflicts with an existing one.",
		    what != NULL ? what : "object");
		admin_error(c, 409, "conflict", d);
		break;
	case PC_ERR_INVALID:
		admin_error(
		    c, 400, "invalid_request", "The request is invalid.");
		break;
	case PC_ERR_TOO_LARGE:
		admin_error(c, 413, "too_large", "The request is too large.");
		break;
	case PC_ERR_UNSUPPORTED:
		admin_error(c, 415, "unsupported_media_type",
		    "The request body must be application/json.");
		break;
	case PC_ERR_BUSY:
		admin_error(c, 429, "too_many_requests", "Try again later.");
		resp_header(c->w, "Retry-After", "5");
		break;
	default:
		/* The store, or anything else: fail closed, never a 500. */
		admin_error(
		    c, 503, "temporarily_unavailable", "Try again later.");
		break;
	}
}

void
admin_json(struct admin_ctx *c, int status, json_t *obj)
{
	c->w->cache = RESP_NO_STORE;
	if (obj == NULL || resp_json(c->w, status, obj) != 0)
		admin_error(
		    c, 503, "temporarily_unavailable", "Try again later.");
	json_decref(obj);
}

void
admin_no_content(struct admin_ctx *c)
{
	c->w->cache = RESP_NO_STORE;
	c->w->status = 204;
	c->w->content_type = NULL;
	buf_reset(&c->w->body);
}

/* ---- The body ---- */

/* 400 "<what> <name><tail>". */
static int
bad_field(
    struct admin_ctx *c, const char *what, const char *name, const char *tail)
{
	char d[160];

	snprintf(d, sizeof(d), "%s%s%s", what, name, tail);
	admin_error(c, 400, "invalid_request", d);
	return PC_ERR_INVALID;
}

static bool
string_ok(const json_t *v, int64_t max)
{
	size_t n;

	if (!json_is_string(v))
		return false;
	n = json_string_length(v);
	/* jansson allows no NUL without JSON_ALLOW_NUL; still, check. */
	return n >= 1 && (int64_t)n <= (max > 0 ? max : 256) &&
	    strlen(json_string_value(v)) == n;
}

static bool
field_ok(const struct admin_field *f, const json_t *v)
{
	switch (f->type) {
	case ADMIN_T_STRING: return string_ok(v, f->max);
	case ADMIN_T_NULLABLE_STRING:
		return json_is_null(v) || string_ok(v, f->max);
	case ADMIN_T_BOOL: return json_is_boolean(v);
	case ADMIN_T_INT:
		return json_is_integer(v) && json_integer_value(v) >= 0 &&
		    (f->max <= 0 || json_integer_value(v) <= f->max);
	case ADMIN_T_STRINGS: {
		size_t i;
		const json_t *e;

		if (!json_is_array(v) ||
		    (int64_t)json_array_size(v) > (f->max > 0 ? f->max : 64))
			return false;
		json_array_foreach(
		    v, i, e) if (!string_ok(e, 256)) return false;
		return true;
	}
	}
	return false;
}

int
admin_body_check(
    struct admin_ctx *c, const struct admin_field *fields, size_t n)
{
	const char *key;
	json_t *v;

	if (c->body == NULL)
		return bad_field(c, "A JSON object body is required.", "", "");
	json_object_foreach(c->body, key, v)
	{
		const struct admin_field *f = NULL;

		for (size_t i = 0; i < n && f == NULL; i++)
			if (strcmp(fields[i].name, key) == 0)
				f = &fields[i];
		if (f == NULL) {
			/* The name is the client's; never echoed. */
			admin_error(c, 400, "invalid_request",
			    "The body has an unknown member.");
			return PC_ERR_INVALID;
		}
		if (!field_ok(f, v))
			return bad_field(c, "The member ", f->name,
			    " has the wrong type or size.");
	}
	for (size_t i = 0; i < n; i++)
		if (fields[i].required &&
		    json_object_get(c->body, fields[i].name) == NULL)
			return bad_field(
			    c, "The member ", fields[i].name, " is required.");
	return 0;
}

const char *
admin_body_str(const struct admin_ctx *c, const char *name)
{
	const json_t *v =
	    c->body != NULL ? json_object_get(c->body, name) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int
admin_body_bool(const struct admin_ctx *c, const char *name, bool *out)
{
	const json_t *v =
	    c->body != NULL ? json_object_get(c->body, name) : NULL;

	if (!json_is_boolean(v))
		return PC_ERR_NOT_FOUND;
	*out = json_is_true(v);
	return 0;
}

int
admin_body_int(const struct admin_ctx *c, const char *name, int64_t *out)
{
	const json_t *v =
	    c->body != NULL ? json_object_get(c->body, name) : NULL;

	if (!json_is_integer(v))
		return PC_ERR_NOT_FOUND;
	*out = json_integer_value(v);
	return 0;
}

void
admin_body_wipe(struct admin_ctx *c, const char *name)
{
	json_t *v = c->body != NULL ? json_object_get(c->body, name) : NULL;

	/* jansson frees its strings unwiped: a secret is zeroed in place
	 * first (the request body itself is wiped when the request ends). */
	if (json_is_string(v))
		sodium_memzero((char *)(uintptr_t)json_string_value(v),
		    json_string_length(v));
}

/* ---- Paging ---- */

static bool
listed(const char *name, const char *const *extra)
{
	if (strcmp(name, "limit") == 0 || strcmp(name, "after") == 0)
		return true;
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		if (strcmp(name, extra[i]) == 0)
			return true;
	return false;
}

int
admin_page(struct admin_ctx *c, const char *const *extra, int64_t *limit,
    const char **after)
{
	const struct kvlist *q = NULL;
	const char *v;

	*limit = ADMIN_PAGE_DEFAULT;
	*after = NULL;
	if (req_query(c->r, &q) != 0) {
		admin_error(c, 400, "invalid_request", "Malformed query.");
		return PC_ERR_INVALID;
	}
	for (size_t i = 0; i < q->n; i++) {
		const struct kv *a = &q->v[i];

		if (!listed(a->name, extra)) {
			admin_error(c, 400, "invalid_request",
			    "Unknown query parameter.");
			return PC_ERR_INVALID;
		}
		for (size_t j = i + 1; j < q->n; j++)
			if (strcmp(a->name, q->v[j].name) == 0) {
				admin_error(c, 400, "invalid_request",
				    "A query parameter is repeated.");
				return PC_ERR_INVALID;
			}
	}
	if ((v = kvlist_value(q, "limit")) != NULL &&
	    str_to_int64(str_from(v), 1, ADMIN_PAGE_MAX, limit) != 0) {
		admin_error(c, 400, "invalid_request",
		    "limit must be an integer from 1 to 500.");
		return PC_ERR_INVALID;
	}
	if ((v = kvlist_value(q, "after")) != NULL) {
		if (v[0] == '\0' || strlen(v) > ADMIN_PARAM_MAX) {
			admin_error(
			    c, 400, "invalid_request", "after is malformed.");
			return PC_ERR_INVALID;
		}
		*after = v;
	}
	return 0;
}

const char *
admin_query(struct admin_ctx *c, const char *name)
{
	const struct kvlist *q = NULL;

	if (req_query(c->r, &q) != 0)
		return NULL;
	return kvlist_value(q, name);
}

/* ---- Authority ---- */

int
admin_no_escalation(struct admin_ctx *c, const char *scopes)
{
	struct scope_set s;
	int rc = 0;

	if (scopes == NULL || scope_parse(scopes, &s) != 0)
		return 0; /* the domain refuses a malformed list */
	for (size_t i = 0; rc == 0 && i < s.n; i++)
		if (strncmp(s.v[i], "admin:", 6) == 0 &&
		    !admin_has_scope(c, s.v[i]))
			rc = -1;
	scope_set_free(&s);
	if (rc != 0)
		admin_error(c, 403, "insufficient_scope",
		    "That grants admin: scopes the caller does not hold.");
	return rc;
}

/* ---- Audit ---- */

void
admin_actor_copy(const struct admin_ctx *c, struct admin_actor *out)
{
	out->actor = xstrdup(c->actor != NULL ? c->actor : "");
	out->client_id = xstrdup(c->client_id != NULL ? c->client_id : "");
	out->credential_id =
	    c->credential_id != NULL ? xstrdup(c->credential_id) : NULL;
}

void
admin_actor_clear(struct admin_actor *a)
{
	free(a->actor);
	free(a->client_id);
	free(a->credential_id);
	memset(a, 0, sizeof(*a));
}

int
admin_audit_as(struct req *r, const struct admin_actor *a, const char *event,
    const char *target, json_t *details)
{
	json_t *d = details != NULL ? json_deep_copy(details) : json_object();
	int rc;

	/* AU-01: the acting principal, and how it came. */
	if (d == NULL ||
	    json_object_set_new(d, "via", json_string("admin_api")) != 0 ||
	    json_object_set_new(d, "client_id",
		json_string(a->client_id != NULL ? a->client_id : "")) != 0 ||
	    (a->credential_id != NULL &&
		json_object_set_new(
		    d, "credential", json_string(a->credential_id)) != 0)) {
		json_decref(d);
		return PC_ERR_INTERNAL;
	}
	rc = oauth_audit(r, event, "success", a->actor, target, d);
	json_decref(d);
	return rc;
}

int
admin_audit(
    struct admin_ctx *c, const char *event, const char *target, json_t *details)
{
	struct admin_actor a = { (char *)c->actor, (char *)c->client_id,
		(char *)c->credential_id };

	return admin_audit_as(c->r, &a, event, target, details);
}
