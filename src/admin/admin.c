/*
 * admin: the admin API's dispatcher (issue 17 item 1; decision 0070).
 *
 * One prefix route, /admin/v1/, hands every request here. In order, and
 * each before any work the next one costs: the per-IP request count, the
 * route (strict pattern match: 404, or 405 with Allow), the credential
 * (an access token of ours whose audience is the admin API, in the
 * Authorization header only: a cookie is never looked at, so there is no
 * CSRF surface; failures counted per IP), the scope the route needs, and
 * the body (JSON only, capped, strict). Then the module's handler.
 */
#include <string.h>
#include <strings.h>

#include "admin/admin.h"
#include "app.h"
#include "auth/auth.h"
#include "machine/machine.h"
#include "oauth/dpop.h"
#include "oauth/oauth.h"
#include "util/config.h"
#include "util/log.h"

/* Every module's table, one line each, in dispatch order. */
const struct admin_table *const admin_tables[] = {
	&admin_meta_table,
	&admin_users_table,
	&admin_groups_table,
	&admin_sessions_table,
	&admin_audit_table,
	NULL,
};

static const char *const kind_names[ADMIN_KIND_COUNT] = {
	[ADMIN_USERS] = "users",
	[ADMIN_GROUPS] = "groups",
	[ADMIN_CLIENTS] = "clients",
	[ADMIN_SERVICE_ACCOUNTS] = "service_accounts",
	[ADMIN_API_KEYS] = "api_keys",
	[ADMIN_RESOURCES] = "resources",
	[ADMIN_SESSIONS] = "sessions",
	[ADMIN_KEYS] = "keys",
	[ADMIN_AUDIT] = "audit",
	[ADMIN_AGENTS] = "agents",
	[ADMIN_FEDERATION] = "federation",
};

const char *
admin_kind_name(enum admin_kind k)
{
	if ((int)k < 0 || k >= ADMIN_KIND_COUNT)
		return NULL;
	return kind_names[k];
}

char *
admin_audience(const struct config *cfg)
{
	size_t n = strlen(cfg->issuer);
	char *out;

	while (n > 0 && cfg->issuer[n - 1] == '/')
		n--;
	out = xmalloc(n + sizeof(ADMIN_PREFIX));
	memcpy(out, cfg->issuer, n);
	memcpy(out + n, ADMIN_PREFIX, sizeof(ADMIN_PREFIX));
	return out;
}

int
admin_scope_name(const struct admin_route *rt, char out[ADMIN_SCOPE_MAX + 1])
{
	const char *k = admin_kind_name(rt->kind);

	if (k == NULL)
		return PC_ERR_INVALID;
	snprintf(out, ADMIN_SCOPE_MAX + 1, "admin:%s:%s", k,
	    rt->write ? "write" : "read");
	return 0;
}

char *
admin_scope_list(void)
{
	struct buf b;
	char *out;

	buf_init(&b, 2048);
	for (int k = 0; k < ADMIN_KIND_COUNT; k++)
		for (int w = 0; w < 2; w++)
			if ((b.len > 0 && buf_putc(&b, ' ') != 0) ||
			    buf_printf(&b, "admin:%s:%s", kind_names[k],
				w ? "write" : "read") != 0)
				fatal("admin: scope list");
	out = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return out;
}

/* A parameter's value: 1..ADMIN_PARAM_MAX bytes of [A-Za-z0-9._~@:+-],
 * never "." or "..". */
static bool
param_ok(const char *p, size_t n)
{
	if (n == 0 || n > ADMIN_PARAM_MAX)
		return false;
	if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || strchr("._~@:+-", ch)))
			return false;
	}
	return true;
}

/*
 * Whether path (below the prefix, starting with '/') is pattern's, byte
 * for byte segment by segment; params get the parameters when not NULL.
 */
static bool
pattern_match(const char *pattern, struct str path, struct admin_param *params,
    size_t *nparams)
{
	const char *pp = pattern, *sp = path.p, *se = path.p + path.len;
	size_t np = 0;

	while (*pp != '\0') {
		const char *pe, *ss;
		size_t pl, sl;

		if (*pp != '/' || sp >= se || *sp != '/')
			return false;
		pp++;
		sp++;
		pe = strchr(pp, '/');
		pl = pe != NULL ? (size_t)(pe - pp) : strlen(pp);
		ss = memchr(sp, '/', (size_t)(se - sp));
		sl = ss != NULL ? (size_t)(ss - sp) : (size_t)(se - sp);
		if (pl >= 2 && pp[0] == '{' && pp[pl - 1] == '}') {
			if (!param_ok(sp, sl) || np >= ADMIN_MAX_PARAMS)
				return false;
			if (params != NULL) {
				memcpy(params[np].value, sp, sl);
				params[np].value[sl] = '\0';
				snprintf(params[np].name,
				    sizeof(params[np].name), "%.*s",
				    (int)(pl - 2), pp + 1);
			}
			np++;
		} else if (pl != sl || memcmp(pp, sp, pl) != 0) {
			return false;
		}
		pp += pl;
		sp += sl;
	}
	if (sp != se)
		return false;
	if (nparams != NULL)
		*nparams = np;
	return true;
}

