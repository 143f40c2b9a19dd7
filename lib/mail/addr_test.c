/*
 * addr_test - address lists in odd header values, the internal and
 * external forms (quote_822_local's rules) and header rewriting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/argv.h"
#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/addr.h"

/* value, then the addresses joined with '|' (NULL: none). */
static const struct {
	const char *value;
	const char *want;
} list_cases[] = {
	{ "a@b", "a@b" },
	{ "a@b, c@d", "a@b|c@d" },
	{ "a@b,,c@d,", "a@b|c@d" },
	{ "Joe <joe@x>", "joe@x" },
	{ "\"Doe, Joe\" <joe@x>, other@y", "joe@x|other@y" },
	{ "c@d (comment)", "c@d" },
	{ "(lead) c@d", "c@d" },
	{ "c@d (nested (comment) here), e@f", "c@d|e@f" },
	{ "c (inside) @ d", "c@d" },
	{ "<>", "" },
	{ "Nobody <>", "" },
	{ "<(just a comment)>", "" },
	{ "undisclosed-recipients:;", NULL },
	{ "friends: a@b, c@d;, e@f", "a@b|c@d|e@f" },
	{ "friends: Al <a@b>; Joe <j@x>", "a@b|j@x" },
	{ "<@r1,@r2:user@dom>", "user@dom" },
	{ "@r1:user@dom", "user@dom" },
	{ "\"a b\"@x", "a b@x" },
	{ "\"a\\\"b\"@x", "a\"b@x" },
	{ "\"unbalanced@x", "unbalanced@x" },
	{ "Joe <joe@x", "joe@x" },
	{ "Joe <joe@x, more", "joe@x,more" },
	{ "(unclosed comment a@b", NULL },
	{ "user@[1.2.3.4]", "user@[1.2.3.4]" },
	{ "user@[1.2.3.4", "user@[1.2.3.4]" },
	{ "a . b @ x . y", "a.b@x.y" },
	{ "Joe's Pub <pub@x>", "pub@x" },
	{ "a\\@b@x", "a@b@x" },
	{ "", NULL },
	{ "   ", NULL },
	{ "joe", "joe" },
	{ "Joe <joe@x> <second@y>", "joe@x" },
	{ "<<a@b>>", "a@b" },
	{ "a@b; c@d", "a@b|c@d" },
	{ "x@y\r\n\t, z@w", "x@y|z@w" },
};

static void
test_parse_list(struct test *t)
{
	struct str *got = str_new(64);

	for (size_t i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]);
	     i++) {
		struct argv *a = argv_new();
		int n = addr_parse_list(list_cases[i].value, a);

		TEST_INT(t, n, a->argc);
		str_reset(got);
		for (size_t j = 0; j < a->argc; j++) {
			if (j > 0)
				str_catc(got, '|');
			str_cat(got, a->argv[j]);
		}
		if (list_cases[i].want == NULL
			? a->argc != 0
			: strcmp(str_ptr(got), list_cases[i].want) != 0)
			TEST_FAIL(t, "%s: got \"%s\" (%zu), want \"%s\"",
			    list_cases[i].value, str_ptr(got), a->argc,
			    list_cases[i].want ? list_cases[i].want : "(none)");
		argv_free(a);
	}
	str_free(got);
}

static void
test_parse_append(struct test *t)
{
	struct argv *a = argv_new();

	argv_add(a, "first");
	TEST_INT(t, addr_parse_list("x@y, z@w", a), 2);
	TEST_INT(t, a->argc, 3);
	TEST_STR(t, a->argv[0], "first");
	TEST_STR(t, a->argv[2], "z@w");
	argv_free(a);
}

static const struct {
	const char *in, *out;
} ext_cases[] = {
	{ "", "" },
	{ "user@x", "user@x" },
	{ "user", "user" },
	{ "a b@x", "\"a b\"@x" },
	{ "a b", "\"a b\"" },
	{ ".lead@x", "\".lead\"@x" },
	{ "trail.@x", "\"trail.\"@x" },
	{ "dou..ble@x", "\"dou..ble\"@x" },
	{ "first.last@x", "first.last@x" },
	{ "a\"b@x", "\"a\\\"b\"@x" },
	{ "a\\b@x", "\"a\\\\b\"@x" },
	{ "a@b@x", "\"a@b\"@x" },
	{ "a,b@x", "\"a,b\"@x" },
	{ "a(b)@x", "\"a(b)\"@x" },
	{ "a<b>@x", "\"a<b>\"@x" },
	{ "a:b;@x", "\"a:b;\"@x" },
	{ "a[b]@x", "\"a[b]\"@x" },
	{ "@x", "\"\"@x" },
	{ "tab\there@x", "\"tab\there\"@x" },
	{ "j\xc3\xb6rg@x", "j\xc3\xb6rg@x" },
	{ "a+b-c_d=e!f#g$h%i&j'k*l/m?n^o`p{q|r}s~t@x",
	    "a+b-c_d=e!f#g$h%i&j'k*l/m?n^o`p{q|r}s~t@x" },
	{ "MAILER-DAEMON", "MAILER-DAEMON" },
};

