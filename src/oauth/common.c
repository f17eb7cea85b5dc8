/*
 * Small pieces every OAuth endpoint shares: JSON error bodies (RFC 6749
 * §5.2), audit rows with the request's context, the TK-11 check that no
 * secret rides in a URL, and the common front of /introspect and /revoke.
 * The pure parameter helpers are in params.c (oauth/proto.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit/audit.h"
#include "oauth/oauth.h"
#include "util/log.h"

void
oauth_error(struct resp *w, int status, const char *error, const char *desc)
{
	json_t *o =
	    json_pack("{s:s, s:s}", "error", error, "error_description", desc);

	if (o == NULL || resp_json(w, status, o) != 0) {
		buf_reset(&w->body);
		w->status = 500;
	}
	json_decref(o);
}

void
oauth_unavailable(struct resp *w)
{
	oauth_error(w, 503, "temporarily_unavailable", "Try again later.");
	resp_header(w, "Retry-After", "5");
}

bool
oauth_store_down(int rc)
{
	return rc == PC_ERR_STORE || rc == PC_ERR_BUSY;
}

int
oauth_audit(struct req *r, const char *event, const char *outcome,
    const char *actor, const char *target, json_t *details)
{
	return oauth_audit_session(
	    r, NULL, event, outcome, actor, target, details);
}

int
oauth_audit_session(const struct req *r, const char *session_hash,
    const char *event, const char *outcome, const char *actor,
    const char *target, json_t *details)
{
	struct app *app = r->app;
	struct audit_event ev;
	const char *ua = NULL;
	int rc;

	memset(&ev, 0, sizeof(ev));
	(void)req_header(r, "User-Agent", &ua);
	ev.event = event;
	ev.outcome = outcome;
	ev.actor = actor;
	ev.target = target;
	ev.ip = r->ip;
	ev.user_agent = ua;
	ev.request_id = r->rid;
	ev.session_hash = session_hash;
	ev.details = details;
	rc = audit_append(app->db, app->audit_key, &ev);
	if (rc != 0) {
		struct log_line l;

		log_begin(&l, LOG_ERROR, "audit.append_failed");
		log_str(&l, "event", event);
		log_str(&l, "error", pc_strerror(rc));
		log_end(&l);
	}
	return rc;
}

bool
oauth_query_has_secret(struct req *r)
{
	static const char *const names[] = { "client_secret",
		"client_assertion", "code", "code_verifier", "refresh_token",
		"token", "password", "access_token" };
	const struct kvlist *q;

	if (r->query.len == 0)
		return false;
	/* Unparseable: refuse rather than guess what it carries. */
	if (req_query(r, &q) != 0)
		return true;
	for (size_t i = 0; i < PC_NELEM(names); i++) {
		const struct kv *kv = NULL;

		if (kvlist_get(q, names[i], &kv) != PC_ERR_NOT_FOUND)
			return true;
	}
	return false;
}

int
oauth_form(struct req *r, struct resp *w, const struct kvlist **form)
{
	/* TK-11: never read a secret out of a URL, not even to refuse it. */
	if (oauth_query_has_secret(r)) {
		oauth_error(w, 400, "invalid_request",
		    "Credentials and tokens belong in the body, never the "
		    "URL.");
		return PC_ERR_INVALID;
	}
	if (req_form(r, form) != 0) {
		oauth_error(w, 400, "invalid_request",
		    "The body must be application/x-www-form-urlencoded.");
		return PC_ERR_INVALID;
	}
	return 0;
}

int
oauth_token_request(struct req *r, struct resp *w, bool public_ok,
    struct store_client *c, const char **token)
{
	const struct kvlist *form;
	const char *hint = NULL;

	*token = NULL;
	memset(c, 0, sizeof(*c));
	if (oauth_form(r, w, &form) != 0 ||
	    client_authenticate(r, w, form, public_ok, c) != 0)
		return PC_ERR_INVALID;
	/* The hint is advisory (RFC 7009 §2.1, RFC 7662 §2.1, IR-05): read
	 * only so that a repeated one is refused; the shape decides. */
	if (oauth_field(form, "token", token) != 0 ||
	    oauth_field(form, "token_type_hint", &hint) != 0) {
		oauth_error(
		    w, 400, "invalid_request", "A parameter is repeated.");
		goto fail;
	}
	if (*token == NULL) {
		oauth_error(w, 400, "invalid_request", "token is missing.");
		goto fail;
	}
	return 0;
fail:
	*token = NULL;
	store_client_clear(c);
	return PC_ERR_INVALID;
}
