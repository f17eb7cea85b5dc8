/*
 * The ceiling for bench/run.sh: a bare libmicrohttpd server configured like
 * src/http/mhd.c (epoll internal thread + ITC, a thread pool of one thread
 * per core, the same connection limits, idle timeout, per-connection memory
 * pool and strict parsing), answering every request with a small static
 * JSON body and nothing else: no routing, no header checks, no security
 * headers, no request log, no allocation per request beyond libmicrohttpd's
 * own.
 *
 *   bench-hello PORT [THREADS [MAX_CONN [MAX_PER_IP [TIMEOUT_S [POOL]]]]]
 *
 * Defaults mirror portcullis' defaults: THREADS = online CPUs,
 * MAX_CONN = 1024, MAX_PER_IP = 64, TIMEOUT_S = 30 (http_idle_timeout),
 * POOL = 2 * 8 KiB (http_max_header) + 32 KiB. Listens on 127.0.0.1 only,
 * prints "ready PORT" on stdout, and runs until SIGTERM or SIGINT.
 *
 * Build: cc -O2 bench/hello.c $(pkg-config --cflags --libs libmicrohttpd)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

static const char body[] = "{\"status\":\"ok\",\"hello\":\"world\"}";

static enum MHD_Result
handler(void *cls, struct MHD_Connection *con, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	/* First call: headers only. Answer on the second, like a real app. */
	if (*con_cls == NULL) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	*upload_data_size = 0;
	r = MHD_create_response_from_buffer(
	    sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(con, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static unsigned
arg(int argc, char **argv, int i, unsigned def)
{
	if (argc <= i)
		return def;
	return (unsigned)strtoul(argv[i], NULL, 10);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *di;
	sigset_t set;
	int sig;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned port, threads, max_conn, per_ip, timeout;
	size_t pool;

	if (argc < 2) {
		fprintf(stderr,
		    "usage: %s PORT [THREADS [MAX_CONN [MAX_PER_IP "
		    "[TIMEOUT_S [POOL]]]]]\n",
		    argv[0]);
		return 2;
	}
	port = arg(argc, argv, 1, 0);
	threads = arg(argc, argv, 2, ncpu > 0 ? (unsigned)ncpu : 1);
	if (threads == 0)
		threads = ncpu > 0 ? (unsigned)ncpu : 1;
	max_conn = arg(argc, argv, 3, 1024);
	per_ip = arg(argc, argv, 4, 64);
	timeout = arg(argc, argv, 5, 30);
	pool = arg(argc, argv, 6, 8 * 1024 * 2 + 32 * 1024);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	/* Like portcullis: signals are taken by main only. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	d = MHD_start_daemon(
	    MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_LIMIT, max_conn,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "bench-hello: cannot start on port %u\n", port);
		return 1;
	}
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("ready %u threads %u\n", di != NULL ? di->port : port, threads);
	fflush(stdout);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	MHD_stop_daemon(d);
	return 0;
}
