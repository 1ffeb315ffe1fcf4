/* SPDX-License-Identifier: MIT */
/*
 * test_upstream_auth.c — unit tests of the gateway's client side of
 * PostgreSQL authentication (slowpath/upstream_auth.c): SCRAM-SHA-256
 * against RFC 7677's published exchange and against a server computed
 * here independently (it verifies the client's proof the way a server
 * does), MD5 and cleartext replies byte for byte, trust, the method
 * bounds (no downgrade), ErrorResponse, malformed and truncated server
 * messages, and the upstream StartupMessage and its refusal rules.
 *
 * Backend messages are built here byte by byte (PostgreSQL 15 docs,
 * 55.7); each builder says what it writes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "upstream_auth.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct msg {
	size_t n;
	uint8_t b[4096];
};

static void
put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void
put32(struct msg *m, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	put(m, b, 4);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* 'R', int32 length, int32 code, then data[0..n). */
static struct msg
auth(uint32_t code, const void *data, size_t n)
{
	struct msg m = { 0 };

	put(&m, "R", 1);
	put32(&m, (uint32_t)(8 + n));
	put32(&m, code);
	if (n > 0)
		put(&m, data, n);
	return m;
}

/* AuthenticationSASL with "SCRAM-SHA-256" then the empty name. */
static struct msg
sasl_offer(void)
{
	static const char mechs[] = "SCRAM-SHA-256\0"; /* + the literal's NUL: the end */

	return auth(10, mechs, sizeof(mechs));
}

/* 'E' with S=FATAL, V=FATAL, C=code, M=text and the terminator. */
static struct msg
error_response(const char *code, const char *text)
{
	struct msg m = { 0 };

	put(&m, "E", 1);
	put32(&m, 0);
	put(&m, "SFATAL", 7);
	put(&m, "VFATAL", 7);
	put(&m, "C", 1);
	put(&m, code, strlen(code) + 1);
	put(&m, "M", 1);
	put(&m, text, strlen(text) + 1);
	put(&m, "", 1);
	m.b[1] = (uint8_t)((m.n - 1) >> 24);
	m.b[2] = (uint8_t)((m.n - 1) >> 16);
	m.b[3] = (uint8_t)((m.n - 1) >> 8);
	m.b[4] = (uint8_t)(m.n - 1);
	return m;
}

static int
feed(struct tg_upauth *a, const struct msg *m, uint8_t *out, size_t *olen)
{
	return tg_upauth_feed(a, m->b, m->n, out, TG_UPAUTH_OUT_MAX, olen);
}

/* The data of a SASLResponse / PasswordMessage out[0..n) ('p', length, data). */
static void
frontend_data(const uint8_t *out, size_t n, const char **data, size_t *len)
{
	assert_true(n >= 5);
	assert_int_equal(out[0], 'p');
	assert_int_equal(get32(out + 1), n - 1);
	*data = (const char *)out + 5;
	*len = n - 5;
}

/* ------------------------------------------------------------------ */
/* SCRAM                                                               */

/*
 * RFC 7677 section 3: user "user", password "pencil",
 *   C: n,,n=user,r=rOprNGfwEbeRWgbNEkqO
 *   S: r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,
 *      s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096
 *   C: c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,
 *      p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=
 *   S: v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=
 */
#define RFC_CNONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SFIRST RFC_CNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CFINAL                                               \
	"c=biws,r=" RFC_CNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SFINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* Runs the RFC exchange up to the client-final-message; returns the handle. */
static struct tg_upauth *
rfc_to_final(void)
{
	static const char first[] = "SCRAM-SHA-256\0\0\0\0\x20"
				    "n,,n=user,r=" RFC_CNONCE;
	struct tg_upauth *a = tg_upauth_new("user", "pencil", TG_UPAUTH_SCRAM);
	uint8_t out[TG_UPAUTH_OUT_MAX];
	struct msg m;
	const char *d;
	size_t olen, dl;

	assert_non_null(a);
	assert_int_equal(tg_upauth_set_nonce(a, RFC_CNONCE), 0);
	m = sasl_offer();
	assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_MORE);
	/* SASLInitialResponse: mechanism, int32 34, "n,," client-first-bare */
	frontend_data(out, olen, &d, &dl);
	assert_int_equal(dl, sizeof(first) - 1);
	assert_memory_equal(d, first, dl);

	m = auth(11, "r=" RFC_SFIRST, strlen("r=" RFC_SFIRST));
	assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_MORE);
	frontend_data(out, olen, &d, &dl);
	assert_int_equal(dl, strlen(RFC_CFINAL));
	assert_memory_equal(d, RFC_CFINAL, dl);
	return a;
}

static void
test_scram_rfc7677(void **state)
{
	struct tg_upauth *a = rfc_to_final();
	uint8_t out[TG_UPAUTH_OUT_MAX];
	struct msg m;
	size_t olen;

	m = auth(12, RFC_SFINAL, strlen(RFC_SFINAL));
	assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_MORE);
	assert_int_equal(olen, 0);
	m = auth(0, NULL, 0);
	assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_OK);
	assert_int_equal(tg_upauth_used(a), TG_UPAUTH_SCRAM);
	/* done: a further message is not taken */
	assert_int_equal(feed(a, &m, out, &olen), -EALREADY);
	tg_upauth_free(a);
}

