/*
 * admin: the admin API (issue 17 item 1; docs/admin-api.md, decision 0070).
 *
 * Every request under /admin/v1/ goes to admin_dispatch(), which, in this
 * order: counts the request against the caller's IP (before any work),
 * verifies the bearer token (our own access token, audience the admin
 * API's built-in resource; never a cookie), matches the path against the
 * route tables of every module strictly (no decoding, no trailing-slash
 * alias; 404, or 405 with Allow), checks the scope admin:<kind>:read or
 * admin:<kind>:write of the route (403 insufficient_scope), checks and
 * parses the JSON body (415, 413, 400), then calls the route's handler
 * with a struct admin_ctx.
 *
 * A module (src/admin/users.c, groups.c, clients.c, ...) keeps its own
 * route table and exports it as one struct admin_table; the dispatcher
 * (src/admin/admin.c) lists each table on one line. Its part of the
 * OpenAPI document lives in src/admin/openapi/NN-name.json (a partial
 * document with "paths" and "components": {"schemas"}), merged at build
 * time by scripts/embed_openapi.py into the one document served at
 * GET /admin/v1/openapi.json. Every route in a table must be in the
 * document and the other way round (tests/e2e/admin_openapi.test.mjs,
 * which reads the tables through `portcullis admin routes`).
 *
 * Handlers call domain functions (auth/, oauth/, machine/, audit/), never
 * the store directly. Every change is audited with admin_audit() before it
 * is answered (AU-01); a handler never answers 500: map errors with
 * admin_error_code().
 */
#ifndef PC_ADMIN_H
#define PC_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "http/http.h"
#include "util/util.h"

struct app;
struct config;

/* The API's path prefix; route patterns are relative to it. */
#define ADMIN_PREFIX "/admin/v1"
/* The methods the prefix route takes: the dispatcher answers 405 for
 * what a path does not. */
#define ADMIN_METHODS \
	(HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PUT | HTTP_PATCH | \
	    HTTP_DELETE | HTTP_OPTIONS)
/* The admin API's built-in resource (its tokens' audience) is
 * <issuer>ADMIN_PREFIX: admin_audience(). */

/* The object kinds, each with scopes admin:<kind>:read and
 * admin:<kind>:write (write implies nothing else, not even read). */
enum admin_kind {
	ADMIN_USERS = 0,
	ADMIN_GROUPS,
	ADMIN_CLIENTS,
	ADMIN_SERVICE_ACCOUNTS,
	ADMIN_API_KEYS,
	ADMIN_RESOURCES,
	ADMIN_SESSIONS,
	ADMIN_KEYS, /* signing keys */
	ADMIN_AUDIT,
	ADMIN_AGENTS,
	ADMIN_FEDERATION, /* workload identity federation */
	ADMIN_KIND_COUNT,
};

/* "users", "service_accounts", ...; NULL when out of range. */
const char *admin_kind_name(enum admin_kind k);

#define ADMIN_MAX_PARAMS 3   /* {id}-style parameters in one pattern */
#define ADMIN_PARAM_MAX 128  /* bytes of one parameter's value */
#define ADMIN_BODY_MAX 65536 /* bytes of a request body (413 above) */
#define ADMIN_JSON_DEPTH 8   /* nesting of a request body (400 above) */
#define ADMIN_PAGE_DEFAULT 50
#define ADMIN_PAGE_MAX 500

struct admin_ctx;
/*
 * A route's handler: answers through c->w (admin_json, admin_error, ...)
 * or defers (req_defer(c->r, ...)). c lives only for this call: a handler
 * that defers copies what its later steps need (admin_actor_copy()).
 */
typedef void (*admin_handler)(struct admin_ctx *c);

/*
 * One route: one method on one pattern. Patterns are relative to
 * ADMIN_PREFIX and made of literal segments and whole-segment parameters,
 * "/users/{id}/factors/{factor}". A parameter matches 1..ADMIN_PARAM_MAX
 * bytes of [A-Za-z0-9._~@:+-] (never '/', '%' or an empty segment, never
 * "." or ".."); handlers check the id's own form. GET routes answer HEAD
 * too. body: the route takes a JSON object body (POST/PUT/PATCH); a route
 * without body refuses one (400). A query string is refused (400) but on
 * GET routes, whose handlers read it through admin_page().
 */
struct admin_route {
	const char *pattern;
	enum http_method method; /* exactly one of GET, POST, PUT, PATCH,
				    DELETE */
	enum admin_kind kind;
	bool write; /* needs admin:<kind>:write, else admin:<kind>:read */
	bool body;
	admin_handler handler;
};

