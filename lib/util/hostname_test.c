/*
 * hostname_test - valid_hostname() accepts and refuses what Postfix's does.
 */
#include <string.h>

#include "lib/util/hostname.h"
#include "lib/util/test.h"

static void
test_valid(struct test *t)
{
	char long_label[70], long_name[300];

	TEST_TRUE(t, valid_hostname("mail.example.com"));
	TEST_TRUE(t, valid_hostname("localhost"));
	TEST_TRUE(t, valid_hostname("a-b_c.example"));
	TEST_TRUE(t, valid_hostname("1.2.3.4a"));
	TEST_TRUE(t, !valid_hostname(""));
	TEST_TRUE(t, !valid_hostname("1.2.3.4"));
	TEST_TRUE(t, !valid_hostname("example.com."));
	TEST_TRUE(t, !valid_hostname(".example.com"));
	TEST_TRUE(t, !valid_hostname("a..b"));
	TEST_TRUE(t, !valid_hostname("-a.b"));
	TEST_TRUE(t, !valid_hostname("a-.b"));
	TEST_TRUE(t, !valid_hostname("a.b-"));
	TEST_TRUE(t, !valid_hostname("a b"));
	TEST_TRUE(t, !valid_hostname("a\xc3\xa9.b"));
	memset(long_label, 'a', 64);
	long_label[64] = 0;
	TEST_TRUE(t, !valid_hostname(long_label));
	long_label[63] = 0;
	TEST_TRUE(t, valid_hostname(long_label));
	memset(long_name, 'a', 256);
	for (int i = 50; i < 256; i += 50)
		long_name[i] = '.';
	long_name[256] = 0;
	TEST_TRUE(t, !valid_hostname(long_name));
	long_name[255] = 0;
	TEST_TRUE(t, valid_hostname(long_name));
}

static const struct test_case cases[] = {
	{ "valid", test_valid },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
