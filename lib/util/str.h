/*
 * str - the one dynamic string: counted, binary-safe, always NUL-terminated,
 * grown by overflow-checked doubling; out of memory is fatal.
 *
 * str_new(hint)               new empty string
 * str_free(s)                 free (NULL is fine); returns NULL
 * str_ptr(s), str_len(s)      contents and length (macros)
 * str_reset(s)                make empty, keep the buffer
 * str_truncate(s, n)          shorten to n bytes
 * str_set(s, cstr)            replace contents
 * str_setn(s, p, n)           replace contents with n bytes
 * str_cat(s, cstr)            append a C string
 * str_catn(s, p, n)           append n bytes
 * str_catc(s, c)              append one byte
 * str_fmt(s, fmt, ...)        replace contents with printf output
 * str_catfmt(s, fmt, ...)     append printf output
 * str_vcatfmt(s, fmt, ap)     append vprintf output
 * str_lower(s)                fold ASCII to lower case in place
 * str_trim(s)                 remove leading and trailing white space
 * str_steal(s)                return the malloc'd buffer and free the str
 */
#ifndef STR_H
#define STR_H

#include <stdarg.h>
#include <stddef.h>

struct str {
	char *data;
	size_t len;
	size_t cap;
};

#define str_ptr(s) ((s)->data)
#define str_len(s) ((s)->len)

struct str *str_new(size_t);
struct str *str_free(struct str *);
void str_reset(struct str *);
void str_truncate(struct str *, size_t);
void str_set(struct str *, const char *);
void str_setn(struct str *, const void *, size_t);
void str_cat(struct str *, const char *);
void str_catn(struct str *, const void *, size_t);
void str_catc(struct str *, int);
void str_fmt(struct str *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void str_catfmt(struct str *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void str_vcatfmt(struct str *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));
void str_lower(struct str *);
void str_trim(struct str *);
char *str_steal(struct str *);

#endif
