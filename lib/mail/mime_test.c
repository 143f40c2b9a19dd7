/*
 * mime_test - the message structure parser: each case feeds lines and
 * compares the callbacks it saw with the sequence Postfix's cleanup
 * produces (observed with Debian's Postfix 3.7: header_checks,
 * mime_header_checks, nested_header_checks and body_checks WARN rules
 * show each line's class, postcat shows the inserted separator and the
 * cut headers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "lib/mail/mime.h"

/*
 * The transcript: "P:text" "M:text" "N:text" for headers by class, "E"
 * for header_end, "B:text" for a body line, "b:text" for a body piece
 * (REC_TYPE_CONT), "!bit:text" for an error; one per line.  In a header
 * text a newline shows as "|".
 */
static void
on_header(void *ctx, int class, const char *p, size_t n)
{
	struct str *out = ctx;

	str_catc(out, class == MIME_CLASS_PRIMARY     ? 'P'
		      : class == MIME_CLASS_MULTIPART ? 'M'
		      : class == MIME_CLASS_NESTED    ? 'N'
						      : '?');
	str_catc(out, ':');
	for (size_t i = 0; i < n; i++)
		str_catc(out, p[i] == '\n' ? '|' : p[i]);
	str_catc(out, '\n');
}

static void
on_header_end(void *ctx)
{
	str_cat(ctx, "E\n");
}

static void
on_body(void *ctx, int type, const char *p, size_t n)
{
	struct str *out = ctx;

	str_cat(out, type == REC_TYPE_NORM ? "B:" : "b:");
	str_catn(out, p, n);
	str_catc(out, '\n');
}

static void
on_error(void *ctx, int bit, const char *p, size_t n)
{
	struct str *out = ctx;

	str_catfmt(out, "!%d:", bit);
	for (size_t i = 0; i < n; i++)
		str_catc(out, p[i] == '\n' ? '|' : p[i]);
	str_catc(out, '\n');
}

static const struct mime_callbacks callbacks = {
	.header = on_header,
	.header_end = on_header_end,
	.body = on_body,
	.error = on_error,
};

/*
 * Feed input, one record per line; a '~' inside a line splits it into
 * REC_TYPE_CONT pieces.  Returns the mime_finish() bits.
 */
static int
feed(const char *input, int flags, struct str *out)
{
	struct mime *m = mime_new(&callbacks, out, flags);
	const char *cp = input;
	int errs;

	str_reset(out);
	while (*cp) {
		const char *nl = strchr(cp, '\n');
		size_t len = nl ? (size_t)(nl - cp) : strlen(cp);
		const char *piece = cp, *end = cp + len, *tilde;

		while ((tilde = memchr(piece, '~', (size_t)(end - piece)))) {
			mime_update(m, REC_TYPE_CONT, piece,
			    (size_t)(tilde - piece));
			piece = tilde + 1;
		}
		if (piece < end || nl || piece == cp)
			mime_update(m, REC_TYPE_NORM, piece,
			    (size_t)(end - piece));
		cp = nl ? nl + 1 : end;
	}
	errs = mime_finish(m);
	mime_free(m);
	return errs;
}

struct parse_case {
	const char *name;
	const char *input;
	int flags;
	const char *want;
	int errs;
};

