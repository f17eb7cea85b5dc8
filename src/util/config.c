/*
 * Settings: the one table of every setting (name, kind, default, bounds,
 * whether it is a secret), and how a value arrives from the defaults, the
 * configuration file, PORTCULLIS_* environment variables or a flag, each
 * parsed and bounds-checked the same way. The checks across settings run
 * after loading, in config_check.c.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/config.h"
#include "util/config_internal.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/util.h"

enum kind {
	K_STR,
	K_INT,
	K_DUR,
	K_SIZE,
	K_BOOL,
	K_MODE
};

struct setting {
	const char *name;
	enum kind kind;
	size_t off;
	const char *def;
	int64_t min, max;
	bool secret;
};

#define S(n, k, d, mn, mx) \
	{ \
#n, k, offsetof(struct config, n), d, mn, mx, false \
	}
#define SECRET(n, d) \
	{ \
#n, K_STR, offsetof(struct config, n), d, 0, 0, true \
	}

static const struct setting settings[] = {
	S(mode, K_MODE, "production", 0, 0),
	S(data_dir, K_STR, "/var/lib/portcullis", 0, 0),
	S(issuer, K_STR, "http://127.0.0.1:8080", 0, 0),
	S(listen, K_STR, "127.0.0.1:8080", 0, 0),
	S(admin_listen, K_STR, "", 0, 0),
	S(metrics_listen, K_STR, "", 0, 0),
	S(store_url, K_STR, "", 0, 0),
	S(migrate_on_start, K_BOOL, "true", 0, 0),
	S(master_key_file, K_STR, "", 0, 0),
	S(tls_cert, K_STR, "", 0, 0),
	S(tls_key, K_STR, "", 0, 0),
	S(allowed_hosts, K_STR, "", 0, 0),
	S(log_level, K_STR, "info", 0, 0),
	S(log_requests, K_BOOL, "true", 0, 0),
	/* Issue 17 item 3: audit rows as log lines (decision 0073). */
	S(log_security_events, K_STR, "people", 0, 0),
	S(http_threads, K_INT, "0", 0, 256),
	S(http_max_body, K_SIZE, "64k", 1024, 16 * 1024 * 1024),
	S(http_max_header, K_SIZE, "8k", 1024, 16 * 1024),
	S(http_max_headers, K_INT, "64", 8, 256),
	S(http_max_params, K_INT, "64", 4, 1024),
	S(http_max_json_depth, K_INT, "16", 2, 64),
	S(http_max_connections, K_INT, "1024", 4, 65536),
	S(http_max_connections_per_ip, K_INT, "64", 1, 65536),
	S(http_header_timeout, K_DUR, "10", 1, 300),
	S(http_body_timeout, K_DUR, "30", 1, 600),
	S(http_idle_timeout, K_DUR, "30", 1, 3600),
	S(shutdown_timeout, K_DUR, "10", 0, 300),
	S(signing_key_activation_delay, K_DUR, "1h", 0, 30 * 86400),
	S(signing_key_refresh, K_DUR, "60", 1, 3600),
	/* issue 17 item 6: 0 = off; the lower bound across settings is in
	 * config_check.c */
	S(signing_key_rotate_every, K_DUR, "0", 0, 3650 * 86400),
	S(signing_key_unpublish_margin, K_DUR, "60", 1, 3600),
	S(rsa_key_bits, K_INT, "3072", 2048, 8192),
	S(access_token_ttl, K_DUR, "5m", 5, 3600),
	S(id_token_ttl, K_DUR, "5m", 5, 3600),
	S(refresh_token_idle, K_DUR, "14d", 60, 90 * 86400),
	S(refresh_token_absolute, K_DUR, "30d", 60, 90 * 86400),
	S(refresh_reuse_interval, K_DUR, "0", 0, 10),
	S(pwhash_memory, K_SIZE, "64m", 8 * 1024 * 1024,
	    INT64_C(4096) * 1024 * 1024),
	S(pwhash_iterations, K_INT, "3", 1, 10),
	S(session_idle_timeout, K_DUR, "30m", 1, 86400),
	S(session_absolute_timeout, K_DUR, "12h", 2, 30 * 86400),
	S(pwhash_concurrency, K_INT, "0", 0, 256),
	S(pwhash_memory_budget, K_SIZE, "1024m", 8 * 1024 * 1024,
	    INT64_C(1024) * 1024 * 1024 * 1024),
	S(pwhash_queue, K_INT, "1024", 1, 10000),
	S(pwhash_queue_timeout, K_DUR, "5s", 1, 60),
	S(registration, K_BOOL, "false", 0, 0),
	S(trusted_proxies, K_STR, "", 0, 0),
	S(reauth_window, K_DUR, "10m", 1, 86400),
	S(session_max_per_user, K_INT, "32", 1, 10000),
	S(presession_max_per_ip, K_INT, "256", 1, 100000),
	S(login_delay_free, K_INT, "4", 0, 99),
	S(login_delay_base, K_DUR, "30s", 1, 3600),
	S(login_delay_max, K_DUR, "1h", 1, 86400),
	S(login_lock_after, K_INT, "100", 1, 100),
	S(login_ip_failures, K_INT, "100", 1, 1000000),
	S(login_subnet_failures, K_INT, "1000", 1, 1000000),
	S(login_global_failures, K_INT, "100000", 1, 100000000),
	S(mail_per_account, K_INT, "3", 1, 1000),
	S(mail_per_account_total, K_INT, "20", 1, 100000),
	S(mail_per_ip, K_INT, "20", 1, 100000),
	S(reset_token_ttl, K_DUR, "30m", 1, 86400),
	S(verify_token_ttl, K_DUR, "24h", 1, 86400),
	SECRET(smtp_url, ""),
	S(mail_from, K_STR, "", 0, 0),
	S(client_secret_overlap, K_DUR, "24h", 0, 30 * 86400),
	S(client_auth_ip_failures, K_INT, "100", 1, 1000000),
	S(client_auth_pair_failures, K_INT, "10", 1, 10000),
	S(device_cookie_lifetime, K_DUR, "90d", 3600, 400 * 86400),
	S(device_cookie_failures, K_INT, "5", 1, 100),
	/* The second-factor step (issue 16; MF-03, MF-04). */
	S(mfa_step_timeout, K_DUR, "5m", 1, 1800),
	S(mfa_backoff_base, K_DUR, "30s", 1, 3600),
	S(mfa_backoff_max, K_DUR, "1h", 1, 86400),
	S(exchange_token_ttl, K_DUR, "300", 5, 3600),
	S(api_key_default_ttl, K_DUR, "90d", 3600, 365 * 86400),
	S(api_key_max_ttl, K_DUR, "365d", 3600, 365 * 86400),
	S(api_key_rotate_overlap, K_DUR, "24h", 0, 30 * 86400),
	S(api_key_use_interval, K_DUR, "5m", 1, 3600),
	S(api_key_ip_failures, K_INT, "100", 1, 1000000),
	/* The admin API (issue 17 item 1, src/admin/). */
	S(admin_ip_requests, K_INT, "36000", 1, 100000000),
	S(outbound_ca_file, K_STR, "", 0, 0),
	S(outbound_allow_networks, K_STR, "", 0, 0),
	S(outbound_allow_ports, K_STR, "", 0, 0),
	S(outbound_connect_timeout, K_DUR, "5s", 1, 60),
	S(outbound_timeout, K_DUR, "10s", 1, 120),
	S(outbound_max_size, K_SIZE, "256k", 1024, 4 * 1024 * 1024),
	S(jwks_cache_ttl, K_DUR, "5m", 60, 86400),
	S(jwks_refetch_interval, K_DUR, "60", 1, 3600),
	S(dpop_nonce, K_BOOL, "false", 0, 0),
	S(par_ttl, K_DUR, "60", 5, 600),
	S(par_required, K_BOOL, "false", 0, 0),
	S(par_max_per_client, K_INT, "10000", 1, 1000000),
	S(delegation_max_depth, K_INT, "3", 1, 10),
	S(client_registration, K_STR, "off", 0, 0),
	S(client_registration_per_ip, K_INT, "20", 1, 100000),
	S(client_registration_scopes, K_STR,
	    "openid profile email offline_access", 0, 0),
	S(client_registration_dpop, K_BOOL, "false", 0, 0),
	S(client_registration_unused, K_DUR, "24h", 1, 365 * 86400),
	S(client_metadata_documents, K_BOOL, "false", 0, 0),
	S(client_metadata_ttl, K_DUR, "1h", 1, 86400),
	S(client_metadata_per_ip, K_INT, "60", 1, 100000),
	S(delegation_ttl, K_DUR, "7d", 60, 90 * 86400),
	/* Issue 16: second-factor policy (oauth/authz.c, docs/mfa.md). */
	S(mfa, K_STR, "optional", 0, 0),
	S(mfa_enrol_grace, K_DUR, "7d", 0, 90 * 86400),
	/* Issue 17 item 7: audit retention (decision 0077, cli/audit_prune.c);
	 * never below the 30 days of the inventory (decision 0057). */
	S(audit_retention, K_DUR, "400d", 30 * 86400,
	    INT64_C(100) * 366 * 86400),
	SECRET(audit_prune_store_url, ""),
};
#undef S
#undef SECRET

