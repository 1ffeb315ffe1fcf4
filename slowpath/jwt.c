/* SPDX-License-Identifier: MIT */
/*
 * jwt.c — compact JWS verification and claim checks (jwt.h).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "b64url.h"
#include "jwks.h"
#include "jwt.h"
#include "jwt_cache.h"
#include "seterr.h"

#define HEADER_MAX 2048	 /* decoded header bytes: alg, typ, kid and a little more */
#define SIG_MAX 1024	 /* decoded signature bytes: RSA-8192 */
#define PATH_DEPTH_MAX 8 /* segments of the groups claim path */
/* NumericDate bounds (RFC 7519 §2): after 1970, before year 10000. */
#define DATE_MAX 253402300799.0

struct tg_jwt {
	char issuer[TG_JWT_STR_MAX];
	char audience[TG_JWT_STR_MAX];
	char azp[TG_JWT_STR_MAX];
	char groups_claim[TG_JWT_CLAIM_PATH_MAX];	   /* dotted form; "" when gpath is set */
	char gpath[PATH_DEPTH_MAX][TG_JWT_CLAIM_PATH_MAX]; /* array form (cfg->groups_path) */
	unsigned int gdepth;				   /* 0: the dotted form */
	unsigned int skew_s;
	unsigned int max_age_s;
	unsigned int algs;
	struct tg_jwt_cache *cache;
	struct tg_jwt_stats st;
};

static const char *const reason_names[TG_JWT_REASON_MAX] = {
#define TG_JWT_X(e, n, t) [TG_JWT_##e] = n,
	TG_JWT_REASONS(TG_JWT_X)
#undef TG_JWT_X
};

static const char *const reason_texts[TG_JWT_REASON_MAX] = {
#define TG_JWT_X(e, n, t) [TG_JWT_##e] = t,
	TG_JWT_REASONS(TG_JWT_X)
#undef TG_JWT_X
};

static const char *const counter_names[TG_JWT_CNT_MAX] = {
#define TG_JWT_X(e, n) [TG_JWT_CNT_##e] = n,
	TG_JWT_COUNTERS(TG_JWT_X)
#undef TG_JWT_X
};

const char *
tg_jwt_reason_name(enum tg_jwt_reason r)
{
	return (unsigned int)r < TG_JWT_REASON_MAX ? reason_names[r] : "?";
}

const char *
tg_jwt_reason_text(enum tg_jwt_reason r)
{
	return (unsigned int)r < TG_JWT_REASON_MAX ? reason_texts[r] : "?";
}

const char *
tg_jwt_counter_name(enum tg_jwt_counter c)
{
	return (unsigned int)c < TG_JWT_CNT_MAX ? counter_names[c] : "?";
}

/* Copies s into dst[cap] if it fits with its NUL; false otherwise. */
static bool
copy_str(char *dst, size_t cap, const char *s)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		return false;
	memcpy(dst, s, n + 1);
	return true;
}

/* A claim path: non-empty dot-separated names, at most PATH_DEPTH_MAX. */
static bool
path_valid(const char *p)
{
	unsigned int depth = 1;
	const char *c;

	if (*p == '\0' || *p == '.')
		return false;
	for (c = p; *c != '\0'; c++) {
		if (*c != '.')
			continue;
		if (c[1] == '\0' || c[1] == '.' || ++depth > PATH_DEPTH_MAX)
			return false;
	}
	return true;
}

