/*
 * maps_test - the search orders of access(5), virtual(5), canonical(5),
 * checked by taking keys away from an inline: table one at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/dict.h"
#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/maps.h"

#define FOLD (DICT_FLAG_FOLD_FIX | DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL)

/*
 * keys[i] maps to value "i"; maps built from keys[skip..] must answer
 * want ("-" for not found) and extension want_ext.
 */
struct order_case {
	const char *addr;
	int strategy;
	const char *delim;
	bool local;
	const char *keys[10];
	const char *want_ext[10]; /* extension when keys[i] answers */
};

static void
run_order(struct test *t, const struct order_case *c)
{
	int nkeys = 0;

	while (c->keys[nkeys])
		nkeys++;
	for (int skip = 0; skip <= nkeys; skip++) {
		struct str *spec = str_new(100), *want = str_new(10);
		struct maps *maps;
		const char *got;
		char *ext = NULL;

		str_set(spec, "inline:{");
		for (int i = skip; i < nkeys; i++)
			str_catfmt(spec, "{%s=%d}, ", c->keys[i], i);
		str_cat(spec, "{nothing.invalid=x}}");
		maps = maps_new("test_maps", str_ptr(spec), FOLD);
		got = maps_find_addr(maps, c->addr, c->strategy, c->delim,
		    c->local, &ext);
		if (skip < nkeys)
			str_fmt(want, "%d", skip);
		if (skip == nkeys
			? got != NULL
			: got == NULL || strcmp(got, str_ptr(want)) != 0)
			TEST_FAIL(t,
			    "%s without the first %d keys: got %s, want %s",
			    c->addr, skip, got ? got : "(not found)",
			    skip < nkeys ? str_ptr(want) : "(not found)");
		if (skip < nkeys)
			TEST_STR(t, ext, c->want_ext[skip]);
		TEST_INT(t, maps->error, DICT_ERR_NONE);
		free(ext);
		maps_free(maps);
		str_free(spec);
		str_free(want);
	}
}

static void
test_virtual_order(struct test *t)
{
	/* virtual(5)/canonical(5) with recipient_delimiter = + */
	static const struct order_case local = {
		"User+Ext@Example.COM",
		MAPS_FIND_DEFAULT,
		"+",
		true,
		{ "user+ext@example.com", "user@example.com", "user+ext",
		    "user", "@example.com" },
		{ NULL, "+Ext", NULL, "+Ext", NULL },
	};
	/* Not a local domain: no localpart-only keys. */
	static const struct order_case remote = {
		"user+ext@example.com",
		MAPS_FIND_DEFAULT,
		"+",
		false,
		{ "user+ext@example.com", "user@example.com", "@example.com" },
		{ NULL, "+ext", NULL },
	};
	/* No recipient_delimiter: no extension-less keys. */
	static const struct order_case nodelim = {
		"user+ext@example.com",
		MAPS_FIND_DEFAULT,
		"",
		true,
		{ "user+ext@example.com", "user+ext", "@example.com" },
		{ NULL, NULL, NULL },
	};
	/* Several delimiter characters (recipient_delimiter = +-). */
	static const struct order_case multi = {
		"a-b+c@example.com",
		MAPS_FIND_DEFAULT,
		"+-",
		true,
		{ "a-b+c@example.com", "a@example.com", "a-b+c", "a",
		    "@example.com" },
		{ NULL, "-b+c", NULL, "-b+c", NULL },
	};
	/* LOCALPART_AT_IF_LOCAL (smtpd local recipient checks). */
	static const struct order_case at_local = {
		"user+ext@example.com",
		MAPS_FIND_FULL | MAPS_FIND_NOEXT |
		    MAPS_FIND_LOCALPART_AT_IF_LOCAL | MAPS_FIND_AT_DOMAIN,
		"+",
		true,
		{ "user+ext@example.com", "user@example.com", "user+ext@",
		    "user@", "@example.com" },
		{ NULL, "+ext", NULL, "+ext", NULL },
	};

	run_order(t, &local);
	run_order(t, &remote);
	run_order(t, &nodelim);
	run_order(t, &multi);
	run_order(t, &at_local);
}

static void
test_access_order(struct test *t)
{
	/* access(5): parent_domain_matches_subdomains lists the map. */
	static const struct order_case pdms = {
		"user+foo@sub.example.com",
		MAPS_FIND_ACCESS | MAPS_FIND_PDMS,
		"+",
		false,
		{ "user+foo@sub.example.com", "user@sub.example.com",
		    "sub.example.com", "example.com", "com", "user+foo@",
		    "user@" },
		{ NULL, "+foo", NULL, NULL, NULL, NULL, "+foo" },
	};
	/* Not listed: .parent forms. */
	static const struct order_case pddmds = {
		"user@sub.example.com",
		MAPS_FIND_ACCESS | MAPS_FIND_PDDMDS,
		"+",
		false,
		{ "user@sub.example.com", "sub.example.com", ".example.com",
		    ".com", "user@" },
		{ NULL, NULL, NULL, NULL, NULL },
	};

	run_order(t, &pdms);
	run_order(t, &pddmds);
}

