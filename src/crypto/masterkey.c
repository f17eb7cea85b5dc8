/*
 * The master key: loaded from a file (created on first start with mode
 * 0600) or the environment, kept in guarded memory, and the root from which
 * every sealing and MAC key is derived (masterkey_derive()).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto.h"

#define MK_LEN 32
#define MK_ENV "PORTCULLIS_MASTER_KEY"

struct masterkey {
	uint8_t key[MK_LEN];
};

void
masterkey_path(const struct config *cfg, char *out, size_t n)
{
	if (cfg->master_key_file != NULL && cfg->master_key_file[0] != '\0')
		snprintf(out, n, "%s", cfg->master_key_file);
	else
		snprintf(out, n, "%s/master.key", cfg->data_dir);
}

/* 64 hex digits, or base64/base64url (padded or not) of 32 bytes. */
static int
decode_key(const char *s, size_t len, uint8_t out[MK_LEN])
{
	size_t bin_len = 0;
	static const int variants[] = {
		sodium_base64_VARIANT_URLSAFE_NO_PADDING,
		sodium_base64_VARIANT_URLSAFE,
		sodium_base64_VARIANT_ORIGINAL,
		sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
	};

	while (len > 0 &&
	    (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
		len--;
	if (len == 2 * MK_LEN &&
	    sodium_hex2bin(out, MK_LEN, s, len, NULL, &bin_len, NULL) == 0 &&
	    bin_len == MK_LEN)
		return 0;
	for (size_t i = 0; i < PC_NELEM(variants); i++) {
		if (sodium_base642bin(out, MK_LEN, s, len, NULL, &bin_len, NULL,
			variants[i]) == 0 &&
		    bin_len == MK_LEN)
			return 0;
	}
	sodium_memzero(out, MK_LEN);
	return PC_ERR_INVALID;
}

static struct masterkey *
mk_new(void)
{
	struct masterkey *mk = sodium_malloc(sizeof(*mk));

	if (mk == NULL)
		fatal("sodium_malloc failed");
	return mk;
}

static int
read_file(const char *path, struct masterkey *mk, char *err, size_t err_len)
{
	struct stat st;
	char text[256];
	ssize_t n;
	int fd, r = PC_ERR_IO;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, err_len, "cannot open master key %s: %s", path,
		    strerror(errno));
		return errno == ENOENT ? PC_ERR_NOT_FOUND : PC_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(
		    err, err_len, "master key %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, err_len,
		    "master key %s is readable or writable "
		    "by group or others (mode %04o); run: chmod 600 %s",
		    path, (unsigned)(st.st_mode & 07777), path);
		r = PC_ERR_PERM;
		goto out;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, err_len,
		    "master key %s is owned by uid %u, not "
		    "by this process (uid %u)",
		    path, (unsigned)st.st_uid, (unsigned)geteuid());
		r = PC_ERR_PERM;
		goto out;
	}
	n = read(fd, text, sizeof(text) - 1);
	if (n <= 0 || decode_key(text, (size_t)n, mk->key) != 0) {
		snprintf(err, err_len,
		    "master key %s: expected 32 bytes as "
		    "base64url or hex",
		    path);
		r = PC_ERR_INVALID;
		goto out;
	}
	r = 0;
out:
	sodium_memzero(text, sizeof(text));
	close(fd);
	return r;
}

int
masterkey_create_file(const char *path, char *err, size_t err_len)
{
	uint8_t key[MK_LEN];
	char text[64];
	size_t len;
	int fd, r = PC_ERR_IO;

	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, err_len, "cannot create master key %s: %s", path,
		    strerror(errno));
		return PC_ERR_IO;
	}
	randombytes_buf(key, sizeof(key));
	b64url_encode(key, sizeof(key), text);
	len = strlen(text);
	text[len++] = '\n';
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		snprintf(err, err_len, "cannot write master key %s: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	if (close(fd) != 0) {
		snprintf(err, err_len, "cannot write master key %s", path);
		unlink(path);
		goto out;
	}
	r = 0;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(text, sizeof(text));
	return r;
}

int
masterkey_load(const struct config *cfg, bool create, struct masterkey **out,
    enum masterkey_source *src, char *err, size_t err_len)
{
	struct masterkey *mk;
	char path[4096];
	char *env = getenv(MK_ENV);
	int r;

	*out = NULL;
	err[0] = '\0';
	mk = mk_new();
	if (env != NULL && env[0] != '\0') {
		size_t len = strlen(env);

		r = decode_key(env, len, mk->key);
		/* Wipe the value in place (it also backs /proc/self/environ)
		 * and drop the variable so children never inherit it. */
		sodium_memzero(env, len);
		unsetenv(MK_ENV);
		if (r != 0) {
			snprintf(err, err_len,
			    "%s: expected 32 bytes as "
			    "base64url or hex",
			    MK_ENV);
			masterkey_free(mk);
			return PC_ERR_CONFIG;
		}
		*src = MASTERKEY_ENV;
		*out = mk;
		return 0;
	}
	masterkey_path(cfg, path, sizeof(path));
	r = read_file(path, mk, err, err_len);
	if (r == PC_ERR_NOT_FOUND && create) {
		if ((r = masterkey_create_file(path, err, err_len)) == 0 &&
		    (r = read_file(path, mk, err, err_len)) == 0) {
			*src = MASTERKEY_CREATED;
			*out = mk;
			return 0;
		}
	} else if (r == 0) {
		*src = MASTERKEY_FILE;
		*out = mk;
		return 0;
	} else if (r == PC_ERR_NOT_FOUND) {
		snprintf(err, err_len,
		    "no master key: set %s or create %s "
		    "with `portcullis master-key init` (production mode never "
		    "creates one by itself)",
		    MK_ENV, path);
	}
	masterkey_free(mk);
	return r;
}

void
masterkey_free(struct masterkey *mk)
{
	if (mk != NULL)
		sodium_free(mk); /* zeroes before release */
}

void
masterkey_derive(
    const struct masterkey *mk, const char ctx[8], uint64_t id, uint8_t out[32])
{
	if (crypto_kdf_derive_from_key(out, 32, id, ctx, mk->key) != 0)
		fatal("crypto_kdf_derive_from_key failed");
}
