/*
 * dict_inline - the tables that live in their name or in memory:
 * inline:{k1=v1, {k2 = v with spaces}}, static:value, static:{text},
 * fail:name, environ:name and internal:name (an empty in-memory table
 * that takes updates).  Error texts are Postfix 3.7's, observed with
 * "postmap -q".
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/dict.h"
#include "lib/util/htable.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"

/* In-memory table: internal, and the store behind inline. */
struct dict_ht {
	struct dict dict;
	struct htable *table;
	struct htable_entry **list; /* dict_seq snapshot */
	size_t next;
};

static const char *
dict_ht_lookup(struct dict *d, const char *key)
{
	struct dict_ht *h = (struct dict_ht *)d;

	return htable_find(h->table, key);
}

static int
dict_ht_update(struct dict *d, const char *key, const char *value)
{
	struct dict_ht *h = (struct dict_ht *)d;
	struct htable_entry *e;

	if ((e = htable_locate(h->table, key)) != NULL) {
		if (d->flags & (DICT_FLAG_DUP_IGNORE | DICT_FLAG_DUP_WARN))
			return 1;
		free(e->value);
		e->value = xstrdup(value);
		return 0;
	}
	htable_enter(h->table, key, xstrdup(value));
	return 0;
}

static int
dict_ht_delete(struct dict *d, const char *key)
{
	struct dict_ht *h = (struct dict_ht *)d;

	free(h->list);
	h->list = NULL;
	return htable_delete(h->table, key, free) == 0 ? 0 : 1;
}

static int
dict_ht_sequence(struct dict *d, int func, const char **key, const char **value)
{
	struct dict_ht *h = (struct dict_ht *)d;

	if (func == DICT_SEQ_FIRST) {
		free(h->list);
		h->list = htable_list(h->table);
		h->next = 0;
	} else if (func != DICT_SEQ_NEXT) {
		msg_panic("dict_ht_sequence: bad function %d", func);
	}
	if (h->list == NULL || h->list[h->next] == NULL) {
		free(h->list);
		h->list = NULL;
		return 1;
	}
	*key = h->list[h->next]->key;
	*value = h->list[h->next]->value;
	h->next++;
	return 0;
}

static void
dict_ht_close(struct dict *d)
{
	struct dict_ht *h = (struct dict_ht *)d;

	free(h->list);
	htable_free(h->table, free);
	dict_free_common(d);
}

static struct dict *
dict_ht_new(const char *type, const char *name, int dict_flags)
{
	struct dict_ht *h;

	h = (struct dict_ht *)dict_alloc(type, name, sizeof(*h));
	h->table = htable_new(13);
	h->dict.lookup = dict_ht_lookup;
	h->dict.update = dict_ht_update;
	h->dict.delete = dict_ht_delete;
	h->dict.sequence = dict_ht_sequence;
	h->dict.close = dict_ht_close;
	h->dict.flags = dict_flags | DICT_FLAG_FIXED;
	return &h->dict;
}

struct dict *
dict_internal_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	(void)open_flags;
	(void)why;
	return dict_ht_new("internal", name, dict_flags);
}

/* The inside of "{...}" when name is braced and balanced, else NULL. */
static char *
dict_unbrace(const char *name)
{
	size_t len = strlen(name);
	const char *b, *e;

	if (len < 2 || name[0] != '{' || name[len - 1] != '}')
		return NULL;
	b = name + 1;
	e = name + len - 1;
	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	return xstrndup(b, (size_t)(e - b));
}

/* "name = value" with white space around both parts removed. */
static const char *
dict_split_nameval(char *s, char **name, char **value)
{
	char *eq = strchr(s, '='), *e;

	if (eq == NULL)
		return "missing '=' after attribute name";
	*eq = 0;
	while (isspace((unsigned char)*s))
		s++;
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		e[-1] = 0;
	*name = s;
	s = eq + 1;
	while (isspace((unsigned char)*s))
		s++;
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		e[-1] = 0;
	*value = s;
	return NULL;
}

