/*
 * mac_expand_test - expansion forms, Postfix 3.7's diagnostics (observed
 * with Debian's postconf 3.7.11), recursion and size limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/htable.h"
#include "lib/util/mac_expand.h"
#include "lib/util/str.h"
#include "lib/util/test.h"

static struct htable *vars;
static struct str *undef_log;

static const char *
lookup(const char *name, void *ctx)
{
	(void)ctx;
	return htable_find(vars, name);
}

static void
undef(const char *name, void *ctx)
{
	(void)ctx;
	str_catfmt(undef_log, "%s;", name);
}

static void
set(const char *name, const char *value)
{
	free(htable_enter(vars, name, value ? xstrdup(value) : NULL));
	if (value == NULL)
		htable_delete(vars, name, free);
}

static void
setup(void)
{
	static const char *const init[][2] = {
		{ "a", "A" },
		{ "b", "$a" },
		{ "empty", "" },
		{ "e", "$empty" },
		{ "self", "$self" },
		{ "m1", "$m2" },
		{ "m2", "$m1" },
		{ "relayhost", "r" },
		{ "x1", "${x1?y}" },
		{ "rel", "${{$rel} == {x} ? {y} : {z}}" },
		{ "compatibility_level", "0" },
		{ "mynetworks_style",
		    "${{$compatibility_level} <level {2} ? {subnet} : {host}}" },
	};
	size_t i;

	if (vars)
		htable_free(vars, free);
	vars = htable_new(30);
	for (i = 0; i < sizeof(init) / sizeof(init[0]); i++)
		set(init[i][0], init[i][1]);
	if (undef_log == NULL)
		undef_log = str_new(100);
	str_reset(undef_log);
}

struct xcase {
	const char *text;
	int rc;
	const char *out; /* when rc == 0 */
	const char *why; /* when rc == -1 (NULL: don't check) */
};

static void
run(struct test *t, const struct xcase *c, size_t n, int flags)
{
	struct mac_expand_ctx ctx = { lookup, undef, NULL, flags };
	struct str *out = str_new(10), *why = str_new(10);
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		str_reset(why);
		rc = mac_expand(out, c[i].text, &ctx, why);
		if (rc != c[i].rc) {
			TEST_FAIL(t, "%s: got rc %d (%s), want %d", c[i].text,
			    rc, str_ptr(why), c[i].rc);
			continue;
		}
		if (rc == 0 && strcmp(str_ptr(out), c[i].out) != 0)
			TEST_FAIL(t, "%s: got \"%s\", want \"%s\"", c[i].text,
			    str_ptr(out), c[i].out);
		if (rc < 0 && c[i].why && strcmp(str_ptr(why), c[i].why) != 0)
			TEST_FAIL(t, "%s: got why '%s', want '%s'", c[i].text,
			    str_ptr(why), c[i].why);
	}
	str_free(out);
	str_free(why);
}

#define RUN(t, cases, flags)                                                   \
	run(t, cases, sizeof(cases) / sizeof(cases[0]), flags)

static void
test_forms(struct test *t)
{
	static const struct xcase cases[] = {
		{ "", 0, "", NULL },
		{ "plain text", 0, "plain text", NULL },
		{ "$a", 0, "A", NULL },
		{ "${a}", 0, "A", NULL },
		{ "$(a)", 0, "A", NULL },
		{ "x$a.y", 0, "xA.y", NULL },
		{ "$a_b", 0, "", NULL },
		{ "$$", 0, "$", NULL },
		{ "$$a $$$a", 0, "$a $A", NULL },
		{ "$b", 0, "A", NULL },
		{ "x $nosuch y", 0, "x  y", NULL },
		{ "x ${nosuch} y $(nosuch2) $$ z", 0, "x  y  $ z", NULL },
		{ "${ a }", 0, "A", NULL },
		{ "${a?foo bar}", 0, "foo bar", NULL },
		{ "${a? foo }", 0, " foo ", NULL },
		{ "${empty?foo}", 0, "", NULL },
		{ "${nosuch?foo}", 0, "", NULL },
		{ "${a:foo}", 0, "", NULL },
		{ "${empty:foo bar}", 0, "foo bar", NULL },
		{ "${nosuch: foo }", 0, " foo ", NULL },
		{ "${e:x}", 0, "", NULL },
		{ "${a?{x}}", 0, "x", NULL },
		{ "${a:{x}}", 0, "", NULL },
		{ "${empty:{x}}", 0, "x", NULL },
		{ "${a?{x}:{y}}", 0, "x", NULL },
		{ "${empty?{x}:{y}}", 0, "y", NULL },
		{ "${nosuch?{x}:{y}}", 0, "y", NULL },
		{ "$(nosuch?{x}:{y})", 0, "y", NULL },
		{ "${ a ? {x} : {y} }", 0, "x", NULL },
		{ "${a?{x}:y z}", 0, "x", NULL },
		{ "${empty?{x}:y z}", 0, "y z", NULL },
		{ "${a?$b}", 0, "A", NULL },
		{ "${a?{${a?{$b}}}}", 0, "A", NULL },
		{ "${a?x:y}", 0, "x:y", NULL },
		{ "${a??foo:{b}ar}", 0, "?foo:{b}ar", NULL },
		{ "${relayhost?foo bar} y", 0, "foo bar y", NULL },
		{ "x ${relayhost:foo bar} y ${relayhost?{a}:{b}}", 0, "x  y a",
		    NULL },
		{ "$(a?(x))", 0, "(x)", NULL },
	};

	setup();
	RUN(t, cases, MAC_EXP_FLAG_NONE);
}

