/* SPDX-License-Identifier: MIT */
/*
 * tgctl.c — the tollgate CLI (man page: tgctl.8).
 *
 * Online commands talk to a running tollgate-slowpath over its management
 * socket (mgmt/api.h: newline-delimited JSON over a Unix stream socket);
 * each is one request, or a subscription, through request() below, and
 * the slowpath does the work and the checks (one function per action,
 * shared by every client):
 *
 *   tgctl [-s PATH] [-o text|json] [-t SEC] ping
 *   tgctl ... status
 *   tgctl ... watch [-n N]
 *   tgctl ... methods
 *   tgctl ... call METHOD [PARAMS|-]
 *
 * Offline commands read an audit store's LMDB directory directly
 * (read-only) and need nothing of a running appliance:
 *
 *   tgctl audit verify DIR --key PUB.pem [--anchor NOTE]... [-o json]
 *   tgctl audit proof DIR SEQ [--size N] [--key PUB.pem] [-o json]
 *   tgctl audit consistency DIR M N [--key PUB.pem] [-o json]
 *   tgctl audit pubkey DIR|KEYFILE [-o json]
 *
 * Exit status: 0 ok; 1 the answer is no (an error from the server, a
 * verification that failed); 2 usage or I/O error; 3 the server could not
 * be reached (connect, connection lost, timeout) — so a script can tell
 * "refused" from "the log is bad" from "could not ask".
 *
 * Text output is for people: tables and sections, with control characters
 * of the server's strings (statements, names) escaped so that nothing
 * from the network reaches the terminal raw. -o json is for scripts: the
 * method's result as the server sent it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "api.h"
#include "audit.h"
#include "merkle.h"
#include "note.h"

#define EXIT_OK 0
#define EXIT_BAD 1
#define EXIT_USAGE 2
#define EXIT_CONN 3

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

/* The help of the command being run: the audit commands', or an online command's. */
static const char *usage_current = usage_text;

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
	fputs(usage_current, stderr);
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

/* ------------------------------------------------------------------ */
/* Online commands: the management API (mgmt/api.h)                    */

#define TIMEOUT_DEFAULT 10 /* seconds for an answer */
#define STDIN_PARAMS_MAX TG_MGMT_REQUEST_MAX

static const char main_usage_text[] =
	"usage: " PROG " [-s PATH] [-o text|json] [-t SEC] COMMAND [ARGS]\n"
	"\n"
	"Commands on a running tollgate-slowpath, through its management socket:\n"
	"  ping                  check that it answers, and how fast\n"
	"  status                versions, uptime, policy, dataplane link, ports\n"
	"  stats                 the slowpath's counters and the API's\n"
	"  policy show|reload    the running policy; read, compile and push the file\n"
	"  watch [-n N]          stream events (audit records) as they happen\n"
	"  methods               who you are to it, and what you may call\n"
	"  call METHOD [PARAMS]  call any method; PARAMS is a JSON object, or - to\n"
	"                        read it from stdin\n"
	"\n"
	"Offline commands on an audit store's files (no slowpath needed):\n"
	"  audit verify DIR --key PUB.pem [--anchor NOTE]...\n"
	"  audit proof DIR SEQ [--size N] [--key PUB.pem]\n"
	"  audit consistency DIR M N [--key PUB.pem]\n"
	"  audit pubkey DIR|KEYFILE\n"
	"\n"
	"Options (before the command, or after an online command):\n"
	"  -s, --socket PATH   management socket (default " TG_MGMT_SOCKET_DEFAULT ")\n"
	"  -o, --output FMT    text (default) or json\n"
	"  -t, --timeout SEC   wait at most SEC seconds for an answer (default 10)\n"
	"  -h, --help          this text; COMMAND --help for a command's own\n"
	"\n"
	"exit status: 0 ok; 1 the server answered with an error (audit: verification\n"
	"failed); 2 usage or I/O error; 3 cannot reach the server (connect, connection\n"
	"lost, timeout)\n";