static void
test_scram_wrong_server_signature(void **state)
{
	/* the RFC's signature with its first character changed */
	static const char *const bad[] = {
		"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		/* a valid signature of another exchange: all zero bytes */
		"v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	};
	uint8_t out[TG_UPAUTH_OUT_MAX];
	size_t i, olen;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct tg_upauth *a = rfc_to_final();
		struct msg m = auth(12, bad[i], strlen(bad[i]));

		assert_int_equal(feed(a, &m, out, &olen), -EBADMSG);
		assert_non_null(strstr(tg_upauth_reason(a), "signature"));
		/* and an AuthenticationOk after it is not believed */
		m = auth(0, NULL, 0);
		assert_int_equal(feed(a, &m, out, &olen), -EBADMSG);
		tg_upauth_free(a);
	}
}

static void
test_scram_ok_without_final(void **state)
{
	/* Ok straight after client-final: the server never proved itself */
	struct tg_upauth *a = rfc_to_final();
	uint8_t out[TG_UPAUTH_OUT_MAX];
	struct msg m = auth(0, NULL, 0);
	size_t olen;

	assert_int_equal(feed(a, &m, out, &olen), -EPROTO);
	tg_upauth_free(a);
}

static void
b64(const uint8_t *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static void
hmac(const uint8_t *key, size_t kl, const void *d, size_t n, uint8_t out[32])
{
	unsigned int ol = 32;

	assert_non_null(HMAC(EVP_sha256(), key, (int)kl, d, n, out, &ol));
}

/*
 * A server, computed here: it stores (StoredKey, ServerKey) as PostgreSQL
 * does, checks the client's proof by recovering ClientKey from it and
 * hashing (RFC 5802 3, server side), and signs. The client under test
 * must accept the signature, and the server must accept the proof.
 */
static void
test_scram_independent_server(void **state)
{
	const char *pw = "correct horse battery staple";
	struct tg_upauth *a = tg_upauth_new("app_reader", pw, TG_UPAUTH_SCRAM);
	uint8_t out[TG_UPAUTH_OUT_MAX], salt[16], salted[32], ckey[32], stored[32], skey[32];
	uint8_t csig[32], proof[33], ssig[32], rec[32], h[32];
	char sfirst[256], salt64[32], snonce_raw64[32], authmsg[1024], sfinal[64];
	char bare[256], cnonce[256];
	const char *d, *p;
	size_t olen, dl, i;
	struct msg m;
	int n;

	assert_non_null(a);
	m = sasl_offer();
	assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_MORE);
	frontend_data(out, olen, &d, &dl);
	/* "SCRAM-SHA-256\0", int32, "n,,n=app_reader,r=<24 chars of base64>" */
	assert_int_equal(get32((const uint8_t *)d + 14), dl - 18);
	p = d + 18;
	assert_memory_equal(p, "n,,n=app_reader,r=", 18);
	n = snprintf(bare, sizeof(bare), "%.*s", (int)(dl - 18 - 3), p + 3);
	assert_true(n > 0);
	snprintf(cnonce, sizeof(cnonce), "%s", bare + strlen("n=app_reader,r="));
	assert_int_equal(strlen(cnonce), 24);

	/* the server's stored verifier */
	assert_int_equal(RAND_bytes(salt, sizeof(salt)), 1);
	assert_int_equal(PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof(salt), 4096,
					   EVP_sha256(), 32, salted),
			 1);
	hmac(salted, 32, "Client Key", 10, ckey);
	assert_int_equal(EVP_Digest(ckey, 32, stored, NULL, EVP_sha256(), NULL), 1);
	hmac(salted, 32, "Server Key", 10, skey);

	b64(salt, sizeof(salt), salt64);
	assert_int_equal(RAND_bytes(h, 18), 1);
	b64(h, 18, snonce_raw64);
	snprintf(sfirst, sizeof(sfirst), "r=%s%s,s=%s,i=4096", cnonce, snonce_raw64, salt64);
	m = auth(11, sfirst, strlen(sfirst));
	assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_MORE);
	frontend_data(out, olen, &d, &dl);

	/* client-final: c=biws,r=<nonce>,p=<proof> */
	p = memmem(d, dl, ",p=", 3);
	assert_non_null(p);
	snprintf(authmsg, sizeof(authmsg), "%s,%s,%.*s", bare, sfirst, (int)(p - d), d);
	assert_int_equal(strncmp(d, "c=biws,r=", 9), 0);
	assert_int_equal(EVP_DecodeBlock(proof, (const unsigned char *)p + 3,
					 (int)(dl - (size_t)(p + 3 - d))),
			 33);
	hmac(stored, 32, authmsg, strlen(authmsg), csig);
	for (i = 0; i < 32; i++)
		rec[i] = proof[i] ^ csig[i];
	assert_int_equal(EVP_Digest(rec, 32, h, NULL, EVP_sha256(), NULL), 1);
	assert_memory_equal(h, stored, 32); /* the server accepts the proof */

	hmac(skey, 32, authmsg, strlen(authmsg), ssig);
	memcpy(sfinal, "v=", 2);
	b64(ssig, 32, sfinal + 2);
	m = auth(12, sfinal, strlen(sfinal));
	assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_MORE);
	m = auth(0, NULL, 0);
	assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_OK);
	tg_upauth_free(a);
}

