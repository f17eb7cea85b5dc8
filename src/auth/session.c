/*
 * Server-side browser sessions (SECURITY.md SS-01..SS-10) and their CSRF
 * tokens (CF-01, CF-03).
 *
 * The session id is 32 CSPRNG bytes, sent as 43 base64url characters in
 * the cookie. The store keys the record by the hex SHA-256 of the 32
 * bytes, so a read of the store yields no cookie that works (SS-03).
 *
 * CSRF: the per-session CSRF key is HMAC-SHA-256 keyed by the session id
 * over a fixed label. It is derived, never stored: whoever can compute it
 * already holds the cookie, and a store read gives neither. A token is
 * HMAC-SHA-256 keyed by that key over a label and the form id, so a token
 * is bound to one session and one form (or one pending authorization
 * request, CF-03), and a new session (SS-01) invalidates every old token.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/auth.h"
#include "crypto/crypto.h"
#include "jose/jose.h"
#include "store/store.h"

_Static_assert(SESSION_COOKIE_LEN == 43, "43 = base64url of 32 bytes");
_Static_assert(
    crypto_auth_hmacsha256_BYTES == 32 && crypto_auth_hmacsha256_KEYBYTES == 32,
    "HMAC-SHA-256 sizes");

static const char csrf_key_label[] = "portcullis-session-csrf-key-v1";
static const char csrf_token_label[] = "portcullis-csrf-v1";

int64_t
session_idle_timeout(const struct config *cfg)
{
	return cfg != NULL && cfg->session_idle_timeout > 0
	    ? cfg->session_idle_timeout
	    : SESSION_IDLE;
}

int64_t
session_absolute_timeout(const struct config *cfg)
{
	return cfg != NULL && cfg->session_absolute_timeout > 0
	    ? cfg->session_absolute_timeout
	    : SESSION_ABSOLUTE;
}

void
session_clear(struct session *s)
{
	free(s->user_id);
	free(s->ip);
	free(s->user_agent);
	free(s->amr);
	free(s->mfa_user_id);
	free(s->mfa_amr);
	sodium_memzero(s, sizeof(*s));
}

static bool
is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Exactly 43 base64url characters, canonical: the 32 bytes they carry. */
static bool
parse_cookie(const char *v, uint8_t raw[SESSION_ID_BYTES])
{
	size_t len;

	if (v == NULL)
		return false;
	len = strnlen(v, SESSION_COOKIE_LEN + 1);
	if (len != SESSION_COOKIE_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_b64url(v[i]))
			return false;
	if (b64url_decode(v, len, raw, SESSION_ID_BYTES, &len) != 0 ||
	    len != SESSION_ID_BYTES) {
		sodium_memzero(raw, SESSION_ID_BYTES);
		return false;
	}
	return true;
}

static void
derive_csrf_key(const uint8_t raw[SESSION_ID_BYTES], uint8_t key[32])
{
	crypto_auth_hmacsha256(key, (const unsigned char *)csrf_key_label,
	    sizeof(csrf_key_label) - 1, raw);
}

/* The id's record handle: hex SHA-256 of the 32 bytes. */
static void
id_hash(const uint8_t raw[SESSION_ID_BYTES], char out[PC_SHA256_HEX_LEN + 1])
{
	hash_sha256_hex(raw, SESSION_ID_BYTES, out);
}

/*
 * A capped copy of an IP or User-Agent for display: at most max bytes,
 * anything outside printable ASCII becomes '?'. NULL stays NULL.
 */
static char *
capped(const char *v, size_t max)
{
	size_t len;
	char *out;

	if (v == NULL)
		return NULL;
	len = strnlen(v, max);
	out = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[len] = '\0';
	return out;
}

/* amr: "" or lower-case letters, digits and single spaces, capped. */
static bool
amr_valid(const char *amr)
{
	size_t len = strnlen(amr, SESSION_AMR_MAX + 1);

	if (len > SESSION_AMR_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = amr[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == ' '))
			return false;
	}
	return true;
}