struct dict *
dict_inline_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	struct argv *list = NULL;
	struct dict *d = NULL;
	const char *err = NULL;
	char *inside, *n, *v;

	(void)open_flags;
	if ((inside = dict_unbrace(name)) == NULL ||
	    (list = argv_split_list(inside)) == NULL || list->argc == 0) {
		err = "bad syntax";
		goto out;
	}
	d = dict_ht_new("inline", name, dict_flags);
	for (size_t i = 0; i < list->argc; i++) {
		if ((err = dict_split_nameval(list->argv[i], &n, &v)) != NULL)
			goto out;
		/* Later duplicates replace, as Postfix's dict_ht does. */
		d->flags &= ~(DICT_FLAG_DUP_IGNORE | DICT_FLAG_DUP_WARN);
		(void)dict_put(d, n, v);
	}
	d->flags = dict_flags | DICT_FLAG_FIXED;
out:
	if (err) {
		str_fmt(why,
		    "%s: \"inline:%s\"; need \"inline:{name=value...}\"", err,
		    name);
		d = dict_close(d);
	}
	free(inside);
	argv_free(list);
	return d;
}

/* static: one value for every key. */
struct dict_static {
	struct dict dict;
	char *value;
};

static const char *
dict_static_lookup(struct dict *d, const char *key)
{
	(void)key;
	return ((struct dict_static *)d)->value;
}

static void
dict_static_close(struct dict *d)
{
	free(((struct dict_static *)d)->value);
	dict_free_common(d);
}

struct dict *
dict_static_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	struct dict_static *s;
	char *value;

	(void)open_flags;
	if (name[0] == '{') {
		if ((value = dict_unbrace(name)) == NULL) {
			str_fmt(why,
			    "bad static:name syntax: missing '}' in \"%s\"",
			    name);
			return NULL;
		}
	} else {
		value = xstrdup(name);
	}
	s = (struct dict_static *)dict_alloc("static", name, sizeof(*s));
	s->value = value;
	s->dict.lookup = dict_static_lookup;
	s->dict.close = dict_static_close;
	s->dict.flags = dict_flags | DICT_FLAG_FIXED;
	return &s->dict;
}

/* fail: every operation fails with a soft error. */
static const char *
dict_fail_lookup(struct dict *d, const char *key)
{
	(void)key;
	d->error = DICT_ERR_RETRY;
	return NULL;
}

static int
dict_fail_update(struct dict *d, const char *key, const char *value)
{
	(void)key;
	(void)value;
	d->error = DICT_ERR_RETRY;
	return -1;
}

static int
dict_fail_delete(struct dict *d, const char *key)
{
	(void)key;
	d->error = DICT_ERR_RETRY;
	return -1;
}

static int
dict_fail_sequence(struct dict *d, int func, const char **key,
    const char **value)
{
	(void)func;
	*key = *value = NULL;
	d->error = DICT_ERR_RETRY;
	return -1;
}

struct dict *
dict_fail_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	struct dict *d = dict_alloc("fail", name, sizeof(*d));

	(void)open_flags;
	(void)why;
	d->lookup = dict_fail_lookup;
	d->update = dict_fail_update;
	d->delete = dict_fail_delete;
	d->sequence = dict_fail_sequence;
	d->flags = dict_flags | DICT_FLAG_PATTERN;
	return d;
}

/* environ: the process environment. */
static const char *
dict_environ_lookup(struct dict *d, const char *key)
{
	(void)d;
	return getenv(key);
}

static int
dict_environ_update(struct dict *d, const char *key, const char *value)
{
	if (setenv(key, value, 1) < 0) {
		d->error = DICT_ERR_RETRY;
		return -1;
	}
	return 0;
}

struct dict *
dict_environ_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	struct dict *d = dict_alloc("environ", name, sizeof(*d));

	(void)open_flags;
	(void)why;
	d->lookup = dict_environ_lookup;
	d->update = dict_environ_update;
	d->flags = dict_flags | DICT_FLAG_FIXED;
	return d;
}
