/* SPDX-License-Identifier: MIT */
/*
 * test_config.c — unit tests of the dataplane's options (config.c): the
 * command line (tg_config_parse_args()) and the JSON file
 * (tg_config_load_file()).
 *
 * Every case starts from tg_config_defaults(). Config files are written to
 * mkstemp() files and removed in the teardown. The error stream is an
 * open_memstream(), so each refusal is checked for the parts of its
 * message an operator needs: where (file, line and column, or the JSON
 * path such as services[1]), which key, and what is allowed. Messages are
 * matched on those parts, not word for word.
 *
 * Every case is deterministic; nothing but the temporary files touches the
 * file system.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "service.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PROG "tollgate-dataplane"

/* ---------------------------------------------------------------------
 * Harness: error stream, temporary files, argv
 * ------------------------------------------------------------------- */

static char *err_buf;
static size_t err_len;
static FILE *err_f;

#define MAX_TMP 8
static char tmp_paths[MAX_TMP][64];
static unsigned int nb_tmp;

static struct tg_dp_config cfg;

/*
 * Argument strings live until the teardown: getopt_long() keeps a pointer
 * into the last argument it read (glibc's __nextchar) across calls, so
 * freeing them after each call would leave the next call reading freed
 * memory (libc is not instrumented, ASan would not see it).
 */
#define MAX_ARGS 256
static char *arg_pool[MAX_ARGS];
static unsigned int nb_args;

static char *
arg_dup(const char *a)
{
	assert_true(nb_args < MAX_ARGS);
	arg_pool[nb_args] = strdup(a);
	assert_non_null(arg_pool[nb_args]);
	return arg_pool[nb_args++];
}

/*
 * Resets getopt completely (optind 0 makes glibc reinitialise, which
 * clears __nextchar), so no case depends on the one before it.
 */
static void
getopt_reset(void)
{
	static const struct option none[] = { { NULL, 0, NULL, 0 } };
	static char prog[] = PROG;
	char *argv[] = { prog, NULL };

	optind = 0;
	opterr = 0;
	assert_int_equal(getopt_long(1, argv, ":", none, NULL), -1);
}

static int
setup(void **state)
{
	(void)state;
	err_f = open_memstream(&err_buf, &err_len);
	if (err_f == NULL)
		return -1;
	tg_config_defaults(&cfg);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (err_f)
		fclose(err_f);
	err_f = NULL;
	free(err_buf);
	err_buf = NULL;
	while (nb_tmp)
		unlink(tmp_paths[--nb_tmp]);
	getopt_reset();
	while (nb_args)
		free(arg_pool[--nb_args]);
	return 0;
}

/* What was written to the error stream so far. */
static const char *
err_text(void)
{
	fflush(err_f);
	return err_buf ? err_buf : "";
}

/* Empties the error stream between steps of one case. */
static void
err_reset(void)
{
	fclose(err_f);
	free(err_buf);
	err_buf = NULL;
	err_f = open_memstream(&err_buf, &err_len);
	assert_non_null(err_f);
}

static void
assert_err_has(const char *what, const char *needle)
{
	const char *t = err_text();

	if (strstr(t, needle) == NULL)
		fail_msg("%s: error output lacks '%s'; it was: '%s'", what, needle, t);
}

static void
assert_err_empty(const char *what)
{
	const char *t = err_text();

	if (t[0] != '\0')
		fail_msg("%s: unexpected error output '%s'", what, t);
}

