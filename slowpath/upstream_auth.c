/* SPDX-License-Identifier: MIT */
/*
 * upstream_auth.c — PostgreSQL client authentication (upstream_auth.h).
 *
 * Every backend message is checked whole before any field is read: its
 * length field must match the bytes given, each field must fit in what
 * is left, and a message must end where its fields end. A message that
 * does not is -EPROTO and ends the login; nothing here aborts on input.
 *
 * Secrets: the password lives in the handle until tg_upauth_free();
 * SaltedPassword, ClientKey and the proof live on the stack of the one
 * function that computes them and are wiped before it returns. Only the
 * expected ServerSignature outlives it (it is not a secret once the
 * exchange is over, but it is wiped on free all the same).
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "seterr.h"
#include "upstream_auth.h"

/* 55.7: protocol version 3.0 as the StartupMessage carries it. */
#define PROTO_3_0 196608u

/* Authentication request codes ('R', 55.7). */
enum {
	AUTH_OK = 0,
	AUTH_KRB5 = 2,
	AUTH_CLEARTEXT = 3,
	AUTH_MD5 = 5,
	AUTH_GSS = 7,
	AUTH_GSS_CONT = 8,
	AUTH_SSPI = 9,
	AUTH_SASL = 10,
	AUTH_SASL_CONT = 11,
	AUTH_SASL_FINAL = 12,
};

#define SCRAM_MECH "SCRAM-SHA-256"
#define SCRAM_KEY 32	   /* SHA-256 output */
#define SCRAM_NONCE_RAW 18 /* libpq's SCRAM_RAW_NONCE_LEN */
#define SCRAM_NONCE_MAX 64
#define SCRAM_SALT_MAX 128
/* server-first-message: nonce, salt and count; extensions bounded too */
#define SCRAM_SERVER_FIRST_MAX 2048
/* "n=" + saslname-escaped user (3 bytes a byte at worst) + ",r=" + nonce */
#define SCRAM_BARE_MAX (2 + 3 * TG_UPAUTH_NAME_MAX + 3 + SCRAM_NONCE_MAX)

enum state {
	ST_INIT,	    /* nothing from the server yet (or only 'v'/'N') */
	ST_PW_SENT,	    /* PasswordMessage (cleartext or md5) sent */
	ST_SASL_FIRST_SENT, /* client-first-message sent */
	ST_SASL_FINAL_SENT, /* client-final-message sent */
	ST_SASL_VERIFIED,   /* server signature checked */
	ST_OK,
	ST_FAILED,
};

struct tg_upauth {
	enum state st;
	enum tg_upauth_method method; /* what the credential allows (the header's table) */
	enum tg_upauth_method used;
	int err; /* the sticky result once ST_FAILED */
	bool seen_nego;
	char user[TG_UPAUTH_NAME_MAX + 1];
	char password[TG_UPAUTH_PASSWORD_MAX + 1];
	size_t password_len;
	char nonce[SCRAM_NONCE_MAX + 1]; /* client nonce; "" until needed */
	char bare[SCRAM_BARE_MAX + 1];	 /* client-first-message-bare */
	uint8_t server_sig[SCRAM_KEY];	 /* the ServerSignature we expect */
	char reason[256];
	char sqlstate[6];
	char message[256];
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A bounded writer: overflow is remembered and checked once at the end. */
struct wbuf {
	uint8_t *b;
	size_t cap;
	size_t len;
	bool overflow;
};

static void
put(struct wbuf *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->b + w->len, p, n);
	w->len += n;
}

static void
put_be32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	put(w, b, 4);
}

/* A string with its NUL, as the protocol's String type. */
static void
put_str(struct wbuf *w, const char *s)
{
	put(w, s, strlen(s) + 1);
}

/*
 * Writes the int32 length of the message begun at offset start, whose
 * header (type byte, if any, and the length) is hdr bytes: the length
 * counts itself and what follows, not the type byte (55.7).
 */
static void
patch_len(struct wbuf *w, size_t start, size_t hdr)
{
	uint32_t n;

	if (w->overflow)
		return;
	n = (uint32_t)(w->len - start - (hdr - 4));
	w->b[start + hdr - 4] = n >> 24;
	w->b[start + hdr - 3] = n >> 16;
	w->b[start + hdr - 2] = n >> 8;
	w->b[start + hdr - 1] = n;
}

