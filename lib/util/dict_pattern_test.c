/*
 * dict_pattern_test - the file-based tables: pcre, regexp, cidr and
 * texthash, good and bad input.  Each case writes a table file, opens it,
 * looks up one key and checks the result and the warnings logged.  The
 * expected texts were observed with Debian's Postfix 3.7 "postmap -q".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/dict.h"
#include "lib/util/str.h"
#include "lib/util/test.h"

static char tmpdir[] = "/tmp/dict_pattern_test.XXXXXX";
static struct str *path;

struct file_case {
	const char *type;
	const char *text; /* file contents; \0 allowed with len */
	size_t len;       /* 0: strlen(text) */
	const char *key;
	const char *want; /* NULL: not found */
	const char *log;  /* substring of the log, "" for no log */
};

#define BOTH(text, key, want, log)                                             \
	{ "pcre", text, 0, key, want, log },                                   \
	{                                                                      \
		"regexp", text, 0, key, want, log                              \
	}

static const struct file_case cases[] = {
	/* Substitution. */
	BOTH("/^(a+)(b*)$/ A=$1 B=${2} D=$$ E=$(2)\n", "aab",
	    "A=aa B=b D=$ E=b", ""),
	BOTH("/^(a+)(b*)$/ <$2>\n", "aa", "<>", ""),
	BOTH("/(a)|(b)/ <$1><$2>\n", "b", "<><b>", ""),
	BOTH("/^(.*)@(.*)$/ $2 and $1\n", "user@Example.COM",
	    "Example.COM and user", ""),
	BOTH("/(a)/ ${1}}\n", "a", "a}", ""),
	BOTH("/(a)/ $$1\n", "a", "$1", ""),
	BOTH("/(((((((((((((a)))))))))))))/ $11\n", "a", "a", ""),
	/* Case: insensitive by default, i toggles. */
	BOTH("/A/ x\n", "a", "x", ""),
	BOTH("/A/i x\n", "a", NULL, ""),
	BOTH("/a/ii x\n", "A", "x", ""),
	/* First match wins; negation; comments; continuation. */
	BOTH("#c\n/a/ first\n/a/ second\n", "a", "first", ""),
	BOTH("!/a/ x\n", "b", "x", ""),
	BOTH("!/a/ x\n", "a", NULL, ""),
	BOTH("!  /a/ x\n", "b", "x", ""),
	BOTH("/a/ x\n  continued\n", "a", "x  continued", ""),
	BOTH("|a| x\n", "a", "x", ""),
	BOTH("/a\\/b/ x\n", "a/b", "x", ""),
	/* if/endif, nesting, negation, case of the keywords. */
	BOTH("if !/a/\n/./ in\nendif\n/./ out\n", "a", "out", ""),
	BOTH("if !/a/\n/./ in\nendif\n/./ out\n", "b", "in", ""),
	BOTH("IF /a/\n/./ x\nENDIF\n", "b", NULL, ""),
	BOTH("if /a/\nif /b/\n/./ ab\nendif\n/./ a\nendif\n", "ab", "ab", ""),
	BOTH("if /a/\nif /b/\n/./ ab\nendif\n/./ a\nendif\n", "a", "a", ""),
	BOTH("if /a/\nif /b/\n/./ x\n", "a", NULL,
	    "line 2: IF has no matching ENDIF\nwarning: REGEX map PATH, line 1: IF has no matching ENDIF\n"),
	BOTH("endif\n/./ x\n", "a", "x",
	    "line 1: ignoring ENDIF without matching IF\n"),
	BOTH("if /a/\n/./ x\nendif junk\n", "a", "x",
	    "line 3: ignoring extra text after ENDIF\n"),
	BOTH("if /a/i x\n", "b", NULL,
	    "line 1: ignoring extra text after IF statement: \"x\"\nwarning: REGEX map PATH, line 1: do not prepend whitespace to statements between IF and ENDIF\n"),
	/* Bad lines are skipped with a warning. */
	BOTH("/a/\n", "a", "",
	    "line 1: no replacement text: using empty string\n"),
	BOTH("  /a/ x\n", "a", NULL,
	    "PATH: logical line must not start with whitespace: \"  /a/ x\"\n"),
	BOTH("/a/ x $10\n", "a", NULL,
	    "line 1: out of range replacement index \"10\": skipping this rule\n"),
	BOTH("/a/ x $x y\n/a/ ok\n", "a", "ok",
	    "line 1: non-numeric replacement index \"x\"\nwarning: REGEX map PATH, line 1: bad replacement syntax: skipping this rule\n"),
	BOTH("/a/ x $ y\n", "a", NULL,
	    "warning: empty macro name: \"x $ y\"\n"),
	BOTH("/a/ x ${1 y\n", "a", NULL,
	    "warning: truncated macro reference: \"x ${1 y\"\n"),
	BOTH("!/(a)/ $1\n", "b", NULL,
	    "line 1: $number found in negative match replacement text: skipping this rule\n"),
	BOTH("xa/ x/ y\n", "a", NULL,
	    "line 1: ignoring unrecognized request\n"),
	BOTH("/a/{x} y\n", "a", NULL,
	    "line 1: unknown regexp option \"{\": skipping this rule\n"),
	/* A NUL byte ends the line, as in Postfix. */
	{ "pcre", "/a/ x\0y\n/b/ z\n", 14, "a", "x", "" },
	{ "regexp", "/a\0q/ x\n/b/ z\n", 14, "b", "z",
	    "line 1: no closing regexp delimiter \"/\": skipping this rule\n" },
	{ "pcre", "/a\0q/ x\n/b/ z\n", 14, "b", "z",
	    "line 1: no closing regexp delimiter \"/\": ignoring this rule\n" },
	/* What differs between the two. */
	{ "pcre", "/[/ x\n/./ y\n", 0, "a", "y",
	    "pcre map PATH, line 1: error in regex at offset 1: missing terminating ] for character class\n" },
	{ "regexp", "/[/ x\n/./ y\n", 0, "a", "y",
	    "regexp map PATH, line 1: " },
	{ "pcre", "/(a)/ $0\n", 0, "a", NULL,
	    "pcre map PATH, line 1: out of range replacement index \"0\"\n" },
	{ "regexp", "/(a)/ $0\n", 0, "a", NULL,
	    "regexp map PATH, line 1: out-of-range replacement index \"0\"\n" },
	{ "pcre", "/a/UXE x\n", 0, "a", "x",
	    "pcre map PATH, line 1: ignoring obsolete regexp option \"X\"\n" },
	{ "regexp", "/a/s x\n", 0, "a", NULL,
	    "regexp map PATH, line 1: unknown regexp option \"s\": skipping this rule\n" },
	{ "pcre", "/^a.b$/s x\n", 0, "a\nb", "x", "" },
	{ "pcre", "/a/A x\n", 0, "ba", NULL, "" },
	{ "pcre", "/(?<n>a)/ $1\n", 0, "a", "a", "" },
	{ "pcre", "/a(?=b)/ x\n", 0, "ab", "x", "" },
	{ "regexp", "/a/x x\n", 0, "a", "x", "" },

	/* cidr. */
	{ "cidr",
	    "192.168.1.0/24 net\n10.0.0.1 host\n2001:db8::/32 v6\n0.0.0.0/0 any4\n::/0 any6\n",
	    0, "192.168.1.7", "net", "" },
	{ "cidr", "192.168.1.0/24 net\n10.0.0.1 host\n0.0.0.0/0 any4\n", 0,
	    "10.0.0.1", "host", "" },
	{ "cidr", "2001:db8::/32 v6\n", 0, "2001:DB8::1", "v6", "" },
	{ "cidr", "0.0.0.0/0 any4\n::/0 any6\n", 0, "::ffff:1.2.3.4", "any6",
	    "" },
	{ "cidr", "0.0.0.0/0 x\n", 0, "foo", NULL, "" },
	{ "cidr", "0.0.0.0/0 x\n", 0, "01.2.3.4", NULL, "" },
	{ "cidr", "0.0.0.0/0 x\n", 0, "[1.2.3.4]", NULL, "" },
	{ "cidr", "!192.168.0.0/16 notlocal\n", 0, "10.1.1.1", "notlocal", "" },
	{ "cidr", "!192.168.0.0/16 notlocal\n", 0, "192.168.3.3", NULL, "" },
	{ "cidr", "!192.168.0.0/16 notlocal\n", 0, "::1", NULL, "" },
	{ "cidr", "[1.2.3.0]/24 a\n", 0, "1.2.3.4", "a", "" },
	{ "cidr", "[1.2.3.0/24] a\n", 0, "1.2.3.4", "a", "" },
	{ "cidr", "[2001:db8::1] a\n", 0, "2001:db8::1", "a", "" },
	{ "cidr", "1.2.3.0/024 a\n", 0, "1.2.3.4", "a", "" },
	{ "cidr", "1.2.3.4   multi word  value  \n", 0, "1.2.3.4",
	    "multi word  value", "" },
	{ "cidr", "1.2.3.4 a\n  cont\n", 0, "1.2.3.4", "a  cont", "" },
	{ "cidr", "0.0.0.0/0 $1 x\n", 0, "1.2.3.4", "$1 x", "" },
	{ "cidr",
	    "if 10.0.0.0/8\n10.1.0.0/16 a\n!10.2.0.0/16 b\nendif\n0.0.0.0/0 z\n",
	    0, "10.3.0.0", "b", "" },
	{ "cidr",
	    "if 10.0.0.0/8\n10.1.0.0/16 a\n!10.2.0.0/16 b\nendif\n0.0.0.0/0 z\n",
	    0, "11.0.0.0", "z", "" },
	{ "cidr", "if ! 10.0.0.0/8\n0.0.0.0/0 y\nendif\n", 0, "10.1.2.3", NULL,
	    "" },
	{ "cidr", "IF 1.0.0.0/8\n0.0.0.0/0 x\nENDIF\n", 0, "1.1.1.1", "x", "" },
	{ "cidr", "2001:db8:0:0:1::/80 x\n2001:db8::/33 y\n", 0,
	    "2001:db8:8000::", NULL, "" },
	{ "cidr", "2001:db8:0:0:1::/80 x\n2001:db8::/33 y\n", 0,
	    "2001:db8::1:0:0:5", "x", "" },
	{ "cidr", "192.168.1.1/24 bad\n", 0, "192.168.1.1", NULL,
	    "cidr map PATH, line 1: non-null host address bits in \"192.168.1.1/24\", perhaps you should use \"192.168.1.0/24\" instead: skipping this rule\n" },
	{ "cidr", "2001:db8::1/64 x\n", 0, "2001:db8::1", NULL,
	    "non-null host address bits in \"2001:db8::1/64\", perhaps you should use \"2001:db8::/64\" instead: skipping this rule\n" },
	{ "cidr", "1.2.3.4/33 x\n", 0, "1.2.3.4", NULL,
	    "line 1: bad mask length in \"1.2.3.4/33\": skipping this rule\n" },
	{ "cidr", "::/129 x\n", 0, "::1", NULL,
	    "line 1: bad mask length in \"::/129\": skipping this rule\n" },
	{ "cidr", "1.2.3.4/99999999999999999999 x\n", 0, "1.2.3.4", NULL,
	    "bad mask length in" },
	{ "cidr", "1.2.3.400 x\n", 0, "1.2.3.4", NULL,
	    "line 1: bad address pattern: \"1.2.3.400\": skipping this rule\n" },
	{ "cidr", "1.2.3.400/24 x\n", 0, "1.2.3.4", NULL,
	    "line 1: bad network value in \"1.2.3.400/24\": skipping this rule\n" },
	{ "cidr", "1.2.3.0/+24 x\n", 0, "1.2.3.4", NULL,
	    "line 1: bad mask value in \"1.2.3.0/+24\": skipping this rule\n" },
	{ "cidr", "1.2.3.4/ x\n", 0, "1.2.3.4", NULL,
	    "line 1: bad mask value in \"1.2.3.4/\": skipping this rule\n" },
	{ "cidr", "1.2.3.4\n", 0, "1.2.3.4", NULL,
	    "line 1: no lookup result: skipping this rule\n" },
	{ "cidr", "!\n", 0, "1.2.3.4", NULL,
	    "line 1: no address pattern: skipping this rule\n" },
	{ "cidr", "fe80::1%eth0 x\n", 0, "fe80::1", NULL,
	    "bad address pattern: \"fe80::1%eth0\"" },
	{ "cidr", "[1.2.3.4 x\n", 0, "1.2.3.4", NULL,
	    "line 1: missing ']' character after \"[1.2.3.4\": skipping this rule\n" },
	{ "cidr", "if 10.0.0.0/8 junk\n0.0.0.0/0 x\nendif junk\nendif\n", 0,
	    "10.0.0.1", "x",
	    "line 1: bad mask value in \"10.0.0.0/8 junk\": skipping this rule\nwarning: cidr map PATH, line 3: garbage after ENDIF: skipping this rule\nwarning: cidr map PATH, line 4: ENDIF without IF: skipping this rule\n" },
	{ "cidr", "if 10.0.0.0/8\n0.0.0.0/0 x\n", 0, "11.0.0.1", NULL,
	    "cidr map PATH, line 1: IF has no matching ENDIF\n" },
	{ "cidr", "1.2.3.4 a\0b\n", 11, "1.2.3.4", "a", "" },

	/* texthash. */
	{ "texthash", "Foo  bar baz  \nfoo dup\n", 0, "FOO", "bar baz",
	    "PATH, line 2: duplicate entry: \"foo\"\n" },
	{ "texthash", "\"a b\" v1\n", 0, "\"a b\"", "v1", "" },
	{ "texthash", "q\\ x val\n", 0, "q\\ x", "val", "" },
	{ "texthash", "k2 v2\n  cont\n", 0, "k2", "v2  cont", "" },
	{ "texthash", "key\nk v\n", 0, "k", "v",
	    "PATH, line 1: expected format: key whitespace value -- ignoring this line\n" },
	{ "texthash", "k: v\n", 0, "k:", "v",
	    "PATH, line 1: record is in \"key: value\" format; is this an alias file?\n" },
	{ "texthash", "\"unbal x\n", 0, "\"unbal", NULL,
	    "PATH, line 1: unbalanced '\"' in '\"unbal x' -- ignoring this line\n" },
	{ "texthash", "a b\0c\nd e\n", 10, "a", "b", "" },
	{ "texthash", "# only a comment\n\n", 0, "a", NULL, "" },
	{ 0 },
};