static const char ping_usage[] =
	"usage: " PROG " ping [-s PATH] [-o json] [-t SEC]\n"
	"\n"
	"Checks that tollgate-slowpath answers on its management socket and says how\n"
	"long the round trip took. Anyone who can connect may ping.\n";

static const char status_usage[] =
	"usage: " PROG " status [-s PATH] [-o json] [-t SEC]\n"
	"\n"
	"The appliance at a glance: software versions, uptime, policy generation, the\n"
	"dataplane's link to the slowpath, ports, the audit store. Text output is a\n"
	"section per subsystem and a table of ports; -o json prints the result of the\n"
	"\"status\" method as is. Needs any role (admin, approver or auditor).\n";

static const char stats_usage[] =
	"usage: " PROG " stats [-s PATH] [-o json] [-t SEC]\n"
	"\n"
	"The slowpath's counters (events, records, commits, policy loads and pushes,\n"
	"disconnects by reason) and the management API's. Needs any role.\n";

static const char policy_usage[] =
	"usage: " PROG " policy show|reload [-s PATH] [-o json] [-t SEC]\n"
	"\n"
	"show    the running generation: number, file, SHA-256, when it was loaded, the\n"
	"        generation the dataplane applied, and the policy itself. Any role.\n"
	"reload  read the policy file again, validate it against the dataplane's\n"
	"        services, compile it and push it as a new generation (an unchanged\n"
	"        file keeps the running one). A file that does not load is refused\n"
	"        with file:line:column and the running generation stays (exit 1).\n"
	"        Admin only; recorded in the audit log with your identity.\n";

static const char watch_usage[] =
	"usage: " PROG " watch [-n N] [-s PATH] [-o json] [-t SEC]\n"
	"\n"
	"Subscribes to the event stream and prints one line per event as it happens\n"
	"(audit records: sessions, statements, decisions, checkpoints) until\n"
	"interrupted; -n N stops after N events. -o json prints each event as one JSON\n"
	"line, for jq or a log shipper. A watcher that does not keep up is dropped by\n"
	"the server (exit 1, \"too_slow\"). Needs the auditor role (or admin).\n";

static const char methods_usage[] =
	"usage: " PROG " methods [-s PATH] [-o json] [-t SEC]\n"
	"\n"
	"Who the server takes you for (uid, user, roles from your Unix groups) and the\n"
	"methods you may call, with the roles each needs.\n";

static const char call_usage[] =
	"usage: " PROG " call METHOD [PARAMS|-] [-s PATH] [-o json] [-t SEC]\n"
	"\n"
	"Calls any method of the management API and prints its result as JSON\n"
	"(indented; compact with -o json). PARAMS is a JSON object, e.g.\n"
	"'{\"limit\": 10}'; - reads it from stdin. For scripts: the exit status says\n"
	"whether the call succeeded, and with -o json an error is printed to stdout\n"
	"as {\"error\": {\"code\": ..., \"message\": ...}} as well.\n";

struct copts {
	const char *socket;
	bool json;
	int timeout_ms;
	long count; /* watch -n; 0: forever */
	int nargs;
	char **args;
};

/* One connection to the server, with what was read past the last line. */
struct conn {
	int fd;
	const char *path;
	int timeout_ms;
	char *buf;
	size_t len, cap;
	json_int_t next_id;
};

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static int
conn_open(struct conn *c, const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->path = path;
	c->timeout_ms = timeout_ms;
	c->next_id = 1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, PROG ": socket path %s: longer than %zu bytes\n", path,
			sizeof(sa.sun_path) - 1);
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		fprintf(stderr, PROG ": cannot connect to %s: %s%s\n", path, strerror(e),
			e == ENOENT || e == ECONNREFUSED
				? " (is tollgate-slowpath running? -s names another socket)"
			: e == EACCES ? " (are you in the socket's group?)"
				      : "");
		conn_close(c);
		return EXIT_CONN;
	}
	return EXIT_OK;
}

