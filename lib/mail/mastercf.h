/*
 * mastercf - parse master.cf: eight columns with "-" defaults, continuation
 * lines, -o name=value and -o { name = value with spaces }, { } quoting.
 *
 * mastercf_read(path, why)     parse a file; NULL with why ("PATH: line N: ...",
 *                              master(8)'s texts) on the first error.  A later
 *                              entry with the same name and type replaces the
 *                              earlier one.
 * mastercf_read_flags(path, flags, why)  the same with MCF_FLAG_* (postconf:
 *                              keep duplicates, warn about brace errors)
 * mastercf_parse_line(mc, text, lineno, why)  parse one logical line: 0 ok, -1
 * mastercf_new(path), mastercf_free(mc)
 * mastercf_find(mc, name, type) an entry or NULL
 *
 * mastercf_type_name(type)     "inet", "unix", ...
 * mastercf_entry_free(e)       free one entry (NULL is fine); returns NULL
 *
 * After a failed parse, mc->err, mc->err_field and mc->err_value say what was
 * wrong, so that postconf can word the error the way postconf(1) does.
 *
 * Fields keep the text as written ("-" included) so postconf -M can print it;
 * the mastercf_* helpers return effective values.
 */
#ifndef MASTERCF_H
#define MASTERCF_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util/argv.h"
#include "lib/util/str.h"

enum mastercf_type { MCF_INET, MCF_UNIX, MCF_UNIX_DGRAM, MCF_FIFO, MCF_PASS };

struct mastercf_entry {
	char *field[8];		/* as written: name type private unpriv chroot wakeup maxproc command */
	struct argv *args;	/* command and arguments, { } removed; field[7] is args->argv[0] */
	struct argv *opt_names;	/* -o names, in order */
	struct argv *opt_values;	/* -o values, parallel to opt_names */
	enum mastercf_type type;
	char *host;		/* inet: host part or NULL ("[::1]" keeps no brackets) */
	char *port;		/* inet: port or service name */
	bool private_;		/* effective values */
	bool unpriv;
	bool chroot;
	int wakeup;
	bool wakeup_conditional;	/* "60?" */
	int maxproc;		/* -1 = $default_process_limit */
	int lineno;
};

#define MCF_FLAG_KEEP_DUPS	(1 << 0)	/* keep same name/type entries */
#define MCF_FLAG_LENIENT	(1 << 1)	/* postconf: lax braces, inet */

enum mastercf_err { MCF_ERR_NONE, MCF_ERR_FIELDS, MCF_ERR_TYPE, MCF_ERR_BOOL,
	MCF_ERR_WAKEUP, MCF_ERR_MAXPROC, MCF_ERR_BRACE, MCF_ERR_INET };

struct mastercf {
	char *path;
	struct mastercf_entry **entries;
	size_t count;
	int flags;		/* MCF_FLAG_* */
	enum mastercf_err err;	/* why the last parse failed */
	int err_field;		/* index of the bad field */
	char *err_value;	/* the bad text */
};

struct mastercf *mastercf_new(const char *);
struct mastercf *mastercf_free(struct mastercf *);
struct mastercf *mastercf_read(const char *, struct str *)
    __attribute__((warn_unused_result));
struct mastercf *mastercf_read_flags(const char *, int, struct str *)
    __attribute__((warn_unused_result));
struct mastercf_entry *mastercf_entry_free(struct mastercf_entry *);
int mastercf_parse_line(struct mastercf *, const char *, int, struct str *)
    __attribute__((warn_unused_result));
const struct mastercf_entry *mastercf_find(const struct mastercf *,
    const char *, const char *);
const char *mastercf_type_name(enum mastercf_type);

#endif
