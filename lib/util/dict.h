/*
 * dict - the one lookup-table API every program uses.
 *
 * A table is named "type:name" ("hash:/etc/postfix/virtual", "pcre:/p",
 * "inline:{a=b}", "static:x", "proxy:hash:/p"...).  Lookups return the
 * value, or NULL with d->error telling "not found" (DICT_ERR_NONE) from a
 * failure (DICT_ERR_RETRY: try later; DICT_ERR_CONFIG: bad table).
 *
 * dict_open(spec, open_flags, dict_flags, why)  open a table; NULL and why
 *                        filled on failure (unknown type, missing file...)
 * dict_surrogate(spec, why_text)  a table whose every lookup fails with
 *                        DICT_ERR_RETRY: daemons use it for a table that cannot
 *                        be opened, so mail is deferred instead of crashing
 * dict_get(d, key)       lookup (applies DICT_FLAG_FOLD_FIX to the key)
 * dict_put(d, key, value) update: 0 ok, 1 duplicate kept (DUP_IGNORE/WARN), -1 error
 * dict_del(d, key)       delete: 0 ok, 1 not found, -1 error
 * dict_seq(d, func, &key, &value)  iterate (DICT_SEQ_FIRST, DICT_SEQ_NEXT):
 *                        0 got one, 1 end, -1 error
 * dict_sync(d)           flush to disk: 0 ok, -1 error
 * dict_close(d)          close and free; returns NULL
 * dict_types()           NULL-terminated list of the type names (postconf -m)
 * dict_changed(d)        true when the file behind d was modified since open
 *
 * Values returned by dict_get/dict_seq live until the next call on d.
 */
#ifndef DICT_H
#define DICT_H

#include <sys/types.h>
#include <fcntl.h>
#include <stdbool.h>
#include <time.h>

#include "lib/util/str.h"

/* dict_flags, Postfix's meanings. */
#define DICT_FLAG_DUP_WARN	(1 << 0)	/* warn about duplicate keys */
#define DICT_FLAG_DUP_IGNORE	(1 << 1)	/* keep the first silently */
#define DICT_FLAG_DUP_REPLACE	(1 << 2)	/* the last one wins */
#define DICT_FLAG_TRY0NULL	(1 << 3)	/* keys/values stored without NUL */
#define DICT_FLAG_TRY1NULL	(1 << 4)	/* keys/values stored with NUL */
#define DICT_FLAG_FOLD_FIX	(1 << 5)	/* fold fixed-string keys to lower case */
#define DICT_FLAG_LOCK		(1 << 6)	/* lock the file during access */
#define DICT_FLAG_FIXED		(1 << 7)	/* exact-match table (set by the type) */
#define DICT_FLAG_PATTERN	(1 << 8)	/* pattern table (set by the type) */
#define DICT_FLAG_NO_REGSUB	(1 << 9)	/* no $1 substitution in results */
#define DICT_FLAG_BULK_UPDATE	(1 << 10)	/* building a new table (postmap) */
#define DICT_FLAG_PARANOID	(1 << 11)	/* reject a lookup key with odd bytes */
#define DICT_FLAG_FOLD_ANY	DICT_FLAG_FOLD_FIX

/* Sensible defaults for readers and for postmap-style builders. */
#define DICT_FLAGS_READ		(DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK | \
				 DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL)
#define DICT_FLAGS_BUILD	(DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK | \
				 DICT_FLAG_DUP_WARN | DICT_FLAG_TRY1NULL | \
				 DICT_FLAG_BULK_UPDATE)

#define DICT_ERR_NONE	0	/* found, or not found */
#define DICT_ERR_RETRY	(-1)	/* soft error: try again later */
#define DICT_ERR_CONFIG	(-2)	/* hard error: bad configuration */

#define DICT_SEQ_FIRST	0
#define DICT_SEQ_NEXT	1

struct dict {
	char *type;		/* "hash" */
	char *name;		/* "/etc/postfix/virtual" */
	int flags;		/* DICT_FLAG_* */
	int error;		/* DICT_ERR_* of the last call */
	const char *(*lookup)(struct dict *, const char *);
	int (*update)(struct dict *, const char *, const char *);
	int (*delete)(struct dict *, const char *);
	int (*sequence)(struct dict *, int, const char **, const char **);
	int (*sync)(struct dict *);
	void (*close)(struct dict *);
	int stat_fd;		/* descriptor whose mtime dict_changed checks, or -1 */
	time_t mtime;		/* its mtime at open */
	struct str *fold_buf;	/* key folding buffer */
};

