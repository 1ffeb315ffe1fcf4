/* SPDX-License-Identifier: MIT */
/*
 * tgctl.c — the tollgate CLI. For now the offline audit commands, which
 * read an audit store's LMDB directory directly (read-only) and need
 * nothing of a running appliance:
 *
 *   tgctl audit verify DIR --key PUB.pem [--anchor NOTE]... [-o json]
 *   tgctl audit proof DIR SEQ [--size N] [--key PUB.pem] [-o json]
 *   tgctl audit consistency DIR M N [--key PUB.pem] [-o json]
 *   tgctl audit pubkey DIR|KEYFILE [-o json]
 *
 * Exit status: 0 ok, 1 verification failed, 2 usage or I/O error — so a
 * script can tell "the log is bad" from "the check could not run".
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "audit.h"
#include "merkle.h"
#include "note.h"

#define EXIT_OK 0
#define EXIT_BAD 1
#define EXIT_USAGE 2

#define PROG "tgctl"
#define ANCHORS_MAX 64
#define HEX_HASH (2 * TG_AUDIT_HASH + 1)

static const char usage_text[] =
	"usage: " PROG " audit verify DIR --key PUB.pem [--anchor NOTE]... [-o json]\n"
	"       " PROG " audit proof DIR SEQ [--size N] [--key PUB.pem] [-o json]\n"
	"       " PROG " audit consistency DIR M N [--key PUB.pem] [-o json]\n"
	"       " PROG " audit pubkey DIR|KEYFILE [-o json]\n"
	"\n"
	"  verify       check every record, the hash chain, the Merkle tree and every\n"
	"               signed checkpoint of the audit store in DIR, with only the\n"
	"               public key; --anchor adds a checkpoint note kept elsewhere\n"
	"               (SIEM, witness), which also catches a log cut back to an\n"
	"               earlier checkpoint\n"
	"  proof        inclusion proof of record SEQ in the tree of N records\n"
	"               (default: the latest checkpoint, else the whole log)\n"
	"  consistency  consistency proof between the trees of M and N records\n"
	"  pubkey       the public key of a store (from its metadata) or key file\n"
	"\n"
	"exit status: 0 ok, 1 verification failed, 2 usage or I/O error\n";

struct opts {
	const char *key;
	const char *anchors[ANCHORS_MAX];
	size_t nb_anchors;
	uint64_t size;
	bool json;
	int nargs;
	char **args;
};

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Says what is wrong (fmt may be NULL), then how to call; returns the usage exit status. */
static int
usage(const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		fprintf(stderr, PROG ": ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fprintf(stderr, "\n");
	}
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static bool
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* Options after the verb, in any order with the positional arguments (GNU getopt). */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "anchor", required_argument, NULL, 'a' },
		{ "size", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:a:s:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->key = optarg;
			break;
		case 'a':
			if (o->nb_anchors == ANCHORS_MAX)
				return usage("at most %d anchors", ANCHORS_MAX);
			o->anchors[o->nb_anchors++] = optarg;
			break;
		case 's':
			if (!parse_u64(optarg, &o->size) || o->size == 0)
				return usage("--size %s: not a positive integer", optarg);
			break;
		case 'o':
			if (strcmp(optarg, "json") == 0)
				o->json = true;
			else if (strcmp(optarg, "text") != 0)
				return usage("-o %s: the formats are text and json", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(EXIT_OK);
		default:
			return usage(NULL);
		}
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	return 0;
}

static const char *
hex(const uint8_t *h, size_t len, char *buf)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		buf[2 * i] = digits[h[i] >> 4];
		buf[2 * i + 1] = digits[h[i] & 0xf];
	}
	buf[2 * len] = '\0';
	return buf;
}

static json_t *
json_hex(const uint8_t *h, size_t len)
{
	char buf[2 * TG_MERKLE_PATH_MAX + 1];

	return json_string(hex(h, len, buf));
}

static void
print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(j);
}

