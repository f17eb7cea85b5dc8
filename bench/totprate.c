/*
 * TOTP verification rates, in process: what one TOTP code costs the
 * server in totp_verify() (src/auth/totp.c), with its real store (SQLite,
 * in a scratch directory, migrated) and a real master key, without HTTP
 * or the session around it. No Argon2id is on this path.
 *
 *   bench-totprate SECONDS
 *
 * One thread. A user is enrolled and activated once; then two loops of
 * SECONDS each:
 *   accept   the right code, each at the next time step (now moves 30 s
 *            per call, the code made with totp_generate()): the store
 *            read, the seed unsealed, two codes generated and compared,
 *            and the step advanced in the store (MF-01: a durable write)
 *   refuse   a well-formed wrong code at one fixed time: the same read,
 *            unseal and comparisons, no write
 * Prints one line each:
 *   NAME verifications N seconds S per_s R cpu_us C
 * (as bench-passkeyrate). Exit 1 when setup fails or a code is judged
 * wrongly.
 *
 * Built by bench/run.sh against the static libraries of BUILD_DIR (see
 * bench/mfa.sh for the command).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "crypto/crypto.h"
#include "store/db.h"
#include "store/store.h"
#include "util/config.h"

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct bench {
	char dir[128], key_path[160];
	struct config cfg;
	struct masterkey *mk;
	struct db *db;
	struct store_user user;
	uint8_t seed[TOTP_SEED_BYTES];
	int64_t now;
};

static int
setup(struct bench *b)
{
	enum masterkey_source src;
	char err[512] = "", secret[TOTP_SECRET_B32_MAX], code[TOTP_DIGITS + 1];
	char *raw = NULL;
	size_t n = 0;
	int from, to;

	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(b->dir, sizeof(b->dir), "%s/pc-totprate-XXXXXX",
		tmp) >= sizeof(b->dir) ||
	    mkdtemp(b->dir) == NULL)
		return -1;
	snprintf(b->key_path, sizeof(b->key_path), "%s/master.key", b->dir);
	unsetenv("PORTCULLIS_MASTER_KEY");
	config_defaults(&b->cfg);
	b->now = (int64_t)time(NULL);
	if (config_set(&b->cfg, "data_dir", b->dir, CONFIG_SRC_FLAG, err,
		sizeof(err)) != 0 ||
	    config_set(&b->cfg, "issuer", "https://id.example.com",
		CONFIG_SRC_FLAG, err, sizeof(err)) != 0 ||
	    config_finish(&b->cfg, err, sizeof(err)) != 0 ||
	    masterkey_create_file(b->key_path, err, sizeof(err)) != 0 ||
	    masterkey_load(&b->cfg, false, &b->mk, &src, err, sizeof(err)) !=
		0 ||
	    db_open("", b->dir, &b->db) != 0 ||
	    store_migrate(b->db, &from, &to, err, sizeof(err)) != 0 ||
	    user_create(b->db, "bench@example.com", "Bench", true, &b->user) !=
		0 ||
	    totp_enrol_begin(b->db, b->mk, b->user.id, "id.example.com",
		"bench@example.com", b->now, secret, NULL) != 0) {
		fprintf(stderr, "bench-totprate: setup: %s\n", err);
		return -1;
	}
	/* The seed behind the secret, as an authenticator app reads it. */
	if (oath_init() != OATH_OK ||
	    oath_base32_decode(secret, strlen(secret), &raw, &n) != OATH_OK ||
	    n != TOTP_SEED_BYTES) {
		free(raw);
		return -1;
	}
	memcpy(b->seed, raw, n);
	free(raw);
	if (totp_generate(b->seed, sizeof(b->seed), b->now / TOTP_PERIOD,
		TOTP_DIGITS, code) != 0 ||
	    totp_enrol_activate(b->db, b->mk, b->user.id, code, b->now) != 0) {
		fprintf(stderr, "bench-totprate: cannot activate\n");
		return -1;
	}
	return 0;
}

static void
teardown(struct bench *b)
{
	char path[192];
	static const char *const files[] = { "master.key", "portcullis.db",
		"portcullis.db-wal", "portcullis.db-shm" };
	size_t i;

	store_user_clear(&b->user);
	if (b->db != NULL)
		db_close(b->db);
	masterkey_free(b->mk);
	config_free(&b->cfg);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", b->dir, files[i]);
		unlink(path);
	}
	rmdir(b->dir); /* fails, harmlessly, if the store left other files */
}

/* One verification: accepted (the next step's code) or a wrong code. */
static int
one(struct bench *b, bool accept)
{
	char code[TOTP_DIGITS + 1];

	if (!accept)
		return totp_verify(b->db, b->mk, b->user.id, "000000",
			   b->now) == PC_ERR_VERIFY
		    ? 0
		    : -1;
	b->now += TOTP_PERIOD;
	if (totp_generate(b->seed, sizeof(b->seed), b->now / TOTP_PERIOD,
		TOTP_DIGITS, code) != 0)
		return -1;
	return totp_verify(b->db, b->mk, b->user.id, code, b->now);
}

static int
loop(struct bench *b, const char *name, bool accept, double secs)
{
	double t0, c0, t, c;
	long n = 0;

	t0 = clock_s(CLOCK_MONOTONIC);
	c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	do {
		if (one(b, accept) != 0) {
			fprintf(
			    stderr, "bench-totprate: %s: misjudged\n", name);
			return 1;
		}
		n++;
		t = clock_s(CLOCK_MONOTONIC) - t0;
	} while (t < secs);
	c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("%s verifications %ld seconds %.2f per_s %.0f cpu_us %.1f\n",
	    name, n, t, (double)n / t, c * 1e6 / (double)n);
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench b;
	char *end = NULL;
	double secs = argc > 1 ? strtod(argv[1], &end) : 3;
	int r = 1;

	if ((argc > 1 && (end == argv[1] || *end != '\0')) || secs <= 0 ||
	    sodium_init() < 0) {
		fprintf(stderr, "usage: bench-totprate SECONDS\n");
		return 1;
	}
	memset(&b, 0, sizeof(b));
	/* "000000" must be wrong at the refuse loop's fixed time. */
	if (setup(&b) == 0) {
		char c0[TOTP_DIGITS + 1], c1[TOTP_DIGITS + 1];

		b.now += 10 * TOTP_PERIOD;
		if (totp_generate(b.seed, sizeof(b.seed), b.now / TOTP_PERIOD,
			TOTP_DIGITS, c0) == 0 &&
		    totp_generate(b.seed, sizeof(b.seed),
			b.now / TOTP_PERIOD - 1, TOTP_DIGITS, c1) == 0 &&
		    strcmp(c0, "000000") != 0 && strcmp(c1, "000000") != 0 &&
		    loop(&b, "refuse", false, secs) == 0 &&
		    loop(&b, "accept", true, secs) == 0)
			r = 0;
	}
	teardown(&b);
	return r;
}