/* A module's routes: exported as `const struct admin_table
 * admin_<module>_table` and listed in src/admin/admin.c's tables[]. */
struct admin_table {
	const struct admin_route *routes;
	size_t n;
};

#define ADMIN_TABLE(name, arr) \
	const struct admin_table name = { arr, PC_NELEM(arr) }

/* h-admin: */
/* The routes that need no credential: openapi.json, nothing else. */
extern const struct admin_table admin_meta_table;
extern const struct admin_table admin_users_table;
extern const struct admin_table admin_groups_table;
extern const struct admin_table admin_sessions_table;
extern const struct admin_table admin_audit_table;
/* h-admin2: */
extern const struct admin_table admin_clients_table;
extern const struct admin_table admin_service_accounts_table;
extern const struct admin_table admin_api_keys_table;
extern const struct admin_table admin_resources_table;
extern const struct admin_table admin_keys_table;
extern const struct admin_table admin_agents_table;
extern const struct admin_table admin_federation_table;

/* Every table, in dispatch order, ending with a NULL. */
extern const struct admin_table *const admin_tables[];

/* The acting principal: who the verified token speaks for. */
enum admin_principal_kind {
	ADMIN_ACTOR_SERVICE_ACCOUNT, /* client_credentials (sub = sa id) */
	ADMIN_ACTOR_USER,	     /* an API key's owner (sub = user id) */
};

struct admin_param {
	char name[32]; /* the pattern's name, "id" */
	char value[ADMIN_PARAM_MAX + 1];
};

/* The per-request context handed to a handler. */
struct admin_ctx {
	struct req *r;
	struct resp *w;
	struct app *app; /* r->app */
	const struct admin_route *route;

	/* The acting principal (the audit row's actor): a service account's
	 * id, or the user id owning the API key the token came from. */
	const char *actor;
	enum admin_principal_kind actor_kind;
	const char *client_id;	   /* the token's client_id */
	const char *credential_id; /* the API key's id; NULL: none */
	const char *scope;	   /* granted scopes, space-separated */
	bool dpop;		   /* the token came with the DPoP scheme */

	struct admin_param params[ADMIN_MAX_PARAMS];
	size_t nparams;

	/* The parsed JSON object body (borrowed; route->body only), NULL
	 * otherwise. */
	json_t *body;
};

#define ADMIN_SCOPE_MAX 48 /* "admin:service_accounts:write" */
/* The scope rt needs, "admin:users:read". */
int admin_scope_name(
    const struct admin_route *rt, char out[ADMIN_SCOPE_MAX + 1]) PC_WUR;

/* A path parameter by name ("id"); NULL when the pattern has none. */
const char *admin_param(const struct admin_ctx *c, const char *name);
/* Whether the token holds scope (e.g. "admin:users:read"). */
bool admin_has_scope(const struct admin_ctx *c, const char *scope);

/* ---- Answers. Every one sets Cache-Control: no-store (HT-03). ---- */

/* Answers status with obj as the body; steals obj (NULL: 503). */
void admin_json(struct admin_ctx *c, int status, json_t *obj);
/* 204, no body. */
void admin_no_content(struct admin_ctx *c);
/*
 * The one error shape, {"error": error, "error_description": desc}, for
 * 400 invalid_request, 401 invalid_token, 403 insufficient_scope,
 * 404 not_found, 405 method_not_allowed, 409 conflict, 413 too_large,
 * 415 unsupported_media_type, 429 too_many_requests, 503 temporarily_
 * unavailable (with Retry-After). desc: ASCII, no CR/LF, may be NULL.
 */
void admin_error(
    struct admin_ctx *c, int status, const char *error, const char *desc);
/* The same with only the response (a deferred step). */
void
admin_error_w(struct resp *w, int status, const char *error, const char *desc);
/*
 * Maps a domain error to its answer: NOT_FOUND 404, CONFLICT/DUPLICATE
 * 409, INVALID 400, TOO_LARGE 413, UNSUPPORTED 415, BUSY 429, STORE and
 * anything else 503 with Retry-After (never 500). what names the object
 * for the description ("user").
 */
void admin_error_code(struct admin_ctx *c, int err, const char *what);

/* ---- The body ---- */

enum admin_type {
	ADMIN_T_STRING, /* a string of 1..max bytes (max 0: 256) */
	ADMIN_T_BOOL,
	ADMIN_T_INT,	 /* an integer in [0, max] (max 0: INT64_MAX) */
	ADMIN_T_STRINGS, /* an array of at most max strings (0: 64), each
			    of 1..256 bytes */
	ADMIN_T_NULLABLE_STRING, /* a string as above, or null */
};

