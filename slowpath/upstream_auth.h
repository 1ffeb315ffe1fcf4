/* SPDX-License-Identifier: MIT */
/*
 * upstream_auth.h — the client side of PostgreSQL authentication, as the
 * gateway speaks it to the server on behalf of a client whose identity it
 * has verified (DESIGN.md, "Identity (auth takeover)"). Pure: no sockets,
 * no event loop. The slowpath feeds it the server's backend messages (as
 * the dataplane punts them) and sends back the frontend bytes it returns
 * (which the dataplane injects towards the server).
 *
 * Protocol: PostgreSQL 15 docs 55.2.2 (Message Flow, Start-up), 55.3
 * (SASL), 55.7 (Message Formats). Methods: SCRAM-SHA-256 (RFC 5802 and
 * RFC 7677) without channel binding (gs2 header "n,,": the server leg is
 * cleartext TCP here, so there is no TLS channel to bind to), MD5,
 * cleartext, and trust (AuthenticationOk straight away).
 *
 * One login:
 *
 *   tg_upauth_startup(client_startup, n, role, NULL, buf, sizeof(buf), &len, err, errlen)
 *	-> send buf[0..len) to the server (the StartupMessage)
 *   a = tg_upauth_new(role, password, method)
 *   for each whole server message m (tg_upauth_msg_len() splits a stream):
 *	rc = tg_upauth_feed(a, m, mlen, out, sizeof(out), &olen)
 *	if olen > 0: send out[0..olen) to the server, then explicit_bzero(out)
 *	rc == TG_UPAUTH_MORE: wait for the next server message
 *	rc == TG_UPAUTH_OK:   AuthenticationOk was m; it and everything the
 *	                      server sends after it belong to the client
 *	rc < 0:               failed; tg_upauth_reason(a) says why, and for
 *	                      -EACCES tg_upauth_sqlstate()/tg_upauth_message()
 *	                      carry the server's ErrorResponse fields
 *   tg_upauth_free(a)
 *
 * What the server may ask for is bounded by the credential's method, so
 * that a server (or anything between it and the gateway) cannot talk the
 * gateway down into revealing the password:
 *   TG_UPAUTH_SCRAM     SCRAM-SHA-256 only, and the exchange must end with
 *                       a valid server signature before AuthenticationOk:
 *                       SCRAM authenticates the server too, and an Ok
 *                       without it is refused.
 *   TG_UPAUTH_MD5       MD5 or SCRAM-SHA-256 (or Ok straight away).
 *   TG_UPAUTH_PASSWORD  cleartext, MD5 or SCRAM-SHA-256 (or Ok).
 *   TG_UPAUTH_TRUST     Ok straight away; any password request is refused.
 *
 * Caveats:
 * - The password is used as its bytes: SASLprep (RFC 4013) is not applied.
 *   For printable ASCII the two are the same; the credential store refuses
 *   anything else for scram-sha-256 (credstore.h).
 * - Out bytes carry secrets (the cleartext password, the MD5 digest, the
 *   SCRAM proof): wipe them once sent.
 * - PBKDF2 costs the iteration count the server names, in the caller's
 *   thread (about 2 ms at PostgreSQL's default 4096). A server naming more
 *   than TG_UPAUTH_SCRAM_ITER_MAX is refused, so a hostile server cannot
 *   stall the slowpath.
 * - Not single-use-safe across threads: one handle per login, one thread.
 */
#ifndef TG_SP_UPSTREAM_AUTH_H
#define TG_SP_UPSTREAM_AUTH_H

#include <stddef.h>
#include <stdint.h>

/* NAMEDATALEN - 1: PostgreSQL truncates longer role names. */
#define TG_UPAUTH_NAME_MAX 63
/* Longest password (bytes, no NUL). PostgreSQL itself caps at 1000 for md5. */
#define TG_UPAUTH_PASSWORD_MAX 1000
/* Enough for any frontend message this module writes (PasswordMessage is largest). */
#define TG_UPAUTH_OUT_MAX 1100
/*
 * Largest backend message accepted during authentication. libpq allows
 * 30000 bytes for an ErrorResponse there; authentication requests are tiny.
 */
#define TG_UPAUTH_MSG_MAX 30000
/* PostgreSQL's MAX_STARTUP_PACKET_LENGTH. */
#define TG_UPAUTH_STARTUP_MAX 10000
/*
 * The fuzz build lowers it (-D) so that one input costs milliseconds; the
 * default bounds a hostile server to about 50 ms of PBKDF2 a login.
 */
#ifndef TG_UPAUTH_SCRAM_ITER_MAX
#define TG_UPAUTH_SCRAM_ITER_MAX 100000
#endif

enum tg_upauth_method {
	TG_UPAUTH_TRUST,
	TG_UPAUTH_PASSWORD,
	TG_UPAUTH_MD5,
	TG_UPAUTH_SCRAM,
};

