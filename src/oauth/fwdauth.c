/*
 * Forward-auth's domain (issue 17 item 5; decision 0075; SECURITY.md
 * FA-01..FA-08): the rules of protected hosts, the verdict for one
 * proxied request, the one-time codes that carry a sign-in from the
 * issuer to a protected host, and the per-host sessions those codes
 * become. Every secret (code, state, per-host session id) is 256 random
 * bits, stored only as its SHA-256, compared in constant time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/auth.h"
#include "crypto/crypto.h"
#include "jose/b64url.h"
#include "machine/machine.h"
#include "oauth/fwdauth.h"
#include "store/store.h"

/* 43 base64url characters carrying 32 bytes: a code, state or cookie. */
static bool
token_hash(const char *v, char out[PC_SHA256_HEX_LEN + 1])
{
	uint8_t raw[32];
	size_t len;

	out[0] = '\0';
	if (v == NULL || strnlen(v, FWD_TOKEN_LEN + 1) != FWD_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < FWD_TOKEN_LEN; i++) {
		char c = v[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	if (b64url_decode(v, FWD_TOKEN_LEN, raw, sizeof(raw), &len) != 0 ||
	    len != sizeof(raw)) {
		sodium_memzero(raw, sizeof(raw));
		return false;
	}
	hash_sha256_hex(raw, sizeof(raw), out);
	sodium_memzero(raw, sizeof(raw));
	return true;
}

/* A new random token (43 base64url) and its hash. */
static void
token_new(char tok[64], char hash[PC_SHA256_HEX_LEN + 1])
{
	uint8_t raw[32];

	random_bytes(raw, sizeof(raw));
	b64url_encode(raw, sizeof(raw), tok);
	hash_sha256_hex(raw, sizeof(raw), hash);
	sodium_memzero(raw, sizeof(raw));
}

void
fwd_state_new(char state[64], char hash[PC_SHA256_HEX_LEN + 1])
{
	token_new(state, hash);
}

static bool
hex64(const char *v)
{
	if (v == NULL || strnlen(v, PC_SHA256_HEX_LEN + 1) != PC_SHA256_HEX_LEN)
		return false;
	for (size_t i = 0; i < PC_SHA256_HEX_LEN; i++)
		if (!((v[i] >= '0' && v[i] <= '9') ||
			(v[i] >= 'a' && v[i] <= 'f')))
			return false;
	return true;
}

/* "a, b c" -> "a b c", each a group name's shape; "" stays "". */
static int
groups_norm(const char *in, char **out, const char **why)
{
	struct buf b;
	const char *p = in != NULL ? in : "";
	size_t count = 0;

	*out = NULL;
	buf_init(&b, (size_t)FWD_GROUPS_MAX * (GROUP_NAME_MAX + 1) + 1);
	while (*p != '\0') {
		size_t w;
		char name[GROUP_NAME_MAX + 1];

		p += strspn(p, ", ");
		w = strcspn(p, ", ");
		if (w == 0)
			break;
		if (w > GROUP_NAME_MAX || ++count > FWD_GROUPS_MAX)
			goto bad;
		memcpy(name, p, w);
		name[w] = '\0';
		if (!machine_name_valid(name) ||
		    (b.len > 0 && buf_putc(&b, ' ') != 0) ||
		    buf_puts(&b, name) != 0)
			goto bad;
		p += w;
	}
	*out = xstrdup(b.len > 0 ? buf_cstr(&b) : "");
	buf_free(&b);
	return 0;
bad:
	buf_free(&b);
	*why = "groups are at most 16 group names separated by commas";
	return PC_ERR_INVALID;
}

int
fwd_rule_set(struct db *db, const char *host, const char *prefix, bool public,
    const char *groups, bool mfa, int64_t now, const char **why)
{
	char h[FWD_HOST_MAX + 1];
	struct store_fwd_rule r;
	char *g = NULL;
	int rc;

	if (fwd_host_norm(host, h) != 0) {
		*why = "the host is a DNS name with an optional :port";
		return PC_ERR_INVALID;
	}
	if (!fwd_prefix_valid(prefix)) {
		*why = "the path is '/' or a normalised path without a "
		       "trailing '/', '%', '?' or '#'";
		return PC_ERR_INVALID;
	}
	if ((rc = groups_norm(groups, &g, why)) != 0)
		return rc;
	if (public && (g[0] != '\0' || mfa)) {
		free(g);
		*why = "a public path takes no groups and no mfa";
		return PC_ERR_INVALID;
	}
	memset(&r, 0, sizeof(r));
	r.host = h;
	r.path_prefix = (char *)prefix;
	r.access = (char *)(public ? "public" : "signed_in");
	r.groups = g;
	r.mfa = mfa;
	r.created_at = now;
	rc = store_fwd_rule_put(db, &r);
	free(g);
	return rc;
}

int
fwd_rule_remove(
    struct db *db, const char *host, const char *prefix, const char **why)
{
	char h[FWD_HOST_MAX + 1];

	if (fwd_host_norm(host, h) != 0) {
		*why = "the host is a DNS name with an optional :port";
		return PC_ERR_INVALID;
	}
	return store_fwd_rule_delete(db, h, prefix != NULL ? prefix : "");
}

int
fwd_host_declared(struct db *db, const char *host, char out[FWD_HOST_MAX + 1])
{
	if (fwd_host_norm(host, out) != 0)
		return PC_ERR_NOT_FOUND;
	return store_fwd_host_declared(db, out);
}

void
fwd_verdict_clear(struct fwd_verdict *v)
{
	free(v->user_id);
	free(v->email);
	free(v->groups);
	memset(v, 0, sizeof(*v));
}

/* The rule with the longest prefix that contains path, or NULL. */
static const struct store_fwd_rule *
rule_pick(const struct store_fwd_rule *v, size_t n, const char *path)
{
	const struct store_fwd_rule *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (fwd_prefix_match(v[i].path_prefix, path) &&
		    (best == NULL ||
			strlen(v[i].path_prefix) > strlen(best->path_prefix)))
			best = &v[i];
	return best;
}

/* The user is in one of the rule's groups ("" : any user). */
static bool
groups_allow(const char *rule, char *const *names, size_t n)
{
	const char *p = rule;

	if (rule == NULL || rule[0] == '\0')
		return true;
	while (*p != '\0') {
		size_t w = strcspn(p, " ");

		for (size_t i = 0; i < n; i++)
			if (strlen(names[i]) == w &&
			    strncmp(names[i], p, w) == 0)
				return true;
		p += w;
		p += strspn(p, " ");
	}
	return false;
}

/* FA-05: the per-host session and the issuer session it hangs on are
 * both within their limits, for the same user. */
static bool
session_live(const struct config *cfg, const struct store_fwd_session *f,
    const char *host, int64_t now)
{
	int64_t idle = session_idle_timeout(cfg);
	int64_t abs = session_absolute_timeout(cfg);

	return strcmp(f->host, host) == 0 && now < f->expires_at &&
	    now - f->created_at < abs && now - f->last_seen_at < idle &&
	    f->parent_user_id != NULL &&
	    strcmp(f->parent_user_id, f->user_id) == 0 &&
	    now < f->parent_expires_at && now - f->parent_created_at < abs &&
	    now - f->parent_last_seen_at < idle && !f->user_disabled;
}

static int64_t
touch_every(const struct config *cfg)
{
	int64_t t = session_idle_timeout(cfg) / 4;

	return t < 1			 ? 1
	    : t > SESSION_TOUCH_INTERVAL ? SESSION_TOUCH_INTERVAL
					 : t;
}

/* The user's groups as a header value: names joined by ','. */
static void
groups_header(char *const *names, size_t n, char **out)
{
	struct buf b;

	buf_init(&b, (size_t)GROUP_CLAIM_MAX * (GROUP_NAME_MAX + 1) + 1);
	for (size_t i = 0; i < n; i++) {
		if (!fwd_header_safe(names[i]))
			continue;
		if ((b.len > 0 && buf_putc(&b, ',') != 0) ||
		    buf_puts(&b, names[i]) != 0)
			break;
	}
	*out = xstrdup(b.len > 0 ? buf_cstr(&b) : "");
	buf_free(&b);
}

static int
verdict(struct fwd_verdict *v, int status, const char *why)
{
	v->status = status;
	v->why = why;
	return 0;
}

int
fwd_verify(struct db *db, const struct config *cfg, const char *host,
    const char *uri, const char *cookie, int64_t now, struct fwd_verdict *v)
{
	struct store_fwd_rule *rules = NULL;
	struct store_fwd_session f;
	const struct store_fwd_rule *rule;
	char h[PC_SHA256_HEX_LEN + 1];
	char **names = NULL;
	size_t nrules = 0, nnames = 0;
	char *path = NULL;
	int rc;

	memset(v, 0, sizeof(*v));
	memset(&f, 0, sizeof(f));
	/* FA-02: only a declared host is protected; anything else is
	 * refused, never waved through. */
	if (fwd_host_norm(host, v->host) != 0)
		return verdict(v, 403, "host");
	if ((rc = store_fwd_rules_list(db, v->host, &rules, &nrules)) != 0)
		return rc;
	if (nrules == 0) {
		rc = verdict(v, 403, "undeclared_host");
		goto out;
	}
	/* FA-04: the path as the proxy will serve it; a target we cannot
	 * normalise is refused. */
	if (fwd_path_norm(uri, &path) != 0) {
		rc = verdict(v, 403, "path");
		goto out;
	}
	snprintf(v->path, sizeof(v->path), "%s", path);
	if ((rule = rule_pick(rules, nrules, path)) == NULL) {
		rc = verdict(v, 403, "no_rule");
		goto out;
	}
	if (strcmp(rule->access, "public") == 0) {
		rc = verdict(v, 200, "public");
		goto out;
	}
	if (!token_hash(cookie, h)) {
		rc = verdict(v, 401, "no_session");
		goto out;
	}
	rc = store_fwd_session_get(db, h, &f);
	if (rc == PC_ERR_NOT_FOUND ||
	    (rc == 0 && !session_live(cfg, &f, v->host, now))) {
		rc = verdict(v, 401, "no_session");
		goto out;
	}
	if (rc != 0)
		goto out;
	/* Idle timeouts count activity on the app too: at most one write
	 * per touch interval, for both sessions. */
	if (now - f.last_seen_at >= touch_every(cfg) &&
	    (rc = store_fwd_session_touch(db, h, f.session_hash, now)) != 0)
		goto out;
	if ((rc = group_names_of(db, f.user_id, &names, &nnames)) != 0)
		goto out;
	if (!groups_allow(rule->groups, names, nnames))
		rc = verdict(v, 403, "group");
	else if (rule->mfa && !fwd_amr_mfa(f.parent_amr))
		rc = verdict(v, 403, "mfa");
	else
		rc = verdict(v, 200, "allowed");
	v->user_id = xstrdup(f.user_id);
	if (v->status == 200) {
		v->email = fwd_header_safe(f.email) ? xstrdup(f.email) : NULL;
		groups_header(names, nnames, &v->groups);
	}
out:
	store_strv_free(names, nnames);
	store_fwd_session_clear(&f);
	store_fwd_rules_free(rules, nrules);
	free(path);
	sodium_memzero(h, sizeof(h));
	return rc;
}

int
fwd_code_issue(struct db *db, const struct session *s, const char *rd,
    const char *state_hash, int64_t now, char **location)
{
	char host[FWD_HOST_MAX + 1], code[64];
	struct store_fwd_code c;
	char *url = NULL;
	struct buf b;
	int rc;

	*location = NULL;
	if (s == NULL || s->user_id == NULL || !hex64(state_hash))
		return PC_ERR_INVALID;
	/* FA-03: https, a declared host, nothing else. */
	if (fwd_rd_parse(rd, host, &url) != 0)
		return PC_ERR_INVALID;
	rc = store_fwd_host_declared(db, host);
	if (rc != 0) {
		free(url);
		return rc == PC_ERR_NOT_FOUND ? PC_ERR_INVALID : rc;
	}
	memset(&c, 0, sizeof(c));
	token_new(code, c.code_hash);
	c.host = host;
	memcpy(c.session_hash, s->id_hash, sizeof(c.session_hash));
	memcpy(c.state_hash, state_hash, PC_SHA256_HEX_LEN);
	c.state_hash[PC_SHA256_HEX_LEN] = '\0';
	c.user_id = s->user_id;
	c.rd = url;
	c.expires_at = now + FWD_CODE_TTL;
	rc = store_fwd_code_put(db, &c);
	free(url);
	if (rc == 0) {
		buf_init(&b, FWD_HOST_MAX + 128);
		if (buf_printf(&b, "https://%s" FWD_CALLBACK "?code=%s", host,
			code) == 0)
			*location = buf_steal(&b);
		else
			rc = PC_ERR_INTERNAL;
		buf_free(&b);
	}
	sodium_memzero(code, sizeof(code));
	sodium_memzero(&c, sizeof(c));
	return rc;
}

void
fwd_login_clear(struct fwd_login *l)
{
	sodium_memzero(l->cookie, sizeof(l->cookie));
	free(l->user_id);
	free(l->rd);
	memset(l, 0, sizeof(*l));
}

/* The issuer session the code came from is still signed in as user. */
static int
parent_live(struct db *db, const struct config *cfg, const char *hash,
    const char *user_id, int64_t now, int64_t *expires_at)
{
	struct store_session ss;
	int rc;

	memset(&ss, 0, sizeof(ss));
	if ((rc = store_session_get(db, hash, &ss)) != 0)
		return rc == PC_ERR_NOT_FOUND ? PC_ERR_VERIFY : rc;
	rc = ss.user_id != NULL && strcmp(ss.user_id, user_id) == 0 &&
		now < ss.expires_at &&
		now - ss.created_at < session_absolute_timeout(cfg) &&
		now - ss.last_seen_at < session_idle_timeout(cfg)
	    ? 0
	    : PC_ERR_VERIFY;
	*expires_at = ss.expires_at;
	store_session_clear(&ss);
	return rc;
}

int
fwd_callback(struct db *db, const struct config *cfg, const char *host,
    const char *code, const char *state, const char *old_cookie, int64_t now,
    struct fwd_login *out)
{
	char h[FWD_HOST_MAX + 1], code_hash[PC_SHA256_HEX_LEN + 1];
	char state_hash[PC_SHA256_HEX_LEN + 1], old_hash[PC_SHA256_HEX_LEN + 1];
	struct store_fwd_code c;
	struct store_fwd_session s;
	int64_t parent_exp = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	if (fwd_host_norm(host, h) != 0 || !token_hash(code, code_hash))
		return PC_ERR_VERIFY;
	/* FA-06: spent now, whatever follows: a replay finds nothing. */
	rc = store_fwd_code_take(db, code_hash, now, &c);
	if (rc != 0)
		return rc == PC_ERR_NOT_FOUND ? PC_ERR_VERIFY : rc;
	/* Bound to the host it was issued for and to the browser that
	 * began the dance (its state cookie, FA-07). */
	if (strcmp(c.host, h) != 0 || !token_hash(state, state_hash) ||
	    sodium_memcmp(state_hash, c.state_hash, PC_SHA256_HEX_LEN) != 0) {
		rc = PC_ERR_VERIFY;
		goto out;
	}
	if ((rc = parent_live(
		 db, cfg, c.session_hash, c.user_id, now, &parent_exp)) != 0)
		goto out;
	memset(&s, 0, sizeof(s));
	token_new(out->cookie, s.id_hash);
	memcpy(s.session_hash, c.session_hash, sizeof(s.session_hash));
	s.host = h;
	s.user_id = c.user_id;
	s.created_at = now;
	s.last_seen_at = now;
	s.expires_at = now + session_absolute_timeout(cfg);
	if (parent_exp < s.expires_at)
		s.expires_at = parent_exp;
	/* SS-01: a new id every time; the browser's old one is deleted. */
	rc = store_fwd_session_put(
	    db, &s, token_hash(old_cookie, old_hash) ? old_hash : NULL);
	sodium_memzero(&s, sizeof(s));
	if (rc != 0) {
		sodium_memzero(out->cookie, sizeof(out->cookie));
		goto out;
	}
	out->user_id = xstrdup(c.user_id);
	out->rd = xstrdup(c.rd);
out:
	store_fwd_code_clear(&c);
	return rc;
}

int
fwd_logout(struct db *db, const char *host, const char *cookie, char **user_id)
{
	char h[PC_SHA256_HEX_LEN + 1], hn[FWD_HOST_MAX + 1];
	struct store_fwd_session f;
	int rc;

	if (user_id != NULL)
		*user_id = NULL;
	if (fwd_host_norm(host, hn) != 0 || !token_hash(cookie, h))
		return PC_ERR_NOT_FOUND;
	memset(&f, 0, sizeof(f));
	rc = store_fwd_session_get(db, h, &f);
	if (rc == 0 && strcmp(f.host, hn) != 0) {
		store_fwd_session_clear(&f);
		return PC_ERR_NOT_FOUND; /* another host's: not ours to end */
	}
	if (rc == 0 && user_id != NULL)
		*user_id = xstrdup(f.user_id);
	store_fwd_session_clear(&f);
	if (rc != 0 && rc != PC_ERR_NOT_FOUND)
		return rc;
	return store_fwd_session_delete(db, h);
}
