/*
 * server/systemd: how the server talks to systemd (issue 17, item 4;
 * decision 0074), the only user of <systemd/sd-daemon.h>. Readiness,
 * reload and stop notifications and the watchdog (sd_notify), and the
 * listening sockets systemd passes (socket activation, sd_listen_fds).
 * Without NOTIFY_SOCKET every notify_* is a no-op; without LISTEN_FDS
 * systemd_sockets() takes nothing.
 */
#ifndef PC_SERVER_SYSTEMD_H
#define PC_SERVER_SYSTEMD_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/server.h"

/* "READY=1" with "STATUS=status": the server answers. */
void notify_ready(const char *status);
/* "STATUS=status" alone (a reload that failed, the store down). */
void notify_status(const char *status);
/* "STOPPING=1": SIGTERM or SIGINT, draining. */
void notify_stopping(void);
/* "RELOADING=1" and "MONOTONIC_USEC=now" (SIGHUP); READY=1 follows. */
void notify_reloading(void);
/* "WATCHDOG=1": only after a probe proved the server answers. */
void notify_watchdog(void);
/*
 * How often to kick the watchdog, in microseconds: half of WATCHDOG_USEC
 * when systemd enabled it for this process (sd_watchdog_enabled()), else
 * 0.
 */
uint64_t notify_watchdog_interval(void);

/*
 * The watchdog's proof (run.c, main thread): a GET /readyz to addr (the
 * main listener's bound address; a wildcard becomes loopback) through
 * the whole stack: accept, a worker thread, the router, the store's
 * connection. cert_pem, when the listener speaks TLS, is the only
 * certificate trusted (host name unchecked: it is our own socket). True
 * when an HTTP answer came within timeout_ms; *status is its code (200
 * ready, 503 the store refused or is down but answered).
 */
bool server_probe(const struct sockaddr_storage *addr, const char *cert_pem,
    int64_t timeout_ms, long *status);

/*
 * Socket activation: the sockets systemd passed (LISTEN_FDS, unset
 * afterwards so no child inherits them), each checked to be a listening
 * TCP stream socket. A socket named (FileDescriptorName=) "admin" or
 * "metrics" serves admin_listen or metrics_listen; any other name is the
 * main listener. Fills the matching members of fds (left -1 otherwise).
 * Returns how many were taken (0 without socket activation), or a
 * negative PC_ERR_* with err set; then none is left open.
 */
int systemd_sockets(struct server_fds *fds, char *err, size_t err_len);

#endif
