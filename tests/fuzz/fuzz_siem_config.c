/* SPDX-License-Identifier: MIT */
/*
 * fuzz_siem_config.c — libFuzzer target for the parser of the slowpath
 * config's "siem" member (slowpath/siem_config.c): the input is the JSON
 * value of "siem"; jansson reads it, tg_siem_config_parse() checks it.
 *
 * Beyond memory errors and UB, the target aborts when a config is
 * accepted that breaks siem_config.h: more than TG_SIEM_SINKS_MAX sinks;
 * a name that is empty, not of [A-Za-z0-9_.-] or repeated; a syslog sink
 * without a host that is an IP address, or a port of 0; a TLS sink
 * without a CA, or with a certificate and no key; a file sink without a
 * path; a facility above 23; backoff_min above backoff_max; a batch
 * outside 1..TG_SIEM_BATCH_MAX; a format or type out of range; or an SD-ID
 * tg_syslog_sd_id_valid() refuses. A refusal must say why (err not empty).
 *
 * Seeds: tests/fuzz/gen-corpus siem_config. siem_config.c is compiled into
 * this executable with the fuzzer's instrumentation (tests/fuzz/meson.build).
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "siem_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
is_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tg_siem_config c;
	char err[512] = "";
	json_t *v = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			       NULL);
	int rc;

	if (v == NULL)
		return 0;
	rc = tg_siem_config_parse(&c, v, "dir/slowpath.json", err, sizeof(err));
	json_decref(v);
	if (rc < 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (rc != 0 || c.nb_sinks > TG_SIEM_SINKS_MAX)
		abort();
	for (unsigned int i = 0; i < c.nb_sinks; i++) {
		const struct tg_siem_sink_config *s = &c.sinks[i];

		if (s->name[0] == '\0' || strspn(s->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
							   "OPQRSTUVWXYZ0123456789_.-") !=
						  strlen(s->name))
			abort();
		for (unsigned int j = 0; j < i; j++)
			if (strcmp(c.sinks[j].name, s->name) == 0)
				abort();
		if ((unsigned int)s->transport >= TG_SIEM_T_MAX ||
		    (unsigned int)s->format >= TG_SIEM_FMT_MAX || s->facility > 23 ||
		    s->backoff_min_ms > s->backoff_max_ms || s->batch < 1 ||
		    s->batch > TG_SIEM_BATCH_MAX || !tg_syslog_sd_id_valid(s->sd_id))
			abort();
		if (s->transport != TG_SIEM_T_FILE && (!is_ip(s->host) || s->port == 0))
			abort();
		if (s->transport == TG_SIEM_T_TLS && (s->ca[0] == '\0' || s->server_name[0] == '\0'))
			abort();
		if ((s->cert[0] == '\0') != (s->key[0] == '\0'))
			abort();
		if (s->transport == TG_SIEM_T_FILE && (s->path[0] == '\0' || s->rotate_bytes == 0))
			abort();
	}
	return 0;
}
