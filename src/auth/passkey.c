/*
 * Passkeys: the domain of the WebAuthn ceremonies (issue 16; SECURITY.md
 * WA-01..08). It makes the challenges (random, single use, bound to the
 * browser session and purpose, short-lived: WA-02), names the relying
 * party from the issuer (WA-01: RP ID = the issuer's host, origin = the
 * issuer's origin; an IP-literal issuer cannot offer passkeys), and
 * decides what a verified response means: which user it is for, whether
 * user verification was needed (WA-04), whether the counter moved
 * (WA-03). The parsing and the signatures are auth/webauthn.c's (pure);
 * the pages in web/ call only these functions.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "auth/webauthn.h"
#include "crypto/crypto.h"
#include "jose/b64url.h"
#include "store/store.h"
#include "util/config.h"

#define CLIENT_DATA_MAX 4096
#define ATT_OBJ_MAX 16384
#define AUTH_DATA_MAX 4096
#define SIG_MAX 1024
#define COSE_KEY_MAX 2048
#define HANDLE_BYTES 32

/* The relying party: the issuer's host and origin. */
struct rp {
	char rp_id[256];
	char origin[320];
};

const char *
passkey_unavailable(const struct config *cfg)
{
	const char *a = cfg != NULL ? cfg->issuer_authority : NULL;
	char host[256];
	struct in_addr v4;
	const char *colon;
	size_t n;

	if (a == NULL || a[0] == '\0')
		return "the issuer is not set";
	if (a[0] == '[')
		goto ip;
	colon = strrchr(a, ':');
	n = colon != NULL ? (size_t)(colon - a) : strlen(a);
	if (n == 0 || n >= sizeof(host))
		return "the issuer's host name is not usable as an RP ID";
	memcpy(host, a, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, &v4) == 1)
		goto ip;
	return NULL;
ip:
	return "the issuer's host is an IP address, and browsers allow "
	       "passkeys (WebAuthn) only for a host name: use a name such as "
	       "localhost or auth.example.com as the issuer";
}

static int
rp_of(const struct config *cfg, struct rp *out)
{
	const char *a = cfg->issuer_authority;
	const char *colon = strrchr(a, ':');
	size_t n = colon != NULL ? (size_t)(colon - a) : strlen(a);
	bool https = cfg->issuer_https;
	const char *port = colon != NULL ? colon + 1 : NULL;
	int k;

	if (passkey_unavailable(cfg) != NULL)
		return PC_ERR_UNSUPPORTED;
	memcpy(out->rp_id, a, n);
	out->rp_id[n] = '\0';
	/* A browser's origin leaves the scheme's default port out. */
	if (port != NULL && strcmp(port, https ? "443" : "80") == 0)
		k = snprintf(out->origin, sizeof(out->origin), "%s://%s",
		    https ? "https" : "http", out->rp_id);
	else
		k = snprintf(out->origin, sizeof(out->origin), "%s://%s",
		    https ? "https" : "http", a);
	return k > 0 && (size_t)k < sizeof(out->origin) ? 0 : PC_ERR_INVALID;
}

/* Base64url text (at most cap bytes decoded) into a malloc'd buffer. */
static int
dec(const char *s, size_t cap, uint8_t **out, size_t *len)
{
	size_t n = s != NULL ? strnlen(s, b64url_encoded_len(cap) + 1) : 0;

	*out = NULL;
	*len = 0;
	if (n == 0)
		return PC_ERR_INVALID;
	if (n > b64url_encoded_len(cap))
		return PC_ERR_TOO_LARGE;
	*out = xmalloc(n);
	if (b64url_decode(s, n, *out, n, len) != 0) {
		free(*out);
		*out = NULL;
		*len = 0;
		return PC_ERR_INVALID;
	}
	return 0;
}

static char *
enc(const uint8_t *p, size_t n)
{
	char *s = xmalloc(b64url_encoded_len(n) + 1);

	b64url_encode(p, n, s);
	return s;
}

/* The challenge's bytes from its base64url form (exactly 32). */
static int
challenge_bytes(const char *b64, uint8_t out[WA_CHALLENGE_BYTES])
{
	size_t len = 0;

	if (b64 == NULL ||
	    strnlen(b64, PASSKEY_B64_CHALLENGE) != PASSKEY_B64_CHALLENGE - 1 ||
	    b64url_decode(b64, PASSKEY_B64_CHALLENGE - 1, out,
		WA_CHALLENGE_BYTES, &len) != 0 ||
	    len != WA_CHALLENGE_BYTES)
		return PC_ERR_NOT_FOUND;
	return 0;
}

