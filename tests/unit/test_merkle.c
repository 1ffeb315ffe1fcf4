/* SPDX-License-Identifier: MIT */
/*
 * test_merkle.c — unit tests of the RFC 9162 Merkle tree (merkle.c).
 *
 * Known answers: the 8-leaf reference tree of the RFC 6962 reference
 * implementation, google/certificate-transparency
 * cpp/merkletree/merkle_tree_test.cc (kInputs, kSHA256EmptyTreeHash,
 * kSHA256Roots, kSHA256Paths, kSHA256Proofs, and the corruptions of its
 * VerifierCheck / VerifierConsistencyCheck), plus the consistency vector
 * (6, 7) that transparency-dev/merkle proof/verify_test.go adds to the same
 * data (its consistencyProofs; its TestVerifyConsistency edge cases are
 * here too). The C++ test numbers leaves from 1; here they are from 0.
 *
 * Properties, over one log of 600 leaves held in an array per level:
 * - after n appends exactly 2n - popcount(n) nodes are stored, each once
 *   and in order, an append reading ctz(n) of them;
 * - for every n <= 600, tg_merkle_root() from the stored nodes equals MTH
 *   computed by the RFC 9162 2.1.1 recursion straight from the leaves,
 *   with its own SHA-256 calls, and reads popcount(n) nodes;
 * - for every n <= 300 and every leaf m < n, and every pair m <= n <= 300:
 *   the proof verifies, reads at most 2 * bitlen(n) + 1 nodes, and is byte
 *   for byte the RFC 9162 2.1.3.1 / 2.1.4.1 recursion's (n <= 64);
 *   flipping a byte of any proof hash fails (every byte of every hash for
 *   n <= 32, one byte of every hash above), as do a flipped leaf or root,
 *   the root of another size, and the leaf index or sizes m +- 1, n +- 1
 *   (and m ^ 2, 2n, n / 2 for n <= 100) checked against their own roots,
 *   unless the proof is byte for byte theirs too (the empty proofs of
 *   m == n and m == 0: counted and reported); for n <= 100 a path one hash
 *   short, one long, or shifted by one fails too.
 *
 * Cost: about 4 s of CPU, 12 s under ASan, where the allocation OpenSSL
 * 3.0 makes in every EVP_DigestInit_ex() goes through the sanitizer.
 *
 * A path alone does not fix the tree size: the proof of leaf 0 in the tree
 * of 4 also verifies as leaf 0 of a tree of 3 with the same root (same
 * shape, opaque hashes), which test_size_comes_with_the_root pins down.
 *
 * Deterministic: no randomness; ASan checks the proof arrays' bounds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "merkle.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define H TG_MERKLE_HASH

#define LOG_LEAVES 600	   /* the log the property tests read */
#define PROOF_SIZES 300	   /* every proof of every size up to this */
#define REF_PROOF_SIZES 64 /* compared with the RFC recursion up to this */
#define ALL_BYTES_SIZES 32 /* every byte of every proof hash flipped up to this */
#define FAR_SIZES 100	   /* m ^ 2, 2n, n / 2 and paths cut, lengthened or shifted up to this */

/* ------------------------------------------------------------------ */
/* Node storage: one array per level, each node written once, in order. */

#define LEVELS 11 /* 2^10 = 1024 >= LOG_LEAVES */
#define CAP 1024u

struct store {
	uint8_t (*node[LEVELS])[H];
	uint64_t count[LEVELS]; /* nodes at the level: indices 0..count-1 */
	uint64_t nodes;		/* puts accepted */
	uint64_t gets;
	uint64_t puts;
	uint64_t fail_get_at; /* the get with this number (1-based) fails; 0: none */
	uint64_t fail_put_at;
	int fail_rc; /* what the failing call returns */
};

static struct store *
store_new(void)
{
	struct store *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	for (unsigned int l = 0; l < LEVELS; l++) {
		s->node[l] = calloc(CAP >> l, H);
		assert_non_null(s->node[l]);
	}
	return s;
}

static void
store_free(struct store *s)
{
	for (unsigned int l = 0; l < LEVELS; l++)
		free(s->node[l]);
	free(s);
}

static int
store_get(void *arg, unsigned int level, uint64_t index, uint8_t out[H])
{
	struct store *s = arg;

	s->gets++;
	if (s->fail_get_at != 0 && s->gets == s->fail_get_at)
		return s->fail_rc;
	if (level >= LEVELS || index >= s->count[level])
		return -ENOENT;
	memcpy(out, s->node[level][index], H);
	return 0;
}

