/*
 * maps - lookups in a list of tables and the mail address search orders.
 *
 * The orders are Postfix 3.7's (global/maps.c, mail_addr_find.c,
 * strip_addr.c, split_addr.c and smtpd_check.c's domain and address
 * walks), documented in access(5), virtual(5) and canonical(5).  Partial
 * keys (user@, @domain, a parent domain) go only to tables with
 * DICT_FLAG_FIXED, so a regexp table never matches half an address.
 * Case folding is the tables' business (DICT_FLAG_FOLD_FIX at open).
 * Only the internal (unquoted) address form is searched.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/dict.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/maps.h"

#define FULL    0
#define PARTIAL DICT_FLAG_FIXED

struct maps *
maps_new(const char *title, const char *spec, int dict_flags)
{
	struct maps *maps = xcalloc(1, sizeof(*maps));
	struct str *why = str_new(100);
	struct argv *names;
	struct dict *d;

	maps->title = xstrdup(title);
	if ((names = argv_split_list(spec)) == NULL) {
		msg_warn("%s: unbalanced '{' or '}' in \"%s\"", title, spec);
		maps->dicts = xcalloc(1, sizeof(*maps->dicts));
		maps->dicts[maps->count++] =
		    dict_surrogate(spec, "unbalanced braces");
		str_free(why);
		return maps;
	}
	maps->dicts = xcalloc(names->argc + 1, sizeof(*maps->dicts));
	for (size_t i = 0; i < names->argc; i++) {
		str_reset(why);
		d = dict_open(names->argv[i], O_RDONLY, dict_flags, why);
		if (d == NULL) {
			/* Defer mail instead of dying, as Postfix does. */
			msg_warn("%s is unavailable. %s", names->argv[i],
			    str_ptr(why));
			d = dict_surrogate(names->argv[i], str_ptr(why));
		}
		maps->dicts[maps->count++] = d;
	}
	argv_free(names);
	str_free(why);
	return maps;
}

struct maps *
maps_free(struct maps *maps)
{
	if (maps == NULL)
		return NULL;
	for (size_t i = 0; i < maps->count; i++)
		dict_close(maps->dicts[i]);
	free(maps->dicts);
	free(maps->title);
	free(maps);
	return NULL;
}

const char *
maps_find(struct maps *maps, const char *key, int flags)
{
	const char *value;
	struct dict *d;

	maps->error = DICT_ERR_NONE;
	if (*key == 0)
		return NULL;
	for (size_t i = 0; i < maps->count; i++) {
		d = maps->dicts[i];
		if (flags != 0 && (d->flags & flags) == 0)
			continue;
		if ((value = dict_get(d, key)) != NULL) {
			if (*value == 0) {
				msg_warn(
				    "%s lookup of %s returns an empty string result",
				    maps->title, key);
				msg_warn(
				    "%s should return NO RESULT in case of NOT FOUND",
				    maps->title);
				maps->error = DICT_ERR_CONFIG;
				return NULL;
			}
			if (msg_verbose)
				msg_info("maps_find: %s: %s:%s: %s = %.100s%s",
				    maps->title, d->type, d->name, key, value,
				    strlen(value) > 100 ? "..." : "");
			return value;
		}
		if ((maps->error = d->error) != DICT_ERR_NONE) {
			msg_warn("%s:%s lookup error for \"%s\"", d->type,
			    d->name, key);
			break;
		}
	}
	return NULL;
}

char *
maps_split_ext(const char *localpart, const char *delim, char **extp)
{
	size_t len = strlen(localpart), n;

	if (extp)
		*extp = NULL;
	if (delim == NULL || *delim == 0)
		return NULL;
	/* These are never split, whatever the delimiter (split_addr.c). */
	if (strcasecmp(localpart, "postmaster") == 0 ||
	    strcasecmp(localpart, "mailer-daemon") == 0 ||
	    strcasecmp(localpart, "double-bounce") == 0)
		return NULL;
	/* Backwards compatibility: owner-foo and foo-request stay whole. */
	if (strchr(delim, '-') != NULL) {
		if (strncasecmp(localpart, "owner-", 6) == 0)
			return NULL;
		if (len > 8 && strcasecmp(localpart + len - 8, "-request") == 0)
			return NULL;
	}
	/* Never split into an empty name. */
	if ((n = strcspn(localpart, delim)) == 0 || localpart[n] == 0)
		return NULL;
	if (extp)
		*extp = xstrdup(localpart + n);
	return xstrndup(localpart, n);
}

/* Postfix strip_addr_internal(): "user+foo@dom" -> "user@dom", "+foo". */
static char *
maps_strip(const char *addr, const char *delim, char **extp)
{
	const char *at = strrchr(addr, '@');
	char *local, *bare;
	struct str *s;

	local = at ? xstrndup(addr, (size_t)(at - addr)) : xstrdup(addr);
	bare = maps_split_ext(local, delim, extp);
	free(local);
	if (bare == NULL || at == NULL)
		return bare;
	s = str_new(strlen(addr));
	str_set(s, bare);
	str_cat(s, at);
	free(bare);
	return str_steal(s);
}

/*
 * Look up the localpart of key (everything before its last '@'), with the
 * '@' when with_at; then the same for the extension-less bare key.
 */
