/* SPDX-License-Identifier: MIT */
/*
 * curlep.h — what the slowpath's libcurl clients share: the policy of an
 * outbound HTTP transfer, and the small pieces of driving libcurl's multi
 * interface from an epoll instance (jwks_fetch.h, notify.h).
 *
 * Each client keeps its own epoll fd, a timerfd for curl's timer and its
 * own socket callback (what an fd is tagged with differs); these helpers
 * are what is the same between them, so that the transfer policy (no
 * redirects, TLS 1.2 or later with the peer and host name verified, a
 * deadline, no signals) is written once.
 */
#ifndef TG_SP_CURLEP_H
#define TG_SP_CURLEP_H

#include <stdint.h>

#include <curl/curl.h>

/* curl_global_init() once per process: 0 or -ENOMEM. Call before any thread starts. */
int tg_curlep_global_init(void);

/*
 * Sets e up for url under the slowpath's policy: only the given protocols
 * ("https", or "http" where a caller allows it), no redirect followed,
 * peer and host verified against ca_file (NULL or "": the system bundle),
 * TLS 1.2 or later, CURLOPT_NOSIGNAL, timeout_ms for the connection and
 * for the whole transfer, the tollgate user agent. CURLE_OK or curl's
 * error.
 */
CURLcode tg_curlep_setup(CURL *e, const char *url, const char *protocols, const char *ca_file,
			 unsigned int timeout_ms);

/* Arms timerfd fd to fire in ms milliseconds (0: at once); -1 disarms. */
void tg_curlep_arm(int fd, long ms);

/* The CURL_CSELECT_* flags of an fd's epoll events, for curl_multi_socket_action(). */
int tg_curlep_cselect(uint32_t events);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t tg_curlep_mono_ms(void);

#endif /* TG_SP_CURLEP_H */