static int
store_put(void *arg, unsigned int level, uint64_t index, const uint8_t hash[H])
{
	struct store *s = arg;

	s->puts++;
	if (s->fail_put_at != 0 && s->puts == s->fail_put_at)
		return s->fail_rc;
	if (level >= LEVELS || index >= (CAP >> level))
		return -ENOSPC;
	/* written once, and each level grows left to right */
	if (index != s->count[level])
		return -EEXIST;
	memcpy(s->node[level][index], hash, H);
	s->count[level]++;
	s->nodes++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reference: RFC 9162 2.1.1 to 2.1.4.1 as written, its own SHA-256 calls. */

static void
ref_sha256(const uint8_t *buf, size_t len, uint8_t out[H])
{
	unsigned int outlen = 0;

	assert_int_equal(EVP_Digest(buf, len, out, &outlen, EVP_sha256(), NULL), 1);
	assert_int_equal(outlen, H);
}

static void
ref_leaf(const void *data, size_t len, uint8_t out[H])
{
	uint8_t *buf = malloc(len + 1);

	assert_non_null(buf);
	buf[0] = 0x00;
	if (len)
		memcpy(buf + 1, data, len);
	ref_sha256(buf, len + 1, out);
	free(buf);
}

static void
ref_node(const uint8_t l[H], const uint8_t r[H], uint8_t out[H])
{
	uint8_t buf[1 + 2 * H];

	buf[0] = 0x01;
	memcpy(buf + 1, l, H);
	memcpy(buf + 1 + H, r, H);
	ref_sha256(buf, sizeof(buf), out);
}

/* The largest power of two smaller than n (n >= 2), by counting. */
static uint64_t
ref_split(uint64_t n)
{
	uint64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

/* MTH(D[n]) over the leaf hashes lh[0..n). */
static void
ref_mth(const uint8_t (*lh)[H], uint64_t n, uint8_t out[H])
{
	uint8_t l[H], r[H];
	uint64_t k;

	if (n == 0) {
		ref_sha256(NULL, 0, out);
		return;
	}
	if (n == 1) {
		memcpy(out, lh[0], H);
		return;
	}
	k = ref_split(n);
	ref_mth(lh, k, l);
	ref_mth(lh + k, n - k, r);
	ref_node(l, r, out);
}

/* PATH(m, D[n]), RFC 9162 2.1.3.1. */
static void
ref_path(uint64_t m, const uint8_t (*lh)[H], uint64_t n, uint8_t path[][H], unsigned int *len)
{
	uint64_t k;

	if (n <= 1)
		return;
	k = ref_split(n);
	if (m < k) {
		ref_path(m, lh, k, path, len);
		ref_mth(lh + k, n - k, path[(*len)++]);
	} else {
		ref_path(m - k, lh + k, n - k, path, len);
		ref_mth(lh, k, path[(*len)++]);
	}
}

/* SUBPROOF(m, D[n], b), RFC 9162 2.1.4.1. */
static void
ref_subproof(uint64_t m, const uint8_t (*lh)[H], uint64_t n, bool b, uint8_t path[][H],
	     unsigned int *len)
{
	uint64_t k;

	if (m == n) {
		if (!b)
			ref_mth(lh, m, path[(*len)++]);
		return;
	}
	k = ref_split(n);
	if (m <= k) {
		ref_subproof(m, lh, k, b, path, len);
		ref_mth(lh + k, n - k, path[(*len)++]);
	} else {
		ref_subproof(m - k, lh + k, n - k, false, path, len);
		ref_mth(lh, k, path[(*len)++]);
	}
}

/* ------------------------------------------------------------------ */
/* The log of the property tests, built once. */

static struct store *logs;		    /* LOG_LEAVES appended */
static uint8_t log_lh[LOG_LEAVES][H];	    /* reference leaf hashes */
static uint8_t log_root[LOG_LEAVES + 1][H]; /* reference roots, by size */

static size_t
leaf_data(uint64_t i, char *buf, size_t cap)
{
	/* lengths vary, and leaf 0 is empty as in the CT vectors */
	int n = i == 0 ? 0
		       : snprintf(buf, cap, "record %llu%.*s", (unsigned long long)i, (int)(i % 7),
				  "+++++++");

	assert_true(n >= 0 && (size_t)n < cap);
	return (size_t)n;
}

static int
group_setup(void **state)
{
	char buf[64];

	(void)state;
	logs = store_new();
	for (uint64_t i = 0; i < LOG_LEAVES; i++) {
		size_t len = leaf_data(i, buf, sizeof(buf));
		uint8_t lh[H];

		tg_merkle_leaf_hash(buf, len, lh);
		ref_leaf(buf, len, log_lh[i]);
		if (memcmp(lh, log_lh[i], H) != 0)
			return -1;
		if (tg_merkle_append(i, lh, store_get, store_put, logs) != 0)
			return -1;
	}
	for (uint64_t n = 0; n <= LOG_LEAVES; n++)
		ref_mth((const uint8_t(*)[H])log_lh, n, log_root[n]);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	store_free(logs);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers */

static void
unhex(const char *s, uint8_t *out, size_t len)
{
	assert_int_equal(strlen(s), 2 * len);
	for (size_t i = 0; i < len; i++) {
		unsigned int v;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static unsigned int
bitlen(uint64_t x)
{
	unsigned int b = 0;

	for (; x; x >>= 1)
		b++;
	return b;
}

static unsigned int
popcount(uint64_t x)
{
	unsigned int c = 0;

	for (; x; x &= x - 1)
		c++;
	return c;
}

static unsigned int
ctz(uint64_t x)
{
	unsigned int c = 0;

	for (; !(x & 1); x >>= 1)
		c++;
	return c;
}

static bool
same_path(const uint8_t a[][H], unsigned int alen, const uint8_t b[][H], unsigned int blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, (size_t)alen * H) == 0);
}

/* ------------------------------------------------------------------ */
/* Known answers: google/certificate-transparency merkle_tree_test.cc */

/* kInputs: the leaves' data */
static const struct {
	const char *data;
	size_t len;
} ct_inputs[8] = {
	{ "", 0 },
	{ "\x00", 1 },
	{ "\x10", 1 },
	{ "\x20\x21", 2 },
	{ "\x30\x31", 2 },
	{ "\x40\x41\x42\x43", 4 },
	{ "\x50\x51\x52\x53\x54\x55\x56\x57", 8 },
	{ "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16 },
};

/* kSHA256EmptyTreeHash: SHA-256 of nothing */
static const char ct_empty_root[] =
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* kSHA256Roots: roots of the first 1..8 leaves */
static const char *const ct_roots[8] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* kSHA256Paths, leaf numbered from 0 here (the C++ says 1, 6, 3, 2) */
/* clang-format off */
static const struct {
	uint64_t m, n;
	unsigned int len;
	const char *path[3];
} ct_paths[] = {
	{ 0, 1, 0, { NULL } },
	{ 0, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 5, 8, 3, { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 3, 1, { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
	{ 1, 5, 3, { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
};

/* kSHA256Proofs, and (6, 7) from transparency-dev/merkle consistencyProofs */
static const struct {
	uint64_t m, n;
	unsigned int len;
	const char *path[3];
} ct_proofs[] = {
	{ 1, 1, 0, { NULL } },
	{ 1, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 6, 8, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 5, 2, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	{ 6, 7, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
};
/* clang-format on */

/* sha256SomeHash of transparency-dev/merkle: a wrong root or leaf */
static const char some_hash[] = "abacaba000000000000000000000000000000000000000000060061e00123456";

static struct store *
ct_tree(void)
{
	struct store *s = store_new();

	for (uint64_t i = 0; i < 8; i++) {
		uint8_t lh[H];

		tg_merkle_leaf_hash(ct_inputs[i].data, ct_inputs[i].len, lh);
		assert_int_equal(tg_merkle_append(i, lh, store_get, store_put, s), 0);
	}
	return s;
}

static void
test_empty_root(void **state)
{
	struct store *s = store_new();
	uint8_t want[H], got[H];

	(void)state;
	unhex(ct_empty_root, want, H);
	assert_int_equal(tg_merkle_root(0, store_get, s, got), 0);
	assert_memory_equal(got, want, H);
	assert_int_equal(s->gets, 0);
	store_free(s);
}

/* kSHA256Roots, as the C++ RootTestVectors: every past root after every append. */
static void
test_ct_roots(void **state)
{
	struct store *s = store_new();
	uint8_t want[H], got[H];

	(void)state;
	for (uint64_t i = 0; i < 8; i++) {
		uint8_t lh[H];

		tg_merkle_leaf_hash(ct_inputs[i].data, ct_inputs[i].len, lh);
		assert_int_equal(tg_merkle_append(i, lh, store_get, store_put, s), 0);
		for (uint64_t j = 0; j <= i; j++) {
			unhex(ct_roots[j], want, H);
			assert_int_equal(tg_merkle_root(j + 1, store_get, s, got), 0);
			assert_memory_equal(got, want, H);
		}
		/* a size not appended yet reads a node that is not there */
		assert_int_equal(tg_merkle_root(i + 2, store_get, s, got), -ENOENT);
	}
	store_free(s);
}

/* The C++ VerifierCheck corruptions, on a known-good path. */
static void
ct_inclusion_probes(uint64_t m, uint64_t n, const uint8_t leaf[H], const uint8_t path[][H],
		    unsigned int len, const uint8_t root[H])
{
	uint8_t wrong[TG_MERKLE_PATH_MAX + 1][H], some[H], empty[H], bad_leaf[H];

	unhex(some_hash, some, H);
	unhex(ct_empty_root, empty, H);
	tg_merkle_leaf_hash("WrongLeaf", 9, bad_leaf);

	assert_true(tg_merkle_verify_inclusion(m, n, leaf, path, len, root));
	/* wrong leaf index */
	assert_false(tg_merkle_verify_inclusion(m - 1, n, leaf, path, len, root));
	assert_false(tg_merkle_verify_inclusion(m + 1, n, leaf, path, len, root));
	assert_false(tg_merkle_verify_inclusion(m ^ 2, n, leaf, path, len, root));
	/* wrong tree height */
	assert_false(tg_merkle_verify_inclusion(m, n * 2, leaf, path, len, root));
	assert_false(tg_merkle_verify_inclusion(m, n / 2, leaf, path, len, root));
	/* wrong leaf, wrong root */
	assert_false(tg_merkle_verify_inclusion(m, n, bad_leaf, path, len, root));
	assert_false(tg_merkle_verify_inclusion(m, n, leaf, path, len, empty));
	assert_false(tg_merkle_verify_inclusion(m, n, leaf, path, len, some));
	/* one element replaced by the empty tree's hash */
	for (unsigned int j = 0; j < len; j++) {
		memcpy(wrong, path, (size_t)len * H);
		memcpy(wrong[j], empty, H);
		assert_false(tg_merkle_verify_inclusion(m, n, leaf, wrong, len, root));
	}
	/* garbage, or the root, at the end */
	memcpy(wrong, path, (size_t)len * H);
	memset(wrong[len], 0, H);
	assert_false(tg_merkle_verify_inclusion(m, n, leaf, wrong, len + 1, root));
	memcpy(wrong[len], root, H);
	assert_false(tg_merkle_verify_inclusion(m, n, leaf, wrong, len + 1, root));
	/* a node removed from the end */
	if (len > 0)
		assert_false(tg_merkle_verify_inclusion(m, n, leaf, path, len - 1, root));
	/* garbage, or the root, at the front */
	memset(wrong[0], 0, H);
	memcpy(wrong + 1, path, (size_t)len * H);
	assert_false(tg_merkle_verify_inclusion(m, n, leaf, wrong, len + 1, root));
	memcpy(wrong[0], root, H);
	assert_false(tg_merkle_verify_inclusion(m, n, leaf, wrong, len + 1, root));
}

static void
test_ct_inclusion(void **state)
{
	struct store *s = ct_tree();
	uint8_t want[3][H], got[TG_MERKLE_PATH_MAX][H], root[H], leaf[H];
	unsigned int len;

	(void)state;
	for (size_t t = 0; t < ARRAY_SIZE(ct_paths); t++) {
		uint64_t m = ct_paths[t].m, n = ct_paths[t].n;

		for (unsigned int j = 0; j < ct_paths[t].len; j++)
			unhex(ct_paths[t].path[j], want[j], H);
		assert_int_equal(tg_merkle_inclusion_proof(m, n, store_get, s, got, &len), 0);
		assert_int_equal(len, ct_paths[t].len);
		if (len)
			assert_memory_equal(got, want, (size_t)len * H);
		unhex(ct_roots[n - 1], root, H);
		tg_merkle_leaf_hash(ct_inputs[m].data, ct_inputs[m].len, leaf);
		ct_inclusion_probes(m, n, leaf, (const uint8_t(*)[H])want, len, root);
	}
	/* PathToCurrentRoot(9) of the 8-leaf tree: there is no such leaf */
	assert_int_equal(tg_merkle_inclusion_proof(8, 8, store_get, s, got, &len), -EINVAL);
	assert_int_equal(len, 0);
	store_free(s);
}

/* The C++ VerifierConsistencyCheck and Go corruptConsistencyProof. */
static void
ct_consistency_probes(uint64_t m, uint64_t n, const uint8_t r1[H], const uint8_t r2[H],
		      const uint8_t path[][H], unsigned int len)
{
	uint8_t wrong[TG_MERKLE_PATH_MAX + 1][H], some[H], empty[H];

	unhex(some_hash, some, H);
	unhex(ct_empty_root, empty, H);

	assert_true(tg_merkle_verify_consistency(m, n, r1, r2, path, len));
	if (len == 0)
		return; /* m == n: covered by test_verify_edges */
	/* wrong sizes */
	assert_false(tg_merkle_verify_consistency(m - 1, n, r1, r2, path, len));
	assert_false(tg_merkle_verify_consistency(m + 1, n, r1, r2, path, len));
	assert_false(tg_merkle_verify_consistency(m ^ 2, n, r1, r2, path, len));
	assert_false(tg_merkle_verify_consistency(m, n * 2, r1, r2, path, len));
	assert_false(tg_merkle_verify_consistency(m, n / 2, r1, r2, path, len));
	/* wrong roots, swapped roots */
	assert_false(tg_merkle_verify_consistency(m, n, r1, some, path, len));
	assert_false(tg_merkle_verify_consistency(m, n, some, r2, path, len));
	assert_false(tg_merkle_verify_consistency(m, n, r2, r1, path, len));
	/* empty proof */
	assert_false(tg_merkle_verify_consistency(m, n, r1, r2, NULL, 0));
	/* one element replaced by the empty tree's hash */
	for (unsigned int j = 0; j < len; j++) {
		memcpy(wrong, path, (size_t)len * H);
		memcpy(wrong[j], empty, H);
		assert_false(tg_merkle_verify_consistency(m, n, r1, r2, wrong, len));
	}
	/* garbage, root1, root2 or the last element again at the end */
	memcpy(wrong, path, (size_t)len * H);
	memset(wrong[len], 0, H);
	assert_false(tg_merkle_verify_consistency(m, n, r1, r2, wrong, len + 1));
	memcpy(wrong[len], r1, H);
	assert_false(tg_merkle_verify_consistency(m, n, r1, r2, wrong, len + 1));
	memcpy(wrong[len], r2, H);
	assert_false(tg_merkle_verify_consistency(m, n, r1, r2, wrong, len + 1));
	memcpy(wrong[len], path[len - 1], H);
	assert_false(tg_merkle_verify_consistency(m, n, r1, r2, wrong, len + 1));
	/* truncated */
	assert_false(tg_merkle_verify_consistency(m, n, r1, r2, path, len - 1));
	/* garbage, root1, root2 or the first element again at the front */
	memcpy(wrong + 1, path, (size_t)len * H);
	memset(wrong[0], 0, H);
	assert_false(tg_merkle_verify_consistency(m, n, r1, r2, wrong, len + 1));
	memcpy(wrong[0], r1, H);
	assert_false(tg_merkle_verify_consistency(m, n, r1, r2, wrong, len + 1));
	memcpy(wrong[0], r2, H);
	assert_false(tg_merkle_verify_consistency(m, n, r1, r2, wrong, len + 1));
	memcpy(wrong[0], path[0], H);
	assert_false(tg_merkle_verify_consistency(m, n, r1, r2, wrong, len + 1));
}

static void
test_ct_consistency(void **state)
{
	struct store *s = ct_tree();
	uint8_t want[3][H], got[TG_MERKLE_PATH_MAX][H], r1[H], r2[H];
	unsigned int len;

	(void)state;
	for (size_t t = 0; t < ARRAY_SIZE(ct_proofs); t++) {
		uint64_t m = ct_proofs[t].m, n = ct_proofs[t].n;

		for (unsigned int j = 0; j < ct_proofs[t].len; j++)
			unhex(ct_proofs[t].path[j], want[j], H);
		assert_int_equal(tg_merkle_consistency_proof(m, n, store_get, s, got, &len), 0);
		assert_int_equal(len, ct_proofs[t].len);
		if (len)
			assert_memory_equal(got, want, (size_t)len * H);
		unhex(ct_roots[m - 1], r1, H);
		unhex(ct_roots[n - 1], r2, H);
		ct_consistency_probes(m, n, r1, r2, (const uint8_t(*)[H])want, len);
	}
	store_free(s);
}

/*
 * Outside 0 < m < n (C++ VerifyPath / VerifyConsistencyProof, Go
 * TestVerifyInclusion / TestVerifyConsistency). One departure: for m = 0
 * the Go verifier accepts any root1; here root1 must be the empty tree's.
 */
static void
test_verify_edges(void **state)
{
	static const uint64_t bad[][2] = { { 0, 0 }, { 1, 0 }, { 2, 1 } };
	uint8_t some[H], empty[H], a[H], b[H], one[1][H];
	struct store *s = ct_tree();
	unsigned int len = 99;

	(void)state;
	unhex(some_hash, some, H);
	unhex(ct_empty_root, empty, H);
	memset(a, 0xa1, H);
	memset(b, 0xb2, H);
	memcpy(one[0], empty, H);

	/* inclusion: no leaf m in a tree of n <= m */
	for (size_t t = 0; t < ARRAY_SIZE(bad); t++) {
		assert_false(
			tg_merkle_verify_inclusion(bad[t][0], bad[t][1], some, NULL, 0, empty));
		assert_false(tg_merkle_verify_inclusion(bad[t][0], bad[t][1], some, NULL, 0, some));
		assert_false(
			tg_merkle_verify_inclusion(bad[t][0], bad[t][1], empty, NULL, 0, empty));
	}
	/* a one-leaf tree: the root is the leaf hash, the path empty */
	assert_true(tg_merkle_verify_inclusion(0, 1, some, NULL, 0, some));
	assert_false(tg_merkle_verify_inclusion(0, 1, some, NULL, 0, empty));
	assert_false(tg_merkle_verify_inclusion(0, 1, some, one, 1, some));
	assert_false(tg_merkle_verify_inclusion(0, UINT64_MAX, some, NULL, 0, some));

	/* consistency: same size, same root, empty path */
	assert_true(tg_merkle_verify_consistency(1, 1, b, b, NULL, 0));
	assert_true(tg_merkle_verify_consistency(7, 7, a, a, NULL, 0));
	assert_false(tg_merkle_verify_consistency(1, 1, a, b, NULL, 0));
	assert_false(tg_merkle_verify_consistency(1, 1, empty, b, NULL, 0));
	assert_false(tg_merkle_verify_consistency(1, 1, empty, empty, one, 1));
	/* the empty tree: a prefix of every tree, its root is SHA-256 of nothing */
	assert_true(tg_merkle_verify_consistency(0, 0, empty, empty, NULL, 0));
	assert_true(tg_merkle_verify_consistency(0, 1, empty, b, NULL, 0));
	assert_true(tg_merkle_verify_consistency(0, UINT64_MAX, empty, b, NULL, 0));
	assert_false(tg_merkle_verify_consistency(0, 0, a, a, NULL, 0));
	assert_false(tg_merkle_verify_consistency(0, 0, empty, b, NULL, 0));
	assert_false(tg_merkle_verify_consistency(0, 1, a, b, NULL, 0));
	assert_false(tg_merkle_verify_consistency(0, 0, empty, empty, one, 1));
	assert_false(tg_merkle_verify_consistency(0, 1, empty, empty, one, 1));
	/* time travel to the past */
	assert_false(tg_merkle_verify_consistency(1, 0, a, b, NULL, 0));
	assert_false(tg_merkle_verify_consistency(2, 1, a, b, NULL, 0));
	assert_false(tg_merkle_verify_consistency(2, 1, a, b, one, 1));
	/* 0 < m < n: step 1, an empty path fails */
	assert_false(tg_merkle_verify_consistency(1, 2, a, b, NULL, 0));

	/* the generator gives the empty proof for m == 0 and m == n */
	assert_int_equal(tg_merkle_consistency_proof(0, 8, store_get, s, one, &len), 0);
	assert_int_equal(len, 0);
	len = 99;
	assert_int_equal(tg_merkle_consistency_proof(0, 0, store_get, s, one, &len), 0);
	assert_int_equal(len, 0);
	len = 99;
	assert_int_equal(tg_merkle_consistency_proof(5, 5, store_get, s, one, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(s->gets, 7); /* the appends': ctz(1) + ... + ctz(8) */
	store_free(s);
}

/*
 * What the verifiers take on trust: the path fixes the tree's shape, not
 * its size. Leaf 0's path in the tree of 4 (two left turns) also verifies
 * for a tree of 3 with the same root, and the consistency proof 2 -> 3
 * for 2 -> 4 with the same roots. The size must come signed together with
 * the root (the checkpoint); against the true root of that size it fails.
 */
static void
test_size_comes_with_the_root(void **state)
{
	uint8_t path[TG_MERKLE_PATH_MAX][H];
	unsigned int len;

	(void)state;
	assert_int_equal(tg_merkle_inclusion_proof(0, 4, store_get, logs, path, &len), 0);
	assert_true(tg_merkle_verify_inclusion(0, 4, log_lh[0], path, len, log_root[4]));
	assert_true(tg_merkle_verify_inclusion(0, 3, log_lh[0], path, len, log_root[4]));
	assert_false(tg_merkle_verify_inclusion(0, 3, log_lh[0], path, len, log_root[3]));

	assert_int_equal(tg_merkle_consistency_proof(2, 3, store_get, logs, path, &len), 0);
	assert_true(tg_merkle_verify_consistency(2, 3, log_root[2], log_root[3], path, len));
	assert_true(tg_merkle_verify_consistency(2, 4, log_root[2], log_root[3], path, len));
	assert_false(tg_merkle_verify_consistency(2, 4, log_root[2], log_root[4], path, len));
}

/* ------------------------------------------------------------------ */
/* Properties over the 600-leaf log */

/* 2n - popcount(n) nodes after n appends, each put once, in order. */
static void
test_node_count(void **state)
{
	struct store *s = store_new();

	(void)state;
	for (uint64_t n = 1; n <= LOG_LEAVES; n++) {
		uint64_t gets = s->gets, puts = s->puts;

		assert_int_equal(tg_merkle_append(n - 1, log_lh[n - 1], store_get, store_put, s),
				 0);
		assert_int_equal(s->nodes, 2 * n - popcount(n));
		assert_int_equal(s->puts - puts, 1 + ctz(n));
		assert_int_equal(s->gets - gets, ctz(n));
	}
	/* what the group's log holds is the same */
	for (unsigned int l = 0; l < LEVELS; l++) {
		assert_int_equal(s->count[l], LOG_LEAVES >> l);
		if (s->count[l])
			assert_memory_equal(s->node[l], logs->node[l], s->count[l] * H);
	}
	/* appending leaf 600 again is refused by the store, and passed up */
	assert_int_equal(tg_merkle_append(LOG_LEAVES - 1, log_lh[0], store_get, store_put, s),
			 -EEXIST);
	store_free(s);
}

/* Roots from stored nodes = MTH from the leaves, popcount(n) reads. */
static void
test_roots_match_reference(void **state)
{
	uint8_t got[H];

	(void)state;
	for (uint64_t n = 0; n <= LOG_LEAVES; n++) {
		uint64_t gets = logs->gets;

		assert_int_equal(tg_merkle_root(n, store_get, logs, got), 0);
		if (memcmp(got, log_root[n], H) != 0)
			fail_msg("root of %llu leaves differs from MTH", (unsigned long long)n);
		assert_int_equal(logs->gets - gets, popcount(n));
	}
}

/* Corruptions refused, and other (m, n) accepted because the proof is theirs too. */
static uint64_t refused, shared;

#define REFUSED(verified)               \
	do {                            \
		assert_false(verified); \
		refused++;              \
	} while (0)

static void
flip(uint8_t path[][H], unsigned int j, unsigned int byte, unsigned int bit)
{
	path[j][byte] ^= (uint8_t)(1u << bit);
}

/*
 * Another leaf index m2 against the same root, or another size n2 against
 * that size's own root: refused unless the path is that proof too.
 */
static void
check_incl_other(uint64_t m, uint64_t n, uint64_t m2, uint64_t n2, const uint8_t path[][H],
		 unsigned int len)
{
	uint8_t other[TG_MERKLE_PATH_MAX][H];
	unsigned int olen = 0;
	bool same = m2 < n2 && n2 <= LOG_LEAVES &&
		    tg_merkle_inclusion_proof(m2, n2, store_get, logs, other, &olen) == 0 &&
		    same_path(path, len, (const uint8_t(*)[H])other, olen) &&
		    memcmp(log_lh[m2], log_lh[m], H) == 0;
	const uint8_t *root = n2 <= LOG_LEAVES ? log_root[n2] : log_root[n];

	if (tg_merkle_verify_inclusion(m2, n2, log_lh[m], path, len, root) != same)
		fail_msg("inclusion of %llu in %llu verified as %llu in %llu",
			 (unsigned long long)m, (unsigned long long)n, (unsigned long long)m2,
			 (unsigned long long)n2);
	if (same)
		shared++;
	else
		refused++;
}

static void
test_inclusion_all(void **state)
{
	uint8_t path[TG_MERKLE_PATH_MAX + 1][H], ref[TG_MERKLE_PATH_MAX][H], leaf[H], root[H];
	uint64_t proofs = 0;

	(void)state;
	refused = shared = 0;
	for (uint64_t n = 1; n <= PROOF_SIZES; n++) {
		for (uint64_t m = 0; m < n; m++) {
			uint64_t gets = logs->gets;
			unsigned int len = 0, rlen = 0;

			assert_int_equal(
				tg_merkle_inclusion_proof(m, n, store_get, logs, path, &len), 0);
			assert_true(logs->gets - gets <= 2 * bitlen(n) + 1);
			assert_true(len <= bitlen(n - 1));
			if (n <= REF_PROOF_SIZES) {
				ref_path(m, (const uint8_t(*)[H])log_lh, n, ref, &rlen);
				if (!same_path((const uint8_t(*)[H])path, len,
					       (const uint8_t(*)[H])ref, rlen))
					fail_msg("PATH(%llu, D[%llu]) differs from the RFC's",
						 (unsigned long long)m, (unsigned long long)n);
			}
			if (!tg_merkle_verify_inclusion(m, n, log_lh[m], path, len, log_root[n]))
				fail_msg("inclusion of %llu in %llu refused", (unsigned long long)m,
					 (unsigned long long)n);
			proofs++;

			/* a flipped bit in any proof hash, the leaf or the root */
			for (unsigned int j = 0; j < len; j++) {
				for (unsigned int byte = 0; byte < H; byte++) {
					unsigned int at =
						n <= ALL_BYTES_SIZES
							? byte
							: (unsigned int)(m * 7 + n + j * 13) % H;
					unsigned int bit = (unsigned int)(m + j + byte) % 8;

					flip(path, j, at, bit);
					REFUSED(tg_merkle_verify_inclusion(m, n, log_lh[m], path,
									   len, log_root[n]));
					flip(path, j, at, bit);
					if (n > ALL_BYTES_SIZES)
						break;
				}
			}
			memcpy(leaf, log_lh[m], H);
			leaf[m % H] ^= 0x40;
			REFUSED(tg_merkle_verify_inclusion(m, n, leaf, path, len, log_root[n]));
			memcpy(root, log_root[n], H);
			root[n % H] ^= 0x02;
			REFUSED(tg_merkle_verify_inclusion(m, n, log_lh[m], path, len, root));
			/* the root of another size */
			REFUSED(tg_merkle_verify_inclusion(m, n, log_lh[m], path, len,
							   log_root[n - 1]));
			/* one hash short, one long, shifted by one */
			if (n <= FAR_SIZES) {
				if (len > 0)
					REFUSED(tg_merkle_verify_inclusion(m, n, log_lh[m], path,
									   len - 1, log_root[n]));
				memcpy(path[len], log_root[n], H);
				REFUSED(tg_merkle_verify_inclusion(m, n, log_lh[m], path, len + 1,
								   log_root[n]));
				memmove(path[1], path[0], (size_t)len * H);
				memcpy(path[0], log_lh[m], H);
				REFUSED(tg_merkle_verify_inclusion(m, n, log_lh[m], path, len + 1,
								   log_root[n]));
				memmove(path[0], path[1], (size_t)len * H);
			}
			/* other leaf indices, other sizes */
			check_incl_other(m, n, m - 1, n, (const uint8_t(*)[H])path, len);
			check_incl_other(m, n, m + 1, n, (const uint8_t(*)[H])path, len);
			check_incl_other(m, n, m, n - 1, (const uint8_t(*)[H])path, len);
			check_incl_other(m, n, m, n + 1, (const uint8_t(*)[H])path, len);
			if (n <= FAR_SIZES) {
				check_incl_other(m, n, m ^ 2, n, (const uint8_t(*)[H])path, len);
				check_incl_other(m, n, m, n * 2, (const uint8_t(*)[H])path, len);
				check_incl_other(m, n, m, n / 2, (const uint8_t(*)[H])path, len);
			}
		}
	}
	print_message("# inclusion: %llu proofs verified, %llu corruptions refused, "
		      "%llu other (m, n) whose proof it is too\n",
		      (unsigned long long)proofs, (unsigned long long)refused,
		      (unsigned long long)shared);
}

/* As check_incl_other, for consistency: (m2, n2) with their own roots. */
static void
check_cons_other(uint64_t m, uint64_t n, uint64_t m2, uint64_t n2, const uint8_t path[][H],
		 unsigned int len)
{
	uint8_t other[TG_MERKLE_PATH_MAX][H];
	unsigned int olen = 0;
	bool known = m2 <= n2 && n2 <= LOG_LEAVES;
	bool same = known &&
		    tg_merkle_consistency_proof(m2, n2, store_get, logs, other, &olen) == 0 &&
		    same_path(path, len, (const uint8_t(*)[H])other, olen);
	const uint8_t *r1 = m2 <= LOG_LEAVES ? log_root[m2] : log_root[m];
	const uint8_t *r2 = n2 <= LOG_LEAVES ? log_root[n2] : log_root[n];

	/* the same proof: only the empty one, of m2 == n2 or of m2 == 0 */
	if (tg_merkle_verify_consistency(m2, n2, r1, r2, path, len) != same)
		fail_msg("consistency %llu -> %llu verified as %llu -> %llu", (unsigned long long)m,
			 (unsigned long long)n, (unsigned long long)m2, (unsigned long long)n2);
	if (same)
		shared++;
	else
		refused++;
}

static void
test_consistency_all(void **state)
{
	uint8_t path[TG_MERKLE_PATH_MAX + 1][H], ref[TG_MERKLE_PATH_MAX][H], r[H];
	uint64_t proofs = 0;

	(void)state;
	refused = shared = 0;
	for (uint64_t n = 1; n <= PROOF_SIZES; n++) {
		for (uint64_t m = 0; m <= n; m++) {
			const uint8_t *r1 = log_root[m], *r2 = log_root[n];
			uint64_t gets = logs->gets;
			unsigned int len = 0, rlen = 0;

			assert_int_equal(
				tg_merkle_consistency_proof(m, n, store_get, logs, path, &len), 0);
			assert_true(logs->gets - gets <= 2 * bitlen(n) + 1);
			assert_true(len <= bitlen(n - 1) + 1);
			if (n <= REF_PROOF_SIZES && m > 0) {
				ref_subproof(m, (const uint8_t(*)[H])log_lh, n, true, ref, &rlen);
				if (!same_path((const uint8_t(*)[H])path, len,
					       (const uint8_t(*)[H])ref, rlen))
					fail_msg("PROOF(%llu, D[%llu]) differs from the RFC's",
						 (unsigned long long)m, (unsigned long long)n);
			}
			if (!tg_merkle_verify_consistency(m, n, r1, r2, path, len))
				fail_msg("consistency %llu -> %llu refused", (unsigned long long)m,
					 (unsigned long long)n);
			proofs++;
			if (m == 0 || m == n)
				assert_int_equal(len, 0);

			for (unsigned int j = 0; j < len; j++) {
				for (unsigned int byte = 0; byte < H; byte++) {
					unsigned int at =
						n <= ALL_BYTES_SIZES
							? byte
							: (unsigned int)(m * 5 + n + j * 11) % H;
					unsigned int bit = (unsigned int)(m + n + j + byte) % 8;

					flip(path, j, at, bit);
					REFUSED(tg_merkle_verify_consistency(m, n, r1, r2, path,
									     len));
					flip(path, j, at, bit);
					if (n > ALL_BYTES_SIZES)
						break;
				}
			}
			/*
			 * Flipped roots, swapped roots, another size's root2. For
			 * m = 0 root2 is not checked: the empty tree is a prefix
			 * of every tree, so there is nothing to bind it to.
			 */
			memcpy(r, r1, H);
			r[m % H] ^= 0x10;
			REFUSED(tg_merkle_verify_consistency(m, n, r, r2, path, len));
			if (m > 0) {
				memcpy(r, r2, H);
				r[n % H] ^= 0x10;
				REFUSED(tg_merkle_verify_consistency(m, n, r1, r, path, len));
			}
			if (m > 0 && m < n) {
				REFUSED(tg_merkle_verify_consistency(m, n, r2, r1, path, len));
				REFUSED(tg_merkle_verify_consistency(m, n, r1, log_root[n - 1],
								     path, len));
			}
			if (m > 0 && m < n && n <= FAR_SIZES) {
				/* an empty, short, long or shifted path */
				REFUSED(tg_merkle_verify_consistency(m, n, r1, r2, NULL, 0));
				REFUSED(tg_merkle_verify_consistency(m, n, r1, r2, path, len - 1));
				memcpy(path[len], r2, H);
				REFUSED(tg_merkle_verify_consistency(m, n, r1, r2, path, len + 1));
				memmove(path[1], path[0], (size_t)len * H);
				memcpy(path[0], r1, H);
				REFUSED(tg_merkle_verify_consistency(m, n, r1, r2, path, len + 1));
				memmove(path[0], path[1], (size_t)len * H);
			}
			/* other sizes, each against its own roots */
			check_cons_other(m, n, m - 1, n, (const uint8_t(*)[H])path, len);
			check_cons_other(m, n, m + 1, n, (const uint8_t(*)[H])path, len);
			check_cons_other(m, n, m, n - 1, (const uint8_t(*)[H])path, len);
			check_cons_other(m, n, m, n + 1, (const uint8_t(*)[H])path, len);
			if (n <= FAR_SIZES) {
				check_cons_other(m, n, m ^ 2, n, (const uint8_t(*)[H])path, len);
				check_cons_other(m, n, m, n * 2, (const uint8_t(*)[H])path, len);
				check_cons_other(m, n, m, n / 2, (const uint8_t(*)[H])path, len);
			}
		}
	}
	print_message("# consistency: %llu proofs verified, %llu corruptions refused, "
		      "%llu other (m, n) whose proof it is too\n",
		      (unsigned long long)proofs, (unsigned long long)refused,
		      (unsigned long long)shared);
}

/* ------------------------------------------------------------------ */
/* Errors */

static void
test_errors(void **state)
{
	uint8_t path[TG_MERKLE_PATH_MAX][H], out[H];
	unsigned int len;
	struct store *s;

	(void)state;
	memset(out, 0, H);
	/* arguments */
	len = 99;
	assert_int_equal(tg_merkle_inclusion_proof(0, 0, store_get, logs, path, &len), -EINVAL);
	assert_int_equal(len, 0);
	assert_int_equal(tg_merkle_inclusion_proof(5, 5, store_get, logs, path, &len), -EINVAL);
	assert_int_equal(tg_merkle_inclusion_proof(6, 5, store_get, logs, path, &len), -EINVAL);
	assert_int_equal(tg_merkle_consistency_proof(6, 5, store_get, logs, path, &len), -EINVAL);
	assert_int_equal(tg_merkle_root(TG_MERKLE_SIZE_MAX + 1, store_get, logs, out), -ERANGE);
	assert_int_equal(
		tg_merkle_inclusion_proof(0, TG_MERKLE_SIZE_MAX + 1, store_get, logs, path, &len),
		-ERANGE);
	assert_int_equal(tg_merkle_consistency_proof(1, UINT64_MAX, store_get, logs, path, &len),
			 -ERANGE);
	assert_int_equal(tg_merkle_append(TG_MERKLE_SIZE_MAX, out, store_get, store_put, logs),
			 -ERANGE);
	/* sizes past what was appended: the store's error */
	assert_int_equal(tg_merkle_root(LOG_LEAVES + 1, store_get, logs, out), -ENOENT);
	assert_int_equal(tg_merkle_inclusion_proof(0, LOG_LEAVES + 1, store_get, logs, path, &len),
			 -ENOENT);
	assert_int_equal(len, 0);
	assert_int_equal(
		tg_merkle_consistency_proof(3, LOG_LEAVES + 1, store_get, logs, path, &len),
		-ENOENT);

	/* every read of a proof can fail, and the failure comes back */
	for (uint64_t k = 1;; k++) {
		int rc;

		logs->gets = 0;
		logs->fail_get_at = k;
		logs->fail_rc = -EIO;
		len = 99;
		rc = tg_merkle_consistency_proof(77, 300, store_get, logs, path, &len);
		if (rc == 0) {
			assert_true(k > 1);
			break;
		}
		assert_int_equal(rc, -EIO);
		assert_int_equal(len, 0);
	}
	for (uint64_t k = 1;; k++) {
		int rc;

		logs->gets = 0;
		logs->fail_get_at = k;
		rc = tg_merkle_inclusion_proof(77, 300, store_get, logs, path, &len);
		if (rc == 0)
			break;
		assert_int_equal(rc, -EIO);
	}
	/* a get that breaks its contract with a positive value still fails */
	logs->gets = 0;
	logs->fail_get_at = 1;
	logs->fail_rc = 1;
	assert_int_equal(tg_merkle_root(300, store_get, logs, out), -EIO);
	logs->fail_get_at = 0;

	/* appends: a failing put or get is passed up */
	s = store_new();
	for (uint64_t i = 0; i < 7; i++)
		assert_int_equal(tg_merkle_append(i, log_lh[i], store_get, store_put, s), 0);
	s->fail_put_at = s->puts + 3; /* leaf 7 puts node(0,7), (1,3), (2,1), (3,0) */
	s->fail_rc = -ENOSPC;
	assert_int_equal(tg_merkle_append(7, log_lh[7], store_get, store_put, s), -ENOSPC);
	store_free(s);
	s = store_new();
	for (uint64_t i = 0; i < 7; i++)
		assert_int_equal(tg_merkle_append(i, log_lh[i], store_get, store_put, s), 0);
	s->fail_get_at = s->gets + 2;
	s->fail_rc = -EIO;
	assert_int_equal(tg_merkle_append(7, log_lh[7], store_get, store_put, s), -EIO);
	store_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_root),
		cmocka_unit_test(test_ct_roots),
		cmocka_unit_test(test_ct_inclusion),
		cmocka_unit_test(test_ct_consistency),
		cmocka_unit_test(test_verify_edges),
		cmocka_unit_test(test_size_comes_with_the_root),
		cmocka_unit_test(test_node_count),
		cmocka_unit_test(test_roots_match_reference),
		cmocka_unit_test(test_inclusion_all),
		cmocka_unit_test(test_consistency_all),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests_name("merkle", tests, group_setup, group_teardown);
}
