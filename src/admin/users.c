/*
 * admin/users.c: /admin/v1/users — accounts and their second factors
 * (issue 17 item 1), what `portcullis user` and `portcullis user mfa` do.
 * A new password is judged here and hashed on the hashing pool off the
 * HTTP thread (req_defer), like the pages do. Audit events are the CLI's
 * (user.created, user.updated, ..., mfa.reset), with the acting principal
 * as the actor; mfa.reset also opens the enrolment grace (decision 0069).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "admin/admin.h"
#include "app.h"
#include "auth/auth.h"
#include "auth/user_admin.h"
#include "auth/mfa.h"
#include "mail/mail.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"

/* JSON of a time: unix seconds, or null for 0 (never). */
static json_t *
time_json(int64_t t)
{
	return t != 0 ? json_integer((json_int_t)t) : json_null();
}

static json_t *
admin_user_json(const struct user_record *u)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:I, s:I, s:o}", "id",
	    u->id, "email", u->email, "name", u->name, "email_verified",
	    u->email_verified, "has_password", u->has_password, "disabled",
	    u->disabled_at != 0, "created_at", (json_int_t)u->created_at,
	    "updated_at", (json_int_t)u->updated_at, "disabled_at",
	    time_json(u->disabled_at));
}

/* The {id} of the path, as a user id: 0, or 404 answered (also
 * sessions.c's, through admin.h). */
int
admin_user_of(struct admin_ctx *c, struct user_record *u)
{
	const char *id = admin_param(c, "id");
	int rc;

	memset(u, 0, sizeof(*u));
	if (id == NULL || strncmp(id, USER_ID_PREFIX, 4) != 0 ||
	    strlen(id) != USER_ID_LEN) {
		admin_error(c, 404, "not_found", "No such user.");
		return -1;
	}
	if ((rc = user_record_get(c->app->db, id, u)) != 0) {
		admin_error_code(c, rc, "user");
		return -1;
	}
	return 0;
}

static void
list(struct admin_ctx *c)
{
	struct user_record *v = NULL;
	const char *after;
	int64_t limit;
	size_t n = 0;
	json_t *items, *o;
	int rc;

	if (admin_page(c, NULL, &limit, &after) != 0)
		return;
	if ((rc = user_record_page(c->app->db, after, limit, &v, &n)) != 0) {
		admin_error_code(c, rc, "user");
		return;
	}
	items = json_array();
	for (size_t i = 0; items != NULL && i < n; i++)
		json_array_append_new(items, admin_user_json(&v[i]));
	o = json_pack("{s:o, s:o}", "items", items, "next",
	    (int64_t)n == limit ? json_string(v[n - 1].id) : json_null());
	user_records_free(v, n);
	admin_json(c, 200, o);
}

static void
get(struct admin_ctx *c)
{
	struct user_record u;

	if (admin_user_of(c, &u) != 0)
		return;
	admin_json(c, 200, admin_user_json(&u));
	user_record_clear(&u);
}

static const struct admin_field create_fields[] = {
	{ "email", ADMIN_T_STRING, true, USER_EMAIL_MAX },
	{ "name", ADMIN_T_STRING, false, USER_NAME_MAX },
	{ "email_verified", ADMIN_T_BOOL, false, 0 },
};

static void
create(struct admin_ctx *c)
{
	struct store_user su;
	struct user_record u;
	const char *email, *name;
	bool verified = false;
	json_t *d;
	int rc;

	if (admin_body_check(c, create_fields, PC_NELEM(create_fields)) != 0)
		return;
	email = admin_body_str(c, "email");
	name = admin_body_str(c, "name");
	(void)admin_body_bool(c, "email_verified", &verified);
	if (!user_email_valid(email) ||
	    (name != NULL && !user_name_valid(name))) {
		admin_error(c, 400, "invalid_request",
		    "email must be an address and name text without control "
		    "characters.");
		return;
	}
	rc = user_create(c->app->db, email, name, verified, &su);
	if (rc != 0) {
		admin_error_code(c, rc, "user");
		return;
	}
	d = json_pack("{s:b}", "email_verified", verified);
	rc = admin_audit(c, "user.created", su.id, d);
	json_decref(d);
	if (rc == 0)
		rc = user_record_get(c->app->db, su.id, &u);
	store_user_clear(&su);
	if (rc != 0) {
		admin_error_code(c, rc, "user");
		return;
	}
	admin_json(c, 201, admin_user_json(&u));
	user_record_clear(&u);
}

