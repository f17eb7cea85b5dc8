/*
 * The mails Portcullis sends. Links are built from the configured issuer
 * only, never from a request's Host (SECURITY.md RS-05). A token is
 * base64url, so it goes into a link without escaping; anything else is
 * refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail/mail.h"

#define TOKEN_LEN 43

static bool
token_ok(const char *t)
{
	if (t == NULL || strnlen(t, TOKEN_LEN + 1) != TOKEN_LEN)
		return false;
	for (size_t i = 0; i < TOKEN_LEN; i++) {
		char c = t[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* "30 minutes", "24 hours", "1 day", "90 seconds". */
static void
duration(int64_t s, char *out, size_t n)
{
	const char *unit = "second";
	int64_t v = s;

	if (s > 0 && s % 86400 == 0 && s > 86400) {
		v = s / 86400;
		unit = "day";
	} else if (s > 0 && s % 3600 == 0) {
		v = s / 3600;
		unit = "hour";
	} else if (s > 0 && s % 60 == 0) {
		v = s / 60;
		unit = "minute";
	}
	snprintf(out, n, "%lld %s%s", (long long)v, unit, v == 1 ? "" : "s");
}

/* The name the mails give the service: the issuer's host[:port]. */
static const char *
site(const struct config *cfg)
{
	return cfg->issuer_authority != NULL && cfg->issuer_authority[0] != '\0'
	    ? cfg->issuer_authority
	    : cfg->issuer;
}

static int
finish(
    const char *to, const char *subject, struct buf *text, struct mail_msg *out)
{
	struct mail m;
	int r;

	out->to = xstrdup(to);
	out->subject = xstrdup(subject);
	out->text = buf_steal(text);
	m = mail_msg_view(out);
	if ((r = mail_check(&m)) != 0)
		mail_msg_clear(out);
	return r;
}

static int
prepare(const struct config *cfg, const char *to, struct buf *b,
    struct mail_msg *out)
{
	memset(out, 0, sizeof(*out));
	buf_init(b, MAIL_TEXT_MAX);
	if (cfg == NULL || cfg->issuer == NULL || !mail_addr_ok(to))
		return PC_ERR_INVALID;
	return 0;
}

int
mail_compose_verify(const struct config *cfg, const char *to, const char *token,
    int64_t ttl, struct mail_msg *out)
{
	char d[48];
	struct buf b;
	int r;

	if ((r = prepare(cfg, to, &b, out)) != 0)
		return r;
	if (!token_ok(token))
		return PC_ERR_INVALID;
	duration(ttl, d, sizeof(d));
	if ((r = buf_printf(&b,
		 "Hello,\n\n"
		 "please confirm that %s is your email address at %s by "
		 "opening this link within %s:\n\n"
		 "%s/verify?token=%s\n\n"
		 "The link works once. If you did not create an account or "
		 "add this address, ignore this mail; nothing changes.\n",
		 to, site(cfg), d, cfg->issuer, token)) != 0) {
		buf_free(&b);
		return r;
	}
	return finish(to, "Confirm your email address", &b, out);
}

int
mail_compose_reset(const struct config *cfg, const char *to, const char *token,
    int64_t ttl, struct mail_msg *out)
{
	char d[48];
	struct buf b;
	int r;

	if ((r = prepare(cfg, to, &b, out)) != 0)
		return r;
	if (!token_ok(token))
		return PC_ERR_INVALID;
	duration(ttl, d, sizeof(d));
	if ((r = buf_printf(&b,
		 "Hello,\n\n"
		 "someone asked to reset the password of your account at %s. "
		 "To choose a new password, open this link within %s:\n\n"
		 "%s/reset?token=%s\n\n"
		 "The link works once. If you did not ask for this, ignore "
		 "this mail: your password stays as it is.\n",
		 site(cfg), d, cfg->issuer, token)) != 0) {
		buf_free(&b);
		return r;
	}
	return finish(to, "Reset your password", &b, out);
}

