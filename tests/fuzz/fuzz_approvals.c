/* SPDX-License-Identifier: MIT */
/*
 * fuzz_approvals.c — libFuzzer target for the approvals.* methods
 * (slowpath/mapprovals.c: their params, the operator checks) over the
 * table of requests (slowpath/approvals.c), through a real tg_mgmt
 * server on a Unix socket, as tgctl reaches them.
 *
 * Input: byte 0 says who calls and what waits: bits 0-2 the caller's
 * roles (TG_MGMT_ROLE_* bits), bits 3-4 the request's approvers group
 * (0 none, 1 and 3 this process's group: a member, 2 a group that does
 * not exist), bit 5 the requester is this process's user, bit 6 the rule
 * allows self-approval. Byte 1: the quorum (1 + byte % 16) and, bit 7,
 * a timeout of 1 s. The rest is lines, one call each: the line's first
 * byte picks the method (% 4: list, show, approve, deny), the rest is
 * the params text, with every "@@" replaced by the request's id so that
 * real ids are near at hand.
 *
 * Beyond memory errors, UB and leaks, the target aborts when:
 * - a call gets no response, or one that is not a result or an error
 *   with a known code;
 * - approve or deny succeed for a caller without admin or approver, a
 *   caller outside the approvers group, or (approve) the requester when
 *   the rule does not allow it;
 * - the request breaks its invariants: votes at most the quorum, approved
 *   exactly when the votes reach it, one vote per uid (one process: at
 *   most one), ended 0 exactly while pending;
 * - the dataplane would be told twice, or told of a request still
 *   pending, or not told of one approved, denied or expired;
 * - the approval.vote records are not one per vote.
 *
 * The server lives for the whole run (one socket in a directory of its
 * own under /tmp, removed at exit); each input is one connection and one
 * table. Seeds: tests/fuzz/gen-corpus approvals_seeds(). Run:
 * tests/fuzz/run.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "approvals.h"
#include "mapprovals.h"
#include "mgmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

#define LINE_MAX_ 4096
#define ROUNDS 1000

static struct tg_mgmt *srv;
static char dir[64], path[96], me[64], my_group[64];
static unsigned int next_roles;
static unsigned int told, votes_recorded;
static char told_id[TG_APPROVAL_ID_MAX];

static unsigned int
roles_hook(void *arg, const struct tg_mgmt_peer *peer, const gid_t *groups, size_t n)
{
	(void)arg;
	(void)peer;
	(void)groups;
	(void)n;
	return next_roles;
}

static void
on_record(void *arg, json_t *rec)
{
	const char *type =
		json_string_value(json_object_get(json_object_get(rec, "event"), "type"));

	(void)arg;
	CHECK(type != NULL && strncmp(type, "approval.", 9) == 0);
	if (strcmp(type, "approval.vote") == 0)
		votes_recorded++;
}

static void
on_decided(void *arg, const struct tg_approval *r, const struct tg_approval_verdict *v)
{
	(void)arg;
	CHECK(r->state == TG_APPROVAL_APPROVED || r->state == TG_APPROVAL_DENIED ||
	      r->state == TG_APPROVAL_EXPIRED);
	CHECK(v->approve == (r->state == TG_APPROVAL_APPROVED));
	CHECK(v->approve || (strlen(v->sqlstate) == 5 && strstr(v->text, r->id) != NULL));
	told++;
	snprintf(told_id, sizeof(told_id), "%s", r->id);
}

static void
cleanup(void)
{
	tg_mgmt_close(srv);
	srv = NULL;
	unlink(path);
	rmdir(dir);
}

static void
server_open(void)
{
	struct tg_mgmt_config cfg = { .uid = (uid_t)-1, .roles_of = roles_hook };
	struct passwd *pw = getpwuid(getuid());
	struct group *gr = getgrgid(getgid());
	char err[256];

	CHECK(pw != NULL && gr != NULL);
	snprintf(me, sizeof(me), "%s", pw->pw_name);
	snprintf(my_group, sizeof(my_group), "%s", gr->gr_name);
	snprintf(dir, sizeof(dir), "/tmp/tg-fuzz-approvals-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/mgmt.sock", dir);
	cfg.path = path;
	srv = tg_mgmt_open(&cfg, err, sizeof(err));
	CHECK(srv != NULL);
	CHECK(sp_approvals_methods_register(srv) == 0);
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);
}

/* One call on fd: the line, then the server runs until the response; its error code or "". */
static void
one_call(int fd, const char *line, size_t len, char *code, size_t codelen)
{
	static char buf[1 << 20];
	size_t got = 0, off = 0;
	json_t *resp = NULL;
	ssize_t w;

	while (off < len) {
		w = send(fd, line + off, len - off, MSG_NOSIGNAL);
		CHECK(w > 0);
		off += (size_t)w;
	}
	for (int round = 0; round < ROUNDS && resp == NULL; round++) {
		struct pollfd p = { .fd = tg_mgmt_fd(srv), .events = POLLIN };
		ssize_t r;

		while (poll(&p, 1, 0) == 1)
			tg_mgmt_on_ready(srv);
		r = recv(fd, buf + got, sizeof(buf) - got - 1, MSG_DONTWAIT);
		if (r > 0)
			got += (size_t)r;
		if (got > 0 && buf[got - 1] == '\n') {
			resp = json_loadb(buf, got - 1, 0, NULL);
			CHECK(resp != NULL); /* one line, one object */
		}
	}
	CHECK(resp != NULL);
	if (json_object_get(resp, "result") != NULL) {
		code[0] = '\0';
	} else {
		const char *c =
			json_string_value(json_object_get(json_object_get(resp, "error"), "code"));
		size_t k;

		CHECK(c != NULL);
		for (k = 1; k < TG_MGMT_E_MAX && strcmp(c, tg_mgmt_err_names[k]) != 0; k++)
			;
		CHECK(k < TG_MGMT_E_MAX);
		snprintf(code, codelen, "%s", c);
	}
	json_decref(resp);
}

