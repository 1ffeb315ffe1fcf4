/* SPDX-License-Identifier: MIT */
/*
 * log.h — the dataplane's one logging macro, over rte_log.
 *
 * Each module registers its own log type, tg.dataplane.<module>, with
 * RTE_LOG_REGISTER so levels can be set per module from EAL's --log-level.
 * Never used on the per-packet path: the fast path counts, it does not log.
 */
#ifndef TG_LOG_H
#define TG_LOG_H

#include <rte_log.h>

#define TG_LOG(level, type, fmt, ...) \
	rte_log(RTE_LOG_##level, type, "tollgate-dataplane: " fmt "\n", ##__VA_ARGS__)

#endif /* TG_LOG_H */