/* Copies a server string for a log line: bounded, control bytes as '?'. */
static void
copy_printable(char *dst, size_t cap, const char *src, size_t n)
{
	size_t i;

	if (cap == 0)
		return;
	if (n > cap - 1)
		n = cap - 1;
	for (i = 0; i < n; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[n] = '\0';
}

static int fail(struct tg_upauth *a, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Ends the login with err and a reason; every later feed returns err. */
static int
fail(struct tg_upauth *a, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->reason, sizeof(a->reason), fmt, ap);
	va_end(ap);
	a->st = ST_FAILED;
	a->err = err;
	return err;
}

/* ------------------------------------------------------------------ */
/* StartupMessage                                                      */

/* A GUC name as PostgreSQL compares it: case-insensitive, '-' as '_'. */
static bool
guc_is(const char *name, size_t n, const char *want)
{
	size_t i;

	if (strlen(want) != n)
		return false;
	for (i = 0; i < n; i++) {
		char c = (char)tolower((unsigned char)name[i]);

		if (c == '-')
			c = '_';
		if (c != want[i])
			return false;
	}
	return true;
}

/* The GUCs that would make the session act as another role than the mapped one. */
static bool
guc_refused(const char *name, size_t n)
{
	return guc_is(name, n, "role") || guc_is(name, n, "session_authorization");
}

/*
 * One "name=value" GUC setting from options: refused when it has no '='
 * (PostgreSQL refuses it too) or names a refused GUC.
 */
static int
check_setting(const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg) {
		tg_sp_seterr(err, errlen, "startup: options setting without name=value");
		return -EPERM;
	}
	if (guc_refused(arg, (size_t)(eq - arg))) {
		tg_sp_seterr(
			err, errlen,
			"startup: options may not set %.*s: the upstream role is the mapped one",
			(int)(eq - arg), arg);
		return -EPERM;
	}
	return 0;
}

/*
 * Checks "options" as the backend would read it (postgres.c
 * pg_split_opts(), then process_postgres_switches()): whitespace splits
 * arguments unless escaped by '\'. Only GUC settings pass: "-c" then
 * "name=value", "-cname=value", or "--name=value"; any other backend
 * switch is refused, as is a setting of a refused GUC.
 */
