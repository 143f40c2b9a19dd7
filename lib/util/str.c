/*
 * str - growable, counted, NUL-terminated strings.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"

/* Make room for n more bytes plus the terminator. */
static void
str_grow(struct str *s, size_t n)
{
	size_t need, cap;

	if (n > SIZE_MAX - s->len - 1)
		msg_fatal("string length overflow");
	need = s->len + n + 1;
	if (need <= s->cap)
		return;
	for (cap = s->cap ? s->cap : 16; cap < need; cap *= 2)
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
	s->data = xreallocarray(s->data, cap, 1);
	s->cap = cap;
}

struct str *
str_new(size_t hint)
{
	struct str *s = xcalloc(1, sizeof(*s));

	str_grow(s, hint ? hint : 15);
	s->data[0] = 0;
	return s;
}

struct str *
str_free(struct str *s)
{
	if (s) {
		free(s->data);
		free(s);
	}
	return NULL;
}

void
str_reset(struct str *s)
{
	s->len = 0;
	s->data[0] = 0;
}

void
str_truncate(struct str *s, size_t n)
{
	if (n < s->len) {
		s->len = n;
		s->data[n] = 0;
	}
}

void
str_setn(struct str *s, const void *p, size_t n)
{
	str_reset(s);
	str_catn(s, p, n);
}

void
str_set(struct str *s, const char *cp)
{
	str_setn(s, cp, strlen(cp));
}

void
str_catn(struct str *s, const void *p, size_t n)
{
	str_grow(s, n);
	memmove(s->data + s->len, p, n);
	s->len += n;
	s->data[s->len] = 0;
}

void
str_cat(struct str *s, const char *cp)
{
	str_catn(s, cp, strlen(cp));
}

void
str_catc(struct str *s, int c)
{
	str_grow(s, 1);
	s->data[s->len++] = (char)c;
	s->data[s->len] = 0;
}

void
str_vcatfmt(struct str *s, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(s->data + s->len, s->cap - s->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		msg_panic("str_vcatfmt: bad format: %s", fmt);
	if ((size_t)n >= s->cap - s->len) {
		str_grow(s, (size_t)n);
		va_copy(ap2, ap);
		n = vsnprintf(s->data + s->len, s->cap - s->len, fmt, ap2);
		va_end(ap2);
	}
	s->len += (size_t)n;
}

void
str_catfmt(struct str *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vcatfmt(s, fmt, ap);
	va_end(ap);
}

void
str_fmt(struct str *s, const char *fmt, ...)
{
	va_list ap;

	str_reset(s);
	va_start(ap, fmt);
	str_vcatfmt(s, fmt, ap);
	va_end(ap);
}

void
str_lower(struct str *s)
{
	for (size_t i = 0; i < s->len; i++)
		s->data[i] = (char)tolower((unsigned char)s->data[i]);
}

void
str_trim(struct str *s)
{
	size_t start = 0, end = s->len;

	while (start < end && isspace((unsigned char)s->data[start]))
		start++;
	while (end > start && isspace((unsigned char)s->data[end - 1]))
		end--;
	memmove(s->data, s->data + start, end - start);
	s->len = end - start;
	s->data[s->len] = 0;
}

char *
str_steal(struct str *s)
{
	char *p = s->data;

	free(s);
	return p;
}
