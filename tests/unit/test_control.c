/* SPDX-License-Identifier: MIT */
/*
 * test_control.c — unit tests of the control channel's dataplane end
 * (control.c) against a fake slowpath in the same thread: a listening
 * SOCK_SEQPACKET socket in a temporary directory, served with the codec
 * (punt.h) between polls of the channel, so every step is deterministic.
 *
 * - handshake: the HELLO's fields; up only after the HELLO_ACK; fail
 *   closed before, open after; a refused hello is counted and retried;
 * - events: handed over through the workers' rings in order, numbered
 *   from 1, acknowledged; a full ring drops and counts;
 * - tickets: tg_control_emit() numbers each worker's events 1, 2, 3...
 *   and the worker's durable count reaches a ticket only once a
 *   BATCH_ACK covers its event (an event the codec refused: as soon as
 *   what came before it is);
 * - backpressure: a full event buffer stops the draining, so nothing is
 *   lost at the control thread; the worker's ring fills and its next
 *   events are refused at tg_control_emit(), and a LOST event with their
 *   count reaches the slowpath once there is room;
 * - a connection lost: counted by reason, fail closed again, reconnection
 *   with back-off, the same instance id, and every event not
 *   acknowledged sent again with its number (counted resent);
 * - a slowpath that breaks the protocol (bad magic, a sequence number
 *   skipped, an acknowledgement of events never sent, a second
 *   HELLO_ACK) is disconnected and the reason counted;
 * - without a policy callback, POLICY_GEN is answered refused and the
 *   HELLO states no TG_PUNT_CAP_POLICY; STATS_REQUEST gets an empty
 *   response;
 * - with a stats callback: the HELLO states TG_PUNT_CAP_STATS, and a
 *   STATS_REQUEST gets the callback's pairs, in order, cut into several
 *   STATS_RESPONSEs naming the request, last = 1 only on the final one;
 *   requests in a row are answered in turn, each with a fresh snapshot;
 *   a bad name is left out and counted;
 * - with one: the HELLO states the capability, SERVICES follows a
 *   HELLO_ACK that states it too (and only then), POLICY_GEN chunks are
 *   reassembled and the callback gets the JSON and the databases, its
 *   answer goes back as POLICY_ACK (applied, or refused with its reason);
 *   with need_policy, new sessions are refused until a generation is
 *   applied;
 * - no slowpath at all: connection failures counted, fail closed (the
 *   services' on_slowpath_down decides, not the channel);
 * - the options (config.c): "slowpath" in the JSON file and
 *   --slowpath-socket, their defaults and refusals.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "config.h"
#include "control.h"
#include "punt.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------------
 * EAL (rte_ring, rte_malloc)
 * ------------------------------------------------------------------- */

static const char *const eal_args[] = {
	"test_control",
	"--no-huge",
	"-m",
	"128",
	"--no-pci",
	"--no-shconf",
	"--no-telemetry",
	"--log-level=lib.eal:error",
	"--log-level=tg.dataplane.control:critical",
	"-l",
	"0",
	"--file-prefix",
};

static char eal_argbuf[ARRAY_SIZE(eal_args) + 1][64];
static char tmpdir[64];

