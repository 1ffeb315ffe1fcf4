/* SPDX-License-Identifier: MIT */
/*
 * test_slowpath_config.c — unit tests of tollgate-slowpath's options
 * (slowpath/config.c): the JSON file (tg_sp_config_load_file()) and the
 * command line (tg_sp_config_parse_args()).
 *
 * Every case starts from tg_sp_config_defaults() and writes its config to
 * sp.json in its own mkdtemp() directory, removed in the teardown, so
 * relative paths resolve against a known directory. Refusals are checked
 * for the parts of the message an operator needs: the file, the key (its
 * dotted path) and what is allowed; not word for word.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "jwks.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ORIGIN "\"audit\": {\"origin\": \"gw1.example/audit\"}"

static char dir[64];
static char path[128];
static char err[512];
static struct tg_sp_config cfg;

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/tg-spcfg-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sp.json", dir);
	tg_sp_config_defaults(&cfg);
	err[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	unlink(path);
	rmdir(dir);
	return 0;
}

static void
write_config(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int
load(const char *text)
{
	write_config(text);
	return tg_sp_config_load_file(&cfg, path, err, sizeof(err));
}

/* The load fails with -EINVAL and the message names the file and holds every part. */
static void
refused(const char *text, ...)
{
	va_list ap;
	const char *part;

	assert_int_equal(load(text), -EINVAL);
	if (strstr(err, path) == NULL)
		fail_msg("error \"%s\" does not name the file %s", err, path);
	va_start(ap, text);
	while ((part = va_arg(ap, const char *)) != NULL)
		if (strstr(err, part) == NULL)
			fail_msg("error \"%s\" does not say \"%s\"", err, part);
	va_end(ap);
}

/* ---------------------------------------------------------------------
 * Accepted files
 * ------------------------------------------------------------------- */

static void
test_defaults(void **state)
{
	assert_string_equal(cfg.control_socket, TG_SP_SOCKET_DEFAULT);
	assert_string_equal(cfg.audit.dir, TG_SP_AUDIT_DIR_DEFAULT);
	assert_string_equal(cfg.audit.key, TG_SP_AUDIT_KEY_DEFAULT);
	assert_string_equal(cfg.user, "tollgate");
	assert_string_equal(cfg.group, "");
	assert_string_equal(cfg.audit.origin, "");
	assert_int_equal(cfg.audit.checkpoint_records, 0);
	assert_int_equal(cfg.audit.checkpoint_seconds, 0);
	assert_int_equal(cfg.audit.map_mb, 0);
	/* AU-5(4) watermarks */
	assert_int_equal(cfg.audit.full_pct, 90);
	assert_int_equal(cfg.audit.resume_pct, 80);
	assert_int_equal(cfg.audit.disk_min_mb, 64);
	assert_int_equal(cfg.audit.disk_resume_mb, 128);
}

/* Only the origin is required; everything else keeps its default. */
static void
test_minimal(void **state)
{
	assert_int_equal(load("{" ORIGIN "}"), 0);
	assert_string_equal(cfg.audit.origin, "gw1.example/audit");
	assert_string_equal(cfg.control_socket, TG_SP_SOCKET_DEFAULT);
	assert_string_equal(cfg.audit.dir, TG_SP_AUDIT_DIR_DEFAULT);
	assert_string_equal(cfg.user, "tollgate");
}

/* Every key; relative paths are taken from the config file's directory. */
static void
test_full(void **state)
{
	char want[256];

	assert_int_equal(load("{\"control_socket\": \"run/c.sock\",\n"
			      " \"audit\": {\"dir\": \"audit\", \"key\": \"/etc/tg/audit.key\",\n"
			      "   \"origin\": \"gw2.example.com/tollgate\",\n"
			      "   \"checkpoint_records\": 16, \"checkpoint_seconds\": 5,\n"
			      "   \"map_mb\": 64},\n"
			      " \"user\": \"tgsp\", \"group\": \"tgdp\"}\n"),
			 0);
	snprintf(want, sizeof(want), "%s/run/c.sock", dir);
	assert_string_equal(cfg.control_socket, want);
	snprintf(want, sizeof(want), "%s/audit", dir);
	assert_string_equal(cfg.audit.dir, want);
	assert_string_equal(cfg.audit.key, "/etc/tg/audit.key");
	assert_string_equal(cfg.audit.origin, "gw2.example.com/tollgate");
	assert_int_equal(cfg.audit.checkpoint_records, 16);
	assert_int_equal(cfg.audit.checkpoint_seconds, 5);
	assert_int_equal(cfg.audit.map_mb, 64);
	assert_string_equal(cfg.user, "tgsp");
	assert_string_equal(cfg.group, "tgdp");
}

