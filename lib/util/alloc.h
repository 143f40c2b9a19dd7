/*
 * alloc - memory allocation that never returns NULL.
 *
 * xmalloc(n)                 allocate n bytes; out of memory is fatal
 * xcalloc(n, size)           zeroed array, product checked for overflow
 * xreallocarray(p, n, size)  resize an array, product checked for overflow
 * xstrdup(s), xstrndup(s, n) copy a string
 * xmemdup(p, n)              copy n bytes and add a NUL
 */
#ifndef ALLOC_H
#define ALLOC_H

#include <stddef.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
void *xmemdup(const void *, size_t);

#endif
