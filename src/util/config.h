/*
 * config: every setting, from built-in defaults, then the config file, then
 * PORTCULLIS_* environment variables, then command-line flags (each later
 * source wins). docs/configuration.md lists the same table.
 */
#ifndef PC_CONFIG_H
#define PC_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "util/util.h"

enum config_mode {
	CONFIG_MODE_PRODUCTION = 0,
	CONFIG_MODE_DEVELOPMENT
};

struct config {
	char *config_file;
	enum config_mode mode;
	char *data_dir;
	char *issuer;
	char *listen;
	/* Extra listeners (issue 17): "" is off. The admin API moves to
	 * admin_listen when it is set; /metrics is served only on
	 * metrics_listen. */
	char *admin_listen;
	char *metrics_listen;
	char *store_url;
	/* Commands migrate an older store (else refuse it: run migrate). */
	bool migrate_on_start;
	char *master_key_file;
	char *tls_cert;
	char *tls_key;
	char *allowed_hosts; /* comma-separated; empty: the issuer's */
	char *log_level;
	bool log_requests;
	/* Audit rows as "security" log lines (issue 17 item 3): "all",
	 * "people" (all but routine machine-token issues) or "off". */
	char *log_security_events;

	int64_t http_threads;	  /* 0: one per core */
	int64_t http_max_body;	  /* bytes */
	int64_t http_max_header;  /* bytes, whole header block */
	int64_t http_max_headers; /* count */
	int64_t http_max_params;  /* query or form fields */
	int64_t http_max_json_depth;
	int64_t http_max_connections;
	int64_t http_max_connections_per_ip;
	int64_t http_header_timeout; /* seconds */
	int64_t http_body_timeout;   /* seconds */
	int64_t http_idle_timeout;   /* seconds, keep-alive */
	int64_t shutdown_timeout;    /* seconds */

	int64_t signing_key_activation_delay; /* seconds */
	int64_t signing_key_refresh;	      /* seconds */
	/* Issue 17 item 6: 0 off; else the age (since it began to sign) at
	 * which a key's successor signs in its place (decision 0076). */
	int64_t signing_key_rotate_every; /* seconds */
	/* How long a retired key stays published after the last token it
	 * may have signed expired: room for verifiers' clocks. */
	int64_t signing_key_unpublish_margin; /* seconds */
	int64_t rsa_key_bits;
	int64_t access_token_ttl; /* seconds */
	int64_t id_token_ttl;	  /* seconds */
	/* Access tokens for machine principals from a token exchange (API
	 * key, workload federation; issue 14): seconds, 60..3600. */
	int64_t exchange_token_ttl;
	/* RT-04, SECURITY.md Part 2.5: a refresh token dies after idle
	 * unused, its family absolute after the authorization. */
	int64_t refresh_token_idle;	/* seconds */
	int64_t refresh_token_absolute; /* seconds */
	/* RT-02: a repeat of the previous refresh token within this gets the
	 * same successor; 0: off (the default), at most 10. */
	int64_t refresh_reuse_interval; /* seconds */

	int64_t pwhash_memory;	   /* bytes, Argon2id m */
	int64_t pwhash_iterations; /* Argon2id t */

	int64_t session_idle_timeout;	  /* seconds (SS-05) */
	int64_t session_absolute_timeout; /* seconds (SS-05) */
	int64_t pwhash_concurrency;	  /* 0: min(cores, budget / m) */
	int64_t pwhash_memory_budget;	  /* bytes for concurrent hashes */
	int64_t pwhash_queue;		  /* jobs that may wait for a slot */
	int64_t pwhash_queue_timeout;	  /* seconds a job may wait */

