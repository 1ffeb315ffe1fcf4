/* SPDX-License-Identifier: MIT */
/*
 * notify.c — approval notifications to webhooks (libcurl multi) and
 * commands (posix_spawn, pidfd), with retries; see notify.h.
 *
 * Every fd the notifier watches is in its own epoll instance, registered
 * with a struct watch as the event's data: the two timerfds (curl's timer
 * and the due timer of retries and command deadlines), curl's sockets,
 * and per command attempt its pidfd, its stdin socket and its output
 * pipe. An event batch may name a watch that an earlier event of the same
 * batch closed, so a closed watch keeps fd -1 and is freed (with its
 * delivery) only after the batch: the "dead" lists.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "curlep.h"
#include "notify.h"
#include "seterr.h"

#define SECRET_MAX 4096
#define OUTPUT_KEEP 200 /* bytes of a command's output quoted in its error */
#define ANSWER_MAX 4096 /* bytes of a webhook's answer read (and dropped) */
#define EVENTS_BURST 32
#define HOOK_PATH "PATH=/usr/local/bin:/usr/bin:/bin"

extern char **environ;

enum wtag {
	W_CURL_TIMER,
	W_DUE_TIMER,
	W_CURL_SOCK,
	W_PIDFD,
	W_STDIN,
	W_OUTPUT,
};

struct delivery;

struct watch {
	enum wtag tag;
	int fd; /* -1 once closed */
	struct delivery *d;
	TAILQ_ENTRY(watch) dead;
};

/* One body and kind, shared by the deliveries of a submit. */
struct body {
	unsigned int refs;
	char kind[TG_NOTIFY_KIND_MAX];
	char id[TG_NOTIFY_ID_MAX];
	size_t len;
	char data[];
};

struct sink;

struct delivery {
	TAILQ_ENTRY(delivery) link; /* on the sink's wait or run list, or the dead list */
	struct sink *s;
	struct body *b;
	unsigned int attempts;
	uint64_t due_ms;
	/* the attempt in flight */
	CURL *easy;
	struct curl_slist *hdrs;
	size_t answer_len;
	pid_t pid; /* 0: none */
	bool killed;
	uint64_t deadline_ms;
	struct watch wpid, win, wout;
	size_t in_off;
	char out[OUTPUT_KEEP + 1];
	size_t out_len;
	char err[TG_NOTIFY_ERROR_MAX]; /* of its last failed attempt */
};

TAILQ_HEAD(dlist, delivery);
TAILQ_HEAD(wlist, watch);

struct sink {
	struct tg_notify *n;
	struct tg_notify_sink_config cfg;
	unsigned char secret[SECRET_MAX];
	size_t secret_len;
	struct dlist wait, run;
	unsigned int queued, in_flight;
	uint64_t cnt[TG_NOTIFY_CNT_MAX];
	char last_error[TG_NOTIFY_ERROR_MAX];
	/* what logs and errors name: a webhook's scheme and authority only
	 * (the path of a chat webhook URL is often its secret), or argv[0] */
	char shown[128];
};

struct tg_notify {
	struct sink sinks[TG_NOTIFY_SINKS_MAX];
	unsigned int nb_sinks;
	uint32_t max_attempts, initial_ms, max_ms, queue_max;
	struct tg_notify_hooks hooks;
	int ep;
	struct watch wcurl, wdue; /* the two timerfds */
	CURLM *multi;
	EVP_MAC *mac;
	char id_prefix[17]; /* random per process: ids stay unique across restarts */
	uint64_t seq;
	struct dlist dead;
	struct wlist dead_watches;
};

static const char *const counter_names[TG_NOTIFY_CNT_MAX] = {
#define TG_NOTIFY_X(e, s) [TG_NOTIFY_CNT_##e] = s,
	TG_NOTIFY_COUNTERS(TG_NOTIFY_X)
#undef TG_NOTIFY_X
};

static const char *const drop_names[] = {
	[TG_NOTIFY_DROP_FULL] = "queue full",
	[TG_NOTIFY_DROP_EXHAUSTED] = "attempts exhausted",
	[TG_NOTIFY_DROP_SHUTDOWN] = "shutdown",
};

static const enum tg_notify_counter drop_counter[] = {
	[TG_NOTIFY_DROP_FULL] = TG_NOTIFY_CNT_DROPPED_FULL,
	[TG_NOTIFY_DROP_EXHAUSTED] = TG_NOTIFY_CNT_DROPPED_EXHAUSTED,
	[TG_NOTIFY_DROP_SHUTDOWN] = TG_NOTIFY_CNT_DROPPED_SHUTDOWN,
};

const char *
tg_notify_counter_name(enum tg_notify_counter c)
{
	return (unsigned int)c < TG_NOTIFY_CNT_MAX ? counter_names[c] : "?";
}

const char *
tg_notify_drop_name(enum tg_notify_drop r)
{
	return (unsigned int)r <= TG_NOTIFY_DROP_SHUTDOWN ? drop_names[r] : "?";
}