/* Writes text to a new temporary file; returns its path (valid until the teardown). */
static const char *
tmp_file(const char *text)
{
	char *path;
	size_t len = strlen(text);
	int fd;

	assert_true(nb_tmp < MAX_TMP);
	path = tmp_paths[nb_tmp];
	snprintf(path, sizeof(tmp_paths[0]), "/tmp/tg-test-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	nb_tmp++;
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/*
 * Runs tg_config_parse_args() on PROG followed by the NULL-terminated
 * arguments, from writable copies (getopt_long permutes argv).
 */
static int
run_args(const char *const *args)
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = arg_dup(PROG);
	while (*args) {
		assert_true(argc < (int)ARRAY_SIZE(argv) - 1);
		argv[argc++] = arg_dup(*args++);
	}
	argv[argc] = NULL;
	return tg_config_parse_args(&cfg, argc, argv, err_f);
}

#define ARGS(...) run_args((const char *const[]){ __VA_ARGS__, NULL })

static int
load(const char *text)
{
	return tg_config_load_file(&cfg, tmp_file(text), err_f);
}

/* ---------------------------------------------------------------------
 * Command line
 * ------------------------------------------------------------------- */

static void
test_args_none(void **state)
{
	struct tg_dp_config want;

	(void)state;
	tg_config_defaults(&want);
	assert_int_equal(run_args((const char *const[]){ NULL }), 0);
	assert_memory_equal(&cfg, &want, sizeof(want));
	assert_err_empty("no arguments");
}

static void
test_args_pair_forms(void **state)
{
	(void)state;
	assert_int_equal(ARGS("--pair", "0:1", "--pair=2:3", "--pair",
			      "net_af_packet0:net_af_packet1", "--pair",
			      "0000:01:00.0,0000:02:00.0", "--pair", "a:b,c"),
			 0);
	assert_err_empty("pairs");
	assert_int_equal(cfg.nb_pairs, 5);
	assert_string_equal(cfg.pairs[0].out, "0");
	assert_string_equal(cfg.pairs[0].in, "1");
	assert_string_equal(cfg.pairs[1].out, "2");
	assert_string_equal(cfg.pairs[1].in, "3");
	assert_string_equal(cfg.pairs[2].out, "net_af_packet0");
	assert_string_equal(cfg.pairs[2].in, "net_af_packet1");
	/* OUT,IN when the names contain ':' (PCI addresses) */
	assert_string_equal(cfg.pairs[3].out, "0000:01:00.0");
	assert_string_equal(cfg.pairs[3].in, "0000:02:00.0");
	/* a comma always separates */
	assert_string_equal(cfg.pairs[4].out, "a:b");
	assert_string_equal(cfg.pairs[4].in, "c");
}

/* Names of 63 characters fit the 64-byte fields; 64 do not. */
static void
test_args_pair_name_length(void **state)
{
	char arg[160];

	(void)state;
	snprintf(arg, sizeof(arg), "%063d:%063d", 1, 2);
	assert_int_equal(ARGS("--pair", arg), 0);
	assert_int_equal(strlen(cfg.pairs[0].out), 63);
	assert_int_equal(strlen(cfg.pairs[0].in), 63);

	snprintf(arg, sizeof(arg), "%064d:1", 1);
	assert_int_equal(ARGS("--pair", arg), -EINVAL);
	assert_err_has("64-char OUT", "expected OUT:IN");
	err_reset();
	snprintf(arg, sizeof(arg), "1,%064d", 1);
	assert_int_equal(ARGS("--pair", arg), -EINVAL);
	assert_err_has("64-char IN", "expected OUT:IN");
}

static void
test_args_pair_malformed(void **state)
{
	static const char *const bad[] = {
		"0", "0:", ":1", "", ",", "a,", ",b", ":", "a:b:c", "0000:01:00.0:0000:02:00.0",
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		char want[96];

		tg_config_defaults(&cfg);
		err_reset();
		if (ARGS("--pair", bad[i]) != -EINVAL)
			fail_msg("--pair '%s' accepted", bad[i]);
		snprintf(want, sizeof(want), "--pair %s: expected OUT:IN (or OUT,IN)", bad[i]);
		assert_err_has(bad[i], want);
		assert_int_equal(cfg.nb_pairs, 0);
	}
}

static void
test_args_pair_too_many(void **state)
{
	(void)state;
	assert_int_equal(ARGS("--pair", "0:1", "--pair", "2:3", "--pair", "4:5", "--pair", "6:7",
			      "--pair", "8:9", "--pair", "10:11", "--pair", "12:13", "--pair",
			      "14:15"),
			 0);
	assert_int_equal(cfg.nb_pairs, TG_MAX_PAIRS);
	tg_config_defaults(&cfg);
	assert_int_equal(ARGS("--pair", "0:1", "--pair", "2:3", "--pair", "4:5", "--pair", "6:7",
			      "--pair", "8:9", "--pair", "10:11", "--pair", "12:13", "--pair",
			      "14:15", "--pair", "16:17"),
			 -EINVAL);
	assert_err_has("9 pairs", "--pair 16:17: at most 8 pairs");
	assert_int_equal(cfg.nb_pairs, TG_MAX_PAIRS);
}

static void
test_args_stats_interval(void **state)
{
	static const char *const bad[] = {
		"86401", "-1", "+1", "", "abc", "10s", "1e3", "0x10", "99999999999999999999999",
	};
	unsigned int i;

	(void)state;
	assert_int_equal(ARGS("--stats-interval", "0"), 0);
	assert_int_equal(cfg.stats_interval, 0);
	assert_int_equal(ARGS("--stats-interval", "86400"), 0);
	assert_int_equal(cfg.stats_interval, 86400);
	assert_int_equal(ARGS("--stats-interval=5"), 0);
	assert_int_equal(cfg.stats_interval, 5);
	assert_err_empty("good intervals");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		char want[96];

		err_reset();
		if (ARGS("--stats-interval", bad[i]) != -EINVAL)
			fail_msg("--stats-interval '%s' accepted", bad[i]);
		snprintf(want, sizeof(want), "--stats-interval: stats interval '%s'", bad[i]);
		assert_err_has(bad[i], want);
		assert_err_has(bad[i], "0..86400");
		assert_int_equal(cfg.stats_interval, 5);
	}
}

static void
test_args_idle_sleep(void **state)
{
	static const char *const bad[] = { "10001", "-1", "+5", "", "5us", "4294967296" };
	unsigned int i;

	(void)state;
	assert_int_equal(ARGS("--idle-sleep-max", "0"), 0);
	assert_int_equal(cfg.idle_sleep_max_us, 0);
	assert_int_equal(ARGS("--idle-sleep-max", "10000"), 0);
	assert_int_equal(cfg.idle_sleep_max_us, TG_IDLE_SLEEP_MAX_US);
	assert_int_equal(ARGS("--idle-sleep-max=200"), 0);
	assert_int_equal(cfg.idle_sleep_max_us, 200);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err_reset();
		if (ARGS("--idle-sleep-max", bad[i]) != -EINVAL)
			fail_msg("--idle-sleep-max '%s' accepted", bad[i]);
		assert_err_has(bad[i], "--idle-sleep-max: idle sleep");
		assert_err_has(bad[i], "0..10000");
		assert_int_equal(cfg.idle_sleep_max_us, 200);
	}
}

static void
test_args_unknown(void **state)
{
	(void)state;
	assert_int_equal(ARGS("--bogus"), -EINVAL);
	assert_err_has("--bogus", "unknown option '--bogus'");
	err_reset();
	assert_int_equal(ARGS("--pair", "0:1", "--bogus=1"), -EINVAL);
	assert_err_has("--bogus=1", "unknown option '--bogus=1'");
	err_reset();
	assert_int_equal(ARGS("-x"), -EINVAL);
	assert_err_has("-x", "unknown option '-x'");
	err_reset();
	/* a flag given a value */
	assert_int_equal(ARGS("--help=yes"), -EINVAL);
	assert_err_has("--help=yes", "--help=yes");
	err_reset();
	assert_int_equal(ARGS("stray"), -EINVAL);
	assert_err_has("stray", "unexpected argument 'stray'");
	err_reset();
	assert_int_equal(ARGS("--pair", "0:1", "stray"), -EINVAL);
	assert_err_has("stray after --pair", "unexpected argument 'stray'");
}

static void
test_args_missing_value(void **state)
{
	static const char *const opts[] = { "--pair", "--stats-interval", "--idle-sleep-max",
					    "--config" };
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(opts); i++) {
		char want[64];

		err_reset();
		if (ARGS(opts[i]) != -EINVAL)
			fail_msg("%s without a value accepted", opts[i]);
		snprintf(want, sizeof(want), "%s: option needs a value", opts[i]);
		assert_err_has(opts[i], want);
	}
}

/*
 * An unknown short option inside a cluster ("-xy"): getopt has not moved
 * optind past the argument yet, so argv[optind - 1] is the argument
 * before it, here the program name. The message must name the option.
 */
static void
test_args_unknown_cluster(void **state)
{
	(void)state;
	assert_int_equal(ARGS("-xy"), -EINVAL);
	if (strstr(err_text(), "'" PROG "'") != NULL || strstr(err_text(), "-x") == NULL)
		fail_msg("\"-xy\": the message names the wrong argument: '%s'", err_text());
}

/*
 * tg_config_parse_args() resets getopt with optind = 1, which in glibc
 * does not clear its position inside a short-option cluster: after a
 * refused "-xy", the next call goes on with the 'y' of the old argv and
 * refuses valid arguments. (optind = 0 reinitialises glibc's getopt.)
 */