/* Sends one request; its id is returned in *id. */
static int
conn_send(struct conn *c, const char *method, json_t *params, json_int_t *id)
{
	json_t *req;
	char *line;
	size_t len, off = 0;
	ssize_t n;

	*id = c->next_id++;
	req = json_pack("{s:I, s:s, s:O}", "id", *id, "method", method, "params", params);
	line = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (line == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return EXIT_USAGE;
	}
	len = strlen(line);
	line[len++] = '\n';
	while (off < len) {
		n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break; /* EPIPE: the server may have answered (too_large); read that */
		off += (size_t)n;
	}
	free(line);
	return EXIT_OK;
}

/*
 * The next line from the server as a JSON object. timeout_ms < 0 waits
 * forever (watch). Returns EXIT_OK, or EXIT_CONN when the connection ends
 * or nothing comes in time.
 */
static int
conn_recv(struct conn *c, int timeout_ms, json_t **msg)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	json_error_t jerr;
	char *nl;
	ssize_t n;
	int rc;

	*msg = NULL;
	for (;;) {
		nl = c->buf ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl != NULL) {
			size_t l = (size_t)(nl - c->buf);

			*msg = json_loadb(c->buf, l, JSON_REJECT_DUPLICATES, &jerr);
			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			if (*msg == NULL || !json_is_object(*msg)) {
				fprintf(stderr,
					PROG ": %s: not a JSON object from the server: %s\n",
					c->path, jerr.text);
				json_decref(*msg);
				*msg = NULL;
				return EXIT_CONN;
			}
			return EXIT_OK;
		}
		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? 2 * c->cap : 65536;
			char *b = realloc(c->buf, cap);

			if (b == NULL) {
				fprintf(stderr, PROG ": out of memory\n");
				return EXIT_CONN;
			}
			c->buf = b;
			c->cap = cap;
		}
		rc = poll(&p, 1, timeout_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0) {
			fprintf(stderr, PROG ": %s: no answer within %d s\n", c->path,
				timeout_ms / 1000);
			return EXIT_CONN;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, PROG ": %s: the server closed the connection%s%s\n",
				c->path, n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			return EXIT_CONN;
		}
		c->len += (size_t)n;
	}
}

/*
 * Prints the error of a response (stderr; with -o json also stdout, for
 * scripts) and returns EXIT_BAD.
 */
static int
report_error(const char *method, const json_t *resp, bool json)
{
	const json_t *e = json_object_get(resp, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));

	fprintf(stderr, PROG ": %s: %s: %s\n", method, code ? code : "error", msg ? msg : "");
	if (json)
		print_json(json_pack("{s:O}", "error", (json_t *)e));
	return EXIT_BAD;
}

/*
 * One call on an open connection: sends it and waits for its response,
 * skipping event lines. On success *result is a new reference.
 */
static int
conn_call(struct conn *c, const char *method, json_t *params, bool json, json_t **result)
{
	json_int_t id;
	json_t *resp, *rid;
	int rc;

	*result = NULL;
	if ((rc = conn_send(c, method, params, &id)) != EXIT_OK)
		return rc;
	for (;;) {
		if ((rc = conn_recv(c, c->timeout_ms, &resp)) != EXIT_OK)
			return rc;
		if (json_object_get(resp, "event") != NULL) {
			json_decref(resp);
			continue;
		}
		rid = json_object_get(resp, "id");
		/* id null: the server refused the line or is closing the connection */
		if (!json_is_null(rid) &&
		    !(json_is_integer(rid) && json_integer_value(rid) == id)) {
			fprintf(stderr, PROG ": %s: a response to another request\n", c->path);
			json_decref(resp);
			return EXIT_CONN;
		}
		if (json_object_get(resp, "error") != NULL) {
			rc = report_error(method, resp, json);
			json_decref(resp);
			return rc;
		}
		*result = json_incref(json_object_get(resp, "result"));
		json_decref(resp);
		if (*result == NULL) {
			fprintf(stderr, PROG ": %s: a response with neither result nor error\n",
				c->path);
			return EXIT_CONN;
		}
		return EXIT_OK;
	}
}

