/* SPDX-License-Identifier: MIT */
/*
 * test_siem.c — conformance of the SIEM formats (slowpath/siem_format.h,
 * siem_syslog.h) and the sinks' config (siem_config.h): CEF escaping,
 * header and extension rules apart; OCSF's required attributes per class
 * at every trim level; RFC 5424 headers and SD-PARAM escaping; the 8 KiB
 * bound with a long statement cut and hashed.
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
#include <jansson.h>
#include <openssl/evp.h>

#include "siem_config.h"
#include "siem_format.h"
#include "siem_syslog.h"

/* Records as the store writes them (canonical JSON: sorted keys, no spaces). */
static const char rec_query[] =
	"{\"client\":{\"app\":\"psql\"},\"db\":{\"kind\":\"query\",\"name\":\"sales\","
	"\"rows\":3,\"statement\":\"SELECT 'a|b=c\\\\d\\ne'\",\"user\":\"alice\"},"
	"\"dst\":{\"ip\":\"2001:db8::1\",\"port\":5432,\"service\":\"pg\"},"
	"\"event\":{\"sequence\":7,\"type\":\"db.query\"},\"gw\":{\"host\":\"gw1\"},"
	"\"origin\":\"o/t\",\"outcome\":\"success\",\"policy\":{\"decision\":\"allow\"},"
	"\"prev_chain\":\"" /* 64 hex */
	"1111111111111111111111111111111111111111111111111111111111111111\","
	"\"schema_v\":1,\"seq\":5,\"session\":{\"id\":\"ab-0-1\"},"
	"\"src\":{\"ip\":\"10.0.0.5\",\"port\":40000},\"ts\":\"2025-01-31T23:59:59.123456Z\"}";

static const struct {
	const char *type, *extra;
	int class_uid, activity_id;
} classes[] = {
	{ "authn.success", "\"user\":{\"sub\":\"u1\"}", 3002, 1 },
	{ "authn.failure", "\"user\":{\"sub\":\"u1\"}", 3002, 1 },
	{ "session.end", "\"src\":{\"ip\":\"10.0.0.5\",\"port\":1}", 3002, 2 },
	{ "session.start", "\"db\":{\"user\":\"alice\"}", 6005, 3 },
	{ "db.query", "\"db\":{\"statement\":\"SELECT 1\"}", 6005, 4 },
	{ "db.query.begin", "\"db\":{\"statement\":\"SELECT 1\"}", 6005, 4 },
	{ "policy.deny", "\"db\":{\"statement\":\"DROP x\"}", 6005, 4 },
	{ "admin.change", "\"admin\":{\"action\":\"mgmt.policy.reload\"}", 6003, 3 },
	{ "approval.requested", "\"approval\":{\"id\":\"ap-1\"},\"db\":{\"user\":\"u\"}", 6005, 4 },
	{ "approval.vote", "\"operator\":{\"uid\":1000,\"user\":\"bob\"}", 6005, 4 },
	{ "approval.approved", "\"approval\":{\"id\":\"ap-1\"}", 6005, 4 },
	{ "approval.denied", "\"approval\":{\"id\":\"ap-1\"}", 6005, 4 },
	{ "approval.expired", "\"approval\":{\"id\":\"ap-1\"}", 6005, 4 },
	{ "approval.cancelled", "\"approval\":{\"id\":\"ap-1\"}", 6005, 4 },
	{ "log.checkpoint", "\"checkpoint\":{\"size\":5}", 1008, 99 },
	{ "log.gap", "\"gap\":{\"lost\":2}", 1008, 99 },
	{ "audit.failure", "\"gw\":{\"host\":\"gw1\"}", 1008, 99 },
};

static char *
record_of(const char *type, const char *extra, char *buf, size_t size)
{
	snprintf(buf, size,
		 "{\"event\":{\"type\":\"%s\"},\"origin\":\"o/t\",\"outcome\":\"success\","
		 "\"prev_chain\":\"%064d\",\"seq\":9,\"ts\":\"2025-01-31T23:59:59.000001Z\",%s}",
		 type, 0, extra);
	return buf;
}

