/*
 * params_test - the generated table, dynamic defaults, and the loader's
 * checks with Postfix 3.7's fatal texts (observed with Debian's postmap).
 * The cases pick parameters of each type from whatever params.def holds,
 * so they work for the seed table and for the full one.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/config.h"
#include "lib/mail/params.h"

static char tmpdir[] = "/tmp/params_test.XXXXXX";

static const char *
write_main(const char *text)
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
	if ((fp = fopen(path, "w")) == NULL || fputs(text, fp) == EOF ||
	    fclose(fp) != 0) {
		perror(path);
		exit(2);
	}
	return dir;
}

static void
load(struct test *t, const char *text)
{
	struct str *why = str_new(10);

	config_init(write_main(text));
	TEST_INT(t, config_read(why), 0);
	str_free(why);
}

/* params_load() with this main.cf directory, in test_fatal()'s child. */
static void
load_child(void *dir)
{
	struct str *why = str_new(10);

	config_init(dir);
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
	params_load();
}

/* params_load() in a child with this main.cf: its fatal text, or "". */
static const char *
load_fatal(const char *text)
{
	return test_fatal(load_child, (void *)write_main(text));
}

/* The first parameter of a type, optionally with a nonzero min or max. */
static const struct param *
pick(enum param_type type, int need_min, int need_max)
{
	const struct param *tab;
	size_t n, i;

	tab = params_table(&n);
	for (i = 0; i < n; i++)
		if (tab[i].type == type && (!need_min || tab[i].min > 0) &&
		    (!need_max || tab[i].max > 0))
			return &tab[i];
	return NULL;
}

static void
test_table(struct test *t)
{
	const struct param *tab;
	size_t n, i;

	tab = params_table(&n);
	TEST_TRUE(t, n > 0);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(tab[i - 1].name, tab[i].name) >= 0)
			TEST_FAIL(t, "not sorted: %s before %s",
			    tab[i - 1].name, tab[i].name);
		if (params_find(tab[i].name) != &tab[i])
			TEST_FAIL(t, "params_find(%s) fails", tab[i].name);
		if (tab[i].var == NULL)
			TEST_FAIL(t, "%s: no variable", tab[i].name);
		if (params_default(&tab[i]) == NULL)
			TEST_FAIL(t, "%s: no default", tab[i].name);
	}
	TEST_TRUE(t, params_find("no_such_parameter") == NULL);
	TEST_TRUE(t, params_find("") == NULL);
}

