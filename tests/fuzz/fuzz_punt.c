/* SPDX-License-Identifier: MIT */
/*
 * fuzz_punt.c — libFuzzer target for the control channel decoders
 * (punt.c): tg_punt_decode() with its iterators, tg_punt_policy_decode(),
 * the policy chunk reassembly and the handshake answer and check.
 *
 * Input: one datagram, as the receiver gets it. The same bytes are also
 * decoded as a policy object. libFuzzer hands over a heap copy of exactly
 * the input's size, so ASan reports the first byte read past it.
 *
 * Beyond memory errors, UB and leaks, the target aborts when:
 * - a refusal is not one of TG_PUNT_ERRORS;
 * - a decoded message breaks the contract of punt.h: a string outside the
 *   datagram, over its cap or holding a NUL; an iterator that yields
 *   another number of entries than its count, or an event whose numbers
 *   do not follow first_seq; a code out of its range; a statement (either
 *   kind) numbered 0, a LOST with nothing lost or with a service or a
 *   session, a field set that its event type does not carry, a flow
 *   event without its grant or a refusal with a session; SERVICES with
 *   no name, too many, an empty or a repeated one (TCP_SERVICES: none is
 *   fine); TCP_GRANTS with services not ascending, a grant of no
 *   service, not ascending, of another family or with host bits set;
 * - the round trip fails: a decoded message re-encoded from its values
 *   must encode, decode again to the same values, and (the encoding being
 *   canonical) be the very bytes of the input; the same for a policy
 *   object, with or without its databases (TLV 2);
 * - the dataplane's table built from a decoded TCP_GRANTS (tcpgrants.c,
 *   compiled in too) disagrees with the message: a listed tcp service
 *   not required, a grant not found for its own address before its
 *   expiry, or one found after it;
 * - the handshake answer to a decoded HELLO does not encode and decode,
 *   or the check of a decoded HELLO_ACK returns another reason than those
 *   documented.
 *
 * punt.c is compiled into this executable with the fuzzer's coverage
 * instrumentation (tests/fuzz/meson.build).
 *
 * Seeds: tests/fuzz/gen-corpus punt DIR. Run: tests/fuzz/run.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "punt.h"
#include "service.h"
#include "tcpgrants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort(); \
		} \
	} while (0)

static const uint8_t *in_base;
static size_t in_size;

/* A decoded string: inside the input, under its cap, no NUL. */
static void
check_str(struct tg_punt_str s, uint32_t cap)
{
	CHECK(s.len <= cap);
	if (s.len == 0)
		return;
	CHECK((const uint8_t *)s.p >= in_base && (const uint8_t *)s.p + s.len <= in_base + in_size);
	CHECK(memchr(s.p, 0, s.len) == NULL);
}

