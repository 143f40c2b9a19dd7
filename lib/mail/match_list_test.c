/*
 * match_list_test - domain, string and host lists: exact and subdomain
 * patterns with and without parent_domain_matches_subdomains, negation,
 * tables, files, CIDR for IPv4 and IPv6, table errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/params.h"
#include "lib/mail/match_list.h"

static char tmpdir[] = "/tmp/match_list_test.XXXXXX";

struct dcase {
	const char *list; /* parameter name */
	const char *spec;
	const char *domain;
	int want;
};

static const struct dcase domain_cases[] = {
	/* mydestination is not parent-style: example.com is exact. */
	{ "mydestination", "example.com", "example.com", 1 },
	{ "mydestination", "example.com", "EXAMPLE.Com", 1 },
	{ "mydestination", "Example.COM", "example.com", 1 },
	{ "mydestination", "example.com", "sub.example.com", 0 },
	{ "mydestination", ".example.com", "sub.example.com", 1 },
	{ "mydestination", ".example.com", "a.b.example.com", 1 },
	{ "mydestination", ".example.com", "example.com", 0 },
	{ "mydestination", "example.com", "badexample.com", 0 },
	{ "mydestination", "a, b c,,d", "c", 1 },
	{ "mydestination", "a, b c,,d", "e", 0 },
	{ "mydestination", "", "anything", 0 },
	{ "mydestination", "example.com", "", 0 },
	/* relay_domains is: the parent matches its subdomains. */
	{ "relay_domains", "example.com", "sub.example.com", 1 },
	{ "relay_domains", "example.com", "a.b.example.com", 1 },
	{ "relay_domains", "example.com", "badexample.com", 0 },
	{ "relay_domains", ".example.com", "sub.example.com", 1 },
	/* Negation: the first match decides. */
	{ "relay_domains", "!bad.example.com, example.com", "bad.example.com",
	    0 },
	{ "relay_domains", "!bad.example.com, example.com", "ok.example.com",
	    1 },
	{ "relay_domains", "!!example.com", "example.com", 1 },
	{ "relay_domains", "example.com, !example.com", "example.com", 1 },
	/* Tables: the name, then parents by the list's rule. */
	{ "mydestination", "inline:{example.com=x}", "example.com", 1 },
	{ "mydestination", "inline:{example.com=x}", "EXAMPLE.COM", 1 },
	{ "mydestination", "inline:{example.com=x}", "sub.example.com", 0 },
	{ "mydestination", "inline:{.example.com=x}", "sub.example.com", 1 },
	{ "relay_domains", "inline:{example.com=x}", "sub.example.com", 1 },
	{ "relay_domains", "inline:{.example.com=x}", "sub.example.com", 0 },
	{ "mydestination", "static:all", "whatever.test", 1 },
	{ "mydestination", "!inline:{bad.test=x} static:all", "bad.test", 0 },
	{ "mydestination", "{inline:{a.test=1, b.test=2}}", "b.test", 1 },
};

static void
test_domain(struct test *t)
{
	var_parent_domain_matches_subdomains =
	    (char *)"debug_peer_list,fast_flush_domains,mynetworks,"
		    "relay_domains,smtpd_access_maps";
	for (size_t i = 0; i < sizeof(domain_cases) / sizeof(domain_cases[0]);
	     i++) {
		const struct dcase *c = &domain_cases[i];
		struct match_list *l = match_list_new(c->list, c->spec, 0);
		int got = match_list_domain(l, c->domain);

		if (got != c->want)
			TEST_FAIL(t, "%s = %s, %s: got %d, want %d", c->list,
			    c->spec, c->domain, got, c->want);
		match_list_free(l);
	}
}

static void
test_parent_flag(struct test *t)
{
	struct match_list *l;

	var_parent_domain_matches_subdomains = (char *)"";
	l = match_list_new("relay_domains", "example.com", 0);
	TEST_INT(t, match_list_domain(l, "sub.example.com"), 0);
	match_list_free(l);
	l = match_list_new("x", "example.com", MATCH_LIST_PARENT);
	TEST_INT(t, match_list_domain(l, "sub.example.com"), 1);
	match_list_free(l);
}

