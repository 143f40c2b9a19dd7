/*
 * mkmap_query - the read side of postmap and postalias: -q (one key or keys
 * from stdin), -d (one key or keys from stdin), -s (list), and the mode
 * dispatch both commands share.  Tables are opened through the helpers in
 * mkmap.c, so errors name them the way Postfix does.
 */
#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/lline.h"
#include "lib/util/dict.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/mkmap.h"

/* Open one table named on the command line, or die as Postfix does. */
static struct dict *
mkmap_open_query(const char *spec, const char *deftype, int open_flags,
    int dict_flags)
{
	struct str *why = str_new(100);
	struct str *full = str_new(100);
	char *type, *name;
	struct dict *d;

	mkmap_split(spec, deftype, &type, &name);
	str_fmt(full, "%s:%s", type, name);
	if ((d = mkmap_track(dict_open(str_ptr(full), open_flags, dict_flags,
		 why))) == NULL)
		msg_fatal("%s", str_ptr(why));
	free(type);
	free(name);
	str_free(full);
	str_free(why);
	return d;
}

/*
 * One lookup with Postfix's checks around it: a key that is not UTF-8 is
 * not found (with a warning) when SMTPUTF8 is on, an empty value draws two
 * warnings, and a table error is fatal.
 */
static const char *
mkmap_lookup(struct dict *d, const char *key, bool utf8, const char *as)
{
	static struct str *decoded;
	struct str *tmp;
	const char *value;

	if (utf8 && !mkmap_utf8_ok(key, strlen(key))) {
		tmp = str_new(100);
		mkmap_warn(
		    "%s: non-UTF-8 key \"%s\": malformed UTF-8 or invalid codepoint",
		    mkmap_dict_label(d), mkmap_printable(key, tmp));
		str_free(tmp);
		return NULL;
	}
	errno = 0;
	value = dict_get(d, key);
	if (value != NULL && mkmap_base64) {
		if (decoded == NULL)
			decoded = str_new(100);
		if (mkmap_b64_decode(value, decoded) < 0) {
			mkmap_warn(
			    "table %s: key %s: malformed BASE64 value: %s",
			    mkmap_dict_label(d), key, value);
			msg_fatal("table %s: query error", mkmap_dict_label(d));
		}
		value = str_ptr(decoded);
	}
	if (value != NULL && *value == 0) {
		if (as == NULL)
			as = mkmap_dict_label(d);
		mkmap_warn(
		    "table %s: key %s: empty string result is not allowed", as,
		    key);
		mkmap_warn(
		    "table %s should return NO RESULT in case of NOT FOUND",
		    as);
	}
	if (value == NULL) {
		switch (d->error) {
		case DICT_ERR_NONE:
			break;
		case DICT_ERR_CONFIG:
			msg_fatal("table %s: query error", mkmap_dict_label(d));
		default:
			msg_fatal("table %s: query error: %s",
			    mkmap_dict_label(d), mkmap_errtext());
		}
	}
	return value;
}

int
mkmap_query(const char *spec, const char *deftype, const char *key,
    int dict_flags, bool utf8)
{
	struct dict *d = mkmap_open_query(spec, deftype, O_RDONLY, dict_flags);
	struct str *as = str_new(100);
	const char *value;
	char *type, *name;
	int found;

	/* One query names the table as given; -q - names it as opened. */
	mkmap_split(spec, deftype, &type, &name);
	str_fmt(as, "%s:%s", type, name);
	free(type);
	free(name);
	if ((value = mkmap_lookup(d, key, utf8, str_ptr(as))) != NULL)
		printf("%s\n", value);
	found = value != NULL;
	fflush(stdout);
	mkmap_dict_close(d);
	str_free(as);
	return found;
}

/* Read one line without its newline; false at end of input. */
static bool
mkmap_getline(FILE *in, struct str *buf)
{
	int c;

	str_reset(buf);
	if ((c = getc(in)) == EOF)
		return false;
	for (; c != EOF && c != '\n'; c = getc(in))
		str_catc(buf, c);
	return true;
}

struct mkmap_batch {
	char **specs;
	int count;
	const char *deftype;
	int dict_flags;
	bool utf8;
	struct dict **dicts;
};

struct mkmap_batch *
mkmap_batch_new(char **specs, int count, const char *deftype, int dict_flags,
    bool utf8)
{
	struct mkmap_batch *b = xcalloc(1, sizeof(*b));

	b->specs = specs;
	b->count = count;
	b->deftype = deftype;
	b->dict_flags = dict_flags;
	b->utf8 = utf8;
	b->dicts = xcalloc((size_t)count, sizeof(*b->dicts));
	return b;
}

bool
mkmap_batch_query(struct mkmap_batch *b, const char *key, const char *sep)
{
	const char *value;

	/* Tables open on first use, as in Postfix. */
	for (int n = 0; n < b->count; n++) {
		if (b->dicts[n] == NULL)
			b->dicts[n] = mkmap_open_query(b->specs[n], b->deftype,
			    O_RDONLY, b->dict_flags);
		value = mkmap_lookup(b->dicts[n], key, b->utf8, NULL);
		if (value != NULL) {
			printf("%s%s%s\n", key, sep, value);
			return true;
		}
	}
	return false;
}

struct mkmap_batch *
mkmap_batch_free(struct mkmap_batch *b)
{
	if (b == NULL)
		return NULL;
	fflush(stdout);
	for (int n = 0; n < b->count; n++)
		if (b->dicts[n])
			mkmap_dict_close(b->dicts[n]);
	free(b->dicts);
	free(b);
	return NULL;
}

