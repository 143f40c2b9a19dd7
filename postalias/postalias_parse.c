/*
 * postalias_parse - split an aliases(5) line into name and value the way
 * Postfix's postalias does it: RFC 822 tokens (tok822_scan), the first ':'
 * token separates them, the name goes to internal (unquoted) form and the
 * value to external (quoted) form, so that "a b": x and a\ b: x both give
 * the key "a b" and "e,\n  f" gives "e, f".  No parse tree is built: the
 * value is re-parsed at delivery time anyway.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/str.h"
#include "postalias/postalias.h"

enum tok_type { TOK_OP, TOK_ATOM, TOK_QSTRING, TOK_COMMENT, TOK_DOMLIT };

struct tok {
	enum tok_type type;
	int op; /* the operator byte for TOK_OP */
	struct str *text;
};

/* Operators: RFC 822 specials plus % ! and | (for |command values). */
static const char opchars[] = "|%!()<>@,;:\\\".[]";

#define IS_SPACE(c) ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')

static bool
is_op(int c)
{
	return c != 0 && strchr(opchars, c) != NULL;
}

/*
 * Collect bytes until stop() says so; a backslash takes the next byte
 * literally, white space becomes a blank.  Returns the position after.
 */
static const char *
collect(struct str *t, const char *s, int end)
{
	int c;

	while ((c = *(const unsigned char *)s) != 0) {
		if (c == '\\') {
			if ((c = *(const unsigned char *)++s) == 0)
				break;
		} else if (end >= 0 ? c == end : IS_SPACE(c) || is_op(c)) {
			break;
		}
		str_catc(t, IS_SPACE(c) ? ' ' : c);
		s++;
	}
	return s;
}

/* A comment keeps its external form, nested parentheses included. */
static const char *
comment(struct str *t, const char *s)
{
	int level = 1, c;

	str_catc(t, '(');
	while ((c = *(const unsigned char *)s) != 0) {
		str_catc(t, c);
		s++;
		if (c == '(') {
			level++;
		} else if (c == ')') {
			if (--level == 0)
				break;
		} else if (c == '\\') {
			if ((c = *(const unsigned char *)s) == 0)
				break;
			str_catc(t, c);
			s++;
		}
	}
	return s;
}

static size_t
scan(const char *s, struct tok **toksp)
{
	struct tok *toks = NULL, *t;
	size_t n = 0, cap = 0;
	int c;

	while ((c = *(const unsigned char *)s++) != 0) {
		if (IS_SPACE(c))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			toks = xreallocarray(toks, cap, sizeof(*toks));
		}
		t = &toks[n++];
		t->text = str_new(16);
		t->op = 0;
		if (c == '(') {
			t->type = TOK_COMMENT;
			s = comment(t->text, s);
		} else if (c == '[' || c == '"') {
			t->type = c == '[' ? TOK_DOMLIT : TOK_QSTRING;
			s = collect(t->text, s, c == '[' ? ']' : '"');
			if (*s)
				s++;
		} else if (c != '\\' && is_op(c)) {
			t->type = TOK_OP;
			t->op = c;
		} else {
			t->type = TOK_ATOM;
			s = collect(t->text, s - 1, -1);
			/* An atom with escaped specials must be quoted. */
			for (const char *p = str_ptr(t->text); *p; p++) {
				unsigned char ch = (unsigned char)*p;

				if (ch == ' ' || ch < 32 || ch == 127 ||
				    is_op(ch)) {
					t->type = TOK_QSTRING;
					break;
				}
			}
		}
	}
	*toksp = toks;
	return n;
}

static bool
non_op(const struct tok *t)
{
	return t->type != TOK_OP;
}

/* Postfix's tok822_append_space(): blank before '<' and between words. */
static bool
space_after(const struct tok *t, const struct tok *next)
{
	if (next == NULL)
		return false;
	if (next->type == TOK_OP && next->op == '<')
		return true;
	return non_op(t) && non_op(next);
}

static void
quoted(struct str *out, const char *s, const char *set)
{
	for (; *s; s++) {
		if (strchr(set, *s))
			str_catc(out, '\\');
		str_catc(out, *s);
	}
}

static void
render(struct str *out, const struct tok *t, size_t n, bool external)
{
	str_reset(out);
	for (size_t i = 0; i < n; i++) {
		switch (t[i].type) {
		case TOK_OP:
			str_catc(out, t[i].op);
			/* Postfix 3.7: a comma is always followed by a blank. */
			if (t[i].op == ',') {
				str_catc(out, ' ');
				continue;
			}
			break;
		case TOK_ATOM:
		case TOK_COMMENT:
			str_cat(out, str_ptr(t[i].text));
			break;
		case TOK_QSTRING:
			if (external) {
				str_catc(out, '"');
				quoted(out, str_ptr(t[i].text), "\"\\\r\n");
				str_catc(out, '"');
			} else {
				str_cat(out, str_ptr(t[i].text));
			}
			break;
		case TOK_DOMLIT:
			str_catc(out, '[');
			if (external)
				quoted(out, str_ptr(t[i].text), "\\\r\n");
			else
				str_cat(out, str_ptr(t[i].text));
			str_catc(out, ']');
			break;
		}
		if (space_after(&t[i], i + 1 < n ? &t[i + 1] : NULL))
			str_catc(out, ' ');
	}
}

int
postalias_parse(const char *line, struct str *key, struct str *value,
    struct str *why)
{
	struct tok *toks;
	size_t n, colon;
	int rc = -1;

	if ((n = scan(line, &toks)) == 0) {
		str_reset(why);
		free(toks);
		return 1;
	}
	for (colon = 0; colon < n; colon++)
		if (toks[colon].type == TOK_OP && toks[colon].op == ':')
			break;
	if (colon == n || colon == 0 || colon == n - 1)
		goto bad_pair;
	for (size_t i = 0; i < colon; i++)
		if (toks[i].type == TOK_OP && toks[i].op == ',')
			goto bad_pair;
	for (size_t i = 0; i < colon; i++) {
		if (toks[i].type == TOK_OP &&
		    (toks[i].op == '@' || toks[i].op == '%')) {
			str_set(why, "name must be local");
			goto out;
		}
	}
	render(key, toks, colon, false);
	render(value, toks + colon + 1, n - colon - 1, true);
	rc = 0;
	goto out;

bad_pair:
	str_set(why, "need name:value pair");
out:
	for (size_t i = 0; i < n; i++)
		str_free(toks[i].text);
	free(toks);
	return rc;
}