static void
test_args_reparse(void **state)
{
	(void)state;
	assert_int_equal(ARGS("-xy"), -EINVAL);
	err_reset();
	tg_config_defaults(&cfg);
	if (ARGS("--pair", "0:1") != 0)
		fail_msg("a valid --pair after a refused \"-xy\": refused: '%s'", err_text());
	assert_int_equal(cfg.nb_pairs, 1);
}

/* --help prints the usage on stdout and returns 1. */
static void
test_args_help(void **state)
{
	char out[4096];
	const char *path = tmp_file("");
	FILE *f;
	size_t n;
	int saved, fd, rc;

	(void)state;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	rc = ARGS("--pair", "0:1", "--help", "--stats-interval", "5");
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	assert_int_equal(rc, 1);
	assert_err_empty("--help");

	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	fclose(f);
	out[n] = '\0';
	assert_non_null(strstr(out, "Usage: " PROG " [EAL options] -- [options]"));
	assert_non_null(strstr(out, "--pair OUT:IN"));
	assert_non_null(strstr(out, "--config FILE"));
	assert_non_null(strstr(out, "at most 10000"));
}

/*
 * --config is applied first wherever it stands; the other options then
 * win over the file, and a command-line --pair replaces the file's pairs.
 */
static void
test_args_config_first(void **state)
{
	const char *path = tmp_file("{\n"
				    "  \"pairs\": [[\"f0\", \"f1\"], [\"f2\", \"f3\"]],\n"
				    "  \"stats_interval\": 30,\n"
				    "  \"idle_sleep_max_us\": 100,\n"
				    "  \"flows\": { \"max\": 5000 }\n"
				    "}\n");
	char arg[96];

	(void)state;
	/* the file alone */
	assert_int_equal(ARGS("--config", path), 0);
	assert_int_equal(cfg.nb_pairs, 2);
	assert_string_equal(cfg.pairs[1].in, "f3");
	assert_int_equal(cfg.stats_interval, 30);
	assert_int_equal(cfg.idle_sleep_max_us, 100);
	assert_int_equal(cfg.flow.max_flows, 5000);
	assert_string_equal(cfg.config_path, path);

	/* options before --config still win over it */
	tg_config_defaults(&cfg);
	assert_int_equal(ARGS("--stats-interval", "7", "--pair", "x:y", "--config", path), 0);
	assert_int_equal(cfg.stats_interval, 7);
	assert_int_equal(cfg.idle_sleep_max_us, 100);
	assert_int_equal(cfg.nb_pairs, 1);
	assert_string_equal(cfg.pairs[0].out, "x");
	assert_string_equal(cfg.pairs[0].in, "y");

	/* --config=FILE, two command-line pairs replace the file's two */
	tg_config_defaults(&cfg);
	snprintf(arg, sizeof(arg), "--config=%s", path);
	assert_int_equal(ARGS("--pair", "a:b", arg, "--pair", "c:d", "--idle-sleep-max", "0"), 0);
	assert_int_equal(cfg.nb_pairs, 2);
	assert_string_equal(cfg.pairs[0].out, "a");
	assert_string_equal(cfg.pairs[1].in, "d");
	assert_int_equal(cfg.idle_sleep_max_us, 0);
	assert_int_equal(cfg.stats_interval, 30);
	assert_string_equal(cfg.config_path, path);
	assert_err_empty("config first");
}

static void
test_args_config_errors(void **state)
{
	const char *bad = tmp_file("{ \"stats_interval\": 86401 }");
	char longpath[300];

	(void)state;
	assert_int_equal(ARGS("--config", "/nonexistent/tollgate.json"), -EINVAL);
	assert_err_has("missing file", "/nonexistent/tollgate.json: ");
	err_reset();
	assert_int_equal(ARGS("--pair", "0:1", "--config", bad), -EINVAL);
	assert_err_has("bad file", bad);
	assert_err_has("bad file", "\"stats_interval\" must be an integer in 0..86400");
	assert_int_equal(cfg.config_path[0], '\0');
	err_reset();
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(ARGS("--config", longpath), -EINVAL);
	assert_err_has("long path", "--config: path too long");
}

/*
 * getopt_long() takes any unambiguous prefix of a long option, so
 * "--conf FILE" is --config to it. The file must then be loaded (or the
 * option refused); returning 0 with the file silently ignored runs the
 * gateway with a configuration the operator did not ask for.
 */
static void
test_args_config_abbreviated(void **state)
{
	const char *path = tmp_file("{ \"stats_interval\": 42 }");
	char arg[96];
	int rc;

	(void)state;
	rc = ARGS("--conf", path);
	if (rc == 0 && cfg.stats_interval != 42)
		fail_msg("--conf FILE: accepted, FILE not loaded (stats_interval %u, want 42)",
			 cfg.stats_interval);
	tg_config_defaults(&cfg);
	snprintf(arg, sizeof(arg), "--con=%s", path);
	rc = ARGS(arg);
	if (rc == 0 && cfg.stats_interval != 42)
		fail_msg("--con=FILE: accepted, FILE not loaded (stats_interval %u, want 42)",
			 cfg.stats_interval);
}

/* The other long options may be abbreviated too, and work. */
static void
test_args_abbreviated(void **state)
{
	(void)state;
	assert_int_equal(ARGS("--stats", "9", "--idle=50", "--pa", "0:1"), 0);
	assert_int_equal(cfg.stats_interval, 9);
	assert_int_equal(cfg.idle_sleep_max_us, 50);
	assert_int_equal(cfg.nb_pairs, 1);
}

/* ---------------------------------------------------------------------
 * Config file: accepted
 * ------------------------------------------------------------------- */

static const char full_config[] =
	"{\n"
	"  \"pairs\": [ [\"net_af_packet0\", \"net_af_packet1\"],\n"
	"             [\"0000:01:00.0\", \"0000:02:00.0\"] ],\n"
	"  \"stats_interval\": 10,\n"
	"  \"idle_sleep_max_us\": 200,\n"
	"  \"services\": [\n"
	"    { \"name\": \"pg\", \"server\": \"198.18.0.2/32\", \"port\": 5432,\n"
	"      \"protocol\": \"postgres\", \"subnet_policy\": \"deny\",\n"
	"      \"exception_policy\": \"drop-flow\" },\n"
	"    { \"name\": \"web6\", \"server\": \"2001:db8:1::/64\", \"port\": 443,\n"
	"      \"protocol\": \"tcp\", \"subnet_policy\": \"allow\",\n"
	"      \"exception_policy\": \"drop-packet\" },\n"
	"    { \"name\": \"ssh\", \"server\": \"198.18.1.0/24\", \"port\": 22 }\n"
	"  ],\n"
	"  \"flows\": { \"max\": 5000, \"timeout_syn\": 5, \"timeout_established\": 600,\n"
	"             \"timeout_closing\": 60, \"timeout_closed\": 2 },\n"
	"  \"stream\": { \"ring_kb\": 16, \"memcap_mb\": 32, \"held_segments\": 1024 }\n"
	"}\n";