static void
sha256_hex(const char *s, size_t len, char out[65])
{
	unsigned char h[32];
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(s, len, h, &n, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* ---- CEF ---------------------------------------------------------------- */

static void
test_cef_header_escape(void **state)
{
	char out[64];

	(void)state;
	/* header: \ and | escaped, CR and LF to spaces, = as is */
	assert_int_equal(tg_siem_cef_header_escape(out, sizeof(out), "a|b\\c=d\ne\rf", 11), 13);
	assert_string_equal(out, "a\\|b\\\\c=d e f");
	assert_int_equal(tg_siem_cef_header_escape(out, 4, "a|b", 3), -EMSGSIZE);
}

static void
test_cef_ext_escape(void **state)
{
	char out[64];

	(void)state;
	/* extension: \ and = escaped, newlines as \n and \r, | as is */
	assert_int_equal(tg_siem_cef_ext_escape(out, sizeof(out), "a|b\\c=d\ne\rf", 11), 15);
	assert_string_equal(out, "a|b\\\\c\\=d\\ne\\rf");
	assert_int_equal(tg_siem_cef_ext_escape(out, 3, "a=", 2), -EMSGSIZE);
}

/* The header is 7 fields split at unescaped pipes; nothing spans lines. */
static void
test_cef_event(void **state)
{
	struct tg_siem_event ev;
	char out[TG_SIEM_EVENT_MAX];
	int n, pipes = 0;

	(void)state;
	assert_int_equal(tg_siem_event_init(&ev, 5, rec_query, strlen(rec_query)), 0);
	ev.version = "1.0|x";
	n = tg_siem_format(TG_SIEM_FMT_CEF, &ev, out, sizeof(out), NULL);
	assert_true(n > 0);
	assert_null(strchr(out, '\n'));
	for (const char *p = out; *p != '\0' && pipes < 7; p++) {
		if (*p == '\\') {
			p++;
			continue;
		}
		pipes += *p == '|';
	}
	assert_int_equal(pipes, 7);
	assert_non_null(strstr(out, "CEF:0|tollgate|tollgate|1.0\\|x|db.query|db.query success|3|"));
	assert_non_null(strstr(out, "externalId=5 "));
	assert_non_null(strstr(out, "cs1Label=leaf cs1="));
	assert_non_null(strstr(out, ev.leaf));
	assert_non_null(strstr(out, "cs2Label=prevChain cs2=1111"));
	/* the statement: | as is, = and \ escaped, the newline as \n */
	assert_non_null(strstr(out, "cs4=SELECT 'a|b\\=c\\\\d\\ne'"));
	assert_non_null(strstr(out, "suser=alice"));
	assert_non_null(strstr(out, "src=10.0.0.5 spt=40000 dst=2001:db8::1 dpt=5432"));
	tg_siem_event_release(&ev);
}

/* ---- OCSF --------------------------------------------------------------- */

static void
check_ocsf(const char *json, int class_uid, int activity_id)
{
	json_t *j = json_loads(json, 0, NULL), *md;

	assert_non_null(j);
	/* the base event's required attributes */
	assert_int_equal(json_integer_value(json_object_get(j, "class_uid")), class_uid);
	assert_int_equal(json_integer_value(json_object_get(j, "activity_id")), activity_id);
	assert_int_equal(json_integer_value(json_object_get(j, "category_uid")), class_uid / 1000);
	assert_int_equal(json_integer_value(json_object_get(j, "type_uid")),
			 class_uid * 100 + activity_id);
	assert_true(json_is_integer(json_object_get(j, "severity_id")));
	assert_true(json_integer_value(json_object_get(j, "time")) > 1700000000000LL);
	md = json_object_get(j, "metadata");
	assert_string_equal(json_string_value(json_object_get(md, "version")),
			    TG_SIEM_OCSF_VERSION);
	assert_string_equal(json_string_value(json_object_get(json_object_get(md, "product"),
							      "name")),
			    "tollgate");
	assert_int_equal(json_integer_value(json_object_get(md, "sequence")), 9);
	/* per class */
	switch (class_uid) {
	case 3002:
		assert_true(json_is_object(json_object_get(j, "user")));
		break;
	case 6005:
		assert_true(json_is_object(json_object_get(j, "actor")));
		assert_true(json_is_object(json_object_get(j, "src_endpoint")));
		assert_true(json_is_object(json_object_get(j, "database")));
		break;
	case 6003:
		assert_true(json_is_object(json_object_get(j, "actor")));
		assert_true(json_is_object(json_object_get(j, "src_endpoint")));
		assert_true(json_is_string(
			json_object_get(json_object_get(j, "api"), "operation")));
		break;
	default:
		assert_true(json_is_object(json_object_get(j, "device")));
		break;
	}
	/* integrity, at every level */
	md = json_object_get(json_object_get(j, "unmapped"), "tollgate");
	assert_int_equal(json_integer_value(json_object_get(md, "seq")), 9);
	assert_int_equal(strlen(json_string_value(json_object_get(md, "leaf"))), 64);
	assert_int_equal(strlen(json_string_value(json_object_get(md, "prev_chain"))), 64);
	json_decref(j);
}

static void
test_ocsf_classes(void **state)
{
	struct tg_siem_event ev;
	char rec[1024], out[TG_SIEM_EVENT_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		record_of(classes[i].type, classes[i].extra, rec, sizeof(rec));
		assert_int_equal(tg_siem_event_init(&ev, 9, rec, strlen(rec)), 0);
		for (unsigned int t = 0; t < TG_SIEM_TRIM_LEVELS; t++) {
			assert_true(tg_siem_format_ocsf(&ev, t, out, sizeof(out)) > 0);
			check_ocsf(out, classes[i].class_uid, classes[i].activity_id);
		}
		tg_siem_event_release(&ev);
	}
}

/* A statement over 8 KiB: cut on a character boundary, hashed, under the bound. */
static void
test_long_statement(void **state)
{
	static char stmt[12000], rec[13000], out[TG_SIEM_EVENT_MAX];
	char want[65];
	struct tg_siem_event ev;
	unsigned int trimmed = 9;
	json_t *j, *t;
	size_t n = 0;
	int len;

	(void)state;
	while (n + 3 < sizeof(stmt) - 1) { /* "é" (2 bytes) and "x": cuts may fall mid-character */
		memcpy(stmt + n, "\xc3\xa9x", 3);
		n += 3;
	}
	stmt[n] = '\0';
	sha256_hex(stmt, n, want);
	snprintf(rec, sizeof(rec),
		 "{\"db\":{\"statement\":\"%s\"},\"event\":{\"type\":\"db.query\"},\"origin\":\"o\","
		 "\"outcome\":\"success\",\"prev_chain\":\"%064d\",\"seq\":1,"
		 "\"ts\":\"2025-01-31T23:59:59.000001Z\"}",
		 stmt, 0);
	assert_int_equal(tg_siem_event_init(&ev, 1, rec, strlen(rec)), 0);
	for (int f = 0; f < TG_SIEM_FMT_MAX; f++) {
		len = tg_siem_format((enum tg_siem_format)f, &ev, out, sizeof(out), &trimmed);
		assert_true(len > 0 && len < TG_SIEM_EVENT_MAX);
		/* the record itself (12 KB) does not fit where it rides along (not in CEF) */
		assert_true(trimmed >= (f == TG_SIEM_FMT_CEF ? 0u : 1u));
		if (f == TG_SIEM_FMT_OCSF) {
			j = json_loads(out, 0, NULL); /* valid JSON: the cut kept UTF-8 whole */
			assert_non_null(j);
			t = json_object_get(json_object_get(j, "unmapped"), "tollgate");
			assert_true(json_is_true(json_object_get(t, "statement_truncated")));
			assert_string_equal(json_string_value(json_object_get(t, "statement_sha256")),
					    want);
			assert_true(json_string_length(json_object_get(
					    json_object_get(j, "query_info"), "query_string")) <=
				    TG_SIEM_STATEMENT_MAX);
			json_decref(j);
		}
		if (f == TG_SIEM_FMT_JSONL) /* seq, leaf and chain hashes: the chain kept */
			assert_non_null(strstr(out, "\"truncated\":true"));
		if (f == TG_SIEM_FMT_CEF)
			assert_non_null(strstr(out, want));
	}
	tg_siem_event_release(&ev);
	assert_int_equal(tg_siem_utf8_cut("\xc3\xa9x", 3, 1), 0);
	assert_int_equal(tg_siem_utf8_cut("\xc3\xa9x", 3, 2), 2);
}

/* ECS: the integrity fields where ECS has them, and the record whole. */
static void
test_ecs(void **state)
{
	struct tg_siem_event ev;
	char out[TG_SIEM_EVENT_MAX];
	json_t *j, *e;

	(void)state;
	assert_int_equal(tg_siem_event_init(&ev, 5, rec_query, strlen(rec_query)), 0);
	assert_true(tg_siem_format(TG_SIEM_FMT_ECS, &ev, out, sizeof(out), NULL) > 0);
	j = json_loads(out, 0, NULL);
	e = json_object_get(j, "event");
	assert_int_equal(json_integer_value(json_object_get(e, "sequence")), 5);
	assert_string_equal(json_string_value(json_object_get(e, "hash")), ev.leaf);
	assert_string_equal(json_string_value(json_object_get(e, "original")), rec_query);
	assert_string_equal(json_string_value(json_array_get(json_object_get(e, "category"), 0)),
			    "database");
	assert_string_equal(json_string_value(json_object_get(e, "outcome")), "success");
	json_decref(j);
	tg_siem_event_release(&ev);
}

/*
 * approval.* records: OCSF Datastore Activity whose disposition is the
 * decision, ECS database/iam with the decision as event.type; the
 * approval and the operator ride along in tollgate.*.
 */
static void test_approval_records(void **state) {
  static const struct {
    const char *type;
    int disposition; /* 0: none */
    const char *ecs_type;
  } cases[] = {
      {"approval.requested", 0, "creation"}, {"approval.vote", 0, "change"},
      {"approval.approved", 1, "allowed"},   {"approval.denied", 2, "denied"},
      {"approval.expired", 2, "denied"},     {"approval.cancelled", 0, "end"},
  };
  struct tg_siem_event ev;
  char rec[1024], out[TG_SIEM_EVENT_MAX];
  json_t *j, *t;

  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    record_of(cases[i].type,
              "\"approval\":{\"id\":\"ap-00000000000000aa\",\"quorum\":2},"
              "\"db\":{\"user\":\"app_rw\"},\"operator\":{\"uid\":1001,"
              "\"user\":\"bob\"}",
              rec, sizeof(rec));
    assert_int_equal(tg_siem_event_init(&ev, 9, rec, strlen(rec)), 0);
    assert_true(tg_siem_format_ocsf(&ev, 0, out, sizeof(out)) > 0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "disposition_id")),
                     cases[i].disposition);
    t = json_object_get(json_object_get(j, "unmapped"), "tollgate");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(t, "approval"), "id")),
                        "ap-00000000000000aa");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(t, "operator"), "user")),
                        "bob");
    json_decref(j);
    assert_true(tg_siem_format(TG_SIEM_FMT_ECS, &ev, out, sizeof(out), NULL) >
                0);
    j = json_loads(out, 0, NULL);
    t = json_object_get(j, "event");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(t, "category"), 0)),
        "database");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(t, "type"), 0)),
        cases[i].ecs_type);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "user"), "name")),
        "app_rw");
    t = json_object_get(j, "tollgate");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(t, "approval"), "quorum")),
                     2);
    json_decref(j);
    tg_siem_event_release(&ev);
  }
}
/* ---- RFC 5424 ----------------------------------------------------------- */