_Static_assert(PC_NELEM(settings) <= sizeof(((struct config *)0)->sources),
    "config.sources too small");

static const char *const source_names[] = { "default", "file", "env", "flag" };

void
config_errf(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

static int
parse_int(
    const char *v, int64_t mult_ok_dur, int64_t mult_ok_size, int64_t *out)
{
	struct str s = str_from(v);
	int64_t mult = 1, n;

	if (s.len == 0)
		return PC_ERR_INVALID;
	if (mult_ok_dur) {
		switch (s.p[s.len - 1]) {
		case 's':
			mult = 1;
			s.len--;
			break;
		case 'm':
			mult = 60;
			s.len--;
			break;
		case 'h':
			mult = 3600;
			s.len--;
			break;
		case 'd':
			mult = 86400;
			s.len--;
			break;
		default: break;
		}
	} else if (mult_ok_size) {
		switch (s.p[s.len - 1]) {
		case 'k':
		case 'K':
			mult = 1024;
			s.len--;
			break;
		case 'm':
		case 'M':
			mult = 1024 * 1024;
			s.len--;
			break;
		default: break;
		}
	}
	if (str_to_int64(s, 0, INT64_MAX / (1024 * 1024), &n) != 0)
		return PC_ERR_INVALID;
	*out = n * mult;
	return 0;
}

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < PC_NELEM(settings); i++) {
		int r = config_set(c, settings[i].name, settings[i].def,
		    CONFIG_SRC_DEFAULT, NULL, 0);

		if (r != 0)
			fatal("bad default for %s", settings[i].name);
	}
}

