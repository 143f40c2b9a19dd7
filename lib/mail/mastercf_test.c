/*
 * mastercf_test - unit tests for the master.cf parser: good lines, the
 * defaults of "-", option normalization, and every kind of bad line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/argv.h"
#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/mastercf.h"

/* The args of an entry joined with "|", to compare in one go. */
static const char *
joined(const struct argv *a)
{
	static struct str *buf;

	if (buf == NULL)
		buf = str_new(100);
	str_reset(buf);
	for (size_t i = 0; i < a->argc; i++)
		str_catfmt(buf, "%s%s", i ? "|" : "", a->argv[i]);
	return str_ptr(buf);
}

static void
test_defaults(struct test *t)
{
	struct mastercf *mc = mastercf_new("/x/master.cf");
	struct str *why = str_new(100);
	const struct mastercf_entry *e;

	TEST_INT(t,
	    mastercf_parse_line(mc, "pickup unix n - - 60 1 pickup", 1, why),
	    0);
	TEST_INT(t,
	    mastercf_parse_line(mc, "cleanup unix - - - - - cleanup", 2, why),
	    0);
	TEST_INT(t,
	    mastercf_parse_line(mc, "tlsmgr unix - - y 1000? 1 tlsmgr", 3, why),
	    0);
	TEST_INT(t, mc->count, 3);
	e = mastercf_find(mc, "pickup", "unix");
	TEST_TRUE(t, e != NULL);
	TEST_TRUE(t, !e->private_);
	TEST_TRUE(t, e->unpriv);
	TEST_TRUE(t, !e->chroot);
	TEST_INT(t, e->wakeup, 60);
	TEST_TRUE(t, !e->wakeup_conditional);
	TEST_INT(t, e->maxproc, 1);
	TEST_STR(t, e->field[7], "pickup");
	TEST_INT(t, e->lineno, 1);
	e = mastercf_find(mc, "cleanup", "unix");
	TEST_TRUE(t, e->private_);
	TEST_INT(t, e->wakeup, 0);
	TEST_INT(t, e->maxproc, -1);
	TEST_STR(t, e->field[5], "-");
	e = mastercf_find(mc, "tlsmgr", "unix");
	TEST_TRUE(t, e->chroot);
	TEST_INT(t, e->wakeup, 1000);
	TEST_TRUE(t, e->wakeup_conditional);
	TEST_STR(t, e->field[5], "1000?");
	TEST_TRUE(t, mastercf_find(mc, "tlsmgr", "inet") == NULL);
	mastercf_free(mc);
	str_free(why);
}

static void
test_types(struct test *t)
{
	static const struct {
		const char *line;
		enum mastercf_type type;
		const char *host, *port;
	} cases[] = {
		{ "smtp inet n - y - - smtpd", MCF_INET, NULL, "smtp" },
		{ "127.0.0.1:2525 inet n - - - - smtpd", MCF_INET, "127.0.0.1",
		    "2525" },
		{ "[::1]:25 inet n - - - - smtpd", MCF_INET, "::1", "25" },
		{ "x unix - - - - - x", MCF_UNIX, NULL, NULL },
		{ "postlog unix-dgram n - n - 1 postlogd", MCF_UNIX_DGRAM, NULL,
		    NULL },
		{ "f fifo n - n - 1 pickup", MCF_FIFO, NULL, NULL },
		{ "smtpd pass - - n - - smtpd", MCF_PASS, NULL, NULL },
	};
	struct str *why = str_new(100);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mastercf *mc = mastercf_new("master.cf");

		TEST_INT(t, mastercf_parse_line(mc, cases[i].line, 1, why), 0);
		if (mc->count == 1) {
			TEST_INT(t, mc->entries[0]->type, cases[i].type);
			TEST_STR(t, mc->entries[0]->host, cases[i].host);
			TEST_STR(t, mc->entries[0]->port, cases[i].port);
		}
		mastercf_free(mc);
	}
	TEST_STR(t, mastercf_type_name(MCF_UNIX_DGRAM), "unix-dgram");
	str_free(why);
}