struct tg_jwt *
tg_jwt_new(const struct tg_jwt_cfg *cfg, char *err, size_t errlen)
{
	const char *gc = cfg->groups_claim != NULL ? cfg->groups_claim : "groups";
	const char *azp = cfg->azp != NULL ? cfg->azp : cfg->audience;
	struct tg_jwt *v;

	if (cfg->issuer == NULL || cfg->issuer[0] == '\0' || cfg->audience == NULL ||
	    cfg->audience[0] == '\0') {
		tg_sp_seterr(err, errlen, "jwt: issuer and audience are required");
		goto err_inval;
	}
	if (cfg->skew_s > TG_JWT_SKEW_MAX) {
		tg_sp_seterr(err, errlen, "jwt: skew of %u s, more than %u", cfg->skew_s,
			     TG_JWT_SKEW_MAX);
		goto err_inval;
	}
	if (cfg->algs & ~((1u << TG_JWS_ALG_MAX) - 1)) {
		tg_sp_seterr(err, errlen, "jwt: unknown algorithm in 0x%x", cfg->algs);
		goto err_inval;
	}
	if (cfg->cache_max > TG_JWT_CACHE_MAX) {
		tg_sp_seterr(err, errlen, "jwt: cache of %u tokens, more than %u", cfg->cache_max,
			     TG_JWT_CACHE_MAX);
		goto err_inval;
	}
	if (cfg->groups_path_len > PATH_DEPTH_MAX ||
	    (cfg->groups_path_len > 0 && cfg->groups_path == NULL)) {
		tg_sp_seterr(err, errlen, "jwt: groups claim path of %u names, 1..%u allowed",
			     cfg->groups_path_len, PATH_DEPTH_MAX);
		goto err_inval;
	}
	for (unsigned int i = 0; i < cfg->groups_path_len; i++)
		if (cfg->groups_path[i] == NULL || cfg->groups_path[i][0] == '\0' ||
		    strlen(cfg->groups_path[i]) >= TG_JWT_CLAIM_PATH_MAX) {
			tg_sp_seterr(err, errlen,
				     "jwt: groups claim path name %u is empty or longer than %u "
				     "bytes",
				     i, TG_JWT_CLAIM_PATH_MAX - 1);
			goto err_inval;
		}
	if (cfg->groups_path_len == 0 && !path_valid(gc)) {
		tg_sp_seterr(err, errlen, "jwt: groups claim path \"%s\" is malformed", gc);
		goto err_inval;
	}
	v = calloc(1, sizeof(*v));
	if (v == NULL) {
		tg_sp_seterr(err, errlen, "jwt: out of memory");
		return NULL;
	}
	if (!copy_str(v->issuer, sizeof(v->issuer), cfg->issuer) ||
	    !copy_str(v->audience, sizeof(v->audience), cfg->audience) ||
	    !copy_str(v->azp, sizeof(v->azp), azp) ||
	    !copy_str(v->groups_claim, sizeof(v->groups_claim),
		      cfg->groups_path_len > 0 ? "" : gc)) {
		tg_sp_seterr(err, errlen, "jwt: issuer, audience, azp or groups claim too long");
		free(v);
		goto err_inval;
	}
	for (unsigned int i = 0; i < cfg->groups_path_len; i++)
		copy_str(v->gpath[i], sizeof(v->gpath[i]), cfg->groups_path[i]);
	v->gdepth = cfg->groups_path_len;
	v->skew_s = cfg->skew_s;
	v->max_age_s = cfg->max_age_s;
	v->algs = cfg->algs != 0 ? cfg->algs : (1u << TG_JWS_ALG_MAX) - 1;
	v->cache = tg_jwt_cache_new(cfg->cache_max != 0 ? cfg->cache_max : TG_JWT_CACHE_DEFAULT);
	if (v->cache == NULL) {
		tg_sp_seterr(err, errlen, "jwt: out of memory for the token cache");
		free(v);
		errno = ENOMEM;
		return NULL;
	}
	return v;
err_inval:
	errno = EINVAL;
	return NULL;
}

void
tg_jwt_free(struct tg_jwt *v)
{
	if (v == NULL)
		return;
	tg_jwt_cache_free(v->cache);
	free(v);
}

void
tg_jwt_stats(const struct tg_jwt *v, struct tg_jwt_stats *st)
{
	*st = v->st;
}

void
tg_jwt_cache_flush(struct tg_jwt *v)
{
	tg_jwt_cache_clear(v->cache);
}

char *
tg_jwt_token_dup(const char *token, size_t len)
{
	char *c;

	if (len > TG_JWT_TOKEN_MAX) {
		errno = EINVAL;
		return NULL;
	}
	c = malloc(len + 1);
	if (c == NULL)
		return NULL;
	memcpy(c, token, len);
	c[len] = '\0';
	return c;
}

void
tg_jwt_token_free(char *copy, size_t len)
{
	if (copy == NULL)
		return;
	explicit_bzero(copy, len + 1);
	free(copy);
}

/* Decodes a segment into a new buffer of at most cap bytes (+1 for a NUL). */
static uint8_t *
segment(const char *s, size_t len, size_t cap, size_t *outlen)
{
	size_t max = tg_b64url_decoded_max(len);
	uint8_t *b;
	long n;

	if (max > cap)
		return NULL;
	b = malloc(max + 1);
	if (b == NULL)
		return NULL;
	n = tg_b64url_decode(s, len, b, max);
	if (n < 0) {
		explicit_bzero(b, max + 1);
		free(b);
		return NULL;
	}
	*outlen = (size_t)n;
	return b;
}

