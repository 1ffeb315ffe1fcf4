/* SPDX-License-Identifier: MIT */
/*
 * note.c — see note.h.
 *
 * base64 is written here rather than through EVP_EncodeBlock and
 * EVP_DecodeBlock: the OpenSSL decoder accepts whitespace and returns
 * padding as zero bytes, and a verifier must refuse every encoding but
 * the one canonical form, or two different notes would carry one
 * signature.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "note.h"
#include "seterr.h"

/* U+2014 EM DASH and a space: the start of every signature line. */
static const char sig_prefix[] = "\xe2\x80\x94 ";
#define SIG_PREFIX_LEN (sizeof(sig_prefix) - 1)
#define SIG_B64_LEN (((TG_NOTE_KEY_ID + TG_NOTE_SIG + 2) / 3) * 4)

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
tg_note_b64_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	size_t need = ((len + 2) / 3) * 4, i, o = 0;

	if (outlen < need + 1) {
		if (outlen > 0)
			out[0] = '\0';
		return 0;
	}
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int
b64_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(b64_alphabet, c);
	return p ? (int)(p - b64_alphabet) : -1;
}

int
tg_note_b64_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	size_t i, o = 0, pad = 0;

	if (len % 4 != 0)
		return -EINVAL;
	if (len >= 1 && in[len - 1] == '=')
		pad++;
	if (len >= 2 && in[len - 2] == '=')
		pad++;
	if ((len / 4) * 3 - pad > outlen)
		return -EINVAL;
	for (i = 0; i < len; i += 4) {
		int v[4], k;
		uint32_t w;

		for (k = 0; k < 4; k++) {
			if (i + k >= len - pad) {
				v[k] = 0;
				continue;
			}
			v[k] = b64_value(in[i + k]);
			if (v[k] < 0)
				return -EINVAL;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		    (uint32_t)v[3];
		out[o++] = (uint8_t)(w >> 16);
		if (i + 4 < len || pad < 2)
			out[o++] = (uint8_t)(w >> 8);
		else if ((w >> 8) & 0xff)
			return -EINVAL; /* non-zero bits under the padding */
		if (i + 4 < len || pad < 1)
			out[o++] = (uint8_t)w;
		else if (w & 0xff)
			return -EINVAL;
	}
	return (int)o;
}

bool
tg_note_name_valid(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		return false;
	for (i = 0; name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];

		if (i >= TG_NOTE_NAME_MAX || c <= 0x20 || c >= 0x7f || c == '+')
			return false;
	}
	return true;
}

void
tg_note_key_id(const char *name, const uint8_t pub[TG_NOTE_PUB], uint8_t id[TG_NOTE_KEY_ID])
{
	static const uint8_t sep[2] = { 0x0a, 0x01 }; /* newline, Ed25519 type */
	uint8_t md[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	/* SHA-256 cannot fail short of allocation; abort rather than sign with a wrong ID. */
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, name, strlen(name)) != 1 ||
	    EVP_DigestUpdate(ctx, sep, sizeof(sep)) != 1 ||
	    EVP_DigestUpdate(ctx, pub, TG_NOTE_PUB) != 1 || EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	memcpy(id, md, TG_NOTE_KEY_ID);
}

/* The first OpenSSL error, for a message; clears the queue. */
static const char *
ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	ERR_clear_error();
	if (e == 0)
		snprintf(buf, len, "unknown OpenSSL error");
	else
		ERR_error_string_n(e, buf, len);
	return buf;
}

static bool
is_ed25519(EVP_PKEY *k)
{
	return EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519;
}

static EVP_PKEY *
read_private(const char *path, char *err, size_t errlen)
{
	char why[160];
	struct stat st;
	EVP_PKEY *k;
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;

		tg_sp_seterr(err, errlen, "open signing key %s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		tg_sp_seterr(err, errlen, "signing key %s is not a regular file", path);
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	if (st.st_mode & 077) {
		tg_sp_seterr(err, errlen,
			     "signing key %s is accessible by group or others (mode %04o); "
			     "chmod 600 it",
			     path, (unsigned int)(st.st_mode & 07777));
		close(fd);
		errno = EPERM;
		return NULL;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL) {
		tg_sp_seterr(err, errlen, "read signing key %s: %s", path,
			     ossl_reason(why, sizeof(why)));
		errno = EINVAL;
		return NULL;
	}
	if (!is_ed25519(k)) {
		tg_sp_seterr(err, errlen, "signing key %s is not an Ed25519 key", path);
		EVP_PKEY_free(k);
		errno = EINVAL;
		return NULL;
	}
	return k;
}

/* fsync the directory holding path, so that the new name survives a crash. */
static int
sync_parent(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc = 0;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return -ENAMETOOLONG;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int
create_key(const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX], why[160];
	EVP_PKEY *k;
	FILE *f = NULL;
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (k == NULL) {
		tg_sp_seterr(err, errlen, "generate Ed25519 key: %s",
			     ossl_reason(why, sizeof(why)));
		return -EIO;
	}
	unlink(tmp); /* a leftover of an earlier crash of this pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "create signing key %s: %s", tmp, strerror(-rc));
		goto err_key;
	}
	/* the umask can only narrow 0600; make it exact */
	if (fchmod(fd, 0600) < 0 || (f = fdopen(fd, "w")) == NULL) {
		rc = -errno;
		close(fd);
		goto err_tmp;
	}
	if (PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1) {
		tg_sp_seterr(err, errlen, "write signing key %s: %s", tmp,
			     ossl_reason(why, sizeof(why)));
		rc = -EIO;
	}
	if (rc == 0 && (fflush(f) != 0 || fsync(fileno(f)) < 0))
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		goto err_tmp;
	/* link(2) fails with EEXIST rather than replace: another process won the race */
	if (link(tmp, path) < 0 && errno != EEXIST) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "create signing key %s: %s", path, strerror(-rc));
		goto err_tmp;
	}
	unlink(tmp);
	EVP_PKEY_free(k);
	return sync_parent(path);