void
config_free(struct config *c)
{
	for (size_t i = 0; i < PC_NELEM(settings); i++) {
		if (settings[i].kind == K_STR) {
			char **p = (char **)((char *)c + settings[i].off);

			free(*p);
			*p = NULL;
		}
	}
	free(c->config_file);
	free(c->issuer_scheme);
	free(c->issuer_authority);
	free(c->listen_host);
	memset(c, 0, sizeof(*c));
}

int
config_set(struct config *c, const char *name, const char *value,
    enum config_source src, char *err, size_t err_len)
{
	const struct setting *s = NULL;
	size_t idx = 0;
	int64_t n;
	void *field;

	for (idx = 0; idx < PC_NELEM(settings); idx++) {
		if (strcmp(settings[idx].name, name) == 0) {
			s = &settings[idx];
			break;
		}
	}
	if (s == NULL) {
		config_errf(err, err_len, "unknown setting '%s'", name);
		return PC_ERR_CONFIG;
	}
	if (!str_is_text(str_from(value))) {
		config_errf(
		    err, err_len, "%s: value has control characters", name);
		return PC_ERR_CONFIG;
	}
	field = (char *)c + s->off;
	switch (s->kind) {
	case K_STR:
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		break;
	case K_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0 ||
		    strcmp(value, "yes") == 0 || strcmp(value, "on") == 0)
			*(bool *)field = true;
		else if (strcmp(value, "false") == 0 ||
		    strcmp(value, "0") == 0 || strcmp(value, "no") == 0 ||
		    strcmp(value, "off") == 0)
			*(bool *)field = false;
		else {
			config_errf(err, err_len,
			    "%s: expected true or false, got '%s'", name,
			    value);
			return PC_ERR_CONFIG;
		}
		break;
	case K_MODE:
		if (strcmp(value, "production") == 0)
			*(enum config_mode *)field = CONFIG_MODE_PRODUCTION;
		else if (strcmp(value, "development") == 0)
			*(enum config_mode *)field = CONFIG_MODE_DEVELOPMENT;
		else {
			config_errf(err, err_len,
			    "%s: expected production or development, got '%s'",
			    name, value);
			return PC_ERR_CONFIG;
		}
		break;
	case K_INT:
	case K_DUR:
	case K_SIZE:
		if (parse_int(value, s->kind == K_DUR, s->kind == K_SIZE, &n) !=
		    0) {
			if (err != NULL && err_len > 0) {
				snprintf(err, err_len,
				    "%s: '%.64s' is not a valid %s", name,
				    value,
				    s->kind == K_DUR
					? "duration (e.g. 30s, 5m, 1h)"
					: s->kind == K_SIZE ? "size (e.g. 64k)"
							    : "number");
			}
			return PC_ERR_CONFIG;
		}
		if (n < s->min || n > s->max) {
			if (err != NULL && err_len > 0) {
				snprintf(err, err_len,
				    "%s: %lld is outside [%lld, %lld]", name,
				    (long long)n, (long long)s->min,
				    (long long)s->max);
			}
			return PC_ERR_CONFIG;
		}
		*(int64_t *)field = n;
		break;
	}
	c->sources[idx] = (unsigned char)src;
	return 0;
}