/* want_log with PATH replaced by the file name and REGEX by the type. */
static void
expand_log(struct str *out, const char *in, const char *type)
{
	str_reset(out);
	for (const char *p = in; *p;) {
		if (strncmp(p, "PATH", 4) == 0) {
			str_cat(out, str_ptr(path));
			p += 4;
		} else if (strncmp(p, "REGEX", 5) == 0) {
			str_cat(out, type);
			p += 5;
		} else {
			str_catc(out, *p++);
		}
	}
}

static void
test_files(struct test *t)
{
	struct str *why = str_new(0), *spec = str_new(0), *want = str_new(0);

	for (const struct file_case *c = cases; c->type; c++) {
		size_t len = c->len ? c->len : strlen(c->text);
		struct dict *d;
		const char *got;
		FILE *fp;

		str_fmt(path, "%s/table", tmpdir);
		if ((fp = fopen(str_ptr(path), "w")) == NULL ||
		    fwrite(c->text, 1, len, fp) != len || fclose(fp) != 0) {
			TEST_FAIL(t, "cannot write %s", str_ptr(path));
			return;
		}
		test_log_reset();
		str_fmt(spec, "%s:%s", c->type, str_ptr(path));
		if ((d = dict_open(str_ptr(spec), O_RDONLY, DICT_FLAGS_READ,
			 why)) == NULL) {
			TEST_FAIL(t, "%s [%s]: open: %s", c->type, c->text,
			    str_ptr(why));
			continue;
		}
		got = dict_get(d, c->key);
		if (!((got == NULL && c->want == NULL) ||
			(got && c->want && strcmp(got, c->want) == 0)))
			TEST_FAIL(t,
			    "%s [%s] key \"%s\": got \"%s\", want \"%s\"",
			    c->type, c->text, c->key, got ? got : "(null)",
			    c->want ? c->want : "(null)");
		TEST_INT(t, d->error, DICT_ERR_NONE);
		expand_log(want, c->log, c->type);
		if (*c->log == 0
			? *test_log_text() != 0
			: strstr(test_log_text(), str_ptr(want)) == NULL)
			TEST_FAIL(t, "%s [%s]: log \"%s\", want \"%s\"",
			    c->type, c->text, test_log_text(), str_ptr(want));
		dict_close(d);
	}
	str_free(want);
	str_free(spec);
	str_free(why);
}

