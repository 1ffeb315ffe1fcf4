/* SPDX-License-Identifier: MIT */
/*
 * jwt.h — verification of the OIDC token a client presents as its
 * PostgreSQL password (DESIGN.md, "Identity (auth takeover)"): a compact
 * JWS (RFC 7515 §7.1) whose payload is a JWT (RFC 7519), an OIDC ID token
 * (OIDC Core §2) or an OAuth access token in JWT form (RFC 9068). The
 * result is either a verified identity or one typed refusal reason, for
 * the audit record and the client's ErrorResponse.
 *
 * Why not libjwt. libjwt 1.10 (Debian 12) verifies with the algorithm the
 * token names, compares algorithm names without case, accepts only typ
 * "JWT" (so no RFC 9068 "at+jwt"), has no claim validation and no
 * leeway, and has neither PS256 nor EdDSA (notes/evidence.md §5). Its one
 * safe use would be behind a pre-parse that repeats everything it does.
 * So this module parses the token with jansson and verifies the
 * signature with OpenSSL EVP itself: the algorithm is chosen by an exact
 * allow-list and then bound to the key (jwks.h), and no HMAC code exists
 * at all, which rules out the RSA-public-key-as-HMAC-secret confusion by
 * construction rather than by a check after the fact.
 *
 * The checks, in order; the first that fails is the reason:
 *   1. shape: three base64url segments (b64url.h, strict), at most
 *      TG_JWT_TOKEN_MAX bytes (MALFORMED);
 *   2. header: a JSON object without duplicate members (HEADER); "alg"
 *      exactly one of RS256, PS256, ES256, EdDSA and allowed by the
 *      configuration ("none": ALG_NONE, HS*: ALG_HMAC, else
 *      ALG_UNSUPPORTED; RFC 8725 §3.1); "typ" absent or, without case,
 *      "JWT", "at+jwt" or those with "application/" (TYP; RFC 8725 §3.11,
 *      RFC 9068 §2.1); no "crit" (CRIT: no extension is understood,
 *      RFC 7515 §4.1.11); "kid" a non-empty string (KID_MISSING).
 *      "jku", "x5u", "jwk" and "x5c" are never followed (RFC 8725 §3.10);
 *   3. key: the JWKS entry of kid that may verify alg (jwks.h): NO_KEYS
 *      (no set yet), KID_UNKNOWN (the caller may refetch the set:
 *      jwks_fetch.h), KEY_MISMATCH, KEY_WEAK (RSA under 2048 bits),
 *      KEY_UNUSABLE;
 *   4. signature over "header.payload" (SIGNATURE; a tampered header or
 *      payload fails here). The payload is parsed only after this;
 *   5. payload: a JSON object without duplicate members (PAYLOAD);
 *   6. claims: "iss" equal to the configured issuer (ISS); "aud" a string
 *      or an array holding the configured audience (AUD); "azp", when
 *      present or when aud has several values, equal to the configured
 *      client id (AZP; OIDC Core §3.1.3.7); "exp" required, now < exp +
 *      skew (EXP_MISSING, EXPIRED); "nbf" optional, nbf <= now + skew
 *      (NBF); "iat" required, iat <= now + skew (IAT_MISSING, IAT_FUTURE)
 *      and, with max_age_s, now <= iat + max_age_s + skew (TOO_OLD);
 *      "sub" a non-empty string (SUB); "email", "jti", "client_id"
 *      strings if present (CLAIM); "email_verified" kept as true only
 *      when it is JSON true or "true" (as idmap.h reads it); the groups
 *      claim an array of strings or one string (GROUPS), and with an
 *      array path (groups_path) a path through a non-object is GROUPS. Skew is at most 60 s
 *(go-oidc's bound on nbf);
 *   7. per token kind (RFC 8725 §3.11-§3.12): a token of typ "at+jwt" is
 *      an RFC 9068 access token, which must also carry "client_id" and
 *      "jti" (RFC 9068 §2.2; CLAIM); other tokens (typ "JWT" or none, as
 *      OIDC ID tokens are) are held to the rules above only.
 *
 * Time is an argument (now, Unix seconds), never read here: the caller
 * passes time(NULL); tests pass a fixed clock and never expire.
 *
 * The verified-token cache. A token that passed is remembered by its
 * SHA-256, with its identity, until exp + skew (or iat + max_age_s +
 * skew when earlier), in a bounded LRU (jwt_cache.h): a client that
 * reconnects with the same token costs a hash and a lookup, not a
 * signature. A hit still requires its kid to be usable in the current
 * key set, so a key removed from the JWKS ends its tokens' cache entries.
 * Refusals are not cached (a refused kid may be fetched a moment later).
 *
 * Raw tokens. The module never stores a token: the cache holds its hash,
 * the signature is checked in place, and the decoded signature and
 * payload are wiped (explicit_bzero) before they are freed.
 * tg_jwt_token_dup()/tg_jwt_token_free() are for a caller that must hold
 * a token while a JWKS refetch is in flight: the free wipes it. The
 * caller wipes its own copy (the PasswordMessage) once it has an answer.
 *
 * Wiring (slowpath/main.c):
 *	at start: f = tg_jwks_fetch_new(&fcfg, ...) with the same issuer,
 *	  on_update = a function that re-verifies the held tokens;
 *	  epoll_ctl(ADD, tg_jwks_fetch_fd(f), EPOLLIN); tg_jwks_fetch_start(f);
 *	  v = tg_jwt_new(&cfg, err, sizeof(err));
 *	when tg_jwks_fetch_fd(f) is readable: tg_jwks_fetch_on_ready(f);
 *	per PasswordMessage:
 *	r = tg_jwt_verify(v, tg_jwks_fetch_keys(f), tok, len, time(NULL), &id);
 *	if ((r == TG_JWT_KID_UNKNOWN || r == TG_JWT_NO_KEYS) &&
 *	    tg_jwks_fetch_want_kid(f, id.kid) == -EINPROGRESS)
 *		hold the token (tg_jwt_token_dup) with a deadline, and verify
 *		it again from on_update (once: a second KID_UNKNOWN refuses);
 *	else if (r == TG_JWT_KID_UNKNOWN && want_kid returned 0)
 *		verify again at once (the set changed meanwhile);
 *	else if (r != TG_JWT_OK)
 *		refuse: audit tg_jwt_reason_name(r) with id.kid and
 *		id.token_sha256, answer 28000 with tg_jwt_reason_text(r);
 *	else audit iss/sub/jti/kid/token hash (never the token), map id.sub
 *		and id.groups to a role (idmap.h), and end or re-authenticate
 *		the session at id.exp (notes/evidence.md §5, 7);
 *	then explicit_bzero() the PasswordMessage bytes.
 *
 * Caveats:
 *   - One issuer and one audience per verifier; several issuers need one
 *     verifier (and one fetcher) each.
 *   - No check of "at_hash", "nonce" or "auth_time": tokens arrive as a
 *     password, not from an authorization-code flow of ours.
 *   - Tokens of more than TG_JWT_GROUPS_MAX groups, or longer claim values
 *     than the identity holds, are refused (GROUPS, CLAIM, SUB), never
 *     truncated: a dropped group could skip a deny rule.
 *   - Cost: one SHA-256 per call; on a miss a JSON parse of the header and
 *     payload and one signature verification (`openssl speed` on the
 *     build machine, one core: RSA-2048 18 us, P-256 60 us, Ed25519
 *     75 us), plus an EVP key lookup by kid (a scan of <= 64 entries).
 *   - Single-threaded.
 */