static void
wipe_free(uint8_t *b, size_t len)
{
	if (b == NULL)
		return;
	explicit_bzero(b, len);
	free(b);
}

/* typ (RFC 7515 §4.1.9: "application/" may be left out; compared without
 * case): 1 "JWT", 2 "at+jwt" (RFC 9068 §2.1), 0 anything else. */
static int
typ_kind(const char *t)
{
	if (strncasecmp(t, "application/", 12) == 0)
		t += 12;
	if (strcasecmp(t, "JWT") == 0)
		return 1;
	return strcasecmp(t, "at+jwt") == 0 ? 2 : 0;
}

/* Checks the header; fills id->alg and id->kid. */
static enum tg_jwt_reason
check_header(struct tg_jwt *v, json_t *h, struct tg_jwt_identity *id)
{
	json_t *alg = json_object_get(h, "alg");
	json_t *typ = json_object_get(h, "typ");
	json_t *kid = json_object_get(h, "kid");
	const char *a;
	int ai;

	if (!json_is_string(alg))
		return TG_JWT_ALG_UNSUPPORTED;
	a = json_string_value(alg);
	/* the reasons below only name the refusal; the allow-list is exact */
	if (strcasecmp(a, "none") == 0)
		return TG_JWT_ALG_NONE;
	if (strncasecmp(a, "HS", 2) == 0)
		return TG_JWT_ALG_HMAC;
	ai = tg_jws_alg_parse(a);
	if (ai < 0 || !(v->algs & 1u << ai) || strlen(a) != json_string_length(alg))
		return TG_JWT_ALG_UNSUPPORTED;
	id->alg = (enum tg_jws_alg)ai;
	if (typ != NULL) {
		int kind = json_is_string(typ) ? typ_kind(json_string_value(typ)) : 0;

		if (kind == 0 || strlen(json_string_value(typ)) != json_string_length(typ))
			return TG_JWT_TYP;
		id->access_token = kind == 2;
	}
	if (json_object_get(h, "crit") != NULL)
		return TG_JWT_CRIT;
	if (!json_is_string(kid) || json_string_length(kid) == 0 ||
	    strlen(json_string_value(kid)) != json_string_length(kid) ||
	    !copy_str(id->kid, sizeof(id->kid), json_string_value(kid)))
		return TG_JWT_KID_MISSING;
	return TG_JWT_OK;
}

/* ECDSA's JWS form R || S (RFC 7518 §3.4) as the DER OpenSSL verifies. */
static int
ecdsa_der(const uint8_t *sig, size_t len, uint8_t **der)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r, *s;
	int n = -1;

	if (es == NULL)
		return -1;
	r = BN_bin2bn(sig, (int)len / 2, NULL);
	s = BN_bin2bn(sig + len / 2, (int)len / 2, NULL);
	if (r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	*der = NULL;
	n = i2d_ECDSA_SIG(es, der);
out:
	ECDSA_SIG_free(es);
	return n;
}

/* Verifies sig over msg with key for alg: 1 valid, 0 not, -1 an OpenSSL failure. */
static int
verify_sig(const struct tg_jwk *key, enum tg_jws_alg alg, const char *msg, size_t msglen,
	   const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *der = NULL;
	int rc = -1, n;

	if (md == NULL)
		return -1;
	switch (alg) {
	case TG_JWS_RS256:
	case TG_JWS_PS256:
		if (EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key->pkey) != 1)
			goto out;
		if (alg == TG_JWS_RS256) {
			if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
				goto out;
		} else if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
			   EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
			   /* RFC 7518 §3.5: the salt is as long as the hash */
			   EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
			goto out;
		}
		rc = EVP_DigestVerify(md, sig, siglen, (const uint8_t *)msg, msglen) == 1;
		break;
	case TG_JWS_ES256:
		if (siglen != 64) {
			rc = 0;
			break;
		}
		n = ecdsa_der(sig, siglen, &der);
		if (n <= 0 || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key->pkey) != 1)
			goto out;
		rc = EVP_DigestVerify(md, der, (size_t)n, (const uint8_t *)msg, msglen) == 1;
		break;
	case TG_JWS_EDDSA:
		if (siglen != (key->type == TG_JWK_ED25519 ? 64u : 114u)) {
			rc = 0;
			break;
		}
		/* EdDSA hashes inside: no digest (RFC 8032 §5.1.7) */
		if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, key->pkey) != 1)
			goto out;
		rc = EVP_DigestVerify(md, sig, siglen, (const uint8_t *)msg, msglen) == 1;
		break;
	default:
		rc = 0;
		break;
	}
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return rc;
}

