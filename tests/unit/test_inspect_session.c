/* SPDX-License-Identifier: MIT */
/*
 * test_inspect_session.c — unit tests of the inspector's session events
 * (inspect.h: session_event, tg_inspect_open_peer(), tg_inspect_end()),
 * which the worker hands to the control channel as SESSION_START and
 * SESSION_END.
 *
 * Bytes are given to the inspector's stream consumers directly, as the
 * reassembly engine would give them in order; the messages come from
 * pgmsg.h. Statement and session events go to one log, so their order is
 * checked too:
 * - the start is reported when the StartupMessage names the user, with
 *   the client, the server and the time the session opened;
 * - a session that ends before any StartupMessage still reports a start
 *   (empty user), just before its end;
 * - statements come between the start and the end, an unfinished one
 *   before the end;
 * - the end carries its reason and is reported once;
 * - without a session_event hook nothing but statements is reported.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inspect.h"
#include "pgmsg.h"
#include "stream.h"

#define RING (64u << 10)
#define LOG_MAX 16

struct rec {
	uint8_t type;
	uint8_t end_reason;
	uint8_t result;
	uint64_t session;
	uint64_t t_start, t_end;
	char client[48], server[48], user[64], database[64], application[64];
	char text[64];
};

struct h {
	struct tg_stream_mem mem;
	struct tg_inspect in;
	struct tg_stream st[2];
	uint64_t off[2];
	struct rec log[LOG_MAX];
	unsigned int n;
};

static void
on_event(void *arg, const struct tg_inspect_event *e)
{
	struct h *h = arg;
	struct rec *r;

	assert_true(h->n < LOG_MAX);
	r = &h->log[h->n++];
	memset(r, 0, sizeof(*r));
	r->type = e->type;
	r->end_reason = e->end_reason;
	r->result = e->result;
	r->session = e->session;
	r->t_start = e->t_start_ns;
	r->t_end = e->t_end_ns;
	snprintf(r->client, sizeof(r->client), "%s", e->client);
	snprintf(r->user, sizeof(r->user), "%s", e->user);
	snprintf(r->database, sizeof(r->database), "%s", e->database);
	snprintf(r->application, sizeof(r->application), "%s", e->application);
	if (e->type != TG_INSPECT_EV_STATEMENT)
		snprintf(r->server, sizeof(r->server), "%s", e->server);
	else
		snprintf(r->text, sizeof(r->text), "%.*s", (int)e->text_len, e->text);
}

static struct h *
h_new(bool hook)
{
	struct h *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	assert_int_equal(tg_stream_mem_init(&h->mem, 4, RING, 64), 0);
	assert_int_equal(tg_inspect_init(&h->in, &h->mem, NULL, 2, on_event, h), 0);
	if (hook)
		h->in.session_event = on_event;
	return h;
}

static void
h_open(struct h *h)
{
	h->st[0].app = h->st[1].app = 0;
	tg_stream_init(&h->st[0], 1000);
	tg_stream_init(&h->st[1], 5000);
	h->off[0] = h->off[1] = 0;
	assert_int_equal(tg_inspect_open_peer(&h->in, h->st, 0, "198.18.0.1:40000",
					      "198.18.0.2:5432"), 0);
}

/* Gives the bytes of m to direction dir's consumer, as the next in-order bytes. */
static void
feed(struct h *h, int dir, struct mb *m)
{
	const struct tg_stream_consumer *c = &h->in.consumer[dir];

	c->data(c->ctx, &h->st[dir], m->b, h->off[dir], (uint32_t)m->n);
	h->off[dir] += m->n;
	m->n = 0;
}

static void
h_free(struct h *h)
{
	tg_inspect_fini(&h->in);
	tg_stream_mem_free(&h->mem);
	free(h);
}

static struct mb m;

/* Startup, authentication ok, ready: the session is open for statements. */
static void
login(struct h *h)
{
	q_startup(&m, "demo", "shop", "psql");
	feed(h, 0, &m);
	r_auth(&m, 0, NULL, 0);
	r_ready(&m, 'I');
	feed(h, 1, &m);
}

