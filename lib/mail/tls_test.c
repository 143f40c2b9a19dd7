/*
 * tls_test - the parsers shared by the SMTP server and client: protocol
 * lists in Postfix's syntaxes and cipher grades with exclusions.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/params.h"
#include "lib/mail/tls.h"

static void
test_protocols(struct test *t)
{
	static const struct {
		const char *spec;
		int rc, min, max;
		long off;
	} cases[] = {
		{ ">=TLSv1", 0, TLS1_VERSION, TLS1_3_VERSION, 0 },
		{ ">=TLSv1.2", 0, TLS1_2_VERSION, TLS1_3_VERSION,
		    SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 },
		{ "!SSLv2, !SSLv3", 0, TLS1_VERSION, TLS1_3_VERSION, 0 },
		{ "!SSLv2:!SSLv3:!TLSv1:!TLSv1.1", 0, TLS1_2_VERSION,
		    TLS1_3_VERSION, SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 },
		{ "TLSv1.2 TLSv1.3", 0, TLS1_2_VERSION, TLS1_3_VERSION,
		    SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 },
		{ "<=TLSv1.2", 0, TLS1_VERSION, TLS1_2_VERSION,
		    SSL_OP_NO_TLSv1_3 },
		{ ">=TLSv1.3", 0, TLS1_3_VERSION, TLS1_3_VERSION,
		    SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_TLSv1_2 },
		{ "tlsv1.2", 0, TLS1_2_VERSION, TLS1_2_VERSION,
		    SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_TLSv1_3 },
		{ "", 0, TLS1_VERSION, TLS1_3_VERSION, 0 },
		{ ">=TLSv9", -1, 0, 0, 0 },
		{ "!TLSv1.4", -1, 0, 0, 0 },
		{ "bogus", -1, 0, 0, 0 },
		{ "SSLv3", -1, 0, 0, 0 },
		{ ">=TLSv1.3 <=TLSv1.2", -1, 0, 0, 0 },
	};
	size_t i;
	int min, max, rc;
	long off;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		min = max = -1;
		off = -1;
		rc = tls_protocol_range(cases[i].spec, &min, &max, &off);
		TEST_INT(t, rc, cases[i].rc);
		if (rc < 0 || cases[i].rc < 0)
			continue;
		TEST_INT(t, min, cases[i].min);
		TEST_INT(t, max, cases[i].max);
		TEST_INT(t, off, cases[i].off);
	}
}

static void
test_ciphers(struct test *t)
{
	struct str *why = str_new(64);
	const char *none[] = { NULL };
	const char *excl[] = { "aNULL, MD5", "RC4:3DES", NULL };
	const char *bad[] = { "!RC4", NULL };
	char *list;
	static char medium[] = "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH";
	static char high[] = "aNULL:-aNULL:HIGH:@STRENGTH";

	var_tls_medium_cipherlist = medium;
	var_tls_high_cipherlist = high;
	list = tls_cipher_list("medium", none, why);
	TEST_STR(t, list, "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH");
	free(list);
	list = tls_cipher_list("HIGH", excl, why);
	TEST_STR(t, list, "aNULL:-aNULL:HIGH:@STRENGTH:!aNULL:!MD5:!RC4:!3DES");
	free(list);
	list = tls_cipher_list("bogus", none, why);
	TEST_TRUE(t, list == NULL);
	TEST_STR(t, str_ptr(why), "invalid cipher grade: \"bogus\"");
	list = tls_cipher_list("high", bad, why);
	TEST_TRUE(t, list == NULL);
	TEST_STR(t, str_ptr(why),
	    "invalid unary '!+-@' in cipher exclusion: !RC4");
	str_free(why);
}

static const struct test_case cases[] = {
	{ "protocols", test_protocols },
	{ "ciphers", test_ciphers },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
