/* SPDX-License-Identifier: MIT */
/*
 * test_prom.c — unit tests of the stats result as Prometheus text
 * (mgmt/prom.c): a fixed stats JSON, of the shape the slowpath's "stats"
 * method answers, in; the exact exposition lines out, and every line of
 * the output checked against the 0.0.4 grammar by a regex (promtool is
 * not available here).
 */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "prom.h"

/* A stats result: slowpath, mgmt and a connected dataplane with two ports and a worker. */
static const char stats_json[] =
	"{\"slowpath\": {\"counters\": {\"connections\": 2, \"records\": 10},"
	"  \"disconnects\": {\"closed\": 1}, \"store_size\": 11, \"store_durable\": 11},"
	" \"mgmt\": {\"clients\": 1, \"subscribers\": 0, \"pending\": 0,"
	"  \"counters\": {\"requests\": 5, \"errors\": 1}, \"errors\": {\"denied\": 1}},"
	" \"dataplane\": {\"connected\": true,"
	"  \"mbufs\": {\"pool\": 8192, \"free\": 8000},"
	"  \"worker\": {\"0\": {\"lcore\": 1, \"polls\": 100, \"flows_active\": 3}},"
	"  \"port\": {\"0\": {\"rx_pkts\": 7, \"tx_pkts\": 5}, \"1\": {\"rx_pkts\": 9, \"tx_pkts\": 6}},"
	"  \"flows\": {\"active\": 3, \"max\": 1024, \"created\": 40},"
	"  \"stream\": {\"held\": 2, \"rings_used\": 1, \"rings\": 64},"
	"  \"pg\": {\"fe\": {\"query\": 4}, \"violations\": {\"fe_type\": 1}, \"sessions\": 2},"
	"  \"control\": {\"connected\": 1, \"events_pending\": 0, \"batches\": 3,"
	"   \"disconnect\": {\"closed\": 1, \"odd-one \\\"x\\\"\": 2}}}}";