static int
check_options(const char *opts, char *err, size_t errlen)
{
	char arg[TG_UPAUTH_STARTUP_MAX + 1];
	bool want_setting = false;
	const char *p = opts;
	int rc;

	for (;;) {
		size_t n = 0;
		bool esc = false;

		while (*p != '\0' && isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		while (*p != '\0' && (esc || !isspace((unsigned char)*p))) {
			if (!esc && *p == '\\') {
				esc = true;
			} else {
				esc = false;
				/* opts is shorter than arg: a startup value is */
				if (n < sizeof(arg) - 1)
					arg[n++] = *p;
			}
			p++;
		}
		arg[n] = '\0';
		if (want_setting) {
			if ((rc = check_setting(arg, err, errlen)) < 0)
				return rc;
			want_setting = false;
		} else if (strcmp(arg, "-c") == 0) {
			want_setting = true;
		} else if (strncmp(arg, "-c", 2) == 0 || strncmp(arg, "--", 2) == 0) {
			if ((rc = check_setting(arg + 2, err, errlen)) < 0)
				return rc;
		} else {
			tg_sp_seterr(
				err, errlen,
				"startup: options may hold only -c name=value settings, not %.40s",
				arg);
			return -EPERM;
		}
	}
	if (want_setting) {
		tg_sp_seterr(err, errlen, "startup: options end with -c and no setting");
		return -EPERM;
	}
	return 0;
}

static bool
falsish(const char *v)
{
	return strcasecmp(v, "false") == 0 || strcasecmp(v, "off") == 0 ||
	       strcasecmp(v, "no") == 0 || strcmp(v, "0") == 0;
}

/* A role or database name: 1..NAMEDATALEN-1 bytes. */
static bool
name_ok(const char *s)
{
	size_t n = strnlen(s, TG_UPAUTH_NAME_MAX + 1);

	return n > 0 && n <= TG_UPAUTH_NAME_MAX;
}

int
tg_upauth_startup(const uint8_t *client, size_t client_len, const char *role, const char *database,
		  uint8_t *out, size_t cap, size_t *out_len, char *err, size_t errlen)
{
	struct wbuf w = { .b = out,
			  .cap = cap < TG_UPAUTH_STARTUP_MAX ? cap : TG_UPAUTH_STARTUP_MAX };
	const char *db = database;
	size_t p, n;
	uint32_t proto;
	int rc;

	if (out_len != NULL)
		*out_len = 0;
	if (client == NULL || out == NULL || out_len == NULL || role == NULL || !name_ok(role) ||
	    (database != NULL && !name_ok(database))) {
		tg_sp_seterr(err, errlen,
			     "startup: no message, or a role or database name empty "
			     "or over %d bytes",
			     TG_UPAUTH_NAME_MAX);
		return -EINVAL;
	}
	if (client_len < 8 || client_len > TG_UPAUTH_STARTUP_MAX ||
	    get_be32(client) != client_len) {
		tg_sp_seterr(err, errlen, "startup: length field does not match the %zu bytes",
			     client_len);
		return -EPROTO;
	}
	proto = get_be32(client + 4);
	if (proto != PROTO_3_0) {
		tg_sp_seterr(err, errlen, "startup: protocol %u.%u, not 3.0", proto >> 16,
			     proto & 0xffff);
		return -EPROTO;
	}

	/* First pass: every pair well-formed and allowed; find the database. */
	n = client_len;
	for (p = 8;;) {
		const char *name, *value;
		size_t nl, vl;

		if (p >= n) {
			tg_sp_seterr(err, errlen, "startup: parameters not terminated");
			return -EPROTO;
		}
		if (client[p] == '\0') {
			if (p + 1 != n) {
				tg_sp_seterr(err, errlen, "startup: bytes after the terminator");
				return -EPROTO;
			}
			break;
		}
		name = (const char *)client + p;
		nl = strnlen(name, n - p);
		if (nl == n - p) {
			tg_sp_seterr(err, errlen, "startup: unterminated parameter name");
			return -EPROTO;
		}
		p += nl + 1;
		value = (const char *)client + p;
		vl = strnlen(value, n - p);
		if (vl == n - p) {
			tg_sp_seterr(err, errlen, "startup: unterminated value of %.40s", name);
			return -EPROTO;
		}
		p += vl + 1;

		if (strcmp(name, "user") == 0)
			continue;
		if (strcmp(name, "database") == 0) {
			if (database == NULL && vl > 0) {
				if (vl > TG_UPAUTH_NAME_MAX) {
					tg_sp_seterr(err, errlen,
						     "startup: database name over %d bytes",
						     TG_UPAUTH_NAME_MAX);
					return -EINVAL;
				}
				db = value;
			}
			continue;
		}
		if (strcmp(name, "options") == 0) {
			if ((rc = check_options(value, err, errlen)) < 0)
				return rc;
			continue;
		}
		if (strcmp(name, "replication") == 0) {
			if (!falsish(value)) {
				tg_sp_seterr(err, errlen,
					     "startup: replication connections are refused");
				return -EPERM;
			}
			continue;
		}
		if (strncmp(name, "_pq_.", 5) == 0) {
			tg_sp_seterr(err, errlen,
				     "startup: protocol option %.40s is not negotiated "
				     "upstream",
				     name);
			return -EPERM;
		}
		if (guc_refused(name, nl)) {
			tg_sp_seterr(
				err, errlen,
				"startup: parameter %.40s is refused: the upstream role is the "
				"mapped one",
				name);
			return -EPERM;
		}
	}

	/* Second pass: write user and database first, then the rest in order. */
	put_be32(&w, 0);
	put_be32(&w, PROTO_3_0);
	put_str(&w, "user");
	put_str(&w, role);
	if (db != NULL) {
		put_str(&w, "database");
		put_str(&w, db);
	}
	for (p = 8; client[p] != '\0';) {
		const char *name = (const char *)client + p;
		const char *value = name + strlen(name) + 1;

		p += strlen(name) + 1 + strlen(value) + 1;
		if (strcmp(name, "user") == 0 || strcmp(name, "database") == 0)
			continue;
		put_str(&w, name);
		put_str(&w, value);
	}
	put(&w, "", 1);
	if (w.overflow) {
		tg_sp_seterr(err, errlen, "startup: message over %zu bytes", w.cap);
		return -EMSGSIZE;
	}
	patch_len(&w, 0, 4);
	*out_len = w.len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Handle                                                              */

int
tg_upauth_msg_len(const uint8_t *buf, size_t len, size_t *msg_len)
{
	uint32_t n;

	if (len < 5)
		return -EAGAIN;
	n = get_be32(buf + 1);
	if (n < 4 || n > TG_UPAUTH_MSG_MAX - 1)
		return -EPROTO;
	if (len < (size_t)n + 1)
		return -EAGAIN;
	*msg_len = (size_t)n + 1;
	return 0;
}

struct tg_upauth *
tg_upauth_new(const char *user, const char *password, enum tg_upauth_method method)
{
	struct tg_upauth *a;
	size_t pl = password != NULL ? strnlen(password, TG_UPAUTH_PASSWORD_MAX + 1) : 0;

	if (user == NULL || !name_ok(user) || pl > TG_UPAUTH_PASSWORD_MAX ||
	    method > TG_UPAUTH_SCRAM || (method != TG_UPAUTH_TRUST && pl == 0)) {
		errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->st = ST_INIT;
	a->method = method;
	a->used = TG_UPAUTH_TRUST;
	memcpy(a->user, user, strlen(user));
	if (pl > 0)
		memcpy(a->password, password, pl);
	a->password_len = pl;
	return a;
}

void
tg_upauth_free(struct tg_upauth *a)
{
	if (a == NULL)
		return;
	explicit_bzero(a, sizeof(*a));
	free(a);
}

/* SCRAM "printable" (RFC 5802 7): 0x21..0x7e except ','. */
static bool
nonce_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return false;
	return n > 0;
}

int
tg_upauth_set_nonce(struct tg_upauth *a, const char *nonce)
{
	size_t n;

	if (a == NULL || nonce == NULL || a->st != ST_INIT)
		return -EINVAL;
	n = strnlen(nonce, SCRAM_NONCE_MAX + 1);
	if (n > SCRAM_NONCE_MAX || !nonce_ok(nonce, n))
		return -EINVAL;
	memcpy(a->nonce, nonce, n);
	a->nonce[n] = '\0';
	return 0;
}

const char *
tg_upauth_reason(const struct tg_upauth *a)
{
	return a->reason;
}

const char *
tg_upauth_sqlstate(const struct tg_upauth *a)
{
	return a->sqlstate;
}

const char *
tg_upauth_message(const struct tg_upauth *a)
{
	return a->message;
}

enum tg_upauth_method
tg_upauth_used(const struct tg_upauth *a)
{
	return a->used;
}

const char *
tg_upauth_method_name(enum tg_upauth_method m)
{
	switch (m) {
	case TG_UPAUTH_TRUST:
		return "trust";
	case TG_UPAUTH_PASSWORD:
		return "password";
	case TG_UPAUTH_MD5:
		return "md5";
	case TG_UPAUTH_SCRAM:
		return "scram-sha-256";
	}
	return "?";
}

/* ------------------------------------------------------------------ */
/* ErrorResponse and NegotiateProtocolVersion                          */

/* 55.8: (code byte, String)* then a 0 byte. Keeps C and M. */
static int
on_error(struct tg_upauth *a, const uint8_t *b, size_t n)
{
	size_t p = 0;

	for (;;) {
		uint8_t code;
		size_t sl;

		if (p >= n)
			return fail(a, -EPROTO, "malformed ErrorResponse: not terminated");
		code = b[p++];
		if (code == 0)
			break;
		sl = strnlen((const char *)b + p, n - p);
		if (sl == n - p)
			return fail(a, -EPROTO, "malformed ErrorResponse: unterminated field");
		if (code == 'C')
			copy_printable(a->sqlstate, sizeof(a->sqlstate), (const char *)b + p, sl);
		else if (code == 'M')
			copy_printable(a->message, sizeof(a->message), (const char *)b + p, sl);
		p += sl + 1;
	}
	if (p != n)
		return fail(a, -EPROTO, "malformed ErrorResponse: bytes after the terminator");
	return fail(a, -EACCES, "server refused: %s %s", a->sqlstate[0] ? a->sqlstate : "-",
		    a->message);
}

/*
 * 55.7 NegotiateProtocolVersion: int32 newest minor version, int32 count,
 * count Strings (the options not recognised). We ask for 3.0 without
 * options, so this only says the server is older or newer; it is checked
 * and skipped. Only before authentication, and once.
 */
static int
on_nego(struct tg_upauth *a, const uint8_t *b, size_t n)
{
	uint32_t cnt, i;
	size_t p = 8;

	if (a->st != ST_INIT || a->seen_nego)
		return fail(a, -EPROTO, "unexpected NegotiateProtocolVersion");
	if (n < 8)
		return fail(a, -EPROTO, "malformed NegotiateProtocolVersion: %zu bytes", n);
	cnt = get_be32(b + 4);
	for (i = 0; i < cnt; i++) {
		size_t sl;

		if (p >= n)
			return fail(a, -EPROTO,
				    "malformed NegotiateProtocolVersion: %u options "
				    "announced, %u present",
				    cnt, i);
		sl = strnlen((const char *)b + p, n - p);
		if (sl == n - p)
			return fail(a, -EPROTO,
				    "malformed NegotiateProtocolVersion: "
				    "unterminated option");
		p += sl + 1;
	}
	if (p != n)
		return fail(a, -EPROTO, "malformed NegotiateProtocolVersion: trailing bytes");
	a->seen_nego = true;
	return TG_UPAUTH_MORE;
}

/* ------------------------------------------------------------------ */
/* Cleartext and MD5                                                   */

/* 55.7 PasswordMessage: 'p', int32 length, String. */
static int
send_password(struct tg_upauth *a, const char *pw, uint8_t *out, size_t cap, size_t *out_len)
{
	struct wbuf w = { .b = out, .cap = cap };

	put(&w, "p", 1);
	put_be32(&w, 0);
	put_str(&w, pw);
	if (w.overflow) {
		explicit_bzero(out, cap);
		return fail(a, -ENOBUFS, "reply buffer of %zu bytes too small", cap);
	}
	patch_len(&w, 0, 5);
	*out_len = w.len;
	a->st = ST_PW_SENT;
	return TG_UPAUTH_MORE;
}

static void
hex(char *dst, const uint8_t *src, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		dst[2 * i] = digits[src[i] >> 4];
		dst[2 * i + 1] = digits[src[i] & 15];
	}
	dst[2 * n] = '\0';
}

/*
 * 55.3 / libpq pg_md5_encrypt(): "md5" || hex(md5(hex(md5(password ||
 * user)) || salt)). MD5 through EVP: MD5() is deprecated in OpenSSL 3.
 */
static int
on_md5(struct tg_upauth *a, const uint8_t salt[4], uint8_t *out, size_t cap, size_t *out_len)
{
	char inner[TG_UPAUTH_PASSWORD_MAX + TG_UPAUTH_NAME_MAX + 1];
	char outer_in[32 + 4];
	char reply[3 + 32 + 1];
	uint8_t d[16];
	size_t ul = strlen(a->user);
	int rc;

	memcpy(inner, a->password, a->password_len);
	memcpy(inner + a->password_len, a->user, ul);
	if (!EVP_Digest(inner, a->password_len + ul, d, NULL, EVP_md5(), NULL)) {
		explicit_bzero(inner, sizeof(inner));
		return fail(a, -EIO, "MD5 failed");
	}
	explicit_bzero(inner, sizeof(inner));
	/* hex(md5(password || user)) is what pg_authid stores: a password equivalent */
	hex(reply, d, 16);
	memcpy(outer_in, reply, 32);
	memcpy(outer_in + 32, salt, 4);
	if (!EVP_Digest(outer_in, sizeof(outer_in), d, NULL, EVP_md5(), NULL)) {
		explicit_bzero(outer_in, sizeof(outer_in));
		explicit_bzero(reply, sizeof(reply));
		return fail(a, -EIO, "MD5 failed");
	}
	memcpy(reply, "md5", 3);
	hex(reply + 3, d, 16);
	a->used = TG_UPAUTH_MD5;
	rc = send_password(a, reply, out, cap, out_len);
	explicit_bzero(outer_in, sizeof(outer_in));
	explicit_bzero(reply, sizeof(reply));
	explicit_bzero(d, sizeof(d));
	return rc;
}

/* ------------------------------------------------------------------ */
/* SCRAM-SHA-256                                                       */

static bool
b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/*
 * Strict base64 (RFC 4648 4, padded): EVP_DecodeBlock alone skips
 * whitespace and leaves padding bytes in its count. Returns the decoded
 * length, or -1 when s[0..n) is not canonical base64 or would not fit.
 */
static int
b64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t i, pad = 0;
	uint8_t tmp[3 * (SCRAM_SALT_MAX / 3 + 2)];
	int got;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > sizeof(tmp))
		return -1;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	for (i = 0; i < n - pad; i++)
		if (!b64_char(s[i]))
			return -1;
	got = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
	if (got < 0 || (size_t)got < pad || (size_t)got - pad > cap)
		return -1;
	memcpy(out, tmp, (size_t)got - pad);
	explicit_bzero(tmp, sizeof(tmp));
	return got - (int)pad;
}