/* The caps themselves are accepted. */
static void
test_bounds_accepted(void **state)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "{\"audit\": {\"origin\": \"o\", \"checkpoint_records\": %u, "
		 "\"checkpoint_seconds\": %u, \"map_mb\": %u}, "
		 "\"user\": \"abcdefghijklmnopqrstuvwxyz012345\"}",
		 TG_SP_CHECKPOINT_RECORDS_MAX, TG_SP_CHECKPOINT_SECONDS_MAX, TG_SP_MAP_MB_MAX);
	assert_int_equal(load(text), 0);
	assert_int_equal(cfg.audit.checkpoint_records, TG_SP_CHECKPOINT_RECORDS_MAX);
	assert_int_equal(cfg.audit.checkpoint_seconds, TG_SP_CHECKPOINT_SECONDS_MAX);
	assert_int_equal(cfg.audit.map_mb, TG_SP_MAP_MB_MAX);
	assert_int_equal(strlen(cfg.user), 32);
}

/* ---------------------------------------------------------------------
 * Refused files
 * ------------------------------------------------------------------- */

static void
test_syntax(void **state)
{
	/* line 2, column of the stray comma */
	refused("{" ORIGIN ",\n \"user\": \"x\",}", ":2:", NULL);
	refused("", NULL); /* jansson: "'[' or '{' expected near end of file" */
}

static void
test_not_object(void **state)
{
	refused("[1, 2]", "top level must be an object", NULL);
	refused("{\"audit\": []}", "\"audit\" must be an object", NULL);
}

static void
test_duplicate(void **state)
{
	refused("{" ORIGIN ", \"user\": \"a\", \"user\": \"b\"}", "duplicate", NULL);
}

static void
test_unknown_keys(void **state)
{
	refused("{" ORIGIN ", \"control_sock\": \"/x\"}", "unknown key \"control_sock\"",
		"control_socket", NULL);
	refused("{\"audit\": {\"origin\": \"o\", \"checkpoints\": 4}}",
		"unknown key \"audit.checkpoints\"", "checkpoint_records", NULL);
}

static void
test_origin(void **state)
{
	static const char *const bad[] = {
		"{\"audit\": {\"origin\": \"\"}}",
		"{\"audit\": {\"origin\": \"with space\"}}",
		"{\"audit\": {\"origin\": \"a+b\"}}",
		"{\"audit\": {\"origin\": \"tab\\there\"}}",
		"{\"audit\": {\"origin\": \"caf\\u00e9\"}}",
		"{\"audit\": {\"origin\": 7}}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		refused(bad[i], "audit.origin", "printable ASCII", NULL);
	refused("{\"user\": \"tollgate\"}", "audit.origin is required", NULL);
	refused("{\"audit\": {\"dir\": \"/var/lib/x\"}}", "audit.origin is required", NULL);
}

static void
test_numbers(void **state)
{
	static const struct {
		const char *key;
		const char *value;
	} bad[] = {
		{ "checkpoint_records", "0" },
		{ "checkpoint_records", "-1" },
		{ "checkpoint_records", "1048577" },
		{ "checkpoint_records", "\"16\"" },
		{ "checkpoint_records", "1.5" },
		{ "checkpoint_seconds", "0" },
		{ "checkpoint_seconds", "86401" },
		{ "checkpoint_seconds", "true" },
		{ "map_mb", "0" },
		{ "map_mb", "1048577" },
		{ "map_mb", "null" },
		{ "commit_delay_ms", "0" },
		{ "commit_delay_ms", "1001" },
	};
	char text[256], key[64];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), "{\"audit\": {\"origin\": \"o\", \"%s\": %s}}",
			 bad[i].key, bad[i].value);
		snprintf(key, sizeof(key), "audit.%s", bad[i].key);
		refused(text, key, "integer in 1..", NULL);
	}
}

