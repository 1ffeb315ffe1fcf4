/* SPDX-License-Identifier: MIT */
/*
 * evidence.h — tgctl's commands on a session's evidence (evidence.c):
 * writing and checking an evidence bundle (slowpath/bundle.h). They
 * return tgctl's exit status: 0 ok, 1 the evidence is bad (the verdict
 * says why), 2 usage or I/O error.
 */
#ifndef TGCTL_EVIDENCE_H
#define TGCTL_EVIDENCE_H

#include <stdbool.h>

#include <jansson.h>

/*
 * tgctl audit verify --bundle FILE [--key PUB.pem] [-o json]: the
 * bundle's verdict, with the pinned key when key is not NULL.
 */
int tgctl_bundle_verify(const char *path, const char *key, bool json);

/*
 * tgctl sessions export ID --bundle FILE: writes an audit.bundle result's
 * "bundle" to path (mode 0644, through a temporary name and rename(2))
 * and says what it holds. Takes res's reference.
 */
int tgctl_bundle_write(json_t *res, const char *path, bool json);

/*
 * tgctl sessions replay: the recording of a bundle, verified first (with
 * the key at key_path, or the bundle's own when NULL), as a psql-like
 * transcript with timestamps (json: the event stream, one JSON line an
 * event), paced as recorded divided by speed, or at once with no_wait.
 * The bundle comes from path, or from an audit.bundle result res (whose
 * reference it takes) when path is NULL.
 */
struct tgctl_replay {
	const char *path;
	json_t *res;
	const char *key_path;
	double speed; /* 0: 1, real time */
	bool no_wait;
	bool json;
};

int tgctl_replay(const struct tgctl_replay *r);

#endif /* TGCTL_EVIDENCE_H */
