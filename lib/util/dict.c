/*
 * dict - table dispatch and the generic wrappers around each type.
 *
 * dict_open() splits "type:name" at the first colon and calls the type's
 * opener; proxy:TYPE:NAME opens TYPE:NAME directly until the proxymap
 * service exists.  The wrappers reset d->error before each call and fold
 * the key of a fixed-string table to lower case when DICT_FLAG_FOLD_FIX is
 * set, as Postfix's per-type lookup functions do.  Pattern tables (regexp,
 * pcre, cidr) see the key as given: they match case-insensitively on their
 * own and $1 must keep the original case.
 */
#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/dict.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"

/* Longest physical line in a pattern or texthash source file. */
size_t dict_line_limit = 1024 * 1024 * 4;

static struct dict *dict_proxy_open(const char *, int, int, struct str *);

struct dict_type {
	const char *name;
	dict_open_fn *open;
};

/* Sorted by name: dict_types() lists them in this order (postconf -m). */
static const struct dict_type dict_type_table[] = {
	{ "btree", dict_btree_open },
	{ "cidr", dict_cidr_open },
	{ "environ", dict_environ_open },
	{ "fail", dict_fail_open },
	{ "hash", dict_hash_open },
	{ "inline", dict_inline_open },
	{ "internal", dict_internal_open },
	{ "pcre", dict_pcre_open },
	{ "pipemap", dict_pipemap_open },
	{ "proxy", dict_proxy_open },
	{ "randmap", dict_randmap_open },
	{ "regexp", dict_regexp_open },
	{ "static", dict_static_open },
	{ "texthash", dict_texthash_open },
	{ "unionmap", dict_unionmap_open },
	{ "unix", dict_unix_open },
};

#define DICT_TYPE_COUNT (sizeof(dict_type_table) / sizeof(dict_type_table[0]))

static const struct dict_type *
dict_type_find(const char *name, size_t len)
{
	for (size_t i = 0; i < DICT_TYPE_COUNT; i++)
		if (strlen(dict_type_table[i].name) == len &&
		    strncmp(dict_type_table[i].name, name, len) == 0)
			return &dict_type_table[i];
	return NULL;
}

struct dict *
dict_open(const char *spec, int open_flags, int dict_flags, struct str *why)
{
	const char *colon = strchr(spec, ':');
	const struct dict_type *type;
	struct dict *d;

	/* Postfix's text, for a missing type or an empty name. */
	if (colon == NULL || colon == spec || colon[1] == 0) {
		str_fmt(why,
		    "open dictionary: expecting \"type:name\" form instead of \"%s\"",
		    spec);
		return NULL;
	}
	if ((type = dict_type_find(spec, (size_t)(colon - spec))) == NULL) {
		str_fmt(why, "unsupported dictionary type: %.*s",
		    (int)(colon - spec), spec);
		return NULL;
	}
	str_reset(why);
	d = type->open(colon + 1, open_flags, dict_flags, why);
	if (d == NULL && str_len(why) == 0)
		str_fmt(why, "cannot open %s", spec);
	return d;
}

/* Until proxymap exists, proxy:TYPE:NAME is TYPE:NAME opened here. */
static struct dict *
dict_proxy_open(const char *spec, int open_flags, int dict_flags,
    struct str *why)
{
	if (strncmp(spec, "proxy:", 6) == 0) {
		str_fmt(why, "proxy:%s: nested proxy table", spec);
		return NULL;
	}
	return dict_open(spec, open_flags, dict_flags, why);
}

const char *const *
dict_types(void)
{
	static const char *names[DICT_TYPE_COUNT + 1];

	if (names[0] == NULL)
		for (size_t i = 0; i < DICT_TYPE_COUNT; i++)
			names[i] = dict_type_table[i].name;
	return names;
}

struct dict *
dict_alloc(const char *type, const char *name, size_t size)
{
	struct dict *d;

	if (size < sizeof(*d))
		msg_panic("dict_alloc: size %zu < %zu", size, sizeof(*d));
	d = xcalloc(1, size);
	d->type = xstrdup(type);
	d->name = xstrdup(name);
	d->stat_fd = -1;
	d->fold_buf = str_new(64);
	return d;
}

void
dict_free_common(struct dict *d)
{
	if (d == NULL)
		return;
	free(d->type);
	free(d->name);
	str_free(d->fold_buf);
	free(d);
}

