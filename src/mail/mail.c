/*
 * Outgoing mail: the outbox, SMTP through libcurl, and the one sender
 * thread with its bounded queue (the message text is mail_format.c's).
 *
 * Nothing here logs a body, a link or a token: a line names the
 * recipient's domain, the transport and the outcome only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "mail/mail.h"
#include "util/log.h"

#define CONNECT_TIMEOUT 10L /* seconds */
#define TOTAL_TIMEOUT 30L   /* seconds */
#define RETRY_BACKOFF_MS 2000
#define STOP_WAIT_DEFAULT 10 /* seconds */

void
mail_msg_clear(struct mail_msg *m)
{
	pc_freezero_str(m->to);
	pc_freezero_str(m->subject);
	pc_freezero_str(m->text);
	memset(m, 0, sizeof(*m));
}

struct mail
mail_msg_view(const struct mail_msg *m)
{
	return (struct mail){ m->to, m->subject, m->text };
}

/* The recipient's domain, for the log (never the local part). */
static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

/* ---- Outbox ---- */

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return PC_ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * <data_dir>/outbox/<YYYYmmddTHHMMSSZ>-<random hex>.eml, mode 0600, in a
 * 0700 directory we own; written under a temporary name, synced, then
 * renamed, so a reader never sees half a message.
 */
static int
write_outbox(const struct config *cfg, const char *msg, size_t len, int64_t now)
{
	char dir[PATH_MAX], name[64], tmp[72], stamp[20], rhex[17];
	uint8_t rnd[8];
	time_t t = (time_t)now;
	struct tm tm;
	struct stat st;
	int dfd = -1, fd, r = PC_ERR_IO, w;
	bool ok;

	if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0')
		return PC_ERR_CONFIG;
	w = snprintf(dir, sizeof(dir), "%s/outbox", cfg->data_dir);
	if (w < 0 || (size_t)w >= sizeof(dir))
		return PC_ERR_CONFIG;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return PC_ERR_INTERNAL;
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), rhex);
	snprintf(name, sizeof(name), "%s-%s.eml", stamp, rhex);
	/* Not *.eml until complete: readers glob for that suffix. */
	snprintf(tmp, sizeof(tmp), ".tmp-%s-%s.part", stamp, rhex);

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return PC_ERR_IO;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return PC_ERR_IO;
	/* Messages carry one-time links: the directory must be ours alone. */
	if (fstat(dfd, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		r = PC_ERR_PERM;
		goto out;
	}
	fd = openat(dfd, tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	ok = fchmod(fd, 0600) == 0 && write_all(fd, msg, len) == 0 &&
	    fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || renameat(dfd, tmp, dfd, name) != 0) {
		(void)unlinkat(dfd, tmp, 0);
		goto out;
	}
	(void)fsync(dfd);
	r = 0;
out:
	if (dfd >= 0)
		(void)close(dfd);
	return r;
}

/* ---- SMTP (libcurl) ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
mail_smtp_policy(const char *url, long *use_ssl)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	int r = PC_ERR_CONFIG;

	*use_ssl = CURLUSESSL_ALL;
	if (url == NULL || (u = curl_url()) == NULL)
		return PC_ERR_CONFIG;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0')
		goto out;
	if (strcmp(scheme, "smtps") == 0)
		r = 0;
	else if (strcmp(scheme, "smtp") == 0) {
		/* Plain SMTP only on this machine; elsewhere STARTTLS or fail. */
		if (config_host_is_loopback(host))
			*use_ssl = CURLUSESSL_TRY;
		r = 0;
	}
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return r;
}

struct upload {
	const char *p;
	size_t len;
	size_t off;
	const _Atomic uint64_t *deadline; /* monotonic ms; 0: none */
};

static size_t
read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upload *up = arg;
	size_t n = size * nitems, left = up->len - up->off;

	if (n > left)
		n = left;
	memcpy(buf, up->p + up->off, n);
	up->off += n;
	return n;
}

/* Aborts a transfer once the stop deadline has passed. */
static int
progress_cb(
    void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const struct upload *up = arg;
	uint64_t dl = up->deadline != NULL ? atomic_load(up->deadline) : 0;

	return dl != 0 && clock_mono_ms() >= dl ? 1 : 0;
}

