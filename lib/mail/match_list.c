/*
 * match_list - Postfix's domain, string and host lists (mydestination,
 * relay_domains, mynetworks...): patterns, "/file" inclusions, "type:table"
 * lookups and "!" negation; the first matching pattern decides.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/dict.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/params.h"
#include "lib/mail/match_list.h"

enum pat_kind { PAT_NAME, PAT_TABLE, PAT_NET };

struct pattern {
	enum pat_kind kind;
	bool negate;
	char *text;        /* lower case; PAT_NAME */
	struct dict *dict; /* PAT_TABLE */
	int family;        /* PAT_NET: AF_INET or AF_INET6 */
	unsigned char net[16];
	int prefix;       /* PAT_NET: significant bits */
	bool net_pattern; /* the text parses as an address or network */
};

struct match_list {
	char *name;
	bool parent; /* "example.com" also matches its subdomains */
	struct pattern *v;
	size_t n, cap;
};

/* Parse "1.2.3.4", "[::1]", "10.0.0.0/8", "[2001:db8::]/32"; 0 or -1. */
static int
parse_net(const char *text, int *family, unsigned char *net, int *prefix)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/'), *p = text;
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	char *end;
	long bits;

	if (len >= 2 && p[0] == '[' && p[len - 1] == ']') {
		p++;
		len -= 2;
	} else if (p[0] == '[') {
		return -1;
	}
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, p, len);
	buf[len] = 0;
	if (inet_pton(AF_INET, buf, net) == 1) {
		*family = AF_INET;
		*prefix = 32;
	} else if (inet_pton(AF_INET6, buf, net) == 1) {
		*family = AF_INET6;
		*prefix = 128;
	} else {
		return -1;
	}
	if (slash != NULL) {
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (slash[1] == 0 || !isdigit((unsigned char)slash[1]) ||
		    *end != 0 || errno != 0 || bits > *prefix)
			return -1;
		*prefix = (int)bits;
	}
	return 0;
}

/* Do the first bits of a and b agree? */
static bool
bits_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (0xff00 >> rest) & 0xff) == 0;
}

/*
 * Clear the host bits of net; true when there were any, with the network
 * Postfix suggests in its fatal text put in suggest.
 */
static bool
host_bits(unsigned char *net, int family, int prefix, bool brackets,
    struct str *suggest)
{
	unsigned char masked[16];
	char text[INET6_ADDRSTRLEN];
	int size = family == AF_INET ? 4 : 16;

	memcpy(masked, net, (size_t)size);
	for (int i = prefix; i < size * 8; i++)
		masked[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
	if (memcmp(masked, net, (size_t)size) == 0)
		return false;
	if (inet_ntop(family, masked, text, sizeof(text)) == NULL)
		text[0] = 0;
	str_fmt(suggest, brackets ? "[%s]/%d" : "%s/%d", text, prefix);
	return true;
}

/* "type:name", not an address: what Postfix's MATCH_DICTIONARY sees. */
static bool
is_table(const char *p)
{
	int family, prefix;
	unsigned char net[16];

	if (p[0] == '[' || strchr(p, ':') == NULL)
		return false;
	return parse_net(p, &family, net, &prefix) < 0;
}

static void
list_add(struct match_list *l, const struct pattern *pat)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = *pat;
}

static void list_parse(struct match_list *, const char *, int);

/* A "/file" of patterns: white space or commas between them, # comments. */
static void
list_file(struct match_list *l, const char *path, bool negate, int depth)
{
	struct str *why = str_new(64);
	struct pattern pat = { 0 };
	char *line = NULL;
	size_t cap = 0;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		/* Like Postfix: the lookups of this list fail (defer). */
		str_fmt(why, "open file %s: %m", path);
		pat.kind = PAT_TABLE;
		pat.negate = negate;
		pat.dict = dict_surrogate(path, str_ptr(why));
		list_add(l, &pat);
		str_free(why);
		return;
	}
	while (getline(&line, &cap, fp) >= 0) {
		char *hash = strchr(line, '#');

		if (hash != NULL)
			*hash = 0;
		if (negate) {
			struct argv *a = argv_split(line, " \t\r\n,");

			for (size_t i = 0; i < a->argc; i++) {
				str_fmt(why, "!%s", a->argv[i]);
				list_parse(l, str_ptr(why), depth + 1);
			}
			argv_free(a);
		} else {
			list_parse(l, line, depth + 1);
		}
	}
	free(line);
	fclose(fp);
	str_free(why);
}

