/*
 * The server's context, handed to every handler as req->app. Only
 * forward-declared pointers: including this pulls in no layer.
 */
#ifndef PC_APP_H
#define PC_APP_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct db;
struct masterkey;
struct signer;
struct pwpool;
struct pw_params;
struct mailer;
struct mail_jobs;

struct app {
	const struct config *cfg;
	struct db *db;
	struct masterkey *mk;
	struct signer *signer;
	/*
	 * The discovery document, built at start once per set of ID token
	 * algorithms that can sign (bit i of the index: the i-th of
	 * discovery.c's id_token_algs has an active key); discovery_free().
	 */
	char *discovery[16];
	size_t discovery_len[16];
	struct pwpool *pwpool;	    /* password hashing, off the HTTP threads */
	const struct pw_params *pw; /* Argon2id cost of new hashes */
	struct mailer *mailer;	    /* outgoing mail, its own thread */
	struct mail_jobs *jobs;	    /* account work after an answer (RS-01) */
	uint8_t audit_key[32];	    /* audit chain key (audit_key()) */
	/* client records (oauth/client_cache.c); NULL: read every time */
	struct client_cache *client_cache;
	/* allowed CORS origins (oauth/cors.c); NULL: built every time */
	struct cors_cache *cors_cache;
};

#endif
