/*
 * Captures what the code under test writes to stderr (the logger's
 * output): capture_begin() points stderr at a pipe, capture_end() flushes
 * the logger, restores stderr and returns what was written (malloc'd,
 * NUL-ended; its length in *len when len is not NULL). Output beyond the
 * pipe's capacity would block the writer: keep captured runs short.
 */
#ifndef PC_TEST_CAPTURE_H
#define PC_TEST_CAPTURE_H

#include <stddef.h>
#include <unistd.h>

#include "util/log.h"
#include "util/util.h"

struct capture {
	int saved, rd;
};

static inline void
capture_begin(struct capture *c)
{
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
	close(fds[1]);
	c->rd = fds[0];
}

static inline char *
capture_end(struct capture *c, size_t *len)
{
	char chunk[4096];
	struct buf b;
	ssize_t n;

	log_flush();
	assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
	close(c->saved);
	buf_init(&b, 1024 * 1024);
	while ((n = read(c->rd, chunk, sizeof(chunk))) > 0)
		assert_int_equal(buf_put(&b, chunk, (size_t)n), 0);
	close(c->rd);
	if (len != NULL)
		*len = b.len;
	return buf_steal(&b);
}

#endif