static const struct parse_case parse_cases[] = {
	{ "simple", "Subject: hi\nFrom: a@b\n\nbody\n", 0,
	    "P:Subject: hi\nP:From: a@b\nE\nB:\nB:body\n", 0 },
	{ "folding", "Subject: one\n two\n\tthree\nTo: x\n\nb\n", 0,
	    "P:Subject: one| two|\tthree\nP:To: x\nE\nB:\nB:b\n", 0 },
	{ "name space colon", "Subject \t: x\nX-A:y\n\n", 0,
	    "P:Subject: x\nP:X-A:y\nE\nB:\n", 0 },
	{ "empty body", "Subject: x\n", 0, "P:Subject: x\nE\n", 0 },
	{ "blank line only after headers", "Subject: x\n\n", 0,
	    "P:Subject: x\nE\nB:\n", 0 },
	{ "no content", "", 0, "E\n", 0 },
	/* Postfix inserts the separator before the first non-header. */
	{ "no blank line", "Subject: x\nno header here\nX-After: y\n\nb\n", 0,
	    "P:Subject: x\nE\nB:\nB:no header here\nB:X-After: y\nB:\nB:b\n",
	    0 },
	{ "leading space first line", " leading\nSubject: x\n\nb\n", 0,
	    "E\nB:\nB: leading\nB:Subject: x\nB:\nB:b\n", 0 },
	{ "not a header: space in name", "Bad Name: x\n", 0,
	    "E\nB:\nB:Bad Name: x\n", 0 },
	{ "not a header: no colon", "From nobody\nSubject: x\n", 0,
	    "E\nB:\nB:From nobody\nB:Subject: x\n", 0 },
	{ "not a header: empty name", ": x\n", 0, "E\nB:\nB:: x\n", 0 },
	{ "8-bit in header value", "Subject: \xe9t\xe9\n  more\n\n", 0,
	    "!4:Subject: \xe9t\xe9|  more\nP:Subject: \xe9t\xe9|  more\nE\n"
	    "B:\n",
	    MIME_ERR_8BIT_IN_HEADER },
	{ "8-bit in name is not a header",
	    "Subj\xe9"
	    "ct: x\n",
	    0,
	    "E\nB:\nB:Subj\xe9"
	    "ct: x\n",
	    0 },
	/* Pieces of one long line. */
	{ "continued header record", "Subject: a~bc~d\n more\n\nbody~x\n", 0,
	    "P:Subject: abcd| more\nE\nB:\nb:body\nB:x\n", 0 },
	{ "open piece at the end of the headers", "Subject: a~bc~", 0,
	    "P:Subject: abc\nE\n", 0 },
	{ "open piece at the end of the body", "S: a\n\nbody~", 0,
	    "P:S: a\nE\nB:\nb:body\nB:\n", 0 },
	{ "multipart",
	    "Content-Type: multipart/mixed; boundary=\"BB\"\n"
	    "Subject: x\n\npreamble\n--BB\nContent-Type: text/plain\n"
	    "X-Part: p\n\nhello\n--BB--\nepilogue\n--BB\nX-No: 1\n",
	    0,
	    "P:Content-Type: multipart/mixed; boundary=\"BB\"\n"
	    "P:Subject: x\nE\nB:\nB:preamble\nB:--BB\n"
	    "M:Content-Type: text/plain\nM:X-Part: p\nB:\nB:hello\nB:--BB--\n"
	    "B:epilogue\nB:--BB\nB:X-No: 1\n",
	    0 },
	{ "unquoted boundary, comments, case",
	    "content-type: (c) MultiPart/Alternative (x) ;\n"
	    "\tcharset=x; BOUNDARY=abc(comment)\n\n--abc\nX-P: 1\n\n--abc--\n",
	    0,
	    "P:content-type: (c) MultiPart/Alternative (x) ;|\tcharset=x; "
	    "BOUNDARY=abc(comment)\nE\nB:\nB:--abc\nM:X-P: 1\nB:\nB:--abc--\n",
	    0 },
	{ "quoted boundary with escapes",
	    "Content-Type: multipart/mixed; boundary=\"a\\\"b c\"\n\n"
	    "--a\"b c\nX-P: 1\n",
	    0,
	    "P:Content-Type: multipart/mixed; boundary=\"a\\\"b c\"\nE\nB:\n"
	    "B:--a\"b c\nM:X-P: 1\n",
	    0 },
	{ "boundary trailing text ignored",
	    "Content-Type: multipart/mixed; boundary=B\n\n--Bxyz\nX-P: 1\n\n"
	    "--B--junk\nX-Q: 1\n",
	    0,
	    "P:Content-Type: multipart/mixed; boundary=B\nE\nB:\nB:--Bxyz\n"
	    "M:X-P: 1\nB:\nB:--B--junk\nB:X-Q: 1\n",
	    0 },
	{ "boundary only at the start of a line",
	    "Content-Type: multipart/mixed; boundary=B\n\nx~--B\nX-P: 1\n", 0,
	    "P:Content-Type: multipart/mixed; boundary=B\nE\nB:\nb:x\nB:--B\n"
	    "B:X-P: 1\n",
	    0 },
	{ "multipart without boundary",
	    "Content-Type: multipart/mixed\n\n--B\nX-P: 1\n", 0,
	    "P:Content-Type: multipart/mixed\nE\nB:\nB:--B\nB:X-P: 1\n", 0 },
	/* A non-header after a boundary: no separator in attachments. */
	{ "part without headers",
	    "Content-Type: multipart/mixed; boundary=B\n\n--B\npart text\n"
	    "X-P: 1\n",
	    0,
	    "P:Content-Type: multipart/mixed; boundary=B\nE\nB:\nB:--B\n"
	    "B:part text\nB:X-P: 1\n",
	    0 },
	{ "nested message",
	    "Content-Type: multipart/mixed; boundary=B\n\n--B\n"
	    "Content-Type: message/rfc822\n\nSubject: inner\nX-N: n\n"
	    "Content-Type: text/plain\n\ninner body\n--B--\n",
	    0,
	    "P:Content-Type: multipart/mixed; boundary=B\nE\nB:\nB:--B\n"
	    "M:Content-Type: message/rfc822\nB:\nN:Subject: inner\nN:X-N: n\n"
	    "N:Content-Type: text/plain\nB:\nB:inner body\nB:--B--\n",
	    0 },
	{ "primary message/rfc822 and message/global",
	    "Content-Type: message/rfc822\n\nX-1: a\n"
	    "Content-Type: message/global\n\nX-2: b\n\nbody\n",
	    0,
	    "P:Content-Type: message/rfc822\nE\nB:\nN:X-1: a\n"
	    "N:Content-Type: message/global\nB:\nN:X-2: b\nB:\nB:body\n",
	    0 },
	{ "message/partial is not parsed",
	    "Content-Type: message/partial; id=x\n\nX-1: a\n", 0,
	    "P:Content-Type: message/partial; id=x\nE\nB:\nB:X-1: a\n", 0 },
	{ "nested headers ended by text",
	    "Content-Type: message/rfc822\n\nX-1: a\ntext\nX-2: b\n", 0,
	    "P:Content-Type: message/rfc822\nE\nB:\nN:X-1: a\nB:text\n"
	    "B:X-2: b\n",
	    0 },
	{ "nested multipart inside nested message",
	    "Content-Type: message/rfc822\n\n"
	    "Content-Type: multipart/mixed; boundary=I\n\n--I\nX-P: 1\n",
	    0,
	    "P:Content-Type: message/rfc822\nE\nB:\n"
	    "N:Content-Type: multipart/mixed; boundary=I\nB:\nB:--I\nM:X-P: 1\n",
	    0 },
	{ "digest parts default to message/rfc822",
	    "Content-Type: multipart/digest; boundary=D\n\n--D\n\nX-In: 1\n\n"
	    "--D\nContent-Type: text/plain\n\nX-Text: 1\n",
	    0,
	    "P:Content-Type: multipart/digest; boundary=D\nE\nB:\nB:--D\nB:\n"
	    "N:X-In: 1\nB:\nB:--D\nM:Content-Type: text/plain\nB:\n"
	    "B:X-Text: 1\n",
	    0 },
	{ "outer boundary closes inner levels",
	    "Content-Type: multipart/mixed; boundary=O\n\n--O\n"
	    "Content-Type: multipart/alternative; boundary=I\n\n--I\nX-A: 1\n\n"
	    "--O\nX-B: 1\n\n--I\nX-C: 1\n",
	    0,
	    "P:Content-Type: multipart/mixed; boundary=O\nE\nB:\nB:--O\n"
	    "M:Content-Type: multipart/alternative; boundary=I\nB:\nB:--I\n"
	    "M:X-A: 1\nB:\nB:--O\nM:X-B: 1\nB:\nB:--I\nB:X-C: 1\n",
	    0 },
	{ "disabled: every header primary, body unparsed",
	    "Content-Type: multipart/mixed; boundary=B\n\n--B\nX-P: 1\n",
	    MIME_FLAG_DISABLE,
	    "P:Content-Type: multipart/mixed; boundary=B\nE\nB:\nB:--B\n"
	    "B:X-P: 1\n",
	    0 },
	{ "disabled: message/rfc822 unparsed",
	    "Content-Type: message/rfc822\n\nX-1: a\n", MIME_FLAG_DISABLE,
	    "P:Content-Type: message/rfc822\nE\nB:\nB:X-1: a\n", 0 },
	{ 0 },
};