#ifndef TG_SP_JWT_H
#define TG_SP_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jwks.h"

#define TG_JWT_TOKEN_MAX 16384	  /* bytes of a token (PasswordMessage bodies are larger) */
#define TG_JWT_STR_MAX 256	  /* iss, sub, email and their NUL */
#define TG_JWT_JTI_MAX 128	  /* jti and its NUL */
#define TG_JWT_GROUPS_MAX 32	  /* groups of an identity */
#define TG_JWT_GROUP_MAX 128	  /* bytes of a group and its NUL */
#define TG_JWT_CLAIM_PATH_MAX 128 /* the groups claim path and its NUL */
#define TG_JWT_SKEW_MAX 60	  /* seconds of clock skew at most */
#define TG_JWT_CACHE_DEFAULT 1024 /* cached tokens when cfg->cache_max is 0 */
#define TG_JWT_CACHE_MAX 65536	  /* cached tokens at most */
#define TG_JWT_SHA256_LEN 32

/* clang-format off */
#define TG_JWT_REASONS(X) \
	X(OK, "ok", "token verified") \
	X(MALFORMED, "malformed", "token is not a compact JWS") \
	X(HEADER, "bad_header", "token header is not a valid JSON object") \
	X(ALG_NONE, "alg_none", "unsigned token (alg none) refused") \
	X(ALG_HMAC, "alg_hmac", "HMAC-signed token refused") \
	X(ALG_UNSUPPORTED, "alg_unsupported", "token signing algorithm not allowed") \
	X(TYP, "typ", "token type not accepted") \
	X(CRIT, "crit", "token has critical header extensions") \
	X(KID_MISSING, "kid_missing", "token names no key (kid)") \
	X(NO_KEYS, "no_keys", "issuer keys not available") \
	X(KID_UNKNOWN, "kid_unknown", "token signed by an unknown key") \
	X(KEY_MISMATCH, "key_mismatch", "token algorithm does not fit its key") \
	X(KEY_WEAK, "key_weak", "token key too weak") \
	X(KEY_UNUSABLE, "key_unusable", "token key unusable") \
	X(SIGNATURE, "bad_signature", "token signature invalid") \
	X(PAYLOAD, "bad_payload", "token payload is not a valid JSON object") \
	X(ISS, "iss", "token issuer not accepted") \
	X(AUD, "aud", "token audience not accepted") \
	X(AZP, "azp", "token authorized party not accepted") \
	X(EXP_MISSING, "exp_missing", "token has no valid expiry") \
	X(EXPIRED, "expired", "token expired") \
	X(NBF, "not_yet_valid", "token not yet valid") \
	X(IAT_MISSING, "iat_missing", "token has no valid issue time") \
	X(IAT_FUTURE, "iat_future", "token issued in the future") \
	X(TOO_OLD, "too_old", "token too old") \
	X(SUB, "sub", "token has no valid subject") \
	X(CLAIM, "bad_claim", "token claim missing or malformed") \
	X(GROUPS, "groups", "token groups claim malformed") \
	X(INTERNAL, "internal", "token verification failed internally")
