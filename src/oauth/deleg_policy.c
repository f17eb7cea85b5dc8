/*
 * The delegation policy of token exchange (RFC 8693; SECURITY.md TX-01,
 * TX-02, TX-03; issue 15), pure: strings and numbers in, a decision out,
 * no store, no keys, no clock but the caller's now. exchange_deleg.c
 * gathers the facts (the verified subject token, its grant, the
 * authenticated actor, the target) and mints what this allows; keeping
 * the rules here means every one of them is unit-tested on its own
 * (tests/unit/test_deleg_policy.c), and a fuzzer or a review reads them
 * in one place.
 *
 * The rules, in the order they are checked (the first refusal answers):
 *   1. The subject is a user's grant: it has a gid (a client's own or a
 *      machine principal's token is nobody's delegation).
 *   2. TX-02, who may act: the subject's may_act names the actor; or it
 *      has no may_act and no act, was issued to the actor and its grant
 *      is the actor's (the user consented to this very client). A
 *      token someone already acted with, without a may_act naming the
 *      asker, is not a grant to anyone.
 *   3. TX-01, impersonation (a token without act): only for a client
 *      that allow_impersonation, only from the user's own grant to it
 *      (so the token's client_id stays the grant's client and the chain
 *      checks of bearer.c still hold), never for a hand-off.
 *   4. A hand-off (the target is another agent): only by an agent that
 *      may_delegate, never to itself.
 *   5. The resource: the one the user granted, when the grant names one
 *      (the consent page showed it; a chain never reaches further); an
 *      agent only one its list names; a plain client one its list names
 *      when it has one, else any registered one (the caller has already
 *      required it registered: TX-04).
 *   6. TX-03, depth: the new token nests one act more than the subject;
 *      the cap is delegation_max_depth, lowered by the max_delegation_depth
 *      of the actor and of every earlier actor that is an agent (an
 *      agent's 0: it takes part in no chain at all; a plain client has
 *      no such cap of its own, client_max_depth()'s rule).
 *   7. TX-03, scope: within subject ∩ actor ∩ target; offline_access
 *      never (exchanges issue no refresh token). A request is all of it;
 *      none asked is all that is left, which must not be empty.
 *   8. TX-03, lifetime: min(ttl, the subject's remaining life, the
 *      grant's), positive: a chain never outlives its root.
 */
#include <stdio.h>
#include <string.h>

#include "oauth/proto.h"

static int
refuse(struct deleg_decision *out, const char *error, const char *why)
{
	out->error = error;
	out->why = why;
	return 0;
}

static bool
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* 1-5: who may ask for what. */
static int
check_parties(const struct deleg_subject *s, const struct deleg_actor *a,
    const struct deleg_request *q, struct deleg_decision *out)
{
	bool own_grant;

	if (s->gid == NULL)
		return refuse(out, "invalid_grant",
		    "The subject token is not a user's grant: only a token "
		    "issued for a user can be exchanged for delegation.");
	own_grant = s->may_act == NULL && s->act_depth == 0 &&
	    same(s->client_id, a->client_id) &&
	    same(s->grant_client, a->client_id);
	if (s->may_act != NULL ? !same(s->may_act, a->client_id) : !own_grant)
		return refuse(out, "invalid_grant",
		    "The subject token does not name this client as a party "
		    "that may act for the user (may_act), and it is not the "
		    "user's own grant to this client.");
	if (q->impersonate) {
		if (!a->allow_impersonation)
			return refuse(out, "unauthorized_client",
			    "This client may not impersonate users: its "
			    "tokens record that it acts (act).");
		if (!own_grant || q->kind != DELEG_TARGET_RESOURCE)
			return refuse(out, "invalid_request",
			    "Impersonation is possible only with the user's "
			    "own grant to this client, for a resource.");
	}
	if (q->kind == DELEG_TARGET_AGENT) {
		if (!a->is_agent || !a->may_delegate)
			return refuse(out, "unauthorized_client",
			    "This client may not delegate to another agent.");
		if (same(q->target, a->client_id))
			return refuse(out, "invalid_target",
			    "A client cannot hand a token off to itself.");
	} else if (s->grant_resource != NULL &&
	    !same(s->grant_resource, q->target)) {
		return refuse(out, "invalid_target",
		    "The user's grant is for another resource.");
	} else if ((a->is_agent ||
		       (a->resources != NULL && a->resources[0] != '\0')) &&
	    (a->resources == NULL || !oauth_has_word(a->resources, q->target)))
		return refuse(out, "invalid_target",
		    a->is_agent ? "This agent may not ask for that resource."
				: "This client may not ask for that resource.");
	return 0;
}