/* client-first-message-bare (RFC 5802 7): "n=" saslname ",r=" c-nonce. */
static void
make_bare(struct tg_upauth *a)
{
	size_t o = 0, i;

	memcpy(a->bare, "n=", 2);
	o = 2;
	for (i = 0; a->user[i] != '\0'; i++) {
		/* RFC 5802 5.1: ',' and '=' are escaped; PostgreSQL ignores the name anyway */
		if (a->user[i] == ',') {
			memcpy(a->bare + o, "=2C", 3);
			o += 3;
		} else if (a->user[i] == '=') {
			memcpy(a->bare + o, "=3D", 3);
			o += 3;
		} else {
			a->bare[o++] = a->user[i];
		}
	}
	memcpy(a->bare + o, ",r=", 3);
	o += 3;
	memcpy(a->bare + o, a->nonce, strlen(a->nonce));
	o += strlen(a->nonce);
	a->bare[o] = '\0';
}

/*
 * AuthenticationSASL: a list of mechanism Strings ended by an empty one.
 * We pick SCRAM-SHA-256 and send SASLInitialResponse: 'p', int32 length,
 * String mechanism, int32 data length, data = "n,," client-first-bare.
 */
static int
on_sasl(struct tg_upauth *a, const uint8_t *b, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	struct wbuf w = { .b = out, .cap = cap };
	bool have = false, plus = false;
	size_t p = 0;

	for (;;) {
		const char *m = (const char *)b + p;
		size_t sl;

		if (p >= n)
			return fail(a, -EPROTO,
				    "malformed AuthenticationSASL: list not terminated");
		sl = strnlen(m, n - p);
		if (sl == n - p)
			return fail(a, -EPROTO, "malformed AuthenticationSASL: unterminated name");
		p += sl + 1;
		if (sl == 0)
			break;
		if (strcmp(m, SCRAM_MECH) == 0)
			have = true;
		else if (strcmp(m, SCRAM_MECH "-PLUS") == 0)
			plus = true;
	}
	if (p != n)
		return fail(a, -EPROTO, "malformed AuthenticationSASL: trailing bytes");
	if (!have)
		return fail(a, -ENOTSUP, "server offers no SASL mechanism we speak%s",
			    plus ? " (only SCRAM-SHA-256-PLUS: channel binding needs TLS)" : "");

	if (a->nonce[0] == '\0') {
		uint8_t raw[SCRAM_NONCE_RAW];

		if (RAND_bytes(raw, sizeof(raw)) != 1)
			return fail(a, -EIO, "RAND_bytes failed");
		EVP_EncodeBlock((unsigned char *)a->nonce, raw, sizeof(raw));
	}
	make_bare(a);
	put(&w, "p", 1);
	put_be32(&w, 0);
	put_str(&w, SCRAM_MECH);
	put_be32(&w, (uint32_t)(3 + strlen(a->bare)));
	/* gs2 header "n,,": no channel binding, no authzid (RFC 5802 7) */
	put(&w, "n,,", 3);
	put(&w, a->bare, strlen(a->bare));
	if (w.overflow)
		return fail(a, -ENOBUFS, "reply buffer of %zu bytes too small", cap);
	patch_len(&w, 0, 5);
	*out_len = w.len;
	a->used = TG_UPAUTH_SCRAM;
	a->st = ST_SASL_FIRST_SENT;
	return TG_UPAUTH_MORE;
}

