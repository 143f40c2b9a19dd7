/*
 * config_test - main.cf reading as Postfix 3.7 does it (texts observed with
 * Debian's postconf and postmap), overrides, lazy expansion, recursion,
 * dynamic host name defaults and per-service defaults.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/config.h"
#include "lib/mail/mastercf.h"
#include "lib/mail/params.h"

static char tmpdir[] = "/tmp/config_test.XXXXXX";

/* Write main.cf (n bytes, NULs allowed) into a fresh directory. */
static const char *
write_main(const char *text, size_t n)
{
	static int seq;
	static char dir[200];
	char path[300];
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s/d%d", tmpdir, ++seq);
	if (mkdir(dir, 0700) < 0) {
		perror(dir);
		exit(2);
	}
	snprintf(path, sizeof(path), "%s/main.cf", dir);
	if ((fp = fopen(path, "w")) == NULL || fwrite(text, 1, n, fp) != n ||
	    fclose(fp) != 0) {
		perror(path);
		exit(2);
	}
	return dir;
}

static const char *
load(struct test *t, const char *text)
{
	const char *dir = write_main(text, strlen(text));
	struct str *why = str_new(10);

	config_init(dir);
	TEST_INT(t, config_read(why), 0);
	str_free(why);
	return dir;
}

static const char *
eval(const char *name)
{
	static struct str *out;
	struct str *why = str_new(10);

	if (out == NULL)
		out = str_new(10);
	if (config_eval(name, out, why) < 0)
		str_fmt(out, "ERROR: %s", str_ptr(why));
	str_free(why);
	return str_ptr(out);
}

/* config_read() of this directory's main.cf, in test_fatal()'s child. */
static void
read_child(void *dir)
{
	struct str *why = str_new(10);

	config_init(dir);
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
}

/* Read main.cf in a child; return its fatal message ("" if none). */
static const char *
read_fatal(const char *text, size_t n, const char **dirp)
{
	*dirp = write_main(text, n);
	return test_fatal(read_child, (void *)*dirp);
}

static void
test_syntax(struct test *t)
{
	const char *dir;
	struct str *want = str_new(100);

	dir = load(t, "# comment\n"
		      "myorigin = a # not a comment\n"
		      "#x\n"
		      "  # comment inside a continuation\n"
		      "   continued\n"
		      "\n"
		      "t_relay=[mx]:25\n"
		      "t_empty =\n"
		      "t_spaced\t=\t value  with  spaces \t \r\n"
		      "t_dup = first\n"
		      "t_dup = second\n"
		      "t_same = one\n"
		      "t_same = one\n"
		      "t_name-with.dots = ok\n"
		      "t_eq = a=b\n"
		      "t_cont = a\n"
		      "\n"
		      "\t\tz \t\n");
	TEST_STR(t, config_explicit("myorigin"),
	    "a # not a comment   continued");
	TEST_STR(t, config_explicit("t_relay"), "[mx]:25");
	TEST_STR(t, config_explicit("t_empty"), "");
	TEST_STR(t, config_explicit("t_spaced"), "value  with  spaces");
	TEST_STR(t, config_explicit("t_dup"), "second");
	TEST_STR(t, config_explicit("t_name-with.dots"), "ok");
	TEST_STR(t, config_explicit("t_eq"), "a=b");
	TEST_STR(t, config_explicit("t_cont"), "a\t\tz");
	TEST_STR(t, config_explicit("t_nosuch"), NULL);
	TEST_INT(t, config_line("myorigin"), 2);
	TEST_INT(t, config_line("t_relay"), 7);
	TEST_INT(t, config_line("t_dup"), 11);
	TEST_INT(t, config_line("t_nosuch"), 0);
	str_fmt(want,
	    "warning: %s/main.cf, line 11: overriding earlier entry: t_dup=first\n",
	    dir);
	TEST_STR(t, test_log_text(), str_ptr(want));

	/* File order, each name once, -c DIR first as postconf does. */
	{
		const char **names = config_names();

		TEST_STR(t, names[0], "config_directory");
		TEST_STR(t, names[1], "myorigin");
		TEST_STR(t, names[2], "t_relay");
		TEST_STR(t, names[5], "t_dup");
		TEST_STR(t, names[6], "t_same");
		TEST_STR(t, names[9], "t_cont");
		TEST_TRUE(t, names[10] == NULL);
		free(names);
	}
	TEST_STR(t, config_explicit("config_directory"), dir);
	TEST_INT(t, config_line("config_directory"), 0);
	str_free(want);
}