static const struct admin_field update_fields[] = {
	{ "email", ADMIN_T_STRING, false, USER_EMAIL_MAX },
	{ "name", ADMIN_T_STRING, false, USER_NAME_MAX },
	{ "email_verified", ADMIN_T_BOOL, false, 0 },
	{ "disabled", ADMIN_T_BOOL, false, 0 },
};

static void
update(struct admin_ctx *c)
{
	struct db *db = c->app->db;
	struct user_record u;
	const char *email, *name;
	bool b = false, dis = false, has_dis;
	int verified = -1, rc = 0;
	json_t *d;

	if (admin_body_check(c, update_fields, PC_NELEM(update_fields)) != 0)
		return;
	email = admin_body_str(c, "email");
	name = admin_body_str(c, "name");
	if (admin_body_bool(c, "email_verified", &b) == 0)
		verified = b ? 1 : 0;
	has_dis = admin_body_bool(c, "disabled", &dis) == 0;
	if (email == NULL && name == NULL && verified < 0 && !has_dis) {
		admin_error(c, 400, "invalid_request", "Nothing to change.");
		return;
	}
	if ((email != NULL && !user_email_valid(email)) ||
	    (name != NULL && !user_name_valid(name))) {
		admin_error(c, 400, "invalid_request",
		    "email must be an address and name text without control "
		    "characters.");
		return;
	}
	if (admin_user_of(c, &u) != 0)
		return;
	if (email != NULL || name != NULL || verified >= 0) {
		rc = user_update(db, u.id, name, email, verified, c->r->now);
		/* AU-01: what changed, never the addresses themselves. */
		d = json_pack(
		    "{s:b, s:b}", "name", name != NULL, "email", email != NULL);
		if (d != NULL && verified >= 0)
			json_object_set_new(
			    d, "email_verified", json_boolean(verified));
		if (rc == 0)
			rc = admin_audit(c, "user.updated", u.id, d);
		json_decref(d);
	}
	/* SS-08: disabling ends every session in the same transaction. */
	if (rc == 0 && has_dis && dis != (u.disabled_at != 0)) {
		rc = dis ? user_disable(db, u.id, c->r->now)
			 : user_enable(db, u.id, c->r->now);
		if (rc == 0)
			rc = admin_audit(c,
			    dis ? "user.disabled" : "user.enabled", u.id, NULL);
	}
	if (rc == 0) {
		char *id = xstrdup(u.id);

		user_record_clear(&u);
		rc = user_record_get(db, id, &u);
		free(id);
	}
	if (rc != 0)
		admin_error_code(c, rc, "user");
	else
		admin_json(c, 200, admin_user_json(&u));
	user_record_clear(&u);
}

static void
delete_user(struct admin_ctx *c)
{
	struct user_record u;
	int rc;

	if (admin_user_of(c, &u) != 0)
		return;
	rc = user_delete(c->app->db, u.id, c->r->now);
	if (rc == 0)
		rc = admin_audit(c, "user.deleted", u.id, NULL);
	if (rc != 0)
		admin_error_code(c, rc, "user");
	else
		admin_no_content(c);
	user_record_clear(&u);
}

/* ---- The password, hashed on the pool ---- */

struct pw_job {
	struct req *r;
	char user_id[USER_ID_LEN + 1];
	struct admin_actor actor;
	char *pw; /* sodium_malloc'd until submitted */
	size_t pw_len;
	struct pwjob_result res;
};

static void
pw_job_free(void *arg)
{
	struct pw_job *j = arg;

	if (j->pw != NULL)
		sodium_free(j->pw);
	admin_actor_clear(&j->actor);
	sodium_memzero(&j->res, sizeof(j->res));
	free(j);
}

static void pw_done(const struct pwjob_result *res, void *arg);

