/* SPDX-License-Identifier: MIT */
/*
 * audit_space.c — the audit store's full/ok decision; see audit_space.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit_space.h"
#include "seterr.h"

#define MIB (1024.0 * 1024.0)

int
tg_audit_space_check(const struct tg_audit_space_config *cfg, char *err, size_t errlen)
{
	if (cfg->full_pct < 2 || cfg->full_pct > 99) {
		tg_sp_seterr(err, errlen, "full_pct must be in 2..99, not %u", cfg->full_pct);
		return -EINVAL;
	}
	if (cfg->resume_pct < 1 || cfg->resume_pct >= cfg->full_pct) {
		tg_sp_seterr(err, errlen, "resume_pct must be in 1..%u (below full_pct %u), not %u",
			     cfg->full_pct - 1, cfg->full_pct, cfg->resume_pct);
		return -EINVAL;
	}
	if (cfg->disk_resume < cfg->disk_min) {
		tg_sp_seterr(err, errlen,
			     "disk_resume_mb (%" PRIu64 ") must not be below disk_min_mb (%" PRIu64
			     ")",
			     cfg->disk_resume >> 20, cfg->disk_min >> 20);
		return -EINVAL;
	}
	return 0;
}

void
tg_audit_space_init(struct tg_audit_space *s, const struct tg_audit_space_config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->code = "ok";
}

/* used / size >= pct / 100, in integers: 1 TiB * 100 fits 64 bits. */
static bool
at_least(uint64_t used, uint64_t size, uint32_t pct)
{
	return size != 0 && used * 100 >= size * pct;
}

static void
enter(struct tg_audit_space *s, uint64_t now_ms)
{
	s->full = true;
	s->since_ms = now_ms;
	s->entered++;
}

enum tg_audit_space_change
tg_audit_space_update(struct tg_audit_space *s, const struct tg_audit_space_sample *x,
		      uint64_t now_ms)
{
	const struct tg_audit_space_config *c = &s->cfg;
	bool disk_low, disk_back;
	unsigned int pct;

	s->last = *x;
	pct = x->map_size != 0 ? (unsigned int)(x->map_used * 100 / x->map_size) : 0;
	disk_low = c->disk_min != 0 && x->disk_known && x->disk_free < c->disk_min;
	disk_back = c->disk_min == 0 || !x->disk_known || x->disk_free >= c->disk_resume;
	if (!s->full) {
		if (at_least(x->map_used, x->map_size, c->full_pct)) {
			snprintf(s->reason, sizeof(s->reason),
				 "audit map %.1f of %.1f MiB used (%u%%, full at %u%%)",
				 x->map_used / MIB, x->map_size / MIB, pct, c->full_pct);
			s->code = "map";
		} else if (disk_low) {
			snprintf(s->reason, sizeof(s->reason),
				 "%.1f MiB free on the audit filesystem (full below %" PRIu64
				 " MiB)",
				 x->disk_free / MIB, c->disk_min >> 20);
			s->code = "disk";
		} else {
			return TG_AUDIT_SPACE_SAME;
		}
		enter(s, now_ms);
		return TG_AUDIT_SPACE_FULL;
	}
	if (at_least(x->map_used, x->map_size, c->resume_pct) || !disk_back)
		return TG_AUDIT_SPACE_SAME;
	s->full = false;
	s->full_ms += now_ms - s->since_ms;
	s->resumed++;
	s->code = "ok";
	if (c->disk_min != 0 && x->disk_known)
		snprintf(s->reason, sizeof(s->reason),
			 "audit map %.1f of %.1f MiB used (%u%%, below %u%%), %.1f MiB free on "
			 "disk",
			 x->map_used / MIB, x->map_size / MIB, pct, c->resume_pct,
			 x->disk_free / MIB);
	else
		snprintf(s->reason, sizeof(s->reason),
			 "audit map %.1f of %.1f MiB used (%u%%, below %u%%)", x->map_used / MIB,
			 x->map_size / MIB, pct, c->resume_pct);
	return TG_AUDIT_SPACE_RESUMED;
}

enum tg_audit_space_change
tg_audit_space_force(struct tg_audit_space *s, const char *why, uint64_t now_ms)
{
	if (s->full)
		return TG_AUDIT_SPACE_SAME;
	snprintf(s->reason, sizeof(s->reason), "%s", why != NULL ? why : "audit store full");
	s->code = "commit";
	enter(s, now_ms);
	return TG_AUDIT_SPACE_FULL;
}

uint64_t
tg_audit_space_full_ms(const struct tg_audit_space *s, uint64_t now_ms)
{
	return s->full_ms + (s->full && now_ms > s->since_ms ? now_ms - s->since_ms : 0);
}
