/*
 * Workload federation, the configuration side (issue 14 item 5): trusted
 * external issuers (a Kubernetes cluster's service-account issuer, a CI
 * system's OIDC issuer) and the rules that map their tokens' claims to a
 * service account, checked before they reach the store; and the rule
 * language itself (wif_sub_match, wif_claims_match). The verification of
 * a presented token is in wif_verify.c.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jose/jose.h"
#include "machine/machine.h"
#include "oauth/proto.h"
#include "store/store.h"

#define WIF_URL_MAX 512
#define WIF_PATTERN_MAX 256
#define WIF_CLAIM_VALUE_MAX 512
#define WIF_JWKS_MAX (64 * 1024)
#define WIF_JWKS_KEYS_MAX 16

/* Claims a rule may not pin: checked by the verifier itself. */
static const char *const reserved_claims[] = { "iss", "sub", "aud", "exp",
	"nbf", "iat", "jti" };

/* Private or symmetric key members a public JWKS never holds (JW-09). */
static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi",
	"oth", "k" };

static bool
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* An https URL without userinfo or fragment: issuers and jwks_uris. */
static bool
https_url_ok(const char *s)
{
	size_t n = s != NULL ? strnlen(s, WIF_URL_MAX + 1) : 0;

	return n > 8 && n <= WIF_URL_MAX && strncmp(s, "https://", 8) == 0 &&
	    !has_ctl(s) && strchr(s, ' ') == NULL && strchr(s, '#') == NULL &&
	    strchr(s, '@') == NULL;
}

/* Parses a space-separated alg list; false when empty or unknown. */
static bool
algs_parse(const char *s, enum jose_alg *out, size_t *n)
{
	const char *p = s;

	*n = 0;
	if (s == NULL)
		return false;
	while (*p != '\0') {
		const char *e = strchr(p, ' ');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
		enum jose_alg a = jose_alg_parse(p, len);

		if (a == JOSE_ALG_INVALID || *n == 4)
			return false;
		out[(*n)++] = a;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return *n > 0;
}

/* A public JWKS whose every key loads for one of algs. */
static bool
jwks_ok(
    const char *jwks, const enum jose_alg *algs, size_t nalgs, const char **why)
{
	json_t *doc = NULL, *keys, *k;
	size_t i, len = strnlen(jwks, WIF_JWKS_MAX + 1);
	bool ok = false;

	*why = "the JWKS is not a JSON object with a \"keys\" array of 1 to "
	       "16 keys";
	if (len > WIF_JWKS_MAX || jose_json_parse(jwks, len, 8, &doc) != 0 ||
	    !json_is_object(doc))
		goto out;
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys) || json_array_size(keys) == 0 ||
	    json_array_size(keys) > WIF_JWKS_KEYS_MAX)
		goto out;
	json_array_foreach(keys, i, k)
	{
		bool usable = false;

		*why = "the JWKS holds private or symmetric key material";
		for (size_t m = 0; m < PC_NELEM(private_members); m++)
			if (json_object_get(k, private_members[m]) != NULL)
				goto out;
		for (size_t a = 0; a < nalgs && !usable; a++) {
			EVP_PKEY *pkey = NULL;

			if (jwk_to_pkey(k, algs[a], &pkey) == 0) {
				usable = true;
				EVP_PKEY_free(pkey);
			}
		}
		*why = "a JWKS key is not usable with the allowed algorithms";
		if (!usable)
			goto out;
	}
	ok = true;
	*why = NULL;
out:
	json_decref(doc);
	return ok;
}

int
wif_trust_add(struct db *db, const struct fetch_policy *p,
    struct store_wif_trust *t, int64_t now, const char **why)
{
	enum jose_alg algs[4];
	size_t nalgs;
	char id[PRINCIPAL_ID_LEN + 1];
	int r;

	*why = NULL;
	if (!https_url_ok(t->issuer)) {
		*why = "the issuer must be an https URL (at most 512 bytes, no "
		       "userinfo or fragment)";
		return PC_ERR_INVALID;
	}
	if ((t->jwks == NULL) == (t->jwks_uri == NULL)) {
		*why = "give exactly one of a JWKS file and a jwks_uri";
		return PC_ERR_INVALID;
	}
	if (t->audience == NULL || t->audience[0] == '\0' ||
	    strlen(t->audience) > WIF_URL_MAX || has_ctl(t->audience)) {
		*why = "the audience must be 1 to 512 printable bytes";
		return PC_ERR_INVALID;
	}
	if (!algs_parse(t->algs, algs, &nalgs)) {
		*why = "algorithms: a space-separated list of ES256, RS256, "
		       "PS256, EdDSA (never none or HS*)";
		return PC_ERR_INVALID;
	}
	if (t->max_lifetime < WIF_MAX_LIFETIME_MIN ||
	    t->max_lifetime > WIF_MAX_LIFETIME_MAX) {
		*why = "the maximum token lifetime must be 60 s to 24 h";
		return PC_ERR_INVALID;
	}
	if (t->jwks != NULL && !jwks_ok(t->jwks, algs, nalgs, why))
		return PC_ERR_INVALID;
	if (t->jwks_uri != NULL &&
	    (!https_url_ok(t->jwks_uri) ||
		fetch_url_check(p, t->jwks_uri, why) != 0)) {
		if (*why == NULL)
			*why = "the jwks_uri must be an https URL";
		return PC_ERR_INVALID;
	}
	if ((r = principal_id_new(PRINCIPAL_WORKLOAD, id)) != 0)
		return r;
	free(t->trust_id);
	t->trust_id = xstrdup(id);
	t->created_at = now;
	r = store_wif_trust_add(db, t);
	if (r == PC_ERR_CONFLICT)
		*why = "a trust for this issuer exists already";
	return r;
}

