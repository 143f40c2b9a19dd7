/*
 * mbox - locked appends to mbox files (see mbox.h).
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/safe_open.h"
#include "lib/util/str.h"
#include "lib/mail/mail_copy.h"
#include "lib/mail/mbox.h"
#include "lib/mail/params.h"

int
mbox_lock_mask(const char *param, const char *value)
{
	struct argv *a = argv_split(value, ", \t\r\n");
	int mask = 0;

	for (size_t i = 0; i < a->argc; i++) {
		if (strcasecmp(a->argv[i], "fcntl") == 0)
			mask |= MBOX_LOCK_FCNTL;
		else if (strcasecmp(a->argv[i], "flock") == 0)
			mask |= MBOX_LOCK_FLOCK;
		else if (strcasecmp(a->argv[i], "dotlock") == 0)
			mask |= MBOX_LOCK_DOTLOCK;
		else
			msg_fatal("bad %s value: %s", param, a->argv[i]);
	}
	argv_free(a);
	return mask;
}

/* PATH.lock, created exclusively; a stale one is removed. */
static int
mbox_dotlock(const char *path, struct str *why)
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
mbox_dotunlock(const char *path)
{
	struct str *lock = str_new(0);

	str_fmt(lock, "%s.lock", path);
	(void)unlink(str_ptr(lock));
	str_free(lock);
}

/* fcntl and/or flock on fd, retried like the dotlock. */
static int
mbox_kernel_lock(int fd, int mask, struct str *why)
{
	for (int i = 0; i < var_deliver_lock_attempts; i++) {
		struct flock fl;
		bool ok = true;

		if (i > 0)
			sleep((unsigned)var_deliver_lock_delay);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if ((mask & MBOX_LOCK_FCNTL) && fcntl(fd, F_SETLK, &fl) < 0)
			ok = false;
		if (ok && (mask & MBOX_LOCK_FLOCK) &&
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
mbox_ends_in_newline(int fd)
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

int
mbox_append(const char *path, const struct mbox_opts *o,
    const struct mail_copy_src *src, struct str *why)
{
	struct mail_writer w;
	struct stat st;
	int fd = -1, ret = -1, saved;
	bool dotlocked = false;
	off_t old_size;

	mail_writer_init(&w, -1);
	if ((o->lock_mask & MBOX_LOCK_DOTLOCK) &&
	    !(lstat(path, &st) == 0 && S_ISCHR(st.st_mode))) {
		if (mbox_dotlock(path, why) < 0) {
			errno = EAGAIN;
			goto out;
		}
		dotlocked = true;
	}
	fd = safe_open(path, O_WRONLY | O_APPEND | O_CREAT, 0600, &st, o->uid,
	    o->gid, why);
	if (fd < 0)
		goto out;
	if (o->refuse_exec && S_ISREG(st.st_mode) &&
	    (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) {
		str_set(why, "file is executable");
		errno = EPERM;
		goto out;
	}
	if (o->check_owner && st.st_uid != o->uid && !S_ISCHR(st.st_mode)) {
		str_fmt(why, "file %s should be owned by uid %ld", path,
		    (long)o->uid);
		errno = EPERM;
		goto out;
	}
	if (S_ISCHR(st.st_mode)) { /* /dev/null and friends */
		ret = 0;
		goto out;
	}
	if ((o->lock_mask & (MBOX_LOCK_FCNTL | MBOX_LOCK_FLOCK)) &&
	    mbox_kernel_lock(fd, o->lock_mask, why) < 0)
		goto out;
	if ((old_size = lseek(fd, 0, SEEK_END)) < 0) {
		str_fmt(why, "seek error: %s", strerror(errno));
		goto out;
	}
	w.fd = fd;
	if (old_size > 0 && S_ISREG(st.st_mode) && !mbox_ends_in_newline(fd)) {
		/* A delivery killed mid-write (kill -9, a crash) left half a
		 * message: start ours on a line of its own, after a blank
		 * line, or readers would take it as part of that one. */
		msg_warn("%s: the last message is incomplete (no newline at "
			 "the end): the new one starts after a blank line",
		    path);
		str_cat(w.buf, "\n\n");
	}
	if (o->size_limit > 0) {
		w.limit = o->size_limit - (long)old_size;
		if (w.limit <= 0) {
			str_set(why, "error writing message: File too large");
			errno = EFBIG;
			goto out;
		}
	}
	if (mail_copy(src, &w, o->copy_flags, why) < 0 || fsync(fd) < 0) {
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
		mbox_dotunlock(path);
	mail_writer_done(&w);
	errno = saved;
	return ret;
}