static void
test_dynamic(struct test *t)
{
	static const struct {
		const char *name, *want;
	} cases[] = {
		{ "command_directory", DEF_COMMAND_DIR },
		{ "daemon_directory", DEF_DAEMON_DIR },
		{ "config_directory", DEF_CONFIG_DIR },
		{ "queue_directory", DEF_QUEUE_DIR },
		{ "data_directory", DEF_DATA_DIR },
		{ "manpage_directory", DEF_MANPAGE_DIR },
		{ "meta_directory", DEF_CONFIG_DIR },
		{ "sample_directory", DEF_CONFIG_DIR },
		{ "shlib_directory", "/usr/lib/postfix" },
		{ "readme_directory", "/usr/share/doc/postfix" },
		{ "html_directory", "/usr/share/doc/postfix/html" },
		{ "mail_version", MAIL_VERSION },
	};
	const struct param *p;
	const char *host = params_hostname(), *dot;
	struct str *want = str_new(100);
	char pid[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if ((p = params_find(cases[i].name)) != NULL)
			TEST_STR(t, params_default(p), cases[i].want);
	if ((p = params_find("myhostname")) != NULL) {
		str_set(want, host);
		if (strchr(host, '.') == NULL)
			str_cat(want, ".localdomain");
		TEST_STR(t, params_default(p), str_ptr(want));
		dot = strchr(str_ptr(want), '.');
		if ((p = params_find("mydomain")) != NULL)
			TEST_STR(t, params_default(p), dot + 1);
	}
	if ((p = params_find("process_id")) != NULL) {
		snprintf(pid, sizeof(pid), "%ld", (long)getpid());
		TEST_STR(t, params_default(p), pid);
	}
	if ((p = params_find("process_name")) != NULL)
		TEST_STR(t, params_default(p), msg_program());
	str_free(want);
}

/* Compare with Debian's postconf when it is installed. */
static void
test_postfix_defaults(struct test *t)
{
	static const char *const names[] = { "myhostname", "mydomain",
		"mynetworks" };
	const struct param *p;
	char cmd[200], line[4096];
	FILE *fp;
	size_t i, len;

	if (access("/usr/sbin/postconf", X_OK) != 0) {
		printf("  postfix_defaults: skipped: no /usr/sbin/postconf\n");
		return;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(cmd, sizeof(cmd),
		    "/usr/sbin/postconf -dh %s 2>/dev/null", names[i]);
		if ((fp = popen(cmd, "r")) == NULL)
			continue;
		if (fgets(line, sizeof(line), fp) != NULL) {
			len = strlen(line);
			if (len && line[len - 1] == '\n')
				line[len - 1] = 0;
			if ((p = params_find(names[i])) != NULL)
				TEST_STR(t, params_default(p), line);
			else if (strcmp(names[i], "mynetworks") == 0) {
				struct str *o = str_new(10), *w = str_new(10);

				TEST_INT(t,
				    params_mynetworks("subnet", "all", "all", o,
					w),
				    0);
				TEST_STR(t, str_ptr(o), line);
				str_free(o);
				str_free(w);
			}
		}
		pclose(fp);
	}
}

static void
test_mynetworks(struct test *t)
{
	static const struct {
		const char *style, *ifaces, *protos, *why;
	} bad[] = {
		{ "bogus", "all", "all",
		    "unknown mynetworks mask style value \"bogus\" in \"bogus\"" },
		{ "HOST", "all", "all",
		    "unknown mynetworks mask style value \"HOST\" in \"HOST\"" },
		{ "subnet", "all", "foo",
		    "unknown inet_protocols value \"foo\" in \"foo\"" },
		{ "subnet", "192.0.2.254, 10.9.9.9, 127.0.0.1", "all",
		    "parameter inet_interfaces: no local interface found for 10.9.9.9" },
		{ "subnet", "nosuchhost.invalid", "all",
		    "config variable inet_interfaces: host not found: nosuchhost.invalid" },
	};
	struct str *out = str_new(10), *why = str_new(10);
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TEST_INT(t,
		    params_mynetworks(bad[i].style, bad[i].ifaces,
			bad[i].protos, out, why),
		    -1);
		if (strstr(bad[i].ifaces, "192.0.2.254") == NULL)
			TEST_STR(t, str_ptr(why), bad[i].why);
	}

	/* Loopback is always there. */
	TEST_INT(t, params_mynetworks("subnet", "127.0.0.1", "all", out, why),
	    0);
	TEST_STR(t, str_ptr(out), "127.0.0.0/8");
	TEST_INT(t, params_mynetworks("host", "[127.0.0.1]", "all", out, why),
	    0);
	TEST_STR(t, str_ptr(out), "127.0.0.1/32");
	TEST_INT(t, params_mynetworks("class", "127.0.0.1", "ipv4", out, why),
	    0);
	TEST_STR(t, str_ptr(out), "127.0.0.0/8");
	TEST_INT(t,
	    params_mynetworks("subnet", "127.0.0.1, 127.0.0.1", "all", out,
		why),
	    0);
	TEST_STR(t, str_ptr(out), "127.0.0.0/8");
	TEST_INT(t,
	    params_mynetworks("subnet", "loopback-only", "ipv4", out, why), 0);
	TEST_STR(t, str_ptr(out), "127.0.0.0/8");
	TEST_INT(t, params_mynetworks("subnet", "all", "ipv4", out, why), 0);
	TEST_TRUE(t, strncmp(str_ptr(out), "127.0.0.0/8", 11) == 0);
	TEST_TRUE(t, strchr(str_ptr(out), '[') == NULL);
	TEST_INT(t, params_mynetworks("host", "all", "ipv6", out, why), 0);
	TEST_TRUE(t, strchr(str_ptr(out), '.') == NULL);
	str_free(out);
	str_free(why);
}

