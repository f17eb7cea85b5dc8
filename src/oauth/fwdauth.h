/*
 * Forward-auth for reverse proxies (issue 17 item 5; decision 0075;
 * SECURITY.md FA-01..FA-08): nginx auth_request, Traefik forwardAuth and
 * Caddy forward_auth ask /forward-auth/verify whether a request to a
 * protected host may pass; a browser without a session for that host is
 * sent through a sign-in dance that ends with a __Host- cookie on that
 * host alone.
 *
 * The pure checks (src/oauth/fwd_url.c, library pc_oauth_proto: strings
 * in, decisions out) and the domain (src/oauth/fwdauth.c: rules, codes,
 * per-host sessions on the store).
 */
#ifndef PC_OAUTH_FWDAUTH_H
#define PC_OAUTH_FWDAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define FWD_HOST_MAX 260   /* a DNS name (253) and ":65535" */
#define FWD_URL_MAX 2048   /* bytes of a return URL (rd) */
#define FWD_PREFIX_MAX 256 /* bytes of a rule's path prefix */
#define FWD_GROUPS_MAX 16  /* groups named by one rule */
#define FWD_CODE_TTL 60	   /* s a callback code lives */
#define FWD_STATE_TTL 600  /* s the state cookie of a dance lives */
#define FWD_TOKEN_LEN 43   /* base64url of 32 random bytes */
#define FWD_CALLBACK "/.portcullis/callback"
#define FWD_PREFIX "/.portcullis/" /* our paths on a protected host */

/* ---- Pure checks (src/oauth/fwd_url.c) ---- */

/*
 * FA-02: a protected host's authority as declared and compared: a DNS
 * name (labels of letters, digits and '-', lower-cased, no trailing dot)
 * with an optional ":port" (1..65535, no leading zero; ":443" dropped).
 * PC_ERR_INVALID for anything else (userinfo, IP-literal brackets, '%').
 */
int fwd_host_norm(const char *in, char out[FWD_HOST_MAX + 1]) PC_WUR;
/*
 * FA-03: a return URL (rd) as something we may redirect to: "https://"
 * (any case), an authority fwd_host_norm accepts (no '@', no '%', no
 * '\\'), then a path, query, or nothing; printable ASCII only, at most
 * FWD_URL_MAX. *url gets the rebuilt URL (https://host/path?query, leading
 * slashes of the path collapsed, the fragment dropped, a path under
 * /.portcullis/ replaced by "/"), host the authority. The caller still
 * checks that host is declared. PC_ERR_INVALID, *url NULL, for anything
 * else.
 */
int
fwd_rd_parse(const char *rd, char host[FWD_HOST_MAX + 1], char **url) PC_WUR;
/*
 * FA-04: the path a request is judged by. uri is the original request
 * target ("/a/./b/../c?x"); the query is dropped, %XX decoded once (as
 * nginx does before matching locations), empty and "." segments dropped,
 * ".." resolved. PC_ERR_INVALID for a target that does not start with
 * '/', a bad escape, a decoded NUL, '/' or '\\' (an escaped separator), a
 * control character, or ".." above the root: such a request is refused,
 * never matched leniently. *out: "/" or "/seg/seg" (free it).
 */
int fwd_path_norm(const char *uri, char **out) PC_WUR;
/* A rule's path prefix: '/' then segments as fwd_path_norm leaves them,
 * no trailing '/', printable ASCII without '%', '\\', '?' or '#'. */
bool fwd_prefix_valid(const char *prefix);
/* path (normalised) is prefix or below it, on a segment boundary. */
bool fwd_prefix_match(const char *prefix, const char *path);
/* A value we may send as a header: printable ASCII, no ',' or ';'. */
bool fwd_header_safe(const char *v);
/* "mfa" is one of amr's space-separated words. */
bool fwd_amr_mfa(const char *amr);

/* ---- The domain (src/oauth/fwdauth.c) ---- */

struct db;
struct config;
struct session;

/*
 * Declares (or replaces) the rule for host and path prefix. groups:
 * NULL/"" or names separated by ',' or spaces (each a group name's
 * shape); public rules take no groups and no mfa. PC_ERR_INVALID with
 * *why.
 */
int
fwd_rule_set(struct db *db, const char *host, const char *prefix, bool public,
    const char *groups, bool mfa, int64_t now, const char **why) PC_WUR;
/* PC_ERR_NOT_FOUND when there is no such rule; *why on INVALID. */
int fwd_rule_remove(struct db *db, const char *host, const char *prefix,
    const char **why) PC_WUR;

/* What /forward-auth/verify answers. */
struct fwd_verdict {
	int status;	 /* 200, 401 or 403 */
	const char *why; /* a fixed word for the log and audit */
	char *user_id;	 /* 200 for a signed-in rule: the user */
	char *email;	 /* NULL when not header-safe */
	char *groups;	 /* comma-separated, header-safe names */
	char host[FWD_HOST_MAX + 1];
	char path[FWD_PREFIX_MAX + 1]; /* capped, for the audit */
};
void fwd_verdict_clear(struct fwd_verdict *v);
/*
 * FA-01, FA-04, FA-05: may a request for host and uri, carrying the
 * per-host cookie (NULL: none), pass at now? 0 with *v filled, or the
 * store's error (the caller answers 503: fail closed).
 */
int fwd_verify(struct db *db, const struct config *cfg, const char *host,
    const char *uri, const char *cookie, int64_t now,
    struct fwd_verdict *v) PC_WUR;

/*
 * FA-06: a one-time code for the signed-in session s, for the declared
 * host of rd, bound to the browser whose state cookie hashes to
 * state_hash (64 hex). *location: where to send the browser
 * (https://host/.portcullis/callback?code=...). PC_ERR_INVALID for an rd
 * that is not a declared host's https URL or a malformed state_hash.
 */
int fwd_code_issue(struct db *db, const struct session *s, const char *rd,
    const char *state_hash, int64_t now, char **location) PC_WUR;

/* A callback that made a per-host session. */
struct fwd_login {
	char cookie[64]; /* the __Host- cookie's value */
	char *user_id;
	char *rd;
};
void fwd_login_clear(struct fwd_login *l);
/*
 * FA-06, FA-07: the callback on host with code and the browser's state
 * cookie (and its earlier per-host cookie, replaced: SS-01). The code is
 * spent whatever follows. PC_ERR_VERIFY for an unknown, spent or expired
 * code, another host's, another browser's (state), or one whose issuer
 * session is gone.
 */
int fwd_callback(struct db *db, const struct config *cfg, const char *host,
    const char *code, const char *state, const char *old_cookie, int64_t now,
    struct fwd_login *out) PC_WUR;
/*
 * Ends the per-host session cookie names on host; *user_id (may be NULL)
 * gets its user when known. PC_ERR_NOT_FOUND when there was none.
 */
int fwd_logout(
    struct db *db, const char *host, const char *cookie, char **user_id) PC_WUR;
/*
 * FA-02: host (a Host header) is a declared protected host; out gets it
 * normalised. PC_ERR_NOT_FOUND for a malformed or undeclared host.
 */
int fwd_host_declared(
    struct db *db, const char *host, char out[FWD_HOST_MAX + 1]) PC_WUR;
/* A fresh state value (43 base64url) and its hash (64 hex). */
void fwd_state_new(char state[64], char hash[PC_SHA256_HEX_LEN + 1]);

#endif
