/* SPDX-License-Identifier: MIT */
/*
 * pgauth.c — logs in to a real PostgreSQL server over TCP the way the
 * slowpath does in auth takeover, with the pure libraries and nothing
 * else: the identity map (idmap.h) picks the role for the token's claims
 * (or --role names it), the credential store (credstore.h) gives its
 * secret, tg_upauth_startup() builds the StartupMessage from a client's,
 * and the tg_upauth state machine is driven over the socket until
 * AuthenticationOk. Then it runs "select current_user,
 * current_setting('application_name')" as a simple Query and checks the
 * answer: the mapped role, and the client's application_name passed
 * through. Used by tests/upstream/run.
 *
 *   pgauth --port N --creds FILE --service S (--role R | --policy FILE --claims JSON)
 *          [--database D] [--client-options OPTS] [--expect-sqlstate CODE]
 *          [--expect-refusal]
 *
 * Exit 0 when the outcome is the expected one: a login as the role, or
 * with --expect-sqlstate the server's ErrorResponse with that code, or
 * with --expect-refusal a refusal by the gateway itself (before or
 * during authentication, with no server error). Prints one line saying
 * what happened; 1 otherwise, 2 for usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "credstore.h"
#include "idmap.h"
#include "upstream_auth.h"

#define APP_NAME "tg-upstream-test"
#define TIMEOUT_MS 10000

struct conn {
	int fd;
	uint8_t buf[65536];
	size_t len;
};

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The next whole backend message into c->buf[0..*n); 0 or -errno. */
static int
next_msg(struct conn *c, size_t *n)
{
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int rc = tg_upauth_msg_len(c->buf, c->len, n);
		ssize_t r;

		if (rc == 0)
			return 0;
		if (rc != -EAGAIN)
			return rc;
		if (poll(&p, 1, TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0)
			return -errno;
		c->len += (size_t)r;
	}
}

static void
consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* A client's StartupMessage, as psql would send it for user "token-user". */
static size_t
client_startup(uint8_t *b, size_t cap, const char *database, const char *options)
{
	const char *kv[] = { "user",   "token-user",	  "database", database,	 "application_name",
			     APP_NAME, "client_encoding", "UTF8",     "options", options };
	size_t n = 8, i, pairs = options != NULL ? 10 : 8;

	for (i = 0; i < pairs; i++) {
		size_t l = strlen(kv[i]) + 1;

		if (n + l + 1 > cap)
			return 0;
		memcpy(b + n, kv[i], l);
		n += l;
	}
	b[n++] = 0;
	b[0] = (uint8_t)(n >> 24);
	b[1] = (uint8_t)(n >> 16);
	b[2] = (uint8_t)(n >> 8);
	b[3] = (uint8_t)n;
	memcpy(b + 4, "\x00\x03\x00\x00", 4);
	return n;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *t;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	t = malloc((size_t)n + 1);
	if (t != NULL && fread(t, 1, (size_t)n, f) != (size_t)n) {
		free(t);
		t = NULL;
	}
	fclose(f);
	if (t != NULL) {
		t[n] = '\0';
		*len = (size_t)n;
	}
	return t;
}

/*
 * After AuthenticationOk: skip to ReadyForQuery, send the Query, read the
 * one DataRow's two columns. 0 or -1 with a reason printed.
 */
