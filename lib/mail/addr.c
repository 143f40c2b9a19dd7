/*
 * addr - RFC 5322 address lists: a tokenizer in the manner of Postfix's
 * tok822 (atoms, quoted strings, nested comments, domain literals and the
 * specials), the address spans of a header value, and the internal and
 * external forms of one address (quote_822_local's rules).
 *
 * Header rewriting splices: only the bytes of each address change, so
 * phrases, comments, group syntax and folding stay as the author wrote
 * them.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/str.h"
#include "lib/mail/addr.h"

enum tok_type { TOK_ATOM, TOK_QSTRING, TOK_COMMENT, TOK_DLITERAL, TOK_SPECIAL };

struct tok {
	enum tok_type type;
	size_t start, end; /* bytes of the token in the text */
	int ch;            /* TOK_SPECIAL: the character */
	bool unclosed;     /* quote, comment or literal closed by the end */
};

struct toks {
	struct tok *v;
	size_t n, cap;
};

/* One address of a list: its tokens and where its bytes are. */
struct span {
	size_t first, last; /* tokens [first, last), comments trimmed */
	size_t start, end;  /* bytes to replace */
	bool angle;         /* inside < > */
	bool unclosed;      /* a '<' without its '>' */
};

struct spans {
	struct span *v;
	size_t n, cap;
};

#define IS_SPACE(c)   ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')
#define IS_SPECIAL(c) (strchr("()<>@,;:\\\".[]", (c)) != NULL)

static void
toks_add(struct toks *tv, enum tok_type type, size_t start, size_t end, int ch,
    bool unclosed)
{
	if (tv->n == tv->cap) {
		tv->cap = tv->cap ? tv->cap * 2 : 16;
		tv->v = xreallocarray(tv->v, tv->cap, sizeof(*tv->v));
	}
	tv->v[tv->n++] = (struct tok){ type, start, end, ch, unclosed };
}

/*
 * Scan a quoted string, comment or domain literal starting after its
 * opening character; returns the offset after its closing character, or
 * the end of the text when it is not closed (*unclosed set).
 */
static size_t
scan_delimited(const char *s, size_t i, int open, int close, bool *unclosed)
{
	int depth = 1;

	*unclosed = false;
	while (s[i] != 0) {
		if (s[i] == '\\') {
			i += s[i + 1] != 0 ? 2 : 1;
			continue;
		}
		if (open == '(' && s[i] == '(' && depth < ADDR_NEST_MAX)
			depth++;
		else if (s[i] == close && --depth == 0)
			return i + 1;
		i++;
	}
	*unclosed = true;
	return i;
}

static void
tokenize(const char *s, struct toks *tv)
{
	size_t i = 0, start;
	bool unclosed;

	tv->n = 0;
	while (s[i] != 0) {
		int c = (unsigned char)s[i];

		if (IS_SPACE(c)) {
			i++;
			continue;
		}
		start = i;
		switch (c) {
		case '"':
			i = scan_delimited(s, i + 1, 0, '"', &unclosed);
			toks_add(tv, TOK_QSTRING, start, i, 0, unclosed);
			continue;
		case '(':
			i = scan_delimited(s, i + 1, '(', ')', &unclosed);
			toks_add(tv, TOK_COMMENT, start, i, 0, unclosed);
			continue;
		case '[':
			i = scan_delimited(s, i + 1, 0, ']', &unclosed);
			toks_add(tv, TOK_DLITERAL, start, i, 0, unclosed);
			continue;
		case '\\':
			break;
		default:
			if (IS_SPECIAL(c)) {
				toks_add(tv, TOK_SPECIAL, i, i + 1, c, false);
				i++;
				continue;
			}
		}
		/* An atom; a backslash quotes the next character. */
		while (s[i] != 0 && !IS_SPACE((unsigned char)s[i])) {
			if (s[i] == '\\') {
				i += s[i + 1] != 0 ? 2 : 1;
				continue;
			}
			if (IS_SPECIAL((unsigned char)s[i]))
				break;
			i++;
		}
		toks_add(tv, TOK_ATOM, start, i, 0, false);
	}
}