/* What it must read, in order. */
static const char *const expected[] = {
	"# HELP tollgate_slowpath_connections_total tollgate slowpath.counters.connections",
	"# TYPE tollgate_slowpath_connections_total counter",
	"tollgate_slowpath_connections_total 2",
	"# HELP tollgate_slowpath_records_total tollgate slowpath.counters.records",
	"# TYPE tollgate_slowpath_records_total counter",
	"tollgate_slowpath_records_total 10",
	"# HELP tollgate_slowpath_disconnects_by_reason_total tollgate slowpath.disconnects.<reason>",
	"# TYPE tollgate_slowpath_disconnects_by_reason_total counter",
	"tollgate_slowpath_disconnects_by_reason_total{reason=\"closed\"} 1",
	"# HELP tollgate_slowpath_store_size tollgate slowpath.store_size",
	"# TYPE tollgate_slowpath_store_size gauge",
	"tollgate_slowpath_store_size 11",
	"# HELP tollgate_slowpath_store_durable tollgate slowpath.store_durable",
	"# TYPE tollgate_slowpath_store_durable gauge",
	"tollgate_slowpath_store_durable 11",
	"# HELP tollgate_mgmt_clients tollgate mgmt.clients",
	"# TYPE tollgate_mgmt_clients gauge",
	"tollgate_mgmt_clients 1",
	"# HELP tollgate_mgmt_subscribers tollgate mgmt.subscribers",
	"# TYPE tollgate_mgmt_subscribers gauge",
	"tollgate_mgmt_subscribers 0",
	"# HELP tollgate_mgmt_pending tollgate mgmt.pending",
	"# TYPE tollgate_mgmt_pending gauge",
	"tollgate_mgmt_pending 0",
	"# HELP tollgate_mgmt_requests_total tollgate mgmt.counters.requests",
	"# TYPE tollgate_mgmt_requests_total counter",
	"tollgate_mgmt_requests_total 5",
	"# HELP tollgate_mgmt_errors_total tollgate mgmt.counters.errors",
	"# TYPE tollgate_mgmt_errors_total counter",
	"tollgate_mgmt_errors_total 1",
	"# HELP tollgate_mgmt_errors_by_reason_total tollgate mgmt.errors.<reason>",
	"# TYPE tollgate_mgmt_errors_by_reason_total counter",
	"tollgate_mgmt_errors_by_reason_total{reason=\"denied\"} 1",
	"# HELP tollgate_dataplane_connected tollgate dataplane.connected",
	"# TYPE tollgate_dataplane_connected gauge",
	"tollgate_dataplane_connected 1",
	"# HELP tollgate_dataplane_mbufs_pool tollgate dataplane.mbufs.pool",
	"# TYPE tollgate_dataplane_mbufs_pool gauge",
	"tollgate_dataplane_mbufs_pool 8192",
	"# HELP tollgate_dataplane_mbufs_free tollgate dataplane.mbufs.free",
	"# TYPE tollgate_dataplane_mbufs_free gauge",
	"tollgate_dataplane_mbufs_free 8000",
	"# HELP tollgate_dataplane_worker_lcore tollgate dataplane.worker.<worker>.lcore",
	"# TYPE tollgate_dataplane_worker_lcore gauge",
	"tollgate_dataplane_worker_lcore{worker=\"0\"} 1",
	"# HELP tollgate_dataplane_worker_polls_total tollgate dataplane.worker.<worker>.polls",
	"# TYPE tollgate_dataplane_worker_polls_total counter",
	"tollgate_dataplane_worker_polls_total{worker=\"0\"} 100",
	"# HELP tollgate_dataplane_worker_flows_active tollgate dataplane.worker.<worker>.flows_active",
	"# TYPE tollgate_dataplane_worker_flows_active gauge",
	"tollgate_dataplane_worker_flows_active{worker=\"0\"} 3",
	/* both ports' samples together, under one HELP and TYPE */
	"# HELP tollgate_dataplane_port_rx_pkts_total tollgate dataplane.port.<port>.rx_pkts",
	"# TYPE tollgate_dataplane_port_rx_pkts_total counter",
	"tollgate_dataplane_port_rx_pkts_total{port=\"0\"} 7",
	"tollgate_dataplane_port_rx_pkts_total{port=\"1\"} 9",
	"# HELP tollgate_dataplane_port_tx_pkts_total tollgate dataplane.port.<port>.tx_pkts",
	"# TYPE tollgate_dataplane_port_tx_pkts_total counter",
	"tollgate_dataplane_port_tx_pkts_total{port=\"0\"} 5",
	"tollgate_dataplane_port_tx_pkts_total{port=\"1\"} 6",
	"# HELP tollgate_dataplane_flows_active tollgate dataplane.flows.active",
	"# TYPE tollgate_dataplane_flows_active gauge",
	"tollgate_dataplane_flows_active 3",
	"# HELP tollgate_dataplane_flows_max tollgate dataplane.flows.max",
	"# TYPE tollgate_dataplane_flows_max gauge",
	"tollgate_dataplane_flows_max 1024",
	"# HELP tollgate_dataplane_flows_created_total tollgate dataplane.flows.created",
	"# TYPE tollgate_dataplane_flows_created_total counter",
	"tollgate_dataplane_flows_created_total 40",
	"# HELP tollgate_dataplane_stream_held tollgate dataplane.stream.held",
	"# TYPE tollgate_dataplane_stream_held gauge",
	"tollgate_dataplane_stream_held 2",
	"# HELP tollgate_dataplane_stream_rings_used tollgate dataplane.stream.rings_used",
	"# TYPE tollgate_dataplane_stream_rings_used gauge",
	"tollgate_dataplane_stream_rings_used 1",
	"# HELP tollgate_dataplane_stream_rings tollgate dataplane.stream.rings",
	"# TYPE tollgate_dataplane_stream_rings gauge",
	"tollgate_dataplane_stream_rings 64",
	"# HELP tollgate_dataplane_pg_fe_messages_total tollgate dataplane.pg.fe.<message>",
	"# TYPE tollgate_dataplane_pg_fe_messages_total counter",
	"tollgate_dataplane_pg_fe_messages_total{message=\"query\"} 4",
	"# HELP tollgate_dataplane_pg_violations_total tollgate dataplane.pg.violations.<reason>",
	"# TYPE tollgate_dataplane_pg_violations_total counter",
	"tollgate_dataplane_pg_violations_total{reason=\"fe_type\"} 1",
	"# HELP tollgate_dataplane_pg_sessions_total tollgate dataplane.pg.sessions",
	"# TYPE tollgate_dataplane_pg_sessions_total counter",
	"tollgate_dataplane_pg_sessions_total 2",
	"# HELP tollgate_dataplane_control_connected tollgate dataplane.control.connected",
	"# TYPE tollgate_dataplane_control_connected gauge",
	"tollgate_dataplane_control_connected 1",
	"# HELP tollgate_dataplane_control_events_pending tollgate dataplane.control.events_pending",
	"# TYPE tollgate_dataplane_control_events_pending gauge",
	"tollgate_dataplane_control_events_pending 0",
	"# HELP tollgate_dataplane_control_batches_total tollgate dataplane.control.batches",
	"# TYPE tollgate_dataplane_control_batches_total counter",
	"tollgate_dataplane_control_batches_total 3",
	"# HELP tollgate_dataplane_control_disconnect_total tollgate dataplane.control.disconnect.<reason>",
	"# TYPE tollgate_dataplane_control_disconnect_total counter",
	"tollgate_dataplane_control_disconnect_total{reason=\"closed\"} 1",
	/* a label value is escaped, not sanitised */
	"tollgate_dataplane_control_disconnect_total{reason=\"odd-one \\\"x\\\"\"} 2",
};