static int
send_smtp(const struct config *cfg, const char *from, const char *to,
    const char *msg, size_t len, const _Atomic uint64_t *deadline)
{
	char addr[MAIL_ADDR_MAX + 3];
	struct upload up = { msg, len, 0, deadline };
	struct curl_slist *rcpt = NULL;
	CURL *h = NULL;
	CURLcode rc;
	long use_ssl;
	int r;

	if ((r = mail_smtp_policy(cfg->smtp_url, &use_ssl)) != 0)
		return r;
	if (pthread_once(&curl_once, curl_init) != 0 ||
	    curl_init_rc != CURLE_OK)
		return PC_ERR_INTERNAL;
	if ((h = curl_easy_init()) == NULL)
		return PC_ERR_INTERNAL;
	snprintf(addr, sizeof(addr), "<%s>", to);
	if ((rcpt = curl_slist_append(NULL, addr)) == NULL) {
		r = PC_ERR_INTERNAL;
		goto out;
	}
	snprintf(addr, sizeof(addr), "<%s>", from);
	/* Credentials, if any, come from the URL's userinfo. */
	if (curl_easy_setopt(h, CURLOPT_URL, cfg->smtp_url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps") !=
		CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USE_SSL, use_ssl) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT) !=
		CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, TOTAL_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAIL_FROM, addr) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_READDATA, &up) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len) !=
		CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb) !=
		CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &up) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK) {
		r = PC_ERR_INTERNAL;
		goto out;
	}
	if ((rc = curl_easy_perform(h)) != CURLE_OK) {
		struct log_line l;

		log_begin(&l, LOG_INFO, "mail.smtp_error");
		log_str(&l, "to_domain", domain_of(to));
		log_int(&l, "curl_code", (int64_t)rc);
		log_str(&l, "error", curl_easy_strerror(rc));
		log_end(&l);
		r = PC_ERR_IO;
		goto out;
	}
	r = 0;
out:
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
	return r;
}

/* ---- Delivery ---- */

static bool
use_smtp(const struct config *cfg)
{
	return cfg->smtp_url != NULL && cfg->smtp_url[0] != '\0';
}

static int
send_one(const struct config *cfg, const struct mail *m,
    const _Atomic uint64_t *deadline)
{
	char from[MAIL_ADDR_MAX + 1];
	char *msg = NULL;
	size_t len = 0;
	int64_t now = clock_now();
	int r;

	if (sodium_init() < 0)
		return PC_ERR_INTERNAL;
	if ((r = mail_format(cfg, m, now, &msg, &len)) != 0)
		return r;
	if (use_smtp(cfg)) {
		if ((r = mail_from_addr(cfg, from, sizeof(from))) == 0)
			r = send_smtp(cfg, from, m->to, msg, len, deadline);
	} else
		r = write_outbox(cfg, msg, len, now);
	pc_freezero_str(msg);
	return r;
}

static void
log_outcome(const struct config *cfg, const struct mail *m, int r, int attempts)
{
	struct log_line l;

	log_begin(&l, r == 0 ? LOG_INFO : LOG_WARN,
	    r == 0 ? "mail.sent" : "mail.failed");
	log_str(&l, "to_domain", domain_of(m->to));
	log_str(&l, "via", use_smtp(cfg) ? "smtp" : "outbox");
	log_int(&l, "attempts", attempts);
	if (r != 0)
		log_str(&l, "error", pc_strerror(r));
	log_end(&l);
}

int
mail_send_now(const struct config *cfg, const struct mail *m)
{
	int r = send_one(cfg, m, NULL);

	log_outcome(cfg, m, r, 1);
	return r;
}

/* ---- The sender thread ---- */

struct qmail {
	char *to;
	char *subject;
	char *text;
};

struct mailer {
	const struct config *cfg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct qmail q[MAIL_QUEUE_MAX];
	size_t head;
	size_t n;
	bool stopping;
	_Atomic uint64_t deadline; /* monotonic ms; 0 until mail_stop */
};

static void
qmail_clear(struct qmail *q)
{
	pc_freezero_str(q->to);
	pc_freezero_str(q->subject);
	pc_freezero_str(q->text);
	memset(q, 0, sizeof(*q));
}

static bool
past_deadline(const struct mailer *mr)
{
	uint64_t dl = atomic_load(&mr->deadline);

	return dl != 0 && clock_mono_ms() >= dl;
}

/* The back-off before the retry; cut short by the stop deadline. */
static void
backoff(const struct mailer *mr)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	for (int i = 0; i < RETRY_BACKOFF_MS / 100 && !past_deadline(mr); i++)
		(void)nanosleep(&ts, NULL);
}

static void
deliver(struct mailer *mr, struct qmail *q)
{
	struct mail m = { q->to, q->subject, q->text };
	int r, attempts = 1;

	r = send_one(mr->cfg, &m, &mr->deadline);
	if (r == PC_ERR_IO && !past_deadline(mr)) {
		backoff(mr);
		if (!past_deadline(mr)) {
			attempts++;
			r = send_one(mr->cfg, &m, &mr->deadline);
		}
	}
	log_outcome(mr->cfg, &m, r, attempts);
}

