/*
 * auth: users, passwords and login. Each part of the module keeps its
 * declarations in its own marked section below.
 */
#ifndef PC_AUTH_H
#define PC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/config.h"
#include "util/util.h"

/* ---- Passwords (src/auth/password.c; SECURITY.md PW-01..06, LG-02) ---- */

#define PW_MAX_BYTES 1024   /* hard input cap, checked before anything */
#define PW_MAX_CHARS 256    /* code points after NFKC */
#define PW_MIN_CHARS 15	    /* password is the only factor (PW-03) */
#define PW_MIN_CHARS_MFA 8  /* the account has MFA (PW-03) */
#define PW_MIN_ENTROPY 30.0 /* zxcvbn-c bits (log2 of guesses), see .c */
#define PW_PHC_MAX 128	    /* crypto_pwhash_STRBYTES, NUL included */

/* Argon2id cost: libsodium's crypto_pwhash_str (Argon2id v1.3, p = 1). */
struct pw_params {
	unsigned long long opslimit; /* t */
	size_t memlimit;	     /* bytes; m = memlimit / 1024 KiB */
};

/*
 * From config: pwhash_memory (size, default 64m), pwhash_iterations
 * (default 3). Refuses values below the OWASP floor (SECURITY.md Part 2.1:
 * t = 1 needs m >= 46 MiB, t = 2 19 MiB, t = 3 12 MiB, t = 4 9 MiB,
 * t >= 5 7 MiB) with a clear err. Call it at start-up.
 */
int pw_params_from_config(const struct config *cfg, struct pw_params *out,
    char *err, size_t err_len) PC_WUR;

/* Why a new password is refused; message is a fixed, user-facing English
 * sentence (PW-06: give the reason). */
enum pw_verdict {
	PW_OK = 0,
	PW_TOO_SHORT,
	PW_TOO_LONG,
	PW_NOT_TEXT,
	PW_COMMON,
	PW_CONTEXT,
	PW_WEAK
};

struct pw_check {
	enum pw_verdict verdict;
	const char *message;
};

/*
 * The policy for a new password (registration, change, reset). In order:
 * over PW_MAX_BYTES bytes (PW_TOO_LONG, nothing else is looked at);
 * invalid UTF-8 or a control character (PW_NOT_TEXT); NFKC; fewer than
 * PW_MIN_CHARS code points (PW_MIN_CHARS_MFA with has_mfa) or more than
 * PW_MAX_CHARS (PW_TOO_SHORT, PW_TOO_LONG); on the common-password list
 * (PW_COMMON); containing a context word (PW_CONTEXT); zxcvbn-c entropy
 * below PW_MIN_ENTROPY (PW_WEAK). context is a NULL-terminated array
 * (email local part, display name, ...) or NULL; "portcullis" is always
 * a context word. Returns 0 with out filled, or a PC_ERR_* (no memory).
 */
int pw_check(const char *pw, size_t len, bool has_mfa,
    const char *const *context, struct pw_check *out) PC_WUR;

/*
 * Hash / verify the NFKC form, so "é" precomposed and decomposed match
 * (PW-05). Output PHC string "$argon2id$v=19$m=..,t=..,p=1$<salt>$<hash>".
 * Both refuse more than PW_MAX_BYTES (PC_ERR_TOO_LARGE) and invalid UTF-8
 * (PC_ERR_INVALID) before any hashing.
 */
int pw_hash(const struct pw_params *p, const char *pw, size_t len,
    char out[PW_PHC_MAX]) PC_WUR;
/* 0 match, PC_ERR_VERIFY no match, PC_ERR_INVALID bad input. */
int pw_verify(const char *phc, const char *pw, size_t len) PC_WUR;
/* True when phc is not Argon2id with exactly p (re-hash after login). */
bool pw_needs_rehash(const struct pw_params *p, const char *phc);
/* Equal-time work for unknown users (LG-02): verifies against a fixed
 * dummy hash made once with p. */
void pw_dummy_verify(const struct pw_params *p, const char *pw, size_t len);

/* ---- end Passwords ---- */

/* ---- Hashing pool (src/auth/pwpool.c; SECURITY.md DS-01, DS-02, LG-02) ---- */

/*
 * Argon2id jobs run on `slots` worker threads of their own, never on the
 * HTTP threads. Memory bound (DS-01): each worker runs one hash at a time,
 * so Argon2id memory is at most slots x pwhash_memory (slots x
 * params.memlimit), whatever the load. At most `queue` jobs wait, FIFO;
 * a full queue is refused at once with PC_ERR_BUSY (the caller answers 503
 * with Retry-After), and a job that waited queue_timeout_ms is completed
 * with PC_ERR_BUSY without being hashed.
 */
#define PWPOOL_MAX_SLOTS 256
#define PWPOOL_MAX_QUEUE 100000

