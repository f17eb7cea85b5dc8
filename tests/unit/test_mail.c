/*
 * Unit tests for src/mail: the outbox file (0600 in a 0700 directory,
 * atomic, well-formed headers and quoted-printable body), header
 * injection refused, RFC 2047 subjects, links built from the issuer only
 * (RS-05), nothing secret in the log, the sender thread, the SMTP TLS
 * policy, and delivery over SMTP to Debian's aiosmtpd (skipped with a
 * message when python3-aiosmtpd is not installed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <sodium.h>

#include "mail/mail.h"
#include "util/config.h"
#include "util/log.h"

#define T0 INT64_C(1800000000)
#define TOKEN "q7mGx2V0b3Rlc3QtdG9rZW4tMDEyMzQ1Njc4OWFiY2R"
#define PYTHON "/usr/bin/python3"

struct fixture {
	char dir[64];
	char outbox[96];
	char issuer[64];
	char authority[64];
	char empty[1];
	char smtp[64];
	struct config cfg;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pc-test-mail-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->outbox, sizeof(f->outbox), "%s/outbox", f->dir);
	snprintf(f->issuer, sizeof(f->issuer), "https://id.example.com");
	snprintf(f->authority, sizeof(f->authority), "id.example.com");
	f->cfg.data_dir = f->dir;
	f->cfg.issuer = f->issuer;
	f->cfg.issuer_authority = f->authority;
	f->cfg.smtp_url = f->empty;
	f->cfg.mail_from = f->empty;
	f->cfg.shutdown_timeout = 5;
	f->cfg.reset_token_ttl = 1800;
	*state = f;
	return 0;
}

/* Removes a directory tree of plain files, two levels deep at most. */
static void
rm_tree(const char *path, int depth)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[512];

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
			if (unlink(p) != 0 && depth > 0)
				rm_tree(p, depth - 1);
		}
		closedir(d);
	}
	(void)rmdir(path);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	rm_tree(f->dir, 3);
	free(f);
	return 0;
}

/* The names of the regular files in dir (at most 16), sorted. */
static size_t
list_dir(const char *dir, char names[16][256])
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < 16) {
		if (e->d_name[0] == '.' &&
		    (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0))
			continue;
		snprintf(names[n++], 256, "%s", e->d_name);
	}
	closedir(d);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0;
		     j--) {
			char t[256];

			memcpy(t, names[j], sizeof(t));
			memcpy(names[j], names[j - 1], sizeof(t));
			memcpy(names[j - 1], t, sizeof(t));
		}
	return n;
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *s;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
	s[n] = '\0';
	fclose(fp);
	return s;
}