static void
test_externalize(struct test *t)
{
	struct str *out = str_new(16), *back = str_new(16);

	for (size_t i = 0; i < sizeof(ext_cases) / sizeof(ext_cases[0]); i++) {
		addr_externalize(out, ext_cases[i].in);
		TEST_STR(t, str_ptr(out), ext_cases[i].out);
		/* And back again. */
		addr_internalize(back, str_ptr(out));
		TEST_STR(t, str_ptr(back), ext_cases[i].in);
	}
	str_free(out);
	str_free(back);
}

static const struct {
	const char *in, *out;
} int_cases[] = {
	{ "", "" },
	{ "\"a b\"@x", "a b@x" },
	{ "\"a\\\\b\"@x", "a\\b@x" },
	{ "user@x (comment)", "user@x" },
	{ "\"joe\".\"smith\"@x", "joe.smith@x" },
	{ "\"open@x", "open@x" },
	{ "user@[10.0.0.1]", "user@[10.0.0.1]" },
	{ "\"\"@x", "@x" },
};

static void
test_internalize(struct test *t)
{
	struct str *out = str_new(16);

	for (size_t i = 0; i < sizeof(int_cases) / sizeof(int_cases[0]); i++) {
		addr_internalize(out, int_cases[i].in);
		TEST_STR(t, str_ptr(out), int_cases[i].out);
	}
	str_free(out);
}

static void
test_split(struct test *t)
{
	static const struct {
		const char *addr, *local, *domain;
	} cases[] = {
		{ "a@b", "a", "b" },
		{ "a@b@c", "a@b", "c" },
		{ "nodomain", "nodomain", "" },
		{ "", "", "" },
		{ "@d", "", "d" },
		{ "u@", "u", "" },
		{ "\"x@y\"", "\"x@y\"", "" },
		{ "\"x@y\"@z", "\"x@y\"", "z" },
	};
	char *local, *domain;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		addr_split(cases[i].addr, &local, &domain);
		TEST_STR(t, local, cases[i].local);
		TEST_STR(t, domain, cases[i].domain);
		free(local);
		free(domain);
	}
}

/* The map function of the header tests: append "@dom" when no '@'. */
static void
add_domain(struct str *addr, void *ctx)
{
	if (str_len(addr) > 0 && strchr(str_ptr(addr), '@') == NULL) {
		str_catc(addr, '@');
		str_cat(addr, ctx);
	}
}

static void
test_header_map(struct test *t)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "joe", "joe@dom" },
		{ "Joe <joe>", "Joe <joe@dom>" },
		{ "Joe  Doe   <joe>, x@y", "Joe  Doe   <joe@dom>, x@y" },
		{ "joe (Joe Doe)", "joe@dom (Joe Doe)" },
		{ "<>", "<>" },
		{ "friends: a, b@c;", "friends: a@dom, b@c;" },
		{ "undisclosed-recipients:;", "undisclosed-recipients:;" },
		{ "<@r:joe>", "<@r:joe@dom>" },
		{ "\"a b\"", "\"a b\"@dom" },
		{ "\"Doe, J\" <\"j d\">", "\"Doe, J\" <\"j d\"@dom>" },
		{ "Joe <joe", "Joe <joe@dom>" },
		{ "a,\n\tb", "a@dom,\n\tb@dom" },
		{ "", "" },
	};
	struct str *out = str_new(16);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		addr_header_map(out, cases[i].in, add_domain, (void *)"dom");
		TEST_STR(t, str_ptr(out), cases[i].out);
	}
	str_free(out);
}

/* Deep comment nesting is bounded and still closed at the end. */
static void
test_deep_nesting(struct test *t)
{
	struct str *s = str_new(1000);
	struct argv *a = argv_new();

	for (int i = 0; i < 5000; i++)
		str_catc(s, '(');
	str_cat(s, "x) a@b");
	TEST_INT(t, addr_parse_list(str_ptr(s), a), 0);
	str_reset(s);
	for (int i = 0; i < 50; i++)
		str_catc(s, '(');
	for (int i = 0; i < 50; i++)
		str_catc(s, ')');
	str_cat(s, " a@b");
	TEST_INT(t, addr_parse_list(str_ptr(s), a), 1);
	if (a->argc == 1)
		TEST_STR(t, a->argv[0], "a@b");
	argv_free(a);
	str_free(s);
}

static const struct test_case cases[] = {
	{ "parse_list", test_parse_list },
	{ "parse_append", test_parse_append },
	{ "externalize", test_externalize },
	{ "internalize", test_internalize },
	{ "split", test_split },
	{ "header_map", test_header_map },
	{ "deep_nesting", test_deep_nesting },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