enum pwjob_kind {
	PWJOB_VERIFY = 0, /* pw against phc */
	PWJOB_HASH,	  /* a new PHC string for pw */
	PWJOB_DUMMY	  /* unknown user: the same work, never a match */
};

/* What to hash. pwpool_submit copies pw (into sodium_malloc memory, wiped
 * after the hash) and phc, so the caller may wipe its own at once. */
struct pwjob {
	enum pwjob_kind kind;
	const char *pw;
	size_t pw_len;
	const char *phc; /* PWJOB_VERIFY only: the stored hash */
};

/*
 * r: PWJOB_VERIFY 0 (match, with needs_rehash from pw_needs_rehash),
 * PC_ERR_VERIFY or PC_ERR_INVALID; PWJOB_HASH 0 with phc filled, or a
 * pw_hash error; PWJOB_DUMMY always PC_ERR_VERIFY, after the full work
 * (LG-02). Any kind: PC_ERR_BUSY when the job expired in the queue or the
 * pool stopped before it ran (nothing was hashed).
 */
struct pwjob_result {
	enum pwjob_kind kind;
	int r;
	bool needs_rehash;
	char phc[PW_PHC_MAX];
};

/* Runs exactly once for each job pwpool_submit accepted, on a pool thread
 * (or on the thread calling pwpool_stop); res is wiped after it returns. */
typedef void (*pwpool_done_fn)(const struct pwjob_result *res, void *arg);

struct pwpool_opts {
	struct pw_params params;
	unsigned slots;		   /* concurrent hashes, 1..PWPOOL_MAX_SLOTS */
	unsigned queue;		   /* waiting jobs, 1..PWPOOL_MAX_QUEUE */
	uint64_t queue_timeout_ms; /* longest wait before PC_ERR_BUSY */
};

struct pwpool_stats {
	unsigned slots;
	unsigned running;   /* hashing now, <= slots */
	unsigned queued;    /* waiting now, <= queue */
	uint64_t rejected;  /* submits refused with PC_ERR_BUSY */
	uint64_t expired;   /* jobs that timed out in the queue */
	uint64_t completed; /* jobs hashed */
	uint64_t shed;	    /* queued jobs answered by pwpool_stop */
};

struct pwpool;

/* min(cores, budget / memory), at least 1, at most PWPOOL_MAX_SLOTS. */
unsigned pwpool_auto_slots(long cores, int64_t budget, int64_t memory);
/*
 * From config: pwhash_concurrency (0: pwpool_auto_slots with the online
 * cores), pwhash_memory_budget, pwhash_queue, pwhash_queue_timeout; p
 * from pw_params_from_config. PC_ERR_CONFIG with err when the budget
 * holds less than one hash or pwhash_concurrency x m exceeds it.
 */
int pwpool_opts_from_config(const struct config *cfg, const struct pw_params *p,
    struct pwpool_opts *out, char *err, size_t err_len) PC_WUR;
int pwpool_start(const struct pwpool_opts *o, struct pwpool **outp) PC_WUR;
/*
 * Queues a job. 0: done will run exactly once. PC_ERR_BUSY: the queue is
 * full or the pool is stopping (counted in rejected). PC_ERR_INVALID: a
 * password over PW_MAX_BYTES (DS-02, before any copy or hashing), a
 * missing or unterminated phc, an unknown kind. On any error done never
 * runs.
 */
int pwpool_submit(struct pwpool *pool, const struct pwjob *job,
    pwpool_done_fn done, void *arg) PC_WUR;
void pwpool_stats(struct pwpool *pool, struct pwpool_stats *out);
/*
 * Shutdown in two steps, so that the HTTP side can stop in between
 * (serve: drain, pwpool_shutdown, stop HTTP, pwpool_free; issue 11,
 * item 5). pwpool_shutdown refuses every later submit (PC_ERR_BUSY, under
 * the pool lock: atomic with respect to submits), completes every queued
 * job with PC_ERR_BUSY on the calling thread, lets running hashes finish
 * and deliver, and joins the threads: when it returns no callback runs
 * any more, and submits still work (answering PC_ERR_BUSY). pwpool_free
 * (after shutdown, or doing it) frees the pool: no submit may follow it.
 * pwpool_stop is pwpool_free.
 */
void pwpool_shutdown(struct pwpool *pool);
void pwpool_free(struct pwpool *pool);
void pwpool_stop(struct pwpool *pool);

/* ---- end Hashing pool ---- */

/* ---- Users (src/auth/user.c; SECURITY.md OI-07, SS-08) ---- */

struct db;
struct session;
struct store_user;

/*
 * A user id is the OIDC sub: USER_ID_PREFIX + 22 base64url characters of
 * 128 random bits. Opaque, immutable, never derived from the email and
 * never reused (deleted ids stay in a tombstone table).
 */
