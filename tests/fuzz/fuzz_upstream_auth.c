/* SPDX-License-Identifier: MIT */
/*
 * fuzz_upstream_auth.c — libFuzzer target for the gateway's client side
 * of PostgreSQL authentication (slowpath/upstream_auth.c): backend
 * messages fed to the state machine, and client StartupMessages fed to
 * tg_upauth_startup().
 *
 * Input: byte 0 picks the mode and the credential.
 *   bit 7 set: the rest is a client StartupMessage (as the dataplane would
 *     punt it) for tg_upauth_startup().
 *   else: bits 0-1 the credential's method (trust, password, md5, scram),
 *     bit 2 the RFC 7677 client nonce (so that seeds from that exchange go
 *     deep) instead of a random one, bit 3 a small reply buffer (the
 *     -ENOBUFS paths). The rest is a stream of backend messages, split as
 *     the slowpath splits them (tg_upauth_msg_len()); a tail that is not a
 *     whole message is fed as it is.
 *
 * Beyond memory errors and UB, the target aborts when:
 * - a feed returns anything but TG_UPAUTH_MORE, TG_UPAUTH_OK or one of the
 *   errors upstream_auth.h lists, or a failure comes without a reason;
 * - a reply is written with a final result, or is longer than the buffer,
 *   or is not one frontend 'p' message whose length field matches;
 * - after a failure a feed returns another result, or after OK anything
 *   but -EALREADY (results are final);
 * - a StartupMessage is accepted and the output is not protocol 3.0 with
 *   user = the role first, a matching length, and no role or
 *   session_authorization parameter, or _pq_. option.
 *
 * Seeds: tests/fuzz/gen-corpus upstream_auth_seeds(). Run: tests/fuzz/run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "upstream_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

#define ROLE "app_reader"

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool
known_result(int rc)
{
	switch (rc) {
	case TG_UPAUTH_MORE:
	case TG_UPAUTH_OK:
	case -EACCES:
	case -EPROTO:
	case -ENOTSUP:
	case -EBADMSG:
	case -ENOBUFS:
	case -ENOMEM:
	case -EIO:
		return true;
	default:
		return false;
	}
}

static void
check_startup(const uint8_t *in, size_t n)
{
	uint8_t out[TG_UPAUTH_STARTUP_MAX];
	char err[256];
	size_t olen = 0, p;
	int rc;

	err[0] = '\0';
	rc = tg_upauth_startup(in, n, ROLE, NULL, out, sizeof(out), &olen, err, sizeof(err));
	if (rc < 0) {
		CHECK(rc == -EPROTO || rc == -EPERM || rc == -EINVAL || rc == -EMSGSIZE);
		CHECK(err[0] != '\0');
		CHECK(olen == 0);
		return;
	}
	CHECK(olen >= 8 + 5 + sizeof(ROLE) + 1 && olen <= TG_UPAUTH_STARTUP_MAX);
	CHECK(be32(out) == olen);
	CHECK(be32(out + 4) == 196608);
	CHECK(memcmp(out + 8, "user\0" ROLE, 5 + sizeof(ROLE)) == 0);
	CHECK(out[olen - 1] == '\0');
	for (p = 8; out[p] != '\0';) {
		const char *name = (const char *)out + p;
		size_t nl = strnlen(name, olen - p), vl;

		CHECK(nl < olen - p);
		vl = strnlen(name + nl + 1, olen - p - nl - 1);
		CHECK(nl + 1 + vl < olen - p);
		CHECK(strcasecmp(name, "role") != 0);
		CHECK(strcasecmp(name, "session_authorization") != 0);
		CHECK(strncmp(name, "_pq_.", 5) != 0);
		/* the client's user never reaches the server: only ours, first */
		CHECK(p == 8 || strcmp(name, "user") != 0);
		p += nl + 1 + vl + 1;
	}
	CHECK(p == olen - 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum tg_upauth_method m;
	uint8_t out[TG_UPAUTH_OUT_MAX];
	struct tg_upauth *a;
	size_t cap, off = 1;
	int final = TG_UPAUTH_MORE; /* no final result yet */

	if (size < 1)
		return 0;
	if (data[0] & 0x80) {
		uint8_t *copy = malloc(size - 1 ? size - 1 : 1);

		CHECK(copy != NULL);
		memcpy(copy, data + 1, size - 1);
		check_startup(copy, size - 1);
		free(copy);
		return 0;
	}
	m = (enum tg_upauth_method)(data[0] & 3);
	cap = data[0] & 8 ? 16 : sizeof(out);
	a = tg_upauth_new(ROLE, m == TG_UPAUTH_TRUST ? NULL : "pencil", m);
	CHECK(a != NULL);
	if (data[0] & 4)
		CHECK(tg_upauth_set_nonce(a, "rOprNGfwEbeRWgbNEkqO") == 0);

	while (off < size) {
		size_t n, olen = 99;
		uint8_t *msg;
		int rc;

		if (tg_upauth_msg_len(data + off, size - off, &n) < 0)
			n = size - off;
		/* an exact-size copy: a read past the message is caught */
		msg = malloc(n);
		CHECK(msg != NULL);
		memcpy(msg, data + off, n);
		rc = tg_upauth_feed(a, msg, n, out, cap, &olen);
		free(msg);
		off += n;

		if (final == TG_UPAUTH_OK) {
			CHECK(rc == -EALREADY && olen == 0);
			continue;
		}
		if (final < 0) {
			CHECK(rc == final && olen == 0);
			continue;
		}
		CHECK(known_result(rc));
		CHECK(olen <= cap);
		if (rc < 0)
			CHECK(tg_upauth_reason(a)[0] != '\0');
		if (rc != TG_UPAUTH_MORE)
			CHECK(olen == 0);
		if (olen > 0) {
			CHECK(olen >= 5 && out[0] == 'p' && be32(out + 1) == olen - 1);
			explicit_bzero(out, olen);
		}
		if (rc == -EACCES)
			CHECK(strlen(tg_upauth_sqlstate(a)) <= 5);
		if (rc != TG_UPAUTH_MORE)
			final = rc;
	}
	tg_upauth_free(a);
	return 0;
}