static void
list_item(struct match_list *l, const char *item, int depth)
{
	struct pattern pat = { 0 };
	struct str *why;

	for (; *item == '!'; item++)
		pat.negate = !pat.negate;
	if (*item == 0)
		return;
	if (*item == '/') {
		/* Files may include files; a loop stops at a fixed depth. */
		if (depth > 10)
			msg_fatal("%s: file inclusion too deep at %s", l->name,
			    item);
		list_file(l, item, pat.negate, depth);
		return;
	}
	if (is_table(item)) {
		why = str_new(64);
		pat.kind = PAT_TABLE;
		pat.dict = dict_open(item, O_RDONLY, DICT_FLAGS_READ, why);
		if (pat.dict == NULL) {
			msg_warn("%s is unavailable. %s", item, str_ptr(why));
			pat.dict = dict_surrogate(item, str_ptr(why));
		}
		str_free(why);
		list_add(l, &pat);
		return;
	}
	pat.kind = PAT_NAME;
	pat.text = xstrdup(item);
	for (char *p = pat.text; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (parse_net(item, &pat.family, pat.net, &pat.prefix) == 0) {
		struct str *suggest = str_new(64);

		pat.net_pattern = true;
		if (host_bits(pat.net, pat.family, pat.prefix, *item == '[',
			suggest))
			msg_fatal("non-null host address bits in \"%s\", "
				  "perhaps you should use \"%s\" instead",
			    item, str_ptr(suggest));
		str_free(suggest);
	}
	list_add(l, &pat);
}

static void
list_parse(struct match_list *l, const char *spec, int depth)
{
	struct argv *items = argv_split_list(spec);

	if (items == NULL) {
		/* Unbalanced braces: split without them rather than fail. */
		items = argv_split(spec, " \t\r\n,");
	}
	for (size_t i = 0; i < items->argc; i++)
		list_item(l, items->argv[i], depth);
	argv_free(items);
}

/* Is name in parent_domain_matches_subdomains? */
static bool
parent_style(const char *name)
{
	struct argv *a;
	bool found = false;

	if (var_parent_domain_matches_subdomains == NULL)
		return false;
	a = argv_split(var_parent_domain_matches_subdomains, " \t\r\n,");
	for (size_t i = 0; i < a->argc && !found; i++)
		found = strcmp(a->argv[i], name) == 0;
	argv_free(a);
	return found;
}

struct match_list *
match_list_new(const char *name, const char *spec, int flags)
{
	struct match_list *l = xcalloc(1, sizeof(*l));

	l->name = xstrdup(name);
	l->parent = (flags & MATCH_LIST_PARENT) || parent_style(name);
	list_parse(l, spec != NULL ? spec : "", 0);
	return l;
}

struct match_list *
match_list_free(struct match_list *l)
{
	if (l == NULL)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].text);
		dict_close(l->v[i].dict);
	}
	free(l->v);
	free(l->name);
	free(l);
	return NULL;
}

/* A table lookup: 1 found, 0 not, -1 error. */
static int
table_get(struct dict *d, const char *key)
{
	if (dict_get(d, key) != NULL)
		return 1;
	return d->error != DICT_ERR_NONE ? -1 : 0;
}