/* A NumericDate claim: 1 and *t, 0 absent, -1 malformed. */
static int
date_claim(json_t *p, const char *name, int64_t *t)
{
	json_t *c = json_object_get(p, name);
	double d;

	if (c == NULL)
		return 0;
	if (!json_is_number(c))
		return -1;
	d = json_number_value(c);
	if (!isfinite(d) || d < 0 || d > DATE_MAX)
		return -1;
	*t = (int64_t)d; /* d >= 0: truncation is floor (RFC 7519 §2 allows fractions) */
	return 1;
}

/* Optional string claim into dst; false when present but not a string that fits. */
static bool
opt_str(json_t *p, const char *name, char *dst, size_t cap)
{
	json_t *c = json_object_get(p, name);

	dst[0] = '\0';
	if (c == NULL)
		return true;
	return json_is_string(c) && strlen(json_string_value(c)) == json_string_length(c) &&
	       copy_str(dst, cap, json_string_value(c));
}

/* The value at a claim path: the whole path as one name first (namespaced claims
 * such as "https://example.com/groups" hold dots), then object by object. */
static json_t *
claim_at(json_t *p, const char *path)
{
	char seg[TG_JWT_CLAIM_PATH_MAX];
	json_t *c = json_object_get(p, path);
	const char *s = path, *dot;
	size_t n;

	if (c != NULL)
		return c;
	c = p;
	while (c != NULL) {
		dot = strchr(s, '.');
		n = dot != NULL ? (size_t)(dot - s) : strlen(s);
		if (n >= sizeof(seg) || !json_is_object(c))
			return NULL;
		memcpy(seg, s, n);
		seg[n] = '\0';
		c = json_object_get(c, seg);
		if (dot == NULL)
			return c;
		s = dot + 1;
	}
	return NULL;
}

static bool
add_group(struct tg_jwt_identity *id, json_t *g)
{
	if (!json_is_string(g) || json_string_length(g) == 0 ||
	    strlen(json_string_value(g)) != json_string_length(g) ||
	    id->n_groups >= TG_JWT_GROUPS_MAX)
		return false;
	if (!copy_str(id->groups[id->n_groups], sizeof(id->groups[0]), json_string_value(g)))
		return false;
	id->n_groups++;
	return true;
}

/*
 * The value at the array path gpath[0..gdepth): each name taken whole (it
 * may hold dots), object by object. A path that runs through something
 * that is not an object is malformed (*bad), not absent: a deny rule on
 * groups must not be skipped by a token that shapes its claims so
 * (idmap.h does the same).
 */
static json_t *
claim_at_path(struct tg_jwt *v, json_t *p, bool *bad)
{
	json_t *c = p;

	*bad = false;
	for (unsigned int i = 0; i < v->gdepth && c != NULL; i++) {
		if (!json_is_object(c)) {
			*bad = true;
			return NULL;
		}
		c = json_object_get(c, v->gpath[i]);
	}
	return c;
}

static enum tg_jwt_reason
check_groups(struct tg_jwt *v, json_t *p, struct tg_jwt_identity *id)
{
	json_t *g, *x;
	bool bad = false;
	size_t i;

	g = v->gdepth > 0 ? claim_at_path(v, p, &bad) : claim_at(p, v->groups_claim);
	id->n_groups = 0;
	if (bad)
		return TG_JWT_GROUPS;
	if (g == NULL)
		return TG_JWT_OK;
	if (json_is_string(g))
		return add_group(id, g) ? TG_JWT_OK : TG_JWT_GROUPS;
	if (!json_is_array(g))
		return TG_JWT_GROUPS;
	json_array_foreach(g, i, x)
		if (!add_group(id, x))
			return TG_JWT_GROUPS;
	return TG_JWT_OK;
}