static void
test_access_order_negative(struct test *t)
{
	struct maps *maps;

	/* Without PDMS a parent domain does not match a subdomain. */
	maps = maps_new("t", "inline:{example.com=1}", FOLD);
	TEST_STR(t,
	    maps_find_addr(maps, "u@sub.example.com",
		MAPS_FIND_ACCESS | MAPS_FIND_PDDMDS, "", false, NULL),
	    NULL);
	TEST_STR(t,
	    maps_find_addr(maps, "u@sub.example.com",
		MAPS_FIND_ACCESS | MAPS_FIND_PDMS, "", false, NULL),
	    "1");
	/* With PDMS ".example.com" is not consulted. */
	maps = maps_free(maps);
	maps = maps_new("t", "inline:{.example.com=1}", FOLD);
	TEST_STR(t,
	    maps_find_addr(maps, "u@sub.example.com",
		MAPS_FIND_ACCESS | MAPS_FIND_PDMS, "", false, NULL),
	    NULL);
	/* "@domain" is not an access(5) key, "domain" not a virtual(5) one. */
	maps = maps_free(maps);
	maps = maps_new("t", "inline:{@example.com=1}", FOLD);
	TEST_STR(t,
	    maps_find_addr(maps, "u@example.com",
		MAPS_FIND_ACCESS | MAPS_FIND_PDMS, "", false, NULL),
	    NULL);
	maps = maps_free(maps);
	maps = maps_new("t", "inline:{example.com=1}", FOLD);
	TEST_STR(t,
	    maps_find_addr(maps, "u@example.com", MAPS_FIND_DEFAULT, "+", true,
		NULL),
	    NULL);
	/* No '@': only the full key. */
	TEST_STR(t,
	    maps_find_addr(maps, "example.com", MAPS_FIND_DEFAULT, "+", true,
		NULL),
	    "1");
	maps_free(maps);
}

static void
test_domain_order(struct test *t)
{
	struct maps *maps;

	maps = maps_new("t", "inline:{com=3, .example.com=2}", FOLD);
	TEST_STR(t, maps_find_domain(maps, "a.b.example.com", 0, false), "2");
	TEST_STR(t, maps_find_domain(maps, "a.b.example.com", 0, true), "3");
	TEST_STR(t, maps_find_domain(maps, "example.com", 0, false), NULL);
	TEST_STR(t, maps_find_domain(maps, "example.com", 0, true), "3");
	/* Numerical names are looked up whole only. */
	maps = maps_free(maps);
	maps = maps_new("t", "inline:{3.4=1, 4=2}", FOLD);
	TEST_STR(t, maps_find_domain(maps, "1.2.3.4", 0, true), NULL);
	maps_free(maps);
}

static void
test_hostaddr_order(struct test *t)
{
	static const char *const v4[] = { "1.2.3.4", "1.2.3", "1.2", "1" };
	static const char *const v6[] = { "2001:db8::1",
		"2001:db8:", "2001:db8", "2001" };
	struct str *spec = str_new(100);
	struct maps *maps;

	for (int skip = 0; skip < 4; skip++) {
		char want[2] = { (char)('0' + skip), 0 };

		str_set(spec, "inline:{");
		for (int i = skip; i < 4; i++)
			str_catfmt(spec, "{%s=%d}, ", v4[i], i);
		for (int i = skip; i < 4; i++)
			str_catfmt(spec, "{%s=%d}, ", v6[i], i);
		str_cat(spec, "}");
		maps = maps_new("t", str_ptr(spec), FOLD);
		TEST_STR(t, maps_find_hostaddr(maps, "1.2.3.4", 0), want);
		TEST_STR(t, maps_find_hostaddr(maps, "2001:DB8::1", 0), want);
		maps_free(maps);
	}
	maps = maps_new("t", "inline:{1.2.3.40=x, 2.3.4=y}", FOLD);
	TEST_STR(t, maps_find_hostaddr(maps, "1.2.3.4", 0), NULL);
	maps_free(maps);
	str_free(spec);
}