/* The generic request: connect, call, close. */
static int
request(const struct copts *co, const char *method, json_t *params, json_t **result)
{
	struct conn c;
	int rc;

	if ((rc = conn_open(&c, co->socket, co->timeout_ms)) != EXIT_OK)
		return rc;
	rc = conn_call(&c, method, params, co->json, result);
	conn_close(&c);
	return rc;
}

/* ---- text output ------------------------------------------------- */

/* A string from the server, with control characters escaped. */
static void
put_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
}

/* A scalar as text, into buf (arrays of scalars joined with ","). */
static void
scalar_text(const json_t *v, char *buf, size_t size)
{
	size_t n = 0, i;
	json_t *e;

	switch (json_typeof(v)) {
	case JSON_STRING:
		snprintf(buf, size, "%s", json_string_value(v));
		break;
	case JSON_INTEGER:
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(buf, size, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		snprintf(buf, size, "yes");
		break;
	case JSON_FALSE:
		snprintf(buf, size, "no");
		break;
	case JSON_ARRAY:
		buf[0] = '\0';
		json_array_foreach(v, i, e) {
			char one[256];
			int k;

			scalar_text(e, one, sizeof(one));
			k = snprintf(buf + n, size - n, "%s%s", i ? "," : "", one);
			if (k < 0 || (size_t)k >= size - n)
				break;
			n += (size_t)k;
		}
		if (json_array_size(v) == 0)
			snprintf(buf, size, "-");
		break;
	case JSON_OBJECT:
		snprintf(buf, size, "{...}");
		break;
	default:
		snprintf(buf, size, "-");
		break;
	}
}

static bool
is_table(const json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return false;
	json_array_foreach(v, i, e)
		if (!json_is_object(e))
			return false;
	return true;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* "1d 2h 3m 4s" */
static void
duration_text(json_int_t s, char *buf, size_t size)
{
	if (s >= 86400)
		snprintf(buf, size, "%lldd %lldh %lldm %llds", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600), (long long)(s % 3600 / 60),
			 (long long)(s % 60));
	else if (s >= 3600)
		snprintf(buf, size, "%lldh %lldm %llds", (long long)(s / 3600),
			 (long long)(s % 3600 / 60), (long long)(s % 60));
	else if (s >= 60)
		snprintf(buf, size, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(buf, size, "%llds", (long long)s);
}

/* Column headers: the keys of all rows, in the order first seen. */
static size_t
table_columns(const json_t *rows, const char **cols, size_t max)
{
	size_t n = 0, i, k;
	const char *key;
	json_t *row, *v;

	json_array_foreach(rows, i, row) {
		json_object_foreach((json_t *)row, key, v) {
			for (k = 0; k < n && strcmp(cols[k], key) != 0; k++)
				;
			if (k == n && n < max)
				cols[n++] = key;
		}
	}
	return n;
}

static void
print_table(const json_t *rows, int indent)
{
	const char *cols[32];
	size_t w[32], ncols, i, k, l;
	char cell[256];
	json_t *row;

	ncols = table_columns(rows, cols, 32);
	for (k = 0; k < ncols; k++) {
		w[k] = strlen(cols[k]);
		json_array_foreach(rows, i, row) {
			const json_t *v = json_object_get(row, cols[k]);

			scalar_text(v ? v : json_null(), cell, sizeof(cell));
			if ((l = strlen(cell)) > w[k])
				w[k] = l;
		}
	}
	printf("%*s", indent, "");
	for (k = 0; k < ncols; k++) {
		for (const char *c = cols[k]; *c; c++)
			putchar(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
		printf("%*s", k + 1 < ncols ? (int)(w[k] - strlen(cols[k]) + 2) : 0, "");
	}
	putchar('\n');
	json_array_foreach(rows, i, row) {
		printf("%*s", indent, "");
		for (k = 0; k < ncols; k++) {
			const json_t *v = json_object_get(row, cols[k]);

			scalar_text(v ? v : json_null(), cell, sizeof(cell));
			put_text(stdout, cell);
			if (k + 1 < ncols)
				printf("%*s", (int)(w[k] - strlen(cell) + 2), "");
		}
		putchar('\n');
	}
}

/*
 * An object for people: its scalars as aligned "key  value" lines, then
 * each object member as an indented section, each array of objects as a
 * table.
 */
static void
print_object(const json_t *o, int indent)
{
	size_t width = 0;
	const char *key;
	char text[1024], dur[64];
	json_t *v;

	json_object_foreach((json_t *)o, key, v)
		if (!json_is_object(v) && !is_table(v) && strlen(key) > width)
			width = strlen(key);
	json_object_foreach((json_t *)o, key, v) {
		if (json_is_object(v) || is_table(v))
			continue;
		scalar_text(v, text, sizeof(text));
		printf("%*s%-*s  ", indent, "", (int)width, key);
		put_text(stdout, text);
		if (json_is_integer(v) && ends_with(key, "_s") && json_integer_value(v) >= 60) {
			duration_text(json_integer_value(v), dur, sizeof(dur));
			printf(" (%s)", dur);
		}
		putchar('\n');
	}
	json_object_foreach((json_t *)o, key, v) {
		if (!json_is_object(v) && !is_table(v))
			continue;
		printf("\n%*s%s\n", indent, "", key);
		if (json_is_object(v))
			print_object(v, indent + 2);
		else
			print_table(v, indent + 2);
	}
}

/* ---- the commands ------------------------------------------------ */

static double
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int
cmd_ping(struct copts *co)
{
	struct timespec t0;
	json_t *params = json_object(), *res;
	const char *software;
	int rc;

	if (co->nargs != 0)
		return usage("ping takes no arguments");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = request(co, TG_MGMT_M_PING, params, &res);
	json_decref(params);
	if (rc != EXIT_OK)
		return rc;
	if (co->json) {
		print_json(res);
		return EXIT_OK;
	}
	software = json_string_value(json_object_get(res, "software"));
	printf("pong from %s in %.2f ms\n", software && *software ? software : co->socket,
	       elapsed_ms(&t0));
	json_decref(res);
	return EXIT_OK;
}

/* Calls method with no params and prints the result: sections and tables, or JSON. */
static int
show(struct copts *co, const char *method)
{
	json_t *params = json_object(), *res;
	int rc;

	rc = request(co, method, params, &res);
	json_decref(params);
	if (rc != EXIT_OK)
		return rc;
	if (co->json) {
		print_json(res);
		return EXIT_OK;
	}
	if (json_is_object(res))
		print_object(res, 0);
	else
		print_json(json_incref(res));
	json_decref(res);
	return EXIT_OK;
}

static int
cmd_status(struct copts *co)
{
	if (co->nargs != 0)
		return usage("status takes no arguments");
	return show(co, TG_MGMT_M_STATUS);
}

static int
cmd_stats(struct copts *co)
{
	if (co->nargs != 0)
		return usage("stats takes no arguments");
	return show(co, "stats");
}

static int
cmd_policy(struct copts *co)
{
	if (co->nargs != 1)
		return usage("policy takes one of: show, reload");
	if (strcmp(co->args[0], "show") == 0)
		return show(co, "policy.show");
	if (strcmp(co->args[0], "reload") == 0)
		return show(co, "policy.reload");
	return usage("unknown policy command: %s (show, reload)", co->args[0]);
}

static int
cmd_methods(struct copts *co)
{
	json_t *params = json_object(), *res, *peer, *list, *m;
	char roles[128];
	size_t i;
	int rc;

	if (co->nargs != 0)
		return usage("methods takes no arguments");
	rc = request(co, TG_MGMT_M_METHODS, params, &res);
	json_decref(params);
	if (rc != EXIT_OK)
		return rc;
	if (co->json) {
		print_json(res);
		return EXIT_OK;
	}
	peer = json_object_get(res, "peer");
	list = json_object_get(res, "methods");
	scalar_text(json_object_get(peer, "roles"), roles, sizeof(roles));
	printf("you are uid %" JSON_INTEGER_FORMAT " (",
	       json_integer_value(json_object_get(peer, "uid")));
	put_text(stdout, json_string_length(json_object_get(peer, "user"))
				 ? json_string_value(json_object_get(peer, "user"))
				 : "no user name");
	printf("), roles: %s\n\n", strcmp(roles, "-") == 0 ? "none" : roles);
	/* "roles": [] means anyone, all three any role: say so */
	json_array_foreach(list, i, m) {
		json_t *r = json_object_get(m, "roles");

		if (json_is_array(r) && json_array_size(r) == 0)
			json_object_set_new(m, "roles", json_string("anyone"));
		else if (json_is_array(r) && json_array_size(r) == TG_MGMT_ROLE_BIT_MAX)
			json_object_set_new(m, "roles", json_string("any role"));
	}
	if (is_table(list))
		print_table(list, 0);
	json_decref(res);
	return EXIT_OK;
}

static int
read_stdin(char **out)
{
	char *buf = malloc(STDIN_PARAMS_MAX + 1);
	size_t n;

	if (buf == NULL)
		return -ENOMEM;
	n = fread(buf, 1, STDIN_PARAMS_MAX + 1, stdin);
	if (ferror(stdin) || n > STDIN_PARAMS_MAX) {
		free(buf);
		return ferror(stdin) ? -EIO : -EMSGSIZE;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

static int
cmd_call(struct copts *co)
{
	json_error_t jerr;
	json_t *params, *res;
	char *text = NULL;
	const char *method;
	int rc;

	if (co->nargs < 1 || co->nargs > 2)
		return usage("call takes a method and optional params");
	method = co->args[0];
	if (co->nargs == 2 && strcmp(co->args[1], "-") == 0) {
		if (read_stdin(&text) < 0) {
			fprintf(stderr, PROG ": read params from stdin: %s\n",
				ferror(stdin) ? strerror(errno) : "more than 64 KiB");
			return EXIT_USAGE;
		}
	}
	params = co->nargs == 2
			 ? json_loads(text ? text : co->args[1], JSON_REJECT_DUPLICATES, &jerr)
			 : json_object();
	free(text);
	if (params == NULL || !json_is_object(params)) {
		json_decref(params);
		return usage("call %s: params must be a JSON object%s%s", method,
			     params == NULL ? ": " : "", params == NULL ? jerr.text : "");
	}
	rc = request(co, method, params, &res);
	json_decref(params);
	if (rc != EXIT_OK)
		return rc;
	if (co->json) {
		char *s = json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY);

		if (s != NULL)
			printf("%s\n", s);
		free(s);
		json_decref(res);
	} else {
		char *s = json_dumps(res, JSON_INDENT(2) | JSON_ENCODE_ANY);

		if (s != NULL)
			printf("%s\n", s);
		free(s);
		json_decref(res);
	}
	return EXIT_OK;
}

/* key=value for each scalar leaf of v, under prefix, minus the ones printed first. */
static void
print_flat(const char *prefix, const json_t *v, bool *first)
{
	static const char *const skip[] = { "ts",	  "schema_v",	"origin",
					    "prev_chain", "event.type", "outcome" };
	char key[256], text[1024];
	const char *k;
	json_t *e;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, e) {
			snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k);
			print_flat(key, e, first);
		}
		return;
	}
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strcmp(prefix, skip[i]) == 0)
			return;
	if (json_is_string(v) &&
	    (strpbrk(json_string_value(v), " \"=") != NULL || json_string_length(v) == 0)) {
		/* quoted as JSON, so that the line splits back into its fields */
		char *q = json_dumps(v, JSON_ENCODE_ANY);

		snprintf(text, sizeof(text), "%s", q ? q : "?");
		free(q);
	} else {
		scalar_text(v, text, sizeof(text));
	}
	printf("%s", *first ? "" : " ");
	put_text(stdout, prefix);
	putchar('=');
	put_text(stdout, text);
	*first = false;
}