/* The claims of the payload p at now; *until is when the token stops being valid. */
static enum tg_jwt_reason
check_claims(struct tg_jwt *v, json_t *p, int64_t now, struct tg_jwt_identity *id, int64_t *until)
{
	json_t *iss = json_object_get(p, "iss");
	json_t *aud = json_object_get(p, "aud");
	json_t *azp = json_object_get(p, "azp");
	json_t *x;
	int64_t nbf, skew = v->skew_s;
	size_t i, n_aud = 1;
	bool aud_ok = false;
	int r;

	if (!json_is_string(iss) || strcmp(json_string_value(iss), v->issuer) != 0 ||
	    json_string_length(iss) != strlen(v->issuer))
		return TG_JWT_ISS;
	copy_str(id->iss, sizeof(id->iss), v->issuer);
	if (json_is_string(aud)) {
		aud_ok = strcmp(json_string_value(aud), v->audience) == 0 &&
			 json_string_length(aud) == strlen(v->audience);
	} else if (json_is_array(aud)) {
		n_aud = json_array_size(aud);
		json_array_foreach(aud, i, x) {
			if (!json_is_string(x))
				return TG_JWT_AUD;
			if (strcmp(json_string_value(x), v->audience) == 0 &&
			    json_string_length(x) == strlen(v->audience))
				aud_ok = true;
		}
	}
	if (!aud_ok)
		return TG_JWT_AUD;
	/* OIDC Core §3.1.3.7 (3)-(5): several audiences need azp, and azp
	 * must be our client */
	if ((azp == NULL && n_aud > 1) ||
	    (azp != NULL && (!json_is_string(azp) || strcmp(json_string_value(azp), v->azp) != 0 ||
			     json_string_length(azp) != strlen(v->azp))))
		return TG_JWT_AZP;
	if (date_claim(p, "exp", &id->exp) != 1)
		return TG_JWT_EXP_MISSING;
	if (now >= id->exp + skew)
		return TG_JWT_EXPIRED;
	r = date_claim(p, "nbf", &nbf);
	if (r < 0)
		return TG_JWT_CLAIM;
	if (r > 0 && nbf > now + skew)
		return TG_JWT_NBF;
	if (date_claim(p, "iat", &id->iat) != 1)
		return TG_JWT_IAT_MISSING;
	if (id->iat > now + skew)
		return TG_JWT_IAT_FUTURE;
	*until = id->exp + skew;
	if (v->max_age_s != 0) {
		if (now > id->iat + (int64_t)v->max_age_s + skew)
			return TG_JWT_TOO_OLD;
		if (id->iat + (int64_t)v->max_age_s + skew + 1 < *until)
			*until = id->iat + (int64_t)v->max_age_s + skew + 1;
	}
	x = json_object_get(p, "sub");
	if (!json_is_string(x) || json_string_length(x) == 0 ||
	    strlen(json_string_value(x)) != json_string_length(x) ||
	    !copy_str(id->sub, sizeof(id->sub), json_string_value(x)))
		return TG_JWT_SUB;
	/* OIDC Core §5.1: a boolean; "true" as a string too, as idmap.h takes it */
	x = json_object_get(p, "email_verified");
	id->email_verified =
		json_is_true(x) || (json_is_string(x) && strcmp(json_string_value(x), "true") == 0);
	if (!opt_str(p, "email", id->email, sizeof(id->email)) ||
	    !opt_str(p, "jti", id->jti, sizeof(id->jti)) ||
	    !opt_str(p, "client_id", id->client_id, sizeof(id->client_id)))
		return TG_JWT_CLAIM;
	/* RFC 9068 §2.2: an access token names its client and itself */
	if (id->access_token && (id->client_id[0] == '\0' || id->jti[0] == '\0'))
		return TG_JWT_CLAIM;
	return check_groups(v, p, id);
}

static const enum tg_jwt_reason lookup_reason[] = {
	[TG_JWKS_FOUND] = TG_JWT_OK,
	[TG_JWKS_NO_KID] = TG_JWT_KID_UNKNOWN,
	[TG_JWKS_MISMATCH] = TG_JWT_KEY_MISMATCH,
	[TG_JWKS_WEAK] = TG_JWT_KEY_WEAK,
	[TG_JWKS_UNUSABLE] = TG_JWT_KEY_UNUSABLE,
};

/* The verification proper: no cache, no counters. */
static enum tg_jwt_reason
verify(struct tg_jwt *v, const struct tg_jwks *keys, const char *tok, size_t len, int64_t now,
       struct tg_jwt_identity *id, int64_t *until)
{
	const char *d1, *d2;
	uint8_t *hb = NULL, *pb = NULL, *sb = NULL;
	size_t hlen = 0, plen = 0, slen = 0;
	const struct tg_jwk *key;
	enum tg_jwt_reason r;
	enum tg_jwks_status ks;
	json_t *h = NULL, *p = NULL;
	int ok;