static void
test_scram_random_nonces_differ(void **state)
{
	struct tg_upauth *a = tg_upauth_new("u", "p", TG_UPAUTH_SCRAM);
	struct tg_upauth *b = tg_upauth_new("u", "p", TG_UPAUTH_SCRAM);
	uint8_t oa[TG_UPAUTH_OUT_MAX], ob[TG_UPAUTH_OUT_MAX];
	struct msg m = sasl_offer();
	size_t la, lb;

	assert_int_equal(feed(a, &m, oa, &la), TG_UPAUTH_MORE);
	assert_int_equal(feed(b, &m, ob, &lb), TG_UPAUTH_MORE);
	assert_int_equal(la, lb);
	assert_memory_not_equal(oa, ob, la);
	tg_upauth_free(a);
	tg_upauth_free(b);
}

/* Server-first messages that must be refused, after the RFC's client-first. */
static void
test_scram_bad_server_first(void **state)
{
	static const struct {
		const char *sfirst;
		int rc;
	} cases[] = {
		/* the nonce does not extend ours */
		{ "r=XXXXNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", -EBADMSG },
		/* the nonce is ours and nothing more */
		{ "r=" RFC_CNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", -EBADMSG },
		{ "", -EPROTO },
		{ "r=" RFC_CNONCE "abc", -EPROTO },
		{ "r=" RFC_CNONCE "abc,", -EPROTO },
		{ "r=" RFC_CNONCE "abc,x=1,i=4096", -EPROTO },
		{ "r=" RFC_CNONCE "abc,s=", -EPROTO },
		{ "r=" RFC_CNONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==", -EPROTO },
		{ "r=" RFC_CNONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,", -EPROTO },
		{ "r=" RFC_CNONCE "abc,s=!!!!,i=4096", -EPROTO },
		{ "r=" RFC_CNONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096", -EPROTO },
		{ "r=" RFC_CNONCE "abc,s=,i=4096", -EPROTO },
		{ "r=" RFC_CNONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", -EPROTO },
		{ "r=" RFC_CNONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=", -EPROTO },
		{ "r=" RFC_CNONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=12x", -EPROTO },
		{ "r=" RFC_CNONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1", -EPROTO },
		{ "r=" RFC_CNONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4294967297", -EPROTO },
		/* a hostile count: refused before any PBKDF2 work */
		{ "r=" RFC_CNONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100001", -ENOTSUP },
		{ "m=ext,r=" RFC_CNONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", -ENOTSUP },
		/* a control byte inside */
		{ "r=" RFC_CNONCE "a\tc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", -EPROTO },
	};
	uint8_t out[TG_UPAUTH_OUT_MAX];
	size_t i, olen;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tg_upauth *a = tg_upauth_new("user", "pencil", TG_UPAUTH_SCRAM);
		struct msg m = sasl_offer();

		assert_int_equal(tg_upauth_set_nonce(a, RFC_CNONCE), 0);
		assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_MORE);
		m = auth(11, cases[i].sfirst, strlen(cases[i].sfirst));
		if (feed(a, &m, out, &olen) != cases[i].rc)
			fail_msg("case %zu (%s): %s", i, cases[i].sfirst, tg_upauth_reason(a));
		assert_int_equal(olen, 0);
		assert_true(tg_upauth_reason(a)[0] != '\0');
		tg_upauth_free(a);
	}
}

static void
test_scram_bad_server_final(void **state)
{
	static const char *const bad[] = {
		"",
		"v=",
		"x=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4",      /* unpadded */
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=AAAA", /* 35 bytes */
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRs",
		"v=====",
	};
	uint8_t out[TG_UPAUTH_OUT_MAX];
	size_t i, olen;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct tg_upauth *a = rfc_to_final();
		struct msg m = auth(12, bad[i], strlen(bad[i]));

		assert_int_equal(feed(a, &m, out, &olen), -EPROTO);
		tg_upauth_free(a);
	}
	/* a server-error is the server's refusal */
	{
		struct tg_upauth *a = rfc_to_final();
		struct msg m = auth(12, "e=invalid-proof", 15);

		assert_int_equal(feed(a, &m, out, &olen), -EACCES);
		assert_string_equal(tg_upauth_message(a), "invalid-proof");
		tg_upauth_free(a);
	}
}

static void
test_scram_mechanisms(void **state)
{
	uint8_t out[TG_UPAUTH_OUT_MAX];
	struct tg_upauth *a;
	struct msg m;
	size_t olen;

	/* PLUS alone: we have no channel to bind */
	a = tg_upauth_new("u", "p", TG_UPAUTH_SCRAM);
	m = auth(10, "SCRAM-SHA-256-PLUS\0", 20);
	assert_int_equal(feed(a, &m, out, &olen), -ENOTSUP);
	assert_non_null(strstr(tg_upauth_reason(a), "PLUS"));
	tg_upauth_free(a);
	/* both, PLUS first: SCRAM-SHA-256 is chosen */
	a = tg_upauth_new("u", "p", TG_UPAUTH_SCRAM);
	m = auth(10, "SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0", 34);
	assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_MORE);
	assert_memory_equal(out + 5, "SCRAM-SHA-256\0", 14);
	tg_upauth_free(a);
	/* list without its empty terminator, and with bytes after it */
	a = tg_upauth_new("u", "p", TG_UPAUTH_SCRAM);
	m = auth(10, "SCRAM-SHA-256", 14);
	assert_int_equal(feed(a, &m, out, &olen), -EPROTO);
	tg_upauth_free(a);
	a = tg_upauth_new("u", "p", TG_UPAUTH_SCRAM);
	m = auth(10, "SCRAM-SHA-256\0\0x", 16);
	assert_int_equal(feed(a, &m, out, &olen), -EPROTO);
	tg_upauth_free(a);
	/* SASLContinue / SASLFinal out of order */
	a = tg_upauth_new("u", "p", TG_UPAUTH_SCRAM);
	m = auth(12, RFC_SFINAL, strlen(RFC_SFINAL));
	assert_int_equal(feed(a, &m, out, &olen), -EPROTO);
	tg_upauth_free(a);
	a = tg_upauth_new("u", "p", TG_UPAUTH_SCRAM);
	m = auth(11, "r=x,s=AAAA,i=1", 14);
	assert_int_equal(feed(a, &m, out, &olen), -EPROTO);
	tg_upauth_free(a);
}

/* ------------------------------------------------------------------ */
/* MD5, cleartext, trust and the method bounds                         */

static void
test_md5(void **state)
{
	/*
	 * python3: inner = hashlib.md5(b"secret" + b"alice").hexdigest()
	 *   = "4a0a68b43b6cd5cf266fa02f196e2371";
	 * "md5" + hashlib.md5(inner.encode() + bytes([1, 2, 3, 4])).hexdigest()
	 *   = "md598a0412b9c31436fc53776e863350083"
	 */
	static const char want[] = "md598a0412b9c31436fc53776e863350083";
	static const uint8_t salt[4] = { 1, 2, 3, 4 };
	enum tg_upauth_method ms[] = { TG_UPAUTH_MD5, TG_UPAUTH_PASSWORD };
	uint8_t out[TG_UPAUTH_OUT_MAX];
	size_t i, olen;

	for (i = 0; i < ARRAY_SIZE(ms); i++) {
		struct tg_upauth *a = tg_upauth_new("alice", "secret", ms[i]);
		struct msg m = auth(5, salt, 4);
		const char *d;
		size_t dl;

		assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_MORE);
		frontend_data(out, olen, &d, &dl);
		assert_int_equal(dl, sizeof(want));
		assert_memory_equal(d, want, sizeof(want));
		m = auth(0, NULL, 0);
		assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_OK);
		assert_int_equal(tg_upauth_used(a), TG_UPAUTH_MD5);
		tg_upauth_free(a);
	}
}

static void
test_cleartext(void **state)
{
	/* PasswordMessage: 'p', int32 11, "hunter2\0" */
	static const uint8_t want[] = { 'p', 0, 0, 0, 12, 'h', 'u', 'n', 't', 'e', 'r', '2', 0 };
	struct tg_upauth *a = tg_upauth_new("bob", "hunter2", TG_UPAUTH_PASSWORD);
	uint8_t out[TG_UPAUTH_OUT_MAX];
	struct msg m = auth(3, NULL, 0);
	size_t olen;

	assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_MORE);
	assert_int_equal(olen, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	m = auth(0, NULL, 0);
	assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_OK);
	assert_int_equal(tg_upauth_used(a), TG_UPAUTH_PASSWORD);
	tg_upauth_free(a);

	/* a reply buffer too small: refused, nothing half-written counted as sent */
	a = tg_upauth_new("bob", "hunter2", TG_UPAUTH_PASSWORD);
	m = auth(3, NULL, 0);
	assert_int_equal(tg_upauth_feed(a, m.b, m.n, out, 8, &olen), -ENOBUFS);
	assert_int_equal(olen, 0);
	tg_upauth_free(a);
}

static void
test_trust(void **state)
{
	enum tg_upauth_method ms[] = { TG_UPAUTH_TRUST, TG_UPAUTH_PASSWORD, TG_UPAUTH_MD5 };
	uint8_t out[TG_UPAUTH_OUT_MAX];
	size_t i, olen;

	for (i = 0; i < ARRAY_SIZE(ms); i++) {
		struct tg_upauth *a =
			tg_upauth_new("t", ms[i] == TG_UPAUTH_TRUST ? NULL : "x", ms[i]);
		struct msg m = auth(0, NULL, 0);

		assert_non_null(a);
		assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_OK);
		assert_int_equal(olen, 0);
		assert_int_equal(tg_upauth_used(a), TG_UPAUTH_TRUST);
		tg_upauth_free(a);
	}
}

/* What a credential allows bounds what the server may ask (no downgrade). */
static void
test_method_bounds(void **state)
{
	static const uint8_t salt[4] = { 9, 9, 9, 9 };
	static const struct {
		enum tg_upauth_method cred;
		uint32_t code;
	} refused[] = {
		{ TG_UPAUTH_SCRAM, 3 },	   { TG_UPAUTH_SCRAM, 5 },    { TG_UPAUTH_SCRAM, 0 },
		{ TG_UPAUTH_MD5, 3 },	   { TG_UPAUTH_TRUST, 3 },    { TG_UPAUTH_TRUST, 5 },
		{ TG_UPAUTH_TRUST, 10 },   { TG_UPAUTH_PASSWORD, 7 }, /* GSSAPI */
		{ TG_UPAUTH_PASSWORD, 9 },			      /* SSPI */
		{ TG_UPAUTH_PASSWORD, 2 },			      /* Kerberos V5 */
	};
	uint8_t out[TG_UPAUTH_OUT_MAX];
	size_t i, olen;

	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		struct tg_upauth *a = tg_upauth_new(
			"u", refused[i].cred == TG_UPAUTH_TRUST ? NULL : "pw", refused[i].cred);
		struct msg m;

		if (refused[i].code == 5)
			m = auth(5, salt, 4);
		else if (refused[i].code == 10)
			m = sasl_offer();
		else
			m = auth(refused[i].code, NULL, 0);
		if (feed(a, &m, out, &olen) != -ENOTSUP)
			fail_msg("case %zu: %s", i, tg_upauth_reason(a));
		assert_int_equal(olen, 0);
		tg_upauth_free(a);
	}
}

/* ------------------------------------------------------------------ */
/* ErrorResponse, NegotiateProtocolVersion, malformed messages         */

static void
test_error_response(void **state)
{
	struct tg_upauth *a = tg_upauth_new("alice", "wrong", TG_UPAUTH_MD5);
	static const uint8_t salt[4] = { 1, 2, 3, 4 };
	uint8_t out[TG_UPAUTH_OUT_MAX];
	struct msg m = auth(5, salt, 4);
	size_t olen;

	assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_MORE);
	m = error_response("28P01", "password authentication failed for user \"alice\"\n");
	assert_int_equal(feed(a, &m, out, &olen), -EACCES);
	assert_string_equal(tg_upauth_sqlstate(a), "28P01");
	/* the newline is made printable for the log */
	assert_string_equal(tg_upauth_message(a),
			    "password authentication failed for user \"alice\"?");
	assert_non_null(strstr(tg_upauth_reason(a), "28P01"));
	/* sticky */
	m = auth(0, NULL, 0);
	assert_int_equal(feed(a, &m, out, &olen), -EACCES);
	tg_upauth_free(a);
}

static void
test_negotiate_and_notice(void **state)
{
	/* 'v': newest minor 0, 1 option "_pq_.x"; then 'N'; then Ok */
	static const uint8_t nego[] = { 'v', 0, 0, 0,	19,  0,	  0,   0,   0,	 0,
					0,   0, 1, '_', 'p', 'q', '_', '.', 'x', 0 };
	static const uint8_t notice[] = { 'N', 0, 0, 0, 9, 'M', 'h', 'i', 0, 0 };
	struct tg_upauth *a = tg_upauth_new("t", NULL, TG_UPAUTH_TRUST);
	uint8_t out[TG_UPAUTH_OUT_MAX];
	struct msg m = auth(0, NULL, 0);
	size_t olen;

	assert_int_equal(tg_upauth_feed(a, nego, sizeof(nego), out, sizeof(out), &olen),
			 TG_UPAUTH_MORE);
	assert_int_equal(tg_upauth_feed(a, notice, sizeof(notice), out, sizeof(out), &olen),
			 TG_UPAUTH_MORE);
	/* a second 'v' is not expected */
	assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_OK);
	tg_upauth_free(a);

	a = tg_upauth_new("t", NULL, TG_UPAUTH_TRUST);
	assert_int_equal(tg_upauth_feed(a, nego, sizeof(nego), out, sizeof(out), &olen),
			 TG_UPAUTH_MORE);
	assert_int_equal(tg_upauth_feed(a, nego, sizeof(nego), out, sizeof(out), &olen), -EPROTO);
	tg_upauth_free(a);

	/* 'v' announcing 2 options, holding 1 */
	{
		uint8_t bad[sizeof(nego)];

		memcpy(bad, nego, sizeof(nego));
		bad[12] = 2;
		a = tg_upauth_new("t", NULL, TG_UPAUTH_TRUST);
		assert_int_equal(tg_upauth_feed(a, bad, sizeof(bad), out, sizeof(out), &olen),
				 -EPROTO);
		tg_upauth_free(a);
	}
}

