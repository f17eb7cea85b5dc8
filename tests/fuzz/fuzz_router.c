/*
 * libFuzzer driver for whole requests: a parsed request goes through the
 * real route table (server_router, src/server/routes.c) to its handler,
 * with a real SQLite store (temp dir, migrated once per process), a real
 * config, signer, hashing pool and mail queue, as `serve` wires them.
 * What libmicrohttpd and src/http/mhd.c decide before a handler runs
 * (404/405, the Host allowlist, header and body caps, the request target's
 * shape) is mirrored here so that handlers see only what the server would
 * hand them; deferred work (req_defer, the hashing pool) is resumed as
 * run_step() does.
 *
 * Input: a first byte whose low two bits choose the peer address, then an
 * HTTP/1.1-like request:
 *
 *   METHOD /path?query\n
 *   Name: value\n        (any number; no CR needed)
 *   \n
 *   body
 *
 * Placeholders are replaced anywhere before parsing, so that every handler
 * is reachable past its checks: @SID@ a live session cookie of a signed-in
 * user, @CSRF:form@ that session's token for the form id, @EMAIL@ and
 * @PW@ the user's address and password, @CLIENT@ / @SECRET@ / @BASIC@ a
 * confidential client's id, secret and Basic credentials, @PUB@ a public
 * client's id, @AT@ and @RT@ an access and a refresh token of a user
 * grant (made through /token), @CODE@ a fresh authorization code for the
 * confidential client at https://app.example.com/cb whose PKCE verifier
 * is @VERIFIER@.
 *
 * Argon2id: the config holds the smallest costs config_finish and
 * pw_params_from_config accept; the hashing pool and app->pw then take
 * libsodium's floor (t = 1, 8 KiB) through struct pw_params, the
 * parameter they already take, so a sign-in costs microseconds.
 *
 * FUZZ_ROUTER_TRACE=1 in the environment prints each request's status,
 * to see how far a corpus gets (run it with -runs=0 over the corpus).
 *
 * Promises checked besides "no crash, leak or hang": every request gets a
 * status in 100..599, never a 5xx other than 503 (a deliberate "try
 * later"); a redirect has a Location; no response header name or value
 * carries CR, LF or NUL (header injection).
 */
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <sanitizer/lsan_interface.h>
#include <sodium.h>

#include "app.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "crypto/crypto.h"
#include "mail/mail.h"
#include "oauth/oauth.h"
#include "server/server.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define USER_EMAIL "fuzz@example.com"
#define USER_PW "correct horse battery staple fuzz"
#define REDIRECT "https://app.example.com/cb"
/* RFC 7636 appendix B: a verifier and its S256 challenge. */
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static struct config cfg;
static struct app app;
static struct pw_params pw;
static struct http_limits lim;
static char dir[64];
static bool ready;
static int64_t base_now;
static bool trace; /* FUZZ_ROUTER_TRACE=1: print each request's status */
static uint64_t execs;

static char user_id[USER_ID_LEN + 1];
static char user_phc[PW_PHC_MAX]; /* USER_PW's hash, put back after a change */
static char sid[64];
static char client_id[CLIENT_ID_LEN + 1], secret[CLIENT_SECRET_LEN + 1];
static char basic[256];
static char pub_id[CLIENT_ID_LEN + 1];
static char *at_token, *rt_token;
static int64_t at_made;
static char code_buf[CODE_LEN + 1];

