/*
 * dict_cidr - cidr: tables, cidr_table(5).
 *
 * Lines are "net/len result", "address result", "[address]/len result",
 * "!pattern result", "if pattern" / "if !pattern" ... "endif" (nesting
 * allowed).  The first rule that matches the lookup key (an IPv4 or IPv6
 * address; anything else matches nothing) wins.  IPv4 rules match only
 * IPv4 keys and IPv6 rules only IPv6 keys, ::ffff:a.b.c.d included, as in
 * Postfix; that holds for "!" rules too.  Bad lines are logged with Postfix 3.7's texts and skipped.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/dict.h"
#include "lib/util/lline.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"

enum { CIDR_MATCH, CIDR_IF };

struct cidr_rule {
	int op;
	bool negate;
	int family; /* AF_INET or AF_INET6 */
	unsigned char net[16];
	unsigned char mask[16];
	char *value;
	int lineno;
	size_t skip_to; /* CIDR_IF: first rule after its ENDIF */
};

struct dict_cidr {
	struct dict dict;
	struct cidr_rule *rules;
	size_t nrules;
	size_t cap;
};

#define CIDR_WARN(map, lineno, fmt, ...)                                       \
	msg_warn("cidr map %s, line %d: " fmt, (map), (lineno), __VA_ARGS__)

/* Parse an address into 4 or 16 bytes; returns the family or 0. */
static int
dict_cidr_addr(const char *s, unsigned char *addr)
{
	if (strchr(s, ':'))
		return inet_pton(AF_INET6, s, addr) == 1 ? AF_INET6 : 0;
	return inet_pton(AF_INET, s, addr) == 1 ? AF_INET : 0;
}

static void
dict_cidr_mask(unsigned char *mask, int bytes, long len)
{
	memset(mask, 0, 16);
	for (int i = 0; i < bytes; i++) {
		long bits = len - 8 * i;

		mask[i] = bits >= 8   ? 0xff
			  : bits <= 0 ? 0
				      : (unsigned char)(0xff << (8 - bits));
	}
}

/* Parse a network pattern into r; 0 ok, -1 after a warning. */
static int
dict_cidr_pattern(const char *map, int lineno, const char *pattern,
    struct cidr_rule *r)
{
	char *copy = xstrdup(pattern), *p = copy, *slash, *close;
	unsigned char host[16];
	char buf[INET6_ADDRSTRLEN];
	int bytes, rc = -1;
	long len;