static int
eal_up(void **state)
{
	char *argv[ARRAY_SIZE(eal_args) + 1];
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(eal_args); i++) {
		snprintf(eal_argbuf[i], sizeof(eal_argbuf[i]), "%s", eal_args[i]);
		argv[i] = eal_argbuf[i];
	}
	snprintf(eal_argbuf[i], sizeof(eal_argbuf[i]), "tgtest-control-%ld", (long)getpid());
	argv[i] = eal_argbuf[i];
	if (rte_eal_init((int)ARRAY_SIZE(argv), argv) < 0) {
		fprintf(stderr, "test_control: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tgtest-control.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "test_control: mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int
eal_down(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	rmdir(tmpdir);
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	if (rmdir(dir) < 0)
		fprintf(stderr, "test_control: rmdir %s: %s\n", dir, strerror(errno));
	return 0;
}

/* ---------------------------------------------------------------------
 * The fake slowpath
 * ------------------------------------------------------------------- */

#define FAKE_EVENTS 16384
#define FAKE_PAIRS 8192

enum fake_hello { HELLO_ACCEPT, HELLO_REFUSE, HELLO_SILENT };

struct fake {
	char path[96];
	int lfd, fd;
	uint64_t tx_seq, rx_seq;
	enum fake_hello hello_mode;
	uint64_t caps;			/* stated in the HELLO_ACK */
	bool auto_ack;
	unsigned int accepts;
	struct tg_punt_hello hello;	/* the last received; strings copied below */
	char software[TG_PUNT_NAME_MAX + 1];
	uint64_t seq[FAKE_EVENTS];	/* events received, in order */
	uint64_t sess[FAKE_EVENTS];
	uint16_t worker[FAKE_EVENTS];
	uint8_t type[FAKE_EVENTS];
	uint64_t lost[FAKE_EVENTS];	/* LOST: the count */
	uint32_t stmt[FAKE_EVENTS];
	unsigned int n;
	unsigned int batches;
	uint64_t last_seq;		/* highest event number received */
	struct tg_punt_policy_ack pack;	/* the last POLICY_ACK */
	char pack_reason[TG_PUNT_REASON_MAX + 1];
	unsigned int packs;
	unsigned int stats;		/* STATS_RESPONSEs */
	uint64_t stats_reply_to;
	unsigned int stats_lasts;	/* of them with last = 1 */
	bool stats_after_last;		/* a response for a request already answered whole */
	unsigned int npairs;		/* pairs received, over every response */
	char pname[FAKE_PAIRS][TG_PUNT_NAME_MAX + 1];
	uint64_t pval[FAKE_PAIRS];
	unsigned int sresps;		/* SESSIONS_RESPONSEs */
	uint64_t sresp_reply_to;
	uint8_t sresp_status;
	unsigned int sresp_lasts;
	unsigned int nsess;		/* entries received, over every response */
	char sess_client[4][TG_PUNT_NAME_MAX + 1];
	uint16_t sess_worker[4];
	unsigned int svcs;		/* SERVICES received */
	uint64_t svc_seq;		/* the header seq of the last */
	unsigned int nb_svc;
	char svc[TG_PUNT_SERVICES_MAX][TG_PUNT_NAME_MAX + 1];
};

static uint8_t fbuf[TG_PUNT_MSG_MAX];

static void
fake_listen(struct fake *f, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->auto_ack = true;
	snprintf(f->path, sizeof(f->path), "%s/%s", tmpdir, name);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	unlink(f->path);
	f->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
}

static void
fake_drop(struct fake *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

static void
fake_close(struct fake *f)
{
	fake_drop(f);
	close(f->lfd);
	unlink(f->path);
}

static void
fake_send(struct fake *f, const uint8_t *b, int n)
{
	assert_true(n > 0);
	assert_int_equal(send(f->fd, b, (size_t)n, MSG_NOSIGNAL), n);
	f->tx_seq++;
}

static void
fake_ack(struct fake *f, uint64_t durable)
{
	fake_send(f, fbuf, tg_punt_encode_batch_ack(fbuf, sizeof(fbuf), f->tx_seq, durable));
}

static void
fake_on(struct fake *f, const uint8_t *b, size_t len)
{
	static const char sw[] = "fake-slowpath";
	struct tg_punt_hello self = {
		.role = TG_PUNT_ROLE_SLOWPATH,
		.vmin = 1,
		.vmax = 1,
		.instance = 99,
		.caps = f->caps,
		.software = { sw, sizeof(sw) - 1 },
	};
	struct tg_punt_hello_ack a;
	struct tg_punt_event ev;
	struct tg_punt_msg m;

	assert_int_equal(tg_punt_decode(b, len, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.seq, f->rx_seq);
	f->rx_seq++;
	switch (m.hdr.type) {
	case TG_PUNT_T_HELLO:
		f->hello = m.u.hello;
		snprintf(f->software, sizeof(f->software), "%.*s", (int)m.u.hello.software.len,
			 m.u.hello.software.p);
		f->hello.software.p = f->software;
		if (f->hello_mode == HELLO_SILENT)
			break;
		if (f->hello_mode == HELLO_REFUSE)
			self.vmin = self.vmax = 7;	/* no version in common */
		tg_punt_hello_answer(&self, &m.u.hello, &a);
		fake_send(f, fbuf, tg_punt_encode_hello_ack(fbuf, sizeof(fbuf), f->tx_seq, &a));
		break;
	case TG_PUNT_T_EVENT_BATCH:
		f->batches++;
		while (tg_punt_batch_next(&m.u.batch.events, &ev)) {
			assert_true(f->n < FAKE_EVENTS);
			f->seq[f->n] = ev.seq;
			f->sess[f->n] = ev.session;
			f->worker[f->n] = ev.worker;
			f->type[f->n] = ev.type;
			f->lost[f->n] = ev.lost;
			f->stmt[f->n] = ev.stmt;
			f->n++;
			if (ev.seq > f->last_seq)
				f->last_seq = ev.seq;
		}
		if (f->auto_ack)
			fake_ack(f, f->last_seq);
		break;
	case TG_PUNT_T_POLICY_ACK:
		f->packs++;
		f->pack = m.u.policy_ack;
		snprintf(f->pack_reason, sizeof(f->pack_reason), "%.*s",
			 (int)m.u.policy_ack.reason.len, m.u.policy_ack.reason.p);
		break;
	case TG_PUNT_T_STATS_RESPONSE: {
		struct tg_punt_str name;
		uint64_t value;

		if (f->stats_lasts > 0 && f->stats_reply_to == m.u.stats.in_reply_to)
			f->stats_after_last = true;
		if (f->stats > 0 && f->stats_reply_to != m.u.stats.in_reply_to)
			f->stats_lasts = 0;	/* the next request's answer */
		f->stats++;
		f->stats_reply_to = m.u.stats.in_reply_to;
		f->stats_lasts += m.u.stats.last;
		while (tg_punt_stats_next(&m.u.stats.pairs, &name, &value)) {
			assert_true(f->npairs < FAKE_PAIRS);
			snprintf(f->pname[f->npairs], sizeof(f->pname[0]), "%.*s", (int)name.len,
				 name.p);
			f->pval[f->npairs++] = value;
		}
		break;
	}
	case TG_PUNT_T_SESSIONS_RESPONSE: {
		struct tg_punt_sess se;

		f->sresps++;
		f->sresp_reply_to = m.u.sresp.in_reply_to;
		f->sresp_status = m.u.sresp.status;
		f->sresp_lasts += m.u.sresp.last;
		while (tg_punt_sess_next(&m.u.sresp.entries, &se)) {
			if (f->nsess < 4) {
				snprintf(f->sess_client[f->nsess], sizeof(f->sess_client[0]), "%.*s",
					 (int)se.client.len, se.client.p);
				f->sess_worker[f->nsess] = se.worker;
			}
			f->nsess++;
		}
		break;
	}
	case TG_PUNT_T_SERVICES:
		f->svcs++;
		f->svc_seq = m.hdr.seq;
		f->nb_svc = m.u.services.count;
		for (unsigned int i = 0; i < m.u.services.count; i++)
			snprintf(f->svc[i], sizeof(f->svc[i]), "%.*s",
				 (int)m.u.services.name[i].len, m.u.services.name[i].p);
		break;
	default:
		fail_msg("the dataplane sent a %s", tg_punt_type_name(m.hdr.type));
	}
}

/* Accepts a connection if one waits, then serves what arrived. */
static void
fake_step(struct fake *f)
{
	ssize_t n;

	if (f->fd < 0) {
		f->fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (f->fd < 0)
			return;
		f->accepts++;
		f->tx_seq = f->rx_seq = 1;
	}
	while ((n = recv(f->fd, fbuf, sizeof(fbuf), MSG_DONTWAIT)) > 0) {
		static uint8_t copy[TG_PUNT_MSG_MAX];

		memcpy(copy, fbuf, (size_t)n);
		fake_on(f, copy, (size_t)n);
	}
	if (n == 0)
		fake_drop(f);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Polls the channel and serves the fake until cond holds or 3 s pass; returns cond. */
#define PUMP_UNTIL(c, f, cond)                                         \
	({                                                             \
		int i_;                                                \
		for (i_ = 0; i_ < 3000 && !(cond); i_++) {             \
			tg_control_poll(c);                            \
			fake_step(f);                                  \
			tg_control_poll(c);                            \
			if (!(cond))                                   \
				sleep_ms(1);                           \
		}                                                      \
		(cond);                                                \
	})

/* Polls and serves for ms milliseconds. */
static void
pump_ms(struct tg_control *c, struct fake *f, int ms)
{
	int i;

	for (i = 0; i < ms; i++) {
		tg_control_poll(c);
		fake_step(f);
		sleep_ms(1);
	}
	tg_control_poll(c);
}

static struct tg_control *
make(const char *path, bool required, uint32_t buffer, unsigned int workers)
{
	struct tg_control_params p = {
		.socket_path = path,
		.required = required,
		.event_buffer = buffer,
		.nb_workers = workers,
	};
	struct tg_control *c = tg_control_create(&p);

	assert_non_null(c);
	return c;
}

/* A statement of session sess on worker w; returns its ticket (0: refused). */
static uint64_t
emit(struct tg_control *c, unsigned int w, uint64_t sess)
{
	static const char text[] = "select 1";
	struct tg_punt_event ev = {
		.type = TG_PUNT_EV_STATEMENT,
		.worker = (uint16_t)w,
		.session = sess,
		.stmt = 1,
		.service_name = { "pg", 2 },
		.client = { "198.18.0.1:40000", 16 },
		.text = { text, sizeof(text) - 1 },
	};

	return tg_control_emit(tg_control_queue(c, w), &ev);
}

static struct tg_control_counters
counters(const struct tg_control *c)
{
	struct tg_control_counters cc;

	tg_control_counters_read(c, &cc);
	return cc;
}

#define EV(cc, name) ((cc).ev[TG_EVBUF_CNT_##name])
#define CC(cc, name) ((cc).cnt[TG_CONTROL_CNT_##name])
#define DISC(cc, name) ((cc).disc[TG_CONTROL_DISC_##name])

/* ---------------------------------------------------------------------
 * Cases
 * ------------------------------------------------------------------- */

static void
test_handshake_and_events(void **state)
{
	struct tg_control_counters cc;
	struct fake f;
	struct tg_control *c;
	unsigned int i;

	(void)state;
	fake_listen(&f, "a.sock");
	c = make(f.path, true, 1024, 2);
	assert_true(tg_control_refusing());
	assert_false(tg_control_up(c));
	/* the HELLO goes out, but up needs the answer */
	f.hello_mode = HELLO_SILENT;
	assert_true(PUMP_UNTIL(c, &f, f.rx_seq == 2));
	assert_false(tg_control_up(c));
	assert_true(tg_control_refusing());
	assert_int_equal(f.hello.role, TG_PUNT_ROLE_DATAPLANE);
	assert_int_equal(f.hello.vmin, 1);
	assert_int_equal(f.hello.vmax, 1);
	assert_true(f.hello.instance != 0);
	/* no policy callback: no TG_PUNT_CAP_POLICY; the audit store's state and recordings always */
	assert_int_equal(f.hello.caps, TG_PUNT_CAP_AUDIT_STATE | TG_PUNT_CAP_RECORD);
	assert_int_equal(strncmp(f.software, "tollgate-dataplane ", 19), 0);
	fake_drop(&f);
	f.hello_mode = HELLO_ACCEPT;
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	assert_false(tg_control_refusing());
	assert_int_equal(f.accepts, 2);

	/* worker 0 then worker 1, each in its own order */
	for (i = 0; i < 5; i++) {
		assert_int_equal(emit(c, 0, 100 + i), i + 1);	/* tickets, per worker */
		assert_int_equal(emit(c, 1, 200 + i), i + 1);
	}
	assert_true(PUMP_UNTIL(c, &f, f.n == 10 && counters(c).pending == 0));
	for (i = 0; i < 10; i++) {
		assert_int_equal(f.seq[i], i + 1);
		assert_int_equal(f.worker[i], i < 5 ? 0 : 1);
		assert_int_equal(f.sess[i], (i < 5 ? 100 : 200) + i % 5);
	}
	cc = counters(c);
	assert_int_equal(cc.connected, 1);
	assert_int_equal(CC(cc, CONNECTS), 1);
	assert_int_equal(CC(cc, DISCONNECTS), 1);	/* the silent one */
	assert_int_equal(EV(cc, QUEUED), 10);
	assert_int_equal(EV(cc, SENT), 10);
	assert_int_equal(EV(cc, ACKED), 10);
	assert_int_equal(EV(cc, RESENT), 0);
	assert_true(EV(cc, BATCHES) >= 1);
	tg_control_destroy(c);
	assert_false(tg_control_refusing());
	fake_close(&f);
}

/* The slowpath goes away and comes back: everything not acknowledged goes again. */
static void
test_reconnect_resends(void **state)
{
	struct tg_control_counters cc;
	struct fake f;
	struct tg_control *c;
	uint64_t instance;
	unsigned int i;

	(void)state;
	fake_listen(&f, "b.sock");
	c = make(f.path, true, 1024, 1);
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	instance = f.hello.instance;
	f.auto_ack = false;
	for (i = 0; i < 5; i++)
		emit(c, 0, i + 1);
	assert_true(PUMP_UNTIL(c, &f, f.n == 5));
	fake_ack(&f, 2);
	pump_ms(c, &f, 5);
	assert_int_equal(counters(c).pending, 3);

	/* the slowpath stops; two more events arrive while it is away */
	fake_drop(&f);
	close(f.lfd);
	unlink(f.path);
	assert_true(PUMP_UNTIL(c, &f, !tg_control_up(c)));
	assert_true(tg_control_refusing());
	emit(c, 0, 6);
	emit(c, 0, 7);
	pump_ms(c, &f, 150);
	cc = counters(c);
	assert_int_equal(DISC(cc, CLOSED), 1);
	assert_true(CC(cc, CONNECT_FAIL) >= 1);
	assert_int_equal(cc.pending, 5);

	/* back: 3, 4, 5 again, then 6 and 7, under the same instance */
	f.n = 0;
	fake_listen(&f, "b.sock");
	f.auto_ack = true;
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c) && counters(c).pending == 0));
	assert_int_equal(f.hello.instance, instance);
	assert_int_equal(f.n, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(f.seq[i], 3 + i);
		assert_int_equal(f.sess[i], 3 + i);
	}
	cc = counters(c);
	assert_int_equal(EV(cc, RESENT), 3);
	assert_int_equal(EV(cc, SENT), 10);
	assert_int_equal(EV(cc, ACKED), 7);
	assert_int_equal(CC(cc, CONNECTS), 2);
	assert_false(tg_control_refusing());
	tg_control_destroy(c);
	fake_close(&f);
}

static void
test_hello_refused(void **state)
{
	struct tg_control_counters cc;
	struct fake f;
	struct tg_control *c;

	(void)state;
	fake_listen(&f, "c.sock");
	f.hello_mode = HELLO_REFUSE;
	c = make(f.path, true, 64, 1);
	assert_true(PUMP_UNTIL(c, &f, counters(c).cnt[TG_CONTROL_CNT_HELLO_REFUSED] >= 1));
	pump_ms(c, &f, 5);
	cc = counters(c);
	assert_false(tg_control_up(c));
	assert_true(tg_control_refusing());
	assert_true(DISC(cc, REFUSED) >= 1);
	assert_int_equal(CC(cc, CONNECTS), 0);
	/* retried with back-off, and accepted once the slowpath agrees */
	f.hello_mode = HELLO_ACCEPT;
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	tg_control_destroy(c);
	fake_close(&f);
}

/* Each protocol breach ends the connection, counted by its reason. */
static void
test_protocol_errors(void **state)
{
	struct tg_control_counters cc;
	struct fake f;
	struct tg_control *c;
	uint8_t b[64];
	int n;

	(void)state;
	fake_listen(&f, "d.sock");
	c = make(f.path, true, 64, 1);

	/* bad magic */
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	n = tg_punt_encode_batch_ack(b, sizeof(b), f.tx_seq, 1);
	b[0] ^= 0xff;
	fake_send(&f, b, n);
	assert_true(PUMP_UNTIL(c, &f, !tg_control_up(c)));
	cc = counters(c);
	assert_int_equal(DISC(cc, PROTOCOL), 1);
	assert_int_equal(cc.proto[TG_PUNT_ERR_MAGIC], 1);
	assert_true(tg_control_refusing());
	fake_drop(&f);

	/* a sequence number skipped */
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	fake_send(&f, b, tg_punt_encode_batch_ack(b, sizeof(b), f.tx_seq + 1, 1));
	assert_true(PUMP_UNTIL(c, &f, !tg_control_up(c)));
	assert_int_equal(DISC(counters(c), SEQ), 1);
	fake_drop(&f);

	/* an acknowledgement of events never sent */
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	fake_ack(&f, 5);
	assert_true(PUMP_UNTIL(c, &f, !tg_control_up(c)));
	assert_int_equal(DISC(counters(c), ACK), 1);
	fake_drop(&f);

	/* a second HELLO_ACK */
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	{
		struct tg_punt_hello_ack a = {
			.role = TG_PUNT_ROLE_SLOWPATH,
			.status = TG_PUNT_HELLO_ACCEPT,
			.version = 1, .vmin = 1, .vmax = 1,
			.instance = 1,
		};

		fake_send(&f, fbuf, tg_punt_encode_hello_ack(fbuf, sizeof(fbuf), f.tx_seq, &a));
	}
	assert_true(PUMP_UNTIL(c, &f, !tg_control_up(c)));
	assert_int_equal(DISC(counters(c), UNEXPECTED), 1);
	fake_drop(&f);

	/* a datagram that is not even a header */
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	fake_send(&f, b, 3);
	assert_true(PUMP_UNTIL(c, &f, !tg_control_up(c)));
	cc = counters(c);
	assert_int_equal(cc.proto[TG_PUNT_ERR_SHORT], 1);
	assert_int_equal(DISC(cc, PROTOCOL), 2);
	assert_int_equal(CC(cc, CONNECTS), 5);
	assert_int_equal(CC(cc, DISCONNECTS), 5);
	tg_control_destroy(c);
	fake_close(&f);
}

static void
test_policy_and_stats(void **state)
{
	static const char json[] = "{\"commands\":{\"default\":\"allow\"}}";
	struct tg_punt_policy pol = { .json = { json, sizeof(json) - 1 } };
	uint8_t obj[128];
	struct tg_punt_policy_chunk ch;
	struct fake f;
	struct tg_control *c;
	uint64_t req;
	int n;

	(void)state;
	fake_listen(&f, "e.sock");
	c = make(f.path, true, 64, 1);
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	assert_int_equal(f.hello.caps & TG_PUNT_CAP_STATS, 0);
	n = tg_punt_policy_encode(&pol, obj, sizeof(obj));
	assert_true(n > 10);
	/* in two chunks: answered once whole */
	ch = (struct tg_punt_policy_chunk){ .gen = 3, .total = (uint32_t)n, .offset = 0,
					    .len = 10, .data = obj };
	fake_send(&f, fbuf, tg_punt_encode_policy_gen(fbuf, sizeof(fbuf), f.tx_seq, &ch));
	pump_ms(c, &f, 5);
	assert_int_equal(f.packs, 0);
	ch.offset = 10;
	ch.len = (uint32_t)n - 10;
	ch.data = obj + 10;
	fake_send(&f, fbuf, tg_punt_encode_policy_gen(fbuf, sizeof(fbuf), f.tx_seq, &ch));
	assert_true(PUMP_UNTIL(c, &f, f.packs == 1));
	assert_int_equal(f.pack.gen, 3);
	assert_int_equal(f.pack.status, TG_PUNT_POLICY_REFUSED);
	assert_non_null(strstr(f.pack_reason, "policy"));
	assert_int_equal(counters(c).cnt[TG_CONTROL_CNT_POLICY_REFUSED], 1);

	req = f.tx_seq;
	fake_send(&f, fbuf, tg_punt_encode_stats_request(fbuf, sizeof(fbuf), f.tx_seq));
	assert_true(PUMP_UNTIL(c, &f, f.stats == 1));
	assert_int_equal(f.stats_reply_to, req);
	assert_int_equal(f.stats_lasts, 1);
	assert_int_equal(f.npairs, 0);
	assert_true(tg_control_up(c));
	tg_control_destroy(c);
	fake_close(&f);
}

#define STATS_PAIRS 3000	/* names of ~60 bytes: about 1000 to a datagram */

/* The stats callback: STATS_PAIRS pairs, their values offset by the snapshot's number. */
static void
stats_cb(void *arg, struct tg_control_stats *s)
{
	unsigned int *calls = arg, i;

	(*calls)++;
	for (i = 0; i < STATS_PAIRS; i++)
		assert_int_equal(tg_control_stats_addf(s, (uint64_t)*calls * 100000 + i,
						       "worker.%u.a_counter_with_a_long_name_to_fill"
						       "_the_datagram", i), 0);
	/* refused, left out and counted: a space, empty, over the cap */
	assert_int_equal(tg_control_stats_add(s, "bad name", 1), -EINVAL);
	assert_int_equal(tg_control_stats_add(s, "", 1), -EINVAL);
	assert_int_equal(tg_control_stats_addf(s, 1, "%0*d", TG_PUNT_NAME_MAX + 1, 0), -EINVAL);
}

/* The pairs received from the fake are snapshot's, in order. */
static void
check_pairs(const struct fake *f, unsigned int snapshot)
{
	char name[TG_PUNT_NAME_MAX + 1];
	unsigned int i;

	assert_int_equal(f->npairs, STATS_PAIRS);
	for (i = 0; i < STATS_PAIRS; i++) {
		snprintf(name, sizeof(name), "worker.%u.a_counter_with_a_long_name_to_fill"
			 "_the_datagram", i);
		assert_string_equal(f->pname[i], name);
		assert_int_equal(f->pval[i], (uint64_t)snapshot * 100000 + i);
	}
}

/*
 * With a stats callback the HELLO states TG_PUNT_CAP_STATS, and a
 * STATS_REQUEST is answered with the callback's pairs in several
 * datagrams, last = 1 on the final one only; two requests in a row get
 * two answers in turn.
 */
static void
test_stats_responses(void **state)
{
	struct tg_control_params p = {
		.required = false,
		.event_buffer = 64,
		.nb_workers = 1,
		.stats = stats_cb,
	};
	unsigned int calls = 0, n;
	struct tg_control *c;
	struct fake f;
	uint64_t req;

	(void)state;
	fake_listen(&f, "s.sock");
	p.socket_path = f.path;
	p.stats_arg = &calls;
	c = tg_control_create(&p);
	assert_non_null(c);
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	assert_int_equal(f.hello.caps & TG_PUNT_CAP_STATS, TG_PUNT_CAP_STATS);
	assert_int_equal(f.hello.caps & TG_PUNT_CAP_POLICY, 0);
	assert_int_equal(calls, 0);

	req = f.tx_seq;
	fake_send(&f, fbuf, tg_punt_encode_stats_request(fbuf, sizeof(fbuf), f.tx_seq));
	assert_true(PUMP_UNTIL(c, &f, f.stats_lasts == 1));
	pump_ms(c, &f, 5);
	assert_int_equal(calls, 1);
	assert_int_equal(f.stats_reply_to, req);
	assert_true(f.stats >= 3);	/* about 1000 pairs of ~70 bytes to a 64 KiB datagram */
	n = f.stats;
	assert_int_equal(f.stats_lasts, 1);
	assert_false(f.stats_after_last);
	check_pairs(&f, 1);
	assert_int_equal(counters(c).cnt[TG_CONTROL_CNT_STATS_ANSWERED], 1);
	assert_int_equal(counters(c).cnt[TG_CONTROL_CNT_STATS_DROPPED], 3);

	/* two in a row: each answered whole, the first first, each from its own snapshot */
	f.stats = f.npairs = 0;
	f.stats_lasts = 0;
	req = f.tx_seq;
	fake_send(&f, fbuf, tg_punt_encode_stats_request(fbuf, sizeof(fbuf), f.tx_seq));
	fake_send(&f, fbuf, tg_punt_encode_stats_request(fbuf, sizeof(fbuf), f.tx_seq));
	assert_true(PUMP_UNTIL(c, &f, f.stats_reply_to == req + 1 && f.stats_lasts == 1));
	pump_ms(c, &f, 5);
	assert_int_equal(calls, 3);
	assert_int_equal(f.stats, 2 * n);
	assert_int_equal(f.npairs, 2 * STATS_PAIRS);
	assert_false(f.stats_after_last);
	assert_int_equal(f.pval[0], 200000);
	assert_int_equal(f.pval[STATS_PAIRS], 300000);
	assert_int_equal(counters(c).cnt[TG_CONTROL_CNT_STATS_ANSWERED], 3);
	assert_true(tg_control_up(c));
	tg_control_destroy(c);
	fake_close(&f);
}

/* Plays a worker: takes its command, answers n entries (clients "c<i>"). */
static void
worker_answer(struct tg_control *c, unsigned int w, uint32_t n)
{
	struct tg_control_q *q = tg_control_queue(c, w);
	struct tg_control_cmd *cmd;
	uint32_t i;

	assert_true(tg_control_cmd_pending(q));
	cmd = tg_control_cmd_take(q);
	assert_non_null(cmd);
	assert_false(tg_control_cmd_pending(q));
	assert_true(n <= cmd->max);
	for (i = 0; i < n; i++) {
		memset(&cmd->ent[i], 0, sizeof(cmd->ent[i]));
		cmd->ent[i].pg = true;
		cmd->ent[i].session = i + 1;
		cmd->ent[i].worker = (uint16_t)w;
		cmd->ent[i].tcp_state = TG_PUNT_TCP_ESTABLISHED;
		snprintf(cmd->ent[i].client, sizeof(cmd->ent[i].client), "c%u", i);
		snprintf(cmd->ent[i].user, sizeof(cmd->ent[i].user), "demo");
	}
	tg_control_cmd_done(cmd, n);
}

static uint64_t
sessions_request(struct fake *f, uint8_t kind, uint16_t worker, uint64_t session, uint32_t limit)
{
	struct tg_punt_sess_request r = {
		.kind = kind, .worker = worker, .session = session, .limit = limit,
	};
	uint64_t seq = f->tx_seq;

	f->sresps = f->sresp_lasts = f->nsess = 0;
	fake_send(f, fbuf, tg_punt_encode_sess_request(fbuf, sizeof(fbuf), f->tx_seq, &r));
	return seq;
}

/*
 * SESSIONS_REQUEST: the control thread hands each live worker a command
 * through its ring and answers from their buffers once they are done; a
 * request while one is served is answered BUSY; a worker that does not
 * answer in time is left out (and not asked again until it has); a KILL
 * that finds nothing is NOT_FOUND; the limit holds over the workers.
 */
static void
test_sessions(void **state)
{
	struct tg_control_params p = {
		.required = false,
		.event_buffer = 64,
		.nb_workers = 3,
		.sessions = true,
	};
	struct tg_control *c;
	struct fake f;
	uint64_t req, busy;

	(void)state;
	fake_listen(&f, "x.sock");
	p.socket_path = f.path;
	c = tg_control_create(&p);
	assert_non_null(c);
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	assert_int_equal(f.hello.caps & TG_PUNT_CAP_SESSIONS, TG_PUNT_CAP_SESSIONS);
	/* workers 0 and 1 poll their rings; worker 2 never started */
	tg_control_cmd_attach(tg_control_queue(c, 0));
	tg_control_cmd_attach(tg_control_queue(c, 1));

	req = sessions_request(&f, TG_PUNT_SESS_LIST, TG_PUNT_SESS_ANY_WORKER, 0, 100);
	assert_true(PUMP_UNTIL(c, &f, tg_control_cmd_pending(tg_control_queue(c, 1))));
	assert_true(tg_control_cmd_pending(tg_control_queue(c, 0)));
	assert_false(tg_control_cmd_pending(tg_control_queue(c, 2)));
	/* one served at a time: the next is BUSY at once */
	busy = sessions_request(&f, TG_PUNT_SESS_FLOWS, TG_PUNT_SESS_ANY_WORKER, 0, 100);
	assert_true(PUMP_UNTIL(c, &f, f.sresp_lasts == 1));
	assert_int_equal(f.sresp_reply_to, busy);
	assert_int_equal(f.sresp_status, TG_PUNT_SESS_BUSY);
	assert_int_equal(f.nsess, 0);
	f.sresps = f.sresp_lasts = 0;
	pump_ms(c, &f, 5);
	assert_int_equal(f.sresps, 0);	/* nothing before every worker answered */
	worker_answer(c, 0, 2);
	pump_ms(c, &f, 5);
	assert_int_equal(f.sresps, 0);
	worker_answer(c, 1, 1);
	assert_true(PUMP_UNTIL(c, &f, f.sresp_lasts == 1));
	assert_int_equal(f.sresp_reply_to, req);
	assert_int_equal(f.sresp_status, TG_PUNT_SESS_OK);
	assert_int_equal(f.nsess, 3);
	assert_string_equal(f.sess_client[0], "c0");
	assert_string_equal(f.sess_client[2], "c0");
	assert_int_equal(f.sess_worker[2], 1);

	/* the limit holds over the workers */
	req = sessions_request(&f, TG_PUNT_SESS_LIST, TG_PUNT_SESS_ANY_WORKER, 0, 2);
	assert_true(PUMP_UNTIL(c, &f, tg_control_cmd_pending(tg_control_queue(c, 1))));
	worker_answer(c, 0, 2);
	worker_answer(c, 1, 2);
	assert_true(PUMP_UNTIL(c, &f, f.sresp_lasts == 1));
	assert_int_equal(f.nsess, 2);

	/* a worker that does not answer: left out after the timeout, not asked while busy */
	req = sessions_request(&f, TG_PUNT_SESS_LIST, TG_PUNT_SESS_ANY_WORKER, 0, 100);
	assert_true(PUMP_UNTIL(c, &f, tg_control_cmd_pending(tg_control_queue(c, 1))));
	worker_answer(c, 0, 1);
	pump_ms(c, &f, TG_CONTROL_SESS_TIMEOUT_MS / 2);
	assert_int_equal(f.sresps, 0);
	assert_true(PUMP_UNTIL(c, &f, f.sresp_lasts == 1));
	assert_int_equal(f.sresp_reply_to, req);
	assert_int_equal(f.nsess, 1);
	assert_int_equal(counters(c).cnt[TG_CONTROL_CNT_SESSIONS_TIMEOUT], 1);
	req = sessions_request(&f, TG_PUNT_SESS_LIST, TG_PUNT_SESS_ANY_WORKER, 0, 100);
	assert_true(PUMP_UNTIL(c, &f, tg_control_cmd_pending(tg_control_queue(c, 0))));
	worker_answer(c, 0, 1);
	assert_true(PUMP_UNTIL(c, &f, f.sresp_lasts == 1));
	assert_int_equal(f.nsess, 1);
	/* its late answer frees it for the next request */
	worker_answer(c, 1, 1);
	pump_ms(c, &f, 2);

	/* KILL on worker 1 that finds nothing */
	req = sessions_request(&f, TG_PUNT_SESS_KILL, 1, 77, 1);
	assert_true(PUMP_UNTIL(c, &f, tg_control_cmd_pending(tg_control_queue(c, 1))));
	assert_false(tg_control_cmd_pending(tg_control_queue(c, 0)));
	{
		struct tg_control_cmd *cmd = tg_control_cmd_take(tg_control_queue(c, 1));

		assert_non_null(cmd);
		assert_int_equal(cmd->kind, TG_PUNT_SESS_KILL);
		assert_int_equal(cmd->session, 77);
		assert_int_equal(cmd->max, 1);
		tg_control_cmd_done(cmd, 0);
	}
	assert_true(PUMP_UNTIL(c, &f, f.sresp_lasts == 1));
	assert_int_equal(f.sresp_reply_to, req);
	assert_int_equal(f.sresp_status, TG_PUNT_SESS_NOT_FOUND);
	assert_int_equal(counters(c).cnt[TG_CONTROL_CNT_SESSIONS_ANSWERED], 5);
	assert_true(tg_control_up(c));
	tg_control_destroy(c);
	fake_close(&f);
}

/* A worker that outruns the control thread drops, counted, and never blocks. */
static void
test_ring_full(void **state)
{
	struct tg_control_counters cc;
	struct tg_control *c;
	unsigned int i;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/none.sock", tmpdir);
	c = make(path, true, 1u << 16, 1);
	for (i = 0; i < TG_CONTROL_RING; i++)
		assert_int_equal(emit(c, 0, i), i + 1);
	for (i = 0; i < 5; i++)
		assert_int_equal(emit(c, 0, i), 0);	/* no ticket taken */
	cc = counters(c);
	assert_int_equal(cc.ring_drops, 5);
	tg_control_poll(c);
	cc = counters(c);
	/* every event handed over, and a LOST event for the 5 refused */
	assert_int_equal(EV(cc, QUEUED), TG_CONTROL_RING + 1);
	assert_int_equal(EV(cc, LOST), 0);
	assert_int_equal(CC(cc, LOST_REPORTED), 1);
	assert_int_equal(cc.pending, TG_CONTROL_RING + 1);
	/* the slots are back */
	assert_int_equal(emit(c, 0, 1), TG_CONTROL_RING + 1);
	tg_control_destroy(c);
}

/*
 * No slowpath: events wait up to the cap; the rest wait in the worker's
 * ring (backpressure), none is lost at the control thread.
 */
static void
test_buffer_full_and_no_slowpath(void **state)
{
	struct tg_control_counters cc;
	struct tg_control *c;
	unsigned int i;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/none.sock", tmpdir);
	c = make(path, true, 16, 1);
	assert_true(tg_control_refusing());
	for (i = 0; i < 20; i++)
		assert_int_equal(emit(c, 0, i), i + 1);
	tg_control_poll(c);
	tg_control_poll(c);
	cc = counters(c);
	assert_int_equal(EV(cc, QUEUED), 16);
	assert_int_equal(EV(cc, LOST), 0);
	assert_int_equal(cc.ring_drops, 0);
	assert_int_equal(cc.pending, 16);
	assert_true(CC(cc, CONNECT_FAIL) >= 1);
	assert_int_equal(cc.connected, 0);
	assert_false(tg_control_connect_wait(c, 50));
	tg_control_destroy(c);

	/*
	 * not required: the channel still says it is down; whether a service
	 * refuses its sessions then is its on_slowpath_down (worker.c)
	 */
	c = make(path, false, 16, 1);
	tg_control_poll(c);
	assert_true(tg_control_refusing());
	tg_control_destroy(c);
	assert_false(tg_control_refusing());
}

/* An event the codec refuses: a type that does not exist. */
static uint64_t
emit_invalid(struct tg_control *c, unsigned int w)
{
	struct tg_punt_event ev = { .type = TG_PUNT_EV_MAX, .worker = (uint16_t)w };

	return tg_control_emit(tg_control_queue(c, w), &ev);
}

/*
 * Tickets count each worker's events; a worker's durable count reaches a
 * ticket only when a BATCH_ACK covers that event, never before.
 */
static void
test_tickets_durable(void **state)
{
	struct tg_control_counters cc;
	struct tg_control_q *q0, *q1;
	struct fake f;
	struct tg_control *c;

	(void)state;
	fake_listen(&f, "t.sock");
	f.auto_ack = false;
	c = make(f.path, true, 1024, 2);
	q0 = tg_control_queue(c, 0);
	q1 = tg_control_queue(c, 1);
	assert_non_null(q0);
	assert_non_null(q1);
	assert_null(tg_control_queue(c, 2));
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));

	/* event 1 drained on its own, then 2, 3 (worker 0) and 4, 5 (worker 1) */
	assert_int_equal(emit(c, 0, 10), 1);
	tg_control_poll(c);
	assert_int_equal(emit(c, 0, 11), 2);
	assert_int_equal(emit(c, 0, 12), 3);
	assert_int_equal(emit(c, 1, 20), 1);
	assert_int_equal(emit(c, 1, 21), 2);
	assert_true(PUMP_UNTIL(c, &f, f.n == 5));
	assert_int_equal(f.sess[0], 10);
	assert_int_equal(f.sess[3], 20);
	assert_int_equal(f.worker[3], 1);
	assert_int_equal(f.stmt[0], 1);
	pump_ms(c, &f, 5);
	assert_int_equal(tg_control_durable(q0), 0);	/* sent is not durable */
	assert_int_equal(tg_control_durable(q1), 0);

	fake_ack(&f, 1);
	assert_true(PUMP_UNTIL(c, &f, tg_control_durable(q0) == 1));
	assert_int_equal(tg_control_durable(q1), 0);
	/* 2 is durable, 3 not yet: worker 0 learns of both together */
	fake_ack(&f, 2);
	pump_ms(c, &f, 10);
	assert_int_equal(tg_control_durable(q0), 1);
	fake_ack(&f, 3);
	assert_true(PUMP_UNTIL(c, &f, tg_control_durable(q0) == 3));
	assert_int_equal(tg_control_durable(q1), 0);
	fake_ack(&f, 4);
	pump_ms(c, &f, 10);
	assert_int_equal(tg_control_durable(q1), 0);
	fake_ack(&f, 5);
	assert_true(PUMP_UNTIL(c, &f, tg_control_durable(q1) == 2));
	assert_int_equal(tg_control_durable(q0), 3);
	assert_int_equal(counters(c).pending, 0);

	/*
	 * An event the codec refuses takes a ticket (0 is returned) and no
	 * event number; with nothing before it waiting, it is "durable" at
	 * once, without an ack. The next event's ticket follows it.
	 */
	assert_int_equal(emit_invalid(c, 1), 0);
	pump_ms(c, &f, 5);
	assert_int_equal(tg_control_durable(q1), 3);
	assert_int_equal(f.n, 5);
	assert_int_equal(emit(c, 1, 22), 4);
	/* behind an event not yet acked, it waits for that event's ack */
	assert_int_equal(emit_invalid(c, 1), 0);
	assert_true(PUMP_UNTIL(c, &f, f.n == 6));
	pump_ms(c, &f, 5);
	assert_int_equal(tg_control_durable(q1), 3);
	assert_int_equal(f.seq[5], 6);
	fake_ack(&f, 6);
	assert_true(PUMP_UNTIL(c, &f, tg_control_durable(q1) == 5));
	cc = counters(c);
	assert_int_equal(cc.invalid, 2);
	assert_int_equal(EV(cc, QUEUED), 6);
	assert_int_equal(EV(cc, ACKED), 6);
	tg_control_destroy(c);
	fake_close(&f);
}

