/*
 * Recovery codes on the web (SECURITY.md MF-07, AU-06; docs/decisions/
 * 0067-recovery-codes.md): the account page /account/mfa/recovery, and
 * web_recovery_check(), which the factor step (/login/mfa) calls when a
 * recovery code is typed instead of a TOTP code.
 *
 * The page shows how many codes are left and offers a new set. Making
 * one replaces the old set, so it takes what other sensitive changes
 * take: the form's CSRF token (CF-01) and a recent sign-in (SS-09). The
 * ten codes are hashed as ten jobs on the hashing pool (never on an HTTP
 * thread), stored in one transaction, audited (mfa.recovery.generate),
 * mailed about, and shown once on the answer (no-store), never again.
 *
 * At sign-in a typed code costs one Argon2id job: against the hash of
 * its index, or the dummy hash when that index has no unspent code. A
 * right code is spent at once (single use), audited (mfa.recovery.use,
 * with its index, never the code) and mailed to the user, who is told how
 * to make a new set (NIST: a used code is to be replaced).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "mail/mail.h"
#include "util/log.h"
#include "web/recover.h"
#include "web/web.h"

#define FORM_RECOVERY "account-recovery"
#define PATH_RECOVERY "/account/mfa/recovery"

/* AU-06: idx 0 a new set, else code idx was used and left remain. */
static void
notify(struct req *r, const char *user_id, unsigned idx, unsigned left)
{
	struct app *app = r->app;
	struct user u;
	struct mail_msg m;

	memset(&m, 0, sizeof(m));
	if (user_get(app->db, user_id, &u) == 0 &&
	    mail_compose_recovery(app->cfg, u.email, idx, left, r->now, &m) ==
		0)
		recover_send_mail(app, &m);
	user_clear(&u);
}

/* ---- the page ---- */

static void
render(struct req *r, struct resp *w, const struct session *s, int status,
    const char *error)
{
	struct app *app = r->app;
	const struct kvlist *q;
	const char *done = NULL;
	unsigned left = 0;
	char token[64];
	struct buf b;

	if (recovery_left(app->db, s->user_id, &left) != 0) {
		web_unavailable(w);
		return;
	}
	if (session_csrf_token(s, FORM_RECOVERY, token) != 0) {
		page_message(w, 500, "Error", "Internal error.", NULL, NULL);
		return;
	}
	if (req_query(r, &q) == 0)
		done = kvlist_value(q, "done");
	buf_init(&b, 64 * 1024);
	page_begin(&b, "Recovery codes");
	if (error != NULL)
		page_notice(&b, "error", error);
	else if (done != NULL && strcmp(done, "reauth") == 0)
		page_notice(&b, "info",
		    "Thank you: you can now generate new codes for the next "
		    "few minutes.");
	page_puts(&b,
	    "<p>A recovery code signs you in when you cannot use your second "
	    "factor. Each code works once.</p>\n");
	if (left == 0)
		page_puts(&b,
		    "<p id=\"recovery-left\">You have no unused recovery "
		    "codes.</p>\n");
	else
		page_printf(&b,
		    "<p id=\"recovery-left\">You have %u of %u recovery codes "
		    "left.</p>\n",
		    left, RECOVERY_CODES);
	if (left > 0 && left < RECOVERY_CODES)
		page_puts(&b,
		    "<p>A code was used. Generate a new set to replace it: the "
		    "new set replaces every code you have now.</p>\n");
	page_printf(
	    &b, "<form method=\"post\" action=\"%s\">\n", PATH_RECOVERY);
	page_csrf(&b, token);
	page_puts(&b,
	    "<input type=\"hidden\" name=\"action\" value=\"generate\">\n"
	    "<p class=\"hint\">New codes are shown once. The codes you have "
	    "now stop working.</p>\n"
	    "<button type=\"submit\">Generate new codes</button>\n</form>\n"
	    "<nav><a href=\"/account\">Back to your account</a></nav>\n");
	page_end(&b);
	page_send(w, status, &b);
	sodium_memzero(token, sizeof(token));
}