	/* [addr] and [addr]/len and [addr/len], as Postfix accepts. */
	if (*p == '[') {
		p++;
		if ((close = strchr(p, ']')) == NULL) {
			CIDR_WARN(map, lineno,
			    "missing ']' character after \"[%s\": skipping this rule",
			    p);
			goto out;
		}
		memmove(close, close + 1, strlen(close + 1) + 1);
	}
	if ((slash = strchr(p, '/')) == NULL) {
		if ((r->family = dict_cidr_addr(p, r->net)) == 0) {
			CIDR_WARN(map, lineno,
			    "bad address pattern: \"%s\": skipping this rule",
			    pattern);
			goto out;
		}
		bytes = r->family == AF_INET ? 4 : 16;
		dict_cidr_mask(r->mask, bytes, 8 * bytes);
		rc = 0;
		goto out;
	}
	*slash = 0;
	if (slash[1] == 0 ||
	    strspn(slash + 1, "0123456789") != strlen(slash + 1)) {
		*slash = '/';
		CIDR_WARN(map, lineno,
		    "bad mask value in \"%s\": skipping this rule", pattern);
		goto out;
	}
	if ((r->family = dict_cidr_addr(p, r->net)) == 0) {
		CIDR_WARN(map, lineno,
		    "bad network value in \"%s\": skipping this rule", pattern);
		goto out;
	}
	bytes = r->family == AF_INET ? 4 : 16;
	len = strlen(slash + 1) > 4 ? 9999 : strtol(slash + 1, NULL, 10);
	if (len > 8 * bytes) {
		CIDR_WARN(map, lineno,
		    "bad mask length in \"%s\": skipping this rule", pattern);
		goto out;
	}
	dict_cidr_mask(r->mask, bytes, len);
	memcpy(host, r->net, 16);
	for (int i = 0; i < bytes; i++)
		r->net[i] &= r->mask[i];
	if (memcmp(host, r->net, (size_t)bytes) != 0) {
		if (inet_ntop(r->family, r->net, buf, sizeof(buf)) == NULL)
			buf[0] = 0;
		*slash = '/';
		CIDR_WARN(map, lineno,
		    "non-null host address bits in \"%s\", perhaps you should use \"%s/%ld\" instead: skipping this rule",
		    pattern, buf, len);
		goto out;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

static void
dict_cidr_add(struct dict_cidr *dc, const struct cidr_rule *r)
{
	if (dc->nrules == dc->cap) {
		dc->cap = dc->cap ? 2 * dc->cap : 16;
		dc->rules = xreallocarray(dc->rules, dc->cap, sizeof(*r));
	}
	dc->rules[dc->nrules++] = *r;
}

struct cidr_load {
	const char *map;
	size_t *ifs;
	size_t nifs;
	size_t ifcap;
};

/* One logical line without trailing white space. */
static void
dict_cidr_line(struct dict_cidr *dc, struct cidr_load *ld, int lineno, char *p)
{
	struct cidr_rule r = { 0 };
	char *key, *value = NULL, *e;

	r.lineno = lineno;
	r.op = CIDR_MATCH;
	if (strncasecmp(p, "endif", 5) == 0 && !isalnum((unsigned char)p[5])) {
		p += 5;
		while (isspace((unsigned char)*p))
			p++;
		if (*p) {
			CIDR_WARN(ld->map, lineno, "%s",
			    "garbage after ENDIF: skipping this rule");
			return;
		}
		if (ld->nifs == 0) {
			CIDR_WARN(ld->map, lineno, "%s",
			    "ENDIF without IF: skipping this rule");
			return;
		}
		dc->rules[ld->ifs[--ld->nifs]].skip_to = dc->nrules;
		return;
	}
	if (strncasecmp(p, "if", 2) == 0 && !isalnum((unsigned char)p[2])) {
		r.op = CIDR_IF;
		p += 2;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (*p == '!') {
		r.negate = true;
		p++;
		while (isspace((unsigned char)*p))
			p++;
	}
	key = p;
	if (r.op == CIDR_MATCH) {
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = 0;
		while (isspace((unsigned char)*p))
			p++;
		value = p;
	}
	if (*key == 0) {
		CIDR_WARN(ld->map, lineno, "%s",
		    "no address pattern: skipping this rule");
		return;
	}
	if (r.op == CIDR_MATCH && *value == 0) {
		CIDR_WARN(ld->map, lineno, "%s",
		    "no lookup result: skipping this rule");
		return;
	}
	for (e = key + strlen(key); e > key && isspace((unsigned char)e[-1]);)
		*--e = 0;
	if (dict_cidr_pattern(ld->map, lineno, key, &r) < 0)
		return;
	if (r.op == CIDR_IF) {
		if (ld->nifs == ld->ifcap) {
			ld->ifcap = ld->ifcap ? 2 * ld->ifcap : 8;
			ld->ifs =
			    xreallocarray(ld->ifs, ld->ifcap, sizeof(*ld->ifs));
		}
		ld->ifs[ld->nifs++] = dc->nrules;
	} else {
		r.value = xstrdup(value);
	}
	dict_cidr_add(dc, &r);
}

static bool
dict_cidr_match(const struct cidr_rule *r, int family,
    const unsigned char *addr)
{
	int bytes = family == AF_INET ? 4 : 16;

	if (family != r->family)
		return false;
	for (int i = 0; i < bytes; i++)
		if ((addr[i] & r->mask[i]) != r->net[i])
			return false;
	return true;
}

static const char *
dict_cidr_lookup(struct dict *d, const char *key)
{
	struct dict_cidr *dc = (struct dict_cidr *)d;
	unsigned char addr[16];
	int family;
	size_t i = 0;

	if ((family = dict_cidr_addr(key, addr)) == 0)
		return NULL;
	while (i < dc->nrules) {
		const struct cidr_rule *r = &dc->rules[i];
		/* A rule of the other family never matches, negated or not. */
		bool m = family == r->family &&
			 dict_cidr_match(r, family, addr) != r->negate;

		if (r->op == CIDR_IF) {
			i = m ? i + 1 : r->skip_to;
			continue;
		}
		if (m)
			return r->value;
		i++;
	}
	return NULL;
}

static void
dict_cidr_close(struct dict *d)
{
	struct dict_cidr *dc = (struct dict_cidr *)d;

	for (size_t i = 0; i < dc->nrules; i++)
		free(dc->rules[i].value);
	free(dc->rules);
	dict_free_common(d);
}

struct dict *
dict_cidr_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	struct cidr_load ld = { 0 };
	struct dict_cidr *dc;
	struct str *line;
	struct lline ll;
	FILE *fp;
	int rc;

	if ((open_flags & O_ACCMODE) != O_RDONLY) {
		str_fmt(why, "cidr:%s map requires O_RDONLY access mode", name);
		return NULL;
	}
	if ((fp = fopen(name, "re")) == NULL) {
		str_fmt(why, "open %s: %m", name);
		return NULL;
	}
	dc = (struct dict_cidr *)dict_alloc("cidr", name, sizeof(*dc));
	dc->dict.lookup = dict_cidr_lookup;
	dc->dict.close = dict_cidr_close;
	dc->dict.flags = (dict_flags & ~DICT_FLAG_FIXED) | DICT_FLAG_PATTERN;
	ld.map = name;
	line = str_new(200);
	lline_open(&ll, fp, name, dict_line_limit);
	while ((rc = lline_read(&ll, line)) != 0) {
		char *p, *e;

		if (rc < 0) {
			msg_warn("%s", str_ptr(ll.why));
			continue;
		}
		p = str_ptr(line);
		if (ll.leading_ws) {
			msg_warn(
			    "%s: logical line must not start with whitespace: \"%.30s%s\"",
			    name, p, strlen(p) > 30 ? "..." : "");
			continue;
		}
		for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]);)
			*--e = 0;
		if (*p)
			dict_cidr_line(dc, &ld, ll.lineno, p);
	}
	rc = ferror(fp) ? -1 : 0;
	if (rc < 0)
		str_fmt(why, "read %s: %m", name);
	while (ld.nifs > 0) {
		struct cidr_rule *r = &dc->rules[ld.ifs[--ld.nifs]];

		CIDR_WARN(name, r->lineno, "%s", "IF has no matching ENDIF");
		r->skip_to = dc->nrules;
	}
	lline_close(&ll);
	fclose(fp);
	str_free(line);
	free(ld.ifs);
	if (rc < 0)
		return dict_close(&dc->dict);
	return &dc->dict;
}
