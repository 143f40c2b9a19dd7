/*
 * maildir - deliver into a Maildir (see maildir.h).
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/safe_open.h"
#include "lib/util/str.h"
#include "lib/mail/mail_copy.h"
#include "lib/mail/maildir.h"

static int
maildir_mkdir(const char *path)
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

int
maildir_deliver(const char *dir, const struct mail_copy_src *src, int flags,
    struct str *what, struct str *why)
{
	static unsigned long counter;
	struct str *tmp = str_new(0), *new = str_new(0), *sub = str_new(0);
	struct str *file = str_new(0);
	struct mail_writer w;
	struct timeval tv;
	struct stat st;
	char host[256];
	int fd = -1, saved = 0, ret = -1;

	mail_writer_init(&w, -1);
	str_reset(what);
	str_reset(why);
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = 0;
	host[sizeof(host) - 1] = 0;
	for (char *p = host; *p; p++)
		if (*p == '/' || *p == ':')
			*p = '_';
	str_set(sub, dir);
	while (str_len(sub) > 1 && str_ptr(sub)[str_len(sub) - 1] == '/')
		str_truncate(sub, str_len(sub) - 1);
	str_fmt(tmp, "%s/tmp", str_ptr(sub));
	str_fmt(new, "%s/new", str_ptr(sub));
	gettimeofday(&tv, NULL);
	str_fmt(file, "%s/%ld.P%ldQ%lu.%s", str_ptr(tmp), (long)tv.tv_sec,
	    (long)getpid(), ++counter, host);
	/* Postfix names the message file when the tmp/ path fails ... */
	if (maildir_mkdir(str_ptr(sub)) < 0 ||
	    maildir_mkdir(str_ptr(tmp)) < 0) {
		str_fmt(what, "create maildir file %s", str_ptr(file));
		goto fail;
	}
	str_set(tmp, str_ptr(file));
	/* ... and the directory when new/ or cur/ does. */
	str_catfmt(sub, "/cur");
	if (maildir_mkdir(str_ptr(new)) < 0) {
		str_fmt(what, "create maildir directory %s", str_ptr(new));
		goto fail;
	}
	if (maildir_mkdir(str_ptr(sub)) < 0) {
		str_fmt(what, "create maildir directory %s", str_ptr(sub));
		goto fail;
	}
	fd = safe_open(str_ptr(tmp), O_WRONLY | O_CREAT | O_EXCL, 0600, &st, -1,
	    -1, why);
	if (fd < 0) {
		saved = errno;
		str_fmt(what, "create maildir file %s", str_ptr(tmp));
		errno = saved;
		goto fail_why;
	}
	w.fd = fd;
	if (mail_copy(src, &w, flags, why) < 0 || fsync(fd) < 0) {
		saved = errno;
		if (str_len(why) == 0)
			str_fmt(why, "error writing message: %s",
			    strerror(saved));
		str_fmt(what, "create maildir file %s", str_ptr(tmp));
		(void)unlink(str_ptr(tmp));
		errno = saved;
		goto fail_why;
	}
	str_catfmt(new, "/%ld.V%lxI%lxM%ld.%s", (long)tv.tv_sec,
	    (unsigned long)st.st_dev, (unsigned long)st.st_ino,
	    (long)tv.tv_usec, host);
	if (rename(str_ptr(tmp), str_ptr(new)) < 0) {
		saved = errno;
		str_fmt(what, "rename %s to %s", str_ptr(tmp), str_ptr(new));
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
	ret = 0;
	goto out;
fail:
	str_set(why, strerror(errno));
fail_why:
	saved = errno;
out:
	if (fd >= 0)
		close(fd);
	mail_writer_done(&w);
	str_free(tmp);
	str_free(new);
	str_free(sub);
	str_free(file);
	errno = saved;
	return ret;
}
