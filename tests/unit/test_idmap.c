/* SPDX-License-Identifier: MIT */
/*
 * test_idmap.c — unit tests of identity mapping (slowpath/idmap.c): the
 * rules of idmap.h decided for tokens' claims (first match, deny rules
 * first in line, email_verified, configurable groups claim, services),
 * fail-closed claims, on_token_expiry, and parse errors at
 * file:line:column.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idmap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const services[] = { "demo-pg", "other-pg" };

/* The policy of the lab, with the other sections as the dataplane has them. */
static const char policy[] =
	"{\n"
	"  \"commands\": { \"default\": \"allow\", \"rules\": [] },\n"
	"  \"identity\": {\n"
	"    \"claim_groups\": \"groups\",\n"
	"    \"services\": { \"demo-pg\": { \"on_token_expiry\": \"fatal\" } },\n"
	"    \"rules\": [\n"
	"      { \"id\": \"suspended\", \"match\": { \"groups\": [\"suspended\"] },\n"
	"        \"deny\": \"account suspended\" },\n"
	"      { \"id\": \"dba\", \"match\": { \"groups\": [\"dba\", \"sre\"] },\n"
	"        \"services\": [\"demo-pg\", \"other-pg\"], \"role\": \"app_admin\" },\n"
	"      { \"match\": { \"sub\": \"svc-reporting\" }, \"services\": [\"demo-pg\"],\n"
	"        \"role\": \"app_reader\" },\n"
	"      { \"id\": \"staff\", \"match\": { \"email\": [\"*@example.com\", "
	"\"*@corp.example\"] },\n"
	"        \"services\": [\"demo-pg\"], \"role\": \"app_reader\" },\n"
	"      { \"match\": { \"sub\": \"contractor-*\", \"email\": \"*@vendor.example\" },\n"
	"        \"deny\": \"contractors use the vendor gateway\" }\n"
	"    ],\n"
	"    \"default\": \"deny\"\n"
	"  }\n"
	"}\n";

static struct tg_idmap *
load(const char *text)
{
	struct tg_idmap *m = NULL;
	char err[256];

	if (tg_idmap_parse(text, strlen(text), "policy.json", services, ARRAY_SIZE(services), &m,
			   err, sizeof(err)) != 0)
		fail_msg("parse: %s", err);
	return m;
}

static struct tg_idmap_decision
resolve(const struct tg_idmap *m, const char *claims, const char *service)
{
	struct tg_idmap_decision d;
	json_error_t je;
	json_t *c = json_loads(claims, 0, &je);

	if (c == NULL)
		fail_msg("claims %s: %s", claims, je.text);
	assert_int_equal(tg_idmap_resolve(m, c, service, &d), 0);
	json_decref(c);
	return d;
}