/* The key as the table wants it: folded for fixed tables with FOLD_FIX. */
static const char *
dict_fold(struct dict *d, const char *key)
{
	if ((d->flags & DICT_FLAG_FOLD_FIX) == 0 ||
	    (d->flags & DICT_FLAG_FIXED) == 0)
		return key;
	str_set(d->fold_buf, key);
	str_lower(d->fold_buf);
	return str_ptr(d->fold_buf);
}

const char *
dict_get(struct dict *d, const char *key)
{
	d->error = DICT_ERR_NONE;
	if (d->lookup == NULL)
		return NULL;
	return d->lookup(d, dict_fold(d, key));
}

int
dict_put(struct dict *d, const char *key, const char *value)
{
	d->error = DICT_ERR_NONE;
	if (d->update == NULL) {
		msg_warn("table %s:%s: update operation is not supported",
		    d->type, d->name);
		d->error = DICT_ERR_CONFIG;
		return -1;
	}
	return d->update(d, dict_fold(d, key), value);
}

int
dict_del(struct dict *d, const char *key)
{
	d->error = DICT_ERR_NONE;
	if (d->delete == NULL) {
		msg_warn("table %s:%s: delete operation is not supported",
		    d->type, d->name);
		d->error = DICT_ERR_CONFIG;
		return -1;
	}
	return d->delete (d, dict_fold(d, key));
}

int
dict_seq(struct dict *d, int func, const char **key, const char **value)
{
	d->error = DICT_ERR_NONE;
	if (d->sequence == NULL) {
		msg_warn("table %s:%s: sequence operation is not supported",
		    d->type, d->name);
		d->error = DICT_ERR_CONFIG;
		return -1;
	}
	return d->sequence(d, func, key, value);
}

int
dict_sync(struct dict *d)
{
	d->error = DICT_ERR_NONE;
	if (d->sync == NULL)
		return 0;
	return d->sync(d);
}

struct dict *
dict_close(struct dict *d)
{
	if (d == NULL)
		return NULL;
	if (d->close)
		d->close(d);
	else
		dict_free_common(d);
	return NULL;
}

/*
 * Postfix restarts a daemon whose table file changed or was replaced
 * (postmap writes a new file and renames it over the old one, leaving the
 * old inode with no links).
 */
bool
dict_changed(struct dict *d)
{
	struct stat st;

	if (d == NULL || d->stat_fd < 0)
		return false;
	if (fstat(d->stat_fd, &st) < 0)
		return true;
	return st.st_mtime != d->mtime || st.st_nlink == 0;
}

/* Surrogate: every operation fails with DICT_ERR_RETRY. */
static const char *
dict_surrogate_lookup(struct dict *d, const char *key)
{
	(void)key;
	d->error = DICT_ERR_RETRY;
	return NULL;
}

static int
dict_surrogate_update(struct dict *d, const char *key, const char *value)
{
	(void)key;
	(void)value;
	d->error = DICT_ERR_RETRY;
	return -1;
}

static int
dict_surrogate_delete(struct dict *d, const char *key)
{
	(void)key;
	d->error = DICT_ERR_RETRY;
	return -1;
}

static int
dict_surrogate_sequence(struct dict *d, int func, const char **key,
    const char **value)
{
	(void)func;
	*key = *value = NULL;
	d->error = DICT_ERR_RETRY;
	return -1;
}

/*
 * As Postfix, the reason is logged once, as an error, when the surrogate
 * is made: the table may never be used in this process, but the mistake
 * must not go unnoticed (and enough of them end the process, msg_error).
 */
struct dict *
dict_surrogate(const char *spec, const char *why_text)
{
	const char *colon = strchr(spec, ':');
	struct dict *d;
	char *type;

	if (colon)
		type = xstrndup(spec, (size_t)(colon - spec));
	else
		type = xstrdup("");
	d = dict_alloc(type, colon ? colon + 1 : spec, sizeof(*d));
	free(type);
	d->lookup = dict_surrogate_lookup;
	d->update = dict_surrogate_update;
	d->delete = dict_surrogate_delete;
	d->sequence = dict_surrogate_sequence;
	if (why_text && *why_text)
		msg_error("%s", why_text);
	return d;
}