static void say(const struct tg_notify *n, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
say(const struct tg_notify *n, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (n->hooks.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n->hooks.log(n->hooks.arg, prio, msg);
}

static void
body_put(struct body *b)
{
	if (b != NULL && --b->refs == 0)
		free(b);
}

/* ---------------------------------------------------------------------
 * Timers and watches
 * ------------------------------------------------------------------- */

static int
watch_add(struct tg_notify *n, struct watch *w, enum wtag tag, int fd, uint32_t events,
	  struct delivery *d)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->tag = tag;
	w->fd = fd;
	w->d = d;
	return epoll_ctl(n->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Stops watching w and closes its fd (a curl socket is curl's to close). */
static void
watch_close(struct tg_notify *n, struct watch *w, bool close_fd)
{
	if (w->fd < 0)
		return;
	epoll_ctl(n->ep, EPOLL_CTL_DEL, w->fd, NULL);
	if (close_fd)
		close(w->fd);
	w->fd = -1;
}

/*
 * The due timer: the earliest retry of a sink with room for it, or the
 * earliest deadline of a command still running.
 */
static void
rearm(struct tg_notify *n)
{
	uint64_t next = UINT64_MAX, now = tg_curlep_mono_ms();
	struct delivery *d;

	for (unsigned int i = 0; i < n->nb_sinks; i++) {
		struct sink *s = &n->sinks[i];

		if (s->in_flight < s->cfg.parallel)
			TAILQ_FOREACH(d, &s->wait, link)
				if (d->due_ms < next)
					next = d->due_ms;
		TAILQ_FOREACH(d, &s->run, link)
			if (d->pid > 0 && !d->killed && d->deadline_ms < next)
				next = d->deadline_ms;
	}
	if (next == UINT64_MAX)
		tg_curlep_arm(n->wdue.fd, -1);
	else
		tg_curlep_arm(n->wdue.fd, next <= now ? 0 : (long)(next - now));
}

/* ---------------------------------------------------------------------
 * Outcomes
 * ------------------------------------------------------------------- */

/* equal jitter: half of initial * 2^(attempt-1) (capped) fixed, half random; at least 1 ms */
static uint64_t
backoff(const struct tg_notify *n, unsigned int attempt)
{
	uint64_t delay = n->initial_ms, r = 0;

	for (unsigned int i = 1; i < attempt && delay < n->max_ms; i++)
		delay *= 2;
	if (delay > n->max_ms)
		delay = n->max_ms;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = 0;
	delay = delay / 2 + r % (delay - delay / 2 + 1);
	return delay > 0 ? delay : 1;
}

static void
give_up(struct sink *s, struct delivery *d, enum tg_notify_drop why, const char *error)
{
	struct tg_notify *n = s->n;
	struct tg_notify_giveup g = {
		.sink = s->cfg.name,
		.kind = d->b->kind,
		.id = d->b->id,
		.reason = why,
		.attempts = d->attempts,
		.error = error,
	};

	s->cnt[drop_counter[why]]++;
	say(n, LOG_ERR, "notify %s: give up delivery %s (%s) after %u attempt%s: %s%s%s",
	    s->cfg.name, d->b->id, d->b->kind, d->attempts, d->attempts == 1 ? "" : "s",
	    drop_names[why], error[0] != '\0' ? "; last error: " : "", error);
	if (n->hooks.on_giveup != NULL)
		n->hooks.on_giveup(n->hooks.arg, &g);
}

/* The attempt of d (on s->run) is over: ok, or failed for err. */
static void
attempt_end(struct delivery *d, bool ok, const char *err)
{
	struct sink *s = d->s;
	struct tg_notify *n = s->n;
	uint64_t wait;

	TAILQ_REMOVE(&s->run, d, link);
	s->in_flight--;
	if (ok) {
		s->cnt[TG_NOTIFY_CNT_DELIVERED]++;
		if (d->attempts > 1)
			say(n, LOG_INFO, "notify %s: delivery %s (%s) delivered at attempt %u",
			    s->cfg.name, d->b->id, d->b->kind, d->attempts);
		goto dead;
	}
	s->cnt[TG_NOTIFY_CNT_FAILED]++;
	snprintf(s->last_error, sizeof(s->last_error), "%s", err);
	snprintf(d->err, sizeof(d->err), "%s", err);
	if (d->attempts >= n->max_attempts) {
		give_up(s, d, TG_NOTIFY_DROP_EXHAUSTED, err);
		goto dead;
	}
	wait = backoff(n, d->attempts);
	say(n, LOG_WARNING,
	    "notify %s: delivery %s (%s) attempt %u of %u failed: %s; next in %" PRIu64 " ms",
	    s->cfg.name, d->b->id, d->b->kind, d->attempts, n->max_attempts, err, wait);
	d->due_ms = tg_curlep_mono_ms() + wait;
	TAILQ_INSERT_TAIL(&s->wait, d, link);
	return;
dead:
	s->queued--;
	TAILQ_INSERT_TAIL(&n->dead, d, link);
}

/* Frees what an event batch may still have named. */
static void
bury(struct tg_notify *n)
{
	struct delivery *d;
	struct watch *w;

	while ((d = TAILQ_FIRST(&n->dead)) != NULL) {
		TAILQ_REMOVE(&n->dead, d, link);
		body_put(d->b);
		free(d);
	}
	while ((w = TAILQ_FIRST(&n->dead_watches)) != NULL) {
		TAILQ_REMOVE(&n->dead_watches, w, dead);
		free(w);
	}
}

/* ---------------------------------------------------------------------
 * Webhooks
 * ------------------------------------------------------------------- */

/* CURLMOPT_SOCKETFUNCTION: mirror curl's interest in our epoll. */
static int
sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct tg_notify *n = userp;
	struct watch *w = socketp;
	struct epoll_event ev = { 0 };

	if (what == CURL_POLL_REMOVE) {
		if (w != NULL) {
			watch_close(n, w, false);
			TAILQ_INSERT_TAIL(&n->dead_watches, w, dead);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (w == NULL) {
		w = calloc(1, sizeof(*w));
		if (w == NULL || watch_add(n, w, W_CURL_SOCK, fd, ev.events, NULL) < 0) {
			free(w);
			return -1; /* curl fails the transfer */
		}
		curl_multi_assign(n->multi, fd, w);
	} else {
		ev.data.ptr = w;
		epoll_ctl(n->ep, EPOLL_CTL_MOD, fd, &ev);
	}
	return 0;
}

/* CURLMOPT_TIMERFUNCTION */
static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct tg_notify *n = userp;

	tg_curlep_arm(n->wcurl.fd, timeout_ms);
	return 0;
}

/* CURLOPT_WRITEFUNCTION: the answer is not used; read up to ANSWER_MAX. */
static size_t
answer_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct delivery *d = userp;
	size_t len = size * nmemb;

	if (len > ANSWER_MAX - d->answer_len)
		return 0; /* CURLE_WRITE_ERROR: enough */
	d->answer_len += len;
	return len;
}

/* "sha256=<hex>" of HMAC-SHA256(secret, "<id>.<ts>.<body>") into out[72]. */
static int
sign(const struct sink *s, const struct body *b, const char *ts, char *out)
{
	static const char hex[] = "0123456789abcdef";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	unsigned char mac[32];
	size_t len = 0;
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(s->n->mac);
	int ok;

	ok = ctx != NULL && EVP_MAC_init(ctx, s->secret, s->secret_len, params) == 1 &&
	     EVP_MAC_update(ctx, (const unsigned char *)b->id, strlen(b->id)) == 1 &&
	     EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
	     EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts)) == 1 &&
	     EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
	     EVP_MAC_update(ctx, (const unsigned char *)b->data, b->len) == 1 &&
	     EVP_MAC_final(ctx, mac, &len, sizeof(mac)) == 1 && len == sizeof(mac);
	EVP_MAC_CTX_free(ctx);
	if (!ok)
		return -EIO;
	memcpy(out, "sha256=", 7);
	for (size_t i = 0; i < sizeof(mac); i++) {
		out[7 + 2 * i] = hex[mac[i] >> 4];
		out[8 + 2 * i] = hex[mac[i] & 15];
	}
	out[7 + 2 * sizeof(mac)] = '\0';
	explicit_bzero(mac, sizeof(mac));
	return 0;
}

static struct curl_slist *add_header(struct curl_slist *l, bool *ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static struct curl_slist *
add_header(struct curl_slist *l, bool *ok, const char *fmt, ...)
{
	char line[TG_NOTIFY_HEADER_MAX + 64];
	struct curl_slist *nl;
	va_list ap;

	if (!*ok)
		return l;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	nl = curl_slist_append(l, line);
	if (nl == NULL)
		*ok = false;
	return nl != NULL ? nl : l;
}

static int
start_webhook(struct delivery *d, char *err, size_t errlen)
{
	struct sink *s = d->s;
	struct tg_notify *n = s->n;
	char ts[24], sig[80];
	bool ok = true;
	CURL *e;

	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	if (s->secret_len > 0 && sign(s, d->b, ts, sig) < 0) {
		tg_sp_seterr(err, errlen, "cannot sign the request (HMAC-SHA256)");
		return -EIO;
	}
	d->hdrs = add_header(NULL, &ok, "Content-Type: application/json");
	d->hdrs = add_header(d->hdrs, &ok, "Expect:"); /* no 100-continue round trip */
	d->hdrs = add_header(d->hdrs, &ok, "X-Tollgate-Event: %s", d->b->kind);
	d->hdrs = add_header(d->hdrs, &ok, "X-Tollgate-Delivery: %s", d->b->id);
	d->hdrs = add_header(d->hdrs, &ok, "X-Tollgate-Attempt: %u", d->attempts);
	d->hdrs = add_header(d->hdrs, &ok, "X-Tollgate-Timestamp: %s", ts);
	if (s->secret_len > 0)
		d->hdrs = add_header(d->hdrs, &ok, "X-Tollgate-Signature: %s", sig);
	for (unsigned int i = 0; i < s->cfg.nb_headers; i++)
		d->hdrs = add_header(d->hdrs, &ok, "%s", s->cfg.headers[i]);
	e = ok ? curl_easy_init() : NULL;
	d->answer_len = 0;
	if (e == NULL ||
	    tg_curlep_setup(e, s->cfg.url,
			    strncasecmp(s->cfg.url, "https:", 6) == 0 ? "https" : "http",
			    s->cfg.ca_file, s->cfg.timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const void *)d->b->data) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->b->len) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->hdrs) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, answer_cb) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, d) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, d) != CURLE_OK ||
	    curl_multi_add_handle(n->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		curl_slist_free_all(d->hdrs);
		d->hdrs = NULL;
		tg_sp_seterr(err, errlen, "cannot set up the request: out of memory");
		return -ENOMEM;
	}
	d->easy = e;
	return 0;
}

