/*
 * htable - hash table with string keys and void * values.
 *
 * htable_new(size_hint)            new table
 * htable_free(t, free_fn)          free table, calling free_fn(value) if not NULL
 * htable_enter(t, key, value)      add or replace; returns the old value or NULL
 * htable_find(t, key)              value or NULL
 * htable_locate(t, key)            the entry or NULL (tells "absent" from NULL value)
 * htable_delete(t, key, free_fn)   remove; returns 0 if found, -1 if not
 * htable_list(t)                   NULL-terminated array of entries (caller frees
 *                                  the array only), in insertion order
 * htable_count(t)                  number of entries
 */
#ifndef HTABLE_H
#define HTABLE_H

#include <stddef.h>

struct htable_entry {
	char *key;
	void *value;
	struct htable_entry *next;	/* hash chain */
	unsigned long seq;		/* insertion order */
};

struct htable {
	struct htable_entry **buckets;
	size_t size;
	size_t used;
	unsigned long seq;
};

typedef void htable_free_fn(void *);

struct htable *htable_new(size_t);
struct htable *htable_free(struct htable *, htable_free_fn *);
void *htable_enter(struct htable *, const char *, void *);
void *htable_find(const struct htable *, const char *);
struct htable_entry *htable_locate(const struct htable *, const char *);
int htable_delete(struct htable *, const char *, htable_free_fn *);
struct htable_entry **htable_list(const struct htable *);
size_t htable_count(const struct htable *);

#endif