int
config_load_file(struct config *c, const char *path, char *err, size_t err_len)
{
	FILE *f;
	struct stat st = { 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	unsigned lineno = 0;
	int r = 0;

	if ((f = fopen(path, "re")) == NULL) {
		config_errf(err, err_len, "cannot open config file %s: %s",
		    path, strerror(errno));
		return PC_ERR_CONFIG;
	}
	/*
	 * fopen() opens a directory for reading; getline() would then fail
	 * and the file would read as empty: every setting at its default.
	 * Other non-regular files are read as they are: /dev/null (no
	 * settings) and a pipe (--config <(...)) are deliberate.
	 */
	if (fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
		config_errf(err, err_len,
		    "config file %s %s: --config (or PORTCULLIS_CONFIG) "
		    "names one file of 'name = value' lines",
		    path,
		    S_ISDIR(st.st_mode) ? "is a directory"
					: "cannot be examined");
		fclose(f);
		return PC_ERR_CONFIG;
	}
	while ((got = getline(&line, &cap, f)) > 0) {
		struct str s = { line, (size_t)got }, k, v;
		char *name = NULL, *val = NULL, sub[512];

		lineno++;
		if (memchr(line, '\0', (size_t)got) != NULL) {
			snprintf(
			    sub, sizeof(sub), "%s:%u: NUL byte", path, lineno);
			config_errf(err, err_len, "%s", sub);
			r = PC_ERR_CONFIG;
			break;
		}
		if (got > 4096) {
			snprintf(sub, sizeof(sub), "%s:%u: line too long", path,
			    lineno);
			config_errf(err, err_len, "%s", sub);
			r = PC_ERR_CONFIG;
			break;
		}
		while (s.len > 0 &&
		    (s.p[s.len - 1] == '\n' || s.p[s.len - 1] == '\r'))
			s.len--;
		s = str_trim(s);
		if (s.len == 0 || s.p[0] == '#')
			continue;
		if (str_split(s, '=', &k, &v) != 0) {
			snprintf(sub, sizeof(sub),
			    "%s:%u: expected 'name = value'", path, lineno);
			config_errf(err, err_len, "%s", sub);
			r = PC_ERR_CONFIG;
			break;
		}
		k = str_trim(k);
		v = str_trim(v);
		/* Optional double quotes around the value. */
		if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"') {
			v.p++;
			v.len -= 2;
		}
		name = str_dup(k);
		val = str_dup(v);
		r = config_set(c, name, val, CONFIG_SRC_FILE, sub, sizeof(sub));
		if (r != 0) {
			if (err != NULL && err_len > 0)
				snprintf(err, err_len, "%s:%u: %s", path,
				    lineno, sub);
		}
		free(name);
		free(val);
		if (r != 0)
			break;
	}
	free(line);
	fclose(f);
	return r;
}

/*
 * PORTCULLIS_* variables that are not settings but are read on purpose:
 * by the binary (the config file, the master key) or by the test and
 * bench harness around it (PORTCULLIS_TEST_* too). Not warned about.
 */
static const char *const env_known[] = {
	"PORTCULLIS_CONFIG",
	"PORTCULLIS_MASTER_KEY",
	"PORTCULLIS_BIN",
	"PORTCULLIS_CHROMIUM",
	"PORTCULLIS_APACHE",
	"PORTCULLIS_APACHE_MODULES",
	"PORTCULLIS_PYTHON",
};