int
mail_compose_already_registered(
    const struct config *cfg, const char *to, struct mail_msg *out)
{
	struct buf b;
	int r;

	if ((r = prepare(cfg, to, &b, out)) != 0)
		return r;
	if ((r = buf_printf(&b,
		 "Hello,\n\n"
		 "someone tried to create an account at %s with this email "
		 "address, but you already have an account there.\n\n"
		 "If that was you, sign in at %s with your existing account, "
		 "or use \"Forgot password\" there if you do not remember "
		 "your password.\n\n"
		 "If it was not you, ignore this mail; nothing changes.\n",
		 site(cfg), cfg->issuer)) != 0) {
		buf_free(&b);
		return r;
	}
	return finish(to, "You already have an account", &b, out);
}

int
mail_compose_password_changed(const struct config *cfg, const char *to,
    int64_t when, struct mail_msg *out)
{
	char at[32];
	time_t t = (time_t)when;
	struct tm tm;
	struct buf b;
	int r;

	if ((r = prepare(cfg, to, &b, out)) != 0)
		return r;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(at, sizeof(at), "%Y-%m-%d %H:%M UTC", &tm) == 0)
		return PC_ERR_INVALID;
	if ((r = buf_printf(&b,
		 "Hello,\n\n"
		 "the password of your account at %s was changed on %s, and "
		 "every other session of the account was signed out.\n\n"
		 "If you did this, there is nothing to do. If you did not, "
		 "reset your password at %s now and tell your "
		 "administrator.\n",
		 site(cfg), at, cfg->issuer)) != 0) {
		buf_free(&b);
		return r;
	}
	return finish(to, "Your password was changed", &b, out);
}

/* API keys (issue 14; AK-06, AK-07): only key ids, never a key. */

int
mail_compose_api_key_leaked(const struct config *cfg, const char *to,
    const char *owner_id, const char *const *key_ids, size_t n, int64_t when,
    struct mail_msg *out)
{
	char at[32];
	time_t t = (time_t)when;
	struct tm tm;
	struct buf b;
	int r;

	if ((r = prepare(cfg, to, &b, out)) != 0)
		return r;
	if (n == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(at, sizeof(at), "%Y-%m-%d %H:%M UTC", &tm) == 0)
		return PC_ERR_INVALID;
	r = buf_printf(&b,
	    "Hello,\n\n"
	    "on %s, %zu API key%s of %s at %s %s found in a text that was "
	    "reported as leaked (a paste, a log or a repository), and %s "
	    "revoked:\n\n",
	    at, n, n == 1 ? "" : "s", owner_id, site(cfg),
	    n == 1 ? "was" : "were", n == 1 ? "it was" : "they were");
	for (size_t i = 0; r == 0 && i < n; i++)
		r = buf_printf(&b, "  %s\n", key_ids[i]);
	if (r == 0)
		r = buf_printf(&b,
		    "\nA revoked key no longer works. Create a new key for "
		    "whatever used it, keep it out of code, logs and URLs, and "
		    "tell your administrator where the leak came from.\n");
	if (r != 0) {
		buf_free(&b);
		return r;
	}
	return finish(to, "API keys of yours were leaked and revoked", &b, out);
}

int
mail_compose_api_key_created(const struct config *cfg, const char *to,
    const char *key_id, int64_t expires_at, int64_t when, struct mail_msg *out)
{
	char at[32], until[32];
	time_t t = (time_t)when, e = (time_t)expires_at;
	struct tm tm;
	struct buf b;
	int r;

	if ((r = prepare(cfg, to, &b, out)) != 0)
		return r;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(at, sizeof(at), "%Y-%m-%d %H:%M UTC", &tm) == 0 ||
	    gmtime_r(&e, &tm) == NULL ||
	    strftime(until, sizeof(until), "%Y-%m-%d %H:%M UTC", &tm) == 0)
		return PC_ERR_INVALID;
	if ((r = buf_printf(&b,
		 "Hello,\n\n"
		 "a personal API key (%s, valid until %s) was created for your "
		 "account at %s on %s.\n\n"
		 "If you did this, there is nothing to do. If you did not, "
		 "revoke it on your account page at %s/account, change your "
		 "password and tell your administrator.\n",
		 key_id, until, site(cfg), at, cfg->issuer)) != 0) {
		buf_free(&b);
		return r;
	}
	return finish(to, "A personal API key was created", &b, out);
}