static void
test_leading_ws(struct test *t)
{
	const char *dir;
	struct str *want = str_new(100);

	dir = load(t, "  t_lw1 = x\nt_lw2 = y\n");
	TEST_STR(t, config_explicit("t_lw1"), NULL);
	TEST_STR(t, config_explicit("t_lw2"), "y");
	str_fmt(want,
	    "warning: %s/main.cf: logical line must not start with whitespace: \"  t_lw1 = x\"\n",
	    dir);
	TEST_STR(t, test_log_text(), str_ptr(want));
	str_free(want);
}

static void
test_bad_lines(struct test *t)
{
	static const struct {
		const char *text;
		size_t len; /* 0: strlen */
		int line;
		const char *err;
		const char *quoted;
	} cases[] = {
		{ "t_a = 1\nt_b = 2\nfoo\n", 0, 3,
		    "missing '=' after attribute name", "foo" },
		{ "foo bar = x\n", 0, 1, "missing '=' after attribute name",
		    "foo bar = x" },
		{ "foo bar\n", 0, 1, "missing '=' after attribute name",
		    "foo bar" },
		{ "= x\n", 0, 1, "missing attribute name", "= x" },
		{ "t_a = 1\nfoo\n  bar\n", 0, 2,
		    "missing '=' after attribute name", "foo  bar" },
		{ "  t_a = 1\nfoo\n", 0, 2, "missing '=' after attribute name",
		    "foo" },
		/* A NUL ends the line as it does for Postfix's C strings. */
		{ "t_a = 1\nfo\0o = 2\n", 17, 2,
		    "missing '=' after attribute name", "fo" },
	};
	struct str *want = str_new(100);
	const char *dir, *got;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = read_fatal(cases[i].text,
		    cases[i].len ? cases[i].len : strlen(cases[i].text), &dir);
		str_fmt(want, "%s/main.cf, line %d: %s: \"%s\"", dir,
		    cases[i].line, cases[i].err, cases[i].quoted);
		TEST_STR(t, got, str_ptr(want));
	}

	/* A missing main.cf is reported to the caller. */
	{
		struct str *why = str_new(10);

		str_fmt(want, "%s/nonexistent", tmpdir);
		config_init(str_ptr(want));
		TEST_INT(t, config_read(why), -1);
		str_catfmt(want, "/main.cf");
		{
			struct str *w2 = str_new(10);

			str_fmt(w2, "open %s: %s", str_ptr(want),
			    strerror(ENOENT));
			TEST_STR(t, str_ptr(why), str_ptr(w2));
			str_free(w2);
		}
		str_free(why);
	}
	str_free(want);
}

static void
test_nul_and_big(struct test *t)
{
	static const char text[] = "t_nul = a\0b\nt_next = c\n";
	struct str *big = str_new(1 << 20), *why = str_new(10);
	const char *dir;
	size_t i;

	dir = write_main(text, sizeof(text) - 1);
	config_init(dir);
	TEST_INT(t, config_read(why), 0);
	TEST_STR(t, config_explicit("t_nul"), "a");
	TEST_STR(t, config_explicit("t_next"), "c");

	str_set(big, "t_big = ");
	for (i = 0; i < (1 << 20); i++)
		str_catc(big, 'a' + (int)(i % 26));
	str_cat(big, "\nt_bigref = <$t_big>\n");
	load(t, str_ptr(big));
	TEST_INT(t, strlen(config_explicit("t_big")), 1 << 20);
	TEST_INT(t, strlen(eval("t_bigref")), (1 << 20) + 2);
	str_free(big);
	str_free(why);
}