static void
test_start_at_startup(void **state)
{
	struct h *h = h_new(true);

	(void)state;
	h_open(h);
	assert_int_equal(h->n, 0);
	login(h);
	assert_int_equal(h->n, 1);
	assert_int_equal(h->log[0].type, TG_INSPECT_EV_SESSION_START);
	assert_string_equal(h->log[0].client, "198.18.0.1:40000");
	assert_string_equal(h->log[0].server, "198.18.0.2:5432");
	assert_string_equal(h->log[0].user, "demo");
	assert_string_equal(h->log[0].database, "shop");
	assert_string_equal(h->log[0].application, "psql");
	assert_true(h->log[0].t_start > 0);
	assert_int_equal(h->log[0].t_end, 0);

	/* a statement answered, one left unfinished, then the end */
	q_query(&m, "select 1");
	feed(h, 0, &m);
	r_complete(&m, "SELECT 1");
	r_ready(&m, 'I');
	feed(h, 1, &m);
	q_query(&m, "select 2");
	feed(h, 0, &m);
	tg_inspect_end(&h->in, h->st, TG_INSPECT_END_RESET);
	assert_int_equal(h->n, 4);
	assert_int_equal(h->log[1].type, TG_INSPECT_EV_STATEMENT);
	assert_string_equal(h->log[1].text, "select 1");
	assert_int_equal(h->log[1].result, TG_INSPECT_OK);
	assert_int_equal(h->log[2].type, TG_INSPECT_EV_STATEMENT);
	assert_string_equal(h->log[2].text, "select 2");
	assert_int_equal(h->log[2].result, TG_INSPECT_UNFINISHED);
	assert_int_equal(h->log[3].type, TG_INSPECT_EV_SESSION_END);
	assert_int_equal(h->log[3].end_reason, TG_INSPECT_END_RESET);
	assert_int_equal(h->log[3].session, h->log[0].session);
	assert_int_equal(h->log[3].t_start, h->log[0].t_start);
	assert_true(h->log[3].t_end >= h->log[3].t_start);
	assert_string_equal(h->log[3].client, "198.18.0.1:40000");

	/* ended once: a second end (the flow retired later) says nothing */
	tg_inspect_end(&h->in, h->st, TG_INSPECT_END_EXPIRED);
	tg_inspect_close(&h->in, h->st);
	assert_int_equal(h->n, 4);
	h_free(h);
}

/* No StartupMessage (a probe, a CancelRequest): start and end, together, at the end. */
static void
test_start_deferred_to_end(void **state)
{
	struct h *h = h_new(true);

	(void)state;
	h_open(h);
	/* CancelRequest: Int32 16, Int32 80877102, Int32 pid, Int32 key */
	put32(&m, 16);
	put32(&m, 80877102);
	put32(&m, 1234);
	put32(&m, 5678);
	feed(h, 0, &m);
	assert_int_equal(h->n, 0);
	tg_inspect_end(&h->in, h->st, TG_INSPECT_END_CLOSED);
	assert_int_equal(h->n, 2);
	assert_int_equal(h->log[0].type, TG_INSPECT_EV_SESSION_START);
	assert_string_equal(h->log[0].user, "");
	assert_string_equal(h->log[0].server, "198.18.0.2:5432");
	assert_int_equal(h->log[1].type, TG_INSPECT_EV_SESSION_END);
	assert_int_equal(h->log[1].end_reason, TG_INSPECT_END_CLOSED);
	assert_int_equal(h->log[1].session, h->log[0].session);
	h_free(h);
}

/* Sessions are told apart; tg_inspect_open() names no server. */
static void
test_two_sessions(void **state)
{
	struct h *h = h_new(true);
	struct tg_stream other[2];

	(void)state;
	h_open(h);
	other[0].app = other[1].app = 0;
	tg_stream_init(&other[0], 1);
	tg_stream_init(&other[1], 1);
	assert_int_equal(tg_inspect_open(&h->in, other, 0, "198.18.0.1:40001"), 0);
	tg_inspect_end(&h->in, other, TG_INSPECT_END_SHUTDOWN);
	tg_inspect_end(&h->in, h->st, TG_INSPECT_END_FAILED);
	assert_int_equal(h->n, 4);
	assert_string_equal(h->log[0].server, "");
	assert_string_equal(h->log[0].client, "198.18.0.1:40001");
	assert_int_equal(h->log[1].end_reason, TG_INSPECT_END_SHUTDOWN);
	assert_int_equal(h->log[3].end_reason, TG_INSPECT_END_FAILED);
	assert_true(h->log[0].session != h->log[2].session);
	h_free(h);
}

/* Without the hook: statements only, as before. */
static void
test_no_hook(void **state)
{
	struct h *h = h_new(false);

	(void)state;
	h_open(h);
	login(h);
	q_query(&m, "select 1");
	feed(h, 0, &m);
	tg_inspect_close(&h->in, h->st);
	assert_int_equal(h->n, 1);
	assert_int_equal(h->log[0].type, TG_INSPECT_EV_STATEMENT);
	assert_int_equal(h->log[0].result, TG_INSPECT_UNFINISHED);
	h_free(h);
}

#define TEST(f) cmocka_unit_test(test_##f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(start_at_startup),
		TEST(start_deferred_to_end),
		TEST(two_sessions),
		TEST(no_hook),
	};

	return cmocka_run_group_tests_name("inspect_session", tests, NULL, NULL);
}