static void
test_parse(struct test *t)
{
	struct str *out = str_new(100);

	var_header_size_limit = 102400;
	var_mime_nesting_limit = 100;
	var_mime_boundary_length_limit = 2048;
	for (const struct parse_case *c = parse_cases; c->name; c++) {
		int errs = feed(c->input, c->flags, out);

		if (strcmp(str_ptr(out), c->want) != 0)
			TEST_FAIL(t, "%s: got\n%s\nwant\n%s", c->name,
			    str_ptr(out), c->want);
		if (errs != c->errs)
			TEST_FAIL(t, "%s: errors %d, want %d", c->name, errs,
			    c->errs);
	}
	str_free(out);
}

/*
 * header_size_limit 40, as observed: a first line is cut at 40 bytes,
 * continuation lines are added while the header is shorter than 40 and
 * dropped after, a cut that would keep more than 90% stops at a line end.
 */
static const struct parse_case limit_cases[] = {
	{ "long first line",
	    "X-Any: 0123456789012345678901234567890123456789\n cont\n\n", 0,
	    "!1:X-Any: 0123456789012345678901234567890123456789\n"
	    "P:X-Any: 012345678901234567890123456789012\nE\nB:\n",
	    MIME_ERR_TRUNC_HEADER },
	{ "continuation up to the limit",
	    "X-Any2: 01234567890123456789\n 0123456789\n 0123456789\n"
	    " 0123456789\n\n",
	    0,
	    "!1:X-Any2: 01234567890123456789| 0123456789\n"
	    "P:X-Any2: 01234567890123456789| 0123456789\nE\nB:\n",
	    MIME_ERR_TRUNC_HEADER },
	{ "nice cut at a line end",
	    "X-A: 0123456789012345678901234567890123\n 0123456789\n\n", 0,
	    "!1:X-A: 0123456789012345678901234567890123| 0123456789\n"
	    "P:X-A: 0123456789012345678901234567890123\nE\nB:\n",
	    MIME_ERR_TRUNC_HEADER },
	{ "exactly the limit", "X-A: 01234567890123456789012345678901234\n\n",
	    0, "P:X-A: 01234567890123456789012345678901234\nE\nB:\n", 0 },
	{ "pieces dropped after the limit",
	    "X-A: 0123456789~0123456789012345678901234567890~x\n\n", 0,
	    "!1:X-A: 01234567890123456789012345678901234567890\n"
	    "P:X-A: 01234567890123456789012345678901234\nE\nB:\n",
	    MIME_ERR_TRUNC_HEADER },
	{ "error reported once",
	    "X-A: 0123456789012345678901234567890123456789\n"
	    "X-B: 0123456789012345678901234567890123456789\n",
	    0,
	    "!1:X-A: 0123456789012345678901234567890123456789\n"
	    "P:X-A: 01234567890123456789012345678901234\n"
	    "P:X-B: 01234567890123456789012345678901234\nE\n",
	    MIME_ERR_TRUNC_HEADER },
	{ 0 },
};

