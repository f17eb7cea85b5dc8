/*
 * Per-connection deadlines (SECURITY.md HT-06). libmicrohttpd has one
 * inactivity timeout; a client that sends one byte every few seconds never
 * trips it. The reaper thread enforces per-phase deadlines and shuts down
 * the socket of a connection past its deadline; libmicrohttpd then sees the
 * shutdown and closes the connection itself.
 */
#ifndef PC_HTTP_CONN_H
#define PC_HTTP_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum conn_phase {
	CONN_NEW = 0, /* accepted, request line not yet complete */
	CONN_IDLE,    /* keep-alive, between requests */
	CONN_HEADERS, /* request line read, headers arriving */
	CONN_BODY,    /* headers read, body arriving */
	CONN_BUSY,    /* handler running or response being sent */
};

struct conn {
	struct conn *prev, *next;
	int fd;
	_Atomic int phase;
	_Atomic uint64_t since_ms; /* monotonic, start of phase */
	bool killed;
	/* The TCP peer's address as text, formatted on the connection's first
	 * request (a keep-alive connection keeps its peer). Only the
	 * connection's own libmicrohttpd thread touches it. */
	char peer[48];
};

struct reaper {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	struct conn *head;
	bool stop;
	bool started;
	uint64_t header_ms;
	uint64_t body_ms;
	uint64_t idle_ms;
};

int reaper_start(
    struct reaper *rp, uint64_t header_ms, uint64_t body_ms, uint64_t idle_ms);
void reaper_stop(struct reaper *rp);
void reaper_add(struct reaper *rp, struct conn *c);
void reaper_remove(struct reaper *rp, struct conn *c);
void conn_phase(struct conn *c, enum conn_phase p);

#endif