/*
 * Every truncation of every message of a good exchange, with its length
 * field left as it was (a length that no longer matches) or rewritten to
 * the truncated size (fields cut short inside): refused, never read past.
 */
static void
test_truncated(void **state)
{
	static const uint8_t salt[4] = { 1, 2, 3, 4 };
	struct msg msgs[6];
	uint8_t out[TG_UPAUTH_OUT_MAX];
	size_t k, cut, olen;

	msgs[0] = sasl_offer();
	msgs[1] = auth(11, "r=" RFC_SFIRST, strlen("r=" RFC_SFIRST));
	msgs[2] = auth(12, RFC_SFINAL, strlen(RFC_SFINAL));
	msgs[3] = auth(5, salt, 4);
	msgs[4] = error_response("28000", "no");
	msgs[5] = auth(0, NULL, 0);
	for (k = 0; k < ARRAY_SIZE(msgs); k++) {
		for (cut = 0; cut < msgs[k].n; cut++) {
			int fix;

			for (fix = 0; fix < 2; fix++) {
				struct tg_upauth *a;
				uint8_t *copy = malloc(cut ? cut : 1);
				int rc;

				assert_non_null(copy);
				memcpy(copy, msgs[k].b, cut);
				if (fix && cut >= 5) {
					copy[1] = 0;
					copy[2] = 0;
					copy[3] = (uint8_t)((cut - 1) >> 8);
					copy[4] = (uint8_t)(cut - 1);
				}
				/* msgs 1..2 are fed in the state that expects them */
				if (k == 2) {
					a = rfc_to_final();
				} else {
					a = tg_upauth_new("user", "pencil", TG_UPAUTH_PASSWORD);
					assert_int_equal(tg_upauth_set_nonce(a, RFC_CNONCE), 0);
				}
				if (k == 1) {
					struct msg o = sasl_offer();

					assert_int_equal(feed(a, &o, out, &olen), TG_UPAUTH_MORE);
				}
				rc = tg_upauth_feed(a, copy, cut, out, sizeof(out), &olen);
				/*
				 * Only a server-first cut inside its iteration count
				 * ("i=409", "i=40", "i=4") is still a well-formed message.
				 */
				if (rc >= 0 && !(k == 1 && fix && cut + 3 >= msgs[1].n))
					fail_msg("message %zu cut at %zu (fix %d) accepted", k, cut,
						 fix);
				if (rc < 0)
					assert_int_equal(olen, 0);
				free(copy);
				tg_upauth_free(a);
			}
		}
	}
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *what;
		uint8_t b[16];
		size_t n;
	} cases[] = {
		{ "length below 4", { 'R', 0, 0, 0, 3, 0, 0, 0, 0 }, 9 },
		{ "length past the bytes", { 'R', 0, 0, 0, 9, 0, 0, 0, 0 }, 9 },
		{ "length short of the bytes", { 'R', 0, 0, 0, 7, 0, 0, 0, 0 }, 9 },
		{ "huge length", { 'R', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 }, 9 },
		{ "Ok with trailing bytes", { 'R', 0, 0, 0, 9, 0, 0, 0, 0, 1 }, 10 },
		{ "cleartext with data", { 'R', 0, 0, 0, 9, 0, 0, 0, 3, 1 }, 10 },
		{ "md5 without salt", { 'R', 0, 0, 0, 8, 0, 0, 0, 5 }, 9 },
		{ "md5 with a long salt", { 'R', 0, 0, 0, 13, 0, 0, 0, 5, 1, 2, 3, 4, 5 }, 14 },
		{ "no auth code", { 'R', 0, 0, 0, 4 }, 5 },
		{ "unknown auth code", { 'R', 0, 0, 0, 8, 0, 0, 0, 99 }, 9 },
		{ "unexpected type", { 'Z', 0, 0, 0, 5, 'I' }, 6 },
		{ "ErrorResponse unterminated", { 'E', 0, 0, 0, 7, 'C', '2', '8' }, 8 },
		{ "ErrorResponse no final 0", { 'E', 0, 0, 0, 8, 'C', '2', '8', 0 }, 9 },
		{ "ErrorResponse trailing", { 'E', 0, 0, 0, 9, 'C', '2', 0, 0, 7 }, 10 },
		{ "empty", { 0 }, 0 },
		{ "four bytes", { 'R', 0, 0, 0 }, 4 },
	};
	uint8_t out[TG_UPAUTH_OUT_MAX];
	size_t i, olen;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tg_upauth *a = tg_upauth_new("u", "p", TG_UPAUTH_PASSWORD);
		int rc = tg_upauth_feed(a, cases[i].b, cases[i].n, out, sizeof(out), &olen);

		if (rc != -EPROTO)
			fail_msg("%s: %d (%s)", cases[i].what, rc, tg_upauth_reason(a));
		tg_upauth_free(a);
	}
}

