/*
 * addr_map - canonical(5) mapping, virtual(5) alias expansion and address
 * masquerading, with the behaviour of Postfix 3.7's cleanup
 * (cleanup_map11, cleanup_map1n, cleanup_masquerade, mail_addr_map) as
 * canonical(5), virtual(5) and postconf(5) describe it.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/htable.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/addr.h"
#include "lib/mail/addr_map.h"
#include "lib/mail/maps.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/tr_clnt.h"

#define ADDR_MAP_RETRY_TEXT " -- message not accepted, try again later"

static int addr_map_default_local(const char *);
static int addr_map_default_rewrite(const char *, struct str *);

const char *addr_map_queue_id;
addr_map_local_fn *addr_map_local = addr_map_default_local;
addr_map_rewrite_fn *addr_map_rewrite = addr_map_default_rewrite;

static struct match_list *addr_map_mydest;
static struct argv *addr_map_own_addrs; /* inet_ntop() text */
static bool addr_map_ready;

/* The prefix of the warnings logged here: "QUEUE_ID: " or nothing. */
static const char *
addr_map_id(void)
{
	return addr_map_queue_id ? addr_map_queue_id : "";
}

static const char *
addr_map_sep(void)
{
	return addr_map_queue_id ? ": " : "";
}

/* Add the text form of one address literal or host name's addresses. */
static void
addr_map_add_host(struct argv *out, const char *host)
{
	struct addrinfo hints, *res, *ai;
	char buf[INET6_ADDRSTRLEN];
	const void *sa;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0) {
		msg_warn("%s: host not found", host);
		return;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			sa = &((struct sockaddr_in *)(void *)ai->ai_addr)
				  ->sin_addr;
		else if (ai->ai_family == AF_INET6)
			sa = &((struct sockaddr_in6 *)(void *)ai->ai_addr)
				  ->sin6_addr;
		else
			continue;
		if (inet_ntop(ai->ai_family, sa, buf, sizeof(buf)) != NULL)
			argv_add(out, buf);
	}
	freeaddrinfo(res);
}

/* Every address of this host's interfaces (inet_interfaces = all). */
static void
addr_map_add_ifaddrs(struct argv *out)
{
	struct ifaddrs *list, *ifa;
	char buf[INET6_ADDRSTRLEN];
	const void *sa;

	if (getifaddrs(&list) < 0) {
		msg_warn("getifaddrs: %m");
		return;
	}
	for (ifa = list; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL)
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET)
			sa = &((struct sockaddr_in *)(void *)ifa->ifa_addr)
				  ->sin_addr;
		else if (ifa->ifa_addr->sa_family == AF_INET6)
			sa = &((struct sockaddr_in6 *)(void *)ifa->ifa_addr)
				  ->sin6_addr;
		else
			continue;
		if (inet_ntop(ifa->ifa_addr->sa_family, sa, buf, sizeof(buf)) !=
		    NULL)
			argv_add(out, buf);
	}
	freeifaddrs(list);
}

static void
addr_map_add_interfaces(struct argv *out, const char *spec)
{
	struct argv *names = argv_split(spec, ", \t\r\n");

	for (size_t i = 0; i < names->argc; i++) {
		if (strcasecmp(names->argv[i], "all") == 0) {
			addr_map_add_ifaddrs(out);
		} else if (strcasecmp(names->argv[i], "loopback-only") == 0) {
			argv_add(out, "127.0.0.1");
			argv_add(out, "::1");
		} else {
			size_t len = strlen(names->argv[i]);
			char *host = names->argv[i];

			/* [::1] is accepted in inet_interfaces too. */
			if (len > 2 && host[0] == '[' && host[len - 1] == ']') {
				host[len - 1] = 0;
				host++;
			}
			addr_map_add_host(out, host);
		}
	}
	argv_free(names);
}

void
addr_map_init(void)
{
	if (addr_map_ready)
		return;
	addr_map_ready = true;
	addr_map_mydest = match_list_new("mydestination", var_mydestination, 0);
	addr_map_own_addrs = argv_new();
	addr_map_add_interfaces(addr_map_own_addrs, var_inet_interfaces);
	addr_map_add_interfaces(addr_map_own_addrs, var_proxy_interfaces);
}

/* Is "[1.2.3.4]" or "[IPv6:::1]" one of our interface addresses? */
static bool
addr_map_own_literal(const char *literal, size_t len)
{
	char *text = xstrndup(literal + 1, len - 2), *addr = text;
	char buf[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	int family = AF_INET;
	bool found = false;

	if (strncasecmp(addr, "IPv6:", 5) == 0) {
		addr += 5;
		family = AF_INET6;
	}
	if (inet_pton(family, addr, bin) == 1 &&
	    inet_ntop(family, bin, buf, sizeof(buf)) != NULL)
		for (size_t i = 0; i < addr_map_own_addrs->argc; i++)
			if (strcasecmp(addr_map_own_addrs->argv[i], buf) == 0)
				found = true;
	free(text);
	return found;
}

/* Postfix's resolve_local() with mail_addr_find()'s $myorigin test. */
static int
addr_map_default_local(const char *domain)
{
	size_t len = strlen(domain);
	char *name;
	int rc;

	addr_map_init();
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0)
		return 0;
	name = xstrndup(domain, len);
	if (strcasecmp(name, var_myorigin) == 0)
		rc = 1;
	else if (name[0] == '[' && name[len - 1] == ']')
		rc = addr_map_own_literal(name, len) ? 1 : 0;
	else
		rc = match_list_domain(addr_map_mydest, name);
	free(name);
	return rc;
}