/*
 * A tiny event buffer and a slowpath that does not ack: the control
 * thread stops draining, the worker's ring fills, the next events are
 * refused at emit (counted drops, ticket 0) and none is lost at the
 * control thread. Once acks make room everything flows, then one LOST
 * event with the refused count.
 */
static void
test_backpressure_lost(void **state)
{
	enum { BUF = 8, EXTRA = 5 };
	struct tg_control_counters cc;
	struct tg_control_q *q;
	struct fake f;
	struct tg_control *c;
	unsigned int i, total;

	(void)state;
	fake_listen(&f, "bp.sock");
	f.auto_ack = false;
	c = make(f.path, true, BUF, 1);
	q = tg_control_queue(c, 0);
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	for (i = 0; i < TG_CONTROL_RING; i++)
		assert_int_equal(emit(c, 0, i), i + 1);
	assert_true(PUMP_UNTIL(c, &f, f.n == BUF));
	pump_ms(c, &f, 10);
	cc = counters(c);
	assert_int_equal(f.n, BUF);
	assert_int_equal(EV(cc, QUEUED), BUF);
	assert_int_equal(EV(cc, LOST), 0);
	assert_int_equal(cc.pending, BUF);
	assert_int_equal(cc.ring_drops, 0);

	/* the BUF slots kept went back to the worker; after them, drops */
	for (i = 0; i < BUF; i++)
		assert_int_equal(emit(c, 0, TG_CONTROL_RING + i), TG_CONTROL_RING + i + 1);
	for (i = 0; i < EXTRA; i++)
		assert_int_equal(emit(c, 0, 999999), 0);
	pump_ms(c, &f, 5);
	cc = counters(c);
	assert_int_equal(cc.ring_drops, EXTRA);
	assert_int_equal(EV(cc, LOST), 0);
	assert_int_equal(CC(cc, LOST_REPORTED), 0);	/* no room for it yet */
	assert_int_equal(f.n, BUF);

	/* room: every event handed over arrives, in order, then the LOST */
	total = TG_CONTROL_RING + BUF;
	f.auto_ack = true;
	fake_ack(&f, BUF);
	assert_true(PUMP_UNTIL(c, &f, f.n == total + 1 && counters(c).pending == 0));
	for (i = 0; i < total; i++) {
		if (f.seq[i] != i + 1 || f.type[i] != TG_PUNT_EV_STATEMENT || f.sess[i] != i)
			fail_msg("event %u: seq %" PRIu64 " type %u session %" PRIu64, i, f.seq[i],
				 f.type[i], f.sess[i]);
	}
	assert_int_equal(f.type[total], TG_PUNT_EV_LOST);
	assert_int_equal(f.seq[total], total + 1);
	assert_int_equal(f.lost[total], EXTRA);
	assert_int_equal(f.worker[total], 0);
	assert_int_equal(f.sess[total], 0);
	assert_true(PUMP_UNTIL(c, &f, tg_control_durable(q) == total));
	cc = counters(c);
	assert_int_equal(EV(cc, LOST), 0);
	assert_int_equal(EV(cc, QUEUED), total + 1);
	assert_int_equal(CC(cc, LOST_REPORTED), 1);
	assert_int_equal(cc.ring_drops, EXTRA);

	/* reported once: later events flow without another LOST ... */
	assert_int_equal(emit(c, 0, 7), total + 1);
	assert_true(PUMP_UNTIL(c, &f, f.n == total + 2 && counters(c).pending == 0));
	assert_int_equal(f.type[total + 1], TG_PUNT_EV_STATEMENT);
	assert_int_equal(CC(counters(c), LOST_REPORTED), 1);
	/* ... and new drops are reported with their own count */
	while (emit(c, 0, 8) != 0)
		;
	assert_int_equal(emit(c, 0, 8), 0);
	assert_true(PUMP_UNTIL(c, &f, CC(counters(c), LOST_REPORTED) == 2 &&
					      counters(c).pending == 0));
	assert_int_equal(f.type[f.n - 1], TG_PUNT_EV_LOST);
	assert_int_equal(f.lost[f.n - 1], 2);
	assert_int_equal(EV(counters(c), LOST), 0);
	tg_control_destroy(c);
	fake_close(&f);
}

