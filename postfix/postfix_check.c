/*
 * postfix_check - postfix-script's check-fatal and check-warn.
 *
 * check-fatal stops a start: missing queue directories that cannot be
 * made, no master.cf, maillog_file without a postlog service.  Postern
 * also refuses a master.cf it cannot parse (master would, a moment later)
 * and prepares the chroot here (Debian does that before start).  Postfix
 * then runs postsuper to move misplaced queue files; Postern has no
 * postsuper yet.
 *
 * check-warn reproduces postfix-script's find(1) commands one by one, in
 * its order and with its texts and path names (observed with Debian's
 * "postfix check" on a private instance): "not owned by root: DIR/.",
 * "group or other writable: DIR/./main.cf", "not owned by postfix:
 * QUEUE/hold", "not owned by group postdrop: QUEUE/public", "damaged
 * message: corrupt/ID", "QUEUE/etc/hosts and /etc/hosts differ"...
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/mail_owner.h"
#include "lib/mail/mastercf.h"
#include "lib/mail/params.h"
#include "postfix/postfix.h"

int
postfix_check_fatal(void)
{
	struct str *why = str_new(100), *path = str_new(100);
	struct mastercf *mc = NULL;
	struct stat st;
	int rc = -1;

	if (postfix_perms_create(why) < 0) {
		msg_warn("%s", str_ptr(why));
		postfix_fatal_line(
		    "unable to create missing queue directories");
		goto out;
	}
	str_fmt(path, "%s/master.cf", config_dir());
	if (stat(str_ptr(path), &st) < 0 || !S_ISREG(st.st_mode)) {
		postfix_fatal_line("no %s/master.cf file found", config_dir());
		goto out;
	}
	if ((mc = mastercf_read(str_ptr(path), why)) == NULL) {
		postfix_fatal_line("%s", str_ptr(why));
		goto out;
	}
	if (*var_maillog_file && !mastercf_find(mc, "postlog", "unix-dgram")) {
		postfix_fatal_line(
		    "missing 'postlog' service in master.cf - run 'postfix upgrade-configuration'");
		goto out;
	}
	if (postfix_chroot_need(mc) && postfix_chroot_sync(why) < 0) {
		postfix_fatal_line("%s", str_ptr(why));
		goto out;
	}
	rc = 0;
out:
	mastercf_free(mc);
	str_free(why);
	str_free(path);
	return rc;
}

/* What one find(1) command tests, and what it says for each hit. */
struct postfix_find {
	const char *text; /* "not owned by root" */
	uid_t uid;        /* ! -user: st_uid differs (when by_user) */
	gid_t gid;        /* ! -group (when by_group) */
	bool by_user, by_group;
	bool writable;      /* -perm -020 -o -perm -002 */
	bool setgid_exec;   /* ! -perm -02111 */
	bool skip_ipc;      /* ! ( -type p -o -type s ) */
	bool regular;       /* -type f */
	bool symlinks;      /* -type l whose target has a '/' */
	const char *prefix; /* put before the path in the message */
};

/* A symbolic link whose target names another directory ("readlink | grep /"). */
static bool
postfix_link_leaves(const char *path)
{
	size_t size = 256;
	bool slash;
	ssize_t n;
	char *buf;

	for (;;) {
		buf = xmalloc(size);
		if ((n = readlink(path, buf, size)) < 0) {
			free(buf);
			return false;
		}
		if ((size_t)n < size)
			break;
		free(buf);
		if (size >= (1 << 20))
			return false;
		size *= 2;
	}
	slash = memchr(buf, '/', (size_t)n) != NULL;
	free(buf);
	return slash;
}

static void
postfix_find_fn(const char *path, const struct stat *st, void *ctx)
{
	const struct postfix_find *f = ctx;

	if (f->skip_ipc && (S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode)))
		return;
	if (f->regular && !S_ISREG(st->st_mode))
		return;
	if (f->by_user && st->st_uid == f->uid)
		return;
	if (f->by_group && st->st_gid == f->gid)
		return;
	if (f->writable && (st->st_mode & 022) == 0)
		return;
	if (f->setgid_exec && (st->st_mode & 02111) == 02111)
		return;
	/* makedefs.out is a known link out of /etc/postfix. */
	if (f->symlinks &&
	    (!S_ISLNK(st->st_mode) ||
		strcmp(path, "/etc/postfix/./makedefs.out") == 0 ||
		!postfix_link_leaves(path)))
		return;
	msg_warn("%s: %s%s", f->text, f->prefix ? f->prefix : "", path);
}