/* Back on an HTTP thread: store it, audit it, answer. */
static void
pw_store(struct req *r, struct resp *w, void *arg)
{
	struct pw_job *j = arg;
	struct app *app = r->app;
	int rc = j->res.r;

	if (rc == PC_ERR_BUSY) {
		admin_error_w(w, 503, "temporarily_unavailable",
		    "Too many passwords are being hashed; try again.");
		return;
	}
	if (rc == 0)
		rc = user_password_set_phc(
		    app->db, j->user_id, j->res.phc, r->now);
	sodium_memzero(&j->res, sizeof(j->res));
	if (rc == 0)
		rc = admin_audit_as(
		    r, &j->actor, "user.password_set", j->user_id, NULL);
	w->cache = RESP_NO_STORE;
	if (rc == PC_ERR_NOT_FOUND)
		admin_error_w(w, 404, "not_found", "No such user.");
	else if (rc != 0)
		admin_error_w(
		    w, 503, "temporarily_unavailable", "Try again later.");
	else
		w->status = 204;
}

static void
pw_done(const struct pwjob_result *res, void *arg)
{
	struct pw_job *j = arg;

	j->res = *res;
	req_resume(j->r, pw_store);
}

/* The deferred request's first step: hand the job to the pool. */
static void
pw_start(struct req *r, struct resp *w, void *arg)
{
	struct pw_job *j = arg;
	struct app *app = r->app;
	struct pwjob job = { PWJOB_HASH, j->pw, j->pw_len, NULL };
	char *pw = j->pw;
	int rc;

	(void)w;
	j->r = r;
	/* Once submitted, j belongs to the pool's callback (the request may
	 * end before this returns): nothing of j is touched after. */
	j->pw = NULL;
	rc = pwpool_submit(app->pwpool, &job, pw_done, j);
	/* The pool copied it (or refused it): ours goes now. */
	sodium_free(pw);
	if (rc != 0) {
		memset(&j->res, 0, sizeof(j->res));
		j->res.r = PC_ERR_BUSY;
		req_resume(r, pw_store);
	}
}

static const struct admin_field password_fields[] = {
	{ "password", ADMIN_T_STRING, true, PW_MAX_BYTES },
};

static void
set_password(struct admin_ctx *c)
{
	struct pw_check check = { PW_OK, NULL };
	struct user_record u;
	struct pw_job *j;
	const char *pw;
	size_t len;
	int rc;

	if (admin_body_check(c, password_fields, PC_NELEM(password_fields)) !=
	    0)
		goto wipe;
	if (admin_user_of(c, &u) != 0)
		goto wipe;
	pw = admin_body_str(c, "password");
	len = strlen(pw);
	rc = user_pw_check(
	    u.email, u.name, pw, len, user_has_mfa(c->app->db, u.id), &check);
	if (rc != 0 || check.verdict != PW_OK) {
		char d[256];

		snprintf(d, sizeof(d), "The password is refused: %s",
		    check.message != NULL ? check.message : "policy.");
		admin_error(c, 400, "invalid_request", d);
		user_record_clear(&u);
		goto wipe;
	}
	j = xcalloc(1, sizeof(*j));
	snprintf(j->user_id, sizeof(j->user_id), "%s", u.id);
	user_record_clear(&u);
	admin_actor_copy(c, &j->actor);
	j->pw = sodium_malloc(len + 1);
	if (j->pw == NULL) {
		pw_job_free(j);
		admin_error(
		    c, 503, "temporarily_unavailable", "Try again later.");
		goto wipe;
	}
	memcpy(j->pw, pw, len + 1);
	j->pw_len = len;
	req_defer(c->r, pw_start, j, pw_job_free);
wipe:
	admin_body_wipe(c, "password");
}

/* ---- Second factors (MF-05) ---- */

static json_t *
factors_json(const struct user_record *u, const struct store_mfa_detail *d)
{
	json_t *keys = json_array();

	for (size_t i = 0; keys != NULL && i < d->n_passkeys; i++) {
		const struct store_mfa_passkey *p = &d->passkeys[i];

		json_array_append_new(keys,
		    json_pack("{s:s, s:s, s:b, s:I, s:o, s:o}", "id", p->id,
			"name", p->name, "synced", p->backup_eligible,
			"created_at", (json_int_t)p->created_at, "last_used_at",
			time_json(p->last_used_at), "cloned_at",
			time_json(p->cloned_at)));
	}
	return json_pack("{s:s, s:{s:b, s:b, s:o, s:o, s:o}, s:o, s:{s:I, "
			 "s:I}, s:I, s:b}",
	    "user_id", u->id, "totp", "enabled",
	    d->totp && d->totp_activated_at != 0, "pending",
	    d->totp && d->totp_activated_at == 0, "created_at",
	    time_json(d->totp ? d->totp_created_at : 0), "activated_at",
	    time_json(d->totp_activated_at), "last_used_at",
	    time_json(d->totp_last_used_at), "passkeys", keys, "recovery_codes",
	    "left", (json_int_t)d->recovery_left, "total",
	    (json_int_t)d->recovery_total, "failures", (json_int_t)d->failures,
	    "totp_suspended", d->totp_suspended);
}