err_tmp:
	if (rc != 0 && err != NULL && err[0] == '\0')
		tg_sp_seterr(err, errlen, "write signing key %s: %s", tmp, strerror(-rc));
	unlink(tmp);
err_key:
	EVP_PKEY_free(k);
	return rc;
}

EVP_PKEY *
tg_note_key_load(const char *path, bool create, char *err, size_t errlen)
{
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (create && access(path, F_OK) < 0 && errno == ENOENT) {
		rc = create_key(path, err, errlen);
		if (rc < 0) {
			errno = -rc;
			return NULL;
		}
	}
	return read_private(path, err, errlen);
}

int
tg_note_key_public(EVP_PKEY *key, uint8_t pub[TG_NOTE_PUB])
{
	size_t len = TG_NOTE_PUB;

	if (!is_ed25519(key) || EVP_PKEY_get_raw_public_key(key, pub, &len) != 1 ||
	    len != TG_NOTE_PUB)
		return -EINVAL;
	return 0;
}

int
tg_note_pubkey_load(const char *path, uint8_t pub[TG_NOTE_PUB], char *err, size_t errlen)
{
	EVP_PKEY *k;
	FILE *f;
	int rc;

	f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "open public key %s: %s", path, strerror(-rc));
		return rc;
	}
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (k == NULL) {
		/* a private key file will do: its public half is what is wanted */
		ERR_clear_error();
		rewind(f);
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	}
	fclose(f);
	ERR_clear_error();
	if (k == NULL) {
		tg_sp_seterr(err, errlen, "%s holds no PEM public or private key", path);
		return -EINVAL;
	}
	rc = tg_note_key_public(k, pub);
	EVP_PKEY_free(k);
	if (rc < 0)
		tg_sp_seterr(err, errlen, "%s is not an Ed25519 key", path);
	return rc;
}

int
tg_note_pubkey_pem(const uint8_t pub[TG_NOTE_PUB], char **pem)
{
	EVP_PKEY *k;
	BIO *bio;
	char *data;
	long len;
	int rc = -EIO;

	*pem = NULL;
	k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, TG_NOTE_PUB);
	if (k == NULL)
		return -EINVAL;
	bio = BIO_new(BIO_s_mem());
	if (bio != NULL && PEM_write_bio_PUBKEY(bio, k) == 1) {
		len = BIO_get_mem_data(bio, &data);
		if (len > 0 && (*pem = strndup(data, (size_t)len)) != NULL)
			rc = 0;
		else
			rc = -ENOMEM;
	}
	BIO_free(bio);
	EVP_PKEY_free(k);
	ERR_clear_error();
	return rc;
}

int
tg_note_ed25519_sign(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[TG_NOTE_SIG])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = TG_NOTE_SIG;
	int rc = -EIO;

	/* Ed25519 is one-shot and pure: no digest, EVP_DigestSign (not Update/Final). */
	if (ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 && siglen == TG_NOTE_SIG)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

bool
tg_note_ed25519_verify(const uint8_t pub[TG_NOTE_PUB], const void *msg, size_t len,
		       const uint8_t sig[TG_NOTE_SIG])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, TG_NOTE_PUB);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = false;

	if (k != NULL && ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1)
		ok = EVP_DigestVerify(ctx, sig, TG_NOTE_SIG, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	ERR_clear_error();
	return ok;
}

