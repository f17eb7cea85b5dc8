/*
 * What the account-recovery pages share (src/web/recover.c), for
 * register.c (register, verify, resend) and reset.c (forgot, reset).
 * Private to src/web/.
 */
#ifndef PC_WEB_RECOVER_H
#define PC_WEB_RECOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "web/web.h"

struct mail_msg;

/* Queues a composed mail; failures are logged, never shown (RS-01). */
void recover_send_mail(struct app *app, struct mail_msg *m);
/* A "ratelimit" alert row for what (mail_ip, mail). */
void recover_ratelimit_audit(struct req *r, const char *what);
/*
 * RS-01, RS-07: counts this request against its client's mail limit, the
 * same for every address. 0 with *ok; a store failure is an error (the
 * caller answers 503: fail closed, no work queued).
 */
int recover_mail_ip_count(struct req *r, bool *ok) PC_WUR;
/* RS-07: one more mail to this address from this client, or not. */
int recover_mail_account_count(struct db *db, const struct config *cfg,
    const char *email, const char *ip, int64_t now, bool *ok) PC_WUR;
/*
 * RS-01: after the answer is sent, on the mail work queue: a reset link
 * (p USERTOKEN_RESET) or a new verification link (USERTOKEN_VERIFY) for
 * email, when it names an eligible account within the mail limits.
 */
void recover_mail_later(struct req *r, const struct session *s,
    enum usertoken_purpose p, const char *email);
/* The "check your inbox" page: identical for every outcome. */
void recover_check_inbox(struct resp *w, const char *what);
/* A form shown to anyone: its pre-session token, or the 503 page. */
bool recover_form_token(struct req *r, struct resp *w, const char *form_id,
    struct session *s, char token[64]);
/* The POST side: the form's own pre-session and token (CF-01, LG-07). */
bool recover_form_post(
    struct req *r, struct resp *w, const char *form_id, struct session *s);
/* The one-time token from a form field or the query, shape-checked. */
const char *recover_token_param(struct req *r, bool from_form);
/* 400: the link was used, replaced or expired. */
void
recover_invalid_link(struct resp *w, const char *again, const char *again_text);
/* A link the store did not accept: invalid, or the store failed (503). */
void recover_link_refused(
    struct resp *w, int rc, const char *again, const char *again_text);

#endif