/* ---- TOTP (issue 16; h-totp) ---- */
int
mail_compose_totp_changed(const struct config *cfg, const char *to, bool added,
    int64_t when, struct mail_msg *out)
{
	char at[32];
	time_t t = (time_t)when;
	struct tm tm;
	struct buf b;
	int r;

	if ((r = prepare(cfg, to, &b, out)) != 0)
		return r;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(at, sizeof(at), "%Y-%m-%d %H:%M UTC", &tm) == 0) {
		buf_free(&b);
		return PC_ERR_INVALID;
	}
	if ((r = buf_printf(&b,
		 "Hello,\n\n"
		 "an authenticator app (one-time codes) was %s your account at "
		 "%s on %s.\n\n"
		 "If you did this, there is nothing to do. If you did not, "
		 "change your password at once, check the second factors on "
		 "your account page at %s/account/mfa and tell your "
		 "administrator.\n",
		 added ? "added as a second factor to"
		       : "removed as a second factor from",
		 site(cfg), at, cfg->issuer)) != 0) {
		buf_free(&b);
		return r;
	}
	return finish(to,
	    added ? "An authenticator app was added to your account"
		  : "An authenticator app was removed from your account",
	    &b, out);
}

/* Recovery codes (issue 16; MF-07, AU-06): an index, never a code. */

int
mail_compose_recovery(const struct config *cfg, const char *to, unsigned idx,
    unsigned left, int64_t when, struct mail_msg *out)
{
	char at[32];
	time_t t = (time_t)when;
	struct tm tm;
	struct buf b;
	int r;

	if (idx > 99)
		return PC_ERR_INVALID;
	if ((r = prepare(cfg, to, &b, out)) != 0)
		return r;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(at, sizeof(at), "%Y-%m-%d %H:%M UTC", &tm) == 0) {
		buf_free(&b);
		return PC_ERR_INVALID;
	}
	if (idx == 0)
		r = buf_printf(&b,
		    "Hello,\n\n"
		    "a new set of recovery codes was generated for your "
		    "account "
		    "at %s on %s. The codes you had before no longer work.\n\n"
		    "If you did this, keep the new codes somewhere safe. If "
		    "you "
		    "did not, someone is signed in to your account: change "
		    "your "
		    "password at %s/account, generate new codes at "
		    "%s/account/mfa/recovery and tell your administrator.\n",
		    site(cfg), at, cfg->issuer, cfg->issuer);
	else
		r = buf_printf(&b,
		    "Hello,\n\n"
		    "recovery code number %u was used to sign in to your "
		    "account "
		    "at %s on %s. It cannot be used again; %u of your recovery "
		    "codes are left.\n\n"
		    "If this was you, generate a new set of codes at "
		    "%s/account/mfa/recovery (the new set replaces the old "
		    "one), "
		    "and set up your second factor again if you lost it. If it "
		    "was not you, someone has your password and one of your "
		    "recovery codes: change your password at %s/account, "
		    "generate new recovery codes and tell your "
		    "administrator.\n",
		    idx, site(cfg), at, left, cfg->issuer, cfg->issuer);
	if (r != 0) {
		buf_free(&b);
		return r;
	}
	return finish(to,
	    idx == 0 ? "New recovery codes were generated"
		     : "A recovery code was used",
	    &b, out);
}

/* ---- Second factors (issue 16; h-mfa-signin) ---- */

