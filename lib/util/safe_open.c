/*
 * safe_open - open files in places that others can write.  See safe_open.h.
 *
 * The order matters.  open() with O_NOFOLLOW refuses a symlink as the last
 * component; O_NONBLOCK keeps a planted FIFO from blocking us and O_NOCTTY
 * a planted terminal from becoming ours; O_TRUNC waits until the file has
 * passed the checks, or a hard link to a victim would be truncated before
 * we noticed.  fstat() then says what we actually opened (one link, a
 * regular file), and lstat() of the name says it is still that file: a
 * name swapped between the two is caught by dev/ino/nlink/mode (Postfix's
 * safe_open_exist(); unlike Postfix we accept no symlink at all).
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/safe_open.h"
#include "lib/util/str.h"

/* Fill why, if the caller wants a reason, and set errno. */
static void __attribute__((format(printf, 3, 4)))
safe_open_why(struct str *why, int err, const char *fmt, ...)
{
	va_list ap;

	if (why) {
		str_reset(why);
		va_start(ap, fmt);
		str_vcatfmt(why, fmt, ap);
		va_end(ap);
	}
	errno = err;
}

/*
 * Is fst (from fstat of what we opened) an acceptable file that path,
 * lst (from lstat of path), still names?
 */
static int
safe_open_check(const struct stat *fst, const struct stat *lst, struct str *why)
{
	if (S_ISDIR(fst->st_mode)) {
		safe_open_why(why, EISDIR, "file is a directory");
		return -1;
	}
	if (!S_ISREG(fst->st_mode)) {
		safe_open_why(why, EPERM, "file is not a regular file");
		return -1;
	}
	if (fst->st_nlink != 1) {
		safe_open_why(why, EPERM, "file has %lu hard links",
		    (unsigned long)fst->st_nlink);
		return -1;
	}
	if (S_ISLNK(lst->st_mode)) {
		safe_open_why(why, EPERM, "file is a symbolic link");
		return -1;
	}
	if (fst->st_dev != lst->st_dev || fst->st_ino != lst->st_ino ||
	    fst->st_nlink != lst->st_nlink || fst->st_mode != lst->st_mode) {
		safe_open_why(why, EPERM, "file status changed unexpectedly");
		return -1;
	}
	return 0;
}

static int
safe_open_exist(const char *path, int flags, struct stat *st, struct str *why)
{
	struct stat lst;
	int fd, err, fl;

	fd = open(path, (flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_NOFOLLOW |
			    O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == ELOOP && lstat(path, &lst) == 0 &&
		    S_ISLNK(lst.st_mode))
			safe_open_why(why, EPERM, "file is a symbolic link");
		else if (err == EISDIR)
			safe_open_why(why, EISDIR, "file is a directory");
		else
			safe_open_why(why, err, "cannot open file: %s",
			    strerror(err));
		return -1;
	}
	if (fstat(fd, st) < 0) {
		err = errno;
		safe_open_why(why, err, "cannot get file status: %s",
		    strerror(err));
		goto fail;
	}
	if (lstat(path, &lst) < 0) {
		err = errno;
		safe_open_why(why, EPERM,
		    "file status changed unexpectedly: %s", strerror(err));
		goto fail;
	}
	if (safe_open_check(st, &lst, why) < 0)
		goto fail;
	if (!(flags & O_NONBLOCK) &&
	    ((fl = fcntl(fd, F_GETFL)) < 0 ||
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)) {
		err = errno;
		safe_open_why(why, err, "cannot set file flags: %s",
		    strerror(err));
		goto fail;
	}
	if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) {
		if (ftruncate(fd, 0) < 0 || fstat(fd, st) < 0) {
			err = errno;
			safe_open_why(why, err, "cannot truncate file: %s",
			    strerror(err));
			goto fail;
		}
	}
	return fd;
fail:
	err = errno;
	(void)close(fd);
	errno = err;
	return -1;
}

static int
safe_open_create(const char *path, int flags, mode_t mode, struct stat *st,
    uid_t uid, gid_t gid, struct str *why)
{
	int fd, err;

	fd = open(path,
	    flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, mode);
	if (fd < 0) {
		err = errno;
		safe_open_why(why, err, "cannot create file exclusively: %s",
		    strerror(err));
		return -1;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(fd, uid, gid) < 0) {
		err = errno;
		safe_open_why(why, err, "cannot change file ownership: %s",
		    strerror(err));
		goto fail;
	}
	if (fstat(fd, st) < 0) {
		err = errno;
		safe_open_why(why, err, "cannot get file status: %s",
		    strerror(err));
		goto fail;
	}
	return fd;
fail:
	(void)close(fd);
	errno = err;
	return -1;
}

/*
 * With O_CREAT alone, a file that exists when we try to create it may be
 * gone when we open it, and back again: a few rounds, then give up.
 */
int
safe_open(const char *path, int flags, mode_t mode, struct stat *st, uid_t uid,
    gid_t gid, struct str *why)
{
	struct stat sb;
	int fd = -1;

	if (st == NULL)
		st = &sb;
	switch (flags & (O_CREAT | O_EXCL)) {
	case O_CREAT | O_EXCL:
		return safe_open_create(path, flags, mode, st, uid, gid, why);
	case O_CREAT:
		for (int i = 0; i < 3; i++) {
			fd = safe_open_create(path, flags, mode, st, uid, gid,
			    why);
			if (fd >= 0 || errno != EEXIST)
				return fd;
			fd = safe_open_exist(path, flags, st, why);
			if (fd >= 0 || errno != ENOENT)
				return fd;
		}
		return fd;
	default:
		return safe_open_exist(path, flags, st, why);
	}
}