static void
end_webhook(struct delivery *d)
{
	if (d->easy != NULL) {
		curl_multi_remove_handle(d->s->n->multi, d->easy);
		curl_easy_cleanup(d->easy);
		d->easy = NULL;
	}
	curl_slist_free_all(d->hdrs);
	d->hdrs = NULL;
}

static void
webhook_done(struct delivery *d, CURLcode res)
{
	char err[TG_NOTIFY_ERROR_MAX];
	long status = 0;

	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
	end_webhook(d);
	/* the answer past ANSWER_MAX is a write error after a status we have */
	if ((res == CURLE_OK || res == CURLE_WRITE_ERROR) && status >= 200 && status <= 299) {
		attempt_end(d, true, "");
		return;
	}
	if (res == CURLE_OPERATION_TIMEDOUT)
		d->s->cnt[TG_NOTIFY_CNT_TIMEOUTS]++;
	if (res != CURLE_OK && res != CURLE_WRITE_ERROR)
		snprintf(err, sizeof(err), "POST %s: %s", d->s->shown, curl_easy_strerror(res));
	else
		snprintf(err, sizeof(err), "POST %s: HTTP status %ld", d->s->shown, status);
	attempt_end(d, false, err);
}

static void
check_curl(struct tg_notify *n)
{
	struct delivery *d;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(n->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		if (curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d) != CURLE_OK ||
		    d == NULL)
			continue;
		webhook_done(d, m->data.result);
	}
}

