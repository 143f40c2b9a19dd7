/*
 * mac_expand - $name expansion with Postfix 3.7's syntax and diagnostics.
 *
 * The text is split into literal runs and references the way Postfix's
 * mac_parse() does; each reference is then evaluated the way its
 * mac_expand_callback() does, so that the warnings that Postfix prints
 * ("truncated macro reference: ...", "attribute name syntax error at: ...")
 * come out word for word in *why.  Recursion is bounded by a nesting
 * counter that, as in Postfix, counts literal runs and references on the
 * path from the top: a loop such as a = $b, b = $a ends with
 * "unreasonable macro call nesting" instead of a stack overflow.  Unlike
 * Postfix, the operands of a relational expression inherit the counter, so
 * that a = ${{$a} == {x}} also ends with that error.
 */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/mac_expand.h"
#include "lib/util/str.h"

#define MX_MAX_DEPTH 100
#define MX_WS        " \t\r\n"
#define MX_TRUE      "true"
#define MX_FALSE     ""

/* Postfix's operator list, doubled quotes included (observed in 3.7). */
#define MX_OP_ANY                                                              \
	"\"==\" or \"!=\"\" or \"<\"\" or \"<=\"\" or \">=\"\" or \">\""

enum mx_op {
	MX_OP_NONE,
	MX_OP_EQ,
	MX_OP_NE,
	MX_OP_LT,
	MX_OP_LE,
	MX_OP_GE,
	MX_OP_GT
};

struct mx {
	const struct mac_expand_ctx *mc;
	struct str *out;
	struct str *why;
	int depth;
};

static int mx_parse(struct mx *, const char *)
    __attribute__((warn_unused_result));