static void
from_store(struct store_session *ss, const uint8_t raw[SESSION_ID_BYTES],
    struct session *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->id_hash, ss->id_hash, sizeof(out->id_hash));
	out->user_id = ss->user_id;
	out->created_at = ss->created_at;
	out->last_seen_at = ss->last_seen_at;
	out->auth_time = ss->auth_time;
	out->expires_at = ss->expires_at;
	out->ip = ss->ip;
	out->user_agent = ss->user_agent;
	out->amr = ss->amr;
	out->mfa_user_id = ss->mfa_user_id;
	out->mfa_amr = ss->mfa_amr;
	out->mfa_expires_at = ss->mfa_expires_at;
	derive_csrf_key(raw, out->csrf_key);
	/* Ownership of the strings moved to out. */
	memset(ss, 0, sizeof(*ss));
}

/*
 * MF-04: how long a pending second-factor step stays open (the setting,
 * or 5 minutes without a configuration), never past the session limits.
 */
static int64_t
mfa_step_timeout(const struct config *cfg)
{
	int64_t t = cfg != NULL && cfg->mfa_step_timeout > 0
	    ? cfg->mfa_step_timeout
	    : SESSION_MFA_STEP;

	return t < session_absolute_timeout(cfg)
	    ? t
	    : session_absolute_timeout(cfg);
}

/*
 * Builds a new record and its cookie, then stores it: a plain insert, or
 * (rotate) a replacement of old_hash in one transaction. mfa_user_id
 * non-NULL makes it a pending second-factor step for that user (MF-04):
 * no user_id, what was proved so far in mfa_amr, and a record that lives
 * only as long as the step.
 */
static int
make_session(struct db *db, const struct config *cfg, const char *old_hash,
    const char *user_id, const char *mfa_user_id, const char *ip,
    const char *ua, const char *amr, int64_t now, char cookie[64],
    struct session *out)
{
	uint8_t raw[SESSION_ID_BYTES];
	struct store_session ss;
	int r;

	cookie[0] = '\0';
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (amr == NULL)
		amr = "";
	if ((user_id != NULL && user_id[0] == '\0') || !amr_valid(amr))
		return PC_ERR_INVALID;
	/* A pending step is never also a signed-in session. */
	if (mfa_user_id != NULL &&
	    (mfa_user_id[0] == '\0' || user_id != NULL || amr[0] == '\0'))
		return PC_ERR_INVALID;
	memset(&ss, 0, sizeof(ss));
	random_bytes(raw, sizeof(raw));
	id_hash(raw, ss.id_hash);
	ss.user_id = user_id != NULL ? xstrdup(user_id) : NULL;
	ss.created_at = now;
	ss.last_seen_at = now;
	ss.auth_time = user_id != NULL ? now : 0;
	ss.expires_at = now + session_absolute_timeout(cfg);
	ss.ip = capped(ip, SESSION_IP_MAX);
	ss.user_agent = capped(ua, SESSION_USER_AGENT_MAX);
	if (mfa_user_id != NULL) {
		/* The record carries no amr of its own: nothing is signed in
		 * until the step completes; the purge removes it with the
		 * step. */
		ss.amr = xstrdup("");
		ss.mfa_user_id = xstrdup(mfa_user_id);
		ss.mfa_amr = xstrdup(amr);
		ss.mfa_expires_at = now + mfa_step_timeout(cfg);
		ss.expires_at = ss.mfa_expires_at;
	} else
		ss.amr = xstrdup(amr);
	/* DS-04: a user holds at most session_max_per_user sessions. */
	r = store_session_replace(db, old_hash, &ss,
	    cfg != NULL ? cfg->session_max_per_user : 0,
	    cfg != NULL ? cfg->presession_max_per_ip : 0);
	if (r != 0)
		goto out;
	b64url_encode(raw, sizeof(raw), cookie);
	if (out != NULL)
		from_store(&ss, raw, out);
out:
	store_session_clear(&ss);
	sodium_memzero(raw, sizeof(raw));
	return r;
}

