/*
 * argv - growable NULL-terminated string arrays and token splitting.
 *
 * argv_new()                       empty array
 * argv_free(a)                     free array and strings; returns NULL
 * argv_add(a, s)                   append a copy of s
 * argv_addn(a, s, n)               append a copy of n bytes of s
 * argv_split(s, delim)             split on any byte in delim, dropping empty tokens
 * argv_split_append(a, s, delim)   same, appending to a
 * argv_split_list(s)               split a Postfix list ("a, b c"): commas and white
 *                                  space separate, { } groups keep their insides whole
 *                                  (outer braces removed), an unbalanced brace -> NULL
 * argv_terminate(a)                keep a->argv NULL-terminated (done by argv_add)
 */
#ifndef ARGV_H
#define ARGV_H

#include <stddef.h>

struct argv {
	char **argv;
	size_t argc;
	size_t cap;
};

struct argv *argv_new(void);
struct argv *argv_free(struct argv *);
void argv_add(struct argv *, const char *);
void argv_addn(struct argv *, const char *, size_t);
struct argv *argv_split(const char *, const char *);
void argv_split_append(struct argv *, const char *, const char *);
struct argv *argv_split_list(const char *)
    __attribute__((warn_unused_result));

#endif
