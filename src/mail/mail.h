/*
 * mail: outgoing mail (password reset, email verification, notices).
 *
 * Plain-text UTF-8 messages, delivered by one sender thread so a caller
 * never waits for delivery (SECURITY.md RS-01: a forgot-password response
 * takes the same time whether or not a mail is sent). smtp_url "" writes
 * each message as an .eml file to <data_dir>/outbox/; smtp:// or smtps://
 * delivers it through libcurl.
 *
 * Bodies carry one-time links: they are wiped after sending and never
 * logged. The log shows only the recipient's domain and the outcome.
 */
#ifndef PC_MAIL_H
#define PC_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/config.h"
#include "util/util.h"

#define MAIL_QUEUE_MAX 256
#define MAIL_ADDR_MAX 254	  /* RFC 5321 path limit */
#define MAIL_SUBJECT_MAX 200	  /* bytes of UTF-8 */
#define MAIL_TEXT_MAX (64 * 1024) /* bytes of UTF-8 */

/* A message to send: borrowed strings, copied by mail_enqueue. */
struct mail {
	const char *to;	     /* a bare address: local@domain */
	const char *subject; /* UTF-8, one line */
	const char *text;    /* UTF-8 body, \n or \r\n line ends */
};

/* A composed message that owns its strings (from the templates). */
struct mail_msg {
	char *to;
	char *subject;
	char *text;
};

/* Wipes and frees the strings (the text carries a one-time link). */
void mail_msg_clear(struct mail_msg *m);
/* A borrowed view of m for mail_enqueue / mail_send_now. */
struct mail mail_msg_view(const struct mail_msg *m);

/*
 * A simple address check: one '@', a non-empty local part of printable
 * ASCII without spaces or the specials ()<>[]\,;:"@, a domain of letters,
 * digits, '-' and '.' (no empty label), at most MAIL_ADDR_MAX bytes.
 */
bool mail_addr_ok(const char *addr);
/*
 * Checks m (header injection: no CR, LF or other control character in
 * to or subject; a valid to; a UTF-8 text body within the caps).
 * PC_ERR_INVALID or PC_ERR_TOO_LARGE.
 */
int mail_check(const struct mail *m) PC_WUR;
/*
 * The whole RFC 5322 message, CRLF line ends: Date, From, To, Subject
 * (RFC 2047 UTF-8 "B" words when not ASCII), Message-ID (@issuer host),
 * MIME-Version, Content-Type text/plain; charset=utf-8,
 * Content-Transfer-Encoding quoted-printable, Auto-Submitted:
 * auto-generated. now is the Date. *out is malloc'd; free it with
 * pc_freezero_str(*out).
 */
int mail_format(const struct config *cfg, const struct mail *m, int64_t now,
    char **out, size_t *out_len) PC_WUR;
/* The From address in force: mail_from, or no-reply@<issuer host>. */
int mail_from_addr(const struct config *cfg, char *out, size_t n) PC_WUR;

/*
 * How an smtp_url is reached: *use_ssl gets CURLUSESSL_ALL (smtps://,
 * or smtp:// to a host that is not loopback: STARTTLS required) or
 * CURLUSESSL_TRY (smtp:// to a loopback host). PC_ERR_CONFIG for another
 * scheme or no host.
 */
int mail_smtp_policy(const char *url, long *use_ssl) PC_WUR;

/*
 * Delivers m now, on the calling thread: one attempt, no retry. For the
 * sender thread and tests. PC_ERR_IO when delivery failed.
 */
int mail_send_now(const struct config *cfg, const struct mail *m) PC_WUR;

struct mailer;

/*
 * Starts the sender thread. cfg must outlive the mailer. A mail that
 * fails is retried once after a back-off, then dropped with a warning.
 */
int mail_start(const struct config *cfg, struct mailer **out) PC_WUR;
/*
 * Checks m (mail_check), copies it and returns at once. PC_ERR_BUSY when
 * MAIL_QUEUE_MAX mails wait; PC_ERR_INVALID for a refused message.
 */
int mail_enqueue(struct mailer *mr, const struct mail *m) PC_WUR;
/*
 * Sends what is queued, for at most cfg->shutdown_timeout seconds (10 s
 * when unset), then drops the rest (wiped, with a warning), joins the
 * thread and frees mr. NULL is fine.
 */
void mail_stop(struct mailer *mr);

/*
 * The mail work queue (RS-01): one thread that runs jobs in order, so the
 * account-dependent work behind a request that may send mail (lookup,
 * limits, token, audit, mail_enqueue) runs after that request was
 * answered and takes no time on its path. At most MAIL_JOBS_MAX wait.
 */
