/*
 * tlsmgr_clnt_test - the "TIME:HEX" database entries that tlsmgr reads
 * back: every malformed entry (a corrupt database) is refused, never
 * guessed at.
 */
#include <string.h>

#include "lib/util/test.h"
#include "lib/mail/tlsmgr_clnt.h"

static void
test_entry(struct test *t)
{
	static const struct {
		const char *entry;
		int ret;
		long long when;
		size_t len;
	} cases[] = {
		{ "1796423986:0A0B", 0, 1796423986, 2 },
		{ "0:FF", 0, 0, 1 },
		{ "", -1, 0, 0 },
		{ "garbage", -1, 0, 0 },
		{ "123", -1, 0, 0 },
		{ "123:", -1, 0, 0 },
		{ "123:ABC", -1, 0, 0 },
		{ "123:XY", -1, 0, 0 },
		{ "-5:AB", -1, 0, 0 },
		{ "12a:AB", -1, 0, 0 },
		{ ":AB", -1, 0, 0 },
		{ "99999999999999999999999:AB", -1, 0, 0 },
	};
	struct str *out = str_new(0), *enc = str_new(0);
	time_t when;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		when = 0;
		TEST_INT(t, tlsmgr_entry_decode(cases[i].entry, &when, out),
		    cases[i].ret);
		if (cases[i].ret == 0) {
			TEST_TRUE(t, (long long)when == cases[i].when);
			TEST_INT(t, (int)str_len(out), (int)cases[i].len);
		}
	}
	tlsmgr_entry_encode(enc, 42, "\x01\x02", 2);
	TEST_STR(t, str_ptr(enc), "42:0102");
	/* Longer than a session may be: refused. */
	str_reset(enc);
	str_cat(enc, "1:");
	for (int i = 0; i <= TLSMGR_SESSION_MAX; i++)
		str_cat(enc, "AB");
	TEST_INT(t, tlsmgr_entry_decode(str_ptr(enc), &when, out), -1);
	str_free(out);
	str_free(enc);
}

static const struct test_case cases[] = {
	{ "entry", test_entry },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