/* The output of tg_prom_write() for text, as a malloc'd string. */
static char *
render(const char *text, int *rc)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_non_null(j);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	*rc = tg_prom_write(f, j);
	fclose(f);
	json_decref(j);
	return buf;
}

static void
test_exact_lines(void **state)
{
	char *out, *line, *save = NULL;
	size_t i = 0;
	int rc;

	(void)state;
	out = render(stats_json, &rc);
	assert_int_equal(rc, 0);
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		assert_true(i < sizeof(expected) / sizeof(expected[0]));
		assert_string_equal(line, expected[i]);
		i++;
	}
	assert_int_equal(i, sizeof(expected) / sizeof(expected[0]));
	free(out);
}

/*
 * Every line is a HELP, a TYPE or a sample of the 0.0.4 text format; each
 * metric's TYPE comes once, before its samples.
 */
static void
test_format(void **state)
{
	static const char *const re_text[] = {
		"^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$",
		"^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge)$",
		"^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\"\\})? "
		"-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$",
	};
	regex_t re[3];
	char *out, *line, *save = NULL, typed[64][192];
	size_t ntyped = 0, i, k;
	int rc;

	(void)state;
	for (k = 0; k < 3; k++)
		assert_int_equal(regcomp(&re[k], re_text[k], REG_EXTENDED | REG_NOSUB), 0);
	out = render(stats_json, &rc);
	assert_int_equal(rc, 0);
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		for (k = 0; k < 3; k++)
			if (regexec(&re[k], line, 0, NULL, 0) == 0)
				break;
		if (k == 3)
			fail_msg("not exposition format: %s", line);
		if (k != 1)
			continue;
		for (i = 0; i < ntyped; i++)
			if (strcmp(typed[i], line) == 0)
				fail_msg("TYPE twice: %s", line);
		assert_true(ntyped < 64);
		snprintf(typed[ntyped++], sizeof(typed[0]), "%s", line);
	}
	for (k = 0; k < 3; k++)
		regfree(&re[k]);
	free(out);
}

/* A dataplane away: its error string is left out, connected is 0. */
static void
test_dataplane_away(void **state)
{
	char *out;
	int rc;

	(void)state;
	out = render("{\"slowpath\": {}, \"dataplane\": {\"connected\": false, "
		     "\"error\": \"no answer\"}}", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "# HELP tollgate_dataplane_connected tollgate dataplane.connected\n"
				 "# TYPE tollgate_dataplane_connected gauge\n"
				 "tollgate_dataplane_connected 0\n");
	free(out);
}

/* Names are sanitised; a name already ending in _total is not doubled. */
static void
test_names(void **state)
{
	char *out;
	int rc;

	(void)state;
	out = render("{\"dataplane\": {\"odd.name\": {\"a-b c\": 1, \"x_total\": 2}}}", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "# HELP tollgate_dataplane_odd_name_a_b_c_total tollgate "
				 "dataplane.odd.name.a-b c\n"
				 "# TYPE tollgate_dataplane_odd_name_a_b_c_total counter\n"
				 "tollgate_dataplane_odd_name_a_b_c_total 1\n"
				 "# HELP tollgate_dataplane_odd_name_x_total tollgate "
				 "dataplane.odd.name.x_total\n"
				 "# TYPE tollgate_dataplane_odd_name_x_total counter\n"
				 "tollgate_dataplane_odd_name_x_total 2\n");
	free(out);
}

static void
test_not_object(void **state)
{
	json_t *j = json_integer(1);

	(void)state;
	assert_int_equal(tg_prom_write(stdout, j), -EINVAL);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_lines),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_dataplane_away),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_not_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
