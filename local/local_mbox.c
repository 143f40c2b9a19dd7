/*
 * local_mbox - mbox files (the spool, home_mailbox, /file deliveries) and
 * Maildirs.
 *
 * An mbox is opened with safe_open (no symlink, one hard link, a regular
 * file; created 0600 and given to the user), must belong to the user
 * (strict_mailbox_ownership), is locked as mailbox_delivery_lock says
 * (fcntl, flock, dotlock; deliver_lock_attempts tries deliver_lock_delay
 * apart, stale dotlocks removed after stale_lock_time), appended to,
 * fsynced, and cut back to its old size on any error, so a failed delivery
 * leaves no half message.  Only a delivery killed in its write (kill -9,
 * a crash) can leave one, which is delivered again; when the file does
 * not end in a newline, the next message starts after "\n\n" (with a
 * warning), so that readers do not take it as part of the half one.
 * mailbox_size_limit bounds the file.
 *
 * A Maildir message is written to tmp/TIME.PPID.HOST, fsynced, and renamed
 * to new/TIME.VDEVIINOMUSEC.HOST (Postfix's names), then new/ is fsynced.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/safe_open.h"
#include "lib/util/str.h"
#include "lib/mail/mail_owner.h"
#include "lib/mail/params.h"
#include "local.h"

#define LOCK_FCNTL   (1 << 0)
#define LOCK_FLOCK   (1 << 1)
#define LOCK_DOTLOCK (1 << 2)

static int
local_lock_mask(void)
{
	struct argv *a = argv_split(var_mailbox_delivery_lock, ", \t\r\n");
	int mask = 0;

	for (size_t i = 0; i < a->argc; i++) {
		if (strcasecmp(a->argv[i], "fcntl") == 0)
			mask |= LOCK_FCNTL;
		else if (strcasecmp(a->argv[i], "flock") == 0)
			mask |= LOCK_FLOCK;
		else if (strcasecmp(a->argv[i], "dotlock") == 0)
			mask |= LOCK_DOTLOCK;
		else
			msg_fatal("bad mailbox_delivery_lock value: %s",
			    a->argv[i]);
	}
	argv_free(a);
	return mask;
}

/* PATH.lock, created exclusively; a stale one is removed. */
static int
local_dotlock(const char *path, struct str *why)
{
	struct str *lock = str_new(0);
	struct stat st;
	int fd, ret = -1;

	str_fmt(lock, "%s.lock", path);
	for (int i = 0; i < var_deliver_lock_attempts; i++) {
		if (i > 0)
			sleep((unsigned)var_deliver_lock_delay);
		fd = open(str_ptr(lock),
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
		if (fd >= 0) {
			close(fd);
			ret = 0;
			goto out;
		}
		if (errno != EEXIST)
			break;
		if (lstat(str_ptr(lock), &st) == 0 &&
		    st.st_mtime + var_stale_lock_time < time(NULL)) {
			if (unlink(str_ptr(lock)) == 0)
				msg_warn("%s: removed stale lock",
				    str_ptr(lock));
		}
	}
	str_fmt(why, "unable to create lock file %s: %s", str_ptr(lock),
	    strerror(errno));
out:
	str_free(lock);
	return ret;
}

static void
local_dotunlock(const char *path)
{
	struct str *lock = str_new(0);

	str_fmt(lock, "%s.lock", path);
	(void)unlink(str_ptr(lock));
	str_free(lock);
}

/* fcntl and/or flock on fd, retried like the dotlock. */
static int
local_kernel_lock(int fd, int mask, struct str *why)
{
	for (int i = 0; i < var_deliver_lock_attempts; i++) {
		struct flock fl;
		bool ok = true;

		if (i > 0)
			sleep((unsigned)var_deliver_lock_delay);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if ((mask & LOCK_FCNTL) && fcntl(fd, F_SETLK, &fl) < 0)
			ok = false;
		if (ok && (mask & LOCK_FLOCK) &&
		    flock(fd, LOCK_EX | LOCK_NB) < 0)
			ok = false;
		if (ok)
			return 0;
		if (errno != EAGAIN && errno != EACCES && errno != EWOULDBLOCK)
			break;
	}
	str_fmt(why, "unable to lock for exclusive access: %s",
	    strerror(errno));
	errno = EAGAIN;
	return -1;
}

/*
 * Whether the file open (write-only) on fd ends in a newline; true when
 * that cannot be read.  Read through a second, read-only descriptor of
 * the same open file.
 */
static bool
local_ends_in_newline(int fd)
{
	struct str *path = str_new(0);
	struct stat st, wst;
	char c = '\n';
	int rfd;

	str_fmt(path, "/proc/self/fd/%d", fd);
	/* The magic link reopens the same inode, whatever its path now. */
	rfd = open(str_ptr(path), O_RDONLY | O_CLOEXEC);
	str_free(path);
	if (rfd < 0)
		return true;
	if (fstat(rfd, &st) < 0 || fstat(fd, &wst) < 0 ||
	    st.st_ino != wst.st_ino || st.st_dev != wst.st_dev ||
	    st.st_size == 0 || pread(rfd, &c, 1, st.st_size - 1) != 1)
		c = '\n';
	close(rfd);
	return c == '\n';
}

/*
 * Append the message to an mbox file as u.  The "what" of the reason:
 * "mailbox PATH" for mailboxes, "file PATH" for files.  as_user: open
 * with the user's IDs (home directory); else as root (the spool, unless
 * it is world writable, as in Postfix).
 */
static int
local_mbox_append(struct local_state *s, const char *path,
    const struct local_user *u, bool as_user, bool mailbox, int copy_flags,
    struct str *why)
{
	struct local_writer w;
	struct stat st;
	int fd = -1, mask = local_lock_mask(), ret = -1, saved;
	bool dotlocked = false;
	off_t old_size;

	local_writer_init(&w, -1);
	if (as_user)
		local_set_privs(u);
	/*
	 * The dotlock first, as Postfix does: two deliveries to a mailbox that
	 * does not exist yet must not meet between its creation and its
	 * fchown (the other would find it owned by root and bounce).
	 */
	if ((mask & LOCK_DOTLOCK) &&
	    !(lstat(path, &st) == 0 && S_ISCHR(st.st_mode))) {
		if (local_dotlock(path, why) < 0) {
			errno = EAGAIN;
			goto out;
		}
		dotlocked = true;
	}
	fd = safe_open(path, O_WRONLY | O_APPEND | O_CREAT, 0600, &st, u->uid,
	    u->gid, why);
	if (fd < 0)
		goto out;
	if (!mailbox && S_ISREG(st.st_mode) &&
	    (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) {
		str_set(why, "file is executable");
		errno = EPERM;
		goto out;
	}
	if (mailbox && var_strict_mailbox_ownership && st.st_uid != u->uid &&
	    !S_ISCHR(st.st_mode)) {
		str_fmt(why, "file %s should be owned by uid %ld", path,
		    (long)u->uid);
		errno = EPERM;
		goto out;
	}
	if (S_ISCHR(st.st_mode)) { /* /dev/null and friends */
		ret = 0;
		goto out;
	}
	if ((mask & (LOCK_FCNTL | LOCK_FLOCK)) &&
	    local_kernel_lock(fd, mask, why) < 0)
		goto out;
	if ((old_size = lseek(fd, 0, SEEK_END)) < 0) {
		str_fmt(why, "seek error: %s", strerror(errno));
		goto out;
	}
	w.fd = fd;
	if (old_size > 0 && S_ISREG(st.st_mode) && !local_ends_in_newline(fd)) {
		/* A delivery killed mid-write (kill -9, a crash) left half a
		 * message: start ours on a line of its own, after a blank
		 * line, or readers would take it as part of that one. */
		msg_warn("%s: the last message is incomplete (no newline at "
			 "the end): the new one starts after a blank line",
		    path);
		str_cat(w.buf, "\n\n");
	}
	if (var_mailbox_size_limit > 0) {
		w.limit = var_mailbox_size_limit - (long)old_size;
		if (w.limit <= 0) {
			str_set(why, "error writing message: File too large");
			errno = EFBIG;
			goto out;
		}
	}
	if (local_copy(s, &w, copy_flags, why) < 0 || fsync(fd) < 0) {
		saved = errno;
		if (str_len(why) == 0)
			str_fmt(why, "error writing message: %s",
			    strerror(errno));
		if (ftruncate(fd, old_size) < 0)
			msg_warn("truncate %s to %ld: %m", path,
			    (long)old_size);
		errno = saved;
		goto out;
	}
	ret = 0;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (dotlocked)
		local_dotunlock(path);
	local_root();
	local_writer_done(&w);
	errno = saved;
	return ret;
}

void
local_mbox(struct local_state *s, const char *path, const struct local_user *u,
    bool home)
{
	struct str *why = str_new(0);
	struct stat st;
	int flags = COPY_MBOX;
	bool as_user = home;

	if (local_verify(s, "delivers to mailbox")) {
		str_free(why);
		return;
	}
	if (!(local_hdr_mask & LOCAL_HDR_FILE))
		flags &= ~COPY_DELIVERED;
	if (!home && stat(var_mail_spool_directory, &st) == 0 &&
	    (st.st_mode & S_IWOTH))
		as_user = true;
	if (local_mbox_append(s, path, u, as_user, true, flags, why) < 0) {
		const char *dsn = local_dsn_errno(errno, "5.2.0");

		local_result(s, dsn[0] == '4' ? LOCAL_DEFER : LOCAL_BOUNCE, dsn,
		    "cannot update mailbox %s for user %s. %s", path, s->user,
		    str_ptr(why));
	} else {
		local_result(s, LOCAL_SENT, "2.0.0", "delivered to mailbox");
	}
	str_free(why);
}

void
local_file(struct local_state *s, const char *path, const struct local_user *u)
{
	struct str *why = str_new(0);
	int flags = COPY_MBOX;
	size_t len = strlen(path), n;
	struct local_user nonroot;

	if (local_verify(s, "delivers to file: %s", path)) {
		str_free(why);
		return;
	}

	/* Never write a file as root: default_privs instead (Postfix). */
	if (u->uid == 0) {
		nonroot = *u;
		nonroot.uid = default_privs_uid();
		nonroot.gid = default_privs_gid();
		u = &nonroot;
	}

	if (!(local_file_mask & s->exp_type)) {
		local_result(s, LOCAL_BOUNCE, "5.7.1",
		    "mail to file is restricted");
		goto out;
	}
	if (local_dup(s, "file", u->uid, path))
		goto out;
	n = s->result_count;
	if (len > 0 && path[len - 1] == '/') {
		local_maildir(s, path, u);
		local_dup_settle(s, n);
		goto out;
	}
	if (!(local_hdr_mask & LOCAL_HDR_FILE))
		flags &= ~COPY_DELIVERED;
	if (local_mbox_append(s, path, u, true, false, flags, why) < 0) {
		const char *dsn = local_dsn_errno(errno, "5.2.0");

		local_result(s, dsn[0] == '4' ? LOCAL_DEFER : LOCAL_BOUNCE, dsn,
		    "cannot append message to file %s: %s", path, str_ptr(why));
	} else {
		local_result(s, LOCAL_SENT, "2.0.0", "delivered to file: %s",
		    path);
	}
	local_dup_settle(s, n);
out:
	str_free(why);
}

static int
local_mkdir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno == EEXIST && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (errno == EEXIST)
		errno = ENOTDIR;
	return -1;
}

void
local_maildir(struct local_state *s, const char *dir,
    const struct local_user *u)
{
	static unsigned long counter;
	struct str *why = str_new(0), *tmp = str_new(0), *new = str_new(0);
	struct str *sub = str_new(0);
	struct local_writer w;
	struct timeval tv;
	struct stat st;
	char host[256];
	int fd = -1, flags = COPY_RETURN_PATH | COPY_ORIG_RCPT | COPY_DELIVERED;
	int saved = 0;
	bool ok = false;

	if (local_verify(s, "delivers to maildir")) {
		str_free(why);
		str_free(tmp);
		str_free(new);
		str_free(sub);
		return;
	}

	local_writer_init(&w, -1);
	if (!(local_hdr_mask & LOCAL_HDR_FILE))
		flags &= ~COPY_DELIVERED;
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = 0;
	host[sizeof(host) - 1] = 0;
	for (char *p = host; *p; p++)
		if (*p == '/' || *p == ':')
			*p = '_';
	local_set_privs(u);
	str_set(sub, dir);
	while (str_len(sub) > 1 && str_ptr(sub)[str_len(sub) - 1] == '/')
		str_truncate(sub, str_len(sub) - 1);
	if (local_mkdir(str_ptr(sub)) < 0)
		goto fail;
	str_fmt(tmp, "%s/tmp", str_ptr(sub));
	str_fmt(new, "%s/new", str_ptr(sub));
	if (local_mkdir(str_ptr(tmp)) < 0 || local_mkdir(str_ptr(new)) < 0)
		goto fail;
	str_catfmt(sub, "/cur");
	if (local_mkdir(str_ptr(sub)) < 0)
		goto fail;
	gettimeofday(&tv, NULL);
	str_catfmt(tmp, "/%ld.P%ldQ%lu.%s", (long)tv.tv_sec, (long)getpid(),
	    ++counter, host);
	fd = safe_open(str_ptr(tmp), O_WRONLY | O_CREAT | O_EXCL, 0600, &st, -1,
	    -1, why);
	if (fd < 0)
		goto fail_why;
	w.fd = fd;
	if (local_copy(s, &w, flags, why) < 0 || fsync(fd) < 0) {
		saved = errno;
		(void)unlink(str_ptr(tmp));
		errno = saved;
		goto fail_why;
	}
	str_catfmt(new, "/%ld.V%lxI%lxM%ld.%s", (long)tv.tv_sec,
	    (unsigned long)st.st_dev, (unsigned long)st.st_ino,
	    (long)tv.tv_usec, host);
	if (rename(str_ptr(tmp), str_ptr(new)) < 0) {
		saved = errno;
		(void)unlink(str_ptr(tmp));
		errno = saved;
		goto fail;
	}
	str_truncate(new, (size_t)(strrchr(str_ptr(new), '/') - str_ptr(new)));
	{
		int dfd =
		    open(str_ptr(new), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	ok = true;
	goto out;
fail:
	str_fmt(why, "%s", strerror(errno));
fail_why:
	saved = errno;
out:
	if (fd >= 0)
		close(fd);
	local_root();
	local_writer_done(&w);
	if (ok) {
		local_result(s, LOCAL_SENT, "2.0.0", "delivered to maildir");
	} else {
		const char *dsn = local_dsn_errno(saved, "5.2.0");

		local_result(s, dsn[0] == '4' ? LOCAL_DEFER : LOCAL_BOUNCE, dsn,
		    "cannot update maildir %s for user %s. %s", dir, s->user,
		    str_ptr(why));
	}
	str_free(why);
	str_free(tmp);
	str_free(new);
	str_free(sub);
}
