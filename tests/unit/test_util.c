/*
 * Unit tests for util/buf.c, util/str.c, util/err.c and util/log.c: the
 * capped buffer (growing past max is an input error that leaves the
 * contents alone), the strict string helpers, and one JSON line per log
 * event whatever the values hold (SECURITY.md AU-04).
 *
 * util links neither jansson nor any other JSON parser, so the log lines
 * are checked with a small strict parser below: a flat object of unique
 * keys whose values are strings, integers or booleans, RFC 8259 escapes
 * only, no raw control characters, valid UTF-8, one '\n' at the very end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"
#include "util/log.h"
#include "util/util.h"

#define STRN(s, n) ((struct str){ (s), (n) })

/* ------------------------------------------------------------------ */
/* A strict parser for one log line. */

#define JL_MAX_MEMBERS 16

struct jl_member {
	char key[64];
	char type; /* 's' string, 'n' integer, 't' true, 'f' false */
	struct buf val;
};

struct jl {
	const char *p;
	size_t n, i;
	struct jl_member m[JL_MAX_MEMBERS];
	size_t nm;
};

static void
jl_free(struct jl *j)
{
	for (size_t i = 0; i < j->nm; i++)
		buf_free(&j->m[i].val);
	j->nm = 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * A JSON string into out. The logger writes each byte of invalid UTF-8
 * as \u00XX, so \u0000..\u00ff map back to that one byte and the round
 * trip can be compared byte for byte; other escapes decode as usual.
 */
static int
jl_string(struct jl *j, struct buf *out)
{
	if (j->i >= j->n || j->p[j->i] != '"')
		return -1;
	j->i++;
	while (j->i < j->n) {
		unsigned char c = (unsigned char)j->p[j->i++];
		unsigned cp = 0;

		if (c == '"')
			return 0;
		if (c < 0x20 || c == 0x7f)
			return -1; /* raw control characters never */
		if (c != '\\') {
			if (buf_putc(out, (char)c) != 0)
				return -1;
			continue;
		}
		if (j->i >= j->n)
			return -1;
		c = (unsigned char)j->p[j->i++];
		switch (c) {
		case '"':
		case '\\':
		case '/': break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			if (j->n - j->i < 4)
				return -1;
			for (int k = 0; k < 4; k++) {
				int h = hexval(j->p[j->i++]);

				if (h < 0)
					return -1;
				cp = cp << 4 | (unsigned)h;
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				return -1; /* the logger never writes these */
			if (cp < 0x100) {
				c = (unsigned char)cp;
				break;
			}
			if (cp < 0x800) {
				if (buf_putc(out, (char)(0xc0 | cp >> 6)) !=
					0 ||
				    buf_putc(out, (char)(0x80 | (cp & 0x3f))) !=
					0)
					return -1;
			} else if (buf_putc(out, (char)(0xe0 | cp >> 12)) !=
				0 ||
			    buf_putc(out, (char)(0x80 | ((cp >> 6) & 0x3f))) !=
				0 ||
			    buf_putc(out, (char)(0x80 | (cp & 0x3f))) != 0) {
				return -1;
			}
			continue;
		default: return -1;
		}
		if (buf_putc(out, (char)c) != 0)
			return -1;
	}
	return -1;
}

static int
jl_member(struct jl *j)
{
	struct jl_member *m;
	struct buf key;
	size_t start;

	if (j->nm == JL_MAX_MEMBERS)
		return -1;
	buf_init(&key, sizeof(m->key) - 1);
	if (jl_string(j, &key) != 0) {
		buf_free(&key);
		return -1;
	}
	for (size_t i = 0; i < j->nm; i++) {
		if (strcmp(j->m[i].key, buf_cstr(&key)) == 0) {
			buf_free(&key); /* duplicate member name */
			return -1;
		}
	}
	m = &j->m[j->nm++];
	snprintf(m->key, sizeof(m->key), "%s", buf_cstr(&key));
	buf_free(&key);
	buf_init(&m->val, 64 * 1024);
	if (j->i >= j->n || j->p[j->i++] != ':' || j->i >= j->n)
		return -1;
	switch (j->p[j->i]) {
	case '"': m->type = 's'; return jl_string(j, &m->val);
	case 't':
	case 'f': {
		const char *w = j->p[j->i] == 't' ? "true" : "false";
		size_t wl = strlen(w);

		if (j->n - j->i < wl || memcmp(j->p + j->i, w, wl) != 0)
			return -1;
		m->type = w[0];
		j->i += wl;
		return 0;
	}
	default:
		m->type = 'n';
		start = j->i;
		if (j->p[j->i] == '-')
			j->i++;
		if (j->i >= j->n || j->p[j->i] < '0' || j->p[j->i] > '9')
			return -1;
		if (j->p[j->i] == '0')
			j->i++;
		else
			while (j->i < j->n && j->p[j->i] >= '0' &&
			    j->p[j->i] <= '9')
				j->i++;
		return buf_put(&m->val, j->p + start, j->i - start) == 0 ? 0
									 : -1;
	}
}

/* The whole captured output must be exactly one valid line. */
static int
jl_parse(struct jl *j, const char *text, size_t len)
{
	memset(j, 0, sizeof(*j));
	if (len < 3 || text[len - 1] != '\n' ||
	    memchr(text, '\n', len - 1) != NULL ||
	    !str_is_utf8(STRN(text, len)))
		return -1;
	j->p = text;
	j->n = len - 1;
	if (j->p[j->i++] != '{')
		return -1;
	for (;;) {
		if (jl_member(j) != 0)
			return -1;
		if (j->i >= j->n)
			return -1;
		if (j->p[j->i] == '}')
			break;
		if (j->p[j->i++] != ',')
			return -1;
	}
	return j->i + 1 == j->n ? 0 : -1;
}

static struct jl_member *
jl_get(struct jl *j, const char *key)
{
	for (size_t i = 0; i < j->nm; i++)
		if (strcmp(j->m[i].key, key) == 0)
			return &j->m[i];
	return NULL;
}

static const char *
jl_str(struct jl *j, const char *key)
{
	struct jl_member *m = jl_get(j, key);

	assert_non_null(m);
	assert_int_equal(m->type, 's');
	return buf_cstr(&m->val);
}

/* ------------------------------------------------------------------ */
/* Capturing stderr around log calls: capture.h. */

/* Logs {"v": val} (len bytes) and parses the line. */
static char *
log_one(struct jl *j, const char *val, size_t len)
{
	struct capture cap;
	struct log_line l;
	size_t out_len;
	char *out;

	capture_begin(&cap);
	log_begin(&l, LOG_INFO, "test.event");
	log_strn(&l, "v", val, len);
	log_end(&l);
	out = capture_end(&cap, &out_len);
	assert_int_equal(jl_parse(j, out, out_len), 0);
	return out;
}

/* The value comes back byte for byte and nothing else was injected. */
static void
assert_logged_exactly(const char *val, size_t len)
{
	struct jl_member *m;
	struct jl j;
	char *out;

	out = log_one(&j, val, len);
	assert_int_equal(j.nm, 4); /* ts, level, event, v */
	assert_non_null(jl_get(&j, "ts"));
	assert_string_equal(jl_str(&j, "level"), "info");
	m = jl_get(&j, "v");
	assert_non_null(m);
	assert_int_equal(m->type, 's');
	assert_int_equal(m->val.len, len);
	if (len > 0)
		assert_memory_equal(m->val.p, val, len);
	assert_null(jl_get(&j, "truncated"));
	jl_free(&j);
	free(out);
}

/* ------------------------------------------------------------------ */
/* struct buf */

static void
test_util_buf_put_within_max(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 16);
	assert_int_equal(buf_put(&b, "0123456789abcdef", 16), 0);
	assert_int_equal(b.len, 16);
	assert_string_equal(buf_cstr(&b), "0123456789abcdef");
	assert_int_equal(strlen(buf_cstr(&b)), b.len);
	buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
}

static void
test_util_buf_growing_past_max_is_too_large(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 16);
	assert_int_equal(buf_put(&b, "0123456789", 10), 0);
	assert_int_equal(buf_put(&b, "abcdefg", 7), PC_ERR_TOO_LARGE);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.p, "0123456789", 10);
	assert_int_equal(buf_put(&b, "abcdef", 6), 0);
	assert_int_equal(buf_putc(&b, 'x'), PC_ERR_TOO_LARGE);
	assert_int_equal(buf_puts(&b, "x"), PC_ERR_TOO_LARGE);
	assert_int_equal(buf_printf(&b, "%d", 1), PC_ERR_TOO_LARGE);
	assert_int_equal(b.len, 16);
	assert_string_equal(buf_cstr(&b), "0123456789abcdef");
	/* An empty put always fits. */
	assert_int_equal(buf_put(&b, "", 0), 0);
	assert_int_equal(b.len, 16);
	buf_free(&b);
}