void
passkey_options_clear(struct passkey_options *o)
{
	free(o->user_handle);
	free(o->user_name);
	for (size_t i = 0; i < o->n_cred_ids; i++)
		free(o->cred_ids[i]);
	free(o->cred_ids);
	sodium_memzero(o, sizeof(*o));
}

static const char *
purpose_name(enum passkey_purpose p)
{
	switch (p) {
	case PASSKEY_REGISTER: return "register";
	case PASSKEY_LOGIN: return "login";
	case PASSKEY_FACTOR: return "factor";
	}
	return "";
}

/* The user's credential ids: all (register: to exclude) or those that
 * may sign in (factor). */
static int
cred_ids(struct db *db, const char *user_id, bool usable_only,
    struct passkey_options *o, size_t *total)
{
	struct store_passkey *v = NULL;
	size_t n = 0;
	int r;

	if ((r = store_passkeys_list(db, user_id, &v, &n)) != 0)
		return r;
	*total = n;
	o->cred_ids = xcalloc(n + 1, sizeof(*o->cred_ids));
	for (size_t i = 0; i < n; i++) {
		if (usable_only && v[i].cloned_at != 0)
			continue;
		o->cred_ids[o->n_cred_ids++] = xstrdup(v[i].credential_id);
	}
	store_passkeys_free(v, n);
	return 0;
}

static int
begin_register(struct db *db, const char *user_id, struct passkey_options *o)
{
	uint8_t raw[HANDLE_BYTES];
	struct user u;
	char *cand;
	size_t total = 0;
	int r;

	if ((r = user_get(db, user_id, &u)) != 0)
		return r;
	o->user_name = xstrdup(u.email);
	user_clear(&u);
	/* WA-05: an opaque random handle, never the email or the id. */
	random_bytes(raw, sizeof(raw));
	cand = enc(raw, sizeof(raw));
	r = store_user_webauthn_handle(db, user_id, cand, &o->user_handle);
	free(cand);
	if (r != 0)
		return r;
	if ((r = cred_ids(db, user_id, false, o, &total)) != 0)
		return r;
	return total >= PASSKEY_MAX_PER_USER ? PC_ERR_TOO_LARGE : 0;
}

int
passkey_begin(struct db *db, const struct config *cfg, const struct session *s,
    enum passkey_purpose purpose, const char *user_id, bool uv_required,
    int64_t now, struct passkey_options *out)
{
	uint8_t raw[WA_CHALLENGE_BYTES];
	struct store_wa_challenge c;
	struct rp rp;
	size_t total = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = rp_of(cfg, &rp)) != 0)
		return r;
	if ((purpose == PASSKEY_LOGIN) != (user_id == NULL))
		return PC_ERR_INVALID;
	snprintf(out->rp_id, sizeof(out->rp_id), "%s", rp.rp_id);
	/* WA-04: a passkey that replaces the password must verify the
	 * user; an enrolment asks for it but does not insist. */
	out->uv_required = purpose == PASSKEY_LOGIN ||
	    (purpose == PASSKEY_FACTOR && uv_required);
	if (purpose == PASSKEY_REGISTER)
		r = begin_register(db, user_id, out);
	else if (purpose == PASSKEY_FACTOR) {
		r = cred_ids(db, user_id, true, out, &total);
		if (r == 0 && out->n_cred_ids == 0)
			r = PC_ERR_NOT_FOUND;
	}
	if (r != 0) {
		passkey_options_clear(out);
		return r;
	}
	random_bytes(raw, sizeof(raw));
	memset(&c, 0, sizeof(c));
	hash_sha256_hex(raw, sizeof(raw), c.challenge_hash);
	snprintf(c.session_hash, sizeof(c.session_hash), "%s", s->id_hash);
	snprintf(c.purpose, sizeof(c.purpose), "%s", purpose_name(purpose));
	c.user_id = (char *)user_id;
	c.uv_required = out->uv_required;
	c.created_at = now;
	c.expires_at = now + PASSKEY_CHALLENGE_TTL;
	r = store_wa_challenge_put(db, &c, PASSKEY_CHALLENGES_PER_SESSION);
	b64url_encode(raw, sizeof(raw), out->challenge);
	sodium_memzero(raw, sizeof(raw));
	if (r != 0)
		passkey_options_clear(out);
	return r;
}