static void
test_load_defaults(struct test *t)
{
	const struct param *p;

	load(t, "t_unused = 1\n");
	params_load();
	if ((p = pick(P_TYPE_INT, 0, 0)) != NULL && p->defval[0] != '$' &&
	    strchr(p->defval, '{') == NULL)
		TEST_INT(t, *(int *)p->var, atoi(p->defval));
	if ((p = params_find("smtpd_timeout")) != NULL &&
	    p->type == P_TYPE_TIME)
		TEST_INT(t, *(int *)p->var, 300);
	if ((p = params_find("smtpd_hard_error_limit")) != NULL &&
	    p->type == P_TYPE_INT)
		TEST_INT(t, *(int *)p->var, 20);
	if ((p = params_find("maximal_queue_lifetime")) != NULL &&
	    p->type == P_TYPE_TIME)
		TEST_INT(t, *(int *)p->var, 5 * 86400);
	if ((p = params_find("mail_name")) != NULL)
		TEST_STR(t, *(char **)p->var, "Postern");
	if ((p = params_find("syslog_name")) != NULL)
		TEST_STR(t, *(char **)p->var, "postfix");
	if ((p = params_find("default_rbl_reply")) != NULL &&
	    p->type == P_TYPE_RAW)
		TEST_STR(t, *(char **)p->var, p->defval);

	/* Stress on and off. */
	config_override("stress", "yes");
	params_load();
	if ((p = params_find("smtpd_timeout")) != NULL &&
	    p->type == P_TYPE_TIME)
		TEST_INT(t, *(int *)p->var, 10);
	if ((p = params_find("smtpd_hard_error_limit")) != NULL &&
	    p->type == P_TYPE_INT)
		TEST_INT(t, *(int *)p->var, 1);
	config_override("stress", "");
	params_load();
	if ((p = params_find("smtpd_timeout")) != NULL &&
	    p->type == P_TYPE_TIME)
		TEST_INT(t, *(int *)p->var, 300);
	config_override("stress", NULL);
	TEST_STR(t, config_explicit("stress"), NULL);
}

static void
test_load_values(struct test *t)
{
	const struct param *p;
	struct str *cf = str_new(100);

	if ((p = pick(P_TYPE_BOOL, 0, 0)) != NULL) {
		str_fmt(cf, "%s = YES\n", p->name);
		load(t, str_ptr(cf));
		params_load();
		TEST_INT(t, *(bool *)p->var, 1);
		str_fmt(cf, "%s = No\n", p->name);
		load(t, str_ptr(cf));
		params_load();
		TEST_INT(t, *(bool *)p->var, 0);
	}
	if ((p = pick(P_TYPE_INT, 0, 0)) != NULL) {
		long v = p->min > 0 ? p->min : 7;

		str_fmt(cf, "%s = +%ld\n", p->name, v);
		load(t, str_ptr(cf));
		params_load();
		TEST_INT(t, *(int *)p->var, v);
	}
	if ((p = pick(P_TYPE_LONG, 0, 0)) != NULL) {
		str_fmt(cf, "%s = 4294967296\n", p->name);
		load(t, str_ptr(cf));
		params_load();
		TEST_INT(t, *(long *)p->var, 4294967296L);
	}
	if ((p = params_find("maximal_queue_lifetime")) != NULL &&
	    p->type == P_TYPE_TIME) {
		static const struct {
			const char *val;
			int want;
		} tc[] = {
			{ "2", 2 * 86400 },
			{ "3h", 3 * 3600 },
			{ "10sec", 10 },
			{ "2w", 14 * 86400 },
			{ "90m", 5400 },
			{ "0", 0 },
		};
		size_t i;

		for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
			if (p->max && tc[i].want > p->max)
				continue;
			if (p->min && tc[i].want < p->min)
				continue;
			str_fmt(cf, "%s = %s\n", p->name, tc[i].val);
			load(t, str_ptr(cf));
			params_load();
			TEST_INT(t, *(int *)p->var, tc[i].want);
		}
	}
	if ((p = params_find("smtpd_timeout")) != NULL &&
	    p->type == P_TYPE_TIME) {
		load(t, "smtpd_timeout = 5\n");
		params_load();
		TEST_INT(t, *(int *)p->var, 5);
		load(t, "smtpd_timeout = $t_five\nt_five = 1m\n");
		params_load();
		TEST_INT(t, *(int *)p->var, 60);
	}
	if ((p = pick(P_TYPE_STR, 0, 0)) != NULL) {
		str_fmt(cf, "%s = <$t_v>\nt_v = V\n", p->name);
		load(t, str_ptr(cf));
		params_load();
		TEST_STR(t, *(char **)p->var, "<V>");
	}
	if ((p = pick(P_TYPE_RAW, 0, 0)) != NULL) {
		str_fmt(cf, "%s = <$t_v>\nt_v = V\n", p->name);
		load(t, str_ptr(cf));
		params_load();
		TEST_STR(t, *(char **)p->var, "<$t_v>");
	}
	str_free(cf);
}

