/* SPDX-License-Identifier: MIT */
/*
 * note.h — C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, the
 * checkpoint body they carry (c2sp.org/tlog-checkpoint), and the signing
 * key's file.
 *
 * A signed note is a text that ends in a newline, a blank line, then one
 * line per signature:
 *
 *     <text>\n
 *     — <key name> <base64(key ID || signature)>\n
 *
 * where "—" is U+2014 (UTF-8 e2 80 94), the key ID is the first 4 bytes
 * of SHA-256(key name || 0x0a || 0x01 || 32-byte Ed25519 public key) (0x01
 * is the Ed25519 signature type), and the signature is Ed25519 (RFC 8032,
 * pure, no prehash) over the text bytes, newline included. base64 is RFC
 * 4648 section 4 with padding. A verifier looks for a line with its key's
 * name and ID and ignores every other line (other witnesses' cosignatures).
 *
 * A checkpoint's text is "<origin>\n<size in decimal>\n<base64(root)>\n",
 * no extension lines (c2sp.org/tlog-checkpoint NOT RECOMMENDED them; the
 * audit log binds its chain head through a log.checkpoint record instead).
 *
 * Keys go through OpenSSL 3 (EVP_PKEY_ED25519, EVP_DigestSign with a NULL
 * digest). The private key file is PEM PKCS#8, mode 0600, created once with
 * O_EXCL through a temporary name and link(2), so a crash never leaves a
 * half-written key under the real name and two starting processes never
 * both create one.
 *
 * Caveats:
 *   - The key is in the slowpath's memory and on its disk. evidence.md
 *     section 2.7 prefers a separate signer process or a TPM/HSM; the
 *     functions here take an EVP_PKEY so that a provider-backed key can
 *     replace the file later.
 */
#ifndef TG_NOTE_H
#define TG_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define TG_NOTE_KEY_ID 4
#define TG_NOTE_PUB 32
#define TG_NOTE_SIG 64
#define TG_NOTE_HASH 32
/* C2SP: a key name is non-empty, has no whitespace and no '+'; we also cap it. */
#define TG_NOTE_NAME_MAX 255
/* A checkpoint note: origin, size, root, blank line, one signature line. */
#define TG_NOTE_MAX (3 * TG_NOTE_NAME_MAX + 256)

/* Is name a valid key name (and checkpoint origin)? Printable ASCII, no space, no '+'. */
bool tg_note_name_valid(const char *name);

/* The C2SP key ID of an Ed25519 key named name. */
void tg_note_key_id(const char *name, const uint8_t pub[TG_NOTE_PUB], uint8_t id[TG_NOTE_KEY_ID]);

/*
 * Loads the private key at path, or creates it (mode 0600) when absent and
 * create is set. A file readable or writable by group or others is
 * refused (-EPERM), as OpenSSH does. Returns the key or NULL with errno
 * set and the reason in err.
 */
EVP_PKEY *tg_note_key_load(const char *path, bool create, char *err, size_t errlen);

/* Loads an Ed25519 public key from a PEM file holding a public or private key. */
int tg_note_pubkey_load(const char *path, uint8_t pub[TG_NOTE_PUB], char *err, size_t errlen);

/* The raw 32-byte public key of an Ed25519 key. */
int tg_note_key_public(EVP_PKEY *key, uint8_t pub[TG_NOTE_PUB]);

/* The public key as PEM (SubjectPublicKeyInfo); *pem is malloc'd, NUL-terminated. */
int tg_note_pubkey_pem(const uint8_t pub[TG_NOTE_PUB], char **pem);

/* Ed25519 signature of msg. */
int tg_note_ed25519_sign(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[TG_NOTE_SIG]);
bool tg_note_ed25519_verify(const uint8_t pub[TG_NOTE_PUB], const void *msg, size_t len,
			    const uint8_t sig[TG_NOTE_SIG]);

/*
 * Signs text (which must end in '\n' and not contain a blank line) under
 * name: writes the whole note into out[0..size), NUL-terminated, its
 * length in *len. Returns 0, -EINVAL, -ENOSPC or -EIO (OpenSSL).
 */
int tg_note_sign(EVP_PKEY *key, const char *name, const char *text, size_t text_len, char *out,
		 size_t size, size_t *len);

/* The text of a note, up to its last blank line: *text_len, or -EINVAL. */
int tg_note_text(const char *note, size_t len, size_t *text_len);

/*
 * Verifies a note against the key (name, pub): the text is note[0..*text_len).
 * Returns 0, -EINVAL (not a well-formed note), -ENOKEY (no signature line
 * with this key's name and ID) or -EKEYREJECTED (that line's signature
 * does not verify).
 */
int tg_note_verify(const char *note, size_t len, const char *name, const uint8_t pub[TG_NOTE_PUB],
		   size_t *text_len);

/* The checkpoint text "<origin>\n<size>\n<base64(root)>\n" into out; returns its length or -ENOSPC.
 */
int tg_note_checkpoint_text(const char *origin, uint64_t size, const uint8_t root[TG_NOTE_HASH],
			    char *out, size_t outlen);

/*
 * Parses a checkpoint text (no extension lines allowed): origin into
 * origin[0..originlen), size and root. Returns 0 or -EINVAL.
 */
int tg_note_checkpoint_parse(const char *text, size_t len, char *origin, size_t originlen,
			     uint64_t *size, uint8_t root[TG_NOTE_HASH]);

/* base64 (RFC 4648 section 4, padded). encode returns the length written (NUL added). */
size_t tg_note_b64_encode(const uint8_t *in, size_t len, char *out, size_t outlen);
/* Strict decode: returns the decoded length or -EINVAL. */
int tg_note_b64_decode(const char *in, size_t len, uint8_t *out, size_t outlen);

#endif /* TG_NOTE_H */
