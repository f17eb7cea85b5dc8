/*
 * Signing out: POST /logout from the account page ends the session, the
 * refresh tokens issued from it (RT-05), and the cookie. OpenID Connect
 * RP-initiated logout (GET /logout with id_token_hint and
 * post_logout_redirect_uri, OI-11) is built on this.
 */
#include <string.h>

#include <sodium.h>

#include "store/store.h"
#include "util/log.h"
#include "web/web.h"

void
web_logout(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	struct session s;
	char cookie[64];

	if (web_session(r, &s, cookie, NULL) != 0) {
		/* Nothing to end; still clear whatever the browser holds. */
		if (!web_same_origin(r)) {
			page_message(w, 403, "Request refused",
			    "This form was not sent from this site.", NULL,
			    NULL);
			return;
		}
		web_clear_session_cookie(w, r);
		web_redirect(w, "/login");
		return;
	}
	if (!web_check_form(r, w, &s, "logout")) {
		session_clear(&s);
		sodium_memzero(cookie, sizeof(cookie));
		return;
	}
	if (session_revoke(app->db, cookie) == 0)
		web_audit(r, &s, "logout", "success", s.user_id, NULL, NULL);
	{
		/* RT-05: refresh tokens issued from this session end too. */
		char sid[17];

		memcpy(sid, s.id_hash, 16);
		sid[16] = '\0';
		if (store_families_revoke_sid(app->db, sid, r->now, "logout") !=
		    0)
			log_msg(LOG_WARN, "auth.logout",
			    "refresh tokens not revoked");
	}
	sodium_memzero(cookie, sizeof(cookie));
	session_clear(&s);
	web_clear_session_cookie(w, r);
	resp_header(w, "Clear-Site-Data", "\"cookies\", \"storage\"");
	web_redirect(w, "/login");
}
