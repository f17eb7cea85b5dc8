/*
 * util: error codes, capped buffers, string views, allocation and the clock.
 * Everything else in Portcullis builds on these.
 */
#ifndef PC_UTIL_H
#define PC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PC_WUR __attribute__((warn_unused_result))
#define PC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define PC_NORETURN __attribute__((noreturn))
#define PC_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Error codes: 0 is success, every failure is negative. */
enum {
	PC_OK = 0,
	PC_ERR_INTERNAL = -1,  /* broken invariant or library failure */
	PC_ERR_INVALID = -2,   /* malformed input */
	PC_ERR_TOO_LARGE = -3, /* input over a cap */
	PC_ERR_NOT_FOUND = -4,
	PC_ERR_DUPLICATE = -5, /* a parameter or member given twice */
	PC_ERR_STORE = -6,     /* store unreachable or failing */
	PC_ERR_CONFLICT = -7,  /* unique constraint, lost race */
	PC_ERR_CRYPTO = -8,
	PC_ERR_VERIFY = -9, /* signature or token did not verify */
	PC_ERR_IO = -10,
	PC_ERR_CONFIG = -11,
	PC_ERR_BUSY = -12, /* retry later */
	PC_ERR_PERM = -13, /* unsafe permissions */
	PC_ERR_UNSUPPORTED = -14,
};

const char *pc_strerror(int err);

/* Allocation: out-of-memory in the daemon aborts here, in one place. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* *field (freed) becomes a copy of v; nothing happens when v is NULL. */
void xstrset(char **field, const char *v);
PC_NORETURN void fatal(const char *fmt, ...) PC_PRINTF(1, 2);

/*
 * Wipe, then free: for anything that held a secret (a key, a password, a
 * token). pc_freezero() wipes n bytes at p; pc_freezero_str() wipes a
 * NUL-terminated string up to its NUL. Both accept NULL.
 */
void pc_freezero(void *p, size_t n);
void pc_freezero_str(char *s);

/* Digest sizes, named once: a SHA-256 in bytes and in hex digits. */
#define PC_SHA256_LEN 32
#define PC_SHA256_HEX_LEN 64 /* without the NUL */

/*
 * A growable byte buffer with a mandatory maximum. Growing past the
 * maximum is an input error (PC_ERR_TOO_LARGE), never an allocation.
 * The contents are wiped when the buffer is freed or reset.
 */
struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_reserve(struct buf *b, size_t n) PC_WUR;
int buf_put(struct buf *b, const void *p, size_t n) PC_WUR;
int buf_putc(struct buf *b, char c) PC_WUR;
int buf_puts(struct buf *b, const char *s) PC_WUR;
int buf_printf(struct buf *b, const char *fmt, ...) PC_PRINTF(2, 3) PC_WUR;
/* NUL-terminates (outside len) and returns the contents as a C string. */
const char *buf_cstr(struct buf *b);
/* Hands the allocation to the caller (NUL-terminated); b is left empty. */
char *buf_steal(struct buf *b);

/* A read-only view of bytes; not NUL-terminated. */
struct str {
	const char *p;
	size_t len;
};

#define STR_LIT(s) ((struct str){ (s), sizeof(s) - 1 })
#define STR_NULL ((struct str){ NULL, 0 })

struct str str_from(const char *s);
bool str_eq(struct str a, struct str b);
bool str_eq_cstr(struct str a, const char *b);
bool str_case_eq_cstr(struct str a, const char *b);
bool str_has_prefix(struct str s, const char *prefix);
char *str_dup(struct str s);
/* Strict decimal: digits only, no sign unless min < 0, within [min, max]. */
int str_to_int64(struct str s, int64_t min, int64_t max, int64_t *out) PC_WUR;
/* Splits at the first c: head before it, tail after it; -1 if absent. */
int str_split(struct str s, char c, struct str *head, struct str *tail);
struct str str_trim(struct str s);
/* Valid UTF-8, no NUL and no C0/DEL control characters except \t. */
bool str_is_text(struct str s);
bool str_is_utf8(struct str s);

/*
 * A cheap pass over JSON text before a parser sees it: nesting ([ and {
 * outside strings) at most max_depth, else PC_ERR_TOO_LARGE; a raw NUL
 * byte is PC_ERR_INVALID. Everything else is left to the parser.
 */
int str_json_depth_ok(const char *s, size_t n, size_t max_depth) PC_WUR;

/* Hex encode n bytes into out (2n+1 bytes, NUL-terminated). */
void hex_encode(const uint8_t *in, size_t n, char *out);

/*
 * The clock. Every request captures one `now` at entry and passes it down
 * (SECURITY.md SS-10); this is the only place that reads the wall clock.
 */
int64_t clock_now(void);      /* unix seconds */
int64_t clock_now_ms(void);   /* unix milliseconds */
uint64_t clock_mono_ms(void); /* monotonic milliseconds */
uint64_t clock_mono_us(void); /* monotonic microseconds (metrics) */
/*
 * A time an operator typed, into unix milliseconds: unix seconds (digits
 * only) or an RFC 3339 date-time, "2026-12-05T22:00:00Z", with optional
 * fraction (".5", milliseconds kept) and "Z" or a numeric offset
 * ("+01:00"). Years 1970 to 9999; no leap second (:60). PC_ERR_INVALID
 * for anything else.
 */
int clock_parse_time(const char *s, int64_t *ms) PC_WUR;

#endif
