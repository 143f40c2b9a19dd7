/*
 * flush_clnt_test - the names that ETRN and postqueue may hand to the
 * fast flush service (Postfix 3.7's valid_hostname(), address literals,
 * mail_queue_id_ok()), and the client's no-connection DENY when
 * fast_flush_domains is empty.
 */
#include <string.h>

#include "lib/util/test.h"
#include "lib/mail/flush_clnt.h"
#include "lib/mail/params.h"

static void
test_site(struct test *t)
{
	static const struct {
		const char *site;
		bool ok;
	} cases[] = {
		{ "example.net", true },
		{ "Example.NET", true },
		{ "ex_ample.net", true },
		{ "_example.net", true },
		{ "1.2.3.4.example.net", true },
		{ "[1.2.3.4]", true },
		{ "[IPv6:::1]", true },
		{ "[ipv6:2001:db8::1]", true },
		{ "", false },
		{ "1.2.3.4", false },
		{ "-example.net", false },
		{ "example-.net", false },
		{ ".example.net", false },
		{ "example.net.", false },
		{ "foo..bar", false },
		{ "a/b", false },
		{ "exa mple", false },
		{ "[junk]", false },
		{ "[1.2.3.4", false },
		{ "[IPv6:1.2.3.4]", false },
	};
	char long_label[80], long_name[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		TEST_TRUE(t, flush_clnt_site_ok(cases[i].site) == cases[i].ok);
	memset(long_label, 'a', 64);
	long_label[64] = 0;
	TEST_TRUE(t, !flush_clnt_site_ok(long_label));
	long_label[63] = 0;
	TEST_TRUE(t, flush_clnt_site_ok(long_label));
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	for (size_t i = 50; i < sizeof(long_name) - 1; i += 50)
		long_name[i] = '.';
	TEST_TRUE(t, !flush_clnt_site_ok(long_name));
	long_name[255] = 0;
	TEST_TRUE(t, flush_clnt_site_ok(long_name));
}

static void
test_id(struct test *t)
{
	char id[300];

	TEST_TRUE(t, flush_clnt_id_ok("77CDBA84066"));
	TEST_TRUE(t, flush_clnt_id_ok("abc"));
	TEST_TRUE(t, flush_clnt_id_ok("77CDBA8406_"));
	TEST_TRUE(t, !flush_clnt_id_ok(""));
	TEST_TRUE(t, !flush_clnt_id_ok("junk/x"));
	TEST_TRUE(t, !flush_clnt_id_ok("../x"));
	memset(id, 'A', sizeof(id) - 1);
	id[sizeof(id) - 1] = 0;
	TEST_TRUE(t, !flush_clnt_id_ok(id));
	id[255] = 0;
	TEST_TRUE(t, flush_clnt_id_ok(id));
}

/* With no eligible destination nothing is asked (no socket here). */
static void
test_no_domains(struct test *t)
{
	char empty[] = "";

	var_fast_flush_domains = empty;
	TEST_INT(t, flush_clnt_add("example.net", "ABCDEF"), FLUSH_STAT_DENY);
	TEST_INT(t, flush_clnt_send_site("example.net"), FLUSH_STAT_DENY);
}

static const struct test_case cases[] = {
	{ "site", test_site },
	{ "id", test_id },
	{ "no_domains", test_no_domains },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
