/*
 * Raw Argon2id hash rate: the ceiling for password sign-ins.
 *
 *   bench-hashrate THREADS SECONDS [MEMORY_MIB [ITERATIONS]]
 *
 * THREADS threads each call crypto_pwhash_str() (Argon2id, p = 1, what
 * src/auth/password.c stores) in a loop with MEMORY_MIB MiB (default 64)
 * and ITERATIONS passes (default 3), starting a new hash only while less
 * than SECONDS have passed. Prints one line:
 *   hashes N seconds S hashes_per_s R threads T
 * where S is the wall time from the start until the last thread finished
 * its last hash, so R = N / S counts only whole hashes. Exit 1 when a hash
 * fails (out of memory).
 *
 * Built by bench/run.sh:
 *   cc -O2 bench/hashrate.c $(pkg-config --cflags --libs libsodium) -pthread
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

static double deadline;
static unsigned long long memlimit, opslimit;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct worker {
	pthread_t t;
	long n;
	int failed;
};

static void *
run(void *arg)
{
	struct worker *w = arg;
	char out[crypto_pwhash_STRBYTES];
	static const char pw[] = "bench-lantern-orbit-saffron-42";

	while (now_s() < deadline) {
		if (crypto_pwhash_str_alg(out, pw, sizeof(pw) - 1, opslimit,
			(size_t)memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
			w->failed = 1;
			break;
		}
		w->n++;
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct worker *w;
	long threads, i, total = 0;
	double secs, t0, t1;
	int failed = 0;

	if (argc < 3 || argc > 5) {
		fprintf(stderr,
		    "usage: %s THREADS SECONDS [MEMORY_MIB "
		    "[ITERATIONS]]\n",
		    argv[0]);
		return 2;
	}
	threads = strtol(argv[1], NULL, 10);
	secs = strtod(argv[2], NULL);
	memlimit = (argc > 3 ? strtoull(argv[3], NULL, 10) : 64) * 1024 * 1024;
	opslimit = argc > 4 ? strtoull(argv[4], NULL, 10) : 3;
	if (threads < 1 || threads > 1024 || secs <= 0) {
		fprintf(stderr, "bench-hashrate: bad arguments\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "bench-hashrate: sodium_init failed\n");
		return 1;
	}
	w = calloc((size_t)threads, sizeof(*w));
	if (w == NULL)
		return 1;
	t0 = now_s();
	deadline = t0 + secs;
	for (i = 0; i < threads; i++)
		if (pthread_create(&w[i].t, NULL, run, &w[i]) != 0) {
			fprintf(stderr, "bench-hashrate: pthread_create\n");
			return 1;
		}
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].t, NULL);
		total += w[i].n;
		failed |= w[i].failed;
	}
	t1 = now_s();
	free(w);
	if (failed) {
		fprintf(stderr, "bench-hashrate: crypto_pwhash_str failed\n");
		return 1;
	}
	printf("hashes %ld seconds %.3f hashes_per_s %.2f threads %ld\n", total,
	    t1 - t0, (double)total / (t1 - t0), threads);
	return 0;
}