/* Nonnegative returns of tg_upauth_feed(). */
enum {
	TG_UPAUTH_MORE = 0, /* send out (if any), feed the next server message */
	TG_UPAUTH_OK = 1,   /* AuthenticationOk: done */
};

struct tg_upauth;

/*
 * Builds the StartupMessage (protocol 3.0) sent upstream from the client's
 * StartupMessage client[0..client_len) (int32 length first, no type byte):
 * "user" is role; "database" is database when not NULL, else the
 * client's (absent: the server defaults it to the role's name); every
 * other parameter is passed through in the client's order, except that
 * these are refused (-EPERM), because each would let the client act as
 * another role than the mapped one or speak past the inspector:
 *   - "role" and "session_authorization" as parameters (a startup
 *     parameter that is not user, database, options or replication is a
 *     GUC setting to PostgreSQL);
 *   - "options" with anything but GUC settings ("-c name=value",
 *     "-cname=value", "--name=value", split and unescaped as PostgreSQL's
 *     pg_split_opts() does), or setting role or session_authorization;
 *   - "replication" with any value but false/off/no/0 (a walsender speaks
 *     another protocol);
 *   - any "_pq_." protocol option (none is negotiated upstream).
 * GUC names compare as PostgreSQL's do: case-insensitive, '-' as '_'.
 * Returns 0, -EPROTO (malformed client message, or not protocol 3.0),
 * -EPERM (a refused parameter), -EINVAL (bad role or database),
 * -EMSGSIZE (the result would exceed cap or TG_UPAUTH_STARTUP_MAX); err
 * says which and why.
 */
int tg_upauth_startup(const uint8_t *client, size_t client_len, const char *role,
		      const char *database, uint8_t *out, size_t cap, size_t *out_len, char *err,
		      size_t errlen);

/*
 * The length of the backend message at the start of buf[0..len) (type
 * byte + int32 length): 0 with *msg_len set when it is all there,
 * -EAGAIN when more bytes are needed, -EPROTO when the length field is
 * below 4 or the message above TG_UPAUTH_MSG_MAX.
 */
int tg_upauth_msg_len(const uint8_t *buf, size_t len, size_t *msg_len);

/*
 * A login as user (1..TG_UPAUTH_NAME_MAX bytes) with password (NUL-
 * terminated, at most TG_UPAUTH_PASSWORD_MAX bytes; NULL or "" for
 * trust), copied in. NULL with errno EINVAL or ENOMEM.
 */
struct tg_upauth *tg_upauth_new(const char *user, const char *password,
				enum tg_upauth_method method);

/*
 * Test hook: the SCRAM client nonce to use instead of 18 random bytes in
 * base64 (libpq's choice), to replay a published exchange. Printable
 * ASCII but ',', 1..64 bytes; call before the first feed. 0 or -EINVAL.
 */
int tg_upauth_set_nonce(struct tg_upauth *a, const char *nonce);

/*
 * Feeds one whole backend message msg[0..len) ('R' Authentication*, 'E'
 * ErrorResponse, 'v' NegotiateProtocolVersion, 'N' NoticeResponse is
 * skipped). Writes the frontend reply, if any, into out[0..cap) and its
 * length into *out_len (0: nothing to send). Returns TG_UPAUTH_MORE,
 * TG_UPAUTH_OK, or a final error (every later feed returns it again):
 *   -EACCES   the server sent ErrorResponse (tg_upauth_sqlstate/message)
 *   -EPROTO   a malformed or unexpected message
 *   -ENOTSUP  the server asked for a method the credential does not allow
 *             or this module does not speak (GSSAPI, SSPI, SCRAM-PLUS only)
 *   -EBADMSG  SCRAM: the server's nonce, or its signature, is wrong
 *   -ENOBUFS  cap too small (TG_UPAUTH_OUT_MAX always suffices)
 *   -ENOMEM, -EIO  OpenSSL failed
 */
int tg_upauth_feed(struct tg_upauth *a, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
		   size_t *out_len);

/* Why the login failed, one line, "" while it has not; never a secret. */
const char *tg_upauth_reason(const struct tg_upauth *a);
/* The server's ErrorResponse SQLSTATE (C) and message (M); "" if none. */
const char *tg_upauth_sqlstate(const struct tg_upauth *a);
const char *tg_upauth_message(const struct tg_upauth *a);
/* The method the server used (meaningful once TG_UPAUTH_OK). */
enum tg_upauth_method tg_upauth_used(const struct tg_upauth *a);
/* "trust", "password", "md5", "scram-sha-256". */
const char *tg_upauth_method_name(enum tg_upauth_method m);

/* Wipes the password and every key, and frees. NULL is a no-op. */
void tg_upauth_free(struct tg_upauth *a);

#endif /* TG_SP_UPSTREAM_AUTH_H */