static int mx_error(struct mx *mx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
mx_error(struct mx *mx, const char *fmt, ...)
{
	va_list ap;

	if (mx->why) {
		str_reset(mx->why);
		va_start(ap, fmt);
		str_vcatfmt(mx->why, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool
mx_is_name_char(int ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

/* Skip white space to a '{'; advance *cp only when there is one. */
static bool
mx_find_left_curly(char **cp)
{
	size_t len = strspn(*cp, MX_WS);

	if ((*cp)[len] != '{')
		return false;
	*cp += len;
	return true;
}

/*
 * Extract a balanced {payload} at *bp (which points at the '{'), NUL-
 * terminate it in place, and skip white space after the '}'.
 */
static char *
mx_curly_payload(struct mx *mx, char **bp)
{
	char *cp, *payload;
	int level;

	for (level = 1, cp = *bp, payload = ++cp;; cp++) {
		if (*cp == 0) {
			mx_error(mx,
			    "unbalanced {} in attribute expression: \"%s\"",
			    *bp);
			return NULL;
		} else if (*cp == '{') {
			level++;
		} else if (*cp == '}') {
			if (--level <= 0)
				break;
		}
	}
	*cp++ = 0;
	*bp = cp + strspn(cp, MX_WS);
	return payload;
}

/* Parse a decimal as strtol does: white space, a sign, digits; no range. */
static bool
mx_strtol(const char *s, const char **end, long *val)
{
	const char *cp = s;
	bool neg = false;
	long v = 0;

	while (isspace((unsigned char)*cp))
		cp++;
	if (*cp == '+' || *cp == '-')
		neg = *cp++ == '-';
	if (!isdigit((unsigned char)*cp))
		return false;
	for (; isdigit((unsigned char)*cp); cp++) {
		int d = *cp - '0';

		if (v > (LONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*end = cp;
	*val = neg ? -v : v;
	return true;
}

#define MX_MINOR_BITS 10
#define MX_PATCH_BITS 10
#define MX_MAJOR_MAX  (LONG_MAX >> (MX_MINOR_BITS + MX_PATCH_BITS))

/* "major[.minor[.patch]]" as one comparable number, or -1 (Postfix rules). */
static long
mx_compat_level(const char *str)
{
	const char *end;
	long major, minor, patch;

	if (!mx_strtol(str, &end, &major) || (*end != 0 && *end != '.') ||
	    major < 0 || major > MX_MAJOR_MAX)
		return -1;
	if (*end == 0)
		return major << (MX_MINOR_BITS + MX_PATCH_BITS);
	if (!mx_strtol(end + 1, &end, &minor) || (*end != 0 && *end != '.') ||
	    minor < 0 || minor > 1023)
		return -1;
	if (*end == 0)
		return major << (MX_MINOR_BITS + MX_PATCH_BITS) |
		       minor << MX_PATCH_BITS;
	if (!mx_strtol(end + 1, &end, &patch) || *end != 0 || patch < 0 ||
	    patch > 1023)
		return -1;
	return major << (MX_MINOR_BITS + MX_PATCH_BITS) |
	       minor << MX_PATCH_BITS | patch;
}

int
mac_compat_cmp(const char *a, const char *b)
{
	long la = mx_compat_level(a), lb = mx_compat_level(b);

	if (la < 0 || lb < 0)
		return -2;
	return la < lb ? -1 : la > lb;
}

static bool
mx_alldig(const char *s)
{
	if (*s == 0)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Postfix's atol_or_die(), minus the dying: -1 when out of range. */
static int
mx_atol(const char *s, long *val)
{
	const char *end;

	return mx_strtol(s, &end, val) && *end == 0 ? 0 : -1;
}

static bool
mx_op_result(enum mx_op op, int delta)
{
	switch (op) {
	case MX_OP_EQ:
		return delta == 0;
	case MX_OP_NE:
		return delta != 0;
	case MX_OP_LT:
		return delta < 0;
	case MX_OP_LE:
		return delta <= 0;
	case MX_OP_GE:
		return delta >= 0;
	case MX_OP_GT:
		return delta > 0;
	case MX_OP_NONE:
		break;
	}
	return false;
}

/* Expand an operand of a relational expression into a fresh string. */
static int
mx_operand(struct mx *mx, const char *text, struct str *res)
{
	struct mx sub = *mx;

	sub.out = res;
	return mx_parse(&sub, text);
}

/*
 * ${{left} OP {right} ...}: *bp points at the left '{'.  Sets *result to
 * "true" or "" and leaves *bp after the right operand and its white space.
 */
static int
mx_relational(struct mx *mx, char **bp, const char **result)
{
	static const struct {
		const char *name;
		enum mx_op op;
	} ops[] = {
		{ "==", MX_OP_EQ },
		{ "!=", MX_OP_NE },
		{ "<", MX_OP_LT },
		{ "<=", MX_OP_LE },
		{ ">=", MX_OP_GE },
		{ ">", MX_OP_GT },
	};
	char *cp = *bp, *left, *right, *op_pos;
	size_t op_len, type_len = 0, i;
	enum mx_op op = MX_OP_NONE;
	bool level = false;
	struct str *lbuf = NULL, *rbuf = NULL;
	int delta, rc = -1;

	if ((left = mx_curly_payload(mx, &cp)) == NULL)
		return -1;
	op_pos = cp;
	op_len = strspn(cp, "<>!=?+-*/~&|%");
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strlen(ops[i].name) == op_len &&
		    strncmp(ops[i].name, cp, op_len) == 0)
			op = ops[i].op;
	if (op == MX_OP_NONE)
		return mx_error(mx, "%s expected at: \"...%s}>>>%.20s\"",
		    MX_OP_ANY, left, cp);
	cp += op_len;
	if (isalnum((unsigned char)*cp)) {
		while (isalnum((unsigned char)cp[type_len]))
			type_len++;
		if (type_len != 5 || strncmp(cp, "level", 5) != 0)
			return mx_error(mx,
			    "bad operator suffix at: \"...%.*s>>>%.*s\"",
			    (int)op_len, op_pos, (int)type_len, cp);
		level = true;
		cp += type_len;
	}
	if (!mx_find_left_curly(&cp))
		return mx_error(mx,
		    "\"{expression}\" expected at: \"...{%s} %.*s>>>%.20s\"",
		    left, (int)op_len, op_pos, cp);
	if ((right = mx_curly_payload(mx, &cp)) == NULL)
		return -1;

	lbuf = str_new(100);
	rbuf = str_new(100);
	if (mx_operand(mx, left, lbuf) < 0 || mx_operand(mx, right, rbuf) < 0)
		goto out;
	if (mx->mc->flags & MAC_EXP_FLAG_SCAN) {
		*result = NULL;
	} else if (level) {
		long ll = mx_compat_level(str_ptr(lbuf));
		long rl = mx_compat_level(str_ptr(rbuf));

		if (ll < 0 || rl < 0) {
			mx_error(mx,
			    "malformed compatibility level syntax: \"%s\"",
			    ll < 0 ? str_ptr(lbuf) : str_ptr(rbuf));
			goto out;
		}
		delta = ll < rl ? -1 : ll > rl;
		*result = mx_op_result(op, delta) ? MX_TRUE : MX_FALSE;
	} else {
		if (mx_alldig(str_ptr(lbuf)) && mx_alldig(str_ptr(rbuf))) {
			long ln, rn;

			if (mx_atol(str_ptr(lbuf), &ln) < 0 ||
			    mx_atol(str_ptr(rbuf), &rn) < 0) {
				mx_error(mx, "mac_exp_eval: bad conversion: %s",
				    mx_atol(str_ptr(lbuf), &ln) < 0
					? str_ptr(lbuf)
					: str_ptr(rbuf));
				goto out;
			}
			delta = ln < rn ? -1 : ln > rn;
		} else
			delta = strcmp(str_ptr(lbuf), str_ptr(rbuf));
		*result = mx_op_result(op, delta) ? MX_TRUE : MX_FALSE;
	}
	*bp = cp;
	rc = 0;
out:
	str_free(lbuf);
	str_free(rbuf);
	return rc;
}

/* Count one level of nesting for a literal run or a reference. */
static int
mx_enter(struct mx *mx, const char *text)
{
	if (mx->depth++ > MX_MAX_DEPTH)
		return mx_error(mx, "unreasonable macro call nesting: \"%s\"",
		    text);
	return 0;
}

/*
 * One reference: buf is the text between the braces (or the bare name),
 * modifiable.  Mirrors Postfix's evaluation order so that the same
 * mistakes produce the same diagnostics.
 */
static int
mx_reference(struct mx *mx, char *buf)
{
	const struct mac_expand_ctx *mc = mx->mc;
	bool scan = mc->flags & MAC_EXP_FLAG_SCAN;
	const char *lookup = NULL, *iftrue, *iffalse;
	char *cp = buf, *start;
	size_t tmp_len;
	int ch;

	if (mx_enter(mx, buf) < 0)
		return -1;
	if (mx_find_left_curly(&cp)) {
		if (mx_relational(mx, &cp, &lookup) < 0)
			return -1;
		if ((ch = *cp) != 0) {
			if (ch != '?' && ch != ':')
				return mx_error(mx,
				    "\"?\" or \":\" expected at: \"...}>>>%.20s\"",
				    cp);
			cp++;
		}
	} else {
		start = (cp += strspn(cp, MX_WS));
		for (;; cp++) {
			ch = cp[tmp_len = strspn(cp, MX_WS)];
			if (ch == 0) {
				*cp = 0;
				break;
			}
			if (ch == '?' || ch == ':') {
				*cp++ = 0;
				cp += tmp_len;
				break;
			}
			if (!mx_is_name_char(*cp))
				return mx_error(mx,
				    "attribute name syntax error at: \"...%.*s>>>%.20s\"",
				    (int)(cp - buf), buf, cp);
		}
		lookup = mc->lookup(start, mc->ctx);
		if (lookup == NULL && mc->undef &&
		    (mc->flags & (MAC_EXP_FLAG_WARN_UNDEF | MAC_EXP_FLAG_SCAN)))
			mc->undef(start, mc->ctx);
	}

	switch (ch) {
	case '?':
		if (mx_find_left_curly(&cp)) {
			if ((iftrue = mx_curly_payload(mx, &cp)) == NULL)
				return -1;
		} else {
			iftrue = cp;
			cp += strlen(cp);
		}
		if ((lookup && *lookup) || scan)
			if (mx_parse(mx, iftrue) < 0)
				return -1;
		if (*cp == 0)
			break;
		if (*cp != ':')
			return mx_error(mx,
			    "\":\" expected at: \"...%s}>>>%.20s\"", iftrue,
			    cp);
		cp++;
		/* FALLTHROUGH */
	case ':':
		if (mx_find_left_curly(&cp)) {
			if ((iffalse = mx_curly_payload(mx, &cp)) == NULL)
				return -1;
		} else {
			iffalse = cp;
			cp += strlen(cp);
		}
		if (lookup == NULL || *lookup == 0 || scan)
			if (mx_parse(mx, iffalse) < 0)
				return -1;
		if (*cp != 0)
			return mx_error(mx,
			    "unexpected input at: \"...%s}>>>%.20s\"", iffalse,
			    cp);
		break;
	default:
		if (lookup == NULL || *lookup == 0 || scan)
			break;
		if (mc->flags & MAC_EXP_FLAG_NO_RECURSE)
			str_cat(mx->out, lookup);
		else if (mx_parse(mx, lookup) < 0)
			return -1;
		break;
	}
	mx->depth--;
	return 0;
}

/*
 * Emit the literal run that starts at offset lit in the output: it counts
 * as one level, as Postfix's literal callbacks do.
 */
static int
mx_literal(struct mx *mx, size_t lit)
{
	if (str_len(mx->out) == lit)
		return 0;
	if (mx_enter(mx, str_ptr(mx->out) + lit) < 0)
		return -1;
	mx->depth--;
	return 0;
}

/* Split text into literal runs and references (Postfix's mac_parse). */
static int
mx_parse(struct mx *mx, const char *text)
{
	const char *vp = text, *ep, *dollar;
	size_t lit = str_len(mx->out);
	char *buf;
	int rc;

	while (*vp) {
		if (*vp != '$') {
			if ((dollar = strchr(vp, '$')) == NULL)
				dollar = vp + strlen(vp);
			if (!(mx->mc->flags & MAC_EXP_FLAG_SCAN))
				str_catn(mx->out, vp, (size_t)(dollar - vp));
			vp = dollar;
			continue;
		}
		if (vp[1] == '$') {
			if (!(mx->mc->flags & MAC_EXP_FLAG_SCAN))
				str_catc(mx->out, '$');
			vp += 2;
			continue;
		}
		if (mx_literal(mx, lit) < 0)
			return -1;
		vp++;
		if (*vp == '{' || *vp == '(') {
			char open = *vp, close = open == '{' ? '}' : ')';
			int level = 1;

			for (ep = ++vp; level > 0; ep++) {
				if (*ep == 0)
					return mx_error(mx,
					    "truncated macro reference: \"%s\"",
					    text);
				if (*ep == open)
					level++;
				if (*ep == close)
					level--;
			}
			buf = xstrndup(vp, (size_t)(ep - vp - 1));
		} else {
			for (ep = vp; mx_is_name_char(*ep); ep++)
				;
			buf = xstrndup(vp, (size_t)(ep - vp));
		}
		vp = ep;
		if (*buf == 0) {
			free(buf);
			return mx_error(mx, "empty macro name: \"%s\"", text);
		}
		rc = mx_reference(mx, buf);
		free(buf);
		if (rc < 0)
			return -1;
		lit = str_len(mx->out);
	}
	return mx_literal(mx, lit);
}

int
mac_expand(struct str *out, const char *text, const struct mac_expand_ctx *mc,
    struct str *why)
{
	struct mx mx = { mc, out, why, 0 };
	int rc;

	/* A scan writes nothing, so it may go without an output buffer. */
	if (out == NULL) {
		mx.out = str_new(10);
		rc = mx_parse(&mx, text);
		str_free(mx.out);
		return rc;
	}
	if (!(mc->flags & MAC_EXP_FLAG_SCAN))
		str_reset(out);
	return mx_parse(&mx, text);
}