/* Append the text of s[start, end) with quoted pairs resolved. */
static void
cat_unescaped(struct str *out, const char *s, size_t start, size_t end)
{
	for (size_t i = start; i < end; i++) {
		if (s[i] == '\\' && i + 1 < end)
			i++;
		str_catc(out, s[i]);
	}
}

/* The internal form of tokens [first, last): comments dropped, quotes
 * removed, white space between tokens dropped (as tok822_internalize). */
static void
internalize_toks(struct str *out, const char *s, const struct toks *tv,
    size_t first, size_t last)
{
	for (size_t i = first; i < last; i++) {
		const struct tok *t = &tv->v[i];

		switch (t->type) {
		case TOK_COMMENT:
			break;
		case TOK_QSTRING:
			cat_unescaped(out, s, t->start + 1,
			    t->end - (t->unclosed ? 0 : 1));
			break;
		case TOK_DLITERAL:
			str_catn(out, s + t->start, t->end - t->start);
			if (t->unclosed)
				str_catc(out, ']');
			break;
		case TOK_ATOM:
			cat_unescaped(out, s, t->start, t->end);
			break;
		case TOK_SPECIAL:
			str_catc(out, t->ch);
			break;
		}
	}
}

static bool
tok_is(const struct toks *tv, size_t i, int ch)
{
	return tv->v[i].type == TOK_SPECIAL && tv->v[i].ch == ch;
}

/* The first token of [first, last) that is not a comment, or last. */
static size_t
skip_comments(const struct toks *tv, size_t first, size_t last)
{
	while (first < last && tv->v[first].type == TOK_COMMENT)
		first++;
	return first;
}

static void
spans_add(struct spans *sv, const struct toks *tv, size_t first, size_t last,
    bool angle, bool unclosed, size_t insert_at)
{
	struct span sp;

	/* Nested brackets (<<a@b>>) are not part of the address. */
	while (angle && first < last &&
	       (tv->v[first].type == TOK_COMMENT || tok_is(tv, first, '<')))
		first++;
	while (
	    angle && last > first &&
	    (tv->v[last - 1].type == TOK_COMMENT || tok_is(tv, last - 1, '>')))
		last--;
	/* A route (@a,@b:user@domain) goes: the address is after the ':'. */
	first = skip_comments(tv, first, last);
	if (first < last && tok_is(tv, first, '@')) {
		for (size_t i = first; i < last; i++) {
			if (tok_is(tv, i, ':')) {
				first = skip_comments(tv, i + 1, last);
				break;
			}
		}
	}
	while (last > first && tv->v[last - 1].type == TOK_COMMENT)
		last--;
	if (first == last && !angle)
		return; /* an empty list member */
	sp.first = first;
	sp.last = last;
	sp.angle = angle;
	sp.unclosed = unclosed;
	if (first < last) {
		sp.start = tv->v[first].start;
		sp.end = tv->v[last - 1].end;
	} else {
		sp.start = sp.end = insert_at;
	}
	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = xreallocarray(sv->v, sv->cap, sizeof(*sv->v));
	}
	sv->v[sv->n++] = sp;
}

/*
 * Find the addresses of a list.  Members are separated by ',' (and ';',
 * which ends a group) outside angle brackets; "phrase:" opens a group; a
 * member with <...> has its address there, else the member is the address.
 */
static void
find_spans(const struct toks *tv, size_t text_len, struct spans *sv)
{
	size_t i = 0;

	sv->n = 0;
	while (i < tv->n) {
		size_t member = i, open = 0, close = 0, j;
		bool have_open = false, have_close = false, route;
		int depth = 0;

		for (j = i; j < tv->n; j++) {
			if (tok_is(tv, j, '<')) {
				if (depth++ == 0 && !have_open) {
					have_open = true;
					open = j;
				}
			} else if (tok_is(tv, j, '>')) {
				if (depth > 0 && --depth == 0 && have_open &&
				    !have_close) {
					have_close = true;
					close = j;
				}
			} else if (depth == 0 &&
				   (tok_is(tv, j, ',') || tok_is(tv, j, ';'))) {
				break;
			} else if (depth == 0 && tok_is(tv, j, ':') &&
				   !have_open) {
				size_t k = skip_comments(tv, member, j);

				route = k < j && tok_is(tv, k, '@');
				if (!route)
					member = j + 1; /* group phrase */
			}
		}
		if (have_open) {
			size_t end = have_close ? close : j;

			spans_add(sv, tv, open + 1, end, true, !have_close,
			    tv->v[open].end);
			/* An unclosed '<' reaches to the end of the text. */
			if (!have_close && sv->n > 0 &&
			    sv->v[sv->n - 1].first == sv->v[sv->n - 1].last)
				sv->v[sv->n - 1].start = sv->v[sv->n - 1].end =
				    text_len;
		} else {
			spans_add(sv, tv, member, j, false, false, 0);
		}
		i = j + 1;
	}
}