static void
test_expansion(struct test *t)
{
	const char *dir;
	struct str *want = str_new(100), *out = str_new(10), *why = str_new(10);

	dir = load(t, "t_late = <$t_later>\n"
		      "t_later = L\n"
		      "t_self = $t_self\n"
		      "t_m1 = $t_m2\n"
		      "t_m2 = $t_m1\n"
		      "t_undef = x $t_nosuch y\n"
		      "t_legacy = $virtual_maps\n"
		      "t_trunc = x ${oops\n"
		      "t_stress = ${stress?{10}:{300}}s\n");
	TEST_STR(t, eval("t_late"), "<L>");
	TEST_STR(t, eval("t_self"),
	    "ERROR: unreasonable macro call nesting: \"t_self\"");
	TEST_STR(t, eval("t_m1"),
	    "ERROR: unreasonable macro call nesting: \"t_m1\"");
	TEST_STR(t, eval("t_m2"),
	    "ERROR: unreasonable macro call nesting: \"t_m2\"");
	TEST_STR(t, eval("t_trunc"),
	    "ERROR: truncated macro reference: \"x ${oops\"");
	TEST_STR(t, eval("t_stress"), "300s");
	TEST_STR(t, eval("t_nosuch_at_all"), "");

	/* Undefined names warn once, in postconf's words; legacy ones not. */
	test_log_reset();
	TEST_STR(t, eval("t_undef"), "x  y");
	TEST_STR(t, eval("t_undef"), "x  y");
	TEST_STR(t, eval("t_legacy"), "");
	str_fmt(want, "warning: %s/main.cf: undefined parameter: t_nosuch\n",
	    dir);
	TEST_STR(t, test_log_text(), str_ptr(want));

	/* Overrides beat main.cf and are seen by lazy expansion. */
	config_override("t_later", "O");
	TEST_STR(t, config_explicit("t_later"), "O");
	TEST_STR(t, eval("t_late"), "<O>");
	config_override("stress", "yes");
	TEST_STR(t, eval("t_stress"), "10s");
	config_override("stress", "");
	TEST_STR(t, eval("t_stress"), "300s");

	TEST_INT(t, config_expand("$t_later-$$", out, why), 0);
	TEST_STR(t, str_ptr(out), "O-$");
	TEST_INT(t, config_expand("${t_later", out, why), -1);
	TEST_STR(t, str_ptr(why), "truncated macro reference: \"${t_later\"");

	/* Built-in defaults are used, and expanded, when nothing is set. */
	if (params_find("compatibility_level"))
		TEST_STR(t, eval("compatibility_level"), "0");
	if (params_find("mynetworks_style")) {
		TEST_STR(t, eval("mynetworks_style"), "subnet");
		config_override("compatibility_level", "3.6");
		TEST_STR(t, eval("mynetworks_style"), "host");
		config_override("compatibility_level", "1");
		TEST_STR(t, eval("mynetworks_style"), "subnet");
	}
	config_override("compatibility_level", NULL);
	config_override("stress", NULL);
	config_override("t_later", NULL);
	TEST_STR(t, eval("t_late"), "<L>");
	str_free(want);
	str_free(out);
	str_free(why);
}

static void
test_config_dir(struct test *t)
{
	const char *dir = write_main("t_env = 1\n", 10);
	struct str *why = str_new(10);

	setenv("MAIL_CONFIG", dir, 1);
	config_init(NULL);
	TEST_STR(t, config_dir(), dir);
	TEST_INT(t, config_read(why), 0);
	TEST_STR(t, config_explicit("t_env"), "1");
	TEST_STR(t, config_explicit("config_directory"), dir);
	unsetenv("MAIL_CONFIG");
	config_init(NULL);
	TEST_STR(t, config_dir(), DEF_CONFIG_DIR);

	/* main.cf's own config_directory wins, with Postfix's warning. */
	dir = load(t, "config_directory = /foo\n");
	TEST_STR(t, config_explicit("config_directory"), "/foo");
	{
		struct str *want = str_new(10);

		str_fmt(want,
		    "warning: %s/main.cf, line 1: overriding earlier entry: config_directory=%s\n",
		    dir, dir);
		TEST_STR(t, test_log_text(), str_ptr(want));
		str_free(want);
	}
	str_free(why);
}