static void
check_request(const struct tg_approval *r, bool may_vote)
{
	CHECK(r->nb_votes <= r->quorum && r->quorum >= 1 && r->quorum <= TG_APPROVAL_QUORUM_MAX);
	CHECK((r->state == TG_APPROVAL_APPROVED) == (r->nb_votes == r->quorum));
	CHECK((r->state == TG_APPROVAL_PENDING) == (r->ended == 0));
	CHECK(r->nb_votes <= 1); /* one process, one uid */
	CHECK(may_vote || r->nb_votes == 0);
	CHECK(votes_recorded == r->nb_votes);
	if (r->state == TG_APPROVAL_PENDING || r->state == TG_APPROVAL_CANCELLED)
		CHECK(told == 0);
	else
		CHECK(told == 1 && strcmp(told_id, r->id) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "approvals.list", "approvals.show",
					       "approvals.approve", "approvals.deny" };
	struct sp_approvals_hooks h = { .record = on_record, .decided = on_decided };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tg_approval_spec spec = { .worker = 1,
					 .session = 7,
					 .hold = 1,
					 .service = "demo-pg",
					 .rule = "fuzz-hold",
					 .text = "DELETE FROM t",
					 .user = "app_owner",
					 .email = "someone@example.com" };
	char id[TG_APPROVAL_ID_MAX], err[256], code[32];
	struct tg_approval r;
	bool member, self, may_decide, may_vote = false;
	size_t pos = 2;
	int fd, n = 0;

	if (size < 2)
		return 0;
	if (srv == NULL)
		server_open();
	told = votes_recorded = 0;
	next_roles = data[0] & 7;
	switch ((data[0] >> 3) & 3) {
	case 0:
		spec.approvers = "";
		break;
	case 2:
		spec.approvers = "tg-fuzz-no-such-group";
		break;
	default:
		spec.approvers = my_group;
		break;
	}
	member = ((data[0] >> 3) & 3) != 2;
	self = (data[0] & 0x20) != 0;
	if (self)
		spec.user = me;
	spec.self_approval = (data[0] & 0x40) != 0;
	spec.quorum = 1 + data[1] % TG_APPROVAL_QUORUM_MAX;
	spec.timeout_s = (data[1] & 0x80) ? 1 : 600;
	may_decide = (next_roles & (TG_MGMT_ROLE_ADMIN | TG_MGMT_ROLE_APPROVER)) != 0 && member;

	CHECK(sp_approvals_open(&h) == 0);
	CHECK(sp_approvals_request(&spec, id, err, sizeof(err)) == 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);

	while (pos < size && n++ < 64) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t end = nl != NULL ? (size_t)(nl - data) : size, len = 0;
		const char *method = methods[data[pos] % 4];
		static char line[LINE_MAX_ + 256];
		int k;

		k = snprintf(line, sizeof(line), "{\"id\":%d,\"method\":\"%s\",\"params\":", n,
			     method);
		len = (size_t)k;
		for (size_t i = pos + 1; i < end && len < LINE_MAX_; i++) {
			if (data[i] == '@' && i + 1 < end && data[i + 1] == '@') {
				len += (size_t)snprintf(line + len, sizeof(line) - len, "%s", id);
				i++;
				continue;
			}
			/* a newline inside would split the request: the line ends at it */
			line[len++] = data[i] == '\r' ? ' ' : (char)data[i];
		}
		line[len++] = '}';
		line[len++] = '\n';
		pos = end + 1;
		one_call(fd, line, len, code, sizeof(code));
		if (code[0] == '\0' && strcmp(method, "approvals.approve") == 0) {
			CHECK(may_decide && (!self || spec.self_approval));
			may_vote = true;
		}
		if (code[0] == '\0' && strcmp(method, "approvals.deny") == 0)
			CHECK(may_decide);
		CHECK(sp_approvals_get(id, &r) == 0);
		check_request(&r, may_vote);
	}
	close(fd);
	/* the counters agree with what the hooks saw */
	{
		json_t *st = sp_approvals_stats_json();

		CHECK(st != NULL);
		CHECK(json_integer_value(json_object_get(st, "votes")) == votes_recorded);
		CHECK(json_integer_value(json_object_get(st, "approved")) +
			      json_integer_value(json_object_get(st, "denied")) +
			      json_integer_value(json_object_get(st, "expired")) ==
		      told);
		CHECK(told <= 1 && votes_recorded <= 1);
		CHECK(may_vote || votes_recorded == 0);
		json_decref(st);
	}
	sp_approvals_close();
	CHECK(told <= 1);
	return 0;
}