#define USER_ID_PREFIX "usr_"
#define USER_ID_RANDOM_BYTES 16
#define USER_ID_LEN 26
#define USER_EMAIL_MAX 254
#define USER_EMAIL_LOCAL_MAX 64
#define USER_EMAIL_DOMAIN_MAX 253
#define USER_NAME_MAX 256 /* bytes */

/*
 * Email syntax, deliberately simple (the address is proven by the
 * verification mail, not by a parser): at most USER_EMAIL_MAX bytes of
 * valid UTF-8, no space, control character or DEL, exactly one '@', a
 * local part of 1..64 bytes, a domain of 1..253 bytes that contains a '.'
 * and neither starts nor ends with one. Uniqueness is case-insensitive
 * through ASCII lower-casing of the whole address (store_email_key).
 */
bool user_email_valid(const char *email);
/* A display name: "" or text (no control characters) of <= 256 bytes. */
bool user_name_valid(const char *name);
void user_id_new(char out[USER_ID_LEN + 1]);
/*
 * Creates a user without a password. PC_ERR_INVALID for a bad email or
 * name, PC_ERR_CONFLICT when the email (in any case) is taken. out is the
 * stored row (store_user_clear it).
 */
int user_create(struct db *db, const char *email, const char *name,
    bool verified, struct store_user *out) PC_WUR;
/*
 * The same, with a password when pw is not NULL: it is judged by
 * pw_check (context: email local part, name, "portcullis") and hashed
 * before anything is stored, then user and credential are inserted in one
 * transaction. A refused password gives PC_ERR_INVALID with check->verdict
 * != PW_OK and check->message saying why; nothing is stored.
 */
int user_create_with_password(struct db *db, const struct pw_params *p,
    const char *email, const char *name, bool verified, const char *pw,
    size_t pw_len, struct pw_check *check, struct store_user *out) PC_WUR;
/*
 * The new-password policy (pw_check) with this user's context words: the
 * email's local part, the name, "portcullis". Registration, change and
 * reset all judge passwords through it. has_mfa: the account has a second
 * factor (user_has_mfa), so 8 characters suffice (PW-03).
 */
int user_pw_check(const char *email, const char *name, const char *pw,
    size_t pw_len, bool has_mfa, struct pw_check *check) PC_WUR;
/*
 * PW-03: whether user_id has a second factor (TOTP or a passkey,
 * mfa_has_factor). A store failure reads as false: the stricter rule.
 */
bool user_has_mfa(struct db *db, const char *user_id);
/*
 * Creates a user whose password was already judged and hashed (phc, from
 * the hashing pool); id gets the new user's id. PC_ERR_INVALID,
 * PC_ERR_CONFLICT as user_create.
 */
int user_create_with_hash(struct db *db, const char *email, const char *name,
    bool verified, const char *phc, int64_t now,
    char id[USER_ID_LEN + 1]) PC_WUR;
/* Sets or replaces the password; refusals as above. */
int
user_set_password(struct db *db, const struct pw_params *p, const char *user_id,
    const char *pw, size_t pw_len, struct pw_check *check) PC_WUR;
/* PC_ERR_NOT_FOUND for an unknown id. */
int user_disable(struct db *db, const char *user_id, int64_t now) PC_WUR;
int user_enable(struct db *db, const char *user_id, int64_t now) PC_WUR;

/* An account as an operator sees it: auth/user_admin.h. */

/*
 * A user as the pages show and judge it: the handlers' copy of the
 * account, so they never hold a store row (user_clear frees it).
 */
struct user {
	char *id;
	char *email; /* as entered */
	char *name;  /* "" when none */
	bool email_verified;
	bool disabled;
};

void user_clear(struct user *u);
/* The user with this id. PC_ERR_NOT_FOUND when there is none. */
int user_get(struct db *db, const char *user_id, struct user *out) PC_WUR;
/* The user an email names, in any letter case. PC_ERR_NOT_FOUND. */
int
user_find_by_email(struct db *db, const char *email, struct user *out) PC_WUR;
/*
 * The account key of an email (ASCII lower-cased copy, caller frees):
 * what uniqueness and the sign-in and mail throttles count by, the same
 * for known and unknown addresses (LG-01).
 */
char *user_email_key(const char *email);
/* The stored PHC string to verify a password against (caller wipes and
 * frees). PC_ERR_NOT_FOUND when the user has no password. */
int user_password_phc(struct db *db, const char *user_id, char **phc) PC_WUR;
/*
 * PW-02, after a good sign-in: new_phc replaces the hash only while it is
 * still old_phc (a password set meanwhile wins); sessions stay.
 * PC_ERR_NOT_FOUND when the hash changed or is gone.
 */
