/*
 * Growable byte buffers with a hard maximum (struct buf, util.h), and the
 * one wipe-then-free helper, pc_freezero(): everything that held a secret
 * is released through it, so no path forgets the wipe.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "util/util.h"

void
buf_init(struct buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
pc_freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	sodium_memzero(p, n);
	free(p);
}

void
pc_freezero_str(char *s)
{
	if (s != NULL)
		pc_freezero(s, strlen(s));
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	pc_freezero(b->p, b->cap);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	if (b->p != NULL)
		sodium_memzero(b->p, b->len);
	b->len = 0;
}

/* Room for n more bytes plus a NUL, within max. */
int
buf_reserve(struct buf *b, size_t n)
{
	size_t need, ncap;
	uint8_t *np;

	if (n > b->max || b->len > b->max - n)
		return PC_ERR_TOO_LARGE;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap == 0 ? 64 : b->cap;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	/* Grow by copy so the old block can be wiped before release. */
	np = xmalloc(ncap);
	if (b->p != NULL) {
		memcpy(np, b->p, b->len);
		pc_freezero(b->p, b->cap);
	}
	b->p = np;
	b->cap = ncap;
	return 0;
}

int
buf_put(struct buf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = buf_reserve(b, n)) != 0)
		return r;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int
buf_putc(struct buf *b, char c)
{
	return buf_put(b, &c, 1);
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_put(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return PC_ERR_INTERNAL;
	if ((r = buf_reserve(b, (size_t)n)) != 0)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *
buf_cstr(struct buf *b)
{
	if (b->p == NULL) {
		b->p = xmalloc(1);
		b->cap = 1;
	}
	/* buf_reserve always keeps one byte past len. */
	b->p[b->len] = '\0';
	return (const char *)b->p;
}

char *
buf_steal(struct buf *b)
{
	char *s;

	buf_cstr(b);
	s = (char *)b->p;
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	return s;
}