static void
test_limits(struct test *t)
{
	struct str *out = str_new(100);

	var_header_size_limit = 40;
	var_mime_nesting_limit = 100;
	var_mime_boundary_length_limit = 2048;
	for (const struct parse_case *c = limit_cases; c->name; c++) {
		int errs = feed(c->input, c->flags, out);

		if (strcmp(str_ptr(out), c->want) != 0)
			TEST_FAIL(t, "%s: got\n%s\nwant\n%s", c->name,
			    str_ptr(out), c->want);
		TEST_INT(t, errs, c->errs);
	}
	var_header_size_limit = 102400;
	str_free(out);
}

static void
test_header_cut(struct test *t)
{
	static const struct {
		const char *text;
		size_t limit;
		size_t want;
	} cases[] = {
		{ "short", 40, 5 },
		{ "0123456789", 10, 10 },
		{ "0123456789x", 10, 10 },
		{ "012345678\nabc", 10, 9 },   /* line 2 at 10 > 9: nice */
		{ "0123456789\nabc", 10, 10 }, /* first line fits */
		{ "0123\n56789abc", 10, 10 },  /* 5 > 9.0? no: unkind */
		{ "0123456789\nab\ncd", 15, 13 },
		{ "01234567\n9abcdefgh", 10, 10 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		TEST_INT(t,
		    mime_header_cut(cases[i].text, strlen(cases[i].text),
			cases[i].limit),
		    cases[i].want);
	/* The 90% rule: a line starting beyond 0.9 * limit is dropped. */
	TEST_INT(t, mime_header_cut("0123456789\nabcdefghij", 11, 11), 11);
	TEST_INT(t, mime_header_cut("0123456789\nabcdefghij", 21, 11), 10);
	TEST_INT(t, mime_header_cut("012345678\nabcdefghij", 20, 11), 9);
	TEST_INT(t, mime_header_cut("0123456\nabcdefghij", 18, 11), 11);
}

/* Postfix, mime_nesting_limit 3: five multipart levels parse, the sixth
 * is refused (reject: mime-error ... "boundary="B6""). */
static void
test_nesting(struct test *t)
{
	struct str *in = str_new(100), *out = str_new(100),
		   *want = str_new(100);
	int errs;

	var_header_size_limit = 102400;
	var_mime_nesting_limit = 3;
	var_mime_boundary_length_limit = 2048;
	for (int levels = 5; levels <= 6; levels++) {
		str_set(in, "Subject: x\n");
		for (int i = 1; i <= levels; i++)
			str_catfmt(in,
			    "Content-Type: multipart/mixed; boundary=\"B%d\"\n\n"
			    "--B%d\n",
			    i, i);
		str_cat(in, "X-Deep: 1\n");
		errs = feed(str_ptr(in), 0, out);
		if (levels == 5) {
			TEST_INT(t, errs, 0);
			TEST_TRUE(t, strstr(str_ptr(out), "M:X-Deep: 1\n"));
		} else {
			TEST_INT(t, errs, MIME_ERR_NESTING);
			str_set(want, "!2:Content-Type: multipart/mixed; "
				      "boundary=\"B6\"\nM:Content-Type: "
				      "multipart/mixed; boundary=\"B6\"\nB:\n"
				      "B:--B6\nB:X-Deep: 1\n");
			TEST_TRUE(t, strstr(str_ptr(out), str_ptr(want)));
		}
	}
	/* Attached messages do not count. */
	str_set(in, "Subject: x\n");
	for (int i = 1; i <= 10; i++)
		str_cat(in, "Content-Type: message/rfc822\n\n");
	str_cat(in, "X-Deep: 1\n");
	TEST_INT(t, feed(str_ptr(in), 0, out), 0);
	TEST_TRUE(t, strstr(str_ptr(out), "N:X-Deep: 1\n"));
	var_mime_nesting_limit = 100;
	str_free(in);
	str_free(out);
	str_free(want);
}

static void
test_boundary_limit(struct test *t)
{
	struct str *out = str_new(100);

	var_header_size_limit = 102400;
	var_mime_nesting_limit = 100;
	var_mime_boundary_length_limit = 3;
	/* Only "abc" is kept: "--abcXYZ" still matches, "--ab" does not. */
	TEST_INT(t,
	    feed("Content-Type: multipart/mixed; boundary=abcdef\n\n--ab\n"
		 "X-1: 1\n--abcXYZ\nX-2: 2\n",
		0, out),
	    0);
	TEST_STR(t, str_ptr(out),
	    "P:Content-Type: multipart/mixed; boundary=abcdef\nE\nB:\nB:--ab\n"
	    "B:X-1: 1\nB:--abcXYZ\nM:X-2: 2\n");
	var_mime_boundary_length_limit = 2048;
	str_free(out);
}

static void
test_null_callbacks(struct test *t)
{
	struct mime *m = mime_new(NULL, NULL, 0);

	var_header_size_limit = 102400;
	TEST_INT(t, mime_update(m, REC_TYPE_NORM, "Subject: x", 10), 0);
	TEST_INT(t, mime_update(m, REC_TYPE_NORM, "", 0), 0);
	TEST_INT(t, mime_update(m, REC_TYPE_NORM, "body", 4), 0);
	TEST_INT(t, mime_finish(m), 0);
	TEST_INT(t, mime_finish(m), 0);
	TEST_TRUE(t, mime_free(m) == NULL);
	TEST_TRUE(t, mime_free(NULL) == NULL);
}

static void
bad_type(void *ctx)
{
	struct mime *m = mime_new(NULL, NULL, 0);

	(void)ctx;
	mime_update(m, REC_TYPE_END, "", 0);
}

static void
test_bad_record(struct test *t)
{
	/* A panic (a caller's bug): the child dies, it does not return. */
	TEST_TRUE(t, strcmp(test_fatal(bad_type, NULL), "") != 0);
}

static void
test_header_name(struct test *t)
{
	size_t len = 0;

	TEST_STR(t, mime_header_name("Subject: x", &len), "Subject: x");
	TEST_INT(t, len, 7);
	TEST_STR(t, mime_header_name("X-A \t: x", &len), "X-A \t: x");
	TEST_INT(t, len, 3);
	TEST_STR(t, mime_header_name("X:", &len), "X:");
	TEST_INT(t, len, 1);
	TEST_TRUE(t, mime_header_name("no colon", &len) == NULL);
	TEST_TRUE(t, mime_header_name(" Lead: x", &len) == NULL);
	TEST_TRUE(t, mime_header_name("A B: x", &len) == NULL);
	TEST_TRUE(t, mime_header_name(": x", &len) == NULL);
	TEST_TRUE(t, mime_header_name("", &len) == NULL);
	TEST_TRUE(t, mime_header_name("\xe9: x", &len) == NULL);
	TEST_TRUE(t, mime_header_name("A\x01: x", &len) == NULL);
	TEST_TRUE(t, mime_header_is("subject : x", "Subject"));
	TEST_TRUE(t, mime_header_is("SUBJECT:x", "subject"));
	TEST_TRUE(t, !mime_header_is("Subjects: x", "Subject"));
	TEST_TRUE(t, !mime_header_is("Subj: x", "Subject"));
	TEST_TRUE(t, !mime_header_is("Subject x", "Subject"));
}

static void
test_header_opts(struct test *t)
{
	static const struct {
		const char *name;
		int want;
	} cases[] = {
		{ "From", MIME_HOPT_SENDER },
		{ "sender", MIME_HOPT_SENDER },
		{ "Reply-To", MIME_HOPT_SENDER },
		{ "Errors-To", MIME_HOPT_SENDER },
		{ "Return-Receipt-To", MIME_HOPT_SENDER },
		{ "Return-Path", MIME_HOPT_SENDER },
		{ "Disposition-Notification-To", MIME_HOPT_SENDER },
		{ "Mail-Followup-To", MIME_HOPT_SENDER },
		{ "To", MIME_HOPT_RECIPIENT },
		{ "CC", MIME_HOPT_RECIPIENT },
		{ "Bcc", MIME_HOPT_RECIPIENT },
		{ "Apparently-To", MIME_HOPT_RECIPIENT },
		{ "Resent-From", MIME_HOPT_RESENT | MIME_HOPT_SENDER },
		{ "Resent-Sender", MIME_HOPT_RESENT | MIME_HOPT_SENDER },
		{ "Resent-To", MIME_HOPT_RESENT | MIME_HOPT_RECIPIENT },
		{ "Resent-Cc", MIME_HOPT_RESENT | MIME_HOPT_RECIPIENT },
		{ "Resent-Bcc", MIME_HOPT_RESENT | MIME_HOPT_RECIPIENT },
		{ "Resent-Reply-To", MIME_HOPT_RESENT | MIME_HOPT_RECIPIENT },
		{ "Resent-Date", MIME_HOPT_RESENT },
		{ "Resent-Message-Id", MIME_HOPT_RESENT },
		{ "Content-Type", MIME_HOPT_MIME },
		{ "content-transfer-encoding", MIME_HOPT_MIME },
		{ "Content-Description", MIME_HOPT_MIME },
		{ "Content-Disposition", MIME_HOPT_MIME },
		{ "Content-ID", MIME_HOPT_MIME },
		{ "MIME-Version", MIME_HOPT_MIME },
		/* Observed: these go to header_checks, not mime_header_checks. */
		{ "Content-Length", 0 },
		{ "Content-Foo", 0 },
		{ "Subject", 0 },
		{ "Received", 0 },
		{ "Delivered-To", 0 },
		{ "Fro", 0 },
		{ "", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (mime_header_opts(cases[i].name, strlen(cases[i].name)) !=
		    cases[i].want)
			TEST_FAIL(t, "%s: got %d, want %d", cases[i].name,
			    mime_header_opts(cases[i].name,
				strlen(cases[i].name)),
			    cases[i].want);
	/* The length bounds the name: "From: x" with len 4. */
	TEST_INT(t, mime_header_opts("From: x", 4), MIME_HOPT_SENDER);
}

static void
test_error_text(struct test *t)
{
	TEST_STR(t, mime_error_text(MIME_ERR_NESTING),
	    "MIME nesting exceeds safety limit");
	TEST_STR(t, mime_error_text(MIME_ERR_TRUNC_HEADER),
	    "message header length exceeds safety limit");
	TEST_STR(t, mime_error_text(MIME_ERR_8BIT_IN_HEADER),
	    "improper use of 8-bit data in message header");
	TEST_STR(t, mime_error_text(MIME_ERR_8BIT_IN_HEADER | MIME_ERR_NESTING),
	    "MIME nesting exceeds safety limit");
	TEST_TRUE(t, mime_error_text(0) == NULL);
}

static const struct test_case cases[] = {
	{ "parse", test_parse },
	{ "limits", test_limits },
	{ "header_cut", test_header_cut },
	{ "nesting", test_nesting },
	{ "boundary_limit", test_boundary_limit },
	{ "null_callbacks", test_null_callbacks },
	{ "bad_record", test_bad_record },
	{ "header_name", test_header_name },
	{ "header_opts", test_header_opts },
	{ "error_text", test_error_text },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
