/*
 * htable - chained hash table (FNV-1a), doubling when the load reaches 1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/htable.h"

static size_t
htable_hash(const char *key, size_t size)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return (size_t)(h % size);
}

struct htable *
htable_new(size_t hint)
{
	struct htable *t = xcalloc(1, sizeof(*t));

	t->size = hint < 13 ? 13 : hint | 1;
	t->buckets = xcalloc(t->size, sizeof(*t->buckets));
	return t;
}

static void
htable_grow(struct htable *t)
{
	size_t new_size = 2 * t->size + 1, i;
	struct htable_entry **nb = xcalloc(new_size, sizeof(*nb)), *e, *next;

	for (i = 0; i < t->size; i++)
		for (e = t->buckets[i]; e; e = next) {
			size_t h = htable_hash(e->key, new_size);

			next = e->next;
			e->next = nb[h];
			nb[h] = e;
		}
	free(t->buckets);
	t->buckets = nb;
	t->size = new_size;
}

struct htable_entry *
htable_locate(const struct htable *t, const char *key)
{
	struct htable_entry *e;

	for (e = t->buckets[htable_hash(key, t->size)]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

void *
htable_find(const struct htable *t, const char *key)
{
	struct htable_entry *e = htable_locate(t, key);

	return e ? e->value : NULL;
}

void *
htable_enter(struct htable *t, const char *key, void *value)
{
	struct htable_entry *e;
	void *old;
	size_t h;

	if ((e = htable_locate(t, key)) != NULL) {
		old = e->value;
		e->value = value;
		return old;
	}
	if (t->used >= t->size)
		htable_grow(t);
	e = xmalloc(sizeof(*e));
	e->key = xstrdup(key);
	e->value = value;
	e->seq = t->seq++;
	h = htable_hash(key, t->size);
	e->next = t->buckets[h];
	t->buckets[h] = e;
	t->used++;
	return NULL;
}

int
htable_delete(struct htable *t, const char *key, htable_free_fn *fn)
{
	struct htable_entry **ep, *e;

	for (ep = &t->buckets[htable_hash(key, t->size)]; (e = *ep); ep = &e->next)
		if (strcmp(e->key, key) == 0) {
			*ep = e->next;
			if (fn)
				fn(e->value);
			free(e->key);
			free(e);
			t->used--;
			return 0;
		}
	return -1;
}

static int
htable_seq_cmp(const void *a, const void *b)
{
	const struct htable_entry *x = *(struct htable_entry *const *)a;
	const struct htable_entry *y = *(struct htable_entry *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct htable_entry **
htable_list(const struct htable *t)
{
	struct htable_entry **list = xcalloc(t->used + 1, sizeof(*list)), *e;
	size_t n = 0;

	for (size_t i = 0; i < t->size; i++)
		for (e = t->buckets[i]; e; e = e->next)
			list[n++] = e;
	qsort(list, n, sizeof(*list), htable_seq_cmp);
	list[n] = NULL;
	return list;
}

size_t
htable_count(const struct htable *t)
{
	return t->used;
}

struct htable *
htable_free(struct htable *t, htable_free_fn *fn)
{
	struct htable_entry *e, *next;

	if (t == NULL)
		return NULL;
	for (size_t i = 0; i < t->size; i++)
		for (e = t->buckets[i]; e; e = next) {
			next = e->next;
			if (fn)
				fn(e->value);
			free(e->key);
			free(e);
		}
	free(t->buckets);
	free(t);
	return NULL;
}
