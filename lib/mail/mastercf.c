/*
 * mastercf - parse master.cf into entries.
 *
 * One logical line (lline joins continuation lines) is one service.  Tokens
 * are separated by blanks; "{ ... }" keeps blanks inside one token.  The
 * first seven tokens are the fixed columns; the rest is the command.  The
 * command's daemon options come first and are normalized as postconf(1)
 * does, so that postconf -M prints what Postfix prints: "-oname=value"
 * becomes "-o" "name=value", "-vo x" becomes "-v" "-o" "x", and
 * "-o { name = value }" becomes "-o" "name=value".  Option processing stops
 * at the first argument that does not start with "-", or at "--".
 *
 * Errors use master(8)'s wording ("PATH: line N: bad transport type: X");
 * postconf words its own from mc->err*.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/lline.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/mastercf.h"

#define MCF_BLANKS     " \t\r\n"
#define MCF_LINE_LIMIT (1024 * 1024)

/* The names master(8) uses in "missing ... field" and "bad value" errors. */
static const char *const mcf_master_names[] = {
	"service name",
	"transport type",
	"private",
	"unprivileged",
	"chroot",
	"wakeup_time",
	"max_proc",
	"command",
};

static const struct {
	const char *name;
	enum mastercf_type type;
} mcf_types[] = {
	{ "inet", MCF_INET },
	{ "unix", MCF_UNIX },
	{ "unix-dgram", MCF_UNIX_DGRAM },
	{ "fifo", MCF_FIFO },
	{ "pass", MCF_PASS },
};

#define MCF_NTYPES (sizeof(mcf_types) / sizeof(mcf_types[0]))

const char *
mastercf_type_name(enum mastercf_type type)
{
	for (size_t i = 0; i < MCF_NTYPES; i++)
		if (mcf_types[i].type == type)
			return mcf_types[i].name;
	return "unknown";
}

struct mastercf *
mastercf_new(const char *path)
{
	struct mastercf *mc = xcalloc(1, sizeof(*mc));

	mc->path = xstrdup(path ? path : "master.cf");
	return mc;
}

struct mastercf_entry *
mastercf_entry_free(struct mastercf_entry *e)
{
	if (e == NULL)
		return NULL;
	for (int i = 0; i < 8; i++)
		free(e->field[i]);
	argv_free(e->args);
	argv_free(e->opt_names);
	argv_free(e->opt_values);
	free(e->host);
	free(e->port);
	free(e);
	return NULL;
}

struct mastercf *
mastercf_free(struct mastercf *mc)
{
	if (mc == NULL)
		return NULL;
	for (size_t i = 0; i < mc->count; i++)
		mastercf_entry_free(mc->entries[i]);
	free(mc->entries);
	free(mc->path);
	free(mc->err_value);
	free(mc);
	return NULL;
}

/*
 * Split a line into tokens at blanks; a '{' opens a group in which blanks
 * do not split, up to its matching '}'.  An unbalanced group runs to the end
 * of the line (the brace check reports it later).
 */
static struct argv *
mcf_tokens(const char *s)
{
	struct argv *a = argv_new();
	const char *start;
	int level;

	for (;;) {
		s += strspn(s, MCF_BLANKS);
		if (*s == 0)
			break;
		start = s;
		for (level = 0; *s; s++) {
			if (*s == '{')
				level++;
			else if (*s == '}' && level > 0)
				level--;
			else if (level == 0 && strchr(MCF_BLANKS, *s))
				break;
		}
		argv_addn(a, start, (size_t)(s - start));
	}
	return a;
}

/* Replace a->argv[i] with a copy of s. */
static void
mcf_replace(struct argv *a, size_t i, const char *s)
{
	char *copy = xstrdup(s);

	free(a->argv[i]);
	a->argv[i] = copy;
}

/* Insert a copy of s before a->argv[i]. */
static void
mcf_insert(struct argv *a, size_t i, const char *s)
{
	argv_add(a, s);
	char *last = a->argv[a->argc - 1];

	memmove(a->argv + i + 1, a->argv + i,
	    (a->argc - 1 - i) * sizeof(a->argv[0]));
	a->argv[i] = last;
}