/* ---------------------------------------------------------------------
 * Policy generations from the slowpath
 * ------------------------------------------------------------------- */

static const char *const svc_names[] = { "shop-pg", "billing" };

/* What the policy callback got, and what it answers. */
struct polcb {
	unsigned int calls;
	uint64_t gen;
	char *json;
	size_t json_len;
	uint8_t *db;
	size_t db_len;
	bool db_null;
	int rc;			/* the answer */
	const char *reason;	/* with rc < 0; NULL: none */
};

static int
policy_cb(void *arg, uint64_t gen, const char *json, size_t json_len, const uint8_t *db,
	  size_t db_len, char *err, size_t errlen)
{
	struct polcb *p = arg;

	p->calls++;
	p->gen = gen;
	free(p->json);
	free(p->db);
	p->json = malloc(json_len + 1);
	assert_non_null(p->json);
	memcpy(p->json, json, json_len);
	p->json[json_len] = '\0';
	p->json_len = json_len;
	p->db_null = db == NULL;
	p->db = malloc(db_len + 1);
	assert_non_null(p->db);
	if (db_len != 0)
		memcpy(p->db, db, db_len);
	p->db_len = db_len;
	if (p->rc < 0 && p->reason != NULL)
		snprintf(err, errlen, "%s", p->reason);
	return p->rc;
}