	d1 = memchr(tok, '.', len);
	d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
	/* exactly three segments: a fourth dot (or a JWE's five parts) is not JWS */
	if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL || d1 == tok ||
	    d2 == d1 + 1)
		return TG_JWT_MALFORMED;
	hb = segment(tok, (size_t)(d1 - tok), HEADER_MAX, &hlen);
	if (hb == NULL) {
		r = TG_JWT_HEADER;
		goto out;
	}
	h = json_loadb((const char *)hb, hlen, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(h)) {
		r = TG_JWT_HEADER;
		goto out;
	}
	r = check_header(v, h, id);
	if (r != TG_JWT_OK)
		goto out;
	if (tg_jwks_count(keys) == 0) {
		r = TG_JWT_NO_KEYS;
		goto out;
	}
	ks = tg_jwks_lookup(keys, id->kid, id->alg, &key);
	if (ks != TG_JWKS_FOUND) {
		r = lookup_reason[ks];
		goto out;
	}
	sb = segment(d2 + 1, len - (size_t)(d2 + 1 - tok), SIG_MAX, &slen);
	if (sb == NULL || slen == 0) {
		r = TG_JWT_SIGNATURE;
		goto out;
	}
	ok = verify_sig(key, id->alg, tok, (size_t)(d2 - tok), sb, slen);
	if (ok < 0) {
		r = TG_JWT_INTERNAL;
		goto out;
	}
	if (ok == 0) {
		r = TG_JWT_SIGNATURE;
		goto out;
	}
	/* signed by the issuer's key from here on */
	pb = segment(d1 + 1, (size_t)(d2 - d1 - 1), TG_JWT_TOKEN_MAX, &plen);
	if (pb != NULL)
		p = json_loadb((const char *)pb, plen, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(p)) {
		r = TG_JWT_PAYLOAD;
		goto out;
	}
	r = check_claims(v, p, now, id, until);
out:
	json_decref(p);
	json_decref(h);
	wipe_free(sb, slen);
	wipe_free(pb, plen);
	wipe_free(hb, hlen);
	return r;
}

enum tg_jwt_reason
tg_jwt_verify(struct tg_jwt *v, const struct tg_jwks *keys, const char *token, size_t len,
	      int64_t now, struct tg_jwt_identity *id)
{
	const struct tg_jwk *key;
	enum tg_jwt_reason r;
	int64_t until = 0;

	memset(id, 0, sizeof(*id));
	if (token == NULL || len == 0 || len > TG_JWT_TOKEN_MAX) {
		r = TG_JWT_MALFORMED;
		goto refused;
	}
	SHA256((const uint8_t *)token, len, id->token_sha256);
	switch (tg_jwt_cache_get(v->cache, id->token_sha256, now, id)) {
	case TG_JWT_CACHE_HIT:
		if (tg_jwks_lookup(keys, id->kid, id->alg, &key) == TG_JWKS_FOUND) {
			id->cached = true;
			v->st.cnt[TG_JWT_CNT_CACHE_HITS]++;
			v->st.cnt[TG_JWT_CNT_VERIFIED]++;
			return TG_JWT_OK;
		}
		/* the key left the set: verify afresh (and be refused) */
		tg_jwt_cache_drop(v->cache, id->token_sha256);
		v->st.cnt[TG_JWT_CNT_CACHE_STALE_KEY]++;
		{
			uint8_t sha[TG_JWT_SHA256_LEN];

			memcpy(sha, id->token_sha256, sizeof(sha));
			memset(id, 0, sizeof(*id));
			memcpy(id->token_sha256, sha, sizeof(sha));
		}
		break;
	case TG_JWT_CACHE_EXPIRED:
		v->st.cnt[TG_JWT_CNT_CACHE_EXPIRED]++;
		/* fall through */
	case TG_JWT_CACHE_MISS:
		v->st.cnt[TG_JWT_CNT_CACHE_MISSES]++;
		break;
	}
	r = verify(v, keys, token, len, now, id, &until);
	if (r != TG_JWT_OK)
		goto refused;
	if (tg_jwt_cache_put(v->cache, id, until))
		v->st.cnt[TG_JWT_CNT_CACHE_EVICTED]++;
	v->st.cnt[TG_JWT_CNT_VERIFIED]++;
	return TG_JWT_OK;
refused:
	v->st.cnt[TG_JWT_CNT_REFUSED]++;
	v->st.refused_by[r]++;
	return r;
}