/* Takes the challenge for s and purpose; its user must be user_id. */
static int
take(struct db *db, const struct session *s, enum passkey_purpose purpose,
    const char *user_id, const char *b64, int64_t now,
    uint8_t raw[WA_CHALLENGE_BYTES], bool *uv_required)
{
	char hash[PC_SHA256_HEX_LEN + 1];
	struct store_wa_challenge c;
	bool same;
	int r;

	if ((r = challenge_bytes(b64, raw)) != 0)
		return r;
	hash_sha256_hex(raw, WA_CHALLENGE_BYTES, hash);
	if ((r = store_wa_challenge_take(
		 db, hash, s->id_hash, purpose_name(purpose), now, &c)) != 0)
		return r;
	same = user_id == NULL
	    ? c.user_id == NULL
	    : c.user_id != NULL && strcmp(c.user_id, user_id) == 0;
	*uv_required = c.uv_required;
	store_wa_challenge_clear(&c);
	return same ? 0 : PC_ERR_NOT_FOUND;
}

/* A name as typed: printable, at most PASSKEY_NAME_MAX bytes. */
static bool
name_ok(const char *name)
{
	size_t n = name != NULL ? strnlen(name, PASSKEY_NAME_MAX + 1) : 0;

	if (n == 0 || n > PASSKEY_NAME_MAX || !str_is_utf8(str_from(name)))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

/* The transports the browser named, kept only if they look like some. */
static char *
transports_of(const char *t)
{
	size_t n = t != NULL ? strnlen(t, 65) : 0;

	if (n == 0 || n > 64)
		return xstrdup("");
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || t[i] == '-' ||
			t[i] == ' '))
			return xstrdup("");
	return xstrdup(t);
}

static char *
aaguid_text(const uint8_t g[16])
{
	char *s = xmalloc(37);
	size_t k = 0;

	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			s[k++] = '-';
		snprintf(s + k, 3, "%02x", g[i]);
		k += 2;
	}
	s[k] = '\0';
	return s;
}

static int
store_new(struct db *db, const char *user_id,
    const struct passkey_registration *in, const struct wa_new_cred *nc,
    int64_t now, char id[PASSKEY_ID_LEN])
{
	struct store_passkey p;
	uint8_t rid[16];
	char *rid_s;
	int r;

	memset(&p, 0, sizeof(p));
	random_bytes(rid, sizeof(rid));
	rid_s = enc(rid, sizeof(rid));
	snprintf(p.id, sizeof(p.id), "pk_%s", rid_s);
	free(rid_s);
	p.user_id = (char *)user_id;
	p.credential_id = enc(nc->cred_id, nc->cred_id_len);
	p.public_key = enc(nc->cose_key, nc->cose_key_len);
	p.alg = nc->alg;
	p.sign_count = nc->sign_count;
	p.name = xstrdup(name_ok(in->name) ? in->name : "Passkey");
	p.aaguid = aaguid_text(nc->aaguid);
	p.uv = nc->uv;
	p.backup_eligible = nc->be;
	p.attestation = xstrdup(nc->fmt[0] != '\0' ? nc->fmt : "none");
	p.attestation_verified = nc->attestation_verified;
	p.transports = transports_of(in->transports);
	p.created_at = now;
	r = store_passkey_insert(db, &p, PASSKEY_MAX_PER_USER);
	if (r == 0)
		snprintf(id, PASSKEY_ID_LEN, "%s", p.id);
	p.user_id = NULL;
	store_passkey_clear(&p);
	return r;
}

int
passkey_register_finish(struct db *db, const struct config *cfg,
    const struct session *s, const char *user_id,
    const struct passkey_registration *in, int64_t now, char id[PASSKEY_ID_LEN])
{
	uint8_t chal[WA_CHALLENGE_BYTES];
	uint8_t *cd = NULL, *ao = NULL;
	size_t cd_len = 0, ao_len = 0;
	struct wa_new_cred nc;
	struct wa_rp wrp;
	struct rp rp;
	bool uv = false;
	int r;

	id[0] = '\0';
	memset(&nc, 0, sizeof(nc));
	if ((r = rp_of(cfg, &rp)) != 0)
		return r;
	if (in->name != NULL && in->name[0] != '\0' && !name_ok(in->name))
		return PC_ERR_INVALID;
	/* WA-02: spent before anything else is looked at. */
	if ((r = take(db, s, PASSKEY_REGISTER, user_id, in->challenge, now,
		 chal, &uv)) != 0)
		return r;
	if ((r = dec(in->client_data, CLIENT_DATA_MAX, &cd, &cd_len)) != 0 ||
	    (r = dec(in->attestation_object, ATT_OBJ_MAX, &ao, &ao_len)) != 0)
		goto out;
	wrp.rp_id = rp.rp_id;
	wrp.origin = rp.origin;
	r = wa_register_verify(&wrp, chal, cd, cd_len, ao, ao_len, uv, &nc);
	if (r != 0) {
		r = r == PC_ERR_INVALID ? PC_ERR_INVALID : PC_ERR_VERIFY;
		goto out;
	}
	r = store_new(db, user_id, in, &nc, now, id);
out:
	wa_new_cred_clear(&nc);
	free(cd);
	free(ao);
	sodium_memzero(chal, sizeof(chal));
	return r;
}