int user_password_upgrade(struct db *db, const char *user_id,
    const char *old_phc, const char *new_phc, int64_t now) PC_WUR;
/*
 * PW-08, the account page's password change by the signed-in session s:
 * in one transaction phc becomes the password and every other session of
 * the user ends (s stays); then the device cookies of every other browser
 * go (LG-03; keep_device, may be NULL, is this browser's cookie hash; a
 * failure there is logged, the change stands). Returns the change's
 * result.
 */
int user_password_change(struct db *db, const struct session *s,
    const char *phc, const char *keep_device, int64_t now) PC_WUR;
/*
 * A completed password reset (the reset link was consumed for user_id,
 * sent to the address sent_to): in one transaction phc becomes the
 * password and every session of the user ends (RS-08). Then, each logged
 * and not undone on failure: the address is marked verified when it is
 * still sent_to (the link proved the mailbox), the sign-in throttle of the
 * account is reset (which is what unlocks it, LG-04) and every device
 * cookie of the account goes (LG-03). Returns the change's result.
 */
int user_password_reset(struct db *db, const char *user_id, const char *sent_to,
    const char *phc, int64_t now) PC_WUR;

/* ---- end Users ---- */

/* ---- Sessions (src/auth/session.c; SECURITY.md SS-01..SS-10, CF-01) ---- */

/*
 * Server-side browser sessions. The cookie value is 256 CSPRNG bits in
 * base64url (43 characters); the store keeps only its SHA-256 (SS-03).
 * Every function takes the request's single now (SS-10). Defaults below
 * are overridden by session_idle_timeout / session_absolute_timeout.
 */
#define SESSION_IDLE (30 * 60)		/* s, SECURITY.md Part 2.4 */
#define SESSION_ABSOLUTE (12 * 60 * 60) /* s, SECURITY.md Part 2.4 */
#define SESSION_TOUCH_INTERVAL 60	/* s between last_seen_at writes */
#define SESSION_ID_BYTES 32
#define SESSION_COOKIE_LEN 43 /* base64url of SESSION_ID_BYTES */
#define SESSION_CSRF_LEN 43   /* base64url of an HMAC-SHA-256 */
#define SESSION_FORM_ID_MAX 256
#define SESSION_IP_MAX 64	   /* bytes kept of the client IP */
#define SESSION_USER_AGENT_MAX 256 /* bytes kept of the User-Agent */
#define SESSION_AMR_MAX 64
#define SESSION_COOKIE_HEADER_MAX 160
#define SESSION_MFA_STEP (5 * 60) /* s, a pending factor step (MF-04) */

struct session {
	char id_hash[PC_SHA256_HEX_LEN + 1]; /* hex SHA-256 of the id */
	char *user_id;			     /* NULL: pre-session (LG-07) */
	int64_t created_at;
	int64_t last_seen_at;
	int64_t auth_time;  /* 0 for a pre-session */
	int64_t expires_at; /* absolute end; valid while now < expires_at */
	char *ip;
	char *user_agent;
	char *amr;
	/*
	 * MF-04: a pending second-factor step. user_id is then NULL (no page
	 * that needs a signed-in user accepts it); mfa_user_id names the user
	 * whose password was right, mfa_amr what was proved so far ("pwd"),
	 * and the step is open while now < mfa_expires_at. NULL/0 otherwise.
	 */
	char *mfa_user_id;
	char *mfa_amr;
	int64_t mfa_expires_at;
	uint8_t csrf_key[32]; /* derived from the id; never stored */
};

/* Frees the members and wipes the CSRF key. */
void session_clear(struct session *s);
/* The timeouts in force: cfg's settings, or the defaults when cfg is NULL. */
int64_t session_idle_timeout(const struct config *cfg);
int64_t session_absolute_timeout(const struct config *cfg);
/*
 * Creates a session (user_id NULL: a pre-session) valid until
 * now + absolute timeout. ip and ua (may be NULL) are capped and
 * control characters replaced; amr NULL means "". cookie gets the 43
 * characters to send, NUL-terminated; out (may be NULL) the record.
 */
int session_create(struct db *db, const struct config *cfg, const char *user_id,
    const char *ip, const char *ua, const char *amr, int64_t now,
    char cookie[64], struct session *out) PC_WUR;
/*
 * The session named by a cookie value. The shape (exactly 43 base64url
 * characters, canonical) is checked before any store access. Unknown ids
 * are PC_ERR_NOT_FOUND and never adopted (SS-02). A session idle for
 * now - last_seen_at >= idle, or with now >= expires_at (or created
 * longer than the absolute timeout ago) is deleted and PC_ERR_NOT_FOUND
 * (SS-05, SS-10). A hit refreshes last_seen_at at most once per
 * SESSION_TOUCH_INTERVAL.
 */