/* find START [-prune] TESTS -exec WARN TEXT: {} */
static void
postfix_find(const char *start, bool prune, bool follow,
    const struct postfix_find *f)
{
	struct stat st;

	if (!prune) {
		postfix_walk(start, follow, postfix_find_fn, (void *)f);
		return;
	}
	if ((follow ? stat(start, &st) : lstat(start, &st)) == 0)
		postfix_find_fn(start, &st, (void *)f);
}

/* cmp -s: true when both files can be read and have the same bytes. */
static bool
postfix_same_content(const char *a, const char *b)
{
	char buf_a[8192], buf_b[8192];
	ssize_t na, nb;
	bool same = false;
	int fa, fb;

	if ((fa = open(a, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	if ((fb = open(b, O_RDONLY | O_CLOEXEC)) < 0) {
		(void)close(fa);
		return false;
	}
	for (;;) {
		/* Regular files: a short read happens only at the end. */
		na = read(fa, buf_a, sizeof(buf_a));
		nb = read(fb, buf_b, sizeof(buf_b));
		if (na < 0 || nb < 0 || na != nb ||
		    memcmp(buf_a, buf_b, (size_t)na) != 0)
			break;
		if (na == 0) {
			same = true;
			break;
		}
	}
	(void)close(fa);
	(void)close(fb);
	return same;
}

static bool
postfix_is_regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* find DIR -type f | ... cmp -s DIR/x /DIR/x || WARN QUEUE/x and /x differ */
static void
postfix_differ_fn(const char *path, const struct stat *st, void *ctx)
{
	struct str *sys = ctx;

	if (!S_ISREG(st->st_mode))
		return;
	str_fmt(sys, "/%s", path);
	if (postfix_is_regular(str_ptr(sys)) &&
	    !postfix_same_content(path, str_ptr(sys)))
		msg_warn("%s/%s and /%s differ", var_queue_directory, path,
		    path);
}

static int
postfix_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The root-owned trees: config_directory, and the shared ones (sort -u). */
static struct argv *
postfix_root_trees(void)
{
	struct argv *todo = argv_new();
	struct str *s = str_new(100);
	size_t i, j;

	str_fmt(s, "%s/.", var_config_directory);
	argv_add(todo, str_ptr(s));
	if (postfix_shared) {
		str_fmt(s, "%s/.", var_daemon_directory);
		argv_add(todo, str_ptr(s));
		str_fmt(s, "%s/.", var_meta_directory);
		argv_add(todo, str_ptr(s));
	}
	qsort(todo->argv, todo->argc, sizeof(char *), postfix_strcmp);
	for (i = j = 0; i < todo->argc; i++) {
		if (j > 0 && strcmp(todo->argv[j - 1], todo->argv[i]) == 0) {
			free(todo->argv[i]);
			continue;
		}
		todo->argv[j++] = todo->argv[i];
	}
	todo->argc = j;
	todo->argv[j] = NULL;
	str_free(s);
	return todo;
}

void
postfix_check_warn(void)
{
	/* The queues postfix-script picks with ls and egrep, in ls order. */
	static const char *const owned[] = { "active", "bounce", "corrupt",
		"defer", "deferred", "flush", "hold", "incoming", "private",
		"public", "saved", "trace" };
	static const char *const sys_dirs[] = { "bin", "etc", "lib", "sbin",
		"usr" };
	struct str *path = str_new(100), *text = str_new(100);
	struct str *prefix = str_new(100);
	struct postfix_find f;
	struct argv *todo;
	struct stat st;

	/* The queue directory and pid/: root's, not writable by others. */
	f = (struct postfix_find){ .text = "not owned by root",
		.uid = 0,
		.by_user = true };
	str_fmt(path, "%s/.", var_queue_directory);
	postfix_find(str_ptr(path), true, false, &f);
	str_fmt(path, "%s/pid", var_queue_directory);
	postfix_find(str_ptr(path), true, false, &f);
	f = (struct postfix_find){ .text = "group or other writable",
		.writable = true };
	str_fmt(path, "%s/.", var_queue_directory);
	postfix_find(str_ptr(path), true, false, &f);
	str_fmt(path, "%s/pid", var_queue_directory);
	postfix_find(str_ptr(path), true, false, &f);

	/* The configuration (and shared program) trees. */
	todo = postfix_root_trees();
	f = (struct postfix_find){ .text = "not owned by root",
		.uid = 0,
		.by_user = true };
	for (size_t i = 0; i < todo->argc; i++)
		postfix_find(todo->argv[i], false, false, &f);
	f = (struct postfix_find){ .text = "group or other writable",
		.writable = true };
	for (size_t i = 0; i < todo->argc; i++)
		postfix_find(todo->argv[i], false, true, &f);
	f = (struct postfix_find){ .text = "symlink leaves directory",
		.symlinks = true };
	for (size_t i = 0; i < todo->argc; i++)
		postfix_find(todo->argv[i], false, false, &f);
	argv_free(todo);

	/* data_directory: mail_owner's. */
	str_fmt(text, "not owned by %s", var_mail_owner);
	str_fmt(path, "%s/.", var_data_directory);
	f = (struct postfix_find){ .text = str_ptr(text),
		.uid = mail_owner_uid(),
		.by_user = true };
	postfix_find(str_ptr(path), false, false, &f);
	f = (struct postfix_find){ .text = "group or other writable",
		.writable = true };
	postfix_find(str_ptr(path), false, false, &f);

	/* The queues, sockets and fifos aside; maildrop itself only. */
	f = (struct postfix_find){ .text = str_ptr(text),
		.uid = mail_owner_uid(),
		.by_user = true,
		.skip_ipc = true };
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		str_fmt(path, "%s/%s", var_queue_directory, owned[i]);
		postfix_find(str_ptr(path), false, false, &f);
	}
	str_fmt(path, "%s/maildrop", var_queue_directory);
	f = (struct postfix_find){ .text = str_ptr(text),
		.uid = mail_owner_uid(),
		.by_user = true };
	postfix_find(str_ptr(path), true, false, &f);

	/* setgid_group: the set-gid commands, public and maildrop. */
	str_fmt(text, "not owned by group %s", var_setgid_group);
	f = (struct postfix_find){ .text = str_ptr(text),
		.gid = setgid_gid(),
		.by_group = true };
	if (postfix_shared) {
		str_fmt(path, "%s/postqueue", var_command_directory);
		postfix_find(str_ptr(path), true, false, &f);
		str_fmt(path, "%s/postdrop", var_command_directory);
		postfix_find(str_ptr(path), true, false, &f);
	}
	str_fmt(path, "%s/public", var_queue_directory);
	postfix_find(str_ptr(path), true, false, &f);
	str_fmt(path, "%s/maildrop", var_queue_directory);
	postfix_find(str_ptr(path), true, false, &f);
	if (postfix_shared) {
		f = (struct postfix_find){
			.text =
			    "not set-gid or not owner+group+world executable",
			.setgid_exec = true
		};
		str_fmt(path, "%s/postqueue", var_command_directory);
		postfix_find(str_ptr(path), true, false, &f);
		str_fmt(path, "%s/postdrop", var_command_directory);
		postfix_find(str_ptr(path), true, false, &f);
	}

	/* The chroot's copies of system files: root's, and up to date. */
	str_fmt(prefix, "%s/", var_queue_directory);
	for (size_t i = 0; i < sizeof(sys_dirs) / sizeof(sys_dirs[0]); i++) {
		if (stat(sys_dirs[i], &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		f = (struct postfix_find){ .text = "not owned by root",
			.uid = 0,
			.by_user = true,
			.prefix = str_ptr(prefix) };
		postfix_find(sys_dirs[i], false, false, &f);
		postfix_walk(sys_dirs[i], false, postfix_differ_fn, path);
	}

	f = (struct postfix_find){ .text = "damaged message", .regular = true };
	postfix_find("corrupt", false, false, &f);

	/* Another MTA's leftovers. */
	if (postfix_shared && postfix_is_regular("/usr/sbin/sendmail") &&
	    postfix_is_regular("/usr/lib/sendmail") &&
	    !postfix_same_content("/usr/sbin/sendmail", "/usr/lib/sendmail")) {
		msg_warn("/usr/lib/sendmail and /usr/sbin/sendmail differ");
		msg_warn("Replace one by a symbolic link to the other");
	}
	str_free(path);
	str_free(text);
	str_free(prefix);
}
