/* SPDX-License-Identifier: MIT */
/*
 * config.c — tollgate-slowpath's options from a JSON file. See config.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "jwks_fetch.h"
#include "jwks.h"
#include "note.h"
#include "seterr.h"

enum {
	OPT_CONFIG = 256,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

void
tg_sp_config_defaults(struct tg_sp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->control_socket, sizeof(cfg->control_socket), "%s", TG_SP_SOCKET_DEFAULT);
	snprintf(cfg->audit.dir, sizeof(cfg->audit.dir), "%s", TG_SP_AUDIT_DIR_DEFAULT);
	snprintf(cfg->audit.key, sizeof(cfg->audit.key), "%s", TG_SP_AUDIT_KEY_DEFAULT);
	snprintf(cfg->user, sizeof(cfg->user), "%s", TG_SP_USER_DEFAULT);
	cfg->audit.full_pct = TG_AUDIT_SPACE_FULL_PCT;
	cfg->audit.resume_pct = TG_AUDIT_SPACE_FULL_PCT - TG_AUDIT_SPACE_RESUME_GAP;
	cfg->audit.disk_min_mb = TG_AUDIT_SPACE_DISK_MIN_MB;
	cfg->audit.disk_resume_mb = 2 * TG_AUDIT_SPACE_DISK_MIN_MB;
	cfg->identity.skew_s = TG_SP_SKEW_DEFAULT;
	cfg->identity.login_timeout_ms = TG_SP_LOGIN_TIMEOUT_DEFAULT;
	cfg->identity.max_logins = TG_SP_MAX_LOGINS_DEFAULT;
	cfg->identity.max_sessions = TG_SP_MAX_SESSIONS_DEFAULT;
}

void
tg_sp_config_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [--config FILE]\n"
		"\n"
		"The tollgate slowpath: takes the dataplane's audit events on the control\n"
		"socket and writes them to the hash-chained, signed audit log; owns the\n"
		"policy and serves the management API (tgctl).\n"
		"\n"
		"Options:\n"
		"  --config FILE   JSON config file (see slowpath/config.h);\n"
		"                  default %s\n"
		"  --help          this text\n"
		"\n"
		"Signals: TERM, INT stop cleanly; USR1 prints the counters; HUP reads the\n"
		"policy file again and pushes it to the dataplane (\"policy\" in the config),\n"
		"and with \"identity\" the credentials and jwks_file again.\n"
		"\n"
		"Exit status: 0 after a clean stop, 1 when it could not start or could not\n"
		"close the audit store cleanly, 2 for a usage or config error.\n",
		prog, TG_SP_CONFIG_DEFAULT);
}

/*
 * dst = val, or for a relative val and a base path with a directory part,
 * that directory / val. what names the key for errors.
 */
static int
set_path(char *dst, size_t size, const char *val, const char *base, const char *what, char *err,
	 size_t errlen)
{
	const char *slash = val[0] != '/' ? strrchr(base, '/') : NULL;
	int n;

	if (val[0] == '\0') {
		tg_sp_seterr(err, errlen, "%s: %s must not be empty", base, what);
		return -EINVAL;
	}
	if (slash != NULL)
		n = snprintf(dst, size, "%.*s/%s", (int)(slash - base), base, val);
	else
		n = snprintf(dst, size, "%s", val);
	if (n < 0 || (size_t)n >= size) {
		tg_sp_seterr(err, errlen, "%s: %s: path longer than %zu bytes", base, what,
			     size - 1);
		return -EINVAL;
	}
	return 0;
}

static int
json_path(char *dst, size_t size, const json_t *v, const char *path, const char *what, char *err,
	  size_t errlen)
{
	if (!json_is_string(v)) {
		tg_sp_seterr(err, errlen, "%s: %s must be a string (a path)", path, what);
		return -EINVAL;
	}
	return set_path(dst, size, json_string_value(v), path, what, err, errlen);
}