/* The new codes, this once. */
static void
render_codes(struct resp *w, const struct recovery_set *set)
{
	struct buf b;

	buf_init(&b, 64 * 1024);
	page_begin(&b, "Your new recovery codes");
	page_notice(&b, "info",
	    "Write these codes down or print them now: they are shown this "
	    "once and cannot be shown again. Your earlier codes no longer "
	    "work.");
	page_puts(&b, "<ol id=\"recovery-codes\">\n");
	for (unsigned i = 0; i < RECOVERY_CODES; i++) {
		page_puts(&b, "<li><code>");
		page_text(&b, set->code[i]);
		page_puts(&b, "</code></li>\n");
	}
	page_puts(&b,
	    "</ol>\n<p>Each code works once. Type one where the sign-in asks "
	    "for your authentication code.</p>\n"
	    "<nav><a href=\"" PATH_RECOVERY "\">Done</a></nav>\n");
	page_end(&b);
	page_send(w, 200, &b);
}

/* ---- generating a set: ten jobs on the pool ---- */

struct gen;
struct gen_slot {
	struct gen *g;
	unsigned i;
};

struct gen {
	struct session s;
	struct req *r;
	struct recovery_set set;
	struct gen_slot slot[RECOVERY_CODES];
	char phc[RECOVERY_CODES][PW_PHC_MAX];
	int res[RECOVERY_CODES];
	atomic_uint pending; /* jobs not answered yet */
};

static void
gen_free(void *arg)
{
	struct gen *g = arg;

	if (g == NULL)
		return;
	session_clear(&g->s);
	recovery_set_clear(&g->set);
	pc_freezero(g, sizeof(*g));
}

static void gen_finish(struct req *r, struct resp *w, void *arg);

/* One job is answered: the last one sends the request on. */
static void
gen_answered(struct gen *g)
{
	if (atomic_fetch_sub(&g->pending, 1) == 1)
		req_resume(g->r, gen_finish);
}

/* On a pool thread. */
static void
gen_done(const struct pwjob_result *res, void *arg)
{
	struct gen_slot *sl = arg;
	struct gen *g = sl->g;

	g->res[sl->i] = res->r;
	if (res->r == 0)
		memcpy(g->phc[sl->i], res->phc, PW_PHC_MAX);
	gen_answered(g);
}

static void
gen_start(struct req *r, struct resp *w, void *arg)
{
	struct app *app = r->app;
	struct gen *g = arg;

	(void)w;
	g->r = r;
	atomic_store(&g->pending, RECOVERY_CODES);
	for (unsigned i = 0; i < RECOVERY_CODES; i++) {
		struct pwjob job = { PWJOB_HASH, g->set.secret[i],
			strlen(g->set.secret[i]), NULL };

		g->slot[i].g = g;
		g->slot[i].i = i;
		g->res[i] = PC_ERR_BUSY;
		if (pwpool_submit(app->pwpool, &job, gen_done, &g->slot[i]) !=
		    0)
			gen_answered(g); /* refused: stays PC_ERR_BUSY */
	}
}

static void
gen_finish(struct req *r, struct resp *w, void *arg)
{
	struct app *app = r->app;
	struct gen *g = arg;
	const char *p[RECOVERY_CODES];
	json_t *d;
	int rc;

	for (unsigned i = 0; i < RECOVERY_CODES; i++) {
		if (g->res[i] != 0) {
			/* Nothing was stored: the old set still works. */
			web_busy(r, w);
			return;
		}
		p[i] = g->phc[i];
	}
	if (recovery_store(app->db, g->s.user_id, p, r->now) != 0) {
		web_unavailable(w);
		return;
	}
	/*
	 * AU-01: no row, no codes shown. The stored set then serves no one
	 * (nobody saw it); the user generates again.
	 */
	d = json_pack("{s:i}", "codes", RECOVERY_CODES);
	rc = web_audit(r, &g->s, "mfa.recovery.generate", "success",
	    g->s.user_id, g->s.user_id, d);
	json_decref(d);
	if (rc != 0) {
		page_message(w, 503, "Unavailable",
		    "New codes could not be recorded. Your earlier codes no "
		    "longer work: please generate new codes again later.",
		    PATH_RECOVERY, "Back to your recovery codes");
		return;
	}
	notify(r, g->s.user_id, 0, RECOVERY_CODES);
	render_codes(w, &g->set);
}