static void
test_options(struct test *t)
{
	static const struct {
		const char *line;
		const char *args, *names, *values;
	} cases[] = {
		{ "s inet n - - - - smtpd -o a=b -o { c = d e } -v",
		    "smtpd|-o|a=b|-o|c=d e|-v", "a|c", "b|d e" },
		{ "s unix - - - - - smtpd -oa=b -vo x=y -- {p q} r",
		    "smtpd|-o|a=b|-v|-o|x=y|--|p q|r", "a|x", "b|y" },
		{ "s unix - - - - - pipe flags=R argv=/bin/x ${nexthop}",
		    "pipe|flags=R|argv=/bin/x|${nexthop}", "", "" },
		{ "s unix - - - - - smtpd -o a= -o b -o {x=}",
		    "smtpd|-o|a=|-o|b|-o|x=", "a|x", "|" },
		{ "s unix - - - - - smtpd -ofoo=bar", "smtpd|-o|foo=bar", "foo",
		    "bar" },
		{ "s unix - - - - - smtpd -o a=1 -o a=2", "smtpd|-o|a=1|-o|a=2",
		    "a|a", "1|2" },
		/* A lone "-" takes the next word, as in Postfix's postconf. */
		{ "s unix - - - - - cmd - {a b} -o c=d", "cmd|-|a b|-o|c=d",
		    "c", "d" },
	};
	struct str *why = str_new(100);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mastercf *mc = mastercf_new("master.cf");

		TEST_INT(t, mastercf_parse_line(mc, cases[i].line, 1, why), 0);
		if (mc->count == 1) {
			TEST_STR(t, joined(mc->entries[0]->args),
			    cases[i].args);
			TEST_STR(t, joined(mc->entries[0]->opt_names),
			    cases[i].names);
			TEST_STR(t, joined(mc->entries[0]->opt_values),
			    cases[i].values);
		}
		mastercf_free(mc);
	}
	str_free(why);
}

static void
test_bad_lines(struct test *t)
{
	static const struct {
		const char *line;
		enum mastercf_err err;
		const char *why;
	} cases[] = {
		{ "smtp inet n - y - -", MCF_ERR_FIELDS,
		    "/e/master.cf: line 7: missing \"command\" field" },
		{ "smtp", MCF_ERR_FIELDS,
		    "/e/master.cf: line 7: missing \"transport type\" field" },
		{ "smtp bogus n - y - - smtpd", MCF_ERR_TYPE,
		    "/e/master.cf: line 7: bad transport type: bogus" },
		{ "smtp inet yes - y - - smtpd", MCF_ERR_BOOL,
		    "/e/master.cf: line 7: field \"private\": bad value: \"yes\"" },
		{ "x unix - x y - - smtpd", MCF_ERR_BOOL,
		    "/e/master.cf: line 7: field \"unprivileged\": bad value: \"x\"" },
		{ "x unix - - Y - - smtpd", MCF_ERR_BOOL,
		    "/e/master.cf: line 7: field \"chroot\": bad value: \"Y\"" },
		{ "x unix - - - abc - smtpd", MCF_ERR_WAKEUP,
		    "/e/master.cf: line 7: field \"wakeup_time\": bad value: \"abc\"" },
		{ "x unix - - - ? - smtpd", MCF_ERR_WAKEUP,
		    "/e/master.cf: line 7: field \"wakeup_time\": bad value: \"?\"" },
		{ "x unix - - - 6?0 - smtpd", MCF_ERR_WAKEUP,
		    "/e/master.cf: line 7: field \"wakeup_time\": bad value: \"6?0\"" },
		{ "x unix - - - - 1x smtpd", MCF_ERR_MAXPROC,
		    "/e/master.cf: line 7: field \"max_proc\": bad value: \"1x\"" },
		{ "x unix - - - - -1 smtpd", MCF_ERR_MAXPROC,
		    "/e/master.cf: line 7: field \"max_proc\": bad value: \"-1\"" },
		{ "x unix - - - - 99999999999 smtpd", MCF_ERR_MAXPROC,
		    "/e/master.cf: line 7: field \"max_proc\": bad value: \"99999999999\"" },
		{ "x unix - - - - - smtpd -o {a = b", MCF_ERR_BRACE,
		    "/e/master.cf: line 7: missing '}' in \"{a = b\"" },
		{ "x unix - - - - - smtpd {a b", MCF_ERR_BRACE,
		    "/e/master.cf: line 7: missing '}' in \"{a b\"" },
		{ "x unix - - - - - smtpd {a}b", MCF_ERR_BRACE,
		    "/e/master.cf: line 7: syntax error after '}' in \"{a}b\"" },
		{ "x unix - - - - - smtpd -o { novalue }", MCF_ERR_BRACE,
		    "/e/master.cf: line 7: missing '=' after attribute name: \"novalue\"" },
		{ "smtp inet - - - - - smtpd", MCF_ERR_INET,
		    "/e/master.cf: line 7: inet service cannot be private" },
		{ "[::1 inet n - - - - smtpd", MCF_ERR_INET,
		    "/e/master.cf: line 7: missing \"]\" in \"[::1\"" },
		{ "host: inet n - - - - smtpd", MCF_ERR_INET,
		    "/e/master.cf: line 7: missing service information in \"host:\"" },
	};
	struct str *why = str_new(100);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mastercf *mc = mastercf_new("/e/master.cf");

		str_reset(why);
		TEST_INT(t, mastercf_parse_line(mc, cases[i].line, 7, why), -1);
		TEST_INT(t, mc->err, cases[i].err);
		TEST_STR(t, str_ptr(why), cases[i].why);
		TEST_INT(t, mc->count, 0);
		mastercf_free(mc);
	}
	str_free(why);
}