static void
test_relational(struct test *t)
{
	static const struct xcase cases[] = {
		{ "${{1} == {1} ? {yes} : {no}}", 0, "yes", NULL },
		{ "${{1}=={1}?{yes}:{no}}", 0, "yes", NULL },
		{ "${{ 1 } == { 1 } ? {yes} : {no}}", 0, "yes", NULL },
		{ "${ {a} == {a} ? {x} : {y}}", 0, "x", NULL },
		{ "${{1} == {01} ? {yes} : {no}}", 0, "yes", NULL },
		{ "${{1} != {01} ? {yes} : {no}}", 0, "no", NULL },
		{ "${{10} < {9} ? {x} : {y}}", 0, "y", NULL },
		{ "${{10} > {9} ? {x} : {y}}", 0, "x", NULL },
		{ "${{10} <= {10} ? {x} : {y}}", 0, "x", NULL },
		{ "${{10} >= {11} ? {x} : {y}}", 0, "y", NULL },
		{ "${{a10} < {a9} ? {x} : {y}}", 0, "x", NULL },
		{ "${{9223372036854775807} > {9223372036854775806} ? {x} : {y}}",
		    0, "x", NULL },
		{ "${{a} < {b} ? {yes} : {no}}", 0, "yes", NULL },
		{ "${{a} != {b} ? {yes} : {no}}", 0, "yes", NULL },
		{ "${{} == {} ? {x} : {y}}", 0, "x", NULL },
		{ "${{a} == {a}}", 0, "true", NULL },
		{ "${{a} == {b}}", 0, "", NULL },
		{ "${{$a} == {A} ? {y} : {n}}", 0, "y", NULL },
		{ "${{$b} == {$a} ? {$a} : {n}}", 0, "A", NULL },
		{ "${{a} == {a} ? x : y z}", 0, " x : y z", NULL },
		{ "${{a} == {b} ? {x} : y z}", 0, " y z", NULL },
		{ "${{a} == {b} : {x}}", 0, "x", NULL },
		{ "${{a} == {a} ? {x}}", 0, "x", NULL },
		{ "${{a} == {b} ? {x}}", 0, "", NULL },
		/* Compatibility levels: numbers, not strings or floats. */
		{ "${{3.10} >level {3.9} ? {yes} : {no}}", 0, "yes", NULL },
		{ "${{3.10} >  {3.9} ? {yes} : {no}}", 0, "no", NULL },
		{ "${{0} <level {1} ? {yes} : {no}}", 0, "yes", NULL },
		{ "${{3.6} <=level {3.6} ? {yes} : {no}}", 0, "yes", NULL },
		{ "${{3.6} <level {3.6} ? {yes} : {no}}", 0, "no", NULL },
		{ "${{3.6} >=level {3.6} ? {yes} : {no}}", 0, "yes", NULL },
		{ "${{3.6} ==level {3.6.0} ? {yes} : {no}}", 0, "yes", NULL },
		{ "${{3.6} !=level {3.6.1} ? {yes} : {no}}", 0, "yes", NULL },
		{ "${{3.6.1} >level {3.6} ? {yes} : {no}}", 0, "yes", NULL },
		{ "${{2} >level {1.9} ? {yes} : {no}}", 0, "yes", NULL },
		{ "${{ 3.6} <=level {3.6} ? {x} : {y}}", 0, "x", NULL },
		{ "$mynetworks_style", 0, "subnet", NULL },
	};

	setup();
	RUN(t, cases, MAC_EXP_FLAG_NONE);
	set("compatibility_level", "3.6");
	{
		static const struct xcase c2[] = {
			{ "$mynetworks_style", 0, "host", NULL },
		};
		RUN(t, c2, MAC_EXP_FLAG_NONE);
	}
	set("compatibility_level", "2");
	{
		static const struct xcase c3[] = {
			{ "$mynetworks_style", 0, "host", NULL },
		};
		RUN(t, c3, MAC_EXP_FLAG_NONE);
	}
	set("compatibility_level", "1.99");
	{
		static const struct xcase c4[] = {
			{ "$mynetworks_style", 0, "subnet", NULL },
		};
		RUN(t, c4, MAC_EXP_FLAG_NONE);
	}
}

