/*
 * addr_map_test - canonical mapping, virtual alias expansion and
 * masquerading against inline:, texthash: and regexp: tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util/argv.h"
#include "lib/util/dict.h"
#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/addr_map.h"
#include "lib/mail/maps.h"
#include "lib/mail/params.h"

#define FOLD (DICT_FLAG_FOLD_FIX | DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL)

static char delim_plus[] = "+";
static char own_interfaces[] = "127.0.0.1";
static char empty[] = "";
static char origin[] = "origin.test";
static addr_map_local_fn *default_local;
static char prop_both[] = "canonical, virtual";

/* "local.test" is ours; nothing else is. */
static int
test_local(const char *domain)
{
	return strcasecmp(domain, "local.test") == 0;
}

/* append_at_myorigin: a bare name gets "@origin.test". */
static int
test_rewrite(const char *addr, struct str *out)
{
	str_set(out, addr);
	if (strchr(addr, '@') == NULL)
		str_cat(out, "@origin.test");
	return 0;
}

static void
setup(void)
{
	addr_map_local = test_local;
	addr_map_rewrite = test_rewrite;
	addr_map_queue_id = "4ABC";
	var_recipient_delimiter = delim_plus;
	var_propagate_unmatched_extensions = prop_both;
	var_virtual_alias_recursion_limit = 1000;
	var_virtual_alias_expansion_limit = 1000;
	var_virtual_alias_address_length_limit = 1000;
}

struct canon_case {
	const char *table; /* inline: body */
	const char *addr;
	const char *want;
	int want_rc;
	const char *propagate;
};

static const struct canon_case canon_cases[] = {
	/* user@domain first, then user (local domains only), then @domain. */
	{ "{a@x.test=full@y}, {a=user@y}, {@x.test=dom@y}", "a@x.test",
	    "full@y", 1, 0 },
	{ "{a=user@y}, {@x.test=dom@y}", "a@x.test", "dom@y", 1, 0 },
	{ "{a@local.test=full@y}, {a=user@y}, {@local.test=dom@y}",
	    "a@local.test", "full@y", 1, 0 },
	{ "{a=user@y}, {@local.test=dom@y}", "a@local.test", "user@y", 1, 0 },
	{ "{b=user@y}, {@local.test=dom@y}", "a@local.test", "dom@y", 1, 0 },
	{ "{b@x.test=z@y}", "a@x.test", "a@x.test", 0, 0 },
	/* Extensions: tried off, put back per propagate_unmatched_ext. */
	{ "{a+foo@x.test=ext@y}, {a@x.test=full@y}", "a+foo@x.test", "ext@y", 1,
	    0 },
	{ "{a@x.test=full@y}", "a+foo@x.test", "full+foo@y", 1, 0 },
	{ "{a@x.test=full@y}", "a+foo@x.test", "full@y", 1, "virtual" },
	{ "{a=user@y}", "a+foo@local.test", "user+foo@y", 1, 0 },
	{ "{a+foo=user@y}", "a+foo@local.test", "user@y", 1, 0 },
	/* @domain does not strip the extension; nothing to propagate. */
	{ "{@x.test=dom@y}", "a+foo@x.test", "dom@y", 1, 0 },
	/* "@other": the same user in the other domain. */
	{ "{@x.test=@other.test}", "a+foo@x.test", "a+foo@other.test", 1, 0 },
	{ "{a@x.test=@other.test}", "a+foo@x.test", "a+foo@other.test", 1, 0 },
	{ "{a@x.test=@other.test}", "a+foo@x.test", "a@other.test", 1, "" },
	/* Results are rewritten to canonical form. */
	{ "{a@x.test=joe}", "a@x.test", "joe@origin.test", 1, 0 },
	/* The result is mapped again until it maps to itself. */
	{ "{a@x.test=b@x.test}, {b@x.test=c@y}", "a@x.test", "c@y", 1, 0 },
	{ "{a@x.test=A@X.test}", "a@x.test", "A@X.test", 1, 0 },
	{ "{a@x.test=a@x.test}", "a@x.test", "a@x.test", 0, 0 },
	/* Multi-valued: the first address, with a warning. */
	{ "{a@x.test=b@y, c@y}", "a@x.test", "b@y", 1, 0 },
	{ 0 },
};