static bool
same_str(struct tg_punt_str a, struct tg_punt_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static bool
same_bytes(struct tg_punt_bytes a, struct tg_punt_bytes b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static void
check_bytes(struct tg_punt_bytes b, uint32_t cap)
{
	CHECK(b.len <= cap);
	if (b.len != 0)
		CHECK(b.p >= in_base && b.p + b.len <= in_base + in_size);
}

static bool
same_event(const struct tg_punt_event *a, const struct tg_punt_event *b)
{
	int k;

	for (k = 0; k < TG_PUNT_DETECT_MAX; k++)
		if (a->masked[k] != b->masked[k])
			return false;
	return a->seq == b->seq && a->type == b->type && a->worker == b->worker &&
	       a->service == b->service && a->session == b->session &&
	       a->t_start_ns == b->t_start_ns && a->t_end_ns == b->t_end_ns &&
	       same_str(a->service_name, b->service_name) && same_str(a->client, b->client) &&
	       same_str(a->server, b->server) && same_str(a->user, b->user) &&
	       same_str(a->database, b->database) && same_str(a->application, b->application) &&
	       a->kind == b->kind && a->verdict == b->verdict && a->result == b->result &&
	       a->text_cut == b->text_cut && a->masked_columns == b->masked_columns &&
	       a->rows == b->rows && same_str(a->rule, b->rule) &&
	       same_str(a->sqlstate, b->sqlstate) && same_str(a->text, b->text) &&
	       same_str(a->params, b->params) && a->end_reason == b->end_reason &&
	       a->stmt == b->stmt && a->lost == b->lost && a->strict == b->strict &&
	       a->grant == b->grant && a->bytes_up == b->bytes_up &&
	       a->bytes_down == b->bytes_down && a->pkts_up == b->pkts_up &&
	       a->pkts_down == b->pkts_down && a->refusal == b->refusal && a->piece == b->piece &&
	       a->rec_len == b->rec_len &&
	       (a->rec_len == 0 || memcmp(a->rec, b->rec, a->rec_len) == 0);
}

static void
check_event(const struct tg_punt_event *ev)
{
	int k;

	CHECK(TG_PUNT_EV_VALID(ev->type));
	CHECK(ev->type == TG_PUNT_EV_RECORD
		      ? ev->rec != NULL && ev->rec_len >= 1 && ev->rec_len <= TG_PUNT_RECORD_MAX
		      : ev->rec == NULL && ev->rec_len == 0 && ev->piece == 0);
	check_str(ev->service_name, TG_PUNT_NAME_MAX);
	check_str(ev->client, TG_PUNT_NAME_MAX);
	check_str(ev->server, TG_PUNT_NAME_MAX);
	check_str(ev->user, TG_PUNT_NAME_MAX);
	check_str(ev->database, TG_PUNT_NAME_MAX);
	check_str(ev->application, TG_PUNT_NAME_MAX);
	check_str(ev->rule, TG_PUNT_NAME_MAX);
	check_str(ev->sqlstate, TG_PUNT_SQLSTATE_MAX);
	check_str(ev->text, TG_PUNT_TEXT_MAX);
	check_str(ev->params, TG_PUNT_PARAMS_MAX);
	CHECK(ev->kind < TG_PUNT_STMT_MAX && ev->verdict < TG_PUNT_VERDICT_MAX &&
	      ev->result < TG_PUNT_RESULT_MAX);
	CHECK(ev->masked[0] == 0);
	if (ev->type != TG_PUNT_EV_STATEMENT) {
		CHECK(ev->rows == 0 && ev->result == 0 && ev->sqlstate.len == 0 &&
		      ev->masked_columns == 0);
		for (k = 1; k < TG_PUNT_DETECT_MAX; k++)
			CHECK(ev->masked[k] == 0);
	}
	if (!TG_PUNT_EV_HAS_TEXT(ev->type))
		CHECK(!ev->text_cut && ev->text.len == 0 && ev->params.len == 0 &&
		      ev->rule.len == 0 && ev->kind == 0 && ev->verdict == 0);
	/* statements of both kinds are numbered; nothing else is */
	CHECK(TG_PUNT_EV_HAS_TEXT(ev->type) ? ev->stmt != 0 : ev->stmt == 0);
	if (ev->type == TG_PUNT_EV_STATEMENT_BEGIN)
		CHECK(ev->t_end_ns == 0 && ev->server.len == 0);
	else
		CHECK(!ev->strict);
	if (ev->type == TG_PUNT_EV_LOST) {
		CHECK(ev->lost != 0 && ev->service == 0 && ev->session == 0 &&
		      ev->t_start_ns == 0 && ev->service_name.len == 0 && ev->client.len == 0 &&
		      ev->user.len == 0);
	} else {
		CHECK(ev->lost == 0);
	}
	if (ev->type == TG_PUNT_EV_SESSION_END || ev->type == TG_PUNT_EV_FLOW_END)
		CHECK(ev->end_reason >= TG_PUNT_END_CLOSED && ev->end_reason < TG_PUNT_END_MAX);
	else
		CHECK(ev->end_reason == 0);
	/* flows: a grant on start and end, a refusal (and no session) on refused */
	if (ev->type == TG_PUNT_EV_FLOW_START || ev->type == TG_PUNT_EV_FLOW_END)
		CHECK(ev->grant != 0);
	else
		CHECK(ev->grant == 0);
	if (ev->type != TG_PUNT_EV_FLOW_END)
		CHECK(ev->bytes_up == 0 && ev->bytes_down == 0 && ev->pkts_up == 0 &&
		      ev->pkts_down == 0);
	if (ev->type == TG_PUNT_EV_FLOW_REFUSED)
		CHECK(ev->session == 0 && ev->refusal >= TG_PUNT_REFUSAL_NO_GRANT &&
		      ev->refusal < TG_PUNT_REFUSAL_MAX);
	else
		CHECK(ev->refusal == 0);
}

/* Byte order of two strings, the shorter first on a common prefix. */
static int
str_order(struct tg_punt_str a, struct tg_punt_str b)
{
	int c = memcmp(a.p, b.p, a.len < b.len ? a.len : b.len);

	return c != 0 ? c : a.len < b.len ? -1 : a.len > b.len;
}

/* A TCP_GRANTS: services ascending, each grant of one of them, ascending, a clean prefix. */
static void
check_tcp_grants(const struct tg_punt_tcp_grants *t)
{
	struct tg_punt_tcp_grant g, prev = { 0 };
	struct tg_punt_iter it = t->entries;
	unsigned int i, bits;
	uint32_t n = 0;

	CHECK(t->gen != 0 && t->nsvc <= TG_PUNT_SERVICES_MAX && t->count <= TG_PUNT_TCP_GRANTS_MAX);
	for (i = 0; i < t->nsvc; i++) {
		check_str(t->svc[i].name, TG_PUNT_NAME_MAX);
		CHECK(t->svc[i].name.len >= 1 && (t->svc[i].flags & ~TG_PUNT_TCPG_F_END) == 0);
		CHECK(i == 0 || str_order(t->svc[i - 1].name, t->svc[i].name) < 0);
	}
	while (tg_punt_tcp_grant_next(&it, &g)) {
		CHECK(g.id != 0 && g.svc < t->nsvc && (g.family == 4 || g.family == 6));
		bits = g.family == 4 ? 32 : 128;
		CHECK(g.prefix <= bits);
		for (i = g.prefix; i < bits; i++)
			CHECK((g.addr[i / 8] & (0x80 >> (i % 8))) == 0);
		CHECK(n == 0 || g.svc > prev.svc || (g.svc == prev.svc && g.id > prev.id));
		prev = g;
		n++;
	}
	CHECK(n == t->count);
}

/*
 * The table a dataplane builds from t, for services named "s0".."s63"
 * (tcp) and "pg" (postgres): every grant of a tcp service admits its own
 * address until its expiry and not from it on.
 */
static void
check_tcp_table(const struct tg_punt_tcp_grants *t)
{
	static struct tg_services svcs;
	struct tg_punt_tcp_grant g;
	struct tg_punt_iter it = t->entries;
	struct tg_tcp_grants *tab;
	uint64_t id;
	int s;

	if (svcs.nb == 0) {
		for (unsigned int i = 0; i < TG_MAX_SERVICES - 1; i++) {
			snprintf(svcs.svc[i].name, sizeof(svcs.svc[i].name), "s%u", i);
			svcs.svc[i].proto = TG_SERVICE_TCP;
		}
		snprintf(svcs.svc[TG_MAX_SERVICES - 1].name, TG_SERVICE_NAME_MAX, "pg");
		svcs.svc[TG_MAX_SERVICES - 1].proto = TG_SERVICE_POSTGRES;
		svcs.nb = TG_MAX_SERVICES;
	}
	tab = tg_tcp_grants_build(t, &svcs, NULL);
	CHECK(tab != NULL && tab->gen == t->gen && tab->nb <= t->count);
	while (tg_punt_tcp_grant_next(&it, &g)) {
		s = -1;
		for (unsigned int i = 0; i < svcs.nb; i++)
			if (strlen(svcs.svc[i].name) == t->svc[g.svc].name.len &&
			    memcmp(svcs.svc[i].name, t->svc[g.svc].name.p,
				   t->svc[g.svc].name.len) == 0)
				s = svcs.svc[i].proto == TG_SERVICE_TCP ? (int)i : -1;
		if (s < 0 || g.expires == 0 || g.expires > INT64_MAX)
			continue;
		CHECK(tab->svc[s].required);
		CHECK(tg_tcp_grants_check(tab, (uint16_t)s, g.family, g.addr,
					  (int64_t)g.expires - 1, &id) == TG_TCPG_ADMIT);
		CHECK(tg_tcp_grants_holds(tab, (uint16_t)s, g.id, (int64_t)g.expires - 1));
		CHECK(!tg_tcp_grants_holds(tab, (uint16_t)s, g.id, (int64_t)g.expires));
	}
	tg_tcp_grants_free(tab);
}

/* TCP_GRANTS re-encoded from its decoded values (list built from the iterator). */
static int
reencode_tcp_grants(const struct tg_punt_tcp_grants *t, uint8_t *out, size_t size, uint64_t seq)
{
	static struct tg_punt_tcp_grant list[TG_PUNT_TCP_GRANTS_MAX];
	struct tg_punt_tcp_grants copy = *t;
	struct tg_punt_iter it = t->entries;
	unsigned int n = 0;

	while (n < TG_PUNT_TCP_GRANTS_MAX && tg_punt_tcp_grant_next(&it, &list[n]))
		n++;
	copy.list = list;
	return tg_punt_encode_tcp_grants(out, size, seq, &copy);
}

/* A decoded message and every entry of it. */
static void
check_msg(const struct tg_punt_msg *m)
{
	struct tg_punt_iter it;
	struct tg_punt_event ev;
	struct tg_punt_str name;
	uint64_t value;
	uint32_t n = 0;

	CHECK(m->hdr.length == in_size && m->hdr.seq != 0 && m->hdr.flags == 0);
	CHECK(tg_punt_type_sender(m->hdr.type) != 0);
	switch (m->hdr.type) {
	case TG_PUNT_T_HELLO:
		CHECK(m->u.hello.vmin >= 1 && m->u.hello.vmin <= m->u.hello.vmax);
		check_str(m->u.hello.software, TG_PUNT_NAME_MAX);
		break;
	case TG_PUNT_T_HELLO_ACK:
		check_str(m->u.hello_ack.software, TG_PUNT_NAME_MAX);
		check_str(m->u.hello_ack.reason, TG_PUNT_REASON_MAX);
		break;
	case TG_PUNT_T_EVENT_BATCH:
		CHECK(m->u.batch.count >= 1 && m->u.batch.count <= TG_PUNT_BATCH_MAX);
		it = m->u.batch.events;
		while (tg_punt_batch_next(&it, &ev)) {
			check_event(&ev);
			CHECK(ev.seq == m->u.batch.first_seq + n);
			n++;
		}
		CHECK(n == m->u.batch.count);
		break;
	case TG_PUNT_T_POLICY_GEN:
		CHECK(m->u.policy.data >= in_base &&
		      m->u.policy.data + m->u.policy.len == in_base + in_size);
		CHECK(m->u.policy.offset + (uint64_t)m->u.policy.len <= m->u.policy.total);
		break;
	case TG_PUNT_T_POLICY_ACK:
		check_str(m->u.policy_ack.reason, TG_PUNT_REASON_MAX);
		break;
	case TG_PUNT_T_STATS_RESPONSE:
		it = m->u.stats.pairs;
		while (tg_punt_stats_next(&it, &name, &value)) {
			check_str(name, TG_PUNT_NAME_MAX);
			CHECK(name.len >= 1);
			n++;
		}
		CHECK(n == m->u.stats.count);
		break;
	case TG_PUNT_T_SESSIONS_REQUEST:
		CHECK(m->u.sreq.limit >= 1 && m->u.sreq.limit <= TG_PUNT_SESS_LIMIT_MAX);
		check_str(m->u.sreq.service, TG_PUNT_NAME_MAX);
		break;
	case TG_PUNT_T_SESSIONS_RESPONSE: {
		struct tg_punt_sess se;

		it = m->u.sresp.entries;
		while (tg_punt_sess_next(&it, &se)) {
			check_str(se.service, TG_PUNT_NAME_MAX);
			check_str(se.client, TG_PUNT_NAME_MAX);
			check_str(se.user, TG_PUNT_NAME_MAX);
			CHECK(se.tcp_state < TG_PUNT_TCP_MAX && (se.pg || se.session == 0));
			n++;
		}
		CHECK(n == m->u.sresp.count);
		CHECK(m->u.sresp.status == TG_PUNT_SESS_OK || n == 0);
		break;
	}
	case TG_PUNT_T_AUTH_REQUEST:
	case TG_PUNT_T_AUTH_SERVER:
	case TG_PUNT_T_AUTH_REPLY: {
		const struct tg_punt_auth *a = &m->u.auth;

		CHECK(a->session != 0);
		check_str(a->service, TG_PUNT_NAME_MAX);
		check_str(a->client, TG_PUNT_NAME_MAX);
		check_str(a->server, TG_PUNT_NAME_MAX);
		check_str(a->sqlstate, TG_PUNT_SQLSTATE_MAX);
		check_str(a->text, TG_PUNT_REASON_MAX);
		check_str(a->role, TG_PUNT_NAME_MAX);
		check_bytes(a->startup, TG_PUNT_AUTH_STARTUP_MAX);
		check_bytes(a->token, TG_PUNT_AUTH_TOKEN_MAX);
		check_bytes(a->data, TG_PUNT_AUTH_MSG_MAX);
		if (m->hdr.type == TG_PUNT_T_AUTH_REQUEST)
			CHECK(a->service.len != 0 && a->startup.len >= 8 && a->data.len == 0);
		else if (m->hdr.type == TG_PUNT_T_AUTH_SERVER)
			CHECK(a->data.len >= 5 && a->startup.len == 0 && a->token.len == 0);
		else
			CHECK(a->action >= TG_PUNT_AUTH_SEND && a->action < TG_PUNT_AUTH_ACTION_MAX &&
			      (a->action == TG_PUNT_AUTH_SEND) == (a->data.len != 0) &&
			      a->data.len <= TG_PUNT_AUTH_SEND_MAX);
		break;
	}
	case TG_PUNT_T_HOLD_REQUEST:
	case TG_PUNT_T_HOLD_REPLY: {
		const struct tg_punt_hold *h = &m->u.hold;

		CHECK(h->session != 0 && h->hold != 0);
		check_str(h->service, TG_PUNT_NAME_MAX);
		check_str(h->rule, TG_PUNT_NAME_MAX);
		check_str(h->text, TG_PUNT_TEXT_MAX);
		check_str(h->params, TG_PUNT_PARAMS_MAX);
		check_str(h->id, TG_PUNT_HOLD_ID_MAX);
		check_str(h->reason, TG_PUNT_REASON_MAX);
		if (m->hdr.type == TG_PUNT_T_HOLD_REPLY)
			CHECK(h->op == 0 && h->id.len != 0 &&
			      (h->decision == TG_PUNT_HOLD_APPROVE ||
			       (h->decision == TG_PUNT_HOLD_DENY && h->sqlstate.len == 5)));
		else
			CHECK(h->op == TG_PUNT_HOLD_ASK
				      ? h->quorum >= 1 && h->quorum <= TG_PUNT_HOLD_QUORUM_MAX &&
						h->service.len != 0 && h->rule.len != 0
				      : h->op == TG_PUNT_HOLD_CANCEL && h->reason.len != 0);
		break;
	}
	case TG_PUNT_T_AUDIT_STATE:
		/* a state in range; a reason of printable ASCII, present when full */
		CHECK(m->u.audit.state < TG_PUNT_AUDIT_STATE_MAX);
		check_str(m->u.audit.reason, TG_PUNT_REASON_MAX);
		CHECK(m->u.audit.state != TG_PUNT_AUDIT_FULL || m->u.audit.reason.len != 0);
		for (uint32_t i = 0; i < m->u.audit.reason.len; i++)
			CHECK((uint8_t)m->u.audit.reason.p[i] >= 0x20 &&
			      (uint8_t)m->u.audit.reason.p[i] < 0x7f);
		break;
	case TG_PUNT_T_TCP_GRANTS:
		check_tcp_grants(&m->u.tcpg);
		check_tcp_table(&m->u.tcpg);
		break;
	case TG_PUNT_T_SERVICES:
	case TG_PUNT_T_TCP_SERVICES:
		CHECK(m->u.services.count >= (m->hdr.type == TG_PUNT_T_SERVICES ? 1 : 0) &&
		      m->u.services.count <= TG_PUNT_SERVICES_MAX);
		for (uint16_t i = 0; i < m->u.services.count; i++) {
			check_str(m->u.services.name[i], TG_PUNT_NAME_MAX);
			CHECK(m->u.services.name[i].len >= 1);
			for (uint16_t j = 0; j < i; j++)
				CHECK(!same_str(m->u.services.name[i], m->u.services.name[j]));
		}
		break;
	}
}

/* Encodes m's values into out; returns the length (checked positive). */
static size_t
reencode(const struct tg_punt_msg *m, uint8_t *out, size_t size)
{
	struct tg_punt_iter it;
	struct tg_punt_event ev;
	struct tg_punt_str name;
	struct tg_punt_enc e;
	char cname[TG_PUNT_NAME_MAX + 1];
	static char snames[TG_PUNT_SERVICES_MAX][TG_PUNT_NAME_MAX + 1];
	const char *sp[TG_PUNT_SERVICES_MAX];
	uint64_t value;
	int n = -1;

	switch (m->hdr.type) {
	case TG_PUNT_T_HELLO:
		n = tg_punt_encode_hello(out, size, m->hdr.seq, &m->u.hello);
		break;
	case TG_PUNT_T_HELLO_ACK:
		n = tg_punt_encode_hello_ack(out, size, m->hdr.seq, &m->u.hello_ack);
		break;
	case TG_PUNT_T_EVENT_BATCH:
		CHECK(tg_punt_batch_begin(&e, out, size, m->hdr.seq, m->u.batch.first_seq) == 0);
		it = m->u.batch.events;
		while (tg_punt_batch_next(&it, &ev))
			CHECK(tg_punt_batch_add(&e, &ev) == 0);
		n = tg_punt_batch_end(&e);
		break;
	case TG_PUNT_T_BATCH_ACK:
		n = tg_punt_encode_batch_ack(out, size, m->hdr.seq, m->u.durable_seq);
		break;
	case TG_PUNT_T_POLICY_GEN:
		n = tg_punt_encode_policy_gen(out, size, m->hdr.seq, &m->u.policy);
		break;
	case TG_PUNT_T_POLICY_ACK:
		n = tg_punt_encode_policy_ack(out, size, m->hdr.seq, &m->u.policy_ack);
		break;
	case TG_PUNT_T_STATS_REQUEST:
		n = tg_punt_encode_stats_request(out, size, m->hdr.seq);
		break;
	case TG_PUNT_T_STATS_RESPONSE:
		CHECK(tg_punt_stats_begin(&e, out, size, m->hdr.seq, m->u.stats.in_reply_to) == 0);
		it = m->u.stats.pairs;
		while (tg_punt_stats_next(&it, &name, &value)) {
			memcpy(cname, name.p, name.len);
			cname[name.len] = '\0';
			CHECK(tg_punt_stats_add(&e, cname, value) == 0);
		}
		n = tg_punt_stats_end(&e, m->u.stats.last);
		break;
	case TG_PUNT_T_SESSIONS_REQUEST:
		n = tg_punt_encode_sess_request(out, size, m->hdr.seq, &m->u.sreq);
		break;
	case TG_PUNT_T_SESSIONS_RESPONSE: {
		struct tg_punt_sess se;

		CHECK(tg_punt_sess_begin(&e, out, size, m->hdr.seq, m->u.sresp.in_reply_to,
					 m->u.sresp.status) == 0);
		it = m->u.sresp.entries;
		while (tg_punt_sess_next(&it, &se))
			CHECK(tg_punt_sess_add(&e, &se) == 0);
		n = tg_punt_sess_end(&e, m->u.sresp.last);
		break;
	}
	case TG_PUNT_T_HOLD_REQUEST:
	case TG_PUNT_T_HOLD_REPLY:
		n = tg_punt_encode_hold(out, size, m->hdr.seq, m->hdr.type, &m->u.hold);
		break;
	case TG_PUNT_T_SERVICES:
	case TG_PUNT_T_TCP_SERVICES:
		for (uint16_t i = 0; i < m->u.services.count; i++) {
			memcpy(snames[i], m->u.services.name[i].p, m->u.services.name[i].len);
			snames[i][m->u.services.name[i].len] = '\0';
			sp[i] = snames[i];
		}
		if (m->hdr.type == TG_PUNT_T_SERVICES)
			n = tg_punt_encode_services(out, size, m->hdr.seq, sp, m->u.services.count);
		else
			n = tg_punt_encode_tcp_services(out, size, m->hdr.seq, sp,
							m->u.services.count);
		break;
	case TG_PUNT_T_TCP_GRANTS:
		n = reencode_tcp_grants(&m->u.tcpg, out, size, m->hdr.seq);
		break;
	case TG_PUNT_T_AUTH_REQUEST:
	case TG_PUNT_T_AUTH_SERVER:
	case TG_PUNT_T_AUTH_REPLY:
		n = tg_punt_encode_auth(out, size, m->hdr.seq, m->hdr.type, &m->u.auth);
		break;
	case TG_PUNT_T_AUDIT_STATE:
		n = tg_punt_encode_audit_state(out, size, m->hdr.seq, &m->u.audit);
		break;
	}
	CHECK(n >= TG_PUNT_HDR_LEN);
	return (size_t)n;
}

/* The values of a and b, decoded from different buffers, are the same. */
static void
check_same(const struct tg_punt_msg *a, const struct tg_punt_msg *b)
{
	struct tg_punt_iter ia, ib;
	struct tg_punt_event ea, eb;
	struct tg_punt_str na, nb;
	uint64_t va, vb;

	CHECK(a->hdr.version == b->hdr.version && a->hdr.type == b->hdr.type &&
	      a->hdr.flags == b->hdr.flags && a->hdr.length == b->hdr.length &&
	      a->hdr.seq == b->hdr.seq);
	switch (a->hdr.type) {
	case TG_PUNT_T_HELLO:
		CHECK(a->u.hello.role == b->u.hello.role && a->u.hello.vmin == b->u.hello.vmin &&
		      a->u.hello.vmax == b->u.hello.vmax &&
		      a->u.hello.instance == b->u.hello.instance &&
		      a->u.hello.caps == b->u.hello.caps &&
		      same_str(a->u.hello.software, b->u.hello.software));
		break;
	case TG_PUNT_T_HELLO_ACK: {
		const struct tg_punt_hello_ack *x = &a->u.hello_ack, *y = &b->u.hello_ack;

		CHECK(x->role == y->role && x->status == y->status && x->refuse == y->refuse &&
		      x->version == y->version && x->vmin == y->vmin && x->vmax == y->vmax &&
		      x->instance == y->instance && x->caps == y->caps &&
		      same_str(x->software, y->software) && same_str(x->reason, y->reason));
		break;
	}
	case TG_PUNT_T_EVENT_BATCH:
		CHECK(a->u.batch.first_seq == b->u.batch.first_seq &&
		      a->u.batch.count == b->u.batch.count);
		ia = a->u.batch.events;
		ib = b->u.batch.events;
		while (tg_punt_batch_next(&ia, &ea)) {
			CHECK(tg_punt_batch_next(&ib, &eb));
			CHECK(same_event(&ea, &eb));
		}
		CHECK(!tg_punt_batch_next(&ib, &eb));
		break;
	case TG_PUNT_T_BATCH_ACK:
		CHECK(a->u.durable_seq == b->u.durable_seq);
		break;
	case TG_PUNT_T_AUTH_REQUEST:
	case TG_PUNT_T_AUTH_SERVER:
	case TG_PUNT_T_AUTH_REPLY: {
		const struct tg_punt_auth *x = &a->u.auth, *y = &b->u.auth;

		CHECK(x->worker == y->worker && x->session == y->session &&
		      x->action == y->action && same_str(x->service, y->service) &&
		      same_str(x->client, y->client) && same_str(x->server, y->server) &&
		      same_bytes(x->startup, y->startup) && same_bytes(x->token, y->token) &&
		      same_bytes(x->data, y->data) && same_str(x->sqlstate, y->sqlstate) &&
		      same_str(x->text, y->text) && same_str(x->role, y->role));
		break;
	}
	case TG_PUNT_T_HOLD_REQUEST:
	case TG_PUNT_T_HOLD_REPLY: {
		const struct tg_punt_hold *x = &a->u.hold, *y = &b->u.hold;

		CHECK(x->worker == y->worker && x->session == y->session && x->hold == y->hold &&
		      x->op == y->op && x->kind == y->kind && x->quorum == y->quorum &&
		      x->self_approval == y->self_approval && x->timeout_s == y->timeout_s &&
		      x->t_ns == y->t_ns && x->decision == y->decision &&
		      same_str(x->service, y->service) && same_str(x->rule, y->rule) &&
		      same_str(x->approvers, y->approvers) && same_str(x->client, y->client) &&
		      same_str(x->server, y->server) && same_str(x->user, y->user) &&
		      same_str(x->database, y->database) && same_str(x->text, y->text) &&
		      same_str(x->params, y->params) && same_str(x->id, y->id) &&
		      same_str(x->sqlstate, y->sqlstate) && same_str(x->reason, y->reason));
		break;
	}
	case TG_PUNT_T_POLICY_GEN:
		CHECK(a->u.policy.gen == b->u.policy.gen &&
		      a->u.policy.total == b->u.policy.total &&
		      a->u.policy.offset == b->u.policy.offset &&
		      a->u.policy.len == b->u.policy.len &&
		      memcmp(a->u.policy.data, b->u.policy.data, a->u.policy.len) == 0);
		break;
	case TG_PUNT_T_POLICY_ACK:
		CHECK(a->u.policy_ack.gen == b->u.policy_ack.gen &&
		      a->u.policy_ack.status == b->u.policy_ack.status &&
		      same_str(a->u.policy_ack.reason, b->u.policy_ack.reason));
		break;
	case TG_PUNT_T_STATS_RESPONSE:
		CHECK(a->u.stats.in_reply_to == b->u.stats.in_reply_to &&
		      a->u.stats.count == b->u.stats.count && a->u.stats.last == b->u.stats.last);
		ia = a->u.stats.pairs;
		ib = b->u.stats.pairs;
		while (tg_punt_stats_next(&ia, &na, &va)) {
			CHECK(tg_punt_stats_next(&ib, &nb, &vb));
			CHECK(same_str(na, nb) && va == vb);
		}
		CHECK(!tg_punt_stats_next(&ib, &nb, &vb));
		break;
	case TG_PUNT_T_SESSIONS_REQUEST:
		CHECK(a->u.sreq.kind == b->u.sreq.kind && a->u.sreq.worker == b->u.sreq.worker &&
		      a->u.sreq.session == b->u.sreq.session && a->u.sreq.limit == b->u.sreq.limit &&
		      same_str(a->u.sreq.service, b->u.sreq.service));
		break;
	case TG_PUNT_T_SESSIONS_RESPONSE: {
		struct tg_punt_sess sa, sb;

		CHECK(a->u.sresp.in_reply_to == b->u.sresp.in_reply_to &&
		      a->u.sresp.status == b->u.sresp.status &&
		      a->u.sresp.count == b->u.sresp.count && a->u.sresp.last == b->u.sresp.last);
		ia = a->u.sresp.entries;
		ib = b->u.sresp.entries;
		while (tg_punt_sess_next(&ia, &sa)) {
			CHECK(tg_punt_sess_next(&ib, &sb));
			CHECK(sa.pg == sb.pg && sa.worker == sb.worker && sa.session == sb.session &&
			      sa.tcp_state == sb.tcp_state && sa.t_start_ns == sb.t_start_ns &&
			      sa.bytes_up == sb.bytes_up && sa.bytes_down == sb.bytes_down &&
			      sa.stmts == sb.stmts && same_str(sa.service, sb.service) &&
			      same_str(sa.client, sb.client) && same_str(sa.server, sb.server) &&
			      same_str(sa.user, sb.user) && same_str(sa.database, sb.database) &&
			      same_str(sa.application, sb.application));
		}
		CHECK(!tg_punt_sess_next(&ib, &sb));
		break;
	}
	case TG_PUNT_T_SERVICES:
	case TG_PUNT_T_TCP_SERVICES:
		CHECK(a->u.services.count == b->u.services.count);
		for (uint16_t i = 0; i < a->u.services.count; i++)
			CHECK(same_str(a->u.services.name[i], b->u.services.name[i]));
		break;
	case TG_PUNT_T_TCP_GRANTS: {
		struct tg_punt_tcp_grant ga, gb;

		CHECK(a->u.tcpg.gen == b->u.tcpg.gen && a->u.tcpg.nsvc == b->u.tcpg.nsvc &&
		      a->u.tcpg.count == b->u.tcpg.count);
		for (uint8_t i = 0; i < a->u.tcpg.nsvc; i++)
			CHECK(same_str(a->u.tcpg.svc[i].name, b->u.tcpg.svc[i].name) &&
			      a->u.tcpg.svc[i].flags == b->u.tcpg.svc[i].flags);
		ia = a->u.tcpg.entries;
		ib = b->u.tcpg.entries;
		while (tg_punt_tcp_grant_next(&ia, &ga)) {
			CHECK(tg_punt_tcp_grant_next(&ib, &gb));
			CHECK(memcmp(&ga, &gb, sizeof(ga)) == 0);
		}
		CHECK(!tg_punt_tcp_grant_next(&ib, &gb));
		break;
	}
	}
}

static void
handshake(const struct tg_punt_msg *m, uint8_t *out, size_t size)
{
	static const struct tg_punt_hello self = {
		.role = TG_PUNT_ROLE_SLOWPATH, .vmin = 1, .vmax = 3, .instance = 42,
		.software = { "fuzz", 4 },
	};
	static const struct tg_punt_hello sent = {
		.role = TG_PUNT_ROLE_DATAPLANE, .vmin = 2, .vmax = 4, .instance = 43,
	};
	struct tg_punt_hello_ack ack;
	struct tg_punt_msg back;
	enum tg_punt_err err;
	uint16_t v = 0;
	int n;

	if (m->hdr.type == TG_PUNT_T_HELLO) {
		tg_punt_hello_answer(&self, &m->u.hello, &ack);
		n = tg_punt_encode_hello_ack(out, size, 1, &ack);
		CHECK(n > 0);
		CHECK(tg_punt_decode(out, (size_t)n, &back) == TG_PUNT_OK);
		if (ack.status == TG_PUNT_HELLO_ACCEPT)
			CHECK(ack.version >= m->u.hello.vmin && ack.version <= m->u.hello.vmax &&
			      ack.version >= self.vmin && ack.version <= self.vmax);
	} else if (m->hdr.type == TG_PUNT_T_HELLO_ACK) {
		err = tg_punt_hello_check(&sent, &m->u.hello_ack, &v);
		CHECK(err == TG_PUNT_OK || err == TG_PUNT_ERR_HELLO_REFUSED ||
		      err == TG_PUNT_ERR_HELLO_ROLE || err == TG_PUNT_ERR_HELLO_VERSION);
		if (err == TG_PUNT_OK)
			CHECK(v >= sent.vmin && v <= sent.vmax && v == m->u.hello_ack.version);
	}
}

static void
policy_object(const uint8_t *data, size_t size, uint8_t *out, size_t cap)
{
	struct tg_punt_policy p, q;
	enum tg_punt_err err;
	int n;

	err = tg_punt_policy_decode(data, size, &p);
	CHECK((unsigned int)err < TG_PUNT_ERR_MAX);
	if (err != TG_PUNT_OK)
		return;
	CHECK(p.json.len >= 1);
	CHECK((const uint8_t *)p.json.p >= data &&
	      (const uint8_t *)p.json.p + p.json.len <= data + size);
	CHECK(p.json.len <= TG_PUNT_POLICY_MAX && memchr(p.json.p, 0, p.json.len) == NULL);
	if (p.db.p != NULL) {
		/* binary, after the JSON, in the object */
		CHECK(p.db.len >= 1 && p.db.p > (const uint8_t *)p.json.p &&
		      p.db.p + p.db.len <= data + size);
	} else {
		CHECK(p.db.len == 0);
	}
	CHECK(tg_punt_policy_size(&p) == size);
	if (size > cap)
		return;
	n = tg_punt_policy_encode(&p, out, cap);
	CHECK(n >= 0 && (size_t)n == size && memcmp(out, data, size) == 0);
	CHECK(tg_punt_policy_decode(out, size, &q) == TG_PUNT_OK);
	CHECK(same_str(p.json, q.json));
	CHECK((p.db.p == NULL) == (q.db.p == NULL) && p.db.len == q.db.len &&
	      (p.db.len == 0 || memcmp(p.db.p, q.db.p, p.db.len) == 0));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[TG_PUNT_MSG_MAX];
	static struct tg_punt_policy_rx rx;
	struct tg_punt_policy_rx before;
	struct tg_punt_msg m, back;
	enum tg_punt_err err;
	size_t n;

	in_base = data;
	in_size = size;
	policy_object(data, size, out, sizeof(out));

	err = tg_punt_decode(data, size, &m);
	CHECK((unsigned int)err < TG_PUNT_ERR_MAX && tg_punt_err_names[err] != NULL);
	if (err != TG_PUNT_OK)
		return 0;
	check_msg(&m);

	n = reencode(&m, out, sizeof(out));
	CHECK(n == size && memcmp(out, data, size) == 0);
	CHECK(tg_punt_decode(out, n, &back) == TG_PUNT_OK);
	check_same(&m, &back);

	handshake(&m, out, sizeof(out));

	if (m.hdr.type == TG_PUNT_T_POLICY_GEN) {
		/* the reassembly state moves only on acceptance, and stays in bounds */
		before = rx;
		err = tg_punt_policy_rx_add(&rx, &m.u.policy);
		CHECK(err == TG_PUNT_OK || err == TG_PUNT_ERR_POLICY_ORDER);
		if (err != TG_PUNT_OK)
			CHECK(memcmp(&before, &rx, sizeof(rx)) == 0);
		CHECK(rx.got <= rx.total);
		if (tg_punt_policy_rx_done(&rx))
			memset(&rx, 0, sizeof(rx));
		if (m.u.policy.offset == 0 && m.u.policy.len == m.u.policy.total)
			policy_object(m.u.policy.data, m.u.policy.len, out, sizeof(out));
	}
	return 0;
}