/* The one outbox message, read; asserts there is exactly one file. */
static char *
only_outbox_message(struct fixture *f)
{
	char names[16][256], path[512];
	struct stat st;
	size_t n = list_dir(f->outbox, names);

	assert_int_equal(n, 1);
	assert_int_equal(
	    strlen(names[0]), strlen("20270115T080000Z-") + 16 + 4);
	assert_non_null(strstr(names[0], ".eml"));
	assert_int_equal(names[0][8], 'T');
	assert_int_equal(names[0][15], 'Z');
	snprintf(path, sizeof(path), "%s/%s", f->outbox, names[0]);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(lstat(f->outbox, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	return slurp(path);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Checks the message's shape (CRLF only, header lines <= 78, body lines
 * <= 76) and returns the decoded quoted-printable body with "\n" lines.
 */
static char *
check_and_decode(const char *msg, char **headers)
{
	const char *sep = strstr(msg, "\r\n\r\n"), *p, *line;
	size_t hlen;
	char *out, *o;

	assert_non_null(sep);
	/* Every LF is part of a CRLF, and no CR stands alone. */
	for (p = msg; *p != '\0'; p++) {
		if (*p == '\n')
			assert_true(p > msg && p[-1] == '\r');
		if (*p == '\r')
			assert_int_equal(p[1], '\n');
	}
	hlen = (size_t)(sep - msg) + 2;
	*headers = strndup(msg, hlen);
	for (line = msg; line < sep + 2;) {
		const char *e = strstr(line, "\r\n");

		assert_true((size_t)(e - line) <= 78);
		line = e + 2;
	}
	out = o = calloc(1, strlen(sep) + 1);
	assert_non_null(out);
	for (line = sep + 4; *line != '\0';) {
		const char *e = strstr(line, "\r\n");

		assert_non_null(e);
		assert_true((size_t)(e - line) <= 76);
		for (p = line; p < e; p++) {
			/* Literal characters are printable ASCII. */
			assert_true(
			    (*p >= 33 && *p <= 126) || *p == ' ' || *p == '\t');
			if (*p != '=') {
				*o++ = *p;
				continue;
			}
			if (p + 1 == e)
				break; /* soft line break */
			assert_true(p + 2 < e);
			assert_true(hexval(p[1]) >= 0 && hexval(p[2]) >= 0);
			*o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
		}
		if (!(e > line && e[-1] == '=' &&
			(e - line < 3 || e[-3] != '=')))
			*o++ = '\n';
		/* A trailing space or tab would be lost in transit. */
		if (e > line)
			assert_true(e[-1] != ' ' && e[-1] != '\t');
		line = e + 2;
	}
	*o = '\0';
	return out;
}

static const char *
header(const char *headers, const char *name, char *out, size_t n)
{
	char key[64];
	const char *p, *e;

	snprintf(key, sizeof(key), "\r\n%s: ", name);
	if (strncmp(headers, key + 2, strlen(key) - 2) == 0)
		p = headers + strlen(key) - 2;
	else if ((p = strstr(headers, key)) != NULL)
		p += strlen(key);
	else
		return NULL;
	e = strstr(p, "\r\n");
	snprintf(out, n, "%.*s", (int)(e - p), p);
	return out;
}

/* Redirects stderr (the log) to a file; restore with log_capture_end. */
static int
log_capture_begin(const char *path)
{
	int saved = dup(2), fd;

	assert_true(saved >= 0);
	fflush(stderr);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
	return saved;
}

static char *
log_capture_end(int saved, const char *path)
{
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	return slurp(path);
}

static void
test_mail_outbox_file_0600_and_headers(void **state)
{
	struct fixture *f = *state;
	const char *text = "Hello Bob,\n\nyour link: https://id.example.com/"
			   "reset?token=" TOKEN "\n\nBye.\n";
	struct mail m = { "bob@example.org", "Reset your password", text };
	char *msg, *hdrs, *body, v[256] = "", logpath[128], *log;
	int saved;

	snprintf(logpath, sizeof(logpath), "%s/log", f->dir);
	saved = log_capture_begin(logpath);
	assert_int_equal(mail_send_now(&f->cfg, &m), 0);
	log = log_capture_end(saved, logpath);
	(void)unlink(logpath);

	msg = only_outbox_message(f);
	body = check_and_decode(msg, &hdrs);
	assert_string_equal(body, text);
	assert_non_null(header(hdrs, "Date", v, sizeof(v)));
	assert_true(strlen(v) == 31 && strstr(v, " +0000") != NULL);
	assert_string_equal(
	    header(hdrs, "From", v, sizeof(v)), "no-reply@id.example.com");
	assert_string_equal(
	    header(hdrs, "To", v, sizeof(v)), "bob@example.org");
	assert_string_equal(
	    header(hdrs, "Subject", v, sizeof(v)), "Reset your password");
	assert_non_null(header(hdrs, "Message-ID", v, sizeof(v)));
	assert_int_equal(v[0], '<');
	assert_non_null(strstr(v, "@id.example.com>"));
	assert_string_equal(header(hdrs, "MIME-Version", v, sizeof(v)), "1.0");
	assert_string_equal(header(hdrs, "Content-Type", v, sizeof(v)),
	    "text/plain; charset=utf-8");
	assert_string_equal(
	    header(hdrs, "Content-Transfer-Encoding", v, sizeof(v)),
	    "quoted-printable");
	assert_string_equal(
	    header(hdrs, "Auto-Submitted", v, sizeof(v)), "auto-generated");

	/* The log names the domain and the outcome; never the token. */
	assert_non_null(strstr(log, "\"mail.sent\""));
	assert_non_null(strstr(log, "example.org"));
	assert_null(strstr(log, TOKEN));
	assert_null(strstr(log, "bob@"));
	assert_null(strstr(log, "reset?token"));
	free(log);
	free(msg);
	free(hdrs);
	free(body);
}

static void
test_mail_outbox_refuses_open_directory(void **state)
{
	struct fixture *f = *state;
	struct mail m = { "bob@example.org", "Hi", "text\n" };
	char names[16][256];

	assert_int_equal(mkdir(f->outbox, 0755), 0);
	assert_int_equal(chmod(f->outbox, 0755), 0);
	assert_int_equal(mail_send_now(&f->cfg, &m), PC_ERR_PERM);
	assert_int_equal(list_dir(f->outbox, names), 0);
	assert_int_equal(chmod(f->outbox, 0700), 0);
	assert_int_equal(mail_send_now(&f->cfg, &m), 0);
	assert_int_equal(list_dir(f->outbox, names), 1);
}

static void
test_mail_header_injection_refused(void **state)
{
	struct fixture *f = *state;
	static const char *const bad_to[] = {
		"bob@example.org\r\nBcc: eve@evil.example",
		"bob@example.org\nBcc: eve@evil.example", "bob@example.org\r",
		"bob@exa\tmple.org", "", "bob", "@example.org", "bob@",
		"bob@@example.org", "bob@example..org", "bob@.example.org",
		"bob@example.org.", "bob smith@example.org",
		"<bob@example.org>", "bob@example.org, eve@evil.example",
		"Bob <bob@example.org>", "bob@exämple.org", "bö@example.org",
		"bob@[127.0.0.1]"
	};
	static const char *const bad_subject[] = {
		"Hi\r\nBcc: eve@evil.example", "Hi\nX: y", "Hi\rX: y",
		"Hi\tthere", "Hi\x7f", "", "\xff\xfe bad utf-8"
	};
	struct mailer *mr = NULL;
	char names[16][256];

	assert_int_equal(mail_start(&f->cfg, &mr), 0);
	for (size_t i = 0; i < PC_NELEM(bad_to); i++) {
		struct mail m = { bad_to[i], "Hi", "text\n" };

		assert_int_equal(mail_check(&m), PC_ERR_INVALID);
		assert_int_equal(mail_send_now(&f->cfg, &m), PC_ERR_INVALID);
		assert_int_equal(mail_enqueue(mr, &m), PC_ERR_INVALID);
	}
	for (size_t i = 0; i < PC_NELEM(bad_subject); i++) {
		struct mail m = { "bob@example.org", bad_subject[i], "t\n" };

		assert_int_equal(mail_check(&m), PC_ERR_INVALID);
		assert_int_equal(mail_send_now(&f->cfg, &m), PC_ERR_INVALID);
		assert_int_equal(mail_enqueue(mr, &m), PC_ERR_INVALID);
	}
	{
		/* Bodies: no control characters but \t \r \n, valid UTF-8. */
		struct mail m = { "bob@example.org", "Hi", "a\x1b[31mred\n" };

		assert_int_equal(mail_check(&m), PC_ERR_INVALID);
		m.text = "\xc3\x28";
		assert_int_equal(mail_check(&m), PC_ERR_INVALID);
		m.text = "tab\tok\r\nline\n";
		assert_int_equal(mail_check(&m), 0);
	}
	{
		/* A mail_from that is not a bare address is a config error. */
		char from[] = "x@example.org\r\nBcc: eve@evil.example";
		struct mail m = { "bob@example.org", "Hi", "t\n" };

		f->cfg.mail_from = from;
		assert_int_equal(mail_send_now(&f->cfg, &m), PC_ERR_CONFIG);
		f->cfg.mail_from = f->empty;
	}
	mail_stop(mr);
	assert_int_equal(list_dir(f->outbox, names), 0);
	assert_true(mail_addr_ok("bob.smith+tag@mail.example.org"));
	assert_true(mail_addr_ok("a@localhost"));
}

/* Decodes the RFC 2047 "B" words of a Subject value. */
static void
decode_words(const char *v, char *out, size_t n)
{
	size_t o = 0;

	while ((v = strstr(v, "=?UTF-8?B?")) != NULL) {
		const char *s = v + 10, *e = strstr(s, "?=");
		size_t bin_len;

		assert_non_null(e);
		assert_true((size_t)(e + 2 - v) <= 75);
		assert_int_equal(
		    sodium_base642bin((unsigned char *)out + o, n - o - 1, s,
			(size_t)(e - s), NULL, &bin_len, NULL,
			sodium_base64_VARIANT_ORIGINAL),
		    0);
		/* Each word holds whole characters. */
		assert_true(((unsigned char)out[o] & 0xc0) != 0x80);
		o += bin_len;
		v = e + 2;
	}
	out[o] = '\0';
}

static void
test_mail_subject_rfc2047(void **state)
{
	struct fixture *f = *state;
	const char *subject =
	    "Passwort zurücksetzen — Bestätigung für Jürgen Groß "
	    "(ÄÖÜ äöü ß € 日本語のテキスト) ✓✓✓✓✓✓✓✓✓✓";
	struct mail m = { "bob@example.org", subject, "x\n" };
	char *msg, *hdrs, *body, dec[512];
	const char *p;

	assert_int_equal(mail_send_now(&f->cfg, &m), 0);
	msg = only_outbox_message(f);
	body = check_and_decode(msg, &hdrs);
	p = strstr(hdrs, "\r\nSubject: =?UTF-8?B?");
	assert_non_null(p);
	/* The header is folded: continuation lines start with a space. */
	assert_non_null(strstr(p + 2, "?=\r\n =?UTF-8?B?"));
	{
		const char *end = strstr(p + 2, "\r\n");

		while (end[2] == ' ')
			end = strstr(end + 2, "\r\n");
		{
			char *val = strndup(p + 11, (size_t)(end - p - 11));

			decode_words(val, dec, sizeof(dec));
			free(val);
		}
	}
	assert_string_equal(dec, subject);
	/* No raw 8-bit byte anywhere in the message. */
	for (p = msg; *p != '\0'; p++)
		assert_true((unsigned char)*p < 0x80);
	free(msg);
	free(hdrs);
	free(body);
}

static void
test_mail_quoted_printable_body(void **state)
{
	struct fixture *f = *state;
	char text[1024], *msg, *hdrs, *body;

	snprintf(text, sizeof(text),
	    "a=b trailing space \n"
	    ".leading dot\n"
	    "tab at end\t\n"
	    "\n"
	    "%s\n"
	    "ünïcödé ✓ and a long line of =========== equals "
	    "==================================================\n"
	    "crlf line\r\n"
	    "no newline at end ",
	    /* 75 characters, then a dot that starts the next line. */
	    "0123456789012345678901234567890123456789012345678901234567890"
	    "12345678901234.after a soft break");
	{
		struct mail m = { "bob@example.org", "QP", text };

		assert_int_equal(mail_send_now(&f->cfg, &m), 0);
	}
	msg = only_outbox_message(f);
	body = check_and_decode(msg, &hdrs);
	/* CRLF in the input becomes one line end like LF. */
	{
		char want[1024];
		char *w = want;

		for (const char *p = text; *p != '\0'; p++)
			if (!(*p == '\r' && p[1] == '\n'))
				*w++ = *p;
		/* The encoder ends the last line. */
		*w++ = '\n';
		*w = '\0';
		assert_string_equal(body, want);
	}
	/* No line of the body starts with a dot (SMTP transparency). */
	assert_null(strstr(strstr(msg, "\r\n\r\n"), "\r\n."));
	free(msg);
	free(hdrs);
	free(body);
}

static void
test_mail_RS05_link_host_is_issuer(void **state)
{
	struct fixture *f = *state;
	struct mail_msg mm;
	struct mail m;
	const char *p;

	assert_int_equal(
	    mail_compose_reset(&f->cfg, "bob@example.org", TOKEN, 1800, &mm),
	    0);
	assert_string_equal(mm.to, "bob@example.org");
	assert_string_equal(mm.subject, "Reset your password");
	assert_non_null(strstr(
	    mm.text, "\nhttps://id.example.com/reset?token=" TOKEN "\n"));
	assert_non_null(strstr(mm.text, "within 30 minutes"));
	/* Every URL in the text is the issuer's. */
	for (p = mm.text; (p = strstr(p, "://")) != NULL; p += 3)
		assert_int_equal(
		    strncmp(p - 5, "https://id.example.com/", 23), 0);
	m = mail_msg_view(&mm);
	assert_int_equal(mail_check(&m), 0);
	mail_msg_clear(&mm);
	assert_null(mm.text);

	assert_int_equal(
	    mail_compose_verify(&f->cfg, "bob@example.org", TOKEN, 86400, &mm),
	    0);
	assert_non_null(strstr(
	    mm.text, "\nhttps://id.example.com/verify?token=" TOKEN "\n"));
	assert_non_null(strstr(mm.text, "within 24 hours"));
	assert_non_null(strstr(mm.text, "bob@example.org"));
	mail_msg_clear(&mm);

	assert_int_equal(
	    mail_compose_already_registered(&f->cfg, "bob@example.org", &mm),
	    0);
	assert_null(strstr(mm.text, "token"));
	assert_non_null(strstr(mm.text, "https://id.example.com"));
	mail_msg_clear(&mm);

	assert_int_equal(
	    mail_compose_password_changed(&f->cfg, "bob@example.org", T0, &mm),
	    0);
	assert_non_null(strstr(mm.text, "2027-01-15 08:00 UTC"));
	mail_msg_clear(&mm);

	/* Only a well-formed token goes into a link. */
	assert_int_equal(mail_compose_reset(&f->cfg, "bob@example.org",
			     "x\nhttps://evil.example/", 1800, &mm),
	    PC_ERR_INVALID);
	assert_null(mm.text);
	assert_int_equal(mail_compose_reset(&f->cfg, "bob@example.org",
			     TOKEN "&next=https://evil", 1800, &mm),
	    PC_ERR_INVALID);
	assert_int_equal(mail_compose_verify(&f->cfg, "bob@example.org\r\nX: y",
			     TOKEN, 1800, &mm),
	    PC_ERR_INVALID);
}

static void
test_mail_from_setting(void **state)
{
	struct fixture *f = *state;
	char from[] = "accounts@example.com", v[128];
	char loop[] = "127.0.0.1:8080";

	assert_int_equal(mail_from_addr(&f->cfg, v, sizeof(v)), 0);
	assert_string_equal(v, "no-reply@id.example.com");
	f->cfg.mail_from = from;
	assert_int_equal(mail_from_addr(&f->cfg, v, sizeof(v)), 0);
	assert_string_equal(v, "accounts@example.com");
	f->cfg.mail_from = f->empty;
	f->cfg.issuer_authority = loop;
	assert_int_equal(mail_from_addr(&f->cfg, v, sizeof(v)), 0);
	assert_string_equal(v, "no-reply@127.0.0.1");
	f->cfg.issuer_authority = f->authority;
}

static void
test_mail_queue_sends_then_stops(void **state)
{
	struct fixture *f = *state;
	struct mailer *mr = NULL;
	char names[16][256];
	struct mail m = { "bob@example.org", "Queued", "one\n" };

	assert_int_equal(mail_start(&f->cfg, &mr), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(mail_enqueue(mr, &m), 0);
	mail_stop(mr);
	assert_int_equal(list_dir(f->outbox, names), 5);
	mail_stop(NULL);
}

/*
 * A server that accepts and never speaks: the sender thread hangs on the
 * first mail, the queue fills (PC_ERR_BUSY, RS-01: the caller never
 * waits), and mail_stop() still returns within shutdown_timeout, dropping
 * what is left.
 */
static void
test_mail_queue_full_busy_and_bounded_stop(void **state)
{
	struct fixture *f = *state;
	struct mail m = { "bob@example.org", "Stuck", "never sent\n" };
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	struct mailer *mr = NULL;
	char logpath[128], *log;
	uint64_t t0, t1;
	int ls, saved, busy = 0;

	ls = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ls, 16), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &len), 0);
	snprintf(
	    f->smtp, sizeof(f->smtp), "smtp://127.0.0.1:%d", ntohs(a.sin_port));
	f->cfg.smtp_url = f->smtp;
	f->cfg.shutdown_timeout = 1;

	snprintf(logpath, sizeof(logpath), "%s/log", f->dir);
	saved = log_capture_begin(logpath);
	assert_int_equal(mail_start(&f->cfg, &mr), 0);
	t0 = clock_mono_ms();
	for (int i = 0; i < MAIL_QUEUE_MAX + 8; i++)
		if (mail_enqueue(mr, &m) == PC_ERR_BUSY)
			busy++;
	t1 = clock_mono_ms();
	/* At most one mail left the queue for the stuck server. */
	assert_in_range(busy, 7, 8);
	assert_true(t1 - t0 < 1000);
	mail_stop(mr);
	assert_true(clock_mono_ms() - t1 < 5000);
	log = log_capture_end(saved, logpath);
	(void)unlink(logpath);
	close(ls);
	assert_non_null(strstr(log, "\"mail.dropped\""));
	free(log);
}