static bool
hmac256(const uint8_t *key, size_t klen, const void *data, size_t n, uint8_t out[SCRAM_KEY])
{
	unsigned int ol = SCRAM_KEY;

	return HMAC(EVP_sha256(), key, (int)klen, data, n, out, &ol) != NULL && ol == SCRAM_KEY;
}

/*
 * The SCRAM keys (RFC 5802 3) for server-first s[0..sl), the salt and
 * count in it, and client-final-without-proof cf[0..cfl): writes the
 * ClientProof into proof and keeps the ServerSignature. The AuthMessage
 * is client-first-bare "," server-first "," client-final-without-proof.
 */
static int
scram_keys(struct tg_upauth *a, const char *s, size_t sl, const uint8_t *salt, size_t saltl,
	   unsigned int iter, const char *cf, size_t cfl, uint8_t proof[SCRAM_KEY])
{
	char msg[SCRAM_BARE_MAX + 1 + SCRAM_SERVER_FIRST_MAX + 1 + 9 + 2 * SCRAM_SERVER_FIRST_MAX];
	uint8_t salted[SCRAM_KEY], ckey[SCRAM_KEY], stored[SCRAM_KEY], csig[SCRAM_KEY];
	uint8_t skey[SCRAM_KEY];
	size_t bl = strlen(a->bare), ml, i;
	int rc = 0;

	if (bl + 1 + sl + 1 + cfl > sizeof(msg))
		return fail(a, -EPROTO, "SCRAM messages too long");
	memcpy(msg, a->bare, bl);
	msg[bl] = ',';
	memcpy(msg + bl + 1, s, sl);
	msg[bl + 1 + sl] = ',';
	memcpy(msg + bl + 2 + sl, cf, cfl);
	ml = bl + 2 + sl + cfl;

	/* SaltedPassword = Hi(password, salt, i): PBKDF2 with HMAC-SHA-256 */
	if (PKCS5_PBKDF2_HMAC(a->password, (int)a->password_len, salt, (int)saltl, (int)iter,
			      EVP_sha256(), SCRAM_KEY, salted) != 1 ||
	    !hmac256(salted, SCRAM_KEY, "Client Key", 10, ckey) ||
	    !EVP_Digest(ckey, SCRAM_KEY, stored, NULL, EVP_sha256(), NULL) ||
	    !hmac256(stored, SCRAM_KEY, msg, ml, csig) ||
	    !hmac256(salted, SCRAM_KEY, "Server Key", 10, skey) ||
	    !hmac256(skey, SCRAM_KEY, msg, ml, a->server_sig)) {
		rc = fail(a, -EIO, "SCRAM key derivation failed");
		goto out;
	}
	for (i = 0; i < SCRAM_KEY; i++)
		proof[i] = ckey[i] ^ csig[i];
out:
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(ckey, sizeof(ckey));
	explicit_bzero(stored, sizeof(stored));
	explicit_bzero(csig, sizeof(csig));
	explicit_bzero(skey, sizeof(skey));
	return rc;
}

