/*
 * mkmap - what postmap and postalias share: build a table from source lines
 * into a temporary file that is renamed into place, and query, delete and
 * list entries of existing tables, with Postfix's messages and exit codes.
 *
 * mkmap_config(dir, &conf)  config_init + config_read (fatal on failure) and
 *                        the parameters both commands need
 * mkmap_split(arg, deftype, &type, &name)  "type:name" or a bare name (which
 *                        gets deftype); caller frees both strings
 * mkmap_open(type, name, open_flags, dict_flags, why)  start a build: with
 *                        O_TRUNC into a temporary file beside the result
 *                        ("/p.db" for hash:/p), else in place (-i); NULL
 *                        with why on failure
 * mkmap_append(m, key, value)  add one entry; duplicates are handled as the
 *                        DICT_FLAG_DUP_* flags say, with Postfix's warning:
 *                        0 stored, 1 duplicate not stored; a write error
 *                        is fatal ("table hash:/p: write error: ...")
 * mkmap_close(m, why)    flush, close and rename into place: 0 or -1 (why)
 * mkmap_abort(m)         discard the temporary file; returns NULL
 * mkmap_build(type, name, bflags, open_flags, dict_flags, utf8, line_fn, end_fn)
 *                        postmap/postalias build: read the source (stdin with
 *                        -i), as its owner when root (MKMAP_AS_OWNER), result
 *                        permissions from the source (MKMAP_SAVE_PERM); hand
 *                        each logical line to line_fn, then call end_fn (may
 *                        be NULL) and close; errors are fatal
 * mkmap_parse_line(line, &key, &value, why)  split a postmap(1) source line
 *                        in place ("key whitespace value", "quoted key"):
 *                        0 ok, -1 with why (the warning text after "FILE,
 *                        line N: ")
 * mkmap_set_base64(on)  postmap -F: query and list results are base64-
 *                        decoded ("malformed BASE64 value" is a table error)
 * mkmap_file_to_b64(list, out, why)  -F when building: the files named in
 *                        list (commas/white space), joined with newlines,
 *                        base64-encoded into out: 0, or -1 with why
 * mkmap_utf8_ok(s, len)  s is valid UTF-8 (no overlongs, no surrogates)
 * mkmap_printable(s, out)  s with bytes that are neither printable ASCII nor
 *                        valid UTF-8 replaced by '?', as Postfix logs them
 * mkmap_warn(fmt, ...)   msg_warn() with the text made printable as Postfix
 *                        logs it (input bytes in messages become '?')
 * mkmap_query(spec, deftype, key, flags, utf8)  postmap -q key on one table:
 *                        1 found (value printed), 0 not found; fatal on error
 * mkmap_queries(in, specs, n, deftype, flags, utf8, sep)  -q -: keys from in,
 *                        "key<sep>value" for each found; 1 if any found
 * mkmap_batch_new(specs, n, deftype, flags, utf8), mkmap_batch_query(b, key,
 *                        sep), mkmap_batch_free(b)  the same, one key at a
 *                        time (postmap -h/-b)
 * mkmap_delete(spec, deftype, key, flags)  -d key: 1 removed, 0 not found
 * mkmap_deletes(in, specs, n, deftype, flags)  -d -: 1 if any removed
 * mkmap_seq(spec, deftype, flags, sep)  -s: print every entry
 * mkmap_init(argv, &opts)  common start: program name, umask, fds 0-2, defaults
 * mkmap_option(ch, optarg, &opts)  handle an option both commands share
 *                        (-c -d -f -i -N -n -o -p -q -r -s -u -v -w): true if
 *                        ch was one
 * mkmap_read_flags(nul_flags)  lookup flags for -d/-q/-s (-N/-n, else both)
 * mkmap_run(delkey, query, specs, n, deftype, flags, utf8, sep)  the -d, -q
 *                        and -s modes both commands share (-s when delkey
 *                        and query are NULL): the exit status
 */
#ifndef MKMAP_H
#define MKMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/util/dict.h"
#include "lib/util/str.h"

struct mkmap {
	struct dict *dict;
	char *type;    /* "hash" */
	char *name;    /* "/etc/postfix/virtual" */
	char *final;   /* "/etc/postfix/virtual.db", or NULL */
	char *temp;    /* the temporary file renamed to final, or NULL */
	char *label;   /* file name in duplicate warnings */
	int dup_flags; /* the DICT_FLAG_DUP_* the caller asked for */
};

struct mkmap_conf {
	char *db_type;    /* default_database_type */
	bool utf8;        /* smtputf8_enable */
	char *myhostname; /* myhostname (postalias's YP_MASTER_NAME) */
};

/* Command-line state both commands share (mkmap_init, mkmap_option). */
struct mkmap_opts {
	const char *confdir;	/* -c */
	const char *query;	/* -q */
	const char *delkey;	/* -d */
	bool sequence;		/* -s */
	bool utf8_off;		/* -u */
	int build_flags;	/* MKMAP_*: -o, -p */
	int open_flags;		/* -i */
	int dict_flags;		/* -f, -r, -w */
	int nul_flags;		/* -N, -n */
};

#define MKMAP_AS_OWNER  (1 << 0) /* run as the source file's owner */
#define MKMAP_SAVE_PERM (1 << 1) /* result's g/o read bits from source */

/* One logical source line (modifiable), its file name and first line. */
typedef void mkmap_line_fn(struct mkmap *, char *, const char *, int);
typedef void mkmap_end_fn(struct mkmap *, int);

void mkmap_config(const char *, struct mkmap_conf *);
void mkmap_split(const char *, const char *, char **, char **);
struct mkmap *mkmap_open(const char *, const char *, int, int, struct str *);
int mkmap_append(struct mkmap *, const char *, const char *);
int mkmap_close(struct mkmap *, struct str *)
    __attribute__((warn_unused_result));
struct mkmap *mkmap_abort(struct mkmap *);
void mkmap_build(const char *, const char *, int, int, int, bool,
    mkmap_line_fn *, mkmap_end_fn *);
int mkmap_parse_line(char *, char **, char **, struct str *)
    __attribute__((warn_unused_result));
void mkmap_set_base64(bool);
int mkmap_file_to_b64(const char *, struct str *, struct str *)
    __attribute__((warn_unused_result));
bool mkmap_utf8_ok(const char *, size_t);
const char *mkmap_printable(const char *, struct str *);
void mkmap_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
int mkmap_read_flags(int);
void mkmap_init(char **, struct mkmap_opts *);
bool mkmap_option(int, const char *, struct mkmap_opts *);

/* Shared by mkmap.c and mkmap_query.c only. */
extern bool mkmap_base64;
struct dict *mkmap_track(struct dict *);
struct dict *mkmap_dict_close(struct dict *);
const char *mkmap_errtext(void);
const char *mkmap_dict_label(const struct dict *);
int mkmap_b64_decode(const char *, struct str *);
int mkmap_run(const char *, const char *, char **, int, const char *, int,
    bool, const char *);
int mkmap_query(const char *, const char *, const char *, int, bool);
int mkmap_queries(FILE *, char **, int, const char *, int, bool, const char *);
struct mkmap_batch;
struct mkmap_batch *mkmap_batch_new(char **, int, const char *, int, bool);
bool mkmap_batch_query(struct mkmap_batch *, const char *, const char *);
struct mkmap_batch *mkmap_batch_free(struct mkmap_batch *);
int mkmap_delete(const char *, const char *, const char *, int);
int mkmap_deletes(FILE *, char **, int, const char *, int);
void mkmap_seq(const char *, const char *, int, const char *);

#endif