int
session_create(struct db *db, const struct config *cfg, const char *user_id,
    const char *ip, const char *ua, const char *amr, int64_t now,
    char cookie[64], struct session *out)
{
	return make_session(
	    db, cfg, NULL, user_id, NULL, ip, ua, amr, now, cookie, out);
}

/* Replaces old_cookie's session (if any) with a new one (SS-01). */
static int
replace_session(struct db *db, const struct config *cfg, const char *old_cookie,
    const char *user_id, const char *mfa_user_id, const char *ip,
    const char *ua, const char *amr, int64_t now, char new_cookie[64],
    struct session *out)
{
	uint8_t raw[SESSION_ID_BYTES];
	char old_hash[PC_SHA256_HEX_LEN + 1];
	int r;

	/* Nothing to delete for a missing or malformed old cookie. */
	if (!parse_cookie(old_cookie, raw))
		return make_session(db, cfg, NULL, user_id, mfa_user_id, ip, ua,
		    amr, now, new_cookie, out);
	id_hash(raw, old_hash);
	sodium_memzero(raw, sizeof(raw));
	r = make_session(db, cfg, old_hash, user_id, mfa_user_id, ip, ua, amr,
	    now, new_cookie, out);
	sodium_memzero(old_hash, sizeof(old_hash));
	return r;
}

int
session_rotate(struct db *db, const struct config *cfg, const char *old_cookie,
    const char *user_id, const char *ip, const char *ua, const char *amr,
    int64_t now, char new_cookie[64], struct session *out)
{
	return replace_session(db, cfg, old_cookie, user_id, NULL, ip, ua, amr,
	    now, new_cookie, out);
}

int
session_begin_mfa(struct db *db, const struct config *cfg,
    const char *old_cookie, const char *user_id, const char *ip, const char *ua,
    const char *amr, int64_t now, char new_cookie[64], struct session *out)
{
	if (user_id == NULL) {
		new_cookie[0] = '\0';
		if (out != NULL)
			memset(out, 0, sizeof(*out));
		return PC_ERR_INVALID;
	}
	return replace_session(db, cfg, old_cookie, NULL, user_id, ip, ua, amr,
	    now, new_cookie, out);
}

static int64_t
touch_interval(const struct config *cfg)
{
	int64_t t = session_idle_timeout(cfg) / 4;

	return t < 1			 ? 1
	    : t > SESSION_TOUCH_INTERVAL ? SESSION_TOUCH_INTERVAL
					 : t;
}

int
session_lookup(struct db *db, const char *cookie, int64_t now,
    const struct config *cfg, struct session *out)
{
	uint8_t raw[SESSION_ID_BYTES];
	char h[PC_SHA256_HEX_LEN + 1];
	struct store_session ss;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&ss, 0, sizeof(ss));
	/* Shape first: nothing malformed reaches the store (SS-02). */
	if (!parse_cookie(cookie, raw))
		return PC_ERR_NOT_FOUND;
	id_hash(raw, h);
	if ((r = store_session_get(db, h, &ss)) != 0)
		goto out;
	/* SS-05, SS-10: valid only while now < each limit; MF-04: a
	 * pending second-factor step only while it is open, and a record
	 * that is both a step and a signed-in session is not trusted. */
	if (now >= ss.expires_at ||
	    now - ss.created_at >= session_absolute_timeout(cfg) ||
	    now - ss.last_seen_at >= session_idle_timeout(cfg) ||
	    (ss.mfa_user_id != NULL &&
		(now >= ss.mfa_expires_at || ss.user_id != NULL ||
		    now - ss.created_at >= mfa_step_timeout(cfg)))) {
		r = store_session_delete(db, h);
		r = r == 0 || r == PC_ERR_NOT_FOUND ? PC_ERR_NOT_FOUND : r;
		goto out;
	}
	/* At most one write per SESSION_TOUCH_INTERVAL per session (sooner
	 * when the idle timeout is short, so activity always counts). */
	if (now - ss.last_seen_at >= touch_interval(cfg)) {
		if ((r = store_session_touch(db, h, now)) != 0)
			goto out;
		ss.last_seen_at = now;
	}
	from_store(&ss, raw, out);
	r = 0;
