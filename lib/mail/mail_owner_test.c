/*
 * mail_owner_test - the account checks with Postfix 3.7's fatal texts
 * (observed with Debian's "postfix status" and a private main.cf), their
 * order, the accessors, and the privilege drop (as root only).
 *
 * The accounts come from this host's passwd and group files: two ordinary
 * users with distinct uids and primary groups, and a third group.  Cases
 * that need an account the host lacks say so and pass.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/config.h"
#include "lib/mail/mail_owner.h"
#include "lib/mail/params.h"

static char tmpdir[] = "/tmp/mail_owner_test.XXXXXX";

/* Two users (a: default_privs, b: mail_owner) and a group for setgid_group. */
static struct {
	char *a, *b, *group;
	uid_t a_uid, b_uid;
	gid_t a_gid, b_gid, group_gid;
	char *a_group, *b_group; /* names of a's and b's primary groups */
	char *dup, *dup_of; /* a user whose uid is listed first for another */
	bool found;
} ids;

/* A user or group that is the first entry for its id, as getpw*id sees it. */
static bool
user_is_first(const struct passwd *pw)
{
	struct passwd *p = getpwuid(pw->pw_uid);

	return p && strcmp(p->pw_name, pw->pw_name) == 0;
}

static char *
group_name(gid_t gid)
{
	struct group *gr = getgrgid(gid);

	return gr ? xstrdup(gr->gr_name) : NULL;
}

static void
find_accounts(void)
{
	struct passwd *pw;
	struct group *gr;

	setpwent();
	while ((pw = getpwent()) != NULL) {
		if (pw->pw_uid == 0 || pw->pw_gid == 0)
			continue;
		if (!user_is_first(pw)) {
			if (ids.dup == NULL) {
				ids.dup = xstrdup(pw->pw_name);
				ids.dup_of =
				    xstrdup(getpwuid(pw->pw_uid)->pw_name);
			}
			continue;
		}
		if (ids.a == NULL) {
			ids.a = xstrdup(pw->pw_name);
			ids.a_uid = pw->pw_uid;
			ids.a_gid = pw->pw_gid;
		} else if (ids.b == NULL && pw->pw_uid != ids.a_uid &&
			   pw->pw_gid != ids.a_gid) {
			ids.b = xstrdup(pw->pw_name);
			ids.b_uid = pw->pw_uid;
			ids.b_gid = pw->pw_gid;
		}
	}
	endpwent();
	if (ids.b == NULL)
		return;
	setgrent();
	while ((gr = getgrent()) != NULL) {
		struct group *first = getgrgid(gr->gr_gid);

		if (gr->gr_gid != 0 && gr->gr_gid != ids.a_gid &&
		    gr->gr_gid != ids.b_gid && first &&
		    strcmp(first->gr_name, gr->gr_name) == 0) {
			ids.group = xstrdup(gr->gr_name);
			ids.group_gid = gr->gr_gid;
			break;
		}
	}
	endgrent();
	ids.a_group = group_name(ids.a_gid);
	ids.b_group = group_name(ids.b_gid);
	ids.found = ids.group != NULL;
}

static bool
need_accounts(struct test *t)
{
	if (!ids.found)
		printf("  %s: skipped: this host lacks two ordinary users with "
		       "distinct groups and a third group\n",
		    t->name);
	return ids.found;
}

/* main.cf in a fresh directory; returns the directory. */
static const char *
write_main(const char *text)
{
	static int seq;
	static char dir[200];
	char path[300];
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s/d%d", tmpdir, ++seq);
	snprintf(path, sizeof(path), "%s/main.cf", dir);
	if (mkdir(dir, 0700) < 0 || (fp = fopen(path, "w")) == NULL) {
		perror(dir);
		exit(2);
	}
	fputs(text, fp);
	if (fclose(fp) != 0) {
		perror(path);
		exit(2);
	}
	return dir;
}

struct init_args {
	const char *dir;
	bool drop;
};

/* mail_owner_init() (and mail_owner_drop()) in test_fatal()'s child. */
static void
init_child(void *ctx)
{
	const struct init_args *a = ctx;
	struct str *why = str_new(10);

	config_init(a->dir);
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
	params_load();
	mail_owner_init();
	if (a->drop)
		mail_owner_drop();
}

