/*
 * dict_pattern - the engine behind regexp: and pcre: tables.
 *
 * A table file holds, one per logical line, "/re/flags result",
 * "!/re/flags result", "if /re/flags" or "if !/re/flags" ... "endif"
 * (nesting allowed), and comments.  The first rule that matches wins; $n,
 * ${n} and $(n) in its result are replaced by the n-th group of the match,
 * "$$" by "$".  Bad lines are logged and skipped, with Postfix 3.7's texts
 * ("pcre map /p, line 3: ..."), observed with "postmap -q".  As in
 * Postfix, a line is a C string: a NUL byte ends it.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/dict.h"
#include "lib/util/lline.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"

enum { RULE_MATCH, RULE_IF };

struct rule {
	int op;
	bool negate;
	void *re;
	char *repl; /* RULE_MATCH: the result template */
	int lineno;
	size_t skip_to; /* RULE_IF: index of the first rule after it */
};

struct dict_pattern {
	struct dict dict;
	const struct dict_pattern_ops *ops;
	struct rule *rules;
	size_t nrules;
	size_t cap;
	int nvec; /* groups + 1, most of any rule */
	long *ovec;
	struct str *result;
};

/* Loading state for warnings. */
struct load {
	struct dict_pattern *dp;
	const char *map;
	int lineno;
	size_t *ifs; /* stack of open IF rules */
	size_t nifs;
	size_t ifcap;
};

#define WARN(ld, fmt, ...)                                                     \
	msg_warn("%s map %s, line %d: " fmt, (ld)->dp->ops->type, (ld)->map,   \
	    (ld)->lineno, __VA_ARGS__)

/*
 * Check the $ references of a result: mac_parse's syntax, then each name
 * must be a number >= 1.  Returns the largest index, or -1 after a warning.
 */
static int
dict_pattern_prescan(struct load *ld, const char *repl)
{
	const char *p = repl, *name, *end;
	int max = 0;

	while (*p) {
		if (*p != '$') {
			p++;
			continue;
		}
		if (p[1] == '$') {
			p += 2;
			continue;
		}
		p++;
		if (*p == '{' || *p == '(') {
			int close = *p == '{' ? '}' : ')';

			name = p + 1;
			if ((end = strchr(name, close)) == NULL) {
				msg_warn("truncated macro reference: \"%s\"",
				    repl);
				return -1;
			}
			p = end + 1;
		} else {
			name = p;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			end = p;
			if (end == name) {
				msg_warn("empty macro name: \"%s\"", repl);
				return -1;
			}
		}
		{
			char *n = xstrndup(name, (size_t)(end - name));
			const char *q;
			long v;

			for (q = n; *q && isdigit((unsigned char)*q); q++)
				;
			if (*n == 0 || *q != 0) {
				WARN(ld, "non-numeric replacement index \"%s\"",
				    n);
				free(n);
				return -1;
			}
			errno = 0;
			v = strtol(n, NULL, 10);
			if (errno || v > INT_MAX)
				v = INT_MAX;
			if (v < 1) {
				WARN(ld, "%s replacement index \"%s\"",
				    ld->dp->ops->bad_index, n);
				free(n);
				return -1;
			}
			free(n);
			if (v > max)
				max = (int)v;
		}
	}
	return max;
}

/*
 * Parse "[!]<delim>pattern<delim>flags" at *pp.  On success the pattern
 * is compiled, *pp points after the flags, and *nsub is set.
 */