static void
test_util_buf_first_put_over_max(void **state)
{
	char big[64];
	struct buf b;

	(void)state;
	memset(big, 'a', sizeof(big));
	buf_init(&b, 63);
	assert_int_equal(buf_put(&b, big, sizeof(big)), PC_ERR_TOO_LARGE);
	assert_int_equal(b.len, 0);
	assert_null(b.p);
	buf_free(&b);
}

/* Sizes near SIZE_MAX must not wrap the length arithmetic. */
static void
test_util_buf_reserve_no_wrap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_reserve(&b, SIZE_MAX), PC_ERR_TOO_LARGE);
	assert_int_equal(buf_puts(&b, "abcd"), 0);
	assert_int_equal(buf_reserve(&b, SIZE_MAX - 2), PC_ERR_TOO_LARGE);
	assert_int_equal(buf_reserve(&b, 1021), PC_ERR_TOO_LARGE);
	assert_int_equal(buf_reserve(&b, 1020), 0);
	assert_string_equal(buf_cstr(&b), "abcd");
	buf_free(&b);
}

static void
test_util_buf_max_zero(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_putc(&b, 'a'), PC_ERR_TOO_LARGE);
	assert_string_equal(buf_cstr(&b), "");
	buf_free(&b);
}

static void
test_util_buf_grows_to_max(void **state)
{
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 100000);
	for (i = 0; i < 100000; i++)
		assert_int_equal(buf_putc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(buf_putc(&b, 'a'), PC_ERR_TOO_LARGE);
	assert_int_equal(b.len, 100000);
	assert_true(b.cap <= 100001);
	for (i = 0; i < 100000; i++)
		assert_int_equal(b.p[i], 'a' + i % 26);
	buf_free(&b);
}