/* Bad values: fatal, in Postfix's words. */
static void
test_load_errors(struct test *t)
{
	struct str *cf = str_new(100), *want = str_new(100);
	const struct param *p;
	size_t i;

	if ((p = pick(P_TYPE_INT, 0, 0)) != NULL) {
		static const char *const bad[] = { "x", "12x", "99999999999",
			"0x10", "1.5", "" };

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			str_fmt(cf, "%s = %s\n", p->name, bad[i]);
			str_fmt(want, "bad numerical configuration: %s = %s",
			    p->name, bad[i]);
			TEST_STR(t, load_fatal(str_ptr(cf)), str_ptr(want));
		}
	}
	if ((p = pick(P_TYPE_INT, 1, 0)) != NULL) {
		str_fmt(cf, "%s = %ld\n", p->name, p->min - 1);
		str_fmt(want, "invalid %s parameter value %ld < %ld", p->name,
		    p->min - 1, p->min);
		TEST_STR(t, load_fatal(str_ptr(cf)), str_ptr(want));
		str_fmt(cf, "%s = -1\n", p->name);
		str_fmt(want, "invalid %s parameter value -1 < %ld", p->name,
		    p->min);
		TEST_STR(t, load_fatal(str_ptr(cf)), str_ptr(want));
	}
	if ((p = pick(P_TYPE_INT, 0, 1)) != NULL) {
		str_fmt(cf, "%s = %ld\n", p->name, p->max + 1);
		str_fmt(want, "invalid %s parameter value %ld > %ld", p->name,
		    p->max + 1, p->max);
		TEST_STR(t, load_fatal(str_ptr(cf)), str_ptr(want));
	}
	if ((p = pick(P_TYPE_LONG, 0, 0)) != NULL) {
		str_fmt(cf, "%s = 99999999999999999999\n", p->name);
		str_fmt(want,
		    "bad numerical configuration: %s = 99999999999999999999",
		    p->name);
		TEST_STR(t, load_fatal(str_ptr(cf)), str_ptr(want));
	}
	if ((p = pick(P_TYPE_BOOL, 0, 0)) != NULL) {
		static const char *const bad[] = { "maybe", "", "1", "true",
			"yes no" };

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			str_fmt(cf, "%s = %s\n", p->name, bad[i]);
			str_fmt(want, "bad boolean configuration: %s = %s",
			    p->name, bad[i]);
			TEST_STR(t, load_fatal(str_ptr(cf)), str_ptr(want));
		}
	}
	if ((p = pick(P_TYPE_TIME, 0, 0)) != NULL) {
		static const char *const bad[] = { "x", "10x", "10 s", "5S",
			"-10", "0x10", "", "2147483648", "1000000w", "3550w",
			"24856d", "596524h", "35791395m" };

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			str_fmt(cf, "%s = %s\n", p->name, bad[i]);
			str_fmt(want,
			    "parameter %s: bad time value or unit: %s", p->name,
			    bad[i]);
			TEST_STR(t, load_fatal(str_ptr(cf)), str_ptr(want));
		}
	}
	if ((p = pick(P_TYPE_TIME, 1, 0)) != NULL) {
		str_fmt(cf, "%s = 0s\n", p->name);
		str_fmt(want, "invalid %s: 0 (min %ld)", p->name, p->min);
		TEST_STR(t, load_fatal(str_ptr(cf)), str_ptr(want));
	}
	if ((p = pick(P_TYPE_TIME, 0, 1)) != NULL && p->max < INT_MAX - 1) {
		str_fmt(cf, "%s = %lds\n", p->name, p->max + 1);
		str_fmt(want, "invalid %s: %ld (max %ld)", p->name, p->max + 1,
		    p->max);
		TEST_STR(t, load_fatal(str_ptr(cf)), str_ptr(want));
	}
	if ((p = pick(P_TYPE_STR, 1, 0)) != NULL) {
		str_fmt(cf, "%s =\n", p->name);
		str_fmt(want, "bad string length 0 < %ld: %s = ", p->min,
		    p->name);
		TEST_STR(t, load_fatal(str_ptr(cf)), str_ptr(want));
	}
	if ((p = pick(P_TYPE_STR, 0, 0)) != NULL) {
		str_fmt(cf, "%s = ${oops\n", p->name);
		TEST_STR(t, load_fatal(str_ptr(cf)),
		    "dictionary mail_dict: macro processing error");
		str_fmt(cf, "%s = $t_a\nt_a = $t_b\nt_b = $t_a\n", p->name);
		TEST_STR(t, load_fatal(str_ptr(cf)),
		    "dictionary mail_dict: macro processing error");
	}
	/* A good configuration is not fatal. */
	TEST_STR(t, load_fatal("t_fine = 1\n"), "");
	str_free(cf);
	str_free(want);
}

