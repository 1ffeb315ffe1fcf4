/* SPDX-License-Identifier: MIT */
/*
 * jsonpos.h — where a value is in JSON text: the byte offset, line and
 * column of the value (or of an object member's key) that a path of member
 * names and array indices leads to.
 *
 * Why. jansson validates a document and builds the tree, but it keeps no
 * position for a value, only for a syntax error. A configuration error
 * such as an unknown action must still say "file:line:column". Rather than
 * write a second JSON parser that records everything, this walks the raw
 * text along one path, skipping the values it passes over without
 * building anything. It only ever runs on text that jansson has already
 * accepted (with JSON_REJECT_DUPLICATES, so a key names one member), so it
 * checks structure only as far as it needs to stay in bounds: on any other
 * text it returns -ENOENT or a wrong position, never reads outside
 * text[0..len).
 *
 * Positions count as jansson's error positions do, so that syntax errors
 * (from jansson) and semantic ones (from here) agree: lines are 1-based
 * and end at '\n' only (a "\r\n" file has the '\r' as the last column of
 * the line); columns are 1-based and count characters, not bytes (a UTF-8
 * sequence is one column, a tab is one column).
 *
 * Cost: a walk is O(bytes before the value), with no allocation and no
 * recursion (nested containers are skipped with a depth counter).
 * tg_jsonpos_next() and a shared struct tg_jsonpos_lc let a caller visit
 * every element of an array and position each in O(length of the text) in
 * all, rather than one walk from the start per element.
 */
#ifndef TG_JSONPOS_H
#define TG_JSONPOS_H

#include <stddef.h>
#include <stdint.h>

/* One step of a path: an object member by name, or an array element. */
struct tg_jsonpos_step {
	const char *key;	/* member name, NUL-terminated UTF-8; NULL: array element */
	size_t index;		/* element index, when key is NULL */
};

/*
 * The path of the value a checker is looking at, kept as it descends a
 * document (push a key or an index going in, pop coming out), so that an
 * error can name where it is. Schemas are at most TG_JSONPOS_PATH_MAX
 * deep; a deeper push is counted but not kept (tg_jsonpos_path_len()
 * then stops at the cap), never written past it.
 */
#define TG_JSONPOS_PATH_MAX 8

struct tg_jsonpos_path {
	struct tg_jsonpos_step step[TG_JSONPOS_PATH_MAX];
	unsigned int depth;
};

static inline void
tg_jsonpos_push_key(struct tg_jsonpos_path *p, const char *key)
{
	if (p->depth < TG_JSONPOS_PATH_MAX)
		p->step[p->depth] = (struct tg_jsonpos_step){ .key = key };
	p->depth++;
}

static inline void
tg_jsonpos_push_index(struct tg_jsonpos_path *p, size_t index)
{
	if (p->depth < TG_JSONPOS_PATH_MAX)
		p->step[p->depth] = (struct tg_jsonpos_step){ .key = NULL, .index = index };
	p->depth++;
}

static inline void
tg_jsonpos_pop(struct tg_jsonpos_path *p)
{
	p->depth--;
}

/* The steps kept: what tg_jsonpos_find() and friends take as depth. */
static inline unsigned int
tg_jsonpos_path_len(const struct tg_jsonpos_path *p)
{
	return p->depth < TG_JSONPOS_PATH_MAX ? p->depth : TG_JSONPOS_PATH_MAX;
}

/*
 * Byte offset of the value reached from the value at text[from] (leading
 * whitespace skipped) by path[0..depth). With want_key, the offset of the
 * key (its opening quote) of the last step's member instead, which must
 * then be a member name. Keys are compared after decoding the escapes of
 * the text ("\u00e9", "\"", surrogate pairs). Returns 0, -ENOENT (no such
 * member or element, or a container of the wrong kind on the way) or
 * -EINVAL (want_key with no member as the last step).
 */
int tg_jsonpos_offset(const char *text, size_t len, size_t from,
		      const struct tg_jsonpos_step *path, unsigned int depth, int want_key,
		      size_t *off);

/*
 * Offset of the array element or object member value that follows the
 * element at text[off] in its array (for an array; in an object the next
 * thing is a key, and this returns that key's offset). Returns 0, or
 * -ENOENT when off is the last one.
 */
int tg_jsonpos_next(const char *text, size_t len, size_t off, size_t *next);

/*
 * Line and column of a byte offset. lc remembers the last answer: an
 * offset at or after it is reached from there, an earlier one from the
 * start of the text, so a run of increasing offsets costs O(len) in all.
 * Start lc with TG_JSONPOS_LC_INIT. An offset past len counts as len.
 */
struct tg_jsonpos_lc {
	size_t off;
	uint32_t line;
	uint32_t col;
};

#define TG_JSONPOS_LC_INIT { .off = 0, .line = 1, .col = 1 }

void tg_jsonpos_linecol(const char *text, size_t len, size_t off, struct tg_jsonpos_lc *lc);

/*
 * The line and column of the value (tg_jsonpos_find) or of the last
 * member's key (tg_jsonpos_find_key) that path[0..depth) leads to from the
 * top of the document. Same returns as tg_jsonpos_offset().
 */
int tg_jsonpos_find(const char *text, size_t len, const struct tg_jsonpos_step *path,
		    unsigned int depth, uint32_t *line, uint32_t *col);
int tg_jsonpos_find_key(const char *text, size_t len, const struct tg_jsonpos_step *path,
			unsigned int depth, uint32_t *line, uint32_t *col);

#endif /* TG_JSONPOS_H */
