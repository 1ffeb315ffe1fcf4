/* SPDX-License-Identifier: MIT */
/*
 * test_audit_space.c — the AU-5(4) watermarks (slowpath/audit_space.h):
 * full at the high watermark of the map or below the disk floor, ok again
 * only below the low watermark (hysteresis), forced full by a commit that
 * failed, time spent full, and the config checks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "audit_space.h"

#define MB (1024ull * 1024ull)

static const struct tg_audit_space_config cfg = {
	.full_pct = 90,
	.resume_pct = 80,
	.disk_min = 64 * MB,
	.disk_resume = 128 * MB,
};

/* A 100 MiB map with used MiB in use, and free MiB on the disk. */
static struct tg_audit_space_sample
at(uint64_t used, uint64_t free_mb)
{
	return (struct tg_audit_space_sample){
		.map_used = used * MB,
		.map_size = 100 * MB,
		.disk_free = free_mb * MB,
		.disk_known = true,
	};
}

static enum tg_audit_space_change
feed(struct tg_audit_space *s, uint64_t used, uint64_t free_mb, uint64_t now)
{
	struct tg_audit_space_sample x = at(used, free_mb);

	return tg_audit_space_update(s, &x, now);
}

static void
test_map_watermarks(void **state)
{
	struct tg_audit_space s;

	(void)state;
	tg_audit_space_init(&s, &cfg);
	assert_false(s.full);
	assert_string_equal(s.code, "ok");
	assert_int_equal(feed(&s, 10, 1000, 1), TG_AUDIT_SPACE_SAME);
	assert_int_equal(feed(&s, 89, 1000, 2), TG_AUDIT_SPACE_SAME);
	/* exactly at the high watermark: full */
	assert_int_equal(feed(&s, 90, 1000, 1000), TG_AUDIT_SPACE_FULL);
	assert_true(s.full);
	assert_string_equal(s.code, "map");
	assert_non_null(strstr(s.reason, "90%, full at 90%"));
	assert_int_equal(s.entered, 1);
	/* full stays full: more use, then down between the watermarks */
	assert_int_equal(feed(&s, 99, 1000, 1500), TG_AUDIT_SPACE_SAME);
	assert_int_equal(feed(&s, 85, 1000, 2000), TG_AUDIT_SPACE_SAME);
	assert_int_equal(feed(&s, 80, 1000, 2500), TG_AUDIT_SPACE_SAME);
	assert_true(s.full);
	assert_int_equal(tg_audit_space_full_ms(&s, 2500), 1500);
	/* below the low watermark (a larger map after a restart): ok */
	assert_int_equal(feed(&s, 79, 1000, 3000), TG_AUDIT_SPACE_RESUMED);
	assert_false(s.full);
	assert_string_equal(s.code, "ok");
	assert_int_equal(s.resumed, 1);
	assert_int_equal(tg_audit_space_full_ms(&s, 9000), 2000);
	/* ok stays ok until the high watermark again */
	assert_int_equal(feed(&s, 89, 1000, 3500), TG_AUDIT_SPACE_SAME);
	assert_int_equal(feed(&s, 95, 1000, 4000), TG_AUDIT_SPACE_FULL);
	assert_int_equal(s.entered, 2);
	assert_int_equal(tg_audit_space_full_ms(&s, 4500), 2500);
	/* the last sample is kept for the stats */
	assert_int_equal(s.last.map_used, 95 * MB);
}

static void
test_disk_watermarks(void **state)
{
	struct tg_audit_space_config nodisk = cfg;
	struct tg_audit_space s;
	struct tg_audit_space_sample x;

	(void)state;
	tg_audit_space_init(&s, &cfg);
	assert_int_equal(feed(&s, 10, 64, 1), TG_AUDIT_SPACE_SAME);
	assert_int_equal(feed(&s, 10, 63, 2), TG_AUDIT_SPACE_FULL);
	assert_string_equal(s.code, "disk");
	assert_non_null(strstr(s.reason, "full below 64 MiB"));
	/* between the floor and disk_resume: still full */
	assert_int_equal(feed(&s, 10, 100, 3), TG_AUDIT_SPACE_SAME);
	assert_int_equal(feed(&s, 10, 127, 4), TG_AUDIT_SPACE_SAME);
	assert_int_equal(feed(&s, 10, 128, 5), TG_AUDIT_SPACE_RESUMED);
	/* disk back but the map between its watermarks: the map keeps it full */
	assert_int_equal(feed(&s, 10, 10, 6), TG_AUDIT_SPACE_FULL);
	assert_int_equal(feed(&s, 85, 500, 7), TG_AUDIT_SPACE_SAME);
	assert_int_equal(feed(&s, 50, 500, 8), TG_AUDIT_SPACE_RESUMED);
	/* statvfs failed: the disk is not judged */
	x = at(10, 0);
	x.disk_known = false;
	assert_int_equal(tg_audit_space_update(&s, &x, 9), TG_AUDIT_SPACE_SAME);

	/* disk_min 0: no disk check at all */
	nodisk.disk_min = nodisk.disk_resume = 0;
	tg_audit_space_init(&s, &nodisk);
	assert_int_equal(feed(&s, 10, 0, 1), TG_AUDIT_SPACE_SAME);
	assert_int_equal(feed(&s, 90, 0, 2), TG_AUDIT_SPACE_FULL);
	assert_int_equal(feed(&s, 1, 0, 3), TG_AUDIT_SPACE_RESUMED);
}