static void
test_compat_cmp(struct test *t)
{
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
		{ "3.10", "3.9", 1 },
		{ "3.9", "3.10", -1 },
		{ "0", "1", -1 },
		{ "3.6", "3.6", 0 },
		{ "3.6", "3.6.0", 0 },
		{ "3.6.1", "3.6", 1 },
		{ "2", "1.1023", 1 },
		{ "10", "9.9", 1 },
		{ "3", "3.0", 0 },
		{ "3.x", "3", -2 },
		{ "3.1024", "3", -2 },
		{ "-1", "3", -2 },
		{ "", "3", -2 },
		{ "3", "", -2 },
		{ "3.6 ", "3", -2 },
		{ "3.6.1.2", "3", -2 },
		{ "3..6", "3", -2 },
		{ "a", "b", -2 },
		{ "99999999999999999999999", "1", -2 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = mac_compat_cmp(cases[i].a, cases[i].b);

		if (got != cases[i].want)
			TEST_FAIL(t,
			    "mac_compat_cmp(\"%s\", \"%s\"): got %d, want %d",
			    cases[i].a, cases[i].b, got, cases[i].want);
	}
}

/* Syntax errors: Postfix 3.7's warning texts, observed with postconf -x. */
static void
test_errors(struct test *t)
{
	static const struct xcase cases[] = {
		{ "x ${relayhost", -1, NULL,
		    "truncated macro reference: \"x ${relayhost\"" },
		{ "x ${relayhost?foo", -1, NULL,
		    "truncated macro reference: \"x ${relayhost?foo\"" },
		{ "$(a", -1, NULL, "truncated macro reference: \"$(a\"" },
		{ "${{a} == {b} ? {x} : {y}", -1, NULL,
		    "truncated macro reference: \"${{a} == {b} ? {x} : {y}\"" },
		{ "x $ y", -1, NULL, "empty macro name: \"x $ y\"" },
		{ "x $", -1, NULL, "empty macro name: \"x $\"" },
		{ "x ${} y", -1, NULL, "empty macro name: \"x ${} y\"" },
		{ "x ${a-b} y", -1, NULL,
		    "attribute name syntax error at: \"...a>>>-b\"" },
		{ "${a b}", -1, NULL,
		    "attribute name syntax error at: \"...a>>> b\"" },
		{ "${{a} = {b} ? {x} : {y}}", -1, NULL,
		    "\"==\" or \"!=\"\" or \"<\"\" or \"<=\"\" or \">=\"\" or \">\" expected at: \"...a}>>>= {b} ? {x} : {y}\"" },
		{ "${{a} == b ? {x} : {y}}", -1, NULL,
		    "\"{expression}\" expected at: \"...{a} ==>>> b ? {x} : {y}\"" },
		{ "${{a} ==foo {b} ? {x} : {y}}", -1, NULL,
		    "bad operator suffix at: \"...==>>>foo\"" },
		{ "${{3.6} ==level {b} ? {x} : {y}}", -1, NULL,
		    "malformed compatibility level syntax: \"b\"" },
		{ "${{ 3.6} <=level {3.6 } ? {x} : {y}}", -1, NULL,
		    "malformed compatibility level syntax: \"3.6 \"" },
		{ "${{3.1024} >level {3.6} ? {x} : {y}}", -1, NULL,
		    "malformed compatibility level syntax: \"3.1024\"" },
		{ "${{-1} <level {3.6} ? {x} : {y}}", -1, NULL,
		    "malformed compatibility level syntax: \"-1\"" },
		{ "${{} <level {3.6} ? {x} : {y}}", -1, NULL,
		    "malformed compatibility level syntax: \"\"" },
		{ "${{a} == {a} x {x} : {y}}", -1, NULL,
		    "\"?\" or \":\" expected at: \"...}>>>x {x} : {y}\"" },
		{ "${{a} == {a} ? {x} y}", -1, NULL,
		    "\":\" expected at: \"...x}>>>y\"" },
		{ "${{a} == {b} ? {x} : {y} z}", -1, NULL,
		    "unexpected input at: \"...y}>>>z\"" },
		{ "${nosuch:{x}:{y}}", -1, NULL,
		    "unexpected input at: \"...x}>>>:{y}\"" },
		{ "$(a?{abc)", -1, NULL,
		    "unbalanced {} in attribute expression: \"{abc\"" },
		{ "$(a == {x})", -1, NULL,
		    "attribute name syntax error at: \"...a>>> == {x}\"" },
		/* Postfix 3.7 dies here; we return its text as an error. */
		{ "${{99999999999999999999999} > {1} ? {x} : {y}}", -1, NULL,
		    "mac_exp_eval: bad conversion: 99999999999999999999999" },
		/* A syntax error in a value is found when the value is used. */
		{ "${empty?${bad-name}}", 0, "", NULL },
	};

	setup();
	RUN(t, cases, MAC_EXP_FLAG_NONE);
	set("bad", "x ${oops");
	{
		static const struct xcase c2[] = {
			{ "a $bad", -1, NULL,
			    "truncated macro reference: \"x ${oops\"" },
		};
		RUN(t, c2, MAC_EXP_FLAG_NONE);
	}
}