static void *
sender(void *arg)
{
	struct mailer *mr = arg;
	struct qmail q;
	size_t dropped = 0;

	(void)pthread_mutex_lock(&mr->mu);
	for (;;) {
		while (mr->n == 0 && !mr->stopping)
			(void)pthread_cond_wait(&mr->cv, &mr->mu);
		if (mr->n == 0)
			break;
		if (past_deadline(mr)) {
			/* Out of time at stop: drop the rest, wiped. */
			while (mr->n > 0) {
				qmail_clear(&mr->q[mr->head]);
				mr->head = (mr->head + 1) % MAIL_QUEUE_MAX;
				mr->n--;
				dropped++;
			}
			break;
		}
		q = mr->q[mr->head];
		memset(&mr->q[mr->head], 0, sizeof(q));
		mr->head = (mr->head + 1) % MAIL_QUEUE_MAX;
		mr->n--;
		(void)pthread_mutex_unlock(&mr->mu);
		deliver(mr, &q);
		qmail_clear(&q);
		(void)pthread_mutex_lock(&mr->mu);
	}
	(void)pthread_mutex_unlock(&mr->mu);
	if (dropped > 0) {
		struct log_line l;

		log_begin(&l, LOG_WARN, "mail.dropped");
		log_int(&l, "count", (int64_t)dropped);
		log_str(&l, "reason", "shutdown");
		log_end(&l);
	}
	return NULL;
}

int
mail_start(const struct config *cfg, struct mailer **out)
{
	struct mailer *mr;
	sigset_t all, old;
	int e;

	*out = NULL;
	if (sodium_init() < 0)
		return PC_ERR_INTERNAL;
	if (use_smtp(cfg)) {
		long use_ssl;

		if (mail_smtp_policy(cfg->smtp_url, &use_ssl) != 0)
			return PC_ERR_CONFIG;
		if (pthread_once(&curl_once, curl_init) != 0 ||
		    curl_init_rc != CURLE_OK)
			return PC_ERR_INTERNAL;
	}
	mr = xcalloc(1, sizeof(*mr));
	mr->cfg = cfg;
	atomic_init(&mr->deadline, 0);
	if (pthread_mutex_init(&mr->mu, NULL) != 0) {
		free(mr);
		return PC_ERR_INTERNAL;
	}
	if (pthread_cond_init(&mr->cv, NULL) != 0) {
		(void)pthread_mutex_destroy(&mr->mu);
		free(mr);
		return PC_ERR_INTERNAL;
	}
	/* Signals belong to the main thread (serve's sigwait). */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&mr->thread, NULL, sender, mr);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		(void)pthread_cond_destroy(&mr->cv);
		(void)pthread_mutex_destroy(&mr->mu);
		free(mr);
		return PC_ERR_INTERNAL;
	}
	*out = mr;
	return 0;
}

int
mail_enqueue(struct mailer *mr, const struct mail *m)
{
	struct qmail *q;
	int r;

	if ((r = mail_check(m)) != 0)
		return r;
	(void)pthread_mutex_lock(&mr->mu);
	if (mr->stopping || mr->n == MAIL_QUEUE_MAX) {
		(void)pthread_mutex_unlock(&mr->mu);
		return PC_ERR_BUSY;
	}
	q = &mr->q[(mr->head + mr->n) % MAIL_QUEUE_MAX];
	q->to = xstrdup(m->to);
	q->subject = xstrdup(m->subject);
	q->text = xstrdup(m->text);
	mr->n++;
	(void)pthread_cond_signal(&mr->cv);
	(void)pthread_mutex_unlock(&mr->mu);
	return 0;
}

void
mail_stop(struct mailer *mr)
{
	int64_t wait_s;

	if (mr == NULL)
		return;
	wait_s = mr->cfg->shutdown_timeout > 0 ? mr->cfg->shutdown_timeout
					       : STOP_WAIT_DEFAULT;
	(void)pthread_mutex_lock(&mr->mu);
	mr->stopping = true;
	atomic_store(&mr->deadline, clock_mono_ms() + (uint64_t)wait_s * 1000);
	(void)pthread_cond_signal(&mr->cv);
	(void)pthread_mutex_unlock(&mr->mu);
	(void)pthread_join(mr->thread, NULL);
	(void)pthread_cond_destroy(&mr->cv);
	(void)pthread_mutex_destroy(&mr->mu);
	free(mr);
}
