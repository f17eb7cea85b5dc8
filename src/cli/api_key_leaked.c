/*
 * portcullis api-key revoke-leaked [FILE|-] (issue 14 item 4; AK-02):
 * the one-step answer to a leak. The text is scanned for the key format,
 * every key of ours in it is revoked (src/machine/apikey_leak.c), each
 * revocation is audited (api_key.revoke_leaked), every owner gets one
 * mail listing the key ids, and the key ids are printed. Secrets are
 * never printed, logged or audited; the text is wiped after the scan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "machine/machine.h"
#include "mail/mail.h"
#include "store/store.h"

#define LEAK_TEXT_MAX (256L * 1024 * 1024) /* bytes read at most */

/* The whole of f, at most LEAK_TEXT_MAX bytes. */
static int
slurp(FILE *f, char **out, size_t *n)
{
	size_t cap = 1 << 16, len = 0;
	char *b = xmalloc(cap);

	for (;;) {
		size_t got;

		if (len == cap) {
			if (cap >= (size_t)LEAK_TEXT_MAX) {
				pc_freezero(b, cap);
				return PC_ERR_TOO_LARGE;
			}
			b = xrealloc(b, cap * 2);
			cap *= 2;
		}
		got = fread(b + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		pc_freezero(b, cap);
		return PC_ERR_IO;
	}
	*out = b;
	*n = len;
	return 0;
}

/* The key ids of owner among the keys revoked now. */
static size_t
ids_of(const struct apikey_leak_report *rep, const char *owner,
    const char **ids, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < rep->n && k < max; i++)
		if (rep->v[i].found == APIKEY_EXPOSED_REVOKED &&
		    strcmp(rep->v[i].owner_id, owner) == 0)
			ids[k++] = rep->v[i].id;
	return k;
}

/* One mail per owner of a key revoked now, to each of its addresses. */
static void
notify(struct cli_ctx *c, const struct apikey_leak_report *rep, int64_t now)
{
	struct mailer *mr = NULL;

	if (mail_start(&c->cfg, &mr) != 0) {
		fprintf(stderr,
		    "portcullis: cannot start the mailer: owners "
		    "are not told\n");
		return;
	}
	for (size_t i = 0; i < rep->n; i++) {
		const struct apikey_leak_hit *h = &rep->v[i];
		const char **ids;
		char **to = NULL;
		size_t n_ids, n_to = 0;
		bool first = true;

		if (h->found != APIKEY_EXPOSED_REVOKED)
			continue;
		/* Only at the owner's first key: one mail per owner. */
		for (size_t j = 0; j < i; j++)
			if (rep->v[j].found == APIKEY_EXPOSED_REVOKED &&
			    strcmp(rep->v[j].owner_id, h->owner_id) == 0)
				first = false;
		if (!first)
			continue;
		if (apikey_owner_addresses(c->db, h->owner_id, &to, &n_to) !=
		    0) {
			fprintf(stderr,
			    "portcullis: cannot find whom to tell "
			    "about %s\n",
			    h->owner_id);
			continue;
		}
		if (n_to == 0)
			fprintf(stderr, "portcullis: %s has nobody to tell\n",
			    h->owner_id);
		ids = xmalloc(rep->n * sizeof(*ids));
		n_ids = ids_of(rep, h->owner_id, ids, rep->n);
		for (size_t k = 0; k < n_to; k++) {
			struct mail_msg m;
			struct mail v;

			if (mail_compose_api_key_leaked(&c->cfg, to[k],
				h->owner_id, ids, n_ids, now, &m) != 0) {
				fprintf(stderr,
				    "portcullis: cannot write the "
				    "mail to the owner of %s\n",
				    h->id);
				continue;
			}
			v = mail_msg_view(&m);
			if (mail_enqueue(mr, &v) != 0)
				fprintf(stderr,
				    "portcullis: cannot queue the "
				    "mail to the owner of %s\n",
				    h->id);
			mail_msg_clear(&m);
		}
		free(ids);
		apikey_addresses_free(to, n_to);
	}
	mail_stop(mr);
}

static void
print_report(const struct cli_ctx *c, const struct apikey_leak_report *rep)
{
	if (cli_has(c, "json")) {
		json_t *revoked = json_array(), *already = json_array(),
		       *unknown = json_array();

		for (size_t i = 0; i < rep->n; i++) {
			const struct apikey_leak_hit *h = &rep->v[i];

			if (h->found == APIKEY_EXPOSED_REVOKED)
				json_array_append_new(revoked,
				    json_pack("{s:s, s:s}", "id", h->id,
					"owner", h->owner_id));
			else if (h->found == APIKEY_EXPOSED_ALREADY)
				json_array_append_new(
				    already, json_string(h->id));
			else
				json_array_append_new(
				    unknown, json_string(h->id));
		}
		cli_json_print(
		    json_pack("{s:o, s:o, s:o, s:I}", "revoked", revoked,
			"already_revoked", already, "not_ours", unknown,
			"checksum_failed", (json_int_t)rep->checksum_failed),
		    JSON_INDENT(2));
		return;
	}
	for (size_t i = 0; i < rep->n; i++) {
		const struct apikey_leak_hit *h = &rep->v[i];

		if (h->found == APIKEY_EXPOSED_REVOKED)
			printf("revoked %s (owner %s)\n", h->id, h->owner_id);
		else if (h->found == APIKEY_EXPOSED_ALREADY)
			printf("already revoked %s\n", h->id);
		else
			printf("not ours %s (format and checksum right, secret "
			       "unknown: nothing revoked)\n",
			    h->id);
	}
	if (rep->checksum_failed > 0)
		printf("%zu look-alike%s with a wrong checksum ignored\n",
		    rep->checksum_failed, rep->checksum_failed == 1 ? "" : "s");
	if (rep->n == 0 && rep->checksum_failed == 0)
		printf("no API key found\n");
}

int
cli_api_key_revoke_leaked(struct cli_ctx *c)
{
	const char *path = cli_get(c, "file");
	struct apikey_leak_report rep;
	int64_t now = clock_now();
	char *text = NULL;
	size_t len = 0;
	FILE *f = stdin;
	int r, rc = 0;

	if (path != NULL && strcmp(path, "-") != 0 &&
	    (f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "portcullis: cannot open the file\n");
		return 1;
	}
	r = slurp(f, &text, &len);
	if (f != stdin)
		fclose(f);
	if (r != 0) {
		fprintf(stderr, "portcullis: cannot read the text: %s\n",
		    pc_strerror(r));
		return 1;
	}
	r = apikey_revoke_leaked(c->db, text, len, now, &rep);
	pc_freezero(text, len);
	if (r != 0) {
		fprintf(stderr,
		    "portcullis: the store failed: %s; what is "
		    "listed below was done, run it again\n",
		    pc_strerror(r));
		rc = 1;
	}
	for (size_t i = 0; i < rep.n; i++)
		if (rep.v[i].found == APIKEY_EXPOSED_REVOKED &&
		    cli_audit(c->db, c->mk, "api_key.revoke_leaked",
			rep.v[i].id,
			json_pack("{s:s}", "owner", rep.v[i].owner_id)) != 0)
			rc = 1;
	print_report(c, &rep);
	fflush(stdout);
	notify(c, &rep, now);
	apikey_leak_report_free(&rep);
	return rc;
}
