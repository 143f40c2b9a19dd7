/*
 * ehlo_mask_test - keyword lists and the log form, whose order and
 * spelling are Debian's Postfix 3.7 smtp's ("discarding EHLO keywords:
 * 8BITMIME AUTH ETRN PIPELINING SIZE VERP VRFY XCLIENT XFORWARD STARTTLS
 * ENHANCEDSTATUSCODES DSN EHLO_MASK_SMTPUTF8 CHUNKING" for all of them).
 */
#include <stdbool.h>

#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/ehlo_mask.h"

static void
test_parse_and_log(struct test *t)
{
	struct str *s = str_new(0);
	bool silent = false;
	int m;

	m = ehlo_mask_parse("xforward,xclient,vrfy,verp,starttls,smtputf8,"
			    "size,pipelining,etrn,enhancedstatuscodes,dsn,"
			    "chunking,auth,8bitmime",
	    &silent);
	ehlo_mask_str(m, s);
	TEST_STR(t, str_ptr(s),
	    "8BITMIME AUTH ETRN PIPELINING SIZE VERP VRFY XCLIENT XFORWARD "
	    "STARTTLS ENHANCEDSTATUSCODES DSN EHLO_MASK_SMTPUTF8 CHUNKING");
	TEST_TRUE(t, !silent);
	m = ehlo_mask_parse("size, DSN pipelining\t8bitmime silly", &silent);
	ehlo_mask_str(m, s);
	TEST_STR(t, str_ptr(s), "8BITMIME PIPELINING SIZE DSN");
	m = ehlo_mask_parse("silent-discard,size", &silent);
	TEST_TRUE(t, silent);
	TEST_INT(t, m, EHLO_MASK_SIZE);
	TEST_INT(t, ehlo_mask_parse("", &silent), 0);
	str_free(s);
}

static void
test_find(struct test *t)
{
	TEST_INT(t, ehlo_mask_find("SIZE 10240000"), EHLO_MASK_SIZE);
	TEST_INT(t, ehlo_mask_find("auth=LOGIN"), EHLO_MASK_AUTH);
	TEST_INT(t, ehlo_mask_find("SMTPUTF8"), EHLO_MASK_SMTPUTF8);
	TEST_INT(t, ehlo_mask_find("SIZES"), 0);
	TEST_INT(t, ehlo_mask_find("X-EXPS"), 0);
}

static const struct test_case cases[] = {
	{ "parse_and_log", test_parse_and_log },
	{ "find", test_find },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