/*
 * Run mail_owner_init() (and mail_owner_drop() if drop) on main.cf text in
 * a child; return its fatal text, "" when it passed, with "DIR" standing for the config directory.
 */
static const char *
init_fatal(const char *text, bool drop)
{
	static struct str *msg;
	struct init_args a = { write_main(text), drop };
	const char *got = test_fatal(init_child, &a), *hit, *p;

	if (msg == NULL)
		msg = str_new(100);
	str_reset(msg);
	/* Replace the directory with DIR so that the wants read plainly. */
	for (p = got; (hit = strstr(p, a.dir)) != NULL; p = hit + strlen(a.dir)) {
		str_catn(msg, p, (size_t)(hit - p));
		str_cat(msg, "DIR");
	}
	str_cat(msg, p);
	return str_ptr(msg);
}

/* main.cf text for default_privs, mail_owner, setgid_group. */
static const char *
conf(const char *privs, const char *owner, const char *group)
{
	static struct str *s;

	if (s == NULL)
		s = str_new(100);
	str_fmt(s, "default_privs = %s\nmail_owner = %s\nsetgid_group = %s\n",
	    privs, owner, group);
	return str_ptr(s);
}

static void
test_good(struct test *t)
{
	if (!need_accounts(t))
		return;
	TEST_STR(t, init_fatal(conf(ids.a, ids.b, ids.group), false), "");
}

static void
test_accessors(struct test *t)
{
	struct str *why = str_new(10);

	if (!need_accounts(t))
		return;
	config_init(write_main(conf(ids.a, ids.b, ids.group)));
	TEST_INT(t, config_read(why), 0);
	params_load();
	mail_owner_init();
	TEST_INT(t, mail_owner_uid(), ids.b_uid);
	TEST_INT(t, mail_owner_gid(), ids.b_gid);
	TEST_INT(t, setgid_gid(), ids.group_gid);
	TEST_INT(t, default_privs_uid(), ids.a_uid);
	TEST_INT(t, default_privs_gid(), ids.a_gid);
	str_free(why);
}

/* Each rejected setup with its Postfix text; %A %B %G name the accounts. */
static void
test_refused(struct test *t)
{
	struct str *want = str_new(100);

	if (!need_accounts(t))
		return;
	TEST_STR(t, init_fatal(conf(ids.a, "root", ids.group), false),
	    "file DIR/main.cf: parameter mail_owner: user root has privileged user ID");
	TEST_STR(t, init_fatal(conf(ids.a, "no-such-user-x", ids.group), false),
	    "file DIR/main.cf: parameter mail_owner: unknown user name value: no-such-user-x");
	TEST_STR(t, init_fatal(conf("root", ids.b, ids.group), false),
	    "file DIR/main.cf: parameter default_privs: user root has privileged user ID");
	TEST_STR(t, init_fatal(conf("no-such-user-y", ids.b, ids.group), false),
	    "file DIR/main.cf: parameter default_privs: unknown user name value: no-such-user-y");
	TEST_STR(t, init_fatal(conf(ids.a, ids.b, "root"), false),
	    "file DIR/main.cf: parameter setgid_group: group root has privileged group ID");
	TEST_STR(t, init_fatal(conf(ids.a, ids.b, "no-such-group-z"), false),
	    "file DIR/main.cf: parameter setgid_group: unknown group name: no-such-group-z");

	str_fmt(want,
	    "file DIR/main.cf: parameters default_privs and mail_owner specify the same user %s",
	    ids.b);
	TEST_STR(t, init_fatal(conf(ids.b, ids.b, ids.group), false),
	    str_ptr(want));

	if (ids.b_group) {
		str_fmt(want,
		    "file DIR/main.cf: parameters mail_owner and setgid_group: user %s and group %s have the same group ID: %ld",
		    ids.b, ids.b_group, (long)ids.b_gid);
		TEST_STR(t, init_fatal(conf(ids.a, ids.b, ids.b_group), false),
		    str_ptr(want));
	}
	if (ids.a_group) {
		str_fmt(want,
		    "file DIR/main.cf: parameters default_privs and setgid_group: user %s and group %s have the same group ID: %ld",
		    ids.a, ids.a_group, (long)ids.a_gid);
		TEST_STR(t, init_fatal(conf(ids.a, ids.b, ids.a_group), false),
		    str_ptr(want));
	}
	if (ids.dup) {
		str_fmt(want,
		    "file DIR/main.cf: parameter mail_owner: user %s has same user ID as %s",
		    ids.dup, ids.dup_of);
		TEST_STR(t, init_fatal(conf(ids.a, ids.dup, ids.group), false),
		    str_ptr(want));
	} else {
		printf(
		    "  %s: no user on this host shares a uid: \"same user "
		    "ID\" is tested end to end (tests/test_postfix_cmd.py)\n",
		    t->name);
	}
	TEST_STR(t, init_fatal("mail_owner =\n", false),
	    "bad string length 0 < 1: mail_owner = ");
	TEST_STR(t, init_fatal("setgid_group =\n", false),
	    "bad string length 0 < 1: setgid_group = ");
	str_free(want);
}