/* Recursion ends with an error naming the parameter, never a hang. */
static void
test_recursion(struct test *t)
{
	static const struct xcase cases[] = {
		{ "$self", -1, NULL,
		    "unreasonable macro call nesting: \"self\"" },
		{ "x $self y", -1, NULL,
		    "unreasonable macro call nesting: \"self\"" },
		/* Postfix counts from the top: $m1 -> m1 m2 m1 ... index 101. */
		{ "$m1", -1, NULL, "unreasonable macro call nesting: \"m2\"" },
		{ "$m2", -1, NULL, "unreasonable macro call nesting: \"m1\"" },
		{ "${m1}", -1, NULL,
		    "unreasonable macro call nesting: \"m2\"" },
		/* ?text does not expand the tested value: no loop. */
		{ "$x1", 0, "y", NULL },
		/* Through a relational operand (Postfix would overflow). */
		{ "$rel", -1, NULL, NULL },
		/* Not recursive: the same name twice side by side. */
		{ "$b$b$b", 0, "AAA", NULL },
	};
	struct str *deep = str_new(100), *out = str_new(10), *why = str_new(10);
	struct mac_expand_ctx ctx = { lookup, NULL, NULL, 0 };
	char name[20], value[20];
	int i;

	setup();
	RUN(t, cases, MAC_EXP_FLAG_NONE);

	/* A chain of 90 names works; one of 150 exceeds the limit. */
	for (i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		snprintf(value, sizeof(value), "$c%d", i + 1);
		set(name, value);
	}
	set("c90", "end");
	TEST_INT(t, mac_expand(out, "$c0", &ctx, why), 0);
	TEST_STR(t, str_ptr(out), "end");
	set("c90", "$c91");
	set("c149", "end");
	TEST_INT(t, mac_expand(out, "$c0", &ctx, why), -1);
	TEST_STR(t, str_ptr(why), "unreasonable macro call nesting: \"c101\"");

	/* Deeply nested conditionals in one text. */
	str_reset(deep);
	for (i = 0; i < 5000; i++)
		str_cat(deep, "${a?");
	str_cat(deep, "x");
	for (i = 0; i < 5000; i++)
		str_cat(deep, "}");
	TEST_INT(t, mac_expand(out, str_ptr(deep), &ctx, why), -1);
	TEST_TRUE(t,
	    strncmp(str_ptr(why), "unreasonable macro call nesting", 31) == 0);

	/* Deeply nested braces: no recursion in the brace matcher. */
	str_set(deep, "${");
	for (i = 0; i < 100000; i++)
		str_catc(deep, '{');
	for (i = 0; i < 100000; i++)
		str_catc(deep, '}');
	str_catc(deep, '}');
	TEST_INT(t, mac_expand(out, str_ptr(deep), &ctx, why), -1);

	/* Many levels of unbalanced braces. */
	str_set(deep, "${a?");
	for (i = 0; i < 100000; i++)
		str_catc(deep, '{');
	TEST_INT(t, mac_expand(out, str_ptr(deep), &ctx, why), -1);
	TEST_TRUE(t,
	    strncmp(str_ptr(why), "truncated macro reference", 25) == 0);
	str_free(deep);
	str_free(out);
	str_free(why);
}