static void
test_split_ext(struct test *t)
{
	static const struct {
		const char *local, *delim, *bare, *ext;
	} cases[] = {
		{ "user+foo", "+", "user", "+foo" },
		{ "user+foo+bar", "+", "user", "+foo+bar" },
		{ "user", "+", NULL, NULL },
		{ "+foo", "+", NULL, NULL },
		{ "user+", "+", "user", "+" },
		{ "user-foo", "+", NULL, NULL },
		{ "user-foo", "+-", "user", "-foo" },
		{ "postmaster", "+", NULL, NULL },
		{ "MAILER-DAEMON", "-", NULL, NULL },
		{ "double-bounce", "-", NULL, NULL },
		{ "postmaster+x", "+", "postmaster", "+x" },
		{ "owner-list", "-", NULL, NULL },
		{ "owner-list", "+", NULL, NULL },
		{ "list-request", "-", NULL, NULL },
		{ "list-request", "+-", NULL, NULL },
		{ "owner+x", "+-", "owner", "+x" },
		{ "user+foo", "", NULL, NULL },
		{ "user+foo", NULL, NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *ext, *bare;

		bare = maps_split_ext(cases[i].local, cases[i].delim, &ext);
		TEST_STR(t, bare, cases[i].bare);
		TEST_STR(t, ext, cases[i].ext);
		free(bare);
		free(ext);
	}
}

static void
test_find(struct test *t)
{
	struct maps *maps;

	/* The first table that answers wins; tables are asked in order. */
	maps = maps_new("canonical_maps",
	    "inline:{a=1, b=2}, inline:{a=3, c=4}", FOLD);
	TEST_INT(t, maps->count, 2);
	TEST_STR(t, maps_find(maps, "a", 0), "1");
	TEST_STR(t, maps_find(maps, "c", 0), "4");
	TEST_STR(t, maps_find(maps, "A", 0), "1");
	TEST_STR(t, maps_find(maps, "d", 0), NULL);
	TEST_INT(t, maps->error, DICT_ERR_NONE);
	TEST_STR(t, maps_find(maps, "", 0), NULL);
	maps_free(maps);

	/* Whitespace as separator and { } groups. */
	maps = maps_new("t", "inline:{a=1}\tinline:{{b = x y}}", FOLD);
	TEST_INT(t, maps->count, 2);
	TEST_STR(t, maps_find(maps, "b", 0), "x y");
	maps_free(maps);
	TEST_TRUE(t, maps_free(NULL) == NULL);
}

static void
test_partial_skips_patterns(struct test *t)
{
	char path[] = "/tmp/maps_test.XXXXXX";
	struct str *spec = str_new(100);
	struct maps *maps;
	FILE *fp;
	int fd;

	if ((fd = mkstemp(path)) < 0 || (fp = fdopen(fd, "w")) == NULL) {
		TEST_FAIL(t, "mkstemp: %s", path);
		return;
	}
	fprintf(fp, "/^user@/ pattern\n/^@example\\.com$/ at-domain\n");
	fclose(fp);
	str_fmt(spec, "regexp:%s", path);
	maps = maps_new("t", str_ptr(spec), FOLD);
	/* Full keys reach the pattern table... */
	TEST_STR(t, maps_find(maps, "user@example.com", 0), "pattern");
	/* ...partial keys do not. */
	TEST_STR(t, maps_find(maps, "user@", DICT_FLAG_FIXED), NULL);
	TEST_STR(t,
	    maps_find_addr(maps, "x@example.com", MAPS_FIND_DEFAULT, "+", true,
		NULL),
	    NULL);
	TEST_STR(t,
	    maps_find_addr(maps, "user+x@example.com", MAPS_FIND_DEFAULT, "+",
		true, NULL),
	    NULL);
	maps_free(maps);
	unlink(path);
	str_free(spec);
}

static void
test_unavailable(struct test *t)
{
	struct maps *maps;

	/* A table that cannot be opened defers: lookups say "try again". */
	maps = maps_new("virtual_alias_maps",
	    "inline:{a=1}, hash:/nonexistent/postern/table", FOLD);
	TEST_TRUE(t, strstr(test_log_text(), "error: open database") != NULL);
	TEST_STR(t, maps_find(maps, "a", 0), "1");
	TEST_STR(t, maps_find(maps, "b", 0), NULL);
	TEST_INT(t, maps->error, DICT_ERR_RETRY);
	TEST_STR(t,
	    maps_find_addr(maps, "b@example.com", MAPS_FIND_DEFAULT, "+", true,
		NULL),
	    NULL);
	TEST_INT(t, maps->error, DICT_ERR_RETRY);
	maps_free(maps);
}

static const struct test_case cases[] = {
	{ "find", test_find },
	{ "virtual_order", test_virtual_order },
	{ "access_order", test_access_order },
	{ "access_order_negative", test_access_order_negative },
	{ "domain_order", test_domain_order },
	{ "hostaddr_order", test_hostaddr_order },
	{ "split_ext", test_split_ext },
	{ "partial_skips_patterns", test_partial_skips_patterns },
	{ "unavailable", test_unavailable },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
