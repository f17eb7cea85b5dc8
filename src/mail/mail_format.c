/*
 * Outgoing mail as text: the checks on an address and on header text
 * (nothing a recipient or a template can use to add a header), and the
 * whole RFC 5322 message (mail_format()) with its From address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "mail/mail.h"

#define MSG_MAX (4 * MAIL_TEXT_MAX)

/* ---- Checks ---- */

static bool
is_special(char c)
{
	return strchr("()<>[]\\,;:\"@", c) != NULL;
}

bool
mail_addr_ok(const char *addr)
{
	const char *at, *d;
	size_t len, label = 0;

	if (addr == NULL)
		return false;
	len = strnlen(addr, MAIL_ADDR_MAX + 1);
	if (len == 0 || len > MAIL_ADDR_MAX)
		return false;
	if ((at = strchr(addr, '@')) == NULL || at == addr || at[1] == '\0')
		return false;
	for (const char *p = addr; p < at; p++)
		if (*p <= ' ' || *p >= 0x7f || is_special(*p))
			return false;
	for (d = at + 1; *d != '\0'; d++) {
		char c = *d;

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-') {
			if (++label > 63)
				return false;
		} else
			return false;
	}
	return label > 0;
}

/* UTF-8 without any control character: safe inside one header line. */
static bool
header_text_ok(const char *s, size_t max)
{
	size_t len = strnlen(s, max + 1);

	if (len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return str_is_utf8((struct str){ s, len });
}

int
mail_check(const struct mail *m)
{
	size_t len;

	if (m == NULL || m->to == NULL || m->subject == NULL || m->text == NULL)
		return PC_ERR_INVALID;
	/* Header injection: to and subject stay on their own line. */
	if (!mail_addr_ok(m->to) ||
	    !header_text_ok(m->subject, MAIL_SUBJECT_MAX) ||
	    m->subject[0] == '\0')
		return PC_ERR_INVALID;
	len = strnlen(m->text, MAIL_TEXT_MAX + 1);
	if (len > MAIL_TEXT_MAX)
		return PC_ERR_TOO_LARGE;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)m->text[i];

		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
		    c == 0x7f)
			return PC_ERR_INVALID;
	}
	if (!str_is_utf8((struct str){ m->text, len }))
		return PC_ERR_INVALID;
	return 0;
}

/* ---- Formatting ---- */

/* The issuer's host, without port; "localhost" when unknown. */
static void
issuer_host(const struct config *cfg, char *out, size_t n)
{
	const char *a = cfg->issuer_authority;
	size_t len;

	if (a == NULL || a[0] == '\0') {
		snprintf(out, n, "localhost");
		return;
	}
	if (a[0] == '[') {
		const char *e = strchr(a, ']');

		len = e != NULL ? (size_t)(e - a) + 1 : strlen(a);
	} else {
		const char *e = strchr(a, ':');

		len = e != NULL ? (size_t)(e - a) : strlen(a);
	}
	snprintf(out, n, "%.*s", (int)len, a);
}

int
mail_from_addr(const struct config *cfg, char *out, size_t n)
{
	char host[256];
	int w;

	if (cfg->mail_from != NULL && cfg->mail_from[0] != '\0') {
		if (!mail_addr_ok(cfg->mail_from))
			return PC_ERR_CONFIG;
		w = snprintf(out, n, "%s", cfg->mail_from);
	} else {
		issuer_host(cfg, host, sizeof(host));
		w = snprintf(out, n, "no-reply@%s", host);
		/* An IP-literal issuer is no mail domain. */
		if (w >= 0 && (size_t)w < n && !mail_addr_ok(out))
			w = snprintf(out, n, "no-reply@localhost");
	}
	return w < 0 || (size_t)w >= n ? PC_ERR_TOO_LARGE : 0;
}

/* RFC 5322 date-time in UTC, independent of the locale. */
static int
put_date(struct buf *b, int64_t now)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)now;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return PC_ERR_INVALID;
	return buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool
is_ascii_line(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/*
 * Subject: as is when ASCII, else RFC 2047 "B" encoded words of at most
 * 75 characters, folded, never splitting a UTF-8 sequence.
 */
static int
put_subject(struct buf *b, const char *subject)
{
	/*
	 * "=?UTF-8?B?" + 56 base64 characters + "?=" = 68 <= 75, so even
	 * the first line, after "Subject: ", stays within 78.
	 */
	enum {
		CHUNK = 42
	};
	char b64[sodium_base64_ENCODED_LEN(
	    CHUNK, sodium_base64_VARIANT_ORIGINAL)];
	size_t len = strlen(subject), off = 0;
	int r;

	if (is_ascii_line(subject))
		return buf_printf(b, "Subject: %s\r\n", subject);
	if ((r = buf_puts(b, "Subject:")) != 0)
		return r;
	while (off < len) {
		size_t n = len - off > CHUNK ? CHUNK : len - off;

		/* Back up to a character boundary. */
		while (n > 0 && off + n < len &&
		    ((unsigned char)subject[off + n] & 0xc0) == 0x80)
			n--;
		if (n == 0)
			return PC_ERR_INVALID;
		sodium_bin2base64(b64, sizeof(b64),
		    (const unsigned char *)subject + off, n,
		    sodium_base64_VARIANT_ORIGINAL);
		if ((r = buf_printf(b, "%s=?UTF-8?B?%s?=",
			 off == 0 ? " " : "\r\n ", b64)) != 0)
			return r;
		off += n;
	}
	return buf_puts(b, "\r\n");
}

/*
 * Quoted-printable (RFC 2045 6.7), CRLF line ends, lines of at most 76
 * characters. A line-initial '.' is encoded too, so no SMTP server sees a
 * lone "." line whatever the client does.
 */
static int
put_qp(struct buf *b, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	int r;

	for (const char *p = text; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		char tok[4];
		size_t tl;
		bool line_end;

		if (c == '\r' && p[1] == '\n')
			continue;
		if (c == '\n' || c == '\r') {
			if ((r = buf_puts(b, "\r\n")) != 0)
				return r;
			col = 0;
			continue;
		}
		line_end = p[1] == '\0' || p[1] == '\n' ||
		    (p[1] == '\r' && p[2] == '\n');
		if ((c >= 33 && c <= 126 && c != '=' &&
			!(c == '.' && col == 0)) ||
		    ((c == ' ' || c == '\t') && !line_end)) {
			tok[0] = (char)c;
			tl = 1;
		} else {
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			tl = 3;
		}
		/* Room for the token and a soft break's '=' within 76. */
		if (col + tl > 75) {
			if ((r = buf_puts(b, "=\r\n")) != 0)
				return r;
			col = 0;
			if (tok[0] == '.' && tl == 1) {
				tok[0] = '=';
				tok[1] = '2';
				tok[2] = 'E';
				tl = 3;
			}
		}
		if ((r = buf_put(b, tok, tl)) != 0)
			return r;
		col += tl;
	}
	/* End the last line when the text did not. */
	return col > 0 || text[0] == '\0' ? buf_puts(b, "\r\n") : 0;
}

int
mail_format(const struct config *cfg, const struct mail *m, int64_t now,
    char **out, size_t *out_len)
{
	char from[MAIL_ADDR_MAX + 1], host[256], id[33];
	uint8_t rnd[16];
	struct buf b;
	int r;

	*out = NULL;
	*out_len = 0;
	if ((r = mail_check(m)) != 0)
		return r;
	if ((r = mail_from_addr(cfg, from, sizeof(from))) != 0)
		return r;
	issuer_host(cfg, host, sizeof(host));
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), id);
	buf_init(&b, MSG_MAX);
	if ((r = put_date(&b, now)) != 0 ||
	    (r = buf_printf(&b, "From: %s\r\nTo: %s\r\n", from, m->to)) != 0 ||
	    (r = put_subject(&b, m->subject)) != 0 ||
	    (r = buf_printf(&b, "Message-ID: <%s@%s>\r\n", id, host)) != 0 ||
	    (r = buf_puts(&b,
		 "MIME-Version: 1.0\r\n"
		 "Content-Type: text/plain; charset=utf-8\r\n"
		 "Content-Transfer-Encoding: quoted-printable\r\n"
		 "Auto-Submitted: auto-generated\r\n"
		 "\r\n")) != 0 ||
	    (r = put_qp(&b, m->text)) != 0) {
		buf_free(&b);
		return r;
	}
	*out_len = b.len;
	*out = buf_steal(&b);
	return 0;
}
