/*
 * PostgreSQL text that needs no connection, split from pg.c (which keeps
 * the connections): the store URL for people (what db_describe() and
 * check-config print, read by libpq's own parser and never with its
 * credentials: AU-03), and the store's statements in PostgreSQL's
 * placeholder syntax.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store/db.h"
#include "util/util.h"

static const char *
opt_val(const PQconninfoOption *o, const char *kw)
{
	for (; o->keyword != NULL; o++)
		if (strcmp(o->keyword, kw) == 0)
			return o->val != NULL && o->val[0] != '\0' ? o->val
								   : NULL;
	return NULL;
}

/*
 * libpq's own parser (PQconninfoParse) reads the URL, so what is shown is
 * what libpq will use: a '?', '#' or '@' in a password cannot shift the
 * cut into the credentials. Every option libpq marks secret (dispchar
 * '*': password, sslpassword, ...) is masked; without full only the
 * scheme, host, port and database are kept (no user, no options).
 * NULL when libpq cannot parse the URL (then nothing of it is shown:
 * its error message may quote the password).
 */
char *
db_pg_url_describe(const char *url, bool full)
{
	const char *rest = strstr(url, "://");
	PQconninfoOption *opts, *o;
	char *errmsg = NULL;
	const char *host, *port, *db, *user;
	struct buf b;
	bool host_is_path, q = false;
	int r = 0;

	if (rest == NULL)
		return NULL;
	opts = PQconninfoParse(url, &errmsg);
	PQfreemem(errmsg);
	if (opts == NULL)
		return NULL;
	host = opt_val(opts, "host");
	port = opt_val(opts, "port");
	db = opt_val(opts, "dbname");
	user = opt_val(opts, "user");
	host_is_path = host != NULL && host[0] == '/';
	buf_init(&b, 64 * 1024);
	r |= buf_put(&b, url, (size_t)(rest - url) + 3);
	if (full && user != NULL) {
		r |= buf_puts(&b, user);
		if (opt_val(opts, "password") != NULL)
			r |= buf_puts(&b, ":********");
		r |= buf_putc(&b, '@');
	}
	if (host != NULL && !host_is_path)
		r |= buf_puts(&b, host);
	if (port != NULL && !host_is_path)
		r |= buf_printf(&b, ":%s", port);
	r |= buf_putc(&b, '/');
	if (db != NULL)
		r |= buf_puts(&b, db);
	if (host_is_path) {
		r |= buf_printf(&b, "?host=%s", host);
		q = true;
		if (port != NULL)
			r |= buf_printf(&b, "&port=%s", port);
	}
	for (o = opts; full && o->keyword != NULL; o++) {
		if (o->val == NULL || strcmp(o->keyword, "host") == 0 ||
		    strcmp(o->keyword, "port") == 0 ||
		    strcmp(o->keyword, "dbname") == 0 ||
		    strcmp(o->keyword, "user") == 0 ||
		    strcmp(o->keyword, "password") == 0)
			continue;
		r |= buf_printf(&b, "%c%s=%s", q ? '&' : '?', o->keyword,
		    o->dispchar[0] == '*' ? "********" : o->val);
		q = true;
	}
	PQconninfoFree(opts);
	if (r != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/*
 * '?' -> $1..$n outside '...' literals, "..." identifiers and -- comments.
 * Returns the number of parameters, or -1 when there are more than
 * max_params.
 */
int
db_pg_translate(const char *sql, int max_params, char **out)
{
	size_t n = strlen(sql), cap = n * 4 + 1, o = 0;
	char *p = xmalloc(cap);
	char quote = 0;
	int np = 0;

	for (size_t i = 0; i < n; i++) {
		char ch = sql[i];

		if (quote == '-') {
			if (ch == '\n')
				quote = 0;
		} else if (quote != 0) {
			if (ch == quote)
				quote = 0; /* a doubled quote reopens next */
		} else if (ch == '\'' || ch == '"') {
			quote = ch;
		} else if (ch == '-' && sql[i + 1] == '-') {
			quote = '-';
		} else if (ch == '?') {
			if (++np > max_params) {
				free(p);
				return -1;
			}
			o += (size_t)snprintf(p + o, cap - o, "$%d", np);
			continue;
		}
		p[o++] = ch;
	}
	p[o] = '\0';
	*out = p;
	return np;
}
