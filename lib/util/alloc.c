/*
 * alloc - memory allocation that dies cleanly instead of returning NULL.
 * A process that cannot allocate cannot do its job; master restarts it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"

void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL)
		msg_fatal("out of memory (%zu bytes)", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n ? n : 1, size ? size : 1)) == NULL)
		msg_fatal("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *
xreallocarray(void *old, size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		msg_fatal("allocation size overflow (%zu x %zu bytes)", n, size);
	if ((p = realloc(old, n * size > 0 ? n * size : 1)) == NULL)
		msg_fatal("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

char *
xstrdup(const char *s)
{
	return xmemdup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	return xmemdup(s, strnlen(s, n));
}

void *
xmemdup(const void *src, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		msg_fatal("allocation size overflow");
	p = xmalloc(n + 1);
	memcpy(p, src, n);
	p[n] = 0;
	return p;
}
