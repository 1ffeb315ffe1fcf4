/* SPDX-License-Identifier: MIT */
/*
 * jwks.h — a JSON Web Key Set (RFC 7517 §5) turned into public keys that
 * verify JWS signatures (jwt.h), and the rules that decide which key may
 * verify which algorithm. Where the set comes from is jwks_fetch.h (the
 * issuer's discovery document over HTTPS) or tg_jwks_load_file().
 *
 * Algorithm confusion (RFC 8725 §2.1, §3.1; libjwt issues #33 and #200) is
 * ruled out here, by the key, never by the token: every key records the
 * algorithms it may verify, from its own kty and crv and, when present,
 * its "alg", "use" and "key_ops":
 *
 *	kty RSA			RS256, PS256 (modulus 2048..8192 bits)
 *	kty EC, crv P-256	ES256
 *	kty OKP, crv Ed25519	EdDSA
 *	kty OKP, crv Ed448	EdDSA
 *	anything else ("oct" above all: a symmetric secret) nothing
 *
 * A JWK "alg" narrows that list to itself; "use" other than "sig", or a
 * "key_ops" without "verify", empties it (RFC 7517 §4.2-§4.4). No HMAC
 * algorithm exists in this module, so no public key can become an HMAC
 * secret whatever a token's header says.
 *
 * Keys are kept per entry of the set, with their "kid" (RFC 7517 §4.5,
 * required here: tokens are matched to keys by kid alone). A key that
 * cannot be used (a modulus under 2048 bits, a point off the curve, a
 * malformed member) is kept as a refused entry rather than dropped, so
 * that a token naming it is refused for the right reason (KEY_WEAK,
 * KEY_UNUSABLE) and not as an unknown kid that would trigger a refetch.
 * One bad key does not spoil the others of its set.
 *
 * Caveats:
 *   - Certificates ("x5c", "x5t") are ignored: the key is the JWK's own
 *     members, as trusted as the HTTPS fetch of the set.
 *   - Private members ("d", ...) are ignored, never used.
 *   - Entries without a kid are skipped (counted in tg_jwks_skipped()).
 *   - Single-threaded: a set is immutable once parsed; its keys live as
 *     long as the set.
 */
#ifndef TG_SP_JWKS_H
#define TG_SP_JWKS_H

#include <stdbool.h>
#include <stddef.h>

#define TG_JWKS_JSON_MAX (256 * 1024) /* bytes of a JWK Set document */
#define TG_JWKS_KEYS_MAX 64	      /* entries of a set */
#define TG_JWKS_KID_MAX 128	      /* bytes of a kid and its NUL */
#define TG_JWKS_RSA_MIN_BITS 2048     /* RFC 7518 §3.3, §3.5: 2048 or larger */
#define TG_JWKS_RSA_MAX_BITS 8192     /* bounds the cost of one verification */

/* The JWS algorithms that tollgate verifies (RFC 7518 §3.1, RFC 8037 §3.1). */
enum tg_jws_alg {
	TG_JWS_RS256, /* RSASSA-PKCS1-v1_5, SHA-256 */
	TG_JWS_PS256, /* RSASSA-PSS, SHA-256, MGF1 SHA-256, salt 32 bytes */
	TG_JWS_ES256, /* ECDSA P-256, SHA-256, R || S of 32 bytes each */
	TG_JWS_EDDSA, /* Ed25519 or Ed448 (by the key's crv) */
	TG_JWS_ALG_MAX
};

/* What a lookup found (tg_jwks_lookup()). */
enum tg_jwks_status {
	TG_JWKS_FOUND,	  /* a usable key of that kid fits the algorithm */
	TG_JWKS_NO_KID,	  /* no entry has that kid */
	TG_JWKS_MISMATCH, /* entries of that kid, none allowed that algorithm */
	TG_JWKS_WEAK,	  /* it fits, but its RSA modulus is too short */
	TG_JWKS_UNUSABLE, /* it fits, but its members do not make a valid key */
};

/* The kind of key (for logs and for picking the EdDSA curve). */
enum tg_jwk_type {
	TG_JWK_NONE, /* unsupported kty or crv */
	TG_JWK_RSA,
	TG_JWK_EC_P256,
	TG_JWK_ED25519,
	TG_JWK_ED448,
};

struct tg_jwks;
struct evp_pkey_st;

struct tg_jwk {
	char kid[TG_JWKS_KID_MAX];
	enum tg_jwk_type type;
	unsigned int algs;	   /* bit (1u << enum tg_jws_alg) per algorithm allowed */
	enum tg_jwks_status state; /* TG_JWKS_FOUND if usable, else WEAK or UNUSABLE */
	unsigned int bits;	   /* key size (RSA modulus bits; 256 for P-256, ...) */
	struct evp_pkey_st *pkey;  /* the public key; NULL unless usable */
};

/* "RS256", ... for an algorithm; "?" for another value. */
const char *tg_jws_alg_name(enum tg_jws_alg alg);

/* The algorithm of a JWS "alg" name (exact, case-sensitive), or -1. */
int tg_jws_alg_parse(const char *name);

/*
 * Parses a JWK Set document json[0..len) into a new set. Returns 0 and
 * *out, or -EINVAL (not a JSON object with a "keys" array, too many
 * entries, too long) or -ENOMEM, with the reason in err. Refused entries
 * are part of the set (see the top of this file).
 */
int tg_jwks_parse(const char *json, size_t len, struct tg_jwks **out, char *err, size_t errlen);

/* Reads a JWK Set from a file (at most TG_JWKS_JSON_MAX bytes) and parses it. */
int tg_jwks_load_file(const char *path, struct tg_jwks **out, char *err, size_t errlen);

/*
 * Finds the key of kid that may verify alg. Returns TG_JWKS_FOUND and *key,
 * or why none may (for the token's refusal reason). With several entries
 * of one kid, a usable fitting one wins; else the most specific reason.
 */
enum tg_jwks_status tg_jwks_lookup(const struct tg_jwks *set, const char *kid, enum tg_jws_alg alg,
				   const struct tg_jwk **key);

/* Whether the set has an entry of that kid (usable or not). */
bool tg_jwks_has_kid(const struct tg_jwks *set, const char *kid);

/* Entries of the set (refused ones included), and entries skipped for lack of a kid. */
unsigned int tg_jwks_count(const struct tg_jwks *set);
unsigned int tg_jwks_skipped(const struct tg_jwks *set);

/* Entry i < tg_jwks_count(), for listing the set. */
const struct tg_jwk *tg_jwks_key(const struct tg_jwks *set, unsigned int i);

/* Frees a set and its keys; NULL is a no-op. */
void tg_jwks_free(struct tg_jwks *set);

#endif /* TG_SP_JWKS_H */
