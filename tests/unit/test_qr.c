/*
 * Unit tests for web/qr.c (issue 16: the TOTP enrolment's QR code as
 * inline SVG). The SVG's path is read back into a module matrix and
 * checked against what every QR code must have where a scanner looks for
 * it: a size of 17 + 4v modules, the three finder patterns in their
 * corners with their light separators, the timing patterns, the dark
 * module, and nothing in the quiet zone. A drawing that was mirrored,
 * shifted, or dropped or merged runs would break one of these. Also: no
 * script or style in the markup (strict CSP), and bad input writes
 * nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "web/web.h"

#define MAXN 177 /* version 40 */

struct matrix {
	int n;	   /* modules per side, without the quiet zone */
	int quiet; /* the border, in modules */
	bool dark[MAXN][MAXN];
};

/* A decimal number at *p, after the literal prefix lit; moves *p past it. */
static int
num(const char **p, const char *lit)
{
	char *end = NULL;
	long v;

	assert_int_equal(strncmp(*p, lit, strlen(lit)), 0);
	*p += strlen(lit);
	v = strtol(*p, &end, 10);
	assert_true(end != *p && v >= 0 && v < 100000);
	*p = end;
	return (int)v;
}

/* Reads "<svg ... viewBox="0 0 S S" ...><path ... d="M.. ..h..v1h-..z..."/>"
 * back into m. */
static void
parse(const char *svg, struct matrix *m)
{
	const char *p = strstr(svg, "viewBox=\"0 0 ");
	int size, size2;

	memset(m, 0, sizeof(*m));
	assert_non_null(p);
	size = num(&p, "viewBox=\"0 0 ");
	size2 = num(&p, " ");
	assert_int_equal(size, size2);
	m->quiet = 4;
	m->n = size - 2 * m->quiet;
	assert_true(m->n >= 21 && m->n <= MAXN);
	p = strstr(svg, "<path fill=\"#000\" d=\"");
	assert_non_null(p);
	assert_null(strstr(p + 1, "<path")); /* one path */
	p += strlen("<path fill=\"#000\" d=\"");
	while (*p == 'M') {
		int x = num(&p, "M"), y = num(&p, " "), run = num(&p, "h"),
		    back = num(&p, "v1h-");

		assert_int_equal(*p++, 'z');
		assert_int_equal(run, back);
		assert_true(run >= 1);
		/* Nothing in the quiet zone. */
		assert_true(x >= m->quiet && y >= m->quiet);
		assert_true(x + run <= m->quiet + m->n && y < m->quiet + m->n);
		for (int i = 0; i < run; i++) {
			assert_false(m->dark[y - m->quiet][x - m->quiet + i]);
			m->dark[y - m->quiet][x - m->quiet + i] = true;
		}
	}
	assert_int_equal(*p, '"');
}

/* A finder pattern with its top-left module at (x, y): a dark 7x7 ring,
 * a light ring inside, a dark 3x3 centre. */
static void
finder_at(const struct matrix *m, int x, int y)
{
	for (int j = 0; j < 7; j++)
		for (int i = 0; i < 7; i++) {
			bool ring = i == 0 || i == 6 || j == 0 || j == 6;
			bool core = i >= 2 && i <= 4 && j >= 2 && j <= 4;

			assert_int_equal(m->dark[y + j][x + i], ring || core);
		}
}

static void
draw(const char *text, struct matrix *m, struct buf *b)
{
	buf_init(b, 512 * 1024);
	assert_int_equal(web_qr_svg(b, text, "QR code"), 0);
	parse(buf_cstr(b), m);
}

static void
test_qr_structure(void **state)
{
	static const char *const texts[] = {
		"otpauth://totp/id.example.com:alice%40example.com?secret="
		"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=id.example.com&"
		"algorithm=SHA1&digits=6&period=30",
		"x",
	};
	static struct matrix m;
	struct buf b;

	(void)state;
	for (size_t t = 0; t < PC_NELEM(texts); t++) {
		int n, v;

		draw(texts[t], &m, &b);
		n = m.n;
		v = (n - 17) / 4;
		assert_int_equal(17 + 4 * v, n);
		assert_true(v >= 1 && v <= 40);
		/* Finders: top left, top right, bottom left; none bottom right. */
		finder_at(&m, 0, 0);
		finder_at(&m, n - 7, 0);
		finder_at(&m, 0, n - 7);
		/* Their separators are light. */
		for (int i = 0; i < 8; i++) {
			assert_false(m.dark[7][i]);
			assert_false(m.dark[i][7]);
			assert_false(m.dark[7][n - 1 - i]);
			assert_false(m.dark[i][n - 8]);
			assert_false(m.dark[n - 8][i]);
			assert_false(m.dark[n - 1 - i][7]);
		}
		/* Timing patterns: row 6 and column 6 alternate. */
		for (int i = 8; i < n - 8; i++) {
			assert_int_equal(m.dark[6][i], i % 2 == 0);
			assert_int_equal(m.dark[i][6], i % 2 == 0);
		}
		/* The dark module beside the bottom-left finder. */
		assert_true(m.dark[4 * v + 9][8]);
		/* Strict CSP: nothing to run, no inline style. */
		assert_null(strstr(buf_cstr(&b), "<script"));
		assert_null(strstr(buf_cstr(&b), "style="));
		assert_non_null(strstr(buf_cstr(&b), "aria-label=\"QR code\""));
		buf_free(&b);
	}
}

static void
test_qr_bad_input_writes_nothing(void **state)
{
	char *big = malloc(2000);
	struct buf b;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', 1999);
	big[1999] = '\0';
	buf_init(&b, 64 * 1024);
	assert_int_equal(web_qr_svg(&b, NULL, NULL), PC_ERR_INVALID);
	assert_int_equal(web_qr_svg(&b, "", NULL), PC_ERR_INVALID);
	assert_int_equal(web_qr_svg(&b, big, NULL), PC_ERR_INVALID);
	assert_int_equal(b.len, 0);
	/* The label is escaped. */
	assert_int_equal(web_qr_svg(&b, "x", "<a \"b\">"), 0);
	assert_null(strstr(buf_cstr(&b), "<a \"b\">"));
	assert_non_null(strstr(buf_cstr(&b), "&lt;a"));
	buf_free(&b);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qr_structure),
		cmocka_unit_test(test_qr_bad_input_writes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