static int64_t
min_cap(int64_t cap, int64_t v)
{
	return v >= 0 && v < cap ? v : cap;
}

/* 7: allowed = subject ∩ actor ∩ target, without offline_access. */
static int
decide_scope(const struct deleg_subject *s, const struct deleg_actor *a,
    const struct deleg_request *q, struct deleg_decision *out,
    struct buf *granted)
{
	struct scope_set subj, act, tgt, want, allowed;
	const char *bad = NULL, *why = NULL;
	int rc = PC_ERR_INVALID;

	memset(&allowed, 0, sizeof(allowed));
	memset(&want, 0, sizeof(want));
	memset(&act, 0, sizeof(act));
	memset(&tgt, 0, sizeof(tgt));
	if (scope_parse(s->scope != NULL ? s->scope : "", &subj) != 0)
		goto fail;
	if (scope_parse(a->scopes != NULL ? a->scopes : "", &act) != 0 ||
	    scope_parse(
		q->target_scopes != NULL ? q->target_scopes : "", &tgt) != 0)
		goto fail;
	if (scope_parse(q->scope != NULL ? q->scope : "", &want) != 0) {
		refuse(out, "invalid_scope", "scope is malformed.");
		rc = 0;
		goto out;
	}
	for (size_t i = 0; i < subj.n; i++)
		if (strcmp(subj.v[i], "offline_access") != 0 &&
		    scope_has(&act, subj.v[i]) && scope_has(&tgt, subj.v[i]))
			allowed.v[allowed.n++] = subj.v[i];
	if (want.n > 0) {
		if ((bad = scope_first_missing(&want, &subj)) != NULL)
			why = "is not in the subject token (a delegation "
			      "never widens it)";
		else if ((bad = scope_first_missing(&want, &act)) != NULL)
			why = "is not allowed for this client";
		else if ((bad = scope_first_missing(&want, &tgt)) != NULL)
			why = q->kind == DELEG_TARGET_RESOURCE
			    ? "is not a scope of the resource"
			    : "is not allowed for the agent it is for";
		else if ((bad = scope_first_missing(&want, &allowed)) != NULL)
			why = "is never delegated (no refresh tokens)";
		if (bad != NULL) {
			scope_refused_desc(
			    bad, why, out->buf, sizeof(out->buf));
			refuse(out, "invalid_scope", out->buf);
			rc = 0;
			goto out;
		}
	} else if (allowed.n == 0) {
		refuse(out, "invalid_scope",
		    "No scope of the subject token is allowed for this client "
		    "and its target.");
		rc = 0;
		goto out;
	}
	rc = scope_format(want.n > 0 ? &want : &allowed, granted);
	if (rc != 0)
		goto fail;
	goto out;
fail:
	refuse(out, "server_error", "Scopes unusable.");
	rc = PC_ERR_INVALID;
out:
	/* allowed borrows subj's strings. */
	allowed.n = 0;
	scope_set_free(&subj);
	scope_set_free(&act);
	scope_set_free(&tgt);
	scope_set_free(&want);
	return rc;
}

int
deleg_decide(const struct deleg_subject *s, const struct deleg_actor *a,
    const struct deleg_request *q, struct deleg_decision *out,
    struct buf *granted)
{
	int64_t cap, ttl;
	size_t mark = granted->len;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_parties(s, a, q, out)) != 0 || out->error != NULL)
		return rc;
	/* 6: depth. Impersonation adds no act and keeps none. */
	out->depth = q->impersonate ? 0 : s->act_depth + 1;
	cap = q->max_depth > 0 ? q->max_depth : DELEG_DEPTH_DEFAULT;
	if (a->is_agent)
		cap = min_cap(cap, a->max_delegation_depth);
	cap = min_cap(cap, q->chain_cap);
	if (out->depth > cap) {
		snprintf(out->buf, sizeof(out->buf),
		    "The delegation chain would be %d deep; at most %lld "
		    "hops are allowed here.",
		    out->depth, (long long)cap);
		return refuse(out, "invalid_grant", out->buf);
	}
	/* 8 before 7: an expired subject is the plainer answer. */
	ttl = q->ttl;
	if (s->exp - q->now < ttl)
		ttl = s->exp - q->now;
	if (s->grant_expires_at > 0 && s->grant_expires_at - q->now < ttl)
		ttl = s->grant_expires_at - q->now;
	if (ttl <= 0)
		return refuse(out, "invalid_grant",
		    "The subject token or its grant has expired.");
	out->ttl = ttl;
	rc = decide_scope(s, a, q, out, granted);
	if (rc != 0 || out->error != NULL) {
		/* Nothing half-written is left for the caller. */
		granted->len = mark;
	}
	return rc;
}