/* ---------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------- */

static void
close_command_fds(struct tg_notify *n, struct delivery *d)
{
	watch_close(n, &d->wpid, true);
	watch_close(n, &d->win, true);
	watch_close(n, &d->wout, true);
}

/* Writes what the child's stdin takes; at the end, EOF. MSG_NOSIGNAL: no SIGPIPE. */
static void
feed(struct tg_notify *n, struct delivery *d)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &d->win };
	ssize_t w;

	while (d->win.fd >= 0 && d->in_off < d->b->len) {
		w = send(d->win.fd, d->b->data + d->in_off, d->b->len - d->in_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			epoll_ctl(n->ep, EPOLL_CTL_MOD, d->win.fd, &ev);
			return;
		}
		if (w <= 0)
			break; /* the hook closed its stdin: its exit status tells */
		d->in_off += (size_t)w;
	}
	watch_close(n, &d->win, true);
}

/* Keeps the first OUTPUT_KEEP bytes of the child's output; drops the rest. */
static void
drain(struct tg_notify *n, struct delivery *d)
{
	char buf[4096];
	ssize_t r;

	while (d->wout.fd >= 0) {
		r = read(d->wout.fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			watch_close(n, &d->wout, true);
			return;
		}
		if (d->out_len < OUTPUT_KEEP) {
			size_t k = (size_t)r < OUTPUT_KEEP - d->out_len ? (size_t)r
									: OUTPUT_KEEP - d->out_len;

			memcpy(d->out + d->out_len, buf, k);
			d->out_len += k;
		}
	}
}

/* The output, one line of printable text, for an error message. */
static const char *
output_text(struct delivery *d)
{
	size_t len = d->out_len;

	while (len > 0 && (d->out[len - 1] == '\n' || d->out[len - 1] == ' '))
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)d->out[i] < 32 || d->out[i] == 127)
			d->out[i] = ' ';
	d->out[len] = '\0';
	return d->out;
}

/* The pidfd is readable: the child ended (or a stale event: nothing yet). */
static void
reap(struct tg_notify *n, struct delivery *d)
{
	char err[TG_NOTIFY_ERROR_MAX];
	const char *out;
	int st = 0;
	pid_t r;

	do
		r = waitpid(d->pid, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return;
	drain(n, d); /* what it wrote before it ended */
	close_command_fds(n, d);
	d->pid = 0;
	out = output_text(d);
	if (r < 0) {
		snprintf(err, sizeof(err), "%.80s: exit status lost (%s)", d->s->shown,
			 strerror(errno));
	} else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		/* done before the kill landed: a success all the same */
		attempt_end(d, true, "");
		return;
	} else if (WIFEXITED(st)) {
		snprintf(err, sizeof(err), "%.80s: exit status %d%s%.100s", d->s->shown,
			 WEXITSTATUS(st), out[0] != '\0' ? ": " : "", out);
	} else if (d->killed && WTERMSIG(st) == SIGKILL) {
		snprintf(err, sizeof(err), "%.80s: killed after the timeout of %u ms%s%.100s",
			 d->s->shown, d->s->cfg.timeout_ms, out[0] != '\0' ? ": " : "", out);
	} else {
		snprintf(err, sizeof(err), "%.80s: killed by signal %d (%s)%s%.100s", d->s->shown,
			 WTERMSIG(st), strsignal(WTERMSIG(st)), out[0] != '\0' ? ": " : "", out);
	}
	attempt_end(d, false, err);
}

