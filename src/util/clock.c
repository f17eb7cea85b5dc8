/*
 * Time for the whole program: wall-clock seconds and milliseconds for
 * expiries stored in the database, and a monotonic clock for deadlines and
 * timeouts inside one process, which wall-clock jumps must not move; and
 * the reading of a time an operator typed (RFC 3339 or unix seconds).
 */
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

int64_t
clock_now(void)
{
	return clock_now_ms() / 1000;
}

int64_t
clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil), for y >= 1970. */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* n digits at *p into *out; moves *p past them. */
static bool
digits(const char **p, int n, int64_t *out)
{
	int64_t v = 0;

	for (int i = 0; i < n; i++) {
		char ch = (*p)[i];

		if (ch < '0' || ch > '9')
			return false;
		v = v * 10 + (ch - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool
expect(const char **p, const char *chars)
{
	if (**p == '\0' || strchr(chars, **p) == NULL)
		return false;
	(*p)++;
	return true;
}

int
clock_parse_time(const char *s, int64_t *ms)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	const char *p = s;
	int64_t y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0, sign = 0;
	int64_t t;

	*ms = 0;
	if (s == NULL || *s == '\0')
		return PC_ERR_INVALID;
	if (strspn(s, "0123456789") == strlen(s)) {
		/* Unix seconds, up to the end of year 9999. */
		if (str_to_int64(str_from(s), 0, 253402300799, &t) != 0)
			return PC_ERR_INVALID;
		*ms = t * 1000;
		return 0;
	}
	if (!digits(&p, 4, &y) || !expect(&p, "-") || !digits(&p, 2, &mo) ||
	    !expect(&p, "-") || !digits(&p, 2, &d) || !expect(&p, "Tt") ||
	    !digits(&p, 2, &h) || !expect(&p, ":") || !digits(&p, 2, &mi) ||
	    !expect(&p, ":") || !digits(&p, 2, &sec))
		return PC_ERR_INVALID;
	if (*p == '.') {
		int n = 0;

		for (p++; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 3)
				frac = frac * 10 + (*p - '0');
		if (n == 0)
			return PC_ERR_INVALID;
		for (; n < 3; n++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (!digits(&p, 2, &oh) || !expect(&p, ":") ||
		    !digits(&p, 2, &om) || oh > 23 || om > 59)
			return PC_ERR_INVALID;
	} else {
		return PC_ERR_INVALID;
	}
	if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap(y)) || h > 23 || mi > 59 ||
	    sec > 59)
		return PC_ERR_INVALID;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	if (t < 0)
		return PC_ERR_INVALID;
	*ms = t * 1000 + frac;
	return 0;
}