static void
test_msg_len(void **state)
{
	static const uint8_t two[] = { 'R', 0, 0, 0, 8, 0, 0, 0, 0, 'S', 0, 0, 0, 4 };
	static const uint8_t bad[] = { 'R', 0, 0, 0, 3 };
	static const uint8_t big[] = { 'E', 0, 0, 0x75, 0x30 }; /* 30000 + 1 > the cap */
	size_t n = 0;

	assert_int_equal(tg_upauth_msg_len(two, 4, &n), -EAGAIN);
	assert_int_equal(tg_upauth_msg_len(two, 8, &n), -EAGAIN);
	assert_int_equal(tg_upauth_msg_len(two, sizeof(two), &n), 0);
	assert_int_equal(n, 9);
	assert_int_equal(tg_upauth_msg_len(two + 9, 5, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(tg_upauth_msg_len(bad, sizeof(bad), &n), -EPROTO);
	assert_int_equal(tg_upauth_msg_len(big, sizeof(big), &n), -EPROTO);
}

static void
test_new_args(void **state)
{
	char longpw[TG_UPAUTH_PASSWORD_MAX + 2];

	memset(longpw, 'x', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	assert_null(tg_upauth_new("", "p", TG_UPAUTH_MD5));
	assert_null(
		tg_upauth_new("0123456789012345678901234567890123456789012345678901234567890123",
			      "p", TG_UPAUTH_MD5));
	assert_null(tg_upauth_new("u", NULL, TG_UPAUTH_SCRAM));
	assert_null(tg_upauth_new("u", longpw, TG_UPAUTH_PASSWORD));
	longpw[TG_UPAUTH_PASSWORD_MAX] = '\0';
	{
		struct tg_upauth *a = tg_upauth_new("u", longpw, TG_UPAUTH_PASSWORD);
		uint8_t out[TG_UPAUTH_OUT_MAX];
		struct msg m = auth(3, NULL, 0);
		size_t olen;

		/* the longest password fits TG_UPAUTH_OUT_MAX */
		assert_non_null(a);
		assert_int_equal(feed(a, &m, out, &olen), TG_UPAUTH_MORE);
		assert_int_equal(olen, 6 + TG_UPAUTH_PASSWORD_MAX);
		tg_upauth_free(a);
	}
	{
		struct tg_upauth *a = tg_upauth_new("u", "p", TG_UPAUTH_SCRAM);

		assert_int_equal(tg_upauth_set_nonce(a, "a,b"), -EINVAL);
		assert_int_equal(tg_upauth_set_nonce(a, ""), -EINVAL);
		tg_upauth_free(a);
	}
}

/* ------------------------------------------------------------------ */
/* StartupMessage                                                      */

/* A client StartupMessage: int32 length, int32 196608, pairs, 0. */
static struct msg
startup(const char *const *kv, size_t n)
{
	struct msg m = { 0 };
	size_t i;

	put32(&m, 0);
	put32(&m, 196608);
	for (i = 0; i < n; i++)
		put(&m, kv[i], strlen(kv[i]) + 1);
	put(&m, "", 1);
	m.b[2] = (uint8_t)(m.n >> 8);
	m.b[3] = (uint8_t)m.n;
	return m;
}

static void
test_startup_passthrough(void **state)
{
	static const char *const kv[] = { "user",
					  "alice@example.com",
					  "database",
					  "sales",
					  "application_name",
					  "psql",
					  "client_encoding",
					  "UTF8",
					  "options",
					  "-c search_path=public --statement_timeout=5s "
					  "-cwork_mem=64MB" };
	static const char want_pairs[] = "user\0app_reader\0database\0sales\0"
					 "application_name\0psql\0client_encoding\0UTF8\0"
					 "options\0-c search_path=public --statement_timeout=5s "
					 "-cwork_mem=64MB\0";
	struct msg m = startup(kv, ARRAY_SIZE(kv));
	uint8_t out[TG_UPAUTH_STARTUP_MAX];
	char err[256];
	size_t olen;

	assert_int_equal(tg_upauth_startup(m.b, m.n, "app_reader", NULL, out, sizeof(out), &olen,
					   err, sizeof(err)),
			 0);
	assert_int_equal(olen, 8 + sizeof(want_pairs));
	assert_int_equal(get32(out), olen);
	assert_int_equal(get32(out + 4), 196608);
	assert_memory_equal(out + 8, want_pairs, sizeof(want_pairs)); /* with the final 0 */

	/* the database given by the caller wins; none from either: not sent */
	assert_int_equal(tg_upauth_startup(m.b, m.n, "app_reader", "reports", out, sizeof(out),
					   &olen, err, sizeof(err)),
			 0);
	assert_non_null(memmem(out, olen, "database\0reports\0", 17));
	assert_null(memmem(out, olen, "sales", 5));
	{
		static const char *const kv2[] = { "user", "bob" };
		struct msg m2 = startup(kv2, ARRAY_SIZE(kv2));

		assert_int_equal(tg_upauth_startup(m2.b, m2.n, "r", NULL, out, sizeof(out), &olen,
						   err, sizeof(err)),
				 0);
		assert_int_equal(olen, 8 + 8);
		assert_memory_equal(out + 8, "user\0r\0", 8); /* the literal's NUL ends it */
	}
	/* too small an output */
	assert_int_equal(
		tg_upauth_startup(m.b, m.n, "app_reader", NULL, out, 40, &olen, err, sizeof(err)),
		-EMSGSIZE);
}

static void
test_startup_refused(void **state)
{
	static const struct {
		const char *name, *value;
	} cases[] = {
		{ "role", "app_admin" },
		{ "ROLE", "app_admin" },
		{ "session_authorization", "postgres" },
		{ "Session_Authorization", "postgres" },
		{ "options", "-c role=app_admin" },
		{ "options", "-crole=app_admin" },
		{ "options", "--role=app_admin" },
		{ "options", "-c search_path=x -c ROLE=app_admin" },
		{ "options", "--session-authorization=postgres" },
		{ "options", "-c session_authorization=postgres" },
		/* an escaped space is part of the argument: still the role GUC */
		{ "options", "-c role=a\\ b" },
		{ "options", "-c" },
		{ "options", "-c role" },
		{ "options", "-c =x" },
		/* backend switches other than settings */
		{ "options", "-d 5" },
		{ "options", "-P" },
		{ "options", "-ec role=x" },
		{ "replication", "database" },
		{ "replication", "true" },
		{ "_pq_.compression", "on" },
	};
	uint8_t out[TG_UPAUTH_STARTUP_MAX];
	char err[256];
	size_t i, olen;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *kv[] = { "user", "alice", cases[i].name, cases[i].value };
		struct msg m = startup(kv, ARRAY_SIZE(kv));
		int rc = tg_upauth_startup(m.b, m.n, "app_reader", NULL, out, sizeof(out), &olen,
					   err, sizeof(err));

		if (rc != -EPERM)
			fail_msg("case %zu %s=%s: %d", i, cases[i].name, cases[i].value, rc);
		assert_int_equal(olen, 0);
	}
	/* allowed look-alikes */
	{
		const char *kv[] = { "replication", "off", "options", "-c rolex=1 -c app.role=2",
				     "rolename",    "x" };
		struct msg m = startup(kv, ARRAY_SIZE(kv));

		assert_int_equal(tg_upauth_startup(m.b, m.n, "r", NULL, out, sizeof(out), &olen,
						   err, sizeof(err)),
				 0);
	}
}

static void
test_startup_malformed(void **state)
{
	static const char *const kv[] = { "user", "alice", "database", "db" };
	struct msg good = startup(kv, ARRAY_SIZE(kv));
	uint8_t out[TG_UPAUTH_STARTUP_MAX];
	char err[256];
	size_t cut, olen;
	struct msg m;

	/* every truncation, with the length fixed up to match: refused */
	for (cut = 0; cut < good.n; cut++) {
		m = good;
		m.n = cut;
		if (cut >= 4)
			m.b[3] = (uint8_t)cut;
		assert_int_equal(tg_upauth_startup(m.b, m.n, "r", NULL, out, sizeof(out), &olen,
						   err, sizeof(err)),
				 -EPROTO);
	}
	/* a length field that does not match */
	m = good;
	m.b[3]++;
	assert_int_equal(
		tg_upauth_startup(m.b, m.n, "r", NULL, out, sizeof(out), &olen, err, sizeof(err)),
		-EPROTO);
	/* protocol 2.0, and the SSLRequest code */
	m = good;
	m.b[5] = 2;
	assert_int_equal(
		tg_upauth_startup(m.b, m.n, "r", NULL, out, sizeof(out), &olen, err, sizeof(err)),
		-EPROTO);
	assert_non_null(strstr(err, "not 3.0"));
	m = good;
	m.b[4] = 0x04;
	m.b[5] = 0xd2;
	m.b[6] = 0x16;
	m.b[7] = 0x2f;
	assert_int_equal(
		tg_upauth_startup(m.b, m.n, "r", NULL, out, sizeof(out), &olen, err, sizeof(err)),
		-EPROTO);
	/* bytes after the terminator */
	m = good;
	m.b[m.n++] = 'x';
	m.b[3] = (uint8_t)m.n;
	assert_int_equal(
		tg_upauth_startup(m.b, m.n, "r", NULL, out, sizeof(out), &olen, err, sizeof(err)),
		-EPROTO);
	/* bad role names */
	assert_int_equal(tg_upauth_startup(good.b, good.n, "", NULL, out, sizeof(out), &olen, err,
					   sizeof(err)),
			 -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scram_rfc7677),
		cmocka_unit_test(test_scram_wrong_server_signature),
		cmocka_unit_test(test_scram_ok_without_final),
		cmocka_unit_test(test_scram_independent_server),
		cmocka_unit_test(test_scram_random_nonces_differ),
		cmocka_unit_test(test_scram_bad_server_first),
		cmocka_unit_test(test_scram_bad_server_final),
		cmocka_unit_test(test_scram_mechanisms),
		cmocka_unit_test(test_md5),
		cmocka_unit_test(test_cleartext),
		cmocka_unit_test(test_trust),
		cmocka_unit_test(test_method_bounds),
		cmocka_unit_test(test_error_response),
		cmocka_unit_test(test_negotiate_and_notice),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_msg_len),
		cmocka_unit_test(test_new_args),
		cmocka_unit_test(test_startup_passthrough),
		cmocka_unit_test(test_startup_refused),
		cmocka_unit_test(test_startup_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