/*
 * Remove the outer braces of "{ text }" and the blanks just inside them.
 * Returns 0, or -1 with why set (the text is still extracted, as Postfix
 * does, so a lenient caller can go on).
 */
static int
mcf_unbrace(const char *tok, struct str *out, struct str *why)
{
	const char *p, *b, *e;
	int level = 0, rc = 0;

	for (p = tok; *p; p++) {
		if (*p == '{')
			level++;
		else if (*p == '}' && --level == 0)
			break;
	}
	b = tok + 1;
	if (*p == 0) {
		str_fmt(why, "missing '}' in \"%s\"", tok);
		e = p;
		rc = -1;
	} else {
		if (p[1] != 0) {
			str_fmt(why, "syntax error after '}' in \"%s\"", tok);
			rc = -1;
		}
		e = p;
	}
	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	str_setn(out, b, (size_t)(e - b));
	return rc;
}

/*
 * Split "name = value" as Postfix's split_nameval() does: the name is the
 * first word, blanks around "=" and at the ends of the value go.  Returns
 * 0, or -1 with the reason in why.
 */
static int
mcf_split_nameval(const char *text, struct str *name, struct str *value,
    struct str *why)
{
	const char *np, *ep, *cp, *vp, *end;

	for (np = text; isspace((unsigned char)*np); np++)
		;
	if (*np == 0) {
		str_set(why, "missing attribute name");
		return -1;
	}
	for (ep = np; *ep && !isspace((unsigned char)*ep) && *ep != '='; ep++)
		;
	for (cp = ep; isspace((unsigned char)*cp); cp++)
		;
	if (*cp != '=') {
		str_set(why, "missing '=' after attribute name");
		return -1;
	}
	if (ep == np) {
		str_set(why, "missing attribute name");
		return -1;
	}
	for (vp = cp + 1; isspace((unsigned char)*vp); vp++)
		;
	for (end = vp + strlen(vp); end > vp && isspace((unsigned char)end[-1]);
	     end--)
		;
	str_setn(name, np, (size_t)(ep - np));
	str_setn(value, vp, (size_t)(end - vp));
	return 0;
}

