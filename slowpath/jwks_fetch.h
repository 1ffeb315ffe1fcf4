/* SPDX-License-Identifier: MIT */
/*
 * jwks_fetch.h — the issuer's key set (jwks.h), fetched over HTTPS with
 * libcurl from the "jwks_uri" of its discovery document
 * (<issuer>/.well-known/openid-configuration, OpenID Connect Discovery
 * 1.0 §4), or from a configured jwks_uri, and kept fresh.
 *
 * Event loop. Nothing here blocks the slowpath: transfers run on
 * libcurl's multi interface, whose sockets and timer live in an epoll
 * instance of the fetcher's own, tg_jwks_fetch_fd() (the pattern of
 * tg_mgmt_fd()). The caller adds that fd to its epoll for EPOLLIN and
 * calls tg_jwks_fetch_on_ready() when it is readable; the fetcher then
 * moves its transfers on and returns. Its refresh timer is a timerfd in
 * the same instance, so the caller needs no tick. When a fetch ends,
 * cfg->on_update(arg, rc) is called (0: a new set is in place; -errno:
 * the fetch failed and the last good set stays) from inside
 * tg_jwks_fetch_on_ready(): the caller re-verifies the tokens that were
 * waiting for a kid. tg_jwks_fetch_sync() drives the same machinery to
 * completion, blocking, for tools and tests only.
 *
 * Cache. A fetched set is used until the Cache-Control max-age of its
 * response (RFC 9111 §5.2.2.1), bounded to [min_age_s, max_age_s];
 * without max-age, or with no-cache/no-store, for min_age_s. Then it is
 * fetched again in the background; the old set serves until the new one
 * is in. A failed fetch keeps the last good set and retries after
 * cooldown_s. The discovery document is fetched once and its jwks_uri
 * kept, and fetched again only when a JWKS fetch fails.
 *
 * Unknown kid (OIDC Core §10.1.1: keys rotate by appearing in the set
 * before use). tg_jwks_fetch_want_kid() asks for a refetch on behalf of a
 * token whose kid the set lacks. Single flight: while a fetch is in
 * progress every asker joins it (-EINPROGRESS) and no second transfer
 * starts; and at most one kid-triggered fetch starts per cooldown_s
 * (-EAGAIN otherwise; the token is refused as KID_UNKNOWN), so a client
 * sending tokens with random kids cannot make the gateway hammer the
 * issuer (go-oidc RemoteKeySet does the same). The cooldown is at least
 * TG_JWKS_COOLDOWN_MIN (notes/evidence.md §5: 10 s or more).
 *
 * Trust. HTTPS only (CURLOPT_PROTOCOLS_STR "https"), peer and host name
 * verified against cfg->ca_file or the system bundle, no redirects
 * followed, TLS 1.2 or later. The discovery document's "issuer" must
 * equal the configured issuer exactly (Discovery §4.3), and its
 * jwks_uri must be https. Responses are capped (discovery 64 KiB, the
 * set TG_JWKS_JSON_MAX) and each transfer has a deadline.
 *
 * Caveats:
 *   - curl_global_init() runs on the first tg_jwks_fetch_new(); call it
 *     before the process starts threads (the slowpath has none).
 *   - Name resolution uses libcurl's resolver; with a threaded-resolver
 *     build it does not block, with the synchronous one it may block for
 *     the resolver's timeout (issuers given as IP literals never do).
 *   - The set returned by tg_jwks_fetch_keys() is replaced, and the old
 *     one freed, inside tg_jwks_fetch_on_ready()/tg_jwks_fetch_sync():
 *     do not keep the pointer across those calls.
 *   - on_update runs inside tg_jwks_fetch_on_ready(): it may verify
 *     tokens, call tg_jwks_fetch_want_kid() and tg_jwks_fetch_start(),
 *     but not tg_jwks_fetch_free().
 *   - Single-threaded.
 */
#ifndef TG_SP_JWKS_FETCH_H
#define TG_SP_JWKS_FETCH_H

#include <stdint.h>

#include "jwks.h"

#define TG_JWKS_URL_MAX 1024	      /* bytes of an issuer or jwks_uri and NUL */
#define TG_JWKS_DISCOVERY_MAX 65536   /* bytes of a discovery document */
#define TG_JWKS_MIN_AGE_DEFAULT 300   /* s: refetch no sooner, whatever max-age says */
#define TG_JWKS_MAX_AGE_DEFAULT 86400 /* s: refetch no later */
#define TG_JWKS_COOLDOWN_DEFAULT 30   /* s between kid-triggered fetches, and retries */
#define TG_JWKS_COOLDOWN_MIN 10	      /* s: a shorter cooldown is refused */
#define TG_JWKS_TIMEOUT_DEFAULT 10000 /* ms per transfer */