static void
test_string(struct test *t)
{
	struct match_list *l = match_list_new("authorized_submit_users",
	    "root, Joe, !bad, inline:{table=x}", 0);

	TEST_INT(t, match_list_string(l, "root"), 1);
	TEST_INT(t, match_list_string(l, "joe"), 1);
	TEST_INT(t, match_list_string(l, "JOE"), 1);
	TEST_INT(t, match_list_string(l, "bad"), 0);
	TEST_INT(t, match_list_string(l, "Table"), 1);
	TEST_INT(t, match_list_string(l, "other"), 0);
	match_list_free(l);
	l = match_list_new("authorized_submit_users", "static:anyone", 0);
	TEST_INT(t, match_list_string(l, "x"), 1);
	match_list_free(l);
	l = match_list_new("authorized_submit_users", "!nobody static:anyone",
	    0);
	TEST_INT(t, match_list_string(l, "nobody"), 0);
	TEST_INT(t, match_list_string(l, "somebody"), 1);
	match_list_free(l);
}

struct hcase {
	const char *spec, *name, *addr;
	int want;
};

static const struct hcase host_cases[] = {
	{ "127.0.0.0/8", "localhost", "127.0.0.1", 1 },
	{ "127.0.0.0/8", "x", "128.0.0.1", 0 },
	{ "10.1.2.3", "x", "10.1.2.3", 1 },
	{ "[10.1.2.3]", "x", "10.1.2.3", 1 },
	{ "10.1.2.3", "x", "10.1.2.4", 0 },
	{ "192.168.0.0/16", "x", "192.168.255.1", 1 },
	{ "192.168.0.0/17", "x", "192.168.128.1", 0 },
	{ "0.0.0.0/0", "x", "8.8.8.8", 1 },
	{ "[::1]", "x", "::1", 1 },
	{ "[::1]/128", "x", "::1", 1 },
	{ "[::1]", "x", "::2", 0 },
	{ "[2001:db8::]/32", "x", "2001:DB8:1::5", 1 },
	{ "[2001:db8::]/32", "x", "2001:db9::5", 0 },
	{ "[2001:db8::]/33", "x", "2001:db8:8000::1", 0 },
	{ "10.0.0.0/8", "x", "::ffff:10.9.9.9", 1 },
	{ "[::1]", "x", "127.0.0.1", 0 },
	{ "127.0.0.1", "x", "::1", 0 },
	{ "!10.0.0.5 10.0.0.0/8", "x", "10.0.0.5", 0 },
	{ "!10.0.0.5 10.0.0.0/8", "x", "10.0.0.6", 1 },
	/* Host name patterns in a mynetworks-style (parent) list. */
	{ "example.com", "mail.example.com", "1.2.3.4", 1 },
	{ ".example.com", "mail.example.com", "1.2.3.4", 1 },
	{ "example.com", "mail.example.org", "1.2.3.4", 0 },
	{ "example.com", NULL, "1.2.3.4", 0 },
	/* Tables see the name (and parents) and the address. */
	{ "inline:{1.2.3.4=ok}", "x", "1.2.3.4", 1 },
	{ "inline:{example.com=ok}", "a.example.com", "1.2.3.4", 1 },
	{ "inline:{example.com=ok}", "a.example.org", "1.2.3.5", 0 },
	{ "", "x", "1.2.3.4", 0 },
};

static void
test_hostaddr(struct test *t)
{
	var_parent_domain_matches_subdomains = (char *)"mynetworks";
	for (size_t i = 0; i < sizeof(host_cases) / sizeof(host_cases[0]);
	     i++) {
		const struct hcase *c = &host_cases[i];
		struct match_list *l = match_list_new("mynetworks", c->spec, 0);
		int got = match_list_hostaddr(l, c->name, c->addr);

		if (got != c->want)
			TEST_FAIL(t, "%s, %s[%s]: got %d, want %d", c->spec,
			    c->name ? c->name : "(null)", c->addr, got,
			    c->want);
		match_list_free(l);
	}
}