static int
start_command(struct delivery *d, char *err, size_t errlen)
{
	const struct tg_notify_sink_config *c = &d->s->cfg;
	struct tg_notify *n = d->s->n;
	char *argv[TG_NOTIFY_ARGS_MAX + 1], *envp[TG_NOTIFY_ENV_MAX + 5];
	char ev_kind[TG_NOTIFY_KIND_MAX + 16], ev_id[TG_NOTIFY_ID_MAX + 24], ev_att[40];
	int sv[2] = { -1, -1 }, po[2] = { -1, -1 }, pfd = -1, rc, ne = 0;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	pid_t pid;

	for (unsigned int i = 0; i < c->argc; i++)
		argv[i] = (char *)tg_notify_config_string(c, i);
	argv[c->argc] = NULL;
	snprintf(ev_kind, sizeof(ev_kind), "TOLLGATE_EVENT=%s", d->b->kind);
	snprintf(ev_id, sizeof(ev_id), "TOLLGATE_DELIVERY=%s", d->b->id);
	snprintf(ev_att, sizeof(ev_att), "TOLLGATE_ATTEMPT=%u", d->attempts);
	envp[ne++] = (char *)HOOK_PATH;
	for (unsigned int i = 0; i < c->envc; i++) {
		const char *kv = tg_notify_config_string(c, c->argc + i);

		if (strncmp(kv, "PATH=", 5) == 0)
			envp[0] = (char *)kv; /* the config's PATH replaces ours */
		else
			envp[ne++] = (char *)kv;
	}
	envp[ne++] = ev_kind;
	envp[ne++] = ev_id;
	envp[ne++] = ev_att;
	envp[ne] = NULL;

	/*
	 * stdin is a socket rather than a pipe so that a hook that exits
	 * without reading costs EPIPE on send(MSG_NOSIGNAL), not a SIGPIPE to
	 * the slowpath. Only our ends are non-blocking: O_NONBLOCK belongs to
	 * the open file description, and the child's must block.
	 */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(po, O_CLOEXEC) < 0 || fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(po[0], F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "%.80s: socketpair/pipe: %s", argv[0], strerror(-rc));
		goto err_fds;
	}
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		rc = -rc;
		tg_sp_seterr(err, errlen, "%.80s: posix_spawn: %s", argv[0], strerror(-rc));
		goto err_fds;
	}
	if ((rc = posix_spawnattr_init(&at)) != 0) {
		rc = -rc;
		tg_sp_seterr(err, errlen, "%.80s: posix_spawn: %s", argv[0], strerror(-rc));
		goto err_fa;
	}
	/* the slowpath blocks TERM/INT/HUP/USR1 (signalfd) and ignores PIPE: not the hook */
	if ((rc = posix_spawn_file_actions_adddup2(&fa, sv[1], STDIN_FILENO)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, po[1], STDOUT_FILENO)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, po[1], STDERR_FILENO)) != 0 ||
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1)) != 0 ||
	    (rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
							POSIX_SPAWN_SETPGROUP)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(&at, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&at, &all)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(&at, 0)) != 0 ||
	    (rc = posix_spawn(&pid, argv[0], &fa, &at, argv, envp)) != 0) {
		rc = -rc;
		tg_sp_seterr(err, errlen, "%.80s: posix_spawn: %s", argv[0], strerror(-rc));
		goto err_at;
	}
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	close(po[1]);
	sv[1] = po[1] = -1;
	d->pid = pid;
	d->killed = false;
	d->deadline_ms = tg_curlep_mono_ms() + c->timeout_ms;
	d->in_off = 0;
	d->out_len = 0;
	d->wpid.fd = d->win.fd = d->wout.fd = -1;
	/* the child is ours until waited for: its pid cannot be reused meanwhile */
	pfd = pidfd_open(pid, 0);
	if (pfd < 0 || (rc = watch_add(n, &d->wpid, W_PIDFD, pfd, EPOLLIN, d)) < 0) {
		rc = pfd < 0 ? -errno : rc;
		if (pfd >= 0)
			close(pfd);
		goto err_child;
	}
	if ((rc = watch_add(n, &d->win, W_STDIN, sv[0], 0, d)) < 0)
		goto err_child;
	sv[0] = -1;
	if ((rc = watch_add(n, &d->wout, W_OUTPUT, po[0], EPOLLIN, d)) < 0)
		goto err_child;
	po[0] = -1;
	feed(n, d);
	return 0;

err_child:
	/* cannot watch it: kill and reap it now (SIGKILL: not long) */
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	d->pid = 0;
	close_command_fds(n, d);
	tg_sp_seterr(err, errlen, "%.80s: pidfd/epoll: %s", argv[0], strerror(-rc));
	goto err_fds;
err_at:
	posix_spawnattr_destroy(&at);
err_fa:
	posix_spawn_file_actions_destroy(&fa);
err_fds:
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (po[i] >= 0)
			close(po[i]);
	}
	return rc;
}

/* ---------------------------------------------------------------------
 * Scheduling
 * ------------------------------------------------------------------- */

static void
start_attempt(struct sink *s, struct delivery *d)
{
	char err[TG_NOTIFY_ERROR_MAX];
	int rc;

	d->attempts++;
	s->cnt[TG_NOTIFY_CNT_ATTEMPTS]++;
	if (d->attempts > 1)
		s->cnt[TG_NOTIFY_CNT_RETRIES]++;
	TAILQ_INSERT_TAIL(&s->run, d, link);
	s->in_flight++;
	if (s->cfg.type == TG_NOTIFY_WEBHOOK)
		rc = start_webhook(d, err, sizeof(err));
	else
		rc = start_command(d, err, sizeof(err));
	if (rc < 0)
		attempt_end(d, false, err); /* retried after its backoff, as any failure */
}