/*
 * AuthenticationSASLContinue: server-first-message (RFC 5802 7)
 *   [m=ext,] r=c-nonce s-nonce, s=salt(base64), i=count [,ext]*
 * Checks the nonce extends ours, then sends SASLResponse (55.7: 'p', int32
 * length, data) with client-final-message
 *   c=biws, r=nonce, p=base64(ClientProof)     ("biws" = base64("n,,")).
 */
static int
on_sasl_continue(struct tg_upauth *a, const uint8_t *b, size_t n, uint8_t *out, size_t cap,
		 size_t *out_len)
{
	const char *s = (const char *)b, *r, *salt64, *it, *e;
	size_t rl, s64l, itl, cnl = strlen(a->nonce), i;
	char cf[9 + SCRAM_SERVER_FIRST_MAX + 3 + 45];
	uint8_t salt[SCRAM_SALT_MAX], proof[SCRAM_KEY];
	struct wbuf w = { .b = out, .cap = cap };
	unsigned long iter = 0;
	int saltl, cfl, rc;

	if (n == 0 || n > SCRAM_SERVER_FIRST_MAX)
		return fail(a, -EPROTO, "SCRAM server-first-message of %zu bytes", n);
	for (i = 0; i < n; i++)
		if (b[i] < 0x20 || b[i] > 0x7e)
			return fail(a, -EPROTO, "SCRAM server-first-message has a byte 0x%02x",
				    b[i]);
	if (n >= 2 && s[0] == 'm' && s[1] == '=')
		return fail(a, -ENOTSUP, "SCRAM mandatory extension not supported");

	/* r= */
	if (n < 2 || memcmp(s, "r=", 2) != 0)
		return fail(a, -EPROTO, "SCRAM server-first-message does not start with r=");
	r = s + 2;
	e = memchr(r, ',', n - 2);
	if (e == NULL)
		return fail(a, -EPROTO, "SCRAM server-first-message has no salt");
	rl = (size_t)(e - r);
	if (rl <= cnl || memcmp(r, a->nonce, cnl) != 0 || !nonce_ok(r, rl))
		return fail(a, -EBADMSG, "SCRAM server nonce does not extend ours");

	/* s= */
	salt64 = e + 1;
	if ((size_t)(salt64 - s) + 2 > n || memcmp(salt64, "s=", 2) != 0)
		return fail(a, -EPROTO, "SCRAM server-first-message has no s=");
	salt64 += 2;
	e = memchr(salt64, ',', n - (size_t)(salt64 - s));
	if (e == NULL)
		return fail(a, -EPROTO, "SCRAM server-first-message has no iteration count");
	s64l = (size_t)(e - salt64);
	saltl = b64_decode(salt64, s64l, salt, sizeof(salt));
	if (saltl <= 0)
		return fail(a, -EPROTO, "SCRAM salt is not base64 of 1..%d bytes", SCRAM_SALT_MAX);

	/* i= */
	it = e + 1;
	if ((size_t)(it - s) + 2 > n || memcmp(it, "i=", 2) != 0)
		return fail(a, -EPROTO, "SCRAM server-first-message has no i=");
	it += 2;
	e = memchr(it, ',', n - (size_t)(it - s));
	itl = e != NULL ? (size_t)(e - it) : n - (size_t)(it - s);
	if (itl == 0 || itl > 9 || it[0] == '0')
		return fail(a, -EPROTO, "SCRAM iteration count malformed");
	for (i = 0; i < itl; i++) {
		if (it[i] < '0' || it[i] > '9')
			return fail(a, -EPROTO, "SCRAM iteration count malformed");
		iter = iter * 10 + (unsigned long)(it[i] - '0');
	}
	if (iter > TG_UPAUTH_SCRAM_ITER_MAX)
		return fail(a, -ENOTSUP, "SCRAM iteration count %lu over %d", iter,
			    TG_UPAUTH_SCRAM_ITER_MAX);

	cfl = snprintf(cf, sizeof(cf), "c=biws,r=%.*s", (int)rl, r);
	if (cfl < 0 || (size_t)cfl >= sizeof(cf))
		return fail(a, -EPROTO, "SCRAM nonce too long");
	if ((rc = scram_keys(a, s, n, salt, (size_t)saltl, (unsigned int)iter, cf, (size_t)cfl,
			     proof)) < 0)
		return rc;
	if ((size_t)cfl + 3 + 45 > sizeof(cf)) {
		explicit_bzero(proof, sizeof(proof));
		return fail(a, -EPROTO, "SCRAM nonce too long");
	}
	memcpy(cf + cfl, ",p=", 3);
	cfl += 3;
	cfl += EVP_EncodeBlock((unsigned char *)cf + cfl, proof, SCRAM_KEY);
	explicit_bzero(proof, sizeof(proof));

	put(&w, "p", 1);
	put_be32(&w, 0);
	put(&w, cf, (size_t)cfl);
	explicit_bzero(cf, sizeof(cf));
	if (w.overflow) {
		explicit_bzero(out, cap);
		return fail(a, -ENOBUFS, "reply buffer of %zu bytes too small", cap);
	}
	patch_len(&w, 0, 5);
	*out_len = w.len;
	a->st = ST_SASL_FINAL_SENT;
	return TG_UPAUTH_MORE;
}

