/*
 * dict_test - unit tests for dict_open dispatch, the generic wrappers and
 * the in-memory types (inline, static, fail, environ, internal, proxy).
 * Expected texts were observed with Debian's Postfix 3.7 "postmap -q".
 */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/dict.h"
#include "lib/util/str.h"
#include "lib/util/test.h"

/* One lookup: spec, key, want (NULL = not found), want error. */
struct lookup_case {
	const char *spec;
	const char *key;
	const char *want;
	int want_error;
};

static const struct lookup_case lookup_cases[] = {
	{ "static:x", "anything", "x", DICT_ERR_NONE },
	{ "static:{ a b }", "k", "a b", DICT_ERR_NONE },
	{ "static:{}", "k", "", DICT_ERR_NONE },
	{ "inline:{x=1, {y = a b}}", "y", "a b", DICT_ERR_NONE },
	{ "inline:{x=1, {y = a b}}", "x", "1", DICT_ERR_NONE },
	{ "inline:{x=1, {y = a b}}", "X", "1", DICT_ERR_NONE },
	{ "inline:{x=1, {y = a b}}", "z", NULL, DICT_ERR_NONE },
	{ "inline:{{a=b c}}", "a", "b c", DICT_ERR_NONE },
	{ "inline:{ {a = b } }", "a", "b", DICT_ERR_NONE },
	{ "inline:{A=1, a=2}", "a", "2", DICT_ERR_NONE },
	{ "inline:{a=}", "a", "", DICT_ERR_NONE },
	{ "fail:x", "a", NULL, DICT_ERR_RETRY },
	{ "environ:x", "DICT_TEST_VAR", "val", DICT_ERR_NONE },
	{ "environ:x", "no_such_dict_test_var", NULL, DICT_ERR_NONE },
	{ "environ:x", "dict_test_var", "val", DICT_ERR_NONE },
	{ "proxy:inline:{a=b}", "a", "b", DICT_ERR_NONE },
	{ "proxy:static:s", "a", "s", DICT_ERR_NONE },
	{ "internal:x", "a", NULL, DICT_ERR_NONE },
	{ "unionmap:{inline:{a=1},inline:{a=2}}", "A", "1,2", DICT_ERR_NONE },
	{ "unionmap:{inline:{a=1},inline:{b=2}}", "a", "1", DICT_ERR_NONE },
	{ "unionmap:{inline:{a=1},inline:{b=2}}", "c", NULL, DICT_ERR_NONE },
	{ "unionmap:{inline:{a=1}, fail:x}", "a", NULL, DICT_ERR_RETRY },
	{ "pipemap:{inline:{a=b},inline:{b=c}}", "A", "c", DICT_ERR_NONE },
	{ "pipemap:{inline:{a=b},inline:{b=c}}", "b", NULL, DICT_ERR_NONE },
	{ "pipemap:{inline:{a=b}}", "a", "b", DICT_ERR_NONE },
	{ "pipemap:{static:X, inline:{x=y}}", "q", "y", DICT_ERR_NONE },
	{ "pipemap:{inline:{a=b}, fail:x}", "a", NULL, DICT_ERR_RETRY },
	{ "randmap:{a}", "k", "a", DICT_ERR_NONE },
	{ "randmap:{{b c}}", "k", "b c", DICT_ERR_NONE },
	{ "unix:passwd.byname", "no-such-user-here", NULL, DICT_ERR_NONE },
	{ "unix:group.byname", "no-such-group-here", NULL, DICT_ERR_NONE },
	{ 0 },
};

static void
test_lookup(struct test *t)
{
	struct str *why = str_new(0);

	setenv("dict_test_var", "val", 1);
	for (const struct lookup_case *c = lookup_cases; c->spec; c++) {
		struct dict *d =
		    dict_open(c->spec, O_RDONLY, DICT_FLAGS_READ, why);
		const char *got;

		if (d == NULL) {
			TEST_FAIL(t, "%s: open: %s", c->spec, str_ptr(why));
			continue;
		}
		got = dict_get(d, c->key);
		if (!((got == NULL && c->want == NULL) ||
			(got && c->want && strcmp(got, c->want) == 0)))
			TEST_FAIL(t, "%s key %s: got \"%s\", want \"%s\"",
			    c->spec, c->key, got ? got : "(null)",
			    c->want ? c->want : "(null)");
		if (d->error != c->want_error)
			TEST_FAIL(t, "%s key %s: got error %d, want %d",
			    c->spec, c->key, d->error, c->want_error);
		dict_close(d);
	}
	str_free(why);
}