/* clang-format on */

enum tg_jwt_reason {
#define TG_JWT_X(e, n, t) TG_JWT_##e,
	TG_JWT_REASONS(TG_JWT_X)
#undef TG_JWT_X
		TG_JWT_REASON_MAX
};

struct tg_jwt_cfg {
	const char *issuer;	  /* required: "iss" must equal it, byte for byte */
	const char *audience;	  /* required: "aud" must hold it (client id or resource) */
	const char *azp;	  /* "azp" when present; NULL: the audience */
	const char *groups_claim; /* "groups", "realm_access.roles", ...; NULL: "groups" */
	/*
	 * Or the groups claim as a path of names, each taken whole (so a
	 * namespaced "https://example.com/groups" is one name): the form of
	 * idmap.h's claim_groups, which the slowpath passes here so that the
	 * verifier and the map read the same claim. When groups_path_len is
	 * not 0 it wins over groups_claim, and a path through a non-object is
	 * refused (GROUPS) rather than read as no groups.
	 */
	const char *const *groups_path;
	unsigned int groups_path_len; /* 0..8 */
	unsigned int skew_s;	      /* allowed clock skew, <= TG_JWT_SKEW_MAX */
	unsigned int max_age_s;	      /* 0: no bound on now - iat */
	unsigned int algs;	      /* allowed: bits (1u << enum tg_jws_alg); 0: all four */
	unsigned int cache_max;	      /* cached tokens; 0: TG_JWT_CACHE_DEFAULT */
};