static void
test_big(struct test *t)
{
	struct mac_expand_ctx ctx = { lookup, NULL, NULL, 0 };
	struct str *big = str_new(1 << 20), *out = str_new(10),
		   *why = str_new(10);
	size_t i;

	setup();
	for (i = 0; i < (1 << 20); i++)
		str_catc(big, 'a' + (int)(i % 26));
	set("big", str_ptr(big));
	TEST_INT(t, mac_expand(out, "<$big>", &ctx, why), 0);
	TEST_INT(t, str_len(out), (1 << 20) + 2);
	TEST_TRUE(t, memcmp(str_ptr(out) + 1, str_ptr(big), 1 << 20) == 0);

	/* A 1 MB text of references: iterative, not recursive. */
	str_reset(big);
	for (i = 0; i < (1 << 20) / 2; i++)
		str_cat(big, "$a");
	TEST_INT(t, mac_expand(out, str_ptr(big), &ctx, why), 0);
	TEST_INT(t, str_len(out), (1 << 20) / 2);

	/* A 1 MB unterminated reference. */
	str_set(big, "${");
	for (i = 0; i < (1 << 20); i++)
		str_catc(big, 'x');
	TEST_INT(t, mac_expand(out, str_ptr(big), &ctx, why), -1);
	TEST_TRUE(t,
	    strncmp(str_ptr(why), "truncated macro reference", 25) == 0);
	str_free(big);
	str_free(out);
	str_free(why);
}

static void
test_stress(struct test *t)
{
	static const struct xcase off[] = {
		{ "${stress?{10}:{300}}s", 0, "300s", NULL },
		{ "${stress?{1}:{20}}", 0, "20", NULL },
	};
	static const struct xcase on[] = {
		{ "${stress?{10}:{300}}s", 0, "10s", NULL },
		{ "${stress?{1}:{20}}", 0, "1", NULL },
	};

	setup();
	RUN(t, off, MAC_EXP_FLAG_NONE);
	set("stress", "");
	RUN(t, off, MAC_EXP_FLAG_NONE);
	set("stress", "yes");
	RUN(t, on, MAC_EXP_FLAG_NONE);
}

static void
test_flags(struct test *t)
{
	struct mac_expand_ctx ctx = { lookup, undef, NULL,
		MAC_EXP_FLAG_WARN_UNDEF };
	struct str *out = str_new(10), *why = str_new(10);

	setup();
	TEST_INT(t,
	    mac_expand(out, "$nosuch ${nosuch2?x} ${a?$n3:$n4} $a", &ctx, why),
	    0);
	TEST_STR(t, str_ptr(out), "  : A");
	TEST_STR(t, str_ptr(undef_log), "nosuch;nosuch2;n3;n4;");

	/* Without the flag, nothing is reported. */
	str_reset(undef_log);
	ctx.flags = MAC_EXP_FLAG_NONE;
	TEST_INT(t, mac_expand(out, "$nosuch", &ctx, why), 0);
	TEST_STR(t, str_ptr(undef_log), "");

	/* No recursion: a value is inserted as is. */
	ctx.flags = MAC_EXP_FLAG_NO_RECURSE;
	TEST_INT(t, mac_expand(out, "$b $self", &ctx, why), 0);
	TEST_STR(t, str_ptr(out), "$a $self");

	/* Scan: both branches, nothing written. */
	str_reset(undef_log);
	str_set(out, "keep");
	ctx.flags = MAC_EXP_FLAG_SCAN;
	TEST_INT(t,
	    mac_expand(out, "${a?{$s1}:{$s2}} ${{$s3} == {x}?{$s4}}", &ctx,
		why),
	    0);
	TEST_STR(t, str_ptr(out), "keep");
	TEST_STR(t, str_ptr(undef_log), "s1;s2;s3;s4;");
	str_reset(undef_log);
	TEST_INT(t, mac_expand(NULL, "$s5 ${a?$s6}", &ctx, why), 0);
	TEST_STR(t, str_ptr(undef_log), "s5;s6;");
	TEST_INT(t, mac_expand(NULL, "${oops", &ctx, why), -1);

	/* The output is reset, not appended to. */
	ctx.flags = MAC_EXP_FLAG_NONE;
	str_set(out, "old");
	TEST_INT(t, mac_expand(out, "$a", &ctx, why), 0);
	TEST_STR(t, str_ptr(out), "A");
	str_free(out);
	str_free(why);
}

static const struct test_case cases[] = {
	{ "forms", test_forms },
	{ "relational", test_relational },
	{ "compat_cmp", test_compat_cmp },
	{ "errors", test_errors },
	{ "recursion", test_recursion },
	{ "big", test_big },
	{ "stress", test_stress },
	{ "flags", test_flags },
	{ 0 },
};

int
main(void)
{
	int rc = test_main(__FILE__, cases);

	htable_free(vars, free);
	str_free(undef_log);
	return rc;
}