static void
test_rules(void **state)
{
	static const struct {
		const char *claims, *service;
		bool allow;
		const char *role; /* allowed: the role; denied: a word of the reason */
		int rule;
	} cases[] = {
		{ "{\"sub\": \"alice\", \"groups\": [\"dev\", \"dba\"]}", "demo-pg", true,
		  "app_admin", 1 },
		{ "{\"sub\": \"alice\", \"groups\": [\"sre\"]}", "other-pg", true, "app_admin", 1 },
		{ "{\"sub\": \"alice\", \"groups\": \"dba\"}", "demo-pg", true, "app_admin", 1 },
		/* the deny rule comes first and holds for every service */
		{ "{\"sub\": \"alice\", \"groups\": [\"dba\", \"suspended\"]}", "demo-pg", false,
		  "account suspended", 0 },
		{ "{\"sub\": \"svc-reporting\"}", "demo-pg", true, "app_reader", 2 },
		/* not on the other service: no rule, the default */
		{ "{\"sub\": \"svc-reporting\"}", "other-pg", false, "no identity rule", -1 },
		{ "{\"sub\": \"svc-reporting-2\"}", "demo-pg", false, "no identity rule", -1 },
		{ "{\"sub\": \"bob\", \"email\": \"Bob@Example.COM\", \"email_verified\": true}",
		  "demo-pg", true, "app_reader", 3 },
		{ "{\"sub\": \"bob\", \"email\": \"bob@corp.example\", \"email_verified\": "
		  "\"true\"}",
		  "demo-pg", true, "app_reader", 3 },
		/* unverified email: the allow rule does not hold */
		{ "{\"sub\": \"bob\", \"email\": \"bob@example.com\"}", "demo-pg", false,
		  "email_verified", -1 },
		{ "{\"sub\": \"bob\", \"email\": \"bob@example.com\", \"email_verified\": false}",
		  "demo-pg", false, "email_verified", -1 },
		{ "{\"sub\": \"bob\", \"email\": \"bob@example.com.evil\", \"email_verified\": "
		  "true}",
		  "demo-pg", false, "no identity rule", -1 },
		/* both conditions of the last rule; it denies even unverified addresses */
		{ "{\"sub\": \"contractor-7\", \"email\": \"c7@vendor.example\"}", "demo-pg", false,
		  "vendor gateway", 4 },
		{ "{\"sub\": \"contractor-7\", \"email\": \"c7@elsewhere\"}", "demo-pg", false,
		  "no identity rule", -1 },
		/* fail closed on claims of the wrong type */
		{ "{\"sub\": \"alice\", \"groups\": [\"dba\", 7]}", "demo-pg", false, "non-string",
		  -1 },
		{ "{\"sub\": \"alice\", \"groups\": {\"dba\": true}}", "demo-pg", false,
		  "groups claim", -1 },
		{ "{\"sub\": 12, \"groups\": [\"dba\"]}", "demo-pg", false, "sub claim", -1 },
		{ "{\"sub\": \"a\", \"email\": [\"x@example.com\"]}", "demo-pg", false,
		  "email claim", -1 },
		{ "{}", "demo-pg", false, "no identity rule", -1 },
		{ "[]", "demo-pg", false, "not an object", -1 },
	};
	struct tg_idmap *m = load(policy);
	size_t i;

	assert_int_equal(tg_idmap_rules(m), 5);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tg_idmap_decision d = resolve(m, cases[i].claims, cases[i].service);

		if (d.allow != cases[i].allow || d.rule != cases[i].rule ||
		    (d.allow && strcmp(d.role, cases[i].role) != 0) ||
		    (!d.allow && strstr(d.reason, cases[i].role) == NULL))
			fail_msg("case %zu %s on %s: allow %d rule %d reason %s", i,
				 cases[i].claims, cases[i].service, d.allow, d.rule, d.reason);
		assert_true(d.reason[0] != '\0');
	}
	tg_idmap_free(m);
}

static void
test_decision_fields(void **state)
{
	struct tg_idmap *m = load(policy);
	struct tg_idmap_decision d;

	d = resolve(m, "{\"sub\": \"alice\", \"groups\": [\"dba\"]}", "demo-pg");
	assert_true(d.allow);
	assert_string_equal(d.rule_id, "dba");
	assert_int_equal(d.on_expiry, TG_IDMAP_EXPIRY_FATAL);
	assert_non_null(strstr(d.reason, "alice"));
	d = resolve(m, "{\"sub\": \"alice\", \"groups\": [\"dba\"]}", "other-pg");
	assert_int_equal(d.on_expiry, TG_IDMAP_EXPIRY_IGNORE);
	assert_int_equal(tg_idmap_on_expiry(m, "demo-pg"), TG_IDMAP_EXPIRY_FATAL);
	assert_int_equal(tg_idmap_on_expiry(m, "nope"), TG_IDMAP_EXPIRY_IGNORE);
	assert_int_equal(tg_idmap_resolve(m, NULL, "demo-pg", &d), -EINVAL);
	/* no grant options: none required, "continue" */
	assert_false(d.require_grant);
	assert_false(tg_idmap_require_grant(m, "demo-pg"));
	assert_int_equal(tg_idmap_on_grant_end(m, "demo-pg"), TG_IDMAP_GRANT_CONTINUE);
	tg_idmap_free(m);
}

