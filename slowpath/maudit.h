/* SPDX-License-Identifier: MIT */
/*
 * maudit.h — the audit log on the management API (mgmt/api.h): the
 * methods audit.tail, audit.show, audit.proof and audit.verify, served by
 * the running slowpath from its own audit store handle. Role auditor or
 * admin; none changes state.
 *
 *   audit.tail   {"n": 1..1000 (20), "from": SEQ (optional)}
 *                -> {"records": [RECORD, ...], "size": N, "durable": N}
 *                the last n durable records, or n from seq from; size is
 *                the records appended (durable and buffered), durable the
 *                committed ones. A record is the stored object.
 *   audit.show   {"seq": SEQ} -> {"seq", "record": "the stored bytes",
 *                "leaf": HEX, "prev_chain": HEX}
 *   audit.proof  {"seq": SEQ, "size": N (optional)} -> the inclusion proof
 *                of tg_audit_inclusion_json(), the shape of the offline
 *                `tgctl audit proof DIR SEQ -o json`: against the latest
 *                signed checkpoint above seq (else the durable size), the
 *                note verified with the writer's key.
 *   audit.export {"format": "ocsf"|"cef"|"ecs"|"jsonl" (jsonl), "since": SEQ (0),
 *                "until": SEQ (optional, inclusive), "n": 1..1000 (1000)}
 *                -> {"events": ["EVENT", ...], "next": SEQ, "durable": N}
 *                durable records since..until as SIEM events (siem_export.h,
 *                the sinks' formatters), at most n; next is the first record
 *                not in this page (ask again from there).
 *   audit.bundle {"session": ID} -> {"bundle": BUNDLE}, the evidence
 *                bundle of bundle.h: the session's records with their
 *                inclusion proofs against the latest signed checkpoint, the
 *                note, the public key and the recording's chunks. Records
 *                not yet signed are first: a checkpoint is appended, and
 *                the answer waits (up to SP_AUDIT_BUNDLE_WAIT_S) until the
 *                main loop has committed it, so the bundle covers every
 *                record of the session so far. Reads the whole log in the
 *                event loop (bundle_build.c: about a second a million
 *                records).
 *   audit.verify {} -> the verdict of tg_audit_report_json(), the shape of
 *                the offline `tgctl audit verify DIR -o json`.
 *
 * Reads go through the writer's own handle (tg_audit_read(),
 * tg_audit_prove(): read-only transactions on its LMDB environment, which
 * LMDB forbids opening twice in a process) and see the last commit only:
 * every record served is durable. Each read is bounded (a tail is at most
 * 1000 records, a proof O(log n) node reads) and answered at once.
 *
 * audit.verify is the whole offline verifier (tg_audit_log_verify()):
 * about three SHA-256 and a JSON parse per record, seconds to minutes for
 * a large log, which in the single-threaded event loop would stall the
 * control channel, the commits and the acks. So it runs in a child:
 * fork(), and the child, a separate process, opens the directory
 * read-only as an LMDB reader of its own (never the inherited
 * environment), verifies with the writer's public key, writes the report
 * to a pipe and _exit()s. sp_audit_methods_tick(), called by the main
 * loop every second, reaps it with waitpid(WNOHANG) and answers every call
 * that waits for it. Calls arriving while a child runs wait for that
 * child.
 *
 * Caveats:
 *   - An answer to audit.verify comes up to a second after the child ends
 *     (the tick), and the verdict is of the log as of the child's start:
 *     a call that joined a running child gets a verdict of a log a little
 *     older than its call.
 *   - The online verifier checks the files against the writer's own key:
 *     it catches changes made behind the writer's back, not a writer (or
 *     host) that lies. An auditor who does not trust the host verifies a
 *     copy offline with a pinned key and anchors.
 *   - No exec: the child runs the verifier linked into the slowpath, so it
 *     needs no path to tgctl; it inherits the slowpath's descriptors and
 *     touches none of them. It unblocks signals and dies with its parent
 *     (PR_SET_PDEATHSIG). Its read transaction pins the snapshot it
 *     reads: pages freed by commits meanwhile are reused only after it
 *     ends, so the map grows by what is committed during a verification.
 *   - At most SP_AUDIT_VERIFY_WAITERS calls wait; more are answered
 *     unavailable. Calls still waiting at shutdown are detached by
 *     tg_mgmt_close() and never answered.
 *   - One registration per process (the verifier's state is global, like
 *     the event loop it belongs to).
 */
#ifndef TG_SP_MAUDIT_H
#define TG_SP_MAUDIT_H

#include "audit.h"
#include "bundle.h"
#include "mgmt.h"

#define SP_AUDIT_TAIL_MAX 1000
#define SP_AUDIT_TAIL_DEFAULT 20
#define SP_AUDIT_VERIFY_WAITERS 16
#define SP_AUDIT_EXPORT_MAX 1000 /* records per audit.export call: at most ~8 MiB */
#define SP_AUDIT_BUNDLE_WAITERS 16
#define SP_AUDIT_BUNDLE_WAIT_S 5 /* for the bundle's checkpoint to be committed */

/*
 * Registers the audit.* methods on m. *audit is read at each call (the
 * slowpath opens its store after its management socket); while it is
 * NULL the methods answer unavailable. Returns 0 or tg_mgmt_register()'s
 * -errno.
 */
int sp_audit_methods_register(struct tg_mgmt *m, struct tg_audit *const *audit);

/*
 * Where audit.bundle finds the recording's chunks (recordings.h): fn
 * gives the bytes a recording.chunk record states. Unset: bundles carry
 * no chunks.
 */
void sp_audit_methods_recordings(tg_bundle_chunk_fn fn, void *arg);

/*
 * Reaps a finished verifier child and answers its calls, and answers
 * audit.bundle calls whose checkpoint is durable; call it every second.
 */
void sp_audit_methods_tick(void);

#endif /* TG_SP_MAUDIT_H */