static void
factors(struct admin_ctx *c)
{
	struct store_mfa_detail d;
	struct user_record u;
	int rc;

	memset(&d, 0, sizeof(d));
	if (admin_user_of(c, &u) != 0)
		return;
	if ((rc = mfa_detail(c->app->db, u.id, &d)) != 0)
		admin_error_code(c, rc, "user");
	else
		admin_json(c, 200, factors_json(&u, &d));
	store_mfa_detail_clear(&d);
	user_record_clear(&u);
}

/* AU-06: the user learns of it by mail (queued; best effort). */
static void
notify(struct admin_ctx *c, const struct user_record *u, const char *kind)
{
	struct mail_msg m;
	struct mail v;

	if (c->app->mailer == NULL ||
	    mail_compose_mfa_reset(
		c->app->cfg, u->email, kind, c->r->now, &m) != 0) {
		log_msg(LOG_WARN, "admin.mfa_reset", "mail not written");
		return;
	}
	v = mail_msg_view(&m);
	if (mail_enqueue(c->app->mailer, &v) != 0)
		log_msg(LOG_WARN, "admin.mfa_reset", "mail not queued");
	mail_msg_clear(&m);
}

static void
reset(struct admin_ctx *c, const char *kind)
{
	struct user_record u;
	size_t removed = 0;
	json_t *d;
	int rc;

	if (admin_user_of(c, &u) != 0)
		return;
	rc = mfa_reset(c->app->db, u.id, kind, &removed);
	if (rc == 0) {
		/* AU-01; its time also starts the new enrolment grace. */
		d = json_pack("{s:s, s:I}", "factor",
		    kind != NULL ? kind : "all", "removed",
		    (json_int_t)removed);
		rc = admin_audit(c, "mfa.reset", u.id, d);
		json_decref(d);
	}
	if (rc != 0) {
		admin_error_code(c, rc, "user");
	} else {
		notify(c, &u, kind);
		admin_json(c, 200,
		    json_pack("{s:s, s:s, s:I}", "user_id", u.id, "factor",
			kind != NULL ? kind : "all", "removed",
			(json_int_t)removed));
	}
	user_record_clear(&u);
}

static void
reset_all(struct admin_ctx *c)
{
	reset(c, NULL);
}

static void
reset_kind(struct admin_ctx *c)
{
	const char *k = admin_param(c, "kind");

	if (strcmp(k, "totp") != 0 && strcmp(k, "passkey") != 0 &&
	    strcmp(k, "recovery") != 0) {
		admin_error(c, 404, "not_found",
		    "No such factor kind (totp, passkey, recovery).");
		return;
	}
	reset(c, k);
}

static const struct admin_route routes[] = {
	{ "/users", HTTP_GET, ADMIN_USERS, false, false, list },
	{ "/users", HTTP_POST, ADMIN_USERS, true, true, create },
	{ "/users/{id}", HTTP_GET, ADMIN_USERS, false, false, get },
	{ "/users/{id}", HTTP_PATCH, ADMIN_USERS, true, true, update },
	{ "/users/{id}", HTTP_DELETE, ADMIN_USERS, true, false, delete_user },
	{ "/users/{id}/password", HTTP_PUT, ADMIN_USERS, true, true,
	    set_password },
	{ "/users/{id}/factors", HTTP_GET, ADMIN_USERS, false, false, factors },
	{ "/users/{id}/factors", HTTP_DELETE, ADMIN_USERS, true, false,
	    reset_all },
	{ "/users/{id}/factors/{kind}", HTTP_DELETE, ADMIN_USERS, true, false,
	    reset_kind },
};
ADMIN_TABLE(admin_users_table, routes);