/* A 1 MB line: the pattern is refused or used, never a crash. */
static void
test_long_line(struct test *t)
{
	static const char *const types[] = { "pcre", "regexp", "cidr",
		"texthash", NULL };
	struct str *why = str_new(0), *spec = str_new(0);

	str_fmt(path, "%s/long", tmpdir);
	for (int i = 0; types[i]; i++) {
		FILE *fp = fopen(str_ptr(path), "w");
		struct dict *d;

		if (fp == NULL) {
			TEST_FAIL(t, "cannot write %s", str_ptr(path));
			break;
		}
		if (strcmp(types[i], "cidr") == 0 ||
		    strcmp(types[i], "texthash") == 0) {
			fputs("1.2.3.4 ", fp);
			for (int j = 0; j < 1024 * 1024; j++)
				putc('v', fp);
			fputs("\n5.6.7.8 ok\n", fp);
		} else {
			putc('/', fp);
			for (int j = 0; j < 1024 * 1024; j++)
				putc('a', fp);
			fputs("/ big\n/b/ ok\n", fp);
		}
		fclose(fp);
		str_fmt(spec, "%s:%s", types[i], str_ptr(path));
		d = dict_open(str_ptr(spec), O_RDONLY, DICT_FLAGS_READ, why);
		TEST_TRUE(t, d != NULL);
		if (d == NULL)
			continue;
		if (strcmp(types[i], "cidr") == 0) {
			TEST_STR(t, dict_get(d, "5.6.7.8"), "ok");
			TEST_INT(t, strlen(dict_get(d, "1.2.3.4")),
			    1024 * 1024);
		} else if (strcmp(types[i], "texthash") == 0) {
			TEST_STR(t, dict_get(d, "5.6.7.8"), "ok");
		} else {
			TEST_STR(t, dict_get(d, "b"), "ok");
		}
		dict_close(d);
	}
	/* Past dict_line_limit the line is refused, the rest still read. */
	{
		size_t saved = dict_line_limit;
		struct dict *d;

		dict_line_limit = 1000;
		test_log_reset();
		d = dict_open(str_ptr(spec), O_RDONLY, DICT_FLAGS_READ, why);
		TEST_TRUE(t, d != NULL);
		if (d) {
			TEST_STR(t, dict_get(d, "5.6.7.8"), "ok");
			TEST_TRUE(t, dict_get(d, "1.2.3.4") == NULL);
			TEST_TRUE(t,
			    strstr(test_log_text(), "line too long") != NULL);
			dict_close(d);
		}
		dict_line_limit = saved;
	}
	str_free(spec);
	str_free(why);
}

