/*
 * The password of `user add` and `user set-password`: from a terminal
 * with echo off (asked twice) or, with --password-stdin, the first line
 * of standard input; never from argv. Without a terminal and without
 * --password-stdin, add needs --no-password to create a user without one
 * (a piped password is never silently dropped). The buffers live in
 * sodium_malloc memory and are wiped when freed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/auth.h"
#include "cli/cli.h"

/*
 * A password of at most PW_MAX_BYTES + 1 bytes (one more than allowed, so
 * the policy can say "too long"), in sodium_malloc memory.
 */
#define PW_BUF (PW_MAX_BYTES + 2)

/* Reads one line from fd without stdio buffering; the newline is dropped. */
static int
read_line(int fd, char *buf, size_t *len)
{
	size_t n = 0;
	bool any = false;

	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return PC_ERR_IO;
		if (r == 0)
			break;
		any = true;
		if (ch == '\n')
			break;
		if (n < PW_BUF - 1)
			buf[n++] = ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return any ? 0 : PC_ERR_NOT_FOUND;
}

/* The terminal settings to put back if a signal ends us mid-prompt. */
static struct termios saved_tty;

static void
restore_tty(int sig)
{
	/* Both are async-signal-safe. */
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
}

static int
prompt(const char *text, char *buf, size_t *len)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa, old_sa[PC_NELEM(sigs)];
	struct termios quiet;
	int r;

	if (tcgetattr(STDIN_FILENO, &saved_tty) != 0)
		return PC_ERR_IO;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_tty;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < PC_NELEM(sigs); i++)
		(void)sigaction(sigs[i], &sa, &old_sa[i]);
	quiet = saved_tty;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	/* Echo off first (typeahead is flushed), then the prompt. */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
		r = PC_ERR_IO;
		goto out;
	}
	fputs(text, stderr);
	fflush(stderr);
	r = read_line(STDIN_FILENO, buf, len);
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	fputc('\n', stderr);
out:
	for (size_t i = 0; i < PC_NELEM(sigs); i++)
		(void)sigaction(sigs[i], &old_sa[i], NULL);
	return r;
}

/*
 * Gets the password: standard input with --password-stdin, else the
 * terminal (twice). *pw is NULL when none was given (add on a terminal
 * with an empty answer, or no terminal). Returns 0 or an exit code.
 */
int
cli_user_password(
    const struct cli_ctx *c, bool required, char **pw, size_t *len)
{
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	int rc = 1;

	*pw = NULL;
	*len = 0;
	if ((a = sodium_malloc(PW_BUF)) == NULL)
		goto out;
	if (cli_has(c, "password-stdin")) {
		if (read_line(STDIN_FILENO, a, &alen) != 0) {
			fprintf(stderr,
			    "portcullis: no password on standard "
			    "input\n");
			goto out;
		}
	} else if (isatty(STDIN_FILENO)) {
		if ((b = sodium_malloc(PW_BUF)) == NULL ||
		    prompt("New password: ", a, &alen) != 0)
			goto out;
		if (alen == 0 && !required) {
			rc = 0; /* no password credential */
			goto out;
		}
		if (prompt("Repeat password: ", b, &blen) != 0)
			goto out;
		if (alen != blen || sodium_memcmp(a, b, alen) != 0) {
			fprintf(stderr, "portcullis: the passwords differ\n");
			goto out;
		}
	} else if (!required && cli_has(c, "no-password")) {
		rc = 0; /* asked for: the account gets no password */
		goto out;
	} else {
		/* A password piped in without --password-stdin would be
		 * ignored and the account created without one. */
		fprintf(stderr,
		    "portcullis: standard input is not a terminal: use "
		    "--password-stdin%s\n",
		    required ? ""
			     : ", or --no-password for a user without a "
			       "password");
		rc = 2;
		goto out;
	}
	*pw = a;
	*len = alen;
	a = NULL;
	rc = 0;
out:
	if (a != NULL)
		sodium_free(a); /* zeroes */
	if (b != NULL)
		sodium_free(b);
	return rc;
}
