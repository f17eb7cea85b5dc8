/*
 * The project's error codes (PC_ERR_*, util.h) as text, and the allocation
 * wrappers that abort on failure: an out-of-memory process stops rather
 * than run on with half-built state.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

const char *
pc_strerror(int err)
{
	switch (err) {
	case PC_OK: return "ok";
	case PC_ERR_INTERNAL: return "internal error";
	case PC_ERR_INVALID: return "invalid input";
	case PC_ERR_TOO_LARGE: return "input too large";
	case PC_ERR_NOT_FOUND: return "not found";
	case PC_ERR_DUPLICATE: return "duplicate";
	case PC_ERR_STORE: return "store unavailable";
	case PC_ERR_CONFLICT: return "conflict";
	case PC_ERR_CRYPTO: return "cryptographic failure";
	case PC_ERR_VERIFY: return "verification failed";
	case PC_ERR_IO: return "i/o error";
	case PC_ERR_CONFIG: return "configuration error";
	case PC_ERR_BUSY: return "busy";
	case PC_ERR_PERM: return "unsafe permissions";
	case PC_ERR_UNSUPPORTED: return "unsupported";
	default: return "unknown error";
	}
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		fatal("out of memory (%zu bytes)", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL)
		fatal("out of memory");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n == 0 ? 1 : n);

	if (q == NULL)
		fatal("out of memory (%zu bytes)", n);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

void
xstrset(char **field, const char *v)
{
	if (v == NULL)
		return;
	free(*field);
	*field = xstrdup(v);
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
fatal(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(LOG_ERROR, "fatal", msg);
	exit(1);
}