void
addr_internalize(struct str *out, const char *ext)
{
	struct toks tv = { 0 };

	tokenize(ext, &tv);
	str_reset(out);
	internalize_toks(out, ext, &tv, 0, tv.n);
	free(tv.v);
}

/* quote_822_local's test: is the localpart an RFC 822 dot-string? */
static bool
is_dot_string(const char *p, size_t len)
{
	if (len == 0 || p[0] == '.' || p[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '.' && i + 1 < len && p[i + 1] == '.')
			return false;
		/* 8-bit bytes pass unquoted, as Postfix's 8BITCLEAN default. */
		if (c == ' ' || c < 32 || c == 127 ||
		    (c != '.' && IS_SPECIAL(c)))
			return false;
	}
	return true;
}

void
addr_externalize(struct str *out, const char *in)
{
	const char *at = strrchr(in, '@');
	size_t len = at != NULL ? (size_t)(at - in) : strlen(in);

	str_reset(out);
	if (*in == 0)
		return;
	if (is_dot_string(in, len)) {
		str_set(out, in);
		return;
	}
	str_catc(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '"' || in[i] == '\\' || in[i] == '\r')
			str_catc(out, '\\');
		str_catc(out, in[i]);
	}
	str_catc(out, '"');
	if (at != NULL)
		str_cat(out, at);
}

void
addr_split(const char *addr, char **local, char **domain)
{
	const char *at = NULL;
	bool quoted = false;

	for (const char *p = addr; *p != 0; p++) {
		if (*p == '\\' && quoted && p[1] != 0)
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (*p == '@' && !quoted)
			at = p;
	}
	if (at == NULL) {
		*local = xstrdup(addr);
		*domain = xstrdup("");
		return;
	}
	*local = xmalloc((size_t)(at - addr) + 1);
	memcpy(*local, addr, (size_t)(at - addr));
	(*local)[at - addr] = 0;
	*domain = xstrdup(at + 1);
}

int
addr_parse_list(const char *value, struct argv *out)
{
	struct toks tv = { 0 };
	struct spans sv = { 0 };
	struct str *buf = str_new(64);
	size_t i;

	tokenize(value, &tv);
	find_spans(&tv, strlen(value), &sv);
	for (i = 0; i < sv.n; i++) {
		str_reset(buf);
		internalize_toks(buf, value, &tv, sv.v[i].first, sv.v[i].last);
		argv_add(out, str_ptr(buf));
	}
	str_free(buf);
	free(tv.v);
	free(sv.v);
	return (int)i;
}

void
addr_header_map(struct str *out, const char *value, addr_map_fn *fn, void *ctx)
{
	struct toks tv = { 0 };
	struct spans sv = { 0 };
	struct str *addr = str_new(64), *ext = str_new(64);
	size_t pos = 0, len = strlen(value);

	tokenize(value, &tv);
	find_spans(&tv, len, &sv);
	str_reset(out);
	for (size_t i = 0; i < sv.n; i++) {
		const struct span *sp = &sv.v[i];

		str_reset(addr);
		internalize_toks(addr, value, &tv, sp->first, sp->last);
		fn(addr, ctx);
		addr_externalize(ext, str_ptr(addr));
		str_catn(out, value + pos, sp->start - pos);
		str_catn(out, str_ptr(ext), str_len(ext));
		if (sp->unclosed) {
			/* Close what the author left open, as tok822 does. */
			str_catc(out, '>');
			pos = sp->end;
			break;
		}
		pos = sp->end;
	}
	str_catn(out, value + pos, len - pos);
	str_free(addr);
	str_free(ext);
	free(tv.v);
	free(sv.v);
}