static void
test_file_full(void **state)
{
	static const uint8_t pg_addr[16] = { 198, 18, 0, 2 };
	static const uint8_t web6_addr[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01 };
	static const uint8_t ssh_addr[16] = { 198, 18, 1, 0 };
	const struct tg_service *s = cfg.services.svc;

	(void)state;
	assert_int_equal(load(full_config), 0);
	assert_err_empty("full config");

	assert_int_equal(cfg.nb_pairs, 2);
	assert_string_equal(cfg.pairs[0].out, "net_af_packet0");
	assert_string_equal(cfg.pairs[0].in, "net_af_packet1");
	assert_string_equal(cfg.pairs[1].out, "0000:01:00.0");
	assert_string_equal(cfg.pairs[1].in, "0000:02:00.0");
	assert_int_equal(cfg.stats_interval, 10);
	assert_int_equal(cfg.idle_sleep_max_us, 200);

	assert_int_equal(cfg.services.nb, 3);
	assert_string_equal(s[0].name, "pg");
	assert_int_equal(s[0].family, 4);
	assert_int_equal(s[0].prefix_len, 32);
	assert_memory_equal(s[0].addr, pg_addr, 16);
	assert_int_equal(s[0].port, 5432);
	assert_int_equal(s[0].proto, TG_SERVICE_POSTGRES);
	assert_int_equal(s[0].subnet_policy, TG_SUBNET_DENY);
	assert_int_equal(s[0].exception_policy, TG_EXC_DROP_FLOW);
	assert_string_equal(s[1].name, "web6");
	assert_int_equal(s[1].family, 6);
	assert_int_equal(s[1].prefix_len, 64);
	assert_memory_equal(s[1].addr, web6_addr, 16);
	assert_int_equal(s[1].port, 443);
	assert_int_equal(s[1].proto, TG_SERVICE_TCP);
	assert_int_equal(s[1].subnet_policy, TG_SUBNET_ALLOW);
	assert_int_equal(s[1].exception_policy, TG_EXC_DROP_PACKET);
	/* only the required keys: tcp, deny, drop-flow */
	assert_string_equal(s[2].name, "ssh");
	assert_int_equal(s[2].family, 4);
	assert_int_equal(s[2].prefix_len, 24);
	assert_memory_equal(s[2].addr, ssh_addr, 16);
	assert_int_equal(s[2].port, 22);
	assert_int_equal(s[2].proto, TG_SERVICE_TCP);
	assert_int_equal(s[2].subnet_policy, TG_SUBNET_DENY);
	assert_int_equal(s[2].exception_policy, TG_EXC_DROP_FLOW);

	assert_int_equal(cfg.flow.max_flows, 5000);
	assert_int_equal(cfg.flow.timeout_syn, 5);
	assert_int_equal(cfg.flow.timeout_established, 600);
	assert_int_equal(cfg.flow.timeout_closing, 60);
	assert_int_equal(cfg.flow.timeout_closed, 2);
	assert_int_equal(cfg.flow.ring_size, 16384);
	assert_int_equal(cfg.flow.nb_rings, 32 * 1024 / 16);
	assert_int_equal(cfg.flow.held_segments, 1024);
}

/* Every key is optional: {} leaves the defaults, which are those documented. */
static void
test_file_defaults(void **state)
{
	struct tg_dp_config want;

	(void)state;
	tg_config_defaults(&want);
	assert_int_equal(want.flow.max_flows, 1000000);
	assert_int_equal(want.flow.timeout_syn, 30);
	assert_int_equal(want.flow.timeout_established, 3600);
	assert_int_equal(want.flow.timeout_closing, 120);
	assert_int_equal(want.flow.timeout_closed, 10);
	assert_int_equal(want.flow.ring_size, 64 * 1024);
	assert_int_equal((uint64_t)want.flow.nb_rings * want.flow.ring_size, 128u << 20);
	assert_int_equal(want.flow.held_segments, 16384);
	assert_int_equal(want.stats_interval, 0);
	assert_int_equal(want.idle_sleep_max_us, 0);
	assert_int_equal(want.nb_pairs, 0);
	assert_int_equal(want.services.nb, 0);

	assert_int_equal(load("{}"), 0);
	assert_memory_equal(&cfg, &want, sizeof(want));
	/* empty sections too */
	assert_int_equal(load("{ \"flows\": {}, \"stream\": {}, \"services\": [], \"pairs\": [] }"),
			 0);
	assert_memory_equal(&cfg, &want, sizeof(want));
	assert_err_empty("defaults");
}

/* Keys absent from a section keep their defaults. */
static void
test_file_partial(void **state)
{
	(void)state;
	assert_int_equal(load("{ \"flows\": { \"timeout_syn\": 5 } }"), 0);
	assert_int_equal(cfg.flow.timeout_syn, 5);
	assert_int_equal(cfg.flow.max_flows, 1000000);
	assert_int_equal(cfg.flow.timeout_established, 3600);
	assert_int_equal(cfg.flow.timeout_closing, 120);
	assert_int_equal(cfg.flow.timeout_closed, 10);

	/* a smaller ring keeps the 128 MB memcap: more rings */
	tg_config_defaults(&cfg);
	assert_int_equal(load("{ \"stream\": { \"ring_kb\": 16 } }"), 0);
	assert_int_equal(cfg.flow.ring_size, 16384);
	assert_int_equal(cfg.flow.nb_rings, 8192);
	assert_int_equal(cfg.flow.held_segments, 16384);

	/* a smaller memcap keeps the 64 KB ring */
	tg_config_defaults(&cfg);
	assert_int_equal(load("{ \"stream\": { \"memcap_mb\": 64 } }"), 0);
	assert_int_equal(cfg.flow.ring_size, 65536);
	assert_int_equal(cfg.flow.nb_rings, 1024);
	assert_err_empty("partial");
}