int session_lookup(struct db *db, const char *cookie, int64_t now,
    const struct config *cfg, struct session *out) PC_WUR;
/*
 * Login, MFA completion, reauthentication, any privilege change (SS-01):
 * in one transaction deletes the session old_cookie names (NULL, unknown
 * or malformed: nothing to delete) and creates a new one for user_id with
 * auth_time = now. new_cookie / out as for session_create.
 */
int
session_rotate(struct db *db, const struct config *cfg, const char *old_cookie,
    const char *user_id, const char *ip, const char *ua, const char *amr,
    int64_t now, char new_cookie[64], struct session *out) PC_WUR;
/* Logout (SS-06): deletes the record. PC_ERR_NOT_FOUND when unknown. */
/*
 * MF-04: after a correct password for a user with a second factor,
 * replaces the browser's session old_cookie names (its pre-session) with
 * a pending second-factor step under a new id (SS-01): user_id NULL (no
 * page that needs a signed-in user accepts it), mfa_user_id = user_id,
 * mfa_amr = amr (what was proved so far, "pwd"), open until now +
 * mfa_step_timeout (session_lookup then treats it as gone). Completing
 * the step is web_signin_done() (a new id again). new_cookie / out as
 * for session_create.
 */
int session_begin_mfa(struct db *db, const struct config *cfg,
    const char *old_cookie, const char *user_id, const char *ip, const char *ua,
    const char *amr, int64_t now, char new_cookie[64],
    struct session *out) PC_WUR;
int session_revoke(struct db *db, const char *cookie) PC_WUR;
/*
 * SS-07: deletes all of user_id's sessions, except the one except_cookie
 * names when it is not NULL ("sign out everywhere else").
 */
int session_revoke_user(
    struct db *db, const char *user_id, const char *except_cookie) PC_WUR;
/* DS-04: deletes every session past its idle or absolute limit. */
int session_purge(struct db *db, const struct config *cfg, int64_t now,
    int64_t *deleted) PC_WUR;
/*
 * CF-01 / CF-03: a synchronizer token for one form (or one pending
 * authorization request) in this session: base64url(HMAC-SHA-256 keyed by
 * the session's CSRF key over "portcullis-csrf-v1\0" form_id), 43
 * characters. PC_ERR_INVALID for an empty or over-long form_id.
 */
int session_csrf_token(
    const struct session *s, const char *form_id, char out[64]) PC_WUR;
/* 0 when token is this session's token for form_id; PC_ERR_VERIFY else. */
int session_csrf_check(
    const struct session *s, const char *form_id, const char *token) PC_WUR;
/* "__Host-sid" for an https issuer, "sid" for a loopback http one. */
const char *session_cookie_name(const struct config *cfg);
/*
 * The Set-Cookie value for a session cookie (SS-04): https issuer:
 * "__Host-sid=V; Path=/; Max-Age=N; Secure; HttpOnly; SameSite=Lax";
 * loopback http issuer: "sid=V; Path=/; Max-Age=N; HttpOnly;
 * SameSite=Lax". Never a Domain. Max-Age is a hint only (omitted when
 * max_age < 0); the server enforces the timeouts. value must be a
 * well-formed cookie value. Returns 0, PC_ERR_INVALID or PC_ERR_TOO_LARGE.
 */
int session_cookie_header(const struct config *cfg, const char *value,
    int64_t max_age, char *out, size_t n) PC_WUR;
/* The deletion variant: empty value, Max-Age=0, same attributes. */
int session_cookie_clear_header(
    const struct config *cfg, char *out, size_t n) PC_WUR;

/*
 * The sid: a session's public name, written once here. It is the first
 * SESSION_SID_LEN hex digits of the session's id hash (SHA-256 of the 32
 * id bytes), so it names the session without opening it. It is the ID
 * Token's "sid" claim (front- and back-channel logout), the session a
 * refresh-token family was issued from (RT-05) and the audit log's
 * session handle (AU-02). out is "" when s is NULL or has no id. (The
 * store matches families to sessions by the same rule in SQL:
 * substr(id_hash, 1, 16).)
 */
#define SESSION_SID_LEN 16
void session_sid(const struct session *s, char out[SESSION_SID_LEN + 1]);
/* Whether sid (may be NULL) is s's sid. */
bool session_has_sid(const struct session *s, const char *sid);

/* One of a user's sessions as the account page lists it. */
struct session_info {
	char id_hash[PC_SHA256_HEX_LEN + 1]; /* names it in "sign out" */
	int64_t auth_time;
	int64_t last_seen_at;
	char *ip;	  /* NULL: none */
	char *user_agent; /* NULL: none */
};

/* user_id's sessions, most recently seen first (free with
 * session_infos_free). */
int session_list_user(struct db *db, const char *user_id,
    struct session_info **out, size_t *n) PC_WUR;
