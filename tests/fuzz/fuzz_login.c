/* SPDX-License-Identifier: MIT */
/*
 * fuzz_login.c — libFuzzer target for the login takeover of the PostgreSQL
 * inspector (inspect.h, "Logins"): a session of a service with identity
 * "oidc", the stream editor on, driven through the reassembly engine as
 * the worker drives it, with the slowpath's answers (SEND, DONE, REFUSE,
 * END) and the deadline coming whenever the input says, in or out of
 * turn, about this session or another.
 *
 * Input. Byte 0: bit 0 sends a canned StartupMessage and PasswordMessage
 * first; bit 1 makes the login callback fail (no slowpath); bit 2 opens
 * the session on a service without identity (the login is the server's).
 * Then records: a control byte, bits 6-7 the kind (0 client bytes, 1
 * server bytes, 2 an answer of the slowpath, 3 the deadline passes), bits
 * 0-5 the length (63: a 16-bit big-endian length follows), and that many
 * bytes. Stream bytes are appended to their direction and sent at once
 * in segments of up to 1460 bytes, in order; each receiver ACKs what it
 * has. An answer's first byte is its action (value % 5, 0 an unknown
 * one), its second bit 0 names another session; the rest is its data:
 * the bytes of SEND, the role of DONE, five bytes of SQLSTATE and the
 * text of REFUSE and END.
 *
 * What it checks, besides ASan and UBSan:
 * - a login answer on an ended session is -ENOENT, on the live one it is
 *   one of the three next steps, RESET exactly when the session has
 *   failed;
 * - nothing of the client's login reaches the server before the login is
 *   over: while it is under way, the client's released mark is at most
 *   the end of its PasswordMessage (the StartupMessage and the password
 *   are consumed by the editor, never sent);
 * - the server's AuthenticationOk and what follows it stay held until
 *   DONE: the server's released mark stays at or before the first byte
 *   of a held message;
 * - a request handed to the slowpath has a StartupMessage of at most
 *   TG_INSPECT_STARTUP_MAX bytes and a token with no NUL; the token is
 *   gone from the ring once handed over;
 * - at the end, tg_inspect_end() leaves no login and no edited direction
 *   counted, and every packet is given back.
 *
 * Seeds: tests/fuzz/gen-corpus login DIR. Run: tests/fuzz/run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "pg.h"
#include "service.h"
#include "stream.h"

#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort(); \
		} \
	} while (0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define RING 8192
#define MSS 1460
#define TCP_HLEN 20
#define MAXS (1u << 16)
#define FE 0
#define BE 1

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* StartupMessage (user alice, database shop), then PasswordMessage "tok.en.sig" */
static const uint8_t canned[] = "\x00\x00\x00\x24\x00\x03\x00\x00"
				"user\0alice\0database\0shop\0\0"
				"p\x00\x00\x00\x0f" "tok.en.sig\0";

struct pkt {
	uint16_t plen;
	uint8_t buf[];		/* TCP header, then the payload */
};

static struct tg_services svcs;
static struct tg_stream_mem mem;
static struct tg_inspect in;
static struct tg_stream st[2];
static uint32_t isn1[2] = { 1000, 900000 };
static uint32_t sent[2];	/* bytes appended per direction */
static uint64_t rcv[2];		/* what each receiver has, in order */
static unsigned int live;	/* packets not given back */
static bool fail_login;
static uint64_t token_off, token_len;	/* the token in the client's stream, once handed over */
static bool token_seen;
static uint64_t pw_end;		/* the end of the client's PasswordMessage, once seen */
static uint64_t be_handed;	/* server bytes handed to the slowpath: they are contiguous from 0 */
static uint64_t held_at;	/* where the first AuthenticationOk or ErrorResponse starts */