/*
 * The AU-5(4) watermarks (audit_space.h): given, derived (resume_pct from
 * full_pct, disk_resume_mb from disk_min_mb), the disk check off with 0,
 * and each inconsistency refused with what is wrong.
 */
static void
test_watermarks(void **state)
{
	struct tg_audit_space_config sc;

	(void)state;
	assert_int_equal(load("{\"audit\": {\"origin\": \"o\", \"full_pct\": 95, "
			      "\"resume_pct\": 50, \"disk_min_mb\": 10, \"disk_resume_mb\": 10}}"),
			 0);
	assert_int_equal(cfg.audit.full_pct, 95);
	assert_int_equal(cfg.audit.resume_pct, 50);
	tg_sp_config_space(&cfg, &sc);
	assert_int_equal(sc.disk_min, 10ull << 20);
	assert_int_equal(sc.disk_resume, 10ull << 20);

	tg_sp_config_defaults(&cfg);
	assert_int_equal(load("{\"audit\": {\"origin\": \"o\", \"full_pct\": 50, "
			      "\"disk_min_mb\": 0}}"),
			 0);
	assert_int_equal(cfg.audit.resume_pct, 40);
	assert_int_equal(cfg.audit.disk_min_mb, 0);
	assert_int_equal(cfg.audit.disk_resume_mb, 0);

	tg_sp_config_defaults(&cfg);
	assert_int_equal(load("{\"audit\": {\"origin\": \"o\", \"full_pct\": 5, "
			      "\"disk_min_mb\": 300}}"),
			 0);
	assert_int_equal(cfg.audit.resume_pct, 1);
	assert_int_equal(cfg.audit.disk_resume_mb, 600);

	tg_sp_config_defaults(&cfg);
	refused("{\"audit\": {\"origin\": \"o\", \"full_pct\": 80, \"resume_pct\": 80}}",
		"audit.resume_pct must be in 1..79 (below full_pct 80)", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{\"audit\": {\"origin\": \"o\", \"resume_pct\": 95}}",
		"audit.resume_pct must be in 1..89", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{\"audit\": {\"origin\": \"o\", \"full_pct\": 1}}",
		"audit.full_pct must be in 2..99", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{\"audit\": {\"origin\": \"o\", \"full_pct\": 100}}", "audit.full_pct",
		"integer in 1..99", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{\"audit\": {\"origin\": \"o\", \"full_pct\": \"90\"}}", "audit.full_pct",
		NULL);
	tg_sp_config_defaults(&cfg);
	refused("{\"audit\": {\"origin\": \"o\", \"disk_min_mb\": 100, "
		"\"disk_resume_mb\": 50}}",
		"audit.disk_resume_mb (50) must not be below disk_min_mb (100)", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{\"audit\": {\"origin\": \"o\", \"disk_min_mb\": -1}}", "audit.disk_min_mb",
		NULL);
	tg_sp_config_defaults(&cfg);
	refused("{\"audit\": {\"origin\": \"o\", \"disk_resume_mb\": 0}}",
		"audit.disk_resume_mb", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{\"audit\": {\"origin\": \"o\", \"full\": 90}}", "unknown key \"audit.full\"",
		"full_pct, resume_pct, disk_min_mb, disk_resume_mb", NULL);
}

/* policy, commit_delay_ms and mgmt: paths resolved, roles mapped, errors named. */
static void
test_policy_mgmt(void **state)
{
	char want[256];

	assert_int_equal(load("{\"policy\": \"policy.json\",\n"
			      " \"audit\": {\"origin\": \"o\", \"commit_delay_ms\": 5},\n"
			      " \"mgmt\": {\"socket\": \"m.sock\", \"group\": \"ops\", \"mode\": \"0640\",\n"
			      "   \"roles\": {\"admin\": [\"tgadmin\"], \"auditor\": [\"tgaudit\", \"ops\"]}}}"),
			 0);
	snprintf(want, sizeof(want), "%s/policy.json", dir);
	assert_string_equal(cfg.policy, want);
	assert_int_equal(cfg.audit.commit_delay_ms, 5);
	snprintf(want, sizeof(want), "%s/m.sock", dir);
	assert_string_equal(cfg.mgmt.socket, want);
	assert_string_equal(cfg.mgmt.group, "ops");
	assert_int_equal(cfg.mgmt.mode, 0640);
	assert_int_equal(cfg.mgmt.nb_grants, 3);
	assert_string_equal(cfg.mgmt.grants[0].group, "tgadmin");
	assert_int_equal(cfg.mgmt.grants[0].role, 0);
	assert_string_equal(cfg.mgmt.grants[2].group, "ops");
	assert_int_equal(cfg.mgmt.grants[2].role, 2);

	/* an empty mgmt object: the default socket */
	tg_sp_config_defaults(&cfg);
	assert_int_equal(load("{" ORIGIN ", \"mgmt\": {}}"), 0);
	assert_string_equal(cfg.mgmt.socket, TG_SP_MGMT_SOCKET_DEFAULT);
	/* no mgmt: no socket */
	tg_sp_config_defaults(&cfg);
	assert_int_equal(load("{" ORIGIN "}"), 0);
	assert_string_equal(cfg.mgmt.socket, "");

	refused("{" ORIGIN ", \"mgmt\": []}", "\"mgmt\" must be an object", NULL);
	refused("{" ORIGIN ", \"mgmt\": {\"sock\": \"x\"}}", "unknown key \"mgmt.sock\"", NULL);
	refused("{" ORIGIN ", \"mgmt\": {\"mode\": 432}}", "mgmt.mode", "octal", NULL);
	refused("{" ORIGIN ", \"mgmt\": {\"mode\": \"0999\"}}", "mgmt.mode", NULL);
	refused("{" ORIGIN ", \"mgmt\": {\"roles\": {\"root\": [\"x\"]}}}", "mgmt.roles.root",
		"admin, approver and auditor", NULL);
	refused("{" ORIGIN ", \"mgmt\": {\"roles\": {\"admin\": \"x\"}}}", "mgmt.roles.admin",
		NULL);
	refused("{" ORIGIN ", \"mgmt\": {\"roles\": {\"admin\": [\"a:b\"]}}}",
		"mgmt.roles group", NULL);
	refused("{" ORIGIN ", \"policy\": 3}", "policy must be a string", NULL);
}

static void
test_paths(void **state)
{
	char text[512], longname[120];

	refused("{" ORIGIN ", \"control_socket\": \"\"}", "control_socket", "must not be empty",
		NULL);
	refused("{" ORIGIN ", \"control_socket\": 1}", "control_socket", "must be a string", NULL);
	refused("{\"audit\": {\"origin\": \"o\", \"dir\": \"\"}}", "audit.dir", "empty", NULL);
	refused("{\"audit\": {\"origin\": \"o\", \"key\": false}}", "audit.key", "string", NULL);

	/* sun_path holds 107 bytes and a NUL */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	snprintf(text, sizeof(text), "{" ORIGIN ", \"control_socket\": \"/%s\"}", longname);
	refused(text, "control_socket", "longer than 107 bytes", NULL);
	/* a relative one counts with the config's directory in front */
	longname[107 - 1 - strlen(dir)] = '\0';
	snprintf(text, sizeof(text), "{" ORIGIN ", \"control_socket\": \"%s\"}", longname);
	assert_int_equal(load(text), 0);
	assert_int_equal(strlen(cfg.control_socket), 107);
	longname[strlen(longname)] = 'a';
	longname[107 - strlen(dir)] = '\0';
	snprintf(text, sizeof(text), "{" ORIGIN ", \"control_socket\": \"%s\"}", longname);
	refused(text, "control_socket", "longer than", NULL);
}

static void
test_names(void **state)
{
	static const char *const bad[] = {
		"\"\"",
		"\"a:b\"",
		"\"-x\"",
		"\"a b\"",
		"\"a/b\"",
		"1",
		"\"abcdefghijklmnopqrstuvwxyz0123456\"", /* 33 */
	};
	char text[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), "{" ORIGIN ", \"user\": %s}", bad[i]);
		refused(text, "user must be a name", "1..32", NULL);
		snprintf(text, sizeof(text), "{" ORIGIN ", \"group\": %s}", bad[i]);
		refused(text, "group must be a name", NULL);
	}
}

static void
test_missing_file(void **state)
{
	assert_int_equal(tg_sp_config_load_file(&cfg, "/nonexistent/sp.json", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/sp.json"));
}

/* ---------------------------------------------------------------------
 * Command line
 * ------------------------------------------------------------------- */

static int
parse(int argc, ...)
{
	char *argv[8], *pool[8];
	va_list ap;
	int rc, i;

	assert_true(argc < 8);
	va_start(ap, argc);
	for (i = 0; i < argc; i++) {
		pool[i] = strdup(va_arg(ap, const char *));
		assert_non_null(pool[i]);
		argv[i] = pool[i];
	}
	va_end(ap);
	argv[argc] = NULL;
	rc = tg_sp_config_parse_args(&cfg, argc, argv, err, sizeof(err));
	for (i = 0; i < argc; i++)
		free(pool[i]);
	return rc;
}

static void
test_args(void **state)
{
	write_config("{" ORIGIN ", \"user\": \"sp\"}");
	assert_int_equal(parse(3, "tollgate-slowpath", "--config", path), 0);
	assert_string_equal(cfg.user, "sp");
	assert_string_equal(cfg.config_path, path);

	tg_sp_config_defaults(&cfg);
	assert_int_equal(parse(2, "tollgate-slowpath", "--help"), 1);
	assert_int_equal(parse(2, "tollgate-slowpath", "--config"), -EINVAL);
	assert_non_null(strstr(err, "needs an argument"));
	assert_int_equal(parse(2, "tollgate-slowpath", "--frobnicate"), -EINVAL);
	assert_non_null(strstr(err, "unknown option"));
	assert_int_equal(parse(4, "tollgate-slowpath", "--config", path, "extra"), -EINVAL);
	assert_non_null(strstr(err, "unexpected argument 'extra'"));
	/* the file's own refusal comes through */
	write_config("{\"user\": \"sp\"}");
	assert_int_equal(parse(3, "tollgate-slowpath", "--config", path), -EINVAL);
	assert_non_null(strstr(err, "audit.origin is required"));
}

/* ---------------------------------------------------------------------
 * identity: the OIDC login takeover
 * ------------------------------------------------------------------- */

#define POLICY "\"policy\": \"policy.json\", "
#define ID_OK                                                               \
	"\"issuer\": \"https://idp.example\", \"audience\": \"tollgate\", " \
	"\"credentials\": \"creds.json\", "

static void
test_identity(void **state)
{
	char want[256];

	assert_int_equal(load("{" ORIGIN ", " POLICY "\"identity\": {" ID_OK
			      "\"jwks_file\": \"jwks.json\", \"skew_s\": 10, \"max_age_s\": 3600,"
			      " \"algs\": [\"RS256\", \"ES256\"], \"azp\": \"tg\","
			      " \"groups_claim\": [\"realm_access\", \"roles\"],"
			      " \"login_timeout_ms\": 5000, \"max_logins\": 8,"
			      " \"max_sessions\": 100, \"cache_max\": 16, \"refetch_cooldown_s\": 10}}"),
			 0);
	assert_true(cfg.identity.enabled);
	assert_string_equal(cfg.identity.issuer, "https://idp.example");
	assert_string_equal(cfg.identity.audience, "tollgate");
	assert_string_equal(cfg.identity.azp, "tg");
	snprintf(want, sizeof(want), "%s/jwks.json", dir);
	assert_string_equal(cfg.identity.jwks_file, want);
	snprintf(want, sizeof(want), "%s/creds.json", dir);
	assert_string_equal(cfg.identity.credentials, want);
	assert_int_equal(cfg.identity.skew_s, 10);
	assert_int_equal(cfg.identity.max_age_s, 3600);
	assert_int_equal(cfg.identity.algs, (1u << TG_JWS_RS256) | (1u << TG_JWS_ES256));
	assert_int_equal(cfg.identity.groups_claim_len, 2);
	assert_string_equal(cfg.identity.groups_claim[1], "roles");
	assert_int_equal(cfg.identity.login_timeout_ms, 5000);
	assert_int_equal(cfg.identity.max_logins, 8);
	assert_int_equal(cfg.identity.max_sessions, 100);
	assert_int_equal(cfg.identity.cache_max, 16);
	assert_int_equal(cfg.identity.refetch_cooldown_s, 10);

	tg_sp_config_defaults(&cfg);
	assert_int_equal(load("{" ORIGIN ", " POLICY "\"identity\": {" ID_OK "\"discovery_url\": "
			      "\"https://idp.example/.well-known/openid-configuration\","
			      " \"ca_file\": \"ca.pem\", \"groups_claim\": \"roles\"}}"),
			 0);
	assert_int_equal(cfg.identity.skew_s, TG_SP_SKEW_DEFAULT);
	assert_int_equal(cfg.identity.login_timeout_ms, TG_SP_LOGIN_TIMEOUT_DEFAULT);
	assert_int_equal(cfg.identity.groups_claim_len, 1);
	assert_string_equal(cfg.identity.groups_claim[0], "roles");

	tg_sp_config_defaults(&cfg);
	assert_int_equal(load("{" ORIGIN "}"), 0);
	assert_false(cfg.identity.enabled);
}

static void
test_identity_refused(void **state)
{
	tg_sp_config_defaults(&cfg);
	refused("{" ORIGIN ", " POLICY "\"identity\": {\"audience\": \"a\", "
		"\"credentials\": \"c\", \"jwks_file\": \"j\"}}",
		"identity.issuer", "required", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{" ORIGIN ", " POLICY "\"identity\": {" ID_OK "\"jwks_file\": \"j\", "
		"\"jwks_uri\": \"https://idp.example/keys\"}}",
		"exactly one of jwks_file, discovery_url and jwks_uri", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{" ORIGIN ", " POLICY "\"identity\": {" ID_OK "\"skew_s\": 1}}",
		"exactly one of jwks_file", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{" ORIGIN ", " POLICY "\"identity\": {\"issuer\": \"http://idp\", "
		"\"audience\": \"a\", \"credentials\": \"c\", \"jwks_file\": \"j\"}}",
		"identity.issuer", "https://", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{" ORIGIN ", " POLICY "\"identity\": {" ID_OK "\"jwks_file\": \"j\", "
		"\"refetch_cooldown_s\": 5}}",
		"identity.refetch_cooldown_s", "10..3600", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{" ORIGIN ", " POLICY "\"identity\": {" ID_OK "\"jwks_file\": \"j\", "
		"\"skew_s\": 61}}",
		"identity.skew_s", "0..60", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{" ORIGIN ", " POLICY "\"identity\": {" ID_OK "\"jwks_file\": \"j\", "
		"\"algs\": [\"HS256\"]}}",
		"identity.algs", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{" ORIGIN ", " POLICY "\"identity\": {" ID_OK "\"jwks_file\": \"j\", "
		"\"algs\": [\"none\"]}}",
		"identity.algs", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{" ORIGIN ", " POLICY "\"identity\": {" ID_OK "\"discovery_url\": "
		"\"https://evil.example/.well-known/openid-configuration\"}}",
		"identity.discovery_url", "issuer's own", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{" ORIGIN ", " POLICY "\"identity\": {" ID_OK "\"jwks_file\": \"j\", "
		"\"ca_file\": \"ca.pem\"}}",
		"identity.ca_file", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{" ORIGIN ", " POLICY "\"identity\": {" ID_OK "\"jwks_file\": \"j\", "
		"\"groups_claim\": []}}",
		"identity.groups_claim", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{" ORIGIN ", " POLICY "\"identity\": {" ID_OK "\"jwks_file\": \"j\", "
		"\"login_timeout_ms\": 5}}",
		"identity.login_timeout_ms", "100..120000", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{" ORIGIN ", " POLICY "\"identity\": {" ID_OK "\"jwks_file\": \"j\", "
		"\"nonsense\": 1}}",
		"identity.nonsense", NULL);
	tg_sp_config_defaults(&cfg);
	refused("{" ORIGIN ", \"identity\": {" ID_OK "\"jwks_file\": \"j\"}}",
		"identity needs \"policy\"", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minimal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_origin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watermarks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_mgmt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