/* An opener: type-specific; spec is the part after "type:". */
typedef struct dict *dict_open_fn(const char *spec, int open_flags,
    int dict_flags, struct str *why);

struct dict *dict_open(const char *, int, int, struct str *)
    __attribute__((warn_unused_result));
struct dict *dict_surrogate(const char *, const char *);
const char *dict_get(struct dict *, const char *);
int dict_put(struct dict *, const char *, const char *);
int dict_del(struct dict *, const char *);
int dict_seq(struct dict *, int, const char **, const char **);
int dict_sync(struct dict *);
struct dict *dict_close(struct dict *);
const char *const *dict_types(void);
bool dict_changed(struct dict *);

/* For type implementations: allocate the common part (size >= sizeof). */
struct dict *dict_alloc(const char *type, const char *name, size_t size);
void dict_free_common(struct dict *);

/*
 * Notes on the functions above, as implemented:
 * - DICT_FLAG_FOLD_FIX folds the key only for tables that set
 *   DICT_FLAG_FIXED (hash, btree, inline, texthash, environ, unix...);
 *   pattern tables (regexp, pcre, cidr) see the key unchanged, as in
 *   Postfix, so that $1 keeps its case.
 * - dict_put returns 1 for an existing key unless DICT_FLAG_DUP_REPLACE
 *   is set (Postfix would be fatal without a DUP flag; the caller decides).
 * - dict_surrogate logs why_text as a warning once, when it is made, as
 *   Postfix's dict_surrogate does.
 * - Read-only types (pattern tables, cidr, texthash, unix) refuse an
 *   open_flags other than O_RDONLY: why = "TYPE:NAME map requires
 *   O_RDONLY access mode".
 *
 * Additions beyond the first contract (all additive).
 *
 * dict_text_parse_line(line, &key, &value)  split one logical line of a
 *                        postmap source file in place, as Postfix: the key
 *                        ends at the first white space not inside "..." and
 *                        not after a backslash (quotes and backslashes are
 *                        kept); value = the rest, trimmed.  0 ok,
 *                        DICT_TEXT_FORMAT: empty key or value (Postfix:
 *                        "FILE, line N: expected format: key whitespace
 *                        value"), DICT_TEXT_QUOTE: unbalanced '"' ("FILE,
 *                        line N: unbalanced '"' in 'LINE' -- ignoring this
 *                        line").  A key ending in ':' is accepted; Postfix
 *                        warns "record is in "key: value" format; is this an
 *                        alias file?".
 * dict_db_set_buffers(create, read)  berkeley_db_create_buffer_size and
 *                        berkeley_db_read_buffer_size (0 keeps the default)
 * dict_line_limit        longest physical line accepted in a pattern, cidr
 *                        or texthash source file (default 4 MB)
 */
#define DICT_TEXT_FORMAT	(-1)
#define DICT_TEXT_QUOTE		(-2)
int dict_text_parse_line(char *, char **, char **)
    __attribute__((warn_unused_result));
void dict_db_set_buffers(size_t, size_t);
extern size_t dict_line_limit;

/*
 * The engine shared by regexp: and pcre: (dict_pattern.c): it reads the
 * file (/re/flags result, !/re/ result, if /re/ ... endif), checks the
 * $n references and expands them; a type brings its regex library.
 * parse_flags warns about a bad flag and returns -1; compile warns about
 * a bad pattern and returns NULL, else sets *nsub to the group count;
 * match fills ovec[0..2*nvec) with offsets (-1: group unset) and
 * returns 1 match, 0 no match, -1 error.
 */
struct dict_pattern_ops {
	const char *type;		/* "pcre" */
	const char *no_delim;		/* "ignoring" or "skipping" */
	const char *bad_index;		/* "out of range" or "out-of-range" */
	int (*parse_flags)(const char *, int, const char *, int *);
	void *(*compile)(const char *, int, const char *, int, int *);
	int (*match)(void *, const char *, long *, int);
	void (*free)(void *);
};

struct dict *dict_pattern_open(const struct dict_pattern_ops *, const char *,
    int, int, struct str *);

/* The openers behind dict_open(), one per type (spec after "type:"). */
dict_open_fn dict_hash_open, dict_btree_open, dict_pcre_open,
    dict_regexp_open, dict_cidr_open, dict_inline_open, dict_static_open,
    dict_fail_open, dict_environ_open, dict_internal_open, dict_texthash_open,
    dict_unionmap_open, dict_pipemap_open, dict_unix_open, dict_randmap_open;

#endif