/* require_grant and on_grant_expiry, per service, in the decision */
static void
test_grant_options(void **state)
{
	static const char pol[] =
		"{\"identity\": {\"services\": {\"demo-pg\": {\"require_grant\": true,"
		" \"on_grant_expiry\": \"end\"}, \"other-pg\": {\"require_grant\": true}},"
		" \"rules\": [{\"match\": {\"sub\": \"*\"}, \"services\": [\"demo-pg\", "
		"\"other-pg\"],"
		" \"role\": \"r\"}]}}";
	struct tg_idmap *m = load(pol);
	struct tg_idmap_decision d;

	(void)state;
	d = resolve(m, "{\"sub\": \"a\"}", "demo-pg");
	assert_true(d.allow);
	assert_true(d.require_grant);
	assert_int_equal(d.on_grant_end, TG_IDMAP_GRANT_END);
	d = resolve(m, "{\"sub\": \"a\"}", "other-pg");
	assert_true(d.require_grant);
	assert_int_equal(d.on_grant_end, TG_IDMAP_GRANT_CONTINUE);
	assert_false(tg_idmap_require_grant(m, "nope"));
	assert_false(tg_idmap_require_grant(NULL, "demo-pg"));
	tg_idmap_free(m);
}

static void
test_claim_path_and_options(void **state)
{
	static const char keycloak[] =
		"{\"identity\": {\"claim_groups\": [\"realm_access\", \"roles\"],"
		" \"require_email_verified\": false,"
		" \"rules\": [{\"match\": {\"groups\": [\"dba\"]}, \"services\": [\"demo-pg\"],"
		" \"role\": \"app_admin\"},"
		" {\"match\": {\"email\": \"*@example.com\"}, \"services\": [\"demo-pg\"],"
		" \"role\": \"app_reader\"}, {\"match\": {\"sub\": \"*\"}, \"services\": "
		"[\"other-pg\"], \"role\": \"guest\"}]}}";
	static const char auth0[] =
		"{\"identity\": {\"claim_groups\": \"https://example.com/groups\","
		" \"rules\": [{\"match\": {\"groups\": [\"dba\"]}, \"services\": [\"demo-pg\"],"
		" \"role\": \"app_admin\"}]}}";
	struct tg_idmap *m = load(keycloak);
	struct tg_idmap_decision d;

	d = resolve(m, "{\"sub\": \"a\", \"realm_access\": {\"roles\": [\"dba\"]}}", "demo-pg");
	assert_true(d.allow);
	assert_string_equal(d.role, "app_admin");
	/* a top-level "groups" is not the configured claim */
	d = resolve(m, "{\"sub\": \"a\", \"groups\": [\"dba\"]}", "demo-pg");
	assert_false(d.allow);
	/* the path leads through a non-object: refused, not read as absent */
	d = resolve(m, "{\"sub\": \"a\", \"realm_access\": [1]}", "other-pg");
	assert_false(d.allow);
	assert_non_null(strstr(d.reason, "non-object"));
	/* the path is simply not there: no groups (the catch-all still applies) */
	d = resolve(m, "{\"sub\": \"a\"}", "other-pg");
	assert_true(d.allow);
	/* require_email_verified false */
	d = resolve(m, "{\"sub\": \"a\", \"email\": \"a@example.com\"}", "demo-pg");
	assert_true(d.allow);
	assert_string_equal(d.role, "app_reader");
	/* the explicit catch-all, on its service only */
	d = resolve(m, "{\"sub\": \"anyone\"}", "other-pg");
	assert_true(d.allow);
	assert_string_equal(d.role, "guest");
	d = resolve(m, "{}", "other-pg");
	assert_false(d.allow); /* no sub: a sub pattern cannot hold */
	tg_idmap_free(m);

	m = load(auth0);
	d = resolve(m, "{\"sub\": \"a\", \"https://example.com/groups\": [\"dba\"]}", "demo-pg");
	assert_true(d.allow);
	tg_idmap_free(m);
}

