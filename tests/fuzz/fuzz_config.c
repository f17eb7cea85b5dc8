/*
 * libFuzzer driver for the configuration file parser: config_load_file()
 * over arbitrary file contents, then config_finish().
 *
 * The input is the whole file. It is written to a scratch file in memory
 * (/dev/shm when there is one) that the parser opens by name, so the real
 * file code runs (fopen,
 * fstat, getline) without touching the disk. Promises checked besides "no
 * crash, leak or hang":
 *   - the result is an error (with a message) or a config that passes its
 *     own validation (config_finish);
 *   - such a config, printed as check-config prints it (config_each) and
 *     written back as `name = "value"` lines, loads and validates again to
 *     the same settings: what the server shows is what it runs;
 *   - a valid config accepts requests for its own issuer (the Host
 *     allowlist admits issuer_authority), else the server would refuse
 *     every request it was configured for.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/config.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

/*
 * config_defaults() looks up every setting by name (some 2,500 string
 * compares, each traced by libFuzzer), which would be most of an
 * execution; the harness makes the defaults once and copies them. These
 * are the struct's strings, duplicated by the copy; setup() refuses to run
 * when config.h gains one that is not listed here.
 */
static const size_t strings[] = {
	offsetof(struct config, config_file),
	offsetof(struct config, data_dir),
	offsetof(struct config, issuer),
	offsetof(struct config, listen),
	offsetof(struct config, admin_listen),
	offsetof(struct config, metrics_listen),
	offsetof(struct config, store_url),
	offsetof(struct config, master_key_file),
	offsetof(struct config, tls_cert),
	offsetof(struct config, tls_key),
	offsetof(struct config, allowed_hosts),
	offsetof(struct config, log_level),
	offsetof(struct config, log_security_events),
	offsetof(struct config, audit_prune_store_url),
	offsetof(struct config, trusted_proxies),
	offsetof(struct config, smtp_url),
	offsetof(struct config, mail_from),
	offsetof(struct config, outbound_ca_file),
	offsetof(struct config, outbound_allow_networks),
	offsetof(struct config, outbound_allow_ports),
	offsetof(struct config, client_registration),
	offsetof(struct config, client_registration_scopes),
	offsetof(struct config, mfa),
	offsetof(struct config, issuer_scheme),
	offsetof(struct config, issuer_authority),
	offsetof(struct config, listen_host),
};
static struct config defaults;

static char **
field(struct config *c, size_t off)
{
	return (char **)(void *)((char *)c + off);
}

static void
copy_defaults(struct config *c)
{
	*c = defaults;
	for (size_t i = 0; i < PC_NELEM(strings); i++) {
		char **f = field(c, strings[i]);

		if (*f != NULL)
			*f = xstrdup(*f);
	}
}

static void
cleanup(void)
{
	(void)unlink(path);
	config_free(&defaults);
}

/* Two rounds of defaults differ exactly in their malloc'd strings. */
static void
setup(void)
{
	struct config a, b;

	config_defaults(&a);
	config_defaults(&b);
	for (size_t off = 0; off + sizeof(char *) <= sizeof(a);
	     off += sizeof(char *)) {
		bool listed = false;

		if (*field(&a, off) == *field(&b, off))
			continue;
		for (size_t i = 0; i < PC_NELEM(strings); i++)
			listed |= strings[i] == off;
		if (!listed) {
			fprintf(stderr,
			    "fuzz_config: struct config has a string at "
			    "offset %zu that the harness does not copy\n",
			    off);
			abort();
		}
	}
	config_free(&a);
	config_free(&b);
	config_defaults(&defaults);
	snprintf(path, sizeof(path), "%s/pc-fuzz-config-XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		abort();
	atexit(cleanup);
}

/* Replaces the scratch file's contents with data. */
static void
put(const void *data, size_t size)
{
	if (ftruncate(fd, 0) != 0 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
}

/* The settings as check-config prints them, one "name=value\n" each. */
static void
print_one(const char *name, const char *value, const char *source, void *arg)
{
	struct buf *b = arg;

	(void)source;
	if (buf_puts(b, name) != 0 || buf_puts(b, "=") != 0 ||
	    buf_puts(b, value != NULL ? value : "(null)") != 0 ||
	    buf_puts(b, "\n") != 0)
		abort();
}

/* The same settings as a config file: name = "value". smtp_url is the
 * one secret and prints masked, so its value is taken from the config. */
struct file_arg {
	struct buf *b;
	const struct config *c;
};

static void
file_one(const char *name, const char *value, const char *source, void *arg)
{
	struct file_arg *fa = arg;

	(void)source;
	if (strcmp(name, "smtp_url") == 0)
		value = fa->c->smtp_url;
	if (buf_puts(fa->b, name) != 0 || buf_puts(fa->b, " = \"") != 0 ||
	    buf_puts(fa->b, value) != 0 || buf_puts(fa->b, "\"\n") != 0)
		abort();
}

static void
dump(const struct config *c, struct buf *b, bool as_file)
{
	struct file_arg fa = { b, c };

	buf_init(b, 1024 * 1024);
	if (as_file)
		config_each(c, file_one, &fa);
	else
		config_each(c, print_one, b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c, again;
	struct buf b1, b2, file;
	char err[512];
	int r;

	if (fd < 0)
		setup();
	if (size > 256 * 1024)
		return 0;
	put(data, size);
	copy_defaults(&c);
	err[0] = '\0';
	r = config_load_file(&c, path, err, sizeof(err));
	if (r == 0)
		r = config_finish(&c, err, sizeof(err));
	if (r != 0) {
		/* An error always says what is wrong. */
		if (r != PC_ERR_CONFIG || err[0] == '\0')
			abort();
		config_free(&c);
		return 0;
	}
	if (!config_host_allowed(&c, c.issuer_authority))
		abort();

	/* Round trip through what check-config shows. */
	dump(&c, &file, true);
	put(buf_cstr(&file), file.len);
	buf_free(&file);
	copy_defaults(&again);
	if (config_load_file(&again, path, err, sizeof(err)) != 0 ||
	    config_finish(&again, err, sizeof(err)) != 0) {
		fprintf(stderr, "round trip refused: %s\n", err);
		abort();
	}
	dump(&c, &b1, false);
	dump(&again, &b2, false);
	if (b1.len != b2.len ||
	    memcmp(buf_cstr(&b1), buf_cstr(&b2), b1.len) != 0 ||
	    strcmp(c.smtp_url, again.smtp_url) != 0 ||
	    strcmp(c.issuer_authority, again.issuer_authority) != 0 ||
	    c.listen_port != again.listen_port) {
		fprintf(stderr, "round trip differs:\n%s\n---\n%s\n",
		    buf_cstr(&b1), buf_cstr(&b2));
		abort();
	}
	buf_free(&b1);
	buf_free(&b2);
	config_free(&again);
	config_free(&c);
	return 0;
}
