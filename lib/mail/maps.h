/*
 * maps - lookups in a list of tables, and the search orders of access(5),
 * virtual(5), canonical(5) and transport(5) built on them.
 *
 * maps_new(title, spec, dict_flags)  open every table of a list such as
 *                        "hash:/a, regexp:/b" (commas and/or white space,
 *                        { } kept whole) read-only; a table that cannot be
 *                        opened is replaced by a surrogate whose lookups
 *                        fail with DICT_ERR_RETRY, after a warning
 * maps_free(maps)        close all; returns NULL
 * maps_find(maps, key, flags)  the first table's answer, or NULL with
 *                        maps->error DICT_ERR_NONE (not found) or an error
 *                        (try again / bad table).  flags DICT_FLAG_FIXED
 *                        marks a partial key (user@, @domain, parent
 *                        domain): it skips tables that do not have that
 *                        flag, so that regexp/pcre see full keys only.  An
 *                        empty key is never looked up; an empty result is
 *                        a configuration error, as in Postfix
 * maps_find_addr(maps, addr, strategy, delim, local, &ext)  the address
 *                        search order selected by MAPS_FIND_* (below); delim
 *                        is recipient_delimiter (NULL or "" for none), local
 *                        says the domain is $myorigin/$mydestination/an
 *                        interface address (the caller decides); *ext gets
 *                        a malloc'd copy of the extension ("+foo") when a
 *                        key without it matched (ext may be NULL)
 * maps_find_domain(maps, domain, flags, parent)  access(5) HOST/domain order:
 *                        "a.b.c", then "b.c", "c" when parent (the map's
 *                        name is in parent_domain_matches_subdomains), else
 *                        ".b.c", ".c"; flags as for maps_find (first key)
 * maps_find_hostaddr(maps, addr, flags)  access(5) client address order:
 *                        1.2.3.4, 1.2.3, 1.2, 1 (IPv6: drop ":part" from the
 *                        right); later keys are partial
 * maps_split_ext(localpart, delim, &ext)  the localpart without its
 *                        extension as Postfix splits it (never postmaster,
 *                        mailer-daemon, double-bounce, owner-x, x-request
 *                        when '-' is a delimiter; never to an empty name):
 *                        malloc'd bare localpart or NULL when not split
 */
#ifndef MAPS_H
#define MAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util/dict.h"

struct maps {
	char *title; /* "canonical_maps", for warnings */
	struct dict **dicts;
	size_t count;
	int error; /* DICT_ERR_* of the last maps_find */
};

/* Address search strategies (Postfix mail_addr_find MA_FIND_*). */
#define MAPS_FIND_FULL                  (1 << 0) /* user+ext@domain */
#define MAPS_FIND_NOEXT                 (1 << 1) /* user@domain */
#define MAPS_FIND_LOCALPART_IF_LOCAL    (1 << 2) /* user+ext, user */
#define MAPS_FIND_LOCALPART_AT_IF_LOCAL (1 << 3) /* user+ext@, user@ */
#define MAPS_FIND_AT_DOMAIN             (1 << 4) /* @domain */
#define MAPS_FIND_DOMAIN                (1 << 5) /* domain */
#define MAPS_FIND_PDMS                  (1 << 6) /* then parent domains */
#define MAPS_FIND_PDDMDS                (1 << 7) /* then .parent domains */
#define MAPS_FIND_LOCALPART_AT          (1 << 8) /* user+ext@, user@ */

/* virtual(5), canonical(5): user+ext@domain, user@domain, user+ext,
 * user (local domains only), @domain. */
#define MAPS_FIND_DEFAULT                                                      \
	(MAPS_FIND_FULL | MAPS_FIND_NOEXT | MAPS_FIND_LOCALPART_IF_LOCAL |     \
	    MAPS_FIND_AT_DOMAIN)
/* access(5) e-mail address: user+ext@domain, user@domain, domain (and its
 * parents: add PDMS or PDDMDS), user+ext@, user@. */
#define MAPS_FIND_ACCESS                                                       \
	(MAPS_FIND_FULL | MAPS_FIND_NOEXT | MAPS_FIND_DOMAIN |                 \
	    MAPS_FIND_LOCALPART_AT)

struct maps *maps_new(const char *, const char *, int);
struct maps *maps_free(struct maps *);
const char *maps_find(struct maps *, const char *, int);
const char *maps_find_addr(struct maps *, const char *, int, const char *, bool,
    char **);
const char *maps_find_domain(struct maps *, const char *, int, bool);
const char *maps_find_hostaddr(struct maps *, const char *, int);
char *maps_split_ext(const char *, const char *, char **);

#endif
