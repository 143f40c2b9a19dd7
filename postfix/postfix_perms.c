/*
 * postfix_perms - Postfix's table of files and directories with their
 * owners and modes (its postfix-files, as post-install applies it), used
 * to create missing directories (check, start) and by set-permissions.
 *
 * Owners, modes and flags are those of Debian's /etc/postfix/postfix-files
 * for Postfix 3.7: the queue directories mail_owner 0700 (active, bounce,
 * corrupt, defer, deferred, flush, hold, incoming, saved, trace recursively:
 * queue files below them change owner too, and subdirectories mode),
 * maildrop mail_owner:setgid_group 0730, public mail_owner:setgid_group
 * 0710, pid root 0755, data_directory mail_owner 0700; commands and daemons
 * root 0755, postdrop, postqueue and postlog root:setgid_group 2755.  A
 * missing directory is made with mkdir (one level, as post-install) and
 * then given its owner and mode.  Unlike post-install, set-permissions
 * skips commands and daemons that are not installed (Postern does not have
 * all of Postfix's yet) instead of failing on them, and, like GNU chmod for
 * the set-id bits, keeps a directory's set-id and sticky bits: Debian's
 * postinst makes maildrop 1730 and public 2710 on purpose.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/mail_owner.h"
#include "lib/mail/params.h"
#include "postfix/postfix.h"

enum postfix_where {
	PF_CONFIG,
	PF_DATA,
	PF_DAEMON,
	PF_QUEUE,
	PF_COMMAND,
	PF_SENDMAIL
};

#define PF_CREATE    (1 << 0) /* create when missing ("c") */
#define PF_RECURSIVE (1 << 1) /* owner and directory modes below too ("r") */
#define PF_SHARED    (1 << 2) /* shared by all instances */
#define PF_INSTALLED (1 << 3) /* only when it exists */

struct postfix_file {
	enum postfix_where where;
	const char *name;  /* NULL: the directory (or file) itself */
	bool mail_owner;   /* owner mail_owner, else root */
	bool setgid_group; /* group setgid_group, else unchanged */
	mode_t mode;
	int flags;
};

#define PF_QUEUE_DIR (PF_CREATE | PF_RECURSIVE)
#define PF_PROGRAM   (PF_SHARED | PF_INSTALLED)

/* In postfix-files order; a NULL name with PF_SENDMAIL is sendmail_path. */
static const struct postfix_file postfix_files[] = {
	{ PF_CONFIG, NULL, false, false, 0755, 0 },
	{ PF_DATA, NULL, true, false, 0700, PF_CREATE },
	{ PF_DAEMON, NULL, false, false, 0755, PF_SHARED },
	{ PF_QUEUE, NULL, false, false, 0755, PF_CREATE },
	{ PF_QUEUE, "active", true, false, 0700, PF_QUEUE_DIR },
	{ PF_QUEUE, "bounce", true, false, 0700, PF_QUEUE_DIR },
	{ PF_QUEUE, "corrupt", true, false, 0700, PF_QUEUE_DIR },
	{ PF_QUEUE, "defer", true, false, 0700, PF_QUEUE_DIR },
	{ PF_QUEUE, "deferred", true, false, 0700, PF_QUEUE_DIR },
	{ PF_QUEUE, "flush", true, false, 0700, PF_QUEUE_DIR },
	{ PF_QUEUE, "hold", true, false, 0700, PF_QUEUE_DIR },
	{ PF_QUEUE, "incoming", true, false, 0700, PF_QUEUE_DIR },
	{ PF_QUEUE, "private", true, false, 0700, PF_CREATE },
	{ PF_QUEUE, "maildrop", true, true, 0730, PF_CREATE },
	{ PF_QUEUE, "public", true, true, 0710, PF_CREATE },
	{ PF_QUEUE, "pid", false, false, 0755, PF_CREATE },
	{ PF_QUEUE, "saved", true, false, 0700, PF_QUEUE_DIR },
	{ PF_QUEUE, "trace", true, false, 0700, PF_QUEUE_DIR },
	{ PF_DAEMON, "anvil", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "bounce", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "cleanup", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "discard", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "dnsblog", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "error", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "flush", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "local", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "master", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "oqmgr", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "pickup", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "pipe", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "postlogd", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "postscreen", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "proxymap", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "qmgr", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "qmqpd", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "scache", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "showq", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "smtp", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "smtpd", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "spawn", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "tlsproxy", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "tlsmgr", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "trivial-rewrite", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "verify", false, false, 0755, PF_PROGRAM },
	{ PF_DAEMON, "virtual", false, false, 0755, PF_PROGRAM },
	{ PF_COMMAND, "postalias", false, false, 0755, PF_PROGRAM },
	{ PF_COMMAND, "postcat", false, false, 0755, PF_PROGRAM },
	{ PF_COMMAND, "postconf", false, false, 0755, PF_PROGRAM },
	{ PF_COMMAND, "postfix", false, false, 0755, PF_PROGRAM },
	{ PF_COMMAND, "postkick", false, false, 0755, PF_PROGRAM },
	{ PF_COMMAND, "postlock", false, false, 0755, PF_PROGRAM },
	{ PF_COMMAND, "postlog", false, true, 02755, PF_PROGRAM },
	{ PF_COMMAND, "postmap", false, false, 0755, PF_PROGRAM },
	{ PF_COMMAND, "postmulti", false, false, 0755, PF_PROGRAM },
	{ PF_COMMAND, "postsuper", false, false, 0755, PF_PROGRAM },
	{ PF_COMMAND, "postdrop", false, true, 02755, PF_PROGRAM },
	{ PF_COMMAND, "postqueue", false, true, 02755, PF_PROGRAM },
	{ PF_SENDMAIL, NULL, false, false, 0755, PF_PROGRAM },
	{ PF_CONFIG, "main.cf", false, false, 0644, PF_INSTALLED },
	{ PF_CONFIG, "master.cf", false, false, 0644, PF_INSTALLED },
};