static void
test_syslog_head(void **state)
{
	struct tg_syslog_header h = {
		.facility = 13,
		.severity = 6,
		.ts = "2025-01-31T23:59:59.123456Z",
		.hostname = "gw 1",
		.app_name = "tollgate",
		.procid = NULL,
		.msgid = "db.query",
		.sd_id = "tollgate@32473",
	};
	char out[512], esc[32];

	(void)state;
	/* PRI 13*8+6 = 110; a space in a header field becomes '_', none gives '-' */
	assert_true(tg_syslog_head(out, sizeof(out), &h, 42, "ab", "cd", "ocsf") > 0);
	assert_string_equal(out, "<110>1 2025-01-31T23:59:59.123456Z gw_1 tollgate - db.query "
				 "[tollgate@32473 seq=\"42\" leaf=\"ab\" prev=\"cd\" fmt=\"ocsf\"] ");
	/* SD-PARAM values: '"', '\' and ']' escaped (RFC 5424 6.3.3) */
	assert_int_equal(tg_syslog_sd_escape(esc, sizeof(esc), "a\"b\\c]d", 7), 10);
	assert_string_equal(esc, "a\\\"b\\\\c\\]d");
	assert_true(tg_syslog_head(out, sizeof(out), &h, 1, "x]", "y\"", "cef") > 0);
	assert_non_null(strstr(out, "leaf=\"x\\]\" prev=\"y\\\"\""));
	h.facility = 24;
	assert_int_equal(tg_syslog_head(out, sizeof(out), &h, 1, "", "", "cef"), -EINVAL);
	h.facility = 1;
	h.sd_id = "bad id";
	assert_int_equal(tg_syslog_head(out, sizeof(out), &h, 1, "", "", "cef"), -EINVAL);
	assert_true(tg_syslog_sd_id_valid("tollgate@32473.1"));
	assert_false(tg_syslog_sd_id_valid("a@b"));
	assert_false(tg_syslog_sd_id_valid("x=y"));
	/* octet counting (RFC 6587 3.4.1): "LEN SP" */
	assert_int_equal(tg_syslog_frame_prefix(esc, sizeof(esc), 8191), 5);
	assert_string_equal(esc, "8191 ");
	assert_int_equal(tg_syslog_head(out, 40, &h, 1, "", "", "cef"), -EINVAL);
	h.sd_id = "tollgate@32473";
	assert_int_equal(tg_syslog_head(out, 40, &h, 1, "", "", "cef"), -EMSGSIZE);
}

