/*
 * The server and systemd (decision 0074): sd_notify messages (READY,
 * STOPPING, RELOADING, STATUS, WATCHDOG), the probe that earns a watchdog
 * kick, and the listening sockets of socket activation. Everything here
 * is a no-op when the server was not started by systemd.
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <systemd/sd-daemon.h>

#include "server/systemd.h"
#include "util/log.h"
#include "util/util.h"

/*
 * One datagram, when NOTIFY_SOCKET names a socket (unset or empty: not
 * run by systemd). A failed send is logged, never fatal.
 */
static bool
notify_on(void)
{
	const char *e = getenv("NOTIFY_SOCKET");

	return e != NULL && e[0] != '\0';
}

static void
send_state(const char *state)
{
	int r;

	if (!notify_on())
		return;
	r = sd_notify(0, state);

	if (r < 0)
		log_msg(LOG_WARN, "systemd.notify", strerror(-r));
}

/* STATUS= is one line: a newline would start another assignment. */
static void
status_line(char *out, size_t n, const char *prefix, const char *status)
{
	size_t i;

	snprintf(out, n, "%sSTATUS=%s", prefix, status != NULL ? status : "");
	for (i = strlen(prefix); out[i] != '\0'; i++)
		if (out[i] == '\n' || out[i] == '\r')
			out[i] = ' ';
}

void
notify_ready(const char *status)
{
	char m[512];

	status_line(m, sizeof(m), "READY=1\n", status);
	send_state(m);
}

void
notify_status(const char *status)
{
	char m[512];

	status_line(m, sizeof(m), "", status);
	send_state(m);
}

void
notify_stopping(void)
{
	send_state("STOPPING=1\nSTATUS=stopping: finishing requests in "
		   "flight");
}

void
notify_reloading(void)
{
	struct timespec ts;
	char m[128];

	/* systemd (Type=notify-reload, 253+) pairs the reload with its
	 * request by this CLOCK_MONOTONIC time. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(m, sizeof(m),
	    "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
		(unsigned long long)ts.tv_nsec / 1000ULL);
	send_state(m);
}

void
notify_watchdog(void)
{
	send_state("WATCHDOG=1");
}

uint64_t
notify_watchdog_interval(void)
{
	uint64_t usec = 0;

	/* > 0: WATCHDOG_USEC is set and WATCHDOG_PID, if set, is us. No
	 * socket to kick through: no watchdog. */
	if (!notify_on() || sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	return usec / 2 > 0 ? usec / 2 : 1;
}

/* ---- the watchdog's probe ---- */

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* "http://127.0.0.1:8080/readyz", "https://[::1]:8443/readyz". */
static int
probe_url(const struct sockaddr_storage *ss, bool tls, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	if (ss->ss_family == AF_INET6) {
		struct sockaddr_in6 a;

		memcpy(&a, ss, sizeof(a));
		if (IN6_IS_ADDR_UNSPECIFIED(&a.sin6_addr))
			a.sin6_addr = in6addr_loopback;
		if (inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof(host)) ==
		    NULL)
			return PC_ERR_INTERNAL;
		port = ntohs(a.sin6_port);
		snprintf(out, n, "%s://[%s]:%u/readyz", tls ? "https" : "http",
		    host, port);
		return 0;
	}
	if (ss->ss_family == AF_INET) {
		struct sockaddr_in a;

		memcpy(&a, ss, sizeof(a));
		if (a.sin_addr.s_addr == htonl(INADDR_ANY))
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (inet_ntop(AF_INET, &a.sin_addr, host, sizeof(host)) == NULL)
			return PC_ERR_INTERNAL;
		port = ntohs(a.sin_port);
		snprintf(out, n, "%s://%s:%u/readyz", tls ? "https" : "http",
		    host, port);
		return 0;
	}
	return PC_ERR_INVALID;
}

/* Once per process, never cleaned up (as in mail/): curl_global_init is
 * not to be raced by the mail sender's own. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_rc = CURLE_FAILED_INIT;

static void
curl_init(void)
{
	curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool
server_probe(const struct sockaddr_storage *addr, const char *cert_pem,
    int64_t timeout_ms, long *status)
{
	char url[128];
	CURL *h;
	CURLcode rc;

	*status = 0;
	(void)pthread_once(&curl_once, curl_init);
	if (curl_rc != CURLE_OK ||
	    probe_url(addr, cert_pem != NULL, url, sizeof(url)) != 0 ||
	    (h = curl_easy_init()) == NULL)
		return false;
	(void)curl_easy_setopt(h, CURLOPT_URL, url);
	(void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	(void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	(void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	(void)curl_easy_setopt(h, CURLOPT_USERAGENT, "portcullis-watchdog");
	if (cert_pem != NULL) {
		struct curl_blob ca = { (void *)cert_pem, strlen(cert_pem),
			CURL_BLOB_COPY };

		/* Our own certificate is the one trust anchor (a partial
		 * chain is accepted); the name is not checked: the socket
		 * is ours. */
		(void)curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
		(void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		(void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	return rc == CURLE_OK && *status != 0;
}

/* ---- socket activation ---- */

/* Which of fds a passed socket's name (FileDescriptorName=) serves. */
static int *
slot_for(struct server_fds *fds, const char *name)
{
	if (name != NULL && strcmp(name, "admin") == 0)
		return &fds->admin;
	if (name != NULL && strcmp(name, "metrics") == 0)
		return &fds->metrics;
	return &fds->main;
}

int
systemd_sockets(struct server_fds *fds, char *err, size_t err_len)
{
	char **names = NULL;
	int n, r = 0;

	/* 1: unset LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES. */
	n = sd_listen_fds_with_names(1, &names);
	if (n <= 0) {
		if (n < 0)
			snprintf(err, err_len,
			    "cannot take the sockets systemd passed: %s",
			    strerror(-n));
		return n < 0 ? PC_ERR_CONFIG : 0;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		const char *name = names != NULL ? names[i] : NULL;
		int *slot = slot_for(fds, name);

		/* A listening TCP socket (IPv4 or IPv6), nothing else. */
		if (r == 0 &&
		    sd_is_socket_inet(fd, 0, SOCK_STREAM, 1, 0) <= 0) {
			snprintf(err, err_len,
			    "the socket systemd passed as '%s' is not a "
			    "listening TCP socket",
			    name != NULL ? name : "?");
			r = PC_ERR_CONFIG;
		} else if (r == 0 && *slot >= 0) {
			snprintf(err, err_len,
			    "systemd passed two sockets for '%s'",
			    name != NULL ? name : "?");
			r = PC_ERR_CONFIG;
		}
		if (r == 0) {
			/* systemd passes them inheritable. */
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
			*slot = fd;
		} else {
			(void)close(fd);
		}
	}
	if (names != NULL) {
		for (int i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	if (r != 0) {
		int *all[] = { &fds->main, &fds->admin, &fds->metrics };

		for (size_t i = 0; i < PC_NELEM(all); i++) {
			if (*all[i] >= SD_LISTEN_FDS_START &&
			    *all[i] < SD_LISTEN_FDS_START + n) {
				(void)close(*all[i]);
				*all[i] = -1;
			}
		}
		return r;
	}
	return n;
}
