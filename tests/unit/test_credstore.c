/* SPDX-License-Identifier: MIT */
/*
 * test_credstore.c — unit tests of the upstream credential store
 * (slowpath/credstore.c): lookups, every refusal of the content with its
 * file:line:column, the file checks on the opened descriptor (mode,
 * owner, type), and that no error message ever quotes a password.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "credstore.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char good[] =
	"{\n"
	"  \"demo-pg\": {\n"
	"    \"app_reader\": { \"method\": \"scram-sha-256\", \"password\": \"r3ader-pw\" },\n"
	"    \"app_admin\": { \"method\": \"md5\", \"password\": \"adm!n\" },\n"
	"    \"app_batch\": { \"method\": \"trust\" }\n"
	"  },\n"
	"  \"other-pg\": {\n"
	"    \"app_reader\": { \"method\": \"password\", \"password\": \"p\\u00e4ss\" }\n"
	"  }\n"
	"}\n";

static void
test_lookup(void **state)
{
	struct tg_credstore *cs;
	const struct tg_cred *c;
	char err[256];

	assert_int_equal(
		tg_credstore_parse(good, strlen(good), "creds.json", &cs, err, sizeof(err)), 0);
	assert_int_equal(tg_credstore_count(cs), 4);
	assert_int_equal(tg_credstore_lookup(cs, "demo-pg", "app_reader", &c), 0);
	assert_int_equal(c->method, TG_UPAUTH_SCRAM);
	assert_string_equal(c->password, "r3ader-pw");
	assert_int_equal(c->password_len, 9);
	assert_string_equal(c->service, "demo-pg");
	assert_string_equal(c->role, "app_reader");
	assert_int_equal(tg_credstore_lookup(cs, "demo-pg", "app_admin", &c), 0);
	assert_int_equal(c->method, TG_UPAUTH_MD5);
	assert_int_equal(tg_credstore_lookup(cs, "demo-pg", "app_batch", &c), 0);
	assert_int_equal(c->method, TG_UPAUTH_TRUST);
	assert_string_equal(c->password, "");
	/* a non-ASCII cleartext password is fine: no SASLprep is involved */
	assert_int_equal(tg_credstore_lookup(cs, "other-pg", "app_reader", &c), 0);
	assert_string_equal(c->password, "p\xc3\xa4ss");
	assert_int_equal(tg_credstore_lookup(cs, "other-pg", "app_admin", &c), -ENOENT);
	assert_int_equal(tg_credstore_lookup(cs, "nope", "app_reader", &c), -ENOENT);
	tg_credstore_free(cs);
	tg_credstore_free(NULL);
}

