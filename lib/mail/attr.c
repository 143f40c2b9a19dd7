/*
 * attr - typed attribute lists over a stream (see attr.h for the encoding).
 *
 * A list is kept as one counted buffer of "name NUL value NUL" pairs plus
 * an index of offsets, so that reading a list allocates at most a few
 * times and lookups return pointers into the buffer.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"

#define ATTR_NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_"

struct attr_entry {
	size_t name;      /* offset of the name in buf */
	size_t value;     /* offset of the value in buf */
	size_t value_len; /* bytes of the value */
};

struct attr_list {
	struct str *buf;
	struct attr_entry *ent;
	size_t count;
	size_t cap;
};

struct attr_list *
attr_new(void)
{
	struct attr_list *al = xcalloc(1, sizeof(*al));

	al->buf = str_new(100);
	return al;
}

struct attr_list *
attr_free(struct attr_list *al)
{
	if (al == NULL)
		return NULL;
	str_free(al->buf);
	free(al->ent);
	free(al);
	return NULL;
}

void
attr_reset(struct attr_list *al)
{
	str_reset(al->buf);
	al->count = 0;
}

static void
attr_add_entry(struct attr_list *al, size_t name, size_t value, size_t len)
{
	if (al->count == al->cap) {
		al->cap = al->cap ? 2 * al->cap : 16;
		al->ent = xreallocarray(al->ent, al->cap, sizeof(*al->ent));
	}
	al->ent[al->count].name = name;
	al->ent[al->count].value = value;
	al->ent[al->count].value_len = len;
	al->count++;
}

void
attr_putn(struct attr_list *al, const char *name, const char *value, size_t len)
{
	size_t name_off = str_len(al->buf), value_off;

	/* A name the reader would refuse, or a NUL in a value, is a bug. */
	if (*name == '\0' || strlen(name) > ATTR_NAME_MAX ||
	    strspn(name, ATTR_NAME_CHARS) != strlen(name) ||
	    memchr(value, '\0', len) != NULL)
		msg_panic("attr_putn: bad attribute name or value: %s", name);
	str_cat(al->buf, name);
	str_catc(al->buf, '\0');
	value_off = str_len(al->buf);
	str_catn(al->buf, value, len);
	str_catc(al->buf, '\0');
	attr_add_entry(al, name_off, value_off, len);
}

void
attr_put(struct attr_list *al, const char *name, const char *value)
{
	attr_putn(al, name, value, strlen(value));
}

void
attr_put_long(struct attr_list *al, const char *name, long n)
{
	struct str *tmp = str_new(24);

	str_fmt(tmp, "%ld", n);
	attr_putn(al, name, str_ptr(tmp), str_len(tmp));
	str_free(tmp);
}

size_t
attr_count(const struct attr_list *al)
{
	return al->count;
}

const char *
attr_name(const struct attr_list *al, size_t i)
{
	return i < al->count ? str_ptr(al->buf) + al->ent[i].name : NULL;
}

const char *
attr_value(const struct attr_list *al, size_t i)
{
	return i < al->count ? str_ptr(al->buf) + al->ent[i].value : NULL;
}

size_t
attr_value_len(const struct attr_list *al, size_t i)
{
	return i < al->count ? al->ent[i].value_len : 0;
}

const char *
attr_get(const struct attr_list *al, const char *name)
{
	for (size_t i = 0; i < al->count; i++)
		if (strcmp(attr_name(al, i), name) == 0)
			return attr_value(al, i);
	return NULL;
}

int
attr_get_long(const struct attr_list *al, const char *name, long *n)
{
	const char *v = attr_get(al, name), *p;
	char *end;
	long val;

	if (v == NULL || *v == '\0')
		return -1;
	/* strtol alone accepts leading blanks and "+"; we want digits only. */
	p = (*v == '-') ? v + 1 : v;
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	val = strtol(v, &end, 10);
	if (errno == ERANGE || *end != '\0')
		return -1;
	*n = val;
	return 0;
}

bool
attr_expect(const struct attr_list *al, const char *name, const char *value)
{
	const char *v = attr_get(al, name);

	return v != NULL && strcmp(v, value) == 0;
}

int
attr_write(struct stream *st, const struct attr_list *al)
{
	/* The buffer already holds the pairs in wire form. */
	if (stream_write(st, str_ptr(al->buf), str_len(al->buf)) < 0 ||
	    stream_write(st, "", 1) < 0 || stream_flush(st) < 0)
		return -1;
	return 0;
}

static bool
attr_name_char(int c)
{
	return c != '\0' && strchr(ATTR_NAME_CHARS, c) != NULL;
}

/*
 * Read one NUL-terminated field into al->buf: 0 and the length, 1 at EOF
 * before its first byte, -1 on a read error, a timeout, EOF inside the
 * field, more than limit bytes or (for names) a byte outside [a-z0-9_].
 */
static int
attr_read_field(struct stream *st, struct attr_list *al, size_t limit,
    bool is_name, size_t *len)
{
	size_t n = 0;
	char c;
	ssize_t got;

	for (;;) {
		if ((got = stream_read(st, &c, 1)) < 0)
			return -1;
		if (got == 0)
			return n == 0 && is_name ? 1 : -1;
		if (c == '\0')
			break;
		if (n >= limit ||
		    (is_name && !attr_name_char((unsigned char)c)))
			return -1;
		str_catc(al->buf, c);
		n++;
	}
	str_catc(al->buf, '\0');
	*len = n;
	return 0;
}

int
attr_read(struct stream *st, struct attr_list *al, size_t limit)
{
	size_t name_off, value_off, len;
	int r;

	attr_reset(al);
	for (;;) {
		name_off = str_len(al->buf);
		r = attr_read_field(st, al, ATTR_NAME_MAX, true, &len);
		/* EOF is fine only before the first byte of a list. */
		if (r != 0)
			goto bad;
		if (len == 0) /* the terminator */
			return 0;
		if (al->count >= ATTR_MAX_COUNT)
			goto bad;
		value_off = str_len(al->buf);
		if (attr_read_field(st, al, limit, false, &len) != 0)
			goto bad;
		attr_add_entry(al, name_off, value_off, len);
	}
bad:
	attr_reset(al);
	return -1;
}
