/* SPDX-License-Identifier: MIT */
/*
 * curlep.c — the shared pieces of the slowpath's libcurl clients; see
 * curlep.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

#include <curl/curl.h>

#include "curlep.h"

int
tg_curlep_global_init(void)
{
	static bool ready;

	if (!ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -ENOMEM;
		ready = true;
	}
	return 0;
}

CURLcode
tg_curlep_setup(CURL *e, const char *url, const char *protocols, const char *ca_file,
		unsigned int timeout_ms)
{
	CURLcode rc;

	if ((rc = curl_easy_setopt(e, CURLOPT_URL, url)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2)) !=
		    CURLE_OK ||
	    (ca_file != NULL && ca_file[0] != '\0' &&
	     (rc = curl_easy_setopt(e, CURLOPT_CAINFO, ca_file)) != CURLE_OK) ||
	    (rc = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_USERAGENT, "tollgate/" TG_VERSION)) != CURLE_OK)
		return rc;
	return CURLE_OK;
}

void
tg_curlep_arm(int fd, long ms)
{
	struct itimerspec its = { 0 };

	if (ms >= 0) {
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000L;
		if (ms == 0)
			its.it_value.tv_nsec = 1; /* 0 would disarm */
	}
	timerfd_settime(fd, 0, &its, NULL);
}

int
tg_curlep_cselect(uint32_t events)
{
	int flags = 0;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	return flags;
}

uint64_t
tg_curlep_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