void session_infos_free(struct session_info *v, size_t n);
/*
 * SS-07, RT-05: the signed-in session s ends the other sessions of its
 * user (only the one whose id hash is only_hash, when not NULL; never s
 * itself) and, in the same transaction, the refresh-token families issued
 * from them. *ended and *families (may be NULL) get the counts.
 * PC_ERR_NOT_FOUND when only_hash named no other session of the user.
 */
int session_end_others(struct db *db, const struct session *s,
    const char *only_hash, int64_t now, int64_t *ended,
    int64_t *families) PC_WUR;
/* RT-05, sign-out: revokes the refresh-token families issued from s. */
int session_revoke_tokens(
    struct db *db, const struct session *s, int64_t now) PC_WUR;
/*
 * RT-05, a sign-in over the signed-in session old that replaced it with
 * s: the live token families issued from old follow s when it is the same
 * user (signing out still ends them); another user's are revoked.
 */
int session_carry_tokens(struct db *db, const struct session *old,
    const struct session *s, int64_t now) PC_WUR;

/* ---- end Sessions ---- */

/* ---- One-time user tokens (src/auth/usertoken.c; SECURITY.md RS-02..04,
 * RS-10) ---- */

/*
 * Password-reset and email-verification links carry a token: 32 CSPRNG
 * bytes as 43 base64url characters. The store keeps only the hex SHA-256
 * of the 32 bytes (RS-02). A token is live while now < expires_at
 * (RS-04), is used at most once (RS-03) and is bound to the user, the
 * purpose and the exact email address it was sent to (RS-10).
 */
enum usertoken_purpose {
	USERTOKEN_RESET = 1,
	USERTOKEN_VERIFY
};

#define USERTOKEN_BYTES 32
#define USERTOKEN_LEN 43	/* base64url of USERTOKEN_BYTES */
#define USERTOKEN_TTL_MAX 86400 /* emailed codes: at most 24 h (RS-04) */

/*
 * The lifetime of a new token: cfg's reset_token_ttl / verify_token_ttl
 * (30 min / 24 h when cfg is NULL or the value is not positive), never
 * more than USERTOKEN_TTL_MAX.
 */
int64_t usertoken_ttl(const struct config *cfg, enum usertoken_purpose p);
/*
 * Issues a new token for user_id, sent to email, valid until now + ttl.
 * In the same transaction deletes every older token of the same purpose
 * for the user (a newer token invalidates older ones, RS-03). token gets
 * the 43 characters, NUL-terminated; it is "" on failure.
 * PC_ERR_INVALID for an empty user_id or email, PC_ERR_CONFLICT for an
 * unknown user.
 */
int usertoken_issue(struct db *db, const struct config *cfg,
    const char *user_id, enum usertoken_purpose p, const char *email,
    int64_t now, char token[64]) PC_WUR;
/*
 * Whether token is live for purpose p (a GET renders a form; no side
 * effect). The shape (exactly 43 base64url characters, canonical) is
 * checked before any store access. On success *user_id and *email
 * (either may be NULL) get malloc'd copies. Unknown, malformed, of
 * another purpose or expired: PC_ERR_NOT_FOUND.
 */
int usertoken_peek(struct db *db, const char *token, enum usertoken_purpose p,
    int64_t now, char **user_id, char **email) PC_WUR;
/*
 * Atomic single use: deletes and returns the token in one transaction.
 * Expired (now >= expires_at), unknown, malformed or of another purpose:
 * PC_ERR_NOT_FOUND. Consuming a reset token also deletes all the user's
 * other reset tokens. *user_id and *email as for usertoken_peek. A
 * verify token verifies only the *email it returns (RS-10): compare it
 * with the account's current address before marking it verified.
 */
int usertoken_consume(struct db *db, const char *token,
    enum usertoken_purpose p, int64_t now, char **user_id, char **email) PC_WUR;
/* RS-03: deletes user_id's outstanding tokens of purpose p. */
int usertoken_revoke_user(
    struct db *db, const char *user_id, enum usertoken_purpose p) PC_WUR;
/* Deletes every expired token. *deleted may be NULL. */
int usertoken_purge(struct db *db, int64_t now, int64_t *deleted) PC_WUR;
/*
 * RS-10, /verify: consumes a verification token and marks the address
 * verified, only while the account's address is still the one the link
 * was sent to. *user_id (malloc'd; NULL on failure) names the account.
 * PC_ERR_NOT_FOUND for a token that is unknown, used, expired or for an
 * address the account no longer has; else 0 or a store error.
 */
int usertoken_verify_email(
    struct db *db, const char *token, int64_t now, char **user_id) PC_WUR;

/* ---- end One-time user tokens ---- */

/* ---- Throttling (src/auth/throttle.c; LG-03, LG-04, RS-07) ---- */

