/*
 * argv - string arrays and the token splitters used by every parser.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"

struct argv *
argv_new(void)
{
	struct argv *a = xcalloc(1, sizeof(*a));

	a->cap = 8;
	a->argv = xcalloc(a->cap, sizeof(char *));
	return a;
}

struct argv *
argv_free(struct argv *a)
{
	if (a) {
		for (size_t i = 0; i < a->argc; i++)
			free(a->argv[i]);
		free(a->argv);
		free(a);
	}
	return NULL;
}

void
argv_addn(struct argv *a, const char *s, size_t n)
{
	if (a->argc + 1 >= a->cap) {
		a->argv = xreallocarray(a->argv, a->cap, 2 * sizeof(char *));
		a->cap *= 2;
	}
	a->argv[a->argc++] = xstrndup(s, n);
	a->argv[a->argc] = NULL;
}

void
argv_add(struct argv *a, const char *s)
{
	argv_addn(a, s, strlen(s));
}

void
argv_split_append(struct argv *a, const char *s, const char *delim)
{
	size_t n;

	while (*s) {
		s += strspn(s, delim);
		if ((n = strcspn(s, delim)) == 0)
			break;
		argv_addn(a, s, n);
		s += n;
	}
}

struct argv *
argv_split(const char *s, const char *delim)
{
	struct argv *a = argv_new();

	argv_split_append(a, s, delim);
	return a;
}

/*
 * A Postfix list: tokens separated by commas or white space; "{ text }" is
 * one token whose outer braces and the white space just inside them are
 * removed.  Braces nest.  A token may also have braces inside it
 * ("inline:{a=b, c=d}"), in which case it extends to the matching brace.
 */
struct argv *
argv_split_list(const char *s)
{
	struct argv *a = argv_new();
	const char *start;
	int depth;

	for (;;) {
		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		if (*s == 0)
			break;
		start = s;
		depth = 0;
		for (; *s; s++) {
			if (*s == '{')
				depth++;
			else if (*s == '}') {
				if (--depth < 0)
					return argv_free(a);
			} else if (depth == 0 && (*s == ',' || isspace((unsigned char)*s)))
				break;
		}
		if (depth != 0)
			return argv_free(a);
		if (*start == '{' && s[-1] == '}') {
			const char *b = start + 1, *e = s - 1;

			/* Only strip when the first brace closes at the end. */
			int d = 0;
			const char *p;
			for (p = start; p < s; p++) {
				if (*p == '{')
					d++;
				else if (*p == '}' && --d == 0)
					break;
			}
			if (p == s - 1) {
				while (b < e && isspace((unsigned char)*b))
					b++;
				while (e > b && isspace((unsigned char)e[-1]))
					e--;
				argv_addn(a, b, (size_t)(e - b));
				continue;
			}
		}
		argv_addn(a, start, (size_t)(s - start));
	}
	return a;
}
