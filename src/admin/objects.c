/*
 * Helpers of the admin API's object modules (src/admin/objects.h): word
 * lists and times as JSON, JSON-valued body members, refusals, paging and
 * the admin-scope ceiling of new credentials (decision 0071).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin/objects.h"
#include "util/util.h"

json_t *
admin_obj_words(const char *s)
{
	json_t *a = json_array();
	const char *p = s != NULL ? s : "";

	while (a != NULL && *p != '\0') {
		size_t k = strcspn(p, " ");

		if (k > 0)
			json_array_append_new(a, json_stringn(p, k));
		p += k;
		while (*p == ' ')
			p++;
	}
	return a;
}

json_t *
admin_obj_time(int64_t t)
{
	return t != 0 ? json_integer((json_int_t)t) : json_null();
}

char *
admin_obj_body_words(const struct admin_ctx *c, const char *name)
{
	json_t *a = c->body != NULL ? json_object_get(c->body, name) : NULL;
	struct buf b;
	json_t *v;
	size_t i;
	char *out;

	if (a == NULL || !json_is_array(a))
		return NULL;
	buf_init(&b, 64 * 1024);
	json_array_foreach(a, i, v)
	{
		if ((i > 0 && buf_putc(&b, ' ') != 0) ||
		    buf_puts(&b, json_string_value(v)) != 0)
			fatal("out of memory");
	}
	out = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return out;
}

bool
admin_obj_body_strv(
    const struct admin_ctx *c, const char *name, char ***v, size_t *n)
{
	json_t *a = c->body != NULL ? json_object_get(c->body, name) : NULL;
	json_t *e;
	size_t i;

	*v = NULL;
	*n = 0;
	if (a == NULL || !json_is_array(a))
		return false;
	*n = json_array_size(a);
	*v = xmalloc((*n + 1) * sizeof(char *));
	for (i = 0; i < *n; i++) {
		e = json_array_get(a, i);
		(*v)[i] = xstrdup(json_string_value(e));
	}
	return true;
}

void
admin_obj_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
admin_obj_take_object(struct admin_ctx *c, const char *name, size_t max,
    char **out, bool *present)
{
	json_t *v = c->body != NULL ? json_object_get(c->body, name) : NULL;
	char desc[96];
	char *s;

	*out = NULL;
	*present = v != NULL;
	if (v == NULL)
		return 0;
	if (json_is_null(v)) {
		(void)json_object_del(c->body, name);
		return 0;
	}
	if (!json_is_object(v)) {
		(void)snprintf(
		    desc, sizeof(desc), "%s must be a JSON object", name);
		admin_error(c, 400, "invalid_request", desc);
		return PC_ERR_INVALID;
	}
	s = json_dumps(v, JSON_COMPACT);
	if (s == NULL || strlen(s) > max) {
		free(s);
		(void)snprintf(desc, sizeof(desc), "%s is too large", name);
		admin_error(c, 400, "invalid_request", desc);
		return PC_ERR_INVALID;
	}
	(void)json_object_del(c->body, name);
	*out = s;
	return 0;
}

void
admin_obj_refused(struct admin_ctx *c, int r, const char *why, const char *what)
{
	if (r == PC_ERR_INVALID)
		admin_error(c, 400, "invalid_request",
		    why != NULL ? why : "the request breaks a rule");
	else if (r == PC_ERR_CONFLICT || r == PC_ERR_DUPLICATE)
		admin_error(c, 409, "conflict",
		    why != NULL ? why : "it conflicts with an existing object");
	else
		admin_error_code(c, r, what);
}

/* A list's item and its key, sorted by the key. */
struct item_ref {
	const char *key;
	json_t *item;
};

static int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct item_ref *)a)->key,
	    ((const struct item_ref *)b)->key);
}

void
admin_obj_list_page(struct admin_ctx *c, json_t *items, const char *key,
    int64_t limit, const char *after)
{
	size_t n = json_array_size(items), k = 0, taken = 0;
	struct item_ref *v = xmalloc((n + 1) * sizeof(struct item_ref));
	json_t *page = json_array();
	const char *last = NULL;

	/* Ordered by key, the cursor is the last key given: a page after
	 * one that was deleted since still follows on. */
	for (size_t i = 0; i < n; i++) {
		const char *id = json_string_value(
		    json_object_get(json_array_get(items, i), key));

		v[i].item = json_array_get(items, i);
		v[i].key = id != NULL ? id : "";
	}
	if (n > 1)
		qsort(v, n, sizeof(struct item_ref), by_key);
	while (after != NULL && k < n && strcmp(v[k].key, after) <= 0)
		k++;
	for (; k < n && (int64_t)taken < limit; k++, taken++) {
		json_array_append(page, v[k].item);
		last = v[k].key;
	}
	admin_json(c, 200,
	    json_pack(
		"{s:o, s:s?}", "items", page, "next", k < n ? last : NULL));
	free(v);
	json_decref(items);
}

void
admin_obj_list(struct admin_ctx *c, json_t *items, const char *key)
{
	int64_t limit = 0;
	const char *after = NULL;

	if (admin_page(c, NULL, &limit, &after) != 0) {
		json_decref(items);
		return;
	}
	admin_obj_list_page(c, items, key, limit, after);
}

int64_t
admin_obj_now(const struct admin_ctx *c)
{
	return c->r->now;
}

json_t *
admin_obj_body_fields(const struct admin_ctx *c)
{
	json_t *a = json_array(), *v;
	const char *k;

	if (c->body == NULL)
		return a;
	json_object_foreach(c->body, k, v)
	{
		json_array_append_new(a, json_string(k));
	}
	return a;
}
