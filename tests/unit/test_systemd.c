/*
 * Unit tests for server/systemd.c (issue 17, item 4): the sd_notify
 * messages as systemd receives them, on an AF_UNIX datagram socket this
 * test binds and points NOTIFY_SOCKET at (READY with STATUS, a STATUS
 * that tries to smuggle a second assignment, RELOADING with its
 * CLOCK_MONOTONIC stamp, STOPPING, WATCHDOG, nothing at all without
 * NOTIFY_SOCKET); the watchdog interval from WATCHDOG_USEC and
 * WATCHDOG_PID; the probe against a listener that never answers; and
 * socket activation refusing what is not a listening TCP socket.
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/systemd.h"

static char dir[] = "/tmp/pc-notify-XXXXXX";
static char path[64];
static int sink = -1;

static int
setup(void **state)
{
	struct sockaddr_un a;

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/notify", dir);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	sink = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sink < 0 || bind(sink, (struct sockaddr *)&a, sizeof(a)) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	close(sink);
	unlink(path);
	rmdir(dir);
	return 0;
}

/* The next datagram, or "" when none comes within ms. */
static const char *
next_msg(int ms)
{
	static char m[1024];
	struct timeval tv = { 0, (long)ms * 1000 };
	ssize_t n;

	(void)setsockopt(sink, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(sink, m, sizeof(m) - 1, 0);
	m[n > 0 ? n : 0] = '\0';
	return m;
}

static uint64_t
mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
test_messages(void **state)
{
	(void)state;
	setenv("NOTIFY_SOCKET", path, 1);
	notify_ready("ready; serving https://id.example");
	assert_string_equal(next_msg(1000),
	    "READY=1\nSTATUS=ready; serving https://id.example");
	notify_status("not ready");
	assert_string_equal(next_msg(1000), "STATUS=not ready");
	notify_watchdog();
	assert_string_equal(next_msg(1000), "WATCHDOG=1");
	notify_stopping();
	assert_string_equal(next_msg(1000),
	    "STOPPING=1\nSTATUS=stopping: finishing requests in flight");
	/* Nothing else was sent. */
	assert_string_equal(next_msg(50), "");
}

/*
 * A status carries text from elsewhere (a configuration error): a newline
 * in it must not become a second assignment such as READY=1 or
 * MAINPID=, which systemd would act on.
 */
static void
test_status_cannot_inject(void **state)
{
	(void)state;
	setenv("NOTIFY_SOCKET", path, 1);
	notify_status("bad value\nMAINPID=1\rREADY=1");
	assert_string_equal(
	    next_msg(1000), "STATUS=bad value MAINPID=1 READY=1");
	notify_ready("x\nSTOPPING=1");
	assert_string_equal(next_msg(1000), "READY=1\nSTATUS=x STOPPING=1");
}

/* RELOADING=1 with the CLOCK_MONOTONIC time of the reload, then the
 * READY=1 that ends it, in that order. */
static void
test_reload_order(void **state)
{
	const char *m;
	unsigned long long t;
	uint64_t before, after;

	(void)state;
	setenv("NOTIFY_SOCKET", path, 1);
	before = mono_usec();
	notify_reloading();
	after = mono_usec();
	notify_ready("ready; reloaded");
	m = next_msg(1000);
	assert_int_equal(
	    strncmp(m, "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=", 44),
	    0);
	t = strtoull(m + 44, NULL, 10);
	assert_true(t >= before && t <= after);
	assert_string_equal(next_msg(1000), "READY=1\nSTATUS=ready; reloaded");
}

/* Without NOTIFY_SOCKET (not run by systemd) nothing is sent at all. */
static void
test_no_socket_no_message(void **state)
{
	(void)state;
	setenv("NOTIFY_SOCKET", "", 1);
	notify_ready("ready");
	unsetenv("NOTIFY_SOCKET");
	notify_ready("ready");
	notify_reloading();
	notify_watchdog();
	notify_stopping();
	assert_string_equal(next_msg(100), "");
}

static void
test_watchdog_interval(void **state)
{
	char pid[32];

	(void)state;
	setenv("NOTIFY_SOCKET", path, 1);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(notify_watchdog_interval(), 0);
	/* Half of WATCHDOG_USEC. */
	setenv("WATCHDOG_USEC", "3000000", 1);
	assert_int_equal(notify_watchdog_interval(), 1500000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(notify_watchdog_interval(), 1500000);
	/* Meant for another process (a child that inherited it): off. */
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(notify_watchdog_interval(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "soon", 1);
	assert_int_equal(notify_watchdog_interval(), 0);
	/* No socket to kick through (unset or empty): off. */
	setenv("WATCHDOG_USEC", "3000000", 1);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(notify_watchdog_interval(), 0);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_watchdog_interval(), 0);
	unsetenv("WATCHDOG_USEC");
}

/* A listener that takes the connection (the kernel's backlog) but never
 * answers: no kick, within the timeout. */
static void
test_probe_needs_an_answer(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in a;
	socklen_t sl = sizeof(ss);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	long status = -1;
	uint64_t t0;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	t0 = mono_usec();
	assert_false(server_probe(&ss, NULL, 300, &status));
	assert_true(mono_usec() - t0 < 3000000);
	assert_int_equal(status, 0);
	close(fd);
	/* Nobody listening at all. */
	assert_false(server_probe(&ss, NULL, 300, &status));
}

/* Puts fd at SD_LISTEN_FDS_START as systemd would, with LISTEN_* set. */
static void
pass_socket(int fd, const char *name)
{
	char pid[32];

	if (fd != 3) {
		assert_int_equal(dup2(fd, 3), 3);
		close(fd);
	}
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_FDNAMES", name, 1);
}

static int
tcp_socket(bool listening)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void
test_socket_activation(void **state)
{
	struct server_fds fds = { -1, -1, -1 };
	char err[256];
	int saved = dup(3); /* whatever the test runner keeps there */

	(void)state;
	/* Without LISTEN_FDS: nothing taken. */
	unsetenv("LISTEN_FDS");
	assert_int_equal(systemd_sockets(&fds, err, sizeof(err)), 0);
	assert_int_equal(fds.main, -1);

	/* A listening TCP socket named "admin" serves admin_listen, and
	 * the variables are gone after (no child inherits them). */
	pass_socket(tcp_socket(true), "admin");
	assert_int_equal(systemd_sockets(&fds, err, sizeof(err)), 1);
	assert_int_equal(fds.admin, 3);
	assert_int_equal(fds.main, -1);
	assert_null(getenv("LISTEN_FDS"));
	assert_true(fcntl(3, F_GETFD) & FD_CLOEXEC);
	close(3);
	fds.admin = -1;

	/* Refused: a TCP socket that does not listen, a UDP socket, a Unix
	 * stream socket; each closed, none taken. */
	pass_socket(tcp_socket(false), "portcullis.socket");
	assert_true(systemd_sockets(&fds, err, sizeof(err)) < 0);
	if (strstr(err, "not a listening TCP socket") == NULL)
		fail_msg("%s", err);
	assert_int_equal(fds.main, -1);
	assert_int_equal(fcntl(3, F_GETFD), -1);

	pass_socket(socket(AF_INET, SOCK_DGRAM, 0), "x");
	assert_true(systemd_sockets(&fds, err, sizeof(err)) < 0);
	assert_int_equal(fds.main, -1);
	assert_int_equal(fcntl(3, F_GETFD), -1);
	{
		int u = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un a;
		char p[64];

		snprintf(p, sizeof(p), "%s/stream", dir);
		memset(&a, 0, sizeof(a));
		a.sun_family = AF_UNIX;
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", p);
		assert_int_equal(bind(u, (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(listen(u, 4), 0);
		pass_socket(u, "x");
		assert_true(systemd_sockets(&fds, err, sizeof(err)) < 0);
		assert_int_equal(fds.main, -1);
		unlink(p);
	}
	if (saved >= 0) {
		dup2(saved, 3);
		close(saved);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_status_cannot_inject),
		cmocka_unit_test(test_reload_order),
		cmocka_unit_test(test_no_socket_no_message),
		cmocka_unit_test(test_watchdog_interval),
		cmocka_unit_test(test_probe_needs_an_answer),
		cmocka_unit_test(test_socket_activation),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