struct admin_field {
	const char *name;
	enum admin_type type;
	bool required;
	int64_t max;
};

/*
 * Checks c->body against fields: every member must be one of them (else
 * 400 "unknown field"), of its type and within its bounds, and every
 * required one present. 0 when it fits; otherwise the 400 is answered
 * and PC_ERR_INVALID returned (the handler just returns).
 */
int admin_body_check(
    struct admin_ctx *c, const struct admin_field *fields, size_t n) PC_WUR;
/* A checked body's member, NULL when absent (or JSON null). */
const char *admin_body_str(const struct admin_ctx *c, const char *name);
/* 0 with *out, or PC_ERR_NOT_FOUND when absent. */
int admin_body_bool(const struct admin_ctx *c, const char *name, bool *out);
int admin_body_int(const struct admin_ctx *c, const char *name, int64_t *out);
/* Zeroes a secret string member of the body in place (a password):
 * jansson would free it unwiped. */
void admin_body_wipe(struct admin_ctx *c, const char *name);

/*
 * The query's paging, ?limit=N&after=CURSOR: *limit in
 * 1..ADMIN_PAGE_MAX (ADMIN_PAGE_DEFAULT when absent), *after NULL when
 * absent. Unknown query parameters, repeats or bad values: 400 answered,
 * PC_ERR_INVALID returned. extra names further parameters the route
 * accepts (NULL-terminated list, may be NULL); read them with
 * admin_query().
 */
int admin_page(struct admin_ctx *c, const char *const *extra, int64_t *limit,
    const char **after) PC_WUR;
/* A query parameter's value (after admin_page checked it); NULL absent. */
const char *admin_query(struct admin_ctx *c, const char *name);

/* ---- Authority ---- */

/*
 * admin: scopes are authority over this API. A change that would grant
 * scopes (a group's, a service account's, a client's or an API key's
 * scope list, or a membership of a group that has one) calls this first:
 * 0 when the caller holds every admin: scope of scopes itself (NULL or
 * none: 0); otherwise 403 insufficient_scope is answered and -1
 * returned. So no admin:<kind>:write widens anyone's admin rights.
 */
int admin_no_escalation(struct admin_ctx *c, const char *scopes) PC_WUR;

/* ---- Audit ---- */

/*
 * Appends the audit row of a change: event ("admin.user.create"),
 * outcome success, actor c->actor, target, details (borrowed, may be
 * NULL; "via":"admin_api", the client_id and credential are added), the
 * request's IP, user agent and id. 0 once durable; otherwise the error
 * (logged): the handler answers admin_error_code(c, err, ...) (503).
 */
int admin_audit(struct admin_ctx *c, const char *event, const char *target,
    json_t *details) PC_WUR;

/* What a deferred step needs to audit as the same principal. */
struct admin_actor {
	char *actor;
	char *client_id;
	char *credential_id; /* NULL: none */
};
/* Copies c's principal (xmalloc); admin_actor_clear() frees it. */
void admin_actor_copy(const struct admin_ctx *c, struct admin_actor *out);
void admin_actor_clear(struct admin_actor *a);
/* admin_audit from a deferred step. */
int admin_audit_as(struct req *r, const struct admin_actor *a,
    const char *event, const char *target, json_t *details) PC_WUR;

/* ---- The API's entry points ---- */

/* The admin API's audience: <issuer>/admin/v1 (malloc'd by xmalloc).
 * Also the URI given as resource= to the token endpoint. */
char *admin_audience(const struct config *cfg);

/* Every admin scope, space-separated (malloc'd): the admin resource's
 * scopes. */
char *admin_scope_list(void);

/* The route of every /admin/v1/ request (server/routes.c). */
void admin_dispatch(struct req *r, struct resp *w);
/* The main listener's /admin/v1/ route: admin_dispatch, or 404 when
 * admin_listen is set (the API lives there only). */
void admin_main(struct req *r, struct resp *w);

/* The user named by the path's {id} into *u (users.c; users and
 * sessions routes): 0, or -1 with 404 (or the store's error) answered. */
struct user_record;
int admin_user_of(struct admin_ctx *c, struct user_record *u) PC_WUR;

/* The merged OpenAPI document (generated from src/admin/openapi/). */
extern const char admin_openapi_json[];
extern const size_t admin_openapi_json_len;

/* Writes "METHOD /admin/v1/pattern scope\n" for every route (the CLI's
 * `portcullis admin routes`). */
void admin_routes_print(FILE *f);

#endif
