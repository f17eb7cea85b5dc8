/*
 * GET /account/mfa: what protects the account (issue 16, item 5).
 *
 * One page that says, for the signed-in user, which factors a sign-in can
 * use: the password, the authenticator app (TOTP) on or off, how many
 * passkeys, how many recovery codes are left, and how this very session
 * signed in (its amr, as the ID tokens say it: docs/mfa.md). Each factor
 * links to the page that adds or removes it (/account/mfa/totp,
 * /account/passkeys, /account/mfa/recovery); those pages ask for a recent
 * sign-in (SS-09) and notify by mail. A pending second-factor step is not
 * signed in (MF-04): it gets /login like any visitor without a session.
 */
#include <string.h>

#include <sodium.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "web/web.h"

/* Words of an amr, as a person reads them. */
static void
amr_words(struct buf *b, const char *amr)
{
	static const struct {
		const char *v, *text;
	} names[] = {
		{ AMR_PWD, "password" },
		{ AMR_OTP, "one-time code" },
		{ AMR_HWK, "passkey on a device" },
		{ AMR_SWK, "synced passkey" },
		{ AMR_MFA, "two factors" },
		{ AMR_USER, "presence" },
	};
	const char *s = amr != NULL ? amr : "";
	bool first = true;

	while (*s != '\0') {
		size_t n;
		const char *text = NULL;

		while (*s == ' ')
			s++;
		if ((n = strcspn(s, " ")) == 0)
			break;
		for (size_t i = 0; i < PC_NELEM(names); i++)
			if (strlen(names[i].v) == n &&
			    strncmp(names[i].v, s, n) == 0)
				text = names[i].text;
		if (text != NULL) {
			page_puts(b, first ? "" : ", ");
			page_text(b, text);
			first = false;
		}
		s += n;
	}
	if (first)
		page_puts(b, "unknown");
}

static void
render(struct req *r, struct resp *w, const struct session *s)
{
	struct app *app = r->app;
	struct mfa_factors f;
	struct buf b;
	char *phc = NULL;
	bool password;
	int rc;

	if (mfa_factors_get(app->db, s->user_id, &f) != 0) {
		web_unavailable(w);
		return;
	}
	rc = user_password_phc(app->db, s->user_id, &phc);
	if (rc != 0 && rc != PC_ERR_NOT_FOUND) {
		web_unavailable(w);
		return;
	}
	password = rc == 0 && phc != NULL && phc[0] != '\0';
	pc_freezero_str(phc);

	buf_init(&b, 32 * 1024);
	page_begin(&b, "Sign-in protection");
	page_puts(&b,
	    mfa_has_factor(&f)
		? "<p>Signing in to your account takes a second factor.</p>\n"
		: "<p>Your password is the only thing that protects your "
		  "account. Add a passkey or an authenticator app so that a "
		  "stolen password is not enough.</p>\n");
	page_puts(&b, "<table><tbody>\n<tr><th>Password</th><td>");
	page_puts(&b, password ? "Set" : "None");
	page_puts(&b,
	    "</td><td><a href=\"/account\">Change it</a></td></tr>\n"
	    "<tr><th>Authenticator app</th><td>");
	page_puts(&b, f.totp ? "On" : "Off");
	page_puts(&b, "</td><td><a href=\"/account/mfa/totp\">");
	page_puts(&b, f.totp ? "Manage" : "Set up");
	page_puts(&b, "</a></td></tr>\n<tr><th>Passkeys</th><td>");
	page_printf(&b, "%u", f.passkeys);
	page_puts(&b,
	    "</td><td><a href=\"/account/passkeys\">Manage "
	    "passkeys</a></td></tr>\n<tr><th>Recovery codes</th><td>");
	page_printf(&b, "%u left", f.recovery_left);
	page_puts(&b, "</td><td><a href=\"/account/mfa/recovery\">");
	page_puts(&b, f.recovery_left > 0 ? "Make new codes" : "Make codes");
	page_puts(&b, "</a></td></tr>\n</tbody></table>\n");
	page_puts(&b, "<p>This session signed in with: <span id=\"amr\">");
	amr_words(&b, s->amr);
	page_puts(&b, "</span> (<code>");
	page_text(&b, s->amr != NULL ? s->amr : "");
	page_puts(&b,
	    "</code>).</p>\n"
	    "<nav><a href=\"/account\">Back to your account</a>"
	    "</nav>\n");
	page_end(&b);
	page_send(w, 200, &b);
}

void
web_account_mfa(struct req *r, struct resp *w)
{
	struct session s;

	if (!web_signed_in(r, w, &s))
		return;
	render(r, w, &s);
	session_clear(&s);
}
