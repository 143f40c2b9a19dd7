/*
 * mime_down_test - the 8BITMIME downgrade against what Debian's Postfix
 * 3.7 sent to a server without 8BITMIME (each case's "want" is the
 * oracle's output with CRLF shown as "\n", without the headers cleanup
 * added, which pass unchanged).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "lib/mail/mime_down.h"

#define E "\xc3\xa9" /* an 8-bit character (UTF-8 e acute) */

static int fail_after = -1; /* out() fails from this call on */

static int
collect(void *ctx, int type, const char *p, size_t n)
{
	struct str *out = ctx;

	if (fail_after == 0)
		return -1;
	if (fail_after > 0)
		fail_after--;
	str_catn(out, p, n);
	if (type == REC_TYPE_NORM)
		str_catc(out, '\n');
	return 0;
}

/*
 * Feed text line by line; body lines (after the first empty line) in
 * pieces of at most piece bytes (REC_TYPE_CONT), as long lines are in a
 * queue file, where a piece is never shorter than a header name.
 */
static const char *
convert(struct str *out, const char *text, size_t piece)
{
	struct mime_down *d = mime_down_new(collect, out);
	const char *p = text;
	bool body = false;

	var_header_size_limit = 102400;
	var_mime_nesting_limit = 100;
	var_mime_boundary_length_limit = 2048;
	str_reset(out);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		while (body && piece > 0 && n > piece) {
			(void)mime_down_update(d, REC_TYPE_CONT, p, piece);
			p += piece;
			n -= piece;
		}
		(void)mime_down_update(d, REC_TYPE_NORM, p, n);
		body |= n == 0;
		p += n + (nl != NULL);
	}
	(void)mime_down_finish(d);
	mime_down_free(d);
	return str_ptr(out);
}

static const char text_in[] =
    "Subject: t2\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "X-Last: 1\n"
    "\n"
    "Caf" E " = tea\n"
    "trailing space \n"
    "trailing tab\t\n"
    ".dot line " E "\n"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" E
    "yyyyyyyyyyyyyyyyyyyy="
    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\n"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" E
    "\n"
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
    "\n"
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    " \n"
    "\tstarts with tab\n"
    "\x01"
    "ctl\x7f"
    "del\n"
    "From me\n"
    "\n"
    "last\n";

static const char text_want[] =
    "Subject: t2\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "X-Last: 1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Caf=C3=A9 =3D tea\n"
    "trailing space=20\n"
    "trailing tab=09\n"
    ".dot line =C3=A9\n"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=C3=\n"
    "=A9yyyyyyyyyyyyyyyyyyyy=3Dzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz=\n"
    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\n"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=C3=\n"
    "=A9\n"
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
    "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc=\n"
    "c\n"
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    "=20\n"
    "\tstarts with tab\n"
    "=01ctl=7Fdel\n"
    "From me\n"
    "\n"
    "last\n";

static void
test_text_plain(struct test *t)
{
	struct str *out = str_new(0);

	TEST_STR(t, convert(out, text_in, 0), text_want);
	/* Records split in pieces (long lines in the queue file). */
	TEST_STR(t, convert(out, text_in, 7), text_want);
	str_free(out);
}

static void
test_multipart(struct test *t)
{
	struct str *out = str_new(0);
	static const char in[] =
	    "Subject: t3\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"BB\"\n"
	    "\n"
	    "preamble " E "\n"
	    "--BB\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "part one " E "\n"
	    "\n"
	    "--BB\n"
	    "Content-Type: application/octet-stream\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n"
	    "AAECAwQ=\n"
	    "--BB\n"
	    "Content-Type: message/rfc822\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "Subject: inner \xe9\n"
	    "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "inner body " E "\n"
	    "--BB\n"
	    "Content-Type: text/html\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "Content-Disposition: inline\n"
	    "\n"
	    "<p>" E "</p>\n"
	    "--BB\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "no cte " E "\n"
	    "--BB\n"
	    "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: 7bit\n"
	    "\n"
	    "seven " E "\n"
	    "--BB--\n"
	    "epilogue " E "\n";
	static const char want[] =
	    "Subject: t3\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"BB\"\n"
	    "\n"
	    "preamble " E "\n"
	    "--BB\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "part one =C3=A9\n"
	    "\n"
	    "--BB\n"
	    "Content-Type: application/octet-stream\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n"
	    "AAECAwQ=\n"
	    "--BB\n"
	    "Content-Type: message/rfc822\n"
	    "Content-Transfer-Encoding: 7bit\n"
	    "\n"
	    "Subject: inner \xe9\n"
	    "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "inner body =C3=A9\n"
	    "--BB\n"
	    "Content-Type: text/html\n"
	    "Content-Disposition: inline\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "<p>=C3=A9</p>\n"
	    "--BB\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "no cte " E "\n"
	    "--BB\n"
	    "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: 7bit\n"
	    "\n"
	    "seven " E "\n"
	    "--BB--\n"
	    "epilogue " E "\n";

	TEST_STR(t, convert(out, in, 0), want);
	str_free(out);
}