/* What a verified token says (the output of tg_jwt_verify()). */
struct tg_jwt_identity {
	char iss[TG_JWT_STR_MAX];
	char sub[TG_JWT_STR_MAX];
	char email[TG_JWT_STR_MAX];	/* "" when absent */
	bool email_verified;		/* "email_verified" is true (or "true") */
	char kid[TG_JWKS_KID_MAX];	/* also filled on KID_UNKNOWN, for the refetch */
	char jti[TG_JWT_JTI_MAX];	/* "" when absent */
	char client_id[TG_JWT_STR_MAX]; /* "" when absent (never for an access token) */
	bool access_token;		/* typ at+jwt: an RFC 9068 access token */
	enum tg_jws_alg alg;
	int64_t exp; /* Unix seconds */
	int64_t iat;
	uint8_t token_sha256[TG_JWT_SHA256_LEN]; /* set on every outcome but MALFORMED */
	unsigned int n_groups;
	char groups[TG_JWT_GROUPS_MAX][TG_JWT_GROUP_MAX];
	bool cached; /* answered from the verified-token cache */
};

/* clang-format off */
#define TG_JWT_COUNTERS(X) \
	X(VERIFIED, "verified")		/* tokens that passed, cache hits included */ \
	X(REFUSED, "refused")		/* tokens refused, by reason in refused_by[] */ \
	X(CACHE_HITS, "cache_hits") \
	X(CACHE_MISSES, "cache_misses") \
	X(CACHE_EXPIRED, "cache_expired")	/* hits past their time, dropped */ \
	X(CACHE_EVICTED, "cache_evicted")	/* LRU evictions at cache_max */ \
	X(CACHE_STALE_KEY, "cache_stale_key")	/* hits whose key left the set */
/* clang-format on */

enum tg_jwt_counter {
#define TG_JWT_X(e, n) TG_JWT_CNT_##e,
	TG_JWT_COUNTERS(TG_JWT_X)
#undef TG_JWT_X
		TG_JWT_CNT_MAX
};

struct tg_jwt_stats {
	uint64_t cnt[TG_JWT_CNT_MAX];
	uint64_t refused_by[TG_JWT_REASON_MAX];
};

struct tg_jwt;

/*
 * A verifier for one issuer and audience. Copies what cfg points to.
 * Returns NULL with errno EINVAL (and err) for a bad configuration
 * (issuer or audience missing or too long, skew over 60 s, a malformed
 * claim path, an unknown algorithm bit), or ENOMEM.
 */
struct tg_jwt *tg_jwt_new(const struct tg_jwt_cfg *cfg, char *err, size_t errlen);

void tg_jwt_free(struct tg_jwt *v);

/*
 * Verifies token[0..len) (not NUL-terminated; the PasswordMessage's
 * string without its NUL) at time now against the key set keys (NULL
 * when none has been fetched yet). Returns TG_JWT_OK with *id filled, or
 * the reason it was refused, with id->token_sha256 and, when the header
 * got that far, id->kid and id->alg set (for the audit record and the
 * refetch); the other fields of id are then unspecified.
 */
enum tg_jwt_reason tg_jwt_verify(struct tg_jwt *v, const struct tg_jwks *keys, const char *token,
				 size_t len, int64_t now, struct tg_jwt_identity *id);

/* Short name ("expired") for audit records and counters; "?" out of range. */
const char *tg_jwt_reason_name(enum tg_jwt_reason r);

/* One sentence for the client's ErrorResponse; says nothing about keys or config. */
const char *tg_jwt_reason_text(enum tg_jwt_reason r);

/* Counter names, for metrics ("verified", ...). */
const char *tg_jwt_counter_name(enum tg_jwt_counter c);

void tg_jwt_stats(const struct tg_jwt *v, struct tg_jwt_stats *st);

/* Drops every cached token (after a configuration change, say). */
void tg_jwt_cache_flush(struct tg_jwt *v);

/* A NUL-terminated copy of a token to hold across a refetch; NULL, errno ENOMEM/EINVAL. */
char *tg_jwt_token_dup(const char *token, size_t len);

/* Wipes and frees a tg_jwt_token_dup() copy; NULL is a no-op. */
void tg_jwt_token_free(char *copy, size_t len);

#endif /* TG_SP_JWT_H */