static void *
dict_pattern_get(struct load *ld, char **pp, bool *negate, int *nsub)
{
	const struct dict_pattern_ops *ops = ld->dp->ops;
	char *p = *pp, *start, *pat, *flagstr;
	int delim, cflags;
	void *re;

	*negate = false;
	if (*p == '!') {
		*negate = true;
		p++;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (*p == 0) {
		WARN(ld, "%s", "ignoring unrecognized request");
		return NULL;
	}
	delim = (unsigned char)*p++;
	for (start = p; *p && *p != delim; p++)
		if (*p == '\\' && p[1])
			p++;
	if (*p == 0) {
		WARN(ld, "no closing regexp delimiter \"%c\": %s this rule",
		    delim, ops->no_delim);
		return NULL;
	}
	pat = xstrndup(start, (size_t)(p - start));
	for (start = ++p; *p && !isspace((unsigned char)*p); p++)
		;
	flagstr = xstrndup(start, (size_t)(p - start));
	re = NULL;
	if (ops->parse_flags(ld->map, ld->lineno, flagstr, &cflags) == 0)
		re = ops->compile(ld->map, ld->lineno, pat, cflags, nsub);
	free(pat);
	free(flagstr);
	*pp = p;
	return re;
}

static void
dict_pattern_add(struct dict_pattern *dp, const struct rule *r)
{
	if (dp->nrules == dp->cap) {
		dp->cap = dp->cap ? 2 * dp->cap : 16;
		dp->rules = xreallocarray(dp->rules, dp->cap, sizeof(*r));
	}
	dp->rules[dp->nrules++] = *r;
}

static void
dict_pattern_nvec(struct dict_pattern *dp, int nsub)
{
	if (nsub + 1 > dp->nvec)
		dp->nvec = nsub + 1;
}

/* One logical line, trailing white space removed. */
static void
dict_pattern_line(struct load *ld, char *p)
{
	struct dict_pattern *dp = ld->dp;
	struct rule r = { 0 };
	int nsub = 0, max;

	r.lineno = ld->lineno;
	if (!isalnum((unsigned char)*p)) {
		if ((r.re = dict_pattern_get(ld, &p, &r.negate, &nsub)) == NULL)
			return;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == 0)
			WARN(ld, "%s",
			    "no replacement text: using empty string");
		if ((max = dict_pattern_prescan(ld, p)) < 0) {
			WARN(ld, "%s",
			    "bad replacement syntax: skipping this rule");
			goto skip;
		}
		if (r.negate && max > 0) {
			WARN(ld, "%s",
			    "$number found in negative match replacement text: skipping this rule");
			goto skip;
		}
		if (max > nsub) {
			WARN(ld,
			    "out of range replacement index \"%d\": skipping this rule",
			    max);
			goto skip;
		}
		r.op = RULE_MATCH;
		r.repl = xstrdup(p);
		dict_pattern_nvec(dp, nsub);
		dict_pattern_add(dp, &r);
		return;
	}
	if (strncasecmp(p, "if", 2) == 0 && !isalnum((unsigned char)p[2])) {
		p += 2;
		while (isspace((unsigned char)*p))
			p++;
		if ((r.re = dict_pattern_get(ld, &p, &r.negate, &nsub)) == NULL)
			return;
		while (isspace((unsigned char)*p))
			p++;
		if (*p) {
			WARN(ld,
			    "ignoring extra text after IF statement: \"%s\"",
			    p);
			WARN(ld, "%s",
			    "do not prepend whitespace to statements between IF and ENDIF");
		}
		r.op = RULE_IF;
		dict_pattern_nvec(dp, nsub);
		if (ld->nifs == ld->ifcap) {
			ld->ifcap = ld->ifcap ? 2 * ld->ifcap : 8;
			ld->ifs =
			    xreallocarray(ld->ifs, ld->ifcap, sizeof(*ld->ifs));
		}
		ld->ifs[ld->nifs++] = dp->nrules;
		dict_pattern_add(dp, &r);
		return;
	}
	if (strncasecmp(p, "endif", 5) == 0 && !isalnum((unsigned char)p[5])) {
		if (ld->nifs == 0) {
			WARN(ld, "%s", "ignoring ENDIF without matching IF");
			return;
		}
		p += 5;
		while (isspace((unsigned char)*p))
			p++;
		if (*p)
			WARN(ld, "%s", "ignoring extra text after ENDIF");
		dp->rules[ld->ifs[--ld->nifs]].skip_to = dp->nrules;
		return;
	}
	WARN(ld, "%s", "ignoring unrecognized request");
	return;
skip:
	dp->ops->free(r.re);
}

/* Append the result template with its $n references filled in. */
static void
dict_pattern_expand(struct dict_pattern *dp, const char *key, const char *repl)
{
	const char *p = repl, *name;
	struct str *out = dp->result;
	long n;

	str_reset(out);
	while (*p) {
		if (*p != '$') {
			const char *d = strchr(p, '$');
			size_t len = d ? (size_t)(d - p) : strlen(p);

			str_catn(out, p, len);
			p += len;
			continue;
		}
		if (p[1] == '$') {
			str_catc(out, '$');
			p += 2;
			continue;
		}
		p++;
		if (*p == '{' || *p == '(') {
			name = p + 1;
			p = strchr(name, *p == '{' ? '}' : ')') + 1;
		} else {
			name = p;
			while (isdigit((unsigned char)*p))
				p++;
		}
		/* Checked when loaded: a number from 1 to the group count. */
		n = strtol(name, NULL, 10);
		if (n < dp->nvec && dp->ovec[2 * n] >= 0 &&
		    dp->ovec[2 * n + 1] >= dp->ovec[2 * n])
			str_catn(out, key + dp->ovec[2 * n],
			    (size_t)(dp->ovec[2 * n + 1] - dp->ovec[2 * n]));
	}
}

