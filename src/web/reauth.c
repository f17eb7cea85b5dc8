/*
 * Re-authentication for sensitive changes (SS-09), shared by the account
 * pages (account.c, account_keys.c, the second-factor pages): whether a
 * session's sign-in is recent enough, and the password page that renews
 * it (its POST, /account/reauth, is web_account_reauth() in account.c).
 * A file of its own so that account.c stays within the size rule.
 */
#include <sodium.h>

#include "auth/auth.h"
#include "web/web.h"

bool
web_recent_auth(const struct req *r, const struct session *s)
{
	const struct app *app = r->app;

	return r->now - s->auth_time < app->cfg->reauth_window;
}

/* The re-authentication page (SS-09): the password, then back. */
void
web_render_reauth(struct req *r, struct resp *w, const struct session *s,
    int status, const char *error, const char *then)
{
	struct buf b;
	char token[64];

	(void)r;
	if (session_csrf_token(s, WEB_FORM_REAUTH, token) != 0) {
		page_message(w, 500, "Error", "Internal error.", NULL, NULL);
		return;
	}
	buf_init(&b, 64 * 1024);
	page_begin(&b, "Confirm it is you");
	page_notice(&b, error != NULL ? "error" : "info",
	    error != NULL ? error
			  : "This change needs a recent sign-in. Enter your "
			    "password to continue.");
	page_puts(&b, "<form method=\"post\" action=\"/account/reauth\">\n");
	page_csrf(&b, token);
	page_puts(&b, "<input type=\"hidden\" name=\"then\" value=\"");
	page_text(&b, then);
	page_puts(&b,
	    "\">\n<label for=\"password\">Password</label>\n"
	    "<input id=\"password\" name=\"password\" type=\"password\" "
	    "required autocomplete=\"current-password\">\n"
	    "<button type=\"submit\">Continue</button>\n</form>\n"
	    "<nav><a href=\"/account\">Back to your account</a></nav>\n");
	page_end(&b);
	page_send(w, status, &b);
	sodium_memzero(token, sizeof(token));
}