static unsigned
route_methods(const struct admin_route *rt)
{
	return rt->method == HTTP_GET ? (HTTP_GET | HTTP_HEAD)
				      : (unsigned)rt->method;
}

/* The route for (path, m), or NULL with *allowed the Allow set; *open:
 * it is one of admin_meta_table's (no credential). */
static const struct admin_route *
route_find(struct str path, enum http_method m, struct admin_ctx *c,
    unsigned *allowed, bool *open)
{
	const struct admin_route *found = NULL;

	*allowed = 0;
	for (size_t t = 0; admin_tables[t] != NULL; t++) {
		const struct admin_table *tb = admin_tables[t];

		for (size_t i = 0; i < tb->n; i++) {
			const struct admin_route *rt = &tb->routes[i];

			if (!pattern_match(rt->pattern, path, NULL, NULL))
				continue;
			*allowed |= route_methods(rt);
			if (found == NULL &&
			    (route_methods(rt) & (unsigned)m)) {
				found = rt;
				*open = tb == &admin_meta_table;
			}
		}
	}
	if (found != NULL)
		(void)pattern_match(
		    found->pattern, path, c->params, &c->nparams);
	return found;
}

/* RFC 6750 §3: the challenge and the error body. */
static void
challenge(struct admin_ctx *c, bool dpop, int status, const char *error,
    const char *desc, const char *scope)
{
	char h[512];

	admin_error(c, status, error, desc);
	if (dpop) {
		snprintf(
		    h, sizeof(h), "DPoP realm=\"admin\", error=\"%s\"", error);
		resp_header(c->w, "WWW-Authenticate", h);
		return;
	}
	if (scope != NULL)
		snprintf(h, sizeof(h),
		    "Bearer realm=\"admin\", error=\"%s\", scope=\"%s\"", error,
		    scope);
	else
		snprintf(h, sizeof(h), "Bearer realm=\"admin\", error=\"%s\"",
		    error);
	resp_header(c->w, "WWW-Authenticate", h);
}

/* The token of the Authorization header: 0, or -1 answered. */
static int
find_token(struct admin_ctx *c, const char **tok, bool *dpop)
{
	const char *h = NULL;
	int rc;

	*tok = NULL;
	*dpop = false;
	rc = req_header(c->r, "Authorization", &h);
	if (rc == PC_ERR_DUPLICATE) {
		admin_error(
		    c, 400, "invalid_request", "Authorization is repeated.");
		return -1;
	}
	if (h == NULL ||
	    !(strncasecmp(h, "Bearer ", 7) == 0 ||
		strncasecmp(h, "DPoP ", 5) == 0)) {
		/* A session cookie is no credential here (no CSRF). */
		admin_error(c, 401, "invalid_token",
		    "A bearer access token for the admin API is required.");
		resp_header(c->w, "WWW-Authenticate", "Bearer realm=\"admin\"");
		return -1;
	}
	*dpop = strncasecmp(h, "DPoP ", 5) == 0;
	for (h += *dpop ? 5 : 7; *h == ' '; h++)
		;
	if (*h == '\0' || strnlen(h, BEARER_MAX_LEN + 1) > BEARER_MAX_LEN) {
		challenge(c, *dpop, 401, "invalid_token",
		    "The access token is malformed.", NULL);
		return -1;
	}
	*tok = h;
	return 0;
}

struct auth_state {
	struct bearer b;
	bool have;
};

/*
 * Verifies the credential (JW-01..08 through bearer_verify_aud, with the
 * admin API as the audience) and fills c's principal. 0, or -1 answered.
 */
