/*
 * Structured logging: one line of key=value pairs per event, values
 * escaped so a request cannot forge a line, the request id attached per
 * thread, and optional per-thread buffering flushed by a background thread
 * so logging does not serialise the workers.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/util.h"

/* Atomic: SIGHUP changes it while threads log (server/reload.c). */
static _Atomic enum log_level min_level = LOG_INFO;
static _Thread_local const char *cur_rid;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_init(enum log_level level)
{
	min_level = level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < PC_NELEM(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return PC_ERR_INVALID;
}

bool
log_enabled(enum log_level level)
{
	return level >= min_level;
}

void
log_set_rid(const char *rid)
{
	cur_rid = rid;
}

const char *
log_get_rid(void)
{
	return cur_rid;
}

/* Room kept for the closing "}\n" and a truncation marker. */
#define RESERVE 32

/* All or nothing: a piece that does not fit marks the line full. */
static void
raw(struct log_line *l, const char *s, size_t n)
{
	if (l->full || l->len + n > LOG_LINE_MAX - RESERVE) {
		l->full = true;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* Closing quotes may use the reserve so a cut line stays valid JSON. */
static void
force(struct log_line *l, const char *s, size_t n)
{
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* JSON string contents; invalid UTF-8 bytes and controls become \u00XX. */
static void
escaped(struct log_line *l, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	struct str one;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[7];
		size_t run = i;

		/* Copy a run of plain printable ASCII in one go. */
		while (run < n && (unsigned char)s[run] >= 0x20 &&
		    (unsigned char)s[run] < 0x7f && s[run] != '"' &&
		    s[run] != '\\')
			run++;
		if (run > i) {
			size_t room = LOG_LINE_MAX - RESERVE - l->len;

			/* Keep the part that fits, then mark the line cut. */
			if (run - i > room) {
				raw(l, s + i, room);
				l->full = true;
				break;
			}
			raw(l, s + i, run - i);
			i = run - 1;
			continue;
		}

		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			raw(l, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(e, "\\u00", 4);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 0xf];
			raw(l, e, 6);
		} else if (c < 0x80) {
			raw(l, (const char *)&c, 1);
		} else {
			/* Copy a whole valid sequence, else escape the byte. */
			size_t k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

			one.p = s + i;
			one.len = k <= n - i ? k : n - i;
			if (one.len == k && str_is_utf8(one)) {
				raw(l, one.p, k);
				i += k - 1;
			} else {
				memcpy(e, "\\u00", 4);
				e[4] = hex[c >> 4];
				e[5] = hex[c & 0xf];
				raw(l, e, 6);
			}
		}
		if (l->full)
			break;
	}
}

static void
key(struct log_line *l, const char *k)
{
	raw(l, ",\"", 2);
	escaped(l, k, strlen(k));
	raw(l, "\":", 2);
}

/* "YYYY-MM-DDTHH:MM:SS" of the current second, formatted once per second
 * per thread. */
static const char *
second_stamp(time_t sec)
{
	static _Thread_local time_t last = -1;
	static _Thread_local char stamp[32];
	struct tm tm;

	if (sec != last) {
		gmtime_r(&sec, &tm);
		if (strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) ==
		    0)
			stamp[0] = '\0';
		last = sec;
	}
	return stamp;
}

void
log_begin(struct log_line *l, enum log_level level, const char *event)
{
	struct timespec ts;
	const char *stamp;
	long ms;
	char frac[6];

	l->len = 0;
	l->full = false;
	l->level = level;
	l->skip = !log_enabled(level);
	if (l->skip)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	stamp = second_stamp(ts.tv_sec);
	ms = ts.tv_nsec / 1000000;
	frac[0] = '.';
	frac[1] = (char)('0' + ms / 100);
	frac[2] = (char)('0' + ms / 10 % 10);
	frac[3] = (char)('0' + ms % 10);
	frac[4] = 'Z';
	raw(l, "{\"ts\":\"", 7);
	raw(l, stamp, strlen(stamp));
	raw(l, frac, 5);
	raw(l, "\",\"level\":\"", 11);
	raw(l, level_names[level], strlen(level_names[level]));
	raw(l, "\",\"event\":\"", 11);
	escaped(l, event, strlen(event));
	raw(l, "\"", 1);
	if (cur_rid != NULL)
		log_str(l, "rid", cur_rid);
}

void
log_str(struct log_line *l, const char *k, const char *val)
{
	if (val == NULL)
		return;
	log_strn(l, k, val, strlen(val));
}

void
log_strn(struct log_line *l, const char *k, const char *val, size_t len)
{
	if (l->skip || l->full)
		return;
	if (l->len + strlen(k) + 8 > LOG_LINE_MAX - RESERVE) {
		l->full = true;
		return;
	}
	key(l, k);
	raw(l, "\"", 1);
	escaped(l, val, len);
	force(l, "\"", 1);
}

void
log_int(struct log_line *l, const char *k, int64_t val)
{
	char num[24];
	int n;

	if (l->skip || l->full)
		return;
	if (l->len + strlen(k) + 28 > LOG_LINE_MAX - RESERVE) {
		l->full = true;
		return;
	}
	{
		/* By hand: snprintf is a measurable share of a request. */
		char tmp[24];
		uint64_t u =
		    val < 0 ? (uint64_t)0 - (uint64_t)val : (uint64_t)val;
		int t = 0;

		do {
			tmp[t++] = (char)('0' + u % 10);
			u /= 10;
		} while (u != 0);
		n = 0;
		if (val < 0)
			num[n++] = '-';
		while (t > 0)
			num[n++] = tmp[--t];
	}
	key(l, k);
	raw(l, num, (size_t)n);
}

void
log_bool(struct log_line *l, const char *k, bool val)
{
	if (l->skip || l->full)
		return;
	if (l->len + strlen(k) + 12 > LOG_LINE_MAX - RESERVE) {
		l->full = true;
		return;
	}
	key(l, k);
	raw(l, val ? "true" : "false", val ? 4 : 5);
}

void
log_json(struct log_line *l, const char *k, const char *json)
{
	size_t n;

	if (l->skip || l->full || json == NULL)
		return;
	n = strlen(json);
	if (l->len + strlen(k) + n + 64 > LOG_LINE_MAX - RESERVE) {
		char tk[64];

		snprintf(tk, sizeof(tk), "%s_truncated", k);
		log_bool(l, tk, true);
		return;
	}
	key(l, k);
	raw(l, json, n);
}

static void
write_all(const char *p, size_t n)
{
	size_t off = 0;
	ssize_t w;

	while (off < n) {
		w = write(STDERR_FILENO, p + off, n - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

/*
 * Buffered mode (the server): info and debug lines go to a per-thread
 * buffer that is written when it passes 16 KiB, when the thread logs a
 * warning or an error, and by the flusher thread every 100 ms. A write(2)
 * per request line was the largest cost of a request; at 4 KiB a loaded
 * thread still wrote every ~16 lines (issue 13), now every ~64. Lines are
 * whole, so lines from threads never interleave; they may reach the file
 * up to 100 ms apart from their timestamps.
 */
#define TBUF_SIZE (32 * 1024)
#define TBUF_FLUSH (16 * 1024)

struct tbuf {
	pthread_mutex_t mu;
	struct tbuf *next;
	size_t len;
	char data[TBUF_SIZE];
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tbuf *reg_head;
static _Atomic bool buffered;
static _Thread_local struct tbuf *mine;
static pthread_t flusher;
static pthread_mutex_t flusher_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flusher_cv = PTHREAD_COND_INITIALIZER;
static bool flusher_on, flusher_stop;

static void
tbuf_flush_locked(struct tbuf *t)
{
	write_all(t->data, t->len);
	t->len = 0;
}

static struct tbuf *
tbuf_mine(void)
{
	if (mine == NULL) {
		mine = xcalloc(1, sizeof(*mine));
		pthread_mutex_init(&mine->mu, NULL);
		pthread_mutex_lock(&reg_mu);
		mine->next = reg_head;
		reg_head = mine;
		pthread_mutex_unlock(&reg_mu);
	}
	return mine;
}

void
log_flush(void)
{
	pthread_mutex_lock(&reg_mu);
	for (struct tbuf *t = reg_head; t != NULL; t = t->next) {
		pthread_mutex_lock(&t->mu);
		tbuf_flush_locked(t);
		pthread_mutex_unlock(&t->mu);
	}
	pthread_mutex_unlock(&reg_mu);
}

static void *
flusher_main(void *arg)
{
	struct timespec ts;

	(void)arg;
	pthread_mutex_lock(&flusher_mu);
	while (!flusher_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&flusher_cv, &flusher_mu, &ts);
		pthread_mutex_unlock(&flusher_mu);
		log_flush();
		pthread_mutex_lock(&flusher_mu);
	}
	pthread_mutex_unlock(&flusher_mu);
	return NULL;
}

int
log_buffering_start(void)
{
	if (flusher_on)
		return 0;
	flusher_stop = false;
	if (pthread_create(&flusher, NULL, flusher_main, NULL) != 0)
		return PC_ERR_INTERNAL;
	flusher_on = true;
	buffered = true;
	return 0;
}

void
log_buffering_stop(void)
{
	struct tbuf *t, *next;

	buffered = false;
	if (flusher_on) {
		pthread_mutex_lock(&flusher_mu);
		flusher_stop = true;
		pthread_cond_signal(&flusher_cv);
		pthread_mutex_unlock(&flusher_mu);
		pthread_join(flusher, NULL);
		flusher_on = false;
	}
	/* Only once every other logging thread has stopped. */
	log_flush();
	pthread_mutex_lock(&reg_mu);
	for (t = reg_head; t != NULL; t = next) {
		next = t->next;
		pthread_mutex_destroy(&t->mu);
		free(t);
	}
	reg_head = NULL;
	mine = NULL;
	pthread_mutex_unlock(&reg_mu);
}

void
log_end(struct log_line *l)
{
	struct tbuf *t;

	if (l->skip)
		return;
	if (l->full)
		force(l, ",\"truncated\":true", 17);
	l->buf[l->len++] = '}';
	l->buf[l->len++] = '\n';
	if (!buffered) {
		/* One write per line so lines from threads never interleave. */
		write_all(l->buf, l->len);
		return;
	}
	t = tbuf_mine();
	pthread_mutex_lock(&t->mu);
	if (l->level >= LOG_WARN) {
		/* Keep this thread's order; warnings are written at once. */
		tbuf_flush_locked(t);
		write_all(l->buf, l->len);
	} else {
		if (t->len + l->len > TBUF_SIZE)
			tbuf_flush_locked(t);
		memcpy(t->data + t->len, l->buf, l->len);
		t->len += l->len;
		if (t->len >= TBUF_FLUSH)
			tbuf_flush_locked(t);
	}
	pthread_mutex_unlock(&t->mu);
}

void
log_msg(enum log_level level, const char *event, const char *msg)
{
	struct log_line l;

	log_begin(&l, level, event);
	log_str(&l, "msg", msg);
	log_end(&l);
}