static int
json_u32(const json_t *v, const char *path, const char *what, uint32_t max, uint32_t *out,
	 char *err, size_t errlen)
{
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max) {
		tg_sp_seterr(err, errlen, "%s: %s must be an integer in 1..%u", path, what, max);
		return -EINVAL;
	}
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/* A user or group name: what useradd(8) takes, roughly; the system has the final word. */
static int
json_name(char *dst, size_t size, const json_t *v, const char *path, const char *what, char *err,
	  size_t errlen)
{
	const char *s;
	size_t len, i;

	if (!json_is_string(v))
		goto bad;
	s = json_string_value(v);
	len = strlen(s);
	if (len == 0 || len >= size || s[0] == '-')
		goto bad;
	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == ':' || s[i] == '/')
			goto bad;
	memcpy(dst, s, len + 1);
	return 0;
bad:
	tg_sp_seterr(err, errlen,
		     "%s: %s must be a name of 1..%zu printable ASCII characters, without "
		     "space, ':' or '/', not starting with '-'",
		     path, what, size - 1);
	return -EINVAL;
}

static const char *const role_keys[TG_SP_ROLES] = { "admin", "approver", "auditor" };

/* mgmt.roles: {"admin": [groups], "approver": [...], "auditor": [...]} */
static int
json_roles(struct tg_sp_config *cfg, const json_t *obj, const char *path, char *err,
	   size_t errlen)
{
	const char *key;
	unsigned int r;
	size_t i;
	json_t *v, *g;
	int rc;

	if (!json_is_object(obj)) {
		tg_sp_seterr(err, errlen, "%s: mgmt.roles must be an object of role: [groups]", path);
		return -EINVAL;
	}
	json_object_foreach((json_t *)obj, key, v) {
		for (r = 0; r < TG_SP_ROLES && strcmp(key, role_keys[r]) != 0; r++)
			;
		if (r == TG_SP_ROLES || !json_is_array(v)) {
			tg_sp_seterr(err, errlen,
				     "%s: mgmt.roles.%s: roles are admin, approver and auditor, each "
				     "an array of Unix group names",
				     path, key);
			return -EINVAL;
		}
		json_array_foreach(v, i, g) {
			if (cfg->mgmt.nb_grants == TG_SP_GRANTS_MAX) {
				tg_sp_seterr(err, errlen, "%s: mgmt.roles: more than %d groups", path,
					     TG_SP_GRANTS_MAX);
				return -EINVAL;
			}
			rc = json_name(cfg->mgmt.grants[cfg->mgmt.nb_grants].group,
				       sizeof(cfg->mgmt.grants[0].group), g, path, "mgmt.roles group",
				       err, errlen);
			if (rc < 0)
				return rc;
			cfg->mgmt.grants[cfg->mgmt.nb_grants++].role = r;
		}
	}
	return 0;
}

/*
 * mgmt.metrics: "ADDR:PORT" or "[ADDR6]:PORT", numeric (no resolver at
 * start), on loopback only: the listener has no authentication, and its
 * counters name services and ports (metrics.h).
 */
static int
json_metrics(struct tg_sp_config *cfg, const json_t *v, const char *path, char *err,
	     size_t errlen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&cfg->mgmt.metrics_addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cfg->mgmt.metrics_addr;
	char host[INET6_ADDRSTRLEN];
	const char *s, *colon, *host_start, *host_end;
	unsigned long port = 0;
	size_t len, hlen;

	if (!json_is_string(v) || (len = json_string_length(v)) == 0 ||
	    len >= sizeof(cfg->mgmt.metrics))
		goto bad;
	s = json_string_value(v);
	colon = strrchr(s, ':');
	if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) > 5)
		goto bad;
	for (const char *c = colon + 1; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			goto bad;
		port = port * 10 + (unsigned long)(*c - '0');
	}
	if (port == 0 || port > 65535)
		goto bad;
	host_start = s;
	host_end = colon;
	if (s[0] == '[') {
		if (colon == s || colon[-1] != ']')
			goto bad;
		host_start = s + 1;
		host_end = colon - 1;
	}
	hlen = (size_t)(host_end - host_start);
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, host_start, hlen);
	host[hlen] = '\0';
	memset(&cfg->mgmt.metrics_addr, 0, sizeof(cfg->mgmt.metrics_addr));
	if (s[0] != '[' && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		/* 127.0.0.0/8 (RFC 1122 3.2.1.3) */
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			goto not_loopback;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		cfg->mgmt.metrics_addrlen = sizeof(*sin);
	} else if (s[0] == '[' && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			goto not_loopback;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		cfg->mgmt.metrics_addrlen = sizeof(*sin6);
	} else {
		goto bad;
	}
	memcpy(cfg->mgmt.metrics, s, len + 1);
	return 0;