/* One event for people: "TS  TYPE  OUTCOME  key=value ..." */
static void
print_event(const json_t *ev)
{
	const char *ts = json_string_value(json_object_get(ev, "ts"));
	const char *type = json_string_value(json_object_get(json_object_get(ev, "event"), "type"));
	const char *outcome = json_string_value(json_object_get(ev, "outcome"));
	bool first = true;

	if (ts != NULL) {
		put_text(stdout, ts);
		fputs("  ", stdout);
	}
	put_text(stdout, type ? type : "event");
	fputs("  ", stdout);
	if (outcome != NULL) {
		put_text(stdout, outcome);
		fputs("  ", stdout);
	}
	if (json_is_object(ev))
		print_flat("", ev, &first);
	putchar('\n');
}

static int
cmd_watch(struct copts *co)
{
	json_t *params = json_object(), *res, *msg, *ev;
	struct conn c;
	long seen = 0;
	int rc;

	if (co->nargs != 0) {
		json_decref(params);
		return usage("watch takes no arguments");
	}
	if ((rc = conn_open(&c, co->socket, co->timeout_ms)) != EXIT_OK) {
		json_decref(params);
		return rc;
	}
	rc = conn_call(&c, TG_MGMT_M_WATCH, params, co->json, &res);
	json_decref(params);
	json_decref(res);
	if (rc != EXIT_OK)
		goto out;
	if (!co->json && isatty(STDOUT_FILENO))
		fprintf(stderr, PROG ": watching %s; Ctrl-C to stop\n", co->socket);
	while (co->count == 0 || seen < co->count) {
		if ((rc = conn_recv(&c, -1, &msg)) != EXIT_OK)
			goto out;
		if ((ev = json_object_get(msg, "event")) != NULL) {
			if (co->json) {
				char *s = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY);

				if (s != NULL)
					printf("%s\n", s);
				free(s);
			} else {
				print_event(ev);
			}
			fflush(stdout);
			seen++;
		} else if (json_object_get(msg, "error") != NULL) {
			/* too_slow: the server dropped us */
			rc = report_error(TG_MGMT_M_WATCH, msg, co->json);
			json_decref(msg);
			goto out;
		}
		json_decref(msg);
	}
	rc = EXIT_OK;