	bool registration;	       /* self-registration at /register */
	char *trusted_proxies;	       /* comma-separated IPs/CIDRs (LG-05) */
	int64_t reauth_window;	       /* seconds: recent auth (SS-09) */
	int64_t session_max_per_user;  /* DS-04 */
	int64_t presession_max_per_ip; /* DS-04: sign-in forms per IP */
	int64_t login_delay_free;      /* failures before any delay (LG-03) */
	int64_t login_delay_base;      /* seconds, first delay */
	int64_t login_delay_max;       /* seconds, delay cap */
	int64_t login_lock_after;      /* consecutive failures: reset needed */
	int64_t login_ip_failures;     /* per IP per hour (LG-04) */
	int64_t login_subnet_failures; /* per /24 or /64 per hour */
	int64_t login_global_failures; /* all IPs per hour */
	int64_t mail_per_account;      /* per (account, client) per hour */
	/* mails per account per hour from all clients together */
	int64_t mail_per_account_total;
	int64_t mail_per_ip;	       /* mails per IP per hour */
	int64_t reset_token_ttl;       /* seconds (RS-04) */
	int64_t verify_token_ttl;      /* seconds */
	char *smtp_url;		       /* "": write .eml files to the outbox */
	char *mail_from;	       /* "": no-reply@<issuer host> */
	int64_t client_secret_overlap; /* seconds both secrets work */

	int64_t client_auth_ip_failures;   /* per IP per hour (TK-08) */
	int64_t client_auth_pair_failures; /* per (client, IP) per hour */
	int64_t device_cookie_lifetime;	   /* seconds (LG-03 device cookie) */
	int64_t device_cookie_failures;	   /* per cookie, then no bypass */
	/* The second-factor step (issue 16). */
	int64_t mfa_step_timeout; /* s a pending step stays open (MF-04) */
	int64_t mfa_backoff_base; /* s, first delay after 5 failures (MF-03) */
	int64_t mfa_backoff_max;  /* s, delay cap */

	/* API keys (issue 14, AK-05, AK-03; src/machine/apikey.c). */
	int64_t api_key_default_ttl; /* seconds when --expires is not given */
	int64_t api_key_max_ttl;     /* seconds, at most one year */
	int64_t api_key_rotate_overlap; /* seconds the old key keeps working */
	int64_t api_key_use_interval;	/* last_used_at granularity, seconds */
	int64_t api_key_ip_failures;	/* failed key auths per IP per hour */
	int64_t admin_ip_requests;	/* admin API requests per IP per hour */
	/* Outbound https fetches (DS-05; src/machine/fetch.c): a private CA,
	 * the private networks and ports allowed besides public :443. */
	char *outbound_ca_file;		  /* "": the system's CAs */
	char *outbound_allow_networks;	  /* comma-separated CIDRs */
	char *outbound_allow_ports;	  /* comma-separated; "": 443 only */
	int64_t outbound_connect_timeout; /* seconds */
	int64_t outbound_timeout;	  /* seconds, whole fetch */
	int64_t outbound_max_size;	  /* bytes of a response body */
	int64_t jwks_cache_ttl;		  /* seconds a fetched JWKS is used */
	int64_t jwks_refetch_interval;	  /* seconds between refetches */
	/* DPoP (issue 15, RFC 9449 §8; src/oauth/dpop.c): proofs must carry
	 * a server nonce from the DPoP-Nonce header. */
	bool dpop_nonce;
	int64_t par_ttl;	    /* s a pushed request_uri lives */
	bool par_required;	    /* /authorize only with PAR */
	int64_t par_max_per_client; /* DS-04: live pushes per client */
	/* Delegation (issue 15, TX-03; src/oauth/deleg_policy.c). */
	int64_t delegation_max_depth; /* nested act objects, at most */
	/* Clients that register themselves (issue 15 item 6, CR-01..05,
	 * CR-07; src/oauth/register.c, client_metadata.c). */
	char *client_registration;	    /* off | token | open */
	int64_t client_registration_per_ip; /* registrations per hour */
	char *client_registration_scopes;   /* the most they may ask for */
	bool client_registration_dpop;	    /* they must use DPoP */
	int64_t client_registration_unused; /* seconds before an unused one
					       * goes */
	bool client_metadata_documents;	    /* https URL client ids */
	int64_t client_metadata_ttl;	    /* seconds a document is used */
	int64_t client_metadata_per_ip;	    /* document fetches per hour */
	/* Issue 15: the longest delegation a user may give an agent on the
	 * consent page (they may choose shorter); seconds, 1m..90d, and
	 * never beyond refresh_token_absolute. */
	int64_t delegation_ttl;
	/* Issue 16 (docs/mfa.md): "optional" or "required" (every sign-in
	 * needs a second factor); a user without one may still sign in with
	 * the password alone for mfa_enrol_grace seconds (0..90d) from the
	 * account's creation or the operator's last factor reset. */
	char *mfa;
	int64_t mfa_enrol_grace;
	/* Audit retention (issue 17 item 7; decision 0077): rows older are
	 * deleted by `portcullis audit prune`, seconds, 30 days at least. */
	int64_t audit_retention;
	/* The store URL `audit prune` uses (a role allowed to delete); "":
	 * store_url. */
	char *audit_prune_store_url;