/*
 * AuthenticationSASLFinal: server-final-message (RFC 5802 7)
 *   v=base64(ServerSignature) [,ext]  or  e=server-error-value.
 * A signature that is not ours means the server does not hold the
 * verifier: refused before AuthenticationOk can be believed.
 */
static int
on_sasl_final(struct tg_upauth *a, const uint8_t *b, size_t n)
{
	const char *s = (const char *)b, *e;
	uint8_t sig[SCRAM_KEY];
	size_t vl, i;

	for (i = 0; i < n; i++)
		if (b[i] < 0x20 || b[i] > 0x7e)
			return fail(a, -EPROTO, "SCRAM server-final-message has a byte 0x%02x",
				    b[i]);
	if (n >= 2 && memcmp(s, "e=", 2) == 0) {
		copy_printable(a->message, sizeof(a->message), s + 2, n - 2);
		return fail(a, -EACCES, "SCRAM server-error %s", a->message);
	}
	if (n < 2 || memcmp(s, "v=", 2) != 0)
		return fail(a, -EPROTO, "SCRAM server-final-message does not start with v=");
	e = memchr(s + 2, ',', n - 2);
	vl = e != NULL ? (size_t)(e - s - 2) : n - 2;
	if (b64_decode(s + 2, vl, sig, sizeof(sig)) != SCRAM_KEY)
		return fail(a, -EPROTO, "SCRAM server signature is not base64 of 32 bytes");
	if (CRYPTO_memcmp(sig, a->server_sig, SCRAM_KEY) != 0)
		return fail(a, -EBADMSG,
			    "SCRAM server signature is wrong: the server does not "
			    "know this role's verifier");
	a->st = ST_SASL_VERIFIED;
	return TG_UPAUTH_MORE;
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */

static int
on_ok(struct tg_upauth *a)
{
	switch (a->st) {
	case ST_INIT:
		/*
		 * No exchange (trust). For a SCRAM credential that means the
		 * server was never authenticated: refused (header's table).
		 */
		if (a->method == TG_UPAUTH_SCRAM)
			return fail(a, -ENOTSUP,
				    "server accepted without authentication; the "
				    "credential requires scram-sha-256");
		a->used = TG_UPAUTH_TRUST;
		break;
	case ST_PW_SENT:
	case ST_SASL_VERIFIED:
		break;
	default:
		return fail(a, -EPROTO, "AuthenticationOk before the SCRAM exchange completed");
	}
	a->st = ST_OK;
	return TG_UPAUTH_OK;
}

static int
on_auth(struct tg_upauth *a, const uint8_t *b, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	uint32_t code;

	if (n < 4)
		return fail(a, -EPROTO, "malformed Authentication message: %zu bytes", n);
	code = get_be32(b);
	b += 4;
	n -= 4;
	switch (code) {
	case AUTH_OK:
		if (n != 0)
			return fail(a, -EPROTO, "malformed AuthenticationOk");
		return on_ok(a);
	case AUTH_CLEARTEXT:
		if (n != 0 || a->st != ST_INIT)
			return fail(a, -EPROTO, "unexpected AuthenticationCleartextPassword");
		if (a->method != TG_UPAUTH_PASSWORD)
			return fail(a, -ENOTSUP,
				    "server asks for a cleartext password; the "
				    "credential allows %s",
				    tg_upauth_method_name(a->method));
		a->used = TG_UPAUTH_PASSWORD;
		return send_password(a, a->password, out, cap, out_len);
	case AUTH_MD5:
		if (n != 4 || a->st != ST_INIT)
			return fail(a, -EPROTO, "unexpected AuthenticationMD5Password");
		if (a->method != TG_UPAUTH_PASSWORD && a->method != TG_UPAUTH_MD5)
			return fail(a, -ENOTSUP, "server asks for md5; the credential allows %s",
				    tg_upauth_method_name(a->method));
		return on_md5(a, b, out, cap, out_len);
	case AUTH_SASL:
		if (a->st != ST_INIT)
			return fail(a, -EPROTO, "unexpected AuthenticationSASL");
		if (a->method == TG_UPAUTH_TRUST)
			return fail(a, -ENOTSUP, "server asks for SCRAM; the credential is trust");
		return on_sasl(a, b, n, out, cap, out_len);
	case AUTH_SASL_CONT:
		if (a->st != ST_SASL_FIRST_SENT)
			return fail(a, -EPROTO, "unexpected AuthenticationSASLContinue");
		return on_sasl_continue(a, b, n, out, cap, out_len);
	case AUTH_SASL_FINAL:
		if (a->st != ST_SASL_FINAL_SENT)
			return fail(a, -EPROTO, "unexpected AuthenticationSASLFinal");
		return on_sasl_final(a, b, n);
	case AUTH_KRB5:
	case AUTH_GSS:
	case AUTH_GSS_CONT:
	case AUTH_SSPI:
		return fail(a, -ENOTSUP, "server asks for Kerberos/GSSAPI/SSPI (code %u)", code);
	default:
		return fail(a, -EPROTO, "unknown authentication request %u", code);
	}
}

int
tg_upauth_feed(struct tg_upauth *a, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
	       size_t *out_len)
{
	uint32_t n;

	if (out_len != NULL)
		*out_len = 0;
	if (a == NULL || out_len == NULL || (msg == NULL && len > 0) || (out == NULL && cap > 0))
		return -EINVAL;
	if (a->st == ST_FAILED)
		return a->err;
	if (a->st == ST_OK)
		return -EALREADY;
	if (len < 5)
		return fail(a, -EPROTO, "short backend message: %zu bytes", len);
	n = get_be32(msg + 1);
	if (n < 4 || (size_t)n != len - 1 || len > TG_UPAUTH_MSG_MAX)
		return fail(a, -EPROTO,
			    "backend message '%c' length %u does not match the %zu "
			    "bytes given",
			    isprint(msg[0]) ? msg[0] : '?', n, len);
	switch (msg[0]) {
	case 'R':
		return on_auth(a, msg + 5, len - 5, out, cap, out_len);
	case 'E':
		return on_error(a, msg + 5, len - 5);
	case 'v':
		return on_nego(a, msg + 5, len - 5);
	case 'N':
		/* NoticeResponse may come at any time (55.2.7); it is the client's business */
		return TG_UPAUTH_MORE;
	default:
		return fail(a, -EPROTO, "unexpected backend message '%c' during authentication",
			    isprint(msg[0]) ? msg[0] : '?');
	}
}