#define POSTFIX_NFILES (sizeof(postfix_files) / sizeof(postfix_files[0]))

static void
postfix_perms_path(const struct postfix_file *f, struct str *path)
{
	static const char *const *dirs[] = {
		[PF_CONFIG] = (const char *const *)&var_config_directory,
		[PF_DATA] = (const char *const *)&var_data_directory,
		[PF_DAEMON] = (const char *const *)&var_daemon_directory,
		[PF_QUEUE] = (const char *const *)&var_queue_directory,
		[PF_COMMAND] = (const char *const *)&var_command_directory,
		[PF_SENDMAIL] = (const char *const *)&var_sendmail_path,
	};

	str_set(path, *dirs[f->where]);
	if (f->name) {
		str_catc(path, '/');
		str_cat(path, f->name);
	}
}

int
postfix_perms_file(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat st;

	/* chown first: it may clear set-id bits that chmod then sets. */
	if (chown(path, uid, gid) < 0 || stat(path, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode))
		mode |= st.st_mode & (S_ISUID | S_ISGID | S_ISVTX);
	return chmod(path, mode);
}

struct postfix_perms_tree {
	uid_t uid;
	gid_t gid;
	mode_t mode;
	int err;           /* first errno */
	struct str *where; /* the name that failed */
};

/* chown -R owner, and chmod MODE for every directory below (post-install). */
static void
postfix_perms_tree_fn(const char *path, const struct stat *st, void *ctx)
{
	struct postfix_perms_tree *t = ctx;
	int rc;

	if (t->err)
		return;
	if (S_ISDIR(st->st_mode))
		rc = postfix_perms_file(path, t->uid, t->gid, t->mode);
	else
		rc = lchown(path, t->uid, t->gid);
	if (rc < 0) {
		t->err = errno;
		str_set(t->where, path);
	}
}

static void
postfix_perms_apply(const struct postfix_file *f, const char *path,
    bool recursive)
{
	struct postfix_perms_tree t;

	t.uid = f->mail_owner ? mail_owner_uid() : 0;
	t.gid = f->setgid_group ? setgid_gid() : (gid_t)-1;
	t.mode = f->mode;
	if (msg_verbose)
		msg_info("set owner %ld group %ld mode %04o: %s%s", (long)t.uid,
		    t.gid == (gid_t)-1 ? -1L : (long)t.gid, (unsigned)t.mode,
		    path, recursive ? " (recursive)" : "");
	if (!recursive) {
		if (postfix_perms_file(path, t.uid, t.gid, t.mode) < 0)
			msg_fatal("cannot set owner and mode of %s: %m", path);
		return;
	}
	t.err = 0;
	t.where = str_new(100);
	postfix_walk(path, false, postfix_perms_tree_fn, &t);
	if (t.err) {
		errno = t.err;
		msg_fatal("cannot set owner and mode of %s: %m",
		    str_ptr(t.where));
	}
	str_free(t.where);
}

/* mkdir missing directories (only the queue directory itself: top_only). */
static int
postfix_perms_mkdirs(bool top_only, struct str *why)
{
	struct str *path = str_new(100);
	struct stat st;

	for (size_t i = 0; i < POSTFIX_NFILES; i++) {
		const struct postfix_file *f = postfix_files + i;

		if ((f->flags & PF_CREATE) == 0 ||
		    (top_only && (f->where != PF_QUEUE || f->name != NULL)))
			continue;
		postfix_perms_path(f, path);
		if (stat(str_ptr(path), &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		if (mkdir(str_ptr(path), 0755) < 0) {
			str_fmt(why, "cannot create directory %s: %m",
			    str_ptr(path));
			str_free(path);
			return -1;
		}
		if (msg_verbose)
			msg_info("created directory %s", str_ptr(path));
		postfix_perms_apply(f, str_ptr(path), false);
	}
	str_free(path);
	return 0;
}

int
postfix_perms_create(struct str *why)
{
	return postfix_perms_mkdirs(false, why);
}

int
postfix_perms_create_queue(struct str *why)
{
	return postfix_perms_mkdirs(true, why);
}

void
postfix_perms_set(void)
{
	struct str *path = str_new(100), *why = str_new(100);
	struct stat st;

	if (postfix_perms_create(why) < 0)
		msg_fatal("%s", str_ptr(why));
	for (size_t i = 0; i < POSTFIX_NFILES; i++) {
		const struct postfix_file *f = postfix_files + i;

		if ((f->flags & PF_SHARED) && !postfix_shared)
			continue;
		postfix_perms_path(f, path);
		if ((f->flags & PF_INSTALLED) && stat(str_ptr(path), &st) < 0)
			continue;
		postfix_perms_apply(f, str_ptr(path),
		    (f->flags & PF_RECURSIVE) != 0);
	}
	str_free(path);
	str_free(why);
}