/* Starts the deliveries that are due, as far as each sink's parallel allows. */
static void
pump(struct tg_notify *n)
{
	uint64_t now = tg_curlep_mono_ms();

	for (unsigned int i = 0; i < n->nb_sinks; i++) {
		struct sink *s = &n->sinks[i];
		struct delivery *d, *next;

		for (d = TAILQ_FIRST(&s->wait); d != NULL && s->in_flight < s->cfg.parallel;
		     d = next) {
			next = TAILQ_NEXT(d, link);
			if (d->due_ms > now)
				continue;
			TAILQ_REMOVE(&s->wait, d, link);
			start_attempt(s, d);
		}
	}
}

/* Kills the commands past their deadline; their pidfds then report the end. */
static void
expire(struct tg_notify *n, uint64_t now)
{
	for (unsigned int i = 0; i < n->nb_sinks; i++) {
		struct delivery *d;

		TAILQ_FOREACH(d, &n->sinks[i].run, link) {
			if (d->pid <= 0 || d->killed || now < d->deadline_ms)
				continue;
			/* the group first: a shell's children go with it */
			kill(-d->pid, SIGKILL);
			kill(d->pid, SIGKILL);
			d->killed = true;
			n->sinks[i].cnt[TG_NOTIFY_CNT_TIMEOUTS]++;
		}
	}
}