	unsigned char sources[128]; /* enum config_source per setting */

	/* Derived by config_finish(). */
	char *issuer_scheme;
	char *issuer_authority; /* host[:port] as written in the issuer */
	char *listen_host;
	uint16_t listen_port;
	bool issuer_https;
	bool issuer_loopback;
};

/* Source of a value, for check-config. */
enum config_source {
	CONFIG_SRC_DEFAULT = 0,
	CONFIG_SRC_FILE,
	CONFIG_SRC_ENV,
	CONFIG_SRC_FLAG,
};

void config_defaults(struct config *c);
void config_free(struct config *c);

/* Sets a value by its setting name from the given source. */
int config_set(struct config *c, const char *name, const char *value,
    enum config_source src, char *err, size_t err_len);
/* Reads KEY = VALUE lines; '#' starts a comment. */
int
config_load_file(struct config *c, const char *path, char *err, size_t err_len);
/* Applies PORTCULLIS_<NAME> variables from the environment. */
int config_load_env(struct config *c, char *err, size_t err_len);
/* Fills derived fields and refuses unsafe or inconsistent settings. */
int config_finish(struct config *c, char *err, size_t err_len);

/* Calls fn for each setting with its printable value (secrets masked). */
void config_each(const struct config *c,
    void (*fn)(
	const char *name, const char *value, const char *source, void *arg),
    void *arg);

/*
 * The setting nearest to name (edit distance, for a typo in a
 * PORTCULLIS_* variable), or NULL when none is close.
 */
const char *config_closest_setting(const char *name);
/* Whether var is not a PORTCULLIS_* name, names a setting, or is one the
 * binary or its test harness reads (PORTCULLIS_CONFIG, _MASTER_KEY,
 * PORTCULLIS_TEST_*, ...). config_load_env warns about the others. */
bool config_env_known(const char *var);
/* An http:// issuer on a host that is not loopback (development only). */
bool config_issuer_insecure(const struct config *c);
/* Logs what the finished configuration allows but should not (the
 * development-mode http:// issuer on a non-loopback host). */
void config_log_warnings(const struct config *c);
/*
 * The longest a token we sign can be valid: the largest of
 * access_token_ttl, id_token_ttl and exchange_token_ttl (every JWT the
 * signer makes is one of these). A retired key stays published this long
 * after its successor activated, plus signing_key_unpublish_margin.
 */
int64_t config_longest_token_ttl(const struct config *c);

bool config_host_is_loopback(const char *host);
/*
 * The shape the issuer is checked for, shared with every identifier held
 * to the same rules (RFC 8707 resources, src/machine/resource.c):
 * "https://" or "http://" (*https says which), no character outside
 * printable ASCII and none of space ? # @ \ " < > (so no query, fragment
 * or userinfo); *authority is what precedes the first '/' after the
 * scheme, *path the rest ("" when none). Points into url.
 */
enum config_url_err {
	CONFIG_URL_OK = 0,
	CONFIG_URL_SCHEME, /* neither https:// nor http:// */
	CONFIG_URL_CHARS,  /* a character the rules refuse */
};
enum config_url_err config_url_split(
    const char *url, bool *https, struct str *authority, struct str *path);
/*
 * Splits "host:port" or "[v6]:port" (host: letters, digits, '.', '-',
 * or a bracketed literal; port 1..65535, absent: 0 unless need_port).
 * 0 with *host malloc'd, or PC_ERR_INVALID.
 */
int config_split_hostport(
    struct str s, char **host, uint16_t *port, bool need_port);
/* Whether a request's Host header names this server (HT-04). */
bool config_host_allowed(const struct config *c, const char *host);

#endif