static void
test_open_errors(struct test *t)
{
	static const char *const types[] = { "pcre", "regexp", "cidr",
		"texthash", NULL };
	struct str *why = str_new(0), *spec = str_new(0);
	struct dict *d;

	for (int i = 0; types[i]; i++) {
		str_fmt(spec, "%s:%s/missing", types[i], tmpdir);
		d = dict_open(str_ptr(spec), O_RDONLY, DICT_FLAGS_READ, why);
		TEST_TRUE(t, d == NULL);
		TEST_TRUE(t,
		    strstr(str_ptr(why),
			"/missing: No such file or directory") != NULL);
		str_fmt(spec, "%s:%s/table", types[i], tmpdir);
		d = dict_open(str_ptr(spec), O_RDWR, DICT_FLAGS_READ, why);
		TEST_TRUE(t, d == NULL);
		TEST_TRUE(t, strstr(str_ptr(why),
				 "map requires O_RDONLY access mode") != NULL);
	}
	str_free(spec);
	str_free(why);
}

static void
test_parse_line(struct test *t)
{
	static const struct {
		const char *line, *key, *value;
		int rc;
	} lines[] = {
		{ "key value", "key", "value", 0 },
		{ "  key \t value with  spaces  ", "key", "value with  spaces",
		    0 },
		{ "\"a b\" v", "\"a b\"", "v", 0 },
		{ "a\\ b v", "a\\ b", "v", 0 },
		{ "key", NULL, NULL, DICT_TEXT_FORMAT },
		{ "key   ", NULL, NULL, DICT_TEXT_FORMAT },
		{ "", NULL, NULL, DICT_TEXT_FORMAT },
		{ "\"a b v", NULL, NULL, DICT_TEXT_QUOTE },
		{ "k: v", "k:", "v", 0 },
		{ 0 },
	};

	for (int i = 0; lines[i].line; i++) {
		char *copy = strdup(lines[i].line), *k, *v;
		int rc = dict_text_parse_line(copy, &k, &v);

		TEST_INT(t, rc, lines[i].rc);
		if (rc == 0) {
			TEST_STR(t, k, lines[i].key);
			TEST_STR(t, v, lines[i].value);
		}
		free(copy);
	}
}