static int
authenticate(struct admin_ctx *c, struct auth_state *st)
{
	struct app *app = c->app;
	struct throttle_apikey t;
	struct dpop_proof proof;
	const char *tok;
	char *aud = NULL, *path = NULL;
	bool dpop;
	int rc;

	if (find_token(c, &tok, &dpop) != 0)
		return -1;
	/* Failed credentials per IP, checked before any is looked at. */
	rc = throttle_apikey_check(app->db, app->cfg, c->r->ip, c->r->now, &t);
	if (rc != 0) {
		admin_error_code(c, PC_ERR_STORE, NULL);
		return -1;
	}
	if (!t.v.allowed) {
		char ra[24];

		admin_error(c, 429, "too_many_requests",
		    "Too many failed authentications from this address.");
		snprintf(ra, sizeof(ra), "%lld", (long long)t.v.retry_after);
		resp_header(c->w, "Retry-After", ra);
		return -1;
	}
	if (dpop) {
		struct dpop_want want = { NULL, tok, true, true };

		path = str_dup(c->r->path);
		want.path = path;
		rc = dpop_check(c->r, c->w, &want, &proof);
		free(path);
		if (rc != 0) {
			if (throttle_apikey_failure(app->db, &t) != 0)
				log_msg(
				    LOG_WARN, "admin.throttle", "not counted");
			return -1;
		}
	}
	aud = admin_audience(app->cfg);
	rc = bearer_verify_aud(app, tok, strlen(tok), aud, c->r->now, &st->b);
	free(aud);
	if (oauth_store_down(rc)) {
		admin_error_code(c, PC_ERR_STORE, NULL);
		return -1;
	}
	if (rc != 0) {
		if (throttle_apikey_failure(app->db, &t) != 0)
			log_msg(LOG_WARN, "admin.throttle", "not counted");
		challenge(c, dpop, 401, "invalid_token",
		    "The access token is invalid, expired, revoked or not for "
		    "the admin API.",
		    NULL);
		return -1;
	}
	st->have = true;
	/* TX-06: a bound token only with a proof of its key; an unbound one
	 * only as Bearer. */
	if (st->b.cnf_jkt != NULL && !dpop) {
		challenge(c, true, 401, "invalid_token",
		    "The access token is DPoP-bound: send it with the DPoP "
		    "scheme and a proof.",
		    NULL);
		return -1;
	}
	if (dpop &&
	    (st->b.cnf_jkt == NULL ||
		!dpop_jkt_equal(st->b.cnf_jkt, proof.jkt))) {
		challenge(c, true, 401, "invalid_token",
		    "The DPoP proof does not match the access token.", NULL);
		return -1;
	}
	switch (principal_kind(st->b.sub)) {
	case PRINCIPAL_SERVICE_ACCOUNT:
		c->actor_kind = ADMIN_ACTOR_SERVICE_ACCOUNT;
		break;
	case PRINCIPAL_USER: c->actor_kind = ADMIN_ACTOR_USER; break;
	default:
		/* A client's own token speaks for no principal to audit. */
		challenge(c, dpop, 403, "insufficient_scope",
		    "The admin API serves service accounts and API keys' "
		    "owners only.",
		    NULL);
		return -1;
	}
	c->actor = st->b.sub;
	c->client_id = st->b.client_id;
	c->credential_id = principal_kind(st->b.client_id) == PRINCIPAL_API_KEY
	    ? st->b.client_id
	    : NULL;
	c->scope = st->b.scope != NULL ? st->b.scope : "";
	c->dpop = dpop;
	return 0;
}

bool
admin_has_scope(const struct admin_ctx *c, const char *scope)
{
	return c->scope != NULL && oauth_has_word(c->scope, scope);
}

/* The JSON body, strictly: 0, or -1 answered. */
static int
read_body(struct admin_ctx *c)
{
	struct http_limits lim;
	const char *ct = c->r->content_type;
	json_t *j = NULL;
	int rc;

	if (!c->route->body) {
		if (c->r->body.len > 0) {
			admin_error(c, 400, "invalid_request",
			    "This endpoint takes no request body.");
			return -1;
		}
		return 0;
	}
	/* application/json, with at most a charset of utf-8. */
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';') ||
	    (ct[16] == ';' &&
		strcasecmp(ct + 17 + strspn(ct + 17, " "), "charset=utf-8") !=
		    0)) {
		admin_error(c, 415, "unsupported_media_type",
		    "The request body must be application/json.");
		return -1;
	}
	if (c->r->body.len > ADMIN_BODY_MAX) {
		admin_error(
		    c, 413, "too_large", "The request body is too large.");
		return -1;
	}
	lim = *c->r->limits;
	lim.max_json_depth = ADMIN_JSON_DEPTH;
	rc =
	    json_in_parse((const char *)c->r->body.p, c->r->body.len, &lim, &j);
	if (rc == PC_ERR_TOO_LARGE) {
		admin_error(c, 400, "invalid_request",
		    "The JSON body is nested too deeply.");
		return -1;
	}
	if (rc != 0 || !json_is_object(j)) {
		json_decref(j);
		admin_error(c, 400, "invalid_request",
		    "The body must be one JSON object (UTF-8, no duplicate "
		    "members).");
		return -1;
	}
	c->body = j;
	return 0;
}