not_loopback:
	tg_sp_seterr(err, errlen,
		     "%s: mgmt.metrics: %s is not a loopback address; the /metrics listener has "
		     "no authentication and serves 127.0.0.0/8 or [::1] only",
		     path, s);
	return -EINVAL;
bad:
	tg_sp_seterr(err, errlen,
		     "%s: mgmt.metrics must be \"ADDR:PORT\" or \"[ADDR6]:PORT\", a numeric "
		     "loopback address and a port 1..65535, such as \"127.0.0.1:9464\"",
		     path);
	return -EINVAL;
}

/* "mgmt": the management socket (slowpath/mgmt.h) */
static int
json_mgmt(struct tg_sp_config *cfg, const json_t *obj, const char *path, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	int rc = 0;

	if (!json_is_object(obj)) {
		tg_sp_seterr(err, errlen, "%s: \"mgmt\" must be an object", path);
		return -EINVAL;
	}
	snprintf(cfg->mgmt.socket, sizeof(cfg->mgmt.socket), "%s", TG_SP_MGMT_SOCKET_DEFAULT);
	json_object_foreach((json_t *)obj, key, v) {
		if (strcmp(key, "socket") == 0) {
			rc = json_path(cfg->mgmt.socket, sizeof(cfg->mgmt.socket), v, path,
				       "mgmt.socket", err, errlen);
		} else if (strcmp(key, "group") == 0) {
			rc = json_name(cfg->mgmt.group, sizeof(cfg->mgmt.group), v, path,
				       "mgmt.group", err, errlen);
		} else if (strcmp(key, "mode") == 0) {
			if (!json_is_string(v) ||
			    sscanf(json_string_value(v), "%o", &cfg->mgmt.mode) != 1 ||
			    cfg->mgmt.mode == 0 || cfg->mgmt.mode > 0777) {
				tg_sp_seterr(err, errlen,
					     "%s: mgmt.mode must be an octal string such as \"0660\"",
					     path);
				rc = -EINVAL;
			}
		} else if (strcmp(key, "roles") == 0) {
			rc = json_roles(cfg, v, path, err, errlen);
		} else if (strcmp(key, "metrics") == 0) {
			rc = json_metrics(cfg, v, path, err, errlen);
		} else {
			tg_sp_seterr(err, errlen,
				     "%s: unknown key \"mgmt.%s\" (known: socket, group, mode, roles, "
				     "metrics)",
				     path, key);
			rc = -EINVAL;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

void
tg_sp_config_space(const struct tg_sp_config *cfg, struct tg_audit_space_config *sc)
{
	sc->full_pct = cfg->audit.full_pct;
	sc->resume_pct = cfg->audit.resume_pct;
	sc->disk_min = (uint64_t)cfg->audit.disk_min_mb << 20;
	sc->disk_resume = (uint64_t)cfg->audit.disk_resume_mb << 20;
}

static int
json_audit(struct tg_sp_config *cfg, const json_t *obj, const char *path, char *err, size_t errlen)
{
	bool full_set = false, resume_set = false, disk_set = false, disk_resume_set = false;
	struct tg_audit_space_config sc;
	char why[160];
	const char *key;
	json_t *v;
	int rc = 0;

	if (!json_is_object(obj)) {
		tg_sp_seterr(err, errlen, "%s: \"audit\" must be an object", path);
		return -EINVAL;
	}
	json_object_foreach((json_t *)obj, key, v) {
		if (strcmp(key, "full_pct") == 0) {
			rc = json_u32(v, path, "audit.full_pct", 99, &cfg->audit.full_pct, err,
				      errlen);
			full_set = true;
		} else if (strcmp(key, "resume_pct") == 0) {
			rc = json_u32(v, path, "audit.resume_pct", 98, &cfg->audit.resume_pct, err,
				      errlen);
			resume_set = true;
		} else if (strcmp(key, "disk_min_mb") == 0) {
			/* 0 turns the disk check off */
			if (json_is_integer(v) && json_integer_value(v) == 0)
				cfg->audit.disk_min_mb = 0;
			else
				rc = json_u32(v, path, "audit.disk_min_mb (0: no check)",
					      TG_SP_MAP_MB_MAX, &cfg->audit.disk_min_mb, err, errlen);
			disk_set = true;
		} else if (strcmp(key, "disk_resume_mb") == 0) {
			rc = json_u32(v, path, "audit.disk_resume_mb", TG_SP_MAP_MB_MAX,
				      &cfg->audit.disk_resume_mb, err, errlen);
			disk_resume_set = true;
		} else if (strcmp(key, "dir") == 0) {
			rc = json_path(cfg->audit.dir, sizeof(cfg->audit.dir), v, path, "audit.dir",
				       err, errlen);
		} else if (strcmp(key, "key") == 0) {
			rc = json_path(cfg->audit.key, sizeof(cfg->audit.key), v, path, "audit.key",
				       err, errlen);
		} else if (strcmp(key, "origin") == 0) {
			if (!json_is_string(v) || !tg_note_name_valid(json_string_value(v))) {
				tg_sp_seterr(err, errlen,
					     "%s: audit.origin must be a string of 1..%d printable "
					     "ASCII characters without space or '+' "
					     "(e.g. \"gw1.example.com/tollgate\")",
					     path, TG_NOTE_NAME_MAX);
				rc = -EINVAL;
			} else {
				snprintf(cfg->audit.origin, sizeof(cfg->audit.origin), "%s",
					 json_string_value(v));
			}
		} else if (strcmp(key, "checkpoint_records") == 0) {
			rc = json_u32(v, path, "audit.checkpoint_records",
				      TG_SP_CHECKPOINT_RECORDS_MAX, &cfg->audit.checkpoint_records,
				      err, errlen);
		} else if (strcmp(key, "checkpoint_seconds") == 0) {
			rc = json_u32(v, path, "audit.checkpoint_seconds",
				      TG_SP_CHECKPOINT_SECONDS_MAX, &cfg->audit.checkpoint_seconds,
				      err, errlen);
		} else if (strcmp(key, "map_mb") == 0) {
			rc = json_u32(v, path, "audit.map_mb", TG_SP_MAP_MB_MAX, &cfg->audit.map_mb,
				      err, errlen);
		} else if (strcmp(key, "commit_delay_ms") == 0) {
			rc = json_u32(v, path, "audit.commit_delay_ms", TG_SP_COMMIT_DELAY_MAX,
				      &cfg->audit.commit_delay_ms, err, errlen);
		} else {
			tg_sp_seterr(err, errlen,
				     "%s: unknown key \"audit.%s\" (known: dir, key, origin, "
				     "checkpoint_records, checkpoint_seconds, map_mb, commit_delay_ms, "
				     "full_pct, resume_pct, disk_min_mb, disk_resume_mb)",
				     path, key);
			rc = -EINVAL;
		}
		if (rc < 0)
			return rc;
	}
	/* the low watermarks follow the high ones unless given */
	if (full_set && !resume_set)
		cfg->audit.resume_pct = cfg->audit.full_pct > TG_AUDIT_SPACE_RESUME_GAP
						? cfg->audit.full_pct - TG_AUDIT_SPACE_RESUME_GAP
						: 1;
	if (disk_set && !disk_resume_set)
		cfg->audit.disk_resume_mb = 2 * cfg->audit.disk_min_mb;
	tg_sp_config_space(cfg, &sc);
	if (tg_audit_space_check(&sc, why, sizeof(why)) < 0) {
		tg_sp_seterr(err, errlen, "%s: audit.%s", path, why);
		return -EINVAL;
	}
	return 0;
}

static int
json_recordings(struct tg_sp_config *cfg, const json_t *obj, const char *path, char *err,
		size_t errlen)
{
	const char *key;
	json_t *v;
	int rc = 0;

	if (!json_is_object(obj)) {
		tg_sp_seterr(err, errlen, "%s: \"recordings\" must be an object", path);
		return -EINVAL;
	}
	json_object_foreach((json_t *)obj, key, v) {
		if (strcmp(key, "dir") == 0)
			rc = json_path(cfg->recordings.dir, sizeof(cfg->recordings.dir), v, path,
				       "recordings.dir", err, errlen);
		else if (strcmp(key, "map_mb") == 0)
			rc = json_u32(v, path, "recordings.map_mb", TG_SP_MAP_MB_MAX,
				      &cfg->recordings.map_mb, err, errlen);
		else if (strcmp(key, "chunk_kb") == 0)
			rc = json_u32(v, path, "recordings.chunk_kb", 16384,
				      &cfg->recordings.chunk_kb, err, errlen);
		else if (strcmp(key, "max_mb") == 0)
			rc = json_u32(v, path, "recordings.max_mb", TG_SP_MAP_MB_MAX,
				      &cfg->recordings.max_mb, err, errlen);
		else if (strcmp(key, "max_age_days") == 0)
			rc = json_u32(v, path, "recordings.max_age_days", 36500,
				      &cfg->recordings.max_age_days, err, errlen);
		else {
			tg_sp_seterr(err, errlen,
				     "%s: unknown key \"recordings.%s\" (known: dir, map_mb, "
				     "chunk_kb, max_mb, max_age_days)",
				     path, key);
			rc = -EINVAL;
		}
		if (rc < 0)
			return rc;
	}
	if (cfg->recordings.dir[0] == '\0') {
		tg_sp_seterr(err, errlen, "%s: recordings.dir is required", path);
		return -EINVAL;
	}
	return 0;
}

/* A string of 1..size-1 bytes, no control character. */
static int
json_text(char *dst, size_t size, const json_t *v, const char *path, const char *what, char *err,
	  size_t errlen)
{
	const char *s;
	size_t len;

	if (!json_is_string(v) || (len = json_string_length(v)) == 0 || len >= size ||
	    strlen(json_string_value(v)) != len)
		goto bad;
	s = json_string_value(v);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			goto bad;
	memcpy(dst, s, len + 1);
	return 0;
bad:
	tg_sp_seterr(err, errlen,
		     "%s: %s must be a string of 1..%zu bytes without control "
		     "characters",
		     path, what, size - 1);
	return -EINVAL;
}

/* An https URL (what jwks_fetch.h fetches): "https://" and a host. */
static int
json_https(char *dst, size_t size, const json_t *v, const char *path, const char *what, char *err,
	   size_t errlen)
{
	int rc = json_text(dst, size, v, path, what, err, errlen);

	if (rc < 0)
		return rc;
	if (strncmp(dst, "https://", 8) != 0 || dst[8] == '\0' || dst[8] == '/' ||
	    strpbrk(dst, " \t") != NULL) {
		tg_sp_seterr(err, errlen, "%s: %s must be an https:// URL with a host", path, what);
		dst[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

static int
json_range(const json_t *v, const char *path, const char *what, uint32_t min, uint32_t max,
	   uint32_t *out, char *err, size_t errlen)
{
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		tg_sp_seterr(err, errlen, "%s: %s must be an integer in %u..%u", path, what, min,
			     max);
		return -EINVAL;
	}
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/* identity.algs: ["RS256", ...], the names of jwks.h, exactly */
static int
json_algs(struct tg_sp_config *cfg, const json_t *v, const char *path, char *err, size_t errlen)
{
	static const char *const names[TG_JWS_ALG_MAX] = {
		[TG_JWS_RS256] = "RS256",
		[TG_JWS_PS256] = "PS256",
		[TG_JWS_ES256] = "ES256",
		[TG_JWS_EDDSA] = "EdDSA",
	};
	const json_t *a;
	size_t i;
	int k;

	if (!json_is_array(v) || json_array_size(v) == 0)
		goto bad;
	cfg->identity.algs = 0;
	json_array_foreach((json_t *)v, i, a) {
		if (!json_is_string(a))
			goto bad;
		for (k = 0; k < TG_JWS_ALG_MAX; k++)
			if (strcmp(json_string_value(a), names[k]) == 0)
				break;
		if (k == TG_JWS_ALG_MAX)
			goto bad;
		cfg->identity.algs |= 1u << k;
	}
	return 0;
bad:
	tg_sp_seterr(err, errlen,
		     "%s: identity.algs must be a non-empty array of RS256, PS256, ES256, EdDSA "
		     "(none and HS* are never accepted)",
		     path);
	return -EINVAL;
}

/* identity.groups_claim: "name" or ["name", ...] (idmap.h's claim_groups) */
static int
json_claim(struct tg_sp_config *cfg, const json_t *v, const char *path, char *err, size_t errlen)
{
	const json_t *a;
	size_t i;

	cfg->identity.groups_claim_len = 0;
	if (json_is_string(v)) {
		if (json_text(cfg->identity.groups_claim[0], TG_SP_CLAIM_NAME, v, path,
			      "identity.groups_claim", err, errlen) < 0)
			return -EINVAL;
		cfg->identity.groups_claim_len = 1;
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > TG_SP_CLAIM_DEPTH)
		goto bad;
	json_array_foreach((json_t *)v, i, a) {
		if (json_text(cfg->identity.groups_claim[i], TG_SP_CLAIM_NAME, a, path,
			      "identity.groups_claim", err, errlen) < 0)
			goto bad;
	}
	cfg->identity.groups_claim_len = (unsigned int)json_array_size(v);
	return 0;
bad:
	tg_sp_seterr(err, errlen,
		     "%s: identity.groups_claim must be a claim name or a path of 1..%d names "
		     "such as [\"realm_access\", \"roles\"]",
		     path, TG_SP_CLAIM_DEPTH);
	return -EINVAL;
}

/* "approvals": {"notify": {...}}: the hook of approval requests (notify_config.h) */
static int
json_approvals(struct tg_sp_config *cfg, json_t *v, const char *path, char *err, size_t errlen)
{
	const char *key;
	json_t *m;

	if (!json_is_object(v)) {
		tg_sp_seterr(err, errlen, "%s: approvals: must be an object", path);
		return -EINVAL;
	}
	json_object_foreach(v, key, m) {
		if (strcmp(key, "notify") != 0) {
			tg_sp_seterr(err, errlen, "%s: approvals: unknown key \"%s\" (known: notify)",
				     path, key);
			return -EINVAL;
		}
	}
	return tg_notify_config_parse(&cfg->notify, json_object_get(v, "notify"), path, err,
				      errlen);
}

/* "identity": the OIDC login takeover (jwt.h, jwks_fetch.h, credstore.h) */
static int
json_identity(struct tg_sp_config *cfg, const json_t *obj, const char *path, char *err,
	      size_t errlen)
{
	const char *key;
	json_t *v;
	int rc = 0, sources = 0;
	size_t ilen;

	if (!json_is_object(obj)) {
		tg_sp_seterr(err, errlen, "%s: \"identity\" must be an object", path);
		return -EINVAL;
	}
	cfg->identity.enabled = true;
	json_object_foreach((json_t *)obj, key, v) {
		if (strcmp(key, "issuer") == 0) {
			rc = json_https(cfg->identity.issuer, sizeof(cfg->identity.issuer), v, path,
					"identity.issuer", err, errlen);
		} else if (strcmp(key, "audience") == 0) {
			rc = json_text(cfg->identity.audience, sizeof(cfg->identity.audience), v,
				       path, "identity.audience", err, errlen);
		} else if (strcmp(key, "azp") == 0) {
			rc = json_text(cfg->identity.azp, sizeof(cfg->identity.azp), v, path,
				       "identity.azp", err, errlen);
		} else if (strcmp(key, "jwks_file") == 0) {
			rc = json_path(cfg->identity.jwks_file, sizeof(cfg->identity.jwks_file), v,
				       path, "identity.jwks_file", err, errlen);
			sources++;
		} else if (strcmp(key, "discovery_url") == 0) {
			rc = json_https(cfg->identity.discovery_url,
					sizeof(cfg->identity.discovery_url), v, path,
					"identity.discovery_url", err, errlen);
			sources++;
		} else if (strcmp(key, "jwks_uri") == 0) {
			rc = json_https(cfg->identity.jwks_uri, sizeof(cfg->identity.jwks_uri), v,
					path, "identity.jwks_uri", err, errlen);
			sources++;
		} else if (strcmp(key, "ca_file") == 0) {
			rc = json_path(cfg->identity.ca_file, sizeof(cfg->identity.ca_file), v,
				       path, "identity.ca_file", err, errlen);
		} else if (strcmp(key, "skew_s") == 0) {
			rc = json_range(v, path, "identity.skew_s", 0, TG_SP_SKEW_MAX,
					&cfg->identity.skew_s, err, errlen);
		} else if (strcmp(key, "max_age_s") == 0) {
			rc = json_range(v, path, "identity.max_age_s", 1, 31536000,
					&cfg->identity.max_age_s, err, errlen);
		} else if (strcmp(key, "algs") == 0) {
			rc = json_algs(cfg, v, path, err, errlen);
		} else if (strcmp(key, "groups_claim") == 0) {
			rc = json_claim(cfg, v, path, err, errlen);
		} else if (strcmp(key, "credentials") == 0) {
			rc = json_path(cfg->identity.credentials, sizeof(cfg->identity.credentials),
				       v, path, "identity.credentials", err, errlen);
		} else if (strcmp(key, "login_timeout_ms") == 0) {
			rc = json_range(v, path, "identity.login_timeout_ms", 100, 120000,
					&cfg->identity.login_timeout_ms, err, errlen);
		} else if (strcmp(key, "max_logins") == 0) {
			rc = json_range(v, path, "identity.max_logins", 1, 65536,
					&cfg->identity.max_logins, err, errlen);
		} else if (strcmp(key, "max_sessions") == 0) {
			rc = json_range(v, path, "identity.max_sessions", 1, 1048576,
					&cfg->identity.max_sessions, err, errlen);
		} else if (strcmp(key, "cache_max") == 0) {
			rc = json_range(v, path, "identity.cache_max", 1, 65536,
					&cfg->identity.cache_max, err, errlen);
		} else if (strcmp(key, "refetch_cooldown_s") == 0) {
			rc = json_range(v, path, "identity.refetch_cooldown_s", TG_JWKS_COOLDOWN_MIN,
					3600, &cfg->identity.refetch_cooldown_s, err, errlen);
		} else {
			tg_sp_seterr(
				err, errlen,
				"%s: unknown key \"identity.%s\" (known: issuer, audience, azp, "
				"jwks_file, discovery_url, jwks_uri, ca_file, skew_s, max_age_s, "
				"algs, groups_claim, credentials, login_timeout_ms, max_logins, "
				"max_sessions, cache_max, refetch_cooldown_s)",
				path, key);
			rc = -EINVAL;
		}
		if (rc < 0)
			return rc;
	}
	if (cfg->identity.issuer[0] == '\0' || cfg->identity.audience[0] == '\0' ||
	    cfg->identity.credentials[0] == '\0') {
		tg_sp_seterr(err, errlen, "%s: identity.%s is required", path,
			     cfg->identity.issuer[0] == '\0'	 ? "issuer"
			     : cfg->identity.audience[0] == '\0' ? "audience"
								 : "credentials");
		return -EINVAL;
	}
	if (sources != 1) {
		tg_sp_seterr(err, errlen,
			     "%s: identity needs exactly one of jwks_file, discovery_url and "
			     "jwks_uri (where the issuer's keys come from); %d given",
			     path, sources);
		return -EINVAL;
	}
	if (cfg->identity.ca_file[0] != '\0' && cfg->identity.jwks_file[0] != '\0') {
		tg_sp_seterr(err, errlen,
			     "%s: identity.ca_file is for discovery_url or jwks_uri (HTTPS), not "
			     "with jwks_file",
			     path);
		return -EINVAL;
	}
	if (cfg->identity.discovery_url[0] != '\0') {
		/* jwks_fetch.h derives discovery from the issuer (Discovery 1.0 §4) */
		ilen = strlen(cfg->identity.issuer);
		while (ilen > 0 && cfg->identity.issuer[ilen - 1] == '/')
			ilen--;
		if (strncmp(cfg->identity.discovery_url, cfg->identity.issuer, ilen) != 0 ||
		    strcmp(cfg->identity.discovery_url + ilen,
			   "/.well-known/openid-configuration") != 0) {
			tg_sp_seterr(err, errlen,
				     "%s: identity.discovery_url must be the issuer's own, "
				     "%.*s/.well-known/openid-configuration (OpenID Connect "
				     "Discovery 1.0 §4)",
				     path, (int)ilen, cfg->identity.issuer);
			return -EINVAL;
		}
	}
	return 0;
}

int
tg_sp_config_load_file(struct tg_sp_config *cfg, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	int rc = 0;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (json_error_code(&jerr) == json_error_cannot_open_file) {
			tg_sp_seterr(err, errlen, "%s", jerr.text);
			return -ENOENT;
		}
		if (jerr.line < 0)
			tg_sp_seterr(err, errlen, "%s: %s", path, jerr.text);
		else
			tg_sp_seterr(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column,
				     jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		tg_sp_seterr(err, errlen, "%s: the top level must be an object", path);
		rc = -EINVAL;
		goto out;
	}
	/* no "approvals" section: a notifier with no sink */
	rc = tg_notify_config_parse(&cfg->notify, NULL, path, err, errlen);
	if (rc < 0)
		goto out;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "control_socket") == 0) {
			rc = json_path(cfg->control_socket, sizeof(cfg->control_socket), v, path,
				       "control_socket", err, errlen);
		} else if (strcmp(key, "audit") == 0) {
			rc = json_audit(cfg, v, path, err, errlen);
		} else if (strcmp(key, "mgmt") == 0) {
			rc = json_mgmt(cfg, v, path, err, errlen);
		} else if (strcmp(key, "recordings") == 0) {
			rc = json_recordings(cfg, v, path, err, errlen);
		} else if (strcmp(key, "policy") == 0) {
			rc = json_path(cfg->policy, sizeof(cfg->policy), v, path, "policy", err,
				       errlen);
		} else if (strcmp(key, "user") == 0) {
			rc = json_name(cfg->user, sizeof(cfg->user), v, path, "user", err, errlen);
		} else if (strcmp(key, "group") == 0) {
			rc = json_name(cfg->group, sizeof(cfg->group), v, path, "group", err,
				       errlen);
		} else if (strcmp(key, "siem") == 0) {
			rc = tg_siem_config_parse(&cfg->siem, v, path, err, errlen);
		} else if (strcmp(key, "identity") == 0) {
			rc = json_identity(cfg, v, path, err, errlen);
		} else if (strcmp(key, "approvals") == 0) {
			rc = json_approvals(cfg, v, path, err, errlen);
		} else {
			tg_sp_seterr(err, errlen,
				     "%s: unknown key \"%s\" (known: control_socket, audit, mgmt, "
				     "recordings, policy, user, group, siem, identity, approvals)",
				     path, key);
			rc = -EINVAL;
		}
		if (rc < 0)
			goto out;
	}
	if (cfg->audit.origin[0] == '\0') {
		tg_sp_seterr(err, errlen,
			     "%s: audit.origin is required: the audit log's name, fixed for its "
			     "life (e.g. \"gw1.example.com/tollgate\")",
			     path);
		rc = -EINVAL;
	} else if (cfg->identity.enabled && cfg->policy[0] == '\0') {
		tg_sp_seterr(err, errlen,
			     "%s: identity needs \"policy\": its \"identity\" section maps tokens "
			     "to upstream roles",
			     path);
		rc = -EINVAL;
	}
out:
	json_decref(root);
	return rc;
}

int
tg_sp_config_parse_args(struct tg_sp_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	const char *path = TG_SP_CONFIG_DEFAULT;
	int opt;

	optind = 0; /* glibc: start afresh */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_CONFIG:
			path = optarg;
			break;
		case OPT_HELP:
			return 1;
		case ':':
			tg_sp_seterr(err, errlen, "%s needs an argument", argv[optind - 1]);
			return -EINVAL;
		default:
			tg_sp_seterr(err, errlen, "unknown option %s (try --help)",
				     argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		tg_sp_seterr(err, errlen, "unexpected argument '%s' (try --help)", argv[optind]);
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(cfg->config_path)) {
		tg_sp_seterr(err, errlen, "--config: path too long");
		return -EINVAL;
	}
	snprintf(cfg->config_path, sizeof(cfg->config_path), "%s", path);
	return tg_sp_config_load_file(cfg, path, err, errlen);
}