out:
	store_session_clear(&ss);
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(h, sizeof(h));
	return r;
}

int
session_revoke(struct db *db, const char *cookie)
{
	uint8_t raw[SESSION_ID_BYTES];
	char h[PC_SHA256_HEX_LEN + 1];
	int r;

	if (!parse_cookie(cookie, raw))
		return PC_ERR_NOT_FOUND;
	id_hash(raw, h);
	sodium_memzero(raw, sizeof(raw));
	r = store_session_delete(db, h);
	sodium_memzero(h, sizeof(h));
	return r;
}

int
session_revoke_user(
    struct db *db, const char *user_id, const char *except_cookie)
{
	uint8_t raw[SESSION_ID_BYTES];
	char h[PC_SHA256_HEX_LEN + 1];
	bool keep = false;
	int r;

	if (user_id == NULL || user_id[0] == '\0')
		return PC_ERR_INVALID;
	/*
	 * A malformed except_cookie keeps nothing: when in doubt, sign out
	 * everywhere.
	 */
	if (except_cookie != NULL && parse_cookie(except_cookie, raw)) {
		id_hash(raw, h);
		sodium_memzero(raw, sizeof(raw));
		keep = true;
	}
	r = store_sessions_delete_user(db, user_id, keep ? h : NULL, NULL);
	sodium_memzero(h, sizeof(h));
	return r;
}

int
session_purge(
    struct db *db, const struct config *cfg, int64_t now, int64_t *deleted)
{
	return store_sessions_purge(
	    db, now, session_idle_timeout(cfg), deleted);
}

static int
csrf_mac(const struct session *s, const char *form_id,
    uint8_t mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;
	size_t len;

	if (form_id == NULL)
		return PC_ERR_INVALID;
	len = strnlen(form_id, SESSION_FORM_ID_MAX + 1);
	if (len == 0 || len > SESSION_FORM_ID_MAX)
		return PC_ERR_INVALID;
	crypto_auth_hmacsha256_init(&st, s->csrf_key, sizeof(s->csrf_key));
	/* The label's NUL separates it from the form id. */
	crypto_auth_hmacsha256_update(&st,
	    (const unsigned char *)csrf_token_label, sizeof(csrf_token_label));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)form_id, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
	return 0;
}

int
session_csrf_token(const struct session *s, const char *form_id, char out[64])
{
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	int r;

	out[0] = '\0';
	if ((r = csrf_mac(s, form_id, mac)) != 0)
		return r;
	b64url_encode(mac, sizeof(mac), out);
	sodium_memzero(mac, sizeof(mac));
	return 0;
}

int
session_csrf_check(
    const struct session *s, const char *form_id, const char *token)
{
	char want[64];
	int r;

	/* Length first; then a constant-time comparison of 43 bytes. */
	if (token == NULL ||
	    strnlen(token, SESSION_CSRF_LEN + 1) != SESSION_CSRF_LEN)
		return PC_ERR_VERIFY;
	if (session_csrf_token(s, form_id, want) != 0)
		return PC_ERR_VERIFY;
	r = sodium_memcmp(want, token, SESSION_CSRF_LEN) == 0 ? 0
							      : PC_ERR_VERIFY;
	sodium_memzero(want, sizeof(want));
	return r;
}

const char *
session_cookie_name(const struct config *cfg)
{
	return cfg->issuer_https ? "__Host-sid" : "sid";
}

static int
cookie_header(const struct config *cfg, const char *value, int64_t max_age,
    char *out, size_t n)
{
	char age[40] = "";
	int w;

	if (n > 0)
		out[0] = '\0';
	if (max_age >= 0)
		snprintf(age, sizeof(age), "; Max-Age=%" PRId64, max_age);
	/* __Host-: Secure, Path=/ and no Domain (RFC 6265bis §4.1.3.2). */
	w = snprintf(out, n, "%s=%s; Path=/%s%s; HttpOnly; SameSite=Lax",
	    session_cookie_name(cfg), value, age,
	    cfg->issuer_https ? "; Secure" : "");
	if (w < 0)
		return PC_ERR_INTERNAL;
	if ((size_t)w >= n) {
		if (n > 0)
			out[0] = '\0';
		return PC_ERR_TOO_LARGE;
	}
	return 0;
}