static int
on_login(void *arg, const struct tg_inspect_login *l)
{
	(void)arg;
	if (l->type == TG_INSPECT_LOGIN_REQUEST) {
		CHECK(l->startup_len >= 8 && l->startup_len <= TG_INSPECT_STARTUP_MAX);
		CHECK(l->token_len == 0 || memchr(l->token, 0, l->token_len) == NULL);
		CHECK(l->service_name != NULL);
		token_seen = true;
		token_len = l->token_len;
	} else {
		CHECK(l->type == TG_INSPECT_LOGIN_SERVER && l->msg_len >= 5);
		if (held_at == UINT64_MAX &&
		    (l->msg[0] == 'E' || (l->msg[0] == 'R' && l->msg_len >= 9 && l->msg[5] == 0 &&
					  l->msg[6] == 0 && l->msg[7] == 0 && l->msg[8] == 0)))
			held_at = be_handed;
		be_handed += l->msg_len;
	}
	return fail_login ? -ENOTCONN : 0;
}

static void
give_back(void *p)
{
	free(p);
	live--;
}

static void
receive(int d, struct pkt *p)
{
	(void)d;
	give_back(p);
}

static void
release(int d)
{
	void *pkts[16];
	unsigned int n, i;

	do {
		n = tg_stream_release(&mem, &st[d], pkts, ARRAY_SIZE(pkts));
		for (i = 0; i < n; i++)
			receive(d, pkts[i]);
	} while (n == ARRAY_SIZE(pkts));
	rcv[d] = st[d].released;
	(void)tg_stream_ack(&mem, &st[d], isn1[d] + (uint32_t)rcv[d], RING);
}

static void
segment(int d, const uint8_t *b, uint16_t len)
{
	struct pkt *p = malloc(sizeof(*p) + TCP_HLEN + len);
	struct tg_stream_seg seg;
	enum tg_stream_verdict v;

	CHECK(p != NULL);
	live++;
	p->plen = len;
	memset(p->buf, 0, TCP_HLEN);
	memcpy(p->buf + TCP_HLEN, b, len);
	seg = (struct tg_stream_seg){
		.pkt = p,
		.payload = p->buf + TCP_HLEN,
		.csum = p->buf + 16,
		.seq = isn1[d] + sent[d],
		.len = len,
	};
	v = tg_stream_segment(&mem, &st[d], &seg, &in.consumer[d]);
	if (v == TG_STREAM_FORWARD)
		receive(d, p);
	else if (v != TG_STREAM_HOLD)
		give_back(p);
	sent[d] += len;
	release(d);
}

static void
send_bytes(int d, const uint8_t *b, size_t len)
{
	while (len > 0 && sent[d] < MAXS) {
		uint16_t n = (uint16_t)(len < MSS ? len : MSS);

		segment(d, b, n);
		b += n;
		len -= n;
	}
}

static void
after_reply(int next)
{
	int d;

	if (next == TG_INSPECT_LOGIN_RELEASE)
		for (d = 0; d < 2; d++)
			release(d);
}

static void
answer(const uint8_t *b, size_t len, uint64_t id)
{
	struct tg_inspect_login_reply r = { 0 };
	struct tg_stream *sp = NULL;
	bool was_failed = tg_inspect_failed(&in, st);
	int next;

	if (len < 2)
		return;
	r.action = b[0] % 5;
	r.session = (b[1] & 1) ? id + 1 : id;
	b += 2;
	len -= 2;
	switch (r.action) {
	case TG_INSPECT_LOGIN_SEND:
		r.data = b;
		r.len = (uint32_t)len;
		break;
	case TG_INSPECT_LOGIN_DONE:
		r.role = (const char *)b;
		r.role_len = (uint32_t)len;
		break;
	default:
		if (len < 5)
			return;
		r.sqlstate = (const char *)b;
		r.text = (const char *)b + 5;
		r.text_len = (uint32_t)(len - 5);
		break;
	}
	next = tg_inspect_login_reply(&in, &r, &sp);
	if (r.session != id) {
		CHECK(next == -ENOENT);
		return;
	}
	CHECK(next >= TG_INSPECT_LOGIN_FLUSH && next <= TG_INSPECT_LOGIN_RESET && sp == st);
	CHECK((next == TG_INSPECT_LOGIN_RESET) == tg_inspect_failed(&in, st));
	if (was_failed)
		CHECK(next == TG_INSPECT_LOGIN_RESET);
	after_reply(next);
}

static void
on_expired(void *arg, struct tg_stream s[2])
{
	(void)arg;
	CHECK(s == st);
	CHECK(tg_inspect_failed(&in, st));
}