/* Specs dict_open must refuse, and the reason it gives. */
static const struct {
	const char *spec;
	const char *why;
} bad_cases[] = {
	{ "foo:bar", "unsupported dictionary type: foo" },
	{ "nocolon",
	    "open dictionary: expecting \"type:name\" form instead of \"nocolon\"" },
	{ "static:",
	    "open dictionary: expecting \"type:name\" form instead of \"static:\"" },
	{ ":x",
	    "open dictionary: expecting \"type:name\" form instead of \":x\"" },
	{ "inline:{}",
	    "bad syntax: \"inline:{}\"; need \"inline:{name=value...}\"" },
	{ "inline:{ }",
	    "bad syntax: \"inline:{ }\"; need \"inline:{name=value...}\"" },
	{ "inline:{a=b",
	    "bad syntax: \"inline:{a=b\"; need \"inline:{name=value...}\"" },
	{ "inline:a=b",
	    "bad syntax: \"inline:a=b\"; need \"inline:{name=value...}\"" },
	{ "inline:{a}",
	    "missing '=' after attribute name: \"inline:{a}\"; need \"inline:{name=value...}\"" },
	{ "inline:{ A = B C }",
	    "missing '=' after attribute name: \"inline:{ A = B C }\"; need \"inline:{name=value...}\"" },
	{ "static:{a", "bad static:name syntax: missing '}' in \"{a\"" },
	{ "proxy:foo:x", "unsupported dictionary type: foo" },
	{ "unionmap:{}",
	    "bad syntax: \"unionmap:{}\"; need \"unionmap:{type:name...}\"" },
	{ "pipemap:{}",
	    "bad syntax: \"pipemap:{}\"; need \"pipemap:{type:name...}\"" },
	{ "unionmap:inline:{a=1}",
	    "bad syntax: \"unionmap:inline:{a=1}\"; need \"unionmap:{type:name...}\"" },
	{ "unionmap:{inline:{a=1}",
	    "bad syntax: \"unionmap:{inline:{a=1}\"; need \"unionmap:{type:name...}\"" },
	{ "unionmap:{inline:{a=1},foo:x}", "unsupported dictionary type: foo" },
	{ "unix:foo", "unknown table: unix:foo" },
	{ "randmap:{}",
	    "bad syntax: \"randmap:{}\"; need \"randmap:{value...}\"" },
	{ "randmap:a",
	    "bad syntax: \"randmap:a\"; need \"randmap:{value...}\"" },
	{ "randmap:{a",
	    "bad syntax: \"randmap:{a\"; need \"randmap:{value...}\"" },
	{ 0 },
};

static void
test_bad_open(struct test *t)
{
	struct str *why = str_new(0);

	for (int i = 0; bad_cases[i].spec; i++) {
		struct dict *d = dict_open(bad_cases[i].spec, O_RDONLY,
		    DICT_FLAGS_READ, why);

		if (d != NULL) {
			TEST_FAIL(t, "%s: opened, want failure",
			    bad_cases[i].spec);
			dict_close(d);
			continue;
		}
		TEST_STR(t, str_ptr(why), bad_cases[i].why);
	}
	str_free(why);
}

static void
test_types(struct test *t)
{
	const char *const *types = dict_types();
	int n = 0;

	for (; types[n]; n++)
		if (n > 0 && strcmp(types[n - 1], types[n]) >= 0)
			TEST_FAIL(t, "not sorted: %s, %s", types[n - 1],
			    types[n]);
	TEST_TRUE(t, n >= 6);
}

static void
test_internal_update(struct test *t)
{
	struct str *why = str_new(0);
	struct dict *d = dict_open("internal:x", O_RDWR,
	    DICT_FLAG_FOLD_FIX | DICT_FLAG_DUP_WARN, why);
	const char *k, *v;
	int n = 0;

	TEST_INT(t, dict_put(d, "Key", "v1"), 0);
	TEST_INT(t, dict_put(d, "KEY", "v2"), 1);
	TEST_STR(t, dict_get(d, "key"), "v1");
	d->flags = (d->flags & ~DICT_FLAG_DUP_WARN) | DICT_FLAG_DUP_REPLACE;
	TEST_INT(t, dict_put(d, "key", "v3"), 0);
	TEST_STR(t, dict_get(d, "kEy"), "v3");
	TEST_INT(t, dict_put(d, "other", "o"), 0);
	for (int f = DICT_SEQ_FIRST; dict_seq(d, f, &k, &v) == 0;
	     f = DICT_SEQ_NEXT)
		n++;
	TEST_INT(t, n, 2);
	TEST_INT(t, dict_del(d, "KEY"), 0);
	TEST_INT(t, dict_del(d, "key"), 1);
	TEST_TRUE(t, dict_get(d, "key") == NULL);
	TEST_INT(t, d->error, DICT_ERR_NONE);
	TEST_TRUE(t, !dict_changed(d));
	dict_close(d);
	str_free(why);
}