/* The edges of every range are accepted. */
static void
test_file_ranges_ok(void **state)
{
	(void)state;
	assert_int_equal(load("{ \"stats_interval\": 86400, \"idle_sleep_max_us\": 10000,\n"
			      "  \"flows\": { \"max\": 16, \"timeout_syn\": 1,\n"
			      "    \"timeout_established\": 1, \"timeout_closing\": 1,\n"
			      "    \"timeout_closed\": 1 },\n"
			      "  \"stream\": { \"ring_kb\": 4, \"memcap_mb\": 1,\n"
			      "    \"held_segments\": 64 } }"),
			 0);
	assert_int_equal(cfg.stats_interval, 86400);
	assert_int_equal(cfg.idle_sleep_max_us, 10000);
	assert_int_equal(cfg.flow.max_flows, 16);
	assert_int_equal(cfg.flow.ring_size, 4096);
	assert_int_equal(cfg.flow.nb_rings, 256);
	assert_int_equal(cfg.flow.held_segments, 64);

	assert_int_equal(load("{ \"flows\": { \"max\": 67108864, \"timeout_syn\": 3600,\n"
			      "    \"timeout_established\": 604800, \"timeout_closing\": 86400,\n"
			      "    \"timeout_closed\": 3600 },\n"
			      "  \"stream\": { \"held_segments\": 4194304 },\n"
			      "  \"services\": [ { \"name\": \"p\", \"server\": \"::/0\",\n"
			      "    \"port\": 65535 } ] }"),
			 0);
	assert_int_equal(cfg.flow.max_flows, 1u << 26);
	assert_int_equal(cfg.flow.timeout_established, 604800);
	assert_int_equal(cfg.flow.held_segments, 1u << 22);
	assert_int_equal(cfg.services.svc[0].port, 65535);

	/*
	 * The largest ring with the smallest memcap: one ring. (1 MB rings and
	 * a 1 MB floor on the memcap mean "smaller than one ring" cannot occur.)
	 */
	assert_int_equal(load("{ \"stream\": { \"ring_kb\": 1024, \"memcap_mb\": 1 } }"), 0);
	assert_int_equal(cfg.flow.ring_size, 1u << 20);
	assert_int_equal(cfg.flow.nb_rings, 1);
	assert_int_equal(load("{ \"stream\": { \"ring_kb\": 4, \"memcap_mb\": 65536 } }"), 0);
	assert_int_equal(cfg.flow.nb_rings, 1u << 24);
	assert_err_empty("range edges");
}

/* 64 services fit, 65 do not. */
static void
test_file_services_max(void **state)
{
	static char text[16384];
	size_t n;
	unsigned int i, count;

	(void)state;
	for (count = TG_MAX_SERVICES; count <= TG_MAX_SERVICES + 1; count++) {
		n = (size_t)snprintf(text, sizeof(text), "{ \"services\": [\n");
		for (i = 0; i < count; i++)
			n += (size_t)snprintf(
				text + n, sizeof(text) - n,
				"  { \"name\": \"s%u\", \"server\": \"10.0.%u.0/24\", "
				"\"port\": %u }%s\n",
				i, i, 1000 + i, i + 1 < count ? "," : "");
		snprintf(text + n, sizeof(text) - n, "] }\n");
		assert_true(strlen(text) < sizeof(text) - 1);
		tg_config_defaults(&cfg);
		if (count == TG_MAX_SERVICES) {
			assert_int_equal(load(text), 0);
			assert_int_equal(cfg.services.nb, TG_MAX_SERVICES);
			assert_string_equal(cfg.services.svc[63].name, "s63");
			assert_int_equal(cfg.services.svc[63].port, 1063);
		} else {
			assert_int_equal(load(text), -EINVAL);
			assert_err_has("65 services",
				       "\"services\" must be an array of at most 64 services");
		}
	}
}

/* ---------------------------------------------------------------------
 * Config file: refused
 * ------------------------------------------------------------------- */

static void
test_file_syntax_error(void **state)
{
	const char *path;
	char want[96];
	const char *t, *p;

	(void)state;
	/* line 3 is not JSON */
	path = tmp_file("{\n  \"stats_interval\": 5,\n  oops\n}\n");
	assert_int_equal(tg_config_load_file(&cfg, path, err_f), -EINVAL);
	snprintf(want, sizeof(want), "%s:3:", path);
	assert_err_has("syntax error", want);
	/* then a column number and the parser's reason */
	t = err_text();
	p = strstr(t, want) + strlen(want);
	if (*p < '1' || *p > '9')
		fail_msg("no column after '%s': '%s'", want, t);
	while (*p >= '0' && *p <= '9')
		p++;
	assert_true(p[0] == ':' && p[1] == ' ' && p[2] != '\0' && p[2] != '\n');

	/* a duplicate key is refused where it stands */
	err_reset();
	path = tmp_file("{\n  \"stats_interval\": 5,\n  \"stats_interval\": 6\n}\n");
	assert_int_equal(tg_config_load_file(&cfg, path, err_f), -EINVAL);
	snprintf(want, sizeof(want), "%s:3:", path);
	assert_err_has("duplicate key", want);
	assert_err_has("duplicate key", "duplicate");

	/* an empty file, and a trailing comma */
	err_reset();
	assert_int_equal(load(""), -EINVAL);
	assert_err_has("empty file", "/tmp/tg-test-config-");
	err_reset();
	assert_int_equal(load("{ \"pairs\": [], }"), -EINVAL);
	assert_err_has("trailing comma", ":1:");

	/* a missing file names the path */
	err_reset();
	assert_int_equal(tg_config_load_file(&cfg, "/nonexistent/x.json", err_f), -EINVAL);
	assert_err_has("missing file", "/nonexistent/x.json: ");
}

struct bad_case {
	const char *what;
	const char *json;
	const char *msg[3]; /* each must appear in the error output */
};

/*
 * Each case must be refused with -EINVAL, and the error output must begin
 * with the file's path and carry each of the case's message parts.
 */
static void
check_bad(const struct bad_case *cases, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		const char *path;
		int rc;

		tg_config_defaults(&cfg);
		err_reset();
		path = tmp_file(cases[i].json);
		rc = tg_config_load_file(&cfg, path, err_f);
		if (rc != -EINVAL)
			fail_msg("%s: returned %d, want -EINVAL (error output '%s')", cases[i].what,
				 rc, err_text());
		if (strncmp(err_text(), path, strlen(path)) != 0)
			fail_msg("%s: error output does not start with the path: '%s'",
				 cases[i].what, err_text());
		for (k = 0; k < ARRAY_SIZE(cases[i].msg) && cases[i].msg[k]; k++)
			assert_err_has(cases[i].what, cases[i].msg[k]);
		unlink(path);
		nb_tmp--;
	}
}