static void
polcb_free(struct polcb *p)
{
	free(p->json);
	free(p->db);
	memset(p, 0, sizeof(*p));
}

static struct tg_control *
make_policy(const char *path, bool need_policy, struct polcb *cb)
{
	struct tg_control_params p = {
		.socket_path = path,
		.required = true,
		.event_buffer = 64,
		.nb_workers = 1,
		.policy = policy_cb,
		.policy_arg = cb,
		.need_policy = need_policy,
		.services = svc_names,
		.nb_services = ARRAY_SIZE(svc_names),
	};
	struct tg_control *c = tg_control_create(&p);

	assert_non_null(c);
	return c;
}

/*
 * Sends the object obj[0, len) as generation gen in chunks of at most
 * chunk bytes, serving the channel between them; the callback must not
 * run before the last.
 */
static void
send_object(struct tg_control *c, struct fake *f, struct polcb *cb, uint64_t gen,
	    const uint8_t *obj, size_t len, size_t chunk)
{
	static uint8_t dg[TG_PUNT_MSG_MAX];
	unsigned int calls = cb->calls;
	size_t off = 0;

	while (off < len) {
		struct tg_punt_policy_chunk ch = {
			.gen = gen,
			.total = (uint32_t)len,
			.offset = (uint32_t)off,
			.len = (uint32_t)(len - off < chunk ? len - off : chunk),
			.data = obj + off,
		};

		if (off != 0) {
			pump_ms(c, f, 2);
			assert_int_equal(cb->calls, calls);
		}
		fake_send(f, dg, tg_punt_encode_policy_gen(dg, sizeof(dg), f->tx_seq, &ch));
		off += ch.len;
	}
}