static void
test_canon(struct test *t)
{
	for (const struct canon_case *c = canon_cases; c->table; c++) {
		struct str *spec = str_new(100), *out = str_new(10);
		struct maps *maps;
		int rc;

		setup();
		if (c->propagate) {
			static char prop[64];

			snprintf(prop, sizeof(prop), "%s", c->propagate);
			var_propagate_unmatched_extensions = prop;
		}
		str_fmt(spec, "inline:{%s}", c->table);
		maps = maps_new("canonical_maps", str_ptr(spec), FOLD);
		rc = canon_lookup(maps, c->addr, out);
		if (rc != c->want_rc || strcmp(str_ptr(out), c->want) != 0)
			TEST_FAIL(t, "%s with %s: got %d %s, want %d %s",
			    c->addr, c->table, rc, str_ptr(out), c->want_rc,
			    c->want);
		maps_free(maps);
		str_free(spec);
		str_free(out);
	}
}

static void
test_canon_log(struct test *t)
{
	struct str *out = str_new(10);
	struct maps *maps;

	setup();
	test_log_reset();
	maps = maps_new("canonical_maps", "inline:{{a@x=b@y, c@y}}", FOLD);
	TEST_INT(t, canon_lookup(maps, "a@x", out), 1);
	TEST_STR(t, test_log_text(),
	    "warning: 4ABC: multi-valued canonical_maps entry for a@x\n");
	maps_free(maps);

	/* A loop ends after ADDR_MAP_CANON_DEPTH mappings with a warning. */
	test_log_reset();
	maps =
	    maps_new("canonical_maps", "inline:{{a@x=b@x}, {b@x=a@x}}", FOLD);
	TEST_INT(t, canon_lookup(maps, "a@x", out), 0);
	TEST_STR(t, str_ptr(out), "a@x");
	TEST_STR(t, test_log_text(),
	    "warning: 4ABC: unreasonable canonical_maps map nesting for a@x -- message not accepted, try again later\n");
	maps_free(maps);

	/* A table error: -1 and the address unchanged. */
	test_log_reset();
	maps = maps_new("canonical_maps",
	    "inline:{{a@x=b@x}}, hash:/nonexistent/table", FOLD);
	TEST_INT(t, canon_lookup(maps, "c@x", out), -1);
	TEST_STR(t, str_ptr(out), "c@x");
	/* The result b@x is looked up again, and fails. */
	TEST_INT(t, canon_lookup(maps, "a@x", out), -1);
	TEST_STR(t, str_ptr(out), "a@x");
	maps_free(maps);
	maps = maps_new("canonical_maps",
	    "inline:{{a@x=a@x}}, hash:/nonexistent/table", FOLD);
	TEST_INT(t, canon_lookup(maps, "a@x", out), 0);
	TEST_STR(t, str_ptr(out), "a@x");
	maps_free(maps);
	str_free(out);
}

/*
 * The built-in locality test: $myorigin and [address] of an interface in
 * inet_interfaces make "user" keys apply (mydestination is match_list's).
 */
static void
test_canon_local(struct test *t)
{
	static const struct {
		const char *addr, *want;
	} cases[] = {
		{ "a@origin.test", "b@y" },
		{ "a@ORIGIN.test.", "b@y" },
		{ "a@[127.0.0.1]", "b@y" },
		{ "a@[127.0.0.2]", "a@[127.0.0.2]" },
		{ "a@[IPv6:::1]", "a@[IPv6:::1]" },
		{ "a@[bogus]", "a@[bogus]" },
		{ "a@elsewhere.test", "a@elsewhere.test" },
		{ 0, 0 },
	};
	struct str *out = str_new(10);
	struct maps *maps;

	setup();
	addr_map_local = default_local;
	var_myorigin = origin;
	var_mydestination = empty;
	var_inet_interfaces = own_interfaces;
	var_proxy_interfaces = empty;
	maps = maps_new("canonical_maps", "inline:{{a=b@y}}", FOLD);
	for (int i = 0; cases[i].addr; i++) {
		int rc = canon_lookup(maps, cases[i].addr, out);

		TEST_STR(t, str_ptr(out), cases[i].want);
		TEST_INT(t, rc, strcmp(cases[i].addr, cases[i].want) != 0);
	}
	maps_free(maps);
	str_free(out);
}

struct virt_case {
	const char *table;
	const char *addr;
	const char *want; /* recipients joined with " " */
	int want_rc;
	const char *want_why;
	int recursion, expansion, length; /* limits, 0: default */
};