void
passkey_result_clear(struct passkey_result *r)
{
	free(r->user_id);
	memset(r, 0, sizeof(*r));
}

/* Whose passkey p is may sign in now (login: the handle names them). */
static int
owner_ok(struct db *db, enum passkey_purpose purpose, const char *expect,
    const char *handle, const struct store_passkey *p)
{
	struct user u;
	char *uid = NULL;
	bool disabled;

	if (p->cloned_at != 0)
		return PC_ERR_VERIFY;
	if (purpose == PASSKEY_FACTOR &&
	    (expect == NULL || strcmp(p->user_id, expect) != 0))
		return PC_ERR_VERIFY;
	if (purpose == PASSKEY_LOGIN) {
		/* The authenticator's userHandle names the user whose
		 * credential this is, or the sign-in is refused. */
		if (handle == NULL || handle[0] == '\0' ||
		    strlen(handle) > b64url_encoded_len(64) ||
		    store_user_by_webauthn_handle(db, handle, &uid) != 0 ||
		    strcmp(uid, p->user_id) != 0) {
			free(uid);
			return PC_ERR_VERIFY;
		}
		free(uid);
	}
	if (user_get(db, p->user_id, &u) != 0)
		return PC_ERR_VERIFY;
	disabled = u.disabled;
	user_clear(&u);
	return disabled ? PC_ERR_VERIFY : 0;
}

struct assert_bufs {
	uint8_t *cd, *ad, *sig, *key;
	size_t cd_len, ad_len, sig_len, key_len;
};

static void
bufs_free(struct assert_bufs *b)
{
	free(b->cd);
	free(b->ad);
	free(b->sig);
	free(b->key);
	memset(b, 0, sizeof(*b));
}

/* Signature, flags and counter of in against the stored p. */
static int
check_assertion(struct db *db, const struct rp *rp,
    const uint8_t chal[WA_CHALLENGE_BYTES], bool uv_required,
    const struct passkey_assertion *in, const struct store_passkey *p,
    int64_t now, struct passkey_result *out)
{
	struct assert_bufs b;
	struct wa_assertion a;
	struct wa_rp wrp = { rp->rp_id, rp->origin };
	int r;

	memset(&b, 0, sizeof(b));
	memset(&a, 0, sizeof(a));
	if (dec(in->client_data, CLIENT_DATA_MAX, &b.cd, &b.cd_len) != 0 ||
	    dec(in->authenticator_data, AUTH_DATA_MAX, &b.ad, &b.ad_len) != 0 ||
	    dec(in->signature, SIG_MAX, &b.sig, &b.sig_len) != 0 ||
	    dec(p->public_key, COSE_KEY_MAX, &b.key, &b.key_len) != 0) {
		bufs_free(&b);
		return PC_ERR_VERIFY;
	}
	r = wa_assert_verify(&wrp, chal, b.cd, b.cd_len, b.ad, b.ad_len, b.sig,
	    b.sig_len, (int)p->alg, b.key, b.key_len, uv_required, &a);
	bufs_free(&b);
	/* WA-04: UP always, UV when asked; the flags, never the client. */
	if (r != 0 || !a.up || (uv_required && !a.uv))
		return PC_ERR_VERIFY;
	/* WA-03. */
	if (p->sign_count < 0 || p->sign_count > UINT32_MAX ||
	    !wa_counter_ok((uint32_t)p->sign_count, a.sign_count)) {
		if (store_passkey_flag_cloned(db, p->credential_id, now) != 0)
			return PC_ERR_STORE;
		out->cloned = true;
		return PC_ERR_CONFLICT;
	}
	r = store_passkey_use(
	    db, p->credential_id, p->sign_count, (int64_t)a.sign_count, now);
	if (r == PC_ERR_CONFLICT)
		return PC_ERR_VERIFY; /* another use of this counter won */
	if (r != 0)
		return r;
	out->uv = a.uv;
	out->synced = a.be || p->backup_eligible;
	return 0;
}