/* clang-format off */
static const struct bad_case bad_top[] = {
	{ "top-level array", "[]", { "the top level must be an object" } },
	{ "top-level unknown key", "{ \"pair\": [] }", { "unknown key \"pair\"" } },
	{ "unknown key after good ones", "{ \"stats_interval\": 1, \"Stats_interval\": 2 }",
	  { "unknown key \"Stats_interval\"" } },
	{ "stats_interval too big", "{ \"stats_interval\": 86401 }",
	  { "\"stats_interval\" must be an integer in 0..86400" } },
	{ "stats_interval negative", "{ \"stats_interval\": -1 }",
	  { "\"stats_interval\" must be an integer in 0..86400" } },
	{ "stats_interval string", "{ \"stats_interval\": \"10\" }",
	  { "\"stats_interval\" must be an integer" } },
	{ "stats_interval real", "{ \"stats_interval\": 10.0 }",
	  { "\"stats_interval\" must be an integer" } },
	{ "idle_sleep_max_us too big", "{ \"idle_sleep_max_us\": 10001 }",
	  { "\"idle_sleep_max_us\" must be an integer in 0..10000" } },
	{ "idle_sleep_max_us bool", "{ \"idle_sleep_max_us\": true }",
	  { "\"idle_sleep_max_us\" must be an integer" } },
};

static const struct bad_case bad_pairs[] = {
	{ "pairs object", "{ \"pairs\": {} }", { "\"pairs\" must be an array of at most 8" } },
	{ "pairs 9", "{ \"pairs\": [[\"0\",\"1\"],[\"2\",\"3\"],[\"4\",\"5\"],[\"6\",\"7\"],"
		     "[\"8\",\"9\"],[\"a\",\"b\"],[\"c\",\"d\"],[\"e\",\"f\"],[\"g\",\"h\"]] }",
	  { "\"pairs\" must be an array of at most 8" } },
	{ "pair of one", "{ \"pairs\": [[\"0\"]] }", { "pairs[0]: expected [\"OUT\", \"IN\"]" } },
	{ "pair of three", "{ \"pairs\": [[\"0\", \"1\", \"2\"]] }", { "pairs[0]: expected" } },
	{ "pair not strings", "{ \"pairs\": [[0, 1]] }", { "pairs[0]: expected" } },
	{ "pair a string", "{ \"pairs\": [\"0:1\"] }", { "pairs[0]: expected" } },
	{ "pair empty name", "{ \"pairs\": [[\"a\", \"b\"], [\"\", \"b\"]] }",
	  { "pairs[1]: expected", "1..63 characters" } },
	{ "pair long name", "{ \"pairs\": [[\"a\", \"0123456789012345678901234567890123456789"
			    "012345678901234567890123\"]] }",
	  { "pairs[0]: expected" } },
};

static const struct bad_case bad_services[] = {
	{ "services object", "{ \"services\": {} }",
	  { "\"services\" must be an array of at most 64 services" } },
	{ "service not an object", "{ \"services\": [1] }", { "services[0]: must be an object" } },
	{ "no name", "{ \"services\": [{ \"server\": \"198.18.0.2\", \"port\": 5432 }] }",
	  { "services[0]: \"name\", \"server\" and \"port\" are required" } },
	{ "no server", "{ \"services\": [{ \"name\": \"pg\", \"port\": 5432 }] }",
	  { "services[0]: \"name\", \"server\" and \"port\" are required" } },
	{ "no port", "{ \"services\": [{ \"name\": \"pg\", \"server\": \"198.18.0.2\" }] }",
	  { "services[0]: \"name\", \"server\" and \"port\" are required" } },
	{ "name a number", "{ \"services\": [{ \"name\": 1, \"server\": \"198.18.0.2\", "
			   "\"port\": 5432 }] }",
	  { "services[0]: \"name\", \"server\" and \"port\" are required" } },
	{ "server a number", "{ \"services\": [{ \"name\": \"pg\", \"server\": 3325165570, "
			     "\"port\": 5432 }] }",
	  { "services[0]: \"name\", \"server\" and \"port\" are required" } },
	{ "empty name", "{ \"services\": [{ \"name\": \"\", \"server\": \"198.18.0.2\", "
			"\"port\": 5432 }] }",
	  { "services[0]: \"name\" must have 1..31 characters" } },
	{ "long name", "{ \"services\": [{ \"name\": \"0123456789abcdef0123456789abcdef\", "
		       "\"server\": \"198.18.0.2\", \"port\": 5432 }] }",
	  { "services[0]: \"name\" must have 1..31 characters" } },
	{ "host bits", "{ \"services\": [{ \"name\": \"pg\", \"server\": \"198.18.0.2/24\", "
		       "\"port\": 5432 }] }",
	  { "services[0]: \"server\" \"198.18.0.2/24\" is not an IPv4 or IPv6 address" } },
	{ "host name", "{ \"services\": [{ \"name\": \"pg\", \"server\": \"db.example\", "
		       "\"port\": 5432 }] }",
	  { "services[0]: \"server\" \"db.example\"" } },
	{ "prefix too long", "{ \"services\": [{ \"name\": \"pg\", \"server\": \"::/129\", "
			     "\"port\": 5432 }] }",
	  { "services[0]: \"server\" \"::/129\"" } },
	{ "port 0", "{ \"services\": [{ \"name\": \"pg\", \"server\": \"198.18.0.2\", "
		    "\"port\": 0 }] }",
	  { "services[0]: \"port\" must be in 1..65535" } },
	{ "port 65536", "{ \"services\": [{ \"name\": \"pg\", \"server\": \"198.18.0.2\", "
			"\"port\": 65536 }] }",
	  { "services[0]: \"port\" must be an integer in 0..65535" } },
	{ "port negative", "{ \"services\": [{ \"name\": \"pg\", \"server\": \"198.18.0.2\", "
			   "\"port\": -5432 }] }",
	  { "services[0]: \"port\" must be an integer" } },
	{ "port string", "{ \"services\": [{ \"name\": \"pg\", \"server\": \"198.18.0.2\", "
			 "\"port\": \"5432\" }] }",
	  { "services[0]: \"port\" must be an integer" } },
	{ "port null", "{ \"services\": [{ \"name\": \"pg\", \"server\": \"198.18.0.2\", "
		       "\"port\": null }] }",
	  { "services[0]: \"port\" must be an integer" } },
	{ "bad protocol", "{ \"services\": [{ \"name\": \"pg\", \"server\": \"198.18.0.2\", "
			  "\"port\": 5432, \"protocol\": \"mysql\" }] }",
	  { "services[0]: \"protocol\" must be one of \"tcp\", \"postgres\"" } },
	{ "protocol a number", "{ \"services\": [{ \"name\": \"pg\", \"server\": \"198.18.0.2\", "
			       "\"port\": 5432, \"protocol\": 6 }] }",
	  { "services[0]: \"protocol\" must be one of" } },
	{ "protocol case", "{ \"services\": [{ \"name\": \"pg\", \"server\": \"198.18.0.2\", "
			   "\"port\": 5432, \"protocol\": \"TCP\" }] }",
	  { "services[0]: \"protocol\" must be one of" } },
	{ "bad subnet_policy", "{ \"services\": [{ \"name\": \"pg\", \"server\": \"198.18.0.2\", "
			       "\"port\": 5432, \"subnet_policy\": \"block\" }] }",
	  { "services[0]: \"subnet_policy\" must be one of \"deny\", \"allow\"" } },
	{ "bad exception_policy", "{ \"services\": [{ \"name\": \"pg\", \"server\": "
				  "\"198.18.0.2\", \"port\": 5432, \"exception_policy\": \"drop\" }] }",
	  { "services[0]: \"exception_policy\" must be one of \"drop-flow\", \"drop-packet\"" } },
	{ "service unknown key", "{ \"services\": [{ \"name\": \"pg\", \"server\": \"198.18.0.2\", "
				 "\"port\": 5432, \"tls\": true }] }",
	  { "services[0]: unknown key \"tls\"" } },
	{ "duplicate name", "{ \"services\": [\n"
			    "  { \"name\": \"pg\", \"server\": \"198.18.0.2\", \"port\": 5432 },\n"
			    "  { \"name\": \"x\", \"server\": \"198.18.0.3\", \"port\": 5432 },\n"
			    "  { \"name\": \"pg\", \"server\": \"198.18.0.4\", \"port\": 5432 } ] }",
	  { "services[2]: name \"pg\" is already used" } },
	{ "duplicate server and port", "{ \"services\": [\n"
			"  { \"name\": \"a\", \"server\": \"198.18.0.2\", \"port\": 5432 },\n"
			"  { \"name\": \"b\", \"server\": \"198.18.0.2/32\", \"port\": 5432 } ] }",
	  { "services[1]: same server and port as \"a\"" } },
	{ "duplicate v6 server and port", "{ \"services\": [\n"
			"  { \"name\": \"a\", \"server\": \"2001:db8::/64\", \"port\": 443 },\n"
			"  { \"name\": \"b\", \"server\": \"2001:db8:0::/64\", \"port\": 443 } ] }",
	  { "services[1]: same server and port as \"a\"" } },
	{ "error in the second service", "{ \"services\": [\n"
			"  { \"name\": \"a\", \"server\": \"198.18.0.2\", \"port\": 5432 },\n"
			"  { \"name\": \"b\", \"server\": \"198.18.0.3\", \"port\": 0 } ] }",
	  { "services[1]: \"port\" must be in 1..65535" } },
};