int
tg_note_sign(EVP_PKEY *key, const char *name, const char *text, size_t text_len, char *out,
	     size_t size, size_t *len)
{
	uint8_t pub[TG_NOTE_PUB], blob[TG_NOTE_KEY_ID + TG_NOTE_SIG];
	char b64[SIG_B64_LEN + 1];
	int n, rc;

	if (!tg_note_name_valid(name) || text_len == 0 || text[text_len - 1] != '\n' ||
	    memmem(text, text_len, "\n\n", 2) != NULL)
		return -EINVAL;
	if ((rc = tg_note_key_public(key, pub)) < 0)
		return rc;
	tg_note_key_id(name, pub, blob);
	if ((rc = tg_note_ed25519_sign(key, text, text_len, blob + TG_NOTE_KEY_ID)) < 0)
		return rc;
	tg_note_b64_encode(blob, sizeof(blob), b64, sizeof(b64));
	n = snprintf(out, size, "%.*s\n%s%s %s\n", (int)text_len, text, sig_prefix, name, b64);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	*len = (size_t)n;
	return 0;
}

int
tg_note_text(const char *note, size_t len, size_t *text_len)
{
	size_t split = 0, i;

	/* the text ends at the last blank line (c2sp.org/signed-note; Go's note.Open) */
	for (i = 1; i < len; i++)
		if (note[i - 1] == '\n' && note[i] == '\n')
			split = i;
	if (split == 0 || note[len - 1] != '\n' || memchr(note, '\0', len) != NULL)
		return -EINVAL;
	*text_len = split;
	return 0;
}

int
tg_note_verify(const char *note, size_t len, const char *name, const uint8_t pub[TG_NOTE_PUB],
	       size_t *text_len)
{
	uint8_t id[TG_NOTE_KEY_ID], blob[TG_NOTE_KEY_ID + TG_NOTE_SIG];
	size_t name_len = strlen(name), split, p;
	bool found = false;

	if (tg_note_text(note, len, &split) < 0)
		return -EINVAL;
	tg_note_key_id(name, pub, id);
	for (p = split + 1; p < len;) {
		const char *line = note + p, *eol = memchr(line, '\n', len - p);
		size_t n = (size_t)(eol - line);
		const char *sp;
		int dec;

		if (n < SIG_PREFIX_LEN || memcmp(line, sig_prefix, SIG_PREFIX_LEN) != 0)
			return -EINVAL;
		sp = memchr(line + SIG_PREFIX_LEN, ' ', n - SIG_PREFIX_LEN);
		if (sp == NULL || sp == line + SIG_PREFIX_LEN)
			return -EINVAL;
		p += n + 1;
		if ((size_t)(sp - line - SIG_PREFIX_LEN) != name_len ||
		    memcmp(line + SIG_PREFIX_LEN, name, name_len) != 0)
			continue; /* another key's signature: not ours to judge */
		dec = tg_note_b64_decode(sp + 1, (size_t)(eol - sp - 1), blob, sizeof(blob));
		if (dec < TG_NOTE_KEY_ID)
			return -EINVAL;
		if (memcmp(blob, id, TG_NOTE_KEY_ID) != 0)
			continue;
		found = true;
		if (dec == (int)sizeof(blob) &&
		    tg_note_ed25519_verify(pub, note, split, blob + TG_NOTE_KEY_ID)) {
			*text_len = split;
			return 0;
		}
	}
	return found ? -EKEYREJECTED : -ENOKEY;
}

int
tg_note_checkpoint_text(const char *origin, uint64_t size, const uint8_t root[TG_NOTE_HASH],
			char *out, size_t outlen)
{
	char b64[48];
	int n;

	tg_note_b64_encode(root, TG_NOTE_HASH, b64, sizeof(b64));
	n = snprintf(out, outlen, "%s\n%" PRIu64 "\n%s\n", origin, size, b64);
	if (n < 0 || (size_t)n >= outlen)
		return -ENOSPC;
	return n;
}

int
tg_note_checkpoint_parse(const char *text, size_t len, char *origin, size_t originlen,
			 uint64_t *size, uint8_t root[TG_NOTE_HASH])
{
	const char *line[3], *end = text + len;
	size_t n[3], i;
	const char *p = text;
	uint64_t v = 0;

	for (i = 0; i < 3; i++) {
		const char *eol = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;

		if (eol == NULL)
			return -EINVAL;
		line[i] = p;
		n[i] = (size_t)(eol - p);
		p = eol + 1;
	}
	if (p != end)
		return -EINVAL; /* extension lines */
	if (n[0] == 0 || n[0] >= originlen)
		return -EINVAL;
	memcpy(origin, line[0], n[0]);
	origin[n[0]] = '\0';
	if (!tg_note_name_valid(origin))
		return -EINVAL;
	/* decimal, no sign, no leading zero */
	if (n[1] == 0 || n[1] > 20 || (line[1][0] == '0' && n[1] > 1))
		return -EINVAL;
	for (i = 0; i < n[1]; i++) {
		unsigned int d = (unsigned int)(line[1][i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*size = v;
	if (tg_note_b64_decode(line[2], n[2], root, TG_NOTE_HASH) != TG_NOTE_HASH)
		return -EINVAL;
	return 0;
}