static void
test_refused_content(void **state)
{
	static const struct {
		const char *text;
		const char *where; /* expected "creds.json:L:C: " prefix */
		const char *why;
	} cases[] = {
		{ "[]", "creds.json:1:1: ", "must be a JSON object" },
		{ "{\"s\": 1}", "creds.json:1:7: ", "must be an object of roles" },
		{ "{\"s\": {\"r\": \"pw-x1\"}}", "creds.json:1:13: ", "must be an object" },
		{ "{\"s\": {\"r\": {\"password\": \"pw-x1\"}}}",
		  "creds.json:1:13: ", "no \"method\"" },
		{ "{\"s\": {\"r\": {\"method\": \"sha1\", \"password\": \"pw-x1\"}}}",
		  "creds.json:1:24: ", "method must be one of" },
		{ "{\"s\": {\"r\": {\"method\": \"md5\"}}}",
		  "creds.json:1:13: ", "no \"password\"" },
		{ "{\"s\": {\"r\": {\"method\": \"trust\",\n \"password\": \"pw-x1\"}}}",
		  "creds.json:2:2: ", "trust credential has no password" },
		{ "{\"s\": {\"r\": {\"method\": \"md5\", \"password\": \"\"}}}",
		  "creds.json:1:43: ", "1..1000 bytes" },
		{ "{\"s\": {\"r\": {\"method\": \"md5\", \"password\": \"pw\\u0000x1\"}}}",
		  "creds.json:1:", "not valid JSON" }, /* jansson refuses \u0000 */
		{ "{\"s\": {\"r\": {\"method\": \"md5\", \"password\": 7}}}",
		  "creds.json:1:43: ", "must be a string" },
		{ "{\"s\": {\"r\": {\"method\": \"scram-sha-256\", \"password\": \"pw-\\u00e4\"}}}",
		  "creds.json:1:53: ", "printable ASCII" },
		{ "{\"s\": {\"r\": {\"method\": \"md5\", \"password\": \"pw-x1\", \"pw\": 1}}}",
		  "creds.json:1:52: ", "unknown key \"pw\"" },
		{ "{\"s\": {\"\": {\"method\": \"trust\"}}}", "creds.json:1:8: ", "role name" },
		{ "{\"\": {}}", "creds.json:1:2: ", "service name" },
		{ "{\"s\": {\"r\": {\"method\": \"md5\", \"password\": \"pw-x1\"}}, \"s\": {}}",
		  "creds.json:1:", "not valid JSON" },
		/* a syntax error inside a password: jansson's text would quote it */
		{ "{\"s\": {\"r\": {\"method\": \"md5\", \"password\": \"pw-x1\n\"}}}",
		  "creds.json:", "not valid JSON" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tg_credstore *cs = (void *)1;
		char err[256];
		int rc = tg_credstore_parse(cases[i].text, strlen(cases[i].text), "creds.json", &cs,
					    err, sizeof(err));

		if (rc != -EINVAL || strncmp(err, cases[i].where, strlen(cases[i].where)) != 0 ||
		    strstr(err, cases[i].why) == NULL)
			fail_msg("case %zu: %d \"%s\"", i, rc, err);
		assert_null(cs);
		/* every password in these cases starts "pw-" or "pw": never echoed */
		assert_null(strstr(err, "pw-"));
		assert_null(strstr(err, "pw\\"));
	}
}

/* A temporary file holding text with mode; returns its path in buf. */
static void
write_file(char *buf, size_t n, const char *dir, const char *name, const char *text, mode_t mode)
{
	int fd;

	snprintf(buf, n, "%s/%s", dir, name);
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_file_checks(void **state)
{
	char dir[] = "/tmp/tg-credstore-XXXXXX", path[512], link[512], err[512];
	static const mode_t bad_modes[] = { 0640, 0604, 0660, 0644, 0602, 0620, 0601 };
	struct tg_credstore *cs;
	const struct tg_cred *c;
	size_t i;

	assert_non_null(mkdtemp(dir));

	write_file(path, sizeof(path), dir, "ok.json", good, 0600);
	assert_int_equal(tg_credstore_load(path, (uid_t)-1, &cs, err, sizeof(err)), 0);
	assert_int_equal(tg_credstore_lookup(cs, "demo-pg", "app_admin", &c), 0);
	assert_string_equal(c->password, "adm!n");
	tg_credstore_free(cs);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(tg_credstore_load(path, (uid_t)-1, &cs, err, sizeof(err)), 0);
	tg_credstore_free(cs);

	/* a symlink is followed: the checks are on the file it names, once opened */
	snprintf(link, sizeof(link), "%s/link.json", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(tg_credstore_load(link, (uid_t)-1, &cs, err, sizeof(err)), 0);
	tg_credstore_free(cs);

	for (i = 0; i < ARRAY_SIZE(bad_modes); i++) {
		assert_int_equal(chmod(path, bad_modes[i]), 0);
		assert_int_equal(tg_credstore_load(path, (uid_t)-1, &cs, err, sizeof(err)), -EACCES);
		assert_null(cs);
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, "group or others"));
		/* through the symlink too */
		assert_int_equal(tg_credstore_load(link, (uid_t)-1, &cs, err, sizeof(err)), -EACCES);
	}
	assert_int_equal(chmod(path, 0600), 0);

	/* owned by someone else (only root can give a file away) */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(tg_credstore_load(path, (uid_t)-1, &cs, err, sizeof(err)), -EACCES);
		assert_non_null(strstr(err, "owned by uid 65534"));
		/* unless that is the user the slowpath is about to run as */
		assert_int_equal(tg_credstore_load(path, 65534, &cs, err, sizeof(err)), 0);
		tg_credstore_free(cs);
		cs = NULL;
		assert_int_equal(tg_credstore_load(path, 65533, &cs, err, sizeof(err)), -EACCES);
		assert_int_equal(chown(path, 0, 0), 0);
	}

	/* not a regular file; not there */
	assert_int_equal(tg_credstore_load(dir, (uid_t)-1, &cs, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "not a regular file"));
	snprintf(link, sizeof(link), "%s/none.json", dir);
	assert_int_equal(tg_credstore_load(link, (uid_t)-1, &cs, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "none.json"));

	/* bad content in a good file: the path and the position */
	write_file(path, sizeof(path), dir, "bad.json",
		   "{\"s\": {\"r\": {\"method\": \"md4\", \"password\": \"pw-x1\"}}}", 0600);
	assert_int_equal(tg_credstore_load(path, (uid_t)-1, &cs, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad.json:1:24: method"));
	assert_null(strstr(err, "pw-x1"));

	unlink(path);
	snprintf(path, sizeof(path), "%s/ok.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/link.json", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_method_names(void **state)
{
	enum tg_upauth_method m;

	assert_int_equal(tg_credstore_method("scram-sha-256", &m), 0);
	assert_int_equal(m, TG_UPAUTH_SCRAM);
	assert_string_equal(tg_upauth_method_name(m), "scram-sha-256");
	assert_int_equal(tg_credstore_method("password", &m), 0);
	assert_string_equal(tg_upauth_method_name(m), "password");
	assert_int_equal(tg_credstore_method("SCRAM-SHA-256", &m), -EINVAL);
	assert_int_equal(tg_credstore_method("", &m), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_refused_content),
		cmocka_unit_test(test_file_checks),
		cmocka_unit_test(test_method_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