static const struct bad_case bad_flows[] = {
	{ "flows array", "{ \"flows\": [] }", { "flows: must be an object" } },
	{ "flows unknown key", "{ \"flows\": { \"maxx\": 10 } }", { "flows: unknown key \"maxx\"" } },
	{ "max too small", "{ \"flows\": { \"max\": 15 } }", { "flows: \"max\" must be at least 16" } },
	{ "max too big", "{ \"flows\": { \"max\": 67108865 } }",
	  { "flows: \"max\" must be an integer in 0..67108864" } },
	{ "max string", "{ \"flows\": { \"max\": \"1000\" } }", { "flows: \"max\" must be an integer" } },
	{ "timeout_syn 0", "{ \"flows\": { \"timeout_syn\": 0 } }",
	  { "flows: \"timeout_syn\" must be at least 1" } },
	{ "timeout_syn too big", "{ \"flows\": { \"timeout_syn\": 3601 } }",
	  { "flows: \"timeout_syn\" must be an integer in 0..3600" } },
	{ "timeout_established too big", "{ \"flows\": { \"timeout_established\": 604801 } }",
	  { "flows: \"timeout_established\" must be an integer in 0..604800" } },
	{ "timeout_closing too big", "{ \"flows\": { \"timeout_closing\": 86401 } }",
	  { "flows: \"timeout_closing\" must be an integer in 0..86400" } },
	{ "timeout_closed 0", "{ \"flows\": { \"timeout_closed\": 0 } }",
	  { "flows: \"timeout_closed\" must be at least 1" } },
	{ "timeout_closed too big", "{ \"flows\": { \"timeout_closed\": 3601 } }",
	  { "flows: \"timeout_closed\" must be an integer in 0..3600" } },
	{ "timeout negative", "{ \"flows\": { \"timeout_closing\": -1 } }",
	  { "flows: \"timeout_closing\" must be an integer" } },
};

static const struct bad_case bad_stream[] = {
	{ "stream string", "{ \"stream\": \"big\" }", { "stream: must be an object" } },
	{ "stream unknown key", "{ \"stream\": { \"ring\": 64 } }", { "stream: unknown key \"ring\"" } },
	{ "ring_kb too small", "{ \"stream\": { \"ring_kb\": 3 } }",
	  { "stream: \"ring_kb\" must be at least 4" } },
	{ "ring_kb too big", "{ \"stream\": { \"ring_kb\": 2048 } }",
	  { "stream: \"ring_kb\" must be an integer in 0..1024" } },
	{ "ring_kb 12", "{ \"stream\": { \"ring_kb\": 12 } }",
	  { "stream: \"ring_kb\" must be a power of two" } },
	{ "ring_kb 1000", "{ \"stream\": { \"ring_kb\": 1000, \"memcap_mb\": 64 } }",
	  { "stream: \"ring_kb\" must be a power of two" } },
	{ "memcap_mb 0", "{ \"stream\": { \"memcap_mb\": 0 } }",
	  { "stream: \"memcap_mb\" must be at least 1" } },
	{ "memcap_mb too big", "{ \"stream\": { \"memcap_mb\": 65537 } }",
	  { "stream: \"memcap_mb\" must be an integer in 0..65536" } },
	{ "held_segments too small", "{ \"stream\": { \"held_segments\": 63 } }",
	  { "stream: \"held_segments\" must be at least 64" } },
	{ "held_segments too big", "{ \"stream\": { \"held_segments\": 4194305 } }",
	  { "stream: \"held_segments\" must be an integer in 0..4194304" } },
};
/* clang-format on */

