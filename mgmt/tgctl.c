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
 *   tgctl ... watch [-n N] [--type PREFIX]... [--service S]... [--user U]...
 *   tgctl ... methods
 *   tgctl ... call METHOD [PARAMS|-]
 *   tgctl ... audit tail [-n N] [-f] | show SEQ | proof SEQ | verify
 *
 * Offline commands read an audit store's LMDB directory directly
 * (read-only) and need nothing of a running appliance:
 *
 *   tgctl audit verify DIR --key PUB.pem [--anchor NOTE]... [-o json]
 *   tgctl audit proof DIR SEQ [--size N] [--key PUB.pem] [-o json]
 *   tgctl audit consistency DIR M N [--key PUB.pem] [-o json]
 *   tgctl audit pubkey DIR|KEYFILE [-o json]
 *   tgctl audit verify --bundle FILE [--key PUB.pem] [-o json]
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
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "api.h"
#include "audit.h"
#include "evidence.h"
#include "siem_export.h"
#include "merkle.h"
#include "note.h"
#include "prom.h"

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
	"       " PROG " audit export DIR --format ocsf|cef|ecs|jsonl [--since SEQ] [--until SEQ]\n"
	"       " PROG " audit verify --bundle FILE [--key PUB.pem] [-o json]\n"
	"online, through the slowpath (" PROG " [-s PATH] [-t SEC] [-o json] audit ...):\n"
	"       " PROG " audit tail [-n N] [-f]\n"
	"       " PROG " audit show SEQ\n"
	"       " PROG " audit proof SEQ [--size N]\n"
	"       " PROG " audit verify\n"
	"       " PROG " audit export --format ocsf|cef|ecs|jsonl [--since SEQ] [--until SEQ]\n"
	"\n"
	"  verify       check every record, the hash chain, the Merkle tree and every\n"
	"               signed checkpoint of the audit store in DIR, with only the\n"
	"               public key; --anchor adds a checkpoint note kept elsewhere\n"
	"               (SIEM, witness), which also catches a log cut back to an\n"
	"               earlier checkpoint. --bundle checks a session's evidence\n"
	"               bundle (" PROG " sessions export) instead: its records, their\n"
	"               inclusion proofs, the signed checkpoint, the recording; with\n"
	"               --key the bundle must be signed by that key\n"
	"  proof        inclusion proof of record SEQ in the tree of N records\n"
	"               (default: the latest checkpoint, else the whole log)\n"
	"  consistency  consistency proof between the trees of M and N records\n"
	"  pubkey       the public key of a store (from its metadata) or key file\n"
	"  export       records SEQ..SEQ as SIEM events on stdout, one a line, in the\n"
	"               format of the SIEM sinks (siem_format.h): each carries seq,\n"
	"               leaf and prev_chain; jsonl is the records themselves.\n"
	"               Online, the running slowpath reads its durable records\n"
	"\n"
	"Online, the running slowpath reads its own store (auditor or admin role):\n"
	"  tail         the last N durable records (default 20, at most 1000); -f\n"
	"               then follows the event stream, without gap or repeat\n"
	"  show         one durable record, its leaf hash and prev_chain\n"
	"  proof        as offline, against the latest signed checkpoint\n"
	"  verify       the whole log, with the slowpath's own key (in a child of\n"
	"               the slowpath; waits up to 10 minutes unless -t says)\n"
	"\n"
	"exit status: 0 ok, 1 verification failed (online: or an error answer),\n"
	"2 usage or I/O error, 3 cannot reach the slowpath\n";