static void
test_util_buf_printf(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 32);
	assert_int_equal(buf_printf(&b, "%s=%d", "n", 42), 0);
	assert_int_equal(buf_printf(&b, ";%05x", 0xbeefu), 0);
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_string_equal(buf_cstr(&b), "n=42;0beef");
	assert_int_equal(b.len, 10);
	/* 22 more bytes fit exactly, 23 do not and change nothing. */
	assert_int_equal(
	    buf_printf(&b, "%s", "12345678901234567890123"), PC_ERR_TOO_LARGE);
	assert_string_equal(buf_cstr(&b), "n=42;0beef");
	assert_int_equal(buf_printf(&b, "%22s", "x"), 0);
	assert_int_equal(b.len, 32);
	assert_int_equal(b.p[31], 'x');
	buf_free(&b);
}

static void
test_util_buf_steal(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_puts(&b, "hello"), 0);
	s = buf_steal(&b);
	assert_string_equal(s, "hello");
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 64);
	free(s);
	/* The buffer is usable again, and stealing an empty one gives "". */
	assert_int_equal(buf_puts(&b, "again"), 0);
	assert_string_equal(buf_cstr(&b), "again");
	buf_free(&b);
	s = buf_steal(&b);
	assert_string_equal(s, "");
	free(s);
	buf_free(&b);
}

static void
test_util_buf_reset_wipes(void **state)
{
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_puts(&b, "secret"), 0);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 64);
	assert_non_null(b.p);
	for (i = 0; i < 6; i++)
		assert_int_equal(b.p[i], 0);
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(buf_puts(&b, "next"), 0);
	assert_string_equal(buf_cstr(&b), "next");
	buf_free(&b);
	buf_reset(&b); /* reset of a freed (empty) buffer is harmless */
	buf_free(&b);
	buf_free(NULL);
}

/* ------------------------------------------------------------------ */
/* struct str */

static int
to_int(const char *s, int64_t min, int64_t max, int64_t *v)
{
	return str_to_int64(str_from(s), min, max, v);
}