out:
	conn_close(&c);
	return rc;
}

static bool
parse_timeout(const char *s, int *ms)
{
	uint64_t v;

	if (!parse_u64(s, &v) || v == 0 || v > 86400)
		return false;
	*ms = (int)v * 1000;
	return true;
}

static int
set_output(const char *fmt, bool *json)
{
	if (strcmp(fmt, "json") == 0)
		*json = true;
	else if (strcmp(fmt, "text") == 0)
		*json = false;
	else
		return usage("-o %s: the formats are text and json", fmt);
	return 0;
}

/*
 * The options before the command, by hand: getopt keeps its ordering mode
 * from the first call, and the audit commands' parse_opts() relies on
 * GNU permutation. Returns the index of the command, or -1 when tgctl is
 * done, with its exit status in *status.
 */
static int
parse_global(int argc, char **argv, struct copts *co, int *status)
{
	int i;

	*status = EXIT_USAGE;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		const char *a = argv[i], *val = NULL;
		char opt = 0;

		if (strcmp(a, "--") == 0)
			return i + 1;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(main_usage_text, stdout);
			*status = EXIT_OK;
			return -1;
		}
		if (strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0)
			opt = 's';
		else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
			opt = 'o';
		else if (strcmp(a, "-t") == 0 || strcmp(a, "--timeout") == 0)
			opt = 't';
		else if (strncmp(a, "--socket=", 9) == 0)
			opt = 's', val = a + 9;
		else if (strncmp(a, "--output=", 9) == 0)
			opt = 'o', val = a + 9;
		else if (strncmp(a, "--timeout=", 10) == 0)
			opt = 't', val = a + 10;
		else if (a[1] == 's' || a[1] == 'o' || a[1] == 't')
			opt = a[1], val = a + 2;
		if (opt == 0) {
			usage("unknown option %s", a);
			return -1;
		}
		if (val == NULL) {
			if (i + 1 >= argc) {
				usage("%s needs an argument", a);
				return -1;
			}
			val = argv[++i];
		}
		if (opt == 's') {
			co->socket = val;
		} else if (opt == 'o') {
			if (set_output(val, &co->json) != 0)
				return -1;
		} else if (!parse_timeout(val, &co->timeout_ms)) {
			usage("--timeout %s: a whole number of seconds, 1..86400", val);
			return -1;
		}
	}
	return i;
}

