/* SPDX-License-Identifier: MIT */
/*
 * fuzz_notify_config.c — libFuzzer target for the parser of the slowpath
 * config's "approvals.notify" member (slowpath/notify_config.c): the input
 * is the JSON value of "notify"; jansson reads it,
 * tg_notify_config_parse() checks it.
 *
 * Beyond memory errors and UB, the target aborts when a config is
 * accepted that breaks notify_config.h: more than TG_NOTIFY_SINKS_MAX
 * sinks; a name that is empty, not of [A-Za-z0-9_.-] or repeated; a
 * webhook whose URL is not https (or http to a loopback host), or a
 * header with CR, LF or NUL or without ": "; a command without an
 * absolute argv[0], with more than TG_NOTIFY_ARGS_MAX arguments, or an
 * env entry that is not NAME=value or is a TOLLGATE_* name; a timeout,
 * parallel, retry or queue value out of its range; a string table whose
 * strings run past it. A refusal must name where it is
 * ("approvals.notify" in err) and leave no sink behind.
 *
 * Seeds: tests/fuzz/gen-corpus notify_config. notify_config.c is compiled
 * into this executable with the fuzzer's instrumentation
 * (tests/fuzz/meson.build).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "notify_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < TG_NOTIFY_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static void
check_sink(const struct tg_notify_sink_config *s)
{
	if (!name_ok(s->name) || s->timeout_ms < TG_NOTIFY_TIMEOUT_MIN ||
	    s->timeout_ms > TG_NOTIFY_TIMEOUT_MAX || s->parallel < 1 ||
	    s->parallel > TG_NOTIFY_PARALLEL_MAX)
		abort();
	if (s->type == TG_NOTIFY_WEBHOOK) {
		if (strncasecmp(s->url, "https://", 8) != 0 &&
		    strncasecmp(s->url, "http://", 7) != 0)
			abort();
		if (strpbrk(s->url, "\r\n ") != NULL || s->argc != 0 || s->envc != 0 ||
		    s->nb_headers > TG_NOTIFY_HEADERS_MAX)
			abort();
		for (unsigned int i = 0; i < s->nb_headers; i++)
			if (strpbrk(s->headers[i], "\r\n") != NULL ||
			    strstr(s->headers[i], ": ") == NULL ||
			    strncasecmp(s->headers[i], "X-Tollgate-", 11) == 0)
				abort();
		return;
	}
	if (s->type != TG_NOTIFY_COMMAND || s->argc < 1 || s->argc > TG_NOTIFY_ARGS_MAX ||
	    s->envc > TG_NOTIFY_ENV_MAX || s->url[0] != '\0' || s->nb_headers != 0)
		abort();
	/* the packed strings stay inside the table, argv[0] absolute */
	{
		size_t off = 0;

		for (unsigned int i = 0; i < s->argc + s->envc; i++) {
			const char *p = memchr(s->strings + off, '\0', sizeof(s->strings) - off);

			if (p == NULL || tg_notify_config_string(s, i) != s->strings + off)
				abort();
			if (i == 0 && s->strings[0] != '/')
				abort();
			if (i >= s->argc && (strchr(s->strings + off, '=') == NULL ||
					     strncmp(s->strings + off, "TOLLGATE_", 9) == 0))
				abort();
			off = (size_t)(p - s->strings) + 1;
		}
		if (tg_notify_config_string(s, s->argc + s->envc) != NULL)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tg_notify_config c;
	char err[512] = "";
	json_t *v = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			       NULL);
	int rc;

	if (v == NULL)
		return 0;
	rc = tg_notify_config_parse(&c, v, "dir/slowpath.json", err, sizeof(err));
	json_decref(v);
	if (rc < 0) {
		if (rc != -EINVAL || strstr(err, "approvals.notify") == NULL || c.nb_sinks != 0)
			abort();
		return 0;
	}
	if (rc != 0 || c.nb_sinks > TG_NOTIFY_SINKS_MAX || c.max_attempts < 1 ||
	    c.max_attempts > TG_NOTIFY_ATTEMPTS_MAX || c.initial_ms < 1 ||
	    c.initial_ms > TG_NOTIFY_BACKOFF_INITIAL_MAX || c.max_ms < c.initial_ms ||
	    c.max_ms > TG_NOTIFY_BACKOFF_LIMIT || c.queue_max < 1 ||
	    c.queue_max > TG_NOTIFY_QUEUE_LIMIT)
		abort();
	for (unsigned int i = 0; i < c.nb_sinks; i++) {
		check_sink(&c.sinks[i]);
		for (unsigned int j = 0; j < i; j++)
			if (strcmp(c.sinks[j].name, c.sinks[i].name) == 0)
				abort();
	}
	return 0;
}