/* A host or domain name against one pattern: 1, 0 or -1. */
static int
match_name(const struct match_list *l, const struct pattern *pat,
    const char *name)
{
	size_t nlen = strlen(name), plen;
	const char *entry, *next;
	int rc;

	if (*name == 0)
		return 0;
	if (pat->kind == PAT_TABLE) {
		/* The name, then its parents ("b.c" or ".b.c"), fixed tables
		 * only: a regexp sees the full name once. */
		for (entry = name; *entry != 0; entry = next) {
			if (entry == name ||
			    (pat->dict->flags & DICT_FLAG_FIXED)) {
				if ((rc = table_get(pat->dict, entry)) != 0)
					return rc;
			}
			if ((next = strchr(entry + 1, '.')) == NULL)
				break;
			if (l->parent)
				next++;
		}
		return 0;
	}
	if (pat->kind != PAT_NAME)
		return 0;
	if (strcasecmp(name, pat->text) == 0)
		return 1;
	plen = strlen(pat->text);
	if (pat->text[0] == '.') {
		if (nlen > plen &&
		    strcasecmp(name + nlen - plen, pat->text) == 0)
			return 1;
	} else if (l->parent && plen > 0 && nlen > plen + 1 &&
		   name[nlen - plen - 1] == '.' &&
		   strcasecmp(name + nlen - plen, pat->text) == 0) {
		return 1;
	}
	return 0;
}

/* Walk the list; match(l, pattern, ctx) gives 1, 0 or -1 per pattern. */
static int
list_walk(struct match_list *l,
    int (*match)(const struct match_list *, const struct pattern *,
	const void *),
    const void *ctx)
{
	for (size_t i = 0; i < l->n; i++) {
		int rc = match(l, &l->v[i], ctx);

		if (rc < 0)
			return -1;
		if (rc > 0)
			return l->v[i].negate ? 0 : 1;
	}
	return 0;
}

static int
walk_domain(const struct match_list *l, const struct pattern *pat,
    const void *ctx)
{
	return match_name(l, pat, ctx);
}

int
match_list_domain(struct match_list *l, const char *domain)
{
	return list_walk(l, walk_domain, domain);
}

static int
walk_string(const struct match_list *l, const struct pattern *pat,
    const void *ctx)
{
	const char *s = ctx;
	struct str *key;
	int rc;

	(void)l;
	if (pat->kind == PAT_TABLE) {
		key = str_new(32);
		str_set(key, s);
		str_lower(key);
		rc = table_get(pat->dict, str_ptr(key));
		str_free(key);
		return rc;
	}
	return strcasecmp(s, pat->text) == 0;
}

int
match_list_string(struct match_list *l, const char *s)
{
	return list_walk(l, walk_string, s);
}

struct client {
	const char *name, *addr;
	int family; /* 0 when addr does not parse */
	unsigned char bytes[16];
};

static int
walk_host(const struct match_list *l, const struct pattern *pat,
    const void *ctx)
{
	const struct client *c = ctx;
	int rc;

	if (pat->kind == PAT_TABLE) {
		if (c->name != NULL && (rc = match_name(l, pat, c->name)) != 0)
			return rc;
		if (c->addr != NULL && *c->addr != 0)
			return table_get(pat->dict, c->addr);
		return 0;
	}
	if (pat->net_pattern)
		return c->family == pat->family &&
		       bits_equal(c->bytes, pat->net, pat->prefix);
	return c->name != NULL ? match_name(l, pat, c->name) : 0;
}

int
match_list_hostaddr(struct match_list *l, const char *name, const char *addr)
{
	struct client c = { name, addr, 0, { 0 } };
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };

	if (addr != NULL && inet_pton(AF_INET, addr, c.bytes) == 1) {
		c.family = AF_INET;
	} else if (addr != NULL && inet_pton(AF_INET6, addr, c.bytes) == 1) {
		c.family = AF_INET6;
		/* An IPv4-mapped client matches the IPv4 patterns. */
		if (memcmp(c.bytes, mapped, sizeof(mapped)) == 0) {
			memmove(c.bytes, c.bytes + 12, 4);
			c.family = AF_INET;
		}
	}
	return list_walk(l, walk_host, &c);
}