static void
test_hostname(struct test *t)
{
	const char *host = params_hostname();
	struct str *want = str_new(100);
	bool dotless = strchr(host, '.') == NULL;

	if (!params_find("myhostname") || !params_find("mydomain")) {
		printf(
		    "  hostname: skipped: params.def lacks myhostname/mydomain\n");
		str_free(want);
		return;
	}
	load(t, "t_x = 1\n");
	TEST_STR(t, eval("myhostname"),
	    params_default(params_find("myhostname")));
	TEST_STR(t, eval("mydomain"), params_default(params_find("mydomain")));
	if (dotless) {
		str_fmt(want, "%s.localdomain", host);
		TEST_STR(t, eval("myhostname"), str_ptr(want));
		TEST_STR(t, eval("mydomain"), "localdomain");
	}

	load(t, "myhostname = mail.example.com\n");
	TEST_STR(t, eval("mydomain"), "example.com");
	load(t, "myhostname = single\n");
	TEST_STR(t, eval("mydomain"), "localdomain");

	load(t, "mydomain = example.org\n");
	str_fmt(want, "%s.example.org", host);
	TEST_STR(t, eval("myhostname"), dotless ? str_ptr(want) : host);

	/* Loops through the dynamic defaults end as Postfix's do. */
	load(t, "myhostname = mail.$mydomain\n");
	TEST_STR(t, eval("mydomain"), "");
	TEST_STR(t, eval("myhostname"), "mail.");
	if (dotless) {
		load(t, "mydomain = $myhostname\n");
		str_fmt(want, "%s.", host);
		TEST_STR(t, eval("myhostname"), str_ptr(want));
		TEST_STR(t, eval("mydomain"), str_ptr(want));
	}
	load(t, "myhostname = $mydomain\nmydomain = $myhostname\n");
	TEST_STR(t, eval("myhostname"),
	    "ERROR: unreasonable macro call nesting: \"myhostname\"");
	str_free(want);
}

static void
test_mynetworks(struct test *t)
{
	if (!params_find("mynetworks") || !params_find("inet_interfaces")) {
		printf("  mynetworks: skipped: params.def lacks mynetworks\n");
		return;
	}
	load(t, "inet_interfaces = 127.0.0.1\n");
	TEST_STR(t, eval("mynetworks"), "127.0.0.0/8");
	load(t, "inet_interfaces = 127.0.0.1\ncompatibility_level = 3.6\n");
	TEST_STR(t, eval("mynetworks"), "127.0.0.1/32");
	load(t, "inet_interfaces = $t_if\nt_if = 127.0.0.1\n"
		"mynetworks_style = host\n");
	TEST_STR(t, eval("mynetworks"), "127.0.0.1/32");
	TEST_STR(t, eval("mynetworks"), "127.0.0.1/32");
	load(t, "inet_interfaces = loopback-only\ninet_protocols = ipv4\n"
		"mynetworks_style = class\nt_ref = <$mynetworks>\n");
	TEST_STR(t, eval("t_ref"), "<127.0.0.0/8>");
	load(t, "mynetworks = 10.0.0.0/8\n");
	TEST_STR(t, eval("mynetworks"), "10.0.0.0/8");
}

static struct mastercf_entry *
entry(const char *name, const char *cmd)
{
	struct mastercf_entry *e = xcalloc(1, sizeof(*e));
	int i;

	e->field[0] = xstrdup(name);
	for (i = 1; i < 7; i++)
		e->field[i] = xstrdup("-");
	e->field[7] = xstrdup(cmd);
	e->args = argv_split(cmd, " ");
	return e;
}

static void
free_entry(struct mastercf_entry *e)
{
	int i;

	for (i = 0; i < 8; i++)
		free(e->field[i]);
	argv_free(e->args);
	free(e);
}