/* The per-IP request limit, counted before anything else. */
static int
count_request(struct admin_ctx *c)
{
	struct app *app = c->app;
	bool allowed = false;
	int rc;

	rc = throttle_ip_count(app->db, "admin", c->r->ip,
	    app->cfg->admin_ip_requests, c->r->now, &allowed);
	if (rc == PC_ERR_INVALID)
		return 0; /* no peer address (a unit test): nothing to key */
	if (rc != 0) {
		admin_error_code(c, PC_ERR_STORE, NULL);
		return -1;
	}
	if (!allowed) {
		admin_error(c, 429, "too_many_requests",
		    "Too many requests from this address; try again later.");
		resp_header(c->w, "Retry-After",
		    "60"); /* the hour's end is at most 3600 s away */
		return -1;
	}
	return 0;
}

void
admin_dispatch(struct req *r, struct resp *w)
{
	struct admin_ctx c;
	struct auth_state st;
	struct str rest;
	unsigned allowed = 0;
	char scope[ADMIN_SCOPE_MAX + 1];
	bool open = false;

	memset(&c, 0, sizeof(c));
	memset(&st, 0, sizeof(st));
	c.r = r;
	c.w = w;
	c.app = r->app;
	w->cache = RESP_NO_STORE; /* HT-03 */
	if (count_request(&c) != 0)
		return;
	/* The path below "/admin/v1"; the prefix route guarantees it. */
	if (r->path.len < sizeof(ADMIN_PREFIX) - 1 ||
	    memcmp(r->path.p, ADMIN_PREFIX, sizeof(ADMIN_PREFIX) - 1) != 0) {
		admin_error(&c, 404, "not_found", "No such endpoint.");
		return;
	}
	rest.p = r->path.p + sizeof(ADMIN_PREFIX) - 1;
	rest.len = r->path.len - (sizeof(ADMIN_PREFIX) - 1);
	c.route = route_find(rest, r->method, &c, &allowed, &open);
	if (c.route == NULL) {
		char allow[96];

		if (allowed == 0) {
			admin_error(&c, 404, "not_found", "No such endpoint.");
			return;
		}
		router_allow_header(allowed, allow, sizeof(allow));
		admin_error(&c, 405, "method_not_allowed",
		    "Method not allowed for this endpoint.");
		resp_header(w, "Allow", allow);
		return;
	}
	if (r->query.len > 0 && c.route->method != HTTP_GET) {
		admin_error(&c, 400, "invalid_request",
		    "This endpoint takes no query parameters.");
		return;
	}
	if (!open) {
		if (authenticate(&c, &st) != 0)
			goto out;
		if (admin_scope_name(c.route, scope) != 0 ||
		    !admin_has_scope(&c, scope)) {
			challenge(&c, c.dpop, 403, "insufficient_scope",
			    "The access token lacks the scope this endpoint "
			    "needs.",
			    scope);
			goto out;
		}
	}
	if (read_body(&c) != 0)
		goto out;
	c.route->handler(&c);
out:
	json_decref(c.body);
	if (st.have)
		bearer_clear(&st.b);
}

void
admin_main(struct req *r, struct resp *w)
{
	struct app *app = r->app;

	/* With admin_listen set, the API lives there only. */
	if (app->cfg->admin_listen != NULL && app->cfg->admin_listen[0]) {
		w->cache = RESP_NO_STORE;
		admin_error_w(w, 404, "not_found", "No such endpoint.");
		return;
	}
	admin_dispatch(r, w);
}

void
admin_routes_print(FILE *f)
{
	char scope[ADMIN_SCOPE_MAX + 1];

	for (size_t t = 0; admin_tables[t] != NULL; t++)
		for (size_t i = 0; i < admin_tables[t]->n; i++) {
			const struct admin_route *rt =
			    &admin_tables[t]->routes[i];

			if (admin_tables[t] == &admin_meta_table)
				snprintf(scope, sizeof(scope), "-");
			else if (admin_scope_name(rt, scope) != 0)
				continue;
			fprintf(f, "%s %s%s %s\n", http_method_name(rt->method),
			    ADMIN_PREFIX, rt->pattern, scope);
		}
}