static void
test_file_bad_top(void **state)
{
	(void)state;
	check_bad(bad_top, ARRAY_SIZE(bad_top));
}

static void
test_file_bad_pairs(void **state)
{
	(void)state;
	check_bad(bad_pairs, ARRAY_SIZE(bad_pairs));
}

static void
test_file_bad_services(void **state)
{
	(void)state;
	check_bad(bad_services, ARRAY_SIZE(bad_services));
}

static void
test_file_bad_flows(void **state)
{
	(void)state;
	check_bad(bad_flows, ARRAY_SIZE(bad_flows));
}

static void
test_file_bad_stream(void **state)
{
	(void)state;
	check_bad(bad_stream, ARRAY_SIZE(bad_stream));
}

/* Services that differ only in port, or only in prefix length, are distinct. */
static void
test_file_services_distinct(void **state)
{
	(void)state;
	assert_int_equal(
		load("{ \"services\": [\n"
		     "  { \"name\": \"a\", \"server\": \"198.18.0.0/24\", \"port\": 5432 },\n"
		     "  { \"name\": \"b\", \"server\": \"198.18.0.0/24\", \"port\": 5433 },\n"
		     "  { \"name\": \"c\", \"server\": \"198.18.0.0/25\", \"port\": 5432 },\n"
		     "  { \"name\": \"d\", \"server\": \"::/0\", \"port\": 5432 },\n"
		     "  { \"name\": \"e\", \"server\": \"0.0.0.0/0\", \"port\": 5432 } ] }"),
		0);
	assert_int_equal(cfg.services.nb, 5);
	assert_err_empty("distinct services");
}

/* "policy" and "events" are paths; relative ones are taken from the config's directory. */
static void
test_file_inspect_paths(void **state)
{
	const char *path;
	char want[512], *slash;

	(void)state;
	path = tmp_file("{ \"policy\": \"policy.json\", \"events\": \"/var/log/ev.jsonl\" }");
	assert_int_equal(tg_config_load_file(&cfg, path, err_f), 0);
	assert_err_empty("paths");
	snprintf(want, sizeof(want), "%s", path);
	slash = strrchr(want, '/');
	assert_non_null(slash);
	snprintf(slash + 1, sizeof(want) - (size_t)(slash + 1 - want), "policy.json");
	assert_string_equal(cfg.policy_path, want);
	assert_string_equal(cfg.events_path, "/var/log/ev.jsonl");

	/* on the command line a path is taken as given, and wins over the file */
	assert_int_equal(ARGS("--policy", "p2.json", "--events", "e.jsonl"), 0);
	assert_string_equal(cfg.policy_path, "p2.json");
	assert_string_equal(cfg.events_path, "e.jsonl");

	assert_int_equal(load("{ \"policy\": 3 }"), -EINVAL);
	assert_err_has("policy not a string", "\"policy\": must be a string");
	err_reset();
	assert_int_equal(load("{ \"events\": \"\" }"), -EINVAL);
	assert_err_has("empty events", "\"events\": must not be empty");
}

/* "inspect": sessions and the parser's caps, in their units, checked. */
static void
test_file_inspect_limits(void **state)
{
	struct tg_pg_limits def;

	(void)state;
	tg_pg_limits_default(&def);
	assert_int_equal(cfg.inspect_sessions, 256);
	assert_memory_equal(&cfg.pg_limits, &def, sizeof(def));
	assert_int_equal(load("{ \"inspect\": { \"sessions\": 64, \"statement_kb\": 32, "
			      "\"result_message_kb\": 16, \"text_kb\": 8, \"params_max\": 10, "
			      "\"param_show_max\": 40, \"statements_max\": 100, "
			      "\"portals_max\": 5, \"pending_max\": 50, \"pool_kb\": 64 } }"),
			 0);
	assert_err_empty("limits");
	assert_int_equal(cfg.inspect_sessions, 64);
	assert_int_equal(cfg.pg_limits.stmt_max, 32 * 1024);
	assert_int_equal(cfg.pg_limits.be_long_max, 16 * 1024);
	assert_int_equal(cfg.pg_limits.text_max, 8 * 1024);
	assert_int_equal(cfg.pg_limits.params_max, 10);
	assert_int_equal(cfg.pg_limits.param_show_max, 40);
	assert_int_equal(cfg.pg_limits.stmts_max, 100);
	assert_int_equal(cfg.pg_limits.portals_max, 5);
	assert_int_equal(cfg.pg_limits.pending_max, 50);
	assert_int_equal(cfg.pg_limits.pool_size, 64 * 1024);
	/* untouched caps keep their defaults */
	assert_int_equal(cfg.pg_limits.startup_max, def.startup_max);

	assert_int_equal(load("{ \"inspect\": { \"sessions\": 0 } }"), -EINVAL);
	assert_err_has("zero sessions", "\"sessions\" must be at least 1");
	err_reset();
	assert_int_equal(load("{ \"inspect\": { \"session\": 4 } }"), -EINVAL);
	assert_err_has("unknown key", "unknown key \"session\"");
	err_reset();
	assert_int_equal(load("{ \"inspect\": [] }"), -EINVAL);
	assert_err_has("not an object", "inspect: must be an object");
}

/* clang-format off */
#define TEST(f) { .name = #f, .test_func = test_##f, .setup_func = setup, \
		  .teardown_func = teardown }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(args_none),
		TEST(args_pair_forms),
		TEST(args_pair_name_length),
		TEST(args_pair_malformed),
		TEST(args_pair_too_many),
		TEST(args_stats_interval),
		TEST(args_idle_sleep),
		TEST(args_unknown),
		TEST(args_unknown_cluster),
		TEST(args_reparse),
		TEST(args_missing_value),
		TEST(args_help),
		TEST(args_config_first),
		TEST(args_config_errors),
		TEST(args_config_abbreviated),
		TEST(args_abbreviated),
		TEST(file_full),
		TEST(file_defaults),
		TEST(file_partial),
		TEST(file_ranges_ok),
		TEST(file_services_max),
		TEST(file_syntax_error),
		TEST(file_bad_top),
		TEST(file_bad_pairs),
		TEST(file_bad_services),
		TEST(file_bad_flows),
		TEST(file_bad_stream),
		TEST(file_services_distinct),
		TEST(file_inspect_paths),
		TEST(file_inspect_limits),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
/* clang-format on */