/* Encodes json and db (db NULL: none) into a fresh object; *len its size. */
static uint8_t *
object(const char *json, const uint8_t *db, size_t db_len, size_t *len)
{
	struct tg_punt_policy p = {
		.json = { json, (uint32_t)strlen(json) },
		.db = { db, (uint32_t)db_len },
	};
	size_t n = tg_punt_policy_size(&p);
	uint8_t *obj = malloc(n);

	assert_true(n > 0);
	assert_non_null(obj);
	assert_int_equal(tg_punt_policy_encode(&p, obj, n), (int)n);
	*len = n;
	return obj;
}

/* SERVICES follows a HELLO_ACK that states TG_PUNT_CAP_POLICY, and only such a one. */
static void
test_services_after_hello_ack(void **state)
{
	struct polcb cb = { 0 };
	struct fake f;
	struct tg_control *c;

	(void)state;
	/* the slowpath pushes policies: SERVICES is the message after the HELLO */
	fake_listen(&f, "s1.sock");
	f.caps = TG_PUNT_CAP_POLICY | TG_PUNT_CAP_STATS;
	c = make_policy(f.path, false, &cb);
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c) && f.svcs == 1));
	assert_true(f.hello.caps & TG_PUNT_CAP_POLICY);
	assert_false(f.hello.caps & TG_PUNT_CAP_STATS);
	assert_int_equal(f.svc_seq, 2);
	assert_int_equal(f.nb_svc, 2);
	assert_string_equal(f.svc[0], "shop-pg");
	assert_string_equal(f.svc[1], "billing");
	assert_false(tg_control_refusing());	/* need_policy not set */
	/* again on every connection */
	fake_drop(&f);
	assert_true(PUMP_UNTIL(c, &f, f.accepts == 2 && tg_control_up(c) && f.svcs == 2));
	assert_int_equal(f.svc_seq, 2);
	pump_ms(c, &f, 10);
	assert_int_equal(f.svcs, 2);
	tg_control_destroy(c);
	fake_close(&f);

	/* a slowpath that does not: no SERVICES, the connection is up all the same */
	fake_listen(&f, "s2.sock");
	f.caps = TG_PUNT_CAP_STATS;
	c = make_policy(f.path, false, &cb);
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	assert_true(f.hello.caps & TG_PUNT_CAP_POLICY);
	emit(c, 0, 1);
	assert_true(PUMP_UNTIL(c, &f, f.n == 1 && counters(c).pending == 0));
	pump_ms(c, &f, 20);
	assert_int_equal(f.svcs, 0);
	assert_int_equal(f.seq[0], 1);
	tg_control_destroy(c);
	fake_close(&f);

	/* a dataplane without a policy callback neither states it nor sends SERVICES */
	fake_listen(&f, "s3.sock");
	f.caps = TG_PUNT_CAP_POLICY;
	c = make(f.path, true, 64, 1);
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	pump_ms(c, &f, 20);
	assert_int_equal(f.hello.caps & TG_PUNT_CAP_POLICY, 0);
	assert_int_equal(f.svcs, 0);
	tg_control_destroy(c);
	fake_close(&f);
	polcb_free(&cb);
}