/* ---- config ------------------------------------------------------------- */

static int
parse(const char *text, struct tg_siem_config *c, char *err, size_t errlen)
{
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	int rc;

	assert_non_null(v);
	rc = tg_siem_config_parse(c, v, "/etc/tollgate/slowpath.json", err, errlen);
	json_decref(v);
	return rc;
}

static void
test_config(void **state)
{
	static struct tg_siem_config c;
	char err[512];

	(void)state;
	assert_int_equal(parse("{\"sinks\":[{\"name\":\"soc\",\"type\":\"syslog-tls\",\"host\":"
			       "\"192.0.2.1\",\"ca\":\"ca.pem\",\"format\":\"cef\"},{\"name\":"
			       "\"f\",\"type\":\"file\",\"path\":\"/var/log/a.jsonl\","
			       "\"rotate_kb\":1}]}",
			       &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.nb_sinks, 2);
	assert_int_equal(c.sinks[0].port, 6514);
	assert_int_equal(c.sinks[0].format, TG_SIEM_FMT_CEF);
	assert_string_equal(c.sinks[0].ca, "/etc/tollgate/ca.pem");
	assert_string_equal(c.sinks[0].server_name, "192.0.2.1");
	assert_int_equal(c.sinks[1].rotate_bytes, 1024);
	/* refusals, each with where and why */
	assert_int_equal(parse("{\"sinks\":[{\"name\":\"a\",\"type\":\"syslog-tcp\",\"host\":"
			       "\"siem.example.com\"}]}",
			       &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "siem.sinks[0].host"));
	assert_int_equal(parse("{\"sinks\":[{\"name\":\"a\",\"type\":\"syslog-tls\",\"host\":"
			       "\"::1\"}]}",
			       &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, ".ca"));
	assert_int_equal(parse("{\"sinks\":[{\"name\":\"a\",\"type\":\"file\",\"path\":\"x\","
			       "\"port\":1}]}",
			       &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a key of a file sink"));
	assert_int_equal(parse("{\"sinks\":[{\"name\":\"a\",\"type\":\"file\",\"path\":\"x\"},"
			       "{\"name\":\"a\",\"type\":\"file\",\"path\":\"y\"}]}",
			       &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "earlier sink"));
	assert_int_equal(parse("{\"sinks\":[{\"name\":\"a b\",\"type\":\"file\",\"path\":\"x\"}]}",
			       &c, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(parse("{\"sink\":[]}", &c, err, sizeof(err)), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cef_header_escape), cmocka_unit_test(test_cef_ext_escape),
		cmocka_unit_test(test_cef_event),	  cmocka_unit_test(test_ocsf_classes),
		cmocka_unit_test(test_long_statement),	  cmocka_unit_test(test_ecs),
		cmocka_unit_test(test_approval_records),
		cmocka_unit_test(test_syslog_head),	  cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