static void
generate(struct req *r, struct resp *w, struct session *s)
{
	struct gen *g;

	/* SS-09: replacing the codes needs a recent sign-in. */
	if (!web_recent_auth(r, s)) {
		web_render_reauth(r, w, s, 403, NULL, "recovery");
		return;
	}
	g = xcalloc(1, sizeof(*g));
	g->s = *s; /* the request's session, now the job's */
	memset(s, 0, sizeof(*s));
	recovery_generate(&g->set);
	req_defer(r, gen_start, g, gen_free);
}

void
web_account_recovery(struct req *r, struct resp *w)
{
	struct session s;
	const char *action;

	if (!web_signed_in(r, w, &s))
		return;
	if (r->method != HTTP_POST) {
		render(r, w, &s, 200, NULL);
	} else if (web_check_form(r, w, &s, FORM_RECOVERY)) {
		action = web_field(r, "action");
		if (action != NULL && strcmp(action, "generate") == 0)
			generate(r, w, &s);
		else
			render(r, w, &s, 400, "Unknown action.");
	}
	session_clear(&s);
}

/* ---- a code at the factor step ---- */

struct rcheck {
	char *user_id;
	struct recovery_check c;
	int early; /* non-zero: decided before any hashing */
	struct web_hash hash;
	void (*done)(struct req *r, struct resp *w, void *arg, int result);
	void *arg;
};

static void
rcheck_free(void *arg)
{
	struct rcheck *x = arg;

	if (x == NULL)
		return;
	free(x->user_id);
	recovery_check_clear(&x->c);
	/* The pool's answer and the code's secret: wiped. */
	pc_freezero(x, sizeof(*x));
}

/* The code was right and is spent: AU-01 and AU-06. 0 once audited. */
static int
rcheck_record(struct req *r, struct rcheck *x)
{
	struct app *app = r->app;
	unsigned left = 0;
	json_t *d;
	int rc;

	if (recovery_left(app->db, x->user_id, &left) != 0)
		left = 0;
	d = json_pack("{s:i, s:i}", "index", (int)x->c.idx, "left", (int)left);
	rc = web_audit(
	    r, NULL, "mfa.recovery.use", "success", x->user_id, x->user_id, d);
	json_decref(d);
	notify(r, x->user_id, x->c.idx, left);
	return rc != 0 ? PC_ERR_STORE : 0;
}

static void
rcheck_step(struct req *r, struct resp *w, void *arg)
{
	struct app *app = r->app;
	struct rcheck *x = r->nest_arg;
	void (*done)(struct req *, struct resp *, void *, int);
	void *done_arg;
	int result;

	(void)arg;
	r->nest_arg = NULL;
	r->nest_free = NULL;
	if (x->early != 0)
		result = x->early;
	else if (x->hash.res.r == PC_ERR_BUSY)
		result = PC_ERR_BUSY; /* never checked */
	else
		result = recovery_check_finish(
		    app->db, x->user_id, &x->c, x->hash.res.r, r->now);
	if (result == 0)
		result = rcheck_record(r, x);
	done = x->done;
	done_arg = x->arg;
	rcheck_free(x);
	done(r, w, done_arg, result);
}

void
web_recovery_check(struct req *r, const char *user_id, const char *code,
    void (*done)(struct req *r, struct resp *w, void *arg, int result),
    void *arg)
{
	struct app *app = r->app;
	struct rcheck *x = xcalloc(1, sizeof(*x));
	struct pwjob job;

	x->user_id = xstrdup(user_id);
	x->done = done;
	x->arg = arg;
	r->nest_arg = x;
	r->nest_free = rcheck_free;
	x->early = recovery_check_begin(app->db, user_id, code, &x->c);
	if (x->early != 0) {
		/* Malformed (PC_ERR_VERIFY) or the store failing. */
		req_resume(r, rcheck_step);
		return;
	}
	recovery_check_job(&x->c, &job);
	web_hash_submit(&x->hash, r, &job, rcheck_step);
}
