/* SPDX-License-Identifier: MIT */
/*
 * audit_space.h — when the audit store counts as full: NIST SP 800-53
 * AU-5(4), "shut down / refuse on audit failure", decided before the
 * store fails rather than after.
 *
 * Why watermarks. A commit that finds the LMDB map (audit.map_mb) or the
 * disk full fails whole and keeps its batch (audit.h); the slowpath then
 * acks nothing, the dataplane's event buffer fills, and its events are
 * lost (counted, a log.gap later) while statements go on running. So the
 * slowpath watches the store (tg_audit_usage()) and calls it full a little
 * before it is: above a high watermark of the map (full_pct of map_size
 * used) or below a floor of free disk (disk_min bytes). The room left
 * under the hard limit is the reserve: it takes the audit.full alert
 * record itself, and what still arrives while full (session ends,
 * checkpoints, and the records of the refused statements). While full
 * the dataplane refuses every new statement (punt.h AUDIT_STATE). The
 * state goes back to ok only below a low watermark (resume_pct, and
 * disk_resume bytes free): hysteresis, so that a store at the edge does
 * not flap with every commit. Space comes back when an operator raises
 * audit.map_mb and restarts the slowpath, or frees the disk.
 *
 * This file is the decision only (no I/O): samples in, transitions out,
 * so that the cmocka test drives it with made-up numbers.
 *
 * Costs: a sample is two LMDB calls and one statvfs(2), taken after each
 * commit and on the slowpath's 1 s tick.
 *
 * Caveats:
 *   - The map's use is LMDB's high-water mark (audit.h, tg_audit_usage()):
 *     it never shrinks, as the store never deletes. So, for the map, only
 *     a larger map (restart) brings the state back to ok.
 *   - The reserve is a share of the map, not a count of records: a flood
 *     of refused statements or of new sessions fills it too. Once it is
 *     exhausted, commits fail and the existing path applies (nothing
 *     acked, the dataplane's buffer, LOST events, a log.gap record once
 *     space is back): counted, never silent.
 *   - disk_free is what statvfs says an unprivileged writer may take;
 *     another process writing the same filesystem can take it faster than
 *     the 1 s tick sees.
 */
#ifndef TG_AUDIT_SPACE_H
#define TG_AUDIT_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_AUDIT_SPACE_FULL_PCT 90    /* default high watermark, % of the map */
#define TG_AUDIT_SPACE_RESUME_GAP 10  /* default low watermark: this much below */
#define TG_AUDIT_SPACE_DISK_MIN_MB 64 /* default free-disk floor */
#define TG_AUDIT_SPACE_REASON_MAX 192

struct tg_audit_space_config {
	uint32_t full_pct;    /* full at or above this % of the map used: 2..99 */
	uint32_t resume_pct;  /* ok again below this %: 1..full_pct - 1 */
	uint64_t disk_min;    /* full below this many bytes free; 0: no disk check */
	uint64_t disk_resume; /* ok again at or above this many bytes free: >= disk_min */
};

/* One look at the store (= struct tg_audit_usage). */
struct tg_audit_space_sample {
	uint64_t map_used;
	uint64_t map_size;
	uint64_t disk_free;
	bool disk_known;
};

struct tg_audit_space {
	struct tg_audit_space_config cfg;
	bool full;
	char reason[TG_AUDIT_SPACE_REASON_MAX]; /* why full (or why ok again), one line */
	const char *code; /* why, for a record's reason_code: "map", "disk", "commit", "ok" */
	struct tg_audit_space_sample last; /* the last sample seen */
	uint64_t since_ms;		   /* monotonic ms the current full period began */
	uint64_t full_ms;		   /* ms spent full in periods that ended */
	uint64_t entered;		   /* times the store became full */
	uint64_t resumed;		   /* times it became ok again */
};

/* What a sample changed. */
enum tg_audit_space_change {
	TG_AUDIT_SPACE_SAME = 0,
	TG_AUDIT_SPACE_FULL,	/* ok -> full: write audit.full, tell the dataplane */
	TG_AUDIT_SPACE_RESUMED, /* full -> ok: write audit.resumed, tell the dataplane */
};

/*
 * Checks cfg (the rules of the field comments above). Returns 0, or
 * -EINVAL with what is wrong in err.
 */
int tg_audit_space_check(const struct tg_audit_space_config *cfg, char *err, size_t errlen);

/* Starts in state ok with cfg (checked). */
void tg_audit_space_init(struct tg_audit_space *s, const struct tg_audit_space_config *cfg);

/*
 * A new sample at now_ms (monotonic). Full when ok and the map is at or
 * above full_pct, or disk_free is known and below disk_min; ok when full,
 * the map below resume_pct, and disk_free unknown or at least
 * disk_resume. s->reason says why.
 */
enum tg_audit_space_change tg_audit_space_update(struct tg_audit_space *s,
						 const struct tg_audit_space_sample *x,
						 uint64_t now_ms);

/*
 * A commit failed for want of space (-ENOSPC) before a sample said so:
 * full now, with why as the reason. Returns TG_AUDIT_SPACE_FULL, or SAME
 * when already full.
 */
enum tg_audit_space_change tg_audit_space_force(struct tg_audit_space *s, const char *why,
						uint64_t now_ms);

/* Milliseconds spent full up to now_ms, the current period included. */
uint64_t tg_audit_space_full_ms(const struct tg_audit_space *s, uint64_t now_ms);

#endif /* TG_AUDIT_SPACE_H */