static void
test_util_str_to_int64_accepts(void **state)
{
	int64_t v;

	(void)state;
	assert_int_equal(to_int("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(to_int("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(to_int("65535", 1, 65535, &v), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(to_int("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(to_int("9223372036854775807", 0, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(
	    to_int("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(
	    to_int("-9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == -INT64_MAX);
}

static void
test_util_str_to_int64_overflow(void **state)
{
	static const char *const bad[] = {
		"9223372036854775808",	 /* INT64_MAX + 1 */
		"9223372036854775810",	 /* INT64_MAX + 3 */
		"9999999999999999999",	 /* 19 digits, over */
		"18446744073709551615",	 /* UINT64_MAX */
		"18446744073709551616",	 /* UINT64_MAX + 1, wraps to 0 */
		"99999999999999999999",	 /* 20 digits */
		"-9223372036854775809",	 /* INT64_MIN - 1 */
		"-18446744073709551616", /* -2^64 */
		"123456789012345678901234567890",
	};
	int64_t v = 1234;

	(void)state;
	for (size_t i = 0; i < PC_NELEM(bad); i++) {
		assert_int_equal(
		    to_int(bad[i], INT64_MIN, INT64_MAX, &v), PC_ERR_INVALID);
		assert_true(v == 1234); /* *out untouched on error */
	}
}

static void
test_util_str_to_int64_strict_syntax(void **state)
{
	static const char *const bad[] = {
		"",
		"+1",
		"+0",
		" 1",
		"1 ",
		"\t1",
		"1\n",
		"-",
		"--1",
		"-+1",
		"+-1",
		"1-",
		"0x10",
		"1e3",
		"1.0",
		"1,000",
		"1_000",
		"١",
		"12a",
		"a12",
		"∞",
	};
	int64_t v = 1234;

	(void)state;
	for (size_t i = 0; i < PC_NELEM(bad); i++) {
		assert_int_equal(
		    to_int(bad[i], INT64_MIN, INT64_MAX, &v), PC_ERR_INVALID);
		assert_true(v == 1234);
	}
	/* An embedded NUL is not the end of the number. */
	assert_int_equal(
	    str_to_int64(STRN("12\0003", 4), 0, 1000, &v), PC_ERR_INVALID);
	/* The view's length is the end, not a NUL. */
	assert_int_equal(str_to_int64(STRN("123456", 2), 0, 1000, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(str_to_int64(STR_NULL, 0, 10, &v), PC_ERR_INVALID);
}

static void
test_util_str_to_int64_range(void **state)
{
	int64_t v = 1234;

	(void)state;
	/* No sign at all unless min < 0. */
	assert_int_equal(to_int("-1", 0, 10, &v), PC_ERR_INVALID);
	assert_int_equal(to_int("-0", 0, 10, &v), PC_ERR_INVALID);
	assert_int_equal(to_int("0", 1, 65535, &v), PC_ERR_INVALID);
	assert_int_equal(to_int("65536", 1, 65535, &v), PC_ERR_INVALID);
	assert_int_equal(to_int("11", -10, 10, &v), PC_ERR_INVALID);
	assert_int_equal(to_int("-11", -10, 10, &v), PC_ERR_INVALID);
	assert_int_equal(to_int("9223372036854775807", 0, INT64_MAX - 1, &v),
	    PC_ERR_INVALID);
	assert_int_equal(to_int("-9223372036854775808", INT64_MIN + 1, 0, &v),
	    PC_ERR_INVALID);
	assert_true(v == 1234);
	assert_int_equal(to_int("-10", -10, 10, &v), 0);
	assert_int_equal(v, -10);
	assert_int_equal(to_int("10", -10, 10, &v), 0);
	assert_int_equal(v, 10);
}

static void
test_util_str_split(void **state)
{
	struct str head, tail;

	(void)state;
	assert_int_equal(str_split(str_from("a=b=c"), '=', &head, &tail), 0);
	assert_true(str_eq_cstr(head, "a"));
	assert_true(str_eq_cstr(tail, "b=c"));
	assert_int_equal(str_split(str_from("=x"), '=', &head, &tail), 0);
	assert_int_equal(head.len, 0);
	assert_true(str_eq_cstr(tail, "x"));
	assert_int_equal(str_split(str_from("x="), '=', &head, &tail), 0);
	assert_true(str_eq_cstr(head, "x"));
	assert_int_equal(tail.len, 0);
	assert_int_equal(str_split(str_from("abc"), '=', &head, &tail), -1);
	assert_int_equal(str_split(str_from(""), '=', &head, &tail), -1);
	assert_int_equal(str_split(STR_NULL, '=', &head, &tail), -1);
	/* Only the view's bytes are searched. */
	assert_int_equal(str_split(STRN("ab=c", 2), '=', &head, &tail), -1);
	/* A NUL is an ordinary byte. */
	assert_int_equal(str_split(STRN("a\0b", 3), '\0', &head, &tail), 0);
	assert_true(str_eq_cstr(head, "a"));
	assert_true(str_eq_cstr(tail, "b"));
}

static void
test_util_str_trim(void **state)
{
	struct str t;

	(void)state;
	t = str_trim(str_from(" \t a b \t "));
	assert_true(str_eq_cstr(t, "a b"));
	t = str_trim(str_from("   "));
	assert_int_equal(t.len, 0);
	t = str_trim(str_from(""));
	assert_int_equal(t.len, 0);
	t = str_trim(str_from("x"));
	assert_true(str_eq_cstr(t, "x"));
	t = str_trim(STR_NULL);
	assert_int_equal(t.len, 0);
	/* Spaces and tabs only: line ends are the caller's business. */
	t = str_trim(str_from("\na\r"));
	assert_int_equal(t.len, 3);
}

static void
test_util_str_compare(void **state)
{
	char *d;

	(void)state;
	assert_true(str_eq(STR_LIT("abc"), str_from("abc")));
	assert_false(str_eq(STR_LIT("abc"), STR_LIT("abd")));
	assert_false(str_eq(STR_LIT("abc"), STR_LIT("ab")));
	assert_true(str_eq(STR_NULL, STR_LIT("")));
	assert_true(str_case_eq_cstr(STR_LIT("Host"), "hOST"));
	assert_false(str_case_eq_cstr(STR_LIT("Host"), "Hos"));
	assert_false(str_case_eq_cstr(STRN("Host", 3), "Host"));
	assert_true(str_has_prefix(STR_LIT("v1.abc"), "v1."));
	assert_false(str_has_prefix(STR_LIT("v1"), "v1."));
	assert_int_equal(str_from(NULL).len, 0);
	d = str_dup(STRN("abcdef", 3));
	assert_string_equal(d, "abc");
	free(d);
	d = str_dup(STR_NULL);
	assert_string_equal(d, "");
	free(d);
}

/* ------------------------------------------------------------------ */
/* UTF-8 and text */

static void
test_util_str_is_utf8_accepts(void **state)
{
	static const char *const good[] = {
		"",
		"plain ascii",
		"\xc2\x80",	    /* U+0080 */
		"\xdf\xbf",	    /* U+07FF */
		"\xe0\xa0\x80",	    /* U+0800 */
		"\xe2\x82\xac",	    /* U+20AC */
		"\xed\x9f\xbf",	    /* U+D7FF, just below the surrogates */
		"\xee\x80\x80",	    /* U+E000, just above them */
		"\xef\xbf\xbf",	    /* U+FFFF */
		"\xf0\x90\x80\x80", /* U+10000 */
		"\xf0\x9f\x98\x80", /* U+1F600 */
		"\xf4\x8f\xbf\xbf", /* U+10FFFF */
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	};

	(void)state;
	for (size_t i = 0; i < PC_NELEM(good); i++)
		assert_true(str_is_utf8(str_from(good[i])));
}

static void
test_util_str_is_utf8_rejects(void **state)
{
	static const char *const bad[] = {
		/* overlong forms */
		"\xc0\x80",
		"\xc1\xbf",
		"\xe0\x80\x80",
		"\xe0\x9f\xbf",
		"\xf0\x80\x80\x80",
		"\xf0\x8f\xbf\xbf",
		"\xc0\xaf",
		/* UTF-16 surrogates */
		"\xed\xa0\x80",
		"\xed\xaf\xbf",
		"\xed\xb0\x80",
		"\xed\xbf\xbf",
		"\xed\xa0\xbd\xed\xb8\x80",
		/* above U+10FFFF */
		"\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80",
		"\xf7\xbf\xbf\xbf",
		"\xf8\x88\x80\x80\x80",
		"\xfc\x84\x80\x80\x80\x80",
		/* truncated sequences */
		"\xc3",
		"\xe2\x82",
		"\xf0\x9f\x98",
		"a\xe2\x82",
		"\xe2\x82z",
		"\xf0\x9f\x98z",
		/* stray continuation bytes and bytes never used */
		"\x80",
		"\xbf",
		"a\x80z",
		"\xc3\x28",
		"\xe2\x28\xa1",
		"\xe2\x82\x28",
		"\xfe",
		"\xff",
		"\xc3\xa9\xa9",
	};

	(void)state;
	for (size_t i = 0; i < PC_NELEM(bad); i++) {
		if (str_is_utf8(str_from(bad[i])))
			fail_msg("accepted bad[%zu]", i);
	}
	/* A sequence cut by the view's length, not by a NUL. */
	assert_false(str_is_utf8(STRN("\xe2\x82\xac", 2)));
}

static void
test_util_str_is_text(void **state)
{
	char c[2] = { 0, 0 };

	(void)state;
	assert_true(str_is_text(str_from("hello\tworld")));
	assert_true(str_is_text(str_from("caf\xc3\xa9")));
	assert_true(str_is_text(STR_NULL));
	for (int i = 1; i < 0x20; i++) {
		if (i == '\t')
			continue;
		c[0] = (char)i;
		if (str_is_text(STRN(c, 1)))
			fail_msg("control 0x%02x accepted", i);
	}
	assert_false(str_is_text(str_from("\x7f")));
	assert_false(str_is_text(str_from("line\r\nInjected: 1")));
	assert_false(str_is_text(str_from("\x1b[31mred")));
	assert_false(str_is_text(STRN("a\0b", 3)));
	assert_false(str_is_text(str_from("caf\xe9")));
	assert_false(str_is_text(str_from("\xed\xa0\x80")));
}

static void
test_util_hex_encode(void **state)
{
	static const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[2 * sizeof(in) + 1];
	char empty[1] = { 'x' };

	(void)state;
	hex_encode(in, sizeof(in), out);
	assert_string_equal(out, "00017f80abff");
	hex_encode(in, 0, empty);
	assert_string_equal(empty, "");
}

static void
test_util_strerror_covers_codes(void **state)
{
	const char *unknown = pc_strerror(-9999);

	(void)state;
	assert_string_equal(pc_strerror(PC_OK), "ok");
	for (int e = PC_ERR_UNSUPPORTED; e <= PC_ERR_INTERNAL; e++) {
		assert_non_null(pc_strerror(e));
		assert_string_not_equal(pc_strerror(e), unknown);
		for (int f = e + 1; f <= PC_ERR_INTERNAL; f++)
			assert_string_not_equal(pc_strerror(e), pc_strerror(f));
	}
}

/* ------------------------------------------------------------------ */
/* Log lines (SECURITY.md AU-04) */

static void
test_util_AU04_log_line_shape(void **state)
{
	struct jl_member *m;
	struct capture cap;
	struct log_line l;
	struct jl j;
	size_t len;
	char *out;

	(void)state;
	log_set_rid("rid-1");
	capture_begin(&cap);
	log_begin(&l, LOG_WARN, "key.rotated");
	log_str(&l, "kid", "abc");
	log_str(&l, "none", NULL); /* a NULL value is left out */
	log_int(&l, "n", -42);
	log_int(&l, "big", INT64_MIN);
	log_bool(&l, "ok", true);
	log_bool(&l, "bad", false);
	log_end(&l);
	out = capture_end(&cap, &len);
	log_set_rid(NULL);
	assert_int_equal(jl_parse(&j, out, len), 0);
	assert_int_equal(j.nm, 9);
	assert_string_equal(jl_str(&j, "level"), "warn");
	assert_string_equal(jl_str(&j, "event"), "key.rotated");
	assert_string_equal(jl_str(&j, "rid"), "rid-1");
	assert_string_equal(jl_str(&j, "kid"), "abc");
	assert_null(jl_get(&j, "none"));
	m = jl_get(&j, "n");
	assert_int_equal(m->type, 'n');
	assert_string_equal(buf_cstr(&m->val), "-42");
	m = jl_get(&j, "big");
	assert_int_equal(m->type, 'n');
	assert_string_equal(buf_cstr(&m->val), "-9223372036854775808");
	assert_int_equal(jl_get(&j, "ok")->type, 't');
	assert_int_equal(jl_get(&j, "bad")->type, 'f');
	/* "2026-01-01T00:00:00.000Z" */
	m = jl_get(&j, "ts");
	assert_int_equal(m->val.len, 24);
	assert_int_equal(m->val.p[23], 'Z');
	jl_free(&j);
	free(out);
}

static void
test_util_AU04_log_level_filter(void **state)
{
	struct capture cap;
	struct log_line l;
	enum log_level lvl;
	size_t len;
	char *out;

	(void)state;
	assert_int_equal(log_level_parse("warn", &lvl), 0);
	assert_int_equal(lvl, LOG_WARN);
	assert_int_equal(log_level_parse("WARN", &lvl), PC_ERR_INVALID);
	assert_int_equal(log_level_parse("", &lvl), PC_ERR_INVALID);
	log_init(LOG_WARN);
	capture_begin(&cap);
	log_begin(&l, LOG_INFO, "quiet");
	log_str(&l, "v", "x");
	log_end(&l);
	log_msg(LOG_DEBUG, "quiet", "x");
	out = capture_end(&cap, &len);
	log_init(LOG_INFO);
	assert_int_equal(len, 0);
	free(out);
}

static void
test_util_AU04_log_escapes_quotes_and_backslashes(void **state)
{
	static const char *const vals[] = {
		"a\"b",
		"back\\slash",
		"\\",
		"\"",
		"\\\"",
		"x\",\"level\":\"error",
		"\"}\n{\"level\":\"error\",\"event\":\"forged\"",
		"\\u0041",
	};

	(void)state;
	for (size_t i = 0; i < PC_NELEM(vals); i++)
		assert_logged_exactly(vals[i], strlen(vals[i]));
}

static void
test_util_AU04_log_escapes_controls(void **state)
{
	char all[40];
	size_t n = 0;

	(void)state;
	for (int c = 0; c < 0x20; c++)
		all[n++] = (char)c;
	all[n++] = 0x7f;
	assert_logged_exactly(all, n);
	assert_logged_exactly("user\r\n{\"event\":\"login\"}", 24);
	assert_logged_exactly("\x1b[2J\x1b[31mred", 12);
	assert_logged_exactly("nul\0inside", 10);
	assert_logged_exactly("", 0);
}

static void
test_util_AU04_log_escapes_control_in_key(void **state)
{
	struct capture cap;
	struct log_line l;
	struct jl j;
	size_t len;
	char *out;

	(void)state;
	capture_begin(&cap);
	log_begin(&l, LOG_INFO, "ev\n\"ent");
	log_str(&l, "k\"\n", "v");
	log_end(&l);
	out = capture_end(&cap, &len);
	assert_int_equal(jl_parse(&j, out, len), 0);
	assert_string_equal(jl_str(&j, "event"), "ev\n\"ent");
	assert_string_equal(jl_str(&j, "k\"\n"), "v");
	jl_free(&j);
	free(out);
}

static void
test_util_AU04_log_invalid_utf8(void **state)
{
	static const char *const vals[] = {
		"\xff",
		"\xc0\x80",
		"\xed\xa0\x80",
		"\xf4\x90\x80\x80",
		"\xe2\x82",	   /* truncated at the end */
		"\xe2\x82z",	   /* truncated in the middle */
		"\xf0\x9f\x98",	   /* truncated 4-byte */
		"\x80\xbf",	   /* stray continuations */
		"caf\xe9 latin-1", /* a Latin-1 byte */
		"ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", /* valid */
		"\xc3\xa9\xff\xf0\x9f\x98\x80\xc3",
	};

	(void)state;
	for (size_t i = 0; i < PC_NELEM(vals); i++)
		assert_logged_exactly(vals[i], strlen(vals[i]));
}

/* Every byte value in every position of a short window. */
static void
test_util_AU04_log_all_bytes(void **state)
{
	char v[3];

	(void)state;
	for (int c = 0; c < 256; c++) {
		v[0] = 'a';
		v[1] = (char)c;
		v[2] = '\xc3';
		assert_logged_exactly(v, 3);
	}
}

/*
 * A 10 KB value: one line of valid JSON within LOG_LINE_MAX, marked
 * truncated, whose value is a prefix of the original (never half an escape
 * or half a character).
 */
static void
check_truncated(const char *val, size_t len)
{
	struct jl_member *m;
	struct jl j;
	char *out;
	size_t out_len;

	out = log_one(&j, val, len);
	out_len = strlen(out);
	assert_true(out_len <= LOG_LINE_MAX);
	m = jl_get(&j, "truncated");
	assert_non_null(m);
	assert_int_equal(m->type, 't');
	m = jl_get(&j, "v");
	assert_int_equal(m->type, 's');
	assert_true(m->val.len < len);
	if (m->val.len > 0)
		assert_memory_equal(m->val.p, val, m->val.len);
	jl_free(&j);
	free(out);
}

static void
test_util_AU04_log_truncates_long_value(void **state)
{
	size_t n = 10 * 1024;
	char *v = malloc(n);

	(void)state;
	assert_non_null(v);
	memset(v, 'a', n);
	check_truncated(v, n);
	/* Escapes (6 bytes each) are never cut in half. */
	memset(v, '\n', n);
	check_truncated(v, n);
	memset(v, '"', n);
	check_truncated(v, n);
	/* Nor are multi-byte characters, at every alignment. */
	for (size_t shift = 0; shift < 4; shift++) {
		memset(v, 'a', n);
		for (size_t i = shift; i + 4 <= n; i += 4)
			memcpy(v + i, "\xf0\x9f\x98\x80", 4);
		check_truncated(v, n);
	}
	for (size_t i = 0; i < n; i++)
		v[i] = (char)(i % 3 == 0 ? 0xff : i % 3 == 1 ? '\\' : 0x01);
	check_truncated(v, n);
	free(v);
}

/* Fields after the cut are dropped, the line stays one valid object. */
static void
test_util_AU04_log_fields_after_truncation(void **state)
{
	size_t n = 10 * 1024, len;
	struct capture cap;
	struct log_line l;
	struct jl j;
	char *v = malloc(n), *out;

	(void)state;
	assert_non_null(v);
	memset(v, 'x', n);
	capture_begin(&cap);
	log_begin(&l, LOG_INFO, "test.event");
	log_str(&l, "before", "1");
	log_strn(&l, "v", v, n);
	log_str(&l, "after", "2");
	log_int(&l, "n", 3);
	log_bool(&l, "b", true);
	log_strn(&l, "v2", v, n);
	log_end(&l);
	out = capture_end(&cap, &len);
	assert_int_equal(jl_parse(&j, out, len), 0);
	assert_non_null(jl_get(&j, "before"));
	assert_non_null(jl_get(&j, "v"));
	assert_null(jl_get(&j, "after"));
	assert_null(jl_get(&j, "n"));
	assert_null(jl_get(&j, "b"));
	assert_null(jl_get(&j, "v2"));
	assert_int_equal(jl_get(&j, "truncated")->type, 't');
	jl_free(&j);
	free(out);
	free(v);
}

/* Many fields that each fit, until the line is full. */
static void
test_util_AU04_log_many_fields(void **state)
{
	struct capture cap;
	struct log_line l;
	char val[500], key[8];
	size_t len, i;
	struct jl j;
	char *out;

	(void)state;
	memset(val, 'q', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	capture_begin(&cap);
	log_begin(&l, LOG_INFO, "test.event");
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "f%zu", i);
		log_str(&l, key, val);
	}
	log_end(&l);
	out = capture_end(&cap, &len);
	assert_true(len <= LOG_LINE_MAX);
	assert_int_equal(jl_parse(&j, out, len), 0);
	assert_non_null(jl_get(&j, "f0"));
	assert_string_equal(jl_str(&j, "f0"), val);
	assert_null(jl_get(&j, "f9"));
	assert_int_equal(jl_get(&j, "truncated")->type, 't');
	jl_free(&j);
	free(out);
}

static void
test_util_clock_parse_time(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(clock_parse_time("0", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(clock_parse_time("1764972000", &ms), 0);
	assert_int_equal(ms, 1764972000000);
	assert_int_equal(clock_parse_time("2025-12-05T22:00:00Z", &ms), 0);
	assert_int_equal(ms, 1764972000000);
	assert_int_equal(clock_parse_time("2025-12-05t22:00:00z", &ms), 0);
	assert_int_equal(ms, 1764972000000);
	assert_int_equal(clock_parse_time("2025-12-05T22:00:00.5Z", &ms), 0);
	assert_int_equal(ms, 1764972000500);
	assert_int_equal(
	    clock_parse_time("2025-12-05T22:00:00.123456789Z", &ms), 0);
	assert_int_equal(ms, 1764972000123);
	assert_int_equal(clock_parse_time("2025-12-05T23:30:00+01:30", &ms), 0);
	assert_int_equal(ms, 1764972000000);
	assert_int_equal(clock_parse_time("2025-12-05T20:00:00-02:00", &ms), 0);
	assert_int_equal(ms, 1764972000000);
	assert_int_equal(clock_parse_time("2024-02-29T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 1709164800000);
	assert_int_equal(clock_parse_time("2000-03-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 951868800000);
	assert_int_equal(clock_parse_time("1970-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(clock_parse_time("9999-12-31T23:59:59Z", &ms), 0);
	assert_int_equal(ms, 253402300799000);

	static const char *const bad[] = { "", "-1", "1.5", "253402300800",
		"99999999999999999999", "2025-12-05", "2025-12-05T22:00:00",
		"2025-12-05 22:00:00Z", "2025-12-05T22:00Z",
		"2025-13-05T22:00:00Z", "2025-00-05T22:00:00Z",
		"2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
		"2025-04-31T00:00:00Z", "2025-12-05T24:00:00Z",
		"2025-12-05T22:60:00Z", "2025-12-05T22:00:60Z",
		"2025-12-05T22:00:00.Z", "2025-12-05T22:00:00+0100",
		"2025-12-05T22:00:00+24:00", "2025-12-05T22:00:00Zjunk",
		"1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00",
		"+2025-12-05T22:00:00Z", "2025-1-05T22:00:00Z", " 1" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (clock_parse_time(bad[i], &ms) != PC_ERR_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(clock_parse_time(NULL, &ms), PC_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util_buf_put_within_max),
		cmocka_unit_test(test_util_buf_growing_past_max_is_too_large),
		cmocka_unit_test(test_util_buf_first_put_over_max),
		cmocka_unit_test(test_util_buf_reserve_no_wrap),
		cmocka_unit_test(test_util_buf_max_zero),
		cmocka_unit_test(test_util_buf_grows_to_max),
		cmocka_unit_test(test_util_buf_printf),
		cmocka_unit_test(test_util_buf_steal),
		cmocka_unit_test(test_util_buf_reset_wipes),
		cmocka_unit_test(test_util_str_to_int64_accepts),
		cmocka_unit_test(test_util_str_to_int64_overflow),
		cmocka_unit_test(test_util_str_to_int64_strict_syntax),
		cmocka_unit_test(test_util_str_to_int64_range),
		cmocka_unit_test(test_util_str_split),
		cmocka_unit_test(test_util_str_trim),
		cmocka_unit_test(test_util_str_compare),
		cmocka_unit_test(test_util_str_is_utf8_accepts),
		cmocka_unit_test(test_util_str_is_utf8_rejects),
		cmocka_unit_test(test_util_str_is_text),
		cmocka_unit_test(test_util_hex_encode),
		cmocka_unit_test(test_util_clock_parse_time),
		cmocka_unit_test(test_util_strerror_covers_codes),
		cmocka_unit_test(test_util_AU04_log_line_shape),
		cmocka_unit_test(test_util_AU04_log_level_filter),
		cmocka_unit_test(
		    test_util_AU04_log_escapes_quotes_and_backslashes),
		cmocka_unit_test(test_util_AU04_log_escapes_controls),
		cmocka_unit_test(test_util_AU04_log_escapes_control_in_key),
		cmocka_unit_test(test_util_AU04_log_invalid_utf8),
		cmocka_unit_test(test_util_AU04_log_all_bytes),
		cmocka_unit_test(test_util_AU04_log_truncates_long_value),
		cmocka_unit_test(test_util_AU04_log_fields_after_truncation),
		cmocka_unit_test(test_util_AU04_log_many_fields),
	};

	log_init(LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