/* ---- The mail work queue (RS-01) ---- */

struct jobs_probe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ran;      /* jobs run, in order */
	int freed;    /* arguments released */
	int order_ok; /* each job saw the number it expected */
	bool hold;    /* the first job waits while set */
	bool holding; /* the first job is waiting */
};

struct jobs_arg {
	struct jobs_probe *p;
	int n;
};

static void
jobs_run(void *arg)
{
	struct jobs_arg *a = arg;
	struct jobs_probe *p = a->p;

	(void)pthread_mutex_lock(&p->mu);
	p->holding = true;
	(void)pthread_cond_broadcast(&p->cv);
	while (p->hold)
		(void)pthread_cond_wait(&p->cv, &p->mu);
	if (p->ran == a->n)
		p->order_ok++;
	p->ran++;
	(void)pthread_mutex_unlock(&p->mu);
}

static void
jobs_free(void *arg)
{
	struct jobs_arg *a = arg;

	(void)pthread_mutex_lock(&a->p->mu);
	a->p->freed++;
	(void)pthread_mutex_unlock(&a->p->mu);
	free(a);
}

static struct jobs_arg *
jobs_arg(struct jobs_probe *p, int n)
{
	struct jobs_arg *a = xcalloc(1, sizeof(*a));

	a->p = p;
	a->n = n;
	return a;
}

