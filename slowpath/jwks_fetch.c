/* SPDX-License-Identifier: MIT */
/*
 * jwks_fetch.c — the key set over HTTPS on libcurl's multi interface
 * (jwks_fetch.h).
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "curlep.h"
#include "jwks.h"
#include "jwks_fetch.h"
#include "seterr.h"

#define WELL_KNOWN "/.well-known/openid-configuration"

enum state {
	ST_IDLE,
	ST_DISCOVERY, /* GET of the discovery document in flight */
	ST_JWKS,      /* GET of the set in flight */
};

struct tg_jwks_fetch {
	char issuer[TG_JWKS_URL_MAX];
	char disc_url[TG_JWKS_URL_MAX];
	char jwks_url[TG_JWKS_URL_MAX]; /* configured or discovered; "" unknown */
	bool jwks_configured;
	char ca_file[TG_JWKS_URL_MAX]; /* "" the system's */
	unsigned int min_age_s, max_age_s, cooldown_s, timeout_ms;
	void (*on_update)(void *arg, int rc);
	void *arg;

	CURLM *multi;
	CURL *easy; /* the transfer in flight; NULL when idle */
	int ep;	    /* epoll of curl's sockets, tfd and rfd: tg_jwks_fetch_fd() */
	int tfd;    /* curl's timer */
	int rfd;    /* refresh and retry timer */
	enum state state;
	char *body;
	size_t body_len, body_cap;
	bool body_over;

	struct tg_jwks *keys;
	int64_t fetched_at;   /* monotonic s of the current set; -1 none */
	int64_t kid_fetch_at; /* monotonic s of the last kid-triggered fetch; -1 none */
	unsigned int age_s;
	int last_rc;
	char err[256];
	uint64_t cnt[TG_JWKS_FETCH_CNT_MAX];
};

static const char *const counter_names[TG_JWKS_FETCH_CNT_MAX] = {
#define TG_JWKS_X(e, n) [TG_JWKS_FETCH_##e] = n,
	TG_JWKS_FETCH_COUNTERS(TG_JWKS_X)
#undef TG_JWKS_X
};

const char *
tg_jwks_fetch_counter_name(enum tg_jwks_fetch_counter c)
{
	return (unsigned int)c < TG_JWKS_FETCH_CNT_MAX ? counter_names[c] : "?";
}

static int64_t
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

unsigned int
tg_jwks_cache_age(const char *cc, unsigned int min_s, unsigned int max_s)
{
	unsigned long age = 0;
	bool have = false;
	const char *p = cc;

	if (cc == NULL)
		return min_s;
	/* directives are comma-separated tokens, case-insensitive (RFC 9111 §5.2) */
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (strncasecmp(p, "no-store", 8) == 0 || strncasecmp(p, "no-cache", 8) == 0)
			return min_s;
		if (strncasecmp(p, "max-age=", 8) == 0 && isdigit((unsigned char)p[8])) {
			char *end;

			errno = 0;
			age = strtoul(p + 8, &end, 10);
			/* RFC 9111 §1.2.2: too large is "a very long time" */
			if (errno == ERANGE)
				age = max_s;
			have = true;
			p = end;
		}
		while (*p != '\0' && *p != ',')
			p++;
	}
	if (!have || age < min_s)
		return min_s;
	return age > max_s ? max_s : (unsigned int)age;
}

/* CURLMOPT_SOCKETFUNCTION: mirror curl's interest in our epoll. */
static int
sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct tg_jwks_fetch *f = userp;
	struct epoll_event ev = { .data.fd = s };

	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(f->ep, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (socketp == NULL) {
		if (epoll_ctl(f->ep, EPOLL_CTL_ADD, s, &ev) < 0 && errno == EEXIST)
			epoll_ctl(f->ep, EPOLL_CTL_MOD, s, &ev);
		curl_multi_assign(f->multi, s, f);
	} else {
		epoll_ctl(f->ep, EPOLL_CTL_MOD, s, &ev);
	}
	return 0;
}