/* Record a parse error; returns -1. */
static int mcf_fail(struct mastercf *mc, enum mastercf_err err, int field,
    const char *value, struct str *why, int lineno, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static int
mcf_fail(struct mastercf *mc, enum mastercf_err err, int field,
    const char *value, struct str *why, int lineno, const char *fmt, ...)
{
	va_list ap;

	mc->err = err;
	mc->err_field = field;
	free(mc->err_value);
	mc->err_value = xstrdup(value ? value : "");
	if (why) {
		str_fmt(why, "%s: line %d: ", mc->path, lineno);
		va_start(ap, fmt);
		str_vcatfmt(why, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * A brace problem: fatal for master(8), a warning for postconf, which
 * names the file as "master.cf" without its directory.
 */
static int
mcf_brace_problem(struct mastercf *mc, struct str *msg, struct str *why,
    int lineno)
{
	if (mc->flags & MCF_FLAG_LENIENT) {
		msg_warn("master.cf: %s", str_ptr(msg));
		return 0;
	}
	return mcf_fail(mc, MCF_ERR_BRACE, 7, str_ptr(msg), why, lineno, "%s",
	    str_ptr(msg));
}

/* Bring the command's arguments into the form postconf -M prints. */
static int
mcf_normalize_args(struct mastercf *mc, struct argv *a, struct str *why,
    int lineno)
{
	struct str *buf = str_new(100), *msg = str_new(100);
	struct str *name = str_new(50), *value = str_new(100);
	size_t i;
	int rc = -1;
	bool extract, is_o;
	char *arg, *cp;

	for (i = 1; i < a->argc; i++) {
		arg = a->argv[i];
		if (arg[0] != '-' || strcmp(arg, "--") == 0)
			break;
		/*
		 * Split "-vox" into "-v" and "-ox", as getopt(3) reads it.
		 * Postfix's postconf also splits "-ofoo" at its second "o";
		 * we do not copy that, since the daemon sees these args.
		 */
		for (cp = arg + 2; arg[1] && arg[1] != 'o' && *cp; cp++) {
			if (*cp == 'o') {
				str_fmt(buf, "-%s", cp);
				mcf_insert(a, i + 1, str_ptr(buf));
				*cp = 0;
				break;
			}
		}
		/*
		 * Postfix's postconf also gives a lone "-" the next argument
		 * as its value; we keep its view of the words.
		 */
		if (arg[1] != 'o' && arg[1] != 0)
			continue;
		is_o = arg[1] == 'o';
		if (is_o && arg[2] != 0) {
			/* Split "-oname=value" into "-o" and "name=value". */
			mcf_insert(a, i + 1, arg + 2);
			arg[2] = 0;
			i++;
			extract = a->argv[i][0] == '{';
		} else if (i + 1 < a->argc) {
			i++;
			extract = a->argv[i][0] == '{';
		} else {
			extract = false;
		}
		if (!extract)
			continue;
		if (mcf_unbrace(a->argv[i], buf, msg) < 0 &&
		    mcf_brace_problem(mc, msg, why, lineno) < 0)
			goto out;
		if (!is_o) {
			mcf_replace(a, i, str_ptr(buf));
			continue;
		}
		if (mcf_split_nameval(str_ptr(buf), name, value, msg) < 0) {
			if (mc->flags & MCF_FLAG_LENIENT) {
				msg_warn("master.cf: %s: \"%s\"", str_ptr(msg),
				    str_ptr(buf));
				mcf_replace(a, i, str_ptr(buf));
				continue;
			}
			mcf_fail(mc, MCF_ERR_BRACE, 7, str_ptr(buf), why,
			    lineno, "%s: \"%s\"", str_ptr(msg), str_ptr(buf));
			goto out;
		}
		str_fmt(buf, "%s=%s", str_ptr(name), str_ptr(value));
		mcf_replace(a, i, str_ptr(buf));
	}
	/* Non-option arguments: only "{ ... }" grouping is removed. */
	for (; i < a->argc; i++) {
		if (a->argv[i][0] != '{')
			continue;
		if (mcf_unbrace(a->argv[i], buf, msg) < 0 &&
		    mcf_brace_problem(mc, msg, why, lineno) < 0)
			goto out;
		mcf_replace(a, i, str_ptr(buf));
	}
	rc = 0;
out:
	str_free(buf);
	str_free(msg);
	str_free(name);
	str_free(value);
	return rc;
}

/* Collect the -o name=value pairs of the normalized daemon options. */
static void
mcf_collect_opts(struct mastercf_entry *e)
{
	struct str *name = str_new(50), *value = str_new(100),
		   *why = str_new(50);

	e->opt_names = argv_new();
	e->opt_values = argv_new();
	for (size_t i = 1; i < e->args->argc; i++) {
		const char *arg = e->args->argv[i];

		if (arg[0] != '-' || strcmp(arg, "--") == 0)
			break;
		if ((arg[1] != 'o' && arg[1] != 0) || i + 1 >= e->args->argc)
			continue;
		i++;
		if (strcmp(arg, "-o") != 0)
			continue;
		/* "-o x" without "=" reaches the daemon, which rejects it. */
		if (mcf_split_nameval(e->args->argv[i], name, value, why) ==
		    0) {
			argv_add(e->opt_names, str_ptr(name));
			argv_add(e->opt_values, str_ptr(value));
		}
	}
	str_free(name);
	str_free(value);
	str_free(why);
}

/* y, n or - (the default). */
static int
mcf_bool(const char *text, bool def, bool *out)
{
	if (strcmp(text, "-") == 0)
		*out = def;
	else if (strcmp(text, "y") == 0)
		*out = true;
	else if (strcmp(text, "n") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/* Digits, at most INT_MAX / 10 so that the value fits an int. */
static int
mcf_number(const char *text, size_t len, int *out)
{
	long n = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)text[i]))
			return -1;
		n = n * 10 + (text[i] - '0');
	}
	*out = (int)n;
	return 0;
}

/*
 * inet service names: "port", "host:port", "[v6addr]:port"; the host part
 * loses its brackets.
 */
static int
mcf_inet_name(struct mastercf_entry *e, struct str *reason)
{
	const char *name = e->field[0], *colon, *close;

	if (name[0] == '[') {
		if ((close = strchr(name, ']')) == NULL) {
			str_set(reason, "missing \"]\"");
			return -1;
		}
		if (close[1] != ':') {
			str_set(reason, "garbage after \"]\"");
			return -1;
		}
		e->host = xstrndup(name + 1, (size_t)(close - name - 1));
		colon = close + 1;
	} else if ((colon = strrchr(name, ':')) != NULL) {
		e->host = xstrndup(name, (size_t)(colon - name));
	}
	e->port = xstrdup(colon ? colon + 1 : name);
	if (*e->port == 0) {
		str_set(reason, "missing service information");
		return -1;
	}
	return 0;
}

/* Add e, or replace the entry with the same name and type. */
static void
mcf_add(struct mastercf *mc, struct mastercf_entry *e)
{
	if ((mc->flags & MCF_FLAG_KEEP_DUPS) == 0) {
		for (size_t i = 0; i < mc->count; i++) {
			struct mastercf_entry *old = mc->entries[i];

			if (strcmp(old->field[0], e->field[0]) == 0 &&
			    strcmp(old->field[1], e->field[1]) == 0) {
				mastercf_entry_free(old);
				mc->entries[i] = e;
				return;
			}
		}
	}
	mc->entries =
	    xreallocarray(mc->entries, mc->count + 1, sizeof(mc->entries[0]));
	mc->entries[mc->count++] = e;
}

int
mastercf_parse_line(struct mastercf *mc, const char *text, int lineno,
    struct str *why)
{
	struct mastercf_entry *e;
	struct argv *tok;
	struct str *reason = NULL;
	size_t len, i;
	bool found;
	int rc = -1;

	mc->err = MCF_ERR_NONE;
	tok = mcf_tokens(text);
	if (tok->argc < 8) {
		const char *which =
		    mcf_master_names[tok->argc < 1 ? 1 : tok->argc];

		argv_free(tok);
		return mcf_fail(mc, MCF_ERR_FIELDS, -1, text, why, lineno,
		    "missing \"%s\" field", which);
	}
	e = xcalloc(1, sizeof(*e));
	e->lineno = lineno;
	for (i = 0; i < 8; i++)
		e->field[i] = xstrdup(tok->argv[i]);
	e->args = argv_new();
	for (i = 7; i < tok->argc; i++)
		argv_add(e->args, tok->argv[i]);
	argv_free(tok);

	/* The checks, in postconf's order: type, booleans, numbers. */
	for (i = 0, found = false; i < MCF_NTYPES && !found; i++)
		if (strcmp(e->field[1], mcf_types[i].name) == 0) {
			e->type = mcf_types[i].type;
			found = true;
		}
	if (!found) {
		mcf_fail(mc, MCF_ERR_TYPE, 1, e->field[1], why, lineno,
		    "bad transport type: %s", e->field[1]);
		goto out;
	}
	if (mcf_bool(e->field[2], true, &e->private_) < 0 ||
	    mcf_bool(e->field[3], true, &e->unpriv) < 0 ||
	    mcf_bool(e->field[4], false, &e->chroot) < 0) {
		i = mcf_bool(e->field[2], true, &e->private_) < 0 ? 2
		    : mcf_bool(e->field[3], true, &e->unpriv) < 0 ? 3
								  : 4;
		mcf_fail(mc, MCF_ERR_BOOL, (int)i, e->field[i], why, lineno,
		    "field \"%s\": bad value: \"%s\"", mcf_master_names[i],
		    e->field[i]);
		goto out;
	}
	len = strlen(e->field[5]);
	if (len > 0 && e->field[5][len - 1] == '?') {
		len--;
		e->wakeup_conditional = true;
	}
	/* postconf(1) lets a lone "?" pass; master(8) does not. */
	if ((len == 1 && e->field[5][0] == '-') ||
	    (len == 0 && (mc->flags & MCF_FLAG_LENIENT)))
		e->wakeup = 0;
	else if (mcf_number(e->field[5], len, &e->wakeup) < 0) {
		mcf_fail(mc, MCF_ERR_WAKEUP, 5, e->field[5], why, lineno,
		    "field \"%s\": bad value: \"%s\"", mcf_master_names[5],
		    e->field[5]);
		goto out;
	}
	if (e->wakeup == 0)
		e->wakeup_conditional = false;
	if (strcmp(e->field[6], "-") == 0)
		e->maxproc = -1;
	else if (mcf_number(e->field[6], strlen(e->field[6]), &e->maxproc) <
		 0) {
		mcf_fail(mc, MCF_ERR_MAXPROC, 6, e->field[6], why, lineno,
		    "field \"%s\": bad value: \"%s\"", mcf_master_names[6],
		    e->field[6]);
		goto out;
	}
	if (e->type == MCF_INET) {
		reason = str_new(50);
		/* postconf(1) does not check inet names; master(8) does. */
		if (mcf_inet_name(e, reason) < 0 &&
		    (mc->flags & MCF_FLAG_LENIENT) == 0) {
			mcf_fail(mc, MCF_ERR_INET, 0, e->field[0], why, lineno,
			    "%s in \"%s\"", str_ptr(reason), e->field[0]);
			goto out;
		}
		/* master(8) refuses this; postconf shows it as written. */
		if (e->private_ && (mc->flags & MCF_FLAG_LENIENT) == 0) {
			mcf_fail(mc, MCF_ERR_INET, 2, e->field[2], why, lineno,
			    "inet service cannot be private");
			goto out;
		}
	}
	if (mcf_normalize_args(mc, e->args, why, lineno) < 0)
		goto out;
	mcf_collect_opts(e);
	mcf_add(mc, e);
	e = NULL;
	rc = 0;
out:
	str_free(reason);
	mastercf_entry_free(e);
	return rc;
}

struct mastercf *
mastercf_read_flags(const char *path, int flags, struct str *why)
{
	struct mastercf *mc;
	struct lline l;
	struct str *line;
	FILE *fp;
	int rc;

	if ((fp = fopen(path, "r")) == NULL) {
		str_fmt(why, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	mc = mastercf_new(path);
	mc->flags = flags;
	line = str_new(200);
	lline_open(&l, fp, path, MCF_LINE_LIMIT);
	while ((rc = lline_read(&l, line)) != 0) {
		if (rc < 0) {
			str_set(why, str_ptr(l.why));
			mc = mastercf_free(mc);
			break;
		}
		/* Postfix's readlline() drops such a line with this warning. */
		if (l.leading_ws) {
			msg_warn(
			    "%s: logical line must not start with whitespace: \"%.30s%s\"",
			    path, str_ptr(line),
			    str_len(line) > 30 ? "..." : "");
			continue;
		}
		if (mastercf_parse_line(mc, str_ptr(line), l.lineno, why) < 0) {
			mc = mastercf_free(mc);
			break;
		}
	}
	lline_close(&l);
	fclose(fp);
	str_free(line);
	return mc;
}

struct mastercf *
mastercf_read(const char *path, struct str *why)
{
	return mastercf_read_flags(path, 0, why);
}

const struct mastercf_entry *
mastercf_find(const struct mastercf *mc, const char *name, const char *type)
{
	const struct mastercf_entry *found = NULL;

	for (size_t i = 0; i < mc->count; i++)
		if (strcmp(mc->entries[i]->field[0], name) == 0 &&
		    strcmp(mc->entries[i]->field[1], type) == 0)
			found = mc->entries[i];
	return found;
}