int
mkmap_queries(FILE *in, char **specs, int count, const char *deftype,
    int dict_flags, bool utf8, const char *sep)
{
	struct mkmap_batch *b;
	struct str *key = str_new(100);
	int found = 0;

	b = mkmap_batch_new(specs, count, deftype, dict_flags, utf8);
	while (mkmap_getline(in, key))
		found |= mkmap_batch_query(b, str_ptr(key), sep);
	mkmap_batch_free(b);
	str_free(key);
	return found;
}

/* proxy: tables are opened for update with O_CREAT, as Postfix does. */
static int
mkmap_del_flags(const char *spec)
{
	return strncmp(spec, "proxy:", 6) == 0 ? O_RDWR | O_CREAT : O_RDWR;
}

int
mkmap_delete(const char *spec, const char *deftype, const char *key,
    int dict_flags)
{
	struct dict *d;
	int rc;

	d = mkmap_open_query(spec, deftype, mkmap_del_flags(spec), dict_flags);
	errno = 0;
	rc = dict_del(d, key);
	if (rc < 0 || d->error)
		msg_fatal("table %s: delete error: %s", mkmap_dict_label(d),
		    mkmap_errtext());
	mkmap_dict_close(d);
	return rc == 0;
}

int
mkmap_deletes(FILE *in, char **specs, int count, const char *deftype,
    int dict_flags)
{
	struct dict **dicts = xcalloc((size_t)count, sizeof(*dicts));
	struct str *key = str_new(100);
	int found = 0, rc;

	for (int n = 0; n < count; n++)
		dicts[n] = mkmap_open_query(specs[n], deftype,
		    mkmap_del_flags(specs[n]), dict_flags);
	while (mkmap_getline(in, key)) {
		for (int n = 0; n < count; n++) {
			errno = 0;
			rc = dict_del(dicts[n], str_ptr(key));
			if (rc < 0 || dicts[n]->error)
				msg_fatal("table %s: delete error: %s",
				    mkmap_dict_label(dicts[n]),
				    mkmap_errtext());
			found |= rc == 0;
		}
	}
	for (int n = 0; n < count; n++)
		mkmap_dict_close(dicts[n]);
	free(dicts);
	str_free(key);
	return found;
}

void
mkmap_seq(const char *spec, const char *deftype, int dict_flags,
    const char *sep)
{
	struct dict *d;
	const char *key, *value;
	struct str *decoded = str_new(100);
	char *type, *name;
	int rc;

	mkmap_split(spec, deftype, &type, &name);
	if (strcmp(type, "proxy") == 0)
		msg_fatal("can't sequence maps via the proxy service");
	d = mkmap_open_query(spec, deftype, O_RDONLY, dict_flags);
	if (d->sequence == NULL)
		msg_fatal("table %s:%s: sequence operation is not supported",
		    type, name);
	for (int func = DICT_SEQ_FIRST;; func = DICT_SEQ_NEXT) {
		errno = 0;
		if ((rc = dict_seq(d, func, &key, &value)) != 0)
			break;
		if (*key == 0) {
			mkmap_warn(
			    "table %s:%s: empty lookup key value is not allowed",
			    type, name);
		} else if (*value == 0) {
			mkmap_warn(
			    "table %s:%s: key %s: empty string result is not allowed",
			    type, name, key);
			mkmap_warn(
			    "table %s:%s should return NO RESULT in case of NOT FOUND",
			    type, name);
		}
		if (mkmap_base64) {
			if (mkmap_b64_decode(value, decoded) < 0) {
				mkmap_warn(
				    "table %s: key %s: malformed BASE64 value: %s",
				    mkmap_dict_label(d), key, value);
				continue;
			}
			value = str_ptr(decoded);
		}
		printf("%s%s%s\n", key, sep, value);
	}
	str_free(decoded);
	if (rc < 0 || d->error)
		msg_fatal("table %s: sequence error: %s", mkmap_dict_label(d),
		    mkmap_errtext());
	fflush(stdout);
	mkmap_dict_close(d);
	free(type);
	free(name);
}

/* Lookup flags for -d, -q and -s: -N/-n as given, else try both forms. */
int
mkmap_read_flags(int nul_flags)
{
	return DICT_FLAG_LOCK |
	    (nul_flags ? nul_flags : DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL);
}

/*
 * The -d KEY, -q KEY and -s modes that postmap and postalias share, on the
 * tables named in specs (-s lists only the first, as Postfix does).
 * Returns the exit status: 0 when a key was found (or removed), else 1.
 */
int
mkmap_run(const char *delkey, const char *query, char **specs, int count,
    const char *deftype, int dict_flags, bool utf8, const char *sep)
{
	int found = 0;

	if (delkey) {
		if (strcmp(delkey, "-") == 0)
			return !mkmap_deletes(stdin, specs, count, deftype,
			    dict_flags);
		for (int i = 0; i < count; i++)
			found |= mkmap_delete(specs[i], deftype, delkey,
			    dict_flags);
		return !found;
	}
	if (query) {
		if (strcmp(query, "-") == 0)
			return !mkmap_queries(stdin, specs, count, deftype,
			    dict_flags, utf8, sep);
		for (int i = 0; i < count; i++)
			if (mkmap_query(specs[i], deftype, query, dict_flags,
				utf8))
				return 0;
		return 1;
	}
	if (count < 1)
		return 1;
	mkmap_seq(specs[0], deftype, dict_flags, sep);
	return 0;
}