struct tg_jwks_fetch_cfg {
	const char *issuer;	 /* https URL; discovery is <issuer>/.well-known/... */
	const char *jwks_uri;	 /* https URL of the set; NULL: from discovery */
	const char *ca_file;	 /* PEM bundle to trust; NULL: the system's */
	unsigned int min_age_s;	 /* 0: TG_JWKS_MIN_AGE_DEFAULT */
	unsigned int max_age_s;	 /* 0: TG_JWKS_MAX_AGE_DEFAULT */
	unsigned int cooldown_s; /* 0: TG_JWKS_COOLDOWN_DEFAULT; at least TG_JWKS_COOLDOWN_MIN */
	unsigned int timeout_ms; /* 0: TG_JWKS_TIMEOUT_DEFAULT */
	/* called when a fetch ends, from on_ready/sync; may be NULL */
	void (*on_update)(void *arg, int rc);
	void *arg;
};

/* clang-format off */
#define TG_JWKS_FETCH_COUNTERS(X) \
	X(FETCHES, "fetches")		/* fetches started (discovery + set count as one) */ \
	X(FETCH_OK, "fetch_ok")		/* fetches that installed a new set */ \
	X(FETCH_FAILED, "fetch_failed")	/* fetches that failed: last good set kept */ \
	X(DISCOVERIES, "discoveries")	/* discovery documents fetched */ \
	X(HTTP_REQUESTS, "http_requests")	/* transfers started */ \
	X(KID_REFETCH, "kid_refetch")	/* fetches started for an unknown kid */ \
	X(KID_JOINED, "kid_joined")	/* unknown-kid asks that joined a fetch in flight */ \
	X(KID_COOLDOWN, "kid_cooldown")	/* unknown-kid asks refused by the cooldown */ \
	X(KID_PRESENT, "kid_present")	/* asks for a kid the set already has */ \
	X(REFRESHES, "refreshes")	/* fetches started by the max-age timer */
/* clang-format on */

enum tg_jwks_fetch_counter {
#define TG_JWKS_X(e, n) TG_JWKS_FETCH_##e,
	TG_JWKS_FETCH_COUNTERS(TG_JWKS_X)
#undef TG_JWKS_X
		TG_JWKS_FETCH_CNT_MAX
};

struct tg_jwks_fetch_stats {
	uint64_t cnt[TG_JWKS_FETCH_CNT_MAX];
	unsigned int keys;	/* entries of the current set */
	int64_t age_s;		/* seconds since the current set was fetched; -1 none */
	unsigned int max_age_s; /* lifetime given to the current set */
	int last_rc;		/* of the last fetch: 0 or -errno */
};

struct tg_jwks_fetch;

/*
 * A fetcher for cfg (copied). Starts nothing: call tg_jwks_fetch_start()
 * or tg_jwks_fetch_sync(). NULL with errno EINVAL (an issuer or jwks_uri
 * that is not an https URL or too long, neither given, min_age above
 * max_age, a cooldown under TG_JWKS_COOLDOWN_MIN) or ENOMEM, EMFILE, ...;
 * the reason in err. Give the verifier (jwt.h) the same issuer string:
 * the discovery document's "issuer" is checked against it here, tokens'
 * "iss" there.
 */
struct tg_jwks_fetch *tg_jwks_fetch_new(const struct tg_jwks_fetch_cfg *cfg, char *err,
					size_t errlen);

void tg_jwks_fetch_free(struct tg_jwks_fetch *f);

/* The fd to watch for EPOLLIN in the caller's loop. */
int tg_jwks_fetch_fd(const struct tg_jwks_fetch *f);

/* Moves transfers and timers on; call when tg_jwks_fetch_fd() is readable. Never blocks. */
void tg_jwks_fetch_on_ready(struct tg_jwks_fetch *f);

/* Starts a fetch now unless one is in flight: 0 started, -EINPROGRESS joined, -errno. */
int tg_jwks_fetch_start(struct tg_jwks_fetch *f);

/*
 * A token names kid, which the current set lacks: 0 the set has it by
 * now (verify again at once); -EINPROGRESS a fetch is on its way (wait
 * for on_update); -EAGAIN refused by the cooldown (refuse the token).
 */
int tg_jwks_fetch_want_kid(struct tg_jwks_fetch *f, const char *kid);

/* Starts a fetch if none is in flight and waits for it up to timeout_ms:
 * 0, the fetch's -errno, or -ETIMEDOUT. For tools and tests only. */
int tg_jwks_fetch_sync(struct tg_jwks_fetch *f, unsigned int timeout_ms);

/* Waits up to timeout_ms for the fetch in flight, if any (tools and tests). */
int tg_jwks_fetch_wait(struct tg_jwks_fetch *f, unsigned int timeout_ms);

/* The current (last good) set; NULL before the first successful fetch. */
const struct tg_jwks *tg_jwks_fetch_keys(const struct tg_jwks_fetch *f);

/* Why the last fetch failed ("" after a success). */
const char *tg_jwks_fetch_error(const struct tg_jwks_fetch *f);

void tg_jwks_fetch_stats(const struct tg_jwks_fetch *f, struct tg_jwks_fetch_stats *st);

const char *tg_jwks_fetch_counter_name(enum tg_jwks_fetch_counter c);

/*
 * The lifetime of a response with this Cache-Control value (NULL when
 * the header is absent): its max-age bounded to [min_s, max_s]; min_s
 * without max-age or with no-cache or no-store. Exposed for tests.
 */
unsigned int tg_jwks_cache_age(const char *cache_control, unsigned int min_s, unsigned int max_s);

#endif /* TG_SP_JWKS_FETCH_H */