static void
test_notyet(struct test *t)
{
	const struct param *tab;
	size_t n, i;
	struct str *cf = str_new(100), *want = str_new(100);

	tab = params_table(&n);
	for (i = 0; i < n; i++)
		if (tab[i].flags & P_NOTYET)
			break;
	if (i == n) {
		printf(
		    "  notyet: skipped: no P_NOTYET parameter in params.def\n");
		goto out;
	}
	str_fmt(cf, "%s = %s\n", tab[i].name, params_default(&tab[i]));
	load(t, str_ptr(cf));
	test_log_reset();
	params_warn_notyet();
	str_fmt(want,
	    "warning: %s is set but not yet supported by Postern: ignored\n",
	    tab[i].name);
	TEST_STR(t, test_log_text(), str_ptr(want));

	/* Nothing set, nothing said. */
	load(t, "t_x = 1\n");
	test_log_reset();
	params_warn_notyet();
	TEST_STR(t, test_log_text(), "");
out:
	str_free(cf);
	str_free(want);
}

static void
test_legacy(struct test *t)
{
	TEST_TRUE(t, params_is_legacy("virtual_maps"));
	TEST_TRUE(t, params_is_legacy("fallback_relay"));
	TEST_TRUE(t, !params_is_legacy("myhostname"));
	TEST_TRUE(t, !params_is_legacy(""));
}

static const struct test_case cases[] = {
	{ "table", test_table },
	{ "dynamic", test_dynamic },
	{ "postfix_defaults", test_postfix_defaults },
	{ "mynetworks", test_mynetworks },
	{ "load_defaults", test_load_defaults },
	{ "load_values", test_load_values },
	{ "load_errors", test_load_errors },
	{ "notyet", test_notyet },
	{ "legacy", test_legacy },
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