/* Levenshtein distance of a and b (case-insensitive), capped at 255. */
static unsigned
edit_distance(const char *a, const char *b)
{
	unsigned row[65];
	size_t na = strlen(a), nb = strlen(b);

	if (na > 64 || nb > 64)
		return 255;
	for (size_t j = 0; j <= nb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= na; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= nb; j++) {
			unsigned up = row[j], best;

			best = diag +
			    (tolower((unsigned char)a[i - 1]) !=
				tolower((unsigned char)b[j - 1]));
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[nb];
}

const char *
config_closest_setting(const char *name)
{
	const char *best = NULL;
	unsigned best_d = 255, limit;

	for (size_t i = 0; i < PC_NELEM(settings); i++) {
		unsigned d = edit_distance(name, settings[i].name);

		if (d < best_d) {
			best_d = d;
			best = settings[i].name;
		}
	}
	/* A typo, not another word: at most a third of the name differs. */
	limit = (unsigned)strlen(name) / 3;
	if (limit < 2)
		limit = 2;
	return best_d <= limit ? best : NULL;
}

bool
config_env_known(const char *var)
{
	static const char prefix[] = "PORTCULLIS_";
	const char *rest;

	if (strncmp(var, prefix, sizeof(prefix) - 1) != 0)
		return true; /* not ours to judge */
	rest = var + sizeof(prefix) - 1;
	if (strncmp(rest, "TEST_", 5) == 0)
		return true;
	for (size_t i = 0; i < PC_NELEM(env_known); i++)
		if (strcmp(var, env_known[i]) == 0)
			return true;
	for (size_t i = 0; i < PC_NELEM(settings); i++) {
		const char *n = settings[i].name;
		size_t k = 0;

		while (n[k] != '\0' &&
		    rest[k] == (char)toupper((unsigned char)n[k]))
			k++;
		if (n[k] == '\0' && rest[k] == '\0')
			return true;
	}
	return false;
}

/* A PORTCULLIS_* variable that nothing reads is most likely a typo: say
 * so, with the closest setting (the name only; the value may be secret). */
static void
warn_unknown_env(void)
{
	extern char **environ;

	for (char **e = environ; e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		char var[128] = "", lower[128] = "";
		const char *near;
		size_t k;
		size_t n = eq != NULL ? (size_t)(eq - *e) : strlen(*e);
		struct log_line l;

		if (n >= sizeof(var) || strncmp(*e, "PORTCULLIS_", 11) != 0)
			continue;
		memcpy(var, *e, n);
		var[n] = '\0';
		if (config_env_known(var))
			continue;
		k = 0;
		for (const char *p = var + 11; *p != '\0'; p++)
			lower[k++] = (char)tolower((unsigned char)*p);
		lower[k] = '\0';
		near = config_closest_setting(lower);
		log_begin(&l, LOG_WARN, "config.unknown_env");
		log_str(&l, "variable", var);
		if (near != NULL) {
			char sug[128];

			snprintf(sug, sizeof(sug), "PORTCULLIS_%s", near);
			for (char *p = sug; *p != '\0'; p++)
				*p = (char)toupper((unsigned char)*p);
			log_str(&l, "did_you_mean", sug);
			log_str(&l, "msg",
			    "ignored: no such setting (see `portcullis "
			    "check-config` for the list)");
		} else {
			log_str(&l, "msg",
			    "ignored: no setting is named like it (see "
			    "`portcullis check-config` for the list)");
		}
		log_end(&l);
	}
}

int
config_load_env(struct config *c, char *err, size_t err_len)
{
	warn_unknown_env();
	for (size_t i = 0; i < PC_NELEM(settings); i++) {
		char var[96];
		const char *v;
		int r;

		snprintf(var, sizeof(var), "PORTCULLIS_%s", settings[i].name);
		for (char *p = var; *p != '\0'; p++)
			*p = (char)toupper((unsigned char)*p);
		if ((v = getenv(var)) == NULL)
			continue;
		if ((r = config_set(c, settings[i].name, v, CONFIG_SRC_ENV, err,
			 err_len)) != 0)
			return r;
	}
	return 0;
}

void
config_each(const struct config *c,
    void (*fn)(const char *, const char *, const char *, void *), void *arg)
{
	for (size_t i = 0; i < PC_NELEM(settings); i++) {
		const struct setting *s = &settings[i];
		const void *field = (const char *)c + s->off;
		char v[64];
		const char *val = v;

		switch (s->kind) {
		case K_STR:
			val = *(char *const *)field;
			if (s->secret && val != NULL && val[0] != '\0')
				val = "********";
			break;
		case K_BOOL:
			val = *(const bool *)field ? "true" : "false";
			break;
		case K_MODE:
			val = *(const enum config_mode *)field ==
				CONFIG_MODE_DEVELOPMENT
			    ? "development"
			    : "production";
			break;
		default:
			snprintf(v, sizeof(v), "%lld",
			    (long long)*(const int64_t *)field);
			break;
		}
		fn(s->name, val, source_names[c->sources[i]], arg);
	}
}