static void
test_services(struct test *t)
{
	struct mastercf mc = { 0 };
	struct mastercf_entry *e[9];
	const char **names;
	size_t i, n;
	const struct param *lp;

	load(t, "relay_destination_rate_delay = 5s\n");
	e[0] = entry("relay", "smtp");
	e[1] = entry("maildrop", "pipe flags=DRXhu user=vmail argv=/x");
	e[2] = entry("sp", "spawn");
	e[3] = entry("discard", "discard");
	e[4] = entry("smtpd", "smtpd");
	e[5] = entry("full", "/usr/lib/postfix/sbin/smtp");
	e[6] = entry("scalemail-backend", "pipe");
	e[7] = entry("local", "local");
	e[8] = entry("relay", "smtp");
	mc.entries = e;
	mc.count = 9;
	config_services(&mc);

	TEST_STR(t, config_raw("relay_destination_concurrency_limit"),
	    "$default_destination_concurrency_limit");
	TEST_STR(t, config_raw("relay_initial_destination_concurrency"),
	    "$initial_destination_concurrency");
	TEST_STR(t, config_raw("relay_time_limit"), NULL);
	TEST_STR(t, eval("relay_destination_concurrency_limit"),
	    params_find("default_destination_concurrency_limit")
		? params_default(
		      params_find("default_destination_concurrency_limit"))
		: "");
	/* main.cf beats the per-service default. */
	TEST_STR(t, config_raw("relay_destination_rate_delay"), "5s");
	TEST_STR(t, config_raw("maildrop_time_limit"), "$command_time_limit");
	TEST_STR(t, config_raw("maildrop_recipient_limit"),
	    "$default_recipient_limit");
	TEST_STR(t, config_raw("scalemail-backend_time_limit"),
	    "$command_time_limit");
	TEST_STR(t, config_raw("sp_time_limit"), "$command_time_limit");
	TEST_STR(t, config_raw("sp_recipient_limit"), NULL);
	TEST_STR(t, config_raw("discard_recipient_limit"), NULL);
	TEST_STR(t, config_raw("smtpd_recipient_refill_limit"), NULL);
	TEST_STR(t, config_raw("full_recipient_limit"), NULL);

	/* A built-in name keeps its built-in default. */
	if ((lp = params_find("local_destination_concurrency_limit")) != NULL)
		TEST_STR(t, config_raw("local_destination_concurrency_limit"),
		    params_default(lp));

	/*
	 * 16 for relay and local, 17 per pipe service, 1 for spawn, less the
	 * names that the table has built in (local_destination_*_limit).
	 */
	names = config_service_names();
	for (n = 0; names[n]; n++)
		;
	free(names);
	{
		static const char *const svc[][2] = { { "relay", "smtp" },
			{ "maildrop", "pipe" }, { "sp", "spawn" },
			{ "scalemail-backend", "pipe" }, { "local", "local" } };
		const struct param_service *ps;
		struct str *nm = str_new(10);
		size_t want = 0, k;

		for (k = 0; k < sizeof(svc) / sizeof(svc[0]); k++)
			for (ps = params_service_names(svc[k][1]); ps->suffix;
			     ps++) {
				str_fmt(nm, "%s_%s", svc[k][0], ps->suffix);
				want += params_find(str_ptr(nm)) == NULL;
			}
		TEST_INT(t, want >= 16 + 14 + 17 + 17 + 1, 1);
		TEST_INT(t, n, want);
		str_free(nm);
	}
	TEST_INT(t, params_service_names("smtp")[16].suffix == NULL, 1);
	TEST_INT(t, params_service_names("pipe")[17].suffix == NULL, 1);
	TEST_INT(t, params_service_names("spawn")[1].suffix == NULL, 1);

	TEST_INT(t, params_service_names("error") != NULL, 1);
	TEST_INT(t, params_service_names("lmtp") != NULL, 1);
	TEST_INT(t, params_service_names("virtual") != NULL, 1);
	TEST_INT(t, params_service_names("bounce") == NULL, 1);
	TEST_INT(t, params_service_names("qmgr") == NULL, 1);
	TEST_INT(t, params_service_names(NULL) == NULL, 1);
	for (i = 0; i < 9; i++)
		free_entry(e[i]);
}

static const struct test_case cases[] = {
	{ "syntax", test_syntax },
	{ "leading_ws", test_leading_ws },
	{ "bad_lines", test_bad_lines },
	{ "nul_and_big", test_nul_and_big },
	{ "expansion", test_expansion },
	{ "config_dir", test_config_dir },
	{ "hostname", test_hostname },
	{ "mynetworks", test_mynetworks },
	{ "services", test_services },
	{ 0 },
};

int
main(void)
{
	int rc;
	char cmd[300];

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	unsetenv("MAIL_CONFIG");
	rc = test_main(__FILE__, cases);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
