/*
 * log: one JSON object per line on stderr, for requests and events.
 *
 *	struct log_line l;
 *	log_begin(&l, LOG_INFO, "key.rotated");
 *	log_str(&l, "kid", kid);
 *	log_end(&l);
 *
 * Strings are escaped (control characters included, SECURITY.md AU-04).
 * Never pass a secret: tokens appear at most as a short hash prefix.
 */
#ifndef PC_LOG_H
#define PC_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

enum log_level {
	LOG_DEBUG = 0,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR
};

#define LOG_LINE_MAX 4096

struct log_line {
	char buf[LOG_LINE_MAX];
	size_t len;
	enum log_level level;
	bool skip;
	bool full;
};

void log_init(enum log_level min_level);
int log_level_parse(const char *s, enum log_level *out);
bool log_enabled(enum log_level level);

/* The request id of the request this thread is serving, or NULL. */
void log_set_rid(const char *rid);
const char *log_get_rid(void);

void log_begin(struct log_line *l, enum log_level level, const char *event);
void log_str(struct log_line *l, const char *key, const char *val);
void log_strn(struct log_line *l, const char *key, const char *val, size_t len);
void log_int(struct log_line *l, const char *key, int64_t val);
void log_bool(struct log_line *l, const char *key, bool val);
/* A JSON value as it is (json: text a JSON encoder wrote, so escaped
 * already); one that does not fit is left out whole, and the line says
 * so with key_truncated: true. */
void log_json(struct log_line *l, const char *key, const char *json);
void log_end(struct log_line *l);

/*
 * Buffered mode, for the server: info lines are written in batches (at
 * 4 KiB, at the thread's next warning, or within 100 ms); warnings and
 * errors at once. Stop only after every other logging thread has stopped.
 */
int log_buffering_start(void) PC_WUR;
void log_buffering_stop(void);
void log_flush(void);

/* One-liner: {"event": event, "msg": msg}. */
void log_msg(enum log_level level, const char *event, const char *msg);

#endif
