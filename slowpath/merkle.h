/* SPDX-License-Identifier: MIT */
/*
 * merkle.h — the RFC 6962 / RFC 9162 Merkle tree over the audit log's
 * leaves: hashing, and inclusion and consistency proofs for any past size
 * built from stored complete-subtree hashes.
 *
 * Hashes (RFC 9162 2.1.1): leaf = SHA-256(0x00 || data), node =
 * SHA-256(0x01 || left || right); the root of an empty tree is SHA-256 of
 * nothing. The tree of n leaves splits at k, the largest power of two
 * below n.
 *
 * Storage: only complete subtrees are kept, node(level, index) = the root
 * of leaves [index << level, (index + 1) << level); level 0 is the leaf
 * hashes. Appending leaf i adds node(0, i) and, for every level l where
 * (i + 1) is a multiple of 2^l, node(l, (i + 1) / 2^l - 1): about 2n
 * hashes for n leaves, each written once. Any root, inclusion proof or
 * consistency proof for any size n <= the log's size is computed from
 * these (RFC 9162 2.1.3.1, 2.1.4.1) with O(log n) node reads, through
 * the caller's get() (the audit store reads LMDB; tests use an array):
 * a root reads popcount(n) nodes, a proof at most 2 * bitlen(n) + 1.
 *
 * Caveats:
 * - Sizes are capped at TG_MERKLE_SIZE_MAX (2^63), which bounds every
 *   proof to TG_MERKLE_PATH_MAX hashes; callers size path[] with it.
 * - The module does not know the log's size: asking for a size beyond
 *   what was appended reads a node that is not there, and the error is
 *   whatever get() returns for that (-ENOENT, say).
 * - SHA-256 goes through OpenSSL's EVP, one context per call reused for
 *   its hashes (about 0.3 us a node hash). OpenSSL can only fail there
 *   when it cannot allocate; leaf and node hashing have no error path, so
 *   that aborts: an audit log that cannot hash stops rather than record a
 *   wrong hash.
 * - A verified path fixes the tree's shape, not its size: the path of
 *   leaf 0 in a tree of 4 also verifies as leaf 0 of a tree of 3 with the
 *   same root. Take n and the root together from one signed checkpoint.
 * - tg_merkle_append() puts node(0, i) first and then the nodes it
 *   closes, bottom up; if a get or put fails half-way the caller must
 *   drop the whole append (the audit store aborts its LMDB transaction).
 */
#ifndef TG_MERKLE_H
#define TG_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_MERKLE_HASH 32
/*
 * Proof hashes for sizes up to TG_MERKLE_SIZE_MAX: an inclusion proof has
 * at most bitlen(n - 1) <= 63, a consistency proof one more, <= 64.
 */
#define TG_MERKLE_PATH_MAX 64
#define TG_MERKLE_SIZE_MAX (UINT64_C(1) << 63) /* leaves; larger sizes are -ERANGE */

/* Reads node(level, index), a complete subtree; returns 0 or -errno. */
typedef int (*tg_merkle_get_fn)(void *arg, unsigned int level, uint64_t index,
				uint8_t out[TG_MERKLE_HASH]);

/* Receives a node to store, as tg_merkle_append() computes it. */
typedef int (*tg_merkle_put_fn)(void *arg, unsigned int level, uint64_t index,
				const uint8_t hash[TG_MERKLE_HASH]);

void tg_merkle_leaf_hash(const void *data, size_t len, uint8_t out[TG_MERKLE_HASH]);
void tg_merkle_node_hash(const uint8_t left[TG_MERKLE_HASH], const uint8_t right[TG_MERKLE_HASH],
			 uint8_t out[TG_MERKLE_HASH]);

/*
 * Appends leaf number i (the tree had i leaves) with leaf hash `leaf`:
 * puts node(0, i) and every complete subtree it closes, reading their left
 * halves with get(): 1 + ctz(i + 1) puts, ctz(i + 1) gets, so
 * 2n - popcount(n) nodes after n appends. Returns 0, -ERANGE for
 * i >= TG_MERKLE_SIZE_MAX, or the first -errno of get/put.
 */
int tg_merkle_append(uint64_t i, const uint8_t leaf[TG_MERKLE_HASH], tg_merkle_get_fn get,
		     tg_merkle_put_fn put, void *arg);

/* The root of the first n leaves (n = 0: SHA-256 of nothing); 0, -ERANGE or get's -errno. */
int tg_merkle_root(uint64_t n, tg_merkle_get_fn get, void *arg, uint8_t out[TG_MERKLE_HASH]);

/*
 * Inclusion proof of leaf m in the tree of n leaves (m < n): *len hashes,
 * leaf side first, RFC 9162 2.1.3.1. Returns 0, -EINVAL for m >= n,
 * -ERANGE or get's -errno; on error *len is 0 and path[] undefined.
 */
int tg_merkle_inclusion_proof(uint64_t m, uint64_t n, tg_merkle_get_fn get, void *arg,
			      uint8_t path[][TG_MERKLE_HASH], unsigned int *len);

/*
 * Consistency proof between sizes m and n (m <= n), RFC 9162 2.1.4.1.
 * m == n (SUBPROOF(m, D[m], true) = {}) and m == 0 (the empty tree is a
 * prefix of every tree) give the empty proof, as the verifier expects.
 * Returns 0, -EINVAL for m > n, -ERANGE or get's -errno; on error *len is
 * 0 and path[] undefined.
 */
int tg_merkle_consistency_proof(uint64_t m, uint64_t n, tg_merkle_get_fn get, void *arg,
				uint8_t path[][TG_MERKLE_HASH], unsigned int *len);

/*
 * RFC 9162 2.1.3.2: does the path prove leaf m (hash `leaf`) in the tree of
 * n leaves with root? m >= n, and a path longer or shorter than the tree
 * is high, fail. path may be NULL when len is 0.
 */
bool tg_merkle_verify_inclusion(uint64_t m, uint64_t n, const uint8_t leaf[TG_MERKLE_HASH],
				const uint8_t path[][TG_MERKLE_HASH], unsigned int len,
				const uint8_t root[TG_MERKLE_HASH]);

/*
 * RFC 9162 2.1.4.2: does the path prove the tree of m leaves (root1) a
 * prefix of n (root2)? The RFC's algorithm covers 0 < m < n (an empty
 * path fails, so does one of the wrong length). Outside it: m > n fails;
 * m == n holds iff the path is empty and root1 == root2; m == 0 holds iff
 * the path is empty and root1 is the empty tree's root, SHA-256 of nothing
 * (and root2 too when n is 0).
 */
bool tg_merkle_verify_consistency(uint64_t m, uint64_t n, const uint8_t root1[TG_MERKLE_HASH],
				  const uint8_t root2[TG_MERKLE_HASH],
				  const uint8_t path[][TG_MERKLE_HASH], unsigned int len);

#endif /* TG_MERKLE_H */