/*
 * Counters live in the store, so the limits hold across nodes. Windows
 * are fixed hours: [floor(now / 3600) * 3600, +3600).
 */
#define THROTTLE_WINDOW 3600
/* DS-04: an unlocked account row is purged after this long without a
 * failure (or login_delay_max, if longer). */
#define THROTTLE_ACCOUNT_IDLE 86400

struct throttle_verdict {
	bool allowed;
	int64_t retry_after; /* seconds, >= 1 when !allowed, else 0 */
	bool locked;	     /* account needs a reset (or a success) */
};

/*
 * The delay that n consecutive failures impose on the next attempt:
 * 0 for n <= login_delay_free, else min(login_delay_base *
 * 2^(n - free - 1), login_delay_max), without overflow for any n.
 */
int64_t throttle_delay(const struct config *cfg, int64_t failures);
/* One sign-in attempt, from throttle_login_begin to throttle_login_end. */
struct throttle_attempt {
	struct throttle_verdict v;
	bool counted; /* allowed and counted: settle it with _end */
	bool device;  /* counted on the device cookie too (no delay) */
	int64_t window_start;
	char account[PC_SHA256_HEX_LEN + 1]; /* hex SHA-256 of the key */
	char ip[46];			     /* canonical (NETADDR_TEXT_MAX) */
	char subnet[50];		     /* NETADDR_KEY_MAX */
	char device_hash[PC_SHA256_HEX_LEN + 1]; /* "": no device cookie */
	char user_id[40];
};

/*
 * Before any hashing (DS-02), and counting: one store transaction checks
 * the limits and, when allowed, counts the attempt as a failure of the
 * account (or of the device cookie), its IP, subnet and everyone, so N
 * concurrent attempts count as N. account_key: the lower-cased email, the
 * same key for known and unknown accounts, so responses never differ
 * (LG-01). ip: the derived client IP (netaddr_client_ip). device_hash
 * and user_id (both or neither; may be NULL): the presented device
 * cookie's hash and the account's user id; a live cookie of that user
 * below device_cookie_failures skips the account's delay (not the lock).
 * Refused (out->v) when the account is locked (locked = true,
 * retry_after = login_delay_max), within its delay, or when the IP, its
 * subnet or all clients reached their failure limit in this hour
 * (retry_after = to the window's end); retry_after is the longest that
 * applies, and nothing is counted. On an error out->v says "not
 * allowed". PC_ERR_INVALID for a NULL key or a bad ip.
 */
int throttle_login_begin(struct db *db, const struct config *cfg,
    const char *account_key, const char *ip, const char *device_hash,
    const char *user_id, int64_t now, struct throttle_attempt *out) PC_WUR;
/*
 * Settles a counted attempt that was not a failure: success (the
 * password was right) resets the account (and the device cookie's
 * failures); !success (it was never checked, e.g. the pool was busy)
 * takes its counts back. A failure needs no call: it is counted already.
 */
int throttle_login_end(
    struct db *db, struct throttle_attempt *t, bool success) PC_WUR;
/*
 * Resets the account counter (not the IP counters): a completed password
 * reset calls it, and that is what unlocks an account.
 */
int throttle_login_success(struct db *db, const char *account_key) PC_WUR;
/*
 * TK-08: client authentication. Counted per IP and per (client_id, IP),
 * never per client_id alone, so a stranger who knows a public client_id
 * cannot hold the application elsewhere. Only failures are counted: a
 * good grant reads, and writes only to clear a pair that had failures.
 */
struct throttle_client {
	struct throttle_verdict v;
	int64_t window_start;
	int64_t pair_failures; /* in this window, as the check saw them */
	char ip[46];	       /* canonical (NETADDR_TEXT_MAX) */
	char pair[PC_SHA256_HEX_LEN + 1]; /* hex SHA-256: client and IP */
};

/*
 * Before the secret is looked at: refused (retry_after to the window's
 * end) when ip reached client_auth_ip_failures or the pair reached
 * client_auth_pair_failures in this hour. Counts nothing. On an error
 * out->v says "not allowed".
 */
int throttle_client_check(struct db *db, const struct config *cfg,
    const char *client_id, const char *ip, int64_t now,
    struct throttle_client *out) PC_WUR;
/*
 * The same, given failure_window (struct store_versions, read by the
 * caller for this request; NULL: unknown): when it is below the current
 * window no failure can be counted there, and the check reads nothing.
 */
int throttle_client_check_at(struct db *db, const struct config *cfg,
    const char *client_id, const char *ip, int64_t now,
    const int64_t *failure_window, struct throttle_client *out) PC_WUR;