static void
make_list(void *ctx)
{
	match_list_free(match_list_new("mynetworks", ctx, 0));
}

static void
test_host_bits(struct test *t)
{
	TEST_STR(t, test_fatal(make_list, (void *)"10.1.2.3/8"),
	    "non-null host address bits in \"10.1.2.3/8\", perhaps you should "
	    "use \"10.0.0.0/8\" instead");
	TEST_STR(t, test_fatal(make_list, (void *)"[2001:db8::1]/64"),
	    "non-null host address bits in \"[2001:db8::1]/64\", perhaps you "
	    "should use \"[2001:db8::]/64\" instead");
	TEST_STR(t, test_fatal(make_list, (void *)"10.0.0.0/8"), "");
}

static void
test_file(struct test *t)
{
	struct str *path = str_new(64), *spec = str_new(64);
	struct match_list *l;
	FILE *fp;

	str_fmt(path, "%s/domains", tmpdir);
	fp = fopen(str_ptr(path), "w");
	fputs("# local domains\none.test two.test\n!bad.three.test\n"
	      "three.test, four.test # trailing\n",
	    fp);
	fclose(fp);
	str_fmt(spec, "first.test %s last.test", str_ptr(path));
	var_parent_domain_matches_subdomains = (char *)"relay_domains";
	l = match_list_new("relay_domains", str_ptr(spec), 0);
	TEST_INT(t, match_list_domain(l, "first.test"), 1);
	TEST_INT(t, match_list_domain(l, "two.test"), 1);
	TEST_INT(t, match_list_domain(l, "four.test"), 1);
	TEST_INT(t, match_list_domain(l, "last.test"), 1);
	TEST_INT(t, match_list_domain(l, "bad.three.test"), 0);
	TEST_INT(t, match_list_domain(l, "local"), 0);
	TEST_INT(t, match_list_domain(l, "trailing"), 0);
	match_list_free(l);
	unlink(str_ptr(path));
	str_free(path);
	str_free(spec);
}

/* A table or file that cannot be opened fails the lookup (defer). */
static void
test_errors(struct test *t)
{
	struct match_list *l;
	struct str *spec = str_new(64);

	test_log_reset();
	str_fmt(spec, "hash:%s/missing", tmpdir);
	l = match_list_new("mydestination", str_ptr(spec), 0);
	TEST_INT(t, match_list_domain(l, "x.test"), -1);
	TEST_INT(t, match_list_string(l, "x"), -1);
	TEST_INT(t, match_list_hostaddr(l, "x", "1.2.3.4"), -1);
	TEST_TRUE(t, strstr(test_log_text(), "warning: ") != NULL);
	match_list_free(l);
	/* An earlier match still decides before the broken table. */
	str_fmt(spec, "x.test hash:%s/missing", tmpdir);
	l = match_list_new("mydestination", str_ptr(spec), 0);
	TEST_INT(t, match_list_domain(l, "x.test"), 1);
	TEST_INT(t, match_list_domain(l, "y.test"), -1);
	match_list_free(l);
	str_fmt(spec, "%s/nofile", tmpdir);
	l = match_list_new("mydestination", str_ptr(spec), 0);
	TEST_INT(t, match_list_domain(l, "x.test"), -1);
	match_list_free(l);
	str_free(spec);
}

static const struct test_case cases[] = {
	{ "domain", test_domain },
	{ "parent_flag", test_parent_flag },
	{ "string", test_string },
	{ "hostaddr", test_hostaddr },
	{ "host_bits", test_host_bits },
	{ "file", test_file },
	{ "errors", test_errors },
	{ 0 },
};

int
main(void)
{
	int rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	rc = test_main(__FILE__, cases);
	rmdir(tmpdir);
	return rc;
}