static void
test_mail_jobs_run_in_order_and_release(void **state)
{
	struct jobs_probe p = { PTHREAD_MUTEX_INITIALIZER,
		PTHREAD_COND_INITIALIZER, 0, 0, 0, false, false };
	struct mail_jobs *q = NULL;

	(void)state;
	assert_int_equal(mail_jobs_start(&q), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(
		    mail_jobs_submit(q, jobs_run, jobs_arg(&p, i), jobs_free),
		    0);
	/* Stop runs what is queued (within its wait), then frees q. */
	mail_jobs_stop(q, 10);
	assert_int_equal(p.ran, 50);
	assert_int_equal(p.order_ok, 50);
	assert_int_equal(p.freed, 50);
	assert_int_equal(
	    mail_jobs_submit(NULL, jobs_run, NULL, NULL), PC_ERR_INVALID);
	mail_jobs_stop(NULL, 0);
}

/*
 * A job that does not finish: the queue fills (PC_ERR_BUSY at once, the
 * caller keeps its argument), stop lets the running job finish, and releases the queued ones unrun once its wait is over: no
 * leak (ASan), nothing run twice.
 */
static void
test_mail_jobs_full_busy_and_bounded_stop(void **state)
{
	struct fixture *f = *state;
	struct jobs_probe p = { PTHREAD_MUTEX_INITIALIZER,
		PTHREAD_COND_INITIALIZER, 0, 0, 0, true, false };
	struct mail_jobs *q = NULL;
	char logpath[128], *log;
	int busy = 0, saved;
	uint64_t t0;

	snprintf(logpath, sizeof(logpath), "%s/log", f->dir);
	saved = log_capture_begin(logpath);
	assert_int_equal(mail_jobs_start(&q), 0);
	assert_int_equal(
	    mail_jobs_submit(q, jobs_run, jobs_arg(&p, 0), jobs_free), 0);
	(void)pthread_mutex_lock(&p.mu);
	while (!p.holding)
		(void)pthread_cond_wait(&p.cv, &p.mu);
	(void)pthread_mutex_unlock(&p.mu);
	t0 = clock_mono_ms();
	for (int i = 1; i <= MAIL_JOBS_MAX + 5; i++) {
		struct jobs_arg *a = jobs_arg(&p, i);

		if (mail_jobs_submit(q, jobs_run, a, jobs_free) ==
		    PC_ERR_BUSY) {
			busy++;
			free(a);
		}
	}
	assert_int_equal(busy, 5);
	assert_true(clock_mono_ms() - t0 < 1000);
	/* Let the stuck job go once stop has begun and its wait is over. */
	(void)pthread_mutex_lock(&p.mu);
	p.hold = false;
	(void)pthread_cond_broadcast(&p.cv);
	(void)pthread_mutex_unlock(&p.mu);
	mail_jobs_stop(q, 0);
	log = log_capture_end(saved, logpath);
	(void)unlink(logpath);
	/* Every argument released exactly once; each job ran at most once. */
	assert_int_equal(p.freed, MAIL_JOBS_MAX + 1);
	assert_true(p.ran >= 1 && p.ran <= MAIL_JOBS_MAX + 1);
	assert_int_equal(p.order_ok, p.ran);
	if (p.ran < MAIL_JOBS_MAX + 1)
		assert_non_null(strstr(log, "\"mail.jobs_dropped\""));
	free(log);
}

static void
test_mail_smtp_tls_policy(void **state)
{
	long v = -1;

	(void)state;
	assert_int_equal(mail_smtp_policy("smtps://mail.example.com", &v), 0);
	assert_int_equal(v, CURLUSESSL_ALL);
	assert_int_equal(
	    mail_smtp_policy("smtp://u:p@mail.example.com:587", &v), 0);
	assert_int_equal(v, CURLUSESSL_ALL);
	assert_int_equal(mail_smtp_policy("smtp://127.0.0.1:2525", &v), 0);
	assert_int_equal(v, CURLUSESSL_TRY);
	assert_int_equal(mail_smtp_policy("smtp://localhost", &v), 0);
	assert_int_equal(v, CURLUSESSL_TRY);
	assert_int_equal(mail_smtp_policy("smtp://[::1]:25", &v), 0);
	assert_int_equal(v, CURLUSESSL_TRY);
	assert_int_equal(mail_smtp_policy("smtp://10.0.0.1:25", &v), 0);
	assert_int_equal(v, CURLUSESSL_ALL);
	assert_int_equal(
	    mail_smtp_policy("http://mail.example.com", &v), PC_ERR_CONFIG);
	assert_int_equal(mail_smtp_policy("", &v), PC_ERR_CONFIG);
	assert_int_equal(mail_smtp_policy("smtp://", &v), PC_ERR_CONFIG);
}

/* ---- SMTP against Debian's aiosmtpd ---- */

static bool
have_aiosmtpd(void)
{
	pid_t pid;
	int st;

	if (access(PYTHON, X_OK) != 0)
		return false;
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(PYTHON, PYTHON, "-c", "import aiosmtpd", (char *)NULL);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0;
}

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(s >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(s);
	return port;
}

static bool
port_open(int port)
{
	struct sockaddr_in a;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	return ok;
}

static pid_t
start_aiosmtpd(int port, const char *maildir)
{
	char listen[32];
	pid_t pid;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(PYTHON, PYTHON, "-m", "aiosmtpd", "-n", "-l", listen,
		    "-c", "aiosmtpd.handlers.Mailbox", maildir, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	for (int i = 0; i < 200 && !port_open(port); i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	assert_true(port_open(port));
	return pid;
}

static void
stop_child(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

static void
test_mail_smtp_delivers_to_aiosmtpd(void **state)
{
	struct fixture *f = *state;
	char maildir[128], newdir[160], names[16][256], path[512];
	char *msg, *log, logpath[128];
	const char *text =
	    "Your link: https://id.example.com/verify?token=" TOKEN "\n";
	struct mail m = { "bob@example.org", "Confirm — ✓", text };
	struct mailer *mr = NULL;
	int port, saved;
	pid_t pid;

	if (!have_aiosmtpd()) {
		fprintf(stderr,
		    "# SKIP: python3-aiosmtpd is not installed "
		    "(apt-get install python3-aiosmtpd)\n");
		skip();
	}
	port = free_port();
	snprintf(maildir, sizeof(maildir), "%s/maildir", f->dir);
	snprintf(newdir, sizeof(newdir), "%s/new", maildir);
	pid = start_aiosmtpd(port, maildir);
	snprintf(f->smtp, sizeof(f->smtp), "smtp://127.0.0.1:%d", port);
	f->cfg.smtp_url = f->smtp;

	snprintf(logpath, sizeof(logpath), "%s/log", f->dir);
	saved = log_capture_begin(logpath);
	assert_int_equal(mail_send_now(&f->cfg, &m), 0);
	/* The sender thread takes the same path. */
	assert_int_equal(mail_start(&f->cfg, &mr), 0);
	m.to = "carol@example.net";
	assert_int_equal(mail_enqueue(mr, &m), 0);
	mail_stop(mr);
	log = log_capture_end(saved, logpath);
	(void)unlink(logpath);
	stop_child(pid);

	assert_int_equal(list_dir(newdir, names), 2);
	for (size_t i = 0; i < 2; i++) {
		assert_true(snprintf(path, sizeof(path), "%s/%s", newdir,
				names[i]) < (int)sizeof(path));
		msg = slurp(path);
		assert_non_null(strstr(msg, "From: no-reply@id.example.com\n"));
		assert_non_null(
		    strstr(msg, "X-MailFrom: no-reply@id.example.com"));
		assert_non_null(strstr(msg, "Subject: =?UTF-8?B?"));
		assert_non_null(strstr(msg, "Auto-Submitted: auto-generated"));
		/* The token arrives intact (split only by a soft break). */
		assert_non_null(strstr(msg, "token=3D"));
		assert_true(strstr(msg, "X-RcptTo: bob@example.org") != NULL ||
		    strstr(msg, "X-RcptTo: carol@example.net") != NULL);
		free(msg);
	}
	assert_non_null(strstr(log, "\"via\":\"smtp\""));
	assert_null(strstr(log, TOKEN));
	assert_null(strstr(log, "bob@"));
	free(log);

	/* Nobody listening: one attempt, PC_ERR_IO, nothing written. */
	assert_int_equal(mail_send_now(&f->cfg, &m), PC_ERR_IO);
	f->cfg.smtp_url = f->empty;
	assert_int_equal(list_dir(f->outbox, names), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_mail_outbox_file_0600_and_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mail_outbox_refuses_open_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mail_header_injection_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mail_subject_rfc2047, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mail_quoted_printable_body, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mail_RS05_link_host_is_issuer, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mail_from_setting, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mail_queue_sends_then_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mail_queue_full_busy_and_bounded_stop, setup,
		    teardown),
		cmocka_unit_test(test_mail_jobs_run_in_order_and_release),
		cmocka_unit_test_setup_teardown(
		    test_mail_jobs_full_busy_and_bounded_stop, setup, teardown),
		cmocka_unit_test(test_mail_smtp_tls_policy),
		cmocka_unit_test_setup_teardown(
		    test_mail_smtp_delivers_to_aiosmtpd, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	log_init(LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