/* The invariants of a login under way, after every step. */
static void
check_held(bool under_way)
{
	if (!under_way || tg_inspect_failed(&in, st))
		return;
	/* nothing the client sent after its password has left */
	if (pw_end != 0)
		CHECK(st[FE].released <= pw_end);
	/* nor anything of the server's from its AuthenticationOk or ErrorResponse on */
	if (held_at != UINT64_MAX)
		CHECK(st[BE].released <= held_at);
}

static int
init(void)
{
	memset(&svcs, 0, sizeof(svcs));
	snprintf(svcs.svc[0].name, sizeof(svcs.svc[0].name), "pg");
	svcs.svc[0].proto = TG_SERVICE_POSTGRES;
	svcs.svc[0].identity = TG_IDENTITY_OIDC;
	snprintf(svcs.svc[1].name, sizeof(svcs.svc[1].name), "plain");
	svcs.svc[1].proto = TG_SERVICE_POSTGRES;
	svcs.nb = 2;
	if (tg_stream_mem_init(&mem, 4, RING, 256) != 0 ||
	    tg_inspect_init(&in, &mem, NULL, 2, NULL, NULL) != 0)
		return -1;
	in.svcs = &svcs;
	in.editor = true;
	in.login = on_login;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static uint8_t buf[MAXS];
	struct tg_inspect_info info;
	size_t i = 1;
	uint64_t id;
	int d;

	if (!ready) {
		CHECK(init() == 0);
		ready = true;
	}
	if (size < 1)
		return 0;
	fail_login = data[0] & 2;
	token_seen = false;
	pw_end = 0;
	be_handed = 0;
	held_at = UINT64_MAX;
	for (d = 0; d < 2; d++) {
		tg_stream_init(&st[d], isn1[d]);
		sent[d] = 0;
		rcv[d] = 0;
		CHECK(tg_stream_ack(&mem, &st[d], isn1[d], RING) == 0);
	}
	CHECK(tg_inspect_open(&in, st, (data[0] & 4) ? 1 : 0, "198.18.0.1:5000") == 0);
	CHECK(tg_inspect_info(&in, st, 0, &info));
	id = info.id;
	if (data[0] & 1) {
		send_bytes(FE, canned, sizeof(canned) - 1);
		if (token_seen) {
			pw_end = sizeof(canned) - 1;
			token_off = pw_end - 11;
			/* the token is wiped from the ring once handed over */
			if (!tg_inspect_failed(&in, st) && st[FE].ring != TG_STREAM_NONE &&
			    tg_stream_read(&mem, &st[FE], token_off, buf, (uint32_t)token_len) == 0)
				for (uint64_t k = 0; k < token_len; k++)
					CHECK(buf[k] == 0);
		}
	}
	while (i < size && st[0].app != 0) {
		uint8_t ctl = data[i++];
		size_t len = ctl & 63;
		bool under_way = in.nb_login != 0;

		if (len == 63) {
			if (i + 2 > size)
				break;
			len = (size_t)data[i] << 8 | data[i + 1];
			i += 2;
		}
		if (len > size - i)
			len = size - i;
		switch (ctl >> 6) {
		case 0:
			send_bytes(FE, data + i, len);
			break;
		case 1:
			send_bytes(BE, data + i, len);
			break;
		case 2:
			answer(data + i, len, id);
			break;
		default:
			(void)tg_inspect_login_expire(&in, UINT64_MAX, on_expired, NULL);
			break;
		}
		i += len;
		check_held(under_way && in.nb_login != 0);
		if (tg_inspect_failed(&in, st))
			break;	/* the worker resets it now */
	}
	tg_inspect_end(&in, st, TG_INSPECT_END_FAILED);
	CHECK(in.nb_login == 0);
	CHECK(in.nb_editing == 0);
	for (d = 0; d < 2; d++) {
		void *pkts[16];
		unsigned int n, k;

		do {
			n = tg_stream_drop_all(&mem, &st[d], pkts, ARRAY_SIZE(pkts));
			for (k = 0; k < n; k++)
				give_back(pkts[k]);
		} while (n == ARRAY_SIZE(pkts));
	}
	CHECK(live == 0);
	return 0;
}