static int
load_key(const char *path, uint8_t pub[TG_NOTE_PUB])
{
	char err[256];

	if (tg_note_pubkey_load(path, pub, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return -1;
	}
	return 0;
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (f == NULL) {
		fprintf(stderr, PROG ": open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = calloc(1, 4 * TG_NOTE_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, 4 * TG_NOTE_MAX, f);
	if (ferror(f) || !feof(f)) {
		fprintf(stderr, PROG ": read %s: %s\n", path,
			ferror(f) ? strerror(errno) : "too long for a checkpoint note");
		free(buf);
		buf = NULL;
	} else {
		buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

static struct tg_audit_log *
open_log(const char *dir)
{
	char err[512];
	struct tg_audit_log *l = tg_audit_log_open(dir, err, sizeof(err));

	if (l == NULL)
		fprintf(stderr, PROG ": %s\n", err);
	return l;
}

static const char *
note_status(int rc)
{
	switch (rc) {
	case 1:
		return "not checked (no --key)";
	case 0:
		return "signature ok";
	case -ENOKEY:
		return "no signature by the given key";
	case -EKEYREJECTED:
		return "signature does not verify";
	default:
		return "malformed note";
	}
}

static const char *
note_status_json(int rc)
{
	switch (rc) {
	case 1:
		return "unchecked";
	case 0:
		return "ok";
	case -ENOKEY:
		return "no_signature";
	case -EKEYREJECTED:
		return "invalid";
	default:
		return "malformed";
	}
}

/* ------------------------------------------------------------------ */

static int
cmd_verify(struct opts *o)
{
	char *anchors[ANCHORS_MAX] = { NULL };
	char h1[HEX_HASH], h2[HEX_HASH];
	struct tg_audit_report rep;
	uint8_t pub[TG_NOTE_PUB];
	struct tg_audit_log *l;
	int rc, ret = EXIT_USAGE;
	size_t i;

	if (o->nargs != 1)
		return usage("audit verify takes one directory");
	if (o->key == NULL)
		return usage("audit verify needs the public key: --key PUB.pem");
	if (load_key(o->key, pub) < 0)
		return EXIT_USAGE;
	for (i = 0; i < o->nb_anchors; i++)
		if ((anchors[i] = read_file(o->anchors[i])) == NULL)
			goto out;
	if ((l = open_log(o->args[0])) == NULL)
		goto out;
	rc = tg_audit_log_verify(l, pub, (const char *const *)anchors, o->nb_anchors, &rep);
	tg_audit_log_close(l);
	if (rc < 0) {
		fprintf(stderr, PROG ": %s\n", rep.detail);
		goto out;
	}
	if (o->json) {
		json_t *j = json_pack("{s:b, s:s}", "ok", rep.ok, "origin", rep.origin);

		if (rep.ok) {
			json_object_set_new(j, "records", json_integer((json_int_t)rep.records));
			json_object_set_new(j, "checkpoints",
					    json_integer((json_int_t)rep.checkpoints));
			json_object_set_new(j, "last_checkpoint",
					    json_integer((json_int_t)rep.last_checkpoint));
			json_object_set_new(
				j, "unsigned",
				json_integer((json_int_t)(rep.records - rep.last_checkpoint)));
			json_object_set_new(j, "anchors", json_integer((json_int_t)rep.anchors));
			json_object_set_new(j, "chain_head",
					    json_hex(rep.chain_head, TG_AUDIT_HASH));
			json_object_set_new(j, "root", json_hex(rep.root, TG_AUDIT_HASH));
		} else {
			json_object_set_new(j, "index", json_integer((json_int_t)rep.index));
			json_object_set_new(j, "fault",
					    json_string(tg_audit_fault_names[rep.fault]));
			json_object_set_new(j, "detail", json_string(rep.detail));
			json_object_set_new(j, "records_checked",
					    json_integer((json_int_t)rep.records));
		}
		print_json(j);
	} else if (rep.ok) {
		printf("ok: %" PRIu64 " records, %" PRIu64 " checkpoints, chain head %s, root %s\n",
		       rep.records, rep.checkpoints, hex(rep.chain_head, TG_AUDIT_HASH, h1),
		       hex(rep.root, TG_AUDIT_HASH, h2));
		if (rep.anchors > 0)
			printf("ok: %" PRIu64 " anchored checkpoints match\n", rep.anchors);
		if (rep.records > rep.last_checkpoint)
			printf("note: records %" PRIu64 "..%" PRIu64
			       " follow the last checkpoint and are not signed yet\n",
			       rep.last_checkpoint, rep.records - 1);
	} else {
		printf("FAIL at record %" PRIu64 ": %s\n", rep.index, rep.detail);
	}
	ret = rep.ok ? EXIT_OK : EXIT_BAD;
out:
	for (i = 0; i < o->nb_anchors; i++)
		free(anchors[i]);
	return ret;
}

static json_t *
json_path(const uint8_t path[][TG_AUDIT_HASH], unsigned int len)
{
	json_t *a = json_array();

	for (unsigned int i = 0; i < len; i++)
		json_array_append_new(a, json_hex(path[i], TG_AUDIT_HASH));
	return a;
}

static void
print_path(const uint8_t path[][TG_AUDIT_HASH], unsigned int len)
{
	char h[HEX_HASH];

	printf("path:   %u hashes, leaf to root\n", len);
	for (unsigned int i = 0; i < len; i++)
		printf("  %2u  %s\n", i, hex(path[i], TG_AUDIT_HASH, h));
}

static int
cmd_proof(struct opts *o)
{
	struct tg_audit_inclusion *p;
	uint8_t pub[TG_NOTE_PUB];
	struct tg_audit_log *l;
	char err[512], h[HEX_HASH];
	uint64_t seq;
	bool ok;
	int rc;

	if (o->nargs != 2 || !parse_u64(o->args[1], &seq))
		return usage("audit proof takes a directory and a record number");
	if (o->key != NULL && load_key(o->key, pub) < 0)
		return EXIT_USAGE;
	p = malloc(sizeof(*p));
	if (p == NULL || (l = open_log(o->args[0])) == NULL) {
		free(p);
		return EXIT_USAGE;
	}
	rc = tg_audit_log_inclusion(l, seq, o->size, o->key ? pub : NULL, p, err, sizeof(err));
	tg_audit_log_close(l);
	if (rc < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		free(p);
		return rc == -EBADMSG ? EXIT_BAD : EXIT_USAGE;
	}
	/* a checked note must verify; an unchecked one (no --key) is reported as such */
	ok = p->verified && (!p->checkpoint || p->note_rc == 0 || p->note_rc == 1);
	if (o->json) {
		json_t *j = json_pack("{s:b, s:I, s:I, s:o, s:o, s:b, s:o, s:s%}", "ok", ok, "seq",
				      (json_int_t)p->seq, "size", (json_int_t)p->size, "leaf",
				      json_hex(p->leaf, TG_AUDIT_HASH), "root",
				      json_hex(p->root, TG_AUDIT_HASH), "checkpoint", p->checkpoint,
				      "path",
				      json_path((const uint8_t(*)[TG_AUDIT_HASH])p->path, p->len),
				      "record", p->record, p->record_len);

		if (p->checkpoint) {
			json_object_set_new(j, "signature",
					    json_string(note_status_json(p->note_rc)));
			json_object_set_new(j, "note", json_stringn(p->note, p->note_len));
		}
		json_object_set_new(j, "verified", json_boolean(p->verified));
		print_json(j);
	} else {
		printf("record: %" PRIu64 "  %.*s\n", p->seq, (int)p->record_len, p->record);
		printf("leaf:   %s\n", hex(p->leaf, TG_AUDIT_HASH, h));
		printf("tree:   %" PRIu64 " records, %s\n", p->size,
		       p->checkpoint ? note_status(p->note_rc)
				     : "no checkpoint at this size: root from the stored nodes");
		printf("root:   %s\n", hex(p->root, TG_AUDIT_HASH, h));
		print_path((const uint8_t(*)[TG_AUDIT_HASH])p->path, p->len);
		if (p->checkpoint)
			printf("checkpoint:\n%.*s", (int)p->note_len, p->note);
		if (ok)
			printf("ok: record %" PRIu64 " is included in the tree of %" PRIu64
			       " records\n",
			       p->seq, p->size);
		else if (!p->verified)
			printf("FAIL: the inclusion proof of record %" PRIu64 " does not verify\n",
			       p->seq);
		else
			printf("FAIL: the checkpoint for size %" PRIu64 ": %s\n", p->size,
			       note_status(p->note_rc));
	}
	tg_audit_inclusion_release(p);
	free(p);
	return ok ? EXIT_OK : EXIT_BAD;
}

static int
cmd_consistency(struct opts *o)
{
	struct tg_audit_consistency *p;
	uint8_t pub[TG_NOTE_PUB];
	struct tg_audit_log *l;
	char err[512], h[HEX_HASH];
	uint64_t m, n;
	bool ok;
	int rc;

	if (o->nargs != 3 || !parse_u64(o->args[1], &m) || !parse_u64(o->args[2], &n))
		return usage("audit consistency takes a directory and two sizes");
	if (o->key != NULL && load_key(o->key, pub) < 0)
		return EXIT_USAGE;
	p = malloc(sizeof(*p));
	if (p == NULL || (l = open_log(o->args[0])) == NULL) {
		free(p);
		return EXIT_USAGE;
	}
	rc = tg_audit_log_consistency(l, m, n, o->key ? pub : NULL, p, err, sizeof(err));
	tg_audit_log_close(l);
	if (rc < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		free(p);
		return rc == -EBADMSG ? EXIT_BAD : EXIT_USAGE;
	}
	/* a checked note must verify; an unchecked one (no --key) is reported as such */
	ok = p->verified && (!p->checkpoint1 || p->note1_rc == 0 || p->note1_rc == 1) &&
	     (!p->checkpoint2 || p->note2_rc == 0 || p->note2_rc == 1);
	if (o->json) {
		json_t *j = json_pack("{s:b, s:I, s:I, s:o, s:o, s:b, s:b, s:o, s:b}", "ok", ok,
				      "m", (json_int_t)p->m, "n", (json_int_t)p->n, "root1",
				      json_hex(p->root1, TG_AUDIT_HASH), "root2",
				      json_hex(p->root2, TG_AUDIT_HASH), "checkpoint1",
				      p->checkpoint1, "checkpoint2", p->checkpoint2, "path",
				      json_path((const uint8_t(*)[TG_AUDIT_HASH])p->path, p->len),
				      "verified", p->verified);

		if (p->checkpoint1)
			json_object_set_new(j, "signature1",
					    json_string(note_status_json(p->note1_rc)));
		if (p->checkpoint2)
			json_object_set_new(j, "signature2",
					    json_string(note_status_json(p->note2_rc)));
		print_json(j);
	} else {
		printf("tree %" PRIu64 ": root %s, %s\n", p->m, hex(p->root1, TG_AUDIT_HASH, h),
		       p->checkpoint1 ? note_status(p->note1_rc) : "not a checkpoint");
		printf("tree %" PRIu64 ": root %s, %s\n", p->n, hex(p->root2, TG_AUDIT_HASH, h),
		       p->checkpoint2 ? note_status(p->note2_rc) : "not a checkpoint");
		print_path((const uint8_t(*)[TG_AUDIT_HASH])p->path, p->len);
		if (ok)
			printf("ok: the tree of %" PRIu64
			       " records is a prefix of the tree of %" PRIu64 "\n",
			       p->m, p->n);
		else if (!p->verified)
			printf("FAIL: the consistency proof %" PRIu64 " -> %" PRIu64
			       " does not verify\n",
			       p->m, p->n);
		else
			printf("FAIL: a checkpoint is not signed by the given key\n");
	}
	free(p);
	return ok ? EXIT_OK : EXIT_BAD;
}

static int
cmd_pubkey(struct opts *o)
{
	char *pem = NULL, b64[64], vkey_b64[64], id_hex[2 * TG_NOTE_KEY_ID + 1], err[512];
	uint8_t pub[TG_NOTE_PUB], typed[1 + TG_NOTE_PUB], id[TG_NOTE_KEY_ID];
	struct tg_audit_info info;
	bool from_store = false;
	struct stat st;

	if (o->nargs != 1)
		return usage("audit pubkey takes a store directory or a key file");
	if (stat(o->args[0], &st) < 0) {
		fprintf(stderr, PROG ": %s: %s\n", o->args[0], strerror(errno));
		return EXIT_USAGE;
	}
	if (S_ISDIR(st.st_mode)) {
		struct tg_audit_log *l = open_log(o->args[0]);
		int rc;

		if (l == NULL)
			return EXIT_USAGE;
		rc = tg_audit_log_info(l, &info, err, sizeof(err));
		tg_audit_log_close(l);
		if (rc < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return EXIT_USAGE;
		}
		memcpy(pub, info.pubkey, TG_NOTE_PUB);
		from_store = true;
	} else if (load_key(o->args[0], pub) < 0) {
		return EXIT_USAGE;
	}
	if (tg_note_pubkey_pem(pub, &pem) < 0) {
		fprintf(stderr, PROG ": %s: no valid Ed25519 public key\n", o->args[0]);
		return EXIT_USAGE;
	}
	tg_note_b64_encode(pub, TG_NOTE_PUB, b64, sizeof(b64));
	typed[0] = 0x01; /* C2SP signed-note: Ed25519 */
	memcpy(typed + 1, pub, TG_NOTE_PUB);
	tg_note_b64_encode(typed, sizeof(typed), vkey_b64, sizeof(vkey_b64));
	if (from_store) {
		tg_note_key_id(info.origin, pub, id);
		hex(id, TG_NOTE_KEY_ID, id_hex);
	}
	if (o->json) {
		json_t *j = json_pack("{s:s, s:s}", "pem", pem, "ed25519", b64);

		if (from_store) {
			json_object_set_new(j, "origin", json_string(info.origin));
			json_object_set_new(j, "key_id", json_string(id_hex));
			json_object_set_new(
				j, "vkey", json_sprintf("%s+%s+%s", info.origin, id_hex, vkey_b64));
		}
		print_json(j);
	} else {
		/* PEM readers stop at the END line: the comments below keep the file usable */
		printf("%s", pem);
		printf("# ed25519 public key (raw, base64): %s\n", b64);
		if (from_store) {
			printf("# key id for %s: %s\n", info.origin, id_hex);
			printf("# note verifier key: %s+%s+%s\n", info.origin, id_hex, vkey_b64);
			printf("# read from the store's metadata: pin the key from the key file or "
			       "a "
			       "trusted copy\n");
		}
	}
	if (from_store && memcmp(id, info.key_id, TG_NOTE_KEY_ID) != 0)
		fprintf(stderr, PROG ": warning: the store's key id does not match its public "
				     "key; its metadata was altered\n");
	free(pem);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct opts *o);
	} cmds[] = {
		{ "verify", cmd_verify },
		{ "proof", cmd_proof },
		{ "consistency", cmd_consistency },
		{ "pubkey", cmd_pubkey },
	};
	struct opts o;
	int rc;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (argc < 3 || strcmp(argv[1], "audit") != 0)
		return usage(NULL);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[2], cmds[i].name) != 0)
			continue;
		if ((rc = parse_opts(argc - 2, argv + 2, &o)) != 0)
			return rc;
		return cmds[i].fn(&o);
	}
	return usage("unknown command: audit %s", argv[2]);
}