#define MAIL_JOBS_MAX 1024

struct mail_jobs;

int mail_jobs_start(struct mail_jobs **out) PC_WUR;
/*
 * Queues run(arg); after it runs (or is dropped at stop) free_arg(arg) is
 * called (free_arg may be NULL), on the queue's thread. PC_ERR_BUSY when
 * full or stopping, PC_ERR_INVALID for a NULL q or run: then nothing was
 * queued and the caller still owns arg.
 */
int mail_jobs_submit(struct mail_jobs *q, void (*run)(void *arg), void *arg,
    void (*free_arg)(void *arg)) PC_WUR;
/*
 * Refuses new jobs, runs the queued ones for at most wait_s seconds (a
 * job already running finishes), releases the rest unrun with a
 * mail.jobs_dropped warning, joins the thread and frees q. Stop it after
 * the HTTP server (which submits) and before the mailer and the store
 * (which its jobs use). NULL is fine.
 */
void mail_jobs_stop(struct mail_jobs *q, int64_t wait_s);

/*
 * Templates. token is a 43-character base64url one-time token; links are
 * built from cfg->issuer only (RS-05): issuer + "/verify?token=" and
 * issuer + "/reset?token=". ttl is the link's lifetime in seconds, said
 * in the text. PC_ERR_INVALID for a malformed token or address.
 */
int mail_compose_verify(const struct config *cfg, const char *to,
    const char *token, int64_t ttl, struct mail_msg *out) PC_WUR;
int mail_compose_reset(const struct config *cfg, const char *to,
    const char *token, int64_t ttl, struct mail_msg *out) PC_WUR;
/* LG-01: registration with an address that already has an account. */
int mail_compose_already_registered(
    const struct config *cfg, const char *to, struct mail_msg *out) PC_WUR;
/* AU-06 / RS-08: the password was changed (or reset) at when. */
int mail_compose_password_changed(const struct config *cfg, const char *to,
    int64_t when, struct mail_msg *out) PC_WUR;

/*
 * API keys (issue 14): the owner's notice that keys (key_ids, their
 * public ids, never a key) were found leaked and revoked
 * (api-key revoke-leaked), and a user's notice that a personal key was
 * created on the account page (AK-07).
 */
int mail_compose_api_key_leaked(const struct config *cfg, const char *to,
    const char *owner_id, const char *const *key_ids, size_t n, int64_t when,
    struct mail_msg *out) PC_WUR;
int mail_compose_api_key_created(const struct config *cfg, const char *to,
    const char *key_id, int64_t expires_at, int64_t when,
    struct mail_msg *out) PC_WUR;

/*
 * TOTP (issue 16, MF-05, AU-06): the account's notice that an
 * authenticator app was added (added true) or removed as a second factor.
 */
int mail_compose_totp_changed(const struct config *cfg, const char *to,
    bool added, int64_t when, struct mail_msg *out) PC_WUR;
/*
 * Recovery codes (MF-07, AU-06): idx 0, a new set was generated (the old
 * one no longer works); idx 1..10, that code was used to sign in at when,
 * and left codes remain. Never a code. Both say how to make a new set
 * (NIST: a used code is replaced) and what to do if it was not the user.
 */
int mail_compose_recovery(const struct config *cfg, const char *to,
    unsigned idx, unsigned left, int64_t when, struct mail_msg *out) PC_WUR;

/*
 * Second factors (issue 16; h-mfa-signin): MF-03, the account's password
 * was right but failures consecutive second-factor codes were wrong (sent
 * at the 5th, 20th and 100th); what happens next is said in the mail.
 */
int mail_compose_mfa_failures(const struct config *cfg, const char *to,
    int64_t failures, int64_t when, struct mail_msg *out) PC_WUR;

/*
 * Issue 16 (AU-06): an operator removed the user's second factors at
 * when (`portcullis user mfa reset`); kind: "totp", "passkey",
 * "recovery", or NULL for all of them.
 */
int mail_compose_mfa_reset(const struct config *cfg, const char *to,
    const char *kind, int64_t when, struct mail_msg *out) PC_WUR;

/*
 * Passkeys (issue 16; WA-07, AU-06): a passkey was added to (added true)
 * or removed from the account at when.
 */
int mail_compose_passkey_changed(const struct config *cfg, const char *to,
    bool added, int64_t when, struct mail_msg *out) PC_WUR;

#endif
