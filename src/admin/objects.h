/*
 * What the object modules of the admin API share (issue 17 item 1:
 * clients.c, service_accounts.c, api_keys.c, resources.c, keys.c,
 * agents.c, federation.c): JSON renderings of word lists and times, a
 * JSON-valued body member, the answer to a refused change and the page of
 * a list; and the handling clients and agents share (find, list, store
 * and audit: admin_client_*). (The rule that a credential made through the API never holds an
 * admin scope its maker lacks, decision 0071, is the framework's
 * admin_no_escalation().)
 */
#ifndef PC_ADMIN_OBJECTS_H
#define PC_ADMIN_OBJECTS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "admin/admin.h"

/* "a b c" -> ["a","b","c"] (NULL and "" give []). New reference. */
json_t *admin_obj_words(const char *s);
/* A time in unix seconds, or null for 0. New reference. */
json_t *admin_obj_time(int64_t t);
/*
 * A checked body's string array member, joined with single spaces
 * (xmalloc'd; "" for []), or NULL when absent.
 */
char *admin_obj_body_words(const struct admin_ctx *c, const char *name);
/* A checked body's string array member into *v / *n (xmalloc'd, free with
 * admin_obj_strv_free); false when absent. */
bool admin_obj_body_strv(
    const struct admin_ctx *c, const char *name, char ***v, size_t *n);
void admin_obj_strv_free(char **v, size_t n);
/*
 * Takes the member name out of the body before admin_body_check() (which
 * knows only scalars and string arrays): absent or null, 0 with *out
 * NULL; a JSON object of at most max bytes compact, 0 with *out its text
 * (xmalloc'd); anything else answers 400 and returns PC_ERR_INVALID.
 * *present tells whether the member was there (null included).
 */
int admin_obj_take_object(struct admin_ctx *c, const char *name, size_t max,
    char **out, bool *present) PC_WUR;
/*
 * The answer to a refused domain call: PC_ERR_INVALID 400 and
 * PC_ERR_CONFLICT 409 with why (or a generic text), the rest as
 * admin_error_code(c, r, what).
 */
void admin_obj_refused(
    struct admin_ctx *c, int r, const char *why, const char *what);
/*
 * Answers 200 {"items": [...], "next": cursor|null} with the page of
 * items (an array of objects in a stable order, stolen) after the one
 * whose member key equals the query's after (admin_page), at most its
 * limit. extra: further query parameters the route takes (admin_page).
 */
void admin_obj_list(struct admin_ctx *c, json_t *items, const char *key);
/* The same after the caller ran admin_page() itself (extra parameters). */
void admin_obj_list_page(struct admin_ctx *c, json_t *items, const char *key,
    int64_t limit, const char *after);
/* The names of the body's members, as a JSON array (audit details). */
json_t *admin_obj_body_fields(const struct admin_ctx *c);
struct store_client;
/* The API's view of a client (clients.c; agents.c adds its fields);
 * secrets >= 0 adds active_secrets. Never a secret. */
json_t *admin_client_json(const struct store_client *c, json_int_t secrets);
/*
 * What sets clients (clients.c) and agents (agents.c) apart in the
 * handling they share: both are store_client rows, told apart by kind.
 */
struct admin_client_kind {
	bool agent;	     /* the routes serve agents, or other clients */
	const char *what;    /* "client" / "agent": the answers' noun */
	const char *created; /* audit actions */
	const char *updated;
	const char *unaudited; /* log event: created, unaudited, not removed */
	/* A list item. New reference. */
	json_t *(*json)(const struct store_client *cl);
	/* The audit details of a create or update, never a secret. */
	json_t *(*details)(const struct admin_ctx *c,
	    const struct store_client *cl, bool create);
};
/* The object named by {id}, of k's kind (a client is not an agent's and
 * an agent not a client's): 0, or answered (404 and the like). */
int admin_client_find(struct admin_ctx *c, const struct admin_client_kind *k,
    struct store_client *cl) PC_WUR;
/* The body of a create or update: the jwks member taken out (*jwks its
 * text or NULL, *jwks_given), the rest checked against fields. 0, or
 * answered with nothing held. */
int admin_client_body(struct admin_ctx *c, const struct admin_field *fields,
    size_t n, char **jwks, bool *jwks_given) PC_WUR;
/* Answers the list of every object of k's kind (admin_obj_list). */
void admin_client_list(struct admin_ctx *c, const struct admin_client_kind *k);
/*
 * Stores cl after the body was applied to it: the escalation rule
 * (admin_no_escalation), client_create (secret != NULL: receives it) or
 * client_update, then the audit row (k's action and details); a created
 * object that cannot be audited is removed again. 0 (the caller answers)
 * or answered.
 */
int admin_client_save(struct admin_ctx *c, const struct admin_client_kind *k,
    struct store_client *cl, char *secret) PC_WUR;
/* now, the request's clock. */
int64_t admin_obj_now(const struct admin_ctx *c);

#endif