void
tg_notify_on_ready(struct tg_notify *n)
{
	struct epoll_event ev[EVENTS_BURST];
	uint64_t ticks;
	int nev, running;

	nev = epoll_wait(n->ep, ev, EVENTS_BURST, 0);
	for (int i = 0; i < nev; i++) {
		struct watch *w = ev[i].data.ptr;

		if (w->fd < 0)
			continue; /* closed by an earlier event of this batch */
		switch (w->tag) {
		case W_CURL_TIMER:
			if (read(w->fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				break;
			curl_multi_socket_action(n->multi, CURL_SOCKET_TIMEOUT, 0, &running);
			break;
		case W_DUE_TIMER:
			if (read(w->fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				break;
			expire(n, tg_curlep_mono_ms());
			break;
		case W_CURL_SOCK:
			curl_multi_socket_action(n->multi, w->fd, tg_curlep_cselect(ev[i].events),
						 &running);
			break;
		case W_PIDFD:
			reap(n, w->d);
			break;
		case W_STDIN:
			feed(n, w->d);
			break;
		case W_OUTPUT:
			drain(n, w->d);
			break;
		}
		check_curl(n);
	}
	pump(n);
	rearm(n);
	bury(n);
}

void
tg_notify_tick(struct tg_notify *n, uint64_t now_ms)
{
	expire(n, now_ms);
	pump(n);
	rearm(n);
	bury(n);
}

/* ---------------------------------------------------------------------
 * Submit, stats
 * ------------------------------------------------------------------- */

static bool
kind_ok(const char *k)
{
	size_t len = k != NULL ? strnlen(k, TG_NOTIFY_KIND_MAX) : 0;

	return len > 0 && len < TG_NOTIFY_KIND_MAX &&
	       strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

int
tg_notify_submit(struct tg_notify *n, const char *kind, const char *json_body, char *id)
{
	struct body *b;
	size_t len;
	int taken = 0;

	if (!kind_ok(kind) || json_body == NULL)
		return -EINVAL;
	len = strnlen(json_body, TG_NOTIFY_BODY_MAX + 1);
	if (len > TG_NOTIFY_BODY_MAX)
		return -EMSGSIZE;
	b = malloc(sizeof(*b) + len + 1);
	if (b == NULL)
		return -ENOMEM;
	b->refs = 1; /* ours until the loop below is done */
	snprintf(b->kind, sizeof(b->kind), "%s", kind);
	snprintf(b->id, sizeof(b->id), "%s-%08" PRIx64, n->id_prefix, ++n->seq);
	b->len = len;
	memcpy(b->data, json_body, len + 1);
	if (id != NULL)
		snprintf(id, TG_NOTIFY_ID_MAX, "%s", b->id);
	for (unsigned int i = 0; i < n->nb_sinks; i++) {
		struct sink *s = &n->sinks[i];
		struct delivery *d = calloc(1, sizeof(*d));
		struct delivery tmp = { .s = s, .b = b };

		if (d == NULL || s->queued >= n->queue_max) {
			give_up(s, &tmp, TG_NOTIFY_DROP_FULL,
				d == NULL ? "out of memory" : "the sink's queue is full");
			free(d);
			continue;
		}
		s->cnt[TG_NOTIFY_CNT_SUBMITTED]++;
		d->s = s;
		d->b = b;
		b->refs++;
		d->due_ms = 0;
		d->wpid.fd = d->win.fd = d->wout.fd = -1;
		s->queued++;
		TAILQ_INSERT_TAIL(&s->wait, d, link);
		taken++;
	}
	body_put(b);
	pump(n);
	rearm(n);
	bury(n);
	return taken;
}

unsigned int
tg_notify_sinks(const struct tg_notify *n)
{
	return n->nb_sinks;
}

int
tg_notify_stats(const struct tg_notify *n, unsigned int i, struct tg_notify_sink_stats *st)
{
	const struct sink *s;

	if (i >= n->nb_sinks)
		return -ENOENT;
	s = &n->sinks[i];
	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", s->cfg.name);
	st->type = s->cfg.type;
	memcpy(st->cnt, s->cnt, sizeof(st->cnt));
	st->dropped = s->cnt[TG_NOTIFY_CNT_DROPPED_FULL] + s->cnt[TG_NOTIFY_CNT_DROPPED_EXHAUSTED] +
		      s->cnt[TG_NOTIFY_CNT_DROPPED_SHUTDOWN];
	st->in_flight = s->in_flight;
	st->queued = s->queued - s->in_flight;
	snprintf(st->last_error, sizeof(st->last_error), "%s", s->last_error);
	return 0;
}

json_t *
tg_notify_stats_json(const struct tg_notify *n)
{
	json_t *root = json_object(), *arr = json_array();
	struct tg_notify_sink_stats st;

	if (root == NULL || arr == NULL || json_object_set_new(root, "sinks", arr) < 0) {
		json_decref(root);
		return NULL;
	}
	for (unsigned int i = 0; tg_notify_stats(n, i, &st) == 0; i++) {
		json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s}", "name", st.name, "type",
				      st.type == TG_NOTIFY_WEBHOOK ? "webhook" : "command",
				      "dropped", (json_int_t)st.dropped, "queued",
				      (json_int_t)st.queued, "in_flight", (json_int_t)st.in_flight,
				      "last_error", st.last_error);

		for (unsigned int c = 0; o != NULL && c < TG_NOTIFY_CNT_MAX; c++)
			json_object_set_new(o, counter_names[c],
					    json_integer((json_int_t)st.cnt[c]));
		if (o == NULL || json_array_append_new(arr, o) < 0) {
			json_decref(root);
			return NULL;
		}
	}
	return root;
}

int
tg_notify_idle(const struct tg_notify *n)
{
	for (unsigned int i = 0; i < n->nb_sinks; i++)
		if (n->sinks[i].queued > 0)
			return 0;
	return 1;
}

int
tg_notify_fd(const struct tg_notify *n)
{
	return n->ep;
}

/* ---------------------------------------------------------------------
 * Setup
 * ------------------------------------------------------------------- */

static void
show(struct sink *s)
{
	const char *u = s->cfg.url, *sep = strstr(u, "://"), *auth, *end, *at;
	char buf[sizeof(s->shown)]; /* not in place: the source is in *s too */

	if (s->cfg.type == TG_NOTIFY_COMMAND) {
		snprintf(buf, sizeof(buf), "%s", tg_notify_config_string(&s->cfg, 0));
	} else if (sep == NULL) {
		snprintf(buf, sizeof(buf), "%s", s->cfg.name);
	} else {
		auth = sep + 3;
		end = auth + strcspn(auth, "/?#");
		/* userinfo is a credential too */
		at = memchr(auth, '@', (size_t)(end - auth));
		if (at != NULL)
			auth = at + 1;
		snprintf(buf, sizeof(buf), "%.*s://%.*s", (int)(sep - u), u, (int)(end - auth),
			 auth);
	}
	memcpy(s->shown, buf, sizeof(buf));
}

/* The secret: the file's bytes, one trailing newline dropped. Never logged. */
static int
read_secret(struct sink *s, const char *where, char *err, size_t errlen)
{
	int fd = open(s->cfg.secret_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t r;
	size_t len = 0;
	unsigned char extra;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		tg_sp_seterr(err, errlen, "%s.secret_file: %s: %s", where, s->cfg.secret_file,
			     strerror(e));
		return -e;
	}
	/* the descriptor, not the path, as credstore.c does */
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		close(fd);
		tg_sp_seterr(err, errlen,
			     "%s.secret_file: %s: must be a regular file of mode 0600 or 0400 "
			     "(mode %04o)",
			     where, s->cfg.secret_file, (unsigned int)(st.st_mode & 07777));
		return -EINVAL;
	}
	while (len < sizeof(s->secret) &&
	       ((r = read(fd, s->secret + len, sizeof(s->secret) - len)) > 0 ||
		(r < 0 && errno == EINTR)))
		len += r > 0 ? (size_t)r : 0;
	r = len == sizeof(s->secret) ? read(fd, &extra, 1) : 0;
	close(fd);
	if (len > 0 && s->secret[len - 1] == '\n')
		len--;
	if (len > 0 && s->secret[len - 1] == '\r')
		len--;
	if (r != 0 || len == 0) {
		explicit_bzero(s->secret, sizeof(s->secret));
		tg_sp_seterr(err, errlen, "%s.secret_file: %s: must hold 1..%d bytes", where,
			     s->cfg.secret_file, SECRET_MAX);
		return -EINVAL;
	}
	s->secret_len = len;
	return 0;
}

struct tg_notify *
tg_notify_new(const struct tg_notify_config *cfg, const struct tg_notify_hooks *hooks, char *err,
	      size_t errlen)
{
	unsigned char rnd[8];
	unsigned int nw = 0, nc = 0;
	struct tg_notify *n;
	int saved, fd;

	if (tg_curlep_global_init() < 0) {
		tg_sp_seterr(err, errlen, "notify: curl_global_init failed");
		errno = ENOMEM;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		tg_sp_seterr(err, errlen, "notify: out of memory");
		return NULL;
	}
	n->ep = n->wcurl.fd = n->wdue.fd = -1;
	TAILQ_INIT(&n->dead);
	TAILQ_INIT(&n->dead_watches);
	if (hooks != NULL)
		n->hooks = *hooks;
	n->max_attempts = cfg->max_attempts;
	n->initial_ms = cfg->initial_ms;
	n->max_ms = cfg->max_ms < cfg->initial_ms ? cfg->initial_ms : cfg->max_ms;
	n->queue_max = cfg->queue_max;
	if (n->max_attempts == 0 || n->initial_ms == 0 || n->queue_max == 0 ||
	    cfg->nb_sinks > TG_NOTIFY_SINKS_MAX) {
		tg_sp_seterr(err, errlen, "notify: a config not from tg_notify_config_parse()");
		goto err_inval;
	}
	for (unsigned int i = 0; i < cfg->nb_sinks; i++) {
		struct sink *s = &n->sinks[i];
		char where[64];

		s->n = n;
		s->cfg = cfg->sinks[i];
		TAILQ_INIT(&s->wait);
		TAILQ_INIT(&s->run);
		n->nb_sinks++;
		show(s);
		if (s->cfg.type == TG_NOTIFY_WEBHOOK)
			snprintf(where, sizeof(where), "approvals.notify.webhooks[%u]", nw++);
		else
			snprintf(where, sizeof(where), "approvals.notify.commands[%u]", nc++);
		if (s->cfg.parallel == 0 || s->cfg.timeout_ms == 0) {
			tg_sp_seterr(err, errlen, "%s: parallel and timeout_ms must not be 0",
				     where);
			goto err_inval;
		}
		if (s->cfg.type == TG_NOTIFY_WEBHOOK && s->cfg.secret_file[0] != '\0' &&
		    (saved = -read_secret(s, where, err, errlen)) > 0) {
			if (saved != EINVAL)
				goto err_errno;
			goto err_inval;
		}
		if (s->cfg.type == TG_NOTIFY_COMMAND) {
			const char *prog = tg_notify_config_string(&s->cfg, 0);
			struct stat sb;

			if (prog == NULL || prog[0] != '/') {
				tg_sp_seterr(err, errlen, "%s.argv: no absolute program path",
					     where);
				goto err_inval;
			}
			if (stat(prog, &sb) < 0 || access(prog, X_OK) < 0) {
				tg_sp_seterr(err, errlen, "%s.argv[0]: %s: %s", where, prog,
					     strerror(errno));
				goto err_inval;
			}
			if (!S_ISREG(sb.st_mode)) {
				tg_sp_seterr(err, errlen, "%s.argv[0]: %s: not a regular file",
					     where, prog);
				goto err_inval;
			}
		}
	}
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		saved = errno;
		tg_sp_seterr(err, errlen, "notify: getrandom: %s", strerror(saved));
		goto err_errno;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(n->id_prefix + 2 * i, 3, "%02x", rnd[i]);
	n->ep = epoll_create1(EPOLL_CLOEXEC);
	if (n->ep < 0)
		goto err_sys;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0 || watch_add(n, &n->wcurl, W_CURL_TIMER, fd, EPOLLIN, NULL) < 0) {
		if (fd >= 0)
			close(fd);
		goto err_sys;
	}
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0 || watch_add(n, &n->wdue, W_DUE_TIMER, fd, EPOLLIN, NULL) < 0) {
		if (fd >= 0)
			close(fd);
		goto err_sys;
	}
	n->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	n->multi = curl_multi_init();
	if (n->mac == NULL || n->multi == NULL ||
	    curl_multi_setopt(n->multi, CURLMOPT_SOCKETFUNCTION, sock_cb) != CURLM_OK ||
	    curl_multi_setopt(n->multi, CURLMOPT_SOCKETDATA, n) != CURLM_OK ||
	    curl_multi_setopt(n->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
	    curl_multi_setopt(n->multi, CURLMOPT_TIMERDATA, n) != CURLM_OK) {
		tg_sp_seterr(err, errlen, "notify: curl_multi_init or HMAC failed");
		saved = ENOMEM;
		goto err_errno;
	}
	return n;
err_sys:
	saved = errno;
	tg_sp_seterr(err, errlen, "notify: epoll/timerfd: %s", strerror(saved));
	goto err_errno;
err_inval:
	saved = EINVAL;
err_errno:
	tg_notify_free(n);
	errno = saved;
	return NULL;
}

void
tg_notify_free(struct tg_notify *n)
{
	if (n == NULL)
		return;
	for (unsigned int i = 0; i < n->nb_sinks; i++) {
		struct sink *s = &n->sinks[i];
		struct delivery *d;

		while ((d = TAILQ_FIRST(&s->run)) != NULL) {
			if (d->pid > 0) {
				kill(-d->pid, SIGKILL);
				kill(d->pid, SIGKILL);
				while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
					;
				d->pid = 0;
			}
			close_command_fds(n, d);
			end_webhook(d);
			TAILQ_REMOVE(&s->run, d, link);
			s->in_flight--;
			TAILQ_INSERT_TAIL(&s->wait, d, link);
		}
		while ((d = TAILQ_FIRST(&s->wait)) != NULL) {
			TAILQ_REMOVE(&s->wait, d, link);
			give_up(s, d, TG_NOTIFY_DROP_SHUTDOWN,
				d->err[0] != '\0' ? d->err : "undelivered at stop");
			s->queued--;
			TAILQ_INSERT_TAIL(&n->dead, d, link);
		}
		explicit_bzero(s->secret, sizeof(s->secret));
	}
	if (n->multi != NULL)
		curl_multi_cleanup(n->multi);
	bury(n);
	EVP_MAC_free(n->mac);
	watch_close(n, &n->wcurl, true);
	watch_close(n, &n->wdue, true);
	if (n->ep >= 0)
		close(n->ep);
	explicit_bzero(n, sizeof(*n));
	free(n);
}