static int
query(struct conn *c, char *user, size_t ul, char *app, size_t al)
{
	static const char sql[] = "select current_user, current_setting('application_name')";
	uint8_t q[128];
	size_t n;
	bool row = false;
	int rc;

	for (;;) {
		if ((rc = next_msg(c, &n)) < 0) {
			printf("reading after AuthenticationOk: %s\n", strerror(-rc));
			return -1;
		}
		if (c->buf[0] == 'E') {
			printf("server error after AuthenticationOk\n");
			return -1;
		}
		if (c->buf[0] == 'Z') {
			consume(c, n);
			break;
		}
		consume(c, n);
	}
	/* Query: 'Q', int32 length, String */
	q[0] = 'Q';
	n = 4 + sizeof(sql);
	q[1] = 0;
	q[2] = 0;
	q[3] = (uint8_t)(n >> 8);
	q[4] = (uint8_t)n;
	memcpy(q + 5, sql, sizeof(sql));
	if (send_all(c->fd, q, 1 + n) < 0) {
		printf("sending the query: %s\n", strerror(errno));
		return -1;
	}
	for (;;) {
		if ((rc = next_msg(c, &n)) < 0) {
			printf("reading the result: %s\n", strerror(-rc));
			return -1;
		}
		if (c->buf[0] == 'D') {
			/* DataRow: int16 count, then (int32 length, bytes) per column */
			const uint8_t *p = c->buf + 5, *end = c->buf + n;
			char *dst[2] = { user, app };
			size_t cap[2] = { ul, al };
			int i;

			if (end - p < 2 || (p[0] << 8 | p[1]) != 2) {
				printf("DataRow without 2 columns\n");
				return -1;
			}
			p += 2;
			for (i = 0; i < 2; i++) {
				uint32_t l;

				if (end - p < 4 || (l = be32(p)) > (size_t)(end - p - 4) ||
				    l >= cap[i]) {
					printf("DataRow column %d malformed\n", i);
					return -1;
				}
				memcpy(dst[i], p + 4, l);
				dst[i][l] = '\0';
				p += 4 + l;
			}
			row = true;
		} else if (c->buf[0] == 'E') {
			printf("query failed\n");
			return -1;
		} else if (c->buf[0] == 'Z') {
			consume(c, n);
			break;
		}
		consume(c, n);
	}
	if (!row) {
		printf("no row\n");
		return -1;
	}
	/* Terminate: 'X', int32 4 */
	send_all(c->fd, (const uint8_t *)"X\0\0\0\4", 5);
	return 0;
}

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --port N --creds FILE --service S (--role R | --policy FILE "
		"--claims JSON)\n"
		"       [--database D] [--client-options OPTS] [--expect-sqlstate CODE] "
		"[--expect-refusal]\n",
		prog);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "creds", required_argument, NULL, 'c' },
		{ "service", required_argument, NULL, 's' },
		{ "role", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'P' },
		{ "claims", required_argument, NULL, 'C' },
		{ "database", required_argument, NULL, 'd' },
		{ "client-options", required_argument, NULL, 'o' },
		{ "expect-sqlstate", required_argument, NULL, 'e' },
		{ "expect-refusal", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *creds = NULL, *service = NULL, *role = NULL, *policy = NULL, *claims = NULL;
	const char *database = "postgres", *options = NULL, *expect_state = NULL;
	bool expect_refusal = false;
	struct tg_credstore *cs = NULL;
	struct tg_idmap *map = NULL;
	struct tg_upauth *a = NULL;
	const struct tg_cred *cred;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	uint8_t cstart[1024], start[TG_UPAUTH_STARTUP_MAX], out[TG_UPAUTH_OUT_MAX];
	static struct conn c;
	char err[512], user[128], app[128];
	size_t cl, sl, n, olen;
	int port = 0, o, rc, ret = 1;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'c':
			creds = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'r':
			role = optarg;
			break;
		case 'P':
			policy = optarg;
			break;
		case 'C':
			claims = optarg;
			break;
		case 'd':
			database = optarg;
			break;
		case 'o':
			options = optarg;
			break;
		case 'e':
			expect_state = optarg;
			break;
		case 'R':
			expect_refusal = true;
			break;
		default:
			usage(argv[0]);
			return 2;
		}
	}
	if (port <= 0 || port > 65535 || creds == NULL || service == NULL ||
	    (role == NULL) == (policy == NULL) || (policy != NULL) != (claims != NULL)) {
		usage(argv[0]);
		return 2;
	}
	c.fd = -1;

	/* 1. the role: given, or mapped from the claims by the policy */
	if (policy != NULL) {
		struct tg_idmap_decision d;
		json_error_t je;
		json_t *cj;
		size_t pl;
		char *text = slurp(policy, &pl);

		if (text == NULL) {
			printf("cannot read %s\n", policy);
			goto out;
		}
		rc = tg_idmap_parse(text, pl, policy, NULL, 0, &map, err, sizeof(err));
		free(text);
		if (rc < 0) {
			printf("idmap: %s\n", err);
			goto out;
		}
		cj = json_loads(claims, 0, &je);
		if (cj == NULL || tg_idmap_resolve(map, cj, service, &d) < 0) {
			printf("claims: %s\n", cj == NULL ? je.text : "resolve failed");
			json_decref(cj);
			goto out;
		}
		json_decref(cj);
		if (!d.allow) {
			printf("identity refused: %s\n", d.reason);
			ret = expect_refusal ? 0 : 1;
			goto out;
		}
		role = d.role;
		printf("identity: %s\n", d.reason);
	}

	/* 2. its credential */
	if ((rc = tg_credstore_load(creds, (uid_t)-1, &cs, err, sizeof(err))) < 0) {
		printf("credstore: %s\n", err);
		goto out;
	}
	if (tg_credstore_lookup(cs, service, role, &cred) < 0) {
		printf("no credential for %s/%s\n", service, role);
		goto out;
	}

	/* 3. the StartupMessage, from the client's */
	cl = client_startup(cstart, sizeof(cstart), database, options);
	rc = tg_upauth_startup(cstart, cl, role, NULL, start, sizeof(start), &sl, err, sizeof(err));
	if (rc < 0) {
		printf("startup refused: %s\n", err);
		ret = expect_refusal ? 0 : 1;
		goto out;
	}
	a = tg_upauth_new(role, cred->password, cred->method);
	if (a == NULL) {
		printf("tg_upauth_new: %s\n", strerror(errno));
		goto out;
	}

	/* 4. connect, send, and drive the state machine */
	c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		printf("connect 127.0.0.1:%d: %s\n", port, strerror(errno));
		goto out;
	}
	if (send_all(c.fd, start, sl) < 0) {
		printf("send: %s\n", strerror(errno));
		goto out;
	}
	for (;;) {
		if ((rc = next_msg(&c, &n)) < 0) {
			printf("reading: %s\n", strerror(-rc));
			goto out;
		}
		rc = tg_upauth_feed(a, c.buf, n, out, sizeof(out), &olen);
		consume(&c, n);
		if (olen > 0) {
			int s = send_all(c.fd, out, olen);

			explicit_bzero(out, sizeof(out));
			if (s < 0) {
				printf("send: %s\n", strerror(-s));
				goto out;
			}
		}
		if (rc != TG_UPAUTH_MORE)
			break;
	}
	if (rc < 0) {
		printf("login failed (%s): %s\n", strerror(-rc), tg_upauth_reason(a));
		if (expect_state != NULL && rc == -EACCES &&
		    strcmp(tg_upauth_sqlstate(a), expect_state) == 0)
			ret = 0;
		if (expect_refusal && rc != -EACCES && tg_upauth_sqlstate(a)[0] == '\0')
			ret = 0;
		goto out;
	}
	if (expect_state != NULL || expect_refusal) {
		printf("login succeeded, a refusal was expected\n");
		goto out;
	}

	/* 5. who are we? */
	if (query(&c, user, sizeof(user), app, sizeof(app)) < 0)
		goto out;
	printf("logged in with %s: current_user=%s application_name=%s\n",
	       tg_upauth_method_name(tg_upauth_used(a)), user, app);
	if (strcmp(user, role) != 0 || strcmp(app, APP_NAME) != 0) {
		printf("expected current_user=%s application_name=%s\n", role, APP_NAME);
		goto out;
	}
	ret = 0;
out:
	if (c.fd >= 0)
		close(c.fd);
	tg_upauth_free(a);
	tg_credstore_free(cs);
	tg_idmap_free(map);
	return ret;
}