int
passkey_assert_finish(struct db *db, const struct config *cfg,
    const struct session *s, enum passkey_purpose purpose,
    const char *expect_user_id, const struct passkey_assertion *in, int64_t now,
    struct passkey_result *out)
{
	uint8_t chal[WA_CHALLENGE_BYTES];
	struct store_passkey p;
	struct rp rp;
	bool uv = false;
	size_t idlen;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	if (purpose == PASSKEY_REGISTER ||
	    (purpose == PASSKEY_FACTOR && expect_user_id == NULL))
		return PC_ERR_INVALID;
	if ((r = rp_of(cfg, &rp)) != 0)
		return r;
	/* WA-02: spent before anything else is looked at. */
	if ((r = take(db, s, purpose,
		 purpose == PASSKEY_FACTOR ? expect_user_id : NULL,
		 in->challenge, now, chal, &uv)) != 0)
		return r;
	if (purpose == PASSKEY_LOGIN)
		uv = true; /* WA-04 */
	idlen = in->credential_id != NULL
	    ? strnlen(in->credential_id, b64url_encoded_len(WA_CRED_ID_MAX) + 1)
	    : 0;
	if (idlen == 0 || idlen > b64url_encoded_len(WA_CRED_ID_MAX)) {
		r = PC_ERR_VERIFY;
		goto out;
	}
	r = store_passkey_get(db, in->credential_id, &p);
	if (r == PC_ERR_NOT_FOUND)
		r = PC_ERR_VERIFY;
	if (r != 0)
		goto out;
	out->user_id = xstrdup(p.user_id);
	snprintf(out->id, sizeof(out->id), "%s", p.id);
	if ((r = owner_ok(db, purpose, expect_user_id, in->user_handle, &p)) !=
	    0)
		goto out;
	r = check_assertion(db, &rp, chal, uv, in, &p, now, out);
out:
	store_passkey_clear(&p);
	sodium_memzero(chal, sizeof(chal));
	return r;
}

static bool
has_word(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; (p = strstr(p, w)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

void
passkey_amr(
    const char *before, const struct passkey_result *p, char *out, size_t n)
{
	const char *key = p->synced ? AMR_SWK : AMR_HWK;
	bool other = false;
	size_t k = 0;
	char word[16];

	if (n == 0)
		return;
	out[0] = '\0';
	/* before's methods, "mfa" and "user" aside (said again below). */
	for (const char *q = before != NULL ? before : ""; *q != '\0';) {
		size_t len = strcspn(q, " ");

		if (len > 0 && len < sizeof(word)) {
			memcpy(word, q, len);
			word[len] = '\0';
			if (strcmp(word, AMR_MFA) != 0 &&
			    strcmp(word, AMR_USER) != 0 &&
			    strcmp(word, key) != 0 && !has_word(out, word)) {
				k += (size_t)snprintf(out + k, n - k, "%s%s",
				    k > 0 ? " " : "", word);
				if (k >= n)
					return;
				other = true;
			}
		}
		q += len;
		while (*q == ' ')
			q++;
	}
	k += (size_t)snprintf(out + k, n - k, "%s%s", k > 0 ? " " : "", key);
	if (k < n && (other || p->uv))
		(void)snprintf(out + k, n - k, " %s", AMR_MFA);
}

int
passkey_list(
    struct db *db, const char *user_id, struct passkey_view **v, size_t *n)
{
	struct store_passkey *p = NULL;
	size_t m = 0;
	int r;

	*v = NULL;
	*n = 0;
	if ((r = store_passkeys_list(db, user_id, &p, &m)) != 0)
		return r;
	*v = xcalloc(m + 1, sizeof(**v));
	for (size_t i = 0; i < m; i++) {
		struct passkey_view *e = &(*v)[i];

		snprintf(e->id, sizeof(e->id), "%s", p[i].id);
		e->name = xstrdup(p[i].name);
		e->created_at = p[i].created_at;
		e->last_used_at = p[i].last_used_at;
		e->cloned_at = p[i].cloned_at;
		e->synced = p[i].backup_eligible;
	}
	*n = m;
	store_passkeys_free(p, m);
	return 0;
}

void
passkey_views_free(struct passkey_view *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

int
passkey_rename(
    struct db *db, const char *user_id, const char *id, const char *name)
{
	if (!name_ok(name) || id == NULL || strlen(id) >= PASSKEY_ID_LEN)
		return PC_ERR_INVALID;
	return store_passkey_rename(db, user_id, id, name);
}

int
passkey_remove(struct db *db, const char *user_id, const char *id)
{
	if (id == NULL || strlen(id) >= PASSKEY_ID_LEN)
		return PC_ERR_NOT_FOUND;
	return store_passkey_delete(db, user_id, id);
}