/* The rule's claims: NULL, or an object of at most 16 short strings. */
static bool
claims_ok(const char *claims, const char **why)
{
	json_t *o = NULL, *v;
	const char *name;
	bool ok = false;

	*why = "claims must be a JSON object of at most 16 strings";
	if (jose_json_parse(claims, strlen(claims), 2, &o) != 0 ||
	    !json_is_object(o) || json_object_size(o) > WIF_CLAIMS_MAX)
		goto out;
	json_object_foreach(o, name, v)
	{
		*why = "a claim value must be a string of at most 512 bytes";
		if (!json_is_string(v) ||
		    json_string_length(v) > WIF_CLAIM_VALUE_MAX ||
		    name[0] == '\0')
			goto out;
		*why = "iss, sub, aud, exp, nbf, iat and jti are checked by "
		       "the trust and --sub, not by --claim";
		for (size_t i = 0; i < PC_NELEM(reserved_claims); i++)
			if (strcmp(name, reserved_claims[i]) == 0)
				goto out;
	}
	ok = true;
	*why = NULL;
out:
	json_decref(o);
	return ok;
}

int
wif_rule_add(struct db *db, const char *trust_id, struct store_wif_rule *rule,
    int64_t now, int64_t *rule_no, const char **why)
{
	struct store_service_account sa;
	struct scope_set s;
	const char *p = rule->sub_pattern;
	size_t n = p != NULL ? strnlen(p, WIF_PATTERN_MAX + 1) : 0;
	int r;

	*why = NULL;
	*rule_no = 0;
	if (principal_kind(trust_id) != PRINCIPAL_WORKLOAD)
		return PC_ERR_NOT_FOUND;
	if (n == 0 || n > WIF_PATTERN_MAX || has_ctl(p)) {
		*why = "the sub pattern must be 1 to 256 printable bytes";
		return PC_ERR_INVALID;
	}
	/* A shared issuer (GitHub Actions, a public cloud) signs tokens for
	 * everyone on it: "*" would hand the account to all of them. */
	if (strspn(p, "*") == n) {
		*why =
		    "a sub pattern of only '*' matches every workload of the "
		    "issuer; name the subject (wildcards inside it are "
		    "allowed)";
		return PC_ERR_INVALID;
	}
	if (rule->claims == NULL)
		rule->claims = xstrdup("{}");
	if (!claims_ok(rule->claims, why))
		return PC_ERR_INVALID;
	if (principal_kind(rule->service_account_id) !=
	    PRINCIPAL_SERVICE_ACCOUNT) {
		*why = "the rule must name a service account (svc_...)";
		return PC_ERR_INVALID;
	}
	r = store_service_account_get(db, rule->service_account_id, &sa);
	store_service_account_clear(&sa);
	if (r == PC_ERR_NOT_FOUND) {
		*why = "no such service account";
		return PC_ERR_INVALID;
	}
	if (r != 0)
		return r;
	if (rule->scopes != NULL) {
		if (scope_parse(rule->scopes, &s) != 0 || s.n == 0) {
			*why = "the scope must be space-separated scope tokens";
			return PC_ERR_INVALID;
		}
		scope_set_free(&s);
	}
	r = store_wif_rule_add(db, trust_id, rule, now, rule_no);
	if (r == PC_ERR_NOT_FOUND)
		*why = "no such trust";
	return r;
}

bool
wif_sub_match(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	if (pat == NULL || s == NULL)
		return false;
	/* Greedy with one backtrack point: O(len(pat) * len(s)). */
	while (*s != '\0') {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat == *s) {
			pat++;
			s++;
		} else if (star != NULL) {
			pat = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

bool
wif_claims_match(const json_t *claims, const json_t *payload)
{
	const char *name;
	json_t *want;

	if (!json_is_object(claims) || !json_is_object(payload))
		return false;
	json_object_foreach((json_t *)claims, name, want)
	{
		const json_t *got = json_object_get(payload, name);

		if (!json_is_string(want) || !json_is_string(got) ||
		    json_string_length(got) != json_string_length(want) ||
		    memcmp(json_string_value(got), json_string_value(want),
			json_string_length(want)) != 0)
			return false;
	}
	return true;
}

int
wif_trust_live(struct db *db, const char *trust_id)
{
	int r;

	if (principal_kind(trust_id) != PRINCIPAL_WORKLOAD)
		return PC_ERR_VERIFY;
	r = store_wif_trust_exists(db, trust_id);
	if (r == PC_ERR_NOT_FOUND)
		return PC_ERR_VERIFY;
	return r == 0 ? 0 : PC_ERR_STORE;
}