#define RETRY " -- message not accepted, try again later"

static const struct virt_case virt_cases[] = {
	{ "{a@x=b@y}", "c@x", "c@x", 0, 0, 0, 0, 0 },
	{ "{a@x=b@y}", "a@x", "b@y", 0, 0, 0, 0, 0 },
	{ "{a@x=b@y, c@y, d@y}", "a@x", "b@y c@y d@y", 0, 0, 0, 0, 0 },
	/* Recursive, in Postfix's order: first result in place. */
	{ "{a@x=b@x, c@x}, {b@x=d@x, e@x}", "a@x", "d@x c@x e@x", 0, 0, 0, 0,
	    0 },
	{ "{a@x=b@x}, {b@x=c@x}, {c@x=d@y}", "a@x", "d@y", 0, 0, 0, 0, 0 },
	/* An address that expands to itself is kept, not expanded again. */
	{ "{a@x=a@x, b@y}", "a@x", "a@x b@y", 0, 0, 0, 0, 0 },
	{ "{a@x=b@y, A@X}", "a@x", "b@y A@X", 0, 0, 0, 0, 0 },
	{ "{a@x=a@x, b@x}, {b@x=a@x, c@y}", "a@x", "a@x c@y", 0, 0, 0, 0, 0 },
	/* Duplicates are dropped, the first one kept. */
	{ "{a@x=b@y, c@x, b@y}, {c@x=B@Y, d@y}", "a@x", "b@y d@y", 0, 0, 0, 0,
	    0 },
	/* Extensions and the lookup order. */
	{ "{a@x=b@y}", "a+foo@x", "b+foo@y", 0, 0, 0, 0, 0 },
	{ "{a@x=b@y, c@y}", "a+foo@x", "b+foo@y c+foo@y", 0, 0, 0, 0, 0 },
	{ "{a=joe}", "a@local.test", "joe@origin.test", 0, 0, 0, 0, 0 },
	{ "{a=joe}", "a@remote.test", "a@remote.test", 0, 0, 0, 0, 0 },
	{ "{@x=catch@y}", "anyone@x", "catch@y", 0, 0, 0, 0, 0 },
	{ "{@x=@y}", "anyone@x", "anyone@y", 0, 0, 0, 0, 0 },
	/* A loop ends at the recursion limit. */
	{ "{a@x=b@x}, {b@x=a@x}", "a@x", "a@x", ADDR_MAP_LIMIT,
	    "unreasonable virtual_alias_maps map nesting for a@x" RETRY, 0, 0,
	    0 },
	{ "{a@x=b@x}, {b@x=c@x}, {c@x=d@x}", "a@x", "a@x", ADDR_MAP_LIMIT,
	    "unreasonable virtual_alias_maps map nesting for a@x" RETRY, 2, 0,
	    0 },
	/* Three mappings and the final miss take four rounds. */
	{ "{a@x=b@x}, {b@x=c@x}, {c@x=d@x}", "a@x", "a@x", ADDR_MAP_LIMIT,
	    "unreasonable virtual_alias_maps map nesting for a@x" RETRY, 3, 0,
	    0 },
	{ "{a@x=b@x}, {b@x=c@x}, {c@x=d@x}", "a@x", "d@x", 0, NULL, 4, 0, 0 },
	{ "{a@x=b@x}", "c@x", "c@x", 0, NULL, 1, 0, 0 },
	{ "{a@x=b@x}", "a@x", "a@x", ADDR_MAP_LIMIT,
	    "unreasonable virtual_alias_maps map nesting for a@x" RETRY, 1, 0,
	    0 },
	/* Too many results. */
	{ "{a@x=1@y, 2@y, 3@y, 4@y}", "a@x", "a@x", ADDR_MAP_LIMIT,
	    "unreasonable virtual_alias_maps map expansion size for a@x" RETRY,
	    0, 3, 0 },
	{ "{a@x=1@y, 2@y, 3@y}", "a@x", "1@y 2@y 3@y", 0, NULL, 0, 3, 0 },
	{ "{a@x=b@x, 2@y}, {b@x=c@x, 3@y}, {c@x=4@y, 5@y}", "a@x", "a@x",
	    ADDR_MAP_LIMIT,
	    "unreasonable virtual_alias_maps map expansion size for a@x" RETRY,
	    0, 3, 0 },
	/* Too long a result. */
	{ "{a@x=123456789@y}", "a@x", "a@x", ADDR_MAP_LIMIT,
	    "unreasonable virtual_alias_maps result 123456789@y..." RETRY, 0, 0,
	    10 },
	{ "{a@x=12345678@y}", "a@x", "12345678@y", 0, NULL, 0, 0, 10 },
	{ 0 },
};