static void
test_lenient(struct test *t)
{
	struct mastercf *mc = mastercf_new("/e/master.cf");
	struct str *why = str_new(100);

	mc->flags = MCF_FLAG_LENIENT | MCF_FLAG_KEEP_DUPS;
	TEST_INT(t,
	    mastercf_parse_line(mc, "x unix - - - - - smtpd -o {a = b", 1, why),
	    0);
	TEST_STR(t, test_log_text(),
	    "warning: master.cf: missing '}' in \"{a = b\"\n");
	TEST_INT(t,
	    mastercf_parse_line(mc, "x unix - - - - - smtpd {a b}", 2, why), 0);
	TEST_INT(t,
	    mastercf_parse_line(mc, "smtp inet - - - - - smtpd", 3, why), 0);
	TEST_INT(t, mc->count, 3);
	if (mc->count == 3) {
		TEST_STR(t, joined(mc->entries[0]->args), "smtpd|-o|a=b");
		TEST_STR(t, joined(mc->entries[1]->args), "smtpd|a b");
	}
	/* postconf accepts a lone "?" wakeup; master(8) does not. */
	TEST_INT(t, mastercf_parse_line(mc, "w unix - - - ? - smtpd", 5, why),
	    0);
	TEST_INT(t, mastercf_parse_line(mc, "x unix - - - - 1x smtpd", 4, why),
	    -1);
	TEST_INT(t, mc->err, MCF_ERR_MAXPROC);
	TEST_INT(t, mc->err_field, 6);
	TEST_STR(t, mc->err_value, "1x");
	mastercf_free(mc);
	str_free(why);
}

static void
test_read(struct test *t)
{
	char path[] = "/tmp/mastercf_test.XXXXXX";
	struct str *why = str_new(100);
	struct mastercf *mc;
	FILE *fp;
	int fd;

	if ((fd = mkstemp(path)) < 0 || (fp = fdopen(fd, "w")) == NULL) {
		TEST_FAIL(t, "mkstemp: failed");
		return;
	}
	fputs("# comment\n"
	      "\n"
	      "smtp inet n - y - - smtpd\n"
	      "relay unix - - y - - smtp\n"
	      "  -o syslog_name=postfix/$service_name\n"
	      "#  -o not=this\n"
	      "  -o { smtp_helo_name = a b }\n"
	      "smtp inet n - n - - smtpd -v\n",
	    fp);
	fclose(fp);
	mc = mastercf_read(path, why);
	TEST_TRUE(t, mc != NULL);
	if (mc) {
		const struct mastercf_entry *e =
		    mastercf_find(mc, "relay", "unix");

		TEST_INT(t, mc->count, 2);
		TEST_TRUE(t, e != NULL);
		if (e) {
			TEST_INT(t, e->lineno, 4);
			TEST_STR(t, joined(e->opt_names),
			    "syslog_name|smtp_helo_name");
			TEST_STR(t, joined(e->opt_values),
			    "postfix/$service_name|a b");
		}
		/* The later smtp/inet replaced the first, in its place. */
		TEST_STR(t, joined(mc->entries[0]->args), "smtpd|-v");
		TEST_STR(t, mc->entries[0]->field[4], "n");
	}
	mastercf_free(mc);
	mc = mastercf_read_flags(path, MCF_FLAG_KEEP_DUPS, why);
	TEST_INT(t, mc ? mc->count : 0, 3);
	mastercf_free(mc);

	fp = fopen(path, "w");
	fputs("smtp inet n - y - - smtpd\n"
	      "\n"
	      "smtp bad n - y - - smtpd\n",
	    fp);
	fclose(fp);
	mc = mastercf_read(path, why);
	TEST_TRUE(t, mc == NULL);
	str_fmt(why, "%s", str_ptr(why) + strlen(path));
	TEST_STR(t, str_ptr(why), ": line 3: bad transport type: bad");

	mc = mastercf_read("/nonexistent/master.cf", why);
	TEST_TRUE(t, mc == NULL);
	TEST_STR(t, str_ptr(why),
	    "open /nonexistent/master.cf: No such file or directory");
	unlink(path);
	str_free(why);
}

static const struct test_case cases[] = {
	{ "defaults", test_defaults },
	{ "types", test_types },
	{ "options", test_options },
	{ "bad_lines", test_bad_lines },
	{ "lenient", test_lenient },
	{ "read", test_read },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
