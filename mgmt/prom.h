/* SPDX-License-Identifier: MIT */
/*
 * prom.h — the result of the "stats" method as Prometheus text exposition
 * format 0.0.4, for `tgctl stats -o prometheus` and node-exporter's
 * textfile collector.
 *
 * Every number of {"slowpath": {..}, "mgmt": {..}, "dataplane": {..}} is a
 * sample of tollgate_<subsystem>_<path, dots as underscores>; the path's
 * "counters" object is left out of the name ("slowpath.counters.records"
 * is tollgate_slowpath_records_total). Where the dotted name holds a port,
 * a worker, a reason or a message type, it becomes a label:
 *
 *   dataplane.port.<id>.<name>            tollgate_dataplane_port_<name>{port="<id>"}
 *   dataplane.worker.<n>.<name>           tollgate_dataplane_worker_<name>{worker="<n>"}
 *   dataplane.control.disconnect.<r>      tollgate_dataplane_control_disconnect_total{reason="<r>"}
 *   dataplane.control.protocol.<r>        tollgate_dataplane_control_protocol_total{reason="<r>"}
 *   dataplane.pg.violations.<r>           tollgate_dataplane_pg_violations_total{reason="<r>"}
 *   dataplane.pg.fe.<m>, dataplane.pg.be.<m>
 *                                         tollgate_dataplane_pg_fe_messages_total{message="<m>"}, .._be_..
 *   slowpath.disconnects.<r>              tollgate_slowpath_disconnects_by_reason_total{reason="<r>"}
 *   mgmt.errors.<r>                       tollgate_mgmt_errors_by_reason_total{reason="<r>"}
 *
 * Counters get the suffix _total; the gauges (TG_PROM_GAUGES in prom.c:
 * connected, flows.active/max, stream.held/rings_used/rings, mbufs,
 * worker lcore/flows_active/segs_held, store sizes, clients...) do not.
 * Booleans are 0 or 1; strings ("error") are left out. Names are sanitised
 * to [a-zA-Z_:][a-zA-Z0-9_:]*, label values escaped (\\, \", \n). Each
 * metric's samples are written together, after one # HELP (its dotted
 * source) and one # TYPE line, in the order of their first appearance.
 *
 * Caveats:
 * - The mapping follows the names of stats.h and the slowpath's stats
 *   method; a new counter needs nothing, a new gauge must be listed, or it
 *   is typed counter (harmless for a value that only grows).
 * - Values are read as JSON numbers: above INT64_MAX the slowpath has
 *   already clamped them.
 */
#ifndef TG_PROM_H
#define TG_PROM_H

#include <stdio.h>

#include <jansson.h>

/*
 * Writes stats (the method's result) to out. Returns 0, -EINVAL (stats is
 * not an object), -ENOMEM or -EIO (a write failed).
 */
int tg_prom_write(FILE *out, const json_t *stats);

#endif /* TG_PROM_H */