/* NO_REGSUB returns the result template as written. */
static void
test_no_regsub(struct test *t)
{
	struct str *why = str_new(0), *spec = str_new(0);
	struct dict *d;
	FILE *fp;

	str_fmt(path, "%s/nosub", tmpdir);
	if ((fp = fopen(str_ptr(path), "w")) != NULL) {
		fputs("/(a)/ x${1}y$$\n", fp);
		fclose(fp);
	}
	str_fmt(spec, "pcre:%s", str_ptr(path));
	d = dict_open(str_ptr(spec), O_RDONLY,
	    DICT_FLAGS_READ | DICT_FLAG_NO_REGSUB, why);
	TEST_TRUE(t, d != NULL);
	if (d) {
		TEST_STR(t, dict_get(d, "a"), "x${1}y$$");
		TEST_TRUE(t, (d->flags & DICT_FLAG_PATTERN) != 0);
		dict_close(d);
	}
	str_free(spec);
	str_free(why);
}

static const struct test_case tests[] = {
	{ "files", test_files },
	{ "long_line", test_long_line },
	{ "open_errors", test_open_errors },
	{ "parse_line", test_parse_line },
	{ "no_regsub", test_no_regsub },
	{ 0 },
};

int
main(void)
{
	struct str *cmd;
	int status;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	path = str_new(100);
	status = test_main(__FILE__, tests);
	cmd = str_new(100);
	str_fmt(cmd, "rm -rf '%s'", tmpdir);
	if (system(str_ptr(cmd)) != 0)
		status = 1;
	str_free(cmd);
	str_free(path);
	return status;
}