/* Sends AUDIT_STATE state (reason why) as the fake slowpath. */
static void
fake_audit_state(struct fake *f, uint8_t state, const char *why)
{
	struct tg_punt_audit_state st = { .state = state, .reason = { why, (uint32_t)strlen(why) } };

	fake_send(f, fbuf, tg_punt_encode_audit_state(fbuf, sizeof(fbuf), f->tx_seq, &st));
}

/*
 * AU-5(4): AUDIT_STATE from a slowpath that states TG_PUNT_CAP_AUDIT_STATE
 * sets and clears tg_control_audit_full (counted, in the snapshot too);
 * the state holds across a reconnection to such a slowpath, is cleared by
 * one that does not state it, and AUDIT_STATE from that one ends the
 * connection (unexpected).
 */
static void
test_audit_state(void **state)
{
	struct tg_control_counters cc;
	struct fake f;
	struct tg_control *c;

	(void)state;
	fake_listen(&f, "af.sock");
	f.caps = TG_PUNT_CAP_AUDIT_STATE;
	c = make(f.path, true, 64, 1);
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	assert_true(f.hello.caps & TG_PUNT_CAP_AUDIT_STATE);
	assert_int_equal(tg_control_audit_full, 0);
	fake_audit_state(&f, TG_PUNT_AUDIT_FULL, "audit map 0.9 of 1.0 MiB used (92%, full at 90%)");
	assert_true(PUMP_UNTIL(c, &f, tg_control_audit_full == 1));
	cc = counters(c);
	assert_int_equal(cc.audit_full, 1);
	assert_int_equal(cc.cnt[TG_CONTROL_CNT_AUDIT_FULL], 1);
	/* the same state again changes nothing but the count */
	fake_audit_state(&f, TG_PUNT_AUDIT_FULL, "still");
	assert_true(PUMP_UNTIL(c, &f, counters(c).cnt[TG_CONTROL_CNT_AUDIT_FULL] == 2));
	assert_int_equal(tg_control_audit_full, 1);
	/* events still flow while full (the reserve takes them) */
	emit(c, 0, 1);
	assert_true(PUMP_UNTIL(c, &f, f.n == 1 && counters(c).pending == 0));

	/* a reconnection to a slowpath that states it: the state holds until it speaks */
	fake_drop(&f);
	assert_true(PUMP_UNTIL(c, &f, f.accepts == 2 && tg_control_up(c)));
	assert_int_equal(tg_control_audit_full, 1);
	fake_audit_state(&f, TG_PUNT_AUDIT_OK, "");
	assert_true(PUMP_UNTIL(c, &f, tg_control_audit_full == 0));
	assert_int_equal(counters(c).cnt[TG_CONTROL_CNT_AUDIT_OK], 1);
	fake_audit_state(&f, TG_PUNT_AUDIT_FULL, "full again");
	assert_true(PUMP_UNTIL(c, &f, tg_control_audit_full == 1));

	/* a slowpath that does not state it: the state is cleared at once */
	fake_drop(&f);
	f.caps = 0;
	assert_true(PUMP_UNTIL(c, &f, f.accepts == 3 && tg_control_up(c)));
	assert_int_equal(tg_control_audit_full, 0);
	/* and its AUDIT_STATE is a message it may not send */
	fake_audit_state(&f, TG_PUNT_AUDIT_FULL, "x");
	assert_true(PUMP_UNTIL(c, &f, DISC(counters(c), UNEXPECTED) == 1));
	assert_int_equal(tg_control_audit_full, 0);
	tg_control_destroy(c);
	assert_int_equal(tg_control_audit_full, 0);
	fake_close(&f);
}

/* POLICY_GEN chunks reassembled; the callback's answer goes back as POLICY_ACK. */
static void
test_policy_generations(void **state)
{
	static const char json[] = "{\"commands\":{\"default\":\"allow\"}}";
	const size_t db_len = 150000;	/* three datagrams' worth */
	struct tg_control_counters cc;
	struct polcb cb = { 0 };
	struct fake f;
	struct tg_control *c;
	uint8_t *db, *obj;
	size_t i, len;

	(void)state;
	db = malloc(db_len);
	assert_non_null(db);
	for (i = 0; i < db_len; i++)
		db[i] = (uint8_t)(i * 7);	/* NUL bytes included */
	fake_listen(&f, "g.sock");
	f.caps = TG_PUNT_CAP_POLICY;
	c = make_policy(f.path, false, &cb);
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c) && f.svcs == 1));

	/* applied: the JSON and the databases, whole, as sent */
	obj = object(json, db, db_len, &len);
	assert_true(len > 2 * TG_PUNT_POLICY_CHUNK_MAX);
	send_object(c, &f, &cb, 5, obj, len, TG_PUNT_POLICY_CHUNK_MAX);
	free(obj);
	assert_true(PUMP_UNTIL(c, &f, f.packs == 1));
	assert_int_equal(cb.calls, 1);
	assert_int_equal(cb.gen, 5);
	assert_int_equal(cb.json_len, strlen(json));
	assert_string_equal(cb.json, json);
	assert_false(cb.db_null);
	assert_int_equal(cb.db_len, db_len);
	assert_memory_equal(cb.db, db, db_len);
	assert_int_equal(f.pack.gen, 5);
	assert_int_equal(f.pack.status, TG_PUNT_POLICY_APPLIED);
	assert_string_equal(f.pack_reason, "");
	cc = counters(c);
	assert_int_equal(CC(cc, POLICY_APPLIED), 1);
	assert_int_equal(CC(cc, POLICY_REFUSED), 0);

	/* refused with the callback's reason; small chunks; no databases */
	cb.rc = -EINVAL;
	cb.reason = "rule r1: pattern does not compile";
	obj = object(json, NULL, 0, &len);
	send_object(c, &f, &cb, 6, obj, len, 7);
	free(obj);
	assert_true(PUMP_UNTIL(c, &f, f.packs == 2));
	assert_int_equal(cb.calls, 2);
	assert_int_equal(cb.gen, 6);
	assert_true(cb.db_null);
	assert_int_equal(cb.db_len, 0);
	assert_int_equal(f.pack.gen, 6);
	assert_int_equal(f.pack.status, TG_PUNT_POLICY_REFUSED);
	assert_string_equal(f.pack_reason, "rule r1: pattern does not compile");
	assert_int_equal(CC(counters(c), POLICY_REFUSED), 1);

	/* refused without a reason: the errno's text stands in */
	cb.rc = -ENOMEM;
	cb.reason = NULL;
	obj = object(json, db, 16, &len);
	send_object(c, &f, &cb, 7, obj, len, len);
	free(obj);
	assert_true(PUMP_UNTIL(c, &f, f.packs == 3));
	assert_int_equal(f.pack.status, TG_PUNT_POLICY_REFUSED);
	assert_string_equal(f.pack_reason, strerror(ENOMEM));

	/* an object that does not decode: refused, the callback never sees it */
	{
		/* TLV 1 (JSON) "{}", then TLV 3 (unknown), 1 byte */
		static const uint8_t bad[] = { 0, 1, 0, 0, 0, 2, '{', '}', 0, 3, 0, 0, 0, 1, 0 };

		cb.rc = 0;
		send_object(c, &f, &cb, 8, bad, sizeof(bad), sizeof(bad));
		assert_true(PUMP_UNTIL(c, &f, f.packs == 4));
		assert_int_equal(cb.calls, 3);
		assert_int_equal(f.pack.gen, 8);
		assert_int_equal(f.pack.status, TG_PUNT_POLICY_REFUSED);
		assert_non_null(strstr(f.pack_reason, "policy object"));
	}
	cc = counters(c);
	assert_int_equal(CC(cc, POLICY_APPLIED), 1);
	assert_int_equal(CC(cc, POLICY_REFUSED), 3);
	assert_true(tg_control_up(c));

	/* a chunk out of sequence ends the connection */
	{
		static uint8_t dg[256];
		struct tg_punt_policy_chunk ch = {
			.gen = 9, .total = 100, .offset = 10, .len = 10, .data = db,
		};

		fake_send(&f, dg, tg_punt_encode_policy_gen(dg, sizeof(dg), f.tx_seq, &ch));
		assert_true(PUMP_UNTIL(c, &f, !tg_control_up(c)));
		cc = counters(c);
		assert_int_equal(cc.proto[TG_PUNT_ERR_POLICY_ORDER], 1);
		assert_int_equal(DISC(cc, PROTOCOL), 1);
		fake_drop(&f);
	}
	/* half an object, then the connection lost: the next one starts afresh */
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c) && f.svcs == 2));
	cb.rc = 0;
	obj = object(json, db, db_len, &len);
	{
		static uint8_t dg[TG_PUNT_MSG_MAX];
		struct tg_punt_policy_chunk ch = {
			.gen = 10, .total = (uint32_t)len, .offset = 0, .len = 1000, .data = obj,
		};

		fake_send(&f, dg, tg_punt_encode_policy_gen(dg, sizeof(dg), f.tx_seq, &ch));
		pump_ms(c, &f, 5);
		fake_drop(&f);
	}
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c) && f.svcs == 3));
	send_object(c, &f, &cb, 11, obj, len, TG_PUNT_POLICY_CHUNK_MAX);
	free(obj);
	assert_true(PUMP_UNTIL(c, &f, f.packs == 5));
	assert_int_equal(f.pack.gen, 11);
	assert_int_equal(f.pack.status, TG_PUNT_POLICY_APPLIED);
	assert_int_equal(cb.gen, 11);
	assert_memory_equal(cb.db, db, db_len);
	assert_int_equal(CC(counters(c), POLICY_APPLIED), 2);
	tg_control_destroy(c);
	fake_close(&f);
	polcb_free(&cb);
	free(db);
}

