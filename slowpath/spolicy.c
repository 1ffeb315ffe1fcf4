/* SPDX-License-Identifier: MIT */
/*
 * spolicy.c — the slowpath's policy generations. See spolicy.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "punt.h"
#include "seterr.h"
#include "spolicy.h"

/* The whole file, NUL-terminated; -errno with the reason in err. */
static int
read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	char *buf;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = S_ISREG(st.st_mode) ? -errno : -EINVAL;
		tg_sp_seterr(err, errlen, "%s: not a regular file", path);
		close(fd);
		return rc;
	}
	if ((uint64_t)st.st_size > TG_POLICY_FILE_MAX) {
		tg_sp_seterr(err, errlen, "%s: %lld bytes, more than the %u a policy may have", path,
			     (long long)st.st_size, TG_POLICY_FILE_MAX);
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		tg_sp_seterr(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			tg_sp_seterr(err, errlen, "%s: read: %s", path,
				     n < 0 ? strerror(errno) : "file shrank while read");
			free(buf);
			close(fd);
			return rc;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*text = buf;
	*len = got;
	return 0;
}

int
tg_sp_policy_build(struct tg_sp_policy *out, const char *path, const struct tg_services *svcs,
		   uint64_t gen, char *err, size_t errlen)
{
	struct tg_punt_policy obj = { 0 };
	uint8_t *blob = NULL;
	size_t blob_len = 0, n;
	unsigned int dlen = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", path);
	out->gen = gen;
	if ((rc = read_file(path, &out->text, &out->len, err, errlen)) < 0)
		goto err;
	if (EVP_Digest(out->text, out->len, out->sha256, &dlen, EVP_sha256(), NULL) != 1 ||
	    dlen != sizeof(out->sha256)) {
		tg_sp_seterr(err, errlen, "%s: SHA-256 failed", path);
		rc = -EIO;
		goto err;
	}
	for (n = 0; n < sizeof(out->sha256); n++)
		snprintf(out->sha256_hex + 2 * n, 3, "%02x", out->sha256[n]);
	rc = tg_policy_parse(out->text, out->len, path, svcs, &out->pol, err, errlen);
	if (rc < 0)
		goto err;
	rc = tg_policy_compile(out->pol, path, err, errlen);
	if (rc < 0)
		goto err;
	rc = tg_policy_serialize(out->pol, &blob, &blob_len, err, errlen);
	if (rc < 0)
		goto err;
	obj.json.p = out->text;
	obj.json.len = (uint32_t)out->len;
	obj.db.p = blob;
	obj.db.len = (uint32_t)blob_len;
	n = blob_len <= TG_PUNT_POLICY_MAX ? tg_punt_policy_size(&obj) : 0;
	if (n == 0) {
		tg_sp_seterr(err, errlen,
			     "%s: the policy and its databases (%zu bytes) exceed what a "
			     "generation carries (%u bytes)",
			     path, out->len + blob_len, TG_PUNT_POLICY_MAX);
		rc = -EFBIG;
		goto err;
	}
	out->obj = malloc(n);
	if (out->obj == NULL) {
		rc = -ENOMEM;
		tg_sp_seterr(err, errlen, "%s: %s", path, strerror(ENOMEM));
		goto err;
	}
	rc = tg_punt_policy_encode(&obj, out->obj, n);
	if (rc < 0) {
		tg_sp_seterr(err, errlen, "%s: policy object: %s", path, strerror(-rc));
		goto err;
	}
	out->obj_len = (size_t)rc;
	free(blob);
	return 0;
err:
	free(blob);
	tg_sp_policy_free(out);
	return rc;
}

void
tg_sp_policy_free(struct tg_sp_policy *p)
{
	tg_policy_free(p->pol);
	free(p->text);
	free(p->obj);
	memset(p, 0, sizeof(*p));
}
