/*
 * hbc_test - header/body check answers and table selection.  The warning
 * texts and the table each header class goes to were observed with
 * Debian's Postfix 3.7 cleanup (one WARN rule per table).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/mime.h"
#include "lib/mail/hbc.h"

static char tmpdir[] = "/tmp/hbc_test.XXXXXX";

struct parse_case {
	const char *map; /* res.map_name before the call */
	const char *value;
	enum hbc_action want;
	const char *text;
};

static const struct parse_case parse_cases[] = {
	{ NULL, "REJECT", HBC_REJECT, "" },
	{ NULL, "reject 5.7.1 go away", HBC_REJECT, "5.7.1 go away" },
	{ NULL, "Reject\t \tspaced  ", HBC_REJECT, "spaced  " },
	{ NULL, "DISCARD", HBC_DISCARD, "" },
	{ NULL, "discard why", HBC_DISCARD, "why" },
	{ NULL, "HOLD", HBC_HOLD, "" },
	{ NULL, "hold look", HBC_HOLD, "look" },
	{ NULL, "WARN", HBC_WARN, "" },
	{ NULL, "warn hello there", HBC_WARN, "hello there" },
	{ NULL, "INFO x", HBC_INFO, "x" },
	{ NULL, "PASS", HBC_PASS, "" },
	{ NULL, "strip gone", HBC_STRIP, "gone" },
	{ NULL, "IGNORE", HBC_IGNORE, "" },
	{ NULL, "ignore foo", HBC_IGNORE, "foo" },
	{ NULL, "DUNNO", HBC_DUNNO, "" },
	{ NULL, "dunno foo", HBC_DUNNO, "foo" },
	{ NULL, "OK", HBC_DUNNO, "" },
	{ NULL, "ok whatever", HBC_DUNNO, "whatever" },
	{ NULL, "REPLACE X-New: v", HBC_REPLACE, "X-New: v" },
	{ NULL, "prepend X-Pre: v", HBC_PREPEND, "X-Pre: v" },
	{ NULL, "REDIRECT u@example.com", HBC_REDIRECT, "u@example.com" },
	{ NULL, "REDIRECT @x", HBC_REDIRECT, "@x" },
	{ NULL, "bcc b@example.com", HBC_BCC, "b@example.com" },
	{ NULL, "FILTER smtp:[127.0.0.1]:10025", HBC_FILTER,
	    "smtp:[127.0.0.1]:10025" },
	{ NULL, "filter :", HBC_FILTER, ":" },
	/* The warnings Postfix logs, word for word. */
	{ NULL, "FOO", HBC_BAD, "unknown command in header_checks map: FOO" },
	{ NULL, "FOO bar baz", HBC_BAD,
	    "unknown command in header_checks map: FOO bar baz" },
	{ NULL, "REJECTED", HBC_BAD,
	    "unknown command in header_checks map: REJECTED" },
	{ NULL, "", HBC_BAD, "unknown command in header_checks map: " },
	{ NULL, "PREPEND", HBC_BAD,
	    "PREPEND action without text in header_checks map" },
	{ NULL, "PREPEND notaheader", HBC_BAD,
	    "bad PREPEND header text \"notaheader\" in header_checks map -- need \"headername: headervalue\"" },
	{ NULL, "REPLACE", HBC_BAD,
	    "REPLACE action without text in header_checks map" },
	{ NULL, "replace nohdr", HBC_BAD,
	    "bad REPLACE header text \"nohdr\" in header_checks map -- need \"headername: headervalue\"" },
	{ NULL, "REDIRECT", HBC_BAD,
	    "bad REDIRECT target \"\" in header_checks map -- need user@domain" },
	{ NULL, "REDIRECT nouser", HBC_BAD,
	    "bad REDIRECT target \"nouser\" in header_checks map -- need user@domain" },
	{ NULL, "BCC", HBC_BAD,
	    "bad BCC address \"\" in header_checks map -- need user@domain" },
	{ NULL, "FILTER", HBC_BAD,
	    "missing FILTER command argument in header_checks map" },
	{ NULL, "FILTER nocolon", HBC_BAD,
	    "bad FILTER command nocolon in header_checks -- need transport:destination" },
	{ "mime_header_checks", "FOO", HBC_BAD,
	    "unknown command in mime_header_checks map: FOO" },
	{ "nested_header_checks", "PREPEND nohdr", HBC_BAD,
	    "bad PREPEND header text \"nohdr\" in nested_header_checks map -- need \"headername: headervalue\"" },
	/* In body_checks, PREPEND/REPLACE text is a body line. */
	{ "body_checks", "PREPEND not a header", HBC_PREPEND, "not a header" },
	{ "body_checks", "REPLACE x", HBC_REPLACE, "x" },
	{ "body_checks", "REPLACE", HBC_BAD,
	    "REPLACE action without text in body_checks map" },
	{ "body_checks", "BCC y", HBC_BAD,
	    "bad BCC address \"y\" in body_checks map -- need user@domain" },
	{ "body_checks", "FILTER z", HBC_BAD,
	    "bad FILTER command z in body_checks -- need transport:destination" },
	{ 0 },
};