static void
join(struct str *s, const struct argv *a)
{
	str_reset(s);
	for (size_t i = 0; i < a->argc; i++)
		str_catfmt(s, "%s%s", i ? " " : "", a->argv[i]);
}

static void
test_virtual(struct test *t)
{
	for (const struct virt_case *c = virt_cases; c->table; c++) {
		struct str *spec = str_new(100), *why = str_new(10);
		struct str *got = str_new(10);
		struct argv *out = argv_new();
		struct maps *maps;
		int rc;

		setup();
		if (c->recursion)
			var_virtual_alias_recursion_limit = c->recursion;
		if (c->expansion)
			var_virtual_alias_expansion_limit = c->expansion;
		if (c->length)
			var_virtual_alias_address_length_limit = c->length;
		str_fmt(spec, "inline:{%s}", c->table);
		maps = maps_new("virtual_alias_maps", str_ptr(spec), FOLD);
		rc = virtual_expand(maps, c->addr, out, why);
		join(got, out);
		if (rc != c->want_rc || strcmp(str_ptr(got), c->want) != 0)
			TEST_FAIL(t,
			    "%s with %s: got %d \"%s\", want %d \"%s\"",
			    c->addr, c->table, rc, str_ptr(got), c->want_rc,
			    c->want);
		if (c->want_why)
			TEST_STR(t, str_ptr(why), c->want_why);
		maps_free(maps);
		argv_free(out);
		str_free(spec);
		str_free(why);
		str_free(got);
	}
}

static char *
write_table(const char *text)
{
	char *path = strdup("/tmp/addr_map_testXXXXXX");
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror("mkstemp/write");
		exit(2);
	}
	close(fd);
	return path;
}

/* The default limits of 1000: a self-feeding alias and a wide list. */
static void
test_virtual_limits(struct test *t)
{
	struct str *spec = str_new(10000), *why = str_new(10);
	struct argv *out = argv_new();
	struct maps *maps;
	char *re;

	setup();
	maps = maps_new("virtual_alias_maps", "inline:{{a@x=b@x}, {b@x=a@x}}",
	    FOLD);
	TEST_INT(t, virtual_expand(maps, "a@x", out, why), ADDR_MAP_LIMIT);
	TEST_STR(t, str_ptr(why),
	    "unreasonable virtual_alias_maps map nesting for a@x" RETRY);
	TEST_INT(t, (int)out->argc, 1);
	TEST_STR(t, out->argv[0], "a@x");
	maps_free(maps);

	/* Each round doubles the localpart: the length limit stops it. */
	re = write_table("/^(.*)@grow$/ ${1}${1}@grow\n");
	str_fmt(spec, "regexp:%s", re);
	maps = maps_new("virtual_alias_maps", str_ptr(spec), FOLD);
	TEST_INT(t, virtual_expand(maps, "ab@grow", out, why), ADDR_MAP_LIMIT);
	str_set(spec, "unreasonable virtual_alias_maps result ");
	for (int i = 0; i < 150; i++)
		str_cat(spec, "ab");
	str_cat(spec, "..." RETRY);
	TEST_STR(t, str_ptr(why), str_ptr(spec));
	maps_free(maps);
	unlink(re);
	free(re);

	str_set(spec, "inline:{{big@x=");
	for (int i = 0; i < 1001; i++)
		str_catfmt(spec, "%su%d@y", i ? "," : "", i);
	str_cat(spec, "}}");
	maps = maps_new("virtual_alias_maps", str_ptr(spec), FOLD);
	TEST_INT(t, virtual_expand(maps, "big@x", out, why), ADDR_MAP_LIMIT);
	TEST_STR(t, str_ptr(why),
	    "unreasonable virtual_alias_maps map expansion size for big@x" RETRY);
	maps_free(maps);
	argv_free(out);
	str_free(spec);
	str_free(why);
}