static int
addr_map_default_rewrite(const char *addr, struct str *result)
{
	return rewrite_addr("local", addr, result);
}

/* Does propagate_unmatched_extensions name this class? */
static bool
addr_map_propagate(const char *class)
{
	struct argv *names =
	    argv_split(var_propagate_unmatched_extensions, ", \t\r\n");
	bool found = false;

	for (size_t i = 0; i < names->argc; i++)
		if (strcasecmp(names->argv[i], class) == 0)
			found = true;
	argv_free(names);
	return found;
}

/* Put ext back into the localpart of addr: before its last '@'. */
static void
addr_map_add_ext(struct str *addr, const char *ext)
{
	const char *at = strrchr(str_ptr(addr), '@');
	struct str *tmp;

	if (at == NULL) {
		str_cat(addr, ext);
		return;
	}
	tmp = str_new(str_len(addr) + strlen(ext));
	str_catn(tmp, str_ptr(addr), (size_t)(at - str_ptr(addr)));
	str_cat(tmp, ext);
	str_cat(tmp, at);
	str_set(addr, str_ptr(tmp));
	str_free(tmp);
}

/*
 * One table lookup of an internal address with the canonical(5) and
 * virtual(5) search order, its result turned into internal, canonical
 * addresses appended to results.  1 found, 0 not found, -1 error.
 */
static int
addr_map_find(struct maps *maps, const char *addr, bool propagate,
    struct argv *results)
{
	const char *at = strrchr(addr, '@'), *value;
	struct str *text, *canon;
	struct argv *list;
	char *ext = NULL;
	int local = 0, rc = 1;

	if (at != NULL && (local = addr_map_local(at + 1)) < 0)
		return -1;
	value = maps_find_addr(maps, addr, MAPS_FIND_DEFAULT,
	    var_recipient_delimiter, local > 0, &ext);
	if (value == NULL) {
		free(ext);
		return maps->error != 0 ? -1 : 0;
	}

	/* "@other": the same user (without a matched-off extension). */
	text = str_new(100);
	if (*value == '@') {
		size_t len = at ? (size_t)(at - addr) : strlen(addr);

		if (ext != NULL && strlen(ext) <= len)
			len -= strlen(ext);
		str_catn(text, addr, len);
	}
	str_cat(text, value);

	list = argv_new();
	if (addr_parse_list(str_ptr(text), list) == 0)
		argv_add(list, "");
	canon = str_new(100);
	for (size_t i = 0; i < list->argc; i++) {
		str_reset(canon);
		if (*list->argv[i] == 0) {
			str_set(canon, "");
		} else if (addr_map_rewrite(list->argv[i], canon) < 0) {
			rc = -1;
			break;
		}
		if (propagate && ext != NULL)
			addr_map_add_ext(canon, ext);
		argv_add(results, str_ptr(canon));
	}
	str_free(canon);
	argv_free(list);
	str_free(text);
	free(ext);
	return rc;
}

int
canon_lookup(struct maps *maps, const char *addr, struct str *out)
{
	bool propagate = addr_map_propagate("canonical");
	struct argv *results;
	int rc, count;

	str_set(out, addr);
	for (count = 0; count < ADDR_MAP_CANON_DEPTH; count++) {
		results = argv_new();
		rc = addr_map_find(maps, str_ptr(out), propagate, results);
		if (rc <= 0) {
			argv_free(results);
			if (rc < 0) {
				str_set(out, addr);
				return -1;
			}
			break;
		}
		if (results->argc > 1)
			msg_warn("%s%smulti-valued %s entry for %s",
			    addr_map_id(), addr_map_sep(), maps->title,
			    str_ptr(out));
		rc = strcasecmp(str_ptr(out), results->argv[0]);
		str_set(out, results->argv[0]);
		argv_free(results);
		/* An address that maps to itself (in any case) is final. */
		if (rc == 0)
			break;
	}
	if (count >= ADDR_MAP_CANON_DEPTH)
		msg_warn(
		    "%s%sunreasonable %s map nesting for %s" ADDR_MAP_RETRY_TEXT,
		    addr_map_id(), addr_map_sep(), maps->title, str_ptr(out));
	return strcmp(str_ptr(out), addr) != 0 ? 1 : 0;
}