static void
test_parse(struct test *t)
{
	struct hbc_result res = { 0 };

	for (const struct parse_case *c = parse_cases; c->value; c++) {
		enum hbc_action got;

		res.map_name = c->map;
		got = hbc_parse(c->value, &res);
		if (got != c->want || res.action != c->want)
			TEST_FAIL(t, "\"%s\": got %d, want %d", c->value, got,
			    c->want);
		TEST_STR(t, str_ptr(res.text), c->text);
	}
	str_free(res.text);
}

static const char *
write_table(const char *name, const char *text)
{
	static char path[4][300];
	static int n;
	char *p = path[n++ % 4];
	FILE *fp;

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	if ((fp = fopen(p, "w")) == NULL) {
		perror(p);
		exit(2);
	}
	fputs(text, fp);
	fclose(fp);
	return p;
}

/* Which table answers, as observed: every table says its own name. */
static void
test_tables(struct test *t)
{
	struct str *h = str_new(100), *m = str_new(100), *n = str_new(100),
		   *b = str_new(100);
	struct hbc_result res = { 0 };
	struct hbc *hbc;
	static const struct {
		int class;
		const char *header;
		const char *map;
		const char *text;
	} cases[] = {
		{ MIME_CLASS_PRIMARY, "Subject: x", "header_checks", "hc" },
		{ MIME_CLASS_PRIMARY, "From: a@b", "header_checks", "hc" },
		{ MIME_CLASS_PRIMARY, "Content-Foo: bar", "header_checks",
		    "hc" },
		{ MIME_CLASS_PRIMARY, "Content-Length: 12", "header_checks",
		    "hc" },
		{ MIME_CLASS_PRIMARY, "Content-ID: <x>", "mime_header_checks",
		    "mhc" },
		{ MIME_CLASS_PRIMARY, "MIME-Version: 1.0", "mime_header_checks",
		    "mhc" },
		{ MIME_CLASS_PRIMARY, "content-type: text/plain",
		    "mime_header_checks", "mhc" },
		{ MIME_CLASS_MULTIPART, "Content-Type: text/plain",
		    "mime_header_checks", "mhc" },
		{ MIME_CLASS_MULTIPART, "X-Part: p", "mime_header_checks",
		    "mhc" },
		{ MIME_CLASS_NESTED, "Subject: nested", "nested_header_checks",
		    "nhc" },
		{ MIME_CLASS_NESTED, "Content-Type: text/plain",
		    "mime_header_checks", "mhc" },
	};

	str_fmt(h, "pcre:%s",
	    write_table("hc", "/^Subject: multi\\nline$/ REJECT two\n"
			      "/^/ WARN hc\n"));
	str_fmt(m, "regexp:%s", write_table("mhc", "/^/ WARN mhc\n"));
	str_fmt(n, "regexp:%s", write_table("nhc", "/^/ WARN nhc\n"));
	str_fmt(b, "pcre:%s",
	    write_table("bc", "/^bodyfoo/ FOO\n/^body/ HOLD b\n"));
	hbc = hbc_new(str_ptr(h), str_ptr(m), str_ptr(n), str_ptr(b));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TEST_INT(t,
		    hbc_header(hbc, cases[i].class, cases[i].header, &res),
		    HBC_WARN);
		TEST_STR(t, res.map_name, cases[i].map);
		TEST_STR(t, str_ptr(res.text), cases[i].text);
	}
	/* The whole logical header is the key, newlines included. */
	TEST_INT(t,
	    hbc_header(hbc, MIME_CLASS_PRIMARY, "Subject: multi\nline", &res),
	    HBC_REJECT);
	TEST_STR(t, str_ptr(res.text), "two");
	TEST_INT(t, hbc_body(hbc, "bodyfoo", 7, &res), HBC_BAD);
	TEST_STR(t, res.map_name, "body_checks");
	TEST_STR(t, str_ptr(res.text),
	    "unknown command in body_checks map: FOO");
	/* The length bounds the line: "bodyfoo" cut to "body". */
	TEST_INT(t, hbc_body(hbc, "bodyfoo", 4, &res), HBC_HOLD);
	TEST_STR(t, str_ptr(res.text), "b");
	TEST_INT(t, hbc_body(hbc, "other", 5, &res), HBC_DUNNO);
	TEST_STR(t, str_ptr(res.text), "");
	/* Empty lines never match. */
	TEST_INT(t, hbc_body(hbc, "", 0, &res), HBC_DUNNO);
	hbc_free(hbc);

	/* No tables: everything is DUNNO. */
	hbc = hbc_new("", NULL, " ", "");
	TEST_INT(t, hbc_header(hbc, MIME_CLASS_PRIMARY, "Subject: x", &res),
	    HBC_DUNNO);
	TEST_STR(t, res.map_name, "header_checks");
	TEST_INT(t, hbc_header(hbc, MIME_CLASS_NESTED, "Subject: x", &res),
	    HBC_DUNNO);
	TEST_STR(t, res.map_name, "nested_header_checks");
	TEST_INT(t, hbc_body(hbc, "body", 4, &res), HBC_DUNNO);
	hbc_free(hbc);
	TEST_TRUE(t, hbc_free(NULL) == NULL);

	str_free(res.text);
	str_free(h);
	str_free(m);
	str_free(n);
	str_free(b);
}