/* texthash and regexp files; a table error defers. */
static void
test_virtual_files(struct test *t)
{
	char *hash = write_table("# aliases\n"
				 "sales@example.com  joe, ann@example.com\n"
				 "ann@example.com    ann@mail.example.com\n"
				 "@example.org       @example.com\n");
	char *re = write_table("/^(.*)@old\\.example$/ $1@example.com\n");
	struct str *spec = str_new(100), *why = str_new(10), *got = str_new(0);
	struct argv *out;
	struct maps *maps;

	setup();
	str_fmt(spec, "texthash:%s, regexp:%s", hash, re);
	maps = maps_new("virtual_alias_maps", str_ptr(spec), FOLD);
	out = argv_new();
	TEST_INT(t, virtual_expand(maps, "sales@example.com", out, why), 0);
	join(got, out);
	TEST_STR(t, str_ptr(got), "joe@origin.test ann@mail.example.com");
	argv_free(out);
	out = argv_new();
	TEST_INT(t, virtual_expand(maps, "sales@old.example", out, why), 0);
	join(got, out);
	TEST_STR(t, str_ptr(got), "joe@origin.test ann@mail.example.com");
	argv_free(out);
	out = argv_new();
	TEST_INT(t, virtual_expand(maps, "Sales@Example.ORG", out, why), 0);
	join(got, out);
	TEST_STR(t, str_ptr(got), "joe@origin.test ann@mail.example.com");
	argv_free(out);
	maps_free(maps);

	test_log_reset();
	str_fmt(spec, "texthash:%s, hash:/nonexistent/table", hash);
	maps = maps_new("virtual_alias_maps", str_ptr(spec), FOLD);
	out = argv_new();
	TEST_INT(t, virtual_expand(maps, "nobody@example.net", out, why),
	    ADDR_MAP_DEFER);
	TEST_STR(t, str_ptr(why),
	    "virtual_alias_maps map lookup problem for nobody@example.net" RETRY);
	join(got, out);
	TEST_STR(t, str_ptr(got), "nobody@example.net");
	argv_free(out);
	maps_free(maps);

	unlink(hash);
	unlink(re);
	free(hash);
	free(re);
	str_free(spec);
	str_free(why);
	str_free(got);
}

struct masq_case {
	const char *addr;
	const char *domains;
	const char *exceptions;
	const char *want;
};

static const struct masq_case masq_cases[] = {
	{ "u@any.thing.foo.example.com", "foo.example.com example.com", "",
	    "u@foo.example.com" },
	{ "u@any.thing.else.example.com", "foo.example.com example.com", "",
	    "u@example.com" },
	{ "u@any.thing.foo.example.com", "!foo.example.com example.com", "",
	    "u@any.thing.foo.example.com" },
	{ "u@foo.example.com", "!foo.example.com example.com", "",
	    "u@foo.example.com" },
	{ "u@any.thing.else.example.com", "!foo.example.com example.com", "",
	    "u@example.com" },
	{ "u@example.com", "example.com", "", "u@example.com" },
	{ "u@badexample.com", "example.com", "", "u@badexample.com" },
	{ "u@Host.EXAMPLE.com", "example.com", "", "u@example.com" },
	{ "u@host.example.com", "", "", "u@host.example.com" },
	{ "u", "example.com", "", "u" },
	{ "root@host.example.com", "example.com", "root, mailer-daemon",
	    "root@host.example.com" },
	{ "ROOT@host.example.com", "example.com", "root",
	    "ROOT@host.example.com" },
	{ "rooter@host.example.com", "example.com", "root",
	    "rooter@example.com" },
	{ 0 },
};

static void
test_masquerade(struct test *t)
{
	for (const struct masq_case *c = masq_cases; c->addr; c++) {
		struct argv *d = argv_split(c->domains, ", ");
		struct argv *e = argv_split(c->exceptions, ", ");
		struct str *a = str_new(10);
		bool changed;

		str_set(a, c->addr);
		changed = masquerade(a, d, e);
		TEST_STR(t, str_ptr(a), c->want);
		TEST_INT(t, changed, strcmp(c->addr, c->want) != 0);
		argv_free(d);
		argv_free(e);
		str_free(a);
	}
}

static const struct test_case cases[] = {
	{ "canon", test_canon },
	{ "canon_log", test_canon_log },
	{ "canon_local", test_canon_local },
	{ "virtual", test_virtual },
	{ "virtual_limits", test_virtual_limits },
	{ "virtual_files", test_virtual_files },
	{ "masquerade", test_masquerade },
	{ 0 },
};

int
main(void)
{
	default_local = addr_map_local;
	return test_main(__FILE__, cases);
}
