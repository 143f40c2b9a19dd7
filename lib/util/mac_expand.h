/*
 * mac_expand - expand $name references the way main.cf does.
 *
 * Forms: $name, ${name}, $(name), $$ (a literal $), ${name?text}, ${name:text},
 * ${name?{text}}, ${name:{text}}, ${name?{text1}:{text2}},
 * ${{text1} OP {text2} ? {iftrue} : {iffalse}} with OP one of == != < <= > >=
 * (numeric when both sides are decimal numbers, else string) and <level,
 * <=level, >level, >=level (compatibility levels: "3.10" > "3.9", "0" < "1").
 * Names are [A-Za-z0-9_]+.  The value of a name is expanded recursively.
 *
 * mac_expand(out, text, lookup, ctx, flags, why)   expand text into out (appends
 *          nothing: out is reset first).  Returns 0 ok, or -1 with why set
 *          ("unreasonable macro call nesting: \"name\"" for recursion, or a syntax
 *          error naming the text).  Undefined names expand to empty; with
 *          MAC_EXP_FLAG_WARN_UNDEF the expander reports each through undef_fn.
 * lookup(name, ctx)        return the raw value of name, or NULL when undefined
 *
 * mac_compat_cmp(a, b)     compare two compatibility levels ("3.6", "2", "3.10"):
 *                          <0, 0, >0; -2 when either is malformed
 *
 * Diagnostics in why are Postfix 3.7's warning texts: "truncated macro
 * reference: \"TEXT\"", "empty macro name: \"TEXT\"", "attribute name syntax
 * error at: ...", "unbalanced {} in attribute expression: ...", "malformed
 * compatibility level syntax: ...", and so on.  The value that lookup returns
 * must stay valid until mac_expand returns.
 * MAC_EXP_FLAG_SCAN (additive) visits every reference, both branches of every
 * condition included, calls undef for each undefined name, and writes
 * nothing to out, which may be NULL (postconf's check for undefined
 * parameters).
 */
#ifndef MAC_EXPAND_H
#define MAC_EXPAND_H

#include "lib/util/str.h"

typedef const char *mac_lookup_fn(const char *, void *);
typedef void mac_undef_fn(const char *, void *);

#define MAC_EXP_FLAG_NONE	0
#define MAC_EXP_FLAG_WARN_UNDEF	(1 << 0)	/* call undef_fn for undefined names */
#define MAC_EXP_FLAG_NO_RECURSE	(1 << 1)	/* do not expand values of names */
#define MAC_EXP_FLAG_SCAN	(1 << 2)	/* only report names; out unchanged */

struct mac_expand_ctx {
	mac_lookup_fn *lookup;
	mac_undef_fn *undef;	/* may be NULL */
	void *ctx;
	int flags;
};

int mac_expand(struct str *, const char *, const struct mac_expand_ctx *,
    struct str *) __attribute__((warn_unused_result));
int mac_compat_cmp(const char *, const char *);

#endif