static void
test_groups_cap(void **state)
{
	static const char pol[] =
		"{\"identity\": {\"rules\": [{\"match\": {\"groups\": [\"suspended\"]},"
		" \"deny\": \"suspended\"}, {\"match\": {\"sub\": \"*\"}, \"services\": "
		"[\"demo-pg\"], \"role\": \"r\"}]}}";
	struct tg_idmap *m = load(pol);
	struct tg_idmap_decision d;
	json_t *claims = json_pack("{s:s}", "sub", "alice"), *groups = json_array();
	size_t i;

	for (i = 0; i < TG_IDMAP_GROUPS_MAX; i++)
		json_array_append_new(groups, json_string("g"));
	json_object_set_new(claims, "groups", groups);
	assert_int_equal(tg_idmap_resolve(m, claims, "demo-pg", &d), 0);
	assert_true(d.allow);
	/* one more, and "suspended" after the cap: refused outright, not skipped */
	json_array_append_new(groups, json_string("suspended"));
	assert_int_equal(tg_idmap_resolve(m, claims, "demo-pg", &d), 0);
	assert_false(d.allow);
	assert_non_null(strstr(d.reason, "at most"));
	json_decref(claims);
	tg_idmap_free(m);
}

static void
test_glob(void **state)
{
	static const char pol[] =
		"{\"identity\": {\"rules\": [{\"match\": {\"sub\": [\"a*b*c\", \"x\", \"*-svc\"]},"
		" \"services\": [\"demo-pg\"], \"role\": \"r\"}]}}";
	static const struct {
		const char *sub;
		bool allow;
	} cases[] = {
		{ "abc", true },  { "aXbYc", true }, { "abcabc", true }, { "ab", false },
		{ "x", true },	  { "xx", false },   { "X", false },	 { "my-svc", true },
		{ "-svc", true }, { "svc", false },  { "a*b*c", true },	 { "", false },
	};
	struct tg_idmap *m = load(pol);
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char claims[128];
		struct tg_idmap_decision d;

		snprintf(claims, sizeof(claims), "{\"sub\": \"%s\"}", cases[i].sub);
		d = resolve(m, claims, "demo-pg");
		if (d.allow != cases[i].allow)
			fail_msg("sub \"%s\": %d", cases[i].sub, d.allow);
	}
	tg_idmap_free(m);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char *text;
		const char *where;
		const char *why;
	} cases[] = {
		{ "{\"identity\": []}", "policy.json:1:14: ", "must be an object" },
		{ "{\"identity\": {}}", "policy.json:1:14: ", "needs \"rules\"" },
		{ "{\"identity\": {\"rules\": [],\n \"claims\": 1}}",
		  "policy.json:2:2: ", "unknown key \"claims\"" },
		{ "{\"identity\": {\"rules\": [], \"default\": \"allow\"}}",
		  "policy.json:1:39: ", "default must be \"deny\"" },
		{ "{\"identity\": {\"rules\": [1]}}",
		  "policy.json:1:25: ", "a rule must be an object" },
		{ "{\"identity\": {\"rules\": [{\"role\": \"r\"}]}}",
		  "policy.json:1:25: ", "needs \"match\"" },
		{ "{\"identity\": {\"rules\": [{\"match\": {}, \"services\": [\"demo-pg\"], "
		  "\"role\": \"r\"}]}}",
		  "policy.json:1:35: ", "needs a condition" },
		{ "{\"identity\": {\"rules\": [{\"match\": {\"name\": \"x\"}}]}}",
		  "policy.json:1:36: ", "unknown key \"name\"" },
		{ "{\"identity\": {\"rules\": [\n  {\"match\": {\"sub\": \"x\"},\n"
		  "   \"services\": [\"demo-pg\", \"prod-pg\"], \"role\": \"r\"}]}}",
		  "policy.json:3:28: ", "unknown service \"prod-pg\"" },
		{ "{\"identity\": {\"rules\": [{\"match\": {\"sub\": \"x\"}, \"role\": \"r\"}]}}",
		  "policy.json:1:25: ", "needs \"services\"" },
		{ "{\"identity\": {\"rules\": [{\"match\": {\"sub\": \"x\"}, \"services\": "
		  "[\"demo-pg\"]}]}}",
		  "policy.json:1:25: ", "needs \"role\"" },
		{ "{\"identity\": {\"rules\": [{\"match\": {\"sub\": \"x\"}, \"services\": "
		  "[\"demo-pg\"], "
		  "\"role\": "
		  "\"0123456789012345678901234567890123456789012345678901234567890123\"}]}}",
		  "policy.json:1:82: ", "role must be a name" },
		{ "{\"identity\": {\"rules\": [{\"match\": {\"sub\": \"x\"}, \"deny\": \"no\", "
		  "\"role\": \"r\"}]}}",
		  "policy.json:1:63: ", "a deny rule has no role" },
		{ "{\"identity\": {\"rules\": [{\"match\": {\"groups\": \"dba\"}, \"deny\": "
		  "\"no\"}]}}",
		  "policy.json:1:46: ", "non-empty list" },
		{ "{\"identity\": {\"rules\": [{\"match\": {\"sub\": [\"a\", \"\"]}, \"deny\": "
		  "\"no\"}]}}",
		  "policy.json:1:49: ", "strings of 1..256" },
		{ "{\"identity\": {\"rules\": [], \"services\": {\"demo-pg\": "
		  "{\"on_token_expiry\": \"kill\"}}}}",
		  "policy.json:1:72: ", "on_token_expiry" },
		{ "{\"identity\": {\"rules\": [], \"services\": {\"demo-pg\": "
		  "{\"require_grant\": \"yes\"}}}}",
		  "policy.json:1:", "require_grant must be true or false" },
		{ "{\"identity\": {\"rules\": [], \"services\": {\"demo-pg\": "
		  "{\"on_grant_expiry\": \"fatal\"}}}}",
		  "policy.json:1:", "on_grant_expiry must be \"continue\" or \"end\"" },
		{ "{\"identity\": {\"rules\": [], \"services\": {\"x-pg\": {}}}}",
		  "policy.json:1:41: ", "unknown service \"x-pg\"" },
		{ "{\"identity\": {\"rules\": [], \"claim_groups\": []}}",
		  "policy.json:1:44: ", "claim_groups" },
		{ "{\"identity\": {\"rules\": [], \"require_email_verified\": \"yes\"}}",
		  "policy.json:1:54: ", "true or false" },
		{ "{\"identity\": {\"rules\": [], \"rules\": []}}", "policy.json:1:", "duplicate" },
		{ "{\"identity\": {\"rules\": [}", "policy.json:1:", "" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tg_idmap *m = (void *)1;
		char err[256];
		int rc = tg_idmap_parse(cases[i].text, strlen(cases[i].text), "policy.json",
					services, ARRAY_SIZE(services), &m, err, sizeof(err));

		if (rc != -EINVAL || strncmp(err, cases[i].where, strlen(cases[i].where)) != 0 ||
		    strstr(err, cases[i].why) == NULL)
			fail_msg("case %zu: %d \"%s\"", i, rc, err);
		assert_null(m);
	}
}

static void
test_no_identity(void **state)
{
	static const char text[] = "{\"commands\": {}}";
	struct tg_idmap *m = (void *)1;
	char err[128];

	assert_int_equal(
		tg_idmap_parse(text, strlen(text), "p.json", NULL, 0, &m, err, sizeof(err)),
		-ENOENT);
	assert_null(m);
	/* without a list of services, any service name is taken */
	{
		static const char any[] =
			"{\"identity\": {\"rules\": [{\"match\": {\"sub\": \"x\"},"
			" \"services\": [\"whatever\"], \"role\": \"r\"}]}}";

		assert_int_equal(
			tg_idmap_parse(any, strlen(any), "p.json", NULL, 0, &m, err, sizeof(err)),
			0);
		tg_idmap_free(m);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_decision_fields),
		cmocka_unit_test(test_grant_options),
		cmocka_unit_test(test_claim_path_and_options),
		cmocka_unit_test(test_groups_cap),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_no_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