int
session_cookie_header(const struct config *cfg, const char *value,
    int64_t max_age, char *out, size_t n)
{
	uint8_t raw[SESSION_ID_BYTES];

	if (n > 0)
		out[0] = '\0';
	/* Only a well-formed id goes into a header (no injection). */
	if (!parse_cookie(value, raw))
		return PC_ERR_INVALID;
	sodium_memzero(raw, sizeof(raw));
	return cookie_header(cfg, value, max_age, out, n);
}

int
session_cookie_clear_header(const struct config *cfg, char *out, size_t n)
{
	return cookie_header(cfg, "", 0, out, n);
}

/* ---- The sid, and what a signed-in user does with their sessions ---- */

void
session_sid(const struct session *s, char out[SESSION_SID_LEN + 1])
{
	_Static_assert(SESSION_SID_LEN <= PC_SHA256_HEX_LEN, "a prefix");

	out[0] = '\0';
	if (s == NULL || strnlen(s->id_hash, SESSION_SID_LEN) < SESSION_SID_LEN)
		return;
	memcpy(out, s->id_hash, SESSION_SID_LEN);
	out[SESSION_SID_LEN] = '\0';
}

bool
session_has_sid(const struct session *s, const char *sid)
{
	char mine[SESSION_SID_LEN + 1];

	session_sid(s, mine);
	return sid != NULL && mine[0] != '\0' && strcmp(mine, sid) == 0;
}

int
session_list_user(
    struct db *db, const char *user_id, struct session_info **out, size_t *n)
{
	struct store_session *v = NULL;
	size_t count = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = store_sessions_list_user(db, user_id, &v, &count)) != 0)
		return r;
	if (count > 0) {
		*out = xcalloc(count, sizeof(**out));
		for (size_t i = 0; i < count; i++) {
			struct session_info *e = &(*out)[i];

			memcpy(e->id_hash, v[i].id_hash, sizeof(e->id_hash));
			e->auth_time = v[i].auth_time;
			e->last_seen_at = v[i].last_seen_at;
			/* Ownership of the strings moves to the copy. */
			e->ip = v[i].ip;
			e->user_agent = v[i].user_agent;
			v[i].ip = NULL;
			v[i].user_agent = NULL;
		}
	}
	*n = count;
	store_sessions_free(v, count);
	return 0;
}

void
session_infos_free(struct session_info *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].ip);
		free(v[i].user_agent);
	}
	free(v);
}

int
session_end_others(struct db *db, const struct session *s,
    const char *only_hash, int64_t now, int64_t *ended, int64_t *families)
{
	if (s->user_id == NULL || s->id_hash[0] == '\0')
		return PC_ERR_INVALID;
	return store_sessions_end(
	    db, s->user_id, only_hash, s->id_hash, now, ended, families);
}

int
session_revoke_tokens(struct db *db, const struct session *s, int64_t now)
{
	char sid[SESSION_SID_LEN + 1];

	session_sid(s, sid);
	if (sid[0] == '\0')
		return PC_ERR_INVALID;
	return store_families_revoke_sid(db, sid, now, "logout");
}

int
session_carry_tokens(struct db *db, const struct session *old,
    const struct session *s, int64_t now)
{
	char old_sid[SESSION_SID_LEN + 1], new_sid[SESSION_SID_LEN + 1];

	session_sid(old, old_sid);
	session_sid(s, new_sid);
	if (old_sid[0] == '\0' || new_sid[0] == '\0' || old->user_id == NULL ||
	    s->user_id == NULL)
		return PC_ERR_INVALID;
	if (strcmp(old->user_id, s->user_id) == 0 &&
	    store_families_move_sid(db, old_sid, new_sid, s->user_id) == 0)
		return 0;
	return store_families_revoke_sid(db, old_sid, now, "logout");
}