int
mail_compose_mfa_failures(const struct config *cfg, const char *to,
    int64_t failures, int64_t when, struct mail_msg *out)
{
	char at[32];
	time_t t = (time_t)when;
	struct tm tm;
	struct buf b;
	const char *next;
	int r;

	if ((r = prepare(cfg, to, &b, out)) != 0)
		return r;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(at, sizeof(at), "%Y-%m-%d %H:%M UTC", &tm) == 0) {
		buf_free(&b);
		return PC_ERR_INVALID;
	}
	next = failures >= 100
	    ? "Your second factor is now blocked until an administrator "
	      "resets it."
	    : failures >= 20
	    ? "Codes from your authenticator app are now refused until you "
	      "sign in with a recovery code (or an administrator resets "
	      "them)."
	    : "Further attempts now have to wait, longer after each failure.";
	if ((r = buf_printf(&b,
		 "Hello,\n\n"
		 "someone signed in to your account at %s with your correct "
		 "password and then entered %lld wrong second-factor codes in "
		 "a row (last on %s).\n\n%s\n\n"
		 "If this was not you, your password is known to someone "
		 "else: change it at %s/account now and tell your "
		 "administrator.\n",
		 site(cfg), (long long)failures, at, next, cfg->issuer)) != 0) {
		buf_free(&b);
		return r;
	}
	return finish(
	    to, "Failed second-factor attempts on your account", &b, out);
}

/* Issue 16 (AU-06): the operator's reset of the second factors. */

int
mail_compose_mfa_reset(const struct config *cfg, const char *to,
    const char *kind, int64_t when, struct mail_msg *out)
{
	const char *what = kind == NULL ? "all second factors (authenticator "
					  "app, passkeys and recovery codes)"
	    : strcmp(kind, "totp") == 0 ? "the authenticator app (TOTP)"
	    : strcmp(kind, "passkey") == 0  ? "every passkey"
	    : strcmp(kind, "recovery") == 0 ? "the recovery codes"
					    : NULL;
	char at[32];
	time_t t = (time_t)when;
	struct tm tm;
	struct buf b;
	int r;

	memset(out, 0, sizeof(*out));
	if (what == NULL || gmtime_r(&t, &tm) == NULL ||
	    strftime(at, sizeof(at), "%Y-%m-%d %H:%M UTC", &tm) == 0)
		return PC_ERR_INVALID;
	if ((r = prepare(cfg, to, &b, out)) != 0)
		return r;
	if ((r = buf_printf(&b,
		 "Hello,\n\n"
		 "on %s an administrator of %s removed %s from your "
		 "account.\n\n"
		 "Sign in at %s/account/mfa and add a second factor again. "
		 "If you did not ask for this, tell your administrator at "
		 "once: someone may be trying to take over your account.\n",
		 at, site(cfg), what, cfg->issuer)) != 0) {
		buf_free(&b);
		return r;
	}
	return finish(
	    to, "The second factors of your account were reset", &b, out);
}

/* ---- passkeys (issue 16; h-passkeys) ---- */
int
mail_compose_passkey_changed(const struct config *cfg, const char *to,
    bool added, int64_t when, struct mail_msg *out)
{
	char at[32];
	time_t t = (time_t)when;
	struct tm tm;
	struct buf b;
	int r;

	if ((r = prepare(cfg, to, &b, out)) != 0)
		return r;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(at, sizeof(at), "%Y-%m-%d %H:%M UTC", &tm) == 0) {
		buf_free(&b);
		return PC_ERR_INVALID;
	}
	if ((r = buf_printf(&b,
		 "Hello,\n\n"
		 "a passkey was %s your account at %s on %s.\n\n"
		 "If you did this, there is nothing to do. If you did not, "
		 "sign in at %s/account/passkeys, %s, change your password "
		 "and tell your administrator.\n",
		 added ? "added to" : "removed from", site(cfg), at,
		 cfg->issuer,
		 added ? "remove the passkey you do not know"
		       : "check the passkeys and other sign-in methods "
			 "left")) != 0) {
		buf_free(&b);
		return r;
	}
	return finish(to,
	    added ? "A passkey was added to your account"
		  : "A passkey was removed from your account",
	    &b, out);
}
