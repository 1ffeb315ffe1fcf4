/* SPDX-License-Identifier: MIT */
/*
 * identity.c — tg-bench-identity: OIDC token verifications per second
 * (slowpath/jwt.c), for tools/bench/identity.
 *
 * Usage: tg-bench-identity JWKS ISSUER AUDIENCE SECONDS ALG=TOKEN_FILE...
 *
 * For each token (one per algorithm, minted by tools/mint-token with the
 * keys of JWKS): verifications per second
 *   - uncached: the verified-token cache flushed before each one, so every
 *     verification parses, checks the claims and verifies the signature;
 *   - cached: the same token again, answered from the cache by its hash.
 * Each runs for SECONDS of wall time; the token is checked to verify
 * first (a benchmark of refusals would measure nothing). Prints
 *   RESULT name=identity alg=RS256 uncached_per_s=N cached_per_s=N
 * The wrapper compares with `openssl speed` of the same algorithm.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwks.h"
#include "jwt.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL) {
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	while (*len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r'))
		(*len)--;
	buf[*len] = '\0';
	return buf;
}

/* Verifications per second for secs; flush: empty the cache before each. */
static double
rate(struct tg_jwt *v, const struct tg_jwks *keys, const char *tok, size_t len, double secs,
     int flush)
{
	struct tg_jwt_identity id;
	double t0 = now_s(), t;
	uint64_t n = 0;

	do {
		unsigned int i;

		for (i = 0; i < 64; i++) {
			if (flush)
				tg_jwt_cache_flush(v);
			if (tg_jwt_verify(v, keys, tok, len, time(NULL), &id) != TG_JWT_OK)
				return -1;
			n++;
		}
		t = now_s() - t0;
	} while (t < secs);
	return (double)n / t;
}

int
main(int argc, char **argv)
{
	struct tg_jwt_identity id;
	struct tg_jwks *keys = NULL;
	struct tg_jwt_cfg cfg = { 0 };
	struct tg_jwt *v;
	char err[256];
	double secs;
	int i, rc = 0;

	if (argc < 6) {
		fprintf(stderr, "usage: %s JWKS ISSUER AUDIENCE SECONDS ALG=TOKEN_FILE...\n", argv[0]);
		return 2;
	}
	secs = strtod(argv[4], NULL);
	if (!(secs > 0) || tg_jwks_load_file(argv[1], &keys, err, sizeof(err)) != 0) {
		fprintf(stderr, "tg-bench-identity: %s: %s\n", argv[1], err);
		return 1;
	}
	cfg.issuer = argv[2];
	cfg.audience = argv[3];
	cfg.skew_s = 60;
	if ((v = tg_jwt_new(&cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "tg-bench-identity: verifier: %s\n", err);
		return 1;
	}
	for (i = 5; i < argc; i++) {
		char *eq = strchr(argv[i], '='), *tok;
		enum tg_jwt_reason r;
		double un, ca;
		size_t len;

		if (eq == NULL || (tok = slurp(eq + 1, &len)) == NULL) {
			fprintf(stderr, "tg-bench-identity: %s: want ALG=TOKEN_FILE\n", argv[i]);
			rc = 2;
			continue;
		}
		*eq = '\0';
		tg_jwt_cache_flush(v);
		r = tg_jwt_verify(v, keys, tok, len, time(NULL), &id);
		if (r != TG_JWT_OK) {
			fprintf(stderr, "tg-bench-identity: %s token refused: %s\n", argv[i],
				tg_jwt_reason_name(r));
			free(tok);
			rc = 1;
			continue;
		}
		un = rate(v, keys, tok, len, secs, 1);
		ca = rate(v, keys, tok, len, secs / 2, 0);
		printf("%-6s uncached %10.0f verifications/s   cached %10.0f/s\n", argv[i], un, ca);
		printf("RESULT name=identity alg=%s uncached_per_s=%.0f cached_per_s=%.0f\n", argv[i],
		       un, ca);
		free(tok);
	}
	tg_jwt_free(v);
	tg_jwks_free(keys);
	return rc;
}
