/*
 * The connection reaper: a thread that closes connections stuck too long
 * in one phase (request line and headers, body, keep-alive idle), so a slow
 * client cannot hold a connection slot forever (slowloris).
 */
#include <sys/socket.h>

#include <errno.h>
#include <time.h>

#include "http/conn.h"
#include "util/log.h"
#include "util/util.h"

#define TICK_MS 250

void
conn_phase(struct conn *c, enum conn_phase p)
{
	atomic_store_explicit(
	    &c->since_ms, clock_mono_ms(), memory_order_relaxed);
	atomic_store_explicit(&c->phase, (int)p, memory_order_release);
}

static uint64_t
deadline_of(const struct reaper *rp, int phase)
{
	switch (phase) {
	case CONN_NEW:
	case CONN_HEADERS: return rp->header_ms;
	case CONN_BODY: return rp->body_ms;
	case CONN_IDLE: return rp->idle_ms;
	default: return 0; /* the handler is ours; no deadline */
	}
}

static const char *
phase_name(int phase)
{
	switch (phase) {
	case CONN_NEW: return "request-line";
	case CONN_HEADERS: return "headers";
	case CONN_BODY: return "body";
	case CONN_IDLE: return "keep-alive";
	default: return "busy";
	}
}

static void *
reaper_main(void *arg)
{
	struct reaper *rp = arg;
	struct timespec ts;

	pthread_mutex_lock(&rp->lock);
	while (!rp->stop) {
		uint64_t now = clock_mono_ms();

		for (struct conn *c = rp->head; c != NULL; c = c->next) {
			int ph = atomic_load_explicit(
			    &c->phase, memory_order_acquire);
			uint64_t since = atomic_load_explicit(
			    &c->since_ms, memory_order_relaxed);
			uint64_t limit = deadline_of(rp, ph);

			if (c->killed || limit == 0 || now < since ||
			    now - since < limit)
				continue;
			/* libmicrohttpd notices and closes the connection. */
			shutdown(c->fd, SHUT_RDWR);
			c->killed = true;
			if (ph != CONN_IDLE) {
				struct log_line l;

				log_begin(&l, LOG_WARN, "http.timeout");
				log_str(&l, "phase", phase_name(ph));
				log_int(&l, "after_ms", (int64_t)(now - since));
				log_end(&l);
			}
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&rp->cond, &rp->lock, &ts);
	}
	pthread_mutex_unlock(&rp->lock);
	return NULL;
}

int
reaper_start(
    struct reaper *rp, uint64_t header_ms, uint64_t body_ms, uint64_t idle_ms)
{
	pthread_mutex_init(&rp->lock, NULL);
	pthread_cond_init(&rp->cond, NULL);
	rp->head = NULL;
	rp->stop = false;
	rp->header_ms = header_ms;
	rp->body_ms = body_ms;
	rp->idle_ms = idle_ms;
	if (pthread_create(&rp->thread, NULL, reaper_main, rp) != 0)
		return PC_ERR_INTERNAL;
	rp->started = true;
	return 0;
}

void
reaper_stop(struct reaper *rp)
{
	if (!rp->started)
		return;
	pthread_mutex_lock(&rp->lock);
	rp->stop = true;
	pthread_cond_signal(&rp->cond);
	pthread_mutex_unlock(&rp->lock);
	pthread_join(rp->thread, NULL);
	pthread_cond_destroy(&rp->cond);
	pthread_mutex_destroy(&rp->lock);
	rp->started = false;
}

void
reaper_add(struct reaper *rp, struct conn *c)
{
	pthread_mutex_lock(&rp->lock);
	c->prev = NULL;
	c->next = rp->head;
	if (rp->head != NULL)
		rp->head->prev = c;
	rp->head = c;
	pthread_mutex_unlock(&rp->lock);
}

void
reaper_remove(struct reaper *rp, struct conn *c)
{
	pthread_mutex_lock(&rp->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		rp->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&rp->lock);
}