static const char *
maps_find_local(struct maps *maps, const char *full, const char *bare,
    bool with_at, char **extp, char **saved_ext)
{
	const char *result, *at;
	char *key;

	at = strrchr(full, '@');
	key = xstrndup(full, (size_t)(at - full) + (with_at ? 1 : 0));
	result = maps_find(maps, key, PARTIAL);
	free(key);
	if (result == NULL && maps->error == 0 && bare != NULL) {
		at = strrchr(bare, '@');
		key = xstrndup(bare, (size_t)(at - bare) + (with_at ? 1 : 0));
		if ((result = maps_find(maps, key, PARTIAL)) != NULL && extp) {
			*extp = *saved_ext;
			*saved_ext = NULL;
		}
		free(key);
	}
	return result;
}

const char *
maps_find_addr(struct maps *maps, const char *addr, int strategy,
    const char *delim, bool local, char **extp)
{
	const char *result = NULL, *at, *name, *next;
	char *bare = NULL, *saved_ext = NULL;

	if (extp)
		*extp = NULL;
	maps->error = DICT_ERR_NONE;
	if (delim && *delim && (strategy & MAPS_FIND_NOEXT))
		bare = maps_strip(addr, delim, &saved_ext);

	/* user+foo@domain, then user@domain. */
	if (strategy & MAPS_FIND_FULL)
		result = maps_find(maps, addr, FULL);
	if (result == NULL && maps->error == 0 && bare != NULL &&
	    (result = maps_find(maps, bare, PARTIAL)) != NULL && extp) {
		*extp = saved_ext;
		saved_ext = NULL;
	}
	at = strrchr(addr, '@');

	/* user+foo and user (or with '@') when the domain is ours. */
	if (result == NULL && maps->error == 0 && at != NULL && local) {
		if (strategy & MAPS_FIND_LOCALPART_IF_LOCAL)
			result = maps_find_local(maps, addr, bare, false, extp,
			    &saved_ext);
		if (result == NULL && maps->error == 0 &&
		    (strategy & MAPS_FIND_LOCALPART_AT_IF_LOCAL))
			result = maps_find_local(maps, addr, bare, true, extp,
			    &saved_ext);
	}

	/* @domain. */
	if (result == NULL && maps->error == 0 && at != NULL &&
	    (strategy & MAPS_FIND_AT_DOMAIN))
		result = maps_find(maps, at, PARTIAL);

	/* domain, then its parents as "b.c" (PDMS) or ".b.c" (PDDMDS). */
	if (result == NULL && maps->error == 0 && at != NULL &&
	    (strategy & MAPS_FIND_DOMAIN)) {
		for (name = at + 1; *name != 0; name = next) {
			if ((result = maps_find(maps, name, PARTIAL)) != NULL ||
			    maps->error != 0 ||
			    (strategy & (MAPS_FIND_PDMS | MAPS_FIND_PDDMDS)) ==
				0 ||
			    (next = strchr(name + 1, '.')) == NULL)
				break;
			if ((strategy & MAPS_FIND_PDDMDS) == 0)
				next++;
		}
	}

	/* user+foo@, then user@, whatever the domain. */
	if (result == NULL && maps->error == 0 && at != NULL &&
	    (strategy & MAPS_FIND_LOCALPART_AT))
		result =
		    maps_find_local(maps, addr, bare, true, extp, &saved_ext);

	if (msg_verbose)
		msg_info("maps_find_addr: %s -> %s", addr,
		    result        ? result
		    : maps->error ? "(try again)"
				  : "(not found)");
	free(bare);
	free(saved_ext);
	return result;
}

/* A numerical host name gets no parent-domain search (smtpd_check.c). */
static bool
maps_is_numeric(const char *name)
{
	if (strchr(name, ':') != NULL)
		return true;
	for (; *name; name++)
		if (!isdigit((unsigned char)*name) && *name != '.')
			return false;
	return true;
}

const char *
maps_find_domain(struct maps *maps, const char *domain, int flags, bool parent)
{
	const char *result = NULL, *name, *next;
	bool numeric = maps_is_numeric(domain);

	maps->error = DICT_ERR_NONE;
	for (name = domain; *name != 0; name = next) {
		if ((result = maps_find(maps, name, flags)) != NULL ||
		    maps->error != 0 || numeric ||
		    (next = strchr(name + 1, '.')) == NULL)
			break;
		if (parent)
			next++;
		flags = PARTIAL;
	}
	return result;
}

const char *
maps_find_hostaddr(struct maps *maps, const char *addr, int flags)
{
	int delim = strchr(addr, ':') ? ':' : '.';
	const char *result;
	char *key = xstrdup(addr), *cut;

	/* IPv6 text is matched in lower case, as smtpd does. */
	if (delim == ':')
		for (cut = key; *cut; cut++)
			*cut = (char)tolower((unsigned char)*cut);
	for (;;) {
		if ((result = maps_find(maps, key, flags)) != NULL ||
		    maps->error != 0)
			break;
		if ((cut = strrchr(key, delim)) == NULL)
			break;
		*cut = 0;
		flags = PARTIAL;
	}
	free(key);
	return result;
}
