/*
 * str_test - unit tests for str, argv, htable and lline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/argv.h"
#include "lib/util/htable.h"
#include "lib/util/lline.h"
#include "lib/util/str.h"
#include "lib/util/test.h"

static void
test_str_basic(struct test *t)
{
	struct str *s = str_new(0);

	str_set(s, "ab");
	str_cat(s, "cd");
	str_catc(s, 'e');
	TEST_STR(t, str_ptr(s), "abcde");
	TEST_INT(t, str_len(s), 5);
	str_catn(s, "\0x", 2);
	TEST_INT(t, str_len(s), 7);
	TEST_INT(t, str_ptr(s)[7], 0);
	str_fmt(s, "%d-%s", 42, "x");
	TEST_STR(t, str_ptr(s), "42-x");
	str_truncate(s, 1);
	TEST_STR(t, str_ptr(s), "4");
	str_set(s, "  MiXed \t");
	str_trim(s);
	str_lower(s);
	TEST_STR(t, str_ptr(s), "mixed");
	str_free(s);
}

static void
test_str_grow(struct test *t)
{
	struct str *s = str_new(1);

	for (int i = 0; i < 100000; i++)
		str_catfmt(s, "%d,", i % 10);
	TEST_INT(t, str_len(s), 200000);
	TEST_INT(t, strlen(str_ptr(s)), 200000);
	str_free(s);
}

static void
test_argv_split(struct test *t)
{
	struct argv *a = argv_split("  a,b c ,, d", ", ");

	TEST_INT(t, a->argc, 4);
	TEST_STR(t, a->argv[3], "d");
	TEST_TRUE(t, a->argv[4] == NULL);
	argv_free(a);
}

static void
test_argv_list(struct test *t)
{
	struct argv *a = argv_split_list("x, { y = a b } inline:{k=v, {k2 = v 2}},z");

	TEST_INT(t, a ? (long long)a->argc : -1, 4);
	if (a && a->argc == 4) {
		TEST_STR(t, a->argv[0], "x");
		TEST_STR(t, a->argv[1], "y = a b");
		TEST_STR(t, a->argv[2], "inline:{k=v, {k2 = v 2}}");
		TEST_STR(t, a->argv[3], "z");
	}
	argv_free(a);
	TEST_TRUE(t, argv_split_list("a, {b") == NULL);
	TEST_TRUE(t, argv_split_list("a}") == NULL);
}

static void
test_htable(struct test *t)
{
	struct htable *h = htable_new(0);
	struct htable_entry **list;
	char key[32];

	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		htable_enter(h, key, (void *)(long)(i + 1));
	}
	TEST_INT(t, htable_count(h), 1000);
	TEST_INT(t, (long)htable_find(h, "k999"), 1000);
	TEST_TRUE(t, htable_find(h, "nope") == NULL);
	TEST_INT(t, htable_delete(h, "k5", NULL), 0);
	TEST_INT(t, htable_delete(h, "k5", NULL), -1);
	list = htable_list(h);
	TEST_STR(t, list[0]->key, "k0");
	TEST_STR(t, list[5]->key, "k6");
	free(list);
	htable_free(h, NULL);
}

static void
test_lline(struct test *t)
{
	static const char text[] = "# comment\n\nname = a\n  b\n# inner\n\tc\nnext = d\n";
	FILE *fp = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct lline l;
	struct str *buf = str_new(0);

	lline_open(&l, fp, "test.cf", 1000);
	TEST_INT(t, lline_read(&l, buf), 1);
	TEST_STR(t, str_ptr(buf), "name = a  b\tc");
	TEST_INT(t, l.lineno, 3);
	TEST_INT(t, lline_read(&l, buf), 1);
	TEST_STR(t, str_ptr(buf), "next = d");
	TEST_INT(t, l.lineno, 7);
	TEST_INT(t, lline_read(&l, buf), 0);
	lline_close(&l);
	fclose(fp);
	str_free(buf);
}

static void
test_lline_toolong(struct test *t)
{
	size_t n = 1 << 20;
	char *big = malloc(n + 20);
	FILE *fp;
	struct lline l;
	struct str *buf = str_new(0);

	memset(big, 'x', n);
	memcpy(big + n, "\nok = 1\n", 9);
	fp = fmemopen(big, n + 8, "r");
	lline_open(&l, fp, "big.cf", 4096);
	TEST_INT(t, lline_read(&l, buf), -1);
	TEST_STR(t, str_ptr(l.why), "big.cf, line 1: line too long (more than 4096 bytes)");
	TEST_INT(t, lline_read(&l, buf), 1);
	TEST_STR(t, str_ptr(buf), "ok = 1");
	lline_close(&l);
	fclose(fp);
	free(big);
	str_free(buf);
}

static const struct test_case cases[] = {
	{ "str_basic", test_str_basic },
	{ "str_grow", test_str_grow },
	{ "argv_split", test_argv_split },
	{ "argv_list", test_argv_list },
	{ "htable", test_htable },
	{ "lline", test_lline },
	{ "lline_toolong", test_lline_toolong },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
