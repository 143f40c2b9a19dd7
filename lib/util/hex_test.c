/*
 * hex_test - hex coding both ways; malformed input is refused.
 */
#include <string.h>

#include "lib/util/hex.h"
#include "lib/util/test.h"

static void
test_round_trip(struct test *t)
{
	static const unsigned char bin[] = { 0x00, 0x01, 0xab, 0xff, 0x7f };
	struct str *hex = str_new(0), *back = str_new(0);

	hex_encode(hex, bin, sizeof(bin));
	TEST_STR(t, str_ptr(hex), "0001ABFF7F");
	TEST_INT(t, hex_decode(back, str_ptr(hex), str_len(hex)), 0);
	TEST_INT(t, (int)str_len(back), (int)sizeof(bin));
	TEST_TRUE(t, memcmp(str_ptr(back), bin, sizeof(bin)) == 0);
	TEST_INT(t, hex_decode(back, "abcd", 4), 0);
	TEST_INT(t, (int)str_len(back), 2);
	TEST_INT(t, hex_decode(back, "abc", 3), -1);
	TEST_INT(t, hex_decode(back, "zz", 2), -1);
	TEST_INT(t, hex_decode(back, "0 ", 2), -1);
	str_free(hex);
	str_free(back);
}

static void
test_digit(struct test *t)
{
	TEST_INT(t, hex_digit('0'), 0);
	TEST_INT(t, hex_digit('9'), 9);
	TEST_INT(t, hex_digit('a'), 10);
	TEST_INT(t, hex_digit('F'), 15);
	TEST_INT(t, hex_digit('g'), -1);
	TEST_INT(t, hex_digit('+'), -1);
	TEST_INT(t, hex_digit(-61), -1);
}

static const struct test_case cases[] = {
	{ "round_trip", test_round_trip },
	{ "digit", test_digit },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