/* A failed client authentication after throttle_client_check. */
int
throttle_client_failure(struct db *db, const struct throttle_client *t) PC_WUR;
/* A success: clears the pair's failures, if the check saw any. */
int
throttle_client_success(struct db *db, const struct throttle_client *t) PC_WUR;
/*
 * AK-03: API keys that authenticate themselves (the token exchange).
 * Counted per IP only and failures only: never per key (a stranger could
 * then stop a key's owner), and keys presented to a resource server that
 * introspects them are not counted against that server's IP (strangers'
 * bad keys would lock the resource out). Like TK-08: check before the
 * key is looked at (reads), count a failure after (one write); a success
 * writes nothing.
 */
struct throttle_apikey {
	struct throttle_verdict v;
	int64_t window_start;
	char ip[46]; /* canonical (NETADDR_TEXT_MAX) */
};

/* Refused (retry_after to the window's end) when ip reached
 * api_key_ip_failures in this hour. Counts nothing. */
int throttle_apikey_check(struct db *db, const struct config *cfg,
    const char *ip, int64_t now, struct throttle_apikey *out) PC_WUR;
/* A failed key authentication after throttle_apikey_check. */
int
throttle_apikey_failure(struct db *db, const struct throttle_apikey *t) PC_WUR;
/*
 * RS-01, RS-07: counts one request that may send mail (forgot, resend,
 * register) against its client's mail_per_ip for this hour, for every
 * request, known address or not, before any account-dependent work. The
 * client is the IPv4 address, or the IPv6 /64 (one host's usual share).
 * At the limit: *allowed = false and nothing is counted.
 */
int throttle_mail_ip(struct db *db, const struct config *cfg, const char *ip,
    int64_t now, bool *allowed) PC_WUR;
/*
 * RS-07: counts one mail to account_key (the lower-cased email) asked for
 * from ip: against mail_per_account for the pair (account, client), so a
 * stranger spends only his own share of the account's mail, and against
 * mail_per_account_total for the account over every client, which bounds
 * mail bombing from many addresses. Both in one transaction, each only
 * below its limit; over either, *allowed = false and nothing is counted.
 */
int throttle_mail_account(struct db *db, const struct config *cfg,
    const char *account_key, const char *ip, int64_t now, bool *allowed) PC_WUR;
/*
 * CR-07 and the like: counts one request from ip's client (IPv4 address or
 * IPv6 /64) under scope for this hour if that count is below limit
 * (*allowed = true); at the limit *allowed = false and nothing is counted.
 * Check and count are one statement. scope names the limit ("register",
 * "client_metadata"), so limits never share counts.
 */
int throttle_ip_count(struct db *db, const char *scope, const char *ip,
    int64_t limit, int64_t now, bool *allowed) PC_WUR;
/*
 * DS-04: drops windows older than 2 h, unlocked account rows without a
 * failure for max(login_delay_max, THROTTLE_ACCOUNT_IDLE) and expired
 * device cookies. Locked rows stay until throttle_login_success.
 */
int throttle_purge(struct db *db, const struct config *cfg, int64_t now,
    int64_t *deleted) PC_WUR;

/*
 * Device cookies (src/auth/device.c; LG-03): a browser that signed in to
 * an account before skips that account's delay, never its lock or the IP
 * limits. The store holds only the hex SHA-256 of the 32 random bytes.
 */
#define DEVICE_COOKIE_BYTES 32
#define DEVICE_COOKIE_LEN 43 /* base64url of DEVICE_COOKIE_BYTES */
#define DEVICE_COOKIE_HEADER_MAX 160
#define DEVICE_COOKIES_PER_USER 32 /* the oldest beyond go */

/* "__Host-did" when the issuer is https, else "did" (loopback http). */
const char *device_cookie_name(const struct config *cfg);
/* The record key of a cookie value; PC_ERR_INVALID unless canonical. */
int
device_cookie_hash(const char *value, char out[PC_SHA256_HEX_LEN + 1]) PC_WUR;
/*
 * A new device cookie for user_id, live for device_cookie_lifetime;
 * old_hash (may be NULL): the cookie this browser held before, which
 * goes. The user keeps at most DEVICE_COOKIES_PER_USER.
 */
int device_cookie_issue(struct db *db, const struct config *cfg,
    const char *user_id, const char *old_hash, int64_t now,
    char value[DEVICE_COOKIE_LEN + 1]) PC_WUR;
/* Its Set-Cookie value; PC_ERR_INVALID for a malformed value. */
int device_cookie_header(
    const struct config *cfg, const char *value, char *out, size_t n) PC_WUR;
/*
 * Revokes every device cookie of user_id except keep_hash (may be NULL):
 * a password reset, a password change, signing out other sessions.
 * *n (may be NULL) gets how many went.
 */
int device_cookies_revoke(struct db *db, const char *user_id,
    const char *keep_hash, int64_t *n) PC_WUR;

/* ---- end Throttling ---- */

#endif