static void
test_surrogate(struct test *t)
{
	struct dict *d = dict_surrogate("hash:/nonexistent",
	    "open database /nonexistent.db: No such file or directory");
	const char *k, *v;

	TEST_STR(t, test_log_text(),
	    "error: open database /nonexistent.db: No such file or directory\n");
	TEST_STR(t, d->type, "hash");
	TEST_STR(t, d->name, "/nonexistent");
	TEST_TRUE(t, dict_get(d, "a") == NULL);
	TEST_INT(t, d->error, DICT_ERR_RETRY);
	TEST_INT(t, dict_put(d, "a", "b"), -1);
	TEST_INT(t, d->error, DICT_ERR_RETRY);
	TEST_INT(t, dict_seq(d, DICT_SEQ_FIRST, &k, &v), -1);
	dict_close(d);
}

static void
test_readonly_update(struct test *t)
{
	struct str *why = str_new(0);
	struct dict *d = dict_open("static:x", O_RDONLY, 0, why);

	TEST_INT(t, dict_put(d, "a", "b"), -1);
	TEST_INT(t, d->error, DICT_ERR_CONFIG);
	TEST_INT(t, dict_del(d, "a"), -1);
	TEST_STR(t, dict_get(d, "a"), "x");
	TEST_INT(t, d->error, DICT_ERR_NONE);
	dict_close(d);
	str_free(why);
}

/* unix: the passwd and group lines, built like Postfix's. */
static void
test_unix(struct test *t)
{
	struct str *why = str_new(0), *want = str_new(0);
	struct dict *d =
	    dict_open("unix:passwd.byname", O_RDONLY, DICT_FLAGS_READ, why);
	struct passwd *pw = getpwnam("root");
	struct group *gr = getgrgid(0);

	TEST_TRUE(t, d != NULL && pw != NULL);
	if (d && pw) {
		str_fmt(want, "root:%s:0:0:%s:%s:%s", pw->pw_passwd,
		    pw->pw_gecos, pw->pw_dir, pw->pw_shell);
		TEST_STR(t, dict_get(d, "root"), str_ptr(want));
		TEST_STR(t, dict_get(d, "ROOT"), str_ptr(want));
	}
	dict_close(d);
	d = dict_open("unix:group.byname", O_RDONLY, DICT_FLAGS_READ, why);
	TEST_TRUE(t, d != NULL && gr != NULL);
	if (d && gr) {
		const char *got = dict_get(d, gr->gr_name);

		str_fmt(want, "%s:%s:0:", gr->gr_name, gr->gr_passwd);
		TEST_TRUE(t,
		    got && strncmp(got, str_ptr(want), str_len(want)) == 0);
	}
	dict_close(d);
	str_free(want);
	str_free(why);
}

static void
test_randmap(struct test *t)
{
	struct str *why = str_new(0);
	struct dict *d = dict_open("randmap:{a, b}", O_RDONLY, 0, why);
	int seen_a = 0, seen_b = 0;

	TEST_TRUE(t, d != NULL);
	for (int i = 0; d && i < 200; i++) {
		const char *v = dict_get(d, "k");

		seen_a += strcmp(v, "a") == 0;
		seen_b += strcmp(v, "b") == 0;
	}
	TEST_INT(t, seen_a + seen_b, 200);
	TEST_TRUE(t, seen_a > 0 && seen_b > 0);
	dict_close(d);
	str_free(why);
}

static const struct test_case cases[] = {
	{ "randmap", test_randmap },
	{ "unix", test_unix },
	{ "lookup", test_lookup },
	{ "bad_open", test_bad_open },
	{ "types", test_types },
	{ "internal_update", test_internal_update },
	{ "surrogate", test_surrogate },
	{ "readonly_update", test_readonly_update },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