static void
test_force(void **state)
{
	struct tg_audit_space s;

	(void)state;
	tg_audit_space_init(&s, &cfg);
	assert_int_equal(tg_audit_space_force(&s, "a commit failed: map full", 100),
			 TG_AUDIT_SPACE_FULL);
	assert_true(s.full);
	assert_string_equal(s.code, "commit");
	assert_string_equal(s.reason, "a commit failed: map full");
	assert_int_equal(tg_audit_space_force(&s, "again", 200), TG_AUDIT_SPACE_SAME);
	assert_string_equal(s.reason, "a commit failed: map full");
	/* a sample above the low watermark keeps it; one below ends it */
	assert_int_equal(feed(&s, 81, 1000, 300), TG_AUDIT_SPACE_SAME);
	assert_int_equal(feed(&s, 20, 1000, 400), TG_AUDIT_SPACE_RESUMED);
	assert_int_equal(tg_audit_space_full_ms(&s, 1000), 300);
	assert_int_equal(s.entered, 1);
}

static void
test_tiny_and_huge_maps(void **state)
{
	struct tg_audit_space s;
	struct tg_audit_space_sample x = { .map_size = 0 };

	(void)state;
	tg_audit_space_init(&s, &cfg);
	/* no map size (cannot happen on an open store): never full for the map */
	assert_int_equal(tg_audit_space_update(&s, &x, 1), TG_AUDIT_SPACE_SAME);
	/* a 1 MiB map: 4 KiB pages; 236 of 256 pages is 92% */
	x = (struct tg_audit_space_sample){ .map_used = 236 * 4096, .map_size = MB };
	assert_int_equal(tg_audit_space_update(&s, &x, 2), TG_AUDIT_SPACE_FULL);
	/* 1 TiB (TG_SP_MAP_MB_MAX): no overflow in the percentage */
	tg_audit_space_init(&s, &cfg);
	x = (struct tg_audit_space_sample){ .map_used = (1ull << 40) / 100 * 89,
					    .map_size = 1ull << 40 };
	assert_int_equal(tg_audit_space_update(&s, &x, 1), TG_AUDIT_SPACE_SAME);
	x.map_used = (1ull << 40) / 100 * 91;
	assert_int_equal(tg_audit_space_update(&s, &x, 2), TG_AUDIT_SPACE_FULL);
}

static void
test_check(void **state)
{
	struct tg_audit_space_config c = cfg;
	char err[160];

	(void)state;
	assert_int_equal(tg_audit_space_check(&c, err, sizeof(err)), 0);
	c.full_pct = 1;
	assert_int_equal(tg_audit_space_check(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "full_pct must be in 2..99"));
	c.full_pct = 100;
	assert_int_equal(tg_audit_space_check(&c, err, sizeof(err)), -EINVAL);
	c = cfg;
	c.resume_pct = 90;
	assert_int_equal(tg_audit_space_check(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "resume_pct must be in 1..89 (below full_pct 90)"));
	c.resume_pct = 0;
	assert_int_equal(tg_audit_space_check(&c, err, sizeof(err)), -EINVAL);
	c = cfg;
	c.disk_resume = c.disk_min - 1;
	assert_int_equal(tg_audit_space_check(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "disk_resume_mb"));
	c.disk_min = c.disk_resume = 0;
	assert_int_equal(tg_audit_space_check(&c, err, sizeof(err)), 0);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_watermarks), cmocka_unit_test(test_disk_watermarks),
		cmocka_unit_test(test_force),	       cmocka_unit_test(test_tiny_and_huge_maps),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests_name("audit_space", tests, NULL, NULL);
}
