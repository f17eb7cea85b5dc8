/*
 * libFuzzer driver for the resource side: bearer_verify() and the
 * /userinfo request parsing (the Authorization header, the query, the
 * form body). A store and a key ring are made once in a temp dir.
 *
 * Input: a first byte choosing GET or POST and whether the header says
 * "Bearer ", then "header\nquery\nbody". Promises checked besides "no
 * crash": nothing the fuzzer makes verifies as an access token (it cannot
 * sign), except a byte-identical copy of the one real token; a mutated
 * copy of that real token never verifies; /userinfo answers only 400, 401
 * or 403 (never 200 or 500) to a token it cannot have.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0 INT64_C(2000000000)

static struct config cfg;
static struct app app;
static char *real; /* a genuine client_credentials token */
static const struct http_limits lim = { 64, 256, 8192, 16 };

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_bearer setup: %s\n", what);
	abort();
}

static char dir[64];

/* The temp dir goes when the fuzzer exits. */
static void
cleanup(void)
{
	static const char *const files[] = { "portcullis.db",
		"portcullis.db-wal", "portcullis.db-shm", "master.key" };
	char path[128];

	for (size_t i = 0; i < PC_NELEM(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

static void
setup(void)
{
	static char mk_path[128];
	struct masterkey *mk = NULL;
	struct signer *s = NULL;
	struct db *db = NULL;
	enum masterkey_source src;
	struct token_access_in in = { NULL, "pcc_app", NULL, "api.read", 0,
		NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL };
	char err[512] = "", jti[TOKEN_JTI_LEN + 1];
	int from, to;

	if (crypto_init() != 0)
		fail("crypto_init");
	unsetenv("PORTCULLIS_MASTER_KEY");
	snprintf(dir, sizeof(dir), "/tmp/pc-fuzz-bearer-XXXXXX");
	if (mkdtemp(dir) == NULL)
		fail("mkdtemp");
	atexit(cleanup);
	snprintf(mk_path, sizeof(mk_path), "%s/master.key", dir);
	config_defaults(&cfg);
	if (config_set(&cfg, "data_dir", dir, CONFIG_SRC_FLAG, err,
		sizeof(err)) != 0 ||
	    config_set(&cfg, "issuer", "https://id.example.com",
		CONFIG_SRC_FLAG, err, sizeof(err)) != 0 ||
	    config_set(&cfg, "rsa_key_bits", "2048", CONFIG_SRC_FLAG, err,
		sizeof(err)) != 0 ||
	    config_finish(&cfg, err, sizeof(err)) != 0 ||
	    masterkey_create_file(mk_path, err, sizeof(err)) != 0 ||
	    masterkey_load(&cfg, false, &mk, &src, err, sizeof(err)) != 0 ||
	    db_open(cfg.store_url, dir, &db) != 0 ||
	    store_migrate(db, &from, &to, err, sizeof(err)) != 0 ||
	    signer_open(db, mk, &cfg, true, T0, &s) != 0)
		fail(err);
	app.cfg = &cfg;
	app.db = db;
	app.mk = mk;
	app.signer = s;
	in.aud = cfg.issuer;
	if (token_mint_access(s, &cfg, &in, T0 + 1, &real, jti) != 0)
		fail("mint");
}

/* Splits at the next '\n': [*p, nl) is returned, *p moves past it. */
static char *
piece(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	const uint8_t *e = nl != NULL ? nl : end;
	char *s = malloc((size_t)(e - *p) + 1);

	if (s == NULL)
		abort();
	memcpy(s, *p, (size_t)(e - *p));
	s[e - *p] = '\0';
	*p = nl != NULL ? nl + 1 : end;
	return s;
}

static void
userinfo(uint8_t mode, const char *hdr, const char *query, const char *body)
{
	struct req r;
	struct resp w;
	size_t n = strlen(hdr);
	char *name = strdup("Authorization"), *value = malloc(n + 8);

	if (name == NULL || value == NULL)
		abort();
	snprintf(value, n + 8, "%s%s", mode & 2 ? "Bearer " : "", hdr);
	req_init(&r);
	resp_init(&w);
	r.method = mode & 1 ? HTTP_POST : HTTP_GET;
	r.limits = &lim;
	r.app = &app;
	r.now = T0 + 2;
	r.query.p = query;
	r.query.len = strlen(query);
	if (kvlist_push(
		&r.headers, 16, name, strlen(name), value, strlen(value)) != 0)
		abort();
	if (mode & 1) {
		r.content_type = "application/x-www-form-urlencoded";
		buf_init(&r.body, 65536);
		if (buf_puts(&r.body, body) != 0)
			abort();
	}
	oauth_userinfo(&r, &w);
	if (w.status != 400 && w.status != 401 && w.status != 403)
		abort();
	resp_free(&w);
	req_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + (size > 0 ? 1 : 0), *end = data + size;
	uint8_t mode = size > 0 ? data[0] : 0;
	struct bearer b;
	char *hdr, *query, *body, *mut;
	size_t n;

	if (real == NULL)
		setup();
	hdr = piece(&p, end);
	query = piece(&p, end);
	body = piece(&p, end);
	n = strlen(hdr);
	if (bearer_verify(&app, hdr, n, T0 + 2, &b) == 0) {
		if (strcmp(hdr, real) != 0)
			abort(); /* the fuzzer cannot sign */
		bearer_clear(&b);
	}
	/* The real token with the input's bytes written over it. */
	mut = strdup(real);
	if (mut == NULL)
		abort();
	for (size_t i = 0; i < n && i < strlen(mut); i++)
		if (hdr[i] != '\0')
			mut[(i * 131 + (uint8_t)hdr[i]) % strlen(mut)] = hdr[i];
	if (bearer_verify(&app, mut, strlen(mut), T0 + 2, &b) == 0) {
		if (strcmp(mut, real) != 0)
			abort();
		bearer_clear(&b);
	}
	free(mut);
	/* A genuine token is never a user token: no 200 from /userinfo. */
	userinfo(mode, hdr, query, body);
	free(hdr);
	free(query);
	free(body);
	return 0;
}