static const char *const ips[] = { "192.0.2.1", "192.0.2.77", "2001:db8::1",
	"198.51.100.9" };

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_router setup: %s\n", what);
	abort();
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void
cleanup(void)
{
	pwpool_shutdown(app.pwpool);
	mail_jobs_stop(app.jobs, 0);
	pwpool_free(app.pwpool);
	mail_stop(app.mailer);
	free(at_token);
	free(rt_token);
	signer_free(app.signer);
	db_close(app.db);
	masterkey_free(app.mk);
	discovery_free(&app);
	config_free(&cfg);
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
set(const char *name, const char *value)
{
	char err[256];

	if (config_set(&cfg, name, value, CONFIG_SRC_FLAG, err, sizeof(err)) !=
	    0)
		fail(err);
}

static void
make_clients(int64_t now)
{
	struct store_client c;
	char *uris[1];
	char pub_secret[CLIENT_SECRET_LEN + 1], raw[512];
	const char *why = NULL;

	memset(&c, 0, sizeof(c));
	c.name = xstrdup("fuzz app");
	c.auth_method = xstrdup("client_secret_basic");
	c.grant_types =
	    xstrdup("authorization_code refresh_token client_credentials");
	c.scopes = xstrdup("openid profile email offline_access api.read");
	uris[0] = xstrdup(REDIRECT);
	c.redirect_uris = xmalloc(sizeof(char *));
	c.redirect_uris[0] = uris[0];
	c.n_redirect_uris = 1;
	if (client_create(app.db, &c, now, secret, &why) != 0)
		fail(why != NULL ? why : "client_create");
	snprintf(client_id, sizeof(client_id), "%s", c.client_id);
	store_client_clear(&c);
	snprintf(raw, sizeof(raw), "%s:%s", client_id, secret);
	sodium_bin2base64(basic, sizeof(basic), (const unsigned char *)raw,
	    strlen(raw), sodium_base64_VARIANT_ORIGINAL);

	memset(&c, 0, sizeof(c));
	c.name = xstrdup("fuzz spa");
	c.is_public = true;
	c.grant_types = xstrdup("authorization_code refresh_token");
	c.scopes = xstrdup("openid profile email offline_access");
	c.redirect_uris = xmalloc(sizeof(char *));
	c.redirect_uris[0] = xstrdup(REDIRECT);
	c.n_redirect_uris = 1;
	if (client_create(app.db, &c, now, pub_secret, &why) != 0)
		fail(why != NULL ? why : "client_create public");
	snprintf(pub_id, sizeof(pub_id), "%s", c.client_id);
	store_client_clear(&c);
}

static void
setup(void)
{
	static struct pwpool_opts po;
	char err[512] = "", phc[PW_PHC_MAX];
	struct masterkey *mk = NULL;
	enum masterkey_source src;
	char id[USER_ID_LEN + 1];
	int from, to;

	if (crypto_init() != 0)
		fail("crypto_init");
	json_object_seed(0);
	log_init(LOG_ERROR);
	unsetenv("PORTCULLIS_MASTER_KEY");
	/* tmpfs when there is one: no disk I/O per write or commit. */
	snprintf(dir, sizeof(dir), "%s/pc-fuzz-router-XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(dir) == NULL)
		fail("mkdtemp");
	atexit(cleanup);
	base_now = clock_now();
	trace = getenv("FUZZ_ROUTER_TRACE") != NULL;
	config_defaults(&cfg);
	set("data_dir", dir);
	set("issuer", "https://id.example.com");
	set("rsa_key_bits", "2048");
	set("registration", "true");
	set("signing_key_activation_delay", "0");
	/* The smallest Argon2id cost the config accepts (t = 5 at 8 MiB is
	 * over the OWASP floor); see the comment at the top for the pool. */
	set("pwhash_memory", "8m");
	set("pwhash_iterations", "5");
	set("pwhash_concurrency", "1");
	set("pwhash_queue_timeout", "5s");
	if (config_finish(&cfg, err, sizeof(err)) != 0)
		fail(err);
	{
		char mk_path[128];

		snprintf(mk_path, sizeof(mk_path), "%s/master.key", dir);
		if (masterkey_create_file(mk_path, err, sizeof(err)) != 0 ||
		    masterkey_load(&cfg, false, &mk, &src, err, sizeof(err)) !=
			0)
			fail(err);
	}
	app.cfg = &cfg;
	app.mk = mk;
	if (db_open(cfg.store_url, dir, &app.db) != 0 ||
	    store_migrate(app.db, &from, &to, err, sizeof(err)) != 0 ||
	    signer_open(app.db, mk, &cfg, true, base_now, &app.signer) != 0)
		fail(err[0] != '\0' ? err : "store or signer");
	if (discovery_build(&app) != 0)
		fail("discovery_build");
	audit_key(app.mk, app.audit_key);
	if (pw_params_from_config(&cfg, &pw, err, sizeof(err)) != 0 ||
	    pwpool_opts_from_config(&cfg, &pw, &po, err, sizeof(err)) != 0)
		fail(err);
	pw.opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
	pw.memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
	po.params = pw;
	app.pw = &pw;
	if (mail_start(&cfg, &app.mailer) != 0 ||
	    mail_jobs_start(&app.jobs) != 0 ||
	    pwpool_start(&po, &app.pwpool) != 0)
		fail("mail or hashing pool");
	lim.max_params = (size_t)cfg.http_max_params;
	lim.max_name = 256;
	lim.max_value = (size_t)cfg.http_max_body;
	lim.max_json_depth = (size_t)cfg.http_max_json_depth;

	if (pw_hash(&pw, USER_PW, strlen(USER_PW), phc) != 0 ||
	    user_create_with_hash(
		app.db, USER_EMAIL, "Fuzz User", true, phc, base_now, id) != 0)
		fail("user");
	memcpy(user_phc, phc, sizeof(user_phc));
	snprintf(user_id, sizeof(user_id), "%s", id);
	make_clients(base_now);
	ready = true;
}

/* A live session of the user: the last one, or a new one. */
static void
live_session(int64_t now, struct session *s)
{
	memset(s, 0, sizeof(*s));
	if (sid[0] != '\0' && session_lookup(app.db, sid, now, &cfg, s) == 0 &&
	    s->user_id != NULL)
		return;
	session_clear(s);
	memset(s, 0, sizeof(*s));
	if (session_create(
		app.db, &cfg, user_id, ips[0], "fuzz", "pwd", now, sid, s) != 0)
		fail("session_create");
}

static const struct route *parse(char *t, size_t n, struct req *r);
static void run(const struct route *rt, struct req *r, struct resp *w);
static void check(const struct req *r, const struct resp *w);

/* A new code for the confidential client, redeemable with VERIFIER. */
static bool
new_code(int64_t now, char code[CODE_LEN + 1])
{
	const struct code_grant g = { client_id, user_id, REDIRECT, CHALLENGE,
		"openid profile email offline_access", "n-0", "pwd", NULL, now,
		NULL, 0 };

	return code_issue(app.db, &g, now, code) == 0;
}

/*
 * A user grant as a client gets it: a code redeemed at the real /token,
 * so the access token names a live token family (/userinfo wants one) and
 * the refresh token is genuine.
 */
static void
new_grant(int64_t now)
{
	char code[CODE_LEN + 1], *text = NULL;
	const struct route *rt;
	struct req r;
	struct resp w;
	json_t *doc;
	int n;

	free(at_token);
	free(rt_token);
	at_token = rt_token = NULL;
	if (!new_code(now, code))
		return;
	n = asprintf(&text,
	    "POST /token\nHost: id.example.com\n"
	    "Authorization: Basic %s\n"
	    "Content-Type: application/x-www-form-urlencoded\n\n"
	    "grant_type=authorization_code&code=%s&redirect_uri=%s"
	    "&code_verifier=%s",
	    basic, code, "https%3A%2F%2Fapp.example.com%2Fcb", VERIFIER);
	if (n < 0)
		fail("asprintf");
	req_init(&r);
	r.limits = &lim;
	r.app = &app;
	r.now = now;
	snprintf(r.ip, sizeof(r.ip), "%s", ips[0]);
	resp_init(&w);
	if ((rt = parse(text, (size_t)n, &r)) != NULL) {
		run(rt, &r, &w);
		check(&r, &w);
		if (w.status == 200 &&
		    (doc = json_loadb((const char *)w.body.p, w.body.len, 0,
			 NULL)) != NULL) {
			const char *a = json_string_value(
				       json_object_get(doc, "access_token")),
				   *t = json_string_value(
				       json_object_get(doc, "refresh_token"));

			at_token = a != NULL ? xstrdup(a) : NULL;
			rt_token = t != NULL ? xstrdup(t) : NULL;
			json_decref(doc);
		}
	}
	at_made = now;
	resp_free(&w);
	req_free(&r);
	free(text);
}

/* The user's access token: the last one while it is fresh and live. */
static const char *
access_token(int64_t now)
{
	struct bearer b;

	if (at_token != NULL && now - at_made < 60 &&
	    bearer_verify(&app, at_token, strlen(at_token), now, &b) == 0) {
		bearer_clear(&b);
		return at_token;
	}
	new_grant(now);
	return at_token != NULL ? at_token : "";
}

/* A refresh token is used once: each one comes with a new grant. */
static const char *
refresh_token(int64_t now)
{
	new_grant(now);
	return rt_token != NULL ? rt_token : "";
}

/* The input with every placeholder replaced. */
static void
expand(const uint8_t *p, size_t n, int64_t now, struct buf *out)
{
	struct session s;
	bool have_s = false;
	size_t i = 0;

	buf_init(out, 1024 * 1024);
	while (i < n) {
		const uint8_t *e;
		size_t len;
		char name[80], tok[64];
		const char *v = NULL;

		if (p[i] != '@' ||
		    (e = memchr(p + i + 1, '@', n - i - 1)) == NULL ||
		    (len = (size_t)(e - p - i - 1)) >= sizeof(name)) {
			if (buf_putc(out, (char)p[i]) != 0)
				break;
			i++;
			continue;
		}
		memcpy(name, p + i + 1, len);
		name[len] = '\0';
		if (strcmp(name, "SID") == 0 ||
		    strncmp(name, "CSRF:", 5) == 0) {
			if (!have_s)
				live_session(now, &s);
			have_s = true;
			v = sid;
			if (name[0] == 'C') {
				v = session_csrf_token(&s, name + 5, tok) == 0
				    ? tok
				    : "";
			}
		} else if (strcmp(name, "EMAIL") == 0) {
			v = USER_EMAIL;
		} else if (strcmp(name, "PW") == 0) {
			v = USER_PW;
		} else if (strcmp(name, "CLIENT") == 0) {
			v = client_id;
		} else if (strcmp(name, "SECRET") == 0) {
			v = secret;
		} else if (strcmp(name, "BASIC") == 0) {
			v = basic;
		} else if (strcmp(name, "PUB") == 0) {
			v = pub_id;
		} else if (strcmp(name, "AT") == 0) {
			v = access_token(now);
		} else if (strcmp(name, "RT") == 0) {
			v = refresh_token(now);
		} else if (strcmp(name, "CODE") == 0) {
			v = new_code(now, code_buf) ? code_buf : "";
		} else if (strcmp(name, "VERIFIER") == 0) {
			v = VERIFIER;
		}
		if (v == NULL) {
			if (buf_putc(out, '@') != 0)
				break;
			i++;
			continue;
		}
		if (buf_puts(out, v) != 0)
			break;
		i += len + 2;
	}
	if (have_s)
		session_clear(&s);
}

static bool
is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* Deferred steps resume here (from the hashing pool's thread). */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static http_step resumed;
static bool resumed_set;

static void
resume_hook(struct req *r, http_step next)
{
	(void)r;
	pthread_mutex_lock(&mu);
	resumed = next;
	resumed_set = true;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

/* The handler, then each deferred step, as mhd.c's run_step does. */
static void
run(const struct route *rt, struct req *r, struct resp *w)
{
	void *arg = NULL;
	void (*arg_free)(void *) = NULL;
	http_step step = NULL;

	r->resume_hook = resume_hook;
	for (;;) {
		http_step start;

		if (step == NULL) {
			if (server_router.guard == NULL ||
			    !server_router.guard(r, w))
				rt->handler(r, w);
		} else {
			step(r, w, arg);
		}
		if (r->defer_start == NULL)
			break;
		start = r->defer_start;
		r->defer_start = NULL;
		if (arg != NULL && arg != r->defer_arg && arg_free != NULL)
			arg_free(arg);
		arg = r->defer_arg;
		arg_free = r->defer_free;
		pthread_mutex_lock(&mu);
		resumed_set = false;
		pthread_mutex_unlock(&mu);
		start(r, w, arg);
		pthread_mutex_lock(&mu);
		while (!resumed_set)
			pthread_cond_wait(&cv, &mu);
		step = resumed;
		pthread_mutex_unlock(&mu);
		if (step == NULL) {
			/* mhd.c answers 500 here: a step that resumes with
			 * nothing to run is a bug. */
			fprintf(stderr, "resumed without a next step\n");
			abort();
		}
	}
	if (arg != NULL && arg_free != NULL)
		arg_free(arg);
}

static bool
header_clean(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") == NULL;
}

static void
check(const struct req *r, const struct resp *w)
{
	bool location = false;

	if (trace)
		fprintf(stderr, "fuzz_router: %s %.*s -> %d\n", r->method_name,
		    (int)r->path.len, r->path.p, w->status);
	if (w->status < 100 || w->status > 599 ||
	    (w->status >= 500 && w->status != 503)) {
		fprintf(stderr, "%s %.*s: status %d\n", r->method_name,
		    (int)r->path.len, r->path.p, w->status);
		abort();
	}
	for (size_t i = 0; i < w->nheaders; i++) {
		if (!header_clean(w->headers[i].name) ||
		    !header_clean(w->headers[i].value) ||
		    w->headers[i].name[0] == '\0') {
			fprintf(stderr, "bad response header %s\n",
			    w->headers[i].name);
			abort();
		}
		if (strcasecmp(w->headers[i].name, "Location") == 0)
			location = true;
	}
	if (w->status >= 301 && w->status <= 308 && w->status != 304 &&
	    !location) {
		fprintf(stderr, "redirect %d without Location\n", w->status);
		abort();
	}
}

/*
 * Parses the expanded text into r as mhd.c's on_headers would, and
 * returns the route; NULL when the server would answer before any
 * handler (400, 404, 405, 413, 431).
 */
static const struct route *
parse(char *t, size_t n, struct req *r)
{
	char *nl = memchr(t, '\n', n), *sp, *line, *end = t + n, *target;
	const char *host = NULL;
	const struct route *rt;
	size_t hbytes = 0, nh = 0, max_body, tlen;
	unsigned allowed = 0;
	int hosts = 0;

	if (nl == NULL)
		return NULL;
	*nl = '\0';
	if (memchr(t, '\0', (size_t)(nl - t)) != NULL ||
	    (sp = strchr(t, ' ')) == NULL)
		return NULL;
	*sp = '\0';
	target = sp + 1;
	tlen = strcspn(target, "\r ");
	target[tlen] = '\0';
	r->method_name = t;
	r->method = http_method_parse(t);
	if (tlen == 0 || target[0] != '/' || strchr(target, '#') != NULL ||
	    tlen > 4096)
		return NULL;
	{
		char *q = strchr(target, '?');

		r->path.p = target;
		r->path.len = q != NULL ? (size_t)(q - target) : tlen;
		if (q != NULL) {
			r->query.p = q + 1;
			r->query.len = tlen - r->path.len - 1;
		}
	}
	/* Header lines up to an empty one. */
	for (line = nl + 1; line < end;) {
		char *e = memchr(line, '\n', (size_t)(end - line)), *colon;
		size_t len = (size_t)((e != NULL ? e : end) - line);
		char *name, *value, *v;

		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0) {
			line = e != NULL ? e + 1 : end;
			break;
		}
		if (memchr(line, '\0', len) != NULL)
			return NULL; /* MHD refuses NUL in the head */
		colon = memchr(line, ':', len);
		if (colon == NULL || colon == line)
			return NULL;
		for (char *c = line; c < colon; c++)
			if (!is_tchar(*c))
				return NULL;
		v = colon + 1;
		while (v < line + len && (*v == ' ' || *v == '\t'))
			v++;
		hbytes += len + 2;
		if (++nh > (size_t)cfg.http_max_headers ||
		    hbytes > (size_t)cfg.http_max_header)
			return NULL; /* 431 */
		name = xmalloc((size_t)(colon - line) + 1);
		memcpy(name, line, (size_t)(colon - line));
		name[colon - line] = '\0';
		value = xmalloc((size_t)(line + len - v) + 1);
		memcpy(value, v, (size_t)(line + len - v));
		value[line + len - v] = '\0';
		/* Framing is the server's: the body below is what came. */
		if (strcasecmp(name, "Content-Length") == 0 ||
		    strcasecmp(name, "Transfer-Encoding") == 0) {
			free(name);
			free(value);
		} else if (kvlist_push(&r->headers, 1024, name, strlen(name),
			       value, strlen(value)) != 0) {
			return NULL;
		}
		line = e != NULL ? e + 1 : end;
	}
	for (size_t i = 0; i < r->headers.n; i++)
		if (strcasecmp(r->headers.v[i].name, "Host") == 0)
			hosts++;
	if (hosts > 1)
		return NULL;
	(void)req_header(r, "Content-Type", &r->content_type);
	(void)req_header(r, "Host", &host);
	rt = router_match(&server_router, r->path, r->method, &allowed);
	if (rt == NULL)
		return NULL; /* 404 or 405 */
	if (!rt->any_host && !config_host_allowed(&cfg, host))
		return NULL; /* 400 Unknown Host */
	max_body = rt->max_body == ROUTE_BODY_DEFAULT
	    ? (size_t)cfg.http_max_body
	    : rt->max_body;
	if ((size_t)(end - line) > max_body)
		return NULL; /* 413, or 400 for a body where none is taken */
	r->body.max = max_body;
	if (end > line && buf_put(&r->body, line, (size_t)(end - line)) != 0)
		return NULL;
	return rt;
}

/*
 * Objects that only OpenSSL's secure heap points to (crypto_init() turns it
 * on for private keys; the random generators' state hangs off it) look
 * leaked to LeakSanitizer, which scans malloc'd memory and globals but not
 * that mmap'd arena. Once another thread (the mail queue's) leaves an
 * input's allocations unbalanced, the per-input leak check would report
 * them, so the arena is registered as a root region.
 */
static void
secure_heap_is_a_root(void)
{
	char line[512];
	void *p = CRYPTO_secure_malloc(16, __FILE__, __LINE__);
	FILE *f = fopen("/proc/self/maps", "re");
	bool found = false;

	if (p == NULL || f == NULL || CRYPTO_secure_allocated(p) == 0)
		fail("secure heap");
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
		    (uintptr_t)p >= lo && (uintptr_t)p < hi) {
			__lsan_register_root_region((void *)lo, hi - lo);
			found = true;
			break;
		}
	}
	fclose(f);
	CRYPTO_secure_free(p, __FILE__, __LINE__);
	if (!found)
		fail("secure heap mapping");
}

/* Set-up runs once, before the first input. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setup();
	secure_heap_is_a_root();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct route *rt;
	struct buf text;
	struct req r;
	struct resp w;
	int64_t now;

	if (!ready)
		abort();
	if (size < 2 || size > 65536)
		return 0;
	now = base_now + (int64_t)execs++;
	expand(data + 1, size - 1, now, &text);
	req_init(&r);
	r.limits = &lim;
	r.app = &app;
	r.now = now;
	snprintf(r.rid, sizeof(r.rid), "fuzz-%llu", (unsigned long long)execs);
	snprintf(r.ip, sizeof(r.ip), "%s", ips[data[0] & 3]);
	/* buf_cstr keeps a NUL after the text for the string parsing. */
	rt = text.len > 0
	    ? parse((char *)(uintptr_t)buf_cstr(&text), text.len, &r)
	    : NULL;
	if (rt != NULL) {
		resp_init(&w);
		w.cache = rt->cache;
		run(rt, &r, &w);
		check(&r, &w);
		/* A changed or reset password is put back, so that @PW@ keeps
		 * signing in (sessions are made again when needed). */
		if (r.method == HTTP_POST && w.status == 303 &&
		    (str_eq_cstr(r.path, "/account/password") ||
			str_eq_cstr(r.path, "/reset")) &&
		    store_password_set(app.db, user_id, user_phc, NULL, now) !=
			0)
			fail("store_password_set");
		resp_free(&w);
		req_run_after(&r);
	}
	req_free(&r);
	buf_free(&text);
	return 0;
}
