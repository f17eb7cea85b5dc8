/*
 * Clients that register themselves (issue 15 item 6; SECURITY.md CR-01..05,
 * CR-07; decision 0063): the part of the OAuth domain that parses what a
 * client says about itself, resolves client ids (metadata documents
 * behind them) and makes registration tokens. Included at the end of
 * oauth/domain.h, whose types it uses.
 */
#ifndef PC_OAUTH_CLIENT_REG_H
#define PC_OAUTH_CLIENT_REG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "store/store.h"

/* ---- Clients that register themselves (src/oauth/client_meta.c,
 * client_metadata.c, register.c; issue 15 item 6, CR-01..05, CR-07;
 * decision 0063) ---- */

#define CLIENT_URL_ID_MAX 255	 /* a metadata document's URL, as client_id */
#define CLIENT_META_DOC_MAX 5120 /* CR-04: 5 KiB */
#define CLIENT_META_FETCH_TIMEOUT 3 /* CR-04: seconds, at most */
#define REG_TOKEN_BYTES 32
#define REG_TOKEN_LEN 47	  /* "pcm_" / "pci_" + 43 base64url */
#define REG_ACCESS_PREFIX "pcm_"  /* registration access token */
#define REG_INITIAL_PREFIX "pci_" /* initial access token */
#define REG_INITIAL_ID_PREFIX "rit_"
#define REG_INITIAL_ID_LEN 26 /* "rit_" + 22 base64url */

/* Where client metadata comes from: the policies differ. */
enum client_meta_src {
	CLIENT_META_REGISTER, /* POST /oauth/register, PUT (RFC 7591/7592) */
	CLIENT_META_DOCUMENT, /* a client ID metadata document */
};

/* A parsed registration request or metadata document. */
struct client_meta {
	struct store_client c; /* the client it describes; no id yet */
	char *doc_client_id;   /* the document's client_id member */
	char *jwks_uri;	       /* a document's keys for private_key_jwt */
	char *client_secret;   /* a PUT's client_secret member (RFC 7592) */
};

void client_meta_clear(struct client_meta *m);
/*
 * Parses JSON text (at most len bytes) into m (CR-02): redirect_uris,
 * post_logout_redirect_uris, token_endpoint_auth_method, grant_types
 * (authorization_code, refresh_token: never client_credentials),
 * response_types (["code"] only), client_name, scope (kept only as far as
 * allowed_scopes allows: the most a self-registered client may ask for),
 * jwks (registration) or jwks_uri (document), id_token_signed_response_alg;
 * client_uri, logo_uri, policy_uri, tos_uri must be https and are never
 * fetched or kept; unknown members are ignored. Then client_validate()
 * (AZ-04 for every URI). 0, or PC_ERR_INVALID with *error the RFC 7591
 * code (invalid_redirect_uri, invalid_client_metadata) and *why.
 */
int client_meta_parse(const char *json, size_t len, enum client_meta_src src,
    const char *allowed_scopes, struct client_meta *m, const char **error,
    const char **why) PC_WUR;
/*
 * What an operator (or the policy) set on an existing client and its own
 * metadata does not say: kind, owner, resources, delegation, DPoP, PAR,
 * CORS origins, disabled_at, first_party, id_token_on_refresh, the service
 * account and created_at, copied from old into c (a PUT, a refetch).
 */
void client_meta_keep(struct store_client *c, const struct store_client *old);
/*
 * CR-01, open registration: a public client whose every redirect URI is
 * an http loopback (127.0.0.1, [::1]) or a private-use scheme. 0 or
 * PC_ERR_INVALID with *why.
 */
int client_meta_open_ok(const struct client_meta *m, const char **why) PC_WUR;
/*
 * CR-04, CR-05: a document fetched from url describes the client url: its
 * client_id equals url exactly; every redirect URI is on url's origin or
 * an http loopback; it is public, or private_key_jwt with a jwks_uri on
 * url's origin. 0 or PC_ERR_INVALID with *why.
 */
int client_meta_document_ok(
    const struct client_meta *m, const char *url, const char **why) PC_WUR;
/* Whether id has the shape of a metadata-document client id: an https URL
 * with a path, of at most CLIENT_URL_ID_MAX bytes (not whether it is
 * fetchable). */
bool client_id_is_url(const char *id);

/*
 * THE lookup of a client by id for /authorize, /par and /token (decision
 * 0063). An ordinary id: the store's row (through the cache with secrets
 * when v is given, else the store). An https URL id, while
 * client_metadata_documents is on: the row materialised from its metadata
 * document, fetched through machine/fetch.c (CR-04: https, no redirects,
 * the connected address checked, <= 5 KiB, <= 3 s) when missing or older
 * than client_metadata_ttl, checked (client_meta_document_ok) and written
 * (registration 'metadata'); fetches count per IP first
 * (client_metadata_per_ip). 0 with out filled; PC_ERR_NOT_FOUND: no such
 * client, or the document was refused or could not be fetched (*why, may
 * be NULL, says which); PC_ERR_PERM: over the per-IP limit; store errors.
 */
int client_resolve(struct app *app, const struct store_versions *v,
    const char *id, const char *ip, int64_t now, struct store_client *out,
    struct store_client_secret secrets[STORE_CLIENT_SECRETS_MAX], size_t *n,
    const char **why) PC_WUR;

/*
 * A registration access token or initial access token (prefix
 * REG_ACCESS_PREFIX or REG_INITIAL_PREFIX): 32 random bytes, shown once
 * as prefix + 43 base64url; hash gets the hex SHA-256 of the bytes, the
 * only thing stored (src/oauth/reg_token.c).
 */
void reg_token_new(const char *prefix, char out[REG_TOKEN_LEN + 1],
    char hash[PC_SHA256_HEX_LEN + 1]);
/* The hash of a presented token of that prefix; PC_ERR_INVALID when it
 * does not have the shape. */
int reg_token_hash(const char *prefix, const char *token,
    char hash[PC_SHA256_HEX_LEN + 1]) PC_WUR;
/*
 * A new initial access token (CR-07): registers at most max_clients
 * clients until now + ttl. token gets the secret (shown once), id its
 * public handle.
 */
int reg_initial_token_create(struct db *db, const char *label,
    int64_t max_clients, int64_t ttl, int64_t now,
    char token[REG_TOKEN_LEN + 1], char id[REG_INITIAL_ID_LEN + 1]) PC_WUR;

/* ---- end Clients that register themselves ---- */

#endif