/* Remember an address in lower case (been_here with case folding). */
static void
addr_map_mark(struct htable *seen, const char *addr)
{
	struct str *key = str_new(strlen(addr));

	str_set(key, addr);
	str_lower(key);
	if (htable_find(seen, str_ptr(key)) == NULL)
		htable_enter(seen, str_ptr(key), seen);
	str_free(key);
}

static bool
addr_map_marked(struct htable *seen, const char *addr)
{
	struct str *key = str_new(strlen(addr));
	bool found;

	str_set(key, addr);
	str_lower(key);
	found = htable_find(seen, str_ptr(key)) != NULL;
	str_free(key);
	return found;
}

/* Replace argv entry i by s. */
static void
addr_map_replace(struct argv *a, size_t i, const char *s)
{
	free(a->argv[i]);
	a->argv[i] = xstrdup(s);
}

int
virtual_expand(struct maps *maps, const char *addr, struct argv *out,
    struct str *why)
{
	bool propagate = addr_map_propagate("virtual");
	struct argv *work = argv_new(), *results;
	struct htable *selfs = htable_new(10), *dups;
	char *lhs;
	int status = 0, rc;

	/*
	 * Expand in place as Postfix does, so that the recipients come out in
	 * its order: the first result replaces the address and is expanded
	 * again at once, the others are appended and expanded when reached.
	 */
	argv_add(work, addr);
	for (size_t i = 0; status == 0 && i < work->argc; i++) {
		if (work->argc > (size_t)var_virtual_alias_expansion_limit) {
			str_fmt(why,
			    "unreasonable %s map expansion size for %s" ADDR_MAP_RETRY_TEXT,
			    maps->title, addr);
			status = ADDR_MAP_LIMIT;
			break;
		}
		for (int count = 0;; count++) {
			/* It expanded into itself before: leave it alone. */
			if (addr_map_marked(selfs, work->argv[i]))
				break;
			if (count >= var_virtual_alias_recursion_limit) {
				str_fmt(why,
				    "unreasonable %s map nesting for %s" ADDR_MAP_RETRY_TEXT,
				    maps->title, addr);
				status = ADDR_MAP_LIMIT;
				break;
			}
			results = argv_new();
			rc = addr_map_find(maps, work->argv[i], propagate,
			    results);
			if (rc <= 0) {
				if (rc < 0) {
					str_fmt(why,
					    "%s map lookup problem for %s" ADDR_MAP_RETRY_TEXT,
					    maps->title, work->argv[i]);
					status = ADDR_MAP_DEFER;
				}
				argv_free(results);
				break;
			}
			lhs = xstrdup(work->argv[i]);
			for (size_t j = 0; j < results->argc; j++) {
				const char *r = results->argv[j];

				if (strlen(r) >
				    (size_t)
					var_virtual_alias_address_length_limit) {
					str_fmt(why,
					    "unreasonable %s result %.300s..." ADDR_MAP_RETRY_TEXT,
					    maps->title, r);
					status = ADDR_MAP_LIMIT;
					break;
				}
				if (j == 0)
					addr_map_replace(work, i, r);
				else
					argv_add(work, r);
				if (strcasecmp(lhs, r) == 0)
					addr_map_mark(selfs, lhs);
			}
			free(lhs);
			argv_free(results);
			if (status != 0)
				break;
		}
	}

	/* Postfix keeps the original recipient when expansion fails. */
	if (status != 0) {
		argv_add(out, addr);
	} else {
		dups = htable_new(work->argc);
		for (size_t i = 0; i < work->argc; i++) {
			if (addr_map_marked(dups, work->argv[i]))
				continue;
			addr_map_mark(dups, work->argv[i]);
			argv_add(out, work->argv[i]);
		}
		htable_free(dups, NULL);
	}
	htable_free(selfs, NULL);
	argv_free(work);
	return status;
}

bool
masquerade(struct str *addr, const struct argv *domains,
    const struct argv *exceptions)
{
	const char *at = strrchr(str_ptr(addr), '@'), *domain, *pat;
	size_t dlen, plen, llen;
	bool negated;

	if (at == NULL || domains == NULL)
		return false;
	domain = at + 1;
	dlen = strlen(domain);
	llen = (size_t)(at - str_ptr(addr));
	for (size_t i = 0; exceptions != NULL && i < exceptions->argc; i++)
		if (strlen(exceptions->argv[i]) == llen &&
		    strncasecmp(exceptions->argv[i], str_ptr(addr), llen) == 0)
			return false;

	/* The first listed domain equal to, or a parent of, ours decides. */
	for (size_t i = 0; i < domains->argc; i++) {
		pat = domains->argv[i];
		if ((negated = (*pat == '!')))
			pat++;
		if ((plen = strlen(pat)) == 0 || plen > dlen)
			continue;
		if (plen == dlen) {
			if (strcasecmp(pat, domain) == 0)
				return false;
			continue;
		}
		if (domain[dlen - plen - 1] != '.' ||
		    strcasecmp(pat, domain + dlen - plen) != 0)
			continue;
		if (negated)
			return false;
		str_truncate(addr, llen + 1);
		str_cat(addr, pat);
		return true;
	}
	return false;
}