static void
test_nested_multipart(struct test *t)
{
	struct str *out = str_new(0);
	static const char in[] =
	    "Subject: t9\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/alternative; boundary=XX\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "--XX\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "implicit text " E "\n"
	    "--XX\n"
	    "Content-Type: multipart/related; boundary=YY\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "--YY\n"
	    "Content-Type: image/png\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "png" E "\n"
	    "--YY--\n"
	    "--XX--\n";
	static const char want[] =
	    "Subject: t9\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/alternative; boundary=XX\n"
	    "Content-Transfer-Encoding: 7bit\n"
	    "\n"
	    "--XX\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "implicit text =C3=A9\n"
	    "--XX\n"
	    "Content-Type: multipart/related; boundary=YY\n"
	    "Content-Transfer-Encoding: 7bit\n"
	    "\n"
	    "--YY\n"
	    "Content-Type: image/png\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "png=C3=A9\n"
	    "--YY--\n"
	    "--XX--\n";

	TEST_STR(t, convert(out, in, 0), want);
	str_free(out);
}

/* Folded label with a comment, binary, message/rfc822 at the top. */
static void
test_labels(struct test *t)
{
	struct str *out = str_new(0);

	TEST_STR(t,
	    convert(out,
		"Subject: t5\n"
		"MIME-Version: 1.0\n"
		"Content-Transfer-Encoding:\n"
		" 8BIT (comment)\n"
		"Content-Type: text/plain\n"
		"X-After: 1\n"
		"\n"
		"body " E "\n",
		0),
	    "Subject: t5\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain\n"
	    "X-After: 1\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "body =C3=A9\n");
	TEST_STR(t,
	    convert(out,
		"Content-Type: text/plain\n"
		"Content-Transfer-Encoding: binary\n"
		"\n"
		"bin " E "\n",
		0),
	    "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "bin =C3=A9\n");
	/* Declared 8bit, all ASCII: converted all the same. */
	TEST_STR(t,
	    convert(out,
		"Content-Transfer-Encoding: 8bit\n"
		"\n"
		"ascii only = here\n",
		0),
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "ascii only =3D here\n");
	TEST_STR(t,
	    convert(out,
		"Subject: t11\n"
		"Content-Type: message/rfc822\n"
		"\n"
		"Subject: inner\n"
		"Content-Type: text/plain\n"
		"Content-Transfer-Encoding: 8bit\n"
		"\n"
		"in " E "\n",
		0),
	    "Subject: t11\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "Subject: inner\n"
	    "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "in =C3=A9\n");
	str_free(out);
}

/* Nothing labelled 8bit: every byte as it came, 8-bit body included. */
static void
test_unlabelled(struct test *t)
{
	struct str *out = str_new(0);
	static const char in[] = "Subject: caf\xe9\n"
				 "\n"
				 "Caf" E " line\n"
				 "x=y \n";

	TEST_STR(t, convert(out, in, 0), in);
	TEST_STR(t, convert(out, in, 3), in);
	/* Content ends inside the headers: the label still comes. */
	TEST_STR(t, convert(out, "Content-Transfer-Encoding: 8bit\n", 0),
	    "Content-Transfer-Encoding: quoted-printable\n");
	str_free(out);
}

static void
test_write_error(struct test *t)
{
	struct str *out = str_new(0);
	struct mime_down *d = mime_down_new(collect, out);

	fail_after = 1;
	TEST_INT(t, mime_down_update(d, REC_TYPE_NORM, "A: b", 4), 0);
	TEST_INT(t, mime_down_update(d, REC_TYPE_NORM, "C: d", 4), 0);
	TEST_INT(t, mime_down_update(d, REC_TYPE_NORM, "", 0), -1);
	TEST_INT(t, mime_down_finish(d), -1);
	TEST_STR(t, str_ptr(out), "A: b\n");
	fail_after = -1;
	mime_down_free(d);
	str_free(out);
}

static const struct test_case cases[] = {
	{ "text_plain", test_text_plain },
	{ "multipart", test_multipart },
	{ "nested_multipart", test_nested_multipart },
	{ "labels", test_labels },
	{ "unlabelled", test_unlabelled },
	{ "write_error", test_write_error },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