/* A table that cannot be opened defers its lookups; the others work. */
static void
test_defer(struct test *t)
{
	struct str *h = str_new(100), *b = str_new(100);
	struct hbc_result res = { 0 };
	struct hbc *hbc;

	str_fmt(h, "regexp:%s/missing", tmpdir);
	str_fmt(b, "regexp:%s", write_table("bc2", "/^x/ DISCARD\n"));
	hbc = hbc_new(str_ptr(h), "", "", str_ptr(b));
	TEST_INT(t, hbc_header(hbc, MIME_CLASS_PRIMARY, "Subject: x", &res),
	    HBC_DEFER);
	TEST_INT(t, res.action, HBC_DEFER);
	TEST_STR(t, res.map_name, "header_checks");
	/* mime_header_checks is empty here: no table, no deferral. */
	TEST_INT(t,
	    hbc_header(hbc, MIME_CLASS_PRIMARY, "Content-Type: x", &res),
	    HBC_DUNNO);
	TEST_INT(t, hbc_body(hbc, "xyz", 3, &res), HBC_DISCARD);
	hbc_free(hbc);
	str_free(res.text);
	str_free(h);
	str_free(b);
}

/*
 * The smtp client's tables: prefixed names (in the warnings too), the
 * raw answer, "smtp_body_checks" taking any REPLACE text.
 */
static void
test_named(struct test *t)
{
	struct str *h = str_new(100), *b = str_new(100);
	struct hbc_result res = { 0 };
	struct hbc *hbc;

	str_fmt(h, "regexp:%s",
	    write_table("shc", "/^X-A:/ REJECT no way\n/^X-B:/ PREPEND x\n"));
	str_fmt(b, "regexp:%s", write_table("sbc", "/^x/ REPLACE plain\n"));
	hbc = hbc_new_named("smtp_", str_ptr(h), "", NULL, str_ptr(b));
	TEST_INT(t, hbc_active(hbc), 1);
	TEST_INT(t, hbc_header(hbc, MIME_CLASS_PRIMARY, "X-A: 1", &res),
	    HBC_REJECT);
	TEST_STR(t, res.map_name, "smtp_header_checks");
	TEST_STR(t, res.value, "REJECT no way");
	TEST_INT(t, hbc_header(hbc, MIME_CLASS_PRIMARY, "X-B: 1", &res),
	    HBC_BAD);
	TEST_STR(t, str_ptr(res.text),
	    "bad PREPEND header text \"x\" in smtp_header_checks map -- "
	    "need \"headername: headervalue\"");
	TEST_INT(t, hbc_header(hbc, MIME_CLASS_PRIMARY, "X-C: 1", &res),
	    HBC_DUNNO);
	TEST_INT(t, res.value == NULL, 1);
	TEST_INT(t, hbc_body(hbc, "xyz", 3, &res), HBC_REPLACE);
	TEST_STR(t, res.map_name, "smtp_body_checks");
	TEST_STR(t, str_ptr(res.text), "plain");
	hbc_free(hbc);
	hbc = hbc_new_named("lmtp_", "", NULL, " ", "");
	TEST_INT(t, hbc_active(hbc), 0);
	hbc_free(hbc);
	str_free(res.text);
	str_free(h);
	str_free(b);
}

static const struct test_case cases[] = {
	{ "parse", test_parse },
	{ "tables", test_tables },
	{ "defer", test_defer },
	{ "named", test_named },
	{ 0 },
};

int
main(void)
{
	int rc;
	char cmd[400];

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	rc = test_main(__FILE__, cases);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