/* The options of an online command, anywhere among its arguments. */
static int
parse_cmd_opts(int argc, char **argv, const char *help, bool count, struct copts *co)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	optind = 0; /* glibc: start afresh, with GNU permutation */
	opterr = 1;
	while ((c = getopt_long(argc, argv, "s:o:t:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			co->socket = optarg;
			break;
		case 'o':
			if (set_output(optarg, &co->json) != 0)
				return EXIT_USAGE;
			break;
		case 't':
			if (!parse_timeout(optarg, &co->timeout_ms))
				return usage("--timeout %s: a whole number of seconds, 1..86400",
					     optarg);
			break;
		case 'n':
			if (!count)
				return usage("%s: no option -n", argv[0]);
			if (!parse_u64(optarg, &v) || v == 0 || v > LONG_MAX)
				return usage("--count %s: not a positive integer", optarg);
			co->count = (long)v;
			break;
		case 'h':
			fputs(help, stdout);
			exit(EXIT_OK);
		default:
			fputs(help, stderr);
			return EXIT_USAGE;
		}
	}
	co->nargs = argc - optind;
	co->args = argv + optind;
	return 0;
}

static int
audit_main(int argc, char **argv, const struct copts *co)
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

	/* argv[0] is "audit" */
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (argc < 2)
		return usage(NULL);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		if ((rc = parse_opts(argc - 1, argv + 1, &o)) != 0)
			return rc;
		if (co->json)
			o.json = true; /* tgctl -o json audit ... */
		return cmds[i].fn(&o);
	}
	return usage("unknown command: audit %s", argv[1]);
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct copts *co);
		const char *help;
		bool count;
	} cmds[] = {
		{ "ping", cmd_ping, ping_usage, false },
		{ "status", cmd_status, status_usage, false },
		{ "stats", cmd_stats, stats_usage, false },
		{ "policy", cmd_policy, policy_usage, false },
		{ "watch", cmd_watch, watch_usage, true },
		{ "methods", cmd_methods, methods_usage, false },
		{ "call", cmd_call, call_usage, false },
	};
	struct copts co = {
		.socket = TG_MGMT_SOCKET_DEFAULT,
		.timeout_ms = TIMEOUT_DEFAULT * 1000,
	};
	int i, rc;

	usage_current = main_usage_text;
	if ((i = parse_global(argc, argv, &co, &rc)) < 0)
		return rc;
	if (i >= argc) {
		fputs(main_usage_text, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[i], "audit") == 0) {
		usage_current = usage_text;
		return audit_main(argc - i, argv + i, &co);
	}
	if (strcmp(argv[i], "help") == 0) {
		fputs(main_usage_text, stdout);
		return EXIT_OK;
	}
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		if (strcmp(argv[i], cmds[k].name) != 0)
			continue;
		usage_current = cmds[k].help;
		rc = parse_cmd_opts(argc - i, argv + i, cmds[k].help, cmds[k].count, &co);
		if (rc != 0)
			return rc;
		return cmds[k].fn(&co);
	}
	fprintf(stderr, PROG ": unknown command: %s\n", argv[i]);
	fputs(main_usage_text, stderr);
	return EXIT_USAGE;
}
