/*
 * "Agents acting for you" on the account page (issue 15; SECURITY.md
 * TX-08): every live delegation of the signed-in user (the token family
 * of an agent, or of any client holding a grant for a resource), with
 * what it got (resource, scopes), until when, when it was last used, and
 * "Revoke". Revoking ends the family, so every token of that delegation,
 * and every token exchanged from them down a chain (they carry its gid),
 * is refused at its next use (next request: 401).
 *
 * The revoke form is checked like every account form (CF-01: same origin
 * and the session's CSRF token); no recent sign-in is needed, as it only
 * takes access away. A user can revoke only their own delegations: the
 * store matches the family and the user in one statement. Each revoke
 * is audited as delegation.revoke (actor the user, target the agent).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "oauth/domain.h"
#include "web/web.h"

#define FORM_AGENTS "account-agents"
#define PATH_AGENTS "/account/agents"

/* The last time the delegation gave its holder tokens: a refresh, or a
 * token exchange (family.last_used_at); 0: not since it was granted. */
static int64_t
last_used(const struct store_delegation *d)
{
	return d->last_used_at > d->last_refresh_at ? d->last_used_at
						    : d->last_refresh_at;
}

void
web_account_agents_render(struct buf *b, const struct session *s,
    const struct store_delegation *v, size_t n)
{
	char token[64];

	page_puts(b, "<h2>Agents acting for you</h2>\n");
	if (n == 0) {
		page_puts(b,
		    "<p>No agent or application is acting for you at a "
		    "resource.</p>\n");
		return;
	}
	if (session_csrf_token(s, FORM_AGENTS, token) != 0)
		return;
	page_puts(b,
	    "<table id=\"agents\"><thead><tr><th>Agent</th><th>Acts at</th>"
	    "<th>Scopes</th><th>Since</th><th>Until</th><th>Last used</th>"
	    "<th></th></tr></thead><tbody>\n");
	for (size_t i = 0; i < n; i++) {
		const struct store_delegation *d = &v[i];
		char since[32], until[32], used[32];

		page_time(d->created_at, since);
		page_time(d->expires_at, until);
		page_time(last_used(d), used);
		page_puts(b, "<tr><td>");
		page_text(b, d->client_name);
		if (strcmp(d->client_kind, CLIENT_KIND_AGENT) == 0)
			page_puts(b, " (agent)");
		if (strcmp(d->registration, "operator") != 0)
			page_puts(b, " (unverified)");
		page_puts(b, "</td><td><code>");
		page_text(b, d->resource != NULL ? d->resource : "this site");
		page_puts(b, "</code></td><td>");
		page_text(b, d->scope);
		page_printf(b, "</td><td>%s</td><td>%s</td><td>%s</td><td>",
		    since, until, used);
		page_puts(b,
		    "<form method=\"post\" action=\"" PATH_AGENTS
		    "\" class=\"inline\">");
		page_csrf(b, token);
		page_puts(
		    b, "<input type=\"hidden\" name=\"delegation\" value=\"");
		page_text(b, d->family_id);
		page_puts(b,
		    "\"><button type=\"submit\" class=\"link\">Revoke"
		    "</button></form></td></tr>\n");
	}
	page_puts(b, "</tbody></table>\n");
	sodium_memzero(token, sizeof(token));
}

/* 401 for a POST without a live session (or 503 if the store cannot
 * say); false when answered. */
static bool
signed_in(struct req *r, struct resp *w, struct session *s)
{
	bool presented = false;
	int rc = web_session(r, s, NULL, &presented);

	if (rc == 0 && s->user_id != NULL)
		return true;
	session_clear(s);
	if (web_store_failed(rc)) {
		web_unavailable(w);
		return false;
	}
	if (presented)
		web_audit(
		    r, NULL, "session.unknown", "failure", NULL, NULL, NULL);
	page_message(w, 401, "Signed out",
	    "Your session has ended. Please sign in again.", "/login",
	    "Sign in");
	return false;
}

void
web_account_agents(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	struct session s;
	const char *id;
	char *client_id = NULL;
	json_t *d;
	int rc;

	if (!signed_in(r, w, &s))
		return;
	if (!web_check_form(r, w, &s, FORM_AGENTS))
		goto out;
	id = web_field(r, "delegation");
	rc = delegation_revoke(app, s.user_id, id, r->now, &client_id);
	if (rc == PC_ERR_NOT_FOUND) {
		page_message(w, 400, "Nothing to revoke",
		    "That delegation was already revoked, has ended, or is "
		    "not yours.",
		    "/account", "Back to your account");
		goto out;
	}
	if (rc != 0) {
		page_message(w, 503, "Unavailable",
		    "The delegation could not be revoked. Please try again.",
		    "/account", "Back to your account");
		resp_header(w, "Retry-After", "5");
		goto out;
	}
	/* TX-07, AU-01: revoked either way; answered only once recorded. */
	d = json_pack("{s:s}", "family", id);
	rc = web_audit(
	    r, &s, "delegation.revoke", "success", s.user_id, client_id, d);
	json_decref(d);
	if (rc != 0) {
		page_message(w, 503, "Unavailable",
		    "The delegation was revoked, but this could not be "
		    "recorded. Please try again later.",
		    "/account", "Back to your account");
		goto out;
	}
	web_redirect(w, "/account?done=agents");
out:
	free(client_id);
	session_clear(&s);
}