static const char *
dict_pattern_lookup(struct dict *d, const char *key)
{
	struct dict_pattern *dp = (struct dict_pattern *)d;
	size_t i = 0;
	int m;

	while (i < dp->nrules) {
		struct rule *r = &dp->rules[i];

		for (int j = 0; j < 2 * dp->nvec; j++)
			dp->ovec[j] = -1;
		m = dp->ops->match(r->re, key, dp->ovec, dp->nvec);
		if (m < 0) {
			msg_warn("%s map %s, line %d: matching error",
			    dp->ops->type, d->name, r->lineno);
			m = 0;
		}
		if (r->op == RULE_IF) {
			i = (m != r->negate) ? i + 1 : r->skip_to;
			continue;
		}
		if (m != r->negate) {
			if (d->flags & DICT_FLAG_NO_REGSUB) {
				str_set(dp->result, r->repl);
				return str_ptr(dp->result);
			}
			if (r->negate)
				for (int j = 0; j < 2 * dp->nvec; j++)
					dp->ovec[j] = -1;
			dict_pattern_expand(dp, key, r->repl);
			return str_ptr(dp->result);
		}
		i++;
	}
	return NULL;
}

static void
dict_pattern_close(struct dict *d)
{
	struct dict_pattern *dp = (struct dict_pattern *)d;

	for (size_t i = 0; i < dp->nrules; i++) {
		dp->ops->free(dp->rules[i].re);
		free(dp->rules[i].repl);
	}
	free(dp->rules);
	free(dp->ovec);
	str_free(dp->result);
	dict_free_common(d);
}

struct dict *
dict_pattern_open(const struct dict_pattern_ops *ops, const char *name,
    int open_flags, int dict_flags, struct str *why)
{
	struct dict_pattern *dp;
	struct load ld = { 0 };
	struct str *line;
	struct lline ll;
	FILE *fp;
	int rc;

	if ((open_flags & O_ACCMODE) != O_RDONLY) {
		str_fmt(why, "%s:%s map requires O_RDONLY access mode",
		    ops->type, name);
		return NULL;
	}
	if ((fp = fopen(name, "re")) == NULL) {
		str_fmt(why, "open %s: %m", name);
		return NULL;
	}
	dp = (struct dict_pattern *)dict_alloc(ops->type, name, sizeof(*dp));
	dp->ops = ops;
	dp->nvec = 1;
	dp->result = str_new(100);
	dp->dict.lookup = dict_pattern_lookup;
	dp->dict.close = dict_pattern_close;
	dp->dict.flags = (dict_flags & ~DICT_FLAG_FIXED) | DICT_FLAG_PATTERN;
	ld.dp = dp;
	ld.map = name;
	line = str_new(200);
	lline_open(&ll, fp, name, dict_line_limit);
	while ((rc = lline_read(&ll, line)) != 0) {
		char *p, *e;

		ld.lineno = ll.lineno;
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
		if (*p == 0)
			continue;
		dict_pattern_line(&ld, p);
	}
	if (ferror(fp)) {
		str_fmt(why, "read %s: %m", name);
		lline_close(&ll);
		fclose(fp);
		str_free(line);
		free(ld.ifs);
		return dict_close(&dp->dict);
	}
	/* An unterminated IF covers the rest of the file, as in Postfix. */
	while (ld.nifs > 0) {
		struct rule *r = &dp->rules[ld.ifs[--ld.nifs]];

		ld.lineno = r->lineno;
		WARN(&ld, "%s", "IF has no matching ENDIF");
		r->skip_to = dp->nrules;
	}
	dp->ovec = xreallocarray(NULL, 2 * (size_t)dp->nvec, sizeof(long));
	lline_close(&ll);
	fclose(fp);
	str_free(line);
	free(ld.ifs);
	return &dp->dict;
}
