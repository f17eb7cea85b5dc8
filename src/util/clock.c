/*
 * Time for the whole program: wall-clock seconds and milliseconds for
 * expiries stored in the database, and a monotonic clock for deadlines and
 * timeouts inside one process, which wall-clock jumps must not move.
 */
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
