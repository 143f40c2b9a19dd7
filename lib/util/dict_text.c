/*
 * dict_text - texthash: tables (a postmap source file read into memory
 * when opened) and the source-line parser that postmap shares.
 *
 * Format, as Postfix 3.7 (src/util/dict_thash.c): "key whitespace value";
 * comments, blank lines and continuation lines as in lline.h.  The key
 * ends at the first white space that is neither inside double quotes nor
 * escaped with a backslash; quotes and backslashes stay in the key.
 * Warnings use Postfix's texts ("FILE, line N: ...").
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/dict.h"
#include "lib/util/lline.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"

static char *
dict_text_trim(char *s)
{
	char *e;

	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]);)
		*--e = 0;
	return s;
}

int
dict_text_parse_line(char *line, char **key, char **value)
{
	bool in_quotes = false;
	char *p;

	while (isspace((unsigned char)*line))
		line++;
	for (p = line; *p; p++) {
		if (*p == '\\') {
			if (*++p == 0)
				break;
		} else if (isspace((unsigned char)*p)) {
			if (!in_quotes)
				break;
		} else if (*p == '"') {
			in_quotes = !in_quotes;
		}
	}
	if (in_quotes)
		return DICT_TEXT_QUOTE;
	if (*p)
		*p++ = 0;
	while (isspace((unsigned char)*p))
		p++;
	*key = dict_text_trim(line);
	*value = dict_text_trim(p);
	if (**key == 0 || **value == 0)
		return DICT_TEXT_FORMAT;
	return 0;
}

struct dict *
dict_texthash_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	struct dict *d;
	struct str *line;
	struct lline ll;
	char *key, *value;
	FILE *fp;
	int rc;

	if ((open_flags & O_ACCMODE) != O_RDONLY) {
		str_fmt(why, "texthash:%s map requires O_RDONLY access mode",
		    name);
		return NULL;
	}
	if ((fp = fopen(name, "re")) == NULL) {
		str_fmt(why, "open database %s: %m", name);
		return NULL;
	}
	/* The in-memory store of internal:, filled here, then read-only. */
	d = dict_internal_open(name, O_RDWR, dict_flags, why);
	free(d->type);
	d->type = xstrdup("texthash");
	if ((dict_flags & (DICT_FLAG_DUP_IGNORE | DICT_FLAG_DUP_REPLACE)) == 0)
		d->flags |= DICT_FLAG_DUP_WARN;
	line = str_new(200);
	lline_open(&ll, fp, name, dict_line_limit);
	while ((rc = lline_read(&ll, line)) != 0) {
		if (rc < 0) {
			msg_warn("%s -- ignoring this line", str_ptr(ll.why));
			continue;
		}
		if (ll.leading_ws) {
			msg_warn(
			    "%s: logical line must not start with whitespace: \"%.30s%s\"",
			    name, str_ptr(line),
			    strlen(str_ptr(line)) > 30 ? "..." : "");
			continue;
		}
		switch (dict_text_parse_line(str_ptr(line), &key, &value)) {
		case DICT_TEXT_QUOTE:
			msg_warn(
			    "%s, line %d: unbalanced '\"' in '%s' -- ignoring this line",
			    name, ll.lineno, str_ptr(line));
			continue;
		case DICT_TEXT_FORMAT:
			msg_warn(
			    "%s, line %d: expected format: key whitespace value -- ignoring this line",
			    name, ll.lineno);
			continue;
		}
		if (key[strlen(key) - 1] == ':')
			msg_warn(
			    "%s, line %d: record is in \"key: value\" format; is this an alias file?",
			    name, ll.lineno);
		if (dict_put(d, key, value) == 1 &&
		    (dict_flags & DICT_FLAG_DUP_IGNORE) == 0)
			msg_warn("%s, line %d: duplicate entry: \"%s\"", name,
			    ll.lineno,
			    d->flags & DICT_FLAG_FOLD_FIX ? str_ptr(d->fold_buf)
							  : key);
	}
	rc = ferror(fp) ? -1 : 0;
	if (rc < 0)
		str_fmt(why, "read %s: %m", name);
	lline_close(&ll);
	fclose(fp);
	str_free(line);
	if (rc < 0)
		return dict_close(d);
	d->flags = dict_flags | DICT_FLAG_FIXED;
	d->update = NULL;
	d->delete = NULL;
	return d;
}