/* Postfix's order: default_privs, then mail_owner, then setgid_group. */
static void
test_order(struct test *t)
{
	if (!need_accounts(t))
		return;
	TEST_STR(t, init_fatal(conf("root", "root", "root"), false),
	    "file DIR/main.cf: parameter default_privs: user root has privileged user ID");
	TEST_STR(t, init_fatal(conf(ids.a, "root", "root"), false),
	    "file DIR/main.cf: parameter mail_owner: user root has privileged user ID");
	TEST_STR(t, init_fatal(conf(ids.a, "nosuch-1", "nosuch-2"), false),
	    "file DIR/main.cf: parameter mail_owner: unknown user name value: nosuch-1");
}

/*
 * Asking before mail_owner_init() is a bug: the child must abort.  (Runs
 * first: later cases initialize this process.)
 */
static void
test_panic_before_init(struct test *t)
{
	int status;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		msg_stderr(false);
		(void)mail_owner_uid();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	TEST_TRUE(t, WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

static void
test_drop(struct test *t)
{
	struct str *why = str_new(10);
	int fds[2], status;
	long got[4] = { -1, -1, -1, -1 };
	pid_t pid;

	if (!need_accounts(t))
		return;
	if (geteuid() != 0) {
		printf("  %s: skipped: mail_owner_drop needs root\n", t->name);
		str_free(why);
		return;
	}
	fflush(stdout);
	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		perror("pipe/fork");
		exit(2);
	}
	if (pid == 0) {
		gid_t groups[8];
		long res[4];
		ssize_t n;

		close(fds[0]);
		config_init(write_main(conf(ids.a, ids.b, ids.group)));
		if (config_read(why) < 0)
			_exit(3);
		params_load();
		mail_owner_init();
		mail_owner_drop();
		res[0] = (long)getuid();
		res[1] = (long)getegid();
		res[2] = getgroups(8, groups);
		res[3] = res[2] == 1 ? (long)groups[0] : -1;
		n = write(fds[1], res, sizeof(res));
		_exit(n == (ssize_t)sizeof(res) ? 0 : 4);
	}
	close(fds[1]);
	if (read(fds[0], got, sizeof(got)) != (ssize_t)sizeof(got))
		TEST_FAIL(t, "child sent no result");
	close(fds[0]);
	waitpid(pid, &status, 0);
	TEST_TRUE(t, WIFEXITED(status) && WEXITSTATUS(status) == 0);
	TEST_INT(t, got[0], ids.b_uid);
	TEST_INT(t, got[1], ids.b_gid);
	TEST_INT(t, got[2], 1);
	TEST_INT(t, got[3], ids.b_gid);
	str_free(why);
}

/* Not root: regaining root fails first, with Postfix's wording. */
static void
test_drop_unprivileged(struct test *t)
{
	if (!need_accounts(t))
		return;
	if (geteuid() == 0) {
		printf("  %s: skipped: running as root\n", t->name);
		return;
	}
	TEST_STR(t, init_fatal(conf(ids.a, ids.b, ids.group), true),
	    "seteuid(0): Operation not permitted");
}

static const struct test_case cases[] = {
	{ "panic_before_init", test_panic_before_init },
	{ "good", test_good },
	{ "accessors", test_accessors },
	{ "refused", test_refused },
	{ "order", test_order },
	{ "drop", test_drop },
	{ "drop_unprivileged", test_drop_unprivileged },
	{ 0 },
};

int
main(void)
{
	char cmd[300];
	int rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 2;
	}
	unsetenv("MAIL_CONFIG");
	find_accounts();
	rc = test_main(__FILE__, cases);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