struct opts {
	const char *key;
	const char *anchors[ANCHORS_MAX];
	size_t nb_anchors;
	uint64_t size;
	uint64_t count; /* tail -n; 0: the server's default */
	bool follow;	/* tail -f */
	const char *format; /* export --format */
	uint64_t since, until; /* export --since, --until (inclusive) */
	bool has_until;
	const char *bundle; /* verify --bundle */
	const struct copts *co; /* socket and timeout of the online commands */
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
		{ "count", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'F' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "bundle", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:a:s:n:fo:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'B':
			o->bundle = optarg;
			break;
		case 'F':
			if (tg_siem_format_by_name(optarg) < 0)
				return usage("--format %s: ocsf, cef, ecs or jsonl", optarg);
			o->format = optarg;
			break;
		case 'S':
			if (!parse_u64(optarg, &o->since) || o->since > INT64_MAX)
				return usage("--since %s: a record number", optarg);
			break;
		case 'U':
			if (!parse_u64(optarg, &o->until) || o->until > INT64_MAX)
				return usage("--until %s: a record number", optarg);
			o->has_until = true;
			break;
		case 'n':
			if (!parse_u64(optarg, &o->count) || o->count == 0 || o->count > 1000)
				return usage("--count %s: an integer in 1..1000", optarg);
			break;
		case 'f':
			o->follow = true;
			break;
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

/* A note's "signature" (tg_audit_note_status_name()) for people. */
static const char *
signature_text(const char *name)
{
	static const struct {
		const char *name, *text;
	} texts[] = {
		{ "unchecked", "not checked (no --key)" },
		{ "ok", "signature ok" },
		{ "no_signature", "no signature by the given key" },
		{ "invalid", "signature does not verify" },
	};

	for (size_t i = 0; name != NULL && i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strcmp(name, texts[i].name) == 0)
			return texts[i].text;
	return "malformed note";
}

static const char *
note_status(int rc)
{
	return signature_text(tg_audit_note_status_name(rc));
}

/* An integer member of a server's or the reader's JSON, 0 if absent. */
static json_int_t
jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : "";
}

/*
 * A verdict (tg_audit_report_json()), from the files or from the slowpath:
 * prints it and returns the exit status. Takes j's reference.
 */
static int
print_verdict(json_t *j, bool json)
{
	bool ok = json_is_true(json_object_get(j, "ok"));
	json_int_t records = jint(j, "records"), last = jint(j, "last_checkpoint");

	if (json) {
		print_json(j);
		return ok ? EXIT_OK : EXIT_BAD;
	}
	if (ok) {
		printf("ok: %" JSON_INTEGER_FORMAT " records, %" JSON_INTEGER_FORMAT
		       " checkpoints, chain head %s, root %s\n",
		       records, jint(j, "checkpoints"), jstr(j, "chain_head"), jstr(j, "root"));
		if (jint(j, "anchors") > 0)
			printf("ok: %" JSON_INTEGER_FORMAT " anchored checkpoints match\n",
			       jint(j, "anchors"));
		if (records > last)
			printf("note: records %" JSON_INTEGER_FORMAT "..%" JSON_INTEGER_FORMAT
			       " follow the last checkpoint and are not signed yet\n",
			       last, records - 1);
	} else {
		printf("FAIL at record %" JSON_INTEGER_FORMAT ": %s\n", jint(j, "index"),
		       jstr(j, "detail"));
	}
	json_decref(j);
	return ok ? EXIT_OK : EXIT_BAD;
}

/*
 * An inclusion proof (tg_audit_inclusion_json()), from the files or from
 * the slowpath: prints it and returns the exit status. Takes j's reference.
 */
static int
print_proof(json_t *j, bool json)
{
	bool ok = json_is_true(json_object_get(j, "ok"));
	bool cp = json_is_true(json_object_get(j, "checkpoint"));
	const json_t *path = json_object_get(j, "path");
	json_int_t seq = jint(j, "seq"), size = jint(j, "size");
	size_t i;

	if (json) {
		print_json(j);
		return ok ? EXIT_OK : EXIT_BAD;
	}
	printf("record: %" JSON_INTEGER_FORMAT "  %s\n", seq, jstr(j, "record"));
	printf("leaf:   %s\n", jstr(j, "leaf"));
	printf("tree:   %" JSON_INTEGER_FORMAT " records, %s\n", size,
	       cp ? signature_text(jstr(j, "signature"))
		  : "no checkpoint at this size: root from the stored nodes");
	printf("root:   %s\n", jstr(j, "root"));
	printf("path:   %zu hashes, leaf to root\n", json_array_size(path));
	for (i = 0; i < json_array_size(path); i++)
		printf("  %2zu  %s\n", i, json_string_value(json_array_get(path, i)));
	if (cp)
		printf("checkpoint:\n%s", jstr(j, "note"));
	if (ok)
		printf("ok: record %" JSON_INTEGER_FORMAT " is included in the tree of %" JSON_INTEGER_FORMAT
		       " records\n",
		       seq, size);
	else if (!json_is_true(json_object_get(j, "verified")))
		printf("FAIL: the inclusion proof of record %" JSON_INTEGER_FORMAT
		       " does not verify\n",
		       seq);
	else
		printf("FAIL: the checkpoint for size %" JSON_INTEGER_FORMAT ": %s\n", size,
		       signature_text(jstr(j, "signature")));
	json_decref(j);
	return ok ? EXIT_OK : EXIT_BAD;
}

/* ------------------------------------------------------------------ */

static int
cmd_verify(struct opts *o)
{
	char *anchors[ANCHORS_MAX] = { NULL };
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
	ret = print_verdict(tg_audit_report_json(&rep), o->json);
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
	char err[512];
	uint64_t seq;
	int rc, ret;

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
	ret = print_proof(tg_audit_inclusion_json(p), o->json);
	tg_audit_inclusion_release(p);
	free(p);
	return ret;
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
					    json_string(tg_audit_note_status_name(p->note1_rc)));
		if (p->checkpoint2)
			json_object_set_new(j, "signature2",
					    json_string(tg_audit_note_status_name(p->note2_rc)));
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
	"  stats [--watch [SEC]] the slowpath's, the API's and the dataplane's counters;\n"
	"                        --watch: rates of those that change, every SEC s\n"
	"  policy show|check FILE|reload\n"
	"                        the running policy; validate a file; reload the policy\n"
	"  sessions list|show ID|kill ID\n"
	"                        the dataplane's postgres sessions; reset one (admin)\n"
	"  flows [--service S] [--limit N]\n"
	"                        the dataplane's tracked flows\n"
	"  grants add --subject S --service X [--source ADDR[/LEN]] --ttl DUR --reason R\n"
	"         | list | revoke ID\n"
	"                        just-in-time access grants (admin, approver)\n"
	"  approvals list [--all] | show ID | approve ID [--comment C] | deny ID --reason R\n"
	"                        statements held for approval; decide (admin, approver)\n"
	"  watch [-n N] [--type PREFIX] [--service S] [--user U]\n"
	"                        stream events (audit records) as they happen; only\n"
	"                        those that match, filtered by the slowpath\n"
	"  methods               who you are to it, and what you may call\n"
	"  call METHOD [PARAMS]  call any method; PARAMS is a JSON object, or - to\n"
	"                        read it from stdin\n"
	"  audit tail [-n N] [-f] | show SEQ | proof SEQ | verify\n"
	"                        the audit log, as the slowpath reads it\n"
	"\n"
	"Offline commands on an audit store's files (no slowpath needed):\n"
	"  audit verify DIR --key PUB.pem [--anchor NOTE]...\n"
	"  audit proof DIR SEQ [--size N] [--key PUB.pem]\n"
	"  audit consistency DIR M N [--key PUB.pem]\n"
	"  audit pubkey DIR|KEYFILE\n"
	"\n"
	"Options (before the command, or after an online command):\n"
	"  -s, --socket PATH   management socket (default " TG_MGMT_SOCKET_DEFAULT ")\n"
	"  -o, --output FMT    text (default) or json; stats also prometheus\n"
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
	"usage: " PROG " stats [--watch [SEC]] [-s PATH] [-o json|prometheus] [-t SEC]\n"
	"\n"
	"The slowpath's counters (events, records, commits, policy loads and pushes,\n"
	"disconnects by reason), the management API's, and the dataplane's, asked\n"
	"live over the control channel: ports, workers, flows, tcp, stream, pg,\n"
	"inspect, gateway drops by reason, control channel and audit events. A\n"
	"dataplane that is not connected, or does not answer within 2 s, shows as\n"
	"such. Needs any role.\n"
	"\n"
	"--watch [SEC]  ask again every SEC seconds (default 1) until interrupted, and\n"
	"               print the counters that changed as per-second rates (gauges\n"
	"               such as flows.active change too: read their rate as a trend);\n"
	"               with -o json, each raw result as one JSON line.\n"
	"-o prometheus  the counters in Prometheus text format 0.0.4, for the node\n"
	"               exporter's textfile collector: tollgate_<subsystem>_<name>,\n"
	"               _total for counters, labels port, worker, reason, message\n"
	"               (tgctl(8)). Not with --watch.\n";

static const char policy_usage[] =
	"usage: " PROG " policy show|check FILE|reload [-s PATH] [-o json] [-t SEC]\n"
	"\n"
	"show    the running generation: number, file, SHA-256, when it was loaded, the\n"
	"        generation the dataplane applied, and the policy itself. Any role.\n"
	"check   send FILE to the slowpath, which validates it against the dataplane's\n"
	"        services and compiles it, keeping nothing: ok, or file:line:column and\n"
	"        the reason (exit 1). Any role.\n"
	"reload  read the policy file again, validate it against the dataplane's\n"
	"        services, compile it and push it as a new generation (an unchanged\n"
	"        file keeps the running one). A file that does not load is refused\n"
	"        with file:line:column and the running generation stays (exit 1).\n"
	"        Admin only; recorded in the audit log with your identity.\n";

static const char sessions_usage[] =
	"usage: " PROG " sessions list [--service S] [--limit N] | show ID | kill ID\n"
	"       " PROG " sessions export ID --bundle FILE\n"
	"       " PROG " sessions replay ID | replay --bundle FILE [--key PUB.pem]\n"
	"              [--speed N | --no-wait]\n"
	"              [-s PATH] [-o json] [-t SEC]\n"
	"\n"
	"The dataplane's live postgres sessions, asked through the slowpath. ID is\n"
	"\"<instance>-<worker>-<session>\", as the audit log names sessions (list\n"
	"shows it). kill resets the session both ways, as a session failed closed\n"
	"(its session.end record says reason failed); admin only, and audited with\n"
	"the operator. export writes the session's evidence bundle to FILE: its\n"
	"audit records with their inclusion proofs, the signed checkpoint that\n"
	"covers them (one is made first if records are unsigned), the public key\n"
	"and the recording; " PROG " audit verify --bundle FILE checks it anywhere\n"
	"(auditor or admin). replay shows the session's recording as psql showed\n"
	"it, with timestamps, in real time (--speed N: N times faster; --no-wait:\n"
	"at once), after verifying its bundle (online, the slowpath's; offline,\n"
	"--bundle FILE, with --key the pinned public key); -o json prints the\n"
	"recorded events instead, one JSON line each.\n";

static const char grants_usage[] =
	"usage: " PROG " grants add --subject S --service X --ttl DUR --reason R [--issuer I]\n"
	"                           [--source ADDR[/LEN]]\n"
	"       " PROG " grants list [--all] [--service X] [--subject S]\n"
	"       " PROG " grants revoke ID [--reason R]\n"
	"              [-s PATH] [-o json] [-t SEC]\n"
	"\n"
	"Just-in-time access grants. A service whose identity options say\n"
	"\"require_grant\": true admits an OIDC login only while its subject (the\n"
	"token's sub) holds a live grant for it; the client is told \"no access\n"
	"grant for this service\" otherwise. When a grant ends (its ttl, or revoke),\n"
	"new logins are refused at once and running sessions follow the service's\n"
	"\"on_grant_expiry\": continue, or end with a FATAL.\n"
	"A \"protocol\": \"tcp\" service (SSH and the like, not inspected) with\n"
	"\"require_grant\" admits a new flow only from a client address a live grant\n"
	"names (--source, required for such a service and refused for any other);\n"
	"others get a RST. Flows are audited (flow.start, flow.end with bytes and\n"
	"duration, flow.refused); \"on_grant_expiry\" end resets them when the grant\n"
	"ends.\n"
	"\n"
	"add     grant subject S access to service X for DUR (90s, 30m, 8h, 2d; at most\n"
	"        30 days), because R; --issuer I: only tokens of issuer I. Prints the\n"
	"        grant's id. Admin or approver. --source ADDR[/LEN]: for a tcp service,\n"
	"        the client address or prefix (198.18.0.1, 10.1.0.0/16, 2001:db8::/32).\n"
	"list    the live grants, newest first; --all: ended ones too (kept a day).\n"
	"        Any role.\n"
	"revoke  end grant ID now. Admin or approver.\n"
	"Each add, revoke and expiry is an audit record (grant.add, grant.revoke,\n"
	"grant.expired) naming the grant and, for add and revoke, you.\n";

static const char approvals_usage[] =
	"usage: " PROG " approvals list [--all]\n"
	"       " PROG " approvals show ID\n"
	"       " PROG " approvals approve ID [--comment C]\n"
	"       " PROG " approvals deny ID --reason R\n"
	"              [-s PATH] [-o json] [-t SEC]\n"
	"\n"
	"Statements held for approval. A policy rule with action \"hold\" parks a\n"
	"statement and makes a request: who asked (db user, and the OIDC identity\n"
	"after a token login), the masked statement and parameters, the rule, the\n"
	"session. Once \"quorum\" distinct operators approved it, the statement goes\n"
	"to the server; one deny, or the rule's timeout, ends it and the client gets\n"
	"an error naming the request and the reason. A request whose client went is\n"
	"cancelled.\n"
	"\n"
	"list     pending requests, newest first; --all: ended ones too (kept an\n"
	"         hour). Any role.\n"
	"show     one request, its votes and how it ended. Any role.\n"
	"approve  your vote for request ID; --comment C is kept with it. Admin or\n"
	"         approver, and a member of the rule's \"approvers\" group when it\n"
	"         names one; not on your own request (your user name is the\n"
	"         request's db user, OIDC sub, email or the email's local part) unless\n"
	"         the rule says \"self_approval\": true; once per request.\n"
	"deny     end request ID now; the client is told R. As approve, but anyone\n"
	"         who may vote may deny, the requester too.\n"
	"Each step is an audit record (approval.requested, approval.vote,\n"
	"approval.approved, approval.denied, approval.expired, approval.cancelled)\n"
	"naming the request and, for votes and denies, you; tgctl watch --type\n"
	"approval shows them as they happen.\n";

static const char flows_usage[] =
	"usage: " PROG " flows [--service S] [--limit N] [-s PATH] [-o json] [-t SEC]\n"
	"\n"
	"The dataplane's tracked flows, postgres sessions and others, asked through\n"
	"the slowpath: at most N (default 1000), of service S only.\n";

static const char watch_usage[] =
	"usage: " PROG " watch [-n N] [--type PREFIX]... [--service S]... [--user U]...\n"
	"             [-s PATH] [-o json] [-t SEC]\n"
	"\n"
	"Subscribes to the event stream and prints one line per event as it happens\n"
	"(audit records: sessions, statements, decisions, checkpoints) until\n"
	"interrupted; -n N stops after N events. -o json prints each event as one JSON\n"
	"line, for jq or a log shipper. A watcher that does not keep up is dropped by\n"
	"the server (exit 1, \"too_slow\"). Needs the auditor role (or admin).\n"
	"\n"
	"Filters, applied by the slowpath so the stream carries only what matches;\n"
	"each may be given up to 8 times (any one matches), and every filter given\n"
	"must match:\n"
	"  --type PREFIX   event.type, or a prefix of whole components: db.query\n"
	"                  (db.query and db.query.begin), session, admin.change, grant\n"
	"  --service S     dst.service is S\n"
	"  --user U        db.user (sessions, statements) or operator.user (admin\n"
	"                  changes) is U\n"
	"A record without the field a filter names does not match it (--service\n"
	"leaves out checkpoints and admin changes).\n";

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

/* watch filters: the params of the watch method, in this order (slowpath/watch.h) */
#define WATCH_KEYS 3
#define WATCH_VALUES_MAX 8
static const char *const watch_keys[WATCH_KEYS] = { "type", "service", "user" };

/* -o prometheus: only stats writes it (stats_prometheus()); the others refuse it */
static bool output_prometheus;

struct copts {
	const char *socket;
	bool json;
	int timeout_ms;
	long count; /* watch -n; 0: forever */
	int every;  /* stats --watch: seconds; 0: once */
	const char *service; /* flows, sessions list, grants: --service */
	/* grants: --subject, --issuer, --reason, --source, --ttl (seconds), --all; approvals:
	 * --all, --reason, --comment */
	const char *subject, *issuer, *reason, *comment, *source;
	long ttl_s;
	bool all;
	long limit;	     /* flows, sessions list: --limit; 0: the server's default */
	const char *bundle; /* sessions export, replay: --bundle */
	const char *key;    /* sessions replay: --key */
	double speed;	    /* sessions replay: --speed; 0: real time */
	bool no_wait;	    /* sessions replay: --no-wait */
	/* watch: --type, --service, --user, each repeatable; the slowpath filters (watch.h) */
	const char *filter[WATCH_KEYS][WATCH_VALUES_MAX];
	unsigned int nb_filter[WATCH_KEYS];
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

/*
 * request() of a command with params (consumed), and with -o json the
 * result printed: EXIT_OK with *res for the text printer, or EXIT_OK with
 * *res NULL (printed already), or the error's exit code.
 */
static int
call(const struct copts *co, const char *method, json_t *params, json_t **res)
{
	int rc = request(co, method, params, res);

	json_decref(params);
	if (rc == EXIT_OK && co->json) {
		print_json(*res);
		*res = NULL;
	}
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
	if ((rc = call(co, TG_MGMT_M_PING, params, &res)) != EXIT_OK || res == NULL)
		return rc;
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
	json_t *res;
	int rc;

	if ((rc = call(co, method, json_object(), &res)) != EXIT_OK || res == NULL)
		return rc;
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

static volatile sig_atomic_t interrupted;

static void
on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Every integer leaf of v under its dotted path: into flat (path -> integer). */
static void
flatten(const char *prefix, const json_t *v, json_t *flat)
{
	char key[512];
	const char *k;
	json_t *e;

	if (json_is_integer(v)) {
		json_object_set(flat, prefix, (json_t *)v);
		return;
	}
	if (!json_is_object(v))
		return;
	json_object_foreach((json_t *)v, k, e) {
		snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k);
		flatten(key, e, flat);
	}
}

/*
 * stats --watch: the counters again every co->every seconds, on one
 * connection; the ones that changed since the last round as per-second
 * rates, "name  +rate/s  (value)", a timestamped block per round (like
 * vmstat, or ovs-appctl dpctl/show -s). -o json: each result as a line.
 */
static int
stats_watch(struct copts *co)
{
	struct sigaction sa = { .sa_handler = on_interrupt };
	json_t *params = json_object(), *res, *flat, *prev = NULL, *v;
	struct timespec t0, tprev = { 0 }, next;
	struct conn c;
	const char *key;
	double dt;
	int rc;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((rc = conn_open(&c, co->socket, co->timeout_ms)) != EXIT_OK) {
		json_decref(params);
		return rc;
	}
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!interrupted) {
		if ((rc = conn_call(&c, "stats", params, co->json, &res)) != EXIT_OK)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (co->json) {
			char *line = json_dumps(res, JSON_COMPACT);

			if (line != NULL)
				printf("%s\n", line);
			free(line);
			json_decref(res);
		} else {
			flat = json_object();
			flatten("", res, flat);
			json_decref(res);
			if (prev == NULL) {
				fprintf(stderr, PROG ": %zu counters; every %d s, the rates of those "
					"that change; Ctrl-C to stop\n", json_object_size(flat),
					co->every);
			} else {
				time_t now = time(NULL);
				char ts[32];
				int changed = 0;

				dt = (double)(t0.tv_sec - tprev.tv_sec) +
				     (double)(t0.tv_nsec - tprev.tv_nsec) / 1e9;
				strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&now));
				printf("--- %s (%.1f s)\n", ts, dt);
				json_object_foreach(flat, key, v) {
					json_t *o = json_object_get(prev, key);
					json_int_t d;

					if (o == NULL || (d = json_integer_value(v) -
							      json_integer_value(o)) == 0)
						continue;
					printf("  %-48s %+14.1f/s  (%" JSON_INTEGER_FORMAT ")\n", key,
					       dt > 0 ? (double)d / dt : 0.0, json_integer_value(v));
					changed++;
				}
				if (changed == 0)
					printf("  (no counter changed)\n");
			}
			json_decref(prev);
			prev = flat;
			tprev = t0;
		}
		fflush(stdout);
		next.tv_sec += co->every;
		while (!interrupted &&
		       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	json_decref(prev);
	json_decref(params);
	conn_close(&c);
	return interrupted ? EXIT_OK : rc;
}

/*
 * stats -o prometheus: the result as Prometheus text (prom.h). A scrape
 * wants all or nothing: an error of the call, or a write that fails, is
 * the exit status, with no partial output promised.
 */
static int
stats_prometheus(struct copts *co)
{
	json_t *params = json_object(), *res = NULL;
	int rc;

	rc = request(co, "stats", params, &res);
	json_decref(params);
	if (rc != EXIT_OK || res == NULL)
		return rc;
	rc = tg_prom_write(stdout, res);
	json_decref(res);
	if (rc == 0 && fflush(stdout) != 0)
		rc = -EIO;
	if (rc < 0) {
		fprintf(stderr, PROG ": stats -o prometheus: %s\n", strerror(-rc));
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int
cmd_stats(struct copts *co)
{
	uint64_t v;

	if (co->every > 0 && co->nargs == 1) {
		/* --watch SEC: getopt takes an optional argument only as --watch=SEC */
		if (!parse_u64(co->args[0], &v) || v == 0 || v > 86400)
			return usage("--watch %s: a whole number of seconds, 1..86400", co->args[0]);
		co->every = (int)v;
		co->nargs = 0;
	}
	if (co->nargs != 0)
		return usage("stats takes no arguments but --watch [SEC]");
	if (co->every > 0 && output_prometheus)
		return usage("-o prometheus: not with --watch (let the collector ask again)");
	if (co->every > 0)
		return stats_watch(co);
	if (output_prometheus)
		return stats_prometheus(co);
	return show(co, "stats");
}

/*
 * policy check FILE: the file's text to the slowpath, which validates it
 * against the dataplane's services and compiles it. A request line holds
 * it: at most TG_MGMT_REQUEST_MAX bytes with its JSON escaping.
 */
static int
policy_check(struct copts *co, const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = malloc(TG_MGMT_REQUEST_MAX + 1);
	json_t *params, *res;
	size_t n = 0;
	int rc;

	if (f == NULL || buf == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(f == NULL ? errno : ENOMEM));
		if (f != NULL)
			fclose(f);
		free(buf);
		return EXIT_USAGE;
	}
	n = fread(buf, 1, TG_MGMT_REQUEST_MAX + 1, f);
	rc = ferror(f);
	fclose(f);
	if (rc || n > TG_MGMT_REQUEST_MAX - 1024) {
		fprintf(stderr, PROG ": %s: %s\n", path,
			rc ? "read error" : "too large to send (check it with SIGHUP on the appliance)");
		free(buf);
		return EXIT_USAGE;
	}
	params = json_pack("{s:s%, s:s}", "text", buf, n, "source", path);
	free(buf);
	if (params == NULL) {
		fprintf(stderr, PROG ": %s: not valid UTF-8 text\n", path);
		return EXIT_USAGE;
	}
	if ((rc = call(co, "policy.check", params, &res)) != EXIT_OK || res == NULL)
		return rc;
	printf("%s: ok, %" JSON_INTEGER_FORMAT " command rule(s), %" JSON_INTEGER_FORMAT
	       " detector(s), %" JSON_INTEGER_FORMAT " column rule(s)\n", path,
	       json_integer_value(json_object_get(res, "command_rules")),
	       json_integer_value(json_object_get(res, "detectors")),
	       json_integer_value(json_object_get(res, "column_rules")));
	json_decref(res);
	return EXIT_OK;
}

static int
cmd_policy(struct copts *co)
{
	if (co->nargs == 2 && strcmp(co->args[0], "check") == 0)
		return policy_check(co, co->args[1]);
	if (co->nargs != 1)
		return usage("policy takes one of: show, check FILE, reload");
	if (strcmp(co->args[0], "show") == 0)
		return show(co, "policy.show");
	if (strcmp(co->args[0], "reload") == 0)
		return show(co, "policy.reload");
	return usage("unknown policy command: %s (show, check FILE, reload)", co->args[0]);
}

/* ---- sessions, flows ---------------------------------------------- */

/* The columns people read, in order; the rest is in -o json. */
static json_t *
sess_rows(const json_t *list, bool flows)
{
	static const char *const scols[] = { "id", "user", "database", "application",
					     "client", "server", "service", "state",
					     "started", "statements", "bytes_up", "bytes_down" };
	static const char *const fcols[] = { "worker", "service", "client", "server", "state",
					     "id", "bytes_up", "bytes_down" };
	const char *const *cols = flows ? fcols : scols;
	size_t n = flows ? sizeof(fcols) / sizeof(fcols[0]) : sizeof(scols) / sizeof(scols[0]);
	json_t *rows = json_array(), *row, *e, *v;
	size_t i, k;

	json_array_foreach(list, i, e) {
		row = json_object();
		for (k = 0; k < n; k++) {
			v = json_object_get(e, cols[k]);
			json_object_set_new(row, cols[k],
					    v != NULL ? json_incref(v) : json_string("-"));
		}
		json_array_append_new(rows, row);
	}
	return rows;
}

static int
sess_list(struct copts *co, const char *method, bool flows)
{
	json_t *params = json_object(), *res, *list, *rows;
	int rc;

	if (co->service != NULL)
		json_object_set_new(params, "service", json_string(co->service));
	if (co->limit != 0)
		json_object_set_new(params, "limit", json_integer(co->limit));
	if ((rc = call(co, method, params, &res)) != EXIT_OK || res == NULL)
		return rc;
	list = json_object_get(res, flows ? "flows" : "sessions");
	if (json_array_size(list) == 0) {
		printf("no %s\n", flows ? "flows" : "sessions");
	} else {
		rows = sess_rows(list, flows);
		print_table(rows, 0);
		json_decref(rows);
	}
	json_decref(res);
	return EXIT_OK;
}

static int
sess_one(struct copts *co, const char *method, const char *id)
{
	json_t *res, *e;
	int rc;

	if ((rc = call(co, method, json_pack("{s:s}", "id", id), &res)) != EXIT_OK || res == NULL)
		return rc;
	e = json_object_get(res, "killed");
	if (e != NULL) {
		printf("killed ");
		put_text(stdout, id);
		printf("\n\n");
	} else {
		e = json_object_get(res, "session");
	}
	if (json_is_object(e))
		print_object(e, 0);
	json_decref(res);
	return EXIT_OK;
}

/* sessions export ID --bundle FILE: audit.bundle (slowpath/maudit.h) into FILE. */
static int
sess_export(struct copts *co, const char *id)
{
	json_t *params, *res;
	int rc;

	if (co->bundle == NULL)
		return usage("sessions export needs --bundle FILE");
	params = json_pack("{s:s}", "session", id);
	rc = request(co, "audit.bundle", params, &res);
	json_decref(params);
	if (rc != EXIT_OK)
		return rc;
	return tgctl_bundle_write(res, co->bundle, co->json);
}

/*
 * sessions replay ID (the slowpath's audit.bundle) or replay --bundle FILE
 * (offline): the recording, verified first (evidence.h).
 */
static int
sess_replay(struct copts *co)
{
	struct tgctl_replay r = { .key_path = co->key, .speed = co->speed,
				  .no_wait = co->no_wait, .json = co->json };
	json_t *params;
	int rc;

	if (co->nargs == 1 && co->bundle != NULL) {
		r.path = co->bundle;
		return tgctl_replay(&r);
	}
	if (co->nargs != 2 || co->bundle != NULL)
		return usage("sessions replay takes a session ID, or --bundle FILE");
	params = json_pack("{s:s}", "session", co->args[1]);
	rc = request(co, "audit.bundle", params, &r.res);
	json_decref(params);
	if (rc != EXIT_OK)
		return rc;
	return tgctl_replay(&r);
}

static int
cmd_sessions(struct copts *co)
{
	if ((co->bundle != NULL || co->key != NULL || co->speed != 0 || co->no_wait) &&
	    !(co->nargs >= 1 &&
	      (strcmp(co->args[0], "export") == 0 || strcmp(co->args[0], "replay") == 0)))
		return usage("--bundle is for sessions export and replay, --key, --speed and "
			     "--no-wait for replay");
	if (co->nargs == 1 && strcmp(co->args[0], "list") == 0)
		return sess_list(co, "sessions.list", false);
	if ((co->service != NULL || co->limit != 0))
		return usage("--service and --limit are for sessions list");
	if (co->nargs == 2 && strcmp(co->args[0], "show") == 0)
		return sess_one(co, "sessions.show", co->args[1]);
	if (co->nargs == 2 && strcmp(co->args[0], "kill") == 0)
		return sess_one(co, "sessions.kill", co->args[1]);
	if (co->nargs == 2 && strcmp(co->args[0], "export") == 0)
		return sess_export(co, co->args[1]);
	if (co->nargs >= 1 && strcmp(co->args[0], "replay") == 0)
		return sess_replay(co);
	return usage("sessions takes one of: list, show ID, kill ID, export ID --bundle FILE, "
		     "replay ID | replay --bundle FILE");
}

/* "90", "90s", "30m", "8h", "2d": seconds in 1..30 days. */
static bool
parse_ttl(const char *s, long *out)
{
	static const struct {
		char unit;
		long mul;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	char num[16];
	size_t n = strlen(s);
	long mul = 1;
	uint64_t v;

	if (n == 0 || n >= sizeof(num))
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (s[n - 1] == units[i].unit) {
			mul = units[i].mul;
			n--;
		}
	memcpy(num, s, n);
	num[n] = '\0';
	if (!parse_u64(num, &v) || v == 0 || v > 30 * 86400 / (uint64_t)mul)
		return false;
	*out = (long)v * mul;
	return true;
}

static void
grant_time(json_t *o, const char *key)
{
	time_t t = (time_t)json_integer_value(json_object_get(o, key));
	struct tm tm;
	char buf[32];

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		json_object_set_new(o, key, json_string("-"));
	else
		json_object_set_new(o, key, json_string(buf));
}

static int
grants_list(struct copts *co)
{
	static const char *const cols[] = { "id",    "sub",	   "service", "source",
					    "expires", "state", "granted_by", "reason" };
	json_t *params = json_object(), *res, *list, *rows, *e, *row, *v;
	size_t i;
	int rc;

	if (co->all)
		json_object_set_new(params, "all", json_true());
	if (co->service != NULL)
		json_object_set_new(params, "service", json_string(co->service));
	if (co->subject != NULL)
		json_object_set_new(params, "subject", json_string(co->subject));
	if ((rc = call(co, "grants.list", params, &res)) != EXIT_OK || res == NULL)
		return rc;
	list = json_object_get(res, "grants");
	if (json_array_size(list) == 0) {
		printf("no %sgrants\n", co->all ? "" : "live ");
		json_decref(res);
		return EXIT_OK;
	}
	rows = json_array();
	json_array_foreach(list, i, e) {
		row = json_object();
		grant_time(e, "expires");
		for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			v = json_object_get(e, cols[k]);
			/* a login grant has no source */
			if (json_is_string(v) && json_string_length(v) == 0)
				v = NULL;
			json_object_set_new(row, cols[k],
					    v != NULL ? json_incref(v) : json_string("-"));
		}
		json_array_append_new(rows, row);
	}
	print_table(rows, 0);
	json_decref(rows);
	json_decref(res);
	return EXIT_OK;
}

static int
grants_one(struct copts *co, const char *method, json_t *params, const char *what)
{
	json_t *res, *g;
	int rc;

	if ((rc = call(co, method, params, &res)) != EXIT_OK || res == NULL)
		return rc;
	g = json_object_get(res, "grant");
	printf("%s ", what);
	put_text(stdout, json_string_value(json_object_get(g, "id")));
	printf("\n\n");
	grant_time(g, "created");
	grant_time(g, "expires");
	grant_time(g, "ended");
	if (json_is_false(json_object_get(res, "saved")))
		json_object_set_new(
			g, "saved",
			json_string("no: in force now, lost on a restart (see the log)"));
	print_object(g, 0);
	json_decref(res);
	return EXIT_OK;
}

static int
cmd_grants(struct copts *co)
{
	const char *sub = co->nargs > 0 ? co->args[0] : "";
	json_t *p;

	if (strcmp(sub, "list") == 0 && co->nargs == 1) {
		if (co->issuer != NULL || co->ttl_s != 0 || co->reason != NULL ||
		    co->source != NULL)
			return usage("grants list takes --all, --service and --subject");
		return grants_list(co);
	}
	if (co->all)
		return usage("--all is for grants list");
	if (strcmp(sub, "add") == 0 && co->nargs == 1) {
		if (co->subject == NULL || co->service == NULL || co->ttl_s == 0 ||
		    co->reason == NULL)
			return usage("grants add needs --subject, --service, --ttl and --reason");
		p = json_pack("{s:s, s:s, s:I, s:s}", "subject", co->subject, "service",
			      co->service, "ttl_s", (json_int_t)co->ttl_s, "reason", co->reason);
		if (p != NULL && co->issuer != NULL)
			json_object_set_new(p, "issuer", json_string(co->issuer));
		if (p != NULL && co->source != NULL)
			json_object_set_new(p, "source", json_string(co->source));
		return grants_one(co, "grants.add", p, "granted");
	}
	if (strcmp(sub, "revoke") == 0 && co->nargs == 2) {
		if (co->subject != NULL || co->service != NULL || co->ttl_s != 0 ||
		    co->issuer != NULL || co->source != NULL)
			return usage("grants revoke takes an id and --reason");
		p = json_pack("{s:s}", "id", co->args[1]);
		if (p != NULL && co->reason != NULL)
			json_object_set_new(p, "reason", json_string(co->reason));
		return grants_one(co, "grants.revoke", p, "revoked");
	}
	return usage("grants takes one of: add, list, revoke ID");
}

/* ---- approvals: the approvals.* methods (slowpath/mapprovals.h) ---- */

/* One approval for people: its times as dates, the votes' too. */
static void
approval_times(json_t *ap)
{
	json_t *v;
	size_t i;

	grant_time(ap, "created");
	grant_time(ap, "deadline");
	grant_time(ap, "ended");
	json_array_foreach(json_object_get(ap, "votes"), i, v)
		grant_time(v, "at");
}

static int
approvals_list(struct copts *co)
{
	json_t *params = json_object(), *res, *list, *rows, *e, *row;
	const char *stmt;
	char votes[32], cut[52];
	size_t i;
	int rc;

	if (co->all)
		json_object_set_new(params, "all", json_true());
	if ((rc = call(co, "approvals.list", params, &res)) != EXIT_OK || res == NULL)
		return rc;
	list = json_object_get(res, "approvals");
	if (json_array_size(list) == 0) {
		printf("no %sapproval requests\n", co->all ? "" : "pending ");
		json_decref(res);
		return EXIT_OK;
	}
	rows = json_array();
	json_array_foreach(list, i, e) {
		stmt = json_string_value(json_object_get(e, "statement"));
		snprintf(votes, sizeof(votes), "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
			 (json_int_t)json_array_size(json_object_get(e, "votes")),
			 json_integer_value(json_object_get(e, "quorum")));
		/* a long statement: its start, cut on a character boundary (show has it whole) */
		snprintf(cut, sizeof(cut), "%s", stmt != NULL ? stmt : "");
		if (stmt != NULL && strlen(stmt) >= sizeof(cut)) {
			size_t n = sizeof(cut) - 4;

			while (n > 0 && ((unsigned char)cut[n] & 0xc0) == 0x80)
				n--;
			memcpy(cut + n, "...", 4);
		}
		grant_time(e, "deadline");
		row = json_pack("{s:O, s:O, s:O, s:O, s:O, s:s, s:O, s:s}", "id",
				json_object_get(e, "id"), "state", json_object_get(e, "state"),
				"service", json_object_get(e, "service"), "user",
				json_object_get(e, "user"), "rule", json_object_get(e, "rule"),
				"votes", votes, "deadline", json_object_get(e, "deadline"),
				"statement", cut);
		json_array_append_new(rows, row);
	}
	print_table(rows, 0);
	json_decref(rows);
	json_decref(res);
	return EXIT_OK;
}

static int
approvals_one(struct copts *co, const char *method, json_t *params)
{
	json_t *res, *ap;
	const char *state;
	json_int_t n, q;
	int rc;

	if ((rc = call(co, method, params, &res)) != EXIT_OK || res == NULL)
		return rc;
	ap = json_object_get(res, "approval");
	state = json_string_value(json_object_get(ap, "state"));
	if (state == NULL)
		state = "";
	n = (json_int_t)json_array_size(json_object_get(ap, "votes"));
	q = json_integer_value(json_object_get(ap, "quorum"));
	if (strcmp(method, "approvals.approve") == 0 && strcmp(state, "pending") == 0)
		printf("vote counted, %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
		       ": still pending ",
		       n, q);
	else if (strcmp(method, "approvals.approve") == 0)
		printf("approved, %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
		       ": the statement goes to the server ",
		       n, q);
	else if (strcmp(method, "approvals.deny") == 0)
		printf("denied: the client is told why ");
	else
		printf("approval request ");
	put_text(stdout, json_string_value(json_object_get(ap, "id")));
	printf("\n\n");
	approval_times(ap);
	print_object(ap, 0);
	json_decref(res);
	return EXIT_OK;
}

static int
cmd_approvals(struct copts *co)
{
	const char *sub = co->nargs > 0 ? co->args[0] : "";
	json_t *p;

	if (strcmp(sub, "list") == 0 && co->nargs == 1) {
		if (co->reason != NULL || co->comment != NULL)
			return usage("approvals list takes --all");
		return approvals_list(co);
	}
	if (co->all)
		return usage("--all is for approvals list");
	if (strcmp(sub, "show") == 0 && co->nargs == 2) {
		if (co->reason != NULL || co->comment != NULL)
			return usage("approvals show takes an id");
		return approvals_one(co, "approvals.show", json_pack("{s:s}", "id", co->args[1]));
	}
	if (strcmp(sub, "approve") == 0 && co->nargs == 2) {
		if (co->reason != NULL)
			return usage("approvals approve takes an id and --comment (deny takes "
				     "--reason)");
		p = json_pack("{s:s}", "id", co->args[1]);
		if (p != NULL && co->comment != NULL)
			json_object_set_new(p, "comment", json_string(co->comment));
		return approvals_one(co, "approvals.approve", p);
	}
	if (strcmp(sub, "deny") == 0 && co->nargs == 2) {
		if (co->comment != NULL || co->reason == NULL)
			return usage("approvals deny takes an id and --reason (the client is told "
				     "it)");
		return approvals_one(co, "approvals.deny",
				     json_pack("{s:s, s:s}", "id", co->args[1], "reason",
					       co->reason));
	}
	return usage("approvals takes one of: list, show ID, approve ID, deny ID --reason R");
}

static int
cmd_flows(struct copts *co)
{
	if (co->nargs != 0)
		return usage("flows takes no arguments");
	return sess_list(co, "flows", true);
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
	if ((rc = call(co, TG_MGMT_M_METHODS, params, &res)) != EXIT_OK || res == NULL)
		return rc;
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

/* A record of a tail or the stream: one JSON line, or the watch format. */
static void
print_record(const json_t *r, bool json)
{
	if (json) {
		char *s = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY);

		if (s != NULL)
			printf("%s\n", s);
		free(s);
	} else {
		print_event(r);
	}
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
	/* {"type": [..], "service": [..], "user": [..]}: the slowpath checks the values */
	for (unsigned int k = 0; params != NULL && k < WATCH_KEYS; k++) {
		json_t *a;

		if (co->nb_filter[k] == 0)
			continue;
		a = json_array();
		for (unsigned int i = 0; a != NULL && i < co->nb_filter[k]; i++)
			if (json_array_append_new(a, json_string(co->filter[k][i])) < 0) {
				json_decref(a);
				a = NULL;
			}
		if (a == NULL || json_object_set_new(params, watch_keys[k], a) < 0) {
			json_decref(params);
			params = NULL;
		}
	}
	if (params == NULL) {
		fprintf(stderr, PROG ": watch: out of memory, or a filter that is not UTF-8\n");
		return EXIT_USAGE;
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
			print_record(ev, co->json);
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
	output_prometheus = false;
	if (strcmp(fmt, "json") == 0)
		*json = true;
	else if (strcmp(fmt, "text") == 0)
		*json = false;
	else if (strcmp(fmt, "prometheus") == 0)
		*json = false, output_prometheus = true;	/* stats only: main() */
	else
		return usage("-o %s: the formats are text and json (stats: prometheus)", fmt);
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
		{ "watch", optional_argument, NULL, 'w' },
		{ "service", required_argument, NULL, 'S' },
		{ "limit", required_argument, NULL, 'L' },
		{ "type", required_argument, NULL, 'T' },
		{ "user", required_argument, NULL, 'U' },
		{ "subject", required_argument, NULL, 'J' },
		{ "issuer", required_argument, NULL, 'I' },
		{ "ttl", required_argument, NULL, 'X' },
		{ "reason", required_argument, NULL, 'R' },
		{ "all", no_argument, NULL, 'A' },
		{ "comment", required_argument, NULL, 'C' },
		{ "source", required_argument, NULL, 'P' },
		{ "bundle", required_argument, NULL, 'B' },
		{ "key", required_argument, NULL, 'K' },
		{ "speed", required_argument, NULL, 'V' },
		{ "no-wait", no_argument, NULL, 'W' },
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
		case 'w':
			if (strcmp(argv[0], "stats") != 0)
				return usage("%s: no option --watch", argv[0]);
			co->every = 1;
			if (optarg != NULL) {
				if (!parse_u64(optarg, &v) || v == 0 || v > 86400)
					return usage("--watch=%s: a whole number of seconds, 1..86400",
						     optarg);
				co->every = (int)v;
			}
			break;
		case 'T':
		case 'U':
			if (strcmp(argv[0], "watch") != 0)
				return usage("%s: no option --%s", argv[0],
					     c == 'T' ? "type" : "user");
			/* fall through */
		case 'S':
			if (strcmp(argv[0], "watch") == 0) {
				unsigned int k = c == 'T' ? 0 : c == 'S' ? 1 : 2;

				if (co->nb_filter[k] == WATCH_VALUES_MAX)
					return usage("--%s: at most %d times", watch_keys[k],
						     WATCH_VALUES_MAX);
				co->filter[k][co->nb_filter[k]++] = optarg;
				break;
			}
			/* fall through */
		case 'L':
			if (strcmp(argv[0], "flows") != 0 && strcmp(argv[0], "sessions") != 0 &&
			    !(c == 'S' && strcmp(argv[0], "grants") == 0))
				return usage("%s: no option --%s", argv[0],
					     c == 'S' ? "service" : "limit");
			if (c == 'S') {
				co->service = optarg;
				break;
			}
			if (!parse_u64(optarg, &v) || v == 0 || v > 65535)
				return usage("--limit %s: an integer in 1..65535", optarg);
			co->limit = (long)v;
			break;
		case 'C':
			if (strcmp(argv[0], "approvals") != 0)
				return usage("%s: no option --comment", argv[0]);
			co->comment = optarg;
			break;
		case 'R':
		case 'A':
			if (strcmp(argv[0], "approvals") == 0) {
				if (c == 'R')
					co->reason = optarg;
				else
					co->all = true;
				break;
			}
			/* fall through */
		case 'J':
		case 'I':
		case 'X':
		case 'P':
			if (strcmp(argv[0], "grants") != 0)
				return usage("%s: no option --%s", argv[0],
					     c == 'J'	? "subject"
					     : c == 'I' ? "issuer"
					     : c == 'X' ? "ttl"
					     : c == 'R' ? "reason"
					     : c == 'P' ? "source"
							: "all");
			if (c == 'J')
				co->subject = optarg;
			else if (c == 'P')
				co->source = optarg;
			else if (c == 'I')
				co->issuer = optarg;
			else if (c == 'R')
				co->reason = optarg;
			else if (c == 'A')
				co->all = true;
			else if (!parse_ttl(optarg, &co->ttl_s))
				return usage("--ttl %s: a duration such as 90s, 30m, 8h or 2d "
					     "(1 s to 30 days)",
					     optarg);
			break;
		case 'B':
		case 'K':
		case 'V':
		case 'W':
			if (strcmp(argv[0], "sessions") != 0)
				return usage("%s: no option --%s", argv[0],
					     c == 'B'	? "bundle"
					     : c == 'K' ? "key"
					     : c == 'V' ? "speed"
							: "no-wait");
			if (c == 'B')
				co->bundle = optarg;
			else if (c == 'K')
				co->key = optarg;
			else if (c == 'W')
				co->no_wait = true;
			else if ((co->speed = strtod(optarg, NULL)) <= 0 || co->speed > 1e6)
				return usage("--speed %s: a factor above 0, such as 2 or 0.5", optarg);
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

/* ---- audit, online: the audit.* methods (slowpath/maudit.h) ------- */

#define VERIFY_TIMEOUT_DEFAULT 600 /* seconds: audit.verify walks the whole log */
#define CATCHUP_POLL_MS 50	   /* between reads of records not durable yet */
#define FOLLOW_IDLE_MS 1000	   /* tail -f: quiet this long, read the durable log */

/* The global options of an online audit command; timeout_ms 0: theirs. */
static struct copts
audit_copts(const struct opts *o, int timeout_ms)
{
	struct copts co = *o->co;

	co.json = o->json;
	if (timeout_ms > 0)
		co.timeout_ms = timeout_ms;
	return co;
}

/* One audit.* request; takes params' reference. */
static int
audit_request(const struct opts *o, int timeout_ms, const char *method, json_t *params,
	      json_t **res)
{
	struct copts co = audit_copts(o, timeout_ms);
	int rc;

	if (params == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return EXIT_USAGE;
	}
	rc = request(&co, method, params, res);
	json_decref(params);
	return rc;
}

static int
audit_show(struct opts *o)
{
	json_t *res;
	uint64_t seq;
	int rc;

	if (o->nargs != 1 || !parse_u64(o->args[0], &seq))
		return usage("audit show takes a record number");
	rc = audit_request(o, 0, "audit.show", json_pack("{s:I}", "seq", (json_int_t)seq), &res);
	if (rc != EXIT_OK)
		return rc;
	if (o->json) {
		print_json(res);
		return EXIT_OK;
	}
	printf("record:     %" JSON_INTEGER_FORMAT "  ", jint(res, "seq"));
	put_text(stdout, jstr(res, "record"));
	printf("\nleaf:       %s\nprev_chain: %s\n", jstr(res, "leaf"), jstr(res, "prev_chain"));
	json_decref(res);
	return EXIT_OK;
}

static int
audit_proof(struct opts *o)
{
	json_t *params, *res;
	uint64_t seq;
	int rc;

	if (o->nargs != 1 || !parse_u64(o->args[0], &seq))
		return usage("audit proof takes a record number (online) or DIR SEQ (offline)");
	if (o->key != NULL)
		return usage("audit proof online: the slowpath checks the note with its own key; "
			     "--key is for DIR SEQ");
	params = json_pack("{s:I}", "seq", (json_int_t)seq);
	if (params != NULL && o->size != 0)
		json_object_set_new(params, "size", json_integer((json_int_t)o->size));
	if ((rc = audit_request(o, 0, "audit.proof", params, &res)) != EXIT_OK)
		return rc;
	return print_proof(res, o->json);
}

static int
audit_verify(struct opts *o)
{
	json_t *res;
	int rc;

	if (o->key != NULL || o->nb_anchors > 0)
		return usage("audit verify online uses the slowpath's own key; --key and --anchor "
			     "are for audit verify DIR");
	/* the whole log is walked: the default wait of one answer is too short */
	rc = audit_request(o,
			   o->co->timeout_ms == TIMEOUT_DEFAULT * 1000
				   ? VERIFY_TIMEOUT_DEFAULT * 1000
				   : 0,
			   "audit.verify", json_object(), &res);
	if (rc != EXIT_OK)
		return rc;
	return print_verdict(res, o->json);
}

/* Prints a tail result's records; *next gets the seq after the last. */
static size_t
print_records(const json_t *res, bool json, uint64_t *next)
{
	const json_t *recs = json_object_get(res, "records");
	size_t i;
	json_t *r;

	json_array_foreach(recs, i, r) {
		print_record(r, json);
		*next = (uint64_t)jint(r, "seq") + 1;
	}
	fflush(stdout);
	return json_array_size(recs);
}

/*
 * Reads records *next.. to - 1 on b and prints them. With wait, until all
 * came: they are known to exist and become durable within a commit delay.
 */
static int
tail_catch_up(struct opts *o, struct conn *b, uint64_t *next, uint64_t to, bool wait)
{
	struct timespec pause = { 0, CATCHUP_POLL_MS * 1000000L }, t0;
	json_t *params, *res;
	size_t got;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (*next < to) {
		params = json_pack("{s:I, s:I}", "from", (json_int_t)*next, "n",
				   (json_int_t)(to - *next < 1000 ? to - *next : 1000));
		rc = conn_call(b, "audit.tail", params, o->json, &res);
		json_decref(params);
		if (rc != EXIT_OK)
			return rc;
		got = print_records(res, o->json, next);
		json_decref(res);
		if (got == 0 && !wait)
			break;
		if (got == 0 && elapsed_ms(&t0) > o->co->timeout_ms) {
			fprintf(stderr,
				PROG ": records %" PRIu64 "..%" PRIu64
				" did not become durable within %d s\n",
				*next, to - 1, o->co->timeout_ms / 1000);
			return EXIT_BAD;
		}
		if (got == 0)
			nanosleep(&pause, NULL);
	}
	return EXIT_OK;
}

/*
 * audit tail -f. The watch comes first and the tail on the same
 * connection after it, so every record published after the tail's answer
 * comes on the stream; the tail ends at the durable size, and what was
 * appended but not yet committed then is read on a second connection
 * once durable. The stream does not carry every record (the store's own
 * checkpoints are not published): a gap before a streamed record, or a
 * second without events, is filled from the durable log the same way. A
 * record is printed when seq is the next one, never twice.
 */
static int
audit_follow(struct opts *o, json_t *params)
{
	struct copts co = audit_copts(o, 0);
	json_t *res = NULL, *msg, *ev, *watch = json_object();
	struct conn c = { .fd = -1 }, b = { .fd = -1 };
	uint64_t next = 0, seq;
	int rc;

	if ((rc = conn_open(&c, co.socket, co.timeout_ms)) != EXIT_OK ||
	    (rc = conn_open(&b, co.socket, co.timeout_ms)) != EXIT_OK)
		goto out;
	if ((rc = conn_call(&c, TG_MGMT_M_WATCH, watch, o->json, &res)) != EXIT_OK)
		goto out;
	json_decref(res);
	if ((rc = conn_call(&c, "audit.tail", params, o->json, &res)) != EXIT_OK)
		goto out;
	next = (uint64_t)jint(res, "durable");
	seq = (uint64_t)jint(res, "size");
	print_records(res, o->json, &next);
	json_decref(res);
	if ((rc = tail_catch_up(o, &b, &next, seq, true)) != EXIT_OK)
		goto out;
	for (;;) {
		struct pollfd p = { .fd = c.fd, .events = POLLIN };

		if ((c.buf == NULL || memchr(c.buf, '\n', c.len) == NULL) &&
		    poll(&p, 1, FOLLOW_IDLE_MS) == 0) {
			if ((rc = tail_catch_up(o, &b, &next, UINT64_MAX, false)) != EXIT_OK)
				goto out;
			continue;
		}
		if ((rc = conn_recv(&c, -1, &msg)) != EXIT_OK)
			goto out;
		if ((ev = json_object_get(msg, "event")) != NULL) {
			const json_t *s = json_object_get(ev, "seq");

			seq = json_is_integer(s) ? (uint64_t)json_integer_value(s) : next;
			if (seq > next)
				rc = tail_catch_up(o, &b, &next, seq, true);
			if (rc == EXIT_OK && seq >= next) {
				print_record(ev, o->json);
				fflush(stdout);
				next = json_is_integer(s) ? seq + 1 : next;
			}
		} else if (json_object_get(msg, "error") != NULL) {
			rc = report_error(TG_MGMT_M_WATCH, msg, o->json); /* too_slow */
		}
		json_decref(msg);
		if (rc != EXIT_OK)
			goto out;
	}
out:
	conn_close(&c);
	conn_close(&b);
	json_decref(watch);
	return rc;
}

static int
audit_tail(struct opts *o)
{
	json_t *params = json_object(), *res;
	uint64_t next;
	int rc;

	if (o->nargs != 0) {
		json_decref(params);
		return usage("audit tail takes no arguments");
	}
	if (params != NULL && o->count != 0)
		json_object_set_new(params, "n", json_integer((json_int_t)o->count));
	if (o->follow) {
		rc = audit_follow(o, params);
		json_decref(params);
		return rc;
	}
	if ((rc = audit_request(o, 0, "audit.tail", params, &res)) != EXIT_OK)
		return rc;
	if (o->json) {
		print_json(res);
		return EXIT_OK;
	}
	print_records(res, false, &next);
	json_decref(res);
	return EXIT_OK;
}

/* ---- audit export: SIEM events, offline and online (siem_export.h) --- */

static int
export_print(void *arg, uint64_t seq, const char *event, size_t len)
{
	(void)arg;
	(void)seq;
	if (fwrite(event, 1, len, stdout) != len || fputc('\n', stdout) == EOF)
		return -EIO;
	return 0;
}

static int
export_read(void *arg, uint64_t from, uint64_t n, tg_audit_record_fn fn, void *fnarg)
{
	char err[256];

	return tg_audit_log_records(arg, from, n, fn, fnarg, err, sizeof(err));
}

static void
export_note(void *arg, uint64_t seq, char *buf, size_t size)
{
	struct tg_audit_inclusion *p = calloc(1, sizeof(*p));
	char err[256];

	buf[0] = '\0';
	if (p == NULL)
		return;
	if (tg_audit_log_inclusion(arg, seq, seq + 1, NULL, p, err, sizeof(err)) == 0) {
		if (p->checkpoint && p->note_len < size) {
			memcpy(buf, p->note, p->note_len);
			buf[p->note_len] = '\0';
		}
		tg_audit_inclusion_release(p);
	}
	free(p);
}

/* tgctl audit export DIR --format F [--since SEQ] [--until SEQ] */
static int
cmd_export(struct opts *o)
{
	struct tg_siem_source src = { export_read, export_note, NULL };
	struct tg_audit_log *l;
	uint64_t next = 0, n;
	int fmt, rc;

	if (o->nargs != 1)
		return usage("audit export takes a directory (offline) or none (online)");
	fmt = tg_siem_format_by_name(o->format != NULL ? o->format : "");
	if (fmt < 0)
		return usage("audit export needs --format ocsf|cef|ecs|jsonl");
	if (o->has_until && o->until < o->since)
		return usage("--until is below --since");
	if ((l = open_log(o->args[0])) == NULL)
		return EXIT_USAGE;
	n = o->has_until ? o->until - o->since + 1 : UINT64_MAX;
	src.arg = l;
	rc = tg_siem_export(&src, (enum tg_siem_format)fmt, o->since, n, TG_VERSION, export_print,
			    NULL, &next);
	tg_audit_log_close(l);
	if (fflush(stdout) == EOF && rc >= 0)
		rc = -EIO;
	if (rc < 0) {
		fprintf(stderr, PROG ": audit export %s: record %" PRIu64 ": %s\n", o->args[0], next,
			strerror(-rc));
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/*
 * Online: audit.export a page at a time, up to the durable size of the
 * first answer (a live log grows: the export is of the log as it was).
 */
static int
audit_export(struct opts *o)
{
	struct copts co = audit_copts(o, 0);
	json_int_t next, end = -1;
	struct conn c;
	json_t *res, *params, *ev;
	size_t i;
	int rc;

	if (o->format == NULL || tg_siem_format_by_name(o->format) < 0)
		return usage("audit export needs --format ocsf|cef|ecs|jsonl");
	if (o->has_until && o->until < o->since)
		return usage("--until is below --since");
	if (conn_open(&c, co.socket, co.timeout_ms) < 0)
		return EXIT_CONN;
	next = (json_int_t)o->since;
	for (;;) {
		params = json_pack("{s:s, s:I}", "format", o->format, "since", next);
		if (params != NULL && o->has_until)
			json_object_set_new(params, "until", json_integer((json_int_t)o->until));
		if ((rc = conn_call(&c, "audit.export", params, false, &res)) != EXIT_OK)
			break;
		json_array_foreach(json_object_get(res, "events"), i, ev)
			printf("%s\n", json_string_value(ev));
		if (end < 0)
			end = json_integer_value(json_object_get(res, "durable"));
		if (o->has_until && (json_int_t)o->until + 1 < end)
			end = (json_int_t)o->until + 1;
		next = json_integer_value(json_object_get(res, "next"));
		i = json_array_size(json_object_get(res, "events"));
		json_decref(res);
		if (i == 0 || next >= end)
			break;
	}
	conn_close(&c);
	if (fflush(stdout) == EOF && rc == EXIT_OK)
		rc = EXIT_USAGE;
	return rc;
}

/*
 * The offline form of a command reads a directory; its online form (the
 * same name, online_nargs arguments, none a directory) asks the slowpath.
 */
static int
audit_main(int argc, char **argv, const struct copts *co)
{
	static const struct {
		const char *name;
		int (*fn)(struct opts *o);
		int (*online)(struct opts *o);
		int online_nargs;
	} cmds[] = {
		{ "verify", cmd_verify, audit_verify, 0 },
		{ "proof", cmd_proof, audit_proof, 1 },
		{ "consistency", cmd_consistency, NULL, 0 },
		{ "pubkey", cmd_pubkey, NULL, 0 },
		{ "tail", NULL, audit_tail, 0 },
		{ "show", NULL, audit_show, 1 },
		{ "export", cmd_export, audit_export, 0 },
	};
	struct stat st;
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
		o.co = co;
		if (o.bundle != NULL) {
			if (cmds[i].fn != cmd_verify || o.nargs != 0)
				return usage("--bundle is for audit verify --bundle FILE, alone");
			return tgctl_bundle_verify(o.bundle, o.key, o.json);
		}
		if (cmds[i].online != NULL &&
		    (cmds[i].fn == NULL ||
		     (o.nargs == cmds[i].online_nargs &&
		      (o.nargs == 0 || stat(o.args[0], &st) < 0 || !S_ISDIR(st.st_mode)))))
			return cmds[i].online(&o);
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
		{ "sessions", cmd_sessions, sessions_usage, false },
		{ "flows", cmd_flows, flows_usage, false },
		{ "grants", cmd_grants, grants_usage, false },
		{ "approvals", cmd_approvals, approvals_usage, false },
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
		if (output_prometheus)
			return usage("-o prometheus: only for stats");
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
		if (output_prometheus && cmds[k].fn != cmd_stats)
			return usage("-o prometheus: only for stats");
		return cmds[k].fn(&co);
	}
	fprintf(stderr, PROG ": unknown command: %s\n", argv[i]);
	fputs(main_usage_text, stderr);
	return EXIT_USAGE;
}