/* CURLMOPT_TIMERFUNCTION */
static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct tg_jwks_fetch *f = userp;

	tg_curlep_arm(f->tfd, timeout_ms);
	return 0;
}

/* CURLOPT_WRITEFUNCTION: collect up to the cap; past it, abort the transfer. */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct tg_jwks_fetch *f = userp;
	size_t n = size * nmemb;

	if (n > f->body_cap - f->body_len) {
		f->body_over = true;
		return 0;
	}
	memcpy(f->body + f->body_len, data, n);
	f->body_len += n;
	return n;
}

static int
begin(struct tg_jwks_fetch *f, const char *url, enum state st)
{
	CURL *e = curl_easy_init();
	size_t cap = st == ST_DISCOVERY ? TG_JWKS_DISCOVERY_MAX : TG_JWKS_JSON_MAX;

	if (e == NULL)
		return -ENOMEM;
	if (f->body_cap < cap) {
		char *b = realloc(f->body, cap);

		if (b == NULL) {
			curl_easy_cleanup(e);
			return -ENOMEM;
		}
		f->body = b;
	}
	f->body_cap = cap;
	f->body_len = 0;
	f->body_over = false;
	if (tg_curlep_setup(e, url, "https", f->ca_file, f->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, f) != CURLE_OK ||
	    curl_multi_add_handle(f->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		return -EINVAL;
	}
	f->easy = e;
	f->state = st;
	f->cnt[TG_JWKS_FETCH_HTTP_REQUESTS]++;
	return 0;
}

static void
end_transfer(struct tg_jwks_fetch *f)
{
	if (f->easy == NULL)
		return;
	curl_multi_remove_handle(f->multi, f->easy);
	curl_easy_cleanup(f->easy);
	f->easy = NULL;
}

/* A fetch is over: schedule the next, tell the caller. */
static void
finish(struct tg_jwks_fetch *f, int rc)
{
	end_transfer(f);
	f->state = ST_IDLE;
	f->last_rc = rc;
	if (rc == 0) {
		f->err[0] = '\0';
		f->cnt[TG_JWKS_FETCH_FETCH_OK]++;
		tg_curlep_arm(f->rfd, (long)f->age_s * 1000);
	} else {
		f->cnt[TG_JWKS_FETCH_FETCH_FAILED]++;
		/* a discovered jwks_uri that failed may have moved: rediscover */
		if (!f->jwks_configured)
			f->jwks_url[0] = '\0';
		tg_curlep_arm(f->rfd, (long)f->cooldown_s * 1000);
	}
	if (f->on_update != NULL)
		f->on_update(f->arg, rc);
}

/* Discovery §4.2-§4.3: issuer must match, jwks_uri must be https. */
static int
got_discovery(struct tg_jwks_fetch *f)
{
	json_t *root = json_loadb(f->body, f->body_len, JSON_REJECT_DUPLICATES, NULL);
	json_t *iss = json_object_get(root, "issuer");
	json_t *uri = json_object_get(root, "jwks_uri");
	int rc = -EINVAL;

	if (!json_is_object(root)) {
		tg_sp_seterr(f->err, sizeof(f->err), "discovery document is not a JSON object");
	} else if (!json_is_string(iss) || strcmp(json_string_value(iss), f->issuer) != 0) {
		tg_sp_seterr(f->err, sizeof(f->err),
			     "discovery issuer is not the configured issuer %s", f->issuer);
	} else if (!json_is_string(uri) || strncmp(json_string_value(uri), "https://", 8) != 0 ||
		   json_string_length(uri) >= sizeof(f->jwks_url) ||
		   strlen(json_string_value(uri)) != json_string_length(uri)) {
		tg_sp_seterr(f->err, sizeof(f->err), "discovery jwks_uri missing or not https");
	} else {
		memcpy(f->jwks_url, json_string_value(uri), json_string_length(uri) + 1);
		rc = 0;
	}
	json_decref(root);
	return rc;
}

static int
got_jwks(struct tg_jwks_fetch *f)
{
	struct curl_header *h = NULL;
	struct tg_jwks *set;
	char perr[160];
	int rc;

	rc = tg_jwks_parse(f->body, f->body_len, &set, perr, sizeof(perr));
	if (rc < 0) {
		tg_sp_seterr(f->err, sizeof(f->err), "JWKS from %s: %s", f->jwks_url, perr);
		return rc;
	}
	if (tg_jwks_count(set) == 0) {
		/* an empty set would refuse everyone: keep the last good one */
		tg_sp_seterr(f->err, sizeof(f->err), "JWKS from %s has no keys", f->jwks_url);
		tg_jwks_free(set);
		return -ENOKEY;
	}
	if (curl_easy_header(f->easy, "Cache-Control", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		h = NULL;
	f->age_s = tg_jwks_cache_age(h != NULL ? h->value : NULL, f->min_age_s, f->max_age_s);
	tg_jwks_free(f->keys);
	f->keys = set;
	f->fetched_at = mono_s();
	return 0;
}

/* One transfer is done with result res. */
static void
done(struct tg_jwks_fetch *f, CURLcode res)
{
	long status = 0;
	int rc;

	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	if (res != CURLE_OK) {
		tg_sp_seterr(f->err, sizeof(f->err), "GET %s: %s",
			     f->state == ST_DISCOVERY ? f->disc_url : f->jwks_url,
			     f->body_over ? "response too large" : curl_easy_strerror(res));
		finish(f, res == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO);
		return;
	}
	if (status != 200) {
		tg_sp_seterr(f->err, sizeof(f->err), "GET %s: HTTP status %ld",
			     f->state == ST_DISCOVERY ? f->disc_url : f->jwks_url, status);
		finish(f, -EIO);
		return;
	}
	if (f->state == ST_DISCOVERY) {
		f->cnt[TG_JWKS_FETCH_DISCOVERIES]++;
		rc = got_discovery(f);
		end_transfer(f);
		if (rc == 0)
			rc = begin(f, f->jwks_url, ST_JWKS);
		if (rc < 0)
			finish(f, rc);
		return;
	}
	finish(f, got_jwks(f));
}

static void
check_done(struct tg_jwks_fetch *f)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(f->multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE && m->easy_handle == f->easy)
			done(f, m->data.result);
}

int
tg_jwks_fetch_start(struct tg_jwks_fetch *f)
{
	int rc;

	if (f->state != ST_IDLE)
		return -EINPROGRESS;
	f->cnt[TG_JWKS_FETCH_FETCHES]++;
	if (f->jwks_url[0] != '\0')
		rc = begin(f, f->jwks_url, ST_JWKS);
	else
		rc = begin(f, f->disc_url, ST_DISCOVERY);
	if (rc < 0) {
		tg_sp_seterr(f->err, sizeof(f->err), "cannot start a transfer: %s", strerror(-rc));
		f->last_rc = rc;
		f->cnt[TG_JWKS_FETCH_FETCH_FAILED]++;
		tg_curlep_arm(f->rfd, (long)f->cooldown_s * 1000);
	}
	return rc;
}

void
tg_jwks_fetch_on_ready(struct tg_jwks_fetch *f)
{
	struct epoll_event ev[16];
	uint64_t ticks;
	int n, i, running;

	n = epoll_wait(f->ep, ev, 16, 0);
	for (i = 0; i < n; i++) {
		int fd = ev[i].data.fd;

		if (fd == f->tfd) {
			if (read(f->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				continue;
			curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		} else if (fd == f->rfd) {
			if (read(f->rfd, &ticks, sizeof(ticks)) < 0)
				continue;
			if (f->state == ST_IDLE) {
				f->cnt[TG_JWKS_FETCH_REFRESHES]++;
				tg_jwks_fetch_start(f);
			}
		} else {
			curl_multi_socket_action(f->multi, fd, tg_curlep_cselect(ev[i].events),
						 &running);
		}
		check_done(f);
	}
}

int
tg_jwks_fetch_want_kid(struct tg_jwks_fetch *f, const char *kid)
{
	int64_t now = mono_s();
	int rc;

	if (tg_jwks_has_kid(f->keys, kid)) {
		f->cnt[TG_JWKS_FETCH_KID_PRESENT]++;
		return 0;
	}
	if (f->state != ST_IDLE) {
		f->cnt[TG_JWKS_FETCH_KID_JOINED]++;
		return -EINPROGRESS;
	}
	if (f->kid_fetch_at >= 0 && now < f->kid_fetch_at + f->cooldown_s) {
		f->cnt[TG_JWKS_FETCH_KID_COOLDOWN]++;
		return -EAGAIN;
	}
	f->kid_fetch_at = now;
	f->cnt[TG_JWKS_FETCH_KID_REFETCH]++;
	rc = tg_jwks_fetch_start(f);
	return rc < 0 ? rc : -EINPROGRESS;
}

int
tg_jwks_fetch_wait(struct tg_jwks_fetch *f, unsigned int timeout_ms)
{
	uint64_t deadline = tg_curlep_mono_ms() + timeout_ms;

	while (f->state != ST_IDLE) {
		struct pollfd pfd = { .fd = f->ep, .events = POLLIN };
		uint64_t now = tg_curlep_mono_ms();

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return -errno;
		tg_jwks_fetch_on_ready(f);
	}
	return f->last_rc;
}

int
tg_jwks_fetch_sync(struct tg_jwks_fetch *f, unsigned int timeout_ms)
{
	int rc = tg_jwks_fetch_start(f);

	if (rc < 0 && rc != -EINPROGRESS)
		return rc;
	return tg_jwks_fetch_wait(f, timeout_ms);
}

const struct tg_jwks *
tg_jwks_fetch_keys(const struct tg_jwks_fetch *f)
{
	return f->keys;
}

const char *
tg_jwks_fetch_error(const struct tg_jwks_fetch *f)
{
	return f->err;
}

void
tg_jwks_fetch_stats(const struct tg_jwks_fetch *f, struct tg_jwks_fetch_stats *st)
{
	memcpy(st->cnt, f->cnt, sizeof(st->cnt));
	st->keys = tg_jwks_count(f->keys);
	st->age_s = f->fetched_at < 0 ? -1 : mono_s() - f->fetched_at;
	st->max_age_s = f->age_s;
	st->last_rc = f->last_rc;
}

int
tg_jwks_fetch_fd(const struct tg_jwks_fetch *f)
{
	return f->ep;
}

/* An https URL that fits: copied into dst. */
static bool
url_ok(char *dst, size_t cap, const char *url)
{
	size_t n;

	if (url == NULL || strncmp(url, "https://", 8) != 0 || url[8] == '\0')
		return false;
	n = strnlen(url, cap);
	if (n == cap)
		return false;
	memcpy(dst, url, n + 1);
	return true;
}

static int
add_fd(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

struct tg_jwks_fetch *
tg_jwks_fetch_new(const struct tg_jwks_fetch_cfg *cfg, char *err, size_t errlen)
{
	struct tg_jwks_fetch *f;
	size_t n;
	int saved;

	if (tg_curlep_global_init() < 0) {
		tg_sp_seterr(err, errlen, "jwks: curl_global_init failed");
		errno = ENOMEM;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		tg_sp_seterr(err, errlen, "jwks: out of memory");
		return NULL;
	}
	f->ep = f->tfd = f->rfd = -1;
	f->fetched_at = f->kid_fetch_at = -1;
	f->min_age_s = cfg->min_age_s != 0 ? cfg->min_age_s : TG_JWKS_MIN_AGE_DEFAULT;
	f->max_age_s = cfg->max_age_s != 0 ? cfg->max_age_s : TG_JWKS_MAX_AGE_DEFAULT;
	f->cooldown_s = cfg->cooldown_s != 0 ? cfg->cooldown_s : TG_JWKS_COOLDOWN_DEFAULT;
	f->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : TG_JWKS_TIMEOUT_DEFAULT;
	f->age_s = f->min_age_s;
	f->on_update = cfg->on_update;
	f->arg = cfg->arg;
	if (f->cooldown_s < TG_JWKS_COOLDOWN_MIN) {
		tg_sp_seterr(err, errlen, "jwks: cooldown %u s under %u s", f->cooldown_s,
			     TG_JWKS_COOLDOWN_MIN);
		goto err_inval;
	}
	if (f->min_age_s > f->max_age_s) {
		tg_sp_seterr(err, errlen, "jwks: min_age %u s above max_age %u s", f->min_age_s,
			     f->max_age_s);
		goto err_inval;
	}
	if (cfg->jwks_uri != NULL) {
		if (!url_ok(f->jwks_url, sizeof(f->jwks_url), cfg->jwks_uri)) {
			tg_sp_seterr(err, errlen, "jwks: jwks_uri is not an https URL that fits");
			goto err_inval;
		}
		f->jwks_configured = true;
	}
	if (cfg->issuer != NULL) {
		if (!url_ok(f->issuer, sizeof(f->issuer), cfg->issuer)) {
			tg_sp_seterr(err, errlen, "jwks: issuer is not an https URL that fits");
			goto err_inval;
		}
		/* Discovery §4: a trailing "/" of the issuer is not doubled */
		n = strlen(f->issuer);
		if (snprintf(f->disc_url, sizeof(f->disc_url), "%.*s" WELL_KNOWN,
			     (int)(f->issuer[n - 1] == '/' ? n - 1 : n),
			     f->issuer) >= (int)sizeof(f->disc_url)) {
			tg_sp_seterr(err, errlen, "jwks: issuer too long");
			goto err_inval;
		}
	} else if (!f->jwks_configured) {
		tg_sp_seterr(err, errlen, "jwks: an issuer or a jwks_uri is required");
		goto err_inval;
	}
	if (cfg->ca_file != NULL) {
		n = strnlen(cfg->ca_file, sizeof(f->ca_file));
		if (n == sizeof(f->ca_file)) {
			tg_sp_seterr(err, errlen, "jwks: ca_file path too long");
			goto err_inval;
		}
		memcpy(f->ca_file, cfg->ca_file, n + 1);
	}
	f->ep = epoll_create1(EPOLL_CLOEXEC);
	f->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	f->rfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (f->ep < 0 || f->tfd < 0 || f->rfd < 0 || add_fd(f->ep, f->tfd) < 0 ||
	    add_fd(f->ep, f->rfd) < 0) {
		saved = errno;
		tg_sp_seterr(err, errlen, "jwks: epoll/timerfd: %s", strerror(saved));
		goto err_errno;
	}
	f->multi = curl_multi_init();
	if (f->multi == NULL ||
	    curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, sock_cb) != CURLM_OK ||
	    curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f) != CURLM_OK ||
	    curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
	    curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f) != CURLM_OK) {
		tg_sp_seterr(err, errlen, "jwks: curl_multi_init failed");
		saved = ENOMEM;
		goto err_errno;
	}
	return f;
err_inval:
	saved = EINVAL;
err_errno:
	tg_jwks_fetch_free(f);
	errno = saved;
	return NULL;
}

void
tg_jwks_fetch_free(struct tg_jwks_fetch *f)
{
	if (f == NULL)
		return;
	end_transfer(f);
	if (f->multi != NULL)
		curl_multi_cleanup(f->multi);
	if (f->rfd >= 0)
		close(f->rfd);
	if (f->tfd >= 0)
		close(f->tfd);
	if (f->ep >= 0)
		close(f->ep);
	tg_jwks_free(f->keys);
	free(f->body);
	free(f);
}