/* need_policy: new sessions are refused until a generation is applied. */
static void
test_need_policy(void **state)
{
	static const char json[] = "{}";
	struct polcb cb = { 0 };
	struct fake f;
	struct tg_control *c;
	uint8_t *obj;
	size_t len;

	(void)state;
	fake_listen(&f, "n.sock");
	f.caps = TG_PUNT_CAP_POLICY;
	c = make_policy(f.path, true, &cb);
	assert_true(tg_control_refusing());
	/* up, but no policy yet */
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c) && f.svcs == 1));
	pump_ms(c, &f, 5);
	assert_true(tg_control_refusing());
	/* connect_wait waits for the policy too, and says the channel is up */
	assert_true(tg_control_connect_wait(c, 20));
	assert_true(tg_control_refusing());

	/* a refused generation changes nothing */
	cb.rc = -EINVAL;
	cb.reason = "no";
	obj = object(json, NULL, 0, &len);
	send_object(c, &f, &cb, 1, obj, len, len);
	assert_true(PUMP_UNTIL(c, &f, f.packs == 1));
	assert_int_equal(f.pack.status, TG_PUNT_POLICY_REFUSED);
	assert_true(tg_control_refusing());

	/* applied: sessions are admitted */
	cb.rc = 0;
	send_object(c, &f, &cb, 2, obj, len, len);
	assert_true(PUMP_UNTIL(c, &f, f.packs == 2));
	assert_int_equal(f.pack.status, TG_PUNT_POLICY_APPLIED);
	assert_false(tg_control_refusing());

	/* the channel lost: refused again; back: the applied generation still runs */
	fake_drop(&f);
	assert_true(PUMP_UNTIL(c, &f, !tg_control_up(c)));
	assert_true(tg_control_refusing());
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	assert_false(tg_control_refusing());
	tg_control_destroy(c);
	fake_close(&f);

	/* a slowpath that pushes no policy: up, and refusing all the while */
	fake_listen(&f, "n2.sock");
	f.caps = 0;
	c = make_policy(f.path, true, &cb);
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	pump_ms(c, &f, 10);
	assert_int_equal(f.svcs, 0);
	assert_true(tg_control_refusing());
	tg_control_destroy(c);
	fake_close(&f);

	/* need_policy without a callback means nothing */
	fake_listen(&f, "n3.sock");
	c = tg_control_create(&(struct tg_control_params){
		.socket_path = f.path, .required = true, .event_buffer = 16, .nb_workers = 1,
		.need_policy = true });
	assert_non_null(c);
	assert_true(PUMP_UNTIL(c, &f, tg_control_up(c)));
	assert_false(tg_control_refusing());
	tg_control_destroy(c);
	fake_close(&f);
	free(obj);
	polcb_free(&cb);
}

static void
test_create_errors(void **state)
{
	char longpath[200];

	(void)state;
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_null(tg_control_create(&(struct tg_control_params){
		.socket_path = longpath, .event_buffer = 16, .nb_workers = 1 }));
	assert_int_equal(errno, EINVAL);
	assert_null(tg_control_create(&(struct tg_control_params){
		.socket_path = "/x", .event_buffer = 0, .nb_workers = 1 }));
	assert_null(tg_control_create(&(struct tg_control_params){
		.socket_path = "", .event_buffer = 16, .nb_workers = 1 }));
}

/* ---------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------- */

/* Loads a config file holding json; returns the result, the error text in err. */
static int
load(struct tg_dp_config *cfg, const char *json, char *err, size_t errlen)
{
	char path[128];
	FILE *f, *e;
	int rc;

	snprintf(path, sizeof(path), "%s/dp.json", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(json, f);
	fclose(f);
	e = fmemopen(err, errlen, "w");
	assert_non_null(e);
	tg_config_defaults(cfg);
	rc = tg_config_load_file(cfg, path, e);
	fclose(e);
	unlink(path);
	return rc;
}

static void
test_config_slowpath(void **state)
{
	static struct tg_dp_config cfg;
	char err[512] = "", want[160];
	char *argv[4];
	FILE *e;

	(void)state;
	/* no key: no channel */
	assert_int_equal(load(&cfg, "{}", err, sizeof(err)), 0);
	assert_string_equal(cfg.slowpath_socket, "");
	assert_true(cfg.slowpath_required);
	assert_int_equal(cfg.event_buffer, TG_EVENT_BUFFER_DEFAULT);

	/* a relative socket is the config file's neighbour */
	assert_int_equal(load(&cfg, "{\"slowpath\": {\"socket\": \"run/c.sock\"}}", err,
			      sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/run/c.sock", tmpdir);
	assert_string_equal(cfg.slowpath_socket, want);
	assert_true(cfg.slowpath_required);
	assert_int_equal(load(&cfg, "{\"slowpath\": {\"socket\": \"/run/c.sock\", "
				    "\"required\": false, \"event_buffer\": 16}}",
			      err, sizeof(err)), 0);
	assert_string_equal(cfg.slowpath_socket, "/run/c.sock");
	assert_false(cfg.slowpath_required);
	assert_int_equal(cfg.event_buffer, 16);

	/* refusals name the key */
	assert_int_equal(load(&cfg, "{\"slowpath\": {\"required\": true}}", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "slowpath: \"socket\""));
	assert_int_equal(load(&cfg, "{\"slowpath\": {\"socket\": \"/s\", \"event_buffer\": 15}}",
			      err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "event_buffer"));
	assert_int_equal(load(&cfg, "{\"slowpath\": {\"socket\": \"/s\", \"event_buffer\": "
				    "99999999}}", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "event_buffer"));
	assert_int_equal(load(&cfg, "{\"slowpath\": {\"socket\": \"/s\", \"required\": 1}}",
			      err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "required"));
	assert_int_equal(load(&cfg, "{\"slowpath\": {\"socket\": \"/s\", \"bogus\": 1}}", err,
			      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown key \"bogus\""));
	assert_int_equal(load(&cfg, "{\"slowpath\": \"/s\"}", err, sizeof(err)), -EINVAL);
	/* 109 bytes: sun_path holds 107 and a NUL */
	assert_int_equal(load(&cfg, "{\"slowpath\": {\"socket\": \"/"
				    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				    "\"}}", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than 107"));

	/* the command line */
	tg_config_defaults(&cfg);
	argv[0] = (char[]){ "tollgate-dataplane" };
	argv[1] = (char[]){ "--slowpath-socket" };
	argv[2] = (char[]){ "/tmp/x.sock" };
	argv[3] = NULL;
	e = fmemopen(err, sizeof(err), "w");
	assert_int_equal(tg_config_parse_args(&cfg, 3, argv, e), 0);
	fclose(e);
	assert_string_equal(cfg.slowpath_socket, "/tmp/x.sock");
	assert_true(cfg.slowpath_required);
}

#define TEST(f) cmocka_unit_test(test_##f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(handshake_and_events),
		TEST(reconnect_resends),
		TEST(hello_refused),
		TEST(protocol_errors),
		TEST(policy_and_stats),
		TEST(stats_responses),
		TEST(sessions),
		TEST(ring_full),
		TEST(buffer_full_and_no_slowpath),
		TEST(tickets_durable),
		TEST(backpressure_lost),
		TEST(services_after_hello_ack),
		TEST(audit_state),
		TEST(policy_generations),
		TEST(need_policy),
		TEST(create_errors),
		TEST(config_slowpath),
	};

	return cmocka_run_group_tests_name("control", tests, eal_up, eal_down);
}
