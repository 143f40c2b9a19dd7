/*
 * dict_union - unionmap:{t1, t2, ...}, pipemap:{t1, t2, ...} and
 * randmap:{v1, v2, ...}.
 *
 * unionmap asks every table and joins the answers with commas; pipemap
 * uses each answer as the next table's key and returns the last one.  A
 * table's error ends the lookup with that error, as in Postfix 3.7
 * (src/util/dict_union.c, dict_pipe.c).  The member tables are opened with
 * the caller's flags and do their own key folding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/dict.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"

struct dict_union {
	struct dict dict;
	struct dict **members;
	size_t count;
	struct str *result;
	struct str *query;
};

static const char *
dict_union_lookup(struct dict *d, const char *key)
{
	struct dict_union *du = (struct dict_union *)d;
	const char *r;

	str_reset(du->result);
	for (size_t i = 0; i < du->count; i++) {
		if ((r = dict_get(du->members[i], key)) == NULL) {
			if ((d->error = du->members[i]->error) != DICT_ERR_NONE)
				return NULL;
			continue;
		}
		if (str_len(du->result) > 0)
			str_catc(du->result, ',');
		str_cat(du->result, r);
	}
	return str_len(du->result) > 0 ? str_ptr(du->result) : NULL;
}

static const char *
dict_pipe_lookup(struct dict *d, const char *key)
{
	struct dict_union *du = (struct dict_union *)d;
	const char *r = key;

	str_set(du->query, key);
	for (size_t i = 0; i < du->count; i++) {
		if ((r = dict_get(du->members[i], str_ptr(du->query))) ==
		    NULL) {
			d->error = du->members[i]->error;
			return NULL;
		}
		str_set(du->result, r);
		str_set(du->query, r);
	}
	return str_ptr(du->result);
}

static void
dict_union_close(struct dict *d)
{
	struct dict_union *du = (struct dict_union *)d;

	for (size_t i = 0; i < du->count; i++)
		dict_close(du->members[i]);
	free(du->members);
	str_free(du->result);
	str_free(du->query);
	dict_free_common(d);
}

static struct dict *
dict_union_new(const char *type, const char *name, int open_flags,
    int dict_flags, struct str *why)
{
	struct dict_union *du = NULL;
	struct argv *list = NULL;
	size_t len = strlen(name);
	char *inside = NULL;

	if (len < 2 || name[0] != '{' || name[len - 1] != '}' ||
	    (inside = xstrndup(name + 1, len - 2)) == NULL ||
	    (list = argv_split_list(inside)) == NULL || list->argc == 0) {
		str_fmt(why,
		    "bad syntax: \"%s:%s\"; need \"%s:{type:name...}\"", type,
		    name, type);
		goto out;
	}
	du = (struct dict_union *)dict_alloc(type, name, sizeof(*du));
	du->dict.lookup =
	    strcmp(type, "pipemap") == 0 ? dict_pipe_lookup : dict_union_lookup;
	du->dict.close = dict_union_close;
	du->dict.flags = (dict_flags & ~DICT_FLAG_FIXED) | DICT_FLAG_PATTERN;
	du->members = xcalloc(list->argc, sizeof(*du->members));
	du->result = str_new(100);
	du->query = str_new(100);
	for (size_t i = 0; i < list->argc; i++) {
		du->members[i] =
		    dict_open(list->argv[i], open_flags, dict_flags, why);
		if (du->members[i] == NULL) {
			du = (struct dict_union *)dict_close(&du->dict);
			goto out;
		}
		du->count++;
	}
out:
	free(inside);
	argv_free(list);
	return du ? &du->dict : NULL;
}

struct dict *
dict_unionmap_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	return dict_union_new("unionmap", name, open_flags, dict_flags, why);
}

struct dict *
dict_pipemap_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	return dict_union_new("pipemap", name, open_flags, dict_flags, why);
}

/* randmap:{v1, v2, ...}: one of the values, chosen at random per lookup. */
struct dict_random {
	struct dict dict;
	struct argv *values;
};

static const char *
dict_random_lookup(struct dict *d, const char *key)
{
	struct dict_random *dr = (struct dict_random *)d;

	(void)key;
	return dr->values->argv[arc4random_uniform((uint32_t)dr->values->argc)];
}

static void
dict_random_close(struct dict *d)
{
	argv_free(((struct dict_random *)d)->values);
	dict_free_common(d);
}

struct dict *
dict_randmap_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	struct dict_random *dr;
	struct argv *list = NULL;
	size_t len = strlen(name);
	char *inside;

	(void)open_flags;
	if (len < 2 || name[0] != '{' || name[len - 1] != '}') {
		str_fmt(why,
		    "bad syntax: \"randmap:%s\"; need \"randmap:{value...}\"",
		    name);
		return NULL;
	}
	inside = xstrndup(name + 1, len - 2);
	list = argv_split_list(inside);
	free(inside);
	if (list == NULL || list->argc == 0 || list->argc > UINT32_MAX) {
		argv_free(list);
		str_fmt(why,
		    "bad syntax: \"randmap:%s\"; need \"randmap:{value...}\"",
		    name);
		return NULL;
	}
	dr = (struct dict_random *)dict_alloc("randmap", name, sizeof(*dr));
	dr->values = list;
	dr->dict.lookup = dict_random_lookup;
	dr->dict.close = dict_random_close;
	dr->dict.flags = (dict_flags & ~DICT_FLAG_FIXED) | DICT_FLAG_PATTERN;
	return &dr->dict;
}
